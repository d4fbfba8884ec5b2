"""One optimisation run: formulation -> backend -> a checked solution.

Shared by the optimiser and the analyses (strategies, diagnosis). It enforces the fill
order where a solution under-fills its spend segments (design 4.1) and breaks ties by a
second solve that picks the cheapest of the optimal plans.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from scipy import sparse

from funnelopt.backends import Backend
from funnelopt.errors import SolverError
from funnelopt.formulation import Formulation, Options, build
from funnelopt.lp import INF, Block, LinearProgram, RawSolution, Status
from funnelopt.outcome import FloatArray, Outcome
from funnelopt.scenario import Metric, Scenario
from funnelopt.simulator import goal_value

#: Relative slack on the primary objective when picking the cheapest optimal plan.
TIE_SLACK = 1e-7
#: Largest extra cost per unit of spend that the tie-break's spreading weights add.
TIE_SPREAD = 1e-6


@dataclass(frozen=True, eq=False)
class Solved:
    """A solved formulation: the primary solution and the plan finally chosen."""

    form: Formulation
    primary: RawSolution
    final: RawSolution
    solve_seconds: float

    @property
    def status(self) -> Status:
        """The primary solve's status."""
        return self.primary.status

    @property
    def spend(self) -> FloatArray:
        """Spend per period and tactic of the chosen plan."""
        return self.form.spend(self.final.x)

    @property
    def community(self) -> dict[str, bool]:
        """Community on/off of the chosen plan."""
        return self.form.community(self.final.x)


def solve(
    scenario: Scenario,
    backend: Backend,
    tolerance: float,
    options: Options | None = None,
    *,
    cheapest: bool = True,
    time_limit: float | None = None,
) -> Solved:
    """Build and solve; enforce the fill order if needed; optionally pick the cheapest optimum."""
    opt = options or Options()
    seconds = 0.0
    for _ in range(len(scenario.tactics) + 1):
        form = build(scenario, tolerance, opt)
        primary = _checked(backend.solve(form.lp, time_limit), backend)
        seconds += primary.solve_seconds
        final = primary
        if primary.status is Status.OPTIMAL and cheapest and not _is_cost_objective(form):
            final = _cheapest(form, primary, backend, time_limit)
            seconds += final.solve_seconds
        if primary.status is not Status.OPTIMAL:
            return Solved(form, primary, final, seconds)
        flagged = underfilled(form, final.x) | underfilled(form, primary.x)
        if not flagged - opt.fill_order:
            return Solved(form, primary, final, seconds)
        opt = replace(opt, fill_order=opt.fill_order | flagged)
    raise SolverError("the fill-order safeguard did not settle; try a smaller tolerance")


def underfilled(form: Formulation, x: FloatArray) -> frozenset[int]:
    """Tactics whose solution claims fewer impressions than its spend buys (fill order broken)."""
    spend = form.spend(x)
    claimed = form.claimed_impressions(x)
    chord = form.chord_impressions(spend)
    gap = chord - claimed
    bad = gap > 1e-6 * np.maximum(1.0, chord)
    return frozenset(int(j) for j in np.flatnonzero(bad.any(axis=0)))


def _checked(sol: RawSolution, backend: Backend) -> RawSolution:
    if sol.status in (Status.OPTIMAL, Status.INFEASIBLE):
        return sol
    if sol.status is Status.UNBOUNDED:
        raise SolverError(
            f"{backend.name} reports the problem unbounded ({sol.message}); every variable of the "
            "formulation is bounded, so this is a solver fault: try backend='pulp' or a larger tolerance"
        )
    raise SolverError(
        f"{backend.name} failed: {sol.message or 'no status'}; try the other backend "
        "(backend='pulp' or 'highs'), a larger tolerance, or a longer time limit"
    )


def _is_cost_objective(form: Formulation) -> bool:
    spec = form.options.objective if form.options.objective is not None else form.scenario.objective
    return spec == "cost" or getattr(spec, "kind", None) == "minimize"


