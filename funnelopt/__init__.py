"""funnelopt: plan disease-awareness social-media campaigns and optimise their budget.

The data flow, one module per step::

    scenario -> simulator -> formulation -> backends -> plan -> analysis -> cli
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from funnelopt import metrics
from funnelopt.errors import FunnelOptError, InputError, Problem, ScenarioError, SolverError
from funnelopt.outcome import GoalResult, Outcome
from funnelopt.scenario import Metric, Scenario
from funnelopt.simulator import simulate
from funnelopt.valuation import FollowerValue, follower_value

if TYPE_CHECKING:
    from funnelopt.actuals import Actuals, read_actuals
    from funnelopt.analysis.uncertainty import Forecast, forecast
    from funnelopt.optimizer import optimize
    from funnelopt.plan import Decision, Diagnosis, Plan, Sensitivity, Strategy, Verification
    from funnelopt.studies.frontier import Frontier, frontier
    from funnelopt.studies.replan import Replan, replan
    from funnelopt.studies.sweep import Sweep, sweep

from funnelopt._version import __version__

# The optimiser imports the solver stack; it is loaded on first use to keep import fast.
_LAZY = {
    "optimize": ("funnelopt.optimizer", "optimize"),
    "forecast": ("funnelopt.analysis.uncertainty", "forecast"),
    "Forecast": ("funnelopt.analysis.uncertainty", "Forecast"),
    "Plan": ("funnelopt.plan", "Plan"),
    "Decision": ("funnelopt.plan", "Decision"),
    "Diagnosis": ("funnelopt.plan", "Diagnosis"),
    "Sensitivity": ("funnelopt.plan", "Sensitivity"),
    "Strategy": ("funnelopt.plan", "Strategy"),
    "Verification": ("funnelopt.plan", "Verification"),
    "sweep": ("funnelopt.studies.sweep", "sweep"),
    "frontier": ("funnelopt.studies.frontier", "frontier"),
    "replan": ("funnelopt.studies.replan", "replan"),
    "Replan": ("funnelopt.studies.replan", "Replan"),
    "read_actuals": ("funnelopt.actuals", "read_actuals"),
    "Actuals": ("funnelopt.actuals", "Actuals"),
    "Frontier": ("funnelopt.studies.frontier", "Frontier"),
    "Sweep": ("funnelopt.studies.sweep", "Sweep"),
}


def __getattr__(name: str) -> object:
    if name in _LAZY:
        from importlib import import_module

        module, attr = _LAZY[name]
        value = getattr(import_module(module), attr)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'funnelopt' has no attribute {name!r}")


__all__ = [
    "Actuals",
    "Decision",
    "Diagnosis",
    "FollowerValue",
    "Forecast",
    "Frontier",
    "FunnelOptError",
    "GoalResult",
    "InputError",
    "Metric",
    "Outcome",
    "Plan",
    "Problem",
    "Replan",
    "Scenario",
    "ScenarioError",
    "Sensitivity",
    "SolverError",
    "Strategy",
    "Sweep",
    "Verification",
    "__version__",
    "follower_value",
    "forecast",
    "frontier",
    "metrics",
    "optimize",
    "read_actuals",
    "replan",
    "simulate",
    "sweep",
]
