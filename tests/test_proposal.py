"""The client-facing outputs: calendar dates, display names, months, CSV that simulate
reads back (European CSV too), the proposal report in a real browser, and Excel."""

from __future__ import annotations

import csv
import io
import re
from datetime import date
from pathlib import Path

import pytest
from browser import browser_page, page_facts
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
        "budget.total": 140_000,
        "report.client": "Acme Pharma GmbH",
        "report.agency": "Northlight Health",
        "report.version": "0.3",
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
    # The workload the README promises (trial M7), and which costs "per visit" includes.
    assert "Webcare and pharmacovigilance workload" in text and "per visit, all costs" in text
    t = PLAN.outcome.totals
    for cell in (f"{t['webcare_hours']:,.0f}", f"{t['ae_cases']:,.1f}", f"{t['valid_icsrs']:,.1f}"):
        assert cell in text, cell
    assert "AE cases (P95)" in text and "capacity per week" in text


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
    # Spend is written to the cent: the result agrees to 1e-5.
    assert got["outcome"]["totals"]["conversions"] == pytest.approx(
        PLAN.outcome.totals["conversions"], rel=1e-5
    )
    (tmp_path / "pipe.csv").write_text("week|meta_dark\n1|100\n")
    assert main(["simulate", str(scen), str(tmp_path / "pipe.csv")]) == 2
    assert "comma- or semicolon-separated" in capsys.readouterr().err


A4 = {"width": 794, "height": 1123}  # 210 x 297 mm at 96 dpi


