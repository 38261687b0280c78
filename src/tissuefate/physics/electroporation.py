"""Electric field of irreversible electroporation: one steady potential per electrode pair, with a
conductivity that rises with the field.

Each pair of a protocol is a separate quasi-static problem (a pulse of some 100 µs is long
against the charging of tissue and short against heat conduction)::

    ∇·(σ(E, T) ∇u) = 0,   u = V on the anode, 0 on the cathode,   E = |∇u|,

with the faces of the box insulated: the current flows between the two electrodes only. The other
electrodes of the protocol are left in the tissue, disconnected: they are metal,
:data:`METAL_CONDUCTIVITY`, as in the Go-Smart IRE model (github.com/go-smart,
goosefoot-elmer-modules, ``NumaIRE``). Electroporation opens pores as the field rises, and
σ(E) rises from ``σ0`` below ``E_rev`` to ``σ1`` above ``E_irr``:

- ``"linear"``: linear in between (the Go-Smart FEniCS IRE example);
- ``"sigmoid"``: ``σ0 + (σ1 − σ0) / (1 + exp(−(E − E_m)/B))``, ``E_m`` the middle of
  ``[E_rev, E_irr]`` and ``B = (E_irr − E_rev) / (2 ln 9)``, so that 10 % to 90 % of the rise lies
  between the two thresholds (the shape of Sel et al., IEEE Trans Biomed Eng 2005;52:816–827,
  doi 10.1109/TBME.2005.845212, with this parametrisation our own).

Pores do not reseal within a pulse train, so σ never falls: the field is found by the sequential
fixed point ``σ_{k+1} = max(σ_k, σ(E(σ_k)) · f_T)`` from ``σ(0) · f_T``, ``f_T = 1 + α (T − T_b)``
the temperature factor of the tissue at the start of the pair's train. The sequence rises and is
bounded by ``σ1 f_T``, so it converges; it stops when no voxel's σ changes by more than ``tol`` of
the top conductivity. Each step re-solves the potential from the last solution with a multigrid
hierarchy built for the new σ: σ rises fourfold where the tissue electroporates, and keeping the
first σ's hierarchy (:meth:`~tissuefate.physics.elliptic.MultigridPCG.update_fine`) took 22 CG
iterations per pair against 14 (2.95 s against 2.47 s at 128³, two electrodes).

The field of a cell is read from the Joule heat of its faces (``kernels/multigrid.joule_heat``):
``|E|² = q / σ``, the mean over the cell's six half cells of the square of their field, which is
exact for a uniform field and adds up to the power the pair delivers, ``V² G``. A voxel a needle
is drawn in holds tissue too (a 1.27 mm needle fills little of a 2 mm voxel), at the needle's
surface, where the field is highest: it takes the largest field of its six neighbours.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy import ndimage

from ..errors import NumericalError
from ..kernels import multigrid as km
from .electric import _scale_surface, _surface_faces
from .elliptic import MultigridPCG, dirichlet_rhs

__all__ = [
    "METAL_CONDUCTIVITY",
    "ConductivityCurve",
    "PairSolution",
    "field_conductivity",
    "solve_pair",
]

METAL_CONDUCTIVITY = 1e3
"""S/m of the electrodes not in the pair (the needles of the Go-Smart IRE model)."""

UPDATE_TOL = 1e-3
"""Relative residual of the solves whose field only updates σ (those after σ has settled, the
last one among them, are to ``solve_tol``)."""

_LN9 = math.log(9.0)


@dataclass(frozen=True)
class ConductivityCurve:
    """σ(E) per voxel: arrays (or scalars) of the grid's shape, SI units.

    ``low``/``high``: σ0 and σ1 in S/m; ``field_low``/``field_high``: E_rev and E_irr in V/m
    (``field_high > field_low`` where ``high > low``; voxels with ``high == low`` keep σ0);
    ``shape``: ``"linear"`` or ``"sigmoid"`` (module docstring)."""

    low: np.ndarray
    high: np.ndarray
    field_low: np.ndarray
    field_high: np.ndarray
    shape: Literal["linear", "sigmoid"] = "linear"

    def __post_init__(self) -> None:
        if self.shape not in ("linear", "sigmoid"):
            raise ValueError(f"shape must be 'linear' or 'sigmoid', got {self.shape!r}")

    def __call__(self, field: np.ndarray) -> np.ndarray:
        """σ in S/m at the field strength ``field`` (V/m)."""
        return field_conductivity(
            field, self.low, self.high, self.field_low, self.field_high, self.shape
        )


def field_conductivity(
    field: np.ndarray | float,
    low: np.ndarray | float,
    high: np.ndarray | float,
    field_low: np.ndarray | float,
    field_high: np.ndarray | float,
    shape: Literal["linear", "sigmoid"] = "linear",
) -> np.ndarray:
    """σ(E) in S/m (module docstring) at ``field`` (V/m); thresholds in V/m, σ in S/m."""
    e = np.asarray(field, np.float64)
    lo, hi = np.asarray(field_low, np.float64), np.asarray(field_high, np.float64)
    width = np.where(hi > lo, hi - lo, 1.0)
    if shape == "linear":
        rise = np.clip((e - lo) / width, 0.0, 1.0)
    elif shape == "sigmoid":
        middle = 0.5 * (lo + hi)
        with np.errstate(over="ignore"):
            rise = 1.0 / (1.0 + np.exp(-(e - middle) * (2.0 * _LN9) / width))
    else:
        raise ValueError(f"shape must be 'linear' or 'sigmoid', got {shape!r}")
    return (
        np.asarray(low, np.float64)
        + (np.asarray(high, np.float64) - np.asarray(low, np.float64)) * rise
    )


@dataclass(frozen=True)
class PairSolution:
    """The converged field of one pair.

    ``potential``: V (grid shape, V on the anode, 0 on the cathode); ``field``: |E| in V/m (in
    the voxels of a needle, the largest of their face neighbours': the tissue there lies at the
    needle's surface); ``sigma``: the final σ in S/m; ``power_density``: Joule heat during a
    pulse, W/m³; ``conductance``: S between the electrodes, first (σ at zero field) and last
    (``conductance_initial``, ``conductance``); ``iterations``: σ updates; ``cg_iterations``: CG
    iterations of all solves; ``change``: the largest change of σ the final field asks for (not
    made: it is within the tolerance), over the top σ."""

    potential: np.ndarray
    field: np.ndarray
    sigma: np.ndarray
    power_density: np.ndarray
    conductance_initial: float
    conductance: float
    iterations: int
    cg_iterations: int
    change: float

    @property
    def voltage(self) -> float:
        """The anode's potential in V."""
        return float(self.potential.max())

    @property
    def current(self) -> float:
        """Current of a pulse at the end of the train, A."""
        return self.conductance * self.voltage


def solve_pair(
    curve: ConductivityCurve,
    anode: np.ndarray,
    cathode: np.ndarray,
    voltage: float,
    spacing: float,
    *,
    temperature_factor: np.ndarray | float = 1.0,
    metal: np.ndarray | None = None,
    surface: np.ndarray | None = None,
    tol: float = 1e-3,
    solve_tol: float = 1e-6,
    max_iterations: int = 50,
    impl: Literal["compiled", "numpy"] = "compiled",
) -> PairSolution:
    """The field of the pair ``anode`` (at ``voltage`` V) and ``cathode`` (0 V) with σ(E).

    Parameters
    ----------
    curve
        σ(E) of every voxel (S/m, V/m), grid shape.
    anode, cathode
        Masks of the two electrodes' active voxels (disjoint, non-empty).
    voltage
        V, positive.
    spacing
        Cell edge h in m.
    temperature_factor
        ``1 + α (T − T_b)`` per voxel (or one number): σ is ``σ(E)`` times it.
    metal
        Mask of the other electrodes (σ = :data:`METAL_CONDUCTIVITY`), or None.
    surface
        Surface scale of the faces of the electrodes' voxels (``physics/subgrid.py``), read on
        the anode and cathode; None for none.
    tol
        Largest σ change of an update, relative to the top σ, at which the σ iteration stops.
    solve_tol
        Relative residual of each linear solve.
    max_iterations
        Most σ updates.
    impl
        ``"compiled"`` (numba kernels) or ``"numpy"`` (reference implementation, slow).

    Raises
    ------
    NumericalError
        If σ has not converged after ``max_iterations`` updates.
    """
    anode = np.asarray(anode, bool)
    cathode = np.asarray(cathode, bool)
    shape = anode.shape
    if cathode.shape != shape or not anode.any() or not cathode.any():
        raise ValueError("anode and cathode must be non-empty masks of the grid's shape")
    if np.any(anode & cathode):
        raise ValueError("the anode and the cathode share voxels")
    if not voltage > 0:
        raise ValueError(f"voltage must be positive (V), got {voltage!r}")
    held = anode | cathode
    held_u8 = held.astype(np.uint8)
    factor = np.broadcast_to(np.asarray(temperature_factor, np.float64), shape)
    metal_mask = np.zeros(shape, bool) if metal is None else np.asarray(metal, bool) & ~held
    sigma = np.where(metal_mask, METAL_CONDUCTIVITY, curve(np.zeros(shape)) * factor)
    top = float(np.max(np.where(metal_mask, 0.0, np.asarray(curve.high) * factor)))
    faces_kernel = km.harmonic_faces if impl == "compiled" else km.harmonic_faces_numpy
    joule_kernel = km.joule_heat if impl == "compiled" else km.joule_heat_numpy
    n0, n1, n2 = shape
    c0, c1, c2 = np.zeros((n0 + 1, n1, n2)), np.zeros((n0, n1 + 1, n2)), np.zeros((n0, n1, n2 + 1))
    insulated = np.zeros(6, np.int64)
    scaled = [] if surface is None else _surface_faces(held_u8, surface)

    def set_faces(s: np.ndarray) -> None:
        faces_kernel(s, held_u8, insulated, spacing, c0, c1, c2)
        _scale_surface((c0, c1, c2), scaled)

    values = np.where(anode, float(voltage), 0.0)
    set_faces(sigma)
    pcg = MultigridPCG(c0, c1, c2, None, held, impl=impl)
    x: np.ndarray | None = None
    heat = np.empty(shape)
    conductances: list[float] = []
    cg = 0
    iterations = 0
    loose = True  # σ moves on by more than the error of a loose solve until it settles
    while True:
        b = dirichlet_rhs(values, held, c0, c1, c2)
        x, info = pcg.solve(b, x0=x, tol=UPDATE_TOL if loose else solve_tol)
        cg += info.iterations
        u = np.where(held, values, x)
        power = float(joule_kernel(u, sigma, held_u8, c0, c1, c2, spacing, heat))
        conductances.append(power / voltage**2)
        field = np.sqrt(np.where(sigma > 0, heat / np.where(sigma > 0, sigma, 1.0), 0.0))
        target = np.where(metal_mask, METAL_CONDUCTIVITY, curve(field) * factor)
        new = np.maximum(sigma, target)
        change = float(np.max(new - sigma)) / top if top > 0 else 0.0
        if change <= tol:
            if loose:  # confirm on a solve to solve_tol
                loose = False
                continue
            break
        if iterations >= max_iterations:
            raise NumericalError(
                f"the electroporation conductivity did not converge in {max_iterations} updates "
                f"(last change {change:.3g} of the top conductivity, tolerance {tol:g})",
                step=iterations,
                field="sigma",
            )
        sigma = new
        iterations += 1
        set_faces(sigma)
        pcg = MultigridPCG(c0, c1, c2, None, held, impl=impl)
    needles = held | metal_mask
    field = np.where(needles, 0.0, field)
    # the tissue in a needle's voxels lies at its surface: it sees its neighbours' largest field
    beside = ndimage.maximum_filter(field, footprint=ndimage.generate_binary_structure(3, 1))
    field[needles] = beside[needles]
    return PairSolution(
        potential=u,
        field=field,
        sigma=sigma,
        power_density=heat.copy(),
        conductance_initial=conductances[0],
        conductance=conductances[-1],
        iterations=iterations,
        cg_iterations=cg,
        change=change,
    )
