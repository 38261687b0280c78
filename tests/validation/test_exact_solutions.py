"""The thermal solver against exact Pennes solutions (reference/validation.md A).

Grids: heated sphere 64 mm cube at 1 mm; held sphere 48 mm at 0.5 mm; point source 64 mm at
0.5 mm (no perfusion) and 32 mm at 0.25 mm (perfused); convergence 32 mm at 1, 0.5, 0.25 mm.
"""

import numpy as np
import pytest

from tissuefate.validation import cases, exact


def _assert_rows(rows):
    assert rows
    for row in rows:
        assert row.ok, (
            f"{row.case}: {row.quantity}: {row.simulated} vs {row.exact} ({row.error:.3g})"
        )


def test_exact_forms_are_consistent():
    # the transient perfused solution tends to the steady one; the worked numbers of validation.md
    k, rc, w = cases.K, cases.RHO_C, cases.W
    r = np.array([0.005, 0.01, 0.02])
    late = exact.point_source_transient(r, 1e5, 10.0, k, rc, w)
    np.testing.assert_allclose(late, exact.point_source_steady(r, 10.0, k, w), rtol=1e-10)
    assert exact.point_source_steady(np.array([0.01]), 10.0, k, w)[0] == pytest.approx(
        17.6, abs=0.05
    )
    assert exact.point_source_transient_unperfused(np.array([0.01]), 300, 10, k, rc)[0] == (
        pytest.approx(41.1, abs=0.05)
    )
    assert exact.perfusion_length(k, w) * 1e3 == pytest.approx(4.63, abs=0.005)
    # heated sphere: continuous at the surface and the centre value of the reference problem
    a, q = 5e-3, 5e6
    inside = exact.heated_sphere_steady(np.array([a * (1 - 1e-9)]), a, q, k, cases.REF_W)
    outside = exact.heated_sphere_steady(np.array([a * (1 + 1e-9)]), a, q, k, cases.REF_W)
    assert inside[0] == pytest.approx(outside[0], rel=1e-6)
    centre = exact.heated_sphere_steady(np.array([0.0]), a, q, k, cases.REF_W)[0]
    assert 37.0 + centre == pytest.approx(97.39, abs=0.01)


def test_heated_sphere_steady_within_2_percent():
    _assert_rows(cases.heated_sphere(1e-3))


@pytest.mark.slow
def test_held_sphere_isotherm():
    _assert_rows(cases.held_sphere(0.5e-3))


def test_point_source_without_perfusion_within_2_percent():
    _assert_rows(cases.point_source(False, 0.5e-3))


@pytest.mark.slow
def test_point_source_with_perfusion_within_2_percent():
    _assert_rows(cases.point_source(True, 0.25e-3, size=0.032, t=120.0, r_max=0.006))


def test_second_order_convergence():
    rows = cases.convergence_order((1e-3, 0.5e-3, 0.25e-3))
    _assert_rows(rows)
    assert all(1.75 <= r.simulated <= 2.25 for r in rows)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_energy_conservation(dtype):
    _assert_rows(cases.energy_conservation(dtype))


def test_arrhenius_times():
    _assert_rows(cases.arrhenius_times())


def test_reference_problem_centre_temperature():
    _assert_rows(cases.reference_problem(1e-3))


def test_stefan_front_within_2_percent():
    # 1-D Neumann solidification (the tolerance: 2 % in front position)
    _assert_rows(cases.stefan_front(0.25e-3))


def test_neumann_one_phase_limit():
    # with the liquid at the melting point the classical one-phase relation holds
    import math

    lam = exact.neumann_solidification(2.0, 1.9e6, 0.52, 3.8e6, 250e6, -60.0, -0.5, -0.5)
    stefan = 1.9e6 * 59.5 / 250e6
    assert lam * math.exp(lam**2) * math.erf(lam) == pytest.approx(stefan / math.sqrt(math.pi))
