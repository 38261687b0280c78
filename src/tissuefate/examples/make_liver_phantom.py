"""A synthetic liver phantom as a NIfTI label map: liver, two tumours and a branching portal vein.

The phantom is made up, for testing and teaching; it is not the anatomy of any patient. It is
built to exercise what a real abdominal CT label map brings that a box-shaped test grid does not:

- an oblique, anisotropic sampling: 0.8 × 0.8 × 2.5 mm voxels whose axes are turned 12° about
  the scanner's z axis and 8° about its x axis, with the image origin away from the scanner's;
- an irregular liver (label 1) about 170 × 120 × 130 mm (right–left × anterior–posterior ×
  superior–inferior), an ellipsoid whose right lobe is thicker than its left, deformed by a few
  smooth low-order waves and dented on its inferior-medial (visceral) side;
- two lobulated tumours (label 2), about 28 mm and 16 mm across, each about 15 mm or more inside
  the liver and more than 40 mm from the other;
- a portal vein (label 3) entering at the hilum in the dent: a 6 mm-radius trunk, two 4 mm
  branches and four 2.5 mm ones, passing about 10 mm from the larger tumour and never touching
  either tumour.

Every shape is defined in scanner coordinates (RAS+, mm: +x towards the patient's right, +y
anterior, +z superior) and evaluated at each voxel centre's scanner position through the affine,
so the tilted sampling is real. The seed draws the liver's waves and the tumours' lobes only;
their amplitudes are bounded, so the distances above hold whatever the seed. Run as a script, it
writes ``liver_phantom.nii.gz`` beside itself (``-o`` for another path)::

    python examples/make_liver_phantom.py [-o PATH] [--seed N]
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from scipy import ndimage

LABELS = {"liver": 1, "tumor": 2, "vessel": 3}

VOXEL_MM = np.array([0.8, 0.8, 2.5])  # in-plane × in-plane × slice, a typical abdominal CT
TILT_Z_DEG = 12.0  # the acquisition's turn about the scanner's z axis
TILT_X_DEG = 8.0  # ... and about its x axis
MARGIN_MM = 10.0  # background around the liver on every side of the image

# The liver, in scanner mm: its centre lies right of the midline (+x in RAS+), below the scanner
# origin, slightly anterior.
LIVER_CENTRE_MM = np.array([90.0, 20.0, -60.0])
LIVER_SEMI_AXES_MM = np.array([85.0, 60.0, 65.0])  # right–left, anterior–posterior, sup.–inf.
LIVER_TAPER = np.array([0.0, 0.10, 0.15])  # semi-axis growth from left (x = -a) to right tip
LIVER_WAVES = 0.07  # bound on the smooth surface perturbation, fraction of the radius
# The visceral dent: a sphere pressing into the inferior-medial side, its deepest point
# DENT_DEPTH_MM from the liver centre along DENT_NORMAL (medial, slightly posterior, inferior).
DENT_NORMAL = np.array([-1.0, -0.25, -1.0]) / np.linalg.norm([-1.0, -0.25, -1.0])
DENT_DEPTH_MM = 35.0
DENT_RADIUS_MM = 70.0

# Tumours: centre (offset from the liver centre, mm) and mean radius (mm).
TUMOURS = (
    (np.array([40.0, 10.0, 18.0]), 14.0),  # right lobe, about 28 mm across
    (np.array([-42.0, 12.0, 17.0]), 8.0),  # left lobe, about 16 mm across
)
TUMOUR_LOBES = 0.08  # bound on the lobulation, fraction of the radius

# The portal vein: nodes (offsets from the liver centre, mm) and capsules between them.
_HILUM = DENT_NORMAL * DENT_DEPTH_MM
_VESSEL_NODES = {
    "inflow": _HILUM + 10.0 * DENT_NORMAL,  # outside the liver; the liver mask cuts it at the hilum
    "bifurcation": np.array([-6.0, -8.0, -8.0]),
    "right": np.array([26.0, -10.0, -4.0]),
    "left": np.array([-30.0, -8.0, 2.0]),
    "right_anterior": np.array([62.0, 6.0, -6.0]),  # passes below the larger tumour
    "right_posterior": np.array([52.0, -30.0, 12.0]),
    "left_lateral": np.array([-58.0, -20.0, 4.0]),
    "left_anterior": np.array([-38.0, 26.0, -10.0]),
}
VESSEL_SEGMENTS = (  # (from, to, radius in mm)
    ("inflow", "bifurcation", 6.0),
    ("bifurcation", "right", 4.0),
    ("bifurcation", "left", 4.0),
    ("right", "right_anterior", 2.5),
    ("right", "right_posterior", 2.5),
    ("left", "left_lateral", 2.5),
    ("left", "left_anterior", 2.5),
)


def _phantom_affine(lower_mm: np.ndarray) -> np.ndarray:
    """The 4x4 voxel-to-scanner affine for an image whose first voxel centre lies at
    ``lower_mm`` in the tilted frame.

    ``lower_mm`` (3,) is in mm along the image axes (the scanner axes turned by the tilt); the
    affine's columns are the image axes in scanner RAS+ mm, each one voxel long.
    """
    cz, sz = np.cos(np.radians(TILT_Z_DEG)), np.sin(np.radians(TILT_Z_DEG))
    cx, sx = np.cos(np.radians(TILT_X_DEG)), np.sin(np.radians(TILT_X_DEG))
    rot_z = np.array([[cz, -sz, 0.0], [sz, cz, 0.0], [0.0, 0.0, 1.0]])
    rot_x = np.array([[1.0, 0.0, 0.0], [0.0, cx, -sx], [0.0, sx, cx]])
    rotation = rot_z @ rot_x
    affine = np.eye(4)
    affine[:3, :3] = rotation * VOXEL_MM
    affine[:3, 3] = rotation @ lower_mm
    return affine


def liver_phantom(seed: int = 7) -> tuple[np.ndarray, np.ndarray]:
    """uint8 label map (i, j, k) and its 4x4 affine (voxel index -> scanner RAS+ coordinates in mm).

    Parameters
    ----------
    seed
        Draws the liver's surface waves and the tumours' lobes; the same seed gives the same
        labels and affine.

    Returns
    -------
    labels
        uint8 (ni, nj, nk), about 3 million voxels: 0 background, then :data:`LABELS` (liver 1,
        tumour 2, vessel 3). Each voxel takes the label of the shape holding its centre; the
        vessel and the tumours override the liver and never overlap.
    affine
        float (4, 4): voxel index ``(i, j, k, 1)`` to scanner RAS+ position in mm; voxel edges
        0.8, 0.8 and 2.5 mm along i, j, k.
    """
    rng = np.random.default_rng(seed)
    liver_waves = _draw_waves(rng, count=5, frequency=(0.8, 1.6))
    tumour_waves = [_draw_waves(rng, count=4, frequency=(2.5, 3.5)) for _ in TUMOURS]

    affine, shape = _image_grid(liver_waves)
    offset = _voxel_positions(affine, shape) - LIVER_CENTRE_MM  # (ni, nj, nk, 3) mm

    liver = _inside_liver(offset, liver_waves)
    tumour = np.zeros(shape, dtype=bool)
    for (centre, radius), waves in zip(TUMOURS, tumour_waves, strict=True):
        box = _index_box(affine, shape, [centre], radius * (1.0 + TUMOUR_LOBES))
        tumour[box] |= _inside_lobulated_sphere(offset[box] - centre, radius, waves)
    vessel = np.zeros(shape, dtype=bool)
    for start, end, radius in VESSEL_SEGMENTS:
        ends = _VESSEL_NODES[start], _VESSEL_NODES[end]
        box = _index_box(affine, shape, ends, radius)
        vessel[box] |= _inside_capsule(offset[box], *ends, radius)

    vessel = _largest_piece(vessel & liver)

    labels = np.zeros(shape, dtype=np.uint8)
    labels[liver] = LABELS["liver"]
    labels[tumour] = LABELS["tumor"]
    labels[vessel] = LABELS["vessel"]
    return labels, affine


def _draw_waves(
    rng: np.random.Generator, count: int, frequency: tuple[float, float]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Wave vectors (count, 3), phases (count,) and weights (count,) summing to one, for
    :func:`_wave_sum`; ``frequency`` bounds the whole waves across the direction sphere."""
    directions = _unit(rng.normal(size=(count, 3)))
    vectors = np.pi * rng.uniform(*frequency, size=(count, 1)) * directions
    phases = rng.uniform(0.0, 2.0 * np.pi, size=count)
    weights = rng.uniform(0.5, 1.0, size=count)
    return vectors, phases, weights / weights.sum()


