"""The proposal-ready report of a plan: self-contained HTML or Markdown.

One list of blocks (headings, paragraphs, tables, lists, figures) renders to either
format, so both always carry the same content: the goals, the recommended plan and
strategy, phase results, costs with webcare and adverse-event handling, sensitivity in
plain words, the assumptions register and the solver's certificate.
"""

from __future__ import annotations

import base64
import io
import re
from collections.abc import Callable
from datetime import date
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from funnelopt import metrics, objective
from funnelopt.errors import FunnelOptError, InputError, Problem
from funnelopt.report.calendar import by_month, tactic_names
from funnelopt.report.risks import assumption_swings, saturation
from funnelopt.report.text import diagnosis_lines, num

if TYPE_CHECKING:
    from funnelopt.outcome import Outcome
    from funnelopt.plan import Plan
    from funnelopt.scenario import Scenario
    from funnelopt.studies.replan import Replan

Block = tuple[Any, ...]


#: The hours a full-time webcare moderator works per week (the staffing line's unit).
FTE_HOURS = 40.0
#: Input differences listed in a comparison before the rest are counted.
MAX_DIFFERENCES = 25
#: Shown under the title unless ``[report] disclaimer`` replaces it.
DISCLAIMER = (
    "All figures in this proposal are model estimates: they come from published benchmarks "
    "and stated assumptions (listed in the appendix), not from measured results of this "
    "campaign. Actual reach, traffic, conversions and workload will differ; they should be "
    "monitored from the first week and the plan adjusted."
)
#: The same for a re-plan, whose weeks done are measured results.
REPLAN_DISCLAIMER = (
    "The weeks done show this campaign's measured results (the actuals file); every other "
    "figure is a model estimate from the rates those results calibrated and the stated "
    "assumptions (listed in the appendix). Actual results will differ; they should be "
    "monitored and the plan adjusted again."
)
#: Internal references in source notes that a client should not read: sentences naming
#: the sources file, and "domain-figures 8a" / "whitepaper" citations.
_INTERNAL_SENTENCE = re.compile(r"[^.]*docs/sources\.md[^.]*\.\s*", re.IGNORECASE)
_INTERNAL_REF = re.compile(
    r"[;,]?\s*\b(?:domain-figures|whitepaper)\b(?:[\s,]*(?:\d+[a-z]?|\d+-\d+|and|\"[^\"]*\"))*",
    re.IGNORECASE,
)
#: Fields that shape the document, not the forecast: left out of the assumptions register.
_PRESENTATION = re.compile(r"^(report\.|start_date$|name$|description$|.*\.name$)")


# Long by design: the report's sections in reading order, each a few lines of layout.
def blocks(
    plan: Plan, scenario: Scenario | None, figures: bool = True, done: int = 0
) -> list[Block]:
    """The report's content, format-neutral: title page, executive summary, goals,
    flighting (weekly and monthly), funnel, community decision, costs, pharmacovigilance
    and webcare, risks, sensitivity; appendix: assumptions register and quality checks.
    ``done``: periods already run (a re-plan), which the disclaimer and summary say."""
    out = _title_page(plan, scenario, done)
    out += _summary(plan, scenario, done)
    out += _goals(plan, scenario)
    if plan.warnings:
        out.append(("h2", "Inputs to check"))
        out.append(
            (
                "p",
                "These inputs are valid but outside every published range we know of; the "
                "plan relies on them, so please confirm them first.",
            )
        )
        out.append(("list", [_client_text(str(w)) for w in plan.warnings]))
    if plan.outcome is None or plan.spend is None:
        out += _ways_forward(plan, scenario, figures)
        out.append(("h2", "Why the goals cannot all be met"))
        out.append(
            ("list", [_client_text(line.strip()) for line in diagnosis_lines(plan) if line.strip()])
        )
        out += _appendix(plan, scenario)
        return out
    out += _flighting(plan, scenario, figures)
    out += _funnel(plan, figures)
    if plan.strategies:
        out += _strategy(plan, scenario)
    out += _costs(plan)
    out += _pharmacovigilance(plan, scenario, figures)
    out += _risks(plan, scenario)
    sens = _sensitivity(plan, scenario)
    if sens:
        out.append(("h2", "What would change the answer"))
        out.append(("list", sens))
    if figures and _matplotlib() is None:
        out.append(
            (
                "note",
                "The charts are missing: they need matplotlib. Install it with "
                "pip install 'funnelopt[notebook]' and write the report again.",
            )
        )
    out += _appendix(plan, scenario)
    return out


def _title_page(plan: Plan, scenario: Scenario | None, done: int = 0) -> list[Block]:
    info = scenario.report if scenario is not None else None
    facts: list[list[str]] = []
    if info is not None and info.client:
        facts.append(["Prepared for", info.client])
    if info is not None and info.agency:
        facts.append(["Prepared by", info.agency])
    issued = info.issued if info is not None and info.issued else date.today()
    facts.append(["Date", f"{issued.day} {issued:%B %Y}"])
    if info is not None and info.version:
        facts.append(["Version", info.version])
    draft = info.draft if info is not None else True
    facts.append(["Status", "DRAFT - for discussion" if draft else "Final"])
    if scenario is not None:
        first, last = scenario.period_name(1), scenario.period_name(scenario.periods)
        span = f"{scenario.periods} {scenario.period_label}s"
        if scenario.start_date is not None:
            span += f" ({first} to {last})"
        facts.append(["Campaign", span])
        b = scenario.budget
        caps = [
            f"{k} {plan.currency} {num(v)}"
            for k, v in (("total", b.total), ("media", b.media))
            if v
        ]
        facts.append(["Budget", ", ".join(caps)])
    logo = _logo(info.logo) if info is not None and info.logo else None
    title: Block = (
        "title",
        plan.scenario_name,
        _client_text(scenario.description) if scenario is not None else "",
        facts,
        logo,
        draft,
        info.agency if info is not None else "",
    )
    standard = REPLAN_DISCLAIMER if done else DISCLAIMER
    disclaimer = info.disclaimer if info is not None and info.disclaimer else standard
    return [title, ("note", disclaimer)]


def _logo(path: str) -> tuple[str, bytes]:
    """The logo file's MIME type and bytes (PNG, JPEG or SVG), or a named error."""
    p = Path(path)
    mime = {
        ".png": "image/png",
        ".jpg": "image/jpeg",
        ".jpeg": "image/jpeg",
        ".svg": "image/svg+xml",
    }
    kind = mime.get(p.suffix.lower())
    if kind is None:
        raise InputError([Problem("report.logo", path, "must be a .png, .jpg or .svg file")])
    try:
        return kind, p.read_bytes()
    except OSError as exc:
        raise InputError(
            [Problem("report.logo", path, f"cannot be read: {exc.strerror or exc}")]
        ) from None


