"""How the radiofrequency bench session depends on the potential solver's settings (not a test).

Runs ``bench.RFA_BENCH`` (a cooled 2 cm needle, 60 W with roll-off, 12 min) with the module
constants of ``modalities/radiofrequency.py`` overridden, and prints per run: the ablation and
coagulation zone volumes, the roll-off times, the energy delivered, the number of potential
solves and the time they took. A reference is the same session with every update solved to a
tight tolerance on the whole grid (``--reference``). The course's treatability twins (the same
session run again on today's and on untreated tissue) are skipped.

Run:  python benchmarks/rf_solver_settings.py [--spacing 0.5] [--set NAME=VALUE ...] [--reference]
"""

from __future__ import annotations

import argparse
import json
import time

from tissuefate import bench
from tissuefate.course import controller
from tissuefate.course.controller import simulate
from tissuefate.modalities import radiofrequency as rf
from tissuefate.scenario.io import loads_scenario


def run(spacing_mm: float, settings: dict[str, float], series: str | None = None) -> dict:
    # the treatability twins run the same session twice more: not wanted here
    controller.Course._final_treatability = lambda self, *args: None
    controller.session_treatability = lambda *args: None
    old = {k: getattr(rf, k) for k in settings}
    for k, v in settings.items():
        setattr(rf, k, type(old[k])(v))
    try:
        text = bench.RFA_BENCH.replace("spacing: 0.5 mm", f"spacing: {spacing_mm} mm")
        text = text.replace("cooldown: 0 s", "cooldown: 0 s\n")
        start = time.perf_counter()
        result = simulate(loads_scenario(text, "rf settings"))
        wall = time.perf_counter() - start
    finally:
        for k, v in old.items():
            setattr(rf, k, v)
    s = result.summary["sessions"][0]
    if series:
        result.session_timeseries.to_csv(series, index=False)
    d = s["delivered"]
    return {
        "settings": settings,
        "spacing_mm": spacing_mm,
        "ablation_ml": s["ablation_zone"]["volume_ml"],
        "coagulation_ml": s["coagulation_zone"]["volume_ml"],
        "rolloff_s": d["rolloff_events"],
        "energy_j": d["energy_j"],
        "generator_energy_j": d["generator_energy_j"],
        "solves": s["solver"]["potential_solves"],
        "full_solves": s["solver"].get("potential_full_solves"),
        "iterations": s["solver"]["potential_iterations"],
        "potential_s": s["solver"]["potential_solve_s"],
        "steps_s": s["solver"]["wall_time_s"],
        "update_s": s["solver"].get("source_update_s"),
        "wall_s": wall,
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--spacing", type=float, default=0.5, help="grid spacing, mm")
    p.add_argument("--set", action="append", default=[], help="NAME=VALUE of radiofrequency.py")
    p.add_argument("--series", help="write the session's time series to this CSV")
    p.add_argument(
        "--reference",
        action="store_true",
        help="solve every update on the whole grid to 1e-9",
    )
    args = p.parse_args()
    settings = {k: float(v) for k, v in (s.split("=") for s in args.set)}
    if args.reference:
        settings |= {
            "RESOLVE_TOLERANCE": 0.0,
            "SOLVE_TOLERANCE": 1e-9,
            "REBUILD_EVERY": 1,
            "BOX_MAX_FRACTION": 0.0,
        }
    print(json.dumps(run(args.spacing, settings, args.series)))


if __name__ == "__main__":
    main()
