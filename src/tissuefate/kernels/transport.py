"""Agent transport kernels: explicit diffusion and the exact second-order reaction step.

``diffuse_step`` advances ``∂C/∂t = ∇·(D∇C)`` one explicit finite-volume step on padded arrays
(ghost layer = boundary values, set by the caller), with face diffusivity the harmonic mean of
the two cells' ``D`` (series half cells; 0 if either is 0). Cells with ``hold = 1`` keep their
value (an infusion tip at a fixed concentration). The float64 per-plane sums of what entered
through held cells are returned in ``inflow[i]`` (mol/m² times h gives mol) for the mass ledger.

``react_step`` integrates the local reaction ``A + tissue -> products`` at rate ``k C Θ`` exactly
over ``dt`` (``C`` agent, ``Θ`` remaining demand capacity, both mol/m³, ``k`` in m³/mol/s): the
difference ``δ = C − Θ`` is conserved, and

    C(t) = δ / (1 − (Θ0 / C0) e^{−k δ t})      (δ ≠ 0),      C(t) = C0 / (1 + k C0 t)  (δ = 0),

so a reaction however fast is stable at the transport time step (the titration front of a fast
oxidant). The consumed amount per plane is returned in ``consumed[i]`` (mol/m³ summed).
"""

from __future__ import annotations

import math

import numpy as np
from numba import prange

from ._jit import jit

__all__ = ["diffuse_step", "diffuse_step_numpy", "react_step", "react_step_numpy"]


@jit(inline=True)
def _face(da, db):
    s = da + db
    return 2.0 * da * db / s if s > 0.0 else 0.0


@jit(parallel=True)
def diffuse_step(c, d, hold, out, a, inflow):
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
                    out[i, j, k] = v + a * flux
        inflow[i - 1] = held


def diffuse_step_numpy(c, d, hold, out, a, inflow):
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
    out[inner] = np.where(held, v, v + a * flux)
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
def react_step(c, theta, k, dt, consumed):
    """Exact reaction over ``dt`` s on unpadded float64 arrays; ``k`` per voxel (m³/mol/s)."""
    n0, n1, n2 = c.shape
    for i in prange(n0):
        used = 0.0
        for j in range(n1):
            for m in range(n2):
                c0 = c[i, j, m]
                cn, tn = _react(c0, theta[i, j, m], k[i, j, m] * dt)
                used += c0 - cn
                c[i, j, m] = cn
                theta[i, j, m] = tn
        consumed[i] = used


def react_step_numpy(c, theta, k, dt, consumed):
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
    consumed[:] = (c0 - cn).sum(axis=(1, 2))
