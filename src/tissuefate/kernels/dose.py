"""Thermal dose accumulation: Arrhenius damage integral, CEM43 and peak temperature.

The dose is updated at the end of each *dose interval* (one or more thermal steps, ``dt`` s)::

    omega += ∫ r dt,   r(T) = exp(x),  x = ln_A - (Ea/R) / T_K         [Arrhenius, 1]
    cem   += ∫ c dt,   c(T) = exp(y) / 60,  y = ln(R43) (43 - T_C)      [CEM43, min]
    tmax   = max(tmax, theta)

with ``R43 = 0.5`` at or above 43 °C and 0.25 below. Between the two ends of an interval the
exponent is taken as linear in time, so ``∫ r dt = dt (r1 - r0) / (x1 - x0)``: exact for an
exponential rate, and for a steady temperature ramp nearly so (the error of the trapezoidal rule
it replaces grows with the square of the temperature change per interval; this one does not), so
intervals of a few seconds keep the integral accurate to well below a percent. ``cache[i, j, k]``
holds ``(x, r, y, c)`` from the voxel's last evaluation, so each interval costs one evaluation of
the two exponentials per hot voxel (``c`` is stored as ``R43^(43 - T)``, minutes per minute of
exposure). Both rates are zero below the damage threshold (``theta < thr``; an interval that
crosses it uses the trapezoid), which keeps the work to the few hot voxels and avoids the spurious
damage that the liver pair predicts at body temperature over long times. A voxel past both caps
(``omega >= OMEGA_CAP`` and ``cem >= CEM_CAP``) is dead beyond doubt (surviving fraction
``exp(-100)``); its doses stop growing. Peaks are sampled at interval ends.

``theta`` is the *padded* temperature-offset array (K relative to ``t_ref_c``); ``material``,
``omega``, ``cem``, ``tmax``, ``cache`` and ``was_hot`` ((n0, n1) row flags) are unpadded.
``ln_a[m]`` and ``ea_r[m]`` (K) are the Arrhenius pair of material ``m``. ``hot[i] = (j_lo, j_hi,
k_lo, k_hi)`` of voxel plane ``i`` is widened to include every voxel at or above the threshold
(inclusive bounds; ``j_lo > j_hi`` means none).
"""

from __future__ import annotations

import math

import numpy as np
from numba import prange

from ._jit import jit

__all__ = [
    "apply_kill",
    "apply_kill_numpy",
    "dose_interval",
    "dose_interval_numpy",
    "exponent_integral",
]

KELVIN = 273.15
OMEGA_CAP = 100.0  # surviving fraction exp(-100): nothing is left to kill
CEM_CAP = 1.0e6  # min; 4000 times the usual 240 min ablation threshold
LN_HALF = math.log(0.5)
LN_QUARTER = math.log(0.25)


@jit(inline=True)
def exponent_integral(x0, r0, x1, r1, dt):
    """∫ exp(x(t)) dt over ``dt`` when x moves linearly from ``x0`` to ``x1`` (r = exp(x)).

    A zero rate at either end marks the threshold crossed (the rate was or becomes zero): the
    trapezoid is used there. Written with selects, not branches, so callers vectorise.
    """
    d = x1 - x0
    small = abs(d) < 1e-3
    edge = (r0 == 0.0) | (r1 == 0.0)
    series = dt * r0 * (1.0 + d * (0.5 + d * (1.0 / 6.0 + d / 24.0)))
    general = dt * (r1 - r0) / (1.0 if small else d)
    value = series if small else general
    return 0.5 * dt * (r0 + r1) if edge else value


