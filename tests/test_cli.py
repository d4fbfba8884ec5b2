"""The command line through its real entry point (a subprocess)."""

from __future__ import annotations

import itertools
import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from conftest import EXAMPLES

import funnelopt
from funnelopt import Scenario
from funnelopt.schemas import schema


def run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "funnelopt", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_version() -> None:
    r = run("--version")
    assert r.returncode == 0
    assert r.stdout.strip() == f"funnelopt {funnelopt.__version__}"


def test_check_valid_examples() -> None:
    for path in sorted(EXAMPLES.glob("*.toml")):
        r = run("check", str(path))
        assert r.returncode == 0, r.stderr
        assert "valid" in r.stdout


def test_check_broken_copy_names_the_field(tmp_path: Path) -> None:
    text = (EXAMPLES / "disease_awareness.toml").read_text()
    broken = tmp_path / "broken.toml"
    broken.write_text(text.replace("schema_version = 1", "schema_version = 1\nperiods_x = 3", 1))
    r = run("check", str(broken))
    assert r.returncode == 2
    assert "error: periods_x = 3: is not a known field" in r.stderr
    assert "Traceback" not in r.stderr


def test_check_reads_stdin_and_reports_every_problem() -> None:
    text = (EXAMPLES / "traffic_only.toml").read_text()
    text = text.replace("periods        = 12", "periods = 0", 1)
    text = text.replace("ctr           = 0.01", "ctr = 7", 1)
    r = run("check", "-", stdin=text)
    assert r.returncode == 2
    assert "periods = 0: must be >= 1" in r.stderr
    assert "tactics.meta_dark.ctr = 7: must be < 1" in r.stderr


def test_malformed_toml_is_exit_2() -> None:
    r = run("check", "-", stdin="periods = = 3")
    assert r.returncode == 2 and "not valid TOML" in r.stderr


def test_no_command_prints_help() -> None:
    r = run()
    assert r.returncode == 2 and "usage: funnelopt" in r.stdout


# -- the what-if CLI ----------------------------------------------------------------------------

FULL = str(EXAMPLES / "disease_awareness.toml")
SMALL = str(EXAMPLES / "traffic_only.toml")


def test_plan_table_fits_80_columns() -> None:
    r = run("plan", FULL)
    assert r.returncode == 0, r.stderr
    assert "OPTIMAL" in r.stdout and "Spend per week" in r.stdout and "Strategies" in r.stdout
    assert "+1,000 EUR total budget ->" in r.stdout
    assert max(len(line) for line in r.stdout.splitlines()) <= 80


