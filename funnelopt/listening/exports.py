"""Mention counts from a social-listening export: one regular series, read whole or not at all.

A file has a date (or period) column and a count column, optionally a topic and a
sentiment column, one row per date (and topic and sentiment). The default headers of
common listening tools are mapped to these four (best effort: exports vary by tool,
version and settings; rename a column to ``date``, ``mentions``, ``topic`` or
``sentiment`` when yours is not recognised). Every problem in a file is collected, each
naming its line, column, value and the rule, and raised together as a
:class:`ListeningError`: nothing is half-read.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from itertools import pairwise
from pathlib import Path
from typing import Literal

import numpy as np

from funnelopt.errors import InputError, Problem

Step = Literal["day", "week", "period"]

#: Accepted header names (lower case, ``_``/``-`` read as spaces) for each column.
HEADERS: dict[str, tuple[str, ...]] = {
    # Brandwatch, Talkwalker and Meltwater charts export "Date"; numbered periods too.
    "date": ("date", "period", "day", "week", "week of", "time", "timestamp"),
    # Brandwatch "Volume", Talkwalker "Results" / "Number of results", Meltwater "Mentions".
    "mentions": (
        "mentions",
        "volume",
        "results",
        "number of results",
        "number of mentions",
        "total mentions",
        "mention count",
        "count",
        "posts",
    ),
    # Brandwatch "Category" / "Tag", Talkwalker "Topic", Meltwater "Tag" / "Theme".
    "topic": ("topic", "category", "tag", "theme", "topic name", "category name"),
    "sentiment": ("sentiment", "tone"),
}

#: Lines scanned for the header row: some tools write a few lines of metadata first.
HEADER_SCAN = 20


class ListeningError(InputError):
    """A mention-count export (or an argument about it) is invalid."""

    subject = "mentions"


@dataclass(frozen=True)
class Mentions:
    """Mention counts on a regular grid of days, weeks or numbered periods (read-only).

    ``labels`` name the periods (ISO dates of each day or week start, or the period
    numbers); ``total`` counts every row of a period; ``topics`` and ``sentiments`` hold
    one series per tag (zero where a tag has no row in a period).
    """

    labels: tuple[str, ...]
    step: Step
    total: np.ndarray
    topics: Mapping[str, np.ndarray] = field(default_factory=dict)
    sentiments: Mapping[str, np.ndarray] = field(default_factory=dict)
    source: str = "<counts>"
    notes: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for a in (self.total, *self.topics.values(), *self.sentiments.values()):
            a.setflags(write=False)

    def __len__(self) -> int:
        return len(self.labels)

    @property
    def dates(self) -> tuple[date, ...] | None:
        """The first day of each period, or None for numbered periods."""
        if self.step == "period":
            return None
        return tuple(date.fromisoformat(s) for s in self.labels)

    @classmethod
    def from_counts(
        cls,
        counts: Sequence[float] | np.ndarray,
        first: date | str | None = None,
        step: Step = "week",
        topics: Mapping[str, Sequence[float] | np.ndarray] | None = None,
    ) -> Mentions:
        """A series from counts in memory: dated from ``first`` by ``step``, or numbered 1..n
        when ``first`` is None (``step`` is then ``"period"``)."""
        total = _counts(counts, "counts")
        n = len(total)
        tagged = {k: _counts(v, f"topics[{k!r}]", n) for k, v in (topics or {}).items()}
        if first is None:
            return cls(tuple(str(i) for i in range(1, n + 1)), "period", total, tagged)
        if step == "period":
            raise ListeningError([Problem("step", step, "must be 'day' or 'week' with a date")])
        try:
            d0 = date.fromisoformat(first) if isinstance(first, str) else first
        except ValueError:
            raise ListeningError([Problem("first", first, "must be a date YYYY-MM-DD")]) from None
        days = 1 if step == "day" else 7
        labels = tuple((d0 + timedelta(days=days * i)).isoformat() for i in range(n))
        return cls(labels, step, total, tagged)

    def index(self, start: date | str | int) -> int:
        """Position of the first period after the launch: the one that holds ``start`` (a
        period counts as after the launch when any of its days is on or after it)."""
        if self.step == "period":
            try:
                number = int(start)  # type: ignore[arg-type]
            except (TypeError, ValueError):
                raise ListeningError(
                    [Problem("start", start, "must be a period number: the periods are numbered")]
                ) from None
            pos = number - int(self.labels[0])
        else:
            try:
                day = start if isinstance(start, date) else date.fromisoformat(str(start))
            except ValueError:
                raise ListeningError(
                    [Problem("start", start, "must be a date YYYY-MM-DD")]
                ) from None
            days = 1 if self.step == "day" else 7
            first = date.fromisoformat(self.labels[0])
            pos = (day - first).days // days  # the period that holds ``start``
        if not 0 < pos < len(self):
            span = f"{self.labels[0]} to {self.labels[-1]}"
            raise ListeningError(
                [
                    Problem(
                        "start",
                        str(start),
                        f"must fall after the first period and within the data ({span})",
                    )
                ]
            )
        return pos

    def tagged(self, by: Literal["topic", "sentiment"] = "topic") -> Mapping[str, np.ndarray]:
        """The series per topic or per sentiment."""
        return self.topics if by == "topic" else self.sentiments

    def series(self, name: str, by: Literal["topic", "sentiment"] = "topic") -> Mentions:
        """One topic's (or sentiment's) counts as a series of its own."""
        groups = self.tagged(by)
        if name not in groups:
            raise ListeningError(
                [Problem(by, name, f"is not in the data ({', '.join(groups) or 'none'})")]
            )
        return Mentions(self.labels, self.step, groups[name], source=f"{self.source} [{by} {name}]")

    def weekly(self) -> Mentions:
        """Daily counts summed into ISO weeks (Monday to Sunday), labelled by the Monday.

        Incomplete weeks at either end are dropped (a half week would read as a dip).
        """
        if self.step == "week":
            return self
        if self.step != "day":
            raise ListeningError(
                [Problem("weekly", self.step, "needs daily dates (numbered periods have no weeks)")]
            )
        first = date.fromisoformat(self.labels[0])
        skip = (7 - first.weekday()) % 7  # days before the first Monday
        weeks = (len(self) - skip) // 7
        if weeks < 1:
            raise ListeningError(
                [
                    Problem(
                        "weekly",
                        len(self),
                        "needs at least one whole week (Monday to Sunday) of days",
                    )
                ]
            )
        cut = slice(skip, skip + 7 * weeks)

        def fold(a: np.ndarray) -> np.ndarray:
            return np.asarray(a[cut].reshape(weeks, 7).sum(axis=1))

        dropped = len(self) - 7 * weeks
        notes = self.notes
        if dropped:
            notes += (
                f"{dropped} day(s) of incomplete weeks at the ends were left out of the weekly series",
            )
        labels = tuple((first + timedelta(days=skip + 7 * i)).isoformat() for i in range(weeks))
        return Mentions(
            labels,
            "week",
            fold(self.total),
            {k: fold(v) for k, v in self.topics.items()},
            {k: fold(v) for k, v in self.sentiments.items()},
            self.source,
            notes,
        )


def _counts(values: Sequence[float] | np.ndarray, name: str, n: int | None = None) -> np.ndarray:
    a = np.asarray(values, dtype=float)
    problems = []
    if a.ndim != 1 or (n is not None and len(a) != n):
        problems.append(
            Problem(name, f"shape {a.shape}", f"must be one count per period ({n or 'n'})")
        )
    elif not np.all(np.isfinite(a) & (a >= 0) & (a == np.round(a))):
        bad = int(np.flatnonzero(~(np.isfinite(a) & (a >= 0) & (a == np.round(a))))[0])
        problems.append(Problem(f"{name}[{bad}]", float(a[bad]), "must be a whole number >= 0"))
    if problems:
        raise ListeningError(problems)
    return a.astype(np.int64)


# -- reading files ------------------------------------------------------------------------------


def _norm(header: str) -> str:
    return re.sub(r"[\s_\-]+", " ", header.strip().strip('"').lower()).strip()


def _decode(raw: bytes) -> str:
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):  # UTF-16 exports (some tools' "Excel" CSV)
        return raw.decode("utf-16")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return raw.decode("cp1252", errors="replace")


def _columns(header: list[str]) -> dict[str, int]:
    """Which column holds date, mentions, topic and sentiment (first match of each)."""
    names = [_norm(h) for h in header]
    found: dict[str, int] = {}
    for role, aliases in HEADERS.items():
        for alias in aliases:  # in order of preference: "date" before "week"
            if alias in names:
                found[role] = names.index(alias)
                break
    return found


def _header(lines: list[str]) -> tuple[int, str, dict[str, int], list[str]] | None:
    """The header line (index, delimiter, column roles, names) among the first lines."""
    for i, line in enumerate(lines[:HEADER_SCAN]):
        delim = max(",;\t", key=line.count)
        cells = next(csv.reader([line], delimiter=delim), [])
        cols = _columns(cells)
        if "date" in cols and "mentions" in cols:
            return i, delim, cols, [c.strip() for c in cells]
    return None


_DATE = re.compile(r"^(\d{4}-\d{2}-\d{2})(?:[T ][0-9:.+\-Z]*)?$")


def read_mentions(
    source: str | Path, *, weekly: bool = False, text: str | bytes | None = None
) -> Mentions:
    """Read a mention-count export (CSV; ``,``, ``;`` or tab separated).

    Parameters
    ----------
    source
        Path of the file (or a name for ``text``).
    weekly
        Sum daily counts into ISO weeks (Monday to Sunday).
    text
        The file's content, when it is already in memory (bytes are decoded like a
        file's: UTF-8 with or without BOM, UTF-16 with BOM, else Windows-1252).

    Raises
    ------
    ListeningError
        With every problem in the file, each naming the line, column, value and rule.

    Examples
    --------
    >>> m = read_mentions("x.csv", text="date,mentions\\n2027-01-04,12\\n2027-01-11,15\\n")
    >>> m.step, m.total.tolist()
    ('week', [12, 15])
    """
    name = str(source)
    if text is None:
        try:
            text = _decode(Path(source).read_bytes())
        except OSError as exc:
            raise ListeningError(
                [Problem(name, "", f"cannot be read: {exc.strerror or exc}")]
            ) from None
    if isinstance(text, bytes):
        text = _decode(text)
    lines = text.splitlines()
    found = _header(lines)
    if found is None:
        need = " / ".join(HEADERS["date"][:2]), " / ".join(HEADERS["mentions"][:3])
        first = lines[0][:80] if lines else "(empty file)"
        raise ListeningError(
            [
                Problem(
                    f"{name} header",
                    first,
                    f"needs a date column ({need[0]}, ...) and a count column ({need[1]}, ...)",
                )
            ]
        )
    at, delim, cols, header = found
    rows = list(csv.reader(io.StringIO("\n".join(lines[at + 1 :])), delimiter=delim))
    return _parse(name, at + 2, rows, cols, header, weekly)


def _parse(
    name: str,
    first_line: int,
    rows: list[list[str]],
    cols: dict[str, int],
    header: list[str],
    weekly: bool,
) -> Mentions:
    problems: list[Problem] = []
    records: list[tuple[int, str, str, str, int]] = []  # line, key, topic, sentiment, count
    kind: str | None = None  # "date" or "number", from the first row

    def where(n: int, role: str) -> str:
        return f"{name} line {n}, {header[cols[role]]}"

    for n, row in enumerate(rows, start=first_line):
        if not any(c.strip() for c in row):
            continue
        cells = {role: (row[i].strip() if i < len(row) else "") for role, i in cols.items()}
        raw_key, raw_count = cells["date"], cells["mentions"]
        ok = True
        m = _DATE.match(raw_key)
        if m and kind in (None, "date"):
            try:
                key = date.fromisoformat(m.group(1)).isoformat()
                kind = "date"
            except ValueError:
                problems.append(Problem(where(n, "date"), raw_key, "is not a calendar date"))
                ok = False
        elif raw_key.isdigit() and kind in (None, "number"):
            key, kind = str(int(raw_key)), "number"
        else:
            rule = (
                "must be a period number like the rows above"
                if kind == "number"
                else "must be a date YYYY-MM-DD"
            )
            problems.append(Problem(where(n, "date"), raw_key, rule))
            ok = False
        try:
            count = float(raw_count)
            if not (count >= 0 and count == int(count)):
                raise ValueError
        except (ValueError, OverflowError):
            rule = "must be a whole number >= 0 (no thousands separators)"
            problems.append(
                Problem(where(n, "mentions"), raw_count, rule if raw_count else "is empty: " + rule)
            )
            ok = False
        if ok:
            records.append((n, key, cells.get("topic", ""), cells.get("sentiment", ""), int(count)))
    if not records and not problems:
        problems.append(Problem(name, "no rows", "has no data rows below its header"))
    seen: dict[tuple[str, str, str], int] = {}
    for n, key, topic, sentiment, _ in records:
        k = (key, topic, sentiment)
        if k in seen:
            what = ", ".join(x for x in (key, topic, sentiment) if x)
            problems.append(Problem(where(n, "date"), what, f"appears twice (also line {seen[k]})"))
        seen.setdefault(k, n)
    if problems:  # the grid of dates is only worth checking on rows that read
        raise ListeningError(problems)
    keys = sorted(
        {r[1] for r in records}, key=(lambda s: date.fromisoformat(s)) if kind == "date" else int
    )
    step: Step = "period"
    if kind == "date" and len(keys) > 1:
        step, gap_problems = _grid(name, [date.fromisoformat(k) for k in keys])
        problems += gap_problems
    elif kind == "number" and keys:
        missing = sorted(set(range(int(keys[0]), int(keys[-1]) + 1)) - {int(k) for k in keys})
        if missing:
            problems.append(
                Problem(
                    f"{name} {header[cols['date']]}",
                    missing[:10],
                    "periods are missing: add them with 0 mentions",
                )
            )
    elif kind == "date":
        problems.append(Problem(name, "1 date", "needs at least two dates to tell days from weeks"))
    if problems:
        raise ListeningError(problems)
    pos = {k: i for i, k in enumerate(keys)}
    total = np.zeros(len(keys), dtype=np.int64)
    topics: dict[str, np.ndarray] = {}
    sentiments: dict[str, np.ndarray] = {}
    for _, key, topic, sentiment, count in records:
        total[pos[key]] += count
        for groups, tag in ((topics, topic), (sentiments, sentiment)):
            if tag:
                groups.setdefault(tag, np.zeros(len(keys), dtype=np.int64))[pos[key]] += count
    used = ", ".join(
        f"{header[i]} -> {role}" for role, i in cols.items() if header[i].lower() != role
    )
    notes = (f"columns read as: {used}",) if used else ()
    series = Mentions(tuple(keys), step, total, topics, sentiments, name, notes)
    return series.weekly() if weekly else series


def _grid(name: str, days: list[date]) -> tuple[Step, list[Problem]]:
    """Daily or weekly, and the dates missing from that grid."""
    gaps = [(b - a).days for a, b in pairwise(days)]
    step_days = min(gaps)
    if step_days not in (1, 7) or any(g % step_days for g in gaps):
        rule = "must be daily or weekly (one row per day, or per week on the same weekday)"
        return "day", [Problem(f"{name} dates", f"steps of {sorted(set(gaps))[:5]} days", rule)]
    have = set(days)
    missing = [
        d.isoformat()
        for i in range((days[-1] - days[0]).days // step_days + 1)
        if (d := days[0] + timedelta(days=i * step_days)) not in have
    ]
    step: Step = "day" if step_days == 1 else "week"
    if missing:
        rule = f"{len(missing)} {step}(s) missing: add them with 0 mentions if there were none"
        return step, [Problem(f"{name} dates", missing[:10], rule)]
    return step, []
