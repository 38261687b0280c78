"""What heat and cold leave behind: heat-fixed necrosis or debris, and the matrix, by mechanism.

A row of parenchyma voxels is given a killing Arrhenius dose and a prescribed peak temperature;
with the fixation ramp 55-65 degC and the matrix ramp 60-75 degC the split of the killed cells
between ``coagulated`` and ``debris`` and the surviving ``ecm`` follow in closed form.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from tissuefate.damage.cold import apply_cold_kill
from tissuefate.damage.thermal import (
    apply_thermal_kill,
    fixed_share,
    matrix_denatured_share,
    settle_heat_injury,
    temperature_ramp,
)
from tissuefate.errors import ScenarioError
from tissuefate.grid import Grid, build_anatomy
from tissuefate.tissue import load_tissue
from tissuefate.tissue.state import TissueState

OMEGA = 5.0  # kills 1 - exp(-5) = 99.3 % of the cells
# peak temperature (°C) of each voxel and what the ramps give there
PEAK = np.array([40.0, 52.0, 57.5, 60.0, 67.5, 90.0, 52.0, 90.0])
FIXED = np.array([0.0, 0.0, 0.25, 0.5, 1.0, 1.0, 0.0, 1.0])
DENATURED = np.array([0.0, 0.0, 0.0, 0.0, 0.5, 1.0, 0.0, 1.0])
DOSE = np.array([0.0, OMEGA, OMEGA, OMEGA, OMEGA, OMEGA, OMEGA, 0.0])
# voxels 6 and 7 hold dead tissue of an earlier session: 0.3 coagulated and 0.2 debris
EARLIER = (6, 7)


def _body():
    return dataclasses.replace(
        load_tissue("liver").body,
        fixation_temperature_low=55.0,
        fixation_temperature_high=65.0,
        matrix_denaturation_temperature_low=60.0,
        matrix_denaturation_temperature_high=75.0,
    )


def _row_state(n: int = len(PEAK)) -> TissueState:
    anatomy = build_anatomy(Grid(shape=(n, 1, 1), spacing=1e-3), [], [])
    state = TissueState.initial(anatomy)
    for i in EARLIER:
        state.normal[i] = 0.5
        state.coagulated[i] = 0.3
        state.debris[i] = 0.2
    return state


def _heat_session(state: TissueState, impl: str = "numpy"):
    """A session's kill (``DOSE``) and its settlement at the peak temperatures ``PEAK``."""
    shape = state.shape
    coagulated0 = state.coagulated.copy()
    applied = np.zeros(shape)
    omega = DOSE.reshape(shape).astype(np.float64)
    apply_thermal_kill(state, omega, applied, impl=impl)
    # during the session every killed cell is held as coagulated
    return settle_heat_injury(state, coagulated0, PEAK.reshape(shape).astype(np.float32), _body())


def test_ramps_are_zero_below_linear_inside_and_one_above():
    np.testing.assert_allclose(temperature_ramp(PEAK, 55.0, 65.0), FIXED, rtol=0, atol=1e-7)
    np.testing.assert_allclose(temperature_ramp(PEAK, 60.0, 75.0), DENATURED, rtol=0, atol=1e-7)
    np.testing.assert_allclose(fixed_share(PEAK, _body()), FIXED, atol=1e-7)
    np.testing.assert_allclose(matrix_denatured_share(PEAK, _body()), DENATURED, atol=1e-7)
    # equal ends: a step at that temperature
    np.testing.assert_array_equal(temperature_ramp([59.9, 60.0, 61.0], 60.0, 60.0), [0, 1, 1])
    with pytest.raises(ValueError, match="lies below"):
        temperature_ramp(PEAK, 65.0, 55.0)


@pytest.mark.parametrize("impl", ["numpy", "compiled"])
def test_killed_cells_split_by_peak_temperature_and_the_matrix_denatures(impl):
    state = _row_state()
    cells0 = (state.tumor + state.normal).astype(np.float64).ravel()
    coag0 = state.coagulated.astype(np.float64).ravel().copy()
    debris0 = state.debris.astype(np.float64).ravel().copy()
    ecm0 = state.ecm.astype(np.float64).ravel().copy()
    injury = _heat_session(state, impl)

    killed = cells0 * -math.expm1(-OMEGA) * (DOSE > 0)
    np.testing.assert_allclose(state.coagulated.ravel(), coag0 + killed * FIXED, rtol=1e-6, atol=0)
    np.testing.assert_allclose(
        state.debris.ravel(), debris0 + killed * (1 - FIXED), rtol=1e-6, atol=0
    )
    np.testing.assert_allclose(state.ecm.ravel(), ecm0 * (1 - DENATURED), rtol=1e-6, atol=0)
    np.testing.assert_allclose(
        (state.tumor + state.normal).ravel(), cells0 - killed, rtol=1e-5, atol=1e-7
    )
    # what the summary numbers say
    assert injury.fixed == pytest.approx(float((killed * FIXED).sum()), rel=1e-5)
    assert injury.loose == pytest.approx(float((killed * (1 - FIXED)).sum()), rel=1e-5)
    assert injury.matrix_lost == pytest.approx(float((ecm0 * DENATURED).sum()), rel=1e-6)


