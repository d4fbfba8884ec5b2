"""Plausibility warnings: valid values outside the sourced ranges of docs/sources.md (section 9).

A warning is not an error: the value is possible, but far from every benchmark funnelopt
knows, and often a unit slip (a CTR of 0.9 meant as 0.9%). Warnings are ``Problem``
objects (path, value, rule) like errors, so every output shows them the same way.
"""

from __future__ import annotations

from collections.abc import Iterator

from funnelopt.errors import Problem
from funnelopt.scenario import Scenario

#: (low, high, the range and its source): outside it, a warning.
RANGES: dict[str, tuple[float, float, str]] = {
    "ctr": (0.002, 0.05, "link CTR 0.2-5%, docs/sources.md 1a-1b"),
    "cpm": (2.0, 60.0, "Meta CPM 2-60, docs/sources.md 1a"),
    "cpm_linkedin": (10.0, 120.0, "LinkedIn CPM 10-120, docs/sources.md 1c"),
    "cpc": (0.10, 15.0, "implied cost per click 0.10-15, docs/sources.md 1a-1c"),
    "cost_per_follower": (0.10, 10.0, "cost per follower 0.10-10, docs/sources.md 1d"),
    "landing_rate": (0.4, 0.95, "landing page views per click 0.4-0.95, docs/sources.md 9"),
    "conversion_rate": (0.005, 0.5, "conversions per visit 0.5-50%, docs/sources.md 6"),
    "frequency_cap": (0.0, 7.0, "at most 7 impressions per person a week, docs/sources.md 3"),
    "organic_reach_rate": (
        0.0,
        0.6,
        "organic reach per post up to 40-60% of followers, docs/sources.md 2",
    ),
    "engagement_rate": (0.0, 0.05, "organic engagement up to 5%, docs/sources.md 2"),
    "churn": (0.0, 0.05, "follower churn up to 5% a period, docs/sources.md 2"),
    "ae_rate": (0.001, 0.1, "potential AEs 0.1-10% of comments, docs/sources.md 4"),
    "valid_share": (0.05, 0.5, "valid ICSRs 5-50% of potential AEs, docs/sources.md 4"),
    "minutes_per_comment": (1.0, 20.0, "1-20 minutes per comment, docs/sources.md 5"),
    "hourly_rate": (20.0, 200.0, "webcare 20-200 an hour, docs/sources.md 5"),
    "weeks": (1.0, 104.0, "campaigns up to two years"),
}


def warnings(s: Scenario) -> list[Problem]:
    """Every value of ``s`` outside its sourced range, with the range and, where the value
    looks like a percentage typed as a fraction, the fix."""
    return list(_checks(s))


#: Currencies the sourced money ranges (quoted in EUR and USD) roughly hold for.
_NEAR_EUR = {"EUR", "USD", "GBP", "CHF"}


def _checks(s: Scenario) -> Iterator[Problem]:
    money = s.currency in _NEAR_EUR  # a JPY or HUF CPM is not out of range by its number
    for t in s.tactics:
        p = f"tactics.{t.id}"
        cpm = "cpm_linkedin" if t.platform.lower() == "linkedin" else "cpm"
        # A tactic with its own curve has no single CPM: its money checks are left out.
        priced = money and t.cpm is not None
        if priced and t.cpm is not None:
            yield from _outside(f"{p}.cpm", t.cpm, cpm)
        if t.kind == "traffic" and t.ctr > 0:
            yield from _outside(f"{p}.ctr", t.ctr, "ctr", rate=True)
            if priced:
                cpc = (t.cpm or 0.0) / (1000 * t.ctr)
                yield from _outside(
                    f"{p}.ctr", t.ctr, "cpc", shown=cpc, name=f"cost per click ({s.currency})"
                )
            yield from _outside(f"{p}.landing_rate", t.landing_rate, "landing_rate", rate=True)
        if priced and t.kind == "community" and t.follow_rate > 0:
            cpf = (t.cpm or 0.0) / (1000 * t.follow_rate)
            yield from _outside(
                f"{p}.follow_rate",
                t.follow_rate,
                "cost_per_follower",
                shown=cpf,
                name=f"cost per follower ({s.currency})",
            )
        if t.conversion_rate is not None:
            yield from _outside(
                f"{p}.conversion_rate", t.conversion_rate, "conversion_rate", rate=True
            )
        if t.frequency_cap is not None:
            yield from _outside(f"{p}.frequency_cap", t.frequency_cap, "frequency_cap")
    yield from _outside(
        "site.conversion_rate", s.site.conversion_rate, "conversion_rate", rate=True
    )
    for c in s.communities:
        p = f"communities.{c.id}"
        yield from _outside(
            f"{p}.organic_reach_rate", c.organic_reach_rate, "organic_reach_rate", rate=True
        )
        yield from _outside(f"{p}.engagement_rate", c.engagement_rate, "engagement_rate", rate=True)
        yield from _outside(f"{p}.churn", c.churn, "churn", rate=True)
    ae, wc = s.adverse_events, s.webcare
    if ae is not None and ae.rate > 0:
        yield from _outside("adverse_events.rate", ae.rate, "ae_rate", rate=True)
        yield from _outside("adverse_events.valid_share", ae.valid_share, "valid_share", rate=True)
    if wc is not None:
        if wc.minutes_per_comment > 0:
            yield from _outside(
                "webcare.minutes_per_comment", wc.minutes_per_comment, "minutes_per_comment"
            )
        if money and wc.hourly_rate > 0:
            yield from _outside("webcare.hourly_rate", wc.hourly_rate, "hourly_rate")
    if s.period_label == "week":
        yield from _outside("periods", s.periods, "weeks")


def _outside(
    path: str,
    value: float,
    key: str,
    *,
    rate: bool = False,
    shown: float | None = None,
    name: str = "",
) -> Iterator[Problem]:
    low, high, what = RANGES[key]
    v = value if shown is None else shown
    if low <= v <= high:
        return
    said = f"gives a {name} of {v:,.3g}, " if shown is not None else ""
    hint = ""
    if rate and v > high and low <= v / 100 <= high:
        hint = f"; rates are fractions: {v:g}% is {v / 100:g}"
    yield Problem(path, value, f"{said}outside the sourced range: {what}{hint}")
