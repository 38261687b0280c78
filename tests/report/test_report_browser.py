"""The reports as a browser shows them: the comparison page, a strategy's own report (one of
injections, one of an IRE session, which also shows its table of electrode pairs) and a study's
report, opened from disk in headless Chromium (Debian's ``chromium``), load nothing but
themselves, log no console message and show plots.

Without ``/usr/bin/chromium`` the tests are skipped, except on CI (``CI=true``), where they fail.
Each check is first shown to fail on a page made to fail it: one that logs a console error, one
with an image file that is missing, one with the figures taken out, and a blank one.
"""

from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

import matplotlib.image as mpimg
import numpy as np
import pytest
from typer.testing import CliRunner

from tissuefate.cli import app
from tissuefate.report.comparison import write_comparison

pytestmark = pytest.mark.slow

CHROMIUM = Path("/usr/bin/chromium")
#: Flags of the headless run. ``--vmodule`` logs every file the page loads (FileURLLoader), so
#: that a reference to a file, missing or not, is seen; console messages are logged at ``--v=0``.
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--enable-logging=stderr",
    "--v=0",
    "--vmodule=file_url_loader_factory=1",
    "--virtual-time-budget=5000",
    "--window-size=1280,2000",
)
#: A page shows plots when at least this fraction of its pixels is not white, ...
MIN_INK = 0.05
#: ... it has at least this many distinct saturated colours (text, links and the coloured boxes
#: of a report without its figures give about 500) ...
MIN_COLOURS = 800
#: ... and at least this many long (:data:`LINE_PX`) straight dark lines: the frames of plot axes
#: (text and the light table borders give none).
MIN_LINES = 8
LINE_PX = 150

#: Two strategies of one injection each, followed for 10 days.
SCENARIO = """\
name: browser-small
seed: 5
grid: {size: [24 mm, 24 mm, 24 mm], spacing: 1 mm}
anatomy:
  tumors: [{name: t1, shape: sphere, center: [0 mm, 0 mm, 0 mm], radius: 5 mm, preset: hcc}]
strategies:
  ethanol:
    sessions:
      - {day: 1, modality: injection, agent: ethanol, rate: 30 mL/h, observe: 10 min,
         sites: [{tip: [0 mm, 0 mm, 0 mm], direction: [0, 0, -1], volume: 0.3 mL}]}
  essay:
    sessions:
      - {day: 1, modality: injection, agent: chlorine_dioxide_essay, rate: 30 mL/h,
         observe: 10 min, sites: [{tip: [0 mm, 0 mm, 0 mm], direction: [0, 0, -1], volume: 0.3 mL}]}
follow_up: 10 d
repair: {step: 24 h}
outputs: {snapshots: [0 d, 5 d, 11 d]}
"""


@pytest.fixture(scope="module")
def chromium() -> Path:
    if CHROMIUM.is_file():
        return CHROMIUM
    if os.environ.get("CI") == "true":
        pytest.fail(f"{CHROMIUM} is missing; install Debian's chromium package on CI")
    pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium)")


@dataclass
class Shown:
    """What Chromium did with a page: its screenshot (an RGB(A) array), the console messages it
    logged, and the files it loaded (``file://`` URIs, the page included)."""

    screenshot: np.ndarray
    console: list[str]
    loaded: list[str]
    errors: list[str]


