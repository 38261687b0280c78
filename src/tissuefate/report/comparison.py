"""The comparison of the strategies of ``tissuefate compare``: a table (``comparison.csv``) and one
self-contained HTML page (``report.html``) that sets their outcomes, time courses, sessions,
tissue and assumptions side by side.

Everything is read back from the strategies' output folders (``NAME/summary.json``,
``timeseries.csv``, ``fields.zarr``), so a comparison can be redrawn from a finished output.
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
import numpy as np
import pandas as pd
import xarray as xr

from .._notice import RESEARCH_USE
from ._templates import page_template
from .comparison_figures import shared_snapshots, strategy_slices, strategy_timecourses
from .figures import _png_bytes
from .html import (
    _HYPOTHESIS_NAMES,
    _agent_text,
    _data_uri,
    _fmt,
    _is_missing,
    _unvalidated,
)

__all__ = ["RESEARCH_USE", "comparison_table", "render_comparison", "write_comparison"]

#: What the volumes of a dose rule are.
DOSE_RULE_NOTE = (
    "Where a dose rule sets a session's volumes (from a modelled scan), those volumes are model "
    "inputs for comparing strategies, not dosing recommendations."
)
#: Days (after the start of the course) at which the table reads the tumour volumes.
TABLE_DAYS = (30, 90, 180)
#: Columns of :func:`comparison_table` and their labels in the report (units in brackets).
COLUMNS = {
    "strategy": "Strategy",
    "days_to_no_visible_tumor": "Days until no tumour is visible",
    **{
        f"{kind}_tumor_ml_{day}d": f"{label} at day {day} (mL)"
        for day in TABLE_DAYS
        for kind, label in (("viable", "Viable tumour"), ("visible", "Visible tumour"))
    },
    "scar_ml": "Scar at the end (mL)",
    "lesion_ml": "Ablation zone (dead + fibrous) at the end (mL)",
    "normal_lost_ml": "Normal tissue lost (mL)",
    "sessions_used": "Sessions",
    "systemic_dose_mmol": "Systemic dose of agent, all sessions (mmol)",
    "local_progression_day": "Day of local progression",
    "stop_reason": "Why the course stopped",
    "min_treatability": "Lowest treatability (tumour killed vs untreated tissue)",
    "min_zone_ratio": "Lowest treatability (zone reached vs untreated tissue)",
    "viable_tumor_ml": "Viable tumour at the end (mL)",
    "visible_tumor_ml": "Tumour visible on imaging at the end (mL)",
}


@dataclass(frozen=True)
class _Strategy:
    """What a strategy's output folder holds (``summary.json`` and ``timeseries.csv``)."""

    name: str
    folder: Path
    summary: dict[str, Any]
    timeseries: pd.DataFrame

    @property
    def outcome(self) -> dict[str, Any]:
        return self.summary.get("outcome") or {}


def _load(folder: Path, names: Sequence[str]) -> list[_Strategy]:
    """The outputs of the strategies ``names`` under ``folder``.

    Raises
    ------
    FileNotFoundError
        If a strategy's ``summary.json`` or ``timeseries.csv`` is missing.
    """
    out = []
    for name in names:
        path = Path(folder) / name
        for file in ("summary.json", "timeseries.csv"):
            if not (path / file).is_file():
                raise FileNotFoundError(f"strategy {name!r}: no {file} in {path}")
        summary = json.loads((path / "summary.json").read_text(encoding="utf-8"))
        out.append(_Strategy(name, path, summary, pd.read_csv(path / "timeseries.csv")))
    return out


def _number(value: Any) -> float:
    """``value`` as a float; NaN for a missing value (None, absent, not a number)."""
    try:
        return float("nan") if value is None else float(value)
    except (TypeError, ValueError):
        return float("nan")


def _at_day(ts: pd.DataFrame, column: str, day: float) -> float:
    """``column`` in the last row of ``ts`` with ``day`` ≤ ``day``; NaN when the time series
    ends before ``day`` or lacks the column."""
    if column not in ts or "day" not in ts or ts.empty:
        return float("nan")
    days = ts["day"].to_numpy(dtype=float)
    finite = days[np.isfinite(days)]
    if finite.size == 0 or finite.max() < day:
        return float("nan")
    rows = np.flatnonzero(days <= day)
    return _number(ts[column].iloc[rows[-1]]) if rows.size else float("nan")


