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

import math
from functools import cache
from typing import Any

import numpy as np

from ..course.controller import simulate
from ..io.result import Result
from ..scenario.io import loads_scenario

__all__ = [
    "ANNULUS",
    "DIAMETER_FLOWS_ML_MIN",
    "FLOW_SERIES_ML_MIN",
    "MEASURED_RISE_LEFT",
    "MW_POWER_W",
    "RF_POWER_W",
    "diameter_sink",
    "flow_saturation",
    "lehmann_session",
    "rf_session",
    "vessel_contrast",
    "vessel_wall_annulus",
]

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
outputs: {{treatability: false}}
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


# --- vessel diameter (Lu et al., AJR 2002;178:47, doi:10.2214/ajr.178.1.1780047) ---------------
# In vivo pig liver, RF: viable tissue next to the vessel wall inside the zone (histology) in 0 of
# 96 vessels under 2 mm and 7 of 7 over 5 mm. The model: the RF session of the contrast case above
# in perfused liver, with a 1 mm or a 5 mm vessel parallel to the electrode 10 mm from its axis
# (10.5 mm, inside the 3 cm zone), blood flowing at the flows below.
DIAMETER_FLOWS_ML_MIN = {1.0: 0.94, 5.0: 118.0}
"""Flow (mL/min) by vessel diameter (mm). An assumption: a mean velocity of 10 cm/s in a 5 mm
portal branch (Doppler velocities of 10-20 cm/s in the main portal vein are usually quoted;
unverified) and flow scaling with the cube of the diameter down the tree (Murray, PNAS
1926;12:207, doi:10.1073/pnas.12.3.207), i.e. 2 cm/s in a 1 mm vessel."""

# --- flow rate (Lehmann et al., J Hepatobiliary Pancreat Sci 2016;23:508, doi:10.1002/jhbp.370) -
# Ex vivo porcine liver at 37 degC, a glass tube of 3.4 mm inner diameter perfused at 0-1500
# mL/min next to a bipolar RF ablation (30 W, 15 kJ): cooling was significant already at 1
# mL/min, maximal at 10 mL/min and unchanged up to 1500 mL/min. The model: the cooled 2 cm tip
# at 30 W until the generator has delivered 15 kJ, as the experiment (at most 20 min; until
# 2026-12-06 for 500 s, which roll-offs cut to 11.0-11.2 kJ, differing between the runs compared),
# unperfused liver at 37 degC, a 3.4 mm vessel 10.5 mm from the axis (the distance was not found:
# an assumption), blood properties for the perfusate.
FLOW_SERIES_ML_MIN = (1.0, 10.0, 1500.0)
LEHMANN_POWER_W = 30.0
LEHMANN_ENERGY_KJ = 15.0
LEHMANN_MAX_S = 1200.0


def _vessel_line(name: str, diameter_mm: float, flow: float | None, tube: bool = False) -> str:
    """A vessel parallel to z through (10.5 mm, 0.5 mm): on a line of voxel centres of a 1 mm
    grid, so that a 1 mm vessel takes one column of voxels; ``tube``: a glass tube, which heat
    cannot close."""
    flow_key = "" if flow is None else f", flow: {flow} mL/min"
    flow_key += ", occludes: false" if tube else ""
    return (
        f"    - {{name: {name}, start: [10.5 mm, 0.5 mm, -32 mm], end: [10.5 mm, 0.5 mm, 32 mm], "
        f"radius: {diameter_mm / 2} mm{flow_key}}}"
    )


@cache
def rf_session(
    diameter_mm: float | None,
    flow: float | None,
    perfused: bool,
    power_w: float,
    duration_s: float,
    spacing_mm: float = 1.0,
    tube: bool = False,
    energy_kj: float | None = None,
) -> Result:
    """The RF session of this module (cooled 2 cm tip) with one vessel 10.5 mm from its axis, or
    none (``diameter_mm`` None), a glass tube with ``tube``; the generator stops at ``energy_kj``
    (kJ) if given; cached, so that cases share their reference run."""
    anatomy = (
        "\n  vessels:\n" + _vessel_line("v", diameter_mm, flow, tube)
        if diameter_mm is not None
        else " {}"
    )
    energy = "" if energy_kj is None else f"\n        energy: {energy_kj} kJ"
    tissue = (
        "liver"
        if perfused
        else "{preset: liver, parameters: {perfusion_rate: 0 1/s}}\n"
        "thermal: {initial_temperature: 37 degC}"
    )
    text = f"""
name: heat-sink-rf
grid: {{size: [64 mm, 64 mm, 64 mm], spacing: {spacing_mm} mm}}
tissue: {tissue}
anatomy:{anatomy}
strategies:
  s:
    sessions:
      - modality: radiofrequency
        electrodes: [{{tip: [0 mm, 0 mm, -10 mm], direction: [0, 0, -1], active_length: 20 mm}}]
        power: {power_w} W{energy}
        duration: {duration_s} s
        cooldown: 1 min
outputs: {{treatability: false}}
"""
    return simulate(loads_scenario(text))


def _omega(result: Result) -> np.ndarray:
    return np.asarray(result.fields["thermal_dose"].sel(session=1).values)


