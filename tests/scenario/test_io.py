"""Loading, dumping and checking scenario files; every error names file, key and reason."""

from __future__ import annotations

import copy
import os
import re
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import tissuefate.scenario.io as scenario_io
from tissuefate.errors import ScenarioError
from tissuefate.scenario import (
    HeatSourceSession,
    MicrowaveSession,
    Scenario,
    check_scenario,
    dump_scenario,
    load_scenario,
    loads_scenario,
)

# The scenario of DESIGN.md, with a heat-source strategy in place of the injection policy.
EXAMPLE = """\
name: hcc-3cm-near-vessel
seed: 1
grid: {size: [64 mm, 64 mm, 64 mm], spacing: 0.5 mm}
tissue: liver                          # preset
anatomy:
  tumors:
    - {name: t1, shape: sphere, center: [0 mm, 0 mm, 0 mm], radius: 15 mm, preset: hcc}
    - {name: t2, shape: ellipsoid, center: [-20 mm, -20 mm, 5 mm], semi_axes: [3 mm, 4 mm, 5 mm]}
  vessels:
    - {name: v1, start: [-32 mm, 22 mm, 0 mm], end: [32 mm, 22 mm, 0 mm], radius: 2.5 mm}
thermal: {initial_temperature: 37 degC, time_step_safety: 0.8}
strategies:
  mwa_margin:
    sessions:
      - day: 0
        modality: microwave
        applicators: [{tip: [0 mm, 0 mm, 20 mm], direction: [0, 0, -1], antenna: dual_slot}]
        power: 60 W
        duration: 10 min
      - day: 36 h
        modality: microwave
        applicators:
          - {tip: [5 mm, 0 mm, 20 mm], direction: [1, 0, -3]}
          - {tip: [-5 mm, 0 mm, 20 mm], direction: [-1, 0, -3], antenna: monopole}
        power: 45.5 W
        duration: 5 min
        cooldown: 10 min
  heat_reference:
    sessions:
      - modality: heat_source
        day: 7
        sources:
          - {shape: sphere, center: [0 mm, 0 mm, 0 mm], radius: 5 mm, power_density: 5e6 W/m^3}
          - {shape: point, center: [10 mm, 0 mm, 0 mm], power: 2 W}
        duration: 2 min
follow_up: 180 d
outputs: {snapshots: [0 d, 1 d, 7 d, 30 d, 180 d]}
"""
_EXAMPLE_DATA = yaml.safe_load(EXAMPLE)


def _scenario_error(text: str) -> ScenarioError:
    with pytest.raises(ScenarioError) as info:
        loads_scenario(text, source="s.yaml")
    error = info.value
    assert error.source == "s.yaml"
    assert "\n" not in str(error)
    return error


# --- loading and dumping ---------------------------------------------------------------------


def test_example_loads() -> None:
    scenario = loads_scenario(EXAMPLE)
    assert scenario.grid.shape == (128, 128, 128)
    assert scenario.tissue.preset == "liver"
    assert [t.preset for t in scenario.anatomy.tumors] == ["hcc", "tumor"]
    mwa = scenario.strategies["mwa_margin"].sessions
    assert isinstance(mwa[1], MicrowaveSession)
    assert mwa[1].day == 1.5
    assert mwa[1].applicators[1].antenna == "monopole"
    heat = scenario.strategies["heat_reference"].sessions[0]
    assert isinstance(heat, HeatSourceSession)
    assert heat.sources[0].power_density_w_m3 == 5e6
    assert scenario.outputs.snapshots_d == (0.0, 1.0, 7.0, 30.0, 180.0)


def test_dump_round_trips_exactly() -> None:
    scenario = loads_scenario(EXAMPLE)
    text = dump_scenario(scenario)
    again = loads_scenario(text)
    assert again == scenario
    assert dump_scenario(again) == text  # same units and digits, not only equal values


def test_dump_writes_every_default_and_the_long_tissue_form() -> None:
    data = yaml.safe_load(dump_scenario(loads_scenario(EXAMPLE)))
    assert data["tissue"] == {"preset": "liver", "parameters": {}}
    assert data["description"] == ""
    assert data["thermal"]["dtype"] == "float32"
    assert data["thermal"]["update_interval"] == "2 s"
    session = data["strategies"]["mwa_margin"]["sessions"][0]
    assert session["frequency"] == "2.45 GHz"
    assert session["cooldown"] == "auto"
    assert session["day"] == 0
    assert data["strategies"]["mwa_margin"]["sessions"][1]["day"] == 1.5
    assert data["grid"] == {"size": ["64 mm", "64 mm", "64 mm"], "spacing": "0.5 mm"}


