"""Explicit finite-volume step of the Pennes bioheat equation with an apparent heat capacity.

All 3-D arrays are *padded*: shape ``(n0 + 2, n1 + 2, n2 + 2)``, the interior
``[1:-1, 1:-1, 1:-1]`` holds the voxels, the outer layer holds ghost values. Temperatures are
offsets ``theta = T - T_ref`` in K from a reference temperature, which keeps float32 round-off
relative to the temperature *rise*.

One step computes, for each voxel (cell-centred, 7-point, face conductance the geometric mean
``sqrt(k_c k_n)`` so that it reads ``s_c s_n`` with ``s = sqrt(k)``)::

    out = theta + ic * f(theta) * ( a * s_c * sum_n s_n (theta_n - theta)
                                    + dt * (q - w (theta - theta_a)) )

with ``a = dt / h**2``, ``ic = 1 / (rho c)`` (zero for voxels held at a fixed temperature),
``w`` the perfusion coefficient ``omega_b rho_b c_b`` and ``q`` the source density. ``f`` is the
ratio of the base to the apparent heat capacity, piecewise constant in temperature over three
windows ``windows[n] = (lo, hi, f, sink)`` (latent heat or a changed heat capacity), 1
elsewhere. A *sink* window (``sink = 1``, vaporisation) acts only while the voxel gains heat, and
the latent part ``(1 - f) R`` of the heat ``R`` it receives leaves the tissue (the steam escapes):
it is not returned on cooling. Nor is the water: ``front`` (padded, per voxel) is the highest
offset each voxel has reached inside a sink window, and the window's lower edge is
``max(lo, front)`` for that voxel, so tissue that boiled partly dry, cooled and heats again pays
the latent heat only of the water it has left (the step raises ``front`` to the voxel's new value,
clipped to the window). ``(front - lo) / (hi - lo)`` is the fraction of the water boiled off.
Ghosts of ``out`` are set to ``ga + gs * interior`` (Dirichlet at the face: ``ga = 2 theta_b,
gs = -1``; insulated: ``ga = 0, gs = 1``). ``loss[i, 0]`` receives ``sum_jk w (theta - theta_a)``
of plane ``i``, ``loss[i, 1]`` the latent heat sunk in sink windows, ``sum_jk (1 - f) R``
(J/m³), and ``loss[i, 2]`` the conduction into the plane's voxels through the outer faces,
``sum s_c s_g (theta_g - theta_c)`` (W/m; times h gives W), all in float64, for the energy
balance.
"""

from __future__ import annotations

import numpy as np
from numba import prange

from ._jit import jit

__all__ = [
    "boundary_inflow",
    "boundary_inflow_numpy",
    "fill_ghosts",
    "fixed_inflow",
    "fixed_inflow_numpy",
    "freeze_coefficients",
    "freeze_coefficients_numpy",
    "pennes_step",
    "pennes_step_numpy",
]


@jit(inline=True)
def _conduction(theta, s, i, j, k):
    """``s_c sum_n s_n (theta_n - theta_c)`` at voxel (i, j, k): conduction in, times h²."""
    c = theta[i, j, k]
    return s[i, j, k] * (
        s[i - 1, j, k] * (theta[i - 1, j, k] - c)
        + s[i + 1, j, k] * (theta[i + 1, j, k] - c)
        + s[i, j - 1, k] * (theta[i, j - 1, k] - c)
        + s[i, j + 1, k] * (theta[i, j + 1, k] - c)
        + s[i, j, k - 1] * (theta[i, j, k - 1] - c)
        + s[i, j, k + 1] * (theta[i, j, k + 1] - c)
    )


@jit(inline=True)
def _heat(theta, s, w, q, i, j, k, a, dt, theta_a):
    """Temperature, perfusion term and heat gained R (J/m³) of voxel (i, j, k) in one step."""
    c = theta[i, j, k]
    perf = w[i, j, k] * (c - theta_a)
    return c, perf, a * _conduction(theta, s, i, j, k) + dt * (q[i, j, k] - perf)


@jit(inline=True)
def _meets(c, new, windows):
    """Whether a voxel's path from ``c`` to ``new`` meets a phase window (nominal edges)."""
    lo = min(c, new)
    hi = max(c, new)
    return (
        ((hi >= windows[0, 0]) & (lo < windows[0, 1]))
        | ((hi >= windows[1, 0]) & (lo < windows[1, 1]))
        | ((hi >= windows[2, 0]) & (lo < windows[2, 1]))
    )


