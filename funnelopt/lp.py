"""The seam between model and solver: a labelled sparse LP/MILP and a raw solution.

The formulation compiles a scenario into a :class:`LinearProgram`; a backend turns it into
a :class:`RawSolution`. Neither side knows the other's internals.

    maximise    c @ x + c0
    subject to  row_lo <= A @ x <= row_hi,   col_lo <= x <= col_hi,   x[integer] integral
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy import sparse

from funnelopt.outcome import FloatArray

INF = float("inf")


class Status(StrEnum):
    """What a solver run ended with, in one vocabulary for every backend."""

    OPTIMAL = "optimal"
    INFEASIBLE = "infeasible"
    UNBOUNDED = "unbounded"
    #: Stopped by a limit (time) with a feasible solution that is not proven optimal.
    FEASIBLE = "feasible"
    ERROR = "error"


@dataclass(frozen=True)
class Block:
    """A named block of consecutive columns or rows: ``name[labels...]``.

    Row blocks also say what they mean, for the analyses (so nothing parses labels):
    ``kind`` is ``budget``, ``capacity``, ``floor``, ``floor_if_active``, ``total``,
    ``period_spend``, ``community``, ``saturation`` or ``goal`` - a limit the user set or
    a curve's - or empty for model structure (definitions); ``subject`` the budget,
    capacity, tactic, community, audience or goal index concerned; ``periods`` the
    1-based period of each row (empty when the rows are not per period).
    """

    name: str
    start: int
    size: int
    label: Callable[[int], str]
    kind: str = ""
    subject: str = ""
    periods: tuple[int, ...] = ()

    def __contains__(self, index: int) -> bool:
        return self.start <= index < self.start + self.size


@dataclass(eq=False)
class LinearProgram:
    """A maximisation LP/MILP in matrix form with labelled columns and rows."""

    c: FloatArray
    A: sparse.csr_matrix
    row_lo: FloatArray
    row_hi: FloatArray
    col_lo: FloatArray
    col_hi: FloatArray
    integer: NDArray[np.bool_]
    col_blocks: Sequence[Block]
    row_blocks: Sequence[Block]
    c0: float = 0.0
    sense: str = "max"
    meta: dict[str, object] = field(default_factory=dict)
    #: The columns whose objective coefficients set the objective's scale (the spend
    #: decisions); None: all columns. See :func:`objective_scale`.
    scale_cols: NDArray[np.int64] | None = None
    #: Columns that never set the scale (soft goals' shortfalls, whose penalty weights
    #: are the user's), used when the ``scale_cols`` have no objective coefficient.
    penalty_cols: NDArray[np.int64] | None = None

    def objective_scale(self, c: FloatArray | None = None) -> float:
        """The power of two the objective ``c`` (default: this LP's) is multiplied by for solving.

        Set by the spend columns: a one-off cost on a community's on/off switch (8,000 on
        a 0-1 column) or a soft goal's weight must not push the returns of spend below the
        solver's tolerance. Objectives with no spend term (reach, followers) fall back to
        every column but the shortfalls.
        """
        cost = self.c if c is None else c
        if self.scale_cols is not None and np.any(cost[self.scale_cols]):
            return objective_scale(cost[self.scale_cols])
        keep = np.ones(len(cost), dtype=bool)
        if self.penalty_cols is not None:
            keep[self.penalty_cols] = False
        return objective_scale(cost[keep] if keep.any() and np.any(cost[keep]) else cost)

    @property
    def n_cols(self) -> int:
        """Number of variables."""
        return int(self.c.shape[0])

    @property
    def n_rows(self) -> int:
        """Number of constraints."""
        return int(self.A.shape[0])

    @property
    def is_mip(self) -> bool:
        """True when some variable must be integral."""
        return bool(self.integer.any())

    def col_name(self, i: int) -> str:
        """The label of column ``i``, e.g. ``spend[meta_dark,t3,seg2]``."""
        return _name(self.col_blocks, i)

    def row_name(self, i: int) -> str:
        """The label of row ``i``, e.g. ``goal:conversions``."""
        return _name(self.row_blocks, i)

    def col_block(self, name: str) -> Block:
        """The column block called ``name``."""
        return _block(self.col_blocks, name)

    def row_block(self, name: str) -> Block:
        """The row block called ``name``."""
        return _block(self.row_blocks, name)

    def has_row_block(self, name: str) -> bool:
        """True when a row block of that name exists."""
        return any(b.name == name for b in self.row_blocks)

    def has_col_block(self, name: str) -> bool:
        """True when a column block of that name exists."""
        return any(b.name == name for b in self.col_blocks)


@dataclass(frozen=True, eq=False)
class RawSolution:
    """What a backend returns: values in the LP's own terms.

    ``row_dual[i]`` is d(objective)/d(bound) of row ``i``'s active bound and
    ``col_dual[j]`` the reduced cost of column ``j``, both in objective units and with the
    sign of a maximisation (a positive row dual: relaxing the row's upper bound helps).
    """

    status: Status
    x: FloatArray
    objective: float
    row_dual: FloatArray | None = None
    col_dual: FloatArray | None = None
    message: str = ""
    iterations: int = 0
    solve_seconds: float = 0.0
    #: The optimal basis of an inner model's plan on backends that keep one
    #: (:attr:`Feature.WARM`), as the backend keeps it (HiGHS: a ``Basis``, which unpacks,
    #: copies and pickles as column and row status codes): a start for another LP of the
    #: same shape (``WarmBackend.solve(start=)``).
    basis: Any = None


def _name(blocks: Sequence[Block], i: int) -> str:
    for b in blocks:
        if i in b:
            return b.label(i - b.start)
    raise IndexError(i)


def _block(blocks: Sequence[Block], name: str) -> Block:
    for b in blocks:
        if b.name == name:
            return b
    raise KeyError(name)


def objective_scale(c: FloatArray) -> float:
    """A power of two that brings the largest objective coefficient near 1.

    Solvers judge optimality with absolute tolerances (1e-7): an objective in conversions
    per currency unit (1e-5) or per 1,000,000 (money scaled up) would be optimal "to the
    tolerance" long before it is optimal. Pass the coefficients of the decisions that
    matter (:attr:`LinearProgram.scale_cols`): a soft goal's penalty weight of 23,000 per
    unit of reach share, scaled to 1, once left conversions per euro at 4e-6 and HiGHS
    stopped 30% short of the optimum, "optimal" to its tolerance.
    """
    top = float(np.max(np.abs(c), initial=0.0))
    return float(_pow2(np.array([1.0 / top]))[0]) if top > 0 else 1.0


def equilibrate(lp: LinearProgram, passes: int = 6) -> tuple[LinearProgram, FloatArray, FloatArray]:
    """A scaled copy of ``lp`` whose matrix entries sit near 1, and the scales to undo it.

    Geometric-mean scaling of rows and columns by powers of two (exact in floating point):
    ``A' = R A C``. A solution ``x'`` of the copy maps back as ``x = C x'``, row duals as
    ``y = R y'`` and reduced costs as ``d = d' / C``. Solvers without good scaling of
    their own (CBC on impressions in the millions beside rates in the thousandths) solve
    the copy accurately.
    """
    # The objective takes part as one more row, so columns are not scaled in a way that
    # spreads its coefficients over many orders of magnitude.
    a = sparse.csr_matrix(sparse.vstack([lp.A, sparse.csr_matrix(lp.c)]), copy=True)
    a.eliminate_zeros()
    a.data = np.abs(a.data)
    m, n = a.shape
    row = np.ones(m)
    col = np.ones(n)
    for _ in range(passes):
        scaled = sparse.diags(row) @ a @ sparse.diags(col)
        r_max = _reduce(scaled, 1, np.maximum)
        r_min = _reduce(scaled, 1, np.minimum)
        row *= _pow2(1.0 / np.sqrt(r_max * r_min))
        scaled = sparse.diags(row) @ a @ sparse.diags(col)
        c_max = _reduce(scaled, 0, np.maximum)
        c_min = _reduce(scaled, 0, np.minimum)
        col *= _pow2(1.0 / np.sqrt(c_max * c_min))
        col[lp.integer] = 1.0  # an integer variable must stay integral: never rescaled
    row = row[:-1]  # the objective's own row scale is objective_scale's job
    out = LinearProgram(
        c=lp.c * col,
        A=sparse.csr_matrix(sparse.diags(row) @ lp.A @ sparse.diags(col)),
        row_lo=lp.row_lo * row,
        row_hi=lp.row_hi * row,
        col_lo=lp.col_lo / col,
        col_hi=lp.col_hi / col,
        integer=lp.integer,
        col_blocks=lp.col_blocks,
        row_blocks=lp.row_blocks,
        c0=lp.c0,
        sense=lp.sense,
        meta=lp.meta,
        scale_cols=lp.scale_cols,
        penalty_cols=lp.penalty_cols,
    )
    return out, col, row


def _reduce(m: sparse.spmatrix, axis: int, op: np.ufunc) -> FloatArray:
    """Row (axis=1) or column (axis=0) max/min of the nonzeros; 1 where there are none."""
    csx = sparse.csr_matrix(m) if axis == 1 else sparse.csc_matrix(m)
    out = np.ones(csx.shape[0] if axis == 1 else csx.shape[1])
    nz = np.diff(csx.indptr) > 0
    out[nz] = op.reduceat(csx.data, csx.indptr[:-1][nz])
    return out


def _pow2(x: FloatArray) -> FloatArray:
    """The nearest power of two (scaling by it is exact)."""
    return np.asarray(np.exp2(np.round(np.log2(np.clip(x, 1e-30, 1e30)))), dtype=float)
