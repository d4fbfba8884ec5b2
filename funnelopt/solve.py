"""One optimisation run: formulation -> backend -> a checked solution.

Shared by the optimiser and the analyses (strategies, diagnosis).

- Communities in ``auto`` mode (up to MAX_AUTO of them) are decided by solving one LP per
  on/off combination and keeping the best, which is what the MILP would choose, but each
  LP solves faster than the MILP, gives duals, and the combinations are the strategy
  comparison. Other binaries (semicontinuous spend, fill order) make a MILP; its integer
  decisions are then fixed and the LP that remains is solved for a clean solution and
  its duals.
- Where a solution under-fills its spend segments (design 4.1) the affected cells are
  re-solved with the fill order enforced; when that takes too long, with tangent loads
  (an LP, conservative in any fill order) instead.
- Time is bounded: a deadline caps every run, MILPs too large to search in time are
  decided by rounding their relaxation, and the relaxation (the bound) relaxes its
  integers when out of time. Past the deadline the best plan so far comes back.
- Ties are broken by a second solve that picks the cheapest of the optimal plans (warm
  on backends that keep their state).
- :func:`certified` also solves the outer (tangent) relaxation, whose optimum bounds the
  exact model's, and adds breakpoints where the plan operates until the two agree within
  the asked gap: the plan's distance from the true optimum is then proven, not assumed.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
from scipy import sparse

from funnelopt import curves
from funnelopt.backends import BACKENDS, Backend, Feature, WarmBackend, warm
from funnelopt.errors import SolverError
from funnelopt.formulation import Formulation, Options, build
from funnelopt.lp import INF, Block, LinearProgram, RawSolution, Status
from funnelopt.outcome import FloatArray
from funnelopt.scenario import Scenario

#: Relative slack on the primary objective when picking the cheapest optimal plan.
TIE_SLACK = 1e-7
#: Largest extra cost per unit of spend that the tie-break's spreading weights add.
TIE_SPREAD = 1e-5
#: Up to this many auto communities are decided by one LP per on/off combination.
MAX_AUTO = 3
#: Fill-order rounds before giving up (each round only adds cells).
MAX_ROUNDS = 8
#: Segments per cell in the first, restricted solve of column generation.
CG_START = 8
#: A left-out segment enters when its reduced cost exceeds this (HiGHS's dual tolerance).
PRICE_TOL = 1e-7
#: Seconds a solver run gets at least, even past the deadline (an answer needs one run).
MIN_RUN = 1.0
#: Share of the time left that a plan's MILP may take before its relaxation is rounded.
MIP_SHARE = 0.5
#: MILPs with more integer variables are not searched: their relaxation is rounded.
MAX_INTEGERS = 2000
#: Share of the time that fill-order rounds may take (the plan then settles the order
#: with tangent loads, the relaxation stays valid but looser); ORDER_SECONDS of it when
#: there is no deadline.
ORDER_SHARE = 0.15
ORDER_SECONDS = 9.0
#: Re-drawn load tangents at most when the fill order is settled without binaries.
TANGENT_ROUNDS = 3
#: Rounds of adaptive refinement at most (each adds breakpoints where the plans operate).
MAX_REFINE = 8
#: A round that closes less than this share of the remaining gap has stalled.
STALL = 0.2
#: On a stall the curve tolerance is halved, down to tolerance / MAX_HALVINGS.
MAX_HALVINGS = 8
#: New breakpoints per curve and round at most (quantiles of the operating points).
POINTS_PER_ROUND = 12


@dataclass(frozen=True, eq=False)
class Solved:
    """A solved formulation.

    ``primary`` is the solution of the primary objective (an LP: integers fixed), with its
    duals where the backend gives them; ``final`` is the plan chosen after the tie-break;
    ``ranges`` the ranging of the budget rows at ``primary``; ``alternatives`` one run per
    community combination when those were solved separately.
    """

    form: Formulation
    primary: RawSolution
    final: RawSolution
    solve_seconds: float
    ranges: dict[str, tuple[float, float]] = field(default_factory=dict)
    alternatives: tuple[Solved, ...] = ()
    #: The outer relaxation's optimum (the LP's maximising sense): no plan of the exact
    #: model does better. None: not computed; -inf: the relaxation is infeasible too.
    bound: float | None = None
    #: Refinement rounds that added breakpoints.
    refinements: int = 0
    #: Why refinement stopped: ``met`` (the gap asked for), ``time`` (the deadline),
    #: ``rounds`` (MAX_REFINE), ``stalled`` (breakpoints stopped narrowing the gap),
    #: ``solver`` (a refined model the solver could not settle) or ``unsettled`` (a
    #: refined plan whose comment figures the fill-order safeguard left unsettled).
    stopped: str = "met"
    #: False when the fill-order safeguard ran out of time or rounds: the plan may claim
    #: fewer comments than its spend buys, so only a simulation can accept it.
    settled: bool = True
    #: True when a time limit cut a search short - a MILP stopped with its incumbent or
    #: decided by rounding, fill-order or tangent rounds stopped by the deadline, or such
    #: a run among the community choices: the plan is feasible, but the objective is not
    #: the model's best, and an infeasible status proves nothing.
    timed_out: bool = False

    @property
    def status(self) -> Status:
        """The primary solve's status."""
        return self.primary.status

    @property
    def proven_infeasible(self) -> bool:
        """The outer relaxation is infeasible too (:func:`certified` sets ``bound`` to
        -inf): no plan of the exact model meets the hard goals."""
        return self.bound == -INF

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
    ranging: bool = False,
    deadline: float | None = None,
    order_deadline: float | None = None,
    starts: Mapping[frozenset[tuple[str, bool]], Any] | None = None,
    built: Formulation | None = None,
) -> Solved:
    """Build and solve (see the module docstring); the best plan and, if any, its alternatives.

    ``deadline`` (a :func:`time.monotonic` instant) bounds each solver run by what is
    left of it (at least MIN_RUN seconds); ``order_deadline`` the fill-order rounds of an
    outer relaxation. ``starts`` gives, per community choice (:func:`choice_key`), a basis
    to start its LP from (see :func:`bases`); ``built``, the formulation of ``scenario``
    and ``options`` when the caller has it (see :meth:`Formulation.scored_by`).
    """
    opt = options or Options()
    limit = _Limit(time_limit, deadline, order_deadline)
    job = _Job(scenario, backend, tolerance, cheapest, limit, ranging, dict(starts or {}))
    fixed = dict(opt.community or {})
    auto = [c.id for c in scenario.communities if c.mode == "auto" and c.id not in fixed]
    if not auto or len(auto) > MAX_AUTO:
        return _solve_one(job, opt, built)
    runs = []
    # One build: the choices differ only in switches.
    base = built if built is not None else build(scenario, tolerance, opt)
    for on in itertools.product((True, False), repeat=len(auto)):
        choice = {**fixed, **dict(zip(auto, on, strict=True))}
        form = base.with_community(choice)
        runs.append(_solve_one(job, form.options, form))
    seconds = sum(r.solve_seconds for r in runs)
    # One choice cut short may hide the best: the comparison is cut short too.
    timed_out = any(r.timed_out for r in runs)
    ok = [r for r in runs if r.status is Status.OPTIMAL]
    if not ok:
        return replace(
            runs[0], solve_seconds=seconds, alternatives=tuple(runs), timed_out=timed_out
        )
    best = max(r.primary.objective for r in ok)
    near = [r for r in ok if r.primary.objective >= best - 1e-9 * max(1.0, abs(best))]
    # Equal objectives: the cheaper plan, as the cheapest-among-optimal rule asks.
    chosen = min(near, key=lambda r: float((r.form.metrics["cost_total"] @ r.final.x).sum()))
    return replace(chosen, solve_seconds=seconds, alternatives=tuple(runs), timed_out=timed_out)


