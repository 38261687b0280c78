"""Thermal dose accumulation: Arrhenius damage integral, CEM43 and peak temperature.

Per voxel and per step (trapezoidal rule in time)::

    omega += dt/2 * (r(T_old) + r(T_new)),   r(T) = exp(ln_A - (Ea/R) / T_K)    [Arrhenius, 1]
    cem   += dt/2 * (c(T_old) + c(T_new)),   c(T) = R43^(43 - T_C) / 60         [CEM43, min]
    tmax   = max(tmax, theta_new)

with ``R43 = 0.5`` at or above 43 °C and 0.25 below. Both rates are zero below the damage
threshold (``theta < thr``), which keeps the work to the few hot voxels and avoids the spurious
damage that the Arrhenius pair of liver predicts at body temperature over long times. A voxel whose
dose has passed both caps (``omega >= OMEGA_CAP`` and ``cem >= CEM_CAP``) is dead beyond doubt
(surviving fraction ``exp(-100)``); its doses stop growing, which spares the cost of the
exponentials in the coagulated core. Its peak temperature is still tracked.

``theta_old`` and ``theta_new`` are *padded* temperature-offset arrays (K relative to ``t_ref_c``);
``material``, ``omega``, ``cem`` and ``tmax`` are unpadded. ``ln_a[m]`` and ``ea_r[m]`` (K) are the
Arrhenius pair of material ``m``. ``hot[i] = (j_lo, j_hi, k_lo, k_hi)`` of voxel plane ``i`` is widened
to include every voxel at or above the threshold (inclusive bounds; ``j_lo > j_hi`` means none).
"""

from __future__ import annotations

import math

import numpy as np
from numba import prange

from ._jit import jit

__all__ = ["apply_kill", "apply_kill_numpy", "thermal_dose_step", "thermal_dose_step_numpy"]

KELVIN = 273.15
OMEGA_CAP = 100.0  # surviving fraction exp(-100): nothing is left to kill
CEM_CAP = 1.0e6  # min; 4000 times the usual 240 min ablation threshold


LN_HALF = math.log(0.5)
LN_QUARTER = math.log(0.25)


@jit()
def _rates(theta, m, ln_a, ea_r, t_ref_k, t_ref_c):
    t_k = np.float64(theta) + t_ref_k
    r = math.exp(ln_a[m] - ea_r[m] / t_k)
    t_c = np.float64(theta) + t_ref_c
    ln_base = LN_HALF if t_c >= 43.0 else LN_QUARTER
    return r, math.exp(ln_base * (43.0 - t_c)) / 60.0


@jit(parallel=True)
def thermal_dose_step(
    theta_old, theta_new, material, ln_a, ea_r, t_ref_c, thr, dt, omega, cem, tmax, hot
):
    """Accumulate one step of thermal dose; see the module docstring."""
    n0, n1, n2 = omega.shape
    t_ref_k = t_ref_c + KELVIN
    half = 0.5 * dt
    for i in prange(n0):
        jlo, jhi, klo, khi = hot[i, 0], hot[i, 1], hot[i, 2], hot[i, 3]
        for j in range(n1):
            for k in range(n2):
                a = theta_old[i + 1, j + 1, k + 1]
                b = theta_new[i + 1, j + 1, k + 1]
                if a < thr and b < thr:
                    continue
                tmax[i, j, k] = max(tmax[i, j, k], b)
                if b >= thr:
                    jlo = min(jlo, j)
                    jhi = max(jhi, j)
                    klo = min(klo, k)
                    khi = max(khi, k)
                if omega[i, j, k] >= OMEGA_CAP and cem[i, j, k] >= CEM_CAP:
                    continue
                m = material[i, j, k]
                ro = 0.0
                co = 0.0
                if a >= thr:
                    ro, co = _rates(a, m, ln_a, ea_r, t_ref_k, t_ref_c)
                rn = 0.0
                cn = 0.0
                if b >= thr:
                    rn, cn = _rates(b, m, ln_a, ea_r, t_ref_k, t_ref_c)
                omega[i, j, k] += half * (ro + rn)
                cem[i, j, k] += half * (co + cn)
        hot[i, 0] = jlo
        hot[i, 1] = jhi
        hot[i, 2] = klo
        hot[i, 3] = khi


def thermal_dose_step_numpy(
    theta_old, theta_new, material, ln_a, ea_r, t_ref_c, thr, dt, omega, cem, tmax, hot
):
    """NumPy reference of :func:`thermal_dose_step` (same arguments and effect)."""
    a = theta_old[1:-1, 1:-1, 1:-1].astype(np.float64)
    b = theta_new[1:-1, 1:-1, 1:-1].astype(np.float64)
    ln_a = np.asarray(ln_a)[material]
    ea_r = np.asarray(ea_r)[material]
    t_ref_k = t_ref_c + KELVIN

    def rates(t):
        hot_t = t >= thr
        r = np.where(hot_t, np.exp(ln_a - ea_r / (t + t_ref_k)), 0.0)
        t_c = t + t_ref_c
        c = np.where(hot_t, np.power(np.where(t_c >= 43.0, 0.5, 0.25), 43.0 - t_c) / 60.0, 0.0)
        return r, c

    ro, co = rates(a)
    rn, cn = rates(b)
    live = (omega < OMEGA_CAP) | (cem < CEM_CAP)
    omega += np.where(live, 0.5 * dt * (ro + rn), 0.0)
    cem += np.where(live, 0.5 * dt * (co + cn), 0.0)
    newhot = theta_new[1:-1, 1:-1, 1:-1] >= thr
    np.maximum(tmax, np.where(newhot, theta_new[1:-1, 1:-1, 1:-1], tmax), out=tmax)
    for i in np.nonzero(newhot.any(axis=(1, 2)))[0]:
        jj, kk = np.nonzero(newhot[i])
        hot[i, 0] = min(hot[i, 0], jj.min())
        hot[i, 1] = max(hot[i, 1], jj.max())
        hot[i, 2] = min(hot[i, 2], kk.min())
        hot[i, 3] = max(hot[i, 3], kk.max())


@jit(parallel=True)
def apply_kill(
    omega, applied, tumor, normal, coagulated, vessels, w, i0, i1, j0, j1, k0, k1, shutdown
):
    """Move cells killed since the last call into ``coagulated`` on the block [i0:i1, j0:j1, k0:k1].

    The surviving fraction of the dose increase ``omega - applied`` is ``exp(-(omega - applied))``;
    it multiplies ``tumor`` and ``normal`` (the rest becomes ``coagulated``) and, when ``shutdown``,
    the microvessels ``vessels`` and the padded perfusion coefficient ``w`` (which is proportional
    to them). ``applied`` is set to ``omega``. Voxels without new dose are untouched.
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
                    w[i + 1, j + 1, k + 1] *= s
                applied[i, j, k] = omega[i, j, k]


def apply_kill_numpy(
    omega, applied, tumor, normal, coagulated, vessels, w, i0, i1, j0, j1, k0, k1, shutdown
):
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
        w[wb] *= s
    applied[b] = np.where(new, omega[b], applied[b])
