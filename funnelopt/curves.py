"""Response curves: the concave shapes of delivery and reach, one class per shape.

Each curve is used in a normalised form ``f(x)`` with ``f(0) = 0``, rising to 1: scale
``x`` by a saturation point (a tactic's saturation spend, an audience's size) and ``f``
by the level it saturates at. The simulator evaluates them, :mod:`funnelopt.pwl`
approximates them (chords below, tangents above). A new shape is one new class here,
registered in :data:`CURVES`.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]


class Curve:
    """A concave, increasing curve with ``f(0) = 0`` and ``f(x) -> 1``."""

    name: ClassVar[str]

    def value(self, x: Any) -> FloatArray:
        """``f(x)``."""
        raise NotImplementedError

    def derivative(self, x: Any) -> FloatArray:
        """``f'(x)``."""
        raise NotImplementedError

    def inverse(self, y: Any) -> FloatArray:
        """The ``x`` with ``f(x) = y`` (``inf`` at ``y >= 1``)."""
        raise NotImplementedError

    def flat_beyond(self, tol: float) -> float:
        """The ``x`` past which ``1 - f(x) < tol``: more input buys (almost) nothing."""
        return float(self.inverse(1.0 - tol))


class Exponential(Curve):
    """``1 - exp(-x)``: delivery (design 2.1) and reach with random duplication (2.2)."""

    name = "exponential"

    def value(self, x: Any) -> FloatArray:
        return np.asarray(-np.expm1(-np.asarray(x, dtype=float)), dtype=float)

    def derivative(self, x: Any) -> FloatArray:
        return np.asarray(np.exp(-np.asarray(x, dtype=float)), dtype=float)

    def inverse(self, y: Any) -> FloatArray:
        y = np.asarray(y, dtype=float)
        with np.errstate(divide="ignore"):
            return np.asarray(np.where(y < 1, -np.log1p(-np.minimum(y, 1.0)), math.inf))


class Hyperbolic(Curve):
    """``x / (1 + x)``: the more conservative reach curve (design 2.2)."""

    name = "hyperbolic"

    def value(self, x: Any) -> FloatArray:
        x = np.asarray(x, dtype=float)
        return np.asarray(x / (1.0 + x), dtype=float)

    def derivative(self, x: Any) -> FloatArray:
        return np.asarray(1.0 / (1.0 + np.asarray(x, dtype=float)) ** 2, dtype=float)

    def inverse(self, y: Any) -> FloatArray:
        y = np.asarray(y, dtype=float)
        with np.errstate(divide="ignore"):
            return np.asarray(np.where(y < 1, y / np.maximum(1.0 - y, 0.0), math.inf))


#: Every curve by name.
CURVES: dict[str, Curve] = {c.name: c for c in (Exponential(), Hyperbolic())}


def get(name: str) -> Curve:
    """The curve called ``name`` (KeyError names the known ones)."""
    try:
        return CURVES[name]
    except KeyError:
        raise KeyError(f"unknown curve {name!r}; known: {', '.join(CURVES)}") from None


def saturating(x: Any, level: Any, scale: Any, name: str = "exponential") -> FloatArray:
    """``level * f(x / scale)``: a curve in the user's units."""
    return np.asarray(level * get(name).value(np.asarray(x, dtype=float) / scale), dtype=float)
