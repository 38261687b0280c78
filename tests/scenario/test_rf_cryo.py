"""Radiofrequency and cryo sessions: parsing, SI values, defaults, YAML round trip, and every bad
input rejected with one line naming the key and the reason."""

from __future__ import annotations

import math

import numpy as np
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from tissuefate.errors import ScenarioError
from tissuefate.scenario import (
    CryoPhase,
    CryoProbe,
    CryoSession,
    RadiofrequencyElectrode,
    RadiofrequencySession,
    Rolloff,
    Scenario,
    Strategy,
    dump_scenario,
    loads_scenario,
)
from tissuefate.scenario.io import _segment_distance

# The two sessions of the issue, verbatim, plus a second RF session with the other electrode kinds.
EXAMPLE = """\
name: rf-and-cryo
grid: {size: [96 mm, 96 mm, 96 mm], spacing: 1 mm}
anatomy:
  tumors: [{name: t1, center: [0 mm, 0 mm, 0 mm], radius: 10 mm}]
  vessels:
    - {name: portal, start: [-48 mm, 20 mm, 0 mm], end: [48 mm, 20 mm, 0 mm], radius: 3 mm}
strategies:
  rfa:
    sessions:
      - modality: radiofrequency
        day: 0
        electrodes:
          - tip: [0 mm, 0 mm, 10 mm]
            direction: [0, 0, -1]
            kind: needle              # needle | cluster | multi_tine   (default needle)
            active_length: 20 mm      # exposed tip length (needle, cluster)
            diameter: 1.5 mm          # default 1.5 mm (17 G); > 0
            cooled: true              # internally cooled (default true)
            coolant_temperature: 10 degC   # default 10 degC; allowed range -20..40 degC
        power: 50 W                   # target generator power, > 0, at most 250 W
        voltage_limit: 120 V          # > 0; default 150 V
        rolloff:
          impedance_above: 120 ohm    # absolute threshold (optional)
          impedance_rise: null        # rise above the baseline impedance (optional)
          pause: 15 s                 # > 0
        switching_interval: 10 s      # > 0
        ground: boundary              # boundary | x- | x+ | y- | y+ | z- | z+
        duration: 12 min              # > 0, at most 2 h
        cooldown: auto
      - modality: radiofrequency
        day: 7
        electrodes:
          - {tip: [-10 mm, 0 mm, 0 mm], direction: [0, 0, -1], kind: cluster, active_length: 25 mm}
          - {tip: [10 mm, 0 mm, 0 mm], direction: [0, 0, -2], kind: multi_tine,
             deployed_diameter: 3 cm, cooled: false}
        power: 200 W
        rolloff: {impedance_rise: 30 ohm}
        ground: z-
        duration: 1 h
        cooldown: 5 min
      - modality: radiofrequency
        day: 14
        electrodes: [{tip: [0 mm, -5 mm, 0 mm], direction: [0, 1, 0], active_length: 3 cm}]
        power: 30 W
        rolloff: off
        duration: 8 min
  cryo:
    sessions:
      - modality: cryo
        day: 0
        probes:
          - tip: [0 mm, 0 mm, 0 mm]
            direction: [0, 0, -1]
            diameter: 2.4 mm          # > 0, default 2.4 mm
            active_length: 40 mm      # freezing length behind the tip, > 0, default 40 mm
            cryogen: liquid_nitrogen  # argon (default) or liquid_nitrogen
        gas_temperature: -150 degC    # -196..-20 degC for every probe; default: the cryogen's
        thaw_temperature: 20 degC     # 0..60 degC; default 20 degC
        protocol:                     # ordered phases
          - freeze: 10 min
          - thaw: 5 min               # passive by default
          - {thaw: 3 min, mode: active}
          - freeze: 10 min
        cooldown: auto                # after the protocol (Cooldown type)
"""

RF0 = "strategies.rfa.sessions[0]"
RF1 = "strategies.rfa.sessions[1]"
RF2 = "strategies.rfa.sessions[2]"
CRYO = "strategies.cryo.sessions[0]"


def _scenario_error(text: str) -> ScenarioError:
    with pytest.raises(ScenarioError) as info:
        loads_scenario(text, source="s.yaml")
    error = info.value
    assert error.source == "s.yaml"
    assert "\n" not in str(error)
    return error


