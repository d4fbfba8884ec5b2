"""The service's questions answered: a request body in, an HTTP status and the JSON text
out. Runs inside the solver processes (no web framework here), so parsing, validation,
solving and encoding all stay off the server's event loop.

Each answer is the document the CLI prints for the same question (``app`` builds both),
followed by a newline as on the CLI's standard output.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from funnelopt import app
from funnelopt.errors import InputError, Problem, SolverError
from funnelopt.scenario import MAX_DEPTH, Scenario, nesting_depth

log = logging.getLogger("funnelopt.service")

#: A scenario in a request: the JSON object (as ``funnelopt schema scenario`` describes),
#: or the text of a TOML or JSON scenario file.
ScenarioInput = dict[str, Any] | str


class Options(BaseModel):
    """The solve options every question shares (the CLI's ``--set``, ``--backend``,
    ``--tolerance``, ``--time-limit``)."""

    model_config = ConfigDict(extra="forbid")

    set: dict[str, Any] = Field(
        default_factory=dict,
        description='fields to override by path, e.g. {"budget.total": 120000}',
    )
    backend: Literal["highs", "pulp"] = "highs"
    tolerance: float = Field(0.005, gt=0, lt=0.5, description="curve accuracy")
    time_limit: float | None = Field(
        None,
        gt=0,
        le=86_400,
        description="seconds per plan (capped by the server's limit): past it, the best "
        "certified plan so far",
    )


class PlanRequest(Options):
    """``POST /v1/plan``: the optimal plan, or the diagnosis."""

    scenario: ScenarioInput = Field(description="the scenario: a JSON object or file text")
    confidence: float | None = Field(
        None,
        gt=0,
        lt=1,
        description="plan so that hard goals and capacities hold with this probability "
        "under the scenario's [uncertainty] ranges (the CLI's --confidence)",
    )


class CheckRequest(PlanRequest):
    """``POST /v1/check``: validate a scenario; the answer holds it as read."""


class WhatIfRequest(PlanRequest):
    """``POST /v1/whatif``: the plan with ``set`` applied, beside the base plan."""


class SweepRequest(PlanRequest):
    """``POST /v1/sweep``: re-plan over a grid of one or two fields."""

    params: list[str] = Field(min_length=1, max_length=2, description="field paths to vary")
    values: list[str] = Field(
        min_length=1, max_length=2, description="one spec per param: start:stop:count or a,b,c"
    )


class CompareRequest(Options):
    """``POST /v1/compare``: several scenarios planned side by side."""

    scenarios: dict[str, ScenarioInput] = Field(
        min_length=1, description="name -> scenario; the names label the answer, in order"
    )


class SimulateRequest(PlanRequest):
    """``POST /v1/simulate``: a hand-made plan evaluated, and its distance to the optimum."""

    plan: dict[str, Any] = Field(
        description='spend per tactic and period ({"meta_dark": [...]}) or a plan answer'
    )


class FrontierRequest(PlanRequest):
    """``POST /v1/frontier``: the trade-off between two goods (the most y for each x)."""

    x: str = Field("followers", description="the good along x")
    y: str = Field("conversions", description="the good along y")
    points: int = Field(11, ge=2, le=101, description="plans on the frontier")


class ReplanRequest(PlanRequest):
    """``POST /v1/replan``: calibrate on actuals, keep the past, re-optimise the rest."""

    actuals: str | list[dict[str, Any]] = Field(
        description="the actuals CSV text (or a Meta Ads Manager export), or its rows as objects"
    )
    start_date: str | None = Field(None, description="the campaign's first day (dated exports)")
    ad_sets: dict[str, str] = Field(
        default_factory=dict, description="an export's ad-set name -> tactic id"
    )


class ForecastRequest(PlanRequest):
    """``POST /v1/forecast``: a plan over draws of the scenario's ``[uncertainty]`` ranges."""

    plan: dict[str, Any] | None = Field(
        None,
        description='spend per tactic and period ({"meta_dark": [...]}) or a plan answer; '
        "default: the optimiser's plan",
    )
    draws: int = Field(10_000, ge=1, le=100_000, description="number of draws")
    seed: int = Field(0, ge=0, description="random seed: the same seed, the same answer")


@dataclass(frozen=True)
class Limits:
    """What one request may ask of the server."""

    time_limit: float = 30.0
    max_sweep_points: int = 200
    #: The share of the time limit the optimiser is given, so that it usually stops on its
    #: own (with the best certified plan so far) before the server stops it.
    solver_share: float = 0.5


Answer = tuple[int, str]


def answer(question: str, body: bytes, limits: Limits) -> Answer:
    """Status and JSON text for one request (errors as data, never a traceback)."""
    try:
        data = _parse(body)
        return 200, app.to_json(QUESTIONS[question](data, limits)) + "\n"
    except InputError as exc:
        return 422, app.to_json(app.errors_document(exc.problems)) + "\n"
    except SolverError as exc:
        return 500, message(f"solver failure: {exc}")
    except Exception as exc:  # a bug: logged here, never shown to the caller
        log.exception("%s failed", question)
        return 500, message(f"internal error ({type(exc).__name__}); the server log has details")


def message(text: str) -> str:
    """The body of an error that is no input problem: ``{"error": text}``."""
    return app.to_json(app.error_document(text)) + "\n"


