"""Diagnosis of a scenario whose hard goals cannot all be met (design 4.3).

Bounded in time: each solve gets the time limit and the deadline, a part not started by
the deadline is left out, and the diagnosis names what it left out
(:attr:`Diagnosis.not_computed`). No part comes from a run the time limit cut short
(:attr:`Solved.timed_out`): its figure is not the model's best, and its infeasibility
proves nothing.
"""

from __future__ import annotations

import dataclasses
import math
import time
from dataclasses import dataclass, replace

from funnelopt import metrics
from funnelopt.analysis.binding import binding_rows
from funnelopt.backends import Backend
from funnelopt.errors import SolverError
from funnelopt.formulation import Options
from funnelopt.lp import Status
from funnelopt.plan import Attempt, Diagnosis, GoalDiagnosis
from funnelopt.scenario import Scenario
from funnelopt.simulator import simulate
from funnelopt.solve import Solved, certified, solve

#: Why a part of the diagnosis is missing, in words.
OUT_OF_TIME = "the time limit ran out"

#: What each part is called when it is missing.
BUDGET = "the budget needed"
FLOORS = "whether the spend floors and fixed costs fit the budget"
FLOORS_COST = "what the spend floors and fixed costs cost alone"
TOGETHER = "the best the hard goals reach together (and the plan that comes closest)"
NO_BUDGET = "what stops every budget"


@dataclass
class _Runs:
    """The diagnosis's solver runs, each within the time limit and the deadline, and
    what was left out (part -> why)."""

    s: Scenario
    backend: Backend
    tolerance: float
    time_limit: float | None
    deadline: float | None
    skipped: dict[str, str] = dataclasses.field(default_factory=dict)

    def late(self) -> bool:
        """Whether the deadline has passed."""
        return self.deadline is not None and time.monotonic() > self.deadline

    def skip(self, part: str, why: str = OUT_OF_TIME) -> None:
        """Note ``part`` as not computed (the first reason given stands)."""
        self.skipped.setdefault(part, why)

    def solve(self, part: str, options: Options, s: Scenario | None = None) -> Solved | None:
        """A run of ``s`` (default: the scenario), or None with ``part`` noted: the
        deadline had passed, the solver failed, or the time limit cut the run short."""
        run = self._run(part, options, s, certify=False)
        if run is not None and run.timed_out:
            self.skip(part)
            return None
        return run

    def certified(self, part: str, options: Options, s: Scenario | None = None) -> Solved | None:
        """:func:`certified` of ``s`` (its ``stopped`` says whether time ran out), or
        None with ``part`` noted."""
        return self._run(part, options, s, certify=True)

    def _run(self, part: str, options: Options, s: Scenario | None, certify: bool) -> Solved | None:
        if self.late():
            self.skip(part)
            return None
        run = certified if certify else solve
        try:
            return run(
                s or self.s,
                self.backend,
                self.tolerance,
                options,
                cheapest=False,
                time_limit=self.time_limit,
                deadline=self.deadline,
            )
        except SolverError as e:  # an LP out of time, or a solver fault
            self.skip(part, OUT_OF_TIME if self.late() else f"the solver failed ({e})")
            return None

    def notes(self) -> tuple[str, ...]:
        """What was left out, one sentence each."""
        return tuple(f"{part} was not computed: {why}" for part, why in self.skipped.items())


