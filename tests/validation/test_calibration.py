"""The calibration data files and their runner (``tissuefate validate --only calibration``)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tissuefate.modalities.microwave import antenna_pattern
from tissuefate.scenario.io import loads_scenario
from tissuefate.validation.calibration import (
    EDGES,
    FACE_RISE_K,
    MEDIAN_TOLERANCE,
    VOLUME_FACTOR,
    calibration_rows,
    experiment_scenario,
    load_experiments,
    simulate_experiment,
)

MICROWAVE = load_experiments("microwave")


def test_every_microwave_row_is_a_sourced_experiment_a_scenario_can_express():
    assert len(MICROWAVE) == len({e.row for e in MICROWAVE})
    fitted = [e for e in MICROWAVE if e.role == "fit"]
    # He 2010 only: ex vivo (the efficiency) and in vivo (the liver's perfusion stasis dose)
    assert {e.row.split("-")[0] for e in fitted if e.tissue == "ex_vivo"} == {"M1", "M2", "M3"}
    assert {e.row.split("-")[0] for e in fitted if e.tissue == "in_vivo"} == {
        "M4",
        "M5",
        "M6",
        "M7",
    }
    assert len(fitted) == 34
    for exp in MICROWAVE:
        assert exp.source
        assert exp.edge
        assert exp.power_w > 0
        assert exp.duration_s > 0
        assert exp.measured, exp.row
        assert all(v > 0 for v in exp.measured.values())
        scenario = loads_scenario(experiment_scenario(exp))
        session = scenario.strategies["experiment"].sessions[0]
        assert session.power_w == exp.power_w
        assert session.duration_s == pytest.approx(exp.duration_s)
        if exp.tissue == "ex_vivo":
            assert scenario.thermal.initial_temperature_c == 20.0
        else:
            assert scenario.thermal.initial_temperature_c is None


def test_generator_energy_is_split_into_tissue_line_loss_reflection_and_beyond_the_grid():
    exp = next(e for e in MICROWAVE if e.row == "M12")  # 60 W for 60 s, ex vivo
    sim = simulate_experiment(exp)
    efficiency = antenna_pattern(exp.device).efficiency
    assert sim["generator_energy_j"] == pytest.approx(60.0 * 60.0)
    assert sim["line_loss_j"] == pytest.approx((1.0 - efficiency) * 60.0 * 60.0)
    assert sim["reflected_energy_j"] > 0  # the tissue next to the antenna dried
    assert 0 < sim["beyond_grid_energy_j"] < 0.05 * sim["energy_j"]  # the block holds the zone
    parts = sim["line_loss_j"] + sim["reflected_energy_j"] + sim["beyond_grid_energy_j"]
    assert parts + sim["energy_j"] == pytest.approx(sim["generator_energy_j"], rel=1e-6)
    assert sim["energy_j"] > 0.8 * efficiency * sim["generator_energy_j"]
    halved = simulate_experiment(exp, efficiency=0.5 * efficiency)
    assert sim["volume_ml"] > 1.5 * halved["volume_ml"]  # the efficiency reaches the tissue


def test_each_row_is_compared_with_the_zone_its_source_measured():
    """Gross pathology sees the white zone of heat-fixed tissue (the coagulation zone), which lies
    inside the zone of dead cells (Ω ≥ 1) that contrast-enhanced imaging shows."""
    assert {e.edge for e in MICROWAVE} == set(EDGES)
    assert EDGES["gross pathology"] == "coagulation"
    assert EDGES["contrast-enhanced imaging"] == "ablation"
    exp = next(e for e in MICROWAVE if e.row == "M12")  # gross pathology
    sim = simulate_experiment(exp)
    assert sim["edge"] == "coagulation"
    for k in ("volume_ml", "short_axis_mm", "long_axis_mm"):
        assert sim[k] == sim[f"coagulation_{k}"]
        assert 0 < sim[f"coagulation_{k}"] < sim[f"ablation_{k}"]


def test_a_block_too_small_for_the_heating_is_lengthened_until_the_zone_is_converged():
    """30 mm blocks: the heating along the shaft reaches the end faces (held at 20 degC), so the
    block is lengthened; the zone's axes (interpolated between voxel centres) then match the ones
    in the default block to 1 %. Its volume counts voxels (about 1000 of 1.5 mm here, each 0.1 %
    of it, and those at the 60 degC edge flip with a change of a few mK), so it is held to the
    2 % that FACE_RISE_K was chosen for: measured 1.2 % (30 mm), 0.4 % (36 mm) and 1.2 % (39 mm
    wide, the other way), all three lengthened to 66 mm."""
    exp = next(e for e in MICROWAVE if e.row == "M12")
    small = simulate_experiment(exp, block_mm=(30.0, 30.0))
    default = simulate_experiment(exp)
    assert small["block_mm"][2] > 45.0  # lengthened at least once
    assert small["block_mm"][0] == 30.0  # its sides stayed cool enough
    assert not small["zone_at_face"]
    assert small["face_rise_k"] <= FACE_RISE_K
    for k in ("short_axis_mm", "long_axis_mm"):
        assert small[k] == pytest.approx(default[k], rel=0.01), k
    assert small["volume_ml"] == pytest.approx(default["volume_ml"], rel=0.02)


@pytest.fixture(scope="module")
def microwave_rows():
    return calibration_rows("microwave")


def _he_ex_vivo_errors(rows, axis):
    fitted = [r for r in rows if r.kind == "fitted" and "ex vivo porcine" in r.case]
    assert len(fitted) == 36  # 18 experiments, short and long axis
    return [abs(r.error) for r in fitted if r.quantity.startswith(axis)]


@pytest.mark.slow
def test_the_size_fit_meets_every_he_2010_axis_and_rows_say_what_they_are_worth(microwave_rows):
    """The internally cooled antenna's efficiency and bounded growth, fitted to 18 experiments on
    the coagulation zone (they were measured on gross pathology): every axis within the 25 % of a
    single row and both medians within the 15 % the issue asks of predictions (measured 0.041
    short, 0.048 long; with the growth unbounded the best efficiency left 0.159 and 0.136 on the
    ablation zone, and 6 of 36 axes beyond 25 %)."""
    assert {r.kind for r in microwave_rows} == {"fitted", "predicted"}
    for axis in ("short axis", "long axis"):
        errors = _he_ex_vivo_errors(microwave_rows, axis)
        assert np.median(errors) <= 0.15, axis
        assert max(errors) <= 0.25, axis


def test_the_cooled_antenna_bounds_its_growth_and_the_research_antennas_do_not():
    cooled, dual = antenna_pattern("internally_cooled"), antenna_pattern("dual_slot")
    dried = 10.9  # liver's permittivity at 100 degC, the floor of the near-antenna permittivity
    assert cooled.elongation(dried) == pytest.approx(cooled.max_elongation)
    assert cooled.max_elongation < 1.5
    assert dual.max_elongation is None
    assert dual.elongation(dried) > 5.0


@pytest.mark.slow
def test_the_stasis_fit_meets_the_in_vivo_series_and_the_held_out_pairs_shrink_in_vivo(
    microwave_rows,
):
    """Perfused liver: with the measured human perfusion and flow stopping at 12.2 times the
    cells' dose (fitted to the 16 in vivo short axes of He 2010, median error 0.037), the held-out
    pairs of one device ex vivo and in vivo are predicted within the issue's 0.15: the 70 W, 5 min
    volume (0.63 against 0.68) and the 60 W, 1 min short axis (1.03 against 1.07). With the
    former preset (6.4e-3 1/s, flow stopping with the cells) the ratios were 2.38 and 1.48."""
    in_vivo = [r for r in microwave_rows if r.kind == "fitted" and "in vivo canine" in r.case]
    short = [abs(r.error) for r in in_vivo if r.quantity.startswith("short axis")]
    assert len(short) == 16
    assert np.median(short) <= MEDIAN_TOLERANCE["short_axis"]
    pairs = [r for r in microwave_rows if "in vivo / ex vivo" in r.case and r.kind == "predicted"]
    by_pair = {r.case.split(":")[0]: r for r in pairs}
    assert set(by_pair) == {"microwave M11/M10", "microwave M13/M12"}
    assert by_pair["microwave M11/M10"].simulated < 1.0
    assert by_pair["microwave M11/M10"].ok
    assert by_pair["microwave M13/M12"].ok


@pytest.mark.slow
@pytest.mark.xfail(
    strict=True,
    reason="issue 13 (blocked on device data): at one efficiency fitted to He 2010 (30-50 W), "
    "other devices' zones at 70-120 W come out too wide (short axes +35 to +43 %, volumes up "
    "to 2.4 times the measured), though their measured zones are smaller than He's at lower "
    "power; docs/validation.md",
)
def test_microwave_predictions_meet_the_acceptance_of_issue_13(microwave_rows):
    medians = [r for r in microwave_rows if r.quantity.startswith("median")]
    assert len(medians) == len(MEDIAN_TOLERANCE)
    volumes = [r for r in microwave_rows if r.quantity.startswith("volume")]
    assert volumes
    # no row is off by more than a factor of two in volume, and every prediction is met
    assert all(abs(r.error) <= math.log2(VOLUME_FACTOR) for r in volumes)
    assert all(r.ok for r in microwave_rows if r.kind == "predicted")
