"""Agent transport kernels: NumPy references, the exact reaction, and the titration front."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tissuefate.kernels import transport as kt
from tissuefate.validation.exact import titration_front
from tissuefate.validation.injection import titration_front_1d


def test_titration_front_worked_number():
    # the example: D = 1e-9 m²/s, C0/Θ = 0.05, 1 h -> 0.595 mm
    assert titration_front(1e-9, 0.05, 1.0, 3600.0) == pytest.approx(0.595e-3, abs=0.001e-3)


@pytest.mark.parametrize("seed", [0, 1])
def test_diffuse_and_react_match_references(seed):
    rng = np.random.default_rng(seed)
    shape = (7, 6, 9)
    pad = tuple(n + 2 for n in shape)
    c = rng.uniform(0, 5, pad)
    d = rng.uniform(0, 2e-9, pad)
    d[rng.random(pad) < 0.1] = 0.0
    cap = rng.uniform(0.1, 1.0, pad)
    hold = (rng.random(shape) < 0.05).astype(np.uint8)
    outs = []
    for kernel in (kt.diffuse_step, kt.diffuse_step_numpy):
        out, inflow = np.zeros(pad), np.zeros(shape[0])
        kernel(c, d, cap, hold, out, 0.1 / 2e-9, inflow)
        outs.append((out[1:-1, 1:-1, 1:-1], inflow))
    np.testing.assert_allclose(outs[0][0], outs[1][0], rtol=1e-12)
    np.testing.assert_allclose(outs[0][1], outs[1][1], rtol=1e-10, atol=1e-300)
    cc = rng.uniform(0, 5, shape)
    th = rng.uniform(0, 5, shape)
    th[0, 0, 0] = cc[0, 0, 0]  # δ = 0
    k = rng.uniform(0, 1e3, shape)
    w = rng.uniform(0.1, 1.0, shape)
    res = []
    for kernel in (kt.react_step, kt.react_step_numpy):
        c2, t2, used = cc.copy(), th.copy(), np.zeros(shape[0])
        kernel(c2, t2, k, w, 0.7, used)
        res.append((c2, t2, used))
    rate = rng.uniform(0, 1e-2, shape)
    for kernel in (kt.decay_step, kt.decay_step_numpy):
        c2, gone = cc.copy(), np.zeros(shape[0])
        kernel(c2, rate, w, 30.0, gone)
        res.append((c2, gone, gone))
    for a, b in zip(res[0], res[1], strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)


def test_reaction_step_is_exact_and_conserves_the_difference():
    # one big step equals many small ones (the exact solution composes), and C - Θ is conserved
    c0, t0, k = (
        np.array([[[2.0, 1.0, 3.0]]]),
        np.array([[[1.0, 1.0, 5.0]]]),
        np.full((1, 1, 3), 0.3),
    )
    big_c, big_t = c0.copy(), t0.copy()
    ones = np.ones_like(k)
    kt.react_step(big_c, big_t, k, ones, 10.0, np.zeros(1))
    small_c, small_t = c0.copy(), t0.copy()
    for _ in range(1000):
        kt.react_step(small_c, small_t, k, ones, 0.01, np.zeros(1))
    np.testing.assert_allclose(big_c, small_c, rtol=1e-9)
    np.testing.assert_allclose(big_c - big_t, c0 - t0, rtol=1e-12)
    # the closed form at δ = 1, Θ0/C0 = 1/2: C = 1 / (1 - e^{-3}/2)
    assert big_c[0, 0, 0] == pytest.approx(1.0 / (1.0 - 0.5 * math.exp(-3.0)), rel=1e-12)


@pytest.mark.slow
def test_fast_reaction_titration_front_within_3_percent():
    r = titration_front_1d()
    assert r["front"] == pytest.approx(r["exact"], rel=0.03)
    # mass: what the held cell gave = agent in the tissue + consumed
    assert r["injected"] == pytest.approx(r["in_tissue"] + r["consumed"], rel=1e-9)


def _radial_flow(shape, rng):
    """Face fluxes of a random divergence-free-but-for-sources flow: the Darcy flow of a point
    infusion in a random permeability, as the injection uses it."""
    from tissuefate.grid.grid import Grid
    from tissuefate.physics.darcy import DarcySolver

    grid = Grid(shape=shape, spacing=1e-3)
    k = rng.uniform(0.5e-14, 2e-14, shape)
    darcy = DarcySolver(grid, k, 1e-3)
    tip = (0.3e-3, -0.2e-3, 0.1e-3)
    p, _ = darcy.solve([(tip, 3e-9)], tol=1e-12)
    return grid, darcy, p, darcy.source([(tip, 3e-9)])


def _sweep(kernel, p, faces, cap, c, source, dt, tiny=0.0, inside=None, order=None, cap_new=None):
    """Run a sweep kernel on one field; returns (new c, out of box, spilled, push)."""
    order = np.argsort(-p, axis=None, kind="stable") if order is None else order
    inside = np.ones(p.shape, np.uint8) if inside is None else inside
    fields, push = c[None].copy(), np.zeros((1, *p.shape))
    spilled, out = np.zeros(1), np.zeros(1)
    kernel(order, inside, *faces, cap, cap if cap_new is None else cap_new, fields, source[None],
           dt, push, np.array([tiny]), spilled, out)  # fmt: skip
    return fields[0], out[0], spilled[0], push


@pytest.mark.parametrize("dt", [0.05, 2.0, 60.0])
def test_upwind_sweep_solves_the_implicit_system_exactly_and_conserves(dt):
    rng = np.random.default_rng(3)
    shape = (9, 8, 10)
    grid, darcy, p, fluid = _radial_flow(shape, rng)
    faces = darcy.face_fluxes(p)
    cap = rng.uniform(0.1, 0.4, shape) * grid.voxel_volume
    c0 = np.where(rng.random(shape) < 0.3, rng.uniform(0, 2, shape), 0.0)
    source = 5.0 * fluid  # injectate at 5 mol/m³
    results = []
    for kernel in (kt.upwind_sweep, kt.upwind_sweep_numpy):
        c, gone, _, push = _sweep(kernel, p, faces, cap, c0, source, dt)
        results.append((c, gone))
        assert not push.any()
    np.testing.assert_allclose(results[0][0], results[1][0], rtol=1e-9, atol=1e-14)
    c, gone = results[0]
    before = (cap * c0).sum() + source.sum() * dt
    assert (cap * c).sum() + gone == pytest.approx(before, rel=1e-13)
    assert c.min() >= 0.0
    assert c.max() <= max(c0.max(), 5.0) * (1 + 1e-12)  # monotone


@pytest.mark.parametrize("dt", [0.5, 20.0])
def test_upwind_sweep_with_storage_matches_reference_and_conserves(dt):
    # one backward-Euler step of a tissue storing fluid: the fluxes of the new pressure balance
    # the infusion less the change of each voxel's fluid volume, so injectate (fraction 1 of the
    # infused liquid) fills exactly what was infused, and a uniform fraction stays uniform
    rng = np.random.default_rng(8)
    shape = (9, 8, 10)
    from tissuefate.grid.grid import Grid
    from tissuefate.physics.darcy import DarcySolver

    grid = Grid(shape=shape, spacing=1e-3)
    storage = rng.uniform(0.5e-4, 2e-4, shape)
    darcy = DarcySolver(grid, rng.uniform(0.5e-14, 2e-14, shape), 1e-3, storage=storage,
                        open_faces="far_field", centre=(0.0, 0.0, 0.0))  # fmt: skip
    tip = (0.3e-3, -0.2e-3, 0.1e-3)
    darcy.step([(tip, 3e-9)], dt, tol=1e-13)  # a first step: the pressure is not steady yet
    cap = 0.2 * grid.voxel_volume + storage * grid.voxel_volume * darcy.pressure
    p, _ = darcy.step([(tip, 3e-9)], dt, tol=1e-13)
    cap_new = 0.2 * grid.voxel_volume + storage * grid.voxel_volume * p
    faces = darcy.face_fluxes(p)
    fluid = darcy.source([(tip, 3e-9)])
    c0 = np.where(rng.random(shape) < 0.3, rng.uniform(0, 2, shape), 0.0)
    results = []
    for kernel in (kt.upwind_sweep, kt.upwind_sweep_numpy):
        c, gone, _, _ = _sweep(kernel, p, faces, cap, c0, 5.0 * fluid, dt, cap_new=cap_new)
        results.append(c)
        before = (cap * c0).sum() + 5.0 * fluid.sum() * dt
        assert (cap_new * c).sum() + gone == pytest.approx(before, rel=1e-12)
    np.testing.assert_allclose(results[0], results[1], rtol=1e-9, atol=1e-14)
    # a uniform injectate fraction of 1 stays 1 (to the pressure solve's tolerance)
    c, _, _, _ = _sweep(kt.upwind_sweep, p, faces, cap, np.ones(shape), fluid, dt, cap_new=cap_new)
    np.testing.assert_allclose(c, 1.0, rtol=1e-8)


def test_upwind_sweep_moves_several_fields_independently():
    # two fields in one sweep give exactly what each gives alone
    rng = np.random.default_rng(6)
    shape = (9, 8, 10)
    grid, darcy, p, fluid = _radial_flow(shape, rng)
    faces = darcy.face_fluxes(p)
    cap = np.full(shape, 0.2 * grid.voxel_volume)
    order = np.argsort(-p, axis=None, kind="stable")
    starts = [np.zeros(shape), rng.uniform(0, 1, shape)]
    sources = [3.0 * fluid, fluid]
    fields = np.stack(starts)
    push, spilled, out = np.zeros((2, *shape)), np.zeros(2), np.zeros(2)
    kt.upwind_sweep(order, np.ones(shape, np.uint8), *faces, cap, cap, fields, np.stack(sources),
                    1.0, push, np.zeros(2), spilled, out)  # fmt: skip
    for f in range(2):
        alone, gone, _, _ = _sweep(kt.upwind_sweep, p, faces, cap, starts[f], sources[f], 1.0)
        np.testing.assert_array_equal(fields[f], alone)
        assert out[f] == gone


def test_upwind_sweep_keeps_tiny_amounts_without_losing_them():
    rng = np.random.default_rng(4)
    shape = (9, 8, 10)
    grid, darcy, p, fluid = _radial_flow(shape, rng)
    faces = darcy.face_fluxes(p)
    cap = np.full(shape, 0.2 * grid.voxel_volume)
    # 30 pL per 10 ms step; amounts below 1e-5 of that stay where they are
    c, gone, _, _ = _sweep(kt.upwind_sweep, p, faces, cap, np.zeros(shape), fluid, 0.01, 3e-16)
    assert gone == 0.0
    assert (cap * c).sum() == pytest.approx(fluid.sum() * 0.01, rel=1e-13)
    assert np.count_nonzero(c) < c.size // 2  # the work stayed near the tip


def test_upwind_sweep_of_a_region_conserves_and_spills_to_its_edge():
    # sweep only the 100 highest-pressure voxels: what leaves them lands just beyond, none lost
    rng = np.random.default_rng(5)
    shape = (9, 8, 10)
    grid, darcy, p, fluid = _radial_flow(shape, rng)
    faces = darcy.face_fluxes(p)
    cap = np.full(shape, 0.2 * grid.voxel_volume)
    order = np.argsort(-p, axis=None, kind="stable")[:100]
    inside = np.zeros(shape, np.uint8)
    inside.flat[order] = 1
    c, gone, spilled, push = _sweep(kt.upwind_sweep, p, faces, cap, np.zeros(shape), fluid, 5.0,
                                    inside=inside, order=order)  # fmt: skip
    assert gone == 0.0
    assert not push.any()
    assert (cap * c).sum() == pytest.approx(fluid.sum() * 5.0, rel=1e-13)
    beyond = (c > 0) & (inside == 0)
    assert beyond.any()
    assert spilled == pytest.approx((cap * c)[beyond].sum(), rel=1e-12)
    # every voxel that received a spill touches the region
    grown = np.zeros(shape, bool)
    for axis in range(3):
        for shift in (-1, 1):
            grown |= np.roll(inside.astype(bool), shift, axis=axis)
    assert np.all(grown[beyond])


def test_explicit_upwind_outside_the_region_matches_reference_and_conserves():
    rng = np.random.default_rng(7)
    shape = (9, 8, 10)
    grid, darcy, p, _ = _radial_flow(shape, rng)
    faces = darcy.face_fluxes(p)
    cap = np.full(shape, 0.2 * grid.voxel_volume)
    inside = np.zeros(shape, np.uint8)
    inside.flat[np.argsort(-p, axis=None)[:60]] = 1
    c_a = rng.uniform(0, 2, shape) * (rng.random(shape) < 0.5)
    c_b = rng.uniform(0, 1, shape) * (rng.random(shape) < 0.5)
    box = np.array([1, 9, 0, 7, 2, 10], np.int64)
    results = []
    for kernel in (kt.upwind_explicit, kt.upwind_explicit_numpy):
        delta, out = np.zeros((2, *shape)), np.zeros(2)
        worst = kernel(box, inside, *faces, cap, c_a, c_b, 0.5, delta, out)
        results.append((delta, out, worst))
    np.testing.assert_allclose(results[0][0], results[1][0], rtol=1e-10, atol=1e-25)
    np.testing.assert_allclose(results[0][1], results[1][1], rtol=1e-10, atol=1e-25)
    assert results[0][2] == pytest.approx(results[1][2], rel=1e-12)
    delta, out, _ = results[0]
    # amounts only move (or leave the grid); inside voxels and voxels outside the box send none
    assert delta[0].sum() + out[0] == pytest.approx(0.0, abs=1e-12 * (c_a * cap).sum())
    sent = delta < 0
    assert not np.any(sent[:, inside.astype(bool)])
    assert not np.any(sent[:, 0])
