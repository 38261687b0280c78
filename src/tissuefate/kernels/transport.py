"""Agent transport kernels: implicit upwind advection, explicit diffusion, the exact
second-order reaction step and first-order decay.

``upwind_sweep`` advances ``∂(φc)/∂t + ∇·(u c) = s`` one backward-Euler step with upwind faces
for the flow of a potential (the pressure: steady, or of one step of a tissue that stores fluid,
where each cell's fluid volume goes from ``cap`` to ``cap_new`` and the fluxes balance that
change). Cells are visited in order of decreasing pressure, so every upstream cell is
final before its downstream neighbours need it and the implicit system is solved exactly in one
sweep, at any time step (Natvig & Lie's "optimal ordering" of upwind schemes). Each cell pushes
what leaves it to its downstream neighbours, so the amount is conserved to round-off; a cell whose
content stays below ``tiny`` keeps what reached it instead of passing it on, which confines the
work to where the agent is without losing any of it. ``order`` may list only a region (flagged in
``inside``): what flows out of it is deposited in the first voxel beyond, which moves it no
further in that step.

``diffuse_step`` advances ``φ ∂c/∂t = ∇·(D∇c)`` one explicit finite-volume step on padded arrays
(ghost layer = boundary values, set by the caller), with face conductance the harmonic mean of
the two cells' ``D`` (series half cells; 0 if either is 0) and ``φ`` the capacity of each cell
(1 for a plain diffusion). Cells with ``hold = 1`` keep their value (an infusion tip at a fixed
concentration). The float64 per-plane sums of what entered through held cells are returned in
``inflow[i]`` (times h gives mol per unit ``φ``) for the mass ledger.

``react_step`` integrates the local reaction ``A + tissue -> products`` at rate ``k C Θ`` exactly
over ``dt`` (``C`` agent, ``Θ`` remaining demand capacity, both mol/m³, ``k`` in m³/mol/s): the
difference ``δ = C − Θ`` is conserved, and

    C(t) = δ / (1 − (Θ0 / C0) e^{−k δ t})      (δ ≠ 0),      C(t) = C0 / (1 + k C0 t)  (δ = 0),

so a reaction however fast is stable at the transport time step (the titration front of a fast
oxidant). The consumed amount per plane, weighted by ``cap`` (e.g. the fluid volume of a
voxel), is returned in ``consumed[i]``.

``decay_step`` removes a first-order loss ``−λ c`` exactly over ``dt`` (washout by perfusion)
and returns the ``cap``-weighted amount removed per plane.
"""

from __future__ import annotations

import math

import numpy as np
from numba import prange

from ._jit import jit

__all__ = [
    "decay_step",
    "decay_step_numpy",
    "diffuse_step",
    "diffuse_step_numpy",
    "react_step",
    "react_step_numpy",
    "upwind_explicit",
    "upwind_explicit_numpy",
    "upwind_sweep",
    "upwind_sweep_numpy",
]


@jit(inline=True)
def _face(da, db):
    s = da + db
    return 2.0 * da * db / s if s > 0.0 else 0.0


@jit(parallel=True)
def diffuse_step(c, d, cap, hold, out, a, inflow):
    """One explicit step; ``a = dt / h²``; see the module docstring."""
    n0 = c.shape[0] - 2
    n1 = c.shape[1] - 2
    n2 = c.shape[2] - 2
    for i in prange(1, n0 + 1):
        held = 0.0
        for j in range(1, n1 + 1):
            for k in range(1, n2 + 1):
                v = c[i, j, k]
                dc = d[i, j, k]
                flux = (
                    _face(dc, d[i - 1, j, k]) * (c[i - 1, j, k] - v)
                    + _face(dc, d[i + 1, j, k]) * (c[i + 1, j, k] - v)
                    + _face(dc, d[i, j - 1, k]) * (c[i, j - 1, k] - v)
                    + _face(dc, d[i, j + 1, k]) * (c[i, j + 1, k] - v)
                    + _face(dc, d[i, j, k - 1]) * (c[i, j, k - 1] - v)
                    + _face(dc, d[i, j, k + 1]) * (c[i, j, k + 1] - v)
                )
                if hold[i - 1, j - 1, k - 1]:
                    out[i, j, k] = v
                    held -= a * flux  # what the held cell gave its neighbours
                else:
                    out[i, j, k] = v + a * flux / cap[i, j, k]
        inflow[i - 1] = held


