"""Held voxels (probes, cooled electrodes) and freezing tissue keep the energy balance exact."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tissuefate.grid import Grid
from tissuefate.physics.thermal import Freezing, PhaseWindow, ThermalSolver

K, RC, W = 0.52, 1079.0 * 3540.0, 6.4e-3 * 1050.0 * 3617.0
WINDOWS = [
    PhaseWindow(-math.inf, -8.0, 0.5),
    PhaseWindow(-8.0, -1.0, 1.0 + 250e6 / (RC * 7.0)),
]


def _solver(boundary="insulated", freezing=True, dtype=np.float64, model=None):
    grid = Grid(shape=(16, 16, 16), spacing=1e-3)
    shape = grid.shape
    vessel = np.zeros(shape, bool)
    vessel[12, 12, :] = True
    return ThermalSolver(
        grid,
        np.full(shape, K),
        np.full(shape, RC),
        np.full(shape, W),
        reference_temperature=37.0,
        initial_temperature=37.0,
        arterial_temperature=37.0,
        boundary=boundary,
        fixed=vessel,
        fixed_temperature=37.0,
        windows=WINDOWS,
        freezing=(model or Freezing(-8.0, -1.0, 4.0)) if freezing else None,
        dtype=dtype,
    )


def _balance(solver):
    led = solver.ledger
    stored = solver.stored_energy()
    return (stored - led.net) / max(abs(stored), abs(led.fixed), 1e-30)


@pytest.mark.parametrize("freezing", [True, False])
def test_hold_release_cycle_closes_energy(freezing):
    solver = _solver(freezing=freezing)
    probe = np.zeros(solver.grid.shape, bool)
    probe[8, 8, 4:12] = True
    dt = 0.9 * solver.max_stable_dt(-150.0)
    solver.hold(probe, -150.0)
    assert np.all(solver.temperature[probe] == pytest.approx(-150.0))
    for _ in range(20):
        solver.update_coefficients()
        solver.step(dt, 10)
    if freezing:
        assert solver.frozen_voxels > 20
    solver.release(probe)  # passive thaw
    for _ in range(5):
        solver.update_coefficients()
        solver.step(dt, 10)
    solver.hold(probe, 20.0)  # active thaw
    solver.step(dt, 10)
    assert abs(_balance(solver)) < 1e-10
    assert solver.ledger.fixed > 0  # the probe took heat out of the tissue (uptake is positive)


def _frozen_around_a_probe(solver):
    """Hold a probe at -150 degC for 300 steps; temperature, perfusion and sqrt(k) of the
    interior, and the mask of voxels not held."""
    probe = np.zeros(solver.grid.shape, bool)
    probe[8, 8, 4:12] = True
    solver.hold(probe, -150.0)
    dt = 0.9 * solver.max_stable_dt(-150.0)
    for _ in range(30):
        solver.update_coefficients()
        solver.step(dt, 10)
    solver.update_coefficients()
    inner = (slice(1, -1),) * 3
    return solver.temperature, solver._w[inner], solver._s[inner], ~solver.fixed


def test_frozen_tissue_has_no_perfusion_and_higher_conductivity():
    solver = _solver()
    t, w, s, free = _frozen_around_a_probe(solver)
    frozen = (t < -8.0) & free
    assert frozen.any()
    assert np.all(w[frozen] == 0)
    np.testing.assert_allclose(s[frozen] ** 2, 4 * K, rtol=1e-6)
    warm = t > 0
    np.testing.assert_allclose(w[warm & free], W, rtol=1e-6)


def test_stable_step_accounts_for_frozen_conductivity():
    warm = _solver(freezing=False).max_stable_dt(-150.0)
    cold = _solver().max_stable_dt(-150.0)
    # frozen tissue conducts 4x better: the conduction rate quadruples (perfusion adds the same
    # small rate to both, hence 1 %)
    assert cold == pytest.approx(warm / 4, rel=0.01)
    # never freezing: the frozen conductivity does not constrain the step
    assert _solver().max_stable_dt(20.0) > cold


def test_ice_law_and_cold_stasis_in_the_solver():
    """Below -8 degC k follows (T_end / T) in kelvin; below the stasis temperature (here 20 degC)
    unfrozen tissue stops perfusing too; the stable step counts the coldest conductivity."""
    model = Freezing(-8.0, -1.0, 4.0, exponent=1.0, stasis=20.0)
    solver = _solver(model=model)
    t, w, s, free = _frozen_around_a_probe(solver)
    frozen = (t < -8.0) & free
    assert frozen.any()
    assert (t[frozen] < -20.0).any()
    np.testing.assert_allclose(s[frozen] ** 2, 4 * K * 265.15 / (t[frozen] + 273.15), rtol=1e-6)
    chilled = (t > 0.0) & (t < 20.0) & free
    assert chilled.any()
    assert np.all(w[chilled] == 0)
    np.testing.assert_allclose(w[(t > 20.0) & free], W, rtol=1e-6)
    # the coldest tissue conducts (265.15 / 123.15) times better than at -8 degC
    plain = _solver().max_stable_dt(-150.0)
    assert solver.max_stable_dt(-150.0) == pytest.approx(plain / (265.15 / 123.15), rel=0.01)
