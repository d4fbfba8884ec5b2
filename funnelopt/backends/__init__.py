"""Solver backends: each turns a LinearProgram into a RawSolution.

A backend knows nothing of scenarios. Solver quirks (status codes, dual signs) stay inside
each backend module, mapped to :class:`~funnelopt.lp.Status`.
"""

from __future__ import annotations

from enum import Flag, auto
from typing import Protocol

import numpy as np
from scipy import sparse

from funnelopt.errors import Problem, ScenarioError
from funnelopt.lp import LinearProgram, RawSolution


class Feature(Flag):
    """What a backend can do beyond solving, declared by the backend itself."""

    #: Row duals and reduced costs for LPs.
    DUALS = auto()
    #: Ranging: the bound range over which the last LP's basis stays optimal.
    RANGING = auto()
    #: Keeps the loaded model: ``resolve`` and ``add_row`` (a :class:`WarmBackend`).
    WARM = auto()


class Backend(Protocol):
    """What the optimiser needs of a solver."""

    name: str
    features: Feature

    def solve(self, lp: LinearProgram, time_limit: float | None = None) -> RawSolution:
        """Solve ``lp`` (a maximisation) and return the raw solution."""
        ...

    def bound_range(self, row: int) -> tuple[float, float] | None:
        """The range of row ``row``'s bound over which the last LP's basis stays optimal."""
        ...


class WarmBackend(Backend, Protocol):
    """A backend with :attr:`Feature.WARM`: it keeps the model of its last ``solve``."""

    def solve(
        self, lp: LinearProgram, time_limit: float | None = None, start: object = None
    ) -> RawSolution:
        """Solve ``lp``, from ``start`` (a :attr:`RawSolution.basis` of an LP of the same
        shape) when given."""
        ...

    def resolve(
        self,
        *,
        row_bounds: dict[int, tuple[float, float]] | None = None,
        col_bounds: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
        cost: np.ndarray | None = None,
        time_limit: float | None = None,
    ) -> RawSolution:
        """Change bounds or the objective of the loaded model and re-solve from its basis."""
        ...

    def add_row(self, coefs: sparse.spmatrix, lo: float, hi: float) -> int:
        """Add a row to the loaded model; its index."""
        ...

    def basis(self) -> object:
        """The last solve's basis: a ``start`` for :meth:`solve`; it copies and pickles
        (HiGHS: a :class:`~funnelopt.backends.highs.Basis`, status-code arrays when read)."""
        ...


def warm(backend: Backend) -> WarmBackend | None:
    """The backend as a :class:`WarmBackend` when it declares :attr:`Feature.WARM`."""
    return backend if Feature.WARM in backend.features else None  # type: ignore[return-value]


BACKENDS = ("highs", "pulp")


def get_backend(name: str) -> Backend:
    """The backend called ``name`` (``highs`` or ``pulp``)."""
    if name == "highs":
        from funnelopt.backends.highs import HighsBackend

        return HighsBackend()
    if name == "pulp":
        from funnelopt.backends.pulp import PulpBackend

        return PulpBackend()
    raise ScenarioError([Problem("backend", name, f"must be one of {', '.join(BACKENDS)}")])


__all__ = ["BACKENDS", "Backend", "Feature", "WarmBackend", "get_backend", "warm"]
