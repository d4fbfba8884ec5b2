"""Compact HTML summaries for notebooks (``_repr_html_``); no dependency beyond the stdlib."""

from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING

from funnelopt.report.text import community_words, metric_value, num

if TYPE_CHECKING:
    from funnelopt.outcome import GoalResult, Outcome
    from funnelopt.plan import Plan
    from funnelopt.scenario import Scenario
    from funnelopt.studies.sweep import Sweep

STYLE = "font-family: system-ui, sans-serif; font-size: 13px; line-height: 1.4; max-width: 720px"
OK, MISS, BAR_BG = "#009E73", "#D55E00", "#e8e8e8"  # Okabe-Ito: colour-blind safe


def _table(rows: list[tuple[str, str]]) -> str:
    cells = "".join(
        f"<tr><td style='padding:1px 12px 1px 0;color:#555'>{escape(a)}</td>"
        f"<td style='text-align:right;padding:1px 0'>{b}</td></tr>"
        for a, b in rows
    )
    return f"<table style='border-collapse:collapse'>{cells}</table>"


def _goal_bars(goals: tuple[GoalResult, ...], label: str) -> str:
    out = []
    for g in goals:
        share = 1.0 if g.target <= 0 else min(1.0, max(0.0, g.achieved / g.target))
        colour = OK if g.met else MISS
        achieved, target = metric_value(g.metric, g.achieved), metric_value(g.metric, g.target)
        text = (
            f"{escape(g.phase)}: {escape(g.metric)} {achieved} of {target} by {label} {g.by}"
            + ("" if g.hard else " (soft)")
            + (" - met" if g.met else " - missed")
        )
        out.append(
            f"<div style='margin:2px 0'><div style='background:{BAR_BG};width:320px;height:8px;"
            f"display:inline-block;vertical-align:middle'><div style='background:{colour};"
            f"width:{share * 100:.0f}%;height:8px'></div></div> <span>{text}</span></div>"
        )
    return "".join(out)


def outcome_html(o: Outcome) -> str:
    """An outcome: funnel, costs, goals and broken limits."""
    t, cur = o.totals, escape(o.currency)
    rows = [
        ("reach", f"{num(t['reach'])} ({t['reach_share']:.1%})"),
        ("visits", num(t["visits"])),
        ("followers", num(t["followers"])),
        ("conversions", num(t["conversions"])),
        (f"total cost ({cur})", num(t["cost_total"])),
        (
            "media / community / webcare / AE",
            " / ".join(
                num(t[k]) for k in ("cost_media", "cost_community", "cost_webcare", "cost_ae")
            ),
        ),
        ("cost per conversion", num(o.kpis["cost_per_conversion"], 2)),
    ]
    broken = "".join(f"<li>{escape(v)}</li>" for v in o.violations[:10])
    return (
        f"<div style='{STYLE}'><b>Outcome: {escape(o.scenario_name)}</b>"
        + _table(rows)
        + _goal_bars(o.goals, escape(o.period_label))
        + (f"<div style='color:{MISS}'>Breaks:<ul>{broken}</ul></div>" if broken else "")
        + "</div>"
    )


