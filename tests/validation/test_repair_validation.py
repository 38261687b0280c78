"""The repair rows of ``tissuefate validate``: the involution of a thermal ablation zone against
the thyroid RFA surrogate and fibrosis by day 7 after chemical ablation."""

from __future__ import annotations

import pytest

from tissuefate.validation.cases import repair_chemical, repair_involution


@pytest.mark.slow
def test_the_ablation_zone_involutes_as_the_calibration_surrogate():
    rows = repair_involution()
    assert len(rows) == 3
    for row in rows:
        assert row.ok, row
    reductions = [row.simulated for row in rows]
    assert reductions == sorted(reductions)  # the zone keeps shrinking over the year


@pytest.mark.slow
def test_chemical_agents_scar_by_day_7_and_the_essay_preset_is_only_reported():
    rows = {row.case.split(",")[0]: row for row in repair_chemical()}
    for agent in ("ethanol", "acetic_acid", "chlorine_dioxide_literature"):
        assert rows[agent].ok, rows[agent]
    essay = rows["chlorine_dioxide_essay"]
    assert essay.as_dict()["ok"] is None
    # what the essay's parameters imply (immunogenicity 0.2, matrix kept): no fibrosis
    assert essay.simulated < 0.1 * rows["ethanol"].simulated
