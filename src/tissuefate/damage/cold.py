"""Cold damage: kill from the lowest temperature of each freeze, compounded over freeze cycles.

Each freeze–thaw cycle ``c`` kills the fraction

    k_c = clip((T_partial − T_min,c) / (T_partial − T_lethal), 0, 1)

of the cells of a voxel, where ``T_min,c`` is the lowest temperature the voxel reached in that
cycle, ``T_lethal`` (−40 °C by default) the temperature at which one freeze kills every cell and
``T_partial`` (−20 °C) the onset of partial kill (clinical targets of −20 to −40 °C; cells die below
−20 °C, Papalexis et al., Curr Oncol 2023, doi 10.3390/curroncol30070495). The linear ramp between
them is an assumption: the literature gives the thresholds, not a dose-response curve. Survival
compounds over cycles, ``S = Π (1 − k_c)``, so a second freeze raises the kill in the partial zone,
as freeze–thaw–freeze protocols intend. Killed cells are lysed by ice: they become ``debris`` (not
heat-fixed), and microvessels in the killed fraction die with them. The extracellular matrix
survives the freeze: ``ecm`` is left as it is (a freeze–thaw lowers the denaturation temperature of
collagen fibrils by only 1.4–1.6 °C, destabilising without denaturing them; Ozcelikkale & Han,
PLoS One 2016, doi 10.1371/journal.pone.0146660), unlike heat above the collagen denaturation
range (``damage/thermal.py``).

The damage is reported as ``Ω = −ln S`` so that every modality's zone is ``Ω ≥ 1`` (63 % killed).
"""

from __future__ import annotations

import numpy as np

from ..tissue.state import TissueState

__all__ = ["ColdDose", "apply_cold_kill", "cycle_kill"]

OMEGA_CAP = 100.0  # Ω of a voxel where every cell died (S = 0 has no logarithm)


def cycle_kill(t_min: np.ndarray | float, lethal: float, partial: float) -> np.ndarray:
    """Fraction killed by one freeze whose lowest temperature is ``t_min`` (°C)."""
    if not partial > lethal:
        raise ValueError(
            f"the partial-kill temperature ({partial} °C) must lie above the lethal one "
            f"({lethal} °C)"
        )
    return np.clip((partial - np.asarray(t_min, np.float64)) / (partial - lethal), 0.0, 1.0)


class ColdDose:
    """Lowest temperature of the current freeze cycle and the survival of the finished ones.

    Temperatures are offsets (K) from ``reference_temperature`` (°C), as the thermal solver holds
    them, so that sampling is one float32 pass.

    Parameters
    ----------
    reference_temperature
        °C.
    initial_theta
        Offsets (K), array of the grid shape: the start of the first cycle's minimum.
    lethal, partial
        °C, the thresholds of :func:`cycle_kill`.
    """

    def __init__(
        self,
        reference_temperature: float,
        initial_theta: np.ndarray,
        lethal: float,
        partial: float,
    ) -> None:
        cycle_kill(0.0, lethal, partial)  # checks the thresholds
        self.t_ref = float(reference_temperature)
        self.lethal = float(lethal)
        self.partial = float(partial)
        self.cycle_min = np.array(initial_theta, np.float32, copy=True)
        self.lowest = self.cycle_min.copy()
        self.survival = np.ones(self.cycle_min.shape)
        self.cycles = 0

    def sample(self, theta: np.ndarray) -> None:
        """Fold the current offsets (K) into the cycle minimum."""
        np.minimum(self.cycle_min, theta, out=self.cycle_min)

    def end_cycle(self, theta: np.ndarray) -> None:
        """Close the current freeze cycle and start the next one at ``theta`` (offsets, K)."""
        self.sample(theta)
        t_min = self.cycle_min.astype(np.float64) + self.t_ref
        self.survival *= 1.0 - cycle_kill(t_min, self.lethal, self.partial)
        np.minimum(self.lowest, self.cycle_min, out=self.lowest)
        self.cycle_min[...] = theta
        self.cycles += 1

    def lowest_temperature(self) -> np.ndarray:
        """Lowest temperature reached so far in °C, float32."""
        low = np.minimum(self.lowest, self.cycle_min).astype(np.float64)
        return (low + self.t_ref).astype(np.float32)

    def omega(self) -> np.ndarray:
        """Damage ``−ln S`` of the finished cycles (capped at ``OMEGA_CAP`` where S = 0)."""
        with np.errstate(divide="ignore"):
            return np.minimum(-np.log(self.survival), OMEGA_CAP)

    def kill_fraction(self) -> np.ndarray:
        """Killed fraction ``1 − S`` of the finished cycles, float32."""
        return (1.0 - self.survival).astype(np.float32)


def apply_cold_kill(
    state: TissueState, survival: np.ndarray, vessel_death: bool = True
) -> tuple[float, float]:
    """Kill ``1 − survival`` of the tumour and parenchymal cells into ``debris``.

    With ``vessel_death`` the microvessels fall by the same factor (vessels die in lethal ice).
    The matrix (``ecm``) and dead tissue already present are left alone.
    Returns the killed tumour and parenchyma as sums of voxel fractions.
    """
    s = survival.astype(np.float32)
    killed_t = state.tumor * (1 - s)
    killed_n = state.normal * (1 - s)
    state.tumor -= killed_t
    state.normal -= killed_n
    state.debris += killed_t + killed_n
    if vessel_death:
        state.vessels *= s
    return float(killed_t.sum(dtype=np.float64)), float(killed_n.sum(dtype=np.float64))
