"""Uncertainty (issue 12): ranges in the scenario, forecasts over draws, goal probabilities.

Kept quick (about a second in all): forecasts use the small shipped example and a few
thousand draws; the statistical checks compare with the exact quantile function or use
tolerances of several standard errors (each named where it is used).
"""

from __future__ import annotations

import copy
import itertools
import math
from typing import Any

import numpy as np
import pytest
from conftest import EXAMPLES
from hypothesis import given, settings
from hypothesis import strategies as st
from test_properties import scenarios

from funnelopt import Scenario, ScenarioError, simulate
from funnelopt.analysis.uncertainty import forecast
from funnelopt.compiled import draw_inputs, quantile
from funnelopt.scenario import Range, field_bounds

RANGES: dict[str, Any] = {
    "tactics.meta_dark.ctr": {"dist": "triangular", "low": 0.006, "mode": 0.01, "high": 0.016},
    "tactics.meta_dark.cpm": {"dist": "uniform", "low": 10.0, "high": 14.0},
    "adverse_events.rate": {"dist": "lognormal", "median": 0.01, "p95": 0.02},
    "communities.patients_de.churn": {"dist": "pert", "low": 0.001, "mode": 0.0023, "high": 0.01},
    "site.conversion_rate": {"dist": "beta", "mean": 0.05, "sd": 0.01},
}


def _full(ranges: dict[str, Any] = RANGES) -> Scenario:
    data = Scenario.from_file(EXAMPLES / "disease_awareness.toml").to_dict()
    return Scenario.from_dict({**data, "uncertainty": copy.deepcopy(ranges)})


def _plan(s: Scenario, scale: float = 1.0) -> np.ndarray:
    x = np.zeros((s.periods, len(s.tactics)))
    x[:, 0], x[:, 1] = 3000.0 * scale, 800.0 * scale
    return x


# -- validation ------------------------------------------------------------------------------


def test_range_errors_name_the_field_in_one_pass_with_other_errors() -> None:
    data = Scenario.from_file(EXAMPLES / "disease_awareness.toml").to_dict()
    data["budget"]["total"] = -1
    data["uncertainty"] = {
        "tactics.meta_dark.ctrr": {"dist": "uniform", "low": 0.01, "high": 0.02},
        "budget.media": {"dist": "uniform", "low": 1.0, "high": 2.0},
        "tactics.meta_dark.landing_rate": {"dist": "uniform", "low": 0.5, "high": 1.2},
        "tactics.meta_dark.cpm": {"dist": "triangular", "low": 10, "mode": 15, "high": 14},
        "tactics.meta_dark.ctr": {"dist": "uniform", "low": 0.01, "high": 0.02, "median": 1},
        "adverse_events.rate": {"dist": "lognormal", "median": 0.5, "p95": 2.0},
        "site.conversion_rate": {"dist": "beta", "mean": 0.05, "sd": 0.5},
        "population": {"dist": "beta", "mean": 0.5, "sd": 0.1},
        "tactics.meta_follow.conversion_rate": {"dist": "uniform", "low": 0.1, "high": 0.2},
        "communities.patients_de.churn": {"dist": "gamma", "low": 0.0, "high": 0.1},
    }
    with pytest.raises(ScenarioError) as err:
        Scenario.from_dict(data)
    rules = {p.path: p.rule for p in err.value.problems}
    assert rules["budget.total"] == "must be > 0"  # the same pass
    u = "uncertainty."
    assert "did you mean 'tactics.meta_dark.ctr'" in rules[u + "tactics.meta_dark.ctrr"]
    assert "decisions" in rules[u + "budget.media"]
    assert "allowed values [0, 1]" in rules[u + "tactics.meta_dark.landing_rate"]
    assert "low <= mode <= high" in rules[u + "tactics.meta_dark.cpm"]
    assert "median is not one of them" in rules[u + "tactics.meta_dark.ctr"]
    assert "allowed values [0, 1)" in rules[u + "adverse_events.rate"]
    assert "sd <" in rules[u + "site.conversion_rate"]
    assert "beta draws lie in (0, 1)" in rules[u + "population"]
    assert "has no value" in rules[u + "tactics.meta_follow.conversion_rate"]
    assert any(p.startswith(u + "communities.patients_de.churn") for p in rules)


