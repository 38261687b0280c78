"""The course controller: pauses change nothing, checkpoints resume and branch bit for bit, a
killed run resumes to the same outputs, and policies stop for the right reason."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import xarray as xr

from tissuefate.course.controller import latest_checkpoint, simulate
from tissuefate.course.state import PARTS
from tissuefate.errors import ScenarioError
from tissuefate.io.jsonio import to_jsonable
from tissuefate.scenario import loads_scenario

#: Summary keys that hold wall-clock times (they differ between any two runs).
WALL = {
    "wall_time_s",
    "pressure_s",
    "source_update_s",
    "kernel_load_s",
    "solve_s",
    "advect_s",
    "total_s",
}

COURSE = """
name: course-small
seed: 3
grid: {size: [30 mm, 30 mm, 30 mm], spacing: 1 mm}
anatomy:
  tumors: [{name: t1, shape: sphere, center: [0 mm, 0 mm, 0 mm], radius: 6 mm, preset: hcc}]
strategies:
  weekly:
    policy:
      kind: repeat_until_clear
      first_day: 1 d
      every: 7 d
      max_sessions: 2
      session: {modality: injection, agent: ethanol, observe: 10 min}
      dose: {fraction_of_visible_volume: 0.3, rate: 30 mL/h}
  once:
    sessions:
      - day: 1
        modality: injection
        agent: acetic_acid
        sites: [{tip: [0 mm, 0 mm, 0 mm], direction: [0, 0, -1], volume: 0.4 mL}]
        rate: 30 mL/h
        observe: 10 min
follow_up: 20 d
repair: {step: 12 h}
imaging: {every: 10 d}
outputs: {snapshots: [SNAPSHOTS], checkpoint_every: EVERY}
"""


def _scenario(snapshots: str = "28 d", every: str = "1000 d", text: str = COURSE):
    return loads_scenario(text.replace("SNAPSHOTS", snapshots).replace("EVERY", every))


def _plain(summary: dict) -> str:
    """The summary as its JSON text, without wall-clock times and the checkpoint list."""

    def strip(obj):
        if isinstance(obj, dict):
            return {k: strip(v) for k, v in obj.items() if k not in WALL and k != "checkpoints"}
        if isinstance(obj, list):
            return [strip(v) for v in obj]
        return obj

    return json.dumps(strip(to_jsonable(summary)), sort_keys=True)


def _assert_same(a, b) -> None:
    assert _plain(a.summary) == _plain(b.summary)
    assert a.timeseries.equals(b.timeseries)
    assert a.session_timeseries.equals(b.session_timeseries)
    assert list(a.fields.data_vars) == list(b.fields.data_vars)
    for name in a.fields.data_vars:
        assert np.array_equal(a.fields[name].values, b.fields[name].values, equal_nan=True), name


@pytest.fixture(scope="module")
def whole(tmp_path_factory):
    """The weekly strategy run whole, with a checkpoint every 4 days."""
    folder = tmp_path_factory.mktemp("whole") / "checkpoints"
    result = simulate(_scenario(every="4 d"), "weekly", checkpoints=folder)
    return result, folder


@pytest.mark.slow
def test_pauses_snapshots_and_checkpoints_change_nothing(whole):
    result, _ = whole
    bare = simulate(_scenario(), "weekly")
    paused = simulate(_scenario("3 d, 7.3 d, 12.25 d, 28 d", every="2.5 d"), "weekly")
    for other in (bare, paused):
        assert other.timeseries.equals(result.timeseries)
        last = other.fields.isel(snapshot=-1)
        for name in ("tumor", "normal", "coagulated", "debris", "collagen", "vessels"):
            np.testing.assert_array_equal(last[name], result.fields.isel(snapshot=-1)[name])
    # the snapshots off the 12 h step grid are taken at the next step end, and say so
    labels = list(paused.fields["snapshot_label"].values)
    assert {"day 3", "day 7.5", "day 12.5"} <= set(labels)


@pytest.mark.slow
def test_resume_from_every_checkpoint_equals_the_uninterrupted_run(whole, tmp_path):
    result, folder = whole
    names = sorted(p.name for p in folder.iterdir() if p.name != PARTS)
    assert any("session" in n for n in names)
    assert any("session" not in n for n in names)
    for name in names:
        only = tmp_path / name / "checkpoints"
        shutil.copytree(folder / name, only / name)
        shutil.copytree(folder / PARTS, only / PARTS)  # the history every checkpoint shares
        resumed = simulate(_scenario(every="4 d"), "weekly", checkpoints=only, resume=True)
        _assert_same(resumed, result)


@pytest.mark.slow
def test_a_branch_that_repeats_the_strategy_equals_the_whole_run(whole):
    result, folder = whole
    after_first = next(p for p in sorted(folder.iterdir()) if p.name.endswith("session-1"))
    branched = simulate(_scenario(every="4 d"), "weekly", start_from=after_first)
    _assert_same(branched, result)


def test_a_branch_into_another_strategy_keeps_the_history(whole):
    result, folder = whole
    after_first = next(p for p in sorted(folder.iterdir()) if p.name.endswith("session-1"))
    # the 'once' strategy's only session (day 1) is the day of the checkpoint, after a session:
    # it is not given again, so the branch is session 1 of 'weekly' followed by repair alone
    branched = simulate(_scenario(every="4 d"), "once", start_from=after_first)
    assert len(branched.summary["sessions"]) == 1
    assert branched.summary["sessions"][0] == result.summary["sessions"][0]
    assert branched.summary["strategy"] == "once"
    assert branched.summary["outcome"]["stop_reason"] == "schedule_complete"
    day1 = result.timeseries[result.timeseries["day"] <= 1.0]
    assert branched.timeseries.iloc[: len(day1)].equals(day1)
    # the weekly course went on to a second session, so the two now differ
    assert not branched.timeseries.equals(result.timeseries)


def test_a_checkpoint_of_another_anatomy_is_refused(whole):
    _, folder = whole
    other = COURSE.replace("radius: 6 mm", "radius: 5 mm")
    with pytest.raises(ScenarioError, match="anatomy") as info:
        simulate(_scenario(text=other), "weekly", start_from=latest_checkpoint(folder))
    assert info.value.key == "--from"


def test_resume_needs_a_checkpoint_of_the_same_scenario(whole, tmp_path):
    _, folder = whole
    with pytest.raises(ScenarioError, match="no checkpoint"):
        simulate(_scenario(), "weekly", checkpoints=tmp_path / "none", resume=True)
    with pytest.raises(ScenarioError, match="belongs to scenario"):
        simulate(_scenario(), "once", checkpoints=folder, resume=True)


KILLED = """
import os, signal, sys
from tissuefate.course.controller import Observer, simulate
from tissuefate.scenario import load_scenario

