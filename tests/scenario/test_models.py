"""The scenario models: defaults, derived values and the rules each model enforces."""

from __future__ import annotations

import copy
import math
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import TypeAdapter, ValidationError

from tissuefate.errors import ScenarioError
from tissuefate.scenario import (
    Day,
    Direction,
    GridSpec,
    HeatSource,
    MicrowaveSession,
    Scenario,
    Strategy,
    TissueSpec,
    Tumor,
    Vessel,
    ureg,
)

MICROWAVE: dict[str, Any] = {
    "modality": "microwave",
    "applicators": [{"tip": ["0 mm", "0 mm", "20 mm"], "direction": [0, 0, -1]}],
    "power": "60 W",
    "duration": "10 min",
}
MINIMAL: dict[str, Any] = {
    "name": "minimal",
    "grid": {"size": ["64 mm", "64 mm", "64 mm"], "spacing": "0.5 mm"},
    "strategies": {"mwa": {"sessions": [MICROWAVE]}},
}


def _with(data: dict[str, Any], **changes: Any) -> dict[str, Any]:
    result = copy.deepcopy(data)
    result.update(changes)
    return result


def _message(info: pytest.ExceptionInfo[ValidationError]) -> str:
    return str(info.value.errors()[0]["msg"])


def test_minimal_scenario_gets_the_defaults() -> None:
    scenario = Scenario.model_validate(MINIMAL)
    assert scenario.seed == 0
    assert scenario.description == ""
    assert scenario.tissue == TissueSpec(preset="liver", parameters={})
    assert scenario.anatomy.tumors == []
    assert scenario.thermal.dtype == "float32"
    assert scenario.thermal.time_step_safety == 0.9
    assert scenario.thermal.initial_temperature is None
    assert scenario.thermal.update_interval_s == 2.0
    assert scenario.follow_up_d == 0.0
    assert scenario.outputs.snapshots == []
    session = scenario.strategies["mwa"].sessions[0]
    assert isinstance(session, MicrowaveSession)
    assert session.day == 0.0
    assert session.frequency_hz == 2.45e9
    assert session.cooldown == "auto"
    assert session.cooldown_s is None
    assert session.applicators[0].antenna == "internally_cooled"


def test_si_properties() -> None:
    scenario = Scenario.model_validate(MINIMAL)
    assert scenario.grid.spacing_m == pytest.approx(5e-4)
    assert scenario.grid.size_m == pytest.approx((0.064, 0.064, 0.064))
    assert scenario.grid.half_size_m == pytest.approx((0.032, 0.032, 0.032))
    session = scenario.strategies["mwa"].sessions[0]
    assert isinstance(session, MicrowaveSession)
    assert session.power_w == 60.0
    assert session.duration_s == 600.0
    assert session.applicators[0].tip_m == pytest.approx((0.0, 0.0, 0.02))


def test_models_are_frozen() -> None:
    scenario = Scenario.model_validate(MINIMAL)
    with pytest.raises(ValidationError, match="frozen"):
        scenario.seed = 3  # type: ignore[misc]


def test_unknown_keys_are_rejected_with_the_allowed_ones() -> None:
    with pytest.raises(ValidationError) as info:
        Scenario.model_validate(_with(MINIMAL, sede=1))
    message = _message(info)
    assert "unknown key (did you mean 'seed'?)" in message
    assert "allowed: name, description, seed, grid" in message


def test_tissue_short_form_is_the_preset() -> None:
    scenario = Scenario.model_validate(_with(MINIMAL, tissue="kidney"))
    assert scenario.tissue == TissueSpec(preset="kidney")
    assert scenario.model_dump(mode="json")["tissue"] == {"preset": "kidney", "parameters": {}}


def test_tissue_overrides_are_kept_as_strings() -> None:
    tissue = TissueSpec.model_validate({"parameters": {"perfusion": "6.4e-3 1/s"}})
    assert tissue.preset == "liver"
    assert tissue.parameters == {"perfusion": "6.4e-3 1/s"}


# --- grid ------------------------------------------------------------------------------------


def test_grid_shape() -> None:
    grid = GridSpec.model_validate({"size": ["64 mm", "3.2 cm", "0.016 m"], "spacing": "0.5 mm"})
    assert grid.shape == (128, 64, 32)
    assert grid.n_voxels == 128 * 64 * 32


