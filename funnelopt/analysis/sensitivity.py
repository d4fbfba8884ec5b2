"""Sensitivity of an optimal plan: shadow prices, ranging and simulated marginal returns."""

from __future__ import annotations

import numpy as np

from funnelopt import objective
from funnelopt.analysis.binding import binding_rows
from funnelopt.lp import RawSolution
from funnelopt.outcome import FloatArray, Outcome
from funnelopt.plan import Binding, Sensitivity
from funnelopt.scenario import Metric, Scenario
from funnelopt.simulator import simulate
from funnelopt.solve import Solved

#: Marginal returns and shadow prices are reported per this much extra money.
STEP = 1000.0


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
) -> Sensitivity:
    """Shadow prices of budgets and goals, binding limits, and each tactic's marginal return."""
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
            unused[t.id] = (
                f"forcing {STEP:,.0f} into it would change the objective by {loss:+,.4g}; "
                f"its return is {returns[t.id]:,.4g} {what} per {STEP:,.0f}"
                + (
                    f", below the budget's {next(iter(budget_value.values())):,.4g}"
                    if budget_value
                    else ""
                )
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