def _cheapest(
    form: Formulation, primary: RawSolution, backend: Backend, time_limit: float | None
) -> RawSolution:
    """Among plans within TIE_SLACK of the optimum, the one with the lowest total cost."""
    lp = form.lp
    floor = primary.objective - TIE_SLACK * max(1.0, abs(primary.objective))
    tie = LinearProgram(
        c=tie_break_objective(form),
        A=sparse.vstack([lp.A, sparse.csr_matrix(lp.c)], format="csr"),
        row_lo=np.append(lp.row_lo, floor),
        row_hi=np.append(lp.row_hi, INF),
        col_lo=lp.col_lo,
        col_hi=lp.col_hi,
        integer=lp.integer,
        col_blocks=lp.col_blocks,
        row_blocks=[
            *lp.row_blocks,
            Block("objective_floor", lp.n_rows, 1, lambda _i: "objective>=optimum"),
        ],
        meta=lp.meta,
    )
    sol = backend.solve(tie, time_limit)
    # A tie-break that fails numerically leaves the primary plan: it is optimal too.
    return sol if sol.status is Status.OPTIMAL else primary


def tie_break_objective(form: Formulation) -> FloatArray:
    """Minus the total cost, plus a tiny spread of weights that makes the cheapest plan unique.

    Without it, equally cheap plans (identical weeks, say) are a matter of the solver's
    path, so a warm re-solve and a cold solve could report different (equally good) plans.
    The weights add at most TIE_SPREAD of the spend to the cost and favour earlier cells.
    """
    cost = np.asarray(form.metrics["cost_total"].sum(axis=0)).ravel()
    n_cells = max(1, len(form.cell_t))
    rank = (
        form.cell_j[form.seg_cell] * form.scenario.periods + form.cell_t[form.seg_cell]
    ) / n_cells
    cost[form.seg_col] += TIE_SPREAD * (1.0 + rank / max(1, len(form.scenario.tactics)))
    return -cost


def lp_duals(solved: Solved, backend: Backend) -> RawSolution | None:
    """A solution with duals for the primary objective: for a MILP, the LP with binaries fixed.

    The backend is left holding that LP, so its ranging (if any) refers to it.
    """
    form, primary = solved.form, solved.primary
    lp = form.lp
    if lp.is_mip:
        fixed = np.round(primary.x)
        lp = replace(
            lp,
            col_lo=np.where(lp.integer, fixed, lp.col_lo),
            col_hi=np.where(lp.integer, fixed, lp.col_hi),
            integer=np.zeros_like(lp.integer),
        )
    elif not backend.ranging:
        return primary if primary.row_dual is not None else None
    sol = backend.solve(lp)
    return sol if sol.status is Status.OPTIMAL and sol.row_dual is not None else None


def objective_value(scenario: Scenario, outcome: Outcome) -> float:
    """The scenario's objective evaluated on a simulated outcome, soft-goal penalties included.

    Maximised objectives are returned as such; ``minimize = "cost"`` returns the cost plus
    penalties (lower is better).
    """
    o = scenario.objective
    penalty = sum(
        g.weight * r.shortfall
        for g, r in zip(scenario.goals, outcome.goals, strict=True)
        if not g.hard
    )
    if o.kind == "minimize":
        return outcome.totals["cost_total"] + penalty
    if o.kind == "maximize":
        return metric_total(scenario, outcome, o.metric) - penalty
    value = 0.0
    for name, w in (o.weights or {}).items():
        key = str(getattr(name, "value", name))
        value += (
            -w * outcome.totals["cost_total"]
            if key == "cost"
            else w * metric_total(scenario, outcome, Metric(key))
        )
    return value - penalty


def soft_penalty(scenario: Scenario, outcome: Outcome) -> float:
    """Sum of weight x shortfall over the soft goals (in objective units)."""
    return sum(
        g.weight * r.shortfall
        for g, r in zip(scenario.goals, outcome.goals, strict=True)
        if not g.hard
    )


def metric_total(scenario: Scenario, outcome: Outcome, metric: Metric) -> float:
    """A goal metric over the whole campaign (flows summed, stocks at the end)."""
    return goal_value(scenario, outcome.per_period, metric, scenario.periods)
