"""Backflow along a needle track (physics/track.py) against its closed form.

The closed form (no tissue pressure beyond the gap's wall) and the numerical march that any
tissue pressure needs are independent computations of the same equations: the march integrates
the ODEs, the closed form their first integral. A constant tissue pressure ``c`` is a closure
stress lowered by ``c`` in the leak but not in the gap, which the closed form covers too.
"""

from __future__ import annotations

import numpy as np
import pytest

from tissuefate.physics.track import MORRISON_CONSTANT, Track, wall_resistance

MU = 1.1e-3  # Pa s, ethanol near body temperature
RADIUS = 0.35e-3  # m, a 22 G needle
SHEAR = 2090.0  # Pa, liver
RESISTANCE = wall_resistance(MU, 1e-14, RADIUS, RADIUS + 1e-3)


def _track(sigma: float, resistance: float = RESISTANCE) -> Track:
    return Track(sigma, SHEAR, RADIUS, MU, resistance)


@pytest.mark.parametrize("rate_ml_h", [0.36, 3.6, 36.0])
def test_without_closure_stress_the_length_is_morrisons_scaling(rate_ml_h):
    q = rate_ml_h * 1e-6 / 3600
    track = _track(0.0)
    length = track.length(track.opening(q))
    scaling = (q**3 * RESISTANCE**4 * RADIUS**4 / (SHEAR**3 * MU)) ** 0.2
    assert length == pytest.approx(MORRISON_CONSTANT * scaling, rel=1e-9)
    assert pytest.approx(0.8044, abs=1e-4) == MORRISON_CONSTANT


@pytest.mark.parametrize("sigma", [0.0, 5e3, 40e3])
@pytest.mark.parametrize("rate_ml_h", [0.36, 10.0])
def test_the_march_reproduces_the_closed_form(sigma, rate_ml_h):
    q = rate_ml_h * 1e-6 / 3600
    track = _track(sigma)
    numeric = track.solve(q, steps=400)
    exact = track.profile(q)
    assert numeric.opening == pytest.approx(exact.opening, rel=1e-6)
    assert numeric.length == pytest.approx(exact.length, rel=1e-6)
    # the sessions' 48 steps (measured: 9e-6 at the worst of these, converging as steps^-3)
    assert track.solve(q).length == pytest.approx(exact.length, rel=1e-4)
    assert numeric.flow[0] == pytest.approx(q, rel=1e-9)
    assert numeric.flow[-1] == 0.0
    # the flow along the track: the march's against the closed form's at the same z
    np.testing.assert_allclose(
        np.interp(numeric.z, exact.z, exact.flow), numeric.flow, rtol=0, atol=2e-3 * q
    )


@pytest.mark.parametrize("pressure", [2e3, 20e3])
def test_a_constant_tissue_pressure_is_a_lower_closure_stress_in_the_leak(pressure):
    # W(e) = (e^5/5 + (sigma - c) e^4/4)/(RB) and dz/de = -e^3/(B sqrt(2W)): the closed form
    # with sigma - c (the gap's width, which sets B, does not involve sigma)
    sigma, q = 40e3, 10e-6 / 3600
    numeric = _track(sigma).solve(q, ([0.0, 1.0], [pressure, pressure]), steps=96)
    exact = _track(sigma - pressure)
    assert numeric.opening == pytest.approx(exact.opening(q), rel=1e-6)
    assert numeric.length == pytest.approx(exact.length(exact.opening(q)), rel=1e-5)


def test_what_leaks_along_the_track_is_the_backflow():
    # any tissue pressure: the leak per length integrates to the flow that entered the track
    q = 10e-6 / 3600
    z = np.linspace(0.0, 10e-3, 2001)
    sol = _track(40e3).solve(q, (z, 30e3 * np.exp(-z / 0.5e-3)), steps=400)
    leaked = float(np.sum(0.5 * (sol.leak[1:] + sol.leak[:-1]) * np.diff(sol.z)))
    assert leaked == pytest.approx(q, rel=1e-4)
    assert sol.flow_at(0.0) == pytest.approx(q)
    assert sol.flow_at(2 * sol.length) == 0.0


def test_the_track_grows_with_rate_and_falls_with_the_closure_stress():
    lengths = {}
    for sigma in (10e3, 40e3):
        track = _track(sigma)
        lengths[sigma] = [track.length(track.opening(r * 1e-6 / 3600)) for r in (1, 10, 40)]
        assert lengths[sigma] == sorted(lengths[sigma])
    assert all(a > b for a, b in zip(lengths[10e3], lengths[40e3], strict=True))
    # well above the opening the open track is nearly at sigma: x_m -> Q R / sigma as e0/sigma
    # -> 0 (measured: 0.29 % below at 1 mL/h, 0.09 % at 0.1 mL/h)
    track = _track(40e3)
    errors = []
    for rate_ml_h in (1.0, 0.1):
        q = rate_ml_h * 1e-6 / 3600
        errors.append(abs(track.length(track.opening(q)) / (q * RESISTANCE / 40e3) - 1))
    assert errors[1] < 0.5 * errors[0] < 2e-3


def test_a_less_permeable_tissue_sends_the_fluid_further_back():
    q = 10e-6 / 3600
    lengths = [
        _track(40e3, wall_resistance(MU, k, RADIUS, RADIUS + 1e-3)).solve(q).length
        for k in (1e-14, 1e-16)
    ]
    assert lengths[1] > 50 * lengths[0]


def test_gap_width_and_bad_radius():
    track = _track(40e3)
    assert track.gap(30e3) == 0.0
    assert track.gap(41e3) == pytest.approx(RADIUS * 1e3 / (2 * SHEAR))
    with pytest.raises(ValueError, match="must exceed"):
        wall_resistance(MU, 1e-14, RADIUS, RADIUS / 2)


@pytest.mark.parametrize("rate_ml_h", [0.5, 10.0, 40.0])
@pytest.mark.parametrize("tissue", ["none", "decaying", "past_the_table", "above_sigma_near"])
def test_the_compiled_march_is_the_python_one(rate_ml_h, tissue):
    # the kernel against its Python reference on the same table: openings, lengths and paths
    z = np.linspace(0.0, 3e-3, 13)
    tables = {
        "none": None,
        "decaying": (z, 30e3 * np.exp(-z / 0.5e-3)),
        "past_the_table": (z[:4], np.full(4, 20e3)),  # 0 Pa beyond 0.75 mm
        "above_sigma_near": (z, 45e3 - 15e3 * z / z[-1]),  # pushes back near the tip
    }
    track = _track(40e3)
    q = rate_ml_h * 1e-6 / 3600
    fast = track.solve(q, tables[tissue], impl="compiled")
    slow = track.solve(q, tables[tissue], impl="numpy")
    assert fast.opening == pytest.approx(slow.opening, rel=1e-9)
    assert fast.length == pytest.approx(slow.length, rel=1e-9)
    np.testing.assert_allclose(fast.z, slow.z, rtol=1e-9, atol=1e-15)
    # near the closed end the flow is √(2W) of a W that cancels to ~1e-9 of W₀: round-off
    np.testing.assert_allclose(fast.flow, slow.flow, rtol=1e-8, atol=1e-9 * q)
    np.testing.assert_allclose(fast.leak, slow.leak, rtol=1e-9, atol=1e-6)
