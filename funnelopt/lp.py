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
    ERROR = "error"


@dataclass(frozen=True)
class Block:
    """A named block of consecutive columns or rows: ``name[labels...]``."""

    name: str
    start: int
    size: int
    label: Callable[[int], str]

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
