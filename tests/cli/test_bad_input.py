"""Bad input on the command line: exit code 2, one line of error naming the key or the file, and
nothing written to disk.

The CLI runs in-process (``typer.testing.CliRunner``); stdout and stderr are read together. Every
scenario is tiny (16 mm at 1 mm), so nothing heavy runs even if a check were missing.
"""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from tissuefate.cli import app
from tissuefate.course.controller import build_tissue
from tissuefate.scenario import load_scenario

HEAT = {
    "name": "tiny",
    "grid": {"size": ["16 mm", "16 mm", "16 mm"], "spacing": "1 mm"},
    "tissue": "liver",
    "anatomy": {"tumors": [{"name": "t1", "center": ["0 mm", "0 mm", "0 mm"], "radius": "3 mm"}]},
    "strategies": {
        "s": {
            "sessions": [
                {
                    "modality": "heat_source",
                    "sources": [
                        {"shape": "sphere", "center": ["0 mm", "0 mm", "0 mm"],
                         "radius": "2 mm", "power": "1 W"}
                    ],
                    "duration": "5 s",
                }
            ]
        }
    },
    "outputs": {"figures": False, "report": False},
}  # fmt: skip
MICROWAVE_SESSION = {
    "modality": "microwave",
    "applicators": [{"tip": ["0 mm", "0 mm", "-4 mm"], "direction": [0, 0, -1]}],
    "power": "20 W",
    "duration": "5 s",
    "cooldown": "0 s",
}


def _heat(**changes):
    data = copy.deepcopy(HEAT)
    session = data["strategies"]["s"]["sessions"][0]
    for path, value in changes.items():
        node = {"top": data, "session": session, "source": session["sources"][0]}[
            path.split("/")[0]
        ]
        *parents, leaf = path.split("/")[1:]
        for p in parents:
            node = node[p]
        node[leaf] = value
    return data


def _microwave(**changes):
    data = copy.deepcopy(HEAT)
    session = copy.deepcopy(MICROWAVE_SESSION)
    data["strategies"]["s"]["sessions"][0] = session
    for key, value in changes.items():
        if key == "tip":
            session["applicators"][0]["tip"] = value
        else:
            session[key] = value
    return data


SESSION = "strategies.s.sessions[0]"

# name -> (scenario: dict, YAML text or None for a missing file; fragments the line must hold)
CASES = {
    "unknown-key": (_heat(**{"top/colour": "red"}), ["colour", "unknown key"]),
    "wrong-dimension": (_heat(**{"source/power": "5 mm"}), [f"{SESSION}.sources[0].power"]),
    "negative-power": (_microwave(power="-5 W"), [f"{SESSION}.power"]),
    "non-numeric": (_microwave(power="abc W"), [f"{SESSION}.power"]),
    # the user's text is quoted verbatim, even where it reads like console markup
    "bracketed-value": (_heat(**{"source/power": "[red]5 W"}), ["[red]5 W"]),
    "unbalanced-bracket-value": (_heat(**{"source/power": "[/red]5 W"}),
                                 [f"{SESSION}.sources[0].power", "[/red]5 W"]),
    "tip-outside-grid": (_microwave(tip=["0 mm", "0 mm", "30 mm"]),
                         [f"{SESSION}.applicators[0].tip"]),
    "tumor-outside-grid": (
        _heat(**{"top/anatomy": {"tumors": [{"name": "t1", "center": ["30 mm", "0 mm", "0 mm"],
                                             "radius": "3 mm"}]}}),
        ["anatomy.tumors[0].center"],
    ),
    "empty-file": ("", ["empty"]),
    "malformed-yaml": ("name: tiny\ngrid: {size: [16 mm, 16 mm\n", ["malformed YAML", "line"]),
    "grid-too-large": (_heat(**{"top/grid": {"size": ["4000 mm"] * 3, "spacing": "0.1 mm"}}),
                       ["grid:", "voxels"]),
    "missing-file": (None, ["no such file"]),
    "unknown-modality": (_heat(**{"session/modality": "laser"}),
                         [f"{SESSION}.modality", "laser"]),
    "not-whole-voxels": (_heat(**{"top/grid": {"size": ["16.5 mm"] * 3, "spacing": "1 mm"}}),
                         ["grid.size"]),
    "unknown-tissue-preset": (_heat(**{"top/tissue": "kidney"}), ["tissue.preset", "kidney"]),
    "bad-tissue-override": (
        _heat(**{"top/tissue": {"preset": "liver", "parameters": {"perfusion_rate": "5 mm"}}}),
        ["tissue.parameters.perfusion_rate"],
    ),
    "vessel-thinner-than-voxel": (
        _heat(**{"top/anatomy": {"vessels": [{"name": "v1", "start": ["-8 mm", "0 mm", "0 mm"],
                                              "end": ["8 mm", "0 mm", "0 mm"],
                                              "radius": "0.3 mm"}]}}),
        ["anatomy.vessels[0].radius", "v1"],
    ),
}  # fmt: skip


