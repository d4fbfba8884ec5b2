"""An independent solve of the exact model, for checking the optimiser (tests only).

The exact model is convex in impression space: spend is ``-sigma * log(1 - I / I_sat)``
(convex), every other flow is linear in impressions once the community switches are
fixed, and reach is concave in cumulative impressions. So the true optimum of a
scenario is one conic programme per community on/off choice, solved here with cvxpy and
an exponential-cone solver. Nothing of funnelopt's formulation is used: only the
scenario's fields and the simulator's formulas as documented in docs/model.md.

Semicontinuous spend (``min_spend_if_active``) is not convex; such scenarios are not
covered (``exact_optimum`` returns None).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import cvxpy as cp
import numpy as np

from funnelopt import Scenario
from funnelopt.compiled import model_data

#: Past this many saturation spends the optimiser treats a curve as flat; so does this.
SATURATED = 40.0


@dataclass(frozen=True)
class Exact:
    """The exact model's optimum: objective in the scenario's own sense and units."""

    status: str  # "optimal" | "infeasible"
    objective: float | None
    spend: np.ndarray | None
    community: dict[str, bool]


def exact_optimum(s: Scenario, solver: str = "CLARABEL") -> Exact | None:
    """The exact optimum over every community choice (None: not decided by a convex solve)."""
    if any(t.min_spend_if_active > 0 for t in s.tactics):
        return None
    choices = [
        dict(zip([c.id for c in s.communities], on, strict=True))
        for on in itertools.product(
            *[(True, False) if c.mode == "auto" else ((c.mode == "on"),) for c in s.communities]
        )
    ]
    best: Exact | None = None
    minimize = s.objective.kind == "minimize"
    for choice in choices:
        r = _solve(s, choice, solver)
        if r.status == "undecided":
            return None
        if r.status != "optimal" or r.objective is None:
            continue
        if best is None or (
            r.objective < best.objective if minimize else r.objective > best.objective
        ):  # type: ignore[operator]
            best = r
    return best or Exact("infeasible", None, None, {})


def _reach(p: cp.Expression, size: float, kind: str) -> cp.Expression:
    # In shares of the group (well scaled), times its size.
    if kind == "hyperbolic":
        return size * (1 - cp.inv_pos(1 + p / size))
    return size * (1 - cp.exp(-p / size))


def _solve(s: Scenario, on: dict[str, bool], solver: str) -> Exact:
    arr = model_data(s)
    n_t, n_j = s.periods, len(s.tactics)
    i_sat, sigma = arr.i_sat, arr.sigma
    budget = s.budget
    # Per-cell upper spend: the tactic cap, and the flat part of the curve.
    active = np.zeros((n_t, n_j), dtype=bool)
    upper = np.zeros((n_t, n_j))
    floor = np.zeros((n_t, n_j))
    for j, t in enumerate(s.tactics):
        first, last = s.active_window(t)
        runs = t.account is None or on.get(t.account, True)
        if not runs:
            continue
        active[first - 1 : last, j] = True
        caps = [
            v
            for v in (t.max_spend, t.max_total, budget.media, budget.total, budget.period_max)
            if v is not None
        ]
        forced = max(t.min_spend, t.min_total / (last - first + 1), budget.period_min)
        upper[first - 1 : last, j] = min([*caps, max(SATURATED * sigma[j], forced)])
        floor[first - 1 : last, j] = t.min_spend
    # Work in saturation shares z = I / I_sat (well scaled for the conic solver).
    z_hi = -np.expm1(-upper / sigma)
    z = cp.Variable((n_t, n_j), nonneg=True)
    cons = [z <= z_hi]
    imp = cp.multiply(z, np.broadcast_to(i_sat, (n_t, n_j)))
    # Spend per cell (convex in impressions); cells that cannot spend are fixed at zero.
    spend = cp.multiply(-np.where(active, sigma, 0.0), cp.log(1 - z))
    if (floor > 0).any():
        cons.append(z[floor > 0] >= (-np.expm1(-floor / sigma))[floor > 0])
    for j, t in enumerate(s.tactics):
        if t.account is not None and not on.get(t.account, True):
            continue
        if t.max_total is not None:
            cons.append(cp.sum(spend[:, j]) <= t.max_total)
    media_t = cp.sum(spend, axis=1)
    if budget.period_max is not None:
        cons.append(media_t <= budget.period_max)

    per: dict[str, cp.Expression] = {}
    per["impressions"] = cp.sum(imp, axis=1)
    per["ad_visits"] = imp @ (arr.ctr * arr.landing)
    conv = imp @ (arr.ctr * arr.landing * arr.cvr)
    comments = imp @ arr.comment
    visits = per["ad_visits"]
    engagements: cp.Expression = cp.Constant(np.zeros(n_t))
    followers: cp.Expression = cp.Constant(np.zeros(n_t))
    base_hours = np.zeros(n_t)
    cost_comm = 0.0
    for c in s.communities:
        y = 1.0 if on[c.id] else 0.0
        cols = [j for j, t in enumerate(s.tactics) if t.account == c.id]
        paid = imp[:, cols] @ arr.follow[cols] if cols else cp.Constant(np.zeros(n_t))
        # Followers as variables tied by the dynamics (a nested expression would grow
        # exponentially in cvxpy's canonicalisation).
        f_v = cp.Variable(n_t)
        f_prev = cp.hstack([cp.Constant(np.array([c.initial_followers])), f_v[:-1]])
        oi_v = y * c.organic_per_follower * f_prev
        cons.append(f_v == (1 - c.churn) * f_prev + paid + c.viral_follow_rate * oi_v)
        cvisits = c.landing_rate * c.organic_ctr * oi_v
        visits = visits + cvisits
        conv = conv + c.conversion_rate * cvisits
        engagements = engagements + c.engagement_rate * oi_v
        followers = followers + f_v
        comments = comments + c.comment_rate * oi_v
        base_hours = base_hours + y * c.base_hours
        cost_comm += y * (c.setup_cost + n_t * c.content_cost_per_post * c.posts_per_period)
    wc, ae = s.webcare, s.adverse_events
    ae_rate = ae.rate if ae is not None else 0.0
    ae_cases = ae_rate * comments
    hours = (
        base_hours
        + comments * ((wc.minutes_per_comment if wc else 0.0) / 60.0)
        + ae_cases * ((ae.minutes_per_case if ae else 0.0) / 60.0)
    )
    cost_total = (
        cp.sum(spend)
        + cost_comm
        + (wc.hourly_rate if wc else 0.0) * cp.sum(hours)
        + (ae.cost_per_case if ae else 0.0) * cp.sum(ae_cases)
    )
    if wc is not None and wc.capacity_hours is not None:
        cons.append(hours <= wc.capacity_hours)
    if ae is not None and ae.capacity is not None:
        cons.append(ae_cases <= ae.capacity)
    if budget.total is not None:
        cons.append(cost_total <= budget.total)
    if budget.media is not None:
        cons.append(cp.sum(spend) <= budget.media)

    # Reach through each period that needs it: a hypograph variable under both curves.
    groups = s.audiences()
    member, pools = arr.audience_member, arr.audience_pool
    cum = cp.cumsum(imp, axis=0)

    def reach_at(t: int) -> cp.Expression:
        r = cp.Variable(nonneg=True)
        cum_t = cum[t - 1, :]
        cons.append(r <= _reach(cp.sum(cum_t), s.population, s.reach_curve))
        per_aud = [
            _reach(cum_t @ member[:, a], pools[a], s.reach_curve) for a in range(len(groups))
        ]
        cons.append(r <= cp.sum(cp.hstack(per_aud)))
        return r

    series = {
        "impressions": per["impressions"],
        "visits": visits,
        "engagements": engagements,
        "conversions": conv,
    }

    def metric(name: str, by: int) -> cp.Expression:
        if name in ("reach", "reach_share"):
            r = reach_at(by)
            return r / s.population if name == "reach_share" else r
        if name == "followers":
            return followers[by - 1]
        return cp.sum(series[name][:by])

    penalty: cp.Expression = cp.Constant(0.0)
    for g in s.goals:
        by = s.goal_period(g)
        value = metric(g.metric.value, by)
        if g.hard:
            cons.append(value >= g.target)
        else:
            short = cp.Variable(nonneg=True)
            cons += [short >= g.target - value, short <= g.target]
            penalty = penalty + g.weight * short
    o = s.objective
    if o.kind == "minimize":
        prob = cp.Problem(cp.Minimize(cost_total + penalty), cons)
    elif o.kind == "maximize":
        prob = cp.Problem(cp.Maximize(metric(o.metric.value, n_t) - penalty), cons)
    else:
        value = cp.Constant(0.0)
        for k, w in (o.weights or {}).items():
            key = str(getattr(k, "value", k))
            value = value - w * cost_total if key == "cost" else value + w * metric(key, n_t)
        prob = cp.Problem(cp.Maximize(value - penalty), cons)
    try:
        prob.solve(solver=solver)
    except cp.error.SolverError:
        prob.solve(solver="SCS", eps=1e-9, max_iters=200_000)
    if prob.status not in ("optimal", "optimal_inaccurate"):
        return Exact("infeasible", None, None, on)
    x = np.where(active, -sigma * np.log1p(-np.clip(z.value, 0, z_hi)), 0.0)
    # Floors on sums of spend are reverse-convex in impression space: left out above, so
    # this is a relaxation; it is exact only if its optimum meets them anyway.
    tol = 1e-6
    met = x.sum(axis=1).min() >= budget.period_min * (1 - tol) and all(
        x[:, j].sum() >= t.min_total * (1 - tol)
        for j, t in enumerate(s.tactics)
        if t.account is None or on.get(t.account, True)
    )
    return Exact("optimal" if met else "undecided", float(prob.value), x, on)
