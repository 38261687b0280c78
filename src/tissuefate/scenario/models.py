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
    Strict,
    StringConstraints,
    field_validator,
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
    Temperature,
    format_quantity,
    parse_quantity,
    to_si,
)

__all__ = [
    "Anatomy",
    "Cooldown",
    "Day",
    "Direction",
    "GridSpec",
    "HeatSource",
    "HeatSourceSession",
    "MicrowaveApplicator",
    "MicrowaveSession",
    "OutputSettings",
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


class MicrowaveSession(_Model):
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
        if to_si(power) > MAX_MICROWAVE_POWER_W:
            raise ValueError(
                f"{format_quantity(power)} is above any clinical generator "
                f"(at most {MAX_MICROWAVE_POWER_W:g} W per applicator)"
            )
        return power

    @field_validator("duration")
    @classmethod
    def _clinical_duration(cls, duration: pint.Quantity) -> pint.Quantity:
        if to_si(duration) > MAX_MICROWAVE_DURATION_S:
            raise ValueError(
                f"{format_quantity(duration)} is longer than any microwave session (at most 2 h)"
            )
        return duration

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
    def duration_s(self) -> float:
        """Time the power is on, in s."""
        return to_si(self.duration)

    @property
    def frequency_hz(self) -> float:
        """Microwave frequency in Hz."""
        return to_si(self.frequency)

    @property
    def cooldown_s(self) -> float | None:
        """Time simulated after power-off, in s; None for ``"auto"``."""
        return _cooldown_s(self.cooldown)


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


class HeatSourceSession(_Model):
    """Prescribed heat sources on for ``duration``: for validation against analytic solutions."""

    modality: Literal["heat_source"]
    day: Day = 0
    sources: list[HeatSource] = Field(min_length=1)
    duration: PositiveDuration
    cooldown: Cooldown = "0 s"  # type: ignore[assignment]

    @property
    def duration_s(self) -> float:
        """Time the sources are on, in s."""
        return to_si(self.duration)

    @property
    def cooldown_s(self) -> float | None:
        """Time simulated after the sources are off, in s; None for ``"auto"``."""
        return _cooldown_s(self.cooldown)


#: One treatment session; the ``modality`` key picks the model.
Session = Annotated[MicrowaveSession | HeatSourceSession, Field(discriminator="modality")]


class Strategy(_Model):
    """A treatment strategy: its sessions, in order of day."""

    sessions: list[Session] = Field(min_length=1)

    @field_validator("sessions")
    @classmethod
    def _in_order(cls, sessions: list[MicrowaveSession | HeatSourceSession]) -> list[Any]:
        for index in range(1, len(sessions)):
            before, day = sessions[index - 1].day, sessions[index].day
            if day < before:
                raise KeyedValueError(
                    f"sessions must be in order of day: day {day:g} comes after day {before:g}",
                    index,
                    "day",
                )
        return sessions


class OutputSettings(_Model):
    """What a run writes: field snapshots at the given course times, figures, report."""

    snapshots: list[NonNegativeDuration] = Field(default_factory=list)
    fields: Annotated[bool, Strict()] = True
    figures: Annotated[bool, Strict()] = True
    report: Annotated[bool, Strict()] = True

    @property
    def snapshots_d(self) -> tuple[float, ...]:
        """Snapshot times in days."""
        return tuple(float(t.to("day").magnitude) for t in self.snapshots)


class Scenario(_Model):
    """A scenario: grid, tissue, anatomy and one or more treatment strategies to simulate."""

    name: _Name
    description: str = ""
    seed: Annotated[int, Strict(), Field(ge=0)] = 0
    grid: GridSpec
    tissue: TissueSpec = Field(default_factory=TissueSpec)
    anatomy: Anatomy = Field(default_factory=Anatomy)
    thermal: ThermalSettings = Field(default_factory=ThermalSettings)
    strategies: dict[str, Strategy]
    follow_up: NonNegativeDuration = "0 d"  # type: ignore[assignment]
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
