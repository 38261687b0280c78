"""Temperature-dependent source scaling and pattern interpolation.

``scale_pattern`` turns a fixed geometric pattern ``g`` (per voxel) into an absorbed-power density
by the local electrical conductivity at the current temperature::

    sums = (Σ g sigma(T), Σ g eps(T), Σ g, Σ g² eps(T), Σ g²)   (always, float64 per plane)
    q  = scale * g * sigma(T)                    (mode 1)
    q += scale * g * sigma(T)                    (mode 2; mode 0 writes nothing)

where ``sigma(T)`` and ``eps(T)`` come from per-material lookup tables sampled every ``dt`` K from
``t0`` (offset units, K), linearly interpolated and clamped at the ends. The sums give the
normalisation to the delivered power and the pattern-weighted permittivity (weighted by g², the
permittivity next to the antenna). ``theta`` and ``q`` are
padded (the solver's arrays), ``g`` and ``material`` are not.

``interpolate_rz`` samples an axisymmetric table ``table[ir, iz]`` (radius, axial position) at given
voxel coordinates, bilinearly.
"""

from __future__ import annotations

import numpy as np
from numba import prange

from ._jit import jit

__all__ = [
    "interpolate_rz",
    "interpolate_rz_numpy",
    "lookup_weighted_change",
    "lookup_weighted_change_at",
    "lookup_weighted_change_at_numpy",
    "lookup_weighted_change_numpy",
    "scale_pattern",
    "scale_pattern_numpy",
    "scaled_source",
    "scaled_source_numpy",
]


@jit(parallel=True)
def scale_pattern(g, theta, material, sigma_table, eps_table, t0, dt, scale, q, sums, mode):
    """See the module docstring; the lookup is branch-free (clamped index)."""
    n0, n1, n2 = g.shape
    inv = 1.0 / dt
    top = sigma_table.shape[1] - 1.000001
    for i in prange(n0):
        s_sig = 0.0
        s_eps = 0.0
        s_g = 0.0
        s_eps2 = 0.0
        s_g2 = 0.0
        for j in range(n1):
            for k in range(n2):
                gv = np.float64(g[i, j, k])
                m = material[i, j, k]
                x = (np.float64(theta[i + 1, j + 1, k + 1]) - t0) * inv
                x = min(max(x, 0.0), top)
                n = int(x)
                f = x - n
                sig = sigma_table[m, n] * (1.0 - f) + sigma_table[m, n + 1] * f
                eps = eps_table[m, n] * (1.0 - f) + eps_table[m, n + 1] * f
                s_sig += gv * sig
                s_eps += gv * eps
                s_g += gv
                s_eps2 += gv * gv * eps
                s_g2 += gv * gv
                if mode == 1:
                    q[i + 1, j + 1, k + 1] = scale * gv * sig
                elif mode == 2:
                    q[i + 1, j + 1, k + 1] += scale * gv * sig
        sums[i, 0] = s_sig
        sums[i, 1] = s_eps
        sums[i, 2] = s_g
        sums[i, 3] = s_eps2
        sums[i, 4] = s_g2


def scale_pattern_numpy(g, theta, material, sigma_table, eps_table, t0, dt, scale, q, sums, mode):
    """NumPy reference of :func:`scale_pattern`."""
    n = sigma_table.shape[1]
    x = np.clip((theta[1:-1, 1:-1, 1:-1].astype(np.float64) - t0) / dt, 0.0, n - 1)
    i = np.minimum(x.astype(np.int64), n - 2)
    f = x - i
    sig = sigma_table[material, i] * (1 - f) + sigma_table[material, i + 1] * f
    eps = eps_table[material, i] * (1 - f) + eps_table[material, i + 1] * f
    g64 = g.astype(np.float64)
    if mode == 1:
        q[1:-1, 1:-1, 1:-1] = scale * g64 * sig
    elif mode == 2:
        q[1:-1, 1:-1, 1:-1] += scale * g64 * sig
    sums[:, 0] = (g64 * sig).sum(axis=(1, 2))
    sums[:, 1] = (g64 * eps).sum(axis=(1, 2))
    sums[:, 2] = g64.sum(axis=(1, 2))
    sums[:, 3] = (g64 * g64 * eps).sum(axis=(1, 2))
    sums[:, 4] = (g64 * g64).sum(axis=(1, 2))