def test_ranges_leave_nominal_values_and_round_trip() -> None:
    s = _full()
    assert s.tactics[0].ctr == 0.01 and s.tactics[0].cpm == 12.0
    assert Scenario.from_toml(s.to_toml()).uncertainty == s.uncertainty
    assert not any(p.startswith("uncertainty") for p in s.field_paths())


# -- distributions ---------------------------------------------------------------------------

# A midpoint grid u = (i + 1/2) / n through the quantile function is a deterministic sample:
# its mean and sd differ from the distribution's by O(1/n^2) for these smooth densities,
# so with n = 20,000 a relative tolerance of 1e-4 is loose, not statistical.
GRID = (np.arange(20_000) + 0.5) / 20_000
OPEN_RATE = (0.0, False, 1.0, True)
ANY = (-math.inf, False, math.inf, False)


@pytest.mark.parametrize(
    ("params", "mean", "sd"),
    [
        ({"dist": "uniform", "low": 2.0, "high": 6.0}, 4.0, 4 / math.sqrt(12)),
        (
            {"dist": "triangular", "low": 1.0, "mode": 2.0, "high": 6.0},
            3.0,
            math.sqrt((1 + 4 + 36 - 2 - 6 - 12) / 18),
        ),
        # PERT: mean (a + 4m + b) / 6; sd from the beta(3, 3)... here alpha = 1 + 4 (m-a)/(b-a)
        ({"dist": "pert", "low": 0.0, "mode": 1.0, "high": 4.0}, 8 / 6, None),
        ({"dist": "beta", "mean": 0.05, "sd": 0.01}, 0.05, 0.01),
    ],
)
def test_distribution_moments(params: dict[str, Any], mean: float, sd: float | None) -> None:
    draws = quantile(Range(**params), GRID, ANY if params["dist"] != "beta" else OPEN_RATE)
    assert draws.mean() == pytest.approx(mean, rel=1e-4)
    if sd is not None:
        assert draws.std() == pytest.approx(sd, rel=1e-4)


def test_lognormal_median_and_p95_and_truncation() -> None:
    r = Range(dist="lognormal", median=0.01, p95=0.02)
    q = quantile(r, np.array([0.5, 0.95]), field_bounds("adverse_events.rate"))
    # Truncation at 1 removes ~1e-27 of the mass: the quantiles are the untruncated ones.
    assert q == pytest.approx([0.01, 0.02], rel=1e-9)
    wide = Range(dist="lognormal", median=0.2, p95=0.8)  # ~0.4% above 1: cut off there
    assert quantile(wide, np.array([1.0]), OPEN_RATE)[0] < 1.0


def test_random_draws_match_their_range() -> None:
    """Random draws (the forecast's) agree with the range: the uniform's mean within 5
    standard errors (sd / sqrt(n); a false alarm ~1 in 1.7 million) and each quantile's
    empirical CDF within 5 binomial standard errors."""
    s = _full()
    n = 20_000
    d = draw_inputs(s, n, seed=3)
    cpm = d["tactics.meta_dark.cpm"]
    assert abs(cpm.mean() - 12.0) < 5 * (4 / math.sqrt(12)) / math.sqrt(n)
    for path, p in (("tactics.meta_dark.ctr", 0.25), ("adverse_events.rate", 0.95)):
        v = quantile(s.uncertainty[path], np.array([p]), field_bounds(path))[0]
        assert abs((d[path] <= v).mean() - p) < 5 * math.sqrt(p * (1 - p) / n)


