"""Re-planning a running campaign from its actuals (issue 13): calibrate the rates the
actuals inform, fix the past to what happened, and re-optimise the rest.

Calibration: each rate's prior is the scenario's value, uncertain by its
``[uncertainty]`` range where it has one (the range's 5-95% interval) or else PRIOR_RSD; each
period with data is one observation of it, uncertain by PERIOD_RSD (rates drift from
week to week far more than their binomial counts say, so a million impressions are not a
million independent trials). The posterior is the precision-weighted mean on the log
scale, so two periods move a rate a little and ten a lot. CTR comes from clicks per
impression, the landing rate from visits per click, the follow and comment rates from new
followers and comments per impression, and the CPM is solved per period
from spend and impressions on the tactic's own delivery curve (saturation included).
Each estimate carries its prior, posterior (the value used), a 90% interval and the
evidence.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.special import ndtri  # the normal quantile, without scipy.stats' import (~0.3 s)

from funnelopt.actuals import Actuals, ActualsError
from funnelopt.errors import Problem
from funnelopt.formulation import Options
from funnelopt.outcome import Outcome, _num
from funnelopt.plan import Plan
from funnelopt.scenario import Scenario
from funnelopt.simulator import simulate

#: A rate's prior: the scenario's value, uncertain by this much (relative sd): benchmarks
#: for CTR span 0.66-2.3% (docs/sources.md), about +-30% around a mid-point.
PRIOR_RSD = 0.3
#: How much a rate moves from one period to the next (relative sd), however many
#: impressions: creative, audience and auction change weekly. Two periods then move a
#: rate about 40% of the way to what they show, ten about 80%.
PERIOD_RSD = 0.5
#: Width of the reported intervals.
LEVEL = 0.9


@dataclass(frozen=True)
class Estimate:
    """One calibrated field: prior, posterior (used), a 90% interval and the evidence."""

    path: str
    prior: float
    posterior: float
    low: float
    high: float
    evidence: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-compatible dict with stable keys."""
        return {
            "path": self.path,
            "prior": _num(self.prior),
            "posterior": _num(self.posterior),
            "low": _num(self.low),
            "high": _num(self.high),
            "evidence": self.evidence,
        }


@dataclass(frozen=True, eq=False)
class Replan:
    """The calibrated scenario, the estimates behind it, the new plan over the whole
    campaign (its first ``periods_done`` periods the actual spend) and the original plan
    continued unchanged on the calibrated scenario, for the on-track comparison."""

    estimates: tuple[Estimate, ...]
    scenario: Scenario
    periods_done: int
    plan: Plan
    continued: Outcome
    #: The plan made before the campaign, on the uncalibrated scenario.
    original: Plan
    actuals: Actuals

    def on_track(self) -> list[dict[str, Any]]:
        """Per goal: its target and deadline, and what the old plan continued and the new
        plan deliver by then."""
        # Goals out of reach: the new plan is the best effort within the limits.
        effort = self.plan.best_effort
        new = self.plan.outcome or (effort.outcome if effort is not None else None)
        out = []
        for i, g in enumerate(self.scenario.goals):
            out.append(
                {
                    "goal": f"{g.metric.value} >= {g.target:,.6g} by "
                    f"{self.scenario.period_label} {self.scenario.goal_period(g)}",
                    "continued": _num(self.continued.goals[i].achieved),
                    "continued_met": self.continued.goals[i].met,
                    "replanned": _num(new.goals[i].achieved) if new else None,
                    "replanned_met": new.goals[i].met if new else False,
                }
            )
        return out

    def to_dict(self) -> dict[str, Any]:
        """JSON-compatible dict with stable keys (the ``replan`` schema of the CLI)."""
        return {
            "schema_version": 1,
            "periods_done": self.periods_done,
            "estimates": [e.to_dict() for e in self.estimates],
            "on_track": self.on_track(),
            "plan": self.plan.to_dict(),
        }


def replan(scenario: Scenario, actuals: Actuals, **optimize_options: Any) -> Replan:
    """Calibrate ``scenario`` on ``actuals``, fix the periods done, re-optimise the rest.

    ``optimize_options`` go to :func:`funnelopt.optimize` (backend, tolerance, time_limit).
    """
    from funnelopt.optimizer import optimize

    original = optimize(scenario, analysis=False, strategies=False, **optimize_options)
    estimates = calibrate(scenario, actuals)
    updates: dict[str, Any] = {e.path: e.posterior for e in estimates}
    # A launch chosen before the campaign has happened: it stays where it was.
    updates |= {f"communities.{cid}.start": k for cid, k in original.launch.items()}
    calibrated = scenario.with_overrides(updates) if updates else scenario
    done = actuals.periods_done
    spent = np.nan_to_num(actuals.values["spend"]) if actuals.has("spend") else None
    fixed: dict[tuple[int, int], float] = {}
    outside: list[Problem] = []
    if spent is not None:
        for t in range(done):
            for j, tactic in enumerate(calibrated.tactics):
                first, last = calibrated.active_window(tactic)
                if first <= t + 1 <= last:
                    fixed[(t, j)] = float(spent[t, j])
                elif spent[t, j] > 0:
                    where = f"{calibrated.period_label} {t + 1}, {tactic.id}"
                    rule = f"was spent outside its window ({first}-{last}) in this plan"
                    outside.append(Problem(f"actuals: {where}", float(spent[t, j]), rule))
    if outside:
        raise ActualsError(outside)
    plan = optimize(calibrated, options=Options(fixed_spend=fixed), **optimize_options)
    # The old plan continued: what happened, then the original spend from here on.
    old = (
        np.array(original.spend)
        if original.spend is not None
        else np.zeros((scenario.periods, len(scenario.tactics)))
    )
    if spent is not None:
        old[:done] = spent
    continued = simulate(calibrated, old, original.community or None)
    return Replan(tuple(estimates), calibrated, done, plan, continued, original, actuals)


