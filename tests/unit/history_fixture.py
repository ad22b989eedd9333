"""A tiny ICD-10-CM warehouse made with the real DDL and derive scripts, for the history tests.

Releases: R1 (code file only: billable codes, no headers, no notes), R2 and R3 (Tabular-like: headers and
notes). R3 is open-ended. ``GAP`` variant: R1 ends 2024-03-31 and R2 starts 2024-10-01.

Codes: A00, A00.0 and A00.1 are the real cholera codes with their real meanings ("Cholera eltor" stands for an
older title of A00.1, revised in R3). Every code beginning with U and a letter (UA1, UB2, UB2.0, UC3.1, ...) is
fictitious: no ICD-10-CM code has that shape, so no reader takes the fixture for coding fact.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb

from _shared import apply_schema
from codeetl.datasets import dataset

D = dt.date
RELEASES = {"R1": (D(2023, 10, 1), D(2024, 9, 30)), "R2": (D(2024, 10, 1), D(2025, 9, 30)), "R3": (D(2025, 10, 1), None)}

# code -> {release: (is_billable, description)}
CODES = {
    "A00":   {"R2": (False, "Cholera"), "R3": (False, "Cholera")},
    "A00.0": {r: (True, "Cholera due to Vibrio cholerae 01, biovar cholerae") for r in RELEASES},
    "A00.1": {"R1": (True, "Cholera eltor"), "R2": (True, "Cholera eltor"), "R3": (True, "Cholera due to Vibrio cholerae 01, biovar eltor")},
    "UA1":   {"R1": (True, "Fixture code of R1 only")},
    "UB2":   {"R1": (True, "Fixture disease B"), "R2": (True, "Fixture disease B"), "R3": (False, "Fixture disease B")},
    "UB2.0": {"R3": (True, "Fixture disease B, type 0")},
    "UB2.1": {"R3": (True, "Fixture disease B, type 1")},
    "UD1":   {"R2": (False, "A header dropped in R3")},
    "UE2":   {"R2": (False, "Header turned code"), "R3": (True, "Header turned code")},
    "UC3.1": {"R3": (True, "A code new in R3")},
}
# (release, code, note_type, note)
NOTES = [
    ("R2", "A00.0", "excludes1", "kept note"), ("R3", "A00.0", "excludes1", "kept note"),
    ("R3", "A00.0", "excludes1", "new note"),
    ("R2", "A00.1", "inclusionTerm", "dropped note"),
]


def _run(con: duckdb.DuckDBPyConnection, ds: str, name: str) -> None:
    con.execute(dataset(ds).folder.joinpath(name).read_text(encoding="utf-8"))


def make_history(path: Path | str = ":memory:", gap: bool = False, releases: dict | None = None,
                 codes: dict | None = None) -> duckdb.DuckDBPyConnection:
    """The fixture warehouse (all tables of the real schema, the history derived, the history views)."""
    rel = dict(releases or RELEASES)
    if gap:
        rel["R1"] = (D(2023, 10, 1), D(2024, 3, 31))
    con = duckdb.connect(str(path))
    apply_schema(con, "tables")
    for r, (f, t) in rel.items():
        con.execute("INSERT INTO releases (dataset, release, label, effective_from, effective_to, source_url, fetched_from, sha256, fetched_at, loaded_at) VALUES ('icd10cm', ?, ?, ?, ?, 'u', 'u', 's', NULL, now())", [r, f"label {r}", f, t])
    seq = 0
    for code, per in (codes or CODES).items():
        for r, (billable, desc) in per.items():
            seq += 1
            con.execute("INSERT INTO icd10cm_codes (release, code, code_nodot, description, is_billable, category, seq) "
                        "VALUES (?, ?, ?, ?, ?, ?, ?)", [r, code, code.replace(".", ""), desc, billable, code[:3], seq])
    for i, (r, code, kind, note) in enumerate(NOTES if codes is None else []):
        con.execute("INSERT INTO icd10cm_notes VALUES (?, 'code', ?, ?, 1, ?, ?, [])", [r, code, kind, i, note])
    _run(con, "icd10cm", "derive_history.sql")
    _run(con, "icd10cm", "views_history.sql")
    from codeetl.build.warehouse_sql import sql_text

    con.execute(sql_text("pages/10_resolver.sql"))  # the release resolver the pages use
    return con


def export_claim_contract(con: duckdb.DuckDBPyConnection, parquet: Path) -> None:
    """Create the views (the claims contract among them), fill claim_icd10cm_reason and export the contract
    tables into ``parquet/<name>/<name>.parquet``, as a build does."""
    from codeetl.build.claim_contract import fill_reason_table
    from codeetl.claims.contract import CONTRACT_TABLES, contract_file

    apply_schema(con, "views")
    fill_reason_table(con)
    for name in CONTRACT_TABLES:
        Path(contract_file(parquet, name)).parent.mkdir(parents=True, exist_ok=True)
        con.execute(f"COPY (SELECT * FROM {name}) TO '{contract_file(parquet, name)}' (FORMAT parquet)")