@dataclass(frozen=True)
class _Limit:
    """Seconds per solver run: ``seconds`` at most, and what is left before ``deadline``
    (a :func:`time.monotonic` instant; at least MIN_RUN)."""

    seconds: float | None
    deadline: float | None
    #: When the relaxation's fill-order rounds must stop (its bound holds without them).
    order_deadline: float | None = None

    def __call__(self, deadline: float | None = None) -> float | None:
        end = self.deadline if deadline is None else deadline
        if end is None:
            return self.seconds
        left = max(MIN_RUN, end - time.monotonic())
        return left if self.seconds is None else min(self.seconds, left)

    def passed(self, deadline: float | None = None) -> bool:
        end = self.deadline if deadline is None else deadline
        return end is not None and time.monotonic() > end


@dataclass(frozen=True)
class _Job:
    """What every run of one :func:`solve` shares."""

    s: Scenario
    be: Backend
    tolerance: float
    cheapest: bool
    limit: _Limit
    ranging: bool
    starts: dict[frozenset[tuple[str, bool]], Any]


def choice_key(opt: Options) -> frozenset[tuple[str, bool]]:
    """The community choice a run was solved for, as a key."""
    return frozenset((opt.community or {}).items())


def bases(run: Solved) -> dict[frozenset[tuple[str, bool]], Any]:
    """Each community choice's optimal basis (LPs on warm backends): a start for the
    outer relaxation of the same round, whose LP has the same columns and rows (other
    coefficients); a start of another shape is ignored."""
    runs = run.alternatives or (run,)
    return {
        choice_key(r.form.options): r.primary.basis for r in runs if r.primary.basis is not None
    }


