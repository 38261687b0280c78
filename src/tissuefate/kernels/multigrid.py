"""Matrix-free kernels of a cell-centred elliptic operator and its geometric multigrid.

The operator, over the *free* cells ``c`` of a grid of shape ``(n0, n1, n2)``, is::

    (A u)_c = sum_f c_f (u_c - u_n) + d_c u_c

with one conductance ``c_f`` per face. ``c0`` has shape ``(n0 + 1, n1, n2)``: ``c0[i, j, k]`` is
the face between cells ``(i - 1, j, k)`` and ``(i, j, k)``, and ``c0[0]``, ``c0[n0]`` are the
boundary faces, whose outer side holds the value 0 (grounded; a zero conductance insulates).
``c1`` (``(n0, n1 + 1, n2)``) and ``c2`` (``(n0, n1, n2 + 1)``) are the same along the other axes.
``d >= 0`` is an extra diagonal and ``fixed`` (uint8) marks the cells whose value is prescribed.

Everything works in the homogeneous form: the unknowns are the free cells, a fixed neighbour
contributes nothing to ``A u`` (its known value belongs in the right-hand side), and outputs are 0
in fixed cells. The conductances of the quasi-static electric problem (S, i.e. σ · area / length)
and the Joule heat of a potential come from :func:`harmonic_faces` and :func:`joule_heat`.

All arrays are C-contiguous float64 (``fixed`` and ``electrode`` uint8, ``ground`` int64) unless
stated; the loops run in parallel over the first axis. The kernels of the V-cycle and of CG have a
``_serial`` twin built from the same per-plane helper, for small grids (coarse levels), where
waking the thread pool costs more than the work: some 10 µs on idle cores, several ms on shared
ones. A twin has the same arguments and the same NumPy reference.
"""

from __future__ import annotations

import numpy as np
from numba import prange

from ._jit import jit

__all__ = [
    "apply_operator",
    "apply_operator_numpy",
    "apply_operator_serial",
    "cg_direction",
    "cg_direction_numpy",
    "cg_direction_serial",
    "cg_update",
    "cg_update_numpy",
    "cg_update_serial",
    "coarsen_operator",
    "coarsen_operator_numpy",
    "dot",
    "dot_numpy",
    "dot_serial",
    "harmonic_faces",
    "harmonic_faces_numpy",
    "joule_heat",
    "joule_heat_numpy",
    "prolong_add",
    "prolong_add_numpy",
    "prolong_add_serial",
    "residual",
    "residual_numpy",
    "residual_serial",
    "restrict_sum",
    "restrict_sum_numpy",
    "restrict_sum_serial",
    "smooth_rb",
    "smooth_rb_numpy",
    "smooth_rb_serial",
]


# ------------------------------------------------------------------------------------------------
# operator, residual, smoother
# ------------------------------------------------------------------------------------------------


@jit(inline=True)
def _stencil(u, c0, c1, c2, d, fixed, i, j, k, n0, n1, n2):
    """Diagonal of cell (i, j, k) and ``sum_f c_f u_n`` over its free neighbours."""
    w = c0[i, j, k]
    e = c0[i + 1, j, k]
    s = c1[i, j, k]
    n = c1[i, j + 1, k]
    b = c2[i, j, k]
    t = c2[i, j, k + 1]
    diag = w + e + s + n + b + t + d[i, j, k]
    off = 0.0
    if i > 0 and fixed[i - 1, j, k] == 0:
        off += w * u[i - 1, j, k]
    if i < n0 - 1 and fixed[i + 1, j, k] == 0:
        off += e * u[i + 1, j, k]
    if j > 0 and fixed[i, j - 1, k] == 0:
        off += s * u[i, j - 1, k]
    if j < n1 - 1 and fixed[i, j + 1, k] == 0:
        off += n * u[i, j + 1, k]
    if k > 0 and fixed[i, j, k - 1] == 0:
        off += b * u[i, j, k - 1]
    if k < n2 - 1 and fixed[i, j, k + 1] == 0:
        off += t * u[i, j, k + 1]
    return diag, off


@jit(inline=True)
def _apply_plane(u, c0, c1, c2, d, fixed, out, i):
    n0, n1, n2 = u.shape
    for j in range(n1):
        for k in range(n2):
            if fixed[i, j, k] != 0:
                out[i, j, k] = 0.0
            else:
                diag, off = _stencil(u, c0, c1, c2, d, fixed, i, j, k, n0, n1, n2)
                out[i, j, k] = diag * u[i, j, k] - off


