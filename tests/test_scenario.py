"""The scenario: loading, complete and kind validation, overrides, schema."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from conftest import BASE, COMMUNITY, EXAMPLES, build
from pydantic import ValidationError

from funnelopt import Scenario, ScenarioError


def problems_of(data: dict[str, Any]) -> list[str]:
    with pytest.raises(ScenarioError) as info:
        Scenario.from_dict(data)
    return [str(p) for p in info.value.problems]


def test_examples_load() -> None:
    for path in sorted(EXAMPLES.glob("*.toml")):
        s = Scenario.from_file(path)
        assert s.periods >= 1 and s.tactics


def test_toml_json_and_dict_give_the_same_scenario() -> None:
    s = Scenario.from_file(EXAMPLES / "disease_awareness.toml")
    assert Scenario.from_json(s.to_json()) == s
    assert Scenario.from_dict(s.to_dict()) == s
    assert Scenario.from_text(s.to_json()) == s


def test_scenario_is_frozen(traffic: Scenario) -> None:
    with pytest.raises(ValidationError):
        traffic.periods = 5  # type: ignore[misc]


def test_defaults(traffic: Scenario) -> None:
    assert traffic.schema_version == 1
    assert traffic.objective.kind == "maximize"
    assert traffic.objective.metric.value == "conversions"
    assert traffic.reach_curve == "exponential"


@pytest.mark.parametrize(
    ("path", "value", "expected"),
    [
        ("ctr", 1.5, "tactics.dark.ctr = 1.5: must be < 1"),
        ("ctr", -0.1, "tactics.dark.ctr = -0.1: must be >= 0"),
        ("cpm", 0, "tactics.dark.cpm = 0: must be >= 0.0001"),
        ("cpm", math.nan, "tactics.dark.cpm = nan: must be a finite number"),
        ("pool", math.inf, "tactics.dark.pool = inf: must be a finite number"),
        ("landing_rate", 1.2, "tactics.dark.landing_rate = 1.2: must be <= 1"),
        ("kind", "tv", "tactics.dark.kind = 'tv': must be one of"),
        ("colour", "red", "tactics.dark.colour = 'red': is not a known field"),
        ("pool", 200_000, "tactics.dark.pool = 200000.0: must be <= population"),
        ("start", 9, "tactics.dark.start = 9: must be within 1..4"),
        ("end", 7, "tactics.dark.end = 7: must be within 1..4"),
        ("id", "9lives", "must be a name of letters"),
    ],
)
def test_tactic_field_errors_name_the_path(path: str, value: Any, expected: str) -> None:
    data = build()
    data["tactics"][0][path] = value
    found = problems_of(data)
    assert any(expected in p for p in found), found


def test_every_problem_is_reported_at_once() -> None:
    data = build(periods=0, population=-5)
    data["tactics"][0]["ctr"] = 2
    found = problems_of(data)
    joined = "\n".join(found)
    assert "periods = 0" in joined and "population = -5" in joined and "ctr = 2" in joined


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"budget": {}}, "budget: give at least one cap"),
        (
            {"budget": {"total": 100, "period_min": 50, "period_max": 40}},
            "budget.period_min = 50.0",
        ),
        (
            {"budget": {"total": 100, "period_min": 30}},
            "times 4 weeks (120) exceeds budget.total (100)",
        ),
        ({"periods": 521}, "periods = 521: must be <= 520"),
        ({"currency": "euro"}, "currency = 'euro'"),
        ({"goals": [{"metric": "reach_share", "target": 1.5}]}, "goals[0].target = 1.5"),
        ({"goals": [{"metric": "reach", "target": 1e6}]}, "must be <= population"),
        (
            {"goals": [{"metric": "visits", "target": 10, "by": 5}]},
            "goals[0].by = 5: must be within 1..4",
        ),
        ({"goals": [{"metric": "followers", "target": 10}]}, "needs a [[communities]] account"),
        ({"goals": [{"metric": "likes", "target": 10}]}, "goals[0].metric = 'likes'"),
        ({"goals": [{"metric": "visits", "target": 10, "weight": 3}]}, "only soft goals"),
        ({"objective": {"maximize": "visits", "minimize": "cost"}}, "exactly one of"),
        ({"sources": {"tactics.dark.cpx": "x"}}, "did you mean 'tactics.dark.cpm'"),
        ({"site": {"conversion_rate": 1.0}}, "site.conversion_rate = 1.0: must be < 1"),
        ({"schema_version": 2}, "schema_version = 2"),
    ],
)
def test_cross_field_rules(change: dict[str, Any], expected: str) -> None:
    found = problems_of(build(**change))
    assert any(expected in p for p in found), found


def test_tactic_ids_unique() -> None:
    data = build()
    data["tactics"].append(dict(data["tactics"][0]))
    assert any("tactics[1].id = 'dark': must be unique" in p for p in problems_of(data))


def test_community_rules() -> None:
    data = build(COMMUNITY)
    data["tactics"][1]["account"] = "nobody"
    assert any("tactics.follow.account = 'nobody': must name" in p for p in problems_of(data))
    data = build(COMMUNITY)
    del data["webcare"]
    assert any(p.startswith("webcare: required") for p in problems_of(data))
    data = build(COMMUNITY)
    data["tactics"][0]["follow_rate"] = 0.01
    assert any("only community tactics gain followers" in p for p in problems_of(data))


def test_min_max_rules() -> None:
    data = build()
    data["tactics"][0].update(min_spend=50, max_spend=10, min_total=100, max_total=20)
    joined = "\n".join(problems_of(data))
    assert "min_spend = 50.0: must be <= max_spend" in joined
    assert "min_total = 100.0: must be <= max_total" in joined


def test_size_bounds() -> None:
    data = build()
    data["tactics"] = [dict(data["tactics"][0], id=f"t{i}") for i in range(501)]
    assert any("too many items (at most 500)" in p for p in problems_of(data))


def test_direct_construction_raises_scenario_error() -> None:
    with pytest.raises(ScenarioError, match="periods"):
        Scenario(**build(periods=-1))


def test_json_rejects_nan_naming_the_field() -> None:
    text = json.dumps(BASE).replace('"cpm": 10.0', '"cpm": NaN')
    with pytest.raises(ScenarioError, match=r"tactics\.dark\.cpm = nan: must be a finite"):
        Scenario.from_json(text)


def test_malformed_toml() -> None:
    with pytest.raises(ScenarioError, match="not valid TOML"):
        Scenario.from_toml("periods = = 3")


def test_missing_file() -> None:
    with pytest.raises(ScenarioError, match="cannot be read"):
        Scenario.from_file("/nonexistent/x.toml")


def test_with_overrides_returns_new_validated_scenario(traffic: Scenario) -> None:
    new = traffic.with_overrides(
        {"budget.total": 5000, "tactics.dark.cpm": 12.5, "tactics[0].ctr": 0.02}
    )
    assert (new.budget.total, new.tactics[0].cpm, new.tactics[0].ctr) == (5000, 12.5, 0.02)
    assert traffic.budget.total == 20_000 and traffic.tactics[0].cpm == 10.0


def test_with_overrides_sets_optional_fields(traffic: Scenario) -> None:
    new = traffic.with_overrides({"tactics.dark.max_spend": 900, "budget.media": 10_000})
    assert new.tactics[0].max_spend == 900 and new.budget.media == 10_000


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"tactics.drak.cpm": 9}, "did you mean 'dark'"),
        ({"budget.totl": 9}, "did you mean 'budget.total'"),
        ({"tactics.dark.cpm": -1}, "tactics.dark.cpm = -1: must be >= 0.0001"),
        ({"tactics[3].cpm": 1}, "out of range"),
        ({"budget": 5}, "addresses a table"),
    ],
)
def test_with_overrides_errors(traffic: Scenario, overrides: dict[str, Any], expected: str) -> None:
    with pytest.raises(ScenarioError) as info:
        traffic.with_overrides(overrides)
    assert any(expected in str(p) for p in info.value.problems), info.value.problems


def test_field_paths_accepted_by_overrides(with_community: Scenario) -> None:
    paths = with_community.field_paths()
    assert "tactics.follow.follow_rate" in paths and "communities.patients.churn" in paths
    assert "webcare.capacity_hours" in paths


def test_json_schema_export() -> None:
    schema = Scenario.json_schema()
    assert schema["title"] == "funnelopt scenario"
    assert {"periods", "population", "budget", "site", "tactics"} <= set(schema["required"])
    tactic = schema["$defs"]["Tactic"]["properties"]
    assert tactic["ctr"]["exclusiveMaximum"] == 1


def test_goal_phase() -> None:
    s = Scenario.from_dict(
        build(goals=[{"metric": "reach", "target": 10}, {"metric": "conversions", "target": 1}])
    )
    assert [g.phase for g in s.goals] == ["awareness", "conversion"]
    assert s.goal_period(s.goals[0]) == 4


def test_booleans_and_text_are_not_numbers() -> None:
    found = problems_of(build(budget={"total": True}, periods="4"))
    assert "periods = '4': must be a number, not text" in found
    assert "budget.total = true: must be a number, not true/false" in found


def test_mistakes_get_words_a_user_reads_not_pydantics() -> None:
    """New-user trial and adversarial run: each wording below was pydantic's, untrue, or
    reported twice."""
    data = build(budget=40000, currency="euro", objective={"maximize": "conversion"})
    data["tactics"][0]["cmp"] = data["tactics"][0].pop("cpm")
    data["goals"] = [{"metric": "conversion", "target": 1}]
    found = problems_of(data)
    assert (
        "budget = 40000: must be a table of fields ([budget] with total, media, period_max, ...), not a number"
        in found
    )
    assert (
        "currency = 'euro': must be a three-letter ISO 4217 code in capitals, e.g. EUR, USD, GBP"
        in found
    )
    assert any(
        p.startswith("objective.maximize = 'conversion'")
        and p.endswith("(did you mean 'conversions'?)")
        for p in found
    )
    assert any(
        p.startswith("goals[0].metric = 'conversion'")
        and p.endswith("(did you mean 'conversions'?)")
        for p in found
    )
    # The misspelt key is one mistake: no second 'tactics.dark.cpm: is required'.
    assert [p for p in found if "cpm" in p] == [
        "tactics.dark.cmp = 10.0: is not a known field (did you mean 'cpm'?)"
    ]
    found = problems_of(build(tactics=5, site=True))
    assert "tactics = 5: must be a list of tables ([[tactics]] in TOML), not a number" in found
    assert (
        "site = true: must be a table of fields ([site] with conversion_rate), not true/false"
        in found
    )


def test_unknown_key_suggests_the_field() -> None:
    data = build()
    data["tactics"][0]["cpmm"] = 3
    data["budget"]["totl"] = 5
    found = "\n".join(problems_of(data))
    assert "tactics.dark.cpmm = 3: is not a known field (did you mean 'cpm'?)" in found
    assert "budget.totl = 5: is not a known field (did you mean 'total'?)" in found


def test_compiled_arrays_are_read_only_and_cached_on_the_scenario() -> None:
    from funnelopt.compiled import model_data

    s = Scenario.from_dict(build())
    data = model_data(s)
    assert model_data(s) is data
    with pytest.raises(ValueError):
        data.ctr[0] = 1.0
    other = s.with_overrides({"tactics.dark.ctr": 0.02})
    assert model_data(other).ctr[0] == 0.02 and data.ctr[0] == 0.01


def test_model_copy_with_an_update_is_validated_and_recompiled() -> None:
    from funnelopt.compiled import model_data

    s = Scenario.from_dict(build())
    model_data(s)
    with pytest.raises(ScenarioError, match="periods"):
        s.model_copy(update={"periods": 0})
    longer = s.model_copy(update={"periods": 6})
    assert longer.periods == 6 and model_data(longer) is not model_data(s)


def test_wrong_arguments_raise_input_errors_naming_the_field() -> None:
    from funnelopt import InputError
    from funnelopt.schemas import schema
    from funnelopt.studies.sweep import parse_values

    s = Scenario.from_dict(build())
    for call, field in (
        (lambda: s.tactic_index("nope"), "tactic"),
        (lambda: parse_values("a:b:3"), "values"),
        (lambda: parse_values("1:2"), "values"),
        (lambda: schema("planz"), "kind"),
    ):
        with pytest.raises(InputError) as info:
            call()
        assert info.value.problems[0].path == field
    assert issubclass(ScenarioError, InputError)


def test_field_and_cross_field_problems_come_in_one_pass() -> None:
    data = build(goals=[{"metric": "visits", "target": 10, "by": 9}])
    data["tactics"][0]["ctr"] = 1.5
    found = problems_of(data)
    assert "tactics.dark.ctr = 1.5: must be < 1" in found
    assert "goals[0].by = 9: must be within 1..4 (periods)" in found
    # The stand-in for a broken field never adds a problem of its own: a broken compared
    # field (periods) stops the cross-field pass, and rules about the table that holds a
    # stand-in are left out.
    assert problems_of(build(periods=-3, goals=[{"metric": "visits", "target": 10, "by": 9}])) == [
        "periods = -3: must be >= 1"
    ]
    bad_rate = build(budget={"total": 100, "period_min": 30})
    bad_rate["budget"]["period_max"] = -1
    assert problems_of(bad_rate) == ["budget.period_max = -1: must be > 0"]


def test_overrides_reach_into_tables_keyed_by_metric() -> None:
    data = build(objective={"maximize": "net_value", "values": {"conversions": 100}})
    s = Scenario.from_dict(data).with_overrides({"objective.values.visits": 2})
    assert {m.value: v for m, v in s.objective.values.items()} == {"conversions": 100, "visits": 2}
    assert s.value_at("objective.values.visits") == 2
    with pytest.raises(ScenarioError, match="did you mean 'visits'"):
        s.with_overrides({"objective.values.visit": 2})