def diffuse_step_numpy(c, d, cap, hold, out, a, inflow):
    """NumPy reference of :func:`diffuse_step`."""
    inner = (slice(1, -1),) * 3
    v = c[inner]
    dc = d[inner]
    flux = np.zeros_like(v)
    for axis in range(3):
        for shift in (-1, 1):
            sl = [slice(1, -1)] * 3
            sl[axis] = slice(1 + shift, c.shape[axis] - 1 + shift)
            dn = d[tuple(sl)]
            s = dc + dn
            face = np.where(s > 0, 2 * dc * dn / np.where(s > 0, s, 1.0), 0.0)
            flux += face * (c[tuple(sl)] - v)
    held = hold != 0
    out[inner] = np.where(held, v, v + a * flux / cap[inner])
    inflow[:] = np.where(held, -a * flux, 0.0).sum(axis=(1, 2))


@jit(inline=True)
def _react(c0, t0, kdt):
    """Exact C and Θ after ``k dt`` of the reaction (see the module docstring)."""
    if c0 <= 0.0 or t0 <= 0.0:
        return c0, t0
    delta = c0 - t0
    x = kdt * delta
    if abs(x) < 1e-12:
        c = c0 / (1.0 + kdt * c0)
    elif delta > 0.0:  # agent in excess: Θ goes to 0
        c = delta / (1.0 - (t0 / c0) * math.exp(-x))
    else:  # demand in excess: C goes to 0; the same formula written without overflow
        e = math.exp(x)  # x < 0
        c = delta * e / (e - t0 / c0)
    c = min(max(c, delta, 0.0), c0)
    return c, c - delta


@jit(parallel=True)
def react_step(c, theta, k, cap, dt, consumed):
    """Exact reaction over ``dt`` s on unpadded float64 arrays; ``k`` per voxel (m³/mol/s)."""
    n0, n1, n2 = c.shape
    for i in prange(n0):
        used = 0.0
        for j in range(n1):
            for m in range(n2):
                c0 = c[i, j, m]
                cn, tn = _react(c0, theta[i, j, m], k[i, j, m] * dt)
                used += (c0 - cn) * cap[i, j, m]
                c[i, j, m] = cn
                theta[i, j, m] = tn
        consumed[i] = used


def react_step_numpy(c, theta, k, cap, dt, consumed):
    """NumPy reference of :func:`react_step`."""
    c0 = c.copy()
    t0 = theta.copy()
    live = (c0 > 0) & (t0 > 0)
    delta = c0 - t0
    x = k * dt * delta
    small = np.abs(x) < 1e-12
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        ratio = np.where(live, t0 / np.where(c0 > 0, c0, 1.0), 0.0)
        excess = delta / (1.0 - ratio * np.exp(-x))
        e = np.exp(np.minimum(x, 0.0))
        short = delta * e / (e - ratio)
        cn = np.where(small, c0 / (1.0 + k * dt * c0), np.where(delta > 0, excess, short))
    cn = np.minimum(np.maximum(cn, np.maximum(delta, 0.0)), c0)
    cn = np.where(live, cn, c0)
    c[...] = cn
    theta[...] = np.where(live, cn - delta, t0)
    consumed[:] = ((c0 - cn) * cap).sum(axis=(1, 2))


@jit(parallel=True)
def decay_step(c, rate, cap, dt, removed):
    """``c *= exp(−rate dt)`` on unpadded float64 arrays; ``rate`` per voxel (1/s)."""
    n0, n1, n2 = c.shape
    for i in prange(n0):
        gone = 0.0
        for j in range(n1):
            for m in range(n2):
                v = c[i, j, m]
                r = rate[i, j, m]
                if v > 0.0 and r > 0.0:
                    keep = v * math.exp(-r * dt)
                    gone += (v - keep) * cap[i, j, m]
                    c[i, j, m] = keep
        removed[i] = gone


def decay_step_numpy(c, rate, cap, dt, removed):
    """NumPy reference of :func:`decay_step`."""
    keep = c * np.exp(-rate * dt)
    removed[:] = ((c - keep) * cap).sum(axis=(1, 2))
    c[...] = keep


