"""The course keys of a scenario: imaging, checkpoints, policies and their session templates."""

from __future__ import annotations

import pytest
import yaml
from pydantic import ValidationError

from tissuefate.errors import ScenarioError
from tissuefate.scenario import (
    CryoSession,
    InjectionSession,
    MicrowaveSession,
    RadiofrequencySession,
    dump_scenario,
    loads_scenario,
)
from tissuefate.scenario.course import (
    AblateVisible,
    ImagingSettings,
    RepeatUntilClear,
    SessionTemplate,
)

EXAMPLE = """\
name: policies
grid: {size: [64 mm, 64 mm, 64 mm], spacing: 1 mm}
anatomy:
  tumors:
    - {name: t1, center: [4 mm, 0 mm, 0 mm], radius: 10 mm}
strategies:
  clo2_weekly:
    policy:
      kind: repeat_until_clear
      every: 7 d
      max_sessions: 4
      session:
        modality: injection
        agent: chlorine_dioxide_essay
        observe: 6 h
      dose: {fraction_of_visible_volume: 0.3, sites: auto, rate: 10 mL/h}
  mwa_then_ablate:
    sessions:
      - modality: microwave
        day: 0
        applicators: [{tip: [4 mm, 0 mm, 20 mm], direction: [0, 0, -1]}]
        power: 60 W
        duration: 10 min
    policy:
      kind: ablate_visible
      first_day: 30 d
      every: 30 d
      session:
        modality: microwave
        applicators: [{antenna: monopole}]
        power: 55 W
follow_up: 90 d
imaging: {every: 30 d, days: [14 d, 7 d]}
"""
RUC = "strategies.clo2_weekly.policy"
ABL = "strategies.mwa_then_ablate.policy"


def _scenario_error(text: str) -> ScenarioError:
    with pytest.raises(ScenarioError) as info:
        loads_scenario(text, source="s.yaml")
    error = info.value
    assert "\n" not in str(error)
    assert "Value error" not in error.reason
    assert str(error) == f"s.yaml: {error.key}: {error.reason}"
    return error


def _policy(text: str, strategy: str) -> RepeatUntilClear | AblateVisible:
    policy = loads_scenario(text).strategies[strategy].policy
    assert policy is not None
    return policy


# --- defaults and derived values -------------------------------------------------------------


def test_defaults() -> None:
    minimal = EXAMPLE.replace("imaging: {every: 30 d, days: [14 d, 7 d]}\n", "")
    scenario = loads_scenario(minimal)
    assert scenario.imaging == ImagingSettings()
    assert scenario.imaging.every_d is None
    assert scenario.imaging.days_d == ()
    assert scenario.imaging.detection == "deterministic"
    assert scenario.imaging.viable_fraction == 0.5
    assert scenario.outputs.checkpoint_every_d == 30.0

    repeat = scenario.strategies["clo2_weekly"].policy
    assert isinstance(repeat, RepeatUntilClear)
    assert repeat.first_day_d == 0.0
    assert repeat.dose is not None
    assert repeat.dose.sites == "auto"
    assert repeat.dose.max_volume is None
    assert repeat.dose.max_volume_ml is None
    assert repeat.normal_lost_budget_ml is None
    assert repeat.systemic_dose_budget_mmol is None

    ablate = scenario.strategies["mwa_then_ablate"].policy
    assert isinstance(ablate, AblateVisible)
    assert ablate.max_sessions == 1
    assert ablate.margin_m == pytest.approx(5e-3)
    assert ablate.max_duration_s is None
    assert ablate.on_local_progression.retreat is False
    assert ablate.on_local_progression.max == 2
    # the template is stored with the session's defaults, without day or planned keys
    assert ablate.session.values == {
        "modality": "microwave",
        "applicators": [{"antenna": "monopole", "efficiency": None}],
        "power": "55 W",
        "frequency": "2.45 GHz",
        "cooldown": "auto",
    }


