"""Typed, frozen models of a scenario file.

Every model rejects unknown keys and is immutable once validated. Physical values are stored as
:class:`pint.Quantity` objects in the units the user wrote (so a dumped scenario reads as it was
written); the ``*_m``, ``*_s``, ``*_w`` ... properties give SI floats for the numerical code, and
temperatures come out in °C (``*_c``), the project's internal temperature unit.

Positions are in the grid's frame: millimetres (or any length unit) relative to the grid centre,
with axes x, y, z matching array indices i, j, k.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Callable, Iterable
from typing import Annotated, Any, Literal

import pint
from pydantic import (
    AfterValidator,
    AllowInfNan,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    GetCoreSchemaHandler,
    GetJsonSchemaHandler,
    SerializerFunctionWrapHandler,
    Strict,
    StringConstraints,
    field_serializer,
    field_validator,
    model_serializer,
    model_validator,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import core_schema

from tissuefate.errors import ScenarioError
from tissuefate.scenario.quantities import (
    Duration,
    Frequency,
    Length,
    Power,
    PowerDensity,
    QuantityField,
    Temperature,
    Volume,
    VolumeRate,
    format_quantity,
    parse_quantity,
    to_si,
)

__all__ = [
    "Anatomy",
    "Cooldown",
    "CryoPhase",
    "CryoProbe",
    "CryoSession",
    "Day",
    "Direction",
    "GridSpec",
    "HeatSource",
    "HeatSourceSession",
    "ImagingSettings",
    "InjectionSession",
    "InjectionSite",
    "MicrowaveApplicator",
    "MicrowaveSession",
    "OutputSettings",
    "RadiofrequencyElectrode",
    "RadiofrequencySession",
    "RepairSettings",
    "Rolloff",
    "Scenario",
    "Session",
    "Strategy",
    "ThermalSettings",
    "TissueSpec",
    "Tumor",
    "Vec3",
    "Vessel",
]

Vec3Float = tuple[float, float, float]

#: Strategy names: letters, digits, ``_`` and ``-`` (they become folder names).
STRATEGY_NAME = re.compile(r"[A-Za-z0-9_-]+")
#: Frequencies the microwave model is calibrated for, in Hz.
MICROWAVE_FREQUENCY_HZ = 2.45e9
#: Highest power per applicator a clinical microwave generator delivers, in W.
MAX_MICROWAVE_POWER_W = 300.0
#: Longest microwave session accepted, in s.
MAX_MICROWAVE_DURATION_S = 2 * 3600.0
MIN_VOXELS_PER_AXIS = 8
#: Highest power a clinical radiofrequency generator delivers, in W.
MAX_RF_POWER_W = 250.0
#: Longest radiofrequency session accepted, in s.
MAX_RF_DURATION_S = 2 * 3600.0
#: Coolant temperatures accepted for internally cooled RF electrodes, in °C.
RF_COOLANT_RANGE_C = (-20.0, 40.0)
#: Tine counts of the multi-tine (umbrella) electrodes accepted.
RF_TINES_RANGE = (2, 16)
#: Probe surface temperatures accepted while freezing (liquid nitrogen to the mildest gas), in °C.
CRYO_GAS_RANGE_C = (-196.0, -20.0)
#: Probe surface temperatures accepted during an active thaw, in °C.
CRYO_THAW_RANGE_C = (0.0, 60.0)
#: Longest single freeze or thaw phase accepted, in s.
MAX_CRYO_PHASE_S = 3600.0
#: Fastest injection rate accepted (10 mL/min), in m³/s: above what a needle injection delivers
#: by hand or pump.
MAX_INJECTION_RATE_M3_S = 10e-6 / 60
#: Largest volume injected at one site (50 mL), in m³.
MAX_INJECTION_VOLUME_M3 = 50e-6
#: Thickest injection needle accepted (outer diameter), in m.
MAX_INJECTION_NEEDLE_DIAMETER_M = 5e-3
#: Longest time simulated after the last infusion of an injection session, in s.
MAX_INJECTION_OBSERVE_S = 24 * 3600.0
#: Relative round-off allowed at every limit: unit conversions round (``10 mL/min`` comes out one
#: unit in the last place above ``10e-6 / 60`` m³/s), and a value written at the limit must pass.
LIMIT_ROUND_OFF = 1e-9


class KeyedValueError(ValueError):
    """A validation error about a key below the one pydantic reports.

    A model validator can only fail the model as a whole; raising this instead lets
    :mod:`tissuefate.scenario.io` point at the key that is wrong. ``subkey`` holds the path parts
    (key names and list indices) to append to the model's location.
    """

    def __init__(self, message: str, *subkey: str | int) -> None:
        super().__init__(message)
        self.subkey = subkey


# --------------------------------------------------------------------------------------------
# Field types
# --------------------------------------------------------------------------------------------


def _shown(value: Any) -> str:
    """A short description of an input value for error messages."""
    if value is None:
        return "nothing (null)"
    if isinstance(value, pint.Quantity):
        return repr(format_quantity(value))
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list | tuple):
        return f"a list of {len(value)}"
    return repr(value)


def _positive(quantity: pint.Quantity) -> pint.Quantity:
    if not quantity.magnitude > 0:
        raise ValueError(f"must be greater than zero, got {format_quantity(quantity)!r}")
    return quantity


def _not_negative(quantity: pint.Quantity) -> pint.Quantity:
    if quantity.magnitude < 0:
        raise ValueError(f"must not be negative, got {format_quantity(quantity)!r}")
    return quantity


def _three_values(value: Any) -> Any:
    if not isinstance(value, list | tuple):
        raise ValueError(f"expected a list of three values [x, y, z], got {_shown(value)}")
    if len(value) != 3:
        raise ValueError(f"expected three values [x, y, z], got {len(value)}")
    return value


def _normalise(vector: Vec3Float) -> Vec3Float:
    norm = math.hypot(*vector)
    if norm == 0.0:
        raise ValueError("a direction must not be [0, 0, 0]")
    if abs(norm - 1.0) <= 1e-12:
        # Already a unit vector (e.g. one this function returned): keep it bit for bit, so that
        # validating a dumped scenario gives back the identical direction.
        return (float(vector[0]), float(vector[1]), float(vector[2]))
    return (vector[0] / norm, vector[1] / norm, vector[2] / norm)


class _Plain:
    """Pydantic marker for a field type with its own validator, serialiser and JSON schema."""

    __slots__ = ("json_schema", "serialize", "validate")

    def __init__(
        self,
        validate: Callable[[Any], Any],
        serialize: Callable[[Any], Any],
        json_schema: JsonSchemaValue,
    ) -> None:
        self.validate = validate
        self.serialize = serialize
        self.json_schema = json_schema

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.no_info_plain_validator_function(
            self.validate,
            serialization=core_schema.plain_serializer_function_ser_schema(self.serialize),
        )

    def __get_pydantic_json_schema__(
        self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        return dict(self.json_schema)


def _parse_day(value: Any) -> float:
    if isinstance(value, pint.Quantity | str):
        days = parse_quantity(value, "[time]", what="day", example="7 d").to("day").magnitude
    elif isinstance(value, int | float) and not isinstance(value, bool):
        days = float(value)
    else:
        raise ValueError(
            f"expected a number of days (e.g. 7) or a duration (e.g. '7 d'), got {_shown(value)}"
        )
    if not math.isfinite(days) or days < 0:
        raise ValueError(f"a day must be zero or later, got {_shown(value)}")
    return float(days)


def _dump_day(days: float) -> int | float:
    return int(days) if days.is_integer() and abs(days) < 1e15 else days


def _parse_cooldown(value: Any) -> Literal["auto"] | pint.Quantity:
    if value == "auto":
        return "auto"
    if isinstance(value, str) and not re.match(r"\s*[-+.\d]", value):
        raise ValueError(f"expected 'auto' or a duration (e.g. '5 min'), got {value!r}")
    quantity = parse_quantity(value, "[time]", what="cooldown", example="5 min")
    return _not_negative(quantity)


def _dump_cooldown(value: Literal["auto"] | pint.Quantity) -> str:
    return value if isinstance(value, str) else format_quantity(value)


PositiveLength = Annotated[Length, AfterValidator(_positive)]
PositivePower = Annotated[Power, AfterValidator(_positive)]
PositiveDuration = Annotated[Duration, AfterValidator(_positive)]
NonNegativeDuration = Annotated[Duration, AfterValidator(_not_negative)]
PositivePowerDensity = Annotated[PowerDensity, AfterValidator(_positive)]
PositiveVolume = Annotated[Volume, AfterValidator(_positive)]
PositiveVolumeRate = Annotated[VolumeRate, AfterValidator(_positive)]

#: A voltage, e.g. ``"150 V"``; SI value in V.
Voltage = Annotated[
    pint.Quantity, QuantityField("[electric_potential]", what="voltage", example="150 V")
]
#: An electrical resistance (impedance magnitude), e.g. ``"120 ohm"``; SI value in Ω.
Resistance = Annotated[
    pint.Quantity, QuantityField("[resistance]", what="resistance", example="120 ohm")
]
PositiveVoltage = Annotated[Voltage, AfterValidator(_positive)]
PositiveResistance = Annotated[Resistance, AfterValidator(_positive)]

#: A position or extent: three lengths ``[x, y, z]``, e.g. ``[0 mm, 0 mm, 20 mm]``.
Vec3 = Annotated[tuple[Length, Length, Length], BeforeValidator(_three_values)]
#: Three positive lengths, e.g. grid edges or ellipsoid semi-axes.
PositiveVec3 = Annotated[
    tuple[PositiveLength, PositiveLength, PositiveLength], BeforeValidator(_three_values)
]
_Component = Annotated[float, Strict(), AllowInfNan(False)]
#: A direction ``[x, y, z]`` of plain numbers, not all zero; stored as a unit vector.
Direction = Annotated[
    tuple[_Component, _Component, _Component],
    BeforeValidator(_three_values),
    AfterValidator(_normalise),
]
#: A day of the course: a number of days (``7``, ``1.5``) or a duration (``"36 h"``), ≥ 0.
#: Stored as float days and written back as a plain number.
Day = Annotated[
    float,
    _Plain(
        _parse_day,
        _dump_day,
        {
            "anyOf": [{"type": "number", "minimum": 0}, {"type": "string"}],
            "description": "day of the course: days as a number, or a duration such as '36 h'",
        },
    ),
]
#: ``"auto"`` (let the simulator decide) or a duration ≥ 0, e.g. ``"5 min"``.
Cooldown = Annotated[
    Literal["auto"] | pint.Quantity,
    _Plain(
        _parse_cooldown,
        _dump_cooldown,
        {
            "anyOf": [{"const": "auto"}, {"type": "string"}],
            "description": "'auto' or a duration with units, e.g. '5 min'",
        },
    ),
]
_Name = Annotated[str, StringConstraints(min_length=1)]


def _si3(vector: Iterable[pint.Quantity]) -> Vec3Float:
    x, y, z = (to_si(v) for v in vector)
    return (x, y, z)


def _optional_si(quantity: pint.Quantity | None) -> float | None:
    return None if quantity is None else to_si(quantity)


# --------------------------------------------------------------------------------------------
# Models
# --------------------------------------------------------------------------------------------


class _Model(BaseModel):
    """Shared configuration: unknown keys are errors, instances are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)

    @classmethod
    def _coerce_input(cls, data: Any) -> Any:
        """Turn a short form of this model's input into the mapping form."""
        return data

    @model_validator(mode="before")
    @classmethod
    def _check_keys(cls, data: Any) -> Any:
        data = cls._coerce_input(data)
        if isinstance(data, dict):
            allowed = list(cls.model_fields)
            for key in data:
                if key not in cls.model_fields:
                    close = difflib.get_close_matches(str(key), allowed, n=1)
                    hint = f" (did you mean {close[0]!r}?)" if close else ""
                    raise KeyedValueError(
                        f"unknown key{hint}; allowed: {', '.join(allowed)}", str(key)
                    )
        return data


