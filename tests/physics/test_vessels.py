"""Large vessels with flowing blood: the wall's Nusselt number, its conductance on the grid against
exact steady conduction, and blood that warms along the vessel by exactly the heat it takes up."""

from __future__ import annotations

import math
from functools import partial

import numpy as np
import pytest

from tissuefate.damage.thermal import arrhenius_rate
from tissuefate.grid import Grid
from tissuefate.grid.shapes import Cylinder
from tissuefate.physics.thermal import ThermalSolver
from tissuefate.physics.vessels import (
    Blood,
    Occlusion,
    VesselCooling,
    bulk_temperatures,
    flowing_vessel,
    wall_exchange,
)
from tissuefate.validation.heat_sink import ANNULUS, vessel_wall_annulus

K, RC = 0.5, 4.0e6
BLOOD = Blood(density=1050.0, specific_heat=3617.0, conductivity=0.52, viscosity=3.5e-3)


def _solver(grid: Grid, fixed: np.ndarray, t0: float = 20.0, dtype=np.float64) -> ThermalSolver:
    shape = grid.shape
    return ThermalSolver(
        grid,
        np.full(shape, K),
        np.full(shape, RC),
        np.zeros(shape),
        reference_temperature=t0,
        initial_temperature=t0,
        arterial_temperature=t0,
        boundary="insulated",
        fixed=fixed,
        fixed_temperature=t0,
        dtype=dtype,
        impl="compiled",
    )


def test_laminar_nusselt_falls_to_the_fully_developed_value_in_long_tubes():
    # Graetz number -> 0: fully developed laminar flow at constant wall temperature, Nu = 3.66
    long = wall_exchange(5e-3, 1e-8, 100.0, BLOOD)
    assert long.laminar
    assert long.nusselt == pytest.approx(3.66, abs=1e-3)
    # the entry region transfers more, the more so the shorter the heated length
    short = wall_exchange(5e-3, 2e-6, 0.03, BLOOD)
    longer = wall_exchange(5e-3, 2e-6, 0.3, BLOOD)
    assert short.nusselt > longer.nusselt > 3.66
    assert short.coefficient == pytest.approx(short.nusselt * BLOOD.conductivity / 5e-3)


def test_turbulent_nusselt_agrees_with_dittus_boelter():
    # Gnielinski against the independent Dittus-Boelter correlation, Nu = 0.023 Re^0.8 Pr^0.4
    # (Incropera eq. 8.60); the two are quoted to agree within about 10-20 % at Re ~ 1e4-1e5
    water = Blood(density=1000.0, specific_heat=4180.0, conductivity=0.6, viscosity=1e-3)
    d = 0.02
    for re in (2e4, 1e5):
        flow = re * water.viscosity / (water.density * d) * math.pi * d**2 / 4
        ex = wall_exchange(d, flow, 10.0, water)
        assert ex.reynolds == pytest.approx(re)
        dittus = 0.023 * re**0.8 * water.prandtl**0.4
        assert ex.nusselt == pytest.approx(dittus, rel=0.2)


def test_nusselt_number_is_continuous_through_the_transition():
    # laminar up to Re 2300, turbulent from 1e4, linear in between: no jump at either end
    d, length = 5e-3, 0.064

    def nu(re):
        return wall_exchange(d, re * BLOOD.viscosity / (BLOOD.density * d) * math.pi * d**2 / 4,
                             length, BLOOD).nusselt  # fmt: skip

    for edge in (2300.0, 1.0e4):
        assert nu(edge * (1 - 1e-9)) == pytest.approx(nu(edge * (1 + 1e-9)), rel=1e-6)
    assert nu(2300.0) < nu(5000.0) < nu(1.0e4)


def test_wall_exchange_rejects_bad_input():
    with pytest.raises(ValueError, match="positive"):
        wall_exchange(5e-3, 0.0, 0.05, BLOOD)


def test_face_conductance_is_tissue_half_voxel_in_series_with_the_wall():
    grid = Grid(shape=(5, 5, 5), spacing=1e-3)
    fixed = np.zeros(grid.shape, bool)
    fixed[2, 2, 2] = True
    solver = _solver(grid, fixed, t0=50.0)
    hc = 800.0
    solver.hold_convective(np.array([[2, 2, 2]]), hc)
    solver.set_held_temperatures(np.array([[2, 2, 2]]), 37.0)
    h = grid.spacing
    exact = 6 * h**2 / (h / (2 * K) + 1 / hc) * (50.0 - 37.0)
    assert solver.wall_inflow(np.array([[2, 2, 2]]))[0] == pytest.approx(exact, rel=1e-12)