def test_dump_writes_vectors_on_one_line() -> None:
    assert "size: [64 mm, 64 mm, 64 mm]" in dump_scenario(loads_scenario(EXAMPLE))


_length = st.floats(min_value=-30.0, max_value=30.0, allow_nan=False)
_positive = st.floats(min_value=1e-3, max_value=300.0, allow_nan=False, exclude_min=True)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    center=st.tuples(_length, _length, _length),
    power=_positive,
    day=st.floats(min_value=0.0, max_value=1e4, allow_nan=False),
    direction=st.tuples(_length, _length, _length).filter(lambda v: any(abs(x) > 1e-3 for x in v)),
    description=st.text(max_size=20),
)
def test_yaml_round_trip_is_exact_for_any_values(
    center: tuple[float, float, float],
    power: float,
    day: float,
    direction: tuple[float, float, float],
    description: str,
) -> None:
    data = copy.deepcopy(_EXAMPLE_DATA)
    data["description"] = description
    session = data["strategies"]["mwa_margin"]["sessions"][0]
    session["applicators"][0]["tip"] = [f"{x!r} mm" for x in center]
    session["applicators"][0]["direction"] = list(direction)
    session["power"] = f"{power!r} W"
    data["strategies"]["heat_reference"]["sessions"][0]["day"] = day
    data["anatomy"]["tumors"][0]["radius"] = "0.5 mm"
    scenario = Scenario.model_validate(data)
    again = loads_scenario(dump_scenario(scenario))
    assert again == scenario
    assert again.strategies["mwa_margin"].sessions[0].power.magnitude == power


def test_load_from_a_file(tmp_path: Path) -> None:
    path = tmp_path / "scenario.yaml"
    path.write_text(EXAMPLE, encoding="utf-8")
    assert load_scenario(path) == load_scenario(str(path)) == loads_scenario(EXAMPLE)


def test_load_accepts_a_byte_order_mark(tmp_path: Path) -> None:
    path = tmp_path / "bom.yaml"
    path.write_bytes(b"\xef\xbb\xbf" + EXAMPLE.encode())
    assert load_scenario(path).name == "hcc-3cm-near-vessel"


# --- file errors -----------------------------------------------------------------------------


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.yaml"
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    assert info.value.source == str(path)
    assert info.value.reason == "no such file"
    assert info.value.key is None


def test_directory(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match="is a directory") as info:
        load_scenario(tmp_path)
    assert info.value.source == str(tmp_path)


def test_unreadable_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "locked.yaml"
    path.write_text(EXAMPLE)

    def refuse(*args: object, **kwargs: object) -> None:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(scenario_io, "open", refuse, raising=False)
    with pytest.raises(ScenarioError, match="cannot read the file: Permission denied") as info:
        load_scenario(path)
    assert info.value.source == str(path)


def test_undecodable_file(tmp_path: Path) -> None:
    path = tmp_path / "binary.yaml"
    path.write_bytes(b"name: \xff\xfe\x00")
    with pytest.raises(ScenarioError, match=r"not a UTF-8 text file \(byte 0xff at offset 6\)"):
        load_scenario(path)


@pytest.mark.parametrize("text", ["", "   \n", "# only a comment\n", "---\n"])
def test_empty_file(text: str, tmp_path: Path) -> None:
    path = tmp_path / "empty.yaml"
    path.write_text(text)
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    assert info.value.reason == "the file is empty"
    assert info.value.source == str(path)


@pytest.mark.parametrize(("text", "kind"), [("- a\n- b\n", "a list"), ("42\n", "int 42")])
def test_top_level_must_be_a_mapping(text: str, kind: str) -> None:
    error = _scenario_error(text)
    assert error.key is None
    assert error.reason.startswith("the top level must be a mapping")
    assert error.reason.endswith(f"got {kind}")


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("name: x\ngrid: {size: [1 mm\nseed: 1\n", 3),
        ("name: x\n  seed: 1\n", 2),
        ("name: x\n\tseed: 1\n", 2),
        ("name: [a, b\n", 2),
        ("name: x\n? [a, b]\n: 1\n", 2),
    ],
)
def test_malformed_yaml_gives_the_line(text: str, line: int) -> None:
    error = _scenario_error(text)
    assert error.key is None
    assert error.reason.startswith(f"malformed YAML at line {line},")


