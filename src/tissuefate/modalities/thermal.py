"""The thermal session: heat on, then cool down, with dose and tissue state updated as it goes.

Shared by every modality that heats or cools (plain heat source, microwave; later radiofrequency
and cryo). A modality supplies a *source*: an object whose ``update(solver, t, on)`` sets the source
density for the next interval and returns extra time-series columns.

Cells killed during the session go to ``coagulated`` as they die (blood flow stops after them);
:meth:`ThermalSessionRun.finish` then sorts them by how hot they got (heat-fixed or ``debris``)
and denatures the matrix (``damage/thermal.py``).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from ..damage.thermal import (
    HeatInjury,
    ThermalDose,
    apply_thermal_kill,
    arrhenius_rate,
    settle_heat_injury,
)
from ..damage.zone import ZONE_OMEGA
from ..physics.thermal import Freezing, PhaseWindow, ThermalSolver
from ..physics.vessels import Blood, Occlusion, VesselCooling, flowing_vessel
from ..tissue.coefficients import (
    perfusion_coefficient,
    thermal_conductivity,
    volumetric_heat_capacity,
)
from ..tissue.presets import TissueModel
from .base import SessionContext

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "PowerTally",
    "ThermalSessionRun",
    "ThermalSource",
    "phase_windows",
    "run_thermal_session",
    "stable_time_step",
]

MAX_AUTO_COOLDOWN = 600.0  # s: an "auto" cool-down stops here even if tissue is still hot
MAX_DOSE_INTERVAL = 2.0  # s: the thermal dose is integrated over intervals at most this long
STATE_INTERVAL = 5.0  # s: killed cells and lost perfusion are moved into the state this often
LOCAL_COLD_K = 1.0  # K: voxels colder than the top of the freezing window plus this are "ice"
LOCAL_MARGIN = 2e-3  # m: unfrozen tissue kept around the ice in the locally stepped box ...
LOCAL_MARGIN_CELLS = 4  # ... and at least this many cells (the ring must not freeze in 2 s)


class PowerTally:
    """Energies (J) of powers a source holds constant from one update to the next.

    ``hold(t, name=power, ...)`` books the powers held so far up to ``t`` and holds the new ones;
    ``book(t)`` books up to ``t`` only (a time at or before the last one books nothing).
    """

    def __init__(self, *names: str) -> None:
        self.energy = dict.fromkeys(names, 0.0)
        self._t: float | None = None
        self._powers: dict[str, float] = {}

    def book(self, t: float) -> None:
        """Add the held powers times the time since the last booking, up to ``t`` (s)."""
        if self._t is not None and t > self._t:
            for name, power in self._powers.items():
                self.energy[name] += power * (t - self._t)
            self._t = t

    def hold(self, t: float, **powers: float) -> None:
        """Book up to ``t`` (s), then hold ``powers`` (W, by name) from ``t`` on."""
        self.book(t)
        self._t, self._powers = t, powers


class ThermalSource(Protocol):
    """A heat source driven by the session loop.

    ``static`` sources do not change while on (no temperature dependence), so the loop need not
    visit them between records unless the tissue state must be refreshed (perfusion shutdown).
    A source that heats the blood of large vessels itself may offer ``vessel_heating``: the
    sorted flat indices of the vessel voxels and W per voxel, for the interval it just set,
    which warms flowing blood.
    """

    static: bool

    def update(self, solver: ThermalSolver, t: float, on: bool) -> dict[str, float]:
        """Set ``solver``'s source for the interval starting at ``t`` (s); return extra columns."""
        ...


def phase_windows(tissue: TissueModel) -> list[PhaseWindow]:
    """Apparent-heat-capacity windows from the tissue presets.

    Latent heats are converted to a factor on the base tissue's heat capacity: vaporisation of the
    tissue water over a window around the boiling point, fusion over the freezing range, and the
    lower heat capacity of frozen tissue below it. Using the base tissue's ρc for every material
    assumes latent heat scales with heat capacity (both carried by tissue water).
    """
    body, base = tissue.body, tissue.base
    rc = base.volumetric_heat_capacity
    half = 0.5 * body.vaporization_window
    vap = base.density * base.water_mass_fraction * body.latent_heat_vaporization
    fuse_width = body.freezing_start - body.freezing_end
    return [
        PhaseWindow(-math.inf, body.freezing_end, body.frozen_specific_heat_ratio),
        PhaseWindow(
            body.freezing_end,
            body.freezing_start,
            1.0 + body.latent_heat_fusion / (rc * fuse_width),
        ),
        PhaseWindow(
            body.vaporization_temperature - half,
            body.vaporization_temperature + half,
            1.0 + vap / (rc * body.vaporization_window),
            sink=True,
        ),
    ]


