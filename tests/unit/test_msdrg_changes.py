"""msdrg_changes / msdrg_diff (defined in datasets/ipps/views_history.sql: they compare grouper versions with
their IPPS weights) on two tiny grouper versions whose every difference is known."""

from __future__ import annotations

import duckdb
import pytest

from _shared import apply_dataset_sql, apply_schema

DRGS = {  # version -> [(drg, mdc, type, title)]
    "vA": [("001", "01", "M", "Alpha with MCC"), ("002", "01", "M", "Alpha without MCC"), ("003", "02", "P", "Beta"),
           ("004", "03", "M", "Gamma Old with CC/MCC"), ("005", "03", "M", "Gamma Old without CC/MCC"), ("009", "05", "M", "Gone")],
    "vB": [("001", "01", "M", "Alpha with MCC"), ("002", "01", "M", "Alpha without MCC"), ("003", "04", "M", "Beta Procedures"),
           ("004", "03", "M", "Gamma New with CC/MCC"), ("005", "03", "M", "Gamma New without CC/MCC"), ("010", "05", "M", "New DRG")],
}
DX = {  # version -> [(dx, mdc, drg)]
    "vA": [("D1", "01", "001"), ("D1", "01", "002"), ("D2", "03", "004"), ("D2", "03", "005"), ("D3", "05", "009"),
           ("D4", "01", "001"), ("D4", "01", "002"), ("D6", "01", "001")],
    "vB": [("D1", "01", "001"), ("D1", "01", "002"), ("D2", "03", "004"), ("D2", "03", "005"), ("D3", "05", "010"),
           ("D4", "04", "003"), ("D5", "01", "002")],
}


@pytest.fixture(scope="module")
def con():
    c = duckdb.connect()
    apply_schema(c, "tables")
    for v, day in (("vA", "2024-10-01"), ("vB", "2025-10-01")):
        c.execute("INSERT INTO releases (dataset, release, label, effective_from, effective_to, source_url, fetched_from, sha256, fetched_at, loaded_at) VALUES ('msdrg', ?, ?, ?, NULL, 'u', 'u', 's', NULL, now())", [v, v, day])
        c.executemany("INSERT INTO msdrg_drg_def VALUES (?, ?, ?, ?, ?)", [(v, *d) for d in DRGS[v]])
        c.executemany("INSERT INTO msdrg_dx_drg VALUES (?, ?, ?, ?)", [(v, *d) for d in DX[v]])
    apply_dataset_sql(c, "msdrg", "derive")  # msdrg_versions, as a build fills it once every release is loaded
    apply_dataset_sql(c, "ipps", "views")  # views.sql (msdrg_drg: families) then views_history.sql
    return c


def test_drg_changes(con):
    got = set(con.execute("SELECT change, subject, old, new FROM msdrg_changes WHERE subject_kind = 'drg'").fetchall())
    assert got == {("added", "010", None, "New DRG"), ("deleted", "009", "Gone", None),
                   ("retitled", "003", "Beta", "Beta Procedures"), ("mdc_changed", "003", "02", "04"),
                   ("type_changed", "003", "P", "M"),
                   ("retitled", "004", "Gamma Old with CC/MCC", "Gamma New with CC/MCC"),
                   ("retitled", "005", "Gamma Old without CC/MCC", "Gamma New without CC/MCC")}


def test_dx_changes(con):
    got = dict(con.execute("SELECT subject, change FROM msdrg_changes WHERE subject_kind = 'dx'").fetchall())
    assert got == {"D2": "family_retitled", "D3": "family_changed", "D4": "mdc_changed", "D5": "added", "D6": "deleted"}


def test_dx_change_text_shows_mdc_family_and_drgs(con):
    old, new = con.execute("SELECT old, new FROM msdrg_changes WHERE subject = 'D2'").fetchone()
    assert (old, new) == ("03 Gamma Old (004,005)", "03 Gamma New (004,005)")
    assert con.execute("SELECT old, new FROM msdrg_changes WHERE subject = 'D4'").fetchone() == (
        "01 Alpha (001,002)", "04 Beta Procedures (003)")


def test_pairs_and_macro(con):
    assert con.execute("SELECT DISTINCT from_version, to_version FROM msdrg_changes").fetchall() == [("vA", "vB")]
    assert con.execute("SELECT count(*) FROM msdrg_diff('vA', 'vB')").fetchone() == con.execute(
        "SELECT count(*) FROM msdrg_changes").fetchone()
    # the reverse direction swaps added and deleted
    assert set(con.execute("SELECT subject FROM msdrg_diff('vB', 'vA') WHERE change = 'added'").fetchall()) == {("009",), ("D6",)}


@pytest.mark.parametrize("table, duplicate, restore, named", [
    ("msdrg_dx_drg", "INSERT INTO msdrg_dx_drg VALUES ('vB', 'D5', '01', '002')",
     ["DELETE FROM msdrg_dx_drg WHERE version = 'vB' AND dx = 'D5'", "INSERT INTO msdrg_dx_drg VALUES ('vB', 'D5', '01', '002')"], "D5"),
    ("msdrg_dx", "INSERT INTO msdrg_dx VALUES ('vB', 'D5', 'Five'), ('vB', 'D5', 'Five again')",
     ["DELETE FROM msdrg_dx WHERE version = 'vB' AND dx = 'D5'"], "msdrg_dx"),
])
def test_a_duplicated_appendix_b_row_fails_the_unique_keys_gate(con, table, duplicate, restore, named):
    """msdrg_dx_drg and msdrg_dx have no PRIMARY KEY (their indexes cost 4 s of every load): the gate msdrg.unique_keys is what
    refuses their rows twice (the parser de-duplicates the file's own lines; a version loaded twice would not be)."""
    from codeetl.build import gates

    gate = [g for g in gates.load_gates() if g.name == "msdrg.unique_keys"]
    assert gates.run_gates(con, gate)[0].passed
    con.execute(duplicate)
    try:
        result = gates.run_gates(con, gate)[0]
        assert not result.passed and named in gates.failure_message([result])
    finally:
        for statement in restore:
            con.execute(statement)
