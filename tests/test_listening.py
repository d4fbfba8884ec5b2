"""Social listening: reading exports, the lift against known answers, topics, the CLI.

The known-answer tests simulate weekly counts with a trend, a yearly season and
negative-binomial noise, inject a known multiplicative lift, and check the estimate's
calibration over many fixed seeds (deterministic; about 1.5 s in all).
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import jsonschema
import numpy as np
import pytest
from conftest import EXAMPLES
from hypothesis import given, settings
from hypothesis import strategies as st

from funnelopt.cli import main
from funnelopt.errors import FunnelOptError
from funnelopt.listening import (
    ListeningError,
    Mentions,
    lift,
    read_mentions,
    topic_lift,
    topic_shares,
)
from funnelopt.schemas import schema

FIRST = date(2025, 3, 3)  # a Monday


def weekly_counts(
    seed: int,
    n_pre: int,
    n_post: int,
    effect: float = 0.0,
    base: float = 50.0,
    alpha: float = 0.05,
    shift: tuple[int, float] | None = None,
) -> Mentions:
    """Trend +15%/year, a yearly season (+-30%), NB2 noise (variance mu + alpha mu^2), the
    post-period multiplied by 1 + effect, and optionally a lasting shift in the pre-period."""
    rng = np.random.default_rng(seed)
    t = np.arange(n_pre + n_post)
    w = 2 * np.pi * t * 7 / 365.25
    mu = base * np.exp(0.15 * t / 52 + 0.3 * np.sin(w) + 0.1 * np.cos(2 * w))
    if shift:
        mu[shift[0] :] *= 1 + shift[1]
    mu[n_pre:] *= 1 + effect
    r = 1 / alpha
    return Mentions.from_counts(rng.negative_binomial(r, r / (r + mu)), FIRST)


def launch(n_pre: int) -> str:
    return (FIRST + timedelta(weeks=n_pre)).isoformat()


# -- the lift against known answers -----------------------------------------------------------

# 50 seeds of 60 weeks before and 13 after (short, so the loop stays near a second). A 90%
# interval covers the truth in Binomial(50, 0.9) of them: mean 45, sd 2.1. The band 39..49
# is about mean -3 sd .. all but one: it fails for an interval that is clearly too narrow
# (coverage below ~0.8) or too wide (covering always), not for chance at the right rate.
SEEDS = range(50)


def test_interval_covers_the_true_lift_at_about_its_rate() -> None:
    covered, estimates = 0, []
    for seed in SEEDS:
        est = lift(weekly_counts(seed, 60, 13, effect=0.2), launch(60), seed=seed, draws=1000)
        covered += est.interval[0] <= 20.0 <= est.interval[1]
        estimates.append(est.lift_pct)
    assert 39 <= covered <= 49, covered
    assert abs(np.median(estimates) - 20.0) < 5.0  # unbiased enough to read


def test_no_lift_reads_no_detectable_change_in_about_90_percent() -> None:
    quiet = 0
    for seed in SEEDS:
        est = lift(weekly_counts(1000 + seed, 60, 13), launch(60), seed=seed, draws=1000)
        quiet += est.verdict.startswith("no detectable change")
        assert est.detected != est.verdict.startswith("no detectable change")
    assert 39 <= quiet <= 49, quiet  # the same binomial band as above


def test_a_step_in_the_pre_period_is_not_read_as_lift() -> None:
    """Mentions drop by 40% for good in week 78 of 104 (a source lost, say) and nothing
    happens at the launch. A trend through the step would point down and read the flat
    post-period as lift; the level-shift search carries the new level instead."""
    found = detected = naive = 0
    for seed in range(16):
        m = weekly_counts(seed, 104, 26, base=200, shift=(78, -0.4))
        est = lift(m, launch(104), seed=seed, draws=1000)
        found += est.level_shift is not None
        detected += est.detected
        naive += lift(m, launch(104), seed=seed, draws=1000, level_shift=False).detected
    assert found >= 14
    assert detected <= 3  # about the 10% of a series without a step
    assert naive >= 6  # the shift matters: a trend alone misreads it


@settings(max_examples=8, deadline=None)
@given(factor=st.sampled_from([0.5, 0.6, 0.7, 1.4, 1.7, 2.0]), seed=st.integers(0, 10_000))
def test_lift_sign_follows_an_injected_change(factor: float, seed: int) -> None:
    """The lift's sign is the sign of a clear multiplicative change, and it is detected
    (two years before the launch: one year leaves the season's extrapolation loose)."""
    m = weekly_counts(seed, 104, 13, effect=factor - 1, base=100)
    est = lift(m, launch(104), seed=1, draws=500)
    assert np.sign(est.lift_pct) == np.sign(factor - 1)
    assert est.detected


def test_lift_fields_and_bands() -> None:
    est = lift(weekly_counts(3, 60, 13, effect=0.3), launch(60), draws=500)
    assert est.start == launch(60) and est.pre_periods == 60 and est.post_periods == 13
    assert est.interval[0] < est.lift_pct < est.interval[1]
    assert est.observed_total == int(est.observed[60:].sum())
    assert est.absolute == pytest.approx(est.observed_total - est.expected_total)
    assert np.all(est.low <= est.high) and 0.0 <= est.p_positive <= 1.0
    assert "yearly seasonality" in est.model and "trend" in est.terms
    with pytest.raises(ValueError):
        est.expected[0] = 0.0  # results are read-only
    again = lift(weekly_counts(3, 60, 13, effect=0.3), launch(60), draws=500)
    assert again.interval == est.interval  # seeded
    data = est.to_dict()
    assert len(data["per_period"]) == 73 and data["per_period"][60]["after_launch"]
    json.dumps(data, allow_nan=False)


def test_too_short_a_pre_period_says_how_long_it_must_be() -> None:
    m = weekly_counts(0, 8, 10)
    with pytest.raises(ListeningError) as err:
        lift(m, launch(8))
    assert "leaves 8 weeks before the launch: the baseline needs at least 12 weeks" in str(
        err.value
    )
    assert "53 to also learn the yearly season" in str(err.value)
    est = lift(weekly_counts(0, 30, 10), launch(30))
    assert any("yearly seasonality is not modelled" in n for n in est.notes)


def test_daily_counts_fit_weekdays_and_fold_into_weeks() -> None:
    rng = np.random.default_rng(5)
    days = 7 * 30
    weekday = np.tile([1.2, 1.1, 1.0, 1.0, 0.9, 0.6, 0.5], 30)
    m = Mentions.from_counts(rng.poisson(40 * weekday), "2026-01-05", step="day")
    est = lift(m, "2026-06-01", draws=500)
    assert "Sat" in est.terms and "weekday effects" in est.model
    assert not est.detected or abs(est.lift_pct) < 10
    weeks = m.weekly()
    assert weeks.step == "week" and len(weeks) == days // 7
    assert weeks.total.sum() == m.total.sum()


def test_no_mentions_before_the_launch_is_no_baseline() -> None:
    m = Mentions.from_counts([0] * 20 + [5] * 4, FIRST)
    with pytest.raises(ListeningError, match="no baseline"):
        lift(m, launch(20))
    with pytest.raises(ListeningError, match="first = 'soon'"):
        Mentions.from_counts([1, 2], "soon")


def test_arguments_are_checked() -> None:
    m = weekly_counts(0, 30, 5)
    with pytest.raises(ListeningError) as err:
        lift(m, launch(30), level=1.5, draws=5)
    assert {p.path for p in err.value.problems} == {"level", "draws"}
    for start in ("2020-01-01", "2030-01-01", "not a date"):
        with pytest.raises(ListeningError, match="start"):
            lift(m, start)


def test_a_missing_statsmodels_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "statsmodels.discrete.discrete_model", None)
    with pytest.raises(FunnelOptError, match=r"pip install 'funnelopt\[listening\]'"):
        lift(weekly_counts(0, 30, 5), launch(30))


