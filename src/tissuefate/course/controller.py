"""Run a strategy of a scenario: build the tissue, run each session, measure, collect outputs.

The loop is not for editing: observers (a progress callback today; snapshots and checkpoints with
the repair model) watch it from outside.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from .._version import __version__
from ..biology.repair import RepairModel, RepairParameters, load_repair
from ..damage.zone import ZONE_OMEGA, min_margin, zone_axes
from ..errors import NumericalError, ScenarioError
from ..grid.anatomy import Anatomy, TumorShape, VesselShape, build_anatomy
from ..grid.grid import Grid
from ..grid.shapes import Cylinder, Ellipsoid, Sphere
from ..kernels.repair import pool_totals
from ..modalities import RUNNERS, SessionContext, SessionResult, ThermalOptions
from ..modalities.agent import Agent, load_agent
from ..scenario.io import check_scenario, dump_scenario
from ..scenario.models import Scenario
from ..tissue.presets import TissueModel, available_presets, load_tissue
from ..tissue.state import FIELD_INFO, TissueState
from .imaging import visible_tumor
from .result import Result

__all__ = ["RESEARCH_USE", "build_tissue", "check_agents", "check_repair", "compare", "simulate"]

RESEARCH_USE = (
    "For research and teaching only, not for treating patients: tissuefate gives no "
    "patient-specific dosing advice."
)
TUMOR_FREE_ML = 1e-3
"""Viable tumour below this volume (1 mm³) counts as none (an assumption: a cell cluster)."""
PROGRESSION_VOLUME_RATIO = 1.2**3
"""Local progression: visible tumour reappears, or grows by this factor over its smallest volume
after the last session (a 20 % longer diameter, the RECIST 1.1 threshold of progressive disease,
as a volume ratio; RECIST is the standard, not a number from the project's references)."""
DAY = 86400.0

Progress = Callable[[float, str], None]


def build_tissue(
    scenario: Scenario, source: str | None = None
) -> tuple[Grid, TissueModel, Anatomy]:
    """Grid, resolved tissue presets and anatomy of a scenario."""
    spec = scenario.grid
    grid = Grid(shape=spec.shape, spacing=spec.spacing_m)
    known = available_presets()
    if scenario.tissue.preset not in known:
        raise ScenarioError(
            f"unknown tissue preset {scenario.tissue.preset!r}; available: {', '.join(known)}",
            source=source,
            key="tissue.preset",
        )
    for i, tumor in enumerate(scenario.anatomy.tumors):
        if tumor.preset not in known:
            raise ScenarioError(
                f"unknown tissue preset {tumor.preset!r}; available: {', '.join(known)}",
                source=source,
                key=f"anatomy.tumors[{i}].preset",
            )
    tissue = load_tissue(
        scenario.tissue.preset,
        [t.preset for t in scenario.anatomy.tumors],
        scenario.tissue.parameters,
        source=source,
    )
    tumors = []
    for t in scenario.anatomy.tumors:
        shape = (
            Sphere(t.center_m, t.radius_m)
            if t.shape == "sphere"
            else Ellipsoid(t.center_m, t.semi_axes_m)
        )
        tumors.append(TumorShape(t.name, shape, tissue.index(t.preset)))
    vessels = [
        VesselShape(v.name, Cylinder(v.start_m, v.end_m, v.radius_m))
        for v in scenario.anatomy.vessels
    ]
    try:
        anatomy = build_anatomy(grid, tumors, vessels)
    except ValueError as exc:
        name = str(exc).split("'")[1] if "'" in str(exc) else ""
        idx = next((i for i, v in enumerate(scenario.anatomy.vessels) if v.name == name), 0)
        raise ScenarioError(str(exc), source=source, key=f"anatomy.vessels[{idx}].radius") from exc
    return grid, tissue, anatomy


def check_agents(scenario: Scenario, source: str | None = None) -> dict[str, dict[int, Agent]]:
    """Resolve the agent of every injection session (before any work starts).

    Returns ``{strategy: {session index: Agent}}``; raises :class:`ScenarioError` naming the
    session's ``agent`` or ``agent_parameters`` key for an unknown agent or a bad override.
    """
    out: dict[str, dict[int, Agent]] = {}
    for name, strat in scenario.strategies.items():
        for i, session in enumerate(strat.sessions):
            if session.modality != "injection":
                continue
            key = f"strategies.{name}.sessions[{i}].agent"
            agent = load_agent(session.agent, session.agent_parameters, source=source, key=key)
            out.setdefault(name, {})[i] = agent
    return out


def check_repair(scenario: Scenario, source: str | None = None) -> RepairParameters | None:
    """Resolve the repair parameters (before any work starts); None when repair is off or the
    base tissue has no repair model. Raises :class:`ScenarioError` naming
    ``repair.parameters.NAME`` for a bad override."""
    params = load_repair(scenario.tissue.preset, scenario.repair.parameters, source=source)
    return params if scenario.repair.enabled else None


def _thermal_options(scenario: Scenario) -> ThermalOptions:
    th = scenario.thermal
    return ThermalOptions(
        initial_temperature=th.initial_temperature_c,
        boundary=th.boundary,
        boundary_temperature=th.boundary_temperature_c,
        dtype=th.dtype,
        time_step_safety=th.time_step_safety,
        time_step=th.time_step_s,
        update_interval=th.update_interval_s,
        record_interval=th.record_interval_s,
        perfusion_shutdown=th.perfusion_shutdown,
    )


def _volumes(state: TissueState, normal0: np.ndarray, voxel_ml: float) -> dict[str, float]:
    visible, _ = visible_tumor(state.tumor, voxel_ml)
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
    }