class GridSpec(_Model):
    """The voxel grid, centred on the origin: edge lengths ``size`` and voxel edge ``spacing``."""

    size: PositiveVec3
    spacing: PositiveLength

    @model_validator(mode="after")
    def _whole_voxels(self) -> GridSpec:
        for axis, edge in zip("xyz", self.size, strict=True):
            ratio = float((edge / self.spacing).to("dimensionless").magnitude)
            count = round(ratio)
            if count == 0 or abs(ratio - count) > 1e-6 * ratio:
                raise KeyedValueError(
                    f"{format_quantity(edge)} along {axis} is not a whole number of "
                    f"{format_quantity(self.spacing)} voxels",
                    "size",
                )
            if count < MIN_VOXELS_PER_AXIS:
                raise KeyedValueError(
                    f"the grid needs at least {MIN_VOXELS_PER_AXIS} voxels along each axis; "
                    f"{format_quantity(edge)} along {axis} is {count} voxels of "
                    f"{format_quantity(self.spacing)}",
                    "size",
                )
        return self

    @property
    def shape(self) -> tuple[int, int, int]:
        """Number of voxels along x, y, z."""
        nx, ny, nz = (
            round(float((edge / self.spacing).to("dimensionless").magnitude)) for edge in self.size
        )
        return (nx, ny, nz)

    @property
    def n_voxels(self) -> int:
        """Total number of voxels."""
        nx, ny, nz = self.shape
        return nx * ny * nz

    @property
    def spacing_m(self) -> float:
        """Voxel edge in m."""
        return to_si(self.spacing)

    @property
    def size_m(self) -> Vec3Float:
        """Grid edge lengths along x, y, z in m."""
        return _si3(self.size)

    @property
    def half_size_m(self) -> Vec3Float:
        """Distance from the grid centre to its faces along x, y, z in m."""
        x, y, z = (s / 2 for s in self.size_m)
        return (x, y, z)


