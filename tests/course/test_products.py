"""Reaction products: formed in proportion to the agent consumed, summed over the course."""

from __future__ import annotations

import pytest

from tissuefate.course.controller import simulate
from tissuefate.scenario import loads_scenario

TWICE = """
name: products
grid: {size: [24 mm, 24 mm, 24 mm], spacing: 1 mm}
anatomy:
  tumors: [{name: t1, shape: sphere, center: [0 mm, 0 mm, 0 mm], radius: 5 mm, preset: hcc}]
strategies:
  s:
    sessions:
      - day: 0
        modality: injection
        agent: chlorine_dioxide_literature
        agent_parameters: {chlorite_yield: "0.5", hypochlorous_acid_yield: "0.25"}
        sites: [{tip: [0 mm, 0 mm, 0 mm], direction: [0, 0, -1], volume: 0.3 mL}]
        rate: 30 mL/h
        observe: 10 min
      - day: 7
        modality: injection
        agent: chlorine_dioxide_literature
        agent_parameters: {chlorite_yield: "0.5", hypochlorous_acid_yield: "0.25"}
        sites: [{tip: [0 mm, 0 mm, 0 mm], direction: [0, 0, -1], volume: 0.3 mL}]
        rate: 30 mL/h
        observe: 10 min
repair: {enabled: false}
"""


def test_products_are_the_yields_times_what_was_consumed_and_add_up_over_the_course():
    summary = simulate(loads_scenario(TWICE)).summary
    total = {"chlorite": 0.0, "hypochlorous_acid": 0.0}
    for s in summary["sessions"]:
        consumed = s["injection"]["consumed_mmol"]
        formed = s["systemic_dose"]["reaction_products_formed_mmol"]
        assert consumed > 0
        assert formed["chlorite"] == pytest.approx(0.5 * consumed, rel=1e-12)
        assert formed["hypochlorous_acid"] == pytest.approx(0.25 * consumed, rel=1e-12)
        for name in total:
            total[name] += formed[name]
    assert len(summary["sessions"]) == 2
    assert summary["outcome"]["reaction_products_mmol"] == pytest.approx(total)
    agent_total = sum(s["systemic_dose"]["amount_mmol"] for s in summary["sessions"])
    assert summary["outcome"]["systemic_dose_mmol"] == pytest.approx(agent_total)
