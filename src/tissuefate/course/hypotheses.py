"""The essay's nine claims (H1–H9) as they stand in one course: the switches in force and what
the course shows.

H3–H8 are switches: the parameters of the agents used (``active`` says whether the preset takes
the essay's side). H1, H2 and H9 are read from the course, never set: H1 from the normal tissue
thermal sessions killed and the scar the course ends with, H2 from the measured treatability,
H9 from the days to no visible tumour after the first injection.
"""

from __future__ import annotations

from typing import Any

__all__ = ["H9_DAYS", "hypothesis_table"]

H9_DAYS = 30.0
"""H9's "within a month", in days after the first injection."""

CLAIMS = {
    "H1": "margin necrosis in normal tissue ends in scar",
    "H2": "scar blocks repeat treatment",
    "H3": "the oxidant stops bleeding without sealing vessels",
    "H4": "it debrides: dead tissue is cleared rather than filled in",
    "H5": "little inflammation, so little fibrosis",
    "H6": "two ways of killing: contact and tumour-vessel disruption",
    "H7": "tumour is more vulnerable to oxidative stress than normal tissue",
    "H8": "the tumour shrinks within an hour by dehydration",
    "H9": "repeated injections clear all visible tumour within a month",
}
THERMAL = ("microwave", "radiofrequency", "cryo", "heat_source", "ire")
"""Ablative modalities: their necrosis of normal tissue is H1's margin necrosis."""


def _switches(sessions: list[dict[str, Any]], key: str) -> dict[str, Any]:
    """H3–H8: the agents' settings (one entry per agent used)."""
    agents = {}
    for s in sessions:
        hyp = s.get("hypotheses", {}).get(key)
        if hyp is not None:
            agents[s["agent"]["name"]] = {
                "active": hyp["active"],
                "parameter": hyp["parameter"],
                "value": hyp["value"],
            }
    if not agents:
        return {"kind": "switch", "applies": False, "reading": "no injection in this course"}
    return {
        "kind": "switch",
        "applies": True,
        "agents": agents,
        "active": any(a["active"] for a in agents.values()),
    }


def hypothesis_table(
    sessions: list[dict[str, Any]],
    outcome: dict[str, Any],
    collagen_ml: float,
    repair: dict[str, Any] | None,
) -> dict[str, dict[str, Any]]:
    """The table of H1–H9 for one course (``summary["hypotheses"]``)."""
    table: dict[str, dict[str, Any]] = {}
    thermal = [s for s in sessions if s["modality"] in THERMAL]
    necrosis = sum(s["normal_necrosis_ml"] for s in thermal)
    params = (repair or {}).get("parameters", {})
    table["H1"] = {
        "kind": "outcome",
        "applies": bool(thermal),
        "normal_necrosis_thermal_ml": necrosis,
        "scar_ml": outcome["scar_ml"],
        "collagen_ml": collagen_ml,
        "repair_model": repair is not None,
        "settings": {
            k: params[k] for k in ("heat_immunogenicity", "trapped_necrosis_gain") if k in params
        },
        "reading": (
            "no thermal session"
            if not thermal
            else "repair is off: the course cannot tell"
            if repair is None
            else f"{necrosis:.2f} mL of normal tissue killed by heat or cold; "
            f"{outcome['scar_ml']:.2f} mL of scar (collagen >= 0.5) and {collagen_ml:.2f} mL of "
            f"collagen at day {outcome['days']:g}"
        ),
    }
    treat = outcome.get("treatability")
    ratio = None if treat is None else treat.get("min_kill_ratio")
    zone = None if treat is None else treat.get("min_zone_ratio")
    readings = []
    if ratio is not None:
        readings.append(
            f"a later session killed {ratio:.2f} x the tumour it would in untreated tissue"
        )
    if zone is not None:
        readings.append(f"its zone reached {zone:.2f} x the volume it would in untreated tissue")
    table["H2"] = {
        "kind": "outcome",
        "applies": treat is not None,
        "min_kill_ratio": ratio,
        "min_zone_ratio": zone,
        "reading": "no session: nothing to re-treat"
        if treat is None
        else "; ".join(readings) or "no ratio could be measured",
    }
    for key in ("H3", "H4", "H5", "H6", "H7", "H8"):
        table[key] = _switches(sessions, key)
    injections = [s for s in sessions if s["modality"] == "injection"]
    clear = outcome.get("days_to_no_visible_tumor")
    if len(injections) < 2:
        table["H9"] = {
            "kind": "outcome",
            "applies": False,
            "reading": "fewer than two injections: H9 is about repeated injections",
        }
    else:
        first = injections[0]["day"]
        held = clear is not None and clear - first <= H9_DAYS
        table["H9"] = {
            "kind": "outcome",
            "applies": True,
            "held": held,
            "injections": len(injections),
            "days_after_first_injection": None if clear is None else clear - first,
            "reading": (
                f"no visible tumour {clear - first:g} d after the first of "
                f"{len(injections)} injections"
                if clear is not None
                else f"visible tumour remained after {len(injections)} injections"
            ),
        }
    for key, entry in table.items():
        table[key] = {"claim": CLAIMS[key], **entry}
    return table