def test_derived_values_in_days_and_result_units() -> None:
    text = EXAMPLE.replace(
        "rate: 10 mL/h}", "rate: 10 mL/h, max_volume: 3 mL}\n      first_day: 36 h"
    ).replace("max_sessions: 4", "max_sessions: 4\n      normal_lost_budget: 2 cm^3")
    text += "outputs: {checkpoint_every: 2 weeks}\n"
    text = text.replace("every: 7 d\n", "every: 7 d\n      systemic_dose_budget: 0.5 umol\n", 1)
    scenario = loads_scenario(text)
    assert scenario.imaging.every_d == 30.0
    assert scenario.imaging.days_d == (7.0, 14.0)  # sorted
    assert scenario.outputs.checkpoint_every_d == 14.0
    policy = scenario.strategies["clo2_weekly"].policy
    assert isinstance(policy, RepeatUntilClear)
    assert policy.first_day_d == 1.5
    assert policy.every_d == 7.0
    assert policy.normal_lost_budget_ml == pytest.approx(2.0)
    assert policy.systemic_dose_budget_mmol == pytest.approx(5e-4)
    assert policy.dose is not None
    assert policy.dose.max_volume_ml == pytest.approx(3.0)
    assert policy.dose.rate_ml_h == pytest.approx(10.0)
    assert policy.dose.rate_m3_s == pytest.approx(10e-6 / 3600)


def test_strategy_with_only_a_policy() -> None:
    strategy = loads_scenario(EXAMPLE).strategies["clo2_weekly"]
    assert strategy.sessions == []
    assert strategy.policy is not None
    assert strategy.policy.kind == "repeat_until_clear"
    assert strategy.policy.session.modality == "injection"


def test_sessions_then_policy() -> None:
    strategy = loads_scenario(EXAMPLE).strategies["mwa_then_ablate"]
    assert [s.day for s in strategy.sessions] == [0.0]
    assert strategy.policy is not None
    assert strategy.policy.first_day_d == 30.0


# --- round trip ------------------------------------------------------------------------------

RF_AND_CRYO = """\
  rfa:
    policy:
      kind: ablate_visible
      every: 60 d
      max_sessions: 2
      margin: 1 cm
      max_duration: 20 min
      on_local_progression: {retreat: true, max: 1}
      normal_lost_budget: 40 mL
      session:
        modality: radiofrequency
        electrodes: [{kind: cluster, active_length: 25 mm}]
        power: 200 W
        rolloff: off
  cryo:
    policy:
      kind: repeat_until_clear
      every: 30 d
      max_sessions: 2
      systemic_dose_budget: 1 mmol
      session:
        modality: cryo
        probes: [{tip: [0 mm, 0 mm, 10 mm], direction: [0, 0, -1]}]
        protocol: [{freeze: 10 min}, {thaw: 5 min}, {freeze: 10 min}]
"""


@pytest.mark.parametrize("extra", ["", RF_AND_CRYO])
def test_dump_round_trips(extra: str) -> None:
    text = EXAMPLE.replace("follow_up:", extra + "follow_up:")
    scenario = loads_scenario(text)
    dumped = dump_scenario(scenario)
    again = loads_scenario(dumped)
    assert again == scenario
    assert dump_scenario(again) == dumped


def test_dump_writes_the_new_keys() -> None:
    data = yaml.safe_load(dump_scenario(loads_scenario(EXAMPLE)))
    assert data["imaging"] == {
        "every": "30 d",
        "days": ["14 d", "7 d"],
        "detection": "deterministic",
        "viable_fraction": 0.5,
    }
    assert data["outputs"]["checkpoint_every"] == "30 d"
    strategy = data["strategies"]["clo2_weekly"]
    assert strategy["sessions"] == []
    assert strategy["policy"]["first_day"] == "0 d"
    assert strategy["policy"]["dose"] == {
        "fraction_of_visible_volume": 0.3,
        "sites": "auto",
        "rate": "10 mL/h",
        "max_volume": None,
    }
    session = strategy["policy"]["session"]
    assert session["observe"] == "6 h"
    assert "sites" not in session
    assert "rate" not in session
    assert "day" not in session


# --- instantiate -----------------------------------------------------------------------------


