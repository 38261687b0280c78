"""Irreversible electroporation sessions end to end: the summary's ire entry, the kill's
mechanism (cells to debris, matrix kept), the energy of the pulses in the heat solver, the Joule
heat of a pulse against the reference's figure, and a tissue that cannot be electroporated.

Two 18 G electrodes 10 mm apart along z through a 36 x 28 x 32 mm grid of liver at 1 mm, 12 mm
exposed, 1000 V (1000 V/cm), 20 pulses of 100 µs at 1 Hz: a 20 s train, then 60 s of cooling.
"""

from __future__ import annotations

from functools import cache

import numpy as np
import pytest

from tissuefate.course.controller import simulate
from tissuefate.errors import ScenarioError
from tissuefate.grid.grid import Grid
from tissuefate.physics.electroporation import ConductivityCurve, solve_pair
from tissuefate.scenario import loads_scenario
from tissuefate.tissue import load_tissue

TEMPLATE = """\
name: ire-test
grid: {{size: [36 mm, 28 mm, 32 mm], spacing: 1 mm}}
tissue: {{preset: {preset}, parameters: {{{parameters}}}}}
anatomy:
  tumors: [{tumors}]
strategies:
  ire:
    sessions:
      - modality: ire
        electrodes:
          - {{tip: [-5 mm, 0 mm, -6 mm], direction: [0, 0, -1], exposure: 12 mm}}
          - {{tip: [5 mm, 0 mm, -6 mm], direction: [0, 0, -1], exposure: 12 mm}}
        voltage: {volts} V
        pulses: {pulses}
        pulse_width: 100 us
        cooldown: 60 s
repair: {{enabled: false}}
"""


TUMOR = "{name: t, center: [0 mm, 0 mm, 0 mm], radius: 4 mm, preset: colorectal_metastasis}"


@cache
def _run(
    volts: float = 1000.0,
    pulses: int = 20,
    parameters: str = "",
    preset: str = "liver",
    tumors: str = TUMOR,
):
    text = TEMPLATE.format(
        volts=volts, pulses=pulses, parameters=parameters, preset=preset, tumors=tumors
    )
    return simulate(loads_scenario(text))


def _session(result):
    return result.summary["sessions"][0]


def _after(result, name):
    return result.fields[name].isel(snapshot=-1).values


def test_summary_has_the_ire_entry():
    s = _session(_run())
    assert s["modality"] == "ire"
    ire = s["ire"]
    (pair,) = s["delivered"]["pairs"]
    assert (pair["anode"], pair["cathode"], pair["voltage_v"]) == (0, 1, 1000.0)
    assert pair["distance_mm"] == pytest.approx(10.0)  # axis to axis, as clinical spacing
    assert pair["current_a"] > 1.5 * pair["current_initial_a"] > 0  # the tissue electroporated
    assert ire["lethal_zone"]["volume_ml"] > 0
    assert ire["electroporation_zone_ml"] > 0
    assert 0.0 <= ire["thermal_share"] <= 1.0
    assert ire["lethal_zone"]["volume_ml"] == pytest.approx(s["ablation_zone"]["volume_ml"])
    share = ire["coverage"]["tumor_share"]
    assert np.all(np.diff(share) <= 0)  # fewer of the tumour's cells above a higher threshold
    assert share[0] == pytest.approx(1.0)  # the whole 4 mm tumour sees more than 200 V/cm
    ts = _run().session_timeseries
    assert {"pair", "voltage_v", "current_a"} <= set(ts.columns)
    on = ts[ts["phase"] == "pair 0-1"]
    assert len(on) >= 2
    assert np.all(np.diff(on["current_a"]) >= 0)  # heating raises σ, and the current


