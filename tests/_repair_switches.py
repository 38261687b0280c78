"""Repair parameters that switch every process of the repair model off, for tests that switch on
the one they check (``{**REPAIR_OFF, "debris_clearance_rate": ...}``)."""

from __future__ import annotations

REPAIR_OFF: dict[str, float] = {
    "inflammation_gain": 0.0,
    "phagocyte_recruitment_rate": 0.0,
    "phagocyte_diffusivity": 0.0,
    "debris_clearance_rate": 0.0,
    "coagulated_clearance_rate": 0.0,
    "fibrosis_gain": 0.0,
    "trapped_necrosis_gain": 0.0,
    "ecm_collapse_gain": 0.0,
    "myofibroblast_activation_rate": 0.0,
    "collagen_deposition_rate": 0.0,
    "regeneration_rate": 0.0,
    "regeneration_diffusivity": 0.0,
    "vessel_regrowth_rate": 0.0,
    "vessel_regrowth_diffusivity": 0.0,
    "edema_gain": 0.0,
    "phagocyte_lifetime": 1e30,
    "remodelling_time": 1e30,
    "myofibroblast_lifetime": 1e30,
    "ischemia_threshold": 0.0,
}