def test_instantiate_an_injection() -> None:
    policy = _policy(EXAMPLE, "clo2_weekly")
    assert policy.session.device_key is None
    sites = [
        {"tip": ["4 mm", "0 mm", "0 mm"], "direction": [0, 0, -1], "volume": "0.8 mL"},
        {"tip": ["6 mm", "0 mm", "0 mm"], "direction": [0, 0, -1], "volume": "0.4 mL"},
    ]
    session = policy.session.instantiate(7.0, sites=[{**s, "rate": "10 mL/h"} for s in sites])
    assert isinstance(session, InjectionSession)
    assert session.day == 7.0
    assert session.agent == "chlorine_dioxide_essay"
    assert session.observe_s == 6 * 3600
    assert session.volume_m3 == pytest.approx(1.2e-6)
    assert session.site_rates_m3_s == pytest.approx((10e-6 / 3600,) * 2)
    assert session.sites[1].tip_m == pytest.approx((6e-3, 0.0, 0.0))


def test_instantiate_a_microwave_ablation_takes_the_template_device() -> None:
    policy = _policy(EXAMPLE, "mwa_then_ablate")
    assert policy.session.device_key == "applicators"
    session = policy.session.instantiate(
        30.0,
        applicators=[{"tip": ["4 mm", "0 mm", "12 mm"], "direction": [0, 0, -1]}],
        duration="8 min",
    )
    assert isinstance(session, MicrowaveSession)
    assert session.day == 30.0
    assert session.duration_s == 480.0
    assert session.power_w == 55.0
    assert session.applicators[0].antenna == "monopole"  # from the template
    assert session.applicators[0].tip_m == pytest.approx((4e-3, 0.0, 12e-3))
    assert session.applicators[0].direction == (0.0, 0.0, -1.0)


def test_instantiate_rejects_what_a_session_rejects() -> None:
    policy = _policy(EXAMPLE, "clo2_weekly")
    site = {"tip": ["0 mm"] * 3, "direction": [0, 0, 1], "volume": "60 mL"}
    with pytest.raises(ValidationError, match="at most 50 mL per site"):
        policy.session.instantiate(0.0, sites=[site])
    thermal = _policy(EXAMPLE, "mwa_then_ablate")
    with pytest.raises(ValidationError, match="tip"):
        thermal.session.instantiate(0.0, duration="5 min")  # the template has no tip


def test_example_fills_the_stand_in_values() -> None:
    text = EXAMPLE.replace("follow_up:", RF_AND_CRYO + "follow_up:")
    scenario = loads_scenario(text)
    rfa = scenario.strategies["rfa"].policy
    assert rfa is not None
    session = rfa.session.example((1.0, 2.0, 3.0))
    assert isinstance(session, RadiofrequencySession)
    assert session.electrodes[0].tip_m == pytest.approx((1e-3, 2e-3, 3e-3))
    assert session.electrodes[0].kind == "cluster"
    assert session.electrodes[0].spacing_m == pytest.approx(5e-3)
    assert session.duration_s == 60.0
    assert session.rolloff is None
    cryo = scenario.strategies["cryo"].policy
    assert cryo is not None
    probe = cryo.session.example()
    assert isinstance(probe, CryoSession)
    assert probe.probes[0].tip_m == pytest.approx((0.0, 0.0, 0.01))  # written in the template


def test_template_from_python() -> None:
    template = SessionTemplate.model_validate(
        {"modality": "cryo", "protocol": [{"freeze": "5 min"}]}
    )
    assert template.modality == "cryo"
    assert template.device_key == "probes"
    assert SessionTemplate.model_validate(template.model_dump()) == template


