"""Radiofrequency source kernels against their NumPy references and against the sums they promise.

``lookup_weighted_change`` fills σ(T) from a per-material table and returns the Joule-weighted
moments of σ / σ_solved; ``scaled_source`` writes ``scale q_unit σ / σ_solved`` into the interior of
the padded source and returns the float64 sum of what it wrote. Both run on random inputs with the
solver's dtypes: float32 padded temperature, uint8 material, float64 σ, float32 weights.
"""

from __future__ import annotations

import numpy as np
import pytest

from tissuefate.kernels import source as ks

SHAPE = (9, 7, 11)  # unpadded; odd sizes so no plane or row is special
T0 = -97.0  # K, first table sample as an offset from the reference temperature
DT = 0.5  # K, table step (the radiofrequency table's)
N_TABLE = 300


# the vaporisation window as offsets and the conductivity fall across it (the table's own shape
# does not matter to the kernels: the dried state multiplies whatever the table gives)
WET, WIDTH, LOG_DRY = 20.0, 2.0, np.log(0.01)


def _fresh(theta: np.ndarray) -> tuple:
    """Front at the window's lower edge (nothing dried) and the window, for the lookup."""
    return np.full_like(theta, WET), WET, WIDTH, LOG_DRY


def _dried(theta: np.ndarray, seed: int) -> tuple:
    """Fronts below, inside and above the window: voxels partly or fully boiled dry."""
    rng = np.random.default_rng(100 + seed)
    front = rng.uniform(WET - 2.0, WET + WIDTH + 2.0, theta.shape).astype(theta.dtype)
    return front, WET, WIDTH, LOG_DRY


