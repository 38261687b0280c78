"""Irreversible electroporation sessions: parsing and defaults, the electrode pairs and their
voltages, the distance between two exposed parts, every bad input rejected with one line naming
the key and the reason (in Python and on the command line), and the YAML round trip."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from tissuefate.cli import app
from tissuefate.errors import ScenarioError
from tissuefate.scenario import (
    IreElectrode,
    IrePair,
    IreSession,
    dump_scenario,
    loads_scenario,
)
from tissuefate.scenario.devices import _segment_distance
from tissuefate.scenario.limits import MAX_IRE_VOLTAGE_V

# Two parallel needles 15 mm apart, exposed from z = -10 mm to their tips at z = 10 mm.
EXAMPLE = """\
name: ire
grid: {size: [64 mm, 64 mm, 64 mm], spacing: 1 mm}
anatomy:
  tumors: [{name: t1, center: [0 mm, 0 mm, 0 mm], radius: 8 mm}]
strategies:
  ire:
    sessions:
      - modality: ire
        electrodes:
          - {tip: [-7.5 mm, 0 mm, 10 mm], direction: [0, 0, 1]}
          - {tip: [7.5 mm, 0 mm, 10 mm], direction: [0, 0, 1]}
"""
SESSION = "strategies.ire.sessions[0]"
# Four needles on the corners of a 10 mm square, for pairs and per-pair settings.
SQUARE = """\
        electrodes:
          - {tip: [-5 mm, -5 mm, 10 mm], direction: [0, 0, 1]}
          - {tip: [5 mm, -5 mm, 10 mm], direction: [0, 0, 1]}
          - {tip: [5 mm, 5 mm, 10 mm], direction: [0, 0, 1]}
          - {tip: [-5 mm, 5 mm, 10 mm], direction: [0, 0, 1]}
