"""The trade-off frontier: its ends are the single-objective optima, it is efficient
(more x never with more y), and every interface reports the same points."""

from __future__ import annotations

import json

import jsonschema
import pytest

from funnelopt import InputError, Scenario, frontier, optimize
from funnelopt.cli import main
from funnelopt.schemas import schema


@pytest.fixture(scope="module")
def front_and_scenario() -> tuple[object, Scenario]:
    from conftest import EXAMPLES

    s = Scenario.from_file(EXAMPLES / "disease_awareness.toml")
    return frontier(s, "followers", "conversions", points=5), s


def test_the_ends_are_the_single_objective_optima(front_and_scenario) -> None:  # type: ignore[no-untyped-def]
    """The left end is the most conversions any plan gets; the right end has the most
    followers any plan gets, and no fewer conversions than a plan maximising followers
    alone (which leaves conversions to chance)."""
    front, s = front_and_scenario
    data = s.to_dict()
    data["goals"] = [g for g in data["goals"] if g.get("hard", True)]
    for metric in ("conversions", "followers"):
        data["objective"] = {"maximize": metric}
        best = optimize(Scenario.from_dict(data), analysis=False)
        if metric == "conversions":
            assert front.points[0].y == pytest.approx(best.outcome.totals["conversions"], rel=1e-6)
        else:
            assert front.points[-1].x == pytest.approx(best.outcome.totals["followers"], rel=1e-5)
            assert front.points[-1].y >= best.outcome.totals["conversions"] * (1 - 1e-6)


def test_the_frontier_is_efficient_and_shows_the_community_jump(front_and_scenario) -> None:  # type: ignore[no-untyped-def]
    front, _ = front_and_scenario
    xs, ys = [p.x for p in front.points], [p.y for p in front.points]
    assert xs == sorted(xs) and ys == sorted(ys, reverse=True)
    assert front.points[0].community == {"patients_de": False}
    assert front.points[-1].community == {"patients_de": True}
    for p in front.points:  # each plan keeps the hard goals and the budget
        assert p.cost <= 150_000 * (1 + 1e-9) and p.y >= 2000 * (1 - 1e-6)


def test_cli_json_matches_the_schema_and_bad_metrics_are_named(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from conftest import EXAMPLES

    full = str(EXAMPLES / "disease_awareness.toml")
    assert main(["frontier", full, "--points", "3", "--format", "json", "--quiet"]) == 0
    doc = json.loads(capsys.readouterr().out)
    jsonschema.validate(doc, schema("frontier"))
    assert round(doc["points"][0]["x"]) == 0
    with pytest.raises(InputError, match="x = 'cost': must be a good"):
        frontier(Scenario.from_file(full), x="cost")
    with pytest.raises(InputError, match="x = 'followers': needs a \\[\\[communities\\]\\]"):
        frontier(Scenario.from_file(EXAMPLES / "traffic_only.toml"))
    assert main(["frontier", full, "--y", "conversion"]) == 2
    assert "y = 'conversion': must be a good to maximise" in capsys.readouterr().err
