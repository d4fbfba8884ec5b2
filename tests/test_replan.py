"""Re-planning from actuals: calibration moves toward the truth with honest intervals,
the past is fixed exactly, the budget holds, and re-planning beats carrying on."""

from __future__ import annotations

import csv
import io
import math
import re
from pathlib import Path

import numpy as np
import pytest
from conftest import EXAMPLES
from hypothesis import given, settings
from hypothesis import strategies as st

from funnelopt import Scenario, optimize, simulate
from funnelopt.actuals import ActualsError, read_actuals
from funnelopt.studies.replan import PERIOD_RSD, PRIOR_RSD, calibrate, replan

TRAFFIC = Scenario.from_file(EXAMPLES / "traffic_only.toml")
COMMUNITY_EXAMPLE = Scenario.from_file(EXAMPLES / "disease_awareness.toml")


def _actuals(s: Scenario, spend: np.ndarray, done: int, ctr: np.ndarray, cpm: float = 12.0) -> str:
    """Weekly actuals of the traffic example: impressions from the delivery curve at
    ``cpm``, clicks at each week's ``ctr``, visits at the landing rate."""
    truth = s.with_overrides({"tactics.meta_dark.cpm": cpm})
    imps = simulate(truth, spend).by_tactic["impressions"][:, 0]
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["week", "tactic", "spend", "impressions", "clicks", "visits"])
    for t in range(done):
        clicks = round(imps[t] * ctr[t])
        w.writerow(
            [t + 1, "meta_dark", f"{spend[t, 0]:.2f}", round(imps[t]), clicks, round(clicks * 0.75)]
        )
    return buf.getvalue()


#: The rates calibrate() informs on the community example, per tactic.
RATES = {
    "meta_dark": ("ctr", "landing_rate", "comment_rate", "cpm"),
    "meta_follow": ("follow_rate", "comment_rate", "cpm"),
}


def _noisy_actuals(s: Scenario, seed: int, weeks: int) -> tuple[dict[str, float], str]:
    """Actuals of ``weeks`` weeks drawn from the simulator's delivery curve and funnel
    with "true" rates different from the scenario's: each true rate drawn from the prior
    (the scenario's value, relative sd PRIOR_RSD, on the log scale, inside the field's
    allowed values), each week's rate drifting around it (PERIOD_RSD), and binomial and
    Poisson noise on every count."""
    from funnelopt.simulator import delivery

    rng = np.random.default_rng(seed)
    spend = {"meta_dark": 4000.0, "meta_follow": 1000.0}
    truth: dict[str, float] = {}
    rows = []
    for tid, rates in RATES.items():
        t = s.tactics[s.tactic_index(tid)]
        true = {}
        for r in rates:
            while (v := getattr(t, r) * math.exp(rng.normal(0, PRIOR_RSD))) >= 1 and r != "cpm":
                pass  # a rate is below 1: the prior is the lognormal inside its bounds
            true[r] = v
        truth |= {f"tactics.{tid}.{r}": v for r, v in true.items()}
        weekly = {r: v * np.exp(rng.normal(0, PERIOD_RSD, weeks)) for r, v in true.items()}
        for w in range(weeks):
            sigma = t.saturation_impressions * weekly["cpm"][w] / 1000
            mean = float(delivery(spend[tid], t.saturation_impressions, sigma))
            imps = int(rng.poisson(mean))
            row = {"week": w + 1, "tactic": tid, "spend": spend[tid], "impressions": imps}
            p = {r: min(float(v[w]), 1.0) for r, v in weekly.items()}
            row["comments"] = int(rng.binomial(imps, p["comment_rate"]))
            if tid == "meta_dark":
                row["clicks"] = int(rng.binomial(imps, p["ctr"]))
                row["visits"] = int(rng.binomial(row["clicks"], p["landing_rate"]))
            else:
                row["new_followers"] = int(rng.binomial(imps, p["follow_rate"]))
            rows.append(row)
    buf = io.StringIO()
    columns = ["week", "tactic", "spend", "impressions", "clicks", "visits"]
    w = csv.DictWriter(buf, [*columns, "new_followers", "comments"])
    w.writeheader()
    w.writerows(rows)
    return truth, buf.getvalue()


def test_posteriors_move_toward_the_truth_and_their_intervals_cover_it() -> None:
    """Over 40 simulated campaigns (7 rates each: CTR, landing, follow and comment rates,
    CPM) the 90% intervals after ten weeks cover the true rate in about 90% of the 280
    cases (binomial sd 5; the band 238..266 is +-2.8 sd; 1,000 campaigns gave 91.2%);
    most posteriors lie nearer the truth than the prior, and ten weeks nearer than two."""
    s = Scenario.from_dict({**COMMUNITY_EXAMPLE.to_dict(), "uncertainty": {}})
    covered, closer, error = 0, [], {2: [], 10: []}
    for seed in range(40):
        for weeks in (2, 10):
            truth, text = _noisy_actuals(s, seed, weeks)
            est = {e.path: e for e in calibrate(s, read_actuals("a.csv", s, text=text))}
            assert set(truth) <= set(est)
            for path, v in truth.items():
                e = est[path]
                error[weeks].append(abs(math.log(e.posterior / v)))
                if weeks == 10:
                    covered += e.low <= v <= e.high
                    closer.append(abs(math.log(e.posterior / v)) < abs(math.log(e.prior / v)))
    assert 238 <= covered <= 266
    assert np.mean(closer) > 0.65
    assert np.mean(error[10]) < 0.85 * np.mean(error[2])


