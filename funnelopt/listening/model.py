"""Did mentions rise after the launch? A counterfactual from the weeks before it.

The baseline is a negative-binomial regression (NB2, statsmodels' maximum likelihood)
of the counts before the launch on a log-linear trend, yearly Fourier terms (when the
pre-period covers a year), weekday effects for daily data, and a level shift in the
pre-period where one clearly fits. Carried past the launch it is what the counts would
have been without it; draws of the coefficients (from their estimated covariance) and
of negative-binomial noise give the counterfactual's spread, and so the interval of the
lift. ``docs/listening.md`` gives the reasons and the limits.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np

from funnelopt._version import __version__
from funnelopt.errors import FunnelOptError, Problem
from funnelopt.listening.exports import ListeningError, Mentions

#: The fewest pre-launch periods for any baseline, and per fitted coefficient.
MIN_PRE, PER_COEFFICIENT = 12, 3
#: A pre-period level shift is kept when it improves twice the log-likelihood by more than
#: 2 ln(n) + 10: BIC counting the searched-for date as a parameter besides the size, plus
#: 10 ("very strong" evidence, Kass & Raftery 1995). A laxer rule (2 ln n) found shifts in
#: 10-20% of simulated series without one and cost the interval its coverage; this one in
#: under 1%, while still catching a clear, lasting shift.
SHIFT_EVIDENCE = 10.0
DAYS_PER_YEAR = 365.25


def _negative_binomial() -> Any:
    try:
        from statsmodels.discrete.discrete_model import NegativeBinomial
    except ImportError:
        raise FunnelOptError(
            "the listening lift needs statsmodels: pip install 'funnelopt[listening]' "
            "(or pip install statsmodels)"
        ) from None
    return NegativeBinomial


@dataclass(frozen=True)
class Lift:
    """The launch's lift on mentions over the post-period, against the counterfactual.

    ``lift_pct`` is the relative lift in percent (observed / expected - 1), ``interval``
    its ``level`` interval ``(low, high)`` in percent, ``p_positive`` the probability that
    the counts exceed the counterfactual, ``absolute`` the extra mentions. Per period
    (``periods``): ``observed``, ``expected`` (the baseline's mean; in-sample fit before
    the launch, counterfactual after) and ``low``/``high`` (the band of the counts).
    """

    lift_pct: float
    interval: tuple[float, float]
    p_positive: float
    absolute: float
    absolute_interval: tuple[float, float]
    observed_total: int
    expected_total: float
    level: float
    verdict: str
    start: str
    step: str
    periods: tuple[str, ...]
    observed: np.ndarray
    expected: np.ndarray
    low: np.ndarray
    high: np.ndarray
    pre_periods: int
    post_periods: int
    model: str
    terms: tuple[str, ...]
    dispersion: float
    level_shift: str | None
    notes: tuple[str, ...]
    seed: int
    draws: int
    source: str
    version: str = __version__

    def __post_init__(self) -> None:
        for a in (self.observed, self.expected, self.low, self.high):
            a.setflags(write=False)

    @property
    def detected(self) -> bool:
        """The interval lies wholly above or below zero."""
        return self.interval[0] > 0 or self.interval[1] < 0

    def to_dict(self) -> dict[str, Any]:
        """Plain data (JSON-ready): the estimate, the model and every period."""
        post = self.pre_periods
        return {
            "lift_pct": self.lift_pct,
            "interval": list(self.interval),
            "p_positive": self.p_positive,
            "absolute": self.absolute,
            "absolute_interval": list(self.absolute_interval),
            "observed_total": self.observed_total,
            "expected_total": self.expected_total,
            "level": self.level,
            "verdict": self.verdict,
            "start": self.start,
            "step": self.step,
            "pre_periods": self.pre_periods,
            "post_periods": self.post_periods,
            "model": {
                "description": self.model,
                "terms": list(self.terms),
                "dispersion": self.dispersion,
                "level_shift": self.level_shift,
            },
            "notes": list(self.notes),
            "seed": self.seed,
            "draws": self.draws,
            "source": self.source,
            "version": self.version,
            "per_period": [
                {
                    "period": p,
                    "after_launch": i >= post,
                    "observed": int(self.observed[i]),
                    "expected": float(self.expected[i]),
                    "low": float(self.low[i]),
                    "high": float(self.high[i]),
                }
                for i, p in enumerate(self.periods)
            ],
        }

    def __str__(self) -> str:
        lo, hi = self.interval
        return (
            f"Lift since {self.start} ({self.post_periods} {self.step}s): {self.lift_pct:+.1f}% "
            f"({self.level:.0%} interval {lo:+.1f}% to {hi:+.1f}%), "
            f"{self.absolute:+,.0f} mentions; P(lift > 0) = {self.p_positive:.1%}\n{self.verdict}"
        )


@dataclass(frozen=True)
class _Design:
    X: np.ndarray
    terms: tuple[str, ...]
    seasonal: bool


def _periods_per_year(m: Mentions, season: float | None) -> float | None:
    if m.step == "day":
        return DAYS_PER_YEAR
    if m.step == "week":
        return DAYS_PER_YEAR / 7
    return season


def _design(
    m: Mentions, n_pre: int, seasonal: bool, harmonics: int, season: float | None
) -> _Design:
    """Intercept, trend (per year, or per pre-period for numbered periods), Fourier terms,
    weekday dummies for daily data."""
    n = len(m)
    dates = m.dates
    if dates is not None:
        # Calendar time: the seasonal phase is the day of the year whatever the series' start.
        days = np.array([d.toordinal() for d in dates], dtype=float)
        t = (days - days[:n_pre].mean()) / DAYS_PER_YEAR
        phase = days / DAYS_PER_YEAR
    else:
        steps = np.arange(n, dtype=float)
        t = (steps - steps[:n_pre].mean()) / n_pre
        phase = steps / season if season else steps
    cols = [np.ones(n), t]
    terms = ["intercept", "trend"]
    if seasonal:
        for k in range(1, harmonics + 1):
            cols += [np.sin(2 * np.pi * k * phase), np.cos(2 * np.pi * k * phase)]
            terms += [f"sin{k}", f"cos{k}"]
    if m.step == "day" and dates is not None:
        weekday = np.array([d.weekday() for d in dates])
        names = ("Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
        for w, name in enumerate(names, start=1):
            cols.append((weekday == w).astype(float))
            terms.append(name)
    return _Design(np.column_stack(cols), tuple(terms), seasonal)


def _fit(y: np.ndarray, X: np.ndarray) -> tuple[np.ndarray, np.ndarray, float, float] | None:
    """(coefficients, their covariance, dispersion alpha, log-likelihood) or None when the
    fit fails. Newton's method first (fast), then L-BFGS; counts without over-dispersion
    (alpha at its bound 0, where the NB fit can fail) get the Poisson model, its limit."""
    NegativeBinomial = _negative_binomial()
    from statsmodels.discrete.discrete_model import Poisson

    k = X.shape[1]
    for method in ("newton", "lbfgs"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # convergence is checked below, not warned about
            try:
                res = NegativeBinomial(y, X, loglike_method="nb2").fit(
                    disp=0, method=method, maxiter=200
                )
                params, cov = np.asarray(res.params), np.asarray(res.cov_params())
            except Exception:  # statsmodels fails in many ways near alpha = 0
                continue
        if (
            res.mle_retvals.get("converged")
            and np.all(np.isfinite(params))
            and np.all(np.isfinite(cov))
        ):
            return params[:k], cov[:k, :k], max(float(params[k]), 0.0), float(res.llf)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            res = Poisson(y, X).fit(disp=0, method="newton", maxiter=100)
            params, cov = np.asarray(res.params), np.asarray(res.cov_params())
        except Exception:
            return None
    mu = np.exp(X @ params)
    pearson = float(np.sum((y - mu) ** 2 / mu) / max(len(y) - k, 1))
    if pearson > 1.5 or not (np.all(np.isfinite(params)) and np.all(np.isfinite(cov))):
        return None  # over-dispersed after all: Poisson intervals would be too narrow
    return params, cov, 0.0, float(res.llf)


def _level_shift_candidate(y: np.ndarray, X: np.ndarray, margin: int) -> int | None:
    """The position of the most likely level shift (least squares on log counts, every
    position at least ``margin`` from either end), or None when there is no room."""
    n = len(y)
    taus = np.arange(margin, n - margin + 1)
    if len(taus) == 0:
        return None
    z = np.log1p(y.astype(float))
    steps = (np.arange(n)[:, None] >= taus[None, :]).astype(float)
    # Residuals after the other terms; the best shift explains most of what is left.
    pinv = np.linalg.pinv(X)
    rz = z - X @ (pinv @ z)
    rs = steps - X @ (pinv @ steps)
    denom = np.einsum("ij,ij->j", rs, rs)
    gain = np.where(denom > 1e-12, (rs.T @ rz) ** 2 / np.maximum(denom, 1e-12), 0.0)
    return int(taus[int(np.argmax(gain))])


def _too_short(m: Mentions, n_pre: int, need: int, need_seasonal: int | None) -> ListeningError:
    unit = m.step
    also = f" ({need_seasonal} to also learn the yearly season)" if need_seasonal else ""
    return ListeningError(
        [
            Problem(
                "start",
                m.labels[n_pre],
                f"leaves {n_pre} {unit}s before the launch: the baseline needs at least "
                f"{need} {unit}s{also}",
            )
        ]
    )


def _verdict(lift_pct: float, lo: float, hi: float, level: float) -> str:
    span = f"{level:.0%} interval {lo:+.1f}% to {hi:+.1f}%"
    if lo > 0:
        return f"more mentions than expected: {lift_pct:+.1f}% ({span})"
    if hi < 0:
        return f"fewer mentions than expected: {lift_pct:+.1f}% ({span})"
    return f"no detectable change: {lift_pct:+.1f}% ({span}, which includes zero)"


def _check_options(level: float, draws: int, harmonics: int, season: float | None) -> None:
    problems = []
    if not 0.5 <= level < 1:
        problems.append(Problem("level", level, "must be in [0.5, 1), e.g. 0.9"))
    if not 100 <= draws <= 1_000_000:
        problems.append(Problem("draws", draws, "must be in [100, 1000000]"))
    if not 1 <= harmonics <= 6:
        problems.append(Problem("harmonics", harmonics, "must be in 1..6"))
    if season is not None and not season >= 2:
        problems.append(Problem("season", season, "must be >= 2 periods"))
    if problems:
        raise ListeningError(problems)


def _choose_design(
    series: Mentions,
    n_pre: int,
    seasonality: bool | None,
    harmonics: int,
    season: float | None,
    notes: list[str],
) -> _Design:
    """The terms the pre-period can carry: an error when it cannot carry a trend (or the
    season asked for), a note when the season is left out for want of a year."""
    base = _design(series, n_pre, False, harmonics, season)
    need = max(MIN_PRE, PER_COEFFICIENT * base.X.shape[1])
    per_year = _periods_per_year(series, season)
    if per_year is None:
        if seasonality:
            raise ListeningError(
                [Problem("seasonality", True, "numbered periods need season= (periods per year)")]
            )
        if n_pre < need:
            raise _too_short(series, n_pre, need, None)
        return base
    full = _design(series, n_pre, True, harmonics, season)
    need_seasonal = max(math.ceil(per_year), PER_COEFFICIENT * full.X.shape[1])
    if n_pre < need:
        raise _too_short(series, n_pre, need, need_seasonal)
    if n_pre >= need_seasonal:
        return base if seasonality is False else full
    if seasonality:
        raise _too_short(series, n_pre, need_seasonal, None)
    if seasonality is None:
        notes.append(
            f"yearly seasonality is not modelled: {n_pre} {series.step}s before the launch, it "
            f"needs {need_seasonal}; a seasonal rise after the launch would read as lift"
        )
    return base


def _baseline(
    series: Mentions, n_pre: int, design: _Design, level_shift: bool, notes: list[str]
) -> tuple[tuple[np.ndarray, np.ndarray, float, float], np.ndarray, tuple[str, ...], str | None]:
    """The fitted pre-period model, its design over all periods, its terms and the start
    of a level shift it carries (None without one)."""
    y, X = series.total[:n_pre], design.X
    fitted = _fit(y, X[:n_pre])
    if fitted is None:
        rule = "did not converge on the pre-period; try weekly counts (weekly=True)"
        raise ListeningError([Problem("model", "negative binomial", rule)])
    if not level_shift:
        return fitted, X, design.terms, None
    tau = _level_shift_candidate(y, X[:n_pre], margin=max(4, n_pre // 8))
    if tau is None:
        return fitted, X, design.terms, None
    X2 = np.column_stack([X, (np.arange(len(series)) >= tau).astype(float)])
    shifted = _fit(y, X2[:n_pre])
    if shifted is None or 2 * (shifted[3] - fitted[3]) <= 2 * math.log(n_pre) + SHIFT_EVIDENCE:
        return fitted, X, design.terms, None
    label = series.labels[tau]
    size = math.expm1(shifted[0][-1]) * 100
    notes.append(f"a lasting level shift of {size:+.0f}% from {label} is carried forward")
    return shifted, X2, (*design.terms, "level_shift"), label


def lift(
    series: Mentions,
    start: date | str | int,
    *,
    level: float = 0.9,
    seasonality: bool | None = None,
    harmonics: int = 2,
    season: float | None = None,
    level_shift: bool = True,
    draws: int = 2000,
    seed: int = 0,
) -> Lift:
    """The lift in mentions since ``start`` against a counterfactual fitted before it.

    Parameters
    ----------
    series
        Mention counts (:func:`read_mentions` or :meth:`Mentions.from_counts`).
    start
        The launch: a date (``"2027-03-01"``) or, for numbered periods, a period number.
        The period that holds it is the first after the launch.
    level
        Of the interval (0.9: a 90% interval).
    seasonality
        Yearly Fourier terms: None (default) fits them when the pre-period covers a year.
    harmonics
        Fourier pairs of the yearly season.
    season
        For numbered periods: periods per season (e.g. 52 for weeks); none by default.
    level_shift
        Search the pre-period for one lasting shift in level (a news event, a new data
        source) and carry it forward when the evidence is strong.
    draws
        Simulated counterfactuals; ``seed`` makes them repeatable.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(1)
    >>> counts = rng.poisson(100, 80) * np.r_[np.ones(60), np.full(20, 1.3)]
    >>> est = lift(Mentions.from_counts(counts.round(), "2026-01-05"), "2027-03-01")
    >>> est.detected, round(est.lift_pct / 10)
    (True, 3)
    """
    _check_options(level, draws, harmonics, season)
    n_pre = series.index(start)
    y = series.total
    if int(y[:n_pre].sum()) == 0:
        raise ListeningError(
            [Problem("mentions", 0, "none before the launch: there is no baseline to compare with")]
        )
    notes: list[str] = list(series.notes)
    design = _choose_design(series, n_pre, seasonality, harmonics, season, notes)
    (beta, cov, alpha, _), X, terms, shift_label = _baseline(
        series, n_pre, design, level_shift, notes
    )
    n_post = len(y) - n_pre
    if n_post > n_pre:
        notes.append(
            f"the post-period ({n_post} {series.step}s) is longer than the pre-period ({n_pre}): "
            "the trend is extrapolated far; read the interval's width with care"
        )

    # The counterfactual's spread: coefficient draws, then negative-binomial noise on each.
    rng = np.random.default_rng(seed)
    coefs = rng.multivariate_normal(beta, cov, size=draws)
    mu = np.exp(np.minimum(X @ coefs.T, 50.0))  # periods x draws
    if alpha > 1e-8:
        r = 1.0 / alpha
        sims = rng.negative_binomial(r, r / (r + mu))
    else:  # no over-dispersion left: Poisson noise
        sims = rng.poisson(mu)
    expected = np.exp(np.minimum(X @ beta, 50.0))
    tail = (1 - level) / 2
    band = np.quantile(sims, [tail, 1 - tail], axis=1)

    observed_total = int(y[n_pre:].sum())
    cf_total = sims[n_pre:].sum(axis=0)
    expected_total = float(expected[n_pre:].sum())
    # A counterfactual of no mentions at all (tiny counts) is read as one, not a division by 0.
    draws_pct = (observed_total / np.maximum(cf_total, 1) - 1) * 100
    lo, hi = (float(v) for v in np.quantile(draws_pct, [tail, 1 - tail]))
    lift_pct = (observed_total / expected_total - 1) * 100
    ab_lo, ab_hi = (float(observed_total - v) for v in np.quantile(cf_total, [1 - tail, tail]))
    p_positive = float(
        np.mean(cf_total < observed_total) + 0.5 * np.mean(cf_total == observed_total)
    )

    parts = ["log-linear trend"]
    if design.seasonal:
        parts.append(f"yearly seasonality ({harmonics} Fourier pairs)")
    if series.step == "day":
        parts.append("weekday effects")
    if shift_label:
        parts.append(f"a level shift from {shift_label}")
    model = f"negative binomial (NB2) with {', '.join(parts)}; fitted on {n_pre} {series.step}s before the launch"
    return Lift(
        lift_pct=lift_pct,
        interval=(lo, hi),
        p_positive=p_positive,
        absolute=observed_total - expected_total,
        absolute_interval=(ab_lo, ab_hi),
        observed_total=observed_total,
        expected_total=expected_total,
        level=level,
        verdict=_verdict(lift_pct, lo, hi, level),
        start=series.labels[n_pre],
        step=series.step,
        periods=series.labels,
        observed=np.asarray(y, dtype=np.int64).copy(),
        expected=expected,
        low=np.asarray(band[0], dtype=float),
        high=np.asarray(band[1], dtype=float),
        pre_periods=n_pre,
        post_periods=n_post,
        model=model,
        terms=terms,
        dispersion=alpha,
        level_shift=shift_label,
        notes=tuple(notes),
        seed=seed,
        draws=draws,
        source=series.source,
    )
