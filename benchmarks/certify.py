"""Certified gaps against the exact optimum on random scenarios (needs the test extra).

    python benchmarks/certify.py [N] [SEED]

For N random scenarios (traffic and community tactics, capacities, reach and volume goals,
both reach curves, every objective kind) it plans with ``optimize`` and solves the exact
model independently (tests/reference.py: cvxpy, exponential cone), then prints the
distribution of the certified gap, the true gap to the exact optimum, how often the bound
holds and the verdicts agree, and what certification costs in time against a plain solve
in the same process (``certified()``, and ``optimize()`` with its simulation and polish).
"""

from __future__ import annotations

import statistics
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from reference import exact_optimum

from funnelopt import FunnelOptError, Scenario, optimize
from funnelopt.backends import get_backend
from funnelopt.solve import certified, solve


def random_scenario(rng: np.random.Generator, i: int) -> dict[str, Any]:
    """A random valid scenario (wide ranges, including near-saturated reach goals)."""
    periods = int(rng.integers(3, 16))
    population = float(rng.uniform(1e5, 5e6))
    tactics: list[dict[str, Any]] = []
    for j in range(int(rng.integers(1, 6))):
        tactics.append(
            {
                "id": f"dark{j}",
                "kind": "traffic",
                "cpm": float(rng.uniform(3, 30)),
                "pool": float(population * rng.uniform(0.05, 1.0)),
                "frequency_cap": float(rng.uniform(0.5, 4)),
                "ctr": float(rng.uniform(0.002, 0.03)),
                "landing_rate": float(rng.uniform(0.3, 1)),
                "comment_rate": float(rng.choice([0.0, 0.0002, 0.002])),
                **({"max_spend": float(rng.uniform(500, 20_000))} if rng.random() < 0.3 else {}),
            }
        )
    budget = float(rng.uniform(5_000, 500_000))
    data: dict[str, Any] = {
        "name": f"random {i}",
        "periods": periods,
        "population": population,
        "reach_curve": str(rng.choice(["exponential", "hyperbolic"])),
        "budget": {"total": budget},
        "site": {"conversion_rate": float(rng.uniform(0.01, 0.15))},
        "tactics": tactics,
        "webcare": {
            "hourly_rate": float(rng.uniform(20, 100)),
            "minutes_per_comment": float(rng.uniform(1, 10)),
            **({"capacity_hours": float(rng.uniform(5, 200))} if rng.random() < 0.5 else {}),
        },
        "adverse_events": {"rate": 0.015, "minutes_per_case": 30, "cost_per_case": 150},
    }
    if rng.random() < 0.5:
        data["communities"] = [
            {
                "id": "c",
                "mode": str(rng.choice(["auto", "on"])),
                "initial_followers": float(rng.uniform(0, 5000)),
                "churn": float(rng.uniform(0, 0.05)),
                "posts_per_period": float(rng.uniform(1, 5)),
                "organic_reach_rate": float(rng.uniform(0.02, 0.2)),
                "engagement_rate": 0.05,
                "comment_rate": float(rng.uniform(0, 0.01)),
                "organic_ctr": float(rng.uniform(0.005, 0.03)),
                "landing_rate": 0.8,
                "conversion_rate": float(rng.uniform(0.02, 0.2)),
                "viral_follow_rate": float(rng.uniform(0, 0.01)),
                "setup_cost": float(rng.uniform(0, 5000)),
                "content_cost_per_post": float(rng.uniform(0, 200)),
                "base_hours": float(rng.uniform(0, 3)),
            }
        ]
        tactics.append(
            {
                "id": "follow",
                "kind": "community",
                "account": "c",
                "cpm": float(rng.uniform(4, 20)),
                "pool": float(population * rng.uniform(0.05, 0.5)),
                "frequency_cap": 2.0,
                "follow_rate": float(rng.uniform(0.001, 0.02)),
            }
        )
    goals = []
    for _ in range(int(rng.integers(0, 3))):
        metric = str(rng.choice(["reach_share", "visits", "conversions", "impressions"]))
        scale = {"reach_share": 1.0, "visits": budget / 20, "conversions": budget / 400}.get(
            metric, budget * 50
        )
        target = float(rng.choice([0.5, 0.9, 0.99, 0.999])) if metric == "reach_share" else 0.0
        hard = bool(rng.random() < 0.7)
        goals.append(
            {
                "metric": metric,
                "target": target or float(scale * rng.uniform(0.05, 1.0)),
                "by": int(rng.integers(1, periods + 1)),
                "hard": hard,
                **({} if hard else {"weight": float(rng.uniform(0.1, 1000))}),
            }
        )
    data["goals"] = goals
    kind = rng.integers(0, 4)
    if kind == 1:
        data["objective"] = {"maximize": str(rng.choice(["visits", "reach", "impressions"]))}
    elif kind == 2 and goals and any(g["hard"] for g in goals):
        data["objective"] = {"minimize": "cost"}
        data["budget"]["total"] = budget * 10
    return data


