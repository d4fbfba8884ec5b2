"""Forecasts under uncertainty: the exact model run over draws of the scenario's ranges.

The scenario's ``[uncertainty]`` table gives ranges to estimates (rates, costs, sizes,
capacities). :func:`forecast` draws them (:func:`funnelopt.compiled.draw_inputs`),
compiles the draws into arrays with a leading sample axis
(:func:`funnelopt.compiled.sampled_data`) and runs the simulator's own forward model over
all of them at once (:func:`funnelopt.simulator.forward`): no loop per draw, and the same
arithmetic as :func:`~funnelopt.simulate`, so a range of zero width forecasts exactly
the simulated value.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from funnelopt._version import __version__
from funnelopt.compiled import draw_inputs, quantile, sampled_data
from funnelopt.errors import InputError, Problem
from funnelopt.metrics import STOCKS
from funnelopt.outcome import FloatArray
from funnelopt.scenario import Scenario, field_bounds, field_value
from funnelopt.simulator import (
    REL_TOL,
    SpendInput,
    campaign_total,
    checked_plan,
    exceeds,
    forward,
    goal_met,
    goal_values,
    simulate,
)

SCHEMA_VERSION = 1

#: At most this many draws (10,000 take well under a second; a million take ~1 GB).
MAX_DRAWS = 1_000_000

#: The metrics a forecast document reports (campaign totals; stocks at the end).
HEADLINE = (
    "cost_total",
    "reach_share",
    "visits",
    "followers",
    "conversions",
    "comments",
    "ae_cases",
    "webcare_hours",
)

#: Quantiles the document gives for each headline metric.
BANDS = (0.05, 0.5, 0.95)


@dataclass(frozen=True)
class GoalChance:
    """One goal of the scenario and the probability that the plan meets it."""

    metric: str
    target: float
    by: int
    hard: bool
    probability: float
    #: The goal metric at its period: P5, P50, P95 over the draws.
    quantiles: tuple[float, float, float]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (stable keys)."""
        p5, p50, p95 = self.quantiles
        return {
            "metric": self.metric,
            "target": self.target,
            "by": self.by,
            "hard": self.hard,
            "probability": self.probability,
            "p5": p5,
            "p50": p50,
            "p95": p95,
        }


