"""Validating the dated ICD-10-CM codes of a claims file (``codeetl validate``), entirely in DuckDB.

DuckDB reads the CSV or parquet files itself and streams them through the claim SQL that every engine runs
(``sql/claims/validate.sql``, rendered by :mod:`codeetl.claims.contract`): one anti-join against the billable
spans of the exported contract files (``claim_icd10cm_interval``, ...), the invalid cells explained by the
build's ``claim_icd10cm_reason``. Only the invalid cells are kept (a TEMP table of an in-memory connection)
and written out. The file's rows never pass through Python, so tens of millions of rows run in bounded
memory (``memory_limit``, spilling to a private temporary folder).
"""

from __future__ import annotations

import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from codeetl.claims.contract import (PARQUET_SUFFIXES, VALIDATE_TABLES, BadInput, contract_file, default_out,
                                     require_contract, validate_sql)
from codeetl.claims.reading import local_inputs, source_view

__all__ = ["BadInput", "ValidationResult", "validate_file", "contract_folder"]


@dataclass
class ValidationResult:
    """What a validation found: counts, invalid cells by reason, and where the invalid rows were written."""

    file: str
    rows: int
    codes: int
    invalid_rows: int
    invalid_codes: int
    by_reason: dict[str, dict[str, int]] = field(default_factory=dict)
    out: str | None = None
    seconds: float = 0.0
    releases: list[dict] = field(default_factory=list)

    def as_dict(self) -> dict:
        """The result as JSON-ready data (the keys of ``codeetl validate --json``)."""
        return {"file": self.file, "rows": self.rows, "codes": self.codes, "invalid_rows": self.invalid_rows,
                "invalid_codes": self.invalid_codes, "by_reason": self.by_reason, "out": self.out,
                "seconds": round(self.seconds, 3), "releases": self.releases}


def _quote_text(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def contract_folder(warehouse: str | Path) -> Path:
    """The folder of the exported contract files for ``warehouse``: the folder itself when it holds them, or
    for a warehouse database (``.../codeetl.duckdb``) the parquet export beside it."""
    p = Path(warehouse)
    return p.parent / "parquet" if p.suffix == ".duckdb" or p.is_file() else p


def open_engine(folder: Path, tables: tuple[str, ...], memory_limit: str, spill: Path) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB with bounded memory (spilling into ``spill``) and a view per contract table of
    ``folder`` (BadInput naming the missing files, and what to run, when the export lacks them)."""
    require_contract(folder, tables)
    con = duckdb.connect()
    con.execute(f"SET memory_limit = {_quote_text(memory_limit)}")
    con.execute(f"SET temp_directory = {_quote_text(str(spill))}")
    con.execute("SET preserve_insertion_order = true")
    con.execute("SET enable_progress_bar = false")
    con.execute("SET TimeZone = 'UTC'")
    for name in tables:
        con.execute(f"CREATE VIEW {name} AS SELECT * FROM read_parquet({_quote_text(contract_file(folder, name))})")
    return con


def _write(con: duckdb.DuckDBPyConnection, query: str, out: Path) -> None:
    """Write the rows of ``query`` to ``out`` (parquet for .parquet/.pq, else CSV with a header); BadInput
    when it cannot be written."""
    fmt = "FORMAT parquet, COMPRESSION zstd" if out.suffix.lower() in PARQUET_SUFFIXES else "FORMAT csv, HEADER true"
    try:
        con.execute(f"COPY ({query}) TO {_quote_text(str(out))} ({fmt})")
    except duckdb.Error as e:
        raise BadInput(f"cannot write {out}: {str(e).splitlines()[0]}") from None


def loaded_releases(rows) -> list[dict]:
    """The ICD-10-CM periods of ``claim_icd10cm_period`` rows (release, valid_from, valid_to) as the result's
    ``releases``: {release, from, to} with to None while open-ended."""
    return [{"release": r, "from": str(f), "to": None if str(t) == "9999-12-31" else str(t)} for r, f, t in rows]


def validate_file(warehouse: Path, path: str | Path, code_columns: list[str], date_column: str,
                  out: Path | None = None, memory_limit: str = "1GB", fmt: str | None = None) -> ValidationResult:
    """Check every non-empty code cell of ``code_columns`` in the CSV or parquet claims ``path`` (a file, a
    folder or a glob) against the ICD-10-CM code set in effect on the row's ``date_column``, with the contract
    files of ``warehouse`` (:func:`contract_folder`); write the invalid cells (row_number, column, code, date,
    reason, details) to ``out`` (default ``<name>.invalid.csv`` beside the input) and return the counts.
    ``fmt`` (csv, parquet) overrides the format the file names give. BadInput for an unreadable file or a
    missing column."""
    started = time.perf_counter()
    inputs = local_inputs(path, fmt)
    out = Path(out) if out else Path(default_out(str(path)))
    spill = Path(tempfile.mkdtemp(prefix="codeetl-validate-"))
    try:
        con = open_engine(contract_folder(warehouse), VALIDATE_TABLES, memory_limit, spill)
        try:
            codes_cols = source_view(con, inputs, code_columns, date_column)
            sql = validate_sql(codes_cols)
            con.execute(f"CREATE TEMP VIEW claim_cells AS {sql.cells}")
            try:
                rows, codes = con.execute(sql.counts).fetchone()
            except duckdb.Error as e:
                raise BadInput(f"cannot read {path}: {str(e).splitlines()[0]}") from None
            con.execute(f"CREATE TEMP TABLE claim_invalid AS {sql.invalid}")
            by_reason = {r: {"codes": c, "rows": n} for r, c, n in con.execute(sql.summary).fetchall()}
            invalid_rows = con.execute(sql.invalid_rows).fetchone()[0]
            _write(con, sql.report, out)
            releases = loaded_releases(con.execute(
                "SELECT release, valid_from, valid_to FROM claim_icd10cm_period ORDER BY seq").fetchall())
        finally:
            con.close()
    finally:
        shutil.rmtree(spill, ignore_errors=True)
    invalid_codes = sum(v["codes"] for v in by_reason.values())
    return ValidationResult(str(path), rows, int(codes), invalid_rows, invalid_codes, by_reason, str(out),
                            time.perf_counter() - started, releases)
