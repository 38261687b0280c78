"""Conjugate gradients preconditioned by one geometric multigrid V-cycle, matrix-free.

Solves the symmetric positive (semi-)definite cell-centred problem of ``kernels/multigrid.py``
over the free cells::

    sum_f c_f (u_c - u_n) + d_c u_c = b_c

in the homogeneous form: vectors are 0 in fixed cells, and the known values of fixed cells enter
through the right-hand side (:func:`dirichlet_rhs`). Free cells without any coupling (all faces 0
and ``d = 0``, e.g. inside an insulator) are held at 0 like fixed cells. Free cells coupled only
among themselves (a floating island) make the matrix singular; the right-hand side is 0 there,
so CG still converges and the island's value is some constant.

Hierarchy
---------
Each coarse cell is a block of up to 2×2×2 fine cells (ceil coarsening, coarse size
``(n + 1) // 2``) until every dimension is at most 4 or the level has at most 512 cells. A coarse
face conductance is the sum of the fine faces lying on it, halved (the fine face ``min(2I, n)``
along the normal for coarse face ``I``); a coarse ``d`` is the sum of the children's. For
constant σ this *is* the re-discretised operator: an interior fine face is ``σ h²/h = σh``, four
of them make ``4σh`` and the coarse face is ``σ (2h)²/(2h) = 2σh``; a grounded boundary face
(surface half a cell away) is ``2σh`` fine and ``σ (2h)²/h = 4σh`` coarse, again the sum of four
over two; ``d`` is a volume term (``κ h³``) and adds up over the eight children. It is also the
Galerkin product ``Pᵀ A P`` of the piecewise-constant prolongation ``P`` with the faces halved,
so the coarse operator lies between ``Pᵀ A P / 2`` and ``Pᵀ A P``: the coarse correction is
over-weighted by at most 2, which makes up for the poor piecewise-constant interpolation.

Fixed cells coarsen in one of two ways:

- ``"any"``: a coarse cell is fixed if any child is, and the faces are coarsened as they are.
  Around a thin electrode the fixed region then grows with every level (a 1 mm needle is 8 mm
  thick three levels down), and the free fine cells under a fixed coarse cell get no coarse
  correction at all.
- ``"all"`` (the default): a face between a free and a held cell is a face to a 0 value, which is
  what a grounded boundary face is; it is taken out of the faces and half of it is added to the
  free cell's ``d`` (the same halving as for boundary faces, so an electrode surface lying on
  coarse faces is re-discretised exactly), and a coarse cell is held only if all its children are.
  Measured on a 64³ needle in a dried shell (σ jumps by 1e4): 7 iterations to 1e-8 instead of 10,
  and each iteration gains a decade.

Preconditioner
--------------
One V(ν,ν) cycle from a zero guess: ν pairs of red then black Gauss–Seidel half sweeps,
restriction of the residual by summation (``R = Pᵀ``), the same cycle on the coarse level,
piecewise-constant prolongation, ν pairs of black then red. The coarsest level is solved directly
on its free cells (sparse LU factorised once, or the pseudo-inverse where that level is singular).
The post-smoother is the adjoint of the pre-smoother and ``R = Pᵀ``, so the cycle is a symmetric
operator ``B``; it is positive definite because its error propagation ``E = S* C S`` satisfies
``(E v, v)_A = (C S v, S v)_A < (v, v)_A`` whenever the coarse step ``C = I - P B_c Pᵀ A`` has
``B_c`` positive (semi-)definite, which holds level by level from the coarsest. Hence CG with it
is valid. ``ν = 2`` (the default) halves the iterations of ``ν = 1`` (the piecewise-constant
prolongation leaves rough errors that one sweep does not remove: 7 against 16 iterations on the
needle above, 22 with ``"any"``) for some 1.5 times the work per iteration, so it is faster.

Cost
----
Measured at 128³ on two shared cores after compilation (``benchmarks/potential_solver.py``,
medians of three runs of three): building the hierarchy (faces to factorised coarsest level)
takes about 0.1 s once the process's memory is warm (0.5–0.65 s the first time); one V(2,2)
cycle 95 ms, one operator application 9.5 ms. The benchmark's needle electrode needs 6
iterations (0.8 s) to 1e-6 from a cold start and 4 (0.55 s) after a 5 % change of σ; the
V(1,1) cycle with ``"any"`` costs 57 ms but needs 19 iterations (1.5 s). Levels below 65536
cells run the kernels on one thread: on shared cores, waking the thread pool can cost more than
a small level's work.

No inner product here goes through BLAS (``np.vdot``, ``np.dot``, ``@`` on grid arrays): OpenBLAS
runs a long dot product on all cores and its idle threads then spin, so that one per solve kept a
second core busy for the whole of an injection course (user time 92 s for 49 s of wall time on 2
cores, with ``set_num_threads(1)``), and two courses side by side (``compare --jobs 2``) took three
times as long as one alone. The kernels' own ``dot`` runs on the threads the caller chose.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
import scipy.linalg
import scipy.sparse
import scipy.sparse.linalg

from ..errors import NumericalError
from ..kernels import multigrid as km

__all__ = ["MultigridPCG", "SolveInfo", "dirichlet_rhs"]

COARSEST_CELLS = 512  # a level with at most this many cells is solved directly
COARSEST_SIZE = 4  # ... and so is one whose every dimension is at most this
PARALLEL_CELLS = 1 << 16  # levels with fewer cells run the kernels on one thread
PINV_RCOND = 1e-12  # coarsest level: pivots, eigenvalues below this fraction of the largest are 0


@dataclass(frozen=True)
class SolveInfo:
    """Outcome of :meth:`MultigridPCG.solve`.

    Attributes
    ----------
    iterations
        CG iterations (one V-cycle and one operator application each).
    relative_residual
        ``‖b - A x‖ / ‖b‖`` of the returned ``x``, recomputed from ``x`` (not the recurrence).
    converged
        Whether ``relative_residual <= tol`` (a solve that does not converge raises instead).
    """

    iterations: int
    relative_residual: float
    converged: bool


class _Kernels:
    """The kernels of one implementation: compiled (parallel or on one thread) or NumPy."""

    def __init__(self, impl: str, parallel: bool = True) -> None:
        suffix = "_numpy" if impl == "numpy" else "" if parallel else "_serial"
        self.apply = getattr(km, "apply_operator" + suffix)
        self.residual = getattr(km, "residual" + suffix)
        self.smooth = getattr(km, "smooth_rb" + suffix)
        self.restrict = getattr(km, "restrict_sum" + suffix)
        self.prolong = getattr(km, "prolong_add" + suffix)
        self.dot = getattr(km, "dot" + suffix)
        self.update = getattr(km, "cg_update" + suffix)
        self.direction = getattr(km, "cg_direction" + suffix)
        self.coarsen = km.coarsen_operator if impl == "compiled" else km.coarsen_operator_numpy


@dataclass
class _Level:
    """Operator, masks and work arrays of one level (the level's shape, faces one longer)."""

    c0: np.ndarray
    c1: np.ndarray
    c2: np.ndarray
    d: np.ndarray
    fixed: np.ndarray  # uint8 kernel mask: prescribed or without any coupling (held at 0)
    prescribed: np.ndarray  # bool, the cells fixed by the caller (or by coarsening)
    u: np.ndarray
    f: np.ndarray
    r: np.ndarray
    k: _Kernels  # parallel on large levels, on one thread on small ones


def _check_faces(c0, c1, c2, shape) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    n0, n1, n2 = shape
    expected = ((n0 + 1, n1, n2), (n0, n1 + 1, n2), (n0, n1, n2 + 1))
    out = []
    for name, c, want in zip(("c0", "c1", "c2"), (c0, c1, c2), expected, strict=True):
        if np.shape(c) != want:
            raise ValueError(f"{name} has shape {np.shape(c)}, expected {want} for cells {shape}")
        out.append(np.ascontiguousarray(c, dtype=np.float64))
    return out[0], out[1], out[2]


def dirichlet_rhs(
    values: float | np.ndarray,
    fixed: np.ndarray,
    c0: np.ndarray,
    c1: np.ndarray,
    c2: np.ndarray,
    f: np.ndarray | None = None,
) -> np.ndarray:
    """Right-hand side of the homogeneous problem for prescribed values in the fixed cells.

    Parameters
    ----------
    values
        Prescribed values (units of ``u``), scalar or of the grid's shape; only the fixed cells
        are read.
    fixed
        Mask of the cells with prescribed values, shape ``(n0, n1, n2)``.
    c0, c1, c2
        Face conductances (see ``kernels/multigrid.py``).
    f
        Source term of the free cells (units of ``c`` times ``u``); None for none.

    Returns
    -------
    ``b_c = f_c + sum over the fixed neighbours n of c of c_f values_n`` in the free cells and 0
    in the fixed ones (float64). The full solution is the homogeneous solution plus ``values`` in
    the fixed cells.
    """
    fixed = np.asarray(fixed) != 0
    shape = fixed.shape
    c0, c1, c2 = _check_faces(c0, c1, c2, shape)
    v = np.where(fixed, np.broadcast_to(np.asarray(values, np.float64), shape), 0.0)
    # with no cell masked and v = 0 in the free cells, (A v)_c = -sum_n c_f v_n there
    av = np.empty(shape)
    km.apply_operator(v, c0, c1, c2, np.zeros(shape), np.zeros(shape, np.uint8), av)
    b = -av if f is None else np.broadcast_to(np.asarray(f, np.float64), shape) - av
    b[fixed] = 0.0
    return b


def _diagonal(c0: np.ndarray, c1: np.ndarray, c2: np.ndarray, d: np.ndarray) -> np.ndarray:
    """Sum of the six faces of every cell plus ``d``."""
    return c0[:-1] + c0[1:] + c1[:, :-1] + c1[:, 1:] + c2[:, :, :-1] + c2[:, :, 1:] + d


def _assemble(level: _Level) -> tuple[scipy.sparse.csr_matrix, np.ndarray]:
    """Sparse matrix of a level over its free cells, and the flat indices of those cells."""
    shape = level.d.shape
    free = level.fixed.ravel() == 0
    index = np.full(free.size, -1)
    cells = np.flatnonzero(free)
    index[cells] = np.arange(cells.size)
    index = index.reshape(shape)
    diag = _diagonal(level.c0, level.c1, level.c2, level.d).ravel()[cells]
    rows = [np.arange(cells.size)]
    cols = [np.arange(cells.size)]
    vals = [diag]
    for axis, c in enumerate((level.c0, level.c1, level.c2)):
        lo = [slice(None)] * 3
        hi = [slice(None)] * 3
        inner = [slice(None)] * 3
        lo[axis] = slice(None, -1)
        hi[axis] = slice(1, None)
        inner[axis] = slice(1, -1)
        a = index[tuple(lo)].ravel()
        b = index[tuple(hi)].ravel()
        w = c[tuple(inner)].ravel()
        both = (a >= 0) & (b >= 0) & (w != 0.0)
        rows += [a[both], b[both]]
        cols += [b[both], a[both]]
        vals += [-w[both], -w[both]]
    n = cells.size
    matrix = scipy.sparse.csr_matrix(
        (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(n, n)
    )
    return matrix, cells


class _CoarseSolver:
    """Direct solve of the coarsest level on its free cells (sparse LU, factorised once).

    A singular coarse matrix (a floating island: free cells coupled to nothing held, no boundary
    face, no ``d``) would make LU pivot on round-off; the dense pseudo-inverse replaces it then.
    """

    def __init__(self, level: _Level) -> None:
        matrix, self.cells = _assemble(level)
        self.lu = None
        self.pinv = None
        if self.cells.size == 0:
            return
        try:
            lu = scipy.sparse.linalg.splu(matrix.tocsc())
            pivots = np.abs(lu.U.diagonal())
            if pivots.min() > PINV_RCOND * pivots.max():
                self.lu = lu
        except RuntimeError:  # exactly singular
            pass
        if self.lu is None:
            self.pinv = scipy.linalg.pinvh(matrix.toarray(), rtol=PINV_RCOND)

    def solve(self, f: np.ndarray, u: np.ndarray) -> None:
        """``u = A⁻¹ f`` on the free cells, 0 on the fixed ones."""
        u[...] = 0.0
        if self.cells.size == 0:
            return
        rhs = f.ravel()[self.cells]
        sol = self.lu.solve(rhs) if self.lu is not None else self.pinv @ rhs
        u.ravel()[self.cells] = sol


class MultigridPCG:
    """Multigrid-preconditioned conjugate gradients for one operator (see the module docstring).

    Parameters
    ----------
    c0, c1, c2
        Face conductances, shapes ``(n0 + 1, n1, n2)``, ``(n0, n1 + 1, n2)``, ``(n0, n1, n2 + 1)``,
        ``>= 0`` (e.g. S for the electric problem); the boundary faces couple to a 0 outside.
    d
        Extra diagonal ``>= 0`` of shape ``(n0, n1, n2)`` (same units as the faces), or None.
    fixed
        Mask of the cells with prescribed values (not unknowns).
    impl
        ``"compiled"`` (numba kernels) or ``"numpy"`` (reference implementation, slow).
    sweeps
        Red–black sweep pairs before and after the coarse correction: 2 is a V(2,2) cycle, 1 a
        V(1,1) cycle.
    coarsening
        How fixed cells coarsen: ``"all"`` or ``"any"`` (see the module docstring).
    """

    def __init__(
        self,
        c0: np.ndarray,
        c1: np.ndarray,
        c2: np.ndarray,
        d: np.ndarray | None,
        fixed: np.ndarray,
        *,
        impl: Literal["compiled", "numpy"] = "compiled",
        sweeps: int = 2,
        coarsening: Literal["all", "any"] = "all",
    ) -> None:
        if impl not in ("compiled", "numpy"):
            raise ValueError(f"impl must be 'compiled' or 'numpy', got {impl!r}")
        if coarsening not in ("all", "any"):
            raise ValueError(f"coarsening must be 'all' or 'any', got {coarsening!r}")
        if int(sweeps) != sweeps or sweeps < 1:
            raise ValueError(f"sweeps must be a positive integer, got {sweeps!r}")
        self.impl = impl
        self.sweeps = int(sweeps)
        self.coarsening = coarsening
        self._kernels = {p: _Kernels(impl, parallel=p) for p in (False, True)}
        shape = tuple(int(n) for n in np.shape(fixed))
        if len(shape) != 3 or min(shape, default=0) < 1:
            raise ValueError(f"fixed must be a non-empty 3-D mask, got shape {shape}")
        c0, c1, c2 = _check_faces(c0, c1, c2, shape)
        d = np.zeros(shape) if d is None else np.ascontiguousarray(d, dtype=np.float64)
        if d.shape != shape:
            raise ValueError(f"d has shape {d.shape}, expected {shape}")
        for name, a in (("c0", c0), ("c1", c1), ("c2", c2), ("d", d)):
            # the sum is finite only without inf and NaN; the minimum is NaN with a NaN
            if not (math.isfinite(float(a.sum())) and float(a.min()) >= 0.0):
                raise ValueError(f"{name} must be finite and non-negative")
        self.shape = shape
        prescribed = np.asarray(fixed) != 0
        self.levels = [self._level(c0, c1, c2, d, prescribed)]
        while not self._is_coarsest(self.levels[-1].d.shape):
            self.levels.append(self._coarsen(self.levels[-1]))
        self._coarse = _CoarseSolver(self.levels[-1])
        self._r = np.empty(shape)  # CG's residual (levels[0].r is the V-cycle's scratch)
        self._z = np.empty(shape)
        self._p = np.empty(shape)
        self._q = np.empty(shape)

    @staticmethod
    def _is_coarsest(shape: tuple[int, ...]) -> bool:
        return max(shape) <= COARSEST_SIZE or math.prod(shape) <= COARSEST_CELLS

    def _level(self, c0, c1, c2, d, prescribed) -> _Level:
        """A level whose kernel mask holds the prescribed cells and the uncoupled ones."""
        shape = d.shape
        held = prescribed | (_diagonal(c0, c1, c2, d) == 0.0)
        parallel = math.prod(shape) >= PARALLEL_CELLS
        return _Level(
            c0,
            c1,
            c2,
            d,
            np.ascontiguousarray(held, dtype=np.uint8),
            np.ascontiguousarray(prescribed),
            np.empty(shape),  # work arrays: every use writes them before reading
            np.empty(shape),
            np.empty(shape),
            self._kernels[parallel],
        )

    def _coarsen(self, fine: _Level) -> _Level:
        """The next coarser level (see the module docstring)."""
        n0, n1, n2 = fine.d.shape
        m0, m1, m2 = (n0 + 1) // 2, (n1 + 1) // 2, (n2 + 1) // 2
        c0 = np.empty((m0 + 1, m1, m2))
        c1 = np.empty((m0, m1 + 1, m2))
        c2 = np.empty((m0, m1, m2 + 1))
        d = np.empty((m0, m1, m2))
        fold = int(self.coarsening == "all")
        fine.k.coarsen(fine.c0, fine.c1, fine.c2, fine.d, fine.fixed, fold, c0, c1, c2, d)
        # children counted by restriction: held if no child is free ("all"), or if any child was
        # prescribed ("any")
        count = np.empty((m0, m1, m2))
        if fold:
            fine.k.restrict((fine.fixed == 0).astype(np.float64), count)
            prescribed = count == 0.0
        else:
            fine.k.restrict(fine.prescribed.astype(np.float64), count)
            prescribed = count > 0.0
        return self._level(c0, c1, c2, d, prescribed)

    def update_fine(self) -> None:
        """Take up new values of the finest level's faces (changed in place by the caller).

        The coarse levels are kept: the V cycle still smooths the new operator and stays
        symmetric positive definite, so CG converges to the new solution, a little slower the
        further the coefficients have moved from those the hierarchy was built for. Rebuilding
        the hierarchy (a new instance) costs more than the few iterations this saves while the
        coefficients change slowly.
        """
        fine = self.levels[0]
        self.levels[0] = self._level(fine.c0, fine.c1, fine.c2, fine.d, fine.prescribed)

    @property
    def fixed(self) -> np.ndarray:
        """Cells held at 0 by the solver: the given fixed cells and the isolated ones (uint8)."""
        return self.levels[0].fixed

    def apply(self, u: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """``A u`` on the free cells, 0 on the fixed ones (float64)."""
        lev = self.levels[0]
        out = np.empty(self.shape) if out is None else out
        u = np.ascontiguousarray(u, dtype=np.float64)
        lev.k.apply(u, lev.c0, lev.c1, lev.c2, lev.d, lev.fixed, out)
        return out

    def dot(self, a: np.ndarray, b: np.ndarray) -> float:
        """``a · b`` of two grid-shaped float64 arrays, on the finest level's kernel threads (not
        BLAS: see the module docstring)."""
        return float(self.levels[0].k.dot(a, b))

    def vcycle(self, f: np.ndarray, u: np.ndarray, level: int = 0) -> None:
        """One V cycle from ``u = 0`` for ``A u = f`` on ``level``; ``f`` 0 in fixed cells."""
        if level == len(self.levels) - 1:
            self._coarse.solve(f, u)
            return
        lev = self.levels[level]
        k = lev.k
        ops = (lev.c0, lev.c1, lev.c2, lev.d, lev.fixed)
        u[...] = 0.0
        for _ in range(self.sweeps):
            k.smooth(u, f, *ops, 0)
            k.smooth(u, f, *ops, 1)
        k.residual(u, f, *ops, lev.r)
        coarse = self.levels[level + 1]
        k.restrict(lev.r, coarse.f)
        self.vcycle(coarse.f, coarse.u, level + 1)
        k.prolong(coarse.u, u, lev.fixed)
        for _ in range(self.sweeps):
            k.smooth(u, f, *ops, 1)
            k.smooth(u, f, *ops, 0)

    def solve(
        self,
        b: np.ndarray,
        x0: np.ndarray | None = None,
        tol: float = 1e-8,
        maxiter: int = 100,
    ) -> tuple[np.ndarray, SolveInfo]:
        """Solve ``A x = b`` on the free cells by preconditioned CG (float64).

        Parameters
        ----------
        b
            Right-hand side (units of the faces times ``x``), e.g. from :func:`dirichlet_rhs`;
            its values in fixed (and isolated) cells are ignored.
        x0
            Starting guess, e.g. the solution before a small change of the coefficients; its
            values in fixed cells are ignored. None starts from 0.
        tol
            Relative residual ``‖b - A x‖ / ‖b‖`` to reach.
        maxiter
            Most CG iterations.

        Returns
        -------
        The solution (0 in fixed and isolated cells) and a :class:`SolveInfo`.

        Raises
        ------
        NumericalError
            If ``tol`` is not reached in ``maxiter`` iterations, or the iteration breaks down.
        """
        lev = self.levels[0]
        ops = (lev.c0, lev.c1, lev.c2, lev.d, lev.fixed)
        free = lev.fixed == 0
        b = np.where(free, np.broadcast_to(np.asarray(b, np.float64), self.shape), 0.0)
        b_norm = math.sqrt(self.dot(b, b))
        if not math.isfinite(b_norm):
            raise NumericalError("right-hand side is not finite", field="b")
        x = np.zeros(self.shape)
        if b_norm == 0.0:
            return x, SolveInfo(0, 0.0, True)
        r = self._r
        if x0 is None:
            r[...] = b
            rr = b_norm**2
        else:
            x[...] = np.where(free, np.broadcast_to(np.asarray(x0, np.float64), self.shape), 0.0)
            rr = lev.k.residual(x, b, *ops, r)
        k = lev.k
        z, p, q = self._z, self._p, self._q
        iterations = 0
        rel = math.sqrt(rr) / b_norm
        rz_old = 0.0
        restart = True
        while rel > tol:
            if iterations >= maxiter:
                raise NumericalError(
                    f"multigrid-preconditioned CG did not reach the relative residual {tol:g} "
                    f"in {maxiter} iterations (reached {rel:.3g})",
                    step=iterations,
                    field="potential",
                )
            self.vcycle(r, z)
            rz = k.dot(r, z)
            if restart:
                p[...] = z
                restart = False
            else:
                k.direction(p, z, rz / rz_old)
            rz_old = rz
            k.apply(p, *ops, q)
            pq = k.dot(p, q)
            if not (pq > 0.0 and rz > 0.0 and math.isfinite(pq)):
                raise NumericalError(
                    f"CG broke down (p·Ap = {pq:.3g}, r·z = {rz:.3g}); is the operator positive?",
                    step=iterations,
                    field="potential",
                )
            rel = math.sqrt(k.update(x, r, p, q, rz / pq)) / b_norm
            iterations += 1
            if rel <= tol:
                # confirm with the true residual; restart from it if the recurrence drifted
                rel = math.sqrt(k.residual(x, b, *ops, r)) / b_norm
                restart = True
        return x, SolveInfo(iterations, rel, True)