def _min_treatability(outcome: Mapping[str, Any], key: str = "min_kill_ratio") -> float:
    treatability = outcome.get("treatability")
    if not isinstance(treatability, Mapping):
        return float("nan")
    return _number(treatability.get(key))


def _row(s: _Strategy) -> dict[str, Any]:
    o, ts = s.outcome, s.timeseries
    row: dict[str, Any] = {
        "strategy": s.name,
        "days_to_no_visible_tumor": _number(o.get("days_to_no_visible_tumor")),
    }
    for day in TABLE_DAYS:
        for kind in ("viable", "visible"):
            row[f"{kind}_tumor_ml_{day}d"] = _at_day(ts, f"{kind}_tumor_ml", float(day))
    last = ts.iloc[-1] if not ts.empty else pd.Series(dtype=float)
    sessions = o.get("sessions_used", len(s.summary.get("sessions") or []))
    row |= {
        "scar_ml": _number(o.get("scar_ml")),
        "lesion_ml": _number(last.get("lesion_ml")),
        "normal_lost_ml": _number(o.get("normal_lost_ml")),
        "sessions_used": int(sessions) if not _is_missing(sessions) else pd.NA,
        "systemic_dose_mmol": _number(o.get("systemic_dose_mmol")),
        "local_progression_day": _number(o.get("local_progression_day")),
        "stop_reason": o.get("stop_reason"),
        "min_treatability": _min_treatability(o),
        "min_zone_ratio": _min_treatability(o, "min_zone_ratio"),
        "viable_tumor_ml": _number(o.get("viable_tumor_ml")),
        "visible_tumor_ml": _number(o.get("visible_tumor_ml")),
    }
    return row


def _table(strategies: Sequence[_Strategy]) -> pd.DataFrame:
    frame = pd.DataFrame([_row(s) for s in strategies], columns=list(COLUMNS))
    return frame.astype({"sessions_used": "Int64"})


def comparison_table(folder: Path, names: list[str]) -> pd.DataFrame:
    """One row per strategy of the comparison written to ``folder``.

    Columns (volumes in mL, times in days, amounts in mmol): ``strategy``;
    ``days_to_no_visible_tumor``; ``viable_tumor_ml_Nd`` and ``visible_tumor_ml_Nd`` for N in
    :data:`TABLE_DAYS`, read from ``timeseries.csv`` at the last row on or before day N (NaN when
    the course is shorter); ``scar_ml``; ``lesion_ml`` (the last row of the time series);
    ``normal_lost_ml``, ``sessions_used``, ``systemic_dose_mmol``, ``local_progression_day`` and
    ``stop_reason`` from the outcome; ``min_treatability`` and ``min_zone_ratio``
    (``outcome.treatability.min_kill_ratio`` and ``.min_zone_ratio``: the smallest ratio of what
    a session achieved in the course's tissue to what it achieves in untreated tissue, over the
    repeat sessions and the first session given again at the end; NaN when not measured);
    ``viable_tumor_ml`` and
    ``visible_tumor_ml`` at the end. Missing values are NaN.

    Raises
    ------
    FileNotFoundError
        If a strategy's ``summary.json`` or ``timeseries.csv`` is missing.
    """
    return _table(_load(folder, names))


# ------------------------------------------------------------------------------------------------
# the report
# ------------------------------------------------------------------------------------------------


def _figure_uri(draw: Callable[[], Any]) -> str:
    return _data_uri(_png_bytes(draw()))


def _open_fields(path: Path) -> xr.Dataset | None:
    """The field store of a strategy, lazily (only the planes drawn are read); None without one."""
    if not (path / ".zmetadata").is_file() and not (path / "zarr.json").is_file():
        return None
    return xr.open_dataset(
        path,
        engine="zarr",
        consolidated=True,
        chunks=None,
        decode_times=False,
        decode_timedelta=False,
    )