def _community(scenario: Scenario | None, cid: str) -> str:
    """A community as a sentence names it: its name, else "<id> community"."""
    name = scenario.community_name(cid) if scenario is not None else cid
    return name if name != cid else f"{cid} community"


def _summary(plan: Plan, scenario: Scenario | None, done: int = 0) -> list[Block]:
    cur = plan.currency
    out: list[Block] = [("h2", "Executive summary")]
    if plan.outcome is None or plan.spend is None:
        d = plan.diagnosis
        # The budget needed meets the goals that must be met (soft goals may stay short),
        # and the media cap, where the scenario has one, has to rise with it.
        media_cap = scenario.budget.media if scenario is not None else None
        media = (
            f", with media spend of about {cur} {num(d.required_media)}"
            if d is not None and d.required_media is not None and media_cap is not None
            else ""
        )
        need = (
            f" Meeting every goal that must be met would take a total budget of about {cur} "
            f"{num(d.required_budget)}{media}."
            if d is not None and d.required_budget is not None
            else ""
        )
        best = _best_effort_outcome(plan)
        within = (
            f" Within the budget, the best plan brings {num(best.totals['conversions'])} "
            f"conversions and {num(best.totals['visits'])} visits for {cur} "
            f"{num(best.totals['cost_total'])}, meeting {sum(g.met for g in best.goals)} of "
            f"{len(best.goals)} goals."
            if best is not None
            else ""
        )
        if need and within:
            ahead = " The sections below show both ways forward and what stands in the way."
        elif need or within:
            ahead = " The sections below show the way forward and what stands in the way."
        else:
            ahead = " The sections below show what stands in the way."
        if d is not None and d.not_computed:
            # Say plainly that the analysis is incomplete, and how to complete it.
            ahead += (
                " The analysis stopped at its time limit before it could work out everything"
                " (listed below); planning again with a longer time limit completes it."
            )
        out.append(
            (
                "p",
                "The goals set for this campaign cannot all be met within the budget and "
                f"limits given.{need}{within}{ahead}",
            )
        )
        return out
    o, t, spend = plan.outcome, plan.outcome.totals, plan.spend
    names = tactic_names(plan)
    shares = [
        f"{names[j]} {spend[:, j].sum() / max(spend.sum(), 1e-12):.0%}"
        for j in np.argsort(-spend.sum(axis=0), kind="stable")
        if spend[:, j].sum() > 0.5
    ]
    when = (
        f" from the {scenario.period_name(1)}"
        if scenario is not None and scenario.start_date is not None
        else ""
    )
    built = [_community(scenario, k) for k, v in plan.community.items() if v]
    community = f", and building the {' and '.join(built)}" if built else ""
    media = f"{cur} {num(t['cost_media'])} of paid social media"
    split = f" ({', '.join(shares)}){community}"
    if done:
        left = o.periods - done
        said = (
            f"After {o.period_label} {done}, we recommend this plan for the remaining {left} "
            f"{o.period_label}s of the {o.periods}-{o.period_label} campaign: {media} over "
            f"the whole campaign, the {o.period_label}s done included{split}."
        )
    else:
        said = f"We recommend a {o.periods}-{o.period_label} campaign{when} with {media}{split}."
    out.append(("p", said))
    delivers = (
        f"It is expected to reach {num(t['reach'])} people ({t['reach_share']:.0%} of the "
        f"target group of {num(t['reach'] / max(t['reach_share'], 1e-12))}), bring "
        f"{num(t['visits'])} visits to the campaign site and {num(t['conversions'])} conversions"
    )
    delivers += f", and grow the community to {num(t['followers'])} followers." if built else "."
    out.append(("p", delivers))
    budget = scenario.budget.total if scenario is not None else None
    of_budget = f" of the {cur} {num(budget)} budget" if budget else ""
    out.append(
        (
            "p",
            f"All in, it costs {cur} {num(t['cost_total'])}{of_budget}: media "
            f"{num(t['cost_media'])}, community set-up and content {num(t['cost_community'])}, "
            f"webcare {num(t['cost_webcare'])} and adverse-event handling {num(t['cost_ae'])}. "
            f"That is {cur} {num(o.kpis['cost_per_conversion'], 2)} per conversion, everything "
            "included.",
        )
    )
    decision = _decision_sentence(plan, scenario)
    if decision:
        out.append(("p", decision))
    met = [g for g in o.goals if g.met]
    if o.goals:
        missed = [_goal_label(scenario, i, g.metric) for i, g in enumerate(o.goals) if not g.met]
        words = (
            f"All {len(o.goals)} goals are met."
            if len(met) == len(o.goals)
            else f"{len(met)} of {len(o.goals)} goals are met; not met: {'; '.join(missed)}."
        )
        out.append(("p", words))
    return out


def _goal_label(scenario: Scenario | None, i: int, metric: str) -> str:
    if scenario is None or i >= len(scenario.goals):
        return metric.replace("_", " ")
    return scenario.goal_name(scenario.goals[i])


def _decision_sentence(plan: Plan, scenario: Scenario | None) -> str:
    """The community decision in one sentence a client reads (no scores, no paths)."""
    chosen = next((s for s in plan.strategies if s.chosen), None)
    other = next((s for s in plan.strategies if not s.chosen), None)
    if chosen is None or other is None:
        return ""
    if other.status != "optimal":
        return f"Only the option '{chosen.name}' meets every goal that must be met."
    ct, ot = chosen.totals, other.totals
    cname = ", ".join(_community(scenario, c) for c in plan.community)
    building = any(chosen.community.values())
    dconv = ct.get("conversions", 0.0) - ot.get("conversions", 0.0)
    if building:
        text = f"Building the {cname} "
        text += (
            f"costs {num(-dconv)} conversions ({num(ct.get('conversions'))} instead of "
            f"{num(ot.get('conversions'))} with ads alone) and brings {num(ct.get('followers'))} "
            "followers"
            if dconv < 0
            else f"adds {num(dconv)} conversions and brings {num(ct.get('followers'))} followers"
        )
    else:
        text = f"Ads alone, without the {cname}, " + (
            f"deliver {num(dconv)} more conversions ({num(ct.get('conversions'))} against "
            f"{num(ot.get('conversions'))})"
            if dconv >= 0
            else f"give up {num(-dconv)} conversions but save {plan.currency} "
            f"{num(ot.get('cost_total', 0.0) - ct.get('cost_total', 0.0))}"
        )
    d = plan.decision
    flips = []
    if d is not None and scenario is not None:
        for path, value in sorted(d.break_even.items()):
            if path.startswith("goals[") and path.endswith(".weight"):
                i = int(path[len("goals[") : path.index("]")])
                g = scenario.goals[i]
                unit = plan.objective_name.replace("_", " ")
                one = unit.rstrip("s") if g.weight == 1 else unit
                flips.append(
                    f"the goal '{scenario.goal_name(g)}' values a {g.metric.value.rstrip('s')} at "
                    f"{g.weight:,.3g} {one}; below {value:,.2g} the choice would "
                    f"{'drop' if building else 'include'} the community"
                )
    if flips:
        return text + ". It is recommended because " + "; ".join(flips) + "."
    return text + "."


