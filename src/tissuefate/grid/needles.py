"""Needles on the grid: the voxels of electrodes, cryoprobes and their arrays.

A needle is a cylinder of ``radius`` from its ``tip`` back along ``-direction`` (``direction``
points along insertion, from the shaft to the tip) over ``length``. Its voxels are those at least
half inside it, plus every voxel its axis passes through, so that a needle thinner than a voxel
still has a connected line of voxels and is never lost.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .grid import Grid
from .shapes import Cylinder, volume_fraction

__all__ = [
    "Segment",
    "cluster_segments",
    "multi_tine_segments",
    "needle_segment",
    "segment_mask",
    "segments_mask",
]


@dataclass(frozen=True)
class Segment:
    """A needle part: from ``start`` to ``end`` (m), radius in m."""

    start: tuple[float, float, float]
    end: tuple[float, float, float]
    radius: float

    @property
    def length(self) -> float:
        """Length in m."""
        return float(np.linalg.norm(np.subtract(self.end, self.start)))


def needle_segment(
    tip: tuple[float, float, float],
    direction: tuple[float, float, float],
    length: float,
    radius: float,
) -> Segment:
    """The active part of a straight needle ending at ``tip``."""
    d = np.asarray(direction, float) / np.linalg.norm(direction)
    start = np.asarray(tip, float) - d * length
    return Segment(tuple(start), tuple(float(x) for x in tip), radius)


def _perpendicular(d: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Two unit vectors perpendicular to the unit vector ``d`` and to each other."""
    helper = np.array([1.0, 0.0, 0.0]) if abs(d[0]) < 0.9 else np.array([0.0, 1.0, 0.0])
    e1 = np.cross(d, helper)
    e1 /= np.linalg.norm(e1)
    return e1, np.cross(d, e1)


def cluster_segments(
    tip: tuple[float, float, float],
    direction: tuple[float, float, float],
    length: float,
    radius: float,
    spacing: float,
) -> list[Segment]:
    """Three parallel needles whose tips form an equilateral triangle of side ``spacing`` (m)
    centred on ``tip`` (the geometry of clustered cooled electrodes)."""
    d = np.asarray(direction, float) / np.linalg.norm(direction)
    e1, e2 = _perpendicular(d)
    r = spacing / math.sqrt(3.0)  # circumradius of the triangle
    out = []
    for n in range(3):
        a = 2 * math.pi * n / 3
        offset = r * (math.cos(a) * e1 + math.sin(a) * e2)
        out.append(needle_segment(tuple(np.asarray(tip) + offset), tuple(d), length, radius))
    return out


def multi_tine_segments(
    tip: tuple[float, float, float],
    direction: tuple[float, float, float],
    tines: int,
    deployed_diameter: float,
    length: float,
    radius: float,
) -> list[Segment]:
    """An expandable array: ``tines`` straight tines of ``length`` from the cannula ``tip``.

    The tines leave the tip and end on a circle of ``deployed_diameter`` in the plane through the
    tip perpendicular to the needle, plus the remaining axial reach ahead of it (a tine longer than
    the circle's radius leans forward). Real tines curve; straight ones keep the same spread and
    tip positions, which set the zone, within the voxel size.
    """
    d = np.asarray(direction, float) / np.linalg.norm(direction)
    e1, e2 = _perpendicular(d)
    r = 0.5 * deployed_diameter
    ahead = math.sqrt(max(length**2 - r**2, 0.0))
    base = np.asarray(tip, float)
    out = []
    for n in range(tines):
        a = 2 * math.pi * n / tines
        end = base + r * (math.cos(a) * e1 + math.sin(a) * e2) + ahead * d
        out.append(Segment(tuple(base), tuple(end), radius))
    return out


def _traverse(grid: Grid, a: np.ndarray, b: np.ndarray) -> list[tuple[int, int, int]]:
    """Voxels the segment from ``a`` to ``b`` (m) passes through, in order (3-D DDA, Amanatides
    and Woo 1987), clipped to the grid."""
    h = grid.spacing
    p = (a - grid.lower) / h  # position in voxel units, voxel i spans [i, i + 1)
    q = (b - grid.lower) / h
    d = q - p
    length = float(np.abs(d).max())
    shape = np.asarray(grid.shape)
    if length == 0.0:
        cell = np.floor(p).astype(int)
        return [tuple(int(c) for c in cell)] if np.all((cell >= 0) & (cell < shape)) else []
    cell = np.floor(p).astype(int)
    last = np.floor(q).astype(int)
    step = np.sign(d).astype(int)
    with np.errstate(divide="ignore", invalid="ignore"):
        t_delta = np.where(step != 0, 1.0 / np.abs(d), np.inf)
        edge = np.where(step > 0, cell + 1 - p, p - cell)
        t_max = np.where(step != 0, edge * t_delta, np.inf)
    out = []
    for _ in range(int(np.abs(last - cell).sum()) + 1):
        if np.all((cell >= 0) & (cell < shape)):
            out.append(tuple(int(c) for c in cell))
        axis = int(np.argmin(t_max))
        if t_max[axis] > 1.0:
            break
        cell[axis] += step[axis]
        t_max[axis] += t_delta[axis]
    return out


def segment_mask(grid: Grid, segment: Segment) -> np.ndarray:
    """Boolean mask of the voxels of one needle segment (see the module docstring)."""
    mask = np.zeros(grid.shape, bool)
    if segment.radius > 0 and segment.length > 0:
        block, frac = volume_fraction(grid, Cylinder(segment.start, segment.end, segment.radius))
        mask[block] = frac >= 0.5
    for idx in _traverse(grid, np.asarray(segment.start, float), np.asarray(segment.end, float)):
        mask[idx] = True
    return mask


def segments_mask(grid: Grid, segments: list[Segment]) -> np.ndarray:
    """Union of :func:`segment_mask` over ``segments``."""
    mask = np.zeros(grid.shape, bool)
    for s in segments:
        mask |= segment_mask(grid, s)
    return mask
