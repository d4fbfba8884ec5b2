"""Plain-text and Markdown renderings that fit an 80-column terminal and survive piping."""

from __future__ import annotations

import csv
import functools
import io
import textwrap
from collections.abc import Sequence
from typing import Any

import numpy as np

from funnelopt import metrics, objective
from funnelopt.analysis.uncertainty import HEADLINE, Forecast
from funnelopt.metrics import KEY_TOTALS
from funnelopt.outcome import Outcome
from funnelopt.plan import Plan
from funnelopt.report.calendar import tactic_names
from funnelopt.scenario import Scenario
from funnelopt.studies.frontier import Frontier
from funnelopt.studies.replan import Replan
from funnelopt.studies.sweep import Sweep, SweepPoint

WIDTH = 80
#: Tactic columns shown in the spend table before the rest are grouped as "others".
MAX_TACTIC_COLUMNS = 4

#: The rows the funnel table shows per phase (a selection; the catalogue has them all).
PHASES = (
    ("awareness", ("reach", "reach_share", "impressions", "organic_impressions")),
    ("consideration", ("clicks", "visits", "followers", "engagements")),
    ("conversion", ("conversions",)),
)
COSTS = metrics.in_phase("costs")


def num(x: float | None, digits: int = 0) -> str:
    """A number with thousands separators; '-' for missing."""
    if x is None or not np.isfinite(x):
        return "-"
    return f"{x:,.{digits}f}"


def metric_value(metric: str, value: float | None) -> str:
    """A metric's value as people read it (the catalogue's format)."""
    return metrics.format_value(metric, value)


def table(
    header: Sequence[str], rows: Sequence[Sequence[str]], markdown: bool = False, left: int = 1
) -> str:
    """Columns of numbers right-aligned (the first ``left`` columns left-aligned), or Markdown."""
    if markdown:
        align = ["---"] * left + ["---:"] * (len(header) - left)
        out = ["| " + " | ".join(header) + " |", "|" + "|".join(align) + "|"]
        out += ["| " + " | ".join(r) + " |" for r in rows]
        return "\n".join(out)
    widths = [max(len(str(c)) for c in col) for col in zip(header, *rows, strict=True)]
    lines = []
    for r in [header, *rows]:
        cells = [
            str(c).ljust(w) if i < left else str(c).rjust(w)
            for i, (c, w) in enumerate(zip(r, widths, strict=True))
        ]
        lines.append("  ".join(cells).rstrip())
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _title(text: str, markdown: bool, level: int = 2) -> str:
    return (
        f"{'#' * level} {text}"
        if markdown
        else f"{text}\n{'=' * min(len(text), WIDTH)}"
        if level == 1
        else text
    )


def spend_table(plan: Plan, markdown: bool = False) -> str:
    """Spend per period and tactic (the largest tactics; the rest grouped)."""
    assert plan.spend is not None and plan.outcome is not None
    spend = plan.spend
    order = np.argsort(-spend.sum(axis=0), kind="stable")
    shown = (
        sorted(order[:MAX_TACTIC_COLUMNS])
        if len(order) > MAX_TACTIC_COLUMNS + 1
        else list(range(spend.shape[1]))
    )
    rest = [j for j in range(spend.shape[1]) if j not in shown]
    names = tactic_names(plan)
    dated = plan.scenario is not None and plan.scenario.start_date is not None
    header = [
        f"{plan.outcome.period_label} of" if dated else plan.outcome.period_label,
        *(names[j][:12] for j in shown),
    ]
    if rest:
        header.append(f"{len(rest)} others")
    header.append("total")
    rows = []
    for t in range(spend.shape[0]):
        day = plan.scenario.period_start(t + 1) if dated and plan.scenario else None
        row = [day.isoformat() if day else str(t + 1), *(num(spend[t, j]) for j in shown)]
        if rest:
            row.append(num(spend[t, rest].sum()))
        rows.append([*row, num(spend[t].sum())])
    total = ["total", *(num(spend[:, j].sum()) for j in shown)]
    if rest:
        total.append(num(spend[:, rest].sum()))
    rows.append([*total, num(spend.sum())])
    return table(header, rows, markdown)


