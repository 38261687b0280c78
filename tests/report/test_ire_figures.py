"""Figures and the HTML report of an irreversible electroporation session (a real, small course:
an IRE session, then a microwave session that must not get the IRE figures)."""

from __future__ import annotations

import dataclasses
import math
import re

import numpy as np
import pytest
from matplotlib.figure import Figure
from scipy.optimize import brentq

import tissuefate
from _synthetic import synthetic_result
from tissuefate.damage.electroporation import peleg_fermi_survival
from tissuefate.report import (
    ire_coverage,
    ire_field_map,
    render_report,
    session_timecourse,
    write_figures,
)
from tissuefate.report.ire_figures import _mark_electrodes, zone_edge_field
from tissuefate.tissue import load_tissue

pytestmark = pytest.mark.slow  # the fixture runs an IRE and a microwave session (about 7 s)

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
PULSES = 60

#: Two 18 G electrodes 10 mm apart along x through a 10 mm colorectal metastasis, 12 mm exposed,
#: 1500 V (1500 V/cm), 60 pulses of 70 µs at 1 Hz; a day later one minute of microwave at 30 W.
COURSE = f"""\
name: ire-report
grid: {{size: [32 mm, 32 mm, 32 mm], spacing: 1 mm}}
tissue: liver
anatomy:
  tumors:
    - {{name: t1, center: [0 mm, 0 mm, 0 mm], radius: 5 mm, preset: colorectal_metastasis}}
strategies:
  ire-then-mwa:
    sessions:
      - modality: ire
        electrodes:
          - {{tip: [-5 mm, 0 mm, -6 mm], direction: [0, 0, -1], exposure: 12 mm}}
          - {{tip: [5 mm, 0 mm, -6 mm], direction: [0, 0, -1], exposure: 12 mm}}
        voltage: 1500 V
        pulses: {PULSES}
        cooldown: 10 s
      - day: 1
        modality: microwave
        applicators: [{{tip: [0 mm, 0 mm, -8 mm], direction: [0, 0, -1], antenna: dual_slot}}]
        power: 30 W
        duration: 1 min
repair: {{enabled: false}}
"""


@pytest.fixture(scope="module")
def course():
    return tissuefate.simulate(tissuefate.loads_scenario(COURSE))


def _lethal_field_v_cm(pulses: int) -> float:
    """The field at which the liver preset's Peleg–Fermi survival after ``pulses`` is 1/e (the
    colorectal metastasis preset takes liver's values), V/cm."""
    m = load_tissue("liver").base
    params = (
        m.ire_lethal_field,
        m.ire_lethal_width,
        m.ire_lethal_field_decay,
        m.ire_lethal_width_decay,
    )
    gap = lambda e: float(peleg_fermi_survival(e, pulses, *params)) - math.exp(-1.0)  # noqa: E731
    return brentq(gap, 0.0, 1e7) * 1e-2


#: The figures of :data:`COURSE`, in the order they are written.
FIGURES = [
    "session_1_slices.png",
    "session_1_field.png",
    "session_1_timecourse.png",
    "session_2_slices.png",
    "session_2_timecourse.png",
    "ire_coverage.png",
    "course_volumes.png",
]


def test_the_ire_figures_are_written_for_the_ire_session_only(course, tmp_path):
    assert write_figures(course, tmp_path) == FIGURES
    for name in ("session_1_field.png", "ire_coverage.png"):
        data = (tmp_path / name).read_bytes()
        assert data.startswith(PNG_MAGIC)
        assert len(data) > 20_000
    # the microwave session has no field: NaN in the course's max_field, and no zone edge
    assert np.isnan(course.fields["max_field"].sel(session=2).values).all()
    assert zone_edge_field(course, 2) is None


def test_a_course_without_ire_gets_no_ire_figures(tmp_path):
    names = write_figures(synthetic_result(shape=(8, 8, 8), sessions=1), tmp_path)
    assert not [n for n in names if "field" in n or "coverage" in n]


