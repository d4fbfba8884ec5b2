"""Tidy pandas DataFrames of outcomes, plans and sweeps (pandas is the ``notebook`` extra)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from funnelopt import metrics
from funnelopt.errors import FunnelOptError

if TYPE_CHECKING:
    import pandas as pd

    from funnelopt.outcome import Outcome
    from funnelopt.plan import Plan
    from funnelopt.studies.sweep import Sweep

#: Columns of :func:`outcome_frame`, in order.
COLUMNS = (
    "period",
    "source",
    "kind",
    "spend",
    "impressions",
    "organic_impressions",
    "clicks",
    "visits",
    "conversions",
    "new_followers",
    "comments",
)


def require_pandas() -> None:
    """Check that pandas can be imported, or say how to install it."""
    from importlib.util import find_spec

    if find_spec("pandas") is None:
        raise FunnelOptError(
            "DataFrames need pandas: pip install 'funnelopt[notebook]' (or pip install pandas)"
        )


def outcome_frame(outcome: Outcome) -> pd.DataFrame:
    """One row per period and source (each tactic, and each community's organic posts).

    Flows summed over the rows equal ``outcome.totals`` (spend, impressions, organic
    impressions, clicks, visits, conversions, new followers, comments).
    """
    require_pandas()
    import pandas as pd

    rows = []
    bt = outcome.by_tactic
    for j, tid in enumerate(outcome.tactic_ids):
        for t in range(outcome.periods):
            rows.append(
                {
                    "period": t + 1,
                    "source": tid,
                    "kind": "ads",
                    "spend": bt["spend"][t, j],
                    "impressions": bt["impressions"][t, j],
                    "organic_impressions": 0.0,
                    "clicks": bt["clicks"][t, j],
                    "visits": bt["visits"][t, j],
                    "conversions": bt["conversions"][t, j],
                    "new_followers": bt["new_followers"][t, j],
                    "comments": bt["comments"][t, j],
                }
            )
    for cid, series in outcome.by_community.items():
        # Followers bought by follower ads are on the tactic rows; only viral ones here.
        for t in range(outcome.periods):
            organic = series["organic_impressions"][t]
            rows.append(
                {
                    "period": t + 1,
                    "source": cid,
                    "kind": "community",
                    "spend": 0.0,
                    "impressions": 0.0,
                    "organic_impressions": organic,
                    "clicks": series["clicks"][t],
                    "visits": series["community_visits"][t],
                    "conversions": series["conversions"][t],
                    "new_followers": series["viral_followers"][t],
                    "comments": series["comments"][t],
                }
            )
    return pd.DataFrame(rows, columns=list(COLUMNS))


def totals_frame(outcome: Outcome) -> pd.DataFrame:
    """The totals by phase: columns ``phase``, ``metric``, ``value``."""
    require_pandas()
    import pandas as pd

    rows = [
        {"phase": phase, "metric": m, "value": outcome.totals[m]}
        for phase in ("awareness", "consideration", "conversion", "costs", "workload")
        for m in metrics.in_phase(phase)
    ]
    return pd.DataFrame(rows, columns=["phase", "metric", "value"])


def plan_frame(plan: Plan) -> pd.DataFrame:
    """The plan's simulated outcome as :func:`outcome_frame` (empty if infeasible), with
    a ``start`` column (each period's first day) when the scenario has a ``start_date``."""
    require_pandas()
    import pandas as pd

    frame = (
        pd.DataFrame(columns=list(COLUMNS)) if plan.outcome is None else outcome_frame(plan.outcome)
    )
    starts = plan.period_starts()
    if starts is not None:
        frame.insert(1, "start", pd.to_datetime([starts[t - 1] for t in frame["period"]]))
    return frame


def sweep_frame(sw: Sweep) -> pd.DataFrame:
    """One row per sweep point: the parameters, status, objective and key totals."""
    require_pandas()
    import pandas as pd

    rows = []
    for p in sw.points:
        rows.append({**p.values, "status": p.status, "objective": p.objective, **p.totals})
    return pd.DataFrame(rows)
