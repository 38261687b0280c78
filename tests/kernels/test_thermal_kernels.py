"""Compiled Pennes kernels against their NumPy references, on the same random inputs.

Inputs are physically sensible: temperature offsets 13..71 K from the reference, ``s = sqrt(k)`` in
0.5..0.9, ``ic = 1/(rho c)`` about 2.5e-7 m³K/J with some zeros (voxels held at a fixed
temperature), perfusion 0..3e4 W/m³/K, sources 0..1e7 W/m³, h = 1 mm and a time step below the
stability limit. Tolerances follow from the floating-point type (see ``_step_bound``).
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from tissuefate.damage.thermal import ThermalDose
from tissuefate.grid import Grid, Sphere, TumorShape, build_anatomy
from tissuefate.kernels import thermal as kt
from tissuefate.modalities.thermal import phase_windows
from tissuefate.physics.thermal import MAX_WINDOWS, PhaseWindow, ThermalSolver
from tissuefate.tissue import load_tissue

H = 1e-3  # m
DT = 0.5  # s; the stability limit of these inputs is above 0.69 s
# offsets (K) of the windows used below: a non-sink window and a sink (vaporisation) window
PLAIN_WINDOW = PhaseWindow(20.0, 30.0, 2.0)
SINK_WINDOW = PhaseWindow(62.0, 64.0, 25.0, sink=True)
FROZEN_WINDOW = PhaseWindow(-np.inf, -45.0, 0.5)  # out of reach: only tests the table's infinities
WINDOWS = (FROZEN_WINDOW, PLAIN_WINDOW, SINK_WINDOW)
EPS = {np.float32: float(np.finfo(np.float32).eps), np.float64: float(np.finfo(np.float64).eps)}
# Round-off allowed in one step, relative to the magnitude of the terms summed for a voxel (see
# _step_bound): each implementation rounds about ten times, each time by at most half an epsilon
# of that magnitude, in its own order, so they may differ by some 10 eps; 32 eps is 3.8e-6 for
# float32 and 7e-15 for float64 (measured: below 1 eps for both).
RTOL = {np.float32: 32 * EPS[np.float32], np.float64: 32 * EPS[np.float64]}


def _window_table(windows, t_ref, dtype):
    """The (3, 4) table ``(lo, hi, 1/factor, sink)`` in offsets, built as ThermalSolver does."""
    table = np.full((MAX_WINDOWS, 4), np.inf)
    table[:, 2] = 1.0
    table[:, 3] = 0.0
    for n, win in enumerate(sorted(windows, key=lambda w: w.lower)):
        table[n] = (win.lower - t_ref, win.upper - t_ref, 1.0 / win.factor, float(win.sink))
    bad = ~np.isfinite(table)
    table[bad] = np.copysign(3.0e38, table[bad])
    return table.astype(dtype)


def _pad(arr, dtype, mode="constant"):
    return np.ascontiguousarray(np.pad(np.asarray(arr, np.float64), 1, mode=mode), dtype)


def _inputs(rng, shape, dtype, ga=0.0, gs=-1.0, fixed_fraction=0.05):
    """Padded theta, s, ic, w, q of the given shape.

    Temperatures rise along the last axis from 16 to 68 K (4 K per voxel for 14 voxels) with
    +-3 K of noise, so that the rows cross both windows of ``WINDOWS`` with neighbours at similar
    temperatures: there conduction and the sources are of the same size, and voxels heat and cool
    in either window.
    """
    ramp = np.linspace(16.0, 68.0, shape[2])
    theta = ramp + rng.uniform(-3.0, 3.0, shape)
    theta_p = _pad(theta, dtype)
    kt.fill_ghosts(theta_p, ga, gs)
    s = _pad(np.sqrt(rng.uniform(0.25, 0.81, shape)), dtype, mode="edge")
    ic = 1.0 / rng.uniform(3.4e6, 4.4e6, shape)
    ic[rng.random(shape) < fixed_fraction] = 0.0
    w = rng.uniform(0.0, 3.0e4, shape)
    q = np.where(rng.random(shape) < 0.5, rng.uniform(0.0, 1.0e7, shape), 0.0)
    return theta_p, s, _pad(ic, dtype), _pad(w, dtype), _pad(q, dtype)


def _terms(theta, s, ic, w, q, a, dt, theta_a):
    """Per interior voxel (float64): the magnitude ``M`` of the heat terms summed, and ``|theta|``.

    ``M = a s_c sum_n s_n |theta_n - theta| + dt (|q| + |w (theta - theta_a)|)`` in J/m³: the
    round-off of the heat ``R`` gained in a step, in either implementation and whatever the
    summation order, is a few epsilons of ``M`` (``R`` itself may be much smaller: cancellation).
    """
    t = theta.astype(np.float64)
    s64 = s.astype(np.float64)
    c = t[1:-1, 1:-1, 1:-1]
    flux = np.zeros_like(c)
    for axis in range(3):
        for shift in (-1, 1):
            sl = [slice(1, -1)] * 3
            sl[axis] = slice(1 + shift, t.shape[axis] - 1 + shift)
            flux += s64[tuple(sl)] * np.abs(t[tuple(sl)] - c)
    inner = (slice(1, -1),) * 3
    mag = a * s64[inner] * flux + dt * (
        np.abs(q[inner].astype(np.float64)) + np.abs(w[inner] * (c - theta_a))
    )
    return mag, np.abs(c)


def _step_bound(theta, s, ic, w, q, a, dt, theta_a):
    """``|theta| + ic M`` on the padded shape: the scale of the round-off of ``out``."""
    mag, absc = _terms(theta, s, ic, w, q, a, dt, theta_a)
    inner = absc + ic[1:-1, 1:-1, 1:-1].astype(np.float64) * mag
    return np.pad(inner, 1, mode="edge")  # ghosts are +-1 times an interior value


def _fresh_front(theta, table):
    """The front of tissue with all its water: the sink window's lower edge (any value without)."""
    sink = table[:, 3] > 0
    lo = table[sink, 0][0] if sink.any() else -3.0e38
    return np.full_like(theta, lo)


