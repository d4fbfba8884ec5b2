"""Writes examples/actuals_community.csv: SYNTHETIC actuals (no real data) for the first
12 weeks of examples/disease_awareness.toml.

The campaign ran its original plan for 12 weeks, but the world differed from the
scenario's benchmarks: the dark posts' CTR is 0.8% (1% planned) at a CPM of 13.5 (12),
the follower ads win a follower per 270 impressions (0.37%; 0.53% planned), and the
community's posts draw twice the comments planned. Counts carry binomial and Poisson
noise. So the "true" rates are known, and `funnelopt replan` should move toward them.

    python examples/make_actuals.py
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from funnelopt import Scenario, optimize, simulate

HERE = Path(__file__).resolve().parent
WEEKS = 12
TRUTH = {
    "tactics.meta_dark.ctr": 0.008,
    "tactics.meta_dark.cpm": 13.5,
    "tactics.meta_follow.follow_rate": 0.0037,
    "communities.patients_de.comment_rate": 0.0192,
}


def main() -> None:
    s = Scenario.from_file(HERE / "disease_awareness.toml")
    plan = optimize(s, analysis=False, strategies=False)
    assert plan.spend is not None
    truth = s.with_overrides(TRUTH)
    out = simulate(truth, plan.spend, plan.community)
    rng = np.random.default_rng(12)
    by = out.by_tactic
    rows: list[list[object]] = []
    for t in range(WEEKS):
        for j, tactic in enumerate(s.tactics):
            spend = float(plan.spend[t, j])
            if spend <= 0:
                continue  # a tactic without a row spent nothing that week
            imps = int(rng.poisson(by["impressions"][t, j]))
            clicks = int(rng.binomial(imps, by["clicks"][t, j] / by["impressions"][t, j]))
            visits = int(rng.binomial(clicks, tactic.landing_rate)) if clicks else 0
            conv = int(rng.binomial(visits, s.site.conversion_rate)) if visits else 0
            follows = int(rng.poisson(by["new_followers"][t, j]))
            comments = int(rng.poisson(by["comments"][t, j]))
            rows.append([t + 1, tactic.id, "", f"{spend:.2f}", imps, clicks, visits, conv,
                         follows, comments, "", "", ""])  # fmt: skip
        community = out.by_community["patients_de"]
        if community["followers"][t] > 0:
            ae = int(rng.poisson(out.per_period["ae_cases"][t]))
            comments = int(rng.poisson(community["comments"][t]))
            followers = round(float(community["followers"][t]))
            organic = int(rng.poisson(community["organic_impressions"][t]))
            rows.append([t + 1, "", "patients_de", "", "", "", "", "", "", comments, followers, ae,
                         organic])  # fmt: skip
    header = ["week", "tactic", "community", "spend", "impressions", "clicks", "visits",
              "conversions", "new_followers", "comments", "followers", "ae_cases",
              "organic_impressions"]  # fmt: skip
    with open(HERE / "actuals_community.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(header)
        w.writerows(rows)


if __name__ == "__main__":
    main()
