"""Addenda parsers, the derived release (derive.sql) and the addenda gates (gates.sql) on small fixtures written
for these tests (tests/fixtures/icd10cm/): an order addenda file in CMS's layout, a code addenda file in the
layout codeetl documents (no CMS code addenda file was available offline), and a two-release warehouse."""

from __future__ import annotations

from pathlib import Path

import duckdb
import polars as pl
import pytest

from _shared import apply_schema
from codeetl.build import gates
from codeetl.datasets import dataset
from codeetl.datasets.icd10cm import addenda
from codeetl.errors import SourceFormatError
from codeetl.build.warehouse_sql import insert_frame, schema_scripts

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "icd10cm"
ORDER = FIX / "icd10cm_order_addenda_2099.txt"
CODES = FIX / "icd10cm_codes_addenda_2099.txt"


def test_order_addenda_lines_and_trailer():
    a, t = addenda.parse_order_addenda(ORDER, "2099")
    assert a.select("line_no", "action", "code", "is_billable").rows() == [
        (1, "add", "A01.01", True), (2, "delete", "A01.1", True), (3, "add", "A01.1", False), (4, "add", "A01.11", True),
        (5, "revise_from", "A02.0", True), (6, "revise_to", "A02.0", True)]
    first = a.row(0, named=True)
    assert (first["short_description"], first["description"]) == ("Typhoid fever with fixture one", "Typhoid fever with fixture one, long title")
    totals = {r["kind"]: r for r in t.iter_rows(named=True)}
    assert (totals["codes"]["count_before"], totals["codes"]["count_after"], totals["codes"]["additions"],
            totals["codes"]["deletions"], totals["codes"]["revisions"]) == (4, 5, 2, 1, 1)
    assert (totals["headers"]["count_before"], totals["headers"]["count_after"], totals["headers"]["file_after"]) == (3, 4, "icd10cm_order_2099.txt")


def test_trailer_must_agree_with_the_lines(tmp_path):
    f = tmp_path / "icd10cm_order_addenda_2099.txt"
    f.write_text(ORDER.read_text().replace("      2 additions", "      3 additions"))
    with pytest.raises(SourceFormatError, match=r"line 19: expected the trailer's codes additions \(3\) to equal the number of such lines \(2\)"):
        addenda.parse_order_addenda(f, "2099")
    f.write_text(ORDER.read_text().replace("      5 codes in", "      6 codes in"))
    with pytest.raises(SourceFormatError, match=r"codes after = before \+ additions - deletions"):
        addenda.parse_order_addenda(f, "2099")


def test_malformed_addenda_line_names_the_line(tmp_path):
    f = tmp_path / "icd10cm_order_addenda_2099.txt"
    lines = ORDER.read_text().splitlines()
    lines[2] = lines[2][:13] + "7" + lines[2][14:]
    f.write_text("\n".join(lines) + "\n")
    with pytest.raises(SourceFormatError, match=r"line 3: expected action \(cols 1-12\), flag 0/1"):
        addenda.parse_order_addenda(f, "2099")
    lines = ORDER.read_text().splitlines()
    lines[5] = lines[5].replace("A020", "A021")
    f.write_text("\n".join(lines) + "\n")
    with pytest.raises(SourceFormatError, match=r"line 6: expected a 'Revise to:' line right after the 'Revise from:' line"):
        addenda.parse_order_addenda(f, "2099")


def test_code_addenda_fixture_and_agreement_with_order_addenda(tmp_path):
    """The code addenda (layout documented, not seen offline) must be the order addenda's valid-code lines."""
    order, _ = addenda.parse_order_addenda(ORDER, "2099")
    codes, totals = addenda.parse_code_addenda(CODES, "2099")
    assert codes.select("action", "code", "is_billable", "description").rows() == [
        ("add", "A01.01", True, "Typhoid fever with fixture one, long title"), ("delete", "A01.1", True, "Paratyphoid fever A"),
        ("add", "A01.11", True, "Paratyphoid fever A, acute"), ("revise_from", "A02.0", True, "Salmonella enteritis"),
        ("revise_to", "A02.0", True, "Salmonella enteritis, revised long")]
    assert codes["short_description"].is_null().all() and totals.height == 0
    addenda.check_code_addenda(order, codes, str(CODES))
    f = tmp_path / "icd10cm_codes_addenda_2099.txt"
    f.write_text(CODES.read_text().replace("A0111   Paratyphoid fever A, acute", "A0112   Paratyphoid fever A, acute"))
    with pytest.raises(SourceFormatError, match=r"line 3: expected every line of the code addenda to be a flag-1 line of the order addenda"):
        addenda.check_code_addenda(order, addenda.parse_code_addenda(f, "2099")[0], str(f))


# ------------------------------------------------------------------------------------ warehouse: derive + gates

