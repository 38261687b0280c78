"""Anatomy from a NIfTI segmentation: reading, cropping, resampling and positions in scanner
coordinates (tissuefate.grid.image, through tissuefate.course.prepare).

The label maps are synthetic (tests/_images.py): an oblique (20° about z, 10° about x),
anisotropic (0.8 x 0.8 x 2 mm) image of an ellipsoidal organ, two spherical tumours of radius
10 and 6 mm and a straight vessel of radius 3 mm, defined in scanner coordinates.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
import yaml
from nibabel.testing import data_path

from _images import LABELS, mm, oblique_affine, phantom, write_nifti
from tissuefate.course.prepare import build_tissue, prepare
from tissuefate.errors import ScenarioError
from tissuefate.grid.image import read_nifti, resolve_image
from tissuefate.scenario import dump_scenario, loads_scenario

TUMOR_1 = phantom()[2]["tumors"][0][0]


def heat(centre) -> dict:
    """A 1 W point source for 5 s at ``centre`` (scanner mm): a session that costs nothing."""
    return {
        "modality": "heat_source",
        "sources": [{"shape": "point", "center": mm(centre), "power": "1 W"}],
        "duration": "5 s",
    }


def scenario_data(
    image: dict, spacing: str = "1 mm", sessions: list | None = None, centre=TUMOR_1
) -> dict:
    return {
        "name": "image",
        "grid": {"spacing": spacing},
        "anatomy": {"image": image},
        "strategies": {"s": {"sessions": sessions or [heat(centre)]}},
        "outputs": {"figures": False, "report": False},
    }


def load(data: dict, folder: Path):
    path = folder / "scenario.yaml"
    text = yaml.safe_dump(data)
    path.write_text(text)
    return loads_scenario(text, source=str(path)), str(path)


@pytest.fixture(scope="module")
def image(tmp_path_factory):
    folder = tmp_path_factory.mktemp("image")
    labels, affine, geometry = phantom()
    write_nifti(folder / "seg.nii.gz", labels, affine)
    return folder, labels, affine, geometry


def test_crop_is_the_tumours_box_plus_the_margin(image):
    folder, _, _, geometry = image
    data = scenario_data({"path": "seg.nii.gz", "labels": LABELS, "margin": "10 mm"})
    scenario, source = load(data, folder)
    resolved, _ = resolve_image(scenario, source)
    (c1, r1), (c2, r2) = geometry["tumors"]
    low = np.minimum(c1 - r1, c2 - r2)
    high = np.maximum(c1 + r1, c2 + r2)
    centre = np.array(resolved.anatomy.image.center_m) * 1e3
    # the centre is the box's centre to within half a source voxel's extent
    assert np.allclose(centre, 0.5 * (low + high), atol=1.6)
    size = np.array(resolved.grid.size_m) * 1e3
    # box + 2 x 10 mm, rounded up to whole 1 mm voxels; the box is the voxels' extent (sampling)
    assert np.all(size >= high - low + 20 - 1e-6)
    assert np.all(size <= high - low + 20 + 2 * 2.0 + 1)
    assert resolved.anatomy.image.positions == "grid"
    assert Path(resolved.anatomy.image.path).is_absolute()


def test_given_size_is_centred_on_the_tumours(image):
    folder, *_ = image
    data = scenario_data({"path": "seg.nii.gz", "labels": LABELS})
    data["grid"]["size"] = ["40 mm", "40 mm", "40 mm"]
    scenario, source = load(data, folder)
    plain, _ = resolve_image(
        load(scenario_data({"path": "seg.nii.gz", "labels": LABELS}), folder)[0], source
    )
    resolved, _ = resolve_image(scenario, source)
    assert resolved.grid.shape == (40, 40, 40)
    assert resolved.anatomy.image.center_m == plain.anatomy.image.center_m


def test_world_positions_move_into_the_grid_frame_and_resolving_twice_changes_nothing(image):
    folder, _, _, geometry = image
    (c1, _), _ = geometry["tumors"]
    tip = c1 + np.array([0.0, 0.0, -10.0])
    session = {
        "modality": "microwave",
        "applicators": [{"tip": mm(tip), "direction": [0, 0, -1]}],
        "power": "60 W",
        "duration": "1 min",
    }
    data = scenario_data({"path": "seg.nii.gz", "labels": LABELS}, sessions=[session])
    scenario, source = load(data, folder)
    resolved, _ = resolve_image(scenario, source)
    centre = np.array(resolved.anatomy.image.center_m)
    moved = resolved.strategies["s"].sessions[0].applicators[0].tip_m
    assert np.allclose(np.array(moved), tip * 1e-3 - centre, atol=1e-9)
    again, _ = resolve_image(loads_scenario(dump_scenario(resolved), source=source), source)
    assert dump_scenario(again) == dump_scenario(resolved)
    # positions: grid reads them relative to the grid centre, unmoved
    data["anatomy"]["image"]["positions"] = "grid"
    session["applicators"][0]["tip"] = ["1 mm", "2 mm", "3 mm"]
    relative, _ = resolve_image(load(data, folder)[0], source)
    assert relative.strategies["s"].sessions[0].applicators[0].tip_m == pytest.approx(
        (1e-3, 2e-3, 3e-3)
    )


def test_tumours_are_components_largest_first_with_partial_volume(image):
    folder, _, _, geometry = image
    data = scenario_data(
        {
            "path": "seg.nii.gz",
            "labels": LABELS,
            "tumor_preset": "hcc",
            "tumor_presets": {"tumor_2": "colorectal_metastasis"},
        }
    )
    scenario, source = load(data, folder)
    grid, tissue, anatomy = build_tissue(scenario, source)
    assert anatomy.tumor_names == ("tumor_1", "tumor_2")
    (_, r1), (_, r2) = geometry["tumors"]
    volumes = [
        float(anatomy.tumor_fraction[anatomy.tumor_id == n].sum()) * grid.voxel_volume * 1e9
        for n in (1, 2)
    ]
    # the label map draws each sphere on 0.8 x 0.8 x 2 mm voxels: a few per cent of staircase
    assert volumes[0] == pytest.approx(4 / 3 * math.pi * r1**3, rel=0.05)
    assert volumes[1] == pytest.approx(4 / 3 * math.pi * r2**3, rel=0.08)
    frac = anatomy.tumor_fraction
    assert ((frac > 0.05) & (frac < 0.95)).sum() > 0.2 * (frac >= 0.95).sum() ** (2 / 3)
    assert set(
        np.unique(anatomy.material[anatomy.tumor_id == 1][frac[anatomy.tumor_id == 1] >= 0.5])
    ) == {tissue.index("hcc")}
    assert set(
        np.unique(anatomy.material[anatomy.tumor_id == 2][frac[anatomy.tumor_id == 2] >= 0.5])
    ) == {tissue.index("colorectal_metastasis")}
    # vessels hold blood only; the organ mask covers the organ's volume
    assert anatomy.vessel.any()
    assert not (anatomy.tumor_fraction[anatomy.vessel] > 0).any()
    assert anatomy.organ is not None
    assert anatomy.world_affine is not None
    # a tumour below min_tumor_volume is dropped
    data["anatomy"]["image"]["min_tumor_volume"] = "1.5 mL"
    data["anatomy"]["image"]["tumor_presets"] = {}
    _, _, only = build_tissue(*load(data, folder))
    assert only.tumor_names == ("tumor_1",)


def test_labels_keep_their_scanner_position(image):
    """Each role's centroid on the grid, in scanner coordinates through the grid's affine, is
    where the label map has it, within half a grid voxel (0.5 mm)."""
    folder, labels, affine, _ = image
    scenario, source = load(scenario_data({"path": "seg.nii.gz", "labels": LABELS}), folder)
    grid, _, anatomy = build_tissue(scenario, source)
    world = np.indices(labels.shape).reshape(3, -1).T @ affine[:3, :3].T + affine[:3, 3]
    index = np.indices(grid.shape).reshape(3, -1).T
    grid_world = index @ anatomy.world_affine[:3, :3].T + anatomy.world_affine[:3, 3]
    for role, mask in (
        ("tumor", anatomy.tumor_fraction.ravel()),
        ("vessel", anatomy.vessel.ravel().astype(float)),
    ):
        source_mask = (labels == LABELS[role]).ravel()
        expected = world[source_mask].mean(axis=0)
        if role == "vessel":  # the crop cuts the vessel: compare inside the grid's box only
            lo = grid_world.min(axis=0) - 0.5
            hi = grid_world.max(axis=0) + 0.5
            inside = np.all((world >= lo) & (world <= hi), axis=1)
            expected = world[source_mask & inside].mean(axis=0)
        got = (grid_world * mask[:, None]).sum(axis=0) / mask.sum()
        assert np.linalg.norm(got - expected) < 0.5, role


def test_fine_masks_give_partial_volume_close_to_the_exact_sphere(tmp_path):
    """A sphere of radius 8 mm drawn on 0.25 mm voxels, resampled at 1 mm (4³ samples per
    voxel): its partial volume sums to the sphere's volume within 1 %."""
    affine = np.diag([0.25, 0.25, 0.25, 1.0])
    affine[:3, 3] = (10.0, -20.0, 30.0)
    shape = (80, 80, 80)
    world = np.indices(shape).reshape(3, -1).T * 0.25 + affine[:3, 3]
    centre = affine[:3, 3] + 0.25 * 39.5
    mask = (np.linalg.norm(world - centre, axis=1) < 8.0).reshape(shape).astype(np.uint8)
    write_nifti(tmp_path / "tumor.nii.gz", mask, affine)
    scenario, source = load(
        scenario_data({"masks": {"tumor": "tumor.nii.gz"}}, centre=centre), tmp_path
    )
    grid, _, anatomy = build_tissue(scenario, source)
    volume = float(anatomy.tumor_fraction.sum()) * grid.voxel_volume * 1e9
    assert volume == pytest.approx(4 / 3 * math.pi * 8.0**3, rel=0.01)
    # without an organ mask, all of the grid is organ
    assert anatomy.organ.all()


