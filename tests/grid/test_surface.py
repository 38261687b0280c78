"""Surfaces of voxel regions: area and volume against a sphere's, closedness at the grid faces,
orientation, affine transforms and the empty case."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from tissuefate.grid import Grid, Sphere, volume_fraction
from tissuefate.grid.surface import Surface, surface

pytest.importorskip("skimage", reason="surface meshes need scikit-image")

H = 1e-3  # voxel edge, m
RADIUS = 10 * H
#: Off the voxel lattice in all three axes, so that no symmetry hides an error.
CENTRE = (0.37 * H, -0.21 * H, 0.13 * H)
AREA = 4.0 * np.pi * RADIUS**2
VOLUME = 4.0 / 3.0 * np.pi * RADIUS**3


@pytest.fixture(scope="module")
def grid() -> Grid:
    return Grid(shape=(28, 30, 32), spacing=H)  # not cubic: swapped axes would show


@pytest.fixture(scope="module")
def ball_mask(grid: Grid) -> np.ndarray:
    return Sphere(CENTRE, RADIUS).contains(grid.centres())


def _edge_counts(faces: np.ndarray) -> Counter:
    edges = np.concatenate([faces[:, [0, 1]], faces[:, [1, 2]], faces[:, [2, 0]]])
    return Counter(map(tuple, np.sort(edges, axis=1).tolist()))


def test_bool_sphere_area_and_volume(grid: Grid, ball_mask: np.ndarray) -> None:
    """A bool ball of radius 10 voxels: area and volume within 3 % of the sphere's.

    The unsmoothed staircase surface (``smooth=False``) has an area more than 3 % too large
    (about +8.5 %), so the first assertion fails unless the smoothing does its job.
    """
    s = surface(ball_mask, grid)
    staircase = surface(ball_mask, grid, smooth=False)
    assert abs(s.area / AREA - 1.0) < 0.03
    assert abs(s.volume / VOLUME - 1.0) < 0.03
    assert staircase.area / AREA - 1.0 > 0.03  # what the smoothing corrects


def test_fraction_sphere_area_and_volume(grid: Grid) -> None:
    """The same ball as a partial-volume fraction: area and volume within 1.5 %, unsmoothed."""
    block, fraction = volume_fraction(grid, Sphere(CENTRE, RADIUS))
    field = np.zeros(grid.shape)
    field[block] = fraction
    s = surface(field, grid)
    assert abs(s.area / AREA - 1.0) < 0.015
    assert abs(s.volume / VOLUME - 1.0) < 0.015


def test_vertices_in_the_grid_frame(grid: Grid, ball_mask: np.ndarray) -> None:
    """Vertices lie on the sphere in m, in the frame of ``grid.origin`` (within a voxel)."""
    shifted = Grid(grid.shape, grid.spacing, origin=(0.1, -0.2, 0.3))
    s = surface(ball_mask, shifted)
    moved_centre = np.asarray(CENTRE) + shifted.lower - grid.lower
    r = np.linalg.norm(s.vertices - moved_centre, axis=1)
    assert np.all(np.abs(r - RADIUS) < 0.6 * H)
    assert abs(np.mean(r) / RADIUS - 1.0) < 0.01


def test_region_touching_the_grid_faces_is_closed(grid: Grid) -> None:
    """A box cut by two grid faces is closed there: every edge belongs to exactly two faces,
    and its cuts lie on the grid faces, smoothed or not. Unsmoothed, its other faces sit halfway
    between voxel centres (marching cubes chamfers its edges)."""
    mask = np.zeros(grid.shape, dtype=bool)
    mask[:10, 5:15, 20:] = True
    exact = mask.sum() * grid.voxel_volume
    for smooth in (False, True):
        s = surface(mask, grid, smooth=smooth)
        assert set(_edge_counts(s.faces).values()) == {2}
        lo, hi = s.vertices.min(axis=0), s.vertices.max(axis=0)
        assert lo[0] == pytest.approx(grid.lower[0], abs=1e-12)
        assert hi[2] == pytest.approx(grid.upper[2], abs=1e-12)
        assert np.all(s.vertices >= grid.lower)
        assert np.all(s.vertices <= grid.upper)
        assert 0.9 * exact < s.volume < 1.02 * exact


def test_normals_point_outward(ball_mask: np.ndarray, grid: Grid) -> None:
    """Outward normals: positive volume, and each face normal points away from the centre."""
    s = surface(ball_mask, grid)
    assert s.volume > 0.0
    a, b, c = (s.vertices[s.faces[:, i]] for i in range(3))
    normals = np.cross(b - a, c - a)
    outward = np.einsum("ij,ij->i", normals, (a + b + c) / 3.0 - np.asarray(CENTRE))
    assert np.mean(outward > 0.0) > 0.99


def test_transformed_with_a_reflection_keeps_the_volume_positive(
    grid: Grid, ball_mask: np.ndarray
) -> None:
    """A 4x4 with a reflection (x -> -x), a rotation and a shift: same area and volume."""
    s = surface(ball_mask, grid)
    angle = 0.4
    rotation = np.array(
        [[np.cos(angle), -np.sin(angle), 0.0], [np.sin(angle), np.cos(angle), 0.0], [0, 0, 1]]
    )
    affine = np.eye(4)
    affine[:3, :3] = rotation @ np.diag([-1.0, 1.0, 1.0])
    affine[:3, 3] = (0.12, -0.05, 0.3)
    t = s.transformed(affine)
    assert np.linalg.det(affine[:3, :3]) < 0.0
    assert t.volume == pytest.approx(s.volume, rel=1e-9)
    assert t.area == pytest.approx(s.area, rel=1e-9)
    np.testing.assert_allclose(t.vertices[0], affine[:3, :3] @ s.vertices[0] + affine[:3, 3])
    # a scaling by 2 (into mm-like units) scales the volume by 8
    assert s.transformed(np.diag([2.0, 2.0, 2.0, 1.0])).volume == pytest.approx(8 * s.volume)
    with pytest.raises(ValueError, match="singular"):
        s.transformed(np.diag([1.0, 0.0, 1.0, 1.0]))


def test_empty_mask_gives_an_empty_surface(grid: Grid) -> None:
    for field in (np.zeros(grid.shape, dtype=bool), np.full(grid.shape, 0.4)):
        s = surface(field, grid)
        assert s.empty
        assert s.vertices.shape == (0, 3)
        assert s.faces.shape == (0, 3)
        assert s.area == 0.0
        assert s.volume == 0.0


def test_thin_vessel_survives_smoothing() -> None:
    """A bool vessel 2.5 voxels across keeps its volume within the 20 % marching cubes loses
    at that size; the smoothing neither erases nor bloats it."""
    grid = Grid(shape=(16, 16, 40), spacing=H)
    axis_centre = np.array([0.3 * H, -0.2 * H])
    xyz = grid.centres()
    mask = np.linalg.norm(xyz[..., :2] - axis_centre, axis=-1) <= 1.25 * H
    s = surface(mask, grid)
    exact = np.pi * (1.25 * H) ** 2 * grid.size[2]
    assert 0.8 * exact < s.volume < 1.05 * exact
    assert set(_edge_counts(s.faces).values()) == {2}


def test_bad_input_is_rejected(grid: Grid) -> None:
    with pytest.raises(ValueError, match="shape"):
        surface(np.zeros((3, 3, 3)), grid)
    with pytest.raises(ValueError, match="level"):
        surface(np.zeros(grid.shape), grid, level=0.0)
    field = np.zeros(grid.shape)
    field[0, 0, 0] = np.nan
    with pytest.raises(ValueError, match="non-finite"):
        surface(field, grid)
    with pytest.raises(ValueError, match="faces index"):
        Surface(np.zeros((2, 3)), np.array([[0, 1, 2]]))


def test_surface_is_read_only(grid: Grid, ball_mask: np.ndarray) -> None:
    s = surface(ball_mask, grid)
    with pytest.raises(ValueError, match="read-only"):
        s.vertices[0, 0] = 1.0
