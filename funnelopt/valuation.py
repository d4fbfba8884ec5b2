"""What a follower is worth after the campaign: the community as an asset (issue 10, item 2).

Followers outlive the campaign. Kept running for ``periods`` more periods with no ads, the
community's organic posts bring visits and conversions every period, its followers churn
(and viral follows replace some), and running it costs content and base webcare hours per
period plus webcare and adverse-event handling per comment. The value per follower is
what that brings, per follower at the end of the campaign, at the scenario's money values.
Assumptions (documented in docs/optimizer.md): the community's own rates stay as in the
scenario; no paid follower ads after the campaign; money is not discounted; fixed running
costs are shared over the followers present at the end.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from funnelopt.errors import InputError, Problem
from funnelopt.scenario import Scenario


@dataclass(frozen=True)
class FollowerValue:
    """A community's followers valued over ``periods`` after the campaign (per follower
    at the end, in the scenario's currency), with the figures behind it."""

    community: str
    periods: int
    followers: float
    #: Follower-periods one follower at the end yields (churn and viral follows included).
    follower_periods: float
    visits: float
    conversions: float
    value: float
    variable_cost: float
    fixed_cost: float

    @property
    def per_follower(self) -> float:
        """Net value per follower at the end: value - handling - share of running costs."""
        return self.value - self.variable_cost - self.fixed_cost


def follower_value(
    s: Scenario,
    community: str,
    followers: float,
    periods: int = 26,
    values: Mapping[str, float] | None = None,
    keep_running: bool = True,
) -> FollowerValue:
    """Value one follower of ``community`` brings in ``periods`` periods after the campaign,
    given ``followers`` at its end, at ``values`` (money per visit / conversion; default
    the scenario's ``objective.values``). Without ``keep_running`` the community stops
    posting: no further value or cost."""
    c = next((x for x in s.communities if x.id == community), None)
    problems = []
    if c is None:
        problems.append(Problem("community", community, f"must be one of {s.community_ids}"))
    if not 1 <= periods <= 520:
        problems.append(Problem("periods", periods, "must be in 1..520"))
    if not followers > 0:
        problems.append(Problem("followers", followers, "must be > 0"))
    if problems:
        raise InputError(problems)
    assert c is not None
    given = (
        {str(getattr(k, "value", k)): v for k, v in (s.objective.values or {}).items()}
        if values is None
        else dict(values)
    )
    if not keep_running:
        return FollowerValue(community, periods, followers, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0)
    oi = c.organic_per_follower  # organic impressions per follower per period
    growth = 1 - c.churn + c.viral_follow_rate * oi
    # Period k after the campaign runs on the followers at the end of period k - 1; the
    # first on the followers at the end of the campaign (design 2.3's F[t-1]).
    alive = sum(growth**k for k in range(periods))
    visits = oi * c.organic_ctr * c.landing_rate
    conversions = visits * c.conversion_rate
    value = alive * (
        visits * given.get("visits", 0.0) + conversions * given.get("conversions", 0.0)
    )
    wc, ae = s.webcare, s.adverse_events
    comments = oi * c.comment_rate
    per_comment = (wc.hourly_rate * wc.minutes_per_comment / 60 if wc else 0.0) + (
        ae.rate * ae.cost_per_case if ae else 0.0
    )
    fixed = periods * (
        c.posts_per_period * c.content_cost_per_post + c.base_hours * (wc.hourly_rate if wc else 0)
    )
    return FollowerValue(
        community,
        periods,
        followers,
        alive,
        alive * visits,
        alive * conversions,
        value,
        alive * comments * per_comment,
        fixed / followers,
    )
