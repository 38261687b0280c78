"""Writing a run's output folder atomically.

Everything is first written to a hidden sibling ``.<name>.partial-<random>`` in the same parent
folder and moved into place by one rename when all of it is there, so a reader sees either the
complete new output, or the previous one, never a mixture. An existing folder is replaced only if
it is empty or a previous tissuefate output (it holds ``summary.json``, or the ``checkpoints/`` of
a run that was stopped); anything else is refused, so a mistyped ``-o`` cannot delete a user's
folder. A run writes its checkpoints into ``checkpoints/`` while it goes on; they are kept when the
outputs are moved into place.

Folder contents::

    summary.json            run summary (DESIGN.md contract)
    timeseries.csv          one row per repair step and per session end
    session_timeseries.csv  one row per state update inside each session
    scenario.yaml           the resolved scenario, to run again
    fields.zarr/            field snapshots (only if fields were kept)
    *.png                   figures (``figures=True``)
    report.html             the report (``report=True``)
    checkpoints/NNNN-day-D/ checkpoints of the course (``tissuefate run --resume`` / ``--from``)
"""

from __future__ import annotations

import logging
import os
import secrets
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from ..errors import ScenarioError
from .fields import write_fields
from .jsonio import read_json, write_json

if TYPE_CHECKING:  # result.py imports this module for Result.save
    from .result import Result

__all__ = ["CHECKPOINTS", "check_output_dir", "make_checkpoint_dir", "write_result"]

logger = logging.getLogger(__name__)

#: The file whose presence marks a folder as a tissuefate output that may be replaced.
MARKER = "summary.json"
#: The folder of a run's checkpoints: it also marks a folder as ours (a run that was killed),
#: and it is kept when the outputs are written.
CHECKPOINTS = "checkpoints"
#: The file that marks the folder of a comparison (``tissuefate compare``).
COMPARISON = "comparison.json"
_NOT_OURS = "exists and is not a tissuefate output folder; choose another -o"


def _error(reason: str, directory: str | os.PathLike[str]) -> ScenarioError:
    return ScenarioError(reason, key="-o", source=os.fspath(directory))


def _resolve(directory: str | os.PathLike[str]) -> Path:
    """The real location written to (a symbolic link to a folder writes into the folder)."""
    return Path(os.path.realpath(os.path.expanduser(os.fspath(directory))))


def _check_target(target: Path, directory: str | os.PathLike[str]) -> None:
    """Raise unless ``target`` is absent, an empty folder or a previous tissuefate output."""
    if not os.path.lexists(target):
        return
    if not target.is_dir():
        raise _error(_NOT_OURS, directory)
    try:
        with os.scandir(target) as entries:
            empty = next(entries, None) is None
    except OSError as exc:
        reason = f"cannot be read ({exc.strerror or exc}); choose another -o"
        raise _error(reason, directory) from exc
    ours = (target / MARKER).is_file() or (target / COMPARISON).is_file()
    if not (empty or ours or (target / CHECKPOINTS).is_dir()):
        raise _error(_NOT_OURS, directory)


def _scenario_of(target: Path) -> str | None:
    """Name of the scenario whose outputs (or checkpoints) ``target`` holds, if it says."""
    try:
        return str(read_json(target / MARKER)["scenario"])
    except (OSError, ValueError, KeyError, TypeError):
        pass
    for meta in sorted((target / CHECKPOINTS).glob("*/state.json"), reverse=True):
        try:
            return str(read_json(meta)["meta"]["identity"]["scenario_name"])
        except (OSError, ValueError, KeyError, TypeError):
            continue
    return None


def check_output_dir(
    directory: str | os.PathLike[str], *, scenario: str | None = None, overwrite: bool = True
) -> Path:
    """Check, before a run starts, that its outputs can be written to ``directory``.

    ``directory`` may be absent, an empty folder or a previous tissuefate output (which
    :func:`write_result` will replace). With ``scenario`` given and ``overwrite`` False, a
    previous output of another scenario is refused (it is probably not meant to be replaced).
    Its nearest existing ancestor must be a writable folder (missing parents are created only
    when the outputs are written). Nothing is written here.
    Returns the resolved path of ``directory``.

    Raises
    ------
    ScenarioError
        With ``key="-o"`` and ``source=directory``, naming what is wrong.
    """
    target = _resolve(directory)
    if not target.name or target == target.parent:
        raise _error("is the file-system root; choose another -o", directory)
    cwd = Path.cwd().resolve()
    if target == cwd or target in cwd.parents:
        raise _error("is or contains the current folder; choose another -o", directory)
    _check_target(target, directory)
    if scenario is not None and not overwrite and target.is_dir():
        other = _scenario_of(target)
        if other is not None and other != scenario:
            raise _error(
                f"holds the outputs of scenario {other!r}, not {scenario!r}; choose another -o "
                "or add --overwrite",
                directory,
            )
    ancestor = target.parent
    while not ancestor.exists() and ancestor != ancestor.parent:
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise _error(f"cannot create the parent folder: {ancestor} is not a folder", directory)
    if not os.access(ancestor, os.W_OK | os.X_OK):
        raise _error(f"the folder {ancestor} is not writable", directory)
    return target


