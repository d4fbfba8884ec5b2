"""Cases found by review and fuzzing; each once made optimize() fail or mislead."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from conftest import COMMUNITY, build

from funnelopt import Scenario, ScenarioError, optimize, simulate


def test_follower_floors_do_not_apply_when_the_community_is_off() -> None:
    data = build(COMMUNITY)
    data["communities"][0]["mode"] = "off"
    data["tactics"][1].update(min_spend=100, min_total=500)
    plan = optimize(Scenario.from_dict(data))
    assert plan.status == "optimal" and plan.spend[:, 1].sum() == 0
    assert not simulate(Scenario.from_dict(data), {}, community={"patients": False}).violations


def test_follower_max_total_holds_beside_its_min_total() -> None:
    data = build(COMMUNITY, objective={"maximize": "followers"})
    data["communities"][0]["mode"] = "on"
    data["tactics"][1].update(min_total=500, max_total=1000)
    plan = optimize(Scenario.from_dict(data))
    assert plan.status == "optimal"
    assert plan.spend[:, 1].sum() <= 1000 * (1 + 1e-9)


def test_semicontinuous_spend_survives_a_huge_budget() -> None:
    data = {
        "periods": 8,
        "population": 1e8,
        "reach_curve": "hyperbolic",
        "budget": {"total": 1e8},
        "site": {"conversion_rate": 0.05},
        "tactics": [
            {"id": "t0", "kind": "traffic", "cpm": 0.5, "pool": 1e8, "frequency_cap": 2, "ctr": 0.01, "landing_rate": 0.8},
            {"id": "t1", "kind": "traffic", "cpm": 30.0, "pool": 1000.0, "frequency_cap": 0.5, "comment_rate": 0.001,
             "ctr": 0.005, "landing_rate": 0.5, "audience": "B", "min_total": 100, "min_spend_if_active": 200},
            {"id": "t2", "kind": "traffic", "cpm": 1.0, "pool": 1e8, "frequency_cap": 1, "comment_rate": 0.01,
             "ctr": 0.005, "landing_rate": 0.8, "audience": "B", "max_spend": 400},
        ],
        "webcare": {"hourly_rate": 60, "minutes_per_comment": 3},
        "adverse_events": {"rate": 0.02, "minutes_per_case": 30, "cost_per_case": 100, "capacity": 1},
        "goals": [{"metric": "impressions", "target": 1e5, "by": 4}, {"metric": "visits", "target": 1000, "by": 2}],
        "objective": {"weights": {"conversions": 1.0, "reach": 0.1}},
    }  # fmt: skip
    plan = optimize(Scenario.from_dict(data))
    assert plan.status == "optimal" and plan.verification.passed
    col = plan.spend[:, 1]
    assert all(v == 0 or v >= 200 * (1 - 1e-9) for v in col)


def test_required_budget_ignores_soft_goal_weights() -> None:
    data = build(budget={"total": 2000})
    data["goals"] = [
        {"metric": "conversions", "target": 100},
        {"metric": "impressions", "target": 3_000_000, "hard": False, "weight": 1000},
    ]
    plan = optimize(Scenario.from_dict(data))
    need = plan.diagnosis.required_budget
    cheapest = optimize(
        Scenario.from_dict(
            build(budget={"total": 1e7}, goals=data["goals"][:1], objective={"minimize": "cost"})
        )
    )
    assert need == pytest.approx(cheapest.outcome.totals["cost_total"], rel=0.01)
    assert (
        optimize(Scenario.from_dict({**data, "budget": {"total": need * 1.0001}})).status
        == "optimal"
    )


def test_required_budget_when_floors_do_not_fit() -> None:
    data = build(budget={"total": 2000}, goals=[{"metric": "conversions", "target": 100}])
    data["tactics"][0]["min_total"] = 2500
    plan = optimize(Scenario.from_dict(data))
    d = plan.diagnosis
    assert "floors" in d.message
    assert (
        optimize(
            Scenario.from_dict({**data, "budget": {"total": d.required_budget * 1.0001}})
        ).status
        == "optimal"
    )


def test_diagnosis_names_the_media_cap() -> None:
    data = build(
        COMMUNITY,
        budget={"total": 1_000_000, "media": 1000},
        goals=[{"metric": "conversions", "target": 100}],
    )
    d = optimize(Scenario.from_dict(data)).diagnosis
    assert "budget.media" in d.message and "budget.total" not in d.message
    fixed = {**data, "budget": {"total": 1_000_000, "media": d.required_media * 1.0001}}
    assert optimize(Scenario.from_dict(fixed)).status == "optimal"


def test_period_floor_without_active_tactic_is_a_validation_error() -> None:
    data = build(budget={"total": 1000, "period_min": 100})
    data["tactics"][0]["end"] = 2
    with pytest.raises(ScenarioError, match="week 3 has no active tactic"):
        Scenario.from_dict(data)


def test_negative_weights_are_rejected() -> None:
    with pytest.raises(ScenarioError, match="weights must be >= 0"):
        Scenario.from_dict(build(objective={"weights": {"impressions": 1, "reach": -1}}))


@pytest.mark.parametrize("backend", ["highs", "pulp"])
def test_community_on_in_no_row_stays_on(backend: str) -> None:
    data = build()
    data["communities"] = [
        {
            "id": "quiet",
            "mode": "on",
            "initial_followers": 100,
            "posts_per_period": 0,
            "organic_reach_rate": 0.1,
        }
    ]
    plan = optimize(Scenario.from_dict(data), backend=backend)
    assert plan.status == "optimal" and plan.community == {"quiet": True}


def test_fill_order_binaries_only_where_needed() -> None:
    """Only the under-filled cells get fill-order binaries, not every period of the tactic."""
    data = build(periods=12, budget={"total": 100_000, "period_min": 3000})
    data["tactics"][0]["comment_rate"] = 0.002
    data["webcare"] = {"hourly_rate": 50, "minutes_per_comment": 10, "capacity_hours": 80}
    data["adverse_events"] = {"rate": 0.0}
    plan = optimize(Scenario.from_dict(data), time_limit=60)
    assert plan.status == "optimal" and plan.verification.passed


def test_saved_fuzz_cases_if_present() -> None:
    """Any scenario the fuzzer saved must now optimise (or be diagnosed) without error."""
    for path in sorted(Path(__file__).parent.glob("fuzz_cases/*.json")):
        case = json.loads(path.read_text())
        plan = optimize(
            Scenario.from_dict(case["d"]), backend=case.get("be", "highs"), time_limit=10
        )
        assert plan.status in ("optimal", "infeasible")
        if plan.status == "optimal":
            assert plan.verification.passed


def test_spend_a_hair_below_a_floor_is_lifted_onto_it() -> None:
    """A solver meets floors to its tolerance; the reported plan meets them exactly."""
    from funnelopt.formulation import build as formulate

    data = build(periods=3, budget={"total": 5000})
    data["tactics"][0].update(min_spend=100, min_spend_if_active=200)
    form = formulate(Scenario.from_dict(data))
    x = np.zeros(form.lp.n_cols)
    first = form.seg_col[[np.flatnonzero(form.seg_cell == c)[0] for c in range(3)]]
    x[first] = [200 * (1 - 2e-5), 300.0, 150.0]  # short by 2e-5, fine, and truly below 200
    spend = form.spend(x)[:, 0]
    assert spend[0] == 200.0 and spend[1] == 300.0 and spend[2] == 150.0


def test_cbc_false_infeasible_on_an_equilibrated_lp_is_solved_as_given() -> None:
    """CBC's presolve called an equilibrated LP infeasible (a rate of 3.5e-187 in it)
    that HiGHS and CBC on the LP as given solve; the PuLP backend re-solves it as given
    (found by the one-point-sweep property test)."""
    case = json.loads(
        (
            Path(__file__).parent / "fuzz_cases" / "pulp_equilibrated_false_infeasible.json"
        ).read_text()
    )
    s = Scenario.from_dict(case["d"])
    pulp_plan = optimize(s, backend="pulp", strategies=False, analysis=False)
    highs_plan = optimize(s, strategies=False, analysis=False)
    assert pulp_plan.status == highs_plan.status == "optimal"
    assert pulp_plan.objective == pytest.approx(highs_plan.objective, rel=1e-5)
