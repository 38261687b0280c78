"""The repair model: exact clearance and growth, the compiled kernels against their NumPy
references, bounds on random states (hypothesis), the active block against the full grid, and the
mechanisms the issue names (inward clearance, fixed vs loose necrosis, the fibrosis switch, vessels
not through scar, shielded tumour, occlusion recovery)."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from _repair_switches import REPAIR_OFF
from tissuefate.biology import RepairModel, load_repair, logistic, proliferation_rate
from tissuefate.biology.repair import REPAIR_FIELDS, RepairClock
from tissuefate.errors import ScenarioError
from tissuefate.grid import Grid, Sphere, TumorShape, build_anatomy
from tissuefate.kernels import repair as kr
from tissuefate.tissue.presets import load_tissue
from tissuefate.tissue.state import TissueState

DAY = 86400.0
OFF = REPAIR_OFF  # every process off: tests switch on the one they check


def _setup(shape=(12, 10, 8), spacing=1e-3, tumors=(), base="liver", presets=()):
    grid = Grid(shape, spacing)
    tissue = load_tissue(base, list(presets))
    anatomy = build_anatomy(grid, list(tumors), [])
    return grid, tissue, anatomy, TissueState.initial(anatomy)


def _model(grid, anatomy, tissue, impl="compiled", use_block=True, law="logistic", **changes):
    params = dataclasses.replace(load_repair("liver"), **changes)
    return RepairModel(grid, anatomy, tissue, params, law=law, impl=impl, use_block=use_block)


def _run(model, state, days, step_h=6.0, **kw):
    for _ in model.advance(state, days * DAY, step_h * 3600.0, **kw):
        pass


# ------------------------------------------------------------------------------------------------
# exact solutions
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("impl", ["compiled", "numpy"])
def test_pure_clearance_decays_exponentially_at_the_set_rate(impl):
    grid, tissue, anatomy, state = _setup()
    kd, kc, p0 = 0.4 / DAY, 0.05 / DAY, 0.7
    model = _model(
        grid,
        anatomy,
        tissue,
        impl,
        **{**OFF, "debris_clearance_rate": kd, "coagulated_clearance_rate": kc},
    )
    state.normal[...] = 0.2
    state.debris[...] = 0.5
    state.coagulated[...] = 0.3
    state.phagocytes[...] = p0
    clock = RepairClock(5.0 * 3600.0)
    for until in (1.0, 5.0, 15.0):  # stops on days 1 and 5, off the 5 h grid
        for _ in model.run(state, clock, until * DAY):
            pass
    t = 15 * DAY
    np.testing.assert_allclose(state.debris, 0.5 * math.exp(-kd * p0 * t), rtol=2e-6)
    np.testing.assert_allclose(state.coagulated, 0.3 * math.exp(-kc * p0 * t), rtol=2e-6)
    np.testing.assert_allclose(state.phagocytes, p0)  # held: no recruitment, no loss
    removed = state.debris.size * (
        0.8 - 0.5 * math.exp(-kd * p0 * t) - 0.3 * math.exp(-kc * p0 * t)
    )
    assert clock.cleared == pytest.approx(removed, rel=1e-5)  # the clearance ledger


def test_clearance_rate_is_independent_of_the_step():
    grid, tissue, anatomy, a = _setup()
    b = a.copy()
    for s in (a, b):
        s.debris[...] = 0.6
        s.normal[...] = 0.4
        s.phagocytes[...] = 0.5
    m = _model(grid, anatomy, tissue, **{**OFF, "debris_clearance_rate": 0.3 / DAY})
    _run(m, a, 12, step_h=1.0)
    _run(m, b, 12, step_h=24.0)
    np.testing.assert_allclose(a.debris, b.debris, rtol=1e-6)


@pytest.mark.parametrize("law", ["logistic", "gompertz"])
def test_isolated_tumour_grows_as_the_closed_form_at_the_preset_doubling_time(law):
    grid, tissue, anatomy, state = _setup(shape=(6, 6, 6), presets=["hcc"])
    state.normal[...] = 0.0
    state.tumor[...] = 1e-3  # uniform: no invasion, free room 0.999 everywhere
    model = _model(grid, anatomy, tissue, law=law, **OFF)
    rho = proliferation_rate(tissue.materials[1].volume_doubling_time)
    model._rate[...] = rho  # an isolated tumour of the hcc preset fills the little grid
    _run(model, state, 140.0, step_h=24.0)
    if law == "logistic":
        exact = logistic(np.array([1e-3]), np.array([1.0]), rho, 140 * DAY)[0]
        assert exact == pytest.approx(2e-3 / (1 + 1e-3), rel=1e-9)  # doubling in T_d
    else:
        exact = math.exp(math.log(1e-3) * math.exp(-rho * 140 * DAY))
    np.testing.assert_allclose(state.tumor, exact, rtol=2e-6)


def test_occlusion_recovers_with_the_given_time_and_water_relaxes():
    grid, tissue, anatomy, state = _setup()
    state.occlusion[...] = 0.8
    state.water[...] = 0.7
    model = _model(grid, anatomy, tissue, **OFF, edema_time=2 * DAY)
    _run(model, state, 3.0, occlusion_recovery_time=0.5 * DAY)
    np.testing.assert_allclose(state.occlusion, 0.8 * math.exp(-6.0), rtol=2e-6)
    np.testing.assert_allclose(state.water, 1.0 - 0.3 * math.exp(-1.5), rtol=2e-6)


def test_inflammation_rises_with_the_signal_and_resolves():
    grid, tissue, anatomy, state = _setup()
    model = _model(
        grid, anatomy, tissue, **{**OFF, "inflammation_gain": 2 / DAY}, inflammation_time=3 * DAY
    )
    killed = np.ones(grid.shape, np.float32)
    model.injure(state, killed, 0.5)
    assert np.allclose(state.injury, 0.5)
    peaks = []
    for _ in range(20):
        _run(model, state, 1.0)
        peaks.append(float(state.inflammation.mean()))
    top = int(np.argmax(peaks))
    assert 0 < top < 6
    assert peaks[top] > 0.1
    assert peaks[-1] < 0.05 * peaks[top]  # ... and resolves
    np.testing.assert_allclose(state.injury, 0.5 * math.exp(-10.0), rtol=1e-5)  # 2 d lifetime
    with pytest.raises(ValueError, match="immunogenicity"):
        model.injure(state, killed, -1.0)


# ------------------------------------------------------------------------------------------------
# kernels against the NumPy reference
# ------------------------------------------------------------------------------------------------


def _random_state(rng, shape, tissue_mask=True):
    occ = rng.dirichlet(np.ones(7), size=shape).astype(np.float32)  # 6 pools + free room
    occ *= rng.uniform(0.3, 1.0, (*shape, 1)).astype(np.float32)
    f = {
        name: np.ascontiguousarray(occ[..., i])
        for i, name in enumerate(
            ["tumor", "normal", "coagulated", "debris", "myofibroblasts", "collagen"]
        )
    }
    zero = rng.random(shape) < 0.3
    for name in ("tumor", "debris", "coagulated", "myofibroblasts", "collagen"):
        f[name][zero & (rng.random(shape) < 0.5)] = 0.0
    u = lambda lo, hi: rng.uniform(lo, hi, shape).astype(np.float32)  # noqa: E731
    f.update(
        ecm=u(0, 1),
        vessels=u(0, 1.2),
        occlusion=u(0, 1),
        inflammation=u(0, 1.5),
        water=u(0.6, 1.3),
        injury=u(0, 2) * (rng.random(shape) < 0.5),
        phagocytes=u(0, 1),
    )
    rest = {k: np.zeros(shape, np.float32) for k in TissueState.field_names() if k not in f}
    return TissueState(**{k: f[k].astype(np.float32) for k in REPAIR_FIELDS}, **rest)


def test_repair_kernel_matches_its_numpy_reference():
    rng = np.random.default_rng(5)
    shape = (9, 8, 7)
    grid, tissue, anatomy, _ = _setup(shape=shape, presets=["hcc"])
    params = load_repair("liver")
    out = {}
    for impl in ("compiled", "numpy"):
        for law in ("logistic", "gompertz"):
            state = _random_state(np.random.default_rng(5), shape)
            model = RepairModel(grid, anatomy, tissue, params, law=law, impl=impl)
            p = model.vector(8 * 3600.0, 0.3 * DAY)
            view = state.as_dict()
            demand = np.empty(shape, np.float32)
            (kr.neighbour_max if impl == "compiled" else kr.neighbour_max_numpy)(
                view["coagulated"], view["debris"], demand
            )
            caps = [np.empty(shape, np.float32) for _ in range(3)]
            cleared = np.zeros(shape[0])
            tissue_mask = (rng.random(shape) > 0.1).astype(np.uint8)
            rate = np.full(shape, 1e-7, np.float32)
            tissue_mask = (np.random.default_rng(9).random(shape) > 0.1).astype(np.uint8)
            (kr.repair_step if impl == "compiled" else kr.repair_step_numpy)(
                *(view[k] for k in REPAIR_FIELDS), tissue_mask, rate, demand, p, *caps, cleared
            )
            out[impl, law] = (state.as_dict(), demand, caps, cleared)
    for law in ("logistic", "gompertz"):
        a, b = out["compiled", law], out["numpy", law]
        for name in a[0]:
            np.testing.assert_allclose(a[0][name], b[0][name], rtol=2e-5, atol=1e-6, err_msg=name)
        np.testing.assert_allclose(a[1], b[1], rtol=1e-6)
        for x, y in zip(a[2], b[2], strict=False):
            np.testing.assert_allclose(x, y, rtol=2e-5, atol=1e-6)
        np.testing.assert_allclose(a[3], b[3], rtol=1e-5, atol=1e-9)
        assert a[3].sum() > 0


def test_pool_totals_match_their_numpy_reference():
    state = _random_state(np.random.default_rng(11), (13, 9, 7))
    normal0 = np.random.default_rng(12).random(state.shape).astype(np.float32)
    state.collagen[0] = 0.5  # exactly at the scar threshold: counted
    args = (state.tumor, state.coagulated, state.debris, state.myofibroblasts, state.collagen,
            state.normal, normal0, state.inflammation)  # fmt: skip
    got, ref = kr.pool_totals(*args), kr.pool_totals_numpy(*args)
    np.testing.assert_allclose(got, ref, rtol=1e-9)
    assert got[5] == np.count_nonzero(state.collagen >= 0.5) >= 63
    assert got[7] == pytest.approx(float(state.inflammation.max()))


def test_a_whole_model_run_matches_between_compiled_and_numpy():
    grid, tissue, anatomy, s0 = _setup(
        shape=(14, 12, 10), tumors=[TumorShape("t", Sphere((0, 0, 0), 3.5e-3), 1)], presets=["hcc"]
    )
    _lesion(s0, grid, radius=3e-3)
    _lesion(s0, grid, radius=2e-3, center=(4.5e-3, 3e-3, 0.0))  # bordered by healthy liver
    states = {}
    for impl in ("compiled", "numpy"):
        s = s0.copy()
        model = _model(grid, anatomy, tissue, impl)
        _run(model, s, 20.0)
        states[impl] = s
    for name in TissueState.field_names():
        np.testing.assert_allclose(
            getattr(states["compiled"], name),
            getattr(states["numpy"], name),
            atol=2e-5,
            err_msg=name,
        )


# ------------------------------------------------------------------------------------------------
# bounds (property tests)
# ------------------------------------------------------------------------------------------------

_rates = st.floats(0.0, 5.0)  # per day


@pytest.mark.slow
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 2**31 - 1),
    k=st.lists(_rates, min_size=8, max_size=8),
    gains=st.lists(st.floats(0.0, 10.0), min_size=3, max_size=3),
    step_h=st.floats(0.5, 48.0),
    law=st.sampled_from(["logistic", "gompertz"]),
)
def test_fractions_stay_in_bounds_and_the_voxel_never_overfills(seed, k, gains, step_h, law):
    shape = (7, 6, 5)
    grid, tissue, anatomy, _ = _setup(shape=shape, presets=["hcc"])
    state = _random_state(np.random.default_rng(seed), shape)
    model = _model(
        grid,
        anatomy,
        tissue,
        law=law,
        inflammation_gain=k[0] / DAY,
        phagocyte_recruitment_rate=k[1] / DAY,
        debris_clearance_rate=k[2] / DAY,
        coagulated_clearance_rate=k[3] / DAY,
        myofibroblast_activation_rate=k[4] / DAY,
        collagen_deposition_rate=k[5] / DAY,
        regeneration_rate=k[6] / DAY,
        vessel_regrowth_rate=k[7] / DAY,
        fibrosis_gain=gains[0],
        trapped_necrosis_gain=gains[1],
        ecm_collapse_gain=gains[2],
        phagocyte_diffusivity=1e-9,  # fast enough to sub-step
    )
    model._rate[...] = 5.0 / DAY
    _run(model, state, 3.0, step_h=step_h)
    tol = 2e-6  # float32 round-off
    for name in ("tumor", "normal", "coagulated", "debris", "myofibroblasts", "collagen", "ecm"):
        arr = getattr(state, name)
        assert (arr >= 0).all(), name
        assert (arr <= 1 + tol).all(), name
    assert (state.occupied() <= 1 + 4 * tol).all()
    assert (state.phagocytes >= 0).all()
    assert (state.phagocytes <= 1 + tol).all()
    assert (state.inflammation >= 0).all()
    assert (state.injury >= 0).all()
    assert (state.occlusion >= 0).all()
    assert (state.occlusion <= 1).all()
    assert (state.vessels >= 0).all()
    for arr in state.as_dict().values():
        assert np.isfinite(arr).all()


# ------------------------------------------------------------------------------------------------
# the active block
# ------------------------------------------------------------------------------------------------


def _lesion(state, grid, radius, kind="coagulated", center=(0.0, 0.0, 0.0)):
    """Kill a sphere: cells to ``kind``, vessels die; return the mask."""
    x, y, z = np.meshgrid(*(a * 1e-3 for a in grid.axes_mm()), indexing="ij")
    mask = (x - center[0]) ** 2 + (y - center[1]) ** 2 + (z - center[2]) ** 2 <= radius**2
    dead = state.tumor[mask] + state.normal[mask]
    getattr(state, kind)[mask] += dead
    state.tumor[mask] = 0.0
    state.normal[mask] = 0.0
    state.vessels[mask] = 0.0
    state.injury[mask] += 0.3 * dead
    return mask


@pytest.mark.slow
def test_the_active_block_gives_the_full_grid_result():
    grid, tissue, anatomy, s0 = _setup(
        shape=(40, 36, 34), tumors=[TumorShape("t", Sphere((2e-3, 0, 0), 4e-3), 1)], presets=["hcc"]
    )
    _lesion(s0, grid, radius=5e-3, center=(-3e-3, 0, 0))
    results = []
    for use_block in (True, False):
        s = s0.copy()
        model = _model(grid, anatomy, tissue, use_block=use_block)
        block = model.active_block(s, DAY)
        if use_block:
            real = [b.stop - b.start < n for b, n in zip(block, grid.shape, strict=True)]
            assert all(real)  # a real block, not the whole grid
        _run(model, s, 30.0)
        results.append(s)
    for name in TissueState.field_names():
        np.testing.assert_allclose(
            getattr(results[0], name), getattr(results[1], name), atol=1e-6, err_msg=name
        )


def test_untouched_tissue_is_left_alone():
    grid, tissue, anatomy, state = _setup()
    model = _model(grid, anatomy, tissue)
    assert model.active_block(state, DAY) is None
    before = state.copy()
    _run(model, state, 30.0)
    for name in TissueState.field_names():
        np.testing.assert_array_equal(getattr(state, name), getattr(before, name))


# ------------------------------------------------------------------------------------------------
# mechanisms
# ------------------------------------------------------------------------------------------------


def _slab(kind, shape=(30, 4, 4), depth=24):
    """Dead tissue in x < depth voxels, perfused parenchyma beyond: clearance enters from +x."""
    grid, tissue, anatomy, state = _setup(shape=shape)
    getattr(state, kind)[:depth] = 1.0
    state.normal[:depth] = 0.0
    state.vessels[:depth] = 0.0
    return grid, tissue, anatomy, state


def test_clearance_works_inward_from_perfused_tissue_and_fixed_necrosis_clears_slowly():
    left = {}
    for kind in ("debris", "coagulated"):
        grid, tissue, anatomy, state = _slab(kind)
        model = _model(grid, anatomy, tissue)
        _run(model, state, 20.0)
        profile = getattr(state, kind)[:24, 2, 2]
        assert profile[-1] < profile[0] - 0.2  # the edge next to perfused tissue clears first
        assert profile[0] > 0.95  # the deep end is hardly reached yet
        assert np.all(np.diff(profile) <= 1e-6)  # monotone from the deep end outward
        left[kind] = 24 * 16 - float(getattr(state, kind).sum())  # cleared
    assert left["debris"] > 1.4 * left["coagulated"]  # heat-fixed tissue clears more slowly


def test_fibrosis_switch_immunogenic_kill_scars_and_low_signal_regenerates():
    out = {}
    for imm in (0.2, 1.0):
        grid, tissue, anatomy, state = _setup(shape=(24, 24, 24))
        mask = _lesion(state, grid, radius=5e-3, kind="debris")
        state.injury[mask] = imm  # the kill's signal
        model = _model(grid, anatomy, tissue)
        _run(model, state, 60.0)
        out[imm] = (float(state.collagen[mask].sum()), float(state.normal[mask].sum()))
    assert out[1.0][0] > 3 * out[0.2][0]  # more inflammation, more collagen (H5)
    assert out[0.2][1] > out[1.0][1]  # and less regeneration


def test_collapsed_matrix_fills_with_scar_and_walls_off_what_is_left():
    grid, tissue, anatomy, state = _slab("debris", shape=(30, 4, 4), depth=24)
    state.ecm[:24] = 0.0  # the scaffold collapsed with the cells
    state.injury[:24] = 0.0
    model = _model(grid, anatomy, tissue)
    _run(model, state, 90.0)
    assert state.collagen[22:24].min() > 0.5  # cleared room without matrix becomes scar
    assert state.normal[:24].max() < 0.05  # nothing regenerates without matrix
    assert state.vessels[:22].max() < 1e-3  # no vessels grow into it, so clearance stalls
    assert state.debris[:15].min() > 0.9  # and the dead tissue behind the scar stays


def test_matrix_kept_lets_parenchyma_and_vessels_return():
    grid, tissue, anatomy, state = _slab("debris", shape=(30, 4, 4), depth=8)
    state.injury[:8] = 0.0  # a non-immunogenic kill with the scaffold kept
    model = _model(grid, anatomy, tissue)
    _run(model, state, 120.0)
    assert state.debris.max() < 0.02
    assert state.normal[:8].mean() > 0.8  # regenerated
    assert state.vessels[:8].mean() > 0.8
    assert state.collagen.max() < 0.1


def test_tumour_inside_scar_is_shielded_and_tumour_in_liver_grows():
    grid, tissue, anatomy, state = _setup(shape=(10, 10, 10), presets=["hcc"])
    model = _model(grid, anatomy, tissue, **OFF)
    model._rate[...] = proliferation_rate(20 * DAY)
    state.tumor[:5] = 0.05
    state.normal[:5] = 0.0
    state.collagen[:5] = 0.95  # scar: no room, no vessels
    state.vessels[:5] = 0.0
    state.tumor[5:] = 0.05
    state.normal[5:] = 0.95  # liver: the tumour displaces parenchyma
    _run(model, state, 40.0)
    np.testing.assert_allclose(state.tumor[:5], 0.05, rtol=1e-4)  # no room, no blood: dormant
    rho = proliferation_rate(20 * DAY)
    exact = logistic(np.array([0.05]), np.array([1.0]), rho, 40 * DAY)[0]  # 0.174
    np.testing.assert_allclose(state.tumor[6:], exact, rtol=1e-4)
    np.testing.assert_allclose(state.occupied()[5:], 1.0, atol=1e-5)


def test_surviving_fractions_below_one_cell_per_voxel_die_out():
    grid, tissue, anatomy, state = _setup(shape=(6, 6, 6), presets=["hcc"])
    model = _model(grid, anatomy, tissue, **OFF)
    assert model.extinction == pytest.approx(1.0 / (1e8 * 1e6 * 1e-9))  # 1e8 cells/mL, 1 mm³
    state.tumor[...] = 0.5 * model.extinction
    state.tumor[0, 0, 0] = 2 * model.extinction
    state.normal[...] = 0.0
    state.coagulated[...] = 0.9
    _run(model, state, 0.25)
    assert state.tumor.sum() == pytest.approx(state.tumor[0, 0, 0])
    assert state.tumor[0, 0, 0] > 0


# ------------------------------------------------------------------------------------------------
# parameters
# ------------------------------------------------------------------------------------------------


def test_every_repair_parameter_of_the_liver_preset_has_a_provenance():
    params = load_repair("liver")
    table = params.table()
    assert set(table) == set(kr_schema())
    for name, row in table.items():
        assert row["provenance"], name
    assert table["remodelling_time"]["units"] == "d"
    assert table["remodelling_time"]["value"] == pytest.approx(730.0)


def kr_schema():
    from tissuefate.biology import REPAIR_SCHEMA

    return REPAIR_SCHEMA


def test_repair_overrides_are_checked():
    p = load_repair("liver", {"heat_immunogenicity": "0.5"})
    assert p.heat_immunogenicity == 0.5
    assert p.sources["heat_immunogenicity"] == "scenario override"
    with pytest.raises(ScenarioError, match=r"repair\.parameters\.nonsense"):
        load_repair("liver", {"nonsense": "1"}, source="s.yaml")
    with pytest.raises(ScenarioError, match=r"repair\.parameters\.inflammation_time"):
        load_repair("liver", {"inflammation_time": "0 d"}, source="s.yaml")
    with pytest.raises(ScenarioError, match=r"repair\.parameters\.debris_clearance_rate"):
        load_repair("liver", {"debris_clearance_rate": "2 mm"}, source="s.yaml")
    assert load_repair("gel_phantom") is None
    with pytest.raises(ScenarioError, match="no repair model"):
        load_repair("gel_phantom", {"edema_gain": "0.1"})
