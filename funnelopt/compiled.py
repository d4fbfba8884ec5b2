"""A scenario compiled once into typed, read-only arrays.

The simulator (and the reference check in the tests) read per-tactic rates and the
audience structure from here instead of walking the pydantic models each time. The
compiled data is cached on the scenario itself (a private attribute: the scenario is
immutable, so it can never go stale), not in a module-level table.

Arrays are per tactic, shape ``(J,)``. The uncertainty work will add a leading sample
axis, ``(S, J)``: consumers index tactics on the last axis and broadcast over the rest.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from funnelopt.scenario import Scenario

FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class ModelData:
    """Read-only arrays of one scenario (see the module docstring for shapes)."""

    #: Saturation impressions and spend of each tactic's delivery curve.
    i_sat: FloatArray
    sigma: FloatArray
    ctr: FloatArray
    landing: FloatArray
    #: Conversion rate per tactic (the site's where the tactic sets none).
    cvr: FloatArray
    follow: FloatArray
    comment: FloatArray
    #: Audience ids in column order, membership (tactics x audiences) and pools.
    audience_ids: tuple[str, ...]
    audience_member: FloatArray
    audience_pool: FloatArray


def model_data(s: Scenario) -> ModelData:
    """The scenario compiled (once; later calls return the same object)."""
    cached = s._compiled
    if isinstance(cached, ModelData):
        return cached
    ts = s.tactics
    groups = s.audiences()
    member = np.zeros((len(ts), len(groups)))
    for a, (_, cols) in enumerate(groups.values()):
        member[cols, a] = 1.0
    cvr = [
        t.conversion_rate if t.conversion_rate is not None else s.site.conversion_rate for t in ts
    ]
    data = ModelData(
        i_sat=_frozen([t.saturation_impressions for t in ts]),
        sigma=_frozen([t.saturation_spend for t in ts]),
        ctr=_frozen([t.ctr for t in ts]),
        landing=_frozen([t.landing_rate for t in ts]),
        cvr=_frozen(cvr),
        follow=_frozen([t.follow_rate for t in ts]),
        comment=_frozen([t.comment_rate for t in ts]),
        audience_ids=tuple(groups),
        audience_member=_frozen(member),
        audience_pool=_frozen([p for p, _ in groups.values()]),
    )
    s._compiled = data
    return data


def _frozen(values: object) -> FloatArray:
    a = np.array(values, dtype=float)
    a.setflags(write=False)
    return a
