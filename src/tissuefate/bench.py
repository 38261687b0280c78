"""``tissuefate bench``: voxel updates per second of the kernels, and whole sessions.

Records are dicts ``{"case", "grid", "dtype", "impl", "voxel_updates_per_s", "wall_s"}`` plus one
``{"case": "bandwidth", "gb_per_s"}`` (STREAM triad, counted the STREAM way: 24 B per element of
float64, write-allocate not counted). Later capabilities add cases, never change the format. Every
kernel is run once before it is timed (compilation and cache loading are excluded), and each
timing is the best of a few repeats: the machines are noisy, so compare ratios from one run.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from functools import partial
from importlib import resources
from typing import Any

import numpy as np

from .damage.thermal import ThermalDose
from .grid.grid import Grid
from .kernels import bench as kb
from .modalities.thermal import MAX_DOSE_INTERVAL
from .physics.thermal import ThermalSolver

__all__ = ["run_benchmarks"]

Log = Callable[[str], None] | None

MWA_BENCH = """
name: bench-mwa-60W-10min
grid: {size: [64 mm, 64 mm, 64 mm], spacing: 0.5 mm}
anatomy:
  tumors: [{name: t1, shape: sphere, center: [0 mm, 0 mm, 0 mm], radius: 10 mm, preset: hcc}]
strategies:
  mwa:
    sessions:
      - modality: microwave
        applicators: [{tip: [0 mm, 0 mm, -10 mm], direction: [0, 0, -1], antenna: dual_slot}]
        power: 60 W
        duration: 10 min
        cooldown: 0 s
outputs: {treatability: false}
"""
"""The session of the performance target: 10 min at 60 W on a 128³ grid at 0.5 mm (no cool-down)."""


RFA_BENCH = """
name: bench-rfa-12min
grid: {size: [64 mm, 64 mm, 64 mm], spacing: 0.5 mm}
anatomy:
  tumors: [{name: t1, shape: sphere, center: [0 mm, 0 mm, 0 mm], radius: 10 mm, preset: hcc}]
strategies:
  rfa:
    sessions:
      - modality: radiofrequency
        electrodes: [{tip: [0 mm, 0 mm, -10 mm], direction: [0, 0, -1], active_length: 20 mm}]
        power: 60 W
        duration: 12 min
        cooldown: 0 s
outputs: {treatability: false}
"""
"""A 12 min radiofrequency session (cooled 2 cm tip, 60 W with roll-off) on 128³ at 0.5 mm."""

CRYO_BENCH = """
name: bench-cryo-ftf
grid: {size: [128 mm, 128 mm, 128 mm], spacing: 1 mm}
anatomy:
  tumors: [{name: t1, shape: sphere, center: [0 mm, 0 mm, 0 mm], radius: 12 mm, preset: hcc}]
strategies:
  cryo:
    sessions:
      - modality: cryo
        probes:
          - {tip: [-7.5 mm, 0 mm, -20 mm], direction: [0, 0, -1]}
          - {tip: [7.5 mm, 0 mm, -20 mm], direction: [0, 0, -1]}
        protocol: [{freeze: 10 min}, {thaw: 5 min}, {freeze: 10 min}]
        cooldown: 0 s
outputs: {treatability: false}
"""
"""Freeze–thaw–freeze (10, 5, 10 min) with two probes on 128³ at 1 mm (no cool-down)."""

IRE_BENCH = """
name: bench-ire-4x6
grid: {size: [128 mm, 128 mm, 128 mm], spacing: 1 mm}
anatomy:
  tumors: [{name: t1, shape: sphere, center: [0 mm, 0 mm, 0 mm], radius: 10 mm, preset: hcc}]
strategies:
  ire:
    sessions:
      - modality: ire
        electrodes:
          - {tip: [-7.5 mm, -7.5 mm, -10 mm], direction: [0, 0, -1]}
          - {tip: [7.5 mm, -7.5 mm, -10 mm], direction: [0, 0, -1]}
          - {tip: [7.5 mm, 7.5 mm, -10 mm], direction: [0, 0, -1]}
          - {tip: [-7.5 mm, 7.5 mm, -10 mm], direction: [0, 0, -1]}
        pairs: all
        voltage: 2250 V
        pulses: 90
        pulse_width: 70 us
        cooldown: 0 s
