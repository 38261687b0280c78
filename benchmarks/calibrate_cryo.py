"""Fit the cryoprobe heat-transfer coefficient to the single-probe phantom of Littrup et al. 2009.

Run: ``python benchmarks/calibrate_cryo.py [coefficients in W/m²/K ...]`` — prints the isotherm
diameters of one 2.4 mm probe after 15 min in agar at 39 °C for each coefficient, on a 1 mm grid
(and 0.5 mm with ``--fine``). The coefficient in ``modalities/cryoprobes.yaml`` is the round value
whose -30 °C diameter is closest to 12 mm.
"""

from __future__ import annotations

import json
import sys
from unittest import mock

from tissuefate.modalities import cryo
from tissuefate.validation.cryo import single_probe


def main(argv: list[str]) -> None:
    fine = "--fine" in argv
    values = [float(a) for a in argv if not a.startswith("--")] or [300.0, 1000.0, 1e5]
    for coefficient in values:
        with mock.patch.object(
            cryo, "probe_heat_transfer", lambda gas="argon", c=coefficient: (c, "calibration")
        ):
            for spacing in (1.0, 0.5) if fine else (1.0,):
                size = (48.0, 48.0, 64.0) if spacing < 1 else (56.0, 56.0, 72.0)
                result = single_probe(spacing, size_mm=size)
                shown = {k: round(v, 2) for k, v in result.items()}
                print(json.dumps({"coefficient": coefficient, "spacing_mm": spacing, **shown}))


if __name__ == "__main__":
    main(sys.argv[1:])
