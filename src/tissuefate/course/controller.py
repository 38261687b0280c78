"""Run a strategy of a scenario: build the tissue, run each session, measure, collect outputs.

The loop is not for editing: observers (a progress callback today; snapshots and checkpoints with
the repair model) watch it from outside.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from .._version import __version__
from ..damage.zone import ZONE_OMEGA, min_margin, zone_axes
from ..errors import ScenarioError
from ..grid.anatomy import Anatomy, TumorShape, VesselShape, build_anatomy
from ..grid.grid import Grid
from ..grid.shapes import Cylinder, Ellipsoid, Sphere
from ..modalities import RUNNERS, SessionContext, SessionResult, ThermalOptions
from ..modalities.agent import Agent, load_agent
from ..scenario.io import check_scenario, dump_scenario
from ..scenario.models import Scenario
from ..tissue.presets import TissueModel, available_presets, load_tissue
from ..tissue.state import FIELD_INFO, TissueState
from .imaging import visible_tumor
from .result import Result

__all__ = ["RESEARCH_USE", "build_tissue", "check_agents", "compare", "simulate"]

RESEARCH_USE = (
    "For research and teaching only, not for treating patients: tissuefate gives no "
    "patient-specific dosing advice."
)
TUMOR_FREE_ML = 1e-3
"""Viable tumour below this volume (1 mm³) counts as none (an assumption: a cell cluster)."""

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
    scar = state.collagen >= 0.5
    return {
        "viable_tumor_ml": float(state.tumor.sum(dtype=np.float64)) * voxel_ml,
        "visible_tumor_ml": visible,
        "necrotic_ml": float((state.coagulated + state.debris).sum(dtype=np.float64)) * voxel_ml,
        "coagulated_ml": float(state.coagulated.sum(dtype=np.float64)) * voxel_ml,
        "debris_ml": float(state.debris.sum(dtype=np.float64)) * voxel_ml,
        "scar_ml": float(scar.sum()) * voxel_ml,
        "normal_lost_ml": float(np.clip(normal0 - state.normal, 0, None).sum(dtype=np.float64))
        * voxel_ml,
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
    for n, session in enumerate(strat.sessions, start=1):
        label = f"session {n}/{n_sessions}"

        def report(frac: float, text: str, n: int = n) -> None:
            if progress is not None:
                progress((n - 1 + frac) / n_sessions, text)

        ctx = SessionContext(grid, anatomy, tissue, state, options, impl, report)
        ctx.agent = agents.get(name, {}).get(n - 1)
        before = state.copy()
        res = RUNNERS[session.modality](ctx, session, label)
        summ = _session_summary(n, session.day, res, grid, anatomy, before, state)
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
    last_day = strat.sessions[-1].day
    if scenario.follow_up_d > 0 or n_sessions > 1:
        notes.append(
            "tissue repair, clearance and tumour regrowth between and after sessions are not "
            "modelled yet: the state carries over unchanged and the outcome is evaluated right "
            "after the last session"
        )
    visible_days = [r["day"] for r in rows[1:] if r["visible_tumor_ml"] <= 0.0]
    outcome = {
        "days": last_day,
        "viable_tumor_ml": final["viable_tumor_ml"],
        "visible_tumor_ml": final["visible_tumor_ml"],
        "scar_ml": final["scar_ml"],
        "normal_lost_ml": final["normal_lost_ml"],
        "tumor_free": final["viable_tumor_ml"] < TUMOR_FREE_ML,
        "days_to_no_visible_tumor": visible_days[0]
        if visible_days and rows[0]["visible_tumor_ml"] > 0
        else None,
        "local_progression_day": None,
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
