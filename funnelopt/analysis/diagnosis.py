"""Diagnosis of a scenario whose hard goals cannot all be met (design 4.3)."""

from __future__ import annotations

import math
from dataclasses import replace

from funnelopt import metrics
from funnelopt.analysis.binding import binding_rows
from funnelopt.backends import Backend
from funnelopt.formulation import Options
from funnelopt.lp import Status
from funnelopt.plan import Attempt, Diagnosis, GoalDiagnosis
from funnelopt.scenario import Scenario
from funnelopt.simulator import simulate
from funnelopt.solve import Solved, certified, solve


def diagnose(s: Scenario, backend: Backend, tolerance: float) -> Diagnosis:
    """Per goal the best achievable value, the conflicts, the limits, and the budget needed
    (spend already made, the scenario's history, stays as it was)."""
    given = Options()  # the variants are set below
    hard = [i for i, g in enumerate(s.goals) if g.hard]

    def run(**options: object) -> Solved:
        return solve(s, backend, tolerance, replace(given, **options), cheapest=False)  # type: ignore[arg-type]

    def limits_of(r: Solved) -> list[str]:
        d = r.primary.row_dual if r.status is Status.OPTIMAL else None
        if d is None:
            return []
        return [b.explanation for b in binding_rows(r.form.lp, d, s, include_goals=False)]

    # What budget would meet every hard goal? (No budget caps, soft goals left out: their
    # weights are in objective units, not money; every other limit stays.)
    # Certified: refined until within the tolerance of the exact minimum (a chord-only
    # answer once came out three times too high near saturated reach).
    need = certified(
        s,
        backend,
        tolerance,
        replace(given, objective="cost", budget=False, goals="hard_only"),
        cheapest=False,
    )
    required = media = low = None
    at_required: Attempt | None = None
    if need.status is Status.OPTIMAL:
        required = float(need.form.predicted(need.final.x)["cost_total"].sum())
        media = float(need.spend.sum())
        required, media, at_required = _confirmed(s, backend, tolerance, required, media, given)
        if need.bound is not None and required is not None:
            # The relaxation's least cost (its objective is minus the cost): proven.
            low = min(required, -need.bound)
    need_words = _need_words(s, required, media, low)

    # Even without goals, do the floors, fixed costs and capacities fit the budget?
    if run(goals="none", objective="cost").status is not Status.OPTIMAL:
        floors = run(goals="none", objective="cost", budget=False)
        if floors.status is Status.OPTIMAL:
            cost = float(floors.form.predicted(floors.final.x)["cost_total"].sum())
            msg = (
                f"Even without goals the plan cannot fit its budget: the spend floors and fixed costs "
                f"alone cost {s.currency} {cost:,.0f} (media {s.currency} {floors.spend.sum():,.0f}). "
                + (need_words or "No budget meets the goals as well.")
            )
            return Diagnosis(
                msg, (), (), (_budget_words(s),), required, media, low, None, at_required
            )
        msg = (
            "Even without goals and without a budget the scenario has no feasible plan: the spend "
            "floors (budget.period_min, tactics.*.min_spend, min_total, min_spend_if_active) force "
            "more comments than webcare or adverse-event capacity can handle."
        )
        return Diagnosis(
            msg, (), (), ("webcare / adverse-event capacity vs spend floors",), None, None
        )

    # Each goal alone, then all goals together with shortfalls allowed (elastic).
    alone: dict[int, float | None] = {}
    for i in hard:
        r = run(goals="none", objective=("goal", i))
        alone[i] = r.final.objective if r.status is Status.OPTIMAL else None
    elastic = run(goals="elastic", objective="elastic")
    together: dict[int, float | None] = dict.fromkeys(hard)
    best_effort = None
    if elastic.status is Status.OPTIMAL:
        together = {i: elastic.form.goal_value(i, elastic.final.x) for i in hard}
        best_effort = _attempt(s, elastic)
    limits = limits_of(elastic)

    goals = []
    conflicts: list[str] = []
    alone_ok = []
    for i in hard:
        g = s.goals[i]
        by = s.goal_period(g)
        best = together[i]
        short = max(0.0, g.target - best) if best is not None else None
        goals.append(GoalDiagnosis(g.metric.value, g.target, by, alone[i], best, short))
        a = alone[i]
        if a is not None and a < g.target * (1 - 1e-6):
            conflicts.append(
                f"{g.metric.value} >= {metrics.format_value(g.metric.value, g.target)} by "
                f"{s.period_label} {by} cannot be met even alone: the most a plan within the limits reaches is "
                f"{metrics.format_value(g.metric.value, a)}"
            )
        elif short is not None and short > 1e-6 * g.target:
            alone_ok.append(f"{g.metric.value} by {s.period_label} {by}")
    if alone_ok:
        names = [
            f"{s.goals[i].metric.value} by {s.period_label} {s.goal_period(s.goals[i])}"
            for i in hard
        ]
        others = [n for n in names if n not in alone_ok]
        who = " and ".join(alone_ok)
        conflicts.append(
            f"{who} can {'each ' if len(alone_ok) > 1 else ''}be met alone, but not together with "
            + (", ".join(others) if others else "each other")
        )

    if required is not None:
        msg = "The hard goals cannot all be met within the budget. " + need_words
        limits += _capacity_needed(s, backend, tolerance, limits, given)
        return Diagnosis(
            msg,
            tuple(goals),
            tuple(conflicts),
            tuple(limits),
            required,
            media,
            low,
            best_effort,
            at_required,
        )
    msg = "The hard goals cannot all be met, and no budget can meet them: other limits stop it."
    limits = limits_of(run(goals="elastic", objective="elastic", budget=False)) or [
        "the tactics' reach and delivery saturate (pool x frequency cap per period)"
    ]
    limits += _capacity_needed(s, backend, tolerance, limits, given)
    return Diagnosis(
        msg, tuple(goals), tuple(conflicts), tuple(limits), None, None, None, best_effort
    )


