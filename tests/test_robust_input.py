"""No crash on any input: every file, however broken, gets a field-named error and exit 2
(the adversarial run's crash files are kept here as regression cases), and random bytes,
JSON and TOML trees fed to every reader raise ScenarioError or validate - nothing else."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

import pytest
from conftest import EXAMPLES
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from funnelopt import Scenario, ScenarioError, simulate, sweep
from funnelopt.cli import main, read_plan_file
from funnelopt.scenario import decode

CASES = Path(__file__).parent / "adversarial_cases"
FILES = sorted(p.name for p in CASES.iterdir() if p.is_file())
PLANS = sorted(p.name for p in (CASES / "plans").iterdir())


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = main(list(argv))
    return code, capsys.readouterr().err


@pytest.mark.parametrize("name", FILES)
def test_adversarial_files_get_a_named_error_or_pass(
    name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, err = _run(capsys, "check", str(CASES / name))
    assert code in (0, 2), err
    if code == 2:
        lines = [line for line in err.splitlines() if line]
        assert lines and all(line.startswith("error: ") for line in lines)


@pytest.mark.parametrize("name", PLANS)
def test_broken_plan_files_for_simulate_get_a_named_error(
    name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, err = _run(
        capsys, "simulate", str(EXAMPLES / "traffic_only.toml"), str(CASES / "plans" / name)
    )
    assert code == 2 and err.startswith("error: "), err


def test_tiny_values_that_made_nan_curves_are_refused_by_name() -> None:
    for name, field in (
        ("D04a_freqcap_denormal.json", "frequency_cap"),
        ("D04b_cpm_denormal.json", "cpm"),
        ("D04c_population_denormal.json", "pool"),
    ):
        with pytest.raises(ScenarioError) as info:
            Scenario.from_file(CASES / name)
        assert any(field in p.path for p in info.value.problems)


def test_byte_order_marks_are_accepted(tmp_path: Path) -> None:
    text = (EXAMPLES / "traffic_only.toml").read_text(encoding="utf-8")
    base = Scenario.from_toml(text)
    for encoding in ("utf-8-sig", "utf-16", "utf-32"):
        path = tmp_path / f"s_{encoding}.toml"
        path.write_bytes(text.encode(encoding))
        assert Scenario.from_file(path) == base


def test_unwritable_outputs_are_named_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    example = str(EXAMPLES / "traffic_only.toml")
    missing = str(tmp_path / "no" / "such" / "dir" / "out.json")
    code, err = _run(capsys, "plan", example, "--out", missing)
    assert code == 2 and "--out" in err and "cannot be written" in err
    code, err = _run(capsys, "plan", example, "--report", str(tmp_path / "no" / "r.html"))
    assert code == 2 and "--report" in err


def test_a_deep_value_through_set_is_named(capsys: pytest.CaptureFixture[str]) -> None:
    deep = "[" * 900 + "]" * 900
    code, err = _run(
        capsys,
        "check",
        str(EXAMPLES / "traffic_only.toml"),
        "--set",
        f"tactics.meta_dark.cpm={deep}",
    )
    assert code == 2 and "cpm" in err


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=400))
def test_random_bytes_raise_scenario_errors_only(raw: bytes) -> None:
    with contextlib.suppress(ScenarioError):
        Scenario.from_text(decode(raw, "<bytes>"), "<bytes>")


_leaf = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12)
_tree = st.recursive(
    _leaf,
    lambda kids: (
        st.lists(kids, max_size=4) | st.dictionaries(st.text(max_size=8), kids, max_size=4)
    ),
    max_leaves=30,
)
_keys = st.sampled_from(
    ["periods", "population", "budget", "site", "tactics", "goals", "communities", "objective"]
)


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(_keys | st.text(max_size=8), _tree, max_size=8))
def test_random_json_trees_raise_scenario_errors_only(tree: dict[str, object]) -> None:
    with contextlib.suppress(ScenarioError):
        Scenario.from_json(json.dumps(tree))
    with contextlib.suppress(ScenarioError):
        Scenario.from_dict(tree)


@settings(max_examples=100, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(alphabet=st.sampled_from('[]{}="abc01.,\n #-:'), max_size=200))
def test_random_toml_text_raises_scenario_errors_only(text: str) -> None:
    with contextlib.suppress(ScenarioError):
        Scenario.from_toml(text)


@settings(max_examples=100, suppress_health_check=[HealthCheck.too_slow])
@given(_tree)
def test_random_plan_files_raise_scenario_errors_only(tree: object) -> None:
    import tempfile

    s = Scenario.from_file(EXAMPLES / "traffic_only.toml")
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(tree, f)
    try:
        read_plan_file(f.name, s)
    except ScenarioError:
        pass
    finally:
        Path(f.name).unlink()


def test_a_tactic_id_equal_to_another_tactics_audience_does_not_merge_them() -> None:
    """D17: a tactic 'shared' without an audience and a tactic with audience = 'shared'
    reach different people; renaming the first tactic changes nothing."""
    data = json.loads((CASES / "audience_id_collision.json").read_text())
    s = Scenario.from_dict(data)
    renamed = json.loads(json.dumps(data))
    renamed["tactics"][0]["id"] = "solo"
    r = Scenario.from_dict(renamed)
    spend = [[1000.0, 1000.0]] * s.periods
    a, b = simulate(s, spend), simulate(r, spend)
    assert a.totals["reach"] == pytest.approx(b.totals["reach"], rel=1e-12)
    from funnelopt import optimize

    pa = optimize(s, strategies=False, analysis=False)
    pb = optimize(r, strategies=False, analysis=False)
    assert pa.objective == pytest.approx(pb.objective, rel=1e-9)


def test_the_markdown_report_makes_user_text_inert(tmp_path: Path) -> None:
    """D21: names, descriptions and sources cannot inject HTML or links into the .md."""
    from funnelopt import optimize

    s = Scenario.from_file(CASES / "xss_names.json")
    md = optimize(s).report(tmp_path / "r.md").read_text(encoding="utf-8")
    assert "<script" not in md and "<img" not in md
    assert "[link](javascript" not in md and "&lt;script&gt;" in md


@pytest.mark.parametrize("name", sorted(p.name for p in (CASES / "valid_extremes").iterdir()))
def test_extreme_values_get_a_plan_or_a_named_error_never_a_solver_failure(
    name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """D16: values at the edges (2^63 followers, a 1e15 set-up cost, weights of 1e308,
    followers growing 500x a week, a capacity of 1e-9 hours) ended in 'solver failure'
    (exit 3). Now each is refused by name (exit 2) or planned (exit 0/1)."""
    code, err = _run(capsys, "plan", str(CASES / "valid_extremes" / name), "--format", "json")
    assert code in (0, 1, 2), err
    if code == 2:
        assert err.startswith("error: ") and "solver" not in err


def test_simulate_never_calls_a_plan_over_budget_better(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """D18: a hand-made plan that spends twice the budget scored more conversions and was
    called 'better, within the optimiser's tolerance'. It breaks a limit: it is no
    alternative, and simulate says so (exit 1)."""
    plan = str(CASES / "simulate" / "over_budget.csv")
    code = main(["simulate", str(EXAMPLES / "traffic_only.toml"), plan])
    out = capsys.readouterr().out
    assert code == 1
    assert "better" not in out and "This plan breaks budget.total (below)" in out


def test_errors_name_the_field_and_stay_one_short_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """D19: a NaN literal in JSON is named by its field; D20: an id with a newline or of
    100,000 characters does not split or flood the error line."""
    code, err = _run(capsys, "check", str(CASES / "json_nan_literal.json"))
    assert code == 2 and "tactics.meta_dark.cpm = nan" in err
    for name in ("id_with_newline.json", "id_100k_chars.json"):
        code, err = _run(capsys, "check", str(CASES / name))
        lines = err.splitlines()
        assert code == 2 and all(line.startswith("error: ") for line in lines)
        assert max(len(line) for line in lines) < 400


def test_sweep_values_may_start_with_a_minus(capsys: pytest.CaptureFixture[str]) -> None:
    """`--values -5,10` is read as values (and validated), not as an unknown option."""
    code, err = _run(
        capsys,
        "sweep",
        str(EXAMPLES / "traffic_only.toml"),
        "--param",
        "budget.period_min",
        "--values",
        "-5,10",
        "--quiet",
    )
    assert code == 2 and "budget.period_min = -5" in err


def test_sweep_grids_and_tolerances_are_bounded(
    capsys: pytest.CaptureFixture[str], traffic: Scenario
) -> None:
    """D13 and D14: a huge grid or a microscopic tolerance is refused before any work."""
    from funnelopt.studies.sweep import MAX_POINTS

    traffic_file = str(EXAMPLES / "traffic_only.toml")
    code, err = _run(
        capsys, "sweep", traffic_file, "--param", "budget.total", "--values", "1:2:99999999999"
    )
    assert code == 2 and f"count must be in 1..{MAX_POINTS:,}" in err
    grid = {"budget.total": [1e4 + i for i in range(60)], "periods": list(range(2, 40))}
    with pytest.raises(ScenarioError, match="at most 2,000 points"):
        sweep(traffic, grid)
    with pytest.raises(ScenarioError, match=r"tolerance = 1e-09: must be in \[0.0001, 0.5\)"):
        sweep(traffic, {"budget.total": [1e4]}, tolerance=1e-9)
    code, err = _run(capsys, "plan", traffic_file, "--tolerance", "1e-9")
    assert code == 2 and "tolerance = 1e-09" in err


def test_source_suggestions_compare_with_a_few_paths_not_all(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """D12: each misspelt [sources] key was compared with all ~10,000 paths of a
    500-tactic scenario (0.6 s a key); now with the paths that share its parent or name."""
    import difflib

    data = json.loads((CASES / "dos_sources_bogus_20.json").read_text())
    sizes: list[int] = []
    real = difflib.get_close_matches

    def counting(word: str, possibilities: list[str], **kw: object) -> list[str]:
        sizes.append(len(possibilities))
        return real(word, possibilities, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(difflib, "get_close_matches", counting)
    with pytest.raises(ScenarioError) as info:
        Scenario.from_dict(data)
    text = str(info.value)
    assert "sources.tactics.t7.cpmx7" in text and "did you mean 'tactics.t7.cpm'" in text
    assert len(sizes) == 20 and max(sizes) < 100


def test_a_model_beyond_the_measured_size_is_refused_by_name(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """D15: 520 x 500 took over 10 GB before HiGHS aborted; the limit is on the product."""
    from funnelopt.scenario import MAX_CELLS

    code, err = _run(capsys, "check", str(CASES / "D15_T520_J500.json"))
    assert code == 2
    assert f"520 periods x 500 tactics = 260,000 cells; at most {MAX_CELLS:,}" in err
