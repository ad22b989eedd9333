"""The warehouse built from the whole mirror (session fixture ``built``): every ICD-10-CM release exact, FY2027
derived from the addenda and flagged, every quality gate passing, ICD-9-CM and the replacements loaded."""

from __future__ import annotations

import duckdb
import pytest

from codeetl.build import gates
from _shared import needs_mirror

pytestmark = [needs_mirror, pytest.mark.slow]

# CMS/CDC published counts of valid codes (../shared/cms/README.md; FY2027: the order addenda trailer)
PUBLISHED = {"2024": 74_044, "2025": 74_260, "2025-04": 74_260, "2026": 74_719, "2026-04": 74_719, "2027": 74_879}


@pytest.fixture(scope="module")
def con(built):
    c = duckdb.connect(str(built / "warehouse" / "codeetl.duckdb"), read_only=True)
    yield c
    c.close()


def test_every_loaded_release_has_its_published_count(con):
    rows = dict(con.execute("SELECT release, count(*) FILTER (WHERE is_billable) FROM icd10cm_codes GROUP BY 1").fetchall())
    assert {r: rows.get(r) for r in PUBLISHED} == PUBLISHED
    unexplained = set(rows) - set(PUBLISHED)
    assert not unexplained, f"releases without a published figure in this test: {unexplained}"


def test_fy2027_is_derived_from_the_addenda_and_flagged(con):
    assert con.execute("SELECT count(*) FILTER (WHERE NOT is_billable) FROM icd10cm_codes WHERE release = '2027'").fetchone()[0] == 23_524
    assert con.execute("SELECT DISTINCT derived_from, derivation FROM releases WHERE dataset = 'icd10cm' AND release = '2027'").fetchall() == [
        ("2026-04", "previous release 2026-04 + FY2027 order addenda (icd10cm_order_addenda_2027.txt): "
                    "no notes or Tabular hierarchy for new codes")]
    assert con.execute("SELECT count(*) FROM releases WHERE derived_from IS NOT NULL AND release <> '2027'").fetchone()[0] == 0
    # the addenda, applied: D69.1 turned into a header with two children, Z29.14 retitled, T52.8X- deleted
    got = dict(con.execute("SELECT code, is_billable FROM icd10cm_codes WHERE release = '2027' AND code IN "
                           "('D69.1', 'D69.11', 'D69.19', 'T52.8X1A', 'J4B')").fetchall())
    assert got == {"D69.1": False, "D69.11": True, "D69.19": True, "J4B": True}
    assert con.execute("SELECT description FROM icd10cm_codes WHERE release = '2027' AND code = 'Z29.14'").fetchone()[0] == \
        "Encounter for prophylactic rabies immune globulin"
    # unchanged nodes keep the notes of 2026-04; new ones have none
    assert con.execute("SELECT count(*) FROM icd10cm_notes WHERE release = '2027' AND code = 'M96'").fetchone()[0] == \
        con.execute("SELECT count(*) FROM icd10cm_notes WHERE release = '2026-04' AND code = 'M96'").fetchone()[0] > 0
    assert con.execute("SELECT count(*) FROM icd10cm_notes WHERE release = '2027' AND code = 'D69.1'").fetchone()[0] == 0
    # New categories outside every printed section range have no section; their chapter is the preceding
    # category's (codeetl's rule, README: the FY2027 Tabular, which would say, is not in the mirror). Expected
    # from the files: the categories the addenda add, outside every <section> range of the 2026-04 Tabular, and
    # the chapter of the category before each in that Tabular (J4A, K68, QA0). J4B and K6A also lie within their
    # chapter's printed range (J00-J99, K00-K95); QA1 lies past chapter 17's (Q00-QA0): that one is the rule's.
    assert con.execute("SELECT code, section, chapter FROM icd10cm_codes WHERE release = '2027' AND depth = 1 "
                       "AND section IS NULL ORDER BY code").fetchall() == new_categories_outside_sections()


def new_categories_outside_sections() -> list[tuple[str, None, int]]:
    """(category, None, chapter of the preceding category) for each category the FY2027 order addenda add that no
    section range of the 2026-04 Tabular XML covers; read with the standard library."""
    import xml.etree.ElementTree as ET

    from _shared import CMS, TABULAR_2026_04

    addenda = (CMS / "icd10cm" / "2027" / "icd10cm_order_addenda_2027.txt").read_text(encoding="ascii").splitlines()
    added = sorted(line[15:22].strip() for line in addenda if line.startswith("Add:") and len(line[15:22].strip()) == 3)
    root = ET.parse(TABULAR_2026_04).getroot()
    ranges = [(s.get("id").split("-")[0], s.get("id").split("-")[-1]) for s in root.iter("section")]
    chapter_of = {d.findtext("name"): int(ch.findtext("name")) for ch in root.iter("chapter") for d in ch.iter("diag")
                  if len(d.findtext("name")) == 3}
    out = []
    for cat in added:
        if not any(lo <= cat <= hi for lo, hi in ranges):
            before = max(c for c in chapter_of if c < cat)
            out.append((cat, None, chapter_of[before]))
    assert [c for c, _, _ in out] == ["J4B", "K6A", "QA1"]  # the three the addenda add (Add lines of 3 characters)
    return out


def test_every_gate_passes(con):
    """Every quality gate returns no rows on the real warehouse, the addenda gates included (the build enforces
    them too: a failed gate keeps the previous warehouse)."""
    results = [gates.run_gate(con, g) for g in gates.load_gates()]
    assert [r.name for r in results if not r.passed] == []
    assert {"icd10cm.addenda_base_count", "icd10cm.addenda_count_after", "icd10cm.addenda_equal_diff"} <= {r.name for r in results}


def test_icd9cm_and_replacements_loaded(con):
    assert dict(con.execute("SELECT kind, count(*) FROM icd9cm_codes WHERE release = 'v32' GROUP BY 1").fetchall()) == {
        "diagnosis": 14_567, "procedure": 3_882}
    assert con.execute("SELECT description FROM icd9cm_codes WHERE code = '722.83'").fetchone()[0] == "Postlaminectomy syndrome, lumbar region"
    assert con.execute("SELECT replaced_by, effective::VARCHAR FROM icd10cm_replacements WHERE code = 'M54.5' ORDER BY 1").fetchall() == [
        ("M54.50", "2021-10-01"), ("M54.51", "2021-10-01"), ("M54.59", "2021-10-01")]