@jit(inline=True)
def _row_plain(theta, s, ic, w, q, out, i, j, n2, a, dt, theta_a, windows):
    """One row without phase windows; returns the row's perfusion sum and whether any voxel's
    path from its old to its new value meets a window (then the row must be done with them).

    The test is per voxel and folded into the sweep with a boolean OR, which vectorises; a scan
    of the row's minimum and maximum does not (numba's float ``min``/``max`` reductions stay
    scalar) and cost more than the update itself (docs/performance.md).
    """
    row = theta.dtype.type(0.0)
    meets = False
    for k in range(1, n2 + 1):
        c, perf, r = _heat(theta, s, w, q, i, j, k, a, dt, theta_a)
        row += perf
        new = c + ic[i, j, k] * r
        out[i, j, k] = new
        meets = meets | _meets(c, new, windows)
    return row, meets


@jit(inline=True)
def _walk(c, e, windows, front):
    """Offset reached from ``c`` by adding ``e`` (K at the base heat capacity), exactly, and the
    part of ``e`` that left as latent heat of a sink window (whose lower edge is raised to
    ``front``: the water boiled off below it is gone).

    The apparent heat capacity is the factor ``1 / f`` of each window (1 outside them), so the
    heat needed to cross a window edge is known: the walk moves edge to edge until ``e`` is spent.
    Heating through a sink window sinks the latent part ``(1 - f)`` of the heat spent in it;
    cooling ignores sink windows (their heat is not given back). Updating with the factor at the
    start temperature alone would gain or lose latent heat whenever a step crosses an edge; the
    walk keeps the enthalpy exact (float64 inside).
    """
    theta = np.float64(c)
    e = np.float64(e)
    sunk = 0.0
    for _ in range(2 * windows.shape[0] + 1):
        if e == 0.0:
            break
        up = e > 0.0
        slope = 1.0
        latent = 0.0
        edge = 1e300 if up else -1e300
        for n in range(windows.shape[0]):
            if windows[n, 3] > 0 and not up:  # cooling passes sink windows at the base rate
                continue
            lo = np.float64(windows[n, 0])
            hi = np.float64(windows[n, 1])
            if windows[n, 3] > 0:
                lo = max(lo, np.float64(front))
            if up:
                if lo <= theta < hi:
                    slope = 1.0 / np.float64(windows[n, 2])
                    latent = 1.0 - np.float64(windows[n, 2]) if windows[n, 3] > 0 else 0.0
                    edge = min(edge, hi)
                elif lo > theta:
                    edge = min(edge, lo)
            elif lo < theta <= hi:
                slope = 1.0 / np.float64(windows[n, 2])
                edge = max(edge, lo)
            elif hi < theta:
                edge = max(edge, hi)
        room = slope * (edge - theta)
        if (up and e <= room) or (not up and e >= room):
            theta += e / slope
            sunk += e * latent
            e = 0.0
        else:
            theta = edge
            sunk += room * latent
            e -= room
    return theta, sunk


@jit(inline=True)
def _unpack(windows):
    """The window table as a tuple of scalars (lo, hi, f, sink?) x 3, read once per row."""
    return (
        windows[0, 0], windows[0, 1], windows[0, 2], windows[0, 3] > 0,
        windows[1, 0], windows[1, 1], windows[1, 2], windows[1, 3] > 0,
        windows[2, 0], windows[2, 1], windows[2, 2], windows[2, 3] > 0,
    )  # fmt: skip


