"""funnelopt benchmarks: one command, one table. Not part of the test suite.

    python benchmarks/run.py            # everything (a few minutes on 2 cores)
    python benchmarks/run.py --quick    # fewer repeats and a 200-point sweep

Each figure is the median of repeated runs; every comparison is a ratio measured in the
same process. See docs/performance.md for the figures and the machine they came from.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

from scenarios import synthetic  # noqa: E402

from funnelopt import Scenario, optimize  # noqa: E402
from funnelopt.backends.highs import HighsBackend  # noqa: E402
from funnelopt.formulation import build  # noqa: E402
from funnelopt.solve import certified, solve  # noqa: E402
from funnelopt.studies.sweep import sweep  # noqa: E402

Row = tuple[str, str, str]


def median_time(fn: Callable[[], object], repeats: int) -> float:
    """Median wall time of ``repeats`` calls (after one warm-up call)."""
    fn()
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def _speed(who: str, ratio: float) -> str:
    """'who 3.3x faster' or, below 1, 'who 4.5x slower' (never '0.2x faster')."""
    return f"{who} {ratio:.1f}x faster" if ratio >= 1 else f"{who} {1 / ratio:.1f}x slower"


def ms(seconds: float) -> str:
    return f"{seconds * 1000:,.1f} ms" if seconds < 10 else f"{seconds:,.1f} s"


def cold_plans(repeats: int) -> list[Row]:
    rows: list[Row] = []
    cases = [
        ("example (26 x 2)", Scenario.from_file(ROOT / "examples" / "disease_awareness.toml")),
        ("52 x 30", synthetic(52, 30)),
        ("52 x 200", synthetic(52, 200)),
    ]
    for name, s in cases:
        reps = repeats if "200" not in name else max(3, repeats // 3)
        full = median_time(lambda s=s: optimize(s), reps)
        bare = median_time(lambda s=s: optimize(s, strategies=False, analysis=False), reps)
        inside = statistics.median(
            optimize(s, strategies=False, analysis=False).solve_seconds
            for _ in range(max(1, reps // 2))
        )
        form = build(s)
        raw = median_time(lambda form=form: HighsBackend().solve(form.lp), max(1, reps // 3))
        rows.append(
            (
                f"plan {name}: optimize() end to end",
                ms(full),
                f"{full / inside:.1f}x its solver time",
            )
        )
        rows.append(
            (
                f"plan {name}: without sensitivity/strategies",
                ms(bare),
                f"{bare / inside:.1f}x its solver time",
            )
        )
        rows.append(
            (
                f"plan {name}: solver time inside optimize()",
                ms(inside),
                "LPs, tie-break, column generation",
            )
        )
        rows.append(
            (
                f"plan {name}: one raw HiGHS solve of the full MILP",
                ms(raw),
                f"{form.lp.n_cols:,} cols, {form.lp.n_rows:,} rows; optimize() is {raw / full:.1f}x faster",
            )
        )
    return rows


def certification(repeats: int) -> list[Row]:
    """What the certificate costs: ``certified()`` (plan, outer bound, refinement) against
    one uncertified ``solve()`` of the same scenario, interleaved in this process."""
    be = HighsBackend()
    rows: list[Row] = []
    for name in ("disease_awareness", "traffic_only"):
        s = Scenario.from_file(ROOT / "examples" / f"{name}.toml")
        calls = {
            "solve": lambda s=s: solve(s, be, 0.005),
            "certified": lambda s=s: certified(s, be, 0.005),
        }
        times: dict[str, list[float]] = {k: [] for k in calls}
        for f in calls.values():
            f()
        for _ in range(20 * repeats):
            for k, f in calls.items():
                t = time.perf_counter()
                f()
                times[k].append(time.perf_counter() - t)
        plain, cert = (statistics.median(times[k]) for k in ("solve", "certified"))
        rows.append(
            (
                f"certify {name}.toml: certified() vs one solve()",
                f"{ms(cert)} vs {ms(plain)}",
                f"{cert / plain:.2f}x (goal: under 1.5x)",
            )
        )
    return rows


def sweeps(points: int) -> list[Row]:
    s = Scenario.from_file(ROOT / "examples" / "disease_awareness.toml")
    grid = {"budget.total": [float(v) for v in np.linspace(60_000, 260_000, points)]}
    t = time.perf_counter()
    sw = sweep(s, grid)
    total = time.perf_counter() - t
    per = total / points
    ok = sum(p.status == "optimal" for p in sw.points)
    return [
        (f"sweep: {points}-point budget sweep of the example", ms(total), f"{ok} optimal points"),
        ("sweep: per point (a certified optimize() each)", ms(per), ""),
    ]


def peer_problem(
    n_tactics: int, seed: int = 1
) -> tuple[Scenario, np.ndarray, np.ndarray, np.ndarray, float]:
    """One period, n traffic tactics on exact exponential curves, one budget."""
    rng = np.random.default_rng(seed)
    tactics = []
    for j in range(n_tactics):
        tactics.append(
            {
                "id": f"t{j}",
                "kind": "traffic",
                "cpm": float(rng.uniform(5, 25)),
                "pool": float(rng.uniform(2e4, 3e5)),
                "frequency_cap": float(rng.uniform(1, 3)),
                "ctr": float(rng.uniform(0.004, 0.02)),
                "landing_rate": float(rng.uniform(0.5, 0.9)),
            }
        )
    budget = 2_000.0 * n_tactics
    s = Scenario.from_dict(
        {
            "periods": 1,
            "population": 1e7,
            "budget": {"media": budget},
            "site": {"conversion_rate": 0.05},
            "tactics": tactics,
        }
    )
    i_sat = np.array([t.saturation_impressions for t in s.tactics])
    sigma = np.array([t.saturation_spend for t in s.tactics])
    value = np.array([t.ctr * t.landing_rate * 0.05 for t in s.tactics])
    return s, i_sat, sigma, value, budget


def slsqp(
    i_sat: np.ndarray, sigma: np.ndarray, value: np.ndarray, budget: float
) -> tuple[np.ndarray, int]:
    """The MMM allocators' method: SLSQP from a uniform split (Robyn, PyMC-Marketing)."""
    from scipy.optimize import minimize

    n = len(i_sat)

    def neg(x: np.ndarray) -> float:
        return -float(np.sum(value * i_sat * -np.expm1(-x / sigma)))

    def grad(x: np.ndarray) -> np.ndarray:
        return -(value * i_sat / sigma * np.exp(-x / sigma))

    res = minimize(
        neg,
        np.full(n, budget / n),
        jac=grad,
        method="SLSQP",
        bounds=[(0, budget)] * n,
        constraints=[
            {"type": "ineq", "fun": lambda x: budget - x.sum(), "jac": lambda x: -np.ones(n)}
        ],
    )
    return res.x, int(res.nit)


