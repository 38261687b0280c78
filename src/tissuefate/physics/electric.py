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

from typing import Literal

import numpy as np

from ..kernels import multigrid as km
from .elliptic import MultigridPCG, SolveInfo, dirichlet_rhs

__all__ = ["GROUND_FACES", "PotentialSolver", "ground_flags"]

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
        for c, (faces, scale) in zip((self.c0, self.c1, self.c2), self._surface, strict=False):
            c.ravel()[faces] *= scale
        self.sigma = sigma
        if rebuild or not same or self._pcg is None:
            self.electrode = electrode
            self._pcg = MultigridPCG(self.c0, self.c1, self.c2, None, electrode, impl=self.impl)
            self.rebuilds += 1
        else:
            self._pcg.update_fine()
        self._b_per_volt = dirichlet_rhs(1.0, self.electrode, self.c0, self.c1, self.c2)

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
        else:
            guess = None
        x, info = self._pcg.solve(value * self._b_per_volt, x0=guess, tol=tol, maxiter=maxiter)
        if value != 0.0:
            self._x_per_volt = x / value
        x[~tissue] = value
        return x, info

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
