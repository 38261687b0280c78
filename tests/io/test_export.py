"""Exports for 3D Slicer and ParaView (tissuefate.io.export, ``tissuefate export``), end to end
from a run on a segmented image (tests/_images.py: oblique, anisotropic label map).

The run is one 5 s, 1 W point heat source (nothing heavy): what is checked is where things land.
"""

from __future__ import annotations

import json
import shutil

import nibabel as nib
import numpy as np
import pytest
import vtk
import yaml
from scipy import ndimage
from typer.testing import CliRunner
from vtk.util.numpy_support import vtk_to_numpy

import tissuefate
from _images import LABELS, mm, phantom, write_nifti
from tissuefate.cli import app
from tissuefate.grid.grid import Grid
from tissuefate.grid.surface import surface
from tissuefate.io import open_fields
from tissuefate.io.export import read_vti, write_vti


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("export")
    labels, affine, geometry = phantom()
    write_nifti(folder / "seg.nii.gz", labels, affine)
    centre = geometry["tumors"][0][0]
    data = {
        "name": "export",
        "grid": {"spacing": "1 mm"},
        "anatomy": {"image": {"path": "seg.nii.gz", "labels": LABELS, "margin": "8 mm"}},
        "strategies": {
            "s": {
                "sessions": [
                    {
                        "modality": "heat_source",
                        "sources": [{"shape": "point", "center": mm(centre), "power": "1 W"}],
                        "duration": "5 s",
                    }
                ]
            }
        },
        "outputs": {"figures": False, "report": False, "treatability": False},
    }
    (folder / "scenario.yaml").write_text(yaml.safe_dump(data))
    out = folder / "out"
    result = CliRunner().invoke(app, ["run", str(folder / "scenario.yaml"), "-o", str(out), "-q"])
    assert result.exit_code == 0, result.output
    return folder, out, labels, affine


def test_summary_places_each_tumour_in_scanner_coordinates(run):
    """summary.json's ``anatomy``: the larger tumour's centroid is the sphere's centre (scanner
    mm) within half a grid voxel, its volume the sphere's within 5 % (0.8 x 0.8 x 2 mm labels)."""
    _, out, _, _ = run
    summary = json.loads((out / "summary.json").read_text())
    (centre, radius), _ = phantom()[2]["tumors"]
    tumor = summary["anatomy"]["tumors"]["tumor_1"]
    assert np.linalg.norm(np.array(tumor["centroid_mm"]) - centre) < 0.5
    assert tumor["volume_ml"] == pytest.approx(4 / 3 * np.pi * radius**3 / 1e3, rel=0.05)
    assert summary["anatomy"]["source_image"].endswith("seg.nii.gz")
    # a grid-frame position plus grid_center_mm is the scanner position: the heat source's
    # centre, written in scanner mm, comes back from the session's grid-frame record
    scenario = yaml.safe_load((out / "scenario.yaml").read_text())
    source = scenario["strategies"]["s"]["sessions"][0]["sources"][0]["center"]
    grid_mm = np.array([float(v.split()[0]) for v in source])
    assert np.allclose(grid_mm + summary["anatomy"]["grid_center_mm"], centre, atol=1e-6)


def _world(shape, affine):
    return np.indices(shape).reshape(3, -1).T @ affine[:3, :3].T + affine[:3, 3]


def test_run_on_an_image_exports_volumes_time_series_and_meshes(run):
    _, out, _, _ = run
    export = out / "export"
    assert (export / "nifti" / "labels.nii.gz").is_file()
    assert (export / "nifti" / "tumor.nii.gz").is_file()
    assert (export / "vti" / "snapshots.pvd").is_file()
    assert {p.name for p in (export / "meshes").iterdir()} >= {
        "tumor_initial.vtk",
        "vessels.vtk",
        "organ.vtk",
    }
    tumor = nib.load(export / "nifti" / "tumor.nii.gz")
    ds = open_fields(out / "fields.zarr")
    assert tumor.shape == (*ds["tumor"].isel(snapshot=0).shape, ds.sizes["snapshot"])
    assert np.allclose(tumor.affine, np.asarray(ds.attrs["affine_mm"]))
    assert ds.attrs["frame"] == "scanner"


def test_exported_labels_overlay_the_input_within_half_a_voxel(run):
    """labels.nii.gz on the grid, read back with nibabel: each label's centroid in scanner
    coordinates is the input's (within the crop) to within half a grid voxel (0.5 mm)."""
    _, out, labels, affine = run
    image = nib.load(out / "export" / "nifti" / "labels.nii.gz")
    exported = np.asarray(image.dataobj)
    world = _world(exported.shape, image.affine)
    source_world = _world(labels.shape, affine)
    lo, hi = world.min(axis=0) - 0.5, world.max(axis=0) + 0.5
    inside = np.all((source_world >= lo) & (source_world <= hi), axis=1)
    for role in ("tumor", "vessel"):
        got = world[exported.ravel() == LABELS[role]].mean(axis=0)
        expected = source_world[inside & (labels.ravel() == LABELS[role])].mean(axis=0)
        assert np.linalg.norm(got - expected) < 0.5, role