def test_the_past_is_fixed_and_replanning_beats_carrying_on() -> None:
    s = TRAFFIC.with_overrides({"goals[0].target": 500})
    original = optimize(s, analysis=False)
    done = 5
    weekly = np.full(12, 0.008)  # the CTR is lower than planned, and the CPM higher
    text = _actuals(s, np.array(original.spend), done, weekly, cpm=14.0)
    r = replan(s, read_actuals("a.csv", s, text=text))
    assert r.plan.status == "optimal" and r.periods_done == done
    np.testing.assert_allclose(r.plan.spend[:done], np.array(original.spend)[:done], atol=0.01)
    # The impressions bought are those counted, and reach follows from them.
    seen = read_actuals("a.csv", s, text=text).values["impressions"][:, 0]
    np.testing.assert_array_equal(r.plan.outcome.by_tactic["impressions"][:done, 0], seen)
    np.testing.assert_array_equal(r.continued.by_tactic["impressions"][:done, 0], seen)
    assert r.plan.outcome.totals["cost_total"] <= 30_000 * (1 + 1e-9)
    paths = {e.path: e for e in r.estimates}
    assert paths["tactics.meta_dark.ctr"].posterior < 0.01
    assert paths["tactics.meta_dark.cpm"].posterior > 12.0
    # On the calibrated (exact) model the new plan is no worse than the old one continued.
    gap = r.plan.certificate.gap * abs(r.plan.objective)
    assert r.plan.outcome.totals["conversions"] >= r.continued.totals["conversions"] - gap
    assert r.on_track()[0]["replanned_met"]
    # The plan-versus-actual "replanned" column shows what happened in the weeks done,
    # and adds up to what the goal counts (the trial summed it: 759 against 738).
    pva = r.plan_vs_actual()
    assert pva["visits"]["replanned"][:done] == pva["visits"]["actual"][:done]
    by = s.goal_period(s.goals[0])
    total = sum(v or 0.0 for v in pva["conversions"]["replanned"][:by])
    assert total == pytest.approx(r.on_track()[0]["replanned"], rel=1e-6)


@pytest.mark.parametrize(
    ("row", "expected"),
    [
        ("13,meta_dark,100,1000,10,5", "row 2.week = '13': must be a whole number in 1..12"),
        ("1,meta_dork,100,1000,10,5", "row 2.tactic = 'meta_dork': must be one of meta_dark"),
        ("1,meta_dark,-5,1000,10,5", "row 2.spend = '-5': must be a number >= 0"),
        (
            '1,meta_dark,"12,50",1000,10,5',
            "row 2.spend = '12,50': must be a number >= 0 (with a decimal point)",
        ),
        ("nan,meta_dark,1,1000,10,5", "row 2.week = 'nan': must be a whole number in 1..12"),
        ("1,meta_dark,100,1000,2000,5", "row 2.clicks = '2000': must be <= impressions (1000)"),
    ],
)
def test_bad_rows_are_named_and_nothing_is_half_read(row: str, expected: str) -> None:
    text = "week,tactic,spend,impressions,clicks,visits\n" + row + "\n2,meta_dark,1,1,1,1\n"
    with pytest.raises(ActualsError) as info:
        read_actuals("a.csv", TRAFFIC, text=text)
    assert expected in str(info.value)