def test_without_max_field_the_field_map_is_skipped_and_no_zone_edge_drawn(course, tmp_path):
    bare = dataclasses.replace(course, fields=course.fields.drop_vars("max_field"))
    names = write_figures(bare, tmp_path)
    assert "session_1_field.png" not in names
    assert "ire_coverage.png" in names  # the curve is the summary's
    assert zone_edge_field(bare, 1) is None
    ax = ire_coverage(bare).axes[0]
    assert [ln for ln in ax.get_lines() if ln.get_linestyle() == "--"] == []


def test_the_zone_edge_is_the_field_where_the_models_survival_is_1_over_e(course):
    """The threshold that best separates the zone from the rest of the grid lands on the field at
    which the model's survival after the session's pulses is 1/e (477 V/cm after 60 pulses),
    to within the spread of the fields of two neighbouring voxels."""
    expected = _lethal_field_v_cm(PULSES)
    assert expected == pytest.approx(477.3, abs=0.1)
    assert zone_edge_field(course, 1) == pytest.approx(expected, rel=0.01)


def test_the_coverage_figure_has_the_clinical_band_the_curve_and_the_zone_edge(course):
    fig = ire_coverage(course)
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    assert ax.get_xlim() == (200.0, 1500.0)
    assert ax.get_ylim()[0] == 0.0
    # the clinical band: a shaded span from 500 to 600 V/cm across the whole height, labelled
    spans = [
        p.get_bbox() for p in ax.patches if p.get_bbox().x0 == 500.0 and p.get_bbox().x1 == 600.0
    ]
    assert len(spans) == 1
    assert any("clinical liver threshold" in t.get_text() for t in ax.texts)
    legend = " ".join(t.get_text() for t in fig.legends[0].get_texts())
    assert "10.1177/15330338251384207" in legend
    # one solid line per IRE session: the summary's curve
    coverage = course.summary["sessions"][0]["ire"]["coverage"]
    (curve,) = [ln for ln in ax.get_lines() if ln.get_linestyle() == "-"]
    np.testing.assert_allclose(curve.get_xdata(), coverage["thresholds_v_cm"])
    np.testing.assert_allclose(curve.get_ydata(), coverage["tumor_share"])
    # the zone edge, dashed, at the model's own lethal field
    (edge,) = [ln for ln in ax.get_lines() if ln.get_linestyle() == "--"]
    assert edge.get_xdata()[0] == pytest.approx(_lethal_field_v_cm(PULSES), rel=0.01)


def test_the_field_map_shows_both_planes_in_v_per_cm_with_contours_and_electrodes(course):
    fig = ire_field_map(course, 1)
    panels = [ax for ax in fig.axes if ax.get_images()]
    assert len(panels) == 2
    across, along = panels
    assert (across.get_xlabel(), across.get_ylabel()) == ("x (mm)", "y (mm)")  # across z
    assert (along.get_xlabel(), along.get_ylabel()) == ("x (mm)", "z (mm)")  # holds both needles
    largest = course.summary["sessions"][0]["ire"]["max_field_v_cm"]
    for ax in panels:
        image = ax.get_images()[0]
        assert image.get_clim() == (100.0, 3000.0)
        assert float(np.max(image.get_array())) <= largest * (1 + 1e-5)
        # 500, 600 and 800 V/cm, the tumour and the lethal zone
        assert len(ax.collections) == 5
    (colourbar,) = [ax for ax in fig.axes if not ax.get_images()]
    assert "V/cm" in colourbar.get_ylabel()
    # across: the two electrodes cross the plane on their exposed parts at x = ±5 mm, y = 0
    marks = sorted(
        (float(ln.get_xdata()[0]), float(ln.get_ydata()[0]))
        for ln in across.get_lines()
        if ln.get_marker() == "o"
    )
    assert marks == [(-5.0, 0.0), (5.0, 0.0)]
    # along: each electrode's exposed part (z from -6 to 6 mm) and its shaft
    exposed = [ln for ln in along.get_lines() if ln.get_linewidth() == 3.0]
    assert sorted(float(ln.get_xdata()[0]) for ln in exposed) == [-5.0, 5.0]
    assert all(sorted(ln.get_ydata()) == [-6.0, 6.0] for ln in exposed)
    assert "477 V/cm" in fig.get_suptitle()


