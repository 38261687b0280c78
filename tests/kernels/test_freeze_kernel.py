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


@pytest.mark.parametrize(
    "extra",
    [
        (-1.0, 273.15, 0.0, -kt.NEVER, 8.0, kt.NEVER),
        (6.0, 273.15, 1.0, -8.0, 8.0, kt.NEVER),
        (3.0, 236.15, 1.3, -30.0, 8.0, 1500.0),
        (-1.0, 273.15, 1.0, -kt.NEVER, 37.0, 800.0),
    ],
)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_freeze_coefficients_match_reference(dtype, extra):
    """``extra``: stasis offset, the offset of 0 K, the ice exponent, the vessel injury offset,
    the blood's offset and the exposure dose (K·s), over two calls 30 s apart."""
    rng = np.random.default_rng(3)
    shape = (7, 9, 11)
    theta, s_warm, w_warm, fixed = _case(rng, shape, dtype)
    stasis, kelvin, exponent, injury, arterial, dose = extra
    out = []
    for kernel in (kt.freeze_coefficients, kt.freeze_coefficients_numpy):
        s, w, w_base = s_warm.copy(), w_warm.copy(), w_warm.copy()
        cold = np.ones(shape[:2], np.bool_)  # every row visited on the first call
        exposure = np.zeros(shape)
        n = 0
        for dt in (0.0, 30.0):
            n = kernel(
                theta, s, w, s_warm, w_base, fixed, -8.0, -1.0, 4.0, cold, stasis, kelvin,
                exponent, injury, exposure, arterial, dt, dose,
            )  # fmt: skip
        out.append((n, s, w, cold, w_base, exposure))
    (n_c, s_c, w_c, cold_c, base_c, e_c), (n_r, s_r, w_r, cold_r, base_r, e_r) = out
    assert n_c == n_r > 0
    rtol = 4 * np.finfo(dtype).eps
    np.testing.assert_allclose(s_c, s_r, rtol=rtol)
    np.testing.assert_array_equal(w_c, w_r)
    np.testing.assert_array_equal(cold_c, cold_r)
    np.testing.assert_array_equal(base_c, base_r)
    np.testing.assert_allclose(e_c, e_r, rtol=1e-12)
    shut = np.count_nonzero(base_c != w_warm)
    assert (shut == 0) if (injury == -kt.NEVER and dose == kt.NEVER) else (shut > 0)


def test_freeze_coefficients_values_and_thaw():
    # fully frozen: k four times (s twice); in the window: linear in k; warm: unchanged
    theta = np.zeros((3, 3, 5), np.float64)
    theta[1, 1, 1:4] = [-20.0, -4.5, 0.0]
    s_warm = np.ones_like(theta)
    w_warm = np.full_like(theta, 7.0)
    s, w = s_warm.copy(), w_warm.copy()
    fixed = np.zeros((1, 1, 3), np.uint8)
    cold = np.zeros((1, 1), np.bool_)
    # exponent 0 and stasis at freezing_start: the model without the ice law and cold stasis
    args = (theta, s, w, s_warm, w_warm, fixed, -8.0, -1.0, 4.0, cold, -1.0, 273.15, 0.0, -kt.NEVER)
    args += (np.zeros((1, 1, 3)), 0.0, 2.0, kt.NEVER)
    n = kt.freeze_coefficients(*args)
    assert n == 2
    np.testing.assert_allclose(s[1, 1, 1:4], [2.0, np.sqrt(1 + 3 * 0.5), 1.0])
    np.testing.assert_array_equal(w[1, 1, 1:4], [0.0, 0.0, 7.0])
    assert cold[0, 0]
    theta[...] = 5.0  # thawed: the row is restored once, then skipped
    n = kt.freeze_coefficients(*args)
    assert n == 0
    np.testing.assert_array_equal(s, s_warm)
    np.testing.assert_array_equal(w, w_warm)
    assert not cold[0, 0]


