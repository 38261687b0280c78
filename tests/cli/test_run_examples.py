"""End to end: the shipped examples through the command line and the Python API.

``reference_pennes.yaml`` runs as shipped (64 mm at 1 mm, 600 s: about ten seconds);
``mwa_single.yaml`` runs reduced (48 mm at 1.5 mm, 60 W for 3 min).
"""

from __future__ import annotations

import csv
import json
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

import tissuefate
from tissuefate.cli import app
from tissuefate.course.policy import STOP_REASONS
from tissuefate.io import open_fields
from tissuefate.scenario import loads_scenario
from tissuefate.tissue import FIELD_INFO

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
# reference/validation.md A: centre of the heated sphere after 600 s, 37 degC baseline
EXACT_PEAK_C = 97.38
BASELINE_C = 37.0

SESSION_KEYS = {
    "day", "modality", "delivered", "peak_temperature_c", "min_temperature_c", "solver",
    "ablation_zone", "tumor_kill_fraction", "min_margin_mm", "normal_necrosis_ml",
}  # fmt: skip
OUTCOME_KEYS = {
    "days", "viable_tumor_ml", "visible_tumor_ml", "scar_ml", "normal_lost_ml", "tumor_free",
    "days_to_no_visible_tumor", "local_progression_day", "treatability",
}  # fmt: skip
TIMESERIES_COLUMNS = {
    "day", "viable_tumor_ml", "visible_tumor_ml", "necrotic_ml", "scar_ml", "normal_lost_ml"
}  # fmt: skip


@pytest.fixture(scope="module")
def reference_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("cli") / "reference"
    result = CliRunner().invoke(
        app, ["run", str(EXAMPLES / "reference_pennes.yaml"), "-o", str(out), "-q"]
    )
    assert result.exit_code == 0, result.output
    return out, result.output


@pytest.fixture(scope="module")
def summary(reference_run):
    out, _ = reference_run
    return json.loads((out / "summary.json").read_text(encoding="utf-8"))


# ------------------------------------------------------------------------------------------------
# the reference problem: exact answer and energy balance
# ------------------------------------------------------------------------------------------------


def test_reference_run_peak_is_within_3_percent_of_the_exact_rise(summary):
    peak = summary["sessions"][0]["peak_temperature_c"]
    rise = peak - BASELINE_C
    assert rise == pytest.approx(EXACT_PEAK_C - BASELINE_C, rel=0.03)
    assert summary["sessions"][0]["min_temperature_c"] == pytest.approx(BASELINE_C, abs=1e-3)


def test_reference_run_energy_balance_closes(summary):
    energy = summary["sessions"][0]["energy"]
    assert abs(energy["balance_residual_rel"]) < 1e-6
    # 5e6 W/m3 in a 5 mm sphere for 600 s: 1570.8 J, exactly what was delivered
    assert energy["delivered_j"] == pytest.approx(5e6 * 4 / 3 * np.pi * 0.005**3 * 600, rel=1e-9)
    assert energy["vaporization_j"] == 0.0  # the reference problem is linear


# ------------------------------------------------------------------------------------------------
# the output contract
# ------------------------------------------------------------------------------------------------


def test_reference_run_summary_has_the_contract_keys(summary, reference_run):
    _, printed = reference_run
    assert {"scenario", "version", "seed", "wall_time_s", "sessions", "outcome"} <= set(summary)
    assert summary["scenario"] == "reference-pennes"
    assert summary["version"] == tissuefate.__version__
    assert summary["wall_time_s"] > 0
    (session,) = summary["sessions"]
    assert set(session) >= SESSION_KEYS
    assert session["day"] == 0
    assert session["modality"] == "heat_source"
    assert {"steps", "dt_s", "wall_time_s"} <= set(session["solver"])
    assert session["solver"]["steps"] * session["solver"]["dt_s"] == pytest.approx(600.0)
    assert {"volume_ml", "long_axis_mm", "short_axis_mm"} <= set(session["ablation_zone"])
    assert session["ablation_zone"]["volume_ml"] > 0
    assert session["tumor_kill_fraction"] is None  # there is no tumour
    assert set(summary["outcome"]) >= OUTCOME_KEYS
    assert "reference" in printed  # the one-line summary names the output folder


def test_reference_run_writes_the_timeseries_columns(reference_run):
    out, _ = reference_run
    with (out / "timeseries.csv").open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert set(rows[0]) >= TIMESERIES_COLUMNS
    assert len(rows) == 2  # baseline and end of the session
    assert float(rows[0]["necrotic_ml"]) == 0.0
    assert float(rows[-1]["necrotic_ml"]) > 0


def test_reference_run_fields_open_with_units_and_the_scenario(reference_run):
    out, _ = reference_run
    ds = open_fields(out / "fields.zarr")
    for name, var in ds.data_vars.items():
        assert "units" in var.attrs, name
    for coord in ("x", "y", "z"):
        assert ds[coord].attrs["units"] == "mm"
    assert set(FIELD_INFO) <= set(ds.data_vars)
    assert ds["peak_temperature"].attrs["units"] == "degC"
    assert float(ds["peak_temperature"].max()) == pytest.approx(
        json.loads((out / "summary.json").read_text())["sessions"][0]["peak_temperature_c"]
    )
    shipped = tissuefate.load_scenario(EXAMPLES / "reference_pennes.yaml")
    assert loads_scenario(ds.attrs["scenario"]) == shipped
    assert loads_scenario((out / "scenario.yaml").read_text(encoding="utf-8")) == shipped