def diagnose(
    s: Scenario,
    backend: Backend,
    tolerance: float,
    *,
    time_limit: float | None = None,
    deadline: float | None = None,
    proven: bool = True,
) -> Diagnosis:
    """Per goal the best achievable value, the conflicts, the limits, and the budget needed
    (spend already made, the scenario's history, stays as it was).

    ``proven``: whether the verdict it explains is proven; when it is not (the time ran
    out first), the message says no plan was found in time instead of "cannot".

    ``time_limit``: seconds for the whole diagnosis; ``deadline``: a
    :func:`time.monotonic` instant (the earlier of the two counts). Every solve gets
    what is left (at least MIN_RUN seconds); parts not started by then are left out and
    named in ``not_computed``.
    """
    if time_limit is not None:
        end = time.monotonic() + time_limit
        deadline = end if deadline is None else min(deadline, end)
    runs = _Runs(s, backend, tolerance, time_limit, deadline)
    given = Options()  # the variants are set below
    hard = [i for i, g in enumerate(s.goals) if g.hard]

    def limits_of(r: Solved | None) -> list[str]:
        if r is None or r.status is not Status.OPTIMAL or r.primary.row_dual is None:
            return []
        d = r.primary.row_dual
        return [b.explanation for b in binding_rows(r.form.lp, d, s, include_goals=False)]

    # Even without goals, do the floors, fixed costs and capacities fit the budget?
    fits = runs.solve(FLOORS, replace(given, goals="none", objective="cost"))
    if fits is not None and fits.status is not Status.OPTIMAL:
        floors = runs.solve(
            FLOORS_COST, replace(given, goals="none", objective="cost", budget=False)
        )
        if floors is not None and floors.status is not Status.OPTIMAL:
            msg = (
                "Even without goals and without a budget the scenario has no feasible plan: the "
                "spend floors (budget.period_min, tactics.*.min_spend, min_total, "
                "min_spend_if_active) force more comments than webcare or adverse-event "
                "capacity can handle."
            )
            limit = "webcare / adverse-event capacity vs spend floors"
            return Diagnosis(msg, (), (), (limit,), None, None, not_computed=runs.notes())
        need = _budget(runs, given)
        alone_cost = (
            f": the spend floors and fixed costs alone cost {s.currency} "
            f"{float(floors.form.predicted(floors.final.x)['cost_total'].sum()):,.0f} "
            f"(media {s.currency} {floors.spend.sum():,.0f})"
            if floors is not None
            else ""
        )
        msg = f"Even without goals the plan cannot fit its budget{alone_cost}. " + (
            need.words or ("No budget meets the goals as well." if need.impossible else "")
        )
        return Diagnosis(
            msg.strip(),
            (),
            (),
            (_budget_words(s),),
            need.total,
            need.media,
            need.low,
            None,
            need.plan,
            not_computed=runs.notes(),
        )

    # All goals together with shortfalls allowed (elastic), then each goal alone.
    elastic = runs.solve(TOGETHER, replace(given, goals="elastic", objective="elastic"))
    together: dict[int, float | None] = dict.fromkeys(hard)
    best_effort = None
    if elastic is not None and elastic.status is Status.OPTIMAL:
        together = {i: elastic.form.goal_value(i, elastic.final.x) for i in hard}
        best_effort = _attempt(s, elastic)
    limits = limits_of(elastic)
    alone: dict[int, float | None] = {}
    for i in hard:
        g = s.goals[i]
        r = runs.solve(
            f"the best {g.metric.value} by {s.period_label} {s.goal_period(g)} reaches alone",
            replace(given, goals="none", objective=("goal", i)),
        )
        alone[i] = r.final.objective if r is not None and r.status is Status.OPTIMAL else None

    goals = []
    conflicts: list[str] = []
    alone_ok = []
    for i in hard:
        g = s.goals[i]
        by = s.goal_period(g)
        best = together[i]
        a_i = alone[i]
        if a_i is not None and best is not None and a_i < best:
            # The plan that comes closest together is a plan within the limits as well, so
            # the goal alone reaches at least its figure; a run settled conservatively (a
            # model too large to search in full) can report less (41 x 29: 47,231,306
            # alone against 47,234,953 together).
            alone[i] = best
        short = max(0.0, g.target - best) if best is not None else None
        goals.append(GoalDiagnosis(g.metric.value, g.target, by, alone[i], best, short))
        a = alone[i]
        if a is None:
            continue  # not computed: no claim either way
        if a < g.target * (1 - 1e-6):
            conflicts.append(
                f"{g.metric.value} >= {metrics.format_value(g.metric.value, g.target)} by "
                f"{s.period_label} {by} cannot be met even alone: the most a plan within the limits reaches is "
                f"{metrics.format_value(g.metric.value, a)}"
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

    need = _budget(runs, given)
    lead = (
        "The hard goals cannot all be met within the budget"
        if proven
        else "No plan that meets the hard goals within the budget was found in time (not "
        "proven impossible)"
    )
    if need.total is not None:
        msg = f"{lead}. " + need.words
    elif need.impossible:
        msg = "The hard goals cannot all be met, and no budget can meet them: other limits stop it."
        free = runs.solve(
            NO_BUDGET, replace(given, goals="elastic", objective="elastic", budget=False)
        )
        # The limits that stop every budget, not those that bind within this one.
        limits = (
            []
            if free is None
            else limits_of(free)
            or ["the tactics' reach and delivery saturate (pool x frequency cap per period)"]
        )
    else:
        msg = f"{lead}; the budget needed was not computed."
    limits += _capacity_needed(runs, limits, given)
    return Diagnosis(
        msg,
        tuple(goals),
        tuple(conflicts),
        tuple(limits),
        need.total,
        need.media,
        need.low,
        best_effort,
        need.plan,
        not_computed=runs.notes(),
    )


@dataclass(frozen=True)
class _Need:
    """The budget that meets every hard goal (``total``, ``media``; confirmed by ``plan``),
    a proven lower bound ``low``, whether no budget can (``impossible``, proven), and the
    words that say it."""

    total: float | None = None
    media: float | None = None
    low: float | None = None
    plan: Attempt | None = None
    impossible: bool = False
    words: str = ""


def _budget(runs: _Runs, given: Options) -> _Need:
    """What budget would meet every hard goal? (No budget caps, soft goals left out: their
    weights are in objective units, not money; every other limit stays.)

    Certified: refined until within the tolerance of the exact minimum (a chord-only
    answer once came out three times too high near saturated reach); when time stops the
    refinement, the figure still meets the goals (a plan at it is found) and the bound is
    still proven, and ``not_computed`` says the minimum was not reached.
    """
    s = runs.s
    need = runs.certified(BUDGET, replace(given, objective="cost", budget=False, goals="hard_only"))
    if need is None:
        return _Need()
    # The relaxation's least cost (its objective is minus the cost): proven.
    low = -need.bound if need.bound is not None and math.isfinite(need.bound) else None
    if need.status is not Status.OPTIMAL:
        if need.proven_infeasible:
            return _Need(impossible=True)
        # Refinement stopped before the inner model found a plan or the relaxation proved
        # there is none.
        why = (
            OUT_OF_TIME
            if need.stopped in ("time", "unsettled") or runs.late()
            else f"no plan was found and none is proven impossible (refinement: {need.stopped})"
        )
        runs.skip(BUDGET, _with_low(s, why, low))
        return _Need(low=low)
    total = float(need.form.predicted(need.final.x)["cost_total"].sum())
    media = float(need.spend.sum())
    confirmed = _confirmed(runs, total, media, given)
    if confirmed is None:
        runs.skipped[BUDGET] = _with_low(s, runs.skipped[BUDGET], low)
        return _Need(low=low)
    total, media, plan = confirmed
    low = min(total, low) if low is not None else None
    if need.stopped in ("time", "unsettled"):
        # The figure meets the goals, but the refinement that brings it within the
        # tolerance of the least one did not finish.
        between = f"at least {metrics.proven_floor(low, s.currency)}, " if low is not None else ""
        runs.skip(
            "the least budget needed",
            f"{OUT_OF_TIME}; it is {between}at most {s.currency} {total:,.0f}",
        )
    return _Need(total, media, low, plan, words=_need_words(s, total, media, low))


def _with_low(s: Scenario, why: str, low: float | None) -> str:
    """``why``, with the proven lower bound on the budget when there is one."""
    if low is None:
        return why
    return f"{why} (no plan meets the hard goals for less than {metrics.proven_floor(low, s.currency)}: proven)"


#: Capacity fields, what they count, and how closely the needed capacity is searched.
_CAPACITIES = (
    ("webcare.capacity_hours", "webcare_hours", "h"),
    ("adverse_events.capacity", "ae_cases", "AE cases"),
)


_CAPACITY_STEPS = 8


def _capacity_needed(runs: _Runs, limits: list[str], given: Options) -> list[str]:
    """For each capacity named among the limits: the least capacity per period that lets
    the hard goals be met (within the budget, or with none), by bisection on re-solves.
    A bisection the deadline cuts is left out: its figure would be too high."""
    s = runs.s
    out = []
    for field, load, unit in _CAPACITIES:
        now = s.value_at(field)
        if now is None or not any(field in line for line in limits):
            continue
        part = f"the {field} that would let the hard goals be met"
        label = s.period_label
        for budget in (True, False):
            unlimited = s.with_overrides({field: None})
            opts = replace(given, budget=budget, goals="hard_only", objective="cost")
            free = runs.solve(part, opts, unlimited)
            if free is None:
                break
            if free.status is not Status.OPTIMAL:
                continue
            top = float(free.form.predicted(free.final.x)[load].max())
            hi = _least_capacity(runs, part, field, opts, now, top)
            if hi is None:
                break
            where = "within the budget" if budget else "with a larger budget"
            out.append(
                f"{field}: about {math.ceil(hi * 10) / 10:,.1f} {unit} per {label} would let "
                f"the hard goals be met {where} (now {now:,.4g})"
            )
            break
    return out


def _least_capacity(
    runs: _Runs, part: str, field: str, opts: Options, lo: float, hi: float
) -> float | None:
    """Bisection on ``field`` between ``lo`` (too little) and ``hi`` (enough: a plan meets
    the hard goals there); None when a re-solve was not computed."""
    for _ in range(_CAPACITY_STEPS):
        mid = (lo + hi) / 2
        tried = runs.solve(part, opts, runs.s.with_overrides({field: mid}))
        if tried is None:
            return None
        lo, hi = (lo, mid) if tried.status is Status.OPTIMAL else (mid, hi)
    return hi


#: Re-plans at most that raise the estimated budget by the tolerance until it is feasible.
_CONFIRM_TRIES = 6


def _confirmed(
    runs: _Runs, total: float, media: float, given: Options
) -> tuple[float, float, Attempt] | None:
    """The budget, checked by re-planning the scenario with it (None: not confirmed, and
    noted as not computed).

    The estimate comes from a formulation without budget caps, whose chords differ from
    those of the capped one by up to the tolerance; raise it by that much until the
    scenario itself, with those caps, is feasible.
    """
    s, tolerance = runs.s, runs.tolerance
    total, media = math.ceil(total), math.ceil(media)
    for _ in range(_CONFIRM_TRIES):
        caps = (
            {"budget.total": max(total, s.budget.total or 0.0)}
            if s.budget.total is not None
            else {}
        )
        if s.budget.media is not None:
            caps["budget.media"] = max(media, s.budget.media)
        raised = s.with_overrides(caps)
        run = runs.certified(BUDGET, given, raised)
        if run is None:
            return None
        # A plan at the raised budget confirms it, refined to the end or not in time; one
        # whose comment figures are unsettled, only if the simulation accepts it.
        plan = _attempt(raised, run) if run.status is Status.OPTIMAL else None
        if plan is not None and (run.settled or (plan.outcome.feasible and plan.outcome.goals_met)):
            # Whole currency units, rounded up, so that typing the figure in works.
            return float(math.ceil(total)), float(math.ceil(media)), plan
        total, media = total * (1 + tolerance), media * (1 + tolerance)
    runs.skip(BUDGET, f"no plan was found at the estimated budget raised {_CONFIRM_TRIES} times")
    return None


def _attempt(s: Scenario, run: Solved) -> Attempt:
    """A solved run as a plan to show, simulated under ``s``."""
    return Attempt(run.spend, dict(run.community), simulate(s, run.spend, run.community))


def _need_words(
    s: Scenario, required: float | None, media: float | None, low: float | None = None
) -> str:
    """Which budget caps would have to rise, and to what, in words."""
    if required is None or media is None:
        return ""
    cur, b = s.currency, s.budget
    proof = (
        f" (no plan meets them for less than {metrics.proven_floor(low, cur)}: proven)"
        if low is not None
        else ""
    )
    parts = []
    if b.total is not None and required > b.total * (1 + 1e-9):
        parts.append(f"budget.total to {cur} {required:,.0f}")
    if b.media is not None and media > b.media * (1 + 1e-9):
        parts.append(f"budget.media to {cur} {media:,.0f}")
    if not parts:  # the caps bind only in combination
        return (
            f"A total budget of {cur} {required:,.0f} (media {cur} {media:,.0f}) would meet "
            f"them all{proof}."
        )
    return "Raising " + " and ".join(parts) + f" would meet them all{proof}."


def _budget_words(s: Scenario) -> str:
    caps = [
        f"budget.{k} = {v:,.0f}"
        for k, v in (("total", s.budget.total), ("media", s.budget.media))
        if v is not None
    ]
    return "the budget (" + ", ".join(caps) + ")"
