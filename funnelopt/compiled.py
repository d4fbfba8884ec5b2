"""A scenario compiled once into typed, read-only arrays.

The simulator (and the reference check in the tests) read every number of the forward
model from here instead of walking the pydantic models each time. The compiled data is
cached on the scenario itself (a private attribute: the scenario is immutable, so it can
never go stale), not in a module-level table.

Arrays are per tactic, shape ``(J,)`` (per audience ``(A,)``, per community ``(C,)``,
scenario-wide numbers 0-d). :func:`sampled_data` adds a leading sample axis: ``(S, J)``,
``(S, C)``, ``(S,)``, one row per draw of the scenario's ``[uncertainty]`` ranges.
Consumers index tactics (audiences, communities) on the last axis and broadcast over the
rest, so one forward model serves a single scenario and ten thousand draws alike.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from funnelopt import curves
from funnelopt.scenario import (
    UNCERTAIN_FIELDS,
    Z95,
    Range,
    Scenario,
    field_bounds,
    field_value,
)

FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class Response:
    """A response tactic (column ``j``): conversions per period ``level * shape(a / scale)``
    of its adstocked spend ``a`` (``weights`` per lag, ``before``: spend before period 1)."""

    j: int
    shape: curves.Shape
    level: float
    scale: float
    weights: FloatArray
    before: tuple[float, ...]

    def conversions(self, spend: FloatArray) -> FloatArray:
        """Conversions per period for the tactic's spend per period (last axis)."""
        a = curves.adstocked(spend, self.weights, self.before)
        return curves.saturating(a, self.level, self.scale, self.shape)


@dataclass(frozen=True)
class ModelData:
    """Read-only arrays of one scenario (see the module docstring for shapes)."""

    #: Saturation impressions and spend of each tactic's delivery curve (its level and
    #: spend scale), and its normalised shape (``"exponential"`` unless the tactic gives a
    #: curve; docs/curves.md).
    i_sat: FloatArray
    sigma: FloatArray
    shapes: tuple[curves.Shape, ...]
    #: The response tactics: conversions per period from their adstocked spend.
    response: tuple[Response, ...]
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
    #: Target group size.
    population: FloatArray
    #: Community field name -> values in ``scenario.communities`` order (``(C,)``), plus
    #: ``organic_per_follower`` (posts per period x organic reach rate).
    community: Mapping[str, FloatArray]
    #: Webcare and adverse-event numbers (0 without the table; capacities inf when unset).
    hourly_rate: FloatArray
    minutes_per_comment: FloatArray
    capacity_hours: FloatArray
    ae_rate: FloatArray
    minutes_per_case: FloatArray
    cost_per_case: FloatArray
    ae_capacity: FloatArray
    valid_share: FloatArray
    serious_share: FloatArray


def model_data(s: Scenario) -> ModelData:
    """The scenario compiled (once; later calls return the same object)."""
    cached = s._compiled
    if isinstance(cached, ModelData):
        return cached
    data = _compile(s, lambda path: field_value(s, path))
    s._compiled = data
    return data


def _compile(s: Scenario, value: Callable[[str], Any]) -> ModelData:
    """The arrays, each number read through ``value(path)``: a float (nominal) or an
    array of draws ``(S,)``; tactic columns are stacked on the last axis."""
    ts = s.tactics
    groups = s.audiences()
    member = np.zeros((len(ts), len(groups)))
    for a, (_, cols) in enumerate(groups.values()):
        member[cols, a] = 1.0

    def tactic(name: str) -> list[Any]:
        return [value(f"tactics.{t.id}.{name}") for t in ts]

    # Same arithmetic as Tactic.saturation_impressions / saturation_spend. A tactic with
    # its own curve has no cpm or frequency_cap: its level and scale are the curve's (no
    # ranges; ctr * 0 gives them the draws' shape). A response tactic delivers no
    # impressions (level 0, scale 1): its curve gives conversions (ModelData.response).
    pools = tactic("pool")
    zero = [v * 0 for v in tactic("ctr")]
    i_sat = [
        p * value(f"tactics.{t.id}.frequency_cap")
        if t.exponential
        else z + (0.0 if t.response else t.saturation_impressions)
        for p, z, t in zip(pools, zero, ts, strict=True)
    ]
    sigma = [
        i * value(f"tactics.{t.id}.cpm") / 1000.0
        if t.exponential
        else z + (1.0 if t.response else t.saturation_spend)
        for i, z, t in zip(i_sat, zero, ts, strict=True)
    ]
    cvr = [
        value(f"tactics.{t.id}.conversion_rate")
        if t.conversion_rate is not None
        else value("site.conversion_rate")
        for t in ts
    ]
    # A shared audience's pool is the largest pool among its tactics (draw by draw).
    audience_pool = [
        np.maximum.reduce([pools[j] for j in cols]) if len(cols) > 1 else pools[cols[0]]
        for _, cols in groups.values()
    ]
    community = {
        name: _frozen([value(f"communities.{c.id}.{name}") for c in s.communities])
        for name in sorted(UNCERTAIN_FIELDS["communities"])  # every one the model reads
    }
    community["organic_per_follower"] = _frozen(
        [
            value(f"communities.{c.id}.posts_per_period")
            * value(f"communities.{c.id}.organic_reach_rate")
            for c in s.communities
        ]
    )
    wc, ae = s.webcare, s.adverse_events

    def scalar(table: object, path: str, absent: float) -> FloatArray:
        v = value(path) if table is not None else None
        return _frozen(absent if v is None else v, stack=False)

    return ModelData(
        i_sat=_frozen(i_sat),
        sigma=_frozen(sigma),
        shapes=tuple("exponential" if t.response else t.shape for t in ts),
        response=tuple(
            Response(
                j,
                t.shape,
                t.saturation_impressions,
                t.saturation_spend,
                t.adstock_weights,
                t.spend_before,
            )
            for j, t in enumerate(ts)
            if t.response
        ),
        ctr=_frozen(tactic("ctr")),
        landing=_frozen(tactic("landing_rate")),
        cvr=_frozen(cvr),
        follow=_frozen(tactic("follow_rate")),
        comment=_frozen(tactic("comment_rate")),
        audience_ids=tuple(groups),
        audience_member=_frozen(member, stack=False),
        audience_pool=_frozen(audience_pool),
        population=_frozen(value("population"), stack=False),
        community=community,
        hourly_rate=scalar(wc, "webcare.hourly_rate", 0.0),
        minutes_per_comment=scalar(wc, "webcare.minutes_per_comment", 0.0),
        capacity_hours=scalar(wc, "webcare.capacity_hours", np.inf),
        ae_rate=scalar(ae, "adverse_events.rate", 0.0),
        minutes_per_case=scalar(ae, "adverse_events.minutes_per_case", 0.0),
        cost_per_case=scalar(ae, "adverse_events.cost_per_case", 0.0),
        ae_capacity=scalar(ae, "adverse_events.capacity", np.inf),
        valid_share=scalar(ae, "adverse_events.valid_share", 0.0),
        serious_share=scalar(ae, "adverse_events.serious_share", 0.0),
    )


