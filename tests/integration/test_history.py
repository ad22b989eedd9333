"""History, changes, validation and diffs on the warehouse built from the real mirror (conftest ``built``).

Expected values come from the CMS/CDC files themselves, read here with plain Python: the valid-code files
(2024, 2025, 2026), the FY2027 order-file addenda and the MS-DRG Appendix A files; plus the totals CMS
publishes (FY2026: 487 new codes, 28 deleted, 38 revised titles; FY2025: 252, 36, 13).
"""

from __future__ import annotations

import json
import re

import duckdb
import pytest
from typer.testing import CliRunner

from _shared import CMS, needs_mirror, REPO
from claims_fixture import generate_claims, valid_pool
from official import code_file
from codeetl.cli import app

pytestmark = needs_mirror

runner = CliRunner()
ADDENDA_2027 = CMS / "icd10cm" / "2027" / "icd10cm_order_addenda_2027.txt"


@pytest.fixture(scope="module")
def con(built):
    return duckdb.connect(str(built / "warehouse" / "codeetl.duckdb"), read_only=True)


def need(con, *releases):
    loaded = {r[0] for r in con.execute("SELECT release FROM icd10cm_history_releases").fetchall()}
    missing = [r for r in releases if r not in loaded]
    if missing:
        pytest.skip(f"ICD-10-CM release(s) {', '.join(missing)} not loaded in this warehouse (loaded: {', '.join(sorted(loaded))})")


def diff_sets(con, frm, to):
    out: dict[str, set] = {}
    for change, code, billable, old, new in con.execute(
            "SELECT change, replace(code, '.', ''), is_billable, old, new FROM icd10cm_diff(?, ?)", [frm, to]).fetchall():
        out.setdefault(change, set()).add((code, billable) if change != "revised" else (code, old, new))
    return out


@pytest.mark.parametrize("frm, to, published", [(2024, 2025, (252, 36, 13)), (2025, 2026, (487, 28, 38))])
def test_changes_equal_the_code_files(con, frm, to, published):
    need(con, str(frm), str(to))
    a, b = code_file(str(frm)), code_file(str(to))
    expected = {"added": {(c, True) for c in b.keys() - a.keys()}, "deleted": {(c, True) for c in a.keys() - b.keys()},
                "revised": {(c, a[c], b[c]) for c in a.keys() & b.keys() if a[c] != b[c]}}
    assert tuple(len(v) for v in expected.values()) == published
    # a code file lists valid codes only: against a release with headers (2025 from its Tabular), a valid code
    # that became a header (C83.39 got children in FY2025) is a deleted valid code of the code files, and a
    # header that became valid an added one
    got = diff_sets(con, str(frm), str(to))
    folded = {"added": got.get("added", set()) | {(c, True) for c, _ in got.get("became_billable", set())},
              "deleted": got.get("deleted", set()) | {(c, True) for c, _ in got.get("became_header", set())}
                         | got.get("no_longer_valid", set()),
              "revised": got.get("revised", set())}
    assert folded == expected
    # and icd10cm_changes holds them on the consecutive pair leading to `to` (whose earlier release may be an
    # April update listing headers: then a header that became billable counts as a new valid code, as in the
    # addenda, and a code that became a header as a deleted one)
    got = dict(con.execute("""SELECT change, count(*) FILTER (WHERE is_billable OR change = 'became_header')
                              FROM icd10cm_changes WHERE to_release = ? GROUP BY ALL""", [str(to)]).fetchall())
    assert (got.get("added", 0) + got.get("became_billable", 0),
            got.get("deleted", 0) + got.get("became_header", 0) + got.get("no_longer_valid", 0),
            got.get("revised", 0)) == published


def read_addenda() -> dict[str, dict]:
    """The FY2027 order-file addenda: prefix (13 columns: Add:, Delete:, Revise from:, Revise to:), header/valid
    flag, code, short title (60 columns), long title; returns {action: {code: (flag, long title)}}."""
    out: dict[str, dict] = {}
    for line in ADDENDA_2027.read_text(encoding="utf-8").splitlines():
        m = re.match(r"^(Add|Delete|Revise from|Revise to): +([01]) (\S+) +", line)
        if m:
            out.setdefault(m.group(1), {})[m.group(3)] = (m.group(2) == "1", line[84:].strip())
    return out