@dataclass(frozen=True)
class Swing:
    """How much one uncertain input moves a metric: the metric with the input at its
    P5 and at its P95, every other input at its nominal value."""

    path: str
    input_low: float
    input_high: float
    at_low: float
    at_high: float

    @property
    def width(self) -> float:
        """The swing's size, ``|at_high - at_low|``."""
        return abs(self.at_high - self.at_low)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (stable keys)."""
        return {
            "path": self.path,
            "input_p5": self.input_low,
            "input_p95": self.input_high,
            "at_p5": self.at_low,
            "at_p95": self.at_high,
        }


@dataclass(frozen=True)
class Forecast:
    """A plan's outcome over draws of the scenario's ranges (read-only arrays).

    ``totals[metric]`` holds one campaign total per draw (stocks: the final value);
    ``per_period[metric]`` is ``draws x periods``; ``nominal`` the simulated totals at
    the scenario's own values.
    """

    scenario_name: str
    period_label: str
    currency: str
    draws: int
    seed: int
    #: Ranged field paths and their ranges' parameters, in the table's order.
    inputs: Mapping[str, Mapping[str, Any]]
    per_period: Mapping[str, FloatArray]
    totals: Mapping[str, FloatArray]
    nominal: Mapping[str, float]
    goals: tuple[GoalChance, ...]
    #: Per capacity (``webcare_hours``, ``ae_cases``): the probability that any period
    #: exceeds it (``None`` without that capacity).
    capacity_overload_probability: Mapping[str, float | None]
    #: The probability that the AE *count* (Poisson around the expected cases) exceeds
    #: the PV desk's capacity in any period: what a desk staffs against.
    ae_count_overload_probability: float | None
    #: The probability that the total cost exceeds ``budget.total`` (webcare and AE costs
    #: scale with uncertain comments; media spend is fixed by the plan).
    budget_overrun_probability: float | None
    _scenario: Scenario = field(repr=False, compare=False)
    _spend: FloatArray = field(repr=False, compare=False)
    _community: Mapping[str, bool] = field(repr=False, compare=False)
    _nominal_per_period: Mapping[str, FloatArray] = field(
        repr=False, compare=False, default_factory=dict
    )
    #: Per capacity, its value in each draw (a capacity can have a range).
    _capacities: Mapping[str, FloatArray] = field(repr=False, compare=False, default_factory=dict)
    version: str = __version__

    @property
    def goal_probability(self) -> tuple[float, ...]:
        """Per scenario goal, in the scenario's order: the probability it is met."""
        return tuple(g.probability for g in self.goals)

    def quantiles(self, metric: str, qs: Sequence[float] = BANDS) -> tuple[float, ...]:
        """Quantiles of a metric's campaign total over the draws."""
        return tuple(float(v) for v in np.quantile(self._total(metric), list(_qs(qs))))

    def per_period_quantiles(self, metric: str, qs: Sequence[float] = BANDS) -> FloatArray:
        """Quantiles of a metric in each period: ``len(qs) x periods``."""
        return np.quantile(self._series(metric), list(_qs(qs)), axis=0)

    def cumulative_quantiles(self, metric: str, qs: Sequence[float] = BANDS) -> FloatArray:
        """Quantiles of a metric *to date* in each period (a flow summed so far, a stock
        as it stands): what a goal ``metric >= target by period`` is read on."""
        series = self._series(metric)
        so_far = series if metric in STOCKS else np.cumsum(series, axis=-1)
        return np.quantile(so_far, list(_qs(qs)), axis=0)

    def tornado(self, metric: str) -> tuple[Swing, ...]:
        """Which uncertain inputs move ``metric`` (its campaign total) most, largest first:
        each input at its P5 and P95 in turn, the others nominal (one vectorised run)."""
        self._total(metric)
        s, paths = self._scenario, list(self.inputs)
        if not paths:
            return ()
        n = 2 * len(paths)
        values = {p: np.full(n, float(field_value(s, p))) for p in paths}
        ends: dict[str, FloatArray] = {}
        for k, p in enumerate(paths):
            ends[p] = quantile(s.uncertainty[p], np.array([0.05, 0.95]), field_bounds(p))
            values[p][2 * k : 2 * k + 2] = ends[p]
        flows, _, _ = forward(s, sampled_data(s, values, n), self._spend, self._community)
        total = campaign_total(metric, flows[metric])
        swings = [
            Swing(
                p,
                float(ends[p][0]),
                float(ends[p][1]),
                float(total[2 * k]),
                float(total[2 * k + 1]),
            )
            for k, p in enumerate(paths)
        ]
        return tuple(sorted(swings, key=lambda w: -w.width))

    def _series(self, metric: str) -> FloatArray:
        if metric not in self.per_period:
            known = ", ".join(self.per_period)
            raise InputError([Problem("metric", metric, f"is not a forecast metric ({known})")])
        return self.per_period[metric]

    def _total(self, metric: str) -> FloatArray:
        self._series(metric)
        return self.totals[metric]

    def to_dict(self, tornado: str | None = None) -> dict[str, Any]:
        """The JSON document (stable keys): goal and overload probabilities, P5/P50/P95 of
        the headline metrics (totals and per period), and a tornado of ``tornado``."""
        metrics = {}
        for m in HEADLINE:
            p5, p50, p95 = self.quantiles(m)
            bands = self.per_period_quantiles(m)
            metrics[m] = {
                "nominal": self.nominal[m],
                "mean": float(self.totals[m].mean()),
                "p5": p5,
                "p50": p50,
                "p95": p95,
                "per_period": {
                    f"p{round(q * 100)}": b.tolist() for q, b in zip(BANDS, bands, strict=True)
                },
            }
        doc: dict[str, Any] = {
            "schema_version": SCHEMA_VERSION,
            "funnelopt_version": self.version,
            "scenario": self.scenario_name,
            "period_label": self.period_label,
            "currency": self.currency,
            "draws": self.draws,
            "seed": self.seed,
            "inputs": {p: dict(r) for p, r in self.inputs.items()},
            "goals": [g.to_dict() for g in self.goals],
            "capacity_overload_probability": dict(self.capacity_overload_probability),
            "ae_count_overload_probability": self.ae_count_overload_probability,
            "budget_overrun_probability": self.budget_overrun_probability,
            "metrics": metrics,
        }
        if tornado is not None:
            doc["tornado"] = {
                "metric": tornado,
                "swings": [w.to_dict() for w in self.tornado(tornado)],
            }
        return doc


