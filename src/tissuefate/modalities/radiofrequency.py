"""Radiofrequency ablation session: electrodes, a power-controlled generator and Joule heat.

The electric potential solves ``∇·(σ(T)∇u) = 0`` (``physics/electric.py``) with the active
electrode at the generator voltage and the grounded faces at 0 V; the Joule heat ``σ|∇u|²`` heats
the tissue. σ rises about 2 %/K and collapses where tissue water boils off
(``rf_conductivity_table``); tissue that boiled and cooled keeps the σ of the water it has left
(the thermal solver's dried fraction) until it takes water back (``rehydration_time``). The
generator works as clinical ones do:

- constant power up to a voltage limit: ``V = min(sqrt(P / G), V_max)`` with ``G`` the
  conductance (1 / impedance) of the tissue seen from the electrode;
- impedance roll-off: when the impedance passes a threshold (absolute, or a rise above the
  baseline measured at the start), the power goes off for a pause and then resumes;
- several electrodes are driven one at a time (switching monopolar): the generator moves to the
  next electrode every ``switching_interval`` and skips electrodes in a roll-off pause.

The source is refreshed at every update (``update_interval``, 2 s by default), while tissue next to
an electrode can boil through the vaporisation window in a fraction of a second. So that such a
voxel does not keep the heat of wet tissue until the next update, no voxel receives in one update
more than the heat that dries it (sensible heat to the top of the window plus the latent heat left;
``kernels/source.py: scaled_source``): dried tissue carries almost no current at a given
field. The heat not delivered is the difference between ``generator_energy_j`` and ``energy_j``.

Internally cooled electrodes hold their active voxels at the coolant temperature while the power
is on. The shaft behind the active tip is insulated: its voxels do not conduct current.

The potential is solved again only when σ has changed *unevenly* where the current flows: a
uniform change of σ leaves the potential as it is and scales the heat, so what matters is the
spread of ``r = σ_now / σ_solved`` weighted by the Joule heat of the last solve; a new solve
happens when its coefficient of variation exceeds ``RESOLVE_TOLERANCE``. Between solves the heat
of each voxel follows its σ at the solved field (``q = q_solved r``) and the conductance follows
to first order (``G ≈ G_solved · mean r``, an upper bound by Thomson's principle). The generator
reads this impedance at every step of the heat equation, not only at the updates, and rolls off
at the step where it passes the threshold (:meth:`RadiofrequencySource.watch`): tested only every
update interval, the decision jumped by a whole interval of power when a small change of the
impedance moved it across the threshold at an update, and the zone with it.

Most re-solves are local. σ changes fastest next to the electrode (heating, boiling, cooling in
a roll-off pause), so a re-solve is made on a box around the electrode (the electrode grown by
``BOX_MARGIN``) with the potential outside it held to the shape of the last full solve, scaled
(:meth:`~tissuefate.physics.electric.PotentialSolver.solve_box`, a Galerkin projection of the
full problem); the heat outside the box scales with it. A full solve happens when σ has also
changed unevenly outside the box (the same coefficient of variation, over the voxels outside it).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import NumericalError
from ..grid.needles import (
    Segment,
    cluster_segments,
    multi_tine_segments,
    needle_segment,
    segment_mask,
)
from ..kernels import source as ks
from ..physics.electric import PotentialSolver
from ..physics.subgrid import ResolvedNeedle, drawn_needle, resolve_needle
from ..physics.thermal import ThermalSolver
from ..scenario.models import RadiofrequencyElectrode, RadiofrequencySession
from ..tissue.presets import TissueModel
from .base import SessionContext, SessionResult
from .thermal import (
    PowerTally,
    energy_summary,
    run_thermal_session,
    session_fields,
    timeseries_frame,
    vessel_summary,
)

__all__ = [
    "DrawnElectrode",
    "Generator",
    "RadiofrequencySource",
    "draw_electrodes",
    "electrode_masks",
    "rf_conductivity_table",
    "run_radiofrequency_session",
]

RESOLVE_TOLERANCE = 0.05  # Joule-weighted coefficient of variation of σ/σ_solved: new solve
SOLVE_TOLERANCE = 1e-4  # relative residual of the potential solve (Joule heat to ~1e-4)
REBUILD_EVERY = 8  # solves between rebuilds of the multigrid hierarchy (fine level updated)
STALE_ITERATIONS = 6  # a solve on an old hierarchy taking more rebuilds it
WATCH_WEIGHT = 1e-3  # between updates σ is read where the Joule weight is >= this of its maximum
BOX_MARGIN = 8e-3  # m: re-solves on the electrode's box grown by this (solve_box)
BOX_MAX_FRACTION = 0.5  # ... when the box is at most this fraction of the grid
TABLE_START_C = -60.0  # °C, first sample of the conductivity table
TABLE_STOP_C = 250.0
TABLE_STEP_K = 0.5
COLD_FLOOR = 0.05  # σ never falls below this fraction of σ0 on cooling (the linear law would)
DEFAULT_COOLANT_C = 10.0


def rf_conductivity_table(tissue: TissueModel, t_ref: float) -> tuple[np.ndarray, float, float]:
    """σ(T) per material at radiofrequency, sampled every ``TABLE_STEP_K`` from ``TABLE_START_C``.

    ``σ = σ0 [1 + c (T − T_body)]`` (floored at ``COLD_FLOOR σ0``) up to the vaporisation window;
    across the window it falls log-linearly by ``rf_vaporized_conductivity_factor`` and stays
    there above it (dried tissue). The table is what tissue heating for the first time sees; the
    lookup (``kernels/source.py``) lowers it for tissue that boiled and cooled, by its dried
    fraction. Returns the table (S/m), its first offset from ``t_ref`` (K) and its step (K).
    """
    body = tissue.body
    temps = np.arange(TABLE_START_C, TABLE_STOP_C + TABLE_STEP_K / 2, TABLE_STEP_K)
    lo = body.vaporization_temperature - 0.5 * body.vaporization_window
    hi = body.vaporization_temperature + 0.5 * body.vaporization_window
    table = []
    for m in tissue.materials:
        linear = m.rf_conductivity * np.maximum(
            1.0 + m.rf_conductivity_coefficient * (temps - body.body_temperature), COLD_FLOOR
        )
        frac = np.clip((temps - lo) / (hi - lo), 0.0, 1.0)
        at_lo = m.rf_conductivity * (
            1.0 + m.rf_conductivity_coefficient * (lo - body.body_temperature)
        )
        wet = np.where(temps < lo, linear, at_lo)
        table.append(wet * body.rf_vaporized_conductivity_factor**frac)
    return np.array(table), TABLE_START_C - t_ref, TABLE_STEP_K


def _segments(e: RadiofrequencyElectrode) -> list[Segment]:
    radius = 0.5 * e.diameter_m
    if e.kind == "needle":
        return [needle_segment(e.tip_m, e.direction, e.active_length_m, radius)]
    if e.kind == "cluster":
        return cluster_segments(e.tip_m, e.direction, e.active_length_m, radius, e.spacing_m)
    return multi_tine_segments(
        e.tip_m, e.direction, e.tines, e.deployed_diameter_m, e.active_length_m, radius
    )


def _shaft(e: RadiofrequencyElectrode, segment: Segment, ctx: SessionContext) -> Segment:
    """The insulated shaft behind an active ``segment`` of ``e`` (of the segment's radius), to
    beyond the grid."""
    reach = float(np.linalg.norm(ctx.grid.size))
    back = e.tip_m if e.kind == "multi_tine" else segment.start
    return needle_segment(tuple(back), tuple(e.direction), reach, segment.radius)


@dataclass
class DrawnElectrode:
    """One electrode on the grid.

    ``mask``: its active voxels; ``shaft``: the voxels of its insulated shaft; ``electric``:
    the surface scale of each active voxel's faces in the potential (grid shape, 1 elsewhere);
    ``thermal``: the same for the voxels the coolant holds (the active part and the shaft of a
    cooled electrode); ``needles``: how each needle was drawn (``physics/subgrid.py``)."""

    mask: np.ndarray
    shaft: np.ndarray
    electric: np.ndarray
    thermal: np.ndarray
    needles: list[ResolvedNeedle]


def draw_electrodes(ctx: SessionContext, session: RadiofrequencySession) -> list[DrawnElectrode]:
    """The electrodes of ``session`` on the grid of ``ctx``.

    With ``electrode_radius: actual`` (the default) each needle along a grid axis acts at its own
    radius, in the potential and, cooled, in the heat solver (:func:`resolve_needle`); with
    ``drawn`` its voxels act as drawn (the spacing then sets the electrode's size).
    """
    grid, vessel = ctx.grid, ctx.anatomy.vessel
    true_radius = session.electrode_radius == "actual"
    drawn = []
    for e in session.electrodes:
        needles = []
        mask = np.zeros(grid.shape, bool)
        shaft = np.zeros(grid.shape, bool)
        electric = np.ones(grid.shape)
        thermal = np.ones(grid.shape)
        for seg in _segments(e):
            needle = resolve_needle(grid, seg, e.cooled) if true_radius else drawn_needle(grid, seg)
            needles.append(needle)
            active = needle.mask & ~vessel
            behind = segment_mask(
                grid, _shaft(e, Segment(seg.start, seg.end, needle.drawn_radius), ctx)
            )
            behind &= ~vessel
            electric[active] = needle.electric
            thermal[active | behind] = needle.thermal
            mask |= active
            shaft |= behind
        drawn.append(DrawnElectrode(mask, shaft, electric, thermal, needles))
    for d in drawn:  # no shaft runs through an active part, its own or another electrode's
        for other in drawn:
            d.shaft &= ~other.mask
    return drawn


def electrode_masks(
    ctx: SessionContext, session: RadiofrequencySession
) -> tuple[list[np.ndarray], np.ndarray]:
    """Active-part voxels of each electrode, and the insulated shaft voxels of all of them."""
    drawn = draw_electrodes(ctx, session)
    return [d.mask for d in drawn], np.logical_or.reduce([d.shaft for d in drawn])


@dataclass
class Generator:
    """Constant power with a voltage limit and impedance roll-off (times in s, impedance in Ω)."""

    power: float
    voltage_limit: float
    impedance_above: float | None
    impedance_rise: float | None
    pause: float
    baseline: float | None = None
    paused_until: float = -math.inf
    events: list[float] = field(default_factory=list)

    def threshold(self) -> float:
        """Impedance at which roll-off fires, Ω (inf when roll-off is off)."""
        limits = [math.inf]
        if self.impedance_above is not None:
            limits.append(self.impedance_above)
        if self.impedance_rise is not None and self.baseline is not None:
            limits.append(self.baseline + self.impedance_rise)
        return min(limits)

    def trip(self, t: float) -> None:
        """Roll off at ``t`` (s): the power goes off for the pause."""
        self.events.append(t)
        self.paused_until = t + self.pause

    def voltage(self, t: float, conductance: float) -> float:
        """Voltage (V) to apply from ``t`` for a tissue ``conductance`` (S); 0 while paused."""
        impedance = 1.0 / conductance
        if self.baseline is None:
            self.baseline = impedance
        if t < self.paused_until:
            return 0.0
        if impedance > self.threshold():
            self.trip(t)
            return 0.0
        return min(math.sqrt(self.power * impedance), self.voltage_limit)


class _Channel:
    """One electrode: its voxels, potential solver, generator state and last solution."""

    def __init__(
        self, drawn: DrawnElectrode, solver: PotentialSolver, generator: Generator
    ) -> None:
        self.mask = drawn.mask
        self.surface = drawn.electric
        self.potential = solver
        self.generator = generator
        self.q_unit: np.ndarray | None = None  # Joule heat per V², W/m³/V², float32
        self.q_blood = np.zeros(0)  # the same in the voxels of large vessels (blood), float64
        self.conductance_solved = 0.0  # S
        self.sigma_solved: np.ndarray | None = None
        self.solves = 0
        self.iterations = 0
        # the generator's view between updates (see RadiofrequencySource.watch): the voxels
        # carrying most of the current, and Σ w r over the others and Σ w at the last update
        self.watch_idx = np.zeros(0, np.int64)
        self.rest = 0.0
        self.weight = 0.0
        # solves on a box around the electrode (PotentialSolver.solve_box) between full ones
        self.box: tuple[slice, slice, slice] | None = None
        self.q_anchor: np.ndarray | None = None  # the last full solve's Joule heat per V²
        self.anchor_outside = 0.0  # ... its power outside the box at 1 V, W
        self.box_idx = np.zeros(0, np.int64)  # flat indices of the box
        self.alpha = 1.0  # the factor of the anchor outside the box in the current solution
        self.alpha_before = 1.0  # ... in the solution before it
        self.outer = (0.0, 0.0, 0.0)  # moments of σ/σ_solved outside the box, last lookup
        self.full_solves = 0


class RadiofrequencySource:
    """Drives the generator, the electrodes and the potential solves from the session loop."""

    static = False

    def __init__(self, ctx: SessionContext, session: RadiofrequencySession) -> None:
        self.ctx = ctx
        self.session = session
        self.drawn = draw_electrodes(ctx, session)
        self.masks = [d.mask for d in self.drawn]
        self.shaft = np.logical_or.reduce([d.shaft for d in self.drawn])
        for n, m in enumerate(self.masks):
            if not m.any():
                raise ValueError(f"electrode {n} covers no voxel of the grid")
        self.coolant: list[tuple[np.ndarray, float, np.ndarray]] = []
        for e, d in zip(session.electrodes, self.drawn, strict=True):
            if e.cooled:  # the coolant runs down the shaft to the tip: both are held
                t_c = e.coolant_temperature_c
                held = d.mask | d.shaft
                t_c = DEFAULT_COOLANT_C if t_c is None else t_c
                self.coolant.append((held, t_c, d.thermal))
        self.channels: list[_Channel] = []
        self.active = 0
        self.next_switch = session.switching_interval_s
        self.sigma = np.zeros(ctx.grid.shape)
        self.shaft_idx = np.nonzero(self.shaft.ravel())[0]
        self.material = np.ascontiguousarray(ctx.anatomy.material)
        self.table: np.ndarray | None = None
        self.solve_s = 0.0
        self.tally = PowerTally("generator")
        """Energy the generator put out so far, J."""
        self.energy_reached_s: float | None = None
        """Time (s) at which the generator reached the session's ``energy`` and stopped."""
        self.interval = ctx.thermal.update_interval
        """Length (s) of the interval the next update starts (the session loop sets it)."""
        self._held = False
        self._source_on = False
        self._watching: _Channel | None = None
        self._sums = (0.0, 0.0, 0.0)  # Σ w r, Σ w r² and Σ w of the last lookup
        self.vessel_idx = np.flatnonzero(ctx.anatomy.vessel.ravel())
        self.vessel_heating: tuple[np.ndarray, np.ndarray] | None = None
        """Joule heat in the blood of large vessels for the current interval: the flat indices of
        the vessel voxels (sorted) and W per voxel."""

    # ------------------------------------------------------------------ setup
    def _setup(self, solver: ThermalSolver) -> None:
        ctx, s = self.ctx, self.session
        self.table, self.t0, self.dt = rf_conductivity_table(ctx.tissue, solver.t_ref)
        body, base = ctx.tissue.body, ctx.tissue.base
        self.wet = body.vaporization_temperature - 0.5 * body.vaporization_window
        self.dry = body.vaporization_temperature + 0.5 * body.vaporization_window
        self.latent = base.density * base.water_mass_fraction * body.latent_heat_vaporization
        self.log_dry = math.log(body.rf_vaporized_conductivity_factor)
        r = s.rolloff
        for d in self.drawn:
            gen = Generator(
                power=s.power_w,
                voltage_limit=s.voltage_limit_v,
                impedance_above=None if r is None else r.impedance_above_ohm,
                impedance_rise=None if r is None else r.impedance_rise_ohm,
                pause=math.inf if r is None else r.pause_s,
            )
            pot = PotentialSolver(ctx.grid.shape, ctx.grid.spacing, s.ground, impl=ctx.impl)
            self.channels.append(_Channel(d, pot, gen))

    def _lookup(self, solver: ThermalSolver, ch: _Channel) -> tuple[float, float]:
        """σ from the temperature into ``self.sigma``; the Joule-weighted coefficient of
        variation and mean of σ/σ_solved since the channel's last solve (inf, 1 before one)."""
        compiled = self.ctx.impl == "compiled"
        kernel = ks.lookup_weighted_change if compiled else ks.lookup_weighted_change_numpy
        ref = ch.sigma_solved if ch.sigma_solved is not None else self.sigma
        weight = ch.q_unit if ch.q_unit is not None else self.sigma
        s1, s2, s0 = kernel(
            solver.padded, self.material, self.table, self.t0, self.dt, self.sigma, ref, weight,
            solver.front_padded, self.wet - solver.t_ref, self.dry - self.wet, self.log_dry,
        )  # fmt: skip
        self.sigma.ravel()[self.shaft_idx] = 0.0
        self.sigma.ravel()[self.vessel_idx] = self.ctx.tissue.body.blood_electrical_conductivity
        self._sums = (s1, s2, s0)
        if ch.sigma_solved is None or s0 <= 0:
            return math.inf, 1.0
        mean = s1 / s0
        spread = math.sqrt(max(s2 / s0 - mean**2, 0.0)) / mean
        return spread, mean

    def _outer_change(self, solver: ThermalSolver, ch: _Channel) -> float:
        """Joule-weighted coefficient of variation of σ/σ_solved outside the channel's box (inf
        without a box): the last lookup's moments less the box's, kept for :meth:`_solve_box`."""
        if ch.box is None or ch.sigma_solved is None:
            return math.inf
        inside = self._moments_at(solver, ch, ch.box_idx)
        s1, s2, s0 = (a - b for a, b in zip(self._sums, inside, strict=True))
        ch.outer = (s1, s2, s0)
        if s0 <= 1e-12 * self._sums[2]:
            return 0.0
        mean = s1 / s0
        return math.sqrt(max(s2 / s0 - mean**2, 0.0)) / mean

    def _solve(self, solver: ThermalSolver, ch: _Channel) -> float:
        """A new potential for the channel: on its box when σ has changed evenly enough outside
        it (:meth:`PotentialSolver.solve_box`), else on the whole grid. Returns the mean of
        σ/σ_solved against it (1 but for the change outside a box)."""
        start = time.perf_counter()
        on_box = self._outer_change(solver, ch) <= RESOLVE_TOLERANCE
        if on_box:
            self._solve_box(ch)
        else:
            self._solve_full(ch)
        # the heat of the blood is taken before the held voxels (vessels, cooled tips) lose
        # their source; the conductance counts the current through them too
        ch.q_blood = ch.q_unit.ravel()[self.vessel_idx].astype(np.float64)
        ch.q_unit[solver.fixed] = 0.0
        if on_box:  # outside the box the weights scale by (α/α_before)²; inside r = 1
            heat = ch.q_unit[ch.box]
            live = float(heat[self.sigma[ch.box] > 0.0].sum(dtype=np.float64))
            scale = (ch.alpha / ch.alpha_before) ** 2
            self._sums = tuple(scale * m + live for m in ch.outer)
            near = np.argwhere(heat >= WATCH_WEIGHT * float(heat.max(initial=0.0)))
            offset = np.array([b.start for b in ch.box])
            ch.watch_idx = np.ravel_multi_index((near + offset).T, self.ctx.grid.shape)
        else:  # r = 1 everywhere
            weight = np.where(self.sigma > 0.0, ch.q_unit, 0.0)
            self._sums = (float(weight.sum(dtype=np.float64)),) * 3
            ch.watch_idx = np.flatnonzero(weight >= WATCH_WEIGHT * float(weight.max(initial=0.0)))
        ch.solves += 1
        s1, _, s0 = self._sums
        self.solve_s += time.perf_counter() - start
        return s1 / s0 if s0 > 0 else 1.0

    def _solve_full(self, ch: _Channel) -> None:
        """Solve the whole grid; its Joule heat per V² (held voxels included) into ``q_unit``,
        and a new box anchored on it."""
        rebuild = ch.full_solves % REBUILD_EVERY == 0
        sigma = self.sigma
        ch.potential.set_conductivity(sigma, ch.mask, rebuild=rebuild, surface=ch.surface)
        try:
            u, info = ch.potential.solve(
                1.0, tol=SOLVE_TOLERANCE, maxiter=100 if rebuild else STALE_ITERATIONS
            )
        except NumericalError:  # the old hierarchy no longer fits σ: build a new one
            ch.potential.set_conductivity(sigma, ch.mask, rebuild=True, surface=ch.surface)
            u, info = ch.potential.solve(1.0, tol=SOLVE_TOLERANCE)
        if ch.q_unit is None:
            ch.q_unit = np.zeros(self.ctx.grid.shape, np.float32)
        total = ch.potential.joule_heat(u, ch.q_unit)
        ch.conductance_solved = total  # W at 1 V = S
        ch.sigma_solved = self.sigma.copy()
        ch.iterations += info.iterations
        ch.full_solves += 1
        ch.alpha = ch.alpha_before = 1.0
        ch.box = self._box(ch)
        if ch.box is not None:
            ch.potential.anchor_box(ch.box)
            ch.q_anchor = ch.q_unit.copy()
            ch.box_idx = np.flatnonzero(_box_mask(self.ctx.grid.shape, ch.box))
            volume = self.ctx.grid.voxel_volume
            ch.anchor_outside = total - float(ch.q_unit[ch.box].sum(dtype=np.float64)) * volume

    def _solve_box(self, ch: _Channel) -> None:
        """Solve on the box; the heat outside it is α² the anchor's (held voxels included)."""
        s1, _, s0 = ch.outer
        sol = ch.potential.solve_box(
            self.sigma, ch.mask, tol=SOLVE_TOLERANCE, outside=s1 / s0 if s0 > 0 else 1.0
        )
        np.multiply(ch.q_anchor, sol.alpha**2, out=ch.q_unit)
        ch.q_unit[ch.box] = sol.heat
        ch.sigma_solved[ch.box] = self.sigma[ch.box]  # outside, σ stays the anchor's
        ch.iterations += sol.iterations
        ch.alpha_before, ch.alpha = ch.alpha, sol.alpha
        inside = float(sol.heat.sum(dtype=np.float64)) * self.ctx.grid.voxel_volume
        ch.conductance_solved = sol.alpha**2 * ch.anchor_outside + inside

    def _box(self, ch: _Channel) -> tuple[slice, slice, slice] | None:
        """The channel's electrode grown by ``BOX_MARGIN`` and clipped to the grid, or None when
        that is more than ``BOX_MAX_FRACTION`` of the grid or the electrode touches its faces."""
        shape = self.ctx.grid.shape
        idx = np.argwhere(ch.mask)
        lo, hi = idx.min(axis=0), idx.max(axis=0) + 1
        if np.any(lo == 0) or np.any(hi == np.array(shape)):
            return None
        m = math.ceil(BOX_MARGIN / self.ctx.grid.spacing)
        box = tuple(
            slice(max(int(a) - m, 0), min(int(b) + m, n))
            for a, b, n in zip(lo, hi, shape, strict=True)
        )
        size = math.prod(b.stop - b.start for b in box)
        return box if size <= BOX_MAX_FRACTION * math.prod(shape) else None

    # ------------------------------------------------------------------- loop
    def _choose(self, t: float) -> int | None:
        n = len(self.channels)
        if n > 1 and t >= self.next_switch - 1e-9:
            self.active = (self.active + 1) % n
            self.next_switch = t + self.session.switching_interval_s
        for step in range(n):
            k = (self.active + step) % n
            if t >= self.channels[k].generator.paused_until:
                self.active = k
                return k
        return None

    def _hold(self, solver: ThermalSolver, on: bool) -> None:
        if on == self._held:
            return
        for mask, t_c, scale in self.coolant:
            if on:
                solver.hold(mask, t_c, scale=scale)
            else:
                solver.release(mask)
        self._held = on
        for ch in self.channels:  # the held voxels changed: their Joule heat must follow
            ch.sigma_solved = None

    def _moments_at(
        self, solver: ThermalSolver, ch: _Channel, idx: np.ndarray
    ) -> tuple[float, float, float]:
        """``(Σ w r, Σ w r², Σ w)`` of :meth:`_lookup` over the flat indices ``idx`` now."""
        compiled = self.ctx.impl == "compiled"
        kernel = ks.lookup_weighted_change_at if compiled else ks.lookup_weighted_change_at_numpy
        return kernel(
            solver.padded, self.material, self.table, self.t0, self.dt, ch.sigma_solved,
            ch.q_unit, solver.front_padded, self.wet - solver.t_ref, self.dry - self.wet,
            self.log_dry, idx,
        )  # fmt: skip

    def watch(self, solver: ThermalSolver, t: float) -> bool:
        """Roll off at the step where the impedance passes the threshold, as a generator that
        measures it continuously does, rather than at the next update.

        The impedance between updates follows the same first-order estimate as at an update
        (``G = G_solved · mean r``), with ``r`` read again only on the voxels carrying most of
        the current (those with at least ``WATCH_WEIGHT`` of the largest Joule weight); the
        others keep their ``r`` of the last update. Returns True when the power went off.
        """
        ch = self._watching
        if ch is None or ch.weight <= 0.0:
            return False
        mean = (ch.rest + self._moments_at(solver, ch, ch.watch_idx)[0]) / ch.weight
        if ch.conductance_solved * mean * ch.generator.threshold() >= 1.0:
            return False
        ch.generator.trip(t)
        self._watching = None
        solver.set_source(None)
        self._source_on = False
        self._heat_blood(None)
        self.tally.hold(t, generator=0.0)
        return True

    def _energy_left(self, t: float) -> float:
        """Energy (J) the generator may still deliver from ``t`` (s): inf without an ``energy``
        limit; 0 once it is reached (within a millionth), when :attr:`energy_reached_s` is set."""
        limit = self.session.energy_j
        if limit is None:
            return math.inf
        self.tally.book(t)
        left = limit - self.tally.energy["generator"]
        if left > 1e-6 * limit:
            return left
        if self.energy_reached_s is None:
            self.energy_reached_s = t
        return 0.0

    def finish(self, t: float) -> None:
        """Book the generator's energy up to the end of heating ``t`` (s), where the last
        interval of power-on ended; an energy limit reached in it is reached at ``t``."""
        self.tally.book(t)
        self._energy_left(t)

    def _heat_blood(self, density: np.ndarray | None) -> None:
        """Set :attr:`vessel_heating` from the Joule heat density (W/m³) in the vessel voxels."""
        if density is None or not self.vessel_idx.size:
            self.vessel_heating = None
        else:
            self.vessel_heating = (self.vessel_idx, density * self.ctx.grid.voxel_volume)

    def update(self, solver: ThermalSolver, t: float, on: bool) -> dict[str, float]:
        """Set the Joule heat for the interval from ``t`` (s); return the generator's columns."""
        if self.table is None:
            self._setup(solver)
        self._hold(solver, on)
        cols = {
            "impedance_ohm": math.nan,
            "voltage_v": 0.0,
            "current_a": 0.0,
            "generator_power_w": 0.0,
            "active_electrode": math.nan,
            "rolloff_events": float(sum(len(c.generator.events) for c in self.channels)),
            "potential_solves": float(sum(c.solves for c in self.channels)),
        }
        remaining = self._energy_left(t)
        k = self._choose(t) if on and remaining > 0.0 else None
        voltage = 0.0
        self._watching = None
        if k is not None:
            ch = self.channels[k]
            change, ratio = self._lookup(solver, ch)
            if change > RESOLVE_TOLERANCE:
                ratio = self._solve(solver, ch)
            conductance = ch.conductance_solved * ratio
            voltage = ch.generator.voltage(t, conductance)
            if voltage**2 * conductance * self.interval > remaining:  # the last of the energy
                voltage = math.sqrt(remaining / (self.interval * conductance))
            cols.update(
                impedance_ohm=1.0 / conductance,
                active_electrode=float(k),
                rolloff_events=float(sum(len(c.generator.events) for c in self.channels)),
                potential_solves=float(sum(c.solves for c in self.channels)),
            )
            if voltage > 0:
                cols.update(
                    voltage_v=voltage,
                    current_a=voltage * conductance,
                    generator_power_w=voltage**2 * conductance,
                )
        if voltage > 0:
            ch = self.channels[k]
            compiled = self.ctx.impl == "compiled"
            kernel = ks.scaled_source if compiled else ks.scaled_source_numpy
            total = kernel(
                ch.q_unit,
                self.sigma,
                ch.sigma_solved,
                voltage**2,
                solver.source_array(),
                solver.padded,
                solver.inverse_heat_capacity_padded,
                solver.front_padded,
                self.wet - solver.t_ref,
                self.dry - solver.t_ref,
                self.latent,
                self.ctx.thermal.update_interval,
            )
            solver.source_written(total * self.ctx.grid.voxel_volume)
            self._source_on = True
            if math.isfinite(ch.generator.threshold()):
                s1, _, ch.weight = self._sums
                ch.rest = s1 - self._moments_at(solver, ch, ch.watch_idx)[0]
                self._watching = ch
            self._heat_blood(voltage**2 * ch.q_blood)
        else:
            self._heat_blood(None)
            if self._source_on:
                solver.set_source(None)
                self._source_on = False
        self.tally.hold(t, generator=cols["generator_power_w"])
        return cols


def _box_mask(shape: tuple[int, ...], box: tuple[slice, ...]) -> np.ndarray:
    mask = np.zeros(shape, bool)
    mask[box] = True
    return mask


def _needle_record(needle: ResolvedNeedle) -> dict[str, Any]:
    """How a needle was drawn, for the session summary (radii in mm)."""
    return {
        "drawn_radius_mm": needle.drawn_radius * 1e3,
        "true_radius": needle.corrected,
        "electric_surface_scale": needle.electric,
        "thermal_surface_scale": needle.thermal,
        "electric_radius_mm": needle.electric_radius * 1e3,
        "thermal_radius_mm": needle.thermal_radius * 1e3,
    }


def run_radiofrequency_session(
    ctx: SessionContext, session: RadiofrequencySession, label: str = "session"
) -> SessionResult:
    """Run a radiofrequency ablation session on ``ctx``."""
    source = RadiofrequencySource(ctx, session)
    cold = min((t for _, t, _ in source.coolant), default=None)
    run, solver_info = run_thermal_session(
        ctx,
        source,
        session.duration_s,
        "auto" if session.cooldown_s is None else session.cooldown_s,
        label,
        coldest=cold,
    )
    source.finish(session.duration_s)
    solver_info |= {
        "potential_solves": sum(c.solves for c in source.channels),
        "potential_iterations": sum(c.iterations for c in source.channels),
        "potential_solve_s": source.solve_s,
        "potential_rebuilds": sum(c.potential.rebuilds for c in source.channels),
        "potential_full_solves": sum(c.full_solves for c in source.channels),
        "resolve_tolerance": RESOLVE_TOLERANCE,
    }
    ts = timeseries_frame(run)
    delivered: dict[str, Any] = {
        "power_w": session.power_w,
        "voltage_limit_v": session.voltage_limit_v,
        "duration_s": session.duration_s,
        "energy_limit_j": session.energy_j,
        "energy_reached_s": source.energy_reached_s,
        "ground": session.ground,
        "electrodes": [
            {
                "kind": e.kind,
                "tip_mm": [c * 1e3 for c in e.tip_m],
                "direction": list(e.direction),
                "active_length_mm": e.active_length_m * 1e3,
                "diameter_mm": e.diameter_m * 1e3,
                "cooled": e.cooled,
                "voxels": int(d.mask.sum()),
                "needles": [_needle_record(n) for n in d.needles],
            }
            for e, d in zip(session.electrodes, source.drawn, strict=True)
        ],
        "generator_energy_j": source.tally.energy["generator"],
        "energy_j": run.solver.ledger.delivered,
        "baseline_impedance_ohm": [c.generator.baseline for c in source.channels],
        "rolloff_events": [t for c in source.channels for t in c.generator.events],
    }
    first = session.electrodes[0]
    axis = np.asarray(first.direction, float)
    focus = np.asarray(first.tip_m) - axis * 0.5 * first.active_length_m
    return SessionResult(
        modality="radiofrequency",
        delivered=delivered,
        fields=session_fields(run),
        timeseries=ts,
        solver=solver_info,
        energy=energy_summary(run),
        focus=(focus, axis),
        extra=vessel_summary(run),
    )
