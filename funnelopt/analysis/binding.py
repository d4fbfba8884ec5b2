"""Which constraints limit a solution, named in the user's terms."""

from __future__ import annotations

import re

import numpy as np

from funnelopt.lp import LinearProgram
from funnelopt.outcome import FloatArray
from funnelopt.plan import Binding
from funnelopt.scenario import Scenario

#: Row blocks that are model structure (definitions), never a user's limit.
_STRUCTURE = re.compile(
    r"^(followers|organic_|cum_impressions|reach_le_audiences|fill_|active_cap|objective_floor)"
)


def describe(block: str, s: Scenario) -> tuple[str, str]:
    """(kind, words) for a row block name."""
    if block == "budget:total":
        return "budget", f"the total budget (budget.total = {s.budget.total:,.0f})"
    if block == "budget:media":
        return "budget", f"the media budget (budget.media = {s.budget.media:,.0f})"
    if block == "period_spend":
        return "cap", "the spend cap/floor per period (budget.period_max / period_min)"
    if block == "capacity:webcare":
        return "capacity", "webcare capacity (webcare.capacity_hours)"
    if block == "capacity:ae":
        return "capacity", "adverse-event handling capacity (adverse_events.capacity)"
    if block == "min_spend":
        return "cap", "tactic spend floors (tactics.*.min_spend)"
    if block == "active_floor":
        return "cap", "minimum ad-set budgets (tactics.*.min_spend_if_active)"
    if block.startswith("total["):
        tid = block[6:-1]
        return "cap", f"the total spend limits of tactics.{tid} (min_total / max_total)"
    if block.startswith("ads_need_community["):
        return "community", f"follower ads need community {block[19:-1]} to run"
    if block == "reach:chords":
        return "saturation", f"the target population ({s.population:,.0f} people) saturates"
    if block.startswith("reach[") and block.endswith(":chords"):
        aud = block[6 : -len("]:chords")]
        return "saturation", f"the reachable pool of audience {aud} saturates"
    if block.startswith("goal["):
        g = s.goals[int(block[5:-1])]
        return (
            "goal",
            f"the goal {g.metric.value} >= {g.target:,.6g} by {s.period_label} {s.goal_period(g)}",
        )
    return "other", block


def binding_rows(
    lp: LinearProgram,
    row_dual: FloatArray,
    s: Scenario,
    *,
    include_goals: bool = True,
    threshold: float = 1e-7,
) -> list[Binding]:
    """Binding rows grouped by block, strongest shadow price first."""
    scale = max(1.0, float(np.max(np.abs(row_dual), initial=0.0)))
    out: list[Binding] = []
    for block in lp.row_blocks:
        if _STRUCTURE.match(block.name) or (not include_goals and block.name.startswith("goal[")):
            continue
        d = row_dual[block.start : block.start + block.size]
        hit = np.flatnonzero(np.abs(d) > threshold * scale)
        if not len(hit):
            continue
        kind, words = describe(block.name, s)
        where = ""
        if block.size > 1:
            where = f" in {s.period_label} {_ranges(_periods(lp, block.start, hit))}"
        strongest = float(d[hit[np.argmax(np.abs(d[hit]))]])
        out.append(Binding(block.name, kind, strongest, words + where))
    out.sort(key=lambda b: -abs(b.shadow_price))
    return out


def _periods(lp: LinearProgram, start: int, hit: np.ndarray) -> list[int]:
    """1-based periods of binding rows, read from their labels (``...[w3]`` -> 3)."""
    found = []
    for i in hit:
        m = re.search(r"[A-Za-z](\d+)\]$", lp.row_name(start + int(i)))
        if m:
            found.append(int(m.group(1)))
    return sorted(set(found))


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
