"""A conformance suite every backend runs, and a cross-check of the backends.

Canonical scenarios with answers known by hand or by the exact model; each backend must
return verified plans, and both must agree on the optimum to 1e-6 relative.
"""

from __future__ import annotations

import math
from typing import ClassVar

import pytest
from conftest import COMMUNITY, EXAMPLES, build

from funnelopt import Plan, Scenario, optimize

AGREE = 1e-6


def _scenarios() -> dict[str, Scenario]:
    semi = build(periods=6, budget={"media": 5000})
    semi["tactics"][0]["min_spend_if_active"] = 1500
    two = build(periods=3, budget={"media": 6000, "period_max": 2500})
    two["tactics"].append(
        dict(two["tactics"][0], id="cheap", cpm=6.0, ctr=0.006, pool=50_000, start=2)
    )
    capacity = build(COMMUNITY, budget={"total": 30_000})
    capacity["webcare"] = {"hourly_rate": 60, "minutes_per_comment": 3, "capacity_hours": 4}
    capacity["communities"][0]["mode"] = "on"
    capacity["tactics"][0]["comment_rate"] = 0.001
    return {
        "one tactic": Scenario.from_dict(build(budget={"media": 4000})),
        # Deep into the curve: column generation must release later segments.
        "deep segments": Scenario.from_dict(build(budget={"media": 40_000})),
        "two tactics, window and period cap": Scenario.from_dict(two),
        "community auto": Scenario.from_dict(COMMUNITY),
        "community with goals": Scenario.from_dict(
            build(
                COMMUNITY,
                goals=[
                    {"metric": "followers", "target": 800, "by": 3},
                    {"metric": "reach_share", "target": 0.3, "by": 2},
                ],
            )
        ),
        "webcare capacity binds": Scenario.from_dict(capacity),
        "semicontinuous": Scenario.from_dict(semi),
        "minimise cost": Scenario.from_dict(
            build(objective={"minimize": "cost"}, goals=[{"metric": "visits", "target": 2000}])
        ),
        "hyperbolic reach": Scenario.from_dict(
            build(reach_curve="hyperbolic", objective={"maximize": "reach"})
        ),
        "example": Scenario.from_file(EXAMPLES / "disease_awareness.toml"),
        "traffic only example": Scenario.from_file(EXAMPLES / "traffic_only.toml"),
    }


SCENARIOS = _scenarios()
INFEASIBLE = Scenario.from_dict(
    build(goals=[{"metric": "conversions", "target": 200}], budget={"total": 5000})
)


class Conformance:
    """Every backend: verified optimal plans, hand-checked answers, infeasibility."""

    backend: ClassVar[str]
    _cache: ClassVar[dict[tuple[str, str], Plan]] = {}

    def plan(self, name: str) -> Plan:
        key = (self.backend, name)
        if key not in self._cache:
            self._cache[key] = optimize(SCENARIOS[name], backend=self.backend)
        return self._cache[key]

    @pytest.mark.parametrize("name", sorted(SCENARIOS))
    def test_verified_optimal(self, name: str) -> None:
        plan = self.plan(name)
        assert plan.status == "optimal"
        assert plan.backend == self.backend
        assert plan.verification is not None and plan.verification.passed
        assert not plan.outcome.violations
        assert all(g.met for g in plan.outcome.goals if g.hard)

    def test_one_tactic_answer(self) -> None:
        plan = self.plan("one tactic")
        exact = 4 * 160_000 * -math.expm1(-1000 / 1600) * 0.01 * 0.8 * 0.05
        assert exact * (1 - 0.005) <= plan.outcome.totals["conversions"] <= exact * (1 + 1e-9)

    def test_window_and_caps(self) -> None:
        plan = self.plan("two tactics, window and period cap")
        assert plan.spend[0, 1] == 0  # "cheap" starts in period 2
        assert plan.spend.sum(axis=1).max() <= 2500 * (1 + 1e-9)

    def test_capacity(self) -> None:
        plan = self.plan("webcare capacity binds")
        assert plan.outcome.per_period["webcare_hours"].max() <= 4 * (1 + 1e-9)
        assert any(b.kind == "capacity" for b in plan.sensitivity.binding)

    def test_infeasible(self) -> None:
        plan = optimize(INFEASIBLE, backend=self.backend)
        assert plan.status == "infeasible"
        assert plan.diagnosis.required_budget is not None


class TestHighs(Conformance):
    backend = "highs"


class TestPulp(Conformance):
    backend = "pulp"


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_backends_agree(name: str) -> None:
    """HiGHS and PuLP/CBC reach the same optimum of one model (1e-6 relative); refined and
    certified, each plan is within its proven gap of the other's bound."""
    from funnelopt.backends import get_backend
    from funnelopt.solve import solve

    s = SCENARIOS[name]
    one = [solve(s, get_backend(be), 0.005) for be in ("highs", "pulp")]
    assert one[0].status == one[1].status
    if one[0].status.value == "optimal":
        assert one[0].primary.objective == pytest.approx(
            one[1].primary.objective, rel=AGREE, abs=1e-9
        )
    a = optimize(s, backend="highs", strategies=False, analysis=False)
    b = optimize(s, backend="pulp", strategies=False, analysis=False)
    assert a.status == b.status
    if a.objective is not None and b.objective is not None:
        ca, cb = a.certificate, b.certificate
        assert ca is not None and cb is not None and ca.gap is not None and cb.gap is not None
        sign = -1.0 if s.objective.kind == "minimize" else 1.0
        # Neither plan beats the other backend's proven bound.
        assert sign * a.objective <= sign * cb.bound + 1e-6 * abs(cb.bound)
        assert sign * b.objective <= sign * ca.bound + 1e-6 * abs(ca.bound)


def test_backends_agree_on_required_budget() -> None:
    a = optimize(INFEASIBLE, backend="highs").diagnosis
    b = optimize(INFEASIBLE, backend="pulp").diagnosis
    assert a.required_budget == pytest.approx(b.required_budget, rel=AGREE)


def test_duals_agree_on_lps() -> None:
    a = optimize(SCENARIOS["one tactic"], backend="highs").sensitivity
    b = optimize(SCENARIOS["one tactic"], backend="pulp").sensitivity
    assert a.budget_value["media"] == pytest.approx(b.budget_value["media"], rel=1e-6)