def test_cli_replan_json_matches_its_schema(capsys: pytest.CaptureFixture[str]) -> None:
    import json

    import jsonschema

    from funnelopt.cli import main
    from funnelopt.schemas import schema

    argv = [
        "replan",
        str(EXAMPLES / "traffic_only.toml"),
        "--actuals",
        str(EXAMPLES / "actuals.csv"),
    ]
    # The five weeks done brought 290 conversions (the visits counted, at the calibrated
    # rate): 750 by week 12 are out of reach now (exit 1), the best effort keeps the past.
    assert main([*argv, "--format", "json"]) == 1
    doc = json.loads(capsys.readouterr().out)
    jsonschema.validate(doc, schema("replan"))
    effort = doc["plan"]["diagnosis"]["best_effort"]
    assert doc["periods_done"] == 5 and effort["spend"]["meta_dark"][:5] == [2500.0] * 5
    assert doc["plan"]["status"] == "infeasible" and not doc["on_track"][0]["replanned_met"]
    # The community example: probabilities, followers in plan versus actual.
    argv = ["replan", str(EXAMPLES / "disease_awareness.toml"), "--actuals"]
    assert main([*argv, str(EXAMPLES / "actuals_community.csv"), "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    jsonschema.validate(doc, schema("replan"))
    assert all(0 <= g["replanned_probability"] <= 1 for g in doc["on_track"])
    assert doc["plan_vs_actual"]["followers"]["actual"][9:13] == [118, 444, 1024, None]


def test_a_meta_ads_manager_export_reads_like_our_own_file() -> None:
    """Daily rows with Meta's default headers, summed into weeks from the start date."""
    ours = read_actuals(EXAMPLES / "actuals.csv", TRAFFIC)
    meta = read_actuals(
        EXAMPLES / "meta_export.csv",
        TRAFFIC,
        start_date="2027-01-04",
        names={"Meta dark DE": "meta_dark"},
    )
    assert meta.periods_done == 3
    for name in ("spend", "impressions", "clicks", "visits"):
        np.testing.assert_allclose(meta.values[name], ours.values[name][:3], atol=0.05)
    with pytest.raises(ActualsError, match="start_date: a Meta export has dates"):
        read_actuals(EXAMPLES / "meta_export.csv", TRAFFIC)
    # An ad set named like the tactic's name maps without a mapping; an unknown one is
    # named once (not once per day) with the fix.
    named = TRAFFIC.with_overrides({"tactics.meta_dark.name": "meta DARK de"})
    by_name = read_actuals(EXAMPLES / "meta_export.csv", named, start_date="2027-01-04")
    np.testing.assert_allclose(by_name.values["spend"], meta.values["spend"])
    with pytest.raises(ActualsError) as err:
        read_actuals(EXAMPLES / "meta_export.csv", TRAFFIC, start_date="2027-01-04")
    assert len(err.value.problems) == 1
    assert "--ad-set 'Meta dark DE=ID'" in err.value.problems[0].rule


def test_what_replanning_does_not_learn_is_said() -> None:
    """A fitted response curve and a tactic's own delivery curve are not recalibrated
    from the actuals: the replan says so, in its text and its JSON."""
    from funnelopt.report.text import replan_lines

    s = Scenario.from_file(EXAMPLES / "mmm_logistic.toml")
    rows = "\n".join(f"{w},{t},1000" for w in (1, 2) for t in s.tactic_ids)
    r = replan(s, read_actuals("a.csv", s, text="period,tactic,spend\n" + rows))
    notes = r.not_calibrated()
    assert len(notes) == len(s.tactic_ids)
    assert all("fitted response curve" in n for n in notes)
    assert r.to_dict()["not_calibrated"] == notes
    text = "\n".join(replan_lines(r))
    assert "No rate calibrated" in text and "Not calibrated: tactics." in text
    assert not replan(TRAFFIC, read_actuals(EXAMPLES / "actuals.csv", TRAFFIC)).not_calibrated()


def test_the_plan_versus_actual_chart_draws_all_three(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from funnelopt.cli import main

    png = tmp_path / "p.png"
    argv = [
        "replan",
        str(EXAMPLES / "traffic_only.toml"),
        "--actuals",
        str(EXAMPLES / "actuals.csv"),
    ]
    assert (
        main([*argv, "--plot", str(png), "--metric", "clicks", "--out", str(tmp_path / "t")]) == 1
    )
    assert png.read_bytes()[:4] == b"\x89PNG"
    import matplotlib

    matplotlib.use("Agg")
    from funnelopt.report import plots

    s = TRAFFIC
    ax = plots.plan_vs_actual(replan(s, read_actuals(EXAMPLES / "actuals.csv", s)), "clicks")
    labels = [line.get_label() for line in ax.get_lines()]
    assert labels[:3] == ["original plan", "actual", "best effort (goals out of reach)"]
    assert list(ax.get_lines()[1].get_xdata()) == [1, 2, 3, 4, 5]


def test_spend_beyond_a_cap_in_the_past_is_kept_and_the_cap_holds_ahead() -> None:
    """Reviewed: over-cap spend was cut silently, then refused; it happened, so it is kept
    exactly, and the weeks ahead keep the cap. A file without spend is refused."""
    s = TRAFFIC.with_overrides({"tactics.meta_dark.max_spend": 3000})
    r = replan(s, read_actuals("a.csv", s, text="week,tactic,spend\n1,meta_dark,3500\n"))
    assert r.plan.optimal and r.plan.verification.passed and not r.plan.outcome.violations
    assert r.plan.spend[0, 0] == 3500 and r.plan.spend[1:, 0].max() <= 3000 * (1 + 1e-9)
    with pytest.raises(ActualsError, match="needs 'spend'"):
        read_actuals("a.csv", s, text="week,tactic,clicks\n1,meta_dark,10\n")


def test_a_chosen_launch_is_kept_and_the_old_plan_continued_is_its_own() -> None:
    from conftest import COMMUNITY, build

    data = build(COMMUNITY, periods=6, goals=[{"metric": "followers", "target": 400, "by": 6}])
    data["communities"][0].update(mode="on", start="auto")
    s = Scenario.from_dict(data)
    original = optimize(s, analysis=False, strategies=False)
    k = original.launch["patients"]
    spend = np.array(original.spend)
    rows = "".join(
        f"{t + 1},{tid},{spend[t, j]:.2f}\n" for t in range(2) for j, tid in enumerate(s.tactic_ids)
    )
    r = replan(s, read_actuals("a.csv", s, text="week,tactic,spend\n" + rows))
    assert r.scenario.communities[0].start == k  # the launch that happened stays
    assert r.continued.feasible  # the old plan continued is simulated with its own launch
    np.testing.assert_allclose(r.plan.spend[:2], spend[:2], atol=0.01)


def test_follower_ads_calibrate_the_follow_rate() -> None:
    s = Scenario.from_file(EXAMPLES / "disease_awareness.toml")
    rows = "".join(
        f"{w},meta_follow,1000,100000,,,{n},20\n" for w, n in ((1, 300), (2, 280), (3, 320))
    )
    text = "week,tactic,spend,impressions,clicks,visits,new_followers,comments\n" + rows
    est = {e.path: e for e in calibrate(s, read_actuals("a.csv", s, text=text))}
    follow = est["tactics.meta_follow.follow_rate"]
    prior = s.tactics[s.tactic_index("meta_follow")].follow_rate
    # Three weeks at 0.3% move the rate from its prior toward 0.3%, not all the way.
    assert min(prior, 0.003) < follow.posterior < max(prior, 0.003)
    assert follow.low < follow.posterior < follow.high
    assert "tactics.meta_follow.comment_rate" in est


def test_an_uncertainty_range_sets_the_priors_spread() -> None:
    """A narrow range holds the prior firmly, a wide one lets the actuals move it."""
    text = "week,tactic,spend,impressions,clicks\n" + "".join(
        f"{w},meta_dark,2500,190000,1400\n" for w in (1, 2, 3)
    )

    def ctr(low: float, high: float) -> float:
        s = TRAFFIC.with_overrides(
            {"uncertainty.tactics.meta_dark.ctr": {"dist": "uniform", "low": low, "high": high}}
        )
        a = read_actuals("a.csv", s, text=text)
        return next(e for e in calibrate(s, a) if e.path.endswith(".ctr")).posterior

    narrow, wide = ctr(0.0098, 0.0102), ctr(0.004, 0.02)
    seen = 1400 / 190000
    assert abs(narrow - 0.01) < abs(wide - 0.01)
    assert seen < wide < narrow <= 0.01


# -- the history: the past fixed exactly (spend, follower stock, comments, AE cases) -------


def _community(periods: int = 8, history: dict[str, object] | None = None) -> Scenario:
    from conftest import COMMUNITY, build

    data = build(COMMUNITY, periods=periods, goals=[{"metric": "followers", "target": 300}])
    data["communities"][0]["mode"] = "on"
    data["budget"] = {"total": 30_000}
    if history:
        data["history"] = history
    return Scenario.from_dict(data)


@given(
    counts=st.lists(st.floats(0, 5_000), min_size=1, max_size=4),
    spend=st.lists(st.floats(0, 2_000), min_size=8, max_size=8),
)
def test_counted_followers_hold_and_later_periods_grow_from_the_last_count(
    counts: list[float], spend: list[float]
) -> None:
    """In the periods counted the stock is the count; after them the model's recursion
    (design 2.3) runs from the last count."""
    k = len(counts)
    s = _community(
        history={
            "spend": {"dark": [0.0] * k, "follow": spend[:k]},
            "followers": {"patients": counts},
        }
    )
    c = s.communities[0]
    out = simulate(s, {"follow": spend})
    f = out.per_period["followers"]
    np.testing.assert_array_equal(f[:k], counts)
    paid = out.by_tactic["new_followers"][:, 1]
    prev = counts[-1]
    for t in range(k, s.periods):
        organic = c.organic_per_follower * prev
        prev = (1 - c.churn) * prev + paid[t] + c.viral_follow_rate * organic
        assert f[t] == pytest.approx(prev, rel=1e-12)


def test_a_plan_keeps_the_history_exactly_and_the_simulator_verifies_it() -> None:
    """Spend, follower stock, comments and AE cases of the periods done are what
    happened, in the plan and in its simulation; the budget pays for them; the past may
    break per-period limits (it happened) and the rest is still planned."""
    history = {
        "spend": {"dark": [3000.0, 200.0, 0.0], "follow": [500.0, 800.0, 900.0]},
        "followers": {"patients": [250.0, 900.0]},
        "comments": [40.0, 500.0, 10.0],
        "ae_cases": [3.0],
        "visits": [100.0, 20.0],
        "conversions": [9.0, 1.0, 0.0],
    }
    s = _community(history=history).with_overrides(
        {"budget.period_min": 600, "webcare.capacity_hours": 20}
    )
    plan = optimize(s)
    assert plan.status == "optimal" and plan.verification.passed
    o = plan.outcome
    np.testing.assert_array_equal(plan.spend[:3], [[3000, 500], [200, 800], [0, 900]])
    np.testing.assert_array_equal(o.per_period["followers"][:2], [250, 900])
    np.testing.assert_array_equal(o.per_period["comments"][:3], [40, 500, 10])
    np.testing.assert_allclose(o.per_period["ae_cases"][:3], [3, 500 * 0.02, 10 * 0.02])
    np.testing.assert_array_equal(o.per_period["visits"][:2], [100, 20])
    np.testing.assert_array_equal(o.per_period["conversions"][:3], [9, 1, 0])
    # The optimiser's own figure counts the weeks done as counted, like the simulation.
    assert plan.predicted["conversions"] == pytest.approx(o.totals["conversions"], rel=0.01)
    assert plan.predicted["visits"] == pytest.approx(o.totals["visits"], rel=0.01)
    # Week 2's 500 comments needed 2 + 500*3/60 + 10*30/60 = 32 h (capacity 20): paid, not
    # refused; the weeks ahead hold the capacity and the floor.
    assert o.per_period["webcare_hours"][1] == pytest.approx(32.0)
    assert (o.per_period["webcare_hours"][3:] <= 20 * (1 + 1e-9)).all()
    assert (o.per_period["spend"][3:] >= 600 * (1 - 1e-9)).all()
    assert not o.violations
    assert o.totals["cost_total"] <= 30_000 * (1 + 1e-9)


def test_replanning_carries_the_follower_stock_from_the_actuals() -> None:
    """Counted followers are kept; a week with only new followers carries the stock (less
    churn); a week with neither is modelled from the week before; community comments count
    in the webcare hours of the weeks done."""
    s = _community()
    c = s.communities[0]
    text = (
        "week,tactic,community,spend,impressions,new_followers,followers,comments\n"
        "1,dark,,1000,,,,\n1,follow,,500,,,,\n1,,patients,,,,400,20\n"
        "2,dark,,1000,,,,\n2,follow,,500,,,,\n"
        "3,dark,,1000,,,,\n3,follow,,500,,,,\n3,,patients,,,150,,\n"
    )
    r = replan(s, read_actuals("a.csv", s, text=text))
    f = r.plan.outcome.per_period["followers"]
    assert f[0] == 400
    modelled = simulate(
        s.with_overrides(
            {
                "history.spend.dark": [1000.0],
                "history.spend.follow": [500.0],
                "history.followers.patients": [400.0],
            }
        ),
        {"dark": [1000.0] * 8, "follow": [500.0] * 8},
    )
    assert f[1] == pytest.approx(modelled.per_period["followers"][1])
    assert f[2] == pytest.approx((1 - c.churn) * f[1] + 150)
    np.testing.assert_array_equal(r.continued.per_period["followers"][:3], f[:3])
    # Week 1's comments: the community's 20 counted, the follower ads' modelled.
    paid = r.plan.outcome.by_tactic["comments"][0].sum()
    assert r.plan.outcome.per_period["comments"][0] == pytest.approx(20 + paid)
    np.testing.assert_array_equal(r.plan.spend[:3], [[1000, 500]] * 3)


@pytest.mark.parametrize(
    ("row", "expected"),
    [
        ("1,,nobody,,5", "row 3.community = 'nobody': must be one of patients"),
        (
            "1,dark,patients,,5",
            "row 3.community = 'patients': a row is a tactic's or a community's",
        ),
        ("1,,patients,10,5", "row 3.spend = '10': a community row carries followers"),
        ("1,,patients,,-5", "row 3.followers = '-5': must be a number >= 0"),
        ("2,,patients,,5", "row 3.week = '2': is after the last week with spend (1)"),
    ],
)
def test_bad_community_rows_are_named(row: str, expected: str) -> None:
    s = _community()
    text = "week,tactic,community,spend,followers\n1,dark,,100,\n" + row + "\n"
    with pytest.raises(ActualsError) as info:
        read_actuals("a.csv", s, text=text)
    assert expected in str(info.value)


def test_on_track_gives_each_goals_probability_under_the_calibrated_ranges() -> None:
    """With [uncertainty] ranges, on-track carries each goal's probability for the old plan
    continued and the new plan: the forecast's own figure on the calibrated scenario, whose
    calibrated rates are ranged by their posteriors; without ranges, none."""
    from funnelopt import forecast
    from funnelopt.studies.replan import DRAWS

    text = "week,tactic,spend,impressions,clicks,visits\n" + "".join(
        f"{w},meta_dark,2500,190000,1400,1000\n" for w in range(1, 6)
    )
    assert all(
        g["replanned_probability"] is None
        for g in replan(TRAFFIC, read_actuals("a.csv", TRAFFIC, text=text)).on_track()
    )
    s = TRAFFIC.with_overrides(
        {
            "goals[0].target": 600,
            "uncertainty.site.conversion_rate": {
                "dist": "pert",
                "low": 0.03,
                "mode": 0.05,
                "high": 0.06,
            },
        }
    )
    r = replan(s, read_actuals("a.csv", s, text=text))
    ctr = next(e for e in r.estimates if e.path.endswith(".ctr"))
    band = r.scenario.uncertainty["tactics.meta_dark.ctr"]
    assert (band.dist, band.median, band.p95) == (
        "lognormal",
        ctr.posterior,
        pytest.approx(ctr.high),
    )
    [goal] = r.on_track()
    expected = forecast(r.scenario, r.plan, DRAWS).goals[0].probability
    assert goal["replanned_probability"] == expected
    assert 0 < goal["continued_probability"] < 1
    # The nominal plan meets the goal; the ranges (a conversion rate mostly below 5%, the
    # calibrated CTR's posterior) leave it far from sure.
    assert goal["replanned_met"] and 0.3 < expected < 0.9


def test_the_replan_report_in_a_real_browser(tmp_path: Path) -> None:
    """`funnelopt replan --report` on the community example: where the campaign stands
    (on track with likelihoods, plan versus actual with its charts, what the results
    changed) before the new plan's own report; every figure loads, no console errors,
    nothing wider than an A4 page; exit code as for plan; the CSV has a row per week."""
    from browser import browser_page, page_facts

    from funnelopt.cli import main

    html, out = tmp_path / "r.html", tmp_path / "r.csv"
    argv = ["replan", str(EXAMPLES / "disease_awareness.toml")]
    argv += ["--actuals", str(EXAMPLES / "actuals_community.csv"), "--report", str(html)]
    assert main([*argv, "--format", "csv", "--out", str(out)]) == 0
    rows = list(csv.DictReader(out.read_text().splitlines()))
    assert len(rows) == 26 and [r["done"] for r in rows].count("yes") == 12
    assert rows[11]["followers_actual"] == "1024" and rows[12]["followers_actual"] == ""
    with browser_page(viewport={"width": 794, "height": 1123}) as (page, problems):
        page.goto(html.as_uri())
        text, images, overflow = page_facts(page)
        headings = page.evaluate("[...document.querySelectorAll('h2,h3')].map(h => h.innerText)")
    assert not problems, problems
    first = headings.index("Where the campaign stands after week 12")
    assert headings[first : first + 4] == [
        "Where the campaign stands after week 12",
        "On track?",
        "Plan versus actual",
        "What the results changed",
    ]
    assert headings.index("Executive summary") > first
    alts = [alt for alt, _ok in images]
    assert alts[:2] == ["plan-vs-actual-spend", "plan-vs-actual-visits"]
    assert all(ok for _alt, ok in images), images
    assert overflow <= 0
    assert "8,672 (missed), 25% likely" in text  # the old plan continued misses followers
    assert "meta_follow: follow rate" in text
    # Followers: counted from week 10 on (planned / actual); not reported before.
    assert "1,476 / 1,024" in text and "0 / -" in text
    assert re.search(r"EUR [\d,]+ remain", text)
    # The assumptions register lists the calibrated values and ranges readably, not what
    # happened (the history is in the plan-versus-actual table).
    assert "history: " not in text and "'dist'" not in text
    assert "lognormal (median 0.00834097, p95 0.010275)" in text


@pytest.mark.parametrize(("target", "code"), [(500, 0), (5_000, 1)])
def test_replan_exit_codes_are_those_of_plan(
    target: int, code: int, capsys: pytest.CaptureFixture[str]
) -> None:
    """0 when the new plan meets the goals; 1 when they are out of reach (the best effort
    and the diagnosis are printed), in every format."""
    from funnelopt.cli import main

    argv = ["replan", str(EXAMPLES / "traffic_only.toml"), "--actuals"]
    argv += [str(EXAMPLES / "actuals.csv"), "--set", f"goals[0].target={target}"]
    assert main([*argv, "--format", "markdown"]) == code
    out = capsys.readouterr().out
    assert out.startswith("# Re-planned after 5 weeks of actuals")
    assert ("INFEASIBLE" in out) == bool(code)


def _small(target: float = 150.0) -> Scenario:
    """The small community scenario of the tests, 8 weeks, community on, a hard
    conversions goal and a soft followers goal."""
    from conftest import COMMUNITY, build

    data = build(
        COMMUNITY,
        periods=8,
        goals=[
            {"metric": "conversions", "target": target},
            {"metric": "followers", "target": 2_000, "hard": False, "weight": 0.05},
        ],
    )
    data["communities"][0]["mode"] = "on"
    return Scenario.from_dict(data)


@settings(max_examples=15)
@given(
    ctr=st.floats(0.5, 1.6),
    cpm=st.floats(0.7, 1.6),
    follow=st.floats(0.4, 1.6),
    done=st.integers(1, 6),
)
def test_replanning_on_the_true_rates_never_does_worse_than_carrying_on(
    ctr: float, cpm: float, follow: float, done: int
) -> None:
    """A plan made on the scenario's guesses runs for ``done`` weeks in a world with other
    rates. Re-planning on the true rates from what happened (spend, follower stock and
    comments kept) scores at least what the old plan continued scores on the exact model,
    whenever the old plan is still feasible there; and never spends beyond the budget."""
    from funnelopt import objective

    s = _small()
    original = optimize(s, analysis=False, strategies=False)
    assert original.spend is not None
    t = s.tactics
    truth = s.with_overrides(
        {
            "tactics.dark.ctr": t[0].ctr * ctr,
            "tactics.dark.cpm": t[0].cpm * cpm,
            "tactics.follow.cpm": t[1].cpm * cpm,
            "tactics.follow.follow_rate": t[1].follow_rate * follow,
        }
    )
    ran = simulate(truth, original.spend, original.community)
    history = {
        **{
            f"history.spend.{tid}": list(original.spend[:done, j])
            for j, tid in enumerate(s.tactic_ids)
        },
        "history.followers.patients": list(ran.per_period["followers"][:done]),
        "history.comments": list(ran.per_period["comments"][:done]),
    }
    now = truth.with_overrides(history)
    new = optimize(now, analysis=False, strategies=False)
    carried = simulate(now, original.spend, original.community)
    feasible = not carried.violations and all(
        r.met for g, r in zip(now.goals, carried.goals, strict=True) if g.hard
    )
    if feasible:
        assert new.optimal
    if new.optimal:
        assert new.outcome.totals["cost_total"] <= s.budget.total * (1 + 1e-9)
        np.testing.assert_array_equal(new.spend[:done], original.spend[:done])
        if feasible:
            gap = new.certificate.gap * abs(new.objective) + 1e-6
            assert new.objective >= objective.score(now, carried) - gap


@settings(max_examples=15)
@given(
    spend=st.lists(st.tuples(st.floats(0, 6_000), st.floats(0, 3_000)), min_size=1, max_size=6),
    ctr=st.floats(0.002, 0.02),
)
def test_replan_keeps_any_past_exactly_and_never_exceeds_the_budget(
    spend: list[tuple[float, float]], ctr: float
) -> None:
    """Whatever was spent and however it performed, the new
    plan's first weeks are exactly the actual spend and its total cost stays within the
    budget; a past that already spent more than the budget has no plan within it."""
    s = _small(target=1.0)
    lines = ["week,tactic,spend,impressions,clicks"]
    for w, (dark, follow) in enumerate(spend, start=1):
        imps = round(dark * 90)
        lines += [f"{w},dark,{dark:.2f},{imps},{round(imps * ctr)}", f"{w},follow,{follow:.2f},,"]
    r = replan(s, read_actuals("a.csv", s, text="\n".join(lines) + "\n"))
    done = len(spend)
    spent = np.array([[float(f"{v:.2f}") for v in week] for week in spend])  # as written
    if spent.sum() > s.budget.total:
        assert not r.plan.optimal
    if r.plan.optimal:
        np.testing.assert_allclose(r.plan.spend[:done], spent, rtol=0, atol=1e-9)
        assert r.plan.outcome.totals["cost_total"] <= s.budget.total * (1 + 1e-9)


def test_conversions_and_ae_cases_calibrate_their_rates_and_gaps_are_no_zeros() -> None:
    """Conversions per visit calibrate the site's conversion rate (tactics without their
    own), AE cases per comment the AE rate; a week that leaves a count empty says nothing
    about its rate (it was read as zero visits: one more period of evidence, a rate of
    about 0, that pulled the landing rate below what the other weeks showed)."""
    s = COMMUNITY_EXAMPLE
    text = "week,tactic,community,spend,impressions,clicks,visits,conversions,comments,ae_cases\n"
    text += "".join(
        f"{w},meta_dark,,4000,300000,3000,{'' if w == 3 else 2250},{'' if w == 3 else 45},60,\n"
        for w in (1, 2, 3, 4)
    )
    text += "".join(f"{w},,patients_de,,,,,,40,3\n" for w in (1, 2, 3, 4))
    est = {e.path: e for e in calibrate(s, read_actuals("a.csv", s, text=text))}
    site, ae = est["site.conversion_rate"], est["adverse_events.rate"]
    assert (
        0.02 < site.posterior < 0.05
        and site.evidence == "135 conversions of 6,750 visits in 3 periods"
    )
    assert 0.01 < ae.posterior < 0.03 and ae.evidence == "12 ae_cases of 400 comments in 4 periods"
    landing = est["tactics.meta_dark.landing_rate"]
    assert landing.posterior == pytest.approx(0.75, rel=1e-3) and "in 3 periods" in landing.evidence


@pytest.mark.parametrize(
    ("history", "expected"),
    [
        ({"spend": {"dark": [1.0, 2.0], "follow": [1.0]}}, "history.spend.follow = '1 values': needs one per period done (2)"),
        ({"spend": {"dork": [1.0]}}, "history.spend.dork = 'dork': must be one of dark, follow"),
        ({"followers": {"patients": [5.0]}}, "history.spend: give what was spent"),
        ({"spend": {"dark": [1.0]}, "followers": {"nobody": [1.0]}}, "history.followers.nobody = 'nobody': must be one of patients"),
        ({"spend": {"dark": [1.0] * 9}}, "history.spend = '9 periods': at most the campaign's 8"),
        ({"spend": {"dark": [-1.0]}}, "history.spend.dark[0] = -1.0: must be >= 0"),
        ({"spend": {"dark": [1.0]}, "comments": [1.0, 2.0]}, "history.comments = '2 values': at most one per period done (1)"),
    ],
)  # fmt: skip
def test_a_bad_history_is_named(history: dict[str, object], expected: str) -> None:
    from funnelopt import ScenarioError

    with pytest.raises(ScenarioError) as info:
        _community(history=history)
    assert expected in str(info.value)


def test_the_sites_conversion_rate_pools_only_tactics_that_report_both_counts() -> None:
    """Visits of a tactic that does not report its conversions are no visits without
    conversions (they were, and pulled the site's rate down)."""
    from conftest import BASE, build

    second = {**BASE["tactics"][0], "id": "dark2"}
    s = Scenario.from_dict(build(BASE, tactics=[BASE["tactics"][0], second]))
    text = "week,tactic,spend,visits,conversions\n1,dark,100,1000,50\n1,dark2,100,1000,\n"
    [site] = [
        e
        for e in calibrate(s, read_actuals("a.csv", s, text=text))
        if e.path == "site.conversion_rate"
    ]
    assert site.evidence == "50 conversions of 1,000 visits in 1 periods"


def test_community_rows_calibrate_its_organic_reach_and_comment_rates() -> None:
    """Organic impressions per post and per follower counted the week before (week 1: the
    initial followers) move the organic reach rate; comments per organic impression the
    community's comment rate."""
    s = _community()  # 3 posts a week, organic reach 0.1, comment rate 0.01, 100 followers
    text = "week,tactic,community,spend,followers,organic_impressions,comments\n"
    text += "1,dark,,100,,,\n2,dark,,100,,,\n3,dark,,100,,,\n"
    # Reach 0.05 of the followers per post (half the plan), comments 0.03 per impression.
    text += "1,,patients,,400,15,0\n2,,patients,,800,60,2\n3,,patients,,,120,4\n"
    est = {e.path: e for e in calibrate(s, read_actuals("a.csv", s, text=text))}
    reach = est["communities.patients.organic_reach_rate"]
    comment = est["communities.patients.comment_rate"]
    assert 0.05 < reach.posterior < 0.1 and reach.evidence.endswith("in 3 periods")
    assert 0.01 < comment.posterior < 0.03
    assert comment.evidence == "6 comments of 195 organic_impressions in 3 periods"


def test_the_replan_report_speaks_of_a_running_campaign(tmp_path: Path) -> None:
    """The re-plan's client document says its weeks done are measured, recommends the
    remaining weeks (not a new campaign), and names an unnamed community as one."""
    from funnelopt.report.document import REPLAN_DISCLAIMER, write_replan

    s = COMMUNITY_EXAMPLE
    r = replan(s, read_actuals(EXAMPLES / "actuals_community.csv", s))
    text = write_replan(r, tmp_path / "r.md").read_text()
    assert REPLAN_DISCLAIMER in text and "not from measured results" not in text
    assert f"we recommend this plan for the remaining {s.periods - r.periods_done} weeks" in text
    assert "We recommend a 26-week campaign" not in text
    assert "building the patients_de community" in text


def test_the_csv_keeps_the_spend_columns_when_the_goals_are_out_of_reach() -> None:
    """Goals out of reach (the traffic example's actuals): the CSV still has the spend per
    tactic, the best effort's, which the rest of the row describes."""
    from funnelopt.report.text import replan_csv

    r = replan(TRAFFIC, read_actuals(EXAMPLES / "actuals.csv", TRAFFIC))
    assert r.plan.status == "infeasible"
    rows = list(csv.DictReader(io.StringIO(replan_csv(r))))
    assert r.new_outcome is not None
    spent = [float(row["spend_meta_dark"]) for row in rows]
    np.testing.assert_allclose(spent, r.new_outcome.spend[:, 0], atol=0.01)
