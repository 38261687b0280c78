"""Injection sessions: parsing, SI values, defaults, YAML round trip, and every bad input rejected
with one line naming the key and the reason."""

from __future__ import annotations

import math
from typing import Any

import pytest
import yaml

from tissuefate.errors import ScenarioError
from tissuefate.scenario import (
    InjectionSession,
    InjectionSite,
    Scenario,
    Strategy,
    check_scenario,
    dump_scenario,
    loads_scenario,
)

EXAMPLE = """\
name: injection
grid: {size: [64 mm, 64 mm, 64 mm], spacing: 1 mm}
anatomy:
  tumors: [{name: t1, center: [0 mm, 0 mm, 0 mm], radius: 10 mm}]
  vessels:
    - {name: portal, start: [-32 mm, 20 mm, 0 mm], end: [32 mm, 20 mm, 0 mm], radius: 3 mm}
strategies:
  pei:
    sessions:
      - modality: injection
        day: 0
        agent: ethanol
        agent_parameters: {concentration: 95 percent}
        sites:
          - tip: [0 mm, 0 mm, 5 mm]
            direction: [0, 0, -2]       # shaft -> tip; stored as a unit vector
            volume: 0.5 mL
          - tip: [0 mm, 0 mm, -5 mm]
            direction: [0, 0, -1]
            volume: 2 mL
            rate: 1 mL/min              # own rate, overrides the session rate
        rate: 10 mL/h
        needle_diameter: 0.9 mm
        order: sequential
        observe: 2 h
"""

S0 = "strategies.pei.sessions[0]"

MINIMAL = """\
name: minimal
grid: {size: [32 mm, 32 mm, 32 mm], spacing: 1 mm}
strategies:
  s:
    sessions:
      - modality: injection
        agent: ethanol
        sites: [{tip: [0 mm, 0 mm, 0 mm], direction: [1, 0, 0], volume: 1 mL}]
"""


def _session(text: str = EXAMPLE) -> InjectionSession:
    strategy = next(iter(loads_scenario(text).strategies.values()))
    injection = strategy.sessions[0]
    assert isinstance(injection, InjectionSession)
    return injection


def _edited(change: Any) -> str:
    """EXAMPLE with ``change(session_mapping)`` applied, as YAML text."""
    data = yaml.safe_load(EXAMPLE)
    change(data["strategies"]["pei"]["sessions"][0])
    return yaml.safe_dump(data, sort_keys=False)


def _scenario_error(text: str) -> ScenarioError:
    with pytest.raises(ScenarioError) as info:
        loads_scenario(text, source="s.yaml")
    error = info.value
    assert error.source == "s.yaml"
    assert "\n" not in str(error)
    return error


# --- parsing, SI values and defaults ---------------------------------------------------------


def test_example_parses_with_si_values() -> None:
    session = _session()
    first, second = session.sites
    assert isinstance(first, InjectionSite)
    assert session.modality == "injection"
    assert session.day == 0
    assert session.agent == "ethanol"
    assert session.agent_parameters == {"concentration": "95 percent"}
    assert first.tip_m == pytest.approx((0.0, 0.0, 5e-3))
    assert first.direction == (0.0, 0.0, -1.0)
    assert first.volume_m3 == pytest.approx(5e-7, rel=1e-12)
    assert first.rate_m3_s is None
    assert second.volume_m3 == pytest.approx(2e-6, rel=1e-12)
    assert second.rate_m3_s == pytest.approx(1e-6 / 60, rel=1e-12)
    assert session.rate_m3_s == pytest.approx(1e-5 / 3600, rel=1e-12)
    assert session.rate_m3_s == pytest.approx(2.7777777777777e-9, rel=1e-12)
    assert session.needle_diameter_m == pytest.approx(0.9e-3, rel=1e-12)
    assert session.observe_s == pytest.approx(7200.0)
    assert session.site_rates_m3_s == pytest.approx((1e-5 / 3600, 1e-6 / 60), rel=1e-12)
    # 0.5 mL at 10 mL/h is 3 min; 2 mL at 1 mL/min is 2 min.
    assert session.site_durations_s == pytest.approx((180.0, 120.0), rel=1e-12)
    assert session.volume_m3 == pytest.approx(2.5e-6, rel=1e-12)
    assert session.order == "sequential"
    assert session.infusion_time_s == pytest.approx(300.0, rel=1e-12)
    assert session.duration_s == session.infusion_time_s
    assert session.cooldown_s == session.observe_s


