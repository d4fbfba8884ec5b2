"""Sparse linear maps kept as triplets (row, column, value) while a model is built.

The formulation combines a hundred small blocks (a metric per period, its sum, a row
minus a switch, ...). Each scipy.sparse operation checks and converts its operands,
which costs more than the arithmetic on blocks of this size; triplets are combined with
plain numpy (a sum is a concatenation) and become one CSR matrix at the end, where
duplicates are summed.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Generic, TypeVar

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import sparse

IntArray = NDArray[np.int64]
FloatArray = NDArray[np.float64]
K = TypeVar("K")


@dataclass(frozen=True)
class Terms:
    """A ``shape[0] x shape[1]`` matrix as triplets; duplicates add up."""

    r: IntArray
    c: IntArray
    v: FloatArray
    shape: tuple[int, int]

    @classmethod
    def of(cls, rows: ArrayLike, cols: ArrayLike, vals: ArrayLike, shape: tuple[int, int]) -> Terms:
        """Entries ``vals`` (a scalar is repeated) at ``rows``, ``cols``."""
        r = np.asarray(rows, dtype=np.int64).ravel()
        c = np.asarray(cols, dtype=np.int64).ravel()
        v = np.broadcast_to(np.asarray(vals, dtype=np.float64), r.shape).copy()
        if r.shape != c.shape:
            raise ValueError(f"{len(r)} rows for {len(c)} columns")
        return cls(r, c, v, shape)

    @classmethod
    def zeros(cls, shape: tuple[int, int]) -> Terms:
        """No entries."""
        return cls.of([], [], [], shape)

    @classmethod
    def from_matrix(cls, m: sparse.spmatrix) -> Terms:
        """The entries of a scipy matrix."""
        coo = sparse.coo_matrix(m)
        return cls.of(coo.row, coo.col, coo.data, (int(coo.shape[0]), int(coo.shape[1])))

    def __add__(self, other: Terms) -> Terms:
        if other.shape != self.shape:
            raise ValueError(f"shapes {self.shape} and {other.shape} differ")
        return Terms(
            np.concatenate([self.r, other.r]),
            np.concatenate([self.c, other.c]),
            np.concatenate([self.v, other.v]),
            self.shape,
        )

    def __neg__(self) -> Terms:
        return Terms(self.r, self.c, -self.v, self.shape)

    def __sub__(self, other: Terms) -> Terms:
        return self + (-other)

    def __mul__(self, k: float) -> Terms:
        return Terms(self.r, self.c, self.v * k, self.shape)

    __rmul__ = __mul__

    def __truediv__(self, k: float) -> Terms:
        return Terms(self.r, self.c, self.v / k, self.shape)

    def rows(self, picked: ArrayLike) -> Terms:
        """The rows ``picked`` (distinct indices), in that order."""
        idx = np.asarray(picked, dtype=np.int64).ravel()
        new = np.full(self.shape[0], -1, dtype=np.int64)
        new[idx] = np.arange(len(idx))
        at = new[self.r]
        keep = at >= 0
        return Terms(at[keep], self.c[keep], self.v[keep], (len(idx), self.shape[1]))

    def where_rows(self, keep: NDArray[np.bool_]) -> Terms:
        """The entries of the rows where ``keep`` holds (the others empty)."""
        at = keep[self.r]
        return Terms(self.r[at], self.c[at], self.v[at], self.shape)

    def scaled_rows(self, factors: ArrayLike) -> Terms:
        """Row ``i`` times ``factors[i]``."""
        f = np.asarray(factors, dtype=np.float64)
        return Terms(self.r, self.c, self.v * f[self.r], self.shape)

    def total(self) -> Terms:
        """The sum of the rows, as one row."""
        return Terms(np.zeros_like(self.r), self.c, self.v, (1, self.shape[1]))

    def __matmul__(self, other: Terms) -> Terms:
        """The product (through scipy: rare, and scipy multiplies well)."""
        return Terms.from_matrix(self.csr() @ other.csr())

    def dense_row(self) -> FloatArray:
        """The sum of the rows as a dense vector."""
        return np.bincount(self.c, weights=self.v, minlength=self.shape[1]).astype(float)

    def csr(self) -> sparse.csr_matrix:
        """The matrix, duplicates summed and zeros dropped."""
        n_rows = self.shape[0]
        order = np.lexsort((self.c, self.r))
        r, c, v = self.r[order], self.c[order], self.v[order]
        if len(r) > 1:
            first = np.r_[True, (r[1:] != r[:-1]) | (c[1:] != c[:-1])]
            if not first.all():
                at = np.flatnonzero(first)
                r, c, v = r[at], c[at], np.add.reduceat(v, at)
        keep = v != 0
        r, c, v = r[keep], c[keep], v[keep]
        indptr = np.zeros(n_rows + 1, dtype=np.int64)
        np.cumsum(np.bincount(r, minlength=n_rows), out=indptr[1:])
        return sparse.csr_matrix((v, c, indptr), shape=self.shape)


@dataclass(eq=False)
class Matrices(Mapping[K, sparse.csr_matrix], Generic[K]):
    """Terms by key, each made a CSR matrix when first asked for (most never are)."""

    terms: Mapping[K, Terms]
    _made: dict[K, sparse.csr_matrix] = field(default_factory=dict, repr=False)

    def __getitem__(self, key: K) -> sparse.csr_matrix:
        m = self._made.get(key)
        if m is None:
            m = self._made[key] = self.terms[key].csr()
        return m

    def __iter__(self) -> Iterator[K]:
        return iter(self.terms)

    def __len__(self) -> int:
        return len(self.terms)
