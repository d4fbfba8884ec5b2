"""The simulator reproduces the design's formulas (design section 2) by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import COMMUNITY, build
from hypothesis import given
from hypothesis import strategies as st

from funnelopt import Scenario, ScenarioError, simulate
from funnelopt.metrics import METRICS, STOCKS
from funnelopt.simulator import delivery, poisson_p95, reach_curve


def test_delivery_formula_by_hand(traffic: Scenario) -> None:
    # I_sat = 80,000 * 2 = 160,000; sigma = 160,000 * 10 / 1000 = 1,600.
    out = simulate(traffic, {"dark": [800.0, 0.0, 1600.0, 0.0]})
    imp = out.per_period["impressions"]
    assert imp[0] == pytest.approx(160_000 * (1 - math.exp(-0.5)))
    assert imp[1] == 0.0
    assert imp[2] == pytest.approx(160_000 * (1 - math.exp(-1.0)))
    clicks = imp * 0.01
    visits = clicks * 0.8
    assert np.allclose(out.per_period["clicks"], clicks)
    assert np.allclose(out.per_period["visits"], visits)
    assert np.allclose(out.per_period["conversions"], visits * 0.05)
    assert out.totals["spend"] == 2400.0
    assert out.totals["cost_total"] == 2400.0


def test_low_spend_delivery_is_the_base_cpm(traffic: Scenario) -> None:
    out = simulate(traffic, {"dark": [1.0, 0, 0, 0]})
    assert out.totals["impressions"] == pytest.approx(1000 / 10.0, rel=1e-3)


def test_reach_by_hand(traffic: Scenario) -> None:
    out = simulate(traffic, {"dark": [800.0, 0.0, 1600.0, 0.0]})
    cum = np.cumsum(out.per_period["impressions"])
    n, a = 100_000, 80_000
    expected = np.minimum(n * (1 - np.exp(-cum / n)), a * (1 - np.exp(-cum / a)))
    assert np.allclose(out.per_period["reach"], expected)
    assert out.totals["reach"] == pytest.approx(expected[-1])
    assert out.totals["reach_share"] == pytest.approx(expected[-1] / n)


def test_hyperbolic_reach_by_hand() -> None:
    s = Scenario.from_dict(build(reach_curve="hyperbolic"))
    out = simulate(s, {"dark": [800.0, 0.0, 0.0, 0.0]})
    p = 160_000 * (1 - math.exp(-0.5))
    assert out.totals["reach"] == pytest.approx(min(1e5 * p / (p + 1e5), 8e4 * p / (p + 8e4)))


def test_community_by_hand(with_community: Scenario) -> None:
    s = with_community
    spend = {"dark": [0.0] * 4, "follow": [400.0, 400.0, 0.0, 0.0]}
    out = simulate(s, spend)
    # follower ads: I_sat = 160,000, sigma = 160,000 * 8 / 1000 = 1,280
    paid_imp = 160_000 * (1 - math.exp(-400 / 1280))
    paid_new = [0.005 * paid_imp] * 2 + [0.0, 0.0]
    f_prev, followers, organic = 100.0, [], []
    for t in range(4):
        oi = 3 * 0.1 * f_prev
        f_prev = 0.99 * f_prev + paid_new[t] + 0.01 * oi
        organic.append(oi)
        followers.append(f_prev)
    assert np.allclose(out.per_period["followers"], followers)
    assert np.allclose(out.per_period["organic_impressions"], organic)
    organic = np.array(organic)
    visits_c = organic * 0.02 * 0.8
    assert np.allclose(out.per_period["community_visits"], visits_c)
    assert np.allclose(out.per_period["conversions"], visits_c * 0.1)
    assert np.allclose(out.per_period["engagements"], organic * 0.05)
    comments = organic * 0.01 + np.array([paid_imp, paid_imp, 0, 0]) * 0.001
    assert np.allclose(out.per_period["comments"], comments)
    ae = 0.02 * comments
    hours = 2 + comments * 3 / 60 + ae * 30 / 60
    assert np.allclose(out.per_period["ae_cases"], ae)
    assert np.allclose(out.per_period["webcare_hours"], hours)
    assert np.allclose(out.per_period["cost_webcare"], 60 * hours)
    assert np.allclose(out.per_period["cost_ae"], 100 * ae)
    community_cost = np.array([1000 + 150.0, 150.0, 150.0, 150.0])
    assert np.allclose(out.per_period["cost_community"], community_cost)
    assert out.totals["followers"] == pytest.approx(followers[-1])
    assert out.totals["cost_total"] == pytest.approx(
        800 + community_cost.sum() + 60 * hours.sum() + 100 * ae.sum()
    )
    assert out.per_period["valid_icsrs"][0] == pytest.approx(ae[0] * 0.14)
    assert out.per_period["serious_icsrs"][0] == pytest.approx(ae[0] * 0.014)


def test_community_off(with_community: Scenario) -> None:
    out = simulate(with_community, {"dark": [100.0] * 4}, community={"patients": False})
    assert out.totals["organic_impressions"] == 0.0
    assert out.totals["cost_community"] == 0.0
    assert out.community == {"patients": False}
    # The existing followers only churn away.
    assert out.totals["followers"] == pytest.approx(100 * 0.99**4)


def test_follower_ads_need_their_community(with_community: Scenario) -> None:
    with pytest.raises(ScenarioError, match="community patients is off"):
        simulate(with_community, {"follow": [1.0] * 4}, community={"patients": False})


def test_mode_is_respected() -> None:
    data = build(COMMUNITY)
    data["communities"][0]["mode"] = "off"
    s = Scenario.from_dict(data)
    assert simulate(s, {}).community == {"patients": False}
    with pytest.raises(ScenarioError, match="its mode is off"):
        simulate(s, {}, community={"patients": True})


@pytest.mark.parametrize(
    ("spend", "expected"),
    [
        ({"dark": [1.0, 2.0]}, "spend.dark = '2 values': needs 4"),
        ({"nope": [1.0] * 4}, "spend.nope"),
        ({"dark": [1.0, -1.0, 0, 0]}, "spend.dark[2] = -1.0: must be a finite number >= 0"),
        ({"dark": [1.0, math.nan, 0, 0]}, "spend.dark[2] = nan"),
        (np.zeros((3, 1)), "must be periods x tactics"),
    ],
)
def test_bad_spend_is_named(traffic: Scenario, spend: object, expected: str) -> None:
    with pytest.raises(ScenarioError) as info:
        simulate(traffic, spend)  # type: ignore[arg-type]
    assert any(expected in str(p) for p in info.value.problems), info.value.problems


def test_array_and_mapping_agree(with_community: Scenario) -> None:
    x = np.array([[100.0, 50.0], [0.0, 10.0], [30.0, 0.0], [5.0, 5.0]])
    a = simulate(with_community, x)
    b = simulate(with_community, {"dark": x[:, 0].tolist(), "follow": x[:, 1].tolist()})
    assert a.to_json() == b.to_json()


def test_goals_and_violations() -> None:
    data = build(
        goals=[
            {"metric": "visits", "target": 1000, "by": 2},
            {"metric": "reach_share", "target": 0.01},
        ],
        budget={"total": 1000, "period_max": 400},
    )
    data["tactics"][0].update(max_spend=300, end=3, min_spend_if_active=50)
    s = Scenario.from_dict(data)
    out = simulate(s, {"dark": [350.0, 10.0, 200.0, 500.0]})
    visits = out.per_period["visits"][:2].sum()
    g0, g1 = out.goals
    assert g0.achieved == pytest.approx(visits) and not g0.met
    assert g0.shortfall == pytest.approx(1000 - visits)
    assert g1.met and g1.shortfall == 0 and g1.phase == "awareness"
    text = "\n".join(out.violations)
    assert "budget.total" in text
    assert "budget.period_max: week 4" in text
    assert "tactics.dark.max_spend: weeks 1, 4 spend up to 500.00 > 300.00" in text
    assert "outside its window 1-3" in text
    assert "min_spend_if_active: week 2" in text
    assert not out.feasible and not out.goals_met


def test_limits_broken_in_many_periods_are_one_line_with_runs() -> None:
    data = build(budget={"total": 10_000}, periods=12)
    data["tactics"][0].update(max_spend=300, end=3)
    s = Scenario.from_dict(data)
    out = simulate(s, {"dark": [350.0, 0, 0, 500.0, 310, 320, 330, 0, 0, 400, 0, 0]})
    assert "tactics.dark.max_spend: weeks 1, 4-7, 10 spend up to 500.00 > 300.00" in out.violations
    assert (
        "tactics.dark: spends 1,860.00 in weeks 4-7, 10, outside its window 1-3" in out.violations
    )
    assert len(out.violations) == 2


def test_capacity_violation(with_community: Scenario) -> None:
    s = with_community.with_overrides({"webcare.capacity_hours": 2.5})
    out = simulate(s, {"follow": [5000.0] * 4})
    assert any(v.startswith("webcare.capacity_hours") for v in out.violations)
    assert out.capacity["webcare_hours"]["peak_use"] > 1  # type: ignore[operator]


def test_poisson_p95() -> None:
    from scipy.stats import poisson

    means = np.array([0.0, 0.3, 1.0, 4.2, 25.0, 400.0])
    assert np.array_equal(poisson_p95(means), np.where(means > 0, poisson.ppf(0.95, means), 0))


def test_to_dict_is_stable_and_json_safe(with_community: Scenario) -> None:
    out = simulate(with_community, {"dark": [100.0] * 4})
    d = out.to_dict()
    assert set(d["totals"]) == set(METRICS)
    assert d["kpis"]["cost_per_follower"] is not None
    assert out.to_json() == simulate(with_community, {"dark": [100.0] * 4}).to_json()
    assert "Outcome" in repr(out)


def test_example_runs(example: Scenario) -> None:
    out = simulate(example, np.full((example.periods, len(example.tactics)), 1000.0))
    assert out.totals["conversions"] > 0 and out.totals["reach"] > 0


# -- properties ------------------------------------------------------------------------

spend_values = st.floats(min_value=0, max_value=5000, allow_nan=False)


def plans(periods: int, tactics: int) -> st.SearchStrategy[np.ndarray]:
    return st.lists(spend_values, min_size=periods * tactics, max_size=periods * tactics).map(
        lambda v: np.array(v).reshape(periods, tactics)
    )


community = Scenario.from_dict(COMMUNITY)
hyper = Scenario.from_dict(build(COMMUNITY, reach_curve="hyperbolic"))


@given(x=plans(4, 2), extra=plans(4, 2), hyperbolic=st.booleans())
def test_more_spend_never_lowers_goods(x: np.ndarray, extra: np.ndarray, hyperbolic: bool) -> None:
    """More spend never lowers impressions, reach, visits, followers or conversions."""
    s = hyper if hyperbolic else community
    a, b = simulate(s, x), simulate(s, x + extra)
    for metric in ("impressions", "reach", "visits", "conversions", "followers", "clicks"):
        assert np.all(b.per_period[metric] >= a.per_period[metric] * (1 - 1e-12) - 1e-9), metric


@given(x=plans(4, 2), hyperbolic=st.booleans())
def test_simulator_invariants(x: np.ndarray, hyperbolic: bool) -> None:
    """Reach stays within the population and never falls; followers never go negative;
    costs add up; totals equal per-period sums (flows) or final values (stocks)."""
    s = hyper if hyperbolic else community
    out = simulate(s, x)
    pp = out.per_period
    assert np.all(pp["reach"] <= s.population + 1e-6)
    assert np.all(np.diff(pp["reach"]) >= -1e-9)
    assert np.all(pp["reach"] <= np.cumsum(pp["impressions"]) + 1e-9)
    assert np.all(pp["followers"] >= 0)
    parts = pp["cost_media"] + pp["cost_community"] + pp["cost_webcare"] + pp["cost_ae"]
    assert np.allclose(parts, pp["cost_total"])
    assert pp["spend"].sum() == pytest.approx(x.sum())
    for m in METRICS:
        if m in STOCKS:
            assert out.totals[m] == pp[m][-1]
        elif m != "ae_cases_p95":
            assert out.totals[m] == pytest.approx(pp[m].sum())


@given(s=st.floats(0, 1e6), i_sat=st.floats(1, 1e8), sigma=st.floats(1, 1e6))
def test_delivery_concave_and_bounded(s: float, i_sat: float, sigma: float) -> None:
    """Delivery never exceeds saturation or the base-CPM line, and is non-negative."""
    v = float(delivery(s, i_sat, sigma))
    assert 0 <= v <= i_sat * (1 + 1e-12)
    assert v <= i_sat * s / sigma * (1 + 1e-12) + 1e-12


@given(p=st.floats(0, 1e9), size=st.floats(1, 1e8))
def test_hyperbolic_reach_below_exponential(p: float, size: float) -> None:
    """The hyperbolic curve is the conservative one."""
    assert (
        reach_curve(p, size, "hyperbolic")
        <= reach_curve(p, size, "exponential") * (1 + 1e-12) + 1e-9
    )


def test_shared_audience_counts_people_once() -> None:
    """Two tactics on one audience reach no more than one pool; on separate ones, up to two."""
    data = build()
    second = dict(data["tactics"][0], id="dark2", pool=60_000)
    data["tactics"].append(second)
    separate = Scenario.from_dict(data)
    data["tactics"][0]["audience"] = data["tactics"][1]["audience"] = "broad"
    shared = Scenario.from_dict(data)
    x = np.full((4, 2), 3000.0)
    a, b = simulate(separate, x), simulate(shared, x)
    cum = np.cumsum(b.per_period["impressions"])
    expected = np.minimum(1e5 * -np.expm1(-cum / 1e5), 8e4 * -np.expm1(-cum / 8e4))
    assert np.allclose(b.per_period["reach"], expected)
    assert a.totals["reach"] > b.totals["reach"]
