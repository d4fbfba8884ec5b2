"""Sweeps: re-plan over a grid of one or two scenario fields (design section 5).

A budget sweep gives the efficient frontier (budget -> best objective) and its knee.
Every point is planned by :func:`funnelopt.optimize` (certified, so a one-point sweep is
the plan ``optimize`` gives), optionally on any
``concurrent.futures.Executor`` (a process pool, or a Dask cluster's
``client.get_executor()``) so funnelopt needs no scheduler of its own.
"""

from __future__ import annotations

import itertools
import json
import math
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Any

import numpy as np

from funnelopt._json import dumps
from funnelopt.errors import InputError, Problem
from funnelopt.metrics import KEY_TOTALS
from funnelopt.outcome import _num
from funnelopt.plan import SCHEMA_VERSION
from funnelopt.scenario import Scenario

#: Totals each sweep point reports.
POINT_TOTALS = KEY_TOTALS
BUDGET_PATHS = ("budget.total", "budget.media")

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class SweepPoint:
    """One grid point: the parameter values, the status, the objective and key totals."""

    values: dict[str, Any]
    status: str
    objective: float | None
    totals: dict[str, float]
    community: dict[str, bool]

    def to_dict(self) -> dict[str, Any]:
        """JSON-compatible dict with stable keys."""
        return {
            "values": self.values,
            "status": self.status,
            "objective": _num(self.objective),
            "totals": {k: _num(v) for k, v in self.totals.items()},
            "community": dict(sorted(self.community.items())),
        }


@dataclass(frozen=True)
class Sweep:
    """The result of :func:`sweep`: one point per grid value, in grid order."""

    scenario_name: str
    params: tuple[str, ...]
    objective_name: str
    currency: str
    points: tuple[SweepPoint, ...]
    knee: dict[str, Any] | None

    def to_dict(self) -> dict[str, Any]:
        """JSON-compatible dict with stable keys (the ``sweep`` schema of the CLI)."""
        return {
            "schema_version": SCHEMA_VERSION,
            "scenario": self.scenario_name,
            "params": list(self.params),
            "objective_name": self.objective_name,
            "currency": self.currency,
            "points": [p.to_dict() for p in self.points],
            "knee": self.knee,
        }

    def to_json(self) -> str:
        """Deterministic JSON."""
        return dumps(self.to_dict())

    def to_frame(self) -> Any:
        """One row per point: parameters, status, objective, key totals (needs pandas)."""
        from funnelopt.report.frames import sweep_frame

        return sweep_frame(self)

    def _repr_html_(self) -> str:
        from funnelopt.report.html import sweep_html

        return sweep_html(self)

    def __repr__(self) -> str:
        ok = sum(p.status == "optimal" for p in self.points)
        knee = f"; knee at {self.knee['values']}" if self.knee else ""
        return f"<Sweep {', '.join(self.params)}: {len(self.points)} points, {ok} optimal{knee}>"


#: Points in one sweep at most: ~1 minute of solving for a small scenario, and every point
#: is validated into a scenario up front (an unbounded grid ran out of memory, D13).
MAX_POINTS = 2_000


def parse_values(spec: str) -> list[Any]:
    """``"50000:250000:21"`` (start:stop:count, inclusive) or ``"8,9,10"`` or a single value."""
    if ":" in spec:
        parts = spec.split(":")
        if len(parts) != 3:
            raise InputError(
                [Problem("values", spec, "a range is start:stop:count, e.g. 50000:250000:21")]
            )
        try:
            start, stop, count = float(parts[0]), float(parts[1]), int(parts[2])
        except ValueError:
            raise InputError(
                [Problem("values", spec, "start and stop must be numbers, count a whole number")]
            ) from None
        if not 1 <= count <= MAX_POINTS:
            raise InputError(
                [
                    Problem(
                        "values",
                        spec,
                        f"count must be in 1..{MAX_POINTS:,} (points a sweep may have)",
                    )
                ]
            )
        return [float(v) for v in np.linspace(start, stop, count)]
    return [_literal(v.strip()) for v in spec.split(",") if v.strip()]


