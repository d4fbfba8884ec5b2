"""Conservative piecewise-linear approximation of the model's concave curves (design 4.1).

Each curve is replaced by chords between breakpoints. A chord of a concave curve lies
below it, so the optimiser never promises more than the model delivers, and breakpoints
are placed so that the chord is within a relative tolerance ``eps`` of the curve
everywhere: ``(1 - eps) * f(x) <= chord(x) <= f(x)``.

An outer (optimistic) version of each, from tangents at the same breakpoints, lies on or
above the curve: solving with it bounds the best the exact model can do, which is how a
plan's optimality gap is certified (:mod:`funnelopt.solve`).

The curves (:mod:`funnelopt.curves`) are used in their normalised form, so one set of
breakpoints per (shape, tolerance) serves every tactic: scale x by the tactic's
saturation spend and f by its saturation impressions.

Shapes with parameters (a Hill curve, a breakpoint table: :class:`curves.Curve` values,
not names) take :func:`_shaped_grid`: where such a curve is convex (an S-curve's start)
the roles swap - the tangents lie below it (inner) and the chords above (outer) - and a
table is its own approximation (inner = outer = the table). Their inner and outer
functions may then rise in slope, so the optimiser fills those segments in order with
binaries (:mod:`funnelopt.formulation`).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache

import numpy as np

from funnelopt import curves
from funnelopt.curves import Curve, Shape, Table
from funnelopt.outcome import FloatArray


def curve(x: FloatArray, shape: Shape) -> FloatArray:
    """The normalised concave curve ``f(x)`` (:mod:`funnelopt.curves`)."""
    return curves.get(shape).value(x)


def derivative(x: FloatArray, shape: Shape) -> FloatArray:
    """The slope ``f'(x)`` of the normalised curve."""
    return curves.get(shape).derivative(x)


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


#: Normalised slopes below this are read as flat (see :func:`segments`).
FLAT = 1e-12

#: Breakpoints are computed once up to a normalised cap and cut to each curve's domain.
X_CAP = 64.0


def breakpoints(shape: str, eps: float, x_max: float, extra: tuple[float, ...] = ()) -> FloatArray:
    """Breakpoints ``0 = x_0 < ... < x_K = x_max`` of the normalised curve for tolerance ``eps``.

    ``extra``: more breakpoints inside ``(0, x_max)`` (adaptive refinement adds them where
    the plan operates, so the curve is exact there).
    """
    if not 0 < eps < 0.5:
        raise ValueError(f"tolerance must be in (0, 0.5), got {eps}")
    if not x_max > 0:
        raise ValueError(f"x_max must be > 0, got {x_max}")
    if shape == "exponential" and x_max > X_CAP:
        # Beyond X_CAP the curve is flat to within exp(-64): one more chord is exact enough.
        base = np.append(np.array(_breakpoints(shape, float(eps), X_CAP)), x_max)
    else:
        # Cache by a power-of-two cap so nearby domains share one computation.
        cap = X_CAP if x_max <= X_CAP else float(2 ** np.ceil(np.log2(x_max)))
        full = np.array(_breakpoints(shape, float(eps), cap))
        inner = full[(full > 0) & (full < x_max)]
        base = np.concatenate(([0.0], inner, [x_max]))
    if not extra:
        return base
    points = np.asarray(extra, dtype=float)
    points = points[(points > 0) & (points < x_max)]
    merged = np.unique(np.concatenate([base, points]))
    # Points closer than round-off would make zero-width segments.
    keep = np.r_[True, np.diff(merged) > 1e-12 * max(1.0, x_max)]
    merged = merged[keep]
    merged[-1] = x_max
    return np.asarray(merged, dtype=float)


