"""Injection cases: the titration front, the needle-tip pressure and the presets' calibration.

- ``titration_front_1d``: an agent held at C0 at x = 0 against a tissue demand Θ (C0/Θ = 0.05),
  D = 1e-9 m²/s, reacting fast enough (k Θ dt = 1e3) to form a sharp front, for 1 h; the front
  is compared with the moving-boundary solution x_f = 2λ√(Dt) (0.595 mm), and the ledger
  ``injected = in tissue + consumed`` is kept.
- ``poroelastic_point_source``: a 10 mL/h infusion into tissue that stores fluid (S = 1e-4 1/Pa)
  with far-field faces, against the continuous point source ``Qμ/(4πKr) erfc(r/2√(ct))``:
  pressure and flux at 120, 240 and 480 s, and the fluid balance.
- ``tip_pressure_case``: a 10 mL/h aqueous infusion from a 22 G needle in homogeneous tissue,
  the corrected tip pressure against p = Qμ/(4πKr).
- ``perfused_liver_injection``: a single injection into perfused liver at the session defaults
  (10 mL/h, 22 G), 1 h of observation, 1 mm grid; the kill volume per injected volume. The
  ethanol preset's ``washout_factor`` is calibrated on it to "necrosis much smaller than the
  injected volume" (Vehmas et al. 1993, read as half), and the acetic acid preset's kill
  reference concentration to 6.2/3.9 times the ethanol kill (the inverse ratio of the sessions
  each needs, Huo et al. 2003); ``benchmarks/calibrate_injection.py`` runs the fits.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..course.controller import simulate
from ..grid.grid import Grid
from ..grid.shapes import point_weights
from ..kernels import transport as kt
from ..modalities.injection import grid_self_potential, tip_pressure
from ..physics.darcy import DarcySolver, point_source_pressure
from ..scenario.io import loads_scenario
from .exact import titration_front

__all__ = [
    "ACETIC_TO_ETHANOL_KILL",
    "NECROSIS_PER_INJECTED",
    "POROELASTIC",
    "perfused_liver_injection",
    "poroelastic_point_source",
    "tip_pressure_case",
    "titration_front_1d",
]

NECROSIS_PER_INJECTED = 0.5
"""Ethanol necrosis per injected volume in perfused liver that the preset is calibrated to:
"much smaller than the injected volume" (Vehmas et al., Scand J Gastroenterol 1993; the exact
relation is held back for validation) read as one half."""
ACETIC_TO_ETHANOL_KILL = 6.2 / 3.9
"""Kill volume of acetic acid over ethanol for the same injection: the inverse ratio of the
sessions per treatment cycle, 3.9 ± 1.6 (PAI) vs 6.2 ± 2.3 (PEI), Huo et al. 2003."""


def titration_front_1d(h: float = 15e-6) -> dict[str, float]:
    """The 1-D titration front after 1 h on a grid of spacing ``h`` (m); amounts per unit
    cross-section (mol/m²)."""
    diffusivity, theta0, c0, t_end = 1e-9, 100.0, 5.0, 3600.0
    n = 120
    dt = 0.4 * h * h / diffusivity
    steps = math.ceil(t_end / dt)
    dt = t_end / steps
    c = np.zeros((n + 2, 3, 3))
    c[1] = c0
    d = np.full(c.shape, diffusivity)
    hold = np.zeros((n, 1, 1), np.uint8)
    hold[0] = 1
    theta = np.full((n, 1, 1), theta0)
    theta[0] = 0.0
    k = np.full((n, 1, 1), 1e3 / (theta0 * dt))
    out, inflow, used = np.zeros_like(c), np.zeros(n), np.zeros(n)
    ones_pad, ones = np.ones_like(c), np.ones_like(theta)
    injected = consumed = 0.0
    for _ in range(steps):
        for ghost, inner in ((0, 1), (2, 1)):  # closed sides: a 1-D row
            c[:, ghost, :] = c[:, inner, :]
            c[:, :, ghost] = c[:, :, inner]
        c[0], c[-1] = c[1], c[-2]
        kt.diffuse_step(c, d, ones_pad, hold, out, dt / h**2, inflow)
        injected += inflow.sum() * h
        row = np.ascontiguousarray(out[1:-1, 1:2, 1:2])
        kt.react_step(row, theta, k, ones, dt, used)
        consumed += used.sum() * h
        out[1:-1, 1:2, 1:2] = row
        c, out = out, c
    return {
        # consumed demand over Θ; the held cell's half beyond x = 0 is not tissue
        "front": h * float((1.0 - theta[1:, 0, 0] / theta0).sum()) + 0.5 * h,
        "exact": titration_front(diffusivity, c0, theta0, t_end),
        "injected": injected,
        "in_tissue": float(c[2:-1, 1, 1].sum()) * h,
        "consumed": consumed,
    }


def tip_pressure_case(offset_mm: tuple[float, float, float] = (0.27, -0.46, -0.92)) -> dict:
    """Tip pressure (Pa) of 10 mL/h (μ = 0.69 mPa·s) from a 22 G needle in K = 1e-14 m², on a
    48³ grid at 1 mm, the tip ``offset_mm`` off the centre, and the exact value."""
    grid = Grid(shape=(48, 48, 48), spacing=1e-3)
    k, mu, q, radius = 1e-14, 0.69e-3, 10e-6 / 3600, 0.35e-3
    darcy = DarcySolver(grid, np.full(grid.shape, k), mu)
    tip = np.asarray(offset_mm) * 1e-3
    p, _ = darcy.solve([(tip, q)], tol=1e-10)
    idx, w = point_weights(grid, tip)
    i, j, m = idx.T
    g_self = grid_self_potential(idx, w)
    sim = tip_pressure(float(w @ p[i, j, m]), q, k / mu, k / mu, radius, grid.spacing, g_self)
    return {"simulated": sim, "exact": float(point_source_pressure(radius, q, k, mu))}


def perfused_liver_injection(
    agent: str = "ethanol",
    overrides: dict[str, str] | None = None,
    *,
    volume_ml: float = 1.0,
    spacing_mm: float = 1.0,
    observe: str = "1 h",
    rate_ml_h: float = 10.0,
) -> dict[str, Any]:
    """One injection at the session defaults (10 mL/h) into perfused liver: the summary's
    injection entry (kill volume, distribution volume, amounts ...)."""
    params = "".join(f"\n          {k}: '{v}'" for k, v in (overrides or {}).items())
    params = f"\n        agent_parameters:{params}" if overrides else ""
    text = f"""
