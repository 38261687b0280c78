"""The self-contained HTML report of one run (inline CSS, figures embedded as PNG data URIs)."""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import jinja2
import numpy as np

from ._templates import page_template
from ._text import (
    _MISSING,
    _duration,
    _fmt,
    _fmt_number,
    _is_missing,
    _percent,
    _solver_row,
    _with_unit,
)
from .ire_tables import IRE_CAPTIONS, IRE_COVERAGE, ire_pairs, ire_rows

if TYPE_CHECKING:  # the type only: report never imports io at run time (io writes reports)
    from ..io.result import Result

__all__ = ["REPAIR_INTRO", "RESEARCH_NOTICE", "render_report"]

#: The statement every report shows in a box at the top (and again at the bottom).
RESEARCH_NOTICE = (
    "For research and teaching only — not for treating patients; "
    "tissuefate gives no patient-specific dosing advice."
)


#: Captions of the figures that :func:`tissuefate.report.figures.write_figures` writes.
_CAPTIONS = {
    "slices": (
        "Peak temperature (top) and cell kill fraction (bottom) in a plane along the applicator "
        "(left) and across it (right). Dashed white: tumour before treatment; cyan: ablation zone "
        "(Arrhenius damage Ω = 1); grey: 60 °C isotherm, in liver the edge of the white "
        "(coagulation) zone that gross pathology sees."
    ),
    "timecourse": (
        "Hottest temperature, ablation-zone volume and delivered energy during the session; "
        "the shaded part is the cool-down after the source was switched off."
    ),
    "course_volumes": (
        "Viable tumour, necrotic tissue, scar and normal tissue lost over the course of care; "
        "with tissue repair also the ablation zone (dead and fibrous tissue) and the collagen, "
        "and below them the highest inflammation on the grid. Dotted lines: treatment sessions."
    ),
    "3d": (
        "The session in 3-D, in the scanner coordinates of the segmented image (mm; else the "
        "grid's): the viable tumour just before the session (red), its ablation zone (damage "
        "Ω ≥ 1, orange, translucent), the large vessels (blue) and the organ (faint)."
    ),
    "final_3d": (
        "What is left at the last snapshot, in 3-D (scanner coordinates on an image, mm): viable "
        "tumour (red), dead tissue not yet cleared (orange, translucent), scar (collagen at least "
        "half, purple), the large vessels (blue) and the organ (faint)."
    ),
    "repair_slices": (
        "The tissue after the last session, in a plane along its applicator through its focus, "
        "one column per snapshot day. Top: collagen volume fraction, with the scar (collagen at "
        "least half, black) and the dead tissue not yet cleared (coagulated and debris at least "
        "half, orange dashed) and, when the tissue moved, its displacement since day 0 (teal "
        "arrows, to scale). Bottom: viable tumour volume fraction, with the tumour before "
        "treatment (dark dashed)."
    ),
}
#: Figures shown in their own section rather than with a session or the outcome.
_REPAIR_FIGURES = ("repair_slices.png",)
#: Captions of the figures of an injection session (same file names, other content).
_INJECTION_CAPTIONS = {
    "slices": (
        "Peak agent concentration relative to the injectate (top, logarithmic scale) and cell kill "
        "fraction (bottom) in a plane along the needle (left) and across it (right). Dashed white: "
        "tumour before treatment; cyan: ablation zone (damage Ω = 1); green dotted: where the "
        "interstitial fluid was at least 50 % injectate; +: needle tips."
    ),
    "timecourse": (
        "Where the agent went (injected, in tissue, consumed by the tissue, washed out, leaked, "
        "reaching the circulation), the distribution, ablation-zone, lesion and tumour volumes, "
        "and the pressure at the needle tip against the critical pressure for backflow (dotted, "
        "right-hand axis: the rate that flowed back along the needle track); the shaded part is "
        "the infusion."
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


def _session_rows(s: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The table of one session: label and text per row (:func:`_injection_rows` for an
    injection session)."""
    if s.get("modality") == "injection":
        return _injection_rows(s)
    if s.get("modality") == "ire":
        return ire_rows(s)
    zone = s.get("ablation_zone") or {}
    solver = s.get("solver") or {}
    rows = [
        ("Modality", _fmt(s.get("modality"))),
        ("Day", _fmt(s.get("day"))),
        ("Delivered settings", _fmt(s.get("delivered"))),
        ("Peak temperature", _with_unit(s.get("peak_temperature_c"), "°C")),
        ("Lowest temperature", _with_unit(s.get("min_temperature_c"), "°C")),
        ("Ablation-zone volume", _with_unit(zone.get("volume_ml"), "mL")),
        *_zone_rows(s, _coagulation_rows(s)),
    ]
    if "systemic_dose" in s:
        rows.append(("Systemic dose", _fmt(s.get("systemic_dose"))))
    rows.append(_solver_row(solver))
    return rows


def _coagulation_rows(s: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The coagulation zone of a heating session (none for other modalities)."""
    coag = s.get("coagulation_zone")
    if not coag:
        return []
    return [
        (
            "Coagulation zone (what gross pathology sees)",
            f"{_with_unit(coag.get('volume_ml'), 'mL')}, "
            f"{_with_unit(coag.get('long_axis_mm'), 'mm')} × "
            f"{_with_unit(coag.get('short_axis_mm'), 'mm')}",
        )
    ]


def _zone_rows(
    s: Mapping[str, Any], after_axes: list[tuple[str, str]] | None = None
) -> list[tuple[str, str]]:
    """Rows every session shares: zone axes (then ``after_axes``), tumour kill, smallest margin,
    normal necrosis."""
    zone = s.get("ablation_zone") or {}
    return [
        (
            "Ablation-zone long × short axis",
            f"{_with_unit(zone.get('long_axis_mm'), 'mm')} × "
            f"{_with_unit(zone.get('short_axis_mm'), 'mm')}",
        ),
        *(after_axes or []),
        ("Tumour kill fraction", _fmt(s.get("tumor_kill_fraction"), 4)),
        ("Smallest margin around the tumour", _with_unit(s.get("min_margin_mm"), "mm")),
        ("Normal tissue necrosis", _with_unit(s.get("normal_necrosis_ml"), "mL")),
    ]


def _unvalidated(agent: Mapping[str, Any]) -> bool:
    return agent.get("validated") is False or agent.get("status") == "unvalidated"


def _agent_text(agent: Mapping[str, Any]) -> str:
    name = _fmt(agent.get("name"))
    if _unvalidated(agent):
        return f"{name} — UNVALIDATED preset: no data to test it against"
    status = agent.get("status")
    return f"{name} ({status})" if status else name


def _on_target(inj: dict[str, Any]) -> str:
    """How much of the distribution volume was viable tumour, and how much of it was reached."""
    share = inj.get("distribution_on_target_fraction")
    reached = inj.get("viable_tumor_reached_fraction")
    if share is None or reached is None:
        return "no viable tumour"
    return (
        f"{_with_unit(inj.get('distribution_in_viable_tumor_ml'), 'mL')} of viable tumour in "
        f"the distribution volume ({share:.0%} of it); {reached:.0%} of the viable tumour reached"
    )


def _depot(inj: dict[str, Any]) -> str:
    """The fluid a storing tissue held beyond its own, and when its flow stopped."""
    peak = inj.get("peak_stored_volume_ml")
    if not peak:
        return "none (the tissue stores no fluid: steady flow)"
    relaxed = inj.get("depot_relaxed_s")
    end = (
        f"its flow stopped {relaxed / 60:.0f} min into the session"
        if relaxed is not None
        else "it was still relaxing at the end"
    )
    return f"{_with_unit(peak, 'mL')} at most; {end}"


def _active_hypotheses(hypotheses: Mapping[str, Any]) -> str:
    """The active hypotheses as ``"H8 (claim: parameter value)"``, separated by semicolons, or
    ``"none"``."""
    active = [
        f"{key} ({h.get('claim')}: {h.get('parameter')} {_fmt(h.get('value'))})"
        if h.get("claim")
        else str(key)
        for key, h in hypotheses.items()
        if isinstance(h, Mapping) and h.get("active")
    ]
    return "; ".join(active) if active else "none"


def _by_hour(volumes: Any) -> str:
    if not isinstance(volumes, Mapping) or not volumes:
        return _MISSING
    return "; ".join(f"{h} h: {_with_unit(v, 'mL')}" for h, v in volumes.items())


def _injection_rows(s: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The table of an injection session: agent, injected and distribution volumes, kill volume,
    leakage, systemic dose, needle-tip pressure and the active hypotheses (volumes in mL, amounts
    in mmol, pressures in kPa)."""
    agent = s.get("agent") or {}
    inj = s.get("injection") or {}
    delivered = s.get("delivered") or {}
    dose = s.get("systemic_dose") or {}
    solver = s.get("solver") or {}
    sites = delivered.get("sites") or []
    injected_ml = inj.get("injected_volume_ml", delivered.get("volume_ml"))
    needle = delivered.get("needle_diameter_mm")
    order = delivered.get("order")
    how = [f"{len(sites)} site(s)" if sites else None, str(order) if order else None]
    if not _is_missing(needle):
        how.append(f"{_with_unit(needle, 'mm')} needle")
    how.append(f"infusion {_duration(delivered.get('infusion_time_s'))}")
    how.append(f"observed {_duration(delivered.get('observe_s'))}")
    peak = inj.get("peak_tip_pressure_kpa")
    critical = inj.get("critical_pressure_kpa")
    pressure = _with_unit(peak, "kPa")
    if not _is_missing(critical):
        pressure += f" (critical {_with_unit(critical, 'kPa')}"
        back = inj.get("backflow_volume_ml", inj.get("leaked_volume_ml"))
        reached = not _is_missing(back) and float(back) > 0.0
        pressure += ": reached, injectate flowed back along the track)" if reached else ")"
    balance = (
        f"in tissue {_fmt(inj.get('retained_mmol'))}, consumed {_fmt(inj.get('consumed_mmol'))}, "
        f"washed out {_fmt(inj.get('washed_out_mmol'))}, leaked {_fmt(inj.get('leaked_mmol'))} "
        f"(along the track {_fmt(inj.get('leaked_along_track_mmol'))}, into vessels "
        f"{_fmt(inj.get('leaked_into_vessels_mmol'))}), out of the grid "
        f"{_fmt(inj.get('out_of_grid_mmol'))} mmol; balance error "
        f"{_fmt(inj.get('balance_residual_rel'), 2)} (relative)"
    )
    systemic = (
        f"{_with_unit(dose.get('amount_mmol'), 'mmol')} ({_with_unit(dose.get('mass_mg'), 'mg')}), "
        f"{_percent(dose.get('fraction_of_injected'), 1.0)} of the injected agent"
    )
    return [
        ("Modality", _fmt(s.get("modality"))),
        ("Day", _fmt(s.get("day"))),
        ("Agent", _agent_text(agent)),
        ("About the agent preset", _fmt(agent.get("status_note"))),
        ("Injection", ", ".join(h for h in how if h)),
        (
            "Injected volume",
            f"{_with_unit(injected_ml, 'mL')} at "
            f"{_with_unit(delivered.get('injectate_concentration_mm'), 'mM')} "
            f"({_with_unit(inj.get('injected_mmol'), 'mmol')})",
        ),
        (
            "Distribution volume (agent reached)",
            _with_unit(inj.get("distribution_volume_ml"), "mL"),
        ),
        ("Liquid on viable tumour", _on_target(inj)),
        ("Kill volume (damage Ω ≥ 1)", _with_unit(inj.get("kill_volume_ml"), "mL")),
        ("Kill volume / injected volume", _fmt(inj.get("kill_to_injected_ratio"))),
        *_zone_rows(s),
        ("Lesion volume by hour", _by_hour(inj.get("lesion_volume_ml_by_hour"))),
        ("Backflow along the needle track", _backflow(inj, injected_ml)),
        (
            "Leaked volume (out of the organ or into vessels)",
            f"{_with_unit(inj.get('leaked_volume_ml'), 'mL')} "
            f"({_percent(inj.get('leaked_volume_ml'), injected_ml)} of the injected volume)",
        ),
        ("Where the agent went", balance),
        ("Systemic dose", systemic),
        ("Peak needle-tip pressure", pressure),
        ("Depot (fluid the tissue stored)", _depot(inj)),
        ("Active hypotheses", _active_hypotheses(s.get("hypotheses") or {})),
        _solver_row(solver),
    ]


def _backflow(inj: Mapping[str, Any], injected_ml: Any) -> str:
    """The backflow row: the fluid that flowed back along the track, how far, where it went."""
    back = inj.get("backflow_volume_ml")
    if _is_missing(back):
        return "—"
    if float(back) <= 0.0:
        return "none (the track stayed closed)"
    return (
        f"{_with_unit(back, 'mL')} ({_percent(back, injected_ml)} of the injected volume), the "
        f"track open up to {_with_unit(inj.get('peak_backflow_length_mm'), 'mm')} back from "
        "the tip; what did not leak entered the tissue along it"
    )


def _session_warnings(s: Mapping[str, Any]) -> list[str]:
    """Warnings shown in a box above the table of a session: an unvalidated agent preset."""
    agent = s.get("agent") or {}
    if not _unvalidated(agent):
        return []
    return [
        f"UNVALIDATED agent preset {_fmt(agent.get('name'))}: no data exist to test it against, "
        "so this session's results are hypotheses, not predictions (see “About the agent "
        "preset” below)."
    ]


def _data_uri(png: bytes) -> str:
    """``png`` (the bytes of a PNG file) as a ``data:`` URI for an ``<img src>``."""
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def _figure_entry(name: str, modality: str | None = None) -> dict[str, str]:
    """Source and caption of the figure ``name``: the figure embedded as a data URI when
    ``name`` carries its bytes (a :class:`tissuefate.report.figures.FigureFile`), else a link
    to the file."""
    stem = name.rsplit(".", 1)[0]
    kind = (
        stem if stem in ("course_volumes", "repair_slices", "final_3d") else stem.rsplit("_", 1)[-1]
    )
    extra = {"injection": _INJECTION_CAPTIONS, "ire": IRE_CAPTIONS}.get(modality or "", {})
    captions = {**_CAPTIONS, **extra}
    png = getattr(name, "png", None)
    src = _data_uri(png) if isinstance(png, bytes) else str(name)
    caption = captions.get(kind, stem.replace("_", " "))
    note = getattr(name, "note", None)
    return {"src": src, "caption": f"{caption} ({note})" if note else caption}


#: What the repair model does, for the reader of a report of a run with repair.
REPAIR_INTRO = (
    "Between the sessions and after the last one, tissuefate follows what the treated tissue "
    "becomes, in steps of a few hours. Phagocytes reach dead tissue only from perfused tissue, "
    "so it is cleared from the edge of the ablation zone inwards (loose debris quickly, "
    "heat-fixed coagulated tissue slowly). The killed cells set off inflammation. Depending on "
    "how large and lasting the injury is, the tissue then regenerates or turns into scar "
    "(myofibroblasts laying down collagen). Vessels grow back, but not through scar or dead "
    "tissue, and surviving tumour cells grow again where blood reaches them. With the tissue "
    "mechanics on, the tissue moves: myofibroblasts close the room that clearance left, "
    "drawing the surrounding tissue in and compacting the collagen into a smaller, denser scar; "
    "growing tumour pushes its neighbours away; oedema swells the tissue and dehydration "
    "shrinks it. The arrows in the figure show how far the tissue has moved since the start of "
    "the course (to scale). The parameters are "
    "those of the repair section of the tissue preset (listed below with where each comes "
    "from); most are assumptions. The shrinkage of the ablation zone is calibrated to a "
    "surrogate, thyroid nodules after radiofrequency ablation, not to data of this tissue."
)
#: Short names of the hypotheses the repair summary lists.
_HYPOTHESIS_NAMES = {"H3": "occlusion recovery", "H4": "fixation", "H5": "immunogenicity"}


def _day_or_none(outcome: Mapping[str, Any], key: str) -> str:
    """``"day N"`` for a recorded day, ``"none"`` for a recorded None, a dash when absent."""
    if key not in outcome:
        return _MISSING
    value = outcome[key]
    return "none" if _is_missing(value) else f"day {_fmt(value)}"


def _follow_up_days(summary: Mapping[str, Any]) -> Any:
    """Days from the last session to the end of the course (``outcome.days`` − its day)."""
    sessions = summary.get("sessions") or []
    last = sessions[-1].get("day") if sessions else 0.0
    end = (summary.get("outcome") or {}).get("days")
    if _is_missing(last) or _is_missing(end):
        return None
    return float(end) - float(last)


def _lesion_change(start: Any, final: Any) -> str:
    """The final lesion volume with how much smaller (or larger) it is than at the start."""
    text = _with_unit(final, "mL")
    if _is_missing(start) or _is_missing(final) or not float(start) > 0.0:
        return text
    change = 1.0 - float(final) / float(start)
    word = "smaller" if change >= 0.0 else "larger"
    return (
        f"{text} ({_fmt_number(100.0 * abs(change), 3)} % {word} than right after the last session)"
    )


def _repair_rows(summary: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The table of the repair model's settings and results (volumes in mL, times in days)."""
    repair = summary.get("repair") or {}
    outcome = summary.get("outcome") or {}
    start = repair.get("lesion_after_last_session_ml")
    rows = [
        ("Repair step", _with_unit(repair.get("step_h"), "h")),
        ("Tumour growth law", _fmt(repair.get("growth_law"))),
        ("Follow-up after the last session", _with_unit(_follow_up_days(summary), "days")),
        ("Dead tissue cleared", _with_unit(repair.get("cleared_ml"), "mL")),
        ("Ablation zone (dead + fibrous) right after the last session", _with_unit(start, "mL")),
        ("Ablation zone at its largest", _with_unit(repair.get("lesion_peak_ml"), "mL")),
        ("Ablation zone at the end", _lesion_change(start, repair.get("lesion_final_ml"))),
        ("Local progression", _day_or_none(outcome, "local_progression_day")),
    ]
    inputs = repair.get("sessions") or [
        s.get("repair_inputs") or {} for s in summary.get("sessions") or []
    ]
    for i, given in enumerate(inputs, start=1):
        if not isinstance(given, Mapping) or not given:
            continue
        rows.append(
            (
                f"Session {i}: immunogenicity of the kill",
                f"{_fmt(given.get('immunogenicity'))} "
                f"(from {_fmt(given.get('immunogenicity_from'))})",
            )
        )
        if "occlusion_recovery_d" in given:
            rows.append(
                (
                    f"Session {i}: recovery of occluded vessels",
                    f"{_with_unit(given.get('occlusion_recovery_d'), 'days')} "
                    f"(from {_fmt(given.get('occlusion_recovery_from'))})",
                )
            )
    mech = repair.get("mechanics") or {}
    if mech.get("enabled"):
        rows += [
            ("Ablation zone on a scan (less than half viable cells) at the end",
             _with_unit(_last(summary, "lesion_scan_ml"), "mL")),
            ("Scar centroid shift", _with_unit(outcome.get("scar_shift_mm"), "mm")),
            ("Zone centroid shift", _with_unit(outcome.get("lesion_shift_mm"), "mm")),
            ("Largest tissue displacement",
             _with_unit(outcome.get("largest_displacement_mm"), "mm")),
            ("Tissue mechanics", f"{_fmt(mech.get('pressure_solves'))} pressure solves, "
             f"{_with_unit(mech.get('total_s'), 's')}"),
        ]  # fmt: skip
    elif mech:
        rows.append(("Tissue mechanics", "off: the tissue does not move"))
    rows.append(
        (
            "Repair solver",
            f"{_fmt(repair.get('steps'))} steps, "
            f"{_with_unit(repair.get('wall_time_s'), 's')} wall time",
        )
    )
    return rows


def _last(summary: Mapping[str, Any], key: str) -> Any:
    """``key`` of the summary's final volumes, when it carries them (None otherwise)."""
    final = (summary.get("repair") or {}).get("final_volumes") or {}
    return final.get(key)


def _repair_hypotheses(hypotheses: Any) -> list[tuple[str, str]]:
    """``(heading, text)`` per hypothesis, e.g. ``("H3 (occlusion recovery)", "set by ...")``."""
    if not isinstance(hypotheses, Mapping):
        return []
    out = []
    for key, text in hypotheses.items():
        name = _HYPOTHESIS_NAMES.get(str(key))
        out.append((f"{key} ({name})" if name else str(key), _fmt(text)))
    return out


def _repair_parameters(parameters: Any) -> list[tuple[str, str, str, str]]:
    """``(name, value, units, provenance)`` per repair parameter."""
    if not isinstance(parameters, Mapping):
        return []
    out = []
    for name, given in parameters.items():
        entry = given if isinstance(given, Mapping) else {"value": given}
        out.append(
            (
                str(name),
                _fmt(entry.get("value")),
                _fmt(entry.get("units")),
                str(entry.get("provenance") or _MISSING),
            )
        )
    return out


def _repair_ran(summary: Mapping[str, Any]) -> bool:
    """Whether tissue repair ran: ``summary["repair"]`` is there and took steps (a run with
    repair switched on but no time after its one session records ``steps: 0``)."""
    repair = summary.get("repair")
    return bool(repair) and repair.get("steps") != 0


def _repair_section(summary: Mapping[str, Any], figures: Sequence[str]) -> dict[str, Any] | None:
    """The content of the "Between sessions and follow-up" section, or None when repair did not
    run (:func:`_repair_ran`)."""
    repair = summary.get("repair")
    if not _repair_ran(summary):
        return None
    return {
        "intro": REPAIR_INTRO,
        "rows": _repair_rows(summary),
        "hypotheses": _repair_hypotheses(repair.get("hypotheses")),
        "parameters": _repair_parameters(repair.get("parameters")),
        "figures": [_figure_entry(f) for f in figures],
    }


def _spans_time(result: Result) -> bool:
    """Whether the course's time series covers more than one day; if not (a run without
    follow-up, every row on the day of its one session) its plot is a flat line, not shown."""
    ts = result.timeseries
    if "day" not in ts:
        return len(ts) > 1
    day = np.asarray(ts["day"], dtype=float)
    day = day[np.isfinite(day)]
    return day.size > 1 and float(day.max()) > float(day.min())


def _coverage_file(names: Sequence[str]) -> str:
    """The entry of :data:`IRE_COVERAGE` in ``names`` (which may carry its PNG bytes)."""
    return next(f for f in names if f == IRE_COVERAGE)


def _template() -> jinja2.Template:
    return page_template("report.html")


def render_report(result: Result, figure_files: Sequence[str] = ()) -> str:
    """The HTML report of ``result`` as a string.

    Parameters
    ----------
    figure_files
        Names of figure files relative to the report (as returned by
        :func:`tissuefate.report.figures.write_figures`): ``session_<n>_*`` files are shown with
        session ``n`` (1-based), the others with the outcome. Names that carry the PNG bytes
        (:class:`tissuefate.report.figures.FigureFile`, as ``write_figures`` returns them) are
        embedded as data URIs, so the report is one self-contained file; plain names are linked.
        ``course_volumes.png`` is left out when the time series covers a single day;
        ``ire_coverage.png`` is shown with the last IRE session.

    The research-use notice is shown at the top and the bottom, the run's ``summary["notes"]``
    below the top one, and a warning box above each session that used an unvalidated agent
    preset. An IRE session gets its own table (:func:`~tissuefate.report.ire_tables.ire_rows`)
    and below it a table of its electrode pairs (:func:`~tissuefate.report.ire_tables.ire_pairs`).
    When tissue repair ran (``summary["repair"]``, with steps), a section "Between
    sessions and follow-up" after the sessions explains the repair model and lists its settings,
    results, hypotheses and parameters, with ``repair_slices.png`` when given.
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
                "warnings": _session_warnings(s),
                "rows": _session_rows(s),
                "pairs": ire_pairs(s, result, i),
                "figures": [_figure_entry(f, s.get("modality")) for f in mine],
            }
        )
    ire = [n for n, s in enumerate(summary.get("sessions") or []) if s.get("modality") == "ire"]
    if ire and IRE_COVERAGE in remaining:
        sessions[ire[-1]]["figures"].append(_figure_entry(_coverage_file(remaining), "ire"))
        remaining = [f for f in remaining if f != IRE_COVERAGE]
    repair_figures = [f for f in remaining if f in _REPAIR_FIGURES] if _repair_ran(summary) else []
    remaining = [f for f in remaining if f not in repair_figures]
    if not _spans_time(result):
        remaining = [f for f in remaining if f != "course_volumes.png"]
    repair = _repair_section(summary, repair_figures)
    outcome = [(_LABELS.get(k, k), _fmt(v)) for k, v in (summary.get("outcome") or {}).items()]
    scenario_name = summary.get("scenario") or "scenario"
    return _template().render(
        title=f"tissuefate report: {scenario_name}",
        strategy=_fmt(summary.get("strategy")),
        version=_fmt(summary.get("version")),
        seed=_fmt(summary.get("seed")),
        wall_time=_with_unit(summary.get("wall_time_s"), "s"),
        notice=RESEARCH_NOTICE,
        notes=[str(n) for n in summary.get("notes") or []],
        sessions=sessions,
        repair=repair,
        outcome=outcome,
        course_figures=[_figure_entry(f) for f in remaining],
        scenario=result.scenario_yaml,
    )
