"""A tactic's own delivery curve (docs/curves.md): validation, known answers for concave,
S-shaped and tabulated curves, and the promise kept on constructed scenarios."""

from __future__ import annotations

import copy
import math
from typing import Any

import numpy as np
import pytest
from conftest import build
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import brentq, minimize
from test_properties import FAST, _f, scenarios

from funnelopt import (
    Scenario,
    ScenarioError,
    SolverError,
    curves,
    optimize,
    pwl,
    read_actuals,
    replan,
    simulate,
)

TOL = 0.005
#: Conversions per impression of conftest's tactic: ctr x landing rate x conversion rate.
VALUE = 0.01 * 0.8 * 0.05


def with_curves(*curve: dict[str, Any], periods: int = 1, media: float = 3000.0) -> Scenario:
    """conftest's traffic tactic once per curve (ids t0, t1, ...), the curve instead of cpm."""
    data = build(periods=periods, budget={"media": media})
    base = {k: v for k, v in data["tactics"][0].items() if k not in ("cpm", "frequency_cap")}
    data["tactics"] = [dict(base, id=f"t{i}", curve=c) for i, c in enumerate(curve)]
    return Scenario.from_dict(data)


# -- the file form ----------------------------------------------------------------------------


def _problems(curve: Any, **tactic: Any) -> list[tuple[str, str]]:
    data = build()
    t = {k: v for k, v in data["tactics"][0].items() if k not in ("cpm", "frequency_cap")}
    data["tactics"] = [{**t, "curve": curve, **tactic}]
    with pytest.raises(ScenarioError) as err:
        Scenario.from_dict(data)
    return [(p.path, p.rule) for p in err.value.problems]


def test_curve_errors_name_the_field_and_the_rule() -> None:
    hill = _problems({"kind": "hill", "max": 5e5, "half": -3, "slope": 20})
    assert [p for p, _ in hill] == ["tactics.dark.curve.half", "tactics.dark.curve.slope"]
    assert hill[1][1] == "must be <= 10"
    table = _problems({"kind": "breakpoints", "spend": [10, 5, 20], "impressions": [0, 3, 1]})
    assert [p for p, _ in table] == [
        "tactics.dark.curve.spend[0]",
        "tactics.dark.curve.spend[1]",
        "tactics.dark.curve.impressions[2]",
    ]
    (kind,) = _problems({"kind": "sigmoid", "max": 1})
    assert kind[0] == "tactics.dark.curve" and "'hill'" in kind[1]
    both = _problems({"kind": "logistic", "max": 5e5, "lam": 1e-3}, cpm=10.0)
    assert both == [
        ("tactics.dark.cpm", "the tactic's logistic curve sets its delivery: remove cpm")
    ]
    (length,) = _problems({"kind": "breakpoints", "spend": [0, 5], "impressions": [0, 3, 4]})
    assert length[0] == "tactics.dark.curve.impressions"


def test_the_exponential_curve_needs_cpm_and_frequency_cap() -> None:
    missing = _problems(None)
    assert [p for p, _ in missing] == ["tactics.dark.cpm", "tactics.dark.frequency_cap"]


def test_an_explicit_exponential_curve_is_the_default() -> None:
    data = build(periods=3)
    plain = optimize(Scenario.from_dict(data), **FAST)
    data["tactics"][0]["curve"] = {"kind": "exponential"}
    explicit = optimize(Scenario.from_dict(data), **FAST)
    assert np.array_equal(plain.spend, explicit.spend)


def test_a_curve_survives_the_file_round_trip() -> None:
    s = with_curves({"kind": "hill", "max": 5e5, "half": 3000, "slope": 1.6})
    again = Scenario.from_toml(s.to_toml())
    assert again.tactics[0].curve == s.tactics[0].curve
    assert again.tactics[0].shape == curves.Hill(1.6)


# -- known answers -----------------------------------------------------------------------------


