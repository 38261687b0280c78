"""Figures and the HTML report of a run with tissue repair (a synthetic result, no physics)."""

from __future__ import annotations

import copy
import dataclasses
import re

import matplotlib as mpl
import numpy as np
import pandas as pd
import pytest
import xarray as xr
from matplotlib.figure import Figure

from _synthetic import synthetic_result
from tissuefate.report import (
    RESEARCH_NOTICE,
    course_volumes,
    render_report,
    repair_slices,
    write_figures,
)
from tissuefate.report.figures import MARKERS_UP_TO
from tissuefate.report.html import REPAIR_INTRO

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
REPAIR_HEADING = "<h2>Between sessions and follow-up</h2>"


@pytest.fixture(scope="module")
def result():
    # Two sessions (the second on day 14 with a tilted applicator), then a year of repair:
    # snapshots "day 44" and "day 194"; a non-cubic grid catches swapped axes.
    return synthetic_result(shape=(10, 8, 12), sessions=2, repair_days=365)


def _panels(fig: Figure) -> dict[tuple[int, int], object]:
    """The image panels of ``fig`` by (row, column) of the grid."""
    out = {}
    for ax in fig.axes:
        if ax.get_images():
            spec = ax.get_subplotspec()
            out[(spec.rowspan.start, spec.colspan.start)] = ax
    return out


def _marked(lines) -> list:
    return [ln for ln in lines if ln.get_marker() not in ("None", None, "")]


# ------------------------------------------------------------------------------------------------
# The synthetic result
# ------------------------------------------------------------------------------------------------


def test_synthetic_result_without_repair_is_unchanged():
    plain, zero = (
        synthetic_result(shape=(4, 4, 4)),
        synthetic_result(shape=(4, 4, 4), repair_days=0),
    )
    pd.testing.assert_frame_equal(plain.timeseries, zero.timeseries)
    assert plain.fields.identical(zero.fields)
    assert "repair" not in zero.summary
    assert list(zero.fields["snapshot_label"].values)[-1] == "end of course"


def test_synthetic_result_with_repair_has_repair_rows_snapshots_and_summary(result):
    ts = result.timeseries
    assert (ts["event"] == "repair").sum() == 4 * (14 + 365)  # every 6 h
    assert list(ts["event"].iloc[:2]) == ["baseline", "session 1 end"]
    for column in ("lesion_ml", "collagen_ml", "myofibroblasts_ml", "inflammation_max"):
        assert column in ts
    labels = list(result.fields["snapshot_label"].values)
    assert labels[-2:] == ["day 44", "day 194"]
    repair = result.summary["repair"]
    assert repair["steps"] == (ts["event"] == "repair").sum()
    assert set(repair["hypotheses"]) == {"H3", "H4", "H5"}
    assert repair["lesion_peak_ml"] >= repair["lesion_after_last_session_ml"]
    assert result.summary["outcome"]["days"] == pytest.approx(14.0 + 365.0)
    assert all("repair_inputs" in s for s in result.summary["sessions"])


# ------------------------------------------------------------------------------------------------
# Course volumes
# ------------------------------------------------------------------------------------------------


def test_course_volumes_of_a_long_repair_series_has_no_per_row_markers(result):
    ts = result.timeseries
    assert len(ts) > MARKERS_UP_TO
    before = dict(mpl.rcParams)
    fig = course_volumes(result)
    assert dict(mpl.rcParams) == before
    assert len(fig.axes) == 2
    top, low = fig.axes
    assert top.get_shared_x_axes().joined(top, low)
    full = [ln for ln in top.get_lines() if len(ln.get_xdata()) == len(ts)]
    assert {ln.get_label() for ln in full} == {
        "Viable tumour",
        "Necrotic tissue",
        "Scar",
        "Normal tissue lost",
        "Ablation zone (dead + fibrous)",
        "Collagen",
    }
    assert not _marked(full)  # plain lines, no marker per row
    # markers at the two session ends only, one set per volume
    ends = _marked(top.get_lines())
    assert len(ends) == 6
    assert all(list(ln.get_xdata()) == [0.0, 14.0] for ln in ends)
    lesion = next(ln for ln in full if ln.get_label() == "Ablation zone (dead + fibrous)")
    np.testing.assert_allclose(lesion.get_ydata(), ts["lesion_ml"])
    # the inflammation panel below
    inflammation = [ln for ln in low.get_lines() if len(ln.get_xdata()) == len(ts)]
    assert len(inflammation) == 1
    np.testing.assert_allclose(inflammation[0].get_ydata(), ts["inflammation_max"])
    assert low.get_xlabel() == "Day"
    assert "nflammation" in low.get_ylabel()


