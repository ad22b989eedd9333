"""Every ICD-10-CM release in the mirror is exact: checked against the published figures and against
independent reads of the official files (plain Python / the standard library's XML parser, not codeetl's parsers).

Published figures (CMS/CDC; ../shared/cms/README.md): FY2024 code file 74,044 codes; FY2025 74,260; FY2026
74,719; FY2027 74,879 (the FY2027 order addenda trailer: 74,719 -> 74,879, 190 additions, 30 deletions).
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from functools import cache
from pathlib import Path

import polars as pl
import pytest

from _shared import CMS, needs_mirror
from official import code_file, dotted
from codeetl.sources.catalog import load_catalog
from codeetl.datasets import icd10cm

pytestmark = [needs_mirror, pytest.mark.slow]

TAB_2025 = CMS / "icd10cm" / "2025" / "icd-10-cm-tabular-2025.xml"
TAB_2025_04 = CMS / "icd10cm" / "2025-04" / "icd10cm-tabular-April-2025.xml"
TAB_2026_04 = CMS / "icd10cm" / "2026-04" / "icd10cm-tabular-April-1-2026.xml"
CODES_2024 = CMS / "icd10cm" / "2024" / "icd10cm-codes-2024.txt"
CODES_2025 = CMS / "icd10cm" / "2025" / "icd10cm-codes-2025.txt"
CODES_2026 = CMS / "icd10cm" / "2026" / "icd10cm-codes-2026.txt"
S06_NOTE = ("7th characters D and S do not apply to codes in category S06 with 6th character 7 - death due to brain "
            "injury prior to regaining consciousness, or 8 - death due to other cause prior to regaining consciousness.")


@cache
def parsed(path: Path, release: str) -> dict[str, pl.DataFrame]:
    return icd10cm.parse_tabular(path, release)


def billable(path: Path, release: str) -> dict[str, str]:
    c = parsed(path, release)["icd10cm_codes"].filter("is_billable")
    return dict(zip(c["code_nodot"], c["description"]))


@cache
def etree(path: Path) -> ET.Element:
    return ET.parse(path).getroot()


def test_fy2024_code_file():
    parsed24 = icd10cm.parse_code_file(CODES_2024, "2024")
    assert parsed24.height == len(code_file(CODES_2024)) == 74_044


def test_fy2025_tabular_equals_the_fy2025_code_file():
    """Published: 74,260 valid codes in FY2025. The Tabular gives the same codes with the same descriptions."""
    assert billable(TAB_2025, "2025") == code_file(CODES_2025)
    assert len(code_file(CODES_2025)) == 74_260
    rel = load_catalog()["icd10cm"].release("2025")  # the parse itself refuses a disagreement
    out = icd10cm.parse_release(rel, {"tabular": TAB_2025, "codes": CODES_2025})
    assert out["icd10cm_valid_codes"].height == 74_260


def test_fy2025_april_tabular_has_the_fy2025_code_set():
    """../shared/cms/README.md: the April 1, 2025 Tabular has the "same 74,260 codes as October, 45 note lines
    changed": an April update changes notes, not the code set."""
    assert billable(TAB_2025_04, "2025-04") == code_file(CODES_2025)


def test_fy2026_april_tabular_equals_the_fy2026_code_file():
    """The FY2026 code file (October 1, 2025: 74,719 codes) and the April 1, 2026 Tabular must agree code for code
    and description for description: ../shared/cms/README.md says of icd10cm/2026 "74,719 codes; the April 2026
    Tabular XML gives exactly this set once the S06 note is applied", i.e. the April 2026 update added and
    deleted no codes (April updates of FY2024-FY2026 changed notes, not codes: the FY2025 Conversion Table dates
    no code to 04/01/24, and the April 2025 Tabular has the October 2025 set too). So the April release has the
    October code file's codes and titles, and this compares two independent publications."""
    assert billable(TAB_2026_04, "2026-04") == code_file(CODES_2026)
    assert len(code_file(CODES_2026)) == 74_719


def _s06_leaves(root: ET.Element) -> list[str]:
    s06 = next(d for d in root.iter("diag") if d.findtext("name") == "S06")
    return [d.findtext("name") for d in s06.iter("diag") if d.find("diag") is None]


