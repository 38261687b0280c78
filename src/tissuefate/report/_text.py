"""Numbers and values as a person reads them in a report: significant figures, units, dashes
for missing values, durations and percentages."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

_MISSING = "—"


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


def _solver_row(solver: Mapping[str, Any]) -> tuple[str, str]:
    return (
        "Solver",
        f"{_fmt(solver.get('steps'))} steps of {_with_unit(solver.get('dt_s'), 's')}, "
        f"{_with_unit(solver.get('wall_time_s'), 's')} wall time",
    )


def _duration(seconds: Any) -> str:
    """A duration in s as minutes, or as hours from 3 h on."""
    if _is_missing(seconds):
        return _MISSING
    seconds = float(seconds)
    return (
        _with_unit(seconds / 3600.0, "h")
        if seconds >= 3 * 3600.0
        else _with_unit(seconds / 60.0, "min")
    )


def _percent(part: Any, whole: Any) -> str:
    """``part`` as a percentage of ``whole``, or a dash."""
    if _is_missing(part) or _is_missing(whole) or not float(whole) > 0.0:
        return _MISSING
    return f"{_fmt_number(100.0 * float(part) / float(whole), 3)} %"
