"""A small synthetic :class:`~tissuefate.course.result.Result` for tests of writers and figures.

The numbers are plausible but made up: a spherical tumour at the grid centre, a Gaussian heat
blob around the applicator's emitting centre, Arrhenius-like damage derived from it. Nothing here
is physics; it only has the structure a real run produces.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

from ..course.result import Result

__all__ = ["synthetic_result"]

_SCENARIO_YAML = """\
name: synthetic
seed: 7
grid: {{size: [{size} mm, {size} mm, {size} mm], spacing: {spacing} mm}}
tissue: liver
tumors:
  - {{center: [0 mm, 0 mm, 0 mm], radius: 5 mm}}
strategies:
  mwa:
    sessions:
      - {{modality: microwave, power: 60 W, duration: 10 min, day: 0}}
"""

_STATE = (
    "tumor",
    "normal",
    "coagulated",
    "debris",
    "ecm",
    "vessels",
    "occlusion",
    "inflammation",
    "myofibroblasts",
    "collagen",
    "water",
)


def synthetic_result(shape: tuple[int, int, int] = (12, 12, 12), sessions: int = 1) -> Result:
    """A :class:`Result` with every part filled in, on a grid of ``shape`` voxels of 2 mm.

    ``sessions`` microwave sessions are given 14 days apart, the first on day 0; the last one's
    applicator is tilted so that its axis is not a coordinate axis.
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
    labels.append("end of course")
    snap_days.append(days[-1] + 30.0)
    n_snap = len(labels)

    state = {}
    for name in _STATE:
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
    size = shape[0] * spacing
    scenario_yaml = _SCENARIO_YAML.format(size=size, spacing=spacing)
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
    return Result(
        summary=summary,
        timeseries=timeseries,
        fields=fields,
        session_timeseries=pd.DataFrame(ts_rows),
        scenario_yaml=scenario_yaml,
        extras=extras,
    )