BASE = [  # release 2098: (code, is_billable, description)
    ("A00", False, "Cholera"), ("A00.0", True, "Cholera due to fixture"),
    ("A01", False, "Typhoid and paratyphoid fevers"), ("A01.1", True, "Paratyphoid fever A"),
    ("A02", False, "Other salmonella infections"), ("A02.0", True, "Salmonella enteritis"), ("A02.1", True, "Salmonella sepsis"),
]
NEW = [  # release 2099 as its own files would give it: BASE changed exactly as the fixture addenda say
    ("A00", False, "Cholera"), ("A00.0", True, "Cholera due to fixture"),
    ("A01", False, "Typhoid and paratyphoid fevers"), ("A01.01", True, "Typhoid fever with fixture one, long title"),
    ("A01.1", False, "Paratyphoid fever A"), ("A01.11", True, "Paratyphoid fever A, acute"),
    ("A02", False, "Other salmonella infections"), ("A02.0", True, "Salmonella enteritis, revised long"), ("A02.1", True, "Salmonella sepsis"),
]


def _codes(release: str, rows: list[tuple]) -> pl.DataFrame:
    out = []
    for seq, (code, billable, desc) in enumerate(rows, 1):
        nodot = code.replace(".", "")
        parent = next((c for c, _, _ in reversed(rows) if c != code and nodot.startswith(c.replace(".", ""))), None)
        out.append({"release": release, "code": code, "code_nodot": nodot, "description": desc, "description_tabular": desc,
                    "is_billable": billable, "parent": parent, "category": code[:3], "section": "A00-A09", "chapter": 1,
                    "depth": 1 if len(nodot) == 3 else nodot.count("") - 3, "seventh_char": None, "seventh_char_from": None, "seq": seq})
    return pl.DataFrame(out, schema_overrides={"chapter": pl.Int16, "depth": pl.Int16, "seq": pl.Int32})


def _warehouse(with_new: bool, new_rows: list[tuple] = NEW) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    apply_schema(con, "tables")
    cols = "(dataset, release, label, effective_from, effective_to, source_url, fetched_from, sha256, fetched_at, loaded_at)"
    con.execute(f"INSERT INTO releases {cols} VALUES ('icd10cm', '2098', 'FY2098 (October 1, 2097)', '2097-10-01', '2098-09-30', 'u', 'u', 's', NULL, now())")
    con.execute(f"INSERT INTO releases {cols} VALUES ('icd10cm', '2099', 'FY2099 (October 1, 2098)', '2098-10-01', NULL, 'u', 'u', 's', NULL, now())")
    con.execute("INSERT INTO source_files VALUES ('icd10cm', '2099', 'order_addenda', 'icd10cm_order_addenda_2099.txt', 1, 's', 'u')")
    con.execute("INSERT INTO icd10cm_chapters VALUES ('2098', 1, 'Certain infectious and parasitic diseases', 'A00', 'B99')")
    con.execute("INSERT INTO icd10cm_sections VALUES ('2098', 'A00-A09', 1, 'Intestinal infectious diseases', 'A00', 'A09', NULL)")
    con.execute("INSERT INTO icd10cm_notes VALUES ('2098', 'code', 'A02.1', 'inclusionTerm', 1, 1, 'Salmonella bacteremia', []), "
                "('2098', 'code', 'A01.1', 'excludes1', 1, 2, 'something else', [])")
    insert_frame(con, "icd10cm_codes", _codes("2098", BASE))
    if with_new:
        insert_frame(con, "icd10cm_codes", _codes("2099", new_rows))
    a, t = addenda.parse_order_addenda(ORDER, "2099")
    insert_frame(con, "icd10cm_addenda", a)
    insert_frame(con, "icd10cm_addenda_totals", t)
    for _, text in schema_scripts("derive"):
        con.execute(text)
    return con


ADDENDA_GATES = ("icd10cm.addenda_base_count", "icd10cm.addenda_count_after", "icd10cm.addenda_equal_diff")


def icd_gates(con) -> dict[str, list[tuple]]:
    """The addenda gates, read by the gate runner (codeetl.build.gates) -> their offending rows."""
    return {g.name: con.execute(g.sql).fetchall() for g in gates.load_gates() if g.name in ADDENDA_GATES}


def test_both_releases_loaded_and_the_diff_equals_the_addenda():
    con = _warehouse(with_new=True)
    assert con.execute("SELECT release, base_release, count_matches, derived FROM icd10cm_addenda_base").fetchall() == [("2099", "2098", True, False)]
    assert icd_gates(con) == {"icd10cm.addenda_base_count": [], "icd10cm.addenda_count_after": [], "icd10cm.addenda_equal_diff": []}
    assert con.execute("SELECT count(*) FROM releases WHERE derived_from IS NOT NULL").fetchone()[0] == 0