def main(n: int = 100, seed: int = 0) -> None:
    warnings.filterwarnings("ignore")
    rng = np.random.default_rng(seed)
    be = get_backend("highs")
    cert_gaps: list[float] = []
    true_gaps: list[float] = []
    ratios: list[float] = []
    cert_ratios: list[float] = []
    bound_ok = verdict_ok = checked = skipped = 0
    infeasible = 0
    worst: list[tuple[float, str]] = []
    errors: list[str] = []
    broken: list[str] = []
    for i in range(n):
        s = Scenario.from_dict(random_scenario(rng, i))
        t = time.perf_counter()
        solve(s, be, 0.005)
        plain = time.perf_counter() - t
        t = time.perf_counter()
        try:
            certified(s, be, 0.005)
            cert_ratios.append((time.perf_counter() - t) / max(plain, 1e-6))
            t = time.perf_counter()
            plan = optimize(s, strategies=False, analysis=False)
        except FunnelOptError as e:
            errors.append(f"{s.name}: {e}")
            continue
        ratios.append((time.perf_counter() - t) / max(plain, 1e-6))
        exact = exact_optimum(s)
        if exact is None:
            skipped += 1
            continue
        checked += 1
        verdict_ok += (plan.status == "optimal") == (exact.status == "optimal")
        if plan.status != "optimal" or exact.objective is None or plan.objective is None:
            infeasible += plan.status != "optimal"
            continue
        cert = plan.certificate
        assert cert is not None and cert.gap is not None and cert.bound is not None
        minimize = s.objective.kind == "minimize"
        sign = -1.0 if minimize else 1.0
        slack = 1e-5 * max(1.0, abs(exact.objective))
        holds = sign * cert.bound >= sign * exact.objective - slack
        bound_ok += holds
        if not holds:
            broken.append(f"{s.name}: bound {cert.bound:.6g}, exact {exact.objective:.6g}")
        gap = max(0.0, sign * (exact.objective - plan.objective)) / max(abs(exact.objective), 1e-9)
        cert_gaps.append(cert.gap)
        true_gaps.append(gap)
        worst.append((cert.gap, s.name))

    def q(v: list[float], p: float) -> str:
        return f"{np.quantile(v, p):.3%}" if v else "-"

    print(f"{n} random scenarios (seed {seed}); {checked} checked against the exact optimum")
    print(f"({skipped} left out: the reference cannot decide them), {infeasible} infeasible")
    print()
    print("| figure | median | p95 | max | within 0.5% |")
    print("|---|---|---|---|---|")
    for name, v in (("certified gap", cert_gaps), ("true gap to exact optimum", true_gaps)):
        within = sum(g <= 0.005 + 1e-9 for g in v)
        print(f"| {name} | {q(v, 0.5)} | {q(v, 0.95)} | {q(v, 1.0)} | {within}/{len(v)} |")
    print()
    print(f"bound holds (>= exact optimum): {bound_ok}/{len(cert_gaps)}", *broken, sep="\n  ")
    print(f"same verdict (optimal/infeasible) as the exact model: {verdict_ok}/{checked}")
    print(
        "time against one uncertified solve(), median: "
        f"certified() {statistics.median(cert_ratios):.2f}x, "
        f"optimize() (simulation and polish too) {statistics.median(ratios):.2f}x"
    )
    print("largest certified gaps:", sorted(worst, reverse=True)[:5])
    print(f"errors: {len(errors)}", *errors[:5], sep="\n  ")


if __name__ == "__main__":
    args = [int(a) for a in sys.argv[1:3]]
    main(*args)
