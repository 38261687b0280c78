"""Tumour regrowth from surviving cells: local proliferation and invasion.

Per voxel, viable tumour ``u`` (fraction of voxel capacity) grows into the capacity the other
pools leave free, ``K = 1 − (occupied − u)``, by a logistic or a Gompertz law, and invades its
neighbours by diffusion (the proliferation–invasion, or Fisher–KPP, model of glioma growth of
Swanson and colleagues)::

    ∂u/∂t = ∇·(D ∇u) + ρ u (1 − u/K)           (logistic)
    ∂u/∂t = ∇·(D ∇u) + ρ u ln(K/u)             (Gompertz)

The local laws are integrated exactly over a step (K held fixed during it), so a step of any
length keeps ``0 ≤ u ≤ K``; invasion is an explicit diffusion step (sub-stepped to stability),
split from the growth (Strang). In one dimension the front moves at ``2√(Dρ)``.

Rates from a preset's ``volume_doubling_time`` T_d (HCC: Nathani et al., Gut 2021; colorectal
metastases: Br J Surg 2019, PMID 30957066): ``ρ = ln 2 / T_d``
(the doubling of a small, well-supplied cell population), and ``D`` such that a sphere of
``REFERENCE_DIAMETER`` grown by its front alone doubles its volume in T_d:
``2√(Dρ) = (2^{1/3} − 1) R / T_d``. That anchor is an assumption: the literature gives doubling
times of visible tumours (about 1–3 cm), not separate ρ and D for liver tumours (none was found).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np

from ..kernels import transport as kt

__all__ = [
    "REFERENCE_DIAMETER",
    "GrowthLaw",
    "ProliferationInvasion",
    "gompertz",
    "invasion_diffusivity",
    "logistic",
    "proliferation_rate",
]

GrowthLaw = Literal["logistic", "gompertz"]
REFERENCE_DIAMETER = 0.02
"""m: the tumour size at which a preset's volume doubling time is taken to hold (2 cm, the
middle of the sizes the doubling-time studies measured; an assumption, see the module text)."""
DIFFUSION_SAFETY = 0.9
_TINY = 1e-30


def proliferation_rate(doubling_time: float) -> float:
    """ρ = ln 2 / T_d (1/s) from a volume doubling time ``doubling_time`` (s)."""
    if not doubling_time > 0:
        raise ValueError(f"the doubling time must be positive, got {doubling_time!r}")
    return math.log(2.0) / doubling_time


def invasion_diffusivity(doubling_time: float, diameter: float = REFERENCE_DIAMETER) -> float:
    """D (m²/s) such that a sphere of ``diameter`` (m) advancing at the Fisher speed 2√(Dρ)
    doubles its volume in ``doubling_time`` (s)."""
    rho = proliferation_rate(doubling_time)
    speed = (2.0 ** (1.0 / 3.0) - 1.0) * (0.5 * diameter) / doubling_time
    return speed * speed / (4.0 * rho)


def logistic(u: np.ndarray, capacity: np.ndarray, rho: float, t: float) -> np.ndarray:
    """Exact logistic growth of ``u`` towards ``capacity`` over ``t`` s at rate ``rho`` (1/s):
    ``K u e^{ρt} / (K + u (e^{ρt} − 1))``; 0 where there is no capacity."""
    u = np.asarray(u, dtype=np.float64)
    k = np.clip(np.asarray(capacity, dtype=np.float64), 0.0, None)
    grow = math.expm1(rho * t)  # e^{ρt} − 1, exact for small ρt
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(k > 0, k * u * (1.0 + grow) / (k + u * grow), 0.0)
    return np.clip(np.nan_to_num(out), 0.0, k)


def gompertz(u: np.ndarray, capacity: np.ndarray, rho: float, t: float) -> np.ndarray:
    """Exact Gompertz growth of ``u`` towards ``capacity`` over ``t`` s at rate ``rho`` (1/s):
    ``ln(u/K)`` decays as ``e^{−ρt}``; 0 stays 0."""
    u = np.asarray(u, dtype=np.float64)
    k = np.clip(np.asarray(capacity, dtype=np.float64), 0.0, None)
    live = (u > _TINY) & (k > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(live, np.minimum(u, k) / np.where(k > 0, k, 1.0), 1.0)
        out = np.where(live, k * np.exp(np.log(ratio) * math.exp(-rho * t)), 0.0)
    return np.clip(out, 0.0, k)


@dataclass
class ProliferationInvasion:
    """Growth and invasion of viable tumour on a grid.

    Parameters
    ----------
    spacing
        Voxel edge (m).
    rho
        Proliferation rate (1/s), scalar or grid-shaped (0 where the tumour cannot grow).
    diffusivity
        Invasion diffusivity D (m²/s), scalar or grid-shaped (0 blocks invasion, e.g. in scar).
    law
        ``"logistic"`` or ``"gompertz"``.
    impl
        ``"compiled"`` or ``"numpy"`` for the diffusion step.
    """

    spacing: float
    rho: np.ndarray | float
    diffusivity: np.ndarray | float
    law: GrowthLaw = "logistic"
    impl: str = "compiled"

    def max_diffusion_dt(self) -> float:
        """Largest stable explicit invasion step (s)."""
        d = float(np.max(self.diffusivity))
        return math.inf if d <= 0 else DIFFUSION_SAFETY * self.spacing**2 / (6.0 * d)

    def grow(self, u: np.ndarray, capacity: np.ndarray, t: float) -> np.ndarray:
        """Local growth of ``u`` over ``t`` s towards ``capacity`` (no invasion)."""
        law = logistic if self.law == "logistic" else gompertz
        rho = np.asarray(self.rho, dtype=np.float64)
        if rho.ndim == 0:
            return law(u, capacity, float(rho), t)
        out = np.asarray(u, dtype=np.float64).copy()
        for value in np.unique(rho):  # one exact step per distinct rate
            where = rho == value
            out[where] = law(out[where], np.asarray(capacity)[where], float(value), t)
        return out

    def invade(self, u: np.ndarray, capacity: np.ndarray, t: float) -> np.ndarray:
        """Invasion by diffusion over ``t`` s (sub-stepped), closed faces.

        Cells move into free space only: each voxel's diffusivity is ``D`` times its free
        capacity, so no cell enters a full voxel (scar, a voxel packed with dead tissue); a
        voxel filled past its capacity is brought back by the next growth step (crowding).
        """
        u = np.asarray(u, dtype=np.float64)
        k = np.clip(np.asarray(capacity, dtype=np.float64), 0.0, 1.0)
        d = np.broadcast_to(np.asarray(self.diffusivity, dtype=np.float64), u.shape) * k
        if not np.any(d > 0) or t <= 0:
            return u.copy()
        n = max(1, math.ceil(t / self.max_diffusion_dt()))
        pad, out = np.pad(u, 1), np.zeros(tuple(m + 2 for m in u.shape))
        dpad, cap = np.pad(d, 1), np.ones_like(out)
        hold, inflow = np.zeros(u.shape, np.uint8), np.zeros(u.shape[0])
        step = kt.diffuse_step if self.impl == "compiled" else kt.diffuse_step_numpy
        for _ in range(n):
            step(pad, dpad, cap, hold, out, t / n / self.spacing**2, inflow)
            pad, out = out, pad
        return pad[1:-1, 1:-1, 1:-1].copy()

    def step(self, u: np.ndarray, capacity: np.ndarray, t: float) -> np.ndarray:
        """Half growth, invasion, half growth over ``t`` s (Strang splitting)."""
        half = 0.5 * t
        u = self.grow(u, capacity, half)
        u = self.invade(u, capacity, t)
        return self.grow(u, capacity, half)
