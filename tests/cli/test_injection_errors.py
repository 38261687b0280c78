"""Bad injection input on the command line: exit code 2, one line naming the file, the key and
the reason, and nothing written to disk (the checks run before any simulation)."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from tissuefate.cli import app
from tissuefate.course.controller import build_tissue, check_agents
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
SESSION: dict[str, Any] = {
    "modality": "injection",
    "agent": "ethanol",
    "sites": [{"tip": ["0 mm", "0 mm", "0 mm"], "direction": [0, 0, -1], "volume": "0.2 mL"}],
    "observe": "1 min",
}
KEY = "strategies.s.sessions[0]"
GOOD_AGENT = (
    Path(__file__).parents[2] / "src/tissuefate/modalities/agents/ethanol.yaml"
).read_text()


def _scenario(**changes: Any) -> dict[str, Any]:
    """The base scenario with ``changes`` to the session (``site/...`` for its first site)."""
    data = copy.deepcopy(BASE)
    session = copy.deepcopy(SESSION)
    data["strategies"] = {"s": {"sessions": [session]}}
    for path, value in changes.items():
        part, leaf = path.split("/")
        (session if part == "session" else session["sites"][0])[leaf] = value
    return data


# name -> (scenario, agent file to write beside it or None, fragments of the error line)
CASES = {
    "zero-volume": (_scenario(**{"site/volume": "0 mL"}), None,
                    [f"{KEY}.sites[0].volume", "greater than zero"]),
    "negative-volume": (_scenario(**{"site/volume": "-1 mL"}), None,
                        [f"{KEY}.sites[0].volume", "greater than zero"]),
    "rate-above-maximum": (_scenario(**{"session/rate": "20 mL/min"}), None,
                           [f"{KEY}.rate", "faster than any needle injection"]),
    "tip-outside-grid": (_scenario(**{"site/tip": ["0 mm", "0 mm", "30 mm"]}), None,
                         [f"{KEY}.sites[0].tip", "from the grid centre along z"]),
    "tip-inside-vessel": (_scenario(**{"site/tip": ["0 mm", "8 mm", "0 mm"]}), None,
                          [f"{KEY}.sites[0].tip", "lies inside vessel v1"]),
    "unknown-agent": (_scenario(**{"session/agent": "bleach"}), None,
                      [f"{KEY}.agent", "unknown agent 'bleach'", "chlorine_dioxide_literature"]),
    "unknown-agent-parameter": (
        _scenario(**{"session/agent_parameters": {"potency": "2"}}), None,
        [f"{KEY}.agent_parameters.potency", "unknown agent parameter"]),
    "bad-agent-parameter-value": (
        _scenario(**{"session/agent_parameters": {"washout_factor": "-1"}}), None,
        [f"{KEY}.agent_parameters.washout_factor", "must not be negative"]),
    "agent-file-missing-parameter": (
        _scenario(**{"session/agent": "my_agent.yaml"}),
        GOOD_AGENT.replace("  kill_exponent:\n    value: 4.4\n", "  _dropped:\n    value: 4.4\n")
        .replace("  _dropped:", "  kill_exponent_typo:"),
        ["my_agent.yaml", "parameters.kill_exponent_typo", "unknown parameter"]),
    "agent-file-lacks-required": (
        _scenario(**{"session/agent": "my_agent.yaml"}),
        "\n".join(line for line in GOOD_AGENT.splitlines()
                  if not line.startswith(("  kill_exponent:", "    value: 4.4"))),
        ["my_agent.yaml", "lacks required parameters: kill_exponent"]),
    "agent-file-missing": (_scenario(**{"session/agent": "nowhere.yaml"}), None,
                           [f"{KEY}.agent", "cannot read agent file"]),
}  # fmt: skip


def test_the_base_scenario_is_valid(tmp_path: Path) -> None:
    path = tmp_path / "case.yaml"
    path.write_text(yaml.safe_dump(_scenario()))
    scenario = load_scenario(path)
    build_tissue(scenario, str(path))
    assert check_agents(scenario, str(path))["s"][0].name == "ethanol"


def test_an_agent_file_beside_the_scenario_is_found(tmp_path: Path) -> None:
    (tmp_path / "my_agent.yaml").write_text(GOOD_AGENT.replace("name: ethanol", "name: mine"))
    path = tmp_path / "case.yaml"
    path.write_text(yaml.safe_dump(_scenario(**{"session/agent": "my_agent.yaml"})))
    assert check_agents(load_scenario(path), str(path))["s"][0].name == "mine"


@pytest.mark.parametrize(("scenario", "agent_file", "fragments"), CASES.values(), ids=CASES.keys())
def test_bad_injection_input_exits_2_with_one_line(
    tmp_path: Path,
    scenario: dict[str, Any],
    agent_file: str | None,
    fragments: list[str],
    error_line,
) -> None:
    path = tmp_path / "case.yaml"
    path.write_text(yaml.safe_dump(scenario))
    if agent_file is not None:
        (tmp_path / "my_agent.yaml").write_text(agent_file)
    out = tmp_path / "results" / "run"
    result = CliRunner().invoke(app, ["run", str(path), "-o", str(out)])
    assert result.exit_code == 2, result.output
    line = error_line(result)
    for fragment in fragments:
        assert fragment in line, line
    assert not out.exists()
