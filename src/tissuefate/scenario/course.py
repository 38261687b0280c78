"""The course part of a scenario: strategies, the policies that plan sessions from follow-up
scans, the imaging schedule, and what a run writes.

A strategy is a timeline of explicit sessions, a **policy**, or both (the explicit sessions first,
then the policy from its ``first_day``). A policy decides on fixed days (``first_day``, then every
``every``): it looks at the latest scan, stops (nothing visible, ``max_sessions`` used, a budget
spent) or plans the next session from its **session template**: the mapping of a session without
``day`` and without what the planner fills in. A template is validated when the scenario is loaded
by filling those keys with stand-in values, so an error in it names its key
(``strategies.NAME.policy.session.KEY``); :meth:`SessionTemplate.instantiate` builds the real
session a planner designed.

Models are frozen and reject unknown keys, as in :mod:`tissuefate.scenario.models`; quantities are
kept as written and given in SI (or in the unit of the result field they are compared with) by the
``*_d``, ``*_m``, ``*_ml`` ... properties.
"""

from __future__ import annotations

import copy
import difflib
from typing import Annotated, Any, Literal

import pint
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    GetJsonSchemaHandler,
    Strict,
    TypeAdapter,
    ValidatorFunctionWrapHandler,
    field_validator,
    model_serializer,
    model_validator,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import core_schema

from tissuefate.scenario._base import (
    KeyedValueError,
    NonNegativeDuration,
    PositiveDuration,
    PositiveVolume,
    PositiveVolumeRate,
    _Model,
    _Name,
    _not_negative,
    _optional_si,
    _Plain,
    _positive,
    _shown,
)
from tissuefate.scenario.limits import (
    MAX_MICROWAVE_DURATION_S,
    MAX_RF_DURATION_S,
    _at_most,
    _injection_rate,
)
from tissuefate.scenario.quantities import Length, QuantityField, to_si, ureg
from tissuefate.scenario.sessions import (
    CryoSession,
    HeatSourceSession,
    InjectionSession,
    IreSession,
    MicrowaveSession,
    RadiofrequencySession,
    Session,
)

__all__ = [
    "AblateVisible",
    "ImagingSettings",
    "InjectionDose",
    "LocalProgression",
    "MechanicsSettings",
    "OutputSettings",
    "Policy",
    "RepairSettings",
    "RepeatUntilClear",
    "SessionTemplate",
    "Strategy",
]

_Sessions = (
    MicrowaveSession
    | RadiofrequencySession
    | CryoSession
    | IreSession
    | HeatSourceSession
    | InjectionSession
)

#: An amount of substance, e.g. ``"0.5 mmol"``; SI value in mol.
Amount = Annotated[
    pint.Quantity, QuantityField("[substance]", what="amount of substance", example="0.5 mmol")
]
PositiveAmount = Annotated[Amount, AfterValidator(_positive)]
NonNegativeLength = Annotated[Length, AfterValidator(_not_negative)]
_AtLeastOne = Annotated[int, Strict(), Field(ge=1)]
_Fraction = Annotated[float, Strict(), Field(gt=0, le=1)]


def _days(duration: pint.Quantity) -> float:
    return float(duration.to("day").magnitude)


# --------------------------------------------------------------------------------------------
# Imaging and outputs
# --------------------------------------------------------------------------------------------


