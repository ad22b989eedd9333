"""`codeetl validate` gives the right reason, with the right dates and codes, for every kind of invalid code,
on a claims file built from the official files (never from the tables under test).

Every expectation is read here from ../shared/cms with plain Python: the valid-code files of FY2024, FY2025 and
FY2026 (the 2025-04 and 2026-04 updates list the same codes as October: cms/README.md), the Tabular XML of
2025-04 and 2026-04 (which codes are headers), the FY2025 Conversion Table, and the catalog's release dates.
"""

from __future__ import annotations

import csv
import json
import re

import duckdb
import pytest
from typer.testing import CliRunner

from _shared import CMS
from codeetl.cli import app
from codeetl.sources.catalog import load_catalog

runner = CliRunner()
TABULAR = {"2025-04": CMS / "icd10cm/2025-04/icd10cm-tabular-April-2025.xml",
           "2026-04": CMS / "icd10cm/2026-04/icd10cm-tabular-April-1-2026.xml"}
CONVERSION = CMS / "icd10cm/2025/icd-10-cm-conversion-table-FY2025.csv"


def code_file(year: int) -> set[str]:
    path = CMS / "icd10cm" / str(year) / f"icd10cm-codes-{year}.txt"
    return {line[:8].strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()}


def dotted(c: str) -> str:
    return c[:3] + "." + c[3:] if len(c) > 3 else c


def tabular_names(release: str) -> set[str]:
    return set(re.findall(r"<name>([^<]+)</name>", TABULAR[release].read_text(encoding="utf-8")))


def below(codes: set[str], code: str) -> list[str]:
    key = code.replace(".", "")
    return sorted(dotted(c) for c in codes if c.startswith(key) and c != key)


def replacements(code: str) -> tuple[list[str], str]:
    """(new codes, effective year) of the conversion table rows whose previous code is `code`."""
    rows = [r for r in csv.reader(CONVERSION.read_text(encoding="utf-8").splitlines(), delimiter="\t") if len(r) >= 3]
    hits = [(r[0], r[1]) for r in rows if r[2].strip() == code]
    assert len({y for _, y in hits}) == 1
    return sorted(c for c, _ in hits), hits[0][1]


@pytest.fixture(scope="module")
def files():
    return {y: code_file(y) for y in (2024, 2025, 2026)}


@pytest.fixture(scope="module")
def cases(files):
    """(code, date, reason, details) planted in the claims file, each derived from the files."""
    cat = {r.release: r for r in load_catalog()["icd10cm"].releases}
    f24, f25, f26 = files[2024], files[2025], files[2026]
    t25, t26 = tabular_names("2025-04"), tabular_names("2026-04")
    out = []
    # header code on a day of a release with headers: M54.5 is a node of the 2026-04 Tabular, no code of the
    # code file, and has valid codes below it
    assert "M54.5" in t26 and "M545" not in f26
    b = below(f26, "M54.5")
    out.append(("M54.5", "2026-05-01", "header code", f"a header in release 2026-04; {len(b)} billable codes below it: {', '.join(b)}"))
    # ... on a day of a release loaded from its code file only (FY2026): G35 is gone from it, codes below it are new
    assert "G35" in f25 and "G35" not in f26 and "G35" in t26
    b = below(f26, "G35")
    out.append(("G35", "2025-12-01", "header code",
                f"release 2026 lists billable codes only; the code is a prefix of them; {len(b)} billable codes below it: "
                + ", ".join(b[:8]) + (", ..." if len(b) > 8 else "")))
    # a header-only code before it existed: a header from FY2026 (its codes are new in the FY2026 code file), never valid
    assert "C50.A" in t26 and "C50.A" not in t25 and not any(c.startswith("C50A") for c in f25) and below(f26, "C50.A")
    assert "C50A" not in f24 | f25 | f26
    start = cat["2026"].effective_from
    out.append(("C50.A", "2025-01-01", "header code", f"not valid on any loaded day: a header from {start} (release 2026)"))
    # deleted, the day after the last release listing it (the 2025-04 Tabular still lists it)
    # (in the 2025-04 Tabular T78.07 takes its 7th character through the placeholder X; in 2026 it has children)
    assert "T7807XA" in f25 and "T7807XA" not in f26 and "T78.07" in t25 and "T78.070" not in t25
    out.append(("T78.07XA", "2026-05-01", "deleted", f"valid until {cat['2025-04'].effective_to} (last in release 2025-04)"))
    # deleted across the gap 2024-04 (not loaded): the conversion table dates its replacement
    assert "T8132XA" in f24 and "T8132XA" not in f25
    new, year = replacements("T81.32XA")
    out.append(("T81.32XA", "2025-01-01", "deleted",
                f"valid until {int(year)}-09-30 (CDC conversion table; last listed in release 2024); replaced by "
                f"{', '.join(new)} on {year}-10-01"))
    # not yet valid: new in the FY2026 code file
    assert "G35A" in f26 and "G35A" not in f25 and "G35.A" not in t25
    out.append(("G35.A", "2025-01-15", "not yet valid", f"valid from {cat['2026'].effective_from} (release 2026)"))
    # no release loaded for the date: between 2024 (to 2024-03-31) and 2025 (from 2024-10-01), 2024-04 not loaded;
    # and before the first loaded release
    assert "M961" in f24 and "M961" in f25
    out.append(("M96.1", "2024-06-01", "no release loaded for the date",
                f"no ICD-10-CM release loaded covers 2024-06-01: it falls between release 2024 (to {cat['2024'].effective_to}) "
                f"and release 2025 (from {cat['2025'].effective_from})"))
    out.append(("M96.1", "2022-06-01", "no release loaded for the date",
                f"no ICD-10-CM release loaded covers 2022-06-01: the earliest loaded is release 2024 (from {cat['2024'].effective_from})"))
    out.append(("M96.1", "", "missing date", "the date of service is empty"))
    out.append(("M96.1", "2025-02-30", "unreadable date", "expected a date as YYYY-MM-DD, got '2025-02-30'"))
    assert not any(c.startswith("ZZZ") for c in f24 | f25 | f26)
    out.append(("ZZZ.99", "2025-11-03", "unknown code", "not an ICD-10-CM code in any loaded release"))
    return out