def test_duplicate_keys_are_rejected() -> None:
    error = _scenario_error(EXAMPLE + "seed: 2\n")
    assert error.key is None
    assert error.reason.startswith("duplicate key 'seed' at line 38")


# --- validation errors -----------------------------------------------------------------------

S0 = "strategies.mwa_margin.sessions[0]"
S1 = "strategies.mwa_margin.sessions[1]"
H0 = "strategies.heat_reference.sessions[0]"


@pytest.mark.parametrize(
    ("old", "new", "key", "reason"),
    [
        # unknown and missing keys
        ("seed: 1", "sede: 1", "sede", "unknown key (did you mean 'seed'?); allowed: name, "),
        ("power: 60 W", "powr: 60 W", f"{S0}.powr", "unknown key (did you mean 'power'?)"),
        ("antenna: monopole", "antena: x", f"{S1}.applicators[1].antena", "unknown key"),
        ("name: t1, shape", "shape", "anatomy.tumors[0].name", "missing required key"),
        ("        duration: 10 min\n", "", f"{S0}.duration", "missing required key"),
        ("name: hcc-3cm-near-vessel\n", "", "name", "missing required key"),
        # units and numbers
        ("power: 60 W", "power: 5 mm", f"{S0}.power", "expected a power (e.g. '60 W'), got"),
        ("power: 60 W", "power: abc W", f"{S0}.power", "not a number with a unit: 'abc W'"),
        ("power: 60 W", "power: 60 Wat", f"{S0}.power", "unknown unit 'Wat'"),
        ("power: 60 W", "power: 60", f"{S0}.power", "a power needs a unit, e.g. '60 W'"),
        ("radius: 2.5 mm", "radius: 2.5 s", "anatomy.vessels[0].radius", "which is a duration"),
        ("spacing: 0.5 mm", "spacing: 0 mm", "grid.spacing", "must be greater than zero"),
        ("45.5 W", "-45.5 W", f"{S1}.power", "must be greater than zero, got '-45.5 W'"),
        ("45.5 W", "450 W", f"{S1}.power", "450 W is above any clinical generator"),
        ("[64 mm, 64 mm", "[64 mm, 0 mm", "grid.size[1]", "must be greater than zero"),
        ("[64 mm, 64 mm", "[64.3 mm, 64 mm", "grid.size", "64.3 mm along x is not a whole number"),
        ("seed: 1", "seed: -1", "seed", "must be at least 0, got -1"),
        ("2.5 mm}", "2.5 mm, flow: -5 mL/min}", "anatomy.vessels[0].flow", "greater than zero"),
        ("2.5 mm}", "2.5 mm, flow: 5 mm}", "anatomy.vessels[0].flow", "which is a length"),
        (
            "2.5 mm}",
            "2.5 mm, occludes: maybe}",
            "anatomy.vessels[0].occludes",
            "expected true or false",
        ),
        ("seed: 1", "seed: one", "seed", "expected a whole number, got 'one'"),
        ("37 degC", "-300 degC", "thermal.initial_temperature", "not above absolute zero"),
        ("time_step_safety: 0.8", "time_step_safety: 0", "thermal.time_step_safety", "greater"),
        ("follow_up: 180 d", "follow_up: -1 d", "follow_up", "must not be negative"),
        ("7 d, 30 d", "7 d, x", "outputs.snapshots[3]", "not a number with a unit: 'x'"),
        ("2 W}", "2 kg}", f"{H0}.sources[1].power", "which is a mass"),
        ("cooldown: 10 min", "cooldown: later", f"{S1}.cooldown", "expected 'auto' or a duration"),
        # vectors, days, directions
        ("[0 mm, 0 mm, 20 mm]", "[0 mm, 20 mm]", f"{S0}.applicators[0].tip", "three values"),
        ("[0, 0, -1]", "[0, 0, 0]", f"{S0}.applicators[0].direction", "must not be [0, 0, 0]"),
        ("[0, 0, -1]", "[0, 0, a]", f"{S0}.applicators[0].direction[2]", "expected a number"),
        ("day: 36 h", "day: -36 h", f"{S1}.day", "zero or later"),
        ("day: 36 h", "day: 36 mm", f"{S1}.day", "which is a length"),
        ("      - day: 0\n", "      - day: 3\n", f"{S1}.day", "day 1.5 comes after day 3"),
        # choices and the modality discriminator
        ("modality: heat_source", "modality: laser", f"{H0}.modality", "unknown modality 'laser'"),
        ("modality: heat_source", "modality: [a]", f"{H0}.modality", "expected a modality name"),
        ("name: t2", "'': t2", "anatomy.tumors[1].''", "unknown key; allowed: name, shape"),
        ("      - modality: heat_source\n", "      -\n", f"{H0}.modality", "missing required"),
        ("antenna: monopole", "antenna: slot", f"{S1}.applicators[1].antenna", "'dual_slot' or"),
        ("- {shape: sphere", "- {shape: cube", f"{H0}.sources[0].shape", "'sphere' or 'point'"),
        # shape-dependent and cross-field rules
        (
            "radius: 15 mm",
            "semi_axes: [1 mm, 1 mm, 1 mm]",
            "anatomy.tumors[0].semi_axes",
            "a sphere",
        ),
        ("name: t2", "name: t1", "anatomy.tumors[1].name", "tumor name 't1' is already used"),
        ("end: [32 mm, 22 mm", "end: [-32 mm, 22 mm", "anatomy.vessels[0].end", "ends where it"),
        ("power: 2 W", "power_density: 2 W/m^3", f"{H0}.sources[1].power_density", "point"),
        ("radius: 5 mm, power_density", "power_density", f"{H0}.sources[0].radius", "needs a rad"),
        # structure
        ("tissue: liver", "tissue: [liver]", "tissue", "expected a mapping of keys, got a list"),
        ("tissue: liver", "tissue: {parameters: {k: 5}}", "tissue.parameters.k", "expected text"),
        ("  heat_reference:", "  heat reference:", "strategies.heat reference", "letters, digits"),
        (
            "outputs: {snapshots:",
            "outputs: {report: maybe, snapshots:",
            "outputs.report",
            "true or",
        ),
        (
            "[{tip: [0 mm, 0 mm, 20 mm], direction: [0, 0, -1], antenna: dual_slot}]",
            "[]",
            f"{S0}.applicators",
            "needs at least 1 entry",
        ),
    ],
)
def test_error_names_key_and_reason(old: str, new: str, key: str, reason: str) -> None:
    assert old in EXAMPLE
    error = _scenario_error(EXAMPLE.replace(old, new, 1))
    assert error.key == key
    assert reason in error.reason
    assert "Value error" not in error.reason
    assert "https://" not in error.reason
    assert str(error) == f"s.yaml: {key}: {error.reason}"


