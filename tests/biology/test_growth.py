"""Tumour growth and invasion against closed forms: logistic and Gompertz growth, the preset
doubling times, the Fisher–KPP front speed 2√(Dρ), and bounds on random states."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tissuefate.biology import (
    ProliferationInvasion,
    gompertz,
    invasion_diffusivity,
    logistic,
    proliferation_rate,
)
from tissuefate.tissue.presets import load_tissue

DAY = 86400.0


@pytest.mark.parametrize(("preset", "days"), [("hcc", 140.0), ("colorectal_metastasis", 71.0)])
def test_a_small_population_doubles_in_the_preset_doubling_time(preset, days):
    tissue = load_tissue("liver", [preset])
    t_d = tissue.materials[1].volume_doubling_time
    assert t_d == pytest.approx(days * DAY)
    rho = proliferation_rate(t_d)
    u0 = np.array([1e-6])
    u = logistic(u0, np.ones(1), rho, t_d)
    assert u[0] == pytest.approx(2e-6, rel=1e-5)  # 2 u0 / (1 + u0)


def test_logistic_matches_its_closed_form_and_composes():
    rho, k, u0 = 1e-6, 0.8, 0.01
    times = np.linspace(0, 8e6, 9)
    exact = k * u0 * np.exp(rho * times) / (k + u0 * (np.exp(rho * times) - 1))
    got = np.array([logistic(np.array([u0]), np.array([k]), rho, t)[0] for t in times])
    np.testing.assert_allclose(got, exact, rtol=1e-12)
    u = np.array([u0])
    for _ in range(8):  # eight steps of 1e6 s give the one of 8e6 s
        u = logistic(u, np.array([k]), rho, 1e6)
    assert u[0] == pytest.approx(exact[-1], rel=1e-12)


def test_gompertz_matches_its_closed_form():
    rho, k, u0 = 2e-7, 0.9, 1e-3
    for t in (0.0, 1e6, 5e6, 3e7):
        exact = k * math.exp(math.log(u0 / k) * math.exp(-rho * t))
        assert gompertz(np.array([u0]), np.array([k]), rho, t)[0] == pytest.approx(exact, 1e-12)
    assert gompertz(np.array([0.0]), np.array([k]), rho, 1e7)[0] == 0.0


def test_fisher_front_moves_at_two_root_d_rho_within_5_percent():
    # 1-D row: ρ = 1/day, D = 1 mm²/day -> 2 mm/day; the front (u = 1/2) tracked from day 10 to 30
    rho, d, h = 1.0 / DAY, 1e-6 / DAY, 0.1e-3
    n = 900
    u = np.zeros((n, 1, 1))
    u[:20] = 1.0
    model = ProliferationInvasion(h, rho, d, "logistic")
    capacity = np.ones_like(u)
    dt = 0.05 * DAY
    positions = {}
    for step in range(1, 601):
        u = model.step(u, capacity, dt)
        day = step * dt / DAY
        if abs(day - round(day)) < 1e-9 and round(day) in (10, 30):
            front = int(np.argmax(u[:, 0, 0] < 0.5))
            positions[round(day)] = front * h
    speed = (positions[30] - positions[10]) / (20 * DAY)
    assert speed == pytest.approx(2 * math.sqrt(d * rho), rel=0.05)
    # sharper: a front from steep initial data lags by (3/2) ln t (Bramson), in units of
    # sqrt(D/ρ) and 1/ρ; measured 1.910 mm/day against 1.918 (and 2.0 asymptotically)
    lag = 1.5 * math.log(30 / 10) * math.sqrt(d / rho)
    assert speed == pytest.approx((2 * math.sqrt(d * rho) * 20 * DAY - lag) / (20 * DAY), rel=0.015)


def test_invasion_diffusivity_doubles_a_2_cm_sphere_in_the_doubling_time():
    t_d = 140 * DAY
    d = invasion_diffusivity(t_d)
    speed = 2 * math.sqrt(d * proliferation_rate(t_d))
    radius = 0.01
    assert ((radius + speed * t_d) / radius) ** 3 == pytest.approx(2.0, rel=1e-12)


def test_no_invasion_into_full_voxels():
    u = np.zeros((5, 1, 1))
    u[0] = 1.0
    capacity = np.ones_like(u)
    capacity[2] = 0.0  # a wall of scar
    model = ProliferationInvasion(1e-3, 1e-6, 1e-9, "logistic")
    for _ in range(50):
        u = model.step(u, capacity, 3600.0)
    assert u[1, 0, 0] > 0
    assert u[2:, 0, 0].max() == 0.0


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 2**31 - 1),
    law=st.sampled_from(["logistic", "gompertz"]),
    rho_days=st.floats(1.0, 400.0),
    d_mm2_day=st.floats(0.0, 5.0),
    t_days=st.floats(0.01, 60.0),
)
def test_fractions_stay_in_bounds_on_random_states(seed, law, rho_days, d_mm2_day, t_days):
    rng = np.random.default_rng(seed)
    shape = (5, 4, 6)
    others = rng.uniform(0, 1, shape) * (rng.random(shape) < 0.6)
    u = rng.uniform(0, 1, shape) * (1 - others)
    capacity = 1.0 - others
    model = ProliferationInvasion(1e-3, 1.0 / (rho_days * DAY), d_mm2_day * 1e-6 / DAY, law)
    out = model.step(u, capacity, t_days * DAY)
    assert np.all(out >= 0.0)
    assert np.all(out <= capacity + 1e-12)  # occupied fraction never exceeds 1
    assert np.all(np.isfinite(out))
