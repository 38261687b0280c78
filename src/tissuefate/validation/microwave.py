"""Microwave ablation-zone shapes against published data (Brace group, PMC3721053).

Brace group (PMC3721053), 2.45 GHz, two cooled antennas: the short/long axis ratio of the zone of a
dual-slot and a monopole antenna, ex vivo bovine liver for 2 min at 50 and 100 W (the four numbers
the antenna models are fitted to, by ``benchmarks/calibrate_microwave.py``), and, held out of the
fit, ex vivo at 50 W for 5 min and in vivo porcine liver at 100 W for 5 min. Ex vivo conditions:
no perfusion, liver at 20 degC (an assumption: the source does not state it). The source measured
its zones at gross pathologic examination, so the model's zone is the coagulation zone
(:func:`~tissuefate.damage.zone.coagulation_level`: cells killed at a peak of 60 degC or more, the
white zone), as for every other zone measured on gross pathology; its axes are measured with
sub-voxel interpolation of the level's logarithm. The ablation zone (Omega >= 1) is returned beside
it.
"""

from __future__ import annotations

import numpy as np

from ..course.controller import build_tissue
from ..damage.zone import ZONE_OMEGA, coagulation_level, zone_axes
from ..grid.grid import Grid
from ..modalities import SessionContext, ThermalOptions
from ..modalities.microwave import MicrowaveSessionSource, antenna_pattern
from ..modalities.thermal import run_thermal_session, session_fields
from ..physics.microwave import MicrowaveApplicator
from ..scenario.io import loads_scenario
from ..tissue.state import TissueState

__all__ = [
    "EX_VIVO_C",
    "HELD_OUT",
    "HELD_OUT_EX_VIVO",
    "TARGETS",
    "aspect_ratio",
    "measure_zone",
    "session_zone",
    "sub_voxel_axes",
]

TARGETS = {
    ("dual_slot", 50.0): 0.75,
    ("monopole", 50.0): 0.53,
    ("dual_slot", 100.0): 0.52,
    ("monopole", 100.0): 0.42,
}
# Held out of the fit: in vivo porcine liver, 100 W for 5 min (same source).
HELD_OUT = {("dual_slot", 100.0): 0.63, ("monopole", 100.0): 0.53}
# Held out of the fit: ex vivo bovine liver, 50 W for 5 min (same source's abstract; added
# 2026-12-06 and predicted once, with the tolerance of the in vivo rows, 0.1).
HELD_OUT_EX_VIVO = {("dual_slot", 50.0): 0.82, ("monopole", 50.0): 0.63}
EX_VIVO_C = 20.0  # °C: the ex vivo liver's temperature (not stated by the sources; an assumption)

SCENARIO = """
name: calibration
grid: {{size: [{xy} mm, {xy} mm, {z} mm], spacing: {h} mm}}
tissue: {{preset: liver, parameters: {{perfusion_rate: 0 1/s}}}}
strategies: {{s: {{sessions: [{{modality: heat_source, duration: 1 s,
  sources: [{{shape: point, center: [0 mm, 0 mm, 0 mm], power: 1 W}}]}}]}}}}
"""


def _crossing(profile: np.ndarray, coords: np.ndarray) -> float:
    """Coordinate where log(Omega) falls through 0 walking outward from the profile's start."""
    logs = np.log(np.maximum(profile, 1e-300))
    below = np.nonzero(logs < 0.0)[0]
    if below.size == 0 or below[0] == 0:
        return float(coords[-1] if below.size == 0 else coords[0])
    i = below[0]
    f = logs[i - 1] / (logs[i - 1] - logs[i])
    return float(coords[i - 1] + f * (coords[i] - coords[i - 1]))


