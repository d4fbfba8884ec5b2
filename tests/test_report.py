"""Frames, notebook HTML, plots and the client report."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import matplotlib
import numpy as np
import pytest
from conftest import COMMUNITY, EXAMPLES, ROOT

from funnelopt import FunnelOptError, Scenario, optimize, sweep
from funnelopt.report import plots

matplotlib.use("Agg")
import matplotlib.pyplot as plt

FULL = Scenario.from_file(EXAMPLES / "disease_awareness.toml")
PLAN = optimize(FULL)
FLOWS = (
    "spend",
    "impressions",
    "organic_impressions",
    "clicks",
    "visits",
    "conversions",
    "new_followers",
    "comments",
)


def test_outcome_frame_has_the_columns_and_sums_to_the_totals() -> None:
    df = PLAN.to_frame()
    from funnelopt.report.frames import COLUMNS

    assert list(df.columns) == list(COLUMNS)
    assert len(df) == FULL.periods * (len(FULL.tactics) + len(FULL.communities))
    for m in FLOWS:
        assert df[m].sum() == pytest.approx(PLAN.outcome.totals[m], rel=1e-9), m
    totals = PLAN.outcome.totals_frame()
    assert set(totals["phase"]) >= {"awareness", "consideration", "conversion"}
    row = totals[totals.metric == "conversions"].iloc[0]
    assert row.value == PLAN.outcome.totals["conversions"] and row.phase == "conversion"


def test_sweep_frame() -> None:
    sw = sweep(FULL, {"budget.total": [120_000.0, 150_000.0]})
    df = sw.to_frame()
    assert list(df["budget.total"]) == [120_000.0, 150_000.0]
    assert {"status", "objective", "conversions"} <= set(df.columns)


def test_frames_say_how_to_install_pandas(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "pandas" else real(name, *a)
    )
    with pytest.raises(FunnelOptError, match=r"pip install 'funnelopt\[notebook\]'"):
        PLAN.to_frame()


def test_html_reprs_render_without_pandas() -> None:
    code = (
        "import sys; sys.modules['pandas'] = None; sys.modules['matplotlib'] = None\n"
        "from funnelopt import Scenario, optimize, sweep\n"
        f"s = Scenario.from_file({str(EXAMPLES / 'disease_awareness.toml')!r})\n"
        "p = optimize(s)\n"
        "for obj in (s, p, p.outcome, sweep(s, {'budget.total': [150000.0]})):\n"
        "    print(len(obj._repr_html_()), obj._repr_html_()[:40])\n"
        "print('GOALS' if 'reach_share' in p._repr_html_() and 'conversions' in p._repr_html_() else 'NO')\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.count("<div") == 4 and "GOALS" in r.stdout


def test_plan_html_shows_goals_strategies_and_infeasible() -> None:
    html = PLAN._repr_html_()
    assert "optimal" in html and "Strategies" in html and html.count("- met") == 3
    bad = optimize(FULL.with_overrides({"goals[2].target": 6000}))._repr_html_()
    assert "infeasible" in bad and "conflict" in bad


def test_spend_plot_tells_dark_posts_from_follower_ads() -> None:
    ax = plots.spend_over_time(PLAN, FULL)
    assert len(ax.containers) == len(FULL.tactics)
    hatches = {c.get_label(): c.patches[0].get_hatch() for c in ax.containers}
    assert (
        hatches["meta_follow (follower ads)"] == "//" and hatches["meta_dark (dark posts)"] is None
    )
    heights = np.array([[p.get_height() for p in c.patches] for c in ax.containers])
    assert np.allclose(heights.T, PLAN.spend)
    assert "EUR" in ax.get_ylabel()
    plt.close("all")


def test_funnel_plot_marks_goals_at_their_date_on_linear_axes() -> None:
    fig = plots.funnel(PLAN)
    _reach, _visits, followers, conversions = fig.axes
    assert all(a.get_xscale() == "linear" for a in fig.axes)
    assert conversions.patches[0].get_width() == pytest.approx(PLAN.outcome.totals["conversions"])
    goal_bars = [ln for a in fig.axes for ln in a.lines if ln.get_linestyle() == "-"]
    assert len(goal_bars) == 3  # reach share, followers (soft goals too), conversions
    # The followers goal is compared with followers at its due week, not at the end.
    goal = next(g for g in PLAN.outcome.goals if g.metric == "followers")
    dot = next(ln for ln in followers.lines if ln.get_marker() == "o")
    assert dot.get_xdata()[0] == pytest.approx(goal.achieved)
    fig.canvas.draw()
    assert "," in followers.get_xticklabels()[-1].get_text()  # thousands separators
    plt.close("all")


def test_community_plot_draws_capacity() -> None:
    fig = plots.community(PLAN, FULL)
    followers, webcare, ae = fig.axes
    assert np.allclose(followers.lines[0].get_ydata(), PLAN.outcome.per_period["followers"])
    capacity = [line for line in webcare.lines if line.get_linestyle() == "--"]
    assert capacity and capacity[0].get_ydata()[0] == FULL.webcare.capacity_hours
    assert len(ae.patches) == FULL.periods
    plt.close("all")


def test_frontier_and_response_curves() -> None:
    sw = sweep(FULL, {"budget.total": [float(v) for v in range(80_000, 200_001, 20_000)]})
    ax = plots.frontier(sw, chosen=150_000)
    labels = [line.get_label() for line in ax.lines]
    assert any(lab.startswith("knee") for lab in labels) and any(
        lab.startswith("chosen") for lab in labels
    )
    ax2 = plots.response_curves(FULL, PLAN)
    curves = [line for line in ax2.lines if len(line.get_xdata()) > 10]
    markers = [line for line in ax2.lines if len(line.get_xdata()) == 1]
    assert len(curves) == len(FULL.tactics) and len(markers) == 2
    fig, axes = plt.subplots(4, 1)
    assert plots.funnel(PLAN, ax=axes) is fig  # draws where it is told
    plt.close("all")


def test_plot_of_infeasible_plan_explains() -> None:
    bad = optimize(FULL.with_overrides({"goals[2].target": 6000}))
    with pytest.raises(FunnelOptError, match="infeasible"):
        plots.funnel(bad)


def test_html_report_is_self_contained_and_complete(tmp_path: Path) -> None:
    path = PLAN.report(tmp_path / "proposal.html")
    html = path.read_text()
    for section in ("Executive summary", "Campaign goals", "Flighting plan", "The funnel by phase",
                    "A patient community, or ads alone?", "Costs", "Pharmacovigilance and webcare",
                    "Risks and limitations", "What would change the answer",
                    "Appendix: assumptions register", "Appendix: how the plan was checked"):  # fmt: skip
        assert section in html, section
    for g in FULL.goals:
        assert f"<td>{g.metric.value.replace('_', ' ')}</td>" in html
    assert html.count("data:image/png;base64,") == 3
    assert "http://" not in html.replace("http://www.w3.org", "") and "src='http" not in html
    for key in FULL.sources:
        assert key.split(".")[-1].replace("_", " ") in html
    # Client wording: no internal references, no solver jargon.
    for word in ("domain-figures", "docs/sources.md", "objective:", "binding", "chords"):
        assert word not in html, word


def test_markdown_report_writes_figures(tmp_path: Path) -> None:
    path = PLAN.report(tmp_path / "proposal.md")
    text = path.read_text()
    assert text.startswith("# ") and "## Appendix: how the plan was checked" in text
    assert (tmp_path / "proposal-spend.png").stat().st_size > 1000


def test_report_of_infeasible_plan(tmp_path: Path) -> None:
    bad = optimize(FULL.with_overrides({"goals[2].target": 6000}))
    text = bad.report(tmp_path / "r.md").read_text()
    assert "cannot all be met" in text and "how the plan was checked" in text
    # The budget needed meets the goals that must be met (the soft followers goal may stay
    # short), and the media cap has to rise with it (a new-user trial read 'every goal'
    # over a plan that met 2 of 3, and no word on the media cap).
    d = bad.diagnosis
    assert "Meeting every goal that must be met would take a total budget of about EUR" in text
    assert f"with media spend of about EUR {d.required_media:,.0f}." in text
    # Both ways forward: the best within the budget (with its flighting) and the plan at the
    # budget that meets every goal.
    best = bad.diagnosis.best_effort.outcome.totals
    assert "## Two ways forward" in text and "best within the budget" in text
    assert f"| conversions | {best['conversions']:,.0f} | 6,0" in text
    assert "## Flighting plan: the best within the budget" in text


def test_cli_plan_report(tmp_path: Path) -> None:
    out = tmp_path / "r.html"
    r = subprocess.run(
        [sys.executable, "-m", "funnelopt", "plan", str(EXAMPLES / "traffic_only.toml"), "--report", str(out)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert r.returncode == 0 and "report written" in r.stderr
    assert "Executive summary" in out.read_text()


def test_small_community_frame() -> None:
    s = Scenario.from_dict(COMMUNITY)
    p = optimize(s)
    df = p.to_frame()
    assert df["conversions"].sum() == pytest.approx(p.outcome.totals["conversions"])


def test_agency_proposal_script_runs(tmp_path: Path) -> None:
    r = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "agency_proposal.py"), str(tmp_path)],
        capture_output=True, text=True, timeout=300, cwd=tmp_path,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "proposal.html").exists() and "optimal" in r.stdout
    # Without a folder it writes into a new temporary one, not the working directory.
    here = tmp_path / "cwd"
    here.mkdir()
    r = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "agency_proposal.py")],
        capture_output=True, text=True, timeout=300, cwd=here,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert list(here.iterdir()) == []
    written = Path(r.stdout.strip().splitlines()[-1].split()[1])
    assert written.exists() and written.parent != here


def test_quickstart_notebook_executes_where_jupyter_runs_it() -> None:
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(ROOT / "examples" / "quickstart.ipynb", as_version=4)
    NotebookClient(
        nb,
        timeout=300,
        kernel_name="python3",
        # Jupyter starts the kernel beside the notebook (the trial's M4 failed there).
        resources={"metadata": {"path": str(ROOT / "examples")}},
    ).execute()
    outputs = [o for cell in nb.cells if cell.cell_type == "code" for o in cell.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    assert any("image/png" in o.get("data", {}) for o in outputs)
    assert any("text/html" in o.get("data", {}) for o in outputs)


def test_user_text_is_shown_as_written() -> None:
    """A '$' in a period label must not start math mode (it crashed the report)."""
    s = Scenario.from_file(ROOT / "tests" / "adversarial_cases" / "period_label_mathtext.json")
    plan = optimize(s, strategies=False, analysis=False)
    ax = plots.spend_over_time(plan)
    assert ax.get_xlabel() == "$^$" and not ax.xaxis.label.get_parse_math()
    ax.figure.canvas.draw()  # would raise on "$^$" parsed as math
    plots.funnel(plan).canvas.draw()  # goal labels name the period: "goal by $^$ 12"
    plt.close("all")


def test_a_proven_budget_floor_is_rounded_down_wherever_it_is_printed() -> None:
    """From a new-user trial: the floor 75,266.73 read 'less than EUR 75,266: proven' in
    the message and 'none for less than EUR 75,267 (proven)' two lines below; rounding
    up overstates what was proven."""
    import math

    from funnelopt.report.text import render_plan

    s = Scenario.from_file(EXAMPLES / "disease_awareness.toml")
    plan = optimize(s.with_overrides({"budget.total": 60_000}))
    d = plan.diagnosis
    assert d is not None and d.required_budget_bound is not None
    low = d.required_budget_bound
    assert low != round(low)  # the case needs a fraction to tell floor from rounding
    text = render_plan(plan)
    floor = f"{math.floor(low):,.0f}"
    assert f"none for less than EUR {floor} (proven)" in text.replace("\n    ", " ")
    assert f"less than EUR {math.floor(low) + 1:,.0f}" not in text.replace("\n  ", " ")
