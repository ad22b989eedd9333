"""Validating the dated ICD-10-CM codes of a claims file (``codeetl validate``), entirely in DuckDB.

DuckDB reads the CSV or parquet files itself and streams them through the claim SQL that every engine runs
(``sql/claims/validate.sql``, rendered by :mod:`codeetl.claims.contract`): one anti-join of the codes as
written against the valid spans of the exported contract files (``claim_icd10cm_interval``, ...), the few
cells left over normalised and checked again, the invalid cells explained by the day's coverage and the
build's ``claim_icd10cm_reason``. The file's rows never pass through Python, so tens of
millions of rows run in bounded memory (``memory_limit``, spilling to a private temporary folder).

Bounded whatever the file holds: ``memory_limit`` is the whole process's budget (DuckDB gets it less
:data:`OVERHEAD`: Python's share and what DuckDB allocates outside its buffer pool), the invalid cells are
written by one streaming ``COPY`` of a view, the output is written under a temporary name and renamed when
complete, and the temporary folder goes on every exit (an error, Ctrl-C, SIGTERM through the CLI; after a
``kill -9`` the next validation removes it).
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import tempfile
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from codeetl.claims.contract import (PARQUET_SUFFIXES, VALIDATE_TABLES, BadInput, ValidateSql, contract_file,
                                     default_out, require_contract, validate_sql)
from codeetl.claims.reading import local_inputs, source_view

__all__ = ["BadInput", "ValidationResult", "validate_file", "contract_folder", "run_claim_sql", "Terminated",
           "sigterm_stops", "memory_bytes"]

OVERHEAD = 300 * 10**6  # of --memory-limit, not DuckDB's: Python, the CLI and what DuckDB allocates outside its
# buffer pool (measured 130-190 MB above DuckDB's limit with 2 and 10 million invalid rows)
MIN_MEMORY = 450 * 10**6  # leaves DuckDB 150 MB: the code history's hash table and a sort's runs
_UNITS = {"": 1, "b": 1, "kb": 1000, "mb": 1000**2, "gb": 1000**3, "tb": 1000**4,
          "kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40}
_SPILL_PREFIX = "codeetl-validate-"


class Terminated(BaseException):
    """SIGTERM arrived during :func:`validate_file` under :func:`sigterm_stops`: everything it had written
    (temporary folder, partial output) is gone."""


@contextmanager
def sigterm_stops():
    """While inside, SIGTERM stops the validation the way Ctrl-C does: DuckDB's query is interrupted, every
    ``finally`` runs (the temporary folder and a partial output are removed), then Terminated is raised.
    Only in the main thread (signals are delivered there); the previous handler is put back."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    got: list[int] = []

    def stop(signum, frame):
        got.append(signum)
        raise Terminated("SIGTERM")

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        yield
    except Exception:  # DuckDB reports the interrupted query as its own error
        if got:
            raise Terminated("SIGTERM") from None
        raise
    finally:
        signal.signal(signal.SIGTERM, previous)


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


def memory_bytes(text: str) -> int:
    """``--memory-limit`` in bytes: a number and a unit (512MB, 1.5GB, 800MiB; 1 KB = 1,000 bytes as in
    DuckDB); BadInput naming the option for anything else or less than MIN_MEMORY."""
    m = re.fullmatch(r"\s*([0-9]+(?:\.[0-9]+)?)\s*([a-z]*)\s*", text or "", re.I)
    if not m or m.group(2).lower() not in _UNITS:
        raise BadInput(f"--memory-limit {text!r}: expected a size such as 512MB or 2GB")
    n = int(float(m.group(1)) * _UNITS[m.group(2).lower()])
    if n < MIN_MEMORY:
        raise BadInput(f"--memory-limit {text!r}: expected at least {MIN_MEMORY // 10**6}MB")
    return n


