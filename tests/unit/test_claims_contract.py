"""The claim SQL every engine runs (sql/claims/*.sql through codeetl.claims.contract), on DuckDB with small
inputs: the date and key rules, the output names, annotate on the tiny history warehouse, and the Spark
engine's messages when PySpark or Java is missing (no JVM is started here)."""

from __future__ import annotations

import sys

import duckdb
import pytest

from codeetl.claims.annotate import annotate_file
from codeetl.claims.contract import BadInput, annotate_sql, day_value, default_out, validate_sql
from _shared import apply_schema
from history_fixture import export_claim_contract, make_history


def cells(rows: list[tuple[str, str]]) -> list[tuple]:
    """(key, day) of each (code, date) as validate checks a cell that is not written as a code (no valid spans
    here, so every non-empty cell is left over and normalised by the bad statement): the rules key and day."""
    con = duckdb.connect()
    con.execute('CREATE TABLE src ("__row" BIGINT, "__date" VARCHAR, dx VARCHAR)')
    con.executemany("INSERT INTO src VALUES (?, ?, ?)", [(i + 1, d, c) for i, (c, d) in enumerate(rows)])
    con.execute(f'CREATE VIEW claim_source AS SELECT "__row", "__date", {day_value("__date", "VARCHAR")} AS "__day", '
                f'dx FROM src')
    con.execute("CREATE TABLE claim_icd10cm_interval (code VARCHAR, code_nodot VARCHAR, is_billable BOOLEAN, "
                "valid_from DATE, valid_to DATE)")
    sql = validate_sql(["dx"])
    for name, text in (("claim_icd10cm_written", sql.written), ("claim_left_over", sql.left_over)):
        con.execute(f"CREATE VIEW {name} AS {text}")
    return con.execute(f"SELECT key, CAST(day AS VARCHAR) FROM ({sql.bad}) ORDER BY row_number").fetchall()


def test_dates_are_yyyy_mm_dd_only_and_keys_lose_dots_spaces_and_case():
    got = cells([(" m96.1 ", "2026-05-08"), ("M96 .1", " 2026-02-28 "), ("A00", "2026-02-30"), ("A00", "2026-1-5"),
                 ("A00", "20260105"), ("A00", "0000-01-01"), ("A00", "2026-05-08 10:00"), ("A00", "+2026-05-08"),
                 ("A00", ""), ("A00", None)])
    assert got == [("M961", "2026-05-08"), ("M961", "2026-02-28")] + [("A00", None)] * 8
    assert cells([("", "2026-05-08"), ("  ", "2026-05-08"), (None, "2026-05-08")]) == []  # empty cells are skipped


def test_default_outputs_sit_beside_the_input():
    assert default_out("claims.csv") == "claims.invalid.csv"
    assert default_out("/d/claims.parquet", "annotated", ".parquet") == "/d/claims.annotated.parquet"
    assert default_out("s3a://bucket/claims/", "invalid", ".parquet") == "s3a://bucket/claims.invalid.parquet"
    assert default_out("/d/*.csv") == "/d/claims.invalid.csv"


def test_annotate_refuses_a_column_it_would_add():
    with pytest.raises(BadInput, match="already have a column named 'dx_description'"):
        annotate_sql(["dx", "day", "dx_description"], ["dx"], None)
    plan = annotate_sql(["pdx", "sdx", "day"], ["sdx", "pdx"], "pdx")
    assert plan.added[:3] == ["row_number", "icd10cm_release", "msdrg_version"]
    assert "pdx_drgs" in plan.added and "sdx_cc_level" in plan.added and "pdx_cc_level" not in plan.added


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory):
    root = tmp_path_factory.mktemp("w")
    con = make_history(root / "codeetl.duckdb")
    export_claim_contract(con, root / "parquet")
    con.close()
    return root / "codeetl.duckdb"


