"""Cryoablation session: probes held at their gas temperature through a freeze–thaw protocol.

While freezing, the voxels of each probe's active length are held at its cryogen's gas temperature
(argon −185.8 °C, liquid nitrogen −195.8 °C; ``cryoprobes.yaml``) behind the probe's surface heat
transfer; an active thaw holds them at the thaw temperature (helium); a passive thaw releases them,
so the tissue rewarms by conduction and perfusion alone. Tissue freezes with latent heat over −1…−8
°C, conducts heat four times better frozen and better still as it gets colder (as ice does), and is
not perfused while colder than the tissue's ``cryo_stasis_temperature``, nor again this session once
frozen below its ``cryo_vessel_injury_temperature`` or chilled to its ``cryo_stasis_exposure`` (the
time integral of how far it lay below the blood's temperature). Cell kill follows the lowest
temperature of each freeze (``damage/cold.py``), compounded over cycles, and is applied at the end
of the session: killed cells become ``debris`` and the extracellular matrix (``ecm``) survives the
freeze.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import cache
from importlib import resources
from typing import Any

import numpy as np
import yaml

from ..damage.cold import ColdDose, apply_cold_kill
from ..damage.zone import zone_axes
from ..grid.needles import needle_segment
from ..physics.subgrid import ResolvedNeedle, contact_radius, resolve_needle
from ..physics.thermal import ThermalSolver
from ..scenario.models import CryoProbe, CryoSession
from .base import SessionContext, SessionResult
from .thermal import (
    MAX_AUTO_COOLDOWN,
    ThermalSessionRun,
    energy_summary,
    session_fields,
    timeseries_frame,
    vessel_summary,
)

__all__ = [
    "CryoSource",
    "Cryogen",
    "HeldProbe",
    "cryogen",
    "draw_probe",
    "probe_heat_transfer",
    "probe_mask",
    "run_cryo_session",
]


@cache
def _probe_file() -> dict[str, Any]:
    text = (resources.files("tissuefate.modalities") / "cryoprobes.yaml").read_text("utf-8")
    return yaml.safe_load(text)


def _provenance(entry: dict[str, Any]) -> str:
    kind = next(k for k in ("source", "assumption", "fitted") if k in entry)
    return f"{kind}: {' '.join(str(entry[kind]).split())}"


@dataclass(frozen=True)
class Cryogen:
    """A probe's coolant: the temperature it holds the inside of the probe at while freezing (°C)
    and the heat-transfer coefficient (W/m²/K) of the probe wall and the coolant's boundary layer
    between it and the tissue, each with its provenance."""

    name: str
    gas_temperature_c: float
    gas_temperature_provenance: str
    heat_transfer: float
    heat_transfer_provenance: str


@cache
def cryogen(name: str = "argon") -> Cryogen:
    """The cryogen model ``name`` of ``modalities/cryoprobes.yaml``."""
    from ..scenario.quantities import parse_quantity

    entry = _probe_file()[name]
    gas = entry["gas_temperature"]
    temperature = parse_quantity(gas["value"], "[temperature]", what="gas_temperature")
    h = entry["heat_transfer_coefficient"]
    coefficient = parse_quantity(
        h["value"], "[power]/[length]**2/[temperature]", what="heat_transfer_coefficient"
    )
    return Cryogen(
        name,
        float(temperature.to("degC").magnitude),
        _provenance(gas),
        float(coefficient.to("W/m^2/K").magnitude),
        _provenance(h),
    )


def probe_heat_transfer(gas: str = "argon") -> tuple[float, str]:
    """Surface heat-transfer coefficient (W/m²/K) of a cryogen's probe and its provenance."""
    c = cryogen(gas)
    return c.heat_transfer, c.heat_transfer_provenance


def draw_probe(
    ctx: SessionContext, probe: CryoProbe, heat_transfer: float, k_frozen: float
) -> ResolvedNeedle:
    """The voxels of a probe's freezing length and the surface scale of their faces.

    The probe's wall and the coolant's boundary layer (``heat_transfer``, W/m²/K) in series with
    frozen tissue of ``k_frozen`` (W/m/K) take up the heat of a cylinder of a smaller radius held
    at the coolant's temperature (``physics/subgrid.py: contact_radius``); the probe's voxels,
    held at their centres, are given the surface scale that makes them act as that cylinder,
    whatever voxels draw it (a 1.7 mm and a 2.4 mm probe are the same 2 × 2 voxels of a 1 mm
    grid). A probe not along a grid axis takes the scale of the same probe drawn along z (its
    staircase acts somewhat wider). Large-vessel voxels are not probe.
    """
    radius = 0.5 * probe.diameter_m
    segment = needle_segment(probe.tip_m, probe.direction, probe.active_length_m, radius)
    acting = contact_radius(radius, heat_transfer, k_frozen)
    needle = resolve_needle(ctx.grid, segment, cooled=True, acting_radius=acting, electric=False)
    if not needle.corrected:  # oblique: the scale of the same probe along z at the grid's centre
        centre = tuple(float(c) for c in 0.5 * (ctx.grid.lower + ctx.grid.upper))
        axial = needle_segment(centre, (0.0, 0.0, 1.0), probe.active_length_m, radius)
        proxy = resolve_needle(ctx.grid, axial, cooled=True, acting_radius=acting, electric=False)
        needle = replace(needle, thermal=proxy.thermal, thermal_radius=proxy.thermal_radius)
    return replace(needle, mask=needle.mask & ~ctx.anatomy.vessel)


