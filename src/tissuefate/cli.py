"""The command line: ``tissuefate run | compare | validate | bench | demo``.

The CLI only dispatches. User errors (:class:`~tissuefate.errors.ScenarioError`) become one line on
stderr and exit code 2, before any output folder is written; numerical failures exit with 1.

Each command imports what it runs when it runs, so that ``--help`` and an error in a scenario file
answer before numba, SciPy and the kernels are loaded.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import sys
from importlib import resources
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.text import Text

from ._notice import RESEARCH_USE
from ._version import __version__
from .errors import NumericalError, ScenarioError

# BLAS on one thread, unless the environment says otherwise, set before numpy loads OpenBLAS (the
# worker processes of compare inherit it): tissuefate's BLAS calls are small, and OpenBLAS's idle
# threads spin on the cores the kernels' threads need (docs/performance.md, "Courses: where the
# demo's time went").
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

__all__ = ["app", "main"]

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help=f"tissuefate {__version__}: local tumour treatment over a course of care. {RESEARCH_USE}",
)
err = Console(stderr=True, highlight=False)
out = Console(highlight=False)


def _version(value: bool) -> None:
    if value:
        out.print(f"tissuefate {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """tissuefate: local tumour treatment over a course of care."""


def _fail(exc: Exception, code: int) -> None:
    message = exc.one_line() if isinstance(exc, ScenarioError) else str(exc)
    err.print(Text.assemble(("error:", "bold red"), " ", message), soft_wrap=True)
    raise typer.Exit(code)


def _progress(enabled: bool) -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.percentage:>3.0f}%"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        TextColumn("{task.fields[status]}"),
        console=err,
        disable=not enabled,
        transient=False,
    )


COMPILING = "compiling the kernels (first run only, about half a minute)"


def _first_status() -> str:
    """What a progress line says before the first step: that the kernels are being compiled,
    on the first run after installing or editing them."""
    from .kernels._jit import has_compiled

    return "" if has_compiled() else COMPILING


class _Bar:
    """A rich progress bar fed by the simulator's progress callback."""

    def __init__(self, label: str, enabled: bool) -> None:
        self.progress = _progress(enabled)
        self.task = self.progress.add_task(label, total=1.0, status=_first_status())

    def __enter__(self) -> _Bar:
        self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.stop()

    def __call__(self, fraction: float, status: str) -> None:
        self.progress.update(self.task, completed=fraction, status=status)


class _Bars:
    """One progress line per strategy, fed with ``(key, fraction, text)``."""

    def __init__(self, keys: list[str], enabled: bool) -> None:
        self.progress = _progress(enabled)
        first = _first_status()
        self.tasks = {key: self.progress.add_task(key, total=1.0, status=first) for key in keys}

    def __enter__(self) -> _Bars:
        self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.stop()

    def __call__(self, key: str, fraction: float, status: str) -> None:
        self.progress.update(self.tasks[key], completed=fraction, status=status)


def _run_one(
    scenario_path: Path,
    output: Path,
    strategy: str | None,
    quiet: bool,
    impl: str,
    *,
    resume: bool = False,
    start_from: Path | None = None,
    overwrite: bool = False,
) -> dict:
    from .scenario.io import load_scenario

    scenario = load_scenario(scenario_path)
    from .course.prepare import prepare

    prepared = prepare(scenario, strategy, impl=impl, source=str(scenario_path))
    from .course.controller import CHECKPOINTS, simulate  # the kernels, once the input is good
    from .io.output import check_output_dir, make_checkpoint_dir, write_result

    check_output_dir(output, scenario=scenario.name, overwrite=overwrite or resume)
    existed = output.exists()
    checkpoints = output / CHECKPOINTS if resume else make_checkpoint_dir(output)
    try:
        with _Bar(f"{scenario.name} / {prepared.strategy}", enabled=not quiet) as bar:
            result = simulate(
                scenario,
                prepared.strategy,
                progress=bar,
                impl=impl,
                source=str(scenario_path),
                checkpoints=checkpoints,
                resume=resume,
                start_from=start_from,
                prepared=prepared,
            )
    except ScenarioError:  # refused before any work (a checkpoint that does not fit)
        if not existed:
            shutil.rmtree(output, ignore_errors=True)
        raise
    outs = scenario.outputs
    write_result(result, output, figures=outs.figures, report=outs.report)
    return result.summary


