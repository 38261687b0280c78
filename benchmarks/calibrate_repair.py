"""Calibrate the involution of an ablation zone: clearance, scar and wound contraction.

Run: ``python benchmarks/calibrate_repair.py [clearance|contraction]`` — runs
``examples/mwa_followup.yaml`` (one microwave ablation, a year of repair, 1 mm grid) over a grid of
the liver preset's repair parameters and prints, for each trial, the volume reduction of the lesion
(its dead and fibrous tissue, the ``lesion_ml`` column) at 1, 6 and 12 months against the thyroid
RFA surrogate (58 %, Jeong et al. 2008; 66–85 %; 74–80 %; Jeong 2008, Ahn et al., Ultrasonography
2016, PMC10118859), with the porcine day-21 rows beside them. The score is the squared distance from
58 % and from the middle of the other two ranges; the preset holds the best trial among those that
meet every row as ``tissuefate validate`` judges it (58 % within 10 points, the ranges).

``clearance`` (the fit made before the tissue mechanics): ``coagulated_clearance_rate`` ×
``trapped_necrosis_gain``; the early reduction is set mostly by the clearance rate, the late one by
the collagen left where phagocytes worked on fixed necrosis. ``contraction`` (the default, the fit
made with the mechanics on): ``contraction_rate``, the rate at which myofibroblasts close the room
that clearance leaves; the clearance pair stays at its fitted values. Each run takes one to two
minutes.
"""

from __future__ import annotations

import itertools
import json
import sys

from tissuefate.validation.repair import THYROID_RFA_VOLUME_REDUCTION, involution


def score(reduction: dict[float, float]) -> float:
    """Squared distance of the volume reductions from the targets' middles."""
    return sum(
        (reduction[day] - 0.5 * (lo + hi)) ** 2
        for day, (lo, hi) in THYROID_RFA_VOLUME_REDUCTION.items()
    )


def within(reduction: float, day: float) -> bool:
    """Whether a volume reduction meets the surrogate at ``day`` as validate judges it: the
    range, or 10 points around a single value (the 1-month 58 %)."""
    lo, hi = THYROID_RFA_VOLUME_REDUCTION[day]
    return lo - 0.1 <= reduction <= hi + 0.1 if lo == hi else lo <= reduction <= hi


GRIDS = {
    "clearance": [
        {"coagulated_clearance_rate": f"{rate} 1/d", "trapped_necrosis_gain": f"{gain}"}
        for rate, gain in itertools.product((0.35, 0.5, 0.7), (1.0, 1.5, 2.0))
    ],
    "contraction": [{"contraction_rate": f"{rate} 1/d"} for rate in (0.03, 0.05, 0.07, 0.1)],
}


def main() -> None:
    which = sys.argv[1] if len(sys.argv) > 1 else "contraction"
    trials = []
    for overrides in GRIDS[which]:
        out = involution(overrides)
        red = out["volume_reduction"]
        trial = {
            **overrides,
            "lesion0_ml": round(out["lesion0_ml"], 3),
            **{f"reduction_{int(d)}d": round(v, 3) for d, v in red.items()},
            "scan_at_21d": round(out["rim_day_fraction"], 3),
            "rim_collagen": round(out["rim_collagen"], 3),
            "score": round(score(red), 5),
            **{f"within_{int(d)}d": within(red[d], d) for d in THYROID_RFA_VOLUME_REDUCTION},
        }
        trials.append(trial)
        print(json.dumps(trial), flush=True)
    # the best score among the trials that meet every range (the rows are judged by them)
    ok = [t for t in trials if all(t[f"within_{int(d)}d"] for d in THYROID_RFA_VOLUME_REDUCTION)]
    best = min(ok or trials, key=lambda t: t["score"])
    print("best:", json.dumps(best), "" if ok else "(no trial meets every range)")


if __name__ == "__main__":
    main()
