"""Scenario -> a labelled sparse LP/MILP (design section 4).

Every concave curve is replaced by conservative chords (:mod:`funnelopt.pwl`), so the
optimiser's figures for goods (impressions, reach, visits, followers, conversions) are at
most what the simulator gives for the same spend, and its figures for comment-driven
costs (webcare, adverse events) are at least the simulated ones. The matrices are built
with numpy index arithmetic, not a Python loop per variable.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from funnelopt import curves, pwl
from funnelopt.compiled import model_data
from funnelopt.errors import Problem, ScenarioError
from funnelopt.lp import INF, Block, LinearProgram
from funnelopt.metrics import STOCKS
from funnelopt.outcome import FloatArray
from funnelopt.scenario import Community, Metric, Objective, Scenario, Tactic
from funnelopt.simulator import history_impressions, history_spend
from funnelopt.terms import Matrices, Terms, concat

IntArray = NDArray[np.int64]

#: Spend this close below a floor (relative) is read as meeting it (solver tolerance).
FLOOR_SNAP = 1e-4

#: Spend per period, in saturation spends, beyond which a tactic's curve counts as flat.
SATURATED = 40.0
#: A tactic's own curve counts as flat where it is this close to its level (relative);
#: at most CURVE_SATURATED saturation spends (a Hill curve with a small slope is never).
CURVE_FLAT = 1e-9
CURVE_SATURATED = 1e6


def saturated(t: Tactic) -> float:
    """Spend per period past which more buys (almost) nothing: 40 sigma for the
    exponential curve (exp(-40)), the last point of a table, where any other curve is
    within CURVE_FLAT of its level."""
    if t.exponential:
        return SATURATED * t.saturation_spend
    x = min(curves.get(t.shape).flat_beyond(CURVE_FLAT), CURVE_SATURATED)
    # A response tactic's curve reads adstocked spend: this period's spend counts w[0].
    return x * t.saturation_spend / (float(t.adstock_weights[0]) if t.response else 1.0)


ObjectiveSpec = Objective | Literal["elastic", "cost"] | tuple[Literal["goal"], int]


@dataclass(frozen=True)
class Options:
    """What to build: the scenario's own problem, or a variant used by the analyses.

    ``community`` fixes accounts on/off; ``fill_order`` lists (period, tactic) cells whose
    spend segments must fill in order (binaries); ``budget`` keeps the budget caps;
    ``goals`` is ``hard`` (as given), ``elastic`` (every goal soft) or ``none``;
    ``objective`` overrides the scenario's. ``bound`` is ``inner`` (chords: every figure
    conservative, the plan's model) or ``outer`` (tangents: every figure optimistic, a
    relaxation whose optimum bounds the exact model's); ``breakpoints`` adds normalised
    breakpoints per curve (``delivery[<tactic>]``, ``reach``, ``reach[<audience>]``).
    """

    community: Mapping[str, bool] | None = None
    fill_order: frozenset[tuple[int, int]] = frozenset()
    budget: bool = True
    goals: Literal["hard", "hard_only", "elastic", "none"] = "hard"
    objective: ObjectiveSpec | None = None
    #: Size the spend segments for this budget instead of the scenario's (budget sweeps
    #: formulate once at the largest budget and change only the budget rows).
    segment_budget: float | None = None
    bound: Literal["inner", "outer"] = "inner"
    breakpoints: Mapping[str, tuple[float, ...]] = field(default_factory=dict)
    #: Cells (period, tactic) of semicontinuous tactics whose activity is decided (True:
    #: active, the floor holds; False: no spend) instead of left to a binary.
    active: Mapping[tuple[int, int], bool] = field(default_factory=dict)
    #: Cells (period, tactic) whose paid comments follow the tangent of the chord curve
    #: at the given spend instead of the claimed impressions: an upper bound on the
    #: comments whatever order the segments fill in, so the cells need no fill-order
    #: binaries (exact at that spend, conservative elsewhere).
    load_tangents: Mapping[tuple[int, int], float] = field(default_factory=dict)


@dataclass(eq=False)
class Formulation:
    """The LP together with the maps from its columns back to the user's terms."""

    scenario: Scenario
    tolerance: float
    options: Options
    lp: LinearProgram
    cell_t: IntArray
    cell_j: IntArray
    cell_upper: FloatArray
    seg_cell: IntArray
    seg_col: IntArray
    seg_width: FloatArray
    seg_slope: FloatArray
    y_col: dict[str, int]
    f_col: dict[str, IntArray]
    reach_col: dict[int, int]
    audience_reach_col: dict[str, dict[int, int]]
    shortfall_col: dict[int, int]
    metrics: Matrices[str]
    goal_rows: Matrices[int] = field(default_factory=lambda: Matrices({}))
    #: Cumulative impressions per reach period: of everyone, and per audience.
    cum_col: IntArray = field(default_factory=lambda: np.zeros(0, np.int64))
    cum_audience_col: dict[str, IntArray] = field(default_factory=dict)
    #: Cells (period, tactic) of the scenario's history: the spend that happened, which
    #: their segments are filled up to in order.
    fixed_spend: Mapping[tuple[int, int], float] = field(default_factory=dict)
    #: Response tactics: per cell (period, tactic) of adstocked spend, its curve's
    #: segments (cell and column of each).
    resp_cell_t: IntArray = field(default_factory=lambda: np.zeros(0, np.int64))
    resp_cell_j: IntArray = field(default_factory=lambda: np.zeros(0, np.int64))
    resp_seg_cell: IntArray = field(default_factory=lambda: np.zeros(0, np.int64))
    resp_col: IntArray = field(default_factory=lambda: np.zeros(0, np.int64))

    # -- from a solution back to the user's terms ------------------------------------

    def spend(self, x: FloatArray) -> FloatArray:
        """The spend plan (periods x tactics) in a solution vector."""
        s = self.scenario
        out = np.zeros((s.periods, len(s.tactics)))
        per_cell = np.bincount(
            self.seg_cell, weights=np.clip(x[self.seg_col], 0, None), minlength=len(self.cell_t)
        )
        # Round-off below a thousandth of a cent is not spend where spending reads as being
        # on (a semicontinuous tactic, follower ads of a community). Elsewhere it stays: a
        # tiny real spend (a capacity of 1e-9 hours allows one) must simulate as predicted.
        per_cell = np.where(
            (per_cell < 1e-5) & self._switched, 0.0, np.minimum(per_cell, self.cell_upper)
        )
        # A solver meets a floor to its own tolerance (CBC on a rescaled model: up to 5e-5 of it
        # short); lift such spend onto the floor so the plan meets it exactly.
        floor = self.cell_floor
        lift = (per_cell > 0) & (per_cell < floor) & (per_cell >= floor * (1 - FLOOR_SNAP))
        per_cell = np.where(lift, floor, per_cell)
        out[self.cell_t, self.cell_j] = per_cell
        # Spend that happened is what happened, not its segments' sum (round-off).
        for (t, j), v in self.fixed_spend.items():
            out[t, j] = v
        return out

    @cached_property
    def _switched(self) -> NDArray[np.bool_]:
        """Per cell: spend there switches something on (semicontinuous or follower ads)."""
        per_tactic = np.array(
            [t.min_spend_if_active > 0 or t.account is not None for t in self.scenario.tactics]
        )
        return np.asarray(per_tactic[self.cell_j], dtype=bool)

    @cached_property
    def cell_floor(self) -> FloatArray:
        """Per cell, the larger of the tactic's min_spend and min_spend_if_active."""
        per_tactic = np.array(
            [max(t.min_spend, t.min_spend_if_active) for t in self.scenario.tactics]
        )
        return np.asarray(per_tactic[self.cell_j], dtype=float)

    def community(self, x: FloatArray) -> dict[str, bool]:
        """The community switch in a solution vector."""
        return {cid: bool(x[col] > 0.5) for cid, col in self.y_col.items()}

    def predicted(self, x: FloatArray) -> dict[str, FloatArray]:
        """The optimiser's own per-period figures for a solution vector."""
        out = {name: np.asarray(m @ x, dtype=float) for name, m in self.metrics.items()}
        return out

    def goal_value(self, index: int, x: FloatArray) -> float:
        """The optimiser's figure for goal ``index`` of the scenario at its period."""
        return float((self.goal_rows[index] @ x)[0])

    def reach_ceiling(self, x: FloatArray) -> dict[int, float]:
        """The most reach the chords allow at each reach period for this solution.

        The reach variables only need to clear the goals, so they may sit below what the
        impressions buy; this is the optimiser's real claim: the minimum over the chords of
        the population curve and the sum over audiences of theirs.
        """
        lp = self.lp
        periods = sorted(self.reach_col)
        ax = lp.A @ x

        def ceiling(block_name: str, reach_cols: list[int]) -> FloatArray:
            b = lp.row_block(block_name)
            rows = np.arange(b.start, b.start + b.size)
            bound = lp.row_hi[rows] - ax[rows] + np.repeat(x[reach_cols], b.size // len(periods))
            return np.asarray(bound.reshape(len(periods), -1).min(axis=1), dtype=float)

        total = ceiling("reach:chords", [self.reach_col[t] for t in periods])
        per_audience = np.zeros(len(periods))
        for a, cols in self.audience_reach_col.items():
            per_audience += ceiling(f"reach[{a}]:chords", [cols[t] for t in periods])
        return {t: float(v) for t, v in zip(periods, np.minimum(total, per_audience), strict=True)}

    @cached_property
    def seg_rank(self) -> IntArray:
        """Position of each spend segment within its cell (0 = the steepest)."""
        n = len(self.seg_cell)
        first = np.r_[True, self.seg_cell[1:] != self.seg_cell[:-1]]
        start = np.maximum.accumulate(np.where(first, np.arange(n), 0))
        return np.arange(n) - start

    def with_community(self, choice: Mapping[str, bool]) -> Formulation:
        """The same formulation with communities fixed on/off (only their switches change)."""
        lp = self.lp
        lo, hi, integer = lp.col_lo.copy(), lp.col_hi.copy(), lp.integer.copy()
        for cid, on in choice.items():
            col = self.y_col[cid]
            lo[col] = hi[col] = 1.0 if on else 0.0
            integer[col] = False
        new_lp = replace(lp, col_lo=lo, col_hi=hi, integer=integer)
        merged = {**(self.options.community or {}), **choice}
        return replace(self, lp=new_lp, options=replace(self.options, community=merged))

    def scored_by(self, s: Scenario) -> Formulation:
        """The same formulation with ``s``'s objective: ``s`` differs from this one's
        scenario only in the objective's weights and values and in soft goals' weights
        (what moves no row or bound), so no rebuild is needed."""
        c = _objective_vector(
            s,
            self.options,
            self.metrics.terms,
            self.goal_rows.terms,
            self.shortfall_col,
            self.lp.n_cols,
        )
        return replace(self, scenario=s, lp=replace(self.lp, c=c))

    def chord_impressions(self, spend: FloatArray) -> FloatArray:
        """Impressions the chords give for a spend plan when segments fill in order."""
        s = self.scenario
        out = np.zeros_like(spend)
        for j, t in enumerate(s.tactics):
            cols = self.cell_j == j
            if not cols.any() or t.response:
                continue  # a response tactic's spend buys no impressions
            upper = float(self.cell_upper[cols][0])
            x_max = upper / t.saturation_spend
            norm = np.clip(spend[self.cell_t[cols], j], 0, upper) / t.saturation_spend
            extra = _delivery_points(t, self.options, j, self.fixed_spend)
            out[self.cell_t[cols], j] = t.saturation_impressions * pwl.chord_value(
                norm, t.shape, self.tolerance, x_max, extra
            )
        # Cells of the history deliver the impressions counted there, however spent.
        counted = history_impressions(s)
        return np.where(np.isnan(counted), out, counted)

    def claimed_impressions(self, x: FloatArray) -> FloatArray:
        """Impressions the solution claims per cell (periods x tactics) for its goods."""
        s = self.scenario
        out = np.zeros((s.periods, len(s.tactics)))
        per_cell = np.bincount(
            self.seg_cell, weights=self.seg_slope * x[self.seg_col], minlength=len(self.cell_t)
        )
        out[self.cell_t, self.cell_j] = per_cell
        return out


class _Rows:
    """Accumulates constraint rows as triplets, in labelled blocks."""

    def __init__(self) -> None:
        self.r: list[IntArray] = []
        self.c: list[IntArray] = []
        self.v: list[FloatArray] = []
        self.lo: list[FloatArray] = []
        self.hi: list[FloatArray] = []
        self.blocks: list[Block] = []
        self.n = 0

    def add(
        self,
        name: str,
        matrix: Terms,
        lo: FloatArray | float,
        hi: FloatArray | float,
        label: Callable[[int], str],
        kind: str = "",
        subject: str = "",
        periods: Sequence[int] | IntArray = (),
    ) -> None:
        """Add a block of rows; ``kind``, ``subject``, ``periods`` as in :class:`Block`."""
        k = matrix.shape[0]
        if k == 0:
            return
        self.r.append(matrix.r + self.n)
        self.c.append(matrix.c)
        self.v.append(matrix.v)
        self.lo.append(np.broadcast_to(np.asarray(lo, dtype=float), (k,)).copy())
        self.hi.append(np.broadcast_to(np.asarray(hi, dtype=float), (k,)).copy())
        per = tuple(int(p) for p in periods)
        self.blocks.append(Block(name, self.n, k, label, kind, subject, per))
        self.n += k


class _Cols:
    """Allocates labelled blocks of columns."""

    def __init__(self) -> None:
        self.lo: list[FloatArray] = []
        self.hi: list[FloatArray] = []
        self.integer: list[NDArray[np.bool_]] = []
        self.blocks: list[Block] = []
        self.n = 0

    def add(
        self,
        name: str,
        size: int,
        lo: FloatArray | float,
        hi: FloatArray | float,
        label: Callable[[int], str],
        integer: bool = False,
    ) -> IntArray:
        idx = np.arange(self.n, self.n + size, dtype=np.int64)
        if size:
            self.lo.append(np.broadcast_to(np.asarray(lo, dtype=float), (size,)).copy())
            self.hi.append(np.broadcast_to(np.asarray(hi, dtype=float), (size,)).copy())
            self.integer.append(np.full(size, integer))
            self.blocks.append(Block(name, self.n, size, label))
            self.n += size
        return idx


def build(
    scenario: Scenario, tolerance: float = 0.005, options: Options | None = None
) -> Formulation:
    """Compile a scenario into a labelled LP/MILP (see :class:`Options` for variants)."""
    return _Builder(scenario, float(tolerance), options or Options()).formulation()


class _Builder:
    """One build, block by block: spend segments, communities, reach, goals' shortfalls,
    the on/off switches, the metric maps, then the rows of each (community dynamics,
    limits and capacities, reach, switches, goals) and the objective.

    The order of the blocks is the order of the LP's columns and rows.
    """

    def __init__(self, s: Scenario, eps: float, opt: Options) -> None:
        self.s, self.eps, self.opt = s, eps, opt
        #: The history's spend, fixed (re-planning): (period, tactic) -> spend.
        self.fixed_spend = _history_cells(s) if s.periods_done else {}
        #: Periods (0-based) whose per-period limits hold: those not yet done.
        self.ahead = np.arange(s.periods_done, s.periods)
        self.outer = opt.bound == "outer"
        # Comments (and the webcare and AE cases they bring) are goods' impressions times
        # kappa: inner, the chords are within eps of the curve, so actual comments are at
        # most predicted * 1/(1-eps); outer, the tangents exceed it by at most `excess`, so
        # predicted * (1-excess) is at most the actual. One factor per model keeps comments
        # proportional to the goods in every segment, so filling segments out of order never
        # buys goods with fewer comments (a per-segment factor would invite exactly that).
        self.excess = pwl.tangent_excess("exponential", eps)
        self.kappa = (1.0 - self.excess) if self.outer else 1.0 / (1.0 - eps)
        self.cols = _Cols()
        self.rows = _Rows()
        self.label_t = s.period_label[:1] or "t"

    def formulation(self) -> Formulation:
        """Every block in order, assembled."""
        self.spend_segments()
        self.response_columns()
        self.community_columns()
        self.reach_columns()
        self.shortfall_columns()
        self.switch_columns()
        self.metric_maps()
        self.community_rows()
        self.response_rows()
        self.limit_rows()
        self.budget_rows()
        self.reach_rows()
        self.switch_rows()
        self.goal_rows()
        return self.assemble()

    # -- columns ----------------------------------------------------------------------

    def spend_segments(self) -> None:
        """Spend per cell (tactic and period) as segments of its delivery curve."""
        s, opt, eps, b = self.s, self.opt, self.eps, self.s.budget
        caps = [c for c in ((b.media, b.total) if opt.budget else ()) if c is not None]
        if opt.segment_budget is not None:
            caps = [opt.segment_budget]
        if b.period_max is not None:
            caps.append(b.period_max)
        cell_t_l, cell_j_l, cell_u_l, seg_cell_l = [], [], [], []
        seg: dict[str, list[Any]] = defaultdict(list)  # per segment, cell after cell
        n_cells = 0
        #: Each tactic's spend cap per period (the segments' total width).
        self.upper_of: dict[int, float] = {}
        for j, t in enumerate(s.tactics):
            first, last = s.active_window(t)
            limits = [*caps, *(v for v in (t.max_spend, t.max_total) if v is not None)]
            # Past 40 saturation spends the curve is flat (exp(-40)): more buys nothing, so
            # the segments stop there unless a floor forces more. This also keeps the big-M
            # of semicontinuous spend tight (a loose one lets round-off pass as "inactive").
            active_periods = last - first + 1
            forced = max(
                t.min_spend, t.min_spend_if_active, t.min_total / active_periods, b.period_min
            )
            upper = min([*limits, max(saturated(t), forced)])
            # Spend that happened may have passed the caps (they hold from now on): the
            # curve's segments reach it, and the weeks ahead stop at the cap.
            past = max((v for (_, k), v in self.fixed_spend.items() if k == j), default=0.0)
            top = max(upper, past)
            if top <= 0:
                continue
            self.upper_of[j] = upper
            extra = _delivery_points(t, opt, j, self.fixed_spend)
            if t.response:
                # Spend of a response tactic buys no impressions: segments of slope 0, cut
                # at its floors and at spend already made; its conversions come from the
                # curve of adstocked spend (response_columns).
                cuts = np.asarray(extra) * t.saturation_spend
                grid = np.unique(np.concatenate([[0.0], cuts[(cuts > 0) & (cuts < top)], [top]]))
                widths = np.diff(grid)
                lower = upper_slope = np.zeros(len(widths))
            else:
                x_top = top / t.saturation_spend
                widths, lower, upper_slope = pwl.segments(t.shape, eps, x_top, extra)
                widths = widths * t.saturation_spend
            slopes = upper_slope if self.outer else lower  # inner: chords; outer: tangents
            # What loads (comments) count per segment: the goods' impressions, times kappa
            # below; for a tactic's own curve the other function, which bounds the curve
            # from the other side (no relative tolerance holds where an S-curve starts
            # flat), divided by kappa to cancel it.
            loads = slopes if t.exponential else (lower if self.outer else upper_slope) / self.kappa
            slopes = slopes * t.saturation_impressions / t.saturation_spend
            loads = loads * t.saturation_impressions / t.saturation_spend
            prefix = 0 if t.exponential else _rising_prefix(slopes)
            periods = np.arange(first - 1, last)
            k = len(widths)
            cell_ids = n_cells + np.arange(len(periods))
            cell_t_l.append(periods)
            cell_j_l.append(np.full(len(periods), j))
            cell_u_l.append(np.full(len(periods), top))
            seg_cell_l.append(np.repeat(cell_ids, k))
            ends = np.cumsum(widths)
            _tile_into(
                seg,
                len(periods),
                width=widths,
                hi=np.clip(upper - (ends - widths), 0.0, widths) if top > upper else widths,
                slope=slopes,
                load=loads,
                k=np.arange(k),
                end=np.cumsum(widths),
                ordered=np.arange(k) < prefix,
            )
            n_cells += len(periods)
        self.cell_t = concat(cell_t_l, np.int64)
        self.cell_j = concat(cell_j_l, np.int64)
        self.cell_upper = concat(cell_u_l, np.float64)
        self.seg_cell = concat(seg_cell_l, np.int64)
        # seg_ordered: the segments of a non-concave curve's rising start, filled in order
        # by binaries.
        f, i = np.float64, np.int64
        (
            self.seg_width,
            seg_hi,
            self.seg_slope,
            self.seg_load,
            self.seg_ordered,
            self.seg_k,
            self.seg_end,
        ) = _joined(seg, width=f, hi=f, slope=f, load=f, ordered=np.bool_, k=i, end=f)
        self.seg_t = self.cell_t[self.seg_cell]
        self.seg_j = self.cell_j[self.seg_cell]
        # A spend floor is met by filling the segments below it in order (there is a
        # breakpoint at the floor): the real curve cannot buy the floor's money with the flat
        # end's few impressions and comments. Unconditional floors (a traffic tactic's
        # min_spend) become lower bounds; floors that hold only when a tactic or community is
        # on become rows below. Otherwise a binding capacity lets the LP meet such floors on
        # the flat end, and only fill-order binaries would stop it.
        firm = np.array([t.min_spend if t.account is None else 0.0 for t in s.tactics])
        seg_end, seg_j = self.seg_end, self.seg_j
        below = seg_end <= firm[seg_j] * (1 + 1e-12) if len(seg_end) else np.zeros(0, dtype=bool)
        seg_lo = np.where(below, self.seg_width, 0.0)
        if self.fixed_spend:
            # What was spent is filled in order to exactly that (a breakpoint sits there).
            done = np.full(len(self.cell_t), np.nan)
            for c, (t_c, j_c) in enumerate(zip(self.cell_t, self.cell_j, strict=True)):
                done[c] = self.fixed_spend.get((int(t_c), int(j_c)), np.nan)
            fixed = (
                ~np.isnan(done[self.seg_cell]) if len(self.seg_cell) else np.zeros(0, dtype=bool)
            )
            spent = done[self.seg_cell]
            filled = np.where(seg_end <= spent * (1 + 1e-12) + 1e-9, self.seg_width, 0.0)
            seg_lo = np.where(fixed, filled, seg_lo)
            seg_hi = np.where(fixed, filled, seg_hi)
            # Impressions counted in the history: the cell's filled segments deliver them
            # (their slopes scaled), so every figure built on impressions follows.
            counted = history_impressions(s)[self.cell_t, self.cell_j]
            claim = np.bincount(
                self.seg_cell, weights=self.seg_slope * filled * fixed, minlength=len(self.cell_t)
            )
            use = ~np.isnan(counted) & (claim > 0)
            factor = np.where(use, np.nan_to_num(counted) / np.where(use, claim, 1.0), 1.0)
            self.seg_slope = self.seg_slope * factor[self.seg_cell]
            self.seg_load = self.seg_load * factor[self.seg_cell]
        self.seg_col = self.cols.add("spend", len(self.seg_width), seg_lo, seg_hi, self._seg_label)

    def _seg_label(self, i: int) -> str:
        c = self.seg_cell[i]
        tid = self.s.tactics[self.cell_j[c]].id
        return f"spend[{tid},{self.label_t}{self.cell_t[c] + 1},seg{self.seg_k[i] + 1}]"

    def response_columns(self) -> None:
        """Per response tactic and period, its adstocked spend as segments of its curve
        (every period: spend carries over past the tactic's window, and into the campaign
        from before it)."""
        s, opt, eps, n_t = self.s, self.opt, self.eps, self.s.periods
        cell: dict[str, list[Any]] = defaultdict(list)
        seg: dict[str, list[Any]] = defaultdict(list)
        for j, t in enumerate(s.tactics):
            if not t.response:
                continue
            w = t.adstock_weights
            carry = curves.adstocked(np.zeros(n_t), w, t.spend_before)
            a_max = float(w.sum()) * self.upper_of.get(j, 0.0) + float(carry.max(initial=0.0))
            if a_max <= 0:
                continue
            extra = _refined(t, opt.breakpoints.get(f"response[{t.id}]", ()))
            widths, lower, upper = pwl.segments(t.shape, eps, a_max / t.saturation_spend, extra)
            slopes = (upper if self.outer else lower) * t.saturation_impressions
            slopes = slopes / t.saturation_spend
            widths = widths * t.saturation_spend
            k = len(widths)
            seg["cell"].append(np.repeat(len(cell["t"]) * n_t + np.arange(n_t), k))
            _tile_into(cell, 1, t=np.arange(n_t), j=np.full(n_t, j), carry=carry)
            _tile_into(
                seg, n_t, width=widths, slope=slopes, ordered=np.arange(k) < _rising_prefix(slopes)
            )
        f, i = np.float64, np.int64
        self.resp_cell_t, self.resp_cell_j, self.resp_carry = _joined(cell, t=i, j=i, carry=f)
        self.resp_seg_cell, self.resp_seg_width, self.resp_seg_slope, self.resp_ordered = _joined(
            seg, cell=i, width=f, slope=f, ordered=np.bool_
        )
        self.resp_col = self.cols.add(
            "response", len(self.resp_seg_width), 0.0, self.resp_seg_width, self._resp_label
        )

    def _resp_label(self, i: int) -> str:
        c = self.resp_seg_cell[i]
        tid = self.s.tactics[self.resp_cell_j[c]].id
        rank = i - int(np.searchsorted(self.resp_seg_cell, c))
        return f"adstocked[{tid},{self.label_t}{self.resp_cell_t[c] + 1},seg{rank + 1}]"

    def response_rows(self) -> None:
        """Adstocked spend: the curve's segments of each period sum to ``sum_l w[l] *
        spend[t - l]`` plus the carry-over from before the campaign."""
        s, n = self.s, self.n
        m = len(self.resp_cell_t)
        if not m:
            return
        cell_of = np.full((s.periods, len(s.tactics)), -1, dtype=np.int64)
        cell_of[self.cell_t, self.cell_j] = np.arange(len(self.cell_t))
        r_l, c_l, v_l = [], [], []
        for r, (t, j) in enumerate(zip(self.resp_cell_t, self.resp_cell_j, strict=True)):
            for lag, w in enumerate(s.tactics[j].adstock_weights[: t + 1]):
                c = cell_of[t - lag, j]
                if c >= 0 and w > 0:
                    r_l.append(r)
                    c_l.append(c)
                    v_l.append(-w)
        lagged = Terms.of(r_l, c_l, v_l, (m, len(self.cell_t)))
        parts = Terms.of(self.resp_seg_cell, self.resp_col, np.ones(len(self.resp_col)), (m, n))
        t_label, tactics = self.label_t, s.tactics
        cell_t, cell_j = self.resp_cell_t, self.resp_cell_j
        self.rows.add(
            "response",
            parts + lagged @ self.cell_of_seg,
            self.resp_carry,
            self.resp_carry,
            lambda i: f"adstock[{tactics[cell_j[i]].id},{t_label}{cell_t[i] + 1}]",
        )

    def community_columns(self) -> None:
        """Per community: its on/off switch, followers and organic impressions per period."""
        s, cols, n_t, label_t = self.s, self.cols, self.s.periods, self.label_t
        fixed = dict(self.opt.community or {})
        self.y_col: dict[str, int] = {}
        self.f_col: dict[str, IntArray] = {}
        self.oi_col: dict[str, IntArray] = {}
        self.f_max: dict[str, FloatArray] = {}
        # Follower ads whose comments are bounded by tangents (opt.load_tangents) may fill
        # their segments out of order and claim fewer followers than their spend grows;
        # loads then read organic comments off an upper follower trajectory that counts the
        # tangents' impressions (benefits keep the claimed, lower one).
        self.upper_needed = {
            a
            for _, j in self.opt.load_tangents
            if (a := s.tactics[j].account) is not None and fixed.get(a) is not False
        }
        self.fu_col: dict[str, IntArray] = {}
        self.oiu_col: dict[str, IntArray] = {}
        for c in s.communities:
            on = fixed.get(c.id)
            lo = 1.0 if (on is True or (on is None and c.mode == "on")) else 0.0
            hi = 0.0 if (on is False or (on is None and c.mode == "off")) else 1.0
            self.y_col[c.id] = int(
                cols.add(
                    f"community[{c.id}]",
                    1,
                    lo,
                    hi,
                    _fixed(f"community[{c.id}]"),
                    integer=lo != hi,
                )[0]
            )
            f_max = _follower_bound(s, c.id, self.cell_t, self.cell_j, self.cell_upper, self.eps)
            if self.outer:  # the tangents may claim up to 1 / (1 - excess) of the true followers
                f_max = f_max / (1.0 - self.excess)
            self.f_max[c.id] = f_max
            # Counted followers (re-planning) are fixed: what happened.
            counted = np.full(n_t, np.nan)
            seen_f = _counted_followers(s, c.id)
            counted[: len(seen_f)] = seen_f
            seen = ~np.isnan(counted)
            tags = ("", "_upper") if c.id in self.upper_needed else ("",)
            for tag in tags:
                f_c = cols.add(
                    f"followers{tag}[{c.id}]",
                    n_t,
                    np.where(seen, counted, 0.0),
                    np.where(seen, counted, f_max if not tag else INF),
                    _per_period(f"followers{tag}[{c.id},", label_t),
                )
                oi_c = cols.add(
                    f"organic{tag}[{c.id}]",
                    n_t,
                    0.0,
                    INF,
                    _per_period(f"organic_impressions{tag}[{c.id},", label_t),
                )
                (self.fu_col if tag else self.f_col)[c.id] = f_c
                (self.oiu_col if tag else self.oi_col)[c.id] = oi_c

    def reach_columns(self) -> None:
        """Cumulative impressions up to the last reach period, and reach at each one."""
        s, cols, label_t = self.s, self.cols, self.label_t
        self.reach_periods = _reach_periods(s, self.opt)
        self.audiences = s.audiences()
        self.reach_col: dict[int, int] = {}
        self.aud_col: dict[str, dict[int, int]] = {}
        self.cum_col: IntArray = np.zeros(0, np.int64)
        self.cum_a_col: dict[str, IntArray] = {}
        self.t_reach = max(self.reach_periods) if self.reach_periods else 0
        if not self.reach_periods:
            return
        t_reach = self.t_reach
        self.cum_col = cols.add(
            "cum_impressions", t_reach, 0.0, INF, _per_period("cum_impressions[", label_t)
        )
        for a in self.audiences:
            self.cum_a_col[a] = cols.add(
                f"cum_impressions[{a}]",
                t_reach,
                0.0,
                INF,
                _per_period(f"cum_impressions[{a},", label_t),
            )
        rp = sorted(self.reach_periods)
        rc = cols.add("reach", len(rp), 0.0, s.population, _per_period("reach[", label_t, rp))
        self.reach_col = {t: int(c) for t, c in zip(rp, rc, strict=True)}
        for a, (pool, _) in self.audiences.items():
            ac = cols.add(
                f"reach[{a}]", len(rp), 0.0, pool, _per_period(f"reach[{a},", label_t, rp)
            )
            self.aud_col[a] = {t: int(c) for t, c in zip(rp, ac, strict=True)}

    def shortfall_columns(self) -> None:
        """One shortfall per soft goal (or per goal, elastic)."""
        s, opt = self.s, self.opt
        self.shortfall_col: dict[int, int] = {}
        for g_i, g in enumerate(s.goals):
            soft = (not g.hard) or opt.goals == "elastic"
            if opt.goals not in ("none", "hard_only") and soft:
                self.shortfall_col[g_i] = int(
                    self.cols.add(
                        f"shortfall[{g_i}]",
                        1,
                        0.0,
                        g.target,
                        _fixed(f"shortfall:{g.metric.value}@{g.by or s.periods}"),
                    )[0]
                )

    def switch_columns(self) -> None:
        """Binaries: semicontinuous spend, fill order; and the constant column of tangents."""
        s, opt, cols = self.s, self.opt, self.cols
        cell_t, cell_j = self.cell_t, self.cell_j
        # Cells done spent what they spent: no floor to switch on.
        self.sc_cells = np.flatnonzero(
            np.array([s.tactics[j].min_spend_if_active > 0 for j in cell_j], dtype=bool)
            & (cell_t >= s.periods_done)
        )
        # Cells whose activity is decided already (opt.active) get a fixed, continuous switch.
        decided = [opt.active.get((int(cell_t[i]), int(cell_j[i]))) for i in self.sc_cells]
        self.sc_col = cols.add(
            "active",
            len(self.sc_cells),
            np.array([float(d) if d is not None else 0.0 for d in decided]),
            np.array([float(d) if d is not None else 1.0 for d in decided]),
            _cell_label("active", s, cell_t, cell_j, self.sc_cells),
            integer=True,
        )
        if len(self.sc_cells):
            cols.integer[-1] = np.array([d is None for d in decided])
        ordered = np.zeros((s.periods, len(s.tactics)), dtype=bool)
        for t_i, j_i in opt.fill_order:
            ordered[t_i, j_i] = True
        self.fo_segs = np.flatnonzero(ordered[self.seg_t, self.seg_j])
        self.fo_col = self._segment_binaries("filled", self.fo_segs, self._seg_label)
        # A non-concave curve's rising start: one binary per segment (incremental MILP).
        self.curve_segs = np.flatnonzero(self.seg_ordered)
        self.curve_col = self._segment_binaries("curve_order", self.curve_segs, self._seg_label)
        self.resp_segs = np.flatnonzero(self.resp_ordered)
        self.resp_bin = self._segment_binaries("response_order", self.resp_segs, self._resp_label)
        h = s.history
        counts = h is not None and bool(h.comments or h.ae_cases or h.visits or h.conversions)
        self.one_col = cols.add(
            "one", 1 if opt.load_tangents or counts else 0, 1.0, 1.0, _fixed("one")
        )
        self.n = cols.n

    def _segment_binaries(self, name: str, segs: IntArray, label: Label) -> IntArray:
        """One binary per segment in ``segs``: 1 when the segment is full."""
        return self.cols.add(
            name, len(segs), 0.0, 1.0, lambda i: f"{name}:" + label(int(segs[i])), integer=True
        )

    # -- what the columns mean ------------------------------------------------------------

    def metric_maps(self) -> None:
        """Per metric, the (periods x columns) matrix that gives it per period."""
        s, opt, n_t = self.s, self.opt, self.s.periods
        shape_t = (n_t, self.n)
        seg_t, seg_j, seg_col, seg_slope = self.seg_t, self.seg_j, self.seg_col, self.seg_slope
        data = model_data(s)
        cvr, ctr, land, t_comment = data.cvr, data.ctr, data.landing, data.comment
        imp_m = Terms.of(seg_t, seg_col, seg_slope, shape_t)
        spend_m = Terms.of(seg_t, seg_col, np.ones_like(seg_slope), shape_t)
        ad_visits_m = Terms.of(seg_t, seg_col, seg_slope * (ctr * land)[seg_j], shape_t)
        ad_conv_m = Terms.of(seg_t, seg_col, seg_slope * (ctr * land * cvr)[seg_j], shape_t)
        comment_slope, comment_const = _load_slopes(
            opt, self.cell_t, self.cell_j, self.seg_cell, self.seg_width, self.seg_load
        )
        self.load_slope, self.load_const = comment_slope, comment_const
        paid_comments_m = Terms.of(seg_t, seg_col, comment_slope * t_comment[seg_j], shape_t)
        resp_conv_m = Terms.of(
            self.resp_cell_t[self.resp_seg_cell], self.resp_col, self.resp_seg_slope, shape_t
        )
        if len(self.one_col):
            per_cell = comment_const * t_comment[self.cell_j]
            paid_comments_m = paid_comments_m + Terms.of(
                self.cell_t, np.full(len(self.cell_t), self.one_col[0]), per_cell, shape_t
            )

        per_t = np.arange(n_t)
        acc: dict[str, list[tuple[IntArray, IntArray, FloatArray]]] = defaultdict(list)
        for c in s.communities:
            oi = self.oi_col[c.id]
            y = np.full(n_t, self.y_col[c.id])
            # Costs and base hours run from launch to the last period (design 2.3).
            first, last = s.community_window(c)
            running = np.zeros(n_t)
            running[first - 1 : last] = 1.0
            acc["organic_impressions"].append((per_t, oi, np.ones(n_t)))
            acc["community_visits"].append(
                (per_t, oi, np.full(n_t, c.landing_rate * c.organic_ctr))
            )
            acc["community_conversions"].append(
                (per_t, oi, np.full(n_t, c.landing_rate * c.organic_ctr * c.conversion_rate))
            )
            acc["engagements"].append((per_t, oi, np.full(n_t, c.engagement_rate)))
            acc["followers"].append((per_t, self.f_col[c.id], np.ones(n_t)))
            loads_from = self.oiu_col.get(c.id, oi)
            acc["organic_comments"].append((per_t, loads_from, np.full(n_t, c.comment_rate)))
            acc["base_hours"].append((per_t, y, running * c.base_hours))
            content = running * c.content_cost_per_post * c.posts_per_period
            content[first - 1] += c.setup_cost
            acc["cost_community"].append((per_t, y, content))

        def collect(name: str) -> Terms:
            parts = acc.get(name, [])
            if not parts:
                return Terms.zeros(shape_t)
            r, cc, v = (np.concatenate(p) for p in zip(*parts, strict=True))
            return Terms.of(r, cc, v, shape_t)

        organic_m = collect("organic_impressions")
        comm_visits_m = collect("community_visits")
        comments_m = self.kappa * (paid_comments_m + collect("organic_comments"))
        wc, ae = s.webcare, s.adverse_events
        ae_rate = ae.rate if ae is not None else 0.0
        ae_m = ae_rate * comments_m
        if s.history is not None:
            comments_m, ae_m = self.counted_loads(comments_m, ae_m, ae_rate)
        webcare_m = (
            collect("base_hours")
            + (wc.minutes_per_comment if wc else 0.0) / 60.0 * comments_m
            + (ae.minutes_per_case if ae else 0.0) / 60.0 * ae_m
        )
        cost_webcare_m = (wc.hourly_rate if wc else 0.0) * webcare_m
        cost_ae_m = (ae.cost_per_case if ae else 0.0) * ae_m
        cost_comm_m = collect("cost_community")
        metrics: dict[str, Terms] = {
            "spend": spend_m,
            "impressions": imp_m,
            "organic_impressions": organic_m,
            "ad_visits": ad_visits_m,
            "community_visits": comm_visits_m,
            "visits": self.counted(ad_visits_m + comm_visits_m, "visits"),
            "engagements": collect("engagements"),
            "followers": collect("followers"),
            "comments": comments_m,
            "webcare_hours": webcare_m,
            "ae_cases": ae_m,
            "conversions": self.counted(
                ad_conv_m + collect("community_conversions") + resp_conv_m, "conversions"
            ),
            "cost_media": spend_m,
            "cost_community": cost_comm_m,
            "cost_webcare": cost_webcare_m,
            "cost_ae": cost_ae_m,
            "cost_total": spend_m + cost_comm_m + cost_webcare_m + cost_ae_m,
        }
        if self.reach_col:
            rr = np.array(sorted(self.reach_col), dtype=np.int64) - 1
            rcols = np.array([self.reach_col[t + 1] for t in rr], dtype=np.int64)
            metrics["reach"] = Terms.of(rr, rcols, np.ones(len(rr)), shape_t)
            metrics["reach_share"] = metrics["reach"] / s.population
        self.metrics = metrics
        self.cell_of_seg = Terms.of(self.seg_cell, seg_col, 1.0, (len(self.cell_t), self.n))

    def counted_loads(self, comments_m: Terms, ae_m: Terms, ae_rate: float) -> tuple[Terms, Terms]:
        """The comment and AE-case maps with the history's counts as constants in the
        periods it gives them (the simulator's rule, :func:`simulator._counted_loads`)."""
        h = self.s.history
        assert h is not None
        if h.comments:
            comments_m = self.constant(comments_m, h.comments)
            ae_m = self.constant(ae_m, [ae_rate * v for v in h.comments])
        if h.ae_cases:
            ae_m = self.constant(ae_m, h.ae_cases)
        return comments_m, ae_m

    def counted(self, m: Terms, name: str) -> Terms:
        """A metric's map with the history's counts of it (visits, conversions) as
        constants in the periods it gives them."""
        h = self.s.history
        values = getattr(h, name) if h is not None else []
        return self.constant(m, values) if values else m

    def constant(self, m: Terms, values: Sequence[float]) -> Terms:
        """``m`` with its first ``len(values)`` periods replaced by those constants."""
        n_t, k = self.s.periods, len(values)
        one = np.full(k, self.one_col[0] if len(self.one_col) else 0)
        const = Terms.of(np.arange(k), one, np.asarray(values, float), (n_t, self.n))
        return m.where_rows(np.arange(n_t) >= k) + const

    # -- rows -------------------------------------------------------------------------------

    def community_rows(self) -> None:
        """Follower dynamics, organic impressions, and follower ads tied to their community."""
        s, rows, n, n_t = self.s, self.rows, self.n, self.s.periods
        shape_t = (n_t, n)
        seg_t, seg_j, seg_col, seg_slope = self.seg_t, self.seg_j, self.seg_col, self.seg_slope
        for c in s.communities:
            fc, oi, yc = self.f_col[c.id], self.oi_col[c.id], self.y_col[c.id]
            follow = np.array([t.follow_rate if t.account == c.id else 0.0 for t in s.tactics])
            mask = follow[seg_j] > 0
            paid = Terms.of(
                seg_t[mask], seg_col[mask], -seg_slope[mask] * follow[seg_j[mask]], shape_t
            )
            self._trajectory(c, fc, oi, paid, self.f_max[c.id], "")
            if c.id in self.fu_col:
                # The upper trajectory: paid follows from the loads' (tangent) impressions.
                mine = follow[self.cell_j] > 0
                per_cell = self.load_const * follow[self.cell_j]
                paid_up = Terms.of(
                    seg_t[mask],
                    seg_col[mask],
                    -self.load_slope[mask] * follow[seg_j[mask]],
                    shape_t,
                ) + Terms.of(
                    self.cell_t[mine],
                    np.full(int(mine.sum()), self.one_col[0]),
                    -per_cell[mine],
                    shape_t,
                )
                most = np.bincount(
                    self.seg_cell, self.load_slope * self.seg_width, minlength=len(self.cell_t)
                )
                paid_max = np.bincount(
                    self.cell_t, (most + self.load_const) * follow[self.cell_j], minlength=n_t
                ).astype(float)
                f_up = _grown(c, paid_max, _counted_followers(s, c.id))
                self._trajectory(c, self.fu_col[c.id], self.oiu_col[c.id], paid_up, f_up, "_upper")

            # Follower ads run only with their community; their floors apply only then.
            cell_j = self.cell_j
            mine = np.flatnonzero(
                np.array([s.tactics[j].account == c.id for j in cell_j], dtype=bool)
            )
            if len(mine):
                link = self.cell_of_seg.rows(mine) - Terms.of(
                    np.arange(len(mine)),
                    np.full(len(mine), yc),
                    self.cell_upper[mine],
                    (len(mine), n),
                )
                rows.add(
                    f"ads_need_community[{c.id}]",
                    link,
                    -INF,
                    0.0,
                    _cell_label("ads_need_community", s, self.cell_t, cell_j, mine),
                    "community",
                    c.id,
                    self.cell_t[mine] + 1,
                )

    def _trajectory(
        self,
        c: Community,
        fc: IntArray,
        oi: IntArray,
        paid: Terms,
        f_bound: FloatArray,
        tag: str,
    ) -> None:
        """Rows of one follower trajectory: ``fc`` grown by ``paid`` (minus paid follows per
        period, as a matrix) and by the organic impressions ``oi`` it earns."""
        s, rows, label_t, n_t = self.s, self.rows, self.label_t, self.s.periods
        shape_t = (n_t, self.n)
        per_t = np.arange(n_t)
        yc = self.y_col[c.id]
        # F[t] - (1-churn) F[t-1] - paid - viral * OI[t] = (1-churn) F0 at t=1.
        r = np.concatenate([per_t, per_t[1:], per_t])
        cc = np.concatenate([fc, fc[:-1], oi])
        v = np.concatenate(
            [np.ones(n_t), np.full(n_t - 1, -(1 - c.churn)), np.full(n_t, -c.viral_follow_rate)]
        )
        rhs = np.zeros(n_t)
        rhs[0] = (1 - c.churn) * c.initial_followers
        dyn = Terms.of(r, cc, v, shape_t) + paid
        # Periods whose followers were counted have no dynamics: their stock is fixed.
        grown = np.arange(len(_counted_followers(s, c.id)), n_t)
        rows.add(
            f"followers{tag}[{c.id}]",
            dyn.rows(grown),
            rhs[grown],
            rhs[grown],
            _per_period(f"followers{tag}[{c.id},", label_t, list(grown + 1)),
        )

        # Organic impressions = y * rate * F[t-1] while it runs (0 before launch and
        # after the end), linearised with a tight big-M.
        rate = c.organic_per_follower
        first, last = s.community_window(c)
        running = np.zeros(n_t, dtype=bool)
        running[first - 1 : last] = True
        prev_bound = np.concatenate([[c.initial_followers], f_bound[:-1]])
        big_m = rate * prev_bound * running
        const = np.zeros(n_t)
        const[0] = rate * c.initial_followers
        lin = Terms.of(
            np.concatenate([per_t, per_t[1:]]),
            np.concatenate([oi, fc[:-1]]),
            np.concatenate([np.ones(n_t), np.full(n_t - 1, -rate)]),
            shape_t,
        )
        rows.add(
            f"organic_le_rate{tag}[{c.id}]",
            lin,
            -INF,
            const,
            _per_period(f"organic{tag}<=rate*followers[{c.id},", label_t),
        )
        y_m = Terms.of(per_t, np.full(n_t, yc), -big_m, shape_t)
        oi_m = Terms.of(per_t, oi, np.ones(n_t), shape_t)
        rows.add(
            f"organic_le_on{tag}[{c.id}]",
            oi_m + y_m,
            -INF,
            0.0,
            _per_period(f"organic{tag}<=M*on[{c.id},", label_t),
        )
        rows.add(
            f"organic_ge{tag}[{c.id}]",
            lin + y_m,
            np.where(running, const - big_m, -INF),
            INF,
            _per_period(f"organic{tag}>=rate*followers-M*(1-on)[{c.id},", label_t),
        )

    def limit_rows(self) -> None:
        """Spend floors and tactic totals."""
        s, rows, n = self.s, self.rows, self.n
        tactics, cell_j = s.tactics, self.cell_j
        # Spend floors per active period (follower ads: only while their community runs).
        floors = np.array([tactics[j].min_spend for j in cell_j])
        fl = np.flatnonzero((floors > 0) & (self.cell_t >= s.periods_done))
        if len(fl):
            floor_rows = self.cell_of_seg.rows(fl) - _y_terms(s, fl, cell_j, self.y_col, floors, n)
            floor_lo = np.where(
                [tactics[cell_j[i]].kind == "community" for i in fl], 0.0, floors[fl]
            )
            rows.add(
                "min_spend",
                floor_rows,
                floor_lo,
                INF,
                _cell_label("min_spend", s, self.cell_t, cell_j, fl),
                "floor",
                periods=self.cell_t[fl] + 1,
            )

        # Tactic totals.
        for j, t in enumerate(tactics):
            if t.min_total <= 0 and t.max_total is None:
                continue
            mask = self.seg_j == j
            row = Terms.of(np.zeros(mask.sum()), self.seg_col[mask], 1.0, (1, n))
            cap = t.max_total if t.max_total is not None else INF
            if t.kind == "community" and t.account is not None and t.min_total > 0:
                # A follower-ad floor applies only while the community runs: its own row,
                # spend - min_total * on >= 0, and the cap a row of its own.
                on = Terms.of([0], [self.y_col[t.account]], [t.min_total], (1, n))
                rows.add(
                    f"total[{t.id}]",
                    row - on,
                    0.0,
                    INF,
                    _fixed(f"min_total[{t.id}]"),
                    "total",
                    t.id,
                )
                if cap < INF:
                    rows.add(
                        f"total_cap[{t.id}]",
                        row,
                        -INF,
                        cap,
                        _fixed(f"max_total[{t.id}]"),
                        "total",
                        t.id,
                    )
                continue
            rows.add(
                f"total[{t.id}]",
                row,
                t.min_total,
                cap,
                _fixed(f"total_spend[{t.id}]"),
                "total",
                t.id,
            )

    def budget_rows(self) -> None:
        """Per-period spend, budget caps and capacities."""
        s, rows, label_t, opt, b = self.s, self.rows, self.label_t, self.opt, self.s.budget
        spend_m = self.metrics["spend"]
        # Per-period spend floor/cap.
        if b.period_max is not None or b.period_min > 0:
            rows.add(
                "period_spend",
                spend_m.rows(self.ahead),
                b.period_min,
                b.period_max if b.period_max is not None else INF,
                _per_period("period_spend[", label_t, list(self.ahead + 1)),
                "period_spend",
                periods=self.ahead + 1,
            )

        # Budget caps.
        if opt.budget:
            if b.media is not None:
                rows.add(
                    "budget:media",
                    spend_m.total(),
                    -INF,
                    b.media,
                    _fixed("budget:media"),
                    "budget",
                    "media",
                )
            if b.total is not None:
                rows.add(
                    "budget:total",
                    self.metrics["cost_total"].total(),
                    -INF,
                    b.total,
                    _fixed("budget:total"),
                    "budget",
                    "total",
                )

        # Capacities.
        wc, ae = s.webcare, s.adverse_events
        if wc is not None and wc.capacity_hours is not None:
            rows.add(
                "capacity:webcare",
                self.metrics["webcare_hours"].rows(self.ahead),
                -INF,
                wc.capacity_hours,
                _per_period("capacity:webcare[", label_t, list(self.ahead + 1)),
                "capacity",
                "webcare",
                self.ahead + 1,
            )
        if ae is not None and ae.capacity is not None:
            rows.add(
                "capacity:ae",
                self.metrics["ae_cases"].rows(self.ahead),
                -INF,
                ae.capacity,
                _per_period("capacity:adverse_events[", label_t, list(self.ahead + 1)),
                "capacity",
                "ae",
                self.ahead + 1,
            )

    def reach_rows(self) -> None:
        """Cumulative impressions, and reach under the chords (or tangents) of each curve."""
        if not self.reach_periods:
            return
        s, rows, n, label_t, t_reach = self.s, self.rows, self.n, self.label_t, self.t_reach
        seg_t, seg_j, seg_col, seg_slope = self.seg_t, self.seg_j, self.seg_col, self.seg_slope
        audiences, cum_col, cum_a_col = self.audiences, self.cum_col, self.cum_a_col
        imp_m = self.metrics["impressions"]
        cum = _cumulative_rows(cum_col, imp_m.rows(np.arange(t_reach)), shape=(t_reach, n))
        rows.add("cum_impressions", cum, 0.0, 0.0, _per_period("cum_impressions[", label_t))
        early = seg_t < t_reach
        p_max = float((seg_slope[early] * self.seg_width[early]).sum())
        for a, (_, a_cols) in audiences.items():
            mask = np.isin(seg_j, np.array(a_cols)) & early
            imp_a = Terms.of(seg_t[mask], seg_col[mask], seg_slope[mask], (t_reach, n))
            rows.add(
                f"cum_impressions[{a}]",
                _cumulative_rows(cum_a_col[a], imp_a, (t_reach, n)),
                0.0,
                0.0,
                _per_period(f"cum_impressions[{a},", label_t),
            )
        for key, at, cum_c, size in [
            ("reach", self.reach_col, cum_col, s.population),
            *(
                (f"reach[{a}]", self.aud_col[a], cum_a_col[a], pool)
                for a, (pool, _) in audiences.items()
            ),
        ]:
            x_max = max(p_max / size, 1e-9)
            a_m, b_m = pwl.chord_lines(
                s.reach_curve, self.eps, x_max, self.opt.breakpoints.get(key, ()), outer=self.outer
            )
            audience = key[6:-1] if key != "reach" else ""
            _reach_rows(rows, at, cum_c, size, a_m, b_m, n, key, label_t, audience)
        rp = sorted(self.reach_periods)
        r_idx = np.repeat(np.arange(len(rp)), 1 + len(audiences))
        c_idx = np.concatenate(
            [[self.reach_col[t], *(self.aud_col[a][t] for a in audiences)] for t in rp]
        )
        v_idx = np.tile(np.concatenate([[1.0], -np.ones(len(audiences))]), len(rp))
        rows.add(
            "reach_le_audiences",
            Terms.of(r_idx, c_idx, v_idx, (len(rp), n)),
            -INF,
            0.0,
            _per_period("reach<=audiences[", label_t, rp),
        )

    def switch_rows(self) -> None:
        """Semicontinuous spend, conditional floors in order, and the fill order."""
        s, rows, n = self.s, self.rows, self.n
        sc_cells, sc_col, cell_j = self.sc_cells, self.sc_col, self.cell_j
        # Semicontinuous spend: 0 or at least min_spend_if_active.
        if len(sc_cells):
            k = len(sc_cells)
            mins = np.array([s.tactics[cell_j[i]].min_spend_if_active for i in sc_cells])
            on = Terms.of(np.arange(k), sc_col, 1.0, (k, n))
            rows.add(
                "active_cap",
                self.cell_of_seg.rows(sc_cells) - on.scaled_rows(self.cell_upper[sc_cells]),
                -INF,
                0.0,
                _cell_label("active_cap", s, self.cell_t, cell_j, sc_cells),
            )
            rows.add(
                "active_floor",
                self.cell_of_seg.rows(sc_cells) - on.scaled_rows(mins),
                0.0,
                INF,
                _cell_label("min_spend_if_active", s, self.cell_t, cell_j, sc_cells),
                "floor_if_active",
                periods=self.cell_t[sc_cells] + 1,
            )
        # Conditional floors in order: u_k >= w_k * on for the segments below the floor,
        # where `on` is the tactic's activity (min_spend_if_active) or its community.
        _ordered_floors(
            rows,
            s,
            self.seg_j,
            self.seg_end,
            self.seg_width,
            self.seg_col,
            self.seg_cell,
            sc_cells,
            sc_col,
            self.y_col,
            n,
            self.seg_t >= s.periods_done,
        )
        if len(self.curve_segs):
            _curve_order_rows(
                rows,
                self.curve_segs,
                self.curve_col,
                self.seg_cell,
                self.seg_col,
                self.seg_width,
                n,
            )
        if len(self.resp_segs):
            _curve_order_rows(
                rows,
                self.resp_segs,
                self.resp_bin,
                self.resp_seg_cell,
                self.resp_col,
                self.resp_seg_width,
                n,
            )
        # Fill order: segment k+1 only once segment k is full (incremental MILP formulation).
        if len(self.fo_segs):
            _fill_order_rows(
                rows, self.fo_segs, self.fo_col, self.seg_cell, self.seg_col, self.seg_width, n
            )

    def goal_rows(self) -> None:
        """Each goal's expression, and its row (with its shortfall where it is soft)."""
        s, opt, n = self.s, self.opt, self.n
        self.goal_exprs: dict[int, Terms] = {}
        for g_i, g in enumerate(s.goals):
            expr = _goal_expr(self.metrics, g.metric, s.goal_period(g))
            self.goal_exprs[g_i] = expr
            if opt.goals == "none" or (opt.goals == "hard_only" and not g.hard):
                continue
            row = expr
            if g_i in self.shortfall_col:
                row = expr + Terms.of([0], [self.shortfall_col[g_i]], [1.0], (1, n))
            self.rows.add(
                f"goal[{g_i}]",
                row,
                g.target,
                INF,
                _fixed(f"goal:{g.metric.value}@{s.goal_period(g)}"),
                "goal",
                str(g_i),
            )

    # -- objective and assembly ---------------------------------------------------------------

    def objective(self) -> FloatArray:
        """The objective vector (maximised), shortfall penalties included."""
        return _objective_vector(
            self.s, self.opt, self.metrics, self.goal_exprs, self.shortfall_col, self.n
        )

    def assemble(self) -> Formulation:
        """The LinearProgram and the maps back to the user's terms."""
        rows, cols, n = self.rows, self.cols, self.n
        A = Terms.of(
            concat(rows.r, np.int64),
            concat(rows.c, np.int64),
            concat(rows.v, np.float64),
            (rows.n, n),
        ).csr()
        lp = LinearProgram(
            c=self.objective(),
            A=A,
            row_lo=concat(rows.lo, np.float64),
            row_hi=concat(rows.hi, np.float64),
            col_lo=np.concatenate(cols.lo),
            col_hi=np.concatenate(cols.hi),
            integer=np.concatenate(cols.integer),
            col_blocks=cols.blocks,
            row_blocks=rows.blocks,
            meta={"scenario": self.s.name, "tolerance": self.eps},
            scale_cols=self.seg_col,
            penalty_cols=np.array(sorted(self.shortfall_col.values()), dtype=np.int64),
        )
        return Formulation(
            scenario=self.s,
            tolerance=self.eps,
            options=self.opt,
            lp=lp,
            cell_t=self.cell_t,
            cell_j=self.cell_j,
            cell_upper=self.cell_upper,
            seg_cell=self.seg_cell,
            seg_col=self.seg_col,
            seg_width=self.seg_width,
            seg_slope=self.seg_slope,
            y_col=self.y_col,
            f_col=self.f_col,
            reach_col=self.reach_col,
            audience_reach_col=self.aud_col,
            shortfall_col=self.shortfall_col,
            metrics=Matrices(self.metrics),
            goal_rows=Matrices(self.goal_exprs),
            cum_col=self.cum_col,
            cum_audience_col=self.cum_a_col,
            resp_cell_t=self.resp_cell_t,
            resp_cell_j=self.resp_cell_j,
            resp_seg_cell=self.resp_seg_cell,
            resp_col=self.resp_col,
            fixed_spend=self.fixed_spend,
        )


def _tile_into(parts: dict[str, list[Any]], count: int, **per_cell: Any) -> None:
    """Append each array, repeated for ``count`` cells, to its list in ``parts``."""
    for name, values in per_cell.items():
        parts[name].append(np.tile(values, count))


def _joined(parts: Mapping[str, list[Any]], **dtypes: type) -> list[Any]:
    """The lists of ``parts`` named by ``dtypes``, each concatenated (see :func:`concat`)."""
    return [concat(parts.get(name, []), dtype) for name, dtype in dtypes.items()]


# -- helpers ------------------------------------------------------------------------------


Label = Callable[[int], str]


def _fixed(name: str) -> Label:
    """A block's label that does not depend on the position."""
    return lambda _i: name


def _per_period(prefix: str, label_t: str, periods: Sequence[int] | None = None) -> Label:
    """Labels ``prefix`` + period + ``]``, e.g. ``followers[patients,w3]``."""
    return lambda i: f"{prefix}{label_t}{periods[i] if periods is not None else i + 1}]"


def _cell_label(
    name: str, s: Scenario, cell_t: IntArray, cell_j: IntArray, cells: IntArray
) -> Label:
    """Labels ``name[tactic,period]`` for rows over spend cells."""
    label_t = s.period_label[:1] or "t"
    return lambda i: f"{name}[{s.tactics[cell_j[cells[i]]].id},{label_t}{cell_t[cells[i]] + 1}]"


def _delivery_points(
    t: Tactic, opt: Options, j: int, fixed: Mapping[tuple[int, int], float]
) -> tuple[float, ...]:
    """Extra breakpoints of tactic ``j``'s delivery curve: the refinement's, its floors,
    and the spends already made (re-planning)."""
    floors = tuple(v / t.saturation_spend for v in (t.min_spend, t.min_spend_if_active) if v > 0)
    done = sorted({v / t.saturation_spend for (_, k), v in fixed.items() if k == j and v > 0})
    return (*_refined(t, opt.breakpoints.get(f"delivery[{t.id}]", ())), *floors, *done)


def _refined(t: Tactic, points: Sequence[float]) -> tuple[float, ...]:
    """The refinement's breakpoints on a tactic's curve, none on an S-curve's convex start:
    each there would be one more binary per cell, where plans rarely stay (its grid is
    coarse on purpose, pwl.CONVEX_SLACK)."""
    start = curves.get(t.shape).inflection
    return tuple(p for p in points if p >= start)


def _ordered_floors(
    rows: _Rows,
    s: Scenario,
    seg_tac: IntArray,
    seg_end: FloatArray,
    seg_width: FloatArray,
    seg_col: IntArray,
    seg_cell: IntArray,
    sc_cells: IntArray,
    sc_col: IntArray,
    y_col: Mapping[str, int],
    n: int,
    ahead: NDArray[np.bool_],
) -> None:
    """Rows ``u_k - w_k * on >= 0`` for segments below a floor that holds only when on
    (in the periods ``ahead``: not yet done)."""
    active_of = np.full(len(seg_cell) and int(seg_cell.max()) + 1, -1, dtype=np.int64)
    active_of[sc_cells] = sc_col
    if_active = np.array([t.min_spend_if_active for t in s.tactics])
    if_on = np.array([t.min_spend if t.account is not None else 0.0 for t in s.tactics])
    account = np.array([y_col.get(t.account or "", -1) for t in s.tactics], dtype=np.int64)
    parts = []
    for floor, switch in (
        (if_active[seg_tac], active_of[seg_cell] if len(seg_cell) else seg_cell),
        (if_on[seg_tac], account[seg_tac]),
    ):
        pick = np.flatnonzero(
            (floor > 0) & (switch >= 0) & (seg_end <= floor * (1 + 1e-12)) & ahead
        )
        parts.append((seg_col[pick], switch[pick], seg_width[pick]))
    u = np.concatenate([p[0] for p in parts])
    on = np.concatenate([p[1] for p in parts])
    w = np.concatenate([p[2] for p in parts])
    k = len(u)
    ar = np.arange(k)
    r, c, v = np.concatenate([ar, ar]), np.concatenate([u, on]), np.concatenate([np.ones(k), -w])
    if k:
        rows.add(
            "floor_in_order",
            Terms.of(r, c, v, (k, n)),
            0.0,
            INF,
            lambda i: f"floor_in_order[{i}]",
        )


def _history_cells(s: Scenario) -> dict[tuple[int, int], float]:
    """The history's spend as fixed cells (period, tactic), 0-based."""
    spent = history_spend(s)
    problems = []
    for j, t in enumerate(s.tactics):
        first, last = s.active_window(t)
        when = [k + 1 for k in np.flatnonzero(spent[:, j] > 0) if not first <= k + 1 <= last]
        if when:
            problems.append(
                Problem(
                    f"history.spend.{t.id}",
                    f"{s.period_label} {when[0]}",
                    f"spent outside the tactic's window ({first}-{last})",
                )
            )
    if problems:
        raise ScenarioError(problems)
    return {
        (k, j): float(spent[k, j])
        for j, t in enumerate(s.tactics)
        for k in range(spent.shape[0])
        if s.active_window(t)[0] <= k + 1 <= s.active_window(t)[1]
    }


def _counted_followers(s: Scenario, cid: str) -> list[float]:
    """The follower counts the history gives for community ``cid`` (periods 1, 2, ...)."""
    return list(s.history.followers.get(cid, [])) if s.history is not None else []


def _follower_bound(
    s: Scenario, cid: str, cell_t: IntArray, cell_j: IntArray, upper: FloatArray, eps: float
) -> FloatArray:
    """Largest possible followers per period: every follower ad at its cap, community on."""
    c = next(c for c in s.communities if c.id == cid)
    paid_max = np.zeros(s.periods)
    bought = history_impressions(s)
    for i in range(len(cell_t)):
        t = s.tactics[cell_j[i]]
        if t.account == cid:
            most = float(
                curves.saturating(upper[i], t.saturation_impressions, t.saturation_spend, t.shape)
            )
            seen = bought[cell_t[i], cell_j[i]]
            paid_max[cell_t[i]] += t.follow_rate * (most if np.isnan(seen) else max(most, seen))
    return _grown(c, paid_max, _counted_followers(s, cid))


def _grown(c: Community, paid_max: FloatArray, counted: Sequence[float] = ()) -> FloatArray:
    """Most followers per period when at most ``paid_max`` are bought in each (the
    ``counted`` stock of the periods done, re-planning, as it was)."""
    out = np.empty(len(paid_max))
    prev = c.initial_followers
    growth = 1 - c.churn + c.viral_follow_rate * c.organic_per_follower
    for t_i in range(len(paid_max)):
        prev = max(growth, 1 - c.churn) * prev + paid_max[t_i]
        if t_i < len(counted):
            prev = counted[t_i]
        out[t_i] = prev
    # A little slack so the bound never cuts off a feasible point through round-off.
    return out * (1 + 1e-9) + 1e-9


def _reach_periods(s: Scenario, opt: Options) -> set[int]:
    periods = {s.goal_period(g) for g in s.goals if g.metric in (Metric.REACH, Metric.REACH_SHARE)}
    spec = opt.objective if opt.objective is not None else s.objective
    if isinstance(spec, Objective):
        names = {spec.metric.value} if spec.kind == "maximize" else set(spec.weighted)
        if names & {Metric.REACH.value, Metric.REACH_SHARE.value}:
            periods.add(s.periods)
    return periods


def _cumulative_rows(cum_cols: IntArray, per_period: Terms, shape: tuple[int, int]) -> Terms:
    """Rows ``cum[t] - cum[t-1] - per_period[t] = 0``."""
    k = shape[0]
    r = np.concatenate([np.arange(k), np.arange(1, k)])
    cc = np.concatenate([cum_cols, cum_cols[:-1]])
    v = np.concatenate([np.ones(k), -np.ones(k - 1)])
    return Terms.of(r, cc, v, shape) - per_period


def _reach_rows(
    rows: _Rows,
    reach_at: Mapping[int, int],
    cum_cols: IntArray,
    size: float,
    a: FloatArray,
    bb: FloatArray,
    n: int,
    name: str,
    label_t: str,
    audience: str,
) -> None:
    """``reach <= size * (a_m + b_m * cum / size)`` for every line m (chords or tangents)."""
    periods = sorted(reach_at)
    m = len(a)
    k = len(periods) * m
    reach_c = np.repeat([reach_at[t] for t in periods], m)
    cum_c = np.repeat([cum_cols[t - 1] for t in periods], m)
    cc = np.column_stack([reach_c, cum_c]).ravel()
    v = np.column_stack([np.ones(k), -np.tile(bb, len(periods))]).ravel()
    rhs = np.tile(size * a, len(periods))
    rows.add(
        f"{name}:chords",
        Terms.of(np.repeat(np.arange(k), 2), cc, v, (k, n)),
        -INF,
        rhs,
        lambda i: f"{name}<=chord{i % m + 1}[{label_t}{periods[i // m]}]",
        "saturation",
        audience,
        np.repeat(periods, m),
    )


def _load_slopes(
    opt: Options,
    cell_t: IntArray,
    cell_j: IntArray,
    seg_cell: IntArray,
    seg_width: FloatArray,
    seg_slope: FloatArray,
) -> tuple[FloatArray, FloatArray]:
    """Impressions per unit of spend that loads count, per segment, and a constant per cell.

    The claimed impressions (``seg_slope``) everywhere but in the cells of
    ``opt.load_tangents``: there every segment counts the slope of the chord segment that
    holds the given spend, and the cell a constant, so the line touches the chord curve
    at that spend and lies above it everywhere else (the curve is concave).
    """
    slope = seg_slope.copy()
    const = np.zeros(len(cell_t))
    if not opt.load_tangents:
        return slope, const
    starts = np.searchsorted(seg_cell, np.arange(len(cell_t) + 1))
    for c, (t, j) in enumerate(zip(cell_t.tolist(), cell_j.tolist(), strict=True)):
        at = opt.load_tangents.get((t, j))
        if at is None:
            continue
        segs = np.arange(starts[c], starts[c + 1])
        if not len(segs):
            continue
        ends = np.cumsum(seg_width[segs])
        k = min(int(np.searchsorted(ends, at * (1 - 1e-12))), len(segs) - 1)
        begin = ends[k - 1] if k else 0.0
        below = float(seg_slope[segs[:k]] @ seg_width[segs[:k]])
        slope[segs] = seg_slope[segs[k]]
        const[c] = below - seg_slope[segs[k]] * begin
    return slope, const


def _fill_order_rows(
    rows: _Rows,
    fo_segs: IntArray,
    fo_col: IntArray,
    seg_cell: IntArray,
    seg_col: IntArray,
    seg_width: FloatArray,
    n: int,
) -> None:
    """``u[k] >= w[k] z[k]`` and ``u[k+1] <= w[k+1] z[k]`` for consecutive segments of a cell."""
    same_next = seg_cell[fo_segs[:-1]] == seg_cell[fo_segs[1:]]
    k_idx = np.flatnonzero(same_next)
    if not len(k_idx):
        return
    z = fo_col[k_idx]
    full = _gated(fo_segs[k_idx], z, seg_col, seg_width, n)
    rows.add("fill_full", full, 0.0, INF, lambda i: f"fill_order_full[{i}]")
    nxt = _gated(fo_segs[k_idx + 1], z, seg_col, seg_width, n)
    rows.add("fill_next", nxt, -INF, 0.0, lambda i: f"fill_order_next[{i}]")


def _gated(segs: IntArray, z: IntArray, seg_col: IntArray, seg_width: FloatArray, n: int) -> Terms:
    """Rows ``u[segs[i]] - w[segs[i]] * z[i]``: a segment against a binary."""
    m = len(segs)
    ar = np.arange(m)
    return Terms.of(
        np.concatenate([ar, ar]),
        np.concatenate([seg_col[segs], z]),
        np.concatenate([np.ones(m), -seg_width[segs]]),
        (m, n),
    )


def _rising_prefix(slopes: FloatArray) -> int:
    """How many leading segments must be filled in order by binaries: all before the
    last rise in slope (0 for a concave curve, whose segments an optimiser wanting more
    fills in order anyway)."""
    rises = np.flatnonzero(np.diff(slopes) > 1e-12 * max(1.0, float(np.max(slopes, initial=0.0))))
    return int(rises[-1]) + 1 if len(rises) else 0


def _curve_order_rows(
    rows: _Rows,
    segs: IntArray,
    z_col: IntArray,
    seg_cell: IntArray,
    seg_col: IntArray,
    seg_width: FloatArray,
    n: int,
) -> None:
    """The incremental formulation of a non-concave curve's start: ``u[k] >= w[k] z[k]``
    for each of its segments, and every later segment of the cell (the next ordered one,
    or any beyond the start) ``u <= w z[k]``: no output from further up the curve before
    the segments below are full."""
    full = _gated(segs, z_col, seg_col, seg_width, n)
    rows.add("curve_full", full, 0.0, INF, lambda i: f"curve_order_full[{i}]")
    # Each later segment of a cell waits for the binary of the ordered segment before it:
    # its predecessor within the ordered start, the start's last one beyond it.
    n_seg = len(seg_cell)
    first = np.r_[True, seg_cell[1:] != seg_cell[:-1]]
    start = np.maximum.accumulate(np.where(first, np.arange(n_seg), 0))
    rank = np.arange(n_seg) - start
    z_of = np.full(n_seg, -1, dtype=np.int64)
    z_of[segs] = np.arange(len(segs))
    count = np.bincount(seg_cell[segs], minlength=int(seg_cell.max()) + 1)[seg_cell]
    after = np.flatnonzero((rank >= 1) & (count > 0))
    gate = z_of[start[after] + np.minimum(rank[after] - 1, count[after] - 1)]
    waits = _gated(after, z_col[gate], seg_col, seg_width, n)
    rows.add("curve_next", waits, -INF, 0.0, lambda i: f"curve_order_next[{i}]")


def _y_terms(
    s: Scenario,
    cells: IntArray,
    cell_j: IntArray,
    y_col: Mapping[str, int],
    amounts: FloatArray,
    n: int,
) -> Terms:
    """``amount * y`` for the cells of follower-ad tactics (empty for traffic tactics)."""
    r, c, v = [], [], []
    for k, i in enumerate(cells):
        t = s.tactics[cell_j[i]]
        if t.kind == "community" and t.account is not None:
            r.append(k)
            c.append(y_col[t.account])
            v.append(amounts[i])
    return Terms.of(r, c, v, (len(cells), n))


def _goal_expr(metrics: Mapping[str, Terms], metric: Metric, by: int) -> Terms:
    """A metric at period ``by`` (a stock) or summed up to it, as one row."""
    m = metrics[metric.value]
    if metric.value in STOCKS:
        return m.rows([by - 1])
    return m.rows(np.arange(by)).total()


def _objective_vector(
    s: Scenario,
    opt: Options,
    metrics: Mapping[str, Terms],
    goal_rows: Mapping[int, Terms],
    shortfall_col: Mapping[int, int],
    n: int,
) -> FloatArray:
    """The objective vector (maximised), shortfall penalties included."""
    spec = opt.objective if opt.objective is not None else s.objective
    obj = _objective(s, spec, metrics, goal_rows, n)
    obj_vec = obj.dense_row()
    for g_i, col in shortfall_col.items():
        g = s.goals[g_i]
        if spec == "elastic":
            # Relative shortfall, so goals in different units weigh alike; the scenario's
            # own soft goals do not take part in "how close can the hard goals get?".
            obj_vec[col] -= 1.0 / g.target if g.hard else 0.0
        else:
            obj_vec[col] -= g.weight
    return obj_vec


def _objective(
    s: Scenario,
    spec: ObjectiveSpec,
    metrics: Mapping[str, Terms],
    goal_rows: Mapping[int, Terms],
    n: int,
) -> Terms:
    """The objective as a row: maximise it."""
    zero = Terms.zeros((1, n))
    if spec == "elastic":
        return zero
    if spec == "cost" or (isinstance(spec, Objective) and spec.kind == "minimize"):
        return -metrics["cost_total"].total()
    if isinstance(spec, tuple):
        return goal_rows[spec[1]]
    weights = {spec.metric.value: 1.0} if spec.kind == "maximize" else spec.weighted
    row = zero
    for name, w in weights.items():
        if name == "cost":
            row = row - w * metrics["cost_total"].total()
        else:
            row = row + w * _goal_expr(metrics, Metric(name), s.periods)
    return row