def _session_line(s: dict) -> str:
    """One line of what a session did, in the terms of its modality."""
    zone = s["ablation_zone"]
    kill = s["tumor_kill_fraction"]
    margin = s["min_margin_mm"]
    parts = [f"session {s['index']} (day {s['day']:g}, {s['modality']})"]
    inj = s.get("injection")
    if inj is not None:
        agent = s.get("agent", {}).get("name", "agent")
        parts.append(
            f"{agent} {inj['injected_volume_ml']:.2f} mL, leaked {inj['leaked_volume_ml']:.2f} mL, "
            f"distribution {inj['distribution_volume_ml']:.2f} mL, kill zone "
            f"{zone['volume_ml']:.2f} mL, systemic {s['systemic_dose']['amount_mmol']:.3g} mmol"
        )
    else:
        peak = (
            f"lowest {s['min_temperature_c']:.1f} °C"
            if s["modality"] == "cryo"
            else f"peak {s['peak_temperature_c']:.1f} °C"
        )
        parts.append(
            f"{peak}, zone {zone['volume_ml']:.2f} mL "
            f"({zone['long_axis_mm']:.1f} x {zone['short_axis_mm']:.1f} mm)"
        )
        coag = s.get("coagulation_zone")
        if coag is not None:
            parts.append(
                f"coagulated {coag['volume_ml']:.2f} mL "
                f"({coag['long_axis_mm']:.1f} x {coag['short_axis_mm']:.1f} mm)"
            )
    if kill is not None:
        parts.append(f"tumour kill {kill:.3f}")
    if margin is not None and math.isfinite(margin):
        parts.append(f"min margin {margin:.1f} mm")
    parts.append(f"normal necrosis {s['normal_necrosis_ml']:.2f} mL")
    treat = s.get("treatability")
    if treat is not None and treat.get("kill_ratio") is not None:
        parts.append(f"treatability {treat['kill_ratio']:.2f}")
    return ", ".join(parts)


def _print_summary(summary: dict, output: Path) -> None:
    for s in summary["sessions"]:
        out.print(_session_line(s))
    o = summary["outcome"]
    clear = o["days_to_no_visible_tumor"]
    out.print(
        f"outcome at day {o['days']:g}: viable tumour {o['viable_tumor_ml']:.2f} mL, visible "
        f"{o['visible_tumor_ml']:.2f} mL"
        + (f" (none visible from day {clear:g})" if clear is not None else "")
        + f", scar {o['scar_ml']:.2f} mL, normal tissue lost {o['normal_lost_ml']:.2f} mL, "
        f"{o['sessions_used']} session(s), stopped: {o['stop_reason'].replace('_', ' ')}"
        + (
            f", local progression on day {o['local_progression_day']:g}"
            if o["local_progression_day"] is not None
            else ""
        )
    )
    for note in summary.get("notes", []):
        out.print(f"[yellow]note:[/] {note}")
    out.print(f"outputs in {output}/ (summary.json, timeseries.csv, fields.zarr, report.html)")
    out.print(f"[dim]{RESEARCH_USE}[/]")


Impl = Annotated[str, typer.Option(help="Kernels: 'compiled' (numba) or 'numpy' (reference).")]