@pytest.mark.parametrize("change, problem", [
    (lambda rows: [r for r in rows if r[0] != "A01.11"], "expected from the old release and the addenda, but not in the new release"),
    (lambda rows: rows + [("A02.2", True, "Localized salmonella infections")], "in the new release, but neither in the old one nor added"),
    (lambda rows: [(c, b, "Salmonella enteritis, other title") if c == "A02.0" else (c, b, d) for c, b, d in rows], "title differs from the addenda"),
    (lambda rows: [(c, b, "Cholera, retitled") if c == "A00.0" else (c, b, d) for c, b, d in rows], "title changed without a revision"),
    (lambda rows: [(c, not b, d) if c == "A01.1" else (c, b, d) for c, b, d in rows], "in the new release, but neither"),
])
def test_a_new_release_that_disagrees_with_its_addenda_fails_the_gate(change, problem):
    gates = icd_gates(_warehouse(with_new=True, new_rows=change(list(NEW))))
    assert any(problem in str(r) for r in gates["icd10cm.addenda_equal_diff"]), gates


def test_release_derived_from_the_previous_one_and_the_addenda():
    con = _warehouse(with_new=False)
    got = con.execute("SELECT code, is_billable, description, parent, depth, description_tabular FROM icd10cm_codes "
                      "WHERE release = '2099' ORDER BY seq").fetchall()
    assert got == [
        ("A00", False, "Cholera", None, 1, "Cholera"), ("A00.0", True, "Cholera due to fixture", "A00", 2, "Cholera due to fixture"),
        ("A01", False, "Typhoid and paratyphoid fevers", None, 1, "Typhoid and paratyphoid fevers"),
        ("A01.01", True, "Typhoid fever with fixture one, long title", "A01", 2, None),
        ("A01.1", False, "Paratyphoid fever A", "A01", 2, None),
        ("A01.11", True, "Paratyphoid fever A, acute", "A01.1", 3, None),
        ("A02", False, "Other salmonella infections", None, 1, "Other salmonella infections"),
        ("A02.0", True, "Salmonella enteritis, revised long", "A02", 2, None),
        ("A02.1", True, "Salmonella sepsis", "A02", 2, "Salmonella sepsis"),
    ]
    assert con.execute("SELECT DISTINCT derived_from, derivation FROM releases WHERE release = '2099'").fetchall() == [
        ("2098", "previous release 2098 + FY2099 order addenda (icd10cm_order_addenda_2099.txt): no notes or Tabular hierarchy for new codes")]
    # notes: kept for untouched nodes (A02.1), none for nodes the addenda touch (A01.1 became a header)
    assert con.execute("SELECT code FROM icd10cm_notes WHERE release = '2099'").fetchall() == [("A02.1",)]
    assert con.execute("SELECT count(*) FROM icd10cm_sections WHERE release = '2099'").fetchone()[0] == 1
    assert icd_gates(con) == {"icd10cm.addenda_base_count": [], "icd10cm.addenda_count_after": [], "icd10cm.addenda_equal_diff": []}


def test_derivation_against_the_wrong_base_fails_the_gate():
    """If the previous release does not have the trailer's count of codes, the gate says so."""
    con = duckdb.connect()
    apply_schema(con, "tables")
    cols = "(dataset, release, label, effective_from, effective_to, source_url, fetched_from, sha256, fetched_at, loaded_at)"
    con.execute(f"INSERT INTO releases {cols} VALUES ('icd10cm', '2098', 'FY2098', '2097-10-01', NULL, 'u', 'u', 's', NULL, now()), "
                "('icd10cm', '2099', 'FY2099', '2098-10-01', NULL, 'u', 'u', 's', NULL, now())")
    insert_frame(con, "icd10cm_codes", _codes("2098", BASE[:-1]))
    a, t = addenda.parse_order_addenda(ORDER, "2099")
    insert_frame(con, "icd10cm_addenda", a)
    insert_frame(con, "icd10cm_addenda_totals", t)
    for _, text in schema_scripts("derive"):
        con.execute(text)
    gates = icd_gates(con)
    assert gates["icd10cm.addenda_base_count"] == [("2099", "2098", "codes", 4, 3)]
    assert gates["icd10cm.addenda_count_after"] == [("2099", "codes", 5, 4)]


def test_addenda_gates_parse_with_their_catalog_roles():
    """The addenda gates parse with the gate runner's reader: name, what they check, the catalog roles."""
    text = dataset("icd10cm").sql("gates")
    found = {g.name: g for g in gates.parse_gates(text, "icd10cm", "datasets/icd10cm/gates.sql")}
    assert set(ADDENDA_GATES) <= set(found)
    for name in ADDENDA_GATES:
        assert found[name].checks and {"icd10cm:order_addenda", "icd10cm:code_addenda"} <= set(found[name].roles)
