"""`Result`: everything a run produces, in memory, before it is written to a folder.

It lives with the writers (``course`` produces a Result; ``io`` and ``report`` write it), so that
nothing below ``course`` imports ``course``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd
import xarray as xr

from .output import write_result

__all__ = ["Result"]


@dataclass
class Result:
    """The outputs of one strategy of one scenario.

    Attributes
    ----------
    summary
        The ``summary.json`` content (keys of the DESIGN.md contract; lengths in mm, volumes in mL,
        times in days unless suffixed).
    timeseries
        One row per repair step and per session end (``day``, ``viable_tumor_ml``,
        ``visible_tumor_ml``, ``necrotic_ml``, ``scar_ml``, ``normal_lost_ml``, ...).
    fields
        Field snapshots with units and the resolved scenario in ``attrs["scenario"]``: dims
        ``(x, y, z)`` in mm, ``snapshot`` (state before/after sessions) and ``session`` (doses).
    session_timeseries
        One row per state update inside each session (``session``, ``time_s``, temperatures,
        delivered energy, ablation-zone volume, ...).
    scenario_yaml
        The resolved scenario (defaults filled in) as YAML.
    """

    summary: dict[str, Any]
    timeseries: pd.DataFrame
    fields: xr.Dataset
    session_timeseries: pd.DataFrame
    scenario_yaml: str
    extras: dict[str, Any] = field(default_factory=dict)

    def save(self, directory: str, *, figures: bool = True, report: bool = True) -> None:
        """Write the outputs to ``directory`` atomically (:func:`tissuefate.io.write_result`)."""
        write_result(self, directory, figures=figures, report=report)