@pytest.mark.parametrize("xml, codes", [(TAB_2025, CODES_2025), (TAB_2026_04, CODES_2026)])
def test_the_s06_note_is_exactly_what_the_code_files_leave_out(xml, codes):
    """Independent: every S06 leaf takes A, D, S (S06's sevenChrDef), except D and S after a 6th character 7 or 8.
    The code file has every other combination and none of these 76."""
    root = etree(xml)
    s06 = next(d for d in root.iter("diag") if d.findtext("name") == "S06")
    assert [" ".join(n.text.split()) for n in s06.find("notes").iter("note")] == [S06_NOTE]
    excluded, kept = set(), set()
    for leaf in _s06_leaves(root):
        padded = leaf.replace(".", "").ljust(6, "X")
        for ch in "ADS":
            (excluded if padded[5] in "78" and ch in "DS" else kept).add(padded + ch)
    official = set(code_file(codes))
    assert len(excluded) == 76 and not excluded & official
    assert {"S061X7D", "S061X7S", "S061X8D", "S069X8S"} <= excluded
    assert kept <= official


@pytest.mark.parametrize("xml", [TAB_2025, TAB_2025_04, TAB_2026_04])
def test_no_other_note_limits_seventh_characters(xml):
    """Every note of a node carrying a sevenChrDef, or below one, read independently: only the S06 note says a
    7th character does not apply (the rule seventh_char_rules.csv encodes)."""
    wording = re.compile(r"not apply|apply only|only apply|not applicable to|not be used with|not valid with", re.I)
    found = []

    def walk(el, in_scope):
        in_scope = in_scope or el.find("sevenChrDef") is not None
        for block in el:
            if block.tag in icd10cm.tabular.NOTE_TYPES or block.tag == "sevenChrDef":
                for n in block.iter("note"):
                    text = " ".join("".join(n.itertext()).split())
                    if in_scope and wording.search(text):
                        found.append((el.findtext("name"), text))
        for d in el.findall("diag"):
            walk(d, in_scope)

    for sec in etree(xml).iter("section"):
        for d in sec.findall("diag"):
            walk(d, False)
    assert found == [("S06", S06_NOTE)]


def _legacy_references(note: str) -> list[str]:
    """The reference rule before issue 8 (every 3-character token in parentheses), kept here to measure the fix."""
    token = r"[A-Z][0-9A-Z][0-9A-Z](?:\.[0-9A-Z]{1,4})?"
    dash = r"(?:\.?-(?!\s*[A-Z][0-9A-Z]))?"
    ref = re.compile(rf"\b({token}){dash}(?:\s*-\s*({token}){dash})?")
    out = []
    for group in re.findall(r"\(([^()]*)\)", note):
        for m in ref.finditer(group):
            r = f"{m.group(1)}-{m.group(2)}" if m.group(2) else m.group(1)
            if r not in out:
                out.append(r)
    return out


def test_references_are_never_acronyms():
    """FY2026 April: every reference the parser keeps was found by the older, looser rule (_legacy_references), and
    every one it drops is an acronym the older rule took for a code (MSSA -> MSS, HPV, RSV, NOS, G6PD -> G6P ...);
    no kept reference is an acronym. (The counts of both rules, 11,308 and 11,115, are these rules' outputs, not
    published figures, so they are not pinned.)"""
    tab = parsed(TAB_2026_04, "2026-04")
    notes = tab["icd10cm_notes"].filter(pl.col("note_type") != "table")
    categories = set(tab["icd10cm_codes"].filter(pl.col("depth") == 1)["code"])
    # the comma-led lines are stored without their comma; references are unaffected
    for note, refs in zip(notes["note"], notes["referenced_codes"]):
        legacy = set(_legacy_references(note))
        legacy_ends = {e.removesuffix(".") for r in legacy for e in re.split(r"\.?-", r) if e}
        for r in refs:  # nothing found that the older rule did not find; a range is found by its two ends
            assert r in legacy or ("-" in r and set(r.split("-")) <= legacy_ends), (note, r)
    joined = {e for refs in notes["referenced_codes"] for r in refs if "-" in r for e in r.split("-")}
    dropped = [r for n, refs in zip(notes["note"], notes["referenced_codes"]) for r in _legacy_references(n)
               if r not in refs and not (r in joined and any(r in x.split("-") for x in refs))]
    assert dropped
    for ref in dropped:
        ends = ref.split("-")
        assert any(not re.search(r"\d", e[1:3]) or e[:3] not in categories for e in ends), ref
    assert {"MSS", "HPV", "RSV", "NOS", "G6P"} <= set(dropped)
    for refs in notes["referenced_codes"]:
        for ref in refs:
            for e in ref.split("-"):
                assert re.search(r"\d", e[1:3]) and e[:3] in categories, ref
    # code-shaped references to codes the release lacks are kept as printed (errors of the Tabular). Lacking is
    # read in the files: a <name> of the XML or a code of the FY2026 code file. By grep on the XML: "G31.90" is in
    # a note (line 29500) and is no <name>; "R10.1-R10.4-" is in a note (line 146070), R10.1 is a <name>, R10.4 not.
    names = {d.findtext("name") for d in etree(TAB_2026_04).iter("diag")} | {dotted(c) for c in code_file(CODES_2026)}
    missing = {r for refs in notes["referenced_codes"] for r in refs if not all(e in names for e in r.split("-"))}
    assert missing == {"G31.90", "R10.1-R10.4"}


