"""Tabular rules on a small fixture written for these tests (tests/fixtures/icd10cm/tabular_rules.xml):
the 7th-character rules of seventh_char_rules.csv, sevenChrDef notes, tables, heading sections, references."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from codeetl.datasets import icd10cm
from codeetl.datasets.icd10cm import tabular
from codeetl.errors import SourceFormatError

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "icd10cm" / "tabular_rules.xml"


@pytest.fixture(scope="module")
def tab():
    return icd10cm.parse_tabular(FIXTURE, "fx")


def test_s06_rule_removes_d_and_s_after_sixth_character_7_and_8(tab):
    """The S06 note: "7th characters D and S do not apply to codes in category S06 with 6th character 7 ... or 8"."""
    codes = set(tab["icd10cm_codes"].filter("is_billable")["code"])
    assert {"S06.1X0A", "S06.1X0D", "S06.1X0S", "S06.1X7A", "S06.1X8A"} <= codes
    assert not codes & {"S06.1X7D", "S06.1X7S", "S06.1X8D", "S06.1X8S"}


def test_rule_applies_only_where_the_tabular_prints_its_note(tmp_path):
    """The rule is the note's meaning: a Tabular that does not print the note keeps all three characters."""
    text = FIXTURE.read_text(encoding="utf-8")
    start = text.index("        <notes>\n          <note>7th characters D and S")
    end = text.index("</notes>", start) + len("</notes>\n")
    (tmp_path / "t.xml").write_text(text[:start] + text[end:], encoding="utf-8")
    codes = set(icd10cm.parse_tabular(tmp_path / "t.xml", "fx")["icd10cm_codes"]["code"])
    assert {"S06.1X7D", "S06.1X8S"} <= codes


def test_unencoded_limiting_note_fails_the_parse(tmp_path):
    """A new note limiting 7th characters must be added to seventh_char_rules.csv, never pass silently."""
    text = FIXTURE.read_text(encoding="utf-8").replace(
        "<desc>Fracture of femur</desc>",
        "<desc>Fracture of femur</desc>\n<notes><note>7th character S does not apply to codes in subcategory S72.0</note></notes>")
    (tmp_path / "t.xml").write_text(text, encoding="utf-8")
    with pytest.raises(SourceFormatError, match=r"t\.xml, line \d+: expected every note limiting 7th characters .*S72"):
        icd10cm.parse_tabular(tmp_path / "t.xml", "fx")


def test_rules_file_cites_the_note_it_encodes():
    rules = tabular.seventh_char_rules()
    assert [(r.node, sorted(r.sixth_chars), sorted(r.excluded_chars), r.note_type) for r in rules] == [
        ("S06", ["7", "8"], ["D", "S"], "notes")]
    assert rules[0].note.startswith("7th characters D and S do not apply to codes in category S06 with 6th character 7")


def test_seventh_character_notes(tab):
    s72 = tab["icd10cm_seventh_chars"].filter(pl.col("code") == "S72").sort("char")
    assert s72.select("char", "notes").rows() == [
        ("A", []), ("B", ["initial encounter for open fracture NOS"]), ("S", [])]


def test_table_lines(tab):
    rows = tab["icd10cm_notes"].filter(pl.col("note_type") == "table").sort("seq")
    assert rows["code"].to_list() == ["H54.8", "H54.8"]
    assert rows["note"].to_list() == [
        "Category of visual impairment | Visual acuity with best possible correction / Maximum less than: / "
        "Minimum equal to or better than:",
        "1 | 6/18 / 6/60"]
    assert rows["referenced_codes"].to_list() == [[], []]


def test_comma_continuation(tab):
    """A block's first line that starts with the comma of its heading's sentence ("Code also, if applicable,
    ...") is stored without the comma; a later one is joined onto the line before it."""
    also = tab["icd10cm_notes"].filter((pl.col("code") == "S06") & (pl.col("note_type") == "codeAlso")).sort("seq")
    assert also["note"].to_list() == ["if applicable, any associated:", "open wound of head (S01.-)"]
    assert not tab["icd10cm_notes"]["note"].str.starts_with(",").any()


def test_comma_line_after_another_is_joined(tmp_path):
    text = FIXTURE.read_text(encoding="utf-8").replace(
        "<note>open wound of head (S01.-)</note>", "<note>open wound of head (S01.-)</note>\n<note>, if present</note>")
    (tmp_path / "t.xml").write_text(text, encoding="utf-8")
    notes = icd10cm.parse_tabular(tmp_path / "t.xml", "fx")["icd10cm_notes"]
    also = notes.filter((pl.col("code") == "S06") & (pl.col("note_type") == "codeAlso")).sort("seq")["note"].to_list()
    assert also == ["if applicable, any associated:", "open wound of head (S01.-), if present"]


