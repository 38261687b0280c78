"""The ablate_visible planner: devices aimed at the lesion centre, the shortest covering session.

The planner searches on the grid coarsened by 2; the controller's verifying run is at full
resolution. These tests make that run themselves (``RUNNERS`` on a copy of the state) and check
the zone there. Tolerance: the search proves that the coarse zone covers the coarse target (every
2 mm block holding a fine target voxel), but the fine model's zone edge differs from the coarse
one by about a coarse voxel and ``min_margin`` is accurate to half a voxel, so the full-resolution
margin is required to reach 60 % of the margin asked (1.8 of 3 mm), and the lesion to be covered.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from tissuefate.course.controller import build_tissue
from tissuefate.course.imaging import scan
from tissuefate.course.planner import (
    CRYO_RING_RADIUS_M,
    IRE_MIN_RING_RADIUS_M,
    IRE_MIN_SPACING_M,
    NOTE,
    PlanningContext,
    aim,
    coarse_world,
    heating_offset_m,
    ire_electrodes,
    ire_targets,
    plan_ablation,
    target_mask,
)
from tissuefate.damage.zone import ZONE_OMEGA, min_margin
from tissuefate.grid.anatomy import TumorShape, build_anatomy
from tissuefate.grid.grid import Grid
from tissuefate.grid.shapes import Sphere
from tissuefate.modalities import RUNNERS, SessionContext, ThermalOptions
from tissuefate.scenario import loads_scenario
from tissuefate.scenario.course import SessionTemplate
from tissuefate.scenario.quantities import ureg
from tissuefate.tissue.state import TissueState

SCENARIO = """
name: planner
grid: {{size: [40 mm, 40 mm, 40 mm], spacing: 1 mm}}
anatomy:
  tumors: [{{name: t1, shape: sphere, center: [1 mm, -2 mm, 0 mm], radius: {radius},
             preset: {preset}}}]
strategies:
  s:
    policy:
      kind: ablate_visible
      every: 30 d
      margin: {margin}
      {extra}
      session: {session}
