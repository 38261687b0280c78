"""Tissue presets: parameter files with a source for every number, resolved into SI values.

A preset file (``presets/NAME.yaml``) holds ``parameters`` (properties of that material) and, for a
base tissue, ``body`` (properties of blood, of tissue water and of the damage model that hold for
the whole scenario). Each entry has a ``value`` with units and either a ``source`` or an
``assumption`` that says why the value was chosen without one. ``extends`` inherits every parameter
of another preset and must state the assumption that makes this acceptable.

Temperatures are in °C, everything else in SI base units.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from importlib import resources
from typing import Any, NoReturn

import numpy as np
import yaml

from ..errors import ScenarioError
from ..scenario.quantities import parse_quantity, to_si

__all__ = [
    "IRE_PARAMETERS",
    "Body",
    "Material",
    "TissueModel",
    "available_presets",
    "check_electroporation",
    "load_tissue",
    "parse_entries",
    "parse_value",
    "preset_section",
]

PRESET_PACKAGE = "tissuefate.tissue"
PRESET_FOLDER = "presets"

# name -> (pint dimensionality, required)
MATERIAL_SCHEMA: dict[str, tuple[str, bool]] = {
    "thermal_conductivity": ("[power]/[length]/[temperature]", True),
    "density": ("[mass]/[length]**3", True),
    "specific_heat": ("[energy]/[mass]/[temperature]", True),
    "perfusion_rate": ("1/[time]", True),
    "arrhenius_frequency_factor": ("1/[time]", True),
    "arrhenius_activation_energy": ("[energy]/[substance]", True),
    "water_mass_fraction": ("dimensionless", True),
    "mw_permittivity_a": ("dimensionless", True),
    "mw_permittivity_b": ("dimensionless", True),
    "mw_permittivity_c": ("1/[temperature]", True),
    "mw_permittivity_d": ("dimensionless", True),
    "mw_conductivity_a": ("[current]**2*[time]**3/[mass]/[length]**3", True),
    "mw_conductivity_b": ("dimensionless", True),
    "mw_conductivity_c": ("1/[temperature]", True),
    "rf_conductivity": ("[current]**2*[time]**3/[mass]/[length]**3", True),
    "rf_conductivity_coefficient": ("1/[temperature]", True),
    "hydraulic_permeability": ("[length]**2", True),
    "extracellular_fraction": ("dimensionless", True),
    "volume_doubling_time": ("[time]", False),
    "collagen_fraction": ("dimensionless", False),
    "shear_modulus": ("[mass]/[length]/[time]**2", False),
    "drained_poisson_ratio": ("dimensionless", False),
    "ire_conductivity_intact": ("[current]**2*[time]**3/[mass]/[length]**3", False),
    "ire_conductivity_electroporated": ("[current]**2*[time]**3/[mass]/[length]**3", False),
    "ire_field_reversible": ("[mass]*[length]/[current]/[time]**3", False),
    "ire_field_irreversible": ("[mass]*[length]/[current]/[time]**3", False),
    "ire_conductivity_coefficient": ("1/[temperature]", False),
    "ire_lethal_field": ("[mass]*[length]/[current]/[time]**3", False),
    "ire_lethal_width": ("[mass]*[length]/[current]/[time]**3", False),
    "ire_lethal_field_decay": ("dimensionless", False),
    "ire_lethal_width_decay": ("dimensionless", False),
    "ire_microvessel_kill": ("dimensionless", False),
}
# The parameters of irreversible electroporation: a material has all of them or none.
IRE_PARAMETERS: tuple[str, ...] = tuple(k for k in MATERIAL_SCHEMA if k.startswith("ire_"))
BODY_SCHEMA: dict[str, tuple[str, bool]] = {
    "blood_density": ("[mass]/[length]**3", True),
    "blood_specific_heat": ("[energy]/[mass]/[temperature]", True),
    "body_temperature": ("[temperature]", True),
    "damage_threshold": ("[temperature]", True),
    "latent_heat_vaporization": ("[energy]/[mass]", True),
    "vaporization_temperature": ("[temperature]", True),
    "vaporization_window": ("[temperature]", True),
    "latent_heat_fusion": ("[energy]/[length]**3", True),
    "freezing_start": ("[temperature]", True),
    "freezing_end": ("[temperature]", True),
    "frozen_specific_heat_ratio": ("dimensionless", True),
    "frozen_conductivity_ratio": ("dimensionless", True),
    "frozen_conductivity_exponent": ("dimensionless", True),
    "cryo_stasis_temperature": ("[temperature]", True),
    "cryo_vessel_injury_temperature": ("[temperature]", True),
    "cryo_stasis_exposure": ("[temperature]*[time]", True),
    "rf_vaporized_conductivity_factor": ("dimensionless", True),
    "rehydration_time": ("[time]", True),
    "cryo_lethal_temperature": ("[temperature]", True),
    "cryo_partial_temperature": ("[temperature]", True),
    "interstitial_viscosity": ("[mass]/[length]/[time]", True),
    "critical_infusion_pressure": ("[mass]/[length]/[time]**2", True),
    "leak_vessel_fraction": ("dimensionless", True),
    "ischemic_death_time": ("[time]", True),
    "scar_permeability_factor": ("dimensionless", True),
    "debris_permeability_factor": ("dimensionless", True),
    "fixation_temperature_low": ("[temperature]", True),
    "fixation_temperature_high": ("[temperature]", True),
    "matrix_denaturation_temperature_low": ("[temperature]", True),
    "matrix_denaturation_temperature_high": ("[temperature]", True),
    "perfusion_stasis_dose": ("dimensionless", True),
    "blood_thermal_conductivity": ("[power]/[length]/[temperature]", True),
    "blood_viscosity": ("[mass]/[length]/[time]", True),
    "blood_electrical_conductivity": ("[current]**2*[time]**3/[mass]/[length]**3", True),
}
# Examples shown in error messages, by dimension.
_EXAMPLES = {
    "[power]/[length]/[temperature]": "0.52 W/m/K",
    "[mass]/[length]**3": "1079 kg/m^3",
    "[energy]/[mass]/[temperature]": "3540 J/kg/K",
    "1/[time]": "0.0064 1/s",
    "[energy]/[substance]": "2.577e5 J/mol",
    "dimensionless": "0.75",
    "1/[temperature]": "0.0764 1/K",
    "[current]**2*[time]**3/[mass]/[length]**3": "2.173 S/m",
    "[time]": "140 d",
    "[temperature]": "37 degC",
    "[energy]/[mass]": "2.26e6 J/kg",
    "[energy]/[length]**3": "250e6 J/m^3",
    "[length]**2": "1e-14 m^2",
    "[mass]/[length]/[time]": "0.7 mPa*s",
    "[mass]/[length]/[time]**2": "20 kPa",
    "[substance]/[length]**3": "17 mol/L",
    "[mass]/[substance]": "46.07 g/mol",
    "[length]**2/[time]": "1e-9 m^2/s",
    "[length]**3/[substance]/[time]": "1.8e8 L/mol/s",
    "[mass]*[length]/[current]/[time]**3": "700 V/cm",
    "[temperature]*[time]": "30000 K*s",
}
# Parameters whose temperature dimension is a difference (K), not an absolute temperature.
_TEMPERATURE_DIFFERENCES = {
    "vaporization_window",
    "mw_permittivity_c",
    "mw_conductivity_c",
    "rf_conductivity_coefficient",
    "ire_conductivity_coefficient",
}


@dataclass(frozen=True)
class Material:
    """Properties of one tissue material (SI units; see ``MATERIAL_SCHEMA``)."""

    name: str
    thermal_conductivity: float  # W/m/K
    density: float  # kg/m³
    specific_heat: float  # J/kg/K
    perfusion_rate: float  # 1/s, blood volume flow per tissue volume
    arrhenius_frequency_factor: float  # 1/s
    arrhenius_activation_energy: float  # J/mol
    water_mass_fraction: float  # 1
    mw_permittivity_a: float
    mw_permittivity_b: float
    mw_permittivity_c: float  # 1/K
    mw_permittivity_d: float
    mw_conductivity_a: float  # S/m
    mw_conductivity_b: float
    mw_conductivity_c: float  # 1/K
    rf_conductivity: float  # S/m at body temperature, radiofrequency (~500 kHz)
    rf_conductivity_coefficient: float  # 1/K, relative rise of rf_conductivity per kelvin
    hydraulic_permeability: float  # m², Darcy permeability to an injected liquid
    extracellular_fraction: float  # 1, volume fraction open to an injected liquid
    volume_doubling_time: float | None = None  # s
    # 1, collagen of the untreated tissue (fraction of voxel capacity); None: none. It is what a
    # tumour capsule of this material holds at the start (``TissueState.initial``).
    collagen_fraction: float | None = None
    # Pa and 1, the drained (long-time) shear modulus and Poisson's ratio of the tissue's solid;
    # None: the tissue stores no fluid under pressure (steady Darcy flow)
    shear_modulus: float | None = None
    drained_poisson_ratio: float | None = None
    # Irreversible electroporation (IRE); None: the material has no IRE parameters (``has_ire``).
    # Conductivity under the pulses rises from σ0 below E_rev to σ1 above E_irr (both at body
    # temperature) and by ire_conductivity_coefficient per kelvin above body temperature.
    ire_conductivity_intact: float | None = None  # S/m, σ0 below ire_field_reversible
    ire_conductivity_electroporated: float | None = None  # S/m, σ1 above ire_field_irreversible
    ire_field_reversible: float | None = None  # V/m, E_rev where σ starts to rise
    ire_field_irreversible: float | None = None  # V/m, E_irr where σ reaches σ1
    ire_conductivity_coefficient: float | None = None  # 1/K, relative rise of σ per kelvin
    # Peleg-Fermi survival after n pulses at field E: S = 1/(1 + exp((E - E_c(n))/A(n))),
    # E_c(n) = E_c0 exp(-k1 n), A(n) = A0 exp(-k2 n)
    ire_lethal_field: float | None = None  # V/m, E_c0
    ire_lethal_width: float | None = None  # V/m, A0
    ire_lethal_field_decay: float | None = None  # 1 per pulse, k1
    ire_lethal_width_decay: float | None = None  # 1 per pulse, k2
    # 1, share of the electroporation cell kill that the microvessels (``vessels``) suffer
    ire_microvessel_kill: float | None = None
    sources: Mapping[str, str] = field(default_factory=dict, compare=False, repr=False)

    @property
    def has_ire(self) -> bool:
        """Whether every irreversible-electroporation parameter (``IRE_PARAMETERS``) is set."""
        return all(getattr(self, name) is not None for name in IRE_PARAMETERS)

    @property
    def specific_storage(self) -> float:
        """Fluid stored per tissue volume per pressure, 1/Pa: ``1/M``, ``M = 2G(1 − ν)/(1 − 2ν)``
        the drained constrained modulus (Biot, incompressible constituents); 0 without
        ``shear_modulus`` and ``drained_poisson_ratio``."""
        g, nu = self.shear_modulus, self.drained_poisson_ratio
        if g is None or nu is None:
            return 0.0
        return (1.0 - 2.0 * nu) / (2.0 * g * (1.0 - nu))

    @property
    def volumetric_heat_capacity(self) -> float:
        """ρc in J/m³/K."""
        return self.density * self.specific_heat

    def permittivity(self, t_c: Any) -> Any:
        """Relative permittivity at 2.45 GHz at temperature ``t_c`` (°C), Ji & Brace sigmoid."""
        return (
            self.mw_permittivity_a
            * (1.0 - 1.0 / (1.0 + np.exp(self.mw_permittivity_b - self.mw_permittivity_c * t_c)))
            + self.mw_permittivity_d
        )

    def conductivity(self, t_c: Any) -> Any:
        """Electrical conductivity at 2.45 GHz in S/m at ``t_c`` (°C), Ji & Brace sigmoid."""
        return self.mw_conductivity_a * (
            1.0 - 1.0 / (1.0 + np.exp(self.mw_conductivity_b - self.mw_conductivity_c * t_c))
        )


@dataclass(frozen=True)
class Body:
    """Scenario-wide properties: blood, tissue water, damage threshold (SI, temperatures in °C)."""

    blood_density: float
    blood_specific_heat: float
    body_temperature: float
    damage_threshold: float
    latent_heat_vaporization: float  # J/kg of water
    vaporization_temperature: float
    vaporization_window: float  # K
    latent_heat_fusion: float  # J/m³ of tissue
    freezing_start: float
    freezing_end: float
    frozen_specific_heat_ratio: float
    frozen_conductivity_ratio: float  # k frozen / k unfrozen
    frozen_conductivity_exponent: float  # 1, k ∝ (T_end / T)^n below freezing_end (kelvin)
    cryo_stasis_temperature: float  # °C, perfusion stops in tissue cooled below it
    # °C, tissue frozen below it stays unperfused for the rest of the session
    cryo_vessel_injury_temperature: float
    # K·s, chilled tissue stops perfusing for the session once its exposure to cold reaches it
    cryo_stasis_exposure: float
    rf_vaporized_conductivity_factor: float  # σ of dried tissue / σ at 100 °C
    # s, time constant with which tissue boiled dry takes water back once below boiling
    rehydration_time: float
    cryo_lethal_temperature: float  # °C, one freeze to this kills every cell
    cryo_partial_temperature: float  # °C, onset of partial kill by freezing
    interstitial_viscosity: float  # Pa·s, of the fluid an injectate displaces
    critical_infusion_pressure: float  # Pa, above which the tissue cracks and injectate leaks
    leak_vessel_fraction: float  # 1, share of a leak that enters vessels (the rest: the track)
    ischemic_death_time: float  # s, complete ischaemia for Ω = 1 (63 % of cells dead)
    scar_permeability_factor: float  # 1, hydraulic permeability of scar / of the tissue
    debris_permeability_factor: float  # 1, of loose dead tissue / of the tissue
    # °C, peak session temperature over which the share of heat-killed cells that is heat-fixed
    # (``coagulated``; the rest ``debris``) rises from 0 to 1 (``damage/thermal.py``)
    fixation_temperature_low: float
    fixation_temperature_high: float
    # °C, peak session temperature over which the denatured share of the matrix rises from 0 to 1
    matrix_denaturation_temperature_low: float
    matrix_denaturation_temperature_high: float
    # 1, Arrhenius dose (in units of the tissue's own) at which blood flow has fallen to 1/e
    perfusion_stasis_dose: float
    # W/m/K and Pa·s, of blood flowing in large vessels (wall heat transfer, physics/vessels.py)
    blood_thermal_conductivity: float
    blood_viscosity: float
    blood_electrical_conductivity: float  # S/m, at radiofrequency (~500 kHz), in large vessels
    sources: Mapping[str, str] = field(default_factory=dict, compare=False, repr=False)

    @property
    def blood_heat_capacity(self) -> float:
        """ρ_b c_b in J/m³/K."""
        return self.blood_density * self.blood_specific_heat


@dataclass(frozen=True)
class TissueModel:
    """The resolved tissue of a scenario: body properties and the materials by index.

    Material 0 is the base tissue; the tumour presets (and the presets of tumour capsules) follow
    in order of first use.
    """

    body: Body
    materials: tuple[Material, ...]

    def index(self, name: str) -> int:
        """Index of the material named ``name``."""
        for i, m in enumerate(self.materials):
            if m.name == name:
                return i
        raise KeyError(name)

    @property
    def base(self) -> Material:
        """The base tissue (material 0)."""
        return self.materials[0]


def available_presets() -> list[str]:
    """Names of the presets shipped with tissuefate."""
    root = resources.files(PRESET_PACKAGE) / PRESET_FOLDER
    return sorted(p.name[:-5] for p in root.iterdir() if p.name.endswith(".yaml"))


def _read_preset(name: str) -> dict[str, Any]:
    if name not in available_presets():
        raise ScenarioError(
            f"unknown tissue preset {name!r}; available: {', '.join(available_presets())}"
        )
    path = resources.files(PRESET_PACKAGE) / PRESET_FOLDER / f"{name}.yaml"
    return yaml.safe_load(path.read_text(encoding="utf-8")) or {}


def _entries(
    name: str, section: str, schema: dict[str, tuple[str, bool]], chain: tuple[str, ...] = ()
) -> dict[str, tuple[float, str]]:
    """Parameters of preset ``name`` in ``section``, inherited ones included.

    Returns name -> (SI value, provenance).
    """
    if name in chain:
        raise ScenarioError(f"tissue preset {name!r} extends itself through {' -> '.join(chain)}")
    raw = _read_preset(name)
    out: dict[str, tuple[float, str]] = {}
    parent = raw.get("extends")
    if parent:
        if not isinstance(parent, dict) or "preset" not in parent or "assumption" not in parent:
            raise ScenarioError(
                "'extends' needs a 'preset' and the 'assumption' that makes inheriting acceptable",
                source=f"{name}.yaml",
                key="extends",
            )
        inherited = _entries(parent["preset"], section, schema, (*chain, name))
        note = " ".join(str(parent["assumption"]).split())
        for key, (value, prov) in inherited.items():
            out[key] = (value, f"inherited from {parent['preset']} ({prov}); assumption: {note}")
    out.update(parse_entries(raw.get(section) or {}, schema, f"{name}.yaml", section))
    return out


def preset_section(
    name: str, section: str, schema: dict[str, tuple[str, bool]]
) -> dict[str, tuple[float, str]]:
    """Parameters of preset ``name`` in ``section`` (e.g. ``"repair"``), inherited ones included.

    Returns name -> (SI value, provenance); an absent section gives an empty dict.
    """
    return _entries(name, section, schema)


def parse_entries(
    entries: Mapping[str, Any], schema: dict[str, tuple[str, bool]], file: str, section: str
) -> dict[str, tuple[float, str]]:
    """Parse a preset section: ``{name: {value: "...", source|assumption: "..."}}``.

    Returns name -> (SI value, provenance). Errors name ``file`` and ``section.name``.
    """
    if not isinstance(entries, Mapping):
        raise ScenarioError("must be a mapping of parameters", source=file, key=section)
    out: dict[str, tuple[float, str]] = {}
    for key, entry in entries.items():
        where = f"{section}.{key}"
        if key not in schema:
            raise ScenarioError(
                f"unknown parameter; allowed: {', '.join(schema)}", source=file, key=where
            )
        if not isinstance(entry, dict) or "value" not in entry:
            raise ScenarioError("needs a 'value' with units", source=file, key=where)
        has_source, has_assumption = "source" in entry, "assumption" in entry
        if has_source == has_assumption:
            raise ScenarioError(
                "needs exactly one of 'source' or 'assumption'", source=file, key=where
            )
        prov = str(entry["source"]) if has_source else f"assumption: {entry['assumption']}"
        out[key] = (parse_value(entry["value"], key, schema, file, where), " ".join(prov.split()))
    return out


def parse_value(
    text: Any, key: str, schema: dict[str, tuple[str, bool]], source: str | None, where: str
) -> float:
    """SI value of ``text`` for parameter ``key`` of ``schema`` (°C for temperatures)."""
    dimension = schema[key][0]
    try:
        q = parse_quantity(text, dimension, what=key, example=_EXAMPLES.get(dimension))
        if key in _TEMPERATURE_DIFFERENCES:  # a difference or a per-kelvin coefficient
            return float(q.to("1/K" if dimension.startswith("1/") else "K").magnitude)
        return float(to_si(q))
    except ValueError as exc:
        raise ScenarioError(str(exc), source=source, key=where) from exc


def _build(cls: type, name: str | None, values: dict[str, tuple[float, str]], preset: str) -> Any:
    kwargs: dict[str, Any] = {}
    missing = []
    for f in fields(cls):
        if f.name in ("name", "sources"):
            continue
        if f.name in values:
            kwargs[f.name] = values[f.name][0]
        elif f.default is not None or f.name not in values:
            required = (MATERIAL_SCHEMA | BODY_SCHEMA).get(f.name, ("", False))[1]
            if required:
                missing.append(f.name)
    if missing:
        raise ScenarioError(
            f"preset {preset!r} lacks required parameters: {', '.join(missing)}",
            source=f"{preset}.yaml",
        )
    sources = {k: v[1] for k, v in values.items()}
    if name is not None:
        kwargs["name"] = name
    return cls(**kwargs, sources=sources)


def load_tissue(
    base: str,
    tumor_presets: list[str] | tuple[str, ...] = (),
    overrides: Mapping[str, str] | None = None,
    *,
    source: str | None = None,
) -> TissueModel:
    """Resolve the base tissue and tumour presets, with the scenario's overrides applied.

    Parameters
    ----------
    base
        Preset name of the base tissue (e.g. ``"liver"``).
    tumor_presets
        Preset names used by the scenario's tumours and their capsules (duplicates are merged).
    overrides
        ``{"perfusion_rate": "0 1/s", "tumor.perfusion_rate": "0.01 1/s", "blood_density": ...}``:
        a bare name changes the base tissue (or a body property), ``preset.name`` changes a tumour
        preset. Values are strings with units, checked for dimension.
    source
        The scenario file, for error messages.
    """
    overrides = dict(overrides or {})
    names = [base] + [t for t in dict.fromkeys(tumor_presets) if t != base]
    tables = {n: _entries(n, "parameters", MATERIAL_SCHEMA) for n in names}
    body_values = _entries(base, "body", BODY_SCHEMA)
    for key, text in overrides.items():
        where = f"tissue.parameters.{key}"
        preset, _, param = key.rpartition(".")
        if preset and preset not in tables:
            raise ScenarioError(
                f"{preset!r} is not a preset used by this scenario ({', '.join(names)})",
                source=source,
                key=where,
            )
        if param in BODY_SCHEMA and not preset:
            body_values[param] = (
                parse_value(text, param, BODY_SCHEMA, source, where),
                "scenario override",
            )
        elif param in MATERIAL_SCHEMA:
            table = tables[preset or base]
            table[param] = (
                parse_value(text, param, MATERIAL_SCHEMA, source, where),
                "scenario override",
            )
        else:
            raise ScenarioError(
                "unknown tissue parameter; allowed: " + ", ".join([*MATERIAL_SCHEMA, *BODY_SCHEMA]),
                source=source,
                key=where,
            )
    materials = tuple(_build(Material, n, tables[n], n) for n in names)
    body = _build(Body, None, body_values, base)
    _check_physical(materials, body, source)
    return TissueModel(body=body, materials=materials)


def _check_physical(materials: tuple[Material, ...], body: Body, source: str | None) -> None:
    def key(m: Material, name: str) -> str:
        # the key as a scenario writes it: bare for the base tissue, prefixed for a tumour preset
        prefix = "" if m is materials[0] else f"{m.name}."
        return f"tissue.parameters.{prefix}{name}"

    for m in materials:
        for name in (
            "thermal_conductivity",
            "density",
            "specific_heat",
            "arrhenius_frequency_factor",
            "arrhenius_activation_energy",
        ):
            value = getattr(m, name)
            if not (math.isfinite(value) and value > 0):
                raise ScenarioError(
                    f"must be positive, got {value:g}", source=source, key=key(m, name)
                )
        if not m.perfusion_rate >= 0:
            raise ScenarioError("must not be negative", source=source, key=key(m, "perfusion_rate"))
        for name in ("water_mass_fraction", "extracellular_fraction"):
            if not 0 < getattr(m, name) <= 1:
                raise ScenarioError("must lie in (0, 1]", source=source, key=key(m, name))
        if not m.hydraulic_permeability >= 0:
            raise ScenarioError(
                "must not be negative", source=source, key=key(m, "hydraulic_permeability")
            )
        if m.shear_modulus is not None and not m.shear_modulus > 0:
            raise ScenarioError("must be positive", source=source, key=key(m, "shear_modulus"))
        if m.drained_poisson_ratio is not None and not 0 <= m.drained_poisson_ratio < 0.5:
            raise ScenarioError(
                "must lie in [0, 0.5)", source=source, key=key(m, "drained_poisson_ratio")
            )
        if m.collagen_fraction is not None and not 0 <= m.collagen_fraction <= 1:
            raise ScenarioError(
                "must lie in [0, 1]", source=source, key=key(m, "collagen_fraction")
            )
        _check_ire(m, key(m, ""), source)
    if not body.freezing_end < body.freezing_start:
        raise ScenarioError(
            "freezing_end must be colder than freezing_start",
            source=source,
            key="tissue.parameters.freezing_end",
        )
    if not body.cryo_stasis_temperature >= body.freezing_start:
        raise ScenarioError(
            "cryo_stasis_temperature must not be colder than freezing_start",
            source=source,
            key="tissue.parameters.cryo_stasis_temperature",
        )
    if not body.cryo_vessel_injury_temperature <= body.freezing_start:
        raise ScenarioError(
            "cryo_vessel_injury_temperature must not be warmer than freezing_start",
            source=source,
            key="tissue.parameters.cryo_vessel_injury_temperature",
        )
    if not body.cryo_stasis_exposure > 0:
        raise ScenarioError(
            "must be positive", source=source, key="tissue.parameters.cryo_stasis_exposure"
        )
    if not body.vaporization_window > 0:
        raise ScenarioError(
            "must be positive", source=source, key="tissue.parameters.vaporization_window"
        )
    if not body.rehydration_time > 0:
        raise ScenarioError(
            "must be positive (a very long time, e.g. 1e9 s: dried tissue never takes water back)",
            source=source,
            key="tissue.parameters.rehydration_time",
        )
    if not body.cryo_partial_temperature > body.cryo_lethal_temperature:
        raise ScenarioError(
            "cryo_partial_temperature must be warmer than cryo_lethal_temperature",
            source=source,
            key="tissue.parameters.cryo_partial_temperature",
        )
    for m in materials:
        if not (m.rf_conductivity > 0 and math.isfinite(m.rf_conductivity)):
            raise ScenarioError("must be positive", source=source, key=key(m, "rf_conductivity"))
    for low, high in (
        ("fixation_temperature_low", "fixation_temperature_high"),
        ("matrix_denaturation_temperature_low", "matrix_denaturation_temperature_high"),
    ):
        if not getattr(body, low) <= getattr(body, high):
            raise ScenarioError(
                f"{high} must not be colder than {low}",
                source=source,
                key=f"tissue.parameters.{high}",
            )
    if not 0 <= body.leak_vessel_fraction <= 1:
        raise ScenarioError(
            "must lie in [0, 1]", source=source, key="tissue.parameters.leak_vessel_fraction"
        )
    for name in (
        "frozen_conductivity_ratio",
        "rf_vaporized_conductivity_factor",
        "interstitial_viscosity",
        "critical_infusion_pressure",
        "ischemic_death_time",
        "scar_permeability_factor",
        "debris_permeability_factor",
        "perfusion_stasis_dose",
        "blood_thermal_conductivity",
        "blood_viscosity",
        "blood_electrical_conductivity",
    ):
        if not getattr(body, name) > 0:
            raise ScenarioError("must be positive", source=source, key=f"tissue.parameters.{name}")
    for name in (
        "blood_density",
        "blood_specific_heat",
        "latent_heat_vaporization",
        "latent_heat_fusion",
        "frozen_specific_heat_ratio",
        "frozen_conductivity_exponent",
    ):
        if not getattr(body, name) >= 0:
            raise ScenarioError(
                "must not be negative", source=source, key=f"tissue.parameters.{name}"
            )


def _check_ire(m: Material, prefix: str, source: str | None) -> None:
    """Check the IRE parameters of ``m``: all or none, and ordered as the model needs them.

    ``prefix`` is the key path of the material's parameters, ending in a dot.
    """
    present = [name for name in IRE_PARAMETERS if getattr(m, name) is not None]
    if not present:
        return
    if len(present) < len(IRE_PARAMETERS):
        missing = next(name for name in IRE_PARAMETERS if getattr(m, name) is None)
        raise ScenarioError(
            f"is needed with {present[0]}: a material has all IRE parameters or none "
            f"({', '.join(IRE_PARAMETERS)})",
            source=source,
            key=prefix + missing,
        )

    def fail(name: str, reason: str) -> NoReturn:
        raise ScenarioError(f"{reason}, got {getattr(m, name):g}", source=source, key=prefix + name)

    values = {name: getattr(m, name) for name in IRE_PARAMETERS}  # finite: parse_value checks
    if not values["ire_conductivity_intact"] > 0:
        fail("ire_conductivity_intact", "must be positive")
    if not values["ire_conductivity_electroporated"] > values["ire_conductivity_intact"]:
        fail("ire_conductivity_electroporated", "must exceed ire_conductivity_intact")
    if not values["ire_field_reversible"] > 0:
        fail("ire_field_reversible", "must be positive")
    if not values["ire_field_irreversible"] > values["ire_field_reversible"]:
        fail("ire_field_irreversible", "must exceed ire_field_reversible")
    for name in ("ire_lethal_field", "ire_lethal_width"):
        if not values[name] > 0:
            fail(name, "must be positive")
    for name in ("ire_lethal_field_decay", "ire_lethal_width_decay"):
        if not values[name] >= 0:
            fail(name, "must not be negative")
    if not 0 <= values["ire_microvessel_kill"] <= 1:
        fail("ire_microvessel_kill", "must lie in [0, 1]")


def check_electroporation(tissue: TissueModel, source: str | None = None) -> None:
    """Raise a :class:`ScenarioError` naming the first material without its ``ire_*``
    parameters: a tissue the model cannot electroporate (e.g. a gel phantom)."""
    for m in tissue.materials:
        if not m.has_ire:
            missing = next(k for k in IRE_PARAMETERS if getattr(m, k) is None)
            raise ScenarioError(
                f"tissue {m.name!r} has no electroporation properties (its preset lacks "
                f"{missing} and the other ire_* parameters), so it cannot be treated by IRE",
                source=source,
                key="tissue",
            )
