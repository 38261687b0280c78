"""The voxel grid: a uniform, isotropic, cell-centred grid.

Voxel ``[i, j, k]`` has its centre at ``origin + (i + 1/2, j + 1/2, k + 1/2) * spacing``. The grid
centre is the origin of scenario positions, so ``origin = -size / 2`` in grid-centred coordinates.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Grid"]


@dataclass(frozen=True)
class Grid:
    """A uniform isotropic voxel grid.

    Parameters
    ----------
    shape
        Number of voxels along x, y, z.
    spacing
        Voxel edge in m.
    origin
        Position of the grid's lower corner (not the first voxel centre) in m, in the frame whose
        origin is the grid centre unless the anatomy comes from an image.
    """

    shape: tuple[int, int, int]
    spacing: float
    origin: tuple[float, float, float] | None = None

    def __post_init__(self) -> None:
        if len(self.shape) != 3 or any(int(n) < 1 for n in self.shape):
            raise ValueError(f"grid shape must be three positive integers, got {self.shape}")
        if not self.spacing > 0:
            raise ValueError(f"grid spacing must be positive, got {self.spacing} m")
        object.__setattr__(self, "shape", tuple(int(n) for n in self.shape))
        if self.origin is None:
            object.__setattr__(self, "origin", tuple(-0.5 * n * self.spacing for n in self.shape))

    @classmethod
    def centred(cls, size: tuple[float, float, float], spacing: float) -> Grid:
        """A grid of physical ``size`` (m per axis) centred on the origin."""
        shape = tuple(round(s / spacing) for s in size)
        return cls(shape=shape, spacing=spacing)

    @property
    def size(self) -> tuple[float, float, float]:
        """Physical extent per axis in m."""
        return tuple(n * self.spacing for n in self.shape)

    @property
    def n_voxels(self) -> int:
        """Number of voxels."""
        return int(np.prod(self.shape))

    @property
    def voxel_volume(self) -> float:
        """Volume of one voxel in m³."""
        return self.spacing**3

    @property
    def lower(self) -> np.ndarray:
        """Lower corner in m, shape (3,)."""
        return np.asarray(self.origin, dtype=float)

    @property
    def upper(self) -> np.ndarray:
        """Upper corner in m, shape (3,)."""
        return self.lower + np.asarray(self.size)

    def axis(self, dim: int) -> np.ndarray:
        """Voxel-centre coordinates along axis ``dim`` in m, shape (n,)."""
        return self.origin[dim] + (np.arange(self.shape[dim]) + 0.5) * self.spacing

    def axes(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Voxel-centre coordinates along x, y, z in m."""
        return self.axis(0), self.axis(1), self.axis(2)

    def axes_mm(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Voxel-centre coordinates along x, y, z in mm."""
        return tuple(a * 1e3 for a in self.axes())

    def contains(self, point: np.ndarray | tuple[float, float, float], margin: float = 0.0) -> bool:
        """Whether ``point`` (m) lies inside the grid, at least ``margin`` m from every face."""
        p = np.asarray(point, dtype=float)
        return bool(np.all(p >= self.lower + margin) and np.all(p <= self.upper - margin))

    def index_of(self, point: np.ndarray | tuple[float, float, float]) -> tuple[int, int, int]:
        """Index of the voxel containing ``point`` (m), clipped to the grid."""
        p = (np.asarray(point, dtype=float) - self.lower) / self.spacing
        idx = np.clip(np.floor(p).astype(int), 0, np.asarray(self.shape) - 1)
        return tuple(int(i) for i in idx)

    def fractional_index(self, point: np.ndarray) -> np.ndarray:
        """Continuous index of ``point`` (m) in voxels, where voxel centres are integers."""
        return (np.asarray(point, dtype=float) - self.lower) / self.spacing - 0.5

    def block(self, lower: np.ndarray, upper: np.ndarray) -> tuple[slice, slice, slice]:
        """Index slices of the voxels whose cells overlap the box ``[lower, upper]`` (m)."""
        lo = np.floor((np.asarray(lower) - self.lower) / self.spacing).astype(int)
        hi = np.ceil((np.asarray(upper) - self.lower) / self.spacing).astype(int)
        lo = np.clip(lo, 0, self.shape)
        hi = np.clip(hi, 0, self.shape)
        return tuple(slice(int(a), int(b)) for a, b in zip(lo, hi, strict=True))

    def centres(self, block: tuple[slice, slice, slice] | None = None) -> np.ndarray:
        """Voxel-centre coordinates (m) of a block, shape (nx, ny, nz, 3)."""
        block = block or (slice(None),) * 3
        ax = [self.axis(d)[block[d]] for d in range(3)]
        x, y, z = np.meshgrid(*ax, indexing="ij")
        return np.stack([x, y, z], axis=-1)
