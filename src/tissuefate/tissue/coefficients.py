"""Physical coefficients derived from the tissue state (never stored beside it).

Each function maps (tissue model, anatomy, state) to a float32 array of the grid's shape. This is
how history reaches the next session: a later change of state (coagulation, scar, occlusion)
changes the coefficients through these functions alone.
"""

from __future__ import annotations

import numpy as np

from ..grid.anatomy import Anatomy
from .presets import TissueModel
from .state import TissueState

__all__ = ["perfusion_coefficient", "thermal_conductivity", "volumetric_heat_capacity"]


def _per_material(tissue: TissueModel, anatomy: Anatomy, attr: str) -> np.ndarray:
    table = np.array([getattr(m, attr) for m in tissue.materials], dtype=np.float64)
    return table[anatomy.material]


def thermal_conductivity(tissue: TissueModel, anatomy: Anatomy, state: TissueState) -> np.ndarray:
    """Thermal conductivity k in W/m/K of each voxel's material.

    Coagulation is not known to change k by more than the spread between sources, so the state
    does not enter yet; scar (collagen) will, once a sourced value exists.
    """
    del state  # no sourced state dependence yet (see docstring)
    return _per_material(tissue, anatomy, "thermal_conductivity").astype(np.float32)


def volumetric_heat_capacity(
    tissue: TissueModel, anatomy: Anatomy, state: TissueState
) -> np.ndarray:
    """Volumetric heat capacity ρc in J/m³/K (outside any latent-heat window)."""
    del state
    return _per_material(tissue, anatomy, "volumetric_heat_capacity").astype(np.float32)


def perfusion_coefficient(
    tissue: TissueModel,
    anatomy: Anatomy,
    state: TissueState,
    block: tuple[slice, slice, slice] | None = None,
) -> np.ndarray:
    """Pennes perfusion coefficient ``W = ω_b ρ_b c_b · vessels · (1 − occlusion)`` in W/m³/K.

    ``vessels`` falls as tissue coagulates, so perfusion stops in coagulated tissue; it is zero in
    large-vessel voxels, which are held at blood temperature instead. ``block`` restricts the
    computation to a sub-block of the grid (the result has the block's shape).
    """
    block = block or (slice(None),) * 3
    rate = np.array([m.perfusion_rate for m in tissue.materials])[anatomy.material[block]]
    w = (
        rate
        * tissue.body.blood_heat_capacity
        * state.vessels[block]
        * (1.0 - state.occlusion[block])
    )
    return np.clip(w, 0.0, None).astype(np.float32)