class ImagingSettings(_Model):
    """Follow-up scans (:func:`tissuefate.course.imaging.scan`) and what they can see.

    ``every`` (> 0) scans periodically from day 0, ``days`` (≥ 0) on the days listed; neither is
    set by default, so there are no periodic scans (a policy still scans before each decision).
    ``detection`` is ``deterministic`` (a lesion is visible when its volume-equivalent diameter
    reaches the size CT detects half the time) or ``stochastic`` (each lesion is drawn visible
    with the detection probability of its size, from the scenario's seed). ``viable_fraction``
    (in (0, 1], default 0.5) is the viable tumour fraction at which a voxel shows as tumour: an
    imaging assumption, see :mod:`tissuefate.course.imaging`.
    """

    every: PositiveDuration | None = None
    days: list[NonNegativeDuration] = Field(default_factory=list)
    detection: Literal["deterministic", "stochastic"] = "deterministic"
    # the default is tissuefate.course.imaging.VIABLE_THRESHOLD (a test holds them equal)
    viable_fraction: _Fraction = 0.5

    @property
    def every_d(self) -> float | None:
        """Interval between periodic scans in days; None for no periodic scans."""
        return None if self.every is None else _days(self.every)

    @property
    def days_d(self) -> tuple[float, ...]:
        """The listed scan days in days, sorted, each once."""
        return tuple(sorted({_days(t) for t in self.days}))


class OutputSettings(_Model):
    """What a run writes: field snapshots at the given course times, figures, report, and a
    checkpoint every ``checkpoint_every`` (> 0, default 30 d) of course time; and whether it
    measures treatability (``tissuefate.course.treatability``: a twin run of every session after
    the first, and two runs of the first session at the end; off, a run with one session costs
    one session instead of three). ``views_3d``: 3-D views of each session and of the last
    snapshot in the report (rendered off-screen; a few seconds each); default: when the anatomy
    comes from a segmented image."""

    snapshots: list[NonNegativeDuration] = Field(default_factory=list)
    fields: Annotated[bool, Strict()] = True
    figures: Annotated[bool, Strict()] = True
    views_3d: Annotated[bool, Strict()] | None = None
    report: Annotated[bool, Strict()] = True
    treatability: Annotated[bool, Strict()] = True
    checkpoint_every: PositiveDuration = "30 d"  # type: ignore[assignment]

    @property
    def snapshots_d(self) -> tuple[float, ...]:
        """Snapshot times in days."""
        return tuple(_days(t) for t in self.snapshots)

    @property
    def checkpoint_every_d(self) -> float:
        """Course time between checkpoints, in days."""
        return _days(self.checkpoint_every)


class MechanicsSettings(_Model):
    """The solid-phase mechanics between sessions (``tissuefate.biology.mechanics``): free room
    closes by wound contraction, growing tumour pushes, oedema swells and dehydration shrinks
    the tissue, and the tissue moves with it. Off: the grid holds the tissue in place (free room
    stays open, tumour growth displaces parenchyma instead of pushing). Its rates are the
    ``contraction_rate`` and ``contraction_half`` of the repair parameters."""

    enabled: Annotated[bool, Strict()] = True


class RepairSettings(_Model):
    """The repair model between sessions and after the last one (``tissuefate.biology.repair``).

    ``parameters`` overrides the base tissue preset's ``repair`` values (``{name: "value with
    units"}``, checked by :func:`tissuefate.biology.load_repair`); this is how a scenario switches
    the fibrosis and clearance assumptions (e.g. ``heat_immunogenicity``). The agent-specific
    switches (H3 occlusion recovery, H4 fixation, H5 immunogenicity) are the agent's parameters.
    """

    enabled: Annotated[bool, Strict()] = True
    step: PositiveDuration = "6 h"  # type: ignore[assignment]
    growth_law: Literal["logistic", "gompertz"] = "logistic"
    parameters: dict[_Name, str] = Field(default_factory=dict)
    mechanics: MechanicsSettings = Field(default_factory=MechanicsSettings)

    @property
    def step_s(self) -> float:
        """Repair step in s."""
        return float(self.step.to("s").magnitude)


# --------------------------------------------------------------------------------------------
# Session templates
# --------------------------------------------------------------------------------------------