name: perfused-liver-injection
grid: {{size: [48 mm, 48 mm, 48 mm], spacing: {spacing_mm} mm}}
tissue: liver
strategies:
  s:
    sessions:
      - modality: injection
        agent: {agent}{params}
        sites: [{{tip: [0.3 mm, 0.2 mm, 0.1 mm], direction: [0, 0, -1], volume: {volume_ml} mL}}]
        rate: {rate_ml_h:g} mL/h
        observe: {observe}
outputs: {{treatability: false}}
"""
    return simulate(loads_scenario(text)).summary["sessions"][0]["injection"]


POROELASTIC = {"permeability": 1e-14, "viscosity": 0.69e-3, "storage": 1e-4, "rate": 10e-6 / 3600}
"""The poroelastic point source of ``poroelastic_point_source``: K (m²), μ (Pa·s), S (1/Pa) and
Q (m³/s): a 10 mL/h aqueous infusion into tissue of drained constrained modulus 10 kPa."""


def poroelastic_point_source(
    n: int = 48, times: tuple[float, ...] = (120.0, 240.0, 480.0), spacing: float = 1e-3
) -> dict[str, Any]:
    """A point infusion into tissue that stores fluid, against the continuous point source.

    The infusion sits on a voxel corner at the centre of an ``n``³ grid with far-field faces;
    backward-Euler steps of 5 % of the time elapsed. At each of ``times`` (s): the largest
    relative error of the pressure where it has arrived (``4 h <= r <= 2√(ct)``; nearer the
    tip the 7-point stencil's own error dominates), the relative errors of the flux out of two
    cubes (half-sizes 4 and 8 voxels; exact: the closed-form flux density integrated over their
    faces), and the mass balance ``(infused − stored − left through the faces) / infused``.
    """
    from ..physics.darcy import transient_point_flux, transient_point_pressure

    k, mu, s, q = (POROELASTIC[x] for x in ("permeability", "viscosity", "storage", "rate"))
    c = k / (mu * s)
    grid = Grid(shape=(n, n, n), spacing=spacing)
    solver = DarcySolver(
        grid, np.full(grid.shape, k), mu, open_faces="far_field", centre=(0, 0, 0), storage=s
    )
    r = np.linalg.norm(grid.centres(), axis=-1)
    out: dict[str, Any] = {"times": list(times), "pressure": [], "flux": [], "balance": []}
    t = infused = left = 0.0
    for target in times:
        while t < target - 1e-9:
            dt = min(max(0.05 * t, 0.5), target - t)
            solver.step([((0.0, 0.0, 0.0), q)], dt, tol=1e-11)
            t += dt
            infused += q * dt
            left += solver.outflow() * dt
        p = solver.pressure
        exact = transient_point_pressure(r, t, q, k, mu, s)
        arrived = (r >= 4 * spacing) & (r <= 2 * np.sqrt(c * t))
        out["pressure"].append(float(np.abs(p[arrived] / exact[arrived] - 1.0).max()))
        errors = []
        for half in (4, 8):
            a, b = n // 2 - half, n // 2 + half
            flux = solver.outflow(p, (slice(a, b),) * 3)
            # exact: the radial flux density Q(r)/(4πr²) integrated over the cube's faces
            side = half * spacing
            u = (np.arange(200) + 0.5) / 200 * 2 * side - side
            x, y = np.meshgrid(u, u, indexing="ij")
            rr = np.sqrt(x * x + y * y + side * side)
            density = transient_point_flux(rr, t, q, k, mu, s) / (4 * np.pi * rr**2)
            exact_flux = 6 * float((density * side / rr).sum()) * (2 * side / 200) ** 2
            errors.append(flux / exact_flux - 1.0)
        out["flux"].append(errors)
        out["balance"].append((infused - solver.stored_volume() - left) / infused)
    return out


def track_backflow_case(rate_ml_h: float = 10.0) -> list[dict[str, Any]]:
    """Backflow along a 22 G needle track in liver (G 2.09 kPa, K 1e-14 m², ethanol, wall
    resistance one 1 mm voxel out): the sessions' shooting march (48 steps) against the closed
    form it implements, with the critical pressure of 40 kPa as closure stress, without one
    (Morrison's scaling), and with a uniform tissue pressure ``c`` (the closed form with
    ``σ − c``). Each: ``case``, ``simulated`` and ``exact`` length (mm)."""
    from ..modalities.agent import load_agent
    from ..physics.track import MORRISON_CONSTANT, Track, wall_resistance

    mu, k, r_c, g = load_agent("ethanol").viscosity, 1e-14, 0.35e-3, 2090.0
    resistance = wall_resistance(mu, k, r_c, r_c + 1e-3)
    q = rate_ml_h * 1e-6 / 3600.0
    rows = []
    for sigma, label in ((40e3, "closure stress 40 kPa"), (0.0, "no closure stress")):
        track = Track(sigma, g, r_c, mu, resistance)
        exact = (
            MORRISON_CONSTANT * (q**3 * resistance**4 * r_c**4 / (g**3 * mu)) ** 0.2
            if sigma == 0
            else track.length(track.opening(q))
        )
        rows.append({"case": label, "simulated": track.solve(q).length * 1e3, "exact": exact * 1e3})
    c = 20e3
    lowered = Track(40e3 - c, g, r_c, mu, resistance)
    rows.append(
        {
            "case": "closure stress 40 kPa, tissue at 20 kPa",
            "simulated": Track(40e3, g, r_c, mu, resistance)
            .solve(q, ([0.0, 1.0], [c, c]))  # 20 kPa along the first metre
            .length
            * 1e3,
            "exact": lowered.length(lowered.opening(q)) * 1e3,
        }
    )
    return rows