# -- the sample axis ----------------------------------------------------------------------


def sampled_data(s: Scenario, values: Mapping[str, Any], draws: int) -> ModelData:
    """The scenario compiled with a leading sample axis of ``draws`` rows: ``values`` maps
    field paths to one value per draw; every other field keeps its value in each row."""
    bad = {p: np.shape(v) for p, v in values.items() if np.shape(v) != (draws,)}
    if bad:
        raise ValueError(f"values must each hold {draws} draws, got shapes {bad}")

    def value(path: str) -> Any:
        if path in values:
            return np.asarray(values[path], dtype=float)
        v = field_value(s, path)
        return None if v is None else np.full(draws, float(v))

    return _compile(s, value)


def draw_inputs(s: Scenario, draws: int, seed: int = 0) -> dict[str, FloatArray]:
    """``draws`` independent draws of every ranged field, by path (in the table's order).

    One uniform stream per field, turned into draws by the inverse CDF: the same seed
    gives the same draws, and a field's draws do not change when another range is added
    after it.
    """
    rng = np.random.default_rng(seed)
    u = rng.random((draws, len(s.uncertainty)))
    return {
        path: quantile(r, u[:, k], field_bounds(path))
        for k, (path, r) in enumerate(s.uncertainty.items())
    }


def quantile(r: Range, u: Any, bounds: tuple[float, bool, float, bool]) -> FloatArray:
    """The range's quantile function at ``u`` in [0, 1], inside the field's ``bounds``.

    A lognormal is truncated to the field's allowed values (validation keeps that cut
    below 1%); every draw is clipped into them, open bounds by one ulp, against round-off.
    """
    # scipy.special, not scipy.stats: the same functions without stats' import (~0.4 s).
    from scipy.special import betaincinv, ndtr, ndtri

    q = np.asarray(u, dtype=float)
    p = r.parameters()
    lo, lo_open, hi, hi_open = bounds
    if r.dist == "lognormal":
        mu, sigma = np.log(p["median"]), np.log(p["p95"] / p["median"]) / Z95
        a = ndtr((np.log(lo) - mu) / sigma) if lo > 0 else 0.0
        b = ndtr((np.log(hi) - mu) / sigma) if np.isfinite(hi) else 1.0
        out = np.exp(mu + sigma * ndtri(a + q * (b - a)))
    elif r.dist == "beta":
        k = p["mean"] * (1 - p["mean"]) / p["sd"] ** 2 - 1
        out = betaincinv(p["mean"] * k, (1 - p["mean"]) * k, q)
    else:
        low, high = p["low"], p["high"]
        width = high - low
        if width <= 1e-12 * max(abs(low), abs(high)):  # a point
            out = np.full(q.shape, p.get("mode", low))
        elif r.dist == "uniform":
            out = low + q * width
        elif r.dist == "triangular":
            mode = p["mode"]
            c = (mode - low) / width
            out = np.where(
                q < c,
                low + np.sqrt(q * width * (mode - low)),
                high - np.sqrt((1 - q) * width * (high - mode)),
            )
        else:  # PERT: a beta on [low, high] with shape 4 around the mode
            alpha = 1 + 4 * (p["mode"] - low) / width
            beta = 1 + 4 * (high - p["mode"]) / width
            out = low + width * betaincinv(alpha, beta, q)
    low_edge = np.nextafter(lo, np.inf) if lo_open else lo
    high_edge = np.nextafter(hi, -np.inf) if hi_open else hi
    clipped: FloatArray = np.clip(np.asarray(out, dtype=float), low_edge, high_edge)
    return clipped


def _frozen(values: object, *, stack: bool = True) -> FloatArray:
    """Read-only float array; a list of per-draw arrays becomes ``(S, n)`` (draws first)."""
    if stack and isinstance(values, list) and values and np.ndim(values[0]) == 1:
        a = np.stack([np.asarray(v, dtype=float) for v in values], axis=-1)
    else:
        a = np.array(values, dtype=float)
    a.setflags(write=False)
    return a
