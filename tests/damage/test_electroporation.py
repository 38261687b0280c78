"""Electroporation survival (Peleg–Fermi) against its closed form, and the kill's mechanism: cells
to debris, matrix kept."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tissuefate.damage.electroporation import (
    apply_electroporation_kill,
    electroporation_omega,
    peleg_fermi_field,
    peleg_fermi_survival,
)
from tissuefate.grid import Grid, Sphere, TumorShape, build_anatomy
from tissuefate.tissue.state import TissueState

# Go-Smart NumaIRE defaults (Garcia, Davalos & Miklavčič 2014), in V/m
DEFAULTS = (3996e2, 1441e2, 0.03, 0.06)


@pytest.mark.parametrize(
    ("pulses", "lethal_v_cm", "width_v_cm", "one_percent_v_cm"),
    [(8, 3143, 892, 7241), (20, 2193, 434, 4187), (50, 892, 72, 1221), (90, 269, 6.5, 299)],
)
def test_survival_closed_form(
    pulses: int, lethal_v_cm: float, width_v_cm: float, one_percent_v_cm: float
) -> None:
    """The Fermi form F = 1/(1 + exp((E − E_c)/A)), E_c = E_c0 e^(−k1 n), A = A0 e^(−k2 n), over
    F(0): half survive at E_c and 1 % at E_c + A ln 99 but for that factor (the derived table of
    the defaults: 8, 20, 50, 90 pulses)."""
    e_c = DEFAULTS[0] * math.exp(-DEFAULTS[2] * pulses)
    a = DEFAULTS[1] * math.exp(-DEFAULTS[3] * pulses)
    assert e_c / 100 == pytest.approx(lethal_v_cm, rel=2e-3, abs=0.5)
    assert a / 100 == pytest.approx(width_v_cm, rel=5e-3, abs=0.05)
    at_zero = 1.0 / (1.0 + math.exp(-e_c / a))
    assert peleg_fermi_survival(e_c, pulses, *DEFAULTS) == pytest.approx(0.5 / at_zero)
    one_percent = e_c + a * math.log(99.0)
    assert one_percent / 100 == pytest.approx(one_percent_v_cm, rel=2e-3, abs=0.5)
    assert peleg_fermi_survival(one_percent, pulses, *DEFAULTS) == pytest.approx(0.01 / at_zero)
    assert peleg_fermi_survival(0.0, pulses, *DEFAULTS) == pytest.approx(1.0)
    assert 1 - at_zero == pytest.approx({8: 0.0287, 20: 0.0063}.get(pulses, 0.0), abs=1e-3)


def test_more_pulses_kill_at_lower_fields() -> None:
    field = np.linspace(0, 5e5, 5001)
    s = [peleg_fermi_survival(field, n, *DEFAULTS) for n in (10, 50, 90)]
    assert all(np.all(np.diff(si) <= 0) for si in s)  # survival falls with the field
    half = [field[np.argmax(si <= 0.5)] for si in s]  # and the lethal field with the pulses
    assert half[0] > half[1] > half[2]
    assert peleg_fermi_survival(0.0, 90, *DEFAULTS) == pytest.approx(1.0)
    assert peleg_fermi_survival(1e7, 90, *DEFAULTS) < 1e-300  # no overflow warning far above
    with pytest.raises(ValueError, match="pulses"):
        peleg_fermi_survival(1.0, -1, *DEFAULTS)


def test_omega_is_minus_log_survival() -> None:
    s = np.array([1.0, math.exp(-1.0), 0.0])
    np.testing.assert_allclose(electroporation_omega(s), [0.0, 1.0, 100.0])


def test_kill_moves_cells_to_debris_and_keeps_the_matrix() -> None:
    grid = Grid(shape=(6, 6, 6), spacing=1e-3)
    anatomy = build_anatomy(grid, [TumorShape("t", Sphere((0.0, 0.0, 0.0), 2e-3), 1)], [])
    state = TissueState.initial(anatomy)
    occupied = state.occupied().copy()
    ecm, vessels = state.ecm.copy(), state.vessels.copy()
    survival = np.full(grid.shape, 0.25)
    kt, kn = apply_electroporation_kill(state, survival, 0.5)
    assert kt > 0
    assert kn > 0
    np.testing.assert_allclose(state.occupied(), occupied, atol=1e-6)
    np.testing.assert_allclose(state.debris, 0.75 * occupied, atol=1e-6)
    np.testing.assert_array_equal(state.ecm, ecm)  # the scaffold is not heated: it stays
    np.testing.assert_allclose(state.vessels, vessels * (1 - 0.5 * 0.75), atol=1e-6)
    assert state.coagulated.sum() == 0  # nothing is heat-fixed


@pytest.mark.parametrize("pulses", [8, 50, 90])
@pytest.mark.parametrize("survival", [0.9, math.exp(-1.0), 0.01])
def test_the_field_of_a_survival_inverts_it(pulses, survival):
    field = peleg_fermi_field(survival, pulses, *DEFAULTS)
    assert peleg_fermi_survival(field, pulses, *DEFAULTS) == pytest.approx(survival, rel=1e-9)
    with pytest.raises(ValueError, match="survival"):
        peleg_fermi_field(0.0, pulses, *DEFAULTS)