def test_simultaneous_infusion_lasts_as_long_as_the_longest_site() -> None:
    session = _session(_edited(lambda s: s.update(order="simultaneous")))
    assert session.order == "simultaneous"
    assert session.site_durations_s == pytest.approx((180.0, 120.0), rel=1e-12)
    assert session.infusion_time_s == pytest.approx(180.0, rel=1e-12)
    assert session.duration_s == pytest.approx(180.0, rel=1e-12)


def test_defaults() -> None:
    session = _session(MINIMAL)
    assert session.day == 0
    assert session.agent_parameters == {}
    assert session.rate_m3_s == pytest.approx(1e-5 / 3600, rel=1e-12)
    assert session.needle_diameter_m == pytest.approx(0.7e-3, rel=1e-12)
    assert session.order == "sequential"
    assert session.observe_s == pytest.approx(3600.0)
    assert session.sites[0].rate is None
    # 1 mL at 10 mL/h is 6 min.
    assert session.infusion_time_s == pytest.approx(360.0, rel=1e-12)
    assert session.cooldown_s == pytest.approx(3600.0)


def test_values_at_the_limits_pass() -> None:
    def at_limits(session: dict[str, Any]) -> None:
        session.update(rate="10 mL/min", needle_diameter="5 mm", observe="24 h")
        session["sites"][0]["volume"] = "50 mL"
        session["sites"][1]["rate"] = "600 mL/h"

    session = _session(_edited(at_limits))
    assert session.rate_m3_s == pytest.approx(1e-5 / 60, rel=1e-12)
    assert session.sites[0].volume_m3 == pytest.approx(50e-6, rel=1e-12)
    assert session.observe_s == 86400.0


def test_observe_may_be_zero() -> None:
    assert _session(_edited(lambda s: s.update(observe="0 s"))).observe_s == 0.0


def test_strategy_mixes_injection_with_other_modalities() -> None:
    data = yaml.safe_load(EXAMPLE)
    data["strategies"]["pei"]["sessions"].append(
        {
            "modality": "microwave",
            "day": 7,
            "applicators": [{"tip": ["0 mm", "0 mm", "0 mm"], "direction": [0, 0, -1]}],
            "power": "60 W",
            "duration": "5 min",
        }
    )
    strategy = loads_scenario(yaml.safe_dump(data)).strategies["pei"]
    assert isinstance(strategy, Strategy)
    assert [s.modality for s in strategy.sessions] == ["injection", "microwave"]


def test_models_are_frozen() -> None:
    session = _session()
    with pytest.raises(Exception, match="frozen"):
        session.agent = "other"  # type: ignore[misc]
    with pytest.raises(Exception, match="frozen"):
        session.sites[0].volume = "1 mL"  # type: ignore[misc]


# --- YAML round trip -------------------------------------------------------------------------


@pytest.mark.parametrize("text", [EXAMPLE, MINIMAL])
def test_yaml_round_trip_is_exact(text: str) -> None:
    scenario = loads_scenario(text)
    dumped = dump_scenario(scenario)
    again = loads_scenario(dumped)
    assert isinstance(again, Scenario)
    assert again == scenario
    assert dump_scenario(again) == dumped


def test_dump_writes_the_values_as_written_and_the_defaults() -> None:
    data = yaml.safe_load(dump_scenario(loads_scenario(MINIMAL)))
    session = data["strategies"]["s"]["sessions"][0]
    assert session == {
        "modality": "injection",
        "day": 0,
        "agent": "ethanol",
        "agent_parameters": {},
        "sites": [
            {
                "tip": ["0 mm", "0 mm", "0 mm"],
                "direction": [1.0, 0.0, 0.0],
                "volume": "1 mL",
                "rate": None,
                "depth": None,
            }
        ],
        "rate": "10 mL/h",
        "needle_diameter": "0.7 mm",
        "order": "sequential",
        "observe": "1 h",
    }


# --- bad input: one line naming the key ------------------------------------------------------


def _site(index: int, **values: Any) -> Any:
    def change(session: dict[str, Any]) -> None:
        session["sites"][index].update(values)

    return change


def _set(**values: Any) -> Any:
    return lambda session: session.update(values)