def _slices(strategies: Sequence[_Strategy]) -> dict[str, Any]:
    """The figure of the tissue at shared days, or why there is none."""
    opened = [(s.name, _open_fields(s.folder / "fields.zarr")) for s in strategies]
    try:
        usable = [
            (name, ds)
            for name, ds in opened
            if ds is not None and "tumor" in ds and "snapshot_day" in ds
        ]
        if not usable:
            return {"src": None, "why": "No strategy stored field snapshots (fields.zarr)."}
        names = [name for name, _ in usable]
        fields = [ds for _, ds in usable]
        snaps = shared_snapshots(
            [np.asarray(ds["snapshot_day"].values, dtype=float) for ds in fields],
            [
                [str(v) for v in ds.get("snapshot_label", ds["snapshot_day"]).values]
                for ds in fields
            ],
        )
        if not snaps:
            return {"src": None, "why": "The strategies share no snapshot day (within 1 day)."}
        left_out = [name for name, ds in opened if ds is None or name not in names]
        return {
            "src": _figure_uri(lambda: strategy_slices(names, fields, snaps)),
            "days": ", ".join(f"{s.day:g}" for s in snaps),
            "left_out": ", ".join(left_out),
        }
    finally:
        for _, ds in opened:
            if ds is not None:
                ds.close()


def _systemic_mmol(session: Mapping[str, Any]) -> Any:
    dose = session.get("systemic_dose")
    return dose.get("amount_mmol") if isinstance(dose, Mapping) else dose


def _session_rows(s: _Strategy) -> list[dict[str, str]]:
    rows = []
    for i, session in enumerate(s.summary.get("sessions") or [], start=1):
        agent = session.get("agent") or {}
        modality = _fmt(session.get("modality"))
        if agent.get("name"):
            modality += f" ({agent['name']}{', UNVALIDATED' if _unvalidated(agent) else ''})"
        rows.append(
            {
                "n": str(session.get("index", i)),
                "day": _fmt(session.get("day")),
                "modality": modality,
                "zone": _fmt((session.get("ablation_zone") or {}).get("volume_ml")),
                "kill": _fmt(session.get("tumor_kill_fraction")),
                "dose": _fmt(_systemic_mmol(session)),
                "rule": "yes" if session.get("planned_by_policy") else "no",
                "unvalidated": _unvalidated(agent),
            }
        )
    return rows


def _outcome_claims(hypotheses: Any) -> list[tuple[str, str, str]]:
    """``(key, claim, reading)`` of each claim the course's outcome was read against
    (``summary["hypotheses"]`` entries of kind ``"outcome"``)."""
    if not isinstance(hypotheses, Mapping):
        return []
    return [
        (str(key), str(h.get("claim") or ""), str(h.get("reading") or "—"))
        for key, h in hypotheses.items()
        if isinstance(h, Mapping) and h.get("kind") == "outcome"
    ]


def _assumptions(s: _Strategy) -> dict[str, Any]:
    """The presets and hypotheses of a strategy: agents (unvalidated ones flagged, with the
    claims they encode), the run's notes, the hypotheses active in its sessions, the repair
    model's hypotheses, the claims its outcome was read against and the sessions whose volumes
    a dose rule set."""
    agents: dict[str, dict[str, Any]] = {}
    hypotheses: dict[str, str] = {}
    ruled, planned = [], []
    for i, session in enumerate(s.summary.get("sessions") or [], start=1):
        agent = session.get("agent") or {}
        if agent.get("name") and agent["name"] not in agents:
            claims = agent.get("claims") or {}
            agents[agent["name"]] = {
                "text": _agent_text(agent),
                "note": str(agent.get("status_note") or ""),
                "unvalidated": _unvalidated(agent),
                "claims": [f"{k}: {v}" for k, v in claims.items()]
                if isinstance(claims, Mapping)
                else [],
            }
        for key, h in (session.get("hypotheses") or {}).items():
            if isinstance(h, Mapping) and h.get("active") and key not in hypotheses:
                hypotheses[key] = f"{h.get('claim')} ({h.get('parameter')} {_fmt(h.get('value'))})"
        if session.get("planned_by_policy"):
            which = ruled if session.get("modality") == "injection" else planned
            which.append(f"{i} (day {_fmt(session.get('day'))})")
    repair = s.summary.get("repair") or {}
    repair_h = repair.get("hypotheses") if repair.get("steps") != 0 else None
    notes = [(str(n), "UNVALIDATED" in str(n).upper()) for n in s.summary.get("notes") or []]
    for agent in agents.values():  # said once: a note that quotes an agent's note stands for it
        if agent["note"] and any(agent["note"] in n for n, _ in notes):
            agent["note"] = ""
    return {
        "name": s.name,
        "agents": list(agents.values()),
        "notes": notes,
        "hypotheses": sorted(hypotheses.items()),
        "repair": [
            (f"{k} ({_HYPOTHESIS_NAMES[k]})" if k in _HYPOTHESIS_NAMES else str(k), _fmt(v))
            for k, v in (repair_h.items() if isinstance(repair_h, Mapping) else ())
        ],
        "outcomes": _outcome_claims(s.summary.get("hypotheses")),
        "ruled": ", ".join(ruled),
        "planned": ", ".join(planned),
        "unvalidated": any(a["unvalidated"] for a in agents.values())
        or any(flag for _, flag in notes),
    }