@jit(inline=True)
def _residual_plane(u, f, c0, c1, c2, d, fixed, r, i):
    n0, n1, n2 = u.shape
    part = 0.0
    for j in range(n1):
        for k in range(n2):
            if fixed[i, j, k] != 0:
                r[i, j, k] = 0.0
            else:
                diag, off = _stencil(u, c0, c1, c2, d, fixed, i, j, k, n0, n1, n2)
                v = f[i, j, k] - (diag * u[i, j, k] - off)
                r[i, j, k] = v
                part += v * v
    return part


@jit(inline=True)
def _smooth_plane(u, f, c0, c1, c2, d, fixed, color, i):
    n0, n1, n2 = u.shape
    for j in range(n1):
        for k in range((i + j + color) % 2, n2, 2):
            if fixed[i, j, k] == 0:
                diag, off = _stencil(u, c0, c1, c2, d, fixed, i, j, k, n0, n1, n2)
                if diag > 0.0:
                    u[i, j, k] = (f[i, j, k] + off) / diag


@jit(parallel=True)
def apply_operator(u, c0, c1, c2, d, fixed, out):
    """``out = A u`` on the free cells and 0 on the fixed ones (units of ``c`` times ``u``)."""
    for i in prange(u.shape[0]):
        _apply_plane(u, c0, c1, c2, d, fixed, out, i)


@jit()
def apply_operator_serial(u, c0, c1, c2, d, fixed, out):
    """:func:`apply_operator` on one thread (small grids)."""
    for i in range(u.shape[0]):
        _apply_plane(u, c0, c1, c2, d, fixed, out, i)


@jit(parallel=True)
def residual(u, f, c0, c1, c2, d, fixed, r):
    """``r = f - A u`` on the free cells, 0 on the fixed ones; returns ``sum r²`` (float64)."""
    total = 0.0
    for i in prange(u.shape[0]):
        total += _residual_plane(u, f, c0, c1, c2, d, fixed, r, i)
    return total


@jit()
def residual_serial(u, f, c0, c1, c2, d, fixed, r):
    """:func:`residual` on one thread (small grids)."""
    total = 0.0
    for i in range(u.shape[0]):
        total += _residual_plane(u, f, c0, c1, c2, d, fixed, r, i)
    return total


@jit(parallel=True)
def smooth_rb(u, f, c0, c1, c2, d, fixed, color):
    """One half sweep of red–black Gauss–Seidel on the free cells with ``(i+j+k) % 2 == color``.

    Each such cell is set to ``(f + sum_f c_f u_n) / diag``; cells of one colour couple only to
    the other colour, so the planes update in parallel. A cell whose diagonal is 0 (no coupling,
    no ``d``) is left unchanged.
    """
    for i in prange(u.shape[0]):
        _smooth_plane(u, f, c0, c1, c2, d, fixed, color, i)


@jit()
def smooth_rb_serial(u, f, c0, c1, c2, d, fixed, color):
    """:func:`smooth_rb` on one thread (small grids)."""
    for i in range(u.shape[0]):
        _smooth_plane(u, f, c0, c1, c2, d, fixed, color, i)


def _stencil_numpy(u, c0, c1, c2, d, fixed):
    """Diagonal and ``sum_f c_f u_n`` over the free neighbours, for every cell (NumPy)."""
    p = np.pad(np.where(fixed == 0, u, 0.0), 1)
    diag = c0[:-1] + c0[1:] + c1[:, :-1] + c1[:, 1:] + c2[:, :, :-1] + c2[:, :, 1:] + d
    off = (
        c0[:-1] * p[:-2, 1:-1, 1:-1]
        + c0[1:] * p[2:, 1:-1, 1:-1]
        + c1[:, :-1] * p[1:-1, :-2, 1:-1]
        + c1[:, 1:] * p[1:-1, 2:, 1:-1]
        + c2[:, :, :-1] * p[1:-1, 1:-1, :-2]
        + c2[:, :, 1:] * p[1:-1, 1:-1, 2:]
    )
    return diag, off


def apply_operator_numpy(u, c0, c1, c2, d, fixed, out):
    """NumPy reference of :func:`apply_operator`."""
    diag, off = _stencil_numpy(u, c0, c1, c2, d, fixed)
    out[...] = np.where(fixed == 0, diag * u - off, 0.0)


