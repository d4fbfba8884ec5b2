"""Plausibility warnings: valid values outside the sourced ranges are named, with the fix
for a percentage typed as a fraction; the shipped examples raise none."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
from conftest import EXAMPLES
from hypothesis import given, settings
from test_properties import scenarios

from funnelopt import Scenario, optimize
from funnelopt.cli import main
from funnelopt.plausibility import RANGES, warnings
from funnelopt.schemas import schema


@pytest.mark.parametrize("name", ["disease_awareness.toml", "traffic_only.toml"])
def test_the_shipped_examples_are_plausible(name: str) -> None:
    assert warnings(Scenario.from_file(EXAMPLES / name)) == []


def test_a_percentage_typed_as_a_fraction_is_named_with_the_fix() -> None:
    """The trial's CTR 0.9 (meant 0.9%) gave 85,287 conversions without a word."""
    s = Scenario.from_file(EXAMPLES / "traffic_only.toml").with_overrides(
        {"tactics.meta_dark.ctr": 0.9, "site.conversion_rate": 0.0001}
    )
    found = {(w.path, w.rule) for w in warnings(s)}
    paths = [p for p, _ in found]
    assert paths.count("tactics.meta_dark.ctr") == 2  # the rate, and the cost per click
    assert any("rates are fractions: 0.9% is 0.009" in r for _, r in found)
    assert any(p == "site.conversion_rate" and "0.5-50%" in r for p, r in found)
    # Low values get the range but no percentage hint.
    assert not any("fractions" in r for p, r in found if p == "site.conversion_rate")


def test_warnings_reach_plan_json_cli_and_report(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    s = Scenario.from_file(EXAMPLES / "traffic_only.toml").with_overrides(
        {"tactics.meta_dark.cpm": 150.0}
    )
    plan = optimize(s, strategies=False, analysis=False)
    doc = json.loads(plan.to_json())
    jsonschema.validate(doc, schema("plan"))
    assert doc["warnings"] == [
        {
            "path": "tactics.meta_dark.cpm",
            "value": 150.0,
            "rule": "outside the sourced range: " + RANGES["cpm"][2],
        }
    ]
    report = plan.report(tmp_path / "r.md").read_text()
    assert "## Inputs to check" in report and "tactics.meta_dark.cpm = 150.0" in report
    code = main(
        ["check", str(EXAMPLES / "traffic_only.toml"), "--set", "tactics.meta_dark.cpm=150"]
    )
    out = capsys.readouterr()
    assert code == 0 and "valid" in out.out
    assert out.err.startswith("warning: tactics.meta_dark.cpm = 150.0: outside the sourced range")


@settings(max_examples=40, deadline=None)
@given(scenarios())
def test_every_warning_names_a_field_of_the_scenario(data: dict[str, object]) -> None:
    s = Scenario.from_dict(data)
    for w in warnings(s):
        assert w.path in s.field_paths(), w
        assert "outside the sourced range" in w.rule


def test_money_ranges_apply_only_to_currencies_near_the_sources() -> None:
    s = Scenario.from_file(EXAMPLES / "traffic_only.toml").with_overrides(
        {"currency": "JPY", "tactics.meta_dark.cpm": 1800.0}
    )
    assert warnings(s) == []  # 1,800 yen is no implausible CPM
