"""Synthetic scenarios for the benchmarks: T periods x J tactics, deterministic."""

from __future__ import annotations

from typing import Any

import numpy as np

from funnelopt import Scenario


def synthetic(periods: int, tactics: int, community: bool = True, seed: int = 0) -> Scenario:
    """A campaign with ``tactics`` traffic tactics (and follower ads with one community)."""
    rng = np.random.default_rng(seed)
    n_traffic = tactics - 1 if community else tactics
    population = 4_000_000.0
    ts: list[dict[str, Any]] = [
        {
            "id": f"t{j}",
            "kind": "traffic",
            "cpm": float(rng.uniform(6, 20)),
            "pool": float(rng.uniform(0.05, 0.3) * population),
            "frequency_cap": float(rng.uniform(1.5, 3)),
            "ctr": float(rng.uniform(0.004, 0.015)),
            "landing_rate": float(rng.uniform(0.6, 0.9)),
            "comment_rate": 0.0002,
        }
        for j in range(n_traffic)
    ]
    data: dict[str, Any] = {
        "name": f"synthetic {periods}x{tactics}",
        "periods": periods,
        "population": population,
        "budget": {"total": 3_000.0 * periods * max(1, tactics // 4)},
        "site": {"conversion_rate": 0.05},
        "tactics": ts,
        "webcare": {"hourly_rate": 75, "minutes_per_comment": 6, "capacity_hours": 400},
        "adverse_events": {"rate": 0.01, "minutes_per_case": 30, "cost_per_case": 180},
        "goals": [{"metric": "reach_share", "target": 0.2, "by": max(1, periods // 3)}],
    }
    if community:
        ts.append(
            {
                "id": "follow",
                "kind": "community",
                "account": "patients",
                "cpm": 8.0,
                "pool": 0.5 * population,
                "frequency_cap": 2.0,
                "follow_rate": 0.0053,
                "comment_rate": 0.0002,
            }
        )
        data["communities"] = [
            {
                "id": "patients",
                "mode": "auto",
                "churn": 0.0023,
                "posts_per_period": 4,
                "organic_reach_rate": 0.06,
                "engagement_rate": 0.015,
                "comment_rate": 0.0096,
                "organic_ctr": 0.0073,
                "landing_rate": 0.8,
                "conversion_rate": 0.08,
                "viral_follow_rate": 0.0008,
                "setup_cost": 8000,
                "content_cost_per_post": 150,
                "base_hours": 1.75,
            }
        ]
    return Scenario.from_dict(data)
