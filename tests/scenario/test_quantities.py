"""Parsing, checking and formatting of quantities with units."""

from __future__ import annotations

import math

import pint
import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from tissuefate.scenario.quantities import (
    Duration,
    Frequency,
    Length,
    Power,
    PowerDensity,
    Rate,
    Temperature,
    Volume,
    VolumeRate,
    format_quantity,
    parse_quantity,
    to_si,
    ureg,
)


@pytest.mark.parametrize(
    ("text", "dimension", "si"),
    [
        ("5 mm", "[length]", 5e-3),
        ("60 W", "[power]", 60.0),
        ("10 min", "[time]", 600.0),
        ("7 d", "[time]", 7 * 86400.0),
        ("36 h", "[time]", 36 * 3600.0),
        ("0.5 mL", "[length]**3", 0.5e-6),
        ("6.4e-3 1/s", "1/[time]", 6.4e-3),
        ("5e6 W/m^3", "[power]/[length]**3", 5e6),
        ("0.52 W/m/K", "[power]/[length]/[temperature]", 0.52),
        ("2.45 GHz", "1/[time]", 2.45e9),
        ("1060 kg/m^3", "[mass]/[length]**3", 1060.0),
        ("10 mL/h", "[length]**3/[time]", 10e-6 / 3600),
        ("5mm", "[length]", 5e-3),
        ("  -2.5e1   mm ", "[length]", -25e-3),
        ("50 %", "dimensionless", 0.5),
        ("0.3", "dimensionless", 0.3),
    ],
)
def test_parse_accepts_values_with_units(text: str, dimension: str, si: float) -> None:
    assert to_si(parse_quantity(text, dimension, what="value")) == pytest.approx(si, rel=1e-12)


@pytest.mark.parametrize(
    ("text", "celsius"),
    [("37 degC", 37.0), ("310.15 K", 37.0), ("98.6 degF", 37.0), ("-20 degC", -20.0)],
)
def test_temperatures_are_absolute_and_returned_in_celsius(text: str, celsius: float) -> None:
    quantity = parse_quantity(text, "[temperature]", what="temperature")
    assert to_si(quantity) == pytest.approx(celsius, abs=1e-9)


def test_a_temperature_difference_is_returned_in_kelvin() -> None:
    assert to_si(ureg.Quantity(5.0, "delta_degC")) == 5.0


@pytest.mark.parametrize("text", ["-273.15 degC", "-300 degC", "0 K", "-1 K", "-500 degF"])
def test_temperatures_at_or_below_absolute_zero_are_rejected(text: str) -> None:
    with pytest.raises(ValueError, match="absolute zero"):
        parse_quantity(text, "[temperature]", what="temperature")


def test_a_temperature_difference_is_not_a_temperature() -> None:
    with pytest.raises(ValueError, match="temperature difference"):
        parse_quantity("5 delta_degC", "[temperature]", what="temperature")


def test_a_quantity_keeps_the_units_it_was_written_in() -> None:
    quantity = parse_quantity("10 min", "[time]", what="duration")
    assert quantity.units == ureg.minute
    assert quantity.magnitude == 10.0
    assert isinstance(quantity.magnitude, float)


def test_wrong_dimension_names_both_dimensions() -> None:
    with pytest.raises(ValueError, match="expected a power") as info:
        parse_quantity("5 mm", "[power]", what="power")
    assert str(info.value) == "expected a power (e.g. '60 W'), got '5 mm' which is a length"


def test_wrong_dimension_with_an_unnamed_dimension() -> None:
    with pytest.raises(ValueError, match=r"expected a thing .*got '5 m' which is a length"):
        parse_quantity("5 m", "[length]**4", what="thing")


def test_the_example_can_be_given() -> None:
    with pytest.raises(ValueError, match=r"e\.g\. '15 mm'"):
        parse_quantity("5 W", "[length]", what="radius", example="15 mm")


@pytest.mark.parametrize("value", [5, 5.0, "5", " 5 "])
def test_bare_numbers_need_a_unit(value: object) -> None:
    with pytest.raises(ValueError, match=r"a length needs a unit, e\.g\. '5 mm'"):
        parse_quantity(value, "[length]", what="length")  # type: ignore[arg-type]


@pytest.mark.parametrize("value", [0.25, 2, "0.25"])
def test_bare_numbers_are_fine_when_dimensionless(value: object) -> None:
    quantity = parse_quantity(value, "dimensionless", what="fraction")  # type: ignore[arg-type]
    assert to_si(quantity) == float(value)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("abc mm", "not a number with a unit: 'abc mm'"),
        ("", "not a number with a unit"),
        ("mm", "not a number with a unit"),
        ("nan mm", "not a number with a unit"),
        ("1e999 mm", "not a finite number"),
        ("5 furlongz", "unknown unit 'furlongz'"),
        ("5 mm)", r"cannot read the unit 'mm\)'"),
        ("5 m^", "cannot read the unit"),
        (None, r"expected a length \(e\.g\. '5 mm'\), got nothing"),
        (True, "got bool True"),
        ([5, "mm"], "got list"),
    ],
)
def test_unreadable_values(value: object, message: str) -> None:
    with pytest.raises(ValueError, match=message) as info:
        parse_quantity(value, "[length]", what="length")  # type: ignore[arg-type]
    assert "\n" not in str(info.value)


