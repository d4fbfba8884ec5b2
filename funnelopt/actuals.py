"""Actuals: what a running campaign delivered, per period and tactic, read from a CSV (or
the same as JSON) and checked against the scenario (issue 13).

Columns: ``period`` (or ``week``), ``tactic``, ``spend``, and any of ``impressions``,
``clicks``, ``visits``, ``conversions``, ``new_followers`` (follower ads), ``comments``,
``ae_cases``. A missing column
leaves that rate at its prior. Rows with a ``community`` (and no tactic) give a community
account's ``followers`` (counted at the period's end), ``new_followers`` (gained in the
period, paid and organic), ``comments`` and ``organic_impressions``. Every bad row is
named (row, column, value, rule) and nothing is half-read.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from funnelopt.errors import _MISSING, InputError, Problem
from funnelopt.metrics import TACTIC_METRICS
from funnelopt.scenario import Scenario, read_text

FloatArray = NDArray[np.float64]

#: The counts an actuals file may carry (per period and tactic): the simulator's
#: per-tactic metrics, and AE cases.
COUNTS = (*TACTIC_METRICS, "ae_cases")
#: The counts of a community row (per period and community account).
COMMUNITY_COUNTS = ("followers", "new_followers", "comments", "organic_impressions", "ae_cases")


class ActualsError(InputError):
    """An actuals file is invalid."""

    subject = "actuals"


@dataclass(frozen=True, eq=False)
class Actuals:
    """Observed counts: ``values[name]`` is a periods x tactics array (NaN: not reported)
    for the first ``periods_done`` periods; ``communities[name]`` the same per community
    account (periods x communities, in ``community_ids`` order)."""

    periods_done: int
    tactic_ids: tuple[str, ...]
    values: dict[str, FloatArray]
    community_ids: tuple[str, ...] = ()
    communities: dict[str, FloatArray] = field(default_factory=dict)

    def counted(self, name: str, community: int) -> FloatArray:
        """A community's reported ``name`` per period (NaN: not reported)."""
        if name not in self.communities:
            return np.full(self.periods_done, np.nan)
        return self.communities[name][:, community]

    def has(self, name: str) -> bool:
        """True when the file reported ``name`` for some period and tactic."""
        return name in self.values and bool(np.isfinite(self.values[name]).any())

    def total(self, name: str, tactic: int) -> float:
        """The reported total of ``name`` for one tactic (NaN counts as 0)."""
        return float(np.nansum(self.values[name][:, tactic]))


#: Meta Ads Manager's default export headers (lower-cased) -> our columns. The amount
#: spent carries the account currency in brackets ("Amount spent (EUR)").
META = {
    "reporting starts": "date",
    "ad set name": "tactic",
    "impressions": "impressions",
    "link clicks": "clicks",
    "landing page views": "visits",
}


def read_actuals(
    source: str | Path,
    scenario: Scenario,
    text: str | None = None,
    *,
    start_date: str | date | None = None,
    names: dict[str, str] | None = None,
) -> Actuals:
    """Read actuals for ``scenario`` from a ``.csv`` or ``.json`` file (or ``text``).

    A Meta Ads Manager export (its default headers: "Reporting starts", "Ad set name",
    "Amount spent (EUR)", "Impressions", "Link clicks", "Landing page views") is read as
    well: its dates become periods counted from ``start_date`` (the campaign's first day;
    one period = 7 days), and ad-set names become tactic ids through ``names`` (ad-set
    name -> tactic id), else where a name equals a tactic's ``name`` (any case) or id.
    """
    name = str(source)
    raw = read_text(source) if text is None else text
    rows = _json_rows(raw, name) if name.lower().endswith(".json") else _csv_rows(raw)
    if rows and "reporting starts" in rows[0]:
        rows = _from_meta(rows, scenario, start_date, names or {})
    return _checked(rows, scenario)