"""
POWER_W = 15.0
MICROWAVE = (
    f"{{modality: microwave, applicators: [{{direction: [0, 0, -1]}}], power: {POWER_W:g} W}}"
)
CRYO = (
    "{modality: cryo, probes: [{direction: [0, 0, -1], active_length: 20 mm}], "
    "protocol: [{freeze: 5 min}, {thaw: 3 min}, {freeze: 5 min}]}"
)
IRE = "{modality: ire, electrodes: [{direction: [0, 0, -1], exposure: 20 mm}], pulses: 90}"
MARGIN_MM = 3.0


def _world(session=MICROWAVE, radius="8 mm", margin=f"{MARGIN_MM} mm", extra="", preset="hcc"):
    text = SCENARIO.format(
        radius=radius, margin=margin, extra=extra, session=session, preset=preset
    )
    scenario = loads_scenario(text)
    grid, tissue, anatomy = build_tissue(scenario)
    state = TissueState.initial(anatomy)
    found, labels = scan(state.tumor, grid, 0.0)
    ctx = PlanningContext(scenario, grid, tissue, anatomy, state, ThermalOptions(), "compiled")
    return ctx, scenario.strategies["s"].policy, found.as_dict(), labels


def _fine_zone(ctx, session):
    run = SessionContext(ctx.grid, ctx.anatomy, ctx.tissue, ctx.state.copy(), ctx.options)
    return RUNNERS[session.modality](run, session, "verify").fields["damage"] >= ZONE_OMEGA


@pytest.fixture(scope="module")
def microwave_plan():
    ctx, policy, found, labels = _world()
    before = ctx.state.copy()
    session, record = plan_ablation(ctx, policy, found, labels, day=3.0)
    for name, values in before.as_dict().items():
        np.testing.assert_array_equal(getattr(ctx.state, name), values, err_msg=name)
    return ctx, policy, labels, session, record


# -- aiming ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("antenna", ["dual_slot", "monopole"])
def test_aim_puts_the_antenna_feed_at_the_lesion_centre(antenna):
    template = SessionTemplate.model_validate(
        {"modality": "microwave", "applicators": [{"antenna": antenna}], "power": "30 W"}
    )
    # both antennas centre their emitting segment 7 mm behind the tip (antennas.yaml, center)
    assert heating_offset_m(template) == pytest.approx(7e-3)
    (device,) = aim(template, [{"label": 4, "center_mm": [1.0, -2.0, 3.0]}])
    # inserted along -z by default: the tip lies 7 mm deeper (lower z) than the heating centre
    assert device == {"lesion": 4, "tip_mm": [1.0, -2.0, -4.0], "direction": [0.0, 0.0, -1.0]}


def test_aim_follows_the_template_direction_and_the_electrode_geometry():
    d = np.array([1.0, 1.0, 0.0]) / math.sqrt(2.0)
    needle = SessionTemplate.model_validate(
        {
            "modality": "radiofrequency",
            "electrodes": [{"direction": [1, 1, 0], "active_length": "30 mm"}],
            "power": "50 W",
        }
    )
    (device,) = aim(needle, [{"label": 1, "center_mm": [2.0, 0.0, 0.0]}])
    # the exposed 30 mm run back from the tip: its middle is 15 mm behind it
    np.testing.assert_allclose(device["tip_mm"], np.array([2.0, 0.0, 0.0]) + 15.0 * d, atol=1e-6)
    np.testing.assert_allclose(device["direction"], d)
    tines = SessionTemplate.model_validate(
        {
            "modality": "radiofrequency",
            "electrodes": [
                {"kind": "multi_tine", "deployed_diameter": "30 mm", "active_length": "25 mm"}
            ],
            "power": "50 W",
        }
    )
    # tines of 25 mm spread to a 15 mm radius reach 20 mm ahead of the cannula tip
    assert heating_offset_m(tines) == pytest.approx(-10e-3)


@pytest.mark.parametrize("probes", [1, 2, 3, 4])
def test_cryo_probes_stand_on_a_ring_about_the_lesion_centre(probes):
    template = SessionTemplate.model_validate(
        {"modality": "cryo", "probes": [{}], "protocol": [{"freeze": "10 min"}]}
    )
    centre = np.array([3.0, 0.0, -5.0])
    devices = aim(template, [{"label": 2, "center_mm": list(centre)}], probes=probes)
    assert len(devices) == probes
    tips = np.array([dev["tip_mm"] for dev in devices])
    # each probe freezes its 40 mm active length behind the tip; along -z its middle is 20 mm up
    middles = tips + np.array([0.0, 0.0, 20.0])
    np.testing.assert_allclose(middles.mean(axis=0), centre, atol=1e-6)
    np.testing.assert_allclose(middles[:, 2], centre[2], atol=1e-6)
    radii = np.linalg.norm(middles - centre, axis=1)
    np.testing.assert_allclose(radii, 0.0 if probes == 1 else CRYO_RING_RADIUS_M * 1e3, atol=1e-6)


# -- the coarse world -----------------------------------------------------------------------------
def test_the_search_grid_averages_blocks_and_replicates_odd_edges():
    grid = Grid((5, 4, 3), 1e-3)
    anatomy = build_anatomy(grid, [TumorShape("t", Sphere((-2e-3, 0.0, 0.0), 1.2e-3), 1)])
    state = TissueState.initial(anatomy)
    state.water[...] = np.arange(60, dtype=np.float32).reshape(5, 4, 3)
    ctx = PlanningContext(None, grid, None, anatomy, state, ThermalOptions(), "numpy")
    world = coarse_world(ctx)
    assert world.grid.shape == (3, 2, 2)
    assert world.grid.spacing == 2e-3
    assert world.grid.origin == grid.origin
    padded = np.pad(state.water, [(0, 1), (0, 0), (0, 1)], mode="edge")
    expected = padded.reshape(3, 2, 2, 2, 2, 2).mean(axis=(1, 3, 5))
    np.testing.assert_allclose(world.state.water, expected, rtol=1e-6)
    assert state.water.shape == (5, 4, 3)  # the fine state is untouched
    padded = np.pad(anatomy.tumor_fraction, [(0, 1), (0, 0), (0, 1)], mode="edge")
    expected = padded.reshape(3, 2, 2, 2, 2, 2).mean(axis=(1, 3, 5))
    np.testing.assert_allclose(world.anatomy.tumor_fraction, expected, rtol=1e-6)
    assert world.anatomy.tumor_fraction.sum() > 0


def test_the_target_is_the_lesion_grown_by_the_margin():
    labels = np.zeros((21, 21, 21), np.int32)
    labels[10, 10, 10] = 3
    labels[0, 0, 0] = 1
    target = target_mask(labels, [3], 4e-3, 1e-3)
    assert target.sum() == 257  # voxel centres within 4 voxels of one voxel (a lattice count)
    assert not target[0, 0, 0]


# -- planning a microwave session -----------------------------------------------------------------
def test_the_planned_microwave_session_covers_the_target_at_full_resolution(microwave_plan):
    ctx, policy, labels, session, record = microwave_plan
    assert session.day == 3.0
    assert session.power_w == POWER_W  # the template's power
    assert record["predicted_covered"] is True
    assert record["reason"] is None
    assert record["note"] == NOTE
    assert record["search_grid"] == {"shape": [20, 20, 20], "spacing_mm": 2.0}
    assert record["duration_s"] == session.duration_s
    assert [t["label"] for t in record["targets"]] == [1]
    assert [record["duration_s"], True] in record["tries"]
    assert all(not ok for d, ok in record["tries"] if d < record["duration_s"])
    json.dumps(record, allow_nan=False)
    zone = _fine_zone(ctx, session)
    lesion = labels == 1
    margin = min_margin(lesion, zone, 1.0)
    print(f"planned {session.duration_s:g} s; margin {margin:.2f} mm at 1 mm")
    assert margin >= 0.6 * MARGIN_MM
    uncovered = target_mask(labels, [1], policy.margin_m, 1e-3) & ~zone
    assert uncovered.sum() <= 0.01 * target_mask(labels, [1], policy.margin_m, 1e-3).sum()
    # the cooled antenna's zone grows back along the shaft: the planner aims again, deeper, so that
    # the zone (not the antenna's heating centre, 7 mm behind the tip) is centred on the lesion
    correction = record["aim_correction_mm"]["1"]
    assert correction >= 1.0  # half a search-grid voxel at least, else no second aim
    (device,) = record["devices"]
    centre = np.asarray(record["targets"][0]["center_mm"])
    expected = centre + (7.0 + correction) * np.array([0.0, 0.0, -1.0])
    np.testing.assert_allclose(device["tip_mm"], expected, atol=1e-3)  # correction rounded to µm
    # the zone is centred on the lesion: a tip placed on the wrong side of the feed moves it 14 mm
    idx = np.argwhere(zone)
    centroid = [float(ctx.grid.axes_mm()[d][idx[:, d]].mean()) for d in range(3)]
    np.testing.assert_allclose(centroid, record["targets"][0]["center_mm"], atol=2.0)


def test_the_planned_duration_is_the_shortest_that_covers(microwave_plan):
    ctx, policy, labels, session, record = microwave_plan
    duration = record["duration_s"]
    assert duration >= 120.0  # long enough that 30 % is more than the search's 30 s step
    world = coarse_world(ctx)
    fine_target = target_mask(labels, [1], policy.margin_m, ctx.grid.spacing)
    target = fine_target.reshape(20, 2, 20, 2, 20, 2).any(axis=(1, 3, 5))
    step = max(0.1 * duration, 30.0)  # the search's resolution
    for shorter_s, covers in [(duration, True), (duration - step, False), (0.7 * duration, False)]:
        tried = session.model_copy(update={"duration": session.duration * shorter_s / duration})
        trial = SessionContext(world.grid, world.anatomy, ctx.tissue, world.state.copy())
        zone = RUNNERS["microwave"](trial, tried, "check").fields["damage"] >= ZONE_OMEGA
        assert (not (target & ~zone).any()) is covers, shorter_s


def test_a_target_the_limits_cannot_cover_is_reported():
    ctx, policy, found, labels = _world(extra="max_duration: 2 min")
    session, record = plan_ablation(ctx, policy, found, labels, day=0.0)
    assert record["predicted_covered"] is False
    assert "max_duration" in record["reason"]
    assert "3 mm margin" in record["reason"]
    assert session.duration_s == record["duration_s"] == 120.0  # the most allowed
    assert record["tries"][-1] == [120.0, False]
    assert record["predicted_margin_mm"] < 0


def test_no_lesion_to_target_is_an_error():
    ctx, policy, found, labels = _world()
    with pytest.raises(ValueError, match="nothing to ablate"):
        plan_ablation(ctx, policy, found, labels, day=0.0, targets=[7])


# -- planning a cryoablation ----------------------------------------------------------------------
@pytest.mark.slow
def test_the_cryo_planner_adds_probes_until_the_target_freezes():
    ctx, policy, found, labels = _world(
        session=CRYO, radius="5 mm", margin="2 mm", preset="colorectal_metastasis"
    )
    session, record = plan_ablation(ctx, policy, found, labels, day=0.0)
    probes = record["probes"]
    # one probe's lethal ball (about 12 mm across) cannot hold a 14 mm target
    assert [t[0] for t in record["tries"]] == list(range(1, probes + 1))
    assert [t[1] for t in record["tries"]] == [False] * (probes - 1) + [True]
    assert probes >= 2
    assert len(session.probes) == probes
    assert record["protocol_s"] == 13 * 60.0
    zone = _fine_zone(ctx, session)
    margin = min_margin(labels == 1, zone, 1.0)
    print(f"{probes} probes; margin {margin:.2f} mm at 1 mm")
    assert margin >= 0.6 * 2.0


# -- planning an irreversible electroporation ------------------------------------------------------
@pytest.mark.parametrize(("electrodes", "pairs"), [(2, 1), (3, 3), (4, 6), (5, 5), (6, 9)])
def test_ire_electrodes_bracket_the_lesion(electrodes, pairs):
    """Electrodes on a ring of the lesion's radius (wider for 5 and 6: neighbours stay 10 mm
    apart), the lesion's centre halfway along their exposure; neighbours and opposites pulsed at
    1500 V/cm times their distance (at most 3000 V)."""
    template = SessionTemplate.model_validate(
        {"modality": "ire", "electrodes": [{"direction": [0, 0, -1], "exposure": "20 mm"}]}
    )
    lesion = {"label": 1, "center_mm": [1.0, -2.0, 3.0], "diameter_mm": 16.0}
    devices, chosen = ire_electrodes(template, [lesion], electrodes)
    assert len(devices) == electrodes
    for d in devices:
        tip = np.asarray(d["tip_mm"])
        assert tip[2] == pytest.approx(3.0 - 10.0)  # 10 mm deeper than the centre, along -z
        # the lesion's radius, or wider where neighbours would stand closer than 10 mm
        ring = max(8.0, 1e3 * IRE_MIN_SPACING_M / (2.0 * math.sin(math.pi / electrodes)))
        assert math.hypot(tip[0] - 1.0, tip[1] + 2.0) == pytest.approx(ring)
    assert len(chosen) == pairs
    for p in chosen:
        distance = np.linalg.norm(
            np.subtract(devices[p["anode"]]["tip_mm"], devices[p["cathode"]]["tip_mm"])
        )
        assert p["distance_mm"] == pytest.approx(distance)
        assert p["voltage"] == pytest.approx(min(150.0 * distance, 3000.0), abs=1e-3)
    small = {"label": 2, "center_mm": [0.0, 0.0, 0.0], "diameter_mm": 4.0}
    devices, _ = ire_electrodes(template, [small], 2)
    spacing = np.linalg.norm(np.subtract(devices[0]["tip_mm"], devices[1]["tip_mm"]))
    assert spacing == pytest.approx(2e3 * IRE_MIN_RING_RADIUS_M)


def test_lesions_on_one_needle_line_get_one_ring_and_lesions_apart_get_their_own():
    """Two lesions one above the other along the needles, 24 mm apart (less than the 30 mm
    exposure), would get electrodes on the same lines with their exposed parts overlapping (the
    reduced demo's IRE re-treatment once did): they are one target, a ring centred between them,
    and the session is valid. A lesion 40 mm away across the needles keeps its own ring."""
    template = SessionTemplate.model_validate(
        {
            "modality": "ire",
            "electrodes": [{"direction": [0, 0, -1], "exposure": "30 mm"}],
            "voltage_to_distance": "1500 V/cm",
        }
    )
    upper = {"label": 1, "center_mm": [-18.0, 0.0, 12.0], "diameter_mm": 8.0}
    lower = {"label": 2, "center_mm": [-18.0, 0.0, -12.0], "diameter_mm": 8.0}
    aside = {"label": 3, "center_mm": [22.0, 0.0, 0.0], "diameter_mm": 8.0}
    targets = ire_targets(template, [upper, lower, aside])
    assert [t["labels"] for t in targets] == [[1, 2], [3]]
    merged = targets[0]
    np.testing.assert_allclose(merged["center_mm"], [-18.0, 0.0, 0.0], atol=1e-9)
    assert merged["diameter_mm"] == pytest.approx(8.0)  # as wide across the needles as each
    devices, pairs = ire_electrodes(template, [upper, lower, aside], 2)
    assert len(devices) == 4
    assert len(pairs) == 2
    assert [d["lesion"] for d in devices] == [1, 1, 3, 3]
    assert all(d["tip_mm"][2] == pytest.approx(-15.0) for d in devices)  # centre - exposure / 2
    session = template.instantiate(
        0.0,
        electrodes=[
            {"tip": [ureg.Quantity(c, "mm") for c in d["tip_mm"]], "direction": d["direction"]}
            for d in devices
        ],
        pairs=[
            {"anode": p["anode"], "cathode": p["cathode"], "voltage": f"{p['voltage']!r} V"}
            for p in pairs
        ],
    )
    assert len(session.electrodes) == 4
    # 40 mm apart across the needles: rings of at most 10 mm radius stay more than 10 mm apart
    assert len(ire_targets(template, [upper, aside])) == 2


@pytest.mark.slow
def test_the_ire_planner_adds_electrodes_until_the_target_dies():
    ctx, policy, found, labels = _world(session=IRE, radius="8 mm", margin="3 mm")
    session, record = plan_ablation(ctx, policy, found, labels, day=0.0)
    electrodes = record["electrodes"]
    assert [t[0] for t in record["tries"]] == list(range(2, electrodes + 1))
    assert record["tries"][-1][1] is True
    assert len(session.electrodes) == electrodes
    assert [(p[0], p[1]) for p in session.pair_list()] == [
        (p["anode"], p["cathode"]) for p in record["pairs"]
    ]
    assert record["protocol_s"] == pytest.approx(90.0 * len(record["pairs"]))
    zone = _fine_zone(ctx, session)
    margin = min_margin(labels == 1, zone, 1.0)
    print(f"{electrodes} electrodes; margin {margin:.2f} mm at 1 mm")
    assert margin >= 0.6 * 3.0