def _goals(plan: Plan, scenario: Scenario | None) -> list[Block]:
    out: list[Block] = [("h2", "Campaign goals")]
    if scenario is None or not scenario.goals:
        out.append(("p", "No goals: the plan makes the most of the budget."))
        return out
    rows = []
    for i, g in enumerate(scenario.goals):
        due = scenario.goal_period(g)
        day = scenario.period_start(due)
        rows.append(
            [
                g.name or metrics.info(g.metric.value).label,
                g.phase,
                metrics.format_value(g.metric.value, g.target),
                f"{scenario.period_label} of {day.isoformat()}"
                if day
                else f"{scenario.period_label} {due}",
                "must be met" if g.hard else "desirable",
                _goal_achieved(plan, i),
                _goal_met(plan, i),
            ]
        )
    expected = "expected" if plan.outcome is not None else "best within budget"
    header = ["goal", "phase", "target", "by", "priority", expected, "met"]
    out.append(("table", header, rows))
    return out


def _flighting(plan: Plan, scenario: Scenario | None, figures: bool) -> list[Block]:
    assert plan.spend is not None and plan.outcome is not None
    spend, cur, o = plan.spend, plan.currency, plan.outcome
    names = tactic_names(plan)
    cols = [j for j in range(spend.shape[1]) if spend[:, j].sum() > 0.5]
    out: list[Block] = [("h2", "Flighting plan")]
    out.append(
        (
            "p",
            f"Media spend per {o.period_label} and tactic ({cur}). "
            + "; ".join(
                f"{names[j]}: {num(spend[:, j].sum())} in all, active in "
                f"{int((spend[:, j] > 0.5).sum())} {o.period_label}s"
                for j in cols
            )
            + ".",
        )
    )
    periods = [
        scenario.period_name(t + 1) if scenario is not None else f"{o.period_label} {t + 1}"
        for t in range(o.periods)
    ]
    rows = [
        [periods[t], *(num(spend[t, j]) for j in cols), num(spend[t].sum())]
        for t in range(o.periods)
    ]
    rows.append(["total", *(num(spend[:, j].sum()) for j in cols), num(spend.sum())])
    if figures:
        out += _figure("spend", lambda: _plots().spend_over_time(plan, scenario).figure)
    out.append(("h3", f"By {o.period_label}"))
    out.append(("table", [o.period_label.capitalize(), *(names[j] for j in cols), "total"], rows))
    if scenario is not None and scenario.start_date is not None:
        months = by_month(plan)
        mrows = [
            [
                m.label,
                *(num(m.spend[plan.tactic_ids[j]]) for j in cols),
                num(sum(m.spend.values())),
                num(m.totals["visits"]),
                num(m.totals["conversions"]),
            ]
            for m in months
        ]
        out.append(("h3", "By month"))
        out.append(
            (
                "table",
                ["month", *(names[j] for j in cols), "total", "visits", "conversions"],
                mrows,
            )
        )
    return out


def _funnel(plan: Plan, figures: bool) -> list[Block]:
    assert plan.outcome is not None
    t = plan.outcome.totals
    out: list[Block] = [("h2", "The funnel by phase")]
    rows = [
        [
            "awareness",
            "people reached",
            f"{num(t['reach'])} ({t['reach_share']:.1%} of the target group)",
        ],
        ["awareness", "paid impressions", num(t["impressions"])],
        ["awareness", "organic impressions (community posts)", num(t["organic_impressions"])],
        ["consideration", "visits to the campaign site", num(t["visits"])],
        ["consideration", "followers at the end", num(t["followers"])],
        ["consideration", "engagements", num(t["engagements"])],
        ["conversion", "conversions", num(t["conversions"])],
    ]
    out.append(("table", ["phase", "measure", "campaign total"], rows))
    if figures:
        out += _figure("funnel", lambda: _plots().funnel(plan))
    return out


def _strategy(plan: Plan, scenario: Scenario | None) -> list[Block]:
    out: list[Block] = [("h2", "A patient community, or ads alone?")]
    rows = []
    for st in plan.strategies:
        tt = st.totals
        rows.append(
            [
                st.name + (" (recommended)" if st.chosen else ""),
                num(tt.get("conversions")) if st.status == "optimal" else "goals cannot be met",
                num(tt.get("followers")),
                num(tt.get("visits")),
                num(tt.get("cost_total")),
            ]
        )
    header = ["option", "conversions", "followers", "visits", f"cost ({plan.currency})"]
    out.append(("table", header, rows))
    sentence = _decision_sentence(plan, scenario)
    if sentence:
        out.append(("p", sentence))
    return out


def _costs(plan: Plan) -> list[Block]:
    assert plan.outcome is not None
    o, cur = plan.outcome, plan.currency
    t, k = o.totals, o.kpis
    rows = [
        ["media", num(t["cost_media"])],
        ["community: set-up and content", num(t["cost_community"])],
        ["webcare", f"{num(t['cost_webcare'])} ({num(t['webcare_hours'])} hours)"],
        ["adverse-event handling", num(t["cost_ae"])],
        ["total", num(t["cost_total"])],
        ["per conversion, all costs", num(k["cost_per_conversion"], 2)],
        ["per conversion, media only", num(k.get("media_per_conversion"), 2)],
        ["per site visit, all costs", num(k["cost_per_visit"], 2)],
    ]
    return [("h2", "Costs"), ("table", ["cost line", f"{cur}"], rows)]


