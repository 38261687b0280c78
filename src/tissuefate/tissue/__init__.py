"""Tissue state, presets with sources, and coefficients derived from the state."""

from .coefficients import perfusion_coefficient, thermal_conductivity, volumetric_heat_capacity
from .presets import Body, Material, TissueModel, available_presets, load_tissue
from .state import FIELD_INFO, TissueState

__all__ = [
    "FIELD_INFO",
    "Body",
    "Material",
    "TissueModel",
    "TissueState",
    "available_presets",
    "load_tissue",
    "perfusion_coefficient",
    "thermal_conductivity",
    "volumetric_heat_capacity",
]