def _solve_one(job: _Job, opt: Options, first: Formulation | None = None) -> Solved:
    s, be, tolerance, limit = job.s, job.be, job.tolerance, job.limit
    seconds = 0.0
    last: Solved | None = None  # the previous round's answer, before the fill order widened
    repair = opt.bound == "inner"
    # Fill-order rounds stop at their own deadline. The relaxation is valid without them
    # (filling out of order only adds plans to it), just looser; the plan then settles
    # the order with tangent loads.
    order_deadline = limit.order_deadline or limit.deadline
    out_of_time = False  # the fill-order rounds stopped for time (see Solved.timed_out)
    for round_no in range(MAX_ROUNDS):
        if last is not None and limit.passed(order_deadline):
            out_of_time = True
            break  # no time for another fill-order round
        form = first if (first is not None and round_no == 0) else build(s, tolerance, opt)
        _searchable(form)
        kept = None if form.lp.is_mip else warm(be)
        generate = kept is not None
        # A relaxation's MILP (semicontinuous spend) has the fill-order share of the time
        # too: relaxing its integers keeps the bound valid.
        mip_bound = not repair and form.lp.is_mip
        seconds_left = limit(order_deadline) if last is not None or mip_bound else limit()
        if form.lp.is_mip and last is None and repair and seconds_left is not None:
            seconds_left = max(MIN_RUN, MIP_SHARE * seconds_left)  # time left to round
        too_big = form.lp.is_mip and int(form.lp.integer.sum()) > MAX_INTEGERS
        try:
            if too_big:
                # HiGHS overruns its time limit on the root LP of such MILPs (52 x 200
                # with 10,400 binaries: 60 s for a limit of 10 s, measured).
                raise SolverError("too many integer variables to search in time")
            start = job.starts.get(choice_key(opt)) if round_no == 0 else None
            sol = (
                _generated(form, kept, seconds_left, start)
                if kept is not None
                else _checked(be.solve(form.lp, seconds_left), be)
            )
        except SolverError:
            # A MILP that fails under a time limit ran out of it (or no better is known).
            cut = not too_big and seconds_left is not None
            if last is not None:
                out_of_time = cut
                break  # the fill-order MILP ran out of time: the last answer stands
            if not form.lp.is_mip:
                raise
            if repair and _undecided(form):
                decided = _decided(job, opt, form)
                return replace(decided, timed_out=decided.timed_out or cut)
            sol = RawSolution(Status.ERROR, np.zeros(form.lp.n_cols), float("nan"))
        lp = form.lp
        if mip_bound and sol.status in (Status.FEASIBLE, Status.ERROR):
            # An incumbent bounds nothing; the optimum with the integers relaxed does.
            lp = relaxed(lp)
            sol = _solve_lp(form, lp, be, limit())
        elif sol.status is Status.FEASIBLE and not form.lp.is_mip:
            raise SolverError(f"{be.name} ran out of time on an LP; try a longer time limit")
        sol = _checked(sol, be)  # (a warm re-solve that ran out of time)
        seconds += sol.solve_seconds
        if sol.status not in (Status.OPTIMAL, Status.FEASIBLE):
            return Solved(form, sol, sol, seconds)
        # A MILP's incumbent when its time ran out: feasible, not proven the best.
        incumbent = repair and sol.status is Status.FEASIBLE
        from_lp = not lp.is_mip  # the backend holds the LP whose optimum `sol` is
        if lp.is_mip:
            generate = warm(be) is not None  # the backend holds the LP below, generated
            lp = fix_integers(lp, sol.x)
            fixed = _solve_lp(form, lp, be, limit())
            seconds += fixed.solve_seconds
            # Fixing the decisions of an optimal MILP leaves a feasible LP; if round-off
            # says otherwise, the MILP's own solution stands.
            from_lp = fixed.status is Status.OPTIMAL
            sol = fixed if from_lp else sol
        held = warm(be)
        if repair and from_lp and held is not None and sol.status is Status.OPTIMAL:
            # The plan's basis: a start for the outer relaxation of the same shape (read
            # here, once, not after every solve: reading it costs ~0.2 ms).
            sol = replace(sol, basis=held.basis())
        ranging = job.ranging and Feature.RANGING in be.features
        ranges = _ranges(form, be, sol) if ranging else {}
        final = sol
        if job.cheapest and not _is_cost_objective(form):
            final = _cheapest(form, lp, sol, be, limit(), generate)
            seconds += final.solve_seconds if final is not sol else 0.0
        # Out of order where no floor forces spend: the same impressions, filled in order,
        # cost less and change nothing else, so the solution is repaired, not re-solved
        # (the relaxation is left as it is: it bounds, it is no plan).
        floored = _floored(s)
        same = final is sol
        sol, flagged = _settle(form, sol, floored, repair)
        if same:
            final = sol
        else:
            final, more = _settle(form, final, floored, repair)
            flagged |= more
        flagged -= frozenset(opt.load_tangents)
        if not flagged - opt.fill_order:
            return Solved(form, sol, final, seconds, ranges, timed_out=incumbent)
        last = Solved(form, sol, final, seconds, ranges, settled=False, timed_out=incumbent)
        opt = replace(opt, fill_order=_widen(s, opt.fill_order | flagged, round_no))
    assert last is not None
    if not repair:
        return last
    settled = _order_free(job, last.form.options, last)
    out = settled if settled.status is Status.OPTIMAL else last
    return replace(out, timed_out=out.timed_out or last.timed_out or out_of_time)


