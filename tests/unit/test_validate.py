"""`codeetl validate` on the tiny history warehouse (tests/unit/history_fixture.py): each reason, several code
columns, CSV and parquet in and out, exit codes and messages."""

from __future__ import annotations

import json

import duckdb
import pytest
from typer.testing import CliRunner

from codeetl.cli import app
from codeetl.claims.validate import BadInput, validate_file
from history_fixture import export_claim_contract, make_history

runner = CliRunner()

CLAIMS = """claim,dx1,dx2,service_date
1,A00.0,,2024-01-01
2,a000,UB2,2025-01-01
3,UB2,,2025-12-01
4,UA1,,2025-01-01
5,UC3.1,,2025-01-01
6,XYZ,,2025-01-01
7,A00.0,,2019-01-01
8,A00.0,,2025-02-30
9,A00,,2024-01-01
10,,,2024-01-01
11,A00.1,uc3.1,2026-01-01
"""
EXPECTED = {  # row_number -> (column, code, reason, details start)
    3: ("dx1", "UB2", "header code", "a header in release R3; 2 billable codes below it: UB2.0, UB2.1"),
    4: ("dx1", "UA1", "deleted", "valid until 2024-09-30 (last in release R1); replaced by A00.1"),
    5: ("dx1", "UC3.1", "not yet valid", "valid from 2025-10-01 (release R3)"),
    6: ("dx1", "XYZ", "unknown code", "not an ICD-10-CM code in any loaded release"),
    7: ("dx1", "A00.0", "no release loaded for the date", "no ICD-10-CM release loaded covers 2019-01-01"),
    8: ("dx1", "A00.0", "unreadable date", "expected a date as YYYY-MM-DD, got '2025-02-30'"),
    9: ("dx1", "A00", "header code", "release R1 lists billable codes only; the code is a prefix of them; 2 billable"),
}


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("data")
    (root / "warehouse").mkdir()
    con = make_history(root / "warehouse" / "codeetl.duckdb")
    con.execute("CREATE TABLE IF NOT EXISTS icd10cm_replacements (code VARCHAR, replaced_by VARCHAR, effective DATE)")
    con.execute("INSERT INTO icd10cm_replacements (release, line_no, code, is_range, replaced_by, effective, effective_text, previous_text) "
                "VALUES ('R2', 4, 'UA1', false, 'A00.1', DATE '2024-10-01', '2024', 'UA1')")
    export_claim_contract(con, root / "warehouse" / "parquet")
    con.close()
    return root


@pytest.fixture
def claims(tmp_path):
    p = tmp_path / "claims.csv"
    p.write_text(CLAIMS, encoding="utf-8")
    return p


def invalid_rows(path):
    reader = "read_parquet" if path.suffix == ".parquet" else "read_csv_auto"
    return {r[0]: r[1:] for r in duckdb.sql(f"SELECT * FROM {reader}('{path}') ORDER BY 1").fetchall()}


def check(rows):
    assert set(rows) == set(EXPECTED)
    for n, (column, code, reason, details) in EXPECTED.items():
        got = rows[n]
        assert (got[0], got[1], got[3]) == (column, code, reason), n
        assert got[4].startswith(details), (n, got[4])


def test_every_reason_csv(data_dir, claims):
    r = validate_file(data_dir / "warehouse" / "codeetl.duckdb", claims, ["dx1", "dx2"], "service_date")
    assert (r.rows, r.codes, r.invalid_rows, r.invalid_codes) == (11, 12, 7, 7)
    assert r.by_reason["header code"] == {"codes": 2, "rows": 2}
    assert r.out == str(claims.with_name("claims.invalid.csv"))
    check(invalid_rows(claims.with_name("claims.invalid.csv")))


def test_parquet_in_and_out_with_date_type(data_dir, claims, tmp_path):
    src = tmp_path / "claims.parquet"
    duckdb.sql(f"COPY (SELECT claim, dx1, dx2, TRY_CAST(trim(service_date) AS DATE) AS service_date "
               f"FROM read_csv('{claims}', all_varchar = true)) TO '{src}' (FORMAT parquet)")
    out = tmp_path / "bad.parquet"
    r = validate_file(data_dir / "warehouse" / "codeetl.duckdb", src, ["DX1", "dx2"], "service_date", out=out)
    rows = invalid_rows(out)
    # the impossible date became NULL in the DATE column: a missing date there
    assert rows[8][2] is None and rows[8][3] == "missing date"
    assert r.invalid_codes == 7 and set(rows) == set(EXPECTED)


def test_missing_column_and_unreadable_file(data_dir, claims, tmp_path):
    db = data_dir / "warehouse" / "codeetl.duckdb"
    with pytest.raises(BadInput, match="has no column 'dx9'; its columns: claim, dx1, dx2, service_date"):
        validate_file(db, claims, ["dx9"], "service_date")
    bad = tmp_path / "x.parquet"
    bad.write_text("not parquet")
    with pytest.raises(BadInput, match="cannot read"):
        validate_file(db, bad, ["dx1"], "service_date")
    with pytest.raises(BadInput, match="no such file"):
        validate_file(db, tmp_path / "none.csv", ["dx1"], "service_date")


def test_cli_exit_codes_and_json(data_dir, claims, tmp_path):
    args = ["--code-column", "dx1", "--code-column", "dx2", "--date-column", "service_date", "--data-dir", str(data_dir)]
    r = runner.invoke(app, ["validate", str(claims), *args, "--json", "--out", str(tmp_path / "o.csv")])
    assert r.exit_code == 1, r.output
    summary = json.loads(r.stdout)
    assert summary["invalid_rows"] == 7 and summary["by_reason"]["deleted"] == {"codes": 1, "rows": 1}
    good = tmp_path / "good.csv"
    good.write_text("dx1,dx2,service_date\nA00.0,,2024-01-01\n", encoding="utf-8")
    r = runner.invoke(app, ["validate", str(good), *args])
    assert r.exit_code == 0 and "every code is valid" in r.output
    r = runner.invoke(app, ["validate", str(good), "--code-column", "nope", "--date-column", "service_date", "--data-dir", str(data_dir)])
    assert r.exit_code == 2 and "has no column 'nope'" in " ".join(r.output.split()) and "Traceback" not in r.output
    r = runner.invoke(app, ["validate", str(claims), *args])
    assert r.exit_code == 1 and "header code" in r.output and "invalid rows written to" in r.output
