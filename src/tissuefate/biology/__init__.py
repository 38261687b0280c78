"""Biology between sessions: tissue repair (clearance, inflammation, scar, regeneration, vessels)
and tumour growth and invasion."""

from .growth import (
    GrowthLaw,
    ProliferationInvasion,
    gompertz,
    invasion_diffusivity,
    logistic,
    proliferation_rate,
)
from .repair import REPAIR_SCHEMA, RepairClock, RepairModel, RepairParameters, load_repair

__all__ = [
    "REPAIR_SCHEMA",
    "GrowthLaw",
    "ProliferationInvasion",
    "RepairClock",
    "RepairModel",
    "RepairParameters",
    "gompertz",
    "invasion_diffusivity",
    "load_repair",
    "logistic",
    "proliferation_rate",
]
