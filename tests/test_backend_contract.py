"""The backend contract: small LPs/MILPs with known primal and dual answers, on every backend.

Like cvxpy's standard test LPs: what a backend returns is checked directly, not through
``optimize``. Duals follow :class:`funnelopt.lp.RawSolution`: d(objective)/d(bound) of a
maximisation.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from scipy import sparse

from funnelopt.backends import BACKENDS, Feature, get_backend, warm
from funnelopt.lp import INF, Block, LinearProgram, Status


def _lp(
    c: list[float],
    rows: list[list[float]],
    lo: list[float],
    hi: list[float],
    col_hi: list[float] | None = None,
    integer: list[bool] | None = None,
) -> LinearProgram:
    n = len(c)
    return LinearProgram(
        c=np.array(c, dtype=float),
        A=sparse.csr_matrix(np.array(rows, dtype=float).reshape(len(rows), n)),
        row_lo=np.array(lo, dtype=float),
        row_hi=np.array(hi, dtype=float),
        col_lo=np.zeros(n),
        col_hi=np.array(col_hi if col_hi is not None else [INF] * n, dtype=float),
        integer=np.array(integer if integer is not None else [False] * n),
        col_blocks=[Block("x", 0, n, lambda i: f"x{i}")],
        row_blocks=[Block("r", 0, len(rows), lambda i: f"r{i}")],
    )


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest):  # type: ignore[no-untyped-def]
    return get_backend(request.param)


def test_known_primal_and_dual(backend) -> None:  # type: ignore[no-untyped-def]
    # max 3x + 2y  s.t. x + y <= 4, x + 3y <= 9, x <= 3  ->  x=3, y=1, objective 11.
    lp = _lp([3, 2], [[1, 1], [1, 3]], [-INF, -INF], [4, 9], col_hi=[3, INF])
    sol = backend.solve(lp)
    assert sol.status is Status.OPTIMAL
    assert sol.x == pytest.approx([3, 1], abs=1e-7)
    assert sol.objective == pytest.approx(11, abs=1e-7)
    assert Feature.DUALS in backend.features
    # Relaxing row 0 by one unit buys 2 (y's price); row 1 is slack.
    assert sol.row_dual == pytest.approx([2, 0], abs=1e-7)
    # x sits at its upper bound with reduced cost 3 - 2 = 1; y is basic.
    assert sol.col_dual == pytest.approx([1, 0], abs=1e-7)


@pytest.mark.parametrize("scale", [1.0, 1e-5])
def test_the_objective_includes_its_constant(backend, scale: float) -> None:  # type: ignore[no-untyped-def]
    # max s(3x + 2y) + 7 as above: the reported objective is s * 11 + 7, whatever scale
    # the backend applies to the costs internally (HiGHS: lp.objective_scale()).
    lp = _lp([3 * scale, 2 * scale], [[1, 1], [1, 3]], [-INF, -INF], [4, 9], col_hi=[3, INF])
    sol = backend.solve(replace(lp, c0=7.0))
    assert sol.objective == pytest.approx(11 * scale + 7, rel=1e-9)


def test_ranged_row_and_lower_bound_dual(backend) -> None:  # type: ignore[no-untyped-def]
    # max -x - y  s.t. 2 <= x + y <= 5  ->  objective -2; tightening the floor costs 1.
    lp = _lp([-1, -1], [[1, 1]], [2], [5])
    sol = backend.solve(lp)
    assert sol.status is Status.OPTIMAL
    assert sol.objective == pytest.approx(-2, abs=1e-7)
    assert sol.row_dual == pytest.approx([-1], abs=1e-7)


def test_infeasible_is_reported_as_such(backend) -> None:  # type: ignore[no-untyped-def]
    lp = _lp([1, 1], [[1, 1], [1, 1]], [5, -INF], [INF, 3])
    assert backend.solve(lp).status is Status.INFEASIBLE


def test_unbounded_is_not_optimal(backend) -> None:  # type: ignore[no-untyped-def]
    lp = _lp([1, 0], [[0, 1]], [-INF], [1])
    assert backend.solve(lp).status in (Status.UNBOUNDED, Status.INFEASIBLE, Status.ERROR)
    assert backend.solve(lp).status is not Status.OPTIMAL


def test_a_small_milp(backend) -> None:  # type: ignore[no-untyped-def]
    # max 5a + 4b  s.t. 6a + 4b <= 24, a + 2b <= 6, integers -> a=4, b=0 (20) or a=2,b=2 (18).
    lp = _lp([5, 4], [[6, 4], [1, 2]], [-INF, -INF], [24, 6], integer=[True, True])
    sol = backend.solve(lp)
    assert sol.status is Status.OPTIMAL
    assert sol.objective == pytest.approx(20, abs=1e-6)
    assert np.allclose(sol.x, np.round(sol.x), atol=1e-6)


def test_warm_backends_resolve_and_add_rows(backend) -> None:  # type: ignore[no-untyped-def]
    kept = warm(backend)
    if kept is None:
        assert Feature.WARM not in backend.features
        return
    lp = _lp([3, 2], [[1, 1], [1, 3]], [-INF, -INF], [4, 6], col_hi=[3, INF])
    backend.solve(lp)
    # A tighter first row: x + y <= 3 -> x=3, y=0, objective 9.
    sol = kept.resolve(row_bounds={0: (-INF, 3.0)})
    assert sol.objective == pytest.approx(9, abs=1e-7)
    row = kept.add_row(sparse.csr_matrix([[1.0, 0.0]]), -INF, 2.0)
    assert row == 2
    sol = kept.resolve()
    assert sol.x == pytest.approx([2, 1], abs=1e-7)
    if Feature.RANGING in backend.features:
        assert backend.bound_range(0) is not None
    # Only the objective changes (HiGHS: primal simplex from the kept basis): max x + 2.5y
    # -> x = y = 1.5 (rows 0 and 1 bind), 5.25; the same as a cold solve of the new model.
    sol = kept.resolve(cost=np.array([1.0, 2.5]))
    assert sol.objective == pytest.approx(5.25, abs=1e-7)
    cold = get_backend(backend.name).solve(
        replace(
            lp,
            c=np.array([1.0, 2.5]),
            A=sparse.vstack([lp.A, sparse.csr_matrix([[1.0, 0.0]])], format="csr"),
            row_lo=np.array([-INF, -INF, -INF]),
            row_hi=np.array([3.0, 6.0, 2.0]),
            row_blocks=[Block("r", 0, 3, lambda i: f"r{i}")],
        )
    )
    assert sol.objective == pytest.approx(cold.objective, abs=1e-7)
    assert sol.x == pytest.approx(cold.x, abs=1e-7)
    # and a bound change after it is solved as before: x + 3y <= 5 -> x = 2, y = 1, 4.5.
    sol = kept.resolve(row_bounds={1: (-INF, 5.0)})
    assert sol.objective == pytest.approx(4.5, abs=1e-7)


def test_pulp_backend_drives_cbc_without_the_deprecated_class() -> None:
    """PuLP 3 warns that ``PULP_CBC_CMD`` goes in PuLP 4: the backend must not use it."""
    import warnings

    lp = _lp([1.0, 1.0], [[1.0, 2.0]], [-INF], [4.0], col_hi=[3.0, INF])
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)
        sol = get_backend("pulp").solve(lp)
    assert sol.status is Status.OPTIMAL
    assert sol.objective == pytest.approx(3.5)


def test_cbc_is_found_by_setting_and_missing_cbc_is_named(monkeypatch, tmp_path) -> None:  # type: ignore[no-untyped-def]
    import pulp

    from funnelopt.backends import pulp as pulp_backend

    monkeypatch.setenv("FUNNELOPT_CBC", "/opt/cbc/bin/cbc")
    assert pulp_backend.cbc_path() == "/opt/cbc/bin/cbc"
    # As under PuLP 4 without pulp[cbc]: no setting, no cbc on the PATH, no bundled binary.
    monkeypatch.delenv("FUNNELOPT_CBC")
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(pulp.apis.coin_api, "pulp_cbc_path", str(tmp_path / "none"))
    monkeypatch.setattr(pulp.COIN_CMD, "defaultPath", lambda self: str(tmp_path / "none"))
    with pytest.raises(RuntimeError, match=r"pulp\[cbc\]"):
        pulp_backend.cbc_path()