def test_acronyms_are_not_references(tab):
    ex = tab["icd10cm_notes"].filter((pl.col("code") == "S72") & (pl.col("note_type") == "excludes1")).sort("seq")
    # MSSA, HPV, G6PD are acronyms; A41.01 is a reference (its category is not in this small release: kept only
    # when categories are unknown); D55.0, Z96-Z97 and T84 likewise
    assert ex["referenced_codes"].to_list() == [[], []]
    assert icd10cm.referenced_codes(ex["note"][0]) == ["A41.01"]
    assert icd10cm.referenced_codes(ex["note"][1]) == ["D55.0", "Z96-Z97", "T84"]
    assert icd10cm.referenced_codes(ex["note"][1], {"D55", "T84"}) == ["D55.0", "T84"]


@pytest.mark.parametrize("note, refs", [
    ("certain conditions originating in the perinatal period (P04-P96)", ["P04-P96"]),
    ("arthropathy following intestinal bypass (M02.0-)", ["M02.0"]),
    ("tuberculosis (A15.0, A15.5)", ["A15.0", "A15.5"]),
    ("Code first underlying disease, such as: (C7A.-)", ["C7A"]),
    ("genetic disorders (QA0.-)", ["QA0"]),
    ("following cerebrovascular disease (I69. with final characters -23)", ["I69"]),
    ("Methicillin susceptible Staphylococcus aureus (MSSA) infection", []),
    ("respiratory syncytial virus (RSV) and (NOS)", []),
    ("glucose-6-phosphate dehydrogenase (G6PD) deficiency without anemia (D75.A)", ["D75.A"]),
    ("Breast implant associated anaplastic large cell lymphoma (BIA-ALCL)", []),
    ("no references here", []),
])
def test_referenced_codes(note, refs):
    assert icd10cm.referenced_codes(note) == refs


def test_parent_section(tab):
    parents = dict(tab["icd10cm_sections"].select("section", "parent_section").iter_rows())
    assert parents == {"S00-S09": None, "S70-S79": None, "V00-V99": None, "V00-V09": "V00-V99",
                       "V10-V19": "V00-V99", "H53-H54": None}


def test_parent_section_uses_tabular_order():
    """C7A is printed between C75 and C76: it is not in C76-C80, although "C7A" sorts after "C76"."""
    sections = [{"section": s, "chapter": 2, "first_code": f, "last_code": l} for s, f, l in [
        ("C00-C96", "C00", "C96"), ("C00-C75", "C00", "C75"), ("C00-C14", "C00", "C14"), ("C73-C75", "C73", "C75"),
        ("C7A", "C7A", "C7A"), ("C76-C80", "C76", "C80"), ("C81-C96", "C81", "C96")]]
    cats = [("C00", "C00-C14"), ("C14", "C00-C14"), ("C73", "C73-C75"), ("C75", "C73-C75"), ("C7A", "C7A"),
            ("C76", "C76-C80"), ("C80", "C76-C80"), ("C81", "C81-C96"), ("C96", "C81-C96")]
    assert tabular.parent_sections(sections, cats) == {
        "C00-C96": None, "C00-C75": "C00-C96", "C00-C14": "C00-C75", "C73-C75": "C00-C75", "C7A": "C00-C96",
        "C76-C80": "C00-C96", "C81-C96": "C00-C96"}


def test_unknown_element_fails_rather_than_being_dropped(tmp_path):
    text = FIXTURE.read_text(encoding="utf-8").replace("<desc>Blindness and low vision</desc>",
                                                      "<desc>Blindness and low vision</desc><footnote>x</footnote>")
    (tmp_path / "t.xml").write_text(text, encoding="utf-8")
    with pytest.raises(SourceFormatError, match=r"expected a known element in <diag>.*found '<footnote>'"):
        icd10cm.parse_tabular(tmp_path / "t.xml", "fx")


def _order_lines(codes: pl.DataFrame) -> str:
    return "".join(f"{i:05d} {c:<7} {int(b)} {d[:60]:<60} {d}\n"
                   for i, (c, b, d) in enumerate(codes.select("code_nodot", "is_billable", "description").iter_rows(), 1))


def test_order_file_must_agree_with_tabular(tab, tmp_path):
    """Order file: same nodes with the same header/valid flag, same titles for valid codes; else the parse fails."""
    codes = tab["icd10cm_codes"]
    f = tmp_path / "icd10cm_order_2099.txt"
    f.write_text(_order_lines(codes))
    icd10cm.check_against_order_file(codes, icd10cm.parse_order_file(f, "fx"), str(f))
    flipped = codes.with_columns(is_billable=pl.when(pl.col("code") == "S72.0XXA").then(False).otherwise("is_billable"))
    f.write_text(_order_lines(flipped))
    with pytest.raises(SourceFormatError, match=r"every line of the order file to be a header of the Tabular .*S72.0XXA"):
        icd10cm.check_against_order_file(codes, icd10cm.parse_order_file(f, "fx"), str(f))
    retitled = codes.with_columns(description=pl.when(pl.col("code") == "V00").then(pl.lit("Other")).otherwise("description"))
    f.write_text(_order_lines(retitled))
    with pytest.raises(SourceFormatError, match=r"the Tabular's description of V00"):
        icd10cm.check_against_order_file(codes, icd10cm.parse_order_file(f, "fx"), str(f))
