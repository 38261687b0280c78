"""Plain heat sources: uniform power density in a sphere, or a point source.

Used for the exact-solution tests, ``tissuefate validate``, benchmarks and the reference problem of
the peer benchmarks. A sphere is deposited with partial-volume weighting and scaled so that the
grid carries exactly its power; a point source is spread over its 8 nearest voxels with trilinear
weights, which keeps both its power and its position.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..grid.grid import Grid
from ..grid.shapes import Sphere, point_weights, volume_fraction
from ..physics.thermal import ThermalSolver
from ..scenario.models import HeatSourceSession
from ..scenario.quantities import format_quantity
from .base import SessionContext, SessionResult
from .thermal import (
    energy_summary,
    run_thermal_session,
    session_fields,
    timeseries_frame,
    vessel_summary,
)

__all__ = ["StaticSource", "deposit_point", "deposit_sphere", "run_heat_source_session"]


def deposit_sphere(
    grid: Grid, center: tuple[float, float, float], radius: float, power: float, out: np.ndarray
) -> None:
    """Add a uniform source of ``power`` W in a sphere (m) to ``out`` (W/m³), exactly ``power``."""
    block, frac = volume_fraction(grid, Sphere(center, radius))
    total = frac.sum() * grid.voxel_volume
    if total <= 0:
        raise ValueError("the heat-source sphere covers no part of the grid")
    out[block] += frac * (power / total)


def deposit_point(
    grid: Grid, point: tuple[float, float, float], power: float, out: np.ndarray
) -> None:
    """Add a point source of ``power`` W at ``point`` (m) to ``out`` (W/m³)."""
    idx, w = point_weights(grid, np.asarray(point))
    for (i, j, k), wi in zip(idx, w, strict=True):
        out[i, j, k] += power * wi / grid.voxel_volume


class StaticSource:
    """A source density that is on or off and otherwise constant."""

    static = True

    def __init__(self, q: np.ndarray) -> None:
        self.q = q
        self._on: bool | None = None

    def update(self, solver: ThermalSolver, t: float, on: bool) -> dict[str, float]:
        """Switch the source on or off for the next interval."""
        del t
        if on != self._on:
            solver.set_source(self.q if on else None)
            self._on = on
        return {}


def run_heat_source_session(
    ctx: SessionContext, session: HeatSourceSession, label: str = "session"
) -> SessionResult:
    """Run a plain heat-source session on ``ctx``."""
    q = np.zeros(ctx.grid.shape)
    for src in session.sources:
        if src.shape == "sphere":
            deposit_sphere(ctx.grid, src.center_m, src.radius_m, src.power_w, q)
        else:
            deposit_point(ctx.grid, src.center_m, src.power_w, q)
    run, solver_info = run_thermal_session(
        ctx,
        StaticSource(q),
        session.duration_s,
        "auto" if session.cooldown_s is None else session.cooldown_s,
        label,
    )
    total_power = sum(s.power_w for s in session.sources)
    delivered: dict[str, Any] = {
        "sources": [
            {
                "shape": s.shape,
                "center_mm": [c * 1e3 for c in s.center_m],
                **({"radius_mm": s.radius_m * 1e3} if s.radius_m is not None else {}),
                "power_w": s.power_w,
            }
            for s in session.sources
        ],
        "power_w": total_power,
        "duration_s": session.duration_s,
        "duration": format_quantity(session.duration),
        "energy_j": run.solver.ledger.delivered,
    }
    weights = np.array([s.power_w for s in session.sources])
    focus = np.average(np.array([s.center_m for s in session.sources]), axis=0, weights=weights)
    return SessionResult(
        modality="heat_source",
        delivered=delivered,
        fields=session_fields(run),
        timeseries=timeseries_frame(run),
        solver=solver_info,
        energy=energy_summary(run),
        focus=(focus, None),
        extra=vessel_summary(run),
    )