def peers(repeats: int) -> list[Row]:
    rows: list[Row] = []
    for n in (10, 50, 200):
        s, i_sat, sigma, value, budget = peer_problem(n)

        def exact(
            x: np.ndarray,
            value: np.ndarray = value,
            i_sat: np.ndarray = i_sat,
            sigma: np.ndarray = sigma,
        ) -> float:
            return float(np.sum(value * i_sat * -np.expm1(-np.clip(x, 0, None) / sigma)))

        t_ours = median_time(lambda s=s: optimize(s, strategies=False, analysis=False), repeats)
        ours = exact(optimize(s, strategies=False, analysis=False).spend[0])
        t_peer = median_time(
            lambda a=(i_sat, sigma, value, budget): slsqp(*a), max(1, repeats // 2)
        )
        x_peer, nit = slsqp(i_sat, sigma, value, budget)
        theirs = exact(x_peer)
        rows.append(
            (
                f"peer: {n} tactics, SLSQP vs funnelopt time",
                f"{ms(t_peer)} vs {ms(t_ours)}",
                _speed("funnelopt", t_peer / t_ours),
            )
        )
        rows.append(
            (
                f"peer: {n} tactics, objective (exact model)",
                f"{theirs:,.2f} vs {ours:,.2f}",
                f"ratio funnelopt/SLSQP {ours / theirs:.4f} (SLSQP {nit} iterations)",
            )
        )
    return rows


def backends(repeats: int) -> list[Row]:
    rows: list[Row] = []
    for name, s in (
        ("example", Scenario.from_file(ROOT / "examples" / "disease_awareness.toml")),
        ("52 x 30", synthetic(52, 30)),
    ):
        th = median_time(lambda s=s: optimize(s, strategies=False, analysis=False), repeats)
        tp = median_time(
            lambda s=s: optimize(s, backend="pulp", strategies=False, analysis=False),
            max(1, repeats // 3),
        )
        a = optimize(s, strategies=False, analysis=False).predicted_objective
        b = optimize(s, backend="pulp", strategies=False, analysis=False).predicted_objective
        rel = abs(a - b) / max(1.0, abs(a))
        rows.append(
            (
                f"backends {name}: highs vs pulp",
                f"{ms(th)} vs {ms(tp)}",
                f"pulp {tp / th:.1f}x slower; optimum gap {rel:.1e}",
            )
        )
    return rows


def memory() -> list[Row]:
    code = (
        "import sys, resource; sys.path.insert(0, sys.argv[1]);"
        "from scenarios import synthetic; from funnelopt import optimize;"
        "optimize(synthetic(52, 200));"
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(HERE)], capture_output=True, text=True, check=True
    )
    kb = int(out.stdout.strip().splitlines()[-1])
    return [
        (
            "memory: peak RSS, 52 x 200 plan (own process)",
            f"{kb / 1024:,.0f} MB",
            "target <= 500 MB",
        )
    ]


def startup(repeats: int) -> list[Row]:
    def run(args: list[str]) -> float:
        def go() -> None:
            subprocess.run(args, capture_output=True, check=True)

        return median_time(go, repeats)

    imp = run([sys.executable, "-c", "import funnelopt"])
    base = run([sys.executable, "-c", "pass"])
    helps = run([sys.executable, "-m", "funnelopt", "--help"])
    return [
        (
            "startup: python -c 'import funnelopt'",
            ms(imp),
            f"{ms(imp - base)} over a bare interpreter",
        ),
        ("startup: funnelopt --help", ms(helps), "target <= 0.5 s"),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats, a 200-point sweep")
    args = parser.parse_args()
    repeats = 3 if args.quick else 7
    points = 200 if args.quick else 1000
    print(
        f"# funnelopt benchmarks - {platform.python_implementation()} {platform.python_version()}, "
        f"{platform.machine()}, {os.cpu_count()} cores, medians of {repeats}"
    )
    rows: list[Row] = []
    for section in (
        lambda: cold_plans(repeats),
        lambda: certification(repeats),
        lambda: sweeps(points),
        lambda: peers(repeats),
        lambda: backends(repeats),
        memory,
        lambda: startup(repeats),
    ):
        part = section()
        rows += part
        for r in part:
            print(f"  {r[0]:<58} {r[1]:>24}  {r[2]}", flush=True)
    print()
    print_table(rows)


def print_table(rows: list[Row]) -> None:
    """The rows as a Markdown table (for docs/performance.md)."""
    print("| measurement | value | ratio / note |")
    print("|---|---:|---|")
    for a, b, c in rows:
        print(f"| {a} | {b} | {c} |")


if __name__ == "__main__":
    main()
