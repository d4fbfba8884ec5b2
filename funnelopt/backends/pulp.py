"""The portability backend: the same model built in PuLP, solved by any solver PuLP drives.

CBC by default (see :func:`cbc_path`). It can also write the model as ``.lp`` / ``.mps`` for
audit, with the formulation's labels as variable and constraint names.
"""

from __future__ import annotations

import os
import re
import shutil
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
from scipy import sparse

from funnelopt.backends import Feature
from funnelopt.lp import LinearProgram, RawSolution, Status, equilibrate


def cbc_path() -> str:
    """The CBC executable: ``$FUNNELOPT_CBC``, a ``cbc`` on the PATH, the one ``pulp[cbc]``
    installs, or the one PuLP 3 bundles, in that order.

    PuLP 3 deprecates its bundled-CBC class ``PULP_CBC_CMD`` and PuLP 4 removes it, so the
    binary is driven through ``COIN_CMD`` by path, which works under both.
    """
    import pulp

    for path in (os.environ.get("FUNNELOPT_CBC"), shutil.which("cbc")):
        if path:
            return path
    found = pulp.COIN_CMD(msg=False).path  # pulp[cbc]'s binary, where installed
    if found and os.access(found, os.X_OK):
        return str(found)
    bundled = getattr(pulp.apis.coin_api, "pulp_cbc_path", None)
    if bundled and os.access(bundled, os.X_OK):
        return str(bundled)
    raise RuntimeError(
        "backend 'pulp' needs the CBC solver: pip install 'pulp[cbc]' (or set FUNNELOPT_CBC "
        "to a cbc executable), or use backend='highs'"
    )