def _solver(
    ctx: SessionContext, freezing: bool, coldest: float | None
) -> tuple[ThermalSolver, float, float, VesselCooling | None]:
    """The heat solver of a session on ``ctx``, its initial temperature, the lowest temperature
    the session can reach (°C; for the stable time step) and its vessels with flowing blood."""
    opts = ctx.thermal
    body = ctx.tissue.body
    t_init = body.body_temperature if opts.initial_temperature is None else opts.initial_temperature
    t_bnd = t_init if opts.boundary_temperature is None else opts.boundary_temperature
    state, anatomy, tissue = ctx.state, ctx.anatomy, ctx.tissue
    solver = ThermalSolver(
        ctx.grid,
        thermal_conductivity(tissue, anatomy, state),
        volumetric_heat_capacity(tissue, anatomy, state),
        perfusion_coefficient(tissue, anatomy, state),
        reference_temperature=t_init,
        initial_temperature=t_init,
        arterial_temperature=body.body_temperature,
        boundary="insulated" if opts.boundary == "insulated" else "dirichlet",
        boundary_temperature=t_bnd,
        fixed=anatomy.vessel,
        fixed_temperature=body.body_temperature,
        windows=phase_windows(tissue),
        freezing=Freezing(
            body.freezing_end,
            body.freezing_start,
            body.frozen_conductivity_ratio,
            body.frozen_conductivity_exponent,
            body.cryo_stasis_temperature,
            body.cryo_vessel_injury_temperature if opts.perfusion_shutdown else None,
            body.cryo_stasis_exposure if opts.perfusion_shutdown else None,
        )
        if freezing
        else None,
        dtype=np.dtype(opts.dtype).type,
        impl=ctx.impl,
    )
    lowest = min(t_init, t_bnd, body.body_temperature, math.inf if coldest is None else coldest)
    cooling = vessel_cooling(ctx)
    if cooling is not None:
        cooling.attach(solver)
    return solver, t_init, lowest, cooling


def vessel_cooling(ctx: SessionContext) -> VesselCooling | None:
    """The vessels of ``ctx`` whose blood flows, as walls that take up heat (None if none)."""
    anatomy, body = ctx.anatomy, ctx.tissue.body
    flowing = [(n, v) for n, v in enumerate(anatomy.vessels, start=1) if v.flow is not None]
    if not flowing or anatomy.vessel_id is None:
        return None
    blood = Blood(
        body.blood_density,
        body.blood_specific_heat,
        body.blood_thermal_conductivity,
        body.blood_viscosity,
    )
    vessels = []
    for n, v in flowing:
        mask = anatomy.vessel_id == n
        if mask.any():  # a vessel wholly under an earlier one has no voxels of its own
            vessels.append(
                flowing_vessel(
                    ctx.grid,
                    v.name,
                    v.shape,
                    mask,
                    v.flow,
                    blood,
                    body.body_temperature,
                    v.occludes,
                )
            )
    if not vessels:
        return None
    # the endothelium takes the base tissue's Arrhenius dose; blood stops at the dose at which
    # the tissue's microvessels stop (perfusion_stasis_dose)
    base = ctx.tissue.base
    occlusion = Occlusion(
        partial(
            arrhenius_rate,
            frequency_factor=base.arrhenius_frequency_factor,
            activation_energy=base.arrhenius_activation_energy,
        ),
        body.perfusion_stasis_dose,
    )
    return VesselCooling(vessels, blood, occlusion if ctx.thermal.perfusion_shutdown else None)


def stable_time_step(
    ctx: SessionContext, *, freezing: bool = False, coldest: float | None = None
) -> float:
    """Largest stable heat-equation time step (s) of a session on ``ctx`` (nothing is run)."""
    solver, _, lowest, _ = _solver(ctx, freezing, coldest)
    return solver.max_stable_dt(lowest)