def funnel_table(outcome: Outcome, markdown: bool = False) -> str:
    """Totals per phase."""
    t = outcome.totals
    rows = []
    for phase, shown in PHASES:
        for i, m in enumerate(shown):
            value = metric_value(m, t[m])
            stock = metrics.info(m).kind == "stock"
            name = m.replace("_", " ") + (" (at the end)" if stock else "")
            rows.append([phase if i == 0 else "", name, value])
    return table(["phase", "metric", "campaign total"], rows, markdown, left=2)


def cost_table(outcome: Outcome, budget: float | None, markdown: bool = False) -> str:
    """Cost lines and KPIs."""
    t, k = outcome.totals, outcome.kpis
    rows = [
        [name.replace("cost_", "").replace("ae", "adverse events"), num(t[name])] for name in COSTS
    ]
    if budget:
        rows.append(["budget (total)", num(budget)])
    rows += [
        ["per conversion, all costs", num(k["cost_per_conversion"], 2)],
        ["per conversion, media only", num(k.get("media_per_conversion"), 2)],
        ["per visit, all costs", num(k["cost_per_visit"], 2)],
        ["per person reached, all costs", num(k["cost_per_person_reached"], 3)],
    ]
    return table([f"cost ({outcome.currency})", "amount"], rows, markdown)


def workload_table(outcome: Outcome, markdown: bool = False) -> str:
    """What the plan asks of webcare and pharmacovigilance: the campaign's total, the
    busiest period and the capacity per period."""
    pp, t, cap = outcome.per_period, outcome.totals, outcome.capacity
    label = outcome.period_label

    def peak(m: str, digits: int = 1) -> str:
        i = int(np.argmax(pp[m]))
        return f"{num(pp[m][i], digits)} ({label} {i + 1})"

    def capacity(key: str) -> str:
        c = cap.get(key, {}).get("capacity")
        return num(c, 1) if c else "-"

    rows = [
        ["comments to moderate", num(t["comments"]), peak("comments", 0), ""],
        [
            "webcare hours",
            num(t["webcare_hours"]),
            peak("webcare_hours"),
            capacity("webcare_hours"),
        ],
        ["AE cases (expected)", num(t["ae_cases"], 1), peak("ae_cases"), capacity("ae_cases")],
        ["AE cases (P95)", num(t["ae_cases_p95"]), peak("ae_cases_p95", 0), capacity("ae_cases")],
        ["valid ICSRs", num(t["valid_icsrs"], 1), peak("valid_icsrs", 2), ""],
        ["serious ICSRs", num(t["serious_icsrs"], 2), peak("serious_icsrs", 2), ""],
    ]
    header = ["workload", "campaign", f"peak {label}", f"capacity per {label}"]
    return table(header, rows, markdown)


def goals_lines(outcome: Outcome, scenario: Scenario | None = None) -> list[str]:
    """One line per goal: met or missed, achieved vs target (named and dated with the
    scenario)."""
    out = []
    for i, g in enumerate(outcome.goals):
        when = f"{outcome.period_label} {g.by}"
        named = ""
        if scenario is not None and i < len(scenario.goals):
            when = scenario.period_name(g.by)
            named = f"{scenario.goals[i].name}: " if scenario.goals[i].name else ""

        def fmt(v: float, metric: str = g.metric) -> str:
            return metric_value(metric, v)

        state = "met" if g.met else "MISSED"
        kind = "" if g.hard else " (soft)"
        line = f"  [{state}] {named}{g.phase}: {g.metric} >= {fmt(g.target)} by {when}{kind}: {fmt(g.achieved)}"
        if not g.met:
            line += f", short {fmt(g.shortfall)}"
        out.append(line)
    return out


