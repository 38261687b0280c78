"""Figures and the HTML report of injection sessions (a real, small run of each agent kind)."""

from __future__ import annotations

import dataclasses

import matplotlib as mpl
import numpy as np
import pytest
from matplotlib.colors import LogNorm
from matplotlib.figure import Figure

import tissuefate
from tissuefate.report import (
    RESEARCH_NOTICE,
    injection_slices,
    injection_timecourse,
    render_report,
    write_figures,
)
from tissuefate.report import figures as figures_module

pytestmark = pytest.mark.slow  # the fixtures run two injection sessions (10 s)

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"

# Two 0.5 mL ethanol injections 4 mm apart in a 16 mm HCC, observed for 1 h (about 2 s).
ETHANOL = """\
name: inj-small
grid: {size: [32 mm, 32 mm, 32 mm], spacing: 1 mm}
tissue: liver
anatomy:
  tumors:
    - {name: t1, shape: sphere, center: [0 mm, 0 mm, 0 mm], radius: 8 mm, preset: hcc}
strategies:
  pei:
    sessions:
      - modality: injection
        agent: ethanol
        sites:
          - {tip: [2 mm, 0 mm, 0 mm], direction: [0, 0, -1], volume: 0.5 mL}
          - {tip: [-2 mm, 0 mm, 0 mm], direction: [0, 0, -1], volume: 0.5 mL}
        observe: 1 h
"""
# One injection of the unvalidated chlorine dioxide preset, smaller and shorter.
CHLORINE_DIOXIDE = """\
name: inj-clo2
grid: {size: [20 mm, 20 mm, 20 mm], spacing: 1 mm}
tissue: liver
anatomy:
  tumors:
    - {name: t1, shape: sphere, center: [0 mm, 0 mm, 0 mm], radius: 5 mm, preset: hcc}
strategies:
  clo2:
    sessions:
      - modality: injection
        agent: chlorine_dioxide_literature
        sites:
          - {tip: [0 mm, 0 mm, 0 mm], direction: [0, 0, -1], volume: 0.3 mL}
        observe: 10 min
"""


@pytest.fixture(scope="module")
def ethanol():
    return tissuefate.simulate(tissuefate.loads_scenario(ETHANOL))


@pytest.fixture(scope="module")
def chlorine_dioxide():
    return tissuefate.simulate(tissuefate.loads_scenario(CHLORINE_DIOXIDE))


def _with_timeseries(result, **changes):
    """A copy of ``result`` whose session time series has columns scaled: ``column=factor``."""
    st = result.session_timeseries.copy()
    for column, factor in changes.items():
        st[column] = st[column] * factor
    return dataclasses.replace(result, session_timeseries=st)


def _legend_texts(fig: Figure) -> set[str]:
    return {t.get_text() for legend in fig.legends for t in legend.get_texts()}


# ------------------------------------------------------------------------------------------------
# slices
# ------------------------------------------------------------------------------------------------


def test_injection_slices_has_four_panels_two_colourbars_and_the_legend(ethanol):
    before = dict(mpl.rcParams)
    fig = injection_slices(ethanol, 1)
    assert dict(mpl.rcParams) == before  # styling never leaks into global state
    assert isinstance(fig, Figure)
    assert len(fig.axes) == 6
    panels = [ax for ax in fig.axes if ax.get_images()]
    assert len(panels) == 4
    assert all(ax.get_aspect() == 1.0 for ax in panels)
    colourbars = sorted(ax.get_ylabel() for ax in fig.axes if not ax.get_images())
    assert colourbars == [
        "Kill fraction (0–1)",
        "Peak agent concentration ÷ injectate concentration (log)",
    ]
    assert _legend_texts(fig) == {
        "Tumour before treatment",
        "Ablation zone (damage Ω = 1)",
        "Injectate reached (fluid ≥ 50 % injectate)",
        "Injection site (needle tip)",
    }
    # top: tumour, ablation zone and injectate extent; bottom: tumour and ablation zone
    assert [len(ax.collections) for ax in panels] == [3, 3, 2, 2]
    titles = [ax.get_title() for ax in panels]
    assert titles[0].startswith("Peak agent concentration, along the needle")
    assert titles[3].startswith("Cell kill fraction, across the needle")
    # both needle tips (z = 0, y = 0) lie within a voxel of every plane through the focus
    for ax in panels:
        tips = [ln for ln in ax.get_lines() if ln.get_marker() == "+"]
        assert sorted(float(ln.get_xdata()[0]) for ln in tips) == [-2.0, 2.0]
    assert fig.get_suptitle() == "session 1: injection of 1 mL ethanol at 2 site(s), day 0"


