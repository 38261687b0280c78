"""The figure of tissue repair: collagen (scar) and viable tumour in the snapshots taken after the
last treatment session."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import xarray as xr
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from ._layout import _DIMS, _contour, _edges, _figure, _plane, _planes, _session_extras, _style

if TYPE_CHECKING:  # the type only: report never imports io at run time (io writes reports)
    from ..io.result import Result

__all__ = ["repair_slices"]

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
        moved = False
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
                    moved = _arrows(ax, state, cut, hdim, vdim) or moved
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
        if moved:
            handles.append(
                Line2D(
                    [],
                    [],
                    color=_ARROW_COLOUR,
                    marker=">",
                    lw=1.0,
                    label="Tissue displacement since day 0 (arrows, to scale)",
                )
            )
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


_ARROW_COLOUR = "teal"
_ARROW_SPACING_MM = 4.0
_ARROW_MIN_MM = 0.1


def _arrows(ax: Any, state: xr.Dataset, cut: dict, hdim: str, vdim: str) -> bool:
    """Draw the in-plane displacement (mm, to scale) every :data:`_ARROW_SPACING_MM` where it
    exceeds :data:`_ARROW_MIN_MM`; whether any arrow was drawn."""
    names = (f"displacement_{hdim}", f"displacement_{vdim}")
    if not all(name in state for name in names):
        return False
    uh = _plane(state[names[0]], cut, hdim, vdim)
    uv = _plane(state[names[1]], cut, hdim, vdim)
    h = np.asarray(state[hdim].values)
    v = np.asarray(state[vdim].values)
    step = max(1, round(_ARROW_SPACING_MM / float(abs(h[1] - h[0])))) if h.size > 1 else 1
    sub = (slice(step // 2, None, step), slice(step // 2, None, step))
    hh, vv = np.meshgrid(h, v)
    uh, uv, hh, vv = uh[sub], uv[sub], hh[sub], vv[sub]
    keep = np.hypot(uh, uv) > _ARROW_MIN_MM
    if not keep.any():
        return False
    ax.quiver(
        hh[keep], vv[keep], uh[keep], uv[keep], angles="xy", scale_units="xy", scale=1.0,
        color=_ARROW_COLOUR, width=0.006, headwidth=3.5, headlength=4.0,
    )  # fmt: skip
    return True


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
