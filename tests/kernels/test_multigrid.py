"""Multigrid and electric kernels against their NumPy references, on the same random inputs.

Inputs: small grids of odd and even sizes (one of them a single plane), about 20 % fixed cells,
20 % zero (insulating) faces, ``d`` zero in half the cells, conductances 0.5..2. Every output is a
sum of at most some twenty float64 terms of size O(1), added in a different order by the two
implementations, so they agree to some 20 eps ≈ 4e-15 of the magnitude of those terms; RTOL =
1e-12 leaves room for that and is still ten orders of magnitude below what a wrong index or a
missed face changes (O(1)). Besides the references, properties that any correct implementation
has: the operator is symmetric, restriction is the transpose of prolongation, red–black sweeps
leave uncoupled cells alone, the Joule shares of a face add up to its power. The one-thread
twins (``_serial``) of the V-cycle and CG kernels are held to the same references.
"""

from __future__ import annotations

import numpy as np
import pytest

from tissuefate.kernels import multigrid as km

RTOL = 1e-12
TWINS = ["parallel", "serial"]
SHAPES = [(5, 4, 3), (6, 7, 9), (8, 8, 8), (1, 6, 5), (7, 1, 2)]


def _faces(rng, shape, zero_fraction=0.2):
    n0, n1, n2 = shape
    faces = []
    for fshape in ((n0 + 1, n1, n2), (n0, n1 + 1, n2), (n0, n1, n2 + 1)):
        c = rng.uniform(0.5, 2.0, fshape)
        c[rng.random(fshape) < zero_fraction] = 0.0
        faces.append(c)
    return faces


def _problem(rng, shape):
    """u, f, c0, c1, c2, d, fixed with u = 0 in the fixed cells (the homogeneous form)."""
    c0, c1, c2 = _faces(rng, shape)
    d = np.where(rng.random(shape) < 0.5, 0.0, rng.uniform(0.0, 1.0, shape))
    fixed = (rng.random(shape) < 0.2).astype(np.uint8)
    u = np.where(fixed == 0, rng.standard_normal(shape), 0.0)
    f = rng.standard_normal(shape)
    return u, f, c0, c1, c2, d, fixed


def _kernel(name, twin):
    return getattr(km, name if twin == "parallel" else name + "_serial")


def _close(a, b, scale):
    np.testing.assert_allclose(a, b, rtol=0.0, atol=RTOL * scale)


@pytest.mark.parametrize("twin", TWINS)
@pytest.mark.parametrize("shape", SHAPES)
def test_apply_operator_and_residual_match_reference(shape, twin):
    rng = np.random.default_rng(1)
    u, f, c0, c1, c2, d, fixed = _problem(rng, shape)
    # nonzero values in fixed cells must not leak into their neighbours
    u_dirty = np.where(fixed != 0, 5.0, u)
    out, ref = np.empty(shape), np.empty(shape)
    _kernel("apply_operator", twin)(u_dirty, c0, c1, c2, d, fixed, out)
    km.apply_operator_numpy(u, c0, c1, c2, d, fixed, ref)
    _close(out, ref, 20.0)
    assert np.all(out[fixed != 0] == 0.0)
    sum_sq = _kernel("residual", twin)(u, f, c0, c1, c2, d, fixed, out)
    ref_sum = km.residual_numpy(u, f, c0, c1, c2, d, fixed, ref)
    _close(out, ref, 20.0)
    assert np.all(out[fixed != 0] == 0.0)
    assert sum_sq == pytest.approx(ref_sum, rel=RTOL)
    assert sum_sq == pytest.approx(float(np.sum(out**2)), rel=RTOL)


