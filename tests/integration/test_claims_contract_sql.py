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
    assert con.execute(f"""SELECT count(*) FROM (
        SELECT code, code_nodot, is_billable, description, valid_from, coalesce(valid_to, DATE '9999-12-31'),
               first_release, last_release FROM icd10cm_code_history
        EXCEPT ALL SELECT * FROM read_parquet('{interval}'))""").fetchone()[0] == 0
    assert con.execute(f"SELECT count(*) FROM read_parquet('{interval}') WHERE valid_to IS NULL").fetchone()[0] == 0
    # every (code, release) the reasons name is one in which the code is not billable
    reason = contract_file(folder, "claim_icd10cm_reason")
    period = contract_file(folder, "claim_icd10cm_period")
    assert con.execute(f"""SELECT count(*) FROM read_parquet('{reason}') r
        JOIN read_parquet('{period}') p USING (release)
        JOIN read_parquet('{interval}') h ON h.code_nodot = r.code_nodot AND h.is_billable
         AND p.valid_from BETWEEN h.valid_from AND h.valid_to""").fetchone()[0] == 0
    assert Path(reason).stat().st_size < 5_000_000  # small enough to broadcast
