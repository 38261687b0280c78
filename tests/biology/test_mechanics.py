"""Tissue mechanics: the pressure-Poisson velocity against the exact field of a uniform source in
a sphere, the donor-cell advection against its exact moments, conservation and boundedness."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tissuefate.biology.mechanics import (
    CARRIED,
    VOLUMES,
    Mechanics,
    MechanicsParameters,
    _unit_faces,
    face_fluxes,
)
from tissuefate.grid.anatomy import Anatomy
from tissuefate.grid.grid import Grid
from tissuefate.kernels import advect as ka
from tissuefate.physics.elliptic import MultigridPCG
from tissuefate.tissue.presets import load_tissue
from tissuefate.tissue.state import TissueState

DAY = 86400.0


def _sphere_fraction(n: int, radius: float) -> tuple[np.ndarray, np.ndarray]:
    """Partial-volume fraction of a sphere of ``radius`` voxels at the centre of an n³ box
    (4³ sub-samples per voxel), and each voxel centre's distance from the centre."""
    ax = np.arange(n) - (n - 1) / 2
    x, y, z = np.meshgrid(ax, ax, ax, indexing="ij")
    sub = (np.arange(4) + 0.5) / 4 - 0.5
    frac = np.zeros((n, n, n))
    for a in sub:
        for b in sub:
            for c in sub:
                frac += (x + a) ** 2 + (y + b) ** 2 + (z + c) ** 2 <= radius * radius
    return frac / 64, np.stack([x, y, z])


@pytest.mark.slow
def test_uniform_source_in_a_sphere_gives_the_exact_velocity():
    """v(r) = S r / 3 inside, S R³ / (3 r²) outside: within 2 % from the centre to 3 voxels
    inside the surface and from 3 to 6 voxels outside it (1 mm voxels, box 3.2 R across)."""
    n, radius, rate = 64, 10.0, 1e-3
    frac, pos = _sphere_fraction(n, radius)
    faces = _unit_faces(np.ones((n, n, n), bool))
    solver = MultigridPCG(*faces, None, np.zeros((n, n, n), np.uint8))
    (f0, f1, f2), iterations = face_fluxes(solver, rate * frac, faces, 1e-9)
    assert 0 < iterations < 30
    v = np.stack(
        [
            0.5 * (f0[:-1] + f0[1:]),
            0.5 * (f1[:, :-1] + f1[:, 1:]),
            0.5 * (f2[:, :, :-1] + f2[:, :, 1:]),
        ]
    )
    r = np.sqrt((pos**2).sum(axis=0))
    radial = (v * pos).sum(axis=0) / np.where(r > 0, r, 1.0)
    exact = np.where(r <= radius, rate * r / 3, rate * radius**3 / (3 * np.maximum(r, 1e-9) ** 2))
    inside = (r >= 2) & (r <= radius - 3)
    outside = (r >= radius + 3) & (r <= radius + 6)
    assert np.abs(radial[inside] / exact[inside] - 1).max() < 0.02
    assert np.abs(radial[outside] / exact[outside] - 1).max() < 0.02
    # and the flow is radial: the tangential part is small against the radial one
    tangential = np.sqrt(np.maximum((v**2).sum(axis=0) - radial**2, 0))
    assert (tangential[outside] / radial[outside]).max() < 0.02


def test_fluxes_take_exactly_the_export_out_of_every_voxel():
    rng = np.random.default_rng(3)
    n = 20
    tissue = np.ones((n, n, n), bool)
    tissue[5:8, 5:15, 9] = False  # a vessel wall
    export = np.where(tissue, rng.normal(0, 0.01, (n, n, n)), 0.0)
    faces = _unit_faces(tissue)
    solver = MultigridPCG(*faces, None, np.zeros((n, n, n), np.uint8))
    (f0, f1, f2), _ = face_fluxes(solver, export, faces, 1e-11)
    net = (f0[1:] - f0[:-1]) + (f1[:, 1:] - f1[:, :-1]) + (f2[:, :, 1:] - f2[:, :, :-1])
    assert np.abs(net - export).max() < 1e-10
    # nothing crosses a wall
    assert not f0[6:8][~tissue[5:7] | ~tissue[6:8]].any()


