"""JSON Schemas of what funnelopt reads (scenarios) and writes (plans, sweeps).

Agencies embed funnelopt from other languages: these schemas are the contract of the
JSON the CLI prints (``funnelopt schema plan``), checked against real output in tests.
"""

from __future__ import annotations

from typing import Any

from funnelopt.errors import InputError, Problem
from funnelopt.metrics import METRICS

DRAFT = "https://json-schema.org/draft/2020-12/schema"

_NUM = {"type": ["number", "null"]}
_NUMS = {"type": "array", "items": _NUM}
_STR_LIST = {"type": "array", "items": {"type": "string"}}
_PROBABILITY = {"type": ["number", "null"], "minimum": 0, "maximum": 1}


def _obj(
    props: dict[str, Any], required: list[str] | None = None, extra: Any = False
) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": props,
        "required": list(props) if required is None else required,
        "additionalProperties": extra,
    }


def _map(values: Any) -> dict[str, Any]:
    return {"type": "object", "additionalProperties": values}


GOAL = _obj(
    {
        "metric": {"type": "string"},
        "target": {"type": "number"},
        "by": {"type": "integer", "minimum": 1},
        "hard": {"type": "boolean"},
        "weight": {"type": "number"},
        "phase": {"enum": ["awareness", "consideration", "conversion"]},
        "achieved": _NUM,
        "met": {"type": "boolean"},
        "shortfall": _NUM,
    }
)

VERIFICATION = _obj(
    {
        "max_gap": _NUM,
        "goods_ok": {"type": "boolean"},
        "loads_ok": {"type": "boolean"},
        "passed": {"type": "boolean"},
        "violations": _STR_LIST,
        "compared": _map(_obj({"predicted": _NUM, "simulated": _NUM})),
    }
)

STRATEGY = _obj(
    {
        "name": {"type": "string"},
        "community": _map({"type": "boolean"}),
        "status": {"enum": ["optimal", "infeasible"]},
        "objective": _NUM,
        "totals": _map(_NUM),
        "chosen": {"type": "boolean"},
    }
)

SENSITIVITY = _obj(
    {
        "objective": {"type": "string"},
        "budget_value_per_1000": _map(_NUM),
        "goal_costs": _map(_NUM),
        "binding": {
            "type": "array",
            "items": _obj(
                {
                    "name": {"type": "string"},
                    "kind": {"type": "string"},
                    "shadow_price": _NUM,
                    "explanation": {"type": "string"},
                }
            ),
        },
        "budget_range": _map({"type": "array", "items": _NUM, "minItems": 2, "maxItems": 2}),
        "tactic_returns_per_1000": _map(_NUM),
        "unused": _map({"type": "string"}),
        "notes": _STR_LIST,
    }
)

#: One invalid (error) or implausible (warning) input: where, what, and the rule.
PROBLEM = _obj({"path": {"type": "string"}, "value": {}, "rule": {"type": "string"}})

#: A plan shown beside a diagnosis: best effort within the limits, or at the budget needed.
ATTEMPT = _obj(
    {
        "spend": _map(_NUMS),
        "community": _map({"type": "boolean"}),
        "totals": _map(_NUM),
        "goals": {"type": "array", "items": GOAL},
    }
)

DIAGNOSIS = _obj(
    {
        "message": {"type": "string"},
        "goals": {
            "type": "array",
            "items": _obj(
                {
                    "metric": {"type": "string"},
                    "target": {"type": "number"},
                    "by": {"type": "integer"},
                    "best_alone": _NUM,
                    "best_together": _NUM,
                    "shortfall": _NUM,
                }
            ),
        },
        "conflicts": _STR_LIST,
        "limits": _STR_LIST,
        "required_budget": _NUM,
        "required_budget_bound": _NUM,
        "required_media": _NUM,
        "best_effort": {"oneOf": [ATTEMPT, {"type": "null"}]},
        "required_budget_plan": {"oneOf": [ATTEMPT, {"type": "null"}]},
        # Only in a diagnosis the time limit cut short: what it left out, in words.
        "not_computed": _STR_LIST,
    }
)
DIAGNOSIS["required"] = [k for k in DIAGNOSIS["required"] if k != "not_computed"]

#: A workload against its capacity (peak per period, P95, share of capacity used).
CAPACITY = _map(_NUM)

