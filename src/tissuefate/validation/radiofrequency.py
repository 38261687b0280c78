"""Radiofrequency zones against the ex vivo internally cooled electrode (CVIR 2009).

CVIR 2009 (doi 10.1007/s00270-009-9600-0): an internally cooled electrode with a 2 cm active tip,
12 min in ex vivo bovine liver, gave a zone of 3.01 × 2.62 cm and 11.08 cm³. The experiment's
generator settings were not found: the generator power of the model is the one number
fitted (to the volume, ``benchmarks/calibrate_radiofrequency.py``); the two axes are then
predictions. Ex vivo settings: no perfusion, the liver at room temperature (20 °C, an assumption:
no published value found), a 17 G (1.5 mm) electrode cooled to 10 °C.
"""

from __future__ import annotations

from typing import Any

from ..course.controller import simulate
from ..scenario.io import loads_scenario

__all__ = ["EX_VIVO_ZONE", "FITTED_POWER_W", "cooled_electrode_ex_vivo"]

EX_VIVO_ZONE = {"long_axis_mm": 30.1, "short_axis_mm": 26.2, "volume_ml": 11.08}
FITTED_POWER_W = 12.5  # W, fitted to the volume (see the module docstring)


def cooled_electrode_ex_vivo(
    power_w: float = FITTED_POWER_W,
    spacing_mm: float = 1.0,
    minutes: float = 12.0,
    active_length_mm: float = 20.0,
    block_mm: tuple[float, float, float] = (56.0, 56.0, 72.0),
) -> dict[str, Any]:
    """Zone (mL, mm) of the ex vivo cooled-electrode experiment for a generator power (W); the
    active tip (centred in the block) and the block may be changed for scans."""
    x, y, z = block_mm
    text = f"""
name: rf-ex-vivo-cooled-2cm
grid: {{size: [{x} mm, {y} mm, {z} mm], spacing: {spacing_mm} mm}}
tissue: {{preset: liver, parameters: {{perfusion_rate: 0 1/s}}}}
thermal: {{initial_temperature: 20 degC, boundary_temperature: 20 degC}}
strategies:
  rf:
    sessions:
      - modality: radiofrequency
        electrodes:
          - {{tip: [0 mm, 0 mm, {-active_length_mm / 2} mm], direction: [0, 0, -1],
              active_length: {active_length_mm} mm,
              diameter: 1.5 mm, cooled: true, coolant_temperature: 10 degC}}
        power: {power_w} W
        duration: {minutes} min
"""
    result = simulate(loads_scenario(text))
    s = result.summary["sessions"][0]
    zone = s["ablation_zone"]
    return {
        "volume_ml": zone["volume_ml"],
        "long_axis_mm": zone["long_axis_mm"],
        "short_axis_mm": zone["short_axis_mm"],
        "generator_energy_j": s["delivered"]["generator_energy_j"],
        "rolloff_events": len(s["delivered"]["rolloff_events"]),
        "peak_temperature_c": s["peak_temperature_c"],
        "solver": s["solver"],
    }
