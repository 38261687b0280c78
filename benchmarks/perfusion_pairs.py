"""The in vivo / ex vivo ratio of a microwave zone under four perfusion models (issue 13).

Run: ``python benchmarks/perfusion_pairs.py [spacing_mm]`` (default 1.5). The published pair is
a cooled-tip antenna at 70 W for 5 min in porcine liver, 10.0 mL ex vivo and 6.8 mL in vivo, a
ratio of 0.68 (Anticancer Res 2016;36:1221-6, PMID 26977018; rows M10 and M11 of
``validation/data/microwave.csv``, run as ``tissuefate validate --only calibration`` runs them).
The ex vivo zone is run once (20 °C, no perfusion); the in vivo one (body temperature) with:

- the former preset: 6.4e-3 1/s, the value most hepatic models use, flow stopping with the cells;
- the measured human perfusion, 0.022 1/s (dynamic CT, PMID 10981998), flow stopping with the cells
  (``perfusion_stasis_dose`` 1, the first-order model);
- the same perfusion with flow that never stops (stasis dose 1e9);
- the preset: 0.022 1/s with flow stopping at 12.2 times the cells' dose (fitted to the in vivo
  canine series of He et al. 2010 by ``calibrate_microwave.py --perfusion``).

Prints each zone (volume, long and short axis) and the ratio of volumes.
"""

from __future__ import annotations

import sys

from tissuefate.validation.calibration import load_experiments, simulate_experiment

CONDITIONS = (
    ("former preset 6.4e-3 1/s, stasis with the cells", "6.4e-3 1/s", "1"),
    ("human CT 0.022 1/s, stasis with the cells", "0.022 1/s", "1"),
    ("human CT 0.022 1/s, flow never stops", "0.022 1/s", "1e9"),
    ("preset 0.022 1/s, stasis at 12.2 x the cells' dose", None, None),
)


def _line(label: str, z: dict) -> str:
    return (
        f"{label:52s} {z['volume_ml']:6.1f} mL  long {z['long_axis_mm']:5.1f} mm  "
        f"short {z['short_axis_mm']:5.1f} mm"
    )


def main() -> None:
    spacing = float(sys.argv[1]) if len(sys.argv) > 1 else 1.5
    rows = {e.row: e for e in load_experiments("microwave")}
    ex_vivo, in_vivo = rows["M10"], rows["M11"]
    ex = simulate_experiment(ex_vivo, spacing)
    print(_line("ex vivo, 20 degC, no perfusion", ex), flush=True)
    for label, rate, stasis in CONDITIONS:
        params = None if rate is None else {"perfusion_rate": rate, "perfusion_stasis_dose": stasis}
        z = simulate_experiment(in_vivo, spacing, tissue_parameters=params)
        ratio = z["volume_ml"] / ex["volume_ml"]
        print(f"{_line(label, z)}  in/ex vivo {ratio:.2f} (measured 0.68)", flush=True)


if __name__ == "__main__":
    main()
