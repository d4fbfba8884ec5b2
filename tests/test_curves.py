"""Response curves: each registered shape is concave, increasing, and its inverse and
derivative agree with its values."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from funnelopt import curves, pwl


@pytest.mark.parametrize("name", sorted(curves.CURVES))
@given(x=st.floats(0.0, 50.0), dx=st.floats(1e-3, 5.0))
def test_each_curve_is_concave_increasing_and_invertible(name: str, x: float, dx: float) -> None:
    c = curves.get(name)
    f0, f1, f2 = c.value(np.array([x, x + dx, x + 2 * dx]))
    assert 0.0 <= f0 <= f1 <= f2 <= 1.0
    assert f2 - f1 <= f1 - f0 + 1e-12  # concave
    if f0 < 1 - 1e-9:
        assert float(c.inverse(f0)) == pytest.approx(x, rel=1e-6, abs=1e-9)
    h = 1e-6
    numeric = (c.value(x + h) - c.value(max(x - h, 0.0))) / (x + h - max(x - h, 0.0))
    assert float(c.derivative(x)) == pytest.approx(float(numeric), rel=1e-4, abs=1e-9)


@pytest.mark.parametrize("name", sorted(curves.CURVES))
def test_flat_beyond_and_the_pwl_use_the_same_curve(name: str) -> None:
    c = curves.get(name)
    x = c.flat_beyond(1e-6)
    assert 1 - float(c.value(x)) == pytest.approx(1e-6, rel=1e-6)
    xs = np.linspace(0, 10, 11)
    assert np.array_equal(pwl.curve(xs, name), c.value(xs))


def test_unknown_curve_names_the_known_ones() -> None:
    with pytest.raises(KeyError, match="exponential"):
        curves.get("sigmoid")