def test_a_single_concave_curve_stops_where_its_margin_meets_the_moneys_value() -> None:
    """Net value v * conversions - spend on one logistic curve: the closed-form optimum
    ``v * r * max * lam / 2 * sech^2(lam s / 2) = 1``."""
    m, lam, v = 400_000.0, 4e-4, 100.0
    data = build(periods=1, budget={"media": 50_000})
    base = {k: x for k, x in data["tactics"][0].items() if k not in ("cpm", "frequency_cap")}
    data["tactics"] = [dict(base, curve={"kind": "logistic", "max": m, "lam": lam})]
    data["objective"] = {"maximize": "net_value", "values": {"conversions": v}}
    s = Scenario.from_dict(data)
    exact_spend = 2 / lam * math.acosh(math.sqrt(v * VALUE * m * lam / 2))
    exact = v * VALUE * m * math.tanh(lam * exact_spend / 2) - exact_spend
    plan = optimize(s, **FAST)
    assert plan.status == "optimal"
    got = v * plan.outcome.totals["conversions"] - plan.outcome.totals["spend"]
    assert exact - TOL * v * VALUE * m <= got <= exact + 1e-6
    assert plan.spend[0, 0] == pytest.approx(exact_spend, rel=0.05)


def test_two_curves_meet_at_equal_marginal_returns() -> None:
    """A logistic and a concave Hill curve share a budget: where their margins are equal."""
    lo = {"kind": "logistic", "max": 300_000.0, "lam": 5e-4}
    hi = {"kind": "hill", "max": 200_000.0, "half": 1500.0, "slope": 0.8}
    s = with_curves(lo, hi, media=3000.0)
    f = [
        lambda x: lo["max"] * math.tanh(lo["lam"] * x / 2),
        lambda x: hi["max"] * (x / hi["half"]) ** 0.8 / (1 + (x / hi["half"]) ** 0.8),
    ]

    def margin(j: int, x: float, h: float = 1e-3) -> float:
        return (f[j](x + h) - f[j](max(x - h, 0.0))) / (x + h - max(x - h, 0.0))

    s1 = brentq(lambda x: margin(0, x) - margin(1, 3000 - x), 1e-6, 3000 - 1e-6)
    exact = VALUE * (f[0](s1) + f[1](3000 - s1))
    plan = optimize(s, **FAST)
    got = plan.outcome.totals["conversions"]
    assert exact * (1 - TOL) <= got <= exact * (1 + 1e-9)
    assert plan.spend[0, 0] == pytest.approx(s1, rel=0.05)


def test_an_s_curve_gets_its_global_all_or_nothing_optimum() -> None:
    """Hill slope 3, half 3000, 6000 over 12 weeks: 3000 in two weeks (1.0 of max),
    not spread thin (the start where a local method stays: 12 x 500 gives 0.055), and
    not all in one week (0.889)."""
    hill = {"kind": "hill", "max": 100_000.0, "half": 3000.0, "slope": 3.0}
    s = with_curves(hill, periods=12, media=6000.0)
    plan = optimize(s, strategies=False)
    assert plan.status == "optimal"
    best = VALUE * hill["max"] * 1.0
    got = plan.outcome.totals["conversions"]
    assert best * (1 - TOL) <= got <= best * (1 + 1e-9)
    assert (plan.spend[:, 0] > 1).sum() == 2
    spread = simulate(s, {"t0": [500.0] * 12}).totals["conversions"]
    assert spread < 0.06 * best
    # A local method started there stays near it: SLSQP on the exact curve.
    local = minimize(
        lambda x: -simulate(s, {"t0": list(x)}, checks=False).totals["conversions"],
        np.full(12, 500.0),
        method="SLSQP",
        bounds=[(0, 6000)] * 12,
        constraints=[{"type": "ineq", "fun": lambda x: 6000 - x.sum()}],
    )
    assert -local.fun < 0.06 * best  # it stays at the even start (2.2 of 40)
    # The certificate's bound really bounds the exact optimum, and holds the plan.
    cert = plan.certificate
    assert cert is not None and cert.met
    assert best * (1 - 1e-9) <= cert.bound and got >= cert.bound * (1 - cert.target)


def _table_best(spend: list[float], imps: list[float], budget: float) -> float:
    """Brute force over three periods on a grid holding every breakpoint and the budget
    (a piecewise-linear optimum has at most one period off a breakpoint, and that one
    spends the rest): every pair of the first two, the third the rest (the curve never
    falls)."""
    step = 50.0
    grid = np.arange(0, spend[-1] + 1, step)
    f = np.interp(grid, spend, imps)
    pair = grid[:, None] + grid[None, :]
    rest = np.clip(np.floor((budget - pair) / step).astype(int), -1, len(grid) - 1)
    third = np.where(rest >= 0, f[np.maximum(rest, 0)], -np.inf)
    return float(np.max(f[:, None] + f[None, :] + third))


