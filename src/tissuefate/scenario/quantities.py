"""Physical quantities written with units: parsing, checking, formatting.

A scenario gives every physical value as a string with units (``"5 mm"``, ``"60 W"``,
``"37 degC"``). This module parses such strings once with :mod:`pint`, checks that they have the
expected dimension, converts them to SI floats for the numerical code and formats them back to
strings that read back to the identical value.

Temperatures are absolute. This project's internal temperature unit is the **degree Celsius**, so
:func:`to_si` returns temperatures in °C and every other quantity in SI base units.

The annotated types at the end (:data:`Length`, :data:`Power`, ...) make pydantic fields that hold
a :class:`pint.Quantity` in the units the user wrote, and serialise back to the short string.
"""

from __future__ import annotations

import decimal
import functools
import math
import numbers
import re
from typing import Annotated, Any

import pint
from pydantic import GetCoreSchemaHandler, GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import core_schema

__all__ = [
    "Duration",
    "Energy",
    "Frequency",
    "Length",
    "Power",
    "PowerDensity",
    "QuantityField",
    "Rate",
    "Temperature",
    "Volume",
    "VolumeRate",
    "format_quantity",
    "parse_quantity",
    "to_si",
    "ureg",
]

#: The one unit registry of tissuefate. Offset units (°C, °F) are converted to kelvin whenever
#: they take part in a product, so ``"0.52 W/m/degC"`` means the same as ``"0.52 W/m/K"``.
ureg = pint.UnitRegistry(autoconvert_offset_to_baseunit=True)

_NUMBER = re.compile(r"\s*([+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)\s*(.*?)\s*")

# Names and examples of the dimensions a scenario or a preset uses, for error messages.
_KNOWN_DIMENSIONS: tuple[tuple[str, str, str], ...] = (
    ("dimensionless", "dimensionless number", "0.5"),
    ("[length]", "length", "5 mm"),
    ("[length]**2", "area", "1 cm^2"),
    ("[length]**3", "volume", "0.5 mL"),
    ("[time]", "duration", "10 min"),
    ("[mass]", "mass", "1 g"),
    ("[temperature]", "temperature", "37 degC"),
    ("[power]", "power", "60 W"),
    ("[energy]", "energy", "1 kJ"),
    ("[pressure]", "pressure", "10 kPa"),
    ("[electric_potential]", "voltage", "50 V"),
    ("1/[time]", "frequency or rate", "2.45 GHz"),
    ("[length]/[time]", "speed", "1 mm/s"),
    ("[length]**2/[time]", "diffusivity", "1e-9 m^2/s"),
    ("[length]**3/[time]", "volume rate", "10 mL/h"),
    ("[power]/[length]**3", "power density", "5e6 W/m^3"),
    ("[mass]/[length]**3", "density", "1060 kg/m^3"),
    ("[substance]/[length]**3", "concentration", "1 mmol/L"),
    ("[power]/[length]/[temperature]", "thermal conductivity", "0.52 W/m/K"),
    ("[energy]/[mass]/[temperature]", "specific heat capacity", "3600 J/kg/K"),
    ("[energy]/[substance]", "molar energy", "250 kJ/mol"),
    ("[current]/[electric_potential]/[length]", "electrical conductivity", "0.3 S/m"),
)

_SI_BASE = {
    "[length]": "m",
    "[mass]": "kg",
    "[time]": "s",
    "[temperature]": "K",
    "[current]": "A",
    "[substance]": "mol",
    "[luminosity]": "cd",
}

# Unit symbols that pint writes in non-ASCII or that read badly; all parse back.
_SYMBOLS = {
    "degree_Celsius": "degC",
    "degree_Fahrenheit": "degF",
    "degree_Rankine": "degR",
    "delta_degree_Celsius": "delta_degC",
    "delta_degree_Fahrenheit": "delta_degF",
}

_TEMPERATURE = "[temperature]"


@functools.cache
def _dimensionality(dimension: str) -> pint.util.UnitsContainer:
    """The pint dimensionality of a dimension string such as ``"[power]/[length]**3"``."""
    if dimension.strip() in ("", "dimensionless", "1"):
        return ureg.Quantity(1.0).dimensionality
    return ureg.get_dimensionality(dimension)


