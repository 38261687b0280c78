"""Figures of a run: dose slices and time courses per session, tissue volumes over the course,
and the tissue after the last session.

Thermal sessions (RF, microwave, laser, cryo, ...) get :func:`session_slices` and
:func:`session_timecourse`; injection sessions (``modality: injection``) get
:func:`injection_slices` and :func:`injection_timecourse`; irreversible electroporation sessions
(``modality: ire``) also get :func:`ire_field_map` and, for the course, :func:`ire_coverage`;
:func:`write_figures` picks by modality.
With tissue repair, :func:`repair_slices` shows collagen and viable tumour in the follow-up
snapshots.

Every function returns a :class:`matplotlib.figure.Figure` drawn on an Agg canvas; pyplot and the
global ``rcParams`` are never touched (styling is applied inside :func:`matplotlib.rc_context`
while a figure is built), so the figures can be made from any thread or notebook.

The figures live by concept in ``session_figures``, ``injection_figures``, ``ire_figures``,
``course_figures`` and ``repair_figures`` (shared building blocks in ``_layout``); this module
re-exports them and writes them (:func:`write_figures`).
"""

from __future__ import annotations

from collections.abc import Sequence
from io import BytesIO
from pathlib import Path
from typing import TYPE_CHECKING

from matplotlib.figure import Figure

from ._layout import (
    DPI,
    _planes,  # noqa: F401  (re-exported: the tests import it from here)
    _session_summary,
)
from .course_figures import (
    MARKERS_UP_TO,  # noqa: F401  (re-exported, as above)
    course_volumes,
)
from .injection_figures import injection_slices, injection_timecourse
from .ire_figures import has_field, ire_coverage, ire_field_map, ire_sessions
from .repair_figures import _has_follow_up, repair_slices
from .scene_figures import has_scene, scene_views
from .session_figures import session_slices, session_timecourse

if TYPE_CHECKING:  # the type only: report never imports io at run time (io writes reports)
    from ..io.result import Result

__all__ = [
    "FigureFile",
    "course_volumes",
    "injection_slices",
    "injection_timecourse",
    "ire_coverage",
    "ire_field_map",
    "repair_slices",
    "session_slices",
    "session_timecourse",
    "write_figures",
]


class FigureFile(str):
    """The name of a written figure file (relative to its folder) that also holds the file's
    PNG bytes (``png``), so that the report can embed the figure without knowing the folder.

    It compares, hashes and prints as the plain name.
    """

    png: bytes
    note: str | None

    def __new__(cls, name: str, png: bytes, note: str | None = None) -> FigureFile:
        obj = super().__new__(cls, name)
        obj.png = png
        obj.note = note
        return obj


def _png_bytes(fig: Figure) -> bytes:
    """``fig`` as a PNG file (at :data:`DPI`), in memory."""
    buffer = BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI)
    return buffer.getvalue()


def _modality(result: Result, session: int) -> str | None:
    return _session_summary(result, session).get("modality")


def _has_fields(result: Result, needed: Sequence[str]) -> bool:
    fields = result.fields
    return "session" in fields.coords and all(name in fields.data_vars for name in needed)


_THERMAL_FIELDS = ("peak_temperature", "kill_fraction", "thermal_dose", "tumor_fraction_initial")
_INJECTION_FIELDS = ("agent_peak_concentration", "kill_fraction", "tumor_fraction_initial")


def write_figures(result: Result, folder: str | Path) -> list[FigureFile]:
    """Write the PNG figures of ``result`` into ``folder`` and return their file names (as
    :class:`FigureFile`, which also carry the bytes written, for the report to embed).

    Per session ``n`` (1-based): ``session_<n>_slices.png`` (when the dose fields were stored) and
    ``session_<n>_timecourse.png`` (when a time course was recorded); then ``course_volumes.png``.
    Injection sessions (``summary["sessions"][n - 1]["modality"] == "injection"``) are drawn by
    :func:`injection_slices` and :func:`injection_timecourse`, all others by
    :func:`session_slices` and :func:`session_timecourse`. An IRE session (``modality: ire``) also
    gets ``session_<n>_field.png`` (:func:`ire_field_map`, after its slices) when the fields hold
    its ``max_field``; after the sessions, ``ire_coverage.png`` (:func:`ire_coverage`, one line per
    IRE session) when an IRE session's summary has its coverage curve. Last, ``repair_slices.png``
    (:func:`repair_slices`) when tissue repair ran (``summary["repair"]``) and the fields hold
    ``collagen``, ``tumor`` and ``tumor_fraction_initial`` and at least one snapshot after the last
    session. With ``outputs.views_3d`` (by default when the anatomy came from an image), the 3-D
    views ``session_<n>_3d.png`` and ``final_3d.png``
    (:func:`~tissuefate.report.scene_figures.scene_views`) come last.
    """
    folder = Path(folder)
    names: list[FigureFile] = []

    def save(fig: Figure, name: str) -> None:
        data = _png_bytes(fig)
        (folder / name).write_bytes(data)
        names.append(FigureFile(name, data))

    n_sessions = len(result.summary.get("sessions") or [])
    st = result.session_timeseries
    ire = ire_sessions(result)
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
        if n in ire and "tumor_fraction_initial" in result.fields and has_field(result, n):
            save(ire_field_map(result, n), f"session_{n}_field.png")
        if "session" in st and (st["session"] == n).any():
            save(timecourse(result, n), f"session_{n}_timecourse.png")
    if any((_session_summary(result, n).get("ire") or {}).get("coverage") for n in ire):
        save(ire_coverage(result), "ire_coverage.png")
    if not result.timeseries.empty:
        save(course_volumes(result), "course_volumes.png")
    if _has_follow_up(result):
        save(repair_slices(result), "repair_slices.png")
    if has_scene(result.fields):
        days = [float(s.get("day", 0.0)) for s in result.summary.get("sessions") or []]
        for view in scene_views(result.fields, folder, days):
            png = (folder / view.name).read_bytes()
            names.append(FigureFile(view.name, png, view.rendered.notice))
    return names
