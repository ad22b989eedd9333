"""The diff page (codeetl.pages.diff) on the tiny history warehouse: release choice, grouping, caveats, CLI."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from codeetl.cli import app
from codeetl.errors import CodeEtlError
from codeetl.pages.diff import diff_page
from history_fixture import make_history

runner = CliRunner()


@pytest.fixture(scope="module")
def con():
    return make_history()


def test_grouped_counts_and_lists(con):
    p = diff_page(con, "R2", "R3")
    assert (p["from"]["release"], p["to"]["release"], p["consecutive"]) == ("R2", "R3", True)
    assert p["counts"] == {"codes": {"added": 3, "deleted": 0, "revised": 1, "became_header": 1, "became_billable": 1,
                                     "no_longer_valid": 0},
                           "headers": {"added": 0, "deleted": 1, "revised": 0}, "notes": {"added": 1, "removed": 1}}
    assert p["codes"]["revised"] == [{"code": "A00.1", "old": "Cholera eltor", "new": "Cholera due to Vibrio cholerae 01, biovar eltor"}]
    assert p["headers"]["deleted"] == [{"code": "UD1", "description": "A header dropped in R3"}]
    assert p["notes"]["added"] == [{"code": "A00.0", "note_type": "excludes1", "note": "new note"}]
    assert p["caveats"] == [] and p["msdrg"] is None


def test_release_choice(con):
    assert diff_page(con, "R3")["from"]["release"] == "R2"                  # one release: from the one before it
    p = diff_page(con, "2024-01-01", "2025-10-01")                           # dates, through pick_release
    assert (p["from"]["release"], p["to"]["release"]) == ("R1", "R3")
    assert not p["consecutive"] and any("not consecutive" in c for c in p["caveats"])
    assert any("R1 was loaded from a code file only" in c for c in p["caveats"])
    with pytest.raises(CodeEtlError, match="neither a loaded icd10cm release nor a date"):
        diff_page(con, "R9")
    with pytest.raises(CodeEtlError, match="earliest loaded release"):
        diff_page(con, "R1")
    with pytest.raises(CodeEtlError, match="same release"):
        diff_page(con, "R2", "2025-01-01")


def test_cli(tmp_path):
    (tmp_path / "warehouse").mkdir()
    make_history(tmp_path / "warehouse" / "codeetl.duckdb").close()
    r = runner.invoke(app, ["diff", "R2", "R3", "--data-dir", str(tmp_path), "--limit", "1"])
    assert r.exit_code == 0, r.output
    assert "codes added (3)" in r.output and "... 2 more" in r.output and "notes removed (1)" in r.output
    r = runner.invoke(app, ["diff", "R1", "R2", "--json", "--data-dir", str(tmp_path)])
    assert json.loads(r.stdout)["codes"]["deleted"] == [{"code": "UA1", "description": "Fixture code of R1 only"}]
    r = runner.invoke(app, ["diff", "R9", "--data-dir", str(tmp_path)])
    assert r.exit_code == 1 and "Traceback" not in r.output
