"""Sensitivity of an optimal plan: shadow prices, ranging and simulated marginal returns."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from funnelopt import objective
from funnelopt.analysis.binding import binding_rows
from funnelopt.backends import Backend
from funnelopt.lp import RawSolution, Status
from funnelopt.outcome import FloatArray, Outcome
from funnelopt.plan import Binding, Sensitivity
from funnelopt.scenario import Metric, Scenario
from funnelopt.simulator import simulate
from funnelopt.solve import Solved, fix_integers

#: Marginal returns and shadow prices are reported per this much extra money.
STEP = 1000.0
#: The budget_value key of raising both caps together (when each alone is worth little).
BOTH = "total+media"


def return_metric(s: Scenario) -> str:
    """What tactic returns are measured in: the objective, or conversions when minimising cost."""
    o = s.objective
    if o.kind == "maximize":
        return o.metric.value
    if o.kind == "weights":
        return "objective"
    return "conversions"


def sensitivity(
    s: Scenario,
    solved: Solved,
    duals: RawSolution | None,
    ranges: dict[str, tuple[float, float]],
    outcome: Outcome,
    spend: FloatArray | None = None,
    backend: Backend | None = None,
) -> Sensitivity:
    """Shadow prices of budgets and goals, binding limits, and each tactic's marginal return.

    When both budget caps bind, their shadow prices are not unique (the LP is degenerate:
    the trial's M3 read "media does not bind" where media was the cap that mattered), so
    with a ``backend`` each cap's value is re-solved one-sided instead.
    """
    form = solved.form
    lp = form.lp
    notes: list[str] = []
    budget_value: dict[str, float] = {}
    goal_costs: dict[str, float] = {}
    binding: tuple[Binding, ...] = ()
    minimise = objective.sense(s) == "min"
    if duals is not None and duals.row_dual is not None:
        rd = duals.row_dual
        for name in ("budget:total", "budget:media"):
            if lp.has_row_block(name):
                budget_value[name.split(":")[1]] = float(rd[lp.row_block(name).start]) * STEP
        for i, g in enumerate(s.goals):
            block = f"goal[{i}]"
            if g.hard and lp.has_row_block(block):
                d = float(rd[lp.row_block(block).start])
                if abs(d) > 1e-9:
                    goal_costs[f"{g.metric.value}@{s.goal_period(g)}"] = -d
        binding = tuple(binding_rows(lp, rd, s))
        caps = _caps(solved)
        why = _why_resolve(solved, caps, ranges)
        sided = _one_sided(solved, backend, caps) if backend is not None and why else None
        if sided is not None:
            budget_value = sided
            ranges = {k: v for k, v in ranges.items() if k not in budget_value}
            notes.append(
                f"{why}: the budget values are re-solved with {STEP:,.0f} more of each cap"
                + (" alone and of both" if BOTH in sided else "")
            )
    else:
        notes.append("shadow prices unavailable from this backend for this model")
    if lp.is_mip:
        notes.append(
            "shadow prices are those of the LP with the on/off decisions fixed at the optimum"
        )
    if minimise:
        notes.append("objective is total cost: goal costs are in currency per unit of target")

    spend = solved.spend if spend is None else spend
    community = solved.community
    base = _objective_for_returns(s, outcome)
    returns: dict[str, float] = {}
    unused: dict[str, str] = {}
    col_dual = duals.col_dual if duals is not None else None
    for j, t in enumerate(s.tactics):
        first, last = s.active_window(t)
        off = (
            t.kind == "community" and t.account is not None and not community.get(t.account, False)
        )
        col = spend[:, j]
        if not off:
            pattern = col.copy() if col.sum() > 1e-6 else np.zeros(s.periods)
            if col.sum() <= 1e-6:
                pattern[first - 1 : last] = 1.0
            # The return of a small step, reported per STEP (mROI-style): the next 1% of the
            # tactic's spend (or 1 currency unit per active period for an unused tactic).
            delta = max(1e-2 * float(col.sum()), 1.0)
            extra = spend.copy()
            extra[:, j] += delta * pattern / pattern.sum()
            gain = _objective_for_returns(s, simulate(s, extra, community, checks=False)) - base
            returns[t.id] = gain / delta * STEP
        if col.sum() > 1e-6:
            continue
        if off:
            unused[t.id] = f"its community {t.account} is off in this plan"
        elif col_dual is not None:
            loss = _forcing_loss(solved, col_dual, j)
            what = return_metric(s)
            cap = max(budget_value, key=lambda k: budget_value[k], default=None)
            value = budget_value[cap] if cap is not None else 0.0
            if value <= 1e-9:
                why = ""
            elif returns[t.id] < value:
                why = f", below the {cap} budget's {value:,.4g}"
            else:
                # Its own return beats the budget's, yet the plan leaves it out: what it
                # would take from limits it shares (capacities, floors, weekly caps)
                # outweighs it, which the forcing loss above measures.
                why = (
                    f"; that beats the {cap} budget's {value:,.4g}, but what it would take from "
                    "limits it shares with the plan (capacities, floors, weekly caps) costs more"
                )
            unused[t.id] = (
                f"forcing {STEP:,.0f} into it would change the objective by {loss:+,.4g}; "
                f"its return is {returns[t.id]:,.4g} {what} per {STEP:,.0f}{why}"
            )
        else:
            unused[t.id] = f"its return is {returns[t.id]:,.4g} {return_metric(s)} per {STEP:,.0f}"
    return Sensitivity(
        objective_name=return_metric(s) if not minimise else "cost",
        budget_value=budget_value,
        goal_costs=goal_costs,
        binding=binding,
        budget_range=ranges,
        tactic_returns=returns,
        unused=unused,
        notes=tuple(notes),
    )


def _objective_for_returns(s: Scenario, outcome: Outcome) -> float:
    if objective.sense(s) == "min":
        return objective.metric_total(s, outcome, Metric.CONVERSIONS)
    return objective.score(s, outcome)


def _forcing_loss(solved: Solved, col_dual: FloatArray, j: int) -> float:
    """Objective change per STEP forced into tactic j's best first segment (reduced cost)."""
    form = solved.form
    first = np.flatnonzero((form.cell_j[form.seg_cell] == j) & (form.seg_rank == 0))
    if not len(first):
        return 0.0
    return float(np.max(col_dual[form.seg_col[first]])) * STEP


def _caps(solved: Solved) -> dict[str, int]:
    """The budget cap rows of the plan's model, by name (total, media)."""
    lp = solved.form.lp
    return {
        name: lp.row_block(f"budget:{name}").start
        for name in ("total", "media")
        if lp.has_row_block(f"budget:{name}")
    }


def _why_resolve(
    solved: Solved, caps: dict[str, int], ranges: dict[str, tuple[float, float]]
) -> str:
    """Why a cap's shadow price would mislead per STEP ("" when it would not): with two
    caps, both bind (the LP is degenerate, the trial's M3), or one's price holds for less
    than STEP, where the other starts to bind."""
    lp, x = solved.form.lp, solved.primary.x
    if len(caps) < 2:
        # One cap: its range ends where the next curve segment starts (a smaller return,
        # as the range says), not where another limit takes over.
        return ""
    tight = [
        # Within a currency unit (or 0.01%) counts: M3's plan left 1 EUR of 202,540 unspent.
        float((lp.A.getrow(r) @ x)[0]) >= lp.row_hi[r] - max(1.0, 1e-4 * abs(lp.row_hi[r]))
        for r in caps.values()
    ]
    if all(tight):
        return "both budget caps bind, so their shadow prices are not unique"
    short = [k for k, r in caps.items() if k in ranges and ranges[k][1] < lp.row_hi[r] + STEP]
    if short:
        return (
            f"the {short[0]} budget's shadow price holds for less than {STEP:,.0f} more "
            "(the other cap takes over)"
        )
    return ""


def _one_sided(solved: Solved, backend: Backend, caps: dict[str, int]) -> dict[str, float] | None:
    """Objective gained (the LP's sense, like a dual) by STEP more of each cap alone and,
    with two caps, of both, on the plan's own model (same breakpoints, decisions fixed)."""
    lp = solved.form.lp
    lp = fix_integers(lp, solved.primary.x) if lp.is_mip else lp
    base = solved.primary  # this very LP, solved already
    if base.status is not Status.OPTIMAL:
        return None
    raises = {k: [k] for k in caps} | ({BOTH: list(caps)} if len(caps) == 2 else {})
    out = {}
    for key, raised in raises.items():
        hi = lp.row_hi.copy()
        hi[[caps[k] for k in raised]] += STEP
        sol = backend.solve(replace(lp, row_hi=hi))
        if sol.status is not Status.OPTIMAL:
            return None
        out[key] = sol.objective - base.objective
    return out
