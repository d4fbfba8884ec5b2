"""Use cases: the questions the CLI answers (and the HTTP service will), as functions from
validated inputs to results whose ``to_dict()`` is the JSON document both print.

One place for each question's options and document shape, so the CLI and a service
answer the same question with the same bytes (:func:`to_json`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from funnelopt._json import dumps
from funnelopt.errors import InputError, Problem
from funnelopt.optimizer import optimize
from funnelopt.plan import SCHEMA_VERSION, Plan
from funnelopt.scenario import Scenario
from funnelopt.studies.sweep import Sweep, parse_values, sweep


@dataclass(frozen=True)
class Settings:
    """How to solve: the options every use case shares."""

    backend: str = "highs"
    tolerance: float = 0.005
    time_limit: float | None = None


def plan(s: Scenario, settings: Settings = Settings()) -> Plan:
    """The optimal plan (or the diagnosis) for a scenario."""
    return optimize(
        s, backend=settings.backend, tolerance=settings.tolerance, time_limit=settings.time_limit
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


def run_sweep(
    s: Scenario,
    params: Sequence[str],
    values: Sequence[str],
    settings: Settings = Settings(),
    progress: Callable[[int, int], None] | None = None,
) -> Sweep:
    """Sweep ``params`` over ``values`` (one spec each: ``start:stop:count`` or ``a,b,c``)."""
    if len(params) != len(values):
        raise InputError([Problem("values", list(values), "give one values spec per parameter")])
    grid = {p: parse_values(v) for p, v in zip(params, values, strict=True)}
    return sweep(
        s,
        grid,
        backend=settings.backend,
        tolerance=settings.tolerance,
        progress=progress,
        time_limit=settings.time_limit,
    )


def errors_document(problems: Sequence[Problem]) -> dict[str, Any]:
    """Invalid input as data: ``{"errors": [{"path", "value", "rule"}, ...]}``."""
    return {"schema_version": SCHEMA_VERSION, "errors": [p.to_dict() for p in problems]}


#: The one JSON encoding of every document (see :mod:`funnelopt._json`).
to_json = dumps
