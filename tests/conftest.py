"""Shared fixtures: small scenarios built from dicts, and the shipped examples."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings

from funnelopt import Scenario

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"

settings.register_profile("ci", derandomize=True, max_examples=60, deadline=None, database=None)
settings.register_profile("dev", max_examples=60, deadline=None)
settings.load_profile("ci")

BASE: dict[str, Any] = {
    "name": "test",
    "periods": 4,
    "population": 100_000,
    "budget": {"total": 20_000},
    "site": {"conversion_rate": 0.05},
    "tactics": [
        {
            "id": "dark",
            "kind": "traffic",
            "cpm": 10.0,
            "pool": 80_000,
            "frequency_cap": 2.0,
            "ctr": 0.01,
            "landing_rate": 0.8,
        }
    ],
}

COMMUNITY: dict[str, Any] = {
    **copy.deepcopy(BASE),
    "tactics": [
        copy.deepcopy(BASE["tactics"][0]),
        {
            "id": "follow",
            "kind": "community",
            "account": "patients",
            "cpm": 8.0,
            "pool": 80_000,
            "frequency_cap": 2.0,
            "follow_rate": 0.005,
            "comment_rate": 0.001,
        },
    ],
    "communities": [
        {
            "id": "patients",
            "mode": "auto",
            "initial_followers": 100,
            "churn": 0.01,
            "posts_per_period": 3,
            "organic_reach_rate": 0.1,
            "engagement_rate": 0.05,
            "comment_rate": 0.01,
            "organic_ctr": 0.02,
            "landing_rate": 0.8,
            "conversion_rate": 0.1,
            "viral_follow_rate": 0.01,
            "setup_cost": 1000,
            "content_cost_per_post": 50,
            "base_hours": 2,
        }
    ],
    "webcare": {"hourly_rate": 60, "minutes_per_comment": 3, "capacity_hours": 100},
    "adverse_events": {"rate": 0.02, "minutes_per_case": 30, "cost_per_case": 100, "capacity": 50},
}


def build(base: dict[str, Any] = BASE, **changes: Any) -> dict[str, Any]:
    """A deep copy of ``base`` with top-level keys replaced."""
    data = copy.deepcopy(base)
    data.update(copy.deepcopy(changes))
    return data


@pytest.fixture
def traffic() -> Scenario:
    return Scenario.from_dict(BASE)


@pytest.fixture
def with_community() -> Scenario:
    return Scenario.from_dict(COMMUNITY)


@pytest.fixture
def example() -> Scenario:
    return Scenario.from_file(EXAMPLES / "disease_awareness.toml")