# Long by design: one section, its paragraphs and its weekly table in reading order.
def _pharmacovigilance(plan: Plan, scenario: Scenario | None, figures: bool) -> list[Block]:
    assert plan.outcome is not None
    o = plan.outcome
    pp, t, label = o.per_period, o.totals, o.period_label
    cap_h = o.capacity.get("webcare_hours", {}).get("capacity")
    cap_c = o.capacity.get("ae_cases", {}).get("capacity")
    out: list[Block] = [("h2", "Pharmacovigilance and webcare")]
    if t["comments"] <= 0 and t["webcare_hours"] <= 0:
        out.append(
            (
                "p",
                "The plan's ads run with comments switched off and no community: no comments "
                "to moderate and no adverse-event reports are expected from it.",
            )
        )
        return out
    peak_c = int(np.argmax(pp["ae_cases_p95"]))
    out.append(
        (
            "p",
            f"Comments on the ads and in the community can mention side effects. The plan "
            f"brings about {num(t['comments'])} comments to moderate, of which about "
            f"{num(t['ae_cases'], 1)} are expected to mention an adverse event (AE) - at most "
            f"{num(pp['ae_cases_p95'][peak_c])} in a single {label} at the 95th percentile "
            f"({_when(scenario, peak_c + 1, label)})"
            + (f", against a capacity of {num(cap_c)} cases per {label}." if cap_c else "."),
        )
    )
    out.append(
        (
            "p",
            f"Of these, about {num(t['valid_icsrs'], 1)} are expected to be valid individual "
            f"case safety reports (ICSRs: identifiable patient and reporter, a suspected "
            f"medicine and a reaction) and {num(t['serious_icsrs'], 2)} serious. Under EU "
            "pharmacovigilance rules (GVP Module VI) a serious valid ICSR must reach "
            "EudraVigilance within 15 calendar days and a non-serious one within 90 days. "
            "The clock starts on the day anyone at the company or the agency first sees the "
            "comment, weekends and holidays included.",
        )
    )
    base = [
        (c, c.base_hours) for c in (scenario.communities if scenario else []) if c.base_hours > 0
    ]
    if base and any(plan.community.get(c.id) for c, _h in base):
        per_day = sum(h for c, h in base if plan.community.get(c.id)) / 7 * 60
        out.append(
            (
                "p",
                "Weekend screening: the community's monitoring time of "
                + ", ".join(f"{num(h, 1)} hours per {label} ({c.display_name})" for c, h in base)
                + f" is planned as about {num(per_day)} minutes every day, Saturday and Sunday "
                "included, so that no report waits unseen over a weekend.",
            )
        )
    peak_h = int(np.argmax(pp["webcare_hours"]))
    hours = float(pp["webcare_hours"][peak_h])
    staffing = (
        f"Staffing: webcare needs {num(t['webcare_hours'])} hours over the campaign, "
        f"{num(float(np.mean(pp['webcare_hours'])), 1)} hours per {label} on average and "
        f"{num(hours, 1)} at the peak ({_when(scenario, peak_h + 1, label)}): about "
        f"{hours / FTE_HOURS:.1f} full-time moderators at {FTE_HOURS:.0f} hours a week"
    )
    if cap_h:
        staffing += f", within the {num(cap_h)} hours per {label} available ({hours / cap_h:.0%} at the peak)"
    out.append(("p", staffing + "."))
    header = [label.capitalize(), "comments", "webcare hours", "AE cases", "AE cases (P95)"]
    rows = [
        [
            _when(scenario, i + 1, label),
            num(pp["comments"][i]),
            num(pp["webcare_hours"][i], 1),
            num(pp["ae_cases"][i], 1),
            num(pp["ae_cases_p95"][i]),
        ]
        for i in range(o.periods)
    ]
    if cap_h or cap_c:
        rows.append(
            [
                f"capacity per {label}",
                "",
                num(cap_h, 1) if cap_h else "-",
                num(cap_c) if cap_c else "-",
                num(cap_c) if cap_c else "-",
            ]
        )
    if figures:
        out += _figure("workload", lambda: _plots().community(plan, scenario))
    out.append(("h3", f"Workload per {label}"))
    out.append(("table", header, rows))
    return out


def _when(scenario: Scenario | None, t: int, label: str) -> str:
    return scenario.period_name(t) if scenario is not None else f"{label} {t}"


def _risks(plan: Plan, scenario: Scenario | None) -> list[Block]:
    assert plan.outcome is not None
    o = plan.outcome
    items = []
    for key, what in (("webcare_hours", "Webcare"), ("ae_cases", "Adverse-event handling")):
        c = o.capacity.get(key, {})
        if c.get("capacity"):
            use = float(c.get("peak_use") or 0.0)
            words = (
                "little headroom: a busier week than forecast would exceed it"
                if use > 0.8
                else "headroom for a busier week than forecast"
            )
            items.append(
                f"{what} capacity: the peak {o.period_label} uses {use:.0%} of it ({words})."
            )
    if o.capacity.get("ae_cases", {}).get("capacity"):
        p95 = float(np.max(o.per_period["ae_cases_p95"]))
        cap = float(o.capacity["ae_cases"]["capacity"] or 0.0)
        if p95 > cap:
            items.append(
                f"In a bad {o.period_label} (95th percentile) up to {num(p95)} AE cases could "
                f"arrive, more than the {num(cap)} the team can take: agree a back-up."
            )
    sat = saturation(plan)
    for tid, share in sorted(sat.items(), key=lambda kv: -kv[1]):
        name = scenario.tactic_name(tid) if scenario is not None else tid
        if share > 0.5:
            items.append(
                f"Saturation: {name} delivers {share:.0%} of what its audience can take in its "
                "busiest week; more spend there buys ever fewer impressions."
            )
    if sat and max(sat.values()) <= 0.5:
        items.append(
            "Saturation: no tactic comes close to its audience's limit "
            f"(at most {max(sat.values()):.0%} in the busiest week)."
        )
    metric = "conversions"
    swings = assumption_swings(plan, metric)
    if swings:
        items.append(
            f"The assumptions that move the forecast most (each 20% lower / higher, {metric}): "
            + "; ".join(
                f"{_field_label(w.path, scenario)} ({_fmt_value(w.value)}): "
                f"{num(w.low)} / {num(w.high)}"
                for w in swings
            )
            + ". They are the first to check against the client's own data."
        )
    items += _ranged_risks(plan, scenario)
    items.append(
        "The model does not cover creative quality, seasonality, competing campaigns or "
        "platform algorithm changes; it assumes the benchmark rates hold for this audience."
    )
    return [("h2", "Risks and limitations"), ("list", items)]


def _ranged_risks(plan: Plan, scenario: Scenario | None) -> list[str]:
    """With ``[uncertainty]`` ranges: how likely each goal is met and what could overload
    or overrun, from the plan over 10,000 draws of the ranges (seed 0)."""
    if scenario is None or not scenario.uncertainty or plan.spend is None:
        return []
    from funnelopt.analysis.uncertainty import forecast

    f = forecast(scenario, plan, draws=10_000, seed=0)
    label = f.period_label
    chances = "; ".join(
        f"{g.metric.replace('_', ' ')} by {label} {g.by} {g.probability:.0%}" for g in f.goals
    )
    out = []
    if f.goals:
        out.append(
            f"With the ranges given for {len(f.inputs)} inputs ({f.draws:,} draws), the chance "
            f"that each goal is met: {chances}."
        )
    over = [
        f"{what} {p:.0%}"
        for key, what in (("webcare_hours", "webcare capacity"), ("ae_cases", "AE capacity"))
        if (p := f.capacity_overload_probability.get(key)) is not None
    ]
    if over:
        out.append(f"The chance that some {label} exceeds a capacity: " + ", ".join(over) + ".")
    if f.budget_overrun_probability:
        out.append(
            f"The chance that webcare and adverse-event costs push the total over budget: "
            f"{f.budget_overrun_probability:.0%}."
        )
    return out


