"""Plots for notebooks and reports (matplotlib is the ``notebook`` extra).

Each function draws on ``ax`` when given (else a new figure), returns the Axes (or the
Figure for multi-panel plots), labels axes with units, formats money with the currency,
and uses the Okabe-Ito colour-blind safe palette. Dark posts are solid; follower ads
(community growth) are hatched.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from funnelopt import metrics
from funnelopt.errors import FunnelOptError

if TYPE_CHECKING:
    from funnelopt.analysis.uncertainty import Forecast
    from funnelopt.listening import Lift
    from funnelopt.outcome import Outcome
    from funnelopt.plan import Plan
    from funnelopt.scenario import Scenario
    from funnelopt.studies.frontier import Frontier
    from funnelopt.studies.replan import Replan
    from funnelopt.studies.sweep import Sweep

#: Okabe & Ito (2008), safe for the common colour-vision deficiencies.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000")


def _plt() -> Any:
    try:
        import matplotlib.pyplot as plt
    except ImportError:  # pragma: no cover - exercised where matplotlib is absent
        raise FunnelOptError(
            "plots need matplotlib: pip install 'funnelopt[notebook]' (or pip install matplotlib)"
        ) from None
    return plt


def _money(ax_axis: Any, currency: str) -> None:
    from matplotlib.ticker import FuncFormatter

    def label(v: float, _pos: int) -> str:
        # Compact thousands keep tick labels apart on a budget axis.
        return f"{currency} {v / 1000:,.0f}k" if abs(v) >= 10_000 else f"{currency} {v:,.0f}"

    ax_axis.set_major_formatter(FuncFormatter(label))


def _thousands(ax_axis: Any) -> None:
    """Plain numbers with thousands separators (no 1e6 offset, no scientific notation)."""
    from matplotlib.ticker import FuncFormatter

    ax_axis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:,.0f}"))


def _periods_axis(ax: Any, o: Outcome, scenario: Scenario | None) -> None:
    """Period ticks 1..n (never "week 0"), or start dates when the scenario has them."""
    from funnelopt.report.calendar import short_dates

    n = o.periods
    step = max(1, int(np.ceil(n / 13)))
    ticks = list(range(1, n + 1, step))
    labels = short_dates(scenario, n)
    dated = scenario is not None and scenario.start_date is not None
    ax.set_xticks(ticks, [labels[t - 1] for t in ticks], rotation=45 if dated else 0)
    ax.set_xlim(0.4, n + 0.6)
    ax.set_xlabel(f"{o.period_label} starting" if dated else o.period_label)


def _scenario_of(x: Plan | Outcome, scenario: Scenario | None) -> Scenario | None:
    return scenario if scenario is not None else getattr(x, "scenario", None)


def _finish(ax: Any, title: str, legend: bool = True) -> None:
    """The house style: a title, a frameless small legend, no top/right spines."""
    ax.set_title(title)
    if legend:
        ax.legend(frameon=False, fontsize="small")
    ax.spines[["top", "right"]].set_visible(False)
    # User text (period labels, names) in titles, axis labels and legends is shown as
    # written: a "$" must not start matplotlib's math mode, which fails on labels such as
    # "$^$". Tick labels keep it: log axes write theirs as math ($10^{4}$).
    box = ax.get_legend()
    for text in (ax.title, ax.xaxis.label, ax.yaxis.label, *(box.get_texts() if box else ())):
        text.set_parse_math(False)


def _new_ax(ax: Any, size: tuple[float, float] = (8, 4)) -> Any:
    if ax is not None:
        return ax
    _fig, new = _plt().subplots(figsize=size)
    return new


def _outcome(x: Plan | Outcome) -> Outcome:
    from funnelopt.outcome import Outcome

    out = x if isinstance(x, Outcome) else x.outcome
    if out is None:
        raise FunnelOptError(
            "this plan is infeasible: there is no outcome to plot (see plan.diagnosis)"
        )
    return out


def spend_over_time(plan: Plan, scenario: Scenario | None = None, ax: Any = None) -> Any:
    """Spend per period, stacked by tactic (dark posts solid, follower ads hatched)."""
    o = _outcome(plan)
    scenario = _scenario_of(plan, scenario)
    ax = _new_ax(ax)
    spend = o.by_tactic["spend"]
    periods = np.arange(1, spend.shape[0] + 1)
    kinds = {t.id: t.kind for t in scenario.tactics} if scenario else {}
    name = scenario.tactic_name if scenario else str
    bottom = np.zeros(len(periods))
    for j, tid in enumerate(o.tactic_ids):
        community = kinds.get(tid) == "community" or o.by_tactic["new_followers"][:, j].sum() > 0
        ax.bar(
            periods,
            spend[:, j],
            bottom=bottom,
            color=PALETTE[j % len(PALETTE)],
            hatch="//" if community else None,
            edgecolor="white",
            label=f"{name(tid)} ({'follower ads' if community else 'dark posts'})",
        )
        bottom += spend[:, j]
    _periods_axis(ax, o, scenario)
    ax.set_ylabel(f"spend ({o.currency})")
    _money(ax.yaxis, o.currency)
    _finish(ax, "Spend over time")
    return ax


def funnel(plan: Plan | Outcome, ax: Sequence[Any] | None = None) -> Any:
    """The funnel per phase, one linear panel per stage (reach, visits, followers,
    conversions: their scales differ a thousand-fold, and a log axis is not read by
    marketers). Each bar is the campaign's end value; a goal is a black bar at its target
    with a white dot at the value reached by its due period. Returns the Figure; ``ax``:
    four Axes to draw on."""
    o = _outcome(plan)
    scenario = _scenario_of(plan, None)
    plt = _plt()
    if ax is None:
        fig, axes = plt.subplots(4, 1, figsize=(8, 4.2), sharex=False)
    else:
        axes = list(ax)
        fig = axes[0].figure
    t = o.totals
    stages = [
        ("awareness", "reach", "people reached"),
        ("consideration", "visits", "site visits"),
        ("consideration", "followers", "followers"),
        ("conversion", "conversions", "conversions"),
    ]
    colours = [PALETTE[0], PALETTE[1], PALETTE[3], PALETTE[2]]
    pop = t["reach"] / max(t["reach_share"], 1e-12)
    marked = False
    for a, (phase, metric, label), colour in zip(axes, stages, colours, strict=True):
        value = max(t[metric], 0.0)
        a.barh([0], [value], color=colour, height=0.6)
        a.set_yticks([0], [f"{label}\n({phase})"])
        a.text(value, 0, f" {value:,.0f}", va="center", fontsize="small")
        top = value
        for g in o.goals:
            if ("reach" if g.metric == "reach_share" else g.metric) != metric:
                continue
            target = g.target * pop if g.metric == "reach_share" else g.target
            due = g.achieved * pop if g.metric == "reach_share" else g.achieved
            when = (
                scenario.period_name(g.by) if scenario is not None else f"{o.period_label} {g.by}"
            )
            a.plot([target, target], [-0.42, 0.42], color="black", lw=2,
                   label=None if marked else "goal")  # fmt: skip
            a.plot([due], [0], "o", color="black", ms=5, mfc="white",
                   label=None if marked else "value at the goal's date")  # fmt: skip
            a.annotate(f"goal by {when}", (target, 0.45), fontsize="x-small", ha="center",
                       va="bottom", parse_math=False)  # fmt: skip
            top = max(top, target, due)
            marked = True
        a.set_xlim(0, top * 1.22 if top > 0 else 1)
        a.set_ylim(-0.6, 0.95)
        _thousands(a.xaxis)
        _finish(a, "", legend=False)
    axes[0].set_title("The funnel (end of campaign)")
    if marked:
        fig.tight_layout()
        fig.legend(*axes_handles(axes), frameon=False, fontsize="small", loc="upper right",
                   ncol=2, bbox_to_anchor=(1.0, 1.06))  # fmt: skip
    else:
        fig.tight_layout()
    return fig


def axes_handles(axes: Sequence[Any]) -> tuple[list[Any], list[str]]:
    """Legend handles and labels gathered from several Axes (each label once)."""
    handles: list[Any] = []
    labels: list[str] = []
    for a in axes:
        for h, lab in zip(*a.get_legend_handles_labels(), strict=True):
            if lab not in labels:
                handles.append(h)
                labels.append(lab)
    return handles, labels


def community(
    plan: Plan | Outcome, scenario: Scenario | None = None, ax: Sequence[Any] | None = None
) -> Any:
    """Followers over time, and webcare hours and AE cases against capacity (3 panels)."""
    o = _outcome(plan)
    scenario = _scenario_of(plan, scenario)
    plt = _plt()
    if ax is None:
        fig, axes = plt.subplots(1, 3, figsize=(12, 3.5))
    else:
        axes = list(ax)
        fig = axes[0].figure
    periods = np.arange(1, o.periods + 1)
    pp = o.per_period
    axes[0].plot(periods, pp["followers"], color=PALETTE[3], lw=2, label="followers")
    for g in o.goals:
        if g.metric == "followers":
            axes[0].plot([g.by], [g.target], "_", color="black", ms=16, mew=2, label="goal")
    axes[0].set_title("Followers")
    axes[0].set_ylabel("followers")
    cap_h = o.capacity["webcare_hours"]["capacity"]
    axes[1].bar(periods, pp["webcare_hours"], color=PALETTE[4], label="webcare hours")
    if cap_h:
        axes[1].axhline(cap_h, color=PALETTE[5], ls="--", label="capacity")
    axes[1].set_title("Webcare")
    axes[1].set_ylabel(f"hours per {o.period_label}")
    cap_c = o.capacity["ae_cases"]["capacity"]
    axes[2].bar(periods, pp["ae_cases"], color=PALETTE[1], label="expected AE cases")
    axes[2].plot(
        periods, pp["ae_cases_p95"], color="black", marker=".", ls="none", label="95th percentile"
    )
    if cap_c:
        axes[2].axhline(cap_c, color=PALETTE[5], ls="--", label="capacity")
    axes[2].set_title("Adverse events")
    axes[2].set_ylabel(f"cases per {o.period_label}")
    for i, a in enumerate(axes):
        _periods_axis(a, o, scenario)
        _thousands(a.yaxis)
        _finish(a, a.get_title(), legend=i > 0 or any(g.metric == "followers" for g in o.goals))
    fig.tight_layout()
    return fig


def frontier(sweep: Sweep, chosen: float | None = None, ax: Any = None) -> Any:
    """The efficient frontier of a budget sweep: budget -> best objective, knee marked."""
    ax = _new_ax(ax)
    param = sweep.params[0]
    pts = [p for p in sweep.points if p.status == "optimal" and p.objective is not None]
    x = [float(p.values[param]) for p in pts]
    y = [float(p.objective) for p in pts]  # type: ignore[arg-type]
    ax.plot(x, y, color=PALETTE[0], lw=2, marker="o", ms=3, label="best plan")
    bad = [float(p.values[param]) for p in sweep.points if p.status != "optimal"]
    if bad:
        ax.plot(
            bad,
            [min(y) if y else 0.0] * len(bad),
            "x",
            color=PALETTE[5],
            label="goals cannot be met",
        )
    if sweep.knee:
        kx = float(sweep.knee["values"][param])
        ax.axvline(kx, color=PALETTE[2], ls="--", label=f"knee ({sweep.currency} {kx:,.0f})")
    if chosen is not None:
        ax.axvline(chosen, color="black", ls=":", label=f"chosen ({sweep.currency} {chosen:,.0f})")
    ax.set_xlabel(f"{param} ({sweep.currency})")
    _money(ax.xaxis, sweep.currency)
    ax.set_ylabel(f"objective ({sweep.objective_name}, less soft-goal penalties)")
    _finish(ax, "Efficient frontier")
    return ax


def tradeoff(front: Frontier, ax: Any = None) -> Any:
    """A trade-off frontier: the most ``y`` for each level of ``x``, community setting marked."""
    ax = _new_ax(ax)
    pts = front.points
    for a, b in itertools.pairwise(pts):
        # Between a plan without the community and one with it lies no plan: a jump.
        jump = a.community != b.community
        ax.plot(
            [a.x, b.x], [a.y, b.y], color=PALETTE[0], lw=1 if jump else 2, ls=":" if jump else "-"
        )
    for on, colour, label in (
        (True, PALETTE[1], "community on"),
        (False, PALETTE[3], "community off"),
    ):
        some = [p for p in front.points if any(p.community.values()) is on]
        if some:
            ax.plot([p.x for p in some], [p.y for p in some], "o", color=colour, label=label)
    ax.set_xlabel(f"{front.x} (at the end)" if front.x == "followers" else front.x)
    ax.set_ylabel(front.y)
    from matplotlib.ticker import FuncFormatter

    for axis in (ax.xaxis, ax.yaxis):
        axis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}"))
    ax.set_xlim(left=0)
    _finish(ax, f"Trade-off: {front.y} against {front.x}")
    return ax


def plan_vs_actual(r: Replan, metric: str = "visits", ax: Any = None) -> Any:
    """Per period: the original plan, what happened, and the new plan from here on."""
    ax = _new_ax(ax)
    label = r.scenario.period_label
    periods = np.arange(1, r.scenario.periods + 1)
    done = r.periods_done
    if r.original.outcome is not None:
        planned = r.original.outcome.by_tactic.get(metric)
        if planned is not None:
            ax.plot(periods, planned.sum(axis=1), color=PALETTE[7], ls="--", label="original plan")
    if r.actuals.has(metric):
        seen = np.nansum(r.actuals.values[metric], axis=1)
        ax.plot(periods[:done], seen, color="black", marker="o", ms=4, label="actual")
    new = r.plan.outcome or (r.plan.best_effort.outcome if r.plan.best_effort else None)
    if new is not None and metric in new.by_tactic:
        ahead = new.by_tactic[metric].sum(axis=1)
        said = "new plan" if r.plan.outcome is not None else "best effort (goals out of reach)"
        ax.plot(periods[done:], ahead[done:], color=PALETTE[0], lw=2, marker="o", ms=3, label=said)
    ax.axvline(done + 0.5, color=PALETTE[2], ls=":", label=f"today (after {label} {done})")
    ax.set_xlabel(label)
    ax.set_ylabel(metric)
    from matplotlib.ticker import FuncFormatter

    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}"))
    ax.set_ylim(bottom=0)
    _finish(ax, f"{metric.capitalize()} per {label}: planned, actual, re-planned")
    return ax


def response_curves(scenario: Scenario, plan: Plan | None = None, ax: Any = None) -> Any:
    """Impressions per period against spend per period for each tactic; the plan's
    average active spend marked."""
    from funnelopt.simulator import delivery

    ax = _new_ax(ax)
    top = max(3.0 * t.saturation_spend for t in scenario.tactics)
    if scenario.budget.period_max:
        top = min(top, scenario.budget.period_max * 1.2)
    grid = np.linspace(0, top, 200)
    spend = plan.spend if plan is not None else None
    for j, t in enumerate(scenario.tactics[:8]):
        if t.response:
            continue  # its curve gives conversions of adstocked spend, not impressions
        colour = PALETTE[j % len(PALETTE)]
        ls = "--" if t.kind == "community" else "-"
        ax.plot(
            grid,
            delivery(grid, t.saturation_impressions, t.saturation_spend, t.shape),
            color=colour,
            ls=ls,
            label=t.id,
        )
        if spend is not None and spend[:, j].sum() > 0:
            active = spend[:, j][spend[:, j] > 0]
            s_mean = float(active.mean())
            ax.plot([s_mean], [float(delivery(s_mean, t.saturation_impressions, t.saturation_spend, t.shape))], "o",
                    color=colour, ms=7, markeredgecolor="black")  # fmt: skip
    ax.set_xlabel(f"spend per {scenario.period_label} ({scenario.currency})")
    _money(ax.xaxis, scenario.currency)
    ax.set_ylabel(f"impressions per {scenario.period_label}")
    drawn = any(not t.response for t in scenario.tactics[:8])
    _finish(ax, "Response curves (dots: the plan's average active spend)", legend=drawn)
    return ax


def listening(est: Lift, ax: Any = None) -> Any:
    """Mentions per period: observed, the baseline (its fit before the launch, the
    counterfactual after) with its band, and the launch line. Linear axes."""
    from matplotlib.ticker import FuncFormatter

    ax = _new_ax(ax, (9, 4))
    x = np.arange(len(est.periods))
    post = est.pre_periods
    ax.fill_between(x[post:], est.low[post:], est.high[post:], color=PALETTE[4], alpha=0.35, lw=0,
                    label=f"counterfactual, {est.level:.0%} band")  # fmt: skip
    ax.fill_between(x[: post + 1], est.low[: post + 1], est.high[: post + 1], color="#BBBBBB",
                    alpha=0.35, lw=0, label=f"fit before the launch, {est.level:.0%} band")  # fmt: skip
    ax.plot(x, est.expected, color=PALETTE[0], lw=1.5, ls="--", label="expected without the launch")
    dense = len(x) > 160  # e.g. daily counts: a thin line, no markers
    ax.plot(x, est.observed, color="black", lw=0.7 if dense else 1.2,
            marker=None if dense else ".", ms=3, label="observed")  # fmt: skip
    ax.axvline(post - 0.5, color=PALETTE[5], lw=1.5, label=f"launch ({est.start})")
    ticks = np.linspace(0, len(x) - 1, min(len(x), 8)).round().astype(int)
    ax.set_xticks(ticks, [est.periods[i] for i in ticks], rotation=30, ha="right")
    ax.set_xlabel(est.step)
    ax.set_ylabel(f"mentions per {est.step}")
    ax.set_ylim(bottom=0)
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:,.0f}"))
    lo, hi = est.interval
    # Below the axes: inside, the legend would cover the counts it explains.
    ax.legend(
        frameon=False, fontsize="small", loc="upper center", bbox_to_anchor=(0.5, -0.28), ncol=3
    )
    title = f"Mentions: {est.lift_pct:+.1f}% since the launch ({est.level:.0%} interval {lo:+.1f}% to {hi:+.1f}%)"
    _finish(ax, title, legend=False)
    return ax


def fan(forecast: Forecast, metric: str = "conversions", ax: Any = None) -> Any:
    """A metric to date per period over the draws: P5-P95 and P25-P75 bands, the median,
    and each goal on the metric as a marker at its period (with its probability)."""
    ax = _new_ax(ax)
    bands = forecast.cumulative_quantiles(metric, (0.05, 0.25, 0.5, 0.75, 0.95))
    periods = np.arange(1, bands.shape[1] + 1)
    colour = PALETTE[0]
    ax.fill_between(periods, bands[0], bands[4], color=colour, alpha=0.2, lw=0, label="P5-P95")
    ax.fill_between(periods, bands[1], bands[3], color=colour, alpha=0.35, lw=0, label="P25-P75")
    ax.plot(periods, bands[2], color=colour, lw=2, label="median")
    for g in forecast.goals:
        if g.metric == metric:
            ax.plot(
                g.by,
                g.target,
                marker="D",
                color=PALETTE[5],
                ls="none",
                label=f"goal by {forecast.period_label} {g.by}: P(met) {g.probability:.0%}",
            )
    info = metrics.info(metric)
    ax.set_xlabel(forecast.period_label)
    ax.set_ylabel(f"{info.label} to date" if metric not in metrics.STOCKS else info.label)
    if info.unit == "currency":
        _money(ax.yaxis, forecast.currency)
    _finish(ax, f"{info.label}: forecast over {forecast.draws:,} draws")
    return ax


def tornado(forecast: Forecast, metric: str = "conversions", top: int = 8, ax: Any = None) -> Any:
    """The inputs that move a metric most: a bar per input from the metric at the input's
    P5 to the metric at its P95 (others nominal), around the nominal total."""
    every = forecast.tornado(metric)
    largest = every[0].width if every else 0.0
    swings = [w for w in every if w.width > 0.01 * largest and w.width > 0][:top][::-1]
    ax = _new_ax(ax, (8, 0.5 + 0.45 * max(len(swings), 1)))
    base = forecast.nominal[metric]
    for i, w in enumerate(swings):
        for end, colour, label in (
            (w.at_low, PALETTE[4], "input at P5"),
            (w.at_high, PALETTE[0], "input at P95"),
        ):
            ax.barh(i, end - base, left=base, color=colour, label=label if i == 0 else None)
    ax.set_yticks(range(len(swings)), [w.path for w in swings])
    ax.axvline(base, color="black", lw=1)
    ax.set_xlabel(f"{metrics.info(metric).label} (nominal {base:,.0f})")
    _finish(ax, f"What moves {metrics.info(metric).label} most", legend=bool(swings))
    return ax
