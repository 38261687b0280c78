"""Figures of an irreversible electroporation session (``modality: ire``): the share of the tumour
that each field reaches (coverage), the largest field in two planes through the electrodes, and
the current of each electrode pair during its pulse train.

The coverage curve is the summary's (``sessions[i]["ire"]["coverage"]``); the field map needs the
session field ``max_field`` (V/m) in ``result.fields`` and is skipped where it is absent or NaN.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import matplotlib as mpl
import numpy as np
import pandas as pd
from matplotlib import patheffects
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

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
    _session_extras,
    _session_summary,
    _style,
)

if TYPE_CHECKING:  # the type only: report never imports io at run time (io writes reports)
    from ..io.result import Result

__all__ = [
    "CLINICAL_LIVER_THRESHOLD_V_CM",
    "FIELD_LEVELS_V_CM",
    "ire_coverage",
    "ire_field_map",
    "ire_sessions",
    "zone_edge_field",
]

#: The clinical liver IRE threshold band, V/cm: simulations at 500–600 V/cm matched 10 patients'
#: CT-segmented ablation zones best (Dice 0.63–0.77; 465–750 V/cm scanned).
CLINICAL_LIVER_THRESHOLD_V_CM = (500.0, 600.0)
CLINICAL_SOURCE = "Technol Cancer Res Treat 2025, doi 10.1177/15330338251384207"
#: Contours of the largest field drawn on the field map, V/cm.
FIELD_LEVELS_V_CM = (500.0, 600.0, 800.0)
#: Range of the field map's logarithmic colour scale, V/cm (fields beyond it take its end colours).
FIELD_RANGE_V_CM = (100.0, 3000.0)
_FIELD_TICKS_V_CM = (100.0, 200.0, 300.0, 500.0, 1000.0, 2000.0, 3000.0)
#: Range of thresholds the coverage figure shows, V/cm.
COVERAGE_RANGE_V_CM = (200.0, 1500.0)
_FIELD_CMAP = "magma"
_LEVEL_COLOUR = "#7CFC00"
_LEVEL_STYLES = (":", "--", "-")
_BAND_COLOUR = "tab:orange"
_ELECTRODE_FACE = "white"


# ------------------------------------------------------------------------------------------------
# what a result holds about its IRE sessions
# ------------------------------------------------------------------------------------------------


def ire_sessions(result: Result) -> list[int]:
    """Numbers (1-based) of the sessions of ``result`` whose modality is ``ire``."""
    sessions = result.summary.get("sessions") or []
    return [n for n, s in enumerate(sessions, start=1) if s.get("modality") == "ire"]


def _coverage(result: Result, session: int) -> tuple[np.ndarray, np.ndarray] | None:
    """Thresholds (V/cm) and tumour shares of the session's coverage curve, or None."""
    coverage = (_session_summary(result, session).get("ire") or {}).get("coverage") or {}
    thresholds = np.asarray(coverage.get("thresholds_v_cm") or [], float)
    shares = np.asarray(coverage.get("tumor_share") or [], float)
    if thresholds.size == 0 or thresholds.shape != shares.shape or not np.isfinite(shares).any():
        return None
    return thresholds, shares


def has_field(result: Result, session: int) -> bool:
    """Whether ``result.fields`` holds the session's largest field (``max_field``, not all NaN)."""
    ds = result.fields
    if "max_field" not in ds or "session" not in ds.coords or session not in ds["session"].values:
        return False
    return bool(np.isfinite(ds["max_field"].sel(session=session).values).any())


def _omega(result: Result, session: int) -> Any:
    ds = result.fields
    return ds["damage" if "damage" in ds else "thermal_dose"].sel(session=session)


def zone_edge_field(result: Result, session: int) -> float | None:
    """The field (V/cm) at the edge of the session's lethal zone (damage Ω ≥ 1), as the model drew
    it: the threshold on the largest field that best separates the zone from the rest of the
    tissue (fewest voxels on the wrong side; large vessels, which conduct but do not die, left
    out). With every pair giving the same number of pulses and one set of survival parameters,
    this is the field at which the model's survival is 1/e. None without ``max_field`` or when
    the zone is empty or fills the grid."""
    if not has_field(result, session):
        return None
    ds = result.fields
    field = np.asarray(ds["max_field"].sel(session=session).values, float)
    zone = np.asarray(_omega(result, session).values, float) >= 1.0
    keep = np.isfinite(field)
    if "vessel" in ds:
        keep &= ~np.asarray(ds["vessel"].values, bool)
    f, z = field[keep], zone[keep]
    n_zone = int(z.sum())
    if n_zone in (0, z.size):
        return None
    order = np.argsort(f, kind="stable")
    f, z = f[order], z[order]
    # threshold between f[i - 1] and f[i]: voxels i, i + 1, ... are called zone
    zone_below = np.concatenate(([0], np.cumsum(z)))  # zone voxels below the cut
    i = np.arange(f.size + 1)
    wrong = zone_below + (f.size - i) - (n_zone - zone_below)
    best = int(np.argmin(wrong[1:-1])) + 1 if f.size > 1 else 0
    if best == 0:
        return float(f[0]) * 1e-2
    return 0.5 * float(f[best - 1] + f[best]) * 1e-2