@given(
    st.sampled_from(["tactics.meta_dark.ctr", "tactics.meta_dark.landing_rate"]),
    st.floats(0.0, 1.0),
    st.floats(0.0, 1.0),
    st.floats(0.0, 1.0),
    st.integers(0, 2**53 - 1),
)
def test_draws_never_leave_the_fields_values(
    path: str, a: float, b: float, m: float, k: int
) -> None:
    """Whatever a valid range and u, the draw lies inside the field's allowed values
    (u = k / 2**53: numpy's generator draws its uniforms on that grid)."""
    u = k / 2**53
    lo, lo_open, hi, hi_open = field_bounds(path)
    top = np.nextafter(hi, 0) if hi_open else hi
    low, high = sorted((a * top, b * top))
    mode = low + m * (high - low)
    for r in (
        Range(dist="triangular", low=low, mode=mode, high=high),
        Range(dist="pert", low=low, mode=mode, high=high),
        Range(dist="uniform", low=low, high=high),
        Range(dist="lognormal", median=0.05, p95=0.3),
    ):
        v = quantile(r, np.array([u]), (lo, lo_open, hi, hi_open))[0]
        assert lo <= v <= hi and not (hi_open and v >= hi)


# -- forecasts -------------------------------------------------------------------------------


def test_zero_width_ranges_forecast_the_simulation_exactly() -> None:
    base = Scenario.from_file(EXAMPLES / "disease_awareness.toml")
    point = {
        path: {"dist": "triangular", "low": v, "mode": v, "high": v}
        for path, v in (
            ("tactics.meta_dark.ctr", 0.01),
            ("tactics.meta_dark.pool", 3_200_000.0),
            ("communities.patients_de.churn", 0.0023),
            ("adverse_events.rate", 0.01),
        )
    }
    s = _full(point)
    x = _plan(s)
    f = forecast(s, x, draws=7, seed=1)
    out = simulate(base, x)
    for metric, total in f.totals.items():
        assert (total == out.totals[metric]).all(), metric
        assert (f.per_period[metric] == out.per_period[metric]).all(), metric


def test_vectorised_forecast_equals_a_loop_over_simulate() -> None:
    s = _full(
        {**RANGES, "tactics.meta_follow.pool": {"dist": "uniform", "low": 2e6, "high": 3.2e6}}
    ).with_overrides({"communities.patients_de.start": 3})  # a launch after week 1 too
    x, draws = _plan(s), 12
    f = forecast(s, x, draws=draws, seed=5)
    values = draw_inputs(s, draws, seed=5)
    for i in range(draws):
        one = s.with_overrides({p: float(v[i]) for p, v in values.items()})
        out = simulate(one, x)
        for metric in ("conversions", "reach", "followers", "ae_cases", "cost_total"):
            assert f.totals[metric][i] == pytest.approx(out.totals[metric], rel=1e-12), metric


def test_uniform_rate_gives_the_closed_form_goal_probability() -> None:
    """Conversions are proportional to the site's conversion rate c ~ U(0.03, 0.07): the
    goal (target T) is met when c >= T / K (K = conversions per unit rate), with
    probability (0.07 - T / K) / 0.04. Tolerance: 5 binomial standard errors."""
    data = Scenario.from_file(EXAMPLES / "traffic_only.toml").to_dict()
    data["uncertainty"] = {"site.conversion_rate": {"dist": "uniform", "low": 0.03, "high": 0.07}}
    s = Scenario.from_dict(data)
    x = np.full((s.periods, 1), 2500.0)
    k = simulate(s, x).totals["conversions"] / 0.05
    target = s.goals[0].target
    n = 20_000
    (p,) = forecast(s, x, draws=n, seed=0).goal_probability
    exact = (0.07 - target / k) / 0.04
    assert 0.05 < exact < 0.95
    assert abs(p - exact) < 5 * math.sqrt(exact * (1 - exact) / n)