def plan_html(p: Plan) -> str:
    """A plan: status, budget use, goals with bars, strategies."""
    cur = escape(p.currency)
    head = f"<b>Plan: {escape(p.scenario_name)}</b> - <b style='color:{OK if p.optimal else MISS}'>{escape(p.status)}</b>"
    if p.outcome is None:
        d = p.diagnosis
        body = f"<p>{escape(d.message)}</p>" if d else ""
        if d:
            body += "".join(f"<div>conflict: {escape(c)}</div>" for c in d.conflicts)
            body += "".join(f"<div>limit: {escape(lim)}</div>" for lim in d.limits)
            body += "".join(f"<div>note: {escape(n)}</div>" for n in d.not_computed)
        return f"<div style='{STYLE}'>{head}{body}</div>"
    o = p.outcome
    t = o.totals
    rows = [
        (f"objective ({escape(p.objective_name)})", num(p.objective, 1)),
        (f"cost ({cur})", f"{num(t['cost_total'])} (media {num(t['cost_media'])})"),
        ("reach", f"{num(t['reach'])} ({t['reach_share']:.1%})"),
        (
            "visits / followers / conversions",
            f"{num(t['visits'])} / {num(t['followers'])} / {num(t['conversions'])}",
        ),
        (
            "community",
            escape(community_words(p)) or "-",
        ),
    ]
    if p.verification:
        rows.append(("verified (largest gap)", f"{p.verification.max_gap:.2%}"))
    if p.sensitivity:
        for cap, v in p.sensitivity.budget_value.items():
            if abs(v) > 1e-9:
                rows.append(
                    (
                        f"+1,000 {cur} {cap} budget",
                        f"{v:+,.1f} {escape(p.sensitivity.objective_name)}",
                    )
                )
    strat = "".join(
        f"<div>{'&#9679;' if s.chosen else '&#9675;'} {escape(s.name)}: "
        + (
            f"objective {num(s.objective, 1)}, conversions {num(s.totals.get('conversions'))}"
            if s.objective is not None
            else "goals cannot be met"
        )
        + "</div>"
        for s in p.strategies
    )
    return (
        f"<div style='{STYLE}'>{head}"
        + _table(rows)
        + _goal_bars(o.goals, escape(o.period_label))
        + (f"<div style='margin-top:4px'><b>Strategies</b>{strat}</div>" if strat else "")
        + "</div>"
    )


def scenario_html(s: Scenario) -> str:
    """A scenario: size, budget, tactics, communities, goals."""
    b = s.budget
    rows = [
        ("periods", f"{s.periods} {escape(s.period_label)}s"),
        ("population", num(s.population)),
        (f"budget ({escape(s.currency)})", f"total {num(b.total)}, media {num(b.media)}"),
        (
            "tactics",
            ", ".join(f"{escape(t.id)} ({t.kind})" for t in s.tactics[:8])
            + (" ..." if len(s.tactics) > 8 else ""),
        ),
        ("communities", ", ".join(f"{escape(c.id)} ({c.mode})" for c in s.communities) or "-"),
        (
            "goals",
            "; ".join(
                f"{g.metric.value} >= {g.target:,.6g} by {s.goal_period(g)}"
                + ("" if g.hard else " (soft)")
                for g in s.goals
            )
            or "-",
        ),
        (
            "objective",
            s.objective.kind
            + ("" if s.objective.kind != "maximize" else f" {s.objective.metric.value}"),
        ),
    ]
    return f"<div style='{STYLE}'><b>Scenario: {escape(s.name)}</b>{_table(rows)}</div>"


def sweep_html(sw: Sweep) -> str:
    """A sweep: one row per point (at most 25 shown)."""
    head = "".join(
        f"<th style='padding:0 8px'>{escape(h)}</th>"
        for h in [*sw.params, "status", "objective", "cost"]
    )
    body = ""
    for p in sw.points[:25]:
        knee = sw.knee is not None and sw.knee["values"] == p.values
        cells = [
            *(num(v) if isinstance(v, int | float) else escape(str(v)) for v in p.values.values())
        ]
        cells += [
            escape(p.status) + (" (knee)" if knee else ""),
            num(p.objective, 1),
            num(p.totals.get("cost_total")),
        ]
        body += (
            "<tr>"
            + "".join(f"<td style='text-align:right;padding:0 8px'>{c}</td>" for c in cells)
            + "</tr>"
        )
    more = f"<div>... {len(sw.points) - 25} more points</div>" if len(sw.points) > 25 else ""
    return f"<div style='{STYLE}'><b>Sweep of {escape(', '.join(sw.params))}</b><table><tr>{head}</tr>{body}</table>{more}</div>"