def forecast(
    scenario: Scenario,
    plan_or_spend: Any,
    draws: int = 10_000,
    seed: int = 0,
    *,
    community: Mapping[str, bool] | None = None,
) -> Forecast:
    """A plan's outcome over ``draws`` draws of the scenario's ``[uncertainty]`` ranges.

    Parameters
    ----------
    scenario
        The campaign, with ranges in ``[uncertainty]`` (without any, every draw is the
        nominal outcome).
    plan_or_spend
        A :class:`~funnelopt.Plan` (its spend and community setting) or a spend plan as
        :func:`~funnelopt.simulate` takes it.
    draws, seed
        How many draws, and the seed: the same seed gives the same draws and bytes.
    community
        With a spend plan: account id -> whether the community runs (as for simulate).

    Examples
    --------
    >>> from funnelopt import Scenario, forecast
    >>> s = Scenario.from_file("examples/traffic_only.toml").with_overrides(
    ...     {"uncertainty.tactics.meta_dark.ctr": {"dist": "uniform", "low": 0.008, "high": 0.012}}
    ... )
    >>> f = forecast(s, {"meta_dark": [2500.0] * s.periods}, draws=1000)
    >>> f.totals["conversions"].shape
    (1000,)
    """
    s = scenario
    spend, switch = _spend_of(plan_or_spend, community)
    if (
        isinstance(draws, bool)
        or not isinstance(draws, int | np.integer)
        or not 1 <= draws <= MAX_DRAWS
    ):
        raise InputError([Problem("draws", draws, f"must be a whole number in 1..{MAX_DRAWS:,}")])
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise InputError([Problem("seed", seed, "must be a whole number >= 0")])
    x, y = checked_plan(s, spend, switch)
    at_nominal = simulate(s, x, y, checks=False)
    nominal = at_nominal.totals
    arr = sampled_data(s, draw_inputs(s, int(draws), int(seed)), int(draws))
    flows, _, _ = forward(s, arr, x, y)
    for a in flows.values():
        a.setflags(write=False)
    totals = {k: campaign_total(k, v) for k, v in flows.items()}
    for a in totals.values():
        a.setflags(write=False)
    goals = []
    for g in s.goals:
        by = s.goal_period(g)
        achieved = goal_values(flows, g.metric, by)
        p5, p50, p95 = (float(v) for v in np.quantile(achieved, BANDS))
        goals.append(
            GoalChance(
                metric=g.metric.value,
                target=g.target,
                by=by,
                hard=g.hard,
                probability=float(goal_met(g.target, achieved).mean()),
                quantiles=(p5, p50, p95),
            )
        )
    wc, ae = s.webcare, s.adverse_events
    has_hours = wc is not None and wc.capacity_hours is not None
    has_cases = ae is not None and ae.capacity is not None
    # Loads of the periods done (the history) happened: only those ahead can overload.
    ahead = slice(s.periods_done, None)
    overload = {
        "webcare_hours": (
            _over(flows["webcare_hours"][..., ahead], arr.capacity_hours) if has_hours else None
        ),
        "ae_cases": _over(flows["ae_cases"][..., ahead], arr.ae_capacity) if has_cases else None,
    }
    return Forecast(
        scenario_name=s.name,
        period_label=s.period_label,
        currency=s.currency,
        draws=int(draws),
        seed=int(seed),
        inputs={p: {"dist": r.dist, **r.parameters()} for p, r in s.uncertainty.items()},
        per_period=flows,
        totals=totals,
        nominal=nominal,
        goals=tuple(goals),
        capacity_overload_probability=overload,
        ae_count_overload_probability=(
            _count_over(flows["ae_cases"][..., ahead], arr.ae_capacity) if has_cases else None
        ),
        budget_overrun_probability=(
            float(exceeds(totals["cost_total"], s.budget.total).mean())
            if s.budget.total is not None
            else None
        ),
        _scenario=s,
        _spend=x,
        _community=y,
        _capacities={"webcare_hours": arr.capacity_hours, "ae_cases": arr.ae_capacity},
        _nominal_per_period=at_nominal.per_period,
    )


def _spend_of(
    plan_or_spend: Any, community: Mapping[str, bool] | None
) -> tuple[SpendInput, Mapping[str, bool] | None]:
    """A plan's spend and community setting, or the spend given."""
    if hasattr(plan_or_spend, "spend") and hasattr(plan_or_spend, "status"):
        if plan_or_spend.spend is None:
            raise InputError(
                [Problem("plan", plan_or_spend.status, "has no spend plan to forecast")]
            )
        return plan_or_spend.spend, community or plan_or_spend.community
    return plan_or_spend, community


