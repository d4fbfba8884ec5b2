"""funnelopt: plan disease-awareness social-media campaigns and optimise their budget.

The data flow, one module per step::

    scenario -> simulator -> formulation -> backends -> plan -> analysis -> cli
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from funnelopt.errors import FunnelOptError, Problem, ScenarioError, SolverError
from funnelopt.outcome import GoalResult, Outcome
from funnelopt.scenario import Metric, Scenario
from funnelopt.simulator import simulate

try:
    __version__ = version("funnelopt")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0+unknown"

__all__ = [
    "FunnelOptError",
    "GoalResult",
    "Metric",
    "Outcome",
    "Problem",
    "Scenario",
    "ScenarioError",
    "SolverError",
    "__version__",
    "simulate",
]
