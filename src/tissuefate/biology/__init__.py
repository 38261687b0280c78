"""Biology between sessions: tissue repair (clearance, inflammation, scar, regeneration, vessels)
and tumour growth and invasion.

The public names are imported on first use (PEP 562): checking a scenario's repair parameters
does not compile the repair kernels.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_names

if TYPE_CHECKING:
    from .growth import (
        GrowthLaw,
        ProliferationInvasion,
        gompertz,
        invasion_diffusivity,
        logistic,
        proliferation_rate,
    )
    from .repair import RepairClock, RepairModel
    from .repair_parameters import REPAIR_SCHEMA, RepairParameters, load_repair

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

__getattr__, __dir__ = lazy_names(
    __name__,
    {
        **dict.fromkeys(
            (
                "GrowthLaw",
                "ProliferationInvasion",
                "gompertz",
                "invasion_diffusivity",
                "logistic",
                "proliferation_rate",
            ),
            "growth",
        ),
        "RepairClock": "repair",
        "RepairModel": "repair",
        **dict.fromkeys(("REPAIR_SCHEMA", "RepairParameters", "load_repair"), "repair_parameters"),
    },
)