# ------------------------------------------------------------------------------------------------
# coverage
# ------------------------------------------------------------------------------------------------


def _share_at(thresholds: np.ndarray, shares: np.ndarray, level: float) -> float:
    return float(np.interp(level, thresholds, shares))


def ire_coverage(result: Result) -> Figure:
    """Share of the tumour whose largest field reaches each threshold (200–1500 V/cm), one line
    per IRE session, with the clinical liver threshold band (500–600 V/cm,
    :data:`CLINICAL_SOURCE`) shaded and labelled and each session's zone-edge field
    (:func:`zone_edge_field`, where the fields hold ``max_field``) marked by a dashed line of its
    colour; an edge beyond the axis is marked by a triangle on the axis' end.

    The shares are those of the summary (weighted by the viable tumour at the session's start).
    """
    lo, hi = COVERAGE_RANGE_V_CM
    band_lo, band_hi = CLINICAL_LIVER_THRESHOLD_V_CM
    colours = mpl.colormaps["tab10"].colors
    with _style():
        fig = _figure(8.0, 5.2)
        ax = fig.subplots(gridspec_kw={"left": 0.09, "right": 0.97, "bottom": 0.27, "top": 0.9})
        ax.axvspan(band_lo, band_hi, color=_BAND_COLOUR, alpha=0.22, lw=0, zorder=0)
        ax.text(
            0.5 * (band_lo + band_hi),
            0.03,
            "clinical liver threshold\n500–600 V/cm",
            rotation=90,
            ha="center",
            va="bottom",
            fontsize=8.5,
            color="0.25",
        )
        handles: list[Any] = []
        for k, n in enumerate(ire_sessions(result)):
            curve = _coverage(result, n)
            if curve is None:
                continue
            thresholds, shares = curve
            colour = colours[k % len(colours)]
            day = _session_summary(result, n).get("day")
            name = f"Session {n}" + (f" (day {float(day):g})" if day is not None else "")
            at = ", ".join(
                f"{100.0 * _share_at(thresholds, shares, v):.1f} % ≥ {v:.0f}"
                for v in CLINICAL_LIVER_THRESHOLD_V_CM
            )
            (line,) = ax.plot(thresholds, shares, color=colour, lw=2.0, label=f"{name}: {at} V/cm")
            handles.append(line)
            edge = zone_edge_field(result, n)
            if edge is None:
                continue
            label = f"{name}: edge of the model's lethal zone ≈ {edge:.0f} V/cm"
            if lo <= edge <= hi:
                ax.axvline(edge, color=colour, ls="--", lw=1.3)
                ax.text(
                    edge + 8.0,
                    0.03,
                    f"model's zone edge {edge:.0f} V/cm",
                    rotation=90,
                    ha="left",
                    va="bottom",
                    fontsize=8.5,
                    color=colour,
                )
                handles.append(Line2D([], [], color=colour, ls="--", lw=1.3, label=label))
            else:
                x, marker = (hi, ">") if edge > hi else (lo, "<")
                ax.plot(x, 0.5, marker=marker, ms=10, color=colour, clip_on=False, zorder=5)
                handles.append(
                    Line2D([], [], color=colour, ls="none", marker=marker, ms=8, label=label)
                )
        handles.append(
            Patch(
                color=_BAND_COLOUR,
                alpha=0.22,
                label=f"Clinical liver threshold 500–600 V/cm ({CLINICAL_SOURCE})",
            )
        )
        ax.set_xlim(lo, hi)
        ax.set_ylim(0.0, 1.02)
        ax.set_xlabel("Threshold on the largest field over the electrode pairs (V/cm)")
        ax.set_ylabel("Share of the tumour at or above it (0–1)")
        ax.set_title("Tumour coverage by the electric field")
        ax.grid(True, color="0.9", lw=0.6)
        fig.legend(
            handles=handles,
            loc="lower center",
            bbox_to_anchor=(0.5, 0.005),
            ncols=1,
            fontsize=8.5,
            framealpha=0.95,
        )
    return fig


