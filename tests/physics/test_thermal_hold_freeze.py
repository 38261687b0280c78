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


def _solver(
    boundary="insulated", freezing=True, dtype=np.float64, model=None, size=16, initial=37.0, w=W
):
    """Liver (perfusion coefficient ``w``, at ``initial`` °C) on a ``size``³ grid at 1 mm, blood
    at 37 °C; a vessel held at 37 °C along z on the 16³ grid."""
    grid = Grid(shape=(size, size, size), spacing=1e-3)
    shape = grid.shape
    vessel = np.zeros(shape, bool)
    if size == 16:
        vessel[12, 12, :] = True
    return ThermalSolver(
        grid,
        np.full(shape, K),
        np.full(shape, RC),
        np.full(shape, w),
        reference_temperature=37.0,
        initial_temperature=initial,
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


def _local_solver(dtype=np.float64):
    """A 28³ grid with no vessel (a probe is held at -150 degC in its middle by the tests)."""
    model = Freezing(-8.0, -1.0, 4.0, exponent=1.0)
    return _solver("dirichlet", dtype=dtype, model=model, size=28)


def _freeze(solver, dt, fine, steps, local, margin=4):
    probe = np.zeros(solver.grid.shape, bool)
    probe[14, 14, 9:19] = True
    solver.hold(probe, -150.0)
    blocks = []
    for _ in range(steps // 10):
        solver.update_coefficients()
        block = solver.cold_block(0.0, margin) if local else None
        if block is None:
            solver.step(dt / fine, 10 * fine)
        else:
            blocks.append(block)
            solver.step_local(dt, fine, block, 10)
    return blocks


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_local_time_steps_in_the_ice_close_the_energy_and_match_the_fine_steps(dtype):
    """Multirate steps: the unfrozen tissue at its own stable step, the ice in a block at a
    quarter of it; the energy ledger closes to round-off and the iceball matches fine steps
    everywhere (the reference) within a voxel's share."""
    reference, local = _local_solver(dtype), _local_solver(dtype)
    warm = 0.9 * reference.max_stable_dt(-1.0)  # stable outside any ice
    fine = math.ceil(warm / (0.9 * reference.max_stable_dt(-150.0)))
    assert fine >= 4  # ice conducts 4x better (its heat capacity is half: 8x at -8 degC)
    _freeze(reference, warm, fine, 300, local=False)
    blocks = _freeze(local, warm, fine, 300, local=True)
    assert blocks
    assert all(b[0].stop - b[0].start < 28 - 2 for b in blocks)
    tol = 1e-10 if dtype == np.float64 else 1e-5
    assert abs(_balance(local)) < tol
    assert local.steps == 300
    assert local.local_steps == 300 * fine
    for iso in (0.0, -20.0, -40.0):
        ice_ref = int((reference.temperature <= iso).sum())
        ice_loc = int((local.temperature <= iso).sum())
        assert ice_ref > 30
        assert abs(ice_loc - ice_ref) <= max(1, 0.01 * ice_ref), (iso, ice_loc, ice_ref)
    diff = np.abs(local.temperature - reference.temperature)
    assert diff.max() < 0.5  # K, over a 190 K range


def test_a_block_whose_ring_freezes_is_refused():
    solver = _local_solver()
    warm = 0.9 * solver.max_stable_dt(-1.0)
    fine = math.ceil(warm / (0.9 * solver.max_stable_dt(-150.0)))
    probe = np.zeros(solver.grid.shape, bool)
    probe[14, 14, 9:19] = True
    solver.hold(probe, -150.0)
    block = (slice(14, 15), slice(14, 15), slice(9, 19))  # the probe alone: its ring freezes
    with pytest.raises(ValueError, match="widen the block"):  # noqa: PT012
        for _ in range(10):
            before, kept = solver.temperature.copy(), solver.steps
            solver.step_local(warm, fine, block, 1)
    # the refused step kept nothing; the steps before it are booked
    assert solver.steps == kept
    np.testing.assert_array_equal(solver.temperature, before)
    assert abs(_balance(solver)) < 1e-10
    with pytest.raises(ValueError, match="a cell off its faces"):
        solver.step_local(warm, fine, (slice(0, 28), slice(10, 18), slice(5, 23)), 1)
    assert solver.cold_block(0.0, 30) == (slice(0, 28),) * 3


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_exposure_to_cold_is_the_time_integral_of_the_chill(dtype):
    """Insulated, unperfused liver at 27 degC under blood at 37 degC stays at 27 degC, so each
    voxel's exposure after t seconds is exactly 10 K * t (summed at each coefficient update); at a
    dose of 300 K*s flow stops after 30 s and stays stopped when the tissue is brought back."""
    model = Freezing(-8.0, -1.0, 4.0, exposure=300.0)
    solver = _solver(dtype=dtype, model=model, size=6, initial=27.0, w=0.0)
    assert solver.cold_exposure is not None
    dt = 0.5
    for _ in range(5):
        solver.update_coefficients()
        solver.step(dt, 4)  # 2 s between updates
    solver.update_coefficients()
    np.testing.assert_allclose(solver.cold_exposure, 10.0 * solver.time, rtol=1e-6)
    assert solver.time == pytest.approx(10.0)
    with pytest.raises(ValueError, match="read-only"):
        solver.cold_exposure[0, 0, 0] = 0.0
    without = _solver(freezing=False)
    assert without.cold_exposure is None


def test_chilled_tissue_loses_its_perfusion_at_the_exposure_dose():
    """41 s next to a probe at -150 degC: chilled tissue that took 200 K*s stops perfusing, even
    unfrozen; tissue that took less flows."""
    model = Freezing(-8.0, -1.0, 4.0, exposure=200.0)
    solver = _solver(model=model)
    t, w, _, free = _frozen_around_a_probe(solver)
    exposure = solver.cold_exposure
    shut = free & (exposure >= 200.0)
    open_ = free & (exposure < 200.0) & (t > -1.0)
    assert shut.any()
    assert open_.any()
    assert np.all(solver.perfusion_padded[1:-1, 1:-1, 1:-1][shut] == 0)
    np.testing.assert_allclose(w[open_], W, rtol=1e-6)
    assert (t[shut] > -1.0).any()  # chilled, never frozen, yet shut