def test_reference_run_writes_png_figures_and_the_report(reference_run):
    out, _ = reference_run
    pngs = sorted(out.glob("*.png"))
    assert pngs
    for png in pngs:
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", png.name
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "<html" in html.lower()
    assert "reference-pennes" in html
    assert not [p.name for p in out.parent.iterdir() if ".partial" in p.name]


# ------------------------------------------------------------------------------------------------
# the Python API on a reduced microwave example
# ------------------------------------------------------------------------------------------------


def test_simulate_reduced_microwave_example(tmp_path):
    data = yaml.safe_load((EXAMPLES / "mwa_single.yaml").read_text(encoding="utf-8"))
    data["grid"] = {"size": ["48 mm", "48 mm", "48 mm"], "spacing": "1.5 mm"}  # 32 voxels
    session = data["strategies"]["mwa"]["sessions"][0]
    session.update({"power": "60 W", "duration": "3 min", "cooldown": "0 s"})
    path = tmp_path / "mwa_small.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")

    result = tissuefate.simulate(tissuefate.load_scenario(path))
    assert isinstance(result, tissuefate.Result)
    (s,) = result.summary["sessions"]
    assert s["modality"] == "microwave"
    assert 0.0 <= s["tumor_kill_fraction"] <= 1.0
    assert s["ablation_zone"]["volume_ml"] > 0
    assert s["delivered"]  # the settings as delivered are recorded
    assert abs(s["energy"]["balance_residual_rel"]) < 1e-5
    ds = result.fields
    assert set(FIELD_INFO) <= set(ds.data_vars)
    assert ds.sizes["snapshot"] == 2  # before treatment, after the session
    for name in FIELD_INFO:
        assert ds[name].dims == ("snapshot", "x", "y", "z"), name
        assert ds[name].shape == (2, 32, 32, 32), name
    tumor = ds["tumor"].values
    assert tumor[1].sum() <= tumor[0].sum()
    assert set(result.timeseries.columns) >= TIMESERIES_COLUMNS


def test_demo_scenario_is_packaged_and_loads():
    packaged = resources.files("tissuefate") / "examples" / "course_demo.yaml"
    assert packaged.is_file()
    with resources.as_file(packaged) as path:
        scenario = tissuefate.load_scenario(path)
    assert list(scenario.strategies) == [
        "microwave_margin",
        "ire",
        "clo2_essay",
        "clo2_literature",
        "ethanol",
    ]
    kinds = {name: s.policy.kind for name, s in scenario.strategies.items()}
    assert kinds["microwave_margin"] == kinds["ire"] == "ablate_visible"
    assert set(kinds.values()) == {"ablate_visible", "repeat_until_clear"}
    assert {t.name for t in scenario.anatomy.tumors} == {"main", "satellite"}
    assert scenario.follow_up_d == 180.0
    assert scenario.imaging.every_d == 30.0
    result = CliRunner().invoke(app, ["demo", "--help"])
    assert result.exit_code == 0
    assert "course_demo.yaml" in result.output


@pytest.mark.slow
def test_a_reduced_demo_compares_all_five_courses_end_to_end(tmp_path):
    data = yaml.safe_load((EXAMPLES / "course_demo.yaml").read_text(encoding="utf-8"))
    data["grid"]["spacing"] = "4 mm"
    data["follow_up"] = "30 d"
    data["outputs"] = {"snapshots": ["1 d", "30 d"], "figures": False}
    for strategy in data["strategies"].values():
        strategy["policy"]["max_sessions"] = min(2, strategy["policy"]["max_sessions"])
    path = tmp_path / "demo_small.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    out = tmp_path / "cmp"
    result = CliRunner().invoke(app, ["compare", str(path), "-o", str(out), "-q", "--jobs", "1"])
    assert result.exit_code == 0, result.output
    table = pd.read_csv(out / "comparison.csv")
    assert list(table["strategy"]) == list(data["strategies"])
    comparison = json.loads((out / "comparison.json").read_text(encoding="utf-8"))
    for name, summary in comparison["strategies"].items():
        outcome = summary["outcome"]
        assert outcome["sessions_used"] >= 1, name
        assert outcome["stop_reason"] in STOP_REASONS, name
        row = table[table["strategy"] == name].iloc[0]
        assert row["sessions_used"] == outcome["sessions_used"]
        assert set(summary["hypotheses"]) == {f"H{i}" for i in range(1, 10)}
    mwa = comparison["strategies"]["microwave_margin"]["sessions"][0]
    # one applicator through each visible lesion: the main tumour and the satellite
    assert len(mwa["planned"]["devices"]) == 2
    ire = comparison["strategies"]["ire"]["sessions"][0]
    # a ring of electrodes around each of the two lesions, pulsed pair by pair
    assert ire["modality"] == "ire"
    assert len(ire["planned"]["devices"]) == 2 * ire["planned"]["electrodes"]
    assert len(ire["delivered"]["pairs"]) == len(ire["planned"]["pairs"]) > 0
    assert (out / "report.html").is_file()
