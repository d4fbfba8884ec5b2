"""The exact forward model: a spend plan in, every metric out (design section 2).

The simulator is the truth of the model. The optimiser approximates it and every plan it
returns is re-simulated here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from funnelopt import curves
from funnelopt.compiled import ModelData, model_data
from funnelopt.errors import Problem, ScenarioError
from funnelopt.metrics import STOCKS
from funnelopt.outcome import FloatArray, GoalResult, Outcome
from funnelopt.scenario import History, Metric, Scenario

#: Relative slack allowed when checking caps, so solver round-off is not a violation.
REL_TOL = 1e-6

SpendInput = FloatArray | Sequence[Sequence[float]] | Mapping[str, Sequence[float]]


# -- curves (shared with the formulation, which approximates them) ----------------------


def delivery(
    spend: Any,
    saturation_impressions: Any,
    saturation_spend: Any,
    shape: curves.Shape = "exponential",
) -> FloatArray:
    """Impressions bought by ``spend``: ``I_sat * (1 - exp(-s / sigma))`` (design 2.1), or
    ``I_sat * f(s / sigma)`` for a tactic's own curve ``f`` (docs/curves.md)."""
    return curves.saturating(spend, saturation_impressions, saturation_spend, shape)


def tactic_delivery(
    spend: FloatArray, i_sat: FloatArray, sigma: FloatArray, shapes: Sequence[curves.Shape]
) -> FloatArray:
    """Impressions per tactic (last axis) of every tactic's delivery curve: the
    exponential ones at once, the others column by column."""
    out = delivery(spend, i_sat, sigma)
    for j, shape in enumerate(shapes):
        if shape != "exponential":
            out[..., j] = delivery(spend[..., j], i_sat[..., j], sigma[..., j], shape)
    return out


def reach_curve(impressions: Any, size: Any, kind: str) -> FloatArray:
    """Unique people reached in a group of ``size`` by ``impressions`` (design 2.2).

    ``exponential``: random duplication, ``size * (1 - exp(-P / size))``.
    ``hyperbolic``: the more conservative ``size * P / (P + size)``.
    """
    return curves.saturating(impressions, size, size, kind)


# -- the simulator ----------------------------------------------------------------------


def simulate(
    scenario: Scenario,
    spend: SpendInput,
    community: Mapping[str, bool] | None = None,
    *,
    checks: bool = True,
) -> Outcome:
    """Simulate a spend plan exactly.

    Parameters
    ----------
    scenario
        The campaign.
    spend
        Spend per period and tactic: a ``periods x tactics`` array (columns in
        ``scenario.tactics`` order) or a mapping ``tactic id -> per-period list``
        (missing tactics spend nothing).
    community
        Account id -> whether the community runs. Default: on unless its mode is ``off``.
    checks
        Check caps and capacities (``violations``) and compute the Poisson percentiles of
        AE cases. ``False`` skips both, for fast repeated what-ifs.

    Examples
    --------
    >>> from funnelopt import Scenario, simulate
    >>> s = Scenario.from_file("examples/traffic_only.toml")
    >>> out = simulate(s, {s.tactics[0].id: [1000.0] * s.periods})
    >>> out.totals["spend"] == 1000.0 * s.periods
    True
    """
    s = scenario
    x, y = checked_plan(s, spend, community)
    n_t, _ = x.shape
    flows, by_tactic, by_community = forward(s, model_data(s), x, y)
    per_period: dict[str, FloatArray] = {}
    for k, v in flows.items():
        per_period[k] = v
        if k == "ae_cases":
            per_period["ae_cases_p95"] = poisson_p95(v) if checks else np.full(n_t, np.nan)
    totals = {k: float(campaign_total(k, v)) for k, v in per_period.items()}
    # A Poisson total's p95 is that of the summed mean, not the sum of weekly p95s.
    totals["ae_cases_p95"] = (
        float(poisson_p95(np.array([totals["ae_cases"]]))[0]) if checks else float("nan")
    )

    capacity = _capacity(s, per_period["webcare_hours"], per_period["ae_cases"])
    goals = tuple(evaluate_goals(s, per_period))
    return Outcome(
        scenario_name=s.name,
        period_label=s.period_label,
        currency=s.currency,
        tactic_ids=tuple(s.tactic_ids),
        community=dict(y),
        per_period=per_period,
        totals=totals,
        by_tactic=by_tactic,
        by_community=by_community,
        kpis=_kpis(totals),
        goals=goals,
        capacity=capacity,
        violations=tuple(violations(s, x, per_period, y)) if checks else (),
    )


