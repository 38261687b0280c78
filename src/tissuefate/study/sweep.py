"""``tissuefate sweep``: a study file run into a folder, resumable, and analysed.

``DIR/study.yaml`` is the study with its base scenario written in (what ran), ``DIR/samples/`` the
store (:mod:`tissuefate.study.store`), ``DIR/analysis.json`` the analysis
(:mod:`tissuefate.study.analysis`) and ``DIR/report.html`` its report
(:mod:`tissuefate.report.study`), both rewritten whenever the sweep ends. Running the same study
into the same folder again runs only the samples not stored yet; a folder that holds another
study is refused.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import yaml

from ..errors import ScenarioError
from ..io.jsonio import to_jsonable
from ..report.study import write_study_report
from .analysis import analyse, posterior
from .design import plan as make_plan
from .runner import Model, OnSample, ScenarioModel, column, run_samples
from .spec import Study, dump_base, load_study
from .store import read_samples

__all__ = ["ANALYSIS_FILE", "STUDY_FILE", "run_study", "sweep"]

STUDY_FILE = "study.yaml"
ANALYSIS_FILE = "analysis.json"


@dataclass(frozen=True)
class CheckedStudy:
    """A study file checked and ready to run: the study, its model, the store's output columns
    and the text ``study.yaml`` records."""

    study: Study
    model: ScenarioModel
    outputs: list[str]
    text: str


def check_study(path: str | os.PathLike[str], impl: str = "compiled") -> CheckedStudy:
    """Read the study file at ``path`` and check every input before any work: the study's own
    keys, its base scenario, and one sample built and prepared for each strategy (bad key
    paths, wrong units and unknown parameter names name the study's key)."""
    source = os.fspath(path)
    study, base = load_study(source)
    model = replace(ScenarioModel.of(study, base, source), impl=impl)
    plan = make_plan(study.parameters, study.design, study.seed)
    first = dict(zip(plan.names, map(float, plan.values[0]), strict=True))
    try:
        model.check(first)
    except ScenarioError as exc:  # name the study's key when the problem is a parameter's
        key = f"parameters.{exc.key}" if exc.key in study.parameters else exc.key
        raise ScenarioError(exc.reason, source=source, key=key) from None
    outputs = [column(s, o) for s in model.strategies for o in study.outputs]
    try:
        _check_observations(study, outputs)
    except ScenarioError as exc:
        raise exc.with_source(source) from None
    text = dump_base({**study.model_dump(mode="json"), "base": base})
    return CheckedStudy(study, model, outputs, text)


def sweep(
    path: str | os.PathLike[str],
    output: str | os.PathLike[str],
    *,
    workers: int = 1,
    executor: str = "processes",
    scheduler: str | None = None,
    on_sample: OnSample | None = None,
    impl: str = "compiled",
) -> dict[str, Any]:
    """Run the study file at ``path`` into ``output`` and return its analysis (see the module
    docstring). Every input is checked before any sample runs (:func:`check_study`)."""
    return run_checked(
        check_study(path, impl),
        output,
        workers=workers,
        executor=executor,
        scheduler=scheduler,
        on_sample=on_sample,
    )


def run_checked(
    checked: CheckedStudy,
    output: str | os.PathLike[str],
    *,
    workers: int = 1,
    executor: str = "processes",
    scheduler: str | None = None,
    on_sample: OnSample | None = None,
) -> dict[str, Any]:
    """:func:`run_study` of a study file that :func:`check_study` passed."""
    return run_study(
        checked.study,
        checked.model,
        output,
        checked.outputs,
        text=checked.text,
        workers=workers,
        executor=executor,
        scheduler=scheduler,
        on_sample=on_sample,
    )


def run_study(
    study: Study,
    model: Model,
    output: str | os.PathLike[str],
    outputs: list[str],
    *,
    text: str | None = None,
    workers: int = 1,
    executor: str = "processes",
    scheduler: str | None = None,
    on_sample: OnSample | None = None,
) -> dict[str, Any]:
    """Run ``study`` with any ``model`` into ``output`` (resuming), analyse the store's columns
    ``outputs`` and write ``analysis.json``; ``text`` is what ``study.yaml`` records."""
    folder = Path(output)
    text = text if text is not None else dump_base(study.model_dump(mode="json"))
    _check_observations(study, outputs)
    _claim(folder, text)
    plan = make_plan(study.parameters, study.design, study.seed)
    run_samples(
        model,
        plan,
        study.seed,
        folder,
        workers=workers,
        executor=executor,
        scheduler=scheduler,
        on_sample=on_sample,
    )
    samples = read_samples(folder)
    analysis = analyse(plan, study.design, samples, outputs, seed=study.seed)
    analysis["study"] = study.name
    if study.fit is not None:
        analysis["posterior"] = posterior(plan, study.fit, samples, outputs)
    analysis = to_jsonable(analysis)  # NaN and infinities as null: strict JSON
    _write_atomic(folder / ANALYSIS_FILE, json.dumps(analysis, indent=2) + "\n")
    write_study_report(folder, yaml.safe_load(text), analysis, samples)
    return analysis


def _check_observations(study: Study, outputs: list[str]) -> None:
    """Every observation must name one of the store's output columns."""
    for i, obs in enumerate(study.fit.observations if study.fit else []):
        if obs.output not in outputs:
            raise ScenarioError(
                f"{obs.output!r} is not an output of this study; outputs: {', '.join(outputs)}",
                key=f"fit.observations[{i}].output",
            )


def _claim(folder: Path, text: str) -> None:
    """Make ``folder`` this study's, or check that it is already (resuming)."""
    target = folder / STUDY_FILE
    if folder.exists() and not folder.is_dir():
        raise ScenarioError("exists and is not a folder", source=str(folder))
    if target.exists():
        if _digest(target.read_text(encoding="utf-8")) != _digest(text):
            raise ScenarioError(
                "holds the results of another study (its study.yaml differs); use a new folder "
                "or delete this one",
                source=str(folder),
            )
        return
    if folder.exists() and any(folder.iterdir()):
        raise ScenarioError(
            "exists and is not empty; a sweep writes into a new folder or resumes its own",
            source=str(folder),
        )
    folder.mkdir(parents=True, exist_ok=True)
    _write_atomic(target, text)


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