def test_steady_slab_into_a_convective_wall_matches_the_series_resistance():
    # 1-D: a held hot voxel, ten tissue voxels, a convective wall; insulated elsewhere
    n, h, hc = 12, 1e-3, 600.0
    grid = Grid(shape=(n, 1, 1), spacing=h)
    fixed = np.zeros(grid.shape, bool)
    fixed[-1] = True
    solver = _solver(grid, fixed, t0=37.0)
    wall = np.array([[n - 1, 0, 0]])
    solver.hold_convective(wall, hc)
    hot = np.zeros(grid.shape, bool)
    hot[0] = True
    solver.hold(hot, 80.0)
    dt = 0.9 * solver.max_stable_dt()
    solver.step(dt, int(20 * (n * h) ** 2 * RC / K / dt))
    resistance = (n - 2) / (K * h) + (h / (2 * K) + 1 / hc) / h**2
    exact = (80.0 - 37.0) / resistance
    assert solver.wall_inflow(wall)[0] == pytest.approx(exact, rel=1e-6)
    profile = solver.temperature[1:-1, 0, 0]
    assert np.allclose(np.diff(profile), -exact / (K * h), rtol=1e-5)


@pytest.mark.slow
@pytest.mark.parametrize(("spacing_mm", "tolerance"), [(0.5, 0.03), (0.25, 0.015)])
def test_steady_annulus_around_a_vessel_matches_the_exact_radial_solution(spacing_mm, tolerance):
    # tissue between a vessel of radius a (wall coefficient hc, blood at 37 degC) and a held
    # cylinder of radius b at 60 degC: per unit length q = 2 pi dT / (ln(b/a)/k + 1/(a hc));
    # staircase surfaces on both sides (measured: -10.6 % at 1 mm, -1.5 % at 0.5 mm, -0.96 % at
    # 0.25 mm, -0.46 % at 0.125 mm)
    simulated, exact = vessel_wall_annulus(spacing_mm * 1e-3)
    assert simulated == pytest.approx(exact, rel=tolerance)


def test_bulk_temperature_carries_exactly_the_heat_taken_up():
    rng = np.random.default_rng(1)
    bins = rng.integers(0, 20, 400)
    power = rng.uniform(0.0, 0.05, 400)
    rate = 2.0  # W/K
    temps, outlet = bulk_temperatures(power, bins, rate, 37.0)
    assert outlet * rate == pytest.approx(power.sum(), rel=1e-12)
    per_bin = [temps[bins == b].max() for b in range(20)]
    assert np.all(np.diff(per_bin) > 0)  # warms along the flow
    assert per_bin[0] > 37.0
    assert per_bin[-1] < 37.0 + outlet


def _run(
    solver: ThermalSolver, cooling: VesselCooling, updates: int = 10, steps: int = 10
) -> tuple[float, float]:
    """``updates`` times: the vessels updated, then ``steps`` stable steps; returns the time step
    and the end time (s)."""
    dt = 0.9 * solver.max_stable_dt()
    t = 0.0
    for _ in range(updates):
        cooling.update(solver, t)
        solver.step(dt, steps)
        t += steps * dt
    return dt, t


def test_a_run_books_the_heat_the_flowing_blood_carries_away():
    grid = Grid(shape=(24, 24, 24), spacing=1e-3, origin=(-12e-3, -12e-3, -12e-3))
    cyl = Cylinder((6e-3, 0.0, -20e-3), (6e-3, 0.0, 20e-3), 2.0e-3)
    mask = cyl.contains(grid.centres())
    solver = _solver(grid, mask, t0=37.0)
    slow = flowing_vessel(grid, "v", cyl, mask, 1e-8, BLOOD, 37.0)
    cooling = VesselCooling([slow], BLOOD)
    cooling.attach(solver)
    q = np.zeros(grid.shape)
    q[10:14, 10:14, 10:14] = 2e7  # 1.28 W
    solver.set_source(q)
    _, t = _run(solver, cooling, updates=200, steps=5)
    cooling.book(t, solver)
    assert cooling.vessels[0].heat_j == pytest.approx(solver.ledger.fixed, rel=0.02)
    stored = solver.stored_energy()
    assert (stored - solver.ledger.net) / stored == pytest.approx(0.0, abs=1e-9)
    # slow blood warms along the vessel; the warmer it leaves, the less it takes up
    temps = solver.temperature[mask]
    assert temps.max() - 37.0 == pytest.approx(cooling.vessels[0].outlet_rise_k, rel=0.2)
    assert cooling.vessels[0].outlet_rise_k > 1.0


# liver's Arrhenius parameters and the preset's stasis dose: how heat closes a vessel
LIVER_OCCLUSION = Occlusion(partial(arrhenius_rate, frequency_factor=7.39e39,
                                    activation_energy=2.577e5), 12.2)  # fmt: skip