@pytest.fixture(scope="module")
def report_html(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return PLAN.report(tmp_path_factory.mktemp("report") / "proposal.html")


def test_report_in_a_real_browser(report_html: Path, tmp_path: Path) -> None:
    """The client report as a person sees it: every section, the figures loaded, dates and
    names, no console errors, nothing wider than an A4 page."""
    with browser_page(viewport=A4) as (page, problems):
        page.goto(report_html.as_uri())
        text, images, overflow = page_facts(page)
        page.screenshot(path=str(tmp_path / "page1.png"))
    assert not problems, problems
    headings = [
        "Executive summary", "Campaign goals", "Flighting plan", "By week", "By month",
        "The funnel by phase", "Costs", "Pharmacovigilance and webcare", "Workload per week",
        "Risks and limitations", "Appendix: assumptions register",
    ]  # fmt: skip
    for h in headings:
        assert h in text, h
    assert [alt for alt, _ok in images] == ["spend", "funnel", "workload"]
    assert all(ok for _alt, ok in images), images
    assert overflow <= 0
    assert (tmp_path / "page1.png").stat().st_size > 10_000
    t = PLAN.outcome.totals
    # Title page, summary and figures a client checks.
    for fact in ("Acme Pharma GmbH", "Northlight Health", "0.3", "DRAFT", "model estimates"):
        assert fact in text, fact
    assert f"{t['conversions']:,.0f} conversions" in text
    assert f"EUR {t['cost_total']:,.0f} of the EUR 140,000 budget" in text
    assert "Building the Patients DE community" in text
    assert "week of 2027-01-04" in text and "January 2027" in text
    assert "Meta dark posts" in text and "meta_dark" not in text
    # Pharmacovigilance: the EU clocks, P95 against capacity, weekend screening, staffing.
    assert "15 calendar days" in text and "90 days" in text and "95th percentile" in text
    assert "Weekend screening" in text and "Staffing" in text
    assert f"{t['valid_icsrs']:,.1f} are expected to be valid" in text
    # The register shows the value used and the one it replaced (--set budget.total=...).
    assert re.search(r"budget: total\s+140,000\s+changed for this version \(was 150,000\)", text)


def test_report_prints_to_a4_pdf(report_html: Path, tmp_path: Path) -> None:
    from funnelopt.report.pdf import html_to_pdf

    pdf = html_to_pdf(report_html.read_text(), tmp_path / "proposal.pdf").read_bytes()
    assert pdf.startswith(b"%PDF")
    pages = max(int(n) for n in re.findall(rb"/Count (\d+)", pdf))
    assert 6 <= pages <= 14, pages
    box = re.search(rb"/MediaBox \[0 0 ([\d.]+) ([\d.]+)\]", pdf)
    assert box and abs(float(box[1]) - 595) < 2 and abs(float(box[2]) - 842) < 2  # A4 points


def test_excel_workbook_holds_the_plan(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """What openpyxl reads back is the plan: dates, spend per tactic by name, the funnel and
    workload per week, months, totals, assumptions with the changed value; simulate reads
    the workbook as a plan."""
    import openpyxl

    path = PLAN.to_excel(tmp_path / "plan.xlsx")
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == ["Weekly plan", "Monthly plan", "Totals", "Assumptions"]
    rows = list(wb["Weekly plan"].iter_rows(values_only=True))
    header, first = rows[0], rows[1]
    assert header[:4] == ("week", "starts", "Meta dark posts", "Meta follower ads")
    assert len(rows) == DATED.periods + 1 and first[1].date() == date(2027, 1, 4)
    spend = [v for r in rows[1:] for v in r[2:4]]
    assert spend == pytest.approx(PLAN.spend.round(2).ravel().tolist())
    col = header.index("conversions")
    assert [r[col] for r in rows[1:]] == pytest.approx(list(PLAN.outcome.per_period["conversions"]))
    months = list(wb["Monthly plan"].iter_rows(values_only=True))
    assert months[1][0] == "January 2027"
    totals = {r[1]: r[2] for r in wb["Totals"].iter_rows(min_row=2, values_only=True)}
    assert totals["conversions"] == pytest.approx(PLAN.outcome.totals["conversions"])
    assert totals["webcare hours"] == pytest.approx(PLAN.outcome.totals["webcare_hours"])
    register = {r[0]: r[1:] for r in wb["Assumptions"].iter_rows(min_row=2, values_only=True)}
    assert register["budget.total"][0] == 140_000 and register["budget.total"][2] == 150_000
    # Excel in: simulate reads the workbook's plan sheet (result columns skipped).
    scen = tmp_path / "s.toml"
    scen.write_text(DATED.to_toml())
    assert main(["simulate", str(scen), str(path), "--format", "json"]) == 0
    import json

    got = json.loads(capsys.readouterr().out)
    assert got["outcome"]["totals"]["conversions"] == pytest.approx(
        PLAN.outcome.totals["conversions"], rel=1e-5
    )
    # The CLI writes the same workbook; without --out it says what is missing.
    assert main(["plan", str(scen), "--format", "xlsx"]) == 2
    assert "--format xlsx needs --out" in capsys.readouterr().err


def test_excel_says_how_to_install_openpyxl(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "openpyxl", None)
    with pytest.raises(FunnelOptError, match=r"pip install 'funnelopt\[excel\]'"):
        PLAN.to_excel("never-written.xlsx")


def test_compare_report_puts_the_options_side_by_side(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    a = tmp_path / "a.toml"
    a.write_text((EXAMPLES / "traffic_only.toml").read_text())
    b = tmp_path / "b.toml"
    b.write_text(Scenario.from_file(a).with_overrides({"budget.total": 26_000}).to_toml())
    out = tmp_path / "options.md"
    code = main(["compare", str(a), str(b), "--set", "start_date=2027-01-04", "--report", str(out)])
    assert code == 0 and "report written" in capsys.readouterr().err
    text = out.read_text()
    for part in ("# Campaign options", "## The options side by side", "|  | Option A | Option B |",
                 "## What differs between the options", "## Option A: ", "## Option B: ",
                 "### By week", "week of 2027-01-04"):  # fmt: skip
        assert part in text, part
    assert re.search(r"\| budget: total \| 30,000 \| 26,000 \|", text)


def test_report_brands_with_a_logo_and_says_when_charts_are_missing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from funnelopt.report import document

    logo = tmp_path / "logo.svg"
    logo.write_text("<svg xmlns='http://www.w3.org/2000/svg' width='40' height='20'/>")
    branded = PLAN.scenario.with_overrides({"report.logo": str(logo), "report.draft": False})
    html = document.to_html(document.blocks(PLAN, branded, figures=False))
    assert "src='data:image/svg+xml;base64," in html and "class='draft-mark'" not in html
    assert "Final" in html
    with pytest.raises(FunnelOptError, match=r"report\.logo"):
        document.blocks(PLAN, branded.with_overrides({"report.logo": str(tmp_path / "x.gif")}))
    # Without matplotlib the report says what to install instead of dropping the charts.
    monkeypatch.setattr(document, "_matplotlib", lambda: None)
    text = document.to_markdown(document.blocks(PLAN, PLAN.scenario))
    assert "they need matplotlib" in text and "funnelopt\\[notebook\\]" in text
    assert "![" not in text


def test_plan_json_and_frame_carry_each_periods_first_day() -> None:
    """With a start_date the plan JSON and its DataFrame say when each period begins;
    without one the JSON says null and the frame has no date column."""
    import jsonschema

    from funnelopt.schemas import DOCUMENTS

    data = PLAN.to_dict()
    assert data["period_start"][0] == "2027-01-04"
    assert data["period_start"][4] == "2027-02-01"
    assert len(data["period_start"]) == DATED.periods
    jsonschema.validate(data, DOCUMENTS["plan"])
    frame = PLAN.to_frame()
    assert list(frame.columns[:2]) == ["period", "start"]
    week5 = frame[frame["period"] == 5]["start"]
    assert (week5 == "2027-02-01").all()
    undated = optimize(BASE, strategies=False, analysis=False)
    assert undated.to_dict()["period_start"] is None
    assert "start" not in undated.to_frame().columns