def _sessions() -> tuple[list[RadiofrequencySession], CryoSession]:
    scenario = loads_scenario(EXAMPLE)
    rf = scenario.strategies["rfa"].sessions
    cryo = scenario.strategies["cryo"].sessions[0]
    assert all(isinstance(s, RadiofrequencySession) for s in rf)
    assert isinstance(cryo, CryoSession)
    return rf, cryo  # type: ignore[return-value]


# --- parsing, SI values and defaults ---------------------------------------------------------


def test_radiofrequency_example_parses_with_si_values() -> None:
    rf, _ = _sessions()
    session = rf[0]
    assert session.modality == "radiofrequency"
    electrode = session.electrodes[0]
    assert isinstance(electrode, RadiofrequencyElectrode)
    assert electrode.kind == "needle"
    assert electrode.tip_m == pytest.approx((0.0, 0.0, 0.01))
    assert electrode.direction == (0.0, 0.0, -1.0)
    assert electrode.active_length_m == pytest.approx(0.02)
    assert electrode.diameter_m == pytest.approx(1.5e-3)
    assert electrode.cooled is True
    assert electrode.coolant_temperature_c == pytest.approx(10.0)
    assert electrode.spacing_m is None
    assert electrode.tines is None
    assert electrode.deployed_diameter_m is None
    assert session.power_w == 50.0
    assert session.voltage_limit_v == 120.0
    assert isinstance(session.rolloff, Rolloff)
    assert session.rolloff.impedance_above_ohm == 120.0
    assert session.rolloff.impedance_rise_ohm is None
    assert session.rolloff.pause_s == 15.0
    assert session.switching_interval_s == 10.0
    assert session.ground == "boundary"
    assert session.duration_s == 720.0
    assert session.cooldown_s is None


def test_electrode_kinds_and_their_defaults() -> None:
    rf, _ = _sessions()
    cluster, tines = rf[1].electrodes
    assert cluster.kind == "cluster"
    assert cluster.spacing_m == pytest.approx(5e-3)  # the default, filled in
    assert cluster.diameter_m == pytest.approx(1.5e-3)
    assert cluster.coolant_temperature_c == pytest.approx(10.0)
    assert tines.kind == "multi_tine"
    assert tines.tines == 9
    assert tines.deployed_diameter_m == pytest.approx(0.03)
    assert tines.active_length_m == pytest.approx(0.015)  # half the deployed diameter
    assert tines.direction == pytest.approx((0.0, 0.0, -1.0))
    assert tines.cooled is False
    assert tines.coolant_temperature_c is None
    assert rf[1].voltage_limit_v == 150.0
    assert rf[1].switching_interval_s == 10.0
    assert rf[1].ground == "z-"
    assert rf[1].cooldown_s == 300.0
    assert rf[1].duration_s == 3600.0
    assert rf[1].rolloff is not None
    assert rf[1].rolloff.impedance_above_ohm is None
    assert rf[1].rolloff.impedance_rise_ohm == 30.0
    assert rf[1].rolloff.pause_s == 15.0


def test_multi_tine_keeps_a_given_tine_length() -> None:
    electrode = RadiofrequencyElectrode.model_validate(
        {"tip": ["0 mm"] * 3, "direction": [1, 0, 0], "kind": "multi_tine",
         "active_length": "12 mm", "deployed_diameter": "40 mm", "tines": 12}
    )  # fmt: skip
    assert electrode.active_length_m == pytest.approx(0.012)
    assert electrode.tines == 12


@pytest.mark.parametrize(
    ("value", "enabled"),
    [(None, True), ("off", False), (False, False), ({"impedance_above": "1 kohm"}, True)],
)
def test_rolloff_null_means_the_defaults_and_off_switches_it_off(
    value: object, enabled: bool
) -> None:
    session = RadiofrequencySession.model_validate(
        {"modality": "radiofrequency", "power": "50 W", "duration": "1 min", "rolloff": value,
         "electrodes": [{"tip": ["0 mm"] * 3, "direction": [0, 0, 1], "active_length": "1 cm"}]}
    )  # fmt: skip
    assert (session.rolloff is not None) == enabled
    if value is None:
        assert session.rolloff == Rolloff(impedance_above="120 ohm", pause="15 s")  # type: ignore[arg-type]
    if isinstance(value, dict):
        assert session.rolloff is not None
        assert session.rolloff.impedance_above_ohm == 1000.0


