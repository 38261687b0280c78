"""Shapes rasterised with partial volume, point weights, and the anatomy label map."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tissuefate.grid import (
    Cylinder,
    Ellipsoid,
    Grid,
    Sphere,
    TumorShape,
    VesselShape,
    build_anatomy,
    point_weights,
    volume_fraction,
)

H = 1e-3
GRID = Grid((20, 20, 20), H)
HALF_DIAG = 0.5 * np.sqrt(3.0) * H
# Sub-voxel centres, off the grid's symmetry planes and on them.
CENTRES = [(0.0, 0.0, 0.0), (0.5e-3, 0.5e-3, 0.5e-3), (0.3e-3, 0.1e-3, 0.7e-3), (0.25e-3, 0, 0)]
# Relative error of the volume at 4 and more samples per axis. Measured: 1.2e-3 at 4, 4e-4 at 8,
# but 5e-2 at 1 (the voxel-centre rule), so this bound does tell the samples apart.
VOLUME_RTOL = 2e-3


def _volume_error(shape, samples):
    _block, frac = volume_fraction(GRID, shape, samples)
    assert frac.dtype == np.float64
    assert (frac >= 0).all()
    assert (frac <= 1).all()
    return frac.sum() * GRID.voxel_volume / shape.volume - 1.0


@pytest.mark.parametrize("samples", [4, 8])
@pytest.mark.parametrize("centre", CENTRES)
def test_sphere_volume_fraction_sums_to_its_volume(centre, samples):
    assert abs(_volume_error(Sphere(centre, 5e-3), samples)) <= VOLUME_RTOL


def test_one_sample_per_voxel_misses_the_sphere_volume_bound():
    errors = [abs(_volume_error(Sphere(c, 5e-3), 1)) for c in CENTRES]
    assert max(errors) > 10 * VOLUME_RTOL


@pytest.mark.parametrize(
    "shape",
    [
        Ellipsoid((0.2e-3, -0.3e-3, 0.1e-3), (6e-3, 4e-3, 3e-3)),
        Cylinder((-6e-3, -4e-3, -3e-3), (5e-3, 6e-3, 4e-3), 2e-3),  # oblique
        # along x, its flat ends on voxel faces (a flat end across voxels, parallel to their
        # faces, is sampled to 1 / (2 samples) of a voxel layer, not 1 / samples**2)
        Cylinder((-7.0e-3, 0.4e-3, 0.2e-3), (7.0e-3, 0.4e-3, 0.2e-3), 3e-3),
    ],
    ids=["ellipsoid", "oblique-cylinder", "x-cylinder"],
)
def test_ellipsoid_and_cylinder_volume_fractions_sum_to_their_volume(shape):
    assert abs(_volume_error(shape, 4)) <= VOLUME_RTOL
    assert abs(_volume_error(shape, 1)) > abs(_volume_error(shape, 8))


@pytest.mark.parametrize(
    "shape",
    [
        Sphere((0.3e-3, 0.1e-3, 0.7e-3), 5e-3),
        Ellipsoid((0.2e-3, -0.3e-3, 0.1e-3), (6e-3, 4e-3, 3e-3)),
        Cylinder((-6e-3, -4e-3, -3e-3), (5e-3, 6e-3, 4e-3), 2e-3),
    ],
    ids=["sphere", "ellipsoid", "cylinder"],
)
def test_voxels_far_inside_are_exactly_one_and_far_outside_zero(shape):
    block, frac = volume_fraction(GRID, shape, 4)
    full = np.zeros(GRID.shape)
    full[block] = frac
    centres = GRID.centres()
    d = shape.distance_bound(centres)
    # exact signed distances are at least the bound: cubes of half-diagonal reach are decided
    inside, outside = d <= -HALF_DIAG, d >= HALF_DIAG
    assert inside.sum() > 20
    assert outside.sum() > 1000
    assert (full[inside] == 1.0).all()
    assert (full[outside] == 0.0).all()


@settings(max_examples=50, deadline=None)
@given(point=st.tuples(*[st.floats(-8.9e-3, 8.9e-3)] * 3))
def test_point_weights_sum_to_one_and_reproduce_the_point(point):
    idx, w = point_weights(GRID, np.asarray(point))
    assert idx.shape[1] == 3
    assert len(idx) == len(w) <= 8
    assert (w > 0).all()
    assert w.sum() == pytest.approx(1.0, abs=1e-14)
    centres = GRID.centres()[idx[:, 0], idx[:, 1], idx[:, 2]]
    np.testing.assert_allclose(w @ centres, point, rtol=0, atol=1e-15)


def test_point_weights_at_a_voxel_centre_and_near_the_faces():
    centre = GRID.centres()[3, 4, 5]
    idx, w = point_weights(GRID, centre + 1e-15)
    assert idx[np.argmax(w)].tolist() == [3, 4, 5]
    assert w.max() == pytest.approx(1.0, abs=1e-9)
    # within half a voxel of a corner some neighbours fall outside: the rest still sum to 1
    idx, w = point_weights(GRID, np.array([-9.8e-3, 9.9e-3, 0.2e-3]))
    assert len(w) == 2
    assert w.sum() == pytest.approx(1.0, abs=1e-14)
    assert (idx >= 0).all()
    assert (idx < 20).all()


# ------------------------------------------------------------------------------------------------
# anatomy
# ------------------------------------------------------------------------------------------------


def test_build_anatomy_names_a_vessel_thinner_than_a_voxel():
    grid = Grid((16, 16, 16), H)
    # along x on the plane y = z = 0, which lies between voxel centres (+-0.5 mm): radius 0.3 mm
    # covers none of them
    thin = VesselShape("portal branch", Cylinder((-8e-3, 0.0, 0.0), (8e-3, 0.0, 0.0), 0.3e-3))
    ok = VesselShape(
        "hepatic vein", Cylinder((-8e-3, 3.5e-3, 3.5e-3), (8e-3, 3.5e-3, 3.5e-3), 1.2e-3)
    )
    with pytest.raises(ValueError, match="'portal branch'") as info:
        build_anatomy(grid, vessels=[ok, thin])
    assert "thinner" in str(info.value)
    assert "hepatic vein" not in str(info.value)
    anatomy = build_anatomy(grid, vessels=[ok])
    assert anatomy.vessel.sum() == 16 * 5  # 5 centres within 1.2 mm of the axis, per x plane
    assert anatomy.vessel_names == ("hepatic vein",)


def test_overlapping_tumours_are_clipped_at_one():
    grid = Grid((20, 20, 20), H)
    small = TumorShape("a", Sphere((0.0, 0.0, 0.0), 4.2e-3), 1)
    large = TumorShape("b", Sphere((0.7e-3, 0.2e-3, 0.0), 5.3e-3), 2)
    anatomy = build_anatomy(grid, [small, large])
    frac = anatomy.tumor_fraction
    assert frac.dtype == np.float32
    assert frac.max() == 1.0
    assert frac.min() == 0.0
    both = np.zeros(grid.shape)
    for t in (small, large):
        block, f = volume_fraction(grid, t.shape)
        both[block] += f
    assert (both > 1.5).sum() > 100  # the overlap is large, and there the fraction is 1
    np.testing.assert_allclose(frac, np.minimum(both, 1.0), atol=1e-7)
    # the volume is that of the union, up to the partial voxels of the inner surface
    v_large, v_small = large.shape.volume, small.shape.volume
    assert v_large <= anatomy.tumor_volume < v_large + 0.1 * v_small
    # each voxel names the tumour covering most of it; dominant voxels take its material
    assert set(np.unique(anatomy.tumor_id)) == {0, 1, 2}
    assert (anatomy.material[frac >= 0.5] > 0).all()
    assert (anatomy.material[frac < 0.5] == 0).all()
    np.testing.assert_array_equal(anatomy.material[anatomy.material > 0],
                                  anatomy.tumor_id[anatomy.material > 0])  # fmt: skip


def test_vessel_voxels_hold_no_tumour():
    grid = Grid((16, 16, 16), H)
    tumor = TumorShape("t", Sphere((0.0, 0.0, 0.0), 5e-3), 1)
    vessel = VesselShape("v", Cylinder((-8e-3, 1.5e-3, 0.5e-3), (8e-3, 1.5e-3, 0.5e-3), 1.2e-3))
    anatomy = build_anatomy(grid, [tumor], [vessel])
    assert anatomy.vessel.sum() > 16
    assert (anatomy.tumor_fraction[anatomy.vessel] == 0).all()
    assert (anatomy.tumor_id[anatomy.vessel] == 0).all()
    assert (anatomy.material[anatomy.vessel] == 0).all()
    assert (anatomy.tumor_fraction[~anatomy.vessel] == 1).sum() > 100
