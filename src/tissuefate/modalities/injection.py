"""Intratumoral injection: infusion by Darcy flow, agent transport and consumption, kill.

A session infuses each site's volume at its rate, one site after another (``sequential``) or all
at once, then follows the tissue for ``observe``. During an infusion the pressure of the sites
is solved on the grid (:class:`~tissuefate.physics.darcy.DarcySolver`, permeability from the
state, viscosity mixed between injectate and interstitial fluid by the injectate fraction) and
the agent is advected by the Darcy flux (:class:`~tissuefate.physics.transport.AgentTransport`).
The grid's faces open onto unbounded tissue (the far field), so the flow does not depend on where
the grid ends.

Tissue that stores fluid (a ``shear_modulus`` and ``drained_poisson_ratio`` in its preset,
:func:`~tissuefate.tissue.coefficients.specific_storage`) swells under the infusion's pressure:
the pressure is then advanced in time with the transport (backward-Euler steps of at most
``PRESSURE_DT``, each fed to the transport in parts), and the injectate collects in a depot
around the tip, whose fluid volume is the tissue's own plus what it stores. After the infusions
the depot relaxes: the flow goes on, carrying the injectate outwards, until the tissue where the
injectate is holds less than ``RELAXED`` of the infused volume, or no agent is left to move, and
then stops. Without storage the flow is steady while an infusion lasts and stops with it.

The pressure at the needle tip is the grid pressure there plus the part the grid cannot resolve:
``Qμ/K·(1/(4π r_needle) − G_self/h)``, where ``G_self`` is the grid's own pressure at a point
source spread over its 8 nearest voxels (:func:`grid_self_potential`).

Above the tissue's critical infusion pressure the tissue parts from the needle (the cracks of
PMC7295656): the tip takes only the flow that keeps it at that pressure and the rest flows back
along the needle track, in the gap it opens between shaft and tissue
(:class:`~tissuefate.physics.track.Track`, the lubrication-elastic model of Morrison et al. 1999
with the critical pressure as the track's closure stress; the tissue's shear modulus at the tip
sets the gap, the grid's pressure along the track the leak through its wall). The track's fluid
enters the tissue along its length (as sources every half voxel, carrying the agent there).
What is still in the gap where the track leaves the organ (a site's ``depth``; on a segmented
image without one, where the shaft leaves the organ mask) or the grid escapes, a share
``leak_vessel_fraction`` into vessels (systemic) and the rest out of the organ (lost); where the
track meets a large vessel first, all of it enters the vessel. A tissue without a shear modulus
has no elastic track: all the backflow escapes at once. Washed-out agent also reaches the
circulation, so ``systemic = washed out + leaked into vessels``.

The session's kill is the agent's own (:mod:`tissuefate.damage.agent`): it grows with
``observe`` only while agent is left to kill. The vessels it disrupts and occludes starve cells
afterwards; that ischaemic death (H6) is the repair model's (:mod:`tissuefate.biology.repair`),
so it is counted only in a course that follows the tissue after the session (a ``follow_up`` or
later sessions).
"""

from __future__ import annotations

import itertools
import math
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import ndimage

from ..damage.agent import AgentDamage
from ..grid.shapes import point_weights
from ..physics.darcy import DarcySolver
from ..physics.track import Track, wall_resistance
from ..physics.transport import AgentTransport
from ..scenario.models import InjectionSession
from ..tissue.coefficients import (
    agent_demand,
    extracellular_fraction,
    hydraulic_permeability,
    perfusion_rate,
    specific_storage,
)
from .agent import Agent, load_agent
from .base import SessionContext, SessionResult

__all__ = [
    "LATTICE_GREEN",
    "LEAK_TOLERANCE",
    "grid_self_potential",
    "hypotheses",
    "run_injection_session",
    "tip_pressure",
]

LATTICE_GREEN = (0.252731, 0.086064, 0.055192, 0.043578)
"""Lattice Green's function of the 7-point Laplacian (unit spacing, unit source) at offsets
(0,0,0), (1,0,0), (1,1,0), (1,1,1): Watson's 0.2527310, ``G(1,0,0) = G(0) − 1/6`` exactly, the
others by Richardson-extrapolated Brillouin-zone quadrature (128³ and 256³ points)."""
FLOW_DT = 5.0  # s: longest time step while liquid flows (the front moves < 0.2 voxel)
PRESSURE_DT = 10.0  # s: longest pressure step of a storing tissue while it infuses
OBSERVE_DT = 30.0  # s: longest time step after the infusions
RECORD_FLOW = 10.0  # s between time-series rows while liquid flows
RECORD_OBSERVE = 60.0  # s between rows after the infusions
FLOW_UPDATES = 4  # pressure solves per infusion segment when the viscosities differ
VISCOSITY_CONTRAST = 0.3  # relative viscosity difference above which the flow is re-solved
LEAK_TOLERANCE = 0.02  # relative excess of the critical pressure at which the flow is re-solved
UNDER_TOLERANCE = 0.1  # relative shortfall of the critical pressure, with the track open, at
# which the flow is re-solved
ATTEMPTS = 6  # solves at most per flow update: the tips' rates, then capped, then secant steps
# (the track's own sources change the grid's pressure at the tip)
REBUILD_STEPS = 6  # storing tissue: pressure steps between rebuilds for a changed viscosity
SOLVE_TOLERANCE = 1e-6
REACH = 3.0  # the advected region holds this many times the liquid infused until the next solve
WATER_DENSITY = 1000.0  # kg/m³
DISTRIBUTED = 0.5  # injectate fraction of the fluid that counts as "reached by the injectate"
RELAXED = 0.05  # share of the infused volume still stored where the injectate is (its fraction
# at least DISTRIBUTED) below which a depot's flow stops: the flow out of that region is what
# still moves the agent, and it can move it by no more than that share of the infused volume
RELAX_DT_GROWTH = 0.5  # after the infusions, pressure steps grow to this share of the time since
RELAX_DTS = (5.0, 10.0, 20.0, 30.0, 60.0)  # s: the lengths they take (each solver is built once)