def _literal(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def sweep(
    scenario: Scenario,
    grid: Mapping[str, Sequence[Any]],
    *,
    backend: str = "highs",
    tolerance: float = 0.005,
    executor: Executor | None = None,
    progress: Progress | None = None,
    time_limit: float | None = None,
) -> Sweep:
    """Re-plan the scenario at every point of a grid of one or two fields
    (``time_limit``: seconds per point, as in :func:`funnelopt.optimize`).

    Examples
    --------
    >>> from funnelopt import Scenario
    >>> s = Scenario.from_file("examples/traffic_only.toml")
    >>> sw = sweep(s, {"budget.total": [20_000, 30_000, 40_000]})
    >>> [p.status for p in sw.points]
    ['optimal', 'optimal', 'optimal']
    """
    from funnelopt.errors import Problem, ScenarioError
    from funnelopt.optimizer import check_tolerance

    params = tuple(grid)
    if not 1 <= len(params) <= 2:
        raise ScenarioError([Problem("sweep", list(params), "give one or two parameters")])
    size = math.prod(len(grid[p]) for p in params)
    if size > MAX_POINTS:
        raise ScenarioError(
            [Problem("sweep", size, f"a sweep has at most {MAX_POINTS:,} points; use fewer values")]
        )
    check_tolerance(tolerance)
    combos = [
        dict(zip(params, vs, strict=True)) for vs in itertools.product(*(grid[p] for p in params))
    ]
    if not combos:
        raise ScenarioError(
            [Problem("sweep", list(params), "give at least one value per parameter")]
        )
    # Validate every point up front: a typo fails before any solve, naming the field.
    scenarios = [scenario.with_overrides(c) for c in combos]
    budget_sweep = all(p in BUDGET_PATHS for p in params)
    # A budget sweep sizes every point's spend segments for the largest budget, so the
    # points solve models of one shape. Every point is a full, certified optimize(): one
    # rule for choosing plans, whatever the study.
    seg = max(_budget_cap(s_i) for s_i in scenarios) if budget_sweep else None
    tasks = [
        (s_i, c, backend, tolerance, seg, time_limit)
        for s_i, c in zip(scenarios, combos, strict=True)
    ]
    points: list[SweepPoint] = []
    if executor is None:
        for args in tasks:
            points.append(evaluate_point(*args))
            if progress:
                progress(len(points), len(tasks))
    else:
        futures = [executor.submit(evaluate_point, *args) for args in tasks]
        for f in futures:
            points.append(f.result())
            if progress:
                progress(len(points), len(tasks))
    return _result(scenario, params, points)


def _result(scenario: Scenario, params: tuple[str, ...], points: Sequence[SweepPoint]) -> Sweep:
    from funnelopt import objective

    name = objective.name(scenario)
    knee = _knee(params, points) if name != "cost" else None
    return Sweep(scenario.name, params, name, scenario.currency, tuple(points), knee)


def evaluate_point(
    s: Scenario,
    values: dict[str, Any],
    backend: str,
    tolerance: float,
    segment_budget: float | None = None,
    time_limit: float | None = None,
) -> SweepPoint:
    """Plan one grid point (cold): a top-level function so process pools can run it."""
    from funnelopt.formulation import Options
    from funnelopt.optimizer import optimize

    opts = Options(segment_budget=segment_budget)
    plan = optimize(
        s,
        backend=backend,
        tolerance=tolerance,
        strategies=False,
        analysis=False,
        options=opts,
        time_limit=time_limit,
    )
    if plan.outcome is None:
        return SweepPoint(values, plan.status, None, {}, {})
    return SweepPoint(
        values,
        plan.status,
        plan.objective,
        {k: plan.outcome.totals[k] for k in POINT_TOTALS},
        plan.community,
    )


def _budget_cap(s: Scenario) -> float:
    return min(c for c in (s.budget.total, s.budget.media) if c is not None)


def _knee(params: tuple[str, ...], points: Sequence[SweepPoint]) -> dict[str, Any] | None:
    """The frontier's knee for a 1-D budget sweep: the point farthest above the chord
    joining the first and last optimal points (both axes scaled to [0, 1])."""
    if len(params) != 1 or params[0] not in BUDGET_PATHS:
        return None
    ok = [p for p in points if p.status == "optimal" and p.objective is not None]
    if len(ok) < 3:
        return None
    x = np.array([float(p.values[params[0]]) for p in ok])
    y = np.array([float(p.objective) for p in ok])  # type: ignore[arg-type]
    if np.ptp(x) <= 0 or np.ptp(y) <= 0:
        return None
    xn, yn = (x - x.min()) / np.ptp(x), (y - y.min()) / np.ptp(y)
    gap = yn - (yn[0] + (yn[-1] - yn[0]) * (xn - xn[0]) / (xn[-1] - xn[0]))
    i = int(np.argmax(gap))
    if gap[i] <= 1e-9:
        return None
    return {"values": ok[i].values, "objective": _num(ok[i].objective)}


__all__ = ["Sweep", "SweepPoint", "evaluate_point", "parse_values", "sweep"]