class Kill(Observer):  # SIGKILL in the middle of a repair interval, after a checkpoint
    def stepped(self, course, state):
        if state.day >= {day} and len(state.checkpoints) >= 3:
            os.kill(os.getpid(), signal.SIGKILL)

simulate(load_scenario(sys.argv[1]), "weekly", checkpoints=sys.argv[2], observers=[Kill()])
"""


def _python(code: list[str], expect: int = 0) -> None:
    """Run ``python CODE...`` in a fresh process; fail with its stderr unless it exits ``expect``
    (negative: killed by that signal)."""
    proc = subprocess.run(  # noqa: PLW1510 (the exit status is the point)
        [sys.executable, *code],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
    )
    assert proc.returncode == expect, proc.stderr[-3000:]


@pytest.mark.slow
def test_a_killed_run_resumes_to_the_same_outputs(tmp_path):
    # Every run here is a process of its own that loads the compiled kernels from the disk cache:
    # code numba has just compiled in a process can differ in the last bit of a vectorised sum
    # from the same code loaded from the cache (measured on this machine: 1 ulp in an injection
    # ledger), so a warm-up run fills the cache first and no run compares the two kinds.
    path = tmp_path / "course.yaml"
    path.write_text(COURSE.replace("SNAPSHOTS", "5 d, 15 d, 28 d").replace("EVERY", "3 d"))
    cli = ["-m", "tissuefate.cli", "run", str(path), "--strategy", "weekly", "-q", "-o"]
    _python([*cli, str(tmp_path / "warm-up")])
    whole = tmp_path / "whole"
    _python([*cli, str(whole)])
    killed = tmp_path / "killed"
    code = textwrap.dedent(KILLED).format(day=11.3)
    _python(["-c", code, str(path), str(killed / "checkpoints")], expect=-signal.SIGKILL)
    last = latest_checkpoint(killed / "checkpoints")
    assert last is not None
    assert "session" not in last.name  # mid-repair, days after session 2
    _python([*cli, str(killed), "--resume"])

    def summary(folder):
        return _plain(json.loads((folder / "summary.json").read_text()))

    assert summary(killed) == summary(whole)
    for name in ("timeseries.csv", "session_timeseries.csv", "scenario.yaml"):
        assert (killed / name).read_bytes() == (whole / name).read_bytes(), name
    a = xr.open_zarr(killed / "fields.zarr")
    b = xr.open_zarr(whole / "fields.zarr")
    for name in a.data_vars:
        assert np.array_equal(a[name].values, b[name].values, equal_nan=True), name
    assert (killed / "checkpoints").is_dir()  # kept with the outputs, for a later branch


# -- policies ------------------------------------------------------------------------------------
POLICY = """
name: policy-stop
grid: {size: [28 mm, 28 mm, 28 mm], spacing: 1 mm}
anatomy:
  tumors: [{name: t1, shape: sphere, center: [0 mm, 0 mm, 0 mm], radius: RADIUS, preset: hcc}]