class TissueSpec(_Model):
    """The tissue: a preset name plus overrides ``{parameter: "value with units"}``.

    The short form ``tissue: liver`` means ``tissue: {preset: liver}``. The override names and
    values are checked against the preset by :mod:`tissuefate.tissue`, not here.
    """

    preset: _Name = "liver"
    parameters: dict[_Name, str] = Field(default_factory=dict)

    @classmethod
    def _coerce_input(cls, data: Any) -> Any:
        return {"preset": data} if isinstance(data, str) else data


class Tumor(_Model):
    """A tumor: a sphere (``radius``) or axis-aligned ellipsoid (``semi_axes``) at ``center``."""

    name: _Name
    shape: Literal["sphere", "ellipsoid"] = "sphere"
    center: Vec3
    radius: PositiveLength | None = None
    semi_axes: PositiveVec3 | None = None
    preset: _Name = "tumor"

    @model_validator(mode="after")
    def _size_matches_shape(self) -> Tumor:
        if self.shape == "sphere":
            if self.semi_axes is not None:
                raise KeyedValueError(
                    "a sphere takes a radius; semi_axes are for shape: ellipsoid", "semi_axes"
                )
            if self.radius is None:
                raise KeyedValueError("a sphere needs a radius, e.g. '15 mm'", "radius")
        else:
            if self.radius is not None:
                raise KeyedValueError(
                    "an ellipsoid takes semi_axes [a, b, c], not a radius", "radius"
                )
            if self.semi_axes is None:
                raise KeyedValueError("an ellipsoid needs semi_axes [a, b, c]", "semi_axes")
        return self

    @property
    def center_m(self) -> Vec3Float:
        """Centre relative to the grid centre, in m."""
        return _si3(self.center)

    @property
    def radius_m(self) -> float | None:
        """Radius of a sphere in m (None for an ellipsoid)."""
        return _optional_si(self.radius)

    @property
    def semi_axes_m(self) -> Vec3Float:
        """Semi-axes along x, y, z in m (all equal to the radius for a sphere)."""
        if self.semi_axes is not None:
            return _si3(self.semi_axes)
        r = to_si(self.radius)  # type: ignore[arg-type]  # a sphere always has one
        return (r, r, r)


class Vessel(_Model):
    """A large vessel: a straight cylinder of ``radius`` from ``start`` to ``end``."""

    name: _Name
    start: Vec3
    end: Vec3
    radius: PositiveLength

    @model_validator(mode="after")
    def _has_length(self) -> Vessel:
        if self.start_m == self.end_m:
            raise KeyedValueError(f"vessel {self.name} ends where it starts", "end")
        return self

    @property
    def start_m(self) -> Vec3Float:
        """Start point relative to the grid centre, in m."""
        return _si3(self.start)

    @property
    def end_m(self) -> Vec3Float:
        """End point relative to the grid centre, in m."""
        return _si3(self.end)

    @property
    def radius_m(self) -> float:
        """Radius in m."""
        return to_si(self.radius)


def _unique_names(items: list[Any], kind: str) -> list[Any]:
    seen: dict[str, int] = {}
    for index, item in enumerate(items):
        if item.name in seen:
            raise KeyedValueError(
                f"{kind} name {item.name!r} is already used by entry {seen[item.name]}",
                index,
                "name",
            )
        seen[item.name] = index
    return items


class Anatomy(_Model):
    """What is in the grid besides the tissue: tumors and large vessels."""

    tumors: list[Tumor] = Field(default_factory=list)
    vessels: list[Vessel] = Field(default_factory=list)

    @field_validator("tumors")
    @classmethod
    def _unique_tumors(cls, tumors: list[Tumor]) -> list[Tumor]:
        return _unique_names(tumors, "tumor")

    @field_validator("vessels")
    @classmethod
    def _unique_vessels(cls, vessels: list[Vessel]) -> list[Vessel]:
        return _unique_names(vessels, "vessel")


