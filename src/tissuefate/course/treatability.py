"""Treatability, measured: what today's tissue does to a session, against untreated tissue.

Before each session after the first, the planned session is also run on a copy of the untreated
(day-0) tissue holding today's tumour. The ratios of what it achieves in the course's tissue to
what it achieves there are the session's treatability: ``kill_ratio`` (viable tumour killed), and
for injections ``distribution_ratio`` (volume the injectate reached), ``leak_ratio`` (injectate
that escaped the organ or entered a vessel) and ``backflow_ratio`` (injectate that flowed back
along the needle track). A ratio below 1 says the course's history (scar, lost vessels, cleared
room) made the tumour harder to treat; above 1, easier. The session in the course's tissue is
the course's own session, so no extra run is needed for it.

At the end of a course, its first session is given once more (same devices or sites, same
settings) on a copy of the final tissue and on untreated tissue holding the final tumour: the
``final`` ratios say how treatable the region the course leaves behind is, also after a single
session. ``zone_ratio`` compares the volumes the session's damage reached (Ω ≥ 1), defined even
when no tumour is left to kill.

The per-voxel map at each scan holds the derived coefficients that history changes, relative to
the untreated tissue: perfusion (blood flow), hydraulic permeability and the fluid space open to
an injectate (1 = as untreated; NaN in large vessels).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..damage.zone import ZONE_OMEGA, damage_of
from ..grid.anatomy import Anatomy
from ..modalities import RUNNERS, SessionContext, SessionResult
from ..tissue.coefficients import extracellular_fraction, hydraulic_permeability, perfusion_rate
from ..tissue.presets import TissueModel
from ..tissue.state import TissueState

__all__ = [
    "MAP_INFO",
    "course_treatability",
    "naive_with_tumor",
    "session_treatability",
    "treatability_maps",
]

MAP_INFO: dict[str, str] = {
    "treatability_perfusion": "blood perfusion relative to untreated tissue",
    "treatability_permeability": "hydraulic permeability relative to untreated tissue",
    "treatability_fluid_space": "fluid space open to an injectate relative to untreated tissue",
}


def naive_with_tumor(anatomy: Anatomy, tumor: np.ndarray) -> TissueState:
    """Untreated tissue holding ``tumor`` (viable fractions): parenchyma fills the rest."""
    state = TissueState.initial(anatomy)
    state.tumor[...] = tumor
    tissue = (~anatomy.vessel).astype(np.float32)
    state.normal[...] = np.clip(tissue - state.tumor, 0.0, None)
    return state


def _zone_ml(fields: dict[str, np.ndarray], voxel_ml: float) -> float:
    """Volume (mL) where a session's damage reached the zone threshold."""
    return float(np.count_nonzero(damage_of(fields) >= ZONE_OMEGA)) * voxel_ml


def _killed_ml(before: np.ndarray, after: np.ndarray, voxel_ml: float) -> float:
    return float(np.clip(before - after, 0.0, None).sum(dtype=np.float64)) * voxel_ml


def _ratio(now: float | None, naive: float | None) -> float | None:
    if now is None or naive is None:
        return None
    if naive <= 0.0:
        return None if now <= 0.0 else float("inf")
    return now / naive


def session_treatability(
    ctx: SessionContext, session: Any, before: TissueState, res: SessionResult, index: int
) -> dict[str, Any]:
    """Treatability of a session that ran on ``ctx.state`` (now ``after``) from ``before``.

    Runs the same session on untreated tissue holding ``before``'s tumour (``ctx`` supplies the
    grid, anatomy, tissue model, options and agent; its state is not touched).
    """
    voxel_ml = ctx.grid.voxel_volume * 1e6
    naive = naive_with_tumor(ctx.anatomy, before.tumor)
    tumor0 = naive.tumor.copy()
    twin = SessionContext(
        ctx.grid, ctx.anatomy, ctx.tissue, naive, ctx.thermal, ctx.impl, None, ctx.agent
    )
    ref = RUNNERS[session.modality](twin, session, "treatability")
    killed_now = _killed_ml(before.tumor, ctx.state.tumor, voxel_ml)
    killed_naive = _killed_ml(tumor0, naive.tumor, voxel_ml)
    zone_now, zone_naive = (_zone_ml(r.fields, voxel_ml) for r in (res, ref))
    out: dict[str, Any] = {
        "session": index,
        "day": session.day,
        "tumor_killed_ml": killed_now,
        "tumor_killed_untreated_ml": killed_naive,
        "kill_ratio": _ratio(killed_now, killed_naive) if killed_naive > 0 else None,
        "zone_ml": zone_now,
        "zone_untreated_ml": zone_naive,
        "zone_ratio": _ratio(zone_now, zone_naive),
        "distribution_ratio": None,
        "leak_ratio": None,
        "backflow_ratio": None,
    }
    inj, inj_ref = res.extra.get("injection"), ref.extra.get("injection")
    if inj is not None and inj_ref is not None:
        out["distribution_ratio"] = _ratio(
            inj["distribution_volume_ml"], inj_ref["distribution_volume_ml"]
        )
        out["leak_ratio"] = _ratio(inj["leaked_volume_ml"], inj_ref["leaked_volume_ml"])
        out["distribution_untreated_ml"] = inj_ref["distribution_volume_ml"]
        out["leaked_untreated_ml"] = inj_ref["leaked_volume_ml"]
        out["backflow_ratio"] = _ratio(inj["backflow_volume_ml"], inj_ref["backflow_volume_ml"])
        out["backflow_untreated_ml"] = inj_ref["backflow_volume_ml"]
    return out


def treatability_maps(
    tissue: TissueModel, anatomy: Anatomy, state: TissueState, untreated: TissueState
) -> dict[str, np.ndarray]:
    """Perfusion, permeability and fluid space of ``state`` relative to ``untreated`` (float32,
    NaN where the untreated value is 0, i.e. in large vessels)."""

    def rel(now: np.ndarray, ref: np.ndarray) -> np.ndarray:
        out = np.full(now.shape, np.nan, np.float32)
        np.divide(now, ref, out=out, where=ref > 0, casting="unsafe")
        return out

    return {
        "treatability_perfusion": rel(
            perfusion_rate(tissue, anatomy, state), perfusion_rate(tissue, anatomy, untreated)
        ),
        "treatability_permeability": rel(
            hydraulic_permeability(tissue, anatomy, state),
            hydraulic_permeability(tissue, anatomy, untreated),
        ),
        "treatability_fluid_space": rel(
            extracellular_fraction(tissue, anatomy, state),
            extracellular_fraction(tissue, anatomy, untreated),
        ),
    }


def course_treatability(
    sessions: list[dict[str, Any]], final: dict[str, Any] | None
) -> dict[str, Any] | None:
    """``outcome.treatability``: the ratios of each session after the first (``sessions``), of
    the course's first session given again at its end (``final``), and the smallest kill and zone
    ratios among them; None for a course without sessions."""
    rows = [s["treatability"] for s in sessions if s.get("treatability") is not None]
    every = [*rows, *([final] if final is not None else [])]
    if not every:
        return None
    kills = [r["kill_ratio"] for r in every if r["kill_ratio"] is not None]
    zones = [r["zone_ratio"] for r in every if r["zone_ratio"] is not None]
    return {
        "sessions": rows,
        "final": final,
        "min_kill_ratio": min(kills) if kills else None,
        "min_zone_ratio": min(zones) if zones else None,
    }
