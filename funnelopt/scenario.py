"""The scenario: the validated description of a campaign (the users' file format).

A scenario is loaded from TOML, JSON or a dict, validated completely (every problem is
reported at once, each naming its field path such as ``tactics.meta_dark.ctr``), and
frozen. What-if edits go through :meth:`Scenario.with_overrides`, which returns a new
validated scenario.
"""

from __future__ import annotations

import codecs
import copy
import difflib
import json
import math
import re
import tomllib
from collections.abc import Iterator, Mapping
from contextvars import ContextVar
from datetime import date, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Literal, Self

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    PrivateAttr,
    Tag,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from funnelopt import curves, metrics
from funnelopt._json import dumps
from funnelopt.errors import _MISSING, InputError, Problem, ScenarioError

SCHEMA_VERSION = 1

_CURRENCY_PATTERN = r"^[A-Z]{3}$"
MAX_PERIODS = 520
MAX_TACTICS = 500
#: Periods x tactics at most: the model grows with their product. 26,000 cells (52 x 500,
#: 520 x 50) plan within the default 60 s in 1.7-2.4 GB, measured; 520 x 500 needed
#: over 10 GB before HiGHS aborted (adversarial D15).
MAX_CELLS = 26_000
MAX_COMMUNITIES = 50
MAX_GOALS = 100

_ID_PATTERN = r"^[A-Za-z][A-Za-z0-9_\-]{0,63}$"
#: Days per period for the period labels that have a calendar length ("month": months).
PERIOD_DAYS = {"day": 1, "week": 7, "fortnight": 14}


class Metric(StrEnum):
    """Metrics a goal or an objective can name."""

    REACH = "reach"
    REACH_SHARE = "reach_share"
    IMPRESSIONS = "impressions"
    VISITS = "visits"
    ENGAGEMENTS = "engagements"
    FOLLOWERS = "followers"
    CONVERSIONS = "conversions"


#: The campaign phase each goal metric belongs to (from the metric catalogue).
PHASE_OF: dict[Metric, str] = {m: metrics.info(m.value).phase for m in Metric}


class _Model(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        allow_inf_nan=False,
        validate_default=True,
        use_enum_values=False,
    )

    @field_validator("*", mode="before")
    @classmethod
    def _numbers_are_numbers(cls, value: Any, info: ValidationInfo) -> Any:
        # Pydantic would read `total = true` as 1 and `periods = "26"` as 26; in a scenario
        # file those are mistakes worth naming.
        field = cls.model_fields.get(info.field_name or "")
        if field is not None and _is_number(field.annotation) and isinstance(value, bool | str):
            raise PydanticCustomError(
                "number_type", "must be a number, not {kind}", {"kind": _a(value)}
            )
        return value


class Budget(_Model):
    """Budget caps. At least one of ``total`` and ``media`` is required."""

    total: float | None = Field(
        None, gt=0, description="Cap on all costs: media, community, webcare and AE handling."
    )
    media: float | None = Field(None, gt=0, description="Cap on ad spend (media) only.")
    period_max: float | None = Field(None, gt=0, description="Cap on ad spend in each period.")
    period_min: float = Field(0.0, ge=0, description="Floor on ad spend in each period.")


class Site(_Model):
    """The campaign platform (website)."""

    conversion_rate: float = Field(
        ..., gt=0, lt=1, description="Conversions per visit from ad traffic."
    )


#: Points of a breakpoint table at most.
MAX_POINTS = 200


class ExponentialCurve(_Model):
    """Delivery ``pool * frequency_cap * (1 - exp(-spend / sigma))`` from the tactic's
    ``cpm``, ``pool`` and ``frequency_cap`` (the default; design 2.1)."""

    kind: Literal["exponential"]


class BreakpointsCurve(_Model):
    """Impressions per period at given spends (the ad platform's delivery estimate),
    piecewise-linear between the points; spend beyond the last point buys nothing more."""

    kind: Literal["breakpoints"]
    spend: list[Annotated[float, Field(ge=0, le=1e12)]] = Field(
        ..., min_length=2, max_length=MAX_POINTS, description="Spend per period, from 0, rising."
    )
    impressions: list[Annotated[float, Field(ge=0, le=1e13)]] = Field(
        ...,
        min_length=2,
        max_length=MAX_POINTS,
        description="Impressions per period at each spend, from 0, never falling.",
    )


class HillCurve(_Model):
    """``max * s^slope / (s^slope + half^slope)``: S-shaped for slope > 1."""

    kind: Literal["hill"]
    max: float = Field(..., ge=1e-6, le=1e13, description="Impressions per period at saturation.")
    half: float = Field(..., ge=1e-6, le=1e12, description="Spend per period giving max / 2.")
    slope: float = Field(
        ..., ge=0.1, le=10, description="Hill exponent: > 1 S-shaped, <= 1 concave."
    )
    spend_scale: float = Field(
        1.0, ge=1e-9, le=1e12, description="A fitted model's spend scaler: half is in spend / it."
    )
    target_scale: float = Field(
        1.0, ge=1e-9, le=1e12, description="A fitted model's target scaler: max is in target / it."
    )


class LogisticCurve(_Model):
    """``max * (1 - exp(-lam * s)) / (1 + exp(-lam * s))`` (PyMC-Marketing's logistic)."""

    kind: Literal["logistic"]
    max: float = Field(..., ge=1e-6, le=1e13, description="Impressions per period at saturation.")
    lam: float = Field(
        ..., ge=1e-12, le=1e6, description="Steepness per unit of spend (max * lam / 2 at 0)."
    )
    spend_scale: float = Field(
        1.0, ge=1e-9, le=1e12, description="A fitted model's spend scaler: lam is per spend / it."
    )
    target_scale: float = Field(
        1.0, ge=1e-9, le=1e12, description="A fitted model's target scaler: max is in target / it."
    )


#: The curve kinds by name (their table's ``kind``).
CURVE_KINDS: dict[str, type[_Model]] = {
    "exponential": ExponentialCurve,
    "breakpoints": BreakpointsCurve,
    "hill": HillCurve,
    "logistic": LogisticCurve,
}


def _curve_tag(value: Any) -> str | None:
    kind = value.get("kind") if isinstance(value, Mapping) else getattr(value, "kind", None)
    # The tag carries brackets, which error paths leave out (see _merged_unions).
    return f"curve[{kind}]" if kind in CURVE_KINDS else None


CurveSpec = Annotated[
    Annotated[ExponentialCurve, Tag("curve[exponential]")]
    | Annotated[BreakpointsCurve, Tag("curve[breakpoints]")]
    | Annotated[HillCurve, Tag("curve[hill]")]
    | Annotated[LogisticCurve, Tag("curve[logistic]")],
    Discriminator(
        _curve_tag,
        custom_error_type="curve_kind",
        custom_error_message="needs kind = 'exponential', 'breakpoints', 'hill' or 'logistic'",
    ),
]


class Adstock(_Model):
    """Geometric adstock of a response tactic's spend before its curve (PyMC-Marketing's
    ``geometric_adstock``): ``a[t] = sum_l w[l] * spend[t - l]`` over ``l < l_max``,
    ``w[l] = alpha^l`` (divided by their sum when ``normalize``)."""

    alpha: float = Field(
        ..., ge=0, lt=1, description="Share of the effect carried to the next period."
    )
    l_max: int = Field(
        12, ge=1, le=104, description="Periods the effect lasts (lags 0 .. l_max - 1)."
    )
    normalize: bool = Field(False, description="Divide the weights by their sum.")
    before: list[Annotated[float, Field(ge=0, le=1e12)]] = Field(
        default_factory=list,
        max_length=103,
        description="Spend per period before the campaign, oldest first (carry-over).",
    )

    @property
    def weights(self) -> Any:
        """The weights per lag."""
        return curves.adstock_weights(self.alpha, self.l_max, self.normalize)


