"""The comparison of strategies (table, ``comparison.csv`` and one self-contained HTML page), on a
real two-strategy ``tissuefate compare`` output, and the self-containment of a strategy's own
report."""

from __future__ import annotations

import base64
import dataclasses
import json
import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from _synthetic import synthetic_result
from tissuefate.cli import app
from tissuefate.report import render_report, write_figures
from tissuefate.report.comparison import (
    COLUMNS,
    RESEARCH_USE,
    comparison_table,
    render_comparison,
    write_comparison,
)
from tissuefate.report.comparison_figures import shared_snapshots

pytestmark = pytest.mark.slow

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
STRATEGIES = ["weekly", "essay"]
#: Two strategies of a small injection course: ethanol by a dose rule every week (two sessions,
#: so a treatability is recorded) and one session of the unvalidated chlorine dioxide preset;
#: followed for 30 days after the last session (courses of 38 and 31 days).
SCENARIO = """\
name: compare-small
seed: 3
grid: {size: [30 mm, 30 mm, 30 mm], spacing: 1 mm}
anatomy:
  tumors: [{name: t1, shape: sphere, center: [0 mm, 0 mm, 0 mm], radius: 6 mm, preset: hcc}]
strategies:
  weekly:
    policy:
      kind: repeat_until_clear
      first_day: 1 d
      every: 7 d
      max_sessions: 2
      session: {modality: injection, agent: ethanol, observe: 10 min}
      dose: {fraction_of_visible_volume: 0.3, rate: 30 mL/h}
  essay:
    sessions:
      - day: 1
        modality: injection
        agent: chlorine_dioxide_essay
        sites: [{tip: [0 mm, 0 mm, 0 mm], direction: [0, 0, -1], volume: 0.4 mL}]
        rate: 30 mL/h
        observe: 10 min
follow_up: 30 d
repair: {step: 12 h}
imaging: {every: 10 d}
outputs: {snapshots: [0 d, 7 d, 14 d, 31 d]}
"""


@pytest.fixture(scope="module")
def compared(tmp_path_factory) -> Path:
    """The folder of ``tissuefate compare`` on :data:`SCENARIO`, with the comparison written."""
    base = tmp_path_factory.mktemp("compare")
    scenario = base / "course.yaml"
    scenario.write_text(SCENARIO, encoding="utf-8")
    out = base / "out"
    result = CliRunner().invoke(app, ["compare", str(scenario), "-o", str(out), "-q"])
    assert result.exit_code == 0, result.output
    write_comparison(out, STRATEGIES)
    return out


@pytest.fixture(scope="module")
def html(compared) -> str:
    return (compared / "report.html").read_text(encoding="utf-8")


def _summary(folder: Path, name: str) -> dict:
    return json.loads((folder / name / "summary.json").read_text(encoding="utf-8"))


def _same(a, b) -> bool:
    """Equal, NaN and None counting as the same missing value."""
    missing_a = a is None or (isinstance(a, float) and math.isnan(a))
    missing_b = b is None or (isinstance(b, float) and math.isnan(b))
    return missing_a and missing_b if missing_a or missing_b else a == b


# ------------------------------------------------------------------------------------------------
# the table
# ------------------------------------------------------------------------------------------------


def test_table_has_a_row_per_strategy_and_the_columns(compared):
    table = comparison_table(compared, STRATEGIES)
    assert list(table.columns) == list(COLUMNS)
    assert table["strategy"].tolist() == STRATEGIES


@pytest.mark.parametrize("name", STRATEGIES)
def test_table_values_are_the_outcome_and_the_timeseries_at_30_days(compared, name):
    row = comparison_table(compared, STRATEGIES).set_index("strategy").loc[name]
    outcome = _summary(compared, name)["outcome"]
    for key in (
        "days_to_no_visible_tumor",
        "scar_ml",
        "normal_lost_ml",
        "sessions_used",
        "systemic_dose_mmol",
        "local_progression_day",
        "stop_reason",
        "viable_tumor_ml",
        "visible_tumor_ml",
    ):
        assert _same(row[key], outcome[key]), key
    ts = pd.read_csv(compared / name / "timeseries.csv")
    assert ts["day"].max() >= 30.0
    at_30 = ts[ts["day"] <= 30.0].iloc[-1]
    assert row["viable_tumor_ml_30d"] == at_30["viable_tumor_ml"]
    assert row["visible_tumor_ml_30d"] == at_30["visible_tumor_ml"]
    assert row["lesion_ml"] == ts["lesion_ml"].iloc[-1]
    treatability = outcome.get("treatability")
    expected = treatability["min_kill_ratio"] if isinstance(treatability, dict) else None
    assert _same(row["min_treatability"], expected)


