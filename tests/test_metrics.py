"""The metric catalogue is the one description of every figure an outcome carries."""

from __future__ import annotations

import numpy as np
from conftest import EXAMPLES

from funnelopt import Scenario, metrics, simulate
from funnelopt.scenario import PHASE_OF, Metric


def test_every_outcome_metric_is_catalogued_and_nothing_else() -> None:
    s = Scenario.from_file(EXAMPLES / "disease_awareness.toml")
    out = simulate(s, {t.id: [1000.0] * s.periods for t in s.tactics})
    assert set(out.per_period) == set(metrics.CATALOGUE)


def test_totals_follow_the_catalogue_kind() -> None:
    s = Scenario.from_file(EXAMPLES / "disease_awareness.toml")
    out = simulate(s, {t.id: [1000.0 + 100 * i for i in range(s.periods)] for t in s.tactics})
    for name, m in metrics.CATALOGUE.items():
        series = out.per_period[name]
        if m.kind == "quantile":  # a percentile of the total: below the sum of weekly ones
            assert series.sum() / len(series) <= out.totals[name] <= series.sum(), name
            continue
        expected = series[-1] if m.kind == "stock" else series.sum()
        assert np.isclose(out.totals[name], expected), name


def test_goods_and_loads_are_disjoint_and_goal_metrics_have_the_catalogue_phase() -> None:
    assert not set(metrics.GOODS) & set(metrics.LOADS)
    assert "cost_total" in metrics.LOADS and "conversions" in metrics.GOODS
    for m in Metric:
        assert PHASE_OF[m] == metrics.info(m.value).phase


def test_values_read_as_people_read_them() -> None:
    assert metrics.format_value("reach_share", 0.1234) == "12.3%"
    assert metrics.format_value("cost_total", 1234.6, "EUR") == "EUR 1,235"
    assert metrics.format_value("visits", 1234567.0) == "1,234,567"
    assert metrics.format_value("visits", None) == "-"
    assert metrics.format_value("visits", float("nan")) == "-"
    assert metrics.in_phase("conversion") == ("conversions",)