# --- errors ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("old", "new", "key", "reason"),
    [
        # the policy
        (
            "kind: repeat_until_clear",
            "kind: weekly",
            f"{RUC}.kind",
            "unknown policy kind 'weekly'; known: ablate_visible, repeat_until_clear",
        ),
        ("      kind: repeat_until_clear\n", "", f"{RUC}.kind", "missing required key"),
        ("every: 7 d", "every: 0 d", f"{RUC}.every", "must be greater than zero, got '0 d'"),
        ("every: 7 d", "every: -7 d", f"{RUC}.every", "must be greater than zero"),
        ("every: 7 d", "every: 7", f"{RUC}.every", "a duration needs a unit"),
        ("      every: 7 d\n", "", f"{RUC}.every", "missing required key"),
        ("max_sessions: 4", "max_sessions: 0", f"{RUC}.max_sessions", "must be at least 1"),
        ("max_sessions: 4", "max_sessions: 1.5", f"{RUC}.max_sessions", "a whole number"),
        ("max_sessions: 4", "first_day: -1 d", f"{RUC}.first_day", "must not be negative"),
        ("max_sessions: 4", "max_sesions: 4", f"{RUC}.max_sesions", "did you mean"),
        (
            "max_sessions: 4",
            "max_sessions: 4\n      normal_lost_budget: 0 mL",
            f"{RUC}.normal_lost_budget",
            "must be greater than zero",
        ),
        (
            "max_sessions: 4",
            "max_sessions: 4\n      systemic_dose_budget: 2 mg",
            f"{RUC}.systemic_dose_budget",
            "expected an amount of substance (e.g. '0.5 mmol')",
        ),
        # the dose
        (
            "fraction_of_visible_volume: 0.3",
            "fraction_of_visible_volume: 1.5",
            f"{RUC}.dose.fraction_of_visible_volume",
            "must be at most 1",
        ),
        (
            "fraction_of_visible_volume: 0.3",
            "fraction_of_visible_volume: 0",
            f"{RUC}.dose.fraction_of_visible_volume",
            "must be greater than 0",
        ),
        (
            "fraction_of_visible_volume: 0.3, ",
            "",
            f"{RUC}.dose.fraction_of_visible_volume",
            "missing required key",
        ),
        ("sites: auto", "sites: 0", f"{RUC}.dose.sites", "auto or a whole number of sites"),
        ("sites: auto", "sites: many", f"{RUC}.dose.sites", "auto or a whole number of sites"),
        ("rate: 10 mL/h}", "rate: 20 mL/min}", f"{RUC}.dose.rate", "at most 10 mL/min"),
        ("rate: 10 mL/h}", "rate: 0 mL/h}", f"{RUC}.dose.rate", "must be greater than zero"),
        (
            "rate: 10 mL/h}",
            "rate: 10 mL/h, max_volume: 0 mL}",
            f"{RUC}.dose.max_volume",
            "must be greater than zero",
        ),
        (
            "      dose: {fraction_of_visible_volume: 0.3, sites: auto, rate: 10 mL/h}\n",
            "",
            f"{RUC}.dose",
            "missing required key: an injection policy needs a dose",
        ),
        (
            "        power: 55 W\n",
            "        power: 55 W\n      dose: {fraction_of_visible_volume: 0.3, rate: 10 mL/h}\n",
            f"{ABL}.dose",
            "unknown key",
        ),
        # the session template
        (
            "agent: chlorine_dioxide_essay",
            "agent: chlorine_dioxide_essay\n        day: 3",
            f"{RUC}.session.day",
            "a session template has no day",
        ),
        (
            "observe: 6 h",
            "sites: [{tip: [0 mm, 0 mm, 0 mm], direction: [0, 0, 1], volume: 1 mL}]",
            f"{RUC}.session.sites",
            "the policy places the injection sites",
        ),
        ("observe: 6 h", "rate: 5 mL/h", f"{RUC}.session.rate", "runs at dose.rate"),
        (
            "observe: 6 h",
            "dose: {fraction_of_visible_volume: 0.3, rate: 10 mL/h}",
            f"{RUC}.session.dose",
            "dose is a key of the policy, not of its session",
        ),
        ("observe: 6 h", "observe: 2 d", f"{RUC}.session.observe", "at most 24 h"),
        ("observe: 6 h", "obsreve: 6 h", f"{RUC}.session.obsreve", "did you mean 'observe'"),
        (
            "        agent: chlorine_dioxide_essay\n",
            "",
            f"{RUC}.session.agent",
            "missing required key",
        ),
        (
            "modality: injection",
            "modality: laser",
            f"{RUC}.session.modality",
            "unknown modality 'laser'; a policy plans: cryo, injection",
        ),
        (
            "modality: injection",
            "modality: heat_source",
            f"{RUC}.session.modality",
            "heat_source sessions are for validation",
        ),
        ("power: 55 W\n", "power: 400 W\n", f"{ABL}.session.power", "above any clinical"),
        (
            "[{antenna: monopole}]",
            "[{antenna: slot}]",
            f"{ABL}.session.applicators[0].antenna",
            "'dual_slot' or 'monopole'",
        ),
        (
            "[{antenna: monopole}]",
            "[{antenna: monopole, tip: [0 mm, 0 mm, 40 mm]}]",
            f"{ABL}.session.applicators[0].tip",
            "40 mm from the grid centre along z but the grid ends at 32 mm",
        ),
        # ablate_visible
        (
            "        modality: microwave\n        applicators: [{antenna: monopole}]\n"
            "        power: 55 W\n",
            "        modality: injection\n        agent: ethanol\n",
            f"{ABL}.session.modality",
            "ablate_visible plans ablations (microwave, radiofrequency, cryo or ire), "
            "not injection",
        ),
        ("first_day: 30 d", "margin: -1 mm", f"{ABL}.margin", "must not be negative"),
        ("first_day: 30 d", "margin: 5 s", f"{ABL}.margin", "which is a duration"),
        ("every: 30 d\n      session", "session", f"{ABL}.every", "missing required key"),
        ("every: 30 d\n      session", "every: 0 d\n      session", f"{ABL}.every", "greater"),
        (
            "first_day: 30 d",
            "first_day: 30 d\n      max_sessions: 0",
            f"{ABL}.max_sessions",
            "must be at least 1",
        ),
        (
            "first_day: 30 d",
            "first_day: 30 d\n      max_duration: 3 h",
            f"{ABL}.max_duration",
            "longer than any microwave session",
        ),
        (
            "first_day: 30 d",
            "first_day: 30 d\n      on_local_progression: {retreat: yes please}",
            f"{ABL}.on_local_progression.retreat",
            "expected true or false",
        ),
        (
            "first_day: 30 d",
            "first_day: 30 d\n      on_local_progression: {max: 0}",
            f"{ABL}.on_local_progression.max",
            "must be at least 1",
        ),
        # the strategy
        (
            "  clo2_weekly:\n    policy:",
            "  clo2_weekly:\n    sessions: []\n    unused:",
            "strategies.clo2_weekly.unused",
            "unknown key; allowed: sessions, policy",
        ),
        # imaging and outputs
        ("every: 30 d, days", "every: 0 d, days", "imaging.every", "must be greater than zero"),
        ("[14 d, 7 d]", "[14 d, -7 d]", "imaging.days[1]", "must not be negative"),
        ("days: [14 d, 7 d]", "detection: random", "imaging.detection", "'deterministic' or"),
        ("days: [14 d, 7 d]", "viable_fraction: 0", "imaging.viable_fraction", "greater than 0"),
        ("days: [14 d, 7 d]", "viable_fraction: 1.5", "imaging.viable_fraction", "at most 1"),
        ("follow_up: 90 d", "outputs: {checkpoint_every: 0 d}", "outputs.checkpoint_every", "zero"),
    ],
)
def test_error_names_key_and_reason(old: str, new: str, key: str, reason: str) -> None:
    assert old in EXAMPLE
    error = _scenario_error(EXAMPLE.replace(old, new, 1))
    assert error.key == key
    assert reason in error.reason