def test_omitted_rolloff_gets_the_defaults() -> None:
    rf, _ = _sessions()
    assert rf[2].rolloff is None  # rolloff: off
    data = yaml.safe_load(EXAMPLE)
    del data["strategies"]["rfa"]["sessions"][2]["rolloff"]
    session = Scenario.model_validate(data).strategies["rfa"].sessions[2]
    assert isinstance(session, RadiofrequencySession)
    assert session.rolloff is not None
    assert session.rolloff.impedance_above_ohm == 120.0
    assert session.rolloff.impedance_rise_ohm is None
    assert session.rolloff.pause_s == 15.0


def test_cryo_example_parses_with_si_values() -> None:
    _, session = _sessions()
    assert session.modality == "cryo"
    probe = session.probes[0]
    assert isinstance(probe, CryoProbe)
    assert probe.tip_m == (0.0, 0.0, 0.0)
    assert probe.direction == (0.0, 0.0, -1.0)
    assert probe.diameter_m == pytest.approx(2.4e-3)
    assert probe.active_length_m == pytest.approx(0.04)
    assert probe.cryogen == "liquid_nitrogen"
    assert session.gas_temperature_c == pytest.approx(-150.0)
    assert session.thaw_temperature_c == pytest.approx(20.0)
    assert session.phases == (
        ("freeze", 600.0, None),
        ("thaw", 300.0, "passive"),
        ("thaw", 180.0, "active"),
        ("freeze", 600.0, None),
    )
    assert session.freeze_time_s == 1200.0
    assert session.duration_s == 1680.0
    assert session.cooldown_s is None


def test_cryo_defaults() -> None:
    session = CryoSession.model_validate(
        {"modality": "cryo", "probes": [{"tip": ["0 mm"] * 3, "direction": [0, 0, 1]}],
         "protocol": [{"freeze": "8 min"}]}
    )  # fmt: skip
    assert session.day == 0.0
    assert session.probes[0].diameter_m == pytest.approx(2.4e-3)
    assert session.probes[0].active_length_m == pytest.approx(0.04)
    assert session.probes[0].cryogen == "argon"
    assert session.gas_temperature_c is None  # each probe's cryogen's
    assert session.thaw_temperature_c == pytest.approx(20.0)
    assert session.cooldown == "auto"
    assert session.phases == (("freeze", 480.0, None),)


def test_phase_kind_and_duration() -> None:
    assert CryoPhase.model_validate({"thaw": "90 s"}).mode == "passive"
    phase = CryoPhase.model_validate({"thaw": "1.5 min", "mode": "active"})
    assert (phase.kind, phase.duration_s, phase.mode) == ("thaw", 90.0, "active")
    freeze = CryoPhase.model_validate({"freeze": "1 h"})
    assert (freeze.kind, freeze.duration_s, freeze.mode) == ("freeze", 3600.0, None)


def test_strategy_mixes_the_modalities() -> None:
    rf, cryo = _sessions()
    strategy = Strategy(sessions=[rf[0], cryo.model_copy(update={"day": 3.0})])
    assert [s.modality for s in strategy.sessions] == ["radiofrequency", "cryo"]


def test_models_are_frozen() -> None:
    rf, cryo = _sessions()
    with pytest.raises(ValueError, match="frozen"):
        rf[0].power = "1 W"  # type: ignore[assignment,misc]
    with pytest.raises(ValueError, match="frozen"):
        cryo.protocol[0].freeze = None  # type: ignore[misc]


# --- YAML round trip -------------------------------------------------------------------------


def test_yaml_round_trip_is_exact() -> None:
    scenario = loads_scenario(EXAMPLE)
    text = dump_scenario(scenario)
    again = loads_scenario(text)
    assert again == scenario
    assert dump_scenario(again) == text


