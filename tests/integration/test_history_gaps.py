"""History that never guesses, the seed page's sibling list, note ranges and `diff`'s codes that became headers,
on the warehouse built from the real mirror (conftest ``built``).

Expected values come from the official files read here with plain Python: the valid-code files, the Tabular
XML of 2025-04 and 2026-04, the FY2025 Conversion Table, the catalog's release dates and the seed page.
The mirror lacks ICD-10-CM 2024-04 (2024-04-01 to 2024-09-30): the gap these tests are about.
"""

from __future__ import annotations

import json
import re

import duckdb
import pytest
from typer.testing import CliRunner

from _shared import CMS, SEED
from codeetl.cli import app
from codeetl.sources.catalog import load_catalog

runner = CliRunner(env={"COLUMNS": "200"})  # wide enough that no checked phrase wraps
CONVERSION = CMS / "icd10cm/2025/icd-10-cm-conversion-table-FY2025.csv"
CATALOG = {r.release: r for r in load_catalog()["icd10cm"].releases}
GAP = {"from": str(CATALOG["2024-04"].effective_from), "to": str(CATALOG["2024-04"].effective_to)}


def code_file(year: int) -> set[str]:
    path = CMS / "icd10cm" / str(year) / f"icd10cm-codes-{year}.txt"
    return {line[:8].strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()}


def names(release: str) -> set[str]:
    xml = {"2025-04": "icd10cm-tabular-April-2025.xml", "2026-04": "icd10cm-tabular-April-1-2026.xml"}[release]
    return set(re.findall(r"<name>([^<]+)</name>", (CMS / "icd10cm" / release / xml).read_text(encoding="utf-8")))


def page(built, code: str, day: str) -> dict:
    r = runner.invoke(app, ["code", code, "--as-of", day, "--json", "--data-dir", str(built)])
    assert r.exit_code == 0, r.output
    return json.loads(r.stdout)


@pytest.fixture(scope="module")
def con(built):
    return duckdb.connect(str(built / "warehouse" / "codeetl.duckdb"), read_only=True)


def test_m96_1_names_the_category_billable_codes_as_the_seed_page(built):
    p = page(built, "M96.1", "2026-05-01")
    expected = sorted(c for c in code_file(2026) if c.startswith("M96") and c != "M961")
    c = p["category_codes"]
    assert c["category"] == "M96" and c["complete"] and c["count"] == len(expected) == 35
    assert [x.replace(".", "") for x in c["codes"]] == expected  # Tabular order is code order within M96
    assert "M96.89" in c["codes"]
    assert "Other billable codes under M96" in SEED.read_text(encoding="utf-8")
    text = " ".join(runner.invoke(app, ["code", "M96.1", "--as-of", "2026-05-01", "--data-dir", str(built)]).output.split())
    assert "Other billable codes in category M96 (35)" in text and "M96.89" in text
    assert "M96.0, M96.2–M96.5," in text  # a run of codes never spans the page's own code


def test_a_large_category_lists_the_nearest_codes(built):
    p = page(built, "S82.001A", "2026-05-01")
    total = sum(1 for c in code_file(2026) if c.startswith("S82"))
    c = p["category_codes"]
    assert c["count"] == total - 1 and len(c["codes"]) == 50 and not c["complete"]
    assert "S82.001A" not in c["codes"] and "S82.001B" in c["codes"]


def test_m96_1_history_has_no_date_from_the_gap(built):
    h = page(built, "M96.1", "2026-05-01")["history"]
    (span,) = h["spans"]
    assert (span["valid_from"], span["valid_from_source"]) == (str(CATALOG["2024"].effective_from), "first loaded")
    assert span["unknown_days"] == [GAP]  # the gap is unknown, inside one span: not "valid since 2024-10-01"
    dates = {span["valid_from"], span["valid_to"], h["first_valid_from"]}
    assert str(CATALOG["2025"].effective_from) not in dates and str(CATALOG["2024"].effective_to) not in dates
    # not in the conversion table (every code created since FY2017): in ICD-10-CM since 2015-10-01
    assert '"M96.1"' not in CONVERSION.read_text(encoding="utf-8")
    assert h["in_code_set_since"]["date"] == "2015-10-01"


