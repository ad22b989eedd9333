"""A generated claims file with planted invalid codes, made by DuckDB (shared by the tests and
bench/bench_validate.py).

Rows: claim_id, dx1, dx2 (empty in every other row), service_date. Valid rows draw their codes from the
official FY2025 and FY2026 code files (../shared/cms, read by tests/official.py, never from the warehouse under
test): the codes listed, with the same description, in both, dated in the half-years those files are the
release in effect for (2024-10-01 .. 2025-03-31 and 2025-10-01 .. 2026-03-31, before each April update takes
effect). Every PLANTED_EVERY-th row (row numbers PLANTED_EVERY, 2 * PLANTED_EVERY, ...) gets one invalid dx1
of the kinds of PLANTED in turn; table ``planted(row_number, reason)`` of the generating connection lists them.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from official import code_file, dotted

PLANTED_EVERY = 1000
WINDOWS = (("2024-10-01", 182), ("2025-10-01", 182))  # first day, days: FY2025 and FY2026 until their April updates

# (dx1, service_date, the reason codeetl validate must give); each checked against the code files by
# tests/integration/test_history.py::test_planted_claims_are_what_the_code_files_say
PLANTED = [
    ("ZZZ.99", "2025-11-03", "unknown code"),
    ("M54.5", "2026-05-01", "header code"),        # a header since FY2022 (2021-10-01: M54.50, M54.51, M54.59)
    ("G35.A", "2025-01-15", "not yet valid"),      # new in FY2026 (2025-10-01)
    ("T78.07XA", "2026-05-01", "deleted"),         # deleted in FY2026
    ("M96.1", "2022-06-01", "no release loaded for the date"),
    ("M96.1", None, "missing date"),               # an empty date
]


def valid_pool() -> list[str]:
    """Dotted codes valid, unchanged, in both the FY2025 and the FY2026 code files, sorted."""
    fy25, fy26 = code_file("2025"), code_file("2026")
    return sorted(dotted(c) for c in fy25.keys() & fy26.keys() if fy25[c] == fy26[c])


def generate_claims(con: duckdb.DuckDBPyConnection, folder: Path, rows: int,
                    formats: tuple[str, ...] = ("csv", "parquet")) -> dict[str, Path]:
    """Write ``claims.csv`` and ``claims.parquet`` (service_date as DATE) of ``rows`` rows into ``folder`` (only
    the ``formats`` asked for); create table ``planted`` on ``con``. Returns {'csv': path, 'parquet': path}."""
    con.execute("SET VARIABLE pool = ?::VARCHAR[]", [valid_pool()])
    con.execute("CREATE OR REPLACE TABLE kinds (k INTEGER, code VARCHAR, day DATE, reason VARCHAR)")
    con.executemany("INSERT INTO kinds VALUES (?, ?, ?, ?)", [(k, *p) for k, p in enumerate(PLANTED)])
    con.execute("SET VARIABLE kind_code = (SELECT list(code ORDER BY k) FROM kinds)")
    con.execute("SET VARIABLE kind_day = (SELECT list(day ORDER BY k) FROM kinds)")
    con.execute(f"""
        CREATE OR REPLACE TABLE planted AS
        SELECT i + 1 AS row_number, k.reason
        FROM range({rows}) AS t(i) JOIN kinds AS k ON k.k = (i // {PLANTED_EVERY}) % {len(PLANTED)}
        WHERE i % {PLANTED_EVERY} = {PLANTED_EVERY - 1}""")
    n = len(PLANTED)
    (first, days), (second, _) = WINDOWS
    day = f"CAST(hash(3 * i) % {2 * days} AS INTEGER)"
    query = f"""
        SELECT i + 1 AS claim_id,
               CASE WHEN i % {PLANTED_EVERY} = {PLANTED_EVERY - 1}
                    THEN getvariable('kind_code')[(i // {PLANTED_EVERY}) % {n} + 1]
                    ELSE getvariable('pool')[CAST(hash(2 * i) % len(getvariable('pool')) AS BIGINT) + 1] END AS dx1,
               CASE WHEN i % 2 = 0 THEN getvariable('pool')[CAST(hash(2 * i + 1) % len(getvariable('pool')) AS BIGINT) + 1] END AS dx2,
               CASE WHEN i % {PLANTED_EVERY} = {PLANTED_EVERY - 1}
                    THEN getvariable('kind_day')[(i // {PLANTED_EVERY}) % {n} + 1]
                    WHEN {day} < {days} THEN DATE '{first}' + {day}
                    ELSE DATE '{second}' + ({day} - {days}) END AS service_date
        FROM range({rows}) AS t(i)"""
    files = {"csv": folder / "claims.csv", "parquet": folder / "claims.parquet"}
    options = {"csv": "FORMAT csv, HEADER true", "parquet": "FORMAT parquet, COMPRESSION zstd"}
    for kind in formats:
        con.execute(f"COPY ({query}) TO '{files[kind]}' ({options[kind]})")
    return {kind: files[kind] for kind in formats}
