"""Radiofrequency, cryo and heat-sink cases against published numbers (reference/validation.md B).

Grids are 1 mm (see each case in ``tissuefate.validation.cases``). Fitted quantities are marked so
in the case names; the others are predictions held to the tolerance stated in each case.
"""

import pytest

from tissuefate.validation import cases


def _assert_judged(rows):
    judged = [r for r in rows if r.tolerance != float("inf")]
    assert judged
    for row in judged:
        assert row.ok, (
            f"{row.case}: {row.quantity}: {row.simulated} vs {row.exact} ({row.error:.3g})"
        )


_SIMS: dict = {}  # tests share the runs of one experiment


def _cryo_rows(names):
    """The named rows of validation/data/cryo.csv (in the file's order), by name."""
    from tissuefate.validation.cryo import cryo_calibration_rows

    rows = cryo_calibration_rows(names=names, sims=_SIMS)
    assert [r.case.split(":")[0] for r in rows] == [f"cryo {n}" for n in names]
    return dict(zip(names, rows, strict=True))


@pytest.mark.slow
def test_cryo_isotherms_of_one_probe_in_gel():
    """Littrup 2.4 mm (fitted), Littrup 1.7 mm and the PMC4850244 isotherm gaps (predicted)."""
    rows = _cryo_rows(("L1", "L2", "G1", "G2"))
    _assert_judged(list(rows.values()))
    assert rows["L1"].kind == "fitted"
    assert {rows[n].kind for n in ("L2", "G1", "G2")} == {"predicted"}
    # the lethal-ice diameter is the fitted number: it must be close, not just within 15 %
    assert abs(rows["L1"].error) < 0.05
    # the thinner probe freezes less (measured: 84 % of the diameter)
    assert rows["L2"].simulated < rows["L1"].simulated


@pytest.mark.slow
def test_clamping_the_blood_inflow_enlarges_the_iceball_in_vivo():
    """Pringle manoeuvre (2003 pig study): iceball 75 mm against 59 mm with the inflow open; the
    clamped -38 degC isotherm (46 mm) is the number liquid nitrogen's probe contact was fitted to,
    the ratio the number the liver's cryo_stasis_exposure was fitted to. The single 20 min
    freeze's other sizes are compared within 20 %."""
    rows = _cryo_rows(("P1", "P1-38", "P4", "P4-38", "P1/P4"))
    assert rows["P4"].simulated > 1.1 * rows["P1"].simulated
    for name in ("P4-38", "P1/P4"):
        assert rows[name].kind == "fitted"
        assert abs(rows[name].error) < 0.03
    assert {rows[n].kind for n in ("P1", "P1-38", "P4")} == {"predicted"}
    _assert_judged(list(rows.values()))


@pytest.mark.slow
def test_a_perfused_iceball_keeps_growing_over_a_long_or_second_freeze():
    """The same probe, inflow open: 75 mm after 40 min and 78 mm after two 20 min freezes,
    against 59 mm after 20 min. Chilled tissue shutting down by its exposure to cold lets the
    iceball grow on (66.9 and 67.1 mm on 2026-12-06; 58.8 and 56.8 with an immediate stasis
    at a fitted 8.6 degC), within 20 %; the fit used only the 20 min rows."""
    rows = _cryo_rows(("P1", "P2", "P2-38", "P3", "P3-38"))
    assert rows["P3"].simulated > 1.15 * rows["P1"].simulated
    assert rows["P2"].simulated > 1.15 * rows["P1"].simulated
    _assert_judged(list(rows.values()))


@pytest.mark.slow
def test_two_argon_probes_in_vivo_zone_width():
    """CVIR 2018: two argon probes, 15 min, swine liver in vivo: zone 4.3 cm wide (iceball
    4.5 cm); a prediction (probes 2.4 mm, 15 mm apart: assumptions). 36 mm on 2026-12-06: at
    the edge of its 20 %."""
    rows = _cryo_rows(("C3-width",))
    _assert_judged(list(rows.values()))


@pytest.mark.slow
@pytest.mark.xfail(
    strict=True,
    reason=(
        "two argon probes' zone in vivo is too short (measured 2026-12-06, tissuefate validate "
        "--only cryo): 51 mm long against 70.5 after a 15 min freeze (the probes' 40 mm "
        "freezing length is an assumption; argon's contact was fitted in gel)"
    ),
)
def test_cryo_in_vivo_rows_within_20_percent():
    rows = _cryo_rows(("C3-long",))
    _assert_judged(list(rows.values()))