def test_the_time_course_of_an_ire_session_shows_the_current_of_each_pair(course):
    fig = session_timecourse(course, 1)
    assert len(fig.axes) == 4  # temperature, currents, energy, and the zone's twin axis
    middle = fig.axes[1]
    assert middle.get_ylabel() == "Current (A)"
    pair = course.summary["sessions"][0]["delivered"]["pairs"][0]
    (train,) = [ln for ln in middle.get_lines() if ln.get_label().startswith("0–1")]
    current = np.asarray(train.get_ydata(), float)
    assert current[0] == pytest.approx(pair["current_a"])  # from the summary at the start
    assert np.all(np.diff(current[1:]) >= 0)  # heating raises σ, and the current
    st = course.session_timeseries
    assert current[-1] == pytest.approx(st[st["phase"] == "pair 0-1"]["current_a"].iloc[-1])
    intact = [ln for ln in middle.get_lines() if ln.get_markerfacecolor() == "white"]
    assert [float(ln.get_ydata()[0]) for ln in intact] == [pair["current_initial_a"]]
    # the cool-down is shaded on every panel
    assert any(p.get_label() == "Source off (cool-down)" for p in fig.axes[0].patches)
    # the microwave session keeps its two panels
    assert len(session_timecourse(course, 2).axes) == 3


def test_the_report_shows_the_pairs_table_for_the_ire_session_only(course):
    html = render_report(course, FIGURES)
    assert html.count('<table class="pairs">') == 1
    ire, mwa = html.split("<h2>Session 2", 1)
    assert '<table class="pairs">' in ire
    pair = course.summary["sessions"][0]["delivered"]["pairs"][0]
    row = re.search(r'<table class="pairs">.*?<tbody>\s*<tr>(.*?)</tr>', ire, re.DOTALL)
    assert row is not None
    cells = re.findall(r'<td class="num">(.*?)</td>', row.group(1))
    assert cells[:5] == ["0–1", "1500", "10.0", "1500", "60"]
    assert float(cells[5]) == pytest.approx(pair["current_initial_a"], rel=5e-3)
    assert float(cells[6]) == pytest.approx(pair["current_a"], rel=5e-3)
    assert "Thermal share of the lethal zone" in ire
    assert "Lethal zone (damage Ω ≥ 1 of field and heat)" in ire
    assert "at ≥ 500 V/cm" in ire
    # the coverage figure is shown with the IRE session; the microwave session is as before
    assert '<img src="ire_coverage.png"' in ire
    assert "Ablation-zone volume" in mwa
    assert "Thermal share" not in mwa


@pytest.mark.parametrize(
    ("z_mm", "kinds"),
    [(0.0, {"exposed"}), (10.0, {"shaft"}), (-10.0, set())],
)
def test_electrodes_are_marked_by_where_they_cross_the_plane(course, z_mm, kinds):
    """Across the needles (along z; exposed from z = -6 to 6 mm, the shaft above): a filled
    circle on the exposed part, an open one on the shaft, nothing beyond the tips."""
    electrodes = course.summary["sessions"][0]["delivered"]["electrodes"]
    ax = Figure().subplots()
    assert _mark_electrodes(ax, electrodes, ("x", "y", "z"), z_mm, 1.0, 40.0) == kinds
    faces = [ln.get_markerfacecolor() for ln in ax.get_lines()]
    assert len(faces) == (2 if kinds else 0)
    # and in the x-z plane through both needles they lie in the plane
    assert _mark_electrodes(Figure().subplots(), electrodes, ("x", "z", "y"), 0.0, 1.0, 40.0) == {
        "in plane"
    }
