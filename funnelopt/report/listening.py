"""The social-listening section: lift, topics and pre-launch shares as one list of blocks,
rendered for the terminal, as Markdown or as a self-contained HTML report."""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path

from funnelopt.listening import Lift, TopicLift, TopicShare
from funnelopt.report.document import Block, to_html, to_markdown
from funnelopt.report.text import _title, num, table, wrap

#: What the estimate cannot say, in every rendering.
CAUSAL_CAVEAT = (
    "The lift says the conversation grew more (or less) than its own trend and season "
    "predict. The launch is its cause only if nothing else changed from the same date "
    "(news, a guideline, another campaign, the listening query itself)."
)


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{x:+.1f}%"


def _span(lo: float, hi: float, pct: bool = True) -> str:
    return f"{lo:+.1f}% to {hi:+.1f}%" if pct else f"{num(lo)} to {num(hi)}"


def blocks(
    est: Lift,
    topics: Sequence[TopicLift] = (),
    shares: Sequence[TopicShare] = (),
    last: int = 0,
    by: str = "topic",
    figure: bool = False,
) -> list[Block]:
    """The section's content, format-neutral (``figure`` adds the plot as a PNG); the
    groups are topics or sentiments (``by``)."""
    level = f"{est.level:.0%}"
    unit = est.step
    lo, hi = est.interval
    a_lo, a_hi = est.absolute_interval
    obs = est.observed_total
    out: list[Block] = [
        ("h1", f"Social listening: {est.source}"),
        (
            "p",
            f"Launch {est.start}: {est.pre_periods} {unit}s before it, {est.post_periods} after. "
            f"Model: {est.model}.",
        ),
        ("p", est.verdict[0].upper() + est.verdict[1:] + "."),
        (
            "table",
            ["since the launch", "value", f"{level} interval"],
            [
                ["mentions", num(obs), ""],
                [
                    "expected without the launch",
                    num(est.expected_total),
                    _span(obs - a_hi, obs - a_lo, False),
                ],
                ["lift", _pct(est.lift_pct), _span(lo, hi)],
                ["extra mentions", f"{est.absolute:+,.0f}", f"{a_lo:+,.0f} to {a_hi:+,.0f}"],
                ["chance the lift is positive", f"{est.p_positive:.1%}", ""],
            ],
        ),
    ]
    if figure:
        out += _figure(est)
    if topics:
        out.append(
            (
                "h2",
                f"{by.capitalize()}s since the launch (each with its own baseline; {level} intervals)",
            )
        )
        out.append(
            (
                "table",
                [by, "share before", "share after", "lift", f"{level} interval", "reading"],
                [
                    [
                        t.topic,
                        f"{t.share_before:.1%}",
                        f"{t.share_after:.1%}",
                        _pct(t.lift.lift_pct if t.lift else None),
                        _span(*t.lift.interval) if t.lift else "-",
                        t.lift.verdict.split(":")[0] if t.lift else t.note,
                    ]
                    for t in topics
                ],
            )
        )
    if shares:
        out.append(("h2", f"{by.capitalize()} shares in the last {last} {unit}s before the launch"))
        out.append(
            (
                "table",
                [by, "mentions", "share"],
                [[s.topic, num(s.mentions), f"{s.share:.1%}"] for s in shares],
            )
        )
    notes = [*est.notes]
    if len(topics) > 1:
        notes.append(
            f"each {by}'s interval holds at {level} on its own: among {len(topics)}, one may miss by chance"
        )
    notes.append(CAUSAL_CAVEAT)
    out += [("h2", "Notes"), ("list", notes)]
    return out


def _figure(est: Lift) -> list[Block]:
    try:
        import matplotlib

        matplotlib.use("Agg", force=False)
        import matplotlib.pyplot as plt
    except ImportError:
        return [("p", "(Install matplotlib for the figure: pip install 'funnelopt[notebook]'.)")]
    from funnelopt.report import plots

    fig = plots.listening(est).figure
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return [("img", "listening", buf.getvalue())]


def to_text(content: list[Block], markdown: bool = False) -> str:
    """For the terminal (tables fit 80 columns) or as Markdown without images."""
    if markdown:
        return to_markdown(content)
    lines: list[str] = []
    for b in content:
        kind = b[0]
        if kind in ("h1", "h2"):
            lines += [_title(b[1], False, 1 if kind == "h1" else 2), ""]
        elif kind == "p":
            lines += [wrap(b[1]), ""]
        elif kind == "list":
            lines += [wrap(f"- {item}") for item in b[1]] + [""]
        elif kind == "table":
            lines += [table(b[1], b[2]), ""]
    return "\n".join(lines).rstrip() + "\n"


def write(path: str | Path, content: list[Block]) -> Path:
    """The section as a report: HTML (the figure embedded) or Markdown (PNG beside it)."""
    p = Path(path)
    md = p.suffix.lower() in (".md", ".markdown")
    p.write_text(to_markdown(content, p) if md else to_html(content), encoding="utf-8")
    return p
