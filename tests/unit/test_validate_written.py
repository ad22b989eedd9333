"""validate's two checks (sql/claims/validate.sql): the one pass with the codes as written lets through only
cells the full rule accepts, and the cells it leaves over (written otherwise, blank, dated loosely) get the
same answer as before. On the tiny history warehouse (tests/unit/history_fixture.py), where A00.0 is
billable on 2024-01-01 (tests/unit/test_validate.py, row 1)."""

from __future__ import annotations

import datetime as dt

import duckdb
import pytest

from codeetl.claims.validate import validate_file
from test_claims_contract import warehouse  # noqa: F401  (the tiny history warehouse's contract files)

ROWS = [  # (dx, date as text, date as DATE)
    ("A00.0", "2024-01-01", dt.date(2024, 1, 1)),     # 1 valid as written
    ("A000", " 2024-01-01 ", dt.date(2024, 1, 1)),    # 2 valid as written without the dot; the text trimmed
    (" a00.0 ", "2024-01-01", dt.date(2024, 1, 1)),   # 3 valid once normalised
    ("A00.0", "2024-1-1", None),                      # 4 a date both engines' casts accept, not YYYY-MM-DD
    ("A00.0", "2024-01-01T00:00:00", None),           # 5 a timestamp: unreadable
    ("A00.0", "", None),                              # 6 missing date
    ("   ", "2024-01-01", dt.date(2024, 1, 1)),       # 7 a blank cell: no code
    ("a00 0", "20240101", dt.date(2024, 1, 1)),       # 8 unreadable as text, valid with the DATE column
]


@pytest.fixture(scope="module")
def claims(tmp_path_factory):
    p = tmp_path_factory.mktemp("c") / "claims.parquet"
    con = duckdb.connect()
    con.execute("CREATE TABLE t (dx VARCHAR, day_text VARCHAR, day DATE)")
    con.executemany("INSERT INTO t VALUES (?, ?, ?)", ROWS)
    con.execute(f"COPY t TO '{p}' (FORMAT parquet)")
    return p


def reported(out):
    return {r[0]: r[1] for r in duckdb.sql(f"SELECT row_number, reason FROM read_csv('{out}') ORDER BY 1").fetchall()}


def test_a_loose_date_is_not_let_through_by_the_first_check(warehouse, claims, tmp_path):
    r = validate_file(warehouse, claims, ["dx"], "day_text", out=tmp_path / "o.csv")
    assert reported(tmp_path / "o.csv") == {4: "unreadable date", 5: "unreadable date", 6: "missing date",
                                            8: "unreadable date"}
    assert (r.rows, r.codes) == (8, 7)  # the blank cell is no code


def test_a_date_column_is_its_day(warehouse, claims, tmp_path):
    r = validate_file(warehouse, claims, ["dx"], "day", out=tmp_path / "o.csv")
    assert reported(tmp_path / "o.csv") == {4: "missing date", 5: "missing date", 6: "missing date"}
    assert (r.rows, r.codes, r.invalid_codes) == (8, 7, 3)


def test_a_column_name_with_a_quote_and_a_backslash_is_reported_as_it_is(warehouse, tmp_path):
    # each code column's name is a string literal in the first check (quote_text: Spark reads a backslash as an
    # escape, DuckDB does not; chr(92) reads alike in both)
    name = "dx's\\1"
    p = tmp_path / "c.parquet"
    duckdb.sql(f"""COPY (SELECT 'XYZ' AS "{name}", DATE '2024-01-01' AS day) TO '{p}' (FORMAT parquet)""")
    validate_file(warehouse, p, [name], "day", out=tmp_path / "o.csv")
    out = tmp_path / "o.csv"
    assert duckdb.sql(f"SELECT \"column\" FROM read_csv('{out}')").fetchall() == [(name,)]
