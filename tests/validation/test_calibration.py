"""The calibration data files and their runner (``tissuefate validate --only calibration``)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tissuefate.modalities.microwave import antenna_pattern
from tissuefate.scenario.io import loads_scenario
from tissuefate.validation.calibration import (
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
    assert {e.row.split("-")[0] for e in fitted} == {"M1", "M2", "M3"}  # He 2010 ex vivo only
    assert len(fitted) == 18
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


def test_generator_energy_is_split_into_tissue_line_loss_and_reflection():
    exp = next(e for e in MICROWAVE if e.row == "M12")  # 60 W for 60 s, ex vivo
    sim = simulate_experiment(exp)
    efficiency = antenna_pattern(exp.device).efficiency
    assert sim["generator_energy_j"] == pytest.approx(60.0 * 60.0)
    assert sim["energy_j"] < efficiency * sim["generator_energy_j"]  # some is reflected
    assert sim["energy_j"] > 0.8 * efficiency * sim["generator_energy_j"]
    doubled = simulate_experiment(exp, efficiency=min(1.0, 2 * efficiency))
    assert doubled["volume_ml"] > 1.5 * sim["volume_ml"]  # the efficiency reaches the tissue


@pytest.fixture(scope="module")
def microwave_rows():
    return calibration_rows("microwave")


def test_the_efficiency_fit_meets_the_he_2010_series_and_rows_say_what_they_are_worth(
    microwave_rows,
):
    """One efficiency for 18 experiments: the median error of each axis is within the 15 % the
    issue asks of predictions (measured 0.12 short, 0.13 long); single rows at the ends of the
    time course miss 25 % (docs/validation.md), so they are not asserted one by one."""
    assert {r.kind for r in microwave_rows} == {"fitted", "predicted"}
    fitted = [r for r in microwave_rows if r.kind == "fitted"]
    assert len(fitted) == 36  # 18 experiments, short and long axis
    for axis in ("short axis", "long axis"):
        errors = [abs(r.error) for r in fitted if r.quantity.startswith(axis)]
        assert np.median(errors) <= MEDIAN_TOLERANCE["short_axis"], axis


@pytest.mark.xfail(
    strict=True,
    reason="issue 13 open: in perfused liver the model's zones are larger than ex vivo ones "
    "(body temperature's head start outweighs the preset's perfusion), where every measured "
    "in vivo zone is smaller; docs/validation.md",
)
def test_microwave_predictions_meet_the_acceptance_of_issue_13(microwave_rows):
    medians = [r for r in microwave_rows if r.quantity.startswith("median")]
    assert len(medians) == len(MEDIAN_TOLERANCE)
    volumes = [r for r in microwave_rows if r.quantity.startswith("volume")]
    assert volumes
    # no row is off by more than a factor of two in volume, and every prediction is met
    assert all(abs(r.error) <= math.log2(VOLUME_FACTOR) for r in volumes)
    assert all(r.ok for r in microwave_rows if r.kind == "predicted")
