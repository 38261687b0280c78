"""Darcy flow of an injectate through tissue: the pressure of an infusion and the face fluxes.

Steady, incompressible Darcy flow from needle tips (issue 4's infusion, first step)::

    -∇·((K/μ) ∇p) = s          u = -(K/μ) ∇p

with ``K`` the hydraulic permeability of the tissue (m²), ``μ`` the viscosity of the injectate
(Pa·s), ``p`` the pressure above the tissue's (Pa) and ``s`` the volumetric source (1/s): an
infusion of ``Q`` m³/s at a point is spread over its 8 nearest voxels with trilinear weights
(:func:`tissuefate.grid.point_weights`), which keeps ``Q`` and its position. The cell-centred
finite-volume form is the electric problem's with σ replaced by the hydraulic conductivity
``K/μ``: harmonic face conductances (series half cells), the faces of the box at 0 Pa (far
tissue) or closed, solved by :class:`~tissuefate.physics.elliptic.MultigridPCG`. The flux
through a face is ``c_f (p_a − p_b)`` in m³/s, so the fluxes out of any closed set of voxels add
up to the infusion inside it (mass conservation, to the solver's tolerance).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np

from ..grid.grid import Grid
from ..grid.shapes import point_weights
from ..kernels import multigrid as km
from .electric import ground_flags
from .elliptic import MultigridPCG, SolveInfo

__all__ = ["DarcySolver", "point_source_pressure"]


def point_source_pressure(
    r: np.ndarray, rate: float, permeability: float, viscosity: float
) -> np.ndarray:
    """Steady pressure (Pa) at distance ``r`` (m) from a point infusion of ``rate`` m³/s in an
    unbounded homogeneous medium: p = Qμ / (4π K r)."""
    return rate * viscosity / (4.0 * np.pi * permeability * np.asarray(r, dtype=float))


class DarcySolver:
    """Pressure of infusions in tissue of a given permeability.

    Parameters
    ----------
    grid
        The voxel grid.
    permeability
        K in m², ``>= 0`` (0 is impermeable), grid shape.
    viscosity
        μ of the injectate in Pa·s, ``> 0``.
    open_faces
        ``"boundary"`` (all faces of the box at 0 Pa) or one of ``GROUND_FACES``.
    fixed, fixed_pressure
        Optional mask of voxels held at ``fixed_pressure`` (Pa, scalar or grid-shaped), e.g. a
        known far-field pressure in a test.
    impl
        ``"compiled"`` or ``"numpy"``.
    """

    def __init__(
        self,
        grid: Grid,
        permeability: np.ndarray,
        viscosity: float,
        *,
        open_faces: str = "boundary",
        fixed: np.ndarray | None = None,
        fixed_pressure: float | np.ndarray = 0.0,
        impl: Literal["compiled", "numpy"] = "compiled",
    ) -> None:
        k = np.ascontiguousarray(permeability, dtype=np.float64)
        if k.shape != grid.shape:
            raise ValueError(f"permeability has shape {k.shape}, grid is {grid.shape}")
        if not (np.all(np.isfinite(k)) and np.all(k >= 0)):
            raise ValueError("permeability must be finite and non-negative (m^2)")
        if not viscosity > 0:
            raise ValueError(f"viscosity must be positive (Pa s), got {viscosity!r}")
        flags = ground_flags(open_faces)
        self.grid = grid
        self.viscosity = float(viscosity)
        n0, n1, n2 = grid.shape
        self.c0 = np.zeros((n0 + 1, n1, n2))
        self.c1 = np.zeros((n0, n1 + 1, n2))
        self.c2 = np.zeros((n0, n1, n2 + 1))
        held = np.zeros(grid.shape, np.uint8) if fixed is None else np.asarray(fixed, np.uint8)
        # the electric face kernel with σ = K/μ; held voxels are prescribed-pressure "electrodes"
        faces = km.harmonic_faces if impl == "compiled" else km.harmonic_faces_numpy
        faces(k / self.viscosity, held, flags, grid.spacing, *self._faces)
        self.fixed = held
        self.fixed_pressure = np.broadcast_to(np.asarray(fixed_pressure, float), grid.shape)
        self._pcg = MultigridPCG(self.c0, self.c1, self.c2, None, held, impl=impl)
        self.pressure = np.zeros(grid.shape)

    @property
    def _faces(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return self.c0, self.c1, self.c2

    def source(self, infusions: Sequence[tuple[Sequence[float], float]]) -> np.ndarray:
        """Volumetric injection per voxel (m³/s) of ``(point (m), rate (m³/s))`` infusions."""
        out = np.zeros(self.grid.shape)
        for point, rate in infusions:
            idx, w = point_weights(self.grid, np.asarray(point, float))
            for (i, j, k), wi in zip(idx, w, strict=True):
                out[i, j, k] += rate * wi
        return out

    def solve(
        self, infusions: Sequence[tuple[Sequence[float], float]], tol: float = 1e-8
    ) -> tuple[np.ndarray, SolveInfo]:
        """Pressure (Pa, grid shape) of the infusions; warm-started from the last solution."""
        from .elliptic import dirichlet_rhs

        q = self.source(infusions)
        b = dirichlet_rhs(self.fixed_pressure, self.fixed, *self._faces, f=q)
        held = self.fixed != 0
        x, info = self._pcg.solve(b, x0=np.where(held, 0.0, self.pressure), tol=tol)
        x[held] = self.fixed_pressure[held]
        self.pressure = x
        return x, info

    def face_fluxes(self, pressure: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Volume flux through every face along +x, +y, +z (m³/s), boundary faces included
        (the outside of an open face is at 0 Pa)."""
        p = np.asarray(pressure, float)
        padded = np.pad(p, 1)  # 0 Pa outside: closed faces have c = 0 and carry nothing
        return (
            self.c0 * (padded[:-1, 1:-1, 1:-1] - padded[1:, 1:-1, 1:-1]),
            self.c1 * (padded[1:-1, :-1, 1:-1] - padded[1:-1, 1:, 1:-1]),
            self.c2 * (padded[1:-1, 1:-1, :-1] - padded[1:-1, 1:-1, 1:]),
        )
