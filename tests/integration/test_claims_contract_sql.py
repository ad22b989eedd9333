"""The claims contract as the README gives it to other engines: its SQL example, run on DuckDB over the exported
claim_* files, finds the same invalid codes with the same reasons as `codeetl validate`; and the contract's
intervals say what the history tables say."""

from __future__ import annotations

import re
from pathlib import Path

import duckdb

from _shared import REPO
from claims_official import write_claims
from codeetl.build import paths
from codeetl.claims.contract import CONTRACT_TABLES, contract_file
from codeetl.claims.validate import contract_folder, validate_file


def readme_contract_sql() -> str:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme.split("### Claims on any engine: the contract files", 1)[1]
    return re.search(r"```sql\n(.*?)```", section, re.S).group(1).strip().rstrip(";")


def test_readme_contract_sql_agrees_with_validate(built, tmp_path):
    folder = contract_folder(paths.current_database(built))
    csv = write_claims(tmp_path / "claims.csv", 30_000, seed=7)
    src = tmp_path / "claims.parquet"
    con = duckdb.connect()
    # service_date as DATE (the README's claims table); year 0 left out (DuckDB would read 0000-01-01 as 1 BC)
    con.execute(f"COPY (SELECT CAST(claim_id AS INTEGER) AS claim_id, dx1 AS dx, CASE WHEN service_date >= '0001' "
                f"THEN TRY_CAST(trim(service_date) AS DATE) END AS service_date FROM read_csv('{csv}', all_varchar = true)) "
                f"TO '{src}' (FORMAT parquet)")
    r = validate_file(folder, src, ["dx"], "service_date", out=tmp_path / "invalid.parquet")
    assert r.invalid_codes > 1_000
    for name in CONTRACT_TABLES:
        con.execute(f"CREATE VIEW {name} AS SELECT * FROM read_parquet('{contract_file(folder, name)}')")
    con.execute(f"CREATE VIEW claims AS SELECT * FROM read_parquet('{src}') WHERE service_date IS NOT NULL")
    got = con.execute(readme_contract_sql()).fetchall()
    want = con.execute(f"""SELECT i.row_number, i.code, c.service_date, i.reason
        FROM read_parquet('{tmp_path / 'invalid.parquet'}') AS i JOIN claims AS c ON c.claim_id = i.row_number
        ORDER BY i.row_number""").fetchall()
    assert got == want


def test_contract_intervals_are_the_history_with_closed_ends(built):
    folder = contract_folder(paths.current_database(built))
    con = duckdb.connect(str(paths.current_database(built)), read_only=True)
    interval = contract_file(folder, "claim_icd10cm_interval")
    # a span no uncovered day crosses is carried as it is, with a closed end
    assert con.execute(f"""SELECT count(*) FROM (
        SELECT code, code_nodot, is_billable, description, valid_from, coalesce(valid_to, DATE '9999-12-31'),
               first_release, last_release FROM icd10cm_code_history WHERE len(unknown_days) = 0
        EXCEPT ALL SELECT * FROM read_parquet('{interval}'))""").fetchone()[0] == 0
    assert con.execute(f"SELECT count(*) FROM read_parquet('{interval}') WHERE valid_to IS NULL").fetchone()[0] == 0
    # a span across days no loaded release covers (the mirror's 2024-04) is cut there: each piece lies in the
    # span, starts and ends on covered days (day_covered, the one rule), and the pieces hold the span's days
    # less its unknown days
    assert con.execute(f"""SELECT count(*) FROM read_parquet('{interval}') AS i
        WHERE NOT day_covered('icd10cm', i.valid_from)
           OR (i.valid_to < DATE '9999-12-31' AND NOT day_covered('icd10cm', i.valid_to))
           OR NOT EXISTS (SELECT 1 FROM icd10cm_code_history AS h WHERE h.code_nodot = i.code_nodot
                          AND h.first_release = i.first_release AND h.is_billable = i.is_billable
                          AND i.valid_from >= h.valid_from AND i.valid_to <= coalesce(h.valid_to, DATE '9999-12-31'))
        """).fetchone()[0] == 0
    split = con.execute("SELECT count(*) FROM icd10cm_code_history WHERE len(unknown_days) > 0").fetchone()[0]
    assert split > 0  # the check above is not empty: the mirror lacks 2024-04 (../shared/cms/README.md)
    days = con.execute(f"""SELECT
        (SELECT sum(valid_to - valid_from + 1) FROM read_parquet('{interval}')),
        (SELECT sum(coalesce(valid_to, DATE '9999-12-31') - valid_from + 1
                    - coalesce(list_sum(list_transform(unknown_days, lambda u: u."to" - u."from" + 1)), 0))
         FROM icd10cm_code_history)""").fetchone()
    assert days[0] == days[1]
    # every (code, release) the reasons name is one in which the code is not billable
    reason = contract_file(folder, "claim_icd10cm_reason")
    period = contract_file(folder, "claim_icd10cm_period")
    assert con.execute(f"""SELECT count(*) FROM read_parquet('{reason}') r
        JOIN read_parquet('{period}') p USING (release)
        JOIN read_parquet('{interval}') h ON h.code_nodot = r.code_nodot AND h.is_billable
         AND p.valid_from BETWEEN h.valid_from AND h.valid_to""").fetchone()[0] == 0
    assert Path(reason).stat().st_size < 5_000_000  # small enough to broadcast
