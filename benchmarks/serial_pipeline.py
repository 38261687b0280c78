"""Serial kernels under numba's plain and parallel pipelines (not a test).

The multigrid's coarse levels and several transport and track kernels run on one thread. They
call helpers that numba inlines at its IR level (``jit(inline=True)``). Compiled by the plain
pipeline, those loops ran 3-6x slower than the same loop compiled as a ``prange`` kernel on one
thread, because only the parallel pipeline simplifies the inlined IR. ``kernels/_jit.py``
therefore compiles serial kernels with the parallel pipeline and every parallel transformation
off (``SERIAL``). This script compiles the multigrid's serial kernels both ways from their
Python sources and times them on one thread, on the grids the demo course's injections solve.

Run:  python benchmarks/serial_pipeline.py [--repeat 300]
"""

from __future__ import annotations

import argparse
import time
import warnings

import numba
import numpy as np
from numba.core.errors import NumbaPerformanceWarning

from tissuefate.kernels import multigrid as mg
from tissuefate.kernels._jit import FASTMATH, SERIAL

SHAPES = ((50, 32, 42), (25, 16, 21), (13, 8, 11))
"""The demo course's grid (2 mm) and its first two multigrid levels."""


def _arrays(shape: tuple[int, int, int], rng: np.random.Generator) -> dict[str, np.ndarray]:
    n0, n1, n2 = shape
    return {
        "u": rng.random(shape),
        "f": rng.random(shape),
        "c0": rng.random((n0 + 1, n1, n2)),
        "c1": rng.random((n0, n1 + 1, n2)),
        "c2": rng.random((n0, n1, n2 + 1)),
        "d": 0.1 * rng.random(shape),
        "fixed": (rng.random(shape) < 0.05).astype(np.uint8),
        "out": np.empty(shape),
    }


def _time(call, repeat: int) -> float:
    call()  # compiles
    best = np.inf
    for _ in range(3):
        start = time.perf_counter()
        for _ in range(repeat):
            call()
        best = min(best, (time.perf_counter() - start) / repeat)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=300)
    args = parser.parse_args()
    numba.set_num_threads(1)
    rng = np.random.default_rng(0)
    kernels = {
        "smooth_rb_serial": lambda k, a: (
            lambda: k(a["u"], a["f"], a["c0"], a["c1"], a["c2"], a["d"], a["fixed"], 0)
        ),
        "residual_serial": lambda k, a: (
            lambda: k(a["u"], a["f"], a["c0"], a["c1"], a["c2"], a["d"], a["fixed"], a["out"])
        ),
        "apply_operator_serial": lambda k, a: (
            lambda: k(a["u"], a["c0"], a["c1"], a["c2"], a["d"], a["fixed"], a["out"])
        ),
    }
    print(f"numba {numba.__version__}, one thread; best of 3 x {args.repeat} calls")
    print(f"{'kernel':24s} {'cells':>14s} {'plain us':>10s} {'SERIAL us':>10s} {'ratio':>6s}")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NumbaPerformanceWarning)
        for name, bind in kernels.items():
            source = getattr(mg, name).py_func
            plain = numba.njit(fastmath=FASTMATH)(source)
            serial = numba.njit(fastmath=FASTMATH, parallel=SERIAL)(source)
            for shape in SHAPES:
                a = _arrays(shape, rng)
                t_plain = _time(bind(plain, a), args.repeat)
                t_serial = _time(bind(serial, a), args.repeat)
                cells = "x".join(map(str, shape))
                print(
                    f"{name:24s} {cells:>14s} {t_plain * 1e6:10.1f} {t_serial * 1e6:10.1f} "
                    f"{t_plain / t_serial:6.2f}"
                )


if __name__ == "__main__":
    main()
