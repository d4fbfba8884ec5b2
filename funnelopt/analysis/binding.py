"""Which constraints limit a solution, named in the user's terms."""

from __future__ import annotations

import numpy as np

from funnelopt.lp import Block, LinearProgram
from funnelopt.outcome import FloatArray
from funnelopt.plan import Binding
from funnelopt.scenario import Scenario


def describe(block: Block, s: Scenario) -> tuple[str, str]:
    """(kind, words) for a row block, from its structured key (never its label)."""
    kind, subject = block.kind, block.subject
    if kind == "budget":
        cap = s.budget.total if subject == "total" else s.budget.media
        return "budget", f"the {subject} budget (budget.{subject} = {cap:,.0f})"
    if kind == "period_spend":
        return "cap", "the spend cap/floor per period (budget.period_max / period_min)"
    if kind == "capacity" and subject == "webcare":
        return "capacity", "webcare capacity (webcare.capacity_hours)"
    if kind == "capacity":
        return "capacity", "adverse-event handling capacity (adverse_events.capacity)"
    if kind == "floor":
        return "cap", "tactic spend floors (tactics.*.min_spend)"
    if kind == "floor_if_active":
        return "cap", "minimum ad-set budgets (tactics.*.min_spend_if_active)"
    if kind == "total":
        return "cap", f"the total spend limits of tactics.{subject} (min_total / max_total)"
    if kind == "community":
        return "community", f"follower ads need community {subject} to run"
    if kind == "saturation" and not subject:
        return "saturation", f"the target population ({s.population:,.0f} people) saturates"
    if kind == "saturation":
        return "saturation", f"the reachable pool of audience {subject} saturates"
    if kind == "goal":
        g = s.goals[int(subject)]
        return (
            "goal",
            f"the goal {g.metric.value} >= {g.target:,.6g} by {s.period_label} {s.goal_period(g)}",
        )
    return "other", block.name


def binding_rows(
    lp: LinearProgram,
    row_dual: FloatArray,
    s: Scenario,
    *,
    include_goals: bool = True,
    threshold: float = 1e-7,
) -> list[Binding]:
    """Binding rows grouped by block, strongest shadow price first (model structure -
    definitions, switches, the tie-break's floor - never counts as a limit)."""
    scale = max(1.0, float(np.max(np.abs(row_dual), initial=0.0)))
    out: list[Binding] = []
    for block in lp.row_blocks:
        if not block.kind or (not include_goals and block.kind == "goal"):
            continue
        d = row_dual[block.start : block.start + block.size]
        hit = np.flatnonzero(np.abs(d) > threshold * scale)
        if not len(hit):
            continue
        kind, words = describe(block, s)
        where = ""
        if block.periods:
            periods = sorted({block.periods[int(i)] for i in hit})
            where = f" in {s.period_label} {_ranges(periods)}"
        strongest = float(d[hit[np.argmax(np.abs(d[hit]))]])
        out.append(Binding(block.name, kind, strongest, words + where))
    out.sort(key=lambda b: -abs(b.shadow_price))
    return out


def _ranges(periods: list[int]) -> str:
    """[1, 2, 3, 7] -> '1-3, 7'."""
    if not periods:
        return "several periods"
    parts, start, prev = [], periods[0], periods[0]
    for p in [*periods[1:], None]:
        if p is not None and p == prev + 1:
            prev = p
            continue
        parts.append(f"{start}-{prev}" if prev > start else f"{start}")
        if p is not None:
            start = prev = p
    return ", ".join(parts)