def _sensitivity(plan: Plan, scenario: Scenario | None) -> list[str]:
    """The margins in client words: what one more 1,000 of budget or of a tactic buys."""
    sens = plan.sensitivity
    if sens is None:
        return []
    cur, what = plan.currency, sens.objective_name.replace("_", " ")
    out = []
    if scenario is not None and objective.penalised(scenario):
        out.append(
            f"These figures are in score points: {what}, less the weighted shortfall of the "
            "desirable goals (so a step towards a desirable goal counts too)."
        )
        what = "score points"
    for cap, value in sorted(sens.budget_value.items()):
        name = (
            "the total and media budgets together" if cap == "total+media" else f"the {cap} budget"
        )
        if abs(value) < 1e-9:
            out.append(f"Raising {name} alone would not change the plan: it is not what limits it.")
        else:
            out.append(f"Each extra {cur} 1,000 on {name} would bring about {value:+,.1f} {what}.")
    for tid, v in sorted(sens.tactic_returns.items(), key=lambda kv: -kv[1]):
        name = scenario.tactic_name(tid) if scenario is not None else tid
        out.append(f"Moving {cur} 1,000 more into {name} would change {what} by about {v:+,.1f}.")
    return out


def _appendix(plan: Plan, scenario: Scenario | None) -> list[Block]:
    return [("pagebreak",), *_assumptions(scenario), *_certificate(plan)]


def _client_text(text: str) -> str:
    """Source notes and messages without internal references (sections of a sources file)."""
    text = _INTERNAL_REF.sub("", _INTERNAL_SENTENCE.sub(" ", text))
    text = re.sub(r"\(\s*[;,]?\s*\)", "", text)  # brackets left empty
    text = re.sub(r"\(\s*[;,:]\s*", "(", text)
    text = re.sub(r"\s{2,}", " ", text)
    return re.sub(r"\s+([.,;)])", r"\1", text).strip()


def _field_label(path: str, scenario: Scenario | None) -> str:
    """``tactics.meta_dark.ctr`` -> ``Meta dark posts: ctr`` (ids shown by display name)."""
    parts = path.split(".")
    if scenario is not None and len(parts) == 3 and parts[0] == "tactics":
        return f"{scenario.tactic_name(parts[1])}: {parts[2].replace('_', ' ')}"
    if scenario is not None and len(parts) == 3 and parts[0] == "communities":
        return f"{scenario.community_name(parts[1])}: {parts[2].replace('_', ' ')}"
    return path.replace("_", " ").replace(".", ": ")


def _fmt_value(v: object) -> str:
    if v is None or v == "":
        return "not set"
    if isinstance(v, dict) and "dist" in v:  # a range: its distribution and parameters
        given = ", ".join(
            f"{k} {_fmt_value(x)}" for k, x in v.items() if k != "dist" and x is not None
        )
        return f"{v['dist']} ({given})"
    if isinstance(v, bool) or not isinstance(v, int | float):
        return str(getattr(v, "isoformat", lambda: v)())
    if float(v).is_integer() and abs(v) >= 1:
        return f"{v:,.0f}"
    return f"{v:,.6g}"


def _goal_achieved(plan: Plan, i: int) -> str:
    o = plan.outcome or _best_effort_outcome(plan)
    if o is None:
        return "-"
    g = o.goals[i]
    return metrics.format_value(g.metric, g.achieved)


def _goal_met(plan: Plan, i: int) -> str:
    o = plan.outcome or _best_effort_outcome(plan)
    if o is None:
        return "no plan"
    return "yes" if o.goals[i].met else "no"


def _best_effort_outcome(plan: Plan) -> Outcome | None:
    """Without a plan meeting the hard goals: what the budget buys at best (if computed)."""
    d = plan.diagnosis
    return d.best_effort.outcome if d is not None and d.best_effort is not None else None


def _ways_forward(plan: Plan, scenario: Scenario | None, figures: bool) -> list[Block]:
    """An infeasible plan's two ways forward, side by side: the best the budget buys and
    what meeting every goal takes; then the best effort's flighting."""
    d = plan.diagnosis
    if d is None or (d.best_effort is None and d.required_budget_plan is None):
        return []
    options = [
        (name, a)
        for name, a in (
            ("best within the budget", d.best_effort),
            ("at the budget that meets every goal", d.required_budget_plan),
        )
        if a is not None
    ]
    rows = []
    for label, m, digits in (
        (f"total cost ({plan.currency})", "cost_total", 0),
        (f"media ({plan.currency})", "cost_media", 0),
        ("people reached", "reach", 0),
        ("site visits", "visits", 0),
        ("followers at the end", "followers", 0),
        ("conversions", "conversions", 0),
        ("webcare hours", "webcare_hours", 0),
        ("AE cases (expected)", "ae_cases", 1),
    ):
        rows.append([label, *(num(a.outcome.totals[m], digits) for _n, a in options)])
    rows.append(
        [
            "goals met",
            *(
                f"{sum(g.met for g in a.outcome.goals)} of {len(a.outcome.goals)}"
                for _n, a in options
            ),
        ]
    )
    out: list[Block] = [
        ("h2", "Two ways forward"),
        (
            "p",
            "No plan meets every goal that must be met within this budget. The campaign can "
            "either make the most of the budget and fall short of some goals, or raise the "
            "budget to what meeting them all takes:",
        ),
        ("table", ["", *(n for n, _a in options)], rows),
    ]
    if d.best_effort is not None:
        from dataclasses import replace

        best = replace(
            plan,
            status="best effort",
            spend=d.best_effort.spend,
            community=d.best_effort.community,
            outcome=d.best_effort.outcome,
        )
        flight = _flighting(best, scenario, figures)
        out.append(("h2", "Flighting plan: the best within the budget"))
        out += [b for b in flight if b[0] != "h2"]
    return out


def _assumptions(scenario: Scenario | None) -> list[Block]:
    out: list[Block] = [("h2", "Appendix: assumptions register")]
    if scenario is None:
        return [*out, ("p", "No scenario: no assumptions to list.")]
    changed = scenario.overridden
    paths = sorted(p for p in set(scenario.sources) | set(changed) if not _PRESENTATION.match(p))
    if not paths:
        return [
            *out,
            (
                "p",
                "No sources were given; add a [sources] table to the scenario to list them here.",
            ),
        ]
    out.append(
        (
            "p",
            "Each input the plan rests on, the value used and where it comes from. Values "
            "changed for this version are marked with the value they replace.",
        )
    )
    rows = []
    for path in paths:
        try:
            used = _fmt_value(scenario.value_at(path))
        except FunnelOptError:
            used = "(several fields)"
        source = _client_text(scenario.sources.get(path, ""))
        if path in changed:
            source = f"changed for this version (was {_fmt_value(changed[path])})" + (
                f"; originally: {source}" if source else ""
            )
        rows.append([_field_label(path, scenario), used, source])
    out.append(("table", ["input", "value used", "source"], rows))
    return out


