"""``tissuefate sweep`` and ``query``: the smoke study end to end, and one-line errors (exit 2)
for bad study files, folders and SQL, before any sample runs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

pytest.importorskip("SALib")
pytest.importorskip("duckdb")

from tissuefate.cli import app

runner = CliRunner()
SMOKE = Path(__file__).parents[2] / "examples" / "study_smoke.yaml"


def _study(tmp_path: Path, edit) -> Path:
    data = yaml.safe_load(SMOKE.read_text(encoding="utf-8"))
    edit(data)
    path = tmp_path / "study.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


@pytest.mark.slow
def test_the_smoke_study_runs_resumes_and_answers_queries(tmp_path):
    out = tmp_path / "smoke"
    done = runner.invoke(app, ["sweep", str(SMOKE), "-o", str(out), "-j", "2", "-q"])
    assert done.exit_code == 0, done.output
    assert "8 of 8 samples stored" in done.output
    analysis = json.loads((out / "analysis.json").read_text())
    zone = analysis["outputs"]["mwa/sessions[0].ablation_zone.volume_ml"]
    assert zone["n"] == 8
    assert zone["p05"] < zone["p95"]  # 20-50 W gives different zones
    assert analysis["outputs"]["mwa/outcome.tumor_free"]["event"]["n"] == 8
    sql = (
        'SELECT corr("strategies.mwa.sessions[0].power", '
        '"mwa/sessions[0].ablation_zone.volume_ml") AS r, count(*) AS n FROM samples'
    )
    done = runner.invoke(app, ["query", str(out), sql, "--csv"])
    assert done.exit_code == 0, done.output
    header, row = done.output.strip().splitlines()
    assert header == "r,n"
    r, n = row.split(",")
    assert int(n) == 8
    assert float(r) > 0.5  # more power, a larger zone
    again = runner.invoke(app, ["sweep", str(SMOKE), "-o", str(out), "-q"])  # nothing left to run
    assert again.exit_code == 0, again.output
    assert len(list((out / "samples").glob("sample-*.parquet"))) == 8


@pytest.mark.parametrize(
    ("edit", "fragment"),
    [
        (
            lambda d: d["parameters"].update(
                {
                    "tissue.parameters.perfusion_ratex": d["parameters"].pop(
                        "tissue.parameters.perfusion_rate"
                    )
                }
            ),
            "parameters.tissue.parameters.perfusion_ratex",
        ),
        (
            lambda d: d["parameters"]["tissue.parameters.perfusion_rate"].update(
                low="1 mm", high="2 mm"
            ),
            "parameters.tissue.parameters.perfusion_rate",
        ),
        (lambda d: d["design"].update(samples=0), "design.samples"),
        (lambda d: d.update(strategies=["rfa"]), "no strategy 'rfa'"),
        (lambda d: d["outputs"].append("outcome.scar ml"), "outputs[5]"),
    ],
)
def test_bad_study_files_exit_2_with_one_line_before_any_work(tmp_path, edit, fragment):
    path = _study(tmp_path, edit)
    done = runner.invoke(app, ["sweep", str(path), "-o", str(tmp_path / "out"), "-q"])
    assert done.exit_code == 2, done.output
    assert done.output.startswith(f"error: {path}")
    assert fragment in done.output
    assert "Traceback" not in done.output
    assert not (tmp_path / "out").exists()


def test_query_errors_exit_2(tmp_path):
    done = runner.invoke(app, ["query", str(tmp_path), "SELECT 1"])
    assert done.exit_code == 2
    assert "not a sweep's output folder" in done.output
    (tmp_path / "study.yaml").write_text("name: x\n")
    done = runner.invoke(app, ["query", str(tmp_path), "SELEKT nothing"])
    assert done.exit_code == 2
    assert done.output.startswith("error: SQL: ")


def test_dask_local_and_scheduler_together_are_refused(tmp_path):
    done = runner.invoke(
        app,
        ["sweep", str(SMOKE), "-o", str(tmp_path), "--dask-local", "2", "--scheduler", "tcp://x:1"],
    )
    assert done.exit_code == 2
    assert "not both" in done.output