def test_dump_writes_the_filled_in_defaults_and_short_phases() -> None:
    data = yaml.safe_load(dump_scenario(loads_scenario(EXAMPLE)))
    rf = data["strategies"]["rfa"]["sessions"]
    assert rf[1]["electrodes"][0]["spacing"] == "5 mm"
    assert rf[1]["electrodes"][1]["tines"] == 9
    assert rf[1]["electrodes"][1]["active_length"] == "1.5 cm"
    assert rf[1]["electrodes"][1]["coolant_temperature"] is None
    assert rf[1]["voltage_limit"] == "150 V"
    assert rf[1]["rolloff"] == {
        "impedance_above": None,
        "impedance_rise": "30 ohm",
        "pause": "15 s",
    }
    assert rf[2]["rolloff"] == "off"
    protocol = data["strategies"]["cryo"]["sessions"][0]["protocol"]
    assert protocol == [
        {"freeze": "10 min"},
        {"thaw": "5 min", "mode": "passive"},
        {"thaw": "3 min", "mode": "active"},
        {"freeze": "10 min"},
    ]


_phase = st.one_of(
    st.builds(lambda m: {"freeze": f"{m!r} min"}, st.floats(0.01, 60.0)),
    st.builds(
        lambda m, mode: {"thaw": f"{m!r} min", **({"mode": mode} if mode else {})},
        st.floats(0.01, 60.0),
        st.sampled_from([None, "passive", "active"]),
    ),
)


@settings(max_examples=60, deadline=None)
@given(phases=st.lists(_phase, min_size=1, max_size=6))
def test_any_protocol_round_trips_or_fails_at_its_first_early_thaw(
    phases: list[dict[str, str]],
) -> None:
    data = yaml.safe_load(EXAMPLE)
    data["strategies"]["cryo"]["sessions"][0]["protocol"] = phases
    first_freeze = next((i for i, p in enumerate(phases) if "freeze" in p), None)
    if first_freeze == 0:
        scenario = Scenario.model_validate(data)
        again = loads_scenario(dump_scenario(scenario))
        assert again == scenario
        session = again.strategies["cryo"].sessions[0]
        assert isinstance(session, CryoSession)
        assert [kind for kind, _, _ in session.phases] == [next(iter(p)) for p in phases]
        assert session.freeze_time_s <= session.duration_s
    else:
        error = _scenario_error(yaml.safe_dump(data))
        assert error.key == f"{CRYO}.protocol[0].thaw"
        assert error.reason == "a thaw needs a freeze before it"


# --- bad input -------------------------------------------------------------------------------

NEEDLE = "            active_length: 20 mm      # exposed tip length (needle, cluster)\n"
E0 = f"{RF0}.electrodes[0]"
FIRST_PHASE = "          - freeze: 10 min\n          - thaw: 5 min"
PROBE_TIP = "tip: [0 mm, 0 mm, 0 mm]"