def spill_folder(prefix: str = _SPILL_PREFIX) -> Path:
    """A new private temporary folder, named with this process' id; folders of ``prefix`` left by a process
    that no longer runs (killed with SIGKILL) are removed first."""
    for old in Path(tempfile.gettempdir()).glob(f"{prefix}*"):
        pid = old.name[len(prefix):].split("-", 1)[0]
        if pid.isdigit() and int(pid) != os.getpid() and not _alive(int(pid)):
            shutil.rmtree(old, ignore_errors=True)
    return Path(tempfile.mkdtemp(prefix=f"{prefix}{os.getpid()}-"))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def open_engine(folder: Path, tables: tuple[str, ...], memory_limit: str, spill: Path) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB whose buffer pool gets ``memory_limit`` (the whole process' budget) less OVERHEAD,
    spilling into ``spill``, with a view per contract table of ``folder`` (BadInput naming the missing files,
    and what to run, when the export lacks them)."""
    require_contract(folder, tables)
    con = duckdb.connect()
    con.execute(f"SET memory_limit = '{(memory_bytes(memory_limit) - OVERHEAD) // 10**6}MB'")
    con.execute(f"SET temp_directory = {_quote_text(str(spill))}")
    con.execute("SET preserve_insertion_order = true")
    con.execute("SET enable_progress_bar = false")
    con.execute("SET TimeZone = 'UTC'")
    for name in tables:
        con.execute(f"CREATE VIEW {name} AS SELECT * FROM read_parquet({_quote_text(contract_file(folder, name))})")
    return con


def run_claim_sql(con: duckdb.DuckDBPyConnection, sql: ValidateSql) -> None:
    """Over ``claim_source`` and the contract tables of ``con``: the cells the one pass over the input leaves
    over in TEMP table ``claim_left_over``, those not valid in TEMP table ``claim_bad``, and view
    ``claim_invalid`` explaining them."""
    con.execute(f"CREATE OR REPLACE TEMP VIEW claim_icd10cm_written AS {sql.written}")
    con.execute(f"CREATE OR REPLACE TEMP TABLE claim_left_over AS {sql.left_over}")
    con.execute(f"CREATE OR REPLACE TEMP TABLE claim_bad AS {sql.bad}")
    con.execute(f"CREATE OR REPLACE TEMP VIEW claim_invalid AS {sql.invalid}")


def _write(con: duckdb.DuckDBPyConnection, query: str, out: Path) -> None:
    """Write the rows of ``query`` to ``out`` (parquet for .parquet/.pq, else CSV with a header), by one
    streaming COPY into a temporary name beside it, renamed when complete (an interrupted run leaves no
    half-written file); BadInput when it cannot be written."""
    fmt = "FORMAT parquet, COMPRESSION zstd" if out.suffix.lower() in PARQUET_SUFFIXES else "FORMAT csv, HEADER true"
    part = out.with_name(f".{out.name}.{os.getpid()}.part")
    try:
        con.execute(f"COPY ({query}) TO {_quote_text(str(part))} ({fmt})")
        os.replace(part, out)
    except (duckdb.Error, OSError) as e:
        raise BadInput(f"cannot write {out}: {(str(e) or repr(e)).splitlines()[0]}") from None
    finally:
        part.unlink(missing_ok=True)


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
    ``fmt`` (csv, parquet) overrides the format the file names give. BadInput for a bad ``memory_limit``
    (checked first), an unreadable file or a missing column."""
    started = time.perf_counter()
    memory_bytes(memory_limit)
    inputs = local_inputs(path, fmt)
    out = Path(out) if out else Path(default_out(str(path)))
    spill, con = spill_folder(), None
    try:
        con = open_engine(contract_folder(warehouse), VALIDATE_TABLES, memory_limit, spill)
        codes_cols = source_view(con, inputs, code_columns, date_column)
        sql = validate_sql(codes_cols, by_column=inputs.fmt == "parquet")
        try:
            run_claim_sql(con, sql)
            rows, codes = con.execute(sql.cell_counts).fetchone()
        except duckdb.Error as e:
            raise BadInput(f"cannot read {path}: {str(e).splitlines()[0]}") from None
        by_reason = {r: {"codes": c, "rows": n} for r, c, n in con.execute(sql.summary).fetchall()}
        invalid_rows = con.execute(sql.invalid_rows).fetchone()[0]
        _write(con, sql.report, out)
        releases = loaded_releases(con.execute(
            "SELECT release, valid_from, valid_to FROM claim_icd10cm_period ORDER BY seq").fetchall())
    finally:
        if con is not None:
            con.close()
        shutil.rmtree(spill, ignore_errors=True)
    invalid_codes = sum(v["codes"] for v in by_reason.values())
    return ValidationResult(str(path), rows, int(codes), invalid_rows, invalid_codes, by_reason, str(out),
                            time.perf_counter() - started, releases)