def test_a_real_nifti_file_from_nibabel_is_read(tmp_path):
    """nibabel's own test data: ``standard.nii.gz`` (4 x 5 x 7, voxels 1 x 3 x 2 mm, values 0/1)
    as a tumour mask, and ``anatomical.nii`` (big-endian int16, 2 mm) as a label map."""
    standard = os.path.join(data_path, "standard.nii.gz")
    image = nib.load(standard)
    index = np.argwhere(np.asarray(image.dataobj) > 0).mean(axis=0)
    centre = image.affine[:3, :3] @ index + image.affine[:3, 3]
    scenario, source = load(
        scenario_data(
            {"masks": {"tumor": standard}, "margin": "4 mm"}, spacing="0.5 mm", centre=centre
        ),
        tmp_path,
    )
    grid, _, anatomy = build_tissue(scenario, source)
    expected = float((np.asarray(image.dataobj) > 0).sum()) * 1 * 3 * 2  # mm³
    assert float(anatomy.tumor_fraction.sum()) * grid.voxel_volume * 1e9 == pytest.approx(
        expected, rel=0.02
    )
    anatomical = read_nifti(os.path.join(data_path, "anatomical.nii"), source=None, key="k")
    assert anatomical.data.shape == (33, 41, 25)
    assert np.allclose(anatomical.spacing_mm, 2.0)


