"""Advection of a tissue mixture by face volume fluxes: conservative, bounded donor-cell steps.

A voxel holds volumes ``q[s]`` of the mixture's constituents (fractions of the voxel volume: the
cells, dead tissue, fibroblasts and collagen, and the free room as one more) whose sum is the
voxel's ``content``, and intensive properties ``x[m]`` of the tissue in it (per unit of content:
matrix integrity, vessel density, water, inflammation, displacement, ...). ``f0`` (shape
``(n0 + 1, n1, n2)``) holds the volume moved through each face normal to axis 0 during the step,
as a fraction of a voxel volume, positive towards ``+axis``: ``f0[i]`` is the face between cells
``i − 1`` and ``i``, and ``f0[0]``, ``f0[n0]`` are the faces of the box; ``f1``, ``f2`` likewise.

One step, with ``out`` the volume a voxel sends through its faces and ``in`` what it receives
(``in`` from a neighbour ``n`` is a share ``Φ / content_n`` of each of ``n``'s volumes, the upwind
or donor-cell rule)::

    q[s] ← q[s] (content − out) / content + Σ_in Φ q_n[s] / content_n
    x[m] ← (x[m] (content − out) + Σ_in Φ x_n[m]) / (content − out + in)

Every volume leaving a voxel enters its neighbour, so the sum of each ``q[s]`` over the box
changes only by what crosses the faces of the box (conservative to round-off). With ``out <=
content`` (the caller sub-steps to ensure it) every new value is a non-negative combination of
old ones: volumes stay >= 0 and each intensive property stays within the range of the values
it is mixed from (bounded). The neighbours across the faces of the box are the padding of the
arrays, which the step reads and never writes.

The scheme is first order. For a uniform translation at Courant number ``C`` the distribution's
mean moves exactly with the flow and its variance grows by ``h² C (1 − C)`` per step and axis,
a numerical diffusivity ``u h (1 − C) / 2`` (the tests check both).
"""

from __future__ import annotations

import numpy as np
from numba import prange

from ._jit import jit

__all__ = ["advect_step", "advect_step_numpy", "largest_outflow", "largest_outflow_numpy"]


@jit(inline=True)
def _outflow(f0, f1, f2, i, j, k):
    """Volume leaving cell (i, j, k) through its six faces (interior indices)."""
    out = 0.0
    w, e = f0[i, j, k], f0[i + 1, j, k]
    s, n = f1[i, j, k], f1[i, j + 1, k]
    b, t = f2[i, j, k], f2[i, j, k + 1]
    if w < 0.0:
        out -= w
    if e > 0.0:
        out += e
    if s < 0.0:
        out -= s
    if n > 0.0:
        out += n
    if b < 0.0:
        out -= b
    if t > 0.0:
        out += t
    return out


@jit(inline=True)
def _gather(q, x, content, qn, xn, phi, a, b, d, i, j, k):
    """Add what padded neighbour (a, b, d) sends into cell (i, j, k) through a face carrying
    ``phi`` into the cell (nothing when phi <= 0); returns the volume received."""
    if phi <= 0.0:
        return 0.0
    cnb = content[a, b, d]
    if cnb <= 0.0:
        return 0.0
    share = phi / cnb
    for s in range(q.shape[0]):
        qn[s, i, j, k] += q[s, a, b, d] * share
    for m in range(x.shape[0]):
        xn[m, i, j, k] += x[m, a, b, d] * phi
    return phi


@jit(parallel=True)
def largest_outflow(content, f0, f1, f2):
    """Largest ``out / content`` over the cells (``content`` padded), i.e. the step's Courant
    number; cells without content count as 0."""
    n0, n1, n2 = content.shape[0] - 2, content.shape[1] - 2, content.shape[2] - 2
    part = np.zeros(n0)
    for i in prange(n0):
        m = 0.0
        for j in range(n1):
            for k in range(n2):
                c = content[i + 1, j + 1, k + 1]
                if c > 0.0:
                    m = max(m, _outflow(f0, f1, f2, i, j, k) / c)
        part[i] = m
    return part.max() if n0 > 0 else 0.0


