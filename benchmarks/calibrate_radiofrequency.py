"""Fit the generator power of two radiofrequency cases to a published zone volume.

- default: the ex vivo cooled-electrode case (CVIR 2009, 11.08 mL): prints the zone of a 12 min
  session with a 2 cm cooled tip in unperfused liver at 20 °C for each power (1 mm grid): the
  coagulation zone (the source measured gross pathology; ``volume_ml`` and the axes) and the
  ablation zone's volume beside it. 2026-12-04: 26 W, from 20 / 24 / 26 / 28 W.
- ``--perfused``: a 3 cm cooled tip for 12 min in blood-perfused bovine liver at the lowest portal
  flow of Huang, Dodd & Lanctot 2012 (10 mL/min per 100 g, 26.0 mL); the other flows are
  predicted (``tissuefate validate --only radiofrequency_perfusion``). 2026-12-04: 30 W, from
  25 / 30 / 35 W.

- ``--convergence``: the ex vivo case at the fitted power on four drawings of the 17 G
  electrode (1 and 0.5 mm grids, its axis on voxel corners and on voxel centres), with the
  electrode at its actual radius (the default) and as drawn; against a block 1.5 times larger;
  and the in vivo Song 2015 R5 17 G row (zone per kJ) at 1 mm against 0.5 mm. About 25 min.

- ``--in-vivo-scan``: a diagnostic, nothing fitted: the in vivo Song 2015 R5 17 G row (zone per
  kJ, measured 0.219 mL/kJ) with one perfusion parameter of the liver changed at a time (when
  blood flow stops, and how much there is), to show what would have to be true for the model to
  meet it (docs/validation.md). About 2 min.
- ``--duration-scan``: a diagnostic, nothing fitted: the four Song 2015 rows (whose protocol's
  duration is not given) run for 6, 12, 16 and 20 min, each at the power that would deliver the
  measured energy in that time. About 8 min.

The power in ``validation/radiofrequency.py`` is the round value closest to the volume.

Run: ``python benchmarks/calibrate_radiofrequency.py [--perfused | --convergence |
--in-vivo-scan | --duration-scan] [powers in W]``
"""

from __future__ import annotations

import json
import sys

from tissuefate.validation.radiofrequency import (
    ENERGY_ROWS,
    EX_VIVO_ZONE,
    PERFUSED_FLOWS,
    cooled_electrode_ex_vivo,
    perfused_measured,
    perfused_zone,
    zone_per_energy,
)

KEYS = ("volume_ml", "long_axis_mm", "short_axis_mm", "ablation_volume_ml", "generator_energy_j")


GRIDS = (
    ("1 mm, axis on voxel corners", 1.0, 0.0),
    ("1 mm, axis on voxel centres", 1.0, 0.5),
    ("0.5 mm, axis on voxel corners", 0.5, 0.0),
    ("0.5 mm, axis on voxel centres", 0.5, 0.25),
)