def test_injection_slices_show_concentration_relative_to_the_injectate(ethanol):
    fig = injection_slices(ethanol, 1)
    top = fig.axes[0].get_images()[0]
    assert isinstance(top.norm, LogNorm)
    assert top.get_clim() == pytest.approx((1e-3, 1.0))
    assert fig.axes[2].get_images()[0].get_clim() == (0.0, 1.0)
    # Needle along z: the left panels are x–z planes through the focus (y nearest 0 mm).
    fields = ethanol.fields
    c_inj = ethanol.summary["sessions"][0]["delivered"]["injectate_concentration_mm"]
    iy = int(np.abs(fields["y"].values - 0.0).argmin())
    expected = (
        fields["agent_peak_concentration"].sel(session=1).isel(y=iy).transpose("z", "x").values
        / c_inj
    )
    shown = np.asarray(top.get_array())
    assert shown.shape == (fields.sizes["z"], fields.sizes["x"])
    seen = expected >= 1e-3
    assert seen.any()
    np.testing.assert_allclose(shown[seen], expected[seen], rtol=1e-6)
    assert np.all(shown[~seen] < 1e-3)  # zero and below the scale: drawn in the lowest colour
    assert fig.axes[0].get_xlabel() == "x (mm)"
    assert fig.axes[0].get_ylabel() == "z (mm)"


def test_unvalidated_agent_is_flagged_in_the_titles(chlorine_dioxide):
    for fig in (injection_slices(chlorine_dioxide, 1), injection_timecourse(chlorine_dioxide, 1)):
        title = fig.get_suptitle()
        assert "chlorine_dioxide_literature" in title
        assert title.endswith("— UNVALIDATED agent preset")


# ------------------------------------------------------------------------------------------------
# time course
# ------------------------------------------------------------------------------------------------


def test_injection_timecourse_has_amounts_volumes_and_pressure(ethanol):
    before = dict(mpl.rcParams)
    fig = injection_timecourse(ethanol, 1)
    assert dict(mpl.rcParams) == before
    # tumour and lesion volumes are of one scale: no twin axis; the backflow along the needle
    # track gets its own axis beside the tip pressure (this injection opened the track)
    assert len(fig.axes) == 4
    top, middle, bottom, back = fig.axes
    assert back.get_ylabel() == "Backflow (mL/h)"
    assert [ln.get_label() for ln in back.get_lines()] == ["Backflow along the track"]
    assert top.get_ylabel() == "Agent (mmol)"
    assert middle.get_ylabel() == "Volume (mL)"
    assert bottom.get_ylabel() == "Pressure (kPa)"
    assert bottom.get_xlabel() == "Time since the session started (min)"
    assert fig.get_suptitle().endswith(": time course")
    assert "UNVALIDATED" not in fig.get_suptitle()

    amounts = {ln.get_label() for ln in top.get_lines()}
    assert {
        "In tissue",
        "Consumed by the tissue",
        "Washed out by perfusion",
        "Leaked (track and vessels)",
        "Systemic (washed out + into vessels)",
    } <= amounts
    volumes = {ln.get_label() for ln in middle.get_lines()}
    assert volumes == {
        "Distribution volume (agent reached)",
        "Ablation zone (Ω ≥ 1)",
        "Lesion volume",
        "Tumour volume",
    }
    # the systemic amount at the end is the summary's systemic dose
    systemic = next(ln for ln in top.get_lines() if ln.get_label().startswith("Systemic"))
    dose = ethanol.summary["sessions"][0]["systemic_dose"]["amount_mmol"]
    assert float(systemic.get_ydata()[-1]) == pytest.approx(dose, rel=1e-6)

    # the infusion (2 × 0.5 mL at 10 mL/h: 6 min) is shaded on every panel, labelled once
    spans = [p for ax in (top, middle, bottom) for p in ax.patches]
    assert len(spans) == 3
    infusion = [p for p in top.patches if p.get_label() == "Infusion"]
    assert len(infusion) == 1
    assert infusion[0].get_x() == pytest.approx(0.0)
    assert infusion[0].get_x() + infusion[0].get_width() == pytest.approx(6.0)

    critical = ethanol.summary["sessions"][0]["injection"]["critical_pressure_kpa"]
    lines = {ln.get_label(): ln for ln in bottom.get_lines()}
    assert "Needle-tip pressure" in lines
    dashed = [ln for label, ln in lines.items() if label.startswith("Critical pressure")]
    assert len(dashed) == 1
    assert dashed[0].get_linestyle() == "--"
    assert float(dashed[0].get_ydata()[0]) == pytest.approx(critical)
    assert bottom.get_ylim()[1] > critical  # the critical line is not hidden in the frame