def _run_step(
    kernel, theta, s, ic, w, q, table, theta_a=0.0, ga=0.0, gs=-1.0, front=None, hint=None
):
    """One step; ``front`` (padded, raised in place) defaults to tissue with all its water,
    ``hint`` (set in place) to no row known to meet a window."""
    out = np.full_like(theta, np.nan)
    loss = np.zeros((theta.shape[0], 3))
    front = _fresh_front(theta, table) if front is None else front
    hint = np.zeros(theta.shape[:2], np.uint8) if hint is None else hint
    kernel(theta, s, ic, w, q, out, loss, DT / H**2, DT, theta_a, table, front, ga, gs, hint)
    return out, loss


# ------------------------------------------------------------------------------------------------
# one step
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_pennes_step_equals_numpy_reference_to_round_off(dtype):
    rng = np.random.default_rng(11)
    theta, s, ic, w, q = _inputs(rng, (10, 12, 14), dtype)
    table = _window_table(WINDOWS, 0.0, dtype)
    out_c, _loss_c = _run_step(kt.pennes_step, theta, s, ic, w, q, table)
    out_n, _loss_n = _run_step(kt.pennes_step_numpy, theta, s, ic, w, q, table)

    assert np.isfinite(out_c).all()  # every interior value and every ghost was written
    assert out_c.dtype == dtype
    bound = RTOL[dtype] * _step_bound(theta, s, ic, w, q, DT / H**2, DT, 0.0)
    err = np.abs(out_c.astype(np.float64) - out_n)
    assert (err <= bound).all(), f"worst excess {np.max(err / bound):.3g} x the bound"


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("target", [25.0, 40.0])  # into the plain window; across it in one step
def test_a_voxel_stepping_into_or_across_a_window_from_a_cold_row_is_seen(dtype, target):
    # Every old value of the row lies below both windows, so the fast path runs first; the one
    # voxel whose step ends in (or jumps over) the plain window must send the row to the windows.
    shape = (3, 4, 9)
    theta = _pad(np.full(shape, 10.0), dtype)
    kt.fill_ghosts(theta, 0.0, -1.0)
    s = _pad(np.full(shape, 0.7), dtype, mode="edge")
    ic = np.full(shape, 1.0 / 3.9e6)
    q = np.zeros(shape)
    q[1, 2, 4] = (target - 10.0) / (DT * ic[1, 2, 4])  # plain-rate rise to `target`
    table = _window_table(WINDOWS, 0.0, dtype)
    args = (theta, s, _pad(ic, dtype), _pad(np.zeros(shape), dtype), _pad(q, dtype), table)
    out_c, _ = _run_step(kt.pennes_step, *args)
    out_n, _ = _run_step(kt.pennes_step_numpy, *args)

    plain = 10.0 + DT * ic[1, 2, 4] * q[1, 2, 4]  # the update without the window's heat capacity
    assert abs(out_n[2, 3, 5] - plain) > 2.0  # the window slows the voxel by whole kelvins
    bound = RTOL[dtype] * _step_bound(*args[:5], DT / H**2, DT, 0.0)
    assert (np.abs(out_c.astype(np.float64) - out_n) <= bound).all()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_the_row_hint_changes_no_result_and_marks_the_rows_that_met_a_window(dtype):
    rng = np.random.default_rng(5)
    theta, s, ic, w, q = _inputs(rng, (6, 8, 14), dtype)
    theta[:, 1:5, :] = 5.0  # rows far below both windows (the hint should clear there)
    table = _window_table(WINDOWS, 0.0, dtype)
    runs = {}
    for name, kernel, start in [
        ("none", kt.pennes_step, 0),
        ("all", kt.pennes_step, 1),  # every row sent straight to the windows
        ("numpy", kt.pennes_step_numpy, 0),
    ]:
        hint = np.full(theta.shape[:2], start, np.uint8)
        front = _fresh_front(theta, table)
        out, loss = _run_step(kernel, theta, s, ic, w, q, table, front=front, hint=hint)
        runs[name] = (out, loss, front, hint)
    bound = RTOL[dtype] * _step_bound(theta, s, ic, w, q, DT / H**2, DT, 0.0)
    for name in ("all", "numpy"):
        assert (np.abs(runs[name][0].astype(np.float64) - runs["none"][0]) <= bound).all(), name
        np.testing.assert_allclose(runs[name][1], runs["none"][1], rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(runs[name][2], runs["none"][2], rtol=1e-6)
    hint = runs["numpy"][3][1:-1, 1:-1]
    assert hint[:, :4].sum() == 0  # cold rows clear
    assert hint[:, 4:].all()  # warm rows set
    for name in ("none", "all"):  # the rows' hints; the ghost rows' are never read or set
        np.testing.assert_array_equal(runs[name][3][1:-1, 1:-1], hint)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_boundary_column_per_plane_equals_reference_and_sums_to_boundary_inflow(dtype):
    """``loss[:, 2]`` (inflow through the outer faces, per plane) against both references."""
    rng = np.random.default_rng(13)
    theta, s, ic, w, q = _inputs(rng, (10, 12, 14), dtype)
    table = _window_table(WINDOWS, 0.0, dtype)
    _, loss_c = _run_step(kt.pennes_step, theta, s, ic, w, q, table)
    _, loss_n = _run_step(kt.pennes_step_numpy, theta, s, ic, w, q, table)
    rtol = 1e-5 if dtype is np.float32 else 1e-12
    scale = np.abs(loss_n[:, 2]).max()
    np.testing.assert_allclose(loss_c[:, 2], loss_n[:, 2], rtol=rtol, atol=rtol * scale)
    total = kt.boundary_inflow_numpy(theta, s)
    assert loss_c[:, 2].sum() == pytest.approx(total, rel=rtol, abs=rtol * scale)
    assert loss_c[0, 2] == 0.0
    assert loss_c[-1, 2] == 0.0


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_pennes_step_loss_columns_equal_numpy_reference(dtype):
    """Perfusion sums to 1e-6 relative (float32; 1e-12 float64): each term is one product, >= 0.

    The latent-sink sums are compared against the magnitude of the terms of the heat gained in the
    sinking voxels, ``(1 - f) M``, since ``R`` there is a difference of conduction and sources.
    """
    rng = np.random.default_rng(12)
    theta, s, ic, w, q = _inputs(rng, (10, 12, 14), dtype)
    table = _window_table(WINDOWS, 0.0, dtype)
    out_n, loss_n = _run_step(kt.pennes_step_numpy, theta, s, ic, w, q, table)
    _, loss_c = _run_step(kt.pennes_step, theta, s, ic, w, q, table)

    rtol = 1e-6 if dtype is np.float32 else 1e-12
    assert (loss_n[1:-1, 0] > 0).all()
    np.testing.assert_allclose(loss_c[:, 0], loss_n[:, 0], rtol=rtol, atol=0.0)

    inner = (slice(1, -1),) * 3
    c = theta[inner]
    in_sink = (c >= SINK_WINDOW.lower) & (c < SINK_WINDOW.upper)
    gained = out_n[inner] > c  # heat gained (where ic > 0)
    mag, _ = _terms(theta, s, ic, w, q, DT / H**2, DT, 0.0)
    scale = np.where(in_sink, (1.0 - 1.0 / SINK_WINDOW.factor) * mag, 0.0).sum(axis=(1, 2))
    assert (loss_n[1:-1, 1] > 0).sum() >= 5, "several planes should sink latent heat"
    assert (loss_n[1:-1, 1][~(in_sink & gained).any(axis=(1, 2))] == 0).all()
    np.testing.assert_array_less(np.abs(loss_c[1:-1, 1] - loss_n[1:-1, 1]), rtol * scale + 1e-300)
    assert loss_c[0].tolist() == loss_c[-1].tolist() == [0.0, 0.0, 0.0]


def test_pennes_step_windows_slow_heating_and_sink_only_heat_gained():
    """Against the same step without windows.

    Inside the sink window heating voxels rise by ``f`` times the plain rate and lose the rest as
    latent heat, cooling voxels fall at the plain rate (no latent heat is given back); inside the
    plain window both directions are slowed by ``f`` while they stay inside, and a voxel that
    crosses an edge of it gains exactly the heat of the plain step in enthalpy.
    """
    rng = np.random.default_rng(11)
    dtype = np.float64
    theta, s, ic, w, q = _inputs(rng, (10, 12, 14), dtype, fixed_fraction=0.0)
    windows = _window_table(WINDOWS, 0.0, dtype)
    none = _window_table([], 0.0, dtype)
    out_w, loss_w = _run_step(kt.pennes_step, theta, s, ic, w, q, windows)
    out_0, loss_0 = _run_step(kt.pennes_step, theta, s, ic, w, q, none)

    c = theta[1:-1, 1:-1, 1:-1]
    live = ic[1:-1, 1:-1, 1:-1] > 0
    assert live.all()
    d_w = (out_w - theta)[1:-1, 1:-1, 1:-1]
    d_0 = (out_0 - theta)[1:-1, 1:-1, 1:-1]
    in_sink = live & (c >= 62.0) & (c < 64.0)
    in_plain = live & (c >= 20.0) & (c < 30.0)
    outside = live & ~in_sink & ~in_plain
    heating, cooling = d_0 > 0, d_0 < 0
    for region in (in_sink, in_plain):
        assert (region & heating).sum() >= 10
        assert (region & cooling).sum() >= 10
    tol = 1e-12 * _step_bound(theta, s, ic, w, q, DT / H**2, DT, 0.0)[1:-1, 1:-1, 1:-1]
    f_sink = 1.0 / SINK_WINDOW.factor
    f_plain = 1.0 / PLAIN_WINDOW.factor
    inside_sink = in_sink & heating & (c + f_sink * d_0 < 64.0)
    assert (np.abs(d_w - f_sink * d_0)[inside_sink] <= tol[inside_sink]).all()
    assert (np.abs(d_w - d_0)[in_sink & cooling] <= tol[in_sink & cooling]).all()
    stays = in_plain & (c + f_plain * d_0 >= 20.0) & (c + f_plain * d_0 < 30.0)
    assert (np.abs(d_w - f_plain * d_0)[stays] <= tol[stays]).all()

    def enthalpy(t):  # per base heat capacity: the plain window stores factor x per kelvin
        return t + (PLAIN_WINDOW.factor - 1.0) * np.clip(t, 20.0, 30.0)

    below_sink = (c < 62.0) & (c + d_w < 62.0)
    crossing = live & ~in_sink & ~stays & below_sink
    assert (crossing & in_plain).sum() >= 1
    assert (crossing & ~in_plain).sum() >= 1
    gained = enthalpy(c + d_w) - enthalpy(c)
    np.testing.assert_allclose(gained[crossing], d_0[crossing], rtol=1e-12, atol=1e-12)
    plain_outside = outside & (np.sign(c + d_0 - 20.0) == np.sign(c - 20.0))
    plain_outside &= np.sign(c + d_0 - 30.0) == np.sign(c - 30.0)
    plain_outside &= np.sign(c + d_0 - 62.0) == np.sign(c - 62.0)
    assert (np.abs(d_w - d_0)[plain_outside] <= tol[plain_outside]).all()
    # every joule of the step is either stored (enthalpy, sink windows store none) or sunk as
    # latent heat: per plane, stored + sunk = heat gained R = d_0 / ic
    r = d_0 / ic[1:-1, 1:-1, 1:-1]
    stored = (enthalpy(c + d_w) - enthalpy(c)) / ic[1:-1, 1:-1, 1:-1]
    assert (loss_w[1:-1, 1] > 0).any()
    np.testing.assert_allclose(
        stored.sum(axis=(1, 2)) + loss_w[1:-1, 1], r.sum(axis=(1, 2)), rtol=1e-9, atol=1e-6
    )
    np.testing.assert_allclose(loss_w[:, 0], loss_0[:, 0], rtol=1e-12)
    assert (loss_0[:, 1] == 0).all()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_pennes_step_with_partly_dried_voxels_equals_numpy_reference(dtype):
    """Fronts anywhere in the sink window (voxels that boiled partly dry): the compiled step and
    the reference give the same temperatures, latent heat and raised fronts."""
    rng = np.random.default_rng(17)
    theta, s, ic, w, q = _inputs(rng, (9, 10, 14), dtype)
    table = _window_table(WINDOWS, 0.0, dtype)
    front = _pad(rng.uniform(62.0, 64.0, (9, 10, 14)), dtype)
    front_c, front_n = front.copy(), front.copy()
    out_c, loss_c = _run_step(kt.pennes_step, theta, s, ic, w, q, table, front=front_c)
    out_n, loss_n = _run_step(kt.pennes_step_numpy, theta, s, ic, w, q, table, front=front_n)
    bound = _step_bound(theta, s, ic, w, q, DT / H**2, DT, 0.0)
    np.testing.assert_array_less(np.abs(out_c - out_n), RTOL[dtype] * bound + 1e-30)
    scale = np.abs(loss_n[:, 1]).max()
    np.testing.assert_allclose(loss_c[:, 1], loss_n[:, 1], rtol=0, atol=1e-4 * scale)
    inner = (slice(1, -1),) * 3
    np.testing.assert_array_less(np.abs(front_c - front_n)[inner], RTOL[dtype] * bound[inner])
    raised = front_n[inner] > front[inner]
    assert raised.sum() >= 10  # some voxels boiled further
    assert (front_n[inner] >= front[inner]).all()
    assert (front_n[inner] <= 64.0).all()


def test_pennes_step_pays_no_latent_heat_below_the_front():
    """Voxels boiled fully dry (front at the window's top) heat through the window at the plain
    rate and sink nothing; half-dried ones sink only above their front."""
    rng = np.random.default_rng(19)
    dtype = np.float64
    theta, s, ic, w, q = _inputs(rng, (10, 12, 14), dtype, fixed_fraction=0.0)
    windows = _window_table((SINK_WINDOW,), 0.0, dtype)
    none = _window_table([], 0.0, dtype)
    dry = np.full_like(theta, 64.0)
    out_d, loss_d = _run_step(kt.pennes_step, theta, s, ic, w, q, windows, front=dry)
    out_0, _ = _run_step(kt.pennes_step, theta, s, ic, w, q, none)
    tol = 1e-12 * _step_bound(theta, s, ic, w, q, DT / H**2, DT, 0.0)
    np.testing.assert_array_less(np.abs(out_d - out_0), tol + 1e-300)
    assert (loss_d[:, 1] == 0).all()
    assert (dry == 64.0).all()

    half = np.full_like(theta, 63.0)
    out_h, loss_h = _run_step(kt.pennes_step, theta, s, ic, w, q, windows, front=half)
    _out_f, loss_f = _run_step(kt.pennes_step, theta, s, ic, w, q, windows)
    c = theta[1:-1, 1:-1, 1:-1]
    d_0 = (out_0 - theta)[1:-1, 1:-1, 1:-1]
    d_h = (out_h - theta)[1:-1, 1:-1, 1:-1]
    f_sink = 1.0 / SINK_WINDOW.factor
    below = (c >= 62.0) & (c < 63.0) & (d_0 > 0) & (c + d_0 < 63.0)  # stays below the front
    above = (c >= 63.0) & (d_0 > 0) & (c + f_sink * d_0 < 64.0)  # boils on inside the window
    assert below.sum() >= 3
    assert above.sum() >= 3
    inner_tol = tol[1:-1, 1:-1, 1:-1]
    assert (np.abs(d_h - d_0)[below] <= inner_tol[below]).all()
    assert (np.abs(d_h - f_sink * d_0)[above] <= inner_tol[above]).all()
    assert 0 < loss_h[:, 1].sum() < loss_f[:, 1].sum()
    np.testing.assert_allclose(half[1:-1, 1:-1, 1:-1][above], (c + d_h)[above], rtol=1e-12)


def test_pennes_step_holds_voxels_with_zero_ic_and_sets_ghosts():
    rng = np.random.default_rng(13)
    theta, s, ic, w, q = _inputs(rng, (8, 9, 10), np.float64, ga=2.0 * 3.0, gs=-1.0)
    table = _window_table([], 0.0, np.float64)
    out, _ = _run_step(kt.pennes_step, theta, s, ic, w, q, table, ga=6.0, gs=-1.0)
    fixed = np.zeros(ic.shape, bool)
    fixed[1:-1, 1:-1, 1:-1] = ic[1:-1, 1:-1, 1:-1] == 0
    assert fixed.sum() > 0
    np.testing.assert_array_equal(out[fixed], theta[fixed])
    # Dirichlet ghosts: the face value (ghost + interior) / 2 is the boundary offset, 3 K
    np.testing.assert_allclose((out[0, 1:-1, 1:-1] + out[1, 1:-1, 1:-1]) / 2, 3.0, rtol=1e-12)
    np.testing.assert_allclose((out[1:-1, 1:-1, -1] + out[1:-1, 1:-1, -2]) / 2, 3.0, rtol=1e-12)


# ------------------------------------------------------------------------------------------------
# boundary and fixed-voxel heat flows
# ------------------------------------------------------------------------------------------------


def _flow_terms_boundary(theta, s):
    """Sum of |terms| of the boundary inflow, the scale of its round-off."""
    t, s64 = theta.astype(np.float64), s.astype(np.float64)
    total = 0.0
    inner = (slice(1, -1),) * 3
    for axis in range(3):
        for ghost, edge in ((0, 1), (-1, -2)):
            g, e = list(inner), list(inner)
            g[axis], e[axis] = ghost, edge
            total += np.sum(np.abs(s64[tuple(e)] * s64[tuple(g)] * (t[tuple(g)] - t[tuple(e)])))
    return total


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_boundary_inflow_equals_numpy_reference(dtype):
    rng = np.random.default_rng(21)
    theta, s, *_ = _inputs(rng, (9, 11, 13), dtype, ga=2.0 * 15.0, gs=-1.0)
    compiled = kt.boundary_inflow(theta, s)
    reference = kt.boundary_inflow_numpy(theta, s)
    # the compiled kernel multiplies in the field's type and sums in float64
    scale = _flow_terms_boundary(theta, s)
    assert abs(compiled - reference) <= 16 * EPS[dtype] * scale
    assert abs(reference) > 0.01 * scale  # a net flow, not a cancellation to noise


def test_boundary_inflow_is_zero_for_insulated_ghosts():
    rng = np.random.default_rng(22)
    theta, s, *_ = _inputs(rng, (9, 11, 13), np.float64, ga=0.0, gs=1.0)
    assert kt.boundary_inflow(theta, s) == 0.0
    assert kt.boundary_inflow_numpy(theta, s) == 0.0


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_fixed_inflow_equals_numpy_reference(dtype):
    rng = np.random.default_rng(23)
    theta, s, *_ = _inputs(rng, (9, 11, 13), dtype)
    idx = np.argwhere(rng.random((9, 11, 13)) < 0.1).astype(np.int64) + 1
    compiled = kt.fixed_inflow(theta, s, idx)
    reference = kt.fixed_inflow_numpy(theta, s, idx)
    i, j, k = idx.T
    t = theta.astype(np.float64)
    scale = sum(
        np.sum(
            np.abs(
                s[i, j, k] * s[i + di, j + dj, k + dk] * (t[i + di, j + dj, k + dk] - t[i, j, k])
            )
        )
        for di, dj, dk in ((-1, 0, 0), (1, 0, 0), (0, -1, 0), (0, 1, 0), (0, 0, -1), (0, 0, 1))
    )
    assert abs(compiled - reference) <= 16 * EPS[dtype] * scale
    assert abs(reference) > 1e-3 * scale


def test_fixed_inflow_of_a_single_voxel_is_its_conduction_by_hand():
    theta = np.zeros((5, 5, 5))
    s = np.full((5, 5, 5), 0.5)
    theta[2, 2, 2] = 1.0
    theta[1, 2, 2] = 4.0  # one hot neighbour
    s[1, 2, 2] = 0.8
    idx = np.array([[2, 2, 2]], dtype=np.int64)
    expected = 0.5 * (0.8 * 3.0 + 5 * 0.5 * (-1.0))
    assert kt.fixed_inflow(theta, s, idx) == pytest.approx(expected, rel=1e-15)
    assert kt.fixed_inflow_numpy(theta, s, idx) == pytest.approx(expected, rel=1e-15)


# ------------------------------------------------------------------------------------------------
# the compiled multi-step driver against numpy steps through ThermalSolver
# ------------------------------------------------------------------------------------------------

SHAPE = (12, 10, 14)


def _case(dtype, impl, with_dose):
    """A solver (and dose) on a small grid with a hot core around 100 degC, heated further.

    The core crosses the vaporisation window (a sink), the damage threshold is crossed on its
    flanks, a line of voxels is held at 37 degC (a vessel) and the faces at 40 degC.
    """
    rng = np.random.default_rng(31)
    grid = Grid(SHAPE, H)
    tissue = load_tissue("liver", ["tumor"])
    anatomy = build_anatomy(grid, [TumorShape("t", Sphere((0.0, 0.0, 0.0), 3e-3), 1)])
    k = rng.uniform(0.45, 0.6, SHAPE)
    rc = rng.uniform(3.5e6, 4.0e6, SHAPE)
    w = rng.uniform(0.0, 3.0e4, SHAPE)
    r2 = np.sum(grid.centres() ** 2, axis=-1)
    t0 = 37.0 + 64.0 * np.exp(-r2 / 5e-3**2) + rng.uniform(-1.0, 1.0, SHAPE)
    fixed = np.zeros(SHAPE, bool)
    fixed[2, :, 3] = True  # a vessel along y
    solver = ThermalSolver(
        grid, k, rc, w,
        reference_temperature=37.0,
        initial_temperature=t0,
        arterial_temperature=37.0,
        boundary="dirichlet",
        boundary_temperature=40.0,
        fixed=fixed,
        fixed_temperature=37.0,
        windows=phase_windows(tissue),
        dtype=dtype,
        impl=impl,
    )  # fmt: skip
    q = np.where(r2 < 4e-3**2, rng.uniform(1.0e7, 5.0e7, SHAPE), 0.0)
    solver.set_source(q)
    dose = ThermalDose(tissue, anatomy, 37.0, solver.theta, impl=impl) if with_dose else None
    return solver, dose


def _advance_both(dtype, with_dose, chunks=(4, 3, 5)):
    runs = {}
    for impl in ("compiled", "numpy"):
        solver, dose = _case(dtype, impl, with_dose)
        dt = 0.9 * solver.max_stable_dt(37.0)
        for n in chunks:
            solver.step(dt, n, dose)
        runs[impl] = (solver, dose)
    return runs


# After n steps the fields differ by the accumulated round-off of n steps; the explicit update is
# a contraction (stable time step), so it does not amplify: n times a few epsilon of the largest
# offset (64 K) is the bound.
FIELD_RTOL = {np.float32: 8 * EPS[np.float32], np.float64: 8 * EPS[np.float64]}
# Doses are exponentials of 1/T: a temperature error dT changes the rate by Ea/(R T^2) dT,
# about 0.25/K near 100 degC; the float32 field error is below 1e-4 K.
DOSE_RTOL = {np.float32: 1e-4, np.float64: 1e-9}


@pytest.mark.parametrize("with_dose", [False, True], ids=["no-dose", "dose"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_advance_equals_numpy_steps_fields_and_ledger(dtype, with_dose):
    runs = _advance_both(dtype, with_dose)
    comp, _ = runs["compiled"]
    ref, _ = runs["numpy"]
    assert comp.steps == ref.steps == 12
    assert comp.time == ref.time
    bound = 12 * FIELD_RTOL[dtype] * float(np.abs(ref.padded).max())
    np.testing.assert_allclose(comp.padded, ref.padded, rtol=0, atol=bound)
    np.testing.assert_allclose(comp.previous_padded, ref.previous_padded, rtol=0, atol=bound)
    assert comp.ledger.delivered == ref.ledger.delivered
    for name in ("perfusion", "boundary", "fixed", "vaporized"):
        c, r = getattr(comp.ledger, name), getattr(ref.ledger, name)
        assert r != 0.0, f"{name} should be exercised"
        assert c == pytest.approx(r, rel=1e-6), name


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_advance_with_dose_equals_numpy_doses(dtype):
    runs = _advance_both(dtype, True)
    comp, ref = runs["compiled"][1], runs["numpy"][1]
    assert (ref.omega > 0).sum() > 100
    assert (ref.omega >= 1).sum() > 10
    np.testing.assert_allclose(comp.omega, ref.omega, rtol=DOSE_RTOL[dtype], atol=1e-300)
    np.testing.assert_allclose(comp.cem43, ref.cem43, rtol=DOSE_RTOL[dtype], atol=1e-300)
    field_atol = 12 * FIELD_RTOL[dtype] * 64.0
    np.testing.assert_allclose(comp.peak, ref.peak, rtol=0, atol=field_atol)
    np.testing.assert_array_equal(comp.hot, ref.hot)
    np.testing.assert_array_equal(comp.was_hot, ref.was_hot)


def test_advance_with_zero_steps_changes_nothing():
    solver, dose = _case(np.float64, "compiled", True)
    before = solver.padded.copy()
    omega = dose.omega.copy()
    solver.step(0.1, 0, dose)
    np.testing.assert_array_equal(solver.padded, before)
    np.testing.assert_array_equal(dose.omega, omega)
    assert solver.steps == 0
    assert solver.ledger.net == 0.0


# ------------------------------------------------------------------------------------------------
# conservation: the energy ledger of the solver accounts for every joule
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("impl", ["compiled", "numpy"])
def test_energy_ledger_closes_with_vessels_boundary_and_vaporisation(impl):
    solver, _ = _case(np.float64, impl, False)
    e0 = solver.stored_energy()
    dt = 0.9 * solver.max_stable_dt(37.0)
    for n in (4, 3, 5):
        solver.step(dt, n)
    led = solver.ledger
    assert led.vaporized > 0
    assert led.fixed != 0
    assert led.boundary != 0
    assert led.perfusion > 0
    scale = max(abs(led.delivered), abs(led.boundary), abs(led.vaporized))
    assert solver.stored_energy() - e0 == pytest.approx(led.net, abs=1e-9 * scale)


@pytest.mark.parametrize("impl", ["compiled", "numpy"])
def test_energy_ledger_closes_when_fixed_voxels_sit_in_a_sink_window(impl):
    """Voxels held at a fixed temperature inside a sink (vaporisation) window do not vaporise.

    The heat conducted into them is already booked as ``fixed`` uptake; it must not be booked a
    second time as latent heat carried off by steam. Here a line of voxels is held at 100 degC,
    inside a 99..101 degC sink window, in insulated tissue at 120 degC that cools into it.
    """
    grid = Grid((10, 10, 10), H)
    shape = grid.shape
    fixed = np.zeros(shape, bool)
    fixed[5, 5, :] = True
    solver = ThermalSolver(
        grid, np.full(shape, 0.5), np.full(shape, 3.8e6), np.zeros(shape),
        reference_temperature=37.0,
        initial_temperature=120.0,
        arterial_temperature=37.0,
        boundary="insulated",
        fixed=fixed,
        fixed_temperature=100.0,
        windows=[PhaseWindow(99.0, 101.0, 50.0, sink=True)],
        dtype=np.float64,
        impl=impl,
    )  # fmt: skip
    e0 = solver.stored_energy()
    solver.step(0.9 * solver.max_stable_dt(37.0), 10)
    led = solver.ledger
    assert led.fixed > 0  # the tissue does lose heat to the held voxels
    change = solver.stored_energy() - e0
    assert change == pytest.approx(led.net, rel=1e-9), (
        f"stored energy changed by {change:.6g} J but the ledger says {led.net:.6g} J "
        f"(vaporized {led.vaporized:.6g} J, fixed uptake {led.fixed:.6g} J)"
    )


# ------------------------------------------------------------------------------------------------
# the on-disk kernel cache
# ------------------------------------------------------------------------------------------------

_RUN_SOLVER = textwrap.dedent(
    """
    import sys
    import numpy as np
    from tissuefate.grid import Grid
    from tissuefate.physics.thermal import ThermalSolver

    grid = Grid((8, 9, 10), 1e-3)
    fixed = np.zeros(grid.shape, bool)
    if sys.argv[1] == "vessel":
        fixed[2, :, 3] = True
    solver = ThermalSolver(
        grid, np.full(grid.shape, 0.5), np.full(grid.shape, 3.8e6), np.full(grid.shape, 1e3),
        reference_temperature=37.0, initial_temperature=50.0, arterial_temperature=37.0,
        fixed=fixed, fixed_temperature=37.0,
    )
    solver.step(0.5, 3)
    assert np.isfinite(solver.theta).all()
    """
)


@pytest.mark.slow
def test_cached_driver_runs_after_runs_with_and_without_fixed_voxels(tmp_path):
    """Three separate runs sharing one kernel cache: without vessels, with, with again.

    Each must succeed: a run reuses what earlier runs compiled. (About 25 s: the first run
    compiles every thermal kernel into the fresh cache.)
    """
    env = {**os.environ, "TISSUEFATE_CACHE_DIR": str(tmp_path)}
    for n, case in enumerate(("plain", "vessel", "vessel"), start=1):
        proc = subprocess.run(
            [sys.executable, "-c", _RUN_SOLVER, case],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert proc.returncode == 0, (
            f"run {n} ({case}) exited with {proc.returncode}: {proc.stderr[-2000:]}"
        )
