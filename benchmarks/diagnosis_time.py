"""How long ``optimize`` takes on goals that cannot be met, diagnosis included.

    python benchmarks/diagnosis_time.py [TIME_LIMIT ...]   # "none" for the default

The case: tests/optimality_cases/fill_order_timeout_seed1.json (41 weeks x 29 tactics, two
communities, period floors, an AE capacity) with its impressions goal raised tenfold, so
the verdict (infeasible) comes in under a second and the diagnosis does the rest. Per
time limit, one run each: the wall time of the call, the diagnosis's share of it, the
budget it names and the parts it left out.
"""

from __future__ import annotations

import sys
import time
import warnings
from pathlib import Path
from typing import Any

import funnelopt.optimizer as optimizer_module
from funnelopt import Scenario, optimize

CASE = Path(__file__).resolve().parents[1] / "tests" / "optimality_cases"


def scenario() -> Scenario:
    """The case, its goal out of reach (76 M impressions by week 33; 47 M can be had)."""
    s = Scenario.from_file(CASE / "fill_order_timeout_seed1.json")
    return s.with_overrides({"goals[0].target": 10 * s.goals[0].target})


def main(limits: list[float | None]) -> None:
    warnings.simplefilter("ignore")  # the case's implausible inputs are on purpose
    real = optimizer_module.diagnose
    spent: dict[str, float] = {}

    def timed(*a: Any, **k: Any) -> Any:
        began = time.perf_counter()
        try:
            return real(*a, **k)
        finally:
            spent["diagnosis"] = time.perf_counter() - began

    optimizer_module.diagnose = timed  # type: ignore[assignment]
    s = scenario()
    print("time_limit | total | diagnosis | required budget | left out")
    for limit in limits:
        began = time.perf_counter()
        plan = optimize(s, time_limit=limit)
        total = time.perf_counter() - began
        d = plan.diagnosis
        assert plan.status == "infeasible" and d is not None
        need = f"{d.required_budget:,.0f}" if d.required_budget is not None else "-"
        left = "; ".join(n.split(" was not computed")[0] for n in d.not_computed) or "-"
        name = "none" if limit is None else f"{limit:g} s"
        print(f"{name} | {total:.1f} s | {spent['diagnosis']:.1f} s | {need} | {left}")


if __name__ == "__main__":
    args = sys.argv[1:] or ["none", "30", "20", "10", "5"]
    main([None if a == "none" else float(a) for a in args])