def forward(
    s: Scenario, arr: ModelData, x: FloatArray, y: Mapping[str, bool]
) -> tuple[dict[str, FloatArray], dict[str, FloatArray], dict[str, dict[str, FloatArray]]]:
    """The model's flows per period: per metric, per tactic and per community.

    ``arr`` is :func:`~funnelopt.compiled.model_data` (arrays ``(..., T)`` come out, one
    period axis last) or :func:`~funnelopt.compiled.sampled_data` (``(S, T)``: the same
    arithmetic over a leading sample axis, no loop per draw). Per-tactic arrays end in
    ``(T, J)``. Without ``ae_cases_p95``, which :func:`simulate` adds.
    """

    def per_tactic(a: FloatArray) -> FloatArray:  # (..., J) -> (..., 1, J)
        return a[..., None, :]

    def per_period(a: FloatArray) -> FloatArray:  # (...) -> (..., 1)
        return np.asarray(a)[..., None]

    impressions = tactic_delivery(x, per_tactic(arr.i_sat), per_tactic(arr.sigma), arr.shapes)
    if s.history is not None and s.history.impressions:
        # Impressions counted (the history): everything downstream follows from them.
        counted = history_impressions(s)
        impressions = np.where(np.isnan(counted), impressions, np.nan_to_num(counted))
    clicks_j = impressions * per_tactic(arr.ctr)
    visits_j = clicks_j * per_tactic(arr.landing)
    conv_j = visits_j * per_tactic(arr.cvr)
    for r in arr.response:  # a fitted model's channel: conversions straight from spend
        conv_j[..., r.j] = r.conversions(x[..., r.j])
    newf_j = impressions * per_tactic(arr.follow)
    comments_j = impressions * per_tactic(arr.comment)

    # Awareness: cumulative unique reach of all paid impressions (design 2.2).
    # Tactics sharing an audience draw on one pool, so their impressions are pooled first.
    cum_j = np.cumsum(impressions, axis=-2)
    cum_a = cum_j @ arr.audience_member
    population = per_period(arr.population)
    reach = np.minimum(
        reach_curve(cum_j.sum(axis=-1), population, s.reach_curve),
        reach_curve(cum_a, per_tactic(arr.audience_pool), s.reach_curve).sum(axis=-1),
    )

    # Communities (design 2.3).
    comm, by_community = _communities(s, arr, y, newf_j)
    organic, org_clicks = comm["organic_impressions"], comm["clicks"]
    comm_visits, comm_conv = comm["community_visits"], comm["conversions"]
    engagements, followers = comm["engagements"], comm["followers"]
    new_followers, org_comments = comm["new_followers"], comm["comments"]
    base_hours, cost_community = comm["base_hours"], comm["cost_community"]

    # Webcare and adverse events (design 2.5); counted ones where the history has them.
    comments = comments_j.sum(axis=-1) + org_comments
    ae_cases = per_period(arr.ae_rate) * comments
    if s.history is not None:
        comments, ae_cases = _counted_loads(s.history, comments, ae_cases, arr.ae_rate)
    webcare_hours = (
        base_hours
        + comments * per_period(arr.minutes_per_comment) / 60.0
        + ae_cases * per_period(arr.minutes_per_case) / 60.0
    )

    # Costs (design 2.6).
    cost_media = x.sum(axis=-1) + np.zeros_like(comments)  # (..., T) like every flow
    cost_webcare = per_period(arr.hourly_rate) * webcare_hours
    cost_ae = per_period(arr.cost_per_case) * ae_cases
    cost_total = cost_media + cost_community + cost_webcare + cost_ae

    ad_visits = visits_j.sum(axis=-1)
    valid, serious = per_period(arr.valid_share), per_period(arr.serious_share)
    flows: dict[str, FloatArray] = {
        "spend": cost_media,
        "impressions": impressions.sum(axis=-1),
        "organic_impressions": organic,
        "reach": reach,
        "reach_share": reach / population,
        "clicks": clicks_j.sum(axis=-1) + org_clicks,
        "ad_visits": ad_visits,
        "community_visits": comm_visits,
        "visits": ad_visits + comm_visits,
        "engagements": engagements,
        "new_followers": new_followers,
        "followers": followers,
        "comments": comments,
        "webcare_hours": webcare_hours,
        "ae_cases": ae_cases,
        "valid_icsrs": ae_cases * valid,
        "serious_icsrs": ae_cases * (valid * serious),
        "conversions": conv_j.sum(axis=-1) + comm_conv,
        "cost_media": cost_media,
        "cost_community": cost_community,
        "cost_webcare": cost_webcare,
        "cost_ae": cost_ae,
        "cost_total": cost_total,
    }
    if s.history is not None:
        # Visits and conversions counted (the history): goals on them count what happened.
        for name in ("visits", "conversions"):
            counted = getattr(s.history, name)
            if counted:
                flows[name] = flows[name].copy()
                flows[name][..., : len(counted)] = counted
    by_tactic = {
        "spend": x,
        "impressions": impressions,
        "clicks": clicks_j,
        "visits": visits_j,
        "conversions": conv_j,
        "new_followers": newf_j,
        "comments": comments_j,
    }
    return flows, by_tactic, by_community


