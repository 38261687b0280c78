"""``tissuefate validate --quick``: the exact solutions, conservation laws and consistency checks,
every row labelled with what its comparison is worth, all passing on a good install."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from tissuefate.cli import app
from tissuefate.validation.cases import CASES, KINDS, QUICK_CASES


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