def _inputs(seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    table = np.stack(
        [
            0.3 + 0.01 * np.cumsum(rng.uniform(0.0, 1.0, N_TABLE)),
            0.5 + 0.02 * np.cumsum(rng.uniform(0.0, 1.0, N_TABLE)),
        ]
    )
    padded = tuple(n + 2 for n in SHAPE)
    # below the table (clamped to its first sample) up to just under its last sample
    top = T0 + (N_TABLE - 1) * DT
    theta = rng.uniform(T0 - 20.0, top - 1e-3, padded).astype(np.float32)
    material = rng.integers(0, 2, SHAPE).astype(np.uint8)
    ref = rng.uniform(0.1, 2.0, SHAPE)
    ref[rng.random(SHAPE) < 0.2] = 0.0  # insulated or unsolved voxels
    weight = rng.uniform(0.0, 5.0e4, SHAPE).astype(np.float32)
    return {"table": table, "theta": theta, "material": material, "ref": ref, "weight": weight}


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_lookup_weighted_change_matches_reference(seed):
    d = _inputs(seed)
    out = np.full(SHAPE, np.nan)
    out_ref = np.full(SHAPE, np.nan)
    args = (d["theta"], d["material"], d["table"], T0, DT)
    dry = _dried(d["theta"], seed)
    got = ks.lookup_weighted_change(*args, out, d["ref"], d["weight"], *dry)
    want = ks.lookup_weighted_change_numpy(*args, out_ref, d["ref"], d["weight"], *dry)
    # interpolation of the same two samples: equal to a few float64 ulps
    np.testing.assert_allclose(out, out_ref, rtol=1e-12)
    # three float64 sums of ~800 positive terms in different orders
    np.testing.assert_allclose(got, want, rtol=1e-10)


def test_lookup_weighted_change_returns_the_moments_it_documents():
    d = _inputs(3)
    out = np.empty(SHAPE)
    s1, s2, s0 = ks.lookup_weighted_change(
        d["theta"], d["material"], d["table"], T0, DT, out, d["ref"], d["weight"],
        *_dried(d["theta"], 3),
    )  # fmt: skip
    live = d["ref"] > 0
    w = d["weight"][live].astype(np.float64)
    r = out[live] / d["ref"][live]
    assert s0 == pytest.approx(w.sum(), rel=1e-10)
    assert s1 == pytest.approx((w * r).sum(), rel=1e-10)
    assert s2 == pytest.approx((w * r * r).sum(), rel=1e-10)
    assert 0 < live.sum() < live.size  # both kinds of voxel were present


def test_lookup_is_linear_between_samples_and_clamped_below_the_table():
    d = _inputs(4)
    padded = tuple(n + 2 for n in SHAPE)
    theta = np.full(padded, T0 + 10.25 * DT, np.float32)  # a quarter of the way, sample 10 -> 11
    theta[1, 1, 1] = T0 - 50.0  # below the table
    out = np.empty(SHAPE)
    ks.lookup_weighted_change(
        theta, d["material"], d["table"], T0, DT, out, d["ref"], d["weight"], *_fresh(theta)
    )
    m = d["material"]
    expected = 0.75 * d["table"][m, 10] + 0.25 * d["table"][m, 11]
    expected[0, 0, 0] = d["table"][m[0, 0, 0], 0]
    np.testing.assert_allclose(out, expected, rtol=1e-12)


@pytest.mark.parametrize("impl", ["compiled", "numpy"])
def test_lookup_keeps_dried_tissue_at_the_conductivity_of_the_water_it_has_left(impl):
    """A voxel that boiled through a fraction ``d`` of the window and cooled keeps the table's
    value times ``exp(LOG_DRY d)``; above its front the table alone decides."""
    kernel = ks.lookup_weighted_change if impl == "compiled" else ks.lookup_weighted_change_numpy
    d = _inputs(6)
    padded = tuple(n + 2 for n in SHAPE)
    theta = np.full(padded, T0 + 100.0 * DT, np.float32)  # -47 K: cooled well below the window
    theta[1, 1, 3] = WET + 0.5 * WIDTH  # inside the window, at its front
    front = np.full(padded, WET, np.float32)
    front[1, 1, 1] = WET + WIDTH  # boiled dry
    front[1, 1, 2] = WET + 0.5 * WIDTH  # half
    front[1, 1, 3] = WET + 0.5 * WIDTH
    out = np.empty(SHAPE)
    kernel(theta, d["material"], d["table"], T0, DT, out, d["ref"], d["weight"], front, WET,
           WIDTH, LOG_DRY)  # fmt: skip
    m = d["material"]
    plain = d["table"][m, 100]
    np.testing.assert_allclose(out[0, 0, 0], 0.01 * plain[0, 0, 0], rtol=1e-6)
    np.testing.assert_allclose(out[0, 0, 1], 0.1 * plain[0, 0, 1], rtol=1e-6)
    x = (WET + 0.5 * WIDTH - T0) / DT  # the table at the voxel's own temperature
    at = d["table"][m[0, 0, 2], int(x)] * (1 - x % 1) + d["table"][m[0, 0, 2], int(x) + 1] * (x % 1)
    np.testing.assert_allclose(out[0, 0, 2], at, rtol=1e-6)
    np.testing.assert_allclose(out.ravel()[3:], plain.ravel()[3:], rtol=1e-12)


def test_lookup_clamps_above_the_table_like_the_reference():
    d = _inputs(5)
    padded = tuple(n + 2 for n in SHAPE)
    theta = np.full(padded, T0 + (N_TABLE + 40) * DT, np.float32)
    out = np.empty(SHAPE)
    out_ref = np.empty(SHAPE)
    args = (theta, d["material"], d["table"], T0, DT)
    ks.lookup_weighted_change(*args, out, d["ref"], d["weight"], *_fresh(theta))
    ks.lookup_weighted_change_numpy(*args, out_ref, d["ref"], d["weight"], *_fresh(theta))
    # the compiled kernel clamps the index to n - 1.000001 (branch-free), the reference to n - 1:
    # both give the last sample to within 1e-6 of the last interval's rise (< 1e-6 relative here)
    np.testing.assert_allclose(out, d["table"][d["material"], -1], rtol=1e-6)
    np.testing.assert_allclose(out, out_ref, rtol=1e-6)


def _scaled_inputs(seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    q_unit = rng.uniform(0.0, 3.0e3, SHAPE).astype(np.float32)  # W/m^3/V^2
    sigma = rng.uniform(0.05, 1.5, SHAPE)
    ref = rng.uniform(0.1, 1.0, SHAPE)
    ref[rng.random(SHAPE) < 0.25] = 0.0
    return q_unit, sigma, ref


SENTINEL = 123.5  # a value no voxel of the source takes
IC = 1.0 / 3.8e6  # 1/ρc of liver, m³K/J
LATENT = 1.27e9  # J/m³, latent heat of the tissue water (liver: 1079 * 0.75 * 2.26e6 J)


def _no_limit():
    """Temperatures (padded offsets, 0 K) far above a dry-out window that never binds."""
    padded = tuple(n + 2 for n in SHAPE)
    theta = np.zeros(padded, np.float32)
    ic = np.full(padded, IC, np.float32)
    return theta, ic, np.full(padded, -1002.0, np.float32), -1002.0, -1000.0, LATENT, 2.0


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_scaled_source_matches_reference_and_writes_only_the_interior(seed):
    q_unit, sigma, ref = _scaled_inputs(seed)
    scale = 41.7**2  # V^2
    padded = tuple(n + 2 for n in SHAPE)
    q = np.full(padded, SENTINEL, np.float32)
    q_ref = np.full(padded, SENTINEL, np.float32)
    total = ks.scaled_source(q_unit, sigma, ref, scale, q, *_no_limit())
    total_ref = ks.scaled_source_numpy(q_unit, sigma, ref, scale, q_ref, *_no_limit())

    inner = (slice(1, -1),) * 3
    border = np.ones(padded, bool)
    border[inner] = False
    assert np.all(q[border] == SENTINEL)
    # the same float64 product rounded to float32: at most one float32 ulp apart
    np.testing.assert_allclose(q[inner], q_ref[inner], rtol=2.4e-7)
    assert np.all(q[inner][ref == 0] == 0.0)
    # the returned total is the float64 sum of the float32 values written (summation order only)
    assert total == pytest.approx(float(q[inner].sum(dtype=np.float64)), rel=1e-12)
    assert total == pytest.approx(total_ref, rel=1e-10)


def test_scaled_source_is_q_unit_times_the_conductivity_ratio():
    q_unit, sigma, ref = _scaled_inputs(3)
    scale = 2.5e3
    padded = tuple(n + 2 for n in SHAPE)
    q = np.zeros(padded, np.float32)
    ks.scaled_source(q_unit, sigma, ref, scale, q, *_no_limit())
    live = ref > 0
    expected = np.zeros(SHAPE)
    expected[live] = q_unit[live] * (sigma[live] / ref[live]) * scale
    # float32 storage: relative error at most half an ulp (6e-8), allow two ulps for FMA/reorder
    np.testing.assert_allclose(q[1:-1, 1:-1, 1:-1], expected, rtol=2.4e-7)


@pytest.mark.parametrize("impl", ["compiled", "numpy"])
def test_scaled_source_gives_no_voxel_more_than_the_heat_that_dries_it(impl):
    # wet at 99 °C, dry at 101 °C (offsets from 0 °C); a 2 s interval
    kernel = ks.scaled_source if impl == "compiled" else ks.scaled_source_numpy
    shape = (1, 1, 4)
    q_unit = np.full(shape, 1.0e9, np.float32)  # far more than any voxel can take
    q_unit[0, 0, 3] = 1.0  # a weak source: below its limit
    sigma = np.ones(shape)
    ref = np.ones(shape)
    theta = np.zeros((3, 3, 6), np.float32)
    theta[1, 1, 1:5] = [89.0, 100.0, 120.0, 50.0]
    ic = np.full((3, 3, 6), IC, np.float32)
    ic[1, 1, 1] = 0.0  # a held voxel is left alone
    q = np.zeros((3, 3, 6), np.float32)
    front = np.full_like(theta, 99.0)
    total = kernel(q_unit, sigma, ref, 1.0, q, theta, ic, front, 99.0, 101.0, LATENT, 2.0)
    got = q[1, 1, 1:5].astype(np.float64)
    need_100 = (1.0 / IC + 0.5 * LATENT) / 2.0  # 1 K of sensible heat plus half the latent heat
    np.testing.assert_allclose(got, [1.0e9, need_100, 1.0e9, 1.0], rtol=1e-6)
    assert total == pytest.approx(got.sum(), rel=1e-12)
    # a voxel that boiled half dry and cooled to 89 °C needs 12 K and the half it has left
    theta[1, 1, 2] = 89.0
    front[1, 1, 2] = 100.0
    kernel(q_unit, sigma, ref, 1.0, q, theta, ic, front, 99.0, 101.0, LATENT, 2.0)
    need_dried = (12.0 / IC + 0.5 * LATENT) / 2.0
    np.testing.assert_allclose(float(q[1, 1, 2]), need_dried, rtol=1e-6)


@pytest.mark.parametrize("seed", [0, 1])
def test_lookup_weighted_change_at_sums_the_full_lookup_over_its_voxels(seed):
    """Over every voxel it is the full lookup's Σ w r; over a subset, the NumPy reference's."""
    d = _inputs(seed)
    args = (d["theta"], d["material"], d["table"], T0, DT)
    dry = _dried(d["theta"], seed)
    out = np.empty(SHAPE)
    sums = ks.lookup_weighted_change(*args, out, d["ref"], d["weight"], *dry)
    every = np.arange(out.size, dtype=np.int64)
    full = ks.lookup_weighted_change_at(*args, d["ref"], d["weight"], *dry, every)
    np.testing.assert_allclose(full, sums, rtol=1e-12)
    some = np.flatnonzero(np.random.default_rng(seed).random(out.size) < 0.3).astype(np.int64)
    got = ks.lookup_weighted_change_at(*args, d["ref"], d["weight"], *dry, some)
    want = ks.lookup_weighted_change_at_numpy(*args, d["ref"], d["weight"], *dry, some)
    np.testing.assert_allclose(got, want, rtol=1e-12)
    assert all(0.0 < g < f for g, f in zip(got, full, strict=True))