def _certificate(plan: Plan) -> list[Block]:
    rows = [
        [
            "result",
            "a plan meeting every goal that must be met"
            if plan.optimal
            else "no plan meets every goal",
        ],
        [
            "model accuracy",
            f"response curves approximated within {plan.tolerance:.2%}, always on the cautious side",
        ],
        ["software", f"funnelopt {plan.version}"],
    ]
    if plan.verification is not None:
        rows.append(["simulation check", plan.verification.describe()])
    if plan.certificate is not None:
        rows.append(["best possible plan", plan.certificate.describe()])
    return [("h2", "Appendix: how the plan was checked"), ("table", ["check", "result"], rows)]


def _matplotlib() -> Any:
    """pyplot, or None without matplotlib (the report then says what to install)."""
    try:
        import matplotlib

        matplotlib.use("Agg", force=False)
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    return plt


def _plots() -> Any:
    from funnelopt.report import plots

    return plots


def _figure(name: str, draw: Callable[[], Any]) -> list[Block]:
    """One chart as a PNG block (nothing without matplotlib: a note says so, once)."""
    plt = _matplotlib()
    if plt is None:
        return []
    fig = draw()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=130, bbox_inches="tight")
    plt.close(fig)
    return [("img", name, buf.getvalue())]


# Long by design: the comparison document's sections in reading order.
def compare_blocks(names: list[str], plans: list[Plan], figures: bool = True) -> list[Block]:
    """One client document with the options side by side ("option A / option B"): title
    page, a summary, one table of the options, what differs in their inputs, and each
    option's flighting plan."""
    letters = [f"Option {chr(65 + i)}" if i < 26 else f"Option {i + 1}" for i in range(len(plans))]
    first = plans[0].scenario
    out = _title_page(plans[0], first)
    title = out[0]
    facts = [f for f in title[3] if f[0] not in ("Campaign", "Budget")]
    facts.append(["Options", "; ".join(f"{L}: {n}" for L, n in zip(letters, names, strict=True))])
    out[0] = ("title", "Campaign options", "", facts, title[4], title[5], title[6])
    out.append(("h2", "Summary"))
    for L, n, p in zip(letters, names, plans, strict=True):
        out.append(("p", f"{L} ({n}): " + _option_sentence(p)))
    ok = [(L, p) for L, p in zip(letters, plans, strict=True) if p.outcome is not None]
    if len(ok) > 1:
        most = max(ok, key=lambda lp: _out(lp[1]).totals["conversions"])
        cheap = min(ok, key=lambda lp: _out(lp[1]).kpis["cost_per_conversion"] or float("inf"))
        out.append(
            (
                "p",
                f"{most[0]} delivers the most conversions; {cheap[0]} has the lowest cost per "
                "conversion (all costs)."
                if most[0] != cheap[0]
                else f"{most[0]} delivers the most conversions at the lowest cost per conversion.",
            )
        )
    out.append(("h2", "The options side by side"))
    out.append(("table", ["", *letters], _side_by_side(plans)))
    diff = _differences(plans)
    if diff:
        out.append(("h2", "What differs between the options"))
        out.append(("table", ["input", *letters], diff))
    for L, n, p in zip(letters, names, plans, strict=True):
        out.append(("pagebreak",))
        out.append(("h2", f"{L}: {n}"))
        if p.outcome is None or p.spend is None:
            out.append(("list", [_client_text(x.strip()) for x in diagnosis_lines(p) if x.strip()]))
            continue
        out += [b if b[0] != "h2" else ("h3", b[1]) for b in _flighting(p, p.scenario, figures)]
    return out


def _option_sentence(p: Plan) -> str:
    if p.outcome is None:
        d = p.diagnosis
        need = (
            f"; meeting them would take about {p.currency} {num(d.required_budget)}"
            if d is not None and d.required_budget is not None
            else ""
        )
        return f"the goals cannot all be met{need}."
    t, o = p.outcome.totals, p.outcome
    met = sum(g.met for g in o.goals)
    return (
        f"{num(t['conversions'])} conversions, {num(t['visits'])} visits and "
        f"{t['reach_share']:.0%} of the target group reached for {p.currency} "
        f"{num(t['cost_total'])} ({p.currency} {num(o.kpis['cost_per_conversion'], 2)} per "
        f"conversion); {met} of {len(o.goals)} goals met."
    )


def _out(p: Plan) -> Outcome:
    assert p.outcome is not None
    return p.outcome


def _side_by_side(plans: list[Plan]) -> list[list[str]]:
    def row(label: str, f: Callable[[Plan], str]) -> list[str]:
        return [label, *(f(p) if p.outcome is not None else "-" for p in plans)]

    def tot(m: str, digits: int = 0) -> Callable[[Plan], str]:
        return lambda p: num(_out(p).totals[m], digits)

    def budget(p: Plan) -> str:
        return num(p.scenario.budget.total) if p.scenario and p.scenario.budget.total else "-"

    def community(p: Plan) -> str:
        s = p.scenario
        built = [s.community_name(c) if s else c for c, on in p.community.items() if on]
        return ", ".join(built) or "none"

    return [
        ["campaign", *(p.scenario_name for p in plans)],
        ["status", *("goals met" if p.optimal else "goals cannot be met" for p in plans)],
        [f"budget ({plans[0].currency})", *(budget(p) for p in plans)],
        row(f"media spend ({plans[0].currency})", tot("cost_media")),
        row(f"total cost ({plans[0].currency})", tot("cost_total")),
        row(
            "people reached",
            lambda p: f"{num(_out(p).totals['reach'])} ({_out(p).totals['reach_share']:.0%})",
        ),
        row("site visits", tot("visits")),
        row("followers at the end", tot("followers")),
        row("conversions", tot("conversions")),
        row("per conversion, all costs", lambda p: num(_out(p).kpis["cost_per_conversion"], 2)),
        row("webcare hours", tot("webcare_hours")),
        row("AE cases (expected)", tot("ae_cases", 1)),
        row(
            "valid / serious ICSRs",
            lambda p: (
                f"{num(_out(p).totals['valid_icsrs'], 1)} / {num(_out(p).totals['serious_icsrs'], 2)}"
            ),
        ),
        row("community", community),
        row(
            "goals met",
            lambda p: f"{sum(g.met for g in _out(p).goals)} of {len(_out(p).goals)}",
        ),
    ]


