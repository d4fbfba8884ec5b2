"""The client-facing outputs: calendar dates, display names, months, CSV that simulate
reads back (European CSV too), the proposal report in a real browser, and Excel."""

from __future__ import annotations

import csv
import io
from datetime import date
from pathlib import Path

import pytest
from conftest import EXAMPLES

from funnelopt import FunnelOptError, Scenario, ScenarioError, optimize
from funnelopt.cli import main
from funnelopt.report.text import plan_csv, render_plan

BASE = Scenario.from_file(EXAMPLES / "disease_awareness.toml")
DATED = BASE.with_overrides(
    {
        "start_date": "2027-01-04",
        "tactics.meta_dark.name": "Meta dark posts",
        "tactics.meta_follow.name": "Meta follower ads",
        "communities.patients_de.name": "Patients DE community",
        "goals[2].name": "Sign-ups",
    }
)
PLAN = optimize(DATED)


def test_periods_get_calendar_dates() -> None:
    assert DATED.start_date == date(2027, 1, 4)
    assert DATED.period_name(1) == "week of 2027-01-04"
    assert DATED.period_name(5) == "week of 2027-02-01"
    assert BASE.period_name(5) == "week 5"  # no start date: numbered as before
    monthly = BASE.with_overrides(
        {"period_label": "month", "periods": 26, "start_date": "2027-11-01"}
    )
    assert monthly.period_name(3) == "January 2028"
    # TOML's own date type is read as well as the ISO string.
    toml = BASE.to_toml().replace(
        'period_label = "week"', 'period_label = "week"\nstart_date = 2027-01-04'
    )
    assert Scenario.from_toml(toml).start_date == date(2027, 1, 4)


@pytest.mark.parametrize(
    ("changes", "path", "rule"),
    [
        ({"start_date": "2027-13-01"}, "start_date", "ISO date"),
        ({"start_date": "next monday"}, "start_date", "ISO date"),
        ({"start_date": "2027-01-04", "period_label": "flight"}, "start_date", "period_label"),
        ({"start_date": "2027-01-04", "period_label": "month"}, "start_date", "1st"),
        ({"tactics.meta_dark.name": ""}, "tactics.meta_dark.name", "at least 1"),
        ({"report.draft": "maybe"}, "report.draft", "bool"),
    ],
)
def test_calendar_and_name_errors_name_the_field(changes: dict, path: str, rule: str) -> None:
    with pytest.raises(ScenarioError) as err:
        BASE.with_overrides(changes)
    found = [p for p in err.value.problems if p.path == path]
    assert found and rule in found[0].rule, err.value.problems


def test_display_names_fall_back_to_ids() -> None:
    assert DATED.tactic_name("meta_dark") == "Meta dark posts"
    assert BASE.tactic_name("meta_dark") == "meta_dark"
    assert DATED.community_name("patients_de") == "Patients DE community"
    assert DATED.goal_name(DATED.goals[2]) == "Sign-ups"
    assert BASE.goal_name(BASE.goals[0]) == "reach share 35.0% by week 8"


def test_by_month_adds_up_to_the_plan() -> None:
    months = PLAN.by_month()
    assert [m.month for m in months][:2] == ["2027-01", "2027-02"]
    assert sum(len(m.periods) for m in months) == DATED.periods
    assert sum(m.spend["meta_dark"] for m in months) == pytest.approx(PLAN.spend[:, 0].sum())
    conv = sum(m.totals["conversions"] for m in months)
    assert conv == pytest.approx(PLAN.outcome.totals["conversions"])
    assert months[-1].totals["followers"] == pytest.approx(PLAN.outcome.totals["followers"])
    with pytest.raises(FunnelOptError, match="start_date"):
        optimize(BASE, strategies=False, analysis=False).by_month()


def test_terminal_plan_shows_dates_and_names() -> None:
    text = render_plan(PLAN)
    assert "week of" in text and "2027-01-04" in text and "Meta dark po" in text
    assert "Patients DE community on" in text and "Sign-ups" in text


def test_plan_csv_has_dates_and_simulate_reads_it_back(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = plan_csv(PLAN)
    rows = list(csv.DictReader(io.StringIO(text)))
    assert rows[0]["date"] == "2027-01-04" and rows[1]["date"] == "2027-01-11"
    scen = tmp_path / "s.toml"
    scen.write_text(DATED.to_toml())
    (tmp_path / "plan.csv").write_text(text)
    assert main(["simulate", str(scen), str(tmp_path / "plan.csv"), "--format", "json"]) == 0
    out = capsys.readouterr()
    assert "results, not spend: ignored" in out.err
    # What Excel writes in Germany or the Netherlands: ';' and decimal commas.
    eu = "week;Meta dark posts;meta_follow\n"
    eu += "".join(
        f"{t + 1};{PLAN.spend[t, 0]:.2f};{PLAN.spend[t, 1]:.2f}\n".replace(".", ",")
        for t in range(DATED.periods)
    )
    (tmp_path / "eu.csv").write_text(eu)
    assert main(["simulate", str(scen), str(tmp_path / "eu.csv"), "--format", "json"]) == 0
    import json

    got = json.loads(capsys.readouterr().out)
    assert got["outcome"]["totals"]["conversions"] == pytest.approx(
        PLAN.outcome.totals["conversions"], rel=1e-6
    )
    (tmp_path / "pipe.csv").write_text("week|meta_dark\n1|100\n")
    assert main(["simulate", str(scen), str(tmp_path / "pipe.csv")]) == 2
    assert "comma- or semicolon-separated" in capsys.readouterr().err