def _session_summary(
    index: int,
    day: float,
    res: SessionResult,
    grid: Grid,
    anatomy: Anatomy,
    before: TissueState,
    after: TissueState,
) -> dict[str, Any]:
    voxel_ml = grid.voxel_volume * 1e6
    axes_mm = grid.axes_mm()
    zone = _damage(res.fields) >= ZONE_OMEGA
    axis = res.focus[1]
    axes = zone_axes(zone, grid.spacing * 1e3, axes_mm, axis)
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
        "ablation_zone": {
            "volume_ml": axes.volume_ml,
            "long_axis_mm": axes.long_axis_mm,
            "short_axis_mm": axes.short_axis_mm,
            "threshold_omega": ZONE_OMEGA,
        },
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


def _damage(fields: dict[str, np.ndarray]) -> np.ndarray:
    """Damage Ω of any modality (killed fraction 1 - exp(-Ω)); heat-only results lack the key."""
    return fields["damage"] if "damage" in fields else fields["thermal_dose"]


def _describe(session: Any) -> str:
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
    if session.modality == "injection":
        return (
            f"injection of {session.volume_m3 * 1e6:g} mL {session.agent} at "
            f"{len(session.sites)} site(s)"
        )
    return f"{session.modality}, {session.duration_s / 60:g} min"


def _repair_model(
    scenario: Scenario,
    grid: Grid,
    tissue: TissueModel,
    anatomy: Anatomy,
    impl: str,
    source: str | None,
) -> RepairModel | None:
    """The repair model of the scenario, or None when it is off or the tissue has none."""
    params = check_repair(scenario, source)
    if params is None:
        return None
    return RepairModel(grid, anatomy, tissue, params, law=scenario.repair.growth_law, impl=impl)  # type: ignore[arg-type]


def _repair_inputs(
    session: Any, agent: Agent | None, params: RepairParameters
) -> tuple[float, float | None, dict[str, Any]]:
    """Immunogenicity of a session's kill and the occlusion recovery time after it, with where
    each comes from (the agent for injections, the repair parameters otherwise)."""
    if agent is not None:
        imm, imm_from = agent.immunogenicity, f"agent {agent.name}: immunogenicity"
        recovery: float | None = agent.occlusion_recovery_time
        rec_from = f"agent {agent.name}: occlusion_recovery_time"
    else:
        key = "cold_immunogenicity" if session.modality == "cryo" else "heat_immunogenicity"
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