@pytest.mark.parametrize(
    "argv",
    [
        ["check", FULL],
        ["whatif", FULL, "--set", "goals[2].target=6000"],
        [
            "sweep",
            SMALL,
            "--param",
            "budget.total",
            "--values",
            "20000,30000",
            "--param",
            "tactics.meta_dark.cpm",
            "--values",
            "9.5,12",
            "--quiet",
        ],
    ],
    ids=["check", "whatif-diagnosis", "sweep-2d"],
)
def test_every_table_fits_80_columns(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    from funnelopt.cli import main

    main(argv)
    out = capsys.readouterr().out
    assert out.strip() and max(len(line) for line in out.splitlines()) <= 80, out


def test_swept_values_are_shown_as_given(capsys: pytest.CaptureFixture[str]) -> None:
    """The trial's M1: 0.0095 and 9.5 were printed as 0 and 10."""
    from funnelopt.cli import main

    argv = ["sweep", SMALL, "--param", "tactics.meta_dark.ctr", "--values", "0.0095,0.012"]
    main([*argv, "--param", "tactics.meta_dark.cpm", "--values", "9.5,12", "--quiet"])
    rows = [line.split() for line in capsys.readouterr().out.splitlines()[4:8]]
    assert [r[:2] for r in rows] == [
        ["0.0095", "9.5"],
        ["0.0095", "12"],
        ["0.012", "9.5"],
        ["0.012", "12"],
    ]


def test_text_outputs_read_as_meant(tmp_path: Path) -> None:
    """print(scenario) is a summary; plan.to_text() is the CLI's text; a gap in the safe
    direction reads as such; Markdown titles are whole."""
    from funnelopt import Scenario, optimize

    s = Scenario.from_file(FULL)
    assert str(s).startswith(f"{s.name!r}: 26 weeks, 2 tactics, 1 community, 3 goals;")
    plan = optimize(s)
    text = plan.to_text()
    assert text.startswith(s.name[:40]) and "checked by simulation: delivers at least" in text
    assert "FAILED" not in text
    assert plan.to_text(markdown=True).startswith(f"# {s.name}: OPTIMAL")


def test_plan_json_is_deterministic_and_valid() -> None:
    a, b = run("plan", FULL, "--format", "json"), run("plan", FULL, "--format", "json")
    assert a.returncode == 0 and a.stdout == b.stdout
    data = json.loads(a.stdout)
    jsonschema.validate(data, schema("plan"))
    # The funnel and workload per week: flows sum to the totals; capacity names its use.
    assert len(data["per_period"]["conversions"]) == 26
    assert sum(data["per_period"]["conversions"]) == pytest.approx(data["totals"]["conversions"])
    assert data["capacity"]["webcare_hours"]["peak_use"] < 1
    assert data["status"] == "optimal" and data["schema_version"] == 1


def test_plan_from_stdin_json_with_sets() -> None:
    from funnelopt import Scenario

    text = Scenario.from_file(SMALL).to_json()
    r = run("plan", "-", "--set", "budget.total=40000", "--format", "json", stdin=text)
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    assert data["totals"]["cost_total"] <= 40000 * (1 + 1e-9)
    assert data["totals"]["cost_total"] > 30000  # the override took effect


def test_plan_csv_and_markdown(tmp_path: Path) -> None:
    out = tmp_path / "plan.csv"
    r = run("plan", SMALL, "--format", "csv", "--out", str(out))
    assert r.returncode == 0 and r.stdout == ""
    lines = out.read_text().splitlines()
    assert lines[0].startswith("period,meta_dark,") and len(lines) == 13
    md = run("plan", SMALL, "--format", "markdown").stdout
    assert md.startswith("# ") and "|---|" in md


def test_infeasible_plan_exits_1_with_diagnosis() -> None:
    r = run("plan", FULL, "--set", "goals[2].target=6000")
    assert r.returncode == 1
    assert "INFEASIBLE" in r.stdout and "would meet them all" in r.stdout
    j = run("plan", FULL, "--set", "goals[2].target=6000", "--format", "json")
    data = json.loads(j.stdout)
    jsonschema.validate(data, schema("plan"))
    assert data["diagnosis"]["required_budget"] > 150_000


def test_whatif_side_by_side() -> None:
    r = run("whatif", FULL, "--set", "budget.total=120000", "--set", "tactics.meta_dark.cpm=9.5")
    assert r.returncode == 0, r.stderr
    assert "base" in r.stdout and "what-if" in r.stdout and "change" in r.stdout
    j = json.loads(run("whatif", SMALL, "--set", "budget.total=40000", "--format", "json").stdout)
    jsonschema.validate(j["base"], schema("plan"))
    jsonschema.validate(j["whatif"], schema("plan"))
    jsonschema.validate(j, schema("whatif"))
    assert j["changes"] == {"budget.total": 40000}
    assert j["whatif"]["objective"] > j["base"]["objective"]


def test_sweep_json_frontier_is_monotone() -> None:
    r = run(
        "sweep", SMALL, "--param", "budget.total", "--values", "20000:60000:9", "--format", "json"
    )
    assert r.returncode == 0, r.stderr
    assert r.stderr == ""  # no progress bar when not a terminal
    data = json.loads(r.stdout)
    jsonschema.validate(data, schema("sweep"))
    pts = data["points"]
    assert [p["values"]["budget.total"] for p in pts] == [20000 + 5000 * i for i in range(9)]
    objs = [p["objective"] for p in pts if p["status"] == "optimal"]
    assert len(objs) >= 6 and all(b >= a - 1e-6 for a, b in itertools.pairwise(objs))
    assert data["knee"] is not None


def test_sweep_list_and_two_params() -> None:
    r = run(
        "sweep", SMALL, "--param", "budget.total", "--values", "30000,40000",
        "--param", "tactics.meta_dark.cpm", "--values", "8,12", "--format", "json",
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    pts = json.loads(r.stdout)["points"]
    assert len(pts) == 4 and pts[0]["values"] == {"budget.total": 30000, "tactics.meta_dark.cpm": 8}
    table = run("sweep", SMALL, "--param", "budget.total", "--values", "30000,40000", "--quiet")
    assert "every point has a plan (status optimal)" in table.stdout and table.returncode == 0


def test_compare() -> None:
    r = run("compare", FULL, SMALL)
    assert r.returncode == 0 and "disease_awareness" in r.stdout and "traffic_only" in r.stdout
    data = json.loads(run("compare", FULL, SMALL, "--format", "json").stdout)
    jsonschema.validate(data, schema("compare"))
    for entry in data["scenarios"]:
        jsonschema.validate(entry["plan"], schema("plan"))


def test_simulate_hand_made_plan(tmp_path: Path) -> None:
    plan_csv = tmp_path / "agency.csv"
    plan_csv.write_text("period,meta_dark\n" + "".join(f"{t},2500\n" for t in range(1, 13)))
    r = run("simulate", SMALL, str(plan_csv))
    assert r.returncode == 0, r.stderr
    assert "Objective: conversions" in r.stdout
    data = json.loads(run("simulate", SMALL, str(plan_csv), "--format", "json").stdout)
    jsonschema.validate(data, schema("simulate"))
    assert data["outcome"]["totals"]["spend"] == pytest.approx(30000)
    # An even spread is the exact optimum here; the optimiser's plan is within its tolerance.
    assert data["gap_to_optimum"] >= -0.005 * data["optimum"]
    # A plan JSON written by `plan --format json` reads back too.
    pj = tmp_path / "plan.json"
    pj.write_text(run("plan", SMALL, "--format", "json").stdout)
    back = json.loads(run("simulate", SMALL, str(pj), "--format", "json").stdout)
    assert back["gap_to_optimum"] == pytest.approx(0, abs=1e-3 * back["optimum"])


def test_schema_and_example(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from funnelopt.cli import main
    from funnelopt.schemas import DOCUMENTS

    def out(*argv: str) -> str:
        assert main(list(argv)) == 0
        return capsys.readouterr().out

    for kind in ("scenario", *DOCUMENTS):
        jsonschema.Draft202012Validator.check_schema(json.loads(out("schema", kind)))
    assert {"plan", "whatif", "compare", "simulate", "check", "listen", "errors"} <= set(DOCUMENTS)
    text = out("example")
    (tmp_path / "s.toml").write_text(text)
    out("check", str(tmp_path / "s.toml"))
    assert "traffic" in out("example", "--kind", "traffic").lower()
    jsonschema.validate(tomllib.loads(text), json.loads(out("schema")))
    # The console script itself starts (one subprocess is enough to show it).
    assert run("schema", "errors").returncode == 0


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("plan", FULL, "--set", "tactics.meta_drk.cpm=3"), "did you mean 'meta_dark'"),
        (("plan", FULL, "--set", "budget.totl=3"), "did you mean 'budget.total'"),
        (("plan", FULL, "--set", "budget.total=-5"), "budget.total = -5: must be > 0"),
        (("plan", FULL, "--set", "tactics.meta_dark.ctr=NaN"), "tactics.meta_dark.ctr = 'NaN'"),
        (("plan", FULL, "--set", "periods=many"), "periods = 'many'"),
        (("plan", FULL, "--set", "nonsense"), "must be PATH=VALUE"),
        (("whatif", FULL), "whatif needs at least one --set"),
        (("sweep", SMALL, "--param", "budget.total", "--values", "1:2"), "start:stop:count"),
        (("simulate", SMALL, "/nonexistent.csv"), "cannot be read"),
        (("plan", "/nonexistent.toml"), "cannot be read"),
    ],
)
def test_bad_input_exits_2_naming_the_field(args: tuple[str, ...], expected: str) -> None:
    r = run(*args)
    assert r.returncode == 2, (r.stdout, r.stderr)
    assert expected in r.stderr
    assert "Traceback" not in r.stderr