class ThermalSessionRun:
    """One thermal session on a context: builds the solver and runs heating and cool-down."""

    def __init__(
        self,
        ctx: SessionContext,
        label: str = "session",
        *,
        freezing: bool = False,
        coldest: float | None = None,
    ) -> None:
        """``freezing`` models frozen conductivity and perfusion arrest (cryo); ``coldest`` (°C) is
        the lowest temperature any held voxel will have (for the stable time step)."""
        self.ctx = ctx
        self.label = label
        state, anatomy, tissue = ctx.state, ctx.anatomy, ctx.tissue
        self.solver, t_init, self.min_temperature, self.vessels = _solver(ctx, freezing, coldest)
        self.max_stable_dt = self.solver.max_stable_dt(self.min_temperature)
        # the stable step of unfrozen tissue, where the ice may step locally (cryo; run_phase
        # does when it is at least twice the ice's)
        fz, opts = self.solver.freezing, ctx.thermal
        self.warm_dt: float | None = None
        if fz is not None and opts.local_time_step and opts.time_step is None:
            self.warm_dt = self.solver.max_stable_dt(max(self.min_temperature, fz.upper))
        self.margin = max(LOCAL_MARGIN_CELLS, math.ceil(LOCAL_MARGIN / ctx.grid.spacing))
        self.dose = ThermalDose(tissue, anatomy, t_init, self.solver.theta, impl=ctx.impl)
        self.load_s = self.solver.warm_up(self.dose)
        self._applied = np.zeros(ctx.grid.shape)
        self._coagulated0 = state.coagulated.copy()
        self.injury: HeatInjury | None = None  # set by finish()
        self._tumor0 = float(state.tumor.sum(dtype=np.float64))
        self.rows: list[dict[str, Any]] = []
        self._next_refresh = STATE_INTERVAL
        self.steps = 0
        self.wall = 0.0  # s in the heat-equation steps
        self.update_wall = 0.0  # s in the source updates between them
        self.local_fallbacks = 0  # outer steps whose ice box was refused (then stepped finely)

    def time_step(self, duration: float) -> float:
        """Time step (s) for a phase of ``duration`` s: stable and dividing it evenly."""
        opts = self.ctx.thermal
        dt = (
            opts.time_step
            if opts.time_step is not None
            else opts.time_step_safety * self.max_stable_dt
        )
        if dt > self.max_stable_dt * (1 + 1e-9):
            raise ValueError(
                f"time step {dt:g} s exceeds the stability limit {self.max_stable_dt:g} s"
            )
        if duration <= 0:
            return dt
        return duration / math.ceil(duration / dt - 1e-9)

    def _step_local(self, dt: float, fine: int, n: int) -> None:
        """``n`` steps of ``dt`` s, the ice in a box around it taking ``fine`` steps in each
        (:meth:`ThermalSolver.step_local`); no ice, one step of ``dt`` everywhere; a box that
        reaches the grid's faces or a ring that would freeze, ``fine`` steps everywhere (and the
        next box is wider)."""
        solver = self.solver
        fz = solver.freezing
        if fz is None:
            raise RuntimeError("local time steps are for freezing runs")
        block = solver.cold_block(fz.upper + LOCAL_COLD_K, self.margin)
        if block is None:
            solver.step(dt, n, self.dose)
            return
        kept = solver.steps
        try:
            solver.step_local(dt, fine, block, n, self.dose)
        except ValueError:
            self.margin += LOCAL_MARGIN_CELLS
            left = n - (solver.steps - kept)
            solver.step(dt / fine, left * fine, self.dose)
            self.local_fallbacks += 1

    def solver_info(self, simulated: float, dt: float) -> dict[str, Any]:
        """The ``solver`` summary entry: steps, time step (s) of the main phase, wall time."""
        opts = self.ctx.thermal
        return {
            "steps": self.steps,
            "dt_s": dt,
            "wall_time_s": self.wall,
            "source_update_s": self.update_wall,
            "kernel_load_s": self.load_s,
            "max_stable_dt_s": self.max_stable_dt,
            "local_steps": self.solver.local_steps,
            "local_fallbacks": self.local_fallbacks,
            "update_interval_s": opts.update_interval,
            "simulated_s": simulated,
            "dtype": opts.dtype,
            "impl": self.ctx.impl,
        }

    def finish(self) -> HeatInjury:
        """End the session: last dose sample and kill, then the killed cells sorted by mechanism
        and the matrix denatured by the session's peak temperatures (:func:`settle_heat_injury`).
        """
        self.dose.sample(self.solver.theta)
        self._refresh_state()
        if self.vessels is not None:
            self.vessels.book(self.solver.time, self.solver)
        self.injury = settle_heat_injury(
            self.ctx.state, self._coagulated0, self.dose.peak_temperature(), self.ctx.tissue.body
        )
        # the water boiled off has left the tissue (it returns over days: biology.repair)
        water = self.ctx.state.water
        water *= (1.0 - self.solver.dried_fraction).astype(water.dtype)
        return self.injury

    # ------------------------------------------------------------------ loop
    def _refresh_state(self) -> None:
        block = self.dose.hot_block()
        if block is None:
            return
        ctx = self.ctx
        perfusion = self.solver.perfusion_padded if ctx.thermal.perfusion_shutdown else None
        apply_thermal_kill(
            ctx.state, self.dose.omega, self._applied, perfusion, block, ctx.impl,
            ctx.tissue.body.perfusion_stasis_dose,
        )  # fmt: skip
        if perfusion is not None and self.solver.freezing is None:
            # held voxels split the damaged perfusion from the effective one: carry it over
            self.solver.update_coefficients(block=block)

    def _record(self, t: float, phase: str, extra: dict[str, float]) -> None:
        solver, dose = self.solver, self.dose
        theta = solver.theta
        dose.sample(theta)
        block = dose.hot_block()
        zone = 0.0
        if block is not None:
            zone = (
                float(np.count_nonzero(dose.omega[block] >= ZONE_OMEGA))
                * self.ctx.grid.voxel_volume
                * 1e6
            )
        tumor_now = float(self.ctx.state.tumor.sum(dtype=np.float64))
        self.rows.append(
            {
                "time_s": t,
                "phase": phase,
                "source_power_w": solver.source_power,
                "delivered_energy_j": solver.ledger.delivered,
                "max_temperature_c": float(theta.max()) + solver.t_ref,
                "min_temperature_c": float(theta.min()) + solver.t_ref,
                "ablation_zone_ml": zone,
                "tumor_kill_fraction": 1.0 - tumor_now / self._tumor0
                if self._tumor0 > 0
                else math.nan,
                **extra,
            }
        )

    def run_phase(
        self,
        source: ThermalSource,
        duration: float,
        on: bool,
        t0: float,
        total: float,
        auto_stop: bool | Callable[[ThermalSessionRun], bool] = False,
        phase_name: str | None = None,
    ) -> float:
        """Run ``duration`` s with the source on or off; returns the end time (s).

        The source and the tissue state are refreshed every ``update_interval``; a time-series row,
        the finiteness check and the peak-temperature sampling happen every ``record_interval``.
        ``auto_stop`` ends the phase early at a record: ``True`` once no voxel is at or above the
        damage threshold, or a callable that says when. ``phase_name`` labels the rows ("on" or
        "off" by default); a source with a ``columns(solver)`` method adds its columns to them.
        A source with a ``watch(solver, t)`` method is shown every step while on (t in s, after
        the step); it returns True when it changed its heat then (the vessels' share follows).
        A source with an ``interval`` attribute is told before each update how long (s) the
        interval it starts will last.
        """
        solver, dose, opts = self.solver, self.dose, self.ctx.thermal
        span = duration if duration > 0 else opts.update_interval
        dt = self.time_step(span)
        fine = 1  # steps of the ice per step of the grid (local time stepping, cryo)
        if self.warm_dt is not None and not (on and hasattr(source, "watch")):
            outer = span / math.ceil(span / (opts.time_step_safety * self.warm_dt) - 1e-9)
            fine = math.ceil(outer / dt - 1e-9)
            if fine >= 2:
                dt = outer
            else:
                fine = 1
        interval = opts.update_interval
        if getattr(source, "static", False) and not opts.perfusion_shutdown and not self.vessels:
            interval = max(interval, opts.record_interval)
        per_update = max(1, round(interval / dt))
        per_dose = max(1, min(per_update, round(MAX_DOSE_INTERVAL / dt)))
        updates_per_record = max(1, round(opts.record_interval / (per_update * dt)))
        n_total = round(duration / dt) if duration > 0 else 0
        phase = phase_name or ("on" if on else "off")
        columns = getattr(source, "columns", None)
        watch = getattr(source, "watch", None) if on else None
        t = t0
        done = 0
        updates = 0
        hot_threshold = self.ctx.tissue.body.damage_threshold - solver.t_ref
        extra: dict[str, float] = {}
        told = hasattr(source, "interval")
        while done < n_total:
            n = min(per_update, n_total - done)
            if told:
                source.interval = n * dt  # type: ignore[attr-defined]
            tick = time.perf_counter()
            extra = source.update(solver, t, on)
            if self.vessels is not None:
                self.vessels.update(solver, t, getattr(source, "vessel_heating", None))
            self.update_wall += time.perf_counter() - tick
            start = time.perf_counter()
            for chunk in range(0, n, per_dose):
                m = min(per_dose, n - chunk)
                if watch is None:
                    if fine > 1:
                        self._step_local(dt, fine, m)
                    else:
                        solver.step(dt, m, dose)
                    continue
                for i in range(m):  # the source looks at every step (e.g. a generator's roll-off)
                    solver.step(dt, 1)
                    if watch(solver, t + (chunk + i + 1) * dt) and self.vessels is not None:
                        self.vessels.update(
                            solver,
                            t + (chunk + i + 1) * dt,
                            getattr(source, "vessel_heating", None),
                        )
                dose.accumulate(solver.padded, m * dt)
            block = dose.hot_block()  # every voxel that boiled is in it
            if block is not None:
                solver.rehydrate(n * dt, self.ctx.tissue.body.rehydration_time, block)
            if t0 + (done + n) * dt >= self._next_refresh - 1e-9:
                self._refresh_state()
                self._next_refresh += STATE_INTERVAL
            self.wall += time.perf_counter() - start
            self.steps += n
            done += n
            updates += 1
            t = t0 + done * dt
            if updates % updates_per_record == 0 or done == n_total:
                solver.check_finite()
                self._refresh_state()
                self._record(t, phase, extra | columns(solver) if columns else extra)
                if self.ctx.progress is not None:
                    frac = min(t / total, 1.0) if total > 0 else 1.0
                    self.ctx.progress(frac, f"{self.label}: power {phase}, t = {t:.0f} s")
                if callable(auto_stop):
                    if auto_stop(self):
                        break
                elif (
                    auto_stop
                    and float(solver.theta[~solver.fixed].max(initial=-np.inf)) < hot_threshold
                ):
                    break
        self.dt_used = dt
        return t