@pytest.mark.parametrize(
    ("old", "new", "key", "reason"),
    [
        # the errors the issue names
        (
            "tip: [0 mm, 0 mm, 10 mm]",
            "tip: [0 mm, 18 mm, 2 mm]",
            E0,
            "electrode 0 overlaps vessel portal: its active part comes within 2.82843 mm of the "
            "vessel axis, closer than the vessel radius plus the electrode radius (3.75 mm)",
        ),
        (
            PROBE_TIP,
            "tip: [0 mm, 0 mm, -50 mm]",
            f"{CRYO}.probes[0].tip",
            "the cryoprobe tip is 50 mm from the grid centre along z but the grid ends at 48 mm",
        ),
        (
            FIRST_PHASE,
            "          - thaw: 10 min\n          - freeze: 5 min",
            f"{CRYO}.protocol[0].thaw",
            "a thaw needs a freeze before it",
        ),
        (
            "active_length: 20 mm ",
            "active_length: -20 mm ",
            f"{E0}.active_length",
            "must be greater than zero, got '-20 mm'",
        ),
        (
            "active_length: 40 mm",
            "active_length: -4 cm",
            f"{CRYO}.probes[0].active_length",
            "must be greater than zero, got '-4 cm'",
        ),
        ("120 V", "-120 V", f"{RF0}.voltage_limit", "must be greater than zero, got '-120 V'"),
        ("120 V", "0 V", f"{RF0}.voltage_limit", "must be greater than zero, got '0 V'"),
        # electrodes
        (NEEDLE, "", f"{E0}.active_length", "a needle electrode needs an active_length"),
        (
            "kind: cluster, active_length: 25 mm",
            "kind: cluster",
            f"{RF1}.electrodes[0].active_length",
            "a cluster electrode needs an active_length",
        ),
        (NEEDLE, NEEDLE + "            spacing: 5 mm\n", f"{E0}.spacing",
         "spacing is only for kind: cluster, not needle"),
        ("deployed_diameter: 3 cm,", "spacing: 3 mm, deployed_diameter: 3 cm,",
         f"{RF1}.electrodes[1].spacing", "spacing is only for kind: cluster, not multi_tine"),
        (NEEDLE, NEEDLE + "            tines: 4\n", f"{E0}.tines",
         "tines is only for kind: multi_tine, not needle"),
        ("kind: cluster,", "kind: cluster, deployed_diameter: 2 cm,",
         f"{RF1}.electrodes[0].deployed_diameter", "deployed_diameter is only for kind: multi"),
        ("deployed_diameter: 3 cm,", "", f"{RF1}.electrodes[1].deployed_diameter",
         "a multi_tine electrode needs a deployed_diameter"),
        ("deployed_diameter: 3 cm,", "deployed_diameter: 0 cm,",
         f"{RF1}.electrodes[1].deployed_diameter", "must be greater than zero"),
        ("deployed_diameter: 3 cm,", "deployed_diameter: 3 cm, tines: 1,",
         f"{RF1}.electrodes[1].tines", "must be at least 2, got 1"),
        ("deployed_diameter: 3 cm,", "deployed_diameter: 3 cm, tines: 17,",
         f"{RF1}.electrodes[1].tines", "must be at most 16, got 17"),
        ("kind: needle ", "kind: loop ", f"{E0}.kind",
         "expected 'needle', 'cluster' or 'multi_tine', got 'loop'"),
        ("diameter: 1.5 mm", "diameter: 0 mm", f"{E0}.diameter", "must be greater than zero"),
        ("10 degC", "45 degC", f"{E0}.coolant_temperature",
         "must be between -20 degC and 40 degC, got '45 degC'"),
        ("cooled: false}", "cooled: false, coolant_temperature: 5 degC}",
         f"{RF1}.electrodes[1].coolant_temperature", "only for a cooled electrode"),
        ("cooled: true ", "cooled: sometimes ", f"{E0}.cooled", "expected true or false"),
        ("direction: [0, 0, -1]", "direction: [0, 0, 0]", f"{E0}.direction", "not be [0, 0, 0]"),
        ("kind: needle ", "knid: needle ", f"{E0}.knid", "unknown key (did you mean 'kind'?)"),
        # the generator
        ("ground: boundary", "ground: x", f"{RF0}.ground",
         "expected 'boundary', 'x-', 'x+', 'y-', 'y+', 'z-' or 'z+', got 'x'"),
        ("impedance_above: 120 ohm", "impedance_above: null", f"{RF0}.rolloff",
         "give impedance_above, impedance_rise or both (or write rolloff: off)"),
        ("rolloff: {impedance_rise: 30 ohm}", "rolloff: {pause: 5 s}", f"{RF1}.rolloff",
         "give impedance_above, impedance_rise or both"),
        ("rolloff: off", "rolloff: on", f"{RF2}.rolloff",
         "expected a mapping of roll-off settings, null for the defaults or off, got true"),
        ("120 ohm", "120 V", f"{RF0}.rolloff.impedance_above",
         "expected a resistance (e.g. '120 ohm'), got '120 V' which is a voltage"),
        ("30 ohm", "-30 ohm", f"{RF1}.rolloff.impedance_rise", "must be greater than zero"),
        ("pause: 15 s", "pause: 0 s", f"{RF0}.rolloff.pause", "must be greater than zero"),
        ("120 V", "120 A", f"{RF0}.voltage_limit", "expected a voltage (e.g. '150 V')"),
        ("power: 50 W", "power: 0 W", f"{RF0}.power", "must be greater than zero"),
        ("power: 200 W", "power: 260 W", f"{RF1}.power",
         "260 W is above any clinical radiofrequency generator (at most 250 W)"),
        ("duration: 1 h", "duration: 121 min", f"{RF1}.duration", "longer than any radio"),
        ("duration: 12 min ", "duration: 0 min ", f"{RF0}.duration", "must be greater than zero"),
        ("switching_interval: 10 s", "switching_interval: -1 s", f"{RF0}.switching_interval",
         "must be greater than zero"),
        ("electrodes: [{tip: [0 mm, -5 mm, 0 mm], direction: [0, 1, 0], active_length: 3 cm}]",
         "electrodes: []", f"{RF2}.electrodes", "needs at least 1 entry"),
        # cryo
        (
            FIRST_PHASE,
            "          - thaw: 1 min\n          - thaw: 5 min",
            f"{CRYO}.protocol[0].thaw",
            "a thaw needs a freeze before it",
        ),
        ("- {thaw: 3 min, mode: active}", "- {freeze: 3 min, mode: active}",
         f"{CRYO}.protocol[2].mode", "mode is only for a thaw (passive or active)"),
        ("- {thaw: 3 min, mode: active}", "- {thaw: 3 min, mode: fast}",
         f"{CRYO}.protocol[2].mode", "expected 'passive' or 'active', got 'fast'"),
        ("- {thaw: 3 min, mode: active}", "- {thaw: 3 min, freeze: 1 min}",
         f"{CRYO}.protocol[2].thaw", "a freeze or a thaw, not both"),
        ("- {thaw: 3 min, mode: active}", "- {mode: active}",
         f"{CRYO}.protocol[2]", "a phase needs freeze: DURATION or thaw: DURATION"),
        ("- {thaw: 3 min, mode: active}", "- {thaw: 3 min, melt: 1 min}",
         f"{CRYO}.protocol[2].melt", "unknown key; allowed: freeze, thaw, mode"),
        ("- thaw: 5 min ", "- thaw: 61 min ", f"{CRYO}.protocol[1].thaw",
         "61 min is longer than any cryo phase (at most 1 h)"),
        ("- thaw: 5 min ", "- thaw: 0 min ", f"{CRYO}.protocol[1].thaw", "greater than zero"),
        ("- thaw: 5 min ", "- thaw: 5 m ", f"{CRYO}.protocol[1].thaw", "which is a length"),
        ("gas_temperature: -150 degC", "gas_temperature: -10 degC", f"{CRYO}.gas_temperature",
         "must be between -196 degC and -20 degC, got '-10 degC'"),
        ("gas_temperature: -150 degC", "gas_temperature: 50 K", f"{CRYO}.gas_temperature",
         "must be between -196 degC and -20 degC, got '50 K'"),
        ("thaw_temperature: 20 degC", "thaw_temperature: 70 degC", f"{CRYO}.thaw_temperature",
         "must be between 0 degC and 60 degC"),
        ("diameter: 2.4 mm", "diameter: -2.4 mm", f"{CRYO}.probes[0].diameter", "greater than"),
        ("cryogen: liquid_nitrogen", "cryogen: helium", f"{CRYO}.probes[0].cryogen",
         "'argon' or 'liquid_nitrogen'"),
        ("cooldown: auto                # after", "cooldown: soon  # after",
         f"{CRYO}.cooldown", "expected 'auto' or a duration"),
    ],
)  # fmt: skip
def test_error_names_key_and_reason(old: str, new: str, key: str, reason: str) -> None:
    assert old in EXAMPLE
    error = _scenario_error(EXAMPLE.replace(old, new, 1))
    assert error.key == key
    assert reason in error.reason
    assert str(error) == f"s.yaml: {key}: {error.reason}"


