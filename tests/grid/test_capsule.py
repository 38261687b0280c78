"""The fibrous capsule of a tumour: a shell of the given thickness just outside its surface."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial import cKDTree

from tissuefate.grid import Ellipsoid, Grid, Sphere, TumorShape, build_anatomy
from tissuefate.grid.anatomy import CapsuleShell
from tissuefate.grid.shapes import shell_mask

H = 1e-3
GRID = Grid((32, 32, 32), H)
CAPSULE = 7  # material index of the capsule in these tests
# Sub-voxel centres, off the grid's symmetry planes and on them.
CENTRES = [(0.0, 0.0, 0.0), (0.5e-3, 0.5e-3, 0.5e-3), (0.3e-3, -0.1e-3, 0.7e-3)]


def _capsule(anatomy):
    return anatomy.material == CAPSULE


def _check_shell(capsule, distance, thickness, tol):
    """Every capsule voxel lies within ``thickness`` of the surface (outside it) and every voxel
    between the surface and ``thickness`` is capsule, both to within ``tol`` (m)."""
    assert capsule.any()
    assert distance[capsule].min() > -tol
    assert distance[capsule].max() <= thickness + tol
    inner = (distance > tol) & (distance < thickness - tol)
    assert capsule[inner].all()


@pytest.mark.parametrize("thickness", [0.6e-3, 1e-3, 2.3e-3, 4e-3])
@pytest.mark.parametrize("centre", CENTRES)
def test_sphere_capsule_is_a_shell_of_its_thickness_to_half_a_voxel(centre, thickness):
    radius = 7.2e-3
    tumor = TumorShape("t", Sphere(centre, radius), 1, CapsuleShell(thickness, CAPSULE, 0.7))
    anatomy = build_anatomy(GRID, [tumor])
    distance = np.linalg.norm(GRID.centres() - np.asarray(centre), axis=-1) - radius
    _check_shell(_capsule(anatomy), distance, thickness, 0.5 * H)
    # the documented bound, half a sub-voxel lattice diagonal at 4 samples, holds too
    _check_shell(_capsule(anatomy), distance, thickness, np.sqrt(3.0) * H / 8 + 1e-12)
    # the tumour keeps its voxels: the capsule takes only base tissue
    tumour = build_anatomy(GRID, [TumorShape("t", Sphere(centre, radius), 1)])
    assert (anatomy.material[tumour.material == 1] == 1).all()
    np.testing.assert_array_equal(anatomy.tumor_fraction, tumour.tumor_fraction)
    assert anatomy.material_collagen[CAPSULE] == pytest.approx(0.7)


@pytest.mark.slow
def test_ellipsoid_capsule_follows_the_true_distance_not_the_distance_bound():
    centre, axes, thickness = (0.3e-3, 0.2e-3, -0.4e-3), (10e-3, 6e-3, 4e-3), 2e-3
    shape = Ellipsoid(centre, axes)
    tumor = TumorShape("t", shape, 1, CapsuleShell(thickness, CAPSULE, 0.7))
    capsule = _capsule(build_anatomy(GRID, [tumor]))
    # reference distance to the surface: nearest of a dense parametric sample of it (spacing
    # about 0.05 mm, so its error is far below the tolerance)
    u, v = np.meshgrid(np.linspace(0, np.pi, 700), np.linspace(0, 2 * np.pi, 1400))
    unit = np.stack([np.sin(u) * np.cos(v), np.sin(u) * np.sin(v), np.cos(u)], axis=-1)
    surface = unit.reshape(-1, 3) * np.asarray(axes) + np.asarray(centre)
    points = GRID.centres().reshape(-1, 3)
    distance, _ = cKDTree(surface).query(points)
    distance = np.where(shape.contains(points), -distance, distance).reshape(GRID.shape)
    _check_shell(capsule, distance, thickness, 0.5 * H)
    # a shell cut by the distance bound, a lower bound only, would reach well beyond the
    # thickness along the long axis: the test tells the two apart
    bound = shape.distance_bound(GRID.centres())
    assert ((bound <= thickness) & (distance > thickness + H)).any()


def test_a_capsule_thinner_than_the_grid_resolves_is_an_error_naming_the_tumour():
    tumor = TumorShape("hcc1", Sphere((0.0, 0.0, 0.0), 5e-3), 1, CapsuleShell(0.05e-3, 2, 0.7))
    with pytest.raises(ValueError, match=r"capsule of tumor 'hcc1' \(0.05 mm thick\)"):
        build_anatomy(GRID, [tumor])


def test_a_capsule_does_not_take_another_tumour_and_the_first_capsule_keeps_its_voxels():
    first = TumorShape("a", Sphere((-4e-3, 0.0, 0.0), 5e-3), 1, CapsuleShell(2e-3, 3, 0.7))
    second = TumorShape("b", Sphere((5e-3, 0.0, 0.0), 4e-3), 2, CapsuleShell(2e-3, 4, 0.5))
    both = build_anatomy(GRID, [first, second])
    alone_a = build_anatomy(GRID, [first])
    alone_b = build_anatomy(GRID, [TumorShape("b", second.shape, 2, second.capsule)])
    # each tumour's own voxels stay tumour
    assert (both.material[alone_a.material == 1] != 3).all()
    assert (both.material[alone_b.material == 2] == 2).all()
    # the first capsule is whole; the second has what the first and the tumours left
    assert ((both.material == 3) == ((alone_a.material == 3) & (both.tumor_fraction < 0.5))).all()
    assert (both.material == 4).any()
    assert not ((both.material == 4) & (alone_a.material == 3)).any()
    assert both.material_collagen == pytest.approx((0.0, 0.0, 0.0, 0.7, 0.5))
    collagen = both.collagen
    assert collagen.dtype == np.float32
    np.testing.assert_allclose(collagen[both.material == 3], 0.7)
    np.testing.assert_allclose(collagen[both.material == 4], 0.5)
    assert (collagen[both.material < 3] == 0).all()


def test_shell_mask_is_empty_for_a_zero_thickness_and_outside_the_shape():
    sphere = Sphere((0.2e-3, 0.0, 0.0), 6e-3)
    block, mask = shell_mask(GRID, sphere, 0.0)
    assert not mask.any()
    block, mask = shell_mask(GRID, sphere, 2e-3)
    assert mask.any()
    assert not sphere.contains(GRID.centres(block)[mask]).any()


def test_a_capsule_under_half_a_voxel_is_kept_with_a_warning(caplog):
    tumor = TumorShape("hcc1", Sphere((0.0, 0.0, 0.0), 5e-3), 1, CapsuleShell(0.3e-3, 2, 0.7))
    with caplog.at_level("WARNING", logger="tissuefate.grid.anatomy"):
        anatomy = build_anatomy(GRID, [tumor])
    assert (anatomy.material == 2).any()
    assert "thinner than half the 1 mm voxel" in caplog.text
    caplog.clear()
    tumor = TumorShape("hcc1", tumor.shape, 1, CapsuleShell(1e-3, 2, 0.7))
    with caplog.at_level("WARNING", logger="tissuefate.grid.anatomy"):
        build_anatomy(GRID, [tumor])
    assert not caplog.text
