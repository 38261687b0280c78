"""The ice stepping locally against the whole grid at the ice's step (not a test).

Runs the benchmark's cryo session (``session:cryo_ftf_10_5_10``: two argon probes,
freeze-thaw-freeze 10-5-10 min, 128³ at 1 mm; ``--size`` shrinks the grid) twice: with
``thermal.local_time_step`` (the default: the grid at unfrozen tissue's stable step, the ice in a
box around it at its own) and without (the whole grid at the ice's step, the reference). Prints
each run's wall time (heat-equation steps and source updates), time steps, the iceball (≤ 0 °C)
and lethal (≤ -40 °C) volumes at the end of each freeze from the session time series, the
volumes of the lowest temperature's isotherms and the energy balance, with the relative
differences.

Run:  python benchmarks/cryo_local_steps.py [--size 128] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from tissuefate.bench import CRYO_BENCH
from tissuefate.course.controller import simulate
from tissuefate.scenario.io import loads_scenario


def run(size: int, local: bool) -> dict:
    text = CRYO_BENCH.replace("128 mm, 128 mm, 128 mm", f"{size} mm, {size} mm, {size} mm")
    if not local:
        text += "thermal: {local_time_step: false}\n"
    start = time.perf_counter()
    result = simulate(loads_scenario(text, f"cryo bench {size}, local {local}"))
    wall = time.perf_counter() - start
    s = result.summary["sessions"][0]
    series = result.session_timeseries
    ends = series[series["phase"] != series["phase"].shift(-1)]  # the last row of each phase
    freezes = ends[ends["phase"] == "freeze"]
    lowest = result.fields["min_temperature"].isel(session=0).values
    ml = result.summary["grid"]["spacing_mm"] ** 3 / 1e3
    return {
        "local": local,
        "run_s": wall,
        "session_s": s["solver"]["wall_time_s"] + s["solver"]["source_update_s"],
        "dt_s": s["solver"]["dt_s"],
        "max_stable_dt_s": s["solver"]["max_stable_dt_s"],
        "local_steps": s["solver"]["local_steps"],
        "local_fallbacks": s["solver"]["local_fallbacks"],
        "iceball_ml": [float(v) for v in freezes["iceball_ml"]],
        "lethal_ml": [float(v) for v in freezes["lethal_ml"]],
        "isotherm_ml": {
            f"{t:g}": float(np.count_nonzero(lowest <= t)) * ml for t in (0.0, -20.0, -40.0)
        },
        "balance_residual_rel": s["energy"]["balance_residual_rel"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=128, help="grid edge in mm (1 mm cells)")
    parser.add_argument("--json", type=Path, help="also write both records here")
    args = parser.parse_args()
    run(48, True)  # compile or load the kernels
    whole = run(args.size, False)
    local = run(args.size, True)
    for r in (whole, local):
        print(
            f"{'local' if r['local'] else 'whole'}: session {r['session_s']:.1f} s "
            f"(run {r['run_s']:.1f} s), dt {r['dt_s']:.3f} s (ice limit "
            f"{r['max_stable_dt_s']:.3f} s), local steps {r['local_steps']}, fallbacks "
            f"{r['local_fallbacks']}, iceball {r['iceball_ml']} mL, lethal {r['lethal_ml']} mL, "
            f"isotherms {r['isotherm_ml']} mL, balance {r['balance_residual_rel']:.1e}"
        )
    print(f"speed-up of the session: {whole['session_s'] / local['session_s']:.2f}x")
    pairs = [
        *(("iceball", a, b) for a, b in zip(local["iceball_ml"], whole["iceball_ml"], strict=True)),
        *(("lethal", a, b) for a, b in zip(local["lethal_ml"], whole["lethal_ml"], strict=True)),
        *((f"lowest <= {k}", local["isotherm_ml"][k], v) for k, v in whole["isotherm_ml"].items()),
    ]
    for name, a, b in pairs:
        print(f"{name:>14}: local {a:8.3f} mL, whole {b:8.3f} mL, {100 * (a / b - 1):+.2f} %")
    if args.json:
        args.json.write_text(json.dumps({"whole": whole, "local": local}, indent=2))


if __name__ == "__main__":
    main()
