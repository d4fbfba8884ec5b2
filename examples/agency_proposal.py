"""An agency's proposal tool in a few lines: scenario from a dict -> plan -> client report.

    python examples/agency_proposal.py [OUTPUT_DIR]

writes OUTPUT_DIR/proposal.html (self-contained) and proposal.md (OUTPUT_DIR: a new
temporary folder when not given), and prints the plan.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from funnelopt import Scenario, optimize

# What a proposal form collects (the numbers are the shipped example's sourced defaults).
brief = {
    "name": "Condition X awareness, NL - proposal draft",
    "periods": 26,
    "population": 1_200_000,
    "budget": {"total": 90_000, "media": 75_000, "period_max": 8_000},
    "site": {"conversion_rate": 0.05},
    "tactics": [
        {"id": "meta_dark", "platform": "facebook", "kind": "traffic", "cpm": 12.0, "pool": 960_000,
         "frequency_cap": 2.0, "ctr": 0.01, "landing_rate": 0.75, "comment_rate": 0.0002, "audience": "broad"},
        {"id": "meta_follow", "platform": "facebook", "kind": "community", "account": "patients_nl", "cpm": 8.0,
         "pool": 960_000, "frequency_cap": 2.0, "follow_rate": 0.00533, "comment_rate": 0.0002, "audience": "broad"},
    ],
    "communities": [
        {"id": "patients_nl", "mode": "auto", "churn": 0.0023, "posts_per_period": 4, "organic_reach_rate": 0.06,
         "engagement_rate": 0.015, "comment_rate": 0.0096, "organic_ctr": 0.0073, "landing_rate": 0.8,
         "conversion_rate": 0.08, "viral_follow_rate": 0.0008, "setup_cost": 8000, "content_cost_per_post": 150,
         "base_hours": 1.75},
    ],
    "webcare": {"hourly_rate": 75, "minutes_per_comment": 6, "capacity_hours": 32},
    "adverse_events": {"rate": 0.01, "minutes_per_case": 30, "cost_per_case": 180, "capacity": 10},
    "goals": [
        {"metric": "reach_share", "target": 0.3, "by": 8},
        {"metric": "conversions", "target": 1000},
    ],
    "sources": {
        "tactics.meta_dark.cpm": "Superads 2025 healthcare / Germany CPM, mid-point (docs/sources.md 8a)",
        "tactics.meta_dark.ctr": "WordStream 2017; health campaigns 0.66-2.3% (docs/sources.md 1a, 1b)",
        "webcare.hourly_rate": "BVCM freelancer rates 2018 (docs/sources.md 5)",
    },
}  # fmt: skip


def main() -> None:
    # A given folder, else a new temporary one: never litter the working directory.
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.mkdtemp(prefix="funnelopt-"))
    out.mkdir(parents=True, exist_ok=True)
    scenario = Scenario.from_dict(brief)
    plan = optimize(scenario)
    print(plan)
    plan.report(out / "proposal.html")
    plan.report(out / "proposal.md")
    print(f"wrote {out / 'proposal.html'} and {out / 'proposal.md'}")


if __name__ == "__main__":
    main()
