"""Transport of an injected agent in the interstitial fluid of tissue, with a mass ledger.

The agent's concentration ``c`` (mol per m³ of interstitial fluid) obeys

    ∂(φc)/∂t + ∇·(u c) = ∇·(φ D ∇c) − φ k c Θ − φ λ c + s

with ``φ`` the fluid volume fraction, ``u`` the Darcy flux of an infusion (steady, or changing from
step to step in a tissue that stores fluid: then ``φ`` itself changes, by the fluid each voxel
stores, and the flux of a step balances the infusion less that change; see
:meth:`AgentTransport.set_flow`), ``D`` the diffusivity, ``k`` the rate constant of the reaction
with the tissue's demand ``Θ`` (mol of agent the tissue can still consume, per m³ of fluid), ``λ``
the washout rate by perfusion (1/s) and ``s`` the agent infused. The steps are split: advection by
the implicit upwind sweep in pressure order (any time step), explicit diffusion (sub-stepped to
stability, closed box faces), the exact second-order reaction step and exact exponential washout,
all from :mod:`tissuefate.kernels.transport`. A second field, the injectate fraction of the fluid,
is advected alongside (source 1 per unit of infused liquid): it locates the injected liquid.

Every mole is accounted for: ``injected = in tissue + consumed + washed out + out of the box``
to round-off (the caller adds what leaked before entering the tissue). All work is confined to
the block of voxels the agent has reached, grown as it spreads; agent more dilute than
``NEGLIGIBLE`` times the injectate outside the block is taken off the grid into the ledger's
``dispersed`` amount, still counted as in the tissue.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np

from ..grid.grid import Grid
from ..kernels import transport as kt

__all__ = ["AgentLedger", "AgentTransport"]

DIFFUSION_SAFETY = 0.9  # fraction of the explicit stability limit used by a diffusion sub-step
TINY_VOLUME = 1e-15  # m³ (1 pL): a voxel holding less injectate (or the agent of that much
# injectate) passes none on in an advection step
GROWTH = 2.0  # factor by which the swept region widens when the flow outside it is too fast
NEGLIGIBLE = 1e-6  # of the injectate concentration: agent this dilute stays out of the block


@dataclass
class AgentLedger:
    """Amounts of agent in mol since the start of the session."""

    injected: float = 0.0
    consumed: float = 0.0
    washed_out: float = 0.0
    out_of_box: float = 0.0
    dispersed: float = 0.0  # left in voxels below the negligible concentration (still in tissue)

    def as_dict(self) -> dict[str, float]:
        return {
            "injected": self.injected,
            "consumed": self.consumed,
            "washed_out": self.washed_out,
            "out_of_box": self.out_of_box,
            "dispersed": self.dispersed,
        }


class AgentTransport:
    """Agent concentration and injectate fraction on a grid, advanced by :meth:`step`.

    Parameters
    ----------
    grid
        The voxel grid.
    fluid_fraction
        φ, the interstitial fluid volume fraction (``0 < φ <= 1``).
    diffusivity
        D in m²/s (0 blocks diffusion, e.g. in large vessels).
    reaction_rate
        k in m³/mol/s.
    demand
        Θ0 in mol of agent per m³ of *tissue* (converted to per m³ of fluid internally).
    washout_rate
        λ in 1/s.
    impl
        ``"compiled"`` or ``"numpy"``.
    """

    def __init__(
        self,
        grid: Grid,
        fluid_fraction: np.ndarray,
        diffusivity: np.ndarray | float,
        reaction_rate: np.ndarray | float,
        demand: np.ndarray | float,
        washout_rate: np.ndarray | float,
        *,
        impl: Literal["compiled", "numpy"] = "compiled",
    ) -> None:
        shape = grid.shape
        phi = np.broadcast_to(np.asarray(fluid_fraction, np.float64), shape).copy()
        if not (np.all(phi > 0) and np.all(phi <= 1)):
            raise ValueError("the fluid fraction must lie in (0, 1]")
        self.grid = grid
        self.impl = impl
        self.phi = phi
        self.cap = phi * grid.voxel_volume  # m³ of fluid per voxel
        self._cap_pad = np.pad(phi, 1, constant_values=1.0)
        d = np.broadcast_to(np.asarray(diffusivity, np.float64), shape)
        self._d_pad = np.pad(phi * d, 1)  # face conductance φD; ghosts 0: closed faces
        self.d_max = float(d.max())
        self.k = np.broadcast_to(np.asarray(reaction_rate, np.float64), shape).copy()
        self.theta0 = np.broadcast_to(np.asarray(demand, np.float64), shape) / phi
        self.theta = self.theta0.copy()
        self.washout = np.broadcast_to(np.asarray(washout_rate, np.float64), shape).copy()
        self._c_pad = np.zeros(tuple(n + 2 for n in shape))
        self._out_pad = np.zeros_like(self._c_pad)
        self.c = self._c_pad[1:-1, 1:-1, 1:-1]
        self.injectate = np.zeros(shape)
        self.ledger = AgentLedger()
        self._flow: tuple | None = None
        self._capacity: np.ndarray | None = None  # fluid volumes after the next step (storage)
        self._delta: np.ndarray | None = None  # scratch of the explicit advection
        self.wetted: tuple[slice, slice, slice] | None = None  # where injectate can be
        self._floor = 0.0  # mol/m³: below this the agent does not widen the working block
        self._swept = (slice(None),) * 3
        self.block: tuple[slice, slice, slice] | None = None  # where the agent is
        self.reached: tuple[slice, slice, slice] | None = None  # where it has ever been
        self.time = 0.0

    # ------------------------------------------------------------------ flow
    def set_flow(
        self,
        faces: tuple[np.ndarray, np.ndarray, np.ndarray],
        pressure: np.ndarray,
        infusion: np.ndarray,
        concentration: float,
        reach: float | None = None,
        capacity: np.ndarray | None = None,
    ) -> None:
        """Advect with the face fluxes ``faces`` (m³/s) of ``pressure`` (Pa) from now on, with
        ``infusion`` (m³/s of liquid entering each voxel) at agent ``concentration`` (mol/m³).

        ``reach`` (m³ of fluid) limits the advection to the highest-pressure voxels holding that
        much fluid (None: the whole grid): agent beyond them, where the flow is slow, stays put.
        ``capacity`` (m³ of fluid per voxel, grid shape) is what each voxel holds at the end of
        the next step, for a tissue that stores fluid (one backward-Euler pressure step, whose
        fluxes balance ``infusion − (capacity − now)/dt``); the amounts of agent and of tissue
        demand in a voxel are kept as its fluid volume changes. None: a steady flow.
        """
        if self.impl != "compiled":
            reach = None  # the reference solves the whole grid
        self._pressure = np.asarray(pressure, np.float64).ravel()
        fluid = np.asarray(infusion, np.float64)
        faces64 = tuple(np.asarray(f, np.float64) for f in faces)
        self._flow = (*faces64, fluid, concentration)
        self._capacity = None if capacity is None else np.asarray(capacity, np.float64)
        self._region(reach)
        self._floor = max(self._floor, NEGLIGIBLE * concentration)
        self._grow(np.nonzero(fluid))

    def _region(self, reach: float | None) -> None:
        """Sweep the highest-pressure voxels holding ``reach`` m³ of fluid (all if None).

        The sweep works on the block of those voxels and one ring around them (``_swept``), the
        voxels they can spill into, with the flow, the capacities and the flat indices taken to
        that block once here.
        """
        order = self._ranking(reach)
        if reach is not None:
            held = np.cumsum(self.cap.ravel()[order])
            order = order[: int(np.searchsorted(held, reach)) + 1]
        self._reach = None if reach is None or order.size == self._pressure.size else reach
        cells = np.unravel_index(order, self.grid.shape)
        swept = tuple(
            slice(max(int(w.min()) - 1, 0), min(int(w.max()) + 2, n))
            for w, n in zip(cells, self.grid.shape, strict=True)
        )
        shape = tuple(s.stop - s.start for s in swept)
        local = tuple(w - s.start for w, s in zip(cells, swept, strict=True))
        inside = np.zeros(shape, np.uint8)
        inside[local] = 1
        f0, f1, f2, fluid, conc = self._flow  # type: ignore[misc]
        s0, s1, s2 = swept
        faces = (
            np.ascontiguousarray(f0[s0.start : s0.stop + 1, s1, s2]),
            np.ascontiguousarray(f1[s0, s1.start : s1.stop + 1, s2]),
            np.ascontiguousarray(f2[s0, s1, s2.start : s2.stop + 1]),
        )
        sources = np.stack([fluid[swept] * conc, fluid[swept]])
        self._swept = swept
        self.wetted = _union(self.wetted, swept)  # where injectate or agent can be
        self._sweep = (np.ravel_multi_index(local, shape), inside, *faces)
        self._sources = sources
        self._push = np.zeros((2, *shape))
        self._spilled = np.zeros(2)  # agent (mol) and liquid (m³) left beyond it since then
        self._inside = np.zeros(self.grid.shape, np.uint8)
        self._inside[cells] = 1

    def _ranking(self, reach: float | None) -> np.ndarray:
        """Flat indices by decreasing pressure: all voxels, or (``reach`` m³) the highest ones,
        enough of them to hold ``reach`` of fluid (each holds at least the smallest capacity),
        found by a partition before the sort."""
        p = self._pressure
        n = p.size
        if reach is not None:
            smallest = float(self.cap.min())
            k = n if smallest <= 0 else min(n, int(reach / smallest) + 2)
            if k < n:
                top = np.argpartition(-p, k - 1)[:k]
                return top[np.argsort(-p[top], kind="stable")]
        return np.argsort(-p, kind="stable")

    def set_capacity(self, capacity: np.ndarray) -> None:
        """The fluid volumes (m³ per voxel) at the end of the next step, under the flow already
        set (the next part of one pressure step of a storing tissue; see :meth:`set_flow`)."""
        if self._flow is None:
            raise ValueError("set_capacity needs a flow (set_flow)")
        self._capacity = np.asarray(capacity, np.float64)

    @property
    def flowing(self) -> bool:
        """Whether an infusion flow is set."""
        return self._flow is not None

    def stop_flow(self) -> None:
        """No advection from now on (the infusion has ended)."""
        self._flow = None

    # ------------------------------------------------------------------ stepping
    def max_diffusion_dt(self) -> float:
        """Largest stable explicit diffusion step (s)."""
        if self.d_max <= 0:
            return math.inf
        return DIFFUSION_SAFETY * self.grid.spacing**2 / (6.0 * self.d_max)

    def step(self, dt: float) -> None:
        """Advance ``dt`` s: advection (if a flow is set), diffusion, reaction, washout."""
        if self._flow is not None:
            self._advect(dt)
        if self.block is None:
            self.time += dt
            return
        n_sub = max(1, math.ceil(dt / self.max_diffusion_dt()))
        for _ in range(n_sub):
            self._diffuse(dt / n_sub)
        blk = self.block
        rows = np.zeros(self.c[blk].shape[0])
        c = self.c[blk]
        if np.any(self.k[blk] > 0):
            react = kt.react_step if self.impl == "compiled" else kt.react_step_numpy
            theta = self.theta[blk]
            react(c, theta, self.k[blk], self.cap[blk], dt, rows)
            self.ledger.consumed += float(rows.sum())
        decay = kt.decay_step if self.impl == "compiled" else kt.decay_step_numpy
        decay(c, self.washout[blk], self.cap[blk], dt, rows)
        self.ledger.washed_out += float(rows.sum())
        self.time += dt
        before = self.block
        self._fit()
        self._disperse(before)

    def _advect(self, dt: float) -> None:
        """One advection step: explicit upwind for the agent outside the swept region, where
        the flow is slow (its Courant number at most 1, else the region widens), and the exact
        implicit sweep inside it."""
        _, _, _, fluid, conc = self._flow  # type: ignore[misc]
        tiny = np.array([TINY_VOLUME * conc, TINY_VOLUME])
        out = np.zeros(2)
        while self._outside(dt, out) > 1.0 and self._reach is not None:
            self._region(GROWTH * self._reach)  # too fast outside: widen the implicit region
            out[:] = 0.0
        sweep = kt.upwind_sweep if self.impl == "compiled" else kt.upwind_sweep_numpy
        swept = self._swept
        fields = np.stack([self.c[swept], self.injectate[swept]])
        cap = np.ascontiguousarray(self.cap[swept])
        new = cap if self._capacity is None else np.ascontiguousarray(self._capacity[swept])
        sweep(*self._sweep, cap, new, fields, self._sources, dt, self._push, tiny, self._spilled,
              out)  # fmt: skip
        self.c[swept] = fields[0]
        self.injectate[swept] = fields[1]
        if self._capacity is not None:
            self._store(self._capacity)
        self.ledger.injected += float(fluid.sum()) * conc * dt
        self.ledger.out_of_box += float(out[0])
        where = np.nonzero(fields[0] > self._floor)
        self._grow(tuple(w + s.start for w, s in zip(where, swept, strict=True)))
        self._disperse(swept)

    def _store(self, capacity: np.ndarray) -> None:
        """Take the fluid volumes ``capacity`` (m³) after a step of a storing tissue: the swept
        region is already at them; elsewhere the amounts of agent, injectate and demand in each
        voxel are kept (what reached it this step arrived at its old volume)."""
        ratio = self.cap / capacity
        box = self.wetted  # agent and injectate are nowhere else
        if box is not None:
            keep = self._inside[box] == 0
            for field in (self.c[box], self.injectate[box]):
                field[keep] *= ratio[box][keep]
        self.theta *= ratio
        self.theta0 *= ratio
        self.washout *= ratio
        self.cap = capacity.copy()
        self._cap_pad[1:-1, 1:-1, 1:-1] = capacity / self.grid.voxel_volume
        self._capacity = None

    def _outside(self, dt: float, out: np.ndarray) -> float:
        """Move the agent and injectate outside the swept region one explicit upwind step;
        returns the largest Courant number there (nothing is moved if it exceeds 1)."""
        box = self.wetted
        if box is None or self._reach is None:
            return 0.0
        f0, f1, f2, _, _ = self._flow  # type: ignore[misc]
        if self._delta is None:
            self._delta = np.zeros((2, *self.grid.shape))
        explicit = kt.upwind_explicit if self.impl == "compiled" else kt.upwind_explicit_numpy
        bounds = np.array([v for s in box for v in (s.start, s.stop)], np.int64)
        moved = np.zeros(2)
        worst = explicit(bounds, self._inside, f0, f1, f2, self.cap, self.c, self.injectate,
                         dt, self._delta, moved)  # fmt: skip
        ring = tuple(slice(max(s.start - 1, 0), min(s.stop + 1, n))
                     for s, n in zip(box, self.grid.shape, strict=True))  # fmt: skip
        delta = self._delta[(slice(None), *ring)]
        if worst <= 1.0:
            cap = self.cap[ring]
            self.c[ring] += delta[0] / cap
            self.injectate[ring] += delta[1] / cap
            out += moved
            where = np.nonzero(self.c[ring] > self._floor)
            self._grow(tuple(w + s.start for w, s in zip(where, ring, strict=True)))
            self._disperse(ring)
        delta[...] = 0.0
        return worst

    def _diffuse(self, dt: float) -> None:
        # grow first: the voxels the agent can reach in this sub-step are then inside the block,
        # and its ghost ring holds none (so nothing flows to voxels left un-updated)
        self._grow_by(1)
        blk = self.block
        assert blk is not None
        pad = tuple(slice(s.start, s.stop + 2) for s in blk)  # the block and its ghost ring
        diffuse = kt.diffuse_step if self.impl == "compiled" else kt.diffuse_step_numpy
        c, out = self._c_pad[pad], self._out_pad[pad]
        hold = np.zeros(tuple(n - 2 for n in c.shape), np.uint8)
        inflow = np.zeros(hold.shape[0])
        a = dt / self.grid.spacing**2
        diffuse(c, self._d_pad[pad], self._cap_pad[pad], hold, out, a, inflow)
        inner = (slice(1, -1),) * 3
        c[inner] = out[inner]

    # ------------------------------------------------------------------ blocks
    def _grow(self, where: tuple[np.ndarray, ...]) -> None:
        if where[0].size == 0:
            return
        lo = [int(w.min()) for w in where]
        hi = [int(w.max()) + 1 for w in where]
        if self.block is not None:
            lo = [min(a, s.start) for a, s in zip(lo, self.block, strict=True)]
            hi = [max(a, s.stop) for a, s in zip(hi, self.block, strict=True)]
        self.block = tuple(slice(a, b) for a, b in zip(lo, hi, strict=True))  # type: ignore[assignment]
        self._mark_reached()

    def _grow_by(self, n: int) -> None:
        assert self.block is not None
        shape = self.grid.shape
        self.block = tuple(  # type: ignore[assignment]
            slice(max(s.start - n, 0), min(s.stop + n, m))
            for s, m in zip(self.block, shape, strict=True)
        )
        self._mark_reached()

    def _fit(self) -> None:
        """Shrink the block to the voxels holding more than the negligible concentration."""
        assert self.block is not None
        where = np.nonzero(self.c[self.block] > self._floor)
        if where[0].size == 0:
            self.block = None
            return
        self.block = tuple(  # type: ignore[assignment]
            slice(s.start + int(w.min()), s.start + int(w.max()) + 1)
            for s, w in zip(self.block, where, strict=True)
        )

    def _disperse(self, extent: tuple[slice, slice, slice] | None) -> None:
        """Move the agent in ``extent`` but outside the block (all of it below the negligible
        concentration) to the ledger's ``dispersed`` amount, so that every voxel outside the
        block holds none and the block's diffusion exchanges nothing with it."""
        if extent is None:
            return
        c = self.c[extent]
        keep = np.zeros(c.shape, bool)
        if self.block is not None:
            inner = tuple(
                slice(max(b.start - e.start, 0), max(min(b.stop, e.stop) - e.start, 0))
                for b, e in zip(self.block, extent, strict=True)
            )
            keep[inner] = True
        gone = (c > 0) & ~keep
        if gone.any():
            self.ledger.dispersed += float((c[gone] * self.cap[extent][gone]).sum())
            c[gone] = 0.0

    def _mark_reached(self) -> None:
        self.reached = _union(self.reached, self.block)
        self.wetted = _union(self.wetted, self.block)

    # ------------------------------------------------------------------ totals
    def amount(self) -> float:
        """Agent in the tissue now (mol), the dispersed remnant included."""
        return float((self.c * self.cap).sum()) + self.ledger.dispersed

    def balance_residual(self) -> float:
        """``(injected − in tissue − consumed − washed out − out of box) / injected``."""
        led = self.ledger
        if led.injected <= 0:
            return 0.0
        rest = self.amount() + led.consumed + led.washed_out + led.out_of_box
        return (led.injected - rest) / led.injected

    def consumed_fraction(self) -> np.ndarray:
        """Fraction of each voxel's demand consumed so far (0 where it had none)."""
        with np.errstate(divide="ignore", invalid="ignore"):
            f = np.where(self.theta0 > 0, 1.0 - self.theta / self.theta0, 0.0)
        return np.clip(f, 0.0, 1.0)


def _union(
    a: tuple[slice, slice, slice] | None, b: tuple[slice, slice, slice] | None
) -> tuple[slice, slice, slice] | None:
    """The bounding box of two boxes (either may be None)."""
    if a is None or b is None:
        return a or b
    return tuple(  # type: ignore[return-value]
        slice(min(x.start, y.start), max(x.stop, y.stop)) for x, y in zip(a, b, strict=True)
    )
