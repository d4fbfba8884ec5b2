"""Forecast speed: 10,000 draws of the example plan, vectorised vs a Python loop per draw;
and a plan with a confidence against a nominal plan.

    python benchmarks/forecast.py

Not part of the test suite. Both loops are timed in this process on the same draws and
extrapolated from 300 draws to 10,000 (each draw costs the same); the figures go into
docs/performance.md.
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

from run import median_time as seconds  # noqa: E402

from funnelopt import Scenario, forecast, optimize, simulate  # noqa: E402
from funnelopt.compiled import draw_inputs, sampled_data  # noqa: E402
from funnelopt.simulator import forward  # noqa: E402

DRAWS, LOOPED = 10_000, 300


def main() -> None:
    s = Scenario.from_file(ROOT / "examples" / "disease_awareness.toml")
    plan = optimize(s)
    x, y = plan.spend, plan.community
    values = draw_inputs(s, LOOPED, seed=0)

    def loop_simulate() -> None:  # what a user would write without forecast()
        for i in range(LOOPED):
            simulate(
                s.with_overrides({p: float(v[i]) for p, v in values.items()}), x, y, checks=False
            )

    def loop_kernel() -> None:  # the same forward model, one draw at a time
        for i in range(LOOPED):
            forward(s, sampled_data(s, {p: v[i : i + 1] for p, v in values.items()}, 1), x, y)

    vec = seconds(lambda: forecast(s, plan, draws=DRAWS, seed=0), 7)
    per_sim = seconds(loop_simulate, 3) / LOOPED
    per_kernel = seconds(loop_kernel, 3) / LOOPED
    print(f"{len(s.uncertainty)} ranged inputs, {s.periods} periods, {len(s.tactics)} tactics")
    print(f"forecast, {DRAWS:,} draws (vectorised):      {vec * 1000:8.0f} ms")
    print(
        f"loop of with_overrides + simulate:          {per_sim * DRAWS * 1000:8.0f} ms "
        f"(x{per_sim * DRAWS / vec:.0f})"
    )
    print(
        f"loop of the forward model, one draw each:   {per_kernel * DRAWS * 1000:8.0f} ms "
        f"(x{per_kernel * DRAWS / vec:.0f})"
    )
    nominal = seconds(lambda: optimize(s), 3)
    confident = seconds(lambda: optimize(s, confidence=0.9), 3)
    print(
        f"plan with confidence 0.9 vs nominal plan:   {confident * 1000:8.0f} ms vs "
        f"{nominal * 1000:.0f} ms (x{confident / nominal:.1f})"
    )
    sys.stdout.flush()


if __name__ == "__main__":
    main()