@jit(inline=True)
def _outflows(f0, f1, f2, i, j, m):
    """The six face fluxes of voxel (i, j, m) signed outwards (m³/s), and their positive sum."""
    q_lo0 = -f0[i, j, m]
    q_hi0 = f0[i + 1, j, m]
    q_lo1 = -f1[i, j, m]
    q_hi1 = f1[i, j + 1, m]
    q_lo2 = -f2[i, j, m]
    q_hi2 = f2[i, j, m + 1]
    q_out = (
        max(q_lo0, 0.0)
        + max(q_hi0, 0.0)
        + max(q_lo1, 0.0)
        + max(q_hi1, 0.0)
        + max(q_lo2, 0.0)
        + max(q_hi2, 0.0)
    )
    return q_lo0, q_hi0, q_lo1, q_hi1, q_lo2, q_hi2, q_out


@jit(inline=True)
def _give(inside, push, fields, cap, f, i, j, m, rate, dt, spilled):
    """Pass ``rate`` (amount/s) of field ``f`` downstream: to a voxel of the swept region for
    its own update, or straight into a voxel beyond it (counted in ``spilled[f]``)."""
    if inside[i, j, m]:
        push[f, i, j, m] += rate
    else:
        fields[f, i, j, m] += rate * dt / cap[i, j, m]
        spilled[f] += rate * dt


