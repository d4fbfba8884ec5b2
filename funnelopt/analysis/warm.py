"""Warm-started budget sweeps on HiGHS: one model, only the budget rows change.

With communities in ``auto`` mode the switch is a binary, and a MILP does not warm
start; so each on/off combination gets its own LP, re-solved warm from the previous
basis at every point, and the best combination wins (as the MILP would choose). Each
point also re-solves the cheapest-among-optimal tie-break warm. A point whose solution
breaks the fill order or fails the simulator's check is re-planned cold, so warm results
are never less trustworthy than cold ones.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

from scipy import sparse

from funnelopt.analysis.sweep import POINT_TOTALS, Progress, SweepPoint, evaluate_point
from funnelopt.backends.highs import HighsBackend
from funnelopt.formulation import Formulation, Options, build
from funnelopt.lp import INF, RawSolution, Status
from funnelopt.optimizer import verify
from funnelopt.scenario import Scenario
from funnelopt.solve import TIE_SLACK, objective_value, tie_break_objective, underfilled

#: More auto communities than this (2**n LPs per point) and the sweep runs cold.
MAX_AUTO = 3


class _Warm:
    """One LP kept loaded in HiGHS, with its budget rows and an objective-floor row."""

    def __init__(self, form: Formulation) -> None:
        self.form = form
        lp = form.lp
        self.rows = {
            n: lp.row_block(n).start
            for n in ("budget:total", "budget:media")
            if lp.has_row_block(n)
        }
        self.be = HighsBackend()
        self.be.solve(lp)
        self.floor_row = self.be.add_row(sparse.csr_matrix(lp.c), -INF, INF)
        self.cost = tie_break_objective(form)

    def primary(self, s: Scenario) -> RawSolution:
        bounds = {self.floor_row: (-INF, INF)}
        for name, row in self.rows.items():
            cap = s.budget.total if name == "budget:total" else s.budget.media
            bounds[row] = (-INF, cap if cap is not None else INF)
        return self.be.resolve(row_bounds=bounds, cost=self.form.lp.c)

    def cheapest(self, primary: RawSolution) -> RawSolution:
        floor = primary.objective - TIE_SLACK * max(1.0, abs(primary.objective))
        tie = self.be.resolve(row_bounds={self.floor_row: (floor, INF)}, cost=self.cost)
        return tie if tie.status is Status.OPTIMAL else primary


def warm_budget_points(
    scenarios: Sequence[Scenario],
    combos: Sequence[dict[str, Any]],
    tolerance: float,
    segment_budget: float | None,
    progress: Progress | None,
) -> list[SweepPoint]:
    """Sweep points of scenarios that differ only in their budget caps."""
    base = scenarios[0]
    auto = [c.id for c in base.communities if c.mode == "auto"]
    models: list[_Warm] = []
    if len(auto) <= MAX_AUTO:
        choices = [
            dict(zip(auto, on, strict=True))
            for on in itertools.product((True, False), repeat=len(auto))
        ]
        forms = [
            build(base, tolerance, Options(community=ch, segment_budget=segment_budget))
            for ch in choices
        ]
        # Other binaries (semicontinuous spend) would make every point a MILP: no warm start.
        if not any(f.lp.is_mip for f in forms):
            models = [_Warm(f) for f in forms]
    points = []
    for i, (s, values) in enumerate(zip(scenarios, combos, strict=True)):
        point = _warm_point(models, s, values) if models else None
        if point is None:  # a solver hiccup, the fill order, or a failed check: re-plan cold
            point = evaluate_point(s, values, "highs", tolerance, segment_budget)
        points.append(point)
        if progress:
            progress(i + 1, len(scenarios))
    return points


def _warm_point(models: Sequence[_Warm], s: Scenario, values: dict[str, Any]) -> SweepPoint | None:
    solved = [(m, m.primary(s)) for m in models]
    if any(r.status not in (Status.OPTIMAL, Status.INFEASIBLE) for _, r in solved):
        return None
    feasible = [(m, r) for m, r in solved if r.status is Status.OPTIMAL]
    if not feasible:
        return SweepPoint(values, "infeasible", None, {}, {})
    # The best combination, as the MILP would pick it (first one on an exact tie).
    best_obj = max(r.objective for _, r in feasible)
    m, primary = next(
        (m, r) for m, r in feasible if r.objective >= best_obj - 1e-9 * max(1.0, abs(best_obj))
    )
    x = m.cheapest(primary).x
    if underfilled(m.form, x):
        return None
    outcome, verification, _ = verify(s, m.form, x)
    if not verification.passed:
        return None
    totals = {k: outcome.totals[k] for k in POINT_TOTALS}
    return SweepPoint(values, "optimal", objective_value(s, outcome), totals, m.form.community(x))