@jit(inline=True)
def _voxel_windows(c, r, icv, fr, win, one, zero):
    """One voxel's update at the rate of the window it is in, without the walk.

    Returns the new value, the latent heat sunk (J/m³), whether the step crosses a window edge
    (a sink window's only while heating: then :func:`_walk` must redo it), whether a sink
    window's front must follow the new value, and the three windows' lower edges (a sink
    window's raised to ``fr``). Branch-free, so the sweep over a row vectorises.
    """
    lo0, hi0, f0, s0, lo1, hi1, f1, s1, lo2, hi2, f2, s2 = win
    lo0 = max(lo0, fr) if s0 else lo0
    lo1 = max(lo1, fr) if s1 else lo1
    lo2 = max(lo2, fr) if s2 else lo2
    gain = r > zero
    r0, r1, r2 = gain | (not s0), gain | (not s1), gain | (not s2)
    in0 = (c >= lo0) & (c < hi0) & r0
    in1 = (c >= lo1) & (c < hi1) & r1
    in2 = (c >= lo2) & (c < hi2) & r2
    f = f0 if in0 else one
    f = f1 if in1 else f
    f = f2 if in2 else f
    live = icv > zero
    sunk = ((in0 & s0) | (in1 & s1) | (in2 & s2)) & live
    new = c + f * (icv * r)
    sink = (one - f) * r if sunk else zero
    cross = (r0 & (((c < lo0) ^ (new < lo0)) | ((c < hi0) ^ (new < hi0)))) | (
        r1 & (((c < lo1) ^ (new < lo1)) | ((c < hi1) ^ (new < hi1)))
    )
    cross = (cross | (r2 & (((c < lo2) ^ (new < lo2)) | ((c < hi2) ^ (new < hi2))))) & live
    rise = _rises(new, fr, live, win, lo0, lo1, lo2)
    return new, sink, cross, rise, lo0, lo1, lo2


@jit(inline=True)
def _rises(new, fr, live, win, lo0, lo1, lo2):
    """Whether a voxel's new value lies above its front inside or above a sink window."""
    s0, s1, s2 = win[3], win[7], win[11]
    above = (s0 & (new > lo0)) | (s1 & (new > lo1)) | (s2 & (new > lo2))
    return live & (new > fr) & above


@jit(inline=True)
def _row_windows(theta, s, ic, w, q, out, i, j, n2, a, dt, theta_a, windows, front):
    """One row with the phase windows; returns the perfusion and latent-sink sums, and whether
    any voxel's path met a window (:func:`_meets`).

    A voxel heating inside a sink window, above its ``front``, rises by ``f`` times the plain rate
    and sinks the rest; the front follows it.
    Every other voxel moves by ``f`` of the window it is in (1 outside them). A step that crosses a
    window edge (a sink window's only while heating) moves along the enthalpy curve exactly
    instead (:func:`_walk`).

    Two sweeps: the first, branch-free and vectorised, moves every voxel at its window's rate
    and notes whether any voxel crossed an edge or moved a front; only then does the second,
    scalar, sweep walk those voxels and raise their fronts. In frozen tissue no voxel but those
    at the ice front does either.
    """
    typ = theta.dtype.type
    one = typ(1.0)
    zero = typ(0.0)
    win = _unpack(windows)
    row = zero
    row_sink = zero
    meets = False
    fix = False
    for k in range(1, n2 + 1):
        c, perf, r = _heat(theta, s, w, q, i, j, k, a, dt, theta_a)
        new, sink, cross, rise, _, _, _ = _voxel_windows(
            c, r, ic[i, j, k], front[i, j, k], win, one, zero
        )
        row += perf
        row_sink += sink
        out[i, j, k] = new
        meets = meets | _meets(c, new, windows)
        fix = fix | cross | rise
    if fix:
        row_sink += _walk_row(
            theta, s, ic, w, q, out, i, j, n2, a, dt, theta_a, windows, front, win
        )
    return row, row_sink, meets


@jit(inline=True)
def _walk_row(theta, s, ic, w, q, out, i, j, n2, a, dt, theta_a, windows, front, win):
    """The second sweep of :func:`_row_windows`: walks the voxels whose step crossed an edge and
    raises the fronts that the water boiled off below (clipped to their window); returns the
    change of the row's latent-sink sum."""
    typ = theta.dtype.type
    one = typ(1.0)
    zero = typ(0.0)
    hi0, hi1, hi2 = win[1], win[5], win[9]
    s0, s1, s2 = win[3], win[7], win[11]
    change = zero
    for k in range(1, n2 + 1):
        c, _, r = _heat(theta, s, w, q, i, j, k, a, dt, theta_a)
        icv = ic[i, j, k]
        fr = front[i, j, k]
        new, sink, cross, rise, lo0, lo1, lo2 = _voxel_windows(c, r, icv, fr, win, one, zero)
        if cross:
            walked, spent = _walk(c, icv * r, windows, fr)
            new = typ(walked)
            change += typ(spent / icv) - sink
            out[i, j, k] = new
            rise = _rises(new, fr, icv > zero, win, lo0, lo1, lo2)
        if rise:
            fr_new = fr
            fr_new = max(fr_new, min(new, hi0)) if s0 & (new > lo0) else fr_new
            fr_new = max(fr_new, min(new, hi1)) if s1 & (new > lo1) else fr_new
            fr_new = max(fr_new, min(new, hi2)) if s2 & (new > lo2) else fr_new
            front[i, j, k] = fr_new
    return change