def sensitivity_lines(plan: Plan) -> list[str]:
    """Sensitivity in plain words."""
    sens = plan.sensitivity
    if sens is None:
        return []
    cur, what = plan.currency, sens.objective_name
    out = []
    s = plan.scenario
    if what != "cost" and s is not None and objective.penalised(s):
        # The LP's values move the penalised objective: soft goals' penalties count too.
        out.append(f"  (in score: {what} minus the soft goals' weighted shortfalls)")
        what = "score"
    alone = " alone" if "total+media" in sens.budget_value else ""
    for cap, value in sorted(sens.budget_value.items()):
        if abs(value) < 1e-9:
            out.append(f"  {cap} budget does not bind: more {cap} budget{alone} buys nothing")
            continue
        rng = sens.budget_range.get(cap)
        where = f" (holds between {num(rng[0])} and {num(rng[1])})" if rng else ""
        if rng and rng[1] - rng[0] < 1.0:
            where = f" (holds only at {num(rng[0])}, a corner of the model: re-plan for a change)"
        name = (
            "total and media budgets together" if cap == "total+media" else f"{cap} budget{alone}"
        )
        out.append(f"  +1,000 {cur} {name} -> {value:+,.1f} {what}{where}")
    out += [f"  note: {n}" for n in sens.notes]
    for goal, cost in sorted(sens.goal_costs.items()):
        out.append(
            f"  each extra unit of goal {goal} costs {cost:,.4g} {what if what != 'cost' else cur}"
        )
    for b in sens.binding:
        if b.kind != "budget":
            out.append(f"  binding: {b.explanation}")
    if sens.tactic_returns:
        parts = [
            f"{k} {v:+,.1f}" for k, v in sorted(sens.tactic_returns.items(), key=lambda kv: -kv[1])
        ]
        out.append(
            f"  return per extra 1,000 {cur} ({what if what != 'cost' else 'conversions'}): "
            + ", ".join(parts)
        )
    for tid, why in sorted(sens.unused.items()):
        out.append(f"  unused {tid}: {why}")
    return out


def strategy_lines(plan: Plan) -> list[str]:
    """The with/without community comparison."""
    out = []
    penalised = any(st.objective != st.totals.get(plan.objective_name) for st in plan.strategies)
    word = "score" if penalised else "objective"
    if plan.strategies and penalised:
        out.append(f"  (score = {plan.objective_name} - soft-goal penalties: weight x shortfall)")
    for st in plan.strategies:
        mark = " (chosen)" if st.chosen else ""
        if st.status != "optimal":
            out.append(f"  {st.name}{mark}: goals cannot be met")
            continue
        t = st.totals
        out.append(
            f"  {st.name}{mark}: {word} {num(st.objective, 1)}; conversions {num(t['conversions'])}, "
            f"followers {num(t['followers'])}, cost {num(t['cost_total'])}"
        )
    d = plan.decision
    if d is not None:
        for path, value in sorted(d.break_even.items()):
            out.append(f"  the choice flips at {path} = {value:,.4g} (now {_now(plan, path)})")
    return out


def _now(plan: Plan, path: str) -> str:
    """The scenario's current value at a break-even path."""
    return "?" if plan.scenario is None else f"{plan.scenario.value_at(path):,.4g}"


def render_plan(plan: Plan, fmt: str = "table", budget: float | None = None) -> str:
    """A plan as ``table`` (text), ``markdown`` or ``csv`` (spend and metrics per period)."""
    if fmt == "csv":
        return plan_csv(plan)
    md = fmt == "markdown"
    status = plan.status.upper()
    name = (
        plan.scenario_name
        if md or len(plan.scenario_name) <= WIDTH - len(status) - 2
        else plan.scenario_name[: WIDTH - len(status) - 5] + "..."
    )
    out = [_title(f"{name}: {status}", md, 1)]
    cert = f"backend {plan.backend}, tolerance {plan.tolerance:.2%}"
    if plan.verification:
        cert += f"; {plan.verification.describe()}"
    if plan.certificate is not None:
        cert += f"; {plan.certificate.describe()}"
    out.append(cert)
    if plan.outcome is None or plan.spend is None:
        out += ["", *diagnosis_lines(plan)]
        text = "\n".join(out) + "\n"
        return text if md else wrap(text)
    o = plan.outcome
    obj = plan.objective_text()
    comm = community_words(plan)
    out += [obj + (f"; community: {comm}" if comm else ""), ""]
    out += [_title(f"Spend per {o.period_label} ({plan.currency})", md), spend_table(plan, md), ""]
    out += [_title("Funnel", md), funnel_table(o, md), ""]
    out += [_title("Costs", md), cost_table(o, budget, md), ""]
    out += [_title("Webcare and pharmacovigilance workload", md), workload_table(o, md), ""]
    if o.goals:
        out += [_title("Goals", md), *goals_lines(o, plan.scenario), ""]
    if plan.confidence is not None:
        c = plan.confidence
        out += [
            _title(f"Confidence (asked {c.asked:.0%}; {c.validation_draws:,} fresh draws)", md),
            c.describe(),
            *(
                f"- {k}: {p:.1%} (+- {c.standard_errors[k]:.1%})"
                for k, p in c.probabilities.items()
            ),
            "",
        ]
    if plan.strategies:
        out += [_title("Strategies: a community, or just traffic?", md), *strategy_lines(plan), ""]
    sens = sensitivity_lines(plan)
    if sens:
        out += [_title("Sensitivity", md), *sens, ""]
    return "\n".join(out) if md else wrap("\n".join(out))


