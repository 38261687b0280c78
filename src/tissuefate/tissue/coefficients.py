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

__all__ = [
    "agent_demand",
    "extracellular_fraction",
    "hydraulic_permeability",
    "per_material",
    "perfusion_coefficient",
    "perfusion_rate",
    "specific_storage",
    "thermal_conductivity",
    "volumetric_heat_capacity",
]


def per_material(tissue: TissueModel, anatomy: Anatomy, attr: str) -> np.ndarray:
    """The material property ``attr`` of each voxel (float64, grid shape)."""
    table = np.array([getattr(m, attr) for m in tissue.materials], dtype=np.float64)
    return table[anatomy.material]


def thermal_conductivity(tissue: TissueModel, anatomy: Anatomy, state: TissueState) -> np.ndarray:
    """Thermal conductivity k in W/m/K of each voxel's material.

    Coagulation is not known to change k by more than the spread between sources, so the state
    does not enter yet; scar (collagen) will, once a sourced value exists.
    """
    del state  # no sourced state dependence yet (see docstring)
    return per_material(tissue, anatomy, "thermal_conductivity").astype(np.float32)


def volumetric_heat_capacity(
    tissue: TissueModel, anatomy: Anatomy, state: TissueState
) -> np.ndarray:
    """Volumetric heat capacity ρc in J/m³/K (outside any latent-heat window)."""
    del state
    return per_material(tissue, anatomy, "volumetric_heat_capacity").astype(np.float32)


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
    w = perfusion_rate(tissue, anatomy, state, block) * tissue.body.blood_heat_capacity
    return w.astype(np.float32)


def perfusion_rate(
    tissue: TissueModel,
    anatomy: Anatomy,
    state: TissueState,
    block: tuple[slice, slice, slice] | None = None,
) -> np.ndarray:
    """Blood flow per tissue volume ``ω · vessels · (1 − occlusion)`` in 1/s (float64)."""
    block = block or (slice(None),) * 3
    rate = np.array([m.perfusion_rate for m in tissue.materials])[anatomy.material[block]]
    w = rate * state.vessels[block] * (1.0 - state.occlusion[block])
    return np.clip(w, 0.0, None)


def extracellular_fraction(tissue: TissueModel, anatomy: Anatomy, state: TissueState) -> np.ndarray:
    """Volume fraction of each voxel open to an injected liquid (1).

    Dead cells no longer exclude the liquid, nor does room that repair has cleared and not yet
    refilled: the fraction rises towards 1 with ``debris`` and with the free room.
    """
    phi = per_material(tissue, anatomy, "extracellular_fraction")
    open_ = np.clip(state.debris + np.clip(1.0 - state.occupied(), 0.0, None), 0.0, 1.0)
    return (phi + (1.0 - phi) * open_).astype(np.float32)


def specific_storage(tissue: TissueModel, anatomy: Anatomy, state: TissueState) -> np.ndarray:
    """Fluid the tissue stores per volume and pressure (1/Pa, float64): each material's
    ``1/M`` (:attr:`~tissuefate.tissue.presets.Material.specific_storage`); none in large
    vessels, which take no Darcy flow. The state does not enter yet: no sourced stiffness of
    dead tissue or scar was found."""
    del state
    s = per_material(tissue, anatomy, "specific_storage")
    return np.where(anatomy.vessel, 0.0, s)


def agent_demand(
    demand_normal: float, demand_tumor: float, anatomy: Anatomy, state: TissueState
) -> np.ndarray:
    """Agent demand in mol/m³ of tissue: ``demand_tumor`` per unit of viable tumour and
    ``demand_normal`` per unit of everything else the voxel holds (parenchyma, dead tissue,
    fibroblasts, collagen); room cleared by repair holds nothing that consumes the agent, and
    large-vessel voxels none (float64)."""
    tumor = np.clip(state.tumor.astype(np.float64), 0.0, 1.0)
    rest = np.clip(state.occupied().astype(np.float64) - tumor, 0.0, 1.0)
    return np.where(anatomy.vessel, 0.0, demand_normal * rest + demand_tumor * tumor)


def hydraulic_permeability(tissue: TissueModel, anatomy: Anatomy, state: TissueState) -> np.ndarray:
    """Darcy permeability K in m² of each voxel.

    The material's K, scaled geometrically by the state: towards the body's
    ``debris_permeability_factor`` with ``debris`` and towards ``scar_permeability_factor`` with
    ``collagen``. Large-vessel voxels are impermeable (the injectate does not enter the lumen by
    Darcy flow; a leak into vessels is counted separately).
    """
    body = tissue.body
    k = per_material(tissue, anatomy, "hydraulic_permeability")
    debris = np.clip(state.debris, 0.0, 1.0)
    collagen = np.clip(state.collagen, 0.0, 1.0)
    k = k * body.debris_permeability_factor**debris * body.scar_permeability_factor**collagen
    return np.where(anatomy.vessel, 0.0, k)
