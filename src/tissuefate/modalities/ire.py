"""Irreversible electroporation session: trains of short high-voltage pulses between pairs of
needle electrodes.

Each pair of the protocol delivers its train in turn (anode at the pair's voltage, cathode at 0,
``pulses`` pulses of ``pulse_width`` at ``pulse_rate``). At the start of its train the pair's
field is solved with a conductivity that rises with the field and with the temperature the
tissue has then (``physics/electroporation.py``); cells die by the statistical survival in field
and pulse number of the pair that treats them hardest (``damage/electroporation.py``) and become
``debris`` with their matrix intact. The Joule heat of the pulses, ``σ |E|²`` during each pulse,
enters the heat solver averaged over the pulse period (``σ |E|² τ f``: a pulse of 100 µs heats
by a fraction of a kelvin, and heat spreads some 0.4 mm in the second between pulses); during
the train it follows the local temperature through σ's temperature coefficient at the field
solved at the train's start. The thermal dose of that heat kills on top (Arrhenius), so the
summary can say how much of the zone is thermal.

Tissue properties are the ``ire_*`` parameters of each material (``tissue/presets``); blood in
large vessels conducts at the body's ``blood_electrical_conductivity`` and does not electroporate.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable, Iterable
from functools import partial
from typing import TYPE_CHECKING, Any

import numpy as np

from ..damage.electroporation import (
    apply_electroporation_kill,
    electroporation_omega,
    peleg_fermi_survival,
)
from ..damage.zone import ZONE_OMEGA, zone_axes
from ..errors import ScenarioError
from ..grid.grid import Grid
from ..grid.needles import Segment, segment_mask
from ..physics.electroporation import ConductivityCurve, PairSolution, solve_pair
from ..physics.subgrid import ResolvedNeedle, resolve_needle
from ..physics.thermal import ThermalSolver
from ..tissue.coefficients import per_material
from ..tissue.presets import check_electroporation
from .base import SessionContext, SessionResult
from .thermal import (
    MAX_AUTO_COOLDOWN,
    ThermalSessionRun,
    energy_summary,
    session_fields,
    timeseries_frame,
    vessel_summary,
)

if TYPE_CHECKING:
    from ..scenario.devices import IreElectrode
    from ..scenario.sessions import IreSession

__all__ = [
    "COVERAGE_THRESHOLDS_V_CM",
    "IreTissue",
    "PulseTrains",
    "coverage_curve",
    "draw_ire_electrodes",
    "electrodes_apart",
    "run_ire_session",
]

FACTOR_FLOOR = 0.1
"""Lowest temperature factor of σ (tissue far below body temperature; IRE does not cool)."""
COVERAGE_THRESHOLDS_V_CM = tuple(range(200, 1525, 25))
"""Field thresholds (V/cm) of the coverage curve: the share of the tumour above each."""


class IreTissue:
    """The ``ire_*`` parameters of every voxel (SI), from its material; large vessels conduct as
    blood and neither electroporate nor die."""

    def __init__(self, ctx: SessionContext, shape: str) -> None:
        tissue, anatomy = ctx.tissue, ctx.anatomy
        check_electroporation(tissue)

        per_voxel = partial(per_material, tissue, anatomy)
        blood = tissue.body.blood_electrical_conductivity
        vessel = anatomy.vessel
        low = np.where(vessel, blood, per_voxel("ire_conductivity_intact"))
        high = np.where(vessel, blood, per_voxel("ire_conductivity_electroporated"))
        self.curve = ConductivityCurve(
            low,
            high,
            per_voxel("ire_field_reversible"),
            per_voxel("ire_field_irreversible"),
            shape,  # type: ignore[arg-type]
        )
        self.coefficient = np.where(vessel, 0.0, per_voxel("ire_conductivity_coefficient"))
        self.lethal = tuple(
            per_voxel(k)
            for k in (
                "ire_lethal_field",
                "ire_lethal_width",
                "ire_lethal_field_decay",
                "ire_lethal_width_decay",
            )
        )
        self.microvessel_kill = per_voxel("ire_microvessel_kill")
        self.vessel = vessel
        self.body_temperature = tissue.body.body_temperature

    def temperature_factor(
        self, reference: float
    ) -> Callable[[np.ndarray, np.ndarray | None], np.ndarray]:
        """``f(θ, out)``: ``1 + α (T − T_body)`` per voxel (float32, floored at
        :data:`FACTOR_FLOOR`) of the offsets ``θ = T − reference`` (K) a heat solver holds,
        into ``out`` where given."""
        alpha = self.coefficient.astype(np.float32)
        offset = (1.0 + self.coefficient * (reference - self.body_temperature)).astype(np.float32)

        def factor(theta: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
            out = np.multiply(alpha, theta, out=out)
            out += offset
            return np.maximum(out, FACTOR_FLOOR, out=out)

        return factor

    def survival(self, field: np.ndarray, pulses: int) -> np.ndarray:
        """Peleg–Fermi survival after ``pulses`` at ``field`` (V/m); 1 in large vessels."""
        s = peleg_fermi_survival(field, pulses, *self.lethal)
        return np.where(self.vessel, 1.0, s)


def draw_ire_electrodes(ctx: SessionContext, session: IreSession) -> list[ResolvedNeedle]:
    """Each electrode's exposed part on the grid, acting at its true radius where it lies along a
    grid axis (``physics/subgrid.py``); voxels of large vessels are not electrode."""
    drawn = []
    for index, e in enumerate(session.electrodes):
        needle = resolve_needle(ctx.grid, _segment(e), cooled=False)
        mask = needle.mask & ~ctx.anatomy.vessel
        if not mask.any():
            raise ScenarioError(
                "the electrode's exposed part lies outside the grid or inside a vessel",
                key=f"session.electrodes.{index}",
            )
        drawn.append(dataclasses.replace(needle, mask=mask))
    if not _disjoint(d.mask for d in drawn):
        raise ScenarioError(
            "two electrodes share voxels at this grid spacing: place them further apart "
            "or use a finer grid",
            key="session.electrodes",
        )
    return drawn


def _segment(e: IreElectrode) -> Segment:
    start, end = e.segment_m
    return Segment(start, end, 0.5 * e.diameter_m)


def _disjoint(masks: Iterable[np.ndarray]) -> bool:
    """Whether no voxel lies in two of ``masks``."""
    taken: np.ndarray | None = None
    for mask in masks:
        if taken is None:
            taken = mask.copy()
        elif np.any(taken & mask):
            return False
        else:
            taken |= mask
    return True


def electrodes_apart(grid: Grid, session: IreSession) -> bool:
    """Whether the electrodes of ``session`` are drawn on ``grid`` without sharing a voxel (what
    :func:`draw_ire_electrodes` requires)."""
    return _disjoint(segment_mask(grid, _segment(e)) for e in session.electrodes)


class PulseTrains:
    """The thermal session's source: one pulse train per pair, in order.

    :meth:`start_pair` solves the pair's field (at the temperature of the tissue then) and folds
    its survival and field into the session's; :meth:`update` sets the pulse-averaged Joule heat
    at the current temperature. Times in s, fields in V/m, heat in W/m³.
    """

    static = False

    def __init__(
        self,
        ctx: SessionContext,
        session: IreSession,
        tissue: IreTissue,
        electrodes: list[ResolvedNeedle],
        reference: float,
    ) -> None:
        """``reference``: the heat solver's reference temperature (°C) its offsets θ are from."""
        self.ctx = ctx
        self.session = session
        self.tissue = tissue
        self.electrodes = electrodes
        shape = ctx.grid.shape
        self.surface = np.ones(shape)
        for e in electrodes:
            self.surface[e.mask] = e.electric
        self.duty = session.pulse_width_s * session.pulse_rate_hz
        self.survival = np.ones(shape)
        self.max_field = np.zeros(shape)
        self.records: list[dict[str, Any]] = []
        self.solve_wall = 0.0
        self._pair: tuple[int, int, float, int, float] | None = None
        self._heat: np.ndarray | None = None  # W/m³ during a pulse per unit temperature factor
        self._factor = tissue.temperature_factor(reference)
        self._buffer = np.empty(shape, np.float32)
        self._on = False

    def start_pair(self, solver: ThermalSolver, pair: tuple[int, int, float, int, float]) -> None:
        """Solve the field of ``pair`` ``(anode, cathode, volts, pulses, distance m)``."""
        tick = time.perf_counter()
        anode, cathode, volts, pulses, distance = pair
        factor = self._factor(solver.theta)
        others = np.zeros(self.ctx.grid.shape, bool)
        for k, e in enumerate(self.electrodes):
            if k not in (anode, cathode):
                others |= e.mask
        sol: PairSolution = solve_pair(
            self.tissue.curve,
            self.electrodes[anode].mask,
            self.electrodes[cathode].mask,
            volts,
            self.ctx.grid.spacing,
            temperature_factor=factor,
            metal=others,
            surface=self.surface,
            impl=self.ctx.impl,  # type: ignore[arg-type]
        )
        np.maximum(self.max_field, sol.field, out=self.max_field)
        np.minimum(self.survival, self.tissue.survival(sol.field, pulses), out=self.survival)
        self._pair, self._heat = pair, (sol.power_density / factor).astype(np.float32)
        self.solve_wall += time.perf_counter() - tick
        self.records.append(
            {
                "anode": anode,
                "cathode": cathode,
                "voltage_v": volts,
                "distance_mm": distance * 1e3,
                "voltage_to_distance_v_cm": volts / distance * 1e-2 if distance > 0 else None,
                "pulses": pulses,
                "conductance_initial_s": sol.conductance_initial,
                "conductance_s": sol.conductance,
                "current_initial_a": sol.conductance_initial * volts,
                "current_a": sol.current,
                "pulse_energy_j": sol.conductance * volts**2 * self.session.pulse_width_s,
                "conductivity_updates": sol.iterations,
                "cg_iterations": sol.cg_iterations,
                "max_field_v_cm": float(sol.field.max()) * 1e-2,
            }
        )

    def update(self, solver: ThermalSolver, t: float, on: bool) -> dict[str, float]:
        """Set the pulse-averaged Joule heat at today's temperature; returns the pair and its
        current (A) as time-series columns."""
        del t
        if not on or self._heat is None or self._pair is None:
            if self._on:
                solver.set_source(None)
                self._on = False
            return {}
        # q = σ(E) f_T |E|², the field held: the heat at f_T = 1 times today's f_T (float32)
        buf = self._factor(solver.theta, self._buffer)
        buf *= self._heat
        volts = self._pair[2]
        current = float(buf.sum(dtype=np.float64)) * self.ctx.grid.voxel_volume / volts
        buf *= self.duty
        solver.set_source(buf)
        self._on = True
        return {"pair": float(len(self.records) - 1), "voltage_v": volts, "current_a": current}