def _repair_interval(
    repair: RepairModel,
    state: TissueState,
    start: float,
    end: float,
    step: float,
    recovery: float | None,
    pending: list[float],
    rows: list[dict[str, Any]],
    snapshots: list[tuple[str, float, TissueState]],
    normal0: np.ndarray,
    voxel_ml: float,
    report: Callable[[float], None],
    clock: dict[str, float],
) -> float:
    """Repair from day ``start`` to ``end``: a row per step, a snapshot at each pending day.

    ``clock`` accumulates the wall time (``wall_s``) and the number of steps (``steps``).
    """
    stops = [d for d in pending if start < d < end] + [end]
    day = start
    began = time.perf_counter()
    for stop in stops:
        checked = math.floor(day)
        for t in repair.advance(state, (stop - day) * DAY, step, occlusion_recovery_time=recovery):
            now = day + t / DAY
            rows.append({"day": now, "event": "repair", **_volumes(state, normal0, voxel_ml)})
            if math.floor(now) > checked or t >= (stop - day) * DAY:  # once a day, and at stop
                _check_finite(state, now, int(clock["steps"]) + 1)
                checked = math.floor(now)
            report(now)
            clock["steps"] += 1
        day = stop
        if stop in pending:
            snapshots.append((f"day {stop:g}", stop, state.copy()))
    clock["wall_s"] += time.perf_counter() - began
    return end


def _check_finite(state: TissueState, day: float, step: int) -> None:
    """Raise :class:`NumericalError` naming the first state field and voxel that is not finite."""
    for fname, arr in state.as_dict().items():
        if not np.isfinite(arr).all():
            idx = tuple(int(i) for i in np.argwhere(~np.isfinite(arr))[0])
            raise NumericalError(
                f"repair produced a non-finite value on day {day:.2f}",
                step=step,
                field=fname,
                index=idx,
            )


def _local_progression(rows: list[dict[str, Any]], last_day: float) -> float | None:
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


def _repair_summary(
    scenario: Scenario,
    repair: RepairModel,
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
        "cleared_ml": repair.cleared * voxel_ml,
        "lesion_after_last_session_ml": start,
        "lesion_peak_ml": peak,
        "lesion_final_ml": rows[-1]["lesion_ml"],
        "extinction_fraction": repair.extinction,
    }