def probe_mask(ctx: SessionContext, session: CryoSession) -> np.ndarray:
    """Voxels of the freezing length of every probe."""
    k_frozen = ctx.tissue.base.thermal_conductivity * ctx.tissue.body.frozen_conductivity_ratio
    return np.logical_or.reduce(
        [
            draw_probe(ctx, p, cryogen(p.cryogen).heat_transfer, k_frozen).mask
            for p in session.probes
        ]
    )


@dataclass(frozen=True)
class HeldProbe:
    """One probe as the solver holds it: its voxels, coolant temperature (°C), the conductivity
    (W/m/K) its voxels get for their faces to tissue and the surface scale of those faces
    (``ThermalSolver.hold``), and how it was drawn."""

    mask: np.ndarray
    gas_temperature: float
    contact: float
    scale: float
    needle: ResolvedNeedle


class CryoSource:
    """Holds or releases the probe voxels as the protocol asks and tracks the cold dose.

    ``mode`` is set by the session loop before each phase: ``"freeze"`` (each probe held at its
    coolant's temperature), ``"active"`` (active thaw: held at the thaw temperature) or
    ``"passive"`` (released).
    """

    static = False

    def __init__(
        self,
        ctx: SessionContext,
        probes: list[HeldProbe],
        thaw_temperature: float,
        cold: ColdDose,
    ) -> None:
        self.ctx = ctx
        self.probes = probes
        self.mask = np.logical_or.reduce([p.mask for p in probes])
        self.thaw_temperature = thaw_temperature
        self.cold = cold
        self.mode = "freeze"
        self._applied: str | None = None

    def update(self, solver: ThermalSolver, t: float, on: bool) -> dict[str, float]:
        """Apply the protocol's probe state, refresh frozen coefficients, sample the cold dose."""
        del t, on
        if self.mode != self._applied:
            for p in self.probes:
                if self.mode == "freeze":
                    solver.hold(p.mask, p.gas_temperature, p.contact, p.scale)
                elif self.mode == "active":
                    solver.hold(p.mask, self.thaw_temperature, p.contact, p.scale)
            if self.mode == "passive":
                solver.release(self.mask)
            self._applied = self.mode
        solver.update_coefficients()
        self.cold.sample(solver.theta)
        return {}

    def columns(self, solver: ThermalSolver) -> dict[str, float]:
        """Extra time-series columns at a record: frozen, iceball and lethal volumes (mL)."""
        ml = self.ctx.grid.voxel_volume * 1e6
        theta = solver.theta
        body = self.ctx.tissue.body
        return {
            "frozen_ml": solver.frozen_voxels * ml,
            "iceball_ml": float(np.count_nonzero(theta <= 0.0 - solver.t_ref)) * ml,
            "lethal_ml": float(
                np.count_nonzero(theta <= body.cryo_lethal_temperature - solver.t_ref)
            )
            * ml,
        }


def _isotherm(
    ctx: SessionContext, lowest: np.ndarray, temperature: float, axis: np.ndarray
) -> dict[str, float]:
    grid = ctx.grid
    a = zone_axes(lowest <= temperature, grid.spacing * 1e3, grid.axes_mm(), axis)
    return {
        "temperature_c": temperature,
        "volume_ml": a.volume_ml,
        "long_axis_mm": a.long_axis_mm,
        "short_axis_mm": a.short_axis_mm,
    }