class Tactic(_Model):
    """A paid-social tactic: dark posts (traffic), follower ads (community), or a channel
    of a fitted marketing-mix model whose curve gives conversions directly (response)."""

    id: str = Field(..., pattern=_ID_PATTERN, description="Unique tactic id.")
    # Display name: what a client reads in reports, tables and charts (ids stay the keys).
    name: str | None = Field(
        None, min_length=1, max_length=80, description="Display name (default: the id)."
    )
    platform: str = Field("facebook", min_length=1, max_length=64)
    kind: Literal["traffic", "community", "response"] = Field(
        ...,
        description="traffic (dark posts), community (follower ads) or response (a fitted "
        "model's channel: its curve gives conversions).",
    )
    account: str | None = Field(
        None, description="Community account this tactic grows (community tactics only)."
    )
    # Lower bounds well above zero: a denormal CPM or frequency cap (5e-324) passes gt=0
    # but makes the saturation spend 0 and the curves NaN.
    cpm: float | None = Field(
        None,
        ge=1e-4,
        le=10_000,
        description="Cost per 1000 impressions at low delivery (the exponential curve).",
    )
    pool: float | None = Field(
        None, ge=1, description="People this targeting can reach (traffic and community)."
    )
    audience: str | None = Field(
        None,
        pattern=_ID_PATTERN,
        description="Tactics naming the same audience reach the same people (default: their own).",
    )
    frequency_cap: float | None = Field(
        None,
        ge=1e-6,
        le=100,
        description="Impressions per person per period at saturation (the exponential curve).",
    )
    curve: CurveSpec | None = Field(
        None,
        description="Delivery curve: impressions per period by spend (default: exponential "
        "from cpm, pool and frequency_cap); for a response tactic, conversions per period "
        "by adstocked spend (docs/curves.md).",
    )
    adstock: Adstock | None = Field(
        None, description="Carry-over of a response tactic's spend (geometric adstock)."
    )
    ctr: float = Field(0.0, ge=0, lt=1, description="Link clicks per impression.")
    landing_rate: float = Field(
        0.0, ge=0, le=1, description="Visits (landing-page views) per click."
    )
    conversion_rate: float | None = Field(
        None, gt=0, lt=1, description="Conversions per visit; overrides site.conversion_rate."
    )
    follow_rate: float = Field(
        0.0, ge=0, lt=1, description="New followers per impression (community tactics only)."
    )
    comment_rate: float = Field(
        0.0, ge=0, lt=1, description="Comments per impression; 0 means comments are disabled."
    )
    min_spend: float = Field(0.0, ge=0, description="Spend floor per active period.")
    max_spend: float | None = Field(None, gt=0, description="Spend cap per period.")
    min_total: float = Field(0.0, ge=0, description="Floor on the tactic's total spend.")
    max_total: float | None = Field(None, gt=0, description="Cap on the tactic's total spend.")
    min_spend_if_active: float = Field(
        0.0,
        ge=0,
        description="Semicontinuous spend: in a period the tactic spends 0 or at least this.",
    )
    start: int = Field(1, ge=1, description="First active period (1-based).")
    end: int | None = Field(None, ge=1, description="Last active period (1-based); default last.")

    @property
    def exponential(self) -> bool:
        """Whether delivery follows the exponential curve of cpm, pool and frequency_cap."""
        return self.kind != "response" and (
            self.curve is None or isinstance(self.curve, ExponentialCurve)
        )

    @property
    def response(self) -> bool:
        """Whether the curve gives conversions (of adstocked spend), not impressions."""
        return self.kind == "response"

    @property
    def adstock_weights(self) -> Any:
        """Weights per lag of the spend's carry-over (``[1.0]``: none)."""
        return (
            self.adstock.weights
            if self.adstock is not None
            else curves.adstock_weights(0, 1, False)
        )

    @property
    def spend_before(self) -> tuple[float, ...]:
        """Spend per period before the campaign, oldest first (carry-over)."""
        return tuple(self.adstock.before) if self.adstock is not None else ()

    @property
    def saturation_impressions(self) -> float:
        """Impressions per period at saturation (exponential: pool * frequency_cap): the
        level of the delivery curve."""
        c = self.curve
        if isinstance(c, BreakpointsCurve):
            return c.impressions[-1]
        if isinstance(c, HillCurve | LogisticCurve):
            return c.max * c.target_scale
        return (self.pool or 0.0) * (self.frequency_cap or 0.0)

    @property
    def saturation_spend(self) -> float:
        """Spend scale of the delivery curve (exponential: sigma, saturation impressions at
        base CPM; hill: half; logistic: 1 / lam; breakpoints: the last spend)."""
        c = self.curve
        if isinstance(c, BreakpointsCurve):
            return c.spend[-1]
        if isinstance(c, HillCurve):
            return c.half * c.spend_scale
        if isinstance(c, LogisticCurve):
            return c.spend_scale / c.lam
        return self.saturation_impressions * (self.cpm or 0.0) / 1000.0

    @property
    def shape(self) -> curves.Shape:
        """The delivery curve's normalised shape (spend / saturation_spend ->
        impressions / saturation_impressions)."""
        c = self.curve
        if isinstance(c, BreakpointsCurve):
            x, y = c.spend[-1], c.impressions[-1]
            return curves.Table(tuple(v / x for v in c.spend), tuple(v / y for v in c.impressions))
        if isinstance(c, HillCurve):
            return curves.Hill(c.slope) if c.slope != 1 else "hyperbolic"
        if isinstance(c, LogisticCurve):
            return "logistic"
        return "exponential"

    @property
    def display_name(self) -> str:
        """The name a client reads: ``name``, or the id."""
        return self.name or self.id


class Community(_Model):
    """A patient-community account that follower ads grow and organic posts serve."""

    id: str = Field(..., pattern=_ID_PATTERN)
    # Display name: what a client reads in reports, tables and charts (ids stay the keys).
    name: str | None = Field(
        None, min_length=1, max_length=80, description="Display name (default: the id)."
    )
    mode: Literal["auto", "on", "off"] = Field(
        "auto", description="auto: the optimiser decides whether to run it; on/off: fixed."
    )
    start: int | Literal["auto"] = Field(
        1,
        description="Launch period (1-based), or 'auto' for the optimiser to choose: set-up, "
        "content, base hours and organic reach count from launch on.",
    )
    end: int | None = Field(None, ge=1, description="Last period it runs; default the last.")

    @field_validator("start", mode="before")
    @classmethod
    def _start_is_a_period(cls, value: Any) -> Any:
        # One error naming both forms (the union would report each member), and true is
        # no period.
        if value == "auto" or (isinstance(value, int) and not isinstance(value, bool)):
            return value
        raise PydanticCustomError("start_type", "must be a period (a whole number) or 'auto'")

    # Upper bounds keep the model's coefficients inside what LP solvers take (HiGHS refuses
    # matrix values from 1e15): 2^63 followers or a 1e15 set-up cost ended in "solver failure".
    initial_followers: float = Field(0.0, ge=0, le=1e10)
    churn: float = Field(0.0, ge=0, lt=1, description="Share of followers lost per period.")
    posts_per_period: float = Field(..., ge=0, le=100)
    organic_reach_rate: float = Field(
        ..., ge=0, le=5, description="Organic impressions per follower per post."
    )
    engagement_rate: float = Field(
        0.0, ge=0, le=1, description="Engagements per organic impression."
    )
    comment_rate: float = Field(0.0, ge=0, lt=1, description="Comments per organic impression.")
    organic_ctr: float = Field(0.0, ge=0, lt=1, description="Link clicks per organic impression.")
    landing_rate: float = Field(0.0, ge=0, le=1, description="Visits per organic click.")
    conversion_rate: float = Field(0.0, ge=0, lt=1, description="Conversions per community visit.")
    viral_follow_rate: float = Field(
        0.0, ge=0, lt=1, description="New followers per organic impression."
    )
    setup_cost: float = Field(
        0.0, ge=0, le=1e12, description="One-off cost: protocol, training, account."
    )
    content_cost_per_post: float = Field(0.0, ge=0, le=1e9)
    base_hours: float = Field(
        0.0, ge=0, le=168, description="Webcare monitoring hours per period while active."
    )

    @property
    def organic_per_follower(self) -> float:
        """Organic impressions per period per follower: posts * organic reach rate."""
        return self.posts_per_period * self.organic_reach_rate

    @property
    def display_name(self) -> str:
        """The name a client reads: ``name``, or the id."""
        return self.name or self.id


class Webcare(_Model):
    """Webcare (moderation and replies) cost and capacity."""

    hourly_rate: float = Field(..., ge=0, le=10_000)
    minutes_per_comment: float = Field(0.0, ge=0, le=600)
    capacity_hours: float | None = Field(None, gt=0, description="Webcare hours per period.")


class AdverseEvents(_Model):
    """Adverse-event (AE) triage under the pharmacovigilance protocol."""

    rate: float = Field(..., ge=0, lt=1, description="AE mentions per comment.")
    minutes_per_case: float = Field(0.0, ge=0, le=6000)
    cost_per_case: float = Field(0.0, ge=0)
    capacity: float | None = Field(None, gt=0, description="AE cases per period.")
    valid_share: float = Field(
        0.14, ge=0, le=1, description="Share of AE cases that are valid ICSRs (four criteria)."
    )
    serious_share: float = Field(
        0.10, ge=0, le=1, description="Share of valid ICSRs that are serious."
    )


_Spent = Annotated[float, Field(ge=0, le=1e12)]
_Count = Annotated[float, Field(ge=0, le=1e12)]


class History(_Model):
    """What happened in the campaign's first periods (re-planning, docs/replan.md).

    Those periods are simulated and planned as they happened: their spend, and where
    given the impressions it bought, the follower stock counted, the comments and the AE cases (so webcare and AE
    costs are what they cost), the visits and the conversions (so goals count what
    happened). Their per-period limits are not checked, since nothing can change them
    now; budgets, tactic totals and goals count them.
    """

    spend: dict[str, list[_Spent]] = Field(
        default_factory=dict,
        description="Tactic id -> spend in periods 1..done, one list per tactic, all the same "
        "length (a tactic not given spent nothing).",
    )
    impressions: dict[str, list[_Count]] = Field(
        default_factory=dict,
        description="Tactic id -> paid impressions counted in periods 1, 2, ... (reach, "
        "clicks and the rest follow from them).",
    )
    followers: dict[str, list[_Count]] = Field(
        default_factory=dict,
        description="Community id -> followers counted at the end of periods 1, 2, ...; "
        "later periods grow from the last count.",
    )
    comments: list[_Count] = Field(
        default_factory=list, description="All comments (ads and organic) in periods 1, 2, ..."
    )
    ae_cases: list[_Count] = Field(
        default_factory=list, description="Adverse-event cases in periods 1, 2, ..."
    )
    visits: list[_Count] = Field(
        default_factory=list, description="All visits (ads and community) in periods 1, 2, ..."
    )
    conversions: list[_Count] = Field(
        default_factory=list, description="All conversions in periods 1, 2, ..."
    )

    @property
    def done(self) -> int:
        """The periods that happened: those with spend."""
        return max((len(v) for v in self.spend.values()), default=0)


class Goal(_Model):
    """A campaign goal: a metric to reach by a period, hard (constraint) or soft (penalty)."""

    metric: Metric
    name: str | None = Field(
        None, min_length=1, max_length=80, description="Display name (default: metric and target)."
    )
    target: float = Field(..., gt=0)
    by: int | None = Field(None, ge=1, description="Period (1-based); default the last.")
    hard: bool = True
    weight: float = Field(1.0, gt=0, le=1e6, description="Penalty weight of a soft goal.")

    @property
    def phase(self) -> str:
        """The campaign phase of the goal's metric."""
        return PHASE_OF[self.metric]