def test_protocol_needs_a_phase() -> None:
    data = yaml.safe_load(EXAMPLE)
    data["strategies"]["cryo"]["sessions"][0]["protocol"] = []
    error = _scenario_error(yaml.safe_dump(data))
    assert error.key == f"{CRYO}.protocol"
    assert error.reason == "needs at least 1 entry"
    del data["strategies"]["cryo"]["sessions"][0]["protocol"]
    assert _scenario_error(yaml.safe_dump(data)).key == f"{CRYO}.protocol"


# --- checks against the grid and the vessels ---------------------------------------------------


@pytest.mark.parametrize(
    ("old", "new", "key", "reason"),
    [
        ("tip: [0 mm, 0 mm, 10 mm]", "tip: [0 mm, 0 mm, 48.5 mm]", f"{E0}.tip",
         "the electrode tip is 48.5 mm from the grid centre along z but the grid ends at 48 mm"),
        ("tip: [0 mm, 0 mm, 10 mm]", "tip: [0 mm, 0 mm, 29 mm]", f"{E0}.active_length",
         "the active part of electrode 0 ends 49 mm from the centre along z"),
        ("tip: [0 mm, 0 mm, 0 mm]", "tip: [0 mm, 0 mm, 9 mm]", f"{CRYO}.probes[0].active_length",
         "the active part of cryoprobe 0 ends 49 mm from the centre along z but the grid ends "
         "at 48 mm (at most half a voxel beyond is allowed)"),
        ("tip: [0 mm, -5 mm, 0 mm]", "tip: [0 mm, 25 mm, 0 mm]", f"{RF2}.electrodes[0]",
         "electrode 0 overlaps vessel portal: its active part comes within 0 mm"),
        (PROBE_TIP, "tip: [0 mm, 24 mm, -10 mm]", f"{CRYO}.probes[0]",
         "cryoprobe 0 overlaps vessel portal: its active part comes within 4 mm of the vessel "
         "axis, closer than the vessel radius plus the cryoprobe radius (4.2 mm)"),
    ],
)  # fmt: skip
def test_electrodes_and_probes_must_lie_in_the_grid_clear_of_vessels(
    old: str, new: str, key: str, reason: str
) -> None:
    assert old in EXAMPLE
    error = _scenario_error(EXAMPLE.replace(old, new, 1))
    assert error.key == key
    assert reason in error.reason


