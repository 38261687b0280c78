"""Agent damage kernel: one time step of kill, vessel loss, ischaemia and water shift per voxel.

The model is documented in :mod:`tissuefate.damage.agent`; this file only evaluates it. Arrays
(all of one block's shape):

- ``c`` (mol/m³) and ``consumed`` (fraction of the demand) at the end of the step, float64;
- ``gain``: vessel Ω per chemical Ω of the voxel, and ``rev``: the reversible share of its
  vessel loss, float64;
- ``acc`` float64 ``(6, ...)``: exposure Ω, the last step's exposure rate, oxidation Ω, vessel
  fraction lost, agent occlusion, ischaemic Ω (updated);
- ``start`` float32 ``(8, ...)``: tumor, normal, coagulated, debris, vessels, occlusion, ecm,
  water at the session start;
- the eight state fields in the same order, float32 (written);
- ``p``: the scalar parameters, see ``PARAMETERS``.
"""

from __future__ import annotations

import math

import numpy as np
from numba import prange

from ._jit import jit

__all__ = ["PARAMETERS", "agent_damage_step", "agent_damage_step_numpy"]

PARAMETERS = (
    "exposure_coefficient",  # ln(100) / kill_reference_time, 1/s
    "kill_reference_concentration",  # mol/m³
    "kill_exponent",
    "oxidation_onset",
    "oxidation_span",  # lethal − onset; <= 0: no oxidation kill
    "tumor_sensitivity",
    "vessel_follow",  # 1 − exp(−dt / vascular_response_time)
    "occlusion_decay",  # exp(−dt / occlusion_recovery_time)
    "ischemia_step",  # dt / ischemic_death_time
    "ischemia_threshold",
    "dehydration",
    "water_relax",  # 1 − exp(−dt / water_shift_time)
    "fixation",
    "ecm_sensitivity",
    "dt",  # s
    "omega_cap",
    "lethal_omega",  # ln(100)
)


@jit(inline=True)
def _voxel(c, consumed, gain, rev, acc, start, out, p, i, j, k):
    rate = p[0] * (max(c, 0.0) / p[1]) ** p[2]
    exposure = acc[0, i, j, k] + 0.5 * p[14] * (rate + acc[1, i, j, k])
    acc[0, i, j, k] = exposure
    acc[1, i, j, k] = rate
    ox = acc[2, i, j, k]
    if p[4] > 0.0:
        ox = max(ox, p[16] * max(consumed - p[3], 0.0) / p[4])
        acc[2, i, j, k] = ox
    chem = exposure + ox
    before = acc[3, i, j, k]
    target = 1.0 - math.exp(-gain * chem)
    lost = before + max(target - before, 0.0) * p[6]
    acc[3, i, j, k] = lost
    occluded = acc[4, i, j, k] * p[7] + rev * (lost - before)
    acc[4, i, j, k] = occluded
    vessels0 = start[4, i, j, k]
    occl0 = start[5, i, j, k]
    vessels = vessels0 * (1.0 - (1.0 - rev) * lost)
    occlusion = 1.0 - (1.0 - occl0) * (1.0 - occluded)
    perf0 = vessels0 * (1.0 - occl0)
    rel = vessels * (1.0 - occlusion) / perf0 if perf0 > 0.0 else 1.0
    isch = acc[5, i, j, k] + p[8] * min(max(1.0 - rel / p[9], 0.0), 1.0)
    acc[5, i, j, k] = isch
    out[4, i, j, k] = vessels
    out[5, i, j, k] = occlusion
    omega_n = min(chem + isch, p[15])
    omega_t = min(p[5] * chem + isch, p[15])
    tumor0 = start[0, i, j, k]
    normal0 = start[1, i, j, k]
    # water: the cells the agent killed lose (or gain) their share
    cells0 = tumor0 + normal0
    if cells0 > 0.0:
        killed = tumor0 * (1.0 - math.exp(-min(p[5] * chem, p[15])))
        killed += normal0 * (1.0 - math.exp(-min(chem, p[15])))
        aim = start[7, i, j, k] * (1.0 - p[10] * killed / cells0)
        water = out[7, i, j, k]
        out[7, i, j, k] = water + (aim - water) * p[11]
    tumor = tumor0 * math.exp(-omega_t)
    normal = normal0 * math.exp(-omega_n)
    dead_t = tumor0 - tumor
    dead_n = normal0 - normal
    ischemic = 0.0
    if omega_t > 0.0:
        ischemic += dead_t * isch / omega_t
    if omega_n > 0.0:
        ischemic += dead_n * isch / omega_n
    chemical = dead_t + dead_n - ischemic
    out[0, i, j, k] = tumor
    out[1, i, j, k] = normal
    out[2, i, j, k] = start[2, i, j, k] + p[12] * chemical
    out[3, i, j, k] = start[3, i, j, k] + (1.0 - p[12]) * chemical + ischemic
    out[6, i, j, k] = start[6, i, j, k] * math.exp(-min(p[13] * chem, p[15]))