@dataclass(frozen=True)
class _TrackPath:
    """Where a site's track runs and the gap model along it, fixed for a session: samples
    every half voxel from the tip back until the track leaves the grid (``z``, m; ``frac``,
    their continuous voxel indices, (3, n)), and the first point at which what is still in the
    gap escapes (``escape_at``, m: the organ's surface, the grid's edge or a large vessel)."""

    track: Track
    z: np.ndarray
    frac: np.ndarray
    escape_at: float
    into_vessel: bool


@dataclass
class _Site:
    tip: np.ndarray  # m
    rate: float  # m³/s
    start: float  # s
    end: float  # s
    back: np.ndarray  # unit vector from the tip back along the shaft
    depth: float | None = None  # m of needle in the organ (None: beyond the grid)
    peak_pressure: float = 0.0  # Pa
    leaked: float = 0.0  # m³ of liquid that escaped
    backflow: float = 0.0  # m³ of liquid that flowed back along the track
    backflow_rate: float = 0.0  # m³/s now
    escape_rate: float = 0.0  # m³/s now, of it out of the organ or into a vessel
    escape_into_vessel: bool = False
    track_length: float = 0.0  # m now
    peak_track_length: float = 0.0  # m
    track_sources: list[tuple[np.ndarray, float]] = field(default_factory=list)
    path: _TrackPath | None = None  # None: the tissue at the tip has no elastic track

    @property
    def elastic(self) -> bool:
        """The tissue at the tip has a shear modulus: its track is modelled."""
        return self.path is not None

    def close_track(self) -> None:
        """No flow back along the track now (the infusion has ended or not begun)."""
        self.backflow_rate = self.escape_rate = self.track_length = 0.0
        self.track_sources = []


def _next_rate(
    site: _Site, tried: list[tuple[float, float]], critical: float, grid: float, near: float
) -> float:
    """The tip's next rate (m³/s) towards the ``critical`` pressure (Pa), from the (rate, tip
    pressure) pairs ``tried``: the secant through the last two; after one, the tip pressure is
    the grid's (``grid``) plus the near field (``near`` per unit rate), and a track returns the
    fluid to the tissue around the tip, so the grid's part is taken to stay; without a track
    the fluid escapes and both parts fall with the rate."""
    (q, p) = tried[-1]
    if len(tried) >= 2 and abs(p - tried[-2][1]) > 1e-9 * critical:
        q0, p0 = tried[-2]
        guess = q + (critical - p) * (q - q0) / (p - p0)
    elif site.elastic and near > 0:
        guess = (critical - grid) / near
    else:
        guess = q * critical / p
    return min(site.rate, max(guess, 0.0))


def grid_self_potential(index: np.ndarray, weights: np.ndarray) -> float:
    """``Σ w_i w_j G(i − j)``: the grid pressure (times ``hK/(Qμ)``) that a unit point source
    spread with ``weights`` over the voxels ``index`` (int (n, 3), neighbours) puts on itself."""
    offsets = np.abs(index[:, None, :] - index[None, :, :]).sum(axis=2)
    return float(weights @ np.asarray(LATTICE_GREEN)[offsets] @ weights)


def tip_pressure(
    grid_pressure: float,
    rate: float,
    grid_mobility: float,
    tip_mobility: float,
    needle_radius: float,
    spacing: float,
    self_potential: float,
) -> float:
    """Pressure (Pa) at a needle tip of ``needle_radius`` (m) infusing ``rate`` (m³/s), from the
    grid's weighted pressure there.

    The grid's own near field (``Q/(K/μ)_grid · G_self/h``, with the mobility K/μ the grid had at
    the tip) is replaced by that of a sphere of the needle's radius filled with injectate,
    ``Q/(K/μ)_tip / (4π r)``.
    """
    near = 1.0 / (4.0 * math.pi * needle_radius * tip_mobility)
    return grid_pressure + rate * (near - self_potential / (spacing * grid_mobility))


def hypotheses(agent: Agent) -> dict[str, dict[str, Any]]:
    """The essay's hypotheses an agent preset switches on (DESIGN.md), with their parameters."""
    table = {
        "H3": (
            "reversible_vascular_fraction",
            agent.reversible_vascular_fraction > 0.5,
            "the agent stops bleeding without sealing vessels",
        ),
        "H4": ("fixation", agent.fixation < 0.5, "dead tissue is left as clearable debris"),
        "H5": (
            "immunogenicity",
            agent.immunogenicity < 1.0,
            "little inflammation, so little fibrosis",
        ),
        "H6": (
            "tumor_vessel_preference",
            agent.tumor_vessel_preference > 1.0,
            "tumour vessels are disrupted preferentially (then ischaemic death, in the repair "
            "model after the session)",
        ),
        "H7": (
            "tumor_sensitivity",
            agent.tumor_sensitivity > 1.0,
            "tumour cells are more vulnerable than normal cells",
        ),
        "H8": (
            "dehydration",
            agent.dehydration > 0.0,
            "the tissue shrinks by dehydration within hours",
        ),
    }
    return {
        key: {
            "active": bool(active),
            "parameter": name,
            "value": getattr(agent, name),
            "claim": claim,
        }
        for key, (name, active, claim) in table.items()
    }