def coverage_curve(max_field: np.ndarray, tumor: np.ndarray) -> dict[str, list[float]]:
    """Share of the tumour (weighted by its viable fraction) whose largest field over all pairs
    reaches each of :data:`COVERAGE_THRESHOLDS_V_CM`."""
    weight = np.asarray(tumor, np.float64)
    total = float(weight.sum())
    shares = []
    for threshold in COVERAGE_THRESHOLDS_V_CM:
        above = float(weight[max_field >= threshold * 100.0].sum())
        shares.append(above / total if total > 0 else math.nan)
    return {"thresholds_v_cm": [float(t) for t in COVERAGE_THRESHOLDS_V_CM], "tumor_share": shares}


def _zone(ctx: SessionContext, mask: np.ndarray, axis: np.ndarray | None) -> dict[str, float]:
    grid = ctx.grid
    a = zone_axes(mask, grid.spacing * 1e3, grid.axes_mm(), axis)
    return {
        "volume_ml": a.volume_ml,
        "long_axis_mm": a.long_axis_mm,
        "short_axis_mm": a.short_axis_mm,
    }


def run_ire_session(
    ctx: SessionContext, session: IreSession, label: str = "session"
) -> SessionResult:
    """Run an IRE session (every pair's pulse train in turn, then a cool-down) on ``ctx``."""
    tissue = IreTissue(ctx, session.conductivity_model)
    electrodes = draw_ire_electrodes(ctx, session)
    pairs = session.pair_list()
    tumor0 = ctx.state.tumor.copy()
    run = ThermalSessionRun(ctx, label)
    source = PulseTrains(ctx, session, tissue, electrodes, run.solver.t_ref)
    auto = session.cooldown_s is None
    off = MAX_AUTO_COOLDOWN if auto else float(session.cooldown_s)  # type: ignore[arg-type]
    trains = [p[3] / session.pulse_rate_hz for p in pairs]
    total = sum(trains) + off
    t = 0.0
    run._record(0.0, "on", {})
    for pair, train in zip(pairs, trains, strict=True):
        source.start_pair(run.solver, pair)
        t = run.run_phase(source, train, True, t, total, phase_name=f"pair {pair[0]}-{pair[1]}")
    dt_on = run.dt_used
    if off > 0:
        source.update(run.solver, t, False)
        t = run.run_phase(source, off, False, t, total, auto_stop=auto, phase_name="cool-down")
    run.finish()  # heat kill, sorted by how hot it got; the matrix denatured where it was hot
    killed_tumor, killed_normal = apply_electroporation_kill(
        ctx.state, source.survival, tissue.microvessel_kill
    )

    fields = session_fields(run)
    thermal = run.dose.omega
    electric = electroporation_omega(source.survival)
    fields["kill_fraction"] = (1.0 - np.exp(-thermal) * source.survival).astype(np.float32)
    fields["damage"] = (thermal + electric).astype(np.float32)
    fields["max_field"] = source.max_field.astype(np.float32)

    first, second = session.electrodes[0], session.electrodes[1]
    axis = np.asarray(first.direction, float)
    centre = 0.5 * (
        np.mean(first.segment_m, axis=0) + np.mean(second.segment_m, axis=0)
    )  # between the first two electrodes' exposed parts
    zone = fields["damage"] >= ZONE_OMEGA
    thermal_zone = thermal >= ZONE_OMEGA
    zone_voxels = int(zone.sum())
    ml = ctx.grid.voxel_volume * 1e6
    delivered: dict[str, Any] = {
        "electrodes": [
            {
                "tip_mm": [c * 1e3 for c in e.tip_m],
                "direction": list(e.direction),
                "diameter_mm": e.diameter_m * 1e3,
                "exposure_mm": e.exposure_m * 1e3,
                "voxels": int(d.mask.sum()),
                "surface_scale": d.electric,
                "true_radius": d.corrected,
            }
            for e, d in zip(session.electrodes, electrodes, strict=True)
        ],
        "pairs": source.records,
        "pulse_width_s": session.pulse_width_s,
        "pulse_rate_hz": session.pulse_rate_hz,
        "conductivity_model": session.conductivity_model,
        "duration_s": sum(trains),
        "electrical_energy_j": sum(r["pulse_energy_j"] * r["pulses"] for r in source.records),
        "energy_j": run.solver.ledger.delivered,
    }
    solver_info = run.solver_info(t, dt_on) | {"field_solve_s": source.solve_wall}
    return SessionResult(
        modality="ire",
        delivered=delivered,
        fields=fields,
        timeseries=timeseries_frame(run),
        solver=solver_info,
        energy=energy_summary(run),
        focus=(centre, axis),
        extra={
            "ire": {
                "lethal_zone": _zone(ctx, zone, axis),
                "electroporation_zone_ml": float(np.count_nonzero(electric >= ZONE_OMEGA)) * ml,
                "thermal_zone_ml": float(np.count_nonzero(thermal_zone)) * ml,
                "thermal_share": float(np.count_nonzero(thermal_zone & zone)) / zone_voxels
                if zone_voxels
                else 0.0,
                "killed_tumor_ml": killed_tumor * ml,
                "killed_normal_ml": killed_normal * ml,
                "max_field_v_cm": float(source.max_field.max()) * 1e-2,
                "coverage": coverage_curve(source.max_field, tumor0),
            },
            **vessel_summary(run),
        },
    )