@pytest.mark.slow
def test_radiofrequency_ex_vivo_zone_within_15_percent_and_in_vivo_predicted():
    """CVIR 2009's 2 cm cooled electrode: ex vivo (power fitted), then the same session in
    perfused liver at 37 °C (predicted: 5.76 mL, 26.2 × 20.0 mm, in vivo / ex vivo 0.52)."""
    rows = cases.radiofrequency_ex_vivo()
    _assert_judged(rows)
    in_vivo = [r for r in rows if "in vivo" in r.case]
    assert len(in_vivo) == 4
    assert all(r.kind == "predicted" for r in in_vivo)
    # perfusion shrinks the zone: the in vivo / ex vivo ratio is well below 1, as measured
    ratio = next(r for r in in_vivo if "in vivo / ex vivo" in r.case)
    assert 0.3 < ratio.simulated < 0.8


@pytest.mark.slow
def test_radiofrequency_in_perfused_liver_meets_the_fitted_flow():
    """Huang, Dodd & Lanctot 2012 (blood-perfused bovine liver, 3 cm cooled tip): the power fitted
    at 10 mL/min/100 g gives its 26.0 mL within 15 % (measured 25.7 mL) and its short axis within
    25 % (33.6 against 34.9 mm). The higher flows are predictions of ``tissuefate validate --only
    radiofrequency_perfusion``; at 50 mL/min/100 g the zone is 3.9 times the measured, the open
    failure (docs/validation.md)."""
    from tissuefate.validation.radiofrequency import perfused_measured, perfused_zone

    low, measured = perfused_zone(10.0), perfused_measured(10.0)
    assert low["volume_ml"] == pytest.approx(measured["volume_ml"], rel=0.15)
    assert low["short_axis_mm"] == pytest.approx(measured["short_axis_mm"], rel=0.25)
    # the white zone lies inside the zone of dead cells
    assert low["volume_ml"] < low["ablation_volume_ml"]


@pytest.mark.slow
def test_vessel_cuts_back_radiofrequency_more_than_microwave():
    _assert_judged(cases.vessel_heat_sink())


@pytest.mark.slow
def test_a_large_flowing_vessel_leaves_living_tissue_at_its_wall():
    """Lu et al. (AJR 2002): viable perivascular tissue inside in vivo RF zones around 7 of 7
    vessels over 5 mm (judged: at least 0.10 of the border voxels inside the zone survive)."""
    from tissuefate.validation.heat_sink import DIAMETER_FLOWS_ML_MIN, diameter_sink

    sink = diameter_sink(5.0, DIAMETER_FLOWS_ML_MIN[5.0])
    assert sink["perivascular_survival"] >= 0.10
    assert sink["zone_ratio"] < 1.0


@pytest.mark.slow
@pytest.mark.xfail(
    strict=True,
    reason=(
        "a 1 mm vessel (0.94 mL/min) leaves 0.70 of its border voxels alive inside the RF zone, "
        "where Lu et al. found viable perivascular tissue around none of 96 vessels under 2 mm "
        "(measured 2026-12-06, tissuefate validate, the electrode at its actual radius): heat "
        "closes a vessel once its wall has had the stasis dose, but this one's wall peaks at "
        "41.8 degC and it stays open; at 0.5 mm the zone without the vessel does not reach its "
        "wall, so the row is not converged in spacing"
    ),
)
def test_a_small_flowing_vessel_leaves_no_living_tissue_at_its_wall():
    from tissuefate.validation.heat_sink import DIAMETER_FLOWS_ML_MIN, diameter_sink

    assert diameter_sink(1.0, DIAMETER_FLOWS_ML_MIN[1.0])["perivascular_survival"] <= 0.05


@pytest.mark.slow
def test_the_flow_series_runs_every_session_to_the_experiments_energy_and_cools_at_1_ml_min():
    """Lehmann et al. (2016) ran every ablation to 15 kJ; so does the model (the session's
    ``energy``), and a tube perfused at 1 mL/min already takes at least 0.25 of the cooling at
    1500 mL/min (judged; 0.36 on 2026-12-06)."""
    from tissuefate.validation.heat_sink import (
        FLOW_SERIES_ML_MIN,
        LEHMANN_ENERGY_KJ,
        flow_saturation,
        lehmann_session,
    )

    for flow in (None, *FLOW_SERIES_ML_MIN):
        delivered = lehmann_session(flow).summary["sessions"][0]["delivered"]
        assert delivered["generator_energy_j"] == pytest.approx(LEHMANN_ENERGY_KJ * 1e3, rel=1e-6)
        assert delivered["energy_reached_s"] is not None
    reduction = flow_saturation()
    assert 0.0 < reduction[1.0] < reduction[10.0] < reduction[1500.0]
    assert reduction[1.0] >= 0.25 * reduction[1500.0]