def _differences(plans: list[Plan]) -> list[list[str]]:
    """Input fields whose values differ between the options (document fields left out)."""
    scenarios = [p.scenario for p in plans]
    if any(s is None for s in scenarios):
        return []
    paths = sorted({q for s in scenarios if s is not None for q in s.field_paths()})
    rows = []
    for path in paths:
        if _PRESENTATION.match(path) or path.startswith("sources."):
            continue
        values = []
        for s in scenarios:
            try:
                values.append(_fmt_value(s.value_at(path)) if s is not None else "-")
            except FunnelOptError:
                values.append("-")
        if len(set(values)) > 1:
            rows.append([_field_label(path, scenarios[0]), *values])
    if len(rows) > MAX_DIFFERENCES:
        more = len(rows) - MAX_DIFFERENCES
        rows = [*rows[:MAX_DIFFERENCES], [f"... and {more} more", *([""] * len(plans))]]
    return rows


def write_comparison(names: list[str], plans: list[Plan], path: str | Path) -> Path:
    """Write the options side by side as one client document (.html, .pdf or .md)."""
    return _write_blocks(compare_blocks(names, plans), path)


def write(plan: Plan, scenario: Scenario | None, path: str | Path) -> Path:
    """Write the report as HTML (images embedded), PDF (the HTML printed by headless
    Chromium) or Markdown (images beside it), by suffix."""
    return _write_blocks(blocks(plan, scenario), path)


def replan_blocks(r: Replan, figures: bool = True) -> list[Block]:
    """The new plan's report with a section on where the campaign stands before it: the
    goals on track or not (old plan continued vs new plan), plan versus actual per period
    (table and chart) and the calibrated estimates."""
    content = blocks(r.plan, r.scenario, figures, r.periods_done)
    at = next((i for i, b in enumerate(content) if b[0] == "h2"), len(content))
    return content[:at] + _standing(r, figures) + content[at:]


def write_replan(r: Replan, path: str | Path) -> Path:
    """Write the re-plan's report (.html, .pdf or .md, as :func:`write`)."""
    return _write_blocks(replan_blocks(r), path)


def _standing(r: Replan, figures: bool) -> list[Block]:
    s, done = r.scenario, r.periods_done
    label, cur = s.period_label, s.currency
    new = r.new_outcome
    out: list[Block] = [("h2", f"Where the campaign stands after {label} {done}")]
    so_far = float(new.per_period["cost_total"][:done].sum()) if new is not None else None
    said = (
        f"The results of the first {done} {label}s were read in. The rates they inform are "
        f"calibrated (below), those {label}s are kept as they happened, and the rest of the "
        "campaign is planned again on the calibrated figures with every goal and limit."
    )
    if so_far is not None and s.budget.total is not None:
        said += (
            f" Spent so far (media, community, webcare and AE handling): {cur} {so_far:,.0f} of "
            f"{cur} {s.budget.total:,.0f}; {cur} {s.budget.total - so_far:,.0f} remain."
        )
    out.append(("p", said))
    out.append(("h3", "On track?"))
    rows = []
    for i, g in enumerate(r.on_track()):
        cells = []
        for plan in ("continued", "replanned"):
            value = metrics.format_value(g["metric"], g[plan])
            cell = f"{value} ({'met' if g[f'{plan}_met'] else 'missed'})"
            p = g[f"{plan}_probability"]
            cells.append(cell if p is None else f"{cell}, {p:.0%} likely")
        rows.append([_goal_label(s, i, g["metric"]), *cells])
    out.append(("table", ["goal", "old plan continued", "new plan"], rows))
    if r.forecast is not None:
        out.append(
            (
                "p",
                f"Likelihoods: the share of {r.forecast.draws:,} draws of the estimates' "
                "ranges (the calibrated ones from what the campaign showed) in which the goal "
                "is met.",
            )
        )
    out.append(("h3", "Plan versus actual"))
    versus = r.plan_vs_actual()
    header = [label, *(f"{metrics.info(m).label} (planned / actual)" for m in versus)]
    table_rows = []
    for t in range(done):
        cells = [str(t + 1)]
        for m, v in versus.items():
            planned, seen = v["planned"][t], v["actual"][t]
            cells.append(
                f"{metrics.format_value(m, planned, cur)} / "
                + (metrics.format_value(m, seen, cur) if seen is not None else "-")
            )
        table_rows.append(cells)
    out.append(("table", header, table_rows))
    if figures:
        plots = _plots() if _matplotlib() is not None else None
        if plots is not None:
            for m in ("spend", "visits"):
                out += _figure(f"plan-vs-actual-{m}", _versus_chart(plots, r, m))
    out.append(("h3", "What the results changed"))
    est = [
        [
            _field_label(e.path, s),
            f"{e.prior:,.4g}",
            f"{e.posterior:,.4g}",
            f"{e.low:,.4g} - {e.high:,.4g}",
            e.evidence,
        ]
        for e in r.estimates
    ]
    if est:
        out.append(("table", ["estimate", "planned with", "now", "90% interval", "evidence"], est))
    else:
        out.append(("p", "The results inform no rate: the estimates are as planned."))
    return out


def _versus_chart(plots: Any, r: Replan, metric: str) -> Callable[[], Any]:
    return lambda: plots.plan_vs_actual(r, metric).figure


def _write_blocks(content: list[Block], path: str | Path) -> Path:
    p = Path(path)
    if p.suffix.lower() in (".md", ".markdown"):
        p.write_text(to_markdown(content, p), encoding="utf-8")
    elif p.suffix.lower() == ".pdf":
        from funnelopt.report.pdf import html_to_pdf

        html_to_pdf(to_html(content), p)
    else:
        p.write_text(to_html(content), encoding="utf-8")
    return p


def to_markdown(content: list[Block], path: Path | None = None) -> str:
    """Markdown; figures are written as PNG files next to ``path``."""
    lines: list[str] = []
    for b in content:
        kind = b[0]
        if kind == "title":
            _, title, subtitle, facts, logo, draft, _agency = b
            lines += [f"# {_md(title)}{' (DRAFT)' if draft else ''}", ""]
            if subtitle:
                lines += [_md(subtitle), ""]
            lines += [f"- **{_md(k)}:** {_md(v)}" for k, v in facts] + [""]
            if logo is not None and path is not None:
                ext = {"image/png": "png", "image/jpeg": "jpg"}.get(logo[0], "svg")
                img = path.with_name(f"{path.stem}-logo.{ext}")
                img.write_bytes(logo[1])
                lines[1:1] = [f"![logo]({img.name})", ""]
        elif kind == "note":
            lines += [f"> {_md(b[1])}", ""]
        elif kind == "pagebreak":
            continue
        elif kind == "h1":
            lines += [f"# {_md(b[1])}", ""]
        elif kind == "h2":
            lines += [f"## {_md(b[1])}", ""]
        elif kind == "h3":
            lines += [f"### {_md(b[1])}", ""]
        elif kind == "p":
            lines += [_md(b[1]), ""]
        elif kind == "list":
            lines += [f"- {_md(item)}" for item in b[1]] + [""]
        elif kind == "table":
            header, rows = b[1], b[2]
            lines.append("| " + " | ".join(_md(h) for h in header) + " |")
            lines.append("|" + "|".join("---" for _ in header) + "|")
            lines += [
                "| " + " | ".join(_md(str(c)).replace("|", "/") for c in r) + " |" for r in rows
            ]
            lines.append("")
        elif kind == "img" and path is not None:
            png = path.with_name(f"{path.stem}-{b[1]}.png")
            png.write_bytes(b[2])
            lines += [f"![{b[1]}]({png.name})", ""]
    return "\n".join(lines)