def _searchable(form: Formulation) -> None:
    """Raise a SolverError that says what to change when the binaries of non-concave
    curves alone are more than a MILP search can take (MAX_INTEGERS)."""
    lp = form.lp
    names = ("curve_order", "response_order")
    count = sum(lp.col_block(n).size for n in names if lp.has_col_block(n))
    if count > MAX_INTEGERS:
        raise SolverError(
            f"the S-shaped curves need {count:,} binaries ({form.scenario.periods} periods); "
            f"at most {MAX_INTEGERS:,} can be searched in time: plan fewer periods or fewer "
            "tactics with S-shaped curves at once, or a larger tolerance (fewer segments)"
        )


def _order_free(job: _Job, opt: Options, unsettled: Solved) -> Solved:
    """A settled plan without fill-order binaries (or the run that found none).

    The floored tactics' comments are bounded by the chord curve's tangent at the
    unsettled plan's spend (:attr:`Options.load_tangents`): one LP, conservative whatever
    order the segments fill in. Re-drawn at the new plan's spend, the tangents leave that
    plan feasible and tighten elsewhere, so each of up to TANGENT_ROUNDS rounds is at
    least as good as the last; the certificate measures what remains.
    """
    s = job.s
    # A tangent bounds the comments of a concave curve only: S-curves keep their order.
    floored = frozenset(j for j in _floored(s) if curves.is_concave(s.tactics[j].shape))
    best: Solved | None = None
    # First tangents where the unsettled plan's claimed impressions sit on the curve
    # (filled in order), not at its spend: money spent on a flat end would put them
    # where the curve is flat and charge every spend with the full comments.
    form = unsettled.form
    x = _in_order(form, unsettled.final, sorted(underfilled(form, unsettled.final.x))).x
    spend = form.spend(x)
    floor = np.zeros_like(spend)
    floor[form.cell_t, form.cell_j] = form.cell_floor
    spend = np.where(spend > 0, np.maximum(spend, floor), 0.0)
    seconds = unsettled.solve_seconds
    cut = False
    for _ in range(TANGENT_ROUNDS):
        tangents = {(t, j): float(spend[t, j]) for j in sorted(floored) for t in range(s.periods)}
        run = _solve_one(job, replace(opt, fill_order=frozenset(), load_tangents=tangents))
        seconds += run.solve_seconds
        if run.status is not Status.OPTIMAL:
            if best is None:
                return replace(run, solve_seconds=seconds)
            break
        gain = np.inf if best is None else run.primary.objective - best.primary.objective
        if gain > 0:
            best = run
        if gain <= 1e-9 * max(1.0, abs(run.primary.objective)):
            break  # the tangents have settled
        if job.limit.passed():
            cut = True  # time is up before they settled
            break
        spend = run.form.spend(run.final.x)
    assert best is not None
    return replace(best, solve_seconds=seconds, timed_out=best.timed_out or cut)


def _settle(
    form: Formulation, raw: RawSolution, floored: frozenset[int], repair: bool
) -> tuple[RawSolution, frozenset[tuple[int, int]]]:
    """``raw`` with its out-of-order cells of tactics without floors refilled in order
    (when ``repair``), and the out-of-order cells of floored tactics, which need the fill
    order enforced: there, spending on a curve's flat end would claim few impressions and
    comments for the money the floor forces."""
    cells = underfilled(form, raw.x)
    free = [c for c in cells if c[1] not in floored]
    if free and repair:
        raw = _in_order(form, raw, free)
    return raw, frozenset(c for c in cells if c[1] in floored)


