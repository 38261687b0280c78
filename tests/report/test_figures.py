"""Figures and the HTML report of a synthetic result."""

from __future__ import annotations

import re

import matplotlib as mpl
import numpy as np
import pytest
from matplotlib.figure import Figure

from _synthetic import synthetic_result
from tissuefate.report import (
    RESEARCH_NOTICE,
    course_volumes,
    render_report,
    session_slices,
    session_timecourse,
    write_figures,
)
from tissuefate.report.figures import _planes

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def result():
    # Two sessions, the second with a tilted applicator; a non-cubic grid catches swapped axes.
    return synthetic_result(shape=(10, 8, 12), sessions=2)


def _image_shapes(fig: Figure) -> list[tuple[int, ...]]:
    return [im.get_array().shape for ax in fig.axes for im in ax.get_images()]


@pytest.mark.parametrize("session", [1, 2])
def test_session_slices_has_four_panels_and_two_colourbars(result, session):
    before = dict(mpl.rcParams)
    fig = session_slices(result, session)
    assert dict(mpl.rcParams) == before  # styling never leaks into global state
    assert isinstance(fig, Figure)
    assert len(fig.axes) == 6
    panels = [ax for ax in fig.axes if ax.get_images()]
    assert len(panels) == 4
    colourbar_titles = sorted(ax.get_ylabel() for ax in fig.axes if not ax.get_images())
    assert colourbar_titles == ["Kill fraction (0–1)", "Peak temperature (°C)"]
    # Each panel shows the tumour and ablation-zone outlines; the top ones also the isotherm.
    n_contours = [len(ax.collections) for ax in panels]
    assert n_contours[:2] == [3, 3]
    assert n_contours[2:] == [2, 2]
    assert all(ax.get_aspect() == 1.0 for ax in panels)
    legend_texts = {t.get_text() for t in fig.legends[0].get_texts()}
    assert "Tumour before treatment" in legend_texts


def test_slice_planes_follow_the_applicator_axis(result):
    assert _planes(None) == (("x", "z", "y"), ("x", "y", "z"))
    assert _planes((0.0, 0.0, -1.0)) == (("x", "z", "y"), ("x", "y", "z"))
    assert _planes((0.1, 0.9, 0.3)) == (("z", "y", "x"), ("x", "z", "y"))
    assert _planes((0.8, 0.0, 0.6)) == (("z", "x", "y"), ("y", "z", "x"))
    # Session 1 (axis along z): left panels are x–z planes, right panels x–y planes.
    fig = session_slices(result, 1)
    shapes = _image_shapes(fig)
    nx, ny, nz = (result.fields.sizes[d] for d in "xyz")
    assert shapes == [(nz, nx), (ny, nx), (nz, nx), (ny, nx)]
    assert fig.axes[0].get_xlabel() == "x (mm)"
    assert fig.axes[0].get_ylabel() == "z (mm)"


def test_temperature_scale_starts_at_body_temperature(result):
    fig = session_slices(result, 1)
    image = fig.axes[0].get_images()[0]
    vmin, vmax = image.get_clim()
    assert vmin == pytest.approx(37.0)
    assert vmax == pytest.approx(float(result.fields["peak_temperature"].sel(session=1).max()))
    assert fig.axes[2].get_images()[0].get_clim() == (0.0, 1.0)


def test_session_timecourse_has_twin_axes_and_shaded_cool_down(result):
    fig = session_timecourse(result, 1)
    assert isinstance(fig, Figure)
    assert len(fig.axes) == 3
    top, bottom = fig.axes[0], fig.axes[1]
    assert "°C" in top.get_ylabel()
    assert "kJ" in bottom.get_ylabel()
    assert "min" in bottom.get_xlabel()
    assert fig.axes[2].get_ylabel() == "Ablation-zone volume (mL)"
    # The shaded cool-down starts where the source is switched off (10 min).
    spans = [p for p in top.patches if p.get_label() == "Source off (cool-down)"]
    assert len(spans) == 1
    assert spans[0].get_x() == pytest.approx(10.0)
    energy = bottom.get_lines()[0].get_ydata()
    assert np.max(energy) == pytest.approx(36.0)  # 60 W × 600 s in kJ


def test_course_volumes_draws_four_volumes_with_two_rows(result):
    short = synthetic_result(shape=(4, 4, 4))
    short.timeseries = short.timeseries.iloc[:2]
    for res, n_rows in ((result, len(result.timeseries)), (short, 2)):
        fig = course_volumes(res)
        assert len(fig.axes) == 1
        lines = [ln for ln in fig.axes[0].get_lines() if ln.get_marker() not in ("None", None)]
        assert len(lines) == 4
        assert all(len(ln.get_xdata()) == n_rows for ln in lines)


def test_write_figures_writes_png_files(tmp_path):
    res = synthetic_result(shape=(8, 8, 8), sessions=1)
    names = write_figures(res, tmp_path)
    assert names == ["session_1_slices.png", "session_1_timecourse.png", "course_volumes.png"]
    for name in names:
        data = (tmp_path / name).read_bytes()
        assert data.startswith(PNG_MAGIC)
        assert len(data) > 10_000


def test_report_holds_the_notice_tables_figures_and_scenario(result):
    files = [
        "session_1_slices.png",
        "session_1_timecourse.png",
        "session_2_slices.png",
        "session_2_timecourse.png",
        "course_volumes.png",
    ]
    html = render_report(result, files)
    assert html.startswith("<!DOCTYPE html>")
    assert RESEARCH_NOTICE in html
    assert "For research and teaching only — not for treating patients" in html
    assert 'class="notice"' in html
    for name in files:
        assert f'<img src="{name}"' in html
    assert "<h2>Session 2: microwave 60 W, 10 min, day 14</h2>" in html
    assert "power_w: 60.0" in html
    assert "1200 steps of 0.500 s" in html
    assert "Outcome of the course" in html
    assert "Days until no tumour is visible</th><td>—" in html  # NaN shown as a dash
    # The scenario is shown verbatim (HTML-escaped) in a <pre>.
    pre = re.search(r"<pre>(.*?)</pre>", html, re.DOTALL)
    assert pre is not None
    assert "name: synthetic" in pre.group(1)
    # Self-contained: no external resources.
    assert not re.search(r"(src|href)=\"(https?:)?//", html)
    assert "<link" not in html
    assert "<script" not in html


def test_report_escapes_text_from_the_scenario(result):
    result_copy = synthetic_result(shape=(4, 4, 4))
    result_copy.summary["scenario"] = "<script>alert(1)</script>"
    result_copy.scenario_yaml = "name: '<b>x</b>'\n"
    html = render_report(result_copy, [])
    assert "<script>" not in html
    assert "&lt;script&gt;" in html
    assert "&lt;b&gt;x&lt;/b&gt;" in html