_SESSION: TypeAdapter[_Sessions] = TypeAdapter(Session)
#: The list of devices a planner positions, per thermal modality.
_DEVICES = {
    "microwave": "applicators",
    "radiofrequency": "electrodes",
    "cryo": "probes",
    "ire": "electrodes",
}
#: The ablations ``ablate_visible`` plans (IRE is not thermal, but planned the same way).
_ABLATIONS = tuple(_DEVICES)
_SESSION_MODELS: dict[str, type[_Model]] = {
    "injection": InjectionSession,
    "microwave": MicrowaveSession,
    "radiofrequency": RadiofrequencySession,
    "cryo": CryoSession,
    "ire": IreSession,
}
_PLANNED = ("injection", *_ABLATIONS)
#: Modalities a scenario accepts as sessions but a policy does not plan, and why.
_NOT_PLANNED = {
    "heat_source": "heat_source sessions are for validation and cannot be planned by a policy",
}
#: Keys of an IRE template the planner sets itself, and why.
_IRE_PLANNED = {
    "pairs": "the planner pairs the electrodes it places around each lesion",
    "voltage": "the planner sets each pair's voltage from voltage_to_distance (at most 3000 V)",
}
_STAND_IN_IRE_SPACING_MM = 15.0
"""Distance between the stand-in electrodes of an IRE template along x (a session has two at
least, apart), mm."""


def _ire_stand_in_x(n: int) -> list[float]:
    return [(i - 0.5 * (n - 1)) * _STAND_IN_IRE_SPACING_MM for i in range(n)]


#: Keys of an injection template the policy sets itself, and why.
_INJECTION_PLANNED = {
    "sites": "the policy places the injection sites; give dose.sites (a number or auto)",
    "volume": "the policy sets the volume from dose.fraction_of_visible_volume",
    "rate": "a planned injection runs at dose.rate; set the rate there",
}
_POSITION_KEYS = ("tip", "direction")
_STAND_IN_DIRECTION = (0.0, 0.0, 1.0)
_STAND_IN_DURATION = "1 min"
_STAND_IN_VOLUME = "1 mL"


def _tip(center_mm: tuple[float, float, float]) -> list[pint.Quantity]:
    return [ureg.Quantity(float(c), "mm") for c in center_mm]


def _with_stand_ins(
    values: dict[str, Any], center_mm: tuple[float, float, float]
) -> tuple[dict[str, Any], set[str], dict[int, set[str]]]:
    """``values`` (a template mapping) completed to a session on day 0 with stand-in values.

    Returns the session mapping, the top-level keys filled in, and per device entry (index) the
    position keys filled in.
    """
    data = {**values, "day": 0}
    filled: set[str] = set()
    in_devices: dict[int, set[str]] = {}
    modality = data["modality"]
    if modality == "injection":
        site = {"tip": _tip(center_mm), "direction": _STAND_IN_DIRECTION}
        data["sites"] = [{**site, "volume": _STAND_IN_VOLUME}]
        # the session rate is not the template's (sites run at dose.rate): left at its default
        filled.update(("sites", "rate"))
        return data, filled, in_devices
    key = _DEVICES[modality]
    devices = data.get(key)
    if devices is None:
        data[key] = [{"tip": _tip(center_mm), "direction": _STAND_IN_DIRECTION}]
        filled.add(key)
    elif isinstance(devices, list):
        stand_in = {"tip": _tip(center_mm), "direction": _STAND_IN_DIRECTION}
        entries = []
        for index, entry in enumerate(devices):
            missing = (
                {k for k in _POSITION_KEYS if entry.get(k) is None}
                if isinstance(entry, dict)
                else set()
            )
            if missing:
                in_devices[index] = missing
            entries.append({**entry, **{k: stand_in[k] for k in missing}} if missing else entry)
        data[key] = entries
    if modality == "ire":  # two electrodes at least, apart: stand-ins 15 mm apart along x
        entries = data[key]
        if isinstance(entries, list) and entries and all(isinstance(e, dict) for e in entries):
            if len(entries) < 2:
                entries = [*entries, {k: v for k, v in entries[0].items() if k != "tip"}]
            data[key] = [
                {**e, "tip": _tip((center_mm[0] + x, *center_mm[1:]))}
                if "tip" in in_devices.get(index, ()) or key in filled or index >= len(devices)
                else e
                for index, (e, x) in enumerate(
                    zip(entries, _ire_stand_in_x(len(entries)), strict=True)
                )
            ]
    if modality not in ("cryo", "ire") and data.get("duration") is None:
        data["duration"] = _STAND_IN_DURATION
        filled.add("duration")
    return data, filled, in_devices


