"""Thermal damage: the Arrhenius integral and CEM43 during a session, and what they kill.

The dose arrays live here; the per-step update is the compiled kernel ``kernels/dose.py``. A voxel's
surviving fraction after a dose Ω is ``exp(-Ω)``. During the session the killed fraction of tumour
and parenchymal cells is moved into ``coagulated`` and the microvessels die with the tissue, so
perfusion stops where tissue dies (:func:`apply_thermal_kill`).

What the dead tissue *is* depends on how hot it got, and is settled once the session ends
(:func:`settle_heat_injury`), from the peak temperature ``T`` of each voxel over the session:

- cells are heat-fixed (coagulative necrosis that keeps its architecture and clears slowly) only
  where the proteins coagulate at once: the fixed share of the cells this session killed is
  ``f(T) = ramp(T; fixation_temperature_low, fixation_temperature_high)``; the rest, killed over
  minutes at moderate heat, becomes ``debris`` (clearable necrosis). Above 60 °C death is
  "relatively instantaneous", while at 50–60 °C coagulation and death take minutes (Brace, Curr
  Probl Diagn Radiol 2009;38:135, PMC2941203);
- the collagen scaffold denatures: ``ecm`` is multiplied by ``1 − d(T)`` with
  ``d(T) = ramp(T; matrix_denaturation_temperature_low, matrix_denaturation_temperature_high)``
  (collagen of fully hydrated native fibres denatures at 65 °C, Miles et al., J Mol Biol 2005,
  doi 10.1016/j.jmb.2004.12.001; heat-induced shrinkage of a collagenous tissue proceeds within
  seconds to minutes at 65–90 °C, Chen, Wright & Humphrey, J Biomech Eng 1998, doi
  10.1115/1.2798005).

``ramp(T; low, high) = clip((T − low) / (high − low), 0, 1)``; the thresholds are the tissue
preset's (``body:``) and their sources are given there. Cells killed in earlier sessions are left
as they are. Cold leaves the matrix alone (``damage/cold.py``).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..grid.anatomy import Anatomy
from ..kernels import dose as kd
from ..tissue.presets import Body, TissueModel
from ..tissue.state import TissueState

__all__ = [
    "GAS_CONSTANT",
    "HeatInjury",
    "ThermalDose",
    "apply_thermal_kill",
    "arrhenius_rate",
    "arrhenius_time",
    "fixed_share",
    "matrix_denatured_share",
    "settle_heat_injury",
    "temperature_ramp",
]

GAS_CONSTANT = 8.314462618  # J/mol/K (CODATA 2018, exact)
KELVIN = 273.15


def arrhenius_rate(
    temperature_c: np.ndarray | float, frequency_factor: float, activation_energy: float
) -> np.ndarray:
    """Arrhenius damage rate ``A exp(-Ea / (R T))`` in 1/s at ``temperature_c`` (°C, float64)."""
    kelvin = np.asarray(temperature_c, np.float64) + KELVIN
    return frequency_factor * np.exp(-activation_energy / (GAS_CONSTANT * kelvin))


def arrhenius_time(
    temperature_c: float, frequency_factor: float, activation_energy: float, omega: float = 1.0
) -> float:
    """Time in s to reach damage ``omega`` at constant temperature (°C) for the pair (A, Ea)."""
    return omega / float(arrhenius_rate(temperature_c, frequency_factor, activation_energy))


class ThermalDose:
    """Arrhenius damage Ω (1), CEM43 (min) and peak temperature of each voxel during a session.

    Parameters
    ----------
    tissue, anatomy
        Arrhenius pair of each voxel's material.
    reference_temperature
        °C; the solver's temperature offsets are relative to it.
    initial_theta
        Initial temperature offset (K), array of the grid shape: the start of the peak record.
    impl
        ``"compiled"`` or ``"numpy"``.
    """

    def __init__(
        self,
        tissue: TissueModel,
        anatomy: Anatomy,
        reference_temperature: float,
        initial_theta: np.ndarray,
        impl: str = "compiled",
    ) -> None:
        shape = anatomy.grid.shape
        self.t_ref = float(reference_temperature)
        self.material = np.ascontiguousarray(anatomy.material)
        self.ln_a = np.array([math.log(m.arrhenius_frequency_factor) for m in tissue.materials])
        self.ea_r = np.array(
            [m.arrhenius_activation_energy / GAS_CONSTANT for m in tissue.materials]
        )
        self.threshold = float(tissue.body.damage_threshold)
        self.omega = np.zeros(shape)
        self.cem43 = np.zeros(shape)
        self.peak = np.array(initial_theta, dtype=np.float32, copy=True)
        self.trough = np.array(initial_theta, dtype=np.float32, copy=True)
        self.hot = np.empty((shape[0], 4), dtype=np.int64)
        self.hot[:, 0::2] = np.iinfo(np.int64).max
        self.hot[:, 1::2] = -1
        self._impl = impl
        self.cache = np.zeros((*shape, 4))
        self.was_hot = np.zeros(shape[:2], np.bool_)
        self._kernel = kd.dose_interval if impl == "compiled" else kd.dose_interval_numpy
        # start the interval integrals at the initial temperature (no dose yet)
        self._interval(
            kd.dose_interval_numpy, np.pad(np.asarray(initial_theta, np.float32), 1), 0.0
        )

    def _interval(
        self, kernel: Callable[..., None], theta: np.ndarray, dt: float, scratch: bool = False
    ) -> None:
        """Run a dose-interval kernel on this dose's arrays (on copies with ``scratch``)."""
        arrays = (self.omega, self.cem43, self.peak, self.hot, self.cache, self.was_hot)
        if scratch:
            arrays = tuple(a.copy() for a in arrays)
        kernel(
            theta,
            self.material,
            self.ln_a,
            self.ea_r,
            self.t_ref,
            self.threshold - self.t_ref,
            dt,
            *arrays,
        )

    def accumulate(self, current: np.ndarray, dt: float) -> None:
        """Add a dose interval of ``dt`` s ending at the padded offsets ``current`` (K)."""
        self._interval(self._kernel, current, dt)

    def warm_up(self, theta: np.ndarray | None = None) -> float:
        """Compile or load the dose and state-update kernels before a timed run; returns s.

        ``theta`` (padded offsets) gives the dose kernel its argument types; nothing changes.
        """
        start = time.perf_counter()
        if self._impl == "compiled":
            empty = np.zeros((1, 1, 1), np.float32)
            kd.apply_kill(
                self.omega, self.omega, empty, empty, empty, empty, empty, 0, 0, 0, 0, 0, 0, True,
                1.0,
            )  # fmt: skip
            if theta is not None:
                self._interval(kd.dose_interval, theta, 0.0, scratch=True)
        return time.perf_counter() - start

    def sample(self, theta: np.ndarray) -> None:
        """Fold a temperature snapshot (offsets, interior) into the peak and trough records.

        Voxels at or above the threshold are tracked every step by :meth:`accumulate`; this catches
        the cooler ones at the sampling interval.
        """
        np.maximum(self.peak, theta, out=self.peak)
        np.minimum(self.trough, theta, out=self.trough)

    def hot_block(self) -> tuple[slice, slice, slice] | None:
        """Bounding block of every voxel that has reached the threshold so far, or None."""
        planes = np.nonzero(self.hot[:, 1] >= 0)[0]
        if planes.size == 0:
            return None
        rows = self.hot[planes]
        return (
            slice(int(planes[0]), int(planes[-1]) + 1),
            slice(int(rows[:, 0].min()), int(rows[:, 1].max()) + 1),
            slice(int(rows[:, 2].min()), int(rows[:, 3].max()) + 1),
        )

    def kill_fraction(self) -> np.ndarray:
        """Killed fraction ``1 - exp(-Ω)`` of each voxel, float32."""
        return (-np.expm1(-self.omega)).astype(np.float32)

    def peak_temperature(self) -> np.ndarray:
        """Peak temperature in °C, float32."""
        return (self.peak.astype(np.float64) + self.t_ref).astype(np.float32)

    def min_temperature(self) -> np.ndarray:
        """Lowest temperature in °C, float32."""
        return (self.trough.astype(np.float64) + self.t_ref).astype(np.float32)