def test_grid_size_must_be_whole_voxels() -> None:
    with pytest.raises(ValidationError) as info:
        GridSpec.model_validate({"size": ["64.3 mm", "64 mm", "64 mm"], "spacing": "0.5 mm"})
    assert _message(info) == "Value error, 64.3 mm along x is not a whole number of 0.5 mm voxels"


def test_grid_needs_eight_voxels_per_axis() -> None:
    with pytest.raises(ValidationError, match="at least 8 voxels along each axis"):
        GridSpec.model_validate({"size": ["64 mm", "3.5 mm", "64 mm"], "spacing": "0.5 mm"})
    assert GridSpec.model_validate({"size": ["4 mm"] * 3, "spacing": "0.5 mm"}).shape == (8, 8, 8)


@pytest.mark.parametrize("bad", [{"spacing": "0 mm"}, {"spacing": "-1 mm"}])
def test_grid_spacing_must_be_positive(bad: dict[str, str]) -> None:
    with pytest.raises(ValidationError, match="must be greater than zero"):
        GridSpec.model_validate({"size": ["64 mm"] * 3, **bad})


# --- Day and Direction ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "days"),
    [(0, 0.0), (7, 7.0), (1.5, 1.5), ("7 d", 7.0), ("36 h", 1.5), ("2 weeks", 14.0)],
)
def test_day_accepts_numbers_and_durations(value: object, days: float) -> None:
    parsed = TypeAdapter(Day).validate_python(value)
    assert parsed == days
    assert isinstance(parsed, float)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (-1, "zero or later"),
        ("-2 d", "zero or later"),
        (float("inf"), "zero or later"),
        (True, "expected a number of days"),
        (None, "expected a number of days"),
        ("7", "needs a unit"),
        ("7 mm", "which is a length"),
    ],
)
def test_day_rejects(value: object, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        TypeAdapter(Day).validate_python(value)


def test_day_is_dumped_as_a_plain_number() -> None:
    adapter = TypeAdapter(Day)
    assert adapter.dump_python(7.0, mode="json") == 7
    assert isinstance(adapter.dump_python(7.0, mode="json"), int)
    assert adapter.dump_python(1.5, mode="json") == 1.5


@pytest.mark.parametrize(
    ("value", "unit"),
    [
        ([0, 0, -2], (0.0, 0.0, -1.0)),
        ([3, 4, 0], (0.6, 0.8, 0.0)),
        ([1, 1, 1], (1 / math.sqrt(3),) * 3),
        ((0.0, 1e-3, 0.0), (0.0, 1.0, 0.0)),
    ],
)
def test_direction_is_normalised(value: object, unit: tuple[float, float, float]) -> None:
    assert TypeAdapter(Direction).validate_python(value) == pytest.approx(unit, rel=1e-15)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ([0, 0, 0], r"must not be \[0, 0, 0\]"),
        ([0, 1], "three values"),
        ([0, 1, 2, 3], "three values"),
        ("0, 0, 1", "a list of three values"),
        ([0, "1", 0], "valid number"),
        ([0, float("nan"), 1], "finite"),
    ],
)
def test_direction_rejects(value: object, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        TypeAdapter(Direction).validate_python(value)


_component = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False)


@given(st.tuples(_component, _component, _component).filter(lambda v: math.hypot(*v) > 1e-6))
def test_direction_normalisation_is_a_unit_vector_and_idempotent(
    vector: tuple[float, float, float],
) -> None:
    adapter = TypeAdapter(Direction)
    unit = adapter.validate_python(vector)
    assert math.hypot(*unit) == pytest.approx(1.0, abs=1e-12)
    assert adapter.validate_python(list(unit)) == unit  # bit for bit: YAML round trips are exact


# --- anatomy ---------------------------------------------------------------------------------


def test_sphere_and_ellipsoid_tumors() -> None:
    sphere = Tumor.model_validate(
        {"name": "t", "center": ["1 mm", "0 mm", "0 mm"], "radius": "1 cm"}
    )
    assert sphere.radius_m == pytest.approx(0.01)
    assert sphere.semi_axes_m == pytest.approx((0.01,) * 3)
    assert sphere.center_m == pytest.approx((0.001, 0.0, 0.0))
    ellipsoid = Tumor.model_validate(
        {
            "name": "t",
            "shape": "ellipsoid",
            "center": ["0 mm"] * 3,
            "semi_axes": ["1 mm", "2 mm", "3 mm"],
        }
    )
    assert ellipsoid.radius_m is None
    assert ellipsoid.semi_axes_m == pytest.approx((0.001, 0.002, 0.003))


