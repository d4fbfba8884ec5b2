"""Response curves: the shapes of delivery and reach, one class per shape.

Each curve is used in a normalised form ``f(x)`` with ``f(0) = 0``, rising to 1: scale
``x`` by a saturation point (a tactic's saturation spend, an audience's size) and ``f``
by the level it saturates at. The simulator evaluates them, :mod:`funnelopt.pwl`
approximates them (chords below, tangents above where concave; the reverse where convex).
A new parameter-free shape is one new class here, registered in :data:`CURVES`; shapes
with parameters (:class:`Hill`, :class:`Table`) are frozen values, one per tactic.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]


class Curve:
    """An increasing curve with ``f(0) = 0`` and ``f(x) -> 1``: concave, or convex up to
    its :attr:`inflection` and concave beyond (an S-shape)."""

    name: ClassVar[str]

    @property
    def inflection(self) -> float:
        """Where the curve turns from convex to concave (0: concave throughout)."""
        return 0.0

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


class Logistic(Curve):
    """``(1 - exp(-x)) / (1 + exp(-x))`` (= ``tanh(x / 2)``): PyMC-Marketing's
    ``logistic_saturation`` with ``x = lam * spend``. Concave, slope 1/2 at 0."""

    name = "logistic"

    def value(self, x: Any) -> FloatArray:
        return np.asarray(np.tanh(0.5 * np.asarray(x, dtype=float)), dtype=float)

    def derivative(self, x: Any) -> FloatArray:
        return np.asarray(0.5 / np.cosh(0.5 * np.asarray(x, dtype=float)) ** 2, dtype=float)

    def inverse(self, y: Any) -> FloatArray:
        y = np.asarray(y, dtype=float)
        with np.errstate(divide="ignore"):
            return np.asarray(np.where(y < 1, 2.0 * np.arctanh(np.minimum(y, 1.0)), math.inf))


@dataclass(frozen=True)
class Hill(Curve):
    """``x^k / (1 + x^k)`` with ``x = spend / half``: S-shaped for ``k > 1`` (convex up to
    ``((k - 1) / (k + 1))^(1/k)``), concave for ``k <= 1``."""

    name: ClassVar[str] = "hill"
    slope: float = 1.0

    @property
    def inflection(self) -> float:
        k = self.slope
        return float(((k - 1) / (k + 1)) ** (1 / k)) if k > 1 else 0.0

    def value(self, x: Any) -> FloatArray:
        xk = np.asarray(x, dtype=float) ** self.slope
        return np.asarray(xk / (1.0 + xk), dtype=float)

    def derivative(self, x: Any) -> FloatArray:
        x = np.asarray(x, dtype=float)
        k = self.slope
        with np.errstate(divide="ignore", invalid="ignore"):
            d = k * x ** (k - 1) / (1.0 + x**k) ** 2
        # At 0 the slope is 0 (k > 1), 1 (k = 1) or unbounded (k < 1; large but finite).
        return np.asarray(np.where(np.isfinite(d), d, 1e12), dtype=float)

    def inverse(self, y: Any) -> FloatArray:
        y = np.asarray(y, dtype=float)
        with np.errstate(divide="ignore"):
            r = np.where(y < 1, y / np.maximum(1.0 - y, 1e-300), math.inf)
        return np.asarray(r ** (1.0 / self.slope), dtype=float)


@dataclass(frozen=True)
class Table(Curve):
    """Piecewise-linear through ``(xs[i], ys[i])`` (normalised: both end at 1, start at
    0), flat beyond the last point. Exact in the optimiser: every point is a breakpoint."""

    name: ClassVar[str] = "breakpoints"
    xs: tuple[float, ...] = (0.0, 1.0)
    ys: tuple[float, ...] = (0.0, 1.0)

    @property
    def slopes(self) -> FloatArray:
        """The slope of each piece."""
        return np.asarray(np.diff(self.ys) / np.diff(self.xs), dtype=float)

    @property
    def concave(self) -> bool:
        """Whether the pieces' slopes never rise."""
        return bool(np.all(np.diff(self.slopes) <= 1e-12 * max(1.0, float(self.slopes.max()))))

    @property
    def inflection(self) -> float:
        """The last point where the slope rises (0 when concave)."""
        rises = np.flatnonzero(np.diff(self.slopes) > 0)
        return float(self.xs[int(rises[-1]) + 1]) if len(rises) and not self.concave else 0.0

    def value(self, x: Any) -> FloatArray:
        return np.asarray(np.interp(np.asarray(x, dtype=float), self.xs, self.ys), dtype=float)

    def derivative(self, x: Any) -> FloatArray:
        """The slope of the piece starting at or before ``x`` (0 beyond the table)."""
        x = np.asarray(x, dtype=float)
        k = np.searchsorted(self.xs, x, side="right") - 1
        slopes = np.append(self.slopes, 0.0)
        return np.asarray(slopes[np.clip(k, 0, len(slopes) - 1)], dtype=float)

    def inverse(self, y: Any) -> FloatArray:
        y = np.asarray(y, dtype=float)
        # The least x reaching y (flat pieces: their start).
        ys = np.maximum.accumulate(np.asarray(self.ys))
        k = np.clip(np.searchsorted(ys, y, side="left"), 1, len(ys) - 1)
        x0, x1 = np.asarray(self.xs)[k - 1], np.asarray(self.xs)[k]
        y0, y1 = ys[k - 1], ys[k]
        with np.errstate(divide="ignore", invalid="ignore"):
            x = np.where(y1 > y0, x0 + (y - y0) * (x1 - x0) / (y1 - y0), x0)
        return np.asarray(np.where(y < 1, x, math.inf), dtype=float)

    def flat_beyond(self, tol: float) -> float:
        return float(self.xs[-1])