@pytest.mark.parametrize(
    ("change", "key", "reason"),
    [
        (_site(0, volume="0 mL"), f"{S0}.sites[0].volume", "must be greater than zero, got '0 mL'"),
        (_site(1, volume="-1 mL"), f"{S0}.sites[1].volume", "must be greater than zero"),
        (
            _site(0, volume="60 mL"),
            f"{S0}.sites[0].volume",
            "60 mL is more than any single injection (at most 50 mL per site)",
        ),
        (_site(0, volume="0.5 mm"), f"{S0}.sites[0].volume", "volume"),
        (
            _set(rate="20 mL/min"),
            f"{S0}.rate",
            "20 mL/min is faster than any needle injection (at most 10 mL/min)",
        ),
        (_set(rate="0 mL/h"), f"{S0}.rate", "must be greater than zero, got '0 mL/h'"),
        (_set(rate="-1 mL/h"), f"{S0}.rate", "must be greater than zero"),
        (_set(rate="1 mL"), f"{S0}.rate", "volume rate"),
        (
            _site(1, rate="11 mL/min"),
            f"{S0}.sites[1].rate",
            "11 mL/min is faster than any needle injection (at most 10 mL/min)",
        ),
        (_site(0, rate="0 mL/min"), f"{S0}.sites[0].rate", "must be greater than zero"),
        (_site(0, depth="0 mm"), f"{S0}.sites[0].depth", "must be greater than zero"),
        (_site(0, gauge="22"), f"{S0}.sites[0].gauge", "unknown key"),
        (_site(0, volum="1 mL"), f"{S0}.sites[0].volum", "did you mean 'volume'?"),
        (_set(volume="1 mL"), f"{S0}.volume", "unknown key"),
        (
            _set(observe="25 h"),
            f"{S0}.observe",
            "25 h is longer than any observation after an injection (at most 24 h)",
        ),
        (_set(observe="-1 min"), f"{S0}.observe", "must not be negative"),
        (_set(sites=[]), f"{S0}.sites", "needs at least 1 entry"),
        (
            _set(needle_diameter="6 mm"),
            f"{S0}.needle_diameter",
            "6 mm is thicker than any injection needle (at most 5 mm)",
        ),
        (_set(needle_diameter="0 mm"), f"{S0}.needle_diameter", "must be greater than zero"),
        (_set(order="random"), f"{S0}.order", "expected 'sequential' or 'simultaneous'"),
        (_set(agent=""), f"{S0}.agent", "must not be empty"),
        (lambda s: s.pop("agent"), f"{S0}.agent", "missing required key"),
        (lambda s: s.pop("sites"), f"{S0}.sites", "missing required key"),
        (_site(0, direction=[0, 0, 0]), f"{S0}.sites[0].direction", "must not be [0, 0, 0]"),
        (lambda s: s["sites"][0].pop("volume"), f"{S0}.sites[0].volume", "missing required key"),
    ],
)
def test_bad_input_names_the_key(change: Any, key: str, reason: str) -> None:
    error = _scenario_error(_edited(change))
    assert error.key == key
    assert reason in str(error)


def test_tip_outside_the_grid() -> None:
    error = _scenario_error(_edited(_site(1, tip=["0 mm", "0 mm", "40 mm"])))
    assert error.key == f"{S0}.sites[1].tip"
    assert str(error).endswith(
        "the needle tip of site 1 is 40 mm from the grid centre along z but the grid ends at 32 mm"
    )


def test_tip_inside_a_vessel() -> None:
    error = _scenario_error(_edited(_site(0, tip=["5 mm", "21 mm", "2 mm"])))
    assert error.key == f"{S0}.sites[0].tip"
    gap = math.hypot(1.0, 2.0)
    assert str(error).endswith(
        f"the needle tip of site 0 lies inside vessel portal ({gap:.6g} mm from its axis, "
        "radius 3 mm)"
    )


def test_tip_beside_a_vessel_passes() -> None:
    # 3.5 mm from the axis of a 3 mm vessel: outside it.
    session = _session(_edited(_site(0, tip=["5 mm", "23.5 mm", "0 mm"])))
    assert session.sites[0].tip_m == pytest.approx((5e-3, 23.5e-3, 0.0))


def test_check_scenario_on_a_model_built_in_python() -> None:
    scenario = loads_scenario(EXAMPLE)
    session = scenario.strategies["pei"].sessions[0]
    assert isinstance(session, InjectionSession)
    outside = session.model_copy(
        update={
            "sites": [
                InjectionSite.model_validate(
                    {"tip": ["-33 mm", "0 mm", "0 mm"], "direction": [1, 0, 0], "volume": "1 mL"}
                )
            ]
        }
    )
    bad = scenario.model_copy(
        update={"strategies": {"pei": Strategy.model_validate({"sessions": [outside]})}}
    )
    with pytest.raises(ScenarioError) as info:
        check_scenario(bad, source="m.yaml")
    assert info.value.key == f"{S0}.sites[0].tip"
    assert "\n" not in str(info.value)
    assert "along x" in str(info.value)
    check_scenario(scenario)  # the example itself is fine