@pytest.mark.parametrize(
    ("changes", "loc_message"),
    [
        ({}, "a sphere needs a radius"),
        ({"radius": "5 mm", "semi_axes": ["1 mm"] * 3}, "semi_axes are for shape: ellipsoid"),
        ({"shape": "ellipsoid"}, "an ellipsoid needs semi_axes"),
        ({"shape": "ellipsoid", "radius": "5 mm"}, "not a radius"),
        ({"radius": "-5 mm"}, "must be greater than zero"),
        ({"shape": "ellipsoid", "semi_axes": ["1 mm", "0 mm", "1 mm"]}, "greater than zero"),
    ],
)
def test_tumor_size_must_fit_the_shape(changes: dict[str, Any], loc_message: str) -> None:
    with pytest.raises(ValidationError, match=loc_message):
        Tumor.model_validate({"name": "t", "center": ["0 mm"] * 3, **changes})


def test_vessel_must_have_a_length() -> None:
    vessel = {"name": "v", "start": ["0 mm"] * 3, "end": ["0 cm"] * 3, "radius": "1 mm"}
    with pytest.raises(ValidationError, match="ends where it starts"):
        Vessel.model_validate(vessel)
    assert Vessel.model_validate({**vessel, "end": ["1 mm", "0 mm", "0 mm"]}).radius_m == 1e-3


def test_names_are_unique() -> None:
    tumor = {"name": "t1", "center": ["0 mm"] * 3, "radius": "1 mm"}
    with pytest.raises(ValidationError, match="tumor name 't1' is already used by entry 0"):
        Scenario.model_validate(_with(MINIMAL, anatomy={"tumors": [tumor, tumor]}))
    vessel = {"name": "v", "start": ["0 mm"] * 3, "end": ["1 mm"] * 3, "radius": "1 mm"}
    with pytest.raises(ValidationError, match="vessel name 'v' is already used"):
        Scenario.model_validate(_with(MINIMAL, anatomy={"vessels": [vessel, vessel]}))


# --- sessions --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"power": "300 W"}, None),
        ({"power": "301 W"}, "above any clinical generator"),
        ({"power": "0 W"}, "greater than zero"),
        ({"duration": "2 h"}, None),
        ({"duration": "121 min"}, "at most 2 h"),
        ({"duration": "0 s"}, "greater than zero"),
        ({"frequency": "2.47 GHz"}, None),
        ({"frequency": "915 MHz"}, "only 2.45 GHz"),
        ({"cooldown": "5 min"}, None),
        ({"cooldown": "-5 min"}, "must not be negative"),
        ({"applicators": []}, "at least 1 item"),
    ],
)
def test_microwave_limits(changes: dict[str, Any], message: str | None) -> None:
    data = {**MICROWAVE, **changes}
    if message is None:
        MicrowaveSession.model_validate(data)
    else:
        with pytest.raises(ValidationError, match=message):
            MicrowaveSession.model_validate(data)


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ({"shape": "sphere", "radius": "5 mm", "power": "10 W"}, None),
        ({"shape": "sphere", "radius": "5 mm", "power_density": "5e6 W/m^3"}, None),
        ({"shape": "point", "power": "1 W"}, None),
        ({"shape": "sphere", "power": "10 W"}, "a sphere needs a radius"),
        ({"shape": "point", "radius": "1 mm", "power": "1 W"}, "has no radius"),
        ({"shape": "point", "power_density": "1 W/m^3"}, "not a power density"),
        ({"shape": "sphere", "radius": "5 mm"}, "either power or power_density"),
        (
            {"shape": "sphere", "radius": "5 mm", "power": "1 W", "power_density": "1 W/m^3"},
            "not both",
        ),
        ({"shape": "sphere", "radius": "5 mm", "power": "-1 W"}, "greater than zero"),
        ({"shape": "cube", "power": "1 W"}, "'sphere' or 'point'"),
    ],
)
def test_heat_source_rules(source: dict[str, Any], message: str | None) -> None:
    data = {"center": ["0 mm"] * 3, **source}
    if message is None:
        assert HeatSource.model_validate(data).power_w > 0
    else:
        with pytest.raises(ValidationError, match=message):
            HeatSource.model_validate(data)


def test_heat_source_power_from_density() -> None:
    data = {"shape": "sphere", "center": ["0 mm"] * 3, "radius": "1 m", "power_density": "3 W/m^3"}
    source = HeatSource.model_validate(data)
    assert source.power_w == pytest.approx(4 * math.pi)
    assert source.power_density_w_m3 == 3.0


