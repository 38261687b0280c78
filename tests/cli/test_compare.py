"""`tissuefate compare` runs every strategy on the same anatomy and writes comparison.json."""

import json

import pytest
from typer.testing import CliRunner

from tissuefate.cli import app

SCENARIO = """
name: two-strategies
grid: {size: [16 mm, 16 mm, 16 mm], spacing: 1 mm}
anatomy:
  tumors: [{name: t1, shape: sphere, center: [0 mm, 0 mm, 0 mm], radius: 3 mm}]
strategies:
  weak:
    sessions:
      - {modality: heat_source, duration: 20 s, cooldown: 0 s,
         sources: [{shape: sphere, center: [0 mm, 0 mm, 0 mm], radius: 2 mm, power: 0.5 W}]}
  strong:
    sessions:
      - {modality: heat_source, duration: 20 s, cooldown: 0 s,
         sources: [{shape: sphere, center: [0 mm, 0 mm, 0 mm], radius: 2 mm, power: 2 W}]}
outputs: {figures: false, report: false}
"""


@pytest.mark.slow
def test_compare_writes_every_strategy_and_ranks_their_effect(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text(SCENARIO, encoding="utf-8")
    out = tmp_path / "cmp"
    result = CliRunner().invoke(app, ["compare", str(path), "-o", str(out), "-q"])
    assert result.exit_code == 0, result.output
    comparison = json.loads((out / "comparison.json").read_text(encoding="utf-8"))
    assert set(comparison["strategies"]) == {"weak", "strong"}
    for name in ("weak", "strong"):
        assert (out / name / "summary.json").is_file()
    weak = comparison["strategies"]["weak"]["sessions"][0]
    strong = comparison["strategies"]["strong"]["sessions"][0]
    # four times the power heats more and kills at least as much of the same tumour
    assert strong["peak_temperature_c"] > weak["peak_temperature_c"]
    assert strong["tumor_kill_fraction"] >= weak["tumor_kill_fraction"]
    assert strong["delivered"]["energy_j"] == pytest.approx(4 * weak["delivered"]["energy_j"])
