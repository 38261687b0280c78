"""Anatomy from a segmented image: NIfTI label maps or masks, cropped and resampled onto the grid.

The simulation grid is isotropic and aligned with the scanner axes (NIfTI's RAS+: +x towards the
patient's right, +y anterior, +z superior, in mm), whatever the image's own voxel axes: an
oblique or anisotropic image is resampled through its affine. Voxel ``[i, j, k]`` of the grid has
its centre at ``centre + grid.origin + (i + 1/2, j + 1/2, k + 1/2) h`` in scanner coordinates,
where ``centre`` is the scanner position of the grid centre (:func:`grid_affine`).

Each grid voxel is sampled at ``s³`` points (``s = ceil(h / finest image voxel edge)``, at most
:data:`MAX_SAMPLES`), each taking the label of the image voxel it falls in (nearest neighbour);
a role's fraction of the points is its partial volume. Tumours keep that fraction; the organ and
the vessels take the voxels where it is at least one half.

NIfTI reading needs nibabel (``pip install 'tissuefate[imaging]'``).
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, replace
from importlib.util import find_spec
from pathlib import Path
from typing import Any

import numpy as np
from scipy import ndimage

from ..errors import ScenarioError
from ..scenario.anatomy import ImageAnatomy
from ..scenario.frames import translate_positions
from ..scenario.models import MIN_VOXELS_PER_AXIS, Scenario
from ..scenario.quantities import ureg
from .anatomy import Anatomy, CapsuleShell
from .grid import Grid

__all__ = [
    "MAX_SAMPLES",
    "ROLE_CODES",
    "ImageGrid",
    "ImageTumors",
    "LabelVolume",
    "Segmentation",
    "add_image",
    "capsule_shell",
    "grid_affine",
    "image_tumors",
    "read_nifti",
    "read_segmentation",
    "require_nibabel",
    "resample_roles",
    "resolve_image",
    "sample_nearest",
]

#: Role codes in the resampled image, in order of precedence where masks overlap.
ROLE_CODES = {"organ": 1, "liver": 1, "tumor": 2, "vessel": 3}
#: Most sub-voxel samples per grid axis when the image is finer than the grid.
MAX_SAMPLES = 4
_CHUNK_POINTS = 2_000_000
#: Refinement of the grid on which a capsule's distance to the tumour surface is measured.
CAPSULE_REFINE = 4
#: Most voxels of that finer grid (the refinement drops for large tumours).
CAPSULE_FINE_VOXELS = 16_000_000
_SUFFIXES = (".nii", ".nii.gz")
_IMAGING_HINT = "reading NIfTI images needs nibabel: pip install 'tissuefate[imaging]'"


@dataclass(frozen=True)
class LabelVolume:
    """One NIfTI volume: its integer ``data`` (i, j, k) and ``affine`` (voxel index → scanner
    coordinates in mm, 4 × 4)."""

    data: np.ndarray
    affine: np.ndarray
    path: str

    @property
    def spacing_mm(self) -> np.ndarray:
        """Edge lengths of a voxel along i, j, k in mm."""
        return np.linalg.norm(self.affine[:3, :3], axis=0)

    @property
    def half_extent_mm(self) -> np.ndarray:
        """Half the extent of one voxel along the scanner x, y, z in mm (of its box)."""
        return 0.5 * np.abs(self.affine[:3, :3]).sum(axis=1)


@dataclass(frozen=True)
class Segmentation:
    """A segmentation: its volumes, each with the role code (:data:`ROLE_CODES`) of its values.

    ``codes[n]`` is a uint8 volume of the shape of ``volumes[n]``: 0 where no role, else the
    role's code. The first volume is the reference image (exports in the source's space use it).
    """

    volumes: tuple[LabelVolume, ...]
    codes: tuple[np.ndarray, ...]

    def role_bounds(self, code: int) -> tuple[np.ndarray, np.ndarray] | None:
        """Scanner-coordinate box (mm, lower and upper corner) of the voxels of role ``code``,
        None when there are none."""
        lows, highs = [], []
        for volume, codes in zip(self.volumes, self.codes, strict=True):
            index = np.argwhere(codes == code)
            if not index.size:
                continue
            # every voxel's centre: in an oblique image the box of the index corners is loose
            world = index @ volume.affine[:3, :3].T + volume.affine[:3, 3]
            lows.append(world.min(axis=0) - volume.half_extent_mm)
            highs.append(world.max(axis=0) + volume.half_extent_mm)
        if not lows:
            return None
        return np.min(lows, axis=0), np.max(highs, axis=0)


def require_nibabel() -> Any:
    """The nibabel module (ImportError naming the imaging extra when it is missing)."""
    try:
        import nibabel
    except ImportError as exc:  # pragma: no cover - the imaging extra is installed in tests
        raise ImportError(_IMAGING_HINT) from exc
    return nibabel


def read_nifti(path: str | os.PathLike[str], *, source: str | None, key: str) -> LabelVolume:
    """Read the 3-D NIfTI label map or mask at ``path``.

    Raises
    ------
    ScenarioError
        Naming ``key`` of ``source`` and the file: missing, not NIfTI, not 3-D (a 4-D image with
        one volume is taken as 3-D), or not whole numbers.
    """
    nib = require_nibabel()
    name = os.fspath(path)

    def fail(reason: str) -> ScenarioError:
        return ScenarioError(f"{name}: {reason}", source=source, key=key)

    if not os.path.exists(name):
        raise fail("no such file")
    if not name.lower().endswith(_SUFFIXES):
        raise fail("not a NIfTI file: the name must end in .nii or .nii.gz")
    try:
        image = nib.load(name)
    except Exception as exc:  # nibabel raises several kinds for a file that is not NIfTI
        raise fail(f"not a readable NIfTI file ({type(exc).__name__}: {exc})") from None
    if not isinstance(image, nib.Nifti1Image | nib.Nifti2Image):
        raise fail(f"not a NIfTI file (nibabel reads it as {type(image).__name__})")
    shape = image.shape
    while len(shape) > 3 and shape[-1] == 1:
        shape = shape[:-1]
    if len(shape) != 3:
        raise fail(
            f"not a 3-D image: its shape is {tuple(image.shape)}; give one 3-D label map or mask"
        )
    try:
        data = np.asanyarray(image.dataobj).reshape(shape)
    except Exception as exc:
        raise fail(f"cannot read its voxels ({type(exc).__name__}: {exc})") from None
    if data.dtype.kind == "f":
        if not np.isfinite(data).all() or (data != np.round(data)).any():
            raise fail("not a label map or mask: its values are not whole numbers")
        data = data.astype(np.int64)
    elif data.dtype.kind == "b":
        data = data.astype(np.uint8)
    elif data.dtype.kind not in "iu":
        raise fail(f"not a label map or mask: its voxels are of type {data.dtype}")
    affine = np.asarray(image.affine, float)
    if not np.isfinite(affine).all() or abs(np.linalg.det(affine[:3, :3])) < 1e-12:
        raise fail("its affine (voxel to scanner coordinates) is singular or not finite")
    return LabelVolume(data, affine, name)


def read_segmentation(
    spec: ImageAnatomy, *, source: str | None, base: str | os.PathLike[str] | None = None
) -> Segmentation:
    """Read the label map or masks of ``spec`` (relative paths from ``base``, default: the
    folder of ``source``, else the working folder) and check them.

    Raises
    ------
    ScenarioError
        For a file that cannot be read (:func:`read_nifti`), a label absent from the map, an
        empty mask, or voxels more anisotropic than ``spec.max_anisotropy``; or when the
        imaging extra is missing (nibabel reads the image, scikit-image draws the meshes a run on
        it writes): found before any work, not after the simulation.
    """
    missing = [name for name in ("nibabel", "skimage") if find_spec(name) is None]
    if missing:
        raise ScenarioError(
            f"an anatomy from an image needs {' and '.join(missing)}: "
            "pip install 'tissuefate[imaging]'",
            source=source,
            key="anatomy.image",
        )
    spec = spec.anchored(_folder(source) if base is None else base)
    volumes: list[LabelVolume] = []
    codes: list[np.ndarray] = []
    prefix = "anatomy.image"
    if spec.masks:
        for role, name in spec.masks.items():
            key = f"{prefix}.masks.{role}"
            volume = read_nifti(name, source=source, key=key)
            _check_anisotropy(volume, spec, source, key)
            mask = volume.data != 0
            if not mask.any():
                raise ScenarioError(
                    f"{volume.path}: the {role} mask is empty", source=source, key=key
                )
            volumes.append(volume)
            codes.append(mask.view(np.uint8) * np.uint8(ROLE_CODES[role]))
    else:
        key = f"{prefix}.path"
        volume = read_nifti(spec.path or "", source=source, key=key)
        _check_anisotropy(volume, spec, source, key)
        data = volume.data
        low, high = int(data.min()), int(data.max())
        wanted = {value: role for role, values in spec.labels.items() for value in values}
        if low < 0 or high > 65535:
            raise ScenarioError(
                f"{volume.path}: labels must lie in 0..65535, found {low}..{high}",
                source=source,
                key=key,
            )
        present = np.bincount(data.ravel(), minlength=max(wanted) + 1) > 0
        for value, role in wanted.items():
            if not present[value]:
                found = ", ".join(str(v) for v in np.flatnonzero(present) if v) or "none"
                raise ScenarioError(
                    f"{volume.path} has no voxel of label {value} ({role}); its labels: {found}",
                    source=source,
                    key=f"{prefix}.labels.{role}",
                )
        lut = np.zeros(high + 1, np.uint8)
        for value, role in wanted.items():
            if value <= high:
                lut[value] = ROLE_CODES[role]
        volumes.append(volume)
        codes.append(lut[data])
    return Segmentation(tuple(volumes), tuple(codes))


def _check_anisotropy(
    volume: LabelVolume, spec: ImageAnatomy, source: str | None, key: str
) -> None:
    edges = volume.spacing_mm
    ratio = float(edges.max() / edges.min())
    if ratio > spec.max_anisotropy * (1 + 1e-9):
        shown = " x ".join(f"{e:.3g}" for e in edges)
        raise ScenarioError(
            f"{volume.path}: its voxels ({shown} mm) are {ratio:.3g} times longer along one "
            f"axis than another, above the limit of {spec.max_anisotropy:g} "
            "(anatomy.image.max_anisotropy; resample the image, or raise the limit knowingly)",
            source=source,
            key=key,
        )


@dataclass(frozen=True)
class ImageGrid:
    """Where the grid of an image's scenario lies: the grid and the scanner position of its
    centre (mm)."""

    grid: Grid
    centre_mm: np.ndarray

    @property
    def affine(self) -> np.ndarray:
        """Grid voxel index → scanner coordinates in mm (4 × 4)."""
        return grid_affine(self.grid, self.centre_mm)


def grid_affine(grid: Grid, centre_mm: Sequence[float] = (0.0, 0.0, 0.0)) -> np.ndarray:
    """The 4 × 4 affine from grid voxel index to mm: scanner coordinates when ``centre_mm`` is
    the scanner position of the grid centre, else the grid's own frame."""
    h = grid.spacing * 1e3
    affine = np.diag([h, h, h, 1.0])
    affine[:3, 3] = np.asarray(centre_mm, float) + np.asarray(grid.origin) * 1e3 + 0.5 * h
    return affine


