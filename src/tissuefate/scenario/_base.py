"""Building blocks of the scenario models: the base model, the field types and their validators.

:class:`_Model` is the shared base: unknown keys are errors (with a close match suggested) and
instances are immutable once validated. The field types parse values with units into
:class:`pint.Quantity` objects kept as written (see :mod:`tissuefate.scenario.quantities`) and
add the checks the models share: positive lengths, positions ``[x, y, z]``, unit directions, days
of the course, cooldowns. :class:`KeyedValueError` lets a validator name the key below its model
that is wrong.
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
    GetCoreSchemaHandler,
    GetJsonSchemaHandler,
    Strict,
    StringConstraints,
    model_validator,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import core_schema

from tissuefate.scenario.quantities import (
    Duration,
    Energy,
    Length,
    Power,
    PowerDensity,
    QuantityField,
    Volume,
    VolumeRate,
    format_quantity,
    parse_quantity,
    to_si,
)

__all__ = [
    "Cooldown",
    "Day",
    "Direction",
    "FieldStrength",
    "KeyedValueError",
    "NonNegativeDuration",
    "PositiveDuration",
    "PositiveEnergy",
    "PositiveFieldStrength",
    "PositiveLength",
    "PositivePower",
    "PositivePowerDensity",
    "PositiveResistance",
    "PositiveVec3",
    "PositiveVoltage",
    "PositiveVolume",
    "PositiveVolumeRate",
    "Resistance",
    "Vec3",
    "Vec3Float",
    "Voltage",
]


Vec3Float = tuple[float, float, float]


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
PositiveEnergy = Annotated[Energy, AfterValidator(_positive)]
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
#: An electric field strength (voltage per distance), e.g. ``"1500 V/cm"``; SI value in V/m.
FieldStrength = Annotated[
    pint.Quantity,
    QuantityField("[electric_potential]/[length]", what="field strength", example="1500 V/cm"),
]
PositiveVoltage = Annotated[Voltage, AfterValidator(_positive)]
PositiveResistance = Annotated[Resistance, AfterValidator(_positive)]
PositiveFieldStrength = Annotated[FieldStrength, AfterValidator(_positive)]

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


def _mm(value_m: float) -> str:
    """A length in m for messages, in mm with six significant digits."""
    return f"{value_m * 1e3:.6g} mm"


def _unset(data: dict[str, Any], key: str) -> bool:
    return data.get(key) is None


# --------------------------------------------------------------------------------------------
# Base model
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
