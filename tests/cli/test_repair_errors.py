"""Bad repair settings in a scenario: one clear line naming the file and key, exit code 2."""

from __future__ import annotations

import pytest
import yaml
from typer.testing import CliRunner

from tissuefate.cli import app

SCENARIO = """
name: followup
grid: {size: [36 mm, 36 mm, 36 mm], spacing: 1 mm}
strategies:
  s:
    sessions:
      - modality: microwave
        applicators: [{tip: [0 mm, 0 mm, -8 mm], direction: [0, 0, -1], antenna: dual_slot}]
        power: 15 W
        duration: 2 min
follow_up: 10 d
"""


@pytest.mark.parametrize(
    ("repair", "key"),
    [
        ({"parameters": {"nonsense": "1"}}, "repair.parameters.nonsense"),
        ({"parameters": {"edema_time": "3 mm"}}, "repair.parameters.edema_time"),
        ({"step": "0 h"}, "repair.step"),
        ({"growth_law": "cubic"}, "repair.growth_law"),
    ],
)
def test_bad_repair_settings_are_a_clear_error(tmp_path, error_line, repair, key):
    raw = yaml.safe_load(SCENARIO)
    raw["repair"] = repair
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(raw))
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["run", str(path), "-o", str(out)])
    assert result.exit_code == 2, result.output
    line = error_line(result)
    assert "s.yaml" in line
    assert key in line
    assert not out.exists()