@jit(inline=True)
def _row_range(theta, i, j, n2):
    """Smallest and largest value of a row."""
    lo = theta[i, j, 1]
    hi = lo
    for k in range(2, n2 + 1):
        v = theta[i, j, k]
        lo = min(lo, v)
        hi = max(hi, v)
    return lo, hi


@jit(inline=True)
def _row(theta, s, ic, w, q, out, i, j, n2, a, dt, theta_a, windows, front, ga, gs, hint):
    """Update row (i, j) and its two ghosts; the fast path unless a phase window is in reach.

    A row whose voxels met no window in its last step (``hint[i, j] == 0``) takes the fast path
    first; if any voxel's path from its old to its new value meets a window (the fast path's own
    test), the row is computed again with the windows, which read only the old values. A voxel
    moves monotonically within a step, so no window edge is crossed unseen. A row that met one
    (frozen tissue, a boiling front) goes straight to the windows, which are exact for any row:
    the hint saves the fast path's wasted sweep and never changes a result.

    Returns the perfusion and latent-sink sums; sets ``hint[i, j]``.
    """
    zero = theta.dtype.type(0.0)
    sink = zero
    if hint[i, j]:
        row, sink, meets = _row_windows(
            theta, s, ic, w, q, out, i, j, n2, a, dt, theta_a, windows, front
        )
    else:
        row, meets = _row_plain(theta, s, ic, w, q, out, i, j, n2, a, dt, theta_a, windows)
        if meets:
            row, sink, meets = _row_windows(
                theta, s, ic, w, q, out, i, j, n2, a, dt, theta_a, windows, front
            )
    hint[i, j] = np.uint8(meets)
    out[i, j, 0] = ga + gs * out[i, j, 1]
    out[i, j, n2 + 1] = ga + gs * out[i, j, n2]
    return row, sink


@jit(inline=True)
def _side_ghosts(out, i, ga, gs):
    n1 = out.shape[1] - 2
    for k in range(out.shape[2]):
        out[i, 0, k] = ga + gs * out[i, 1, k]
        out[i, n1 + 1, k] = ga + gs * out[i, n1, k]


@jit(inline=True)
def _outer_ghosts(out, ga, gs):
    n0 = out.shape[0] - 2
    for j in range(out.shape[1]):
        for k in range(out.shape[2]):
            out[0, j, k] = ga + gs * out[1, j, k]
            out[n0 + 1, j, k] = ga + gs * out[n0, j, k]


@jit(parallel=True)
def pennes_step(theta, s, ic, w, q, out, loss, a, dt, theta_a, windows, front, ga, gs, hint):
    """One explicit step; see the module docstring. ``windows`` is (3, 4): lo, hi, f, sink;
    ``front`` (padded) is raised in place; ``hint`` (uint8, the padded rows ``(n0 + 2, n1 + 2)``)
    says which rows met a phase window in the last step, and is set for this one (see
    :func:`_row`; zeros are always a valid start)."""
    typ = theta.dtype.type
    a, dt, theta_a, ga, gs = typ(a), typ(dt), typ(theta_a), typ(ga), typ(gs)
    n0 = theta.shape[0] - 2
    n1 = theta.shape[1] - 2
    n2 = theta.shape[2] - 2
    for i in prange(1, n0 + 1):
        acc = 0.0
        acc_sink = 0.0
        bnd = 0.0
        for j in range(1, n1 + 1):
            row, row_sink = _row(
                theta, s, ic, w, q, out, i, j, n2, a, dt, theta_a, windows, front, ga, gs, hint
            )
            acc += row
            acc_sink += row_sink
            bnd += _face(theta, s, i, j, 0, i, j, 1) + _face(theta, s, i, j, n2 + 1, i, j, n2)
        for k in range(1, n2 + 1):
            bnd += _face(theta, s, i, 0, k, i, 1, k) + _face(theta, s, i, n1 + 1, k, i, n1, k)
        if i == 1 or i == n0:  # noqa: PLR1714 (plain comparisons for numba)
            g = 0 if i == 1 else n0 + 1
            for j in range(1, n1 + 1):
                for k in range(1, n2 + 1):
                    bnd += _face(theta, s, g, j, k, i, j, k)
        _side_ghosts(out, i, ga, gs)
        loss[i, 0] = acc
        loss[i, 1] = acc_sink
        loss[i, 2] = bnd
    _outer_ghosts(out, ga, gs)


