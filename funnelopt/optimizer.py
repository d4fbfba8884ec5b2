"""``optimize``: the budget split that meets the goals at least cost, or achieves the most.

Composes one run (:mod:`funnelopt.solve`), the simulator's verification, the strategy
comparison, sensitivity and, when the hard goals cannot be met, the diagnosis.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from funnelopt import objective, plausibility
from funnelopt._version import __version__
from funnelopt.analysis.decision import decide
from funnelopt.analysis.diagnosis import diagnose
from funnelopt.analysis.polish import polish
from funnelopt.analysis.sensitivity import sensitivity
from funnelopt.analysis.uncertainty import forecast, held, requirements, tighten
from funnelopt.backends import Backend, get_backend
from funnelopt.errors import Problem, ScenarioError, SolverError
from funnelopt.formulation import Formulation, Options, build
from funnelopt.lp import RawSolution, Status
from funnelopt.metrics import GOODS, KEY_TOTALS, LOADS
from funnelopt.outcome import FloatArray, Outcome
from funnelopt.plan import Certificate, Confidence, Diagnosis, Plan, Strategy, Verification
from funnelopt.scenario import Scenario
from funnelopt.simulator import simulate
from funnelopt.solve import Solved, certified, relative_gap, solve

#: Goods may simulate below the prediction only by solver round-off.
VERIFY_TOL = 1e-6
#: Seconds in all when no time limit is given.
REFINE_SECONDS = 60.0
#: Seconds a plan gets at least after a launch search used up its share of the limit.
MIN_PLAN_SECONDS = 1.0
#: Launch periods tried at first for a community with start = "auto" (then its neighbours).
LAUNCH_TRIES = 26
#: Share of the time limit that solving may use (the rest is for simulation and analysis).
DEADLINE_SHARE = 0.9


#: Finer curves than this only cost time: segments grow as 1/sqrt(tolerance), and 1e-9
#: took minutes on a one-tactic scenario (adversarial D14) for no difference a plan shows.
MIN_TOLERANCE = 1e-4


def check_tolerance(tolerance: float) -> None:
    """Refuse a curve tolerance outside [MIN_TOLERANCE, 0.5), naming the field."""
    if not MIN_TOLERANCE <= tolerance < 0.5:
        raise ScenarioError(
            [Problem("tolerance", tolerance, f"must be in [{MIN_TOLERANCE:g}, 0.5), e.g. 0.005")]
        )


def optimize(
    scenario: Scenario,
    backend: str | Backend = "highs",
    tolerance: float = 0.005,
    *,
    strategies: bool = True,
    analysis: bool = True,
    time_limit: float | None = None,
    options: Options | None = None,
    gap: float | None = None,
    confidence: float | None = None,
    draws: int = 2_000,
    seed: int = 0,
) -> Plan:
    """Optimise a campaign's budget split.

    Parameters
    ----------
    scenario
        The campaign, its goals and objective.
    backend
        ``"highs"`` (default; warm starts, duals, ranging) or ``"pulp"`` (CBC; can write
        the model as .lp/.mps), or a backend object.
    tolerance
        Relative accuracy of the piecewise-linear curves (default 0.5%). The plan's
        simulated goods are never below what the optimiser promised, and breakpoints are
        added until the plan is proven within ``gap`` of the exact optimum.
    strategies
        With a community in ``auto`` mode, also solve with and without it.
    analysis
        Compute sensitivity (and the diagnosis when goals cannot be met).
    time_limit
        Seconds per solver run (None: no limit); refinement stops after this many
        seconds in all (default REFINE_SECONDS) and reports the gap it reached. The
        diagnosis of goals that cannot be met fits in the same time: what it could not
        compute in it, ``plan.diagnosis.not_computed`` names.
    options
        Formulation variants (advanced; sweeps use it to share one formulation).
    gap
        The optimality gap to certify (default: ``tolerance``); see ``plan.certificate``.
    confidence
        Plan so that every hard goal, and every capacity, holds with at least this
        probability under the scenario's ``[uncertainty]`` ranges (e.g. 0.9; default: plan
        the nominal values). ``draws`` draws (seed ``seed``) fit the plan; a fresh sample of
        10,000 measures ``plan.confidence`` (see docs/uncertainty.md).

    Examples
    --------
    >>> from funnelopt import Scenario, optimize
    >>> plan = optimize(Scenario.from_file("examples/traffic_only.toml"))
    >>> plan.status
    'optimal'
    >>> plan.verification.passed
    True
    """
    if confidence is not None:
        return _with_confidence(
            scenario,
            confidence,
            draws,
            seed,
            backend=backend,
            tolerance=tolerance,
            strategies=strategies,
            analysis=analysis,
            time_limit=time_limit,
            options=options,
            gap=gap,
        )
    check_tolerance(tolerance)
    if gap is not None and not 0 < gap < 1:
        raise ScenarioError([Problem("gap", gap, "must be in (0, 1), e.g. 0.005")])
    be = get_backend(backend) if isinstance(backend, str) else backend
    if any(c.start == "auto" and c.mode != "off" for c in scenario.communities):
        began = time.monotonic()
        # The search may take half the time limit; the plan gets what is left.
        search_end = began + 0.5 * (time_limit if time_limit else REFINE_SECONDS)
        launch = _launch(scenario, be, tolerance, options, time_limit, search_end)
        if time_limit:
            time_limit = max(MIN_PLAN_SECONDS, time_limit - (time.monotonic() - began))
        fixed = scenario.with_overrides(
            {f"communities.{cid}.start": k for cid, k in launch.items()}
        )
        plan = optimize(
            fixed,
            be,
            tolerance,
            strategies=strategies,
            analysis=analysis,
            time_limit=time_limit,
            options=options,
            gap=gap,
        )
        said = ", ".join(f"{cid} in {scenario.period_label} {k}" for cid, k in launch.items())
        return replace(plan, launch=launch, notes=(*plan.notes, f"launch chosen: {said}"))
    # Refinement stops a little early: simulation, polish and analysis follow it.
    deadline = time.monotonic() + DEADLINE_SHARE * (time_limit if time_limit else REFINE_SECONDS)
    try:
        run = certified(
            scenario,
            be,
            tolerance,
            options,
            gap=gap,
            time_limit=time_limit,
            ranging=analysis,
            deadline=deadline,
        )
    except SolverError:
        if time.monotonic() <= deadline:
            raise
        # The time ran out before any plan was found (an LP alone can take longer than a
        # short limit on large scenarios): no plan, said so, never an error.
        run = _no_plan_in_time(scenario, tolerance, options)
    target = tolerance if gap is None else gap
    common = dict(
        objective_name=objective.name(scenario),
        scenario_name=scenario.name,
        currency=scenario.currency,
        tactic_ids=tuple(scenario.tactic_ids),
        tolerance=tolerance,
        backend=be.name,
        version=__version__,
        scenario=scenario,
        warnings=tuple(plausibility.warnings(scenario)),
    )
    checked = _verified(scenario, run, be) if run.status is not Status.INFEASIBLE else None
    if checked is None:
        if run.status is not Status.INFEASIBLE:
            # Time ran out before the comment figures of the floored tactics were settled,
            # and the simulation refuses the unsettled plan: no plan was found in time.
            none = replace(run.primary, status=Status.INFEASIBLE)
            run = replace(run, primary=none, final=none, stopped="unsettled")
        diagnosis = None
        if analysis:
            # The diagnosis has what the solve left of its share of the time, and at least
            # the share kept for analysis: the whole call stays within about the limit.
            share = (1 - DEADLINE_SHARE) * (time_limit if time_limit else REFINE_SECONDS)
            diagnosis = diagnose(
                scenario,
                be,
                tolerance,
                time_limit=time_limit,
                deadline=max(deadline, time.monotonic() + share),
                proven=run.proven_infeasible,
            )
        return _infeasible(run, target, diagnosis, common)
    outcome, verification, predicted, notes = checked
    spend = run.spend
    # Spend that already happened (re-planning) is not moved between weeks.
    polished = None if scenario.periods_done else _polished(scenario, run, outcome)
    if polished is not None:
        spend, outcome, verification = polished
        notes = (
            *notes,
            "dark-post spend evened out over interchangeable weeks (checked by simulation)",
        )
    sens = (
        sensitivity(scenario, run, run.primary, run.ranges, outcome, spend, be)
        if analysis
        else None
    )
    strat = (
        _strategies(scenario, be, tolerance, run, outcome, time_limit, deadline)
        if strategies
        else ()
    )
    decision = decide(scenario, strat, be, tolerance, deadline) if strat and analysis else None
    minimize = objective.sense(scenario) == "min"
    value = objective.score(scenario, outcome)
    return Plan(
        decision=decision,
        status="optimal",
        objective=value,
        spend=spend,
        notes=notes,
        community=run.community,
        outcome=outcome,
        predicted=predicted,
        predicted_objective=-run.primary.objective if minimize else run.primary.objective,
        verification=verification,
        strategies=strat,
        sensitivity=sens,
        diagnosis=None,
        penalty=objective.soft_penalty(scenario, outcome),
        solve_seconds=run.solve_seconds,
        certificate=_certificate(scenario, run, value, target),
        **common,  # type: ignore[arg-type]
    )


def _launch(
    s: Scenario,
    be: Backend,
    tolerance: float,
    options: Options | None,
    time_limit: float | None,
    deadline: float,
) -> dict[str, int]:
    """The launch period of each community with ``start = "auto"``: every period tried
    (the plan's own model, one solve each; on campaigns longer than LAUNCH_TRIES periods,
    every step-th and then the neighbours of the best), the best objective kept - exact up
    to the curves' tolerance on up to LAUNCH_TRIES periods. Several such communities are
    settled one after the other."""
    auto = [c.id for c in s.communities if c.start == "auto" and c.mode != "off"]
    chosen = dict.fromkeys(auto, 1)
    for cid in auto:
        chosen[cid] = _best_launch(s, chosen, cid, be, tolerance, options, time_limit, deadline)
    return chosen


def _best_launch(
    s: Scenario,
    chosen: dict[str, int],
    cid: str,
    be: Backend,
    tolerance: float,
    options: Options | None,
    time_limit: float | None,
    deadline: float,
) -> int:
    """The best launch of community ``cid``, the others launched as ``chosen``: up to
    LAUNCH_TRIES periods first (every one on a campaign of 26), then every period around
    the best of them - long campaigns would otherwise cost a solve per period."""
    scores: dict[int, float] = {}

    def score(k: int) -> float:
        if k not in scores and time.monotonic() > deadline and scores:
            return -math.inf  # out of time: the best tried so far stands
        if k not in scores:
            starts = {**chosen, cid: k}
            trial = s.with_overrides({f"communities.{c}.start": v for c, v in starts.items()})
            run = solve(trial, be, tolerance, options, cheapest=False, time_limit=time_limit)
            ok = run.status is Status.OPTIMAL
            scores[k] = run.primary.objective if ok else -math.inf
        return scores[k]

    c = next(c for c in s.communities if c.id == cid)
    last = c.end if c.end is not None else s.periods  # a launch after its end is no launch
    step = max(1, math.ceil(last / LAUNCH_TRIES))
    best = max(range(1, last + 1, step), key=score)
    if step > 1:
        best = max(range(max(1, best - step + 1), min(last, best + step - 1) + 1), key=score)
    return best


def _no_plan_in_time(s: Scenario, tolerance: float, options: Options | None) -> Solved:
    """The verdict of a run the time limit stopped before it found any plan: unproven."""
    form = build(s, tolerance, options)
    none = RawSolution(Status.INFEASIBLE, np.zeros(form.lp.n_cols), float("nan"))
    return Solved(form, none, none, 0.0, stopped="time")


def _infeasible(
    run: Solved, target: float, diagnosis: Diagnosis | None, common: dict[str, Any]
) -> Plan:
    """The plan of a scenario whose hard goals cannot be met: its diagnosis and verdict."""
    certificate = Certificate(
        None,
        None,
        target,
        run.refinements,
        proven=run.proven_infeasible,
        # A proven verdict did not stop anywhere: refinement has nothing to say about it.
        stopped=None if run.proven_infeasible else run.stopped,
        feasible=False,
    )
    return Plan(
        status="infeasible",
        objective=None,
        spend=None,
        community={},
        outcome=None,
        predicted={},
        predicted_objective=None,
        verification=None,
        strategies=(),
        sensitivity=None,
        diagnosis=diagnosis,
        solve_seconds=run.solve_seconds,
        certificate=certificate,
        **common,
    )


def _verified(
    s: Scenario, run: Solved, be: Backend
) -> tuple[Outcome, Verification, dict[str, float], tuple[str, ...]] | None:
    """The run's plan simulated and checked; raises SolverError when the check fails.

    None for a plan whose comment figures the time limit left unsettled and that the
    simulation refuses: it is no plan, and no error of the solver's either.
    """
    outcome, verification, predicted = verify(s, run.form, run.final.x)
    if not verification.passed and not run.settled:
        hard_met = all(r.met for g, r in zip(s.goals, outcome.goals, strict=True) if g.hard)
        if not hard_met or outcome.violations:
            return None
        # The fill-order safeguard ran out of time; the simulation is the truth, and it
        # accepts the plan (its certificate is measured on the simulation too).
        note = (
            "time limit: the optimiser's comment figures were not settled for every week; "
            "the simulated plan meets every limit and hard goal"
        )
        return outcome, verification, predicted, (note,)
    if not verification.passed:
        raise SolverError(
            "the solver's plan failed the simulator's check ("
            + "; ".join(verification.violations or ("a prediction the simulation does not meet",))
            + f"); try backend='{'pulp' if be.name == 'highs' else 'highs'}' or a smaller tolerance"
        )
    return outcome, verification, predicted, ()


def _polished(
    s: Scenario, run: Solved, outcome: Outcome
) -> tuple[FloatArray, Outcome, Verification] | None:
    """The plan with dark-post spend evened out, if that still delivers every figure the
    optimiser promised (checked by simulation); else None."""
    polished = polish(s, run.spend, run.community, outcome)
    if polished is None:
        return None
    smooth, better = polished
    checked, verification, _ = verify(s, run.form, run.final.x, better)
    return (smooth, checked, verification) if verification.passed else None


def _certificate(s: Scenario, run: Solved, value: float, target: float) -> Certificate:
    """The proven gap, measured against the simulated plan (at least as good as predicted)."""
    if run.bound is None:
        return Certificate(None, None, target, run.refinements, False, run.stopped)
    minimize = objective.sense(s) == "min"
    bound = -run.bound if minimize else run.bound
    achieved = relative_gap(run.bound, -value if minimize else value)
    return Certificate(bound, achieved, target, run.refinements, True, run.stopped)


def verify(
    s: Scenario, form: Formulation, x: FloatArray, outcome: Outcome | None = None
) -> tuple[Outcome, Verification, dict[str, float]]:
    """Simulate the solution ``x`` and compare it with the optimiser's own figures.

    ``outcome``: the simulation of a plan derived from ``x`` (the polished one) to check
    against the same figures instead.
    """
    if outcome is None:
        outcome = simulate(s, form.spend(x), form.community(x))
    pred = form.predicted(x)
    predicted = {
        k: float(v.sum()) for k, v in pred.items() if k not in ("followers", "reach", "reach_share")
    }
    if "followers" in pred:
        predicted["followers"] = float(pred["followers"][-1])
    compared: dict[str, tuple[float, float]] = {}
    goods_ok = loads_ok = True
    max_gap = 0.0
    for name in GOODS + LOADS:
        if name == "reach":
            continue
        p = float(pred[name].sum()) if name != "followers" else float(pred[name][-1])
        v = outcome.totals[name]
        compared[name] = (p, v)
        max_gap = max(max_gap, abs(v - p) / max(abs(p), abs(v), 1.0))
        if name in GOODS and v < p * (1 - VERIFY_TOL) - VERIFY_TOL:
            goods_ok = False
        if name in LOADS and v > p * (1 + VERIFY_TOL) + VERIFY_TOL:
            loads_ok = False
    for t, p in sorted(form.reach_ceiling(x).items()) if form.reach_col else ():
        v = float(outcome.per_period["reach"][t - 1])
        compared[f"reach@{t}"] = (p, v)
        max_gap = max(max_gap, abs(v - p) / max(abs(p), abs(v), 1.0))
        if v < p * (1 - VERIFY_TOL) - VERIFY_TOL:
            goods_ok = False
    for i, g in enumerate(s.goals):
        p = form.goal_value(i, x)
        v = outcome.goals[i].achieved
        if v < p * (1 - VERIFY_TOL) - VERIFY_TOL:
            goods_ok = False
        if g.hard and not outcome.goals[i].met:
            goods_ok = False
    violations = tuple(outcome.violations)
    return outcome, Verification(max_gap, goods_ok, loads_ok, violations, compared), predicted


def _strategies(
    s: Scenario,
    be: Backend,
    tolerance: float,
    run: Solved,
    outcome: Outcome,
    time_limit: float | None,
    deadline: float | None = None,
) -> tuple[Strategy, ...]:
    """The best plan with and without the (auto) communities, side by side."""
    auto = [c.id for c in s.communities if c.mode == "auto"]
    if not auto:
        return ()
    out = []
    for on, name in ((True, "with community"), (False, "without community")):
        choice = {**{c.id: c.mode == "on" for c in s.communities}, **dict.fromkeys(auto, on)}
        if all(run.community.get(k) == v for k, v in choice.items()):
            res_outcome, chosen = outcome, True
        else:
            # The choices were solved already when they were LPs (only the auto
            # communities are set in their options); otherwise solve it now.
            r = next(
                (
                    a
                    for a in run.alternatives
                    if all((a.form.options.community or {}).get(k) == on for k in auto)
                ),
                None,
            ) or solve(
                s,
                be,
                tolerance,
                Options(community=choice),
                time_limit=time_limit,
                deadline=deadline,
            )
            chosen = False
            if r.status is not Status.OPTIMAL:
                out.append(Strategy(name, choice, "infeasible", None, {}, False))
                continue
            res_outcome = simulate(s, r.spend, r.community)
        totals = {k: res_outcome.totals[k] for k in KEY_TOTALS}
        out.append(
            Strategy(name, choice, "optimal", objective.score(s, res_outcome), totals, chosen)
        )
    return tuple(out)


# -- plans with a confidence ------------------------------------------------------------------

#: Draws of the validation sample that measures ``plan.confidence`` (issue 12: >= 10,000).
VALIDATION_DRAWS = 10_000
#: Tightening rounds at most (each a nominal optimisation and a forecast).
CONFIDENCE_ROUNDS = 8
#: Seed offset of the validation sample: never the draws the plan was fitted on.
_VALIDATION_SEED = 1_000_003


def _with_confidence(s: Scenario, confidence: float, draws: int, seed: int, **kwargs: Any) -> Plan:
    """A plan whose hard goals and capacities each hold with probability >= confidence.

    Quantile tightening on a sample (a sample approximation of the chance constraints):
    optimise the nominal model with each hard goal's target raised, and each capacity
    lowered, by the margin the draws show the plan needs (:func:`tighten`); forecast the
    plan on ``draws`` draws; re-tighten until every requirement holds in that sample with
    the confidence plus two standard errors (the approximation's risk); then measure the
    probabilities on a fresh validation sample, and aim higher if one falls short. When
    the confidence cannot be reached, the highest one that can is found by bisection
    (four steps) and its plan returned, with the budget the asked one would need.
    """
    if isinstance(confidence, bool) or not 0 < confidence < 1:
        raise ScenarioError([Problem("confidence", confidence, "must be in (0, 1), e.g. 0.9")])
    if isinstance(draws, bool) or not isinstance(draws, int) or not 100 <= draws <= 100_000:
        raise ScenarioError([Problem("draws", draws, "must be a whole number in 100..100,000")])
    fit = _fit(s, confidence, draws, seed, kwargs)
    if fit.plan is None:  # not even the nominal plan: the goals cannot be met at all
        return fit.infeasible if fit.infeasible is not None else optimize(s, **kwargs)
    asked = fit
    if not fit.met:
        lo, hi = min(fit.probs.values(), default=0.0), confidence
        for _ in range(4):
            mid = (lo + hi) / 2
            trial = _fit(s, mid, draws, seed, kwargs)
            if trial.met:
                fit, lo = trial, max(mid, min(trial.probs.values(), default=mid))
            else:
                hi = mid
    assert fit.plan is not None
    n = VALIDATION_DRAWS
    probs = fit.probs
    met = all(p >= confidence for p in probs.values())
    report = Confidence(
        asked=confidence,
        probabilities=probs,
        standard_errors={k: (p * (1 - p) / n) ** 0.5 for k, p in probs.items()},
        met=met,
        tightened=dict(fit.used),
        optimisation_draws=draws,
        validation_draws=n,
        seed=seed,
        rounds=fit.rounds,
        reachable=None if met else min(probs.values(), default=None),
        required_budget=(
            asked.infeasible.diagnosis.required_budget
            if not met and asked.infeasible is not None and asked.infeasible.diagnosis
            else None
        ),
    )
    # Reported against the scenario as given: its goals, its capacities.
    plan = fit.plan
    assert plan.spend is not None  # an optimal plan has one
    outcome = simulate(s, plan.spend, plan.community)
    return replace(
        plan,
        outcome=outcome,
        objective=objective.score(s, outcome),
        penalty=objective.soft_penalty(s, outcome),
        scenario=s,
        confidence=report,
        notes=(
            *plan.notes,
            "planned with a confidence: optimised for tightened targets and capacities ("
            + ", ".join(f"{k} {v:,.6g}" for k, v in fit.used.items())
            + "); the certificate is that plan's",
        ),
    )


@dataclass
class _Fit:
    """One tightening run: the best plan found, its validation probabilities, the values
    it was optimised for, whether it met the confidence, and the last infeasible plan."""

    plan: Plan | None = None
    probs: dict[str, float] = field(default_factory=dict)
    used: dict[str, float] = field(default_factory=dict)
    met: bool = False
    rounds: int = 0
    infeasible: Plan | None = None


def _fit(s: Scenario, confidence: float, draws: int, seed: int, kwargs: dict[str, Any]) -> _Fit:
    reqs = requirements(s)
    out = _Fit()
    aim = min(confidence + 2 * (confidence * (1 - confidence) / draws) ** 0.5, 1 - 1 / draws)
    current = {r.path: r.nominal for r in reqs}
    for out.rounds in range(1, CONFIDENCE_ROUNDS + 1):
        try:
            tightened = s.with_overrides(current) if current else s
        except ScenarioError:  # e.g. a reach_share target over 1: no plan is that sure
            break
        plan = optimize(tightened, **kwargs)
        if not plan.optimal:
            out.infeasible = plan
            break
        sample = forecast(s, plan, draws, seed)
        in_sample = min((held(sample, r) for r in reqs), default=1.0)
        if out.plan is None or in_sample >= aim or in_sample > min(out.probs.values(), default=1):
            check = forecast(s, plan, VALIDATION_DRAWS, seed + _VALIDATION_SEED)
            probs = {r.label: held(check, r) for r in reqs}
            if out.plan is None or min(probs.values(), default=1) >= min(
                out.probs.values(), default=1
            ):
                out.plan, out.probs, out.used = plan, probs, dict(current)
            if in_sample >= aim:
                if all(p >= confidence for p in probs.values()):
                    out.plan, out.probs, out.used, out.met = plan, probs, dict(current), True
                    break
                aim = min(aim + confidence - min(probs.values()), 1 - 1 / draws)
        current = {r.path: tighten(sample, r, aim) for r in reqs}
    return out