def test_same_seed_same_bytes() -> None:
    from funnelopt._json import dumps

    s = _full()
    a = dumps(forecast(s, _plan(s), draws=500, seed=9).to_dict(tornado="conversions"))
    b = dumps(forecast(s, _plan(s), draws=500, seed=9).to_dict(tornado="conversions"))
    c = dumps(forecast(s, _plan(s), draws=500, seed=10).to_dict())
    assert a == b and a != c


@settings(max_examples=12)
@given(st.lists(st.floats(0.2, 3.0), min_size=2, max_size=3))
def test_goal_probability_never_falls_with_more_budget(scales: list[float]) -> None:
    """Spending more in every cell never lowers a goal's probability (same draws):
    every goal metric of the example grows with spend."""
    s = _full()
    probs = [forecast(s, _plan(s, k), draws=300, seed=2).goal_probability for k in sorted(scales)]
    for lower, higher in itertools.pairwise(probs):
        assert all(h >= low for low, h in zip(lower, higher, strict=True))


def test_overload_and_tornado() -> None:
    s = _full({"adverse_events.rate": {"dist": "uniform", "low": 0.005, "high": 0.05}})
    f = forecast(s, _plan(s, 3.0), draws=2000)
    cases = f.per_period["ae_cases"].max(axis=1)
    assert f.capacity_overload_probability["ae_cases"] == pytest.approx((cases > 10).mean())
    assert 0 < f.ae_count_overload_probability <= 1  # Poisson counts exceed it more often
    assert f.ae_count_overload_probability >= f.capacity_overload_probability["ae_cases"]
    (swing,) = f.tornado("ae_cases")
    assert swing.path == "adverse_events.rate" and swing.at_high > swing.at_low
    bands = f.per_period_quantiles("ae_cases", (0.05, 0.5, 0.95))
    assert bands.shape == (3, s.periods) and (np.diff(bands, axis=0) >= 0).all()


def test_bad_forecast_inputs_are_named() -> None:
    s = _full()
    from funnelopt import InputError

    with pytest.raises(InputError, match="draws"):
        forecast(s, _plan(s), draws=0)
    with pytest.raises(InputError, match="metric"):
        forecast(s, _plan(s), draws=10).tornado("nope")


# -- CLI, schema, plots ----------------------------------------------------------------------


def test_cli_forecast_json_follows_its_schema_and_plots(
    tmp_path: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    import json

    import jsonschema

    from funnelopt.cli import main
    from funnelopt.schemas import schema

    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps({"meta_dark": [3000.0] * 26, "meta_follow": [800.0] * 26}))
    path = str(EXAMPLES / "disease_awareness.toml")
    png = tmp_path / "fan.png"
    args = [path, "--plan", str(plan), "--draws", "300", "--seed", "4"]
    assert main(["forecast", *args, "--format", "json", "--plot", str(png)]) == 0
    doc = json.loads(capsys.readouterr().out)
    jsonschema.validate(doc, schema("forecast"))
    assert doc["draws"] == 300 and len(doc["goals"]) == 3 and png.stat().st_size > 0
    assert doc["tornado"]["swings"][0]["path"] == "tactics.meta_dark.ctr"
    assert main(["forecast", *args, "--format", "markdown"]) == 0
    text = capsys.readouterr().out
    assert "| conversions >= 2,000 by week 26 | hard |" in text
    assert main(["forecast", path, "--draws", "0", "--format", "json"]) == 2
    assert json.loads(capsys.readouterr().out)["errors"][0]["path"] == "draws"
    traffic = str(EXAMPLES / "traffic_only.toml")
    rng = 'uncertainty.site.conversion_rate={"dist":"uniform","low":0.03,"high":0.07}'
    code = main(["plan", traffic, "--set", rng, "--confidence", "0.8", "--format", "json"])
    doc = json.loads(capsys.readouterr().out)
    jsonschema.validate(doc, schema("plan"))
    assert code == 1 and doc["confidence"]["met"] is False  # 80% is out of this budget's reach


