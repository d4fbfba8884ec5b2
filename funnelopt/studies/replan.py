"""Re-planning a running campaign from its actuals (issue 13): calibrate the rates the
actuals inform, fix the past to what happened, and re-optimise the rest.

Calibration: each rate's prior is the scenario's value, uncertain by its
``[uncertainty]`` range where it has one (the range's 5-95% interval) or else PRIOR_RSD; each
period with data is one observation of it, uncertain by PERIOD_RSD (rates drift from
week to week far more than their binomial counts say, so a million impressions are not a
million independent trials). The posterior is the precision-weighted mean on the log
scale, so two periods move a rate a little and ten a lot. CTR comes from clicks per
impression, the landing rate from visits per click, the conversion rate (the tactic's
own, else the site's) from conversions per visit, the follow and comment rates from new
followers and comments per impression, the AE rate from AE cases per comment (all rows of
a period), a community's organic reach rate from its organic impressions per post and per
follower counted the period before and its comment rate from comments per organic
impression, and the CPM is solved per period from spend and impressions on the tactic's
own delivery curve (saturation included). A period counts for a rate only where it
reports both of its counts. Each estimate carries its prior, posterior (the value used),
a 90% interval and the evidence.

The past: the actuals become the calibrated scenario's ``[history]`` (spend, the follower
stock, comments, AE cases, visits and conversions), which the simulator and the optimiser
keep as it happened.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.special import ndtri  # the normal quantile, without scipy.stats' import (~0.3 s)

from funnelopt.actuals import Actuals, ActualsError
from funnelopt.analysis.uncertainty import Forecast, forecast
from funnelopt.compiled import model_data
from funnelopt.errors import Problem
from funnelopt.metrics import STOCKS
from funnelopt.outcome import Outcome, _num
from funnelopt.plan import Plan
from funnelopt.scenario import (
    MAX_TRUNCATED,
    Community,
    Scenario,
    field_bounds,
    lognormal_outside,
)
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
#: What the plan-versus-actual table compares, per period.
VERSUS = ("spend", "impressions", "visits", "followers", "conversions")
#: Draws of the on-track forecasts (when the scenario has ranges).
DRAWS = 4_000


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
    #: With ``[uncertainty]`` ranges: the old plan continued and the new plan (its best
    #: effort when the goals are out of reach) over draws of the calibrated ranges.
    continued_forecast: Forecast | None = None
    forecast: Forecast | None = None

    def on_track(self) -> list[dict[str, Any]]:
        """Per goal: its target and deadline, and what the old plan continued and the new
        plan deliver by then (the value on the calibrated model, whether that meets the
        goal, and with ranges the probability that it does)."""
        # Goals out of reach: the new plan is the best effort within the limits.
        new = self.new_outcome
        s = self.scenario

        def chance(f: Forecast | None, i: int) -> float | None:
            return f.goals[i].probability if f is not None else None

        out = []
        for i, g in enumerate(s.goals):
            by = s.goal_period(g)
            out.append(
                {
                    "goal": f"{g.metric.value} >= {g.target:,.6g} by {s.period_label} {by}",
                    "metric": g.metric.value,
                    "target": g.target,
                    "by": by,
                    "hard": g.hard,
                    "continued": _num(self.continued.goals[i].achieved),
                    "continued_met": self.continued.goals[i].met,
                    "continued_probability": chance(self.continued_forecast, i),
                    "replanned": _num(new.goals[i].achieved) if new else None,
                    "replanned_met": new.goals[i].met if new else False,
                    "replanned_probability": chance(self.forecast, i),
                }
            )
        return out

    @property
    def new_outcome(self) -> Outcome | None:
        """The new plan's outcome; its best effort when the goals are out of reach."""
        effort = self.plan.best_effort
        return self.plan.outcome or (effort.outcome if effort is not None else None)

    def plan_vs_actual(self) -> dict[str, dict[str, list[float | None]]]:
        """Per metric of VERSUS, per period: ``planned`` (the original plan), ``actual``
        (the actuals' sum over the tactics that report it in the periods done; for
        followers the stock counted; None where nothing is reported) and ``replanned``
        (the new plan; in the periods done, the actual where reported, else the total the
        goals count there: the history's counts or the calibrated model).
        Spend, impressions, visits and conversions are the ads' own (community visits and
        conversions are not in an ad platform's export); followers are all accounts' (only
        with a community)."""
        s, done, a = self.scenario, self.periods_done, self.actuals

        def series(o: Outcome | None, metric: str) -> list[float | None]:
            if o is None:
                return [None] * s.periods
            v = o.per_period[metric] if metric in STOCKS else o.by_tactic[metric].sum(axis=1)
            return [_num(x) for x in v]

        out: dict[str, dict[str, list[float | None]]] = {}
        outcome = self.new_outcome
        for m in VERSUS:
            if m == "followers" and not s.communities:
                continue
            if m == "followers":
                # The stock where every account reports it (counted, or carried from
                # its gains); the history's modelled gap-fillers are no actuals.
                kept = s.history.followers if s.history is not None else {}
                seen: list[float | None] = [
                    float(sum(kept[c.id][t] for c in s.communities))
                    if all(_reported(a, k, t) for k in range(len(s.communities)))
                    else None
                    for t in range(done)
                ]
            elif m in a.values:
                v = a.values[m]
                seen = [
                    float(np.nansum(v[t])) if np.isfinite(v[t]).any() else None for t in range(done)
                ]
            else:
                seen = [None] * done
            new = series(outcome, m)
            # The periods done: what happened where reported, else the figure the goals
            # count (the history's counts, or the calibrated model), so sums agree with them.
            past = [_num(x) for x in outcome.per_period[m][:done]] if outcome else new[:done]
            out[m] = {
                "planned": series(self.original.outcome, m),
                "actual": seen + [None] * (s.periods - done),
                "replanned": [v if v is not None else x for v, x in zip(seen, past, strict=True)]
                + new[done:],
            }
        return out

    def not_calibrated(self) -> list[str]:
        """What the actuals report but re-planning does not learn from, in words: a fitted
        response curve (refit the model instead) and a tactic's own delivery curve (its
        impressions per spend are taken as given for the weeks ahead)."""
        out = []
        spend = self.actuals.values.get("spend")
        for j, t in enumerate(self.scenario.tactics):
            if spend is None or not np.isfinite(spend[:, j]).any():
                continue
            if t.response:
                out.append(
                    f"tactics.{t.id}: a fitted response curve is not recalibrated from the "
                    "results reported; refit the marketing-mix model and update its curve"
                )
            elif not t.exponential:
                out.append(
                    f"tactics.{t.id}: its own delivery curve is not recalibrated from the "
                    "impressions reported; the weeks ahead use the curve as given (update it "
                    "from the platform's current estimate)"
                )
        return out

    def to_dict(self) -> dict[str, Any]:
        """JSON-compatible dict with stable keys (the ``replan`` schema of the CLI)."""
        return {
            "schema_version": 1,
            "periods_done": self.periods_done,
            "period_label": self.scenario.period_label,
            "estimates": [e.to_dict() for e in self.estimates],
            "on_track": self.on_track(),
            "not_calibrated": self.not_calibrated(),
            "plan_vs_actual": self.plan_vs_actual(),
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
    done = actuals.periods_done
    updates |= _communities_run(scenario, original, actuals)
    if scenario.uncertainty:
        # Where the scenario has ranges, a calibrated rate is as uncertain as calibrated.
        updates |= {f"uncertainty.{e.path}": _posterior_range(e.path, e) for e in estimates}
    calibrated = scenario.with_overrides(updates) if updates else scenario
    spent = np.nan_to_num(actuals.values["spend"])
    outside: list[Problem] = []
    for j, tactic in enumerate(calibrated.tactics):
        first, last = calibrated.active_window(tactic)
        for t in np.flatnonzero(spent[:, j] > 0):
            if not first <= t + 1 <= last:
                where = f"{calibrated.period_label} {t + 1}, {tactic.id}"
                rule = f"was spent outside its window ({first}-{last}) in this plan"
                outside.append(Problem(f"actuals: {where}", float(spent[t, j]), rule))
    if outside:
        raise ActualsError(outside)
    # What happened becomes the scenario's history: the optimiser keeps it, the simulator
    # starts the rest from it.
    calibrated = _with_history(calibrated, actuals)
    plan = optimize(calibrated, **optimize_options)
    # The old plan continued: what happened, then the original spend from here on.
    old = (
        np.array(original.spend)
        if original.spend is not None
        else np.zeros((scenario.periods, len(scenario.tactics)))
    )
    # The communities as they ran (a community counted in the actuals runs).
    ran = {c.id: original.community.get(c.id, c.mode != "off") for c in calibrated.communities}
    ran |= {c.id: c.mode == "on" for c in calibrated.communities if c.mode != "auto"}
    continued = simulate(calibrated, old, ran or None)
    forecasts: tuple[Forecast | None, Forecast | None] = (None, None)
    if calibrated.uncertainty:
        effort = plan.best_effort
        new = plan if plan.spend is not None else effort
        forecasts = (
            forecast(calibrated, old, DRAWS, community=ran or None),
            forecast(calibrated, new.spend, DRAWS, community=new.community) if new else None,
        )
    return Replan(
        tuple(estimates), calibrated, done, plan, continued, original, actuals, *forecasts
    )


def _posterior_range(path: str, e: Estimate) -> dict[str, Any]:
    """The estimate as a range for forecasts: a lognormal with the posterior as its median
    and the interval's spread (on the log scale, as calibrated), or, for a rate whose
    lognormal would leave its allowed values, a beta with that mean and spread."""
    z = float(ndtri((1 + LEVEL) / 2))
    sd = math.log(e.posterior / e.low) / z
    p95 = e.posterior * math.exp(float(ndtri(0.95)) * sd)
    lo, _, hi, _ = field_bounds(path)
    if lognormal_outside(e.posterior, p95, lo, hi) <= MAX_TRUNCATED:
        return {"dist": "lognormal", "median": e.posterior, "p95": p95}
    m = e.posterior
    return {"dist": "beta", "mean": m, "sd": min(m * sd, 0.9 * math.sqrt(m * (1 - m)))}


def _with_history(s: Scenario, actuals: Actuals) -> Scenario:
    """``s`` with the actuals as its history: the spend and the impressions it bought;
    each community's follower stock
    (counted, or carried from the gains: the stock before, less churn, plus the gain); the
    comments, AE cases, visits and conversions of each period that reports any. A period
    between reports that reports nothing is filled with what the model gives from the
    history before it, so a later report carries on from there; sources a period does not
    report are modelled."""
    done = actuals.periods_done
    spent = np.nan_to_num(actuals.values["spend"])
    paths: dict[str, Any] = {
        f"history.spend.{tid}": [float(v) for v in spent[:, j]]
        for j, tid in enumerate(s.tactic_ids)
    }
    spend = np.zeros((s.periods, len(s.tactics)))
    spend[:done] = spent

    def model(paths: dict[str, Any]) -> Outcome:
        return simulate(s.with_overrides(paths), spend, checks=False)

    if "impressions" in actuals.values:
        # Each tactic's impressions up to its last report; a week it leaves empty is
        # what the spend buys on the calibrated curve.
        seen = actuals.values["impressions"]
        bought = model(paths).by_tactic["impressions"][:done]
        for j, tid in enumerate(s.tactic_ids):
            k = _last(np.isfinite(seen[:, j]))
            if k:
                kept = np.where(np.isfinite(seen[:k, j]), seen[:k, j], bought[:k, j])
                # A week without spend buys nothing in the model (a platform's stray
                # impressions on a zero budget are not kept).
                kept = np.where(spent[:k, j] > 0, kept, 0.0)
                paths[f"history.impressions.{tid}"] = [float(v) for v in kept]

    for k, c in enumerate(s.communities):
        stock, gained = actuals.counted("followers", k), actuals.counted("new_followers", k)
        counted: list[float] = []
        for t in range(_last(np.isfinite(stock) | np.isfinite(gained))):
            before = counted[-1] if counted else c.initial_followers
            if np.isfinite(stock[t]):
                counted.append(float(stock[t]))
            elif np.isfinite(gained[t]):
                counted.append((1 - c.churn) * before + float(gained[t]))
            else:
                path = f"history.followers.{c.id}"
                counted.append(float(model({**paths, path: counted}).per_period["followers"][t]))
        if counted:
            paths[f"history.followers.{c.id}"] = counted
    # Per period, the counts of every source (tactics, then communities); a source a
    # period does not report keeps its modelled count (communities' visits and
    # conversions are not in an ad platform's export). AE cases are the PV desk's count:
    # the rows' values add up.
    community_series = {"comments": "comments", "visits": "community_visits"}
    nothing = {
        "tactics": np.full((done, len(s.tactics)), np.nan),
        "communities": np.full((done, len(s.communities)), np.nan),
    }
    for name in ("comments", "ae_cases", "visits", "conversions"):
        by_tactic = actuals.values.get(name, nothing["tactics"])
        if name == "conversions" and "visits" in actuals.values:
            # A tactic's visits counted without its conversions: they convert at the
            # (calibrated) rate, not as the model's own visits would.
            cvr = model_data(s).cvr
            by_tactic = np.where(np.isfinite(by_tactic), by_tactic, actuals.values["visits"] * cvr)
        reported = np.hstack([by_tactic, actuals.communities.get(name, nothing["communities"])])
        given = np.isfinite(reported).any(axis=1)
        if not given.any():
            continue
        modelled = model(paths)
        if name == "ae_cases":
            totals = np.nansum(reported, axis=1)
        else:
            own = community_series.get(name, name)
            sources = np.hstack(
                [
                    modelled.by_tactic[name][:done],
                    *(modelled.by_community[c.id][own][:done, None] for c in s.communities),
                ]
            )
            totals = np.where(np.isfinite(reported), reported, sources).sum(axis=1)
        counts = np.where(given, totals, modelled.per_period[name][:done])
        paths[f"history.{name}"] = [float(v) for v in counts[: _last(given)]]
    return s.with_overrides(paths)


def _reported(a: Actuals, community: int, t: int) -> bool:
    """Whether the actuals give community ``community``'s stock or gain in period ``t``."""
    return any(np.isfinite(a.counted(n, community)[t]) for n in ("followers", "new_followers"))


def _last(given: np.ndarray) -> int:
    """The number of periods up to the last one given (0 when none is)."""
    hits = np.flatnonzero(given)
    return int(hits[-1]) + 1 if len(hits) else 0


def _communities_run(s: Scenario, original: Plan, actuals: Actuals) -> dict[str, Any]:
    """A community launched in the periods done keeps running (its set-up and content
    were paid): mode ``on`` where the original plan ran it, the actuals count it or its
    follower ads spent, else ``off`` (it did not run then, and a launch in the past cannot
    be made now)."""
    out: dict[str, Any] = {}
    for k, c in enumerate(s.communities):
        launch = original.launch.get(c.id, c.start if isinstance(c.start, int) else 1)
        if launch > actuals.periods_done or c.mode != "auto":
            continue
        counted = any(np.isfinite(v[:, k]).any() for v in actuals.communities.values())
        ads = [j for j, t in enumerate(s.tactics) if t.account == c.id]
        bought = actuals.has("spend") and bool(np.nansum(actuals.values["spend"][:, ads]) > 0)
        ran = original.community.get(c.id, False) or counted or bought
        out[f"communities.{c.id}.mode"] = "on" if ran else "off"
    return out


def calibrate(s: Scenario, actuals: Actuals) -> list[Estimate]:
    """The posterior of every rate the actuals inform (see the module docstring)."""
    out: list[Estimate] = []
    v = actuals.values
    nan = np.full(actuals.periods_done, np.nan)
    pooled: list[tuple[np.ndarray, np.ndarray]] = []  # the site's conversions: visits, conv
    for j, t in enumerate(s.tactics):
        if t.response:
            continue  # a fitted model's curve gives conversions: it has no funnel rates
        p = f"tactics.{t.id}"
        for rate, trials, successes in (
            ("ctr", "impressions", "clicks"),
            ("landing_rate", "clicks", "visits"),
            ("conversion_rate", "visits", "conversions"),
            ("follow_rate", "impressions", "new_followers"),
            ("comment_rate", "impressions", "comments"),
        ):
            n = v[trials][:, j] if trials in v else nan
            k = v[successes][:, j] if successes in v else nan
            if rate == "conversion_rate" and t.conversion_rate is None:
                both = np.isfinite(n) & np.isfinite(k)  # no rate of its own: the site's
                pooled.append((np.where(both, n, np.nan), np.where(both, k, np.nan)))
                continue
            e = _rate(s, f"{p}.{rate}", float(getattr(t, rate)), n, k, (trials, successes))
            out += [e] if e is not None else []
        # The CPM is the exponential curve's; a tactic's own curve is taken as given.
        if (
            t.exponential
            and t.cpm is not None
            and actuals.has("spend")
            and actuals.has("impressions")
        ):
            spend = np.nan_to_num(v["spend"][:, j])
            imps = np.nan_to_num(v["impressions"][:, j])
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
    if pooled:
        n, k = (_period_sums([pair[i] for pair in pooled]) for i in (0, 1))
        e = _rate(
            s, "site.conversion_rate", s.site.conversion_rate, n, k, ("visits", "conversions")
        )
        out += [e] if e is not None else []
    if s.adverse_events is not None:
        # The AE rate per comment: all comments and AE cases reported in a period.
        per_row = {
            name: [m[:, i] for m in (v.get(name), actuals.communities.get(name)) if m is not None
                   for i in range(m.shape[1])]
            for name in ("comments", "ae_cases")
        }  # fmt: skip
        if per_row["comments"] and per_row["ae_cases"]:
            n, k = _period_sums(per_row["comments"]), _period_sums(per_row["ae_cases"])
            path, prior = "adverse_events.rate", s.adverse_events.rate
            e = _rate(s, path, prior, n, k, ("comments", "ae_cases"))
            out += [e] if e is not None else []
    for i, c in enumerate(s.communities):
        out += _organic(s, actuals, i, c)
    return out


def _organic(s: Scenario, actuals: Actuals, k: int, c: Community) -> list[Estimate]:
    """A community's organic rates from its rows: the organic reach rate from organic
    impressions per post and per follower counted the period before (the first period:
    the initial followers), the comment rate from comments per organic impression."""
    p = f"communities.{c.id}"
    seen_oi = actuals.counted("organic_impressions", k)
    out: list[Estimate] = []
    before = np.r_[c.initial_followers, actuals.counted("followers", k)[:-1]]
    ok = np.isfinite(seen_oi) & (np.nan_to_num(seen_oi) > 0) & (np.nan_to_num(before) > 0)
    if ok.any() and c.posts_per_period > 0 and c.organic_reach_rate > 0:
        per = seen_oi[ok] / (c.posts_per_period * before[ok])
        spread = _prior_spread(s, f"{p}.organic_reach_rate")
        hi = field_bounds(f"{p}.organic_reach_rate")[2]
        post = _shrunk(c.organic_reach_rate, per, hi, spread=spread)
        evidence = (
            f"{seen_oi[ok].sum():,.0f} organic_impressions from {c.posts_per_period:g} posts "
            f"to the followers counted in {int(ok.sum())} periods"
        )
        out.append(Estimate(f"{p}.organic_reach_rate", c.organic_reach_rate, *post, evidence))
    comments = actuals.counted("comments", k)
    e = _rate(
        s,
        f"{p}.comment_rate",
        c.comment_rate,
        seen_oi,
        comments,
        ("organic_impressions", "comments"),
    )
    return out + ([e] if e is not None else [])


def _period_sums(columns: list[np.ndarray]) -> np.ndarray:
    """Per period, the sum of the columns that report it (NaN where none does)."""
    stacked = np.column_stack(columns)
    return np.where(np.isfinite(stacked).any(axis=1), np.nansum(stacked, axis=1), np.nan)


def _rate(
    s: Scenario,
    path: str,
    prior: float,
    n: np.ndarray,
    k: np.ndarray,
    names: tuple[str, str],
) -> Estimate | None:
    """The posterior of a rate of successes ``k`` in trials ``n`` per period (periods that
    report both, with trials); None without any, or for a prior of 0 or 1 (switched off)."""
    seen = np.isfinite(n) & np.isfinite(k) & (np.nan_to_num(n) > 0)
    if not seen.any() or not 0 < prior < 1:
        return None
    n, k = n[seen], k[seen]
    # Half a success and one trial more: a week without clicks still counts (it says the
    # rate is low) and a log stays finite. Weeks are weighted alike only when their counts
    # say more than the drift between weeks (see _shrunk).
    rates = (k + 0.5) / (n + 1.0)
    post = _shrunk(prior, rates, 1 - 1e-6, n, _prior_spread(s, path))  # a rate stays below 1
    trials, successes = names
    evidence = f"{k.sum():,.0f} {successes} of {n.sum():,.0f} {trials} in {len(n)} periods"
    return Estimate(path, prior, *post, evidence)


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