class PulpBackend:
    """PuLP with CBC (or another PuLP solver passed as ``solver``)."""

    name = "pulp"
    features = Feature.DUALS

    def __init__(self, solver: Any = None) -> None:
        self._solver = solver

    def build(self, lp: LinearProgram) -> tuple[Any, list[Any], list[Any]]:
        """The PuLP problem, its variables and its constraints, named by the labels."""
        import pulp

        prob = pulp.LpProblem(_safe(str(lp.meta.get("scenario", "funnelopt"))), pulp.LpMaximize)
        xs = [
            prob.add_variable(
                _safe(lp.col_name(i)) + f"_{i}",
                lowBound=None if np.isinf(lp.col_lo[i]) else float(lp.col_lo[i]),
                upBound=None if np.isinf(lp.col_hi[i]) else float(lp.col_hi[i]),
                cat=pulp.LpInteger if lp.integer[i] else pulp.LpContinuous,
            )
            for i in range(lp.n_cols)
        ]
        c = np.asarray(lp.c)
        nz = np.flatnonzero(c)
        prob += pulp.LpAffineExpression([(xs[i], float(c[i])) for i in nz]) + float(lp.c0)
        a = sparse.csr_matrix(lp.A)
        cons: list[Any] = []
        for r in range(lp.n_rows):
            lo, hi = float(lp.row_lo[r]), float(lp.row_hi[r])
            sl = slice(a.indptr[r], a.indptr[r + 1])
            expr = pulp.LpAffineExpression(
                [(xs[j], float(v)) for j, v in zip(a.indices[sl], a.data[sl], strict=True)]
            )
            name = _safe(lp.row_name(r)) + f"_{r}"
            if lo == hi:
                con = expr == lo
            elif np.isinf(lo):
                con = expr <= hi
            elif np.isinf(hi):
                con = expr >= lo
            else:
                # A ranged row becomes two rows; the dual of the active side is kept.
                prob += (expr >= lo, name + "_lo")
                prob += (expr <= hi, name)
                cons.append(
                    (prob.get_constraint_by_name(name + "_lo"), prob.get_constraint_by_name(name))
                )
                continue
            prob += (con, name)
            cons.append((prob.get_constraint_by_name(name), None))
        return prob, xs, cons

    def write(self, lp: LinearProgram, path: str | Path) -> Path:
        """Write the model as ``.lp`` or ``.mps`` (by the file's suffix) for audit."""
        prob, _, _ = self.build(lp)
        p = Path(path)
        if p.suffix.lower() == ".mps":
            prob.writeMPS(str(p))
        else:
            prob.writeLP(str(p))
        return p

    def solve(self, lp: LinearProgram, time_limit: float | None = None) -> RawSolution:
        """Build and solve ``lp`` with PuLP's solver (equilibrated; an LP that does not
        come back optimal is solved once more as given)."""
        start = time.perf_counter()
        sol = self._solve(lp, time_limit, scaled=True)
        if sol.status is not Status.OPTIMAL and not lp.is_mip:
            # CBC's presolve has called an equilibrated LP infeasible that the same LP as
            # given, and HiGHS, solve (found by the one-point-sweep property test).
            left = None if time_limit is None else max(1.0, time_limit - sol.solve_seconds)
            again = self._solve(lp, left, scaled=False)
            if again.status is Status.OPTIMAL or sol.status is Status.ERROR:
                sol = again
        return replace(sol, solve_seconds=time.perf_counter() - start)

    def _solve(self, lp: LinearProgram, time_limit: float | None, scaled: bool) -> RawSolution:
        import pulp

        original = lp
        if scaled:
            lp, col_scale, row_scale = equilibrate(lp)
        else:
            col_scale, row_scale = np.ones(lp.n_cols), np.ones(lp.n_rows)
        obj_scale = lp.objective_scale()
        lp = replace(lp, c=lp.c * obj_scale)
        prob, xs, cons = self.build(lp)
        solver = self._solver or pulp.COIN_CMD(
            path=cbc_path(), msg=False, timeLimit=time_limit, gapRel=1e-9
        )
        start = time.perf_counter()
        prob.solve(solver)
        seconds = time.perf_counter() - start
        status = _STATUS.get(pulp.LpStatus[prob.status], Status.ERROR)
        found = pulp.LpSolution[prob.sol_status]
        if status is Status.OPTIMAL and found != "Optimal Solution Found":
            # A time limit hit with an integer solution: usable, not proven.
            status = Status.FEASIBLE if found == "Solution Found" else Status.ERROR
        if status is Status.INFEASIBLE and pulp.LpSolution[prob.sol_status] != "No Solution Exists":
            # "Infeasible" with "No Solution Found" means CBC found none (a MILP out of time
            # or nodes), not that none exists: calling that infeasible once sent feasible
            # scenarios to the diagnosis.
            status = Status.ERROR
        n = lp.n_cols
        if status not in (Status.OPTIMAL, Status.FEASIBLE):
            return RawSolution(
                status,
                np.zeros(n),
                float("nan"),
                message=pulp.LpStatus[prob.status],
                solve_seconds=seconds,
            )
        # A variable in no row may come back without a value: any value in its bounds is
        # optimal, so take the lower bound (clipped: PuLP may round just past a bound).
        x = np.array(
            [v.varValue if v.varValue is not None else lp.col_lo[i] for i, v in enumerate(xs)],
            dtype=float,
        )
        # Back from the equilibrated copy to the model's own units.
        x = np.clip(x, lp.col_lo, lp.col_hi) * col_scale
        row_dual = col_dual = None
        if not lp.is_mip and status is Status.OPTIMAL:
            pis = np.array([(_pi(lo_c) + _pi(hi_c)) for lo_c, hi_c in cons], dtype=float)
            dj = np.array([v.dj if v.dj is not None else 0.0 for v in xs], dtype=float)
            row_dual = pis * row_scale / obj_scale
            col_dual = dj / col_scale / obj_scale
        objective = float(np.dot(original.c, x) + original.c0)
        return RawSolution(
            status, x, objective, row_dual, col_dual, message=found, solve_seconds=seconds
        )

    def bound_range(self, row: int) -> tuple[float, float] | None:
        """PuLP reports no ranging."""
        return None


def _pi(con: Any) -> float:
    return float(con.pi) if con is not None and con.pi is not None else 0.0


def _safe(name: str) -> str:
    """A name LP/MPS writers accept: labels keep their meaning, odd characters become _."""
    return re.sub(r"[^A-Za-z0-9_]", "_", name)[:200]


# PuLP status strings -> our Status (one table; nothing else reads PuLP codes).
_STATUS = {
    "Optimal": Status.OPTIMAL,
    "Infeasible": Status.INFEASIBLE,
    "Unbounded": Status.UNBOUNDED,
    "Not Solved": Status.ERROR,
    "Undefined": Status.ERROR,  # no proof either way
}
