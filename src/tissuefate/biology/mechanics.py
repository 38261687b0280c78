"""Tissue that moves: the solid phase flows where its volume is created or destroyed.

Between sessions each voxel holds a mixture: the volume fractions of the cells, dead tissue,
fibroblasts and collagen of ``TissueState``, and the free room that clearance left. Three
processes change the volume a voxel must hold, over a mechanics interval ``Δt`` (a day of the
repair clock, or what remains of one at an event):

- **Wound contraction.** Myofibroblasts ``F`` close free room: ``free ← free e^{−k Δt}`` with
  ``k = contraction_rate · F / (F + contraction_half)``. The room disappears; the tissue around
  is drawn in. Regeneration and collagen deposition (the repair kernel) fill room before it
  closes, at every repair step.
- **Growth beyond room.** Where tumour growth or invasion filled a voxel past its volume
  (``tissuefate.kernels.repair`` with ``push``), the excess pushes the neighbours away.
- **Water.** Tissue swells with oedema and shrinks with dehydration: the volume of the tissue
  in a voxel scales by ``J = g(w) / g(w_settled)`` with ``g(w) = 1 − f_w + f_w w``, ``w`` the
  relative water content, ``f_w`` the water fraction of the voxel's material and ``w_settled``
  the water content the geometry last took up. Every constituent swells by ``J``: the cells
  keep their number and take more room.

The voxel then holds ``E = J occupied + free' − 1`` more than its volume. The mixture moves with
a velocity ``v = −∇p``, ``∇·v = E / Δt``: a pressure-Poisson problem solved by the multigrid-
preconditioned CG of ``tissuefate.physics.elliptic`` on a box around the sources (the box's
faces at p = 0, open to the far tissue; large vessels are walls). For a source in a sphere the
Dirichlet condition on a surrounding sphere leaves the velocity inside exactly that of an
unbounded medium (p − p(R) has the same gradient), and on a cube the difference is a harmonic
of cubic symmetry, of order ``(r / L)⁴``; so a few voxels of margin suffice.

The face volume fluxes carry every constituent by the conservative, bounded donor-cell scheme
of ``tissuefate.kernels.advect``, sub-stepped so that no voxel sends more than half its content
in one sub-step: the volumes (tumour, parenchyma, coagulated, debris, myofibroblasts, collagen,
free room) are conserved to round-off apart from what crosses the box's faces; the intensive
properties (matrix integrity, vessel density, occlusion, inflammation, injury signal,
phagocytes, water) are carried with the tissue and stay within the range of the values they mix.
The cumulative displacement (mm) of the tissue in each voxel is carried the same way and grows
by ``v Δt`` at the voxel centre. Since every voxel ends holding exactly its volume (to the
solver's tolerance), cleared room that contracts draws its rim inwards and compacts the
collagen in it into scar, and a tumour that grows pushes its neighbours away.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields

import numpy as np

from ..grid.anatomy import Anatomy
from ..grid.grid import Grid
from ..kernels import advect as ka
from ..physics.elliptic import MultigridPCG
from ..tissue.presets import TissueModel
from ..tissue.state import TissueState

__all__ = [
    "CARRIED",
    "VOLUMES",
    "Mechanics",
    "MechanicsParameters",
    "MechanicsStats",
    "MechanicsStep",
    "face_fluxes",
]

DAY = 86400.0
VOLUMES = ("tumor", "normal", "coagulated", "debris", "myofibroblasts", "collagen")
"""Constituents that occupy volume (their sum is the occupied fraction); the free room is one
more volume in the advection."""
CARRIED = (
    "ecm",
    "vessels",
    "occlusion",
    "inflammation",
    "water",
    "water_settled",
    "injury",
    "phagocytes",
    "displacement_x",
    "displacement_y",
    "displacement_z",
)
"""Intensive properties carried with the tissue."""
_DISPLACEMENT = (8, 9, 10)  # indices of the displacement components in CARRIED
SOURCE_MIN = 1e-4
"""Voxels whose volume change over an interval is below this fraction are left alone (their
change waits until it grows past it)."""
COURANT = 0.5
"""Largest share of its content a voxel sends in one advection sub-step."""
SOLVER_TOL = 1e-6
"""Relative residual of the pressure solves: every voxel then holds its volume to about this."""


@dataclass(frozen=True)
class MechanicsParameters:
    """Parameters of the tissue mechanics (SI).

    Attributes
    ----------
    contraction_rate
        1/s: rate at which free room closes where myofibroblasts are dense.
    contraction_half
        Myofibroblast fraction (1) at which the rate is half of ``contraction_rate``.
    margin
        Voxels of tissue between the sources and the box the pressure is solved on.
    """

    contraction_rate: float
    contraction_half: float
    margin: int = 4
    sources: Mapping[str, str] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        if not (math.isfinite(self.contraction_rate) and self.contraction_rate >= 0):
            raise ValueError(f"contraction_rate must be >= 0, got {self.contraction_rate}")
        if not self.contraction_half > 0:
            raise ValueError(f"contraction_half must be positive, got {self.contraction_half}")
        if self.margin < 1:
            raise ValueError(f"margin must be at least 1 voxel, got {self.margin}")


@dataclass(frozen=True)
class MechanicsStep:
    """What one mechanics interval did.

    Attributes
    ----------
    box
        The box the mixture moved in (None: nothing moved).
    iterations
        CG iterations of the pressure solve.
    substeps
        Advection sub-steps.
    swelling
        Volume (voxel fractions summed) each constituent of ``VOLUMES`` gained by swelling.
    boundary
        Volume each constituent of ``VOLUMES`` gained through the faces of the box.
    largest_step
        Largest displacement of the interval (mm).
    """

    box: tuple[slice, slice, slice] | None
    iterations: int = 0
    substeps: int = 0
    swelling: np.ndarray = field(default_factory=lambda: np.zeros(len(VOLUMES)))
    boundary: np.ndarray = field(default_factory=lambda: np.zeros(len(VOLUMES)))
    largest_step: float = 0.0


@dataclass
class MechanicsStats:
    """Running totals of the work the mechanics did (for summaries and benchmarks): intervals
    moved, pressure solves, CG iterations, advection sub-steps, and wall times in s."""

    intervals: int = 0
    solves: int = 0
    iterations: int = 0
    substeps: int = 0
    solve_s: float = 0.0
    advect_s: float = 0.0
    total_s: float = 0.0

    def as_dict(self) -> dict[str, float]:
        """JSON-able form (for checkpoints)."""
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @classmethod
    def from_dict(cls, data: Mapping[str, float]) -> MechanicsStats:
        """Inverse of :meth:`as_dict`."""
        kinds = {f.name: int if f.type == "int" else float for f in fields(cls)}
        return cls(**{k: kinds[k](v) for k, v in data.items()})


def face_fluxes(
    solver: MultigridPCG, export: np.ndarray, faces: tuple[np.ndarray, ...], tol: float
) -> tuple[tuple[np.ndarray, np.ndarray, np.ndarray], int]:
    """Face volume fluxes (voxel fractions, positive towards +axis) that take ``export`` out of
    each voxel: ``Σ_out − Σ_in = export`` to the solver's tolerance, with the potential
    solving ``A P = export`` (``faces``: the unit conductances of :func:`_unit_faces`). Returns
    the fluxes and the CG iterations."""
    c0, c1, c2 = faces
    if not np.any(export):
        zero = tuple(np.zeros(c.shape) for c in faces)
        return zero, 0  # type: ignore[return-value]
    p, info = solver.solve(export, tol=tol, maxiter=200)
    pad = np.pad(p, 1)  # 0 beyond the box: its faces are open
    f0 = c0 * (pad[:-1, 1:-1, 1:-1] - pad[1:, 1:-1, 1:-1])
    f1 = c1 * (pad[1:-1, :-1, 1:-1] - pad[1:-1, 1:, 1:-1])
    f2 = c2 * (pad[1:-1, 1:-1, :-1] - pad[1:-1, 1:-1, 1:])
    return (f0, f1, f2), info.iterations


def _unit_faces(tissue: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Conductances of ``−∇²`` on the box (h = 1): 1 between two tissue voxels, 2 on the box's
    faces (the surface at p = 0 lies half a voxel out), 0 next to a large vessel (a wall)."""
    t = tissue.astype(np.float64)
    n0, n1, n2 = t.shape
    c0 = np.zeros((n0 + 1, n1, n2))
    c1 = np.zeros((n0, n1 + 1, n2))
    c2 = np.zeros((n0, n1, n2 + 1))
    c0[1:-1] = t[:-1] * t[1:]
    c0[0], c0[-1] = 2.0 * t[0], 2.0 * t[-1]
    c1[:, 1:-1] = t[:, :-1] * t[:, 1:]
    c1[:, 0], c1[:, -1] = 2.0 * t[:, 0], 2.0 * t[:, -1]
    c2[:, :, 1:-1] = t[:, :, :-1] * t[:, :, 1:]
    c2[:, :, 0], c2[:, :, -1] = 2.0 * t[:, :, 0], 2.0 * t[:, :, -1]
    return c0, c1, c2


