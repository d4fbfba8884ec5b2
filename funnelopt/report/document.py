"""The proposal-ready report of a plan: self-contained HTML or Markdown.

One list of blocks (headings, paragraphs, tables, lists, figures) renders to either
format, so both always carry the same content: the goals, the recommended plan and
strategy, phase results, costs with webcare and adverse-event handling, sensitivity in
plain words, the assumptions register and the solver's certificate.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Callable
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING, Any

from funnelopt import metrics
from funnelopt.report.text import diagnosis_lines, num, sensitivity_lines

if TYPE_CHECKING:
    from funnelopt.plan import Plan
    from funnelopt.scenario import Scenario

Block = tuple[Any, ...]


# Long by design: the report's sections in reading order, each a few lines of layout.
def blocks(plan: Plan, scenario: Scenario | None, figures: bool = True) -> list[Block]:
    """The report's content, format-neutral."""
    cur = plan.currency
    out: list[Block] = [("h1", f"{plan.scenario_name}")]
    if scenario is not None and scenario.description:
        out.append(("p", scenario.description))
    out.append(("h2", "Campaign goals"))
    if scenario is not None and scenario.goals:
        out.append(
            (
                "table",
                ["phase", "goal", "by", "kind", "achieved", "met"],
                [
                    [
                        g.phase,
                        f"{g.metric.value} >= {g.target:,.6g}",
                        f"{scenario.period_label} {scenario.goal_period(g)}",
                        "hard" if g.hard else f"soft (weight {g.weight:g})",
                        _goal_achieved(plan, i),
                        _goal_met(plan, i),
                    ]
                    for i, g in enumerate(scenario.goals)
                ],
            )
        )
    else:
        out.append(("p", "No goals: the plan maximises the objective within the budget."))
    if plan.warnings:
        out.append(("h2", "Inputs to check"))
        out.append(
            (
                "p",
                "These values are valid but outside every range in docs/sources.md; "
                "the plan relies on them, so confirm them first.",
            )
        )
        out.append(("list", [str(w) for w in plan.warnings]))

    if plan.outcome is None or plan.spend is None:
        out.append(("h2", "The goals cannot all be met"))
        out.append(("list", [line.strip() for line in diagnosis_lines(plan) if line.strip()]))
        out += _assumptions(scenario) + _certificate(plan)
        return out

    o = plan.outcome
    t = o.totals
    out.append(("h2", "Recommended plan"))
    comm = ", ".join(f"community {k} {'on' if v else 'off'}" for k, v in plan.community.items())
    out.append(
        (
            "p",
            f"Spend {cur} {num(t['cost_media'])} on media over {o.periods} {o.period_label}s"
            + (f" ({comm})" if comm else "")
            + f", {cur} {num(t['cost_total'])} in all. {plan.objective_text()}.",
        )
    )
    spend = plan.spend
    out.append(
        (
            "table",
            [
                "tactic",
                f"total ({cur})",
                "share",
                f"active {o.period_label}s",
                f"peak {o.period_label}",
            ],
            [
                [
                    tid,
                    num(spend[:, j].sum()),
                    f"{spend[:, j].sum() / max(spend.sum(), 1e-12):.0%}",
                    str(int((spend[:, j] > 0).sum())),
                    num(spend[:, j].max()),
                ]
                for j, tid in enumerate(plan.tactic_ids)
            ],
        )
    )
    if plan.strategies:
        out.append(("h2", "Strategy: a patient community, or just traffic?"))
        rows = []
        for st in plan.strategies:
            tt = st.totals
            rows.append(
                [
                    st.name + (" (recommended)" if st.chosen else ""),
                    num(st.objective, 1) if st.objective is not None else "goals cannot be met",
                    num(tt.get("conversions")),
                    num(tt.get("followers")),
                    num(tt.get("cost_total")),
                ]
            )
        out.append(
            ("table", ["strategy", "objective", "conversions", "followers", f"cost ({cur})"], rows)
        )
        out.append(("p", _why_strategy(plan)))
    out.append(("h2", "Results by phase"))
    out.append(
        (
            "table",
            ["phase", "metric", "total"],
            [
                [
                    "awareness",
                    "people reached",
                    f"{num(t['reach'])} ({t['reach_share']:.1%} of the target group)",
                ],
                ["awareness", "paid impressions", num(t["impressions"])],
                ["consideration", "visits to the platform", num(t["visits"])],
                ["consideration", "followers at the end", num(t["followers"])],
                ["consideration", "engagements", num(t["engagements"])],
                ["conversion", "conversions", num(t["conversions"])],
            ],
        )
    )
    out.append(("h2", "Costs, webcare and adverse events"))
    out.append(
        (
            "table",
            ["line", "amount"],
            [
                [f"media ({cur})", num(t["cost_media"])],
                [f"community: set-up and content ({cur})", num(t["cost_community"])],
                [
                    f"webcare ({cur})",
                    f"{num(t['cost_webcare'])} for {num(t['webcare_hours'])} hours",
                ],
                [f"adverse-event handling ({cur})", num(t["cost_ae"])],
                [f"total ({cur})", num(t["cost_total"])],
                ["comments to moderate", num(t["comments"])],
                [
                    "expected AE cases (95th percentile)",
                    f"{num(t['ae_cases'], 1)} ({num(t['ae_cases_p95'])})",
                ],
                [
                    "expected valid ICSRs / serious",
                    f"{num(t['valid_icsrs'], 1)} / {num(t['serious_icsrs'], 2)}",
                ],
                [f"cost per conversion ({cur})", num(o.kpis["cost_per_conversion"], 2)],
            ],
        )
    )
    sens = [line.strip() for line in sensitivity_lines(plan) if line.strip()]
    if sens:
        out.append(("h2", "What would change the answer"))
        out.append(("list", sens))
    if figures:
        out += _figures(plan, scenario)
    out += _assumptions(scenario) + _certificate(plan)
    return out


