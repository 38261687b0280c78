"""Triangle surfaces of voxel regions: marching cubes on a mask or a partial-volume fraction.

:func:`surface` turns a field on a :class:`~tissuefate.grid.grid.Grid` into the closed triangle
surface of the region where the field exceeds a level, in the grid's frame (m). The field is
padded by one voxel of zeros, so a region that touches the grid's faces is closed there (at the
grid face itself).

A boolean mask gives a staircase surface: marching cubes at 0.5 cuts every voxel corner at 45°,
so the area of a sphere comes out 7–9 % too large, whatever the resolution. Bool masks are
therefore smoothed with Taubin's λ|μ filter (G. Taubin, "A signal processing approach to fair
surface design", SIGGRAPH 1995): alternating shrink (λ > 0) and inflate (μ < -λ) steps of the
umbrella Laplacian remove the staircase without the shrinkage of plain Laplacian smoothing; no
vertex moves more than half a voxel per axis from where marching cubes put it, nor out of the
grid. Measured on
spheres with centres off the lattice (four centres each): radius 10 voxels, area error +8.5 % →
+0.7–1.1 %, volume within 0.4 %; radius 5 voxels, area +7 % → +1.0–1.3 %, volume within 0.4 %.
A Gaussian pre-blur of the mask (σ = 0.7 voxel) gets the area of the large sphere right too, but
moves curved surfaces inwards: it loses 7 % of the volume at radius 5 voxels and half of a vessel
of radius 1.25 voxels (Taubin: the -10 to -20 % that marching cubes itself loses there).
Partial-volume fractions are already smooth and are not filtered by default (sphere of radius 10
voxels: area within 0.05 %, volume -0.8 %).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from .grid import Grid

__all__ = ["TAUBIN_ITERATIONS", "TAUBIN_LAMBDA", "TAUBIN_MU", "Surface", "surface"]

#: Taubin smoothing of bool-mask surfaces: number of λ|μ step pairs, and the two step factors.
#: The pass-band frequency 1/λ + 1/μ ≈ 0.11 keeps the shape and removes the voxel staircase.
TAUBIN_ITERATIONS = 15
TAUBIN_LAMBDA = 0.5
TAUBIN_MU = -0.53
#: Farthest a smoothed vertex may move from its marching-cubes position, voxels per axis.
_TAUBIN_REACH = 0.5

_IMPORT_HINT = "surface meshes need scikit-image: pip install 'tissuefate[imaging]'"


@dataclass(frozen=True, eq=False)
class Surface:
    """A triangle surface (read-only arrays; compared by identity).

    Parameters
    ----------
    vertices
        Vertex positions in m, shape (n, 3), in the frame of the grid it came from (the frame of
        :attr:`Grid.origin`) unless :meth:`transformed` moved it.
    faces
        Vertex indices of each triangle, shape (m, 3). Counter-clockwise seen from outside, so
        the normals ``(b - a) × (c - a)`` point out of the enclosed region.
    """

    vertices: np.ndarray
    faces: np.ndarray

    def __post_init__(self) -> None:
        vertices = np.array(self.vertices, dtype=np.float64, order="C").reshape(-1, 3)
        faces = np.array(self.faces, dtype=np.int64, order="C").reshape(-1, 3)
        if faces.size and (faces.min() < 0 or faces.max() >= len(vertices)):
            raise ValueError(
                f"surface faces index vertices 0..{len(vertices) - 1}, "
                f"got indices {faces.min()}..{faces.max()}"
            )
        vertices.flags.writeable = False
        faces.flags.writeable = False
        object.__setattr__(self, "vertices", vertices)
        object.__setattr__(self, "faces", faces)

    @property
    def empty(self) -> bool:
        """Whether the surface has no triangles."""
        return len(self.faces) == 0

    def _corners(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        # Relative to the mean vertex: the volume sum then loses no digits far from the origin
        # (scanner coordinates).
        v = self.vertices - self.vertices.mean(axis=0) if len(self.vertices) else self.vertices
        return v[self.faces[:, 0]], v[self.faces[:, 1]], v[self.faces[:, 2]]

    @property
    def area(self) -> float:
        """Total triangle area in m²."""
        a, b, c = self._corners()
        return float(0.5 * np.linalg.norm(np.cross(b - a, c - a), axis=1).sum())

    @property
    def volume(self) -> float:
        """Enclosed volume in m³ by the divergence theorem (sum of signed tetrahedra).

        Positive for a closed surface with outward normals; meaningless for an open one.
        """
        a, b, c = self._corners()
        return float(np.einsum("ij,ij->i", a, np.cross(b, c)).sum() / 6.0)

    def transformed(self, affine: np.ndarray) -> Surface:
        """The surface with a 4×4 affine applied to its vertices (e.g. into scanner coordinates).

        An affine with a reflection (negative determinant of its 3×3 part) would turn the normals
        inwards; the faces are then reversed so that they still point out of the region.
        """
        affine = np.asarray(affine, dtype=np.float64)
        if affine.shape != (4, 4) or not np.all(np.isfinite(affine)):
            raise ValueError(f"affine must be a finite 4x4 matrix, got shape {affine.shape}")
        linear, shift = affine[:3, :3], affine[:3, 3]
        det = float(np.linalg.det(linear))
        if det == 0.0:
            raise ValueError("affine is singular: it would flatten the surface")
        faces = self.faces[:, ::-1] if det < 0.0 else self.faces
        return Surface(self.vertices @ linear.T + shift, faces)


def _empty() -> Surface:
    return Surface(np.empty((0, 3)), np.empty((0, 3), dtype=np.int64))


def _taubin(vertices: np.ndarray, faces: np.ndarray, iterations: int) -> np.ndarray:
    """Taubin λ|μ smoothing with the umbrella (uniform) Laplacian, each vertex kept within
    :data:`_TAUBIN_REACH` (index units) of its start per axis; returns new vertices."""
    n = len(vertices)
    edges = np.concatenate([faces[:, [0, 1]], faces[:, [1, 2]], faces[:, [2, 0]]])
    edges = np.concatenate([edges, edges[:, ::-1]])
    adjacency = sp.csr_matrix(
        (np.ones(len(edges)), (edges[:, 0], edges[:, 1])), shape=(n, n)
    )  # duplicates are summed: reset them to one neighbour each
    adjacency.data[:] = 1.0
    degree = np.asarray(adjacency.sum(axis=1)).ravel()
    mean_of_neighbours = sp.diags(1.0 / np.maximum(degree, 1.0)) @ adjacency
    lower, upper = vertices - _TAUBIN_REACH, vertices + _TAUBIN_REACH
    v = vertices
    for _ in range(iterations):
        v = v + TAUBIN_LAMBDA * (mean_of_neighbours @ v - v)
        v = v + TAUBIN_MU * (mean_of_neighbours @ v - v)
        v = np.clip(v, lower, upper)
    return v


def surface(
    volume: np.ndarray, grid: Grid, level: float = 0.5, *, smooth: bool | None = None
) -> Surface:
    """The closed surface of the region where ``volume > level``, in m in the grid's frame.

    Parameters
    ----------
    volume
        Bool mask or float field (e.g. a partial-volume fraction in [0, 1]) of ``grid.shape``.
    grid
        The grid the field lives on; vertices at voxel-centre positions
        ``origin + (index + 1/2) * spacing``, linearly interpolated between centres.
    level
        The iso-value, > 0 (the field is padded with zeros outside the grid). 0.5 puts a mask's
        surface halfway between an inside and an outside voxel centre.
    smooth
        Taubin-smooth the mesh (:data:`TAUBIN_ITERATIONS` steps) to remove the voxel staircase.
        ``None``: smooth bool masks, not float fields.

    Returns
    -------
    Surface
        Closed and outward-oriented; empty (no vertices) where ``level`` is never crossed.

    Raises
    ------
    ImportError
        Without scikit-image.
    ValueError
        For a field of the wrong shape, non-finite values or a level ≤ 0.
    """
    try:
        from skimage.measure import marching_cubes
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise ImportError(_IMPORT_HINT) from err

    field = np.asarray(volume)
    if field.shape != grid.shape:
        raise ValueError(f"volume has shape {field.shape}, the grid {grid.shape}")
    if not float(level) > 0.0:
        raise ValueError(f"level must be > 0 (the field is padded with zeros), got {level}")
    is_mask = field.dtype == np.bool_
    field = field.astype(np.float32 if is_mask else np.float64, copy=False)
    if not is_mask and not np.all(np.isfinite(field)):
        raise ValueError("volume has non-finite values")
    inside = field > level
    if not inside.any():
        return _empty()
    # Only the bounding box of the region, with one voxel around it for the crossings, then one
    # voxel of zero padding to close the surface at the grid faces.
    lo, hi = [], []
    for axis, n in enumerate(grid.shape):
        hit = np.flatnonzero(inside.any(axis=tuple(a for a in range(3) if a != axis)))
        lo.append(max(int(hit[0]) - 1, 0))
        hi.append(min(int(hit[-1]) + 2, n))
    block = np.pad(field[lo[0] : hi[0], lo[1] : hi[1], lo[2] : hi[2]], 1)
    verts, faces, _, _ = marching_cubes(block, float(level), allow_degenerate=False)
    faces = np.asarray(faces, dtype=np.int64)[:, ::-1]  # scikit-image winds them inwards
    # drop vertices that only degenerate (removed) triangles used
    used, faces = np.unique(faces, return_inverse=True)
    verts, faces = np.asarray(verts, dtype=np.float64)[used], faces.reshape(-1, 3)
    if smooth or (smooth is None and is_mask):
        verts = _taubin(verts, faces, TAUBIN_ITERATIONS)
    # padded index p is voxel index p - 1 + lo, whose centre is origin + (index + 1/2) * h
    offset = np.asarray(lo, dtype=np.float64) - 0.5
    vertices = grid.lower + (verts + offset) * grid.spacing
    # smoothing bulges a cut at a grid face outwards a little: the region ends at the face
    return Surface(np.clip(vertices, grid.lower, grid.upper), faces)