# ------------------------------------------------------------------------------------------------
# field map
# ------------------------------------------------------------------------------------------------


def _electrodes(result: Result, session: int) -> list[dict[str, Any]]:
    delivered = _session_summary(result, session).get("delivered") or {}
    return [e for e in delivered.get("electrodes") or [] if isinstance(e, Mapping)]


def _axis_of(electrode: Mapping[str, Any]) -> tuple[np.ndarray, np.ndarray, float]:
    """Tip (mm), unit direction (shaft → tip) and exposed length (mm) of an electrode."""
    tip = np.asarray(electrode.get("tip_mm"), float)
    direction = np.asarray(electrode.get("direction"), float)
    direction = direction / np.linalg.norm(direction)
    return tip, direction, float(electrode.get("exposure_mm") or 0.0)


def _along_plane(
    axis: Sequence[float] | None, electrodes: Sequence[Mapping[str, Any]]
) -> tuple[str, str, str]:
    """The plane along the electrodes as ``(horizontal, vertical, normal)``: it holds the
    dominant component of ``axis`` (vertical) and the direction in which the first two
    electrodes lie apart, so that both lie in it; without two electrodes, that of
    :func:`_planes`."""
    plane_a, _ = _planes(axis)
    if len(electrodes) < 2:
        return plane_a
    dominant = _DIMS.index(plane_a[1])
    apart = np.abs(_axis_of(electrodes[0])[0] - _axis_of(electrodes[1])[0])
    rest = [d for d in range(3) if d != dominant]
    normal = min(rest, key=lambda d: apart[d])
    horizontal = next(d for d in rest if d != normal)
    return _DIMS[horizontal], _DIMS[dominant], _DIMS[normal]


def _label(ax: Any, x: float, y: float, text: str) -> None:
    ax.annotate(
        text,
        (x, y),
        xytext=(5, 4),
        textcoords="offset points",
        color="white",
        fontsize=9,
        fontweight="bold",
        path_effects=[patheffects.withStroke(linewidth=2.2, foreground="black")],
    )


def _crossing_handle(face: str, label: str) -> Line2D:
    return Line2D([], [], color="none", marker="o", ms=7, mec="black", mfc=face, label=label)


def _in_plane_handle() -> Line2D:
    outline = [patheffects.withStroke(linewidth=5.0, foreground="black")]
    return Line2D(
        [],
        [],
        color=_ELECTRODE_FACE,
        lw=3.0,
        path_effects=outline,
        label="Electrode in the plane (grey: shaft)",
    )


#: Legend entries of the kinds of electrode marks :func:`_mark_electrodes` draws.
_ELECTRODE_HANDLES = {
    "exposed": lambda: _crossing_handle(_ELECTRODE_FACE, "Electrode, exposed part"),
    "shaft": lambda: _crossing_handle("none", "Electrode, insulated shaft"),
    "in plane": _in_plane_handle,
}


def _mark_electrodes(
    ax: Any,
    electrodes: Sequence[Mapping[str, Any]],
    plane: tuple[str, str, str],
    where: float,
    spacing: float,
    reach: float,
) -> set[str]:
    """Mark the electrodes in the plane ``plane`` at ``where`` (mm): a circle where one crosses it
    (filled on its exposed part, open on the insulated shaft), a line where one lies in it (thick:
    exposed part; thin: shaft, ``reach`` mm long); each numbered as in the summary. Returns the
    kinds drawn (``"exposed"``, ``"shaft"``: crossing the plane; ``"in plane"``)."""
    h, v, n = (_DIMS.index(d) for d in plane)
    outline = [patheffects.withStroke(linewidth=5.0, foreground="black")]
    half = 0.5 * spacing * (1.0 + 1e-6)  # half a voxel, with room for rounding
    drawn = set()
    for index, e in enumerate(electrodes):
        tip, direction, exposure = _axis_of(e)
        start = tip - exposure * direction
        if max(abs(tip[n] - where), abs(start[n] - where)) <= half:  # in the plane
            back = start - reach * direction
            ax.plot(
                [start[h], back[h]],
                [start[v], back[v]],
                color="0.7",
                lw=1.6,
                zorder=4,
                path_effects=[patheffects.withStroke(linewidth=3.4, foreground="black")],
            )
            ax.plot(
                [tip[h], start[h]],
                [tip[v], start[v]],
                color=_ELECTRODE_FACE,
                lw=3.0,
                solid_capstyle="butt",
                zorder=4,
                path_effects=outline,
            )
            _label(ax, tip[h], tip[v], str(index))
            drawn.add("in plane")
            continue
        if abs(direction[n]) < 1e-6:
            continue
        t = (tip[n] - where) / direction[n]  # distance back from the tip along the shaft, mm
        if t < -half:
            continue  # the plane lies beyond the tip
        point = tip - t * direction
        exposed = t <= exposure + half
        ax.plot(
            point[h],
            point[v],
            marker="o",
            ms=7,
            mec="black",
            mfc=_ELECTRODE_FACE if exposed else "none",
            mew=1.2,
            zorder=5,
        )
        _label(ax, point[h], point[v], str(index))
        drawn.add("exposed" if exposed else "shaft")
    return drawn