def _md(text: str) -> str:
    """User text made inert in Markdown: no raw HTML (a previewer would run <script> or
    onerror=) and no link syntax (javascript: links); it still reads as written."""
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return text.replace("[", "\\[").replace("]", "\\]")


_NUMERIC = re.compile(r"^[-+]?[\d,]+(\.\d+)?(%| \(.*\))?$")

#: A4 print and screen styles: a client document, not a printout.
CSS = """
@page{size:A4;margin:16mm 15mm 18mm}
body{font-family:"Source Sans 3","Segoe UI",system-ui,sans-serif;color:#1d2733;line-height:1.45;
 max-width:178mm;margin:1.5em auto;padding:0 6mm;font-size:10.5pt}
header.title{border-bottom:3px solid #0072B2;padding-bottom:10mm;margin-bottom:6mm;break-after:page}
header.title .brand{display:flex;justify-content:space-between;align-items:center;min-height:14mm;
 color:#0072B2;font-weight:600;letter-spacing:.04em;text-transform:uppercase;font-size:9pt}
header.title .brand img{max-height:16mm;max-width:60mm}
header.title h1{font-size:24pt;line-height:1.15;margin:22mm 0 4mm;color:#0b3954}
header.title .sub{font-size:12pt;color:#4a5a6a;margin:0 0 10mm}
header.title table.facts td{border:0;padding:2px 14px 2px 0}
header.title table.facts td:first-child{color:#6a7a8a;width:34mm}
.draft-mark{position:fixed;top:40%;left:0;right:0;text-align:center;font-size:88pt;font-weight:700;
 color:rgba(213,94,0,.10);transform:rotate(-30deg);pointer-events:none;z-index:0}
.note{border-left:4px solid #E69F00;background:#fff8ec;padding:8px 12px;margin:1em 0;font-size:9.5pt}
h2{color:#0b3954;font-size:15pt;margin:1.6em 0 .5em;border-bottom:1px solid #d5dde5;
 padding-bottom:3px;break-after:avoid}
h3{font-size:11.5pt;margin:1.2em 0 .3em;color:#33475b;break-after:avoid}
p{margin:.45em 0 .7em}
table{border-collapse:collapse;margin:.4em 0 1em;width:100%;font-size:9pt;break-inside:avoid}
td,th{border-bottom:1px solid #e3e8ee;padding:3px 8px;text-align:left;vertical-align:top}
th{background:#eef3f8;color:#33475b;font-weight:600}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
tr:last-child td{border-bottom:1px solid #c5cfd9}
figure{margin:.6em 0 1em;break-inside:avoid}img{max-width:100%}
ul{padding-left:1.2em}li{margin:.25em 0}
.pagebreak{break-before:page}
footer{color:#7a8a9a;font-size:8pt;margin-top:2em;border-top:1px solid #e3e8ee;padding-top:4px}
@media print{body{margin:0;max-width:none;padding:0}}
"""


def to_html(content: list[Block]) -> str:
    """A self-contained HTML page: inline CSS, images as data URIs, no network needed;
    A4 print styles (tables and figures are not split across pages)."""
    body: list[str] = []
    title = "funnelopt report"
    draft, agency = False, ""
    for b in content:
        kind = b[0]
        if kind == "title":
            _, title, subtitle, facts, logo, draft, agency = b
            img = (
                f"<img alt='logo' src='data:{logo[0]};base64,"
                f"{base64.b64encode(logo[1]).decode('ascii')}'>"
                if logo is not None
                else ""
            )
            rows = "".join(f"<tr><td>{escape(k)}</td><td>{escape(v)}</td></tr>" for k, v in facts)
            body.append(
                "<header class='title'>"
                f"<div class='brand'><span>{escape(agency)}</span>{img}</div>"
                f"<h1>{escape(title)}</h1>"
                + (f"<p class='sub'>{escape(subtitle)}</p>" if subtitle else "")
                + f"<table class='facts'>{rows}</table></header>"
            )
        elif kind == "h1":
            title = b[1]
            body.append(f"<h1>{escape(b[1])}</h1>")
        elif kind == "h2":
            body.append(f"<h2>{escape(b[1])}</h2>")
        elif kind == "h3":
            body.append(f"<h3>{escape(b[1])}</h3>")
        elif kind == "p":
            body.append(f"<p>{escape(b[1])}</p>")
        elif kind == "note":
            body.append(f"<p class='note'>{escape(b[1])}</p>")
        elif kind == "pagebreak":
            body.append("<div class='pagebreak'></div>")
        elif kind == "list":
            body.append("<ul>" + "".join(f"<li>{escape(i)}</li>" for i in b[1]) + "</ul>")
        elif kind == "table":
            rows_ = [[str(c) for c in r] for r in b[2]]
            numeric = [
                i > 0 and all(_NUMERIC.match(r[i]) or r[i] in ("", "-") for r in rows_)
                for i in range(len(b[1]))
            ]
            head = "".join(
                f"<th{' class=n' if numeric[i] else ''}>{escape(h)}</th>"
                for i, h in enumerate(b[1])
            )
            rows = "".join(
                "<tr>"
                + "".join(
                    f"<td{' class=n' if numeric[i] else ''}>{escape(c)}</td>"
                    for i, c in enumerate(r)
                )
                + "</tr>"
                for r in rows_
            )
            body.append(f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>")
        elif kind == "img":
            data = base64.b64encode(b[2]).decode("ascii")
            body.append(
                f"<figure><img alt='{escape(b[1])}' src='data:image/png;base64,{data}'></figure>"
            )
    mark = "<div class='draft-mark' aria-hidden='true'>DRAFT</div>" if draft else ""
    made = f"{escape(agency)} - " if agency else ""
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>{escape(title)}</title><style>{CSS}</style></head><body>"
        + mark
        + "\n".join(body)
        + f"<footer>{made}{escape(title)}. Figures are model estimates. Made with funnelopt.</footer>"
        + "</body></html>\n"
    )
