"""Cold damage: per-freeze kill from the lowest temperature, compounded over cycles."""

from __future__ import annotations

import numpy as np
import pytest

from tissuefate.damage.cold import ColdDose, apply_cold_kill, cycle_kill
from tissuefate.grid import Grid, Sphere, TumorShape, build_anatomy
from tissuefate.tissue.state import TissueState


def test_cycle_kill_thresholds():
    t = np.array([0.0, -20.0, -25.0, -30.0, -40.0, -80.0])
    np.testing.assert_allclose(cycle_kill(t, -40.0, -20.0), [0, 0, 0.25, 0.5, 1, 1])
    with pytest.raises(ValueError, match="above the lethal"):
        cycle_kill(t, -20.0, -40.0)


def test_second_freeze_compounds_kill():
    # a voxel that reaches -30 °C twice keeps 0.5 * 0.5 of its cells; -45 °C once kills all
    t_ref = 37.0
    theta0 = np.zeros((3,), np.float32)
    dose = ColdDose(t_ref, theta0, -40.0, -20.0)
    cold = np.array([-30.0, -45.0, 10.0]) - t_ref
    warm = np.zeros(3, np.float32)
    for _ in range(2):
        dose.sample(cold.astype(np.float32))
        dose.end_cycle(warm)
    np.testing.assert_allclose(dose.survival, [0.25, 0.0, 1.0], atol=1e-6)
    assert dose.cycles == 2
    omega = dose.omega()
    assert omega[0] == pytest.approx(np.log(4), rel=1e-5)
    assert omega[1] == 100.0
    assert omega[2] == 0.0
    np.testing.assert_allclose(dose.lowest_temperature(), [-30, -45, 10], atol=1e-4)


def test_apply_cold_kill_moves_cells_to_debris():
    grid = Grid(shape=(6, 6, 6), spacing=1e-3)
    anatomy = build_anatomy(grid, [TumorShape("t", Sphere((0.0, 0.0, 0.0), 2e-3), 1)], [])
    state = TissueState.initial(anatomy)
    occupied = state.occupied().copy()
    survival = np.full(grid.shape, 0.25)
    kt, kn = apply_cold_kill(state, survival)
    np.testing.assert_allclose(state.occupied(), occupied, atol=1e-6)
    assert kt > 0
    assert kn > 0
    np.testing.assert_allclose(state.vessels, 0.25, atol=1e-6)
    np.testing.assert_allclose(state.debris, 0.75 * occupied, atol=1e-6)