def ire_field_map(result: Result, session: int) -> Figure:
    """The largest electric field over the electrode pairs (V/cm, logarithmic colour scale over
    :data:`FIELD_RANGE_V_CM`) in two planes through the session's focus (the middle of the first
    two electrodes' exposed parts): across the electrodes (left, perpendicular to their
    direction) and along them (right, the plane holding the first two). Contours at
    :data:`FIELD_LEVELS_V_CM`; outlines of the tumour before treatment (white dashed) and of the
    lethal zone (damage Ω ≥ 1, cyan); the electrodes marked where they cross or lie in the plane.

    Needs ``max_field`` in ``result.fields`` (:func:`has_field`).

    Parameters
    ----------
    session
        Session number, 1-based.
    """
    ds = result.fields
    field = ds["max_field"].sel(session=session) * 1e-2  # V/cm
    omega = _omega(result, session)
    tumor = ds["tumor_fraction_initial"]
    extras = _session_extras(result, session)
    electrodes = _electrodes(result, session)
    focus = _focus(result, session, field.fillna(0.0))
    axis = extras.get("axis")
    across = _planes(axis)[1]
    along = _along_plane(axis, electrodes)
    spacing = float(abs(ds["x"].values[1] - ds["x"].values[0])) if ds.sizes["x"] > 1 else 1.0
    reach = max(float(np.ptp(ds[d].values)) for d in _DIMS) + spacing
    norm = mpl.colors.LogNorm(*FIELD_RANGE_V_CM)

    with _style():
        fig = _figure(9.4, 5.2)
        grid = fig.add_gridspec(
            1,
            3,
            width_ratios=(1.0, 1.0, 0.05),
            left=0.07,
            right=0.9,
            bottom=0.2,
            top=0.82,
            wspace=0.3,
        )
        image = None
        drawn: set[str] = set()
        for col, (plane, kind) in enumerate(
            ((across, "across the electrodes"), (along, "along the electrodes"))
        ):
            hdim, vdim, ndim = plane
            ax = fig.add_subplot(grid[0, col])
            index = int(np.abs(ds[ndim].values - float(focus[_DIMS.index(ndim)])).argmin())
            where = float(ds[ndim].values[index])
            h, v = ds[hdim].values, ds[vdim].values
            f_plane, tumor_plane, omega_plane = (
                _plane(da, {ndim: index}, hdim, vdim) for da in (field, tumor, omega)
            )
            shown = np.clip(np.nan_to_num(f_plane, nan=0.0), 1e-3, None)  # LogNorm: no zeros
            image = _panel(
                ax,
                shown,
                (*_edges(h), *_edges(v)),
                (h, v, tumor_plane, omega_plane),
                cmap=_FIELD_CMAP,
                norm=norm,
            )
            for level, ls in zip(FIELD_LEVELS_V_CM, _LEVEL_STYLES, strict=True):
                _contour(
                    ax,
                    h,
                    v,
                    f_plane,
                    level,
                    style={"colors": _LEVEL_COLOUR, "linestyles": ls, "linewidths": 1.3},
                )
            drawn |= _mark_electrodes(ax, electrodes, plane, where, spacing, reach)
            ax.set_xlim(*_edges(h))
            ax.set_ylim(*_edges(v))
            ax.set_title(f"Largest field, {kind}\n{hdim}–{vdim} plane at {ndim} = {where:.1f} mm")
            ax.set_xlabel(f"{hdim} (mm)")
            ax.set_ylabel(f"{vdim} (mm)")
        bar = fig.colorbar(
            image,
            cax=fig.add_subplot(grid[0, 2]),
            label="Largest field over the pairs (V/cm, log)",
            extend="both",
        )
        ticks = [t for t in _FIELD_TICKS_V_CM if norm.vmin <= t <= norm.vmax]
        bar.set_ticks(ticks, labels=[f"{t:.0f}" for t in ticks])
        bar.ax.minorticks_off()
        handles = [
            *(
                Line2D([], [], color=_LEVEL_COLOUR, ls=ls, lw=1.3, label=f"{level:.0f} V/cm")
                for level, ls in zip(FIELD_LEVELS_V_CM, _LEVEL_STYLES, strict=True)
            ),
            Line2D([], [], color="white", ls="--", lw=1.4, label="Tumour before treatment"),
            Line2D([], [], color="cyan", ls="-", lw=1.4, label="Lethal zone (Ω = 1)"),
        ]
        handles += [_ELECTRODE_HANDLES[kind]() for kind in _ELECTRODE_HANDLES if kind in drawn]
        _dark_legend(fig, handles, ncols=4)
        edge = zone_edge_field(result, session)
        title = extras.get("label") or f"Session {session}"
        if edge is not None:
            title += f"\nlethal zone edge at ≈ {edge:.0f} V/cm"
        fig.suptitle(title)
    return fig