def test_ice_law_and_cold_stasis():
    """Below the freezing range k rises as (T_end / T)^n in kelvin; perfusion stops below the
    stasis temperature even where the tissue has not started to freeze."""
    theta = np.zeros((3, 3, 6), np.float64)  # offsets from 37 degC
    theta[1, 1, 1:5] = [-37.0 - 100.0, -37.0 - 8.0, -37.0 + 3.0, -37.0 + 20.0]
    s_warm = np.ones_like(theta)
    w_warm = np.full_like(theta, 7.0)
    s, w = s_warm.copy(), w_warm.copy()
    fixed = np.zeros((1, 1, 4), np.uint8)
    cold = np.zeros((1, 1), np.bool_)
    kelvin = 37.0 + 273.15
    lo, hi, stasis = -37.0 - 8.0, -37.0 - 1.0, -37.0 + 10.0
    args = (theta, s, w, s_warm, w_warm, fixed, lo, hi, 4.0, cold, stasis, kelvin, 1.0, -kt.NEVER)
    args += (np.zeros((1, 1, 4)), 0.0, 2.0, kt.NEVER)
    assert kt.freeze_coefficients(*args) == 2
    k = s[1, 1, 1:5] ** 2
    np.testing.assert_allclose(k, [4.0 * 265.15 / 173.15, 4.0, 1.0, 1.0], rtol=1e-12)
    # -100 and -8 degC frozen, +3 degC chilled below the +10 degC stasis: no flow; +20 flows
    np.testing.assert_array_equal(w[1, 1, 1:5], [0.0, 0.0, 0.0, 7.0])
    assert cold[0, 0]


@pytest.mark.parametrize("kernel", [kt.freeze_coefficients, kt.freeze_coefficients_numpy])
def test_tissue_frozen_below_the_injury_temperature_stays_unperfused_when_it_thaws(kernel):
    """Frozen below ``injury`` the voxel's perfusion is gone for good; frozen less deeply, or
    only chilled, it flows again once warm. A held voxel is never touched."""
    theta = np.zeros((3, 3, 6), np.float64)  # offsets from 0 degC
    theta[1, 1, 1:5] = [-20.0, -4.0, -20.0, 5.0]
    s_warm = np.ones_like(theta)
    w_warm = np.full_like(theta, 7.0)
    s, w = s_warm.copy(), w_warm.copy()
    fixed = np.zeros((1, 1, 4), np.uint8)
    fixed[0, 0, 2] = 1  # the third voxel is a held probe voxel
    cold = np.zeros((1, 1), np.bool_)
    args = (theta, s, w, s_warm, w_warm, fixed, -8.0, -1.0, 4.0, cold, -1.0, 273.15, 0.0, -8.0)
    args += (np.zeros((1, 1, 4)), 5.0, 2.0, kt.NEVER)
    kernel(*args)
    np.testing.assert_array_equal(w[1, 1, 1:5], [0.0, 0.0, 0.0, 7.0])
    theta[...] = 5.0  # thawed
    kernel(*args)
    np.testing.assert_array_equal(w[1, 1, 1:5], [0.0, 7.0, 0.0, 7.0])
    np.testing.assert_array_equal(w_warm[1, 1, 1:5], [0.0, 7.0, 7.0, 7.0])


@pytest.mark.parametrize("kernel", [kt.freeze_coefficients, kt.freeze_coefficients_numpy])
def test_chilled_tissue_stops_perfusing_once_its_exposure_to_cold_reaches_the_dose(kernel):
    """Exposure accumulates (blood - T) * dt in free voxels colder than the blood; flow stops for
    good at the dose, even where the voxel never froze and warms again."""
    theta = np.full((3, 3, 5), 37.0)  # offsets from 0 degC; blood at 37 degC
    theta[1, 1, 1:4] = [17.0, 27.0, 17.0]  # 20 K, 10 K and (held) 20 K below the blood
    s_warm = np.ones_like(theta)
    w_warm = np.full_like(theta, 7.0)
    s, w = s_warm.copy(), w_warm.copy()
    fixed = np.zeros((1, 1, 3), np.uint8)
    fixed[0, 0, 2] = 1
    cold = np.zeros((1, 1), np.bool_)
    exposure = np.zeros((1, 1, 3))
    base = (theta, s, w, s_warm, w_warm, fixed, -8.0, -1.0, 4.0, cold, -1.0, 273.15, 0.0, -8.0)

    def call(dt):
        return kernel(*base, exposure, 37.0, dt, 1000.0)

    call(0.0)
    call(40.0)  # 800 and 400 K*s: all still flow
    np.testing.assert_allclose(exposure[0, 0], [800.0, 400.0, 0.0])
    np.testing.assert_array_equal(w[1, 1, 1:4], [7.0, 7.0, 0.0])
    call(20.0)  # 1200 K*s: the first voxel shuts
    np.testing.assert_array_equal(w[1, 1, 1:4], [0.0, 7.0, 0.0])
    theta[1, 1, 1:4] = 37.0  # rewarmed: the first stays shut, the second flows
    call(100.0)
    np.testing.assert_array_equal(w[1, 1, 1:4], [0.0, 7.0, 0.0])
    np.testing.assert_allclose(exposure[0, 0], [1200.0, 600.0, 0.0])
