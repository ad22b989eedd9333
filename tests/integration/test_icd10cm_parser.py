"""ICD-10-CM parsers on the real FY2026 April Tabular XML and the FY2024 code file.

Expected figures come from CMS/CDC's published addenda, not from the code under test:
  FY2024 code file: 74,044 codes.
  FY2025 (Oct 2024): 252 new, 36 deleted, 13 revised titles.
  FY2026 (Oct 2025): 487 new, 28 deleted, 38 revised titles  -> 74,719 valid codes.
The FY2026 April 1 update added and deleted no codes: its Tabular gives exactly the FY2026 code file's 74,719
(tests/integration/test_icd10cm_exact.py compares the two code for code).
"""

from __future__ import annotations

import re

import polars as pl
import pytest

from _shared import CMS, CODES_2024, needs_mirror, TABULAR_2026_04
from official import code_file
from codeetl.errors import SourceFormatError
from codeetl.datasets import icd10cm

pytestmark = needs_mirror

FY2024_COUNT = 74_044
FY2025_NEW, FY2025_DELETED, FY2025_REVISED = 252, 36, 13
FY2026_NEW, FY2026_DELETED, FY2026_REVISED = 487, 28, 38
FY2026_OCT_COUNT = FY2024_COUNT + FY2025_NEW - FY2025_DELETED + FY2026_NEW - FY2026_DELETED  # 74,719 published


@pytest.fixture(scope="module")
def tab():
    return icd10cm.parse_tabular(TABULAR_2026_04, "2026-04")


@pytest.fixture(scope="module")
def codes(tab):
    return tab["icd10cm_codes"]


def test_fy2024_code_file_matches_published_count_and_independent_read():
    parsed = icd10cm.parse_code_file(CODES_2024, "2024")
    independent = code_file(CODES_2024)
    assert parsed.height == len(independent) == FY2024_COUNT
    assert dict(zip(parsed["code_nodot"], parsed["description"])) == independent
    assert parsed.filter(pl.col("code_nodot") == "M961")["code"].item() == "M96.1"


def test_fy2026_valid_code_count(codes):
    """The April 2026 set against CMS's published figures: 74,719 valid codes (FY2026, October 1, 2025), which is
    74,044 + 252 - 36 + 487 - 28 from the FY2024 code file and the FY2025/FY2026 addenda totals. Checked
    independently: every code CMS deleted in FY2025/FY2026 is gone (36 + 28 = 64 of the FY2024 codes are
    missing), every other FY2024 code is still valid, and exactly 252 + 487 codes are new; the FY2026 code file
    (an independent publication, read here in plain Python) has the same codes. QA0 (genetic
    neurodevelopmental disorders) is among FY2026's new codes."""
    fy2024 = set(code_file(CODES_2024))
    valid = set(codes.filter("is_billable")["code_nodot"])
    assert len(fy2024 - valid) == FY2025_DELETED + FY2026_DELETED
    assert len(valid - fy2024) == FY2025_NEW + FY2026_NEW
    assert len(valid) == FY2026_OCT_COUNT == 74_719
    assert valid == set(code_file(CMS / "icd10cm" / "2026" / "icd10cm-codes-2026.txt"))
    assert {c for c in valid - fy2024 if c.startswith("QA0")}


def test_descriptions_match_the_code_file_except_published_revisions(codes):
    """For codes in both FY2024 and FY2026-04 the description equals the FY2024 code file's, except the
    13 + 38 titles CMS revised in FY2025/FY2026: this pins the 7th-character description rule and the
    ASCII spelling of accented titles."""
    fy2024 = code_file(CODES_2024)
    mine = dict(zip(codes.filter("is_billable")["code_nodot"], codes.filter("is_billable")["description"]))
    differ = [c for c in fy2024 if c in mine and mine[c] != fy2024[c]]
    assert len(differ) == FY2025_REVISED + FY2026_REVISED
    assert mine["S72001A"] == fy2024["S72001A"] == "Fracture of unspecified part of neck of right femur, initial encounter for closed fracture"
    assert mine["S020XXA"] == fy2024["S020XXA"]  # placeholder X filled to the 6th position
    assert mine["T360X1A"] == fy2024["T360X1A"]