def test_export_in_the_source_space_matches_the_input_voxel_by_voxel(run, tmp_path):
    """``--space source``: the same shape and affine as the input; inside the crop, a voxel's
    label differs from the input only within a grid voxel's half-diagonal plus half the longest
    source edge of another label (resampling twice at the boundary)."""
    _, out, labels, affine = run
    target = tmp_path / "source"
    result = CliRunner().invoke(
        app,
        ["export", str(out), "-o", str(target), "--space", "source", "--formats", "nifti",
         "--fields", "tumor_fraction_initial"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    image = nib.load(target / "nifti" / "labels.nii.gz")
    assert image.shape == labels.shape
    assert np.allclose(image.affine, affine)
    exported = np.asarray(image.dataobj)
    ds = open_fields(out / "fields.zarr")
    box = exported > 0
    covered = np.asarray(nib.load(target / "nifti" / "tumor_fraction_initial.nii.gz").dataobj)
    crop = np.isfinite(covered)
    spacing = np.array([0.8, 0.8, 2.0])
    tolerance = np.sqrt(3) / 2 * 1.0 + spacing.max() / 2
    for role in ("tumor", "vessel"):
        mask = labels == LABELS[role]
        # distance (mm) of each voxel to the boundary of the input's region
        inside = ndimage.distance_transform_edt(mask, sampling=spacing)
        outside = ndimage.distance_transform_edt(~mask, sampling=spacing)
        wrong = crop & (mask != (exported == LABELS[role]))
        far = np.where(mask, inside, outside)[wrong]
        assert far.max(initial=0) <= tolerance, role
    dice = (
        2 * (box & (labels > 0) & crop).sum() / ((box & crop).sum() + ((labels > 0) & crop).sum())
    )
    assert dice > 0.95
    # an exported field overlays the input: its tumour (fraction >= 1/2) is the input's tumour
    tumour = (np.nan_to_num(covered) >= 0.5) & crop
    truth = (labels == LABELS["tumor"]) & crop
    assert 2 * (tumour & truth).sum() / (tumour.sum() + truth.sum()) > 0.9
    assert ds.attrs["source_image"].endswith("seg.nii.gz")


def test_vti_reads_back_with_vtk_with_the_same_values(run):
    _, out, _, _ = run
    ds = open_fields(out / "fields.zarr")
    reader = vtk.vtkXMLImageDataReader()
    reader.SetFileName(str(out / "export" / "vti" / "snapshot_001.vti"))
    reader.Update()
    data = reader.GetOutput()
    dims = data.GetDimensions()
    assert dims == ds["tumor"].isel(snapshot=1).shape
    affine = np.asarray(ds.attrs["affine_mm"])
    assert np.allclose(data.GetOrigin(), affine[:3, 3])
    assert np.allclose(data.GetSpacing(), np.diag(affine)[:3])
    for name in ("tumor", "collagen", "normal"):
        values = vtk_to_numpy(data.GetPointData().GetArray(name))
        values = values.reshape(dims[::-1]).transpose(2, 1, 0)
        assert np.array_equal(values, ds[name].isel(snapshot=1).values), name


def test_meshes_read_back_in_mm_with_the_slicer_space_tag(run):
    _, out, _, _ = run
    path = out / "export" / "meshes" / "tumor_initial.vtk"
    assert b"SPACE=RAS" in path.read_bytes()[:200]
    reader = vtk.vtkPolyDataReader()
    reader.SetFileName(str(path))
    reader.Update()
    mesh = reader.GetOutput()
    points = vtk_to_numpy(mesh.GetPoints().GetData())
    mass = vtk.vtkMassProperties()
    mass.SetInputData(mesh)
    mass.Update()
    ds = open_fields(out / "fields.zarr")
    fraction = ds["tumor_fraction_initial"].values
    tumour_1 = ds["tumor_id"].values == 1
    # the larger tumour's volume (mm³) from its partial volume, and the mesh's (both tumours)
    volume = float(fraction.sum())
    assert mass.GetVolume() == pytest.approx(volume, rel=0.05)
    affine = np.asarray(ds.attrs["affine_mm"])
    centre = (np.argwhere(tumour_1).mean(axis=0) @ affine[:3, :3].T) + affine[:3, 3]
    assert np.linalg.norm(points.mean(axis=0) - centre) < 15  # both tumours: near tumour 1


def test_write_vti_rejects_oblique_affines_and_round_trips(tmp_path):
    values = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
    affine = np.diag([2.0, 2.0, 2.0, 1.0])
    write_vti(tmp_path / "a.vti", {"v": values, "m": values > 5}, affine)
    arrays, origin, spacing = read_vti(tmp_path / "a.vti")
    assert np.allclose(origin, 0.0)
    assert np.allclose(spacing, 2.0)
    assert np.array_equal(arrays["v"], values)
    assert np.array_equal(arrays["m"], (values > 5).astype(np.uint8))
    oblique = affine.copy()
    oblique[0, 1] = 0.5
    with pytest.raises(ValueError, match="axis-aligned"):
        write_vti(tmp_path / "b.vti", {"v": values}, oblique)


def test_sphere_mesh_in_mm_has_the_sphere_area():
    grid = Grid(shape=(40, 40, 40), spacing=1e-3)
    x, y, z = np.meshgrid(*grid.axes(), indexing="ij")
    mask = x**2 + y**2 + z**2 < (12.3e-3) ** 2
    assert surface(mask, grid).area == pytest.approx(4 * np.pi * 12.3e-3**2, rel=0.03)


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--formats", "stl"], "unknown format 'stl'"),
        (["--fields", "nothing"], "no field 'nothing'"),
        (["--space", "patient"], "unknown space"),
    ],
)
def test_export_bad_options_are_one_line_errors(run, error_line, args, words, tmp_path):
    _, out, _, _ = run
    result = CliRunner().invoke(app, ["export", str(out), "-o", str(tmp_path / "e"), *args])
    assert result.exit_code == 2
    assert words in error_line(result)
    assert not (tmp_path / "e").exists()