@jit()
def upwind_sweep(
    order, inside, f0, f1, f2, cap, cap_new, fields, sources, dt, push, tiny, spilled, out
):
    """One backward-Euler upwind step of ``d(cap c)/dt = Σ_in q c_up − Σ_out q c + source`` for
    each of the fields stacked in ``fields`` (k, n0, n1, n2), all moved by one flow:
    ``c' (cap_new + dt Σ_out q) = cap c + dt (Σ_in q c_up + source)``.

    ``order``: flat cell indices by decreasing pressure; ``inside``: uint8 flags of the cells in
    ``order``; ``f0, f1, f2``: face fluxes along +x, +y, +z (m³/s, shapes ``(n0+1, n1, n2)`` ...;
    the outer faces are the grid's only where the block touches the grid's faces, which the caller
    ensures by passing the swept cells and one ring around them); ``cap``, ``cap_new``: fluid volume
    of each cell (m³) before and after the step (the same array for a steady flow; a cell beyond the
    region receives its spill at ``cap``, and the caller rescales it); ``fields``: concentrations,
    updated in place; ``sources``: amount entering each cell per s; ``push``: zeroed scratch like
    ``fields`` (left zeroed); ``tiny`` (k,): a cell holding less passes none on; ``spilled`` (k,):
    what left the region into cells beyond it is added; ``out`` (k,): what left through the faces of
    the block is added (amount).
    """
    nf = fields.shape[0]
    n0, n1, n2 = cap.shape
    plane = n1 * n2
    for idx in order:
        i = idx // plane
        j = (idx // n2) % n1
        m = idx % n2
        active = False
        for f in range(nf):
            if fields[f, i, j, m] > 0.0 or push[f, i, j, m] + sources[f, i, j, m] > 0.0:
                active = True
        if not active:
            continue
        # outflow faces: the six fluxes with their sign towards the outside of this cell
        q_lo0, q_hi0, q_lo1, q_hi1, q_lo2, q_hi2, q_out = _outflows(f0, f1, f2, i, j, m)
        v = cap[i, j, m]
        vn = cap_new[i, j, m]
        for f in range(nf):
            held = v * fields[f, i, j, m] + dt * (push[f, i, j, m] + sources[f, i, j, m])
            push[f, i, j, m] = 0.0
            if held <= 0.0:
                continue
            cn = held / (vn + dt * q_out)
            if cn * vn < tiny[f] or q_out <= 0.0:
                fields[f, i, j, m] = held / vn  # too little to pass on: it stays here
                continue
            fields[f, i, j, m] = cn
            # push each outflow to the downstream cell, or out of the block at its faces
            if q_lo0 > 0.0:
                if i > 0:
                    _give(inside, push, fields, cap, f, i - 1, j, m, q_lo0 * cn, dt, spilled)
                else:
                    out[f] += q_lo0 * cn * dt
            if q_hi0 > 0.0:
                if i < n0 - 1:
                    _give(inside, push, fields, cap, f, i + 1, j, m, q_hi0 * cn, dt, spilled)
                else:
                    out[f] += q_hi0 * cn * dt
            if q_lo1 > 0.0:
                if j > 0:
                    _give(inside, push, fields, cap, f, i, j - 1, m, q_lo1 * cn, dt, spilled)
                else:
                    out[f] += q_lo1 * cn * dt
            if q_hi1 > 0.0:
                if j < n1 - 1:
                    _give(inside, push, fields, cap, f, i, j + 1, m, q_hi1 * cn, dt, spilled)
                else:
                    out[f] += q_hi1 * cn * dt
            if q_lo2 > 0.0:
                if m > 0:
                    _give(inside, push, fields, cap, f, i, j, m - 1, q_lo2 * cn, dt, spilled)
                else:
                    out[f] += q_lo2 * cn * dt
            if q_hi2 > 0.0:
                if m < n2 - 1:
                    _give(inside, push, fields, cap, f, i, j, m + 1, q_hi2 * cn, dt, spilled)
                else:
                    out[f] += q_hi2 * cn * dt


def upwind_sweep_numpy(
    order, inside, f0, f1, f2, cap, cap_new, fields, sources, dt, push, tiny, spilled, out
):
    """Reference of :func:`upwind_sweep` over the whole block (``tiny = 0``): the backward-Euler
    system assembled and solved with a sparse direct solver, per field; ``order``, ``inside``,
    ``push`` and ``spilled`` are not needed."""
    del order, inside, push, tiny, spilled
    for f in range(fields.shape[0]):
        out[f] += _implicit_upwind(f0, f1, f2, cap, cap_new, fields[f], sources[f], dt)


def _implicit_upwind(f0, f1, f2, cap, cap_new, c, source, dt):
    """Solve one backward-Euler upwind step of one field in place; returns the outflow."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.linalg import spsolve

    shape = c.shape
    n = c.size
    index = np.arange(n).reshape(shape)
    diag = cap_new.ravel() / dt
    rows, cols, vals = [], [], []
    out_of_box_rate = np.zeros(n)
    for axis, f in enumerate((f0, f1, f2)):
        lo = [slice(None)] * 3
        hi = [slice(None)] * 3
        lo[axis] = slice(0, -1)
        hi[axis] = slice(1, None)
        inner = [slice(None)] * 3
        inner[axis] = slice(1, -1)
        q = f[tuple(inner)]  # faces between cells a (lower) and b (upper), positive a -> b
        a = index[tuple(lo)].ravel()
        b = index[tuple(hi)].ravel()
        qf = q.ravel()
        fwd = np.maximum(qf, 0.0)  # a -> b
        back = np.maximum(-qf, 0.0)  # b -> a
        np.add.at(diag, a, fwd)
        np.add.at(diag, b, back)
        rows += [b, a]
        cols += [a, b]
        vals += [-fwd, -back]
        first = [slice(None)] * 3
        last = [slice(None)] * 3
        first[axis] = 0
        last[axis] = -1
        out_lo = np.maximum(-f[tuple(first)], 0.0).ravel()
        out_hi = np.maximum(f[tuple(last)], 0.0).ravel()
        cells_lo = np.take(index, 0, axis=axis).ravel()
        cells_hi = np.take(index, -1, axis=axis).ravel()
        np.add.at(diag, cells_lo, out_lo)
        np.add.at(diag, cells_hi, out_hi)
        np.add.at(out_of_box_rate, cells_lo, out_lo)
        np.add.at(out_of_box_rate, cells_hi, out_hi)
    rows_all = np.concatenate([np.arange(n), *rows])
    cols_all = np.concatenate([np.arange(n), *cols])
    vals_all = np.concatenate([diag, *vals])
    matrix = coo_matrix((vals_all, (rows_all, cols_all)), shape=(n, n)).tocsr()
    rhs = cap.ravel() * c.ravel() / dt + source.ravel()
    new = spsolve(matrix, rhs)
    c[...] = new.reshape(shape)
    return float((out_of_box_rate * new).sum() * dt)


@jit(inline=True)
def _move(delta, out, f, i, j, m, ni, nj, nm, inside_grid, amount):
    """Move ``amount`` of field ``f`` from voxel (i, j, m) to its neighbour, or out of the
    grid when there is none."""
    delta[f, i, j, m] -= amount
    if inside_grid:
        delta[f, ni, nj, nm] += amount
    else:
        out[f] += amount


@jit()
def upwind_explicit(box, inside, f0, f1, f2, cap, c_a, c_b, dt, delta, out):
    """Forward-Euler upwind amounts for the voxels of ``box`` (``(i0, i1, j0, j1, m0, m1)``,
    global indices) that are not ``inside`` the implicit region and hold agent or injectate.

    ``c_a``, ``c_b``: the two fields (grid-shaped); what each voxel sends along its outflow faces
    in ``dt`` s, from its old value, is added to ``delta`` (2, grid; amount = concentration × m³)
    at the receiving voxel and subtracted at the sender, or added to ``out`` when it leaves the
    grid. Returns the largest outflow Courant number ``q_out dt / cap`` of the voxels handled
    (the step is stable and positive if it is at most 1).
    """
    n0, n1, n2 = cap.shape
    worst = 0.0
    for i in range(box[0], box[1]):
        for j in range(box[2], box[3]):
            for m in range(box[4], box[5]):
                if inside[i, j, m]:
                    continue
                ca = c_a[i, j, m]
                cb = c_b[i, j, m]
                if ca <= 0.0 and cb <= 0.0:
                    continue
                q_lo0, q_hi0, q_lo1, q_hi1, q_lo2, q_hi2, q_out = _outflows(f0, f1, f2, i, j, m)
                worst = max(worst, q_out * dt / cap[i, j, m])
                for f in range(2):
                    c = ca if f == 0 else cb
                    if c <= 0.0:
                        continue
                    if q_lo0 > 0.0:
                        _move(delta, out, f, i, j, m, i - 1, j, m, i > 0, q_lo0 * c * dt)
                    if q_hi0 > 0.0:
                        _move(delta, out, f, i, j, m, i + 1, j, m, i < n0 - 1, q_hi0 * c * dt)
                    if q_lo1 > 0.0:
                        _move(delta, out, f, i, j, m, i, j - 1, m, j > 0, q_lo1 * c * dt)
                    if q_hi1 > 0.0:
                        _move(delta, out, f, i, j, m, i, j + 1, m, j < n1 - 1, q_hi1 * c * dt)
                    if q_lo2 > 0.0:
                        _move(delta, out, f, i, j, m, i, j, m - 1, m > 0, q_lo2 * c * dt)
                    if q_hi2 > 0.0:
                        _move(delta, out, f, i, j, m, i, j, m + 1, m < n2 - 1, q_hi2 * c * dt)
    return worst


def upwind_explicit_numpy(box, inside, f0, f1, f2, cap, c_a, c_b, dt, delta, out):
    """NumPy reference of :func:`upwind_explicit`."""
    i0, i1, j0, j1, m0, m1 = box
    mask = np.zeros(cap.shape, bool)
    mask[i0:i1, j0:j1, m0:m1] = True
    fields = (c_a, c_b)
    mask &= (inside == 0) & ((c_a > 0) | (c_b > 0))
    q_out = np.zeros(cap.shape)
    for axis, f in enumerate((f0, f1, f2)):
        lo = [slice(None)] * 3
        hi = [slice(None)] * 3
        lo[axis] = slice(0, -1)
        hi[axis] = slice(1, None)
        down = np.maximum(-f[tuple(lo)], 0.0)  # through the lower face, outwards
        up = np.maximum(f[tuple(hi)], 0.0)  # through the upper face, outwards
        q_out += down + up
        for k, c in enumerate(fields):
            send = np.where(mask & (c > 0), c * dt, 0.0)
            delta[k] -= (down + up) * send
            # the receivers: lower neighbour gets down, upper gets up
            low_recv = [slice(None)] * 3
            low_send = [slice(None)] * 3
            low_recv[axis] = slice(0, -1)
            low_send[axis] = slice(1, None)
            delta[k][tuple(low_recv)] += (down * send)[tuple(low_send)]
            delta[k][tuple(low_send)] += (up * send)[tuple(low_recv)]
            first = [slice(None)] * 3
            last = [slice(None)] * 3
            first[axis] = 0
            last[axis] = -1
            out[k] += float((down * send)[tuple(first)].sum() + (up * send)[tuple(last)].sum())
    ratio = np.where(mask, q_out * dt / cap, 0.0)
    return float(ratio.max(initial=0.0))