def test_applicators_list_error_keeps_the_other_entries_in_place() -> None:
    # the second session's list has two entries; an error in the second keeps its index
    text = EXAMPLE.replace("direction: [-1, 0, -3]", "direction: [-1, 0]")
    assert _scenario_error(text).key == f"{S1}.applicators[1].direction"


# --- semantic checks -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("old", "new", "key", "reason"),
    [
        (
            "center: [0 mm, 0 mm, 0 mm], radius: 15 mm",
            "center: [20 mm, 0 mm, 0 mm], radius: 15 mm",
            "anatomy.tumors[0].radius",
            "tumor t1 reaches 35 mm from the centre along x but the grid ends at 32 mm",
        ),
        (
            "center: [0 mm, 0 mm, 0 mm], radius: 15 mm",
            "center: [0 mm, 0 mm, -4 cm], radius: 15 mm",
            "anatomy.tumors[0].center",
            "tumor t1 has its centre 40 mm from the grid centre along z",
        ),
        (
            "semi_axes: [3 mm, 4 mm, 5 mm]",
            "semi_axes: [3 mm, 14 mm, 5 mm]",
            "anatomy.tumors[1].semi_axes",
            "tumor t2 reaches 34 mm from the centre along y",
        ),
        (
            "end: [32 mm, 22 mm, 0 mm]",
            "end: [32.3 mm, 22 mm, 0 mm]",
            "anatomy.vessels[0].end",
            "vessel v1 has its end 32.3 mm from the centre along x",
        ),
        (
            "start: [-32 mm, 22 mm, 0 mm]",
            "start: [-32 mm, 22 mm, 40 mm]",
            "anatomy.vessels[0].start",
            "along z but the grid ends at 32 mm",
        ),
        (
            "tip: [-5 mm, 0 mm, 20 mm]",
            "tip: [-5 mm, 0 mm, 33 mm]",
            f"{S1}.applicators[1].tip",
            "the applicator tip is 33 mm from the grid centre along z",
        ),
        (
            "center: [0 mm, 0 mm, 0 mm], radius: 5 mm",
            "center: [0 mm, 30 mm, 0 mm], radius: 5 mm",
            f"{H0}.sources[0].radius",
            "heat source 0 reaches 35 mm",
        ),
        (
            "center: [10 mm, 0 mm, 0 mm], power",
            "center: [10 mm, 0 mm, 33 mm], power",
            f"{H0}.sources[1].center",
            "heat source 1 has its centre 33 mm",
        ),
    ],
)
def test_objects_must_lie_in_the_grid(old: str, new: str, key: str, reason: str) -> None:
    assert old in EXAMPLE
    error = _scenario_error(EXAMPLE.replace(old, new, 1))
    assert error.key == key
    assert reason in error.reason


