"""Fit the generator power of two radiofrequency cases to a published zone volume.

- default: the ex vivo cooled-electrode case (CVIR 2009, 11.08 mL): prints the zone of a 12 min
  session with a 2 cm cooled tip in unperfused liver at 20 °C for each power (1 mm grid): the
  coagulation zone (the source measured gross pathology; ``volume_ml`` and the axes) and the
  ablation zone's volume beside it. 2026-12-04: 26 W, from 20 / 24 / 26 / 28 W.
- ``--perfused``: a 3 cm cooled tip for 12 min in blood-perfused bovine liver at the lowest portal
  flow of Huang, Dodd & Lanctot 2012 (10 mL/min per 100 g, 26.0 mL); the other flows are
  predicted (``tissuefate validate --only radiofrequency_perfusion``). 2026-12-04: 30 W, from
  25 / 30 / 35 W.

The power in ``validation/radiofrequency.py`` is the round value closest to the volume.

Run: ``python benchmarks/calibrate_radiofrequency.py [--perfused] [powers in W ...]``
"""

from __future__ import annotations

import json
import sys

from tissuefate.validation.radiofrequency import (
    EX_VIVO_ZONE,
    PERFUSED_FLOWS,
    cooled_electrode_ex_vivo,
    perfused_measured,
    perfused_zone,
)


def main(argv: list[str]) -> None:
    perfused = "--perfused" in argv
    powers = [float(a) for a in argv if a != "--perfused"] or [20.0, 25.0, 30.0, 40.0]
    flow = PERFUSED_FLOWS[0]
    target = perfused_measured(flow) if perfused else EX_VIVO_ZONE
    print(json.dumps({"target": target}))
    for p in powers:
        r = perfused_zone(flow, p) if perfused else cooled_electrode_ex_vivo(p)
        r.pop("solver", None)
        print(json.dumps({"power_w": p, **{k: round(v, 2) for k, v in r.items()}}), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