@pytest.mark.parametrize(
    "imps",
    [
        [0, 150_000, 260_000, 400_000, 520_000],  # concave: an LP
        [0, 20_000, 260_000, 300_000, 520_000],  # rises twice: binaries
    ],
)
def test_breakpoint_tables_match_a_brute_force_grid(imps: list[float]) -> None:
    spend = [0.0, 1000.0, 2000.0, 4000.0, 8000.0]
    curve = {"kind": "breakpoints", "spend": spend, "impressions": imps}
    for budget in (2500.0, 5000.0, 9000.0):
        s = with_curves(curve, periods=3, media=budget)
        plan = optimize(s, **FAST)
        best = VALUE * _table_best(spend, imps, budget)
        got = plan.outcome.totals["conversions"]
        # The table is its own model: exact up to solver round-off.
        assert got == pytest.approx(best, rel=1e-6), budget
        assert plan.certificate is not None and plan.certificate.bound >= best * (1 - 1e-6)


def test_the_table_spends_nothing_past_its_last_point() -> None:
    curve = {"kind": "breakpoints", "spend": [0, 1000], "impressions": [0, 100_000]}
    s = with_curves(curve, periods=2, media=10_000.0)
    plan = optimize(s, **FAST)
    assert plan.spend.max() <= 1000 * (1 + 1e-9)
    assert simulate(s, {"t0": [5000.0, 0.0]}).totals["impressions"] == 100_000


@pytest.mark.parametrize(
    "shape",
    [curves.Hill(0.5), curves.Hill(1.6), curves.Hill(4.0), curves.Table((0, 0.3, 1), (0, 0.1, 1))],
)
def test_inner_and_outer_functions_bound_the_curve_from_both_sides(shape: curves.Curve) -> None:
    for x_max in (0.4, 5.0, 300.0):
        widths, lower, upper = pwl.segments(shape, TOL, x_max, (0.2, 0.35))
        grid = np.r_[0.0, np.cumsum(widths)]
        xs = np.linspace(0, x_max, 20_001)
        f = shape.value(xs)
        assert np.all(np.interp(xs, grid, np.r_[0.0, np.cumsum(widths * lower)]) <= f + 1e-12)
        assert np.all(np.interp(xs, grid, np.r_[0.0, np.cumsum(widths * upper)]) >= f - 1e-12)


# -- the promise, on constructed scenarios ---------------------------------------------------


@st.composite
def curve_scenarios(draw: st.DrawFn) -> dict[str, Any]:
    """scenarios() with every tactic on a drawn curve of each kind, and in half of them a
    response tactic with adstock and carry-over."""
    data = copy.deepcopy(draw(scenarios()))
    for t in data["tactics"]:
        t.pop("cpm"), t.pop("frequency_cap")
        kind = draw(st.sampled_from(["hill", "logistic", "breakpoints"]))
        level = draw(_f(10_000, 200_000))
        if kind == "hill":
            t["curve"] = {
                "kind": kind,
                "max": level,
                "half": draw(_f(200, 3000)),
                "slope": draw(_f(0.5, 4)),
            }
        elif kind == "logistic":
            t["curve"] = {"kind": kind, "max": level, "lam": draw(_f(1e-4, 3e-3))}
        else:
            n = draw(st.integers(2, 6))
            steps = [draw(_f(100, 2000)) for _ in range(n - 1)]
            rises = [draw(_f(0, 1)) for _ in range(n - 1)]
            rises[-1] += 0.01
            spend = np.r_[0.0, np.cumsum(steps)]
            imps = np.r_[0.0, np.cumsum(rises)] / sum(rises) * level
            t["curve"] = {"kind": kind, "spend": spend.tolist(), "impressions": imps.tolist()}
    if draw(st.booleans()):  # a fitted model's channel beside them
        shape = draw(st.sampled_from(["hill", "logistic"]))
        curve: dict[str, Any] = {"kind": shape, "max": draw(_f(10, 500))}
        if shape == "hill":
            curve.update(half=draw(_f(200, 3000)), slope=draw(_f(0.5, 4)))
        else:
            curve.update(lam=draw(_f(1e-4, 3e-3)))
        l_max = draw(st.integers(1, 4))
        adstock = {
            "alpha": draw(_f(0, 0.9)),
            "l_max": l_max,
            "normalize": draw(st.booleans()),
            "before": [draw(_f(0, 2000)) for _ in range(draw(st.integers(0, l_max - 1)))],
        }
        data["tactics"].append(
            {"id": "mmm", "kind": "response", "curve": curve, "adstock": adstock}
        )
    return data


