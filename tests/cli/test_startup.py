"""Start-up: the help and an error in a scenario file answer without loading the numerical stack.

Each check runs in a fresh interpreter and asserts on ``sys.modules``, not on a time (timings are
measured in docs/performance.md, not in tests): numba, SciPy, pandas and xarray are what made
``tissuefate --help`` and every one-line error take seconds.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tissuefate.kernels import _jit

#: Modules that only a simulation, a report or a benchmark needs (pint imports SciPy's top level,
#: which is light; its subpackages are not).
HEAVY = {
    "numba",
    "scipy.ndimage",
    "scipy.signal",
    "scipy.sparse",
    "scipy.stats",
    "pandas",
    "xarray",
    "matplotlib",
    "zarr",
}

_PROBE = """
import json, sys
from tissuefate.cli import app
try:
    code = app(ARGS, standalone_mode=False) or 0  # an Exit's code is returned
except SystemExit as exc:
    code = exc.code
print(json.dumps({"code": code, "loaded": sorted(sys.modules)}))
"""


def _probe(args: list[str], cwd: Path) -> dict:
    script = _PROBE.replace("ARGS", repr(args))
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=cwd, check=True
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_import_tissuefate_loads_no_numerical_stack(tmp_path):
    done = subprocess.run(
        [sys.executable, "-c", "import sys, tissuefate; print(' '.join(sys.modules))"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=True,
    )
    assert not set(done.stdout.split()) & HEAVY, set(done.stdout.split()) & HEAVY


def test_public_names_resolve_on_first_use():
    import tissuefate

    assert callable(tissuefate.simulate)
    assert tissuefate.Result.__name__ == "Result"
    assert {"simulate", "load_scenario", "Result"} <= set(dir(tissuefate))
    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        _ = tissuefate.nothing


@pytest.mark.parametrize("args", [["--help"], ["run", "--help"], ["--version"]])
def test_help_loads_no_numerical_stack(tmp_path, args):
    probe = _probe(args, tmp_path)
    assert probe["code"] == 0
    assert not set(probe["loaded"]) & HEAVY, set(probe["loaded"]) & HEAVY


def test_an_error_in_the_scenario_file_loads_no_numerical_stack(tmp_path):
    (tmp_path / "bad.yaml").write_text("nme: x\n", encoding="utf-8")
    probe = _probe(["run", "bad.yaml", "-o", "out"], tmp_path)
    assert probe["code"] == 2
    assert not set(probe["loaded"]) & HEAVY, set(probe["loaded"]) & HEAVY
    assert not (tmp_path / "out").exists()


def test_the_first_run_says_the_kernels_are_being_compiled(tmp_path, monkeypatch):
    from tissuefate import cli

    monkeypatch.setenv("TISSUEFATE_CACHE_DIR", str(tmp_path))
    _jit.cache_dir.cache_clear()
    try:
        assert not _jit.has_compiled()
        assert cli._first_status() == cli.COMPILING
        folder = Path(_jit.cache_dir()) / "tissuefate" / "kernels"
        folder.mkdir(parents=True)
        (folder / "thermal.step-10.py311.nbi").write_bytes(b"")
        assert _jit.has_compiled()
        assert cli._first_status() == ""
    finally:
        _jit.cache_dir.cache_clear()


@pytest.mark.parametrize("given", [None, "3"])
def test_the_cli_keeps_blas_on_one_thread_unless_told(given):
    # OpenBLAS's idle threads spin on the cores the kernels need (docs/performance.md)
    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_NUM_THREADS"}
    if given is not None:
        env["OPENBLAS_NUM_THREADS"] = given
    probe = (
        "import os, sys, tissuefate.cli; "
        "print(os.environ['OPENBLAS_NUM_THREADS'], 'numpy' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], env=env, capture_output=True, text=True, check=True
    ).stdout.split()
    assert out == [given or "1", "False"]  # set before numpy (and OpenBLAS) loaded


@pytest.mark.parametrize(
    "args",
    [
        ["run", "bad.yaml", "-o", "out"],  # an unknown preset, found by prepare
        ["run", "good.yaml", "-o", "out", "--impl", "bogus"],
        ["compare", "bad.yaml", "-o", "out"],
    ],
)
def test_an_error_found_when_preparing_loads_no_kernels(tmp_path, args):
    # prepare checks presets, agents, overrides and the policy before the controller is imported;
    # it builds the anatomy (SciPy's spatial and ndimage), but no kernel, table or store
    example = Path(__file__).parents[2] / "examples" / "mwa_single.yaml"
    text = example.read_text(encoding="utf-8")
    (tmp_path / "good.yaml").write_text(text, encoding="utf-8")
    assert "preset: hcc}" in text
    (tmp_path / "bad.yaml").write_text(text.replace("preset: hcc}", "preset: hccx}"), "utf-8")
    probe = _probe(args, tmp_path)
    assert probe["code"] == 2
    kernels = HEAVY - {"scipy.ndimage", "scipy.sparse"}
    assert not set(probe["loaded"]) & kernels, set(probe["loaded"]) & kernels
    assert not (tmp_path / "out").exists()