class Mechanics:
    """The solid-phase flow of one scenario's tissue (module docstring).

    Parameters
    ----------
    grid, anatomy, tissue
        The scenario's grid, anatomy (large vessels are walls) and tissue presets (the water
        fraction of each material).
    params
        :class:`MechanicsParameters`.
    impl
        ``"compiled"`` or ``"numpy"`` kernels.
    """

    def __init__(
        self,
        grid: Grid,
        anatomy: Anatomy,
        tissue: TissueModel,
        params: MechanicsParameters,
        impl: str = "compiled",
    ) -> None:
        self.grid = grid
        self.params = params
        self.impl = impl
        self.tissue = ~anatomy.vessel
        water = np.array([m.water_mass_fraction for m in tissue.materials], np.float64)
        self.water_fraction = water[anatomy.material].astype(np.float32)
        self.stats = MechanicsStats()
        self._solvers: OrderedDict[tuple[int, ...], tuple[MultigridPCG, tuple]] = OrderedDict()
        compiled = impl == "compiled"
        self._advect = ka.advect_step if compiled else ka.advect_step_numpy
        self._courant = ka.largest_outflow if compiled else ka.largest_outflow_numpy

    # -- sources ----------------------------------------------------------------------------
    def _export(
        self, state: TissueState, box: tuple[slice, slice, slice], dt: float
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Volume each voxel of ``box`` must export over ``dt`` s (voxel fractions), with the
        swelling factor J and the free room after contraction."""
        occ = np.zeros(self.tissue[box].shape)
        for name in VOLUMES:
            occ += getattr(state, name)[box]
        tissue = self.tissue[box]
        free = np.where(tissue, np.maximum(1.0 - occ, 0.0), 0.0)
        f = state.myofibroblasts[box].astype(np.float64)
        p = self.params
        rate = p.contraction_rate * f / (f + p.contraction_half)
        free_after = free * np.exp(-rate * dt)
        fw = self.water_fraction[box].astype(np.float64)
        w = state.water[box].astype(np.float64)
        w0 = state.water_settled[box].astype(np.float64)
        swell = np.where(tissue, (1.0 - fw + fw * w) / (1.0 - fw + fw * w0), 1.0)
        export = np.where(tissue, swell * occ + free_after - 1.0, 0.0)
        return export, swell, free_after

    def _source_box(
        self, export: np.ndarray, region: tuple[slice, slice, slice]
    ) -> tuple[slice, slice, slice] | None:
        """Box of the voxels of ``region`` with a volume change (``export``, on ``region``),
        widened by the margin and rounded outward to even indices (so that fewer boxes, and
        solver hierarchies, recur); None when nothing changes."""
        moving = np.abs(export) > SOURCE_MIN
        if not moving.any():
            return None
        out = []
        m = self.params.margin
        for axis, sl in enumerate(region):
            other = tuple(a for a in range(3) if a != axis)
            idx = np.nonzero(moving.any(axis=other))[0]
            start = sl.start or 0
            n = self.grid.shape[axis]
            lo = max(0, (start + int(idx[0]) - m) // 2 * 2)
            hi = min(n, -(-(start + int(idx[-1]) + 1 + m) // 2) * 2)
            out.append(slice(lo, hi))
        return tuple(out)  # type: ignore[return-value]

    def _solver(self, box: tuple[slice, slice, slice]) -> tuple[MultigridPCG, tuple]:
        key = tuple(x for b in box for x in (b.start, b.stop))
        if key in self._solvers:
            self._solvers.move_to_end(key)
            return self._solvers[key]
        tissue = self.tissue[box]
        faces = _unit_faces(tissue)
        solver = MultigridPCG(
            *faces,
            None,
            np.zeros(tissue.shape, np.uint8),
            impl=self.impl,  # type: ignore[arg-type]
        )
        self._solvers[key] = (solver, faces)
        if len(self._solvers) > 4:
            self._solvers.popitem(last=False)
        return solver, faces

    # -- one interval -----------------------------------------------------------------------
    def step(
        self,
        state: TissueState,
        dt: float,
        region: tuple[slice, slice, slice] | None = None,
        stats: MechanicsStats | None = None,
        tracers: Sequence[np.ndarray] = (),
    ) -> MechanicsStep:
        """Move the tissue in place over ``dt`` s. Sources are looked for in ``region`` (the
        repair model's active block; None: the whole grid); the mixture moves in a box around
        them, which may reach beyond ``region``. The work done is added to ``stats`` (None: to
        this object's own :attr:`stats`; a course keeps its totals on its checkpointed clock).

        ``tracers`` are volume fractions that move and swell with the tissue but take no room
        (e.g. the parenchyma a voxel's tissue held before treatment, so that parenchyma pushed
        aside is not counted as lost): moved in place, each conserved as the constituents are."""
        start = time.perf_counter()
        stats = self.stats if stats is None else stats
        region = region or (slice(None),) * 3
        region = tuple(
            slice(*b.indices(n)[:2]) for b, n in zip(region, self.grid.shape, strict=True)
        )
        sources = self._export(state, region, dt)  # type: ignore[arg-type]
        box = self._source_box(sources[0], region)  # type: ignore[arg-type]
        stats.intervals += 1
        if box is None:
            stats.total_s += time.perf_counter() - start
            return MechanicsStep(None)
        inside = all(
            r.start <= b.start and b.stop <= r.stop for b, r in zip(box, region, strict=True)
        )
        if inside:  # the sources of the box are those of the region, cut to it
            cut = tuple(
                slice(b.start - r.start, b.stop - r.start) for b, r in zip(box, region, strict=True)
            )
            sources = tuple(a[cut] for a in sources)  # type: ignore[assignment]
        else:
            sources = self._export(state, box, dt)
        result = self._move(state, box, dt, stats, sources, tracers)
        stats.total_s += time.perf_counter() - start
        return result

    def _move(
        self,
        state: TissueState,
        box: tuple[slice, slice, slice],
        dt: float,
        stats: MechanicsStats,
        sources: tuple[np.ndarray, np.ndarray, np.ndarray],
        tracers: Sequence[np.ndarray] = (),
    ) -> MechanicsStep:
        export, swell, free_after = sources
        tissue = self.tissue[box]
        # padded box: the neighbours beyond its faces (the grid's edge repeats at the edge)
        outer = tuple(
            slice(max(b.start - 1, 0), min(b.stop + 1, n))
            for b, n in zip(box, self.grid.shape, strict=True)
        )
        widths = [
            (b.start - o.start == 0, o.stop - b.stop == 0) for b, o in zip(box, outer, strict=True)
        ]
        pad = tuple((int(lo), int(hi)) for lo, hi in widths)

        def padded(a: np.ndarray) -> np.ndarray:
            return np.pad(a[outer].astype(np.float64), pad, mode="edge")

        inner = (slice(1, -1),) * 3
        nv = len(VOLUMES) + 1
        q = np.empty((nv, *(s + 2 for s in export.shape)))
        for s, name in enumerate(VOLUMES):
            q[s] = padded(getattr(state, name))
        occ_pad = q[: nv - 1].sum(axis=0)
        tissue_pad = np.pad(self.tissue[outer], pad, mode="edge")
        q[nv - 1] = np.where(tissue_pad, np.maximum(1.0 - occ_pad, 0.0), 0.0)
        before = q[: nv - 1, 1:-1, 1:-1, 1:-1].sum(axis=(1, 2, 3))
        q[(slice(None, nv - 1), *inner)] *= swell
        q[(nv - 1, *inner)] = free_after
        swelled = q[: nv - 1, 1:-1, 1:-1, 1:-1].sum(axis=(1, 2, 3)) - before
        nc = len(CARRIED)
        x = np.empty((nc + len(tracers), *q.shape[1:]))
        for m, name in enumerate(CARRIED):
            x[m] = padded(getattr(state, name))
        x[(CARRIED.index("water_settled"), *inner)] = x[(CARRIED.index("water"), *inner)]
        content = q.sum(axis=0)
        for t, tracer in enumerate(tracers):  # carried per unit of content, swelled as the rest
            amount = padded(tracer)
            amount[inner] *= swell
            x[nc + t] = np.divide(amount, content, out=np.zeros_like(amount), where=content > 0)

        solve_start = time.perf_counter()
        solver, faces = self._solver(box)
        (f0, f1, f2), iterations = face_fluxes(solver, export, faces, SOLVER_TOL)
        stats.solve_s += time.perf_counter() - solve_start
        stats.solves += 1
        stats.iterations += iterations

        advect_start = time.perf_counter()
        courant = float(self._courant(content, f0, f1, f2))
        n = max(1, math.ceil(courant / COURANT))
        f0, f1, f2 = f0 / n, f1 / n, f2 / n
        qn = np.empty((nv, *export.shape))
        xn = np.empty((x.shape[0], *export.shape))
        cn = np.empty(export.shape)
        boundary = np.zeros(nv - 1)
        for _ in range(n):
            boundary += _box_exchange(q[: nv - 1], content, f0, f1, f2)
            self._advect(q, x, content, f0, f1, f2, qn, xn, cn)
            q[(slice(None), *inner)] = qn
            x[(slice(None), *inner)] = xn
            content[inner] = cn
        # displacement: the voxel-centre velocity times the interval, in mm
        h_mm = self.grid.spacing * 1e3
        steps = (
            0.5 * (f0[:-1] + f0[1:]) * n * h_mm,
            0.5 * (f1[:, :-1] + f1[:, 1:]) * n * h_mm,
            0.5 * (f2[:, :, :-1] + f2[:, :, 1:]) * n * h_mm,
        )
        for m, d in zip(_DISPLACEMENT, steps, strict=True):
            x[(m, *inner)] += np.where(tissue, d, 0.0)
        largest = float(np.sqrt(sum(d * d for d in steps)).max())
        for s, name in enumerate(VOLUMES):
            getattr(state, name)[box] = q[(s, *inner)]
        for m, name in enumerate(CARRIED):
            getattr(state, name)[box] = x[(m, *inner)]
        for t, tracer in enumerate(tracers):
            tracer[box] = x[(nc + t, *inner)] * content[inner]
        stats.advect_s += time.perf_counter() - advect_start
        stats.substeps += n
        return MechanicsStep(box, iterations, n, swelled, boundary, largest)


def _box_exchange(
    q: np.ndarray, content: np.ndarray, f0: np.ndarray, f1: np.ndarray, f2: np.ndarray
) -> np.ndarray:
    """Volume of each constituent that one advection step brings in through the faces of the
    box, less what it sends out (``q``, ``content`` padded; donor-cell shares)."""

    def share(sl: tuple[slice, ...]) -> np.ndarray:
        c = content[sl]
        return q[(slice(None), *sl)] / np.where(c > 0.0, c, np.inf)

    total = np.zeros(q.shape[0])
    inner = slice(1, -1)
    for axis, f in enumerate((f0, f1, f2)):
        for side, sign in ((0, 1.0), (-1, -1.0)):
            phi = sign * np.take(f, [side], axis=axis)  # flux into the box at this face
            ghost = [inner, inner, inner]
            cell = [inner, inner, inner]
            ghost[axis] = slice(0, 1) if side == 0 else slice(-1, None)
            cell[axis] = slice(1, 2) if side == 0 else slice(-2, -1)
            into = np.maximum(phi, 0.0)
            outof = np.maximum(-phi, 0.0)
            total += (share(tuple(ghost)) * into).sum(axis=(1, 2, 3))
            total -= (share(tuple(cell)) * outof).sum(axis=(1, 2, 3))
    return total
