"""What S-curves cost: certified plans on random scenarios with Hill curves of slope > 1.

    python benchmarks/curves.py [SLACK ...]

Twelve random scenarios (1-3 traffic tactics with S-shaped Hill curves, in half of them
a response tactic with an S-curve and adstock), the S-shaped examples, for each given
``pwl.CONVEX_SLACK`` (default: the library's): the time of ``optimize`` without analyses
and the certified gap per scenario. Each scenario is a MILP (binaries on the curves'
convex starts); the examples with concave curves only are LPs for comparison.
"""

from __future__ import annotations

import statistics
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from funnelopt import Scenario, optimize, pwl

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def random_cases(seed: int = 1, n: int = 12) -> list[dict[str, Any]]:
    rng = np.random.default_rng(seed)
    cases = []
    for _ in range(n):
        periods = int(rng.integers(6, 20))
        tactics: list[dict[str, Any]] = []
        for j in range(int(rng.integers(1, 4))):
            curve = {
                "kind": "hill",
                "max": float(rng.uniform(5e4, 3e5)),
                "half": float(rng.uniform(500, 4000)),
                "slope": float(rng.uniform(1.3, 4)),
            }
            tactics.append(
                {
                    "id": f"t{j}",
                    "kind": "traffic",
                    "pool": 50_000,
                    "ctr": 0.01,
                    "landing_rate": 0.8,
                    "curve": curve,
                }
            )
        if rng.random() < 0.5:
            curve = {
                "kind": "hill",
                "max": float(rng.uniform(20, 200)),
                "half": float(rng.uniform(500, 4000)),
                "slope": float(rng.uniform(1.3, 3.5)),
            }
            adstock = {
                "alpha": float(rng.uniform(0, 0.7)),
                "l_max": int(rng.integers(1, 5)),
                "normalize": True,
            }
            tactics.append({"id": "r", "kind": "response", "curve": curve, "adstock": adstock})
        cases.append(
            {
                "periods": periods,
                "population": 100_000,
                "budget": {"media": float(rng.uniform(0.2, 1.5)) * 2000 * periods},
                "site": {"conversion_rate": 0.05},
                "tactics": tactics,
            }
        )
    return cases


def main() -> None:
    warnings.filterwarnings("ignore")
    slacks = [float(a) for a in sys.argv[1:]] or [pwl.CONVEX_SLACK]
    scenarios = [Scenario.from_dict(d) for d in random_cases()]
    scenarios += [
        Scenario.from_file(EXAMPLES / n) for n in ("platform_curves.toml", "mmm_hill.toml")
    ]
    for slack in slacks:
        pwl.CONVEX_SLACK = slack
        pwl._shaped_points.cache_clear()
        times, gaps = [], []
        for s in scenarios:
            t0 = time.perf_counter()
            plan = optimize(s, strategies=False, analysis=False)
            times.append(time.perf_counter() - t0)
            gaps.append(plan.certificate.gap if plan.certificate and plan.certificate.gap else 0.0)
        print(
            f"slack {slack:g}: median {statistics.median(times):.2f} s, total {sum(times):.1f} s, "
            f"largest gap {max(gaps):.2%}"
        )
        print("  seconds:", " ".join(f"{t:.2f}" for t in times))
        print("  gaps %: ", " ".join(f"{100 * g:.2f}" for g in gaps))
    for name in ("traffic_only.toml", "mmm_logistic.toml"):
        s = Scenario.from_file(EXAMPLES / name)
        optimize(s)
        t0 = time.perf_counter()
        optimize(s, strategies=False, analysis=False)
        print(f"{name} (concave, an LP): {time.perf_counter() - t0:.3f} s")


if __name__ == "__main__":
    main()