PLAN: dict[str, Any] = {
    "$schema": DRAFT,
    "title": "funnelopt plan",
    **_obj(
        {
            "schema_version": {"const": 1},
            "funnelopt_version": {"type": "string"},
            "scenario": {"type": "string"},
            "currency": {"type": "string"},
            "status": {"enum": ["optimal", "infeasible"]},
            "objective": _NUM,
            "objective_name": {"type": "string"},
            "penalty": _NUM,
            "spend": _map(_NUMS),
            "community": _map({"type": "boolean"}),
            "totals": _obj({m: _NUM for m in METRICS}, required=[], extra=_NUM),
            "period_start": {
                "oneOf": [
                    {"type": "array", "items": {"type": "string", "format": "date"}},
                    {"type": "null"},
                ]
            },
            "per_period": _obj({m: _NUMS for m in METRICS}, required=[]),
            "capacity": _map(CAPACITY),
            "kpis": _map(_NUM),
            "goals": {"type": "array", "items": GOAL},
            "predicted": _map(_NUM),
            "predicted_objective": _NUM,
            "verification": {"oneOf": [VERIFICATION, {"type": "null"}]},
            "strategies": {"type": "array", "items": STRATEGY},
            "sensitivity": {"oneOf": [SENSITIVITY, {"type": "null"}]},
            "diagnosis": {"oneOf": [DIAGNOSIS, {"type": "null"}]},
            "warnings": {"type": "array", "items": PROBLEM},
            "launch": _map({"type": "integer", "minimum": 1}),
            "decision": {
                "oneOf": [
                    _obj(
                        {
                            "community": _map({"type": "boolean"}),
                            "reason": {"type": "string"},
                            "break_even": _map(_NUM),
                        }
                    ),
                    {"type": "null"},
                ]
            },
            "certificate": _obj(
                {
                    "backend": {"type": "string"},
                    "tolerance": {"type": "number"},
                    "verification_gap": _NUM,
                    "bound": _NUM,
                    "gap": _NUM,
                    "target": _NUM,
                    "rounds": {"type": ["integer", "null"]},
                    "met": {"type": ["boolean", "null"]},
                    "proven": {"type": ["boolean", "null"]},
                    "stopped": {
                        "enum": ["met", "time", "rounds", "stalled", "solver", "unsettled", None]
                    },
                    "feasible": {"type": ["boolean", "null"]},
                    "text": {"type": ["string", "null"]},
                }
            ),
            "notes": _STR_LIST,
            # Only in a plan asked for with a confidence (plan --confidence).
            "confidence": _obj(
                {
                    "asked": {"type": "number"},
                    "met": {"type": "boolean"},
                    "probabilities": _map({"type": "number"}),
                    "standard_errors": _map({"type": "number"}),
                    "tightened": _map({"type": "number"}),
                    "optimisation_draws": {"type": "integer"},
                    "validation_draws": {"type": "integer"},
                    "seed": {"type": "integer"},
                    "rounds": {"type": "integer"},
                    "reachable": _NUM,
                    "required_budget": _NUM,
                    "method": {"type": "string"},
                    "text": {"type": "string"},
                }
            ),
        }
    ),
}
PLAN["required"] = [k for k in PLAN["required"] if k != "confidence"]

SWEEP: dict[str, Any] = {
    "$schema": DRAFT,
    "title": "funnelopt sweep",
    **_obj(
        {
            "schema_version": {"const": 1},
            "scenario": {"type": "string"},
            "params": {"type": "array", "items": {"type": "string"}, "minItems": 1, "maxItems": 2},
            "objective_name": {"type": "string"},
            "currency": {"type": "string"},
            "points": {
                "type": "array",
                "items": _obj(
                    {
                        "values": _map({}),
                        "status": {"enum": ["optimal", "infeasible"]},
                        "objective": _NUM,
                        "totals": _map(_NUM),
                        "community": _map({"type": "boolean"}),
                    }
                ),
            },
            "knee": {"oneOf": [_obj({"values": _map({}), "objective": _NUM}), {"type": "null"}]},
        }
    ),
}


#: What ``simulate`` computes for a spend plan (``Outcome.to_dict``).
OUTCOME = _obj(
    {
        "scenario": {"type": "string"},
        "period_label": {"type": "string"},
        "currency": {"type": "string"},
        "community": _map({"type": "boolean"}),
        "totals": _obj({m: _NUM for m in METRICS}),
        "kpis": _map(_NUM),
        "per_period": _obj({m: _NUMS for m in METRICS}),
        "by_tactic": _map(_map(_NUMS)),
        "by_community": _map(_map(_NUMS)),
        "goals": {"type": "array", "items": GOAL},
        "capacity": _map(CAPACITY),
        "violations": _STR_LIST,
    }
)


def _document(title: str, props: dict[str, Any]) -> dict[str, Any]:
    return {"$schema": DRAFT, "title": title, **_obj({"schema_version": {"const": 1}, **props})}


#: ``funnelopt simulate --format json``: a hand-made plan's outcome and the optimum.
SIMULATE = _document(
    "funnelopt simulate",
    {"objective": _NUM, "optimum": _NUM, "gap_to_optimum": _NUM, "outcome": OUTCOME},
)

