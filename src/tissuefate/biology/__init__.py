"""Biology between sessions: tumour growth and invasion (repair follows)."""

from .growth import (
    GrowthLaw,
    ProliferationInvasion,
    gompertz,
    invasion_diffusivity,
    logistic,
    proliferation_rate,
)

__all__ = [
    "GrowthLaw",
    "ProliferationInvasion",
    "gompertz",
    "invasion_diffusivity",
    "logistic",
    "proliferation_rate",
]
