"""A plan by calendar month: spend per tactic and the funnel, summed over the periods
that start in each month (a week that straddles two months counts in the month it
starts; stocks such as followers are the value at the month's last period)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from funnelopt import metrics
from funnelopt.errors import FunnelOptError

if TYPE_CHECKING:
    from funnelopt.plan import Plan
    from funnelopt.scenario import Scenario


@dataclass(frozen=True)
class Month:
    """One calendar month of a plan: ``month`` is ``2027-01``, ``label`` ``January 2027``;
    ``periods`` the 1-based periods starting in it; ``spend`` tactic id -> spend;
    ``totals`` metric -> flows summed, stocks at the month's end (no quantiles: a sum of
    95th percentiles is no percentile)."""

    month: str
    label: str
    periods: tuple[int, ...]
    spend: dict[str, float]
    totals: dict[str, float]


def by_month(plan: Plan) -> list[Month]:
    """The plan summarised by calendar month (needs the scenario's ``start_date``)."""
    s = plan.scenario
    if plan.outcome is None or plan.spend is None:
        raise FunnelOptError("this plan is infeasible: there is nothing to summarise by month")
    if s is None or s.start_date is None:
        raise FunnelOptError(
            "a summary by month needs calendar dates: set start_date in the scenario "
            "(start_date = 2027-01-04, or --set start_date=2027-01-04)"
        )
    groups: dict[str, list[int]] = {}
    for t in range(1, s.periods + 1):
        groups.setdefault(str(s.period_month(t)), []).append(t)
    pp, out = plan.outcome.per_period, []
    for month, periods in groups.items():
        idx = [t - 1 for t in periods]
        totals = {
            m: float(pp[m][idx[-1]]) if info.kind == "stock" else float(pp[m][idx].sum())
            for m, info in metrics.CATALOGUE.items()
            if info.kind != "quantile" and m in pp
        }
        spend = {tid: float(plan.spend[idx, j].sum()) for j, tid in enumerate(plan.tactic_ids)}
        first = s.period_start(periods[0])
        assert first is not None
        out.append(Month(month, first.strftime("%B %Y"), tuple(periods), spend, totals))
    return out


def period_names(scenario: Scenario | None, periods: int, label: str = "week") -> list[str]:
    """Names of periods 1..n: dated when the scenario has a start date."""
    if scenario is None:
        return [f"{label} {t}" for t in range(1, periods + 1)]
    return [scenario.period_name(t) for t in range(1, periods + 1)]


def short_dates(scenario: Scenario | None, periods: int) -> list[str]:
    """Short tick labels for charts: ``4 Jan`` per period with dates, else ``1``, ``2``..."""
    out = []
    for t in range(1, periods + 1):
        day = scenario.period_start(t) if scenario is not None else None
        out.append(str(t) if day is None else f"{day.day} {day:%b}")
    return out


def tactic_names(plan: Plan) -> list[str]:
    """Display names of the plan's tactics, in column order."""
    s = plan.scenario
    return [s.tactic_name(t) if s is not None else t for t in plan.tactic_ids]
