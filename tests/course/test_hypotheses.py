"""The course's table of the essay's claims: H1, H2 and H9 are read from the course, H3–H8 are
the agents' switches."""

from __future__ import annotations

import pytest

from tissuefate.course.hypotheses import CLAIMS, H9_DAYS, hypothesis_table


def _injection(day, name="chlorine_dioxide_essay", active=True):
    hyp = {
        key: {"active": active, "parameter": f"p{key}", "value": 1.0}
        for key in ("H3", "H4", "H5", "H6", "H7", "H8")
    }
    return {"day": day, "modality": "injection", "agent": {"name": name}, "hypotheses": hyp,
            "normal_necrosis_ml": 0.1}  # fmt: skip


def _outcome(clear=None, scar=0.0, treat=None):
    return {"days": 90.0, "scar_ml": scar, "days_to_no_visible_tumor": clear, "treatability": treat}


def test_every_claim_is_in_the_table_with_its_words():
    table = hypothesis_table([_injection(0.0)], _outcome(), 0.0, None)
    assert list(table) == [f"H{i}" for i in range(1, 10)]
    for key, entry in table.items():
        assert entry["claim"] == CLAIMS[key]


@pytest.mark.parametrize(
    ("days", "clear", "held"),
    [
        ((0.0, 7.0, 14.0), 20.0, True),
        ((0.0, 7.0, 14.0), 0.0 + H9_DAYS, True),
        ((0.0, 7.0, 14.0), 31.0, False),
        ((0.0, 7.0, 14.0), None, False),
        ((5.0, 12.0), 34.0, True),  # a month after the first injection, not after day 0
    ],
)
def test_h9_is_an_outcome_of_repeated_injections(days, clear, held):
    sessions = [_injection(d) for d in days]
    h9 = hypothesis_table(sessions, _outcome(clear), 0.0, None)["H9"]
    assert h9["applies"]
    assert h9["held"] is held
    assert h9["injections"] == len(days)


def test_h9_does_not_apply_to_a_single_injection_or_to_ablation():
    assert not hypothesis_table([_injection(0.0)], _outcome(1.0), 0.0, None)["H9"]["applies"]
    mwa = {"day": 0.0, "modality": "microwave", "normal_necrosis_ml": 12.0}
    table = hypothesis_table([mwa], _outcome(1.0, scar=3.0), 5.0, {"parameters": {}})
    assert not table["H9"]["applies"]
    assert table["H1"]["applies"]
    assert table["H1"]["normal_necrosis_thermal_ml"] == 12.0
    assert "3.00 mL of scar" in table["H1"]["reading"]
    for key in ("H3", "H4", "H5", "H6", "H7", "H8"):
        assert not table[key]["applies"]


def test_h2_reads_the_measured_treatability():
    treat = {"sessions": [], "min_kill_ratio": 0.4}
    h2 = hypothesis_table([_injection(0.0)], _outcome(treat=treat), 0.0, None)["H2"]
    assert h2["applies"]
    assert h2["min_kill_ratio"] == 0.4
    assert not hypothesis_table([_injection(0.0)], _outcome(), 0.0, None)["H2"]["applies"]


def test_switches_name_each_agent_and_whether_it_takes_the_essays_side():
    sessions = [_injection(0.0, "ethanol", False), _injection(7.0, "chlorine_dioxide_essay")]
    h7 = hypothesis_table(sessions, _outcome(), 0.0, None)["H7"]
    assert h7["active"]
    assert set(h7["agents"]) == {"ethanol", "chlorine_dioxide_essay"}
    assert not h7["agents"]["ethanol"]["active"]