# -- plans with a confidence -----------------------------------------------------------------


def _cheapest(confidence_range: tuple[float, float] = (0.03, 0.07)) -> Scenario:
    """Traffic only, minimise cost, conversions >= 750: a confident plan must buy more."""
    low, high = confidence_range
    return Scenario.from_file(EXAMPLES / "traffic_only.toml").with_overrides(
        {
            "uncertainty.site.conversion_rate": {"dist": "uniform", "low": low, "high": high},
            "objective.minimize": "cost",
            "objective.maximize": None,
        }
    )


def test_confident_plan_holds_its_confidence_on_fresh_draws() -> None:
    """The probability measured on a fresh sample (another seed) is at least the asked
    confidence minus 3 of its standard errors; the nominal plan's is below it."""
    from funnelopt import optimize

    s = _cheapest()
    nominal = forecast(s, optimize(s), draws=5_000, seed=11).goal_probability[0]
    plan = optimize(s, confidence=0.7)
    c = plan.confidence
    assert c is not None and c.met and c.validation_draws >= 10_000
    (p,) = forecast(s, plan, draws=20_000, seed=12).goal_probability
    assert p >= 0.7 - 3 * math.sqrt(0.7 * 0.3 / 20_000) and nominal < 0.6
    assert plan.outcome is not None and plan.outcome.goals[0].target == 750  # as given
    assert c.tightened["goals[0].target"] > 750
    assert plan.to_dict()["confidence"]["met"] is True


def test_unreachable_confidence_says_what_is_reachable_and_what_budget() -> None:
    from funnelopt import optimize

    s = _cheapest()
    plan = optimize(s, confidence=0.85)  # the budget buys ~73% at most
    c = plan.confidence
    assert c is not None and not c.met
    assert c.reachable is not None and 0.6 < c.reachable < 0.85
    assert c.required_budget is not None and c.required_budget > s.budget.total
    with pytest.raises(ScenarioError, match="confidence"):
        optimize(s, confidence=1.0)


@pytest.mark.filterwarnings("error::RuntimeWarning")  # inf - inf once passed as a NaN quantile
@settings(max_examples=6, deadline=None)
@given(data=scenarios())
def test_a_met_confidence_holds_on_fresh_draws_for_random_scenarios(data: dict) -> None:  # type: ignore[type-arg]
    """On random scenarios with a +-30% CTR range and a cost-minimising plan for a visits
    goal: where the plan says the confidence is met, an independent forecast (another
    seed) agrees within 3 standard errors; where it is not, a lower reachable confidence
    is named."""
    from funnelopt import optimize

    ctr = data["tactics"][0]["ctr"]
    data["uncertainty"] = {
        "tactics.t0.ctr": {"dist": "uniform", "low": 0.7 * ctr, "high": 1.3 * ctr}
    }
    data["goals"] = []
    free = optimize(Scenario.from_dict(data), analysis=False, strategies=False)
    if free.outcome is None or free.outcome.totals["visits"] <= 1:
        return
    # The cheapest plan for 60% of the most visits the budget buys: nominally it just
    # meets the goal, so a confident plan must buy more (and the budget leaves room).
    data["goals"] = [{"metric": "visits", "target": 0.6 * free.outcome.totals["visits"]}]
    data["objective"] = {"minimize": "cost"}
    s = Scenario.from_dict(data)
    plan = optimize(s, confidence=0.8, analysis=False)
    c = plan.confidence
    if plan.status != "optimal" or c is None:
        return
    if not c.met:
        assert c.reachable is None or c.reachable < 0.8
        return
    probs = forecast(s, plan, draws=4_000, seed=99).goal_probability
    se = 3 * math.sqrt(0.8 * 0.2 / 4_000)
    for g, p in zip(s.goals, probs, strict=True):
        if g.hard:
            assert p >= 0.8 - se, (g, p)
