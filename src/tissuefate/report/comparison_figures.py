"""Figures of a comparison of strategies: their time courses overlaid, and the tissue of each
strategy at the same days side by side.

Both are drawn on an Agg canvas inside the shared style (:mod:`._layout`), like the figures of a
single run; :mod:`.comparison` embeds them in the comparison report.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

import matplotlib as mpl
import numpy as np
import pandas as pd
import xarray as xr
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from ._layout import _DIMS, _contour, _edges, _figure, _plane, _planes, _style
from .course_figures import _session_ends
from .repair_figures import _SCAR_STYLE, _TUMOR_BEFORE_STYLE, SCAR_LEVEL, _evenly, _image

__all__ = ["Snapshot", "shared_snapshots", "strategy_slices", "strategy_timecourses"]

#: Most snapshot days :func:`strategy_slices` shows (chosen evenly when more are shared).
MOST_DAYS = 4
#: How far (days) a strategy's snapshot may be from a shared day and still stand for it.
DAY_TOLERANCE = 1.0
#: Fractions above which a voxel counts as showing something, for the cropping of the panels.
_VISIBLE = 0.02
#: Voxels kept around what is shown, each side.
_PAD = 3
#: Panels of :func:`strategy_timecourses`: title, column(s) with their line style, y label.
_PANELS = (
    ("Viable tumour", (("viable_tumor_ml", "-"),)),
    ("Tumour visible on imaging", (("visible_tumor_ml", "-"),)),
    ("Ablation zone (solid) and collagen (dashed)", (("lesion_ml", "-"), ("collagen_ml", "--"))),
    ("Normal tissue lost", (("normal_lost_ml", "-"),)),
)


def _colours(n: int) -> list[tuple[float, ...]]:
    """One colour per strategy: tab10, or tab20 for more than ten strategies."""
    cmap = mpl.colormaps["tab10" if n <= 10 else "tab20"]
    return [cmap(i % cmap.N) for i in range(n)]


def strategy_timecourses(names: Sequence[str], timeseries: Sequence[pd.DataFrame]) -> Figure:
    """Viable and visible tumour, ablation zone and collagen, and normal tissue lost (mL) against
    day, one colour per strategy; a triangle marks the end of each treatment session.

    Parameters
    ----------
    names
        The strategies, in the order of ``timeseries``.
    timeseries
        Each strategy's ``timeseries.csv`` (``day``, ``event``, volumes in mL). Without
        ``lesion_ml`` (no tissue repair) the third panel shows the scar (``scar_ml``) instead.
    """
    colours = _colours(len(names))
    panels = _PANELS
    if not any("lesion_ml" in ts for ts in timeseries):  # no tissue repair: the scar instead
        panels = tuple(
            ("Scar", (("scar_ml", "-"),)) if cols[0][0] == "lesion_ml" else (title, cols)
            for title, cols in _PANELS
        )
    with _style():
        fig = _figure(10.0, 6.6)
        axes = fig.subplots(
            2,
            2,
            sharex=True,
            gridspec_kw={"left": 0.075, "right": 0.985, "top": 0.885, "bottom": 0.17},
        ).ravel()
        fig.subplots_adjust(hspace=0.28, wspace=0.2)
        for ax, (title, columns) in zip(axes, panels, strict=True):
            for ts, colour in zip(timeseries, colours, strict=True):
                day = ts["day"].to_numpy(dtype=float)
                ends = _session_ends(ts)
                for column, ls in columns:
                    if column not in ts:
                        continue
                    values = ts[column].to_numpy(dtype=float)
                    ax.plot(day, values, color=colour, ls=ls, lw=1.7)
                    if ends.any():
                        ax.plot(
                            day[ends],
                            values[ends],
                            ls="none",
                            marker="v",
                            ms=6.5,
                            color=colour,
                            markeredgecolor="black",
                            markeredgewidth=0.6,
                        )
            ax.set_title(title)
            ax.set_ylabel("Volume (mL)")
            ax.set_ylim(bottom=0.0)
            ax.grid(True, color="0.9", lw=0.6)
        for ax in axes[2:]:
            ax.set_xlabel("Day")
        handles = [
            Line2D([], [], color=c, lw=2.2, label=name)
            for name, c in zip(names, colours, strict=True)
        ]
        handles.append(
            Line2D(
                [],
                [],
                ls="none",
                marker="v",
                ms=7,
                color="white",
                markeredgecolor="black",
                label="End of a treatment session",
            )
        )
        fig.legend(
            handles=handles,
            loc="lower center",
            bbox_to_anchor=(0.5, 0.005),
            ncols=min(len(handles), 4),
            framealpha=0.95,
        )
        fig.suptitle("Tissue volumes of each strategy over the course of care")
    return fig


@dataclass(frozen=True)
class Snapshot:
    """One panel column of :func:`strategy_slices`: the shared day and, per strategy, the index
    of its snapshot that stands for it and that snapshot's own day."""

    day: float
    indices: tuple[int, ...]
    days: tuple[float, ...]