def test_wall_temperature_of_a_steady_annulus_is_the_exact_one():
    """Tissue held at 60 °C on a cylinder around a vessel (blood at 37 °C): the wall sits at
    ``37 + Q' / (2 π a h_c)`` with ``Q'`` the exact uptake per length."""
    a, b, k = ANNULUS["vessel_radius"], ANNULUS["outer_radius"], ANNULUS["k"]
    h = 0.5e-3
    n = round(2 * (b + 2 * h) / h)
    grid = Grid(shape=(n, n, 2), spacing=h, origin=(-n * h / 2, -n * h / 2, 0.0))
    c = grid.centres()
    r = np.hypot(c[..., 0], c[..., 1])
    vessel = r < a
    solver = _solver(grid, vessel, t0=37.0)
    v = flowing_vessel(grid, "v", Cylinder((0.0, 0.0, -1.0), (0.0, 0.0, 1.0), a), vessel, 2e-6,
                       BLOOD, 37.0)  # fmt: skip
    cooling = VesselCooling([v], BLOOD)
    cooling.attach(solver)
    solver.hold(r >= b, 60.0)
    dt = 0.9 * solver.max_stable_dt()
    solver.step(dt, int(4 * b**2 * RC / k / dt))
    hc = v.exchange.coefficient
    exact_q = 2 * math.pi * 23.0 / (math.log(b / a) / k + 1 / (a * hc))
    wall = cooling.wall_temperatures(v, solver.wall_inflow(v.index), solver)
    uptake = float(solver.wall_inflow(v.index).sum()) / (2 * h)
    mean_wall = float(np.average(wall, weights=v.faces))
    assert mean_wall == pytest.approx(37.0 + uptake / (2 * math.pi * a * hc), rel=1e-9)
    assert mean_wall - 37.0 == pytest.approx(exact_q / (2 * math.pi * a * hc), rel=0.03)


def _hot_block(occludes: bool = True, flow: float = 1e-9):
    """A 1 mm vessel (one voxel column) with slow blood through tissue at 80 °C."""
    grid = Grid(shape=(9, 9, 12), spacing=1e-3, origin=(-4.5e-3, -4.5e-3, -6e-3))
    cyl = Cylinder((0.0, 0.0, -8e-3), (0.0, 0.0, 8e-3), 0.5e-3)
    mask = cyl.contains(grid.centres())
    solver = ThermalSolver(
        grid, np.full(grid.shape, K), np.full(grid.shape, RC), np.zeros(grid.shape),
        reference_temperature=37.0, initial_temperature=80.0, arterial_temperature=37.0,
        boundary="insulated", fixed=mask, fixed_temperature=37.0, dtype=np.float64,
    )  # fmt: skip
    v = flowing_vessel(grid, "v", cyl, mask, flow, BLOOD, 37.0, occludes)
    cooling = VesselCooling([v], BLOOD, LIVER_OCCLUSION)
    cooling.attach(solver)
    return solver, cooling, mask


def test_heat_closes_a_small_vessel_and_its_voxels_become_tissue_without_perfusion():
    solver, cooling, mask = _hot_block()
    start = solver.stored_energy()
    dt, t = _run(solver, cooling)
    v = cooling.vessels[0]
    assert v.occluded_at_s is not None
    assert 0 < v.occluded_at_s < t
    assert v.peak_wall_temperature_c > 60.0
    assert not solver.fixed[mask].any()
    assert (solver.perfusion_padded[1:-1, 1:-1, 1:-1][mask] == 0).all()
    # a released voxel conducts and stores heat as the tissue it was built as: it warms up
    assert solver.temperature[mask].min() > 40.0
    assert cooling.summary()[0]["occluded_at_s"] == v.occluded_at_s
    # no joule lost: the stored heat changed by what the ledger booked
    assert solver.stored_energy() - start == pytest.approx(solver.ledger.net, rel=1e-9, abs=1e-9)
    assert solver.max_stable_dt() >= dt / 0.9  # the step chosen with the wall stays stable


@pytest.mark.parametrize("case", ["glass", "fast"])
def test_a_glass_tube_or_fast_blood_stays_open(case):
    """A wall heat cannot close (``occludes`` false), or blood fast enough to keep its wall
    cool: the vessel keeps flowing."""
    glass = case == "glass"
    solver, cooling, mask = _hot_block(occludes=not glass, flow=1e-9 if glass else 1e-5)
    _run(solver, cooling)
    v = cooling.vessels[0]
    assert v.open
    assert solver.fixed[mask].all()
    if not glass:
        assert v.peak_wall_temperature_c < 50.0
