"""The segmented-liver example end to end: the shipped phantom is what its script writes, and
``examples/liver_phantom.yaml`` runs from the command line (reduced: 2 mm grid, the first session
for 1 min, no follow-up) to a report with 3-D views and an export for Slicer and ParaView."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

from tissuefate.cli import app

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _phantom_module():
    spec = importlib.util.spec_from_file_location(
        "make_liver_phantom", EXAMPLES / "make_liver_phantom.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_shipped_phantom_is_what_its_script_writes(tmp_path):
    module = _phantom_module()
    labels, affine = module.liver_phantom()
    shipped = nib.load(EXAMPLES / "liver_phantom.nii.gz")
    assert np.array_equal(np.asarray(shipped.dataobj), labels)
    assert np.allclose(shipped.affine, affine, atol=1e-4)  # NIfTI stores the affine as float32
    # the script writes a file the importer reads: labels 1-3, an oblique anisotropic affine
    assert module.main(["-o", str(tmp_path / "p.nii.gz")]) == 0
    written = nib.load(tmp_path / "p.nii.gz")
    assert set(np.unique(np.asarray(written.dataobj))) == {0, 1, 2, 3}
    edges = np.linalg.norm(written.affine[:3, :3], axis=0)
    assert np.allclose(edges, (0.8, 0.8, 2.5), atol=1e-5)
    assert not np.allclose(written.affine[:3, :3], np.diag(edges))


@pytest.mark.slow
def test_the_liver_phantom_example_runs_to_a_report_with_3d_views(tmp_path):
    data = yaml.safe_load((EXAMPLES / "liver_phantom.yaml").read_text())
    data["grid"]["spacing"] = "2 mm"
    data["anatomy"]["image"]["path"] = str(EXAMPLES / "liver_phantom.nii.gz")
    session = data["strategies"]["mwa"]["sessions"][0]
    session["duration"] = "1 min"
    data["strategies"]["mwa"]["sessions"] = [session]
    data["follow_up"] = "0 d"
    data["outputs"] = {"treatability": False}
    path = tmp_path / "phantom.yaml"
    path.write_text(yaml.safe_dump(data))
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["run", str(path), "-o", str(out), "-q"])
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "summary.json").read_text())
    assert summary["sessions"][0]["ablation_zone"]["volume_ml"] > 1.0
    report = (out / "report.html").read_text()
    assert (out / "session_1_3d.png").is_file()
    assert "The session in 3-D" in report
    assert (out / "export" / "meshes" / "ablation_zone_1.vtk").is_file()
    assert (out / "export" / "nifti" / "labels.nii.gz").is_file()
    # the grid holds both tumours, as two tumours of the hcc preset
    assert summary["sessions"][0]["tumor_kill_fraction"] < 1.0


@pytest.mark.parametrize(
    ("change", "key", "words"),
    [
        ({"path": "missing.nii.gz"}, "anatomy.image.path", "no such file"),
        ({"path": "scenario.yaml"}, "anatomy.image.path", "not a NIfTI file"),
        ({"labels": {"liver": 1, "tumor": 7}}, "anatomy.image.labels.tumor", "no voxel of label 7"),
        ({"max_anisotropy": 2}, "anatomy.image.path", "above the limit of 2"),
    ],
)  # fmt: skip
def test_bad_images_exit_2_with_one_line_and_write_nothing(
    tmp_path, error_line, change, key, words
):
    data = yaml.safe_load((EXAMPLES / "liver_phantom.yaml").read_text())
    data["anatomy"]["image"]["path"] = str(EXAMPLES / "liver_phantom.nii.gz")
    data["anatomy"]["image"].update(change)
    path = tmp_path / "scenario.yaml"
    path.write_text(yaml.safe_dump(data))
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["run", str(path), "-o", str(out), "-q"])
    assert result.exit_code == 2
    line = error_line(result)
    assert key in line
    assert words in line
    assert not out.exists()


def test_an_antenna_outside_the_liver_exits_2(tmp_path, error_line):
    """The first antenna's tip moved 60 mm back along its shaft: out through the liver's surface
    (its path in the liver is 35 mm), still inside the grid's crop."""
    data = yaml.safe_load((EXAMPLES / "liver_phantom.yaml").read_text())
    data["anatomy"]["image"]["path"] = str(EXAMPLES / "liver_phantom.nii.gz")
    data["anatomy"]["image"]["margin"] = "60 mm"
    applicator = data["strategies"]["mwa"]["sessions"][0]["applicators"][0]
    tip = np.array([float(v.split()[0]) for v in applicator["tip"]])
    back = tip - 60.0 * np.array(applicator["direction"])
    applicator["tip"] = [f"{v:.2f} mm" for v in back]
    path = tmp_path / "scenario.yaml"
    path.write_text(yaml.safe_dump(data))
    result = CliRunner().invoke(app, ["run", str(path), "-o", str(tmp_path / "out"), "-q"])
    assert result.exit_code == 2
    line = error_line(result)
    assert "strategies.mwa.sessions[0].applicators[0].tip" in line
    assert "outside the liver" in line