def sub_voxel_axes(omega: np.ndarray, axes_mm: tuple[np.ndarray, ...]) -> tuple[float, float]:
    """Long (along z, the antenna axis through the grid centre) and short (largest width across
    it) extents of {Omega >= 1} in mm, by interpolating log(Omega) between voxel centres."""
    x, _, z = axes_mm
    cx, cy = omega.shape[0] // 2, omega.shape[1] // 2
    line = omega[cx - 1 : cx + 1, cy - 1 : cy + 1, :].mean(axis=(0, 1))
    k0 = int(np.argmax(line))
    up = _crossing(line[k0:], z[k0:])
    down = _crossing(line[: k0 + 1][::-1], z[: k0 + 1][::-1])
    long = up - down
    short = 0.0
    for k in range(omega.shape[2]):
        if line[k] < 1.0:
            continue
        prof = omega[cx:, cy - 1 : cy + 1, k].mean(axis=1)
        short = max(short, 2.0 * _crossing(prof, x[cx:]))
    return long, short


def session_zone(
    antenna: str,
    power: float,
    duration: float,
    *,
    spacing_mm: float = 1.0,
    size_mm: tuple[int, int] = (64, 96),
    tip_mm: float = -30.0,
    in_vivo: bool = False,
    **pattern: float,
) -> dict:
    """One ``antenna`` session at ``power`` W for ``duration`` s in a block of liver
    (``size_mm``: its width and length along the antenna); the coagulation zone's volume (mL),
    sub-voxel long and short axes (mm) and their ratio, and the same of the ablation zone
    (Ω ≥ 1) under ``ablation_*`` keys. Ex vivo: :data:`EX_VIVO_C` inside and on the faces, no
    perfusion; in vivo: body temperature and the preset's perfusion."""
    xy, z = size_mm
    text = SCENARIO.format(h=spacing_mm, xy=xy, z=z)
    if in_vivo:
        text = text.replace("tissue: {preset: liver, parameters: {perfusion_rate: 0 1/s}}", "")
    grid, tissue, anatomy = build_tissue(loads_scenario(text))
    opts = (
        ThermalOptions()
        if in_vivo
        else ThermalOptions(initial_temperature=EX_VIVO_C, boundary_temperature=EX_VIVO_C)
    )
    ctx = SessionContext(grid, anatomy, tissue, TissueState.initial(anatomy), opts)
    app = MicrowaveApplicator(
        tip=(0.0, 0.0, tip_mm * 1e-3),
        direction=(0.0, 0.0, -1.0),
        pattern=antenna_pattern(antenna, **pattern),
        power=power,
    )
    run, _ = run_thermal_session(ctx, MicrowaveSessionSource(ctx, [app], 2.45e9), duration, "auto")
    zones = {
        "": measure_zone(coagulation_level(session_fields(run), tissue.body), grid),
        "ablation_": measure_zone(run.dose.omega, grid),
    }
    out: dict[str, float] = {}
    for prefix, zone in zones.items():
        long, short = zone["long_axis_mm"], zone["short_axis_mm"]
        out |= {
            f"{prefix}volume_ml": zone["volume_ml"],
            f"{prefix}long_mm": long,
            f"{prefix}short_mm": short,
            f"{prefix}ratio": short / long if long > 0.0 else 0.0,
        }
    return out


def measure_zone(omega: np.ndarray, grid: Grid) -> dict[str, float]:
    """Volume (mL, voxels with Ω ≥ 1) and sub-voxel long and short axes (mm) of the zone of an
    applicator along z through the grid's centre."""
    long, short = sub_voxel_axes(omega, grid.axes_mm())
    volume = zone_axes(omega >= ZONE_OMEGA, grid.spacing * 1e3, grid.axes_mm(), (0, 0, 1)).volume_ml
    return {"volume_ml": volume, "long_axis_mm": long, "short_axis_mm": short}


def aspect_ratio(
    antenna: str,
    power: float,
    spacing_mm: float = 1.0,
    in_vivo: bool = False,
    duration: float | None = None,
    **pattern: float,
) -> dict:
    """Simulate one ablation of the source (ex vivo, 2 min unless ``duration`` (s) says
    otherwise; in vivo, 5 min); zone volume, axes, short/long (:func:`session_zone`)."""
    if in_vivo:  # perfused liver at body temperature (the preset), 5 min, on a larger grid
        return session_zone(
            antenna, power, duration or 300.0, spacing_mm=spacing_mm, size_mm=(96, 144),
            tip_mm=-45.0, in_vivo=True, **pattern,
        )  # fmt: skip
    return session_zone(antenna, power, duration or 120.0, spacing_mm=spacing_mm, **pattern)
