"""Building blocks shared by the figures: style, canvas, cut planes, image panels with the tumour
and ablation-zone outlines, the dark legend, and what a run recorded about each session.

Every figure is drawn on an Agg canvas inside :func:`_style` (a :func:`matplotlib.rc_context`), so
pyplot and the global ``rcParams`` are never touched.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import matplotlib as mpl
import numpy as np
import xarray as xr
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

if TYPE_CHECKING:  # the type only: report never imports io at run time (io writes reports)
    from ..io.result import Result

#: Resolution of the written PNG files, dots per inch.
DPI = 110

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


def _session_extras(result: Result, session: int) -> dict[str, Any]:
    sessions = result.extras.get("sessions") or []
    return sessions[session - 1] if 0 < session <= len(sessions) else {}


def _session_summary(result: Result, session: int) -> dict[str, Any]:
    sessions = result.summary.get("sessions") or []
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
