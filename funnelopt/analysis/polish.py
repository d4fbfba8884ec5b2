"""Polish: even out dark-post spend across weeks that the chords cannot tell apart.

The piecewise-linear optimum puts spend on breakpoints, so identical weeks can get
different amounts (a spike of one extra segment in some week). On the exact, concave
curves an even spread of the same money buys at least as much (Jensen). Within each
stretch of weeks between goal deadlines and flighting-window edges, each traffic
tactic's spend is replaced by its average there. The polished plan is kept only if the
simulator confirms it: no limit broken, every hard goal met, the objective no worse,
and (the optimiser's verification) every figure it promised still delivered.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping

import numpy as np

from funnelopt import curves, objective
from funnelopt.outcome import FloatArray, Outcome
from funnelopt.scenario import Scenario
from funnelopt.simulator import simulate


def stretches(s: Scenario, first: int, last: int) -> list[tuple[int, int]]:
    """0-based [start, stop) runs of weeks inside a tactic's window, cut at goal deadlines."""
    cuts = sorted({s.goal_period(g) for g in s.goals} | {first - 1, last})
    runs = []
    for a, b in itertools.pairwise(cuts):
        lo, hi = max(a, first - 1), min(b, last)
        if hi - lo > 1:
            runs.append((lo, hi))
    return runs


def even_out(s: Scenario, spend: FloatArray) -> FloatArray:
    """Each traffic tactic's spend averaged over each stretch of interchangeable weeks.

    Averages never exceed the largest week they replace, so per-week caps hold for each
    tactic; caps on the sum over tactics and floors are left to the simulator's check.
    """
    out = spend.copy()
    for j, t in enumerate(s.tactics):
        if t.kind != "traffic" or not curves.is_concave(t.shape):
            continue  # on an S-curve an even spread buys less (its optimum is in bursts)
        first, last = s.active_window(t)
        for lo, hi in stretches(s, first, last):
            out[lo:hi, j] = spend[lo:hi, j].mean()
    return out


def polish(
    s: Scenario,
    spend: FloatArray,
    community: Mapping[str, bool],
    outcome: Outcome,
) -> tuple[FloatArray, Outcome] | None:
    """The evened-out plan and its outcome, or None where it would not be at least as good.

    The caller still checks it against the optimiser's promises (``optimizer.verify``).
    """
    smooth = even_out(s, spend)
    if np.allclose(smooth, spend, rtol=1e-9, atol=1e-9):
        return None
    new = simulate(s, smooth, community)
    if new.violations or not new.goals_met:
        return None
    if not objective.better(s, objective.score(s, new), objective.score(s, outcome)):
        return None
    return smooth, new