def _parse(body: bytes) -> Any:
    try:
        data = json.loads(body)
    except RecursionError:
        raise InputError([Problem("<body>", "(JSON)", "is nested too deeply")]) from None
    except ValueError as exc:
        raise InputError([Problem("<body>", "(JSON)", f"not valid JSON: {exc}")]) from None
    # The scenario sits at most two levels into a request (compare: scenarios.NAME).
    if nesting_depth(data, MAX_DEPTH + 3) > MAX_DEPTH + 2:
        raise InputError([Problem("<body>", "(JSON)", "is nested too deeply")])
    return data


R = TypeVar("R", bound=BaseModel)


def _request(model: type[R], data: Any) -> R:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise InputError(
            [
                Problem(
                    ".".join(str(p) for p in e["loc"]) or "<body>",
                    e.get("input"),
                    e["msg"][0].lower() + e["msg"][1:],
                )
                for e in exc.errors()
            ]
        ) from None


def _scenario(given: ScenarioInput, source: str, overrides: Mapping[str, Any]) -> Scenario:
    s = Scenario.from_text(given, source) if isinstance(given, str) else Scenario.from_dict(given)
    return s.with_overrides(overrides) if overrides else s


def _settings(r: Options, limits: Limits) -> app.Settings:
    """The request's options, its time limit (seconds per plan, as the CLI's) capped so
    that one plan usually stops on its own before the server stops the request."""
    cap = limits.time_limit * limits.solver_share
    limit = min(r.time_limit, cap) if r.time_limit is not None else cap
    return app.Settings(
        backend=r.backend,
        tolerance=r.tolerance,
        time_limit=limit,
        confidence=getattr(r, "confidence", None),
    )


def _plan(data: Any, limits: Limits) -> dict[str, Any]:
    r = _request(PlanRequest, data)
    return app.plan(_scenario(r.scenario, "scenario", r.set), _settings(r, limits)).to_dict()


def _check(data: Any, limits: Limits) -> dict[str, Any]:
    r = _request(CheckRequest, data)
    return app.Check(_scenario(r.scenario, "scenario", r.set), "scenario").to_dict()


def _whatif(data: Any, limits: Limits) -> dict[str, Any]:
    r = _request(WhatIfRequest, data)
    base = _scenario(r.scenario, "scenario", {})
    return app.whatif(base, r.set, _settings(r, limits)).to_dict()


def _sweep(data: Any, limits: Limits) -> dict[str, Any]:
    r = _request(SweepRequest, data)
    s = _scenario(r.scenario, "scenario", r.set)
    settings = _settings(r, limits)
    return app.run_sweep(
        s, r.params, r.values, settings, max_points=limits.max_sweep_points
    ).to_dict()


def _compare(data: Any, limits: Limits) -> dict[str, Any]:
    r = _request(CompareRequest, data)
    named = [(name, _scenario(given, name, r.set)) for name, given in r.scenarios.items()]
    return app.compare(named, _settings(r, limits)).to_dict()


def _simulate(data: Any, limits: Limits) -> dict[str, Any]:
    r = _request(SimulateRequest, data)
    s = _scenario(r.scenario, "scenario", r.set)
    spend = app.spend_from_data(r.plan, "plan")
    return app.simulate(s, spend, _settings(r, limits)).to_dict()


def _frontier(data: Any, limits: Limits) -> dict[str, Any]:
    r = _request(FrontierRequest, data)
    s = _scenario(r.scenario, "scenario", r.set)
    return app.frontier(s, r.x, r.y, r.points, _settings(r, limits)).to_dict()


def _replan(data: Any, limits: Limits) -> dict[str, Any]:
    from funnelopt.actuals import read_actuals

    r = _request(ReplanRequest, data)
    s = _scenario(r.scenario, "scenario", r.set)
    given = r.actuals
    source, text = (
        ("actuals.csv", given) if isinstance(given, str) else ("actuals.json", json.dumps(given))
    )
    actuals = read_actuals(source, s, text=text, start_date=r.start_date, names=r.ad_sets)
    return app.replan(s, actuals, _settings(r, limits)).to_dict()


def _forecast(data: Any, limits: Limits) -> dict[str, Any]:
    r = _request(ForecastRequest, data)
    s = _scenario(r.scenario, "scenario", r.set)
    spend = app.spend_from_data(r.plan, "plan") if r.plan is not None else None
    return app.forecast_document(s, app.forecast(s, spend, r.draws, r.seed, _settings(r, limits)))


QUESTIONS: dict[str, Callable[[Any, Limits], dict[str, Any]]] = {
    "plan": _plan,
    "simulate": _simulate,
    "forecast": _forecast,
    "whatif": _whatif,
    "sweep": _sweep,
    "compare": _compare,
    "check": _check,
    "frontier": _frontier,
    "replan": _replan,
}

#: The request model of each question (for the OpenAPI document).
REQUESTS: dict[str, type[BaseModel]] = {
    "plan": PlanRequest,
    "simulate": SimulateRequest,
    "forecast": ForecastRequest,
    "whatif": WhatIfRequest,
    "sweep": SweepRequest,
    "compare": CompareRequest,
    "check": CheckRequest,
    "frontier": FrontierRequest,
    "replan": ReplanRequest,
}