def test_dead_tissue_of_an_earlier_session_stays_as_it_was():
    state = _row_state()
    _heat_session(state)
    # voxel 6: new kill at 52 degC goes to debris, the earlier 0.3 coagulated stays coagulated
    assert state.coagulated[6, 0, 0] == pytest.approx(0.3, abs=1e-7)
    assert state.debris[6, 0, 0] == pytest.approx(0.2 + 0.5 * -math.expm1(-OMEGA), rel=1e-6)
    # voxel 7: no new kill at 90 degC: nothing moves between the dead pools, only the matrix goes
    assert state.coagulated[7, 0, 0] == pytest.approx(0.3, abs=1e-7)
    assert state.debris[7, 0, 0] == pytest.approx(0.2, abs=1e-7)
    assert state.ecm[7, 0, 0] == 0.0


def test_settling_conserves_dead_tissue_and_keeps_fractions_in_bounds():
    rng = np.random.default_rng(3)
    state = _row_state(64)
    shape = state.shape
    state.normal[...] = rng.uniform(0.0, 0.5, shape)
    state.coagulated[...] = rng.uniform(0.0, 0.25, shape)
    state.debris[...] = rng.uniform(0.0, 0.25, shape)
    coag0 = state.coagulated.copy()
    state.coagulated += state.normal * rng.uniform(0.0, 1.0, shape).astype(np.float32)
    dead = (state.coagulated + state.debris).astype(np.float64)
    peak = rng.uniform(37.0, 110.0, shape).astype(np.float32)
    settle_heat_injury(state, coag0, peak, _body())
    np.testing.assert_allclose(state.coagulated + state.debris, dead, rtol=1e-6, atol=1e-7)
    assert (state.coagulated >= coag0 - 1e-7).all()  # never below what earlier sessions left
    assert (state.debris >= 0).all()
    assert ((state.ecm >= 0) & (state.ecm <= 1)).all()


def test_cold_kill_makes_debris_and_leaves_the_matrix():
    state = _row_state()
    coag0, ecm0, debris0 = state.coagulated.copy(), state.ecm.copy(), state.debris.copy()
    cells0 = (state.tumor + state.normal).copy()
    survival = np.linspace(0.0, 1.0, state.tumor.size).reshape(state.shape)
    apply_cold_kill(state, survival)
    np.testing.assert_array_equal(state.ecm, ecm0)
    np.testing.assert_array_equal(state.coagulated, coag0)
    np.testing.assert_allclose(state.debris, debris0 + cells0 * (1 - survival), rtol=1e-6)


def test_preset_ramps_straddle_the_published_breakpoints_and_reject_reversed_ends():
    body = load_tissue("liver").body
    # cells: near-instant coagulation above 60 degC (Brace 2009); matrix: collagen denaturation
    # of hydrated fibres at 65 degC (Miles et al. 2005)
    assert body.fixation_temperature_low < 60.0 < body.fixation_temperature_high
    assert (
        body.matrix_denaturation_temperature_low < 65.1 < body.matrix_denaturation_temperature_high
    )
    assert body.damage_threshold < body.fixation_temperature_low
    assert set(body.sources) >= {
        "fixation_temperature_low",
        "fixation_temperature_high",
        "matrix_denaturation_temperature_low",
        "matrix_denaturation_temperature_high",
    }
    load_tissue("gel_phantom")  # the phantom preset still loads
    with pytest.raises(ScenarioError, match=r"tissue\.parameters\.fixation_temperature_high"):
        load_tissue("liver", overrides={"fixation_temperature_high": "50 degC"})
    with pytest.raises(
        ScenarioError, match=r"tissue\.parameters\.matrix_denaturation_temperature_high"
    ):
        load_tissue("liver", overrides={"matrix_denaturation_temperature_low": "80 degC"})