def test_accented_titles(codes):
    row = codes.filter(pl.col("code") == "C84.10").row(0, named=True)
    assert row["description_tabular"] == "Sézary disease, unspecified site"
    assert row["description"] == "Sezary disease, unspecified site"


def test_hierarchy_of_m96_1(codes, tab):
    row = codes.filter(pl.col("code") == "M96.1").row(0, named=True)
    assert row["is_billable"] and row["parent"] == "M96" and row["category"] == "M96"
    assert row["section"] == "M96" and row["chapter"] == 13
    assert row["description"] == "Postlaminectomy syndrome, not elsewhere classified"
    m96 = codes.filter(pl.col("code") == "M96").row(0, named=True)
    assert not m96["is_billable"] and m96["parent"] is None
    ch = tab["icd10cm_chapters"].filter(pl.col("chapter") == 13).row(0, named=True)
    assert ch["title"] == "Diseases of the musculoskeletal system and connective tissue"
    assert (ch["first_code"], ch["last_code"]) == ("M00", "M99")
    assert tab["icd10cm_chapters"].height == 22


def test_every_xml_diag_is_a_row(codes):
    """Independent count: every <name> inside a <diag> plus one row per 7th character of each code that takes one."""
    text = TABULAR_2026_04.read_text(encoding="utf-8")
    names = re.findall(r"<diag(?: [^>]*)?>\s*<name>([^<]+)</name>", text)
    tabular_rows = codes.filter(pl.col("seventh_char").is_null())
    assert sorted(tabular_rows["code"]) == sorted(n.strip() for n in names)


def test_seventh_character_rules(codes):
    s72001 = codes.filter(pl.col("parent") == "S72.001")
    assert s72001.height == 16 and s72001["is_billable"].all()
    assert not codes.filter(pl.col("code") == "S72.001")["is_billable"].item()
    # nearest definition wins: E08.32 carries its own laterality 7th characters (E08.3211 ...)
    e = codes.filter(pl.col("parent") == "E08.321").sort("code")["code"].to_list()
    assert e == ["E08.3211", "E08.3212", "E08.3213", "E08.3219"]
    # R40.2A sits under R40.2 but no sevenChrDef applies to it: valid on its own
    assert codes.filter(pl.col("code") == "R40.2A")["is_billable"].item()


def test_notes_and_references(tab):
    notes = tab["icd10cm_notes"]
    m96 = notes.filter((pl.col("code") == "M96") & (pl.col("note_type") == "excludes2"))
    refs = [r for lst in m96["referenced_codes"].to_list() for r in lst]
    assert refs == ["M02.0", "T84", "M80", "M97", "Z96-Z97"]
    assert "complications of internal orthopedic prosthetic devices, implants and grafts (T84.-)" in m96["note"].to_list()
    assert set(notes["note_type"]) == {*icd10cm.tabular.NOTE_TYPES, "table"}
    # independent count of <note> elements inside note blocks (not the intro/instruction sections)
    text = TABULAR_2026_04.read_text(encoding="utf-8")
    body = text[text.index("<chapter>"):]
    blocks = re.findall(r"<(inclusionTerm|includes|excludes1|excludes2|codeFirst|useAdditionalCode|codeAlso|notes|sevenChrNote)>(.*?)</\1>", body, re.S)
    n_notes = sum(len(re.findall(r"<note>\s*\S", b)) for _, b in blocks)
    assert notes.height == n_notes + 7  # + the 7 lines of H54.8's table (note_type table)


