"""Needles thinner than a few voxels: the surface of a drawn needle at its true radius.

A needle drawn on the grid is a set of voxels (``grid/needles.py``); held at a potential or a
temperature, that set acts on the tissue around it like a cylinder of some *equivalent radius*,
which is not the needle's: on a 1 mm grid a 17 G electrode (radius 0.735 mm) is one voxel or four,
which conduct current like cylinders of radius 0.44 mm or 1.06 mm. The zone of a cooled RF
electrode depends strongly on that radius (its surface current density and the surface it cools),
so a drawn needle must act as the real one does.

The correction is the one of petroleum engineering's well models (Peaceman 1978, SPE J. 18:183,
doi:10.2118/6893-PA), for needles as thick as a voxel: every face between the needle's voxels and
tissue has its conductance multiplied by one *surface scale*, chosen so that the drawn cross
section carries, in two dimensions, the current (or heat) of a circle of the true radius. The
equivalent radius of a cross section is measured by a two-dimensional finite-volume solve in a
square box of side ``b`` held at 0: a circle of radius ``a`` held at 1 in that box takes
``2π / ln(1.0787 b / (2 a))`` per unit length and conductivity (the square coaxial line, exact to
O((a/b)⁴)), and the box is wide enough for that limit.

Two ways of holding a voxel are met in the solvers, and they differ:

- ``"face"``: the held value sits on the voxel's faces (the electric potential of an electrode,
  ``kernels/multigrid.py``): a face to tissue conducts as half a voxel, ``2σh``;
- ``"centre"``: the held value sits at the voxel's centre (a cooled needle in the heat solver,
  ``ThermalSolver.hold``): a face conducts as a whole voxel, ``kh``; one held voxel is then
  Peaceman's well, of equivalent radius ``e^(-γ) / (2√2) h ≈ 0.1985 h``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spl
from scipy.optimize import brentq

from ..grid.grid import Grid
from ..grid.needles import Segment, segment_mask

__all__ = [
    "PEACEMAN_RADIUS",
    "Held",
    "ResolvedNeedle",
    "contact_radius",
    "drawn_needle",
    "equivalent_radius",
    "resolve_needle",
    "section_conductance",
    "surface_scale",
]

Held = Literal["face", "centre"]

PEACEMAN_RADIUS = math.exp(-0.5772156649015329) / (2.0 * math.sqrt(2.0))
"""Equivalent radius of one voxel held at its centre, in voxel edges (Peaceman's well)."""

SQUARE_COAX = 1.0787
"""``C = 2π / ln(SQUARE_COAX · side / diameter)``: a thin circle centred in a square box."""

MARGIN = 48  # voxels from the section to the box of the two-dimensional solve
MAX_THERMAL_SCALE = 1.0
"""Largest surface scale of a held (cooled) needle in the heat solver: a held voxel then conducts
no more than tissue does, which keeps the explicit stable time step."""

THERMAL_RADIUS_TOLERANCE = 0.05
"""A cooled needle drawn so thin that even at :data:`MAX_THERMAL_SCALE` it cools like a circle
more than this fraction smaller than its own is drawn wider; within it, the scale is held at
:data:`MAX_THERMAL_SCALE` (a 17 G needle drawn as 2 x 2 voxels of 1 mm cools like a circle 2.3 %
smaller)."""


def _crop(section: np.ndarray) -> np.ndarray:
    section = np.asarray(section, bool)
    if section.ndim != 2 or not section.any():
        raise ValueError("a cross section is a two-dimensional mask with at least one voxel")
    rows, cols = np.nonzero(section)
    return np.ascontiguousarray(section[rows.min() : rows.max() + 1, cols.min() : cols.max() + 1])


def _box(section: np.ndarray) -> np.ndarray:
    crop = _crop(section)
    n = max(crop.shape) + 2 * MARGIN
    box = np.zeros((n, n), bool)
    r0, c0 = (n - crop.shape[0]) // 2, (n - crop.shape[1]) // 2
    box[r0 : r0 + crop.shape[0], c0 : c0 + crop.shape[1]] = crop
    return box


def section_conductance(section: np.ndarray, held: Held, scale: float = 1.0) -> float:
    """Conductance per unit length and conductivity (dimensionless) from a cross section held at 1
    to a square box held at 0 around it, ``MARGIN`` voxels away; faces to the section conduct
    ``scale`` times what ``held`` says (module docstring)."""
    if held not in ("face", "centre"):
        raise ValueError(f"held must be 'face' or 'centre', got {held!r}")
    if not scale > 0:
        raise ValueError(f"the surface scale must be positive, got {scale!r}")
    box = _box(section)
    n = box.shape[0]
    free = ~box
    index = np.full((n, n), -1)
    index[free] = np.arange(int(free.sum()))
    g_held = (2.0 if held == "face" else 1.0) * scale
    diag = np.zeros(int(free.sum()))
    rhs = np.zeros_like(diag)
    rows: list[np.ndarray] = []
    cols: list[np.ndarray] = []
    padded = np.pad(index, 1, constant_values=-2)  # -2: outside the box (held at 0, half a voxel)
    for di, dj in ((1, 0), (-1, 0), (0, 1), (0, -1)):
        other = padded[1 + di : n + 1 + di, 1 + dj : n + 1 + dj][free]
        me = index[free]
        outside, to_section, to_free = other == -2, other == -1, other >= 0
        diag += np.where(outside, 2.0, np.where(to_section, g_held, 1.0))
        rhs += np.where(to_section, g_held, 0.0)
        rows.append(me[to_free])
        cols.append(other[to_free])
    r, c = np.concatenate(rows), np.concatenate(cols)
    a = sp.csc_matrix((-np.ones(len(r)), (r, c)), shape=(len(diag), len(diag))) + sp.diags(diag)
    u = np.zeros((n, n))
    u[free] = spl.spsolve(a, rhs)
    return float(2.0 * (u[0].sum() + u[-1].sum() + u[:, 0].sum() + u[:, -1].sum()))


def equivalent_radius(section: np.ndarray, held: Held, scale: float = 1.0) -> float:
    """Radius (in voxel edges) of the circle that takes the current of ``section`` held as
    ``held`` with its faces scaled by ``scale``."""
    return math.exp(_log_radius(section, held, scale))


def _log_radius(section: np.ndarray, held: Held, scale: float) -> float:
    side = _box(section).shape[0]
    conductance = section_conductance(section, held, scale)
    return math.log(0.5 * SQUARE_COAX * side) - 2.0 * math.pi / conductance


def surface_scale(section: np.ndarray, radius: float, held: Held) -> float:
    """The scale of the section's faces that gives it the equivalent ``radius`` (voxel edges).

    Raises
    ------
    ValueError
        If no scale between 1e-3 and 1e3 does (a section far too large or too small).
    """
    crop = _crop(section)
    return _surface_scale(crop.tobytes(), crop.shape, float(radius), held)


@lru_cache(maxsize=256)  # a pure function of its arguments: the same needle recurs in a course
def _surface_scale(data: bytes, shape: tuple[int, int], radius: float, held: Held) -> float:
    section = np.frombuffer(data, bool).reshape(shape)
    target = math.log(radius)

    def miss(log_scale: float) -> float:
        return _log_radius(section, held, math.exp(log_scale)) - target

    lo, hi = math.log(1e-3), math.log(1e3)
    if miss(lo) > 0 or miss(hi) < 0:
        raise ValueError(
            f"a cross section of {int(np.count_nonzero(section))} voxels cannot act as a circle "
            f"of radius {radius:.3g} voxel edges"
        )
    return math.exp(brentq(miss, lo, hi, xtol=1e-6))


def contact_radius(radius: float, heat_transfer: float, conductivity: float) -> float:
    """Radius (m) of the cylinder held at the coolant's temperature that takes up the heat of a
    cylinder of ``radius`` (m) behind a surface ``heat_transfer`` coefficient (W/m²/K), in
    tissue of ``conductivity`` (W/m/K): in two dimensions the surface adds ``k / (r H)`` to
    ``ln(R / r)``, which is ``ln(R / r_e)`` with ``r_e = r exp(-k / (r H))``."""
    if not (radius > 0 and heat_transfer > 0 and conductivity > 0):
        raise ValueError("radius, heat transfer and conductivity must be positive")
    return radius * math.exp(-conductivity / (radius * heat_transfer))


@dataclass(frozen=True)
class ResolvedNeedle:
    """A needle segment drawn on a grid so that it acts at its true radius.

    ``mask`` are its voxels, drawn with ``drawn_radius`` (m); ``electric`` and ``thermal`` are the
    surface scales of its faces held as ``"face"`` (potential) and ``"centre"`` (temperature), both
    1 where ``corrected`` is False (a needle not along a grid axis, whose cross section changes
    along it). ``electric_radius`` and ``thermal_radius`` (m) are the radii it then acts with (the
    needle's own, but for :data:`THERMAL_RADIUS_TOLERANCE`; the drawing's own where uncorrected,
    NaN where it was not measured)."""

    mask: np.ndarray
    drawn_radius: float
    electric: float
    thermal: float
    corrected: bool
    electric_radius: float = math.nan
    thermal_radius: float = math.nan


def drawn_needle(grid: Grid, segment: Segment) -> ResolvedNeedle:
    """``segment`` drawn as :func:`~tissuefate.grid.needles.segment_mask` does, its voxels acting
    as drawn (uncorrected)."""
    return ResolvedNeedle(segment_mask(grid, segment), segment.radius, 1.0, 1.0, False)


def _axis(segment: Segment) -> int | None:
    d = np.subtract(segment.end, segment.start)
    norm = float(np.linalg.norm(d))
    if norm == 0.0:
        return None
    d = np.abs(d) / norm
    axis = int(np.argmax(d))
    return axis if d[axis] > 1.0 - 1e-9 else None


def _section(grid: Grid, mask: np.ndarray, segment: Segment, axis: int) -> np.ndarray | None:
    middle = 0.5 * (np.asarray(segment.start) + np.asarray(segment.end))
    i = int(np.clip(grid.index_of(middle)[axis], 0, grid.shape[axis] - 1))
    section = np.take(mask, i, axis=axis)
    return section if section.any() else None


def resolve_needle(
    grid: Grid,
    segment: Segment,
    cooled: bool,
    acting_radius: float | None = None,
    electric: bool = True,
) -> ResolvedNeedle:
    """Draw ``segment`` and find the surface scales that give it its radius on ``grid``.

    ``acting_radius`` (m, default the segment's radius) is the radius the needle should act with:
    a smaller one stands for a resistance at its surface (:func:`contact_radius`). Without
    ``electric`` (a cryoprobe) the electric scale is left at 1.

    A needle along a grid axis is drawn as :func:`~tissuefate.grid.needles.segment_mask` does;
    if it is ``cooled`` (held at its coolant temperature in the heat solver) and that drawing is
    too thin to cool like the needle at a surface scale of at most :data:`MAX_THERMAL_SCALE`
    (within :data:`THERMAL_RADIUS_TOLERANCE`), it is drawn wider in steps of a tenth of a voxel
    until it is not. Other needles are drawn as they are, uncorrected.
    """
    h = grid.spacing
    radius = segment.radius if acting_radius is None else acting_radius
    axis = _axis(segment)
    if axis is None or radius <= 0 or segment.radius <= 0:
        return drawn_needle(grid, segment)
    drawn = segment.radius
    for _ in range(40):
        seg = Segment(segment.start, segment.end, drawn)
        mask = segment_mask(grid, seg)
        section = _section(grid, mask, seg, axis)
        if section is None:
            break
        thermal, thermal_radius = 1.0, math.nan
        if cooled:
            widest = equivalent_radius(section, "centre", MAX_THERMAL_SCALE) * h
            if widest < (1.0 - THERMAL_RADIUS_TOLERANCE) * radius:
                drawn += 0.1 * h
                continue
            thermal = min(surface_scale(section, radius / h, "centre"), MAX_THERMAL_SCALE)
            thermal_radius = min(widest, radius)
        scale = surface_scale(section, radius / h, "face") if electric else 1.0
        return ResolvedNeedle(
            mask, drawn, scale, thermal, True, radius if electric else math.nan, thermal_radius
        )
    return drawn_needle(grid, segment)