def _in_order(form: Formulation, sol: RawSolution, cells: list[tuple[int, int]]) -> RawSolution:
    """``sol`` with the out-of-order ``cells`` (of tactics without floors) refilled in order.

    A cell that claims I impressions from segments filled out of order is refilled with
    the least spend whose in-order chords give I. Impressions, reach, followers, comments
    and every good are unchanged; spend and cost fall. Only floors (which this could
    break) need the fill-order binaries.
    """
    x = sol.x.copy()
    cell_of = np.full((form.scenario.periods, len(form.scenario.tactics)), -1, dtype=np.int64)
    cell_of[form.cell_t, form.cell_j] = np.arange(len(form.cell_t))
    # Segments are stored cell by cell: each cell's are one contiguous run.
    starts = np.searchsorted(form.seg_cell, np.arange(len(form.cell_t) + 1))
    for t, j in cells:
        c = cell_of[t, j]
        segs = np.arange(starts[c], starts[c + 1])
        cols = form.seg_col[segs]
        gain = form.seg_slope[segs] * form.seg_width[segs]
        claimed = float(form.seg_slope[segs] @ x[cols])
        before = np.concatenate([[0.0], np.cumsum(gain)[:-1]])
        share = np.clip((claimed - before) / np.where(gain > 0, gain, 1.0), 0.0, 1.0)
        x[cols] = np.where(gain > 0, share, 0.0) * form.seg_width[segs]
    return replace(sol, x=x)


def _floored(s: Scenario) -> frozenset[int]:
    """Tactics whose out-of-order cells need the fill order enforced rather than refilled:
    those whose spend a floor can force (per period, per activity, in total), and those
    with their own curve, whose comments follow another function than their goods (so
    refilling in order could raise the comments a capacity allowed)."""
    if s.budget.period_min > 0:
        return frozenset(range(len(s.tactics)))
    return frozenset(
        j
        for j, t in enumerate(s.tactics)
        if t.min_spend > 0 or t.min_spend_if_active > 0 or t.min_total > 0 or not t.exponential
    )


def _widen(
    s: Scenario, cells: frozenset[tuple[int, int]], round_no: int
) -> frozenset[tuple[int, int]]:
    """Cells to enforce the fill order on: the flagged ones first; if that does not settle,
    every period of the tactics concerned; finally every cell (always settles)."""
    if round_no < 2:
        return cells
    tactics = {j for _, j in cells} if round_no < 4 else set(range(len(s.tactics)))
    return frozenset((t, j) for j in tactics for t in range(s.periods))


def _generated(
    form: Formulation, be: WarmBackend, time_limit: float | None, start: Any = None
) -> RawSolution:
    """Solve the LP by column generation over spend segments (backends that re-solve warm).

    Most cells use only their first few segments, so the LP is first solved with the rest
    fixed at zero; segments whose reduced cost says they would improve the objective are
    then released and the LP re-solved warm, until none would. The result is optimal for
    the full LP (every left-out column prices out), at a fraction of the cost on large
    models (52 weeks x 200 tactics: 1.1 s -> 0.4 s per LP, measured).
    """
    lp = form.lp
    # Segments with a lower bound (below a floor) stay in: they are filled anyway.
    left_out = form.seg_col[(form.seg_rank >= CG_START) & (form.lp.col_lo[form.seg_col] <= 0)]
    if not len(left_out):
        return _checked(be.solve(lp, time_limit, start=start), be)
    hi = lp.col_hi.copy()
    hi[left_out] = 0.0
    sol = _checked(be.solve(replace(lp, col_hi=hi), time_limit, start=start), be)
    resolve = be.resolve
    if sol.status is not Status.OPTIMAL:
        # The restriction may be what is infeasible: release everything and decide on the full LP.
        bounds = (left_out, lp.col_lo[left_out], lp.col_hi[left_out])
        return _checked(resolve(col_bounds=bounds, time_limit=time_limit), be)
    return _price(form, resolve, sol, time_limit, lp.c)


def _price(
    form: Formulation, resolve: Any, sol: RawSolution, time_limit: float | None, cost: FloatArray
) -> RawSolution:
    """Release left-out segments with an improving reduced cost (for the objective ``cost``)
    and re-solve until none has."""
    lp = form.lp
    seconds = sol.solve_seconds
    released = np.zeros(lp.n_cols, dtype=bool)
    segs = form.seg_col
    # Reduced costs are in objective units per currency unit: judge them as the solver
    # does, after scaling the objective.
    tol = PRICE_TOL / lp.objective_scale(cost)
    while sol.status is Status.OPTIMAL and sol.col_dual is not None:
        held = segs[(lp.col_hi[segs] > 0) & ~released[segs] & (sol.x[segs] <= 0)]
        enter = held[sol.col_dual[held] > tol]
        if not len(enter):
            break
        released[enter] = True
        sol = resolve(col_bounds=(enter, lp.col_lo[enter], lp.col_hi[enter]), time_limit=time_limit)
        seconds += sol.solve_seconds
    return replace(sol, solve_seconds=seconds)