class ReportInfo(_Model):
    """The title page of the client report: who it is for, from whom, which version."""

    client: str = Field("", max_length=200, description="The client the proposal is for.")
    agency: str = Field("", max_length=200, description="The agency that sends it.")
    version: str = Field("", max_length=40, description="Document version, e.g. 1.0.")
    issued: date | None = Field(None, description="Date on the title page (default: today).")
    draft: bool = Field(True, description="Mark every page DRAFT until the figures are agreed.")
    logo: str | None = Field(
        None, max_length=1000, description="PNG, JPEG or SVG file shown on the title page."
    )
    disclaimer: str | None = Field(
        None, max_length=2000, description="Replaces the standard model-estimate disclaimer."
    )


class Objective(_Model):
    """What to optimise: maximise a metric, minimise cost, or maximise a weighted sum."""

    maximize: Metric | Literal["net_value"] | None = None
    minimize: Literal["cost"] | None = None
    weights: dict[Metric | Literal["cost"], float] | None = Field(
        None,
        description="Maximise sum(weight * metric); a 'cost' weight is subtracted. Weights >= 0.",
    )
    values: dict[Metric, float] | None = Field(
        None,
        description="With maximize = 'net_value': money per unit of each metric (followers: "
        "each one at the end of the campaign); net value = sum(value * metric) - total cost.",
    )

    @model_validator(mode="after")
    def _exactly_one(self) -> Self:
        chosen = [n for n in ("maximize", "minimize", "weights") if getattr(self, n) is not None]
        if len(chosen) > 1:
            raise PydanticCustomError(
                "objective_one",
                "give exactly one of maximize, minimize, weights (got {got})",
                {"got": ", ".join(chosen)},
            )
        net = self.maximize == "net_value"
        if net != (self.values is not None):
            raise PydanticCustomError(
                "objective_values",
                "values (money per unit of a metric) go with maximize = 'net_value', and "
                "maximize = 'net_value' needs values, e.g. {example}",
                {"example": "values = { conversions = 120, followers = 5 }"},
            )
        if net and not any(v > 0 for v in (self.values or {}).values()):
            raise PydanticCustomError(
                "objective_empty", "values must give at least one metric a value > 0"
            )
        if self.weights is not None and not any(w > 0 for w in self.weights.values()):
            raise PydanticCustomError(
                "objective_empty", "weights must give at least one metric a weight > 0"
            )
        given = [*(self.weights or {}).items(), *(self.values or {}).items()]
        negative = [str(getattr(k, "value", k)) for k, w in given if w < 0]
        if negative:
            # A negative weight on a good would reward the optimiser for under-reporting it,
            # and "cost" is already subtracted: every weight is >= 0.
            raise PydanticCustomError(
                "objective_negative",
                "weights must be >= 0 (got a negative weight for {names})",
                {"names": ", ".join(negative)},
            )
        return self

    @property
    def kind(self) -> Literal["maximize", "minimize", "weights"]:
        """Which form of objective this is (maximise conversions when nothing is given); a
        net value is a weighted sum (values, and cost at weight 1)."""
        if self.minimize is not None:
            return "minimize"
        if self.weights is not None or self.maximize == "net_value":
            return "weights"
        return "maximize"

    @property
    def metric(self) -> Metric:
        """The metric maximised (conversions by default, and for sums)."""
        return self.maximize if isinstance(self.maximize, Metric) else Metric.CONVERSIONS

    @property
    def weighted(self) -> dict[str, float]:
        """The weights of a weighted sum by metric name (``cost`` subtracted); a net value
        weighs each metric by its value and cost by 1."""
        if self.maximize == "net_value":
            return {**{m.value: v for m, v in (self.values or {}).items()}, "cost": 1.0}
        return {str(getattr(k, "value", k)): w for k, w in (self.weights or {}).items()}


#: The distributions a range can take, and the parameters each one needs.
DISTRIBUTIONS: dict[str, tuple[str, ...]] = {
    "triangular": ("low", "mode", "high"),
    "uniform": ("low", "high"),
    "pert": ("low", "mode", "high"),
    "lognormal": ("median", "p95"),
    "beta": ("mean", "sd"),
}

#: Fields that may carry a range: the model's estimates (rates, costs, sizes). Budgets,
#: limits, windows and goals are decisions, not estimates, so they take none.
UNCERTAIN_FIELDS: dict[str, frozenset[str]] = {
    "": frozenset({"population"}),
    "site": frozenset({"conversion_rate"}),
    "tactics": frozenset(
        {
            "cpm",
            "pool",
            "frequency_cap",
            "ctr",
            "landing_rate",
            "conversion_rate",
            "follow_rate",
            "comment_rate",
        }
    ),
    "communities": frozenset(
        {
            "initial_followers",
            "churn",
            "posts_per_period",
            "organic_reach_rate",
            "engagement_rate",
            "comment_rate",
            "organic_ctr",
            "landing_rate",
            "conversion_rate",
            "viral_follow_rate",
            "setup_cost",
            "content_cost_per_post",
            "base_hours",
        }
    ),
    "webcare": frozenset({"hourly_rate", "minutes_per_comment", "capacity_hours"}),
    "adverse_events": frozenset(
        {"rate", "minutes_per_case", "cost_per_case", "capacity", "valid_share", "serious_share"}
    ),
}

#: The share of a lognormal range that may fall outside its field's allowed values (it is
#: truncated there); more means the range does not describe the field.
MAX_TRUNCATED = 0.01

#: The standard normal's 95th percentile (a lognormal range gives its median and p95).
Z95 = 1.6448536269514722


class Range(_Model):
    """An uncertain input: a distribution around a field's nominal value.

    ``triangular`` and ``pert`` take ``low``, ``mode``, ``high``; ``uniform`` takes ``low``
    and ``high``; ``lognormal`` takes ``median`` and ``p95``; ``beta`` (for rates) takes
    ``mean`` and ``sd``. Draws are independent between fields.
    """

    dist: Literal["triangular", "uniform", "pert", "lognormal", "beta"]
    low: float | None = None
    mode: float | None = None
    high: float | None = None
    median: float | None = None
    p95: float | None = None
    mean: float | None = None
    sd: float | None = None

    def parameters(self) -> dict[str, float]:
        """The parameters given, by name."""
        names = ("low", "mode", "high", "median", "p95", "mean", "sd")
        return {n: v for n in names if (v := getattr(self, n)) is not None}


