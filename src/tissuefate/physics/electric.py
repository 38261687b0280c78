"""Quasi-static electric potential of radiofrequency ablation, and its Joule heat.

At radiofrequency (around 500 kHz) the tissue is quasi-static and resistive: the potential ``u``
(V) solves

    ∇·(σ ∇u) = 0

with σ the electric conductivity (S/m), ``u = V`` on the active electrode (a perfect conductor)
and ``u = 0`` on the grounded faces of the box (the dispersive pad far away); the other faces are
insulated. The cell-centred finite-volume form uses the face conductances of
:func:`tissuefate.kernels.multigrid.harmonic_faces` (series half cells; the electrode surface on
the face of its cells), and is solved by :class:`~tissuefate.physics.elliptic.MultigridPCG`.
The potential is linear in ``V``; the solver keeps the solution per volt and starts the next solve
from it, so a re-solve after a small change of σ (heating) takes a few iterations. The Joule heat
``q = σ |∇u|²`` (W/m³) is computed per face (:func:`tissuefate.kernels.multigrid.joule_heat`),
so that it adds up exactly to the power the electrode delivers, ``V² G``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from ..kernels import multigrid as km
from .elliptic import MultigridPCG, SolveInfo, dirichlet_rhs

__all__ = ["GROUND_FACES", "BoxSolution", "PotentialSolver", "ground_flags"]

GROUND_FACES = ("x-", "x+", "y-", "y+", "z-", "z+")
"""Names of the faces of the box, in the order of the kernels' ``ground`` flags."""


def ground_flags(ground: str | tuple[str, ...]) -> np.ndarray:
    """The kernels' six face flags (int64, order of :data:`GROUND_FACES`; 1 at 0 V / 0 Pa, 0
    closed) for ``"boundary"`` (every face), the name of one face or a tuple of names."""
    if ground == "boundary":
        return np.ones(6, np.int64)
    names = (ground,) if isinstance(ground, str) else tuple(ground)
    if names and all(n in GROUND_FACES for n in names):
        return np.array([int(face in names) for face in GROUND_FACES], np.int64)
    raise ValueError(f"ground must be 'boundary' or faces of {GROUND_FACES}, got {ground!r}")