@settings(max_examples=25)
@given(data=curve_scenarios())
def test_plans_on_any_curve_keep_every_promise(data: dict[str, Any]) -> None:
    """The simulated plan delivers at least the goods promised and no more loads, the
    budget is never exceeded and hard goals are met, whatever the curves."""
    s = Scenario.from_dict(data)
    plan = optimize(s, **FAST)
    assert plan.status in ("optimal", "infeasible")
    if plan.status == "optimal":
        assert plan.verification.goods_ok and plan.verification.loads_ok
        assert not plan.outcome.violations
        assert plan.outcome.totals["cost_total"] <= s.budget.total * (1 + 1e-6)
        assert all(g.met for g in plan.outcome.goals if g.hard)


def test_curve_fields_take_what_if_edits_by_path() -> None:
    s = Scenario.from_file("examples/platform_curves.toml")
    flat = s.with_overrides({"tactics.video_story.curve.slope": 0.9})
    assert flat.tactics[1].shape == curves.Hill(0.9)
    assert flat.overridden == {"tactics.video_story.curve.slope": 2.2}
    with pytest.raises(ScenarioError, match=r"tactics\.video_story\.curve\.lam"):
        s.with_overrides({"tactics.video_story.curve.lam": 0.1})


# -- response tactics: a fitted model's channels ----------------------------------------------


def with_response(*tactics: dict[str, Any], periods: int, media: float) -> Scenario:
    """Only response tactics (ids r0, r1, ...)."""
    data = build(periods=periods, budget={"media": media})
    data["tactics"] = [dict(t, id=f"r{i}", kind="response") for i, t in enumerate(tactics)]
    return Scenario.from_dict(data)


def test_response_conversions_are_the_curve_of_adstocked_spend_with_carry_over() -> None:
    curve = {"kind": "logistic", "max": 0.5, "lam": 2.0, "spend_scale": 1000, "target_scale": 400}
    adstock = {"alpha": 0.5, "l_max": 3, "normalize": True, "before": [400.0, 800.0]}
    s = with_response({"curve": curve, "adstock": adstock}, periods=4, media=5000)
    out = simulate(s, {"r0": [1000.0, 0.0, 0.0, 600.0]})
    w = np.array([1, 0.5, 0.25]) / 1.75
    a = np.array(
        [
            w[0] * 1000 + w[1] * 800 + w[2] * 400,
            w[1] * 1000 + w[2] * 800,
            w[2] * 1000,
            w[0] * 600,
        ]
    )
    x = 2.0 * a / 1000
    expected = 0.5 * 400 * (1 - np.exp(-x)) / (1 + np.exp(-x))
    assert out.by_tactic["conversions"][:, 0] == pytest.approx(expected, rel=1e-12)
    assert out.totals["impressions"] == 0 and out.totals["reach"] == 0


def test_response_tactics_take_no_funnel_fields() -> None:
    data = build()
    data["tactics"].append(
        {
            "id": "tv",
            "kind": "response",
            "ctr": 0.01,
            "curve": {"kind": "breakpoints", "spend": [0, 1], "impressions": [0, 1]},
            "adstock": {"alpha": 0.5, "l_max": 2, "before": [1, 2]},
        }
    )
    with pytest.raises(ScenarioError) as err:
        Scenario.from_dict(data)
    assert [p.path for p in err.value.problems] == [
        "tactics.tv.curve",
        "tactics.tv.ctr",
        "tactics.tv.adstock.before",
    ]


def _grid_best(s: Scenario, step: float, budget: float) -> float:
    """The best plan of two periods on a spend grid, by simulation."""
    grid = np.arange(0, budget + step / 2, step)
    best = 0.0
    for a in grid:
        for b in grid[grid <= budget - a + 1e-9]:
            best = max(best, simulate(s, {"r0": [a, b]}, checks=False).totals["conversions"])
    return best


