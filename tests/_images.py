"""Synthetic segmentations for the imaging tests: label maps with an oblique, anisotropic affine.

The shapes are defined in scanner coordinates (mm) and sampled at each voxel's scanner position,
so the tilt of the image's axes is real: an organ (ellipsoid), two spherical tumours and a
straight vessel between them.
"""

from __future__ import annotations

from pathlib import Path

import nibabel as nib
import numpy as np
from scipy.spatial.transform import Rotation

LABELS = {"liver": 1, "tumor": 2, "vessel": 3}
SPACING_MM = (0.8, 0.8, 2.0)
ORIGIN_MM = (-60.0, 30.0, -100.0)
ROTATION = Rotation.from_euler("zx", [20, 10], degrees=True).as_matrix()


def oblique_affine(spacing=SPACING_MM, origin=ORIGIN_MM) -> np.ndarray:
    affine = np.eye(4)
    affine[:3, :3] = ROTATION * np.asarray(spacing)
    affine[:3, 3] = origin
    return affine


def centres_mm(shape, affine) -> np.ndarray:
    """Scanner coordinates (mm) of every voxel centre, shape (n, 3) in C order."""
    index = np.indices(shape).reshape(3, -1).T
    return index @ affine[:3, :3].T + affine[:3, 3]


def phantom(shape=(150, 150, 50), affine=None) -> tuple[np.ndarray, np.ndarray, dict]:
    """Label map, affine and the scanner geometry (mm): ``organ_centre``, ``tumors`` (centre,
    radius), ``vessel`` (a point on its axis, direction, radius)."""
    affine = oblique_affine() if affine is None else affine
    world = centres_mm(shape, affine)
    centre = world.mean(axis=0)
    labels = np.zeros(len(world), np.uint8)
    d = world - centre
    labels[((d / np.array([50.0, 45.0, 40.0])) ** 2).sum(axis=1) < 1] = LABELS["liver"]
    tumors = [
        (centre + np.array([10.0, 0.0, 0.0]), 10.0),
        (centre + np.array([-25.0, 10.0, 5.0]), 6.0),
    ]
    for c, r in tumors:
        labels[np.linalg.norm(world - c, axis=1) < r] = LABELS["tumor"]
    axis_point = centre + np.array([-5.0, 0.0, -15.0])
    q = world - axis_point
    labels[(q[:, 0] ** 2 + q[:, 2] ** 2 < 9.0) & (np.abs(q[:, 1]) < 40.0)] = LABELS["vessel"]
    geometry = {
        "organ_centre": centre,
        "tumors": tumors,
        "vessel": (axis_point, np.array([0.0, 1.0, 0.0]), 3.0),
    }
    return labels.reshape(shape), affine, geometry


def write_nifti(path: Path, data: np.ndarray, affine: np.ndarray) -> Path:
    image = nib.Nifti1Image(data, affine)
    image.set_qform(affine, code=1)
    image.set_sform(affine, code=1)
    nib.save(image, str(path))
    return path


def mm(values) -> list[str]:
    return [f"{float(v):.6f} mm" for v in values]