def test_bad_toml_from_stdin() -> None:
    r = run("plan", "-", stdin="[budget\ntotal = 5")
    assert r.returncode == 2 and "error: <stdin>: not valid TOML" in r.stderr


def test_wrong_types_in_file(tmp_path: Path) -> None:
    text = Path(SMALL).read_text().replace("cpm           = 12.0", 'cpm = "cheap"', 1)
    bad = tmp_path / "bad.toml"
    bad.write_text(text)
    r = run("plan", str(bad))
    assert r.returncode == 2 and "tactics.meta_dark.cpm = 'cheap'" in r.stderr


def test_cli_json_is_the_app_layers_document_byte_for_byte(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The CLI prints exactly what the app layer's use case returns (the HTTP service
    will print the same), for what-if and compare."""
    from funnelopt import app
    from funnelopt.cli import main

    path = str(EXAMPLES / "traffic_only.toml")
    s = Scenario.from_file(path)
    assert main(["whatif", path, "--set", "budget.total=60000", "--format", "json"]) == 0
    printed = capsys.readouterr().out
    expected = app.to_json(app.whatif(s, {"budget.total": 60000}).to_dict())
    assert printed.rstrip("\n") == expected
    assert main(["compare", path, path, "--format", "json"]) == 0
    printed = capsys.readouterr().out
    expected = app.to_json(app.compare([(path, s), (path, s)]).to_dict())
    assert printed.rstrip("\n") == expected


def test_invalid_input_under_json_is_reported_as_json_too() -> None:
    """Embedding programs get the errors as data (path, value, rule), valid against the
    published schema, beside the human lines on stderr."""
    r = run(
        "plan",
        str(EXAMPLES / "traffic_only.toml"),
        "--set",
        "budget.total=-5",
        "--set",
        "tactics.meta_dark.ctr=2",
        "--format",
        "json",
    )
    assert r.returncode == 2
    doc = json.loads(r.stdout)
    jsonschema.validate(doc, schema("errors"))
    paths = {e["path"] for e in doc["errors"]}
    assert {"budget.total", "tactics.meta_dark.ctr"} <= paths
    assert "error: budget.total" in r.stderr


def test_time_limit_option_is_validated_and_reaches_the_certificate() -> None:
    r = run("plan", str(EXAMPLES / "traffic_only.toml"), "--time-limit", "-1")
    assert r.returncode == 2 and "--time-limit" in r.stderr
    r = run("plan", str(EXAMPLES / "traffic_only.toml"), "--time-limit", "5", "--format", "json")
    assert r.returncode == 0
    cert = json.loads(r.stdout)["certificate"]
    assert cert["stopped"] == "met" and cert["met"]


def test_simulate_states_what_a_plan_breaks_and_compares_metrics(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The trial's M11: an over-budget plan read '1,163.3 conversions away from the
    optimum' while it gave 503 conversions more; the gap was in score units."""
    from funnelopt.cli import main

    plan_csv = tmp_path / "agency.csv"
    rows = "".join(f"{t},4000,800\n" for t in range(1, 27))
    plan_csv.write_text("period,meta_dark,meta_follow\n" + rows)
    assert main(["simulate", FULL, str(plan_csv)]) == 1
    out = capsys.readouterr().out
    score = next(line for line in out.splitlines() if line.startswith("Score: "))
    value, conversions, penalty = (
        float(x.replace(",", "")) for x in re.findall(r"[\d,]+\.\d", score)
    )
    assert value == pytest.approx(conversions - penalty, abs=0.11)
    assert "This plan breaks budget.total (below), so it is no alternative" in out
    versus = next(line for line in out.splitlines() if line.startswith("Compared with"))
    mine, best = re.findall(r"conversions ([\d,]+) vs ([\d,]+)", versus)[0]
    assert int(mine.replace(",", "")) > int(best.replace(",", ""))  # more conversions, over budget
    assert "away from it" not in out


