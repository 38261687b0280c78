"""What treated tissue becomes between sessions: clearance, inflammation, scar or regeneration,
vessels and tumour regrowth, on a repair clock of hours.

Per voxel (``tissuefate.kernels.repair`` has the exact update of each process):

- **Ischaemic death.** Cells, tumour and parenchyma alike, whose perfusion access ``a =
  min(1, vessels (1 − occlusion))`` is below ``ischemia_threshold`` die at
  ``(1 − a / ischemia_threshold) / ischemic_death_time`` (the full rate without perfusion, none at
  the threshold), whatever took their blood: vessels an agent disrupted or occluded (H6's
  secondary death), heat- or cold-killed microvessels, scar. A reversible occlusion kills only
  while it lasts: the rate is integrated over its recovery within each step. Ischaemic death
  acts first in each step, before any growth, so a voxel without blood does not grow. The
  killed cells become ``debris`` and release ``ischemic_immunogenicity`` × killed of injury
  signal. A session computes only the loss of blood (its kill, vessel loss and occlusion); the
  death that follows is counted here, once, over the hours and days it takes.
- **Injury signal.** Cells a session kills release a signal ``S`` in proportion to the killing
  modality's immunogenicity (an agent's ``immunogenicity``; ``heat_immunogenicity`` for microwave
  and radiofrequency, ``cold_immunogenicity`` for cryo, ``electroporation_immunogenicity`` for
  irreversible electroporation). It decays with ``injury_signal_lifetime``.
- **Inflammation** ``I`` rises with the signal and resolves with ``inflammation_time``.
- **Phagocytes** ``P`` are recruited only where blood reaches (perfusion access ``a =
  min(1, vessels (1 − occlusion))``), in proportion to the dead tissue in and beside the voxel plus
  the inflammation, and migrate by diffusion. So clearance works inward from perfused tissue:
  ``debris`` fast, heat-fixed ``coagulated`` tissue slowly.
- **Fibrosis**, a switch in the spirit of Adler et al. 2020 (healing vs fibrosis decided by the
  size and persistence of the injury): myofibroblasts are activated by a steep Hill function
  (exponent 4) of the drive ``fibrosis_gain · I + trapped_necrosis_gain · P · coagulated +
  ecm_collapse_gain · (1 − ecm) · free``. A small, transient drive heals; inflammation, fixed
  necrosis under phagocytic attack or room without matrix scar. Myofibroblasts lay collagen
  into free room; collagen is remodelled over ``remodelling_time``. Scar = voxels where
  collagen is at least half.
- **Regeneration**: parenchyma grows logistically into free room where matrix and blood supply
  remain, and spreads from its neighbours (``regeneration_rate``, ``regeneration_diffusivity``).
- **Vessels** regrow logistically with invasion towards ``ecm (1 − collagen − F)(1 − dead)``:
  never through scar or dead tissue. Reversible ``occlusion`` recovers; water relaxes to
  ``1 + edema_gain · I``.
- **Tumour** regrows from surviving cells: logistic or Gompertz growth at ``ρ = ln 2 / T_d`` of its
  preset's volume doubling time, scaled by perfusion access (no growth without blood), into
  everything not dead or fibrous, and invades at ``D`` of
  :func:`tissuefate.biology.growth.invasion_diffusivity`. Without ``push`` the growth beyond the
  free room displaces parenchyma and invasion that overfills a voxel crowds parenchyma out; with
  ``push`` (for a mechanics model) it displaces nothing and the voxel overflows by the excess,
  which the mechanics moves out. Tumour inside scar has no room to grow into and no blood: it
  does not grow, and dies of ischaemia.
- Cells and microvessels below one cell per voxel (``cell_density``) die out.

Phagocytes, parenchyma, vessels and tumour move by explicit diffusion (cells only into free room:
each voxel's diffusivity is D times its capacity), sub-stepped to stability: phagocytes every
step, the slow movers (parenchyma, vessels, tumour: fronts of well under a voxel a day) once a
day with the day's time, with the capacities of that step. Work is confined to
the bounding box of the voxels where anything happens, widened by how far a front can move before
the box is recomputed (daily); a test checks that the box gives the full-grid result.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from scipy import ndimage

from ..grid.anatomy import Anatomy
from ..grid.grid import Grid
from ..kernels import repair as kr
from ..kernels import transport as kt
from ..tissue.presets import TissueModel
from ..tissue.state import TissueState
from .growth import DIFFUSION_SAFETY, GrowthLaw, invasion_diffusivity, proliferation_rate
from .mechanics import Mechanics, MechanicsParameters, MechanicsStats
from .repair_parameters import DAY, REPAIR_SCHEMA, RepairParameters, load_repair

__all__ = [
    "REPAIR_FIELDS",
    "REPAIR_SCHEMA",
    "RepairClock",
    "RepairModel",
    "RepairParameters",
    "load_repair",
]

Impl = Literal["compiled", "numpy"]
_TIME_EPS = 1e-6
"""Two course times (s) closer than this are the same time."""


@dataclass
class RepairClock:
    """Where a course is on the repair model's absolute step grid (times ``k · step`` s from the
    start of the course), with the bookkeeping that must survive a pause or a checkpoint.

    Attributes
    ----------
    step
        Repair step in s.
    time
        Course time the state has been advanced to, in s.
    slow_elapsed
        Time since the slow movers (parenchyma, vessels, tumour) last moved, in s.
    block
        The active block in force (None: nothing can change), refreshed once a day.
    block_stale
        True when the block must be recomputed before the next step (after a session).
    steps
        Steps taken so far.
    cleared
        Dead tissue cleared so far (voxel fractions summed; × voxel volume = volume).
    mechanics
        The work the tissue mechanics did so far (kept here so that a resumed course reports
        the same totals as an uninterrupted one, wall times aside).
    """

    step: float
    time: float = 0.0
    slow_elapsed: float = 0.0
    block: tuple[slice, slice, slice] | None = None
    block_stale: bool = True
    steps: int = 0
    cleared: float = 0.0
    mechanics: MechanicsStats = field(default_factory=MechanicsStats)

    @property
    def steps_per_day(self) -> int:
        """Steps between refreshes of the active block and moves of the slow movers."""
        return max(1, round(DAY / self.step))

    def index(self) -> int:
        """Index k of the grid cell ``[k step, (k + 1) step)`` that the clock is in."""
        return math.floor((self.time + _TIME_EPS) / self.step)

    def invalidate(self) -> None:
        """A session changed the state: recompute the active block before the next step."""
        self.block_stale = True

    def as_dict(self) -> dict[str, object]:
        """JSON-able form (for checkpoints)."""
        block = None if self.block is None else [[b.start, b.stop] for b in self.block]
        return {
            "step": self.step,
            "time": self.time,
            "slow_elapsed": self.slow_elapsed,
            "block": block,
            "block_stale": self.block_stale,
            "steps": self.steps,
            "cleared": self.cleared,
            "mechanics": self.mechanics.as_dict(),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> RepairClock:
        """Inverse of :meth:`as_dict`."""
        raw = data["block"]
        block = None if raw is None else tuple(slice(int(a), int(b)) for a, b in raw)  # type: ignore[union-attr]
        return cls(
            step=float(data["step"]),  # type: ignore[arg-type]
            time=float(data["time"]),  # type: ignore[arg-type]
            slow_elapsed=float(data["slow_elapsed"]),  # type: ignore[arg-type]
            block=block,  # type: ignore[arg-type]
            block_stale=bool(data["block_stale"]),
            steps=int(data["steps"]),  # type: ignore[call-overload]
            cleared=float(data["cleared"]),  # type: ignore[arg-type]
            mechanics=MechanicsStats.from_dict(data.get("mechanics") or {}),  # type: ignore[arg-type]
        )


_MOBILE = ("phagocytes", "normal", "vessels", "tumor")
REPAIR_FIELDS = (
    "tumor",
    "normal",
    "coagulated",
    "debris",
    "ecm",
    "vessels",
    "occlusion",
    "inflammation",
    "myofibroblasts",
    "collagen",
    "water",
    "injury",
    "phagocytes",
)
"""The state fields the repair kernel reads and writes, in the order of its arguments (the state
has others, e.g. the mechanics' displacements, that repair leaves alone)."""
_EPS = 1e-6


@dataclass
class RepairModel:
    """The repair dynamics of one scenario's tissue.

    Parameters
    ----------
    grid, anatomy, tissue
        The scenario's grid, anatomy and resolved tissue presets (tumour doubling times).
    params
        Repair parameters (:func:`load_repair`).
    law
        Tumour growth law, ``"logistic"`` or ``"gompertz"``.
    impl
        ``"compiled"`` (numba kernels) or ``"numpy"`` (reference).
    use_block
        Restrict the work to the active bounding box (default); False updates the whole grid.
    push
        False (default): tumour growth beyond a voxel's free room displaces parenchyma, and
        invasion that overfills a voxel is crowded back. True: neither; the voxel overflows by
        the excess (occupied fraction > 1) for a mechanics model to push out.
    """

    grid: Grid
    anatomy: Anatomy
    tissue: TissueModel
    params: RepairParameters
    law: GrowthLaw = "logistic"
    impl: Impl = "compiled"
    use_block: bool = True
    push: bool = False
    mechanics: bool = False

    def __post_init__(self) -> None:
        self._mechanics: Mechanics | None = None
        if self.mechanics:
            self.push = True
            self._mechanics = Mechanics(
                self.grid,
                self.anatomy,
                self.tissue,
                MechanicsParameters(self.params.contraction_rate, self.params.contraction_half),
                impl=self.impl,
            )
        self._tissue = (~self.anatomy.vessel).astype(np.uint8)
        self._rate, self._tumor_d = self._tumor_rates()
        self._d = {
            "phagocytes": self.params.phagocyte_diffusivity,
            "normal": self.params.regeneration_diffusivity,
            "vessels": self.params.vessel_regrowth_diffusivity,
            "tumor": float(self._tumor_d.max()) if self._tumor_d.size else 0.0,
        }
        self.extinction = 1.0 / (self.params.cell_density * self.grid.voxel_volume)
        self._work: tuple[np.ndarray, ...] | None = None
        self._vectors: dict[tuple[float, float | None], np.ndarray] = {}

    def _tumor_rates(self) -> tuple[np.ndarray, np.ndarray]:
        """Growth rate ρ (1/s) and invasion D (m²/s) of each voxel: those of the nearest tumour's
        preset (0 for a preset without a doubling time, or without tumours)."""
        shape = self.grid.shape
        ids = self.anatomy.tumor_id
        if not np.any(ids > 0):
            return np.zeros(shape, np.float32), np.zeros(shape, np.float32)
        rho_of, d_of = [0.0], [0.0]
        for n in range(1, int(ids.max()) + 1):
            mats = self.anatomy.material[ids == n]
            td = self.tissue.materials[int(np.bincount(mats).argmax())].volume_doubling_time
            rho_of.append(0.0 if td is None else proliferation_rate(td))
            d_of.append(0.0 if td is None else invasion_diffusivity(td))
        _, (ii, jj, kk) = ndimage.distance_transform_edt(ids == 0, return_indices=True)
        nearest = ids[ii, jj, kk]
        return (
            np.asarray(rho_of, np.float32)[nearest],
            np.asarray(d_of, np.float32)[nearest],
        )

    # -- sessions -----------------------------------------------------------------------------
    def injure(self, state: TissueState, killed: np.ndarray, immunogenicity: float) -> None:
        """Add the injury signal of cells a session killed (``killed``: voxel fractions)."""
        if immunogenicity < 0:
            raise ValueError(f"immunogenicity must not be negative, got {immunogenicity}")
        state.injury += (immunogenicity * np.clip(killed, 0.0, None)).astype(np.float32)

    # -- repair -------------------------------------------------------------------------------
    def vector(self, dt: float, occlusion_recovery_time: float | None = None) -> np.ndarray:
        """The packed parameter vector of :func:`tissuefate.kernels.repair.repair_step`."""
        p = self.params
        t_occ = occlusion_recovery_time or p.occlusion_recovery_time
        values = {
            "dt": dt,
            "signal_decay": math.exp(-dt / p.injury_signal_lifetime),
            "inv_signal_lifetime": 1.0 / p.injury_signal_lifetime,
            "inflammation_gain": p.inflammation_gain,
            "inv_inflammation_time": 1.0 / p.inflammation_time,
            "phagocyte_recruitment": p.phagocyte_recruitment_rate,
            "inv_phagocyte_lifetime": 1.0 / p.phagocyte_lifetime,
            "debris_clearance": p.debris_clearance_rate,
            "coagulated_clearance": p.coagulated_clearance_rate,
            "fibrosis_gain": p.fibrosis_gain,
            "trapped_necrosis_gain": p.trapped_necrosis_gain,
            "ecm_collapse_gain": p.ecm_collapse_gain,
            "activation_half": p.activation_half,
            "myofibroblast_rate": p.myofibroblast_activation_rate,
            "inv_myofibroblast_lifetime": 1.0 / p.myofibroblast_lifetime,
            "collagen_rate": p.collagen_deposition_rate,
            "inv_remodelling_time": 1.0 / p.remodelling_time,
            "regeneration_rate": p.regeneration_rate,
            "vessel_rate": p.vessel_regrowth_rate,
            "occlusion_decay": math.exp(-dt / t_occ),
            "edema_gain": p.edema_gain,
            "water_decay": math.exp(-dt / p.edema_time),
            "extinction": self.extinction,
            "gompertz": 1.0 if self.law == "gompertz" else 0.0,
            "inv_ischemic_death_time": 1.0 / p.ischemic_death_time,
            "ischemia_threshold": p.ischemia_threshold,
            "ischemic_immunogenicity": p.ischemic_immunogenicity,
            "push": 1.0 if self.push else 0.0,
        }
        return np.array([values[k] for k in kr.PARAMETERS], dtype=np.float64)

    def advance(
        self,
        state: TissueState,
        duration: float,
        step: float,
        *,
        occlusion_recovery_time: float | None = None,
    ) -> Iterator[float]:
        """Advance ``state`` in place over ``duration`` s in steps of at most ``step`` s, from a
        fresh clock (time 0 on the step grid).

        Yields the time (s since the start of this call) after each step, so the caller can
        record volumes between steps. A course uses :meth:`run` with its own clock instead.
        """
        clock = RepairClock(step)
        yield from self.run(state, clock, duration, occlusion_recovery_time=occlusion_recovery_time)

    def run(
        self,
        state: TissueState,
        clock: RepairClock,
        until: float,
        *,
        occlusion_recovery_time: float | None = None,
        event: bool = True,
        tracers: Sequence[np.ndarray] = (),
    ) -> Iterator[float]:
        """Advance ``state`` in place from ``clock.time`` to ``until`` (s since the course began).

        Steps follow the absolute grid ``k · clock.step`` (a step is cut short only at ``until``),
        the active block is refreshed and the slow movers move at the same absolute times (every
        day of course time), so where a caller pauses between steps changes nothing. ``event``
        says that ``until`` is a real event (a session, the course end): the slow movers catch
        up there. With ``event`` False, ``until`` must be a point of the step grid.

        ``tracers`` move with the tissue when the mechanics is on (:meth:`Mechanics.step`).

        Yields the course time (s) after each step; ``clock`` is updated before each yield.
        """
        per_day = clock.steps_per_day
        while until - clock.time > _TIME_EPS:
            k = clock.index()  # the grid cell the step starts in
            on_grid = abs(clock.time - k * clock.step) <= _TIME_EPS
            end = min((k + 1) * clock.step, until)
            if end < until and until - end <= _TIME_EPS:
                end = until
            ends_on_grid = abs(end - (k + 1) * clock.step) <= _TIME_EPS
            if not event and not ends_on_grid and end >= until:
                raise ValueError(f"a pause at {until} s is not on the repair step grid")
            dt = end - clock.time
            if clock.block_stale or (on_grid and k % per_day == 0):
                clock.block = self.active_block(state, per_day * clock.step)
                clock.block_stale = False
            clock.slow_elapsed += dt
            day_ends = ends_on_grid and (k + 1) % per_day == 0
            slow = 0.0
            if day_ends or (event and end >= until):
                slow, clock.slow_elapsed = clock.slow_elapsed, 0.0
            if clock.block is not None:
                p = self._vector_cached(dt, occlusion_recovery_time)
                clock.cleared += self._step(state, clock.block, dt, p, slow)
                if slow > 0.0 and self._mechanics is not None:
                    self._mechanics.step(
                        state, slow, region=clock.block, stats=clock.mechanics, tracers=tracers
                    )
            clock.time = (k + 1) * clock.step if ends_on_grid else end
            clock.steps += 1
            yield clock.time

    def _vector_cached(self, dt: float, occlusion_recovery_time: float | None) -> np.ndarray:
        key = (dt, occlusion_recovery_time)
        cache = self._vectors
        if key not in cache:
            if len(cache) > 8:
                cache.clear()
            cache[key] = self.vector(dt, occlusion_recovery_time)
        return cache[key]

    def active_block(self, state: TissueState, horizon: float) -> tuple[slice, slice, slice] | None:
        """Bounding box of the voxels where anything can change, widened by how far phagocytes
        and cell fronts can move in ``horizon`` s; None when nothing can change."""
        full = (slice(None),) * 3
        if not self.use_block:
            return full
        s, p = state, self.params
        dead = s.coagulated + s.debris
        free = 1.0 - s.occupied()
        tissue = self._tissue.astype(bool)
        vcap = s.ecm * np.clip(1.0 - s.collagen - s.myofibroblasts, 0, None) * (1.0 - dead)
        active = (
            (dead > _EPS)
            | (s.phagocytes > _EPS)
            | (s.injury > _EPS)
            | (s.inflammation > _EPS)
            | (s.myofibroblasts > _EPS)
            | (s.occlusion > _EPS)
            | (np.abs(s.water - 1.0) > _EPS)
        )
        active |= tissue & ((free > _EPS) | (s.vessels < vcap - _EPS))
        active |= (s.tumor > 0) & (s.normal > _EPS)
        if self._mechanics is not None:  # water the tissue's volume has not taken up yet
            active |= tissue & (np.abs(s.water - s.water_settled) > _EPS)
        if p.ischemia_threshold > 0:  # cells short of blood die (float64, as the kernel)
            f64 = np.float64
            access = np.minimum(1.0, s.vessels.astype(f64) * (1.0 - s.occlusion.astype(f64)))
            ischemic = (s.tumor + s.normal > 0) & (access < p.ischemia_threshold)
            active |= tissue & ischemic
        if not active.any():
            return None
        reach = 0.0
        for name in _MOBILE:
            reach = max(reach, 3.0 * math.sqrt(2.0 * self._d[name] * horizon))
        for d, rho in (
            (p.regeneration_diffusivity, p.regeneration_rate),
            (p.vessel_regrowth_diffusivity, p.vessel_regrowth_rate),
            (self._d["tumor"], float(self._rate.max())),
        ):
            reach += 2.0 * math.sqrt(d * rho) * horizon
        margin = 2 + math.ceil(reach / self.grid.spacing)
        out = []
        for axis in range(3):
            other = tuple(a for a in range(3) if a != axis)
            idx = np.nonzero(active.any(axis=other))[0]
            lo = max(0, int(idx[0]) - margin)
            hi = min(active.shape[axis], int(idx[-1]) + 1 + margin)
            out.append(slice(lo, hi))
        return tuple(out)  # type: ignore[return-value]

    def _step(
        self,
        state: TissueState,
        block: tuple[slice, slice, slice],
        dt: float,
        p: np.ndarray,
        slow: float,
    ) -> float:
        """One step of the local processes and of the phagocytes' migration over ``dt`` s; when
        ``slow`` > 0 also the invasion of parenchyma, vessels and tumour over ``slow`` s.
        Returns the dead tissue cleared (voxel fractions summed)."""
        view = {name: getattr(state, name)[block] for name in REPAIR_FIELDS}
        shape = view["tumor"].shape
        compiled = self.impl == "compiled"
        demand = np.empty(shape, np.float32)
        (kr.neighbour_max if compiled else kr.neighbour_max_numpy)(
            view["coagulated"], view["debris"], demand
        )
        caps = {name: np.empty(shape, np.float32) for name in ("normal", "vessels", "tumor")}
        cleared = np.zeros(shape[0], np.float64)
        (kr.repair_step if compiled else kr.repair_step_numpy)(
            *(view[name] for name in REPAIR_FIELDS),
            self._tissue[block],
            self._rate[block],
            demand,
            p,
            caps["normal"],
            caps["vessels"],
            caps["tumor"],
            cleared,
        )
        d_p = self._d["phagocytes"]
        self._diffuse(view["phagocytes"], d_p, self._tissue[block], d_p, dt)
        if slow > 0.0:
            for name in ("normal", "vessels", "tumor"):
                d = self._tumor_d[block] if name == "tumor" else self._d[name]
                self._diffuse(view[name], d, caps[name], self._d[name], slow)
            if not self.push:  # with push the mechanics moves the overflow out
                _crowd(view)
            np.clip(view["phagocytes"], 0.0, 1.0, out=view["phagocytes"])
        return float(cleared.sum())

    def _diffuse(
        self, u: np.ndarray, d: np.ndarray | float, cap: np.ndarray, dmax: float, dt: float
    ) -> None:
        """Explicit diffusion of ``u`` (a view, updated in place) with diffusivity ``d`` (m²/s,
        per voxel or scalar, at most ``dmax``) times the capacity ``cap`` (1), closed faces,
        sub-stepped to stability. The padded work arrays are kept between calls."""
        if dmax <= 0.0 or not u.any():
            return
        h = self.grid.spacing
        n = max(1, math.ceil(dt / (DIFFUSION_SAFETY * h * h / (6.0 * dmax))))
        padded = tuple(m + 2 for m in u.shape)
        if self._work is None or self._work[0].shape != padded:
            self._work = (
                np.zeros(padded),
                np.zeros(padded),
                np.zeros(padded),
                np.ones(padded),
                np.zeros(u.shape, np.uint8),
                np.zeros(u.shape[0]),
            )
        c, out, dpad, ones, hold, inflow = self._work
        inner = (slice(1, -1),) * 3
        c[inner] = u
        np.multiply(cap, d, out=dpad[inner])
        step = kt.diffuse_step if self.impl == "compiled" else kt.diffuse_step_numpy
        for _ in range(n):
            step(c, dpad, ones, hold, out, dt / n / (h * h), inflow)
            c, out = out, c
        np.maximum(c[inner], 0.0, out=u)


def _crowd(view: dict[str, np.ndarray]) -> None:
    """Where invasion filled a voxel past capacity, tumour displaces parenchyma first, then is
    itself held back."""
    occupied = (
        view["tumor"]
        + view["normal"]
        + view["coagulated"]
        + view["debris"]
        + view["myofibroblasts"]
        + view["collagen"]
    )
    excess = occupied - 1.0
    over = excess > 0
    if over.any():
        take_n = np.minimum(view["normal"], np.where(over, excess, 0.0))
        view["normal"] -= take_n
        rest = np.where(over, excess - take_n, 0.0)
        view["tumor"] -= np.minimum(view["tumor"], rest)
