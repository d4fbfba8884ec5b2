"""The community decision explained: why the plan builds (or skips) the community, and the
soft-goal weights at which that choice would flip (issue 10, item 4)."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from funnelopt import metrics, objective
from funnelopt.backends import Backend
from funnelopt.formulation import Options, build
from funnelopt.lp import Status
from funnelopt.plan import Decision, Strategy
from funnelopt.scenario import Metric, Scenario
from funnelopt.simulator import simulate
from funnelopt.solve import bases, solve

#: Newton steps on the two strategies' score lines before a break-even is given up.
MAX_STEPS = 8
#: Either side of a break-even, this relative step re-optimises to confirm the flip.
CONFIRM = 0.02
#: Allowed range of a soft goal's weight (scenario.Goal.weight).
MAX_WEIGHT = 1e6


def decide(
    s: Scenario,
    strategies: Sequence[Strategy],
    backend: Backend,
    tolerance: float,
    deadline: float | None = None,
) -> Decision | None:
    """The chosen community setting, why, and where each soft goal's weight (and each
    money value of a net-value objective) flips it.

    Only for one community in ``auto`` mode with both strategies solved (spend already
    made, the scenario's history, stays fixed); past ``deadline`` (a
    :func:`time.monotonic` instant) no further break-even is searched.
    """
    auto = [c.id for c in s.communities if c.mode == "auto"]
    chosen = next((st for st in strategies if st.chosen), None)
    other = next((st for st in strategies if not st.chosen), None)
    if len(auto) != 1 or chosen is None or other is None:
        return None
    flips: dict[str, float] = {}
    paths = [f"goals[{i}].weight" for i, g in enumerate(s.goals) if not g.hard]
    paths += [f"objective.values.{m.value}" for m in (s.objective.values or {})]
    for path in paths:
        if deadline is not None and time.monotonic() > deadline:
            break
        w = _break_even(_Lines(s, path, auto[0], backend, tolerance))
        if w is not None:
            flips[path] = w
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


def _break_even(lines: _Lines) -> float | None:
    """The value at ``lines.path`` (a soft goal's weight or a money value) at which the best
    plans with and without the community score the same, or None when no value in
    (0, MAX_WEIGHT] flips the choice.

    Each strategy's best score is convex and piecewise linear in such a number (a maximum
    of lines, one per plan), so Newton steps on the two current plans' lines reach the
    crossing; re-optimising just either side confirms it.
    """
    w = float(lines.s.value_at(lines.path))
    for _ in range(MAX_STEPS):
        with_it, without = lines(w, True), lines(w, False)
        if with_it is None or without is None:
            return None
        (a_on, b_on), (a_off, b_off) = with_it, without
        if abs(b_on - b_off) <= 1e-9 * max(1.0, abs(b_on), abs(b_off)):
            return None  # the number does not tell the two apart
        nxt = (a_off - a_on) / (b_on - b_off)
        if not 0 < nxt <= MAX_WEIGHT:
            return None
        if abs(nxt - w) <= 1e-6 * max(1.0, w):
            break
        w = nxt
    else:
        return None
    below, above = (lines.choice(w * k) for k in (1 - CONFIRM, 1 + CONFIRM))
    return w if below is not None and above is not None and below != above else None


class _Lines:
    """The best plan with the community on (off) as a line in the number at ``path``.

    The number moves only the objective, so each setting's model is built once and
    re-scored (:meth:`Formulation.scored_by`), and each re-solve starts from the last
    optimal basis of the same setting.
    """

    def __init__(
        self,
        s: Scenario,
        path: str,
        community: str,
        backend: Backend,
        tolerance: float,
    ) -> None:
        self.s, self.path = s, path
        self.backend, self.tolerance = backend, tolerance
        self.forms = {
            on: build(s, tolerance, Options(community={community: on})) for on in (True, False)
        }
        self.starts: dict[bool, dict[frozenset[tuple[str, bool]], Any]] = {True: {}, False: {}}

    def __call__(self, w: float, on: bool) -> tuple[float, float] | None:
        """(intercept, slope) of the best plan's score at ``w``, in the maximising sense."""
        sw, path = self.s.with_overrides({self.path: w}), self.path
        form = self.forms[on].scored_by(sw)
        run = solve(
            sw,
            self.backend,
            self.tolerance,
            form.options,
            cheapest=False,
            built=form,
            starts=self.starts[on],
        )
        if run.status is not Status.OPTIMAL:
            return None
        self.starts[on] = bases(run)
        outcome = simulate(sw, run.spend, run.community, checks=False)
        if path.startswith("goals["):
            slope = -outcome.goals[int(path[len("goals[") : path.index("]")])].shortfall
        else:
            slope = objective.metric_total(sw, outcome, Metric(path.rsplit(".", 1)[1]))
        sign = -1.0 if objective.sense(sw) == "min" else 1.0
        return sign * objective.score(sw, outcome) - slope * w, slope

    def choice(self, w: float) -> bool | None:
        """Whether the community is worth it at ``w`` (re-optimised both ways)."""
        on, off = self(w, True), self(w, False)
        if on is None or off is None:
            return None if on is None and off is None else off is None
        return on[0] + w * on[1] > off[0] + w * off[1]
