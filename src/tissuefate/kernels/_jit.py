"""The one place where numba's options are chosen.

Compiled kernels are cached on disk so that a second run pays no compilation. numba keys its cache
on each source file alone, so a kernel that inlines a helper from another file would keep stale
machine code after that helper changes; the cache therefore lives in a folder named by a hash of
every kernel source (``~/.cache/tissuefate/numba-<version>-<hash>``, or under
``$TISSUEFATE_CACHE_DIR``), and any edit of any kernel starts a fresh one.

The OpenMP threads of the parallel kernels sleep while they wait (``OMP_WAIT_POLICY=passive``)
unless the environment says otherwise: by default GNU OpenMP's idle threads spin for a while, and
on a machine with as many cores as threads they then take the core from the Python thread's serial
work between two parallel kernels. Measured with ``tissuefate bench --case repair:mwa_180d`` on 2
cores: 42.0 s spinning, 34.3 s sleeping (the pressure solves of the tissue mechanics alternate
parallel sweeps with serial coarse levels); the sessions' benchmarks are unchanged (within 3 %).
The policy is read once, when the first parallel kernel loads OpenMP, so it is set here, before
any kernel can run.

Serial kernels (no ``prange``) are compiled by numba's parallel pipeline with every parallel
transformation switched off (:data:`SERIAL`): they still run on the calling thread alone, but the
pipeline's array analysis and IR simplification also clean up the helpers inlined into them
(``inline=True``), which numba's plain pipeline leaves 3-6x slower. Measured on this machine
(numba 0.68): a red-black half sweep of the multigrid on 50x32x42 cells, 887 us plain against 211
us for the same loop compiled as a parallel kernel on one thread; a residual, 1526 against 291
us. numba warns that such a kernel has nothing to parallelise; that warning, which is the
intent, is silenced while these kernels compile.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_WAIT_POLICY", "passive")

import warnings

import numba
from numba.core import config
from numba.core.errors import NumbaPerformanceWarning

__all__ = ["cache_dir", "has_compiled", "jit", "num_threads", "set_num_threads"]

# Reassociation and contraction are allowed (vectorised reductions, FMA), and NaN/inf are assumed
# absent inside kernels (needed to vectorise min/max); the callers check finiteness afterwards.
FASTMATH = {"nsz", "arcp", "contract", "reassoc", "afn", "nnan", "ninf"}
SERIAL = dict.fromkeys(
    (
        "comprehension",
        "prange",
        "numpy",
        "reduction",
        "setitem",
        "stencil",
        "fusion",
        "inplace_binop",
    ),
    False,
)
"""numba's parallel options with every transformation off: the parallel pipeline, one thread."""
_NOTHING_PARALLEL = "\nThe keyword argument 'parallel=True' was specified but no transformation"


@cache
def cache_dir() -> str:
    """Folder of the compiled-kernel cache for this exact set of kernel sources."""
    sources = sorted(Path(__file__).parent.glob("*.py"))
    digest = hashlib.sha256(b"".join(p.read_bytes() for p in sources)).hexdigest()[:12]
    base = os.environ.get("TISSUEFATE_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"),
        "tissuefate",
    )
    return os.path.join(base, f"numba-{numba.__version__}-{digest}")


def has_compiled() -> bool:
    """Whether kernels of these exact sources were compiled before (any are in the cache).

    False on the first run after installing tissuefate or editing a kernel: that run compiles each
    kernel when it is first called, which takes tens of seconds before the first step.
    """
    folder = Path(cache_dir())
    return folder.is_dir() and next(folder.rglob("*.nbi"), None) is not None


def jit(
    *, parallel: bool = False, inline: bool = False, fastmath: bool = True
) -> Callable[[Callable[..., Any]], Any]:
    """Compile with numba, cached on disk (see the module docstring).

    ``inline`` inlines a helper into its callers at numba's IR level, so that a helper called in
    an inner loop does not stop the loop from being vectorised. ``fastmath=False`` keeps IEEE
    semantics, for a kernel that tests for NaN or infinity.
    """
    compile_ = numba.njit(
        cache=True,
        nogil=True,
        fastmath=FASTMATH if fastmath else False,
        parallel=True if parallel else SERIAL,
        inline="always" if inline else "never",
    )

    def decorate(fn: Callable[..., Any]) -> Any:
        # numba fixes a function's cache folder when it is decorated; point it at ours only then
        saved = config.CACHE_DIR
        config.CACHE_DIR = cache_dir()
        try:
            dispatcher = compile_(fn)
        finally:
            config.CACHE_DIR = saved
        if not parallel:
            dispatcher.compile = _quietly(dispatcher.compile)
        return dispatcher

    return decorate


def _quietly(compile_: Callable[..., Any]) -> Callable[..., Any]:
    """``compile_`` without numba's warning that a serial kernel has nothing to parallelise."""

    def compile_quietly(*args: Any, **kwargs: Any) -> Any:
        with warnings.catch_warnings():
            warnings.filterwarnings(
                "ignore", message=_NOTHING_PARALLEL, category=NumbaPerformanceWarning
            )
            return compile_(*args, **kwargs)

    return compile_quietly


def num_threads() -> int:
    """Number of threads the parallel kernels use."""
    return int(numba.get_num_threads())


def set_num_threads(n: int) -> None:
    """Use ``n`` threads (at most the number numba started with) in the parallel kernels."""
    numba.set_num_threads(max(1, min(int(n), config.NUMBA_NUM_THREADS)))
