"""Parameters of the repair model: what each is, its dimension, and the preset loader.

Kept apart from :mod:`tissuefate.biology.repair` (which compiles kernels) so that checking a
scenario's repair overrides costs no kernel import.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, fields

from ..errors import ScenarioError
from ..tissue.presets import parse_value, preset_section

__all__ = ["DAY", "REPAIR_SCHEMA", "RepairParameters", "load_repair"]

DAY = 86400.0
RATE, TIME, DIFFUSIVITY, ONE = "1/[time]", "[time]", "[length]**2/[time]", "dimensionless"
REPAIR_SCHEMA: dict[str, tuple[str, bool]] = {
    "injury_signal_lifetime": (TIME, True),
    "inflammation_gain": (RATE, True),
    "inflammation_time": (TIME, True),
    "heat_immunogenicity": (ONE, True),
    "cold_immunogenicity": (ONE, True),
    "electroporation_immunogenicity": (ONE, True),
    "phagocyte_recruitment_rate": (RATE, True),
    "phagocyte_lifetime": (TIME, True),
    "phagocyte_diffusivity": (DIFFUSIVITY, True),
    "debris_clearance_rate": (RATE, True),
    "coagulated_clearance_rate": (RATE, True),
    "fibrosis_gain": (ONE, True),
    "trapped_necrosis_gain": (ONE, True),
    "ecm_collapse_gain": (ONE, True),
    "activation_half": (ONE, True),
    "myofibroblast_activation_rate": (RATE, True),
    "myofibroblast_lifetime": (TIME, True),
    "collagen_deposition_rate": (RATE, True),
    "remodelling_time": (TIME, True),
    "regeneration_rate": (RATE, True),
    "regeneration_diffusivity": (DIFFUSIVITY, True),
    "vessel_regrowth_rate": (RATE, True),
    "vessel_regrowth_diffusivity": (DIFFUSIVITY, True),
    "occlusion_recovery_time": (TIME, True),
    "edema_gain": (ONE, True),
    "edema_time": (TIME, True),
    "cell_density": ("1/[length]**3", True),
    "ischemic_death_time": (TIME, True),
    "ischemia_threshold": (ONE, True),
    "ischemic_immunogenicity": (ONE, True),
    "contraction_rate": (RATE, True),
    "contraction_half": (ONE, True),
}
_POSITIVE = {
    k
    for k, (dim, _) in REPAIR_SCHEMA.items()
    if dim == TIME or k in ("activation_half", "contraction_half")
} | {"cell_density"}
_FRACTIONS = {"ischemia_threshold"}
"""Parameters that must lie in [0, 1] (a perfusion access is at most 1)."""
_UNITS = {RATE: "1/d", TIME: "d", DIFFUSIVITY: "mm^2/d", ONE: "1", "1/[length]**3": "1/mL"}
_TO_UNITS = {RATE: DAY, TIME: 1 / DAY, DIFFUSIVITY: 1e6 * DAY, ONE: 1.0, "1/[length]**3": 1e-6}


@dataclass(frozen=True)
class RepairParameters:
    """Repair parameters of a base tissue (SI: s, 1/s, m²/s, 1/m³; see ``REPAIR_SCHEMA``)."""

    injury_signal_lifetime: float
    inflammation_gain: float
    inflammation_time: float
    heat_immunogenicity: float
    cold_immunogenicity: float
    electroporation_immunogenicity: float
    phagocyte_recruitment_rate: float
    phagocyte_lifetime: float
    phagocyte_diffusivity: float
    debris_clearance_rate: float
    coagulated_clearance_rate: float
    fibrosis_gain: float
    trapped_necrosis_gain: float
    ecm_collapse_gain: float
    activation_half: float
    myofibroblast_activation_rate: float
    myofibroblast_lifetime: float
    collagen_deposition_rate: float
    remodelling_time: float
    regeneration_rate: float
    regeneration_diffusivity: float
    vessel_regrowth_rate: float
    vessel_regrowth_diffusivity: float
    occlusion_recovery_time: float
    edema_gain: float
    edema_time: float
    cell_density: float
    ischemic_death_time: float
    ischemia_threshold: float
    ischemic_immunogenicity: float
    contraction_rate: float
    contraction_half: float
    sources: Mapping[str, str] = field(default_factory=dict, compare=False, repr=False)

    def table(self) -> dict[str, dict[str, object]]:
        """``{name: {value, units, provenance}}`` in the units a reader expects (d, 1/d, mm²/d)."""
        out: dict[str, dict[str, object]] = {}
        for f in fields(self):
            if f.name == "sources":
                continue
            dim = REPAIR_SCHEMA[f.name][0]
            out[f.name] = {
                "value": getattr(self, f.name) * _TO_UNITS[dim],
                "units": _UNITS[dim],
                "provenance": self.sources.get(f.name, ""),
            }
        return out


def load_repair(
    base: str, overrides: Mapping[str, str] | None = None, *, source: str | None = None
) -> RepairParameters | None:
    """The ``repair`` section of base tissue preset ``base`` with the scenario's overrides.

    Returns None when the preset has no repair section (e.g. a gel phantom). Errors name
    ``repair.parameters.KEY`` of the scenario, or the preset file.
    """
    values = preset_section(base, "repair", REPAIR_SCHEMA)
    overrides = dict(overrides or {})
    if not values:
        if overrides:
            raise ScenarioError(
                f"tissue preset {base!r} has no repair model to override",
                source=source,
                key="repair.parameters",
            )
        return None
    for key, text in overrides.items():
        where = f"repair.parameters.{key}"
        if key not in REPAIR_SCHEMA:
            raise ScenarioError(
                "unknown repair parameter; allowed: " + ", ".join(REPAIR_SCHEMA),
                source=source,
                key=where,
            )
        values[key] = (parse_value(text, key, REPAIR_SCHEMA, source, where), "scenario override")
    missing = [k for k in REPAIR_SCHEMA if k not in values]
    if missing:
        raise ScenarioError(
            f"preset {base!r} lacks repair parameters: {', '.join(missing)}",
            source=f"{base}.yaml",
            key="repair",
        )
    for key, (value, prov) in values.items():
        bad = not math.isfinite(value) or value < 0 or (key in _POSITIVE and value <= 0)
        if bad:
            what = "positive" if key in _POSITIVE else "a non-negative number"
            where = f"repair.parameters.{key}" if prov == "scenario override" else f"repair.{key}"
            raise ScenarioError(
                f"must be {what}, got {value:g}",
                source=source if prov == "scenario override" else f"{base}.yaml",
                key=where,
            )
        if key in _FRACTIONS and value > 1:
            raise ScenarioError(
                f"must lie in [0, 1], got {value:g}",
                source=source if prov == "scenario override" else f"{base}.yaml",
                key=where,
            )
    return RepairParameters(
        **{k: v[0] for k, v in values.items()}, sources={k: v[1] for k, v in values.items()}
    )