def diameter_sink(
    diameter_mm: float, flow_ml_min: float, spacing_mm: float = 1.0
) -> dict[str, float]:
    """Perivascular survival next to a vessel of ``diameter_mm`` with ``flow_ml_min``: the
    fraction of the tissue voxels sharing a face with the vessel, inside the zone the session
    makes without it, that the session leaves alive (Ω < 1); the zone volume against the zone
    without the vessel; the vessel's peak wall temperature (°C) and whether heat closed it."""
    ref = rf_session(None, None, True, RF_POWER_W, 480.0, spacing_mm)
    run = rf_session(diameter_mm, flow_ml_min, True, RF_POWER_W, 480.0, spacing_mm)
    vessel = np.asarray(run.fields["vessel"].values, bool)
    border = np.zeros_like(vessel)
    for axis in range(3):
        for shift in (-1, 1):
            border |= np.roll(vessel, shift, axis=axis)
    border &= ~vessel
    inside = border & (_omega(ref) >= 1.0)
    alive = inside & (_omega(run) < 1.0)
    v_ref = ref.summary["sessions"][0]["ablation_zone"]["volume_ml"]
    v_run = run.summary["sessions"][0]["ablation_zone"]["volume_ml"]
    vessel_record = run.summary["sessions"][0]["vessels"][0]
    return {
        "perivascular_survival": float(alive.sum()) / max(int(inside.sum()), 1),
        "border_voxels_in_zone": float(inside.sum()),
        "zone_ratio": v_run / v_ref,
        "peak_wall_temperature_c": vessel_record["peak_wall_temperature_c"],
        "occluded": float(vessel_record["occluded_at_s"] is not None),
    }


def lehmann_session(flow_ml_min: float | None) -> Result:
    """The session of the Lehmann experiment next to the 3.4 mm glass tube perfused at
    ``flow_ml_min``, or without it (None): 30 W until 15 kJ have been delivered."""
    return rf_session(
        None if flow_ml_min is None else 3.4,
        flow_ml_min,
        False,
        LEHMANN_POWER_W,
        LEHMANN_MAX_S,
        tube=flow_ml_min is not None,
        energy_kj=LEHMANN_ENERGY_KJ,
    )


def flow_saturation(flows: tuple[float, ...] = FLOW_SERIES_ML_MIN) -> dict[float, float]:
    """Zone volume reduction (1 - V / V without the vessel) by flow (mL/min), of the module's
    flow series by default."""
    ref = lehmann_session(None)
    v_ref = ref.summary["sessions"][0]["ablation_zone"]["volume_ml"]
    out = {}
    for flow in flows:
        run = lehmann_session(flow)
        out[flow] = 1.0 - run.summary["sessions"][0]["ablation_zone"]["volume_ml"] / v_ref
    return out


# --- exact: steady conduction into a convective vessel wall ---------------------------------------
ANNULUS = {"vessel_radius": 2.5e-3, "outer_radius": 8e-3, "wall": 1000.0, "k": 0.5, "rc": 4.0e6}
"""The annulus case (SI): tissue between a vessel (wall coefficient ``wall`` W/m²/K, blood at
37 °C) and a cylinder held at 60 °C."""


def vessel_wall_annulus(spacing: float) -> tuple[float, float]:
    """Heat a vessel's wall takes up per unit length (W/m) from tissue held at 60 °C on a
    cylinder around it, simulated on a grid of ``spacing`` (m) to the steady state, and the exact
    ``2 π ΔT / (ln(b/a)/k + 1/(a h_c))``. The vessel is a convective wall of
    :mod:`tissuefate.physics.vessels` (its faces scaled to the cylinder's area, blood at 37 °C);
    the outer cylinder and the vessel are staircases, so the error is first order in ``h``."""
    from ..grid import Grid
    from ..grid.shapes import Cylinder
    from ..physics.thermal import ThermalSolver
    from ..physics.vessels import Blood, flowing_vessel

    a, b, hc = ANNULUS["vessel_radius"], ANNULUS["outer_radius"], ANNULUS["wall"]
    k, rc = ANNULUS["k"], ANNULUS["rc"]
    n = round(2 * (b + 2 * spacing) / spacing)
    grid = Grid(shape=(n, n, 2), spacing=spacing, origin=(-n * spacing / 2, -n * spacing / 2, 0.0))
    c = grid.centres()
    r = np.hypot(c[..., 0], c[..., 1])
    vessel = r < a
    solver = ThermalSolver(
        grid,
        np.full(grid.shape, k),
        np.full(grid.shape, rc),
        np.zeros(grid.shape),
        reference_temperature=37.0,
        initial_temperature=37.0,
        arterial_temperature=37.0,
        boundary="insulated",
        fixed=vessel,
        fixed_temperature=37.0,
        dtype=np.float64,
    )
    blood = Blood(1050.0, 3617.0, 0.52, 3.5e-3)  # only the flow's Nusselt number uses it
    v = flowing_vessel(grid, "v", Cylinder((0.0, 0.0, -1.0), (0.0, 0.0, 1.0), a), vessel, 1.0,
                       blood, 37.0)  # fmt: skip
    solver.hold_convective(v.index, v.area_ratio * hc)
    solver.hold(r >= b, 60.0)
    dt = 0.9 * solver.max_stable_dt()
    solver.step(dt, int(4 * b**2 * rc / k / dt))
    simulated = float(solver.wall_inflow(v.index).sum()) / (grid.shape[2] * spacing)
    exact = 2 * math.pi * 23.0 / (math.log(b / a) / k + 1 / (a * hc))
    return simulated, exact