def apply_thermal_kill(
    state: TissueState,
    omega: np.ndarray,
    applied: np.ndarray,
    perfusion: np.ndarray | None = None,
    block: tuple[slice, slice, slice] | None = None,
    impl: str = "compiled",
    stasis_dose: float = 1.0,
) -> None:
    """Move cells killed by the dose increase ``omega - applied`` into ``coagulated``.

    Every cell killed during a session is held here until :func:`settle_heat_injury` moves the
    share that was not heat-fixed to ``debris`` at the session's end.

    Survival composes exactly (``exp(-Ω1) exp(-Ω2) = exp(-(Ω1 + Ω2))``), so calling this at any
    interval gives the same final state. When ``perfusion`` (the solver's *padded* perfusion
    coefficient) is given, microvessels die with the tissue and blood flow stops at the dose
    ``stasis_dose`` (Ω at which the perfusion coefficient has fallen to 1/e; 1: flow stops with
    the microvessels, the first-order model; larger: stasis lags cell death); without it perfusion
    and vessels are left alone. ``applied`` is updated to ``omega``. Works on ``block`` only, when
    given.
    """
    shape = omega.shape
    block = block or (slice(None),) * 3
    (i0, i1, _), (j0, j1, _), (k0, k1, _) = (
        b.indices(n) for b, n in zip(block, shape, strict=True)
    )
    shutdown = perfusion is not None
    w = perfusion if shutdown else np.zeros((1, 1, 1), np.float32)
    kernel = kd.apply_kill if impl == "compiled" else kd.apply_kill_numpy
    kernel(
        omega,
        applied,
        state.tumor,
        state.normal,
        state.coagulated,
        state.vessels,
        w,
        i0,
        i1,
        j0,
        j1,
        k0,
        k1,
        shutdown,
        1.0 / stasis_dose,
    )


