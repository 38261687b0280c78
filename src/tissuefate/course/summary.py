"""What a course reports: volumes per row, per-session summaries, repair summary, fields.

Pure functions of the course's state and results; the controller calls them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import xarray as xr
from scipy import ndimage

from .._notice import RESEARCH_USE
from .._version import __version__
from ..biology.repair import RepairClock, RepairModel, RepairParameters
from ..damage.zone import (
    ZONE_OMEGA,
    coagulation_level,
    coagulation_temperature,
    damage_of,
    min_margin,
    zone_axes,
)
from ..grid.anatomy import Anatomy
from ..grid.grid import Grid
from ..grid.image import grid_affine
from ..io.checkpoint import stacked
from ..kernels.repair import pool_totals
from ..modalities import SessionResult
from ..modalities.agent import Agent
from ..scenario.models import Scenario
from ..tissue.presets import Body
from ..tissue.state import FIELD_INFO, TissueState
from .imaging import PROGRESSION_VOLUME_RATIO, VIABLE_THRESHOLD, visible_tumor
from .treatability import MAP_INFO

DAY = 86400.0


def volumes(
    state: TissueState,
    normal0: np.ndarray,
    voxel_ml: float,
    viable_fraction: float = VIABLE_THRESHOLD,
    tissue: np.ndarray | None = None,
) -> dict[str, float]:
    """The volumes of a timeseries row (mL; ``inflammation_max`` dimensionless). Visible tumour
    counts voxels at least ``viable_fraction`` viable, in lesions a scan would detect.
    ``lesion_scan_ml`` counts the voxels of ``tissue`` (default: all) that are less than half
    viable cells: dead and fibrous tissue and the fluid of cleared room, the non-enhancing zone a
    contrast scan outlines (0 before any treatment)."""
    visible, _ = visible_tumor(state.tumor, voxel_ml, viable_fraction=viable_fraction)
    s = state
    tot = pool_totals(
        s.tumor, s.coagulated, s.debris, s.myofibroblasts, s.collagen, s.normal, normal0,
        s.inflammation,
    )  # fmt: skip
    tumor, coagulated, debris, myofibroblasts, collagen = (float(x) * voxel_ml for x in tot[:5])
    return {
        "viable_tumor_ml": tumor,
        "visible_tumor_ml": visible,
        "necrotic_ml": coagulated + debris,
        "coagulated_ml": coagulated,
        "debris_ml": debris,
        "scar_ml": float(tot[5]) * voxel_ml,
        "normal_lost_ml": float(tot[6]) * voxel_ml,
        "lesion_ml": coagulated + debris + myofibroblasts + collagen,
        "collagen_ml": collagen,
        "myofibroblasts_ml": myofibroblasts,
        "inflammation_max": float(tot[7]),
        "lesion_scan_ml": _lesion_scan(state, tissue) * voxel_ml,
    }


def _lesion_scan(state: TissueState, tissue: np.ndarray | None) -> int:
    """Voxels (of ``tissue``) less than half viable cells (:func:`volumes`)."""
    viable = state.tumor + state.normal
    low = viable < 0.5
    if tissue is not None:
        low &= tissue
    return int(np.count_nonzero(low))


def movement(state: TissueState) -> dict[str, float]:
    """How far the tissue moved (mm): the lesion's and the scar's centroid shift since they
    formed (the mean displacement of the material in them, weighted by its volume: dead and
    fibrous tissue for the lesion, collagen in scar voxels for the scar; 0 without one) and the
    largest displacement of any voxel."""
    s = state
    u = np.stack([s.displacement_x, s.displacement_y, s.displacement_z]).astype(np.float64)
    lesion = s.coagulated.astype(np.float64) + s.debris + s.myofibroblasts + s.collagen
    scar = np.where(s.collagen >= 0.5, s.collagen, 0.0).astype(np.float64)

    def shift(weight: np.ndarray) -> float:
        total = weight.sum()
        if total <= 0.0:
            return 0.0
        return float(np.linalg.norm((u * weight).sum(axis=(1, 2, 3)) / total))

    return {
        "lesion_shift_mm": shift(lesion),
        "scar_shift_mm": shift(scar),
        "largest_displacement_mm": float(np.sqrt((u * u).sum(axis=0)).max()),
    }


HEATING = ("radiofrequency", "microwave")
"""Modalities that coagulate tissue by heat (their summaries have a ``coagulation_zone``)."""


def _zone_record(zone: np.ndarray, grid: Grid, axis: Any, **thresholds: float) -> dict[str, Any]:
    """Volume (mL) and axes (mm) of the voxels in ``zone``, with the thresholds that bound it."""
    axes = zone_axes(zone, grid.spacing * 1e3, grid.axes_mm(), axis)
    return {
        "volume_ml": axes.volume_ml,
        "long_axis_mm": axes.long_axis_mm,
        "short_axis_mm": axes.short_axis_mm,
        "threshold_omega": ZONE_OMEGA,
        **thresholds,
    }


def session_summary(
    index: int,
    day: float,
    res: SessionResult,
    grid: Grid,
    anatomy: Anatomy,
    before: TissueState,
    after: TissueState,
    body: Body,
) -> dict[str, Any]:
    voxel_ml = grid.voxel_volume * 1e6
    zone = damage_of(res.fields) >= ZONE_OMEGA
    axis = res.focus[1]
    tumor_mask = anatomy.tumor_fraction >= 0.5
    tumor_before = float(before.tumor.sum(dtype=np.float64))
    tumor_after = float(after.tumor.sum(dtype=np.float64))
    per_tumor = {}
    for n, name in enumerate(anatomy.tumor_names, start=1):
        mine = anatomy.tumor_id == n
        b = float(before.tumor[mine].sum(dtype=np.float64))
        a = float(after.tumor[mine].sum(dtype=np.float64))
        per_tumor[name] = {
            "viable_before_ml": b * voxel_ml,
            "viable_after_ml": a * voxel_ml,
            "kill_fraction": 1.0 - a / b if b > 0 else None,
            "min_margin_mm": min_margin(mine & tumor_mask, zone, grid.spacing * 1e3),
        }
    peak = res.fields["peak_temperature"]
    trough = res.fields["min_temperature"]
    return {
        "index": index,
        "day": day,
        "modality": res.modality,
        "delivered": res.delivered,
        "peak_temperature_c": float(peak.max()),
        "min_temperature_c": float(trough.min()),
        "solver": res.solver,
        "ablation_zone": _zone_record(zone, grid, axis),
        **(
            {
                # the white zone gross pathology sees (damage.zone.coagulation_level)
                "coagulation_zone": _zone_record(
                    coagulation_level(res.fields, body) >= 1.0,
                    grid,
                    axis,
                    threshold_peak_temperature_c=coagulation_temperature(body),
                ),
                # tissue water boiled off (1 kg per L): it has left the tissue's state
                "water_boiled_ml": res.energy["vaporization_j"]
                / body.latent_heat_vaporization
                * 1e3,
            }
            if res.modality in HEATING
            else {}
        ),
        "tumor_kill_fraction": 1.0 - tumor_after / tumor_before if tumor_before > 0 else None,
        "min_margin_mm": min_margin(tumor_mask, zone, grid.spacing * 1e3),
        "normal_necrosis_ml": float(
            np.clip(before.normal - after.normal, 0, None).sum(dtype=np.float64)
        )
        * voxel_ml,
        "energy": res.energy,
        "tumors": per_tumor,
        **res.extra,
    }


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def describe(session: Any) -> str:
    if session.modality == "microwave":
        return (
            f"{session.modality} {session.power_w:g} W x {len(session.applicators)}, "
            f"{session.duration_s / 60:g} min"
        )
    if session.modality == "radiofrequency":
        return (
            f"{session.modality} {session.power_w:g} W x {len(session.electrodes)} electrode(s), "
            f"{session.duration_s / 60:g} min"
        )
    if session.modality == "cryo":
        return (
            f"cryo x {len(session.probes)} probe(s), {len(session.protocol)} phases, "
            f"{session.freeze_time_s / 60:g} min freezing"
        )
    if session.modality == "ire":
        pairs = _count(len(session.pair_list()), "pair")
        return f"ire x {len(session.electrodes)} electrodes, {pairs} of {session.pulses} pulses"
    if session.modality == "injection":
        return (
            f"injection of {session.volume_m3 * 1e6:g} mL {session.agent} at "
            f"{len(session.sites)} site(s)"
        )
    return f"{session.modality}, {session.duration_s / 60:g} min"


def repair_inputs(
    session: Any, agent: Agent | None, params: RepairParameters
) -> tuple[float, float | None, dict[str, Any]]:
    """Immunogenicity of a session's kill and the occlusion recovery time after it, with where
    each comes from (the agent for injections, the repair parameters otherwise)."""
    if agent is not None:
        imm, imm_from = agent.immunogenicity, f"agent {agent.name}: immunogenicity"
        recovery: float | None = agent.occlusion_recovery_time
        rec_from = f"agent {agent.name}: occlusion_recovery_time"
    else:
        key = {"cryo": "cold_immunogenicity", "ire": "electroporation_immunogenicity"}.get(
            session.modality, "heat_immunogenicity"
        )
        imm, imm_from = getattr(params, key), f"repair.{key}"
        recovery, rec_from = None, "repair.occlusion_recovery_time"
    rec_s = params.occlusion_recovery_time if recovery is None else recovery
    inputs = {
        "immunogenicity": imm,
        "immunogenicity_from": imm_from,
        "occlusion_recovery_d": rec_s / DAY,
        "occlusion_recovery_from": rec_from,
    }
    return imm, recovery, inputs


def local_progression(rows: list[dict[str, Any]], last_day: float) -> float | None:
    """First day after the last session when visible tumour reappears after none was visible,
    or grows by ``PROGRESSION_VOLUME_RATIO`` over its smallest volume since that session."""
    after = [r for r in rows if r["day"] >= last_day and r["event"] != "baseline"]
    if not after:
        return None
    low = after[0]["visible_tumor_ml"]
    for r in after[1:]:
        v = r["visible_tumor_ml"]
        if (low <= 0.0 < v) or (low > 0.0 and v >= PROGRESSION_VOLUME_RATIO * low):
            return float(r["day"])
        low = min(low, v)
    return None


def repair_summary(
    scenario: Scenario,
    repair: RepairModel,
    clock: RepairClock,
    inputs: list[dict[str, Any]],
    rows: list[dict[str, Any]],
    voxel_ml: float,
) -> dict[str, Any]:
    """What the repair model used and did: settings, parameters, switches, ledgers, milestones."""
    last_session = max(
        (i for i, r in enumerate(rows) if r["event"].startswith("session")), default=0
    )
    peak = max((r["lesion_ml"] for r in rows[last_session:]), default=0.0)
    start = rows[last_session]["lesion_ml"]
    return {
        "step_h": scenario.repair.step_s / 3600.0,
        "growth_law": scenario.repair.growth_law,
        "parameters": repair.params.table(),
        "sessions": inputs,
        "hypotheses": {
            "H3": "the agent's reversible_vascular_fraction and occlusion_recovery_time",
            "H4": "the agent's fixation (debris vs coagulated) and the clearance rates",
            "H5": "immunogenicity (agent, or repair.heat_/cold_immunogenicity) and the fibrosis "
            "gains",
        },
        "cleared_ml": clock.cleared * voxel_ml,
        "lesion_after_last_session_ml": start,
        "lesion_peak_ml": peak,
        "lesion_final_ml": rows[-1]["lesion_ml"],
        "final_volumes": {k: v for k, v in rows[-1].items() if k.endswith("_ml")},
        "extinction_fraction": repair.extinction,
        "mechanics": _mechanics_summary(repair, clock),
    }


def _mechanics_summary(repair: RepairModel, clock: RepairClock) -> dict[str, Any]:
    """Whether the tissue moved, and the work it took (solves, iterations, seconds)."""
    if not repair.mechanics:
        return {"enabled": False}
    stats = clock.mechanics
    return {
        "enabled": True,
        "intervals": stats.intervals,
        "pressure_solves": stats.solves,
        "cg_iterations": stats.iterations,
        "advection_substeps": stats.substeps,
        "solve_s": stats.solve_s,
        "advect_s": stats.advect_s,
        "total_s": stats.total_s,
    }


def anatomy_summary(anatomy: Anatomy) -> dict[str, Any]:
    """What a run on a segmented image saw of it: the image, the scanner position of the grid
    (its voxel index → scanner mm affine) and each tumour's volume (mL, partial volume) and
    centroid (scanner mm)."""
    assert anatomy.world_affine is not None
    affine = anatomy.world_affine
    voxel_ml = anatomy.grid.voxel_volume * 1e6
    tumors = {}
    for n, name in enumerate(anatomy.tumor_names, start=1):
        weight = np.where(anatomy.tumor_id == n, anatomy.tumor_fraction, 0.0)
        total = float(weight.sum(dtype=np.float64))
        index = np.array(ndimage.center_of_mass(weight)) if total > 0 else np.zeros(3)
        tumors[name] = {
            "volume_ml": total * voxel_ml,
            "centroid_mm": [float(v) for v in affine[:3, :3] @ index + affine[:3, 3]],
        }
    return {
        "source_image": anatomy.source_image,
        "frame": "scanner (RAS+, mm)",
        "affine_mm": affine.tolist(),
        # scanner position of the grid centre: a position of the grid frame (the sessions'
        # tip_mm, the fields' x, y, z) plus this is its scanner position
        "grid_center_mm": [
            float(v)
            for v in affine[:3, :3] @ ((np.asarray(anatomy.grid.shape) - 1) / 2) + affine[:3, 3]
        ],
        "organ_ml": float(anatomy.organ.sum()) * voxel_ml if anatomy.organ is not None else None,
        "tumors": tumors,
    }


def fields_dataset(
    grid: Grid,
    anatomy: Anatomy,
    snapshots: list[tuple[str, float, Mapping[str, np.ndarray]]],
    session_fields: list[Mapping[str, np.ndarray]],
    scan_maps: list[tuple[float, Mapping[str, np.ndarray]]],
    scenario_yaml: str,
    scenario: Scenario,
    strategy: str,
) -> xr.Dataset:
    x, y, z = grid.axes_mm()
    coords: dict[str, Any] = {
        "x": ("x", x, {"units": "mm", "long_name": "voxel centre x"}),
        "y": ("y", y, {"units": "mm", "long_name": "voxel centre y"}),
        "z": ("z", z, {"units": "mm", "long_name": "voxel centre z"}),
        "snapshot": ("snapshot", np.arange(len(snapshots))),
        "snapshot_label": ("snapshot", [s[0] for s in snapshots]),
        "snapshot_day": ("snapshot", [s[1] for s in snapshots], {"units": "d"}),
        "session": ("session", np.arange(1, len(session_fields) + 1)),
        "scan": ("scan", np.arange(len(scan_maps))),
        "scan_day": ("scan", [day for day, _ in scan_maps], {"units": "d"}),
    }
    xyz = ("x", "y", "z")
    data: dict[str, Any] = {
        "material": (xyz, anatomy.material, {"units": "1", "long_name": "material index"}),
        "tumor_id": (
            xyz,
            anatomy.tumor_id,
            {"units": "1", "long_name": "1 + tumour index, 0 none"},
        ),
        "vessel": (
            xyz,
            anatomy.vessel.astype(np.uint8),
            {"units": "1", "long_name": "large vessel"},
        ),
        "tumor_fraction_initial": (
            xyz,
            anatomy.tumor_fraction,
            {"units": "1", "long_name": "tumour volume fraction"},
        ),
    }
    if anatomy.organ is not None:
        data["organ"] = (
            xyz,
            anatomy.organ.astype(np.uint8),
            {"units": "1", "long_name": "segmented organ, with its tumours and vessels"},
        )
    shape = grid.shape

    def stack(entries: list[Mapping[str, np.ndarray]], pick: Any, dtype: Any = None) -> Any:
        """The entries' ``pick`` stacked (lazily when they are on disk)."""
        dtype = np.asarray(pick(entries[0])).dtype if dtype is None else dtype
        return stacked(entries, pick, shape, dtype)

    states = [s[2] for s in snapshots]
    for fname, (units, desc) in FIELD_INFO.items():
        data[fname] = (
            ("snapshot", *xyz),
            stack(states, lambda e, f=fname: e[f], np.float32),
            {"units": units, "long_name": desc},
        )
    dose_info = {
        "peak_temperature": ("degC", "peak temperature during the session"),
        "min_temperature": ("degC", "lowest temperature during the session"),
        "thermal_dose": ("1", "Arrhenius damage integral Omega"),
        "cem43": ("min", "cumulative equivalent minutes at 43 degC"),
        "kill_fraction": ("1", "fraction of cells killed in the session"),
        "damage": ("1", "damage of any kind as Omega: killed fraction 1 - exp(-Omega)"),
    }
    modality_info = {
        "agent_peak_concentration": ("mol/m^3", "peak agent concentration in the tissue fluid"),
        "injectate_peak_fraction": ("1", "peak share of the tissue fluid that was injectate"),
        "demand_consumed_fraction": ("1", "share of the tissue's agent demand consumed"),
        # irreversible electroporation
        "max_field": ("V/m", "largest electric field over the electrode pairs of the session"),
    }
    if session_fields:
        for fname, (units, desc) in dose_info.items():
            pick = damage_of if fname == "damage" else (lambda e, f=fname: e[f])
            data[fname] = (
                ("session", *xyz),
                stack(session_fields, pick),
                {"units": units, "long_name": desc},
            )
        nan = np.full(shape, np.nan, np.float32)
        for fname, (units, desc) in modality_info.items():
            if any(fname in f for f in session_fields):  # NaN for sessions without one
                data[fname] = (
                    ("session", *xyz),
                    stack(session_fields, lambda e, f=fname: e.get(f, nan), np.float32),
                    {"units": units, "long_name": desc},
                )
        data["ablation_zone"] = (
            ("session", *xyz),
            stack(session_fields, lambda e: damage_of(e) >= ZONE_OMEGA, np.uint8),
            {"units": "1", "long_name": f"ablation zone (damage Omega >= {ZONE_OMEGA:g})"},
        )
    maps = [m for _, m in scan_maps]
    for fname, desc in MAP_INFO.items():
        if maps:
            data[fname] = (
                ("scan", *xyz),
                stack(maps, lambda e, f=fname: e[f], np.float32),
                {"units": "1", "long_name": desc},
            )
    ds = xr.Dataset(data, coords=coords)
    ds.attrs.update(
        {
            "scenario": scenario_yaml,
            "tissuefate_version": __version__,
            "seed": scenario.seed,
            "strategy": strategy,
            "research_use": RESEARCH_USE,
            # voxel index -> mm: the image's scanner coordinates (RAS+) for an anatomy from an
            # image, else the grid's own frame (the x, y, z coordinates)
            "affine_mm": (
                anatomy.world_affine if anatomy.world_affine is not None else grid_affine(grid)
            ).tolist(),
            "frame": "scanner" if anatomy.world_affine is not None else "grid",
            # whether the report draws 3-D views (outputs.views_3d; default: on an image)
            "views_3d": bool(
                anatomy.world_affine is not None
                if scenario.outputs.views_3d is None
                else scenario.outputs.views_3d
            ),
        }
    )
    if anatomy.source_image is not None:
        ds.attrs["source_image"] = anatomy.source_image
    return ds