def test_cells_die_into_debris_and_the_matrix_stays():
    res = _run(pulses=60)  # E_c(60) = 661 V/cm: the field kills outright well off the needles
    debris, ecm = _after(res, "debris"), _after(res, "ecm")
    ecm0 = res.fields["ecm"].isel(snapshot=0).values
    peak = res.fields["peak_temperature"].isel(session=0).values
    body = load_tissue("liver").body
    cool = peak < body.matrix_denaturation_temperature_low
    cells0 = (res.fields["tumor"] + res.fields["normal"]).isel(snapshot=0).values
    killed = np.where(cells0 > 0, debris / np.where(cells0 > 0, cells0, 1.0), 0.0)
    assert float(killed[cool].max()) > 0.99  # cells the field killed, without heat
    np.testing.assert_array_equal(ecm[cool], ecm0[cool])
    assert float(_after(res, "coagulated")[cool].max()) == 0.0
    # every cell lost is dead tissue now: the field's (debris) or the heat's
    lost = cells0 - _after(res, "tumor") - _after(res, "normal")
    dead = debris + _after(res, "coagulated")
    assert float(lost.sum(dtype=np.float64)) == pytest.approx(
        float(dead.sum(dtype=np.float64)), rel=1e-5
    )


def test_more_pulses_and_volts_kill_more():
    base = _session(_run())["ire"]["lethal_zone"]["volume_ml"]
    assert _session(_run(pulses=60))["ire"]["lethal_zone"]["volume_ml"] > 1.2 * base
    assert _session(_run(volts=1500.0))["ire"]["lethal_zone"]["volume_ml"] > 1.2 * base


def test_the_heat_solver_gets_the_energy_of_the_pulses():
    """Without σ's temperature coefficient the Joule heat is that of the train's first field:
    the heat solver is given exactly the electrical energy of the pulses, V² G τ n (no tumour:
    the parameter overrides the base tissue's)."""
    s = _session(_run(parameters="ire_conductivity_coefficient: 0 1/K", tumors=""))
    energy = s["energy"]
    assert energy["balance_residual_rel"] == pytest.approx(0.0, abs=1e-6)
    assert energy["delivered_j"] == pytest.approx(s["delivered"]["electrical_energy_j"], rel=1e-6)
    # with it, heating raises σ: more energy than the first field's
    warm = _session(_run())
    assert warm["energy"]["delivered_j"] > warm["delivered"]["electrical_energy_j"]


def test_joule_heat_of_a_pulse_matches_the_reference():
    """Between plates at 1500 V/cm liver is fully electroporated (σ1 = 0.32 S/m) and a 70 µs
    pulse heats it adiabatically by σE²τ/(ρc) = 0.14 K with ρc = 1060 × 3411 J/m³/K (12.5 K for
    90 pulses), 0.20 K for 100 µs: the reference's derived bound."""
    grid = Grid((12, 6, 6), 1e-3)
    anode = np.zeros(grid.shape, bool)
    anode[0] = True
    cathode = np.zeros(grid.shape, bool)
    cathode[-1] = True
    full = lambda v: np.full(grid.shape, v)  # noqa: E731
    curve = ConductivityCurve(full(0.08), full(0.32), full(35e3), full(70e3))
    volts = 1500e2 * 10e-3  # the plates' inner faces are 10 mm apart
    sol = solve_pair(curve, anode, cathode, volts, 1e-3)
    inside = ~(anode | cathode)
    np.testing.assert_allclose(sol.field[inside], 1500e2, rtol=1e-6)
    np.testing.assert_allclose(sol.sigma[inside], 0.32)
    rho_c = 1060.0 * 3411.0
    rise = sol.power_density[inside] * 70e-6 / rho_c
    np.testing.assert_allclose(rise, 0.14, rtol=0.01)
    np.testing.assert_allclose(rise * 90, 12.5, rtol=0.01)
    np.testing.assert_allclose(sol.power_density[inside] * 100e-6 / rho_c, 0.20, rtol=0.01)


def test_a_tissue_without_electroporation_properties_is_refused():
    with pytest.raises(ScenarioError, match="no electroporation properties") as err:
        _run(preset="gel_phantom")
    assert err.value.key == "tissue"