# -- reading exports ---------------------------------------------------------------------------


def test_reads_the_generic_layout_with_topics(tmp_path: Path) -> None:
    f = tmp_path / "m.csv"
    f.write_text(
        "date,topic,sentiment,mentions\n"
        "2027-01-04,diagnosis,negative,3\n2027-01-04,diagnosis,positive,2\n"
        "2027-01-04,treatment,neutral,5\n2027-01-11,treatment,neutral,7\n"
    )
    m = read_mentions(f)
    assert m.labels == ("2027-01-04", "2027-01-11") and m.step == "week"
    assert m.total.tolist() == [10, 7]
    assert m.topics["diagnosis"].tolist() == [5, 0]  # a topic without a row counts 0
    assert m.sentiments["neutral"].tolist() == [5, 7]


def test_reads_tool_headers_preamble_semicolons_and_utf16(tmp_path: Path) -> None:
    text = (
        "Brandwatch export\nQuery: condition X\n\n"
        "Date;Category;Volume\n2027-01-04T00:00:00.000+0000;a;4\n2027-01-05T00:00:00.000+0000;a;6\n"
    )
    f = tmp_path / "bw.csv"
    f.write_bytes(text.encode("utf-16"))
    m = read_mentions(f)
    assert m.step == "day" and m.total.tolist() == [4, 6] and list(m.topics) == ["a"]
    assert "Volume -> mentions" in m.notes[0]
    tw = read_mentions("tw.csv", text="Date,Topic,Number of results\n1,x,5\n2,x,6\n3,x,0\n")
    assert tw.step == "period" and tw.labels == ("1", "2", "3")