def _decided(job: _Job, opt: Options, form: Formulation) -> Solved:
    """The plan with every semicontinuous cell decided by rounding the relaxation (for a
    MILP the solver cannot search in time): active where the relaxation already spends
    the floor, then where its switch is at least one half, then none. Feasible, not
    proven optimal: the certificate says how far the plan may be from the best."""
    s = job.s
    relax = _solve_lp(form, relaxed(form.lp), job.be, job.limit())
    if relax.status is not Status.OPTIMAL:
        return Solved(form, relax, relax, relax.solve_seconds)
    cells = _switch_cells(form)
    switch = relax.x[form.lp.col_block("active").start :][: len(cells)]
    spend = form.spend(relax.x)
    floor = [s.tactics[j].min_spend_if_active for _, j in cells]
    tries = (
        [bool(spend[c] >= f * (1 - 1e-9)) for c, f in zip(cells, floor, strict=True)],
        [bool(v >= 0.5) for v in switch],
        [False] * len(cells),
    )
    run: Solved | None = None
    seen: list[list[bool]] = []
    for decision in tries:
        if decision in seen:
            continue
        seen.append(decision)
        active = {**opt.active, **dict(zip(cells, decision, strict=True))}
        run = _solve_one(job, replace(opt, active=active))
        if run.status is Status.OPTIMAL:
            break
    assert run is not None
    return run


def _switch_cells(form: Formulation) -> list[tuple[int, int]]:
    """(period, tactic) of each semicontinuous switch column, in column order."""
    tactics = form.scenario.tactics
    return [
        (int(t), int(j))
        for t, j in zip(form.cell_t, form.cell_j, strict=True)
        if tactics[j].min_spend_if_active > 0
    ]


def _undecided(form: Formulation) -> bool:
    """Whether some semicontinuous switch is still a binary."""
    if not form.lp.has_col_block("active"):
        return False
    b = form.lp.col_block("active")
    return bool(form.lp.integer[b.start : b.start + b.size].any())


def _solve_lp(
    form: Formulation, lp: LinearProgram, be: Backend, time_limit: float | None
) -> RawSolution:
    """``lp`` (a variant of ``form.lp`` without integers), by column generation where the
    backend re-solves warm (52 x 200 relaxed: 5.8 s instead of 29 s, measured)."""
    kept = warm(be)
    if kept is None:
        return _checked(be.solve(lp, time_limit), be)
    return _generated(replace(form, lp=lp), kept, time_limit)


def relaxed(lp: LinearProgram) -> LinearProgram:
    """``lp`` with its integer variables continuous (its optimum bounds the MILP's)."""
    return replace(lp, integer=np.zeros_like(lp.integer))


def fix_integers(lp: LinearProgram, x: FloatArray) -> LinearProgram:
    """The LP left when the integer variables are fixed at their (rounded) values in ``x``."""
    rounded = np.round(x)
    return replace(
        lp,
        col_lo=np.where(lp.integer, rounded, lp.col_lo),
        col_hi=np.where(lp.integer, rounded, lp.col_hi),
        integer=np.zeros_like(lp.integer),
    )


def underfilled(form: Formulation, x: FloatArray) -> frozenset[tuple[int, int]]:
    """Cells (period, tactic) whose solution claims fewer impressions than the spend buys."""
    spend = form.spend(x)
    claimed = form.claimed_impressions(x)
    chord = form.chord_impressions(spend)
    bad = (chord - claimed) > 1e-6 * np.maximum(1.0, chord)
    return frozenset((int(t), int(j)) for t, j in zip(*np.nonzero(bad), strict=True))


def _ranges(form: Formulation, be: Backend, sol: RawSolution) -> dict[str, tuple[float, float]]:
    """Ranging of the binding budget rows (only meaningful where the cap binds)."""
    lp = form.lp
    out = {}
    for name in ("budget:total", "budget:media"):
        if not lp.has_row_block(name) or sol.row_dual is None:
            continue
        row = lp.row_block(name).start
        if abs(sol.row_dual[row]) > 1e-12:
            r = be.bound_range(row)
            if r is not None:
                out[name.split(":")[1]] = r
    return out


def _checked(sol: RawSolution, backend: Backend) -> RawSolution:
    if sol.status in (Status.OPTIMAL, Status.INFEASIBLE, Status.FEASIBLE):
        return sol
    if sol.status is Status.UNBOUNDED:
        raise SolverError(
            f"{backend.name} reports the problem unbounded ({sol.message}); every variable of the "
            f"formulation is bounded, so this is a solver fault: try {_other(backend)} or a "
            "larger tolerance"
        )
    raise SolverError(
        f"{backend.name} failed: {sol.message or 'no status'}; try {_other(backend)}, a larger "
        "tolerance, or a longer time limit"
    )


