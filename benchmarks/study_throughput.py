"""Samples per hour of a study on each executor, and each executor's overhead per sample (not a
test).

Runs ``examples/study_smoke.yaml`` (8 samples) three times into fresh folders: one local process,
two local worker processes, and a Dask LocalCluster of two workers; then a model that does no
work (the Ishigami function) 400 times through the same three, whose wall time per sample is the
executor's and the store's overhead. Every run includes starting its workers and loading the
cached kernels in each.

Run:  python benchmarks/study_throughput.py [--study examples/study_smoke.yaml] [--samples N]
      [--n 400]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

EXECUTORS = (("1 process", 1, "processes"), ("2 processes", 2, "processes"), ("Dask 2", 2, "dask"))


def main() -> None:
    from _study_models import ishigami, ishigami_study
    from tissuefate.study.sweep import check_study, run_checked, run_study

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--study", default=str(ROOT / "examples" / "study_smoke.yaml"))
    parser.add_argument("--samples", type=int, help="Override the study's design size.")
    parser.add_argument("--n", type=int, default=400)
    args = parser.parse_args()
    checked = check_study(args.study)
    if args.samples:
        design = checked.study.design.model_copy(update={"samples": args.samples})
        checked = replace(checked, study=checked.study.model_copy(update={"design": design}))
    n = checked.study.design.samples
    walls = {}
    print(f"{Path(args.study).name}: {n} samples")
    for label, workers, executor in EXECUTORS:
        with tempfile.TemporaryDirectory() as tmp:
            start = time.perf_counter()
            run_checked(checked, Path(tmp) / "s", workers=workers, executor=executor)
            walls[label] = time.perf_counter() - start
        per_hour = 3600 * n / walls[label]
        eff = walls["1 process"] / (workers * walls[label])
        print(
            f"  {label:>12}: {walls[label]:6.1f} s, {per_hour:7.0f} samples/h, efficiency {eff:.2f}"
        )
    study = ishigami_study("latin_hypercube", args.n)
    print(f"a model without work (Ishigami), {args.n} samples")
    for label, workers, executor in EXECUTORS:
        with tempfile.TemporaryDirectory() as tmp:
            start = time.perf_counter()
            run_study(study, ishigami, Path(tmp) / "s", ["f/y"], workers=workers, executor=executor)
            wall = time.perf_counter() - start
        print(f"  {label:>12}: {wall:6.2f} s, {1e3 * wall / args.n:6.2f} ms per sample")


if __name__ == "__main__":
    main()
