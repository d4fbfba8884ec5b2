"""The metric catalogue: what each figure of a campaign is, in one place.

Per metric: the funnel phase it reports under, whether it is a flow (the campaign total
is the sum over periods) or a stock (the total is the last value), whether more is good
(a *good*: the optimiser may only promise less than the simulation gives), a *load*
(costs and workload: only more) or neither, its unit, and how people read it. The
simulator, the optimiser's verification, the JSON schema and every report read it here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

Phase = Literal["spend", "awareness", "consideration", "conversion", "workload", "costs"]


@dataclass(frozen=True)
class MetricInfo:
    """One metric of the catalogue."""

    name: str
    phase: Phase
    #: ``flow``: the total is the sum over periods; ``stock``: the last value;
    #: ``quantile``: a percentile of the campaign total (not a sum of weekly ones).
    kind: Literal["flow", "stock", "quantile"]
    role: Literal["good", "load", "other"]
    #: ``people``, ``impressions``, ``visits``, ``hours``, ``cases``, ``currency``, ...
    unit: str
    label: str
    #: A share of a population (shown as a percentage).
    share: bool = False

    def format(self, value: float | None, currency: str = "") -> str:
        """The value as people read it: shares as percentages, counts with separators,
        money with its currency; '-' for missing."""
        if value is None or value != value or value in (float("inf"), float("-inf")):
            return "-"
        if self.share:
            return f"{value:.1%}"
        if self.unit == "currency" and currency:
            return f"{currency} {value:,.0f}"
        return f"{value:,.0f}"


def proven_floor(amount: float, currency: str) -> str:
    """A proven lower bound on money as people read it: whole units, rounded down (a
    floor rounded up would claim more than was proven)."""
    return f"{currency} {math.floor(amount):,.0f}"


def _m(
    name: str,
    phase: Phase,
    unit: str,
    label: str,
    *,
    kind: Literal["flow", "stock", "quantile"] = "flow",
    role: Literal["good", "load", "other"] = "other",
    share: bool = False,
) -> MetricInfo:
    return MetricInfo(name, phase, kind, role, unit, label, share)


#: Every per-period metric of an outcome, in the order reports show them.
CATALOGUE: dict[str, MetricInfo] = {
    m.name: m
    for m in (
        _m("spend", "spend", "currency", "media spend"),
        _m("impressions", "awareness", "impressions", "paid impressions", role="good"),
        _m("organic_impressions", "awareness", "impressions", "organic impressions"),
        _m("reach", "awareness", "people", "people reached", kind="stock", role="good"),
        _m("reach_share", "awareness", "share", "reach share", kind="stock", share=True),
        _m("clicks", "consideration", "clicks", "link clicks"),
        _m("ad_visits", "consideration", "visits", "visits from ads"),
        _m("community_visits", "consideration", "visits", "visits from the community"),
        _m("visits", "consideration", "visits", "site visits", role="good"),
        _m("engagements", "consideration", "engagements", "engagements", role="good"),
        _m("new_followers", "consideration", "people", "new followers"),
        _m("followers", "consideration", "people", "followers", kind="stock", role="good"),
        _m("comments", "workload", "comments", "comments", role="load"),
        _m("webcare_hours", "workload", "hours", "webcare hours", role="load"),
        _m("ae_cases", "workload", "cases", "adverse-event cases", role="load"),
        _m("ae_cases_p95", "workload", "cases", "adverse-event cases (P95)", kind="quantile"),
        _m("valid_icsrs", "workload", "reports", "valid ICSRs"),
        _m("serious_icsrs", "workload", "reports", "serious ICSRs"),
        _m("conversions", "conversion", "conversions", "conversions", role="good"),
        _m("cost_media", "costs", "currency", "media cost"),
        _m("cost_community", "costs", "currency", "community cost"),
        _m("cost_webcare", "costs", "currency", "webcare cost"),
        _m("cost_ae", "costs", "currency", "adverse-event cost"),
        _m("cost_total", "costs", "currency", "total cost", role="load"),
    )
}

#: Metric names in report order.
METRICS: tuple[str, ...] = tuple(CATALOGUE)
#: Per-tactic metrics (periods x tactics arrays in ``Outcome.by_tactic``).
TACTIC_METRICS = (
    "spend",
    "impressions",
    "clicks",
    "visits",
    "conversions",
    "new_followers",
    "comments",
)
#: Stocks: the campaign total is the final value, not the sum over periods.
STOCKS: frozenset[str] = frozenset(n for n, m in CATALOGUE.items() if m.kind == "stock")
#: Goods: simulated at least as the optimiser promised. Loads: at most.
GOODS: tuple[str, ...] = tuple(n for n, m in CATALOGUE.items() if m.role == "good")
LOADS: tuple[str, ...] = tuple(n for n, m in CATALOGUE.items() if m.role == "load")
#: The headline totals that summaries (strategies, sweeps, comparisons) report.
KEY_TOTALS = ("cost_total", "cost_media", "reach_share", "visits", "followers", "conversions")


def info(name: str) -> MetricInfo:
    """The catalogue entry of metric ``name``."""
    return CATALOGUE[name]


def in_phase(phase: Phase) -> tuple[str, ...]:
    """The metrics reported under ``phase``, in report order."""
    return tuple(n for n, m in CATALOGUE.items() if m.phase == phase)


def format_value(name: str, value: float | None, currency: str = "") -> str:
    """``value`` of metric ``name`` as people read it (unknown names: a plain number)."""
    m = CATALOGUE.get(name)
    return (m or _m(name, "spend", "", name)).format(value, currency)