def make_checkpoint_dir(directory: str | os.PathLike[str]) -> Path:
    """Create ``directory/checkpoints`` before a run starts (it lives beside the outputs while
    the run goes on). Returns its path.

    Raises
    ------
    ScenarioError
        With ``key="-o"`` when the folder cannot be created (a read-only or virtual file system).
    """
    target = _resolve(directory) / CHECKPOINTS
    try:
        target.mkdir(parents=True, exist_ok=True)
        probe = target / f".probe-{secrets.token_hex(4)}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise _error(f"cannot be written ({exc.strerror or exc})", directory) from exc
    return target


def _sibling(target: Path, kind: str) -> Path:
    return target.with_name(f".{target.name}.{kind}-{secrets.token_hex(4)}")


def _make_partial(target: Path) -> Path:
    while True:
        path = _sibling(target, "partial")
        try:
            path.mkdir()  # honours the umask, unlike tempfile.mkdtemp (always 0o700)
        except FileExistsError:
            continue
        return path


def _write_table(frame: pd.DataFrame, path: Path) -> None:
    frame.to_csv(path, index=False, lineterminator="\n")


def _write_all(result: Result, folder: Path, *, figures: bool, report: bool) -> None:
    write_json(folder / "summary.json", result.summary)
    _write_table(result.timeseries, folder / "timeseries.csv")
    _write_table(result.session_timeseries, folder / "session_timeseries.csv")
    scenario = result.scenario_yaml
    (folder / "scenario.yaml").write_text(
        scenario if scenario.endswith("\n") else scenario + "\n", encoding="utf-8"
    )
    if result.fields is not None and len(result.fields.data_vars) > 0:
        write_fields(result.fields, folder / "fields.zarr")
        if result.fields.attrs.get("frame") == "scanner":  # an anatomy from an image
            from .export import export_fields  # nibabel and scikit-image, only when needed

            export_fields(result.fields, folder / "export")
    figure_files: list[str] = []
    if figures:
        # Imported here, not for a cycle (report never imports io at run time) but because
        # matplotlib and jinja2 are only needed when figures or the report are written.
        from ..report.figures import write_figures

        figure_files = write_figures(result, folder)
    if report:
        from ..report.html import render_report

        html = render_report(result, figure_files)
        (folder / "report.html").write_text(html, encoding="utf-8")


def _move_into_place(partial: Path, target: Path, directory: str | os.PathLike[str]) -> None:
    if not os.path.lexists(target):
        os.rename(partial, target)
        return
    # Check again: the folder may have been filled while the run was going on.
    _check_target(target, directory)
    backup = _sibling(target, "replaced")
    os.rename(target, backup)
    kept = backup / CHECKPOINTS
    try:
        if kept.is_dir():  # a run's checkpoints stay with its outputs
            os.rename(kept, partial / CHECKPOINTS)
        os.rename(partial, target)
    except BaseException:
        if (partial / CHECKPOINTS).is_dir() and not kept.exists():
            os.rename(partial / CHECKPOINTS, kept)
        os.rename(backup, target)
        raise
    try:
        shutil.rmtree(backup)
    except OSError as exc:
        logger.warning("could not remove the replaced output kept at %s: %s", backup, exc)


def write_result(
    result: Result,
    directory: str | os.PathLike[str],
    *,
    figures: bool = True,
    report: bool = True,
) -> Path:
    """Write the outputs of ``result`` to the folder ``directory``, atomically.

    The folder may be absent, empty or a previous tissuefate output, which is replaced as a whole.
    If anything fails, the partial output is removed, an existing folder is left as it was, and
    the exception is raised again.

    Parameters
    ----------
    figures
        Write the PNG figures (see :func:`tissuefate.report.figures.write_figures`).
    report
        Write ``report.html`` (it shows the figures if they were written).

    Returns
    -------
    pathlib.Path
        The resolved path of the written folder.

    Raises
    ------
    ScenarioError
        If ``directory`` exists and is not a tissuefate output, or its parent cannot be written.
    """
    target = check_output_dir(directory)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        reason = f"cannot create the parent folder {target.parent} ({exc.strerror or exc})"
        raise _error(reason, directory) from exc
    partial = _make_partial(target)
    try:
        _write_all(result, partial, figures=figures, report=report)
        _move_into_place(partial, target, directory)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    logger.info("wrote %s", target)
    return target
