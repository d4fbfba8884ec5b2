"""Conservative piecewise-linear approximation of the model's concave curves (design 4.1).

Each curve is replaced by chords between breakpoints. A chord of a concave curve lies
below it, so the optimiser never promises more than the model delivers, and breakpoints
are placed so that the chord is within a relative tolerance ``eps`` of the curve
everywhere: ``(1 - eps) * f(x) <= chord(x) <= f(x)``.

Both curves are used in a normalised form, ``f(x) = 1 - exp(-x)`` (delivery, and
exponential reach) and ``f(x) = x / (1 + x)`` (hyperbolic reach), so one set of
breakpoints per (shape, tolerance) serves every tactic: scale x by the tactic's
saturation spend and f by its saturation impressions.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from funnelopt.outcome import FloatArray


def curve(x: FloatArray, shape: str) -> FloatArray:
    """The normalised concave curve ``f(x)``."""
    if shape == "hyperbolic":
        return np.asarray(x / (1.0 + x), dtype=float)
    return np.asarray(-np.expm1(-x), dtype=float)


def _worst_relative_gap(a: float, b: float, shape: str) -> float:
    """Largest ``(f - chord) / f`` on ``[a, b]`` (sampled densely; the gap is smooth)."""
    xs = np.linspace(a, b, 65)[1:]
    fa, fb = curve(np.array([a, b]), shape)
    chord = fa + (fb - fa) * (xs - a) / (b - a)
    f = curve(xs, shape)
    return float(np.max((f - chord) / f))


@lru_cache(maxsize=32)
def _breakpoints(shape: str, eps: float, x_max: float) -> tuple[float, ...]:
    # The sampled gap can understate the true one slightly; aim a little inside eps.
    target = eps * 0.98
    points = [0.0]
    while points[-1] < x_max:
        points.append(_next_breakpoint(points[-1], shape, target, x_max))
    return tuple(points)


def _next_breakpoint(a: float, shape: str, target: float, x_max: float) -> float:
    """The longest chord from ``a`` whose relative gap stays within ``target``."""
    if _worst_relative_gap(a, x_max, shape) <= target:
        return x_max
    # The gap grows with the chord's length: grow the chord, then bisect.
    lo, hi = a, a + 4 * target
    while hi < x_max and _worst_relative_gap(a, hi, shape) <= target:
        lo, hi = hi, a + 2 * (hi - a)
    hi = min(hi, x_max)
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        if _worst_relative_gap(a, mid, shape) <= target:
            lo = mid
        else:
            hi = mid
    return lo


#: Breakpoints are computed once up to a normalised cap and cut to each curve's domain.
X_CAP = 64.0


def breakpoints(shape: str, eps: float, x_max: float) -> FloatArray:
    """Breakpoints ``0 = x_0 < ... < x_K = x_max`` of the normalised curve for tolerance ``eps``."""
    if not 0 < eps < 0.5:
        raise ValueError(f"tolerance must be in (0, 0.5), got {eps}")
    if not x_max > 0:
        raise ValueError(f"x_max must be > 0, got {x_max}")
    if shape == "exponential" and x_max > X_CAP:
        # Beyond X_CAP the curve is flat to within exp(-64): one more chord is exact enough.
        full = np.array(_breakpoints(shape, float(eps), X_CAP))
        return np.append(full, x_max)
    # Cache by a power-of-two cap so nearby domains share one computation.
    cap = X_CAP if x_max <= X_CAP else float(2 ** np.ceil(np.log2(x_max)))
    full = np.array(_breakpoints(shape, float(eps), cap))
    inner = full[(full > 0) & (full < x_max)]
    return np.concatenate(([0.0], inner, [x_max]))


def segments(shape: str, eps: float, x_max: float) -> tuple[FloatArray, FloatArray]:
    """Widths and slopes of the chords of the normalised curve on ``[0, x_max]``.

    Slopes are non-increasing (the curve is concave), so an optimiser that wants more
    output fills the segments in order.
    """
    xs = breakpoints(shape, eps, x_max)
    fs = curve(xs, shape)
    widths = np.diff(xs)
    slopes = np.diff(fs) / widths
    return widths, slopes


def chord_value(x: FloatArray, shape: str, eps: float, x_max: float) -> FloatArray:
    """The piecewise-linear value at ``x`` when segments are filled in order."""
    xs = breakpoints(shape, eps, x_max)
    return np.asarray(np.interp(x, xs, curve(xs, shape)), dtype=float)


def chord_lines(shape: str, eps: float, x_max: float) -> tuple[FloatArray, FloatArray]:
    """Intercepts and slopes of the chords as lines; their minimum is the chord curve.

    Used as a hypograph (``v <= a_m + b_m * x`` for every m) where the curve's argument is
    itself an expression, e.g. reach as a function of cumulative impressions. A final flat
    line ``v <= f(x_max)`` keeps the hypograph below the curve beyond ``x_max``.
    """
    xs = breakpoints(shape, eps, x_max)
    fs = curve(xs, shape)
    slopes = np.diff(fs) / np.diff(xs)
    intercepts = fs[:-1] - slopes * xs[:-1]
    return np.append(intercepts, fs[-1]), np.append(slopes, 0.0)
