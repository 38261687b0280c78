"""Backflow along a needle track: the gap an infusion opens between the needle and the tissue.

When the pressure at a needle tip exceeds the track's opening pressure ``σ`` (the contact stress
with which the tissue closes on the shaft), the fluid parts the tissue from the shaft and flows
back along it, leaking into the tissue through the gap's wall as it goes. This is the physics of
Morrison et al. 1999 ("Focal delivery during direct infusion to brain: role of flow rate,
catheter diameter, and tissue mechanics", Am J Physiol Regul Integr Comp Physiol 277:R1218,
doi:10.1152/ajpregu.1999.277.4.R1218), with a closure stress added:

- the tissue is linear elastic, so a gap at pressure ``p > σ`` is ``g = r_c (p − σ)/(2G)`` wide
  (Lamé's cylindrical cavity in an unbounded solid; ``G`` the shear modulus, ``r_c`` the needle
  radius);
- the flow in the thin annular gap is lubrication flow over its circumference,
  ``Q = −(2π r_c g³/(12μ)) dp/dz`` (``z`` from the tip back along the shaft);
- the gap leaks into the tissue through its wall, ``−dQ/dz = (p − p_t(z))/R`` with ``R`` the
  wall's hydraulic resistance per length (Pa·s/m²) and ``p_t`` the tissue pressure beyond it.

With ``e = p − σ`` and ``B = 48 μ G³/(π r_c⁴)`` these are ``de/dz = −B Q/e³`` and
``dQ/dz = −(σ + e − p_t)/R``. The track is open from the tip (``Q = Q_b``, ``e = e₀``) to the
backflow length ``x_m`` where the gap closes and carries nothing (``e = Q = 0``).

**Closed form** (``p_t = 0``, :meth:`Track.rate`, :meth:`Track.length`): dividing the two
equations and integrating from the closed end,

    Q(e)² = 2 (e⁵/5 + σe⁴/4) / (R B)
    z(e) = √(R/(2B)) (F(e₀) − F(e)),   F(e) = ∫₀ᵉ s ds / √(s/5 + σ/4)

and ``x_m = √(R/(2B)) F(e₀)``. With no closure stress this is Morrison's scaling,
``x_m = C (Q³ R⁴ r_c⁴ / (G³ μ))^(1/5)`` with ``C = (2/3)(5/2)^(4/5)(π/48)^(1/5) ≈ 0.804``
(:data:`MORRISON_CONSTANT`, derived here; the constant of the paper itself was not checked).
With a closure stress well above the opening (``e₀ ≪ σ``) the open track is nearly at ``σ``
along its length, and ``x_m ≈ Q_b R/σ``.

**Any tissue pressure** (:meth:`Track.solve`): the same equations integrated in ``e`` from
``e₀`` to 0 (RK4, state ``z`` and ``W = Q²/2``), with ``e₀`` found by Brent's method so that the
flow and the gap vanish together. With ``p_t = 0`` it reproduces the closed form (tested). The
march is compiled (``tissuefate.kernels.track``); the Python one here is its reference.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike
from scipy.optimize import brentq

from ..kernels import track as kt

__all__ = ["MORRISON_CONSTANT", "Track", "TrackSolution", "wall_resistance"]

MORRISON_CONSTANT = (2.0 / 3.0) * 2.5**0.8 * (math.pi / 48.0) ** 0.2
"""``C`` of ``x_m = C (Q³R⁴r_c⁴/(G³μ))^(1/5)`` for a track with no closure stress."""


def wall_resistance(
    viscosity: float, permeability: float, needle_radius: float, outer: float
) -> float:
    """Hydraulic resistance per length (Pa·s/m²) of the tissue annulus from a needle of
    ``needle_radius`` to ``outer`` (m): ``μ ln(outer/r_c)/(2πK)`` (radial Darcy flow)."""
    if outer <= needle_radius:
        raise ValueError(f"outer radius {outer!r} m must exceed the needle's {needle_radius!r} m")
    return viscosity * math.log(outer / needle_radius) / (2.0 * math.pi * permeability)


@dataclass(frozen=True)
class TrackSolution:
    """An open track: ``opening`` ``e₀`` (Pa above the opening pressure at the tip), ``length``
    ``x_m`` (m), and along it the positions ``z`` (m from the tip, increasing), the flow still in
    the gap ``flow`` (m³/s) and the leak into the tissue per length ``leak`` (m²/s)."""

    opening: float
    length: float
    z: np.ndarray
    flow: np.ndarray
    leak: np.ndarray

    def flow_at(self, distance: float) -> float:
        """Flow (m³/s) still in the gap at ``distance`` (m) from the tip (0 beyond the track)."""
        if distance >= self.length:
            return 0.0
        return float(np.interp(distance, self.z, self.flow))


@dataclass(frozen=True)
class Track:
    """The gap along a needle: opening pressure ``sigma`` (Pa), tissue shear modulus ``shear``
    (Pa), needle radius ``radius`` (m), viscosity ``viscosity`` (Pa·s) of the fluid in the gap,
    wall resistance per length ``resistance`` (Pa·s/m², :func:`wall_resistance`)."""

    sigma: float
    shear: float
    radius: float
    viscosity: float
    resistance: float

    @property
    def b(self) -> float:
        """``B = 48 μ G³/(π r_c⁴)`` (Pa³·s/m⁴): ``de/dz = −B Q/e³``."""
        return 48.0 * self.viscosity * self.shear**3 / (math.pi * self.radius**4)

    def gap(self, pressure: float) -> float:
        """Gap width (m) at ``pressure`` (Pa): ``r_c (p − σ)/(2G)``, 0 below ``σ``."""
        return self.radius * max(pressure - self.sigma, 0.0) / (2.0 * self.shear)

    # ------------------------------------------------------------- closed form (p_t = 0)
    def _w(self, e: float) -> float:
        """``W = Q²/2`` of the closed form at opening ``e``: ``(e⁵/5 + σe⁴/4)/(RB)``."""
        return (e**5 / 5.0 + self.sigma * e**4 / 4.0) / (self.resistance * self.b)

    def rate(self, opening: float) -> float:
        """Backflow (m³/s) of a track opened ``opening`` Pa above ``σ`` at the tip."""
        return math.sqrt(2.0 * self._w(opening))

    def _f(self, e: float) -> float:
        """``F(e) = ∫₀ᵉ s ds/√(s/5 + σ/4)``, in a form without cancellation."""
        if e <= 0.0:
            return 0.0
        a, b = 0.2, 0.25 * self.sigma
        root = math.sqrt(a * e + b)
        d = a * e / (root + math.sqrt(b))  # √(ae + b) − √b
        return 2.0 * d * (a * e + math.sqrt(b) * d) / (3.0 * a * a)

    def length(self, opening: float) -> float:
        """Backflow length ``x_m`` (m) of a track opened ``opening`` Pa above ``σ``."""
        return math.sqrt(self.resistance / (2.0 * self.b)) * self._f(opening)

    def opening(self, rate: float) -> float:
        """The opening ``e₀`` (Pa) at which the track carries ``rate`` (m³/s) back."""
        if rate <= 0:
            return 0.0
        hi = 1.0
        while self.rate(hi) < rate:
            hi *= 4.0
        return float(brentq(lambda e: self.rate(e) - rate, 0.0, hi, xtol=1e-14, rtol=1e-13))

    def profile(self, rate: float, n: int = 64) -> TrackSolution:
        """The closed-form track carrying ``rate`` (m³/s) back into tissue at 0 Pa."""
        e0 = self.opening(rate)
        e = e0 * (1.0 - np.linspace(0.0, 1.0, n)) ** 0.5
        scale = math.sqrt(self.resistance / (2.0 * self.b))
        z = np.array([scale * (self._f(e0) - self._f(x)) for x in e])
        flow = np.array([self.rate(x) for x in e])
        leak = (self.sigma + e) / self.resistance
        return TrackSolution(e0, float(z[-1]), z, flow, leak)

    # ------------------------------------------------------------- any tissue pressure
    def solve(
        self,
        rate: float,
        tissue: tuple[ArrayLike, ArrayLike] | None = None,
        steps: int = 48,
        impl: Literal["compiled", "numpy"] = "compiled",
    ) -> TrackSolution:
        """The track carrying ``rate`` (m³/s) back, the tissue beyond its wall at the pressure
        table ``tissue = (z, p)`` (m from the tip, increasing; Pa), linear between its points,
        ``p[0]`` before the first and 0 beyond the last (None: 0 everywhere): integrated in
        ``e`` from ``e₀`` to 0 in ``steps`` RK4 steps, ``e₀`` found so that the flow and the gap
        vanish together. ``impl`` marches with the compiled kernel
        (:func:`tissuefate.kernels.track.track_march`) or with the Python reference."""
        if rate <= 0:
            empty = np.zeros(1)
            return TrackSolution(0.0, 0.0, empty, empty, empty)
        if tissue is None:
            zt, pt = np.zeros(1), np.zeros(1)
        else:
            zt, pt = (np.ascontiguousarray(a, dtype=np.float64) for a in tissue)
        w0 = 0.5 * rate * rate
        if impl == "compiled":
            buffer = np.empty((steps + 1, 3))

            def march(e0: float, shift: float = 0.0) -> tuple[float, np.ndarray]:
                residual, points = kt.track_march(
                    e0, shift, w0, steps, self.b, self.resistance, self.sigma, zt, pt, buffer
                )
                return residual, buffer[:points]
        elif impl == "numpy":

            def march(e0: float, shift: float = 0.0) -> tuple[float, np.ndarray]:
                return self._march(e0, shift, w0, steps, zt, pt)
        else:
            raise ValueError(f"unknown implementation {impl!r}")

        e_lo = e_hi = self.opening(rate)  # the closed form's opening brackets the root
        while march(e_lo)[0] <= 0:
            e_lo *= 0.5
        while march(e_hi)[0] >= 0:
            e_hi *= 2.0
        e0 = float(brentq(lambda e: march(e)[0], e_lo, e_hi, xtol=1e-12 * e_hi, rtol=1e-10))
        # the root leaves W(0) within ~1e-10 W₀ of 0, which near the closed end (W ∝ e⁴…e⁵)
        # is not small: march from the closest opening that reaches e = 0 and shift W by what
        # it left there (a flow error of ~1e-10 W₀, and the closed form exactly without p_t)
        for shrink in (0.0, 1e-12, 1e-10, 1e-8, 1e-6):
            residual, _ = march(e0 * (1.0 - shrink))
            if residual >= 0:
                e0 *= 1.0 - shrink
                break
        _, path = march(e0, shift=residual * w0)
        z = path[:, 0].copy()
        flow = np.sqrt(2.0 * np.maximum(path[:, 1], 0.0))
        e = path[:, 2].copy()
        leak = (self.sigma + e - np.interp(z, zt, pt, right=0.0)) / self.resistance
        flow[-1] = 0.0
        return TrackSolution(e0, float(z[-1]), z, flow, leak)

    def _march(
        self, e0: float, shift: float, w0: float, steps: int, zt: np.ndarray, pt: np.ndarray
    ) -> tuple[float, np.ndarray]:
        """The Python reference of :func:`~tissuefate.kernels.track.track_march`: residual (W
        left at e = 0 over W₀, or minus how early W ran out) and the path's rows ``(z, W, e)``.

        Marches ``u = √(e/e₀)`` from 1 to 0, in which the path is smooth at the closed end, and
        carries ``y = W − W_closed(e)`` (``dy/de = −p_t e³/(RB)``), so that ``W``, which falls as
        ``e⁴`` to ``e⁵`` there, keeps its relative accuracy: without tissue pressure ``y`` is
        constant and the march is the closed form's quadrature."""
        b, r = self.b, self.resistance
        closed = self._w

        def p_t(z_: float) -> float:
            return float(np.interp(z_, zt, pt, right=0.0))

        h = 1.0 / steps
        z, y, u = 0.0, w0 - closed(e0) - shift, 1.0
        path = [(z, w0, e0)]

        def f(u_: float, z_: float, y_: float) -> tuple[float, float]:
            e_ = e0 * u_ * u_
            dedu = 2.0 * e0 * u_
            e3 = e_ * e_ * e_
            dy = -p_t(z_) * e3 / (r * b) * dedu
            if e3 == 0.0:
                return 0.0, dy
            w_ = closed(e_) + y_
            dz = -e3 / (b * math.sqrt(2.0 * w_)) * dedu if w_ > 0 else -math.inf
            return dz, dy

        for _ in range(steps):
            # d/du, marching towards u = 0 (step −h)
            k1 = f(u, z, y)
            k2 = f(u - 0.5 * h, z - 0.5 * h * k1[0], y - 0.5 * h * k1[1])
            k3 = f(u - 0.5 * h, z - 0.5 * h * k2[0], y - 0.5 * h * k2[1])
            k4 = f(u - h, z - h * k3[0], y - h * k3[1])
            y_next = y - h * (k1[1] + 2 * k2[1] + 2 * k3[1] + k4[1]) / 6.0
            dz = h * (k1[0] + 2 * k2[0] + 2 * k3[0] + k4[0]) / 6.0
            u_next = max(u - h, 0.0)
            w_next = closed(e0 * u_next * u_next) + y_next
            if u_next == 0.0:
                w_next = max(w_next, 0.0)
            if not (math.isfinite(w_next) and math.isfinite(dz)) or w_next < 0.0:
                return -(u**8), np.array(path)  # the flow ran out with the gap still open
            z -= dz
            y, u = y_next, u_next
            path.append((z, w_next, e0 * u * u))
        return y / w0, np.array(path)