def segments(
    shape: Shape, eps: float, x_max: float, extra: tuple[float, ...] = ()
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Widths, lower slopes and upper slopes of the curve's segments on ``[0, x_max]``.

    The grid holds the breakpoints and, between each two, the point where their tangents
    meet. On it two piecewise-linear functions are linear per segment: the chords through
    every grid point (lower: on or below the curve) and the least of the tangents
    (upper: on or above it, equal at the breakpoints). Both have non-increasing slopes
    (the curve is concave), so an optimiser that wants more output fills the segments
    in order. The inner model (the plan) reads impressions off the lower function, the
    outer model (the bound) off the upper one. (Shapes with parameters: see
    :func:`_shaped_grid`; their slopes may rise.)
    """
    if isinstance(shape, Curve):
        grid, lower, upper = _shaped_grid(shape, eps, x_max, extra)
        return _slopes(np.diff(grid), lower, upper)
    grid, xs = _grid(shape, eps, x_max, extra)
    fs = curve(xs, shape)
    ds = derivative(xs, shape)
    # Chords through every grid point (the meeting points too): strictly falling slopes
    # on the two halves of a breakpoint interval, so a plan that wants output fills them
    # in order; with equal goods slopes it would fill the half with the lower load first.
    lower = curve(grid, shape)
    # The least tangent at each grid point: the tangents of the breakpoints at or next
    # to it (the others lie higher, the curve being concave).
    k = np.clip(np.searchsorted(xs, grid, side="right") - 1, 0, len(xs) - 1)
    k1 = np.minimum(k + 1, len(xs) - 1)
    upper = np.minimum(fs[k] + ds[k] * (grid - xs[k]), fs[k1] + ds[k1] * (grid - xs[k1]))
    upper = np.maximum(upper, lower)  # round-off only: the least tangent is never below
    return _slopes(np.diff(grid), lower, upper)


def _slopes(
    widths: FloatArray, lower: FloatArray, upper: FloatArray
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Widths and the lower and upper functions' slopes on each segment."""
    lo, hi = np.diff(lower) / widths, np.diff(upper) / widths
    # Slopes below 1e-12 (the curve far past saturation, e^-40 and less) count as flat:
    # the output they stand for is below any solver's tolerance, and equilibrating such
    # columns scales them by 2^90, which made CBC return a plan twice as costly "optimal".
    return widths, np.where(lo < FLAT, 0.0, lo), np.where(hi < FLAT, 0.0, hi)


def _grid(
    shape: str, eps: float, x_max: float, extra: tuple[float, ...]
) -> tuple[FloatArray, FloatArray]:
    """The segment grid (breakpoints and the tangents' meeting points) and the breakpoints."""
    xs = breakpoints(shape, eps, x_max, extra)
    fs = curve(xs, shape)
    ds = derivative(xs, shape)
    # Where two neighbouring tangents meet (the midpoint where the curve is flat to
    # round-off and they are parallel).
    x0, x1, d0, d1 = xs[:-1], xs[1:], ds[:-1], ds[1:]
    denom = d0 - d1
    with np.errstate(divide="ignore", invalid="ignore"):
        meet = (fs[1:] - fs[:-1] + d0 * x0 - d1 * x1) / denom
    meet = np.where(denom > 1e-300, meet, 0.5 * (x0 + x1))
    meet = np.clip(meet, x0, x1)
    grid = np.unique(np.concatenate([xs, meet]))
    grid = grid[np.r_[True, np.diff(grid) > 1e-12 * max(1.0, x_max)]]
    grid[-1] = x_max
    return grid, xs


@lru_cache(maxsize=32)
def tangent_excess(shape: str, eps: float) -> float:
    """The most the least-tangent function exceeds the curve, relative to it, on the base
    breakpoints for ``eps`` (added breakpoints only lower it); with a small safety margin."""
    widths, _, upper = segments(shape, eps, X_CAP)
    grid = np.concatenate([[0.0], np.cumsum(widths)])
    top = np.concatenate([[0.0], np.cumsum(widths * upper)])
    # Between grid points both functions are linear or concave: sample each piece densely.
    t = np.linspace(0.0, 1.0, 33)[1:-1]
    xs = (grid[:-1, None] + widths[:, None] * t).ravel()
    ys = (top[:-1, None] + (widths * upper)[:, None] * t).ravel()
    f = curve(xs, shape)
    return float(np.max((ys - f) / f)) * 1.02


def chord_value(
    x: FloatArray, shape: Shape, eps: float, x_max: float, extra: tuple[float, ...] = ()
) -> FloatArray:
    """The lower (chord) value at ``x`` when the segments are filled in order."""
    if isinstance(shape, Curve):
        grid, lower, _ = _shaped_grid(shape, eps, x_max, extra)
        return np.asarray(np.interp(x, grid, lower), dtype=float)
    grid, _ = _grid(shape, eps, x_max, extra)
    return np.asarray(np.interp(x, grid, curve(grid, shape)), dtype=float)


def chord_lines(
    shape: str, eps: float, x_max: float, extra: tuple[float, ...] = (), *, outer: bool = False
) -> tuple[FloatArray, FloatArray]:
    """Intercepts and slopes of the chords as lines; their minimum is the chord curve.

    Used as a hypograph (``v <= a_m + b_m * x`` for every m) where the curve's argument is
    itself an expression, e.g. reach as a function of cumulative impressions. A final flat
    line ``v <= f(x_max)`` keeps the hypograph below the curve beyond ``x_max``.
    ``outer``: the tangents at every breakpoint instead, whose minimum lies on or above the
    curve everywhere.
    """
    xs = breakpoints(shape, eps, x_max, extra)
    fs = curve(xs, shape)
    if outer:
        slopes = derivative(xs, shape)
        intercepts = fs - slopes * xs
        # Nearly flat tangents (slope e^-40 far out) become flat at their value at x_max,
        # which they never exceed on the domain: such coefficients ruin solver scaling.
        flat = slopes < FLAT
        intercepts = np.where(flat, intercepts + slopes * x_max, intercepts)
        return intercepts, np.where(flat, 0.0, slopes)
    slopes = np.diff(fs) / np.diff(xs)
    intercepts = fs[:-1] - slopes * xs[:-1]
    return np.append(intercepts, fs[-1]), np.append(slopes, 0.0)


# -- shapes with parameters: S-curves and tables --------------------------------------------

#: Concave pieces of a shape with parameters keep the relative tolerance down to this
#: value of the curve (normalised), an absolute one below it: a Hill curve with slope < 1
#: rises infinitely steeply at 0, where no chord is relatively close.
SHAPED_FLOOR = 1e-3
#: An S-curve's convex start gets chords within CONVEX_SLACK x the tolerance (of its
#: value at the inflection): optimal plans rarely stay there (spend is worth buying past
#: it or not at all), so a coarse grid costs little, and each of its segments is a binary
#: per cell. Measured on 15 S-curve scenarios (benchmarks/curves.py): slack 1 took 72 s
#: in all (one case 45 s, its gap 1.3% not met), slack 2 28 s and slack 4 31 s, every
#: gap within 0.5%.
CONVEX_SLACK = 2.0


def _shaped_grid(
    shape: Curve, eps: float, x_max: float, extra: tuple[float, ...]
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """The segment grid on ``[0, x_max]`` and the lower and upper functions on it.

    A table: its points (and ``extra``); both functions are the table. A smooth curve:
    on its convex part (up to the inflection) tangent points, the lower function the
    greatest of their tangents, the upper one the chords; on its concave part
    breakpoints, the lower function the chords, the upper one the least tangent. The grid
    holds the points and where neighbouring tangents meet, so both functions are linear
    on every segment and meet the curve at every point (the chords run through every grid
    point, so their slopes strictly rise on the convex part and fall on the concave one).
    """
    if not x_max > 0:
        raise ValueError(f"x_max must be > 0, got {x_max}")
    keep = np.asarray(extra, dtype=float)
    keep = keep[(keep > 0) & (keep < x_max)]
    if isinstance(shape, Table):
        knots = np.asarray(shape.xs, dtype=float)
        grid = _merged(np.concatenate([knots[knots < x_max], keep, [x_max]]), x_max)
        f = curve(grid, shape)
        return grid, f, f
    cap = X_CAP if x_max <= X_CAP else float(2 ** np.ceil(np.log2(x_max)))
    convex, concave = _shaped_points(shape, float(eps), cap)
    xi = shape.inflection
    ts = _merged(np.concatenate([[0.0], [p for p in convex if p < x_max], keep[keep < xi]]), x_max)
    if xi >= x_max:
        ts = _merged(np.append(ts, x_max), x_max)
        bs = np.zeros(0)
    else:
        bs = np.concatenate([[xi], [p for p in concave if p < x_max], keep[keep > xi], [x_max]])
        bs = _merged(bs, x_max)
    grid = _merged(np.concatenate([ts, _meets(ts, shape), bs, _meets(bs, shape)]), x_max)
    lower, upper = np.empty_like(grid), np.empty_like(grid)
    left = grid <= (ts[-1] if len(ts) else 0.0)
    if len(ts) > 1:
        tangents = curve(ts, shape) + derivative(ts, shape) * (grid[left, None] - ts)
        lower[left] = tangents.max(axis=1)
        # Chords through every grid point: on or above the convex part, slopes rising.
        upper[left] = curve(grid[left], shape)
    else:
        lower[left] = upper[left] = 0.0
    if len(bs):
        right = ~left
        tangents = curve(bs, shape) + derivative(bs, shape) * (grid[right, None] - bs)
        # Chords through every grid point: on or below the concave part, slopes falling.
        lower[right] = curve(grid[right], shape)
        upper[right] = tangents.min(axis=1)
    # Round-off only: the lower function never exceeds the upper one, nor starts above 0.
    lower = np.minimum(lower, upper)
    lower[0] = upper[0] = 0.0
    return grid, np.maximum(lower, 0.0), upper


def _merged(points: FloatArray, x_max: float) -> FloatArray:
    """Sorted unique points, none closer than round-off."""
    p = np.unique(np.asarray(points, dtype=float))
    p = p[np.r_[True, np.diff(p) > 1e-12 * max(1.0, x_max)]] if len(p) else p
    return np.asarray(p, dtype=float)


def _meets(points: FloatArray, shape: Curve) -> FloatArray:
    """Where the tangents at neighbouring points meet (inside their interval)."""
    if len(points) < 2:
        return np.zeros(0)
    f, d = curve(points, shape), derivative(points, shape)
    x0, x1, d0, d1 = points[:-1], points[1:], d[:-1], d[1:]
    denom = d0 - d1
    with np.errstate(divide="ignore", invalid="ignore"):
        meet = (f[1:] - f[:-1] + d0 * x0 - d1 * x1) / denom
    meet = np.where(np.abs(denom) > 1e-300, meet, 0.5 * (x0 + x1))
    meet = np.where(np.isfinite(meet), meet, 0.5 * (x0 + x1))
    return np.asarray(np.clip(meet, x0, x1), dtype=float)


@lru_cache(maxsize=64)
def _shaped_points(
    shape: Curve, eps: float, cap: float
) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Tangent points on the convex part and breakpoints on the concave part, up to ``cap``.

    Convex part: the chord between neighbours is within ``CONVEX_SLACK * eps *
    f(inflection)`` of the curve (absolute: relative closeness is impossible where an
    S-curve starts flat); the tangents' gap is alike. Concave part: within ``eps`` relative, down to
    :data:`SHAPED_FLOOR`.
    """
    xi = min(shape.inflection, cap)
    target = eps * 0.98
    convex: list[float] = []
    if xi > 0:
        level = float(curve(np.array([xi]), shape)[0])
        a, gap = 0.0, CONVEX_SLACK * target * level
        while a < xi:
            a = _longest(a, xi, lambda a, b: _convex_gap(a, b, shape) <= gap)
            convex.append(a)
    concave: list[float] = []
    a = xi
    while a < cap:
        a = _longest(a, cap, lambda a, b: _concave_gap(a, b, shape) <= target)
        concave.append(a)
    return tuple(convex), tuple(concave)


def _longest(a: float, x_max: float, ok: Callable[[float, float], bool]) -> float:
    """The largest ``b`` in ``(a, x_max]`` with ``ok(a, b)`` (``ok`` holds for short ones)."""
    if ok(a, x_max):
        return x_max
    lo, hi = a, a + 1e-3 * max(1.0, a)
    while hi < x_max and ok(a, hi):
        lo, hi = hi, a + 2 * (hi - a)
    hi = min(hi, x_max)
    for _ in range(80):
        mid = 0.5 * (lo + hi)
        if ok(a, mid):
            lo = mid
        else:
            hi = mid
    return lo if lo > a else hi


def _convex_gap(a: float, b: float, shape: Curve) -> float:
    """Largest ``chord - f`` on ``[a, b]`` (sampled densely)."""
    xs = np.linspace(a, b, 65)
    fa, fb = curve(np.array([a, b]), shape)
    return float(np.max(fa + (fb - fa) * (xs - a) / (b - a) - curve(xs, shape)))


def _concave_gap(a: float, b: float, shape: Curve) -> float:
    """Largest ``(f - chord) / max(f, SHAPED_FLOOR)`` on ``[a, b]`` (sampled densely)."""
    xs = np.linspace(a, b, 65)[1:]
    fa, fb = curve(np.array([a, b]), shape)
    f = curve(xs, shape)
    return float(np.max((f - fa - (fb - fa) * (xs - a) / (b - a)) / np.maximum(f, SHAPED_FLOOR)))
