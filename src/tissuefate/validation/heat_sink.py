"""Heat sink of a large vessel: radiofrequency against microwave (Primavesi et al. 2018).

Perfused porcine liver (Primavesi et al., Oncol Lett 2018, doi 10.3892/ol.2017.7634, PMC5778864):
next to central vessels the surface temperature after RFA was 47.1 °C against 68.7 °C in peripheral
tissue (a drop of 21.6 K); after MWA 50.5 °C against 50.2 °C (no drop). The model is asked for the
direction of this contrast, not its size (the experiment's geometry was not found): one applicator
in perfused liver with a 5 mm vessel parallel to it, 10 mm from its axis; the peak temperature 2 mm
from the vessel wall (5.5 mm from the applicator) is compared with the point as far away on the
other side, as the fraction of the far side's temperature rise that is left next to the vessel
(measured: 0.32 for RFA, 1.02 for MWA, with body temperature 37 °C).
RF: a 2 cm cooled tip for 8 min; MW: a dual-slot antenna for 2 min (the durations of the
experiment). Powers (assumptions, chosen so that both zones are about 3 cm across, as in the
experiment's 3.17 vs 3.38 cm mean diameters): see ``RF_POWER_W`` and ``MW_POWER_W``.
"""

from __future__ import annotations

from typing import Any

from ..course.controller import simulate
from ..scenario.io import loads_scenario

__all__ = ["MEASURED_RISE_LEFT", "MW_POWER_W", "RF_POWER_W", "vessel_contrast"]

MEASURED_RISE_LEFT = {
    "radiofrequency": (47.1 - 37.0) / (68.7 - 37.0),
    "microwave": (50.5 - 37.0) / (50.2 - 37.0),
}
RF_POWER_W = 60.0
MW_POWER_W = 40.0
VESSEL_AXIS_MM = 10.0
VESSEL_RADIUS_MM = 2.5
PROBE_MM = 5.5  # 2 mm from the vessel wall


def _session(modality: str) -> str:
    if modality == "radiofrequency":
        return f"""
      - modality: radiofrequency
        electrodes: [{{tip: [0 mm, 0 mm, -10 mm], direction: [0, 0, -1], active_length: 20 mm}}]
        power: {RF_POWER_W} W
        duration: 8 min
        cooldown: 1 min"""
    return f"""
      - modality: microwave
        applicators: [{{tip: [0 mm, 0 mm, -10 mm], direction: [0, 0, -1], antenna: dual_slot}}]
        power: {MW_POWER_W} W
        duration: 2 min
        cooldown: 1 min"""


def vessel_contrast(modality: str, spacing_mm: float = 1.0, vessel: bool = True) -> dict[str, Any]:
    """Peak temperatures (°C) next to the vessel and on the far side, and their difference."""
    vessels = (
        f"""
  vessels:
    - {{name: v1, start: [{VESSEL_AXIS_MM} mm, 0 mm, -32 mm],
        end: [{VESSEL_AXIS_MM} mm, 0 mm, 32 mm], radius: {VESSEL_RADIUS_MM} mm}}"""
        if vessel
        else ""
    )
    text = f"""
name: heat-sink-{modality}
grid: {{size: [64 mm, 64 mm, 64 mm], spacing: {spacing_mm} mm}}
tissue: liver
anatomy:{vessels if vessel else " {}"}
strategies:
  s:
    sessions:{_session(modality)}
"""
    result = simulate(loads_scenario(text))
    peak = result.fields["peak_temperature"].sel(session=1)
    s = result.summary["sessions"][0]
    z = float(result.extras["sessions"][0]["focus_mm"][2])
    near = float(peak.interp(x=PROBE_MM, y=0.0, z=z).values)
    far = float(peak.interp(x=-PROBE_MM, y=0.0, z=z).values)
    return {
        "near_vessel_c": near,
        "far_side_c": far,
        "drop_k": far - near,
        "rise_left": (near - 37.0) / (far - 37.0),
        "zone": s["ablation_zone"],
        "focus_z_mm": z,
    }