def test_policy_may_not_start_before_the_explicit_sessions() -> None:
    text = EXAMPLE.replace("day: 0\n", "day: 1\n").replace("first_day: 30 d", "first_day: 12 h")
    error = _scenario_error(text)
    assert error.key == f"{ABL}.first_day"
    assert "the policy starts on day 0.5, before the last explicit session (day 1)" in error.reason
    # on the same day is fine: the explicit session comes first
    loads_scenario(text.replace("first_day: 12 h", "first_day: 1 d"))


def test_strategy_needs_sessions_or_a_policy() -> None:
    text = EXAMPLE.replace(
        "  clo2_weekly:\n    policy:", "  clo2_weekly:\n    sessions: []\n  unused:\n    policy:"
    )
    error = _scenario_error(text)
    assert error.key == "strategies.clo2_weekly"
    assert error.reason == "a strategy needs sessions (at least 1 item), a policy, or both"


def test_dose_is_only_for_an_injection() -> None:
    injection = "        modality: injection\n        agent: chlorine_dioxide_essay\n"
    assert injection in EXAMPLE
    cryo = "        modality: cryo\n        protocol: [{freeze: 10 min}]\n"
    error = _scenario_error(EXAMPLE.replace(injection, cryo).replace("        observe: 6 h\n", ""))
    assert error.key == f"{RUC}.dose"
    assert error.reason == "dose is only for injection sessions; a cryo session takes none"