@jit(inline=True)
def _sigma_at(theta, material, table, t0, inv, top, front, lo, inv_w, log_dry, i, j, k):
    """σ of voxel (i, j, k) from the table (see :func:`lookup_weighted_change`); ``inv`` and
    ``inv_w`` are the inverse table step and window width, ``top`` the last table position."""
    t = np.float64(theta[i + 1, j + 1, k + 1])
    x = min(max((t - t0) * inv, 0.0), top)
    n = int(x)
    f = x - n
    m = material[i, j, k]
    v = table[m, n] * (1.0 - f) + table[m, n + 1] * f
    fr = np.float64(front[i + 1, j + 1, k + 1])
    if fr > t:
        d = min(max((fr - lo) * inv_w, 0.0), 1.0)
        d_t = min(max((t - lo) * inv_w, 0.0), 1.0)
        v *= np.exp(log_dry * (d - d_t))
    return v


@jit(parallel=True)
def lookup_weighted_change(
    theta, material, table, t0, dt, out, ref, weight, front, lo, width, log_dry
):
    """``out = table[material](theta)`` (linear in temperature, clamped; ``theta`` padded, the
    rest not) and the moments of the ratio ``r = out / ref`` weighted by ``weight``: returns the
    float64 sums ``(Σ w r, Σ w r², Σ w)`` over voxels with ``ref > 0``.

    Used for the radiofrequency conductivity: the weight is the Joule heat of the last potential
    solve, so the moments say how much, and how unevenly, σ has changed where the current flows.

    The table falls log-linearly by ``exp(log_dry)`` across the vaporisation window
    ``[lo, lo + width]`` (offsets, K) as the tissue boils dry. A voxel that boiled up to ``front``
    (padded, the thermal step's) and cooled keeps the conductivity of the water it has left: its
    value is lowered by ``exp(log_dry (d - d_T))``, ``d`` its dried fraction and ``d_T`` the one
    its temperature alone would give.
    """
    n0, n1, n2 = out.shape
    inv = 1.0 / dt
    inv_w = 1.0 / width
    top = table.shape[1] - 1.000001
    m1 = np.zeros(n0)
    m2 = np.zeros(n0)
    m0 = np.zeros(n0)
    for i in prange(n0):
        a = 0.0
        b = 0.0
        c = 0.0
        for j in range(n1):
            for k in range(n2):
                v = _sigma_at(
                    theta, material, table, t0, inv, top, front, lo, inv_w, log_dry, i, j, k
                )
                out[i, j, k] = v
                r = ref[i, j, k]
                if r > 0.0:
                    wv = np.float64(weight[i, j, k])
                    ratio = v / r
                    a += wv * ratio
                    b += wv * ratio * ratio
                    c += wv
        m1[i] = a
        m2[i] = b
        m0[i] = c
    return m1.sum(), m2.sum(), m0.sum()


def lookup_weighted_change_numpy(
    theta, material, table, t0, dt, out, ref, weight, front, lo, width, log_dry
):
    """NumPy reference of :func:`lookup_weighted_change`."""
    n = table.shape[1]
    t = theta[1:-1, 1:-1, 1:-1].astype(np.float64)
    x = np.clip((t - t0) / dt, 0.0, n - 1)
    i = np.minimum(x.astype(np.int64), n - 2)
    f = x - i
    value = table[material, i] * (1 - f) + table[material, i + 1] * f
    fr = front[1:-1, 1:-1, 1:-1].astype(np.float64)
    d = np.clip((fr - lo) / width, 0.0, 1.0)
    d_t = np.clip((t - lo) / width, 0.0, 1.0)
    out[...] = np.where(fr > t, value * np.exp(log_dry * (d - d_t)), value)
    live = ref > 0
    ratio = out / np.where(live, ref, 1.0)
    w = np.where(live, weight, 0.0).astype(np.float64)
    return float((w * ratio).sum()), float((w * ratio**2).sum()), float(w.sum())