def community_words(plan: Plan) -> str:
    """``Patients DE on (launch week 15), ...``: each community's display name, whether
    it runs and when it launches (as the optimiser chose)."""
    s = plan.scenario
    label = plan.outcome.period_label if plan.outcome is not None else "period"
    return ", ".join(
        f"{s.community_name(k) if s is not None else k} {'on' if v else 'off'}"
        + (f" (launch {label} {plan.launch[k]})" if v and k in plan.launch else "")
        for k, v in plan.community.items()
    )


def diagnosis_lines(plan: Plan) -> list[str]:
    """Why the goals cannot be met, in words."""
    d = plan.diagnosis
    if d is None:
        return ["The hard goals cannot all be met."]
    out = [d.message, ""]
    label = plan.scenario.period_label if plan.scenario is not None else "period"
    for g in d.goals:
        v = functools.partial(metric_value, g.metric)
        out.append(
            f"  {g.metric} >= {v(g.target)} by {label} {g.by}: best alone {v(g.best_alone)}, "
            f"together {v(g.best_together)}, short {v(g.shortfall)}"
        )
    out += [f"  conflict: {c}" for c in d.conflicts]
    for title, attempt in (
        ("best effort within the limits", d.best_effort),
        ("at the budget that meets them", d.required_budget_plan),
    ):
        if attempt is not None:
            goals = "; ".join(
                f"{g.metric} {metric_value(g.metric, g.achieved)}"
                + ("" if g.met else f" (short {metric_value(g.metric, g.shortfall)})")
                for g in attempt.outcome.goals
            )
            cost = num(attempt.outcome.totals["cost_total"])
            out.append(f"  {title}: {goals}; cost {plan.currency} {cost}")
    out += [f"  limit: {lim}" for lim in d.limits]
    if d.required_budget is not None:
        media = f" (media {num(d.required_media)})" if d.required_media is not None else ""
        low = (
            # Rounded down, as the diagnosis's message rounds it (75,266.73 once read
            # '75,267' here and '75,266' there).
            f"; none for less than {metrics.proven_floor(d.required_budget_bound, plan.currency)}"
            " (proven)"
            if d.required_budget_bound is not None
            else ""
        )
        out.append(
            f"  budget that meets every hard goal: {plan.currency} {num(d.required_budget)}"
            f"{media}{low}"
        )
    out += [f"  note: {n}" for n in d.not_computed]
    return out