def test_objects_may_touch_the_faces() -> None:
    text = EXAMPLE.replace("radius: 15 mm", "radius: 32 mm").replace(
        "start: [-32 mm, 22 mm, 0 mm]", "start: [-32.25 mm, 22 mm, 0 mm]"
    )
    scenario = loads_scenario(text.replace("tip: [0 mm, 0 mm, 20 mm]", "tip: [0 mm, 0 mm, 32 mm]"))
    assert scenario.anatomy.tumors[0].radius_m == pytest.approx(0.032)


def test_grid_too_large_for_memory(monkeypatch: pytest.MonkeyPatch) -> None:
    scenario = loads_scenario(EXAMPLE.replace("spacing: 0.5 mm", "spacing: 0.25 mm"))
    assert scenario.grid.n_voxels == 256**3
    monkeypatch.setattr(scenario_io, "_physical_memory_bytes", lambda: 1024**3)
    with pytest.raises(ScenarioError) as info:
        check_scenario(scenario, source="s.yaml")
    error = info.value
    assert error.key == "grid"
    assert error.source == "s.yaml"
    assert "16,777,216 voxels" in error.reason
    assert "about 2.5 GiB" in error.reason
    assert "only 0.8 GiB" in error.reason


def test_grid_memory_check_runs_on_load() -> None:
    error = _scenario_error(EXAMPLE.replace("[64 mm, 64 mm, 64 mm]", "[10 m, 10 m, 10 m]"))
    assert error.key == "grid"
    assert "8,000,000,000,000 voxels" in error.reason


def test_physical_memory_falls_back_to_8_gib(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_sysconf(name: str) -> int:
        raise ValueError(name)

    monkeypatch.setattr(os, "sysconf", no_sysconf)
    assert scenario_io._physical_memory_bytes() == 8 * 1024**3


def test_physical_memory_is_the_machines() -> None:
    expected = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    assert scenario_io._physical_memory_bytes() == expected


def _paths(node: object, prefix: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
    """Every key path into a YAML document (test helper)."""
    found = [prefix] if prefix else []
    if isinstance(node, dict):
        for key, value in node.items():
            found += _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += _paths(value, (*prefix, index))
    return found


_PATHS = _paths(_EXAMPLE_DATA)
_junk = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner),
    max_leaves=6,
)


def _error_or_none(text: str) -> ScenarioError | None:
    try:
        loads_scenario(text, source="s.yaml")
    except ScenarioError as error:
        return error
    return None


@settings(max_examples=100, deadline=None)
@given(path=st.sampled_from(_PATHS), junk=_junk)
def test_any_bad_value_gives_a_scenario_error(path: tuple[object, ...], junk: object) -> None:
    data = copy.deepcopy(_EXAMPLE_DATA)
    node = data
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = junk
    error = _error_or_none(yaml.safe_dump(data))  # anything but a ScenarioError fails the test
    if error is not None:
        assert "\n" not in str(error)
        assert error.key is None or re.split(r"[.\[]", error.key)[0] in Scenario.model_fields