@app.command()
def run(
    scenario: Annotated[Path, typer.Argument(help="Scenario YAML file.")],
    output: Annotated[Path, typer.Option("-o", "--output", help="Output folder.")],
    strategy: Annotated[str | None, typer.Option(help="Strategy to run (if several).")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
    impl: Impl = "compiled",
    resume: Annotated[
        bool, typer.Option("--resume", help="Continue a killed run from its last checkpoint.")
    ] = False,
    start_from: Annotated[
        Path | None,
        typer.Option(
            "--from",
            help="Branch from a checkpoint (DIR/checkpoints/NAME) of another run of the same "
            "anatomy: keep its history and go on with --strategy.",
        ),
    ] = None,
    overwrite: Annotated[
        bool, typer.Option("--overwrite", help="Replace an output folder of another scenario.")
    ] = False,
) -> None:
    """Simulate one strategy of SCENARIO and write its outputs to a folder."""
    try:
        summary = _run_one(
            scenario,
            output,
            strategy,
            quiet,
            impl,
            resume=resume,
            start_from=start_from,
            overwrite=overwrite,
        )
    except ScenarioError as exc:
        _fail(exc, 2)
    except NumericalError as exc:
        _fail(exc, 1)
    _print_summary(summary, output)


@app.command()
def compare(
    scenarios: Annotated[list[Path], typer.Argument(help="Scenario YAML files.")],
    output: Annotated[Path, typer.Option("-o", "--output", help="Output folder.")],
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
    impl: Impl = "compiled",
    jobs: Annotated[
        int | None,
        typer.Option("--jobs", "-j", min=1, help="Worker processes (default: the cores)."),
    ] = None,
) -> None:
    """Run every strategy of each SCENARIO side by side: DIR/comparison.json, comparison.csv,
    report.html and one folder per strategy."""
    try:
        summaries = _compare(scenarios, output, quiet, impl, jobs)
    except ScenarioError as exc:
        _fail(exc, 2)
    except NumericalError as exc:
        _fail(exc, 1)
    for key, summ in summaries.items():
        out.print(f"[bold]{key}[/]")
        _print_summary(summ, output / key)


def _compare(
    scenarios: list[Path], output: Path, quiet: bool, impl: str, jobs: int | None
) -> dict[str, dict]:
    from .scenario.io import load_scenario

    loaded = [(p, load_scenario(p)) for p in scenarios]
    from .course.prepare import prepare

    keys: dict[str, tuple[Path, str]] = {}
    for path, sc in loaded:
        for name in sc.strategies:
            prepare(sc, name, impl=impl, source=str(path))
            key = name if len(loaded) == 1 else f"{sc.name}-{name}"
            if key in keys:
                raise ScenarioError(
                    f"two strategies would both be called {key!r}", source=str(path)
                )
            keys[key] = (path, name)
    from .course.runner import Job, default_jobs, run_jobs  # the kernels, once the input is good
    from .io.jsonio import write_json
    from .io.output import check_output_dir, make_checkpoint_dir

    runs = [Job(k, str(p), name, str(output / k), impl) for k, (p, name) in keys.items()]
    check_output_dir(output)
    for job in runs:
        check_output_dir(job.output)
    for job in runs:
        make_checkpoint_dir(job.output)
    with _Bars([job.key for job in runs], enabled=not quiet) as bars:
        summaries = run_jobs(runs, jobs or default_jobs(), bars)
    write_json(output / "comparison.json", {"strategies": summaries})
    from .report.comparison import write_comparison  # matplotlib only when it draws

    write_comparison(output, list(summaries))
    return summaries


@app.command()
def demo(
    output: Annotated[Path, typer.Option("-o", "--output", help="Output folder.")] = Path(
        "demo-out"
    ),
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars.")] = False,
    jobs: Annotated[
        int | None,
        typer.Option("--jobs", "-j", min=1, help="Worker processes (default: the cores)."),
    ] = None,
) -> None:
    """Run the flagship comparison (examples/course_demo.yaml): a 3 cm liver tumour with a
    satellite, treated by margin-based microwave ablation or by repeated injections of chlorine
    dioxide (as the founding essay has it, and as the measured chemistry has it) or ethanol."""
    name = "course_demo.yaml"
    with resources.as_file(resources.files("tissuefate") / "examples" / name) as path:
        try:
            summaries = _compare([path], output, quiet, "compiled", jobs)
        except ScenarioError as exc:
            _fail(exc, 2)
        except NumericalError as exc:
            _fail(exc, 1)
    _print_comparison(output, list(summaries))


_COMPARISON_ROWS = (
    ("days_to_no_visible_tumor", "days to no visible tumour", "{:g}"),
    ("viable_tumor_ml_30d", "viable tumour at 30 d (mL)", "{:.2f}"),
    ("visible_tumor_ml_30d", "visible tumour at 30 d (mL)", "{:.2f}"),
    ("viable_tumor_ml_180d", "viable tumour at 180 d (mL)", "{:.2f}"),
    ("visible_tumor_ml_180d", "visible tumour at 180 d (mL)", "{:.2f}"),
    ("viable_tumor_ml", "viable tumour at the end (mL)", "{:.2f}"),
    ("scar_ml", "scar (mL)", "{:.2f}"),
    ("lesion_ml", "lesion: dead + fibrous (mL)", "{:.2f}"),
    ("normal_lost_ml", "normal tissue lost (mL)", "{:.2f}"),
    ("sessions_used", "sessions", "{:g}"),
    ("systemic_dose_mmol", "systemic agent (mmol)", "{:.3g}"),
    ("min_treatability", "lowest treatability: kill", "{:.2f}"),
    ("min_zone_ratio", "lowest treatability: zone", "{:.2f}"),
    ("local_progression_day", "local progression (day)", "{:g}"),
    ("stop_reason", "why it stopped", "{}"),
)


def _print_comparison(output: Path, names: list[str]) -> None:
    """The comparison table on the terminal, one column per strategy."""
    import pandas as pd
    from rich.table import Table

    frame = pd.read_csv(output / "comparison.csv").set_index("strategy")
    table = Table(title="tissuefate comparison (model results under stated assumptions)")
    table.add_column("")
    for name in names:
        table.add_column(name, justify="right")
    for key, label, fmt in _COMPARISON_ROWS:
        if key not in frame.columns:
            continue
        cells = []
        for name in names:
            value = frame.loc[name, key]
            cells.append("-" if pd.isna(value) else fmt.format(value).replace("_", " "))
        table.add_row(label, *cells)
    (out if out.is_terminal else Console(highlight=False, width=160)).print(table)
    out.print(f"report: {output / 'report.html'}; one folder per strategy in {output}/")
    out.print(f"[dim]{RESEARCH_USE}[/]")


@app.command()
def validate(
    quick: Annotated[
        bool,
        typer.Option(
            help="Only the exact solutions, conservation laws and consistency checks (about "
            "30 s); the rows against published data need the full run (about 15 minutes)."
        ),
    ] = False,
    only: Annotated[
        list[str] | None,
        typer.Option(
            help="Run only this case or group (repeatable): 'calibration' runs the published "
            "zone sizes (microwave, radiofrequency, cryo) and heat-sink experiments as "
            "scenarios; a case name, e.g. 'microwave' or 'vessel_flow'."
        ),
    ] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print the table as JSON.")] = False,
) -> None:
    """Compare simulated with exact, fitted and published values (docs/validation.md); exit 1
    if any fails. Each row says what its comparison is worth (kind: exact, consistency, fitted,
    predicted, judged, reported)."""
    from .validation import run_validation
    from .validation.cases import CASES, GROUPS, QUICK_CASES, resolve_cases

    if only:
        if quick:
            _fail(ValueError("--quick and --only choose the cases two ways: give one of them"), 2)
        try:
            resolve_cases(only)
        except KeyError as exc:
            known = ", ".join([*GROUPS, *CASES])
            _fail(ValueError(f"--only {exc.args[0]}: no such case or group; known: {known}"), 2)
    rows = run_validation(quick=quick, cases=only)
    if json_out:
        print(json.dumps([r.as_dict() for r in rows], indent=2))
    else:
        from rich.table import Table

        table = Table(title="tissuefate validate: simulated vs exact")
        columns = ("case", "kind", "quantity", "simulated", "exact", "error", "tolerance", "ok")
        for col in columns:
            table.add_column(col, justify="left" if col in columns[:3] else "right")
        for r in rows:
            judged = math.isfinite(r.tolerance)
            table.add_row(
                r.case,
                r.kind,
                r.quantity,
                f"{r.simulated:.6g}",
                f"{r.exact:.6g}",
                f"{r.error:.2e}",
                f"{r.tolerance:.1e}" if judged else "reported",
                ("[green]yes[/]" if r.ok else "[bold red]NO[/]") if judged else "-",
            )
        # a table is read whole: do not squeeze it into 80 columns when output is not a terminal
        (out if out.is_terminal else Console(highlight=False, width=180)).print(table)
        if quick:
            left = ", ".join(name for name in CASES if name not in QUICK_CASES)
            out.print(f"not run with --quick (the rows against published data): {left}")
    if not all(r.ok for r in rows):
        raise typer.Exit(1)


@app.command()
def sweep(
    study: Annotated[Path, typer.Argument(help="Study YAML file.")],
    output: Annotated[Path, typer.Option("-o", "--output", help="Output folder.")],
    workers: Annotated[
        int | None,
        typer.Option("--workers", "-j", min=1, help="Local worker processes (default: the cores)."),
    ] = None,
    dask_local: Annotated[
        int | None,
        typer.Option("--dask-local", min=1, help="Run on a Dask LocalCluster of N workers."),
    ] = None,
    scheduler: Annotated[
        str | None,
        typer.Option("--scheduler", help="Run on the Dask cluster at ADDRESS (tcp://host:port)."),
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
    impl: Impl = "compiled",
) -> None:
    """Run a parameter study: every sample of STUDY's design into DIR/samples/ (Parquet, one file
    per sample; run again to resume), then DIR/analysis.json (indices, event probabilities)."""
    if dask_local is not None and scheduler is not None:
        _fail(ScenarioError("give --dask-local or --scheduler, not both"), 2)
    try:
        _check_study_extra()
        analysis = _sweep(study, output, workers, dask_local, scheduler, quiet, impl)
    except ScenarioError as exc:
        _fail(exc, 2)
    _print_analysis(analysis, output)


def _check_study_extra() -> None:
    import importlib.util

    missing = [m for m in ("SALib", "duckdb", "pyarrow") if importlib.util.find_spec(m) is None]
    if missing:
        raise ScenarioError(
            f"studies need the [study] extra ({', '.join(missing)} missing): "
            "pip install 'tissuefate[study]'"
        )


def _sweep(
    study: Path,
    output: Path,
    workers: int | None,
    dask_local: int | None,
    scheduler: str | None,
    quiet: bool,
    impl: str,
) -> dict:
    from .study.sweep import check_study, run_checked

    checked = check_study(study, impl)  # every input, before the bar and any work
    bar = _progress(not quiet)
    task = bar.add_task(f"study {study.name}", total=None, status=_first_status())

    def on_sample(done: int, total: int, row: dict) -> None:
        failed = "" if row["status"] == "ok" else f"; sample {row['sample_id']} failed"
        bar.update(task, completed=done, total=total, status=f"{done}/{total} samples{failed}")

    if dask_local is not None:
        executor, n = "dask", dask_local
    elif scheduler is not None:
        executor, n = "dask", 1
    else:
        from .course.runner import default_jobs

        executor, n = "processes", workers or default_jobs()
    with bar:
        return run_checked(
            checked,
            output,
            workers=n,
            executor=executor,
            scheduler=scheduler,
            on_sample=on_sample,
        )


def _print_analysis(analysis: dict, output: Path) -> None:
    """What the study found, output by output, on the terminal."""
    from rich.table import Table

    done, failed = analysis["finished"], analysis["failed"]
    out.print(
        f"{analysis['study']}: {done} of {analysis['samples']} samples stored"
        + (f", {failed} failed (see the store's error column)" if failed else "")
    )
    table = Table(title=f"outputs ({analysis['method']} design)")
    for name in ("output", "n", "mean", "5 %", "median", "95 %", "event probability (95 % CI)"):
        table.add_column(name, justify="left" if name == "output" else "right")
    for key, entry in analysis["outputs"].items():
        event = entry.get("event")
        cells = [f"{entry[k]:.4g}" if k in entry else "-" for k in ("mean", "p05", "p50", "p95")]
        prob = (
            f"{event['probability']:.2f} ({event['low']:.2f}-{event['high']:.2f})" if event else ""
        )
        table.add_row(key, str(entry["n"]), *cells, prob)
    (out if out.is_terminal else Console(highlight=False, width=160)).print(table)
    out.print(
        f'store: {output / "samples"}/ (query it: tissuefate query {output} "SELECT ... FROM '
        f'samples"); analysis: {output / "analysis.json"}'
    )
    out.print(f"[dim]{RESEARCH_USE}[/]")


@app.command()
def export(
    folder: Annotated[Path, typer.Argument(help="An output folder of run, compare or demo.")],
    output: Annotated[
        Path | None,
        typer.Option(
            "-o", "--output", help="Where to write (default: FOLDER/export, per strategy)."
        ),
    ] = None,
    formats: Annotated[
        str, typer.Option("--formats", help="Comma separated: nifti, vti, meshes.")
    ] = "nifti,vti,meshes",
    fields: Annotated[
        str | None,
        typer.Option("--fields", help="Comma separated field names (default: all)."),
    ] = None,
    space: Annotated[
        str,
        typer.Option(
            "--space",
            help="NIfTI on the simulation grid ('grid') or on the source image's voxels "
            "('source', for an anatomy from an image).",
        ),
    ] = "grid",
) -> None:
    """Export an output's fields for 3D Slicer and ParaView: NIfTI volumes (in the source image's
    scanner coordinates when the anatomy came from an image), VTK image data (.vti, with a .pvd
    time series) and surface meshes of the tumour, ablation zones, scar, vessels and organ. A
    comparison's folder exports each strategy's (into its own folder, or OUTPUT/STRATEGY)."""
    try:
        runs = _run_folders(folder)
        exported = [
            _export(
                run,
                None if output is None else output if run == folder else output / run.name,
                formats,
                fields,
                space,
            )
            for run in runs
        ]
    except ScenarioError as exc:
        _fail(exc, 2)
    for done in exported:
        out.print(f"wrote {len(done.files)} files to {done.folder}/")


def _run_folders(folder: Path) -> list[Path]:
    """``folder`` when it is a run's output, else its sub-folders that are (a comparison's)."""
    if (folder / "fields.zarr").is_dir():
        return [folder]
    runs = sorted(p for p in folder.glob("*") if (p / "fields.zarr").is_dir())
    if not runs:
        raise ScenarioError(
            "is not an output folder of tissuefate run or compare (no fields.zarr in it or its "
            "sub-folders)",
            source=str(folder),
        )
    return runs


def _export(folder: Path, output: Path | None, formats: str, fields: str | None, space: str) -> Any:
    from .io.export import ExportError, export_fields
    from .io.fields import open_fields

    ds = open_fields(folder / "fields.zarr")
    target = output if output is not None else folder / "export"
    try:
        return export_fields(
            ds,
            target,
            formats=[f.strip() for f in formats.split(",") if f.strip()],
            fields=None if fields is None else [f.strip() for f in fields.split(",") if f.strip()],
            space=space,
        )
    except ExportError as exc:
        raise ScenarioError(str(exc), source=str(folder), key=f"--{exc.option}") from None
    except OSError as exc:
        raise ScenarioError(
            f"cannot write it ({exc.strerror or exc})", source=str(target)
        ) from None


@app.command()
def query(
    folder: Annotated[Path, typer.Argument(help="A sweep's output folder.")],
    sql: Annotated[str, typer.Argument(help="SQL over the table 'samples' (DuckDB).")],
    csv: Annotated[bool, typer.Option("--csv", help="Print CSV instead of a table.")] = False,
) -> None:
    """Run SQL over a study's store with DuckDB; the store is the table 'samples' (one row per
    sample: sample_id, seed, status, error, wall_s, the parameters, STRATEGY/OUTPUT columns)."""
    try:
        _check_study_extra()
        if not (folder / "study.yaml").is_file():
            raise ScenarioError(
                "is not a sweep's output folder (no study.yaml)", source=str(folder)
            )
        import duckdb

        from .study.store import query as run_query

        try:
            frame = run_query(folder, sql)
        except duckdb.Error as exc:
            raise ScenarioError(" ".join(str(exc).split()), key="SQL") from None
    except ScenarioError as exc:
        _fail(exc, 2)
    if csv:
        out.print(frame.to_csv(index=False), end="", markup=False, highlight=False)
        return
    from rich.table import Table

    table = Table()
    for name in frame.columns:
        table.add_column(str(name), overflow="fold")
    for row in frame.itertuples(index=False):
        table.add_row(*(str(v) for v in row))
    (out if out.is_terminal else Console(highlight=False, width=200)).print(table)


@app.command()
def bench(
    json_out: Annotated[bool, typer.Option("--json", help="Print records as JSON.")] = False,
    sizes: Annotated[str, typer.Option(help="Grid edges, comma separated.")] = "64,128",
    numpy_ref: Annotated[bool, typer.Option("--numpy/--no-numpy", help="Also time NumPy.")] = True,
    sessions: Annotated[
        bool, typer.Option("--sessions/--no-sessions", help="Also time whole sessions.")
    ] = True,
    case: Annotated[
        list[str] | None,
        typer.Option(help="Run only this session or course case (repeatable), e.g. course:demo."),
    ] = None,
) -> None:
    """Measure voxel updates per second of the kernels (and whole sessions and courses)."""
    from .bench import run_benchmarks

    try:
        grid_sizes = [int(s) for s in sizes.split(",") if s.strip()]
    except ValueError:
        _fail(ScenarioError(f"not a list of integers: {sizes!r}", key="--sizes"), 2)
    records = run_benchmarks(
        grid_sizes,
        numpy=numpy_ref,
        sessions=sessions,
        log=None if json_out else out.print,
        cases=tuple(case) if case else None,
    )
    if json_out:
        print(json.dumps(records, indent=2))


def main() -> None:
    """Entry point of the ``tissuefate`` console script."""
    try:
        app()
    except KeyboardInterrupt:
        err.print("interrupted")
        sys.exit(130)


if __name__ == "__main__":
    main()