def residual_numpy(u, f, c0, c1, c2, d, fixed, r):
    """NumPy reference of :func:`residual`."""
    diag, off = _stencil_numpy(u, c0, c1, c2, d, fixed)
    r[...] = np.where(fixed == 0, f - (diag * u - off), 0.0)
    return float(np.sum(r * r))


def smooth_rb_numpy(u, f, c0, c1, c2, d, fixed, color):
    """NumPy reference of :func:`smooth_rb` (a colour's cells do not couple: one vector update)."""
    diag, off = _stencil_numpy(u, c0, c1, c2, d, fixed)
    i, j, k = np.indices(u.shape, sparse=True)
    update = ((i + j + k) % 2 == color) & (fixed == 0) & (diag > 0.0)
    u[update] = (f[update] + off[update]) / diag[update]


# ------------------------------------------------------------------------------------------------
# grid transfers (ceil coarsening: coarse size (n + 1) // 2, piecewise constant)
# ------------------------------------------------------------------------------------------------


@jit(inline=True)
def _restrict_plane(fine, coarse, ci):
    n0, n1, n2 = fine.shape
    for cj in range(coarse.shape[1]):
        for ck in range(coarse.shape[2]):
            coarse[ci, cj, ck] = 0.0
    for i in range(2 * ci, min(2 * ci + 2, n0)):
        for j in range(n1):
            cj = j >> 1
            for k in range(n2):
                coarse[ci, cj, k >> 1] += fine[i, j, k]


@jit(inline=True)
def _prolong_plane(coarse, fine, fixed, i):
    ci = i >> 1
    for j in range(fine.shape[1]):
        cj = j >> 1
        for k in range(fine.shape[2]):
            if fixed[i, j, k] == 0:
                fine[i, j, k] += coarse[ci, cj, k >> 1]


@jit(parallel=True)
def restrict_sum(fine, coarse):
    """``coarse[I, J, K]`` = sum of the fine children ``(2I..2I+1, 2J..2J+1, 2K..2K+1)``.

    A last coarse cell of an odd fine size has a single child along that axis.
    """
    for ci in prange(coarse.shape[0]):
        _restrict_plane(fine, coarse, ci)


@jit()
def restrict_sum_serial(fine, coarse):
    """:func:`restrict_sum` on one thread (small grids)."""
    for ci in range(coarse.shape[0]):
        _restrict_plane(fine, coarse, ci)


@jit(parallel=True)
def prolong_add(coarse, fine, fixed):
    """``fine += coarse[parent]`` on the free fine cells (piecewise-constant prolongation)."""
    for i in prange(fine.shape[0]):
        _prolong_plane(coarse, fine, fixed, i)


@jit()
def prolong_add_serial(coarse, fine, fixed):
    """:func:`prolong_add` on one thread (small grids)."""
    for i in range(fine.shape[0]):
        _prolong_plane(coarse, fine, fixed, i)


