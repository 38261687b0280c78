"""Thermal damage: the Arrhenius integral and CEM43 during a session, and what they kill.

The dose arrays live here; the per-step update is the compiled kernel ``kernels/dose.py``. A voxel's
surviving fraction after a dose Ω is ``exp(-Ω)``; the killed fraction of tumour and parenchymal
cells becomes ``coagulated`` tissue (heat-fixed necrosis) and the microvessels die with the tissue,
so perfusion stops where tissue coagulates.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

import numpy as np

from ..grid.anatomy import Anatomy
from ..kernels import dose as kd
from ..tissue.presets import TissueModel
from ..tissue.state import TissueState

__all__ = ["GAS_CONSTANT", "ThermalDose", "apply_thermal_kill", "arrhenius_time"]

GAS_CONSTANT = 8.314462618  # J/mol/K (CODATA 2018, exact)
KELVIN = 273.15


def arrhenius_time(
    temperature_c: float, frequency_factor: float, activation_energy: float, omega: float = 1.0
) -> float:
    """Time in s to reach damage ``omega`` at constant temperature (°C) for the pair (A, Ea)."""
    rate = frequency_factor * math.exp(
        -activation_energy / (GAS_CONSTANT * (temperature_c + KELVIN))
    )
    return omega / rate


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
                self.omega, self.omega, empty, empty, empty, empty, empty, 0, 0, 0, 0, 0, 0, True
            )
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
) -> None:
    """Move cells killed by the dose increase ``omega - applied`` into ``coagulated``.

    Survival composes exactly (``exp(-Ω1) exp(-Ω2) = exp(-(Ω1 + Ω2))``), so calling this at any
    interval gives the same final state. When ``perfusion`` (the solver's *padded* perfusion
    coefficient) is given, microvessels die with the tissue and the perfusion coefficient, which is
    proportional to them, falls with them; without it perfusion and vessels are left alone.
    ``applied`` is updated to ``omega``. Works on ``block`` only, when given.
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
    )
