"""What a client should know before relying on a plan: capacity headroom, saturation and
the assumptions whose error would move the result most (the same plan re-simulated with
each sourced input 20% lower and higher)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from funnelopt.errors import FunnelOptError
from funnelopt.simulator import delivery, simulate

if TYPE_CHECKING:
    from funnelopt.plan import Plan

#: How far each sourced input is moved either way to rank the assumptions.
SWING = 0.20


@dataclass(frozen=True)
class Swing:
    """The plan's objective metric with one input ``SWING`` lower and higher."""

    path: str
    value: float
    low: float
    high: float
    base: float

    @property
    def width(self) -> float:
        """The spread between the two results, relative to the plan's own."""
        return abs(self.high - self.low) / max(abs(self.base), 1e-12)


def assumption_swings(plan: Plan, metric: str = "conversions", top: int = 3) -> list[Swing]:
    """The ``top`` sourced numeric inputs whose +-20% moves ``metric`` most, for the
    plan's spend as it stands (re-simulated, not re-optimised: how wrong the forecast is
    if the input is wrong)."""
    s = plan.scenario
    if s is None or plan.spend is None or plan.outcome is None:
        return []
    base = plan.outcome.totals[metric]
    out = []
    for path in sorted(s.sources):
        try:
            value = s.value_at(path)
        except FunnelOptError:
            continue  # a source naming a group of fields ("tactics.meta_dark")
        if isinstance(value, bool) or not isinstance(value, int | float) or value == 0:
            continue
        if isinstance(value, int) or path.startswith("budget."):
            continue  # counts and budgets are decisions, not estimates
        results = []
        for factor in (1 - SWING, 1 + SWING):
            try:
                changed = s.with_overrides({path: value * factor})
                o = simulate(changed, plan.spend, plan.community, checks=False)
            except FunnelOptError:
                break  # e.g. a rate that would pass 1
            results.append(o.totals[metric])
        if len(results) == 2:
            out.append(Swing(path, float(value), results[0], results[1], base))
    out.sort(key=lambda w: -w.width)
    return out[:top]


def saturation(plan: Plan) -> dict[str, float]:
    """Tactic id -> share of its audience's saturation delivered in its peak period
    (impressions over pool x frequency cap; near 1, more spend buys ever fewer)."""
    s = plan.scenario
    if s is None or plan.spend is None:
        return {}
    out = {}
    for j, t in enumerate(s.tactics):
        peak = float(plan.spend[:, j].max())
        if peak > 0 and not t.response:  # a response tactic buys no impressions
            got = float(delivery(peak, t.saturation_impressions, t.saturation_spend, t.shape))
            out[t.id] = got / t.saturation_impressions
    return out