@pytest.mark.parametrize("twin", TWINS)
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("color", [0, 1])
def test_smooth_rb_matches_reference(shape, color, twin):
    rng = np.random.default_rng(2)
    u, f, c0, c1, c2, d, fixed = _problem(rng, shape)
    # one free cell without any coupling: must be left alone (no division by zero)
    i, j, k = (n // 2 for n in shape)
    c0[i : i + 2, j, k] = 0.0
    c1[i, j : j + 2, k] = 0.0
    c2[i, j, k : k + 2] = 0.0
    d[i, j, k] = 0.0
    fixed[i, j, k] = 0
    u[i, j, k] = 3.0
    a, b = u.copy(), u.copy()
    _kernel("smooth_rb", twin)(a, f, c0, c1, c2, d, fixed, color)
    km.smooth_rb_numpy(b, f, c0, c1, c2, d, fixed, color)
    _close(a, b, 20.0)
    assert a[i, j, k] == 3.0
    ii, jj, kk = np.indices(shape)
    other = ((ii + jj + kk) % 2 != color) | (fixed != 0)
    assert np.array_equal(a[other], u[other])
    assert not np.array_equal(a, u)  # it did something


def test_smooth_rb_solves_its_cells():
    """After a half sweep, the residual vanishes in every updated cell (Gauss–Seidel)."""
    rng = np.random.default_rng(3)
    u, f, c0, c1, c2, d, fixed = _problem(rng, (6, 5, 7))
    km.smooth_rb(u, f, c0, c1, c2, d, fixed, 1)
    r = np.empty(u.shape)
    km.residual(u, f, c0, c1, c2, d, fixed, r)
    ii, jj, kk = np.indices(u.shape)
    diag = c0[:-1] + c0[1:] + c1[:, :-1] + c1[:, 1:] + c2[:, :, :-1] + c2[:, :, 1:] + d
    updated = ((ii + jj + kk) % 2 == 1) & (fixed == 0) & (diag > 0)
    assert np.max(np.abs(r[updated])) < 1e-13
    assert np.max(np.abs(r[~updated & (fixed == 0)])) > 1e-3


@pytest.mark.parametrize("shape", SHAPES)
def test_operator_is_symmetric(shape):
    rng = np.random.default_rng(4)
    u, _, c0, c1, c2, d, fixed = _problem(rng, shape)
    v = np.where(fixed == 0, rng.standard_normal(shape), 0.0)
    au, av = np.empty(shape), np.empty(shape)
    km.apply_operator(u, c0, c1, c2, d, fixed, au)
    km.apply_operator(v, c0, c1, c2, d, fixed, av)
    assert np.vdot(v, au) == pytest.approx(np.vdot(u, av), rel=1e-12, abs=1e-12)
    # and positive semi-definite
    assert np.vdot(u, au) >= 0.0


@pytest.mark.parametrize("twin", TWINS)
@pytest.mark.parametrize("shape", SHAPES)
def test_transfers_match_reference_and_are_transposes(shape, twin):
    rng = np.random.default_rng(5)
    coarse_shape = tuple((n + 1) // 2 for n in shape)
    fixed = (rng.random(shape) < 0.2).astype(np.uint8)
    fine = np.where(fixed == 0, rng.standard_normal(shape), 0.0)
    coarse, ref = np.full(coarse_shape, 7.0), np.empty(coarse_shape)
    _kernel("restrict_sum", twin)(fine, coarse)
    km.restrict_sum_numpy(fine, ref)
    _close(coarse, ref, 8.0)
    assert np.sum(coarse) == pytest.approx(np.sum(fine), abs=1e-12)

    values = rng.standard_normal(coarse_shape)
    base = rng.standard_normal(shape)
    a, b = base.copy(), base.copy()
    _kernel("prolong_add", twin)(values, a, fixed)
    km.prolong_add_numpy(values, b, fixed)
    assert np.array_equal(a, b)
    assert np.array_equal(a[fixed != 0], base[fixed != 0])

    # <R r, c> = <r, P c> for r zero in the fixed cells
    prolonged = np.zeros(shape)
    km.prolong_add(values, prolonged, fixed)
    assert np.vdot(coarse, values) == pytest.approx(np.vdot(fine, prolonged), rel=1e-12)


def test_restrict_sum_last_cell_of_odd_size_has_one_child():
    fine = np.arange(3 * 1 * 5, dtype=np.float64).reshape(3, 1, 5)
    coarse = np.empty((2, 1, 3))
    km.restrict_sum(fine, coarse)
    assert coarse[1, 0, 2] == fine[2, 0, 4]
    assert coarse[0, 0, 0] == fine[0, 0, 0] + fine[0, 0, 1] + fine[1, 0, 0] + fine[1, 0, 1]


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("fold", [0, 1])
def test_coarsen_operator_matches_reference(shape, fold):
    rng = np.random.default_rng(6)
    _, _, c0, c1, c2, d, fixed = _problem(rng, shape)
    m0, m1, m2 = ((n + 1) // 2 for n in shape)
    out = [np.empty((m0 + 1, m1, m2)), np.empty((m0, m1 + 1, m2)), np.empty((m0, m1, m2 + 1))]
    ref = [np.empty_like(a) for a in out]
    out.append(np.empty((m0, m1, m2)))
    ref.append(np.empty((m0, m1, m2)))
    km.coarsen_operator(c0, c1, c2, d, fixed, fold, *out)
    km.coarsen_operator_numpy(c0, c1, c2, d, fixed, fold, *ref)
    for a, b in zip(out, ref, strict=True):
        _close(a, b, 20.0)


def test_coarsen_operator_constant_conductance_is_rediscretised():
    """Constant σ h on interior faces and 2 σ h on boundary faces coarsen to the same at 2h."""
    h, sigma = 1e-3, 0.5
    shape = (8, 6, 4)
    n0, n1, n2 = shape
    faces = []
    for axis, fshape in enumerate(((n0 + 1, n1, n2), (n0, n1 + 1, n2), (n0, n1, n2 + 1))):
        c = np.full(fshape, sigma * h)
        sl = [slice(None)] * 3
        for end in (0, -1):
            sl[axis] = end
            c[tuple(sl)] = 2 * sigma * h
        faces.append(c)
    m = [n // 2 for n in shape]
    out = [np.empty((m[0] + 1, m[1], m[2])), np.empty((m[0], m[1] + 1, m[2]))]
    out += [np.empty((m[0], m[1], m[2] + 1)), np.empty(m)]
    km.coarsen_operator(*faces, np.zeros(shape), np.zeros(shape, np.uint8), 1, *out)
    for axis in range(3):
        inner = [slice(None)] * 3
        inner[axis] = slice(1, -1)
        np.testing.assert_allclose(out[axis][tuple(inner)], sigma * 2 * h, rtol=1e-15)
        edge = [slice(None)] * 3
        edge[axis] = 0
        np.testing.assert_allclose(out[axis][tuple(edge)], 2 * sigma * 2 * h, rtol=1e-15)


@pytest.mark.parametrize("twin", TWINS)
@pytest.mark.parametrize("shape", SHAPES)
def test_cg_vector_kernels_match_reference(shape, twin):
    rng = np.random.default_rng(7)
    x, r, p, q, z = (rng.standard_normal(shape) for _ in range(5))
    assert _kernel("dot", twin)(p, q) == pytest.approx(km.dot_numpy(p, q), rel=RTOL, abs=RTOL)
    a = [x.copy(), r.copy()]
    b = [x.copy(), r.copy()]
    s1 = _kernel("cg_update", twin)(a[0], a[1], p, q, 0.37)
    s2 = km.cg_update_numpy(b[0], b[1], p, q, 0.37)
    assert s1 == pytest.approx(s2, rel=RTOL)
    _close(a[0], b[0], 4.0)
    _close(a[1], b[1], 4.0)
    pa, pb = p.copy(), p.copy()
    _kernel("cg_direction", twin)(pa, z, 0.61)
    km.cg_direction_numpy(pb, z, 0.61)
    _close(pa, pb, 4.0)


def _electric(rng, shape):
    sigma = rng.uniform(0.1, 1.0, shape)
    sigma[rng.random(shape) < 0.15] = 0.0  # insulators
    electrode = (rng.random(shape) < 0.15).astype(np.uint8)
    return sigma, electrode


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("ground", [[1, 1, 1, 1, 1, 1], [0, 1, 1, 0, 0, 1], [0, 0, 0, 0, 0, 0]])
def test_harmonic_faces_match_reference(shape, ground):
    rng = np.random.default_rng(8)
    sigma, electrode = _electric(rng, shape)
    ground = np.asarray(ground, dtype=np.int64)
    h = 2e-3
    n0, n1, n2 = shape
    out = [np.full((n0 + 1, n1, n2), -1.0), np.full((n0, n1 + 1, n2), -1.0)]
    out.append(np.full((n0, n1, n2 + 1), -1.0))
    ref = [np.full_like(a, -2.0) for a in out]
    km.harmonic_faces(sigma, electrode, ground, h, *out)
    km.harmonic_faces_numpy(sigma, electrode, ground, h, *ref)
    for a, b in zip(out, ref, strict=True):
        _close(a, b, 2 * h)
    assert all(np.all(a >= 0.0) for a in out)


def test_harmonic_faces_known_values():
    """Series half cells, an electrode surface on the face, grounded and insulated sides."""
    h = 2e-3
    sigma = np.array([1.0, 3.0, 2.0, 0.5]).reshape(4, 1, 1)
    electrode = np.array([0, 0, 1, 1], dtype=np.uint8).reshape(4, 1, 1)
    ground = np.array([1, 1, 0, 1, 1, 0], dtype=np.int64)
    c0, c1, c2 = np.empty((5, 1, 1)), np.empty((4, 2, 1)), np.empty((4, 1, 2))
    km.harmonic_faces(sigma, electrode, ground, h, c0, c1, c2)
    expected = [2 * h * 1.0, h * 2 * 1.0 * 3.0 / 4.0, 2 * h * 3.0, 0.0, 0.0]
    np.testing.assert_allclose(c0[:, 0, 0], expected, rtol=1e-15)
    np.testing.assert_allclose(c1[:, 0, 0], 0.0)  # y- insulated
    np.testing.assert_allclose(c1[:, 1, 0], [2 * h * 1.0, 2 * h * 3.0, 0.0, 0.0], rtol=1e-15)
    np.testing.assert_allclose(c2[:, 0, 0], [2 * h * 1.0, 2 * h * 3.0, 0.0, 0.0], rtol=1e-15)
    np.testing.assert_allclose(c2[:, 0, 1], 0.0)  # z+ insulated


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_joule_heat_matches_reference(shape, dtype):
    rng = np.random.default_rng(9)
    sigma, electrode = _electric(rng, shape)
    h = 1e-3
    n0, n1, n2 = shape
    faces = [np.empty((n0 + 1, n1, n2)), np.empty((n0, n1 + 1, n2)), np.empty((n0, n1, n2 + 1))]
    km.harmonic_faces(sigma, electrode, np.ones(6, np.int64), h, *faces)
    u = rng.uniform(-1.0, 1.0, shape)
    q, ref = np.full(shape, -1.0, dtype), np.full(shape, -2.0, dtype)
    total = km.joule_heat(u, sigma, electrode, *faces, h, q)
    ref_total = km.joule_heat_numpy(u, sigma, electrode, *faces, h, ref)
    assert total == pytest.approx(ref_total, rel=RTOL)
    # float32 q: rounding of each value to float32 (6e-8) dominates
    rtol = 1e-6 if dtype == np.float32 else RTOL
    scale = float(np.max(np.abs(ref))) or 1.0
    np.testing.assert_allclose(q, ref, rtol=0.0, atol=rtol * scale)
    assert np.all(q[electrode != 0] == 0.0)
    assert np.all(q >= 0.0)
    # the shares of every face add up to its power: sum over cells = sum over faces
    assert float(np.sum(q, dtype=np.float64)) * h**3 == pytest.approx(total, rel=10 * rtol)
    tissue = electrode == 0
    by_face = 0.0
    for axis, c in enumerate(faces):
        pad = [(0, 0)] * 3
        pad[axis] = (1, 1)
        up = np.pad(u, pad)
        tp = np.pad(tissue, pad)
        lo = [slice(None)] * 3
        hi = [slice(None)] * 3
        lo[axis] = slice(None, -1)
        hi[axis] = slice(1, None)
        lo, hi = tuple(lo), tuple(hi)
        touches_tissue = tp[lo] | tp[hi]
        by_face += float(np.sum(np.where(touches_tissue, c * (up[lo] - up[hi]) ** 2, 0.0)))
    assert total == pytest.approx(by_face, rel=RTOL)
