"""The one place where numba's options are chosen."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numba

__all__ = ["jit", "num_threads"]

# Reassociation and contraction are allowed (vectorised reductions, FMA); NaN and infinity are
# kept meaningful so that a diverging run still produces NaN for the caller's finiteness check.
FASTMATH = {"nsz", "arcp", "contract", "reassoc", "afn"}


def jit(*, parallel: bool = False) -> Callable[[Callable[..., Any]], Any]:
    """Compile with numba, cached on disk so a second run pays no compilation."""
    return numba.njit(cache=True, nogil=True, fastmath=FASTMATH, parallel=parallel)


def num_threads() -> int:
    """Number of threads the parallel kernels use."""
    return int(numba.get_num_threads())
