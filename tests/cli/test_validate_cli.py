"""``tissuefate validate --quick``: the exact solutions, conservation laws and consistency checks,
every row labelled with what its comparison is worth, all passing on a good install."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from tissuefate.cli import app
from tissuefate.validation.cases import CASES, GROUPS, KINDS, QUICK_CASES, resolve_cases


@pytest.mark.slow
def test_quick_validation_passes_and_labels_every_row():
    result = CliRunner().invoke(app, ["validate", "--quick", "--json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert len(rows) >= 15
    assert all(row["ok"] for row in rows), [r for r in rows if not r["ok"]]
    assert {row["kind"] for row in rows} == {"exact", "consistency"}
    # the Arrhenius rows check the kernel against its own formula: consistency, not exact
    arrhenius = [row for row in rows if row["case"].startswith("Arrhenius")]
    assert arrhenius
    assert all(row["kind"] == "consistency" for row in arrhenius)


def test_quick_cases_are_cases_and_the_kinds_are_the_documented_ones():
    assert set(QUICK_CASES) < set(CASES)
    assert KINDS == ("exact", "consistency", "fitted", "predicted", "judged", "reported")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--only", "bogus"], "--only bogus: no such case or group"),
        (["--only", "calibration", "--quick"], "--quick and --only"),
    ],
)
def test_validate_refuses_unknown_or_conflicting_case_choices(args, message):
    result = CliRunner().invoke(app, ["validate", *args])
    assert result.exit_code == 2
    assert message in result.output
    assert "Traceback" not in result.output


def test_only_runs_the_named_cases_and_groups_in_case_order():
    assert resolve_cases(["calibration"]) == list(GROUPS["calibration"])
    assert resolve_cases(["energy", "heated_sphere"]) == ["heated_sphere", "energy"]
    assert set(GROUPS["calibration"]) <= set(CASES)
    with pytest.raises(KeyError):
        resolve_cases(["calibration", "nothing"])


def test_only_energy_prints_its_rows_as_json():
    result = CliRunner().invoke(app, ["validate", "--only", "energy", "--json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert rows
    assert {row["kind"] for row in rows} == {"exact"}  # the energy balances only
    assert all("energy" in row["case"] for row in rows)
