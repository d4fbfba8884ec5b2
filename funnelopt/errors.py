"""The exception family: every error funnelopt raises derives from FunnelOptError."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any


class FunnelOptError(Exception):
    """Base class of every error raised by funnelopt."""


@dataclass(frozen=True)
class Problem:
    """One invalid input: where it is, what it was, and the rule it breaks."""

    path: str
    value: Any
    rule: str

    def to_dict(self) -> dict[str, Any]:
        """``{"path", "value", "rule"}``; values JSON cannot carry are shown as text."""
        v = self.value
        plain = v is None or isinstance(v, bool | int | str)
        value = None if v is _MISSING else v if plain or _finite(v) else _show(v)
        return {"path": self.path, "value": value, "rule": self.rule}

    def __str__(self) -> str:
        # Paths carry user ids verbatim: one line each, and not 100 KB long.
        path = self.path.replace("\n", "\\n").replace("\r", "\\r")
        path = path if len(path) <= 120 else path[:117] + "..."
        if self.value is _MISSING:
            return f"{path}: {self.rule}"
        return f"{path} = {_show(self.value)}: {self.rule}"


class _Missing:
    def __repr__(self) -> str:
        return "<missing>"


_MISSING: Any = _Missing()


def _finite(v: Any) -> bool:
    return isinstance(v, float) and math.isfinite(v)


def _show(value: Any) -> str:
    """The value as the file wrote it: true/false, tables and lists as JSON, not Python."""
    if isinstance(value, bool):
        return "true" if value else "false"
    try:
        if isinstance(value, dict | list):
            text = json.dumps(value, default=str, ensure_ascii=False, separators=(", ", ": "))
        else:
            text = repr(value)
    except (RecursionError, ValueError):  # a deeply nested (or circular) value
        return "<nested too deeply to show>"
    return text if len(text) <= 60 else text[:57] + "..."


class InputError(FunnelOptError, ValueError):
    """An argument is invalid (a sweep range, a schema name, an unknown id, ...).

    ``problems`` lists every problem found, each naming the field path, the value and the rule.
    """

    #: What was invalid, for the message.
    subject = "input"

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = list(problems)
        lines = "\n".join(f"  - {p}" for p in self.problems)
        n = len(self.problems)
        super().__init__(f"invalid {self.subject} ({n} problem{'s' if n != 1 else ''}):\n{lines}")


class ScenarioError(InputError):
    """The scenario (or an override, or a spend plan) is invalid."""

    subject = "scenario"
    #: False when every problem is a cross-field rule (the fields themselves are valid).
    fields_broken = True


class SolverError(FunnelOptError, RuntimeError):
    """The solver failed (not: the goals are infeasible, which is a result)."""