class Scenario(_Model):
    """A campaign: periods, population, budget, tactics, communities, goals and objective.

    Construct from a file (:meth:`from_file`), a string (:meth:`from_toml`,
    :meth:`from_json`) or a dict (:meth:`from_dict`). Invalid input raises
    :class:`~funnelopt.ScenarioError` listing every problem with its field path.
    """

    schema_version: Literal[1] = Field(1, description="File format version.")
    name: str = Field("Unnamed campaign", min_length=1, max_length=200)
    description: str = Field("", max_length=5000)
    periods: int = Field(..., ge=1, le=MAX_PERIODS, description="Campaign length in periods.")
    period_label: str = Field("week", min_length=1, max_length=20)
    start_date: date | None = Field(
        None,
        description="First day of period 1 (ISO date): periods get calendar dates "
        "(period_label day, week, fortnight or month).",
    )
    currency: str = Field("EUR", pattern=_CURRENCY_PATTERN)
    population: float = Field(..., ge=1, le=1e10, description="Target group size, people.")
    reach_curve: Literal["exponential", "hyperbolic"] = "exponential"
    budget: Budget
    site: Site
    tactics: list[Tactic] = Field(..., min_length=1, max_length=MAX_TACTICS)
    communities: list[Community] = Field(default_factory=list, max_length=MAX_COMMUNITIES)
    webcare: Webcare | None = None
    adverse_events: AdverseEvents | None = None
    goals: list[Goal] = Field(default_factory=list, max_length=MAX_GOALS)
    objective: Objective = Field(default_factory=Objective)
    report: ReportInfo = Field(
        default_factory=ReportInfo, description="Title-page facts of the client report."
    )
    sources: dict[str, str] = Field(
        default_factory=dict, description="Field path -> where its value comes from."
    )
    uncertainty: dict[str, Range] = Field(
        default_factory=dict,
        description="Field path -> its range (docs/uncertainty.md); nominal values are planned.",
    )
    history: History | None = Field(
        None, description="What happened in the first periods (re-planning, docs/replan.md)."
    )

    #: The compiled arrays (:func:`funnelopt.compiled.model_data`), built on first use.
    _compiled: Any = PrivateAttr(default=None)
    #: Paths changed by :meth:`with_overrides` -> the value before (the first change kept).
    _overridden: dict[str, Any] = PrivateAttr(default_factory=dict)

    # -- construction ---------------------------------------------------------------

    def __init__(self, **data: Any) -> None:
        try:
            super().__init__(**data)
        except ValidationError as exc:
            raise _to_scenario_error(exc, data) from None

    @classmethod
    def model_validate(cls, obj: Any, **kwargs: Any) -> Self:
        try:
            return super().model_validate(obj, **kwargs)
        except ValidationError as exc:
            raise _to_scenario_error(exc, obj) from None

    def model_copy(self, *, update: Mapping[str, Any] | None = None, deep: bool = False) -> Self:
        """A copy; with ``update`` (top-level fields), validated like every construction
        (pydantic's own copy would skip validation and keep stale compiled data)."""
        if not update:
            return super().model_copy(deep=deep)
        data = self.model_dump(mode="python", exclude_none=True)
        return type(self).from_dict({**data, **update})

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Self:
        """Validate a scenario given as a (JSON-like) dict."""
        if not isinstance(data, Mapping):
            raise ScenarioError([Problem("<scenario>", type(data).__name__, "must be a table")])
        return cls.model_validate(dict(data))

    @classmethod
    def from_toml(cls, text: str, source: str = "<text>") -> Self:
        """Parse and validate a scenario written in TOML (``source`` names it in errors)."""
        try:
            data = tomllib.loads(text.removeprefix("\ufeff"))
        except RecursionError:
            raise ScenarioError([Problem(source, _MISSING, _TOO_DEEP)]) from None
        except ValueError as exc:  # TOMLDecodeError, and integers over 4,300 digits
            raise ScenarioError([Problem(source, _MISSING, f"not valid TOML: {exc}")]) from None
        return cls._from_parsed(data, source)

    @classmethod
    def from_json(cls, text: str, source: str = "<text>") -> Self:
        """Parse and validate a scenario written in JSON (``source`` names it in errors)."""
        try:
            # NaN and Infinity literals (Python's json.dumps writes them) parse, so that
            # validation names the field they sit in: "tactics.x.cpm = nan: must be a
            # finite number".
            data = json.loads(text.removeprefix("\ufeff"))
        except RecursionError:
            raise ScenarioError([Problem(source, _MISSING, _TOO_DEEP)]) from None
        except ValueError as exc:  # JSONDecodeError, NaN/Infinity literals
            raise ScenarioError([Problem(source, _MISSING, f"not valid JSON: {exc}")]) from None
        return cls._from_parsed(data, source)

    @classmethod
    def _from_parsed(cls, data: Any, source: str) -> Self:
        """Validate a parsed document, refusing nesting no scenario has before it reaches
        the validators (which recurse)."""
        if nesting_depth(data) > MAX_DEPTH:
            raise ScenarioError([Problem(source, _MISSING, _TOO_DEEP)])
        return cls.from_dict(data)

    @classmethod
    def from_text(cls, text: str, source: str = "<text>") -> Self:
        """Parse a scenario in JSON (if it starts with ``{``) or else TOML."""
        if text.removeprefix("\ufeff").lstrip().startswith("{"):
            return cls.from_json(text, source)
        return cls.from_toml(text, source)

    @classmethod
    def from_file(cls, path: str | Path) -> Self:
        """Load a scenario from a ``.toml`` or ``.json`` file."""
        p = Path(path)
        text = read_text(p)
        if p.suffix.lower() == ".json":
            return cls.from_json(text, str(p))
        if p.suffix.lower() == ".toml":
            return cls.from_toml(text, str(p))
        return cls.from_text(text, str(p))

    def to_dict(self) -> dict[str, Any]:
        """The scenario as a JSON-compatible dict that :meth:`from_dict` reads back."""
        return self.model_dump(mode="json", exclude_none=True)

    def to_json(self) -> str:
        """The scenario as deterministic JSON."""
        return dumps(self.to_dict())

    def to_toml(self) -> str:
        """The scenario as TOML that :meth:`from_toml` reads back (values only: a file's
        comments are not kept; its ``[sources]`` are)."""
        import tomli_w

        return str(tomli_w.dumps(self.to_dict()))

    @classmethod
    def json_schema(cls) -> dict[str, Any]:
        """The JSON Schema of the scenario file format."""
        schema = cls.model_json_schema()
        schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
        schema["title"] = "funnelopt scenario"
        return schema

    # -- what-if ----------------------------------------------------------------------

    def with_overrides(self, overrides: Mapping[str, Any]) -> Self:
        """A new validated scenario with fields replaced by path.

        Paths address list items by id: ``{"budget.total": 120000,
        "tactics.meta_dark.cpm": 9.5, "goals[0].target": 2000}``; a range is set whole:
        ``{"uncertainty.tactics.meta_dark.ctr": {"dist": "uniform", "low": 0.008,
        "high": 0.012}}``. Unknown paths raise
        :class:`ScenarioError` suggesting the nearest valid path. ``self`` is unchanged.
        """
        data = self.model_dump(mode="python", exclude_none=True)
        problems: list[Problem] = []
        for path, value in overrides.items():
            if nesting_depth(value) > MAX_DEPTH:
                problems.append(Problem(path, _MISSING, _TOO_DEEP))
                continue
            try:
                _set_path(data, path, value)
            except _PathError as exc:
                problems.append(Problem(path, value, str(exc)))
        try:
            new = type(self).from_dict(data)
        except ScenarioError as exc:
            # Report unknown paths and invalid values together, each once.
            raise ScenarioError(problems + exc.problems) from None
        if problems:
            raise ScenarioError(problems)
        before = dict(self._overridden)
        for path in overrides:
            if path not in before:
                before[path] = self.value_at(path)
        new._overridden = before
        return new

    @property
    def overridden(self) -> dict[str, Any]:
        """Paths changed by :meth:`with_overrides` (``--set``) -> the value in the original
        scenario (None where it was not given). The ``[history]`` is left out: what
        happened is no changed assumption."""
        return {k: v for k, v in self._overridden.items() if not k.startswith("history.")}

    def value_at(self, path: str) -> Any:
        """The value at a field path (``tactics.meta_dark.cpm``, ``goals[0].target``); None
        where the field is unset. Unknown paths raise :class:`ScenarioError`."""
        node: Any = self.model_dump(mode="python")
        for table in ("sources", "uncertainty"):  # tables keyed by a field path: one entry
            if path.startswith(f"{table}."):
                return node[table].get(path[len(table) + 1 :])
        try:
            parts = _split(path)
            keyed = False  # inside a table keyed by metric: a key not given is unset
            model: type[BaseModel] | None = type(self)
            for n, part in enumerate(parts):
                if isinstance(node, list):
                    node = node[_list_index(node, part, parts[n - 1] if n else "")]
                elif isinstance(node, dict) and isinstance(part, str) and part in node:
                    node = node[part]
                    info = model.model_fields.get(part) if model is not None else None
                    keyed = info is not None and _is_map(info.annotation)
                    if info is not None:
                        sub = _submodel(info.annotation) or _list_item_model(info.annotation)
                        model = sub
                elif node is None or keyed:
                    return None
                else:
                    raise _PathError("no such field" + _suggest_from(path, self.to_dict()))
        except _PathError as exc:
            raise ScenarioError([Problem(path, _MISSING, str(exc))]) from None
        return getattr(node, "value", node)

    # -- calendar and names -------------------------------------------------------------

    def period_start(self, t: int) -> date | None:
        """The first day of 1-based period ``t`` (None without a ``start_date``)."""
        if self.start_date is None:
            return None
        label = self.period_label.lower()
        if label == "month":
            m = self.start_date.month - 1 + t - 1
            return date(self.start_date.year + m // 12, m % 12 + 1, 1)
        return self.start_date + timedelta(days=PERIOD_DAYS[label] * (t - 1))

    def period_name(self, t: int) -> str:
        """Period ``t`` as people read it: ``week of 2027-01-04`` with a start date, else
        ``week 3``."""
        day = self.period_start(t)
        if day is None:
            return f"{self.period_label} {t}"
        label = self.period_label.lower()
        if label == "day":
            return day.isoformat()
        if label == "month":
            return day.strftime("%B %Y")
        return f"{self.period_label} of {day.isoformat()}"

    def period_month(self, t: int) -> str | None:
        """The calendar month (``2027-01``) period ``t`` starts in; None without dates."""
        day = self.period_start(t)
        return None if day is None else f"{day.year}-{day.month:02d}"

    def tactic_name(self, tactic_id: str) -> str:
        """A tactic's display name (its id when it has none or is unknown)."""
        return next((t.display_name for t in self.tactics if t.id == tactic_id), tactic_id)

    def community_name(self, community_id: str) -> str:
        """A community's display name (its id when it has none or is unknown)."""
        return next(
            (c.display_name for c in self.communities if c.id == community_id), community_id
        )

    def goal_name(self, goal: Goal) -> str:
        """A goal's display name: ``name``, else its metric, target and due period."""
        if goal.name:
            return goal.name
        what = metrics.format_value(goal.metric.value, goal.target)
        return f"{metrics.info(goal.metric.value).label} {what} by {self.period_name(self.goal_period(goal))}"

    def summary(self) -> str:
        """One line: name, length, counts, budget and objective (what ``print`` shows)."""

        def n(count: int, word: str, plural: str = "") -> str:
            return f"{count} {word if count == 1 else plural or word + 's'}"

        b, cur = self.budget, self.currency
        caps = [f"{k} {cur} {v:,.0f}" for k, v in (("total", b.total), ("media", b.media)) if v]
        o = self.objective
        aim = {"maximize": f"maximise {o.metric.value}", "minimize": "minimise cost"}.get(
            o.kind, "maximise a weighted sum"
        )
        return (
            f"{self.name!r}: {n(self.periods, self.period_label)}, {n(len(self.tactics), 'tactic')}, "
            f"{n(len(self.communities), 'community', 'communities')}, {n(len(self.goals), 'goal')}; "
            f"budget {', '.join(caps)}; {aim}"
        )

    def __str__(self) -> str:
        return self.summary()

    def _repr_html_(self) -> str:
        from funnelopt.report.html import scenario_html

        return scenario_html(self)

    def field_paths(self) -> list[str]:
        """Every path :meth:`with_overrides` accepts for this scenario (leaf fields)."""
        return sorted(_leaf_paths(type(self), self.model_dump(mode="python"), ""))

    # -- look-ups -------------------------------------------------------------------------

    def tactic_index(self, tactic_id: str) -> int:
        """Position of a tactic in :attr:`tactics` (the spend matrix column)."""
        for i, t in enumerate(self.tactics):
            if t.id == tactic_id:
                return i
        raise InputError(
            [Problem("tactic", tactic_id, f"unknown; known: {', '.join(self.tactic_ids)}")]
        )

    @property
    def tactic_ids(self) -> list[str]:
        """Tactic ids in column order."""
        return [t.id for t in self.tactics]

    @property
    def community_ids(self) -> list[str]:
        """Community account ids in order."""
        return [c.id for c in self.communities]

    def audiences(self) -> dict[str, tuple[float, list[int]]]:
        """Audience id -> (pool, tactic columns): tactics sharing an audience reach the same people.

        The pool of a shared audience is the largest pool among its tactics.
        """
        groups: dict[str, tuple[float, list[int]]] = {}
        named = {t.audience for t in self.tactics if t.audience is not None}
        for j, t in enumerate(self.tactics):
            if t.pool is None:
                continue  # a response tactic: no impressions, no reach
            # A tactic without an audience reaches its own people, even when another
            # tactic's audience has the same name as its id.
            key = t.audience if t.audience is not None else t.id
            if t.audience is None and t.id in named:
                key = f"{t.id} (own)"
            pool, cols = groups.get(key, (0.0, []))
            groups[key] = (max(pool, t.pool), [*cols, j])
        return groups

    def goal_period(self, goal: Goal) -> int:
        """The 1-based period a goal is due (its ``by``, default the last)."""
        return goal.by if goal.by is not None else self.periods

    def active_window(self, tactic: Tactic) -> tuple[int, int]:
        """1-based first and last active period of a tactic (a follower-ad tactic runs only
        while its community does)."""
        first, last = tactic.start, tactic.end if tactic.end is not None else self.periods
        c = next((c for c in self.communities if c.id == tactic.account), None)
        if c is not None:
            c_first, c_last = self.community_window(c)
            first, last = max(first, c_first), min(last, c_last)
        return first, last

    @property
    def periods_done(self) -> int:
        """Periods that happened (:class:`History`): 0 without a history."""
        return self.history.done if self.history is not None else 0

    def community_window(self, c: Community) -> tuple[int, int]:
        """1-based launch and last period of a community ('auto' launches: period 1 until
        the optimiser chooses)."""
        return (c.start if isinstance(c.start, int) else 1), (
            c.end if c.end is not None else self.periods
        )

    # -- cross-field rules --------------------------------------------------------------

    @model_validator(mode="after")
    def _cross_field(self) -> Self:
        problems = list(_cross_field_problems(self))
        if problems:
            raise PydanticCustomError(
                "scenario_rules",
                "{summary}",
                {
                    "summary": "; ".join(str(p) for p in problems),
                    "problems": [(p.path, p.value, p.rule) for p in problems],
                },
            )
        return self


# Long by design: one flat list of independent cross-field rules, each a few lines, read
# top to bottom like the rule table in docs/scenario.md; splitting would scatter them.
def _cross_field_problems(s: Scenario) -> Iterator[Problem]:
    b = s.budget
    cells = s.periods * len(s.tactics)
    if cells > MAX_CELLS:
        yield Problem(
            "tactics",
            f"{len(s.tactics)} tactics",
            f"{s.periods} periods x {len(s.tactics)} tactics = {cells:,} cells; at most "
            f"{MAX_CELLS:,} (e.g. 52 x 500 or 520 x 50) plan within the default time limit "
            "and a few GB: group tactics or plan in coarser periods",
        )
    yield from _history_problems(s)
    for c in s.communities:
        # Organic growth alone (viral follows from organic posts, net of churn) that
        # multiplies followers a million-fold over the campaign is no community the model
        # describes, and its numbers leave every solver's range.
        growth = 1 - c.churn + c.viral_follow_rate * c.organic_per_follower
        if growth > 1 and s.periods * math.log(growth) > math.log(1e6):
            yield Problem(
                f"communities.{c.id}.viral_follow_rate",
                c.viral_follow_rate,
                f"with posts_per_period x organic_reach_rate = {c.organic_per_follower:g} and "
                f"churn {c.churn:g}, followers would grow {growth:,.3g}x per period on their own "
                f"({s.periods} periods): at most a million-fold over the campaign is modelled",
            )
    for table in ("weights", "values"):
        for metric, w in (getattr(s.objective, table) or {}).items():
            if w > 1e9:
                yield Problem(
                    f"objective.{table}.{getattr(metric, 'value', metric)}", w, "must be <= 1e9"
                )
    if b.total is None and b.media is None:
        yield Problem("budget", _MISSING, "give at least one cap: budget.total or budget.media")
    if b.period_max is not None and b.period_min > b.period_max:
        yield Problem(
            "budget.period_min", b.period_min, f"must be <= budget.period_max ({b.period_max:g})"
        )
    if b.period_min > 0:
        caps = [(c, n) for c, n in ((b.media, "media"), (b.total, "total")) if c is not None]
        if caps and b.period_min * s.periods > min(caps)[0]:
            cap, name = min(caps)
            yield Problem(
                "budget.period_min",
                b.period_min,
                f"times {s.periods} {s.period_label}s ({b.period_min * s.periods:,.6g}) exceeds "
                f"budget.{name} ({cap:,.6g}): lower budget.period_min or raise budget.{name}",
            )

    if b.period_min > 0:
        idle = [
            t
            for t in range(1, s.periods + 1)
            if not any(s.active_window(tac)[0] <= t <= s.active_window(tac)[1] for tac in s.tactics)
        ]
        if idle:
            yield Problem(
                "budget.period_min",
                b.period_min,
                f"{s.period_label} {idle[0]} has no active tactic to spend it (check tactics' start/end)",
            )

    seen: set[str] = set()
    for i, t in enumerate(s.tactics):
        if t.id in seen:
            yield Problem(f"tactics[{i}].id", t.id, "must be unique among tactics")
        seen.add(t.id)
    community_ids = [c.id for c in s.communities]
    seen = set()
    for i, c in enumerate(s.communities):
        if c.id in seen:
            yield Problem(f"communities[{i}].id", c.id, "must be unique among communities")
        seen.add(c.id)

    for t in s.tactics:
        p = f"tactics.{t.id}"
        if t.response:
            yield from _response_problems(t, p)
        else:
            yield from _curve_problems(t, p)
        if t.pool is None and not t.response:
            yield Problem(f"{p}.pool", _MISSING, f"is required for a {t.kind} tactic")
        elif t.pool is not None and t.pool > s.population:
            yield Problem(
                f"{p}.pool",
                t.pool,
                f"must be <= population ({s.population:g}): reach is people in the target group",
            )
        if t.kind == "community":
            if t.account is None:
                yield Problem(f"{p}.account", _MISSING, "a community tactic must name its account")
            elif t.account not in community_ids:
                known = ", ".join(community_ids) or "none defined"
                yield Problem(
                    f"{p}.account", t.account, f"must name a [[communities]] id ({known})"
                )
            if t.follow_rate <= 0:
                yield Problem(
                    f"{p}.follow_rate", t.follow_rate, "must be > 0 for a community tactic"
                )
        elif t.kind == "traffic":
            if t.account is not None:
                yield Problem(f"{p}.account", t.account, "only community tactics have an account")
            if t.follow_rate > 0:
                yield Problem(
                    f"{p}.follow_rate", t.follow_rate, "only community tactics gain followers"
                )
            if t.ctr <= 0 or t.landing_rate <= 0:
                yield Problem(
                    f"{p}.ctr" if t.ctr <= 0 else f"{p}.landing_rate",
                    t.ctr if t.ctr <= 0 else t.landing_rate,
                    "must be > 0 for a traffic tactic (it exists to drive visits)",
                )
        last = t.end if t.end is not None else s.periods
        if t.start > s.periods:
            yield Problem(f"{p}.start", t.start, f"must be within 1..{s.periods} (periods)")
        if t.end is not None and t.end > s.periods:
            yield Problem(f"{p}.end", t.end, f"must be within 1..{s.periods} (periods)")
        if t.start > last:
            yield Problem(f"{p}.start", t.start, f"must be <= end ({last})")
        if t.max_spend is not None:
            if t.min_spend > t.max_spend:
                yield Problem(
                    f"{p}.min_spend", t.min_spend, f"must be <= max_spend ({t.max_spend:g})"
                )
            if t.min_spend_if_active > t.max_spend:
                yield Problem(
                    f"{p}.min_spend_if_active",
                    t.min_spend_if_active,
                    f"must be <= max_spend ({t.max_spend:g})",
                )
        if t.max_total is not None and t.min_total > t.max_total:
            yield Problem(f"{p}.min_total", t.min_total, f"must be <= max_total ({t.max_total:g})")
        active = max(0, min(last, s.periods) - t.start + 1)
        if t.max_spend is not None and t.min_total > t.max_spend * active:
            yield Problem(
                f"{p}.min_total",
                t.min_total,
                f"cannot be spent: max_spend {t.max_spend:g} x {active} active periods is less",
            )
        if t.max_total is not None and t.min_spend * active > t.max_total:
            yield Problem(
                f"{p}.min_spend",
                t.min_spend,
                f"x {active} active periods exceeds max_total ({t.max_total:g})",
            )

    any_comments = any(t.comment_rate > 0 for t in s.tactics) or any(
        c.comment_rate > 0 for c in s.communities
    )
    if (any_comments or any(c.base_hours > 0 for c in s.communities)) and s.webcare is None:
        yield Problem(
            "webcare",
            _MISSING,
            "required: comments or community monitoring need webcare (add [webcare])",
        )
    if any_comments and s.adverse_events is None:
        yield Problem(
            "adverse_events",
            _MISSING,
            "required: comments can mention adverse events (add [adverse_events]; rate = 0 if none)",
        )

    for c in s.communities:
        p = f"communities.{c.id}"
        if isinstance(c.start, int) and not 1 <= c.start <= s.periods:
            yield Problem(
                f"{p}.start", c.start, f"must be within 1..{s.periods} (periods) or 'auto'"
            )
        if c.end is not None and c.end > s.periods:
            yield Problem(f"{p}.end", c.end, f"must be within 1..{s.periods} (periods)")
        elif c.end is not None and isinstance(c.start, int) and c.end < c.start:
            yield Problem(f"{p}.end", c.end, f"must be >= start ({c.start})")
    label = s.period_label.lower()
    if s.start_date is not None and label != "month" and label not in PERIOD_DAYS:
        yield Problem(
            "start_date",
            s.start_date.isoformat(),
            f"needs period_label day, week, fortnight or month to give periods dates "
            f"(period_label is {s.period_label!r})",
        )
    if s.start_date is not None and label == "month" and s.start_date.day != 1:
        yield Problem(
            "start_date", s.start_date.isoformat(), "monthly periods start on the 1st of a month"
        )

    for i, g in enumerate(s.goals):
        p = f"goals[{i}]"
        if g.by is not None and g.by > s.periods:
            yield Problem(f"{p}.by", g.by, f"must be within 1..{s.periods} (periods)")
        if g.metric is Metric.REACH_SHARE and g.target > 1:
            yield Problem(f"{p}.target", g.target, "a reach_share target must be <= 1")
        if g.metric is Metric.REACH and g.target > s.population:
            yield Problem(f"{p}.target", g.target, f"must be <= population ({s.population:g})")
        if g.metric in (Metric.FOLLOWERS, Metric.ENGAGEMENTS) and not s.communities:
            yield Problem(f"{p}.metric", g.metric.value, "needs a [[communities]] account")
        if g.hard and g.weight != 1.0:
            yield Problem(f"{p}.weight", g.weight, "only soft goals (hard = false) take a weight")

    valid = set(_leaf_paths(Scenario, s.model_dump(mode="python"), ""))
    yield from _uncertainty_problems(s, valid)
    # A source may name a group of fields too ("tactics.meta_dark"): every path's prefixes.
    groups = {v[:i] for v in valid for i, ch in enumerate(v) if ch == "."}
    for key in s.sources:
        if key not in valid and key not in groups:
            yield Problem(
                f"sources.{key}",
                s.sources[key],
                "names no field of this scenario" + _suggest(key, valid | groups),
            )


def _response_problems(t: Tactic, p: str) -> Iterator[Problem]:
    """A response tactic: a hill or logistic curve giving conversions, optional adstock,
    and none of the funnel fields (its curve is the whole funnel)."""
    if not isinstance(t.curve, HillCurve | LogisticCurve):
        yield Problem(
            f"{p}.curve",
            getattr(t.curve, "kind", _MISSING),
            "a response tactic needs a hill or logistic curve giving conversions per period",
        )
    funnel = ("cpm", "frequency_cap", "pool", "audience", "account", "conversion_rate")
    rates = ("ctr", "landing_rate", "follow_rate", "comment_rate")
    for name in (*funnel, *rates):
        value = getattr(t, name)
        if value is not None and value != 0:
            yield Problem(
                f"{p}.{name}",
                value,
                "a response tactic's curve gives its conversions directly: remove " + name,
            )
    a = t.adstock
    if a is not None and len(a.before) > a.l_max - 1:
        yield Problem(
            f"{p}.adstock.before",
            f"{len(a.before)} values",
            f"at most l_max - 1 = {a.l_max - 1} periods before the campaign carry over",
        )


def _curve_problems(t: Tactic, p: str) -> Iterator[Problem]:
    """A tactic's delivery: cpm and frequency_cap for the exponential curve, or a curve
    that sets delivery alone; a breakpoint table from 0, spend rising, impressions not
    falling."""
    c = t.curve
    if t.adstock is not None:
        yield Problem(f"{p}.adstock", "a table", "only response tactics carry spend over")
    if t.exponential:
        for name in ("cpm", "frequency_cap"):
            if getattr(t, name) is None:
                yield Problem(
                    f"{p}.{name}",
                    _MISSING,
                    "is required for the exponential delivery curve (or give a curve = {...}, "
                    "docs/curves.md)",
                )
        return
    for name in ("cpm", "frequency_cap"):
        if getattr(t, name) is not None:
            yield Problem(
                f"{p}.{name}",
                getattr(t, name),
                f"the tactic's {getattr(c, 'kind', '')} curve sets its delivery: remove {name}",
            )
    if not isinstance(c, BreakpointsCurve):
        return
    q = f"{p}.curve"
    if len(c.spend) != len(c.impressions):
        yield Problem(
            f"{q}.impressions",
            f"{len(c.impressions)} values",
            f"needs one per spend point ({len(c.spend)})",
        )
        return
    for name, values in (("spend", c.spend), ("impressions", c.impressions)):
        if values[0] != 0:
            yield Problem(f"{q}.{name}[0]", values[0], "must be 0: the curve starts at no spend")
    rising = [i for i in range(1, len(c.spend)) if not c.spend[i] > c.spend[i - 1]]
    if rising:
        i = rising[0]
        yield Problem(
            f"{q}.spend[{i}]", c.spend[i], f"must be > the point before ({c.spend[i - 1]:g})"
        )
    falling = [i for i in range(1, len(c.impressions)) if c.impressions[i] < c.impressions[i - 1]]
    if falling:
        i = falling[0]
        yield Problem(
            f"{q}.impressions[{i}]",
            c.impressions[i],
            f"must be >= the point before ({c.impressions[i - 1]:g}): more spend never buys less",
        )
    if c.impressions[-1] <= 0:
        yield Problem(f"{q}.impressions", c.impressions[-1], "the last point must be > 0")


def _history_problems(s: Scenario) -> Iterator[Problem]:
    h = s.history
    if h is None:
        return
    done = h.done
    if done > s.periods:
        yield Problem("history.spend", f"{done} periods", f"at most the campaign's {s.periods}")
    counts = {f"history.followers.{k}": v for k, v in h.followers.items()}
    counts |= {f"history.impressions.{k}": v for k, v in h.impressions.items()}
    counts |= {
        f"history.{k}": getattr(h, k) for k in ("comments", "ae_cases", "visits", "conversions")
    }
    if not h.spend and any(counts.values()):
        yield Problem("history.spend", _MISSING, "give what was spent in the periods done")
    for path, v in counts.items():
        if h.spend and len(v) > done:
            yield Problem(path, f"{len(v)} values", f"at most one per period done ({done})")
    for tid, v in h.spend.items():
        if tid not in s.tactic_ids:
            yield Problem(f"history.spend.{tid}", tid, f"must be one of {', '.join(s.tactic_ids)}")
        elif len(v) != done:
            yield Problem(
                f"history.spend.{tid}", f"{len(v)} values", f"needs one per period done ({done})"
            )
    for tid, v in h.impressions.items():
        if tid not in s.tactic_ids:
            yield Problem(
                f"history.impressions.{tid}", tid, f"must be one of {', '.join(s.tactic_ids)}"
            )
            continue
        spent = h.spend.get(tid, [])
        free = [t + 1 for t, n in enumerate(v) if n > 0 and (t >= len(spent) or spent[t] <= 0)]
        if free:
            yield Problem(
                f"history.impressions.{tid}",
                f"{s.period_label} {free[0]}",
                "impressions without spend: give the spend, or 0 impressions",
            )
    for cid in h.followers:
        if cid not in s.community_ids:
            known = ", ".join(s.community_ids) or "none: the scenario has no community"
            yield Problem(f"history.followers.{cid}", cid, f"must be one of {known}")


def _uncertainty_problems(s: Scenario, valid: set[str]) -> Iterator[Problem]:
    """The ``[uncertainty]`` table: each key a numeric model input with a value, each range
    well formed and inside the values its field allows."""
    for key, r in s.uncertainty.items():
        p = f"uncertainty.{key}"
        if key not in valid:
            yield Problem(p, key, "names no field of this scenario" + _suggest(key, valid))
            continue
        table, _, name = key.rpartition(".")
        group = table.split(".")[0] if table else ""
        if name not in UNCERTAIN_FIELDS.get(group, frozenset()):
            yield Problem(
                p,
                key,
                "is not an estimate that can take a range (rates, costs, sizes and capacities "
                "can; budgets, limits, windows and goals are decisions)",
            )
            continue
        if field_value(s, key) is None:
            yield Problem(p, key, "the field has no value: give it one (plans use it)")
            continue
        yield from _range_problems(p, r, field_bounds(key))


def _range_problems(p: str, r: Range, bounds: tuple[float, bool, float, bool]) -> Iterator[Problem]:
    needs = DISTRIBUTIONS[r.dist]
    given = r.parameters()
    missing = [n for n in needs if n not in given]
    extra = [n for n in given if n not in needs]
    if missing or extra:
        yield Problem(
            p,
            given,
            f"{r.dist} takes {', '.join(needs)}"
            + (f"; missing {', '.join(missing)}" if missing else "")
            + (f"; {', '.join(extra)} is not one of them" if extra else ""),
        )
        return
    lo, lo_open, hi, hi_open = bounds
    allowed = f"{'(' if lo_open else '['}{lo:g}, {hi:g}{')' if hi_open else ']'}"
    if r.dist in ("triangular", "uniform", "pert"):
        low, high = given["low"], given["high"]
        mode = given.get("mode", low)
        if not low <= mode <= high:
            yield Problem(p, given, "needs low <= mode <= high")
        elif low < lo or (lo_open and low <= lo) or high > hi or (hi_open and high >= hi):
            yield Problem(p, given, f"draws would leave the field's allowed values {allowed}")
    elif r.dist == "lognormal":
        median, p95 = given["median"], given["p95"]
        if not 0 < median < p95:
            yield Problem(p, given, "needs 0 < median < p95")
        elif (out := lognormal_outside(median, p95, lo, hi)) > MAX_TRUNCATED:
            yield Problem(
                p,
                given,
                f"{out:.1%} of its draws leave the field's allowed values {allowed} (at most "
                f"{MAX_TRUNCATED:.0%} may, they are cut off): narrow it, or use beta for a rate",
            )
    else:
        mean, sd = given["mean"], given["sd"]
        if not (0 < mean < 1 and sd > 0 and sd * sd < mean * (1 - mean)):
            yield Problem(p, given, "needs 0 < mean < 1 and 0 < sd < sqrt(mean * (1 - mean))")
        elif lo > 0 or hi < 1:
            yield Problem(
                p, given, f"beta draws lie in (0, 1) but the field allows {allowed}: use another"
            )


def lognormal_outside(median: float, p95: float, lo: float, hi: float) -> float:
    """The share of a lognormal (given by its median and p95) outside ``[lo, hi]``."""
    sigma = math.log(p95 / median) / Z95

    def cdf(v: float) -> float:
        if v <= 0:
            return 0.0
        if math.isinf(v):
            return 1.0
        return 0.5 * math.erfc(-(math.log(v) - math.log(median)) / (sigma * math.sqrt(2)))

    return cdf(lo) + 1.0 - cdf(hi)


def field_value(s: Scenario, path: str) -> Any:
    """The value of a leaf field by path (``tactics.meta_dark.ctr``; items by id or index)."""
    node: Any = s
    for part in _split(path):
        if isinstance(node, list):
            node = node[part] if isinstance(part, int) else next(x for x in node if x.id == part)
        else:
            node = getattr(node, str(part))
    return node


def field_bounds(path: str) -> tuple[float, bool, float, bool]:
    """The values a numeric field allows: ``(low, low_open, high, high_open)``."""
    model: type[BaseModel] | None = Scenario
    info = None
    for part in _split(path):
        if isinstance(part, int) or model is None or part not in model.model_fields:
            continue  # a list item's id or index
        info = model.model_fields[part]
        model = _submodel(info.annotation) or _list_item_model(info.annotation)
    lo, lo_open, hi, hi_open = -math.inf, False, math.inf, False
    for m in info.metadata if info is not None else ():
        if getattr(m, "ge", None) is not None:
            lo, lo_open = float(m.ge), False
        if getattr(m, "gt", None) is not None:
            lo, lo_open = float(m.gt), True
        if getattr(m, "le", None) is not None:
            hi, hi_open = float(m.le), False
        if getattr(m, "lt", None) is not None:
            hi, hi_open = float(m.lt), True
    return lo, lo_open, hi, hi_open


# -- validation errors --------------------------------------------------------------------


_RULES: dict[str, str] = {
    "greater_than": "must be > {gt}",
    "greater_than_equal": "must be >= {ge}",
    "less_than": "must be < {lt}",
    "less_than_equal": "must be <= {le}",
    "finite_number": "must be a finite number (not NaN or infinity)",
    "float_parsing": "must be a number",
    "float_type": "must be a number",
    "missing": "is required",
    "extra_forbidden": "is not a known field",
    "literal_error": "must be one of {expected}",
    "enum": "must be one of {expected}",
    "string_pattern_mismatch": "must be a name of letters, digits, _ or - starting with a letter",
    "currency_pattern": "must be a three-letter ISO 4217 code in capitals, e.g. EUR, USD, GBP",
    "too_long": "has too many items (at most {max_length})",
    "too_short": "needs at least {min_length} item(s)",
    "date_from_datetime_parsing": "must be an ISO date such as 2027-01-04",
    "date_parsing": "must be an ISO date such as 2027-01-04",
    "date_type": "must be an ISO date such as 2027-01-04",
    "date_from_datetime_inexact": "must be a date without a time of day, e.g. 2027-01-04",
}


#: Input files larger than this are refused (a scenario at the size limits is far smaller).
MAX_INPUT_BYTES = 20_000_000
#: Nesting deeper than this is no scenario (its deepest field is four levels down).
MAX_DEPTH = 32
_TOO_DEEP = f"nested more than {MAX_DEPTH} levels deep: no scenario field is"


def read_text(path: str | Path) -> str:
    """An input file's text (see :func:`decode`); unreadable files get a named error."""
    p = Path(path)
    try:
        with p.open("rb") as f:
            raw = f.read(MAX_INPUT_BYTES + 1)
    except OSError as exc:
        raise ScenarioError(
            [Problem(str(p), _MISSING, f"cannot be read: {exc.strerror or exc}")]
        ) from None
    return decode(raw, str(p))


def decode(raw: bytes, source: str) -> str:
    """Text of an input: UTF-8 (a byte-order mark, as Windows editors write, is dropped),
    or UTF-16/UTF-32 with a byte-order mark; anything else is a named error."""
    if len(raw) > MAX_INPUT_BYTES:
        raise ScenarioError(
            [Problem(source, _MISSING, f"is larger than {MAX_INPUT_BYTES:,} bytes: no scenario is")]
        )
    # UTF-32 first: its little-endian mark starts with UTF-16's.
    boms = [
        (codecs.BOM_UTF32_LE, "utf-32"),
        (codecs.BOM_UTF32_BE, "utf-32"),
        (codecs.BOM_UTF16_LE, "utf-16"),
        (codecs.BOM_UTF16_BE, "utf-16"),
    ]
    encoding = next((enc for bom, enc in boms if raw.startswith(bom)), "utf-8-sig")
    try:
        return raw.decode(encoding)
    except UnicodeDecodeError as exc:
        raise ScenarioError(
            [
                Problem(
                    source,
                    _MISSING,
                    f"is not {encoding.replace('-sig', '').upper()} text (byte 0x{raw[exc.start]:02x} at "
                    f"position {exc.start}): save it as UTF-8",
                )
            ]
        ) from None


def nesting_depth(value: Any, limit: int = MAX_DEPTH + 1) -> int:
    """How deep lists and tables nest in ``value`` (counted up to ``limit``, iteratively:
    a deep document must not exhaust the stack here either)."""
    deepest, stack = 0, [(value, 0)]
    while stack:
        v, d = stack.pop()
        deepest = max(deepest, d)
        if deepest >= limit:
            return deepest
        if isinstance(v, Mapping):
            stack.extend((x, d + 1) for x in v.values())
        elif isinstance(v, list | tuple):
            stack.extend((x, d + 1) for x in v)
    return deepest


#: Set while _cross_field_too validates a stand-in copy (no repair of the repair).
_STAND_IN: ContextVar[bool] = ContextVar("_STAND_IN", default=False)


def _to_scenario_error(exc: ValidationError, raw: Any) -> ScenarioError:
    problems: list[Problem] = []
    fields_broken = False
    for err in _merged_unions(exc.errors()):
        ctx = err.get("ctx") or {}
        if isinstance(ctx.get("error"), ScenarioError):
            # A custom __init__ runs inside model_validate, so its error arrives wrapped.
            problems.extend(ctx["error"].problems)
            fields_broken |= ctx["error"].fields_broken
            continue
        if err["type"] == "scenario_rules":
            problems.extend(Problem(*p) for p in ctx["problems"])
            continue
        fields_broken = True
        path = _path_of(err["loc"], raw)
        kind = err["type"]
        if kind == "string_pattern_mismatch" and ctx.get("pattern") == _CURRENCY_PATTERN:
            kind = "currency_pattern"
        template = _RULES.get(kind)
        rule = template.format(**{k: _fmt(v) for k, v in ctx.items()}) if template else err["msg"]
        given = err.get("input", _MISSING)
        if kind == "extra_forbidden" and err["loc"]:
            rule += _suggest(str(err["loc"][-1]), _known_fields(err["loc"]))
        elif kind in ("enum", "literal_error") and isinstance(given, str):
            rule += _suggest(given, re.findall(r"'([^']*)'", str(ctx.get("expected", ""))))
        elif kind in ("model_type", "model_attributes_type", "dict_type"):
            rule = f"must be a table of fields ({_table_hint(err['loc'])}), not {_a(given)}"
        elif kind == "list_type":
            rule = f"must be a list of tables ([[{err['loc'][-1]}]] in TOML), not {_a(given)}"
        value = _MISSING if kind == "missing" else given
        problems.append(Problem(path or "<scenario>", value, rule))
    problems = _once(problems)
    if fields_broken and not _STAND_IN.get():
        problems += _cross_field_too(exc, raw, problems)
    error = ScenarioError(problems)
    error.fields_broken = fields_broken
    return error


#: Fields the cross-field rules compare others with: with one of these broken, the rules
#: would report the others against a stand-in value.
_COMPARED = {"periods", "population", "id", "account", "audience", "start", "end", "pool"}


def _cross_field_too(exc: ValidationError, raw: Any, found: list[Problem]) -> list[Problem]:
    """The cross-field problems of a file whose fields are broken too, so one pass names
    them all: each broken field gets a valid stand-in (:func:`_drop`) and the file is
    validated again; rules about a table with a stand-in are left out. Empty when a
    compared field is broken or a field has no stand-in."""
    if not isinstance(raw, Mapping):
        return []
    data = copy.deepcopy(dict(raw))
    for err in exc.errors():
        loc = err["loc"]
        if len(loc) > 2 and loc[0] == "uncertainty" and isinstance(data.get("uncertainty"), dict):
            data["uncertainty"].pop(loc[1], None)  # a broken range: leave it out
            continue
        if not loc or loc[-1] in _COMPARED or not _drop(data, loc):
            return []
    token = _STAND_IN.set(True)
    try:
        Scenario.model_validate(data)
    except ScenarioError as again:
        if again.fields_broken:
            return []
        # A rule about a table with a stand-in value could be about the stand-in.
        tables = {p.path.rpartition(".")[0] or p.path for p in found}
        return [p for p in again.problems if not any(p.path.startswith(x) for x in tables)]
    finally:
        _STAND_IN.reset(token)
    return []


def _drop(data: Any, loc: tuple[int | str, ...]) -> bool:
    """Replace the value at loc by a valid stand-in: removed where the model has a default
    (or no such field), the middle of its range for a required number; False otherwise."""
    node = data
    for item in loc[:-1]:
        try:
            node = node[item]
        except (KeyError, IndexError, TypeError):
            return False
    last, model = loc[-1], _model_at(loc)
    info = model.model_fields.get(str(last)) if model is not None else None
    if not isinstance(node, dict) or (last not in node and info is None):
        return False
    if info is None or not info.is_required():
        node.pop(last, None)
        return True
    if not _is_number(info.annotation):
        return False
    bounds = {
        k: getattr(m, k) for m in info.metadata for k in ("gt", "ge", "lt", "le") if hasattr(m, k)
    }
    lo = bounds.get("ge", bounds.get("gt", 0.0))
    hi = bounds.get("le", bounds.get("lt", lo + 2.0))
    node[last] = (lo + hi) / 2
    return True


def _merged_unions(errors: list[Any]) -> list[Any]:
    """One error per field of a union type (``maximize`` is a metric or 'net_value'):
    pydantic reports each member under a tag such as ``str-enum[Metric]``; their allowed
    values become one list."""
    out: list[Any] = []
    at: dict[tuple[Any, ...], Any] = {}
    for err in errors:
        loc = tuple(x for x in err["loc"] if not (isinstance(x, str) and "[" in x))
        if loc == tuple(err["loc"]) or err["type"] not in ("enum", "literal_error"):
            out.append({**err, "loc": loc})
            continue
        allowed = re.findall(r"'([^']*)'", str((err.get("ctx") or {}).get("expected", "")))
        if loc in at:
            at[loc]["_allowed"] += allowed
            continue
        merged = {**err, "loc": loc, "_allowed": allowed}
        at[loc] = merged
        out.append(merged)
    for merged in at.values():
        names = [f"'{a}'" for a in dict.fromkeys(merged.pop("_allowed"))]
        joined = ", ".join(names[:-1]) + f" or {names[-1]}" if len(names) > 1 else names[0]
        merged["ctx"] = {**(merged.get("ctx") or {}), "expected": joined}
    return out


def _table_hint(loc: tuple[int | str, ...]) -> str:
    """``[budget] total = ...``: how a table looks, from the fields of the model at loc."""
    fields = _known_fields((*loc, ""))
    name = ".".join(str(p) for p in loc if isinstance(p, str))
    return f"[{name}] with {', '.join(fields[:3])}{', ...' if len(fields) > 3 else ''}"


def _a(value: Any) -> str:
    kind = {bool: "true/false", int: "a number", float: "a number", str: "text", list: "a list"}
    return kind.get(type(value), f"a {type(value).__name__}")


def _once(problems: list[Problem]) -> list[Problem]:
    """A misspelt key is one mistake: ``cmp = 12`` is reported as an unknown field that
    means 'cpm', not also as 'cpm is required'."""
    meant = {
        ".".join(filter(None, (p.path.rpartition(".")[0], m.group(1))))
        for p in problems
        if (m := re.search(r"did you mean '([^']*)'", p.rule)) and "known field" in p.rule
    }
    return [p for p in problems if not (p.value is _MISSING and p.path in meant)]


def _is_number(annotation: Any) -> bool:
    return annotation in (float, int) or (
        getattr(annotation, "__args__", None) is not None
        and set(annotation.__args__) <= {float, int, type(None)}
        and bool(set(annotation.__args__) & {float, int})
    )


def _known_fields(loc: tuple[int | str, ...]) -> list[str]:
    """The field names of the model at a pydantic location (for did-you-mean)."""
    model = _model_at(loc)
    return list(model.model_fields) if model is not None else []


def _model_at(loc: tuple[int | str, ...]) -> type[BaseModel] | None:
    """The model holding the last field of a pydantic location."""
    model: type[BaseModel] | None = Scenario
    for item in loc[:-1]:
        if isinstance(item, int) or model is None:
            continue
        info = model.model_fields.get(item)
        if info is None:
            return None
        model = _submodel(info.annotation) or _list_item_model(info.annotation)
    return model


def _fmt(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def _path_of(loc: tuple[int | str, ...], raw: Any) -> str:
    """Render a pydantic location, naming list items by their id where they have one."""
    parts: list[str] = []
    node = raw
    for item in loc:
        if isinstance(item, int):
            ident = None
            if isinstance(node, list) and 0 <= item < len(node) and isinstance(node[item], Mapping):
                ident = node[item].get("id")
            if isinstance(ident, str) and parts and parts[-1] in ("tactics", "communities"):
                parts.append(ident)
            else:
                parts[-1:] = [f"{parts[-1]}[{item}]"] if parts else [f"[{item}]"]
            node = node[item] if isinstance(node, list) and 0 <= item < len(node) else None
        else:
            parts.append(str(item))
            node = node.get(item) if isinstance(node, Mapping) else None
    return ".".join(parts)


# -- paths for overrides --------------------------------------------------------------------


class _PathError(Exception):
    pass


_ID_LISTS = ("tactics", "communities")


def _split(path: str) -> list[str | int]:
    out: list[str | int] = []
    for part in path.split("."):
        while "[" in part and part.endswith("]"):
            head, _, rest = part.partition("[")
            if head:
                out.append(head)
            idx, _, part = rest.partition("]")
            if not idx.isdigit():
                raise _PathError(f"index [{idx}] must be a whole number")
            out.append(int(idx))
            part = part.lstrip(".")
            if not part:
                break
        if part:
            out.append(part)
    return out


def _set_path(data: dict[str, Any], path: str, value: Any) -> None:
    for table in ("sources", "uncertainty"):  # tables keyed by a field path: one entry
        if path.startswith(f"{table}."):
            data.setdefault(table, {})[path[len(table) + 1 :]] = value
            return
    parts = _split(path)
    node: Any = data
    model: type[BaseModel] | None = Scenario
    for n, part in enumerate(parts):
        last = n == len(parts) - 1
        if isinstance(node, list):
            idx = _list_index(node, part, parts[n - 1] if n else "")
            if last:
                raise _PathError("addresses a whole item; name one of its fields")
            node = node[idx]
            continue
        if not isinstance(node, dict) or not isinstance(part, str):
            raise _PathError("no such field" + _suggest_from(path, data))
        fields = model.model_fields if model is not None else {}
        if part not in fields:
            raise _PathError("no such field" + _suggest_from(path, data))
        if n == len(parts) - 2 and _is_map(fields[part].annotation):
            # A table keyed by metric (objective.weights.conversions, objective.values.followers):
            # the key is checked by validation like every value.
            if not isinstance(node.get(part), dict):
                node[part] = {}
            node[part][str(parts[-1])] = value
            return
        sub_model = _submodel_of(part, fields[part].annotation, node.get(part))
        if last:
            if sub_model is not None or _is_list_of_models(fields[part].annotation):
                raise _PathError("addresses a table; name one of its fields")
            node[part] = value
            return
        if part not in node or node[part] is None:
            if sub_model is None:
                raise _PathError("no such field" + _suggest_from(path, data))
            node[part] = {}
        node = node[part]
        model = sub_model if sub_model is not None else _list_item_model(fields[part].annotation)


def _list_index(node: list[Any], part: str | int, list_name: str | int) -> int:
    if isinstance(part, int):
        if not 0 <= part < len(node):
            raise _PathError(f"index {part} is out of range (0..{len(node) - 1})")
        return part
    for i, item in enumerate(node):
        if isinstance(item, dict) and item.get("id") == part:
            return i
    ids = [str(item.get("id")) for item in node if isinstance(item, dict)]
    hint = difflib.get_close_matches(part, ids, n=1)
    known = f"did you mean '{hint[0]}'?" if hint else f"known: {', '.join(ids) or 'none'}"
    raise _PathError(f"no {list_name} item with id '{part}' ({known})")


def _submodel(annotation: Any) -> type[BaseModel] | None:
    for cand in _flatten(annotation):
        if isinstance(cand, type) and issubclass(cand, BaseModel):
            return cand
    return None


def _submodel_of(name: str, annotation: Any, value: Any) -> type[BaseModel] | None:
    """The model of a field's table: a curve's by its kind (a union of tables)."""
    if name == "curve" and isinstance(value, Mapping):
        return CURVE_KINDS.get(value.get("kind", ""), ExponentialCurve)
    return _submodel(annotation)


def _is_map(annotation: Any) -> bool:
    """A field that is a dict (possibly optional): its keys are data, not fields."""
    return any(
        getattr(a, "__origin__", None) is dict
        for a in (annotation, *getattr(annotation, "__args__", ()))
    )


def _is_list_of_models(annotation: Any) -> bool:
    return _list_item_model(annotation) is not None


def _list_item_model(annotation: Any) -> type[BaseModel] | None:
    origin = getattr(annotation, "__origin__", None)
    if origin is list:
        (item,) = annotation.__args__
        if isinstance(item, type) and issubclass(item, BaseModel):
            return item
    return None


def _flatten(annotation: Any) -> list[Any]:
    args = getattr(annotation, "__args__", None)
    if getattr(annotation, "__origin__", None) is list or args is None:
        return [annotation]
    out: list[Any] = []
    for a in args:
        out.extend(_flatten(a))
    return out


def _leaf_paths(model: type[BaseModel], data: Mapping[str, Any], prefix: str) -> Iterator[str]:
    for name, info in model.model_fields.items():
        if name in ("sources", "uncertainty"):
            continue
        path = f"{prefix}{name}"
        value = data.get(name)
        sub = _submodel_of(name, info.annotation, value)
        item = _list_item_model(info.annotation)
        if item is not None:
            for i, entry in enumerate(value or []):
                key = entry.get("id") if name in _ID_LISTS else None
                yield from _leaf_paths(item, entry, f"{path}.{key}." if key else f"{path}[{i}].")
        elif sub is not None:
            yield from _leaf_paths(sub, value or {}, f"{path}.")
        else:
            yield path


#: Up to this many paths, a misspelt path is compared with all of them.
_COMPARE_ALL = 500


def _suggest(key: str, valid: set[str] | list[str]) -> str:
    if len(valid) > _COMPARE_ALL:
        # Comparing with every path of a 500-tactic scenario costs ~0.6 s a key (D12): a
        # slip is in one part of the path, so compare with the paths that share the rest
        # (the same parent or the same field name).
        parent, _, leaf = key.rpartition(".")
        valid = [v for v in valid if v.rpartition(".")[0] == parent or v.rpartition(".")[2] == leaf]
    hint = difflib.get_close_matches(key, sorted(valid), n=1, cutoff=0.6)
    return f" (did you mean '{hint[0]}'?)" if hint else ""


def _suggest_from(path: str, data: dict[str, Any]) -> str:
    return _suggest(path, list(_leaf_paths(Scenario, data, "")))


def example_text(kind: str) -> str:
    """The text of a shipped example scenario (``full`` or ``traffic``)."""
    from importlib.resources import files

    name = {"full": "disease_awareness.toml", "traffic": "traffic_only.toml"}[kind]
    packaged = files("funnelopt").joinpath("examples", name)
    if packaged.is_file():
        return packaged.read_text(encoding="utf-8")
    # A source checkout (editable install): the examples live beside the package.
    return (Path(__file__).resolve().parent.parent / "examples" / name).read_text(encoding="utf-8")
