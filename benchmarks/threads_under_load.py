"""How the parallel kernels slow down when other processes compete for the cores (not a test).

Two workloads, each in a fresh process so that its numba threading layer and thread count are its
own: ``solve``, a cold multigrid potential solve to 1e-6 (the radiofrequency scene of
``potential_solver.py``; many short parallel loops, each ending at a barrier), and ``step``, 200
explicit thermal steps with the thermal dose (long parallel loops). Each runs with 0, 1, 2 and 4
competing busy processes (pure-Python spin loops, as another user's job would be), for each
configuration given: threads (``1`` or all cores) and numba's threading layer (``omp`` or
``workqueue``; ``tbb`` when the tbb package is installed). The table gives the wall time of each
and its slowdown against the single-threaded run on the quiet machine.

Run:  python benchmarks/threads_under_load.py [--n 96] [--loads 0,1,2,4] [--layers omp,workqueue]
      [--repeat 3] [--chunk 0] [--wait-policy passive|active]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

_SPIN = "while True:\n    pass\n"

_WORK = r"""
import json, statistics, sys, time
import numpy as np
import numba
sys.path.insert(0, {here!r})
from tissuefate.kernels import _jit
from tissuefate.physics.electric import PotentialSolver
from tissuefate.bench import _solver, _run, MAX_DOSE_INTERVAL
import potential_solver as ps

n, threads, repeat, chunk, work = {n}, {threads}, {repeat}, {chunk}, {work!r}
_jit.set_num_threads(threads)
if chunk:
    numba.set_parallel_chunksize(chunk)
if work == "solve":
    sigma, electrode, dist = ps.scene(n)
    solver = PotentialSolver((n, n, n), ps.H)
    solver.set_conductivity(sigma, electrode)
    guess = np.where(electrode, 1.0, 0.0)
    solver.solve(1.0, x0=guess, tol=1e-6)  # compile and warm the memory
    def once():
        solver.solve(1.0, x0=guess, tol=1e-6)
else:
    thermal, dose = _solver(n, "compiled", True)
    thermal.warm_up(dose)
    dt = 0.9 * thermal.max_stable_dt()
    every = max(1, round(MAX_DOSE_INTERVAL / dt))
    _run(thermal, dose, dt, 20, every)
    def once():
        _run(thermal, dose, dt, 200, every)
times = []
for _ in range(repeat):
    t = time.perf_counter()
    once()
    times.append(time.perf_counter() - t)
print(json.dumps({{"wall_s": statistics.median(times), "layer": numba.threading_layer(),
                  "threads": _jit.num_threads()}}))
"""


def measure(
    work: str, n: int, threads: int, layer: str, load: int, repeat: int, chunk: int, wait: str
):
    """Median wall time of ``work`` with ``load`` busy processes beside it."""
    spinners = [subprocess.Popen([sys.executable, "-c", _SPIN]) for _ in range(load)]
    try:
        time.sleep(0.5)
        here = str(Path(__file__).parent)
        code = _WORK.format(here=here, n=n, threads=threads, repeat=repeat, chunk=chunk, work=work)
        env = dict(os.environ, NUMBA_THREADING_LAYER=layer, OMP_WAIT_POLICY=wait)
        done = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=False
        )
        if done.returncode != 0:
            raise RuntimeError(done.stderr[-2000:])
        return json.loads(done.stdout.strip().splitlines()[-1])
    finally:
        for p in spinners:
            p.kill()
            p.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=96)
    parser.add_argument("--loads", default="0,1,2,4")
    parser.add_argument("--layers", default="omp,workqueue")
    parser.add_argument("--threads", default=f"1,{os.cpu_count()}")
    parser.add_argument("--work", default="solve,step")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--chunk", type=int, default=0, help="numba parallel chunk size (0: off)")
    parser.add_argument(
        "--wait-policy",
        default="passive",
        help="OMP_WAIT_POLICY of the omp layer (tissuefate's default: passive; GNU's: active)",
    )
    parser.add_argument("--json", type=Path, help="also write the records here")
    args = parser.parse_args()
    loads = [int(s) for s in args.loads.split(",")]
    records = []
    for work in args.work.split(","):
        base = None
        for layer in args.layers.split(","):
            for threads in [int(s) for s in args.threads.split(",")]:
                for load in loads:
                    r = measure(
                        work,
                        args.n,
                        threads,
                        layer,
                        load,
                        args.repeat,
                        args.chunk,
                        args.wait_policy,
                    )
                    if base is None:
                        base = r["wall_s"]  # single-threaded, quiet: the first configuration
                    r |= {"work": work, "load": load, "slowdown": r["wall_s"] / base}
                    records.append(r)
                    print(
                        f"{work:>5} {r['layer']:>9} threads {r['threads']} load {load}: "
                        f"{r['wall_s']:7.3f} s  x{r['slowdown']:5.2f}",
                        flush=True,
                    )
    if args.json:
        args.json.write_text(json.dumps(records, indent=2))
    summary = statistics.median(r["slowdown"] for r in records)
    print(f"median slowdown over all configurations: x{summary:.2f}")


if __name__ == "__main__":
    main()