def plan_csv(plan: Plan) -> str:
    """Per period: spend per tactic and the main simulated metrics."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    if plan.spend is None or plan.outcome is None:
        w.writerow(["status"])
        w.writerow([plan.status])
        return buf.getvalue()
    metrics = (
        "reach",
        "visits",
        "followers",
        "conversions",
        "webcare_hours",
        "ae_cases",
        "cost_total",
    )
    s = plan.scenario
    dated = s is not None and s.start_date is not None
    w.writerow(["period", *(["date"] if dated else []), *plan.tactic_ids, *metrics])
    for t in range(plan.spend.shape[0]):
        day = s.period_start(t + 1) if s is not None else None
        w.writerow(
            [
                t + 1,
                *([day.isoformat() if day else ""] if dated else []),
                *(f"{v:.2f}" for v in plan.spend[t]),
                *(f"{plan.outcome.per_period[m][t]:.4f}" for m in metrics),
            ]
        )
    return buf.getvalue()


def compare_table(names: Sequence[str], plans: Sequence[Plan], markdown: bool = False) -> str:
    """Plans side by side: status, objective, key totals, community, goals met."""
    header = ["", *(n[:18] for n in names)]
    penalised = any(p.penalty > 0 for p in plans)
    rows = [
        ["status", *(p.status for p in plans)],
        ["score" if penalised else "objective", *(num(p.objective, 1) for p in plans)],
        *([["soft-goal penalty", *(num(p.penalty, 1) for p in plans)]] if penalised else []),
    ]
    for k in KEY_TOTALS:
        rows.append(
            [
                k.replace("_", " "),
                *(metric_value(k, p.outcome.totals[k]) if p.outcome else "-" for p in plans),
            ]
        )
    rows.append(
        [
            "goals met",
            *(
                f"{sum(g.met for g in p.outcome.goals)}/{len(p.outcome.goals)}"
                if p.outcome
                else "-"
                for p in plans
            ),
        ]
    )
    rows.append(
        [
            "community",
            *(",".join("on" if v else "off" for v in p.community.values()) or "-" for p in plans),
        ]
    )
    rows.append(
        [
            "budget needed",
            *(num(p.diagnosis.required_budget) if p.diagnosis else "-" for p in plans),
        ]
    )
    return table(header, rows, markdown)


def _on(plan: Plan, community: str) -> str:
    if plan.status != "optimal" or community not in plan.community:
        return "-"
    return "on" if plan.community[community] else "off"


def whatif_table(base: Plan, new: Plan, markdown: bool = False) -> str:
    """The plan under the changes beside the base plan, with deltas."""
    rows = [["status", base.status, new.status, ""]]

    def delta(a: float | None, b: float | None, pct: bool = False) -> str:
        if a is None or b is None:
            return "-"
        return f"{(b - a) * 100:+.1f} pp" if pct else f"{b - a:+,.0f}"

    penalised = base.penalty > 0 or new.penalty > 0
    rows.append(
        [
            "score" if penalised else "objective",
            num(base.objective, 1),
            num(new.objective, 1),
            delta(base.objective, new.objective),
        ]
    )
    if penalised:
        rows.append(
            [
                "soft-goal penalty",
                num(base.penalty, 1),
                num(new.penalty, 1),
                delta(base.penalty, new.penalty),
            ]
        )
    for cid in sorted(set(base.community) | set(new.community)):
        rows.append([f"community {cid}"[:24], _on(base, cid), _on(new, cid), ""])
    for k in KEY_TOTALS:
        a = base.outcome.totals[k] if base.outcome else None
        b = new.outcome.totals[k] if new.outcome else None
        rows.append(
            [
                k.replace("_", " "),
                metric_value(k, a),
                metric_value(k, b),
                delta(a, b, metrics.info(k).share),
            ]
        )
    for j, tid in enumerate(new.tactic_ids):
        a = float(base.spend[:, j].sum()) if base.spend is not None else None
        b = float(new.spend[:, j].sum()) if new.spend is not None else None
        rows.append([f"spend {tid}"[:24], num(a), num(b), delta(a, b)])
    return table(["", "base", "what-if", "change"], rows, markdown)


def sweep_table(sw: Sweep, markdown: bool = False) -> str:
    """One row per sweep point, swept values as given; the knee of a budget frontier is
    marked ``*`` on its objective. With soft-goal penalties the objective is a score and its penalty has a
    column of its own; with a community, followers show with the on/off choice (so
    "conversions fall as the budget rises" shows why). A column that would repeat the
    objective is left out."""
    name = sw.objective_name

    def penalty(pt: SweepPoint) -> float | None:
        raw = pt.totals.get(name)
        if pt.objective is None or raw is None:
            return None
        return raw - pt.objective if name != "cost" else pt.objective - raw

    penalised = any((penalty(pt) or 0.0) > 1e-9 for pt in sw.points)
    communities = sorted({k for pt in sw.points for k in pt.community})
    # With a community, followers (and whether it runs) replace reach: 80 columns.
    extra = ["conversions", "followers" if communities else "reach_share"]
    if not penalised:
        extra = [k for k in extra if k != name]
    # A status column only where some point has no plan (80 columns again).
    status = any(pt.status != "optimal" for pt in sw.points)
    header = [
        *(_short_path(p) for p in sw.params),
        *(["status"] if status else []),
        "score" if penalised else "objective",
        *(["penalty"] if penalised else []),
        "cost",
        *(k.replace("_share", "") for k in extra),
    ]
    rows = []
    for pt in sw.points:
        vals = [as_given(v) for v in pt.values.values()]
        t = pt.totals
        knee = sw.knee is not None and sw.knee["values"] == pt.values
        on = "/".join("on" if pt.community.get(k) else "off" for k in communities)
        cells = [metric_value(k, t.get(k)) for k in extra]
        if communities and pt.status == "optimal":
            cells[-1] += f" ({on})"
        rows.append(
            [
                *vals,
                *([pt.status] if status else []),
                num(pt.objective, 0 if penalised else 1) + ("*" if knee else ""),
                *([num(penalty(pt))] if penalised else []),
                num(t.get("cost_total")),
                *cells,
            ]
        )
    return table(header, rows, markdown, left=0)


def frontier_table(front: Frontier, markdown: bool = False) -> str:
    """One row per efficient plan: both figures, the cost and the community setting."""
    rows = [
        [
            metric_value(front.x, p.x),
            metric_value(front.y, p.y),
            num(p.cost),
            ", ".join(f"{k} {'on' if v else 'off'}" for k, v in p.community.items()) or "-",
        ]
        for p in front.points
    ]
    header = [front.x, front.y, f"cost ({front.currency})", "community"]
    return table(header, rows, markdown, left=0)


def replan_lines(r: Replan, markdown: bool = False) -> list[str]:
    """What the actuals changed: the calibrated rates and the goals, old plan vs new."""
    label = r.scenario.period_label
    out = [_title(f"Re-planned after {r.periods_done} {label}s of actuals", markdown, 1)]
    rows = [
        [e.path, f"{e.prior:,.4g}", f"{e.posterior:,.4g}", f"{e.low:,.4g}-{e.high:,.4g}"]
        for e in r.estimates
    ]
    if rows:
        out += [table(["calibrated", "prior", "now", "90% interval"], rows, markdown), ""]
    else:
        out += ["No rate calibrated: the actuals report no counts that inform one.", ""]
    out += [f"Not calibrated: {note}" for note in r.not_calibrated()]

    def cell(g: dict[str, Any], plan: str) -> str:
        value = metrics.format_value(g["metric"], g[plan])
        said = f"{value} ({'met' if g[f'{plan}_met'] else 'missed'})"
        p = g[f"{plan}_probability"]
        return said if p is None else f"{said}, P(met) {p:.0%}"

    goals = [[g["goal"], cell(g, "continued"), cell(g, "replanned")] for g in r.on_track()]
    if goals:
        out.append(table(["goal", "old plan continued", "new plan"], goals, markdown))
    else:
        out.append("No goals: on track is measured against the scenario's goals.")
    if r.forecast is not None:
        out.append(
            f"P(met): the share of {r.forecast.draws:,} draws of the [uncertainty] ranges, the "
            "calibrated rates drawn from their posteriors, that meet the goal."
        )
    return out


def replan_csv(r: Replan) -> str:
    """Per period: whether it is done, the new plan's spend per tactic (its best effort when
    the goals are out of reach), and for each metric
    of the plan-versus-actual table the original plan, the actual and the new plan."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    versus = r.plan_vs_actual()
    # Goals out of reach: the best effort's spend (what the table's figures come from).
    new = r.new_outcome
    spend = r.plan.spend if r.plan.spend is not None else (new.spend if new else None)
    tactics = r.scenario.tactic_ids if spend is not None else []
    w.writerow(
        [
            "period",
            "done",
            *(f"spend_{t}" for t in tactics),
            *(f"{m}_{k}" for m in versus for k in ("planned", "actual", "replanned")),
        ]
    )
    for t in range(r.scenario.periods):
        w.writerow(
            [
                t + 1,
                "yes" if t < r.periods_done else "no",
                *(_cell(float(spend[t, j])) for j in range(len(tactics)) if spend is not None),
                *(
                    _cell(v[k][t])
                    for v in versus.values()
                    for k in ("planned", "actual", "replanned")
                ),
            ]
        )
    return buf.getvalue()


