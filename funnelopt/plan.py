"""The Plan: what :func:`funnelopt.optimize` returns - spend, simulated outcome, certificate.

Everything reported comes from the exact simulator; the optimiser's own figures are kept
beside them (``predicted``) with the largest gap between the two (``verification``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from funnelopt import objective
from funnelopt._json import dumps
from funnelopt.errors import Problem
from funnelopt.metrics import METRICS
from funnelopt.outcome import FloatArray, Outcome, _num, freeze

if TYPE_CHECKING:
    import pandas as pd

    from funnelopt.report.calendar import Month
    from funnelopt.scenario import Scenario

SCHEMA_VERSION = 1


@dataclass(frozen=True)
class Certificate:
    """A proven bound on how far a plan can be from the exact model's optimum.

    ``bound``: no plan of the exact model achieves a better objective (the optimum of an
    optimistic relaxation, in the objective's units; for an infeasible plan None).
    ``gap``: the plan's simulated objective is at most this far (relative) from it.
    ``target``: the gap asked for; ``rounds``: refinement rounds used; ``stopped``: why
    refinement ended (``met``, ``time``, ``rounds``, ``stalled``, ``solver``). For an
    infeasible plan ``proven`` says whether the relaxation is infeasible too (then no
    plan of the exact model meets the hard goals) or only the conservative model is. A
    feasible plan without a bound (``gap`` None) ran out of time before the relaxation
    was solved.
    """

    bound: float | None
    gap: float | None
    target: float
    rounds: int
    proven: bool = True
    #: Why refinement ended (``met``, ``time``, ...; see :data:`_STOPPED`); None for a
    #: proven verdict, which refinement plays no part in.
    stopped: str | None = "met"
    #: Whether the plan is feasible (its bound may still be missing).
    feasible: bool = True

    @property
    def met(self) -> bool:
        """True when the certified gap is within the target."""
        return self.gap is not None and self.gap <= self.target * (1 + 1e-9)

    def describe(self) -> str:
        """The certificate in plain words."""
        if self.gap is not None:
            words = f"at most {self.gap:.2%} from the best possible plan (proven bound)"
            if not self.met:
                words += f"; the {self.target:.2%} asked for was not reached: " + _STOPPED.get(
                    self.stopped or "", "refinement ended"
                ).format(rounds=self.rounds)
            return words
        if self.feasible:
            return (
                "not certified: the time limit passed before the optimistic bound was solved "
                "(the plan itself is checked by simulation); allow more time"
            )
        if self.proven:
            return "proven: no plan meets every hard goal within the limits"
        if self.stopped == "time":
            return f"not proven: the time limit ran out before any plan was found; {MORE_TIME}"
        if self.stopped == "unsettled":
            return (
                "not proven: no plan that meets the goals was settled before the time limit "
                f"(or the fill-order rounds) ran out, but an optimistic model meets them; {MORE_TIME}"
            )
        return (
            "not proven: the conservative model cannot meet the goals, but an optimistic one "
            "can, so they may be just reachable; try a smaller tolerance"
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-compatible dict with stable keys."""
        return {
            "bound": _num(self.bound),
            "gap": _num(self.gap),
            "target": self.target,
            "rounds": self.rounds,
            "met": self.met,
            "proven": self.proven,
            "stopped": self.stopped,
            "feasible": self.feasible,
            "text": self.describe(),
        }


#: What to do when the time limit stopped the answer, as both interfaces spell it.
MORE_TIME = "allow more time (--time-limit on the command line, time_limit= in Python)"

#: Why refinement ended short of the gap asked for, in words ({rounds}: rounds used).
_STOPPED = {
    "time": "the time limit ended refinement ({rounds} rounds done; allow more time)",
    "rounds": "{rounds} rounds of refinement, the most allowed",
    "stalled": "more breakpoints stopped narrowing it after {rounds} rounds",
    "solver": "the solver could not settle a finer model after {rounds} rounds",
    "unsettled": (
        "after {rounds} rounds the finer model's plan had comment figures the fill-order "
        "safeguard could not settle in time; the last settled plan stands (allow more time)"
    ),
}


@dataclass(frozen=True)
class Verification:
    """The simulator's check of the optimiser's plan.

    ``max_gap`` is the largest relative gap between predicted and simulated figures;
    ``goods_ok``: every good simulates at least as predicted; ``loads_ok``: every cost and
    workload simulates at most as predicted; ``violations``: caps the simulation breaks.
    """

    max_gap: float
    goods_ok: bool
    loads_ok: bool
    violations: tuple[str, ...]
    compared: dict[str, tuple[float, float]] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        """True when the plan is what the optimiser said it is."""
        return self.goods_ok and self.loads_ok and not self.violations

    def describe(self) -> str:
        """In words; a gap in the safe direction (more delivered, less load) is no fault."""
        if not self.passed:
            broken = "breaks a limit" if self.violations else "delivers less than promised"
            return f"simulation check FAILED: the plan {broken}"
        if self.max_gap < 5e-5:
            return "checked by simulation: delivers what it promised"
        return (
            "checked by simulation: delivers at least what it promised "
            f"(up to {self.max_gap:.2%} better)"
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-compatible dict with stable keys."""
        return {
            "max_gap": _num(self.max_gap),
            "goods_ok": self.goods_ok,
            "loads_ok": self.loads_ok,
            "passed": self.passed,
            "violations": list(self.violations),
            "compared": {
                k: {"predicted": _num(p), "simulated": _num(s)}
                for k, (p, s) in sorted(self.compared.items())
            },
        }


@dataclass(frozen=True)
class Decision:
    """The community decision: the setting chosen, why (in words, with the numbers), and
    ``break_even``: scenario path -> the value at which the choice flips (soft-goal
    weights; re-optimised either side to confirm)."""

    community: dict[str, bool]
    reason: str
    break_even: dict[str, float]

    def to_dict(self) -> dict[str, Any]:
        """JSON-compatible dict with stable keys."""
        return {
            "community": dict(sorted(self.community.items())),
            "reason": self.reason,
            "break_even": {k: _num(v) for k, v in sorted(self.break_even.items())},
        }


@dataclass(frozen=True)
class Strategy:
    """The best plan under one community choice (with or without a community)."""

    name: str
    community: dict[str, bool]
    status: str
    objective: float | None
    totals: dict[str, float]
    chosen: bool

    def to_dict(self) -> dict[str, Any]:
        """JSON-compatible dict with stable keys."""
        return {
            "name": self.name,
            "community": dict(sorted(self.community.items())),
            "status": self.status,
            "objective": _num(self.objective),
            "totals": {k: _num(v) for k, v in sorted(self.totals.items())},
            "chosen": self.chosen,
        }


@dataclass(frozen=True)
class Binding:
    """A constraint that limits the plan, with its shadow price."""

    name: str
    kind: str
    shadow_price: float
    explanation: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-compatible dict with stable keys."""
        return {
            "name": self.name,
            "kind": self.kind,
            "shadow_price": _num(self.shadow_price),
            "explanation": self.explanation,
        }


@dataclass(frozen=True)
class Sensitivity:
    """How the optimum responds at the margin (LP duals, ranging and the simulator).

    ``budget_value``: objective gained per extra 1,000 of each binding budget cap.
    ``goal_costs``: per binding goal, the objective given up per extra unit of target.
    ``budget_range``: the total (or media) budget range over which the plan's structure
    stays optimal. ``tactic_returns``: objective per extra 1,000 spent on each tactic,
    simulated. ``unused``: why each tactic that spends nothing is unused.
    """

    objective_name: str
    budget_value: dict[str, float]
    goal_costs: dict[str, float]
    binding: tuple[Binding, ...]
    budget_range: dict[str, tuple[float, float]]
    tactic_returns: dict[str, float]
    unused: dict[str, str]
    notes: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """JSON-compatible dict with stable keys."""
        return {
            "objective": self.objective_name,
            "budget_value_per_1000": {k: _num(v) for k, v in sorted(self.budget_value.items())},
            "goal_costs": {k: _num(v) for k, v in sorted(self.goal_costs.items())},
            "binding": [b.to_dict() for b in self.binding],
            "budget_range": {
                k: [_num(a), _num(b)] for k, (a, b) in sorted(self.budget_range.items())
            },
            "tactic_returns_per_1000": {k: _num(v) for k, v in sorted(self.tactic_returns.items())},
            "unused": dict(sorted(self.unused.items())),
            "notes": list(self.notes),
        }


@dataclass(frozen=True)
class GoalDiagnosis:
    """One hard goal in an infeasible scenario: how close the campaign can get."""

    metric: str
    target: float
    by: int
    best_alone: float | None
    best_together: float | None
    shortfall: float | None

    def to_dict(self) -> dict[str, Any]:
        """JSON-compatible dict with stable keys."""
        return {
            "metric": self.metric,
            "target": self.target,
            "by": self.by,
            "best_alone": _num(self.best_alone),
            "best_together": _num(self.best_together),
            "shortfall": _num(self.shortfall),
        }


@dataclass(frozen=True, eq=False)
class Attempt:
    """A plan that is not the answer but shows something: what the budget buys when the
    goals cannot be met (best effort), or what meeting them takes (at the required budget)."""

    spend: FloatArray
    community: dict[str, bool]
    outcome: Outcome

    def __post_init__(self) -> None:
        freeze(self.spend)

    def to_dict(self) -> dict[str, Any]:
        """JSON-compatible dict with stable keys."""
        o = self.outcome
        return {
            "spend": {
                tid: [_num(round(float(v), 2)) for v in self.spend[:, j]]
                for j, tid in enumerate(o.tactic_ids)
            },
            "community": dict(sorted(self.community.items())),
            "totals": {k: _num(v) for k, v in o.totals.items()},
            "goals": [g.to_dict() for g in o.goals],
        }


@dataclass(frozen=True)
class Diagnosis:
    """Why the hard goals cannot all be met, and what it would take.

    ``required_budget`` is the total budget (all costs) that would meet every hard goal,
    or None where no budget can (``limits`` then says what stops it);
    ``required_budget_bound`` a proven lower bound (no plan of the exact model meets the
    hard goals for less), so the exact minimum lies between the two.
    """

    message: str
    goals: tuple[GoalDiagnosis, ...]
    conflicts: tuple[str, ...]
    limits: tuple[str, ...]
    required_budget: float | None
    required_media: float | None
    required_budget_bound: float | None = None
    #: The plan closest to the hard goals within every limit (their relative shortfalls
    #: summed and minimised): what this budget buys.
    best_effort: Attempt | None = None
    #: A plan at ``required_budget`` that meets every hard goal: what the goals cost.
    required_budget_plan: Attempt | None = None
    #: The parts the time limit (or the solver) left out, one sentence each ("the budget
    #: needed was not computed: the time limit ran out"); their fields are None or empty.
    not_computed: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """JSON-compatible dict with stable keys."""
        return {
            "best_effort": self.best_effort.to_dict() if self.best_effort else None,
            "required_budget_plan": (
                self.required_budget_plan.to_dict() if self.required_budget_plan else None
            ),
            "message": self.message,
            "goals": [g.to_dict() for g in self.goals],
            "conflicts": list(self.conflicts),
            "limits": list(self.limits),
            "required_budget": _num(self.required_budget),
            "required_media": _num(self.required_media),
            "required_budget_bound": _num(self.required_budget_bound),
            # Only when something was left out: a complete diagnosis reads as before.
            **({"not_computed": list(self.not_computed)} if self.not_computed else {}),
        }


@dataclass(frozen=True)
class Confidence:
    """How sure a plan asked for with a confidence is (:func:`funnelopt.optimize` with
    ``confidence=``): each hard goal and capacity, the probability that it holds measured
    on a fresh validation sample (never the sample the plan was fitted on)."""

    #: The confidence asked for.
    asked: float
    #: Requirement -> probability it holds on the validation sample.
    probabilities: dict[str, float]
    #: Requirement -> the probability's standard error, sqrt(p (1 - p) / draws).
    standard_errors: dict[str, float]
    #: Whether every probability is at least ``asked``.
    met: bool
    #: The tightened targets and capacities the plan was optimised for (field paths).
    tightened: dict[str, float]
    optimisation_draws: int
    validation_draws: int
    seed: int
    rounds: int
    #: When not met: the highest confidence a plan was found for, and the total budget
    #: that would let the asked-for tightening be planned (None when not computed).
    reachable: float | None = None
    required_budget: float | None = None
    method: str = "quantile-tightened targets and capacities (sample approximation)"

    def describe(self) -> str:
        """One sentence: met or not, with the weakest requirement."""
        weakest = min(self.probabilities, key=self.probabilities.__getitem__, default=None)
        at = (
            f"; the weakest, {weakest}, holds with {self.probabilities[weakest]:.1%}"
            if weakest
            else ""
        )
        if self.met:
            return f"Every hard goal and capacity holds with at least {self.asked:.0%}{at}."
        reach = (
            f" The highest confidence reached is {self.reachable:.1%}." if self.reachable else ""
        )
        budget = (
            f" A total budget of about {self.required_budget:,.0f} would allow the asked-for one."
            if self.required_budget
            else ""
        )
        return f"The asked confidence {self.asked:.0%} is not reached{at}.{reach}{budget}"

    def to_dict(self) -> dict[str, Any]:
        """JSON-compatible dict with stable keys."""
        return {
            "asked": self.asked,
            "met": self.met,
            "probabilities": dict(self.probabilities),
            "standard_errors": dict(self.standard_errors),
            "tightened": dict(self.tightened),
            "optimisation_draws": self.optimisation_draws,
            "validation_draws": self.validation_draws,
            "seed": self.seed,
            "rounds": self.rounds,
            "reachable": _num(self.reachable),
            "required_budget": _num(self.required_budget),
            "method": self.method,
            "text": self.describe(),
        }


@dataclass(frozen=True, eq=False)
class Plan:
    """The result of :func:`funnelopt.optimize`.

    ``status`` is ``"optimal"`` or ``"infeasible"``. For an optimal plan ``spend`` is the
    periods x tactics spend, ``community`` the on/off choice, ``outcome`` the simulated
    :class:`Outcome` (what is reported), ``predicted`` the optimiser's own totals and
    ``verification`` the gap between them. An infeasible plan has a ``diagnosis``.
    """

    status: str
    objective: float | None
    objective_name: str
    scenario_name: str
    currency: str
    tactic_ids: tuple[str, ...]
    spend: FloatArray | None
    community: dict[str, bool]
    outcome: Outcome | None
    predicted: dict[str, float]
    predicted_objective: float | None
    verification: Verification | None
    strategies: tuple[Strategy, ...]
    sensitivity: Sensitivity | None
    diagnosis: Diagnosis | None
    tolerance: float
    backend: str
    solve_seconds: float
    version: str
    penalty: float = 0.0
    notes: tuple[str, ...] = ()
    #: How far from the exact optimum the plan can be, proven (None: not computed).
    certificate: Certificate | None = None
    #: Launch periods the optimiser chose for communities with ``start = "auto"``.
    launch: dict[str, int] = field(default_factory=dict)
    #: Why the community is (not) built, and where that flips (one auto community).
    decision: Decision | None = None
    #: Inputs outside their sourced ranges (:mod:`funnelopt.plausibility`): check them.
    warnings: tuple[Problem, ...] = ()
    #: The scenario planned (for reports: goals, sources); not part of ``to_dict()``.
    scenario: Scenario | None = field(default=None, repr=False)
    #: With ``optimize(confidence=)``: how sure the plan is (else None; in ``to_dict()``
    #: only when set).
    confidence: Confidence | None = None

    def __post_init__(self) -> None:
        freeze(self.spend)  # results are read-only (see Outcome)

    @property
    def optimal(self) -> bool:
        """True when the status is optimal."""
        return self.status == "optimal"

    @property
    def best_effort(self) -> Attempt | None:
        """When the goals cannot be met: the plan that comes closest (see Diagnosis)."""
        return self.diagnosis.best_effort if self.diagnosis else None

    def spend_by_tactic(self) -> dict[str, list[float]]:
        """Tactic id -> spend per period (empty for an infeasible plan)."""
        if self.spend is None:
            return {}
        return {tid: [float(v) for v in self.spend[:, j]] for j, tid in enumerate(self.tactic_ids)}

    def period_starts(self) -> list[str] | None:
        """The first day of each period as an ISO date (None without a ``start_date``)."""
        s = self.scenario
        if s is None or s.start_date is None:
            return None
        return [str(s.period_start(t)) for t in range(1, s.periods + 1)]

    def to_dict(self) -> dict[str, Any]:
        """JSON-compatible dict with stable keys (the ``plan`` schema of the CLI)."""
        out = self.outcome
        return {
            "schema_version": SCHEMA_VERSION,
            "funnelopt_version": self.version,
            "scenario": self.scenario_name,
            "currency": self.currency,
            "status": self.status,
            "objective": _num(self.objective),
            "objective_name": self.objective_name,
            "penalty": _num(self.penalty),
            "spend": {
                k: [_num(round(v, 2)) for v in vals] for k, vals in self.spend_by_tactic().items()
            },
            "community": dict(sorted(self.community.items())),
            "totals": {k: _num(v) for k, v in out.totals.items()} if out else {},
            # First day of each period (ISO), with the scenario's start_date; else null.
            "period_start": self.period_starts(),
            # The funnel and the workload per period, as simulated (empty without a plan).
            "per_period": (
                {k: [_num(x) for x in out.per_period[k]] for k in METRICS} if out else {}
            ),
            "capacity": (
                {k: {m: _num(v) for m, v in d.items()} for k, d in out.capacity.items()}
                if out
                else {}
            ),
            "kpis": {k: _num(v) for k, v in out.kpis.items()} if out else {},
            "goals": [g.to_dict() for g in out.goals] if out else [],
            "predicted": {k: _num(v) for k, v in sorted(self.predicted.items())},
            "predicted_objective": _num(self.predicted_objective),
            "verification": self.verification.to_dict() if self.verification else None,
            "strategies": [s.to_dict() for s in self.strategies],
            "sensitivity": self.sensitivity.to_dict() if self.sensitivity else None,
            "diagnosis": self.diagnosis.to_dict() if self.diagnosis else None,
            "warnings": [w.to_dict() for w in self.warnings],
            "decision": self.decision.to_dict() if self.decision else None,
            "launch": dict(sorted(self.launch.items())),
            "certificate": {
                "backend": self.backend,
                "tolerance": self.tolerance,
                "verification_gap": _num(self.verification.max_gap) if self.verification else None,
                **(
                    self.certificate.to_dict()
                    if self.certificate
                    else {
                        k: None
                        for k in (
                            "bound",
                            "gap",
                            "target",
                            "rounds",
                            "met",
                            "proven",
                            "stopped",
                            "feasible",
                            "text",
                        )
                    }
                ),
            },
            "notes": list(self.notes),
            **({"confidence": self.confidence.to_dict()} if self.confidence else {}),
        }

    def to_json(self) -> str:
        """Deterministic JSON (same input, same bytes): timings are left out."""
        return dumps(self.to_dict())

    def to_frame(self) -> pd.DataFrame:
        """One row per period and source with the metrics as columns (needs pandas)."""
        from funnelopt.report.frames import plan_frame

        return plan_frame(self)

    def by_month(self) -> list[Month]:
        """The plan by calendar month (needs the scenario's ``start_date``): spend per
        tactic and the funnel summed over the periods starting in each month."""
        from funnelopt.report.calendar import by_month

        return by_month(self)

    def to_excel(self, path: str | Path) -> Path:
        """Write the plan as an .xlsx workbook (needs openpyxl: ``funnelopt[excel]``):
        the weekly plan with dates, spend per tactic, funnel and workload; by month (with
        a ``start_date``); totals; assumptions."""
        from funnelopt.report.excel import write_plan

        return write_plan(self, path)

    def report(self, path: str | Path) -> Path:
        """Write a proposal-ready report: ``.html`` (self-contained) or ``.md``."""
        from funnelopt.report.document import write

        return write(self, self.scenario, path)

    def objective_text(self) -> str:
        """The objective in words; with soft-goal penalties, a score with the penalty shown."""
        minimise = self.objective_name == "cost"
        return objective.describe(self.objective_name, self.objective, self.penalty, minimise)

    def to_text(self, markdown: bool = False) -> str:
        """The plan as the CLI prints it: a text (or Markdown) summary."""
        from funnelopt.report.text import render_plan

        budget = self.scenario.budget.total if self.scenario is not None else None
        return render_plan(self, "markdown" if markdown else "table", budget)

    def _repr_html_(self) -> str:
        from funnelopt.report.html import plan_html

        return plan_html(self)

    def __repr__(self) -> str:
        if self.outcome is None:
            d = self.diagnosis
            need = (
                f"; budget needed {self.currency} {d.required_budget:,.0f}"
                if d and d.required_budget
                else ""
            )
            return f"<Plan {self.scenario_name!r}: infeasible{need}>"
        t = self.outcome.totals
        comm = ", ".join(f"{k} {'on' if v else 'off'}" for k, v in self.community.items())
        met = sum(g.met for g in self.outcome.goals)
        obj = self.objective_text()
        return (
            f"<Plan {self.scenario_name!r}: optimal, {obj}; "
            f"cost {self.currency} {t['cost_total']:,.0f} (media {t['cost_media']:,.0f}); "
            f"reach {t['reach_share']:.1%}, visits {t['visits']:,.0f}, conversions {t['conversions']:,.0f}"
            + (f"; community: {comm}" if comm else "")
            + f"; goals met {met}/{len(self.outcome.goals)}>"
        )