# ------------------------------------------------------------------------------------------------
# currents
# ------------------------------------------------------------------------------------------------


def _pair_of(phase: str) -> tuple[int, int] | None:
    """``(anode, cathode)`` of a phase named ``"pair A-C"``, else None."""
    if not phase.startswith("pair "):
        return None
    try:
        anode, cathode = phase[5:].split("-")
        return int(anode), int(cathode)
    except ValueError:
        return None


def current_panel(ax: Any, result: Result, session: int, rows: pd.DataFrame) -> None:
    """Draw the current of each electrode pair (A) against time in minutes into ``ax``: one colour
    per pair along its train (``current_a`` of the rows of phase ``"pair A-C"``), with the
    summary's current through the intact tissue at the train's first pulse (open circle) and
    once it is electroporated (filled)."""
    records = (_session_summary(result, session).get("delivered") or {}).get("pairs") or []
    colours = mpl.colormaps["tab10"].colors
    t_min = rows["time_s"].to_numpy(dtype=float) / 60.0
    phases = rows["phase"].astype(str).to_numpy() if "phase" in rows else np.array([])
    current = rows["current_a"].to_numpy(dtype=float)
    seen: list[str] = []
    for phase in dict.fromkeys(phases):
        pair = _pair_of(phase)
        if pair is None:
            continue
        k = len(seen)
        seen.append(phase)
        colour = colours[k % len(colours)]
        mine = np.flatnonzero(phases == phase)
        start = t_min[mine[0] - 1] if mine[0] > 0 else t_min[mine[0]]
        record = records[k] if k < len(records) and isinstance(records[k], Mapping) else {}
        volts = record.get("voltage_v")
        name = f"{pair[0]}–{pair[1]}" + (f", {float(volts):.0f} V" if volts is not None else "")
        t = t_min[mine]
        i = current[mine]
        if record.get("current_a") is not None:
            t, i = np.concatenate(([start], t)), np.concatenate(([record["current_a"]], i))
            ax.plot(start, record["current_a"], "o", color=colour, ms=5)
        if record.get("current_initial_a") is not None:
            ax.plot(start, record["current_initial_a"], "o", mfc="white", mec=colour, ms=5)
        ax.plot(t, i, color=colour, lw=1.8, label=name)
    handles, _ = ax.get_legend_handles_labels()
    handles += [
        Line2D(
            [],
            [],
            color="0.3",
            ls="none",
            marker="o",
            mfc="white",
            ms=5,
            label="intact tissue, first pulse",
        ),
        Line2D([], [], color="0.3", ls="none", marker="o", ms=5, label="electroporated"),
    ]
    ax.legend(handles=handles, loc="upper center", ncols=4, fontsize=8, framealpha=0.9)
    top = np.nanmax(np.concatenate(([1e-3], current[np.isfinite(current)])))
    ax.set_ylim(0.0, 1.6 * top)  # room for the legend above the lines
    ax.set_ylabel("Current (A)")
    ax.set_title("Current of each electrode pair (anode–cathode) during its pulse train")