def _wave_sum(
    directions: np.ndarray, waves: tuple[np.ndarray, np.ndarray, np.ndarray]
) -> np.ndarray:
    """A smooth function of unit ``directions`` (..., 3) with values in [-1, 1]."""
    vectors, phases, weights = waves
    total = np.zeros(directions.shape[:-1])
    for vector, phase, weight in zip(vectors, phases, weights, strict=True):
        total += weight * np.cos(directions @ vector + phase)
    return total


def _unit(vectors: np.ndarray) -> np.ndarray:
    """``vectors`` (..., 3) scaled to unit length (zero vectors stay zero)."""
    length = np.linalg.norm(vectors, axis=-1, keepdims=True)
    return vectors / np.where(length > 0.0, length, 1.0)


def _inside_liver(
    offset: np.ndarray, waves: tuple[np.ndarray, np.ndarray, np.ndarray]
) -> np.ndarray:
    """Whether points at ``offset`` (..., 3) mm from the liver centre lie in the liver.

    The liver is an ellipsoid whose anterior–posterior and superior–inferior semi-axes grow from
    the left lobe to the right, with a radius perturbed by at most ``LIVER_WAVES``, less the
    visceral dent (a sphere outside the inferior-medial surface).
    """
    lateral = np.clip(offset[..., 0] / LIVER_SEMI_AXES_MM[0], -1.0, 1.0)[..., None]
    scaled = offset / (LIVER_SEMI_AXES_MM * (1.0 + LIVER_TAPER * lateral))
    radius = np.linalg.norm(scaled, axis=-1)
    surface = 1.0 + LIVER_WAVES * _wave_sum(_unit(scaled), waves)
    dent_centre = DENT_NORMAL * (DENT_DEPTH_MM + DENT_RADIUS_MM)
    outside_dent = np.linalg.norm(offset - dent_centre, axis=-1) > DENT_RADIUS_MM
    return (radius < surface) & outside_dent


