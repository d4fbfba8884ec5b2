"""The default backend: HiGHS through its official binding ``highspy``.

It keeps the solver object between solves, so a re-solve after a small change starts
from the previous basis (warm start), and it gives duals and ranging.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator
from typing import Any

import numpy as np
from scipy import sparse

from funnelopt.backends import Feature
from funnelopt.lp import LinearProgram, RawSolution, Status


class HighsBackend:
    """HiGHS (simplex for LPs, branch-and-cut for MILPs)."""

    name = "highs"
    features = Feature.DUALS | Feature.RANGING | Feature.WARM

    def __init__(self) -> None:
        self._h: Any = None
        self._lp: LinearProgram | None = None
        # The objective handed to HiGHS is multiplied by this (see lp.objective_scale).
        self._obj_scale = 1.0

    def _load(self, lp: LinearProgram) -> Any:
        import highspy

        h = _new_highs()
        h.setOptionValue("random_seed", 0)
        self._obj_scale = lp.objective_scale()
        a = sparse.csc_matrix(lp.A)
        # The flat passModel takes numpy arrays as they are: a tenth of the time of filling
        # a HighsLp field by field (0.06 ms vs 0.47 ms on the example, loaded four times
        # per certified plan).
        h.passModel(
            lp.n_cols,
            lp.n_rows,
            a.nnz,
            int(highspy.MatrixFormat.kColwise),
            int(highspy.ObjSense.kMaximize),
            # The whole objective is scaled (costs and constant): the result is divided back.
            float(lp.c0) * self._obj_scale,
            np.asarray(lp.c, dtype=float) * self._obj_scale,
            np.asarray(lp.col_lo, dtype=float),
            np.asarray(lp.col_hi, dtype=float),
            np.asarray(lp.row_lo, dtype=float),
            np.asarray(lp.row_hi, dtype=float),
            a.indptr.astype(np.int32),
            a.indices.astype(np.int32),
            a.data.astype(float),
            # HighsVarType: 0 continuous, 1 integer.
            np.asarray(lp.integer, dtype=np.int32),
        )
        return h

    def solve(
        self, lp: LinearProgram, time_limit: float | None = None, start: Any = None
    ) -> RawSolution:
        """Load and solve ``lp``; the solver state is kept for :meth:`resolve`.

        ``start``: a basis of an LP of the same shape (another model's optimum) to begin
        from; simplex then skips presolve and starts near the answer.
        """
        self._h = self._load(lp)
        self._lp = lp
        if start is not None and not lp.is_mip:
            basis = start if isinstance(start, Basis) else Basis.of(*start)
            if basis.shape == (lp.n_cols, lp.n_rows):
                self._h.setBasis(basis.highs())
        return self._run(time_limit)

    def resolve(
        self,
        *,
        row_bounds: dict[int, tuple[float, float]] | None = None,
        col_bounds: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
        cost: np.ndarray | None = None,
        time_limit: float | None = None,
    ) -> RawSolution:
        """Change bounds or the objective of the loaded model and re-solve from the last basis.

        ``col_bounds`` is ``(indices, lower, upper)`` arrays.
        """
        h, lp = self._h, self._lp
        if h is None or lp is None:
            raise RuntimeError("resolve() needs a model loaded by solve()")
        for i, (lo, hi) in (row_bounds or {}).items():
            h.changeRowBounds(int(i), float(lo), float(hi))
        if col_bounds is not None:
            idx, lo_c, hi_c = col_bounds
            h.changeColsBounds(
                len(idx),
                np.asarray(idx, dtype=np.int32),
                np.asarray(lo_c, float),
                np.asarray(hi_c, float),
            )
        if cost is not None:
            idx = np.arange(len(cost), dtype=np.int32)
            self._obj_scale = lp.objective_scale(np.asarray(cost, dtype=float))
            h.changeColsCost(len(cost), idx, np.asarray(cost, dtype=float) * self._obj_scale)
        if cost is None or row_bounds or col_bounds is not None:
            return self._run(time_limit)
        # Only the objective changed: the basis is still primal feasible, which is primal
        # simplex's start (HiGHS's default dual simplex first repairs dual feasibility).
        # The tie-break re-solve of 52 weeks x 200 tactics: 2.6 s -> 0.13 s, same optimum.
        h.setOptionValue("simplex_strategy", _PRIMAL)
        try:
            return self._run(time_limit)
        finally:
            h.setOptionValue("simplex_strategy", _DUAL)

    def add_row(self, coefs: sparse.spmatrix, lo: float, hi: float) -> int:
        """Add a row to the loaded model; returns its index."""
        row = sparse.csr_matrix(coefs)
        self._h.addRow(
            float(lo), float(hi), row.nnz, row.indices.astype(np.int32), row.data.astype(float)
        )
        return int(self._h.getNumRow()) - 1

    def _run(self, time_limit: float | None) -> RawSolution:
        import highspy

        h = self._h
        h.setOptionValue("time_limit", float(time_limit) if time_limit else highspy.kHighsInf)
        start = time.perf_counter()
        h.run()
        if h.getModelStatus().name in ("kUnknown", "kSolveError"):
            # A warm re-solve can stall on the previous basis; the same model solved from
            # scratch settles it (seen in budget sweeps after a tie-break).
            h.clearSolver()
            h.run()
        for option, value, default in _FALLBACKS:
            if h.getModelStatus().name not in ("kUnknown", "kSolveError"):
                break
            # Unscaled simplex can end without a status on badly ranged models (an outer
            # relaxation near saturation): HiGHS's own scaling, then its interior point.
            h.setOptionValue(option, value)
            h.clearSolver()
            h.run()
            h.setOptionValue(option, default)
        seconds = time.perf_counter() - start
        ms = h.getModelStatus()
        info = h.getInfo()
        status = _STATUS.get(ms.name, Status.ERROR)
        if ms.name in _LIMITS and int(info.primal_solution_status) == _FEASIBLE_SOLUTION:
            status = Status.FEASIBLE  # a MILP's incumbent when time ran out
        n = h.getNumCol()
        if status not in (Status.OPTIMAL, Status.FEASIBLE):
            return RawSolution(
                status=status,
                x=np.zeros(n),
                objective=float("nan"),
                message=h.modelStatusToString(ms),
                iterations=int(info.simplex_iteration_count),
                solve_seconds=seconds,
            )
        sol = h.getSolution()
        has_duals = bool(sol.dual_valid) and status is Status.OPTIMAL
        return RawSolution(
            status=status,
            x=np.array(sol.col_value, dtype=float),
            objective=float(info.objective_function_value) / self._obj_scale,
            # HiGHS reports duals as d(objective)/d(bound) for either sense: ours, once the
            # objective's scale is taken out.
            row_dual=np.array(sol.row_dual, dtype=float) / self._obj_scale if has_duals else None,
            col_dual=np.array(sol.col_dual, dtype=float) / self._obj_scale if has_duals else None,
            message=h.modelStatusToString(ms),
            iterations=int(info.simplex_iteration_count),
            solve_seconds=seconds,
        )

    def basis(self) -> Basis:
        """The last solve's basis (see :class:`Basis`)."""
        return Basis(self._h.getBasis(), (int(self._h.getNumCol()), int(self._h.getNumRow())))

    def bound_range(self, row: int) -> tuple[float, float] | None:
        """Ranging of row ``row``'s bound in the last solve (LPs only)."""
        if self._h is None or self._lp is None or self._lp.is_mip:
            return None
        status, ranging = self._h.getRanging()
        if status.name != "kOk" or not ranging.valid:
            return None
        return float(ranging.row_bound_dn.value_[row]), float(ranging.row_bound_up.value_[row])


class Basis:
    """A HiGHS basis as HiGHS gave it, with the shape of its LP.

    Reading the statuses into arrays costs about 0.2 ms and most bases are never read
    (only used to start another solve), so that happens on demand: a ``Basis`` unpacks as
    ``cols, rows`` arrays of status codes, and copies and pickles as those arrays.
    """

    def __init__(self, held: Any, shape: tuple[int, int]) -> None:
        self._held = held
        self.shape = shape
        self._arrays: tuple[np.ndarray, np.ndarray] | None = None

    @classmethod
    def of(cls, cols: np.ndarray, rows: np.ndarray) -> Basis:
        """The basis of status-code arrays (columns, rows)."""
        import highspy

        status = [highspy.HighsBasisStatus(v) for v in range(_N_STATUSES)]
        held = highspy.HighsBasis()
        held.col_status = [status[v] for v in np.asarray(cols).tolist()]
        held.row_status = [status[v] for v in np.asarray(rows).tolist()]
        held.valid = True
        return cls(held, (len(cols), len(rows)))

    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """The statuses as int8 arrays (columns, rows)."""
        if self._arrays is None:
            cols = np.fromiter(map(int, self._held.col_status), dtype=np.int8)
            rows = np.fromiter(map(int, self._held.row_status), dtype=np.int8)
            # Read-only: they stand for the held basis, which editing them would not change.
            cols.flags.writeable = rows.flags.writeable = False
            self._arrays = (cols, rows)
        return self._arrays

    def highs(self) -> Any:
        """The ``highspy.HighsBasis`` (a copy of the solver's: later solves leave it)."""
        return self._held

    def __iter__(self) -> Iterator[np.ndarray]:
        return iter(self.arrays())

    def __reduce__(self) -> tuple[Any, tuple[np.ndarray, np.ndarray]]:
        return Basis.of, self.arrays()


#: HiGHS simplex_strategy values: dual (its default) and primal.
_DUAL, _PRIMAL = 1, 4

#: HighsBasisStatus codes: kLower, kBasic, kUpper, kZero, kNonbasic.
_N_STATUSES = 5


_BANNER_SHOWN = False


def _new_highs() -> Any:
    """A silent Highs object.

    HiGHS prints a banner to the C-level stdout when the first object of a process is
    created, before any option can be set; JSON on stdout (the CLI) must not carry it.
    """
    import highspy

    global _BANNER_SHOWN
    if _BANNER_SHOWN:
        h = highspy.Highs()  # type: ignore[no-untyped-call]
    else:
        sys.stdout.flush()
        saved = os.dup(1)
        try:
            with open(os.devnull, "w") as null:
                os.dup2(null.fileno(), 1)
                h = highspy.Highs()  # type: ignore[no-untyped-call]
        finally:
            os.dup2(saved, 1)
            os.close(saved)
        _BANNER_SHOWN = True
    h.setOptionValue("output_flag", False)
    # The default MIP gap (1e-4) would let on/off decisions differ from the LP optimum by
    # more than the promised 1e-6 agreement between backends and between warm and cold runs.
    h.setOptionValue("mip_rel_gap", 1e-9)
    # HiGHS's own simplex scaling slows these models down 10-25x (52 weeks x 200 tactics:
    # 24 s scaled, 1 s unscaled) while the formulation's coefficients are already well
    # ranged per row; measured in benchmarks/, see docs/performance.md.
    h.setOptionValue("simplex_scale_strategy", 0)
    return h


#: Retries, in order, when a solve ends without a status: (option, value, default).
_FALLBACKS = (("simplex_scale_strategy", 2, 0), ("solver", "ipm", "choose"))

#: Model statuses of a run stopped by a limit; with a feasible primal solution they are
#: Status.FEASIBLE (HiGHS's kSolutionStatusFeasible is 2).
_LIMITS = frozenset({"kTimeLimit", "kIterationLimit", "kSolutionLimit", "kInterrupt"})
_FEASIBLE_SOLUTION = 2

# HiGHS model status names -> our Status (one table; nothing else reads HiGHS codes).
_STATUS = {
    "kOptimal": Status.OPTIMAL,
    "kInfeasible": Status.INFEASIBLE,
    "kUnboundedOrInfeasible": Status.INFEASIBLE,
    "kUnbounded": Status.UNBOUNDED,
}