def test_heading_sections_reach_9033_codes():
    """Sections that hold no codes of their own but print notes (V00-V99, T20-T32, M00-M25, Y62-Y84) have 54 note
    lines for the 9,033 valid codes below them (independent: the XML and the FY2026 code file)."""
    root = etree(TAB_2026_04)
    heads = {}
    for sec in root.iter("section"):
        if sec.find("diag") is None:
            lines = [n for block in sec if block.tag in icd10cm.tabular.NOTE_TYPES for n in block.iter("note")
                     if "".join(n.itertext()).strip()]
            if lines:
                heads[sec.get("id")] = len(lines)
    assert heads == {"M00-M25": 1, "T20-T32": 13, "V00-V99": 38, "Y62-Y84": 2} and sum(heads.values()) == 54
    below = [c for c in code_file(CODES_2026)
             if any(h.split("-")[0] <= c[:3] <= h.split("-")[1] for h in heads)]
    assert len(below) == 9_033
    # the parser's parent_section chain leads exactly those codes to those sections
    tab = parsed(TAB_2026_04, "2026-04")
    parent = dict(tab["icd10cm_sections"].select("section", "parent_section").iter_rows())

    def chain(s):
        while s:
            yield s
            s = parent[s]

    codes = tab["icd10cm_codes"].filter("is_billable")
    reach = [c for c, s in zip(codes["code_nodot"], codes["section"]) if set(chain(s)) & set(heads)]
    assert sorted(reach) == sorted(below)
    assert list(chain("V40-V49")) == ["V40-V49", "V00-V99", "V00-X58"]


def test_seventh_character_notes_and_table():
    """Independent: the <note> elements inside <sevenChrDef> (8 in FY2026 April) and H54.8's table (7 lines)."""
    tab = parsed(TAB_2026_04, "2026-04")
    expected = []
    for d in etree(TAB_2026_04).iter("diag"):
        defn = d.find("sevenChrDef")
        if defn is not None:
            last = None
            for x in defn:
                if x.tag == "extension":
                    last = x.get("char")
                elif x.tag == "note":
                    expected.append((d.findtext("name"), last, " ".join(x.text.split())))
    got = [(c, ch, n) for c, ch, notes in tab["icd10cm_seventh_chars"].select("code", "char", "notes").iter_rows() for n in notes]
    assert sorted(got) == sorted(expected) and len(got) == 8
    assert ("S72", "B", "initial encounter for open fracture NOS") in got
    table = tab["icd10cm_notes"].filter(pl.col("note_type") == "table")
    assert table["code"].unique().to_list() == ["H54.8"] and table.height == len(list(etree(TAB_2026_04).iter("visCategory"))) == 7


def test_no_note_starts_with_a_comma_and_none_is_lost():
    """170 lines of the FY2026 April XML start with the comma of "Code also, if applicable, ..." (all the first line
    of a codeAlso/codeFirst block): stored without it. Every note line of the XML is a row (plus 7 table lines)."""
    tab = parsed(TAB_2026_04, "2026-04")
    notes = tab["icd10cm_notes"]
    comma, total = 0, 0
    for el in etree(TAB_2026_04).iter():
        if el.tag in icd10cm.tabular.NOTE_TYPES:
            lines = [" ".join("".join(n.itertext()).split()) for n in el.findall("note")]
            lines = [t for t in lines if t]
            total += len(lines)
            for i, t in enumerate(lines):
                if t.startswith(","):
                    comma += 1
                    assert i == 0 and el.tag in ("codeAlso", "codeFirst")
    assert comma == 170
    assert not notes["note"].str.starts_with(",").any()
    assert notes.height == total + 7
    qa0 = notes.filter((pl.col("code") == "QA0") & (pl.col("note_type") == "codeAlso")).sort("seq")
    assert qa0["note"][0] == "if applicable, any associated conditions, such as:"
