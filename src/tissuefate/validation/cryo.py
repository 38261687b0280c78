"""Cryo isotherms of one probe in a gel phantom against the published phantom experiments.

Two published experiments, both with one probe in a water-based gel (preset
``gel_phantom``: water and ice properties, no perfusion):

- Littrup et al., JVIR 2009: one 2.4 mm probe, 15 min freeze, agar at 39 °C: the −30 °C ("lethal
  ice") isotherm has a diameter of 1.2 cm.
- PMC4850244: 17 G and 10 G needles in gel at 37 °C: the −40 °C isotherm lies about 1 cm inside
  the 0 °C ice edge. The freeze time was not found; 10 min (the length of one freeze of a
  clinical protocol) is assumed.

Isotherms are measured in the plane through the middle of the probe's active length as the
diameter of a circle of the same area as the region at or below the isotherm (all voxels count,
so the staircase of the grid averages out).
"""

from __future__ import annotations

import math

import numpy as np

from ..course.prepare import build_tissue, thermal_options
from ..modalities.base import SessionContext
from ..modalities.cryo import run_cryo_session
from ..scenario.io import loads_scenario
from ..tissue.state import TissueState

__all__ = ["LITTRUP_DIAMETER_MM", "isotherm_diameter", "single_probe"]

LITTRUP_DIAMETER_MM = 12.0  # −30 °C isotherm, one 2.4 mm probe, 15 min, agar at 39 °C
ISOTHERM_GAP_MM = 10.0  # −40 °C inside the 0 °C edge (PMC4850244), "about 1 cm"
ACTIVE_LENGTH_MM = 40.0  # freezing length of the probe: an assumption (no published value found)


def isotherm_diameter(plane: np.ndarray, temperature: float, spacing: float) -> float:
    """Diameter (m) of the circle with the area of ``plane <= temperature`` (a 2-D slice)."""
    area = float(np.count_nonzero(plane <= temperature)) * spacing**2
    return 2.0 * math.sqrt(area / math.pi)


def single_probe(
    spacing_mm: float = 1.0,
    gel_temperature_c: float = 39.0,
    freeze_min: float = 15.0,
    diameter_mm: float = 2.4,
    gas_temperature_c: float | None = None,
    size_mm: tuple[float, float, float] = (56.0, 56.0, 72.0),
) -> dict[str, float]:
    """One probe along z in gel; returns isotherm diameters (mm) in its mid-plane.

    ``gas_temperature_c`` None keeps the scenario default of the cryo session.
    """
    gas = (
        "" if gas_temperature_c is None else f"\n        gas_temperature: {gas_temperature_c} degC"
    )
    half = 0.5 * ACTIVE_LENGTH_MM
    t = f"{gel_temperature_c} degC"
    text = f"""
name: cryo-single-probe-gel
grid: {{size: [{size_mm[0]} mm, {size_mm[1]} mm, {size_mm[2]} mm], spacing: {spacing_mm} mm}}
tissue: gel_phantom
thermal: {{initial_temperature: {t}, boundary_temperature: {t}}}
strategies:
  cryo:
    sessions:
      - modality: cryo
        probes:
          - {{tip: [0 mm, 0 mm, -{half} mm], direction: [0, 0, -1],
              active_length: {ACTIVE_LENGTH_MM} mm, diameter: {diameter_mm} mm}}{gas}
        protocol: [{{freeze: {freeze_min} min}}]
        cooldown: 0 s
"""
    scenario = loads_scenario(text)
    grid, tissue, anatomy = build_tissue(scenario)
    state = TissueState.initial(anatomy)
    ctx = SessionContext(grid, anatomy, tissue, state, thermal_options(scenario))
    _, strategy = scenario.strategy()
    result = run_cryo_session(ctx, strategy.sessions[0])
    lowest = result.fields["min_temperature"]
    mid = int(np.argmin(np.abs(grid.axis(2))))  # the probe's mid-length lies at z = 0
    plane = lowest[:, :, mid]
    h = grid.spacing
    d = {t: isotherm_diameter(plane, t, h) * 1e3 for t in (0.0, -20.0, -30.0, -40.0)}
    return {
        "iceball_diameter_mm": d[0.0],
        "minus20_diameter_mm": d[-20.0],
        "minus30_diameter_mm": d[-30.0],
        "minus40_diameter_mm": d[-40.0],
        "isotherm_gap_mm": 0.5 * (d[0.0] - d[-40.0]),
        "probe_voxels": float(result.delivered["probe_voxels"]),
        "wall_s": float(result.solver["wall_time_s"]),
    }
