"""The tissue mechanics in a course: off holds the tissue in place, on moves it while conserving
every constituent over a half-year course but for the modelled sources, and the outputs carry
the displacement."""

from __future__ import annotations

from importlib import resources

import numpy as np
import pytest
import yaml

from tissuefate.biology import mechanics as bm
from tissuefate.course.controller import simulate
from tissuefate.scenario import loads_scenario

EXAMPLES = resources.files("tissuefate") / "examples"

COURSE = """
name: mechanics-course
grid: {{size: [28 mm, 28 mm, 28 mm], spacing: 1 mm}}
tissue: liver
strategies:
  s:
    sessions:
      - modality: injection
        agent: ethanol
        sites: [{{tip: [0.3 mm, 0.2 mm, 0.1 mm], direction: [0, 0, -1], volume: 0.3 mL}}]
        observe: 10 min
follow_up: {days} d
repair: {{mechanics: {{enabled: {enabled}}}}}
outputs: {{snapshots: [{days} d], figures: false, report: false}}
"""


def _run(days: float, enabled: bool):
    text = COURSE.format(days=f"{days:g}", enabled=str(enabled).lower())
    return simulate(loads_scenario(text, "mechanics course"))


def test_off_never_moves_the_tissue(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("the mechanics ran although it is off")

    monkeypatch.setattr(bm.Mechanics, "step", refuse)
    result = _run(20, False)
    last = result.fields.isel(snapshot=-1)
    for name in ("displacement_x", "displacement_y", "displacement_z"):
        assert not np.asarray(last[name].values).any()
    assert result.summary["repair"]["mechanics"] == {"enabled": False}
    outcome = result.summary["outcome"]
    assert outcome["largest_displacement_mm"] == 0.0
    assert outcome["lesion_shift_mm"] == 0.0


@pytest.mark.slow
def test_a_half_year_course_conserves_every_constituent_but_for_the_modelled_sources(monkeypatch):
    """Each mechanics interval changes the total of every constituent by exactly its swelling
    and what crossed the box's faces (to the float32 rounding of the stored fields); the
    reactions of the repair kernel are the only other sources and sinks."""
    ledger: list[np.ndarray] = []
    original = bm.Mechanics._move

    def checked(self, state, box, dt, stats, sources, tracers=()):
        before = np.array([getattr(state, n).sum(dtype=np.float64) for n in bm.VOLUMES])
        step = original(self, state, box, dt, stats, sources, tracers)
        after = np.array([getattr(state, n).sum(dtype=np.float64) for n in bm.VOLUMES])
        ledger.append(after - before - step.swelling - step.boundary)
        # float32 storage rounds each voxel by at most 3e-8: typically 1e-5 over a box
        np.testing.assert_allclose(after - before, step.swelling + step.boundary, atol=1e-4)
        assert state.occupied().max() <= 1.0 + 1e-5
        return step

    monkeypatch.setattr(bm.Mechanics, "_move", checked)
    result = _run(180, True)
    assert len(ledger) > 100  # it moved on most days
    drift = np.abs(np.sum(ledger, axis=0))
    assert drift.max() < 1e-3  # voxel fractions summed over the grid (1 mL = 1000 voxels)
    mech = result.summary["repair"]["mechanics"]
    assert mech["enabled"] is True
    assert mech["pressure_solves"] == len(ledger)
    last = result.fields.isel(snapshot=-1)
    u = np.sqrt(sum(np.asarray(last[f"displacement_{a}"].values) ** 2 for a in "xyz"))
    assert u.max() == pytest.approx(result.summary["outcome"]["largest_displacement_mm"], rel=1e-6)
    assert u.max() > 0.0
    assert "lesion_scan_ml" in result.timeseries


@pytest.mark.slow
def test_the_essay_injection_still_regenerates_with_the_tissue_moving():
    """``examples/clo2_essay.yaml`` (chlorine_dioxide_essay: low immunogenicity, matrix kept,
    debris) with two months of follow-up on a coarser grid: what it killed is cleared and the
    room refills, no scar forms, and the mechanics was on while it did."""
    raw = yaml.safe_load((EXAMPLES / "clo2_essay.yaml").read_text())
    raw["grid"] = {"size": ["36 mm"] * 3, "spacing": "1.5 mm"}
    raw["follow_up"] = "60 d"
    raw["outputs"] = {"figures": False, "report": False}
    result = simulate(loads_scenario(yaml.safe_dump(raw), "clo2_essay.yaml"))
    ts = result.timeseries
    after = ts[ts["event"] == "session 1 end"].iloc[-1]
    assert after["necrotic_ml"] > 0.2  # the session killed something to repair
    assert ts["scar_ml"].max() == 0.0
    assert result.summary["outcome"]["scar_ml"] == 0.0
    assert ts["necrotic_ml"].iloc[-1] < 0.05 * after["necrotic_ml"]  # cleared
    # the room refills (the zone a scan outlines shrinks) with little collagen laid in it
    assert ts["lesion_scan_ml"].iloc[-1] < 0.7 * after["lesion_scan_ml"]
    assert ts["collagen_ml"].iloc[-1] < 0.15 * after["necrotic_ml"]
    assert result.summary["repair"]["mechanics"]["enabled"]
