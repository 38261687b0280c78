"""Agent damage kernel: one time step of kill, vessel loss and water shift per voxel.

The model is documented in :mod:`tissuefate.damage.agent`; this file only evaluates it. Arrays
(all of one block's shape):

- ``c`` (mol/m³) and ``consumed`` (fraction of the demand) at the end of the step, float64;
- ``gain``: vessel Ω per chemical Ω of the voxel, and ``rev``: the reversible share of its
  vessel loss, float64;
- ``acc`` float64 ``(5, ...)``: exposure Ω, the last step's exposure rate, oxidation Ω, vessel
  fraction lost, agent occlusion (updated);
- ``start`` float32 ``(8, ...)``: tumor, normal, coagulated, debris, vessels, occlusion, ecm,
  water at the session start;
- the eight state fields in the same order, float32 (written);
- ``p``: the scalar parameters, see ``PARAMETERS``.

Ischaemic death is not part of a session: the repair model integrates it from the vessels and
occlusion this kernel leaves (:mod:`tissuefate.kernels.repair`).
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
    exposure = acc[0, i, j, k] + 0.5 * p[12] * (rate + acc[1, i, j, k])
    acc[0, i, j, k] = exposure
    acc[1, i, j, k] = rate
    ox = acc[2, i, j, k]
    if p[4] > 0.0:
        ox = max(ox, p[14] * max(consumed - p[3], 0.0) / p[4])
        acc[2, i, j, k] = ox
    chem = exposure + ox
    before = acc[3, i, j, k]
    target = 1.0 - math.exp(-gain * chem)
    lost = before + max(target - before, 0.0) * p[6]
    acc[3, i, j, k] = lost
    occluded = acc[4, i, j, k] * p[7] + rev * (lost - before)
    acc[4, i, j, k] = occluded
    out[4, i, j, k] = start[4, i, j, k] * (1.0 - (1.0 - rev) * lost)
    out[5, i, j, k] = 1.0 - (1.0 - start[5, i, j, k]) * (1.0 - occluded)
    omega_n = min(chem, p[13])
    omega_t = min(p[5] * chem, p[13])
    tumor0 = start[0, i, j, k]
    normal0 = start[1, i, j, k]
    tumor = tumor0 * math.exp(-omega_t)
    normal = normal0 * math.exp(-omega_n)
    killed = (tumor0 - tumor) + (normal0 - normal)
    # water: the cells the agent killed lose (or gain) their share
    cells0 = tumor0 + normal0
    if cells0 > 0.0:
        aim = start[7, i, j, k] * (1.0 - p[8] * killed / cells0)
        water = out[7, i, j, k]
        out[7, i, j, k] = water + (aim - water) * p[9]
    out[0, i, j, k] = tumor
    out[1, i, j, k] = normal
    out[2, i, j, k] = start[2, i, j, k] + p[10] * killed
    out[3, i, j, k] = start[3, i, j, k] + (1.0 - p[10]) * killed
    out[6, i, j, k] = start[6, i, j, k] * math.exp(-min(p[11] * chem, p[13]))


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
    acc[0] += 0.5 * p[12] * (rate + acc[1])
    acc[1] = rate
    if p[4] > 0.0:
        acc[2] = np.maximum(acc[2], p[14] * np.maximum(consumed - p[3], 0.0) / p[4])
    chem = acc[0] + acc[2]
    before = acc[3].copy()
    target = 1.0 - np.exp(-gain * chem)
    acc[3] = before + np.maximum(target - before, 0.0) * p[6]
    acc[4] = acc[4] * p[7] + rev * (acc[3] - before)
    start64 = start.astype(np.float64)
    out[4] = start64[4] * (1.0 - (1.0 - rev) * acc[3])
    out[5] = 1.0 - (1.0 - start64[5]) * (1.0 - acc[4])
    tumor = start64[0] * np.exp(-np.minimum(p[5] * chem, p[13]))
    normal = start64[1] * np.exp(-np.minimum(chem, p[13]))
    killed = (start64[0] - tumor) + (start64[1] - normal)
    cells0 = start64[0] + start64[1]
    with np.errstate(divide="ignore", invalid="ignore"):
        aim = start64[7] * (1.0 - p[8] * np.where(cells0 > 0, killed / cells0, 0.0))
    out[7] = np.where(cells0 > 0, out[7] + (aim - out[7]) * p[9], out[7])
    out[0] = tumor
    out[1] = normal
    out[2] = start64[2] + p[10] * killed
    out[3] = start64[3] + (1.0 - p[10]) * killed
    out[6] = start64[6] * np.exp(-np.minimum(p[11] * chem, p[13]))
