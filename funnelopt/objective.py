"""The objective in one place: its name, its sense, and the score of a simulated outcome.

Every study compares plans by these functions (optimize, polish, strategies, sensitivity,
the CLI's gap to the optimum), so "better" means one thing everywhere.
"""

from __future__ import annotations

from typing import Literal

from funnelopt.outcome import Outcome
from funnelopt.scenario import Metric, Scenario
from funnelopt.simulator import goal_value


def name(scenario: Scenario) -> str:
    """The name the objective is reported under: a metric, ``cost`` or ``weighted``."""
    o = scenario.objective
    if o.kind == "minimize":
        return "cost"
    if o.kind == "maximize":
        return o.metric.value
    return "net value" if o.maximize == "net_value" else "weighted"


def describe(name: str, value: float | None, penalty: float, minimise: bool = False) -> str:
    """The objective in words. With soft-goal penalties it is a *score*, never the metric:
    ``Score: 1,519.7 = conversions 3,185.8 - soft-goal penalty 1,666.1``."""
    if value is None:
        return f"Objective: {name} = -"
    if penalty <= 0:
        return f"Objective: {name} = {value:,.1f}"
    sign, raw = ("+", value - penalty) if minimise else ("-", value + penalty)
    return f"Score: {value:,.1f} = {name} {raw:,.1f} {sign} soft-goal penalty {penalty:,.1f}"


def sense(scenario: Scenario) -> Literal["max", "min"]:
    """``min`` for ``minimize = "cost"``, else ``max``."""
    return "min" if scenario.objective.kind == "minimize" else "max"


def better(scenario: Scenario, a: float, b: float) -> bool:
    """True when score ``a`` is at least as good as ``b`` in the objective's sense."""
    return a <= b if sense(scenario) == "min" else a >= b


def score(scenario: Scenario, outcome: Outcome) -> float:
    """The scenario's objective evaluated on a simulated outcome, soft-goal penalties included.

    Maximised objectives are returned as such; ``minimize = "cost"`` returns the cost plus
    penalties (lower is better).
    """
    o = scenario.objective
    penalty = soft_penalty(scenario, outcome)
    if o.kind == "minimize":
        return outcome.totals["cost_total"] + penalty
    if o.kind == "maximize":
        return metric_total(scenario, outcome, o.metric) - penalty
    value = 0.0
    for key, w in o.weighted.items():
        value += (
            -w * outcome.totals["cost_total"]
            if key == "cost"
            else w * metric_total(scenario, outcome, Metric(key))
        )
    return value - penalty


def penalised(scenario: Scenario) -> bool:
    """Whether the objective carries soft-goal penalties: its marginal values (budget,
    goals, tactics) are then in score, not in the metric."""
    return any(not g.hard for g in scenario.goals)


def soft_penalty(scenario: Scenario, outcome: Outcome) -> float:
    """Sum of weight x shortfall over the soft goals (in objective units)."""
    return sum(
        g.weight * r.shortfall
        for g, r in zip(scenario.goals, outcome.goals, strict=True)
        if not g.hard
    )


def metric_total(scenario: Scenario, outcome: Outcome, metric: Metric) -> float:
    """A goal metric over the whole campaign (flows summed, stocks at the end)."""
    return goal_value(scenario, outcome.per_period, metric, scenario.periods)
