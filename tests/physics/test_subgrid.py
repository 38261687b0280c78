"""Needles at their true radius: the equivalent radius of drawn cross sections against Peaceman's
well and the square coaxial line, and a drawn electrode's conductance in 3-D against the exact
conductance of a cylinder in a square box, whatever voxels draw it."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tissuefate.grid.grid import Grid
from tissuefate.grid.needles import needle_segment
from tissuefate.physics.electric import PotentialSolver
from tissuefate.physics.subgrid import (
    MAX_THERMAL_SCALE,
    PEACEMAN_RADIUS,
    THERMAL_RADIUS_TOLERANCE,
    contact_radius,
    equivalent_radius,
    resolve_needle,
    surface_scale,
)
from tissuefate.physics.thermal import ThermalSolver

ONE = np.ones((1, 1), bool)
TWO = np.ones((2, 2), bool)
RADIUS_17G = 0.735e-3  # m, a 17 G needle (1.47 mm)


def test_one_voxel_held_at_its_centre_is_peacemans_well():
    # exact for the five-point scheme on an infinite grid: e^-gamma / (2 sqrt 2) = 0.19851
    assert pytest.approx(0.198506, abs=1e-6) == PEACEMAN_RADIUS
    assert equivalent_radius(ONE, "centre") == pytest.approx(PEACEMAN_RADIUS, rel=1e-3)


def test_held_on_the_faces_one_voxel_acts_wider_than_held_at_its_centre():
    # the faces conduct as half a voxel: 1 + (2/pi) ln(r0 / r) = 1/2, r = r0 e^(pi/4)
    assert equivalent_radius(ONE, "face") == pytest.approx(
        PEACEMAN_RADIUS * math.exp(math.pi / 4), rel=1e-3
    )


@pytest.mark.parametrize("radius", [8, 16])
def test_a_drawn_disc_acts_as_the_circle_of_its_area(radius):
    y, x = np.mgrid[-radius - 2 : radius + 3, -radius - 2 : radius + 3]
    disc = x**2 + y**2 <= radius**2
    area_radius = math.sqrt(disc.sum() / math.pi)
    assert equivalent_radius(disc, "face") == pytest.approx(area_radius, abs=0.1)
    # held at the centres, the surface lies half a voxel further in, less the corners' reach
    assert equivalent_radius(disc, "centre") == pytest.approx(area_radius - 0.33, abs=0.1)


@pytest.mark.parametrize("held", ["face", "centre"])
@pytest.mark.parametrize("section", [ONE, TWO], ids=["1x1", "2x2"])
def test_the_surface_scale_gives_the_asked_radius(section, held):
    radii = (0.3, 0.735, 0.9) if section.size == 1 else (0.5, 0.735, 1.1)
    for radius in radii:
        scale = surface_scale(section, radius, held)
        assert equivalent_radius(section, held, scale) == pytest.approx(radius, rel=1e-5)
    # a wider circle needs the faces to conduct more
    assert surface_scale(section, radii[2], held) > surface_scale(section, radii[0], held)


def test_the_surface_scale_of_one_voxel_held_on_its_faces_for_a_17g_needle_on_1mm():
    # by hand: a face of g per length, 1/(4g) = ln(r0/r)/(2 pi) + 1/4, so g = 6.0 against 2
    g = 1.0 / (1.0 + 2.0 / math.pi * math.log(PEACEMAN_RADIUS / 0.735))
    assert surface_scale(ONE, 0.735, "face") == pytest.approx(g / 2.0, rel=1e-3)


@pytest.mark.parametrize("contact", [0.05, 0.1, 0.5])
def test_a_contact_acts_as_a_smaller_radius(contact):
    # a drawn disc of 16 voxels, held on its faces behind a contact of H h / k = contact: its
    # faces conduct 1 / (1 / H' + 1 / 2) (per k), H' the contact times pi / 4, since a drawn
    # circle has 4 / pi times its perimeter in faces; it then acts as the circle of its area
    # behind the contact, r exp(-k / (r H)), to the staircase's few per cent
    y, x = np.mgrid[-18:19, -18:19]
    disc = x**2 + y**2 <= 16**2
    area_radius = math.sqrt(disc.sum() / math.pi)
    face = 1.0 / (1.0 / (contact * math.pi / 4) + 0.5)
    assert equivalent_radius(disc, "face", face / 2) == pytest.approx(
        contact_radius(area_radius, contact, 1.0), rel=0.05
    )
    assert contact_radius(1e-3, 1e12, 2.0) == pytest.approx(1e-3)  # perfect contact


def test_a_section_that_cannot_reach_the_radius_is_an_error():
    # however well its faces conduct, one voxel acts at most as the circle r0 e^(pi/2) = 0.955
    with pytest.raises(ValueError, match="cannot act as a circle"):
        surface_scale(ONE, 1.0, "centre")
    with pytest.raises(ValueError, match="two-dimensional mask"):
        surface_scale(np.zeros((3, 3), bool), 1.0, "face")


def _grid(n_xy: int, n_z: int, spacing: float) -> Grid:
    return Grid.centred((n_xy * spacing, n_xy * spacing, n_z * spacing), spacing)


@pytest.mark.parametrize("offset", [0.0, 0.5], ids=["axis-on-corner", "axis-on-centre"])
@pytest.mark.parametrize("cooled", [True, False])
def test_resolved_needle_acts_at_its_radius(offset, cooled):
    grid = _grid(24, 12, 1e-3)
    o = offset * 1e-3
    seg = needle_segment((o, o, 4e-3), (0.0, 0.0, 1.0), 8e-3, RADIUS_17G)
    needle = resolve_needle(grid, seg, cooled)
    assert needle.corrected
    assert needle.electric_radius == RADIUS_17G
    if cooled:
        assert 0 < needle.thermal <= MAX_THERMAL_SCALE
        assert needle.thermal_radius >= (1 - THERMAL_RADIUS_TOLERANCE) * RADIUS_17G
    else:
        assert needle.thermal == 1.0
        assert math.isnan(needle.thermal_radius)


def test_an_oblique_needle_is_drawn_uncorrected():
    grid = _grid(24, 24, 1e-3)
    seg = needle_segment((0.0, 0.0, 4e-3), (0.3, 0.0, 1.0), 8e-3, RADIUS_17G)
    needle = resolve_needle(grid, seg, True)
    assert not needle.corrected
    assert needle.electric == needle.thermal == 1.0


def _cylinder_conductance(spacing: float, offset: float, radius: float, surface: bool) -> float:
    """Conductance per length (S/m at 1 S/m) of a needle through the whole height of a square box
    whose four side faces are grounded and whose ends are insulated: a two-dimensional problem."""
    side = 40e-3
    n = round(side / spacing)
    grid = _grid(n, 4, spacing)
    seg = needle_segment((offset, offset, grid.upper[2]), (0.0, 0.0, 1.0), 2 * grid.size[2], radius)
    needle = resolve_needle(grid, seg, cooled=False)
    solver = PotentialSolver(grid.shape, spacing, ground=("x-", "x+", "y-", "y+"))
    scale = np.full(grid.shape, needle.electric) if surface else None
    solver.set_conductivity(np.ones(grid.shape), needle.mask, surface=scale)
    u, _ = solver.solve(1.0, tol=1e-10, maxiter=400)
    return solver.conductance(u) / grid.size[2]


@pytest.mark.parametrize(
    ("spacing", "offset"),
    [(1e-3, 0.0), (1e-3, 0.5e-3), (0.5e-3, 0.0), (0.5e-3, 0.25e-3)],
    ids=["1mm-corner", "1mm-centre", "0.5mm-corner", "0.5mm-centre"],
)
def test_a_drawn_electrode_conducts_as_the_cylinder_in_a_square_box(spacing, offset):
    # a circle of diameter d centred in a square of side s: G' = 2 pi sigma / ln(1.0787 s / d)
    exact = 2 * math.pi / math.log(1.0787 * 40e-3 / (2 * RADIUS_17G))
    assert _cylinder_conductance(spacing, offset, RADIUS_17G, True) == pytest.approx(
        exact, rel=0.01
    )


def test_without_the_surface_scale_the_voxels_set_the_conductance():
    exact = 2 * math.pi / math.log(1.0787 * 40e-3 / (2 * RADIUS_17G))
    corner = _cylinder_conductance(1e-3, 0.0, RADIUS_17G, False)  # 2 x 2 voxels: too wide
    centre = _cylinder_conductance(1e-3, 0.5e-3, RADIUS_17G, False)  # one voxel: too thin
    assert corner > 1.1 * exact
    assert centre < 0.9 * exact


def test_a_held_voxels_scale_multiplies_its_faces_and_is_not_compounded():
    grid = _grid(6, 6, 1e-3)
    shape = grid.shape

    def solver() -> ThermalSolver:
        return ThermalSolver(
            grid,
            np.full(shape, 0.5),
            np.full(shape, 3.6e6),
            np.zeros(shape),
            reference_temperature=37.0,
            initial_temperature=37.0,
            arterial_temperature=37.0,
        )

    mask = np.zeros(shape, bool)
    mask[3, 3, 3] = True
    index = np.argwhere(mask)
    plain, scaled = solver(), solver()
    plain.hold(mask, 10.0)
    scaled.hold(mask, 10.0, scale=0.4)
    scaled.release(mask)
    scaled.hold(mask, 10.0, scale=0.4)
    assert scaled.wall_inflow(index)[0] == pytest.approx(0.4 * plain.wall_inflow(index)[0])
    with pytest.raises(ValueError, match=r"\(0, 1\]"):
        solver().hold(mask, 10.0, scale=1.2)
