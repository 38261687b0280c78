"""The anatomy label map: base tissue, tumours (partial volume), their fibrous capsules and large
vessels on a grid."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from .grid import Grid
from .shapes import Cylinder, Shape, shell_mask, volume_fraction

__all__ = ["Anatomy", "CapsuleShell", "TumorShape", "VesselShape", "build_anatomy"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class CapsuleShell:
    """A fibrous capsule: a shell of ``thickness`` (m) just outside a tumour's surface.

    Its voxels take the material of index ``material``, whose untreated tissue holds
    ``collagen`` (fraction of voxel capacity, in [0, 1]).
    """

    thickness: float
    material: int
    collagen: float = 0.0


@dataclass(frozen=True)
class TumorShape:
    """A tumour: its region, the index of its material in the tissue model and its capsule (none
    when ``capsule`` is None)."""

    name: str
    shape: Shape
    material: int
    capsule: CapsuleShell | None = None


@dataclass(frozen=True)
class VesselShape:
    """A large vessel: a cylinder of blood, with its volume ``flow`` (m³/s) from the cylinder's
    start to its end, or None (held at blood temperature); ``occludes``: whether heat can close
    it (a flowing vessel; False for a glass tube or a stent graft)."""

    name: str
    shape: Cylinder
    flow: float | None = None
    occludes: bool = True


@dataclass(frozen=True)
class Anatomy:
    """Static anatomy on a grid.

    Attributes
    ----------
    grid
        The voxel grid.
    material
        uint8 (nx, ny, nz): material index of the voxel's dominant tissue (0 = base tissue).
    tumor_fraction
        float32 (nx, ny, nz): volume fraction of tumour tissue in [0, 1] (partial volume).
    tumor_id
        uint8 (nx, ny, nz): 1 + index of the tumour covering most of the voxel, 0 for none.
    vessel
        bool (nx, ny, nz): voxel centre inside a large vessel; held at blood temperature.
    tumor_names, vessel_names
        Names in scenario order.
    vessel_id
        uint8 (nx, ny, nz): 1 + index of the (first) vessel whose voxel it is, 0 for none; None
        when the anatomy was built without it.
    vessels
        The vessels' shapes, in scenario order.
    organ
        bool (nx, ny, nz): voxel mostly inside the segmented organ (with its tumours and
        vessels); None when the anatomy has no segmented organ (all of the grid is tissue).
    world_affine
        4 × 4: grid voxel index → the image's scanner coordinates in mm, when the anatomy came
        from an image (:mod:`tissuefate.grid.image`); None otherwise.
    source_image
        Path of the image (the label map, or the first mask) it came from; None otherwise.
    material_collagen
        Collagen of the untreated tissue of each material (fraction of voxel capacity), by
        material index; materials past its end hold none. A tumour capsule's material has it.
    """

    grid: Grid
    material: np.ndarray
    tumor_fraction: np.ndarray
    tumor_id: np.ndarray
    vessel: np.ndarray
    tumor_names: tuple[str, ...] = ()
    vessel_names: tuple[str, ...] = ()
    material_collagen: tuple[float, ...] = ()
    vessel_id: np.ndarray | None = None
    vessels: tuple[VesselShape, ...] = ()
    organ: np.ndarray | None = None
    world_affine: np.ndarray | None = None
    source_image: str | None = None

    @property
    def tumor_volume(self) -> float:
        """Total tumour volume in m³ (partial volume)."""
        return float(self.tumor_fraction.sum(dtype=np.float64)) * self.grid.voxel_volume

    @property
    def collagen(self) -> np.ndarray:
        """float32 (nx, ny, nz): collagen of the untreated tissue of each voxel's material, in
        [0, 1] (0 in large vessels, whose voxels are material 0)."""
        size = max(len(self.material_collagen), int(self.material.max(initial=0)) + 1)
        table = np.zeros(size, dtype=np.float32)
        table[: len(self.material_collagen)] = self.material_collagen
        return table[self.material]


def build_anatomy(
    grid: Grid,
    tumors: list[TumorShape] | tuple[TumorShape, ...] = (),
    vessels: list[VesselShape] | tuple[VesselShape, ...] = (),
    samples: int = 4,
) -> Anatomy:
    """Rasterise tumours (with partial volume), their capsules and vessels (voxel centres) onto
    ``grid``.

    Overlapping tumours add up to at most 1. A tumour's capsule takes the voxels outside the
    tumour whose centres lie within its thickness of the tumour's surface (to within
    ``sqrt(3) h / (2 samples)``, :func:`~tissuefate.grid.shapes.shell_mask`), unless tumour tissue
    dominates them or an earlier capsule took them.
    Vessel voxels hold blood only: no tumour and no capsule there.

    Raises
    ------
    ValueError
        If a vessel covers no voxel centre (thinner than the grid resolves), or a capsule none
        (under about half the voxel edge); the message names the vessel or the tumour.
    """
    shape = grid.shape
    material = np.zeros(shape, dtype=np.uint8)
    tumor_fraction = np.zeros(shape, dtype=np.float32)
    tumor_id = np.zeros(shape, dtype=np.uint8)
    best = np.zeros(shape, dtype=np.float32)
    for n, tumor in enumerate(tumors, start=1):
        block, frac = volume_fraction(grid, tumor.shape, samples)
        frac = frac.astype(np.float32)
        view = tumor_fraction[block]
        view += frac
        np.minimum(view, 1.0, out=view)
        wins = frac > best[block]
        tumor_id[block][wins] = n
        best[block] = np.maximum(best[block], frac)
    # a voxel is tumour material when tumour tissue dominates it; the largest share names it
    dominant = tumor_fraction >= 0.5
    lookup = np.array([0] + [t.material for t in tumors], dtype=np.uint8)
    material[dominant] = lookup[tumor_id[dominant]]
    collagen: dict[int, float] = {}
    for tumor in tumors:
        if tumor.capsule is not None:
            _add_capsule(grid, tumor.name, tumor.shape, tumor.capsule, material, samples)
            collagen[tumor.capsule.material] = tumor.capsule.collagen
    material_collagen = [0.0] * (max(collagen, default=-1) + 1)
    for index, value in collagen.items():
        material_collagen[index] = value
    vessel = np.zeros(shape, dtype=bool)
    vessel_id = np.zeros(shape, dtype=np.uint8)
    for n, v in enumerate(vessels, start=1):
        lower, upper = v.shape.bounds()
        block = grid.block(lower, upper)
        inside = v.shape.contains(grid.centres(block))
        if not inside.any():
            raise ValueError(
                f"vessel {v.name!r} (radius {v.shape.radius * 1e3:g} mm) covers no voxel centre; "
                f"it is thinner than the {grid.spacing * 1e3:g} mm grid resolves"
            )
        ids = vessel_id[block]
        ids[inside & (ids == 0)] = n
        vessel[block] |= inside
    tumor_fraction[vessel] = 0.0
    tumor_id[vessel] = 0
    material[vessel] = 0
    return Anatomy(
        grid=grid,
        material=material,
        tumor_fraction=tumor_fraction,
        tumor_id=tumor_id,
        vessel=vessel,
        tumor_names=tuple(t.name for t in tumors),
        vessel_names=tuple(v.name for v in vessels),
        material_collagen=tuple(material_collagen),
        vessel_id=vessel_id,
        vessels=tuple(vessels),
    )


def _add_capsule(
    grid: Grid,
    name: str,
    shape: Shape,
    capsule: CapsuleShell,
    material: np.ndarray,
    samples: int,
) -> None:
    """Give the capsule of tumour ``name`` its voxels in ``material`` (in place): those of its
    shell that are still base tissue (material 0)."""
    block, shell = shell_mask(grid, shape, capsule.thickness, samples)
    if not shell.any():
        raise ValueError(
            f"the capsule of tumor {name!r} ({capsule.thickness * 1e3:g} mm thick) covers no "
            f"voxel centre; it is thinner than the {grid.spacing * 1e3:g} mm grid resolves"
        )
    if capsule.thickness < 0.5 * grid.spacing:
        logger.warning(
            "the capsule of tumor %r (%g mm thick) is thinner than half the %g mm voxel: it holds "
            "only the voxels whose centres happen to lie that close to the surface",
            name,
            capsule.thickness * 1e3,
            grid.spacing * 1e3,
        )
    view = material[block]
    view[shell & (view == 0)] = capsule.material