def test_quantities_are_accepted_and_checked() -> None:
    assert parse_quantity(ureg.Quantity(3, "mm"), "[length]", what="length").magnitude == 3.0
    other = pint.UnitRegistry()
    converted = parse_quantity(other.Quantity(2.5, "W"), "[power]", what="power")
    assert converted == ureg.Quantity(2.5, "W")
    assert converted._REGISTRY is ureg
    with pytest.raises(ValueError, match="which is a length"):
        parse_quantity(ureg.Quantity(3.0, "mm"), "[time]", what="duration")


@pytest.mark.parametrize(
    ("text", "formatted"),
    [
        ("5 mm", "5 mm"),
        ("60 W", "60 W"),
        ("37 degC", "37 degC"),
        ("6.4e-3 1/s", "0.0064 1/s"),
        ("5e6 W/m^3", "5e6 W/m^3"),
        ("0.5 mL", "0.5 mL"),
        ("2.45 GHz", "2.45 GHz"),
        ("0.52 W/m/K", "0.52 W/m/K"),
        ("10 mL/h", "10 mL/h"),
        ("5 um", "5 um"),
        ("1e-5 m^2/s", "1e-5 m^2/s"),
        ("0.25", "0.25"),
    ],
)
def test_format_is_short(text: str, formatted: str) -> None:
    assert format_quantity(parse_quantity(text, _dim(text), what="value")) == formatted


def _dim(text: str) -> str:
    """The dimension of ``text`` as pint reports it (test helper)."""
    quantity = ureg.Quantity(text)
    return str(quantity.dimensionality) if quantity.dimensionality else "dimensionless"


UNITS = ["mm", "m", "um", "W", "mW", "s", "min", "h", "d", "degC", "K", "degF", "mL",
         "1/s", "W/m^3", "W/m/K", "GHz", "mL/h", "kg/m^3", "J/kg/K", ""]  # fmt: skip


@given(
    magnitude=st.floats(allow_nan=False, allow_infinity=False),
    unit=st.sampled_from(UNITS),
)
def test_format_then_parse_gives_the_identical_quantity(magnitude: float, unit: str) -> None:
    quantity = ureg.Quantity(magnitude, unit)
    dimension = _dim(f"1 {unit}")
    if quantity.dimensionality == ureg.kelvin.dimensionality and quantity.to("K").magnitude <= 0:
        return  # not a temperature: parse_quantity rejects it (tested above)
    text = format_quantity(quantity)
    again = parse_quantity(text, dimension, what="value")
    assert again.magnitude == magnitude
    assert math.copysign(1.0, again.magnitude) == math.copysign(1.0, magnitude)
    assert again.units == quantity.units
    assert format_quantity(again) == text


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_formatted_magnitudes_are_never_long(magnitude: float) -> None:
    text = format_quantity(ureg.Quantity(magnitude, "mm"))
    # Shortest round-trip repr is at most 17 digits plus sign, point and exponent.
    assert len(text.split()[0]) <= 24


class _AllTypes(BaseModel):
    length: Length
    power: Power
    duration: Duration
    temperature: Temperature
    power_density: PowerDensity
    frequency: Frequency
    volume: Volume
    volume_rate: VolumeRate
    rate: Rate


_ALL = {
    "length": "5 mm",
    "power": "60 W",
    "duration": "10 min",
    "temperature": "37 degC",
    "power_density": "5e6 W/m^3",
    "frequency": "2.45 GHz",
    "volume": "0.5 mL",
    "volume_rate": "10 mL/h",
    "rate": "0.0064 1/s",
}


def test_annotated_types_validate_and_serialise_to_strings() -> None:
    model = _AllTypes.model_validate(_ALL)
    assert model.power == ureg.Quantity(60.0, "W")
    assert model.model_dump(mode="json") == _ALL
    assert model.model_dump() == _ALL
    assert _AllTypes.model_validate(model.model_dump(mode="json")) == model


@pytest.mark.parametrize("field", sorted(_ALL))
def test_annotated_types_reject_a_wrong_dimension(field: str) -> None:
    wrong = "5 kg" if field != "length" else "5 s"
    with pytest.raises(ValidationError, match="expected a"):
        _AllTypes.model_validate({**_ALL, field: wrong})


def test_annotated_types_have_a_json_schema() -> None:
    schema = _AllTypes.model_json_schema()
    assert schema["properties"]["power"]["type"] == "string"
    assert schema["properties"]["power"]["examples"] == ["60 W"]
