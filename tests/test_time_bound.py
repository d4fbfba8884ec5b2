"""Bounded time: past the time limit a plan still comes back - settled without fill-order
binaries (tangent loads) or with its semicontinuous cells decided by rounding - checked by
simulation and carrying its certificate, never an error."""

from __future__ import annotations

import math
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import COMMUNITY, build
from hypothesis import given
from hypothesis import strategies as st

import funnelopt.analysis.diagnosis as diagnosis_module
import funnelopt.solve as solve_module
from funnelopt import Scenario, optimize, simulate
from funnelopt.analysis.diagnosis import diagnose
from funnelopt.backends import get_backend
from funnelopt.formulation import Options
from funnelopt.formulation import build as formulate
from funnelopt.lp import Status
from funnelopt.plan import Certificate

CASES = Path(__file__).parent / "optimality_cases"


def _loaded() -> Scenario:
    """Forced spend (period floors) with comments that load a tight webcare desk."""
    data = build(periods=6, budget={"total": 100_000, "period_min": 3000})
    data["tactics"][0]["comment_rate"] = 0.002
    data["webcare"] = {"hourly_rate": 50, "minutes_per_comment": 10, "capacity_hours": 80}
    data["adverse_events"] = {"rate": 0.0}
    return Scenario.from_dict(data)


@given(
    at=st.floats(0.0, 20_000.0),
    spend=st.lists(st.floats(0.0, 1.0), min_size=1, max_size=60),
)
def test_tangent_loads_bound_the_comments_whatever_the_fill_order(
    at: float, spend: list[float]
) -> None:
    """Comments from a tangent never fall below what the spend really brings, in any
    fill order, and equal the chord curve's at the tangent point."""
    s = _loaded()
    form = formulate(s, 0.005, Options(load_tangents={(0, 0): at}))
    segs = np.flatnonzero(form.seg_cell == 0)  # period 1's cell
    x = np.zeros(form.lp.n_cols)
    x[form.lp.col_block("one").start] = 1.0
    # Any fill of the segments, in any order (widths scaled by the drawn shares).
    shares = np.resize(np.asarray(spend), len(segs))
    x[form.seg_col[segs]] = shares * form.seg_width[segs]
    total = float(x[form.seg_col[segs]].sum())
    claimed = float((form.metrics["comments"] @ x)[0])
    true = simulate(s, {"dark": [total] + [0.0] * 5}).per_period["comments"][0]
    assert claimed >= true * (1 - 1e-9) - 1e-9
    x[form.seg_col[segs]] = 0.0
    left = at
    for k in segs:  # the tangent point, filled in order: the chord curve's comments
        x[form.seg_col[k]] = min(left, form.seg_width[k])
        left -= x[form.seg_col[k]]
    chord = form.chord_impressions(form.spend(x))[0, 0] * s.tactics[0].comment_rate
    kappa = 1 / (1 - 0.005)
    assert float((form.metrics["comments"] @ x)[0]) == pytest.approx(
        kappa * chord, rel=1e-9, abs=1e-6
    )


