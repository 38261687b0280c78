"""The ``capsule`` key of a tumour: its default, its short form, bad values named by their key, and
the round trip through the resolved scenario."""

from __future__ import annotations

from typing import Any

import pytest

from tissuefate.errors import ScenarioError
from tissuefate.scenario.io import dump_scenario, loads_scenario

SCENARIO = """
name: capsule
grid: {size: [40 mm, 40 mm, 40 mm], spacing: 1 mm}
anatomy:
  tumors:
    - {name: t1, center: [0 mm, 0 mm, 0 mm], radius: 8 mm, preset: hcc, capsule: CAPSULE}
strategies:
  mwa:
    sessions:
      - modality: microwave
        applicators: [{tip: [0 mm, 0 mm, 12 mm], direction: [0, 0, -1]}]
        power: 60 W
        duration: 5 min
"""


def _load(capsule: str) -> Any:
    return loads_scenario(SCENARIO.replace("CAPSULE", capsule))


def test_a_tumour_has_no_capsule_unless_asked():
    text = SCENARIO.replace(", capsule: CAPSULE", "")
    assert loads_scenario(text).anatomy.tumors[0].capsule is None


@pytest.mark.parametrize("capsule", ["{thickness: 1 mm}", "1 mm", "{thickness: 0.1 cm}"])
def test_a_capsule_has_a_thickness_and_the_fibrous_capsule_preset(capsule):
    parsed = _load(capsule).anatomy.tumors[0].capsule
    assert parsed.thickness_m == pytest.approx(1e-3)
    assert parsed.preset == "fibrous_capsule"


def test_a_capsule_may_name_another_preset():
    assert _load("{thickness: 2 mm, preset: my_capsule}").anatomy.tumors[0].capsule.preset == (
        "my_capsule"
    )


@pytest.mark.parametrize(
    ("capsule", "key", "message"),
    [
        ("{thickness: -1 mm}", "thickness", "must be greater than zero"),
        ("{thickness: 0 mm}", "thickness", "must be greater than zero"),
        ("{thickness: 1 s}", "thickness", "expected a length"),
        ("-2 mm", "thickness", "must be greater than zero"),
        ("{}", "thickness", "missing required key"),
        ("{thikness: 1 mm}", "thikness", "did you mean 'thickness'"),
        ("[1 mm]", "", "expected a mapping"),
    ],
)
def test_a_bad_capsule_is_an_error_naming_its_key(capsule, key, message):
    with pytest.raises(ScenarioError, match=message) as info:
        _load(capsule)
    assert info.value.key == "anatomy.tumors[0].capsule" + (f".{key}" if key else "")


def test_the_capsule_survives_the_resolved_scenario_round_trip():
    scenario = _load("{thickness: 1.5 mm}")
    again = loads_scenario(dump_scenario(scenario))
    assert again == scenario
    assert again.anatomy.tumors[0].capsule.thickness_m == pytest.approx(1.5e-3)
    plain = loads_scenario(SCENARIO.replace(", capsule: CAPSULE", ""))
    assert loads_scenario(dump_scenario(plain)) == plain