def _translate(impl: str, courant: float, steps: int) -> tuple[np.ndarray, np.ndarray]:
    """A Gaussian tracer (volume and intensive) carried along axis 0 at Courant ``courant``."""
    n = 48
    ax = np.arange(n, dtype=float)
    blob = np.exp(-((ax - 12.0) ** 2) / (2 * 2.0**2))[:, None, None] * np.ones((n, 6, 6))
    q = np.zeros((2, n + 2, 8, 8))
    q[0, 1:-1, 1:-1, 1:-1] = 0.5 * blob
    q[1] = 1.0 - q[0]
    q[:, :, 0], q[:, :, -1], q[:, :, :, 0], q[:, :, :, -1] = 0, 0, 0, 0
    q[1, 0], q[1, -1] = 1.0, 1.0
    x = np.zeros((1, n + 2, 8, 8))
    x[0, 1:-1, 1:-1, 1:-1] = blob
    content = q.sum(axis=0)
    f0 = np.full((n + 1, 6, 6), courant)
    f1 = np.zeros((n, 7, 6))
    f2 = np.zeros((n, 6, 7))
    step = ka.advect_step if impl == "compiled" else ka.advect_step_numpy
    qn, xn, cn = np.empty((2, n, 6, 6)), np.empty((1, n, 6, 6)), np.empty((n, 6, 6))
    inner = (slice(1, -1),) * 3
    for _ in range(steps):
        step(q, x, content, f0, f1, f2, qn, xn, cn)
        q[(slice(None), *inner)] = qn
        x[(slice(None), *inner)] = xn
        content[inner] = cn
    return q[0, 1:-1, 3, 3], x[0, 1:-1, 3, 3]


@pytest.mark.parametrize("impl", ["compiled", "numpy"])
def test_rigid_translation_moves_the_mean_exactly_and_spreads_by_the_stated_diffusion(impl):
    courant, steps = 0.4, 30
    ax = np.arange(48, dtype=float)
    for profile0, profile in zip(
        _translate(impl, courant, 0), _translate(impl, courant, steps), strict=True
    ):
        m0, m1 = profile0.sum(), profile.sum()
        assert m1 == pytest.approx(m0, rel=1e-12)  # conserved
        mean0 = (ax * profile0).sum() / m0
        mean1 = (ax * profile).sum() / m1
        assert mean1 - mean0 == pytest.approx(steps * courant, abs=1e-9)
        var0 = ((ax - mean0) ** 2 * profile0).sum() / m0
        var1 = ((ax - mean1) ** 2 * profile).sum() / m1
        # variance grows by h² C (1 − C) per step: numerical diffusivity u h (1 − C) / 2
        assert var1 - var0 == pytest.approx(steps * courant * (1 - courant), rel=1e-9)


def test_compiled_advection_matches_numpy():
    rng = np.random.default_rng(7)
    n0, n1, n2 = 9, 7, 8
    q = rng.uniform(0, 0.3, (4, n0 + 2, n1 + 2, n2 + 2))
    x = rng.uniform(0, 1, (3, n0 + 2, n1 + 2, n2 + 2))
    content = q.sum(axis=0)
    f0 = rng.normal(0, 0.05, (n0 + 1, n1, n2))
    f1 = rng.normal(0, 0.05, (n0, n1 + 1, n2))
    f2 = rng.normal(0, 0.05, (n0, n1, n2 + 1))
    out = []
    for step in (ka.advect_step, ka.advect_step_numpy):
        qn, xn, cn = np.empty((4, n0, n1, n2)), np.empty((3, n0, n1, n2)), np.empty((n0, n1, n2))
        step(q, x, content, f0, f1, f2, qn, xn, cn)
        out.append((qn, xn, cn))
    for a, b in zip(*out, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-15)
    assert ka.largest_outflow(content, f0, f1, f2) == pytest.approx(
        ka.largest_outflow_numpy(content, f0, f1, f2), rel=1e-12
    )


