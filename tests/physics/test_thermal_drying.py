"""Drying as state: the sink (vaporisation) window's latent heat is paid once per gram of water.

A uniform, insulated block with a uniform source has no conduction, so every voxel follows the
same enthalpy curve and the latent heat it pays is known in closed form. Heated to the middle of
the window, cooled by perfusion, and heated through the whole window, it must sink exactly one
window's latent heat (half on the first pass, the other half on the second); before the drying
state the second pass paid the first half again (1.5 times).
"""

from __future__ import annotations

import numpy as np
import pytest

from tissuefate.grid import Grid
from tissuefate.physics.thermal import PhaseWindow, ThermalSolver

RC = 4.0e6  # J/m³/K
WINDOW = PhaseWindow(99.0, 101.0, 50.0, sink=True)  # latent heat 49 * RC * 2 K per m³
LATENT = (WINDOW.factor - 1.0) * RC * (WINDOW.upper - WINDOW.lower)  # J/m³


def _block(impl: str, dried: float | np.ndarray = 0.0) -> ThermalSolver:
    grid = Grid((4, 4, 4), 1e-3)
    shape = grid.shape
    return ThermalSolver(
        grid,
        np.full(shape, 0.5),
        np.full(shape, RC),
        np.full(shape, 4.0e4),  # W/m³/K: cools the block towards 37 °C when the source is off
        reference_temperature=37.0,
        initial_temperature=95.0,
        arterial_temperature=37.0,
        boundary="insulated",
        windows=[WINDOW],
        dried=dried,
        dtype=np.float64,
        impl=impl,
    )


def _heat_to(solver: ThermalSolver, target: float, power: float, dt: float) -> None:
    """Heat with ``power`` W/m³ (uniform) until the block reaches ``target`` °C."""
    solver.set_source(np.full(solver.grid.shape, power))
    while float(solver.temperature.mean()) < target:
        solver.step(dt)
    solver.set_source(None)


@pytest.mark.parametrize("impl", ["compiled", "numpy"])
def test_latent_heat_is_paid_once_across_a_heat_cool_reheat_cycle(impl):
    solver = _block(impl)
    dt = 0.2 * solver.max_stable_dt()
    vol = solver.grid.voxel_volume * 64
    _heat_to(solver, 100.0, 4.0e7, dt)
    first = solver.ledger.vaporized
    np.testing.assert_allclose(first, 0.5 * LATENT * vol, rtol=0.03)
    np.testing.assert_allclose(solver.dried_fraction, first / (LATENT * vol), rtol=1e-9)
    while float(solver.temperature.mean()) > 80.0:  # perfusion cools it; no latent heat back
        solver.step(dt)
    assert solver.ledger.vaporized == first
    np.testing.assert_allclose(solver.dried_fraction, first / (LATENT * vol), rtol=1e-9)
    _heat_to(solver, 102.0, 4.0e7, dt)
    np.testing.assert_allclose(solver.ledger.vaporized, LATENT * vol, rtol=1e-9)
    np.testing.assert_allclose(solver.dried_fraction, 1.0, rtol=0, atol=1e-12)
    # every joule accounted for: stored = delivered - perfusion - vaporised
    stored = solver.stored_energy() - _block(impl).stored_energy()
    np.testing.assert_allclose(stored, solver.ledger.net, rtol=1e-9)


def test_tissue_dried_before_the_run_pays_only_the_water_it_has_left():
    half = _block("compiled", dried=0.5)
    np.testing.assert_allclose(half.dried_fraction, 0.5)
    dt = 0.2 * half.max_stable_dt()
    _heat_to(half, 102.0, 4.0e7, dt)
    np.testing.assert_allclose(half.ledger.vaporized, 0.5 * LATENT * half.grid.voxel_volume * 64)


def test_dried_fraction_is_checked_and_only_one_sink_window_is_allowed():
    with pytest.raises(ValueError, match="dried fraction"):
        _block("compiled", dried=1.5)
    grid = Grid((2, 2, 2), 1e-3)
    ones = np.ones(grid.shape)
    with pytest.raises(ValueError, match="one sink window"):
        ThermalSolver(
            grid, ones, ones * RC, ones * 0.0, reference_temperature=37.0,
            initial_temperature=37.0, arterial_temperature=37.0,
            windows=[WINDOW, PhaseWindow(120.0, 130.0, 2.0, sink=True)],
        )  # fmt: skip


def test_dried_tissue_below_boiling_takes_water_back_with_the_rehydration_time():
    tau = 5.0
    solver = _block("compiled", dried=1.0)  # 95 °C: below the window
    solver.rehydrate(tau, tau)
    np.testing.assert_allclose(solver.dried_fraction, np.exp(-1.0), rtol=1e-6)
    solver.rehydrate(tau, tau, block=(slice(0, 2), slice(None), slice(None)))
    d = solver.dried_fraction
    np.testing.assert_allclose(d[:2], np.exp(-2.0), rtol=1e-6)
    np.testing.assert_allclose(d[2:], np.exp(-1.0), rtol=1e-6)
    solver.rehydrate(tau, np.inf)  # drying that never reverses
    np.testing.assert_allclose(solver.dried_fraction, d)
    boiling = _block("compiled", dried=1.0)
    _heat_to(boiling, 100.0, 4.0e7, 0.2 * boiling.max_stable_dt())  # inside the window: no water
    before = boiling.dried_fraction
    boiling.rehydrate(100.0, tau)
    np.testing.assert_array_equal(boiling.dried_fraction, before)