def _nearest(days: np.ndarray, day: float) -> int | None:
    """Index of the snapshot nearest to ``day`` within :data:`DAY_TOLERANCE` (the later one of
    two as near), or None."""
    gap = np.abs(days - day)
    if not np.isfinite(gap).any() or np.nanmin(gap) > DAY_TOLERANCE:
        return None
    return int(np.flatnonzero(gap == np.nanmin(gap))[-1])


def shared_snapshots(
    days: Sequence[np.ndarray], labels: Sequence[Sequence[str]], most: int = MOST_DAYS
) -> list[Snapshot]:
    """The snapshot days that every strategy has (its nearest snapshot within
    :data:`DAY_TOLERANCE` days), at most ``most`` of them chosen evenly, first and last kept.

    Candidates are the days of the first strategy's snapshots, leaving out those taken before
    treatment (labels ``"before ..."``: the same tissue in every strategy) unless nothing else
    is shared. ``days[k]`` and ``labels[k]`` are strategy ``k``'s ``snapshot_day`` (d) and
    ``snapshot_label``.
    """
    if not days:
        return []
    shared: list[Snapshot] = []
    before: list[Snapshot] = []
    for i, day in enumerate(np.asarray(days[0], dtype=float)):
        if not np.isfinite(day):
            continue
        picks = [_nearest(np.asarray(d, dtype=float), float(day)) for d in days]
        if any(p is None for p in picks):
            continue
        if any(s.indices == tuple(picks) for s in (*shared, *before)):
            continue
        snap = Snapshot(
            float(day),
            tuple(int(p) for p in picks),
            tuple(float(d[p]) for d, p in zip(days, picks, strict=True)),
        )
        (before if str(labels[0][i]).startswith("before") else shared).append(snap)
    return _evenly(shared or before, most)


def _crop(masks: list[np.ndarray]) -> tuple[slice, slice]:
    """Rows and columns that hold every mask's True voxels, padded by :data:`_PAD` (all of the
    plane when no mask holds any)."""
    union = np.logical_or.reduce(masks)
    if not union.any():
        return slice(None), slice(None)
    rows, cols = np.flatnonzero(union.any(axis=1)), np.flatnonzero(union.any(axis=0))
    return (
        slice(max(rows[0] - _PAD, 0), rows[-1] + _PAD + 1),
        slice(max(cols[0] - _PAD, 0), cols[-1] + _PAD + 1),
    )


def _centre(ds: xr.Dataset) -> tuple[float, float, float]:
    """The centre (mm) of the first tumour: the centroid of its voxels (``tumor_id`` 1), else of
    the initial tumour fraction, else the centre of the grid."""
    coords = [np.asarray(ds[d].values, dtype=float) for d in _DIMS]
    weight = None
    if "tumor_id" in ds:
        weight = (np.asarray(ds["tumor_id"].transpose(*_DIMS).values) == 1).astype(float)
    if (weight is None or not weight.any()) and "tumor_fraction_initial" in ds:
        weight = np.clip(ds["tumor_fraction_initial"].transpose(*_DIMS).values, 0.0, None)
    if weight is None or not float(weight.sum()) > 0.0:
        return tuple(float(c.mean()) for c in coords)
    total = float(weight.sum())
    return tuple(
        float((weight.sum(axis=tuple(a for a in range(3) if a != k)) * c).sum() / total)
        for k, c in enumerate(coords)
    )


class _Row(NamedTuple):
    """One row of :func:`strategy_slices`: a quantity of a strategy in every shown snapshot."""

    strategy: int
    quantity: str
    planes: list[np.ndarray]
    before: np.ndarray | None
    h: np.ndarray
    v: np.ndarray
    at_mm: float