def test_addenda_reader_matches_the_trailer():
    a = read_addenda()
    assert sum(f for f, _ in a["Add"].values()) == 190 and sum(not f for f, _ in a["Add"].values()) == 63
    assert sum(f for f, _ in a["Delete"].values()) == 30 and sum(not f for f, _ in a["Delete"].values()) == 6
    assert len(a["Revise from"]) == len(a["Revise to"]) == 4


def test_2026_to_2027_equals_the_fy2027_addenda(con):
    need(con, "2027")
    frm, has_headers = con.execute("""SELECT f.release, f.has_headers FROM icd10cm_history_releases f
        JOIN icd10cm_history_releases t ON t.seq = f.seq + 1 WHERE t.release = '2027'""").fetchone()
    if not has_headers:
        pytest.skip(f"the release before 2027 ({frm}) lists no headers: header changes cannot be compared")
    got = diff_sets(con, frm, "2027")
    g = {k: {c for c, *_ in v} for k, v in got.items()}
    billable = {k: {c for c, b in v if b} for k, v in got.items() if k != "revised"}
    headers = {k: {c for c, b in v if not b} for k, v in got.items() if k != "revised"}
    a = read_addenda()
    adds = {f: {c for c, (ff, _) in a["Add"].items() if ff == f} for f in (True, False)}
    dels = {f: {c for c, (ff, _) in a["Delete"].items() if ff == f} for f in (True, False)}
    assert adds[True] == billable.get("added", set()) | g.get("became_billable", set())
    assert adds[False] == headers.get("added", set()) | g.get("became_header", set())
    assert dels[True] == billable.get("deleted", set()) | g.get("became_header", set())
    assert dels[False] == headers.get("deleted", set()) | g.get("became_billable", set())
    assert got.get("revised", set()) == {(c, a["Revise from"][c][1], a["Revise to"][c][1]) for c in a["Revise to"]}


def appendix_a(version: str) -> dict[str, tuple]:
    """Appendix A: DRG (columns 1-3), MDC (5-6), M/P (9), title (12-) -> (mdc, type, title)."""
    out = {}
    for line in (CMS / "msdrg" / version / "appendix_A.txt").read_text(encoding="utf-8").splitlines():
        if re.match(r"^\d{3} ", line):
            out[line[:3]] = (line[4:6].strip() or None, line[8:9].strip() or None, line[11:].strip())
    return out


def test_msdrg_v42_v43_drg_changes_match_appendix_a(con):
    a, b = appendix_a("v42"), appendix_a("v43")
    expected = {("added", d, None, b[d][2]) for d in b.keys() - a.keys()}
    expected |= {("deleted", d, a[d][2], None) for d in a.keys() - b.keys()}
    key = lambda t: " ".join(t.split()).upper()  # noqa: E731  the words of a title, not their case or spacing
    expected |= {("retitled", d, a[d][2], b[d][2]) for d in a.keys() & b.keys() if key(a[d][2]) != key(b[d][2])}
    expected |= {("restyled", d, a[d][2], b[d][2]) for d in a.keys() & b.keys()
                 if a[d][2] != b[d][2] and key(a[d][2]) == key(b[d][2])}
    expected |= {("mdc_changed", d, a[d][0], b[d][0]) for d in a.keys() & b.keys() if a[d][0] != b[d][0]}
    expected |= {("type_changed", d, a[d][1], b[d][1]) for d in a.keys() & b.keys() if a[d][1] != b[d][1]}
    # v42 -> v42.1 -> v43 are the consecutive pairs of msdrg_changes; msdrg_diff compares any two
    got = set(con.execute("SELECT change, subject, old, new FROM msdrg_diff('v42', 'v43') WHERE subject_kind = 'drg'").fetchall())
    assert got == expected
    assert sum(1 for e in expected if e[0] == "added") == 5 and sum(1 for e in expected if e[0] == "deleted") == 6
    assert sum(1 for e in expected if e[0] == "retitled") == 6 and sum(1 for e in expected if e[0] == "restyled") == 4


