"""The coagulation zone: what gross pathology sees, inside the ablation zone."""

from __future__ import annotations

import numpy as np
import pytest

from tissuefate.damage.zone import coagulation_level, coagulation_temperature
from tissuefate.tissue.presets import load_tissue


@pytest.fixture(scope="module")
def body():
    return load_tissue("liver").body


def test_coagulation_temperature_is_the_middle_of_the_fixation_ramp(body):
    assert coagulation_temperature(body) == pytest.approx(60.0)


def test_coagulation_needs_both_dead_cells_and_a_peak_above_the_threshold(body):
    omega = np.array([0.5, 5.0, 5.0, 5.0, 1e6, 0.0])
    peak = np.array([90.0, 59.0, 60.5, 75.0, 120.0, 20.0])
    level = coagulation_level({"thermal_dose": omega, "peak_temperature": peak}, body)
    assert (level >= 1.0).tolist() == [False, False, True, True, True, False]
    # log(level) follows the peak temperature across the edge (1 per K), so that the edge
    # interpolates between voxel centres
    assert np.log(level[1]) == pytest.approx(-1.0)
    assert np.log(level[2]) == pytest.approx(0.5)
    # a session that reports its own damage (cryo, agents) is read through it
    damage = {"damage": np.full(6, 2.0), "thermal_dose": omega, "peak_temperature": peak}
    assert (coagulation_level(damage, body) >= 1.0).tolist() == [
        True, False, True, True, True, False
    ]  # fmt: skip
