"""The tables of an irreversible electroporation session (``modality: ire``) in the report, and
the captions of its figures."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from ._text import _MISSING, _duration, _fmt, _is_missing, _percent, _solver_row, _with_unit

if TYPE_CHECKING:  # the type only: report never imports io at run time (io writes reports)
    from ..io.result import Result

__all__ = ["IRE_CAPTIONS", "IRE_COVERAGE", "ire_pairs", "ire_rows"]

#: The course figure shown with the last IRE session rather than with the outcome.
IRE_COVERAGE = "ire_coverage.png"
#: Captions of the figures of an irreversible electroporation session and of the course's IRE
#: coverage figure.
IRE_CAPTIONS = {
    "slices": (
        "Peak temperature (top) and cell kill fraction (bottom) in a plane along the electrodes "
        "(left) and across them (right). Dashed white: tumour before treatment; cyan: lethal zone "
        "(damage Ω = 1 of the field and the pulses' heat together); grey: 60 °C isotherm, where "
        "the pulses' Joule heat coagulated the tissue."
    ),
    "field": (
        "Largest electric field over the electrode pairs (logarithmic colour scale) across the "
        "electrodes through the middle of the first two electrodes' exposed parts (left) and "
        "along them (right). Green: 500 (dotted), 600 (dashed) and 800 V/cm (solid); dashed "
        "white: tumour before treatment; cyan: lethal zone (damage Ω = 1); circles: electrodes "
        "where they cross the plane (filled: exposed part, open: insulated shaft), white bars: "
        "electrodes lying in it (grey: insulated shaft), numbered as in the pairs table."
    ),
    "timecourse": (
        "Hottest temperature and the volume the pulses' heat alone killed (thermal damage Ω ≥ 1; "
        "the field's kill is counted at the end of the session), the current of each electrode "
        "pair during its pulse train (open circles: through the intact tissue at the first "
        "pulse; filled: once electroporated) and the Joule heat the tissue took up; the shaded "
        "part is the cool-down."
    ),
    "coverage": (
        "Share of the tumour (its viable cells at the session's start) whose largest field over "
        "the electrode pairs reaches each threshold, one line per IRE session of the course. "
        "Shaded: the clinical liver threshold, 500–600 V/cm, at which simulations best matched "
        "ten patients' CT-segmented IRE ablation zones (Technol Cancer Res Treat 2025, doi "
        "10.1177/15330338251384207); dashed: the field at the edge of the model's own lethal "
        "zone, the threshold that best separates the session's zone (damage Ω ≥ 1) from the "
        "rest of the tissue."
    ),
}


def ire_rows(s: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The table of an IRE session: the pulses, the electrodes, the lethal zone (volume, axes,
    share by cause), the tumour's coverage by the clinical threshold and what was killed
    (volumes in mL, lengths in mm, fields in V/cm); the pairs are in :func:`ire_pairs`."""
    delivered = s.get("delivered") or {}
    ire = s.get("ire") or {}
    lethal = ire.get("lethal_zone") or s.get("ablation_zone") or {}
    pairs = delivered.get("pairs") or []
    electrodes = delivered.get("electrodes") or []
    pulses = sorted({p.get("pulses") for p in pairs if isinstance(p, Mapping)} - {None})
    width = delivered.get("pulse_width_s")
    train = (
        f"{len(pairs)} pair(s) of {' or '.join(_fmt(p) for p in pulses) or _MISSING} pulses of "
        f"{_with_unit(None if _is_missing(width) else float(width) * 1e6, 'µs')} at "
        f"{_with_unit(delivered.get('pulse_rate_hz'), 'Hz')}, one pair after another "
        f"({_duration(delivered.get('duration_s'))} of pulses); conductivity "
        f"{_fmt(delivered.get('conductivity_model'))} in the field"
    )
    diameters = sorted({e.get("diameter_mm") for e in electrodes if isinstance(e, Mapping)})
    exposures = sorted({e.get("exposure_mm") for e in electrodes if isinstance(e, Mapping)})
    return [
        ("Modality", "ire (irreversible electroporation)"),
        ("Day", _fmt(s.get("day"))),
        ("Pulses", train),
        (
            "Electrodes",
            f"{len(electrodes)}, {_with_unit(diameters[0] if len(diameters) == 1 else None, 'mm')}"
            f" across, {_with_unit(exposures[0] if len(exposures) == 1 else None, 'mm')} exposed"
            if electrodes
            else _MISSING,
        ),
        (
            "Electrical energy of the pulses",
            f"{_with_unit(delivered.get('electrical_energy_j'), 'J')} "
            f"({_with_unit(delivered.get('energy_j'), 'J')} of heat in the tissue)",
        ),
        ("Largest field", _with_unit(ire.get("max_field_v_cm"), "V/cm")),
        ("Peak temperature", _with_unit(s.get("peak_temperature_c"), "°C")),
        (
            "Lethal zone (damage Ω ≥ 1 of field and heat)",
            f"{_with_unit(lethal.get('volume_ml'), 'mL')}, "
            f"{_with_unit(lethal.get('long_axis_mm'), 'mm')} × "
            f"{_with_unit(lethal.get('short_axis_mm'), 'mm')} (long × short axis)",
        ),
        (
            "Thermal share of the lethal zone",
            f"{_percent(ire.get('thermal_share'), 1.0)} (the heat alone killed "
            f"{_with_unit(ire.get('thermal_zone_ml'), 'mL')}, the field alone "
            f"{_with_unit(ire.get('electroporation_zone_ml'), 'mL')})",
        ),
        ("Tumour reached by the clinical threshold", _coverage_text(ire.get("coverage"))),
        (
            "Killed",
            f"tumour {_with_unit(ire.get('killed_tumor_ml'), 'mL')}, normal tissue "
            f"{_with_unit(ire.get('killed_normal_ml'), 'mL')}",
        ),
        ("Tumour kill fraction", _fmt(s.get("tumor_kill_fraction"), 4)),
        ("Smallest margin around the tumour", _with_unit(s.get("min_margin_mm"), "mm")),
        _solver_row(s.get("solver") or {}),
    ]