def test_annotate_gives_each_row_the_release_of_its_day(warehouse, tmp_path):
    src = tmp_path / "c.csv"
    src.write_text("id,dx,day\n1,a00.1,2024-01-01\n2,A00.1,2026-01-01\n3,UB2,2025-12-01\n4,XYZ,2025-01-01\n"
                   "5,A00.1,2019-01-01\n6,,2025-01-01\n", encoding="utf-8")
    r = annotate_file(warehouse, src, ["dx"], "day", out=tmp_path / "a.parquet")
    assert (r.rows, r.codes) == (6, 5)
    got = duckdb.connect().execute(f"SELECT row_number, id, icd10cm_release, dx_description, dx_billable "
                                   f"FROM '{tmp_path / 'a.parquet'}' ORDER BY row_number").fetchall()
    assert got == [(1, "1", "R1", "Cholera eltor", True),
                   (2, "2", "R3", "Cholera due to Vibrio cholerae 01, biovar eltor", True),
                   (3, "3", "R3", "Fixture disease B", False),  # a header in R3
                   (4, "4", "R2", None, None),
                   (5, "5", None, None, None),  # no release loaded for the day
                   (6, "6", "R2", None, None)]


def test_spark_engine_names_what_to_install(monkeypatch):
    from codeetl.spark import session

    monkeypatch.setitem(sys.modules, "pyspark", None)  # import pyspark fails
    with pytest.raises(session.SparkUnavailable, match=r"needs PySpark: install codeetl with its spark extra"):
        session.require_spark()
    monkeypatch.delitem(sys.modules, "pyspark")
    monkeypatch.delenv("JAVA_HOME", raising=False)
    monkeypatch.setenv("PATH", "/nonexistent")
    assert "apt-get install openjdk-17-jre-headless" in session.java_missing()


def test_a_date_column_is_read_as_its_day_and_days_out_of_range_or_timestamps_are_unreadable():
    from codeetl.claims.contract import date_text

    con = duckdb.connect()
    con.execute("CREATE TABLE t AS SELECT * FROM (VALUES (TRY_CAST('0000-01-01' AS DATE), TIMESTAMP '2026-05-08 23:59:00'),"
                " (DATE '2026-05-08', NULL)) v(d, ts)")
    got = con.execute(f"SELECT {date_text('d', 'DATE')}, {date_text('ts', 'TIMESTAMP')} FROM t").fetchall()
    # DuckDB alone would print 0001-01-01 (BC); a TIMESTAMP is read as the text it prints (an unreadable date:
    # dates are YYYY-MM-DD text or DATE values only)
    assert got == [("before 0001-01-01", "2026-05-08 23:59:00"), ("2026-05-08", None)]


def test_the_claim_sql_says_unknown_code_in_validate_sql_s_words():
    """claim_icd10cm_reason has no row for a code no release knows; the claim SQL's words for it must be those
    sql/history/validate.sql gives such a code (one definition of the reasons)."""
    from codeetl.build.claim_contract import REASON_STATEMENTS
    from codeetl.build.named_sql import named_statements

    con = make_history()
    apply_schema(con, "views")  # the contract views: validate.sql's valid spans are claim_icd10cm_interval's
    con.execute("CREATE TEMP VIEW v_cells AS SELECT 1 AS row_number, 'dx' AS column_name, 'QQ9' AS code, "
                "'2025-01-01' AS raw_date, 'QQ9' AS key, DATE '2025-01-01' AS day")
    sql = named_statements("history/validate.sql")
    for name in REASON_STATEMENTS:
        con.execute(sql["no_replacements" if name == "replacements" else name])
    reason, details = con.execute("SELECT reason, details FROM v_reasons").fetchone()
    claim_sql = named_statements("claims/validate.sql")["invalid"]
    assert f"coalesce(r.reason, '{reason}')" in claim_sql and f"coalesce(r.details, '{details}')" in claim_sql


def test_annotate_checks_its_memory_limit_first_like_validate(tmp_path):
    """A bad --memory-limit is exit 2 naming the option, before the warehouse is looked for (as validate's)."""
    from typer.testing import CliRunner

    from codeetl.cli import app

    claims = tmp_path / "c.csv"
    claims.write_text("dx,day\nA00.0,2025-01-01\n", encoding="utf-8")
    r = CliRunner().invoke(app, ["annotate", str(claims), "--code-column", "dx", "--date-column", "day",
                                 "--memory-limit", "10MB", "--data-dir", str(tmp_path / "none")])
    assert r.exit_code == 2, r.output
    assert "--memory-limit '10MB': expected at least 450MB" in " ".join(r.output.split())
