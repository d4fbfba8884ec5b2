"""Use cases: the questions the CLI answers (and the HTTP service will), as functions from
validated inputs to results whose ``to_dict()`` is the JSON document both print.

One place for each question's options and document shape, so the CLI and a service
answer the same question with the same bytes (:func:`to_json`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from funnelopt import objective, plausibility
from funnelopt._json import dumps
from funnelopt.actuals import Actuals
from funnelopt.analysis.uncertainty import Forecast
from funnelopt.analysis.uncertainty import forecast as _forecast
from funnelopt.errors import InputError, Problem, ScenarioError
from funnelopt.optimizer import optimize
from funnelopt.outcome import Outcome
from funnelopt.plan import SCHEMA_VERSION, Plan
from funnelopt.scenario import Scenario
from funnelopt.simulator import simulate as _simulate
from funnelopt.studies.frontier import Frontier, Progress
from funnelopt.studies.frontier import frontier as _frontier
from funnelopt.studies.replan import Replan
from funnelopt.studies.replan import replan as _replan
from funnelopt.studies.sweep import Sweep, parse_values, sweep


@dataclass(frozen=True)
class Settings:
    """How to solve: the options every use case shares."""

    backend: str = "highs"
    tolerance: float = 0.005
    time_limit: float | None = None
    #: Plan so that hard goals and capacities hold with this probability (None: nominal).
    confidence: float | None = None


def plan(s: Scenario, settings: Settings = Settings()) -> Plan:
    """The optimal plan (or the diagnosis) for a scenario."""
    return optimize(
        s,
        backend=settings.backend,
        tolerance=settings.tolerance,
        time_limit=settings.time_limit,
        confidence=settings.confidence,
    )


@dataclass(frozen=True)
class WhatIf:
    """A scenario planned as given and with some fields changed."""

    changes: Mapping[str, Any]
    base: Plan
    whatif: Plan

    def to_dict(self) -> dict[str, Any]:
        """The JSON document (stable keys)."""
        return {
            "schema_version": SCHEMA_VERSION,
            "changes": dict(self.changes),
            "base": self.base.to_dict(),
            "whatif": self.whatif.to_dict(),
        }


def whatif(base: Scenario, changes: Mapping[str, Any], settings: Settings = Settings()) -> WhatIf:
    """Plan ``base`` and ``base`` with ``changes`` (field paths -> values)."""
    if not changes:
        raise InputError([Problem("changes", "(none)", "give at least one PATH=VALUE to change")])
    changed = base.with_overrides(changes)
    return WhatIf(dict(changes), plan(base, settings), plan(changed, settings))


@dataclass(frozen=True)
class Comparison:
    """Several scenarios planned side by side, each under its name."""

    names: tuple[str, ...]
    plans: tuple[Plan, ...]

    def to_dict(self) -> dict[str, Any]:
        """The JSON document (stable keys)."""
        return {
            "schema_version": SCHEMA_VERSION,
            "scenarios": [
                {"file": n, "plan": p.to_dict()}
                for n, p in zip(self.names, self.plans, strict=True)
            ],
        }


def compare(named: Sequence[tuple[str, Scenario]], settings: Settings = Settings()) -> Comparison:
    """Plan each named scenario."""
    return Comparison(tuple(n for n, _ in named), tuple(plan(s, settings) for _, s in named))


def sweep_grid(
    params: Sequence[str], values: Sequence[str], max_points: int | None = None
) -> dict[str, list[Any]]:
    """The grid of a sweep (``params`` -> parsed ``values``), refused when it has more than
    ``max_points`` points (a service bounds the work one request may ask for)."""
    if len(params) != len(values):
        raise InputError([Problem("values", list(values), "give one values spec per parameter")])
    grid = {p: parse_values(v) for p, v in zip(params, values, strict=True)}
    points = math.prod(len(v) for v in grid.values())
    if max_points is not None and points > max_points:
        raise InputError(
            [Problem("values", list(values), f"{points} points: at most {max_points} per sweep")]
        )
    return grid


def run_sweep(
    s: Scenario,
    params: Sequence[str],
    values: Sequence[str],
    settings: Settings = Settings(),
    progress: Callable[[int, int], None] | None = None,
    max_points: int | None = None,
) -> Sweep:
    """Sweep ``params`` over ``values`` (one spec each: ``start:stop:count`` or ``a,b,c``)."""
    grid = sweep_grid(params, values, max_points)
    return sweep(
        s,
        grid,
        backend=settings.backend,
        tolerance=settings.tolerance,
        progress=progress,
        time_limit=settings.time_limit,
    )


@dataclass(frozen=True)
class Simulation:
    """A hand-made plan evaluated by the exact model, beside the optimiser's plan."""

    outcome: Outcome
    objective: float
    penalty: float
    sense: str
    best: Plan

    @property
    def gap(self) -> float | None:
        """How far the hand-made plan is from the optimiser's (positive: worse)."""
        if self.best.objective is None:
            return None
        if self.sense == "min":
            return self.objective - self.best.objective
        return self.best.objective - self.objective

    def to_dict(self) -> dict[str, Any]:
        """The JSON document (stable keys)."""
        return {
            "schema_version": SCHEMA_VERSION,
            "objective": self.objective,
            "optimum": self.best.objective,
            "gap_to_optimum": self.gap,
            "outcome": self.outcome.to_dict(),
        }