@jit(parallel=True)
def lookup_weighted_change_at(
    theta, material, table, t0, dt, ref, weight, front, lo, width, log_dry, idx
):
    """The moments ``(Σ w r, Σ w r², Σ w)`` of :func:`lookup_weighted_change` over the voxels
    ``idx`` only (flat indices into the unpadded grid, int64), without writing σ: the
    conductivity where the current flows, read between two source updates. Voxels with
    ``ref <= 0`` add nothing."""
    _, n1, n2 = ref.shape
    n = idx.shape[0]
    inv = 1.0 / dt
    inv_w = 1.0 / width
    top = table.shape[1] - 1.000001
    chunks = 64
    parts = np.zeros((chunks, 3))
    for c in prange(chunks):
        a = 0.0
        b = 0.0
        z = 0.0
        for p in range(c * n // chunks, (c + 1) * n // chunks):
            flat = idx[p]
            i = flat // (n1 * n2)
            j = (flat // n2) % n1
            k = flat % n2
            r = ref[i, j, k]
            if r <= 0.0:
                continue
            v = _sigma_at(theta, material, table, t0, inv, top, front, lo, inv_w, log_dry, i, j, k)
            wv = np.float64(weight[i, j, k])
            ratio = v / r
            a += wv * ratio
            b += wv * ratio * ratio
            z += wv
        parts[c, 0] = a
        parts[c, 1] = b
        parts[c, 2] = z
    return parts[:, 0].sum(), parts[:, 1].sum(), parts[:, 2].sum()


def lookup_weighted_change_at_numpy(
    theta, material, table, t0, dt, ref, weight, front, lo, width, log_dry, idx
):
    """NumPy reference of :func:`lookup_weighted_change_at`."""
    out = np.empty(ref.shape)
    lookup_weighted_change_numpy(
        theta, material, table, t0, dt, out, ref, weight, front, lo, width, log_dry
    )
    r = ref.ravel()[idx]
    live = r > 0
    ratio = out.ravel()[idx][live] / r[live]
    w = weight.ravel()[idx][live].astype(np.float64)
    return float((w * ratio).sum()), float((w * ratio**2).sum()), float(w.sum())


@jit(parallel=True)
def scaled_source(q_unit, sigma, ref, scale, q, theta, ic, front, wet, dry, latent, interval):
    """``q = scale * q_unit * sigma / ref`` into the padded source ``q`` (0 where ``ref`` is 0),
    with a dry-out limit: no voxel gets more than the heat that dries it.

    The first part is the Joule heat of a field solved for the conductivity ``ref``, carried to
    the current conductivity ``sigma`` at the same field (first order in the change of σ).

    A voxel at offset ``theta`` (padded) needs ``(dry - theta) / ic`` of sensible heat (``ic`` =
    1/ρc, padded) plus the latent heat ``latent`` (J/m³) still left between ``wet`` and ``dry``
    (vaporisation window, offsets in K) above its ``front`` (padded: the offset it has boiled up
    to) to dry out; over ``interval`` s it may receive at most that. Dried tissue carries almost
    no current at a given field, so the heat it would have taken after drying is not delivered:
    without the limit a voxel boiling through the window between two source updates kept the
    heat of wet tissue. Held voxels (``ic = 0``) are left as they are. Returns the float64 sum of
    what was written.
    """
    n0, n1, n2 = q_unit.shape
    sums = np.zeros(n0)
    width = dry - wet
    for i in prange(n0):
        acc = 0.0
        for j in range(n1):
            for k in range(n2):
                r = ref[i, j, k]
                v = q_unit[i, j, k] * (sigma[i, j, k] / r if r > 0.0 else 0.0) * scale
                t = np.float64(theta[i + 1, j + 1, k + 1])
                c = np.float64(ic[i + 1, j + 1, k + 1])
                if c > 0.0 and t < dry:
                    boiled = max(t, np.float64(front[i + 1, j + 1, k + 1]))
                    left = min(max((dry - boiled) / width, 0.0), 1.0)
                    need = (dry - t) / c + latent * left
                    v = min(v, need / interval)
                q[i + 1, j + 1, k + 1] = v
                acc += np.float64(q[i + 1, j + 1, k + 1])
        sums[i] = acc
    return sums.sum()


def scaled_source_numpy(q_unit, sigma, ref, scale, q, theta, ic, front, wet, dry, latent, interval):
    """NumPy reference of :func:`scaled_source`."""
    live = ref > 0
    v = q_unit * np.where(live, sigma / np.where(live, ref, 1.0), 0.0) * scale
    t = theta[1:-1, 1:-1, 1:-1].astype(np.float64)
    c = ic[1:-1, 1:-1, 1:-1].astype(np.float64)
    boiled = np.maximum(t, front[1:-1, 1:-1, 1:-1].astype(np.float64))
    left = np.clip((dry - boiled) / (dry - wet), 0.0, 1.0)
    need = (dry - t) / np.where(c > 0, c, 1.0) + latent * left
    limited = (c > 0) & (t < dry)
    q[1:-1, 1:-1, 1:-1] = np.where(limited, np.minimum(v, need / interval), v)
    return float(q[1:-1, 1:-1, 1:-1].sum(dtype=np.float64))


@jit(parallel=True)
def interpolate_rz(table, r0, z0, step, radius, axial, out):
    """Bilinear lookup of ``table[ir, iz]`` at points (``radius``, ``axial``) in m (flat arrays).

    The table's first sample is at (``r0``, ``z0``), spacing ``step`` (m); outside it, 0.
    """
    nr, nz = table.shape
    for p in prange(radius.shape[0]):
        x = (radius[p] - r0) / step
        y = (axial[p] - z0) / step
        if x < 0.0 or y < 0.0 or x > nr - 1 or y > nz - 1:
            out[p] = 0.0
            continue
        i = min(int(x), nr - 2)
        j = min(int(y), nz - 2)
        fx = x - i
        fy = y - j
        out[p] = (
            table[i, j] * (1 - fx) * (1 - fy)
            + table[i + 1, j] * fx * (1 - fy)
            + table[i, j + 1] * (1 - fx) * fy
            + table[i + 1, j + 1] * fx * fy
        )


def interpolate_rz_numpy(table, r0, z0, step, radius, axial, out):
    """NumPy reference of :func:`interpolate_rz`."""
    nr, nz = table.shape
    x = (radius - r0) / step
    y = (axial - z0) / step
    inside = (x >= 0) & (y >= 0) & (x <= nr - 1) & (y <= nz - 1)
    i = np.minimum(np.clip(x, 0, None).astype(np.int64), nr - 2)
    j = np.minimum(np.clip(y, 0, None).astype(np.int64), nz - 2)
    fx = np.clip(x - i, 0, 1)
    fy = np.clip(y - j, 0, 1)
    i = np.clip(i, 0, nr - 2)
    j = np.clip(j, 0, nz - 2)
    val = (
        table[i, j] * (1 - fx) * (1 - fy)
        + table[i + 1, j] * fx * (1 - fy)
        + table[i, j + 1] * (1 - fx) * fy
        + table[i + 1, j + 1] * fx * fy
    )
    out[...] = np.where(inside, val, 0.0)
