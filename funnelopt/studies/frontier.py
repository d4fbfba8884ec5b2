"""The trade-off frontier between two goods (issue 10, item 5): followers against
conversions, say - the community decision as a curve rather than one weight.

Epsilon-constraint method: the ends are the plans with the most ``y`` and the most ``x``;
between them, the most ``y`` subject to at least a given ``x`` at the end of the campaign,
at evenly spaced levels. Every point is a full, certified :func:`funnelopt.optimize` plan
(hard goals and limits kept; soft goals left out: their penalties would mix a third figure
into the trade-off). Points another point beats in both figures are dropped.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from funnelopt._json import dumps
from funnelopt.errors import InputError, Problem
from funnelopt.metrics import CATALOGUE
from funnelopt.outcome import _num
from funnelopt.plan import SCHEMA_VERSION
from funnelopt.scenario import Metric, Scenario

#: Points on a frontier at most (each one a certified plan).
MAX_POINTS = 101

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class FrontierPoint:
    """One efficient plan: both figures, its cost, community setting and spend."""

    x: float
    y: float
    cost: float
    community: dict[str, bool]
    spend: dict[str, list[float]]

    def to_dict(self) -> dict[str, Any]:
        """JSON-compatible dict with stable keys."""
        return {
            "x": _num(self.x),
            "y": _num(self.y),
            "cost": _num(self.cost),
            "community": dict(sorted(self.community.items())),
            "spend": {k: [_num(round(v, 2)) for v in vs] for k, vs in self.spend.items()},
        }


@dataclass(frozen=True)
class Frontier:
    """Pareto-efficient plans from the most ``x`` to the most ``y``, by rising ``x``."""

    scenario_name: str
    x: str
    y: str
    currency: str
    points: tuple[FrontierPoint, ...]

    def to_dict(self) -> dict[str, Any]:
        """JSON-compatible dict with stable keys (the ``frontier`` schema of the CLI)."""
        return {
            "schema_version": SCHEMA_VERSION,
            "scenario": self.scenario_name,
            "x": self.x,
            "y": self.y,
            "currency": self.currency,
            "points": [p.to_dict() for p in self.points],
        }

    def to_json(self) -> str:
        """Deterministic JSON."""
        return dumps(self.to_dict())

    def to_frame(self) -> Any:
        """One row per point: x, y, cost and the community setting (needs pandas)."""
        import pandas as pd

        return pd.DataFrame(
            [
                {
                    self.x: p.x,
                    self.y: p.y,
                    "cost": p.cost,
                    **{f"community {k}": v for k, v in p.community.items()},
                }
                for p in self.points
            ]
        )


def frontier(
    scenario: Scenario,
    x: str = "followers",
    y: str = "conversions",
    points: int = 11,
    *,
    backend: str = "highs",
    tolerance: float = 0.005,
    time_limit: float | None = None,
    progress: Progress | None = None,
) -> Frontier:
    """The trade-off between goods ``x`` and ``y`` (metric names) in ``points`` plans.

    Examples
    --------
    >>> from funnelopt import Scenario
    >>> f = frontier(Scenario.from_file("examples/disease_awareness.toml"), points=3)
    >>> f.points[0].y >= f.points[-1].y and f.points[0].x <= f.points[-1].x
    True
    """
    from funnelopt.optimizer import optimize

    goods = [m.value for m in Metric if CATALOGUE[m.value].role == "good"]
    problems = [
        Problem(name, value, f"must be a good to maximise: one of {', '.join(goods)}")
        for name, value in (("x", x), ("y", y))
        if value not in goods
    ]
    if x == y:
        problems.append(Problem("y", y, "must differ from x"))
    if not 2 <= points <= MAX_POINTS:
        problems.append(Problem("points", points, f"must be in 2..{MAX_POINTS}"))
    if "followers" in (x, y) and not scenario.communities:
        problems.append(
            Problem(
                "x" if x == "followers" else "y", "followers", "needs a [[communities]] account"
            )
        )
    if problems:
        raise InputError(problems)
    base = _hard_only(scenario)
    done = [0]

    def plan(s: Scenario) -> Any:
        p = optimize(s, backend, tolerance, analysis=False, time_limit=time_limit)
        done[0] += 1
        if progress:
            progress(done[0], points)
        return p

    most_y = plan(_maximise(base, y))
    if most_y.outcome is None:
        raise InputError(
            [
                Problem(
                    "goals", "(hard)", "cannot be met, so there is no trade-off: see funnelopt plan"
                )
            ]
        )
    top = plan(_maximise(base, x)).outcome
    assert top is not None  # feasible: most_y is a plan
    # The most x, and then the most y at that x (maximising x alone leaves y to chance).
    most_x = plan(_maximise(_at_least(base, x, top.totals[x] * (1 - 1e-6)), y))
    if most_x.outcome is None:
        most_x = most_y
    lo, hi = most_y.outcome.totals[x], most_x.outcome.totals[x]
    found = [most_y]
    for level in np.linspace(lo, hi, points)[1:-1]:
        p = plan(_maximise(_at_least(base, x, float(level)), y))
        if p.outcome is not None:
            found.append(p)
    found.append(most_x)
    pts = [
        FrontierPoint(
            p.outcome.totals[x],
            p.outcome.totals[y],
            p.outcome.totals["cost_total"],
            dict(p.community),
            p.spend_by_tactic(),
        )
        for p in found
    ]
    return Frontier(scenario.name, x, y, scenario.currency, tuple(_efficient(pts)))


def _hard_only(s: Scenario) -> Scenario:
    data = s.to_dict()
    data["goals"] = [g for g in data.get("goals", []) if g.get("hard", True)]
    return Scenario.from_dict(data)


def _maximise(s: Scenario, metric: str) -> Scenario:
    data = s.to_dict()
    data["objective"] = {"maximize": metric}
    return Scenario.from_dict(data)


def _at_least(s: Scenario, metric: str, level: float) -> Scenario:
    data = s.to_dict()
    if level > 0:
        goal = {"metric": metric, "target": level, "by": s.periods, "hard": True}
        data["goals"] = [*data.get("goals", []), goal]
    return Scenario.from_dict(data)


def _efficient(pts: list[FrontierPoint]) -> list[FrontierPoint]:
    """Points no other point beats in both figures (ties kept once), by rising x."""
    out: list[FrontierPoint] = []
    for p in sorted(pts, key=lambda p: (p.x, -p.y)):
        if any(q.x >= p.x and q.y >= p.y and (q.x > p.x or q.y > p.y) for q in pts):
            continue
        if out and abs(out[-1].x - p.x) <= 1e-9 * max(1.0, p.x) and out[-1].y == p.y:
            continue
        out.append(p)
    return out