def test_session_modality_picks_the_model() -> None:
    heat = {"modality": "heat_source", "day": "3 d", "duration": "1 min",
            "sources": [{"shape": "point", "center": ["0 mm"] * 3, "power": "1 W"}]}  # fmt: skip
    strategy = Strategy.model_validate({"sessions": [MICROWAVE, heat]})
    assert [s.modality for s in strategy.sessions] == ["microwave", "heat_source"]
    assert strategy.sessions[1].day == 3.0
    assert strategy.sessions[1].cooldown_s == 0.0


def test_sessions_must_be_in_order_of_day() -> None:
    sessions = [{**MICROWAVE, "day": 7}, {**MICROWAVE, "day": 3}]
    with pytest.raises(ValidationError, match="day 3 comes after day 7"):
        Strategy.model_validate({"sessions": sessions})
    sessions = [{**MICROWAVE, "day": 3}, {**MICROWAVE, "day": "72 h"}, {**MICROWAVE, "day": 7}]
    assert len(Strategy.model_validate({"sessions": sessions}).sessions) == 3


def test_strategy_needs_a_session() -> None:
    with pytest.raises(ValidationError, match="at least 1 item"):
        Strategy.model_validate({"sessions": []})


# --- scenario --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"name": ""}, "at least 1 character"),
        ({"seed": -1}, "greater than or equal to 0"),
        ({"seed": True}, "valid integer"),
        ({"seed": 1.0}, "valid integer"),
        ({"strategies": {}}, "at least one strategy"),
        ({"strategies": {"a b": {"sessions": [MICROWAVE]}}}, "letters, digits"),
        ({"follow_up": "-1 d"}, "must not be negative"),
        ({"follow_up": 180}, "needs a unit"),
        ({"outputs": {"snapshots": ["1 d", "-1 d"]}}, "must not be negative"),
        ({"outputs": {"fields": "yes"}}, "valid boolean"),
        ({"thermal": {"time_step_safety": 0}}, "greater than 0"),
        ({"thermal": {"time_step_safety": 1.5}}, "less than or equal to 1"),
        ({"thermal": {"time_step": "0 s"}}, "greater than zero"),
        ({"thermal": {"update_interval": "0 s"}}, "greater than zero"),
        ({"thermal": {"initial_temperature": "37 W"}}, "expected a temperature"),
        ({"thermal": {"dtype": "float16"}}, "'float32' or 'float64'"),
    ],
)
def test_scenario_rules(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        Scenario.model_validate(_with(MINIMAL, **changes))


def test_thermal_settings_in_celsius() -> None:
    scenario = Scenario.model_validate(
        _with(
            MINIMAL, thermal={"initial_temperature": "310.15 K", "boundary_temperature": "20 degC"}
        )
    )
    assert scenario.thermal.initial_temperature_c == pytest.approx(37.0)
    assert scenario.thermal.boundary_temperature_c == 20.0
    assert scenario.thermal.time_step_s is None


def test_strategy_lookup() -> None:
    scenario = Scenario.model_validate(MINIMAL)
    assert scenario.strategy()[0] == "mwa"
    assert scenario.strategy("mwa") == ("mwa", scenario.strategies["mwa"])
    with pytest.raises(ScenarioError, match="no strategy named 'x'; the scenario has: mwa") as info:
        scenario.strategy("x")
    assert info.value.key == "strategies"
    two = Scenario.model_validate(
        _with(MINIMAL, strategies={"a": {"sessions": [MICROWAVE]}, "b": {"sessions": [MICROWAVE]}})
    )
    with pytest.raises(ScenarioError, match=r"2 strategies \(a, b\); choose one"):
        two.strategy()


def test_snapshot_days() -> None:
    scenario = Scenario.model_validate(_with(MINIMAL, outputs={"snapshots": ["0 d", "36 h"]}))
    assert scenario.outputs.snapshots_d == (0.0, 1.5)


def test_models_accept_quantities_from_code() -> None:
    grid = GridSpec(size=(ureg.Quantity(8, "mm"),) * 3, spacing=ureg.Quantity(1, "mm"))
    assert grid.shape == (8, 8, 8)


def test_json_schema_is_available() -> None:
    schema = Scenario.model_json_schema()
    assert "strategies" in schema["required"]
    assert schema["$defs"]["GridSpec"]["additionalProperties"] is False