@jit(parallel=True)
def dose_interval(
    theta, material, ln_a, ea_r, t_ref_c, thr, dt, omega, cem, tmax, hot, cache, was_hot
):
    """Accumulate the dose of an interval of ``dt`` s ending at ``theta``; see the docstring.

    Rows without a voxel at or above the threshold now or at the last evaluation are skipped;
    the others are processed branch-free so the loop vectorises (the exponentials too).
    """
    n0, n1, n2 = omega.shape
    t_ref_k = t_ref_c + KELVIN
    for i in prange(n0):
        jlo, jhi, klo, khi = hot[i, 0], hot[i, 1], hot[i, 2], hot[i, 3]
        for j in range(n1):
            top = theta[i + 1, j + 1, 1]
            for k in range(2, n2 + 1):
                top = max(top, theta[i + 1, j + 1, k])
            if top < thr and not was_hot[i, j]:
                continue
            n_hot = 0
            for k in range(n2):
                t = np.float64(theta[i + 1, j + 1, k + 1])
                is_hot = t >= thr
                live = (omega[i, j, k] < OMEGA_CAP) | (cem[i, j, k] < CEM_CAP)
                m = material[i, j, k]
                x1 = ln_a[m] - ea_r[m] / (t + t_ref_k)
                t_c = t + t_ref_c
                y1 = (LN_HALF if t_c >= 43.0 else LN_QUARTER) * (43.0 - t_c)
                r1 = math.exp(x1) if is_hot else 0.0
                c1 = math.exp(y1) if is_hot else 0.0
                x0 = cache[i, j, k, 0]
                r0 = cache[i, j, k, 1]
                y0 = cache[i, j, k, 2]
                c0 = cache[i, j, k, 3]
                d_omega = exponent_integral(x0, r0, x1, r1, dt)
                d_cem = exponent_integral(y0, c0, y1, c1, dt) / 60.0
                omega[i, j, k] += d_omega if live else 0.0
                cem[i, j, k] += d_cem if live else 0.0
                cache[i, j, k, 0] = x1 if live else x0
                cache[i, j, k, 1] = r1 if live else r0
                cache[i, j, k, 2] = y1 if live else y0
                cache[i, j, k, 3] = c1 if live else c0
                tmax[i, j, k] = (
                    max(tmax[i, j, k], theta[i + 1, j + 1, k + 1]) if is_hot else tmax[i, j, k]
                )
                n_hot += 1 if is_hot else 0
            was_hot[i, j] = n_hot > 0
            if n_hot > 0:
                jlo = min(jlo, j)
                jhi = max(jhi, j)
                for k in range(n2):
                    if theta[i + 1, j + 1, k + 1] >= thr:
                        klo = min(klo, k)
                        break
                for k in range(n2 - 1, -1, -1):
                    if theta[i + 1, j + 1, k + 1] >= thr:
                        khi = max(khi, k)
                        break
        hot[i, 0] = jlo
        hot[i, 1] = jhi
        hot[i, 2] = klo
        hot[i, 3] = khi


def dose_interval_numpy(
    theta, material, ln_a, ea_r, t_ref_c, thr, dt, omega, cem, tmax, hot, cache, was_hot
):
    """NumPy reference of :func:`dose_interval` (same arguments and effect)."""
    t = theta[1:-1, 1:-1, 1:-1].astype(np.float64)
    hot_now = theta[1:-1, 1:-1, 1:-1] >= thr
    lna = np.asarray(ln_a)[material]
    ear = np.asarray(ea_r)[material]
    x1 = np.where(hot_now, lna - ear / (t + t_ref_c + KELVIN), 0.0)
    r1 = np.where(hot_now, np.exp(x1), 0.0)
    t_c = t + t_ref_c
    y1 = np.where(hot_now, np.where(t_c >= 43.0, LN_HALF, LN_QUARTER) * (43.0 - t_c), 0.0)
    c1 = np.where(hot_now, np.exp(y1), 0.0)

    def integral(x0, r0, x1, r1):
        d = x1 - x0
        small = np.abs(d) < 1e-3
        with np.errstate(divide="ignore", invalid="ignore"):
            general = dt * (r1 - r0) / np.where(small, 1.0, d)
        series = dt * r0 * (1.0 + d * (0.5 + d * (1.0 / 6.0 + d / 24.0)))
        edge = (r0 == 0.0) | (r1 == 0.0)
        return np.where(edge, 0.5 * dt * (r0 + r1), np.where(small, series, general))

    live = ((omega < OMEGA_CAP) | (cem < CEM_CAP)) & (
        hot_now | (cache[..., 1] > 0) | (cache[..., 3] > 0)
    )
    omega += np.where(live, integral(cache[..., 0], cache[..., 1], x1, r1), 0.0)
    cem += np.where(live, integral(cache[..., 2], cache[..., 3], y1, c1) / 60.0, 0.0)
    for n, new in enumerate((x1, r1, y1, c1)):
        cache[..., n] = np.where(live, new, cache[..., n])
    np.maximum(tmax, np.where(hot_now, theta[1:-1, 1:-1, 1:-1], tmax), out=tmax)
    was_hot[...] = hot_now.any(axis=2)
    for i in np.nonzero(hot_now.any(axis=(1, 2)))[0]:
        jj, kk = np.nonzero(hot_now[i])
        hot[i, 0] = min(hot[i, 0], jj.min())
        hot[i, 1] = max(hot[i, 1], jj.max())
        hot[i, 2] = min(hot[i, 2], kk.min())
        hot[i, 3] = max(hot[i, 3], kk.max())