def test_msdrg_dx_changes_follow_the_deleted_drgs(con):
    # DRGs 077-079 (Hypertensive Encephalopathy) are gone in v43: I67.4 groups elsewhere now
    change, old, new = con.execute("SELECT change, old, new FROM msdrg_diff('v42', 'v43') WHERE subject_kind = 'dx' AND subject = 'I67.4'").fetchone()
    assert change == "family_changed" and "Hypertensive Encephalopathy (077,078,079)" in old and "077" not in new
    counts = dict(con.execute("SELECT change, count(*) FROM msdrg_diff('v42', 'v43') WHERE subject_kind = 'dx' GROUP BY ALL").fetchall())
    v42, v43 = (set(r[0] for r in con.execute("SELECT DISTINCT dx FROM msdrg_dx_drg WHERE version = ?", [v]).fetchall()) for v in ("v42", "v43"))
    assert counts["added"] == len(v43 - v42) and counts["deleted"] == len(v42 - v43)


def test_history_spans_cover_every_listing_without_overlap(con):
    overlaps = con.execute("""SELECT count(*) FROM icd10cm_code_history a JOIN icd10cm_code_history b
        ON a.code = b.code AND a.valid_from < b.valid_from AND coalesce(a.valid_to, DATE '9999-12-31') >= b.valid_from""").fetchone()[0]
    assert overlaps == 0
    listings = con.execute("SELECT count(*) FROM icd10cm_codes WHERE release IN (SELECT release FROM icd10cm_history_releases)").fetchone()[0]
    covered = con.execute("""SELECT count(*) FROM icd10cm_codes c JOIN icd10cm_history_releases r USING (release)
        JOIN icd10cm_code_history h ON h.code = c.code AND h.is_billable = c.is_billable AND h.description = c.description
         AND r.period_from BETWEEN h.valid_from AND coalesce(h.valid_to, DATE '9999-12-31')""").fetchone()[0]
    assert covered == listings


@pytest.mark.parametrize("code, day, expected", [
    ("M96.1", "2025-11-03", True), ("m961", "2024-01-15", True), ("G35", "2025-01-15", True),
    ("G35", "2025-12-01", False), ("G35.A", "2025-01-15", False), ("T78.07XA", "2025-12-01", False),
    ("M54.5", "2026-05-01", False), ("M96.1", "2022-06-01", None),
])
def test_valid_on_real_codes(con, code, day, expected):
    need(con, "2024", "2025", "2026")
    assert con.execute("SELECT icd10cm_valid_on(?, CAST(? AS DATE))", [code, day]).fetchone()[0] is expected


def test_readme_claims_pattern_runs(con):
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    sql = re.search(r"```sql\n(-- Validate a claims table.*?)```", readme, re.S).group(1)
    con.execute("CREATE OR REPLACE TEMP TABLE claims AS SELECT * FROM (VALUES (1, 'M96.1', DATE '2025-11-03'), "
                "(2, 'G35', DATE '2025-12-01'), (3, 'M96.1', DATE '2022-06-01'), (4, 'XX1', DATE '2025-11-03')) v(claim_id, dx, service_date)")
    rows = con.execute(sql).fetchall()
    assert [(r[0], r[-1]) for r in rows] == [(2, False), (3, None), (4, False)]


def test_planted_claims_are_what_the_code_files_say():
    """The planted invalid codes of tests/claims_fixture.py, read in the official code files (FY2025 from
    2024-10-01, FY2026 from 2025-10-01); the valid ones are in both files."""
    fy25, fy26 = code_file("2025"), code_file("2026")
    assert "G35A" in fy26 and "G35A" not in fy25  # not yet valid on 2025-01-15
    assert "T7807XA" in fy25 and "T7807XA" not in fy26  # deleted before 2026-05-01
    assert "M545" not in fy25 and "M545" not in fy26 and {"M5450", "M5451", "M5459"} <= fy26.keys()  # a header
    assert not any(c.startswith("ZZZ") for c in fy26)  # no such code
    pool = valid_pool()
    assert len(pool) > 70_000 and all(c.replace(".", "") in fy25 and c.replace(".", "") in fy26 for c in pool)


