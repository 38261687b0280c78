"""The self-contained HTML report of one run (inline CSS, figures as relative links)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from importlib import resources
from typing import Any

import jinja2
import numpy as np

from ..course.result import Result

__all__ = ["RESEARCH_NOTICE", "render_report"]

#: The statement every report shows in a box at the top (and again at the bottom).
RESEARCH_NOTICE = (
    "For research and teaching only — not for treating patients; "
    "tissuefate gives no patient-specific dosing advice."
)

_MISSING = "—"

#: Captions of the figures that :func:`tissuefate.report.figures.write_figures` writes.
_CAPTIONS = {
    "slices": (
        "Peak temperature (top) and cell kill fraction (bottom) in a plane along the applicator "
        "(left) and across it (right). Dashed white: tumour before treatment; cyan: ablation zone "
        "(Arrhenius damage Ω = 1); grey: 60 °C isotherm."
    ),
    "timecourse": (
        "Hottest temperature, ablation-zone volume and delivered energy during the session; "
        "the shaded part is the cool-down after the source was switched off."
    ),
    "course_volumes": (
        "Viable tumour, necrotic tissue, scar and normal tissue lost over the course of care."
    ),
}

#: Row labels of known summary keys (units in brackets); unknown keys are shown as they are.
_LABELS = {
    "days": "Length of the course (days)",
    "viable_tumor_ml": "Viable tumour at the end (mL)",
    "visible_tumor_ml": "Tumour visible on imaging at the end (mL)",
    "scar_ml": "Scar (mL)",
    "normal_lost_ml": "Normal tissue lost (mL)",
    "tumor_free": "Tumour free at the end",
    "days_to_no_visible_tumor": "Days until no tumour is visible",
    "local_progression_day": "Day of local progression",
    "treatability": "Treatability",
}


def _is_missing(value: Any) -> bool:
    if value is None:
        return True
    try:
        return isinstance(value, float | np.floating) and not math.isfinite(float(value))
    except (TypeError, ValueError):
        return False


def _fmt(value: Any, digits: int = 3) -> str:
    """``value`` as text for a person: numbers to ``digits`` significant figures (integers in
    full), booleans as yes/no, missing values (None, NaN) as a dash, mappings as ``key: value``
    pairs."""
    if _is_missing(value):
        return _MISSING
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float):
        return _fmt_number(value, digits)
    if isinstance(value, Mapping):
        return "; ".join(f"{k}: {_fmt(v, digits)}" for k, v in value.items()) or _MISSING
    if isinstance(value, list | tuple):
        return ", ".join(_fmt(v, digits) for v in value) or _MISSING
    return str(value)


def _fmt_number(value: float, digits: int) -> str:
    if isinstance(value, int) or value == 0.0:
        return str(int(value))
    if 1e-3 <= abs(value) < 1e6:
        decimals = max(0, digits - 1 - math.floor(math.log10(abs(value))))
        return f"{value:.{decimals}f}"
    return f"{value:.{digits - 1}e}"


def _with_unit(value: Any, unit: str, digits: int = 3) -> str:
    text = _fmt(value, digits)
    return text if text == _MISSING else f"{text} {unit}"


def _session_rows(s: Mapping[str, Any]) -> list[tuple[str, str]]:
    zone = s.get("ablation_zone") or {}
    solver = s.get("solver") or {}
    rows = [
        ("Modality", _fmt(s.get("modality"))),
        ("Day", _fmt(s.get("day"))),
        ("Delivered settings", _fmt(s.get("delivered"))),
        ("Peak temperature", _with_unit(s.get("peak_temperature_c"), "°C")),
        ("Lowest temperature", _with_unit(s.get("min_temperature_c"), "°C")),
        ("Ablation-zone volume", _with_unit(zone.get("volume_ml"), "mL")),
        (
            "Ablation-zone long × short axis",
            f"{_with_unit(zone.get('long_axis_mm'), 'mm')} × "
            f"{_with_unit(zone.get('short_axis_mm'), 'mm')}",
        ),
        ("Tumour kill fraction", _fmt(s.get("tumor_kill_fraction"), 4)),
        ("Smallest margin around the tumour", _with_unit(s.get("min_margin_mm"), "mm")),
        ("Normal tissue necrosis", _with_unit(s.get("normal_necrosis_ml"), "mL")),
    ]
    if "systemic_dose" in s:
        rows.append(("Systemic dose", _fmt(s.get("systemic_dose"))))
    rows.append(
        (
            "Solver",
            f"{_fmt(solver.get('steps'))} steps of {_with_unit(solver.get('dt_s'), 's')}, "
            f"{_with_unit(solver.get('wall_time_s'), 's')} wall time",
        )
    )
    return rows


def _figure_entry(name: str) -> dict[str, str]:
    stem = name.rsplit(".", 1)[0]
    kind = "course_volumes" if stem == "course_volumes" else stem.rsplit("_", 1)[-1]
    return {"src": name, "caption": _CAPTIONS.get(kind, stem.replace("_", " "))}


def _template() -> jinja2.Template:
    text = resources.files(__package__).joinpath("templates", "report.html").read_text("utf-8")
    env = jinja2.Environment(
        autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True
    )
    return env.from_string(text)


def render_report(result: Result, figure_files: Sequence[str] = ()) -> str:
    """The HTML report of ``result`` as a string.

    Parameters
    ----------
    figure_files
        Names of figure files relative to the report (as returned by
        :func:`tissuefate.report.figures.write_figures`): ``session_<n>_*`` files are shown with
        session ``n`` (1-based), the others with the outcome.
    """
    summary = result.summary
    extras = result.extras.get("sessions") or []
    remaining = list(figure_files)
    sessions = []
    for i, s in enumerate(summary.get("sessions") or [], start=1):
        prefix = f"session_{i}_"
        mine = [f for f in remaining if f.startswith(prefix)]
        remaining = [f for f in remaining if not f.startswith(prefix)]
        label = extras[i - 1].get("label") if i <= len(extras) else None
        sessions.append(
            {
                "heading": (label[:1].upper() + label[1:]) if label else f"Session {i}",
                "rows": _session_rows(s),
                "figures": [_figure_entry(f) for f in mine],
            }
        )
    outcome = [(_LABELS.get(k, k), _fmt(v)) for k, v in (summary.get("outcome") or {}).items()]
    scenario_name = summary.get("scenario") or "scenario"
    return _template().render(
        title=f"tissuefate report: {scenario_name}",
        strategy=_fmt(summary.get("strategy")),
        version=_fmt(summary.get("version")),
        seed=_fmt(summary.get("seed")),
        wall_time=_with_unit(summary.get("wall_time_s"), "s"),
        notice=RESEARCH_NOTICE,
        sessions=sessions,
        outcome=outcome,
        course_figures=[_figure_entry(f) for f in remaining],
        scenario=result.scenario_yaml,
    )
