"""The Outcome: every metric of a simulated campaign, per period and in total."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from funnelopt._json import dumps
from funnelopt.metrics import METRICS, TACTIC_METRICS

if TYPE_CHECKING:
    import pandas as pd

FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class GoalResult:
    """How far a plan gets towards one goal."""

    metric: str
    target: float
    by: int
    hard: bool
    weight: float
    phase: str
    achieved: float
    met: bool
    shortfall: float

    def to_dict(self) -> dict[str, Any]:
        """JSON-compatible dict with stable keys."""
        return {
            "metric": self.metric,
            "target": self.target,
            "by": self.by,
            "hard": self.hard,
            "weight": self.weight,
            "phase": self.phase,
            "achieved": _num(self.achieved),
            "met": self.met,
            "shortfall": _num(self.shortfall),
        }


def freeze(arrays: Mapping[str, FloatArray] | FloatArray | None) -> None:
    """Make an array, or every array of a mapping, read-only (in place)."""
    if isinstance(arrays, np.ndarray):
        arrays.setflags(write=False)
    elif arrays is not None:
        for a in arrays.values():
            if isinstance(a, np.ndarray):
                a.setflags(write=False)


@dataclass(frozen=True, eq=False)
class Outcome:
    """What a spend plan delivers, computed exactly by :func:`funnelopt.simulate`.

    ``per_period[metric]`` is an array with one value per period; ``totals[metric]`` is the
    sum over periods for flows and the final value for stocks (reach, reach_share,
    followers). ``by_tactic[metric]`` is a periods x tactics array. ``violations`` lists
    every budget, cap or capacity the plan breaks (empty for a feasible plan).
    """

    scenario_name: str
    period_label: str
    currency: str
    tactic_ids: tuple[str, ...]
    community: dict[str, bool]
    per_period: dict[str, FloatArray]
    totals: dict[str, float]
    by_tactic: dict[str, FloatArray]
    by_community: dict[str, dict[str, FloatArray]]
    kpis: dict[str, float | None]
    goals: tuple[GoalResult, ...]
    capacity: dict[str, dict[str, float | None]]
    violations: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        # Results are facts: writing into their arrays raises instead of silently
        # changing what a report or a later comparison reads.
        freeze(self.per_period)
        freeze(self.by_tactic)
        for per in self.by_community.values():
            freeze(per)

    @property
    def periods(self) -> int:
        """Number of periods."""
        return int(self.per_period["spend"].shape[0])

    @property
    def spend(self) -> FloatArray:
        """The spend plan, periods x tactics."""
        return self.by_tactic["spend"]

    @property
    def feasible(self) -> bool:
        """True when the plan breaks no budget, cap or capacity."""
        return not self.violations

    @property
    def goals_met(self) -> bool:
        """True when every hard goal is met."""
        return all(g.met for g in self.goals if g.hard)

    def to_dict(self) -> dict[str, Any]:
        """JSON-compatible dict with stable keys."""
        return {
            "scenario": self.scenario_name,
            "period_label": self.period_label,
            "currency": self.currency,
            "community": dict(sorted(self.community.items())),
            "totals": {k: _num(self.totals[k]) for k in METRICS},
            "kpis": {k: _num(v) for k, v in self.kpis.items()},
            "per_period": {k: [_num(x) for x in self.per_period[k]] for k in METRICS},
            "by_tactic": {
                tid: {m: [_num(x) for x in self.by_tactic[m][:, j]] for m in TACTIC_METRICS}
                for j, tid in enumerate(self.tactic_ids)
            },
            "by_community": {
                cid: {m: [_num(x) for x in arr] for m, arr in metrics.items()}
                for cid, metrics in self.by_community.items()
            },
            "goals": [g.to_dict() for g in self.goals],
            "capacity": {k: {m: _num(v) for m, v in d.items()} for k, d in self.capacity.items()},
            "violations": list(self.violations),
        }

    def to_json(self) -> str:
        """Deterministic JSON (same plan, same bytes)."""
        return dumps(self.to_dict())

    def to_frame(self) -> pd.DataFrame:
        """One row per period and source (tactic, or community posts); needs pandas.

        Summed over rows, the flows equal ``totals``.
        """
        from funnelopt.report.frames import outcome_frame

        return outcome_frame(self)

    def totals_frame(self) -> pd.DataFrame:
        """The totals by phase (awareness, consideration, conversion, costs, workload)."""
        from funnelopt.report.frames import totals_frame

        return totals_frame(self)

    def _repr_html_(self) -> str:
        from funnelopt.report.html import outcome_html

        return outcome_html(self)

    def __repr__(self) -> str:
        t = self.totals
        goals = sum(g.met for g in self.goals)
        return (
            f"<Outcome {self.scenario_name!r}: {self.currency} {t['cost_total']:,.0f} total, "
            f"reach {t['reach']:,.0f} ({t['reach_share']:.1%}), visits {t['visits']:,.0f}, "
            f"conversions {t['conversions']:,.0f}, followers {t['followers']:,.0f}; "
            f"goals met {goals}/{len(self.goals)}"
            + (f"; {len(self.violations)} violation(s)" if self.violations else "")
            + ">"
        )


def _num(x: float | None) -> float | None:
    """A JSON-safe float: None for missing or non-finite values, rounded to 10 significant digits."""
    if x is None:
        return None
    v = float(x)
    if not math.isfinite(v):
        return None
    return float(f"{v:.10g}")
