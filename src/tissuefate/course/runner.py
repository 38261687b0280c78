"""Run several strategies at once, each in its own worker process, each writing its own folder.

Each worker loads its scenario file, simulates one strategy (checkpointing into
``FOLDER/checkpoints``), writes the strategy's output folder and returns its summary. Progress
comes back through a queue as ``(key, fraction, text)``. Workers are started with ``spawn`` (a
forked numba thread pool is not safe) and share the machine's cores: each gets
``cores // jobs`` threads for the parallel kernels. With one job everything runs in this process.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_EXCEPTION, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from queue import Empty
from typing import Any

from ..io.output import CHECKPOINTS, write_result
from ..kernels._jit import set_num_threads
from ..scenario.io import load_scenario
from .controller import simulate

__all__ = ["Job", "default_jobs", "run_jobs"]

OnProgress = Callable[[str, float, str], None]


@dataclass(frozen=True)
class Job:
    """One strategy to run: ``key`` names it in the comparison and ``output`` is its folder."""

    key: str
    path: str
    strategy: str
    output: str
    impl: str = "compiled"


def default_jobs() -> int:
    """Worker processes by default: the cores this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def _run(job: Job, report: Callable[[float, str], None]) -> dict[str, Any]:
    scenario = load_scenario(job.path)
    result = simulate(
        scenario,
        job.strategy,
        progress=report,
        impl=job.impl,
        source=job.path,
        checkpoints=Path(job.output) / CHECKPOINTS,
    )
    outs = scenario.outputs
    write_result(result, job.output, figures=outs.figures, report=outs.report)
    return result.summary


def _work(job: Job, queue: Any, threads: int) -> dict[str, Any]:
    """The worker: one strategy, progress into ``queue`` (at most every 0.5 % or new text)."""
    set_num_threads(threads)
    last = [-1.0, ""]

    def report(fraction: float, text: str) -> None:
        head = text.split(",", maxsplit=1)[0]
        if fraction - last[0] >= 0.005 or head != last[1] or fraction >= 1.0:
            last[0], last[1] = fraction, head
            queue.put((job.key, fraction, text))

    return _run(job, report)


def run_jobs(
    jobs: Sequence[Job], workers: int, on_progress: OnProgress | None = None
) -> dict[str, dict[str, Any]]:
    """Run ``jobs`` in ``workers`` processes; their summaries by key, in the order of ``jobs``.

    The first failure stops the others and is raised again here.
    """
    report = on_progress or (lambda key, fraction, text: None)
    workers = max(1, min(workers, len(jobs)))
    if workers == 1:
        return {job.key: _run(job, lambda f, t, k=job.key: report(k, f, t)) for job in jobs}
    threads = max(1, default_jobs() // workers)
    context = multiprocessing.get_context("spawn")
    summaries: dict[str, dict[str, Any]] = {}
    with context.Manager() as manager:
        queue = manager.Queue()
        with ProcessPoolExecutor(workers, mp_context=context) as pool:
            futures: dict[Future[dict[str, Any]], str] = {
                pool.submit(_work, job, queue, threads): job.key for job in jobs
            }
            pending = set(futures)
            try:
                while pending:
                    done, pending = wait(pending, timeout=0.2, return_when=FIRST_EXCEPTION)
                    _drain(queue, report)
                    for future in done:
                        summaries[futures[future]] = future.result()
            except BaseException:
                for future in pending:
                    future.cancel()
                raise
            _drain(queue, report)
    return {job.key: summaries[job.key] for job in jobs}


def _drain(queue: Any, report: OnProgress) -> None:
    while True:
        try:
            key, fraction, text = queue.get_nowait()
        except Empty:
            return
        report(key, fraction, text)