def run_cryo_session(
    ctx: SessionContext, session: CryoSession, label: str = "session"
) -> SessionResult:
    """Run a cryoablation session (its protocol, then a passive cool-down) on ``ctx``."""
    body = ctx.tissue.body
    cryogens = {p.cryogen: cryogen(p.cryogen) for p in session.probes}
    override = session.gas_temperature_c

    def gas_of(name: str) -> float:
        return cryogens[name].gas_temperature_c if override is None else override

    gas = min(gas_of(name) for name in cryogens)
    run = ThermalSessionRun(ctx, label, freezing=True, coldest=gas)
    solver = run.solver
    cold = ColdDose(
        solver.t_ref, solver.theta, body.cryo_lethal_temperature, body.cryo_partial_temperature
    )
    k_frozen = ctx.tissue.base.thermal_conductivity * body.frozen_conductivity_ratio
    k_least = min(m.thermal_conductivity for m in ctx.tissue.materials) * max(
        body.frozen_conductivity_ratio, 1.0
    )
    held = []
    contact = min(k_frozen, k_least)  # the stable time step: no held voxel conducts better
    for probe in session.probes:
        needle = draw_probe(ctx, probe, cryogens[probe.cryogen].heat_transfer, k_frozen)
        # the scale was found for faces of k_frozen; the held voxels' conductivity is capped
        scale = min(needle.thermal * (k_frozen / contact) ** 0.5, 1.0)
        held.append(HeldProbe(needle.mask, gas_of(probe.cryogen), contact, scale, needle))
    source = CryoSource(ctx, held, session.thaw_temperature_c, cold)
    phases = session.phases
    auto = session.cooldown_s is None
    off = MAX_AUTO_COOLDOWN if auto else session.cooldown_s
    total = sum(p[1] for p in phases) + off
    partial_offset = body.cryo_partial_temperature - solver.t_ref
    last_count = [-1]

    def cold_settled(_: ThermalSessionRun) -> bool:
        """The cool-down may stop once no further voxel has reached the partial-kill zone."""
        count = int(np.count_nonzero(cold.cycle_min <= partial_offset))
        settled = count == last_count[0]
        last_count[0] = count
        return settled

    run._record(0.0, "freeze", source.update(solver, 0.0, True) | source.columns(solver))
    t = 0.0
    freezes = 0
    for kind, duration, mode in phases:
        if kind == "freeze":
            if freezes:
                cold.end_cycle(solver.theta)
            freezes += 1
            source.mode = "freeze"
        else:
            source.mode = mode
        name = "freeze" if kind == "freeze" else f"{mode} thaw"
        t = run.run_phase(source, duration, kind == "freeze", t, total, phase_name=name)
    if off > 0:
        source.mode = "passive"
        t = run.run_phase(
            source,
            off,
            False,
            t,
            total,
            auto_stop=cold_settled if auto else False,
            phase_name="cool-down",
        )
    cold.end_cycle(solver.theta)
    run.finish()  # any heat kill (an active thaw) sorted by mechanism; no heat, no change
    killed_tumor, killed_normal = apply_cold_kill(ctx.state, cold.survival)

    fields = session_fields(run)
    lowest = cold.lowest_temperature()
    fields["min_temperature"] = np.minimum(fields["min_temperature"], lowest)
    heat_survival = np.exp(-run.dose.omega)
    fields["kill_fraction"] = (1.0 - heat_survival * cold.survival).astype(np.float32)
    fields["damage"] = (run.dose.omega + cold.omega()).astype(np.float32)

    first = session.probes[0]
    axis = np.asarray(first.direction, float)
    centre = np.asarray(first.tip_m) - axis * 0.5 * first.active_length_m
    ml = ctx.grid.voxel_volume * 1e6
    iceball = _isotherm(ctx, lowest, 0.0, axis)
    lethal = _isotherm(ctx, lowest, body.cryo_lethal_temperature, axis)
    first_gas = cryogens[first.cryogen]
    delivered: dict[str, Any] = {
        "gas_temperature_c": gas,
        "thaw_temperature_c": session.thaw_temperature_c,
        "protocol": [
            {"phase": kind, "duration_s": d, **({"mode": m} if kind == "thaw" else {})}
            for kind, d, m in phases
        ],
        "freeze_time_s": session.freeze_time_s,
        "probes": [
            {
                "tip_mm": [c * 1e3 for c in p.tip_m],
                "direction": list(p.direction),
                "diameter_mm": p.diameter_m * 1e3,
                "active_length_mm": p.active_length_m * 1e3,
                "cryogen": p.cryogen,
                "gas_temperature_c": h.gas_temperature,
                "voxels": int(h.mask.sum()),
                "contact_conductivity_w_mk": h.contact,
                "surface_scale": h.scale,
                "acting_radius_mm": h.needle.thermal_radius * 1e3,
                "true_radius": h.needle.corrected,
            }
            for p, h in zip(session.probes, held, strict=True)
        ],
        "cryogens": {
            c.name: {
                "gas_temperature_c": c.gas_temperature_c,
                "gas_temperature": c.gas_temperature_provenance,
                "heat_transfer_w_m2k": c.heat_transfer,
                "heat_transfer": c.heat_transfer_provenance,
            }
            for c in cryogens.values()
        },
        "probe_voxels": int(source.mask.sum()),
        "probe_heat_transfer_w_m2k": first_gas.heat_transfer,
        "probe_heat_transfer": first_gas.heat_transfer_provenance,
        "probe_contact_conductivity_w_mk": held[0].contact,
    }
    solver_info = run.solver_info(t, run.dt_used)
    return SessionResult(
        modality="cryo",
        delivered=delivered,
        fields=fields,
        timeseries=timeseries_frame(run),
        solver=solver_info,
        energy=energy_summary(run),
        focus=(centre, axis),
        extra={
            "cryo": {
                "cycles": cold.cycles,
                "iceball": iceball,
                "lethal_isotherm": lethal,
                "isotherm_gap_mm": 0.5 * (iceball["short_axis_mm"] - lethal["short_axis_mm"]),
                "lethal_temperature_c": body.cryo_lethal_temperature,
                "partial_temperature_c": body.cryo_partial_temperature,
                "killed_tumor_ml": killed_tumor * ml,
                "killed_normal_ml": killed_normal * ml,
            },
            **vessel_summary(run),
        },
    )