def _table_rows(strategies: Sequence[_Strategy], table: pd.DataFrame) -> list[tuple[str, list]]:
    """The comparison table for the page: a row per quantity, a column per strategy."""
    rows = [("Length of the course (days)", [_fmt(s.outcome.get("days")) for s in strategies])]
    for column, label in COLUMNS.items():
        if column == "strategy":
            continue
        values = [None if pd.isna(v) else v for v in table[column].tolist()]
        rows.append((label, [_fmt(v) for v in values]))
    return rows


def _template() -> jinja2.Template:
    return page_template("comparison.html")


def render_comparison(folder: Path, names: list[str]) -> str:
    """The comparison of the strategies ``names`` written under ``folder`` as one HTML page.

    The page is self-contained (figures as PNG data URIs, inline CSS, no scripts, links only
    within the page). From the top: the research-use statement and what dose-rule volumes are;
    a warning naming the strategies that use an unvalidated preset; the comparison table
    (:func:`comparison_table`, a column per strategy); the time courses overlaid
    (:func:`~tissuefate.report.comparison_figures.strategy_timecourses`); each strategy's
    sessions; viable tumour and collagen at up to four snapshot days the strategies share
    (:func:`~tissuefate.report.comparison_figures.strategy_slices`); and the presets and
    hypotheses each strategy rests on.

    Raises
    ------
    FileNotFoundError
        If a strategy's ``summary.json`` or ``timeseries.csv`` is missing.
    """
    strategies = _load(folder, names)
    return _render(strategies, _table(strategies))


def _render(strategies: Sequence[_Strategy], table: pd.DataFrame) -> str:
    names = [s.name for s in strategies]
    folder = strategies[0].folder.parent if strategies else Path()
    assumptions = [_assumptions(s) for s in strategies]
    scenarios = sorted({str(s.summary.get("scenario") or "") for s in strategies} - {""})
    versions = sorted({str(s.summary.get("version") or "") for s in strategies} - {""})
    timecourses = _figure_uri(
        lambda: strategy_timecourses(names, [s.timeseries for s in strategies])
    )
    return _template().render(
        title=f"tissuefate comparison: {', '.join(scenarios) or Path(folder).name}",
        names=names,
        version=", ".join(versions) or "—",
        notice=RESEARCH_USE,
        dose_note=DOSE_RULE_NOTE,
        table_days=", ".join(str(d) for d in TABLE_DAYS),
        table=_table_rows(strategies, table),
        timecourses=timecourses,
        sessions=[(s.name, _session_rows(s)) for s in strategies],
        slices=_slices(strategies),
        assumptions=assumptions,
        unvalidated=[a["name"] for a in assumptions if a["unvalidated"]],
    )


def _write_atomically(path: Path, write: Callable[[Path], None]) -> None:
    """Write ``path`` through ``write(temporary path)`` in the same folder, then move it into
    place, so a reader sees the old file or the whole new one (never a part)."""
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_comparison(folder: Path, names: list[str]) -> None:
    """Write ``comparison.csv`` (:func:`comparison_table`) and ``report.html``
    (:func:`render_comparison`) into ``folder``, each atomically.

    Raises
    ------
    FileNotFoundError
        If a strategy's ``summary.json`` or ``timeseries.csv`` is missing.
    """
    folder = Path(folder)
    strategies = _load(folder, names)
    table = _table(strategies)
    html = _render(strategies, table)
    _write_atomically(
        folder / "comparison.csv",
        lambda p: table.to_csv(p, index=False, lineterminator="\n"),
    )
    _write_atomically(folder / "report.html", lambda p: p.write_text(html, encoding="utf-8"))
