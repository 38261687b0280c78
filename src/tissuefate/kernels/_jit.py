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
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_WAIT_POLICY", "passive")

import numba
from numba.core import config

__all__ = ["cache_dir", "has_compiled", "jit", "num_threads", "set_num_threads"]

# Reassociation and contraction are allowed (vectorised reductions, FMA), and NaN/inf are assumed
# absent inside kernels (needed to vectorise min/max); the callers check finiteness afterwards.
FASTMATH = {"nsz", "arcp", "contract", "reassoc", "afn", "nnan", "ninf"}


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


def jit(*, parallel: bool = False, inline: bool = False) -> Callable[[Callable[..., Any]], Any]:
    """Compile with numba, cached on disk (see the module docstring).

    ``inline`` inlines a helper into its callers at numba's IR level, so that a helper called in
    an inner loop does not stop the loop from being vectorised.
    """
    compile_ = numba.njit(
        cache=True,
        nogil=True,
        fastmath=FASTMATH,
        parallel=parallel,
        inline="always" if inline else "never",
    )

    def decorate(fn: Callable[..., Any]) -> Any:
        # numba fixes a function's cache folder when it is decorated; point it at ours only then
        saved = config.CACHE_DIR
        config.CACHE_DIR = cache_dir()
        try:
            return compile_(fn)
        finally:
            config.CACHE_DIR = saved

    return decorate


def num_threads() -> int:
    """Number of threads the parallel kernels use."""
    return int(numba.get_num_threads())


def set_num_threads(n: int) -> None:
    """Use ``n`` threads (at most the number numba started with) in the parallel kernels."""
    numba.set_num_threads(max(1, min(int(n), config.NUMBA_NUM_THREADS)))
