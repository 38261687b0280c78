"""Figures of a parameter study: sensitivity indices with their intervals, the distribution of
each output, and each output against each parameter.

They take plain data (the analysis dictionary and the store as a DataFrame), so the report does
not depend on how the study ran; drawn on an Agg canvas inside the shared style (:mod:`._layout`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib as mpl
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from ._layout import _figure, _style

_PLAIN = {"axes.formatter.useoffset": False}
"""Tick labels as the values themselves (a kill fraction of 0.9999997 is not '1e-7 + 1')."""

__all__ = ["MOST_OUTPUTS", "MOST_PARAMETERS", "output_distributions", "scatter", "sensitivity"]

MOST_OUTPUTS = 8
"""Outputs drawn at most per figure (the first ones of the study)."""
MOST_PARAMETERS = 8
"""Parameters drawn at most as columns of the scatter grid."""
_OK = "#1f77b4"
_TOTAL = "#d62728"


def _short(name: str, width: int = 34) -> str:
    return name if len(name) <= width else "…" + name[-(width - 1) :]


def _grid(n: int, cols: int) -> tuple[int, int]:
    cols = max(1, min(cols, n))
    return math.ceil(n / cols), cols


def _all_zero(indices: Mapping[str, Mapping[str, float]]) -> bool:
    return all(v == 0.0 for entry in indices.values() for v in entry.values())


def sensitivity(outputs: Mapping[str, Mapping[str, Any]], method: str) -> Figure | None:
    """One panel per output with indices: Sobol' first-order (blue) and total (red) indices with
    their 95 % intervals, or Morris μ* with its interval and σ (grey); None when no output has
    indices."""
    named = [(k, v["indices"]) for k, v in outputs.items() if v.get("indices")][:MOST_OUTPUTS]
    if not named:
        return None
    rows, cols = _grid(len(named), 2)
    params = list(named[0][1])
    height = 0.35 * len(params) + 1.0
    total = rows * height + 0.5
    with _style(), mpl.rc_context(_PLAIN):
        fig = _figure(11.0, total)
        for n, (name, indices) in enumerate(named):
            ax = fig.add_subplot(rows, cols, n + 1)
            y = np.arange(len(params))
            if method == "sobol":
                s1 = [indices[p]["S1"] for p in params]
                st = [indices[p]["ST"] for p in params]
                e1 = [indices[p]["S1_conf"] for p in params]
                et = [indices[p]["ST_conf"] for p in params]
                ax.barh(y - 0.2, s1, 0.38, xerr=e1, color=_OK, label="first order S1")
                ax.barh(y + 0.2, st, 0.38, xerr=et, color=_TOTAL, label="total ST")
                ax.set_xlim(min(0.0, *(a - b for a, b in zip(s1, e1, strict=True))) - 0.02, 1.05)
                ax.axvline(0.0, color="black", lw=0.6)
                ax.set_xlabel("Sobol' index (95 % interval)")
            else:
                mu = [indices[p]["mu_star"] for p in params]
                err = [indices[p]["mu_star_conf"] for p in params]
                sigma = [indices[p]["sigma"] for p in params]
                ax.barh(y, mu, 0.6, xerr=err, color=_OK, label="μ* (95 % interval)")
                ax.plot(sigma, y, "o", color="0.4", label="σ")
                ax.set_xlabel("elementary effect (output units per fraction of range)")
            ax.set_yticks(y, [_short(p, 30) for p in params])
            ax.invert_yaxis()
            ax.set_title(_short(name, 50), fontsize=9)
            if _all_zero(indices):  # the analysis gives 0 where the output never varied
                ax.text(
                    0.5, 0.5, "the same in every sample:\nno variance to attribute",
                    transform=ax.transAxes, ha="center", va="center", fontsize=9, color="0.3",
                )  # fmt: skip
            if n == 0:
                ax.legend(fontsize=7, loc="lower right")
        fig.subplots_adjust(
            left=0.2, right=0.98, top=1 - 0.3 / total, bottom=0.55 / total, wspace=0.9, hspace=0.7
        )
    return fig


def output_distributions(
    samples: pd.DataFrame, outputs: Mapping[str, Mapping[str, Any]]
) -> Figure | None:
    """A histogram of each output over the samples that gave a value (the 5th, 50th and 95th
    percentiles marked); an event as its probability with the 95 % Wilson interval."""
    names = [k for k in outputs if k in samples.columns][:MOST_OUTPUTS]
    if not names:
        return None
    rows, cols = _grid(len(names), 3)
    ok = samples["status"] == "ok"
    total = 2.4 * rows + 0.3
    with _style(), mpl.rc_context(_PLAIN):
        fig = _figure(11.0, total)
        for n, name in enumerate(names):
            ax = fig.add_subplot(rows, cols, n + 1)
            entry = outputs[name]
            event = entry.get("event")
            if event is not None:
                p, lo, hi = event["probability"], event["low"], event["high"]
                below, above = max(p - lo, 0.0), max(hi - p, 0.0)  # an older store's round-off
                ax.bar([0], [p], 0.5, yerr=[[below], [above]], color=_OK, capsize=6)
                ax.set_xlim(-1, 1)
                ax.set_ylim(0, 1.05)
                ax.set_xticks([0], [f"P = {p:.2f} ({lo:.2f}–{hi:.2f}), n = {event['n']}"])
                ax.set_ylabel("probability")
            else:
                y = pd.to_numeric(samples.loc[ok, name], errors="coerce").to_numpy(np.float64)
                y = y[np.isfinite(y)]
                if y.size:
                    ax.hist(y, bins=min(30, max(5, y.size // 4)), color=_OK, alpha=0.85)
                    for q in ("p05", "p50", "p95"):
                        if q in entry:
                            ax.axvline(
                                entry[q], color="black", lw=0.8, ls=":" if q != "p50" else "-"
                            )
                ax.set_ylabel("samples")
            ax.set_title(_short(name, 50), fontsize=9)
        fig.subplots_adjust(
            left=0.07,
            right=0.98,
            top=1 - 0.3 / total,
            bottom=0.45 / total,
            wspace=0.35,
            hspace=0.75,
        )
    return fig


def scatter(
    samples: pd.DataFrame, parameters: Sequence[str], outputs: Sequence[str]
) -> Figure | None:
    """Each output (rows) against each parameter (columns) over the successful samples; failed
    samples are marked on the parameter axis (red ticks)."""
    names = [o for o in outputs if o in samples.columns][:MOST_OUTPUTS]
    params = [p for p in parameters if p in samples.columns][:MOST_PARAMETERS]
    if not names or not params:
        return None
    ok = (samples["status"] == "ok").to_numpy()
    with _style(), mpl.rc_context(_PLAIN):
        fig = _figure(2.2 * len(params) + 1.2, 1.9 * len(names) + 0.6)
        for r, name in enumerate(names):
            y = pd.to_numeric(samples[name], errors="coerce").to_numpy(np.float64)
            for c, param in enumerate(params):
                ax = fig.add_subplot(len(names), len(params), r * len(params) + c + 1)
                x = samples[param].to_numpy(np.float64)
                ax.plot(x[ok], y[ok], ".", ms=3, color=_OK)
                if (~ok).any():
                    ax.plot(x[~ok], np.full((~ok).sum(), np.nanmin(y[ok]) if ok.any() else 0), "|",
                            color=_TOTAL, ms=8)  # fmt: skip
                if r == len(names) - 1:
                    ax.set_xlabel(_short(param, 28), fontsize=7)
                if c == 0:
                    ax.set_ylabel(_short(name, 24), fontsize=7)
                ax.tick_params(labelsize=6)
        fig.subplots_adjust(left=0.12, right=0.98, top=0.97, bottom=0.12, wspace=0.4, hspace=0.4)
    return fig
