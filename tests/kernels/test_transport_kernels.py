"""Agent transport kernels: NumPy references, the exact reaction, and the titration front."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tissuefate.kernels import transport as kt
from tissuefate.validation.exact import titration_front


def test_titration_front_worked_number():
    # the example: D = 1e-9 m²/s, C0/Θ = 0.05, 1 h -> 0.595 mm
    assert titration_front(1e-9, 0.05, 1.0, 3600.0) == pytest.approx(0.595e-3, abs=0.001e-3)


@pytest.mark.parametrize("seed", [0, 1])
def test_diffuse_and_react_match_references(seed):
    rng = np.random.default_rng(seed)
    shape = (7, 6, 9)
    pad = tuple(n + 2 for n in shape)
    c = rng.uniform(0, 5, pad)
    d = rng.uniform(0, 2e-9, pad)
    d[rng.random(pad) < 0.1] = 0.0
    hold = (rng.random(shape) < 0.05).astype(np.uint8)
    outs = []
    for kernel in (kt.diffuse_step, kt.diffuse_step_numpy):
        out, inflow = np.zeros(pad), np.zeros(shape[0])
        kernel(c, d, hold, out, 0.1 / 2e-9, inflow)
        outs.append((out[1:-1, 1:-1, 1:-1], inflow))
    np.testing.assert_allclose(outs[0][0], outs[1][0], rtol=1e-12)
    np.testing.assert_allclose(outs[0][1], outs[1][1], rtol=1e-10, atol=1e-300)
    cc = rng.uniform(0, 5, shape)
    th = rng.uniform(0, 5, shape)
    th[0, 0, 0] = cc[0, 0, 0]  # δ = 0
    k = rng.uniform(0, 1e3, shape)
    res = []
    for kernel in (kt.react_step, kt.react_step_numpy):
        c2, t2, used = cc.copy(), th.copy(), np.zeros(shape[0])
        kernel(c2, t2, k, 0.7, used)
        res.append((c2, t2, used))
    for a, b in zip(res[0], res[1], strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)


def test_reaction_step_is_exact_and_conserves_the_difference():
    # one big step equals many small ones (the exact solution composes), and C - Θ is conserved
    c0, t0, k = (
        np.array([[[2.0, 1.0, 3.0]]]),
        np.array([[[1.0, 1.0, 5.0]]]),
        np.full((1, 1, 3), 0.3),
    )
    big_c, big_t = c0.copy(), t0.copy()
    kt.react_step(big_c, big_t, k, 10.0, np.zeros(1))
    small_c, small_t = c0.copy(), t0.copy()
    for _ in range(1000):
        kt.react_step(small_c, small_t, k, 0.01, np.zeros(1))
    np.testing.assert_allclose(big_c, small_c, rtol=1e-9)
    np.testing.assert_allclose(big_c - big_t, c0 - t0, rtol=1e-12)
    # the closed form at δ = 1, Θ0/C0 = 1/2: C = 1 / (1 - e^{-3}/2)
    assert big_c[0, 0, 0] == pytest.approx(1.0 / (1.0 - 0.5 * math.exp(-3.0)), rel=1e-12)


def _titration(h: float = 15e-6) -> dict[str, float]:
    """1-D: agent held at C0 at x = 0 against tissue of demand Θ (C0/Θ = 0.05), D = 1e-9 m²/s,
    a reaction fast enough to be a sharp front (k Θ dt = 1e3), for 1 h. Amounts are per unit
    cross-section (mol/m²)."""
    D, theta0, c0, t_end = 1e-9, 100.0, 5.0, 3600.0
    n = 120
    dt = 0.4 * h * h / D
    steps = math.ceil(t_end / dt)
    dt = t_end / steps
    c = np.zeros((n + 2, 3, 3))
    c[1] = c0
    d = np.full(c.shape, D)
    hold = np.zeros((n, 1, 1), np.uint8)
    hold[0] = 1
    theta = np.full((n, 1, 1), theta0)
    theta[0] = 0.0
    k = np.full((n, 1, 1), 1e3 / (theta0 * dt))
    out, inflow, used = np.zeros_like(c), np.zeros(n), np.zeros(n)
    injected = consumed = 0.0
    for _ in range(steps):
        for ghost, inner in ((0, 1), (2, 1)):  # closed sides: a 1-D row
            c[:, ghost, :] = c[:, inner, :]
            c[:, :, ghost] = c[:, :, inner]
        c[0], c[-1] = c[1], c[-2]
        kt.diffuse_step(c, d, hold, out, dt / h**2, inflow)
        injected += inflow.sum() * h
        row = np.ascontiguousarray(out[1:-1, 1:2, 1:2])
        kt.react_step(row, theta, k, dt, used)
        consumed += used.sum() * h
        out[1:-1, 1:2, 1:2] = row
        c, out = out, c
    return {
        # consumed demand over Θ; the held cell's half beyond x = 0 is not tissue
        "front": h * float((1.0 - theta[1:, 0, 0] / theta0).sum()) + 0.5 * h,
        "exact": titration_front(D, c0, theta0, t_end),
        "injected": injected,
        "in_tissue": float(c[2:-1, 1, 1].sum()) * h,
        "consumed": consumed,
    }


def test_fast_reaction_titration_front_within_3_percent():
    r = _titration()
    assert r["front"] == pytest.approx(r["exact"], rel=0.03)
    # mass: what the held cell gave = agent in the tissue + consumed
    assert r["injected"] == pytest.approx(r["in_tissue"] + r["consumed"], rel=1e-9)