@functools.lru_cache(maxsize=1)
def _dimension_table() -> dict[pint.util.UnitsContainer, tuple[str, str]]:
    return {_dimensionality(dim): (name, example) for dim, name, example in _KNOWN_DIMENSIONS}


def _article(noun: str) -> str:
    return f"an {noun}" if noun[:1].lower() in "aeio" else f"a {noun}"


def _describe(dims: pint.util.UnitsContainer) -> str:
    """``"a length"``, ``"a power density"``, or the raw dimensionality when unnamed."""
    known = _dimension_table().get(dims)
    if known is not None:
        return _article(known[0])
    return f"a quantity of dimension {dims}"


def _example(dims: pint.util.UnitsContainer) -> str:
    known = _dimension_table().get(dims)
    if known is not None:
        return known[1]
    parts = [f"{_SI_BASE.get(d, d)}**{e}" for d, e in dims.items()]
    return format_quantity(ureg.Quantity(1.0, "*".join(parts) or "dimensionless"))


def _parse_units(unit_text: str, text: str) -> pint.Unit:
    try:
        return ureg.parse_units(unit_text)
    except pint.UndefinedUnitError as exc:
        names = ", ".join(repr(n) for n in exc.unit_names) if exc.unit_names else repr(unit_text)
        raise ValueError(f"unknown unit {names} in {text!r}") from None
    # pint's unit parser raises many kinds of exception (tokenizer errors, assertion and key
    # errors) for malformed unit strings; all of them mean the same thing to a user.
    except Exception:
        raise ValueError(f"cannot read the unit {unit_text!r} in {text!r}") from None


def parse_quantity(
    text: str | int | float | pint.Quantity,
    dimension: str,
    *,
    what: str,
    example: str | None = None,
) -> pint.Quantity:
    """Parse a number with units and check its dimension.

    Parameters
    ----------
    text
        A number followed by a unit, e.g. ``"5 mm"``, ``"6.4e-3 1/s"``, ``"37 degC"``. A bare
        number (or a numeric string without a unit) is accepted only when ``dimension`` is
        dimensionless. A :class:`pint.Quantity` is checked and returned in this module's registry.
    dimension
        The expected pint dimensionality, e.g. ``"[length]"``, ``"[power]/[length]**3"``,
        ``"1/[time]"`` or ``"dimensionless"``.
    what
        What the value is, as a noun for error messages (``"power"``, ``"tumor radius"``).
    example
        An example value for error messages; by default one that fits ``dimension``.

    Returns
    -------
    pint.Quantity
        A float magnitude in the units as written (not converted). With ``dimension`` equal to
        ``"[temperature]"`` the value is an absolute temperature and must lie above absolute zero.

    Raises
    ------
    ValueError
        With a one-line message saying what was expected and what was found.
    """
    dims = _dimensionality(dimension)
    example = example or _example(dims)
    dimensionless = not dims
    expected = f"{_article(what)} (e.g. {example!r})"
    if isinstance(text, pint.Quantity):
        quantity = _from_quantity(text, example)
        shown = repr(format_quantity(quantity))
    elif isinstance(text, bool) or not isinstance(text, str | int | float):
        got = "nothing" if text is None else f"{type(text).__name__} {text!r}"
        raise ValueError(f"expected {expected}, got {got}")
    elif isinstance(text, int | float):
        if not dimensionless:
            raise ValueError(f"{_article(what)} needs a unit, e.g. {example!r}; got {text!r}")
        quantity = ureg.Quantity(_finite(float(text), repr(text)), "dimensionless")
        shown = repr(text)
    else:
        quantity, has_unit = _parse_text(text, example)
        if not dimensionless and not has_unit:
            raise ValueError(f"{_article(what)} needs a unit, e.g. {example!r}; got {text!r}")
        shown = repr(text.strip())

    if quantity.dimensionality != dims:
        raise ValueError(
            f"expected {expected}, got {shown} which is {_describe(quantity.dimensionality)}"
        )
    if dims == _dimensionality(_TEMPERATURE):
        _check_absolute_temperature(quantity, shown)
    return quantity