def convergence() -> None:
    """The ex vivo case at the fitted power on four drawings of the 17 G electrode (1 and 0.5 mm
    grids, its axis on voxel corners and on voxel centres), with the electrode at its actual
    radius and as drawn; a block 1.5 times larger; the in vivo Song 2015 R5 17 G row (zone per
    kJ) at 1 mm against 0.5 mm."""
    for model in ("actual", "drawn"):
        reference = None
        for name, spacing, offset in reversed(GRIDS):  # the finest first: the reference
            r = cooled_electrode_ex_vivo(
                spacing_mm=spacing, offset_mm=offset, electrode_radius=model
            )
            reference = reference or r
            print(
                json.dumps(
                    {
                        "case": "CVIR ex vivo",
                        "electrode_radius": model,
                        "grid": name,
                        "electrode_voxels": r["electrode_voxels"],
                        **{k: round(r[k], 3) for k in KEYS},
                        "volume / 0.5 mm centres - 1": round(
                            r["volume_ml"] / reference["volume_ml"] - 1, 4
                        ),
                        "rolloff_events": r["rolloff_events"],
                    }
                ),
                flush=True,
            )
    base = cooled_electrode_ex_vivo()
    big = cooled_electrode_ex_vivo(block_mm=(84.0, 84.0, 108.0))
    print(
        json.dumps(
            {
                "case": "CVIR ex vivo, 1 mm, block 84 x 84 x 108 mm against 56 x 56 x 72 mm",
                **{k: round(big[k], 3) for k in KEYS},
                "volume big / base - 1": round(big["volume_ml"] / base["volume_ml"] - 1, 4),
            }
        ),
        flush=True,
    )
    row = next(r for r in ENERGY_ROWS if r.name == "R5 17 G in vivo")
    coarse, fine = zone_per_energy(row), zone_per_energy(row, spacing_mm=0.5)
    for k in coarse:
        print(
            json.dumps(
                {
                    "case": row.name,
                    "quantity": k,
                    "1 mm": round(coarse[k], 4),
                    "0.5 mm": round(fine[k], 4),
                    "fine / base - 1": round(fine[k] / coarse[k] - 1, 4),
                }
            ),
            flush=True,
        )


IN_VIVO_SCAN = (
    (),
    (("perfusion_stasis_dose", "1"),),
    (("perfusion_stasis_dose", "30"),),
    (("perfusion_stasis_dose", "100"),),
    (("perfusion_stasis_dose", "1e9"),),
    (("perfusion_rate", "0.03 1/s"),),
    (("perfusion_rate", "0.04 1/s"),),
)
"""Liver parameters changed, one at a time, in ``--in-vivo-scan`` (the preset's: 0.022 1/s, flow
stopping at 12.2 times the cells' dose; 1e9: flow never stops)."""


def in_vivo_scan() -> None:
    """The R5 17 G in vivo row with each change of :data:`IN_VIVO_SCAN`."""
    row = next(r for r in ENERGY_ROWS if r.name == "R5 17 G in vivo")
    print(
        json.dumps({"row": row.name, "measured_ml_per_kj": round(row.volume_ml / row.energy_kj, 3)})
    )
    for liver in IN_VIVO_SCAN:
        r = zone_per_energy(row, 1.0, liver)
        print(
            json.dumps({"liver": dict(liver), **{k: round(v, 3) for k, v in r.items()}}), flush=True
        )


DURATIONS_MIN = (6.0, 12.0, 16.0, 20.0)
"""Session lengths (min) of ``--duration-scan``: the Song 2015 protocol's is not given."""


def duration_scan() -> None:
    """Every Song 2015 row at each of :data:`DURATIONS_MIN`, each at the power that would deliver
    its measured energy in that time, with the in vivo / ex vivo ratio of each gauge."""
    for minutes in DURATIONS_MIN:
        per_kj = {}
        for row in ENERGY_ROWS:
            r = zone_per_energy(row, 1.0, (), minutes)
            per_kj[row.name] = r["ml_per_kj"]
            measured = row.volume_ml / row.energy_kj
            print(
                json.dumps(
                    {
                        "minutes": minutes,
                        "row": row.name,
                        **{k: round(v, 3) for k, v in r.items()},
                        "error": round(r["ml_per_kj"] / measured - 1.0, 3),
                    }
                ),
                flush=True,
            )
        for gauge in ("17 G", "15 G"):
            ratio = per_kj[f"R5 {gauge} in vivo"] / per_kj[f"R4 {gauge} ex vivo"]
            print(
                json.dumps(
                    {"minutes": minutes, "gauge": gauge, "in_vivo_over_ex_vivo": round(ratio, 3)}
                )
            )


def main(argv: list[str]) -> None:
    if "--convergence" in argv:
        convergence()
        return
    if "--in-vivo-scan" in argv:
        in_vivo_scan()
        return
    if "--duration-scan" in argv:
        duration_scan()
        return
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
