"""Solver backends: each turns a LinearProgram into a RawSolution.

A backend knows nothing of scenarios. Solver quirks (status codes, dual signs) stay inside
each backend module, mapped to :class:`~funnelopt.lp.Status`.
"""

from __future__ import annotations

from typing import Protocol

from funnelopt.errors import Problem, ScenarioError
from funnelopt.lp import LinearProgram, RawSolution


class Backend(Protocol):
    """What the optimiser needs of a solver."""

    name: str
    #: True when it returns row duals and reduced costs for LPs.
    duals: bool
    #: True when it reports ranging (the bound range over which the basis stays optimal).
    ranging: bool

    def solve(self, lp: LinearProgram, time_limit: float | None = None) -> RawSolution:
        """Solve ``lp`` (a maximisation) and return the raw solution."""
        ...

    def bound_range(self, row: int) -> tuple[float, float] | None:
        """The range of row ``row``'s bound over which the last LP's basis stays optimal."""
        ...


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


__all__ = ["BACKENDS", "Backend", "get_backend"]