class _Injection:
    """One injection session on a context (the loop and its bookkeeping)."""

    def __init__(self, ctx: SessionContext, session: InjectionSession, agent: Agent) -> None:
        self.ctx, self.session, self.agent = ctx, session, agent
        grid, tissue, anatomy, state = ctx.grid, ctx.tissue, ctx.anatomy, ctx.state
        body = tissue.body
        self.permeability = hydraulic_permeability(tissue, anatomy, state)
        phi = extracellular_fraction(tissue, anatomy, state).astype(np.float64)
        self.phi = phi
        tissue_voxels = ~anatomy.vessel
        demand = agent_demand(agent.demand_normal, agent.demand_tumor, anatomy, state)
        self.transport = AgentTransport(
            grid,
            phi,
            np.where(tissue_voxels, agent.diffusivity, 0.0),
            np.where(tissue_voxels, agent.reaction_rate_constant, 0.0),
            demand,
            self._washout(perfusion_rate(tissue, anatomy, state), phi),
            impl=ctx.impl,  # type: ignore[arg-type]
        )
        self.damage = AgentDamage(agent, state, ctx.impl)
        self.mu_fluid = body.interstitial_viscosity
        self.needle_radius = 0.5 * session.needle_diameter_m
        self.sites = self._sites()
        for site in self.sites:
            site.path = self._path(site)
        self.leak_track = 0.0  # mol
        self.leak_vessels = 0.0  # mol
        self.peak_injectate = np.zeros(grid.shape, np.float32)
        self.peak_concentration = np.zeros(grid.shape, np.float32)
        self.rows: list[dict[str, Any]] = []
        self.solves = 0
        self.solve_wall = 0.0
        self.steps = 0
        self._tumor0 = float(state.tumor.sum(dtype=np.float64))
        ml = grid.voxel_volume * 1e6
        self._tumor_volume0 = float(anatomy.tumor_fraction.sum(dtype=np.float64)) * ml
        self._water_volume = np.array(
            [m.water_mass_fraction * m.density / WATER_DENSITY for m in tissue.materials]
        )
        self._tip_pressure = 0.0
        self._rate_in = 0.0
        self._rate_leak = 0.0
        self._rate_back = 0.0
        self._taken: dict[int, float] = {}  # share of each site's rate the tissue took last
        self.storage = specific_storage(tissue, anatomy, state)  # 1/Pa
        self.transient = bool(self.storage.max() > 0)
        self._cap0 = self.transport.cap.copy()  # m³ of fluid per voxel at rest
        self._darcy: DarcySolver | None = None
        self._darcy_steps = 0
        # the injectate's viscosity differs enough from the tissue fluid's to re-solve the flow
        self._contrast = abs(agent.viscosity / self.mu_fluid - 1.0) > VISCOSITY_CONTRAST
        self._infused = 0.0  # m³ that entered the tissue so far
        self._segment_infused = 0.0  # m³ of it since the active sites last changed
        self._darcy_sites: list[int] = []
        self._relaxing = False
        self.peak_stored = 0.0  # m³
        self.relaxed_at: float | None = None  # s, when a depot's flow stopped

    def _washout(self, perfusion: np.ndarray, fluid_fraction: np.ndarray) -> np.ndarray:
        """λ (1/s) = ``washout_factor`` · ω_eff / φ: blood carries agent away in proportion to
        its flow and the concentration, so per amount the rate falls as a voxel swells."""
        return self.agent.washout_factor * perfusion / fluid_fraction

    def _sites(self) -> list[_Site]:
        s = self.session
        sites, t = [], 0.0
        for site, rate, duration in zip(
            s.sites, s.site_rates_m3_s, s.site_durations_s, strict=True
        ):
            start = t if s.order == "sequential" else 0.0
            back = -np.asarray(site.direction, float)
            back /= np.linalg.norm(back)
            tip = np.asarray(site.tip_m, float)
            depth = site.depth_m
            if depth is None:  # a segmented organ tells where the needle enters it
                depth = self._organ_depth(tip, back)
            sites.append(_Site(tip, rate, start, start + duration, back, depth))
            if s.order == "sequential":
                t += duration
        return sites

    def _organ_depth(self, tip: np.ndarray, back: np.ndarray) -> float | None:
        """Length (m) of the needle's path in the segmented organ, from the tip back along the
        shaft to the first point (every half voxel) whose voxel is outside the organ; None
        without an organ mask, or when the path stays in the organ to the grid's faces."""
        organ, grid = self.ctx.anatomy.organ, self.ctx.grid
        if organ is None:
            return None
        h, shape = grid.spacing, np.asarray(grid.shape)
        reach = float(np.linalg.norm(grid.size))
        z = np.arange(int(reach / (0.5 * h)) + 1) * 0.5 * h
        index = np.rint(grid.fractional_index(tip + z[:, None] * back[None, :])).astype(int)
        inside_grid = np.all((index >= 0) & (index < shape), axis=1)
        z, index = z[inside_grid], index[inside_grid]
        out = np.flatnonzero(~organ[index[:, 0], index[:, 1], index[:, 2]])
        return float(z[out[0]]) if out.size else None

    # ------------------------------------------------------------------ flow
    def _solve_flow(self, active: list[_Site], volume: float) -> None:
        """Pressure and fluxes of the ``active`` sites, which infuse ``volume`` (m³) before the
        next solve, with the leak above the critical pressure; sets the transport's flow."""
        tick = time.perf_counter()
        agent = self.agent
        darcy = self._solver(active)
        pressure, infusions = self._pressure(
            darcy, active, lambda inf, guess: darcy.solve(inf, SOLVE_TOLERANCE, guess)
        )
        fluid = darcy.source(infusions)
        # advect where this infusion's liquid can be, REACH times over
        reach = REACH * volume
        faces = darcy.face_fluxes(pressure)
        conc = agent.injectate_concentration
        self.transport.set_flow(faces, pressure, fluid, conc, reach)
        self.solve_wall += time.perf_counter() - tick

    def _solver(self, active: list[_Site]) -> DarcySolver:
        """A Darcy solver for the injectate present now (its viscosity mixed into the
        permeability), the far field centred on the ``active`` sites (all sites if none)."""
        grid, agent = self.ctx.grid, self.agent
        s = np.clip(self.transport.injectate, 0.0, 1.0)
        mu = self.mu_fluid ** (1.0 - s) * agent.viscosity**s
        self._k_eff = self.permeability * (self.mu_fluid / mu)
        centre = np.mean([site.tip for site in (active or self.sites)], axis=0)
        return DarcySolver(
            grid,
            self._k_eff,
            self.mu_fluid,
            open_faces="far_field",
            centre=centre,
            storage=self.storage if self.transient else None,
            impl=self.ctx.impl,  # type: ignore[arg-type]
        )

    def _pressure(
        self, darcy: DarcySolver, active: list[_Site], solve: Any
    ) -> tuple[np.ndarray, list[tuple[np.ndarray, float]]]:
        """Pressure of the ``active`` sites by ``solve(infusions, guess)``, the track opening above
        the critical pressure: a tip above it takes only the flow that keeps it there, the rest
        flows back along the track (:meth:`_track`), and it is solved again. Sets the rates,
        tip pressures, backflow and escape; returns (pressure, the infusions into the tissue:
        the tips' and the tracks')."""
        grid, agent = self.ctx.grid, self.agent
        critical = self.ctx.tissue.body.critical_infusion_pressure
        k_eff = self._k_eff
        # a storing tissue's tip pressure changes slowly: start from the last step's leak
        rates = [site.rate * self._taken.get(id(site), 1.0) for site in active]
        weights = [point_weights(grid, site.tip) for site in active]
        start = darcy.pressure.copy()
        infusing = {id(site) for site in active}
        for site in self.sites:
            if id(site) not in infusing:
                site.close_track()  # a finished infusion's track has closed
        for site, q in zip(active, rates, strict=True):
            self._track(site, site.rate - q, start)
        tips: list[float] = []
        tried: list[list[tuple[float, float]]] = [[] for _ in active]
        guess: np.ndarray | None = None
        for attempt in range(ATTEMPTS):
            darcy.pressure = start.copy()
            infusions = [(site.tip, q) for site, q in zip(active, rates, strict=True)]
            infusions += [src for site in active for src in site.track_sources]
            pressure, _ = solve(infusions, guess)
            guess = pressure  # a re-solve with other rates starts from this one
            self.solves += 1
            tips, grids, near = [], [], []
            for (idx, w), q in zip(weights, rates, strict=True):
                i, j, k = idx.T
                mobility = float(np.dot(w, k_eff[i, j, k])) / self.mu_fluid
                filled = float(np.dot(w, self.permeability[i, j, k])) / agent.viscosity
                g_self = grid_self_potential(idx, w)
                # the tip pressure is linear in its rate: the grid's plus the near field per rate
                grids.append(float(np.dot(w, pressure[i, j, k])))
                near.append(
                    tip_pressure(0.0, 1.0, mobility, filled, self.needle_radius, grid.spacing,
                                 g_self)
                )  # fmt: skip
                tips.append(grids[-1] + q * near[-1])
            # off the critical pressure: above it, or well below it with fluid going back the
            # track (a little below, the next step's tissue takes more: see _taken)
            off = [
                p > critical * (1 + LEAK_TOLERANCE)
                or (q < site.rate and p < critical * (1 - UNDER_TOLERANCE))
                for site, q, p in zip(active, rates, tips, strict=True)
            ]
            if attempt == ATTEMPTS - 1 or not any(off):
                break
            for n, (q, p) in enumerate(zip(rates, tips, strict=True)):
                tried[n].append((q, p))
            rates = [
                _next_rate(site, tried[n], critical, grids[n], near[n])
                for n, site in enumerate(active)
            ]
            for site, q in zip(active, rates, strict=True):
                self._track(site, site.rate - q, pressure)
        if self.transient:
            for site, q, p in zip(active, rates, tips, strict=True):
                below = p < critical * (1 - LEAK_TOLERANCE)
                # below the critical pressure the tissue takes a little more next step
                share = max(q / site.rate, 0.02) * 1.05 if below else q / site.rate
                self._taken[id(site)] = min(1.0, share)
        for site, p in zip(active, tips, strict=True):
            site.peak_pressure = max(site.peak_pressure, p)
        self._tip_pressure = max(tips, default=0.0)
        self._rate_leak = sum(site.escape_rate for site in active)
        self._rate_back = sum(site.backflow_rate for site in active)
        self._rate_in = sum(site.rate for site in active) - self._rate_leak
        return pressure, infusions

    def _path(self, site: _Site) -> _TrackPath | None:
        """Where ``site``'s track runs and its gap model (:class:`_TrackPath`); None where the
        tissue at the tip has no shear modulus (no elastic track)."""
        ctx, grid = self.ctx, self.ctx.grid
        h, shape = grid.spacing, np.asarray(grid.shape)
        voxel = tuple(np.clip(np.rint(grid.fractional_index(site.tip)).astype(int), 0, shape - 1))
        shear = ctx.tissue.materials[int(ctx.anatomy.material[voxel])].shear_modulus
        k = float(self.permeability[voxel])
        if not (shear is not None and shear > 0 and k > 0):
            return None
        upper = grid.lower + shape * h
        with np.errstate(divide="ignore"):
            ends = np.where(site.back > 0, upper - site.tip, grid.lower - site.tip) / site.back
        leaves_grid = float(np.min(ends[np.isfinite(ends)]))
        z = np.arange(int(leaves_grid / (0.5 * h)) + 1) * 0.5 * h
        frac = grid.fractional_index(site.tip + z[:, None] * site.back[None, :])
        # a vessel among the 8 voxels a source there would be spread over (point_weights)
        base = np.floor(frac).astype(int)
        vessel = np.zeros(len(z), bool)
        for corner in np.ndindex(2, 2, 2):
            c = np.clip(base + np.asarray(corner), 0, shape - 1)
            vessel |= ctx.anatomy.vessel[c[:, 0], c[:, 1], c[:, 2]]
        escapes = [(leaves_grid, False)]
        if site.depth is not None:
            escapes.append((site.depth, False))
        if vessel.any():
            escapes.append((float(z[vessel][0]), True))
        escape_at, into_vessel = min(escapes)
        r_c, mu = self.needle_radius, self.agent.viscosity
        track = Track(
            ctx.tissue.body.critical_infusion_pressure,
            float(shear),
            r_c,
            mu,
            wall_resistance(mu, k, r_c, r_c + h),
        )
        return _TrackPath(track, z, frac.T, escape_at, into_vessel)

    def _track(self, site: _Site, backflow: float, pressure: np.ndarray) -> None:
        """Open ``site``'s track to carry ``backflow`` (m³/s) back from its tip
        (:class:`~tissuefate.physics.track.Track`), the tissue beyond the gap's wall at the
        grid's ``pressure`` along it: sets the sources by which the track's fluid enters the
        tissue (one per half voxel of its length), and what escapes where the track leaves the
        organ (``depth``), the grid, or meets a large vessel (:meth:`_path`).

        A tissue without a shear modulus has no elastic track: all the backflow escapes."""
        site.close_track()
        site.escape_into_vessel = False
        site.backflow_rate = max(backflow, 0.0)
        path = site.path
        if site.backflow_rate <= 0.0:
            return
        if path is None:
            site.escape_rate = site.backflow_rate
            return
        p_tissue = ndimage.map_coordinates(pressure, path.frac, order=1, mode="nearest")
        sol = path.track.solve(
            site.backflow_rate,
            (path.z, p_tissue),
            impl=self.ctx.impl,  # type: ignore[arg-type]
        )
        site.track_length = sol.length
        site.peak_track_length = max(site.peak_track_length, sol.length)
        reach = min(sol.length, path.escape_at)
        if sol.length > path.escape_at:
            site.escape_rate = sol.flow_at(path.escape_at)
            site.escape_into_vessel = path.into_vessel
        # what leaks between two points is the drop of the flow in the gap
        half = 0.5 * self.ctx.grid.spacing
        edges = np.linspace(0.0, reach, max(1, math.ceil(reach / half)) + 1)
        drops = np.clip(-np.diff(np.interp(edges, sol.z, sol.flow)), 0.0, None)
        entering = site.backflow_rate - site.escape_rate
        if drops.sum() > 0:
            drops *= entering / drops.sum()
        else:  # the tissue along the track pushes back everywhere: the fluid stays at the tip
            drops[0] = entering
        mids = 0.5 * (edges[1:] + edges[:-1])
        site.track_sources = [
            (site.tip + x * site.back, float(q)) for x, q in zip(mids, drops, strict=True) if q > 0
        ]

    def _flow_step(self, active: list[_Site], dt: float, parts: int = 1) -> None:
        """One backward-Euler pressure step of a storing tissue over ``dt`` s; its flow and the
        change of fluid volumes are fed to the transport in ``parts`` equal steps
        (:meth:`_feed`), the first of them now."""
        tick = time.perf_counter()
        sites = [id(site) for site in active]
        if self._darcy is None or self._rebuild(sites):
            previous = None if self._darcy is None else self._darcy.pressure
            self._darcy = self._solver(active)
            if previous is not None:
                self._darcy.pressure = previous
            if sites != self._darcy_sites:
                self._segment_infused = 0.0
            self._darcy_sites = sites
            self._darcy_steps = 0
        darcy = self._darcy
        self._darcy_steps += 1
        pressure, infusions = self._pressure(
            darcy, active, lambda inf, guess: darcy.step(inf, dt, SOLVE_TOLERANCE, guess)
        )
        self._infused += self._rate_in * dt
        self._segment_infused += self._rate_in * dt
        conc = self.agent.injectate_concentration
        fluid = darcy.source(infusions)
        start = self.transport.cap
        stored = self.storage * self.ctx.grid.voxel_volume * pressure  # m³ per voxel
        change = self._cap0 + stored - start
        self.peak_stored = max(self.peak_stored, float(stored.sum()))
        # sweep where this segment's liquid can be, REACH times over (beyond, slower flow moves
        # the earlier sites' clouds by the explicit step)
        reach = REACH * max(self._segment_infused, self.ctx.grid.voxel_volume)
        self._parts = (start, change, parts, 1)
        self.transport.set_flow(
            darcy.face_fluxes(pressure), pressure, fluid, conc, reach,
            capacity=start + change / parts,
        )  # fmt: skip
        held = float(stored[self.transport.injectate >= DISTRIBUTED].sum())
        if not active and held < RELAXED * self._infused:
            self._relaxing = False  # this pressure step is the last that moves the depot
        self.solve_wall += time.perf_counter() - tick

    def _feed(self) -> None:
        """The next part of the current pressure step for the transport: the same flow, the
        next share of the change of fluid volumes."""
        start, change, parts, done = self._parts
        self._parts = (start, change, parts, done + 1)
        self.transport.set_capacity(start + change * ((done + 1) / parts))

    def _rebuild(self, sites: list[int]) -> bool:
        """Whether the solver must be rebuilt for the active ``sites`` (their ids): other sites,
        or the viscosity has moved on."""
        if sites != self._darcy_sites:
            return bool(sites)  # a relaxing depot keeps the last solver
        return self._contrast and self._darcy_steps >= REBUILD_STEPS

    # ------------------------------------------------------------------ loop
    def run(self) -> float:
        """Run the infusions and the observation; returns the simulated time (s)."""
        edges = sorted({0.0} | {x for site in self.sites for x in (site.start, site.end)})
        t = 0.0
        self._record(t, "infusion")
        for a, b in itertools.pairwise(edges):
            active = [s for s in self.sites if s.start <= a < s.end]
            if not active:
                continue
            if self.transient:
                t = self._advance(t, b, FLOW_DT, RECORD_FLOW, "infusion", active)
                continue
            updates = FLOW_UPDATES if self._contrast else 1
            for u in range(updates):
                self._solve_flow(active, sum(s.rate for s in active) * (b - a) / updates)
                t = self._advance(
                    t, a + (b - a) * (u + 1) / updates, FLOW_DT, RECORD_FLOW, "infusion", active
                )
        self._relaxing = self.transient
        if not self.transient:
            self.transport.stop_flow()
        self._rate_in = self._rate_leak = self._rate_back = 0.0
        for site in self.sites:
            site.close_track()
        self._tip_pressure = 0.0
        return self._advance(
            t, t + self.session.observe_s, OBSERVE_DT, RECORD_OBSERVE, "observation", []
        )

    def _advance(
        self, t: float, until: float, dt_max: float, record: float, phase: str, active: list[_Site]
    ) -> float:
        """Step from ``t`` to ``until`` (s), a row every ``record`` s. Steps are at most
        ``dt_max`` and, while agent is present, half the fastest washout time there; a storing
        tissue's pressure is stepped with them while it infuses or its depot relaxes."""
        vessel_share = self.ctx.tissue.body.leak_vessel_fraction
        total = self.sites_end + self.session.observe_s
        while t < until - 1e-9:
            span = min(record, until - t)
            blk = self.transport.block
            fastest = float(self.transport.washout[blk].max()) if blk is not None else 0.0
            dt_cap = min(dt_max, 0.5 / fastest) if fastest > 0 else dt_max
            if blk is None and phase == "observation" and not self._relaxing:
                dt_cap = record  # nothing left to move: the state relaxes, exactly per step
            n = math.ceil(span / dt_cap - 1e-9)
            # a storing tissue: pressure steps of PRESSURE_DT while it infuses; a relaxing
            # depot's grow with its age (it relaxes fast at first); each is fed to the
            # transport in parts
            per = 1
            if self.transient and (active or self._relaxing):
                age = max(t - self.sites_end, 0.0)
                grown = max(FLOW_DT, RELAX_DT_GROWTH * age)
                longest = PRESSURE_DT if active else max(d for d in RELAX_DTS if d <= grown)
                steps = math.ceil(span / longest - 1e-9)
                per = max(1, math.ceil(n / steps))
                n = steps * per
            dt = span / n
            for k in range(n):
                if k % per == 0:  # a pressure step begins (or the flow stops)
                    if self._relaxing and self.transport.block is None:
                        self._relaxing = False  # no agent left for the flow to move
                    flowing = self.transient and (bool(active) or self._relaxing)
                    if flowing:
                        self._flow_step(active, dt * per, per)
                    elif self.transport.flowing and self.transient:
                        self.transport.stop_flow()  # the depot has relaxed
                        self.relaxed_at = t + k * dt
                elif flowing:
                    self._feed()
                self.transport.step(dt)
                for site in active:
                    site.backflow += site.backflow_rate * dt
                    if site.escape_rate > 0:  # mol escaped from the track or at the tip
                        amount = site.escape_rate * self.agent.injectate_concentration * dt
                        share = 1.0 if site.escape_into_vessel else vessel_share
                        self.leak_vessels += share * amount
                        self.leak_track += (1.0 - share) * amount
                        site.leaked += site.escape_rate * dt
                self._update_state(dt)
                self.steps += 1
            t += span
            self._record(t, phase)
            if self.ctx.progress is not None:
                self.ctx.progress(min(t / total, 1.0), f"injection: {phase}, t = {t:.0f} s")
        return until

    def _stored(self) -> float:
        """Fluid the tissue holds beyond its own now (m³): the depot of a storing tissue."""
        return float((self.transport.cap - self._cap0).sum()) if self.transient else 0.0

    @property
    def sites_end(self) -> float:
        return max(site.end for site in self.sites)

    def _update_state(self, dt: float) -> None:
        tr, state = self.transport, self.ctx.state
        blk = tr.reached
        if blk is None:
            return
        c = tr.c[blk]
        self.peak_concentration[blk] = np.maximum(self.peak_concentration[blk], c)
        if tr.flowing:  # the injectate moves only with the flow
            wet = tr.wetted or blk
            self.peak_injectate[wet] = np.maximum(self.peak_injectate[wet], tr.injectate[wet])
        theta0 = tr.theta0[blk]
        with np.errstate(divide="ignore", invalid="ignore"):
            consumed = np.where(theta0 > 0, 1.0 - tr.theta[blk] / theta0, 0.0)
        self.damage.advance(dt, blk, c, consumed, state)
        # perfusion lost to the agent slows its washout
        ctx = self.ctx
        omega = perfusion_rate(ctx.tissue, ctx.anatomy, state, blk)
        tr.washout[blk] = self._washout(omega, tr.cap[blk] / ctx.grid.voxel_volume)

    # ------------------------------------------------------------------ outputs
    def _record(self, t: float, phase: str) -> None:
        tr, grid, state = self.transport, self.ctx.grid, self.ctx.state
        ml = grid.voxel_volume * 1e6
        mmol = 1e3
        led = tr.ledger
        leaked = self.leak_track + self.leak_vessels
        zone = lesion = 0.0
        tumor_volume = self._tumor_volume0
        blk = tr.reached
        if blk is not None:
            zone_mask = self.damage.damage(state, blk) >= 1.0
            swell = self._swelling(blk)
            zone = float(np.count_nonzero(zone_mask)) * ml
            lesion = float((swell * zone_mask).sum()) * ml
            tumor = self.ctx.anatomy.tumor_fraction[blk]
            tumor_volume += float(((swell - 1.0) * tumor).sum(dtype=np.float64)) * ml
        tumor_now = float(state.tumor.sum(dtype=np.float64))
        self.rows.append(
            {
                "time_s": t,
                "phase": phase,
                "infusion_rate_ml_h": self._rate_in * 3.6e9,
                "leak_rate_ml_h": self._rate_leak * 3.6e9,
                "backflow_rate_ml_h": self._rate_back * 3.6e9,
                "track_length_mm": max((s.track_length for s in self.sites), default=0.0) * 1e3,
                "tip_pressure_kpa": self._tip_pressure * 1e-3,
                "injected_mmol": (led.injected + leaked) * mmol,
                "in_tissue_mmol": tr.amount() * mmol,
                "consumed_mmol": led.consumed * mmol,
                "washed_out_mmol": led.washed_out * mmol,
                "leaked_mmol": leaked * mmol,
                "out_of_grid_mmol": led.out_of_box * mmol,
                "systemic_mmol": (led.washed_out + self.leak_vessels) * mmol,
                "max_concentration_mm": float(tr.c.max()),
                "distribution_volume_ml": float(np.count_nonzero(tr.injectate >= DISTRIBUTED)) * ml,
                "stored_volume_ml": self._stored() * 1e6,
                "ablation_zone_ml": zone,
                "lesion_volume_ml": lesion,
                "tumor_volume_ml": tumor_volume,
                "tumor_kill_fraction": 1.0 - tumor_now / self._tumor0
                if self._tumor0 > 0
                else math.nan,
            }
        )

    def _swelling(self, block: tuple[slice, slice, slice]) -> np.ndarray:
        """Volume of each voxel of ``block`` relative to its start as its water content changed
        (1): the water's volume share of the tissue times the relative change of water."""
        ctx = self.ctx
        water_volume = np.clip(self._water_volume[ctx.anatomy.material[block]], 0.0, 1.0)
        return 1.0 + water_volume * (ctx.state.water[block] - self.damage.initial("water")[block])