"""
TWO_NEEDLES = EXAMPLE[EXAMPLE.index("        electrodes:") :]


def _session(text: str = EXAMPLE) -> IreSession:
    session = loads_scenario(text).strategies["ire"].sessions[0]
    assert isinstance(session, IreSession)
    return session


def _with(*lines: str, electrodes: str = TWO_NEEDLES) -> str:
    """The example with ``electrodes`` and the session keys ``lines`` (``key: value``)."""
    keys = "".join(f"        {line}\n" for line in lines)
    return EXAMPLE.replace(TWO_NEEDLES, electrodes + keys)


def _scenario_error(text: str) -> ScenarioError:
    with pytest.raises(ScenarioError) as info:
        loads_scenario(text, source="s.yaml")
    error = info.value
    assert "\n" not in str(error)
    assert str(error) == f"s.yaml: {error.key}: {error.reason}"
    return error


# --- parsing, defaults and SI values ----------------------------------------------------------


def test_minimal_session_parses_with_the_defaults() -> None:
    session = _session()
    assert session.day == 0
    assert session.pairs == "all"
    assert session.voltage is None
    assert session.voltage_to_distance_v_per_m == pytest.approx(1500 * 100)
    assert session.pulses == 90
    assert session.pulse_width_s == pytest.approx(70e-6)
    assert session.pulse_rate_hz == 1.0
    assert session.conductivity_model == "linear"
    assert session.cooldown == "auto"
    assert session.cooldown_s is None
    assert session.duration_s == pytest.approx(90.0)  # 90 pulses at one a second
    for electrode in session.electrodes:
        assert electrode.diameter_m == pytest.approx(1.27e-3)
        assert electrode.exposure_m == pytest.approx(20e-3)
    start, end = session.electrodes[0].segment_m
    assert start == pytest.approx((-7.5e-3, 0.0, -10e-3))
    assert end == pytest.approx((-7.5e-3, 0.0, 10e-3))


def test_the_exposed_segment_runs_back_from_the_tip_along_the_unit_direction() -> None:
    electrode = IreElectrode.model_validate(
        {"tip": ["1 mm", "2 mm", "3 mm"], "direction": [0, 3, 4], "exposure": "1 cm"}
    )
    start, end = electrode.segment_m
    assert end == pytest.approx((1e-3, 2e-3, 3e-3))
    assert start == pytest.approx((1e-3, 2e-3 - 6e-3, 3e-3 - 8e-3))
    assert math.dist(start, end) == pytest.approx(electrode.exposure_m)


def test_parallel_needles_15_mm_apart_at_1500_v_per_cm_get_2250_v() -> None:
    ((anode, cathode, volts, pulses, distance),) = _session().pair_list()
    assert (anode, cathode, pulses) == (0, 1, 90)
    assert distance == pytest.approx(15e-3)
    assert volts == pytest.approx(2250.0)


def test_all_pairs_of_four_electrodes_are_six_with_voltage_from_their_distance() -> None:
    session = _session(_with("voltage_to_distance: 2000 V/cm", electrodes=SQUARE))
    pairs = session.pair_list()
    assert [(a, c) for a, c, *_ in pairs] == [(0, 1), (0, 2), (0, 3), (1, 2), (1, 3), (2, 3)]
    side, diagonal = 10e-3, 10e-3 * math.sqrt(2.0)
    distances = [side, diagonal, side, side, diagonal, side]
    assert [d for *_, d in pairs] == pytest.approx(distances)
    assert [v for _, _, v, _, _ in pairs] == pytest.approx([2e5 * d for d in distances])
    assert session.duration_s == pytest.approx(6 * 90.0)


def test_pairs_in_the_list_form_and_with_their_own_settings() -> None:
    session = _session(
        _with(
            "pairs: [[0, 1], [3, 2], {anode: 1, cathode: 2, voltage: 2.5 kV, pulses: 70}]",
            "voltage: 1800 V",
            "pulse_rate: 2 Hz",
            electrodes=SQUARE,
        )
    )
    assert session.pairs == [
        IrePair(anode=0, cathode=1),
        IrePair(anode=3, cathode=2),
        IrePair.model_validate({"anode": 1, "cathode": 2, "voltage": "2500 V", "pulses": 70}),
    ]
    assert session.voltage_to_distance is None  # a session voltage takes no default ratio
    assert session.voltage_to_distance_v_per_m is None
    assert session.pair_list() == [
        (0, 1, 1800.0, 90, pytest.approx(10e-3)),
        (3, 2, 1800.0, 90, pytest.approx(10e-3)),
        (1, 2, 2500.0, 70, pytest.approx(10e-3)),
    ]
    assert session.duration_s == pytest.approx((90 + 90 + 70) / 2.0)


def test_a_pair_voltage_overrides_the_ratio() -> None:
    session = _session(_with("pairs: [{anode: 1, cathode: 0, voltage: 1 kV}]"))
    assert session.voltage_to_distance_v_per_m == pytest.approx(1.5e5)
    assert session.pair_list() == [(1, 0, 1000.0, 90, pytest.approx(15e-3))]


@pytest.mark.parametrize(
    ("key", "value", "si_key", "si"),
    [
        ("pulse_width", "1 us", "pulse_width_s", 1e-6),
        ("pulse_width", "1000 us", "pulse_width_s", 1e-3),
        ("pulse_width", "1 ms", "pulse_width_s", 1e-3),
        ("pulse_rate", "0.1 Hz", "pulse_rate_hz", 0.1),
        ("pulse_rate", "10 Hz", "pulse_rate_hz", 10.0),
    ],
)
def test_pulse_settings_at_their_limits_pass(key: str, value: str, si_key: str, si: float) -> None:
    session = _session(_with(f"{key}: {value}"))
    assert getattr(session, si_key) == pytest.approx(si)


def test_a_voltage_at_the_generator_limit_passes() -> None:
    # 20 mm apart at 1500 V/cm is 3000 V, up to the round-off of the units
    twenty = TWO_NEEDLES.replace("-7.5 mm", "-10 mm").replace("7.5 mm", "10 mm")
    ((_, _, volts, _, _),) = _session(_with(electrodes=twenty)).pair_list()
    assert volts == pytest.approx(MAX_IRE_VOLTAGE_V)
    _session(_with("voltage: 3 kV"))


# --- the distance between two segments --------------------------------------------------------


@pytest.mark.parametrize(
    ("p1", "q1", "p2", "q2", "distance"),
    [
        # parallel needles side by side, 15 apart
        ((0, 0, -10), (0, 0, 10), (15, 0, -10), (15, 0, 10), 15.0),
        # parallel and offset along the axis: from the end of one to the end of the other
        ((0, 0, 0), (0, 0, 10), (3, 0, 14), (3, 0, 20), 5.0),
        # skew lines crossing (seen along z) within both segments, 3 apart in z
        ((-1, 0, 0), (1, 0, 0), (0, -1, 3), (0, 1, 3), 3.0),
        # skew lines whose closest points lie beyond one segment: an end of it is closest
        ((-1, 0, 0), (1, 0, 0), (4, -1, 3), (4, 1, 3), math.hypot(3.0, 3.0)),
        # an end point against the middle of the other segment (a T)
        ((0, 0, 0), (0, 0, 4), (-2, 0, 6), (2, 0, 6), 2.0),
        # crossing in a point
        ((-1, 0, 0), (1, 0, 0), (0, -1, 0), (0, 1, 0), 0.0),
    ],
)
def test_segment_distance_hand_cases(
    p1: tuple[float, ...], q1: tuple[float, ...], p2: tuple[float, ...], q2: tuple[float, ...],
    distance: float,
) -> None:  # fmt: skip
    for a, b, c, d in ((p1, q1, p2, q2), (q1, p1, q2, p2), (p2, q2, p1, q1)):
        assert _segment_distance(a, b, c, d) == pytest.approx(distance, abs=1e-12)


def test_the_distance_of_a_pair_is_that_of_the_exposed_parts() -> None:
    # needle 1 crosses above needle 0 (seen along z), but its exposed part starts 2 mm above it
    electrodes = """\
        electrodes:
          - {tip: [10 mm, 0 mm, 0 mm], direction: [1, 0, 0], exposure: 20 mm}
          - {tip: [0 mm, 0 mm, 12 mm], direction: [0, 0, 1], exposure: 10 mm}