def test_course_volumes_of_a_short_series_marks_every_row(result):
    short = dataclasses.replace(result, timeseries=result.timeseries.iloc[:10].copy())
    short.timeseries["inflammation_max"] = 0.0  # all zero: no inflammation panel
    fig = course_volumes(short)
    assert len(fig.axes) == 1
    lines = _marked(fig.axes[0].get_lines())
    assert len(lines) == 6
    assert all(len(ln.get_xdata()) == 10 for ln in lines)


# ------------------------------------------------------------------------------------------------
# Repair slices
# ------------------------------------------------------------------------------------------------


def _expected_plane(result, name: str, snapshot: int) -> np.ndarray:
    # Last session: focus (1, 0, 0) mm, axis (0.8, 0, 0.6): the z–x plane through y = 0.
    ds = result.fields
    y = int(np.abs(ds["y"].values - 0.0).argmin())
    return ds[name].isel(snapshot=snapshot, y=y).transpose("x", "z").values


def test_repair_slices_show_collagen_and_tumour_after_the_last_session(result):
    before = dict(mpl.rcParams)
    fig = repair_slices(result)
    assert dict(mpl.rcParams) == before
    assert isinstance(fig, Figure)
    panels = _panels(fig)
    assert sorted(panels) == [(0, 0), (0, 1), (1, 0), (1, 1)]  # 2 rows × 2 snapshot days
    labels = list(result.fields["snapshot_label"].values)
    nx, nz = result.fields.sizes["x"], result.fields.sizes["z"]
    for col, day in enumerate((44, 194)):
        snapshot = labels.index(f"day {day}")
        for row, name, cmap in ((0, "collagen", "Purples"), (1, "tumor", "Reds")):
            ax = panels[(row, col)]
            assert ax.get_title() == f"Day {day}"
            image = ax.get_images()[0]
            data = np.asarray(image.get_array())
            assert data.shape == (nx, nz)
            np.testing.assert_allclose(data, _expected_plane(result, name, snapshot), atol=1e-6)
            assert image.get_clim() == (0.0, 1.0)
            assert image.cmap.name == cmap
            assert ax.get_xlabel() == "z (mm)"
    # collagen grows into scar: the later snapshot crosses 0.5 and shows the scar outline
    early, late = (np.asarray(panels[(0, c)].get_images()[0].get_array()) for c in (0, 1))
    assert early.max() < 0.5 < late.max()
    assert len(panels[(0, 1)].collections) >= 1
    # the bottom panels outline the initial tumour
    assert all(len(panels[(1, c)].collections) == 1 for c in (0, 1))
    assert "Collagen / scar" in panels[(0, 0)].get_ylabel()
    assert "Viable tumour" in panels[(1, 0)].get_ylabel()
    colourbars = sorted(ax.get_ylabel() for ax in fig.axes if not ax.get_images())
    assert colourbars == ["Collagen fraction (0–1)", "Viable tumour fraction (0–1)"]
    assert "synthetic" in fig.get_suptitle()
    assert "session 2" in fig.get_suptitle()


def _with_follow_ups(result, days: list[float]):
    """``result`` with its follow-up snapshots replaced by copies of the last one on ``days``."""
    ds = result.fields
    keep = [i for i, label in enumerate(ds["snapshot_label"].values) if not label.startswith("day")]
    index = keep + [ds.sizes["snapshot"] - 1] * len(days)
    fields = ds.isel(snapshot=index)
    fields = fields.assign_coords(
        snapshot=np.arange(len(index)),
        snapshot_label=(
            "snapshot",
            [str(v) for v in ds["snapshot_label"].values[keep]] + [f"day {d:g}" for d in days],
        ),
        snapshot_day=("snapshot", [*ds["snapshot_day"].values[keep], *days]),
    )
    assert isinstance(fields, xr.Dataset)
    return dataclasses.replace(result, fields=fields)


def test_repair_slices_show_at_most_four_snapshots_evenly(result):
    many = _with_follow_ups(result, [34.0, 54.0, 74.0, 94.0, 114.0, 134.0])
    panels = _panels(repair_slices(many))
    assert len(panels) == 8
    titles = [panels[(0, c)].get_title() for c in range(4)]
    assert titles == ["Day 34", "Day 74", "Day 94", "Day 134"]  # first and last included
    one = _with_follow_ups(result, [20.0])
    panels = _panels(repair_slices(one))
    assert sorted(panels) == [(0, 0), (1, 0)]
    assert panels[(1, 0)].get_title() == "Day 20"