def _coverage_text(coverage: Any) -> str:
    """The tumour's share at 500 and 600 V/cm (the clinical liver band) from its coverage curve."""
    if not isinstance(coverage, Mapping):
        return _MISSING
    thresholds = np.asarray(coverage.get("thresholds_v_cm") or [], float)
    shares = np.asarray(coverage.get("tumor_share") or [], float)
    if thresholds.size == 0 or thresholds.shape != shares.shape:
        return _MISSING
    parts = [
        f"{_percent(float(np.interp(level, thresholds, shares)), 1.0)} at ≥ {level:.0f} V/cm"
        for level in (500.0, 600.0)
        if thresholds[0] <= level <= thresholds[-1]
    ]
    return ", ".join(parts) or _MISSING


#: Column headings of the pairs table of an IRE session.
_PAIR_HEADINGS = (
    "Pair (anode–cathode)",
    "Voltage (V)",
    "Distance (mm)",
    "Voltage / distance (V/cm)",
    "Pulses",
    "Current, intact tissue (A)",
    "Current, electroporated (A)",
    "Current at the train's end (A)",
)


def _train_end_currents(result: Result, session: int) -> dict[str, float]:
    """The last ``current_a`` of each pulse train (phase ``"pair A-C"``) of ``session``, in A."""
    st = result.session_timeseries
    if not {"session", "phase", "current_a"} <= set(st.columns):
        return {}
    rows = st[st["session"] == session]
    if "time_s" in rows:
        rows = rows.sort_values("time_s")
    out = {}
    for phase, group in rows.groupby(rows["phase"].astype(str), sort=False):
        values = group["current_a"].to_numpy(dtype=float)
        values = values[np.isfinite(values)]
        if phase.startswith("pair ") and values.size:
            out[phase] = float(values[-1])
    return out


def ire_pairs(s: Mapping[str, Any], result: Result, session: int) -> dict[str, Any] | None:
    """The pairs table of an IRE session (None for other modalities): per pair its electrodes
    (numbered from 0 as in the scenario), voltage, distance, voltage over distance, pulses and
    currents (intact tissue, electroporated at the train's start, and at its end)."""
    if s.get("modality") != "ire":
        return None
    ends = _train_end_currents(result, session)
    rows = []
    for p in (s.get("delivered") or {}).get("pairs") or []:
        if not isinstance(p, Mapping):
            continue
        anode, cathode = p.get("anode"), p.get("cathode")
        rows.append(
            (
                f"{_fmt(anode)}–{_fmt(cathode)}",
                _fmt(p.get("voltage_v"), 4),
                _fmt(p.get("distance_mm")),
                _fmt(p.get("voltage_to_distance_v_cm"), 4),
                _fmt(p.get("pulses")),
                _fmt(p.get("current_initial_a")),
                _fmt(p.get("current_a")),
                _fmt(ends.get(f"pair {anode}-{cathode}")),
            )
        )
    return {"headings": _PAIR_HEADINGS, "rows": rows} if rows else None
