"""A small synthetic :class:`~tissuefate.io.result.Result` for tests of writers and figures.

The numbers are plausible but made up: a spherical tumour at the grid centre, a Gaussian heat
blob around the applicator's emitting centre, Arrhenius-like damage derived from it, and (with
``repair_days``) an ablation zone that is cleared and turns partly into collagen. Nothing here is
physics; it only has the structure a real run produces. Its scenario (``scenario_yaml``) is a
valid scenario of the same grid, tumour and sessions when every side has at least 8 voxels.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from tissuefate.biology.repair import REPAIR_FIELDS
from tissuefate.io.result import Result

__all__ = ["synthetic_result"]

#: The scenario of a synthetic result, in the format of ``examples/*.yaml``; ``{sessions}`` and
#: ``{repair}`` are filled in by :func:`_scenario_yaml`.
_SCENARIO_YAML = """\
name: synthetic
seed: 7
grid: {{size: [{size}], spacing: {spacing:g} mm}}
tissue: liver
anatomy:
  tumors:
    - {{name: t1, shape: sphere, center: [0 mm, 0 mm, 0 mm], radius: 5 mm, preset: hcc}}
strategies:
  mwa:
    sessions:
{sessions}{repair}"""
_SESSION_YAML = """\
      - day: {day:g}
        modality: microwave
        applicators: [{{tip: [{tip}], direction: [{direction}], antenna: dual_slot}}]
        power: 60 W
        duration: 10 min