@jit(parallel=True)
def apply_kill(
    omega, applied, tumor, normal, coagulated, vessels, w, i0, i1, j0, j1, k0, k1, shutdown,
    stasis=1.0,
):  # fmt: skip
    """Move cells killed since the last call into ``coagulated`` on the block [i0:i1, j0:j1, k0:k1].

    The surviving fraction of the dose increase ``d = omega - applied`` is ``exp(-d)``; it
    multiplies ``tumor`` and ``normal`` (the rest becomes ``coagulated``) and, when ``shutdown``,
    the microvessels ``vessels``. The padded perfusion coefficient ``w`` then falls by
    ``exp(-stasis * d)``: flow stops at the dose ``1 / stasis`` (in units of the cells' dose; 1,
    flow stops with the microvessels). ``applied`` is set to ``omega``. Voxels without new dose
    are untouched.
    """
    for i in prange(i0, i1):
        for j in range(j0, j1):
            for k in range(k0, k1):
                d = omega[i, j, k] - applied[i, j, k]
                if d <= 0.0:
                    continue
                # exp(-d) by its series when d is small (error below d**4 / 24 < 5e-14)
                s = 1.0 - d * (1.0 - d * (0.5 - d / 6.0)) if d < 1e-3 else math.exp(-d)
                t = tumor[i, j, k]
                n = normal[i, j, k]
                tumor[i, j, k] = t * s
                normal[i, j, k] = n * s
                coagulated[i, j, k] += (t + n) * (1.0 - s)
                if shutdown:
                    vessels[i, j, k] *= s
                    w[i + 1, j + 1, k + 1] *= s if stasis == 1.0 else math.exp(-stasis * d)
                applied[i, j, k] = omega[i, j, k]


def apply_kill_numpy(
    omega, applied, tumor, normal, coagulated, vessels, w, i0, i1, j0, j1, k0, k1, shutdown,
    stasis=1.0,
):  # fmt: skip
    """NumPy reference of :func:`apply_kill`."""
    b = (slice(i0, i1), slice(j0, j1), slice(k0, k1))
    wb = (slice(i0 + 1, i1 + 1), slice(j0 + 1, j1 + 1), slice(k0 + 1, k1 + 1))
    d = omega[b] - applied[b]
    new = d > 0
    s = np.where(new, np.exp(-np.where(new, d, 0.0)), 1.0)
    t, n = tumor[b].copy(), normal[b].copy()
    tumor[b] = t * s
    normal[b] = n * s
    coagulated[b] += (t + n) * (1.0 - s)
    if shutdown:
        vessels[b] *= s
        w[wb] *= s if stasis == 1.0 else np.exp(-stasis * np.where(new, d, 0.0))
    applied[b] = np.where(new, omega[b], applied[b])