def test_injection_timecourse_twin_axis_and_hours(ethanol):
    # a tumour volume far above the others gets its own axis
    big = _with_timeseries(ethanol, tumor_volume_ml=100.0)
    fig = injection_timecourse(big, 1)
    assert len(fig.axes) == 5
    assert fig.axes[3].get_ylabel() == "Tumour volume (mL)"
    assert [ln.get_label() for ln in fig.axes[3].get_lines()] == ["Tumour volume"]
    # longer than 3 h: time in hours
    slow = _with_timeseries(ethanol, time_s=4.0)
    fig = injection_timecourse(slow, 1)
    assert fig.axes[2].get_xlabel() == "Time since the session started (h)"
    assert fig.axes[0].get_xlim()[1] == pytest.approx(4.0 * 3960.0 / 3600.0)


# ------------------------------------------------------------------------------------------------
# writing and the report
# ------------------------------------------------------------------------------------------------


def test_write_figures_dispatches_injection_sessions(ethanol, tmp_path, monkeypatch):
    def thermal_only(*args, **kwargs):
        raise AssertionError("a thermal figure was drawn for an injection session")

    monkeypatch.setattr(figures_module, "session_slices", thermal_only)
    monkeypatch.setattr(figures_module, "session_timecourse", thermal_only)
    names = write_figures(ethanol, tmp_path)
    assert names == ["session_1_slices.png", "session_1_timecourse.png", "course_volumes.png"]
    for name in names:
        data = (tmp_path / name).read_bytes()
        assert data.startswith(PNG_MAGIC)
        assert len(data) > 10_000


def test_report_of_a_calibrated_agent(ethanol):
    files = ["session_1_slices.png", "session_1_timecourse.png", "course_volumes.png"]
    html = render_report(ethanol, files)
    assert RESEARCH_NOTICE in html
    assert '<th scope="row">Agent</th><td>ethanol (calibrated)</td>' in html
    assert "UNVALIDATED" not in html
    assert 'class="warning"' not in html
    assert "Active hypotheses</th><td>H8 (the tissue shrinks by dehydration" in html
    assert "Injected volume</th><td>1.00 mL at 17040 mM (17.0 mmol)" in html
    inj = ethanol.summary["sessions"][0]["injection"]
    assert (
        f"Distribution volume (agent reached)</th><td>{inj['distribution_volume_ml']:.3g} mL"
        in html
    )
    dose = ethanol.summary["sessions"][0]["systemic_dose"]
    assert f"Kill volume (damage Ω ≥ 1)</th><td>{inj['kill_volume_ml']:.3g} mL" in html
    assert "Kill volume / injected volume</th><td>" in html
    assert "Tumour kill fraction</th><td>" in html
    assert "Leaked volume (out of the organ or into vessels)</th><td>" in html
    assert "Backflow along the needle track</th><td>" in html
    assert f"{dose['amount_mmol']:#.3g} mmol ({dose['mass_mg']:.0f} mg)" in html
    peak = inj["peak_tip_pressure_kpa"]
    assert f"Peak needle-tip pressure</th><td>{peak:.3g} kPa (critical 40.0 kPa" in html
    assert f"Depot (fluid the tissue stored)</th><td>{inj['peak_stored_volume_ml']:.3g} mL" in html
    assert "Liquid on viable tumour</th><td>" in html
    assert f"{inj['viable_tumor_reached_fraction']:.0%} of the viable tumour reached" in html
    # thermal-only rows are left out; the figures get the injection captions
    assert "Peak temperature</th>" not in html
    assert "Lowest temperature</th>" not in html
    assert "Peak agent concentration relative to the injectate" in html
    assert "pressure at the needle tip" in html


def test_report_flags_an_unvalidated_agent(chlorine_dioxide):
    html = render_report(chlorine_dioxide, [])
    assert RESEARCH_NOTICE in html
    assert 'class="warning"' in html
    assert "UNVALIDATED agent preset chlorine_dioxide_literature" in html
    assert '<th scope="row">Agent</th><td>chlorine_dioxide_literature — UNVALIDATED preset' in html
    assert "No peer-reviewed intratumoral chlorine dioxide data exist" in html
    assert "Active hypotheses</th><td>H4 (dead tissue is left as clearable debris" in html
    # the run's notes (here: the unvalidated agent) are listed under the notice
    assert "agent chlorine_dioxide_literature: UNVALIDATED" in html


def test_report_says_none_without_active_hypotheses(chlorine_dioxide):
    summary = dict(chlorine_dioxide.summary)
    session = dict(summary["sessions"][0])
    session["hypotheses"] = {
        key: {**h, "active": False} for key, h in session["hypotheses"].items()
    }
    summary["sessions"] = [session]
    html = render_report(dataclasses.replace(chlorine_dioxide, summary=summary), [])
    assert "Active hypotheses</th><td>none</td>" in html