def test_bad_files_name_every_problem_and_read_nothing() -> None:
    text = (
        "date,mentions\n"
        "2027-01-04,12\n"
        "2027-13-11,5\n"  # no such month
        "2027-01-18,-3\n"
        "2027-01-25,1,200\n"  # (extra cell ignored: the count is 1)
        "2027-02-01,\n"
        "2027-01-04,8\n"  # twice
    )
    with pytest.raises(ListeningError) as err:
        read_mentions("bad.csv", text=text)
    shown = [str(p) for p in err.value.problems]
    assert shown == [
        "bad.csv line 3, date = '2027-13-11': is not a calendar date",
        "bad.csv line 4, mentions = '-3': must be a whole number >= 0 (no thousands separators)",
        "bad.csv line 6, mentions = '': is empty: must be a whole number >= 0 (no thousands separators)",
        "bad.csv line 7, date = '2027-01-04': appears twice (also line 2)",
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("day,count\n", "has no data rows"),
        ("when,how many\n2027-01-04,3\n", "needs a date column"),
        ("date,mentions\n2027-01-04,3\n2027-01-18,4\n2027-01-25,5\n", r"1 week\(s\) missing"),
        ("date,mentions\n2027-01-04,3\n2027-01-07,4\n", "must be daily or weekly"),
        ("date,mentions\n2027-01-04,3\n2027-01-11,1.5\n", "whole number"),
        ("date,mentions\n1,3\n2027-01-11,4\n", "period number like the rows above"),
        ("period,mentions\n1,3\n3,4\n", "periods are missing"),
    ],
)
def test_bad_files_are_named(text: str, expected: str) -> None:
    with pytest.raises(ListeningError, match=expected):
        read_mentions("f.csv", text=text)


def test_an_unreadable_file_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(ListeningError, match="cannot be read"):
        read_mentions(tmp_path / "missing.csv")


@settings(max_examples=40)
@given(
    rows=st.lists(
        st.tuples(
            st.integers(0, 20),  # week
            st.sampled_from(["a", "b"]),
            st.one_of(st.integers(0, 500).map(str), st.sampled_from(["", "x", "-1", "2.5"])),
        ),
        min_size=1,
        max_size=25,
    )
)
def test_reading_never_half_reads(rows: list[tuple[int, str, str]]) -> None:
    """A file is read whole (every count where it belongs) or not at all: the error then
    names every line with a bad count."""
    lines = ["date,topic,mentions"]
    lines += [f"{(FIRST + timedelta(weeks=w)).isoformat()},{t},{c}" for w, t, c in rows]
    bad = {i + 2 for i, (_, _, c) in enumerate(rows) if not c.isdigit()}
    try:
        m = read_mentions("p.csv", text="\n".join(lines))
    except ListeningError as exc:
        named = {
            int(p.path.split("line ")[1].split(",")[0]) for p in exc.problems if "line " in p.path
        }
        assert bad <= named
        return
    assert not bad
    assert m.total.sum() == sum(int(c) for _, _, c in rows)
    first = min(w for w, _, _ in rows)
    for w, t, c in rows:
        assert m.topics[t][w - first] >= int(c)


# -- topics ----------------------------------------------------------------------------------


def test_topics_rank_the_raised_topics_first_on_the_example() -> None:
    m = read_mentions(EXAMPLES / "mentions.csv")
    ranked = topic_lift(m, "2027-03-01", draws=500)
    assert {t.topic for t in ranked[:2]} == {"daily life", "diagnosis"}  # the injected +40%, +25%
    assert all(t.lift and t.lift.detected for t in ranked[:2])
    assert sum(t.share_before for t in ranked) == pytest.approx(1.0)
    shares = topic_shares(m, last=8, before="2027-03-01")
    assert shares[0].topic == "symptoms" and sum(s.share for s in shares) == pytest.approx(1.0)
    assert sum(s.mentions for s in shares) == int(sum(v[96:104].sum() for v in m.topics.values()))


def test_a_topic_too_small_for_a_baseline_gets_shares_only() -> None:
    big = weekly_counts(1, 60, 13).total
    rare_counts = (np.arange(73) % 6 == 0).astype(int)  # 10 mentions in 60 weeks
    m = Mentions.from_counts(big + rare_counts, FIRST, topics={"big": big, "rare": rare_counts})
    rare = next(t for t in topic_lift(m, launch(60), draws=300) if t.topic == "rare")
    assert rare.lift is None and "too few" in rare.note and rare.share_before > 0