class SessionTemplate(BaseModel):
    """The session a policy plans, as a session mapping without ``day`` and without what the
    planner fills in.

    What the planner fills (keyword arguments of :meth:`instantiate`), by ``modality``:

    - ``injection``: ``sites`` (each ``{tip, direction, volume, rate}``; the volumes from
      ``dose.fraction_of_visible_volume``, the rate ``dose.rate``). The template must not hold
      ``sites`` or ``rate``; it gives ``agent`` and optionally ``agent_parameters``,
      ``needle_diameter``, ``order`` and ``observe``.
    - ``microwave``: ``applicators`` (each ``{tip, direction}``) and ``duration``.
    - ``radiofrequency``: ``electrodes`` (each ``{tip, direction}``) and ``duration``.
    - ``cryo``: ``probes`` (each ``{tip, direction}``); the freeze–thaw ``protocol`` is the
      template's (a planner may pass another).
    - ``ire``: ``electrodes`` (each ``{tip, direction}``) and ``pairs`` (each with its
      ``voltage``). The template must not hold ``pairs`` or ``voltage``; it gives the electrodes'
      ``diameter`` and ``exposure``, ``voltage_to_distance``, ``pulses``, ``pulse_width``,
      ``pulse_rate``, ``conductivity_model`` and ``cooldown``.

    For the thermal modalities the template may hold the device list and ``duration``; the
    planner's values replace them. Each planned applicator, electrode or probe takes the settings
    of the template's first one (``antenna``; ``kind``, ``active_length``, ``diameter``,
    ``cooled`` ...) under the position the planner gives, so the template's devices may leave out
    ``tip`` and ``direction``. ``heat_source`` sessions cannot be planned.

    The template is checked on loading by filling stand-in values (day 0; one device or injection
    site at [0, 0, 0] mm pointing along +z, two IRE electrodes 15 mm apart along x; a 1 mL site
    volume; a 1 min duration where absent) and validating the session model, so an error names the
    key in the template.
    :attr:`values` holds the template with every default filled in, as it is written back.
    """

    model_config = ConfigDict(frozen=True)

    values: dict[str, Any]

    @model_validator(mode="wrap")
    @classmethod
    def _from_mapping(cls, data: Any, handler: ValidatorFunctionWrapHandler) -> SessionTemplate:
        if isinstance(data, SessionTemplate):
            return data
        if not isinstance(data, dict):
            raise ValueError(f"expected a mapping of session keys, got {_shown(data)}")
        modality = data.get("modality")
        if modality is None:
            raise KeyedValueError("missing required key", "modality")
        if modality not in _PLANNED:
            why = _NOT_PLANNED.get(modality, f"unknown modality {_shown(modality)}")
            known = ", ".join(sorted(_PLANNED))
            raise KeyedValueError(f"{why}; a policy plans: {known}", "modality")
        if "day" in data:
            raise KeyedValueError(
                "a session template has no day: the policy's first_day and every set the days",
                "day",
            )
        if "dose" in data:
            raise KeyedValueError(
                "dose is a key of the policy, not of its session: move it up one level", "dose"
            )
        planned = {"injection": _INJECTION_PLANNED, "ire": _IRE_PLANNED}.get(modality, {})
        for key, why in planned.items():
            if key in data:
                raise KeyedValueError(why, key)
        model = _SESSION_MODELS[modality]
        allowed = [k for k in model.model_fields if k != "day" and k not in planned]
        for key in data:
            if key not in allowed:
                close = difflib.get_close_matches(str(key), allowed, n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                raise KeyedValueError(f"unknown key{hint}; allowed: {', '.join(allowed)}", str(key))
        session, filled, in_devices = _with_stand_ins(data, (0.0, 0.0, 0.0))
        # a ValidationError raised here keeps its locations below the template's key
        validated = _SESSION.validate_python(session)
        values = validated.model_dump(mode="json")
        del values["day"]
        for key in filled:
            del values[key]
        if modality == "ire":  # the planner pairs its electrodes; a stand-in second one goes
            del values["pairs"], values["voltage"]  # planned: not the template's to write back
            if "electrodes" in values:
                values["electrodes"] = values["electrodes"][: len(data["electrodes"])]
        for index, keys in in_devices.items():
            for key in keys:
                del values[_DEVICES[modality]][index][key]
        return handler({"values": values})

    @model_serializer(mode="plain")
    def _as_mapping(self) -> dict[str, Any]:
        return copy.deepcopy(self.values)

    @classmethod
    def __get_pydantic_json_schema__(
        cls, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        return {
            "type": "object",
            "description": "a session without day; the policy fills in positions, volumes and "
            "durations",
            "required": ["modality"],
        }

    @property
    def modality(self) -> str:
        """The modality of the sessions this template makes."""
        return str(self.values["modality"])

    @property
    def device_key(self) -> str | None:
        """The key of the devices a planner positions (``applicators``, ``electrodes``,
        ``probes``), or None for an injection (whose planner fills ``sites``)."""
        return _DEVICES.get(self.modality)

    def instantiate(self, day: float, **fills: Any) -> _Sessions:
        """The session of this template on ``day`` (days), with the planner's ``fills``.

        Each keyword replaces that key of the template (see the class docstring for what a
        planner fills); values are written as in a scenario (``"2 mL"``, ``[x, y, z]`` of
        lengths) or as :class:`pint.Quantity`. Device entries given as mappings are laid over the
        settings of the template's first device.

        Raises
        ------
        pydantic.ValidationError
            If the result is not a valid session (e.g. a site volume above 50 mL, a duration
            above the modality's limit, or a key the planner had to fill left out).
        """
        data = copy.deepcopy(self.values)
        key = self.device_key
        for name, value in fills.items():
            data[name] = value
            if name == key and isinstance(value, list | tuple):
                first = (self.values.get(key) or [{}])[0]
                base = {k: v for k, v in first.items() if k not in _POSITION_KEYS}
                data[name] = [{**base, **e} if isinstance(e, dict) else e for e in value]
        data["day"] = day
        return _SESSION.validate_python(data)

    def example(self, center_mm: tuple[float, float, float] = (0.0, 0.0, 0.0)) -> _Sessions:
        """The template filled with the load-time stand-in values, its positions at ``center_mm``
        (grid frame, mm) on day 0: for checks and descriptions, never for a simulation."""
        data, _, _ = _with_stand_ins(copy.deepcopy(self.values), center_mm)
        return _SESSION.validate_python(data)


# --------------------------------------------------------------------------------------------
# Policies
# --------------------------------------------------------------------------------------------


def _parse_sites(value: Any) -> Literal["auto"] | int:
    if value == "auto" or (type(value) is int and value >= 1):
        return value  # type: ignore[no-any-return]
    raise ValueError(f"expected auto or a whole number of sites, at least 1, got {_shown(value)}")


_Sites = Annotated[
    Literal["auto"] | int,
    _Plain(
        _parse_sites,
        lambda value: value,
        {"anyOf": [{"const": "auto"}, {"type": "integer", "minimum": 1}]},
    ),
]


class InjectionDose(_Model):
    """How much a planned injection gives: ``fraction_of_visible_volume`` (in (0, 1]) of the
    volume of the visible lesions, split over ``sites`` needle sites (``auto``: the planner
    chooses; or a number ≥ 1), infused at ``rate`` (> 0, at most 10 mL/min) and capped at
    ``max_volume`` per session (> 0; None for no cap)."""

    fraction_of_visible_volume: _Fraction
    sites: _Sites = "auto"
    rate: PositiveVolumeRate
    max_volume: PositiveVolume | None = None

    @field_validator("rate")
    @classmethod
    def _rate_limit(cls, rate: pint.Quantity) -> pint.Quantity:
        return _injection_rate(rate)

    @property
    def rate_m3_s(self) -> float:
        """Infusion rate of each site in m³/s."""
        return to_si(self.rate)

    @property
    def rate_ml_h(self) -> float:
        """Infusion rate of each site in mL/h."""
        return float(self.rate.to("mL/h").magnitude)

    @property
    def max_volume_m3(self) -> float | None:
        """Largest volume injected in one session in m³; None for no cap."""
        return _optional_si(self.max_volume)

    @property
    def max_volume_ml(self) -> float | None:
        """Largest volume injected in one session in mL (the unit of scan volumes); None for no
        cap."""
        return None if self.max_volume is None else float(self.max_volume.to("mL").magnitude)


class LocalProgression(_Model):
    """What ``ablate_visible`` does when a scan shows local progression after its sessions:
    ablate it again (``retreat``, default false), at most ``max`` times (≥ 1, default 2)."""

    retreat: Annotated[bool, Strict()] = False
    max: _AtLeastOne = 2


class _Schedule:
    """Accessors shared by the policies (fields of each model; not annotated here, so that
    pydantic does not take them for fields)."""

    @property
    def first_day_d(self) -> float:
        """Day of the first decision, in days."""
        return _days(self.first_day)  # type: ignore[attr-defined]

    @property
    def every_d(self) -> float:
        """Days between decisions."""
        return _days(self.every)  # type: ignore[attr-defined]

    @property
    def normal_lost_budget_ml(self) -> float | None:
        """Normal tissue lost (mL) at which the policy stops; None for no budget."""
        budget = self.normal_lost_budget  # type: ignore[attr-defined]
        return None if budget is None else float(budget.to("mL").magnitude)

    @property
    def systemic_dose_budget_mmol(self) -> float | None:
        """Systemic dose of agent (mmol) at which the policy stops; None for no budget."""
        budget = self.systemic_dose_budget  # type: ignore[attr-defined]
        return None if budget is None else float(budget.to("mmol").magnitude)


class RepeatUntilClear(_Schedule, _Model):
    """Treat what the latest scan shows, every ``every`` from ``first_day``, until nothing is
    visible, ``max_sessions`` sessions are used, or a budget is spent.

    ``session`` is the template of each session (:class:`SessionTemplate`); an injection needs a
    ``dose`` (and only an injection takes one). The policy stops before a session when the normal
    tissue lost so far reaches ``normal_lost_budget`` or the systemic dose of agent reaches
    ``systemic_dose_budget``.
    """

    kind: Literal["repeat_until_clear"]
    first_day: NonNegativeDuration = "0 d"  # type: ignore[assignment]
    every: PositiveDuration
    max_sessions: _AtLeastOne
    session: SessionTemplate
    dose: InjectionDose | None = None
    normal_lost_budget: PositiveVolume | None = None
    systemic_dose_budget: PositiveAmount | None = None

    @model_validator(mode="after")
    def _dose_fits_the_session(self) -> RepeatUntilClear:
        modality = self.session.modality
        if modality == "injection" and self.dose is None:
            raise KeyedValueError(
                "missing required key: an injection policy needs a dose, e.g. "
                "{fraction_of_visible_volume: 0.3, rate: 10 mL/h}",
                "dose",
            )
        if modality != "injection" and self.dose is not None:
            raise KeyedValueError(
                f"dose is only for injection sessions; a {modality} session takes none", "dose"
            )
        return self


_NOT_THERMAL = (
    "ablate_visible plans ablations (microwave, radiofrequency, cryo or ire), not {modality}; "
    "an injection is planned by kind: repeat_until_clear with a dose"
)


class AblateVisible(_Schedule, _Model):
    """Ablate what the latest scan shows with a ``margin`` (≥ 0, default 5 mm) around it.

    Decisions come every ``every`` from ``first_day``, for at most ``max_sessions`` sessions
    (default 1). ``session`` is an ablation template (microwave, radiofrequency, cryo or ire); the
    planner sets the positions and a duration of at most ``max_duration`` (None: the modality's own
    limit; for cryo the number of probes, for ire the number of electrodes around each lesion and
    their pairs). ``on_local_progression`` says whether a lesion that comes back at an ablated site
    is ablated again. The budgets stop the policy as for :class:`RepeatUntilClear`.
    """

    kind: Literal["ablate_visible"]
    first_day: NonNegativeDuration = "0 d"  # type: ignore[assignment]
    every: PositiveDuration
    max_sessions: _AtLeastOne = 1
    margin: NonNegativeLength = "5 mm"  # type: ignore[assignment]
    session: SessionTemplate
    max_duration: PositiveDuration | None = None
    on_local_progression: LocalProgression = Field(default_factory=LocalProgression)
    normal_lost_budget: PositiveVolume | None = None
    systemic_dose_budget: PositiveAmount | None = None

    @model_validator(mode="before")
    @classmethod
    def _no_injection(cls, data: Any) -> Any:
        # said before the template is validated, so that this is the reason given
        session = data.get("session") if isinstance(data, dict) else None
        if isinstance(session, dict) and session.get("modality") == "injection":
            raise KeyedValueError(_NOT_THERMAL.format(modality="injection"), "session", "modality")
        return data

    @model_validator(mode="after")
    def _thermal_session(self) -> AblateVisible:
        modality = self.session.modality
        if modality not in _ABLATIONS:
            raise KeyedValueError(_NOT_THERMAL.format(modality=modality), "session", "modality")
        limit = {"microwave": MAX_MICROWAVE_DURATION_S, "radiofrequency": MAX_RF_DURATION_S}
        if self.max_duration is not None and modality in limit:
            try:
                _at_most(self.max_duration, limit[modality], f"longer than any {modality} session")
            except ValueError as exc:
                raise KeyedValueError(f"{exc} (at most 2 h)", "max_duration") from None
        return self

    @property
    def margin_m(self) -> float:
        """Ablation margin around the visible tumour, in m."""
        return to_si(self.margin)

    @property
    def max_duration_s(self) -> float | None:
        """Longest session the planner may choose, in s; None for the modality's limit."""
        return _optional_si(self.max_duration)


#: A policy; the ``kind`` key picks the model.
Policy = Annotated[RepeatUntilClear | AblateVisible, Field(discriminator="kind")]


class Strategy(_Model):
    """A treatment strategy: explicit ``sessions`` in order of day, a ``policy``, or both (the
    explicit sessions first, then the policy from its ``first_day``)."""

    sessions: list[Session] = Field(default_factory=list)
    policy: Policy | None = None

    @field_validator("sessions")
    @classmethod
    def _in_order(cls, sessions: list[_Sessions]) -> list[_Sessions]:
        for index in range(1, len(sessions)):
            before, day = sessions[index - 1].day, sessions[index].day
            if day < before:
                raise KeyedValueError(
                    f"sessions must be in order of day: day {day:g} comes after day {before:g}",
                    index,
                    "day",
                )
        return sessions

    @model_validator(mode="after")
    def _has_treatment(self) -> Strategy:
        if not self.sessions and self.policy is None:
            raise KeyedValueError("a strategy needs sessions (at least 1 item), a policy, or both")
        if self.sessions and self.policy is not None:
            last = self.sessions[-1].day
            if self.policy.first_day_d < last:
                raise KeyedValueError(
                    f"the policy starts on day {self.policy.first_day_d:g}, before the last "
                    f"explicit session (day {last:g}); the explicit sessions come first",
                    "policy",
                    "first_day",
                )
        return self
