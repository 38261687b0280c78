"""Exact solutions of the Pennes equation and of the Arrhenius integral.

Notation: θ = T − T_b (K), W = ω_b ρ_b c_b (W/m³/K), L = sqrt(k/W) (perfusion length, m),
α = k/(ρc) (m²/s), τ = ρc/W (s). Distances in m, powers in W, times in s.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.special import erfc

__all__ = [
    "arrhenius_time",
    "heated_sphere_steady",
    "held_sphere_steady",
    "neumann_solidification",
    "perfusion_length",
    "point_source_steady",
    "point_source_transient",
    "point_source_transient_unperfused",
    "titration_front",
]


def perfusion_length(k: float, w: float) -> float:
    """L = sqrt(k / W) in m."""
    return math.sqrt(k / w)


def held_sphere_steady(r: np.ndarray, a: float, theta_a: float, k: float, w: float) -> np.ndarray:
    """Steady rise outside a sphere of radius ``a`` held at ``theta_a``: θ_a (a/r) e^{−(r−a)/L}."""
    L = perfusion_length(k, w)
    return theta_a * (a / r) * np.exp(-(r - a) / L)


def point_source_steady(r: np.ndarray, power: float, k: float, w: float) -> np.ndarray:
    """Steady rise around a point source of ``power`` W in perfused tissue: P e^{−r/L}/(4πkr)."""
    L = perfusion_length(k, w)
    return power * np.exp(-r / L) / (4 * math.pi * k * r)


def point_source_transient(
    r: np.ndarray, t: float, power: float, k: float, rho_c: float, w: float
) -> np.ndarray:
    """Rise at time ``t`` after a point source switched on at t = 0, with perfusion.

    θ = P/(8πkr) [e^{−r/L} erfc(r/(2√(αt)) − √(t/τ)) + e^{r/L} erfc(r/(2√(αt)) + √(t/τ))].
    The second term is evaluated in a form that does not overflow for large r/L.
    """
    r = np.asarray(r, dtype=float)
    L = perfusion_length(k, w)
    alpha = k / rho_c
    tau = rho_c / w
    x = r / (2 * math.sqrt(alpha * t))
    s = math.sqrt(t / tau)
    first = np.exp(-r / L) * erfc(x - s)
    # e^{r/L} erfc(x + s) = exp(r/L - (x + s)^2) * erfcx(x + s); r/L = 2 x s
    from scipy.special import erfcx

    second = np.exp(2 * x * s - (x + s) ** 2) * erfcx(x + s)
    return power / (8 * math.pi * k * r) * (first + second)


def point_source_transient_unperfused(
    r: np.ndarray, t: float, power: float, k: float, rho_c: float
) -> np.ndarray:
    """Rise at ``t`` after a point source is switched on, no perfusion.

    θ = P erfc(r/(2√(αt))) / (4πkr).
    """
    r = np.asarray(r, dtype=float)
    alpha = k / rho_c
    return power * erfc(r / (2 * math.sqrt(alpha * t))) / (4 * math.pi * k * r)


def heated_sphere_steady(r: np.ndarray, a: float, q: float, k: float, w: float) -> np.ndarray:
    """Steady rise around a sphere of radius ``a`` with uniform source ``q`` (W/m³), perfused.

    Inside θ = qL²/k + A sinh(r/L)/r, outside θ = B e^{−r/L}/r; A and B make θ and its derivative
    continuous at r = a.
    """
    r = np.asarray(r, dtype=float)
    L = perfusion_length(k, w)
    s, c, e = math.sinh(a / L), math.cosh(a / L), math.exp(-a / L)
    # unknowns (A, B): value and slope match at r = a
    m = np.array(
        [
            [s / a, -e / a],
            [c / (L * a) - s / a**2, e * (1 / (L * a) + 1 / a**2)],
        ]
    )
    rhs = np.array([-q * L**2 / k, 0.0])
    A, B = np.linalg.solve(m, rhs)
    inside = q * L**2 / k + A * np.where(r > 0, np.sinh(r / L) / np.where(r > 0, r, 1.0), 1.0 / L)
    outside = B * np.exp(-r / L) / np.where(r > 0, r, 1.0)
    return np.where(r <= a, inside, outside)


def arrhenius_time(
    temperature_c: float, frequency_factor: float, activation_energy: float, omega: float = 1.0
) -> float:
    """Time in s to reach damage ``omega`` at constant temperature: Ω = A t exp(−Ea/(R T))."""
    from ..damage.thermal import arrhenius_time as _t

    return _t(temperature_c, frequency_factor, activation_energy, omega)


def neumann_solidification(
    k_solid: float,
    rho_c_solid: float,
    k_liquid: float,
    rho_c_liquid: float,
    latent_heat: float,
    t_wall: float,
    t_melt: float,
    t_initial: float,
) -> float:
    """λ of the two-phase Neumann (Stefan) solidification problem: front at X(t) = 2λ√(α_s t).

    A half-space of liquid at ``t_initial`` (above ``t_melt``) has its face held at ``t_wall``
    (below) from t = 0; ``latent_heat`` is per volume (J/m³), conductivities in W/m/K, heat
    capacities in J/m³/K. λ solves

        e^{−λ²}/erf(λ) − (k_l √α_s)/(k_s √α_l) · (T_i − T_m)/(T_m − T_w) · e^{−ν²λ²}/erfc(νλ)
            = λ √π L / (ρc_s (T_m − T_w)),            ν = √(α_s/α_l).
    """
    from scipy.optimize import brentq
    from scipy.special import erf, erfcx

    a_s = k_solid / rho_c_solid
    a_l = k_liquid / rho_c_liquid
    nu = math.sqrt(a_s / a_l)
    cold = t_melt - t_wall
    hot = t_initial - t_melt
    if not (cold > 0 and hot >= 0 and latent_heat >= 0):
        raise ValueError("need t_wall < t_melt <= t_initial and a non-negative latent heat")
    ratio = (k_liquid * math.sqrt(a_s)) / (k_solid * math.sqrt(a_l)) * hot / cold
    stefan = latent_heat * math.sqrt(math.pi) / (rho_c_solid * cold)

    def balance(lam: float) -> float:
        # e^{−ν²λ²}/erfc(νλ) = 1/erfcx(νλ), free of underflow
        return math.exp(-(lam**2)) / erf(lam) - ratio / erfcx(nu * lam) - lam * stefan

    return float(brentq(balance, 1e-9, 10.0, xtol=1e-14))


def titration_front(diffusivity: float, concentration: float, capacity: float, t: float) -> float:
    """Position (m) at time ``t`` of the front of an agent held at ``concentration`` at x = 0 and
    reacting instantly with a tissue demand ``capacity`` (both mol/m³): x_f = 2λ√(Dt) with
    λ e^{λ²} erf(λ) = C0 / (Θ √π) (the one-phase Stefan problem; for C0 ≪ Θ it tends to
    √(2 D C0 t / Θ))."""
    from scipy.optimize import brentq
    from scipy.special import erf

    target = concentration / (capacity * math.sqrt(math.pi))
    lam = brentq(lambda x: x * math.exp(x * x) * erf(x) - target, 1e-12, 10.0, xtol=1e-15)
    return 2.0 * lam * math.sqrt(diffusivity * t)
