"""Radiofrequency zones against the ex vivo internally cooled electrode (CVIR 2009).

CVIR 2009 (doi 10.1007/s00270-009-9600-0): an internally cooled electrode with a 2 cm active tip,
12 min in ex vivo bovine liver, gave a zone of 3.01 × 2.62 cm and 11.08 cm³ on gross pathology,
which the model's coagulation zone (heat-fixed tissue, ``damage.zone.coagulation_level``) is
compared with. The experiment's generator settings were not found: the generator power of the
model is the one number fitted (to the volume, ``benchmarks/calibrate_radiofrequency.py``); the
two axes are then predictions. The electrode acts at its actual radius (``physics/subgrid.py``).
Ex vivo settings: no perfusion, the liver at room temperature (20 °C, an assumption: no published
value found), a 17 G (1.5 mm) electrode cooled to 10 °C.

The same source made zones with the same electrode in living porcine livers: 2.62 × 2.00 cm and
5.76 cm³. The model runs that session at the fitted power, in the liver preset perfused at 37 °C
(``cooled_electrode_in_vivo``); nothing is fitted to it, so its zone and its ratio to the ex vivo
zone are predictions of the perfusion model (the in vivo duration is not stated apart from the ex
vivo 12 min: the same 12 min is an assumption).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

from ..course.controller import simulate
from ..io.result import Result
from ..scenario.io import loads_scenario
from ._tissue import tissue_entry

__all__ = [
    "CVIR_BLOCK_MM",
    "CVIR_TIP_MM",
    "ENERGY_ROWS",
    "EX_VIVO_ZONE",
    "FITTED_POWER_W",
    "IN_VIVO_ZONE",
    "PERFUSED_FLOWS",
    "PERFUSED_POWER_W",
    "EnergyRow",
    "cooled_electrode_ex_vivo",
    "cooled_electrode_in_vivo",
    "energy_session",
    "perfused_measured",
    "perfused_zone",
    "zone_per_energy",
]

EX_VIVO_ZONE = {"long_axis_mm": 30.1, "short_axis_mm": 26.2, "volume_ml": 11.08}
IN_VIVO_ZONE = {"long_axis_mm": 26.2, "short_axis_mm": 20.0, "volume_ml": 5.76}
"""The same electrode's zone in living porcine livers (CVIR 2009's abstract: 2.62 × 2.00 cm,
5.76 cm³; 16 zones of two electrode types in five livers)."""
FITTED_POWER_W = 30.0
"""W, fitted to the coagulation zone's volume (see the module docstring): with the electrode at
its actual radius the zone saturates with power (``python benchmarks/calibrate_radiofrequency.py
26 28 30 32 34``: 9.60 / 9.80 / 9.89 / 9.73 / 9.70 mL against 11.08 mL, 2026-12-05; roll-off
holds the delivered energy at 16.3-17.7 kJ), and 30 W makes the largest."""
CVIR_TIP_MM = 20.0
CVIR_BLOCK_MM = (56.0, 56.0, 72.0)
"""The CVIR 2009 electrode's active tip (mm) and the block (mm) its sessions run in, ex vivo and
in vivo."""
EX_VIVO_TISSUE = "{preset: liver, parameters: {perfusion_rate: 0 1/s}}"
EX_VIVO_THERMAL = "{initial_temperature: 20 degC, boundary_temperature: 20 degC}"
BODY_THERMAL = "{initial_temperature: 37 degC}"


def _cooled_electrode(
    name: str,
    tissue: str,
    thermal: str,
    power_w: float,
    *,
    minutes: float = 12.0,
    active_length_mm: float = 30.0,
    diameter_mm: float = 1.5,
    block_mm: tuple[float, float, float] = (64.0, 64.0, 80.0),
    spacing_mm: float = 1.0,
    offset_mm: float = 0.0,
    electrode_radius: str = "actual",
) -> Result:
    """One session of an internally cooled needle electrode (coolant 10 °C) along −z with its
    active tip centred in a block of ``tissue`` (a scenario ``tissue`` value) under ``thermal``;
    ``offset_mm`` moves the needle's axis off the block's centre along x and y (on an even grid
    the centre lies on voxel corners, half a voxel off on voxel centres); ``electrode_radius`` is
    the session key (``drawn``: the voxels set the electrode's size)."""
    x, y, z = block_mm
    text = f"""
name: {name}
grid: {{size: [{x} mm, {y} mm, {z} mm], spacing: {spacing_mm} mm}}
tissue: {tissue}
thermal: {thermal}
strategies:
  rf:
    sessions:
      - modality: radiofrequency
        electrodes:
          - {{tip: [{offset_mm} mm, {offset_mm} mm, {-active_length_mm / 2} mm],
              direction: [0, 0, -1], active_length: {active_length_mm} mm,
              diameter: {diameter_mm} mm, cooled: true, coolant_temperature: 10 degC}}
        power: {power_w} W
        duration: {minutes} min
        electrode_radius: {electrode_radius}
outputs: {{treatability: false}}
"""
    return simulate(loads_scenario(text))


def _zones(session: dict[str, Any]) -> dict[str, Any]:
    """The coagulation zone (what gross pathology sees) of a session summary, with the ablation
    zone's volume and the generator's energy beside it."""
    zone = session["coagulation_zone"]
    return {
        "volume_ml": zone["volume_ml"],
        "long_axis_mm": zone["long_axis_mm"],
        "short_axis_mm": zone["short_axis_mm"],
        "ablation_volume_ml": session["ablation_zone"]["volume_ml"],
        "generator_energy_j": session["delivered"]["generator_energy_j"],
    }


def cooled_electrode_ex_vivo(
    power_w: float = FITTED_POWER_W,
    spacing_mm: float = 1.0,
    minutes: float = 12.0,
    active_length_mm: float = CVIR_TIP_MM,
    block_mm: tuple[float, float, float] = CVIR_BLOCK_MM,
    diameter_mm: float = 1.5,
    offset_mm: float = 0.0,
    electrode_radius: str = "actual",
) -> dict[str, Any]:
    """Zone (mL, mm) of the ex vivo cooled-electrode experiment for a generator power (W); the
    active tip (centred in the block, or ``offset_mm`` off it), the electrode's diameter, the
    block and the electrode model may be changed for scans."""
    result = _cooled_electrode(
        "rf-ex-vivo-cooled-2cm",
        EX_VIVO_TISSUE,
        EX_VIVO_THERMAL,
        power_w,
        minutes=minutes,
        active_length_mm=active_length_mm,
        block_mm=block_mm,
        spacing_mm=spacing_mm,
        diameter_mm=diameter_mm,
        offset_mm=offset_mm,
        electrode_radius=electrode_radius,
    )
    return _session_details(result)


def cooled_electrode_in_vivo(
    power_w: float = FITTED_POWER_W, spacing_mm: float = 1.0
) -> dict[str, Any]:
    """Zone (mL, mm) of the same 2 cm cooled electrode for 12 min in living liver (the liver
    preset, perfused, at 37 °C), in the ex vivo row's block, at the ex vivo fitted power."""
    result = _cooled_electrode(
        "rf-in-vivo-cooled-2cm",
        "{preset: liver}",
        BODY_THERMAL,
        power_w,
        active_length_mm=CVIR_TIP_MM,
        block_mm=CVIR_BLOCK_MM,
        spacing_mm=spacing_mm,
    )
    return _session_details(result)


def _session_details(result: Result) -> dict[str, Any]:
    """Zones of a one-session result, with how the generator and the electrode behaved."""
    s = result.summary["sessions"][0]
    return {
        **_zones(s),
        "electrode_voxels": s["delivered"]["electrodes"][0]["voxels"],
        "rolloff_events": len(s["delivered"]["rolloff_events"]),
        "peak_temperature_c": s["peak_temperature_c"],
        "solver": s["solver"],
    }


@dataclass(frozen=True)
class EnergyRow:
    """A published cooled-electrode zone with the energy the generator delivered."""

    name: str
    in_vivo: bool
    diameter_mm: float  # 17 G 1.5 mm, 15 G 1.83 mm
    energy_kj: float
    volume_ml: float


ENERGY_ROWS = (
    EnergyRow("R4 17 G ex vivo", False, 1.5, 7.70 * 4.184, 23.86),
    EnergyRow("R4 15 G ex vivo", False, 1.83, 8.78 * 4.184, 29.61),
    EnergyRow("R5 17 G in vivo", True, 1.5, 8.49 * 4.184, 7.79),
    EnergyRow("R5 15 G in vivo", True, 1.83, 11.20 * 4.184, 10.26),
)
"""Song KD et al., BJR 2015;88:20140497 (PMC4628443): internally cooled 15 G and 17 G
electrodes, ex vivo bovine liver (n = 20 each) and in vivo porcine liver (n = 10 each); energies
in kcal converted at 4.184 kJ/kcal. Neither the duration nor the tip is given: 12 min and a 3 cm
tip are assumptions (the usual single cooled-electrode protocol)."""


@cache
def energy_session(
    row: EnergyRow,
    spacing_mm: float = 1.0,
    liver: tuple[tuple[str, str], ...] = (),
    minutes: float = 12.0,
) -> Result:
    """The model's session for ``row``: ``minutes`` (12: the usual protocol, an assumption) at
    the power that would deliver the measured energy in that time (the generator delivers less
    where impedance roll-off, at the default 120 Ω, pauses it), a 3 cm tip cooled to 10 °C, in a
    64 × 64 × 80 mm block. Ex vivo: unperfused liver at 20 °C (an assumption); in vivo: perfused
    liver at 37 °C. ``liver``: parameters of the liver preset to change, as (name, value with its
    unit) pairs, for scans."""
    unperfused = {} if row.in_vivo else {"perfusion_rate": "0 1/s"}
    return _cooled_electrode(
        "rf-energy",
        tissue_entry("liver", unperfused | dict(liver)),
        BODY_THERMAL if row.in_vivo else EX_VIVO_THERMAL,
        round(row.energy_kj * 1e3 / (60.0 * minutes), 2),
        minutes=minutes,
        diameter_mm=row.diameter_mm,
        spacing_mm=spacing_mm,
    )


def zone_per_energy(
    row: EnergyRow,
    spacing_mm: float = 1.0,
    liver: tuple[tuple[str, str], ...] = (),
    minutes: float = 12.0,
) -> dict[str, float]:
    """Generator energy (kJ), coagulation zone (mL; what the source measured, on gross
    pathology) and zone per kJ of ``row``'s session (:func:`energy_session`, with the liver
    parameters ``liver`` changed and the session ``minutes`` long), with the ablation zone
    (Ω ≥ 1) beside it."""
    zones = _zones(energy_session(row, spacing_mm, liver, minutes).summary["sessions"][0])
    energy = zones["generator_energy_j"] / 1e3
    return {
        "generator_kj": energy,
        "volume_ml": zones["volume_ml"],
        "ml_per_kj": zones["volume_ml"] / energy,
        "ablation_volume_ml": zones["ablation_volume_ml"],
    }


PERFUSED_FLOWS = (10.0, 30.0, 50.0)
"""Portal flows (mL/min per 100 g) of the blood-perfused bovine livers of Huang, Dodd & Lanctot
(Acad Radiol 2012;19(8), calibration-data H7) at which the model is compared: the ends and the
middle of the measured 10-50 range."""
PERFUSED_POWER_W = 45.0
"""Generator power (W) fitted to the zone volume at the lowest flow (10 mL/min/100 g:
``python benchmarks/calibrate_radiofrequency.py --perfused 25 30 35 40 45`` gave 21.7 / 22.8 /
24.6 / 25.5 / 25.8 mL against 26.0 mL, 2026-12-05, with the electrode at its actual radius); the
zones at the other flows are predictions."""


def perfused_measured(flow: float) -> dict[str, float]:
    """Huang, Dodd & Lanctot 2012's regression lines at ``flow`` (mL/min per 100 g): short axis
    (mm) = 10 (3.925 − 0.044 flow) and volume (mL) = 31.57 − 0.556 flow (r = 0.836; 14 livers,
    57 ablations; their long axis did not depend on flow)."""
    return {"short_axis_mm": 10.0 * (3.925 - 0.044 * flow), "volume_ml": 31.57 - 0.556 * flow}


@cache
def perfused_zone(
    flow: float, power_w: float = PERFUSED_POWER_W, spacing_mm: float = 1.0
) -> dict[str, float]:
    """Coagulation zone (mL, mm) of a 3 cm internally cooled electrode (17 G, 10 °C coolant) for
    12 min (the usual protocol; the source's duration was not read) in liver at 37 °C perfused at
    ``flow`` mL/min per 100 g (converted with the liver's 1079 kg/m³), the liver preset otherwise
    (flow stops at its ``perfusion_stasis_dose``), in a 64 × 64 × 80 mm block at 37 °C."""
    rate = flow / 100.0 * 1.079 / 60.0  # 1/s: mL of blood per mL of tissue per second
    result = _cooled_electrode(
        "rf-perfused-bovine",
        f"{{preset: liver, parameters: {{perfusion_rate: {rate:.6g} 1/s}}}}",
        BODY_THERMAL,
        power_w,
        spacing_mm=spacing_mm,
    )
    return _zones(result.summary["sessions"][0])