def test_parser_names_file_and_line_of_malformed_xml(tmp_path):
    bad = tmp_path / "tab.xml"
    bad.write_text('<?xml version="1.0"?>\n<ICD10CM.tabular>\n<chapter><name>1</name>\n<desc>x (A00-B99)</desc>\n'
                   '<section id="A00-A09"><desc>y</desc><diag><name>not a code</name><desc>z</desc></diag></section>\n'
                   "</chapter></ICD10CM.tabular>\n")
    with pytest.raises(SourceFormatError, match=r"tab\.xml, line 5: expected a dotted ICD-10-CM code"):
        icd10cm.parse_tabular(bad, "x")
    (tmp_path / "cut.xml").write_text('<?xml version="1.0"?>\n<ICD10CM.tabular>\n<chapter>\n')
    with pytest.raises(SourceFormatError, match=r"cut\.xml, line \d+: expected well-formed XML"):
        icd10cm.parse_tabular(tmp_path / "cut.xml", "x")


def test_malformed_code_file_names_line(tmp_path):
    f = tmp_path / "icd10cm_codes_2099.txt"
    f.write_text("A000    Cholera due to Vibrio cholerae 01, biovar cholerae\n?? broken line\n")
    with pytest.raises(SourceFormatError, match=r"icd10cm_codes_2099\.txt, line 2: expected a code"):
        icd10cm.parse_code_file(f, "2099")


ORDER_FIXTURE = """\
00001 A00     0 Cholera                                                      Cholera
00002 A000    1 Cholera due to Vibrio cholerae 01, biovar cholerae           Cholera due to Vibrio cholerae 01, biovar cholerae
00003 A001    1 Cholera due to Vibrio cholerae 01, biovar eltor              Cholera due to Vibrio cholerae 01, biovar eltor
12345 M96     0 Intraop and postproc comp and disord of ms sys, NEC          Intraoperative and postprocedural complications and disorders of musculoskeletal system, not elsewhere classified
12347 M961    1 Postlaminectomy syndrome, not elsewhere classified           Postlaminectomy syndrome, not elsewhere classified
"""


def test_order_file_fixture(tmp_path):
    """The order file is not in the mirror: a fixture written from CMS's documented layout
    (order 1-5, code 7-13, flag 15, short 17-76, long 78-)."""
    f = tmp_path / "icd10cm_order_2026.txt"
    f.write_text(ORDER_FIXTURE)
    order = icd10cm.parse_order_file(f, "2026")
    assert order.height == 5
    m961 = order.filter(pl.col("code") == "M96.1").row(0, named=True)
    assert m961["order_number"] == 12347 and m961["is_billable"]
    assert m961["short_description"] == m961["description"] == "Postlaminectomy syndrome, not elsewhere classified"
    m96 = order.filter(pl.col("code") == "M96").row(0, named=True)
    assert not m96["is_billable"] and m96["short_description"].startswith("Intraop and postproc")
    codes = icd10cm.codes_from_order(order)
    assert codes.filter(pl.col("code") == "M96.1")["parent"].item() == "M96"
    f.write_text(ORDER_FIXTURE + "00006 A01     7 bad flag\n")
    with pytest.raises(SourceFormatError, match=r"line 6: expected order number"):
        icd10cm.parse_order_file(f, "2026")


def test_code_file_must_agree_with_tabular(codes, tmp_path):
    """When a release has both, a disagreement is an error naming the code file line."""
    valid = codes.filter("is_billable").select("code", "code_nodot", "description")
    lines = [f"{c:<8}{d}" for c, d in zip(valid["code_nodot"], valid["description"])]
    f = tmp_path / "icd10cm_codes_2026.txt"
    f.write_text("\n".join(lines) + "\n")
    parsed = icd10cm.parse_code_file(f, "2026-04")
    icd10cm.check_against_code_file(codes, parsed, str(f))  # agrees: no error
    lines[10] = lines[10][:8] + "Changed title"
    f.write_text("\n".join(lines) + "\n")
    with pytest.raises(SourceFormatError, match=r"line 11: expected the Tabular's description"):
        icd10cm.check_against_code_file(codes, icd10cm.parse_code_file(f, "2026-04"), str(f))
