"""Repair cases: the involution of a thermal ablation zone and fibrosis after chemical ablation.

- ``involution``: ``examples/mwa_followup.yaml`` (one 20 W, 5 min microwave ablation of a 2 cm HCC,
1 mm grid) followed for a year; the volume of the lesion (dead tissue, myofibroblasts and collagen)
relative to its volume right after the session. The volume reduction is compared with the thyroid
RFA surrogate (58 % at 1 month, Jeong et al. 2008; 66–85 % at 6 months and 74–80 % at 12 months,
Jeong 2008, Ahn et al., Ultrasonography 2016, PMC10118859). ``coagulated_clearance_rate`` and
``trapped_necrosis_gain`` of the liver preset are calibrated on it
(``benchmarks/calibrate_repair.py``).
- ``chemical_fibrosis``: one 0.5 mL injection of an agent into perfused liver (1 mm), then 7 days
  of repair; the fibrotic tissue (myofibroblasts and collagen) at day 7 as a share of the tissue
  the session killed. Ethanol, acetic acid (and phenol, hot saline) gave "regenerative fibrosis" by
  day 7 in rat liver (J Korean Radiol Soc 1998).
"""

from __future__ import annotations

from importlib import resources
from typing import Any

import yaml

from ..course.controller import simulate
from ..scenario.io import loads_scenario

__all__ = [
    "FIBROSIS_PRESENT",
    "THYROID_RFA_VOLUME_REDUCTION",
    "chemical_fibrosis",
    "involution",
]

THYROID_RFA_VOLUME_REDUCTION = {30.0: (0.58, 0.58), 180.0: (0.66, 0.85), 365.0: (0.74, 0.80)}
"""Day -> (low, high) volume reduction after thyroid RFA (Jeong 2008; Ahn 2016; PMC10118859)."""
FIBROSIS_PRESENT = 0.05
"""Share of the killed tissue that is fibrotic at day 7 for fibrosis to count as present (an
assumption: histology reports fibrosis qualitatively; a twentieth of the lesion is a visible
fibrous rim)."""


def involution(
    overrides: dict[str, str] | None = None, days: tuple[float, ...] = (30.0, 180.0, 365.0)
) -> dict[str, Any]:
    """Run ``examples/mwa_followup.yaml`` with repair parameter ``overrides``; the lesion volume
    right after the session (``lesion0_ml``) and the volume reduction at each of ``days``."""
    text = (resources.files("tissuefate") / "examples" / "mwa_followup.yaml").read_text()
    raw = yaml.safe_load(text)
    raw["follow_up"] = f"{max(days):g} d"
    raw["outputs"] = {"snapshots": [], "fields": False, "figures": False, "report": False}
    if overrides:
        raw.setdefault("repair", {})["parameters"] = dict(overrides)
    result = simulate(loads_scenario(yaml.safe_dump(raw), "mwa_followup.yaml"))
    ts = result.timeseries
    start = ts[ts["event"] == "session 1 end"].iloc[-1]
    lesion0 = float(start["lesion_ml"])
    out: dict[str, Any] = {"lesion0_ml": lesion0, "volume_reduction": {}, "summary": result.summary}
    for day in days:
        row = ts.iloc[(ts["day"] - day).abs().argmin()]
        out["volume_reduction"][day] = 1.0 - float(row["lesion_ml"]) / lesion0
    return out


def chemical_fibrosis(agent: str, days: float = 7.0) -> dict[str, float]:
    """One 0.5 mL injection of ``agent`` into perfused liver, then ``days`` of repair: the
    killed volume (mL) and the fibrotic share of it at the end."""
    text = f"""
name: chemical-fibrosis
grid: {{size: [40 mm, 40 mm, 40 mm], spacing: 1 mm}}
tissue: liver
strategies:
  s:
    sessions:
      - modality: injection
        agent: {agent}
        sites: [{{tip: [0.3 mm, 0.2 mm, 0.1 mm], direction: [0, 0, -1], volume: 0.5 mL}}]
        observe: 1 h
follow_up: {days:g} d
outputs: {{fields: false, figures: false, report: false}}
"""
    result = simulate(loads_scenario(text, f"chemical fibrosis, {agent}"))
    ts = result.timeseries
    killed = float(result.summary["sessions"][0]["normal_necrosis_ml"])
    end = ts.iloc[-1]
    fibrotic = float(end["collagen_ml"] + end["myofibroblasts_ml"])
    return {
        "killed_ml": killed,
        "fibrotic_ml": fibrotic,
        "fibrotic_share": fibrotic / killed if killed > 0 else 0.0,
        "collagen_ml": float(end["collagen_ml"]),
        "inflammation_peak": float(ts["inflammation_max"].max()),
    }