def run_thermal_session(
    ctx: SessionContext,
    source: ThermalSource,
    duration: float,
    cooldown: float | str,
    label: str = "session",
    coldest: float | None = None,
) -> tuple[ThermalSessionRun, dict[str, Any]]:
    """Heat for ``duration`` s, then cool down (``cooldown`` s, or ``"auto"``: until no voxel is
    at or above the damage threshold, at most ``MAX_AUTO_COOLDOWN`` s).

    Returns the run (solver, dose, rows) and the solver summary.
    """
    run = ThermalSessionRun(ctx, label, coldest=coldest)
    auto = cooldown == "auto"
    off = MAX_AUTO_COOLDOWN if auto else float(cooldown)
    total = duration + off
    run._record(0.0, "on", source.update(run.solver, 0.0, True))
    t = run.run_phase(source, duration, True, 0.0, total)
    dt_on = run.dt_used
    if off > 0:
        source.update(run.solver, t, False)
        t = run.run_phase(source, off, False, t, total, auto_stop=auto)
    run.finish()
    return run, run.solver_info(t, dt_on)


def session_fields(run: ThermalSessionRun) -> dict[str, np.ndarray]:
    """The dose fields of a finished run."""
    dose = run.dose
    return {
        "peak_temperature": dose.peak_temperature(),
        "min_temperature": dose.min_temperature(),
        "thermal_dose": dose.omega.astype(np.float32),
        # CEM43 grows without bound at ablative temperatures: clip to what float32 holds
        "cem43": np.minimum(dose.cem43, np.finfo(np.float32).max).astype(np.float32),
        "kill_fraction": dose.kill_fraction(),
        # every modality's damage as Ω (killed fraction 1 - exp(-Ω)); the ablation zone is Ω >= 1
        "damage": dose.omega.astype(np.float32),
    }


def energy_summary(run: ThermalSessionRun) -> dict[str, float]:
    """Energy ledger of a finished run, J, and the relative residual of the balance."""
    led = run.solver.ledger
    stored = run.solver.stored_energy()
    scale = max(abs(led.delivered), abs(led.perfusion), abs(led.boundary), abs(stored), 1e-30)
    return {
        "delivered_j": led.delivered,
        "perfusion_loss_j": led.perfusion,
        "boundary_inflow_j": led.boundary,
        "vessel_uptake_j": led.fixed,
        "vaporization_j": led.vaporized,
        "stored_j": stored,
        "balance_residual_rel": (stored - led.net) / scale,
    }


def vessel_summary(run: ThermalSessionRun) -> dict[str, Any]:
    """``{"vessels": [...]}``, the flowing vessels' wall exchange and heat (see
    :meth:`~tissuefate.physics.vessels.VesselCooling.summary`), or ``{}`` when none flows."""
    return {} if run.vessels is None else {"vessels": run.vessels.summary()}


def timeseries_frame(run: ThermalSessionRun) -> pd.DataFrame:
    """The rows recorded by a run as a DataFrame."""
    import pandas as pd  # at the end of a session, not when checking a scenario's time step

    return pd.DataFrame(run.rows)
