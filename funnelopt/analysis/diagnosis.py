"""Diagnosis of a scenario whose hard goals cannot all be met (design 4.3)."""

from __future__ import annotations

from funnelopt.analysis.binding import binding_rows
from funnelopt.backends import Backend
from funnelopt.formulation import Options
from funnelopt.lp import Status
from funnelopt.plan import Diagnosis, GoalDiagnosis
from funnelopt.scenario import Scenario
from funnelopt.solve import Solved, lp_duals, solve


def diagnose(s: Scenario, backend: Backend, tolerance: float) -> Diagnosis:
    """Per goal the best achievable value, the conflicts, the limits, and the budget needed."""
    hard = [i for i, g in enumerate(s.goals) if g.hard]
    cur = s.currency

    def run(**options: object) -> Solved:
        return solve(s, backend, tolerance, Options(**options), cheapest=False)  # type: ignore[arg-type]

    def limits_of(r: Solved) -> list[str]:
        d = lp_duals(r, backend) if r.status is Status.OPTIMAL else None
        if d is None or d.row_dual is None:
            return []
        return [b.explanation for b in binding_rows(r.form.lp, d.row_dual, s, include_goals=False)]

    # Even without goals, do the floors, fixed costs and capacities fit?
    if run(goals="none", objective="cost").status is not Status.OPTIMAL:
        free = run(goals="none", objective="cost", budget=False)
        if free.status is Status.OPTIMAL:
            need = _cost(free)
            msg = (
                f"Even without goals the plan cannot fit its budget: spend floors and fixed costs "
                f"need at least {cur} {need:,.0f}."
            )
            return Diagnosis(msg, (), (), (_budget_words(s),), need, float(free.spend.sum()))
        msg = (
            "Even without goals and without a budget the scenario has no feasible plan: the spend "
            "floors (budget.period_min, tactics.*.min_spend, min_total, min_spend_if_active) force "
            "more comments than webcare or adverse-event capacity can handle."
        )
        return Diagnosis(
            msg, (), (), ("webcare / adverse-event capacity vs spend floors",), None, None
        )

    # Each goal alone, then all goals together with shortfalls allowed (elastic).
    alone: dict[int, float | None] = {}
    for i in hard:
        r = run(goals="none", objective=("goal", i))
        alone[i] = r.final.objective if r.status is Status.OPTIMAL else None
    elastic = run(goals="elastic", objective="elastic")
    together: dict[int, float | None] = dict.fromkeys(hard)
    if elastic.status is Status.OPTIMAL:
        together = {i: elastic.form.goal_value(i, elastic.final.x) for i in hard}
    limits = limits_of(elastic)

    goals = []
    conflicts: list[str] = []
    alone_ok = []
    for i in hard:
        g = s.goals[i]
        by = s.goal_period(g)
        best = together[i]
        short = max(0.0, g.target - best) if best is not None else None
        goals.append(GoalDiagnosis(g.metric.value, g.target, by, alone[i], best, short))
        a = alone[i]
        if a is not None and a < g.target * (1 - 1e-9):
            conflicts.append(
                f"{g.metric.value} >= {g.target:,.6g} by {s.period_label} {by} cannot be met even alone: "
                f"the most this budget buys is {a:,.6g}"
            )
        elif short is not None and short > 1e-6 * g.target:
            alone_ok.append(f"{g.metric.value} by {s.period_label} {by}")
    if alone_ok:
        names = [
            f"{s.goals[i].metric.value} by {s.period_label} {s.goal_period(s.goals[i])}"
            for i in hard
        ]
        others = [n for n in names if n not in alone_ok]
        who = " and ".join(alone_ok)
        conflicts.append(
            f"{who} can {'each ' if len(alone_ok) > 1 else ''}be met alone, but not together with "
            + (", ".join(others) if others else "each other")
        )

    # What budget would meet them all? (No budget caps; every other limit stays.)
    need_run = run(objective="cost", budget=False)
    if need_run.status is Status.OPTIMAL:
        required = _cost(need_run)
        media = float(need_run.spend.sum())
        msg = (
            f"The hard goals cannot all be met within the budget; a total budget of "
            f"{cur} {required:,.0f} (of which media {cur} {media:,.0f}) would meet them all."
        )
        return Diagnosis(
            msg,
            tuple(goals),
            tuple(conflicts),
            tuple(limits),
            required,
            float(need_run.spend.sum()),
        )
    msg = "The hard goals cannot all be met, and no budget can meet them: other limits stop it."
    limits = limits_of(run(goals="elastic", objective="elastic", budget=False)) or [
        "the tactics' reach and delivery saturate (pool x frequency cap per period)"
    ]
    return Diagnosis(msg, tuple(goals), tuple(conflicts), tuple(limits), None, None)


def _cost(run: Solved) -> float:
    """The optimiser's (conservative) total cost of a run's plan."""
    return float(run.form.predicted(run.final.x)["cost_total"].sum())


def _budget_words(s: Scenario) -> str:
    caps = [
        f"budget.{k} = {v:,.0f}"
        for k, v in (("total", s.budget.total), ("media", s.budget.media))
        if v is not None
    ]
    return "the budget (" + ", ".join(caps) + ")"