def test_repair_slices_need_a_snapshot_after_the_last_session():
    plain = synthetic_result(shape=(4, 4, 4), sessions=2)
    # "after session 2" (10 min after the start of session 2) is not a follow-up snapshot
    plain = dataclasses.replace(plain, fields=plain.fields.isel(snapshot=slice(0, -1)))
    with pytest.raises(ValueError, match="no snapshot after the last"):
        repair_slices(plain)


# ------------------------------------------------------------------------------------------------
# Writing
# ------------------------------------------------------------------------------------------------


def test_write_figures_writes_repair_slices_only_with_repair(tmp_path):
    for name in ("repair", "plain", "bare"):
        (tmp_path / name).mkdir()
    repaired = synthetic_result(shape=(8, 8, 8), sessions=1, repair_days=60)
    names = write_figures(repaired, tmp_path / "repair")
    assert names[-2:] == ["course_volumes.png", "repair_slices.png"]
    data = (tmp_path / "repair" / "repair_slices.png").read_bytes()
    assert data.startswith(PNG_MAGIC)
    assert len(data) > 10_000

    plain = synthetic_result(shape=(8, 8, 8), sessions=1)
    assert "repair_slices.png" not in write_figures(plain, tmp_path / "plain")
    assert not (tmp_path / "plain" / "repair_slices.png").exists()

    # repair ran, but the fields lack collagen
    bare = dataclasses.replace(repaired, fields=repaired.fields.drop_vars("collagen"))
    assert "repair_slices.png" not in write_figures(bare, tmp_path / "bare")


# ------------------------------------------------------------------------------------------------
# Report
# ------------------------------------------------------------------------------------------------


def _section(html: str) -> str:
    start = html.index(REPAIR_HEADING)
    return html[start : html.index("Outcome of the course", start)]


def test_report_has_the_repair_section_parameters_and_figure(result):
    files = ["session_1_slices.png", "course_volumes.png", "repair_slices.png"]
    html = render_report(result, files)
    assert html.count(RESEARCH_NOTICE) == 2
    assert html.index(REPAIR_HEADING) > html.index("<h2>Session 2")
    section = _section(html)
    assert REPAIR_INTRO in section
    assert "thyroid" in section
    assert "Repair step</th><td>6.00 h</td>" in section
    assert "Tumour growth law</th><td>logistic</td>" in section
    assert "Follow-up after the last session</th><td>365 days</td>" in section
    repair = result.summary["repair"]
    cleared = f"{repair['cleared_ml']:.2f} mL"
    assert f"Dead tissue cleared</th><td>{cleared}</td>" in section
    assert "right after the last session</th><td>" in section
    assert "Local progression</th><td>none</td>" in section
    assert (
        "Session 2: immunogenicity of the kill</th><td>0.300 (from repair.heat_immunogenicity)"
        in section
    )
    for key in ("H3", "H4", "H5"):
        assert f"<strong>{key} (" in section
    assert "reversible_vascular_fraction" in section
    # the collapsed table of every parameter
    details = re.search(r"<details.*?</details>", section, re.DOTALL)
    assert details is not None
    for name, entry in repair["parameters"].items():
        assert f"<td><code>{name}</code></td>" in details.group(0)
        assert entry["units"] in details.group(0)
    assert "scenario override" in details.group(0)
    # the figure in this section, the course volumes with the outcome
    assert '<img src="repair_slices.png"' in section
    assert '<img src="course_volumes.png"' not in section
    assert html.count('<img src="repair_slices.png"') == 1
    assert '<img src="course_volumes.png"' in html


def test_report_repair_section_without_figure_and_with_progression(result):
    summary = copy.deepcopy(result.summary)
    summary["outcome"]["local_progression_day"] = 200.0
    summary["repair"]["parameters"]["edema_gain"] = {
        "value": 0.2,
        "units": "1",
        "provenance": "assumption: <b>guess</b>",
    }
    html = render_report(dataclasses.replace(result, summary=summary), ["course_volumes.png"])
    section = _section(html)
    assert "repair_slices.png" not in html
    assert "Local progression</th><td>day 200</td>" in section
    assert "assumption: &lt;b&gt;guess&lt;/b&gt;" in section


def test_report_without_repair_has_no_repair_section():
    plain = synthetic_result(shape=(4, 4, 4))
    html = render_report(plain, ["course_volumes.png"])
    assert "Between sessions and follow-up" not in html
    assert "<details" not in html
    assert REPAIR_INTRO not in html
    assert RESEARCH_NOTICE in html