strategies:
  p:
    policy:
      kind: repeat_until_clear
      every: 7 d
      max_sessions: MAX
      session: {modality: injection, agent: ethanol, observe: 10 min}
      dose: {fraction_of_visible_volume: 0.3, rate: 30 mL/h}
      EXTRA
follow_up: 10 d
repair: {step: 1 d}
"""


def _policy(radius="6 mm", most=1, extra=""):
    text = POLICY.replace("RADIUS", radius).replace("MAX", str(most)).replace("EXTRA", extra)
    return simulate(loads_scenario(text)).summary


@pytest.mark.parametrize(
    ("radius", "most", "extra", "reason", "used"),
    [
        ("6 mm", 1, "", "max_sessions", 1),
        ("3 mm", 3, "", "no_visible_tumor", 0),  # 6 mm across: below the 7.68 mm threshold
        ("6 mm", 4, "normal_lost_budget: 0.01 mL", "normal_tissue_budget", 1),
        ("6 mm", 4, "systemic_dose_budget: 0.1 mmol", "systemic_dose_budget", 1),
    ],
)
def test_each_policy_stops_for_its_reason(radius, most, extra, reason, used):
    summary = _policy(radius, most, extra)
    outcome = summary["outcome"]
    assert outcome["stop_reason"] == reason
    assert outcome["sessions_used"] == used
    assert summary["policy"]["stop_reason"] == reason
    # every decision scanned first: the baseline scan plus one per decision day
    decisions = [s for s in summary["scans"] if s["reason"] != "follow-up"]
    assert len(decisions) == used + 1
    assert outcome["days"] == (10.0 if used == 0 else 7.0 * (used - 1) + 10.0)


def test_the_dose_rule_injects_its_fraction_of_the_visible_volume_inside_the_lesion():
    summary = _policy("6 mm", 1)
    scan = summary["scans"][0]
    visible = sum(lesion["volume_ml"] for lesion in scan["lesions"] if lesion["visible"])
    planned = summary["sessions"][0]["planned"]
    assert planned["volume_ml"] == pytest.approx(0.3 * visible, rel=1e-12)
    assert "not a dosing recommendation" in planned["note"]
    for site in planned["sites"]:
        assert np.linalg.norm(site["tip_mm"]) <= 6.0  # inside the tumour


RETREAT = """
name: retreat
grid: {size: [40 mm, 40 mm, 40 mm], spacing: 1 mm}
anatomy:
  tumors: [{name: t1, shape: sphere, center: [0 mm, 0 mm, 0 mm], radius: 9 mm, preset: hcc}]
tissue:
  preset: liver
  parameters: {hcc.volume_doubling_time: 10 d}
strategies:
  mwa:
    policy:
      kind: ablate_visible
      every: 30 d
      max_sessions: 1
      margin: 3 mm
      max_duration: 1 min
      session:
        modality: microwave
        applicators: [{antenna: dual_slot}]
        power: 5 W
      on_local_progression: {retreat: true, max: 1}
