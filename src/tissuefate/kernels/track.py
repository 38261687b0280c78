"""The march along an open needle track (``tissuefate.physics.track``), compiled.

One march integrates the gap's equations in ``u = √(e/e₀)`` from the tip (``u = 1``) to the
closed end (``u = 0``) in ``steps`` RK4 steps, carrying the position ``z`` (m from the tip) and
``y = W − W_closed(e)`` (``W = Q²/2``; see the physics module for why). The tissue pressure beyond
the gap's wall is piecewise linear in ``z`` through the table ``(zt, pt)``, ``pt[0]`` before its
first point and 0 beyond its last (the track has left the tissue the table describes).

The physics module's Python march is the NumPy reference: Brent's method calls this one about
twenty times per solve, and a track is solved at every pressure iteration of an injection, so
the interpreted march was about a quarter of an injection course's time. Compiled without
``fastmath``: the march detects a gap that runs dry by a non-finite or negative ``W``.
"""

from __future__ import annotations

import math

import numpy as np

from ._jit import jit

__all__ = ["track_march"]


@jit(fastmath=False, inline=True)
def _pressure(z, zt, pt):
    """The table's pressure (Pa) at ``z`` (m): linear, ``pt[0]`` before it, 0 beyond it."""
    n = zt.shape[0]
    if z > zt[n - 1]:
        return 0.0
    if z <= zt[0]:
        return pt[0]
    lo, hi = 0, n - 1
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if zt[mid] <= z:
            lo = mid
        else:
            hi = mid
    t = (z - zt[lo]) / (zt[hi] - zt[lo])
    return pt[lo] + t * (pt[hi] - pt[lo])


@jit(fastmath=False, inline=True)
def _closed(e, sigma, rb):
    return (e**5 / 5.0 + sigma * e**4 / 4.0) / rb


@jit(fastmath=False, inline=True)
def _rhs(u, z, y, e0, b, rb, sigma, zt, pt):
    """``(dz/du, dy/du)`` at ``u``."""
    e = e0 * u * u
    dedu = 2.0 * e0 * u
    e3 = e * e * e
    dy = -_pressure(z, zt, pt) * e3 / rb * dedu
    if e3 == 0.0:
        return 0.0, dy
    w = _closed(e, sigma, rb) + y
    if w > 0.0:
        return -e3 / (b * math.sqrt(2.0 * w)) * dedu, dy
    return -math.inf, dy


@jit(fastmath=False)
def track_march(e0, shift, w0, steps, b, r, sigma, zt, pt, path):
    """March a track opened ``e0`` Pa above ``sigma`` at the tip, carrying ``W₀ = w0`` there.

    Writes ``(z, W, e)`` of each point reached into the rows of ``path`` (shape ``(steps + 1,
    3)``) and returns ``(residual, points)``: ``residual`` is ``y`` at ``e = 0`` over ``W₀`` when
    the march reaches the closed end, or ``−u⁸`` of the last point when the flow ran out with
    the gap still open; ``points`` the rows written.
    """
    rb = r * b
    h = 1.0 / steps
    z = 0.0
    y = w0 - _closed(e0, sigma, rb) - shift
    u = 1.0
    path[0, 0], path[0, 1], path[0, 2] = z, w0, e0
    for n in range(steps):
        a1, b1 = _rhs(u, z, y, e0, b, rb, sigma, zt, pt)
        a2, b2 = _rhs(u - 0.5 * h, z - 0.5 * h * a1, y - 0.5 * h * b1, e0, b, rb, sigma, zt, pt)
        a3, b3 = _rhs(u - 0.5 * h, z - 0.5 * h * a2, y - 0.5 * h * b2, e0, b, rb, sigma, zt, pt)
        a4, b4 = _rhs(u - h, z - h * a3, y - h * b3, e0, b, rb, sigma, zt, pt)
        y_next = y - h * (b1 + 2.0 * b2 + 2.0 * b3 + b4) / 6.0
        dz = h * (a1 + 2.0 * a2 + 2.0 * a3 + a4) / 6.0
        u_next = max(u - h, 0.0)
        w_next = _closed(e0 * u_next * u_next, sigma, rb) + y_next
        if u_next == 0.0:
            w_next = max(w_next, 0.0)
        if not (np.isfinite(w_next) and np.isfinite(dz)) or w_next < 0.0:
            return -(u**8), n + 1
        z -= dz
        y, u = y_next, u_next
        path[n + 1, 0], path[n + 1, 1], path[n + 1, 2] = z, w_next, e0 * u * u
    return y / w0, steps + 1
