"""Running a study: each sample's scenario built and simulated, on local processes or a Dask
cluster, every finished sample stored as it arrives.

A *model* maps one sample's parameter values (in their distributions' units) and seed to its
outputs (``{column: number}``). :class:`ScenarioModel` is the model of a study file: it writes the
values into the base scenario at their key paths, simulates each strategy and reads the outputs
from the summaries. Any picklable callable of the same shape runs through the same pipeline (the
tests run the Ishigami function).

Executors: ``processes`` (local worker processes, the default), ``dask`` (a Dask
``LocalCluster`` of ``workers`` processes, or the cluster at ``scheduler``). Every worker runs its
kernels on cores / workers threads, so the parallel kernels never oversubscribe the machine.
Samples are independent: a result depends on its sample id and the study seed only.
"""

from __future__ import annotations

import copy
import math
import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from ..errors import ScenarioError
from .design import Plan, sample_seed
from .spec import Distribution, Study, event, get_key, set_key
from .store import finished, write_sample

__all__ = ["EXECUTORS", "Model", "ScenarioModel", "column", "run_samples"]

EXECUTORS = ("processes", "dask")

OnSample = Callable[[int, int, dict[str, Any]], None]
"""Called in the main process after each stored sample with (done, total, row)."""


class Model(Protocol):
    """One sample's outputs from its parameter values and seed."""

    def __call__(self, values: Mapping[str, float], seed: int) -> dict[str, float | bool]: ...


def column(strategy: str, output: str) -> str:
    """The store's column of ``output`` under ``strategy``."""
    return f"{strategy}/{output}"


@dataclass(frozen=True)
class ScenarioModel:
    """The model of a study file: the base scenario with a sample's values written in."""

    base: dict[str, Any]
    parameters: dict[str, Distribution]
    strategies: tuple[str, ...]
    outputs: tuple[str, ...]
    source: str = "<study>"
    impl: str = "compiled"
    overrides: dict[str, Any] = field(default_factory=dict)
    """Extra key paths set in every sample (e.g. ``outputs.figures: false``)."""

    @classmethod
    def of(cls, study: Study, base: dict[str, Any], source: str = "<study>") -> ScenarioModel:
        """The model of ``study`` on its base scenario mapping."""
        names = tuple(study.strategies or base["strategies"])
        return cls(
            base,
            dict(study.parameters),
            names,
            tuple(study.outputs),
            source,
            overrides={"outputs.figures": False, "outputs.report": False},
        )

    def scenario(self, values: Mapping[str, float], seed: int) -> Any:
        """The validated scenario of one sample."""
        from ..scenario.io import loads_scenario
        from .spec import dump_base

        data = copy.deepcopy(self.base)
        data["seed"] = seed
        for path, value in self.overrides.items():
            set_key(data, path, value)
        for path, value in values.items():
            written = self.parameters[path].format(value)
            if isinstance(written, float) and not isinstance(get_key(data, path), int | float):
                written = repr(written)  # a plain number where the base has text or nothing
            set_key(data, path, written)  # (overrides such as agent_parameters take text)
        # keep only the strategies the study compares
        data["strategies"] = {k: v for k, v in data["strategies"].items() if k in self.strategies}
        return loads_scenario(dump_base(data), source=self.source)

    def check(self, values: Mapping[str, float]) -> None:
        """Build one sample and every strategy's inputs, without simulating (bad key paths,
        wrong units, unknown parameter names surface here, before any work)."""
        from ..course.prepare import prepare

        scenario = self.scenario(values, 0)
        for name in self.strategies:
            prepare(scenario, name, impl=self.impl, source=self.source)

    def __call__(self, values: Mapping[str, float], seed: int) -> dict[str, float | bool]:
        from ..course.controller import simulate

        scenario = self.scenario(values, seed)
        row: dict[str, float | bool] = {}
        for name in self.strategies:
            summary = simulate(scenario, name, impl=self.impl, source=self.source).summary
            for key in self.outputs:
                row[column(name, key)] = _number(summary, key)
        return row


_MISSING = object()