#: ``funnelopt frontier --format json``: efficient plans from the most y to the most x.
FRONTIER = _document(
    "funnelopt frontier",
    {
        "scenario": {"type": "string"},
        "x": {"type": "string"},
        "y": {"type": "string"},
        "currency": {"type": "string"},
        "points": {
            "type": "array",
            "items": _obj(
                {
                    "x": _NUM,
                    "y": _NUM,
                    "cost": _NUM,
                    "community": _map({"type": "boolean"}),
                    "spend": _map(_NUMS),
                }
            ),
        },
    },
)

#: ``funnelopt replan --format json``: calibrated rates, goals old vs new, the new plan.
REPLAN = _document(
    "funnelopt replan",
    {
        "periods_done": {"type": "integer", "minimum": 1},
        "period_label": {"type": "string"},
        "not_calibrated": {"type": "array", "items": {"type": "string"}},
        "estimates": {
            "type": "array",
            "items": _obj(
                {
                    "path": {"type": "string"},
                    "prior": _NUM,
                    "posterior": _NUM,
                    "low": _NUM,
                    "high": _NUM,
                    "evidence": {"type": "string"},
                }
            ),
        },
        "on_track": {
            "type": "array",
            "items": _obj(
                {
                    "goal": {"type": "string"},
                    "metric": {"type": "string"},
                    "target": {"type": "number"},
                    "by": {"type": "integer", "minimum": 1},
                    "hard": {"type": "boolean"},
                    "continued": _NUM,
                    "continued_met": {"type": "boolean"},
                    # With [uncertainty] ranges: the chance over draws of the calibrated
                    # ranges (null without ranges).
                    "continued_probability": _PROBABILITY,
                    "replanned": _NUM,
                    "replanned_met": {"type": "boolean"},
                    "replanned_probability": _PROBABILITY,
                }
            ),
        },
        # Per metric (spend, impressions, visits, followers, conversions) and period: the
        # original plan, what happened (null where not reported or not yet), the new plan.
        "plan_vs_actual": _map(_obj({"planned": _NUMS, "actual": _NUMS, "replanned": _NUMS})),
        "plan": _obj(PLAN["properties"], PLAN["required"]),
    },
)

#: ``funnelopt whatif --format json``: the base plan and the changed one.
WHATIF = _document(
    "funnelopt what-if",
    {
        "changes": _map({}),
        "base": _obj(PLAN["properties"], PLAN["required"]),
        "whatif": _obj(PLAN["properties"], PLAN["required"]),
    },
)

#: ``funnelopt compare --format json``: one plan per scenario file.
COMPARE = _document(
    "funnelopt compare",
    {
        "scenarios": {
            "type": "array",
            "items": _obj(
                {"file": {"type": "string"}, "plan": _obj(PLAN["properties"], PLAN["required"])}
            ),
        }
    },
)

_PAIR = {"type": "array", "items": {"type": "number"}, "minItems": 2, "maxItems": 2}


def _rows(props: dict[str, Any]) -> dict[str, Any]:
    """An array of objects with exactly these properties."""
    return {"type": "array", "items": _obj(props)}


#: ``funnelopt listen --format json``: the lift, each topic's (or sentiment's), the shares.
LISTEN: dict[str, Any] = {
    "$schema": DRAFT,
    "title": "funnelopt listen",
    **_obj(
        {
            "schema_version": {"const": 1},
            "by": {"enum": ["topic", "sentiment"]},
            "lift": _obj(
                {
                    "lift_pct": {"type": "number"},
                    "interval": _PAIR,
                    "p_positive": {"type": "number", "minimum": 0, "maximum": 1},
                    "absolute": {"type": "number"},
                    "absolute_interval": _PAIR,
                    "observed_total": {"type": "integer"},
                    "expected_total": {"type": "number"},
                    "level": {"type": "number"},
                    "verdict": {"type": "string"},
                    "start": {"type": "string"},
                    "step": {"enum": ["day", "week", "period"]},
                    "pre_periods": {"type": "integer"},
                    "post_periods": {"type": "integer"},
                    "model": _obj(
                        {
                            "description": {"type": "string"},
                            "terms": _STR_LIST,
                            "dispersion": {"type": "number", "minimum": 0},
                            "level_shift": {"type": ["string", "null"]},
                        }
                    ),
                    "notes": _STR_LIST,
                    "seed": {"type": "integer"},
                    "draws": {"type": "integer"},
                    "source": {"type": "string"},
                    "version": {"type": "string"},
                    "per_period": _rows(
                        {
                            "period": {"type": "string"},
                            "after_launch": {"type": "boolean"},
                            "observed": {"type": "integer"},
                            "expected": {"type": "number"},
                            "low": {"type": "number"},
                            "high": {"type": "number"},
                        }
                    ),
                }
            ),
            "topics": _rows(
                {
                    "topic": {"type": "string"},
                    "share_before": {"type": "number"},
                    "share_after": {"type": "number"},
                    "lift_pct": _NUM,
                    "interval": {"oneOf": [_PAIR, {"type": "null"}]},
                    "p_positive": _NUM,
                    "absolute": _NUM,
                    "verdict": {"type": ["string", "null"]},
                    "note": {"type": "string"},
                }
            ),
            "before_launch": _obj(
                {
                    "last": {"type": "integer", "minimum": 1},
                    "shares": _rows(
                        {
                            "topic": {"type": "string"},
                            "mentions": {"type": "integer"},
                            "share": {"type": "number"},
                        }
                    ),
                }
            ),
        }
    ),
}