def _inside_lobulated_sphere(
    offset: np.ndarray, radius: float, waves: tuple[np.ndarray, np.ndarray, np.ndarray]
) -> np.ndarray:
    """Whether points at ``offset`` (..., 3) mm from a tumour centre lie in it: a sphere of
    ``radius`` mm whose radius varies by at most ``TUMOUR_LOBES`` with direction."""
    distance = np.linalg.norm(offset, axis=-1)
    surface = radius * (1.0 + TUMOUR_LOBES * _wave_sum(_unit(offset), waves))
    return distance < surface


def _inside_capsule(
    offset: np.ndarray, start: np.ndarray, end: np.ndarray, radius: float
) -> np.ndarray:
    """Whether points ``offset`` (..., 3) lie within ``radius`` of the segment ``start``–``end``
    (all in mm, same frame): a cylinder with hemispherical ends."""
    axis = end - start
    along = np.clip((offset - start) @ axis / (axis @ axis), 0.0, 1.0)
    nearest = start + along[..., None] * axis
    return np.linalg.norm(offset - nearest, axis=-1) <= radius


def _largest_piece(mask: np.ndarray) -> np.ndarray:
    """The largest face-connected piece of ``mask``: where the liver's surface cuts the trunk at
    the hilum, it can leave a voxel or two of the trunk apart from the rest."""
    pieces, count = ndimage.label(mask)
    if count <= 1:
        return mask
    return pieces == 1 + np.argmax(np.bincount(pieces.ravel())[1:])


def _liver_extent_points(waves: tuple[np.ndarray, np.ndarray, np.ndarray]) -> np.ndarray:
    """Scanner positions (n, 3) mm of the liver sampled on a 2 mm world grid."""
    half = LIVER_SEMI_AXES_MM * (1.0 + LIVER_TAPER) * (1.0 + LIVER_WAVES)
    axes = [np.arange(-h, h + 2.0, 2.0) for h in half]
    offset = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1)
    return offset[_inside_liver(offset, waves)] + LIVER_CENTRE_MM