@pytest.mark.parametrize("name", ["disease_awareness.toml", "traffic_only.toml"])
def test_convert_round_trips_toml_and_json(
    name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from funnelopt import Scenario
    from funnelopt.cli import main

    src = EXAMPLES / name
    assert main(["convert", str(src), "--out", str(tmp_path / "s.json")]) == 0
    assert main(["convert", str(tmp_path / "s.json"), "--out", str(tmp_path / "s.toml")]) == 0
    original = Scenario.from_file(src)
    for out in ("s.json", "s.toml"):
        assert Scenario.from_file(tmp_path / out).to_dict() == original.to_dict()
    assert main(["convert", str(src), "--to", "toml", "--set", "budget.total=160000"]) == 0
    assert "total = 160000.0" in capsys.readouterr().out


def test_sweeps_and_what_ifs_separate_score_penalty_and_community(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Issue 10 item 7: 'conversions fall as the budget rises' is explained on screen."""
    from funnelopt.cli import main

    main(["sweep", FULL, "--param", "budget.total", "--values", "100000,150000", "--quiet"])
    out = capsys.readouterr().out
    header = out.splitlines()[2].split()
    assert header == ["budget", "score", "penalty", "cost", "conversions", "followers"]
    assert "0 (off)" in out and "(on)" in out
    assert "score = conversions - soft-goal penalty" in out
    main(["whatif", FULL, "--set", "budget.total=100000"])
    out = capsys.readouterr().out
    assert "soft-goal penalty" in out and "community patients_de" in out
    assert max(len(line) for line in out.splitlines()) <= 80


def test_sensitivity_with_soft_goals_is_labelled_in_score() -> None:
    """With soft goals the LP's marginal values move the penalised objective: the text
    says "score" (a new user read +429 "conversions" for 1,000 EUR at EUR 53 each)."""
    from funnelopt import Scenario, optimize
    from funnelopt.report.text import sensitivity_lines

    s = Scenario.from_file(EXAMPLES / "disease_awareness.toml")
    assert any(not g.hard for g in s.goals)
    lines = sensitivity_lines(optimize(s, strategies=False))
    assert "in score" in lines[0]
    assert any("score" in ln for ln in lines if ln.startswith("  +1,000"))
    hard = s.with_overrides({f"goals[{i}].hard": True for i, g in enumerate(s.goals)})
    plain = sensitivity_lines(optimize(hard, strategies=False))
    assert plain and not any("score" in ln for ln in plain)


def test_a_solver_failure_with_json_output_is_a_json_error_document(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """From a new-user trial: exit 3 with --format json left stdout empty (0 bytes), where
    invalid input gives an errors document. A solver failure is now data too, in the
    HTTP service's shape; the table output stays as it was (stderr only)."""
    import funnelopt.app as app_module
    from funnelopt.cli import EXIT_SOLVER, main
    from funnelopt.errors import SolverError

    def failing(*_a: Any, **_k: Any) -> Any:
        raise SolverError("highs failed: no status")

    monkeypatch.setattr(app_module, "plan", failing)
    example = str(EXAMPLES / "traffic_only.toml")
    assert main(["plan", example, "--format", "json"]) == EXIT_SOLVER
    out, err = capsys.readouterr()
    assert json.loads(out) == {"error": "solver failure: highs failed: no status"}
    assert "solver failure" in err
    assert main(["plan", example]) == EXIT_SOLVER
    assert capsys.readouterr().out == ""