def _finite(value: float, shown: str) -> float:
    if not math.isfinite(value):
        raise ValueError(f"not a finite number: {shown}")
    return value


def _from_quantity(quantity: pint.Quantity, example: str) -> pint.Quantity:
    """``quantity`` with a float magnitude in this module's registry."""
    magnitude = quantity.magnitude
    if isinstance(magnitude, bool) or not isinstance(magnitude, numbers.Real):
        raise ValueError(f"expected a single number with a unit, got {quantity!r}")
    value = _finite(float(magnitude), repr(quantity))
    if quantity._REGISTRY is ureg:
        return ureg.Quantity(value, quantity.units)
    return _parse_text(format_quantity(quantity), example)[0]


def _parse_text(text: str, example: str) -> tuple[pint.Quantity, bool]:
    """The quantity written in ``text`` and whether it had a unit."""
    match = _NUMBER.fullmatch(text)
    if match is None:
        what = "a number with a unit" if " " in example else "a number"
        raise ValueError(f"not {what}: {text!r} (e.g. {example!r})")
    number, unit_text = match.groups()
    magnitude = _finite(float(number), repr(text))
    units = _parse_units(unit_text, text) if unit_text else ureg.dimensionless
    return ureg.Quantity(magnitude, units), bool(unit_text)


def _check_absolute_temperature(quantity: pint.Quantity, shown: str) -> None:
    if _is_difference(quantity):
        raise ValueError(
            f"expected an absolute temperature (e.g. '37 degC'), got {shown} "
            "which is a temperature difference"
        )
    if not quantity.to("kelvin").magnitude > 0.0:
        raise ValueError(f"{shown} is not above absolute zero (-273.15 degC)")


def _is_difference(quantity: pint.Quantity) -> bool:
    """Whether ``quantity`` is in a temperature-difference unit (``delta_degC``, ...)."""
    return any(name.startswith("delta_") for name, _ in quantity.unit_items())


def to_si(quantity: pint.Quantity) -> float:
    """The magnitude of ``quantity`` as a float in SI base units.

    Temperatures (dimension ``[temperature]``) are the exception: they are returned in **degrees
    Celsius**, tissuefate's internal temperature unit. A temperature *difference* (``delta_degC``,
    ``delta_degF``) is returned in kelvin, which equals its size in degrees Celsius.
    """
    if quantity.dimensionality == _dimensionality(_TEMPERATURE):
        if _is_difference(quantity):
            return float(quantity.to("kelvin").magnitude)
        return float(quantity.to("degC").magnitude)
    return float(quantity.to_base_units().magnitude)


def _unit_symbol(name: str) -> str:
    if name in _SYMBOLS:
        return _SYMBOLS[name]
    symbol = ureg.get_symbol(name).replace("µ", "u").replace("μ", "u")
    if name.endswith("liter") and symbol.endswith("l"):
        symbol = symbol[:-1] + "L"
    return symbol if symbol.isascii() else name


def _format_exponent(symbol: str, exponent: float) -> str:
    if exponent == 1:
        return symbol
    shown = int(exponent) if float(exponent).is_integer() else exponent
    return f"{symbol}^{shown}"


def _format_units(quantity: pint.Quantity) -> str:
    numerator = [_format_exponent(_unit_symbol(n), e) for n, e in quantity.unit_items() if e > 0]
    denominator = [_format_exponent(_unit_symbol(n), -e) for n, e in quantity.unit_items() if e < 0]
    if not numerator and not denominator:
        return ""
    return "*".join(numerator or ["1"]) + "".join(f"/{d}" for d in denominator)


def _format_magnitude(value: float) -> str:
    """The shortest decimal that reads back as exactly ``value``: positional unless the
    scientific form is clearly shorter (``"5"``, ``"0.0064"``, ``"2.45e9"``, ``"1e-5"``)."""
    exact = decimal.Decimal(repr(value)).normalize()  # repr is the shortest round-trip form
    sign, digits, exponent = exact.as_tuple()
    assert isinstance(exponent, int)  # finite: quantities never hold inf or nan
    plain = format(exact, "f")
    mantissa = "".join(map(str, digits))
    if len(mantissa) > 1:
        mantissa = f"{mantissa[0]}.{mantissa[1:]}"
    scientific = f"{'-' if sign else ''}{mantissa}e{exponent + len(digits) - 1}"
    return scientific if len(scientific) + 2 < len(plain) else plain