def _image_grid(
    waves: tuple[np.ndarray, np.ndarray, np.ndarray],
) -> tuple[np.ndarray, tuple[int, int, int]]:
    """The affine and shape of an image that holds the liver and ``MARGIN_MM`` around it.

    The liver's bounds along the image axes come from a 2 mm world sampling of it, so they are
    widened by 2 mm; the first voxel centre is rounded down to whole mm in the tilted frame.
    """
    rotation = _phantom_affine(np.zeros(3))[:3, :3] / VOXEL_MM
    tilted = _liver_extent_points(waves) @ rotation  # mm along the image axes
    lower = np.floor(tilted.min(axis=0) - MARGIN_MM - 2.0)
    upper = tilted.max(axis=0) + MARGIN_MM + 2.0
    ni, nj, nk = (int(n) for n in np.ceil((upper - lower) / VOXEL_MM) + 1)
    return _phantom_affine(lower), (ni, nj, nk)


def _index_box(
    affine: np.ndarray,
    shape: tuple[int, int, int],
    offsets: Sequence[np.ndarray],
    radius: float,
) -> tuple[slice, slice, slice]:
    """The index box holding the balls of ``radius`` mm about ``offsets`` (mm from the liver
    centre); the image axes are orthogonal, so a ball spans ``radius / VOXEL_MM`` voxels each
    way along them."""
    to_index = np.linalg.inv(affine)
    index = (np.asarray(offsets) + LIVER_CENTRE_MM) @ to_index[:3, :3].T + to_index[:3, 3]
    lower = np.floor(index.min(axis=0) - radius / VOXEL_MM).astype(int)
    upper = np.ceil(index.max(axis=0) + radius / VOXEL_MM).astype(int) + 1
    return tuple(
        slice(max(lo, 0), min(hi, n)) for lo, hi, n in zip(lower, upper, shape, strict=True)
    )


def _voxel_positions(affine: np.ndarray, shape: tuple[int, int, int]) -> np.ndarray:
    """Scanner positions (ni, nj, nk, 3) mm of every voxel centre."""
    index = np.stack(np.meshgrid(*(np.arange(n) for n in shape), indexing="ij"), axis=-1)
    return index @ affine[:3, :3].T + affine[:3, 3]


def main(argv: list[str] | None = None) -> int:
    """Write the phantom as a NIfTI-1 image and print a one-line summary of it."""
    import nibabel as nib  # the optional `imaging` extra

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "-o",
        "--output",
        type=Path,
        default=Path(__file__).with_name("liver_phantom.nii.gz"),
        help="where to write the label map (default: liver_phantom.nii.gz beside this script)",
    )
    parser.add_argument("--seed", type=int, default=7, help="draws the shapes' waves (default 7)")
    args = parser.parse_args(argv)

    labels, affine = liver_phantom(args.seed)
    image = nib.Nifti1Image(labels, affine)
    image.set_data_dtype(np.uint8)
    image.set_qform(affine, code=1)  # scanner
    image.set_sform(affine, code=1)
    image.header.set_xyzt_units(xyz="mm")
    nib.save(image, args.output)

    voxel_ml = float(np.prod(VOXEL_MM)) / 1000.0
    volumes = ", ".join(
        f"{name} {np.count_nonzero(labels == value) * voxel_ml:.1f} mL"
        for name, value in LABELS.items()
    )
    components, count = ndimage.label(labels == LABELS["tumor"])
    centres = ndimage.center_of_mass(components > 0, components, range(1, count + 1))
    centres_mm = "; ".join(
        "({:.1f}, {:.1f}, {:.1f})".format(*(affine[:3, :3] @ c + affine[:3, 3])) for c in centres
    )
    print(
        f"wrote {args.output}: shape {labels.shape}, voxel {' x '.join(f'{v:g}' for v in VOXEL_MM)}"
        f" mm; {volumes}; tumour centres (scanner RAS+ mm) {centres_mm}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