repair: {enabled: false}
outputs: {treatability: false}
"""
"""IRE with four electrodes in a 15 mm square, all 6 pairs at 2250 V, 90 pulses of 70 µs each
(9 min of pulses), on 128³ at 1 mm (no cool-down)."""

INJECTION_BENCH = """
name: bench-injection-4x0.5mL
grid: {{size: [{size} mm, {size} mm, {size} mm], spacing: 0.5 mm}}
anatomy:
  tumors:
    - {{name: t1, shape: sphere, center: [0 mm, 0 mm, 0 mm], radius: {radius} mm, preset: hcc}}
strategies:
  pei:
    sessions:
      - modality: injection
        agent: ethanol
        sites:
          - {{tip: [5 mm, 5 mm, 0 mm], direction: [0, 0, -1], volume: 0.5 mL}}
          - {{tip: [-5 mm, 5 mm, 0 mm], direction: [0, 0, -1], volume: 0.5 mL}}
          - {{tip: [5 mm, -5 mm, 0 mm], direction: [0, 0, -1], volume: 0.5 mL}}
          - {{tip: [-5 mm, -5 mm, 0 mm], direction: [0, 0, -1], volume: 0.5 mL}}
        rate: 10 mL/h
        observe: {observe}
outputs: {{treatability: false}}
"""
"""Four ethanol injections of 0.5 mL (2 mL in all) in a 3 cm tumour, then 1 h of observation,
on 96³ at 0.5 mm (the issue's target: under 30 s after compilation)."""

REPAIR_BENCH = """
name: bench-repair-180d
grid: {{size: [{size} mm, {size} mm, {size} mm], spacing: 1 mm}}
anatomy:
  tumors: [{{name: t1, shape: sphere, center: [0 mm, 0 mm, 0 mm], radius: 10 mm, preset: hcc}}]
strategies:
  mwa:
    sessions:
      - modality: microwave
        applicators: [{{tip: [0 mm, 0 mm, -10 mm], direction: [0, 0, -1], antenna: dual_slot,
          efficiency: 1.0}}]  # the workload of earlier records: 20 W into the tissue
        power: 20 W
        duration: 5 min
follow_up: {days} d
repair: {{mechanics: {{enabled: {mechanics}}}}}
outputs: {{fields: false, figures: false, report: false, treatability: false}}
"""
"""The session of examples/mwa_followup.yaml on 96³ at 1 mm, then 180 days of repair in 6 h steps
(the issue's target: the repair under 30 s after compilation), with the tissue mechanics on or
off."""


def _best(fn: Callable[[], Any], repeats: int) -> float:
    best = math.inf
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def _record(case: str, n: int, dtype: str, impl: str, updates: float, wall: float) -> dict:
    return {
        "case": case,
        "grid": f"{n}x{n}x{n}",
        "dtype": dtype,
        "impl": impl,
        "voxel_updates_per_s": updates / wall,
        "wall_s": wall,
    }


def bandwidth(n_elements: int = 16_000_000, repeats: int = 5) -> dict:
    """STREAM triad on three float64 arrays of ``n_elements`` (384 MB: larger than any cache)."""
    x = np.zeros(n_elements)
    y = np.ones(n_elements)
    z = np.full(n_elements, 2.0)
    kb.triad(x, y, z, 3.0)
    wall = _best(lambda: kb.triad(x, y, z, 3.0), repeats)
    return {"case": "bandwidth", "gb_per_s": 24.0 * n_elements / wall / 1e9, "wall_s": wall}


def _solver(n: int, impl: str, hot: bool) -> tuple[ThermalSolver, ThermalDose | None]:
    """Reference-problem tissue on an n³ grid at 0.5 mm; ``hot``: a 60 K hot spot and a dose."""
    from .grid.anatomy import Anatomy
    from .tissue.presets import load_tissue

    h = 0.5e-3
    grid = Grid(shape=(n, n, n), spacing=h)
    shape = grid.shape
    r = np.sqrt(sum(np.meshgrid(*[a**2 for a in grid.axes()], indexing="ij")))
    theta0 = 60.0 * np.exp(-0.5 * (r / (n * h / 8)) ** 2) if hot else 0.0
    solver = ThermalSolver(
        grid,
        np.full(shape, 0.52),
        np.full(shape, 1060.0 * 3600),
        np.full(shape, 0.0064 * 1060 * 3600),
        reference_temperature=37.0,
        initial_temperature=37.0 + theta0,
        arterial_temperature=37.0,
        impl=impl,
    )
    q = np.where(r <= 5e-3, 5e6, 0.0)
    solver.set_source(q)
    if not hot:
        return solver, None
    z = np.zeros(shape)
    anatomy = Anatomy(
        grid,
        np.zeros(shape, np.uint8),
        z.astype(np.float32),
        np.zeros(shape, np.uint8),
        np.zeros(shape, bool),
    )
    dose = ThermalDose(load_tissue("liver"), anatomy, 37.0, solver.theta, impl=impl)
    return solver, dose


def _run(
    solver: ThermalSolver, dose: ThermalDose | None, dt: float, steps: int, chunk: int
) -> None:
    for start in range(0, steps, chunk):
        solver.step(dt, min(chunk, steps - start), dose)


def stencil_cases(sizes: list[int], numpy: bool, log: Log, updates: float = 2e8) -> list[dict]:
    """Bare stencil, the thermal step's memory floor, thermal step and thermal step with dose,
    float32, per grid size; each timed over about ``updates`` voxel updates (at least 5 steps)."""
    records = []
    for n in sizes:
        steps = max(5, int(updates // n**3))
        # bare stencil (the floor)
        theta = np.zeros((n + 2,) * 3, np.float32)
        out = theta.copy()
        src = np.full_like(theta, 1e-3)
        kb.bare_stencil(theta, src, out, 0.1, 0.4, 1)
        wall = _best(partial(kb.bare_stencil, theta, src, out, 0.1, 0.4, steps), 3)
        records.append(_record("bare_stencil", n, "float32", "compiled", n**3 * steps, wall))
        # the thermal step's bytes with the bare arithmetic (the step's memory floor)
        coef = [np.full_like(theta, v) for v in (0.7, 2.6e-7, 1e-3)]
        kb.traffic_stencil(theta, *coef, src, out, 0.1, 0.4, 1)
        wall = _best(partial(kb.traffic_stencil, theta, *coef, src, out, 0.1, 0.4, steps), 3)
        records.append(_record("thermal_traffic", n, "float32", "compiled", n**3 * steps, wall))
        for case, hot in (("thermal", False), ("thermal+damage", True)):
            solver, dose = _solver(n, "compiled", hot)
            solver.warm_up(dose)
            dt = 0.9 * solver.max_stable_dt()
            # as in a session: the dose is integrated over intervals of at most 1 s
            chunk = max(1, round(MAX_DOSE_INTERVAL / dt))
            wall = _best(partial(_run, solver, dose, dt, steps, chunk), 3)
            records.append(_record(case, n, "float32", "compiled", n**3 * steps, wall))
            if numpy:
                nsteps = 4 if n >= 100 else 8
                solver_np, dose_np = _solver(n, "numpy", hot)
                wall = _best(partial(_run, solver_np, dose_np, dt, nsteps, chunk), 2)
                records.append(_record(case, n, "float32", "numpy", n**3 * nsteps, wall))
        if log:
            for r in records[-(4 + 2 * numpy) :]:
                log(
                    f"{r['case']:>16} {r['grid']:>12} {r['impl']:>9}: "
                    f"{r['voxel_updates_per_s']:.2e} voxel-updates/s ({r['wall_s']:.3f} s)"
                )
    return records


def session_cases(log: Log, cases: tuple[str, ...] | None = None) -> list[dict]:
    """Whole sessions: the reference problem (64³), and on 128³ a 10 min 60 W microwave session,
    a 12 min radiofrequency session, a freeze–thaw–freeze cryo session and a 6-pair IRE
    protocol; four ethanol injections on 96³; 180 days of repair after a microwave ablation on 96³
    (``repair:mwa_180d``, whose ``wall_s`` is the repair alone); and the flagship comparison with
    one and two worker processes (``course:demo``, :func:`course_demo_record`).

    ``wall_s`` is the time of the heat-equation steps (as for every record); ``session_s`` adds
    the source updates (potential solves, probe and coefficient updates), and for
    radiofrequency ``potential_s`` is the share of the potential solves in it.
    """
    from .course.controller import simulate
    from .scenario.io import loads_scenario

    records = []
    examples = resources.files("tissuefate") / "examples"
    scenarios = {
        "session:reference_pennes": (
            (examples / "reference_pennes.yaml").read_text(),
            "reference_pennes.yaml",
        ),
        "session:mwa_60W_10min": (MWA_BENCH, "bench: microwave 60 W, 10 min, 128^3 at 0.5 mm"),
        "session:rfa_12min": (RFA_BENCH, "bench: radiofrequency 60 W, 12 min, 128^3 at 0.5 mm"),
        "session:cryo_ftf_10_5_10": (CRYO_BENCH, "bench: cryo 10-5-10 min, 128^3 at 1 mm"),
        "session:ire_4x6_90": (IRE_BENCH, "bench: IRE 4 electrodes, 6 pairs x 90, 128^3 at 1 mm"),
    }
    scenarios["session:injection_4x0.5mL_1h"] = (
        INJECTION_BENCH.format(size=48, radius=15, observe="1 h"),
        "bench: ethanol injection 4 x 0.5 mL + 1 h, 96^3 at 0.5 mm",
    )
    scenarios["repair:mwa_180d"] = (
        REPAIR_BENCH.format(size=96, days=180, mechanics="true"),
        "bench: 180 days of repair after a microwave ablation, 96^3 at 1 mm",
    )
    scenarios["repair:mwa_180d_still"] = (
        REPAIR_BENCH.format(size=96, days=180, mechanics="false"),
        "bench: the same without the tissue mechanics",
    )
    for case, (text, name) in scenarios.items():
        if cases is not None and case not in cases:
            continue
        if case.startswith("repair:"):
            records.append(_repair_record(case, text, name, log))
            continue
        if case.startswith("session:injection"):
            # load the injection kernels on a small grid first: the target is after compilation
            simulate(loads_scenario(INJECTION_BENCH.format(size=24, radius=8, observe="1 min")))
        result = simulate(loads_scenario(text, name))
        s = result.summary["sessions"][0]["solver"]
        if "pressure_solves" in s:
            records.append(_injection_record(case, result.summary, log))
            continue
        n = result.summary["grid"]["shape"][0]
        rec = _record(case, n, "float32", "compiled", n**3 * s["steps"], s["wall_time_s"])
        update_s = s.get("source_update_s")
        if update_s is not None:
            rec["session_s"] = s["wall_time_s"] + update_s + s.get("field_solve_s", 0.0)
            if "field_solve_s" in s:  # IRE: the pairs' σ(E) field solves
                rec["field_solve_s"] = s["field_solve_s"]
            else:
                rec["potential_s"] = s.get("potential_solve_s", 0.0)
                rec["potential_solves"] = s.get("potential_solves", 0)
            if "potential_full_solves" in s:
                rec["potential_full_solves"] = s["potential_full_solves"]
        if s.get("local_steps"):  # cryo: the ice's own steps in its box (steps: the grid's)
            rec["local_steps"] = s["local_steps"]
        records.append(rec)
        if log:
            extra = ""
            if "field_solve_s" in rec:
                extra = (
                    f"; whole session {rec['session_s']:.2f} s, of which field solves "
                    f"{rec['field_solve_s']:.2f} s"
                )
            elif update_s is not None:
                extra = (
                    f"; whole session {rec['session_s']:.2f} s, of which potential solves "
                    f"{rec['potential_s']:.2f} s ({rec['potential_solves']} solves)"
                )
            log(
                f"{case:>26} {rec['grid']:>12}: {s['steps']} steps in {s['wall_time_s']:.2f} s "
                f"({rec['voxel_updates_per_s']:.2e} voxel-updates/s; kernel load "
                f"{s['kernel_load_s']:.2f} s not counted){extra}"
            )
    # last: the course runs its strategies in this process too (jobs 1); timed after it, the
    # radiofrequency session's potential solves took 14.8 s in one run against 9.6-9.8 s alone
    if cases is None or "course:demo" in cases:
        records.append(course_demo_record(log))
    return records


def course_demo_record(log: Log, jobs: tuple[int, ...] = (1, 2)) -> dict:
    """``course:demo``: the flagship comparison (``tissuefate demo``) run whole, once per worker
    count in ``jobs`` (default 1 and 2), each into a fresh temporary folder; ``wall_s`` is the
    run with the most workers, ``jobs_N_s`` each run, ``speedup`` the ratio of the first to the
    last. The compiled kernels' disk cache is whatever this machine has (a cold cache makes the
    first run slower: run twice to see the warm figures)."""
    import tempfile
    from pathlib import Path

    from .course.runner import Job, run_jobs
    from .report.comparison import write_comparison
    from .scenario.io import load_scenario

    examples = resources.files("tissuefate") / "examples"
    with resources.as_file(examples / "course_demo.yaml") as path:
        scenario = load_scenario(path)
        walls = {}
        for n in jobs:
            with tempfile.TemporaryDirectory() as tmp:
                out = Path(tmp)
                runs = [Job(name, str(path), name, str(out / name)) for name in scenario.strategies]
                start = time.perf_counter()
                run_jobs(runs, n)
                write_comparison(out, list(scenario.strategies))
                walls[n] = time.perf_counter() - start
            if log:
                log(f"{'course:demo':>26} jobs {n}: {walls[n]:.1f} s")
    spec = scenario.grid
    rec = {
        "case": "course:demo",
        "grid": "x".join(str(n) for n in spec.shape),
        "dtype": "float32",
        "impl": "compiled",
        "wall_s": walls[jobs[-1]],
        **{f"jobs_{n}_s": w for n, w in walls.items()},
        "speedup": walls[jobs[0]] / walls[jobs[-1]],
        "strategies": len(scenario.strategies),
    }
    if log:
        log(f"{'course:demo':>26} speed-up of {jobs[-1]} jobs over {jobs[0]}: {rec['speedup']:.2f}")
    return rec


def _repair_record(case: str, text: str, name: str, log: Log) -> dict:
    """The record of a repair interval: wall time of its steps (with the volumes recorded after
    each), after the kernels were loaded on a small grid."""
    from .course.controller import simulate
    from .scenario.io import loads_scenario

    # load the kernels; the grid is big enough for a block smaller than the grid (strided views)
    simulate(loads_scenario(REPAIR_BENCH.format(size=64, days=2, mechanics="true")))
    summary = simulate(loads_scenario(text, name)).summary
    rep = summary["repair"]
    n = summary["grid"]["shape"][0]
    rec = _record(case, n, "float32", "compiled", n**3 * rep["steps"], rep["wall_time_s"])
    rec["repair_days"] = summary["outcome"]["days"] - summary["sessions"][-1]["day"]
    rec["repair_steps"] = rep["steps"]
    mech = rep.get("mechanics", {})
    if mech.get("enabled"):
        rec["mechanics_s"] = mech["total_s"]
        rec["pressure_s"] = mech["solve_s"]
        rec["pressure_solves"] = mech["pressure_solves"]
        rec["pressure_share"] = mech["solve_s"] / rep["wall_time_s"]
    if log:
        extra = (
            f"; mechanics {mech['total_s']:.2f} s, of which {mech['pressure_solves']} pressure "
            f"solves {mech['solve_s']:.2f} s ({100 * mech['solve_s'] / rep['wall_time_s']:.0f} % "
            "of the repair)"
            if mech.get("enabled")
            else ""
        )
        log(
            f"{case:>26} {rec['grid']:>12}: {rep['steps']} steps of {rep['step_h']:g} h "
            f"({rec['repair_days']:g} days) in {rep['wall_time_s']:.2f} s{extra}"
        )
    return rec


def _injection_record(case: str, summary: dict, log: Log) -> dict:
    """The record of an injection session: its whole wall time and the pressure solves in it."""
    s = summary["sessions"][0]["solver"]
    n = summary["grid"]["shape"][0]
    rec = _record(case, n, "float64", "compiled", n**3 * s["steps"], s["wall_time_s"])
    rec["session_s"] = s["wall_time_s"]
    rec["pressure_s"] = s["pressure_s"]
    rec["pressure_solves"] = s["pressure_solves"]
    if log:
        log(
            f"{case:>26} {rec['grid']:>12}: {s['steps']} steps, whole session "
            f"{s['wall_time_s']:.2f} s, of which {s['pressure_solves']} pressure solves "
            f"{s['pressure_s']:.2f} s (simulated {s['simulated_s'] / 60:.0f} min)"
        )
    return rec


def run_benchmarks(
    sizes: list[int],
    numpy: bool = True,
    sessions: bool = True,
    log: Log = None,
    cases: tuple[str, ...] | None = None,
) -> list[dict]:
    """Run the benchmark cases; returns the records. ``cases`` names the session and course
    cases to run (default: all), and then only those run."""
    if cases:
        return session_cases(log, cases)
    bw = bandwidth()
    if log:
        log(f"memory bandwidth (STREAM triad, numba): {bw['gb_per_s']:.1f} GB/s")
    records = [bw, *stencil_cases(sizes, numpy, log)]
    if sessions:
        records += session_cases(log)
    return records
