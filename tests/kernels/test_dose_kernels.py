"""Thermal dose and cell kill: compiled kernels, their NumPy references and the exact integrals.

Exact first (Arrhenius and CEM43 at constant temperature and on ramps), then compiled against
reference on random fields, then properties (doses never decrease, kill conserves cell content).
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from scipy import integrate

from tissuefate.damage.thermal import GAS_CONSTANT, arrhenius_time
from tissuefate.kernels import dose as kd

KELVIN = 273.15
T_REF = 37.0  # degC; the fields below are offsets from it
THRESHOLD = 42.0  # degC
THR = THRESHOLD - T_REF  # 5 K, exact in float32
# two materials: the liver pair of the presets and a steeper pair (Ea 628 kJ/mol)
A = np.array([7.39e39, 3.1e98])
EA = np.array([2.577e5, 6.28e5])
LN_A = np.log(A)
EA_R = EA / GAS_CONSTANT
KERNELS = {"compiled": kd.dose_interval, "numpy": kd.dose_interval_numpy}


class Dose:
    """The arrays a dose kernel updates, started at ``theta0`` (padded) as ThermalDose does."""

    def __init__(self, theta0: np.ndarray, material: np.ndarray) -> None:
        shape = material.shape
        self.material = material
        self.omega = np.zeros(shape)
        self.cem = np.zeros(shape)
        self.tmax = theta0[1:-1, 1:-1, 1:-1].astype(np.float32)
        self.hot = np.empty((shape[0], 4), np.int64)
        self.hot[:, 0::2] = np.iinfo(np.int64).max
        self.hot[:, 1::2] = -1
        self.cache = np.zeros((*shape, 4))
        self.was_hot = np.zeros(shape[:2], np.bool_)
        self.interval(kd.dose_interval_numpy, theta0, 0.0)

    def interval(self, kernel, theta, dt):
        kernel(theta, self.material, LN_A, EA_R, T_REF, THR, dt, self.omega, self.cem, self.tmax,
               self.hot, self.cache, self.was_hot)  # fmt: skip

    def copy(self) -> Dose:
        new = object.__new__(Dose)
        new.__dict__ = {k: v.copy() for k, v in self.__dict__.items()}
        return new


def _padded(inner: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(np.pad(inner, 1).astype(np.float32))


def _uniform_theta(offset: float, shape=(3, 4, 5)) -> np.ndarray:
    return _padded(np.full(shape, offset))


# ------------------------------------------------------------------------------------------------
# exact integrals
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kernel", KERNELS.values(), ids=KERNELS.keys())
@pytest.mark.parametrize("temperature", [42.5, 50.0, 55.0, 60.0])
def test_constant_temperature_gives_exact_arrhenius_and_cem43(kernel, temperature):
    material = np.zeros((3, 4, 5), np.uint8)
    material[1] = 1
    theta = _uniform_theta(temperature - T_REF)  # offsets 5.5, 13, 18, 23: exact in float32
    dose = Dose(theta, material)
    intervals = [0.7, 1.0, 0.25, 3.0, 1.05] * 2  # 12 s: both doses stay below their caps
    for dt in intervals:
        dose.interval(kernel, theta, dt)
    t = sum(intervals)
    t_k = temperature + KELVIN
    for m in (0, 1):
        expected = A[m] * t * math.exp(-EA[m] / (GAS_CONSTANT * t_k))
        np.testing.assert_allclose(dose.omega[material == m], expected, rtol=1e-9)
    r43 = 0.5 if temperature >= 43.0 else 0.25
    np.testing.assert_allclose(dose.cem, t / 60.0 * r43 ** (43.0 - temperature), rtol=1e-9)
    np.testing.assert_array_equal(dose.tmax, np.float32(temperature - T_REF))


def test_arrhenius_time_gives_omega_one_in_the_kernel():
    material = np.zeros((3, 4, 5), np.uint8)
    theta = _uniform_theta(60.0 - T_REF)
    t1 = arrhenius_time(60.0, A[0], EA[0])
    dose = Dose(theta, material)
    for _ in range(10):
        dose.interval(kd.dose_interval, theta, t1 / 10)
    np.testing.assert_allclose(dose.omega, 1.0, rtol=1e-9)


def _ramp_dose(kernel, start_c, stop_c, duration, step):
    """Dose of a linear temperature ramp integrated with intervals of ``step`` s."""
    material = np.zeros((2, 2, 3), np.uint8)
    n = round(duration / step)
    temps = np.linspace(start_c, stop_c, n + 1)
    dose = Dose(_uniform_theta(temps[0] - T_REF, (2, 2, 3)), material)
    for temp in temps[1:]:
        dose.interval(kernel, _uniform_theta(temp - T_REF, (2, 2, 3)), step)
    return dose


@pytest.mark.parametrize("kernel", KERNELS.values(), ids=KERNELS.keys())
def test_arrhenius_on_a_linear_ramp_matches_the_exact_integral(kernel):
    # 45 -> 70 degC over 60 s, 1 s intervals (5/12 K each): the rate grows 270-fold, and the
    # dose stays below OMEGA_CAP
    dose = _ramp_dose(kernel, 45.0, 70.0, 60.0, 1.0)

    def rate(t):
        return A[0] * math.exp(-EA[0] / (GAS_CONSTANT * (45.0 + 25.0 / 60.0 * t + KELVIN)))

    exact, _ = integrate.quad(rate, 0.0, 60.0, epsabs=0.0, epsrel=1e-12, limit=200)
    assert 1.0 < exact < kd.OMEGA_CAP  # the ramp kills
    np.testing.assert_allclose(dose.omega, exact, rtol=1e-3)


@pytest.mark.parametrize("kernel", KERNELS.values(), ids=KERNELS.keys())
def test_cem43_on_a_ramp_through_43_degc_matches_the_exact_integral(kernel):
    # 42.55 -> 48.55 degC over 60 s: R43 switches from 0.25 to 0.5 at 43 degC, mid-interval
    dose = _ramp_dose(kernel, 42.55, 48.55, 60.0, 1.0)

    def rate(t):
        temp = 42.55 + 0.1 * t
        return (0.5 if temp >= 43.0 else 0.25) ** (43.0 - temp) / 60.0

    exact, _ = integrate.quad(rate, 0.0, 60.0, points=[4.5], epsabs=0.0, epsrel=1e-12)
    np.testing.assert_allclose(dose.cem, exact, rtol=1e-3)


def test_threshold_crossing_counts_half_the_end_rate():
    """From a cold start the first hot interval counts ``dt r1 / 2`` (the documented rule)."""
    material = np.zeros((2, 2, 3), np.uint8)
    dose = Dose(_uniform_theta(THR - 1.0, (2, 2, 3)), material)
    dose.interval(kd.dose_interval, _uniform_theta(THR - 0.5, (2, 2, 3)), 1.0)
    assert (dose.omega == 0).all()
    assert (dose.cem == 0).all()
    dose.interval(kd.dose_interval, _uniform_theta(20.0, (2, 2, 3)), 2.0)
    r1 = A[0] * math.exp(-EA[0] / (GAS_CONSTANT * (57.0 + KELVIN)))
    np.testing.assert_allclose(dose.omega, 0.5 * 2.0 * r1, rtol=1e-9)


# ------------------------------------------------------------------------------------------------
# compiled against reference
# ------------------------------------------------------------------------------------------------


def _random_history(rng, shape, n):
    """``n`` padded offset fields wandering across the threshold (34..70 degC) in both ways."""
    theta = rng.uniform(-3.0, 20.0, shape)
    fields = [_padded(theta)]
    for _ in range(n):
        theta = np.clip(theta + rng.normal(0.0, 4.0, shape), -5.0, 33.0)
        fields.append(_padded(theta))
    return fields


def test_dose_interval_equals_numpy_over_successive_intervals():
    rng = np.random.default_rng(41)
    shape = (7, 9, 11)
    material = (rng.random(shape) < 0.3).astype(np.uint8)
    fields = _random_history(rng, shape, 12)
    comp = Dose(fields[0], material)
    ref = comp.copy()
    ups = downs = 0
    for before, after in itertools.pairwise(fields):
        dt = float(rng.uniform(0.2, 2.0))
        comp.interval(kd.dose_interval, after, dt)
        ref.interval(kd.dose_interval_numpy, after, dt)
        was, now = before[1:-1, 1:-1, 1:-1] >= THR, after[1:-1, 1:-1, 1:-1] >= THR
        ups += int((~was & now).sum())
        downs += int((was & ~now).sum())
        np.testing.assert_allclose(comp.omega, ref.omega, rtol=1e-9, atol=0)
        np.testing.assert_allclose(comp.cem, ref.cem, rtol=1e-9, atol=0)
        np.testing.assert_array_equal(comp.tmax, ref.tmax)
        np.testing.assert_array_equal(comp.hot, ref.hot)
        np.testing.assert_array_equal(comp.was_hot, ref.was_hot)
        # cached rates everywhere; cached exponents only where they are used (rate > 0)
        for col in (1, 3):
            np.testing.assert_allclose(comp.cache[..., col], ref.cache[..., col], rtol=1e-9)
        live = ref.cache[..., 1] > 0
        np.testing.assert_allclose(comp.cache[live][:, 0::2], ref.cache[live][:, 0::2], rtol=1e-12)
    assert ups > 100
    assert downs > 100
    assert (ref.omega > 1).sum() > 50
    assert (ref.omega == 0).sum() > 50


def test_hot_rows_and_block_bound_every_voxel_at_or_above_threshold():
    rng = np.random.default_rng(42)
    shape = (6, 7, 8)
    material = np.zeros(shape, np.uint8)
    fields = _random_history(rng, shape, 5)
    dose = Dose(fields[0], material)
    ever = fields[0][1:-1, 1:-1, 1:-1] >= THR
    for theta in fields[1:]:
        dose.interval(kd.dose_interval, theta, 1.0)
        ever |= theta[1:-1, 1:-1, 1:-1] >= THR
    for i in range(shape[0]):
        jj, kk = np.nonzero(ever[i])
        if jj.size == 0:
            assert dose.hot[i, 1] < dose.hot[i, 0]
        else:
            assert dose.hot[i].tolist() == [jj.min(), jj.max(), kk.min(), kk.max()]


@pytest.mark.parametrize("kernel", KERNELS.values(), ids=KERNELS.keys())
def test_voxels_past_both_caps_stop_accumulating(kernel):
    shape = (3, 4, 5)
    material = np.zeros(shape, np.uint8)
    theta = _uniform_theta(30.0, shape)  # 67 degC: both doses grow fast
    dose = Dose(theta, material)
    dose.interval(kernel, theta, 1.0)
    dose.omega[0] = kd.OMEGA_CAP
    dose.cem[0] = kd.CEM_CAP  # plane 0: past both caps
    dose.omega[1] = 2 * kd.OMEGA_CAP  # plane 1: past the Arrhenius cap only
    before = dose.copy()
    dose.interval(kernel, _uniform_theta(31.0, shape), 1.0)
    np.testing.assert_array_equal(dose.omega[0], before.omega[0])
    np.testing.assert_array_equal(dose.cem[0], before.cem[0])
    assert (dose.omega[1:] > before.omega[1:]).all()
    assert (dose.cem[1:] > before.cem[1:]).all()
    assert (dose.tmax == np.float32(31.0)).all()  # the peak is still recorded


# ------------------------------------------------------------------------------------------------
# properties of the dose
# ------------------------------------------------------------------------------------------------

_SHAPE = (2, 3, 4)
_temperature_field = hnp.arrays(
    np.float32,
    _SHAPE,
    elements=st.floats(-40.0, 120.0, width=32),  # offsets: -3 .. 157 degC
)


@settings(max_examples=60, deadline=None)
@given(
    fields=st.lists(_temperature_field, min_size=2, max_size=7),
    dts=st.lists(st.floats(1e-3, 5.0), min_size=6, max_size=6),
    steep=st.booleans(),
)
def test_doses_never_decrease_and_compiled_equals_numpy(fields, dts, steep):
    material = np.full(_SHAPE, int(steep), np.uint8)
    comp = Dose(_padded(fields[0]), material)
    ref = comp.copy()
    for theta, dt in zip(fields[1:], dts, strict=False):
        before = comp.copy()
        comp.interval(kd.dose_interval, _padded(theta), dt)
        ref.interval(kd.dose_interval_numpy, _padded(theta), dt)
        assert (comp.omega >= before.omega).all()
        assert (comp.cem >= before.cem).all()
        assert (comp.tmax >= before.tmax).all()
        np.testing.assert_allclose(comp.omega, ref.omega, rtol=1e-9)
        np.testing.assert_allclose(comp.cem, ref.cem, rtol=1e-9)
    assert np.isfinite(comp.omega).all()
    assert np.isfinite(comp.cem).all()


# ------------------------------------------------------------------------------------------------
# cell kill
# ------------------------------------------------------------------------------------------------


def _kill_state(rng, shape):
    total = rng.uniform(0.0, 1.0, shape)
    tumor = total * rng.uniform(0.0, 1.0, shape)
    normal = (total - tumor) * rng.uniform(0.0, 1.0, shape)
    coag = (1.0 - total) * rng.uniform(0.0, 1.0, shape)
    vessels = rng.uniform(0.0, 1.5, shape)
    f32 = [a.astype(np.float32) for a in (tumor, normal, coag, vessels)]
    w = np.pad(f32[3] * np.float32(5e3), 1).astype(np.float32)
    return {"tumor": f32[0], "normal": f32[1], "coagulated": f32[2], "vessels": f32[3], "w": w}


def _kill(kernel, omega, applied, st_, block, shutdown, stasis=1.0):
    (i0, i1), (j0, j1), (k0, k1) = block
    kernel(omega, applied, st_["tumor"], st_["normal"], st_["coagulated"], st_["vessels"],
           st_["w"], i0, i1, j0, j1, k0, k1, shutdown, stasis)  # fmt: skip


@pytest.mark.parametrize("compiled", [True, False])
def test_blood_flow_stops_at_the_stasis_dose_while_vessels_die_with_the_cells(compiled):
    """Perfusion falls by exp(-d / stasis_dose); microvessels and cells by exp(-d)."""
    shape = (3, 4, 5)
    rng = np.random.default_rng(57)
    d = rng.uniform(0.0, 6.0, shape)
    st_ = _kill_state(np.random.default_rng(58), shape)
    before = {k: a.copy() for k, a in st_.items()}
    kernel = kd.apply_kill if compiled else kd.apply_kill_numpy
    _kill(kernel, d, np.zeros(shape), st_, ((0, 3), (0, 4), (0, 5)), True, 1.0 / 3.0)
    inner = (slice(1, -1),) * 3
    np.testing.assert_allclose(
        st_["w"][inner], before["w"][inner] * np.exp(-d / 3.0), rtol=2e-6, atol=1e-30
    )
    np.testing.assert_allclose(st_["vessels"], before["vessels"] * np.exp(-d), rtol=2e-6)
    np.testing.assert_allclose(st_["tumor"], before["tumor"] * np.exp(-d), rtol=2e-6, atol=1e-30)


@pytest.mark.parametrize("shutdown", [True, False])
def test_apply_kill_equals_numpy_reference(shutdown):
    rng = np.random.default_rng(51)
    shape = (6, 7, 8)
    applied = rng.uniform(0.0, 3.0, shape)
    kind = rng.integers(0, 4, shape)
    d = np.choose(
        kind,
        [-rng.uniform(0, 1, shape), np.zeros(shape), rng.uniform(0, 1e-3, shape),
         rng.uniform(1e-3, 50.0, shape)],
    )  # fmt: skip
    omega = applied + d
    block = ((1, 5), (2, 7), (0, 8))
    states = {}
    for name, kernel in (("compiled", kd.apply_kill), ("numpy", kd.apply_kill_numpy)):
        st_ = _kill_state(np.random.default_rng(52), shape)
        app = applied.copy()
        _kill(kernel, omega, app, st_, block, shutdown)
        states[name] = (st_, app)
    (comp, app_c), (ref, app_r) = states["compiled"], states["numpy"]
    for key in comp:
        np.testing.assert_allclose(comp[key], ref[key], rtol=3e-7, atol=1e-30, err_msg=key)
    np.testing.assert_array_equal(app_c, app_r)
    # outside the block nothing moves; inside, applied catches up with omega where it rose
    untouched = _kill_state(np.random.default_rng(52), shape)
    inside = np.zeros(shape, bool)
    inside[1:5, 2:7, 0:8] = True
    np.testing.assert_array_equal(comp["tumor"][~inside], untouched["tumor"][~inside])
    np.testing.assert_array_equal(app_c[~inside], applied[~inside])
    np.testing.assert_array_equal(app_c[inside], np.where(d > 0, omega, applied)[inside])
    changed = (comp["tumor"] != untouched["tumor"]) | (comp["normal"] != untouched["normal"])
    assert changed[inside & (d > 1e-3)].mean() > 0.9
    if not shutdown:
        np.testing.assert_array_equal(comp["vessels"], untouched["vessels"])
        np.testing.assert_array_equal(comp["w"], untouched["w"])


def test_kill_in_two_increments_equals_kill_in_one():
    rng = np.random.default_rng(53)
    shape = (4, 5, 6)
    omega = rng.uniform(0.0, 4.0, shape)
    half = omega * rng.uniform(0.0, 1.0, shape)
    block = ((0, 4), (0, 5), (0, 6))
    once = _kill_state(np.random.default_rng(54), shape)
    twice = _kill_state(np.random.default_rng(54), shape)
    _kill(kd.apply_kill, omega, np.zeros(shape), once, block, True)
    applied = np.zeros(shape)
    _kill(kd.apply_kill, half, applied, twice, block, True)
    _kill(kd.apply_kill, omega, applied, twice, block, True)
    for key in once:
        np.testing.assert_allclose(twice[key], once[key], rtol=1e-6, atol=1e-7, err_msg=key)


_unit = st.floats(0.0, 1.0)


def _content(state):
    """Cell content of the pools a kill moves between (float64)."""
    return state["tumor"].astype(np.float64) + state["normal"] + state["coagulated"]


@settings(max_examples=80, deadline=None)
@given(
    u=hnp.arrays(np.float64, (4, 3, 2, 3), elements=_unit),
    vessels=hnp.arrays(np.float64, (3, 2, 3), elements=st.floats(0.0, 1.5)),
    applied=hnp.arrays(np.float64, (3, 2, 3), elements=st.floats(0.0, 10.0)),
    d=hnp.arrays(np.float64, (3, 2, 3), elements=st.one_of(st.just(0.0), st.floats(0.0, 200.0))),
    compiled=st.booleans(),
)
def test_apply_kill_keeps_fractions_and_conserves_cell_content(u, vessels, applied, d, compiled):
    total = u[0]
    tumor = (total * u[1]).astype(np.float32)
    normal = ((total - total * u[1]) * u[2]).astype(np.float32)
    coag = ((1.0 - total) * u[3]).astype(np.float32)
    v = vessels.astype(np.float32)
    w = np.pad(v * np.float32(4.2e3), 1).astype(np.float32)
    state = {"tumor": tumor, "normal": normal, "coagulated": coag, "vessels": v, "w": w}
    before = {k: a.copy() for k, a in state.items()}
    kernel = kd.apply_kill if compiled else kd.apply_kill_numpy
    _kill(kernel, applied + d, applied.copy(), state, ((0, 3), (0, 2), (0, 3)), True)

    for key in ("tumor", "normal", "coagulated"):
        assert (state[key] >= 0).all(), key
        assert (state[key] <= 1).all(), key
    np.testing.assert_allclose(_content(state), _content(before), rtol=0, atol=1e-6)
    assert (state["tumor"] <= before["tumor"]).all()
    assert (state["normal"] <= before["normal"]).all()
    assert (state["vessels"] <= before["vessels"]).all()
    # perfusion falls by exactly the vessels' survival
    inner = state["w"][1:-1, 1:-1, 1:-1]
    np.testing.assert_allclose(inner, state["vessels"] * np.float32(4.2e3), rtol=1e-6, atol=1e-30)
    assert (state["w"][0] == 0).all()
    assert (state["w"][:, :, -1] == 0).all()
