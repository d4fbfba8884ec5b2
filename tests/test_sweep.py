"""Sweeps: a point is the plan optimize() gives, parallel equals serial, the frontier and its knee."""

from __future__ import annotations

import itertools
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

import pytest
from conftest import EXAMPLES

from funnelopt import Scenario, ScenarioError, optimize
from funnelopt.studies.sweep import parse_values, sweep

FULL = Scenario.from_file(EXAMPLES / "disease_awareness.toml")
BUDGETS = [float(b) for b in range(60_000, 260_001, 20_000)]


def test_a_sweep_point_is_the_plan_optimize_gives() -> None:
    """One rule for choosing plans: every sweep point equals optimize() on that scenario
    (regression: a warm budget sweep once picked another community than optimize)."""
    grid = {"budget.total": BUDGETS[::3]}
    sw = sweep(FULL, grid)
    for point, budget in zip(sw.points, grid["budget.total"], strict=True):
        plan = optimize(FULL.with_overrides({"budget.total": budget}), strategies=False)
        assert point.status == plan.status
        assert point.community == plan.community
        if plan.objective is not None:
            assert point.objective == pytest.approx(plan.objective, rel=1e-9)


def test_parallel_sweep_is_identical_to_serial() -> None:
    serial = sweep(FULL, {"budget.total": BUDGETS[:6]})
    with ProcessPoolExecutor(2) as pool:
        parallel = sweep(FULL, {"budget.total": BUDGETS[:6]}, executor=pool)
    assert parallel.to_json() == serial.to_json()
    other = {"tactics.meta_dark.cpm": [9.0, 12.0, 15.0]}
    with ThreadPoolExecutor(2) as pool:
        assert sweep(FULL, other, executor=pool).to_json() == sweep(FULL, other).to_json()


def test_budget_frontier_is_monotone_with_a_knee() -> None:
    sw = sweep(
        Scenario.from_file(EXAMPLES / "traffic_only.toml"),
        {"budget.total": parse_values("20000:80000:13")},
    )
    objs = [p.objective for p in sw.points if p.status == "optimal"]
    assert all(b >= a - 1e-9 for a, b in itertools.pairwise(objs))
    assert sw.knee is not None
    assert sw.points[0].status == "infeasible"  # 20,000 cannot buy the 750 conversions


def test_two_parameter_grid_and_progress() -> None:
    seen: list[tuple[int, int]] = []
    sw = sweep(
        FULL,
        {"budget.total": [120_000, 150_000], "tactics.meta_dark.cpm": [9.0, 12.0]},
        progress=lambda d, n: seen.append((d, n)),
    )
    assert [tuple(p.values.values()) for p in sw.points] == [
        (120_000, 9.0),
        (120_000, 12.0),
        (150_000, 9.0),
        (150_000, 12.0),
    ]
    assert seen[-1] == (4, 4)
    cheap = {tuple(p.values.values()): p.objective for p in sw.points}
    assert cheap[(150_000, 9.0)] >= cheap[(150_000, 12.0)]  # cheaper media never hurts


def test_bad_grid_fails_before_solving() -> None:
    with pytest.raises(ScenarioError, match=r"did you mean 'budget\.total'"):
        sweep(FULL, {"budget.totl": [1.0]})
    with pytest.raises(ScenarioError, match="one or two parameters"):
        sweep(FULL, {"budget.total": [1.0], "budget.media": [1.0], "periods": [3]})
    with pytest.raises(ValueError, match="start:stop:count"):
        parse_values("1:2")


def test_parse_values() -> None:
    assert parse_values("1:3:3") == [1.0, 2.0, 3.0]
    assert parse_values("8,9.5,x") == [8, 9.5, "x"]


def test_dask_executor_matches_serial() -> None:
    """A local Dask cluster's executor runs the sweep; results identical to the serial run."""
    from dask.distributed import Client, LocalCluster

    grid = {"budget.total": BUDGETS[:4]}
    serial = sweep(FULL, grid)
    with (
        LocalCluster(
            n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None
        ) as cluster,
        Client(cluster) as client,
    ):
        distributed = sweep(FULL, grid, executor=client.get_executor())
    assert distributed.to_json() == serial.to_json()


@pytest.mark.parametrize("backend", ["highs", "pulp"])
def test_appendix_a_a_useless_community_stays_off_in_a_sweep_as_in_optimize(
    backend: str,
) -> None:
    """The architecture review's Appendix A: a community that adds nothing but a set-up
    cost is kept off by optimize(); a one-point sweep once turned it on (HiGHS) at a higher
    cost with the same objective. One rule now: both keep it off, on every backend."""
    from conftest import COMMUNITY, build

    data = build(COMMUNITY, budget={"total": 50_000})
    data["communities"][0].update(
        setup_cost=1000, content_cost_per_post=0, base_hours=0, organic_reach_rate=0.0,
        viral_follow_rate=0.0, comment_rate=0.0, initial_followers=0,
    )  # fmt: skip
    # Followers bring no organic reach, so follower ads buy nothing either.
    s = Scenario.from_dict(data)
    plan = optimize(s, backend=backend, strategies=False)
    point = sweep(s, {"budget.total": [50_000]}, backend=backend).points[0]
    assert plan.community == {"patients": False}
    assert point.community == plan.community
    assert point.objective == pytest.approx(plan.objective, rel=1e-9)