def _number(summary: Mapping[str, Any], key: str) -> float | bool:
    """A summary value as a number; an event (a boolean such as ``outcome.tumor_free``) stays a
    boolean, and a null value (e.g. a day that never came) is NaN. An event written on a value
    (``outcome.days_to_no_visible_tumor <= 30``) is that comparison, false where the value is
    null (the day never came)."""
    found = event(key)
    if found is not None:
        value = _number(summary, found[0])
        return bool(not math.isnan(value) and found[1](float(value), found[2]))
    node = get_key(summary, key, _MISSING)
    if node is _MISSING:
        raise ScenarioError(f"the summary has no {key!r}", key="outputs")
    if node is None:
        return math.nan
    if isinstance(node, bool):
        return node
    if isinstance(node, int | float):
        return float(node)
    raise ScenarioError(f"{key!r} is not a number but {type(node).__name__}", key="outputs")


def _one(model: Model, sample_id: int, values: dict[str, float], seed: int) -> dict[str, Any]:
    """One sample's row; a failure is recorded with its one-line reason, never raised."""
    row: dict[str, Any] = {"sample_id": sample_id, "seed": seed, **values}
    start = time.perf_counter()
    try:
        row.update(model(values, seed))
        row["status"], row["error"] = "ok", ""
    except Exception as exc:  # recorded in the store; the other samples go on
        text = exc.one_line() if isinstance(exc, ScenarioError) else f"{type(exc).__name__}: {exc}"
        row["status"], row["error"] = "failed", " ".join(text.split())
    row["wall_s"] = time.perf_counter() - start
    return row


def _worker_one(
    model: Model, sample_id: int, values: dict[str, float], seed: int, threads: int
) -> dict[str, Any]:
    from ..kernels._jit import set_num_threads

    set_num_threads(threads)
    return _one(model, sample_id, values, seed)


def run_samples(
    model: Model,
    plan: Plan,
    study_seed: int,
    folder: str | os.PathLike[str],
    *,
    workers: int = 1,
    executor: str = "processes",
    scheduler: str | None = None,
    on_sample: OnSample | None = None,
) -> list[int]:
    """Run every sample of ``plan`` not yet stored in ``folder`` and store each as it finishes;
    returns the ids run now.

    ``workers`` processes (``processes``, or a Dask ``LocalCluster`` for ``dask``), or the Dask
    cluster at ``scheduler``; each runs its kernels on cores / workers threads.
    """
    done = finished(folder)
    todo = [i for i in range(plan.size) if i not in done]
    tasks = [
        (
            i,
            dict(zip(plan.names, map(float, plan.values[i]), strict=True)),
            sample_seed(study_seed, i),
        )
        for i in todo
    ]
    report = on_sample or (lambda n, total, row: None)
    count = [len(done)]

    def store(row: dict[str, Any]) -> None:
        write_sample(folder, row)
        count[0] += 1
        report(count[0], plan.size, row)

    if executor == "dask" or scheduler is not None:
        _run_dask(model, tasks, workers, scheduler, store)
    elif workers <= 1:
        for i, values, seed in tasks:
            store(_one(model, i, values, seed))
    else:
        _run_processes(model, tasks, workers, store)
    return todo


def _threads(workers: int) -> int:
    from ..course.runner import default_jobs

    return max(1, default_jobs() // max(1, workers))


def _run_processes(
    model: Model,
    tasks: Sequence[tuple[int, dict[str, float], int]],
    workers: int,
    store: Callable[[dict[str, Any]], None],
) -> None:
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    threads = _threads(workers)
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(workers, mp_context=context) as pool:
        futures = [pool.submit(_worker_one, model, i, v, s, threads) for i, v, s in tasks]
        try:
            for future in as_completed(futures):
                store(future.result())
        except BaseException:
            for future in futures:
                future.cancel()
            raise


def _run_dask(
    model: Model,
    tasks: Sequence[tuple[int, dict[str, float], int]],
    workers: int,
    scheduler: str | None,
    store: Callable[[dict[str, Any]], None],
) -> None:
    from distributed import Client, LocalCluster, as_completed

    if scheduler is None:
        cluster = LocalCluster(
            n_workers=max(1, workers),
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            silence_logs=40,
        )
        client = Client(cluster)
        threads = _threads(workers)
    else:
        cluster = None
        client = Client(scheduler)
        cores = sum(client.ncores().values()) or 1
        threads = max(1, cores // max(1, len(client.ncores())))
    try:
        futures = [
            client.submit(_worker_one, model, i, v, s, threads, key=f"sample-{i}", pure=False)
            for i, v, s in tasks
        ]
        for future in as_completed(futures):
            store(future.result())
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