class ThermalSettings(_Model):
    """Settings of the heat equation: start and boundary temperatures (°C), time steps (s).

    ``perfusion_shutdown``: microvessels die with coagulating tissue, so perfusion stops there
    (the default); switch it off for the constant-perfusion Pennes problem of the analytic tests.
    """

    initial_temperature: Temperature | None = None
    boundary: Literal["body_temperature", "insulated"] = "body_temperature"
    boundary_temperature: Temperature | None = None
    dtype: Literal["float32", "float64"] = "float32"
    time_step_safety: Annotated[float, Strict(), Field(gt=0, le=1)] = 0.9
    time_step: PositiveDuration | None = None
    update_interval: PositiveDuration = "2 s"  # type: ignore[assignment]
    record_interval: PositiveDuration = "10 s"  # type: ignore[assignment]
    perfusion_shutdown: Annotated[bool, Strict()] = True

    @property
    def initial_temperature_c(self) -> float | None:
        """Initial tissue temperature in °C; None means the tissue preset's body temperature."""
        return _optional_si(self.initial_temperature)

    @property
    def boundary_temperature_c(self) -> float | None:
        """Temperature held on the grid faces in °C; None means the initial temperature."""
        return _optional_si(self.boundary_temperature)

    @property
    def time_step_s(self) -> float | None:
        """Fixed time step in s; None means derived from the stability limit."""
        return _optional_si(self.time_step)

    @property
    def update_interval_s(self) -> float:
        """Interval between refreshes of tissue state and sources during a session, in s."""
        return to_si(self.update_interval)

    @property
    def record_interval_s(self) -> float:
        """Interval between time-series rows (and finiteness checks) of a session, in s."""
        return to_si(self.record_interval)


class MicrowaveApplicator(_Model):
    """One microwave antenna: tip position (grid frame) and insertion direction (shaft → tip)."""

    tip: Vec3
    direction: Direction
    antenna: Literal["dual_slot", "monopole"] = "dual_slot"

    @property
    def tip_m(self) -> Vec3Float:
        """Tip position relative to the grid centre, in m."""
        return _si3(self.tip)


def _cooldown_s(cooldown: Literal["auto"] | pint.Quantity) -> float | None:
    return None if isinstance(cooldown, str) else to_si(cooldown)


def _at_most(quantity: pint.Quantity, most: float, what: str) -> pint.Quantity:
    """``quantity`` if its SI value is at most ``most`` (up to the round-off of unit conversion,
    ``LIMIT_ROUND_OFF``); ``what`` ends the message."""
    if to_si(quantity) > most * (1.0 + LIMIT_ROUND_OFF):
        raise ValueError(f"{format_quantity(quantity)} is {what}")
    return quantity


class _Timed:
    """Accessors of a session with a ``duration`` and a ``cooldown`` (fields of the model; not
    annotated here, so that pydantic does not take them for fields of every session)."""

    @property
    def duration_s(self) -> float:
        """Time the source is on, in s."""
        return to_si(self.duration)  # type: ignore[attr-defined]

    @property
    def cooldown_s(self) -> float | None:
        """Time simulated after the source is off, in s; None for ``"auto"``."""
        return _cooldown_s(self.cooldown)  # type: ignore[attr-defined]


class MicrowaveSession(_Timed, _Model):
    """A microwave ablation: ``power`` per applicator (W) for ``duration``, at 2.45 GHz."""

    modality: Literal["microwave"]
    day: Day = 0
    applicators: list[MicrowaveApplicator] = Field(min_length=1)
    power: PositivePower
    duration: PositiveDuration
    frequency: Frequency = "2.45 GHz"  # type: ignore[assignment]
    cooldown: Cooldown = "auto"

    @field_validator("power")
    @classmethod
    def _clinical_power(cls, power: pint.Quantity) -> pint.Quantity:
        return _at_most(
            power,
            MAX_MICROWAVE_POWER_W,
            f"above any clinical generator (at most {MAX_MICROWAVE_POWER_W:g} W per applicator)",
        )

    @field_validator("duration")
    @classmethod
    def _clinical_duration(cls, duration: pint.Quantity) -> pint.Quantity:
        return _at_most(
            duration, MAX_MICROWAVE_DURATION_S, "longer than any microwave session (at most 2 h)"
        )

    @field_validator("frequency")
    @classmethod
    def _supported_frequency(cls, frequency: pint.Quantity) -> pint.Quantity:
        if abs(to_si(frequency) / MICROWAVE_FREQUENCY_HZ - 1.0) > 0.01:
            raise ValueError(
                f"only 2.45 GHz microwave is supported, got {format_quantity(frequency)!r}"
            )
        return frequency

    @property
    def power_w(self) -> float:
        """Power delivered by each applicator, in W."""
        return to_si(self.power)

    @property
    def frequency_hz(self) -> float:
        """Microwave frequency in Hz."""
        return to_si(self.frequency)


class HeatSource(_Model):
    """A prescribed heat source: a uniform sphere or a point; ``power`` (W) or ``power_density``."""

    shape: Literal["sphere", "point"]
    center: Vec3
    radius: PositiveLength | None = None
    power: PositivePower | None = None
    power_density: PositivePowerDensity | None = None

    @model_validator(mode="after")
    def _consistent(self) -> HeatSource:
        if self.shape == "sphere" and self.radius is None:
            raise KeyedValueError("a sphere needs a radius, e.g. '5 mm'", "radius")
        if self.shape == "point":
            if self.radius is not None:
                raise KeyedValueError("a point source has no radius", "radius")
            if self.power_density is not None:
                raise KeyedValueError(
                    "a point source takes a power, not a power density", "power_density"
                )
        if self.power is None and self.power_density is None:
            raise KeyedValueError("give either power or power_density", "power")
        if self.power is not None and self.power_density is not None:
            raise KeyedValueError("give power or power_density, not both", "power_density")
        return self

    @property
    def center_m(self) -> Vec3Float:
        """Centre relative to the grid centre, in m."""
        return _si3(self.center)

    @property
    def radius_m(self) -> float | None:
        """Sphere radius in m (None for a point)."""
        return _optional_si(self.radius)

    @property
    def power_w(self) -> float:
        """Total power in W (from the power density times the sphere volume if need be)."""
        if self.power is not None:
            return to_si(self.power)
        radius = to_si(self.radius)  # type: ignore[arg-type]  # checked: spheres have one
        return to_si(self.power_density) * 4.0 / 3.0 * math.pi * radius**3  # type: ignore[arg-type]

    @property
    def power_density_w_m3(self) -> float | None:
        """Power density in W/m³ when given that way, else None."""
        return _optional_si(self.power_density)