def test_active_part_may_end_half_a_voxel_beyond_the_grid() -> None:
    text = EXAMPLE.replace("tip: [0 mm, 0 mm, 10 mm]", "tip: [0 mm, 0 mm, 28.5 mm]")
    electrode = loads_scenario(text).strategies["rfa"].sessions[0].electrodes[0]  # type: ignore[union-attr]
    assert electrode.tip_m[2] - electrode.direction[2] * electrode.active_length_m == (
        pytest.approx(0.0485)
    )


@pytest.mark.parametrize(
    ("kind", "y_mm", "overlaps"),
    [
        # the vessel axis is 20 mm - y away; its radius is 3 mm and the electrode reaches
        # 0.75 mm (needle), 5 + 0.75 mm (cluster) or 15 mm (tines spread to 30 mm)
        ("needle", 16.2, False),
        ("needle", 16.3, True),
        ("cluster", 16.2, True),
        ("cluster", 11.2, False),
        ("cluster", 11.3, True),
        ("multi_tine", 1.9, False),
        ("multi_tine", 2.1, True),
    ],
)
def test_electrode_reach_for_the_vessel_check(kind: str, y_mm: float, overlaps: bool) -> None:
    data = yaml.safe_load(EXAMPLE)
    electrode: dict[str, object] = {"tip": ["0 mm", f"{y_mm} mm", "0 mm"],
                                    "direction": [0, 0, -1], "kind": kind}  # fmt: skip
    if kind == "multi_tine":
        electrode["deployed_diameter"] = "30 mm"
    else:
        electrode["active_length"] = "10 mm"
    data["strategies"]["rfa"]["sessions"][0]["electrodes"] = [electrode]
    text = yaml.safe_dump(data)
    if overlaps:
        error = _scenario_error(text)
        assert error.key == f"{E0}"
        assert "overlaps vessel portal" in error.reason
    else:
        loads_scenario(text)


def test_only_the_active_part_counts_not_its_line() -> None:
    # the electrode points at the vessel axis but its tip stops 4 mm short: more than 3 + 0.75 mm
    loads_scenario(EXAMPLE.replace("tip: [0 mm, 0 mm, 10 mm]", "tip: [0 mm, 20 mm, 4 mm]"))
    error = _scenario_error(
        EXAMPLE.replace("tip: [0 mm, 0 mm, 10 mm]", "tip: [0 mm, 20 mm, 3.7 mm]")
    )
    assert error.key == E0
    assert "comes within 3.7 mm of the vessel axis" in error.reason