def _cell(v: float | None) -> str:
    return "" if v is None else f"{v:.6g}"


def sweep_notes(sw: Sweep) -> list[str]:
    """What the sweep table's columns mean where they are not plain metrics."""
    out = []
    if any(
        pt.objective is not None and pt.objective != pt.totals.get(sw.objective_name)
        for pt in sw.points
    ):
        out.append(f"score = {sw.objective_name} - soft-goal penalty (weight x shortfall)")
    if any(pt.community for pt in sw.points):
        out.append("followers (on/off): at the end, and whether the community runs")
    if not any(pt.status != "optimal" for pt in sw.points):
        out.append("every point has a plan (status optimal)")
    return out


def as_given(v: object) -> str:
    """A swept value as the user typed it: 0.0095 and 9.5 stay, 150000 gets separators."""
    if isinstance(v, bool) or not isinstance(v, int | float):
        return str(v)
    if float(v).is_integer() and abs(v) < 1e15:
        return f"{int(v):,}"
    return f"{v:,.10g}"


def _short_path(path: str) -> str:
    """A field path short enough for a column header: list names dropped (meta_dark.ctr),
    the total budget called budget."""
    if path == "budget.total":
        return "budget"
    for prefix in ("tactics.", "communities."):
        if path.startswith(prefix):
            return path[len(prefix) :]
    return path