def _rows(
    fields: Sequence[xr.Dataset], snapshots: Sequence[Snapshot], dims: tuple[str, str, str]
) -> list[_Row]:
    hdim, vdim, ndim = dims
    rows = []
    for k, ds in enumerate(fields):
        cut = {ndim: int(np.abs(ds[ndim].values - _centre(ds)[_DIMS.index(ndim)]).argmin())}
        before = (
            _plane(ds["tumor_fraction_initial"], cut, hdim, vdim)
            if "tumor_fraction_initial" in ds
            else None
        )
        for quantity in ("tumor", "collagen"):
            if quantity in ds:
                planes = [
                    _plane(ds[quantity].isel(snapshot=s.indices[k]), cut, hdim, vdim)
                    for s in snapshots
                ]
                h = np.asarray(ds[hdim].values, dtype=float)
                v = np.asarray(ds[vdim].values, dtype=float)
                at = float(ds[ndim].values[cut[ndim]])
                rows.append(_Row(k, quantity, planes, before, h, v, at))
    return rows


def _cropped(rows: list[_Row]) -> tuple[slice, slice]:
    """The part of the planes to show: all of them where the grids differ."""
    if len({p.shape for r in rows for p in r.planes}) != 1:
        return slice(None), slice(None)
    masks = [p > _VISIBLE for r in rows for p in r.planes]
    masks += [r.before > _VISIBLE for r in rows if r.before is not None]
    return _crop(masks)


def strategy_slices(
    names: Sequence[str], fields: Sequence[xr.Dataset], snapshots: Sequence[Snapshot]
) -> Figure:
    """The viable tumour and the collagen of each strategy at the same days: a row per strategy
    and quantity, a column per shared snapshot (:func:`shared_snapshots`).

    Every panel shows the x–z plane through the centre of the first tumour of that strategy's
    grid (:func:`_centre`), cropped to the part that shows tumour, collagen or the tumour before
    treatment. Viable tumour volume fraction (0–1, reds) with the tumour before treatment (dark
    dashed); collagen volume fraction (0–1, purples) with the scar (collagen ≥ 0.5, black). A
    strategy without ``collagen`` (no tissue repair) gets the tumour row only.
    """
    (hdim, vdim, ndim), _ = _planes(None)
    rows = _rows(fields, snapshots, (hdim, vdim, ndim))
    rs, cs = _cropped(rows)
    n = len(snapshots)
    with _style():
        width = 1.9 + 2.35 * n
        height = 1.6 + 2.3 * len(rows)
        fig = _figure(width, height)
        grid = fig.add_gridspec(
            len(rows),
            n + 1,
            width_ratios=(*([1.0] * n), 0.06),
            left=1.35 / width,
            right=1.0 - 0.75 / width,
            bottom=1.0 / height,
            top=1.0 - 0.9 / height,  # room for the panels' titles under the figure's
            wspace=0.18,
            hspace=0.35,
        )
        for r, row in enumerate(rows):
            h, v = row.h[cs], row.v[rs]
            extent = (*_edges(h), *_edges(v))
            tumour = row.quantity == "tumor"
            for c, (snap, plane) in enumerate(zip(snapshots, row.planes, strict=True)):
                ax = fig.add_subplot(grid[r, c])
                data = plane[rs, cs]
                image = _image(
                    ax, data, extent, cmap="Reds" if tumour else "Purples", vmin=0.0, vmax=1.0
                )
                if not tumour:
                    _contour(ax, h, v, data, SCAR_LEVEL, style=_SCAR_STYLE)
                elif row.before is not None:
                    _contour(ax, h, v, row.before[rs, cs], 0.5, style=_TUMOR_BEFORE_STYLE)
                ax.set_title(f"Day {snap.days[row.strategy]:g}", fontsize=9.5)
                ax.tick_params(labelsize=8)
                if c == 0:
                    what = "viable tumour" if tumour else "collagen"
                    ax.set_ylabel(f"{names[row.strategy]}\n{what}\n{vdim} (mm)", fontsize=9.5)
                else:
                    ax.set_yticklabels([])
                if r == len(rows) - 1:
                    ax.set_xlabel(f"{hdim} (mm)")
                else:
                    ax.set_xticklabels([])
            label = "Viable tumour (0–1)" if tumour else "Collagen (0–1)"
            fig.colorbar(image, cax=fig.add_subplot(grid[r, n]), label=label)
        handles = [
            Line2D([], [], color="0.15", ls="--", lw=1.3, label="Tumour before treatment"),
            Line2D([], [], color="black", ls="-", lw=1.3, label="Scar (collagen ≥ 0.5)"),
        ]
        fig.legend(handles=handles, loc="lower center", bbox_to_anchor=(0.5, 0.0), ncols=2)
        ats = " / ".join(sorted({f"{r.at_mm:.1f}" for r in rows}))
        fig.suptitle(
            f"{hdim}–{vdim} plane at {ndim} = {ats} mm, through the first tumour",
            y=1.0 - 0.2 / height,
        )
    return fig