def resolve_image(
    scenario: Scenario, source: str | None = None, segmentation: Segmentation | None = None
) -> tuple[Scenario, Segmentation | None]:
    """The scenario with its image's crop decided: ``grid.size`` filled in (the tumours' box
    plus the margin, unless given), ``anatomy.image.center`` set to the scanner position of the
    grid centre, every position moved into the grid's frame (``positions: grid``) and the image
    paths made absolute (from the folder of ``source``, else the working folder).

    Returns the scenario unchanged and None when it has no image or is resolved already
    (:attr:`~tissuefate.scenario.models.Scenario.image_pending`): the image is read only
    when it decides something.

    Raises
    ------
    ScenarioError
        For a bad image (:func:`read_segmentation`), or tumours of which no voxel lies in it.
    """
    spec = scenario.anatomy.image
    if spec is None or not scenario.image_pending:
        return scenario, None
    spec = spec.anchored(_folder(source))
    seg = segmentation or read_segmentation(spec, source=source)
    bounds = seg.role_bounds(ROLE_CODES["tumor"])
    if bounds is None:
        raise ScenarioError(
            "the image has no tumour voxel", source=source, key="anatomy.image.labels.tumor"
        )
    low, high = bounds
    centre = 0.5 * (low + high) if spec.center is None else np.array(spec.center_m) * 1e3  # mm
    h_mm = scenario.grid.spacing_m * 1e3
    if scenario.grid.size is None:
        # the box around the tumours, centred where they are, plus the margin on each side
        extent = np.maximum(high - centre, centre - low) * 2 + 2 * spec.margin_m * 1e3
        counts = np.maximum(np.ceil(extent / h_mm - 1e-9), MIN_VOXELS_PER_AXIS).astype(int)
        size = tuple(_mm(n * h_mm) for n in counts)
        grid_spec = scenario.grid.model_copy(update={"size": size})
    else:
        grid_spec = scenario.grid
    image_updates: dict[str, Any] = {"center": tuple(_mm(c) for c in centre)}
    moved = scenario
    if spec.positions == "world":
        moved = translate_positions(scenario, tuple(float(c) * 1e-3 for c in centre))
        image_updates["positions"] = "grid"
    anatomy = moved.anatomy.model_copy(update={"image": spec.model_copy(update=image_updates)})
    resolved = moved.model_copy(update={"grid": grid_spec, "anatomy": anatomy})
    return resolved, seg