def calibrate(s: Scenario, actuals: Actuals) -> list[Estimate]:
    """The posterior of every rate the actuals inform (see the module docstring)."""
    out: list[Estimate] = []
    for j, t in enumerate(s.tactics):
        p = f"tactics.{t.id}"
        for rate, trials, successes in (
            ("ctr", "impressions", "clicks"),
            ("landing_rate", "clicks", "visits"),
            ("follow_rate", "impressions", "new_followers"),
            ("comment_rate", "impressions", "comments"),
        ):
            prior = float(getattr(t, rate))
            if not (actuals.has(trials) and actuals.has(successes)) or not 0 < prior < 1:
                continue
            n = np.nan_to_num(actuals.values[trials][:, j])
            k = np.nan_to_num(actuals.values[successes][:, j])
            seen = n > 0
            if not seen.any():
                continue
            # Half a success and one trial more: a week without clicks still counts (it
            # says the rate is low) and a log stays finite. Weeks are weighted alike only
            # when their counts say more than the drift between weeks (see _shrunk).
            rates = (k[seen] + 0.5) / (n[seen] + 1.0)
            spread = _prior_spread(s, f"{p}.{rate}")
            post = _shrunk(prior, rates, 1 - 1e-6, n[seen], spread)  # a rate stays below 1
            evidence = f"{k.sum():,.0f} {successes} of {n.sum():,.0f} {trials} in {int(seen.sum())} periods"
            out.append(Estimate(f"{p}.{rate}", prior, *post, evidence))
        # The CPM is the exponential curve's; a tactic's own curve is taken as given.
        if (
            t.exponential
            and t.cpm is not None
            and actuals.has("spend")
            and actuals.has("impressions")
        ):
            spend = np.nan_to_num(actuals.values["spend"][:, j])
            imps = np.nan_to_num(actuals.values["impressions"][:, j])
            i_sat = t.saturation_impressions
            ok = (spend > 0) & (imps > 0) & (imps < i_sat)
            if ok.any():
                # The CPM that makes the delivery curve give the impressions seen for the
                # money spent (saturation included), per period.
                cpm = -1000 * spend[ok] / (i_sat * np.log1p(-imps[ok] / i_sat))
                evidence = f"{spend[ok].sum():,.0f} spent for {imps[ok].sum():,.0f} impressions in {int(ok.sum())} periods"
                spread = _prior_spread(s, f"{p}.cpm")
                out.append(
                    Estimate(f"{p}.cpm", t.cpm, *_shrunk(t.cpm, cpm, spread=spread), evidence)
                )
    return out


def _prior_spread(s: Scenario, path: str) -> float:
    """The prior's relative sd (on the log scale): from the field's ``[uncertainty]`` range
    where it has one (its 5-95% interval), else PRIOR_RSD."""
    r = s.uncertainty.get(path)
    if r is None:
        return PRIOR_RSD
    from funnelopt.compiled import quantile
    from funnelopt.scenario import field_bounds

    low, high = (float(v) for v in quantile(r, [0.05, 0.95], field_bounds(path)))
    if not 0 < low < high:
        return PRIOR_RSD
    return math.log(high / low) / (2 * float(ndtri(0.95)))


def _shrunk(
    prior: float,
    seen: np.ndarray,
    cap: float = math.inf,
    trials: np.ndarray | None = None,
    spread: float = PRIOR_RSD,
) -> tuple[float, float, float]:
    """Posterior (value, low, high) of a positive rate on the log scale: a normal prior at
    the scenario's value with relative sd ``spread``, one observation per period with
    relative sd PERIOD_RSD (or the periods' own spread, when larger) plus, for a rate of
    successes in ``trials``, the binomial noise of a small week (1/successes)."""
    logs = np.log(seen)
    drift = float(np.std(logs, ddof=1)) if len(logs) >= 3 else 0.0
    per = np.full(len(logs), max(PERIOD_RSD, drift) ** 2)
    if trials is not None:
        per = per + 1.0 / np.maximum(seen * (trials + 1.0), 0.5)
    weights = 1.0 / per
    w_prior, w_data = 1 / spread**2, float(weights.sum())
    mean = (w_prior * math.log(prior) + float(weights @ logs)) / (w_prior + w_data)
    sd = 1 / math.sqrt(w_prior + w_data)
    z = float(ndtri((1 + LEVEL) / 2))
    return tuple(min(math.exp(mean + k * z * sd), cap) for k in (0, -1, 1))  # type: ignore[return-value]