def _from_meta(
    rows: list[dict[str, str]], s: Scenario, start: str | date | None, names: dict[str, str]
) -> list[dict[str, str]]:
    """Meta's export rows as ours: dates to periods, ad sets to tactics, daily rows summed."""
    if start is None:
        raise ActualsError(
            [
                Problem(
                    "start_date",
                    _MISSING,
                    "a Meta export has dates: give the campaign's first day (--start-date)",
                )
            ]
        )
    try:
        first = start if isinstance(start, date) else date.fromisoformat(str(start))
    except ValueError:
        raise ActualsError(
            [Problem("start_date", start, "must be an ISO date, e.g. 2027-01-04")]
        ) from None
    spent = next((k for k in rows[0] if k.startswith("amount spent")), None)
    ids = s.tactic_ids
    by_name = {t.name.lower(): t.id for t in s.tactics if t.name}
    unknown: set[str] = set()
    problems: list[Problem] = []
    sums: dict[tuple[str, str], dict[str, float]] = {}
    for n, row in enumerate(rows, start=2):
        try:
            day = date.fromisoformat(row.get("reporting starts", "")[:10])
        except ValueError:
            problems.append(
                Problem(
                    f"row {n}.Reporting starts",
                    row.get("reporting starts"),
                    "must be a date, e.g. 2027-01-04",
                )
            )
            continue
        if day < first:
            problems.append(
                Problem(
                    f"row {n}.Reporting starts",
                    row.get("reporting starts"),
                    f"is before the campaign's first day ({first})",
                )
            )
            continue
        period = (day - first).days // 7 + 1
        ad_set = row.get("ad set name", "")
        tactic = names.get(ad_set) or by_name.get(ad_set.lower()) or ad_set
        if tactic not in ids:
            if ad_set in unknown:
                continue  # one error per ad set, not per day
            unknown.add(ad_set)
            problems.append(
                Problem(
                    f"row {n}.Ad set name",
                    ad_set,
                    f"is no tactic ({', '.join(ids)}): map it with --ad-set '{ad_set}=ID' "
                    f"(names= in Python), or give that tactic name = '{ad_set}'",
                )
            )
            continue
        key = (str(period), tactic)
        acc = sums.setdefault(key, {})
        for src, dst in (
            *((k, v) for k, v in META.items() if v not in ("date", "tactic")),
            (spent, "spend"),
        ):
            if src is None or row.get(src, "") == "":
                continue
            v = _number(row[src])
            if v is None:
                problems.append(Problem(f"row {n}.{src}", row[src], "must be a number"))
                continue
            acc[dst] = acc.get(dst, 0.0) + v
    if problems:
        raise ActualsError(problems)
    return [
        {"period": p, "tactic": tid, **{k: f"{v:.6f}" for k, v in acc.items()}}
        for (p, tid), acc in sums.items()
    ]


def _csv_rows(text: str) -> list[dict[str, str]]:
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    return [{(k or "").strip().lower(): (v or "").strip() for k, v in r.items()} for r in reader]


def _json_rows(text: str, name: str) -> list[dict[str, str]]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ActualsError([Problem(name, "(file)", f"is not JSON: {exc.msg}")]) from None
    rows = data.get("rows") if isinstance(data, dict) else data
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        raise ActualsError([Problem(name, "(file)", 'must be a list of rows (or {"rows": [...]})')])
    return [{str(k).lower(): "" if v is None else str(v) for k, v in r.items()} for r in rows]