def _over(series: FloatArray, capacity: FloatArray) -> float:
    """The share of draws in which any period exceeds the capacity (with the simulator's
    round-off slack)."""
    cap = capacity[..., None]
    return float(exceeds(series, cap).any(axis=-1).mean())


def _count_over(mean_cases: FloatArray, capacity: FloatArray) -> float:
    """P(a Poisson count with these weekly means exceeds the capacity in any week),
    averaged over the draws: 1 - prod_t P(N_t <= floor(capacity))."""
    from scipy.special import pdtr  # Poisson CDF; imported here to keep import fast

    held = pdtr(np.floor(capacity)[..., None], mean_cases).prod(axis=-1)
    return float((1.0 - held).mean())


def _qs(qs: Sequence[float]) -> Sequence[float]:
    bad = [q for q in qs if not 0 <= q <= 1]
    if bad:
        raise InputError([Problem("qs", bad, "quantiles must lie in [0, 1]")])
    return qs


# -- what a plan with a confidence must hold -------------------------------------------------


@dataclass(frozen=True)
class Requirement:
    """A hard goal or a capacity that a plan with a confidence must hold: ``path`` is the
    field tightened for the optimisation (a goal's target, a capacity)."""

    label: str
    path: str
    nominal: float
    goal: int | None = None


def requirements(s: Scenario) -> tuple[Requirement, ...]:
    """The scenario's hard goals and capacities, in order."""
    out = [
        Requirement(
            f"goals[{i}]: {g.metric.value} >= {g.target:,.6g} by {s.period_label} "
            f"{s.goal_period(g)}",
            f"goals[{i}].target",
            g.target,
            i,
        )
        for i, g in enumerate(s.goals)
        if g.hard
    ]
    if s.webcare is not None and s.webcare.capacity_hours is not None:
        out.append(
            Requirement(
                "webcare.capacity_hours", "webcare.capacity_hours", s.webcare.capacity_hours
            )
        )
    if s.adverse_events is not None and s.adverse_events.capacity is not None:
        out.append(
            Requirement(
                "adverse_events.capacity", "adverse_events.capacity", s.adverse_events.capacity
            )
        )
    return tuple(out)


def margin(f: Forecast, r: Requirement, *, nominal: bool = False) -> FloatArray:
    """Per draw (or at the nominal values), how the plan fares against a requirement as a
    ratio that is >= 1 when it holds: a goal's metric over its target; a capacity over the
    peak load (every period, with the draw's capacity)."""
    s = f._scenario
    series = f._nominal_per_period if nominal else f.per_period
    if r.goal is not None:
        g = s.goals[r.goal]
        achieved: FloatArray = goal_values(series, g.metric, s.goal_period(g))
        return achieved / g.target
    key = "webcare_hours" if r.path.startswith("webcare") else "ae_cases"
    cap = np.asarray(r.nominal) if nominal else f._capacities[key]
    use = (series[key][..., s.periods_done :] / cap[..., None]).max(axis=-1, initial=0.0)
    with np.errstate(divide="ignore"):
        return np.where(use > 0, 1.0 / use, np.inf)


def held(f: Forecast, r: Requirement) -> float:
    """The probability that the requirement holds (the simulator's round-off slack)."""
    return float((margin(f, r) >= 1.0 - REL_TOL).mean())


def tighten(f: Forecast, r: Requirement, confidence: float) -> float:
    """The value of the requirement's field for the nominal optimisation.

    The draws' margins scale with the plan's nominal margin ``m`` (rates multiply); their
    ``1 - confidence`` quantile ``q`` says how much the nominal plan must over-deliver: a
    goal's target becomes ``target * m / q``, a capacity ``capacity * q / m``; never looser
    than the scenario's own value.
    """
    # An empirical quantile, no interpolation: draws without any load have an infinite
    # margin, and interpolating between two of them gave inf - inf (a NaN warning).
    q = float(np.quantile(margin(f, r), 1.0 - confidence, method="inverted_cdf"))
    m = float(margin(f, r, nominal=True))
    if np.isinf(q) or np.isinf(m):  # no load at all: nothing to tighten
        return r.nominal
    if q <= 0:  # the goal's metric is zero in too many draws: no scaling reaches it
        return math.inf
    if r.goal is not None:
        return max(r.nominal, r.nominal * m / q)
    return min(r.nominal, r.nominal * q / m)