def _counted_loads(
    h: History, comments: FloatArray, ae_cases: FloatArray, ae_rate: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """Comments and AE cases with the history's counts in the periods it gives them (AE
    cases at the rate per counted comment where only comments were counted)."""
    comments, ae_cases = comments.copy(), ae_cases.copy()
    k = len(h.comments)
    if k:
        comments[..., :k] = h.comments
        ae_cases[..., :k] = np.asarray(ae_rate)[..., None] * comments[..., :k]
    if h.ae_cases:
        ae_cases[..., : len(h.ae_cases)] = h.ae_cases
    return comments, ae_cases


def history_impressions(s: Scenario) -> FloatArray:
    """The history's impressions counted, ``periods x tactics`` (NaN: not counted)."""
    out = np.full((s.periods, len(s.tactics)), np.nan)
    if s.history is not None:
        for j, t in enumerate(s.tactics):
            counted = s.history.impressions.get(t.id, [])
            out[: len(counted), j] = counted
    return out


def history_spend(s: Scenario) -> FloatArray:
    """The history's spend, ``periods_done x tactics`` (a tactic not given spent 0)."""
    out = np.zeros((s.periods_done, len(s.tactics)))
    if s.history is not None:
        for j, t in enumerate(s.tactics):
            if t.id in s.history.spend:
                out[:, j] = s.history.spend[t.id]
    return out


def _communities(
    s: Scenario, arr: ModelData, y: Mapping[str, bool], newf_j: FloatArray
) -> tuple[dict[str, FloatArray], dict[str, dict[str, FloatArray]]]:
    """The communities' flows per period (design 2.3): summed over communities (with every
    tactic's paid new followers in ``new_followers``), and per community. Arrays are
    ``(..., T)``; the loop runs over communities and periods, never over draws."""
    shape = newf_j.shape[:-1]
    n_t = shape[-1]
    names = (
        "organic_impressions",
        "clicks",
        "community_visits",
        "conversions",
        "engagements",
        "followers",
        "comments",
        "base_hours",
        "cost_community",
    )
    sums = {k: np.zeros(shape) for k in names}
    sums["new_followers"] = newf_j.sum(axis=-1)
    by_community: dict[str, dict[str, FloatArray]] = {}
    for k, c in enumerate(s.communities):
        p = {name: np.asarray(v)[..., k, None] for name, v in arr.community.items()}  # (..., 1)
        # Running: switched on, and between its launch and its last period.
        first, last = s.community_window(c)
        on = np.zeros(n_t)
        on[first - 1 : last] = 1.0 if y[c.id] else 0.0
        cols = [j for j, t in enumerate(s.tactics) if t.account == c.id]
        paid_new = newf_j[..., cols].sum(axis=-1)
        f = np.empty(shape)
        oi = np.empty(shape)
        prev = p["initial_followers"][..., 0]
        opf, churn, viral_rate = (
            p["organic_per_follower"][..., 0],
            p["churn"][..., 0],
            p["viral_follow_rate"][..., 0],
        )
        # Periods whose followers were counted (the history) hold the count: the
        # periods after them grow from it.
        counted = s.history.followers.get(c.id, []) if s.history is not None else []
        for t in range(n_t):
            oi[..., t] = on[t] * opf * prev
            prev = (1.0 - churn) * prev + paid_new[..., t] + viral_rate * oi[..., t]
            if t < len(counted):
                prev = np.zeros_like(prev) + counted[t]
            f[..., t] = prev
        viral = p["viral_follow_rate"] * oi
        clicks_c = p["organic_ctr"] * oi
        visits_c = p["landing_rate"] * clicks_c
        eng_c = p["engagement_rate"] * oi
        comments_c = p["comment_rate"] * oi
        cost_c = np.zeros(shape) + on * p["content_cost_per_post"] * p["posts_per_period"]
        cost_c[..., first - 1] += on[first - 1] * p["setup_cost"][..., 0]
        sums["organic_impressions"] += oi
        sums["clicks"] += clicks_c
        sums["community_visits"] += visits_c
        sums["conversions"] += p["conversion_rate"] * visits_c
        sums["engagements"] += eng_c
        sums["followers"] += f
        sums["new_followers"] = sums["new_followers"] + viral
        sums["comments"] += comments_c
        sums["base_hours"] = sums["base_hours"] + on * p["base_hours"]
        sums["cost_community"] += cost_c
        by_community[c.id] = {
            "followers": f,
            "new_followers": paid_new + viral,
            "viral_followers": viral,
            "organic_impressions": oi,
            "engagements": eng_c,
            "clicks": clicks_c,
            "community_visits": visits_c,
            "conversions": p["conversion_rate"] * visits_c,
            "comments": comments_c,
            "cost_community": cost_c,
        }
    return sums, by_community


def checked_plan(
    s: Scenario, spend: SpendInput, community: Mapping[str, bool] | None
) -> tuple[FloatArray, dict[str, bool]]:
    """The spend matrix and the community switch, checked together: a community tactic
    spends nothing while its community is off. The periods of the scenario's history
    spend what they spent, whatever the plan says for them."""
    x = spend_matrix(s, spend)
    if s.periods_done:
        x[: s.periods_done] = history_spend(s)
    y = community_switch(s, community)
    problems = [
        Problem(f"spend.{t.id}", float(x[:, j].sum()), f"community {t.account} is off: must be 0")
        for j, t in enumerate(s.tactics)
        if t.kind == "community" and t.account is not None and not y[t.account] and x[:, j].any()
    ]
    if problems:
        raise ScenarioError(problems)
    return x, y


def campaign_total(metric: str, series: FloatArray) -> FloatArray:
    """A metric over the campaign, from its ``(..., T)`` series: a stock's final value,
    a flow's sum."""
    total: FloatArray = series[..., -1] if metric in STOCKS else series.sum(axis=-1)
    return total


def spend_matrix(scenario: Scenario, spend: SpendInput) -> FloatArray:
    """Validate a spend plan and return it as a ``periods x tactics`` float array."""
    s = scenario
    shape = (s.periods, len(s.tactics))
    if isinstance(spend, Mapping):
        x = np.zeros(shape)
        problems: list[Problem] = []
        ids = s.tactic_ids
        for key, values in spend.items():
            if key not in ids:
                problems.append(
                    Problem(f"spend.{key}", key, f"is not a tactic id ({', '.join(ids)})")
                )
                continue
            row = np.asarray(values, dtype=float).ravel()
            if row.shape[0] != s.periods:
                problems.append(
                    Problem(
                        f"spend.{key}",
                        f"{row.shape[0]} values",
                        f"needs {s.periods} (one per period)",
                    )
                )
                continue
            x[:, ids.index(key)] = row
        if problems:
            raise ScenarioError(problems)
    else:
        x = np.array(spend, dtype=float)
        if x.shape != shape:
            raise ScenarioError(
                [Problem("spend", f"shape {x.shape}", f"must be periods x tactics = {shape}")]
            )
    bad = [
        Problem(f"spend.{s.tactics[j].id}[{t + 1}]", float(x[t, j]), "must be a finite number >= 0")
        for t, j in zip(*np.nonzero(~np.isfinite(x) | (x < 0)), strict=True)
    ]
    if bad:
        raise ScenarioError(bad[:20])
    return x


def community_switch(scenario: Scenario, community: Mapping[str, bool] | None) -> dict[str, bool]:
    """Resolve the community on/off switch: given values, else on unless mode is off."""
    given = dict(community or {})
    problems = [
        Problem(f"community.{k}", v, f"is not a community id ({', '.join(scenario.community_ids)})")
        for k, v in given.items()
        if k not in scenario.community_ids
    ]
    y: dict[str, bool] = {}
    for c in scenario.communities:
        on = bool(given.get(c.id, c.mode != "off"))
        if on and c.mode == "off":
            problems.append(Problem(f"community.{c.id}", True, "its mode is off: it cannot run"))
        if not on and c.mode == "on":
            problems.append(Problem(f"community.{c.id}", False, "its mode is on: it must run"))
        y[c.id] = on
    if problems:
        raise ScenarioError(problems)
    return y


def goal_value(
    scenario: Scenario, per_period: Mapping[str, FloatArray], metric: Metric, by: int
) -> float:
    """A goal metric through 1-based period ``by``: cumulative for flows, the stock for stocks."""
    return float(goal_values(per_period, metric, by))


def goal_values(per_period: Mapping[str, FloatArray], metric: Metric, by: int) -> FloatArray:
    """:func:`goal_value` over any leading axes (one value per draw for ``(S, T)`` series)."""
    series = per_period[metric.value]
    value: FloatArray = (
        series[..., by - 1] if metric.value in STOCKS else series[..., :by].sum(axis=-1)
    )
    return value


def goal_met(target: float, achieved: Any) -> Any:
    """Whether a goal is met: short by at most the round-off slack (elementwise)."""
    return np.maximum(0.0, target - achieved) <= REL_TOL * target


def evaluate_goals(scenario: Scenario, per_period: Mapping[str, FloatArray]) -> list[GoalResult]:
    """Attainment of every goal of the scenario."""
    out = []
    for g in scenario.goals:
        by = scenario.goal_period(g)
        achieved = goal_value(scenario, per_period, g.metric, by)
        shortfall = max(0.0, g.target - achieved)
        out.append(
            GoalResult(
                metric=g.metric.value,
                target=g.target,
                by=by,
                hard=g.hard,
                weight=g.weight,
                phase=g.phase,
                achieved=achieved,
                met=bool(goal_met(g.target, achieved)),
                shortfall=shortfall,
            )
        )
    return out


def poisson_p95(mean: FloatArray) -> FloatArray:
    """95th percentile of a Poisson count with the given mean (what PV teams staff for)."""
    from scipy.special import pdtr  # Poisson CDF; imported here to keep `import funnelopt` fast

    mu = np.asarray(mean, dtype=float)
    out = np.zeros_like(mu)
    for i, m in np.ndenumerate(mu):
        if m <= 0:
            continue
        k = max(0.0, np.floor(m + 1.645 * np.sqrt(m)) - 3)
        while pdtr(k, m) < 0.95:
            k += 1
        out[i] = k
    return out


def _kpis(totals: Mapping[str, float]) -> dict[str, float | None]:
    def ratio(a: str, b: str) -> float | None:
        return totals[a] / totals[b] if totals[b] > 0 else None

    return {
        "cost_per_conversion": ratio("cost_total", "conversions"),
        "cost_per_visit": ratio("cost_total", "visits"),
        "cost_per_person_reached": ratio("cost_total", "reach"),
        "media_per_conversion": ratio("cost_media", "conversions"),
        "cost_per_follower": ratio("cost_total", "followers"),
    }


def _capacity(
    scenario: Scenario, hours: FloatArray, cases: FloatArray
) -> dict[str, dict[str, float | None]]:
    wc, ae = scenario.webcare, scenario.adverse_events
    cap_h = wc.capacity_hours if wc is not None else None
    cap_c = ae.capacity if ae is not None else None
    return {
        "webcare_hours": {
            "capacity": cap_h,
            "peak": float(hours.max(initial=0.0)),
            "peak_use": float(hours.max(initial=0.0) / cap_h) if cap_h else None,
        },
        "ae_cases": {
            "capacity": cap_c,
            "peak": float(cases.max(initial=0.0)),
            "peak_use": float(cases.max(initial=0.0) / cap_c) if cap_c else None,
        },
    }


def violations(
    scenario: Scenario,
    x: FloatArray,
    per_period: Mapping[str, FloatArray],
    community: Mapping[str, bool] | None = None,
) -> list[str]:
    """Every budget, cap, window and capacity the plan breaks, in words.

    Floors of follower-ad tactics apply only while their community runs.
    """
    s, b = scenario, scenario.budget
    out: list[str] = []
    label = s.period_label

    cost = float(per_period["cost_total"].sum())
    media = float(per_period["cost_media"].sum())
    if b.total is not None and exceeds(cost, b.total):
        out.append(f"budget.total: total cost {cost:,.2f} exceeds {b.total:,.2f}")
    if b.media is not None and exceeds(media, b.media):
        out.append(f"budget.media: media spend {media:,.2f} exceeds {b.media:,.2f}")
    m = per_period["cost_media"]
    # Per-period limits hold from the first period not yet done (the history's periods
    # happened as they did); totals and budgets count every period.
    ahead = np.arange(1, len(m) + 1) > s.periods_done
    if b.period_max is not None:
        out += _breaches(
            "budget.period_max",
            label,
            m,
            ahead & exceeds(m, b.period_max),
            "spends",
            ">",
            b.period_max,
        )
    out += _breaches(
        "budget.period_min",
        label,
        m,
        ahead & falls_short(m, b.period_min),
        "spends",
        "<",
        b.period_min,
    )
    # Per-cell checks as arrays (one pass for every tactic); words only for the breaches.
    on = dict(community or {})
    tac = s.tactics
    n_t = x.shape[0]
    period = np.arange(1, n_t + 1)[:, None]
    first = np.array([s.active_window(t)[0] for t in tac])
    last = np.array([s.active_window(t)[1] for t in tac])
    active = (period >= first) & (period <= last)
    floors = np.array([t.account is None or on.get(t.account, True) for t in tac])
    min_spend = np.array([t.min_spend for t in tac])
    max_spend = np.array([t.max_spend if t.max_spend is not None else np.inf for t in tac])
    min_active = np.array([t.min_spend_if_active for t in tac])
    future = ahead[:, None]
    outside = future & ~active & (x > REL_TOL)
    low = future & active & floors & falls_short(x, min_spend)
    high = future & exceeds(x, max_spend)
    between = future & (x > REL_TOL) & falls_short(x, min_active)
    for j in map(int, np.flatnonzero((outside | low | high | between).any(axis=0))):
        f, col = f"tactics.{tac[j].id}", x[:, j]
        if outside[:, j].any():
            when = _periods(label, np.flatnonzero(outside[:, j]) + 1)
            out.append(
                f"{f}: spends {col[outside[:, j]].sum():,.2f} in {when}, outside its window {first[j]}-{last[j]}"
            )
        out += _breaches(f"{f}.min_spend", label, col, low[:, j], "spends", "<", min_spend[j])
        out += _breaches(f"{f}.max_spend", label, col, high[:, j], "spends", ">", max_spend[j])
        out += _breaches(
            f"{f}.min_spend_if_active",
            label,
            col,
            between[:, j],
            "spends",
            "<",
            min_active[j],
            tail=f", neither 0 nor >= {min_active[j]:,.2f}",
        )
    totals = x.sum(axis=0)
    for j, t_j in enumerate(tac):
        total = float(totals[j])
        if floors[j] and falls_short(total, t_j.min_total):
            out.append(f"tactics.{t_j.id}.min_total: spends {total:,.2f} < {t_j.min_total:,.2f}")
        if t_j.max_total is not None and exceeds(total, t_j.max_total):
            out.append(f"tactics.{t_j.id}.max_total: spends {total:,.2f} > {t_j.max_total:,.2f}")
    wc, ae = s.webcare, s.adverse_events
    capacities = (
        (
            "webcare.capacity_hours",
            "webcare_hours",
            wc.capacity_hours if wc else None,
            "needs",
            " h",
        ),
        ("adverse_events.capacity", "ae_cases", ae.capacity if ae else None, "has", " cases"),
    )
    for name, key, cap, verb, unit in capacities:
        if cap is not None:
            y = per_period[key]
            out += _breaches(name, label, y, ahead & exceeds(y, cap), verb, ">", cap, unit=unit)
    return out


def exceeds(value: Any, cap: Any) -> Any:
    """``value`` above ``cap`` beyond solver round-off (elementwise for arrays)."""
    return value > cap * (1 + REL_TOL) + REL_TOL


def falls_short(value: Any, floor: Any) -> Any:
    """``value`` below ``floor`` beyond solver round-off (elementwise for arrays)."""
    return value < floor * (1 - REL_TOL) - REL_TOL


def _periods(label: str, periods: Sequence[int] | NDArray[np.intp]) -> str:
    """``week 3``, or runs of consecutive periods: ``weeks 3-9, 12``."""
    ps = [int(p) for p in periods]
    runs: list[list[int]] = []
    for p in ps:
        if runs and p == runs[-1][-1] + 1:
            runs[-1].append(p)
        else:
            runs.append([p])
    text = ", ".join(f"{r[0]}-{r[-1]}" if len(r) > 1 else f"{r[0]}" for r in runs)
    return f"{label} {text}" if len(ps) == 1 else f"{label}s {text}"


def _breaches(
    field: str,
    label: str,
    values: FloatArray,
    broken: NDArray[np.bool_],
    verb: str,
    op: str,
    limit: float,
    *,
    unit: str = "",
    tail: str | None = None,
) -> list[str]:
    """One line per limit, however many periods break it (runs grouped: weeks 3-9).

    ``verb`` is the singular ("spends"); ``op`` is ">" for a cap, "<" for a floor;
    ``tail`` replaces the default " > limit" ending.
    """
    idx = np.flatnonzero(broken)
    if idx.size == 0:
        return []
    v = values[idx]
    end = tail if tail is not None else f" {op} {limit:,.2f}{unit}"
    if idx.size == 1:
        return [f"{field}: {label} {idx[0] + 1} {verb} {v[0]:,.2f}{unit}{end}"]
    worst = f"up to {v.max():,.2f}" if op == ">" else f"as little as {v.min():,.2f}"
    return [f"{field}: {_periods(label, idx + 1)} {_PLURAL[verb]} {worst}{unit}{end}"]


_PLURAL = {"spends": "spend", "needs": "need", "has": "have"}