def simulate(
    s: Scenario, spend: Mapping[str, Sequence[float]], settings: Settings = Settings()
) -> Simulation:
    """Evaluate a hand-made plan (spend per tactic and period) and plan the optimum beside
    it. A community in ``auto`` mode counts as on when the plan spends on its follower ads."""
    outcome = _simulate(s, spend, _community_of(s, spend))
    return Simulation(
        outcome,
        objective.score(s, outcome),
        objective.soft_penalty(s, outcome),
        objective.sense(s),
        plan(s, settings),
    )


def forecast(
    s: Scenario,
    spend: Mapping[str, Sequence[float]] | None = None,
    draws: int = 10_000,
    seed: int = 0,
    settings: Settings = Settings(),
) -> Forecast:
    """A plan's outcome over draws of the scenario's ranges: the given spend (a community
    in ``auto`` mode runs when the plan buys its follower ads), else the optimiser's plan."""
    if spend is None:
        return _forecast(s, plan(s, settings), draws, seed)
    return _forecast(s, spend, draws, seed, community=_community_of(s, spend))


def frontier(
    s: Scenario,
    x: str,
    y: str,
    points: int,
    settings: Settings = Settings(),
    progress: Progress | None = None,
) -> Frontier:
    """The trade-off between goods ``x`` and ``y`` (see :func:`funnelopt.frontier`)."""
    return _frontier(
        s,
        x,
        y,
        points,
        backend=settings.backend,
        tolerance=settings.tolerance,
        time_limit=settings.time_limit,
        progress=progress,
    )


def replan(s: Scenario, actuals: Actuals, settings: Settings = Settings()) -> Replan:
    """Calibrate on actuals, keep the past, re-optimise the rest (see
    :func:`funnelopt.replan`)."""
    return _replan(
        s,
        actuals,
        backend=settings.backend,
        tolerance=settings.tolerance,
        time_limit=settings.time_limit,
    )


def forecast_document(s: Scenario, f: Forecast) -> dict[str, Any]:
    """The forecast's JSON document, with the tornado of the objective's metric (total
    cost when cost is minimised; conversions for a weighted objective)."""
    name = objective.name(s)
    return f.to_dict(tornado={"cost": "cost_total", "weighted": "conversions"}.get(name, name))


def _community_of(s: Scenario, spend: Mapping[str, Sequence[float]]) -> dict[str, bool]:
    """Which communities a hand-made plan runs: ``auto`` ones when it buys their
    follower ads."""
    community = {c.id: c.mode != "off" for c in s.communities}
    for c in s.communities:
        tactic_ids = [t.id for t in s.tactics if t.account == c.id]
        if c.mode == "auto" and not any(sum(spend.get(t, [])) > 0 for t in tactic_ids):
            community[c.id] = False  # no follower ads in the plan: read it as "no community"
    return community


def spend_from_data(data: Any, source: str) -> dict[str, list[float]]:
    """Spend per tactic from a parsed JSON plan: ``{"spend": {tactic: [...]}}`` as
    ``plan --format json`` writes, or ``{tactic: [...]}``."""
    spend = data.get("spend", data) if isinstance(data, dict) else None
    shape = 'must map tactic ids to per-period lists of numbers, e.g. {"dark": [100, 200]}'
    if not isinstance(spend, dict) or not all(
        isinstance(v, list) and all(x is None or isinstance(x, int | float) for x in v)
        for v in spend.values()
    ):
        raise ScenarioError([Problem("PLAN", source, shape)])
    return {str(k): [float(x or 0.0) for x in v] for k, v in spend.items()}


@dataclass(frozen=True)
class Check:
    """A valid scenario: what it holds, its plausibility warnings, and the scenario as
    read (defaults filled in)."""

    scenario: Scenario
    source: str

    @property
    def warnings(self) -> list[Problem]:
        """Values outside their sourced ranges (:mod:`funnelopt.plausibility`)."""
        return plausibility.warnings(self.scenario)

    def line(self) -> str:
        """One line for a person."""
        return f"{self.source}: valid - {self.scenario.summary()}"

    def to_dict(self) -> dict[str, Any]:
        """The JSON document (stable keys)."""
        s = self.scenario
        return {
            "schema_version": SCHEMA_VERSION,
            "valid": True,
            "name": s.name,
            "periods": s.periods,
            "period_label": s.period_label,
            "tactics": len(s.tactics),
            "communities": len(s.communities),
            "goals": len(s.goals),
            "warnings": [w.to_dict() for w in self.warnings],
            "scenario": s.to_dict(),
        }


def errors_document(problems: Sequence[Problem]) -> dict[str, Any]:
    """Invalid input as data: ``{"errors": [{"path", "value", "rule"}, ...]}``."""
    return {"schema_version": SCHEMA_VERSION, "errors": [p.to_dict() for p in problems]}


def error_document(text: str) -> dict[str, Any]:
    """A failure that is no input problem (a solver failure) as data: ``{"error": text}``."""
    return {"error": text}


#: The one JSON encoding of every document (see :mod:`funnelopt._json`).
to_json = dumps