def test_validate_finds_exactly_the_planted_rows(built, tmp_path):
    """Every claim row but the planted ones holds codes the official code files list as valid on its date
    (claims_fixture): codeetl validate must report exactly the planted rows, each with its reason, and no valid
    row (a code the history wrongly made a header, or ended, would be reported)."""
    gen = duckdb.connect()
    files = generate_claims(gen, tmp_path, 24_000)
    for kind, path in files.items():
        out = tmp_path / f"invalid-{kind}.csv"
        r = runner.invoke(app, ["validate", str(path), "--code-column", "dx1", "--code-column", "dx2", "--date-column",
                                "service_date", "--out", str(out), "--json", "--data-dir", str(built)])
        assert r.exit_code == 1, r.output
        summary = json.loads(r.stdout)
        assert summary["rows"] == 24_000 and summary["invalid_rows"] == 24
        got = set(gen.execute(f"SELECT row_number, \"column\", reason FROM read_csv_auto('{out}')").fetchall())
        assert got == {(n, "dx1", reason) for n, reason in gen.execute("SELECT * FROM planted").fetchall()}


def test_diff_cli(con, built):
    need(con, "2025", "2026")
    r = runner.invoke(app, ["diff", "2025", "2026", "--json", "--data-dir", str(built)])
    assert r.exit_code == 0, r.output
    p = json.loads(r.stdout)
    # CMS's 28 deleted codes: 12 deleted, and 16 that became headers (G35 among them), which the FY2026 code file
    # cannot call headers: listed apart, never under deleted
    codes = p["counts"]["codes"]
    assert (codes["added"], codes["deleted"] + codes["no_longer_valid"], codes["revised"]) == (487, 28, 38)
    fy26 = code_file(2026)
    gone = {c["code"] for c in p["codes"]["no_longer_valid"]}
    assert "G35" in gone and "G35" not in {c["code"] for c in p["codes"]["deleted"]}
    assert gone == {c for c in (d["code"] for d in p["codes"]["deleted"] + p["codes"]["no_longer_valid"])
                    if any(k.startswith(c.replace(".", "")) and k != c.replace(".", "") for k in fy26)}
    assert {c["code"] for c in p["codes"]["added"]} >= {"G35.A", "B88.01"}
    assert p["msdrg"]["from"]["version"] == "v42" and p["msdrg"]["counts"]["drg"]["added"] == 5
    r = runner.invoke(app, ["diff", "v42", "v43", "--data-dir", str(built)])
    assert r.exit_code == 0 and "DRGs deleted (6)" in r.output
    r = runner.invoke(app, ["diff", "1999", "--data-dir", str(built)])
    assert r.exit_code == 1 and "neither a loaded icd10cm release nor a date" in " ".join(r.output.split())


def test_valid_on_examples_in_readme(con):
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    examples = re.findall(r"SELECT (icd10cm_valid_on\([^;]*\));\s+-- (true|false|NULL)", readme)
    assert len(examples) == 3
    for expr, expected in examples:
        assert con.execute(f"SELECT {expr}").fetchone()[0] is {"true": True, "false": False, "NULL": None}[expected], expr


def test_a_header_spans_code_file_releases(con):
    """A code file lists valid codes only, but a code with valid codes below it is a header there: M54.5, a header
    in every Tabular from FY2025 on, is one across 2024 and 2026 (code files, with M54.50, M54.51, M54.59 below it)
    and across the gap 2024-04 (unknown days, not a change). It became a header on 2021-10-01, the day the CDC
    conversion table gives for its replacement by M54.50, M54.51 and M54.59."""
    need(con, "2024", "2025", "2026", "2026-04")
    tabular_2026_04 = (CMS / "icd10cm" / "2026-04" / "icd10cm-tabular-April-1-2026.xml").read_text(encoding="utf-8")
    assert "<name>M54.50</name>" in tabular_2026_04 and "M545" not in code_file("2026")  # a header, not in the code file
    assert {"M5450", "M5451", "M5459"} <= set(code_file("2024"))
    conversion = (CMS / "icd10cm" / "2025" / "icd-10-cm-conversion-table-FY2025.csv").read_text(encoding="utf-8")
    assert '"M54.50"\t2021\t"M54.5"' in conversion  # effective October 1, 2021
    spans = con.execute("SELECT valid_from, is_billable, first_release, valid_from_source FROM icd10cm_code_history "
                        "WHERE code = 'M54.5'").fetchall()
    assert len(spans) == 1 and str(spans[0][0]) == "2021-10-01" and spans[0][1:] == (False, "2024", "conversion table")