# -- the command line and the plot -------------------------------------------------------------


def test_cli_json(capsys: pytest.CaptureFixture[str]) -> None:
    args = ["listen", str(EXAMPLES / "mentions.csv"), "--start", "2027-03-01", "--format", "json"]
    assert main(args) == 0
    data = json.loads(capsys.readouterr().out)
    jsonschema.validate(data, schema("listen"))
    assert data["schema_version"] == 1
    est = data["lift"]
    assert est["start"] == "2027-03-01" and est["pre_periods"] == 104
    assert len(est["interval"]) == 2 and est["interval"][0] < est["lift_pct"] < est["interval"][1]
    assert [t["topic"] for t in data["topics"]][:2] in (
        ["daily life", "diagnosis"],
        ["diagnosis", "daily life"],
    )
    assert len(data["before_launch"]["shares"]) == 5


def test_cli_reads_stdin(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    data = (EXAMPLES / "mentions.csv").read_bytes()
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))
    assert main(["listen", "-", "--start", "2027-03-01", "--last", "4"]) == 0
    out = capsys.readouterr().out
    assert "Social listening: <stdin>" in out and "last 4 weeks" in out


def test_cli_input_errors_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("date,mentions\n2027-01-04,x\n2027-01-11,3\n")
    assert main(["listen", str(bad), "--start", "2027-01-11"]) == 2
    assert "bad.csv line 2, mentions = 'x'" in capsys.readouterr().err
    ok = EXAMPLES / "mentions.csv"
    assert main(["listen", str(ok), "--start", "2025-04-01"]) == 2
    assert "the baseline needs at least 12 weeks" in capsys.readouterr().err
    assert (
        main(["listen", str(ok), "--start", "2027-03-01", "--format", "json", "--last", "0"]) == 2
    )
    assert json.loads(capsys.readouterr().out)["errors"][0]["path"] == "--last"


def test_cli_markdown_plot_and_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    png, html = tmp_path / "l.png", tmp_path / "l.html"
    args = [
        "listen",
        str(EXAMPLES / "mentions.csv"),
        "--start",
        "2027-03-01",
        "--format",
        "markdown",
    ]
    assert main([*args, "--plot", str(png), "--report", str(html)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("# Social listening") and "| lift |" in out
    assert png.read_bytes()[:4] == b"\x89PNG"
    page = html.read_text()
    assert "data:image/png;base64" in page and "Topics since the launch" in page


def test_cli_by_sentiment(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Poisson counts (no over-dispersion): the NB fit's Newton steps fail at alpha = 0 on
    "positive", which once left it without a lift; it is now ranked first."""
    rng = np.random.default_rng(8)
    f = tmp_path / "s.csv"
    rows = ["date,sentiment,mentions"]
    for w in range(70):
        day = (FIRST + timedelta(weeks=w)).isoformat()
        rows += [f"{day},positive,{rng.poisson(60 * (1.5 if w >= 60 else 1))}"]
        rows += [f"{day},negative,{rng.poisson(40)}"]
    f.write_text("\n".join(rows))
    args = ["listen", str(f), "--start", launch(60), "--by", "sentiment", "--format", "json"]
    assert main(args) == 0
    data = json.loads(capsys.readouterr().out)
    jsonschema.validate(data, schema("listen"))
    assert data["by"] == "sentiment" and data["topics"][0]["topic"] == "positive"
    example = ["listen", str(EXAMPLES / "mentions.csv"), "--start", "2027-03-01"]
    assert main([*example, "--by", "sentiment"]) == 2
    assert "the data has no sentiment column" in capsys.readouterr().err


def test_import_funnelopt_needs_no_statsmodels() -> None:
    code = "import sys, funnelopt, funnelopt.listening; assert 'statsmodels' not in sys.modules"
    assert subprocess.run([sys.executable, "-c", code], timeout=60).returncode == 0


def test_plot_reads_well() -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from funnelopt.report import plots

    est = lift(weekly_counts(2, 60, 13, effect=0.3, base=3000), launch(60), draws=300)
    ax = plots.listening(est)
    ax.figure.canvas.draw()
    assert ax.get_yscale() == "linear" and ax.get_ylim()[0] == 0
    assert any("," in t.get_text() for t in ax.get_yticklabels())  # thousands separators
    labels = ax.get_legend_handles_labels()[1]
    assert "observed" in labels and any(s.startswith("launch") for s in labels)
    plt.close(ax.figure)
