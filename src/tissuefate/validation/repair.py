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

import numpy as np
import yaml
from scipy import ndimage

from ..course.controller import simulate
from ..scenario.io import loads_scenario

__all__ = [
    "FIBROSIS_PRESENT",
    "PERSISTS",
    "PORCINE_RIM_DAY",
    "RIM_MM",
    "RIM_RICH",
    "THYROID_RFA_VOLUME_REDUCTION",
    "chemical_fibrosis",
    "involution",
]

THYROID_RFA_VOLUME_REDUCTION = {30.0: (0.58, 0.58), 180.0: (0.66, 0.85), 365.0: (0.74, 0.80)}
"""Day -> (low, high) volume reduction after thyroid RFA (Jeong 2008; Ahn 2016; PMC10118859)."""
PORCINE_RIM_DAY = 21.0
"""Day of the porcine liver finding: RF zones persist at 3 weeks with a fibrous capsule and no
significant volume reduction ("Liver regeneration after radiofrequency ablation versus
irreversible electroporation", 10 pigs; journal and year not confirmed)."""
RIM_MM = 2.0
"""Depth of the zone's rim in which the capsule is looked for (an assumption: a capsule is a
rim of a millimetre or two)."""
PERSISTS = 0.5
"""Share of the zone still outlined at day 21 for it to count as persisting (judged: "no
significant volume reduction" read generously)."""
RIM_RICH = 0.2
"""Mean collagen fraction of the rim for it to count as collagen-rich (judged; scar is 0.5)."""
FIBROSIS_PRESENT = 0.05
"""Share of the killed tissue that is fibrotic at day 7 for fibrosis to count as present (an
assumption: histology reports fibrosis qualitatively; a twentieth of the lesion is a visible
fibrous rim)."""


def involution(
    overrides: dict[str, str] | None = None,
    days: tuple[float, ...] = (30.0, 180.0, 365.0),
    rim_day: float = PORCINE_RIM_DAY,
) -> dict[str, Any]:
    """Run ``examples/mwa_followup.yaml`` with repair parameter ``overrides``.

    Returns the lesion right after the session (``lesion0_ml``: its dead tissue, myofibroblasts
    and collagen, the ``lesion_ml`` column) and its volume reduction at each of ``days``; the
    same for the zone a scan outlines (``scan0_ml``, ``scan_volume_reduction``: voxels less than
    half viable cells, the ``lesion_scan_ml`` column, which counts open room too); and at
    ``rim_day`` the scan zone's volume relative to ``scan0_ml`` and the mean collagen fraction of
    its outer :data:`RIM_MM` (``rim_collagen``) and of the rest of it (``core_collagen``)."""
    text = (resources.files("tissuefate") / "examples" / "mwa_followup.yaml").read_text()
    raw = yaml.safe_load(text)
    raw["follow_up"] = f"{max(days):g} d"
    raw["outputs"] = {
        "snapshots": [f"{rim_day:g} d"],
        "figures": False,
        "report": False,
        "treatability": False,
    }
    if overrides:
        raw.setdefault("repair", {})["parameters"] = dict(overrides)
    result = simulate(loads_scenario(yaml.safe_dump(raw), "mwa_followup.yaml"))
    ts = result.timeseries
    start = ts[ts["event"] == "session 1 end"].iloc[-1]
    lesion0 = float(start["lesion_ml"])
    scan0 = float(start["lesion_scan_ml"])
    out: dict[str, Any] = {
        "lesion0_ml": lesion0,
        "scan0_ml": scan0,
        "volume_reduction": {},
        "scan_volume_reduction": {},
        "summary": result.summary,
    }
    for day in days:
        row = ts.iloc[(ts["day"] - day).abs().argmin()]
        out["volume_reduction"][day] = 1.0 - float(row["lesion_ml"]) / lesion0
        out["scan_volume_reduction"][day] = 1.0 - float(row["lesion_scan_ml"]) / scan0
    rim_row = ts.iloc[(ts["day"] - rim_day).abs().argmin()]
    out["rim_day_fraction"] = float(rim_row["lesion_scan_ml"]) / scan0
    ds = result.fields
    snap = int(np.abs(ds["snapshot_day"].values - rim_day).argmin())
    state = ds.isel(snapshot=snap)
    viable = np.asarray(state["tumor"].values) + np.asarray(state["normal"].values)
    zone = (viable < 0.5) & (np.asarray(ds["vessel"].values) == 0)
    spacing_mm = float(ds["x"].values[1] - ds["x"].values[0])
    depth = ndimage.distance_transform_edt(zone) * spacing_mm
    collagen = np.asarray(state["collagen"].values)
    rim = zone & (depth <= RIM_MM)
    core = zone & (depth > RIM_MM)
    out["rim_collagen"] = float(collagen[rim].mean()) if rim.any() else 0.0
    out["core_collagen"] = float(collagen[core].mean()) if core.any() else 0.0
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
outputs: {{fields: false, figures: false, report: false, treatability: false}}
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