def test_order_is_settled_by_tangent_loads_when_binaries_run_out_of_time(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With no time for fill-order binaries the plan still meets every limit in
    simulation, and comes within its certified gap of the plan the binaries give."""
    s = _loaded()
    exact = optimize(s, analysis=False, strategies=False)
    monkeypatch.setattr(solve_module, "MAX_ROUNDS", 1)  # no fill-order round at all
    fast = optimize(s, analysis=False, strategies=False)
    assert fast.status == exact.status == "optimal"
    assert fast.verification is not None and fast.verification.passed
    assert not fast.outcome.violations
    cert = fast.certificate
    assert cert is not None and cert.gap is not None and exact.objective is not None
    assert fast.objective is not None
    assert fast.objective >= exact.objective * (1 - cert.gap) - 1e-9


def test_a_two_community_case_that_took_minutes_answers_within_a_short_limit() -> None:
    """41 weeks x 29 tactics, two communities, floors and capacities (the fill-order loop
    passed 120 s): with a 5 s limit, a simulated, certified plan - not an error."""
    s = Scenario.from_file(CASES / "fill_order_timeout_seed1.json")
    plan = optimize(s, time_limit=5, analysis=False, strategies=False)
    assert plan.status == "optimal"
    assert plan.verification is not None and plan.verification.passed
    assert plan.certificate is not None and plan.certificate.gap is not None
    assert plan.certificate.gap < 0.02


def test_semicontinuous_cells_decided_by_rounding_when_the_milp_is_too_large(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A MILP too large to search is decided by rounding its relaxation: the plan keeps
    every floor (0 or at least min_spend_if_active), simulates clean, and its bound (from
    the relaxation with the integers relaxed) still bounds the MILP's own optimum."""
    data = build(periods=6, budget={"media": 5000})
    data["tactics"][0]["min_spend_if_active"] = 1500
    s = Scenario.from_dict(data)
    searched = optimize(s, analysis=False, strategies=False)
    monkeypatch.setattr(solve_module, "MAX_INTEGERS", 0)
    rounded = optimize(s, analysis=False, strategies=False)
    assert rounded.status == "optimal" and not rounded.outcome.violations
    col = rounded.spend[:, 0]
    assert np.all((col < 1e-6) | (col >= 1500 * (1 - 1e-9)))
    cert = rounded.certificate
    assert cert is not None and cert.bound is not None and searched.objective is not None
    assert cert.bound >= searched.objective * (1 - 1e-7)
    assert rounded.objective is not None and rounded.objective <= cert.bound * (1 + 1e-7)


def test_rounding_falls_back_to_no_activity_when_the_rounded_plan_is_infeasible(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """If activating the relaxation's cells breaks a limit, every cell off is tried."""
    data = build(COMMUNITY, budget={"media": 900})
    data["tactics"][0]["min_spend_if_active"] = 1000  # above the media budget: never on
    s = Scenario.from_dict(data)
    monkeypatch.setattr(solve_module, "MAX_INTEGERS", 0)
    plan = optimize(s, analysis=False, strategies=False)
    assert plan.status == "optimal"
    assert plan.spend[:, 0].sum() == 0.0 and not plan.outcome.violations


def test_deadline_leaves_each_run_at_least_min_run_seconds() -> None:
    limit = solve_module._Limit(30.0, deadline=0.0)  # long past
    assert limit() == solve_module.MIN_RUN and limit.passed()
    assert solve_module._Limit(None, None)() is None
    assert solve_module._Limit(5.0, None)() == 5.0


def test_a_plan_without_a_bound_says_so_in_plain_words() -> None:
    c = Certificate(None, None, 0.005, 0, proven=False, stopped="time")
    assert "not certified" in c.describe() and "time limit" in c.describe()
    assert c.to_dict()["stopped"] == "time" and not c.met
    short = Certificate(100.0, 0.01, 0.005, 3, stopped="time")
    assert "time limit" in short.describe() and "3 rounds" in short.describe()


def test_relaxed_milp_bound_is_used_when_the_relaxation_milp_times_out(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The outer model's MILP, out of time, is replaced by its LP relaxation: still a
    valid bound (at least the exact MILP bound)."""
    data = build(periods=4, budget={"media": 5000})
    data["tactics"][0]["min_spend_if_active"] = 1500
    s = Scenario.from_dict(data)
    be = get_backend("highs")
    full = solve_module.solve(s, be, 0.005, Options(bound="outer"), cheapest=False)
    monkeypatch.setattr(solve_module, "MAX_INTEGERS", 0)
    loose = solve_module.solve(s, be, 0.005, Options(bound="outer"), cheapest=False)
    assert loose.primary.objective >= full.primary.objective * (1 - 1e-9)


def _example(budget: float, cpm: float, dark_cpm: float, **more: float) -> Scenario:
    """The shipped example with a big budget and cheap impressions."""
    s = Scenario.from_file(Path(__file__).parents[1] / "examples" / "disease_awareness.toml")
    names = {"period_min": "budget.period_min", "webcare_hours": "webcare.capacity_hours"}
    return s.with_overrides(
        {
            "budget.total": budget,
            "budget.media": budget,
            "tactics.meta_follow.cpm": cpm,
            "tactics.meta_dark.cpm": dark_cpm,
            **{names[k]: v for k, v in more.items()},
        }
    )


def test_an_unsettled_plan_the_simulation_refuses_is_no_plan_and_no_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Floors on very cheap impressions (CPM 0.05) force more comments than webcare can
    take. With no fill-order round, the LP fills the floor's segments out of order and
    claims a quarter of the comments; the tangent loads then find no plan. The answer is
    an unproven "infeasible" that says to allow more time - not a solver failure (it was
    exit 3 before)."""
    s = _example(budget=1e8, cpm=0.05, dark_cpm=0.05)
    monkeypatch.setattr(solve_module, "MAX_ROUNDS", 1)
    be = get_backend("highs")
    run = solve_module.solve(s, be, 0.005)
    assert run.status.name == "OPTIMAL" and not run.settled  # the plan the check refuses
    plan = optimize(s, be, strategies=False)
    assert plan.status == "infeasible"
    cert = plan.certificate
    assert cert is not None and not cert.proven and cert.stopped == "unsettled"
    assert "allow more time" in cert.describe()
    assert plan.diagnosis is not None


def test_tangent_loads_bound_the_organic_comments_of_follower_ads_filled_out_of_order(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Period floors force follower-ad spend; with no fill-order round the LP may fill its
    segments out of order and claim fewer followers (so fewer organic comments) than
    the spend grows. Loads now read an upper follower trajectory from the tangents'
    impressions, so the plan passes the simulation (it failed it before: weeks 19-26
    needed 20.07 h of a 20 h webcare desk)."""
    s = _example(budget=1e6, cpm=8.0, dark_cpm=1.0, period_min=1000, webcare_hours=20)
    monkeypatch.setattr(solve_module, "MAX_ROUNDS", 1)
    plan = optimize(s, strategies=False, analysis=False)
    assert plan.status == "optimal"
    assert plan.verification is not None and plan.verification.passed
    assert not plan.outcome.violations
    hours = plan.outcome.per_period["webcare_hours"]
    assert hours.max() <= 20 * (1 + 1e-9)
    assert plan.community == {"patients_de": True}


def test_an_unsettled_refinement_never_replaces_a_settled_plan() -> None:
    """A finer round whose plan the fill-order safeguard left unsettled does not displace
    the settled plan of an earlier round (which the simulator accepts); an optimal settled
    run displaces anything, and any run displaces none."""
    s = Scenario.from_file(Path(__file__).parents[1] / "examples" / "traffic_only.toml")
    run = solve_module.solve(s, get_backend("highs"), 0.005)
    unsettled = replace(run, settled=False)
    assert not solve_module._replaces(unsettled, run)
    assert solve_module._replaces(run, unsettled)
    assert solve_module._replaces(unsettled, None)
    assert solve_module._replaces(run, run)


# -- the diagnosis within the time limit ---------------------------------------------------


def _short_of_budget() -> Scenario:
    """200 conversions on a budget of 5,000: infeasible, with a budget that meets it."""
    return Scenario.from_dict(
        build(goals=[{"metric": "conversions", "target": 200}], budget={"total": 5000})
    )


def test_a_run_cut_by_the_deadline_says_so() -> None:
    """Fill-order rounds the deadline stops leave a plan settled by tangent loads: usable,
    but flagged as cut by time; the same solve without a deadline is not."""
    be = get_backend("highs")
    assert not solve_module.solve(_loaded(), be, 0.005).timed_out
    s = _example(budget=1e6, cpm=8.0, dark_cpm=1.0, period_min=1000, webcare_hours=20)
    late = solve_module.solve(s, be, 0.005, deadline=time.monotonic() - 1)
    assert late.status.name == "OPTIMAL" and late.settled and late.timed_out


def test_a_milp_stopped_with_its_incumbent_is_flagged(monkeypatch: pytest.MonkeyPatch) -> None:
    """A MILP whose search the time limit stops (status FEASIBLE: an incumbent) gives a
    plan, not a proven optimum; the community comparison inherits the flag."""
    data = build(COMMUNITY, periods=4, budget={"media": 5000})
    data["tactics"][0]["min_spend_if_active"] = 1500
    s = Scenario.from_dict(data)
    be = get_backend("highs")
    assert not solve_module.solve(s, be, 0.005).timed_out
    real = be.solve

    def out_of_time(lp: Any, time_limit: float | None = None, start: Any = None) -> Any:
        sol = real(lp, time_limit, start)
        return replace(sol, status=Status.FEASIBLE) if lp.is_mip else sol

    monkeypatch.setattr(be, "solve", out_of_time)
    run = solve_module.solve(s, be, 0.005, time_limit=30)
    assert run.status.name == "OPTIMAL" and run.timed_out


def test_a_diagnosis_past_its_deadline_solves_nothing_and_says_what_it_left_out(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """No solve starts after the deadline; every part is named as not computed, and no
    figure, conflict or budget claim is made."""

    def no_solve(*_a: Any, **_k: Any) -> Any:
        raise AssertionError("a solve started after the deadline")

    monkeypatch.setattr(diagnosis_module, "solve", no_solve)
    monkeypatch.setattr(diagnosis_module, "certified", no_solve)
    d = diagnose(_short_of_budget(), get_backend("highs"), 0.005, deadline=time.monotonic() - 1)
    assert d.required_budget is d.required_budget_bound is d.best_effort is None
    assert d.conflicts == () and d.limits == ()
    (g,) = d.goals
    assert g.best_alone is g.best_together is g.shortfall is None
    assert "no budget" not in d.message and "not computed" in d.message
    assert d.not_computed == (
        "whether the spend floors and fixed costs fit the budget was not computed: the time "
        "limit ran out",
        "the best the hard goals reach together (and the plan that comes closest) was not "
        "computed: the time limit ran out",
        "the best conversions by week 4 reaches alone was not computed: the time limit ran out",
        "the budget needed was not computed: the time limit ran out",
    )


def test_a_diagnosis_the_deadline_cuts_keeps_what_it_finished(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The deadline passes after the elastic solve (a clock that jumps): the figures
    computed before it are those of the full diagnosis, the rest are left out and named."""
    s, be = _short_of_budget(), get_backend("highs")
    full = diagnose(s, be, 0.005)
    real_solve, calls, jumped = diagnosis_module.solve, [], [False]

    def counted(*a: Any, **k: Any) -> Any:
        calls.append(a[3])
        if len(calls) == 2:  # the floors check, then the elastic solve
            jumped[0] = True
        return real_solve(*a, **k)

    class Clock:
        @staticmethod
        def monotonic() -> float:
            return math.inf if jumped[0] else time.monotonic()

    monkeypatch.setattr(diagnosis_module, "solve", counted)
    monkeypatch.setattr(diagnosis_module, "time", Clock)
    cut = diagnose(s, be, 0.005, deadline=time.monotonic() + 3600)
    assert calls[1].objective == "elastic" and len(calls) == 2
    assert cut.goals[0].best_together == full.goals[0].best_together
    assert cut.limits == full.limits and cut.best_effort is not None
    assert cut.goals[0].best_alone is None and cut.required_budget is None
    assert [n.split(" was ")[0] for n in cut.not_computed] == [
        "the best conversions by week 4 reaches alone",
        "the budget needed",
    ]


def test_a_run_the_time_limit_cut_is_never_reported_as_the_best(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A goal-alone run that time cut short would understate what the goal can reach:
    the diagnosis leaves the figure (and the conflict built on it) out."""
    s, be = _short_of_budget(), get_backend("highs")
    assert diagnose(s, be, 0.005).conflicts  # "cannot be met even alone", when finished
    real_solve = diagnosis_module.solve

    def cut_alone(*a: Any, **k: Any) -> Any:
        run = real_solve(*a, **k)
        return replace(run, timed_out=True) if isinstance(a[3].objective, tuple) else run

    monkeypatch.setattr(diagnosis_module, "solve", cut_alone)
    d = diagnose(s, be, 0.005)
    assert d.goals[0].best_alone is None and not d.conflicts
    assert d.goals[0].best_together is not None and d.required_budget is not None
    assert d.not_computed == (
        "the best conversions by week 4 reaches alone was not computed: the time limit ran out",
    )


def test_a_diagnosis_with_time_to_spare_is_the_full_one() -> None:
    """A deadline far off changes nothing: the same figures and plans as without one,
    nothing left out, and the JSON as before (no not_computed key)."""
    s, be = _short_of_budget(), get_backend("highs")
    free = diagnose(s, be, 0.005)
    timed = diagnose(s, be, 0.005, time_limit=600, deadline=time.monotonic() + 600)
    assert timed.to_dict() == free.to_dict() and timed.not_computed == ()
    assert "not_computed" not in free.to_dict()
    assert free.required_budget is not None and free.required_budget > 5000


def test_optimize_gives_the_diagnosis_a_deadline_within_its_time_limit(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The diagnosis ends by the solve's deadline or, if the solve used that up, a tenth
    of the limit later; without a limit, within REFINE_SECONDS."""
    import funnelopt.optimizer as optimizer_module

    seen: list[dict[str, Any]] = []
    real = optimizer_module.diagnose

    def spy(*a: Any, **k: Any) -> Any:
        seen.append({**k, "now": time.monotonic()})
        return real(*a, **k)

    monkeypatch.setattr(optimizer_module, "diagnose", spy)
    for limit in (8.0, None):
        began = time.monotonic()
        plan = optimize(_short_of_budget(), time_limit=limit)
        assert plan.status == "infeasible" and plan.diagnosis is not None
        k = seen[-1]
        total = limit or optimizer_module.REFINE_SECONDS
        assert k["time_limit"] == limit
        assert k["now"] + 0.1 * total - 1e-6 <= k["deadline"] <= began + 0.9 * total + 1.0


def test_a_diagnosis_that_left_parts_out_says_so_in_json_and_text() -> None:
    """The note is in the JSON (an optional key the schema knows) and in the report."""
    import json

    import jsonschema

    from funnelopt.report.text import diagnosis_lines
    from funnelopt.schemas import schema

    plan = optimize(_short_of_budget(), time_limit=30)
    cut = diagnose(_short_of_budget(), get_backend("highs"), 0.005, deadline=0.0)
    late = replace(plan, diagnosis=cut)
    data = json.loads(late.to_json())
    jsonschema.validate(data, schema("plan"))
    assert data["diagnosis"]["not_computed"] == list(cut.not_computed)
    assert "not_computed" not in json.loads(plan.to_json())["diagnosis"]
    lines = diagnosis_lines(late)
    assert "  note: the budget needed was not computed: the time limit ran out" in lines


def test_a_client_summary_says_the_diagnosis_was_cut_short_and_promises_no_way_forward() -> None:
    """The proposal's summary of an incomplete diagnosis says it stopped at the time limit
    and how to complete it, and does not announce 'both ways forward' it cannot show."""
    from funnelopt.report import document

    plan = optimize(_short_of_budget(), time_limit=30)
    full = document.to_markdown(document.blocks(plan, plan.scenario, figures=False))
    assert "both ways forward" in full and "time limit" not in full
    cut = diagnose(_short_of_budget(), get_backend("highs"), 0.005, deadline=0.0)
    late = replace(plan, diagnosis=cut)
    text = document.to_markdown(document.blocks(late, late.scenario, figures=False))
    assert "stopped at its time limit" in text and "longer time limit completes it" in text
    assert "both ways forward" not in text and "the way forward" not in text


def test_a_goal_alone_never_reads_below_what_the_goals_reach_together(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A goal-alone run settled conservatively (a model too large to search in full) can
    come out below the together figure; the closest plan together is a witness that the
    goal alone reaches at least that, so the diagnosis never contradicts itself."""
    real = diagnosis_module._Runs.solve

    def conservative(self: Any, part: str, options: Options, s: Any = None) -> Any:
        run = real(self, part, options, s)
        if run is not None and part.startswith("the best ") and run.status is Status.OPTIMAL:
            run = replace(run, final=replace(run.final, objective=0.5 * run.final.objective))
        return run

    monkeypatch.setattr(diagnosis_module._Runs, "solve", conservative)
    d = diagnose(_short_of_budget(), get_backend("highs"), 0.005)
    assert d.goals and all(g.best_together is not None for g in d.goals)
    for g in d.goals:
        assert g.best_alone is not None and g.best_alone >= g.best_together


def test_no_plan_found_before_the_time_limit_is_an_unproven_verdict_not_an_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A short limit on a large scenario can pass inside the first LP (52 x 200 with
    --time-limit 1 ended in 'solver failure' before): that is an unproven 'infeasible'
    that says to allow more time, never an error. An error with time to spare stays one."""
    import funnelopt.optimizer as optimizer_module
    from funnelopt.errors import SolverError

    clock = [1000.0]
    monkeypatch.setattr(time, "monotonic", lambda: clock[0])

    def out_of_time(*_a: Any, **_k: Any) -> Any:
        clock[0] += 1e6  # the limit passes inside the solve
        raise SolverError("highs ran out of time on an LP; try a longer time limit")

    monkeypatch.setattr(optimizer_module, "certified", out_of_time)
    plan = optimize(_short_of_budget(), time_limit=5)
    c = plan.certificate
    assert plan.status == "infeasible" and c is not None
    assert not c.proven and c.stopped == "time" and "before any plan was found" in c.describe()
    assert "--time-limit" in c.describe()
    # The diagnosis keeps its own share of the limit (the clock stands still after this),
    # and does not call an unproven verdict a fact.
    d = plan.diagnosis
    assert d is not None and d.required_budget is not None
    assert d.message.startswith("No plan that meets the hard goals within the budget was found")
    assert "cannot all be met" not in d.message

    def broken(*_a: Any, **_k: Any) -> Any:
        raise SolverError("highs failed: no status")

    monkeypatch.setattr(optimizer_module, "certified", broken)
    with pytest.raises(SolverError):
        optimize(_short_of_budget(), time_limit=5)


def test_a_proven_verdict_did_not_stop_anywhere() -> None:
    """An infeasible verdict the relaxation proves has no refinement story: stopped is
    None (null in JSON), not 'met'."""
    import json

    plan = optimize(_short_of_budget())
    c = plan.certificate
    assert plan.status == "infeasible" and c is not None and c.proven
    assert c.stopped is None and json.loads(plan.to_json())["certificate"]["stopped"] is None
