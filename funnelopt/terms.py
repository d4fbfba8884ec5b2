"""Sparse linear maps kept as triplets (row, column, value) while a model is built.

The formulation combines a hundred small blocks (a metric per period, its sum, a row
minus a switch, ...). Each scipy.sparse operation checks and converts its operands,
which costs more than the arithmetic on blocks of this size; triplets are combined with
plain numpy and become one CSR matrix at the end, where duplicates are summed.

A map is a sum of parts. Parts on the same index arrays (the same objects: every metric
per spend segment is built on the segments' arrays) add value by value, so a sum of
such maps stays the size of one (52 weeks x 200 tactics: 350,000 entries, where
concatenating would make cost_total 1.4 million); other parts are kept side by side.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import sparse

IntArray = NDArray[np.int64]
FloatArray = NDArray[np.float64]
K = TypeVar("K")
Part = tuple[IntArray, IntArray, FloatArray]


@dataclass(frozen=True)
class Terms:
    """A ``shape[0] x shape[1]`` matrix as parts of triplets; duplicates add up."""

    parts: tuple[Part, ...]
    shape: tuple[int, int]

    @classmethod
    def of(cls, rows: ArrayLike, cols: ArrayLike, vals: ArrayLike, shape: tuple[int, int]) -> Terms:
        """Entries ``vals`` (a scalar is repeated) at ``rows``, ``cols``; index arrays that
        are 1-d int64 already are kept as they are (not copied), so maps built on the
        same arrays share them."""
        r, c = _flat(rows), _flat(cols)
        if r.shape != c.shape:
            raise ValueError(f"{len(r)} rows for {len(c)} columns")
        v = np.broadcast_to(np.asarray(vals, dtype=np.float64), r.shape).copy()
        return cls(((r, c, v),), shape)

    @classmethod
    def zeros(cls, shape: tuple[int, int]) -> Terms:
        """No entries."""
        return cls((), shape)

    @classmethod
    def from_matrix(cls, m: sparse.spmatrix) -> Terms:
        """The entries of a scipy matrix."""
        coo = sparse.coo_matrix(m)
        return cls.of(coo.row, coo.col, coo.data, (int(coo.shape[0]), int(coo.shape[1])))

    @property
    def r(self) -> IntArray:
        """Every entry's row."""
        return concat([p[0] for p in self.parts], np.int64)

    @property
    def c(self) -> IntArray:
        """Every entry's column."""
        return concat([p[1] for p in self.parts], np.int64)

    @property
    def v(self) -> FloatArray:
        """Every entry's value."""
        return concat([p[2] for p in self.parts], np.float64)

    def __len__(self) -> int:
        """Entries stored (duplicates counted)."""
        return sum(len(p[2]) for p in self.parts)

    def __add__(self, other: Terms) -> Terms:
        if other.shape != self.shape:
            raise ValueError(f"shapes {self.shape} and {other.shape} differ")
        parts = list(self.parts)
        for r, c, v in other.parts:
            same = next((i for i, p in enumerate(parts) if p[0] is r and p[1] is c), None)
            if same is None:
                parts.append((r, c, v))
            else:
                parts[same] = (r, c, parts[same][2] + v)
        return Terms(tuple(parts), self.shape)

    def __neg__(self) -> Terms:
        return self._values(lambda v: -v)

    def __sub__(self, other: Terms) -> Terms:
        return self + (-other)

    def __mul__(self, k: float) -> Terms:
        return self._values(lambda v: v * k)

    __rmul__ = __mul__

    def __truediv__(self, k: float) -> Terms:
        return self._values(lambda v: v / k)

    def _values(self, f: Callable[[FloatArray], FloatArray]) -> Terms:
        """The same entries with values ``f(v)`` (index arrays shared)."""
        return Terms(tuple((r, c, f(v)) for r, c, v in self.parts), self.shape)

    def rows(self, picked: ArrayLike) -> Terms:
        """The rows ``picked`` (distinct indices), in that order."""
        idx = np.asarray(picked, dtype=np.int64).reshape(-1)
        if len(np.unique(idx)) != len(idx):
            raise ValueError("rows() takes distinct row indices")
        new = np.full(self.shape[0], -1, dtype=np.int64)
        new[idx] = np.arange(len(idx))
        parts = []
        for r, c, v in self.parts:
            at = new[r]
            keep = at >= 0
            parts.append((at[keep], c[keep], v[keep]))
        return Terms(tuple(parts), (len(idx), self.shape[1]))

    def where_rows(self, keep: NDArray[np.bool_]) -> Terms:
        """The entries of the rows where ``keep`` holds (the others empty)."""
        parts = []
        for r, c, v in self.parts:
            at = keep[r]
            parts.append((r[at], c[at], v[at]))
        return Terms(tuple(parts), self.shape)

    def scaled_rows(self, factors: ArrayLike) -> Terms:
        """Row ``i`` times ``factors[i]``."""
        f = np.asarray(factors, dtype=np.float64)
        return Terms(tuple((r, c, v * f[r]) for r, c, v in self.parts), self.shape)

    def total(self) -> Terms:
        """The sum of the rows, as one row."""
        return Terms(tuple((np.zeros_like(r), c, v) for r, c, v in self.parts), (1, self.shape[1]))

    def __matmul__(self, other: Terms) -> Terms:
        """The product (through scipy: rare, and scipy multiplies well)."""
        return Terms.from_matrix(self.csr() @ other.csr())

    def dense_row(self) -> FloatArray:
        """The sum of the rows as a dense vector."""
        out = np.zeros(self.shape[1])
        for _, c, v in self.parts:
            out += np.bincount(c, weights=v, minlength=self.shape[1])
        return out

    def csr(self) -> sparse.csr_matrix:
        """The matrix, duplicates summed, indices sorted, zeros dropped (scipy's compiled
        conversion: 6x faster than a numpy sort from a few thousand entries up)."""
        m = sparse.csr_matrix((self.v, (self.r, self.c)), shape=self.shape)
        m.eliminate_zeros()
        return m


def _flat(a: ArrayLike) -> IntArray:
    """``a`` as a 1-d int64 array: the same object when it is one."""
    out = np.asarray(a, dtype=np.int64)
    return out if out.ndim == 1 else out.reshape(-1)


def concat(arrays: list[NDArray[Any]], dtype: type) -> NDArray[Any]:
    """``arrays`` as one array: the array itself when there is one (no copy), an empty
    array of ``dtype`` when there is none."""
    if len(arrays) == 1:
        return arrays[0]
    return np.concatenate(arrays) if arrays else np.zeros(0, dtype)


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