def test_table_is_nan_for_days_after_the_end_of_the_course(compared):
    table = comparison_table(compared, STRATEGIES)
    for name in STRATEGIES:
        assert _summary(compared, name)["outcome"]["days"] < 90.0
    for day in (90, 180):
        for kind in ("viable", "visible"):
            assert table[f"{kind}_tumor_ml_{day}d"].isna().all()
    assert table["viable_tumor_ml_30d"].notna().all()


def test_table_has_the_treatability_of_every_strategy(compared):
    table = comparison_table(compared, STRATEGIES).set_index("strategy")
    for name in STRATEGIES:
        # every course is measured: its repeat sessions, and its first session given at the end
        treatability = _summary(compared, name)["outcome"]["treatability"]
        assert treatability["final"] is not None
        assert _same(table.loc[name, "min_zone_ratio"], treatability["min_zone_ratio"])
    assert _summary(compared, "essay")["outcome"]["treatability"]["sessions"] == []


def test_comparison_csv_holds_the_table(compared):
    written = pd.read_csv(compared / "comparison.csv")
    pd.testing.assert_frame_equal(
        written, comparison_table(compared, STRATEGIES), check_dtype=False
    )
    assert b"\r\n" not in (compared / "comparison.csv").read_bytes()
    # written through temporary files that were moved into place
    assert not [p.name for p in compared.iterdir() if p.name.endswith(".tmp")]


def test_a_missing_strategy_is_named(compared):
    with pytest.raises(FileNotFoundError, match="'absent'"):
        comparison_table(compared, ["weekly", "absent"])


# ------------------------------------------------------------------------------------------------
# the page
# ------------------------------------------------------------------------------------------------

_REFERENCE = re.compile(r"""\b(?:src|href)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))""", re.I)


def outside_references(page: str) -> list[str]:
    """Every ``src``/``href`` of ``page`` that is neither a ``data:`` URI nor an in-page
    ``#anchor``, and any other way to load something (stylesheet links, CSS ``url()`` and
    ``@import``, scripts)."""
    refs = [next(g for g in m.groups() if g is not None) for m in _REFERENCE.finditer(page)]
    bad = [r for r in refs if not r.startswith(("data:", "#"))]
    bad += re.findall(r"<link\b[^>]*>|<script\b|@import|url\(", page, re.I)
    return bad


@pytest.mark.parametrize(
    ("page", "flagged"),
    [
        ('<img src="data:image/png;base64,AAAA"><a href="#table">t</a>', False),
        ('<img src="course_volumes.png">', True),
        ("<img src=course_volumes.png>", True),
        ('<a href="weekly/report.html">w</a>', True),
        ('<img src="https://example.org/x.png">', True),
        ('<link rel="stylesheet" href="data:text/css,">', True),
        ("<style>body { background: url(x.png); }</style>", True),
    ],
)
def test_the_self_containment_check_can_fail(page, flagged):
    assert bool(outside_references(page)) is flagged


def test_page_is_self_contained(html):
    assert html.startswith("<!DOCTYPE html>")
    assert outside_references(html) == []
    ids = set(re.findall(r'\bid="([^"]+)"', html))
    anchors = re.findall(r'href="#([^"]*)"', html)
    assert anchors
    assert set(anchors) <= ids
    # the figures (time courses, tissue at the same days) are embedded PNG files
    images = re.findall(r'src="data:image/png;base64,([^"]+)"', html)
    assert len(images) == 2
    for data in images:
        assert base64.b64decode(data).startswith(PNG_MAGIC)


def test_page_states_the_research_use_and_what_dose_rule_volumes_are(html):
    head = html[: html.index('id="table"')]
    assert RESEARCH_USE in head
    assert (
        "For research and teaching only, not for treating patients: tissuefate gives no "
        "patient-specific dosing advice." in head
    )
    assert "model inputs" in head
    assert "not dosing recommendations" in head


def test_page_names_every_strategy_in_the_table_and_the_sessions(html):
    for name in STRATEGIES:
        assert f'<th scope="col">{name}</th>' in html
        assert f"<h3>{name}</h3>" in html
    # the sessions table: weekly has two, essay one
    sessions = html[html.index('id="sessions"') : html.index('id="slices"')]
    assert sessions.count("injection (ethanol)") == 2
    assert sessions.count("injection (chlorine_dioxide_essay, UNVALIDATED)") == 1