"""
#: Distance of the applicator tip beyond the session's focus, mm.
_TIP_BEYOND_MM = 5.0


#: State variables only a run with repair has.
_REPAIR_STATE = ("phagocytes", "injury")
#: State variables of every run.
_STATE = tuple(name for name in REPAIR_FIELDS if name not in _REPAIR_STATE)
#: Days after the last session of the follow-up snapshots of a result with repair.
_FOLLOW_UP_SNAPSHOTS_D = (30.0, 180.0)
#: Repair step of a result with repair, h.
_REPAIR_STEP_H = 6.0
#: A few made-up repair parameters in the form of ``RepairParameters.table()``.
_REPAIR_PARAMETERS = {
    "injury_signal_lifetime": {
        "value": 2.0,
        "units": "d",
        "provenance": "assumption: the inflammatory phase lasts about 0-5 days",
    },
    "inflammation_time": {
        "value": 3.0,
        "units": "d",
        "provenance": "assumption: inflammation resolves within the first week",
    },
    "heat_immunogenicity": {
        "value": 0.3,
        "units": "1",
        "provenance": "assumption: heat-fixed necrosis releases little signal",
    },
    "coagulated_clearance_rate": {
        "value": 0.012,
        "units": "1/d",
        "provenance": "calibrated to the thyroid RFA surrogate (benchmarks/calibrate_repair.py)",
    },
    "trapped_necrosis_gain": {
        "value": 1.5,
        "units": "1",
        "provenance": "calibrated to the thyroid RFA surrogate (benchmarks/calibrate_repair.py)",
    },
    "phagocyte_diffusivity": {
        "value": 0.4,
        "units": "mm^2/d",
        "provenance": "scenario override",
    },
    "collagen_deposition_rate": {
        "value": 0.05,
        "units": "1/d",
        "provenance": "assumption: a mature scar forms over weeks to months",
    },
    "cell_density": {
        "value": 2.0e8,
        "units": "1/mL",
        "provenance": "hepatocytes per mL of liver (textbook value)",
    },
}
_HYPOTHESES = {
    "H3": "the agent's reversible_vascular_fraction and occlusion_recovery_time",
    "H4": "the agent's fixation (debris vs coagulated) and the clearance rates",
    "H5": "immunogenicity (agent, or repair.heat_/cold_immunogenicity) and the fibrosis gains",
}


def _scenario_yaml(
    shape: tuple[int, int, int],
    spacing: float,
    days: list[float],
    focus: list[tuple[float, float, float]],
    axes: list[tuple[float, float, float]],
    repair_days: int,
) -> str:
    """The scenario of the result: its grid, the tumour, a microwave session per day in ``days``
    (applicator along ``-axis`` with its tip :data:`_TIP_BEYOND_MM` beyond the focus) and, with
    ``repair_days`` > 0, the follow-up with tissue repair."""
    sessions = ""
    for day, f, a in zip(days, focus, axes, strict=True):
        tip = ", ".join(f"{c - _TIP_BEYOND_MM * d:g} mm" for c, d in zip(f, a, strict=True))
        direction = ", ".join(f"{0.0 - d:g}" for d in a)  # 0.0 - d: no "-0"
        sessions += _SESSION_YAML.format(day=day, tip=tip, direction=direction)
    repair = ""
    if repair_days > 0:
        repair = f"follow_up: {repair_days} d\n"
        repair += f"repair: {{step: {_REPAIR_STEP_H:g} h, growth_law: logistic}}\n"
    size = ", ".join(f"{n * spacing:g} mm" for n in shape)
    return _SCENARIO_YAML.format(size=size, spacing=spacing, sessions=sessions, repair=repair)


def _follow_up_days(last_day: float, repair_days: int) -> list[float]:
    """Days of the follow-up snapshots: 30 and 180 days after the last session where within
    ``repair_days``, else the end of the follow-up; none without repair."""
    if repair_days <= 0:
        return []
    within = [last_day + d for d in _FOLLOW_UP_SNAPSHOTS_D if d <= repair_days]
    return within or [last_day + float(repair_days)]


def _heal(
    state: dict[str, np.ndarray], snap: int, t: float, tumor0: np.ndarray, kill: np.ndarray
) -> None:
    """Overwrite snapshot ``snap`` of ``state`` with the tissue ``t`` days after a session that
    killed ``kill`` (volume fractions): dead tissue cleared with a 60-day time constant, partly
    replaced by collagen, surviving tumour regrowing within the initial tumour."""
    gone = 1.0 - np.exp(-t / 60.0)
    dead = kill * (1.0 - gone)
    state["coagulated"][snap] = 0.8 * dead
    state["debris"][snap] = 0.2 * dead
    state["collagen"][snap] = 0.9 * kill * gone
    state["myofibroblasts"][snap] = 0.3 * kill * (t / 14.0) * np.exp(1.0 - t / 14.0)
    state["tumor"][snap] = np.minimum(tumor0, tumor0 * (1.0 - kill) * np.exp(t / 90.0))
    taken = sum(state[k][snap] for k in ("coagulated", "debris", "collagen", "myofibroblasts"))
    state["normal"][snap] = np.clip(1.0 - state["tumor"][snap] - taken, 0.0, 1.0)
    state["inflammation"][snap] = 0.8 * kill * (t / 3.0) * np.exp(1.0 - t / 3.0)
    state["phagocytes"][snap] = 0.3 * kill * np.exp(-t / 30.0)
    state["injury"][snap] = kill * np.exp(-t / 2.0)


def _repair_timeseries(
    days: list[float],
    repair_days: int,
    viable0: float,
    cumulative_kill: np.ndarray,
    tumor0: np.ndarray,
    voxel_ml: float,
) -> pd.DataFrame:
    """The timeseries of a run with repair: a baseline row, a row per session end and a repair
    row every :data:`_REPAIR_STEP_H` h between the sessions and for ``repair_days`` after the
    last one (volumes in mL)."""
    dead_ml = [float(k.sum()) * voxel_ml for k in cumulative_kill]
    normal_ml = [float((k * (1.0 - tumor0)).sum()) * voxel_ml for k in cumulative_kill]
    step = _REPAIR_STEP_H / 24.0
    ends = [*days[1:], days[-1] + float(repair_days)]
    timeline = [(0.0, "baseline", -1)]
    for k, (start, end) in enumerate(zip(days, ends, strict=True)):
        timeline.append((start, f"session {k + 1} end", k))
        n_steps = round((end - start) / step)
        timeline += [(start + (i + 1) * step, "repair", k) for i in range(n_steps)]
    rows = []
    for day, event, k in timeline:
        t = day - days[k] if k >= 0 else 0.0
        dead0 = dead_ml[k] if k >= 0 else 0.0
        left = np.exp(-t / 60.0)
        necrotic = dead0 * left
        collagen = 0.25 * dead0 * (1.0 - left)
        myo = 0.1 * dead0 * (t / 14.0) * np.exp(1.0 - t / 14.0)
        viable = viable0 * (0.05 ** (k + 1)) * np.exp(-t / 60.0)
        rows.append(
            {
                "day": day,
                "event": event,
                "viable_tumor_ml": viable,
                "visible_tumor_ml": viable if viable > 5e-3 else 0.0,
                "necrotic_ml": necrotic,
                "coagulated_ml": 0.8 * necrotic,
                "debris_ml": 0.2 * necrotic,
                "scar_ml": 0.2 * dead0 * (1.0 - np.exp(-t / 90.0)),
                "normal_lost_ml": (normal_ml[k] if k >= 0 else 0.0) * (0.7 + 0.3 * left),
                "lesion_ml": necrotic + myo + collagen,
                "collagen_ml": collagen,
                "myofibroblasts_ml": myo,
                "inflammation_max": 0.8 * (t / 3.0) * np.exp(1.0 - t / 3.0) if k >= 0 else 0.0,
            }
        )
    return pd.DataFrame(rows)


def _add_repair_summary(
    summary: dict[str, Any],
    timeseries: pd.DataFrame,
    days: list[float],
    repair_days: int,
    voxel_ml: float,
) -> None:
    """Fill in ``summary["repair"]``, each session's ``repair_inputs`` and the outcome of a run
    with repair from ``timeseries``."""
    inputs = {
        "immunogenicity": 0.3,
        "immunogenicity_from": "repair.heat_immunogenicity",
        "occlusion_recovery_d": 7.0,
        "occlusion_recovery_from": "repair.occlusion_recovery_time",
    }
    for session in summary["sessions"]:
        session["repair_inputs"] = dict(inputs)
    last = int(np.flatnonzero(timeseries["event"].str.startswith("session").to_numpy())[-1])
    lesion = timeseries["lesion_ml"].to_numpy(dtype=float)
    final = timeseries.iloc[-1]
    necrotic = timeseries["necrotic_ml"].to_numpy(dtype=float)
    summary["repair"] = {
        "step_h": _REPAIR_STEP_H,
        "growth_law": "logistic",
        "parameters": {k: dict(v) for k, v in _REPAIR_PARAMETERS.items()},
        "sessions": [dict(inputs) for _ in summary["sessions"]],
        "hypotheses": dict(_HYPOTHESES),
        "cleared_ml": float(np.clip(-np.diff(necrotic), 0.0, None).sum()),
        "lesion_after_last_session_ml": float(lesion[last]),
        "lesion_peak_ml": float(lesion[last:].max()),
        "lesion_final_ml": float(lesion[-1]),
        "extinction_fraction": 1.0 / (_REPAIR_PARAMETERS["cell_density"]["value"] * voxel_ml),
        "steps": int((timeseries["event"] == "repair").sum()),
        "wall_time_s": 0.75,
    }
    invisible = timeseries["day"][(timeseries["visible_tumor_ml"] <= 0.0).to_numpy()]
    summary["outcome"] |= {
        "days": days[-1] + float(repair_days),
        "viable_tumor_ml": float(final["viable_tumor_ml"]),
        "visible_tumor_ml": float(final["visible_tumor_ml"]),
        "scar_ml": float(final["scar_ml"]),
        "normal_lost_ml": float(final["normal_lost_ml"]),
        "tumor_free": bool(final["viable_tumor_ml"] < 1e-3),
        "days_to_no_visible_tumor": float(invisible.iloc[0]) if len(invisible) else None,
        "local_progression_day": None,
    }


def synthetic_result(
    shape: tuple[int, int, int] = (12, 12, 12), sessions: int = 1, repair_days: int = 0
) -> Result:
    """A :class:`Result` with every part filled in, on a grid of ``shape`` voxels of 2 mm.

    ``sessions`` microwave sessions are given 14 days apart, the first on day 0; the last one's
    applicator is tilted so that its axis is not a coordinate axis.

    With ``repair_days`` > 0 the result looks like a run with tissue repair followed for that many
    days after the last session: the timeseries has a ``"baseline"`` row, ``"session N end"`` rows
    and a ``"repair"`` row every 6 h (with ``lesion_ml``, ``collagen_ml``,
    ``myofibroblasts_ml``, ``inflammation_max``, ...); the ``"end of course"`` snapshot is replaced
    by snapshots ``"day N"`` 30 and 180 days after the last session (those within the follow-up,
    else one at its end) with the ablation zone partly cleared and turned into collagen;
    ``summary["repair"]`` and each session's ``repair_inputs`` are filled in. ``repair_days`` = 0
    gives the result without repair.
    """
    spacing = 2.0
    coords = {
        dim: ((np.arange(n) + 0.5) * spacing - 0.5 * n * spacing)
        for dim, n in zip("xyz", shape, strict=True)
    }
    X, Y, Z = np.meshgrid(coords["x"], coords["y"], coords["z"], indexing="ij")
    r_tumor = np.sqrt(X**2 + Y**2 + Z**2)
    tumor0 = np.clip(5.0 - r_tumor + 0.5 * spacing, 0.0, spacing) / spacing
    material = np.where(tumor0 > 0.5, 2, 1).astype(np.uint8)
    vessel = (np.hypot(X - 6.0, Y) < 1.5).astype(np.uint8)

    days = [14.0 * k for k in range(sessions)]
    focus = [(1.0 * k, 0.0, 0.0) for k in range(sessions)]
    axes = [(0.0, 0.0, 1.0) for _ in range(sessions)]
    if sessions > 1:
        axes[-1] = (0.8, 0.0, 0.6)

    peak, omega = [], []
    for (fx, fy, fz), (ax, ay, az) in zip(focus, axes, strict=True):
        dx, dy, dz = X - fx, Y - fy, Z - fz
        along = dx * ax + dy * ay + dz * az
        across2 = dx**2 + dy**2 + dz**2 - along**2
        t = 37.0 + 63.0 * np.exp(-(across2 / (2 * 4.0**2) + along**2 / (2 * 6.0**2)))
        peak.append(t)
        omega.append(np.exp((t - 60.0) / 4.0))
    peak_a = np.stack(peak).astype(np.float32)
    omega_a = np.stack(omega).astype(np.float32)
    kill = (1.0 - np.exp(-omega_a)).astype(np.float32)
    zone = (omega_a >= 1.0).astype(np.uint8)
    cumulative_kill = 1.0 - np.cumprod(1.0 - kill, axis=0)

    labels = ["before session 1"]
    snap_days = [0.0]
    for k in range(sessions):
        labels.append(f"after session {k + 1}")
        snap_days.append(days[k] + 10.0 / 1440.0)
    follow = _follow_up_days(days[-1], repair_days)
    if repair_days > 0:
        labels += [f"day {d:g}" for d in follow]
        snap_days += follow
    else:
        labels.append("end of course")
        snap_days.append(days[-1] + 30.0)
    n_snap = len(labels)

    state = {}
    for name in _STATE + (_REPAIR_STATE if repair_days > 0 else ()):
        arr = np.zeros((n_snap, *shape), np.float32)
        state[name] = arr
    state["tumor"][0] = tumor0
    state["normal"][0] = 1.0 - tumor0
    for s in range(1, n_snap):
        k = min(s - 1, sessions - 1)
        state["tumor"][s] = tumor0 * (1.0 - cumulative_kill[k])
        state["coagulated"][s] = cumulative_kill[k]
        state["normal"][s] = (1.0 - tumor0) * (1.0 - cumulative_kill[k])
    state["water"][:] = 0.7
    state["vessels"][:] = vessel
    for snap, day in enumerate(follow, start=n_snap - len(follow)):
        _heal(state, snap, day - days[-1], tumor0, cumulative_kill[-1])

    def _v(dims, data, units, long_name):
        return (dims, data, {"units": units, "long_name": long_name})

    xyz = ("x", "y", "z")
    data_vars = {
        "material": _v(xyz, material, "1", "material label"),
        "tumor_id": _v(xyz, (tumor0 > 0.5).astype(np.uint8), "1", "tumour number (0: none)"),
        "vessel": _v(xyz, vessel, "1", "large vessel mask"),
        "tumor_fraction_initial": _v(
            xyz, tumor0.astype(np.float32), "1", "tumour volume fraction at the start"
        ),
    }
    for name, arr in state.items():
        data_vars[name] = _v(("snapshot", *xyz), arr, "1", f"{name} volume fraction")
    sxyz = ("session", *xyz)
    data_vars |= {
        "peak_temperature": _v(sxyz, peak_a, "degC", "peak temperature"),
        "min_temperature": _v(sxyz, np.full_like(peak_a, 37.0), "degC", "minimum temperature"),
        "thermal_dose": _v(sxyz, omega_a, "1", "Arrhenius damage integral"),
        "cem43": _v(sxyz, (omega_a * 240.0).astype(np.float32), "min", "CEM43"),
        "kill_fraction": _v(sxyz, kill, "1", "cell kill fraction"),
        "ablation_zone": _v(sxyz, zone, "1", "ablation zone (Omega >= 1)"),
    }
    scenario_yaml = _scenario_yaml(shape, spacing, days, focus, axes, repair_days)
    fields = xr.Dataset(
        data_vars,
        coords={
            **{
                d: (d, c, {"units": "mm", "long_name": f"{d} (voxel centre)"})
                for d, c in coords.items()
            },
            "snapshot": ("snapshot", np.arange(n_snap)),
            "snapshot_label": ("snapshot", np.array(labels)),
            "snapshot_day": ("snapshot", np.array(snap_days), {"units": "d"}),
            "session": ("session", np.arange(1, sessions + 1)),
        },
        attrs={
            "scenario": scenario_yaml,
            "tissuefate_version": "0.0.0+synthetic",
            "seed": 7,
            "strategy": "mwa",
        },
    )

    voxel_ml = spacing**3 / 1000.0
    session_summaries = []
    ts_rows = []
    for k in range(sessions):
        zone_ml = float(zone[k].sum()) * voxel_ml
        session_summaries.append(
            {
                "index": k + 1,
                "day": days[k],
                "modality": "microwave",
                "delivered": {
                    "power_w": np.float64(60.0),
                    "duration_s": 600,
                    "frequency_mhz": 2450,
                },
                "peak_temperature_c": np.float32(peak_a[k].max()),
                "min_temperature_c": 37.0,
                "solver": {"steps": np.int64(1200), "dt_s": 0.5, "wall_time_s": 1.25},
                "ablation_zone": {
                    "volume_ml": zone_ml,
                    "long_axis_mm": 24.0,
                    "short_axis_mm": 16.0,
                },
                "tumor_kill_fraction": float((kill[k] * tumor0).sum() / max(tumor0.sum(), 1e-12)),
                "min_margin_mm": float("nan") if k else np.float64(3.5),
                "normal_necrosis_ml": float((kill[k] * (1 - tumor0)).sum() * voxel_ml),
            }
        )
        for step, t_s in enumerate(np.arange(0.0, 901.0, 30.0)):
            on = t_s <= 600.0
            heat = 1.0 - np.exp(-t_s / 120.0) if on else np.exp(-(t_s - 600.0) / 90.0)
            ts_rows.append(
                {
                    "session": k + 1,
                    "time_s": t_s,
                    "phase": "on" if on else "off",
                    "source_power_w": 60.0 if on else 0.0,
                    "delivered_energy_j": 60.0 * min(t_s, 600.0),
                    "max_temperature_c": 37.0 + 63.0 * heat,
                    "ablation_zone_ml": zone_ml * min(1.0, step / 15.0),
                    "tumor_kill_fraction": min(1.0, step / 18.0),
                }
            )

    viable0 = float(tumor0.sum()) * voxel_ml
    tl_days = sorted({*days, *(d + 1 for d in days), *(d + 7 for d in days), days[-1] + 30.0})
    timeseries = pd.DataFrame(
        {
            "day": tl_days,
            "viable_tumor_ml": [viable0 * 0.05 ** sum(d > s for s in days) for d in tl_days],
            "visible_tumor_ml": [viable0] * len(tl_days),
            "necrotic_ml": np.linspace(0.0, 5.0, len(tl_days)),
            "scar_ml": np.linspace(0.0, 2.0, len(tl_days)),
            "normal_lost_ml": np.linspace(0.0, 1.0, len(tl_days)),
            "event": ["session end" if d in days else "" for d in tl_days],
        }
    )

    summary = {
        "scenario": "synthetic",
        "strategy": "mwa",
        "version": "0.0.0+synthetic",
        "seed": np.int64(7),
        "wall_time_s": 2.5,
        "sessions": session_summaries,
        "outcome": {
            "days": days[-1] + 30.0,
            "viable_tumor_ml": float(timeseries["viable_tumor_ml"].iloc[-1]),
            "visible_tumor_ml": viable0,
            "scar_ml": 2.0,
            "normal_lost_ml": 1.0,
            "tumor_free": np.bool_(False),
            "days_to_no_visible_tumor": float("nan"),
            "local_progression_day": None,
            "treatability": "re-treatable",
        },
    }
    extras = {
        "sessions": [
            {
                "focus_mm": list(focus[k]),
                "axis": list(axes[k]),
                "label": f"session {k + 1}: microwave 60 W, 10 min, day {days[k]:g}",
            }
            for k in range(sessions)
        ]
    }
    if repair_days > 0:
        timeseries = _repair_timeseries(
            days, repair_days, viable0, cumulative_kill, tumor0, voxel_ml
        )
        _add_repair_summary(summary, timeseries, days, repair_days, voxel_ml)
    return Result(
        summary=summary,
        timeseries=timeseries,
        fields=fields,
        session_timeseries=pd.DataFrame(ts_rows),
        scenario_yaml=scenario_yaml,
        extras=extras,
    )