def format_quantity(quantity: pint.Quantity) -> str:
    """A short string for ``quantity`` in its own units, e.g. ``"5 mm"`` or ``"0.0064 1/s"``.

    The magnitude is written exactly (shortest repr of the float), so :func:`parse_quantity`
    reads the string back to an identical quantity.
    """
    magnitude = _format_magnitude(float(quantity.magnitude))
    units = _format_units(quantity)
    return f"{magnitude} {units}" if units else magnitude


class QuantityField:
    """Pydantic marker: a field holding a :class:`pint.Quantity` of one dimension.

    Use as ``Annotated[pint.Quantity, QuantityField("[length]", what="length", example="5 mm")]``.
    Validation accepts a string with units (or a quantity) and checks the dimension with
    :func:`parse_quantity`; serialisation, in Python and JSON mode alike, writes the string from
    :func:`format_quantity`. The stored value keeps the units the user wrote.
    """

    __slots__ = ("dimension", "example", "what")

    def __init__(self, dimension: str, *, what: str, example: str) -> None:
        self.dimension = dimension
        self.what = what
        self.example = example

    def __repr__(self) -> str:
        return f"QuantityField({self.dimension!r}, what={self.what!r}, example={self.example!r})"

    def validate(self, value: Any) -> pint.Quantity:
        """Parse ``value`` with this field's dimension; raises ValueError."""
        return parse_quantity(value, self.dimension, what=self.what, example=self.example)

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.no_info_plain_validator_function(
            self.validate,
            serialization=core_schema.plain_serializer_function_ser_schema(
                format_quantity, return_schema=core_schema.str_schema()
            ),
        )

    def __get_pydantic_json_schema__(
        self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        return {
            "type": "string",
            "description": f"{_article(self.what)} with units, e.g. {self.example!r}",
            "examples": [self.example],
        }


#: A length, e.g. ``"5 mm"``; SI value in m.
Length = Annotated[pint.Quantity, QuantityField("[length]", what="length", example="5 mm")]
#: A power, e.g. ``"60 W"``; SI value in W.
Power = Annotated[pint.Quantity, QuantityField("[power]", what="power", example="60 W")]
#: An energy, e.g. ``"15 kJ"``; SI value in J.
Energy = Annotated[pint.Quantity, QuantityField("[energy]", what="energy", example="15 kJ")]
#: A duration, e.g. ``"10 min"`` or ``"7 d"``; SI value in s.
Duration = Annotated[pint.Quantity, QuantityField("[time]", what="duration", example="10 min")]
#: An absolute temperature, e.g. ``"37 degC"``; :func:`to_si` gives °C.
Temperature = Annotated[
    pint.Quantity, QuantityField("[temperature]", what="temperature", example="37 degC")
]
#: A power per volume, e.g. ``"5e6 W/m^3"``; SI value in W/m³.
PowerDensity = Annotated[
    pint.Quantity,
    QuantityField("[power]/[length]**3", what="power density", example="5e6 W/m^3"),
]
#: A frequency, e.g. ``"2.45 GHz"``; SI value in Hz.
Frequency = Annotated[
    pint.Quantity, QuantityField("1/[time]", what="frequency", example="2.45 GHz")
]
#: A volume, e.g. ``"0.5 mL"``; SI value in m³.
Volume = Annotated[pint.Quantity, QuantityField("[length]**3", what="volume", example="0.5 mL")]
#: A volume per time, e.g. ``"10 mL/h"``; SI value in m³/s.
VolumeRate = Annotated[
    pint.Quantity,
    QuantityField("[length]**3/[time]", what="volume rate", example="10 mL/h"),
]
#: A rate (per time), e.g. ``"6.4e-3 1/s"``; SI value in 1/s.
Rate = Annotated[pint.Quantity, QuantityField("1/[time]", what="rate", example="6.4e-3 1/s")]