# --- the segment distance ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("p1", "q1", "p2", "q2", "distance"),
    [
        # skew perpendicular lines crossing within both segments
        ((0, 0, 0), (2, 0, 0), (1, -1, 3), (1, 1, 3), 3.0),
        # closest point at an end of one segment (T shape)
        ((0, 0, 0), (2, 0, 0), (3, -1, 0), (3, 1, 0), 1.0),
        # closest points at ends of both
        ((0, 0, 0), (1, 0, 0), (2, 1, 0), (2, 2, 0), math.sqrt(2.0)),
        # parallel and overlapping
        ((0, 0, 0), (4, 0, 0), (1, 2, 0), (3, 2, 0), 2.0),
        # parallel, disjoint along the axis
        ((0, 0, 0), (1, 0, 0), (3, 1, 0), (5, 1, 0), math.sqrt(5.0)),
        # anti-parallel, overlapping
        ((0, 0, 0), (4, 0, 0), (3, 0, 1), (1, 0, 1), 1.0),
        # collinear, disjoint
        ((0, 0, 0), (1, 0, 0), (3, 0, 0), (4, 0, 0), 2.0),
        # intersecting
        ((-1, 0, 0), (1, 0, 0), (0, -1, 0), (0, 1, 0), 0.0),
        # a point and a segment, either way round
        ((1, 1, 0), (1, 1, 0), (0, 0, 0), (2, 0, 0), 1.0),
        ((0, 0, 0), (2, 0, 0), (1, 3, 4), (1, 3, 4), 5.0),
        # nearly parallel, meeting at an end (rounding once hid this)
        ((0, 0, 1e-6), (1, 0, 1), (0, 0, 0), (1, 0, 1), 0.0),
        ((0, 0, 0), (1, 0, 0), (0, 0, 1e-6), (1, 0, 2e-6), 1e-6),
        # two points
        ((0, 0, 0), (0, 0, 0), (1, 2, 2), (1, 2, 2), 3.0),
        # crossing at 0.7 degrees (Hypothesis found 1.5e-12 from the lines' closed form alone)
        (
            (0.0, -0.5480604638371144, 0.0),
            (0.00390625, 1.0, 0.0),
            (0.0, 1.0, 0.0),
            (0.015625, -0.5480604638371144, 0.0),
            0.0,
        ),
    ],
)
def test_segment_distance_known_cases(
    p1: tuple[float, ...], q1: tuple[float, ...], p2: tuple[float, ...], q2: tuple[float, ...],
    distance: float,
) -> None:  # fmt: skip
    for a, b, c, d in ((p1, q1, p2, q2), (q1, p1, p2, q2), (p2, q2, p1, q1), (q2, p2, q1, p1)):
        assert _segment_distance(a, b, c, d) == pytest.approx(distance, abs=1e-12)


_coord = st.floats(min_value=-1.0, max_value=1.0, allow_nan=False)
_point = st.tuples(_coord, _coord, _coord)


@settings(max_examples=200, deadline=None)
@given(p1=_point, q1=_point, p2=_point, q2=_point)
def test_segment_distance_is_the_minimum_over_both_segments(
    p1: tuple[float, float, float],
    q1: tuple[float, float, float],
    p2: tuple[float, float, float],
    q2: tuple[float, float, float],
) -> None:
    exact = _segment_distance(p1, q1, p2, q2)
    n = 401
    s = np.linspace(0.0, 1.0, n)[:, None]
    a = np.asarray(p1) + s * (np.asarray(q1) - np.asarray(p1))
    b = np.asarray(p2) + s * (np.asarray(q2) - np.asarray(p2))
    sampled = float(np.min(np.linalg.norm(a[:, None, :] - b[None, :, :], axis=-1)))
    # no sampled pair is closer than the exact distance, and the nearest sample lies within
    # half a sampling step along each segment of the exact closest points
    step = (math.dist(p1, q1) + math.dist(p2, q2)) / (2 * (n - 1))
    assert exact <= sampled + 1e-12
    assert sampled <= exact + step + 1e-12
    assert _segment_distance(p2, q2, p1, q1) == pytest.approx(exact, abs=1e-12)