def temperature_ramp(temperature_c: np.ndarray | float, low: float, high: float) -> np.ndarray:
    """Share in [0, 1] rising linearly from 0 at ``low`` to 1 at ``high`` (all °C), float32.

    ``low == high`` is a step: 1 at or above ``low``, 0 below.
    """
    if not high >= low:
        raise ValueError(
            f"the ramp's upper temperature ({high} °C) lies below its lower ({low} °C)"
        )
    t = np.asarray(temperature_c, np.float64)
    if high == low:
        return (t >= low).astype(np.float32)
    return np.clip((t - low) / (high - low), 0.0, 1.0).astype(np.float32)


def fixed_share(peak_c: np.ndarray | float, body: Body) -> np.ndarray:
    """Share of the cells a heat session killed that are heat-fixed, by peak temperature (°C)."""
    return temperature_ramp(peak_c, body.fixation_temperature_low, body.fixation_temperature_high)


def matrix_denatured_share(peak_c: np.ndarray | float, body: Body) -> np.ndarray:
    """Share of the extracellular matrix denatured by heat, by peak temperature (°C)."""
    return temperature_ramp(
        peak_c, body.matrix_denaturation_temperature_low, body.matrix_denaturation_temperature_high
    )


@dataclass(frozen=True)
class HeatInjury:
    """What a heat session left behind, as sums of voxel fractions (× voxel volume = volume).

    ``fixed``: cells killed this session that stay ``coagulated``; ``loose``: those moved to
    ``debris``; ``matrix_lost``: ``ecm`` lost to denaturation.
    """

    fixed: float
    loose: float
    matrix_lost: float


def settle_heat_injury(
    state: TissueState,
    coagulated_before: np.ndarray,
    peak_c: np.ndarray,
    body: Body,
) -> HeatInjury:
    """Sort the cells a heat session killed by mechanism and denature the matrix; call at its end.

    ``coagulated_before`` is ``state.coagulated`` at the start of the session, so that
    ``state.coagulated − coagulated_before`` is what :func:`apply_thermal_kill` added during it:
    of that, the share ``1 − fixed_share(peak_c)`` moves to ``debris``. ``ecm`` is multiplied by
    ``1 − matrix_denatured_share(peak_c)``. ``peak_c`` is the session's peak temperature (°C) of
    each voxel; all arrays have the grid's shape. Dead tissue from earlier sessions is untouched.
    """
    new = np.clip(state.coagulated - coagulated_before, 0.0, None)
    loose = new * (1.0 - fixed_share(peak_c, body))
    state.coagulated -= loose
    state.debris += loose
    lost = state.ecm * matrix_denatured_share(peak_c, body)
    state.ecm -= lost
    return HeatInjury(
        fixed=float(new.sum(dtype=np.float64) - loose.sum(dtype=np.float64)),
        loose=float(loose.sum(dtype=np.float64)),
        matrix_lost=float(lost.sum(dtype=np.float64)),
    )
