"""Terms (triplets) against scipy.sparse: the same matrices by every operation."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import sparse

from funnelopt.terms import Matrices, Terms


@st.composite
def triplets(draw: st.DrawFn, shape: tuple[int, int] | None = None) -> Terms:
    """Random entries, duplicates and zeros included (dyadic values: sums are exact, so
    results compare bit for bit whatever the order of summation)."""
    m, n = shape or (draw(st.integers(1, 6)), draw(st.integers(1, 6)))
    k = draw(st.integers(0, 20))
    r = draw(st.lists(st.integers(0, m - 1), min_size=k, max_size=k))
    c = draw(st.lists(st.integers(0, n - 1), min_size=k, max_size=k))
    v = draw(st.lists(st.sampled_from([0.0, 1.0, -2.5, 0.125, 3e6]), min_size=k, max_size=k))
    return Terms.of(r, c, v, (m, n))


def scipy_of(t: Terms) -> sparse.csr_matrix:
    return sparse.csr_matrix((t.v, (t.r, t.c)), shape=t.shape)


def same(a: sparse.spmatrix, b: sparse.spmatrix) -> None:
    assert a.shape == b.shape
    np.testing.assert_allclose(a.toarray(), b.toarray(), rtol=0, atol=0)


@settings(max_examples=200)
@given(triplets())
def test_csr_sums_duplicates_drops_zeros_and_sorts(t: Terms) -> None:
    m = t.csr()
    same(m, scipy_of(t))
    assert m.has_sorted_indices and not (m.data == 0).any()
    assert len(set(zip(*m.nonzero(), strict=True))) == m.nnz  # no duplicates left


@given(st.data())
def test_arithmetic_and_row_operations_match_scipy(data: st.DataObject) -> None:
    a = data.draw(triplets())
    b = data.draw(triplets(a.shape))
    k = data.draw(st.sampled_from([-2.0, 0.5, 3.0]))
    ref_a, ref_b = scipy_of(a), scipy_of(b)
    same((a + b).csr(), ref_a + ref_b)
    same((a - b).csr(), ref_a - ref_b)
    same((k * a).csr(), k * ref_a)
    same((a / 4.0).csr(), ref_a / 4.0)
    same(a.total().csr(), sparse.csr_matrix(ref_a.sum(axis=0)))
    np.testing.assert_allclose(a.dense_row(), np.asarray(ref_a.sum(axis=0)).ravel())
    picked = data.draw(st.permutations(range(a.shape[0])).map(lambda p: p[: len(p) // 2 + 1]))
    same(a.rows(picked).csr(), ref_a[picked])
    keep = np.array(data.draw(st.lists(st.booleans(), min_size=a.shape[0], max_size=a.shape[0])))
    same(a.where_rows(keep).csr(), sparse.diags(keep.astype(float)) @ ref_a)
    f = np.arange(1.0, a.shape[0] + 1)
    same(a.scaled_rows(f).csr(), ref_a.multiply(f[:, None]))
    c = data.draw(triplets((a.shape[1], 3)))
    same((a @ c).csr(), ref_a @ scipy_of(c))


def test_repeated_rows_are_refused_not_dropped() -> None:
    """scipy repeats a row picked twice; rows() would keep one copy, so it says so."""
    a = Terms.of([0, 1], [1, 0], [1.0, 2.0], (2, 2))
    with pytest.raises(ValueError, match="distinct"):
        a.rows([0, 0])


def test_adding_different_shapes_is_refused() -> None:
    a = Terms.zeros((2, 3))
    try:
        a + Terms.zeros((3, 2))
    except ValueError as e:
        assert "(2, 3)" in str(e)
    else:
        raise AssertionError("shapes were not checked")


def test_matrices_convert_once_on_demand() -> None:
    t = Terms.of([0, 0], [1, 1], [2.0, 3.0], (1, 2))
    m = Matrices({"x": t})
    assert list(m) == ["x"] and len(m) == 1
    assert m["x"] is m["x"]
    np.testing.assert_array_equal(m["x"].toarray(), [[0.0, 5.0]])


@given(st.data())
def test_maps_on_the_same_index_arrays_add_value_by_value(data: st.DataObject) -> None:
    """Parts on the same index arrays merge whatever the order of the sum, so sums of the
    per-segment metrics stay the size of one; the matrix is the same as scipy's."""
    a = data.draw(triplets())
    r, c, _ = a.parts[0]
    b = Terms.of(r, c, data.draw(st.sampled_from([0.5, -3.0])), a.shape)
    other = data.draw(triplets(a.shape))
    total = (a + other) - 2.0 * b + (b / 4.0)
    assert len(total) == len(a) + len(other)
    same(total.csr(), scipy_of(a) + scipy_of(other) - 2.0 * scipy_of(b) + scipy_of(b) / 4.0)