"""
    ((_, _, volts, _, distance),) = _session(_with(electrodes=electrodes)).pair_list()
    assert distance == pytest.approx(2e-3)
    assert volts == pytest.approx(1.5e5 * 2e-3)


# --- errors -------------------------------------------------------------------------------------

TOUCHING = TWO_NEEDLES.replace("[-7.5 mm", "[-0.5 mm").replace("[7.5 mm", "[0.5 mm")  # 1 mm apart
ONE_NEEDLE = """\
        electrodes:
          - {tip: [0 mm, 0 mm, 10 mm], direction: [0, 0, 1]}
"""
CROSSING = """\
        electrodes:
          - {tip: [10 mm, 0 mm, 0 mm], direction: [1, 0, 0]}
          - {tip: [0 mm, 10 mm, 0 mm], direction: [0, 1, 0]}
"""


@pytest.mark.parametrize(
    ("text", "key", "reason"),
    [
        # the electrodes
        (_with(electrodes=TOUCHING), f"{SESSION}.electrodes[1]",
         "electrode 1 comes within 1 mm of electrode 0, closer than their diameters "
         "(1.27 mm axis to axis): their exposed parts touch or overlap"),
        (_with(electrodes=CROSSING), f"{SESSION}.electrodes[1]",
         "electrode 1 comes within 0 mm of electrode 0, closer than their diameters"),
        (_with(electrodes=ONE_NEEDLE), f"{SESSION}.electrodes", "needs at least 2 entries"),
        (_with(electrodes=TWO_NEEDLES.replace("direction: [0, 0, 1]}",
                                              "direction: [0, 0, 1], active_length: 2 cm}", 1)),
         f"{SESSION}.electrodes[0].active_length", "unknown key; allowed: tip, direction, "
         "diameter, exposure"),
        (_with(electrodes=TWO_NEEDLES.replace("}", ", diameter: 0 mm}", 1)),
         f"{SESSION}.electrodes[0].diameter", "must be greater than zero"),
        # against the grid
        (_with(electrodes=TWO_NEEDLES.replace("10 mm]", "33 mm]", 1)),
         f"{SESSION}.electrodes[0].tip", "the electrode tip is 33 mm from the grid centre"),
        (_with(electrodes=TWO_NEEDLES.replace("}", ", exposure: 45 mm}", 1)),
         f"{SESSION}.electrodes[0].exposure", "the active part of electrode 0 ends 35 mm"),
        # the pairs
        (_with("pairs: [[0, 2]]"), f"{SESSION}.pairs[0].cathode",
         "there is no electrode 2: the session has 2 (0 to 1)"),
        (_with("pairs: [[0, 1], {anode: 5, cathode: 0}]"), f"{SESSION}.pairs[1].anode",
         "there is no electrode 5"),
        (_with("pairs: [[1, 1]]"), f"{SESSION}.pairs[0].cathode",
         "a pair needs two electrodes; anode and cathode are both 1"),
        (_with("pairs: [[0, 1], [1, 0]]"), f"{SESSION}.pairs[1]",
         "electrodes 1 and 0 are already a pair (pairs[0])"),
        (_with("pairs: []"), f"{SESSION}.pairs", "no pairs"),
        (_with("pairs: [[0, 1, 2]]"), f"{SESSION}.pairs[0]",
         "expected a pair [anode, cathode] of electrode indices, got a list of 3"),
        (_with("pairs: [[-1, 0]]"), f"{SESSION}.pairs[0].anode", "must be at least 0"),
        (_with("pairs: [[0.0, 1]]"), f"{SESSION}.pairs[0].anode", "expected a whole number"),
        (_with("pairs: [{anode: 0, cathode: 1, pulses: 0}]"), f"{SESSION}.pairs[0].pulses",
         "must be at least 1"),
        (_with("pairs: [{anode: 0, cathode: 1, volts: 1 kV}]"), f"{SESSION}.pairs[0].volts",
         "unknown key (did you mean 'voltage'?)"),
        (_with("pairs: every"), f"{SESSION}.pairs",
         "expected all or a list of pairs [anode, cathode], got 'every'"),
        # the voltages
        (_with("voltage: 3500 V"), f"{SESSION}.voltage",
         "3500 V is above the generator's maximum (3000 V)"),
        (_with("pairs: [{anode: 0, cathode: 1, voltage: 3.5 kV}]"), f"{SESSION}.pairs[0].voltage",
         "3.5 kV is above the generator's maximum (3000 V)"),
        (_with("voltage_to_distance: 2500 V/cm"), f"{SESSION}.voltage_to_distance",
         "pair 0-1: 2500 V/cm over the 15 mm between its electrodes gives 3750 V, above the "
         "generator's maximum (3000 V)"),
        (_with("voltage: 2 kV", "voltage_to_distance: 1500 V/cm"),
         f"{SESSION}.voltage_to_distance", "give voltage or voltage_to_distance, not both"),
        (_with("voltage: 0 V"), f"{SESSION}.voltage", "must be greater than zero"),
        (_with("voltage_to_distance: 1500 V"), f"{SESSION}.voltage_to_distance",
         "expected a field strength (e.g. '1500 V/cm'), got '1500 V' which is a voltage"),
        (_with("voltage_to_distance: -1 kV/cm"), f"{SESSION}.voltage_to_distance",
         "must be greater than zero"),
        # the pulses
        (_with("pulses: 0"), f"{SESSION}.pulses", "must be at least 1"),
        (_with("pulses: 1001"), f"{SESSION}.pulses", "must be at most 1000"),
        (_with("pulses: '90'"), f"{SESSION}.pulses", "expected a whole number, got '90'"),
        (_with("pulse_width: 2 ms"), f"{SESSION}.pulse_width",
         "must be between 1 us and 1 ms, got '2 ms'"),
        (_with("pulse_width: 0.5 us"), f"{SESSION}.pulse_width", "must be between 1 us and 1 ms"),
        (_with("pulse_rate: 20 Hz"), f"{SESSION}.pulse_rate",
         "must be between 0.1 Hz and 10 Hz, got '20 Hz'"),
        (_with("pulse_rate: 0.05 Hz"), f"{SESSION}.pulse_rate", "must be between 0.1 Hz"),
        (_with("conductivity_model: exponential"), f"{SESSION}.conductivity_model",
         "expected 'linear' or 'sigmoid', got 'exponential'"),
        (_with("cooldown: later"), f"{SESSION}.cooldown", "expected 'auto' or a duration"),
    ],
)  # fmt: skip
def test_error_names_key_and_reason(text: str, key: str, reason: str) -> None:
    error = _scenario_error(text)
    assert error.key == key
    assert reason in error.reason


def _ire_policy(session: dict) -> dict:
    data = yaml.safe_load(EXAMPLE)
    data["strategies"]["ire"] = {
        "policy": {"kind": "ablate_visible", "every": "30 d", "session": session}
    }
    return data


def test_ablate_visible_plans_ire_sessions() -> None:
    data = _ire_policy({"modality": "ire", "electrodes": [{"exposure": "30 mm"}], "pulses": 70})
    scenario = loads_scenario(yaml.safe_dump(data))
    template = scenario.strategies["ire"].policy.session
    assert template.modality == "ire"
    assert template.device_key == "electrodes"
    # the template keeps its own settings and none of the planner's keys
    assert template.values["electrodes"] == [{"diameter": "1.27 mm", "exposure": "30 mm"}]
    assert "pairs" not in template.values
    assert "voltage" not in template.values
    assert loads_scenario(yaml.safe_dump(scenario.model_dump(mode="json"))) == scenario


@pytest.mark.parametrize(
    ("key", "value", "reason"),
    [
        ("pairs", "all", "the planner pairs the electrodes"),
        ("voltage", "2 kV", "from voltage_to_distance"),
    ],
)
def test_an_ire_template_leaves_the_pairs_to_the_planner(key, value, reason) -> None:
    error = _scenario_error(yaml.safe_dump(_ire_policy({"modality": "ire", key: value})))
    assert error.key == f"strategies.ire.policy.session.{key}"
    assert reason in error.reason


# --- round trip -----------------------------------------------------------------------------


def test_yaml_round_trip_gives_the_same_model() -> None:
    text = EXAMPLE + (
        "  listed:\n"
        "    sessions:\n"
        "      - modality: ire\n"
        "        day: 1.5\n"
        + SQUARE
        + "        pairs: [[0, 2], {anode: 1, cathode: 3, voltage: 2.1 kV}, {anode: 3, "
        "cathode: 0, pulses: 10}]\n"
        "        voltage: 1.7 kV\n"
        "        pulse_width: 100 us\n"
        "        pulse_rate: 0.5 Hz\n"
        "        conductivity_model: sigmoid\n"
        "        cooldown: 2 min\n"
    )
    scenario = loads_scenario(text)
    dumped = dump_scenario(scenario)
    again = loads_scenario(dumped)
    assert again == scenario
    assert dump_scenario(again) == dumped
    sessions = yaml.safe_load(dumped)["strategies"]
    default = sessions["ire"]["sessions"][0]
    # the defaults are written out, the ratio among them
    assert default["voltage_to_distance"] == "1500 V/cm"
    assert default["pairs"] == "all"
    assert default["pulse_width"] == "70 us"
    assert sessions["listed"]["sessions"][0]["pairs"] == [
        [0, 2],
        {"anode": 1, "cathode": 3, "voltage": "2.1 kV"},
        {"anode": 3, "cathode": 0, "pulses": 10},
    ]
    listed = again.strategies["listed"].sessions[0]
    assert isinstance(listed, IreSession)
    assert listed.cooldown_s == 120.0
    assert listed.duration_s == pytest.approx((90 + 90 + 10) / 0.5)


# --- the command line ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "fragments"),
    [
        (_with(electrodes=TOUCHING),
         [f"{SESSION}.electrodes[1]:", "within 1 mm of electrode 0, closer than their diameters"]),
        (_with("voltage: 3500 V"),
         [f"{SESSION}.voltage:", "3500 V is above the generator's maximum (3000 V)"]),
        (_with("pairs: []"), [f"{SESSION}.pairs:", "no pairs"]),
    ],
    ids=["electrodes-touch", "voltage-over-3000-V", "no-pairs"],
)  # fmt: skip
def test_run_refuses_bad_ire_input_with_one_line_and_exit_code_2(
    tmp_path: Path, text: str, fragments: list[str]
) -> None:
    path = tmp_path / "case.yaml"
    path.write_text(text)
    out = tmp_path / "results"
    result = CliRunner().invoke(app, ["run", str(path), "-o", str(out)])
    assert result.exit_code == 2, result.output
    assert isinstance(result.exception, SystemExit)  # refused, not crashed
    assert "Traceback" not in result.output
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"error: {path}: "), lines[0]
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    assert not out.exists()