@jit(parallel=True)
def advect_step(q, x, content, f0, f1, f2, qn, xn, cn):
    """One donor-cell step (module docstring). ``q`` ``(nv, n0 + 2, n1 + 2, n2 + 2)``, ``x``
    ``(nx, ...)`` and ``content`` are padded by one cell; ``qn`` ``(nv, n0, n1, n2)``, ``xn`` and
    ``cn`` receive the new interior values."""
    nv, nx = q.shape[0], x.shape[0]
    n0, n1, n2 = cn.shape
    for i in prange(n0):
        for j in range(n1):
            for k in range(n2):
                c = content[i + 1, j + 1, k + 1]
                out = _outflow(f0, f1, f2, i, j, k)
                stay = c - out
                keep = stay / c if c > 0.0 else 0.0
                for s in range(nv):
                    qn[s, i, j, k] = q[s, i + 1, j + 1, k + 1] * keep
                for m in range(nx):
                    xn[m, i, j, k] = x[m, i + 1, j + 1, k + 1] * stay
                # the six neighbours: flux into this cell, padded neighbour index
                inflow = _gather(q, x, content, qn, xn, f0[i, j, k], i, j + 1, k + 1, i, j, k)
                inflow += _gather(
                    q, x, content, qn, xn, -f0[i + 1, j, k], i + 2, j + 1, k + 1, i, j, k
                )
                inflow += _gather(q, x, content, qn, xn, f1[i, j, k], i + 1, j, k + 1, i, j, k)
                inflow += _gather(
                    q, x, content, qn, xn, -f1[i, j + 1, k], i + 1, j + 2, k + 1, i, j, k
                )
                inflow += _gather(q, x, content, qn, xn, f2[i, j, k], i + 1, j + 1, k, i, j, k)
                inflow += _gather(
                    q, x, content, qn, xn, -f2[i, j, k + 1], i + 1, j + 1, k + 2, i, j, k
                )
                total = stay + inflow
                if total > 0.0:
                    for m in range(nx):
                        xn[m, i, j, k] /= total
                else:
                    for m in range(nx):
                        xn[m, i, j, k] = x[m, i + 1, j + 1, k + 1]
                cn[i, j, k] = total


def _outflow_numpy(f0, f1, f2):
    out = np.maximum(-f0[:-1], 0.0) + np.maximum(f0[1:], 0.0)
    out += np.maximum(-f1[:, :-1], 0.0) + np.maximum(f1[:, 1:], 0.0)
    out += np.maximum(-f2[:, :, :-1], 0.0) + np.maximum(f2[:, :, 1:], 0.0)
    return out


def largest_outflow_numpy(content, f0, f1, f2):
    """NumPy reference of :func:`largest_outflow`."""
    c = content[1:-1, 1:-1, 1:-1]
    out = _outflow_numpy(f0, f1, f2)
    ratio = np.where(c > 0.0, out / np.where(c > 0.0, c, 1.0), 0.0)
    return float(ratio.max()) if ratio.size else 0.0


def advect_step_numpy(q, x, content, f0, f1, f2, qn, xn, cn):
    """NumPy reference of :func:`advect_step`."""
    inner = (slice(1, -1),) * 3
    c = content[inner]
    out = _outflow_numpy(f0, f1, f2)
    stay = c - out
    keep = np.where(c > 0.0, stay / np.where(c > 0.0, c, 1.0), 0.0)
    new_q = q[(slice(None), *inner)] * keep
    new_x = x[(slice(None), *inner)] * stay
    inflow = np.zeros_like(c)
    n0, n1, n2 = c.shape
    # (flux into the cell, the neighbour's padded slices)
    faces = (
        (f0[:-1], (slice(0, n0), slice(1, -1), slice(1, -1))),
        (-f0[1:], (slice(2, n0 + 2), slice(1, -1), slice(1, -1))),
        (f1[:, :-1], (slice(1, -1), slice(0, n1), slice(1, -1))),
        (-f1[:, 1:], (slice(1, -1), slice(2, n1 + 2), slice(1, -1))),
        (f2[:, :, :-1], (slice(1, -1), slice(1, -1), slice(0, n2))),
        (-f2[:, :, 1:], (slice(1, -1), slice(1, -1), slice(2, n2 + 2))),
    )
    for flux, nb in faces:
        cnb = content[nb]
        phi = np.where((flux > 0.0) & (cnb > 0.0), flux, 0.0)
        inflow += phi
        share = phi / np.where(cnb > 0.0, cnb, 1.0)
        new_q += q[(slice(None), *nb)] * share
        new_x += x[(slice(None), *nb)] * phi
    total = stay + inflow
    safe = np.where(total > 0.0, total, 1.0)
    new_x = np.where(total > 0.0, new_x / safe, x[(slice(None), *inner)])
    qn[...] = new_q
    xn[...] = new_x
    cn[...] = total
