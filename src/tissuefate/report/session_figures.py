"""Figures of a thermal session (RF, microwave, laser, cryo, ...): peak (or lowest) temperature
and cell kill in two planes through the applicator, and the session's time course."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from ._layout import (
    _DIMS,
    _contour,
    _dark_legend,
    _edges,
    _figure,
    _focus,
    _panel,
    _plane,
    _planes,
    _runs,
    _session_extras,
    _session_summary,
    _style,
    _two_by_two,
)
from .ire_figures import current_panel

if TYPE_CHECKING:  # the type only: report never imports io at run time (io writes reports)
    from ..io.result import Result

__all__ = ["session_slices", "session_timecourse"]

#: Temperature of the isotherm drawn on the temperature panels, °C.
ISOTHERM_C = 60.0
#: Body temperature, the lower end of the temperature colour scale unless the data go lower, °C.
BODY_C = 37.0
_ISOTHERM_STYLE = {"colors": "0.6", "linestyles": "-", "linewidths": 0.8}
_ICE_STYLE = {"colors": "0.85", "linestyles": ":", "linewidths": 1.2}
_LETHAL_STYLE = {"colors": "orangered", "linestyles": "-", "linewidths": 1.0}


def session_slices(result: Result, session: int) -> Figure:
    """Peak temperature (top) and cell kill fraction (bottom) in two planes through the applicator.

    The planes pass through ``result.extras["sessions"][session - 1]["focus_mm"]`` (the hottest
    voxel if not given). Left: the coordinate plane containing the applicator axis; right: the plane
    perpendicular to the axis' dominant component. Outlines: initial tumour
    (``tumor_fraction_initial`` = 0.5, white dashed), ablation zone (Arrhenius damage Ω = 1, cyan)
    and the 60 °C isotherm (grey, temperature panels only; in liver the edge of the coagulation
    zone that gross pathology sees, ``damage.zone.coagulation_level``).

    Parameters
    ----------
    session
        Session number, 1-based.
    """
    ds = result.fields
    peak = ds["peak_temperature"].sel(session=session)
    kill = ds["kill_fraction"].sel(session=session)
    omega = ds["damage" if "damage" in ds else "thermal_dose"].sel(session=session)
    # a cold session (cryo) is shown by its lowest temperature, with the ice edge and lethal ice
    trough = ds["min_temperature"].sel(session=session)
    cold = float(np.nanmin(trough.values)) < 0.0 and float(np.nanmax(peak.values)) < ISOTHERM_C
    if cold:
        peak = trough
    t_name, t_cmap, isotherm = (
        ("Lowest temperature", "cividis", -40.0)
        if cold
        else ("Peak temperature", "inferno", ISOTHERM_C)
    )
    tumor = ds["tumor_fraction_initial"]
    extras = _session_extras(result, session)
    focus = _focus(result, session, peak)
    ire = _session_summary(result, session).get("modality") == "ire"
    device = "electrodes" if ire else "applicator"
    plane_a, plane_b = _planes(extras.get("axis"))

    t_min = float(np.nanmin(peak.values))
    vmin = min(BODY_C, t_min)
    vmax = max(float(np.nanmax(peak.values)), BODY_C) if cold else float(np.nanmax(peak.values))
    if not vmax > vmin:
        vmax = vmin + 1.0

    with _style():
        # the legend takes two rows: leave room for it
        fig, grid, axes = _two_by_two(9.0, right=0.91, bottom=0.125, top=0.89)
        images = {}
        for col, (hdim, vdim, ndim) in enumerate((plane_a, plane_b)):
            where = float(focus[_DIMS.index(ndim)])
            index = int(np.abs(ds[ndim].values - where).argmin())
            h = ds[hdim].values
            v = ds[vdim].values
            extent = (*_edges(h), *_edges(v))
            t_plane, k_plane, tumor_plane, omega_plane = (
                _plane(da, {ndim: index}, hdim, vdim) for da in (peak, kill, tumor, omega)
            )
            at = f"{ndim} = {float(ds[ndim].values[index]):.1f} mm"
            kind = f"along the {device}" if col == 0 else f"across the {device}"
            for row, (data, cmap, lo, hi, what) in enumerate(
                (
                    (t_plane, t_cmap, vmin, vmax, t_name),
                    (k_plane, "viridis", 0.0, 1.0, "Cell kill fraction"),
                )
            ):
                ax = axes[row, col]
                images[row] = _panel(
                    ax, data, extent, (h, v, tumor_plane, omega_plane), cmap=cmap, vmin=lo, vmax=hi
                )
                if row == 0:
                    style = _LETHAL_STYLE if cold else _ISOTHERM_STYLE
                    _contour(ax, h, v, t_plane, isotherm, style=style)
                    if cold:
                        _contour(ax, h, v, t_plane, 0.0, style=_ICE_STYLE)
                ax.plot(focus[_DIMS.index(hdim)], focus[_DIMS.index(vdim)], "+", color="0.85", ms=9)
                ax.set_title(f"{what}, {kind}\n{hdim}–{vdim} plane at {at}")
                ax.set_xlabel(f"{hdim} (mm)")
                ax.set_ylabel(f"{vdim} (mm)")
        for row, label in enumerate((f"{t_name} (°C)", "Kill fraction (0–1)")):
            fig.colorbar(images[row], cax=fig.add_subplot(grid[row, 2]), label=label)
        handles = [
            Line2D([], [], color="white", ls="--", lw=1.4, label="Tumour before treatment"),
            Line2D([], [], color="cyan", ls="-", lw=1.4, label="Ablation zone (damage Ω = 1)"),
            Line2D(
                [],
                [],
                color="orangered" if cold else "0.6",
                ls="-",
                lw=1.0 if cold else 0.8,
                label=f"{isotherm:.0f} °C isotherm" + ("" if cold else " (coagulation edge)"),
            ),
            Line2D(
                [],
                [],
                color="0.85",
                ls="none",
                marker="+",
                ms=9,
                label="Between the first two electrodes" if ire else "Applicator centre",
            ),
        ]
        if cold:
            handles.insert(3, Line2D([], [], color="0.85", ls=":", lw=1.2, label="Ice edge (0 °C)"))
        _dark_legend(fig, handles, ncols=4 if cold else 2)
        fig.suptitle(extras.get("label") or f"Session {session}")
    return fig


#: Phases of a session's time series in which the source is off (shaded as the cool-down).
_OFF_PHASES = ("off", "cool-down")


def session_timecourse(result: Result, session: int) -> Figure:
    """Maximum temperature and ablation-zone volume (top, twin axes) and delivered energy (bottom)
    against time in minutes during session ``session`` (1-based); the cool-down phase (source
    off: phases ``"off"`` and ``"cool-down"``) is shaded.

    For an IRE session (``modality: ire``) with a ``current_a`` column a panel between the two
    shows the current of each electrode pair during its train
    (:func:`tissuefate.report.ire_figures.current_panel`); the zone drawn on top is then the one
    the pulses' heat alone made (the field's kill is counted at the end of the session).
    """
    st = result.session_timeseries
    rows = st[st["session"] == session].sort_values("time_s")
    label = _session_extras(result, session).get("label") or f"Session {session}"
    ire = _session_summary(result, session).get("modality") == "ire" and "current_a" in rows
    with _style():
        fig = _figure(8.0, 9.0 if ire else 6.4)
        layout = {"left": 0.1, "right": 0.88, "bottom": 0.09, "top": 0.87, "hspace": 0.3}
        if ire:
            layout |= {"bottom": 0.06, "top": 0.91, "height_ratios": (3, 3, 2)}
            top, middle, bottom = fig.subplots(3, 1, sharex=True, gridspec_kw=layout)
            panels = (top, middle, bottom)
        else:
            layout |= {"height_ratios": (3, 2)}
            top, bottom = fig.subplots(2, 1, sharex=True, gridspec_kw=layout)
            panels = (top, bottom)
        zone_ax = top.twinx()
        zone_name = "Thermal-zone volume" if ire else "Ablation-zone volume"
        fig.suptitle(f"{label}: time course")
        if rows.empty:
            top.text(0.5, 0.5, "no time course recorded", ha="center", transform=top.transAxes)
        else:
            t_min = rows["time_s"].to_numpy(dtype=float) / 60.0
            if "phase" in rows:
                off = rows["phase"].astype(str).isin(_OFF_PHASES).to_numpy()
                for i, (a, b) in enumerate(_runs(off)):
                    lo = t_min[a - 1] if a > 0 else t_min[a]
                    for ax in panels:
                        ax.axvspan(
                            lo,
                            t_min[b],
                            color="0.88",
                            zorder=0,
                            label="Source off (cool-down)" if i == 0 and ax is top else None,
                        )
            top.plot(
                t_min, rows["max_temperature_c"], color="tab:red", lw=1.8, label="Max temperature"
            )
            zone_ax.plot(
                t_min,
                rows["ablation_zone_ml"],
                color="tab:blue",
                lw=1.8,
                ls="--",
                label=zone_name,
            )
            bottom.plot(t_min, rows["delivered_energy_j"] / 1000.0, color="tab:green", lw=1.8)
            top_handles, top_labels = top.get_legend_handles_labels()
            zone_handles, zone_labels = zone_ax.get_legend_handles_labels()
            top.legend(
                top_handles + zone_handles, top_labels + zone_labels, loc="best", framealpha=0.9
            )
            top.set_xlim(t_min[0], t_min[-1] if t_min[-1] > t_min[0] else t_min[0] + 1.0)
            if ire:
                current_panel(middle, result, session, rows)
        top.set_ylabel("Max temperature (°C)", color="tab:red")
        zone_ax.set_ylabel(f"{zone_name} (mL)", color="tab:blue")
        zone_ax.set_ylim(bottom=0.0)
        top.set_title(
            "Hottest point and volume the heat alone killed (thermal Ω ≥ 1)"
            if ire
            else "Hottest point and volume with damage Ω ≥ 1"
        )
        bottom.set_title(
            "Joule heat of the pulses in the tissue"
            if ire
            else "Energy delivered by the applicator"
        )
        bottom.set_ylabel("Delivered energy (kJ)")
        bottom.set_ylim(bottom=0.0)
        bottom.set_xlabel("Time since the session started (min)")
        for ax in panels:
            ax.grid(True, color="0.9", lw=0.6)
    return fig