#: ``funnelopt check --format json``: a valid scenario, its plausibility warnings, and the
#: scenario as read (defaults filled in; ``funnelopt schema scenario`` describes it).
CHECK = _document(
    "funnelopt check",
    {
        "valid": {"const": True},
        "name": {"type": "string"},
        "periods": {"type": "integer", "minimum": 1},
        "period_label": {"type": "string"},
        "tactics": {"type": "integer", "minimum": 0},
        "communities": {"type": "integer", "minimum": 0},
        "goals": {"type": "integer", "minimum": 0},
        "warnings": {"type": "array", "items": PROBLEM},
        "scenario": {"type": "object"},
    },
)

_BAND = _obj({"p5": _NUMS, "p50": _NUMS, "p95": _NUMS})

#: ``funnelopt forecast --format json``: a plan over draws of the scenario's ranges.
FORECAST = _document(
    "funnelopt forecast",
    {
        "funnelopt_version": {"type": "string"},
        "scenario": {"type": "string"},
        "period_label": {"type": "string"},
        "currency": {"type": "string"},
        "draws": {"type": "integer", "minimum": 1},
        "seed": {"type": "integer", "minimum": 0},
        "inputs": _map({"type": "object", "required": ["dist"]}),
        "goals": {
            "type": "array",
            "items": _obj(
                {
                    "metric": {"type": "string"},
                    "target": {"type": "number"},
                    "by": {"type": "integer", "minimum": 1},
                    "hard": {"type": "boolean"},
                    "probability": {"type": "number", "minimum": 0, "maximum": 1},
                    "p5": _NUM,
                    "p50": _NUM,
                    "p95": _NUM,
                }
            ),
        },
        "capacity_overload_probability": _obj(
            {"webcare_hours": _NUM, "ae_cases": _NUM}, extra=False
        ),
        "ae_count_overload_probability": _NUM,
        "budget_overrun_probability": _NUM,
        "metrics": _map(
            _obj(
                {
                    "nominal": _NUM,
                    "mean": _NUM,
                    "p5": _NUM,
                    "p50": _NUM,
                    "p95": _NUM,
                    "per_period": _BAND,
                }
            )
        ),
        "tornado": _obj(
            {
                "metric": {"type": "string"},
                "swings": {
                    "type": "array",
                    "items": _obj(
                        {
                            "path": {"type": "string"},
                            "input_p5": _NUM,
                            "input_p95": _NUM,
                            "at_p5": _NUM,
                            "at_p95": _NUM,
                        }
                    ),
                },
            }
        ),
    },
)
FORECAST["required"] = [k for k in FORECAST["required"] if k != "tornado"]

#: Invalid input under ``--format json`` (and the HTTP service's 422 body).
ERRORS: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "funnelopt input errors",
    **_obj(
        {
            "schema_version": {"const": 1},
            "errors": {
                "type": "array",
                "minItems": 1,
                "items": PROBLEM,
            },
        }
    ),
}


#: Every JSON document funnelopt writes, by the name ``funnelopt schema`` takes.
DOCUMENTS: dict[str, dict[str, Any]] = {
    "plan": PLAN,
    "sweep": SWEEP,
    "frontier": FRONTIER,
    "replan": REPLAN,
    "whatif": WHATIF,
    "compare": COMPARE,
    "simulate": SIMULATE,
    "forecast": FORECAST,
    "listen": LISTEN,
    "check": CHECK,
    "errors": ERRORS,
}


def schema(kind: str = "scenario") -> dict[str, Any]:
    """The JSON Schema of ``scenario`` files, or of a JSON output: ``plan``, ``sweep``,
    ``whatif``, ``compare``, ``simulate``, ``forecast``, ``check``, ``listen`` or ``errors``."""
    if kind == "scenario":
        from funnelopt.scenario import Scenario

        return Scenario.json_schema()
    if kind in DOCUMENTS:
        return DOCUMENTS[kind]
    names = ", ".join(["scenario", *DOCUMENTS])
    raise InputError([Problem("kind", kind, f"must be one of {names}")])
