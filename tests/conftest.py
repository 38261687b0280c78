"""Settings of the whole test session.

Under pytest-xdist (``pytest -n N``) each worker's parallel kernels get cores / N threads, so that
N workers never run more threads than there are cores (oversubscribed, the kernels' threads wait
on each other at every barrier; docs/performance.md, "Start-up, threads on a busy machine, and
the test suite"). The variable is read when numba is first imported, and subprocesses the tests
start inherit it.
"""

from __future__ import annotations

import os

import pytest


def pytest_configure(config: pytest.Config) -> None:
    workers = os.environ.get("PYTEST_XDIST_WORKER_COUNT")
    if workers and "NUMBA_NUM_THREADS" not in os.environ:
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
        os.environ["NUMBA_NUM_THREADS"] = str(max(1, (cores or 1) // int(workers)))