def _lesion_state(n: int, seed: int) -> tuple[Grid, Anatomy, TissueState]:
    """A cleared lesion with myofibroblasts and collagen, oedema and a pushing tumour."""
    rng = np.random.default_rng(seed)
    grid = Grid((n, n, n), 1e-3)
    vessel = np.zeros((n, n, n), bool)
    vessel[2:4, :, n // 2] = True
    anatomy = Anatomy(
        grid=grid,
        material=np.zeros((n, n, n), np.uint8),
        tumor_fraction=np.zeros((n, n, n), np.float32),
        tumor_id=np.zeros((n, n, n), np.uint8),
        vessel=vessel,
    )
    s = TissueState.initial(anatomy)
    frac, pos = _sphere_fraction(n, n / 5)
    lesion = frac > 0
    tissue = ~vessel
    u = rng.uniform(0, 1, (n, n, n))
    s.normal[...] = np.where(tissue, 1.0 - 0.9 * frac, 0.0)
    s.collagen[...] = np.where(lesion & tissue, 0.3 * frac * u, 0.0)
    s.myofibroblasts[...] = np.where(lesion & tissue, 0.1 * frac, 0.0)
    s.debris[...] = np.where(lesion & tissue, 0.1 * frac * (1 - u), 0.0)
    s.water[...] = np.where(tissue, 1.0 + 0.3 * frac - 0.05 * (pos[0] > n / 4), 0.0)
    tumour = (np.abs(pos[0] + n / 4) < 2) & (np.abs(pos[1]) < 2) & (np.abs(pos[2]) < 2)
    s.tumor[...] = np.where(tumour & tissue, 0.6, 0.0)
    s.normal[tumour & tissue] = 0.5  # overflow: 1.1
    for name in ("ecm", "vessels", "phagocytes", "inflammation"):
        getattr(s, name)[...] = np.where(tissue, rng.uniform(0, 1, (n, n, n)), 0.0)
    return grid, anatomy, s


def _mechanics(grid, anatomy, impl="compiled", margin=4) -> Mechanics:
    params = MechanicsParameters(contraction_rate=0.2 / DAY, contraction_half=0.05, margin=margin)
    return Mechanics(grid, anatomy, load_tissue("liver"), params, impl=impl)


def _totals(s: TissueState) -> np.ndarray:
    return np.array([getattr(s, name).sum(dtype=np.float64) for name in VOLUMES])


@pytest.mark.parametrize("impl", ["compiled", "numpy"])
def test_a_step_conserves_every_constituent_but_for_swelling_and_the_box_faces(impl):
    grid, anatomy, s = _lesion_state(24, 1)
    mech = _mechanics(grid, anatomy, impl)
    before = _totals(s)
    result = mech.step(s, 3 * DAY)
    assert result.box is not None
    assert result.substeps >= 1
    after = _totals(s)
    np.testing.assert_allclose(after - before, result.swelling + result.boundary, atol=2e-4)
    np.testing.assert_allclose(after, before + result.swelling + result.boundary, rtol=1e-6)
    # every voxel holds its volume: the sources were all exported
    occupied = s.occupied()
    assert occupied.max() <= 1.0 + 1e-5
    assert result.largest_step > 0


@pytest.mark.parametrize("impl", ["compiled", "numpy"])
def test_a_tracer_moves_and_swells_exactly_as_the_constituent_it_copies(impl):
    """A tracer that starts equal to the parenchyma (the course's baseline parenchyma) is carried
    and swelled exactly as the parenchyma is: they stay equal to round-off while both move, and
    the tracer takes no room."""
    grid, anatomy, s = _lesion_state(24, 3)
    mech = _mechanics(grid, anatomy, impl)
    tracer = s.normal.astype(np.float64)
    for _ in range(3):
        mech.step(s, DAY, tracers=(tracer,))
    moved = np.abs(s.displacement_x).max()
    assert moved > 0.05  # mm: the tissue did move
    np.testing.assert_allclose(tracer, s.normal, rtol=0, atol=2e-6)
    # a second run without the tracer gives the same tissue: it takes no room
    _, _, again = _lesion_state(24, 3)
    for _ in range(3):
        mech.step(again, DAY)
    np.testing.assert_array_equal(again.normal, s.normal)


def test_contraction_draws_tissue_in_and_compacts_collagen():
    grid, anatomy, s = _lesion_state(24, 2)
    s.water[...] = s.water_settled  # no swelling
    s.tumor[...] = 0.0
    s.normal[...] = np.minimum(s.normal, 1.0 - (s.collagen + s.myofibroblasts + s.debris))
    mech = _mechanics(grid, anatomy, margin=6)
    free_before = (1.0 - s.occupied())[~anatomy.vessel].sum()
    peak_before = s.collagen.max()
    for _ in range(20):
        mech.step(s, DAY)
    free_after = (1.0 - s.occupied())[~anatomy.vessel].sum()
    assert free_after < 0.5 * free_before
    assert s.collagen.max() > peak_before  # compacted
    # the rim moved inwards: displacement points towards the centre
    c = (24 - 1) / 2
    i = round(c + 24 / 5 + 1)
    assert s.displacement_x[i, round(c), round(c)] < 0


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), days=st.floats(0.1, 20.0))
def test_fractions_stay_in_bounds(seed, days):
    grid, anatomy, s = _lesion_state(16, seed)
    mech = _mechanics(grid, anatomy, margin=2)
    mech.step(s, days * DAY)
    for name in (*VOLUMES, "ecm", "vessels", "phagocytes"):
        a = getattr(s, name)
        assert a.min() >= 0.0, name
        assert a.max() <= 1.0 + 1e-6, name
    assert s.occupied().max() <= 1.0 + 1e-5
    assert all(np.isfinite(getattr(s, name)).all() for name in CARRIED)
