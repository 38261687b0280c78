"""Fit the generator power of the ex vivo cooled-electrode case to its zone volume (11.08 mL).

Run: ``python benchmarks/calibrate_radiofrequency.py [powers in W ...]`` — prints the zone of a
12 min session with a 2 cm cooled tip in unperfused liver at 20 °C for each power (1 mm grid):
the coagulation zone (the source measured gross pathology; ``volume_ml`` and the axes) and the
ablation zone's volume beside it. The power in ``validation/radiofrequency.py`` is the round value
closest to the volume (2026-12-04: 26 W, from 20 / 24 / 26 / 28 W).
"""

from __future__ import annotations

import json
import sys

from tissuefate.validation.radiofrequency import EX_VIVO_ZONE, cooled_electrode_ex_vivo


def main(argv: list[str]) -> None:
    powers = [float(a) for a in argv] or [20.0, 25.0, 30.0, 40.0]
    print(json.dumps({"target": EX_VIVO_ZONE}))
    for p in powers:
        r = cooled_electrode_ex_vivo(p)
        r.pop("solver")
        print(json.dumps({"power_w": p, **{k: round(v, 2) for k, v in r.items()}}), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