@jit(parallel=True)
def agent_damage_step(c, consumed, gain, rev, acc, start, out, p):
    """One step over a block; ``out`` is a float32 ``(8, ...)`` stack of the state fields, read
    for the water and written for all."""
    n0, n1, n2 = c.shape
    for i in prange(n0):
        for j in range(n1):
            for k in range(n2):
                _voxel(
                    c[i, j, k],
                    consumed[i, j, k],
                    gain[i, j, k],
                    rev[i, j, k],
                    acc,
                    start,
                    out,
                    p,
                    i,
                    j,
                    k,
                )


def agent_damage_step_numpy(c, consumed, gain, rev, acc, start, out, p):
    """NumPy reference of :func:`agent_damage_step`."""
    rate = p[0] * (np.maximum(c, 0.0) / p[1]) ** p[2]
    acc[0] += 0.5 * p[14] * (rate + acc[1])
    acc[1] = rate
    if p[4] > 0.0:
        acc[2] = np.maximum(acc[2], p[16] * np.maximum(consumed - p[3], 0.0) / p[4])
    chem = acc[0] + acc[2]
    before = acc[3].copy()
    target = 1.0 - np.exp(-gain * chem)
    acc[3] = before + np.maximum(target - before, 0.0) * p[6]
    acc[4] = acc[4] * p[7] + rev * (acc[3] - before)
    start64 = start.astype(np.float64)
    vessels = start64[4] * (1.0 - (1.0 - rev) * acc[3])
    occlusion = 1.0 - (1.0 - start64[5]) * (1.0 - acc[4])
    perf0 = start64[4] * (1.0 - start64[5])
    with np.errstate(divide="ignore", invalid="ignore"):
        rel = np.where(perf0 > 0, vessels * (1.0 - occlusion) / perf0, 1.0)
    acc[5] += p[8] * np.clip(1.0 - rel / p[9], 0.0, 1.0)
    out[4] = vessels
    out[5] = occlusion
    isch = acc[5]
    omega_n = np.minimum(chem + isch, p[15])
    omega_t = np.minimum(p[5] * chem + isch, p[15])
    cells0 = start64[0] + start64[1]
    killed = start64[0] * -np.expm1(-np.minimum(p[5] * chem, p[15]))
    killed += start64[1] * -np.expm1(-np.minimum(chem, p[15]))
    with np.errstate(divide="ignore", invalid="ignore"):
        aim = start64[7] * (1.0 - p[10] * np.where(cells0 > 0, killed / cells0, 0.0))
    out[7] = np.where(cells0 > 0, out[7] + (aim - out[7]) * p[11], out[7])
    tumor = start64[0] * np.exp(-omega_t)
    normal = start64[1] * np.exp(-omega_n)
    dead_t, dead_n = start64[0] - tumor, start64[1] - normal
    with np.errstate(divide="ignore", invalid="ignore"):
        ischemic = np.where(omega_t > 0, dead_t * isch / omega_t, 0.0) + np.where(
            omega_n > 0, dead_n * isch / omega_n, 0.0
        )
    chemical = dead_t + dead_n - ischemic
    out[0] = tumor
    out[1] = normal
    out[2] = start64[2] + p[12] * chemical
    out[3] = start64[3] + (1.0 - p[12]) * chemical + ischemic
    out[6] = start64[6] * np.exp(-np.minimum(p[13] * chem, p[15]))
