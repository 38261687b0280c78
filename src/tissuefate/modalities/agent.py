"""Agent presets: what an injected chemical is, does and claims, with a source for every number.

A preset file ``agents/NAME.yaml`` holds a ``description``, a ``status`` (``calibrated``: fitted
to published data; ``unvalidated``: no data to test it against, and a ``status_note`` saying so),
for unvalidated presets the essay ``claims`` each parameter encodes, and ``parameters`` in the
format of the tissue presets (a ``value`` with units and a ``source`` or an ``assumption``).

The parameters, in SI (mol/m³ for concentrations):

- transport: ``injectate_concentration``, ``molar_mass``, ``viscosity``, ``diffusivity`` (in the
  interstitial fluid, tortuosity included), ``washout_factor`` (share of the blood flow that
  clears the agent);
- reaction: ``reaction_rate_constant`` k of ``agent + tissue demand`` (0: none),
  ``demand_normal``/``demand_tumor`` (mol of agent that a m³ of tissue consumes);
- kill (Ω, killed fraction 1 − e^−Ω): exposure ``dΩ/dt = ln(100)/t_L(c)`` with
  ``t_L = kill_reference_time · (kill_reference_concentration / c)^kill_exponent`` (the time at
  constant ``c`` after which 99 % of cells are dead), and, where ``oxidation_kill_onset`` and
  ``oxidation_kill_lethal`` are given, ``Ω = ln(100)·(f − onset)/(lethal − onset)`` from the
  fraction ``f`` of the tissue's demand consumed; ``tumor_sensitivity`` multiplies tumour Ω (H7);
- vessels: ``vascular_sensitivity`` (vessel Ω per cell Ω), ``tumor_vessel_preference`` (H6),
  ``vascular_response_time`` (how fast flow stops once vessels are damaged),
  ``reversible_vascular_fraction`` of the vessel loss that is occlusion (in tumour
  ``tumor_reversible_vascular_fraction``, default the same), recovering over
  ``occlusion_recovery_time`` (H3), the rest permanent thrombosis;
- fate: ``fixation`` (share of killed cells that become ``coagulated``; the rest ``debris``, H4),
  ``ecm_sensitivity`` (matrix Ω per cell Ω), ``dehydration`` (water lost at full strength,
  negative for swelling) over ``water_shift_time`` (H8), ``immunogenicity`` (injury signal per
  killed cell, relative; for the repair model, H5).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from ..errors import ScenarioError
from ..tissue.presets import parse_entries, parse_value

__all__ = ["AGENT_SCHEMA", "PRODUCTS", "Agent", "available_agents", "load_agent"]

AGENT_PACKAGE = "tissuefate.modalities"
AGENT_FOLDER = "agents"
STATUSES = ("calibrated", "unvalidated")
CONCENTRATION = "[substance]/[length]**3"

# name -> (pint dimensionality, required)
AGENT_SCHEMA: dict[str, tuple[str, bool]] = {
    "injectate_concentration": (CONCENTRATION, True),
    "molar_mass": ("[mass]/[substance]", True),
    "viscosity": ("[mass]/[length]/[time]", True),
    "diffusivity": ("[length]**2/[time]", True),
    "washout_factor": ("dimensionless", True),
    "reaction_rate_constant": ("[length]**3/[substance]/[time]", True),
    "demand_normal": (CONCENTRATION, True),
    "demand_tumor": (CONCENTRATION, True),
    "kill_reference_concentration": (CONCENTRATION, True),
    "kill_reference_time": ("[time]", True),
    "kill_exponent": ("dimensionless", True),
    "oxidation_kill_onset": ("dimensionless", False),
    "oxidation_kill_lethal": ("dimensionless", False),
    "tumor_sensitivity": ("dimensionless", True),
    "vascular_sensitivity": ("dimensionless", True),
    "tumor_vessel_preference": ("dimensionless", True),
    "vascular_response_time": ("[time]", True),
    "reversible_vascular_fraction": ("dimensionless", True),
    "tumor_reversible_vascular_fraction": ("dimensionless", False),
    "occlusion_recovery_time": ("[time]", True),
    "fixation": ("dimensionless", True),
    "ecm_sensitivity": ("dimensionless", True),
    "dehydration": ("dimensionless", True),
    "water_shift_time": ("[time]", True),
    "immunogenicity": ("dimensionless", True),
    "chlorite_yield": ("dimensionless", False),
    "hypochlorous_acid_yield": ("dimensionless", False),
}
PRODUCTS = {"chlorite_yield": "chlorite", "hypochlorous_acid_yield": "hypochlorous_acid"}
"""Reaction products an agent forms as it is consumed: yield parameter -> product name."""
_FRACTIONS = ("reversible_vascular_fraction", "fixation")
_YIELDS = tuple(PRODUCTS)
_NOT_NEGATIVE = (
    "washout_factor",
    "reaction_rate_constant",
    "demand_normal",
    "demand_tumor",
    "tumor_sensitivity",
    "vascular_sensitivity",
    "tumor_vessel_preference",
    "ecm_sensitivity",
    "immunogenicity",
)
_POSITIVE = (
    "injectate_concentration",
    "molar_mass",
    "viscosity",
    "diffusivity",
    "kill_reference_concentration",
    "kill_reference_time",
    "kill_exponent",
    "occlusion_recovery_time",
    "vascular_response_time",
    "water_shift_time",
)


@dataclass(frozen=True)
class Agent:
    """A resolved agent preset (SI units; see the module docstring)."""

    name: str
    description: str
    status: str
    status_note: str
    claims: Mapping[str, str]
    injectate_concentration: float  # mol/m³
    molar_mass: float  # kg/mol
    viscosity: float  # Pa·s
    diffusivity: float  # m²/s
    washout_factor: float  # 1
    reaction_rate_constant: float  # m³/mol/s
    demand_normal: float  # mol/m³ of tissue
    demand_tumor: float  # mol/m³ of tissue
    kill_reference_concentration: float  # mol/m³
    kill_reference_time: float  # s
    kill_exponent: float  # 1
    tumor_sensitivity: float
    vascular_sensitivity: float
    tumor_vessel_preference: float
    vascular_response_time: float  # s
    reversible_vascular_fraction: float
    occlusion_recovery_time: float  # s
    fixation: float
    ecm_sensitivity: float
    dehydration: float
    water_shift_time: float  # s
    immunogenicity: float
    tumor_reversible_vascular_fraction: float | None = None
    oxidation_kill_onset: float | None = None
    oxidation_kill_lethal: float | None = None
    chlorite_yield: float = 0.0  # mol formed per mol consumed
    hypochlorous_acid_yield: float = 0.0  # mol formed per mol consumed
    sources: Mapping[str, str] = field(default_factory=dict, compare=False, repr=False)

    @property
    def validated(self) -> bool:
        """Whether the preset is calibrated to published data (False: unvalidated)."""
        return self.status != "unvalidated"

    def lethal_time(self, concentration: Any) -> Any:
        """Time (s) at constant ``concentration`` (mol/m³) after which 99 % of normal cells are
        dead: ``t_ref (c_ref / c)^n`` (infinite at 0)."""
        c = np.asarray(concentration, dtype=float)
        with np.errstate(divide="ignore"):
            return self.kill_reference_time * (self.kill_reference_concentration / c) ** (
                self.kill_exponent
            )

    def products(self, consumed: float) -> dict[str, float]:
        """Amounts (mol) of the reaction products formed from ``consumed`` mol of agent."""
        return {
            product: getattr(self, key) * consumed
            for key, product in PRODUCTS.items()
            if getattr(self, key) > 0
        }

    def describe(self) -> dict[str, Any]:
        """JSON-able header of the preset for summaries and reports."""
        return {
            "name": self.name,
            "status": self.status,
            "validated": self.validated,
            "status_note": self.status_note,
            "claims": dict(self.claims),
        }


def available_agents() -> list[str]:
    """Names of the agent presets shipped with tissuefate."""
    root = resources.files(AGENT_PACKAGE) / AGENT_FOLDER
    return sorted(p.name[:-5] for p in root.iterdir() if p.name.endswith(".yaml"))


def load_agent(
    name: str,
    overrides: Mapping[str, str] | None = None,
    *,
    source: str | None = None,
    key: str = "agent",
) -> Agent:
    """Resolve agent preset ``name`` with the scenario's ``overrides`` (strings with units).

    ``name`` is a shipped preset (:func:`available_agents`) or the path of a preset file of the
    same format (``.yaml``, relative to the folder of the scenario file ``source``). Errors name
    the scenario ``source`` and ``key`` (the session's ``agent``) for an unknown agent or a bad
    override, or the preset file for a bad or incomplete preset.
    """
    file, text = _preset_text(name, source, key)
    try:
        raw = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise ScenarioError(f"not valid YAML: {' '.join(str(exc).split())}", source=file) from exc
    if not isinstance(raw, dict):
        raise ScenarioError("an agent preset must be a mapping", source=file)
    name = str(raw.get("name") or Path(file).stem)
    status = raw.get("status")
    if status not in STATUSES:
        raise ScenarioError(f"must be one of {', '.join(STATUSES)}", source=file, key="status")
    claims = raw.get("claims") or {}
    if status == "unvalidated" and not (raw.get("status_note") and claims):
        raise ScenarioError(
            "an unvalidated preset needs a 'status_note' and the 'claims' it encodes",
            source=file,
            key="status",
        )
    values = parse_entries(raw.get("parameters") or {}, AGENT_SCHEMA, file, "parameters")
    base = key.rsplit(".", 1)[0] if "." in key else ""
    for param, text_value in (overrides or {}).items():
        where = f"{base}.agent_parameters.{param}" if base else f"agent_parameters.{param}"
        if param not in AGENT_SCHEMA:
            raise ScenarioError(
                f"unknown agent parameter; allowed: {', '.join(AGENT_SCHEMA)}",
                source=source,
                key=where,
            )
        values[param] = (
            parse_value(text_value, param, AGENT_SCHEMA, source, where),
            "scenario override",
        )
    missing = [p for p, (_, required) in AGENT_SCHEMA.items() if required and p not in values]
    if missing:
        raise ScenarioError(
            f"agent preset {name!r} lacks required parameters: {', '.join(missing)}", source=file
        )
    agent = Agent(
        name=name,
        description=" ".join(str(raw.get("description", "")).split()),
        status=status,
        status_note=" ".join(str(raw.get("status_note", "")).split()),
        claims={str(k): " ".join(str(v).split()) for k, v in claims.items()},
        **{p: v for p, (v, _) in values.items()},
        sources={p: prov for p, (_, prov) in values.items()},
    )
    overridden = set(overrides or {})

    def fail(param: str, why: str) -> None:
        # a bad value is the scenario's fault if it overrode it, else the preset file's
        if param in overridden:
            where = f"{base}.agent_parameters.{param}" if base else f"agent_parameters.{param}"
            raise ScenarioError(why, source=source, key=where)
        raise ScenarioError(why, source=file, key=f"parameters.{param}")

    _check(agent, fail)
    return agent


def _preset_text(name: str, source: str | None, key: str) -> tuple[str, str]:
    """The preset's file name (for messages) and text: a shipped preset by name, or a YAML file
    (``.yaml``/``.yml``, relative to the scenario file's folder)."""
    if name.endswith((".yaml", ".yml")):
        path = Path(name)
        if not path.is_absolute() and source and Path(source).parent.is_dir():
            path = Path(source).parent / path
        try:
            return str(path), path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ScenarioError(
                f"cannot read agent file {str(path)!r}: {exc.strerror or exc}",
                source=source,
                key=key,
            ) from exc
    known = available_agents()
    if name not in known:
        raise ScenarioError(
            f"unknown agent {name!r}; available: {', '.join(known)} (or a .yaml file)",
            source=source,
            key=key,
        )
    file = f"{name}.yaml"
    return file, (resources.files(AGENT_PACKAGE) / AGENT_FOLDER / file).read_text(encoding="utf-8")


def _check(agent: Agent, fail: Any) -> None:

    for f in fields(agent):
        value = getattr(agent, f.name)
        if isinstance(value, float) and not math.isfinite(value):
            fail(f.name, "must be finite")
    for name in _POSITIVE:
        if not getattr(agent, name) > 0:
            fail(name, "must be positive")
    for name in _NOT_NEGATIVE:
        if not getattr(agent, name) >= 0:
            fail(name, "must not be negative")
    for name in (*_FRACTIONS, *_YIELDS, "tumor_reversible_vascular_fraction"):
        value = getattr(agent, name)
        if value is not None and not 0 <= value <= 1:
            fail(name, "must lie in [0, 1]")
    if not agent.dehydration < 1:
        fail("dehydration", "must be below 1 (all water lost)")
    onset, lethal = agent.oxidation_kill_onset, agent.oxidation_kill_lethal
    if (onset is None) != (lethal is None):
        fail("oxidation_kill_lethal", "oxidation_kill_onset and _lethal go together")
    if onset is not None and lethal is not None and not 0 <= onset < lethal <= 1:
        fail(
            "oxidation_kill_lethal", "needs 0 <= oxidation_kill_onset < oxidation_kill_lethal <= 1"
        )
