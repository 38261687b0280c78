"""Figures (matplotlib, Agg) and the HTML report of a run."""

from .figures import (
    course_volumes,
    injection_slices,
    injection_timecourse,
    ire_coverage,
    ire_field_map,
    repair_slices,
    session_slices,
    session_timecourse,
    write_figures,
)
from .html import RESEARCH_NOTICE, render_report

__all__ = [
    "RESEARCH_NOTICE",
    "course_volumes",
    "injection_slices",
    "injection_timecourse",
    "ire_coverage",
    "ire_field_map",
    "render_report",
    "repair_slices",
    "session_slices",
    "session_timecourse",
    "write_figures",
]