@jit(inline=True)
def _face(theta, s, gi, gj, gk, i, j, k):
    """Conduction ``s_c s_g (theta_g - theta_c)`` from ghost (gi, gj, gk) into voxel (i, j, k)."""
    return np.float64(s[i, j, k] * s[gi, gj, gk] * (theta[gi, gj, gk] - theta[i, j, k]))


def pennes_step_numpy(theta, s, ic, w, q, out, loss, a, dt, theta_a, windows, front, ga, gs, hint):
    """NumPy reference of :func:`pennes_step` (same arguments, same result up to round-off)."""
    typ = theta.dtype.type
    c = theta[1:-1, 1:-1, 1:-1]
    fr = front[1:-1, 1:-1, 1:-1]
    sc = s[1:-1, 1:-1, 1:-1]
    flux = np.zeros_like(c)
    for axis in range(3):
        for shift in (-1, 1):
            sl = [slice(1, -1)] * 3
            sl[axis] = slice(1 + shift, theta.shape[axis] - 1 + shift)
            sl = tuple(sl)
            flux += s[sl] * (theta[sl] - c)
    flux *= sc
    perf = w[1:-1, 1:-1, 1:-1] * (c - typ(theta_a))
    r = typ(a) * flux + typ(dt) * (q[1:-1, 1:-1, 1:-1] - perf)
    ic_c = ic[1:-1, 1:-1, 1:-1]
    live = ic_c > 0
    gain = r > 0
    f = np.ones_like(c)
    sunk = np.zeros(c.shape, dtype=bool)
    table = np.asarray(windows)
    lows = [np.maximum(lo, fr) if sink > 0 else lo for lo, _, _, sink in table]
    for low, (_, hi, fw, sink) in zip(lows, table, strict=True):
        inside = (c >= low) & (c < hi) & (gain | (sink <= 0))
        f = np.where(inside, typ(fw), f)
        if sink > 0:
            sunk |= inside & live
    icr = ic_c * r
    new = c + f * icr
    sink_part = np.where(sunk, (1 - f) * r, 0).astype(np.float64)
    cross = np.zeros(c.shape, dtype=bool)
    for low, (_, hi, _, sink) in zip(lows, table, strict=True):
        edge = ((c < low) ^ (new < low)) | ((c < hi) ^ (new < hi))
        cross |= edge & (gain | (sink <= 0))
    cross &= live
    walked, spent = _walk_numpy(
        c[cross].astype(np.float64), icr[cross].astype(np.float64), table, fr[cross]
    )
    new[cross] = walked.astype(theta.dtype)
    sink_part[cross] = spent / ic_c[cross]
    fr_new = fr.copy()
    for low, (_, hi, _, sink) in zip(lows, table, strict=True):
        if sink > 0:
            rise = live & (new > low)
            fr_new = np.where(rise, np.maximum(fr_new, np.minimum(new, hi)), fr_new)
    fr[...] = fr_new
    loss[:] = 0.0
    loss[1:-1, 0] = perf.sum(axis=(1, 2), dtype=np.float64)
    loss[1:-1, 1] = sink_part.sum(axis=(1, 2))
    loss[1:-1, 2] = _boundary_per_plane(theta, s)
    out[1:-1, 1:-1, 1:-1] = new
    fill_ghosts(out, ga, gs)
    lo, hi = np.minimum(c, new), np.maximum(c, new)
    meets = np.zeros(c.shape, dtype=bool)
    for w_lo, w_hi, _, _ in table:
        meets |= (hi >= w_lo) & (lo < w_hi)
    hint[1:-1, 1:-1] = meets.any(axis=2)