def show(chromium: Path, page: Path, tmp: Path) -> Shown:
    """Open ``page`` in headless Chromium and take a 1280 × 2000 screenshot."""
    shot = tmp / f"{page.stem}-{len(list(tmp.glob('*.png')))}.png"
    done = subprocess.run(
        [
            str(chromium),
            *FLAGS,
            f"--user-data-dir={tmp / 'profile'}",
            f"--screenshot={shot}",
            page.resolve().as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert shot.is_file(), f"no screenshot:\n{done.stderr[-3000:]}"
    lines = done.stderr.splitlines()
    return Shown(
        screenshot=mpimg.imread(shot),
        console=[line for line in lines if re.search(r"\bCONSOLE\b", line)],
        loaded=[m.group(1) for m in re.finditer(r"FileURLLoader::Start: (\S+)", done.stderr)],
        errors=[line for line in lines if "net::ERR_" in line],
    )


def plot_measures(image: np.ndarray) -> dict[str, float]:
    """Ink (the fraction of pixels that are not white), the number of distinct saturated
    colours, and the number of straight dark (near-black, grey) lines of at least
    :data:`LINE_PX` pixels along rows and columns."""
    rgb = np.round(np.asarray(image)[..., :3] * 255.0).astype(np.int32)
    hi, lo = rgb.max(axis=2), rgb.min(axis=2)
    saturated = rgb[(hi - lo) > 60]
    dark = (hi < 90) & ((hi - lo) < 25)

    def lines(mask: np.ndarray) -> int:
        edges = np.diff(np.pad(mask.astype(np.int8), ((0, 0), (1, 1))), axis=1)
        starts, ends = np.nonzero(edges == 1), np.nonzero(edges == -1)
        return int(((ends[1] - starts[1]) >= LINE_PX).sum())

    return {
        "ink": float((lo < 235).mean()),
        "colours": len(np.unique(saturated @ np.array([1 << 16, 1 << 8, 1]))),
        "lines": lines(dark) + lines(dark.T),
    }


def shows_plots(image: np.ndarray, min_colours: int = MIN_COLOURS) -> bool:
    m = plot_measures(image)
    return m["ink"] >= MIN_INK and m["colours"] >= min_colours and m["lines"] >= MIN_LINES


def check_page(chromium: Path, page: Path, tmp: Path, min_colours: int = MIN_COLOURS) -> Shown:
    """Open ``page`` and assert that it loaded only itself, logged nothing to the console and
    shows plots."""
    shown = show(chromium, page, tmp)
    uri = page.resolve().as_uri()
    assert uri in shown.loaded  # the log of loaded files works ...
    assert [u for u in shown.loaded if u != uri] == []  # ... and nothing else was loaded
    assert shown.errors == []
    assert shown.console == []
    assert shows_plots(shown.screenshot, min_colours), plot_measures(shown.screenshot)
    return shown


@pytest.fixture(scope="module")
def compared(chromium, tmp_path_factory) -> Path:
    base = tmp_path_factory.mktemp("browser")
    (base / "course.yaml").write_text(SCENARIO, encoding="utf-8")
    out = base / "out"
    done = CliRunner().invoke(app, ["compare", str(base / "course.yaml"), "-o", str(out), "-q"])
    assert done.exit_code == 0, done.output
    write_comparison(out, ["ethanol", "essay"])
    return out


def test_the_comparison_report_loads_only_itself_and_shows_plots(chromium, compared, tmp_path):
    check_page(chromium, compared / "report.html", tmp_path)


def test_a_strategy_report_loads_only_itself_and_shows_plots(chromium, compared, tmp_path):
    check_page(chromium, compared / "essay" / "report.html", tmp_path)


#: One irreversible electroporation session: two electrodes 10 mm apart, 60 pulses.
IRE_SCENARIO = """\
name: browser-ire
seed: 3
grid: {size: [32 mm, 32 mm, 32 mm], spacing: 1 mm}
anatomy:
  tumors: [{name: t1, center: [0 mm, 0 mm, 0 mm], radius: 5 mm, preset: colorectal_metastasis}]
strategies:
  ire:
    sessions:
      - modality: ire
        electrodes:
          - {tip: [-5 mm, 0 mm, -6 mm], direction: [0, 0, -1], exposure: 12 mm}
          - {tip: [5 mm, 0 mm, -6 mm], direction: [0, 0, -1], exposure: 12 mm}
        voltage: 1500 V
        pulses: 60
        cooldown: 10 s
repair: {enabled: false}
"""


@pytest.fixture(scope="module")
def ire_report(chromium, tmp_path_factory) -> Path:
    base = tmp_path_factory.mktemp("ire")
    (base / "ire.yaml").write_text(IRE_SCENARIO, encoding="utf-8")
    out = base / "out"
    done = CliRunner().invoke(app, ["run", str(base / "ire.yaml"), "-o", str(out), "-q"])
    assert done.exit_code == 0, done.output
    return out / "report.html"


def test_an_ire_report_shows_its_pairs_and_field_figures(chromium, ire_report, tmp_path):
    html = ire_report.read_text(encoding="utf-8")
    assert html.count('<table class="pairs">') == 1
    assert "Thermal share of the lethal zone" in html
    for kind in ("Largest electric field over the electrode pairs", "Share of the tumour"):
        assert re.search(rf'<img src="data:image/png;base64,[^"]+" alt="{kind}', html), kind
    check_page(chromium, ire_report, tmp_path)


@pytest.fixture(scope="module")
def study_report(tmp_path_factory) -> Path:
    pytest.importorskip("SALib")
    from _study_models import failing_on_large_x1, ishigami_study
    from tissuefate.study.sweep import run_study

    out = tmp_path_factory.mktemp("study")
    # a Sobol' design whose failed samples are listed and marked on the scatter, and whose output
    # with failures gets no indices (the note says why) while the event still has its probability
    run_study(ishigami_study("sobol", 64), failing_on_large_x1, out, ["f/y", "f/high"])
    return out / "report.html"


#: Distinct saturated colours a study page shows at least: its plots are single-colour bars and
#: points (measured 410 for the page of :func:`study_report`; the same page without its figures
#: has none of the plot axes' long lines, which is what tells the two apart).
STUDY_COLOURS = 200


def test_a_study_report_loads_only_itself_and_shows_plots(chromium, study_report, tmp_path):
    html = study_report.read_text(encoding="utf-8")
    assert "Failed samples" in html
    assert "indices need them all" in html
    check_page(chromium, study_report, tmp_path, STUDY_COLOURS)


def test_a_study_report_without_its_figures_does_not_count_as_plots(
    chromium, study_report, tmp_path
):
    html = study_report.read_text(encoding="utf-8")
    text_only = re.sub(r"<figure>.*?</figure>", "", html, flags=re.DOTALL)
    assert text_only != html
    stripped = tmp_path / "text_only.html"
    stripped.write_text(text_only, encoding="utf-8")
    assert not shows_plots(show(chromium, stripped, tmp_path).screenshot, STUDY_COLOURS)


# ------------------------------------------------------------------------------------------------
# each check fails on a page made to fail it
# ------------------------------------------------------------------------------------------------


def test_a_console_error_is_seen(chromium, tmp_path):
    page = tmp_path / "error.html"
    page.write_text(
        "<!DOCTYPE html><html><body><p>text</p>"
        "<script>console.error('deliberate failure');</script></body></html>",
        encoding="utf-8",
    )
    shown = show(chromium, page, tmp_path)
    assert any("deliberate failure" in line for line in shown.console)


def test_a_missing_image_is_seen(chromium, tmp_path):
    page = tmp_path / "missing.html"
    page.write_text(
        '<!DOCTYPE html><html><body><p>text</p><img src="missing.png"></body></html>',
        encoding="utf-8",
    )
    shown = show(chromium, page, tmp_path)
    assert (tmp_path / "missing.png").resolve().as_uri() in shown.loaded
    with pytest.raises(AssertionError):
        check_page(chromium, page, tmp_path)


@pytest.mark.parametrize("page", ["report.html", "essay/report.html"])
def test_a_report_without_its_figures_does_not_count_as_plots(chromium, compared, tmp_path, page):
    html = (compared / page).read_text(encoding="utf-8")
    text_only = re.sub(r"<figure>.*?</figure>", "", html, flags=re.DOTALL)
    assert text_only != html
    stripped = tmp_path / "text_only.html"
    stripped.write_text(text_only, encoding="utf-8")
    assert not shows_plots(show(chromium, stripped, tmp_path).screenshot)


def test_a_blank_page_does_not_count_as_plots(chromium, tmp_path):
    page = tmp_path / "blank.html"
    page.write_text("<!DOCTYPE html><html><body></body></html>", encoding="utf-8")
    assert not shows_plots(show(chromium, page, tmp_path).screenshot)