def simulate(
    scenario: Scenario,
    strategy: str | None = None,
    *,
    progress: Progress | None = None,
    impl: str = "compiled",
    source: str | None = None,
) -> Result:
    """Simulate one strategy of ``scenario``.

    Parameters
    ----------
    scenario
        A validated scenario (:func:`tissuefate.load_scenario`).
    strategy
        Name of the strategy; may be omitted when the scenario has only one.
    progress
        Called with (fraction of the run done, status text) as it goes.
    impl
        ``"compiled"`` (numba kernels, default) or ``"numpy"`` (reference implementation, slow).
    source
        The scenario's file name, for error messages.

    Returns
    -------
    Result
        ``.summary`` (dict), ``.timeseries`` (DataFrame), ``.fields`` (xarray.Dataset) and more.
    """
    started = time.perf_counter()
    check_scenario(scenario, source)
    name, strat = scenario.strategy(strategy)
    agents = check_agents(scenario, source)
    grid, tissue, anatomy = build_tissue(scenario, source)
    repair = _repair_model(scenario, grid, tissue, anatomy, impl, source)
    state = TissueState.initial(anatomy)
    normal0 = state.normal.copy()
    voxel_ml = grid.voxel_volume * 1e6
    options = _thermal_options(scenario)

    rows = [{"day": 0.0, "event": "baseline", **_volumes(state, normal0, voxel_ml)}]
    snapshots = [("before treatment", 0.0, state.copy())]
    sessions_summary: list[dict[str, Any]] = []
    session_fields: list[dict[str, np.ndarray]] = []
    session_rows: list[pd.DataFrame] = []
    extras: list[dict[str, Any]] = []
    n_sessions = len(strat.sessions)
    last_day = strat.sessions[-1].day
    end_day = last_day + scenario.follow_up_d
    wanted = sorted(set(scenario.outputs.snapshots_d))
    session_days = {s.day for s in strat.sessions}
    pending = [d for d in wanted if d not in session_days and 0 < d <= end_day]
    share = n_sessions / (n_sessions + 1.0) if repair is not None and end_day > 0 else 1.0

    def report_repair(day: float) -> None:
        if progress is not None and end_day > 0:
            progress(share + (1.0 - share) * day / end_day, f"repair, day {day:.0f}")

    recovery: float | None = None
    clock = {"wall_s": 0.0, "steps": 0}
    day = 0.0
    repair_info: list[dict[str, Any]] = []
    for n, session in enumerate([*strat.sessions, None], start=1):
        until = session.day if session is not None else end_day
        if repair is not None and until > day:
            day = _repair_interval(
                repair,
                state,
                day,
                until,
                scenario.repair.step_s,
                recovery,
                pending,
                rows,
                snapshots,
                normal0,
                voxel_ml,
                report_repair,
                clock,
            )
        day = until
        if session is None:
            break
        label = f"session {n}/{n_sessions}"

        def report(frac: float, text: str, n: int = n) -> None:
            if progress is not None:
                progress(share * (n - 1 + frac) / n_sessions, text)

        ctx = SessionContext(grid, anatomy, tissue, state, options, impl, report)
        ctx.agent = agents.get(name, {}).get(n - 1)
        before = state.copy()
        res = RUNNERS[session.modality](ctx, session, label)
        summ = _session_summary(n, session.day, res, grid, anatomy, before, state)
        if repair is not None:
            immunogenicity, recovery, inputs = _repair_inputs(session, ctx.agent, repair.params)
            killed = (before.tumor + before.normal) - (state.tumor + state.normal)
            repair.injure(state, killed, immunogenicity)
            summ["repair_inputs"] = inputs
            repair_info.append(inputs)
        sessions_summary.append(summ)
        session_fields.append(res.fields)
        ts = res.timeseries.copy()
        ts.insert(0, "day", session.day)
        ts.insert(0, "session", n)
        session_rows.append(ts)
        rows.append(
            {"day": session.day, "event": f"session {n} end", **_volumes(state, normal0, voxel_ml)}
        )
        snapshots.append((f"after session {n}", session.day, state.copy()))
        extras.append(
            {
                "focus_mm": [float(c) * 1e3 for c in res.focus[0]],
                "axis": None if res.focus[1] is None else [float(c) for c in res.focus[1]],
                "label": f"session {n}: {_describe(session)}, day {session.day:g}",
            }
        )

    final = rows[-1]
    notes = []
    unvalidated = {a.name: a for a in agents.get(name, {}).values() if not a.validated}
    for agent in unvalidated.values():
        notes.append(f"agent {agent.name} is UNVALIDATED: {agent.status_note}")
    if repair is None and (scenario.follow_up_d > 0 or n_sessions > 1):
        why = (
            "switched off (repair.enabled: false)"
            if not scenario.repair.enabled
            else f"not defined for tissue preset {scenario.tissue.preset!r}"
        )
        notes.append(
            f"tissue repair is {why}: the state carries over unchanged between sessions and the "
            "outcome is evaluated right after the last session"
        )
    if repair is None and pending:
        notes.append(
            "snapshots between or after sessions need the repair model and were not taken: "
            + ", ".join(f"{d:g} d" for d in pending)
        )
    late = [d for d in wanted if d > end_day]
    if late:
        notes.append(
            f"snapshots after the end of the course (day {end_day:g}) were not taken: "
            + ", ".join(f"{d:g} d" for d in late)
        )
    visible_days = [r["day"] for r in rows[1:] if r["visible_tumor_ml"] <= 0.0]
    outcome = {
        "days": end_day if repair is not None else last_day,
        "viable_tumor_ml": final["viable_tumor_ml"],
        "visible_tumor_ml": final["visible_tumor_ml"],
        "scar_ml": final["scar_ml"],
        "normal_lost_ml": final["normal_lost_ml"],
        "tumor_free": final["viable_tumor_ml"] < TUMOR_FREE_ML,
        "days_to_no_visible_tumor": visible_days[0]
        if visible_days and rows[0]["visible_tumor_ml"] > 0
        else None,
        "local_progression_day": _local_progression(rows, last_day) if repair is not None else None,
        "treatability": None,
    }
    scenario_yaml = dump_scenario(scenario)
    fields = _fields_dataset(
        grid, anatomy, snapshots, session_fields, scenario_yaml, scenario, name
    )
    summary = {
        "scenario": scenario.name,
        "strategy": name,
        "version": __version__,
        "seed": scenario.seed,
        "wall_time_s": time.perf_counter() - started,
        "research_use": RESEARCH_USE,
        "grid": {"shape": list(grid.shape), "spacing_mm": grid.spacing * 1e3},
        "sessions": sessions_summary,
        "outcome": outcome,
        "notes": notes,
    }
    if repair is not None:
        summary["repair"] = _repair_summary(scenario, repair, repair_info, rows, voxel_ml)
        summary["repair"]["steps"] = int(clock["steps"])
        summary["repair"]["wall_time_s"] = clock["wall_s"]
    if progress is not None:
        progress(1.0, "done")
    return Result(
        summary=summary,
        timeseries=pd.DataFrame(rows),
        fields=fields,
        session_timeseries=pd.concat(session_rows, ignore_index=True)
        if session_rows
        else pd.DataFrame(),
        scenario_yaml=scenario_yaml,
        extras={"sessions": extras},
    )