def _surface_faces(
    electrode: np.ndarray, surface: np.ndarray
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per axis, the flat indices of the faces between an electrode cell and another cell, and the
    ``surface`` value of their electrode cell."""
    surface = np.asarray(surface, np.float64)
    if surface.shape != electrode.shape:
        raise ValueError(f"surface has shape {surface.shape}, grid is {electrode.shape}")
    on = electrode != 0
    if not np.all(surface[on] > 0):
        raise ValueError("the surface scale must be positive on the electrode")
    out = []
    for axis in range(3):
        shape = list(on.shape)
        shape[axis] += 1
        scale = np.ones(shape)
        lo = [slice(None)] * 3
        hi = [slice(None)] * 3
        inner = [slice(None)] * 3
        lo[axis], hi[axis], inner[axis] = slice(None, -1), slice(1, None), slice(1, -1)
        a, b = on[tuple(lo)], on[tuple(hi)]
        s_a, s_b = surface[tuple(lo)], surface[tuple(hi)]
        scale[tuple(inner)] = np.where(a & ~b, s_a, np.where(b & ~a, s_b, 1.0))
        faces = np.flatnonzero(scale != 1.0)
        out.append((faces, scale.ravel()[faces]))
    return out


def _scale_surface(
    faces: tuple[np.ndarray, np.ndarray, np.ndarray],
    surface: list[tuple[np.ndarray, np.ndarray]],
) -> None:
    """Multiply the face conductances ``faces`` (c0, c1, c2, in place) on each axis's electrode
    surface faces by their scale (:func:`_surface_faces`)."""
    for c, (index, scale) in zip(faces, surface, strict=False):
        c.ravel()[index] *= scale


def _faces_of(
    c0: np.ndarray, c1: np.ndarray, c2: np.ndarray, cells: tuple[slice, slice, slice]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The face conductances of the sub-box ``cells`` (its boundary faces included), copied."""
    a, b, c = cells
    return (
        np.ascontiguousarray(c0[a.start : a.stop + 1, b, c]),
        np.ascontiguousarray(c1[a, b.start : b.stop + 1, c]),
        np.ascontiguousarray(c2[a, b, c.start : c.stop + 1]),
    )


@dataclass
class _Box:
    """A box ``B`` of the grid anchored on a full solve ``u_f`` (:meth:`PotentialSolver.solve_box`).

    Arrays are on the halo box ``H`` (``B`` grown by one cell and clipped to the grid): ``ring``
    marks the cells of ``H`` outside ``B``, ``outside`` holds ``u_f`` (per volt) there and 0
    elsewhere. ``energy`` is ``u_Xᵀ A_XX u_X`` of the anchor (X: the cells outside ``B``) and
    ``ring_energy`` the part of it on the faces of ``B``, ``Σ c u_f²``, with the anchor's σ."""

    cells: tuple[slice, slice, slice]
    halo: tuple[slice, slice, slice]
    local: tuple[slice, slice, slice]
    ring: np.ndarray
    outside: np.ndarray
    energy: float
    ring_energy: float
    ground: np.ndarray  # the kernels' face flags of the halo box (the grid's where they meet)
    surface: list[tuple[np.ndarray, np.ndarray]]  # the anchor's surface scale, halo box faces
    w1: np.ndarray | None = None
    w2: np.ndarray | None = None


@dataclass(frozen=True)
class BoxSolution:
    """A potential solved on a box with the rest of the grid following the anchor's shape.

    ``cells``: the box (slices of the grid); ``alpha``: the factor of the anchored full solution
    outside the box; ``heat``: the Joule heat density per V² in the box (W/m³/V², the box's
    shape); ``iterations``: CG iterations of its two solves."""

    cells: tuple[slice, slice, slice]
    alpha: float
    heat: np.ndarray
    iterations: int


class PotentialSolver:
    """Electric potential of one active electrode in a box, for a conductivity that changes.

    Parameters
    ----------
    grid_shape
        Number of cells ``(n0, n1, n2)`` along x, y, z.
    spacing
        Cell edge h in m.
    ground
        ``"boundary"`` (all six faces grounded, 0 V), or the grounded face or faces, of
        :data:`GROUND_FACES`; the others are insulated.
    impl
        ``"compiled"`` (numba kernels) or ``"numpy"`` (reference implementation, slow).
    """

    def __init__(
        self,
        grid_shape: tuple[int, int, int],
        spacing: float,
        ground: str | tuple[str, ...] = "boundary",
        impl: Literal["compiled", "numpy"] = "compiled",
    ) -> None:
        shape = tuple(int(n) for n in grid_shape)
        if len(shape) != 3 or min(shape) < 1:
            raise ValueError(f"grid_shape must be three positive sizes, got {grid_shape!r}")
        n0, n1, n2 = shape
        if not spacing > 0:
            raise ValueError(f"spacing must be positive (m), got {spacing!r}")
        if impl not in ("compiled", "numpy"):
            raise ValueError(f"impl must be 'compiled' or 'numpy', got {impl!r}")
        flags = ground_flags(ground)
        self.shape = (n0, n1, n2)
        self.spacing = float(spacing)
        self.ground = ground
        self.impl = impl
        self._ground = flags
        self._faces_kernel = km.harmonic_faces if impl == "compiled" else km.harmonic_faces_numpy
        self._joule_kernel = km.joule_heat if impl == "compiled" else km.joule_heat_numpy
        self.c0 = np.zeros((n0 + 1, n1, n2))
        self.c1 = np.zeros((n0, n1 + 1, n2))
        self.c2 = np.zeros((n0, n1, n2 + 1))
        self.sigma: np.ndarray | None = None
        self.electrode: np.ndarray | None = None
        self._pcg: MultigridPCG | None = None
        self._b_per_volt: np.ndarray | None = None
        self._x_per_volt: np.ndarray | None = None  # last solution per volt, 0 on the electrode
        self._surface: list[tuple[np.ndarray, np.ndarray]] = []  # per axis: faces, their scales
        self._surface_source: np.ndarray | None = None
        self.rebuilds = 0  # multigrid hierarchies built so far
        self._box: _Box | None = None
        self._box_anchor: np.ndarray | None = None  # the last full solution per volt
        self._box_guess: tuple[float, np.ndarray] | None = None  # α and inside of a box solve

    @property
    def pcg(self) -> MultigridPCG:
        """The solver of the current conductivity (for diagnostics)."""
        if self._pcg is None:
            raise RuntimeError("call set_conductivity first")
        return self._pcg

    def set_conductivity(
        self,
        sigma: np.ndarray,
        electrode: np.ndarray,
        rebuild: bool = True,
        surface: np.ndarray | None = None,
    ) -> None:
        """Set σ (S/m, ``>= 0``, 0 insulates) and the electrode mask; rebuild the solver.

        With ``rebuild=False`` and the same electrode as before, only the finest level takes the
        new σ and the multigrid hierarchy of the earlier σ stays as preconditioner (cheaper while
        σ changes little; see :meth:`MultigridPCG.update_fine`). The previous solution stays as
        the starting guess of the next :meth:`solve`.

        ``surface`` (grid shape, read on the electrode's cells, positive) multiplies the
        conductance of each face between an electrode cell and tissue: the surface scale that
        makes a drawn needle conduct at its true radius (``physics/subgrid.py``); None for none.
        It is kept for later calls with the same electrode and no ``surface`` (and not computed
        again when the same array is passed again).
        """
        sigma = np.ascontiguousarray(sigma, dtype=np.float64)
        if sigma.shape != self.shape:
            raise ValueError(f"sigma has shape {sigma.shape}, grid is {self.shape}")
        if not np.all(sigma >= 0.0) or not np.all(np.isfinite(sigma)):
            raise ValueError("sigma must be finite and non-negative (S/m)")
        if np.shape(electrode) != self.shape:
            raise ValueError(f"electrode has shape {np.shape(electrode)}, grid is {self.shape}")
        electrode = np.ascontiguousarray(np.asarray(electrode) != 0, dtype=np.uint8)
        same = self.electrode is not None and np.array_equal(electrode, self.electrode)
        self._faces_kernel(sigma, electrode, self._ground, self.spacing, self.c0, self.c1, self.c2)
        if surface is not None and (surface is not self._surface_source or not same):
            self._surface, self._surface_source = _surface_faces(electrode, surface), surface
        elif surface is None and not same:
            self._surface, self._surface_source = [], None
        _scale_surface((self.c0, self.c1, self.c2), self._surface)
        self.sigma = sigma
        if rebuild or not same or self._pcg is None:
            self.electrode = electrode
            self._pcg = MultigridPCG(self.c0, self.c1, self.c2, None, electrode, impl=self.impl)
            self.rebuilds += 1
        else:
            self._pcg.update_fine()
        self._b_per_volt = dirichlet_rhs(1.0, self.electrode, self.c0, self.c1, self.c2)
        self._box = None  # a box solve needs a full solve of this σ first

    def solve(
        self,
        electrode_value: float = 1.0,
        x0: np.ndarray | None = None,
        tol: float = 1e-6,
        maxiter: int = 100,
    ) -> tuple[np.ndarray, SolveInfo]:
        """Potential (V, float64, grid shape) with the electrode at ``electrode_value`` (V).

        ``x0`` is a starting potential (V); None starts from the previous solution scaled to
        ``electrode_value`` (exact if only the voltage changed). ``tol`` is the relative residual
        of the linear system. Cells without any conduction (insulators) get 0 V; tissue sealed off
        from the electrode and the ground by insulators gets some constant potential.

        Raises
        ------
        NumericalError
            If the solver does not converge in ``maxiter`` iterations.
        """
        if self._pcg is None or self.electrode is None or self._b_per_volt is None:
            raise RuntimeError("call set_conductivity before solve")
        value = float(electrode_value)
        tissue = self.electrode == 0
        if x0 is not None:
            guess = np.where(tissue, np.asarray(x0, np.float64), 0.0)
        elif self._x_per_volt is not None:
            guess = np.where(tissue, value * self._x_per_volt, 0.0)
        elif self._box_guess is not None and self._box_anchor is not None and self._box is not None:
            alpha, inside = self._box_guess  # the last box solve: α u_f outside, its own inside
            guess = alpha * value * self._box_anchor
            guess[self._box.cells] = value * inside
            guess[~tissue] = 0.0
        else:
            guess = None
        x, info = self._pcg.solve(value * self._b_per_volt, x0=guess, tol=tol, maxiter=maxiter)
        if value != 0.0:
            self._x_per_volt = x / value
            self._box_anchor = self._x_per_volt
        self._box = None  # a box is anchored on the full solve just made (anchor_box)
        self._box_guess = None
        x[~tissue] = value
        return x, info

    def anchor_box(self, cells: tuple[slice, slice, slice]) -> None:
        """Anchor the box ``cells`` (slices of the grid) on the full :meth:`solve` just made (its
        σ and solution), for :meth:`solve_box`. The electrode must lie inside the box, off its
        faces."""
        if self._box_anchor is None or self.electrode is None:
            raise RuntimeError("anchor_box needs a full solve first")
        cells = tuple(slice(*c.indices(n)[:2]) for c, n in zip(cells, self.shape, strict=True))
        halo = tuple(
            slice(max(s.start - 1, 0), min(s.stop + 1, n))
            for s, n in zip(cells, self.shape, strict=True)
        )
        local = tuple(
            slice(s.start - h.start, s.stop - h.start) for s, h in zip(cells, halo, strict=True)
        )
        ring = np.ones(tuple(h.stop - h.start for h in halo), bool)
        ring[local] = False
        off_faces = np.ones(self.shape, bool)  # the electrode must not touch the cells around
        off_faces[tuple(slice(s.start + 1, s.stop - 1) for s in cells)] = False
        if np.any(self.electrode[off_faces]):
            raise ValueError("the electrode must lie inside the box, off its faces")
        outside = np.where(ring, self._box_anchor[halo], 0.0)
        faces = _faces_of(self.c0, self.c1, self.c2, halo)
        coupling = dirichlet_rhs(outside, ring, *faces)
        held = np.ascontiguousarray(self.electrode[halo])
        source = self._surface_source
        surface = [] if source is None else _surface_faces(held, np.asarray(source)[halo])
        edge = [
            e for h, n in zip(halo, self.shape, strict=True) for e in (h.start == 0, h.stop == n)
        ]
        self._box = _Box(
            cells,
            halo,
            local,
            ring,
            outside,
            float((coupling * self._box_anchor[halo]).sum()),  # no BLAS: see physics.elliptic
            float(dirichlet_rhs(outside**2, ring, *faces).sum()),
            np.where(edge, self._ground, 1).astype(np.int64),
            surface,
        )

    def solve_box(
        self,
        sigma: np.ndarray,
        electrode: np.ndarray,
        tol: float = 1e-6,
        outside: float = 1.0,
    ) -> BoxSolution:
        """The potential of a new σ solved on the anchored box only, per volt.

        The potential is sought as ``α u_f`` outside the box (``u_f`` the anchored full solution)
        and anything inside it: a Galerkin projection of the full problem on those potentials.
        Inside, it is ``w1 + α w2``, with ``w1`` the box's solution with the electrode at 1 V and
        0 around the box, and ``w2`` the one with the electrode at 0 and ``u_f`` around it; ``α``
        minimises the energy, ``α = (b2·w1) / (E_X − b2·w2)`` (``b2`` the coupling of the box to
        ``u_f`` around it, ``E_X`` the energy of ``u_f`` outside the box, its faces with today's
        σ). It is exact when σ changed only inside the box and the box is large enough that the
        change does not alter the shape of the potential around it; the conductance
        ``Σ heat h³`` (with ``α²`` times the anchor's heat outside) is then an upper bound of the
        true one. σ outside the box is taken as the anchor's times ``outside`` (its mean change
        there, weighted by the Joule heat; the energy of ``u_f`` outside scales with it); the
        caller follows the rest of its change to first order. The electrode and its surface
        scale are the anchored solve's.
        """
        box = self._box
        if box is None or self.electrode is None:
            raise RuntimeError("solve_box needs anchor_box first")
        halo = box.halo
        if np.shape(sigma) != self.shape or np.shape(electrode) != self.shape:
            raise ValueError(f"sigma and electrode must have the grid's shape {self.shape}")
        if not np.array_equal(np.asarray(electrode)[halo] != 0, self.electrode[halo] != 0):
            raise ValueError("solve_box needs the electrode of the anchored solve")
        sigma = np.asarray(sigma, np.float64)
        local_sigma = np.ascontiguousarray(sigma[halo])
        if not np.all(local_sigma >= 0.0) or not np.all(np.isfinite(local_sigma)):
            raise ValueError("sigma must be finite and non-negative (S/m)")
        held = self.electrode[halo] != 0
        faces = self._halo_faces(local_sigma, box)
        self.sigma = sigma
        fixed = box.ring | held
        pcg = MultigridPCG(*faces, None, fixed, impl=self.impl)
        b1 = dirichlet_rhs(held.astype(np.float64), fixed, *faces)
        b2 = dirichlet_rhs(box.outside, fixed, *faces)
        w1, i1 = pcg.solve(b1, x0=box.w1, tol=tol)
        w2, i2 = pcg.solve(b2, x0=box.w2, tol=tol)
        box.w1, box.w2 = w1, w2
        ring_now = float(dirichlet_rhs(box.outside**2, box.ring, *faces).sum())
        energy = outside * (box.energy - box.ring_energy) + ring_now
        alpha = pcg.dot(b2, w1) / (energy - pcg.dot(b2, w2))
        u = w1 + alpha * w2
        u[held] = 1.0
        u[box.ring] = alpha * box.outside[box.ring]
        heat = np.empty(u.shape)
        self._joule_kernel(
            u, local_sigma, held.astype(np.uint8), *faces, self.spacing, heat
        )  # fmt: skip
        self._x_per_volt = None  # the next full solve starts from this one (see solve)
        self._box_guess = (alpha, np.where(held[box.local], 0.0, u[box.local]))
        return BoxSolution(box.cells, alpha, heat[box.local], i1.iterations + i2.iterations)

    def _halo_faces(
        self, local_sigma: np.ndarray, box: _Box
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The face conductances of the halo box alone: the grid's ground on the sides where it
        is the grid's face (elsewhere its outer faces touch only the ring, which is held), and
        the electrode's surface scale."""
        n = (local_sigma.shape[0] + 1, local_sigma.shape[1], local_sigma.shape[2])
        c0 = np.empty(n)
        c1 = np.empty((n[0] - 1, n[1] + 1, n[2]))
        c2 = np.empty((n[0] - 1, n[1], n[2] + 1))
        held = (self.electrode[box.halo] != 0).astype(np.uint8)
        self._faces_kernel(local_sigma, held, box.ground, self.spacing, c0, c1, c2)
        _scale_surface((c0, c1, c2), box.surface)
        return c0, c1, c2

    def joule_heat(self, u: np.ndarray, out: np.ndarray) -> float:
        """Joule power density of the potential ``u`` (V) into ``out`` (W/m³, float32 or float64,
        grid shape, 0 in the electrode); returns the total power in W."""
        if self.sigma is None or self.electrode is None:
            raise RuntimeError("call set_conductivity before joule_heat")
        if out.shape != self.shape or not out.flags.c_contiguous:
            raise ValueError(f"out must be C-contiguous of shape {self.shape}")
        u = np.ascontiguousarray(u, dtype=np.float64)
        if u.shape != self.shape:
            raise ValueError(f"u has shape {u.shape}, grid is {self.shape}")
        return float(
            self._joule_kernel(
                u, self.sigma, self.electrode, self.c0, self.c1, self.c2, self.spacing, out
            )
        )

    def conductance(self, u: np.ndarray) -> float:
        """Conductance between the electrode and ground in S (1/impedance): total power / V².

        ``V`` is read from ``u`` on the electrode cells.
        """
        if self.electrode is None:
            raise RuntimeError("call set_conductivity before conductance")
        on = self.electrode != 0
        if not np.any(on):
            raise ValueError("there is no electrode cell")
        value = float(np.asarray(u)[on].flat[0])
        if value == 0.0:
            raise ValueError("the electrode is at 0 V: the conductance is undefined")
        power = self.joule_heat(u, np.empty(self.shape, dtype=np.float32))
        return power / value**2
