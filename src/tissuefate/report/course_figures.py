"""The figure of a whole course of care: tissue volumes against day, with the treatment sessions
marked (and, with tissue repair, the ablation zone, collagen and inflammation)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from ._layout import _figure, _style

if TYPE_CHECKING:  # the type only: report never imports io at run time (io writes reports)
    from ..io.result import Result

__all__ = ["course_volumes"]

#: Volumes of the course: column, legend label, colour, marker.
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
    ("lesion_scan_ml", "Zone on a scan (< half viable cells)", "tab:olive", "X", ":"),
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

    With tissue repair the ablation zone (``lesion_ml``: dead tissue, myofibroblasts and collagen),
    the collagen (``collagen_ml``) and the zone a scan outlines (``lesion_scan_ml``, which counts
    cleared room not yet closed) are drawn too, and a small panel below shows the highest
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