def _folder(source: str | None) -> Path:
    """The folder an image's relative paths are read from: the scenario file's, or the working
    folder when the scenario has no file."""
    return Path(source).parent if source else Path.cwd()


def _mm(value: float) -> Any:
    return ureg.Quantity(round(float(value), 9), "mm")


def resample_roles(seg: Segmentation, where: ImageGrid) -> dict[str, np.ndarray]:
    """The partial volume of each role on the grid: float32 arrays ``organ`` (any labelled
    tissue: organ, tumour or vessel), ``tumor`` and ``vessel``, each in [0, 1].

    Each grid voxel is sampled at ``s³`` points (``s = ceil(h / finest image edge)``, at most
    :data:`MAX_SAMPLES`); a point takes the role of the image voxel it falls in (0 outside the
    image; where masks overlap, the role of highest code).
    """
    grid = where.grid
    h_mm = grid.spacing * 1e3
    finest = min(float(v.spacing_mm.min()) for v in seg.volumes)
    s = int(min(MAX_SAMPLES, max(1, math.ceil(h_mm / finest - 1e-9))))
    nx, ny, nz = grid.shape
    counts = {name: np.zeros(grid.shape, np.uint8) for name in ("organ", "tumor", "vessel")}
    corner = where.centre_mm + np.asarray(grid.origin) * 1e3  # scanner mm of the lower corner
    offsets = (np.arange(s) + 0.5) / s * h_mm
    rows = max(1, _CHUNK_POINTS // (ny * nz))
    # grid voxel index (shifted by each sample's offset) -> each image's continuous index
    to_image = [
        (np.linalg.inv(volume.affine) @ np.diag([h_mm, h_mm, h_mm, 1.0]), codes)
        for volume, codes in zip(seg.volumes, seg.codes, strict=True)
    ]
    for start in range(0, nx, rows):
        stop = min(nx, start + rows)
        i = np.arange(start, stop, dtype=float)[:, None, None]
        j = np.arange(ny, dtype=float)[None, :, None]
        k = np.arange(nz, dtype=float)[None, None, :]
        view = {name: c[start:stop] for name, c in counts.items()}
        for ox in offsets:
            for oy in offsets:
                for oz in offsets:
                    point = corner + np.array([ox, oy, oz])
                    code = None
                    for matrix, codes in to_image:
                        to_index = matrix.copy()
                        to_index[:3, 3] = matrix[:3, :3] @ (point / h_mm) + matrix[:3, 3]
                        found = sample_nearest(codes, to_index, i, j, k)
                        code = found if code is None else np.maximum(code, found)
                    assert code is not None
                    view["organ"] += code > 0
                    view["tumor"] += code == ROLE_CODES["tumor"]
                    view["vessel"] += code == ROLE_CODES["vessel"]
    total = np.float32(s**3)
    return {name: (c / total).astype(np.float32) for name, c in counts.items()}


def sample_nearest(
    volume: np.ndarray,
    to_index: np.ndarray,
    i: np.ndarray,
    j: np.ndarray,
    k: np.ndarray,
    fill: float = 0,
) -> np.ndarray:
    """``volume``'s values (its first three axes indexed; any further axes kept) at the voxels
    nearest to the continuous indices ``to_index @ (i, j, k, 1)`` (``to_index``: 4 × 4, from
    the points' own indices to ``volume``'s; ``i``, ``j``, ``k`` broadcast), ``fill`` where a
    point lies outside ``volume``."""
    shape = np.broadcast_shapes(np.shape(i), np.shape(j), np.shape(k))
    inside = np.ones(shape, bool)
    index = []
    for axis in range(3):
        row = to_index[axis]
        nearest = np.floor(row[0] * i + row[1] * j + row[2] * k + (row[3] + 0.5))
        nearest = np.broadcast_to(nearest, shape).astype(np.int64)
        n = volume.shape[axis]
        inside &= (nearest >= 0) & (nearest < n)
        index.append(np.clip(nearest, 0, n - 1))
    out = volume[index[0], index[1], index[2]]
    out[~inside] = fill
    return out


@dataclass(frozen=True)
class ImageTumors:
    """The tumours of an image on the grid: ``fraction`` (float32 partial volume of all) and
    ``label`` (int32: 1 + index of each voxel's tumour, in ``names`` order, 0 for none)."""

    fraction: np.ndarray
    label: np.ndarray
    names: tuple[str, ...]
    volumes_ml: tuple[float, ...]


def image_tumors(fraction: np.ndarray, grid: Grid, min_volume_m3: float = 0.0) -> ImageTumors:
    """Split the tumour partial volume into tumours: connected components (26-connected) of the
    voxels holding any, ``tumor_1`` the largest; components under ``min_volume_m3`` are dropped."""
    labels, n = ndimage.label(fraction > 0, structure=np.ones((3, 3, 3), bool))
    if n == 0:
        return ImageTumors(fraction, labels, (), ())
    volumes = ndimage.sum_labels(fraction, labels, index=np.arange(1, n + 1)) * grid.voxel_volume
    order = [c for c in np.argsort(-volumes, kind="stable") if volumes[c] >= min_volume_m3]
    renumber = np.zeros(n + 1, np.int32)
    renumber[np.asarray(order, int) + 1] = np.arange(1, len(order) + 1)
    label = renumber[labels]
    kept = fraction * (label > 0)
    names = tuple(f"tumor_{m}" for m in range(1, len(order) + 1))
    return ImageTumors(
        kept.astype(np.float32), label, names, tuple(float(volumes[c]) * 1e6 for c in order)
    )


def add_image(
    anatomy: Anatomy,
    tumors: ImageTumors,
    materials: Sequence[int],
    vessel: np.ndarray,
    organ: np.ndarray,
    affine: np.ndarray,
    source_path: str,
    capsule: CapsuleShell | None = None,
) -> Anatomy:
    """``anatomy`` (drawn tumours and vessels, possibly none) with the image's tumours (of
    material ``materials[n]``), vessels and organ on top.

    Tumour fractions add up to at most 1; a voxel belongs to the tumour with the larger share,
    and takes its material where tumour dominates it (as :func:`build_anatomy` does). Image
    vessel voxels hold blood only, and are held at blood temperature (no flow). With a
    ``capsule``, the base-tissue voxels whose centres lie within its thickness of the image
    tumours' surface (:func:`capsule_shell`) take its material and collagen.
    """
    first = len(anatomy.tumor_names)
    if first + len(tumors.names) > 255:
        raise ValueError(
            f"the image holds {len(tumors.names)} tumours; at most {255 - first} fit "
            "(raise anatomy.image.min_tumor_volume to drop the smallest)"
        )
    drawn = anatomy.tumor_fraction
    fraction = np.minimum(drawn + tumors.fraction, 1.0).astype(np.float32)
    wins = tumors.fraction > drawn
    tumor_id = anatomy.tumor_id.copy()
    tumor_id[wins] = (first + tumors.label[wins]).astype(np.uint8)
    material = anatomy.material.copy()
    lookup = np.zeros(len(tumors.names) + 1, np.uint8)
    lookup[1:] = materials
    mine = wins & (fraction >= 0.5)
    material[mine] = lookup[tumors.label[mine]]
    collagen = list(anatomy.material_collagen)
    if capsule is not None:
        shell = capsule_shell(tumors.fraction, capsule.thickness, anatomy.grid.spacing)
        shell &= material == 0
        if not shell.any():
            raise ValueError(
                f"the image tumours' capsule ({capsule.thickness * 1e3:g} mm thick) covers no "
                f"voxel centre; it is thinner than the {anatomy.grid.spacing * 1e3:g} mm grid "
                "resolves"
            )
        material[shell] = capsule.material
        collagen += [0.0] * (capsule.material + 1 - len(collagen))
        collagen[capsule.material] = capsule.collagen
    vessel_all = anatomy.vessel | vessel
    vessel_id = (
        anatomy.vessel_id.copy()
        if anatomy.vessel_id is not None
        else np.zeros(vessel.shape, np.uint8)
    )
    vessel_id[vessel & (vessel_id == 0)] = len(anatomy.vessel_names) + 1
    fraction[vessel_all] = 0.0
    tumor_id[vessel_all] = 0
    material[vessel_all] = 0
    return replace(
        anatomy,
        material=material,
        tumor_fraction=fraction,
        tumor_id=tumor_id,
        vessel=vessel_all,
        vessel_id=vessel_id,
        tumor_names=anatomy.tumor_names + tumors.names,
        vessel_names=anatomy.vessel_names + (("image_vessels",) if vessel.any() else ()),
        organ=organ | vessel_all | (fraction > 0),
        world_affine=affine,
        source_image=source_path,
        material_collagen=tuple(collagen),
    )


def capsule_shell(fraction: np.ndarray, thickness: float, spacing: float) -> np.ndarray:
    """The voxels outside the tumour (``fraction`` below 1/2) whose centres lie within
    ``thickness`` (m) of its surface on a grid of ``spacing`` (m): the shell a capsule occupies.

    The surface is the 1/2 level of the partial volume on a grid :data:`CAPSULE_REFINE` times
    finer (linear interpolation), so the shell's thickness is not rounded to whole voxels: a
    1 mm capsule around an 8 mm sphere on a 0.5 mm grid holds the exact shell's volume within
    5 % (the distance to the nearest voxel centre alone gives 18 % too much)."""
    tumor = fraction >= 0.5
    out = np.zeros(fraction.shape, bool)
    if not tumor.any():
        return out
    reach = math.ceil(thickness / spacing) + 2
    index = np.argwhere(fraction > 0)
    lo = np.maximum(index.min(axis=0) - reach, 0)
    hi = np.minimum(index.max(axis=0) + reach + 1, fraction.shape)
    block = tuple(slice(int(a), int(b)) for a, b in zip(lo, hi, strict=True))
    sub = fraction[block].astype(np.float64)
    m = int(max(1, min(CAPSULE_REFINE, (CAPSULE_FINE_VOXELS / sub.size) ** (1 / 3))))
    fine = ndimage.zoom(sub, m, order=1, grid_mode=True, mode="nearest") >= 0.5
    distance = ndimage.distance_transform_edt(~fine) * (spacing / m)
    # the centre of coarse voxel i lies at fine index (i + 1/2) m - 1/2
    centres = np.indices(sub.shape).reshape(3, -1) * m + (m - 1) / 2
    at = ndimage.map_coordinates(distance, centres, order=1, mode="nearest").reshape(sub.shape)
    out[block] = (~tumor[block]) & (at - 0.5 * spacing / m <= thickness * (1 + 1e-9))
    return out
