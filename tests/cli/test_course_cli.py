"""The command line of courses: every input checked before any work, resume, branch, --jobs."""

from __future__ import annotations

import json

import numba
import pytest
from typer.testing import CliRunner

from tissuefate import __version__
from tissuefate.cli import app
from tissuefate.course.runner import default_jobs

HEAT = """
name: NAME
grid: {size: [16 mm, 16 mm, 16 mm], spacing: 1 mm}
anatomy:
  tumors: [{name: t1, shape: sphere, center: [0 mm, 0 mm, 0 mm], radius: 3 mm}]
THERMAL
strategies:
  weak:
    sessions:
      - {modality: heat_source, duration: 20 s, cooldown: 0 s,
         sources: [{shape: sphere, center: [0 mm, 0 mm, 0 mm], radius: 2 mm, power: 0.5 W}]}
  strong:
    sessions:
      - {modality: heat_source, duration: 20 s, cooldown: 0 s,
         sources: [{shape: sphere, center: [0 mm, 0 mm, 0 mm], radius: 2 mm, power: 2 W}]}
      - {day: 2, modality: heat_source, duration: 20 s, cooldown: 0 s,
         sources: [{shape: sphere, center: [2 mm, 0 mm, 0 mm], radius: 2 mm, power: 2 W}]}
follow_up: 3 d
repair: {step: 12 h}
outputs: {figures: false, report: false}
"""

runner = CliRunner()


def _write(tmp_path, name="heat", thermal="", file="s.yaml"):
    path = tmp_path / file
    path.write_text(HEAT.replace("NAME", name).replace("THERMAL", thermal), encoding="utf-8")
    return path


def test_version():
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.output.strip() == f"tissuefate {__version__}"


@pytest.mark.parametrize(
    ("args", "thermal", "fragments"),
    [
        (["--impl", "bogus"], "", ["--impl", "unknown kernel implementation 'bogus'"]),
        ([], "thermal: {time_step: 5 s}", ["s.yaml", "thermal.time_step", "stability limit"]),
        (["--resume"], "", ["--resume", "no checkpoint"]),
        (["--from", "nowhere"], "", ["--from", "not a tissuefate checkpoint"]),
    ],
)
def test_bad_input_is_one_line_exit_2_and_writes_nothing(
    tmp_path, error_line, args, thermal, fragments
):
    path = _write(tmp_path, thermal=thermal)
    out = tmp_path / "out"
    result = runner.invoke(
        app, ["run", str(path), "-o", str(out), "--strategy", "weak", "-q", *args]
    )
    assert result.exit_code == 2, result.output
    line = error_line(result)
    for fragment in fragments:
        assert fragment in line
    assert not out.exists()


def test_an_output_folder_of_another_scenario_needs_overwrite(tmp_path, error_line):
    out = tmp_path / "out"
    first = _write(tmp_path, name="first", file="a.yaml")
    second = _write(tmp_path, name="second", file="b.yaml")
    args = ["--strategy", "weak", "-q"]
    assert runner.invoke(app, ["run", str(first), "-o", str(out), *args]).exit_code == 0
    refused = runner.invoke(app, ["run", str(second), "-o", str(out), *args])
    assert refused.exit_code == 2
    assert "holds the outputs of scenario 'first'" in error_line(refused)
    assert json.loads((out / "summary.json").read_text())["scenario"] == "first"  # untouched
    again = runner.invoke(app, ["run", str(first), "-o", str(out), *args])  # same scenario: fine
    assert again.exit_code == 0
    forced = runner.invoke(app, ["run", str(second), "-o", str(out), "--overwrite", *args])
    assert forced.exit_code == 0, forced.output
    assert json.loads((out / "summary.json").read_text())["scenario"] == "second"


def test_compare_finds_a_name_clash_before_any_work(tmp_path, error_line):
    one = _write(tmp_path, file="a.yaml")
    two = _write(tmp_path, file="b.yaml")
    out = tmp_path / "cmp"
    result = runner.invoke(app, ["compare", str(one), str(two), "-o", str(out), "-q"])
    assert result.exit_code == 2
    assert "would both be called 'heat-weak'" in error_line(result)
    assert not out.exists()


def test_a_branch_from_the_command_line_keeps_the_history(tmp_path):
    path = _write(tmp_path)
    first = tmp_path / "strong"
    args = ["-q"]
    assert (
        runner.invoke(
            app, ["run", str(path), "-o", str(first), "--strategy", "strong", *args]
        ).exit_code
        == 0
    )
    checkpoints = sorted((first / "checkpoints").iterdir())
    after_one = next(p for p in checkpoints if p.name.endswith("session-1"))
    branch = tmp_path / "branch"
    result = runner.invoke(
        app,
        [
            "run",
            str(path),
            "-o",
            str(branch),
            "--strategy",
            "weak",
            "--from",
            str(after_one),
            *args,
        ],
    )
    assert result.exit_code == 0, result.output
    mine = json.loads((branch / "summary.json").read_text())
    whole = json.loads((first / "summary.json").read_text())
    # session 1 of 'strong' is kept; 'weak' has no session after day 0, so repair goes on alone
    assert len(mine["sessions"]) == 1
    assert mine["sessions"][0]["delivered"] == whole["sessions"][0]["delivered"]
    assert mine["outcome"]["days"] == 3.0
    assert whole["outcome"]["days"] == 5.0


@pytest.mark.slow
def test_compare_in_two_processes_gives_the_same_results_as_in_one(tmp_path):
    path = _write(tmp_path)
    summaries = {}
    for jobs in ("1", "2"):
        out = tmp_path / f"jobs{jobs}"
        result = runner.invoke(app, ["compare", str(path), "-o", str(out), "-q", "--jobs", jobs])
        assert result.exit_code == 0, result.output
        comparison = json.loads((out / "comparison.json").read_text())["strategies"]
        # never oversubscribed: each of the workers runs its kernels on cores / workers threads
        expected = min(max(1, default_jobs() // int(jobs)), numba.config.NUMBA_NUM_THREADS)
        for summary in comparison.values():
            assert summary.pop("kernel_threads") == expected
            summary.pop("wall_time_s")
            for session in summary["sessions"]:
                for key in ("wall_time_s", "source_update_s", "kernel_load_s"):
                    session["solver"].pop(key, None)
            summary.get("repair", {}).pop("wall_time_s", None)
            for key in ("solve_s", "advect_s", "total_s"):  # timings, not results
                summary.get("repair", {}).get("mechanics", {}).pop(key, None)
        summaries[jobs] = comparison
        assert (out / "weak" / "checkpoints").is_dir()
    assert summaries["1"] == summaries["2"]


def test_a_policy_that_plans_an_impossible_session_is_a_one_line_error(tmp_path, error_line):
    path = tmp_path / "big.yaml"
    path.write_text(
        """
name: big-dose
grid: {size: [60 mm, 60 mm, 60 mm], spacing: 2 mm}
anatomy:
  tumors: [{name: t1, shape: sphere, center: [0 mm, 0 mm, 0 mm], radius: 25 mm, preset: hcc}]
strategies:
  s:
    policy:
      kind: repeat_until_clear
      every: 7 d
      max_sessions: 2
      session: {modality: injection, agent: ethanol}
      dose: {fraction_of_visible_volume: 1.0, sites: 1, rate: 10 mL/min}
""",
        encoding="utf-8",
    )
    out = tmp_path / "out"
    result = runner.invoke(app, ["run", str(path), "-o", str(out), "-q"])
    assert result.exit_code == 2
    line = error_line(result)
    assert "strategies.s.policy" in line
    assert "at most 50 mL per site" in line
    assert not out.exists()