def _other(backend: Backend) -> str:
    """The other backend, as the command line and Python name it."""
    other = next(b for b in BACKENDS if b != backend.name)
    return f"the other backend (--backend {other} on the command line, backend='{other}' in Python)"


def _is_cost_objective(form: Formulation) -> bool:
    spec = form.options.objective if form.options.objective is not None else form.scenario.objective
    return spec == "cost" or getattr(spec, "kind", None) == "minimize"


def _cheapest(
    form: Formulation,
    lp: LinearProgram,
    primary: RawSolution,
    backend: Backend,
    time_limit: float | None,
    generated: bool = False,
) -> RawSolution:
    """Among plans within TIE_SLACK of the optimum, the one with the lowest total cost.

    ``generated``: the loaded model holds left-out segments (column generation), which
    are priced against the tie-break objective too.
    """
    floor = primary.objective - TIE_SLACK * max(1.0, abs(primary.objective))
    objective = tie_break_objective(form)
    kept = warm(backend)
    if kept is not None:
        # The backend still holds `lp` from the primary solve: re-solve from its basis.
        kept.add_row(sparse.csr_matrix(lp.c), floor, INF)
        sol = kept.resolve(cost=objective, time_limit=time_limit)
        if generated:
            sol = _price(form, kept.resolve, sol, time_limit, objective)
    else:
        tie = replace(
            lp,
            c=objective,
            A=sparse.vstack([lp.A, sparse.csr_matrix(lp.c)], format="csr"),
            row_lo=np.append(lp.row_lo, floor),
            row_hi=np.append(lp.row_hi, INF),
            row_blocks=[
                *lp.row_blocks,
                Block("objective_floor", lp.n_rows, 1, lambda _i: "objective>=optimum"),
            ],
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


def relative_gap(bound: float, value: float) -> float:
    """How far ``value`` is below ``bound`` (both maximised), relative to the larger size.

    Sizes below 1e-6 (in the objective's units) count as 1e-6: a bound of 2e-12 over a
    plan of 0 is no gap.
    """
    return max(0.0, bound - value) / max(abs(bound), abs(value), 1e-6)


def certified(
    scenario: Scenario,
    backend: Backend,
    tolerance: float,
    options: Options | None = None,
    *,
    gap: float | None = None,
    cheapest: bool = True,
    time_limit: float | None = None,
    ranging: bool = False,
    deadline: float | None = None,
) -> Solved:
    """:func:`solve` with a certificate: the outer relaxation's optimum as ``bound``.

    Breakpoints are added where the inner (chord) and outer (tangent) plans operate -
    their spend per tactic and period, their cumulative impressions at reach periods -
    until the inner optimum is within ``gap`` (default ``tolerance``) of the bound, no
    new breakpoint helps, MAX_REFINE rounds pass, or ``deadline`` (a
    :func:`time.monotonic` instant) passes. When a round stalls, the curve tolerance is
    halved as well (down to ``tolerance / MAX_HALVINGS``). An inner model that is infeasible while the
    relaxation is feasible is refined the same way; a relaxation that is infeasible
    proves the goals cannot be met (``bound = -inf``).
    """
    opt = options or Options()
    target = tolerance if gap is None else gap
    points: dict[str, tuple[float, ...]] = dict(opt.breakpoints)
    seconds = 0.0
    best: Solved | None = None  # the last inner run that solved, with its bound
    last_gap = INF
    eps = tolerance  # halved when breakpoints stall (the comment factor kappa needs it)
    start = time.monotonic()
    order_deadline = start + (
        ORDER_SHARE * (deadline - start) if deadline is not None else ORDER_SECONDS
    )

    stopped = "rounds"
    late = _Limit(None, deadline)
    for round_no in range(MAX_REFINE + 1):
        try:
            run = solve(
                scenario,
                backend,
                eps,
                replace(opt, breakpoints=points),
                cheapest=cheapest,
                time_limit=time_limit,
                ranging=ranging,
                deadline=deadline,
                order_deadline=order_deadline,
            )
        except SolverError:
            if best is None:
                raise
            stopped = "time" if late.passed() else "solver"
            break  # a refined model the solver cannot settle: the last answer stands
        seconds += run.solve_seconds
        try:
            outer = solve(
                scenario,
                backend,
                eps,
                replace(opt, breakpoints=points, bound="outer"),
                cheapest=False,
                time_limit=time_limit,
                deadline=deadline,
                order_deadline=order_deadline,
                starts=bases(run),
            )
        except SolverError:
            outer = None
        if outer is None or outer.status not in (Status.OPTIMAL, Status.INFEASIBLE):
            # No bound this round: the last one stands (it bounds the refined plan too).
            stopped = "time" if late.passed() else "solver"
            if _replaces(run, best):
                bound = best.bound if best is not None else None
                best = replace(run, bound=bound, refinements=round_no)
            break
        seconds += outer.solve_seconds
        if outer.status is Status.INFEASIBLE:
            return replace(run, bound=-INF, refinements=round_no, solve_seconds=seconds)
        bound = outer.primary.objective
        run = replace(run, bound=bound, refinements=round_no)
        if _replaces(run, best):
            best = run
        elif best is not None and best.bound is not None:
            # Every round's bound bounds the exact optimum: the kept plan takes the lowest.
            best = replace(best, bound=min(best.bound, bound))
        now_gap = (
            relative_gap(bound, run.primary.objective) if run.status is Status.OPTIMAL else INF
        )
        # Stalled: breakpoints where the plans operate no longer close the gap.
        stalled = now_gap > (1 - STALL) * last_gap
        if now_gap <= target:
            stopped = "met"
            break
        if late.passed() or round_no == MAX_REFINE:
            stopped = "time" if late.passed() else "rounds"
            break
        if stalled:
            # What breakpoints cannot close: comments are bounded by one factor per model,
            # 1/(1-eps) inner vs 1-excess outer. A finer tolerance narrows both.
            if eps <= tolerance / MAX_HALVINGS:
                stopped = "stalled"
                break
            eps /= 2
        last_gap = now_gap
        sources = [outer, run] if run.status is Status.OPTIMAL else [outer]
        if not _add_points(points, [_operating_points(r) for r in sources]) and not stalled:
            stopped = "stalled"
            break
    assert best is not None
    bound = best.bound if best.status is Status.OPTIMAL else None
    if (
        stopped == "met"
        and bound is not None
        and relative_gap(bound, best.primary.objective) > target
    ):
        stopped = "unsettled"  # the gap was met by a plan the safeguard left unsettled
    return replace(best, solve_seconds=seconds, stopped=stopped)


def _replaces(run: Solved, best: Solved | None) -> bool:
    """Whether a refinement round's ``run`` replaces the ``best`` so far: an optimal run
    does, except that an unsettled one (its comment figures left to the simulation by
    the fill-order safeguard's time) never replaces a settled plan."""
    if best is None:
        return True
    if run.status is not Status.OPTIMAL:
        return False
    return run.settled or not best.settled or best.status is not Status.OPTIMAL


def _operating_points(run: Solved) -> dict[str, list[float]]:
    """Where a run's plan sits on each curve, in the curve's normalised units."""
    form = run.form
    s = form.scenario
    out: dict[str, list[float]] = {}
    x = run.primary.x
    spend = form.spend(x)
    adstocked = np.bincount(
        form.resp_seg_cell, weights=x[form.resp_col], minlength=len(form.resp_cell_t)
    )
    for j, t in enumerate(s.tactics):
        if t.response:  # where the curve is read: adstocked spend
            a = adstocked[form.resp_cell_j == j]
            key, v = f"response[{t.id}]", a[a > 0] / t.saturation_spend
        else:
            key, v = f"delivery[{t.id}]", spend[:, j][spend[:, j] > 0] / t.saturation_spend
        if len(v):
            out[key] = list(v)
    if form.reach_col:
        periods = sorted(form.reach_col)
        out["reach"] = [float(x[form.cum_col[t - 1]]) / s.population for t in periods]
        for a, (pool, _) in s.audiences().items():
            cols = form.cum_audience_col[a]
            out[f"reach[{a}]"] = [float(x[cols[t - 1]]) / pool for t in periods]
    return out


def _add_points(points: dict[str, tuple[float, ...]], found: list[dict[str, list[float]]]) -> bool:
    """Merge operating points into ``points`` (a few per curve); True when any is new."""
    added = False
    keys = {k for f in found for k in f}
    for key in sorted(keys):
        values = np.array([v for f in found for v in f.get(key, ()) if v > 0])
        if not len(values):
            continue
        values = np.unique(values)
        if len(values) > POINTS_PER_ROUND:
            values = np.quantile(values, np.linspace(0, 1, POINTS_PER_ROUND))
        old = np.array(points.get(key, ()), dtype=float)
        new = [
            float(v)
            for v in values
            if not len(old) or np.min(np.abs(old - v)) > 1e-9 * max(1.0, abs(v))
        ]
        if new:
            points[key] = tuple(sorted([*old.tolist(), *new]))
            added = True
    return added