def _fields_dataset(
    grid: Grid,
    anatomy: Anatomy,
    snapshots: list[tuple[str, float, TissueState]],
    session_fields: list[dict[str, np.ndarray]],
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
    for fname, (units, desc) in FIELD_INFO.items():
        stack = np.stack([getattr(s[2], fname) for s in snapshots])
        data[fname] = (("snapshot", *xyz), stack, {"units": units, "long_name": desc})
    dose_info = {
        "peak_temperature": ("degC", "peak temperature during the session"),
        "min_temperature": ("degC", "lowest temperature during the session"),
        "thermal_dose": ("1", "Arrhenius damage integral Omega"),
        "cem43": ("min", "cumulative equivalent minutes at 43 degC"),
        "kill_fraction": ("1", "fraction of cells killed in the session"),
        "damage": ("1", "damage of any kind as Omega: killed fraction 1 - exp(-Omega)"),
    }
    agent_info = {
        "agent_peak_concentration": ("mol/m^3", "peak agent concentration in the tissue fluid"),
        "injectate_peak_fraction": ("1", "peak share of the tissue fluid that was injectate"),
        "demand_consumed_fraction": ("1", "share of the tissue's agent demand consumed"),
    }
    if session_fields:
        for fname, (units, desc) in dose_info.items():
            if fname == "damage":
                stack = np.stack([_damage(f) for f in session_fields])
            else:
                stack = np.stack([f[fname] for f in session_fields])
            data[fname] = (("session", *xyz), stack, {"units": units, "long_name": desc})
        for fname, (units, desc) in agent_info.items():
            if any(fname in f for f in session_fields):  # NaN for sessions without an agent
                nan = np.full(grid.shape, np.nan, np.float32)
                stack = np.stack([f.get(fname, nan) for f in session_fields])
                data[fname] = (("session", *xyz), stack, {"units": units, "long_name": desc})
        zone = np.stack([(_damage(f) >= ZONE_OMEGA).astype(np.uint8) for f in session_fields])
        data["ablation_zone"] = (
            ("session", *xyz),
            zone,
            {"units": "1", "long_name": f"ablation zone (damage Omega >= {ZONE_OMEGA:g})"},
        )
    ds = xr.Dataset(data, coords=coords)
    ds.attrs.update(
        {
            "scenario": scenario_yaml,
            "tissuefate_version": __version__,
            "seed": scenario.seed,
            "strategy": strategy,
            "research_use": RESEARCH_USE,
        }
    )
    return ds


def compare(
    scenario: Scenario, strategies: list[str] | None = None, **kwargs: Any
) -> dict[str, Result]:
    """Simulate several strategies of ``scenario`` (all by default) on the same anatomy."""
    names = list(scenario.strategies) if strategies is None else strategies
    return {name: simulate(scenario, name, **kwargs) for name in names}
