"""The anatomy label map: base tissue, tumours (partial volume) and large vessels on a grid."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .grid import Grid
from .shapes import Cylinder, Shape, volume_fraction

__all__ = ["Anatomy", "TumorShape", "VesselShape", "build_anatomy"]


@dataclass(frozen=True)
class TumorShape:
    """A tumour: its region and the index of its material in the tissue model."""

    name: str
    shape: Shape
    material: int


@dataclass(frozen=True)
class VesselShape:
    """A large vessel: a cylinder of flowing blood held at blood temperature."""

    name: str
    shape: Cylinder


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
    """

    grid: Grid
    material: np.ndarray
    tumor_fraction: np.ndarray
    tumor_id: np.ndarray
    vessel: np.ndarray
    tumor_names: tuple[str, ...] = ()
    vessel_names: tuple[str, ...] = ()

    @property
    def tumor_volume(self) -> float:
        """Total tumour volume in m³ (partial volume)."""
        return float(self.tumor_fraction.sum(dtype=np.float64)) * self.grid.voxel_volume


def build_anatomy(
    grid: Grid,
    tumors: list[TumorShape] | tuple[TumorShape, ...] = (),
    vessels: list[VesselShape] | tuple[VesselShape, ...] = (),
    samples: int = 4,
) -> Anatomy:
    """Rasterise tumours (with partial volume) and vessels (voxel centres) onto ``grid``.

    Overlapping tumours add up to at most 1. Vessel voxels hold blood only: no tumour there.

    Raises
    ------
    ValueError
        If a vessel covers no voxel centre (thinner than the grid resolves); the message names it.
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
    vessel = np.zeros(shape, dtype=bool)
    for v in vessels:
        lower, upper = v.shape.bounds()
        block = grid.block(lower, upper)
        inside = v.shape.contains(grid.centres(block))
        if not inside.any():
            raise ValueError(
                f"vessel {v.name!r} (radius {v.shape.radius * 1e3:g} mm) covers no voxel centre; "
                f"it is thinner than the {grid.spacing * 1e3:g} mm grid resolves"
            )
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
    )