@pytest.mark.parametrize(
    ("make", "image_keys", "key", "words"),
    [
        ("text", {}, "anatomy.image.path", "not a readable NIfTI"),
        ("four_d", {}, "anatomy.image.path", "not a 3-D image"),
        ("good", {"labels": {"liver": 1, "tumor": 2, "vessel": 9}}, "anatomy.image.labels.vessel",
         "no voxel of label 9"),
        ("good", {"max_anisotropy": 2.0}, "anatomy.image.path", "above the limit of 2"),
        ("missing", {}, "anatomy.image.path", "no such file"),
        ("floats", {}, "anatomy.image.path", "not whole numbers"),
    ],
)  # fmt: skip
def test_bad_images_name_the_file_key_and_reason(image, tmp_path, make, image_keys, key, words):
    folder, labels, affine, _ = image
    path = tmp_path / "bad.nii.gz"
    if make == "text":
        path.write_text("not an image")
    elif make == "four_d":
        path = Path(data_path) / "example4d.nii.gz"
    elif make == "good":
        path = folder / "seg.nii.gz"
    elif make == "floats":
        write_nifti(path, labels.astype(np.float32) + 0.5, affine)
    spec = {"path": str(path), "labels": LABELS, **image_keys}
    scenario, source = load(scenario_data(spec), tmp_path)
    with pytest.raises(ScenarioError) as info:
        prepare(scenario, source=source)
    assert info.value.key == key
    assert words in str(info.value)
    if make != "missing":
        assert str(path) in str(info.value)