@pytest.mark.parametrize(
    "curve",
    [
        {"kind": "logistic", "max": 100.0, "lam": 1e-3},
        {"kind": "hill", "max": 100.0, "half": 1500.0, "slope": 3.0},
    ],
)
def test_response_plans_with_carry_over_beat_a_grid_of_plans(curve: dict[str, Any]) -> None:
    """Two weeks, adstock 0.7: the optimum (global for the S-curve too) is at least the
    best plan on a 50-unit grid, less the tolerance; the bound is above it."""
    s = with_response(
        {"curve": curve, "adstock": {"alpha": 0.7, "l_max": 2}}, periods=2, media=3000
    )
    plan = optimize(s, **FAST)
    best = _grid_best(s, 50.0, 3000.0)
    got = plan.outcome.totals["conversions"]
    assert got >= best * (1 - TOL)
    assert plan.certificate is not None and plan.certificate.bound >= best * (1 - 1e-9)
    assert plan.verification.goods_ok


@pytest.mark.parametrize("name", ["mmm_logistic.toml", "mmm_hill.toml"])
def test_the_fitted_model_examples_plan_and_verify(name: str) -> None:
    s = Scenario.from_file(f"examples/{name}")
    plan = optimize(s, **FAST)
    assert plan.status == "optimal" and plan.verification.passed
    assert plan.certificate is not None and plan.certificate.met


def test_a_response_tactic_keeps_its_floor_and_the_spend_already_made(tmp_path: Any) -> None:
    s = Scenario.from_file("examples/mmm_logistic.toml").with_overrides(
        {"tactics.display.min_spend": 700.0}
    )
    plan = optimize(s, **FAST)
    assert plan.spend[:, 2].min() >= 700 * (1 - 1e-9)
    actuals = tmp_path / "actuals.csv"
    actuals.write_text(
        "week,tactic,spend\n1,meta,5000\n2,meta,5000\n1,search,4000\n2,search,4000\n"
        "1,display,800\n2,display,800\n"
    )
    again = replan(s, read_actuals(actuals, s))
    assert again.plan.spend[:2].tolist() == [[5000, 4000, 800], [5000, 4000, 800]]
    assert again.plan.verification.passed


def test_too_many_s_curve_binaries_say_what_to_change() -> None:
    hill = {"kind": "hill", "max": 1e6, "half": 4000.0, "slope": 2.2}
    s = with_curves(*[hill] * 5, periods=52, media=130_000.0)
    with pytest.raises(SolverError, match="S-shaped curves need 2,340 binaries"):
        optimize(s, **FAST)


@settings(max_examples=15)
@given(
    half=_f(500, 3000),
    slope=_f(1.2, 4.0),
    budget=_f(500, 9000),
    cap=st.one_of(st.none(), _f(1000, 5000)),
)
def test_an_s_curve_certificate_brackets_a_brute_force_optimum(
    half: float, slope: float, budget: float, cap: float | None
) -> None:
    """Three periods on one S-curve: the bound is at least the best plan on a fine grid,
    and the plan is within the certified gap of the bound."""
    curve = {"kind": "hill", "max": 100_000.0, "half": half, "slope": slope}
    data = build(periods=3, budget={"media": budget, **({"period_max": cap} if cap else {})})
    base = {k: v for k, v in data["tactics"][0].items() if k not in ("cpm", "frequency_cap")}
    data["tactics"] = [dict(base, curve=curve)]
    s = Scenario.from_dict(data)
    top = min(budget, cap or budget)
    grid = np.linspace(0, top, 241)
    f = VALUE * 100_000.0 * (grid / half) ** slope / (1 + (grid / half) ** slope)
    pair = grid[:, None] + grid[None, :]
    rest = np.clip(budget - pair, 0, top)
    third = VALUE * 100_000.0 * (rest / half) ** slope / (1 + (rest / half) ** slope)
    best = float(np.max(np.where(pair <= budget, f[:, None] + f[None, :] + third, 0.0)))
    plan = optimize(s, **FAST)
    cert = plan.certificate
    assert plan.status == "optimal" and cert is not None and cert.gap is not None
    assert cert.bound >= best * (1 - 1e-9)
    assert plan.outcome.totals["conversions"] >= cert.bound * (1 - cert.gap) * (1 - 1e-9)
    assert plan.verification.goods_ok