def wrap(text: str, width: int = WIDTH) -> str:
    """Wrap prose lines to the terminal width; tables (lines without spaces runs) are kept."""
    out = []
    for line in text.split("\n"):
        if len(line) <= width or "  " in line.strip():
            out.append(line)
            continue
        indent = len(line) - len(line.lstrip())
        out.append(
            textwrap.fill(
                line.strip(),
                width,
                initial_indent=" " * indent,
                subsequent_indent=" " * (indent + 2),
            )
        )
    return "\n".join(out)


def outcome_summary(o: Outcome, markdown: bool = False) -> str:
    """An outcome's funnel, costs, goals and the caps it breaks."""
    out = [
        _title("Funnel", markdown),
        funnel_table(o, markdown),
        "",
        _title("Costs", markdown),
        cost_table(o, None, markdown),
        "",
        _title("Webcare and pharmacovigilance workload", markdown),
        workload_table(o, markdown),
        "",
    ]
    if o.goals:
        out += [_title("Goals", markdown), *goals_lines(o), ""]
    if o.violations:
        out += [_title("Broken limits", markdown), *(f"  {v}" for v in o.violations), ""]
    return "\n".join(out)


def forecast_text(f: Forecast, tornado: str, markdown: bool = False) -> str:
    """A forecast for a person: goal probabilities, P5/P50/P95 of the headline metrics,
    capacity and budget risks, and the inputs that move ``tornado`` most."""
    label = f.period_label
    parts = [
        _title(f"Forecast: {f.scenario_name}", markdown, 1),
        wrap(f"{f.draws:,} draws of {len(f.inputs)} uncertain inputs (seed {f.seed}), one plan.")
        if f.inputs
        else "No [uncertainty] ranges: every draw is the nominal outcome.",
    ]
    if f.goals:
        rows = [
            [
                f"{g.metric} >= {metric_value(g.metric, g.target)} by {label} {g.by}",
                "hard" if g.hard else "soft",
                f"{g.probability:.1%}",
                *(metric_value(g.metric, q) for q in g.quantiles),
            ]
            for g in f.goals
        ]
        parts += [
            _title("Goals: probability met", markdown),
            table(["goal", "kind", "P(met)", "P5", "P50", "P95"], rows, markdown, left=2),
        ]
    rows = []
    for m in HEADLINE:
        p5, p50, p95 = f.quantiles(m)
        rows.append(
            [metrics.info(m).label, *(metric_value(m, v) for v in (f.nominal[m], p5, p50, p95))]
        )
    parts += [
        _title("Campaign totals (stocks at the end)", markdown),
        table(["metric", "nominal", "P5", "P50", "P95"], rows, markdown),
    ]
    risks = []
    names = {
        "webcare_hours": "webcare hours exceed capacity",
        "ae_cases": "expected AE cases exceed capacity",
    }
    for key, p in f.capacity_overload_probability.items():
        if p is not None:
            risks.append(f"P({names[key]} in any {label}) = {p:.1%}")
    if f.ae_count_overload_probability is not None:
        risks.append(
            f"P(AE count, Poisson around the expected cases, exceeds capacity in any {label}) "
            f"= {f.ae_count_overload_probability:.1%}"
        )
    if f.budget_overrun_probability is not None:
        risks.append(f"P(total cost exceeds budget.total) = {f.budget_overrun_probability:.1%}")
    if risks:
        parts += [_title("Risks", markdown), "\n".join(f"- {r}" for r in risks)]
    swings = [w for w in f.tornado(tornado) if w.width > 0][:5]
    if swings:
        rows = [
            [
                _short_path(w.path),
                f"{w.input_low:.4g}",
                f"{w.input_high:.4g}",
                metric_value(tornado, w.at_low),
                metric_value(tornado, w.at_high),
            ]
            for w in swings
        ]
        parts += [
            _title(
                f"What moves {tornado} most (each input at its P5 / P95, others nominal)", markdown
            ),
            table(["input", "P5", "P95", f"{tornado} at P5", "at P95"], rows, markdown, left=1),
        ]
    return "\n\n".join(parts) + "\n"