def test_an_applicator_outside_the_organ_is_refused(image):
    folder, _, _, geometry = image
    outside = geometry["organ_centre"] + np.array(
        [0.0, 0.0, 45.0]
    )  # above the organ's 40 mm semi-axis
    session = {
        "modality": "microwave",
        "applicators": [{"tip": mm(outside), "direction": [0, 0, -1]}],
        "power": "60 W",
        "duration": "1 min",
    }
    data = scenario_data(
        {"path": "seg.nii.gz", "labels": LABELS, "margin": "40 mm"}, sessions=[session]
    )
    scenario, source = load(data, folder)
    with pytest.raises(ScenarioError) as info:
        prepare(scenario, source=source)
    assert info.value.key == "strategies.s.sessions[0].applicators[0].tip"
    assert "outside the liver" in str(info.value)


def test_affine_helper_matches_the_phantom():
    affine = oblique_affine()
    assert np.allclose(np.linalg.norm(affine[:3, :3], axis=0), (0.8, 0.8, 2.0))


def test_masks_of_different_voxels_and_a_drawn_tumour_combine(image, tmp_path):
    """One mask per role, each with its own affine: the organ on a coarse axis-aligned 2 mm grid,
    the tumours on the oblique label map's voxels; plus a drawn 4 mm sphere (scanner position)
    in the organ, which comes first and keeps its name."""
    _, labels, affine, geometry = image
    write_nifti(tmp_path / "tumor.nii.gz", (labels == LABELS["tumor"]).astype(np.uint8), affine)
    coarse = np.diag([2.0, 2.0, 2.0, 1.0])
    coarse[:3, 3] = geometry["organ_centre"] - 60.0
    world = np.indices((60, 60, 60)).reshape(3, -1).T * 2.0 + coarse[:3, 3]
    organ = np.linalg.norm(world - geometry["organ_centre"], axis=1) < 40.0
    write_nifti(tmp_path / "organ.nii.gz", organ.reshape(60, 60, 60).astype(np.uint8), coarse)
    extra = geometry["organ_centre"] + np.array([0.0, -20.0, 0.0])
    data = scenario_data({"masks": {"organ": "organ.nii.gz", "tumor": "tumor.nii.gz"}})
    data["anatomy"]["tumors"] = [{"name": "extra", "center": mm(extra), "radius": "4 mm"}]
    scenario, source = load(data, tmp_path)
    grid, _, anatomy = build_tissue(scenario, source)
    assert anatomy.tumor_names == ("extra", "tumor_1", "tumor_2")
    volumes = [
        float(anatomy.tumor_fraction[anatomy.tumor_id == n].sum()) * grid.voxel_volume * 1e9
        for n in (1, 2, 3)
    ]
    radii = (4.0, *(r for _, r in geometry["tumors"]))
    for got, r in zip(volumes, radii, strict=True):
        assert got == pytest.approx(4 / 3 * math.pi * r**3, rel=0.08)
    # the organ is the coarse sphere: a voxel 35 mm from its centre is in, one at 45 mm is out
    index = np.indices(grid.shape).reshape(3, -1).T
    at = index @ anatomy.world_affine[:3, :3].T + anatomy.world_affine[:3, 3]
    distance = np.linalg.norm(at - geometry["organ_centre"], axis=1)
    flat = anatomy.organ.ravel()
    assert flat[distance < 37.0].all()
    assert not flat[(distance > 43.0) & (anatomy.tumor_fraction.ravel() == 0)].any()


def test_a_missing_imaging_extra_is_a_one_line_error_before_any_work(image, monkeypatch):
    folder, *_ = image
    scenario, source = load(scenario_data({"path": "seg.nii.gz", "labels": LABELS}), folder)
    monkeypatch.setattr(
        "tissuefate.grid.image.find_spec", lambda name: None if name == "skimage" else object()
    )
    with pytest.raises(ScenarioError) as info:
        prepare(scenario, source=source)
    assert info.value.key == "anatomy.image"
    assert "needs skimage" in str(info.value)
    assert "tissuefate[imaging]" in str(info.value)