def run_injection_session(
    ctx: SessionContext, session: InjectionSession, label: str = "session"
) -> SessionResult:
    """Run one injection session on ``ctx`` (its state is changed in place)."""
    del label  # progress texts name the phase
    start = time.perf_counter()
    agent = ctx.agent or load_agent(session.agent, session.agent_parameters)
    run = _Injection(ctx, session, agent)
    simulated = run.run()
    tr, grid, state = run.transport, ctx.grid, ctx.state
    ml = grid.voxel_volume * 1e6
    led = tr.ledger
    leaked = run.leak_track + run.leak_vessels
    injected = led.injected + leaked
    omega = run.damage.damage(state)
    body_t = np.full(grid.shape, ctx.tissue.body.body_temperature, np.float32)
    fields = {
        "peak_temperature": body_t,
        "min_temperature": body_t.copy(),
        "thermal_dose": np.zeros(grid.shape, np.float32),
        "cem43": np.zeros(grid.shape, np.float32),
        "kill_fraction": (-np.expm1(-omega.astype(np.float64))).astype(np.float32),
        "damage": omega,
        "agent_peak_concentration": run.peak_concentration,
        "injectate_peak_fraction": run.peak_injectate,
        "demand_consumed_fraction": tr.consumed_fraction().astype(np.float32),
    }
    systemic = led.washed_out + run.leak_vessels
    rows = pd.DataFrame(run.rows)
    kill_ml = float(np.count_nonzero(omega >= 1.0)) * ml
    volume_ml = session.volume_m3 * 1e6
    delivered = {
        "agent": agent.name,
        "order": session.order,
        "injectate_concentration_mm": agent.injectate_concentration,
        "volume_ml": volume_ml,
        "infusion_time_s": session.infusion_time_s,
        "observe_s": session.observe_s,
        "needle_diameter_mm": session.needle_diameter_m * 1e3,
        "sites": [
            {
                "tip_mm": [float(x) * 1e3 for x in site.tip],
                "volume_ml": (site.end - site.start) * site.rate * 1e6,
                "rate_ml_h": site.rate * 3.6e9,
                "start_s": site.start,
                "end_s": site.end,
                "peak_tip_pressure_kpa": site.peak_pressure * 1e-3,
                "leaked_ml": site.leaked * 1e6,
                "backflow_ml": site.backflow * 1e6,
                "peak_backflow_length_mm": site.peak_track_length * 1e3,
                "depth_mm": None if site.depth is None else site.depth * 1e3,
            }
            for site in run.sites
        ],
    }
    accounted = tr.amount() + led.consumed + led.washed_out + led.out_of_box + leaked
    reached = run.peak_injectate >= DISTRIBUTED  # the distribution volume
    injection = {
        "injected_mmol": injected * 1e3,
        "retained_mmol": tr.amount() * 1e3,
        "consumed_mmol": led.consumed * 1e3,
        "washed_out_mmol": led.washed_out * 1e3,
        "leaked_mmol": leaked * 1e3,
        "leaked_along_track_mmol": run.leak_track * 1e3,
        "leaked_into_vessels_mmol": run.leak_vessels * 1e3,
        "out_of_grid_mmol": led.out_of_box * 1e3,
        "systemic_mmol": systemic * 1e3,
        "balance_residual_rel": (injected - accounted) / injected if injected > 0 else 0.0,
        "injected_volume_ml": volume_ml,
        "leaked_volume_ml": sum(site.leaked for site in run.sites) * 1e6,
        "backflow_volume_ml": sum(site.backflow for site in run.sites) * 1e6,
        "peak_backflow_length_mm": max(site.peak_track_length for site in run.sites) * 1e3,
        "distribution_volume_ml": float(np.count_nonzero(reached)) * ml,
        **_on_target(run, reached, ml),
        "kill_volume_ml": kill_ml,
        "kill_to_injected_ratio": kill_ml / volume_ml,
        "peak_tip_pressure_kpa": max(site.peak_pressure for site in run.sites) * 1e-3,
        "specific_storage_per_kpa": float(run.storage.max()) * 1e3,
        "peak_stored_volume_ml": run.peak_stored * 1e6,
        "stored_volume_ml": run._stored() * 1e6,
        "depot_relaxed_s": run.relaxed_at,
        "critical_pressure_kpa": ctx.tissue.body.critical_infusion_pressure * 1e-3,
        "lesion_volume_ml_by_hour": _by_hour(rows, "lesion_volume_ml"),
        "tumor_volume_ml_by_hour": _by_hour(rows, "tumor_volume_ml"),
    }
    extra = {
        "agent": agent.describe(),
        "hypotheses": hypotheses(agent),
        "injection": injection,
        "systemic_dose": {
            "amount_mmol": systemic * 1e3,
            "mass_mg": systemic * agent.molar_mass * 1e6,
            "washed_out_mmol": led.washed_out * 1e3,
            "leaked_into_vessels_mmol": run.leak_vessels * 1e3,
            "fraction_of_injected": systemic / injected if injected > 0 else 0.0,
            "reaction_products_formed_mmol": {
                name: amount * 1e3 for name, amount in agent.products(led.consumed).items()
            },
        },
    }
    first = session.sites[0]
    solver = {
        "steps": run.steps,
        "dt_s": FLOW_DT,
        "wall_time_s": time.perf_counter() - start,
        "pressure_solves": run.solves,
        "pressure_s": run.solve_wall,
        "simulated_s": simulated,
        "impl": ctx.impl,
    }
    return SessionResult(
        modality="injection",
        delivered=delivered,
        fields=fields,
        timeseries=rows,
        solver=solver,
        energy={"delivered_j": 0.0},
        focus=(np.asarray(first.tip_m, float), np.asarray(first.direction, float)),
        extra=extra,
    )