def _write(tmp_path: Path, scenario) -> Path:
    path = tmp_path / "case.yaml"
    if scenario is None:
        return path  # never written: the missing file
    path.write_text(scenario if isinstance(scenario, str) else yaml.safe_dump(scenario))
    return path


def _invoke(*args: str):
    return CliRunner().invoke(app, list(args))


def test_the_base_scenarios_are_valid(tmp_path):
    """Each bad case below differs from a valid scenario by its one defect."""
    for data in (HEAT, _microwave()):
        path = tmp_path / "ok.yaml"
        path.write_text(yaml.safe_dump(data))
        build_tissue(load_scenario(path), str(path))


@pytest.mark.parametrize(("scenario", "fragments"), CASES.values(), ids=CASES.keys())
def test_bad_input_exits_2_with_one_line_naming_key_and_file(
    tmp_path, scenario, fragments, error_line
):
    path = _write(tmp_path, scenario)
    result = _invoke("run", str(path), "-o", str(tmp_path / "results" / "run"))
    assert result.exit_code == 2, result.output
    line = error_line(result)
    assert str(path) in line
    for fragment in fragments:
        assert fragment in line, line


@pytest.mark.parametrize(("scenario", "fragments"), CASES.values(), ids=CASES.keys())
def test_bad_input_writes_nothing(tmp_path, scenario, fragments):
    del fragments
    path = _write(tmp_path, scenario)
    out = tmp_path / "results" / "run"
    result = _invoke("run", str(path), "-o", str(out))
    assert result.exit_code == 2, result.output
    assert not out.exists()
    # neither the output folder, a partial sibling, nor the folder to hold them was created
    assert sorted(p.name for p in tmp_path.iterdir()) == ([path.name] if path.exists() else [])


def test_existing_foreign_output_folder_is_refused_and_left_untouched(tmp_path, error_line):
    path = _write(tmp_path, HEAT)
    foreign = tmp_path / "thesis"
    (foreign / "chapters").mkdir(parents=True)
    (foreign / "notes.txt").write_text("do not delete\n")
    (foreign / "chapters" / "one.tex").write_text("\\chapter{One}\n")
    before = sorted((p.relative_to(foreign).as_posix(), p.stat().st_mtime_ns)
                    for p in foreign.rglob("*"))  # fmt: skip
    result = _invoke("run", str(path), "-o", str(foreign))
    assert result.exit_code == 2, result.output
    line = error_line(result)
    assert "-o" in line
    assert str(foreign) in line
    after = sorted((p.relative_to(foreign).as_posix(), p.stat().st_mtime_ns)
                   for p in foreign.rglob("*"))  # fmt: skip
    assert after == before
    assert (foreign / "notes.txt").read_text() == "do not delete\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["case.yaml", "thesis"]


def test_unknown_strategy_is_a_one_line_error(tmp_path, error_line):
    path = _write(tmp_path, HEAT)
    result = _invoke("run", str(path), "-o", str(tmp_path / "out"), "--strategy", "nope")
    assert result.exit_code == 2
    line = error_line(result)
    assert "strategies" in line
    assert "nope" in line
    assert not (tmp_path / "out").exists()