@pytest.fixture(scope="module")
def claims(tmp_path_factory, files, cases):
    """Valid rows (codes of both the FY2025 and FY2026 code files, on days of FY2026's October release) and,
    every 100th row, one planted case."""
    path = tmp_path_factory.mktemp("claims") / "claims.csv"
    valid = sorted(files[2025] & files[2026])[::37]
    rows, planted = [], {}
    for i, c in enumerate(valid):
        if i % 100 == 99 and len(planted) < len(cases):
            planted[len(rows) + 1] = cases[len(planted)]
            rows.append([planted[len(rows) + 1][0], planted[len(rows) + 1][1]])
        rows.append([dotted(c), f"2025-{10 + i % 3:02d}-{1 + i % 28:02d}"])
    assert len(planted) == len(cases)
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["dx", "service_date"])
        w.writerows(rows)
    return path, planted, len(rows)


def test_every_reason_is_right(built, claims):
    path, planted, n = claims
    out = path.with_name("invalid.csv")
    r = runner.invoke(app, ["validate", str(path), "--code-column", "dx", "--date-column", "service_date", "--out", str(out),
                            "--json", "--data-dir", str(built)])
    assert r.exit_code == 1, r.output
    summary = json.loads(r.stdout)
    assert summary["rows"] == n and summary["invalid_rows"] == len(planted)  # no valid code rejected
    got = {int(row["row_number"]): row for row in csv.DictReader(out.open(encoding="utf-8"))}
    assert set(got) == set(planted)
    for row_number, (code, day, reason, details) in planted.items():
        row = got[row_number]
        assert (row["code"], row["reason"], row["details"]) == (code, reason, details), row_number
    assert set(summary["by_reason"]) == {c[2] for c in planted.values()}


def test_the_rate_is_shown_only_for_large_files(built, claims, tmp_path):
    path, _, n = claims
    r = runner.invoke(app, ["validate", str(path), "--code-column", "dx", "--date-column", "service_date",
                            "--out", str(tmp_path / "o.csv"), "--data-dir", str(built)])
    assert "rows/s" not in r.output and f"{n:,} rows" in " ".join(r.output.split())
    big = tmp_path / "big.csv"
    lines = path.read_text(encoding="utf-8").splitlines()
    body = [l for l in lines[1:] if l.startswith("M96.1,2025-1")] or ["M96.1,2025-11-03"]
    big.write_text("\n".join([lines[0]] + (body * (100_001 // len(body) + 1))[:100_001]) + "\n", encoding="utf-8")
    r = runner.invoke(app, ["validate", str(big), "--code-column", "dx", "--date-column", "service_date",
                            "--out", str(tmp_path / "o2.csv"), "--data-dir", str(built)])
    assert r.exit_code == 0 and "100,001 rows" in " ".join(r.output.split()) and "rows/s" in r.output, r.output


def test_one_rule_for_a_covered_day(built):
    """`code`, `validate`, icd10cm_valid_on and the resolver agree on every day around the loaded releases."""
    con = duckdb.connect(str(built / "warehouse" / "codeetl.duckdb"), read_only=True)
    rows = con.execute("""
        SELECT d::DATE AS day, day_covered('icd10cm', d::DATE) AS covered,
               icd10cm_valid_on('M96.1', d::DATE) IS NOT NULL AS answered,
               (SELECT in_effect FROM release_on('icd10cm', d::DATE)) AS in_effect
        FROM range(DATE '2023-09-01', DATE '2027-11-01', INTERVAL 7 DAY) t(d)""").fetchall()
    assert all(c == a == bool(e) for _, c, a, e in rows)
    uncovered = [str(d) for d, c, *_ in rows if not c]  # 2024-04 is not loaded; before 2023-10-01, after 2027-09-30
    assert any("2024-04" <= d <= "2024-09-30" for d in uncovered) and any(d > "2027-09-30" for d in uncovered)
    r = runner.invoke(app, ["code", "M96.1", "--as-of", "2024-06-01", "--json", "--data-dir", str(built)])
    page = json.loads(r.stdout)
    assert page["day_covered"] is False and page["release"]["in_effect"] is False
    r = runner.invoke(app, ["code", "M96.1", "--as-of", "2024-06-01", "--data-dir", str(built)])
    assert "Unknown on 2024-06-01" in " ".join(r.output.split())
