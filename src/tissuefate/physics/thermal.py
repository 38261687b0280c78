"""Pennes bioheat with an apparent heat capacity, solved with an explicit finite-volume stencil.

    ρc_app(T) ∂T/∂t = ∇·(k∇T) + W (T_a − T) + Q,     W = ω_b ρ_b c_b

on the cell-centred grid, with the outer boundary held at a temperature (ghost cells) or insulated,
and chosen voxels (large vessels, probes) held at a fixed temperature. ``ρc_app = ρc · m(T)`` where
the factor ``m`` is piecewise constant over temperature windows: latent heat spread over a window
(vaporisation, freezing) or a different heat capacity (frozen tissue). The stencil lives in
``kernels/thermal.py``; this module owns the arrays, the stable time step and an energy ledger in
float64 that accounts for every joule: stored = delivered − perfusion − boundary − fixed voxels.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from ..errors import NumericalError
from ..grid.grid import Grid
from ..kernels import thermal as kt

__all__ = ["DoseAccumulator", "EnergyLedger", "Freezing", "PhaseWindow", "ThermalSolver"]

MAX_WINDOWS = 3
_NEIGHBOURS = np.array(
    [(-1, 0, 0), (1, 0, 0), (0, -1, 0), (0, 1, 0), (0, 0, -1), (0, 0, 1)], dtype=np.int64
)
KELVIN = 273.15
"""0 °C in K."""
COLDEST_C = -196.0
"""Coldest temperature (°C) a run may reach when none is given: the coldest probe gas allowed."""


class DoseAccumulator(Protocol):
    """What :meth:`ThermalSolver.step` needs of a thermal dose (such as
    :class:`tissuefate.damage.thermal.ThermalDose`; physics does not import damage)."""

    def accumulate(self, current: np.ndarray, dt: float, /) -> None:
        """Add a dose interval of ``dt`` s ending at the padded offsets ``current`` (K)."""

    def warm_up(self, theta: np.ndarray, /) -> float:
        """Compile the dose kernels for arrays like ``theta`` (padded offsets); returns s."""


@dataclass(frozen=True)
class PhaseWindow:
    """Apparent heat capacity ``ρc · factor`` for ``lower <= T < upper`` (°C).

    A ``sink`` window (vaporisation) applies only while tissue heats, and its latent heat leaves
    the tissue (the steam escapes) instead of being stored: it is not given back on cooling, and
    neither is the water. Each voxel keeps how far through the window it has boiled (its dried
    fraction, :attr:`ThermalSolver.dried_fraction`): heating again, it pays the latent heat only
    of the water it has left. At most one window may be a sink.
    """

    lower: float
    upper: float
    factor: float
    sink: bool = False


@dataclass(frozen=True)
class Freezing:
    """Tissue that freezes between ``upper`` (°C, freezing starts) and ``lower`` (°C, fully frozen).

    The thermal conductivity rises linearly with the frozen fraction to ``conductivity_ratio``
    times the unfrozen one, and below ``lower`` further as ``(T_lower / T) ** exponent`` in
    absolute temperature (exponent 1: ice's conductivity, about 1/T; 0: constant). Perfusion
    stops below ``stasis`` (°C, at or above ``upper``; None: ``upper``, where the tissue starts
    to freeze and frozen blood cannot flow) and returns where the tissue warms again, except
    where it froze below ``injury`` (°C, at or below ``upper``; None: nowhere): there the ice has
    injured the microvessels and flow stays stopped for the rest of the run. Chilled tissue shuts
    down progressively as well: once its exposure to cold, the time integral of how far it lies
    below the arterial temperature, reaches ``exposure`` (K·s; None: never), flow stops there for
    the rest of the run. The latent heat and frozen heat capacity are phase windows of the solver.
    """

    lower: float
    upper: float
    conductivity_ratio: float
    exponent: float = 0.0
    stasis: float | None = None
    injury: float | None = None
    exposure: float | None = None

    @property
    def stasis_temperature(self) -> float:
        """Temperature (°C) below which perfusion stops."""
        return self.upper if self.stasis is None else self.stasis

    def max_conductivity_ratio(self, coldest: float) -> float:
        """Largest frozen / unfrozen conductivity ratio down to ``coldest`` (°C)."""
        below = max(self.lower - coldest, 0.0)
        ice = ((self.lower + KELVIN) / (self.lower - below + KELVIN)) ** self.exponent
        return max(self.conductivity_ratio * ice, 1.0)


@dataclass
class EnergyLedger:
    """Heat flows integrated over time, in J (float64). Signs: into the tissue is positive."""

    delivered: float = 0.0  # by sources
    perfusion: float = 0.0  # carried away by blood perfusion (positive = removed)
    boundary: float = 0.0  # entering through the outer boundary
    fixed: float = 0.0  # taken up by voxels held at fixed temperature (vessels, probes), and the
    # heat content of voxels when they are taken out of the tissue to be held (back when released)
    vaporized: float = 0.0  # latent heat carried off by vaporised tissue water
    history: list[tuple[float, float]] = field(default_factory=list, repr=False)

    @property
    def net(self) -> float:
        """Net heat into the tissue, J."""
        return self.delivered - self.perfusion + self.boundary - self.fixed - self.vaporized


def _ring_faces(shape: tuple[int, ...]) -> list[tuple[tuple[slice, ...], tuple[slice, ...]]]:
    """For an array of a block with its ring of cells (``shape``), each of the six faces as
    (the ring cells across it, the block cells along it): index tuples of equal shape."""
    out = []
    for axis in range(3):
        for ring_at, cell_at in ((0, 1), (shape[axis] - 1, shape[axis] - 2)):
            ring = [slice(1, n - 1) for n in shape]
            cell = list(ring)
            ring[axis] = slice(ring_at, ring_at + 1)
            cell[axis] = slice(cell_at, cell_at + 1)
            out.append((tuple(ring), tuple(cell)))
    return out


class ThermalSolver:
    """Explicit Pennes solver on one grid.

    Parameters
    ----------
    grid
        The voxel grid.
    conductivity
        k in W/m/K, shape ``grid.shape``.
    heat_capacity
        ρc in J/m³/K outside the windows, shape ``grid.shape``.
    perfusion
        W = ω_b ρ_b c_b in W/m³/K, shape ``grid.shape``.
    reference_temperature
        °C. Temperatures are stored as offsets from it (float32 keeps round-off relative to the
        rise); the initial temperature is a good choice.
    initial_temperature
        °C, scalar or array of ``grid.shape``.
    arterial_temperature
        °C, temperature of the perfusing blood.
    boundary
        ``"dirichlet"`` (faces held at ``boundary_temperature``) or ``"insulated"``.
    boundary_temperature
        °C, for ``"dirichlet"``.
    fixed, fixed_temperature
        bool mask of voxels held at ``fixed_temperature`` (°C), e.g. large vessels.
    windows
        Up to three :class:`PhaseWindow`; they must not overlap, and at most one is a sink.
    dried
        Fraction (0–1) of each voxel's water already boiled off in the sink window, shape
        ``grid.shape`` or a scalar (default 0); its latent heat is not paid again.
    freezing
        Temperature-dependent conductivity and perfusion of freezing tissue (:class:`Freezing`),
        refreshed by :meth:`update_coefficients`; None for none.
    dtype
        ``numpy.float32`` (default) or ``numpy.float64`` for the temperature and coefficient fields.
    impl
        ``"compiled"`` (numba kernels) or ``"numpy"`` (reference implementation).
    """

    def __init__(
        self,
        grid: Grid,
        conductivity: np.ndarray,
        heat_capacity: np.ndarray,
        perfusion: np.ndarray,
        *,
        reference_temperature: float,
        initial_temperature: float | np.ndarray,
        arterial_temperature: float,
        boundary: str = "dirichlet",
        boundary_temperature: float | None = None,
        fixed: np.ndarray | None = None,
        fixed_temperature: float | None = None,
        windows: tuple[PhaseWindow, ...] | list[PhaseWindow] = (),
        freezing: Freezing | None = None,
        dried: float | np.ndarray = 0.0,
        dtype: type = np.float32,
        impl: str = "compiled",
    ) -> None:
        if impl not in ("compiled", "numpy"):
            raise ValueError(f"impl must be 'compiled' or 'numpy', got {impl!r}")
        if boundary not in ("dirichlet", "insulated"):
            raise ValueError(f"boundary must be 'dirichlet' or 'insulated', got {boundary!r}")
        if len(windows) > MAX_WINDOWS:
            raise ValueError(f"at most {MAX_WINDOWS} phase windows, got {len(windows)}")
        self.grid = grid
        self.dtype = np.dtype(dtype)
        self.impl = impl
        self.t_ref = float(reference_temperature)
        self.theta_a = float(arterial_temperature) - self.t_ref
        shape = grid.shape
        for name, arr in (
            ("conductivity", conductivity),
            ("heat_capacity", heat_capacity),
            ("perfusion", perfusion),
        ):
            if np.shape(arr) != shape:
                raise ValueError(f"{name} has shape {np.shape(arr)}, grid is {shape}")
        if np.any(~(np.asarray(conductivity) > 0)) or np.any(~(np.asarray(heat_capacity) > 0)):
            raise ValueError("conductivity and heat capacity must be positive everywhere")
        if np.any(~(np.asarray(perfusion) >= 0)):
            raise ValueError("perfusion must be non-negative everywhere")

        self._fixed = np.zeros(shape, bool) if fixed is None else np.asarray(fixed, bool)
        self._permanent = np.zeros(shape, bool)  # convective walls: held until released as such
        self._s_tissue: np.ndarray | None = None  # padded s before any convective wall
        self.fixed_temperature = self.t_ref if fixed_temperature is None else fixed_temperature
        if boundary == "dirichlet":
            tb = self.t_ref if boundary_temperature is None else float(boundary_temperature)
            self._ghost = (2.0 * (tb - self.t_ref), -1.0)
        else:
            self._ghost = (0.0, 1.0)
        self.boundary = boundary

        pad = self._pad
        self._s = pad(np.sqrt(np.asarray(conductivity, np.float64)), mode="edge")
        self._s_free = self._s.copy()  # unfrozen, as given: what a released voxel returns to
        self._rc = np.asarray(heat_capacity, np.float64)  # for the energy of the state
        ic = 1.0 / self._rc
        self._ic_free = pad(ic)  # as if no voxel were held, for release and the stable step
        ic[self._fixed] = 0.0
        self._ic = pad(ic)
        w = np.asarray(perfusion, np.float64).copy()
        w[self._fixed] = 0.0
        self._w = pad(w)
        # Freezing or holding voxels during the run needs the perfusion as if nothing were frozen
        # or held (``_w_base``, which damage lowers) beside the effective one; otherwise they are
        # the same array.
        self._w_base = self._w
        self.freezing = freezing
        if freezing is not None:
            if (
                not freezing.upper > freezing.lower
                or not freezing.conductivity_ratio > 0
                or not freezing.exponent >= 0
                or not freezing.stasis_temperature >= freezing.upper
                or not (freezing.injury is None or freezing.injury <= freezing.upper)
                or not (freezing.exposure is None or freezing.exposure > 0)
            ):
                raise ValueError(f"bad freezing model {freezing}")
            self._w_base = self._w.copy()
            self._s_warm = self._s_free
            self._cold_rows = np.zeros(shape[:2], np.bool_)
            self._exposure = np.zeros(shape, np.float64)
            self._exposure_time = 0.0
        self.frozen_voxels = 0
        self._q = pad(np.zeros(shape))
        self._source_power = 0.0
        theta0 = np.broadcast_to(np.asarray(initial_temperature, np.float64) - self.t_ref, shape)
        theta0 = np.where(self._fixed, self.fixed_temperature - self.t_ref, theta0)
        self._theta = pad(theta0)
        kt.fill_ghosts(self._theta, *self._ghost)
        self._prev = self._theta.copy()
        # C-contiguous whether or not there are fixed voxels: one compiled signature
        self._fixed_idx = np.ascontiguousarray(np.argwhere(self._fixed), dtype=np.int64) + 1
        self._loss = np.zeros((shape[0] + 2, 3))

        self._windows = sorted(windows, key=lambda w: w.lower)
        for a, b in zip(self._windows, self._windows[1:], strict=False):
            if b.lower < a.upper:
                raise ValueError(f"phase windows overlap: {a} and {b}")
        table = np.full((MAX_WINDOWS, 4), np.inf)
        table[:, 2] = 1.0
        table[:, 3] = 0.0
        for n, win in enumerate(self._windows):
            if not win.factor > 0 or not win.upper > win.lower:
                raise ValueError(f"bad phase window {win}")
            table[n] = (
                win.lower - self.t_ref,
                win.upper - self.t_ref,
                1.0 / win.factor,
                float(win.sink),
            )
        table[~np.isfinite(table)] = np.copysign(3.0e38, table[~np.isfinite(table)])
        self._wtable = table.astype(self.dtype)
        sinks = [win for win in self._windows if win.sink]
        if len(sinks) > 1:
            raise ValueError(f"at most one sink window, got {len(sinks)}")
        self._sink = sinks[0] if sinks else None
        dried = np.broadcast_to(np.asarray(dried, np.float64), shape)
        if not np.all((dried >= 0) & (dried <= 1)):
            raise ValueError("the dried fraction must lie in [0, 1]")
        if self._sink is None:
            self._front = pad(np.full(shape, -3.0e38))
        else:
            lo, hi = self._sink.lower - self.t_ref, self._sink.upper - self.t_ref
            self._front = pad(lo + dried * (hi - lo))
        # rows that met a phase window in the last step: the kernel's path hint (never a result)
        self._hint = np.zeros(self._front.shape[:2], np.uint8)

        self.time = 0.0
        self.steps = 0
        self.local_steps = 0  # the fine steps inside the blocks of step_local
        self.ledger = EnergyLedger()
        self._step_kernel = kt.pennes_step if impl == "compiled" else kt.pennes_step_numpy
        self._bnd_kernel = kt.boundary_inflow if impl == "compiled" else kt.boundary_inflow_numpy
        self._fix_kernel = kt.fixed_inflow if impl == "compiled" else kt.fixed_inflow_numpy
        self._w_max = float(np.max(self._w)) if self._w.size else 0.0

    # ------------------------------------------------------------------ arrays
    def _pad(self, arr: np.ndarray, mode: str = "constant") -> np.ndarray:
        return np.ascontiguousarray(np.pad(np.asarray(arr, np.float64), 1, mode=mode), self.dtype)

    def _padded_block(self, block: tuple[slice, ...]) -> tuple[slice, ...]:
        """The slices of a block of the grid (unit-step slices) in the padded arrays."""
        return tuple(
            slice((b.start or 0) + 1, (n if b.stop is None else b.stop) + 1)
            for b, n in zip(block, self.grid.shape, strict=True)
        )

    @property
    def theta(self) -> np.ndarray:
        """Temperature offset from the reference in K (interior view, do not modify)."""
        return self._theta[1:-1, 1:-1, 1:-1]

    @property
    def padded(self) -> np.ndarray:
        """Current temperature offset with its ghost layer (padded; read only)."""
        return self._theta

    @property
    def previous_padded(self) -> np.ndarray:
        """Temperature offset before the last step, padded."""
        return self._prev

    @property
    def temperature(self) -> np.ndarray:
        """Current temperature in °C (a new float64 array)."""
        return self.theta.astype(np.float64) + self.t_ref

    @property
    def fixed(self) -> np.ndarray:
        """Voxels held at the fixed temperature."""
        return self._fixed

    @property
    def dried_fraction(self) -> np.ndarray:
        """Fraction (0–1) of each voxel's water boiled off in the sink window: how far through
        the window it has heated (a new float64 array; zeros without a sink window)."""
        if self._sink is None:
            return np.zeros(self.grid.shape)
        lo, hi = self._sink.lower - self.t_ref, self._sink.upper - self.t_ref
        front = self._front[1:-1, 1:-1, 1:-1].astype(np.float64)
        return np.clip((front - lo) / (hi - lo), 0.0, 1.0)

    def rehydrate(
        self, elapsed: float, time_constant: float, block: tuple[slice, ...] | None = None
    ) -> None:
        """Let tissue that boiled partly or fully dry take water back from the tissue around it:
        below the sink window its dried fraction falls as ``exp(-elapsed / time_constant)``
        (``elapsed`` and ``time_constant`` in s; ``inf``: never). ``block`` (a block of the grid
        holding every dried voxel) limits the pass. The water that returns is liquid: no heat is
        booked (its latent heat is paid again if it boils)."""
        if self._sink is None or not math.isfinite(time_constant) or elapsed <= 0:
            return
        padded = self._padded_block((slice(None),) * 3 if block is None else block)
        lo = self._sink.lower - self.t_ref
        front = self._front[padded]
        wet = (self._theta[padded] < lo) & (front > lo)
        if wet.any():
            keep = math.exp(-elapsed / time_constant)
            front[wet] = lo + (front[wet] - lo) * keep

    @property
    def front_padded(self) -> np.ndarray:
        """The padded offset (K) each voxel has boiled up to in the sink window (read only)."""
        return self._front

    # ----------------------------------------------------------- coefficients
    def max_stable_dt(self, min_temperature: float | None = None) -> float:
        """Largest stable time step in s (positivity of the explicit update).

        ``min_temperature`` (°C) excludes windows the run cannot reach (by the maximum principle
        temperatures never fall below the lowest initial, boundary, blood or fixed temperature
        when sources only heat); None considers every window. Held voxels count as tissue (they
        may be released), and frozen conductivity counts where freezing is reachable.
        """
        inv_h2 = 1.0 / self.grid.spacing**2
        s = self._s_free.astype(np.float64)
        if self.freezing is not None and (
            min_temperature is None or min_temperature < self.freezing.upper
        ):
            coldest = COLDEST_C if min_temperature is None else min_temperature
            s = s * math.sqrt(self.freezing.max_conductivity_ratio(coldest))
        c = s[1:-1, 1:-1, 1:-1]
        nsum = (
            s[:-2, 1:-1, 1:-1]
            + s[2:, 1:-1, 1:-1]
            + s[1:-1, :-2, 1:-1]
            + s[1:-1, 2:, 1:-1]
            + s[1:-1, 1:-1, :-2]
            + s[1:-1, 1:-1, 2:]
        )
        rate = self._ic_free[1:-1, 1:-1, 1:-1].astype(np.float64) * (
            c * nsum * inv_h2 + self._w_max
        )
        fmax = 1.0
        for win in self._windows:
            if min_temperature is None or win.upper > min_temperature:
                fmax = max(fmax, 1.0 / win.factor)
        worst = float(rate.max()) * fmax
        return math.inf if worst == 0 else 1.0 / worst

    def set_source(self, q: np.ndarray | None, block: tuple[slice, ...] | None = None) -> None:
        """Set the source density Q in W/m³ (``None``: no source).

        With ``block`` only that sub-block is replaced (``q`` has the block's shape).
        """
        inner = self._q[1:-1, 1:-1, 1:-1]
        if q is None:
            inner[...] = 0.0
        elif block is None:
            inner[...] = q
        else:
            inner[block] = q
        inner[self._fixed] = 0.0
        self._source_power = float(inner.sum(dtype=np.float64)) * self.grid.voxel_volume

    def source_array(self) -> np.ndarray:
        """The padded source density (W/m³) for a source model to write in place.

        After writing, call :meth:`source_written` with the power written. Voxels held at a fixed
        temperature ignore their source.
        """
        return self._q

    def source_written(self, power: float) -> None:
        """Record that a source model wrote ``power`` W into :meth:`source_array`."""
        self._source_power = float(power)

    @property
    def source_power(self) -> float:
        """Power currently deposited by the sources, W (the exact float64 sum)."""
        return self._source_power

    @property
    def source(self) -> np.ndarray:
        """Current source density Q in W/m³ (interior view)."""
        return self._q[1:-1, 1:-1, 1:-1]

    @property
    def inverse_heat_capacity_padded(self) -> np.ndarray:
        """The padded ``1 / ρc`` in m³K/J (0 in held voxels; read only)."""
        return self._ic

    @property
    def cold_exposure(self) -> np.ndarray | None:
        """Each voxel's exposure to cold so far (K·s, read only): the time integral of how far it
        lay below the arterial temperature, sampled at each :meth:`update_coefficients` (None
        without freezing). See :class:`Freezing`."""
        if self.freezing is None:
            return None
        view = self._exposure.view()
        view.flags.writeable = False
        return view

    @property
    def perfusion_padded(self) -> np.ndarray:
        """The padded perfusion coefficient (W/m³/K), for in-place updates by damage kernels.

        Values may only be lowered (the time step was chosen for the initial maximum). With
        freezing or held voxels this is the perfusion as if nothing were frozen or held; the
        effective one follows at the next :meth:`update_coefficients`.
        """
        return self._w_base

    # ---------------------------------------------------------- held voxels
    def hold(
        self,
        mask: np.ndarray,
        temperature: float,
        conductivity: float | None = None,
        scale: np.ndarray | float | None = None,
    ) -> None:
        """Hold the voxels of ``mask`` at ``temperature`` (°C) from now on (probes, electrodes).

        ``conductivity`` (W/m/K) replaces theirs for conduction with their neighbours (the face
        conductance is ``sqrt(k_held k_neighbour) / h``): a contact resistance between a probe's
        coolant and the tissue. It may not exceed the least conductive tissue (frozen, where
        tissue freezes), which keeps the stable time step. ``scale`` (in (0, 1], one value or
        read on ``mask`` from an array of the grid's shape) multiplies the conductance of their
        faces: the surface scale that makes a drawn needle cool at its true radius
        (``physics/subgrid.py``). Voxels newly held leave the tissue:
        their heat content is booked to the ledger's ``fixed`` account, so the energy balance
        still closes. Convective walls (:meth:`hold_convective`) keep their own temperature.
        """
        mask = np.asarray(mask, bool) & ~self._permanent
        new = mask & ~self._fixed
        self.ledger.fixed += float(self.enthalpy()[new].sum()) * self.grid.voxel_volume
        self._fixed = self._fixed | mask
        self.theta[mask] = temperature - self.t_ref
        kt.fill_ghosts(self._theta, *self._ghost)
        inner = (slice(1, -1),) * 3
        if conductivity is not None:
            s_max = float(self._s_free[inner][~self._permanent].min())
            if self.freezing is not None:
                s_max *= math.sqrt(max(self.freezing.conductivity_ratio, 1.0))
            if not 0 < math.sqrt(conductivity) <= s_max * (1 + 1e-6):
                raise ValueError(
                    f"held conductivity {conductivity:g} W/m/K must be positive and at most "
                    f"{s_max**2:g} W/m/K (the least conductive tissue)"
                )
            self._s[inner][mask] = math.sqrt(conductivity)
        if scale is not None:
            factor = np.broadcast_to(np.asarray(scale, np.float64), self.grid.shape)[mask]
            if not np.all((factor > 0) & (factor <= 1)):
                raise ValueError("the surface scale of held voxels must lie in (0, 1]")
            # of the conductance just set or the voxels' own: not compounded by a second hold
            base = self._s_free[inner][mask] if conductivity is None else self._s[inner][mask]
            self._s[inner][mask] = base * factor
        self._fixed_changed()

    def hold_convective(self, index: np.ndarray, heat_transfer: np.ndarray | float) -> None:
        """Make the held voxels at ``index`` (int (m, 3), unpadded) a convective wall for good.

        Each of their faces with tissue conducts as half a voxel of that tissue in series with a
        wall of ``heat_transfer`` (W/m²/K, per voxel or one value):
        ``G = h² / (h / (2 k) + 1 / heat_transfer)`` W/K, ``k`` the mean unfrozen conductivity
        of the voxel's tissue neighbours (exact where they are alike). The voxels stay held for
        the rest of the run or until :meth:`release_convective` (:meth:`release` and
        :meth:`hold` leave them), their own rate no
        longer limits the stable step, and their neighbours' does (a face conducts at most twice
        what a tissue face does). Large vessels with flowing blood (``physics/vessels.py``).
        """
        index = np.asarray(index, np.int64).reshape(-1, 3)
        i, j, k = index.T
        if not self._fixed[i, j, k].all():
            raise ValueError("a convective wall must be made of held voxels")
        hc = np.broadcast_to(np.asarray(heat_transfer, np.float64), (len(index),))
        if not np.all(hc > 0):
            raise ValueError("the wall heat transfer coefficient must be positive")
        h = self.grid.spacing
        s_tissue = self._neighbour_mean_s(index)
        conductance = h**2 / (h / (2.0 * s_tissue**2) + 1.0 / hc)
        value = conductance / (h * s_tissue)
        inner = (slice(1, -1),) * 3
        if self._s_tissue is None:  # the conductances the voxels had, for release_convective
            self._s_tissue = self._s_free.copy()
        self._s[inner][i, j, k] = value
        self._s_free[inner][i, j, k] = value
        self._ic_free[inner][i, j, k] = 0.0
        self._permanent[i, j, k] = True

    def release_convective(self, index: np.ndarray) -> None:
        """Turn the convective walls at ``index`` (int (m, 3), unpadded) back into tissue at their
        current temperature, with the conductivity and heat capacity they were given and no
        perfusion: a vessel whose blood has stopped (a thrombosed vessel). Their heat content
        returns to the tissue's account (as :meth:`release`); the stable time step is unchanged
        (they conduct as the tissue they were built as)."""
        index = np.asarray(index, np.int64).reshape(-1, 3)
        i, j, k = index.T
        if self._s_tissue is None or not self._permanent[i, j, k].all():
            raise ValueError("only convective walls can be released as such")
        inner = (slice(1, -1),) * 3
        self._s_free[inner][i, j, k] = self._s_tissue[inner][i, j, k]
        self._ic_free[inner][i, j, k] = 1.0 / self._rc[i, j, k]
        self._permanent[i, j, k] = False
        mask = np.zeros(self.grid.shape, bool)
        mask[i, j, k] = True
        self.release(mask)

    def _tissue_neighbours(
        self, index: np.ndarray
    ) -> Iterator[tuple[tuple[np.ndarray, np.ndarray, np.ndarray], np.ndarray]]:
        """For each of the six directions, the padded indices of the neighbours of the voxels at
        ``index`` (int (m, 3), unpadded) and whether each neighbour is tissue (not held, not a
        ghost)."""
        p = index + 1
        fixed = np.pad(self._fixed, 1, constant_values=True)
        for d in _NEIGHBOURS:
            q = p + d
            yield (q[:, 0], q[:, 1], q[:, 2]), ~fixed[q[:, 0], q[:, 1], q[:, 2]]

    def _neighbour_mean_s(self, index: np.ndarray) -> np.ndarray:
        """Mean unfrozen ``s`` of the tissue (not held) neighbours of each voxel of ``index``."""
        total = np.zeros(len(index))
        count = np.zeros(len(index))
        for q, free in self._tissue_neighbours(index):
            total += np.where(free, self._s_free[q], 0.0)
            count += free
        mean = np.divide(total, count, out=np.zeros_like(total), where=count > 0)
        fallback = float(np.median(self._s_free[1:-1, 1:-1, 1:-1][~self._fixed]))
        return np.where(count > 0, mean, fallback)

    def wall_inflow(self, index: np.ndarray) -> np.ndarray:
        """Heat flowing from tissue into each held voxel of ``index`` (int (m, 3), unpadded),
        W (float64): what its faces with tissue (not with other held voxels) conduct now."""
        index = np.asarray(index, np.int64).reshape(-1, 3)
        p = tuple((index + 1).T)
        theta, s = self._theta, self._s
        c = theta[p].astype(np.float64)
        total = np.zeros(len(index))
        for q, free in self._tissue_neighbours(index):
            total += np.where(free, s[q] * (theta[q] - c), 0.0)
        return total * s[p] * self.grid.spacing

    def set_held_temperatures(self, index: np.ndarray, temperature: np.ndarray | float) -> None:
        """Set held voxels at ``index`` (int (m, 3), unpadded) to ``temperature`` (°C).

        Held voxels are not tissue: their heat content is not in the stored energy, so this
        changes no account of the ledger (what they take up from now on is booked as before).
        """
        index = np.asarray(index, np.int64).reshape(-1, 3)
        i, j, k = index.T
        if not self._fixed[i, j, k].all():
            raise ValueError("only held voxels can be set to a temperature")
        self.theta[i, j, k] = np.asarray(temperature, np.float64) - self.t_ref
        kt.fill_ghosts(self._theta, *self._ghost)  # a held voxel on a face: its ghost follows

    def release(self, mask: np.ndarray) -> None:
        """Stop holding the voxels of ``mask``: they become tissue at their current temperature.

        Convective walls (:meth:`hold_convective`) stay held."""
        mask = np.asarray(mask, bool) & self._fixed & ~self._permanent
        self.ledger.fixed -= float(self.enthalpy()[mask].sum()) * self.grid.voxel_volume
        self._fixed = self._fixed & ~mask
        inner = (slice(1, -1),) * 3
        self._s[inner][mask] = self._s_free[inner][mask]
        self._fixed_changed()

    def _fixed_changed(self) -> None:
        inner = (slice(1, -1),) * 3
        self._ic[inner] = np.where(self._fixed, 0.0, self._ic_free[inner])
        if self._w_base is self._w:
            self._w_base = self._w.copy()
        self._fixed_idx = np.ascontiguousarray(np.argwhere(self._fixed), dtype=np.int64) + 1
        self.update_coefficients(force=True)

    def update_coefficients(
        self, force: bool = False, block: tuple[slice, slice, slice] | None = None
    ) -> None:
        """Refresh the effective perfusion (and frozen conductivity) from the temperature.

        Call it at every source update of a run that freezes, and after damage has lowered
        :attr:`perfusion_padded` in a run that holds voxels; it costs one pass over the rows that
        are (or were) frozen, or a full pass with ``force``. Without freezing, ``block`` (a block
        of the grid) limits the pass to where the perfusion changed.
        """
        if self._w_base is self._w:
            return
        fixed = self._fixed
        if self.freezing is None:
            block = (slice(None),) * 3 if block is None or force else block
            padded = self._padded_block(block)
            self._w[padded] = np.where(fixed[block], 0.0, self._w_base[padded])
            return
        fz = self.freezing
        if force:
            self._cold_rows[...] = True
        kernel = kt.freeze_coefficients if self.impl == "compiled" else kt.freeze_coefficients_numpy
        self.frozen_voxels = kernel(
            self._theta,
            self._s,
            self._w,
            self._s_warm,
            self._w_base,
            fixed.view(np.uint8),
            fz.lower - self.t_ref,
            fz.upper - self.t_ref,
            fz.conductivity_ratio,
            self._cold_rows,
            fz.stasis_temperature - self.t_ref,
            self.t_ref + KELVIN,
            fz.exponent,
            -kt.NEVER if fz.injury is None else fz.injury - self.t_ref,
            self._exposure,
            self.theta_a,
            self.time - self._exposure_time,
            kt.NEVER if fz.exposure is None else fz.exposure,
        )
        self._exposure_time = self.time

    # -------------------------------------------------------------- stepping
    def warm_up(self, dose: DoseAccumulator | None = None) -> float:
        """Compile (or load from the disk cache) the kernels a :meth:`step` will use; returns s.

        Call it before timing a run, so that the timing measures the solve alone.
        """
        start = time.perf_counter()
        if self.impl == "compiled":
            self.step(0.0, 1, dose, _dry=True)
        return time.perf_counter() - start

    def step(
        self, dt: float, n: int = 1, dose: DoseAccumulator | None = None, _dry: bool = False
    ) -> None:
        """Advance ``n`` steps of ``dt`` seconds, keeping the energy ledger.

        With ``dose``, the thermal dose of the ``n`` steps is accumulated at their end as one
        dose interval (see ``kernels/dose.py``). The loop over steps stays in Python: each kernel
        is its own cached numba function (a compiled driver calling cached parallel kernels is
        not safe to cache across processes), and a call costs microseconds against the
        sub-millisecond sweep.
        """
        if n <= 0:
            return
        step_k, fix_k = self._step_kernel, self._fix_kernel
        if _dry:  # compile or load every kernel on copies, leaving the state untouched
            theta, out = self._theta.copy(), self._prev.copy()
            if len(self._fixed_idx):
                fix_k(theta, self._s, self._fixed_idx)
            step_k(
                theta,
                self._s,
                self._ic,
                self._w,
                self._q,
                out,
                self._loss.copy(),
                0.0,
                0.0,
                self.theta_a,
                self._wtable,
                self._front.copy(),
                self._ghost[0],
                self._ghost[1],
                self._hint.copy(),
            )
            if dose is not None:
                dose.warm_up(out)
            return
        h = self.grid.spacing
        vol = self.grid.voxel_volume
        a = dt / h**2
        dirichlet = self.boundary == "dirichlet"
        perf = sink = bnd = fix = 0.0
        for _ in range(n):
            if len(self._fixed_idx):
                fix += fix_k(self._theta, self._s, self._fixed_idx) * dt
            self._sweep(a, dt)
            sums = self._loss.sum(axis=0)
            perf += float(sums[0]) * dt
            sink += float(sums[1])
            if dirichlet:  # insulated faces conduct nothing (the sum is zero up to round-off)
                bnd += float(sums[2]) * dt
            self._theta, self._prev = self._prev, self._theta
        self._book(dt, n, dose, perf * vol, sink * vol, bnd * h, fix * h)

    def _book(
        self,
        dt: float,
        n: int,
        dose: DoseAccumulator | None,
        perfusion: float,
        vaporized: float,
        boundary: float,
        fixed: float,
    ) -> None:
        """Book ``n`` steps of ``dt`` s: the dose over them as one interval, the heat flows (J)
        in the ledger, the clock and the step count."""
        if n <= 0:
            return
        if dose is not None:
            dose.accumulate(self._theta, dt * n)
        led = self.ledger
        led.delivered += self._source_power * dt * n
        led.perfusion += perfusion
        led.vaporized += vaporized
        led.boundary += boundary
        led.fixed += fixed
        self.time += dt * n
        self.steps += n

    def _sweep(self, a: float, dt: float) -> None:
        """One step of the whole grid from ``_theta`` into ``_prev`` (per-plane sums in
        ``_loss``)."""
        self._step_kernel(
            self._theta,
            self._s,
            self._ic,
            self._w,
            self._q,
            self._prev,
            self._loss,
            a,
            dt,
            self.theta_a,
            self._wtable,
            self._front,
            self._ghost[0],
            self._ghost[1],
            self._hint,
        )

    def cold_block(self, below: float, margin: int) -> tuple[slice, slice, slice] | None:
        """The smallest box of grid cells holding every voxel colder than ``below`` (°C), widened
        by ``margin`` cells on each side (and clipped to the grid); None when no voxel is that
        cold. :meth:`step_local` refuses a box that reaches within a cell of the grid's faces."""
        cold = self.theta < below - self.t_ref
        if not cold.any():
            return None
        box = []
        for axis, n in enumerate(self.grid.shape):
            other = tuple(a for a in range(3) if a != axis)
            hit = np.flatnonzero(cold.any(axis=other))
            box.append(slice(max(0, int(hit[0]) - margin), min(n, int(hit[-1]) + 1 + margin)))
        return box[0], box[1], box[2]

    def step_local(
        self,
        dt: float,
        fine: int,
        block: tuple[slice, slice, slice],
        n: int = 1,
        dose: DoseAccumulator | None = None,
    ) -> None:
        """Advance ``n`` steps of ``dt`` s, each taken as ``fine`` steps of ``dt / fine`` inside
        ``block`` (multirate local time stepping), keeping the energy ledger exact.

        For frozen tissue, whose stable step is several times shorter than unfrozen tissue's: the
        grid outside the block takes one step of ``dt``, the block (holding the ice, with a ring of
        unfrozen cells) ``fine`` steps, its neighbours' temperatures interpolated linearly in time
        between the start and the end of the outer step. The heat that crossed the block's faces
        in the fine steps replaces, in the neighbours outside it, what the outer step let cross
        (refluxing), so that not a joule is lost or made. ``dt`` must be stable outside the block
        and ``dt / fine`` inside it; the ring of cells around the block must stay outside every
        phase window over the outer step: a step whose ring would enter one is refused with a
        :class:`ValueError` before any temperature of it is kept (a vaporisation front its outer
        sweep raised outside the block stays raised; the steps before it are kept and booked,
        :attr:`steps` says how many), and the caller widens the block.
        """
        if n <= 0:
            return
        step_k, fix_k = self._step_kernel, self._fix_kernel
        shape = self.grid.shape
        for b, size in zip(block, shape, strict=True):
            if b.step not in (None, 1) or b.start < 1 or b.stop > size - 1 or b.stop <= b.start:
                raise ValueError(f"block {block} must lie inside the grid, a cell off its faces")
        inner = self._padded_block(block)  # the block in padded indices
        ring = tuple(slice(b.start - 1, b.stop + 1) for b in inner)  # with its ring of cells
        origin = np.array([b.start - 1 for b in inner], np.int64)
        lo = np.array([b.start for b in inner], np.int64)
        hi = np.array([b.stop for b in inner], np.int64)
        idx = self._fixed_idx
        inside = np.all((idx >= lo) & (idx < hi), axis=1)
        idx_in = np.ascontiguousarray(idx[inside] - origin)
        idx_out = np.ascontiguousarray(idx[~inside])
        h = self.grid.spacing
        vol = self.grid.voxel_volume
        dirichlet = self.boundary == "dirichlet"
        dtf = dt / fine
        a, af = dt / h**2, dtf / h**2
        # the block's own copies: what the outer step must not touch, and the fine steps' arrays
        s_b = np.ascontiguousarray(self._s[ring])
        ic_b = np.ascontiguousarray(self._ic[ring])
        w_b = np.ascontiguousarray(self._w[ring])
        q_b = np.ascontiguousarray(self._q[ring])
        loss_b = np.zeros((s_b.shape[0], 3))
        hint_b = np.zeros(s_b.shape[:2], np.uint8)
        faces = _ring_faces(s_b.shape)
        conductance = [(s_b[f_in] * s_b[f_out]).astype(np.float64) for f_out, f_in in faces]
        perf = sink = bnd = fix = held = 0.0
        done = 0
        try:
            for _ in range(n):
                start = self._theta[ring].copy()
                front_b = np.ascontiguousarray(self._front[ring])
                # the outer step holds the block: no change, no perfusion, no latent heat there
                self._ic[inner] = 0.0
                self._w[inner] = 0.0
                try:
                    self._sweep(a, dt)
                finally:
                    self._ic[ring] = ic_b
                    self._w[ring] = w_b
                end = self._prev[ring]
                for f_out, _ in faces:  # refused before anything of this step is booked
                    self._check_ring(start[f_out], end[f_out])
                sums = self._loss.sum(axis=0)
                step_perf = float(sums[0]) * dt
                step_sink = float(sums[1])
                step_fix = fix_k(self._theta, self._s, idx_out) * dt if len(idx_out) else 0.0
                theta_b, out_b = start.copy(), np.empty_like(start)
                ring_old = [start[f_out].astype(np.float64) for f_out, _ in faces]
                ring_new = [end[f_out].astype(np.float64) for f_out, _ in faces]
                inside_sum = [np.zeros(r.shape) for r in ring_old]  # Σ over fine steps
                for k in range(fine):
                    tau = k / fine
                    for n_face, (f_out, f_in) in enumerate(faces):
                        # the ring at this fine step's start, in time; the block's face cells
                        old, new = ring_old[n_face], ring_new[n_face]
                        theta_b[f_out] = old + tau * (new - old)
                        inside_sum[n_face] += theta_b[f_in]
                    if len(idx_in):
                        step_fix += fix_k(theta_b, s_b, idx_in) * dtf
                    step_k(
                        theta_b,
                        s_b,
                        ic_b,
                        w_b,
                        q_b,
                        out_b,
                        loss_b,
                        af,
                        dtf,
                        self.theta_a,
                        self._wtable,
                        front_b,
                        0.0,
                        1.0,
                        hint_b,
                    )
                    step_perf += float(loss_b[:, 0].sum()) * dtf
                    step_sink += float(loss_b[:, 1].sum())
                    theta_b, out_b = out_b, theta_b
                self._prev[inner] = theta_b[1:-1, 1:-1, 1:-1]
                self._front[inner] = front_b[1:-1, 1:-1, 1:-1]
                # refluxing: the ring gets the heat that left the block in the fine steps, in
                # place of what the outer step let cross (J/m³); held ring cells book it
                taus = (fine - 1) / 2.0  # Σ_k k / fine
                for n_face, (f_out, f_in) in enumerate(faces):
                    old, new, ss = ring_old[n_face], ring_new[n_face], conductance[n_face]
                    # heat into the block's face cells over the fine steps, times h² / dtf
                    crossed = ss * (fine * old + taus * (new - old) - inside_sum[n_face])
                    gain = -af * crossed - a * ss * (start[f_in].astype(np.float64) - old)
                    ring_now = end[f_out]  # a view of the outer step's result
                    ring_now += (ic_b[f_out] * gain).astype(self.dtype)
                    held += float(gain[ic_b[f_out] == 0].sum()) * vol
                self._theta, self._prev = self._prev, self._theta
                perf += step_perf
                sink += step_sink
                fix += step_fix
                if dirichlet:
                    bnd += float(sums[2]) * dt
                done += 1
        finally:  # the steps done are booked, also when a later one is refused
            self._book(dt, done, dose, perf * vol, sink * vol, bnd * h, fix * h + held)
            self.local_steps += done * fine

    def _check_ring(self, before: np.ndarray, after: np.ndarray) -> None:
        """The ring around a locally stepped block must stay outside every phase window."""
        for lo, hi, _, _ in self._wtable:
            if np.any((before >= lo) & (before < hi)) or np.any((after >= lo) & (after < hi)):
                raise ValueError(
                    "a cell of the ring around the locally stepped block is in a phase window: "
                    "widen the block"
                )

    def check_finite(self) -> None:
        """Raise :class:`NumericalError` naming the first voxel that is not finite."""
        theta = self.theta
        if not np.isfinite(theta).all():
            idx = tuple(int(i) for i in np.argwhere(~np.isfinite(theta))[0])
            raise NumericalError(
                "temperature is not finite", step=self.steps, field="temperature", index=idx
            )

    # ---------------------------------------------------------------- energy
    def enthalpy(self, theta: np.ndarray | None = None) -> np.ndarray:
        """Heat content relative to the reference temperature, J/m³ (float64), per voxel."""
        theta = (self.theta if theta is None else theta).astype(np.float64)
        # ∫_0^θ m(θ') dθ' for piecewise-constant m: θ plus the excess of each window crossed
        integral = theta.copy()
        for win in self._windows:
            if win.sink:  # its latent heat is not stored: it leaves with the steam
                continue
            lo = max(win.lower - self.t_ref, -1e30)
            hi = min(win.upper - self.t_ref, 1e30)
            inside = np.clip(theta, lo, hi) - np.clip(0.0, lo, hi)
            integral += (win.factor - 1.0) * inside
        return self._rc * integral

    def stored_energy(self) -> float:
        """Heat stored in the tissue relative to the reference temperature, J (float64)."""
        h3 = self.grid.voxel_volume
        return float(self.enthalpy()[~self._fixed].sum()) * h3