def test_m54_5_is_a_header_since_2021_10_01(built):
    conversion = CONVERSION.read_text(encoding="utf-8")
    assert all(f'"M54.5{d}"\t2021\t"M54.5"' in conversion for d in "019")  # effective October 1, 2021
    h = page(built, "M54.5", "2026-05-01")["history"]
    (span,) = h["spans"]
    assert (span["is_billable"], span["valid_from"], span["valid_from_source"]) == (False, "2021-10-01", "conversion table")
    text = " ".join(runner.invoke(app, ["code", "M54.5", "--as-of", "2026-05-01", "--data-dir", str(built)]).output.split())
    assert "header 2021-10-01 (CDC conversion table)" in text


def test_a_deletion_across_the_gap_is_dated_by_the_conversion_table(con):
    assert "T8132XA" in code_file(2024) and "T8132XA" not in code_file(2025)
    assert '"T81.320A"\t2024\t"T81.32XA"' in CONVERSION.read_text(encoding="utf-8")  # effective 2024-10-01
    assert con.execute("SELECT valid_to::VARCHAR, valid_to_source, unknown_days FROM icd10cm_code_history "
                       "WHERE code = 'T81.32XA'").fetchall() == [("2024-09-30", "conversion table", [
                           {"from": CATALOG["2024-04"].effective_from, "to": CATALOG["2024-04"].effective_to}])]


def test_a_retitling_across_the_gap_is_two_spans_marked_so(con):
    # FY2025 retitled 13 codes (CMS totals); 2024-04 is not loaded, so when is unknown: before gap / after gap
    f24 = {line[:8].strip(): line[8:].strip() for line in (CMS / "icd10cm/2024/icd10cm-codes-2024.txt").read_text(encoding="utf-8").splitlines()}
    f25 = {line[:8].strip(): line[8:].strip() for line in (CMS / "icd10cm/2025/icd10cm-codes-2025.txt").read_text(encoding="utf-8").splitlines()}
    retitled = {c for c in f24.keys() & f25.keys() if f24[c] != f25[c]}
    assert len(retitled) == 13
    got = {r[0].replace(".", "") for r in con.execute("SELECT code FROM icd10cm_code_history WHERE is_billable "
                                                      "AND valid_from_source = 'after gap'").fetchall()}
    assert got == retitled


def test_the_127_headers_new_in_fy2026_start_2025_10_01(con):
    t25, t26, f26 = names("2025-04"), names("2026-04"), code_file(2026)
    new = {c for c in t26 - t25 if re.match(r"^[A-Z][0-9A-Z]{2}(\.[0-9A-Z]+)?$", c) and c.replace(".", "") not in f26}
    assert len(new) == 127 and "C50.A" in new
    got = dict(con.execute("SELECT code, valid_from::VARCHAR FROM icd10cm_code_history WHERE NOT is_billable "
                           "AND code IN (SELECT unnest(?::VARCHAR[]))", [sorted(new)]).fetchall())
    assert got == {c: str(CATALOG["2026"].effective_from) for c in new}


def test_notes_keep_ranges_as_ranges(con):
    # the Tabular prints these ranges with the first end's ".-" as the range's dash
    assert "(F11.-F17.-)" in (CMS / "icd10cm/2026-04/icd10cm-tabular-April-1-2026.xml").read_text(encoding="utf-8")
    got = dict(con.execute("SELECT code, referenced_codes FROM icd10cm_notes WHERE release = '2026-04' AND "
                           "(note LIKE '%(F11.-F17.-)%' OR note LIKE '%(F10.-F19.-)%')").fetchall())
    assert got == {"K85.3": ["F11-F17"], "T40": ["F10-F19"]}


def listed(lines: list[str], title: str) -> list[str]:
    """The codes of the list titled `title` in `codeetl diff` output ("<title> (n)" then n indented lines)."""
    i = next(i for i, l in enumerate(lines) if l.startswith(title + " ("))
    n = int(lines[i][len(title) + 2:].rstrip(")").replace(",", ""))
    return [l.split()[0] for l in lines[i + 1:i + 1 + n]]


def test_diff_lists_a_code_that_became_a_header_apart_from_the_deleted(built):
    out = runner.invoke(app, ["diff", "2025", "2026", "--limit", "0", "--data-dir", str(built)]).output
    lines = out.splitlines()
    gone = listed(lines, "codes no longer valid (headers not listed in this release)")
    assert "G35" in gone and "G35" not in listed(lines, "codes deleted")
    f26 = code_file(2026)
    assert all(any(k.startswith(c.replace(".", "")) for k in f26) for c in gone)  # each has codes below it in FY2026
    assert out.index("note: 2026 was loaded from a code file only") < out.index("codes added")
