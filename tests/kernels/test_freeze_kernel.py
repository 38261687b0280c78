"""The frozen-tissue coefficient kernel against its NumPy reference."""

from __future__ import annotations

import numpy as np
import pytest

from tissuefate.kernels import thermal as kt


def _case(rng, shape, dtype):
    pad = tuple(n + 2 for n in shape)
    theta = rng.uniform(-60.0, 10.0, pad).astype(dtype)  # offsets from 0 °C: frozen and not
    theta[:, : shape[1] // 2] = 5.0  # rows that never freeze
    s_warm = rng.uniform(0.6, 0.8, pad).astype(dtype)
    w_warm = rng.uniform(0.0, 3e4, pad).astype(dtype)
    fixed = (rng.random(shape) < 0.05).astype(np.uint8)
    return theta, s_warm, w_warm, fixed


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_freeze_coefficients_match_reference(dtype):
    rng = np.random.default_rng(3)
    shape = (7, 9, 11)
    theta, s_warm, w_warm, fixed = _case(rng, shape, dtype)
    out = []
    for kernel in (kt.freeze_coefficients, kt.freeze_coefficients_numpy):
        s, w = s_warm.copy(), w_warm.copy()
        cold = np.ones(shape[:2], np.bool_)  # every row visited on the first call
        n = kernel(theta, s, w, s_warm, w_warm, fixed, -8.0, -1.0, 4.0, cold)
        out.append((n, s, w, cold))
    (n_c, s_c, w_c, cold_c), (n_r, s_r, w_r, cold_r) = out
    assert n_c == n_r > 0
    rtol = 4 * np.finfo(dtype).eps
    np.testing.assert_allclose(s_c, s_r, rtol=rtol)
    np.testing.assert_array_equal(w_c, w_r)
    np.testing.assert_array_equal(cold_c, cold_r)


def test_freeze_coefficients_values_and_thaw():
    # fully frozen: k four times (s twice); in the window: linear in k; warm: unchanged
    theta = np.zeros((3, 3, 5), np.float64)
    theta[1, 1, 1:4] = [-20.0, -4.5, 0.0]
    s_warm = np.ones_like(theta)
    w_warm = np.full_like(theta, 7.0)
    s, w = s_warm.copy(), w_warm.copy()
    fixed = np.zeros((1, 1, 3), np.uint8)
    cold = np.zeros((1, 1), np.bool_)
    n = kt.freeze_coefficients(theta, s, w, s_warm, w_warm, fixed, -8.0, -1.0, 4.0, cold)
    assert n == 2
    np.testing.assert_allclose(s[1, 1, 1:4], [2.0, np.sqrt(1 + 3 * 0.5), 1.0])
    np.testing.assert_array_equal(w[1, 1, 1:4], [0.0, 0.0, 7.0])
    assert cold[0, 0]
    theta[...] = 5.0  # thawed: the row is restored once, then skipped
    n = kt.freeze_coefficients(theta, s, w, s_warm, w_warm, fixed, -8.0, -1.0, 4.0, cold)
    assert n == 0
    np.testing.assert_array_equal(s, s_warm)
    np.testing.assert_array_equal(w, w_warm)
    assert not cold[0, 0]
