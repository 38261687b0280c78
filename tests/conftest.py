"""Settings of the whole test session.

Under pytest-xdist (``pytest -n N``) each worker's parallel kernels get cores / N threads, so that
N workers never run more threads than there are cores (oversubscribed, the kernels' threads wait
on each other at every barrier; docs/performance.md, "Start-up, threads on a busy machine, and
the test suite"). The variable is read when numba is first imported, and subprocesses the tests
start inherit it.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import pytest


def pytest_configure(config: pytest.Config) -> None:
    workers = os.environ.get("PYTEST_XDIST_WORKER_COUNT")
    if workers and "NUMBA_NUM_THREADS" not in os.environ:
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
        os.environ["NUMBA_NUM_THREADS"] = str(max(1, (cores or 1) // int(workers)))


def _single_error_line(result: Any) -> str:
    """The single line the CLI printed; fails if there is more, or a traceback."""
    text = result.output
    assert "Traceback" not in text, text
    lines = [line for line in text.splitlines() if line.strip()]
    assert len(lines) == 1, f"expected one line of error, got {len(lines)}:\n{text}"
    assert lines[0].startswith("error: "), lines[0]
    return lines[0]


@pytest.fixture
def error_line() -> Callable[[Any], str]:
    """``error_line(result)``: the one ``error: ...`` line a failed CLI run printed."""
    return _single_error_line
