"""Baselines for ``tissuefate bench``: a bare stencil and a STREAM triad (private).

``bare_stencil`` is the constant-coefficient 7-point Pennes update of the developers' unpublished
solver comparison on the reference problem (docs/performance.md): ``out = b * T + S + a * sum_n
T_n`` on padded arrays, the floor any variable-coefficient step is compared with.
``traffic_stencil`` moves the bytes of the project's thermal step (temperature, conductance,
inverse heat capacity, perfusion and source in, temperature out, float32) with the bare
stencil's arithmetic and one addition per extra array: the floor of any step that reads those
arrays once per step. ``triad`` is STREAM's ``x = y + s * z``.
"""

from __future__ import annotations

from numba import prange

from ._jit import jit

__all__ = ["bare_stencil", "traffic_stencil", "triad"]


@jit(inline=True)
def _neighbours(x, i, j, k):
    """Sum of the six face neighbours of voxel (i, j, k)."""
    return (
        x[i - 1, j, k]
        + x[i + 1, j, k]
        + x[i, j - 1, k]
        + x[i, j + 1, k]
        + x[i, j, k - 1]
        + x[i, j, k + 1]
    )


@jit(parallel=True)
def bare_stencil(theta, src, out, a, b, nsteps):
    """``nsteps`` constant-coefficient steps ping-ponging between ``theta`` and ``out``.

    Ghosts are held at zero (a Dirichlet face at the reference temperature, approximately).
    Returns True when the result is in ``out``.
    """
    n0, n1, n2 = theta.shape[0] - 2, theta.shape[1] - 2, theta.shape[2] - 2
    x, y = theta, out
    typ = theta.dtype.type
    a, b = typ(a), typ(b)
    for _ in range(nsteps):
        for i in prange(1, n0 + 1):
            for j in range(1, n1 + 1):
                for k in range(1, n2 + 1):
                    y[i, j, k] = b * x[i, j, k] + src[i, j, k] + a * _neighbours(x, i, j, k)
        x, y = y, x
    return nsteps % 2 == 1


@jit(parallel=True)
def traffic_stencil(theta, s, ic, w, q, out, a, b, nsteps):
    """``nsteps`` steps of :func:`bare_stencil` that also read ``s``, ``ic`` and ``w`` (``q`` is
    the source): the thermal step's memory traffic. Returns True when the result is in ``out``."""
    n0, n1, n2 = theta.shape[0] - 2, theta.shape[1] - 2, theta.shape[2] - 2
    x, y = theta, out
    typ = theta.dtype.type
    a, b = typ(a), typ(b)
    for _ in range(nsteps):
        for i in prange(1, n0 + 1):
            for j in range(1, n1 + 1):
                for k in range(1, n2 + 1):
                    extra = s[i, j, k] + ic[i, j, k] + w[i, j, k]
                    y[i, j, k] = b * x[i, j, k] + q[i, j, k] + extra + a * _neighbours(x, i, j, k)
        x, y = y, x
    return nsteps % 2 == 1


@jit(parallel=True)
def triad(x, y, z, s):
    """STREAM triad ``x = y + s z``."""
    for i in prange(x.shape[0]):
        x[i] = y[i] + s * z[i]
