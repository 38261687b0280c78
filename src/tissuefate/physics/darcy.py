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

**Storage** (poroelastic infusion, issue 14). Tissue that stores fluid as it is pressurised obeys

    S ∂p/∂t − ∇·((K/μ) ∇p) = s

with ``S`` the specific storage (m³ of fluid stored per m³ of tissue per Pa, 1/Pa). It is the
pressure equation of Biot's linear poroelasticity with incompressible constituents wherever the
solid's displacement is irrotational, which it is around a point source in an unbounded medium:
there the pressure uncouples from the solid and ``S = 1/M``, ``M = 2G(1 − ν)/(1 − 2ν)`` the
drained constrained modulus (Detournay & Cheng 1993, "Fundamentals of poroelasticity",
Comprehensive Rock Engineering vol. 2, ch. 5; doi:10.1016/B978-0-08-040615-2.50011-3). The
consolidation coefficient ``c = K/(μS)`` is the pressure's diffusivity, and a point infusion of
``Q`` started at ``t = 0`` has ``p = Qμ/(4πKr) erfc(r / 2√(ct))``
(:func:`transient_point_pressure`). :meth:`DarcySolver.step` advances it one backward-Euler step
(the storage ``S h³/dt`` is the multigrid's diagonal); the fluid stored in a voxel is
``S h³ p``, so ``infused = stored + what left through the box`` holds to the solver's
tolerance at every step (:meth:`DarcySolver.stored_volume`, :meth:`DarcySolver.outflow`).

**Far field.** ``open_faces="far_field"`` replaces the 0 Pa faces by the unbounded tissue
beyond them: outside a box around a point infusion at ``centre`` the steady pressure falls as
``1/r``, so a face at distance ``r`` with outward normal ``n`` passes ``(K/μ) h² (r̂·n)/r``
times its pressure (the exact exterior conductance of ``p ∝ 1/r``), in series with the half cell
inside. The steady point source is then exact at the faces, whatever the box, and the answer no
longer depends on where the grid ends (tested with two boxes).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
from scipy.special import erfc

from ..grid.grid import Grid
from ..grid.shapes import point_weights
from ..kernels import multigrid as km
from .electric import ground_flags
from .elliptic import MultigridPCG, SolveInfo

__all__ = [
    "DarcySolver",
    "point_source_pressure",
    "transient_point_flux",
    "transient_point_pressure",
]


def point_source_pressure(
    r: np.ndarray, rate: float, permeability: float, viscosity: float
) -> np.ndarray:
    """Steady pressure (Pa) at distance ``r`` (m) from a point infusion of ``rate`` m³/s in an
    unbounded homogeneous medium: p = Qμ / (4π K r)."""
    return rate * viscosity / (4.0 * np.pi * permeability * np.asarray(r, dtype=float))


def transient_point_pressure(
    r: np.ndarray, t: float, rate: float, permeability: float, viscosity: float, storage: float
) -> np.ndarray:
    """Pressure (Pa) at distance ``r`` (m) and time ``t`` (s) after a point infusion of ``rate``
    m³/s starts in an unbounded medium with specific storage ``storage`` (1/Pa):
    ``Qμ/(4πKr) erfc(r / 2√(ct))``, ``c = K/(μS)`` (the continuous point source: Carslaw &
    Jaeger 1959, Conduction of Heat in Solids, ch. 10)."""
    r = np.asarray(r, dtype=float)
    c = permeability / (viscosity * storage)
    return point_source_pressure(r, rate, permeability, viscosity) * erfc(
        r / (2.0 * np.sqrt(c * t))
    )


def transient_point_flux(
    r: np.ndarray, t: float, rate: float, permeability: float, viscosity: float, storage: float
) -> np.ndarray:
    """Volume flux (m³/s) out of the sphere of radius ``r`` (m) at time ``t`` (s) around the
    point infusion of :func:`transient_point_pressure`:
    ``Q (erfc ξ + 2ξ/√π e^−ξ²)``, ``ξ = r / 2√(ct)``; the rest of ``Q`` is being stored inside."""
    c = permeability / (viscosity * storage)
    xi = np.asarray(r, dtype=float) / (2.0 * np.sqrt(c * t))
    return rate * (erfc(xi) + 2.0 * xi / np.sqrt(np.pi) * np.exp(-xi * xi))


class DarcySolver:
    """Pressure of infusions in tissue of a given permeability, steady or with storage.

    Parameters
    ----------
    grid
        The voxel grid.
    permeability
        K in m², ``>= 0`` (0 is impermeable), grid shape.
    viscosity
        μ of the injectate in Pa·s, ``> 0``.
    open_faces
        ``"boundary"`` (all faces of the box at 0 Pa), one of ``GROUND_FACES``, or
        ``"far_field"`` (every face opens onto unbounded tissue around ``centre``).
    centre
        The point (m) the far field is centred on (the infusions' centroid); required with
        ``"far_field"``.
    storage
        Specific storage S in 1/Pa (scalar or grid shape, ``>= 0``) for :meth:`step`; None for
        steady flow only.
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
        centre: Sequence[float] | None = None,
        storage: float | np.ndarray | None = None,
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
        far = open_faces == "far_field"
        if far and centre is None:
            raise ValueError("open_faces='far_field' needs the centre of the far field (m)")
        flags = ground_flags("boundary" if far else open_faces)
        self.grid = grid
        self.impl = impl
        self.viscosity = float(viscosity)
        n0, n1, n2 = grid.shape
        self.c0 = np.zeros((n0 + 1, n1, n2))
        self.c1 = np.zeros((n0, n1 + 1, n2))
        self.c2 = np.zeros((n0, n1, n2 + 1))
        held = np.zeros(grid.shape, np.uint8) if fixed is None else np.asarray(fixed, np.uint8)
        # the electric face kernel with σ = K/μ; held voxels are prescribed-pressure "electrodes"
        faces = km.harmonic_faces if impl == "compiled" else km.harmonic_faces_numpy
        faces(k / self.viscosity, held, flags, grid.spacing, *self._faces)
        if far:
            self._far_field(k / self.viscosity, held, np.asarray(centre, float))
        self.fixed = held
        self.fixed_pressure = np.broadcast_to(np.asarray(fixed_pressure, float), grid.shape)
        self.storage: np.ndarray | None = None
        if storage is not None:
            st = np.broadcast_to(np.asarray(storage, np.float64), grid.shape)
            if not (np.all(np.isfinite(st)) and np.all(st >= 0)):
                raise ValueError("storage must be finite and non-negative (1/Pa)")
            self.storage = np.ascontiguousarray(st)
        self._pcg: MultigridPCG | None = None  # the steady operator's, built on first use
        self._transient: tuple[float, MultigridPCG] | None = None
        self.pressure = np.zeros(grid.shape)

    @property
    def _faces(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return self.c0, self.c1, self.c2

    def _far_field(self, mobility: np.ndarray, held: np.ndarray, centre: np.ndarray) -> None:
        """Boundary faces onto unbounded tissue: the half cell in series with the exterior
        conductance ``(K/μ) h² (r̂·n)/r`` of a pressure falling as 1/r from ``centre``."""
        grid, h = self.grid, self.grid.spacing
        lower, upper = grid.lower, grid.upper
        axes = grid.axes()
        for axis, c in enumerate(self._faces):
            others = [a for a in range(3) if a != axis]
            for side, (face, cell, wall) in enumerate(((0, 0, lower), (-1, -1, upper))):
                pos = np.zeros((*(grid.shape[a] for a in others), 3))
                grids = np.meshgrid(*(axes[a] for a in others), indexing="ij")
                for a, g in zip(others, grids, strict=True):
                    pos[..., a] = g
                pos[..., axis] = wall[axis]
                d = pos - centre
                r = np.linalg.norm(d, axis=-1)
                cos = d[..., axis] / r * (1.0 if side else -1.0)
                sl: list[int | slice] = [slice(None)] * 3
                sl[axis] = cell
                m = mobility[tuple(sl)]
                outside = np.where(cos > 0, m * h * h * cos / r, 0.0)
                half = 2.0 * h * m
                with np.errstate(divide="ignore", invalid="ignore"):
                    series = np.where(outside > 0, half * outside / (half + outside), 0.0)
                fsl: list[int | slice] = [slice(None)] * 3
                fsl[axis] = face
                c[tuple(fsl)] = np.where(held[tuple(sl)] != 0, 0.0, series)

    def source(self, infusions: Sequence[tuple[Sequence[float], float]]) -> np.ndarray:
        """Volumetric injection per voxel (m³/s) of ``(point (m), rate (m³/s))`` infusions."""
        out = np.zeros(self.grid.shape)
        for point, rate in infusions:
            idx, w = point_weights(self.grid, np.asarray(point, float))
            for (i, j, k), wi in zip(idx, w, strict=True):
                out[i, j, k] += rate * wi
        return out

    def solve(
        self,
        infusions: Sequence[tuple[Sequence[float], float]],
        tol: float = 1e-8,
        guess: np.ndarray | None = None,
    ) -> tuple[np.ndarray, SolveInfo]:
        """Steady pressure (Pa, grid shape) of the infusions; warm-started from ``guess``, or
        the last solution."""
        if self._pcg is None:
            self._pcg = MultigridPCG(self.c0, self.c1, self.c2, None, self.fixed, impl=self.impl)
        return self._solve(self._pcg, self.source(infusions), tol, guess)

    def step(
        self,
        infusions: Sequence[tuple[Sequence[float], float]],
        dt: float,
        tol: float = 1e-8,
        guess: np.ndarray | None = None,
    ) -> tuple[np.ndarray, SolveInfo]:
        """Advance the pressure with storage one backward-Euler step of ``dt`` s (infusions
        constant over it) from :attr:`pressure`; returns the new pressure (Pa). The solver
        starts from ``guess`` (e.g. the same step solved with other rates), else from
        :attr:`pressure`."""
        if self.storage is None:
            raise ValueError("step needs a storage (1/Pa); use solve for steady flow")
        if not dt > 0:
            raise ValueError(f"dt must be positive (s), got {dt!r}")
        diag = self.storage * (self.grid.voxel_volume / dt)
        if self._transient is None or self._transient[0] != dt:
            pcg = MultigridPCG(self.c0, self.c1, self.c2, diag, self.fixed, impl=self.impl)
            self._transient = (dt, pcg)
        q = self.source(infusions) + diag * self.pressure
        return self._solve(self._transient[1], q, tol, guess)

    def _solve(
        self, pcg: MultigridPCG, q: np.ndarray, tol: float, guess: np.ndarray | None = None
    ) -> tuple[np.ndarray, SolveInfo]:
        from .elliptic import dirichlet_rhs

        b = dirichlet_rhs(self.fixed_pressure, self.fixed, *self._faces, f=q)
        held = self.fixed != 0
        start = self.pressure if guess is None else guess
        x, info = pcg.solve(b, x0=np.where(held, 0.0, start), tol=tol)
        x[held] = self.fixed_pressure[held]
        self.pressure = x
        return x, info

    def stored_volume(self, pressure: np.ndarray | None = None) -> float:
        """Fluid stored by the tissue at ``pressure`` (Pa; default the current one), m³:
        ``Σ S h³ p`` over the free voxels (0 without storage)."""
        if self.storage is None:
            return 0.0
        p = self.pressure if pressure is None else np.asarray(pressure, float)
        free = self.fixed == 0
        return float((self.storage * p)[free].sum()) * self.grid.voxel_volume

    def outflow(
        self,
        pressure: np.ndarray | None = None,
        block: tuple[slice, slice, slice] | None = None,
    ) -> float:
        """Volume flux (m³/s) out through the faces of ``block`` (default the whole box, whose
        faces are the grid's) at ``pressure`` (Pa; default the current one)."""
        f0, f1, f2 = self.face_fluxes(self.pressure if pressure is None else pressure)
        (a0, b0), (a1, b1), (a2, b2) = (
            s.indices(n)[:2]
            for s, n in zip(block or (slice(None),) * 3, self.grid.shape, strict=True)
        )
        s0, s1, s2 = slice(a0, b0), slice(a1, b1), slice(a2, b2)
        return float(
            f0[b0, s1, s2].sum() - f0[a0, s1, s2].sum() + f1[s0, b1, s2].sum()
            - f1[s0, a1, s2].sum() + f2[s0, s1, b2].sum() - f2[s0, s1, a2].sum()
        )  # fmt: skip

    def face_fluxes(self, pressure: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Volume flux through every face along +x, +y, +z (m³/s), boundary faces included
        (the outside of an open face is at 0 Pa, or the far field's 0 at infinity)."""
        p = np.asarray(pressure, float)
        padded = np.pad(p, 1)  # 0 Pa outside: closed faces have c = 0 and carry nothing
        return (
            self.c0 * (padded[:-1, 1:-1, 1:-1] - padded[1:, 1:-1, 1:-1]),
            self.c1 * (padded[1:-1, :-1, 1:-1] - padded[1:-1, 1:, 1:-1]),
            self.c2 * (padded[1:-1, 1:-1, :-1] - padded[1:-1, 1:-1, 1:]),
        )