#: Capacity fields, what they count, and how closely the needed capacity is searched.
_CAPACITIES = (
    ("webcare.capacity_hours", "webcare_hours", "h"),
    ("adverse_events.capacity", "ae_cases", "AE cases"),
)


_CAPACITY_STEPS = 8


def _capacity_needed(
    s: Scenario, backend: Backend, tolerance: float, limits: list[str], given: Options
) -> list[str]:
    """For each capacity named among the limits: the least capacity per period that lets
    the hard goals be met (within the budget, or with none), by bisection on re-solves."""
    out = []
    for field, load, unit in _CAPACITIES:
        now = s.value_at(field)
        if now is None or not any(field in line for line in limits):
            continue
        label = s.period_label
        for budget in (True, False):
            unlimited = s.with_overrides({field: None})
            opts = replace(given, budget=budget, goals="hard_only", objective="cost")
            free = solve(unlimited, backend, tolerance, opts, cheapest=False)
            if free.status is not Status.OPTIMAL:
                continue
            lo = now
            hi = float(free.form.predicted(free.final.x)[load].max())
            for _ in range(_CAPACITY_STEPS):
                mid = (lo + hi) / 2
                tried = solve(s.with_overrides({field: mid}), backend, tolerance, opts)
                lo, hi = (lo, mid) if tried.status is Status.OPTIMAL else (mid, hi)
            where = "within the budget" if budget else "with a larger budget"
            out.append(
                f"{field}: about {math.ceil(hi * 10) / 10:,.1f} {unit} per {label} would let "
                f"the hard goals be met {where} (now {now:,.4g})"
            )
            break
    return out


def _confirmed(
    s: Scenario, backend: Backend, tolerance: float, total: float, media: float, given: Options
) -> tuple[float | None, float | None, Attempt | None]:
    """The budget, checked by re-planning the scenario with it.

    The estimate comes from a formulation without budget caps, whose chords differ from
    those of the capped one by up to the tolerance; raise it by that much until the
    scenario itself, with those caps, is feasible.
    """
    total, media = math.ceil(total), math.ceil(media)
    for _ in range(6):
        caps = (
            {"budget.total": max(total, s.budget.total or 0.0)}
            if s.budget.total is not None
            else {}
        )
        if s.budget.media is not None:
            caps["budget.media"] = max(media, s.budget.media)
        raised = s.with_overrides(caps)
        run = certified(raised, backend, tolerance, given, cheapest=False)
        if run.status is Status.OPTIMAL:
            # Whole currency units, rounded up, so that typing the figure in works.
            return float(math.ceil(total)), float(math.ceil(media)), _attempt(raised, run)
        total, media = total * (1 + tolerance), media * (1 + tolerance)
    return None, None, None


def _attempt(s: Scenario, run: Solved) -> Attempt:
    """A solved run as a plan to show, simulated under ``s``."""
    return Attempt(run.spend, dict(run.community), simulate(s, run.spend, run.community))


def _need_words(
    s: Scenario, required: float | None, media: float | None, low: float | None = None
) -> str:
    """Which budget caps would have to rise, and to what, in words."""
    if required is None or media is None:
        return ""
    cur, b = s.currency, s.budget
    proof = (
        f" (no plan meets them for less than {cur} {math.floor(low):,.0f}: proven)"
        if low is not None
        else ""
    )
    parts = []
    if b.total is not None and required > b.total * (1 + 1e-9):
        parts.append(f"budget.total to {cur} {required:,.0f}")
    if b.media is not None and media > b.media * (1 + 1e-9):
        parts.append(f"budget.media to {cur} {media:,.0f}")
    if not parts:  # the caps bind only in combination
        return (
            f"A total budget of {cur} {required:,.0f} (media {cur} {media:,.0f}) would meet "
            f"them all{proof}."
        )
    return "Raising " + " and ".join(parts) + f" would meet them all{proof}."


def _budget_words(s: Scenario) -> str:
    caps = [
        f"budget.{k} = {v:,.0f}"
        for k, v in (("total", s.budget.total), ("media", s.budget.media))
        if v is not None
    ]
    return "the budget (" + ", ".join(caps) + ")"