def _walk_numpy(theta: np.ndarray, e: np.ndarray, windows: np.ndarray, front: np.ndarray) -> tuple:
    """Vectorised :func:`_walk`: offsets reached by adding ``e``, and the latent heat sunk."""
    theta = theta.copy()
    e = e.copy()
    sunk = np.zeros_like(theta)
    front = front.astype(np.float64)
    for _ in range(2 * len(windows) + 1):
        up = e > 0
        slope = np.ones_like(theta)
        latent = np.zeros_like(theta)
        edge = np.where(up, 1e300, -1e300)
        for lo, hi, f, sink in windows:
            low = np.maximum(float(lo), front) if sink > 0 else float(lo)
            high, m = float(hi), 1.0 / float(f)
            in_up = up & (theta >= low) & (theta < high)
            in_down = ~up & (theta > low) & (theta <= high) & (sink <= 0)
            slope = np.where(in_up | in_down, m, slope)
            if sink > 0:
                latent = np.where(in_up, 1.0 - float(f), latent)
            edge = np.where(in_up, np.minimum(edge, high), edge)
            edge = np.where(up & ~in_up & (low > theta), np.minimum(edge, low), edge)
            if sink <= 0:
                edge = np.where(in_down, np.maximum(edge, low), edge)
                edge = np.where(~up & ~in_down & (high < theta), np.maximum(edge, high), edge)
        room = slope * (edge - theta)
        fits = np.where(up, e <= room, e >= room) | (e == 0)
        sunk += np.where(fits, e, room) * latent
        theta = np.where(fits, theta + e / slope, edge)
        e = np.where(fits, 0.0, e - room)
    return theta, sunk


def _boundary_per_plane(theta: np.ndarray, s: np.ndarray) -> np.ndarray:
    """Inflow through the outer faces per voxel plane i (float64), as ``loss[:, 2]`` holds it."""
    t = theta.astype(np.float64)
    sd = s.astype(np.float64)

    def face(ghost: tuple, inner: tuple) -> np.ndarray:
        return sd[inner] * sd[ghost] * (t[ghost] - t[inner])

    mid = slice(1, -1)
    per = face((mid, mid, 0), (mid, mid, 1)).sum(axis=1) + face((mid, mid, -1), (mid, mid, -2)).sum(
        axis=1
    )
    per += face((mid, 0, mid), (mid, 1, mid)).sum(axis=1) + face(
        (mid, -1, mid), (mid, -2, mid)
    ).sum(axis=1)
    per[0] += face((0, mid, mid), (1, mid, mid)).sum()
    per[-1] += face((-1, mid, mid), (-2, mid, mid)).sum()
    return per


def fill_ghosts(arr: np.ndarray, ga: float, gs: float) -> None:
    """Set the ghost layer of a padded array to ``ga + gs * adjacent interior value``."""
    typ = arr.dtype.type
    ga, gs = typ(ga), typ(gs)
    arr[1:-1, 1:-1, 0] = ga + gs * arr[1:-1, 1:-1, 1]
    arr[1:-1, 1:-1, -1] = ga + gs * arr[1:-1, 1:-1, -2]
    arr[1:-1, 0, :] = ga + gs * arr[1:-1, 1, :]
    arr[1:-1, -1, :] = ga + gs * arr[1:-1, -2, :]
    arr[0] = ga + gs * arr[1]
    arr[-1] = ga + gs * arr[-2]


@jit(parallel=True)
def boundary_inflow(theta, s):
    """Sum over all outer faces of ``s_c s_g (theta_g - theta_c)`` (float64), in W/m/K * K.

    Times ``h`` it is the heat flow into the domain through its boundary in W.
    """
    n0 = theta.shape[0] - 2
    n1 = theta.shape[1] - 2
    n2 = theta.shape[2] - 2
    total = 0.0
    for i in prange(1, n0 + 1):
        part = 0.0
        for k in range(1, n2 + 1):
            part += s[i, 1, k] * s[i, 0, k] * (theta[i, 0, k] - theta[i, 1, k])
            part += s[i, n1, k] * s[i, n1 + 1, k] * (theta[i, n1 + 1, k] - theta[i, n1, k])
        for j in range(1, n1 + 1):
            part += s[i, j, 1] * s[i, j, 0] * (theta[i, j, 0] - theta[i, j, 1])
            part += s[i, j, n2] * s[i, j, n2 + 1] * (theta[i, j, n2 + 1] - theta[i, j, n2])
        total += part
    for j in prange(1, n1 + 1):
        part = 0.0
        for k in range(1, n2 + 1):
            part += s[1, j, k] * s[0, j, k] * (theta[0, j, k] - theta[1, j, k])
            part += s[n0, j, k] * s[n0 + 1, j, k] * (theta[n0 + 1, j, k] - theta[n0, j, k])
        total += part
    return total


