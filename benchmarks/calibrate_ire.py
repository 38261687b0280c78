"""Fit the liver's lethal field (Peleg–Fermi E_c0) to the fit rows of ``validation/data/ire.csv``.

Run: ``python benchmarks/calibrate_ire.py`` — runs each distinct experiment of the ``role: fit``
rows once with the liver preset as it is, keeps its largest field and the heat's damage (the
field is solved before any cell dies, so neither depends on the survival parameters), and scans
the lethal field E_c0 from 200 to 1000 V/cm in 1 V/cm steps with the other three parameters
(A0, k1, k2) as the preset has them. At each value the zone is measured as the validation
measures it (``validation.ire.zone_measures``), and the objective is the sum over the fit rows of
((model − measured) / SD)², SD being half the row's tolerance (the tolerance is twice the
reported SD). The zone moves by whole voxels, so the objective is flat over intervals: the fitted
value is the middle of the best interval, and each row fitted alone gives the interval of
E_c0 that meets it best, whose spread is the parameter's range for studies. ``--json`` prints
the result as JSON. The fitted value goes into ``tissue/presets/liver.yaml`` by hand, with the
rows it was fitted to; every other row of the file is a prediction.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

from tissuefate.validation.ire import (
    lethal_field,
    lethal_parameters,
    load_ire_experiments,
    run_experiment,
    zone_measures,
)

SCAN_V_CM = np.arange(200.0, 1000.0 + 0.5, 1.0)


def _best_interval(values: np.ndarray, objective: np.ndarray) -> tuple[float, float, float]:
    """The middle and ends of the first run of ``values`` where ``objective`` is least."""
    best = objective.min()
    i = int(np.argmax(objective <= best))
    j = i
    while j + 1 < objective.size and objective[j + 1] <= best:
        j += 1
    return 0.5 * (values[i] + values[j]), float(values[i]), float(values[j])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    args = parser.parse_args()

    experiments = load_ire_experiments()
    fit_rows = [e for e in experiments if e.role == "fit"]
    if not fit_rows:
        raise SystemExit("no role: fit row in validation/data/ire.csv")
    _, a0, k1, k2 = lethal_parameters()
    tick = time.perf_counter()
    runs = {}
    for exp in fit_rows:
        if exp.setup not in runs:
            runs[exp.setup] = run_experiment(exp)
    run_s = time.perf_counter() - tick

    # the zone of each distinct setup measured once per value; its rows read their quantity
    setups = {exp.setup: exp.pulses for exp in fit_rows}
    measures = {
        setup: [zone_measures(runs[setup], pulses, (e * 100.0, a0, k1, k2)) for e in SCAN_V_CM]
        for setup, pulses in setups.items()
    }
    table = {exp.row: np.array([m[exp.quantity] for m in measures[exp.setup]]) for exp in fit_rows}
    sd = {exp.row: 0.5 * exp.tolerance for exp in fit_rows}
    measured = {exp.row: exp.measured for exp in fit_rows}
    z = {row: (table[row] - measured[row]) / sd[row] for row in table}
    joint = sum(v**2 for v in z.values())
    fitted, low, high = _best_interval(SCAN_V_CM, joint)
    alone = {row: _best_interval(SCAN_V_CM, v**2) for row, v in z.items()}
    at_fit = {row: float(np.interp(fitted, SCAN_V_CM, table[row])) for row in table}
    result = {
        "fit_rows": [e.row for e in fit_rows],
        "lethal_field_v_cm": fitted,
        "best_interval_v_cm": [low, high],
        "objective": float(joint.min()),
        "each_row_alone_v_cm": {row: [lo, hi] for row, (_, lo, hi) in alone.items()},
        "range_for_studies_v_cm": [
            min(lo for _, lo, _ in alone.values()),
            max(hi for _, _, hi in alone.values()),
        ],
        "model_at_fit_mm": at_fit,
        "measured_mm": measured,
        "kept": {"lethal_width_v_cm": a0 / 100.0, "field_decay": k1, "width_decay": k2},
        "preset_lethal_field_v_cm": lethal_parameters()[0] / 100.0,
        "preset_zone_edge_v_cm": {
            str(n): lethal_field(n) / 100.0 for n in sorted({e.pulses for e in fit_rows})
        },
        "runs_s": run_s,
    }
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(f"fit rows {', '.join(result['fit_rows'])}; sessions took {run_s:.1f} s")
    print(
        f"E_c0 = {fitted:.1f} V/cm (best {low:g}-{high:g}), objective {joint.min():.3f}; "
        f"kept A0 {a0 / 100:g} V/cm, k1 {k1:g}, k2 {k2:g}"
    )
    for row in table:
        lo, hi = result["each_row_alone_v_cm"][row]
        print(
            f"  {row}: model {at_fit[row]:.1f} mm against {measured[row]:g} ± {sd[row]:g} mm; "
            f"alone best at {lo:g}-{hi:g} V/cm"
        )
    lo, hi = result["range_for_studies_v_cm"]
    print(f"range for studies: {lo:g}-{hi:g} V/cm")


if __name__ == "__main__":
    main()