def test_image_tumours_get_the_capsule_a_drawn_tumour_would(tmp_path):
    """A sphere of radius 8 mm (a 0.25 mm mask) with a 1 mm capsule, on a 0.5 mm grid: the shell
    holds about the voxels a drawn 8 mm sphere's capsule holds on the same grid (within 10 %),
    and the exact shell's volume within 20 %; its voxels are the capsule preset, with its
    collagen."""
    affine = np.diag([0.25, 0.25, 0.25, 1.0])
    affine[:3, 3] = -9.875
    world = np.indices((80, 80, 80)).reshape(3, -1).T * 0.25 + affine[:3, 3]
    mask = (np.linalg.norm(world, axis=1) < 8.0).reshape(80, 80, 80).astype(np.uint8)
    write_nifti(tmp_path / "tumor.nii.gz", mask, affine)
    data = scenario_data(
        {"masks": {"tumor": "tumor.nii.gz"}, "tumor_preset": "hcc", "capsule": "1 mm"},
        spacing="0.5 mm",
        centre=(0.0, 0.0, 0.0),
    )
    scenario, source = load(data, tmp_path)
    grid, tissue, anatomy = build_tissue(scenario, source)
    capsule = anatomy.material == tissue.index("fibrous_capsule")
    volume = float(capsule.sum()) * grid.voxel_volume * 1e9
    assert volume == pytest.approx(4 / 3 * math.pi * (9.0**3 - 8.0**3), rel=0.2)
    collagen = tissue.materials[tissue.index("fibrous_capsule")].collagen_fraction
    assert collagen > 0
    assert np.allclose(anatomy.collagen[capsule], collagen)
    drawn = scenario_data({"masks": {"tumor": "tumor.nii.gz"}}, spacing="0.5 mm", centre=(0, 0, 0))
    drawn["anatomy"] = {
        "tumors": [{"name": "t", "center": ["0 mm"] * 3, "radius": "8 mm", "preset": "hcc",
                    "capsule": "1 mm"}]
    }  # fmt: skip
    drawn["grid"]["size"] = [f"{n * 0.5:g} mm" for n in grid.shape]
    _, _, reference = build_tissue(*load(drawn, tmp_path))
    expected = int((reference.material == tissue.index("fibrous_capsule")).sum())
    assert int(capsule.sum()) == pytest.approx(expected, rel=0.1)


def test_a_mirrored_affine_places_the_tumours_where_the_scanner_has_them(tmp_path):
    """Images converted from DICOM often store their voxels from right to left and anterior to
    posterior (an affine with negative x and y columns, det > 0 after both flips; here one flip
    more, det < 0): the tumours land at their scanner positions all the same."""
    affine = oblique_affine()
    affine[:3, 0] *= -1.0  # i runs towards the patient's left
    labels, affine, geometry = phantom(affine=affine)
    assert np.linalg.det(affine[:3, :3]) < 0
    write_nifti(tmp_path / "seg.nii.gz", labels, affine)
    data = scenario_data({"path": "seg.nii.gz", "labels": LABELS}, centre=geometry["tumors"][0][0])
    grid, _, anatomy = build_tissue(*load(data, tmp_path))
    index = np.indices(grid.shape).reshape(3, -1).T
    world = index @ anatomy.world_affine[:3, :3].T + anatomy.world_affine[:3, 3]
    for n, (centre, radius) in enumerate(geometry["tumors"], start=1):
        weight = np.where(anatomy.tumor_id == n, anatomy.tumor_fraction, 0.0).ravel()
        got = (world * weight[:, None]).sum(axis=0) / weight.sum()
        assert np.linalg.norm(got - centre) < 0.5
        volume = float(weight.sum()) * grid.voxel_volume * 1e9
        assert volume == pytest.approx(4 / 3 * math.pi * radius**3, rel=0.08)


def test_build_tissue_places_an_image_given_a_size_and_grid_positions(image):
    """``grid.size`` given and ``positions: grid``, no ``center``: the grid still has to be placed
    on the image (centred on the tumours), and build_tissue does it."""
    folder, *_ = image
    data = scenario_data({"path": "seg.nii.gz", "labels": LABELS, "positions": "grid"})
    data["grid"]["size"] = ["80 mm", "60 mm", "50 mm"]
    data["strategies"]["s"]["sessions"] = [heat((0.0, 0.0, 0.0))]
    scenario, source = load(data, folder)
    assert scenario.image_pending
    grid, _, anatomy = build_tissue(scenario, source)
    assert grid.shape == (80, 60, 50)
    assert anatomy.tumor_names == ("tumor_1", "tumor_2")