def boundary_inflow_numpy(theta, s):
    """NumPy reference of :func:`boundary_inflow`."""
    total = 0.0
    inner = (slice(1, -1),) * 3
    for axis in range(3):
        for ghost, edge in ((0, 1), (-1, -2)):
            g = list(inner)
            e = list(inner)
            g[axis] = ghost
            e[axis] = edge
            g, e = tuple(g), tuple(e)
            total += np.sum(
                s[e].astype(np.float64) * s[g] * (theta[g].astype(np.float64) - theta[e])
            )
    return float(total)


@jit()
def fixed_inflow(theta, s, idx):
    """Sum over the voxels ``idx`` (int (m, 3), padded indices) of the conduction into them.

    The fixed voxels (vessels held at blood temperature, probes) do not change temperature, so this
    is the heat the tissue loses to them, in W/m/K * K (times ``h`` gives W).
    """
    total = 0.0
    for m in range(idx.shape[0]):
        total += _conduction(theta, s, idx[m, 0], idx[m, 1], idx[m, 2])
    return total


def fixed_inflow_numpy(theta, s, idx):
    """NumPy reference of :func:`fixed_inflow`."""
    i, j, k = idx[:, 0], idx[:, 1], idx[:, 2]
    c = theta[i, j, k].astype(np.float64)
    total = np.zeros_like(c)
    for di, dj, dk in ((-1, 0, 0), (1, 0, 0), (0, -1, 0), (0, 1, 0), (0, 0, -1), (0, 0, 1)):
        total += s[i + di, j + dj, k + dk] * (theta[i + di, j + dj, k + dk] - c)
    return float(np.sum(s[i, j, k] * total))


NEVER = 1e30
"""An exposure dose (K·s), or minus an injury offset (K), that no voxel reaches in
:func:`freeze_coefficients`: the mechanism off. Finite, as the kernels run with fastmath (no
infinities) and in float32."""
CHILL_MARGIN_K = 0.01
"""Rows whose voxels are all within this of the blood's temperature (K) accumulate no exposure to
cold in :func:`freeze_coefficients` and are skipped."""


@jit(inline=True)
def _freeze_row(
    theta, s, w, s_warm, w_warm, fixed, i, j, n2, hi, inv, ratio, lo, stasis, kelvin, exponent,
    injury, exposure, arterial, dt, dose,
):  # fmt: skip
    """Update row (i, j) of :func:`freeze_coefficients`; returns its count of freezing voxels."""
    typ = theta.dtype.type
    zero, one = typ(0.0), typ(1.0)
    part = 0
    for k in range(1, n2 + 1):
        t = theta[i, j, k]
        phi = min(max((hi - t) * inv, zero), one)
        free = fixed[i - 1, j - 1, k - 1] == 0
        k_rel = one + (ratio - one) * phi
        if t < lo:
            k_rel *= ((lo + kelvin) / (t + kelvin)) ** exponent
        s_new = s_warm[i, j, k] * np.sqrt(k_rel)
        s[i, j, k] = s_new if free else s[i, j, k]
        if free & (t < arterial) & (dose < NEVER):
            exposure[i - 1, j - 1, k - 1] += np.float64(arterial - t) * dt
        if free & ((t < injury) | (exposure[i - 1, j - 1, k - 1] >= dose)):
            w_warm[i, j, k] = zero
        w[i, j, k] = w_warm[i, j, k] if (t >= stasis) & free else zero
        part += 1 if phi > zero else 0
    return part