class HeatSourceSession(_Timed, _Model):
    """Prescribed heat sources on for ``duration``: for validation against analytic solutions."""

    modality: Literal["heat_source"]
    day: Day = 0
    sources: list[HeatSource] = Field(min_length=1)
    duration: PositiveDuration
    cooldown: Cooldown = "0 s"  # type: ignore[assignment]


def _between(quantity: pint.Quantity, low: float, high: float, unit: str = "degC") -> pint.Quantity:
    """``quantity`` if its SI value (°C for temperatures) lies in ``[low, high]``."""
    if not low <= to_si(quantity) <= high:
        raise ValueError(
            f"must be between {low:g} {unit} and {high:g} {unit}, got {format_quantity(quantity)!r}"
        )
    return quantity


def _unset(data: dict[str, Any], key: str) -> bool:
    return data.get(key) is None


class RadiofrequencyElectrode(_Model):
    """One radiofrequency electrode: tip position (grid frame) and insertion direction
    (shaft → tip), as for microwave applicators.

    ``kind`` picks the geometry of the active (uninsulated) part, which runs from the tip back
    along the shaft:

    - ``needle``: a single straight needle of ``diameter`` with an exposed tip of
      ``active_length`` (required).
    - ``cluster``: three parallel needles of that kind, ``spacing`` apart (default 5 mm), the
      ``tip`` being the centre of their tips.
    - ``multi_tine``: ``tines`` curved tines (default 9) deployed from the shaft end at ``tip``
      and spreading to ``deployed_diameter`` (required); ``active_length`` is the tine length
      along the axis and defaults to half the deployed diameter.

    An internally ``cooled`` electrode (the default) holds its surface near
    ``coolant_temperature`` (default 10 °C, allowed -20 to 40 °C); the key is an error on an
    uncooled one. Keys that do not apply to the kind (``spacing`` off a cluster, ``tines`` and
    ``deployed_diameter`` off a multi-tine) are errors, never silently ignored. The defaults that
    depend on the kind are filled in on validation, so a dumped scenario shows them.
    """

    tip: Vec3
    direction: Direction
    kind: Literal["needle", "cluster", "multi_tine"] = "needle"
    active_length: PositiveLength | None = None
    diameter: PositiveLength = "1.5 mm"  # type: ignore[assignment]
    cooled: Annotated[bool, Strict()] = True
    coolant_temperature: Temperature | None = None
    spacing: PositiveLength | None = None
    tines: Annotated[int, Strict(), Field(ge=RF_TINES_RANGE[0], le=RF_TINES_RANGE[1])] | None = None
    deployed_diameter: PositiveLength | None = None

    @classmethod
    def _coerce_input(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        data = dict(data)
        kind = data.get("kind", "needle")
        if data.get("cooled", True) is True and _unset(data, "coolant_temperature"):
            data["coolant_temperature"] = "10 degC"
        if kind == "cluster" and _unset(data, "spacing"):
            data["spacing"] = "5 mm"
        if kind == "multi_tine":
            if _unset(data, "tines"):
                data["tines"] = 9
            if _unset(data, "active_length") and not _unset(data, "deployed_diameter"):
                try:
                    spread = parse_quantity(data["deployed_diameter"], "[length]", what="length")
                except ValueError:
                    spread = None  # reported by the field itself
                if spread is not None and spread.magnitude > 0:
                    data["active_length"] = spread / 2
        return data

    @field_validator("coolant_temperature")
    @classmethod
    def _coolant_range(cls, value: pint.Quantity | None) -> pint.Quantity | None:
        return None if value is None else _between(value, *RF_COOLANT_RANGE_C)

    @model_validator(mode="after")
    def _fits_kind(self) -> RadiofrequencyElectrode:
        if not self.cooled and self.coolant_temperature is not None:
            raise KeyedValueError(
                "coolant_temperature is only for a cooled electrode (cooled: true)",
                "coolant_temperature",
            )
        if self.kind != "cluster" and self.spacing is not None:
            raise KeyedValueError(f"spacing is only for kind: cluster, not {self.kind}", "spacing")
        if self.kind != "multi_tine":
            for key in ("tines", "deployed_diameter"):
                if getattr(self, key) is not None:
                    raise KeyedValueError(
                        f"{key} is only for kind: multi_tine, not {self.kind}", key
                    )
            if self.active_length is None:
                raise KeyedValueError(
                    f"a {self.kind} electrode needs an active_length (its exposed tip), "
                    "e.g. '20 mm'",
                    "active_length",
                )
        elif self.deployed_diameter is None:
            raise KeyedValueError(
                "a multi_tine electrode needs a deployed_diameter (the spread of the tine tips), "
                "e.g. '30 mm'",
                "deployed_diameter",
            )
        return self

    @property
    def tip_m(self) -> Vec3Float:
        """Tip position relative to the grid centre, in m (centre of the tips for a cluster)."""
        return _si3(self.tip)

    @property
    def active_length_m(self) -> float:
        """Length of the active part along the axis, behind the tip, in m."""
        return to_si(self.active_length)  # type: ignore[arg-type]  # checked or filled in

    @property
    def diameter_m(self) -> float:
        """Needle (shaft) diameter in m."""
        return to_si(self.diameter)

    @property
    def coolant_temperature_c(self) -> float | None:
        """Coolant temperature of a cooled electrode in °C; None when not cooled."""
        return _optional_si(self.coolant_temperature)

    @property
    def spacing_m(self) -> float | None:
        """Distance between the needles of a cluster in m; None for the other kinds."""
        return _optional_si(self.spacing)

    @property
    def deployed_diameter_m(self) -> float | None:
        """Spread of the tine tips of a multi-tine electrode in m; None for the other kinds."""
        return _optional_si(self.deployed_diameter)


class Rolloff(_Model):
    """Impedance roll-off control: the generator pauses for ``pause`` when the impedance exceeds
    ``impedance_above`` or rises ``impedance_rise`` above its baseline (at least one is needed).

    Both thresholds are optional inside a ``rolloff`` mapping; the defaults of an omitted (or null)
    ``rolloff`` key are 120 Ω absolute and 15 s.
    """

    impedance_above: PositiveResistance | None = None
    impedance_rise: PositiveResistance | None = None
    pause: PositiveDuration = "15 s"  # type: ignore[assignment]

    @model_validator(mode="after")
    def _has_threshold(self) -> Rolloff:
        if self.impedance_above is None and self.impedance_rise is None:
            raise KeyedValueError(
                "give impedance_above, impedance_rise or both (or write rolloff: off)"
            )
        return self

    @property
    def impedance_above_ohm(self) -> float | None:
        """Absolute impedance threshold in Ω; None if unset."""
        return _optional_si(self.impedance_above)

    @property
    def impedance_rise_ohm(self) -> float | None:
        """Threshold of the rise above the baseline impedance in Ω; None if unset."""
        return _optional_si(self.impedance_rise)

    @property
    def pause_s(self) -> float:
        """Time the power stays off after a roll-off, in s."""
        return to_si(self.pause)


_DEFAULT_ROLLOFF = {"impedance_above": "120 ohm", "pause": "15 s"}


def _parse_rolloff(value: Any) -> Any:
    """``rolloff`` input: null → the defaults, ``off`` (YAML reads it as false) → None."""
    if value is None:
        return dict(_DEFAULT_ROLLOFF)
    if value is False or value == "off":
        return None
    if isinstance(value, dict | Rolloff):
        return value
    shown = "true" if value is True else _shown(value)  # YAML reads on, yes and true as true
    raise ValueError(
        f"expected a mapping of roll-off settings, null for the defaults or off, got {shown}"
    )


class RadiofrequencySession(_Timed, _Model):
    """A radiofrequency ablation: the generator drives ``power`` (W) into the electrodes for
    ``duration``, limited by ``voltage_limit`` and paused by impedance ``rolloff``.

    Current returns through a grounding pad: ``ground`` is a grid face (``x-`` ... ``z+``) or
    ``boundary`` (all faces). With several electrodes the generator switches between them every
    ``switching_interval`` (switching monopolar mode). ``rolloff: off`` switches roll-off control
    off; then :attr:`rolloff` is None.
    """

    modality: Literal["radiofrequency"]
    day: Day = 0
    electrodes: list[RadiofrequencyElectrode] = Field(min_length=1)
    power: PositivePower
    voltage_limit: PositiveVoltage = "150 V"  # type: ignore[assignment]
    rolloff: Annotated[Rolloff | None, BeforeValidator(_parse_rolloff)] = None
    switching_interval: PositiveDuration = "10 s"  # type: ignore[assignment]
    ground: Literal["boundary", "x-", "x+", "y-", "y+", "z-", "z+"] = "boundary"
    duration: PositiveDuration
    cooldown: Cooldown = "auto"

    @field_validator("power")
    @classmethod
    def _clinical_power(cls, power: pint.Quantity) -> pint.Quantity:
        return _at_most(
            power,
            MAX_RF_POWER_W,
            f"above any clinical radiofrequency generator (at most {MAX_RF_POWER_W:g} W)",
        )

    @field_validator("duration")
    @classmethod
    def _clinical_duration(cls, duration: pint.Quantity) -> pint.Quantity:
        return _at_most(
            duration, MAX_RF_DURATION_S, "longer than any radiofrequency session (at most 2 h)"
        )

    @field_serializer("rolloff", mode="wrap")
    def _dump_rolloff(self, rolloff: Rolloff | None, handler: SerializerFunctionWrapHandler) -> Any:
        return "off" if rolloff is None else handler(rolloff)

    @property
    def power_w(self) -> float:
        """Target generator power in W (shared by the electrodes when switching)."""
        return to_si(self.power)

    @property
    def voltage_limit_v(self) -> float:
        """Highest generator voltage (RMS) in V."""
        return to_si(self.voltage_limit)

    @property
    def switching_interval_s(self) -> float:
        """Time each electrode is active before the generator switches to the next, in s."""
        return to_si(self.switching_interval)


class CryoProbe(_Model):
    """One cryoprobe: tip position (grid frame) and insertion direction (shaft → tip); it
    freezes along ``active_length`` behind the tip."""

    tip: Vec3
    direction: Direction
    diameter: PositiveLength = "2.4 mm"  # type: ignore[assignment]
    active_length: PositiveLength = "40 mm"  # type: ignore[assignment]

    @property
    def tip_m(self) -> Vec3Float:
        """Tip position relative to the grid centre, in m."""
        return _si3(self.tip)

    @property
    def diameter_m(self) -> float:
        """Probe diameter in m."""
        return to_si(self.diameter)

    @property
    def active_length_m(self) -> float:
        """Freezing length behind the tip, in m."""
        return to_si(self.active_length)


_PhaseDuration = Annotated[
    PositiveDuration,
    AfterValidator(
        lambda d: _at_most(d, MAX_CRYO_PHASE_S, "longer than any cryo phase (at most 1 h)")
    ),
]


class CryoPhase(_Model):
    """One phase of a cryoablation protocol: ``freeze: DURATION`` or ``thaw: DURATION`` (≤ 1 h).

    A thaw is ``passive`` (the default: the probe stops cooling and the tissue warms it) or
    ``active`` (the probe surface is held at the session's ``thaw_temperature``); ``mode`` is an
    error on a freeze. Written back in the short form, e.g. ``{thaw: 5 min, mode: passive}``.
    """

    freeze: _PhaseDuration | None = None
    thaw: _PhaseDuration | None = None
    mode: Literal["passive", "active"] | None = None

    @classmethod
    def _coerce_input(cls, data: Any) -> Any:
        if isinstance(data, dict) and not _unset(data, "thaw") and _unset(data, "mode"):
            data = {**data, "mode": "passive"}
        return data

    @model_validator(mode="after")
    def _one_kind(self) -> CryoPhase:
        if self.freeze is None and self.thaw is None:
            raise KeyedValueError("a phase needs freeze: DURATION or thaw: DURATION")
        if self.freeze is not None and self.thaw is not None:
            raise KeyedValueError(
                "a phase is a freeze or a thaw, not both; write them as two phases", "thaw"
            )
        if self.freeze is not None and self.mode is not None:
            raise KeyedValueError("mode is only for a thaw (passive or active)", "mode")
        return self

    @model_serializer(mode="wrap")
    def _short_form(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        return {key: value for key, value in handler(self).items() if value is not None}

    @property
    def kind(self) -> Literal["freeze", "thaw"]:
        """``"freeze"`` or ``"thaw"``."""
        return "freeze" if self.freeze is not None else "thaw"

    @property
    def duration_s(self) -> float:
        """Length of the phase in s."""
        return to_si(self.freeze if self.freeze is not None else self.thaw)  # type: ignore[arg-type]


class CryoSession(_Timed, _Model):
    """A cryoablation: the probes run the ``protocol`` of freeze and thaw phases in order.

    While freezing, the probe surface is held at ``gas_temperature`` (-196 to -20 °C, default
    -150 °C); during an active thaw at ``thaw_temperature`` (0 to 60 °C, default 20 °C). The
    protocol starts with a freeze, and every thaw follows a freeze (directly or after another
    thaw), so it holds at least one freeze. ``cooldown`` is simulated after the last phase.
    """

    modality: Literal["cryo"]
    day: Day = 0
    probes: list[CryoProbe] = Field(min_length=1)
    gas_temperature: Temperature = "-150 degC"  # type: ignore[assignment]
    thaw_temperature: Temperature = "20 degC"  # type: ignore[assignment]
    protocol: list[CryoPhase] = Field(min_length=1)
    cooldown: Cooldown = "auto"

    @field_validator("gas_temperature")
    @classmethod
    def _gas_range(cls, value: pint.Quantity) -> pint.Quantity:
        return _between(value, *CRYO_GAS_RANGE_C)

    @field_validator("thaw_temperature")
    @classmethod
    def _thaw_range(cls, value: pint.Quantity) -> pint.Quantity:
        return _between(value, *CRYO_THAW_RANGE_C)

    @field_validator("protocol")
    @classmethod
    def _freeze_first(cls, protocol: list[CryoPhase]) -> list[CryoPhase]:
        for index, phase in enumerate(protocol):
            if phase.kind == "freeze":
                break
            raise KeyedValueError("a thaw needs a freeze before it", index, "thaw")
        return protocol

    @property
    def gas_temperature_c(self) -> float:
        """Probe surface temperature while freezing, in °C."""
        return to_si(self.gas_temperature)

    @property
    def thaw_temperature_c(self) -> float:
        """Probe surface temperature during an active thaw, in °C."""
        return to_si(self.thaw_temperature)

    @property
    def phases(self) -> tuple[tuple[Literal["freeze", "thaw"], float, str | None], ...]:
        """The protocol as ``(kind, duration in s, mode)``; mode is None for a freeze."""
        return tuple((p.kind, p.duration_s, p.mode) for p in self.protocol)

    @property
    def freeze_time_s(self) -> float:
        """Total freezing time of the protocol, in s."""
        return sum(p.duration_s for p in self.protocol if p.kind == "freeze")

    @property
    def duration_s(self) -> float:
        """Total length of the protocol (freezes and thaws), in s."""
        return sum(p.duration_s for p in self.protocol)


def _injection_rate(rate: pint.Quantity) -> pint.Quantity:
    return _at_most(
        rate, MAX_INJECTION_RATE_M3_S, "faster than any needle injection (at most 10 mL/min)"
    )


class InjectionSite(_Model):
    """One injection site: needle tip position (grid frame) and insertion direction
    (shaft → tip), as for microwave applicators; ``volume`` (> 0, at most 50 mL) is infused there
    at ``rate`` (> 0, at most 10 mL/min), or at the session's rate when ``rate`` is unset."""

    tip: Vec3
    direction: Direction
    volume: PositiveVolume
    rate: PositiveVolumeRate | None = None

    @field_validator("volume")
    @classmethod
    def _single_injection(cls, volume: pint.Quantity) -> pint.Quantity:
        return _at_most(
            volume,
            MAX_INJECTION_VOLUME_M3,
            "more than any single injection (at most 50 mL per site)",
        )

    @field_validator("rate")
    @classmethod
    def _site_rate(cls, rate: pint.Quantity | None) -> pint.Quantity | None:
        return None if rate is None else _injection_rate(rate)

    @property
    def tip_m(self) -> Vec3Float:
        """Needle tip position relative to the grid centre, in m."""
        return _si3(self.tip)

    @property
    def volume_m3(self) -> float:
        """Volume injected at this site, in m³."""
        return to_si(self.volume)

    @property
    def rate_m3_s(self) -> float | None:
        """Infusion rate at this site in m³/s; None means the session's rate."""
        return _optional_si(self.rate)


class InjectionSession(_Model):
    """An intratumoral injection of a chemical ``agent`` (the name of an agent preset) through a
    needle of outer ``needle_diameter`` (default 0.7 mm, 22 G; at most 5 mm) at each of ``sites``.

    ``agent_parameters`` override values of the agent preset (``{parameter: "value with
    units"}``); the agent name and the parameter names are checked against the presets elsewhere,
    not here. Each site is infused at its own ``rate`` or the session's ``rate`` (default
    10 mL/h, at most 10 mL/min); ``order`` says whether the sites are infused one after another in
    the listed order (``sequential``, the default) or all at once (``simultaneous``). ``observe``
    (default 1 h, at most 24 h) is the time simulated after the last infusion ends.

    Unlike the heating and freezing sessions it has no ``duration`` or ``cooldown`` key, but it
    gives :attr:`duration_s` (the infusion time) and :attr:`cooldown_s` (the observation time), so
    code that describes any session by them works.
    """

    modality: Literal["injection"]
    day: Day = 0
    agent: _Name
    agent_parameters: dict[_Name, str] = Field(default_factory=dict)
    sites: list[InjectionSite] = Field(min_length=1)
    rate: PositiveVolumeRate = "10 mL/h"  # type: ignore[assignment]
    needle_diameter: PositiveLength = "0.7 mm"  # type: ignore[assignment]
    order: Literal["sequential", "simultaneous"] = "sequential"
    observe: NonNegativeDuration = "1 h"  # type: ignore[assignment]

    @field_validator("rate")
    @classmethod
    def _session_rate(cls, rate: pint.Quantity) -> pint.Quantity:
        return _injection_rate(rate)

    @field_validator("needle_diameter")
    @classmethod
    def _needle_size(cls, diameter: pint.Quantity) -> pint.Quantity:
        return _at_most(
            diameter,
            MAX_INJECTION_NEEDLE_DIAMETER_M,
            "thicker than any injection needle (at most 5 mm)",
        )

    @field_validator("observe")
    @classmethod
    def _observe_time(cls, observe: pint.Quantity) -> pint.Quantity:
        return _at_most(
            observe,
            MAX_INJECTION_OBSERVE_S,
            "longer than any observation after an injection (at most 24 h)",
        )

    @property
    def rate_m3_s(self) -> float:
        """Session infusion rate (for the sites without their own) in m³/s."""
        return to_si(self.rate)

    @property
    def needle_diameter_m(self) -> float:
        """Outer needle diameter in m."""
        return to_si(self.needle_diameter)

    @property
    def observe_s(self) -> float:
        """Time simulated after the last infusion ends, in s."""
        return to_si(self.observe)

    @property
    def site_rates_m3_s(self) -> tuple[float, ...]:
        """Infusion rate of each site (its own, else the session's) in m³/s, in site order."""
        session = self.rate_m3_s
        return tuple(session if site.rate_m3_s is None else site.rate_m3_s for site in self.sites)

    @property
    def site_durations_s(self) -> tuple[float, ...]:
        """Infusion time of each site (volume / rate) in s, in site order."""
        return tuple(
            site.volume_m3 / rate
            for site, rate in zip(self.sites, self.site_rates_m3_s, strict=True)
        )

    @property
    def volume_m3(self) -> float:
        """Total volume injected over all sites, in m³."""
        return math.fsum(site.volume_m3 for site in self.sites)

    @property
    def infusion_time_s(self) -> float:
        """Time from the first infusion start to the last infusion end, in s: the sum of the site
        durations when sequential, the longest when simultaneous."""
        durations = self.site_durations_s
        return math.fsum(durations) if self.order == "sequential" else max(durations)

    @property
    def duration_s(self) -> float:
        """Time the agent flows (:attr:`infusion_time_s`), in s."""
        return self.infusion_time_s

    @property
    def cooldown_s(self) -> float:
        """Time simulated after the last infusion ends (:attr:`observe_s`), in s."""
        return self.observe_s


#: One treatment session; the ``modality`` key picks the model.
Session = Annotated[
    MicrowaveSession | RadiofrequencySession | CryoSession | HeatSourceSession | InjectionSession,
    Field(discriminator="modality"),
]


# The course models (strategies, policies, imaging, outputs) build on the session models above,
# so they are imported here, not at the top; they are re-exported from this module.
from tissuefate.scenario.course import (  # noqa: E402
    ImagingSettings,
    OutputSettings,
    RepairSettings,
    Strategy,
)


class Scenario(_Model):
    """A scenario: grid, tissue, anatomy, one or more treatment strategies to simulate, the
    follow-up imaging and what a run writes."""

    name: _Name
    description: str = ""
    seed: Annotated[int, Strict(), Field(ge=0)] = 0
    grid: GridSpec
    tissue: TissueSpec = Field(default_factory=TissueSpec)
    anatomy: Anatomy = Field(default_factory=Anatomy)
    thermal: ThermalSettings = Field(default_factory=ThermalSettings)
    strategies: dict[str, Strategy]
    follow_up: NonNegativeDuration = "0 d"  # type: ignore[assignment]
    imaging: ImagingSettings = Field(default_factory=ImagingSettings)
    repair: RepairSettings = Field(default_factory=RepairSettings)
    outputs: OutputSettings = Field(default_factory=OutputSettings)

    @field_validator("strategies")
    @classmethod
    def _named_strategies(cls, strategies: dict[str, Strategy]) -> dict[str, Strategy]:
        if not strategies:
            raise ValueError("at least one strategy is needed")
        for name in strategies:
            if not STRATEGY_NAME.fullmatch(name):
                raise KeyedValueError(
                    "a strategy name may only hold letters, digits, '_' and '-'", name
                )
        return strategies

    @property
    def follow_up_d(self) -> float:
        """Follow-up time in days."""
        return float(self.follow_up.to("day").magnitude)

    def strategy(self, name: str | None = None) -> tuple[str, Strategy]:
        """The strategy called ``name``, or the only one when ``name`` is None.

        Raises
        ------
        ScenarioError
            If there is no strategy of that name, or ``name`` is None and there are several.
        """
        names = ", ".join(self.strategies)
        if name is None:
            if len(self.strategies) == 1:
                return next(iter(self.strategies.items()))
            raise ScenarioError(
                f"the scenario has {len(self.strategies)} strategies ({names}); choose one",
                key="strategies",
            )
        if name not in self.strategies:
            raise ScenarioError(
                f"no strategy named {name!r}; the scenario has: {names}", key="strategies"
            )
        return name, self.strategies[name]
