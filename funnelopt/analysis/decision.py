"""The community decision explained: why the plan builds (or skips) the community, and the
soft-goal weights at which that choice would flip (issue 10, item 4)."""

from __future__ import annotations

from collections.abc import Sequence

from funnelopt import metrics, objective
from funnelopt.backends import Backend
from funnelopt.formulation import Options
from funnelopt.lp import Status
from funnelopt.plan import Decision, Strategy
from funnelopt.scenario import Scenario
from funnelopt.simulator import simulate
from funnelopt.solve import solve

#: Newton steps on the two strategies' score lines before a break-even is given up.
MAX_STEPS = 8
#: Either side of a break-even, this relative step re-optimises to confirm the flip.
CONFIRM = 0.02
#: Allowed range of a soft goal's weight (scenario.Goal.weight).
MAX_WEIGHT = 1e6


def decide(
    s: Scenario, strategies: Sequence[Strategy], backend: Backend, tolerance: float
) -> Decision | None:
    """The chosen community setting, why, and where each soft goal's weight flips it.

    Only for one community in ``auto`` mode with both strategies solved.
    """
    auto = [c.id for c in s.communities if c.mode == "auto"]
    chosen = next((st for st in strategies if st.chosen), None)
    other = next((st for st in strategies if not st.chosen), None)
    if len(auto) != 1 or chosen is None or other is None:
        return None
    flips: dict[str, float] = {}
    for i, g in enumerate(s.goals):
        if not g.hard:
            w = _break_even(s, i, auto[0], backend, tolerance)
            if w is not None:
                flips[f"goals[{i}].weight"] = w
    return Decision(dict(chosen.community), _reason(s, chosen, other, flips), flips)


def _reason(s: Scenario, chosen: Strategy, other: Strategy, flips: dict[str, float]) -> str:
    cur = s.currency
    if other.objective is None:
        return f"{chosen.name}: the only setting that meets the hard goals."

    def show(k: str, st: Strategy) -> str:
        return metrics.format_value(k, st.totals.get(k))

    what = objective.name(s)
    said = (
        f"{chosen.name.capitalize()} scores {chosen.objective:,.1f} against "
        f"{other.objective:,.1f} {other.name}: conversions {show('conversions', chosen)} vs "
        f"{show('conversions', other)}, followers {show('followers', chosen)} vs "
        f"{show('followers', other)}, cost {cur} {show('cost_total', chosen)} vs "
        f"{show('cost_total', other)}."
    )
    metric = what if what in chosen.totals else "conversions"
    if chosen.totals.get(metric, 0.0) < other.totals.get(metric, 0.0) and flips:
        goals = ", ".join(f"{p} = {w:,.4g}" for p, w in flips.items())
        said += f" It gives up {metric} for the soft goals' penalties; the choice flips at {goals}."
    elif flips:
        goals = ", ".join(f"{p} = {w:,.4g}" for p, w in flips.items())
        said += f" The choice flips at {goals}."
    return said


def _break_even(
    s: Scenario, i: int, community: str, backend: Backend, tolerance: float
) -> float | None:
    """The weight of soft goal ``i`` at which the best plans with and without the
    community score the same, or None when no weight in (0, MAX_WEIGHT] flips it.

    Each strategy's best score is convex and piecewise linear in the weight (a maximum of
    lines, one per plan), so Newton steps on the two current plans' lines reach the
    crossing; re-optimising just either side confirms it.
    """
    w = s.goals[i].weight
    for _ in range(MAX_STEPS):
        lines = [_line(s, i, w, community, on, backend, tolerance) for on in (True, False)]
        if None in lines:
            return None
        (u_on, sh_on), (u_off, sh_off) = lines  # type: ignore[misc]
        if abs(sh_on - sh_off) <= 1e-9 * max(1.0, sh_on, sh_off):
            return None  # the weight does not tell the two apart
        nxt = (u_on - u_off) / (sh_on - sh_off)
        if not 0 < nxt <= MAX_WEIGHT:
            return None
        if abs(nxt - w) <= 1e-6 * max(1.0, w):
            break
        w = nxt
    else:
        return None
    below, above = (
        _choice(s, i, w * k, community, backend, tolerance) for k in (1 - CONFIRM, 1 + CONFIRM)
    )
    return w if below is not None and above is not None and below != above else None


def _line(
    s: Scenario, i: int, w: float, community: str, on: bool, backend: Backend, tolerance: float
) -> tuple[float, float] | None:
    """The best plan at weight ``w`` with the community on (off) as a line in the weight:
    (its score without goal i's penalty, goal i's shortfall)."""
    sw = s.with_overrides({f"goals[{i}].weight": w})
    run = solve(sw, backend, tolerance, Options(community={community: on}), cheapest=False)
    if run.status is not Status.OPTIMAL:
        return None
    outcome = simulate(sw, run.spend, run.community, checks=False)
    short = outcome.goals[i].shortfall
    sign = -1.0 if objective.sense(sw) == "min" else 1.0
    return sign * objective.score(sw, outcome) + w * short, short


def _choice(
    s: Scenario, i: int, w: float, community: str, backend: Backend, tolerance: float
) -> bool | None:
    """Whether the community is worth it at weight ``w`` (re-optimised both ways)."""
    lines = [_line(s, i, w, community, on, backend, tolerance) for on in (True, False)]
    if lines[0] is None or lines[1] is None:
        return None if lines[0] is None and lines[1] is None else lines[1] is None
    return lines[0][0] - w * lines[0][1] > lines[1][0] - w * lines[1][1]
