"""Bad radiofrequency and cryo input on the command line: exit code 2, one line naming the file,
the key and the reason, and nothing written to disk.

Every scenario is tiny (32 mm at 1 mm) and each bad case differs from a valid one by its one
defect; the input checks run before any simulation, so no RF or cryo physics is needed here.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from tissuefate.cli import app
from tissuefate.course.controller import build_tissue
from tissuefate.scenario import load_scenario

BASE: dict[str, Any] = {
    "name": "tiny",
    "grid": {"size": ["32 mm", "32 mm", "32 mm"], "spacing": "1 mm"},
    "tissue": "liver",
    "anatomy": {
        "tumors": [{"name": "t1", "center": ["0 mm", "0 mm", "0 mm"], "radius": "4 mm"}],
        "vessels": [{"name": "v1", "start": ["-16 mm", "8 mm", "0 mm"],
                     "end": ["16 mm", "8 mm", "0 mm"], "radius": "1.5 mm"}],
    },
    "outputs": {"figures": False, "report": False},
}  # fmt: skip
RF_SESSION: dict[str, Any] = {
    "modality": "radiofrequency",
    "electrodes": [
        {"tip": ["0 mm", "0 mm", "-4 mm"], "direction": [0, 0, -1], "active_length": "8 mm"}
    ],
    "power": "20 W",
    "voltage_limit": "100 V",
    "duration": "5 s",
    "cooldown": "0 s",
}
CRYO_SESSION: dict[str, Any] = {
    "modality": "cryo",
    "probes": [
        {"tip": ["0 mm", "0 mm", "-4 mm"], "direction": [0, 0, -1], "active_length": "10 mm"}
    ],
    "protocol": [{"freeze": "10 s"}, {"thaw": "5 s"}, {"freeze": "10 s"}],
    "cooldown": "0 s",
}


def _scenario(session: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """The base scenario with ``session``; ``changes`` maps ``part/key/...`` paths to values,
    where ``part`` is ``session``, ``electrode`` or ``probe`` (the first of either)."""
    data = copy.deepcopy(BASE)
    session = copy.deepcopy(session)
    data["strategies"] = {"s": {"sessions": [session]}}
    parts = {"session": session}
    if "electrodes" in session:
        parts["electrode"] = session["electrodes"][0]
    if "probes" in session:
        parts["probe"] = session["probes"][0]
    for path, value in changes.items():
        part, *parents, leaf = path.split("/")
        node = parts[part]
        for p in parents:
            node = node[p]
        node[leaf] = value
    return data


def _rf(**changes: Any) -> dict[str, Any]:
    return _scenario(RF_SESSION, **changes)


def _cryo(**changes: Any) -> dict[str, Any]:
    return _scenario(CRYO_SESSION, **changes)


SESSION = "strategies.s.sessions[0]"

# name -> (scenario, fragments the error line must hold)
CASES = {
    "electrode-overlaps-vessel": (
        _rf(**{"electrode/tip": ["0 mm", "7 mm", "-4 mm"]}),
        [f"{SESSION}.electrodes[0]:", "electrode 0 overlaps vessel v1"],
    ),
    "cryoprobe-overlaps-vessel": (
        _cryo(**{"probe/tip": ["0 mm", "6 mm", "-4 mm"]}),
        [f"{SESSION}.probes[0]:", "cryoprobe 0 overlaps vessel v1"],
    ),
    "probe-tip-outside-grid": (
        _cryo(**{"probe/tip": ["0 mm", "0 mm", "-20 mm"]}),
        [f"{SESSION}.probes[0].tip", "the cryoprobe tip is 20 mm from the grid centre along z"],
    ),
    "probe-active-part-outside-grid": (
        _cryo(**{"probe/active_length": "30 mm"}),
        [f"{SESSION}.probes[0].active_length", "the active part of cryoprobe 0 ends 26 mm"],
    ),
    "electrode-tip-outside-grid": (
        _rf(**{"electrode/tip": ["17 mm", "0 mm", "0 mm"]}),
        [f"{SESSION}.electrodes[0].tip", "along x but the grid ends at 16 mm"],
    ),
    "thaw-with-no-freeze": (
        _cryo(**{"session/protocol": [{"thaw": "5 s"}, {"freeze": "10 s"}]}),
        [f"{SESSION}.protocol[0].thaw", "a thaw needs a freeze before it"],
    ),
    "negative-electrode-active-length": (
        _rf(**{"electrode/active_length": "-8 mm"}),
        [f"{SESSION}.electrodes[0].active_length", "must be greater than zero, got '-8 mm'"],
    ),
    "negative-probe-active-length": (
        _cryo(**{"probe/active_length": "-10 mm"}),
        [f"{SESSION}.probes[0].active_length", "must be greater than zero, got '-10 mm'"],
    ),
    "voltage-limit-below-zero": (
        _rf(**{"session/voltage_limit": "-100 V"}),
        [f"{SESSION}.voltage_limit", "must be greater than zero, got '-100 V'"],
    ),
    "voltage-limit-zero": (
        _rf(**{"session/voltage_limit": "0 V"}),
        [f"{SESSION}.voltage_limit", "must be greater than zero, got '0 V'"],
    ),
    "needle-without-active-length": (
        _rf(**{"electrode/active_length": None}),
        [f"{SESSION}.electrodes[0].active_length", "a needle electrode needs an active_length"],
    ),
    "spacing-on-a-needle": (
        _rf(**{"electrode/spacing": "5 mm"}),
        [f"{SESSION}.electrodes[0].spacing", "only for kind: cluster"],
    ),
    "unknown-electrode-kind": (
        _rf(**{"electrode/kind": "loop"}),
        [f"{SESSION}.electrodes[0].kind", "'loop'"],
    ),
    "unknown-ground": (
        _rf(**{"session/ground": "left"}),
        [f"{SESSION}.ground", "'left'"],
    ),
    "rolloff-without-threshold": (
        _rf(**{"session/rolloff": {"pause": "10 s"}}),
        [f"{SESSION}.rolloff:", "give impedance_above, impedance_rise or both"],
    ),
}


def _write(tmp_path: Path, scenario: dict[str, Any]) -> Path:
    path = tmp_path / "case.yaml"
    path.write_text(yaml.safe_dump(scenario))
    return path


def _invoke(*args: str):
    return CliRunner().invoke(app, list(args))


@pytest.mark.parametrize("data", [_rf(), _cryo()], ids=["radiofrequency", "cryo"])
def test_the_base_scenarios_are_valid(tmp_path: Path, data: dict[str, Any]) -> None:
    """Each bad case below differs from a valid scenario by its one defect."""
    path = _write(tmp_path, data)
    build_tissue(load_scenario(path), str(path))


@pytest.mark.parametrize(("scenario", "fragments"), CASES.values(), ids=CASES.keys())
def test_bad_input_exits_2_with_one_line_naming_file_key_and_reason(
    tmp_path: Path, scenario: dict[str, Any], fragments: list[str], error_line
) -> None:
    path = _write(tmp_path, scenario)
    out = tmp_path / "results" / "run"
    result = _invoke("run", str(path), "-o", str(out))
    assert result.exit_code == 2, result.output
    line = error_line(result)
    assert str(path) in line
    for fragment in fragments:
        assert fragment in line, line
    # neither the output folder nor the folder to hold it was created
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name]
