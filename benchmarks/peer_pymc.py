"""Peer check: the same fitted curves optimised by PyMC-Marketing's BudgetOptimizer and by
funnelopt, for the same budget and horizon (needs the peer extra: pymc-marketing).

    pip install -e ".[peer]"
    python benchmarks/peer_pymc.py

For each case a PyMC-Marketing ``MMM`` (geometric adstock, logistic or Hill saturation)
is built on synthetic weekly data and given one posterior draw with the case's
parameters (no MCMC: the optimiser only reads the posterior). PyMC-Marketing's
``optimize_budget`` allocates one amount per channel and week over ``weeks`` weeks, with
``l_max`` weeks of carry-over counted after them. funnelopt plans the same channels as
``response`` tactics (docs/curves.md), per week, with the same budget, over the same
weeks plus the carry-over tail (the channels' windows end at ``weeks``).

Both allocations are then evaluated on the exact curves by funnelopt's simulator; PyMC-
Marketing's own figure for its allocation is printed beside it as a check of the mapping.
Times: PyMC-Marketing's first call (graph compilation included) and a second call on the
same optimiser; funnelopt's ``optimize`` (certified) in a warm process.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np

from funnelopt import Scenario, optimize, simulate


@dataclass(frozen=True)
class Case:
    name: str
    saturation: str  # "logistic" or "hill"
    #: Per channel: adstock alpha and the saturation's parameters (scaled units).
    channels: dict[str, dict[str, float]]
    weeks: int
    l_max: int
    budget_per_week: float


#: Adstock and logistic saturation of the three-channel cases (PyMC-Marketing's units).
THREE_CHANNELS = {
    "meta": {"alpha": 0.5, "lam": 2.5, "beta": 0.35},
    "search": {"alpha": 0.2, "lam": 3.0, "beta": 0.25},
    "display": {"alpha": 0.6, "lam": 1.8, "beta": 0.15},
}

CASES = [
    Case(
        "logistic, 3 channels, 8 weeks",
        "logistic",
        THREE_CHANNELS,
        weeks=8,
        l_max=4,
        budget_per_week=12_000.0,
    ),
    Case(
        "logistic, 3 channels, 26 weeks",
        "logistic",
        THREE_CHANNELS,
        weeks=26,
        l_max=4,
        budget_per_week=12_000.0,
    ),
    Case(
        "Hill, S-shaped video + concave search, 8 weeks",
        "hill",
        {
            "video": {"alpha": 0.4, "kappa": 0.55, "slope": 2.4, "beta": 0.5},
            "search": {"alpha": 0.1, "kappa": 0.4, "slope": 0.9, "beta": 0.3},
        },
        weeks=8,
        l_max=4,
        budget_per_week=5_000.0,
    ),
]


def build_mmm(case: Case) -> Any:
    """A PyMC-Marketing MMM with one posterior draw holding the case's parameters."""
    import pandas as pd
    from pymc_marketing.mmm import GeometricAdstock, HillSaturation, LogisticSaturation
    from pymc_marketing.mmm.multidimensional import MMM

    rng = np.random.default_rng(0)
    n = 52
    channels = list(case.channels)
    x = pd.DataFrame({"date": pd.date_range("2025-01-06", periods=n, freq="W-MON")})
    for c in channels:
        x[c] = rng.uniform(1000, 12_000, n)
    y = pd.Series(rng.uniform(100, 420, n), name="y")
    saturation = LogisticSaturation() if case.saturation == "logistic" else HillSaturation()
    mmm = MMM(
        date_column="date",
        channel_columns=channels,
        target_column="y",
        adstock=GeometricAdstock(l_max=case.l_max),
        saturation=saturation,
    )
    mmm.build_model(x, y)
    mmm.sample_prior_predictive(x, y, samples=1)
    post = mmm.idata.prior.copy()
    names = {"alpha": "adstock_alpha", "beta": "saturation_beta"}
    names.update(
        {"lam": "saturation_lam"}
        if case.saturation == "logistic"
        else {"kappa": "saturation_kappa", "slope": "saturation_slope"}
    )
    for key, var in names.items():
        post[var].values[...] = [[[case.channels[c][key] for c in channels]]]
    mmm.idata.add_groups(posterior=post)
    return mmm, x


