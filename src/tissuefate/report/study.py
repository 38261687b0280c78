"""The report of a parameter study: one self-contained HTML page (``report.html``) with the
parameters, each output's spread and event probabilities, the sensitivity indices, and each
output against each parameter.

It takes plain data (the study as written in ``study.yaml``, the analysis, the store as a
DataFrame), so it can be redrawn from any finished or partial sweep folder.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from .._notice import RESEARCH_USE
from .._version import __version__
from ._templates import page_template
from .comparison import _write_atomically
from .figures import _png_bytes
from .html import _data_uri, _fmt
from .study_figures import output_distributions, scatter, sensitivity

__all__ = ["render_study", "write_study_report"]

_DESIGNS = {
    "latin_hypercube": "Latin hypercube design",
    "sobol": "Sobol'/Saltelli design",
    "morris": "Morris design",
}
_CAPTIONS = {
    "sobol": "Sobol' first-order (S1, blue: the share of the output's variance due to the "
    "parameter alone) and total (ST, red: including its interactions) indices, with their 95 % "
    "bootstrap intervals.",
    "morris": "Morris μ* (mean absolute elementary effect, in the output's units per fraction of "
    "the parameter's range) with its 95 % interval, and σ (grey: spread of the effects, from "
    "interactions or non-linearity).",
}


def _uri(fig: Any) -> str | None:
    return None if fig is None else _data_uri(_png_bytes(fig))


def _values(dist: Mapping[str, Any]) -> str:
    keys = ("low", "mode", "high", "mean", "sd")
    return ", ".join(f"{k} {dist[k]}" for k in keys if dist.get(k) is not None)


def _output_rows(outputs: Mapping[str, Mapping[str, Any]]) -> list[dict[str, Any]]:
    rows = []
    for name, entry in outputs.items():
        event = entry.get("event")
        prob = (
            f"{event['probability']:.2f} ({event['low']:.2f}–{event['high']:.2f})" if event else ""
        )
        cells = [str(entry.get("n", 0))]
        cells += [_fmt(entry.get(k)) for k in ("mean", "p05", "p50", "p95")]
        rows.append({"name": name, "cells": [*cells, prob]})
    return rows


def render_study(
    study: Mapping[str, Any], analysis: Mapping[str, Any], samples: pd.DataFrame
) -> str:
    """The study report as one HTML page (figures as PNG data URIs, inline CSS, no scripts).

    ``study`` is the study as ``study.yaml`` holds it, ``analysis`` as ``analysis.json``,
    ``samples`` the store (any order; may be partial)."""
    outputs = analysis.get("outputs", {})
    method = analysis.get("method", "")
    params = list(analysis.get("parameters", []))
    failed = samples[samples["status"] == "failed"] if "status" in samples else samples.iloc[:0]
    notes = [
        f"{name}: no indices ({entry['reason']})."
        for name, entry in outputs.items()
        if method in _CAPTIONS and entry.get("indices") is None and entry.get("reason")
    ]
    return page_template("study.html").render(
        title=f"tissuefate study: {analysis.get('study') or study.get('name', '')}",
        design=_DESIGNS.get(method, method),
        samples=analysis.get("samples", 0),
        finished=analysis.get("finished", 0),
        failed=analysis.get("failed", 0),
        missing=analysis.get("samples", 0) - analysis.get("finished", 0),
        seed=study.get("seed", 0),
        version=__version__,
        notice=RESEARCH_USE,
        parameters=[
            {"name": k, "distribution": v["distribution"], "range": _values(v)}
            for k, v in (study.get("parameters") or {}).items()
        ],
        outputs=_output_rows(outputs),
        distributions=_uri(output_distributions(samples, outputs)),
        sensitivity=_uri(sensitivity(outputs, method)),
        sensitivity_caption=_CAPTIONS.get(method, ""),
        index_notes=notes,
        scatter=_uri(scatter(samples, params, list(outputs))),
        failures=[(int(r.sample_id), r.error) for r in failed.itertuples()],
        fit=_fit(analysis.get("posterior")),
    )


def _interval(spread: Mapping[str, Any]) -> str:
    return f"{_fmt(spread['p50'])} ({_fmt(spread['p05'])}–{_fmt(spread['p95'])})"


def _fit(post: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """The fit's table, or None without a fit (or when no sample could be compared)."""
    if not post or not post.get("accepted") or "parameters" not in post:
        return None
    observed = "; ".join(
        f"{o['output']} = {_fmt(o['value'])} ± {_fmt(o['sd'])}" for o in post["observations"]
    )
    return {
        "accepted": post["accepted"],
        "of": post["of"],
        "epsilon": _fmt(post["epsilon"]),
        "observed": observed,
        "rows": [
            (name, _interval(v["prior"]), _interval(v["posterior"]))
            for name, v in post["parameters"].items()
        ],
    }


def write_study_report(
    folder: str | Path,
    study: Mapping[str, Any],
    analysis: Mapping[str, Any],
    samples: pd.DataFrame,
) -> Path:
    """Write ``report.html`` of the study into ``folder`` atomically; returns its path."""
    html = render_study(study, analysis, samples)
    path = Path(folder) / "report.html"
    _write_atomically(path, lambda p: p.write_text(html, encoding="utf-8"))
    return path