def _goal_achieved(plan: Plan, i: int) -> str:
    if plan.outcome is None:
        return "-"
    g = plan.outcome.goals[i]
    return metrics.format_value(g.metric, g.achieved)


def _goal_met(plan: Plan, i: int) -> str:
    if plan.outcome is None:
        return "no plan"
    return "yes" if plan.outcome.goals[i].met else "no"


def _why_strategy(plan: Plan) -> str:
    if plan.decision is not None:
        return plan.decision.reason
    chosen = next((s for s in plan.strategies if s.chosen), None)
    other = next((s for s in plan.strategies if not s.chosen), None)
    if chosen is None or other is None:
        return ""
    if other.objective is None:
        return f"Only '{chosen.name}' meets the hard goals."
    gap = (chosen.objective or 0.0) - other.objective
    return (
        f"'{chosen.name}' scores {gap:,.1f} more on the objective ({plan.objective_name}, after any "
        f"soft-goal penalties) than '{other.name}'."
    )


def _assumptions(scenario: Scenario | None) -> list[Block]:
    out: list[Block] = [("h2", "Assumptions register")]
    if scenario is None or not scenario.sources:
        out.append(
            ("p", "No sources were given; add a [sources] table to the scenario to list them here.")
        )
        return out
    out.append(
        ("table", ["field", "source"], [[k, v] for k, v in sorted(scenario.sources.items())])
    )
    return out


def _certificate(plan: Plan) -> list[Block]:
    rows = [
        ["status", plan.status],
        ["solver", plan.backend],
        [
            "curve tolerance",
            f"{plan.tolerance:.2%} (chords never promise more than the model delivers)",
        ],
        ["funnelopt", plan.version],
    ]
    if plan.verification is not None:
        rows.append(["simulation check", plan.verification.describe()])
    if plan.certificate is not None:
        rows.append(["optimality", plan.certificate.describe()])
    return [("h2", "Certificate"), ("table", ["", ""], rows)]


def _figures(plan: Plan, scenario: Scenario | None) -> list[Block]:
    try:
        import matplotlib

        matplotlib.use("Agg", force=False)
        import matplotlib.pyplot as plt
    except ImportError:
        return [("p", "(Install matplotlib for the figures: pip install 'funnelopt[notebook]'.)")]
    from funnelopt.report import plots

    out: list[Block] = [("h2", "Figures")]
    drawings: list[tuple[str, Callable[[], Any]]] = [
        ("spend", lambda: plots.spend_over_time(plan, scenario).figure),
        ("funnel", lambda: plots.funnel(plan).figure),
        ("community", lambda: plots.community(plan, scenario)),
    ]
    for name, draw in drawings:
        if name == "community" and not plan.community:
            continue
        fig = draw()
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
        plt.close(fig)
        out.append(("img", name, buf.getvalue()))
    return out


def write(plan: Plan, scenario: Scenario | None, path: str | Path) -> Path:
    """Write the report as HTML (images embedded) or Markdown (images beside it), by suffix."""
    p = Path(path)
    content = blocks(plan, scenario)
    if p.suffix.lower() in (".md", ".markdown"):
        p.write_text(to_markdown(content, p), encoding="utf-8")
    else:
        p.write_text(to_html(content), encoding="utf-8")
    return p


def to_markdown(content: list[Block], path: Path | None = None) -> str:
    """Markdown; figures are written as PNG files next to ``path``."""
    lines: list[str] = []
    for b in content:
        kind = b[0]
        if kind == "h1":
            lines += [f"# {_md(b[1])}", ""]
        elif kind == "h2":
            lines += [f"## {_md(b[1])}", ""]
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


def to_html(content: list[Block]) -> str:
    """A self-contained HTML page: inline CSS, images as data URIs, no network needed."""
    body: list[str] = []
    title = "funnelopt report"
    for b in content:
        kind = b[0]
        if kind == "h1":
            title = b[1]
            body.append(f"<h1>{escape(b[1])}</h1>")
        elif kind == "h2":
            body.append(f"<h2>{escape(b[1])}</h2>")
        elif kind == "p":
            body.append(f"<p>{escape(b[1])}</p>")
        elif kind == "list":
            body.append("<ul>" + "".join(f"<li>{escape(i)}</li>" for i in b[1]) + "</ul>")
        elif kind == "table":
            head = "".join(f"<th>{escape(h)}</th>" for h in b[1])
            rows = "".join(
                "<tr>" + "".join(f"<td>{escape(str(c))}</td>" for c in r) + "</tr>" for r in b[2]
            )
            body.append(f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>")
        elif kind == "img":
            data = base64.b64encode(b[2]).decode("ascii")
            body.append(
                f"<figure><img alt='{escape(b[1])}' src='data:image/png;base64,{data}'></figure>"
            )
    css = (
        "body{font-family:system-ui,sans-serif;max-width:900px;margin:2em auto;color:#222;line-height:1.45}"
        "table{border-collapse:collapse;margin:.5em 0 1em}td,th{border-bottom:1px solid #ddd;padding:4px 10px;"
        "text-align:left}th{background:#f4f4f4}img{max-width:100%}h2{margin-top:1.6em}"
    )
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>{escape(title)}</title><style>{css}</style></head><body>"
        + "\n".join(body)
        + "<p style='color:#777;font-size:small'>Made with funnelopt.</p></body></html>\n"
    )