follow_up: 60 d
repair: {step: 1 d}
imaging: {every: 10 d}
"""


@pytest.mark.slow
def test_ablate_visible_reports_an_undercovered_target_and_retreats_local_progression():
    summary = simulate(loads_scenario(RETREAT)).summary
    first, second = summary["sessions"]
    # 5 W for at most 1 min cannot cover an 18 mm tumour + 3 mm: said, not hidden
    assert first["planned"]["predicted_covered"] is False
    assert "max_duration" in first["planned"]["reason"]
    assert first["planned"]["duration_s"] == 60.0
    assert first["planned"]["margin_reached_mm"] < 0
    # the survivors regrow (10-day doubling); the re-treatment comes at the first follow-up scan
    # after the stop (day 30) where the visible tumour is 1.2**3 times its low since session 1
    scans = {s["day"]: s["visible_ml"] for s in summary["scans"]}
    low = min(scans[d] for d in (10.0, 20.0, 30.0))
    assert scans[40.0] >= 1.2**3 * low
    assert second["day"] == 40.0
    assert second["retreatment"] is True
    assert first["retreatment"] is False
    assert summary["policy"]["retreats"] == 1
    assert summary["outcome"]["stop_reason"] == "max_sessions"
    assert summary["outcome"]["days"] == 100.0  # 60 days of follow-up after the re-treatment


@pytest.mark.slow
def test_with_a_history_folder_the_recorded_fields_stream_to_disk(whole, tmp_path):
    from tissuefate.course.controller import Course, prepare
    from tissuefate.io.checkpoint import OnDisk

    result, _ = whole
    course = Course(prepare(_scenario(every="4 d"), "weekly"))
    state = course.start()
    state.history = tmp_path / PARTS
    state = course.run(state)
    # only references stay in memory once the baseline is recorded
    streamed = [snap for _, _, snap in state.snapshots[1:]] + state.session_fields
    assert all(isinstance(entry, OnDisk) for entry in streamed)
    maps = [m for m in state.scan_maps if isinstance(m, OnDisk)]  # all but the baseline's
    assert len(maps) == len(state.scan_maps) - 1
    assert len(list((tmp_path / PARTS).glob("*.npz"))) == len(streamed) + len(maps)
    fields = course.result(state).fields
    for name in ("tumor", "collagen", "damage", "ablation_zone", "treatability_perfusion"):
        np.testing.assert_array_equal(fields[name].values, result.fields[name].values, name)
    # a lazily read slice is the same as a slice of the whole
    np.testing.assert_array_equal(
        fields["tumor"].isel(snapshot=-1, x=slice(3, 9)).values,
        result.fields["tumor"].isel(snapshot=-1, x=slice(3, 9)).values,
    )


SMALL_GRID_MWA = """
name: small-grid-mwa
grid: {size: [24 mm, 24 mm, 24 mm], spacing: 2 mm}
tissue: liver
anatomy:
  tumors: [{name: t1, shape: sphere, center: [0 mm, 0 mm, 0 mm], radius: 4 mm, preset: hcc}]
strategies:
  mwa:
    sessions:
      - {modality: microwave, power: 30 W, duration: 1 min,
         applicators: [{tip: [0 mm, 0 mm, -7 mm], direction: [0, 0, -1], antenna: dual_slot}]}
"""


def test_the_summary_notes_a_grid_too_small_for_the_microwave_power():
    """A 24 mm grid holds about half of what the antenna's pattern deposits: the rest is absorbed
    beyond its faces, booked as leaving the grid and said in the notes with its share."""
    summary = simulate(loads_scenario(SMALL_GRID_MWA)).summary
    delivered = summary["sessions"][0]["delivered"]
    beyond, inside = delivered["beyond_grid_energy_j"], delivered["energy_j"]
    share = beyond / (beyond + inside)
    assert 0.2 < share < 0.8
    parts = delivered["line_loss_j"] + delivered["reflected_energy_j"] + beyond + inside
    assert parts == pytest.approx(delivered["generator_energy_j"], rel=1e-6)
    notes = [n for n in summary["notes"] if "beyond the grid's faces" in n]
    assert len(notes) == 1
    assert f"{share:.0%}" in notes[0]