def restrict_sum_numpy(fine, coarse):
    """NumPy reference of :func:`restrict_sum` (pad to even sizes, reshape and sum)."""
    pad = [(0, n % 2) for n in fine.shape]
    p = np.pad(fine, pad)
    m0, m1, m2 = (s // 2 for s in p.shape)
    coarse[...] = p.reshape(m0, 2, m1, 2, m2, 2).sum(axis=(1, 3, 5))


def prolong_add_numpy(coarse, fine, fixed):
    """NumPy reference of :func:`prolong_add`."""
    n0, n1, n2 = fine.shape
    up = coarse.repeat(2, axis=0).repeat(2, axis=1).repeat(2, axis=2)[:n0, :n1, :n2]
    fine += np.where(fixed == 0, up, 0.0)


@jit(inline=True)
def _fine_face(c, held, fold, i, j, k, axis, n):
    """Fine face (i, j, k) normal to ``axis`` (index ``n`` along it is the far boundary), 0 if
    ``fold`` and it touches a held cell."""
    w = c[i, j, k]
    if fold == 0:
        return w
    if axis == 0:
        lo = i > 0 and held[i - 1, j, k] != 0
        hi = i < n and held[i, j, k] != 0
    elif axis == 1:
        lo = j > 0 and held[i, j - 1, k] != 0
        hi = j < n and held[i, j, k] != 0
    else:
        lo = k > 0 and held[i, j, k - 1] != 0
        hi = k < n and held[i, j, k] != 0
    return 0.0 if lo or hi else w


@jit(inline=True)
def _held_coupling(c0, c1, c2, held, i, j, k, n0, n1, n2):
    """Sum of the faces of cell (i, j, k) to held neighbours (a Dirichlet coupling)."""
    g = 0.0
    if i > 0 and held[i - 1, j, k] != 0:
        g += c0[i, j, k]
    if i < n0 - 1 and held[i + 1, j, k] != 0:
        g += c0[i + 1, j, k]
    if j > 0 and held[i, j - 1, k] != 0:
        g += c1[i, j, k]
    if j < n1 - 1 and held[i, j + 1, k] != 0:
        g += c1[i, j + 1, k]
    if k > 0 and held[i, j, k - 1] != 0:
        g += c2[i, j, k]
    if k < n2 - 1 and held[i, j, k + 1] != 0:
        g += c2[i, j, k + 1]
    return g


@jit(parallel=True)
def coarsen_operator(c0, c1, c2, d, held, fold, C0, C1, C2, D):
    """Coarse faces ``C0, C1, C2`` and diagonal ``D`` of the next level (ceil coarsening).

    A coarse face ``I`` normal to an axis is half the sum of the fine faces ``min(2I, n)`` along
    it, over the (up to four) fine faces across it. ``D`` is the sum of ``d`` over the children
    that are not ``held``. With ``fold != 0`` every face touching a held cell is left out of the
    faces and half of it is added to ``D`` of the free cell it couples (a face to a held cell, 0
    in the homogeneous form, coarsens like a grounded boundary face).
    """
    n0, n1, n2 = d.shape
    m0, m1, m2 = D.shape
    for ci in prange(m0 + 1):
        i = min(2 * ci, n0)
        for cj in range(m1):
            for ck in range(m2):
                w = 0.0
                for j in range(2 * cj, min(2 * cj + 2, n1)):
                    for k in range(2 * ck, min(2 * ck + 2, n2)):
                        w += _fine_face(c0, held, fold, i, j, k, 0, n0)
                C0[ci, cj, ck] = 0.5 * w
    for ci in prange(m0):
        for cj in range(m1 + 1):
            j = min(2 * cj, n1)
            for ck in range(m2):
                w = 0.0
                for i in range(2 * ci, min(2 * ci + 2, n0)):
                    for k in range(2 * ck, min(2 * ck + 2, n2)):
                        w += _fine_face(c1, held, fold, i, j, k, 1, n1)
                C1[ci, cj, ck] = 0.5 * w
        for cj in range(m1):
            for ck in range(m2 + 1):
                k = min(2 * ck, n2)
                w = 0.0
                for i in range(2 * ci, min(2 * ci + 2, n0)):
                    for j in range(2 * cj, min(2 * cj + 2, n1)):
                        w += _fine_face(c2, held, fold, i, j, k, 2, n2)
                C2[ci, cj, ck] = 0.5 * w
            for ck in range(m2):
                s = 0.0
                for i in range(2 * ci, min(2 * ci + 2, n0)):
                    for j in range(2 * cj, min(2 * cj + 2, n1)):
                        for k in range(2 * ck, min(2 * ck + 2, n2)):
                            if held[i, j, k] == 0:
                                s += d[i, j, k]
                                if fold != 0:
                                    s += 0.5 * _held_coupling(c0, c1, c2, held, i, j, k, n0, n1, n2)
                D[ci, cj, ck] = s


def _pair_sum(a, axes):
    """Sum of ``a`` over pairs of neighbours along ``axes`` (ceil: an odd last one stands alone)."""
    pad = [(0, a.shape[ax] % 2 if ax in axes else 0) for ax in range(a.ndim)]
    if any(p[1] for p in pad):
        a = np.pad(a, pad)
    shape = []
    summed = []
    for ax in range(a.ndim):
        if ax in axes:
            shape += [a.shape[ax] // 2, 2]
            summed.append(len(shape) - 1)
        else:
            shape.append(a.shape[ax])
    return a.reshape(shape).sum(axis=tuple(summed))


def coarsen_operator_numpy(c0, c1, c2, d, held, fold, C0, C1, C2, D):
    """NumPy reference of :func:`coarsen_operator` (fold, then pad to even sizes and sum)."""
    held = held != 0
    d = np.where(held, 0.0, d)
    for axis, (c, C) in enumerate(zip((c0, c1, c2), (C0, C1, C2), strict=True)):

        def at(index, axis=axis):
            sl = [slice(None)] * 3
            sl[axis] = index
            return tuple(sl)

        faces = c
        if fold:
            a, b, w = held[at(slice(None, -1))], held[at(slice(1, None))], c[at(slice(1, -1))]
            d[at(slice(1, None))] += np.where(a & ~b, 0.5 * w, 0.0)
            d[at(slice(None, -1))] += np.where(b & ~a, 0.5 * w, 0.0)
            faces = c.copy()
            faces[at(slice(1, -1))] = np.where(a | b, 0.0, w)
            faces[at(0)] = np.where(held[at(0)], 0.0, c[at(0)])
            faces[at(-1)] = np.where(held[at(-1)], 0.0, c[at(-1)])
        n = c.shape[axis] - 1
        sel = np.take(faces, np.minimum(2 * np.arange(C.shape[axis]), n), axis=axis)
        C[...] = 0.5 * _pair_sum(sel, tuple(ax for ax in range(3) if ax != axis))
    D[...] = _pair_sum(d, (0, 1, 2))


# ------------------------------------------------------------------------------------------------
# conjugate-gradient vector updates (fused, float64 sums)
# ------------------------------------------------------------------------------------------------


@jit(inline=True)
def _dot_plane(a, b, i):
    part = 0.0
    for j in range(a.shape[1]):
        for k in range(a.shape[2]):
            part += a[i, j, k] * b[i, j, k]
    return part


@jit(inline=True)
def _update_plane(x, r, p, q, alpha, i):
    part = 0.0
    for j in range(x.shape[1]):
        for k in range(x.shape[2]):
            x[i, j, k] += alpha * p[i, j, k]
            v = r[i, j, k] - alpha * q[i, j, k]
            r[i, j, k] = v
            part += v * v
    return part


@jit(inline=True)
def _direction_plane(p, z, beta, i):
    for j in range(p.shape[1]):
        for k in range(p.shape[2]):
            p[i, j, k] = z[i, j, k] + beta * p[i, j, k]


@jit(parallel=True)
def dot(a, b):
    """``sum a b`` in float64."""
    total = 0.0
    for i in prange(a.shape[0]):
        total += _dot_plane(a, b, i)
    return total


@jit()
def dot_serial(a, b):
    """:func:`dot` on one thread (small grids)."""
    total = 0.0
    for i in range(a.shape[0]):
        total += _dot_plane(a, b, i)
    return total


@jit(parallel=True)
def cg_update(x, r, p, q, alpha):
    """``x += alpha p`` and ``r -= alpha q``; returns the new ``sum r²``."""
    total = 0.0
    for i in prange(x.shape[0]):
        total += _update_plane(x, r, p, q, alpha, i)
    return total


@jit()
def cg_update_serial(x, r, p, q, alpha):
    """:func:`cg_update` on one thread (small grids)."""
    total = 0.0
    for i in range(x.shape[0]):
        total += _update_plane(x, r, p, q, alpha, i)
    return total


@jit(parallel=True)
def cg_direction(p, z, beta):
    """``p = z + beta p``."""
    for i in prange(p.shape[0]):
        _direction_plane(p, z, beta, i)


@jit()
def cg_direction_serial(p, z, beta):
    """:func:`cg_direction` on one thread (small grids)."""
    for i in range(p.shape[0]):
        _direction_plane(p, z, beta, i)


def dot_numpy(a, b):
    """NumPy reference of :func:`dot`."""
    return float(np.vdot(a, b))


def cg_update_numpy(x, r, p, q, alpha):
    """NumPy reference of :func:`cg_update`."""
    x += alpha * p
    r -= alpha * q
    return float(np.vdot(r, r))


def cg_direction_numpy(p, z, beta):
    """NumPy reference of :func:`cg_direction`."""
    p *= beta
    p += z


# ------------------------------------------------------------------------------------------------
# electric problem: face conductances and Joule heat
# ------------------------------------------------------------------------------------------------


@jit(inline=True)
def _face(sa, ea, sb, eb, h):
    """Conductance (S) of the face between cells a and b (σ in S/m, ``e`` electrode flags)."""
    if ea != 0 and eb != 0:
        return 0.0
    if ea != 0:
        return 2.0 * h * sb
    if eb != 0:
        return 2.0 * h * sa
    s = sa + sb
    if s > 0.0:
        return 2.0 * h * sa * sb / s
    return 0.0


@jit(inline=True)
def _boundary_face(s, e, grounded, h):
    """Conductance (S) of a boundary face of a cell to the grounded (0 V) outside."""
    if e != 0 or grounded == 0:
        return 0.0
    return 2.0 * h * s


@jit(parallel=True)
def harmonic_faces(sigma, electrode, ground, h, c0, c1, c2):
    """Face conductances (S) of the quasi-static electric problem, into ``c0``, ``c1``, ``c2``.

    Parameters
    ----------
    sigma
        Electric conductivity in S/m, ``>= 0`` (0 is an insulator), shape ``(n0, n1, n2)``.
    electrode
        uint8 mask of perfect-conductor cells (held at a prescribed potential).
    ground
        Six flags (int) for the faces x-, x+, y-, y+, z-, z+ of the box: 1 grounded (0 V at the
        face), 0 insulated.
    h
        Cell edge in m.

    Between two tissue cells the face is the series conductance of the two half cells,
    ``h · 2 σa σb / (σa + σb)`` (0 if either is 0). Next to an electrode the electrode surface is
    the face: ``h · 2 σ`` of the tissue cell. Between electrode cells, and on boundary faces of an
    electrode cell, it is 0. A tissue cell's boundary face is ``h · 2 σ`` if grounded, else 0.
    """
    n0, n1, n2 = sigma.shape
    for i in prange(n0 + 1):
        for j in range(n1):
            for k in range(n2):
                if i == 0:
                    c0[i, j, k] = _boundary_face(sigma[0, j, k], electrode[0, j, k], ground[0], h)
                elif i == n0:
                    c0[i, j, k] = _boundary_face(
                        sigma[n0 - 1, j, k], electrode[n0 - 1, j, k], ground[1], h
                    )
                else:
                    c0[i, j, k] = _face(
                        sigma[i - 1, j, k],
                        electrode[i - 1, j, k],
                        sigma[i, j, k],
                        electrode[i, j, k],
                        h,
                    )
    for i in prange(n0):
        for j in range(n1 + 1):
            for k in range(n2):
                if j == 0:
                    c1[i, j, k] = _boundary_face(sigma[i, 0, k], electrode[i, 0, k], ground[2], h)
                elif j == n1:
                    c1[i, j, k] = _boundary_face(
                        sigma[i, n1 - 1, k], electrode[i, n1 - 1, k], ground[3], h
                    )
                else:
                    c1[i, j, k] = _face(
                        sigma[i, j - 1, k],
                        electrode[i, j - 1, k],
                        sigma[i, j, k],
                        electrode[i, j, k],
                        h,
                    )
        for j in range(n1):
            c2[i, j, 0] = _boundary_face(sigma[i, j, 0], electrode[i, j, 0], ground[4], h)
            for k in range(1, n2):
                c2[i, j, k] = _face(
                    sigma[i, j, k - 1],
                    electrode[i, j, k - 1],
                    sigma[i, j, k],
                    electrode[i, j, k],
                    h,
                )
            c2[i, j, n2] = _boundary_face(
                sigma[i, j, n2 - 1], electrode[i, j, n2 - 1], ground[5], h
            )


def _faces_between_numpy(sa, ea, sb, eb, h):
    """Vectorised :func:`_face`."""
    s = sa + sb
    tissue = 2.0 * h * sa * sb / np.where(s > 0.0, s, 1.0)
    c = np.where(ea != 0, 2.0 * h * sb, np.where(eb != 0, 2.0 * h * sa, tissue))
    return np.where((ea != 0) & (eb != 0), 0.0, c)


def harmonic_faces_numpy(sigma, electrode, ground, h, c0, c1, c2):
    """NumPy reference of :func:`harmonic_faces`."""
    for axis, c in enumerate((c0, c1, c2)):
        a = [slice(None)] * 3
        b = [slice(None)] * 3
        a[axis] = slice(None, -1)
        b[axis] = slice(1, None)
        a, b = tuple(a), tuple(b)
        inner = [slice(None)] * 3
        inner[axis] = slice(1, -1)
        c[tuple(inner)] = _faces_between_numpy(sigma[a], electrode[a], sigma[b], electrode[b], h)
        for side, (face, cell) in enumerate(((0, 0), (-1, -1))):
            fsl = [slice(None)] * 3
            csl = [slice(None)] * 3
            fsl[axis] = face
            csl[axis] = cell
            e = electrode[tuple(csl)]
            grounded = ground[2 * axis + side] != 0
            c[tuple(fsl)] = np.where((e == 0) & grounded, 2.0 * h * sigma[tuple(csl)], 0.0)


@jit(inline=True)
def _share(u, sigma, electrode, cf, i, j, k, ni, nj, nk, inside):
    """Power (W) of one face that cell (i, j, k) takes: all of it next to an electrode or the
    grounded outside (``inside`` False), else the share σ_n / (σ_c + σ_n) of its half cell."""
    if not inside:
        du = u[i, j, k]
        return cf * du * du
    du = u[i, j, k] - u[ni, nj, nk]
    p = cf * du * du
    if electrode[ni, nj, nk] != 0:
        return p
    sc = sigma[i, j, k]
    sn = sigma[ni, nj, nk]
    s = sc + sn
    if s > 0.0:
        return p * sn / s
    return 0.5 * p


@jit(parallel=True)
def joule_heat(u, sigma, electrode, c0, c1, c2, h, q):
    """Joule power density ``q`` (W/m³) of the potential ``u`` (V); returns the total power (W).

    Electrode cells hold their potential in ``u``; outside a grounded boundary face the potential
    is 0. Each face dissipates ``c_f (Δu)²``: a face between two tissue cells gives each the
    share of its half-cell resistance (cell a gets ``σb / (σa + σb)``), a face to an electrode
    cell or to the grounded outside gives all of it to the tissue cell. ``q`` is the sum of the
    shares over ``h³`` in tissue cells and 0 in electrode cells (faces between two electrode cells
    have no conductance in :func:`harmonic_faces` and are not counted). Sums are float64; ``q``
    may be float32 or float64. The returned total equals ``sum(q) h³`` to round-off.
    """
    n0, n1, n2 = u.shape
    inv_vol = 1.0 / (h * h * h)
    total = 0.0
    for i in prange(n0):
        part = 0.0
        for j in range(n1):
            for k in range(n2):
                if electrode[i, j, k] != 0:
                    q[i, j, k] = 0.0
                    continue
                p = _share(u, sigma, electrode, c0[i, j, k], i, j, k, i - 1, j, k, i > 0)
                p += _share(u, sigma, electrode, c0[i + 1, j, k], i, j, k, i + 1, j, k, i < n0 - 1)
                p += _share(u, sigma, electrode, c1[i, j, k], i, j, k, i, j - 1, k, j > 0)
                p += _share(u, sigma, electrode, c1[i, j + 1, k], i, j, k, i, j + 1, k, j < n1 - 1)
                p += _share(u, sigma, electrode, c2[i, j, k], i, j, k, i, j, k - 1, k > 0)
                p += _share(u, sigma, electrode, c2[i, j, k + 1], i, j, k, i, j, k + 1, k < n2 - 1)
                q[i, j, k] = p * inv_vol
                part += p
        total += part
    return total


def joule_heat_numpy(u, sigma, electrode, c0, c1, c2, h, q):
    """NumPy reference of :func:`joule_heat`."""
    u = np.asarray(u, np.float64)
    power = np.zeros(u.shape)
    tissue = electrode == 0
    for axis, c in enumerate((c0, c1, c2)):
        pad = [(0, 0)] * 3
        pad[axis] = (1, 1)
        up = np.pad(u, pad)  # 0 V outside
        sp = np.pad(sigma, pad)
        ep = np.pad(electrode, pad, constant_values=1)  # the outside takes no share
        n = u.shape[axis]
        for lo in (True, False):
            nsl = [slice(None)] * 3
            fsl = [slice(None)] * 3
            nsl[axis] = slice(0, n) if lo else slice(2, n + 2)
            fsl[axis] = slice(0, n) if lo else slice(1, n + 1)
            nsl, fsl = tuple(nsl), tuple(fsl)
            p = c[fsl] * (u - up[nsl]) ** 2
            s = sigma + sp[nsl]
            share = np.where(s > 0.0, sp[nsl] / np.where(s > 0.0, s, 1.0), 0.5)
            power += np.where(ep[nsl] != 0, p, p * share)
    power = np.where(tissue, power, 0.0)
    q[...] = power / h**3
    return float(np.sum(power))