def test_export_of_a_folder_without_fields_is_a_one_line_error(tmp_path, error_line):
    result = CliRunner().invoke(app, ["export", str(tmp_path)])
    assert result.exit_code == 2
    assert "no fields.zarr" in error_line(result)


def test_a_comparison_folder_exports_each_strategy(run, tmp_path):
    """``tissuefate export`` on a folder whose sub-folders are runs (as ``compare`` writes)
    exports each into OUTPUT/NAME."""
    _, out, _, _ = run
    shutil.copytree(out, tmp_path / "comparison" / "a", ignore=shutil.ignore_patterns("export"))
    shutil.copytree(out, tmp_path / "comparison" / "b", ignore=shutil.ignore_patterns("export"))
    target = tmp_path / "exported"
    result = CliRunner().invoke(
        app, ["export", str(tmp_path / "comparison"), "-o", str(target), "--formats", "meshes"]
    )
    assert result.exit_code == 0, result.output
    for name in ("a", "b"):
        assert (target / name / "meshes" / "tumor_initial.vtk").is_file()


def test_the_python_api_runs_the_same_scenario(run):
    """``tissuefate.simulate(load_scenario(path))`` reads the image the scenario names (relative
    to its file) and places the tumours as the command line did."""
    folder, out, _, _ = run
    result = tissuefate.simulate(tissuefate.load_scenario(folder / "scenario.yaml"))
    cli = json.loads((out / "summary.json").read_text())
    assert result.summary["anatomy"]["tumors"] == cli["anatomy"]["tumors"]
    assert result.fields.attrs["frame"] == "scanner"


@pytest.mark.slow
def test_views_3d_can_be_asked_for_on_drawn_anatomy_and_refused_on_an_image(run, tmp_path):
    """``outputs.views_3d: true`` draws the 3-D views of a run on drawn spheres (in the grid's
    frame, no organ); ``false`` leaves them out of a run on an image."""
    drawn = {
        "name": "views",
        "grid": {"size": ["24 mm"] * 3, "spacing": "1 mm"},
        "anatomy": {"tumors": [{"name": "t", "center": ["0 mm"] * 3, "radius": "5 mm"}]},
        "strategies": {"s": {"sessions": [{
            "modality": "heat_source",
            "sources": [{"shape": "sphere", "center": ["0 mm"] * 3, "radius": "3 mm",
                         "power": "3 W"}],
            "duration": "60 s",
        }]}},
        "outputs": {"views_3d": True, "treatability": False},
    }  # fmt: skip
    path = tmp_path / "drawn.yaml"
    path.write_text(yaml.safe_dump(drawn))
    out = tmp_path / "drawn"
    result = CliRunner().invoke(app, ["run", str(path), "-o", str(out), "-q"])
    assert result.exit_code == 0, result.output
    assert (out / "session_1_3d.png").is_file()
    assert (out / "final_3d.png").is_file()
    assert not (out / "export").exists()  # exports are written for runs on an image only
    folder, _, _, _ = run
    data = yaml.safe_load((folder / "scenario.yaml").read_text())
    data["outputs"] = {"views_3d": False, "treatability": False}
    path = folder / "no_views.yaml"
    path.write_text(yaml.safe_dump(data))
    result = CliRunner().invoke(app, ["run", str(path), "-o", str(tmp_path / "image"), "-q"])
    assert result.exit_code == 0, result.output
    assert not list((tmp_path / "image").glob("*_3d.png"))
    assert (tmp_path / "image" / "export" / "meshes").is_dir()