def test_page_flags_the_unvalidated_preset_of_its_strategy_only(compared, html):
    warning = re.search(r'<div class="warning" role="alert">(.*?)</div>', html, re.DOTALL)
    assert warning is not None
    assert "essay" in warning.group(1)
    assert "weekly" not in warning.group(1)
    section = html[html.index('id="assumptions"') :]
    weekly = section[section.index("<h3>weekly</h3>") : section.index("<h3>essay</h3>")]
    essay = section[section.index("<h3>essay</h3>") :]
    flag = '<span class="flag">UNVALIDATED</span>'
    assert flag not in weekly
    assert flag + "chlorine_dioxide_essay" in essay
    assert "ethanol (calibrated)" in weekly
    # hypotheses active in the sessions and those of the repair model
    assert "<strong>H8</strong>" in weekly
    assert "<strong>H7</strong>" in essay
    assert "<strong>H7</strong>" not in weekly
    assert "H3 (occlusion recovery)" in weekly
    # the claims the outcome was read against, where the course recorded them
    if "hypotheses" in _summary(compared, "weekly"):
        assert "Claims read from the outcome" in weekly
        assert "<strong>H9</strong>" in weekly


def test_render_comparison_is_what_was_written(compared, html):
    assert render_comparison(compared, STRATEGIES) == html


# ------------------------------------------------------------------------------------------------
# snapshots shared by the strategies
# ------------------------------------------------------------------------------------------------


def test_shared_snapshots_match_within_a_day_and_skip_the_tissue_before_treatment():
    days = [np.array([0.0, 1.0, 7.0, 8.0, 14.0, 28.0]), np.array([0.0, 1.0, 7.0, 14.0, 27.5])]
    labels = [
        ["before treatment", "after session 1", "day 7", "after session 2", "day 14", "day 28"],
        ["before treatment", "after session 1", "day 7", "day 14", "day 27.5"],
    ]
    snaps = shared_snapshots(days, labels, most=10)
    assert [s.day for s in snaps] == [1.0, 7.0, 8.0, 14.0, 28.0]
    assert snaps[2].indices == (3, 2)  # day 8 stands for itself and the other's day 7
    assert snaps[-1].days == (28.0, 27.5)
    # at most four, evenly, the first and last kept
    assert [s.day for s in shared_snapshots(days, labels)] == [1.0, 7.0, 14.0, 28.0]
    # nothing within a day: not shared
    assert shared_snapshots([np.array([5.0]), np.array([6.5])], [["day 5"], ["day 6.5"]]) == []
    # only the tissue before treatment is shared: shown rather than nothing
    assert [s.day for s in shared_snapshots([np.zeros(1)] * 2, [["before treatment"]] * 2)] == [0.0]


# ------------------------------------------------------------------------------------------------
# a strategy's own report
# ------------------------------------------------------------------------------------------------


def test_a_strategy_report_embeds_its_figures(compared):
    page = (compared / "weekly" / "report.html").read_text(encoding="utf-8")
    assert outside_references(page) == []
    images = re.findall(r'src="data:image/png;base64,([^"]+)"', page)
    pngs = sorted((compared / "weekly").glob("*.png"))
    assert len(images) == len(pngs) >= 4  # the files are still written alongside
    assert sorted(base64.b64decode(d) for d in images) == sorted(p.read_bytes() for p in pngs)


def test_a_run_without_follow_up_has_no_time_plot_or_repair_section(tmp_path):
    result = synthetic_result(shape=(6, 6, 6), sessions=1, repair_days=30)
    # one session on day 0 and nothing after it: every row on day 0, repair took no step
    result.timeseries = result.timeseries[result.timeseries["day"] == 0.0].reset_index(drop=True)
    result.summary["repair"]["steps"] = 0
    result = dataclasses.replace(result, fields=result.fields.isel(snapshot=[0, 1]))
    names = write_figures(result, tmp_path)
    assert "repair_slices.png" not in names
    page = render_report(result, names)
    assert "Between sessions and follow-up" not in page
    assert "<details" not in page
    assert "Tissue volumes" not in page  # the flat time plot is written but not shown
    assert page.count("<img") == len(names) - 1
    assert outside_references(page) == []
