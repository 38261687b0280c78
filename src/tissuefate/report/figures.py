"""Figures of a run: dose slices and time courses per session, tissue volumes over the course,
and the tissue after the last session.

Thermal sessions (RF, microwave, laser, cryo, ...) get :func:`session_slices` and
:func:`session_timecourse`; injection sessions (``modality: injection``) get
:func:`injection_slices` and :func:`injection_timecourse`; :func:`write_figures` picks by modality.
With tissue repair, :func:`repair_slices` shows collagen and viable tumour in the follow-up
snapshots.

Every function returns a :class:`matplotlib.figure.Figure` drawn on an Agg canvas; pyplot and the
global ``rcParams`` are never touched (styling is applied inside :func:`matplotlib.rc_context`
while a figure is built), so the figures can be made from any thread or notebook.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import matplotlib as mpl
import numpy as np
import pandas as pd
import xarray as xr
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from ..course.result import Result

__all__ = [
    "course_volumes",
    "injection_slices",
    "injection_timecourse",
    "repair_slices",
    "session_slices",
    "session_timecourse",
    "write_figures",
]

#: Resolution of the written PNG files, dots per inch.
DPI = 110
#: Temperature of the isotherm drawn on the temperature panels, °C.
ISOTHERM_C = 60.0
#: Body temperature, the lower end of the temperature colour scale unless the data go lower, °C.
BODY_C = 37.0
#: Range of the (logarithmic) colour scale of peak agent concentration relative to the injectate.
CONCENTRATION_RANGE = (1e-3, 1.0)
#: Injectate fraction of the interstitial fluid whose contour marks how far the injectate reached.
INJECTATE_LEVEL = 0.5
#: Time courses longer than this are drawn against hours instead of minutes, s.
HOURS_AFTER_S = 3.0 * 3600.0

_STYLE = {
    "font.size": 10.0,
    "axes.titlesize": 10.5,
    "axes.labelsize": 10.0,
    "figure.titlesize": 12.5,
    "legend.fontsize": 9.5,
    "xtick.labelsize": 9.0,
    "ytick.labelsize": 9.0,
    "axes.grid": False,
}
_TUMOR_STYLE = {"colors": "white", "linestyles": "--", "linewidths": 1.4}
_ZONE_STYLE = {"colors": "cyan", "linestyles": "-", "linewidths": 1.4}
_ISOTHERM_STYLE = {"colors": "0.6", "linestyles": "-", "linewidths": 0.8}
_ICE_STYLE = {"colors": "0.85", "linestyles": ":", "linewidths": 1.2}
_LETHAL_STYLE = {"colors": "orangered", "linestyles": "-", "linewidths": 1.0}
_INJECTATE_STYLE = {"colors": "lawngreen", "linestyles": ":", "linewidths": 1.6}
#: Colour of the title of a figure whose agent preset is unvalidated.
_WARNING_COLOUR = "#b3261e"
_DIMS = ("x", "y", "z")


@contextmanager
def _style() -> Iterator[None]:
    with mpl.rc_context(_STYLE):
        yield


def _figure(width_in: float, height_in: float) -> Figure:
    # Fixed margins instead of a layout engine: with one, every savefig draws the figure twice.
    fig = Figure(figsize=(width_in, height_in), dpi=DPI)
    FigureCanvasAgg(fig)
    return fig


# ------------------------------------------------------------------------------------------------
# Session slices
# ------------------------------------------------------------------------------------------------


def _session_extras(result: Result, session: int) -> dict[str, Any]:
    sessions = result.extras.get("sessions") or []
    return sessions[session - 1] if 0 < session <= len(sessions) else {}


def _planes(axis: Sequence[float] | None) -> tuple[tuple[str, str, str], tuple[str, str, str]]:
    """The two cut planes as ``(horizontal, vertical, normal)`` dimension names.

    Plane A holds the applicator axis: it spans the axis' dominant component (drawn vertically) and
    its next largest one. Plane B is perpendicular to the dominant component. Without an axis, the
    applicator is taken to run along z with x next: plane A is x–z, plane B is x–y.
    """
    if axis is None:
        dominant, second = 2, 0
    else:
        a = np.abs(np.asarray(axis, dtype=float))
        order = np.argsort(-a, kind="stable")
        dominant, second = int(order[0]), int(order[1])
    normal_a = 3 - dominant - second
    plane_a = (_DIMS[second], _DIMS[dominant], _DIMS[normal_a])
    rest = [d for d in range(3) if d != dominant]
    plane_b = (_DIMS[rest[0]], _DIMS[rest[1]], _DIMS[dominant])
    return plane_a, plane_b


def _focus(result: Result, session: int, peak: xr.DataArray) -> tuple[float, float, float]:
    focus = _session_extras(result, session).get("focus_mm")
    if focus is not None:
        return tuple(float(v) for v in focus)
    # No applicator position recorded: cut through the hottest voxel.
    idx = np.unravel_index(int(np.nanargmax(peak.values)), peak.shape)
    return tuple(float(peak[dim].values[i]) for dim, i in zip(peak.dims, idx, strict=True))


def _edges(centres: np.ndarray) -> tuple[float, float]:
    step = float(centres[1] - centres[0]) if centres.size > 1 else 1.0
    return float(centres[0]) - 0.5 * step, float(centres[-1]) + 0.5 * step


def _plane(da: xr.DataArray, cut: dict[str, int], hdim: str, vdim: str) -> np.ndarray:
    """The 2-D cut of ``da`` as floats, rows along ``vdim`` and columns along ``hdim``."""
    return np.asarray(da.isel(cut).transpose(vdim, hdim).values, dtype=float)


def _contour(
    ax: Any, h: np.ndarray, v: np.ndarray, a: np.ndarray, level: float, *, style: dict
) -> None:
    """Draw the ``level`` contour of ``a`` (rows along ``v``) only where the data cross it."""
    if a.shape[0] < 2 or a.shape[1] < 2 or not np.isfinite(a).any():
        return
    if np.nanmin(a) < level < np.nanmax(a):
        ax.contour(h, v, a, levels=[level], **style)


def _two_by_two(
    height_in: float, *, right: float, bottom: float, top: float
) -> tuple[Figure, Any, np.ndarray]:
    """A 9.4 in wide figure with 2×2 image panels and a colourbar column; (figure, grid spec,
    the panels' axes [row, column])."""
    fig = _figure(9.4, height_in)
    grid = fig.add_gridspec(
        2,
        3,
        width_ratios=(1.0, 1.0, 0.05),
        left=0.07,
        right=right,
        bottom=bottom,
        top=top,
        wspace=0.3,
        hspace=0.32,
    )
    axes = np.array([[fig.add_subplot(grid[r, c]) for c in range(2)] for r in range(2)])
    return fig, grid, axes


def _panel(ax: Any, data: np.ndarray, extent: tuple, outlines: tuple, **colour: Any) -> Any:
    """Show ``data`` in ``ax`` with the tumour (dashed) and ablation-zone (Ω = 1) outlines;
    ``outlines`` is (h, v, tumour plane, Ω plane). Returns the image."""
    h, v, tumor_plane, omega_plane = outlines
    image = ax.imshow(
        data, origin="lower", extent=extent, interpolation="nearest", aspect="equal", **colour
    )
    _contour(ax, h, v, tumor_plane, 0.5, style=_TUMOR_STYLE)
    _contour(ax, h, v, omega_plane, 1.0, style=_ZONE_STYLE)
    return image


def _dark_legend(fig: Figure, handles: list[Any], ncols: int) -> None:
    """The figure's legend at the bottom, white text on dark grey (the slice panels' outlines
    are light)."""
    legend = fig.legend(
        handles=handles,
        loc="lower center",
        bbox_to_anchor=(0.5, 0.005),
        ncols=ncols,
        facecolor="0.3",
        framealpha=1.0,
    )
    for text in legend.get_texts():
        text.set_color("white")


def session_slices(result: Result, session: int) -> Figure:
    """Peak temperature (top) and cell kill fraction (bottom) in two planes through the applicator.

    The planes pass through ``result.extras["sessions"][session - 1]["focus_mm"]`` (the hottest
    voxel if not given). Left: the coordinate plane containing the applicator axis; right: the plane
    perpendicular to the axis' dominant component. Outlines: initial tumour
    (``tumor_fraction_initial`` = 0.5, white dashed), ablation zone (Arrhenius damage Ω = 1, cyan)
    and the 60 °C isotherm (grey, temperature panels only).

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
    plane_a, plane_b = _planes(extras.get("axis"))

    t_min = float(np.nanmin(peak.values))
    vmin = min(BODY_C, t_min)
    vmax = max(float(np.nanmax(peak.values)), BODY_C) if cold else float(np.nanmax(peak.values))
    if not vmax > vmin:
        vmax = vmin + 1.0

    with _style():
        fig, grid, axes = _two_by_two(9.0, right=0.91, bottom=0.1, top=0.89)
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
            kind = "along the applicator" if col == 0 else "across the applicator"
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
                label=f"{isotherm:.0f} °C isotherm",
            ),
            Line2D([], [], color="0.85", ls="none", marker="+", ms=9, label="Applicator centre"),
        ]
        if cold:
            handles.insert(3, Line2D([], [], color="0.85", ls=":", lw=1.2, label="Ice edge (0 °C)"))
        _dark_legend(fig, handles, ncols=4)
        fig.suptitle(extras.get("label") or f"Session {session}")
    return fig


# ------------------------------------------------------------------------------------------------
# Session time course
# ------------------------------------------------------------------------------------------------


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """Start and end (inclusive) indices of the runs of True in ``mask``."""
    runs, start = [], None
    for i, m in enumerate(mask):
        if m and start is None:
            start = i
        elif not m and start is not None:
            runs.append((start, i - 1))
            start = None
    if start is not None:
        runs.append((start, len(mask) - 1))
    return runs


def session_timecourse(result: Result, session: int) -> Figure:
    """Maximum temperature and ablation-zone volume (top, twin axes) and delivered energy (bottom)
    against time in minutes during session ``session`` (1-based); the cool-down phase (source
    off) is shaded."""
    st = result.session_timeseries
    rows = st[st["session"] == session].sort_values("time_s")
    label = _session_extras(result, session).get("label") or f"Session {session}"
    with _style():
        fig = _figure(8.0, 6.4)
        top, bottom = fig.subplots(
            2,
            1,
            sharex=True,
            gridspec_kw={
                "height_ratios": (3, 2),
                "left": 0.1,
                "right": 0.88,
                "bottom": 0.09,
                "top": 0.87,
                "hspace": 0.3,
            },
        )
        zone_ax = top.twinx()
        fig.suptitle(f"{label}: time course")
        if rows.empty:
            top.text(0.5, 0.5, "no time course recorded", ha="center", transform=top.transAxes)
        else:
            t_min = rows["time_s"].to_numpy(dtype=float) / 60.0
            if "phase" in rows:
                off = (rows["phase"].astype(str) == "off").to_numpy()
                for i, (a, b) in enumerate(_runs(off)):
                    lo = t_min[a - 1] if a > 0 else t_min[a]
                    for ax in (top, bottom):
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
                label="Ablation-zone volume",
            )
            bottom.plot(t_min, rows["delivered_energy_j"] / 1000.0, color="tab:green", lw=1.8)
            top_handles, top_labels = top.get_legend_handles_labels()
            zone_handles, zone_labels = zone_ax.get_legend_handles_labels()
            top.legend(
                top_handles + zone_handles, top_labels + zone_labels, loc="best", framealpha=0.9
            )
            top.set_xlim(t_min[0], t_min[-1] if t_min[-1] > t_min[0] else t_min[0] + 1.0)
        top.set_ylabel("Max temperature (°C)", color="tab:red")
        zone_ax.set_ylabel("Ablation-zone volume (mL)", color="tab:blue")
        zone_ax.set_ylim(bottom=0.0)
        top.set_title("Hottest point and volume with damage Ω ≥ 1")
        bottom.set_title("Energy delivered by the applicator")
        bottom.set_ylabel("Delivered energy (kJ)")
        bottom.set_ylim(bottom=0.0)
        bottom.set_xlabel("Time since the session started (min)")
        for ax in (top, bottom):
            ax.grid(True, color="0.9", lw=0.6)
    return fig


# ------------------------------------------------------------------------------------------------
# Injection sessions
# ------------------------------------------------------------------------------------------------


def _session_summary(result: Result, session: int) -> dict[str, Any]:
    sessions = result.summary.get("sessions") or []
    return sessions[session - 1] if 0 < session <= len(sessions) else {}


def _modality(result: Result, session: int) -> str | None:
    return _session_summary(result, session).get("modality")


def _unvalidated(result: Result, session: int) -> bool:
    """Whether the agent preset of ``session`` is flagged unvalidated."""
    agent = _session_summary(result, session).get("agent") or {}
    return agent.get("validated") is False or agent.get("status") == "unvalidated"


def _injection_title(result: Result, session: int, suffix: str = "") -> str:
    """The session label and ``suffix``, then " — UNVALIDATED agent preset" when the agent preset
    is unvalidated (on a line of its own when the title would be long)."""
    label = (_session_extras(result, session).get("label") or f"Session {session}") + suffix
    if not _unvalidated(result, session):
        return label
    sep = "\n" if len(label) > 60 else " "
    return f"{label}{sep}— UNVALIDATED agent preset"


def _suptitle(fig: Figure, result: Result, session: int, suffix: str = "") -> None:
    colour = _WARNING_COLOUR if _unvalidated(result, session) else None
    fig.suptitle(_injection_title(result, session, suffix), color=colour)


def _site_tips(result: Result, session: int) -> list[tuple[float, float, float]]:
    """Needle tip of every injection site of ``session``, mm."""
    delivered = _session_summary(result, session).get("delivered") or {}
    tips = []
    for site in delivered.get("sites") or []:
        tip = site.get("tip_mm")
        if tip is not None and len(tip) == 3:
            tips.append((float(tip[0]), float(tip[1]), float(tip[2])))
    return tips


def injection_slices(result: Result, session: int) -> Figure:
    """Peak agent concentration (top) and cell kill fraction (bottom) of an injection session in
    two planes through the focus.

    The layout is that of :func:`session_slices`: the planes pass through
    ``result.extras["sessions"][session - 1]["focus_mm"]`` (the voxel of highest concentration if
    not given); left: the coordinate plane containing the needle axis, right: the plane
    perpendicular to its dominant component. The top row shows ``agent_peak_concentration``
    divided by the injectate concentration (``summary["sessions"][session - 1]["delivered"]
    ["injectate_concentration_mm"]``; both mol/m³ = mM) on a logarithmic scale from 10⁻³ to 1,
    with the extent of the injectate (``injectate_peak_fraction`` = 0.5, green dotted). Both rows
    outline the initial tumour (``tumor_fraction_initial`` = 0.5, white dashed) and the ablation
    zone (damage Ω = 1, cyan); every needle tip within one voxel of a plane is marked "+".

    Parameters
    ----------
    session
        Session number, 1-based; its modality must be ``injection``.
    """
    ds = result.fields
    conc = ds["agent_peak_concentration"].sel(session=session)
    kill = ds["kill_fraction"].sel(session=session)
    omega = ds["damage" if "damage" in ds else "thermal_dose"].sel(session=session)
    reach = (
        ds["injectate_peak_fraction"].sel(session=session)
        if "injectate_peak_fraction" in ds
        else None
    )
    tumor = ds["tumor_fraction_initial"]
    extras = _session_extras(result, session)
    delivered = _session_summary(result, session).get("delivered") or {}
    c_inj = delivered.get("injectate_concentration_mm")
    c_inj = float(c_inj) if c_inj is not None else float("nan")
    if np.isfinite(c_inj) and c_inj > 0.0:
        c_label = "Peak agent concentration ÷ injectate concentration"
    else:  # no injectate concentration recorded: relative to the highest concentration reached
        c_inj = float(np.nanmax(conc.values)) if np.isfinite(conc.values).any() else 0.0
        c_inj = c_inj if c_inj > 0.0 else 1.0
        c_label = "Peak agent concentration ÷ highest peak"
    focus = _focus(result, session, conc)
    plane_a, plane_b = _planes(extras.get("axis"))
    tips = _site_tips(result, session) or [focus]

    lo, hi = CONCENTRATION_RANGE
    base = mpl.colormaps["magma"]
    c_cmap = base.with_extremes(under=base(0.0), over=base(1.0))
    c_norm = mpl.colors.LogNorm(vmin=lo, vmax=hi)

    with _style():
        fig, grid, axes = _two_by_two(9.5, right=0.89, bottom=0.13, top=0.87)
        images = {}
        for col, (hdim, vdim, ndim) in enumerate((plane_a, plane_b)):
            coords = ds[ndim].values
            where = float(focus[_DIMS.index(ndim)])
            index = int(np.abs(coords - where).argmin())
            at_mm = float(coords[index])
            step = abs(float(coords[1] - coords[0])) if coords.size > 1 else 1.0
            h = ds[hdim].values
            v = ds[vdim].values
            extent = (*_edges(h), *_edges(v))
            c_plane, k_plane, tumor_plane, omega_plane = (
                _plane(da, {ndim: index}, hdim, vdim) for da in (conc, kill, tumor, omega)
            )
            reach_plane = None if reach is None else _plane(reach, {ndim: index}, hdim, vdim)
            # below the scale (and zero, which a log scale cannot show): the lowest colour
            rel = np.where(np.isfinite(c_plane), np.maximum(c_plane / c_inj, 1e-3 * lo), np.nan)
            near = [t for t in tips if abs(t[_DIMS.index(ndim)] - at_mm) <= step]
            at = f"{ndim} = {at_mm:.1f} mm"
            kind = "along the needle" if col == 0 else "across the needle"
            for row, (data, cmap, norm, what) in enumerate(
                (
                    (rel, c_cmap, c_norm, "Peak agent concentration"),
                    (k_plane, "viridis", mpl.colors.Normalize(0.0, 1.0), "Cell kill fraction"),
                )
            ):
                ax = axes[row, col]
                images[row] = _panel(
                    ax, data, extent, (h, v, tumor_plane, omega_plane), cmap=cmap, norm=norm
                )
                if row == 0 and reach_plane is not None:
                    _contour(ax, h, v, reach_plane, INJECTATE_LEVEL, style=_INJECTATE_STYLE)
                for tip in near:
                    ax.plot(
                        tip[_DIMS.index(hdim)],
                        tip[_DIMS.index(vdim)],
                        "+",
                        color="0.85",
                        ms=9,
                        mew=1.5,
                    )
                ax.set_title(f"{what}, {kind}\n{hdim}–{vdim} plane at {at}")
                ax.set_xlabel(f"{hdim} (mm)")
                ax.set_ylabel(f"{vdim} (mm)")
        fig.colorbar(
            images[0], cax=fig.add_subplot(grid[0, 2]), label=f"{c_label} (log)", extend="min"
        )
        fig.colorbar(images[1], cax=fig.add_subplot(grid[1, 2]), label="Kill fraction (0–1)")
        handles = [
            Line2D([], [], color="white", ls="--", lw=1.4, label="Tumour before treatment"),
            Line2D([], [], color="cyan", ls="-", lw=1.4, label="Ablation zone (damage Ω = 1)"),
            Line2D(
                [],
                [],
                color="lawngreen",
                ls=":",
                lw=1.6,
                label=f"Injectate reached (fluid ≥ {100 * INJECTATE_LEVEL:.0f} % injectate)",
            ),
            Line2D(
                [],
                [],
                color="0.85",
                ls="none",
                marker="+",
                ms=9,
                mew=1.5,
                label="Injection site (needle tip)",
            ),
        ]
        _dark_legend(fig, handles, ncols=2)
        _suptitle(fig, result, session)
    return fig


def _time_axis(time_s: np.ndarray) -> tuple[np.ndarray, str]:
    """``time_s`` in minutes, or in hours when it runs past :data:`HOURS_AFTER_S`, and the unit."""
    if time_s.size and float(np.nanmax(time_s)) > HOURS_AFTER_S:
        return time_s / 3600.0, "h"
    return time_s / 60.0, "min"


#: Agent amounts of the injection time course: column, legend label, colour, line style.
_AMOUNTS = (
    ("injected_mmol", "Injected (cumulative)", "0.2", ":"),
    ("in_tissue_mmol", "In tissue", "tab:blue", "-"),
    ("consumed_mmol", "Consumed by the tissue", "tab:purple", "-"),
    ("washed_out_mmol", "Washed out by perfusion", "tab:green", "-"),
    ("leaked_mmol", "Leaked (track and vessels)", "tab:orange", "-"),
    ("systemic_mmol", "Systemic (washed out + into vessels)", "tab:red", "--"),
)
#: Volumes of the injection time course: column, legend label, colour, line style.
_INJECTION_VOLUMES = (
    ("distribution_volume_ml", "Distribution volume (agent reached)", "tab:olive", "-"),
    ("ablation_zone_ml", "Ablation zone (Ω ≥ 1)", "tab:blue", "-"),
    ("lesion_volume_ml", "Lesion volume", "tab:brown", "--"),
    ("tumor_volume_ml", "Tumour volume", "tab:red", "-."),
)
#: The tumour volume goes onto a twin axis when its scale and the others' differ by this factor.
_TWIN_RATIO = 5.0


def _column_max(rows: pd.DataFrame, columns: Sequence[str]) -> float:
    values = [rows[c].to_numpy(dtype=float) for c in columns if c in rows]
    finite = [v[np.isfinite(v)] for v in values]
    return max((float(v.max()) for v in finite if v.size), default=0.0)


def injection_timecourse(result: Result, session: int) -> Figure:
    """Agent amounts, volumes and needle-tip pressure during injection session ``session``.

    Top: the agent injected, in tissue, consumed by the tissue, washed out, leaked and reaching
    the circulation (mmol). Middle: distribution volume, ablation zone, lesion and tumour volume
    (mL); the tumour volume gets its own right-hand axis when its scale and the others' differ by
    more than a factor 5. Bottom: pressure at the needle tip (kPa) with the critical pressure above
    which injectate flows back along the track (dashed). Time since the session started in minutes
    (hours beyond 3 h); the infusion phase is shaded.

    Parameters
    ----------
    session
        Session number, 1-based; its modality must be ``injection``.
    """
    st = result.session_timeseries
    rows = st[st["session"] == session].sort_values("time_s") if "session" in st else st.iloc[:0]
    rows = rows.reset_index(drop=True)
    stats = _session_summary(result, session).get("injection") or {}
    critical = stats.get("critical_pressure_kpa")
    volume_cols = [c for c, *_ in _INJECTION_VOLUMES if c in rows]
    others = [c for c in volume_cols if c != "tumor_volume_ml"]
    tumor_max = _column_max(rows, ["tumor_volume_ml"])
    others_max = _column_max(rows, others)
    twin = (
        "tumor_volume_ml" in volume_cols
        and tumor_max > 0.0
        and others_max > 0.0
        and max(tumor_max / others_max, others_max / tumor_max) > _TWIN_RATIO
    )
    with _style():
        fig = _figure(8.0, 8.6)
        top, middle, bottom = fig.subplots(
            3,
            1,
            sharex=True,
            gridspec_kw={
                "height_ratios": (3, 2.5, 1.8),
                "left": 0.1,
                "right": 0.86,
                "bottom": 0.07,
                "top": 0.88,
                "hspace": 0.32,
            },
        )
        tumor_ax = middle.twinx() if twin else middle
        _suptitle(fig, result, session, ": time course")
        unit = "min"
        if rows.empty:
            top.text(0.5, 0.5, "no time course recorded", ha="center", transform=top.transAxes)
        else:
            t, unit = _time_axis(rows["time_s"].to_numpy(dtype=float))
            if "phase" in rows:
                infusing = (rows["phase"].astype(str) == "infusion").to_numpy()
                for i, (a, b) in enumerate(_runs(infusing)):
                    for ax in (top, middle, bottom):
                        ax.axvspan(
                            t[a],
                            t[b],
                            color="0.88",
                            zorder=0,
                            label="Infusion" if i == 0 and ax is top else None,
                        )
            for column, name, colour, ls in _AMOUNTS:
                if column in rows:
                    top.plot(t, rows[column], color=colour, ls=ls, lw=1.7, label=name)
            for column, name, colour, ls in _INJECTION_VOLUMES:
                if column in rows:
                    ax = tumor_ax if column == "tumor_volume_ml" else middle
                    ax.plot(t, rows[column], color=colour, ls=ls, lw=1.7, label=name)
            if "tip_pressure_kpa" in rows:
                bottom.plot(
                    t, rows["tip_pressure_kpa"], color="0.15", lw=1.7, label="Needle-tip pressure"
                )
            if critical is not None and np.isfinite(float(critical)):
                bottom.axhline(
                    float(critical),
                    color="tab:red",
                    ls="--",
                    lw=1.2,
                    label=f"Critical pressure ({float(critical):.3g} kPa): backflow",
                )
            top.legend(loc="best", framealpha=0.9, fontsize=8.5)
            handles, labels = middle.get_legend_handles_labels()
            if twin:
                more_handles, more_labels = tumor_ax.get_legend_handles_labels()
                handles, labels = handles + more_handles, labels + more_labels
            middle.legend(handles, labels, loc="best", framealpha=0.9, fontsize=8.5)
            bottom.legend(loc="best", framealpha=0.9, fontsize=8.5)
            top.set_xlim(t[0], t[-1] if t[-1] > t[0] else t[0] + 1.0)
        top.set_title("Where the agent went")
        top.set_ylabel("Agent (mmol)")
        top.ticklabel_format(axis="y", style="sci", scilimits=(-2, 4))
        middle.set_title("Volumes")
        middle.set_ylabel("Volume (mL)")
        if twin:
            tumor_ax.set_ylabel("Tumour volume (mL)", color="tab:red")
        bottom.set_title("Pressure at the needle tip")
        bottom.set_ylabel("Pressure (kPa)")
        bottom.set_xlabel(f"Time since the session started ({unit})")
        for ax in {top, middle, tumor_ax}:
            ax.set_ylim(bottom=0.0)
        # headroom above the highest pressure and the critical line, which would hide in the frame
        p_top = max(
            _column_max(rows, ["tip_pressure_kpa"]),
            float(critical) if critical is not None and np.isfinite(float(critical)) else 0.0,
        )
        bottom.set_ylim(0.0, 1.15 * p_top if p_top > 0.0 else 1.0)
        for ax in (top, middle, bottom):
            ax.grid(True, color="0.9", lw=0.6)
    return fig


# ------------------------------------------------------------------------------------------------
# Course volumes
# ------------------------------------------------------------------------------------------------

_VOLUMES = (
    ("viable_tumor_ml", "Viable tumour", "tab:red", "o"),
    ("necrotic_ml", "Necrotic tissue", "tab:brown", "s"),
    ("scar_ml", "Scar", "tab:purple", "^"),
    ("normal_lost_ml", "Normal tissue lost", "tab:gray", "D"),
)
#: Volumes of a run with tissue repair: column, legend label, colour, marker, line style.
_REPAIR_VOLUMES = (
    ("lesion_ml", "Ablation zone (dead + fibrous)", "tab:orange", "v", "--"),
    ("collagen_ml", "Collagen", "indigo", "P", "-."),
)
#: Time series with at most this many rows get a marker on every row; longer ones (repair steps)
#: are drawn as plain lines with markers on the session ends only.
MARKERS_UP_TO = 40


def _session_ends(ts: pd.DataFrame) -> np.ndarray:
    """Rows of ``ts`` whose ``event`` is a session end (``"session N end"``), as a mask."""
    if "event" not in ts:
        return np.zeros(len(ts), dtype=bool)
    event = ts["event"].astype(str)
    return (event.str.startswith("session") & event.str.endswith("end")).to_numpy()


def _has_inflammation(ts: pd.DataFrame) -> bool:
    if "inflammation_max" not in ts:
        return False
    values = ts["inflammation_max"].to_numpy(dtype=float)
    return bool(np.any(np.isfinite(values) & (values != 0.0)))


def _session_lines(ax: Any, result: Result, *, label: bool) -> None:
    """Dotted vertical lines at the days of the treatment sessions."""
    for i, session in enumerate(result.summary.get("sessions") or []):
        day = session.get("day")
        if day is not None and np.isfinite(float(day)):
            ax.axvline(
                float(day),
                color="0.5",
                ls=":",
                lw=1.0,
                label="Treatment session" if i == 0 and label else None,
            )


def course_volumes(result: Result) -> Figure:
    """Viable tumour, necrotic tissue, scar and normal tissue lost (mL) against day over the
    course; dotted vertical lines mark the treatment sessions.

    With tissue repair the ablation zone (``lesion_ml``: dead tissue, myofibroblasts and collagen)
    and the collagen (``collagen_ml``) are drawn too, and a small panel below shows the highest
    inflammation on the grid (``inflammation_max``, dimensionless) when it is not zero throughout.
    Time series of at most :data:`MARKERS_UP_TO` rows get a marker on every row; longer ones
    (a repair step every few hours) are plain lines with markers at the session ends only.
    """
    ts: pd.DataFrame = result.timeseries
    inflamed = _has_inflammation(ts)
    every_row = len(ts) <= MARKERS_UP_TO
    ends = _session_ends(ts)
    volumes = [(c, n, colour, m, "-") for c, n, colour, m in _VOLUMES]
    volumes += [v for v in _REPAIR_VOLUMES if v[0] in ts]
    with _style():
        fig = _figure(8.0, 6.4 if inflamed else 4.8)
        layout = {"left": 0.09, "right": 0.97, "bottom": 0.11, "top": 0.91}
        if inflamed:
            layout |= {"bottom": 0.08, "top": 0.93, "height_ratios": (3.2, 1.0), "hspace": 0.22}
            ax, low = fig.subplots(2, 1, sharex=True, gridspec_kw=layout)
        else:
            ax, low = fig.subplots(gridspec_kw=layout), None
        day = ts["day"].to_numpy(dtype=float) if "day" in ts else np.arange(len(ts), dtype=float)
        for column, name, colour, marker, ls in volumes:
            if column not in ts:
                continue
            values = ts[column].to_numpy(dtype=float)
            ax.plot(
                day,
                values,
                marker=marker if every_row else None,
                ms=4,
                lw=1.6,
                ls=ls,
                color=colour,
                label=name,
            )
            if not every_row and ends.any():
                ax.plot(day[ends], values[ends], ls="none", marker=marker, ms=4.5, color=colour)
        _session_lines(ax, result, label=True)
        ax.set_ylabel("Volume (mL)")
        ax.set_ylim(bottom=0.0)
        ax.set_title("Tissue volumes over the course of care")
        ax.grid(True, color="0.9", lw=0.6)
        ax.legend(loc="best", framealpha=0.9)
        if low is None:
            ax.set_xlabel("Day")
        else:
            low.plot(day, ts["inflammation_max"].to_numpy(dtype=float), color="tab:pink", lw=1.4)
            _session_lines(low, result, label=False)
            low.set_ylabel("Inflammation")
            low.set_ylim(bottom=0.0)
            low.set_title("Highest inflammation on the grid (dimensionless)")
            low.set_xlabel("Day")
            low.grid(True, color="0.9", lw=0.6)
    return fig


# ------------------------------------------------------------------------------------------------
# Repair slices
# ------------------------------------------------------------------------------------------------

#: Most snapshots :func:`repair_slices` shows (chosen evenly when there are more).
REPAIR_COLUMNS = 4
#: Collagen fraction from which a voxel counts as scar (as in ``tissuefate.biology.repair``).
SCAR_LEVEL = 0.5
#: Dead-tissue fraction (coagulated + debris) whose contour outlines the dead tissue.
DEAD_LEVEL = 0.5
_SCAR_STYLE = {"colors": "black", "linestyles": "-", "linewidths": 1.3}
_DEAD_STYLE = {"colors": "darkorange", "linestyles": "--", "linewidths": 1.5}
_TUMOR_BEFORE_STYLE = {"colors": "0.15", "linestyles": "--", "linewidths": 1.3}
#: Field variables :func:`repair_slices` needs.
_REPAIR_FIELDS = ("collagen", "tumor", "tumor_fraction_initial")


def _last_session(result: Result) -> tuple[int, float]:
    """Number (1-based) and day of the last treatment session; ``(0, nan)`` without sessions."""
    sessions = result.summary.get("sessions") or []
    if not sessions:
        return 0, float("nan")
    day = sessions[-1].get("day")
    return len(sessions), float("nan") if day is None else float(day)


def _snapshot_days(ds: xr.Dataset) -> tuple[list[str], np.ndarray]:
    """Label and day of every snapshot (empty labels and NaN days where not recorded)."""
    n = ds.sizes.get("snapshot", 0)
    labels = [str(v) for v in ds["snapshot_label"].values] if "snapshot_label" in ds else [""] * n
    days = (
        np.asarray(ds["snapshot_day"].values, dtype=float)
        if "snapshot_day" in ds
        else np.full(n, np.nan)
    )
    return labels, days


def _label_day(label: str) -> float:
    """The day of a ``"day N"`` label, or NaN."""
    try:
        return float(label.split(" ", 1)[1]) if label.startswith("day ") else float("nan")
    except ValueError:
        return float("nan")


def _follow_up_snapshots(result: Result) -> list[int]:
    """Indices of the snapshots taken after the last treatment session, in order of time.

    A snapshot counts when its day (``snapshot_day``) is later than the day of the last session
    and it is not one of the ``"before ..."`` / ``"after session N"`` snapshots of the sessions;
    without a recorded day (or without sessions), when its label is ``"day N"``.
    """
    labels, days = _snapshot_days(result.fields)
    _, last_day = _last_session(result)
    picked = []
    for i, (label, day) in enumerate(zip(labels, days, strict=True)):
        if np.isfinite(day) and np.isfinite(last_day):
            if day > last_day and not label.startswith(("before", "after session")):
                picked.append(i)
        elif label.startswith("day "):
            picked.append(i)
    return picked


def _evenly(indices: Sequence[int], most: int) -> list[int]:
    """At most ``most`` of ``indices``, evenly spread, the first and last included."""
    if len(indices) <= most:
        return list(indices)
    chosen = np.unique(np.round(np.linspace(0, len(indices) - 1, most)).astype(int))
    return [indices[i] for i in chosen]


def _repair_focus(result: Result, session: int) -> tuple[float, float, float]:
    """The focus of ``session`` (mm); without one, the centre of the initial tumour, or of the
    grid when there is no tumour."""
    focus = _session_extras(result, session).get("focus_mm")
    if focus is not None:
        return tuple(float(v) for v in focus)
    ds = result.fields
    weight = np.clip(np.asarray(ds["tumor_fraction_initial"].transpose(*_DIMS).values), 0, None)
    coords = [np.asarray(ds[d].values, dtype=float) for d in _DIMS]
    total = float(weight.sum())
    if not total > 0.0:
        return tuple(float(c.mean()) for c in coords)
    grids = np.meshgrid(*coords, indexing="ij")
    return tuple(float((g * weight).sum() / total) for g in grids)


def _image(ax: Any, data: np.ndarray, extent: tuple, **colour: Any) -> Any:
    return ax.imshow(
        data, origin="lower", extent=extent, interpolation="nearest", aspect="equal", **colour
    )


def repair_slices(result: Result) -> Figure:
    """Collagen (top) and viable tumour (bottom) in the snapshots after the last session.

    One column per snapshot taken after the last treatment session (:func:`_follow_up_snapshots`;
    at most :data:`REPAIR_COLUMNS`, chosen evenly), titled by its day. All panels show the same
    plane: the one along the applicator of the last session (as the left panels of
    :func:`session_slices`), through its focus (``result.extras["sessions"][-1]["focus_mm"]``, the
    centre of the initial tumour if not given). Top: collagen volume fraction (0–1) with the scar
    (collagen ≥ 0.5, black) and the dead tissue (coagulated + debris ≥ 0.5, orange dashed).
    Bottom: viable tumour volume fraction (0–1) with the tumour before treatment
    (``tumor_fraction_initial`` = 0.5, dark dashed).

    Raises
    ------
    ValueError
        When the fields hold no snapshot after the last session.
    """
    ds = result.fields
    chosen = _evenly(_follow_up_snapshots(result), REPAIR_COLUMNS)
    if not chosen:
        raise ValueError("the fields hold no snapshot after the last treatment session")
    session, _ = _last_session(result)
    labels, days = _snapshot_days(ds)
    (hdim, vdim, ndim), _ = _planes(_session_extras(result, session).get("axis"))
    focus = _repair_focus(result, session)
    index = int(np.abs(ds[ndim].values - focus[_DIMS.index(ndim)]).argmin())
    cut = {ndim: index}
    h = ds[hdim].values
    v = ds[vdim].values
    extent = (*_edges(h), *_edges(v))
    tumor_before = _plane(ds["tumor_fraction_initial"], cut, hdim, vdim)
    dead_names = [name for name in ("coagulated", "debris") if name in ds]
    n = len(chosen)

    with _style():
        width = max(6.4, 2.0 + 2.6 * n)
        fig = _figure(width, 7.0)
        grid = fig.add_gridspec(
            2,
            n + 1,
            width_ratios=(*([1.0] * n), 0.06),
            left=1.05 / width,
            right=1.0 - 0.95 / width,
            bottom=0.15,
            top=0.85,
            wspace=0.3,
            hspace=0.38,
        )
        images = {}
        for col, snap in enumerate(chosen):
            state = ds.isel(snapshot=snap)
            day = days[snap] if np.isfinite(days[snap]) else _label_day(labels[snap])
            title = f"Day {day:g}" if np.isfinite(day) else (labels[snap] or f"Snapshot {snap}")
            collagen = _plane(state["collagen"], cut, hdim, vdim)
            tumor = _plane(state["tumor"], cut, hdim, vdim)
            dead = sum(_plane(state[name], cut, hdim, vdim) for name in dead_names)
            for row, (data, cmap, what) in enumerate(
                ((collagen, "Purples", "Collagen / scar"), (tumor, "Reds", "Viable tumour"))
            ):
                ax = fig.add_subplot(grid[row, col])
                images[row] = _image(ax, data, extent, cmap=cmap, vmin=0.0, vmax=1.0)
                if row == 0:
                    _contour(ax, h, v, collagen, SCAR_LEVEL, style=_SCAR_STYLE)
                    if dead_names:
                        _contour(ax, h, v, np.asarray(dead), DEAD_LEVEL, style=_DEAD_STYLE)
                else:
                    _contour(ax, h, v, tumor_before, 0.5, style=_TUMOR_BEFORE_STYLE)
                ax.set_title(title)
                ax.set_xlabel(f"{hdim} (mm)")
                if col == 0:  # the same plane in every column
                    ax.set_ylabel(f"{what}\n{vdim} (mm)")
        for row, label in enumerate(("Collagen fraction (0–1)", "Viable tumour fraction (0–1)")):
            fig.colorbar(images[row], cax=fig.add_subplot(grid[row, n]), label=label)
        handles = [
            Line2D([], [], color="black", ls="-", lw=1.3, label="Scar (collagen ≥ 0.5)"),
            Line2D(
                [],
                [],
                color="darkorange",
                ls="--",
                lw=1.5,
                label="Dead tissue (coagulated + debris ≥ 0.5)",
            ),
            Line2D([], [], color="0.15", ls="--", lw=1.3, label="Tumour before treatment"),
        ]
        fig.legend(
            handles=handles,
            loc="lower center",
            bbox_to_anchor=(0.5, 0.005),
            ncols=2 if n < 3 else 3,
            framealpha=0.95,
        )
        name = result.summary.get("scenario")
        head = f"{name}: after the last session" if name else "After the last session"
        at = f"{ndim} = {float(ds[ndim].values[index]):.1f} mm"
        through = f"through the focus of session {session}" if session else "through the tumour"
        fig.suptitle(f"{head}\n{hdim}–{vdim} plane at {at}, {through}")
    return fig


# ------------------------------------------------------------------------------------------------
# Writing
# ------------------------------------------------------------------------------------------------


def _has_fields(result: Result, needed: Sequence[str]) -> bool:
    fields = result.fields
    return "session" in fields.coords and all(name in fields.data_vars for name in needed)


def _has_follow_up(result: Result) -> bool:
    """Whether :func:`repair_slices` has something to show: repair ran, the fields it needs were
    stored and at least one snapshot was taken after the last session. (Without repair the state
    does not change after the last session, so nothing is drawn even if a snapshot is there.)"""
    fields = result.fields
    return (
        bool(result.summary.get("repair"))
        and "snapshot" in fields.dims
        and all(name in fields.data_vars for name in _REPAIR_FIELDS)
        and bool(_follow_up_snapshots(result))
    )


_THERMAL_FIELDS = ("peak_temperature", "kill_fraction", "thermal_dose", "tumor_fraction_initial")
_INJECTION_FIELDS = ("agent_peak_concentration", "kill_fraction", "tumor_fraction_initial")


def write_figures(result: Result, folder: str | Path) -> list[str]:
    """Write the PNG figures of ``result`` into ``folder`` and return their file names.

    Per session ``n`` (1-based): ``session_<n>_slices.png`` (when the dose fields were stored) and
    ``session_<n>_timecourse.png`` (when a time course was recorded); then ``course_volumes.png``.
    Injection sessions (``summary["sessions"][n - 1]["modality"] == "injection"``) are drawn by
    :func:`injection_slices` and :func:`injection_timecourse`, all others by
    :func:`session_slices` and :func:`session_timecourse`. Last, ``repair_slices.png``
    (:func:`repair_slices`) when tissue repair ran (``summary["repair"]``) and the fields hold
    ``collagen``, ``tumor`` and ``tumor_fraction_initial`` and at least one snapshot after the last
    session.
    """
    folder = Path(folder)
    names: list[str] = []

    def save(fig: Figure, name: str) -> None:
        fig.savefig(folder / name, dpi=DPI)
        names.append(name)

    n_sessions = len(result.summary.get("sessions") or [])
    st = result.session_timeseries
    for n in range(1, n_sessions + 1):
        injection = _modality(result, n) == "injection"
        slices, timecourse, needed = (
            (injection_slices, injection_timecourse, _INJECTION_FIELDS)
            if injection
            else (session_slices, session_timecourse, _THERMAL_FIELDS)
        )
        has_damage = "damage" in result.fields or "thermal_dose" in result.fields
        if has_damage and _has_fields(result, needed) and n in result.fields["session"].values:
            save(slices(result, n), f"session_{n}_slices.png")
        if "session" in st and (st["session"] == n).any():
            save(timecourse(result, n), f"session_{n}_timecourse.png")
    if not result.timeseries.empty:
        save(course_volumes(result), "course_volumes.png")
    if _has_follow_up(result):
        save(repair_slices(result), "repair_slices.png")
    return names