def scenario(case: Case, channel_scale: dict[str, float], target_scale: float) -> Scenario:
    """The case as funnelopt response tactics, with the carry-over tail as extra weeks."""
    tactics = []
    for c, p in case.channels.items():
        if case.saturation == "logistic":
            curve = {"kind": "logistic", "lam": p["lam"], "max": p["beta"]}
        else:
            curve = {"kind": "hill", "half": p["kappa"], "slope": p["slope"], "max": p["beta"]}
        curve.update(spend_scale=channel_scale[c], target_scale=target_scale)
        tactics.append(
            {
                "id": c,
                "kind": "response",
                "end": case.weeks,
                "curve": curve,
                "adstock": {"alpha": p["alpha"], "l_max": case.l_max, "normalize": True},
            }
        )
    return Scenario.from_dict(
        {
            "name": case.name,
            "periods": case.weeks + case.l_max,
            "population": 1_000_000,
            "budget": {"media": case.budget_per_week * case.weeks},
            "site": {"conversion_rate": 0.05},
            "tactics": tactics,
        }
    )


def run(case: Case) -> dict[str, Any]:
    import pandas as pd
    from pymc_marketing.mmm.multidimensional import MultiDimensionalBudgetOptimizerWrapper

    mmm, x = build_mmm(case)
    const = mmm.idata.constant_data
    channel_scale = {
        str(c): float(v)
        for c, v in zip(const.channel.values, const.channel_scale.values, strict=True)
    }
    target_scale = float(const.target_scale.values)
    last = x["date"].max()
    wrapper = MultiDimensionalBudgetOptimizerWrapper(
        model=mmm,
        start_date=str((last + pd.Timedelta(weeks=1)).date()),
        end_date=str((last + pd.Timedelta(weeks=case.weeks)).date()),
    )
    times = []
    for _ in range(2):
        t0 = time.perf_counter()
        optimal, res = wrapper.optimize_budget(budget=case.budget_per_week)
        times.append(time.perf_counter() - t0)
    peer_alloc = {
        str(c): float(v) for c, v in zip(optimal.channel.values, optimal.values, strict=True)
    }

    s = scenario(case, channel_scale, target_scale)
    optimize(s)  # warm the process (imports, caches), as PyMC-Marketing's second call is
    t0 = time.perf_counter()
    plan = optimize(s)
    ours_time = time.perf_counter() - t0
    t0 = time.perf_counter()
    optimize(s, strategies=False, analysis=False)
    ours_core = time.perf_counter() - t0

    peer_plan = {c: [peer_alloc[c]] * case.weeks + [0.0] * case.l_max for c in case.channels}
    peer_exact = simulate(s, peer_plan).totals["conversions"]
    ours_exact = plan.outcome.totals["conversions"]
    return {
        "case": case.name,
        "peer_reported": -float(res.fun),
        "peer_exact": peer_exact,
        "ours_exact": ours_exact,
        "ratio": ours_exact / peer_exact,
        "peer_first_s": times[0],
        "peer_second_s": times[1],
        "ours_s": ours_time,
        "ours_core_s": ours_core,
        "peer_alloc": peer_alloc,
        "certificate_gap": plan.certificate.gap if plan.certificate else None,
    }


def main() -> None:
    warnings.filterwarnings("ignore")
    for case in CASES:
        r = run(case)
        print(f"\n{r['case']}")
        print(
            f"  PyMC-Marketing: {r['peer_exact']:,.2f} conversions on the exact curves "
            f"(its own figure {r['peer_reported']:,.2f}); weekly per channel "
            + ", ".join(f"{c} {v:,.0f}" for c, v in r["peer_alloc"].items())
        )
        print(
            f"  funnelopt:      {r['ours_exact']:,.2f} conversions (x{r['ratio']:.4f}), "
            f"certified gap {r['certificate_gap']:.2%}"
        )
        print(
            f"  time: PyMC-Marketing {r['peer_first_s']:.2f} s first call, {r['peer_second_s']:.2f} s "
            f"second; funnelopt {r['ours_s']:.3f} s ({r['ours_core_s']:.3f} s without analyses): "
            f"{r['peer_second_s'] / r['ours_s']:.0f}x / {r['peer_first_s'] / r['ours_s']:.0f}x faster"
        )


if __name__ == "__main__":
    main()