@jit(parallel=True)
def freeze_coefficients(
    theta, s, w, s_warm, w_warm, fixed, lo, hi, ratio, cold, stasis, kelvin, exponent, injury,
    exposure, arterial, dt, dose,
):  # fmt: skip
    """Conductivity and perfusion of freezing tissue, from the current temperature offsets.

    The frozen fraction ``phi = clip((hi - theta) / (hi - lo), 0, 1)`` (``hi``: freezing starts,
    ``lo`` where it ends; offsets in K) raises the conductivity linearly to ``ratio`` times the
    unfrozen one, ``k = k_warm (1 + (ratio - 1) phi)``; below ``lo`` it rises further as ice's does,
    by ``((lo + kelvin) / (theta + kelvin)) ** exponent`` (``kelvin``: the offset of 0 K below the
    reference temperature, so ``theta + kelvin`` is the absolute temperature; exponent 1: the 1/T
    law of ice, 0: constant). It is stored as ``s = sqrt(k)``. Perfusion stops below ``stasis`` (an
    offset at or above ``hi``: at ``hi`` as soon as the voxel starts to freeze) and in ``fixed``
    voxels, whose conductivity is left as it is (a held probe keeps the contact conductivity it was
    given). A free voxel colder than ``injury`` (an offset at or below ``hi``; ``-NEVER``: never)
    loses its perfusion for good: ``w_warm`` is zeroed there, so flow does not return when the voxel
    thaws. Chilled tissue shuts down progressively: a free voxel colder than the blood
    (``arterial``, an offset) adds ``(arterial - theta) * dt`` (K·s; ``dt``: seconds since the last
    call) to its ``exposure`` (float64, unpadded), and once that reaches ``dose`` (K·s;
    :data:`NEVER`: never) it loses its perfusion for good too. All arrays but ``fixed`` (uint8,
    unpadded), ``exposure`` and ``cold`` are padded; ghosts are not touched. ``cold[i, j]``
    remembers rows that held voxels below ``stasis`` (with a ``dose`` below :data:`NEVER`, more than
    :data:`CHILL_MARGIN_K` below the blood), so that rows that never got that cold are skipped after
    a single check of their minimum. Returns the number of voxels with ``phi > 0``.
    """
    n0 = theta.shape[0] - 2
    n1 = theta.shape[1] - 2
    n2 = theta.shape[2] - 2
    typ = theta.dtype.type
    hi, ratio, lo = typ(hi), typ(ratio), typ(lo)
    stasis, kelvin, exponent = typ(stasis), typ(kelvin), typ(exponent)
    injury, arterial = typ(injury), typ(arterial)
    visit = max(stasis, arterial - typ(CHILL_MARGIN_K)) if dose < NEVER else stasis
    inv = typ(1.0) / (hi - lo)
    counts = np.zeros(n0, np.int64)
    for i in prange(1, n0 + 1):
        part = 0
        for j in range(1, n1 + 1):
            lo_row, _ = _row_range(theta, i, j, n2)
            cold_row = lo_row < visit
            if cold_row or cold[i - 1, j - 1]:
                part += _freeze_row(
                    theta, s, w, s_warm, w_warm, fixed, i, j, n2, hi, inv, ratio, lo, stasis,
                    kelvin, exponent, injury, exposure, arterial, dt, dose,
                )  # fmt: skip
            cold[i - 1, j - 1] = cold_row
        counts[i - 1] = part
    return counts.sum()


def freeze_coefficients_numpy(
    theta, s, w, s_warm, w_warm, fixed, lo, hi, ratio, cold, stasis, kelvin, exponent, injury,
    exposure, arterial, dt, dose,
):  # fmt: skip
    """NumPy reference of :func:`freeze_coefficients` (updates every voxel; ``cold`` likewise)."""
    typ = theta.dtype.type
    c = theta[1:-1, 1:-1, 1:-1]
    phi = np.clip((typ(hi) - c) / (typ(hi) - typ(lo)), 0, 1).astype(theta.dtype)
    k_rel = 1 + (typ(ratio) - 1) * phi
    below = c < typ(lo)
    ice = ((typ(lo) + typ(kelvin)) / (np.where(below, c, typ(lo)) + typ(kelvin))) ** typ(exponent)
    k_rel = np.where(below, k_rel * ice.astype(theta.dtype), k_rel)
    inner = (slice(1, -1),) * 3
    s[inner] = np.where(fixed == 0, s_warm[inner] * np.sqrt(k_rel), s[inner])
    free = fixed == 0
    visit = max(typ(stasis), typ(arterial) - typ(CHILL_MARGIN_K)) if dose < NEVER else stasis
    now = (c < typ(visit)).any(axis=2)
    if dose < NEVER:  # rows the compiled kernel visits: cold now or at the last call
        chilled = free & (c < typ(arterial)) & (now | cold)[:, :, None]
        exposure += np.where(chilled, (typ(arterial) - c).astype(np.float64) * dt, 0.0)
    shut = free & ((c < typ(injury)) | (exposure >= dose))
    w_warm[inner] = np.where(shut, 0, w_warm[inner])
    w[inner] = np.where((c >= typ(stasis)) & free, w_warm[inner], 0)
    cold[...] = now
    return int(np.count_nonzero(phi > 0))
