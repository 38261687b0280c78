"""JSON conversion, the zarr round trip and atomic writing of output folders."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st

import tissuefate
from _synthetic import synthetic_result
from tissuefate.errors import ScenarioError
from tissuefate.io import (
    check_output_dir,
    open_fields,
    output,
    read_json,
    to_jsonable,
    write_fields,
    write_json,
    write_result,
)
from tissuefate.report import html

TABLES_AND_SUMMARY = ("summary.json", "timeseries.csv", "session_timeseries.csv", "scenario.yaml")


@pytest.fixture(scope="module")
def result():
    return synthetic_result(shape=(10, 10, 12), sessions=1)


@pytest.fixture(scope="module")
def light():
    """A result with only two field variables: quick to write where the fields do not matter."""
    res = synthetic_result(shape=(4, 4, 4), sessions=1)
    res.fields = res.fields[["material", "peak_temperature"]]
    return res


def _leftovers(parent: Path) -> list[str]:
    return sorted(
        p.name for p in parent.iterdir() if ".partial-" in p.name or ".replaced-" in p.name
    )


# ------------------------------------------------------------------------------------------------
# JSON
# ------------------------------------------------------------------------------------------------


def test_to_jsonable_converts_numpy_and_non_finite_values():
    obj = {
        "i": np.int64(3),
        "f": np.float64(2.5),
        "f32": np.float32(0.1),
        "b": np.bool_(True),
        "nan": float("nan"),
        "inf": np.float32("-inf"),
        "none": None,
        "tuple": (1, np.int32(2)),
        "array": np.array([[1.0, np.nan], [np.inf, 4.0]]),
        "path": Path("a") / "b.json",
        np.int64(5): "numpy key",
    }
    out = to_jsonable(obj)
    assert out == {
        "i": 3,
        "f": 2.5,
        "f32": 0.1,
        "b": True,
        "nan": None,
        "inf": None,
        "none": None,
        "tuple": [1, 2],
        "array": [[1.0, None], [None, 4.0]],
        "path": str(Path("a") / "b.json"),
        "5": "numpy key",
    }
    assert type(out["i"]) is int
    assert type(out["b"]) is bool
    assert type(out["f"]) is float
    # Strictly valid JSON: the standard library refuses NaN with allow_nan=False.
    json.dumps(out, allow_nan=False)


def test_to_jsonable_rejects_unknown_types():
    with pytest.raises(TypeError, match="object"):
        to_jsonable({"x": object()})


def test_write_json_keeps_order_writes_null_and_reads_back(tmp_path):
    path = tmp_path / "s.json"
    write_json(path, {"zeta": np.float64("nan"), "alpha": [np.int16(1), 2.5], "mid": {"b": 1}})
    text = path.read_text(encoding="utf-8")
    assert text.endswith("}\n")
    assert '"zeta": null' in text
    assert "NaN" not in text
    assert "\n  " in text  # indented by 2
    assert list(read_json(path)) == ["zeta", "alpha", "mid"]
    assert read_json(path) == {"zeta": None, "alpha": [1, 2.5], "mid": {"b": 1}}


_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


@settings(max_examples=60, deadline=None)
@given(value=_json_values)
def test_json_round_trips_plain_values(tmp_path_factory, value):
    path = tmp_path_factory.mktemp("json") / "v.json"
    write_json(path, value)
    expected = to_jsonable(value)  # only ±inf changes (to None)
    assert read_json(path) == expected


# ------------------------------------------------------------------------------------------------
# Zarr
# ------------------------------------------------------------------------------------------------


def test_fields_round_trip(tmp_path, result):
    ds = result.fields.copy()
    ds["flag"] = (("x", "y", "z"), ds["tumor_fraction_initial"].values > 0.5)
    ds["flag"].attrs = {"units": "1", "long_name": "boolean mask"}
    ds.attrs["maybe"] = float("nan")

    path = write_fields(ds, tmp_path / "fields.zarr")
    back = open_fields(path)

    assert back["flag"].dtype == np.uint8
    np.testing.assert_array_equal(back["flag"].values, ds["flag"].values.astype(np.uint8))
    expected = ds.drop_vars("flag")
    expected.attrs = {**ds.attrs, "maybe": None}
    xr.testing.assert_identical(back.drop_vars("flag"), expected)
    for name, var in back.variables.items():
        assert var.dtype == ds[name].dtype or name == "flag", name
    assert back.attrs["scenario"] == result.scenario_yaml
    assert back["peak_temperature"].attrs["units"] == "degC"
    assert back["x"].attrs["units"] == "mm"
    assert list(back["snapshot_label"].values) == list(ds["snapshot_label"].values)
    # Loaded into memory, not lazily backed by the store.
    assert all(isinstance(v.data, np.ndarray) for v in back.variables.values())


def test_open_fields_names_a_missing_store(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"nothing\.zarr"):
        open_fields(tmp_path / "nothing.zarr")


# ------------------------------------------------------------------------------------------------
# Output folders
# ------------------------------------------------------------------------------------------------


def test_write_result_creates_every_file(tmp_path, result):
    target = tmp_path / "nested" / "run"
    written = write_result(result, target)

    assert written == target.resolve()
    names = {p.name for p in target.iterdir()}
    expected = {
        *TABLES_AND_SUMMARY,
        "fields.zarr",
        "report.html",
        "session_1_slices.png",
        "session_1_timecourse.png",
        "course_volumes.png",
    }
    assert names == expected
    assert _leftovers(target.parent) == []

    summary = read_json(target / "summary.json")
    assert summary["sessions"][0]["solver"]["steps"] == 1200
    assert summary["outcome"]["days_to_no_visible_tumor"] is None
    assert summary["outcome"]["tumor_free"] is False
    pd.testing.assert_frame_equal(
        pd.read_csv(target / "timeseries.csv", keep_default_na=False),
        result.timeseries,
        check_dtype=False,
    )
    sts = pd.read_csv(target / "session_timeseries.csv")
    pd.testing.assert_frame_equal(sts, result.session_timeseries, check_dtype=False)
    assert (target / "scenario.yaml").read_text(encoding="utf-8") == result.scenario_yaml
    assert open_fields(target / "fields.zarr").attrs["scenario"] == result.scenario_yaml
    html = (target / "report.html").read_text(encoding="utf-8")
    assert 'src="data:image/png;base64,' in html  # one self-contained file
    assert 'src="session_1_slices.png"' not in html


@pytest.mark.parametrize(
    ("shape", "sessions", "repair_days"),
    [((12, 12, 12), 1, 0), ((10, 8, 12), 2, 0), ((8, 8, 8), 1, 60)],
)
def test_synthetic_result_scenario_is_a_valid_scenario_of_its_run(shape, sessions, repair_days):
    """The scenario.yaml written with the synthetic result loads and matches the result."""
    res = synthetic_result(shape=shape, sessions=sessions, repair_days=repair_days)
    scenario = tissuefate.loads_scenario(res.scenario_yaml)
    assert [q.m_as("mm") for q in scenario.grid.size] == [2.0 * n for n in shape]
    assert scenario.grid.spacing.m_as("mm") == 2.0
    assert scenario.seed == res.summary["seed"]
    days = [float(session.day) for session in scenario.strategies["mwa"].sessions]
    assert days == [session["day"] for session in res.summary["sessions"]]
    assert scenario.follow_up.m_as("d") == repair_days


def test_write_result_without_fields_figures_or_report(tmp_path, result):
    bare = synthetic_result(shape=(4, 4, 4))
    bare.fields = xr.Dataset()
    write_result(bare, tmp_path / "out", figures=False, report=False)
    assert {p.name for p in (tmp_path / "out").iterdir()} == set(TABLES_AND_SUMMARY)


def test_failure_leaves_no_partial_folder_and_the_previous_output(tmp_path, result, monkeypatch):
    target = tmp_path / "run"
    target.mkdir()
    (target / "summary.json").write_text('{"old": true}\n', encoding="utf-8")
    (target / "keep.txt").write_text("previous run", encoding="utf-8")

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(output, "write_fields", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        write_result(result, target, figures=False, report=False)

    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]
    assert sorted(p.name for p in target.iterdir()) == ["keep.txt", "summary.json"]
    assert read_json(target / "summary.json") == {"old": True}


def test_failure_in_the_report_leaves_nothing_behind(tmp_path, light, monkeypatch):
    def broken(*args, **kwargs):
        raise ValueError("template error")

    monkeypatch.setattr(html, "render_report", broken)
    with pytest.raises(ValueError, match="template error"):
        write_result(light, tmp_path / "run", figures=False)
    assert list(tmp_path.iterdir()) == []


def test_refuses_a_folder_that_is_not_a_tissuefate_output(tmp_path, result):
    target = tmp_path / "thesis"
    target.mkdir()
    (target / "chapter1.tex").write_text("precious", encoding="utf-8")

    for call in (lambda: check_output_dir(target), lambda: write_result(result, target)):
        with pytest.raises(ScenarioError) as info:
            call()
        assert info.value.key == "-o"
        assert info.value.source == str(target)
        assert "not a tissuefate output folder" in info.value.reason
    assert [p.name for p in target.iterdir()] == ["chapter1.tex"]
    assert _leftovers(tmp_path) == []


def test_refuses_a_file(tmp_path):
    path = tmp_path / "file.txt"
    path.write_text("x", encoding="utf-8")
    with pytest.raises(ScenarioError, match="not a tissuefate output folder"):
        check_output_dir(path)


def test_refuses_a_parent_that_cannot_be_created(tmp_path):
    blocker = tmp_path / "blocker"
    blocker.write_text("a file where a folder should be", encoding="utf-8")
    with pytest.raises(ScenarioError, match="parent folder") as info:
        check_output_dir(blocker / "sub" / "run")
    assert info.value.key == "-o"


def test_check_accepts_new_empty_and_previous_outputs_without_writing(tmp_path):
    new = tmp_path / "a" / "new"
    assert check_output_dir(new) == new.resolve()
    assert not new.exists()
    assert not new.parent.exists()  # nothing is written before the run: not even the parent
    empty = tmp_path / "empty"
    empty.mkdir()
    check_output_dir(empty)
    previous = tmp_path / "previous"
    previous.mkdir()
    (previous / "summary.json").write_text("{}\n", encoding="utf-8")
    check_output_dir(previous)
    assert [p.name for p in previous.iterdir()] == ["summary.json"]


def test_replaces_a_previous_output_and_an_empty_folder(tmp_path, light):
    target = tmp_path / "run"
    target.mkdir()
    write_result(light, target, figures=False, report=False)  # empty folder: allowed
    (target / "stale.png").write_bytes(b"old figure")

    write_result(light, target, figures=False, report=False)

    names = {p.name for p in target.iterdir()}
    assert "stale.png" not in names
    assert names == {*TABLES_AND_SUMMARY, "fields.zarr"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]
    assert math.isclose(read_json(target / "summary.json")["wall_time_s"], 2.5)
