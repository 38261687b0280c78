"""Figures of an injection session (``modality: injection``): peak agent concentration and cell
kill in two planes through the needle, and where the agent went over time."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import matplotlib as mpl
import numpy as np
import pandas as pd
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

if TYPE_CHECKING:  # the type only: report never imports io at run time (io writes reports)
    from ..io.result import Result

__all__ = ["injection_slices", "injection_timecourse"]

#: Range of the (logarithmic) colour scale of peak agent concentration relative to the injectate.
CONCENTRATION_RANGE = (1e-3, 1.0)
#: Injectate fraction of the interstitial fluid whose contour marks how far the injectate reached.
INJECTATE_LEVEL = 0.5
#: Time courses longer than this are drawn against hours instead of minutes, s.
HOURS_AFTER_S = 3.0 * 3600.0
_INJECTATE_STYLE = {"colors": "lawngreen", "linestyles": ":", "linewidths": 1.6}
#: Colour of the title of a figure whose agent preset is unvalidated.
_WARNING_COLOUR = "#b3261e"


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
    which injectate flows back along the track (dashed), and the rate that did (dotted, its own
    right-hand axis, when any did). Time since the session started in minutes
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
            back = rows.get("backflow_rate_ml_h")
            back_ax = None
            if back is not None and float(back.max()) > 0.0:
                back_ax = bottom.twinx()  # how much of the infusion the track carried back
                back_ax.plot(
                    t, back, color="tab:purple", ls=":", lw=1.5, label="Backflow along the track"
                )
                back_ax.set_ylabel("Backflow (mL/h)", color="tab:purple")
                back_ax.set_ylim(0.0, 1.15 * float(back.max()))
            top.legend(loc="best", framealpha=0.9, fontsize=8.5)
            handles, labels = middle.get_legend_handles_labels()
            if twin:
                more_handles, more_labels = tumor_ax.get_legend_handles_labels()
                handles, labels = handles + more_handles, labels + more_labels
            middle.legend(handles, labels, loc="best", framealpha=0.9, fontsize=8.5)
            handles, labels = bottom.get_legend_handles_labels()
            if back_ax is not None:
                more_handles, more_labels = back_ax.get_legend_handles_labels()
                handles, labels = handles + more_handles, labels + more_labels
            bottom.legend(handles, labels, loc="best", framealpha=0.9, fontsize=8.5)
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