def _on_target(run: _Injection, reached: np.ndarray, ml: float) -> dict[str, float | None]:
    """How much of the liquid reached viable tumour: the viable tumour (at the session start)
    in the distribution volume ``reached`` (mL), its share of the distribution volume, and the
    share of the viable tumour it reached (None without viable tumour)."""
    tumor = np.clip(run.damage.initial("tumor").astype(np.float64), 0.0, 1.0)
    on_target = float(tumor[reached].sum()) * ml
    distributed = float(np.count_nonzero(reached)) * ml
    viable = float(tumor.sum()) * ml
    return {
        "distribution_in_viable_tumor_ml": on_target,
        "distribution_on_target_fraction": on_target / distributed if distributed > 0 else None,
        "viable_tumor_reached_fraction": on_target / viable if viable > 0 else None,
    }


def _by_hour(rows: pd.DataFrame, column: str) -> dict[str, float]:
    """The column's value at the end of the infusions ("0") and at each whole hour after."""
    if rows.empty:
        return {}
    end = float(rows.loc[rows["phase"] == "infusion", "time_s"].max())
    out = {"0": float(rows.loc[rows["time_s"] <= end, column].iloc[-1])}
    for hour in range(1, 25):
        at = rows[rows["time_s"] <= end + hour * 3600.0 + 1e-6]
        if float(at["time_s"].iloc[-1]) < end + hour * 3600.0 - 1.0:
            break
        out[str(hour)] = float(at[column].iloc[-1])
    return out
