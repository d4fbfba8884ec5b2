"""Single-mistake inputs: does every error name the field it is about? (issue 17 item 2)

    python benchmarks/mistakes.py

Takes each shipped example, makes one mistake at a time at every leaf field - a wrong
type, a negative, zero, a huge number, NaN, a percentage typed as a whole number, a
misspelt key, a removed field - and validates the result the way ``funnelopt check``
does. Prints, per kind of mistake, how many inputs were tried, how many crashed (anything
but a ScenarioError or a valid scenario), and how many errors did not name the field that
was changed (or, for a removed or renamed key, its table).
"""

from __future__ import annotations

import copy
import math
import re
import sys
import tomllib
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from funnelopt import Scenario, ScenarioError

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ("disease_awareness.toml", "traffic_only.toml")


def leaves(data: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[tuple[Any, ...], Any]]:
    """Every scalar in the document with its location (keys and list indices)."""
    if isinstance(data, dict):
        for k, v in data.items():
            yield from leaves(v, (*path, k))
    elif isinstance(data, list) and data and isinstance(data[0], dict):
        for i, v in enumerate(data):
            yield from leaves(v, (*path, i))
    else:
        yield path, data


def mistakes(value: Any) -> Iterator[tuple[str, Any]]:
    """(kind, wrong value) for one field."""
    yield (
        "text for a number" if isinstance(value, int | float) else "number for text",
        ("abc" if isinstance(value, int | float) else 12345),
    )
    if isinstance(value, int | float) and not isinstance(value, bool):
        yield "negative", -abs(value) - 1
        yield "zero", 0
        yield "huge", 1e300
        yield "NaN", math.nan
        yield "percent as whole number", value * 100 if 0 < value < 1 else value
    yield "a table", {"x": 1}


def located(data: dict[str, Any], loc: tuple[Any, ...]) -> tuple[Any, Any]:
    node = data
    for key in loc[:-1]:
        node = node[key]
    return node, loc[-1]


def rendered(data: dict[str, Any], loc: tuple[Any, ...]) -> str:
    """The field path as errors print it (list items by id where they have one)."""
    parts: list[str] = []
    node: Any = data
    for key in loc:
        if isinstance(key, int):
            item = node[key]
            ident = item.get("id") if isinstance(item, dict) else None
            if ident and parts and parts[-1] in ("tactics", "communities"):
                parts.append(str(ident))
            else:
                parts[-1] += f"[{key}]"
        else:
            parts.append(str(key))
        node = node[key]
    return ".".join(parts)


def check(data: dict[str, Any], fields: tuple[str, ...]) -> str:
    """``valid``, ``named`` (an error naming the field), ``unnamed`` or ``crash``."""
    try:
        Scenario.from_dict(data)
    except ScenarioError as exc:
        # By id or, where the id itself is what broke, by index; a cross-field rule may
        # name the field inside its text.
        named = any(f in str(p) for p in exc.problems for f in fields)
        return "named" if named else "unnamed"
    except Exception:
        return "crash"
    return "valid"


def main() -> None:
    tried: Counter[str] = Counter()
    bad: Counter[tuple[str, str]] = Counter()
    examples: dict[tuple[str, str], str] = {}
    for name in EXAMPLES:
        base = tomllib.loads((ROOT / "examples" / name).read_text())
        for loc, value in leaves(base):
            if loc[0] == "sources":
                continue
            field = rendered(base, loc)
            by_index = re.sub(r"\.(\d+)(\.|$)", r"[\1]\2", ".".join(str(k) for k in loc))
            changes: list[tuple[str, dict[str, Any], tuple[str, ...]]] = []
            for kind, wrong in mistakes(value):
                data = copy.deepcopy(base)
                node, key = located(data, loc)
                node[key] = wrong
                changes.append((kind, data, (field, by_index)))
            data = copy.deepcopy(base)
            node, key = located(data, loc)
            node[str(key) + "x"] = node.pop(key)
            changes.append(("misspelt key", data, (field + "x", by_index + "x")))
            for kind, data, where in changes:
                tried[kind] += 1
                verdict = check(data, where)
                bad[(kind, verdict)] += 1
                if verdict in ("crash", "unnamed"):
                    examples.setdefault((kind, verdict), where[0])
    print(
        f"{'mistake':<26} {'tried':>6} {'valid':>6} {'named':>6} {'crash':>6} {'unnamed':>8}"
        "  first unnamed field"
    )
    for kind in tried:
        print(
            f"{kind:<26} {tried[kind]:>6} {bad[(kind, 'valid')]:>6} {bad[(kind, 'named')]:>6}"
            f" {bad[(kind, 'crash')]:>6} {bad[(kind, 'unnamed')]:>8}"
            f"  {examples.get((kind, 'unnamed'), examples.get((kind, 'crash'), ''))}"
        )
    crashes = sum(v for (_, verdict), v in bad.items() if verdict == "crash")
    unnamed = sum(v for (_, verdict), v in bad.items() if verdict == "unnamed")
    valid = sum(v for (_, verdict), v in bad.items() if verdict == "valid")
    named = sum(v for (_, verdict), v in bad.items() if verdict == "named")
    print(f"{'all':<26} {sum(tried.values()):>6} {valid:>6} {named:>6} {crashes:>6} {unnamed:>8}")
    sys.exit(1 if crashes else 0)


if __name__ == "__main__":
    main()