#: Every parameter-free curve by name.
CURVES: dict[str, Curve] = {c.name: c for c in (Exponential(), Hyperbolic(), Logistic())}

#: A curve by name, or a curve itself (shapes with parameters).
Shape = str | Curve


def get(name: Shape) -> Curve:
    """The curve called ``name`` (KeyError names the known ones); a curve stays itself."""
    if isinstance(name, Curve):
        return name
    try:
        return CURVES[name]
    except KeyError:
        raise KeyError(f"unknown curve {name!r}; known: {', '.join(CURVES)}") from None


def is_concave(shape: Shape) -> bool:
    """Whether the curve is concave throughout (a pure LP in the optimiser)."""
    return get(shape).inflection <= 0


def saturating(x: Any, level: Any, scale: Any, name: Shape = "exponential") -> FloatArray:
    """``level * f(x / scale)``: a curve in the user's units."""
    return np.asarray(level * get(name).value(np.asarray(x, dtype=float) / scale), dtype=float)


def adstock_weights(alpha: float, l_max: int, normalize: bool) -> FloatArray:
    """Geometric adstock weights ``alpha^l`` for lags ``l = 0 .. l_max - 1`` (divided by
    their sum when ``normalize``): PyMC-Marketing's ``geometric_adstock``."""
    w = float(alpha) ** np.arange(l_max, dtype=float)
    return np.asarray(w / w.sum() if normalize else w, dtype=float)


def adstocked(spend: Any, weights: FloatArray, before: Any = ()) -> FloatArray:
    """Adstocked spend per period (last axis): ``a[t] = sum_l weights[l] * s[t - l]``,
    where the periods before the first are ``before`` (oldest first), else 0."""
    x = np.asarray(spend, dtype=float)
    b = np.broadcast_to(np.asarray(before, dtype=float), (*x.shape[:-1], len(before)))
    full = np.concatenate([b, x], axis=-1)
    n_b, n_t = b.shape[-1], x.shape[-1]
    out = np.zeros_like(x)
    for lag, w in enumerate(weights):
        start = n_b - lag  # full[start + t] is s[t - lag]
        lo = max(0, -start)
        if lo < n_t:
            out[..., lo:] += w * full[..., start + lo : start + n_t]
    return out