def _checked(rows: list[dict[str, str]], s: Scenario) -> Actuals:
    problems: list[Problem] = []
    if not rows:
        raise ActualsError([Problem("rows", 0, "the file has no rows")])
    columns = set(rows[0])
    when = "period" if "period" in columns else "week" if "week" in columns else None
    if when is None or "tactic" not in columns:
        raise ActualsError(
            [Problem("columns", sorted(columns), "needs 'period' (or 'week') and 'tactic'")]
        )
    counts = [c for c in COUNTS if c in columns]
    if "spend" not in counts:
        # Without what was spent, the weeks done could not be kept as they were.
        raise ActualsError(
            [
                Problem(
                    "columns",
                    sorted(columns),
                    "needs 'spend' (and any of impressions, clicks, visits)",
                )
            ]
        )
    ids, cids = s.tactic_ids, s.community_ids
    values = {c: np.full((s.periods, len(ids)), np.nan) for c in counts}
    by_community = {
        c: np.full((s.periods, len(cids)), np.nan) for c in COMMUNITY_COUNTS if c in columns
    }
    seen: set[tuple[int, int]] = set()
    seen_c: set[tuple[int, int]] = set()
    community_rows: list[tuple[str, int]] = []
    last = 0
    for n, row in enumerate(rows, start=2):  # row 1 is the header
        where = f"row {n}"
        period = _number(row.get(when, ""))
        if (
            period is None
            or not math.isfinite(period)
            or period != int(period)
            or not 1 <= period <= s.periods
        ):
            problems.append(
                Problem(
                    f"{where}.{when}", row.get(when), f"must be a whole number in 1..{s.periods}"
                )
            )
            continue
        tid, cid = row.get("tactic", ""), row.get("community", "")
        if cid and not tid:
            problems += _community_row(row, where, int(period), cid, s, by_community, seen_c)
            community_rows.append((where, int(period)))
            continue
        if cid:
            problems.append(
                Problem(f"{where}.community", cid, "a row is a tactic's or a community's, not both")
            )
            continue
        if tid not in ids:
            problems.append(Problem(f"{where}.tactic", tid, f"must be one of {', '.join(ids)}"))
            continue
        t, j = int(period) - 1, ids.index(tid)
        if (t, j) in seen:
            problems.append(Problem(f"{where}", f"{when} {int(period)}, {tid}", "is given twice"))
            continue
        seen.add((t, j))
        last = max(last, t + 1)
        for c in counts:
            v = _number(row.get(c, ""))
            if row.get(c, "") == "":
                continue
            if v is None or not math.isfinite(v) or v < 0:
                problems.append(
                    Problem(
                        f"{where}.{c}", row.get(c), "must be a number >= 0 (with a decimal point)"
                    )
                )
                continue
            values[c][t, j] = v
        first, end = s.active_window(s.tactics[j])
        if "spend" in values and not first <= t + 1 <= end and values["spend"][t, j] > 0:
            problems.append(
                Problem(
                    f"{where}.spend",
                    row.get("spend"),
                    f"{tid} runs only in {s.period_label}s {first}-{end}",
                )
            )
        for lower, upper in (
            ("clicks", "impressions"),
            ("visits", "clicks"),
            ("conversions", "visits"),
            ("new_followers", "impressions"),
            ("comments", "impressions"),
        ):
            if lower in values and upper in values and values[lower][t, j] > values[upper][t, j]:
                problems.append(
                    Problem(
                        f"{where}.{lower}", row.get(lower), f"must be <= {upper} ({row.get(upper)})"
                    )
                )
    # Counts of a week whose spend is not known would leave that week's spend unknown.
    problems += [
        Problem(
            f"{where}.{when}",
            str(period),
            f"is after the last {s.period_label} with spend ({last}): give its tactics' rows too",
        )
        for where, period in community_rows
        if period > last
    ]
    if problems:
        raise ActualsError(problems)
    return Actuals(
        last,
        tuple(ids),
        {c: v[:last] for c, v in values.items()},
        tuple(cids),
        {c: v[:last] for c, v in by_community.items()},
    )


def _community_row(
    row: dict[str, str],
    where: str,
    period: int,
    cid: str,
    s: Scenario,
    values: dict[str, FloatArray],
    seen: set[tuple[int, int]],
) -> list[Problem]:
    """Read one community row into ``values``; its problems."""
    cids = s.community_ids
    if cid not in cids:
        known = ", ".join(cids) or "none: the scenario has no community"
        return [Problem(f"{where}.community", cid, f"must be one of {known}")]
    t, k = period - 1, cids.index(cid)
    if (t, k) in seen:
        return [Problem(where, f"{period}, {cid}", "is given twice")]
    seen.add((t, k))
    problems = [
        Problem(
            f"{where}.{c}",
            row[c],
            "a community row carries " + ", ".join(COMMUNITY_COUNTS) + "; leave it empty",
        )
        for c in COUNTS
        if c not in COMMUNITY_COUNTS and row.get(c, "") != ""
    ]
    for c, column in values.items():
        raw = row.get(c, "")
        if raw == "":
            continue
        v = _number(raw)
        if v is None or not math.isfinite(v) or v < 0:
            problems.append(
                Problem(f"{where}.{c}", raw, "must be a number >= 0 (with a decimal point)")
            )
            continue
        column[t, k] = v
    return problems


def _number(text: str | None) -> float | None:
    """A number; commas only as thousands separators (1,234,567). "12,50" - a decimal
    comma - is refused rather than read as 1250."""
    if text in (None, ""):
        return None
    raw = str(text).strip()
    if "," in raw and not re.fullmatch(r"[-+]?\d{1,3}(,\d{3})+(\.\d*)?", raw):
        return None
    try:
        return float(raw.replace(",", ""))
    except ValueError:
        return None
