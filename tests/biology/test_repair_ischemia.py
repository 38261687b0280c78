"""Ischaemic death in the repair model and the ``push`` switch of tumour growth.

Exact answers: cells without perfusion fall as ``e^{-t/τ}``, at half the threshold as
``e^{-t/(2τ)}``, at or above it not at all; a reversible occlusion kills the integral of the rate
over its recovery (checked against quadrature), whatever the step. Then the active block and the
quiescent fast path, which must not skip starving cells, and ``push``: growth beyond the free room
leaves overflow instead of displacing parenchyma.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
from scipy import integrate

from _repair_switches import REPAIR_OFF
from tissuefate.biology import RepairModel, load_repair, logistic, proliferation_rate
from tissuefate.biology.repair import REPAIR_FIELDS, RepairClock
from tissuefate.errors import ScenarioError
from tissuefate.grid import Grid, build_anatomy
from tissuefate.kernels import repair as kr
from tissuefate.tissue.presets import load_tissue
from tissuefate.tissue.state import TissueState

DAY = 86400.0
HOUR = 3600.0
TAU = 2 * HOUR
THRESHOLD = 0.5
QUIET = {  # every other process off, so only ischaemic death changes the cells
    **REPAIR_OFF,
    "injury_signal_lifetime": 1e30,  # the signal of the kill stays, so it can be counted
    "ischemic_death_time": TAU,
    "ischemia_threshold": THRESHOLD,
    "ischemic_immunogenicity": 0.7,
}


def _setup(shape=(8, 4, 4), presets=()):
    grid = Grid(shape, 1e-3)
    tissue = load_tissue("liver", list(presets))
    anatomy = build_anatomy(grid, [], [])
    return grid, tissue, anatomy, TissueState.initial(anatomy)


def _model(grid, anatomy, tissue, impl="compiled", push=False, **changes):
    params = dataclasses.replace(load_repair("liver"), **{**QUIET, **changes})
    return RepairModel(grid, anatomy, tissue, params, impl=impl, push=push)


def _run(model, state, seconds, step, **kw):
    for _ in model.advance(state, seconds, step, **kw):
        pass


# ------------------------------------------------------------------------------------------------
# exact solutions
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("impl", ["compiled", "numpy"])
def test_cells_without_blood_die_at_the_set_rate_and_perfused_cells_do_not(impl):
    grid, tissue, anatomy, state = _setup()
    access = np.array([0.0, 0.0, 0.25, 0.25, 0.5, 0.5, 0.8, 1.0])  # per plane
    state.vessels[...] = access[:, None, None]
    state.vessels[1], state.occlusion[1] = 1.0, 1.0  # fully occluded: no access either
    state.tumor[...] = 0.3
    state.normal[...] = 0.6
    state.debris[...] = 0.1
    vessels = state.vessels.copy()
    model = _model(grid, anatomy, tissue, impl)
    clock = RepairClock(5 * HOUR)
    for until in (3.0, 7.0, 12.0):  # stops off the 5 h grid
        for _ in model.run(state, clock, until * HOUR, occlusion_recovery_time=1e30):
            pass
    t = 12 * HOUR
    survive = np.array([math.exp(-t / TAU)] * 2 + [math.exp(-t / (2 * TAU))] * 2 + [1.0] * 4)
    survive = np.broadcast_to(survive[:, None, None], grid.shape)
    # to float32 round-off of the pools (and of their sum of 1, which crowding trims)
    np.testing.assert_allclose(state.tumor, 0.3 * survive, rtol=2e-6, atol=1e-7)
    np.testing.assert_allclose(state.normal, 0.6 * survive, rtol=2e-6, atol=1e-7)
    killed = 0.9 * (1.0 - survive)
    np.testing.assert_allclose(state.debris, 0.1 + killed, rtol=2e-6)  # the dead are debris
    np.testing.assert_allclose(state.injury, 0.7 * killed, rtol=2e-6, atol=1e-7)  # and signal
    np.testing.assert_array_equal(state.vessels, vessels)  # the supply itself is unchanged


@pytest.mark.parametrize("impl", ["compiled", "numpy"])
def test_a_recovering_occlusion_kills_the_integral_of_the_rate_whatever_the_step(impl):
    # (vessels, occlusion at the start): access rising through the threshold, staying below it,
    # tumour vessels above 1, and a voxel already at the threshold
    cases = [(1.0, 0.9), (0.4, 0.5), (1.3, 0.8), (1.0, 0.5), (0.0, 0.3)]
    tau_o = 0.5 * HOUR
    span = 6 * HOUR

    def exact(v, o0):
        def rate(t):
            a = min(1.0, v * (1.0 - o0 * math.exp(-t / tau_o)))
            return max(0.0, 1.0 - a / THRESHOLD) / TAU

        omega, _ = integrate.quad(rate, 0.0, span, points=[tau_o, 2 * tau_o], epsabs=1e-12)
        return math.exp(-omega)

    results = []
    for step in (span, 7 * 60.0):  # one step, or 52 short ones (the last cut short)
        grid, tissue, anatomy, state = _setup(shape=(len(cases), 2, 2))
        for i, (v, o0) in enumerate(cases):
            state.vessels[i], state.occlusion[i] = v, o0
        state.normal[...] = 1.0
        model = _model(grid, anatomy, tissue, impl)
        _run(model, state, span, step, occlusion_recovery_time=tau_o)
        results.append(state.normal[:, 0, 0].copy())
    expected = [exact(v, o0) for v, o0 in cases]
    assert expected[0] > 0.9  # over within ~20 min: the held start value would leave 0.09
    assert expected[3] == 1.0
    for got in results:
        np.testing.assert_allclose(got, expected, rtol=1e-5)


def test_tumour_cut_off_from_blood_dies_and_does_not_grow():
    grid, tissue, anatomy, state = _setup(shape=(6, 4, 4), presets=["hcc"])
    model = _model(grid, anatomy, tissue)
    rho = proliferation_rate(20 * DAY)
    model._rate[...] = rho
    state.tumor[...] = 0.05
    state.normal[...] = 0.95
    state.vessels[:3] = 0.0  # no blood: dies and does not grow
    _run(model, state, 6 * HOUR, 6 * HOUR)
    np.testing.assert_allclose(state.tumor[:3], 0.05 * math.exp(-3.0), rtol=2e-6)
    grown = logistic(np.array([0.05]), np.array([1.0]), rho, 6 * HOUR)[0]
    np.testing.assert_allclose(state.tumor[3:], grown, rtol=2e-6)  # perfused: grows as before


def test_ischaemia_is_the_repair_models_and_can_be_switched_off():
    grid, tissue, anatomy, state = _setup()
    state.vessels[...] = 0.0
    before = state.copy()
    _run(_model(grid, anatomy, tissue, ischemia_threshold=0.0), state, DAY, 6 * HOUR)
    np.testing.assert_array_equal(state.normal, before.normal)
    with pytest.raises(ScenarioError, match=r"repair\.parameters\.ischemia_threshold"):
        load_repair("liver", {"ischemia_threshold": "1.5"}, source="s.yaml")
    with pytest.raises(ScenarioError, match=r"repair\.parameters\.ischemic_death_time"):
        load_repair("liver", {"ischemic_death_time": "0 h"}, source="s.yaml")
    table = load_repair("liver").table()
    assert table["ischemic_death_time"]["value"] == pytest.approx(2 / 24)  # d
    assert table["ischemia_threshold"]["value"] == 0.5


# ------------------------------------------------------------------------------------------------
# the active block and the quiescent fast path
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("impl", ["compiled", "numpy"])
def test_starving_cells_that_are_otherwise_at_rest_are_stepped(impl):
    # a pocket where matrix and vessels are both at 0.2 (no regrowth, no room, nothing dead):
    # only ischaemia happens there, so only it can put the voxels in the block and past the
    # kernel's quiescent test
    grid, tissue, anatomy, state = _setup(shape=(16, 16, 16))
    pocket = (slice(6, 9), slice(7, 10), slice(5, 8))
    state.ecm[pocket] = 0.2
    state.vessels[pocket] = 0.2
    model = _model(grid, anatomy, tissue, impl)
    assert _model(grid, anatomy, tissue, ischemia_threshold=0.0).active_block(state, DAY) is None
    block = model.active_block(state, DAY)
    assert block is not None
    for b, p in zip(block, pocket, strict=True):
        assert b.start <= p.start
        assert p.stop <= b.stop
    before = state.copy()
    _run(model, state, 12 * HOUR, 6 * HOUR)
    rate = (1.0 - 0.2 / THRESHOLD) / TAU
    np.testing.assert_allclose(state.normal[pocket], math.exp(-rate * 12 * HOUR), rtol=2e-6)
    outside = np.ones(grid.shape, bool)
    outside[pocket] = False
    np.testing.assert_array_equal(state.normal[outside], before.normal[outside])


# ------------------------------------------------------------------------------------------------
# push
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("impl", ["compiled", "numpy"])
def test_with_push_growth_beyond_the_free_room_overflows_and_spares_parenchyma(impl):
    rho = proliferation_rate(DAY)
    out = {}
    for push in (False, True):
        grid, tissue, anatomy, state = _setup(shape=(4, 4, 4), presets=["hcc"])
        model = _model(grid, anatomy, tissue, impl, push=push)
        model._rate[...] = rho
        state.tumor[...] = 0.3
        state.normal[...] = 0.6  # free room 0.1
        _run(model, state, DAY, DAY)  # one step
        out[push] = state
    grown = logistic(np.array([0.3]), np.array([1.0]), rho, DAY)[0]  # capacity t + n + free
    assert grown - 0.3 > 0.1  # more than the free room
    for state in out.values():
        np.testing.assert_allclose(state.tumor, grown, rtol=2e-6)
    np.testing.assert_allclose(out[False].normal, 1.0 - grown, rtol=1e-5)  # displaced
    np.testing.assert_allclose(out[False].occupied(), 1.0, rtol=1e-6)
    np.testing.assert_array_equal(out[True].normal, np.float32(0.6))  # untouched
    np.testing.assert_allclose(out[True].occupied(), grown + 0.6, rtol=1e-6)  # overflow


def test_with_push_invasion_is_not_crowded_back():
    out = {}
    for push in (False, True):
        grid, tissue, anatomy, state = _setup(shape=(12, 3, 3), presets=["hcc"])
        model = _model(grid, anatomy, tissue, push=push)
        model._rate[...] = proliferation_rate(10 * DAY)
        model._tumor_d[...] = 1e-11  # m²/s, a front of a fraction of a voxel a day
        model._d["tumor"] = 1e-11
        state.tumor[:4] = 0.9
        state.normal[:4] = 0.1
        _run(model, state, 3 * DAY, 6 * HOUR)
        out[push] = state
    assert out[True].occupied().max() > 1.01  # tumour overflow stays for the mechanics
    np.testing.assert_array_equal(out[True].normal[4:], 1.0)  # parenchyma untouched
    assert out[False].occupied().max() <= 1.0 + 1e-5
    assert out[False].normal[4].max() < 0.999  # crowded out by the invading tumour
    assert model.vector(HOUR)[kr.PARAMETERS.index("push")] == 1.0


def test_repair_passes_only_its_fields_to_the_kernel_and_leaves_the_others():
    grid, tissue, anatomy, state = _setup()
    state.debris[:3] = 0.5
    state.normal[:3] = 0.5
    state.vessels[:3] = 0.0
    others = [name for name in state.field_names() if name not in REPAIR_FIELDS]
    for i, name in enumerate(others):
        getattr(state, name)[...] = 0.25 + i  # e.g. a mechanics model's displacements
    before = state.copy()
    model = RepairModel(grid, anatomy, tissue, load_repair("liver"))
    assert model.vector(HOUR)[kr.PARAMETERS.index("push")] == 0.0
    assert kr.PARAMETERS[-1] == "push"
    _run(model, state, 2 * DAY, 6 * HOUR)
    assert not np.array_equal(state.debris, before.debris)  # repair ran
    for name in others:
        np.testing.assert_array_equal(getattr(state, name), getattr(before, name))
