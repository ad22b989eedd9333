"""Validating the dated ICD-10-CM codes of a claims file (``codeetl validate``), entirely in DuckDB.

DuckDB reads the CSV or parquet file itself and streams it through one anti-join against the billable
spans of ``icd10cm_code_history``; only the invalid cells are kept (in TEMP tables of a read-only
connection), explained (``sql/history/validate.sql``) and written out. The file's rows never pass through
Python, so tens of millions of rows run in bounded memory (``memory_limit``, spilling to a private
temporary folder).

Bounded whatever the file holds: ``memory_limit`` is the whole process's budget (DuckDB gets it less
:data:`OVERHEAD`: Python's share and what DuckDB allocates outside its buffer pool), the
invalid cells are written by one streaming ``COPY`` (never held as a table), the output is written under a
temporary name and renamed when complete, and the temporary folder goes on every exit (an error, Ctrl-C,
SIGTERM through the CLI; after a ``kill -9`` the next validation removes it).
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

from codeetl.errors import CodeEtlError
from codeetl.build.named_sql import named_statements
from codeetl.codes import ISO_DATE_PATTERN

PARQUET_SUFFIXES = (".parquet", ".pq")
OVERHEAD = 300 * 10**6  # of --memory-limit, not DuckDB's: Python, the CLI and what DuckDB allocates outside its
# buffer pool (measured 130-190 MB above DuckDB's limit with 2 and 10 million invalid rows)
MIN_MEMORY = 450 * 10**6  # leaves DuckDB 150 MB: the code history's hash table and a sort's runs
_UNITS = {"": 1, "b": 1, "kb": 1000, "mb": 1000**2, "gb": 1000**3, "tb": 1000**4,
          "kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40}
_SPILL_PREFIX = "codeetl-validate-"


class BadInput(CodeEtlError):
    """The input cannot be read, or lacks a column asked for (exit code 2)."""


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


def _quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _quote_text(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def reader_sql(path: Path) -> str:
    """The DuckDB table function that reads ``path``: ``read_parquet`` (with its row numbers) for .parquet/.pq,
    else ``read_csv`` with a header row, every column as text (codes keep their exact spelling), delimiter
    sniffed."""
    if path.suffix.lower() in PARQUET_SUFFIXES:
        return f"read_parquet({_quote_text(str(path))}, file_row_number = true)"
    return f"read_csv({_quote_text(str(path))}, header = true, all_varchar = true)"


def resolve_columns(con: duckdb.DuckDBPyConnection, path: Path, wanted: list[str]) -> list[str]:
    """The file's column names for ``wanted`` (exact match first, else a unique case-insensitive one).
    BadInput when the file cannot be read or a column is missing (naming the file's columns)."""
    return [name for name, _ in resolve_typed_columns(con, path, wanted)]


def resolve_typed_columns(con: duckdb.DuckDBPyConnection, path: Path, wanted: list[str]) -> list[tuple[str, str]]:
    """(name, DuckDB type) of the file's columns for ``wanted``, as :func:`resolve_columns` finds them."""
    try:
        described = dict(con.execute(f"SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM {reader_sql(path)})").fetchall())
        cols = list(described)
    except duckdb.Error as e:
        raise BadInput(f"cannot read {path}: {str(e).splitlines()[0]}") from None
    out = []
    for w in wanted:
        if w in cols:
            out.append(w)
            continue
        folded = [c for c in cols if c.lower() == w.lower()]
        if len(folded) != 1:
            shown = ", ".join(c for c in cols if c != "file_row_number")
            raise BadInput(f"{path} has no column {w!r}; its columns: {shown}")
        out.append(folded[0])
    return [(name, described[name]) for name in out]


def cells_view_sql(path: Path, code_columns: list[str], date_column: str, date_typed: bool = False) -> str:
    """``CREATE TEMP VIEW v_cells`` and the macros ``claim_key`` / ``claim_day``: one row per non-empty code cell
    of the file with its 1-based row number (data rows, the header not counted), the column name, the code as
    written, the date cell as read (``date_cell``) and ``day``, the DATE the first check uses.

    A cell holding only spaces is still a row here (no string work on every cell): the checks leave it out, and
    :func:`validate_file` subtracts their number from the non-empty cells (:func:`count_sql`).

    ``claim_key(code)`` is the normalised code (no dots or spaces, upper case) and ``claim_day(raw_date)`` the
    date of a date cell as text (a DATE value or YYYY-MM-DD text, as :data:`codeetl.codes.ISO_DATE_PATTERN`;
    NULL otherwise: an empty cell is reported as a missing date, anything else (20260401, 2026-W14-3, a
    timestamp) as an unreadable one); ``sql/history/validate.sql`` applies both to the cells its first check
    leaves. ``day`` is the cell itself when the column is a DATE (`date_typed`: parquet), else ``claim_day``.

    The date goes through trim() before TRY_CAST on purpose: this DuckDB pushes a bare TRY_CAST of a CSV
    column into the CSV reader, which then fails on the first impossible date instead of giving NULL."""
    d = _quote_ident(date_column)
    if path.suffix.lower() in PARQUET_SUFFIXES:  # a column is read on its own: one scan per code column
        cells = "\nUNION ALL\n".join(
            f"SELECT file_row_number + 1 AS row_number, {_quote_text(c)} AS column_name, "
            f"CAST({_quote_ident(c)} AS VARCHAR) AS code, {d} AS date_cell FROM {reader_sql(path)}"
            for c in code_columns)
    else:  # a text file is parsed once, its cells unnested (3 times slower than the scans above for parquet)
        names = ", ".join(_quote_text(c) for c in code_columns)
        values = ", ".join(f"CAST({_quote_ident(c)} AS VARCHAR)" for c in code_columns)
        cells = (f"SELECT row_number() OVER () AS row_number, {d} AS date_cell, unnest([{names}]) AS column_name, "
                 f"unnest([{values}]) AS code FROM {reader_sql(path)}")
    return f"""
CREATE OR REPLACE TEMP MACRO claim_key(code) AS upper(replace(replace(trim(code), '.', ''), ' ', ''));
CREATE OR REPLACE TEMP MACRO claim_day(raw_date) AS
    CASE WHEN regexp_full_match(raw_date, {_quote_text(ISO_DATE_PATTERN[1:-1])}) THEN TRY_CAST(raw_date AS DATE) END;
CREATE TEMP VIEW v_cells AS
SELECT row_number, column_name, code, date_cell,
       {"date_cell" if date_typed else "claim_day(trim(CAST(date_cell AS VARCHAR)))"} AS day
FROM ({cells})
WHERE code IS NOT NULL"""


def count_sql(path: Path, code_columns: list[str]) -> str:
    """A query counting the file's data rows and its code cells that are not NULL (blank ones included: the
    checks count those, ``sql/history/validate.sql`` ``blank``)."""
    cells = " + ".join(f"count({_quote_ident(c)})" for c in code_columns)
    return f"SELECT count(*), {cells} FROM {reader_sql(path)}"


def default_out(path: Path) -> Path:
    """Where the invalid rows go by default: beside the input, ``<name>.invalid.csv``."""
    name = path.name[: -len(path.suffix)] if path.suffix else path.name
    return path.with_name(f"{name}.invalid.csv")


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


def _spill_folder() -> Path:
    """A new private temporary folder, named with this process' id; folders left by a process that no
    longer runs (killed with SIGKILL) are removed first."""
    for old in Path(tempfile.gettempdir()).glob(f"{_SPILL_PREFIX}*"):
        pid = old.name[len(_SPILL_PREFIX):].split("-", 1)[0]
        if pid.isdigit() and int(pid) != os.getpid() and not _alive(int(pid)):
            shutil.rmtree(old, ignore_errors=True)
    return Path(tempfile.mkdtemp(prefix=f"{_SPILL_PREFIX}{os.getpid()}-"))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _open(database: Path, memory_limit: str, spill: Path) -> duckdb.DuckDBPyConnection:
    """A read-only connection to the warehouse whose buffer pool gets ``memory_limit`` less OVERHEAD,
    spilling into ``spill``."""
    con = duckdb.connect(str(database), read_only=True)
    con.execute(f"SET memory_limit = '{(memory_bytes(memory_limit) - OVERHEAD) // 10**6}MB'")
    con.execute(f"SET temp_directory = {_quote_text(str(spill))}")
    con.execute("SET preserve_insertion_order = true")
    con.execute("SET enable_progress_bar = false")
    return con


def _explain(con: duckdb.DuckDBPyConnection) -> None:
    """Run the named statements of ``sql/history/validate.sql`` after ``v_cells`` exists: the invalid cells
    with reasons end up in TEMP table ``v_invalid``."""
    sql = named_statements("history/validate.sql")
    has_repl = con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = 'icd10cm_replacements' "
                           "AND NOT temporary").fetchone()[0]
    for name in ("periods", "billable", "replacements" if has_repl else "no_replacements", "written",
                 "left_over", "bad", "days", "keys", "below", "reasons", "invalid"):
        con.execute(sql[name])


def _write(con: duckdb.DuckDBPyConnection, out: Path) -> None:
    """Write ``v_invalid`` in file order to ``out`` (parquet for .parquet/.pq, else CSV with a header), by
    one streaming COPY into a temporary name beside it, renamed when complete (an interrupted run leaves no
    half-written file); BadInput when it cannot be written."""
    fmt = "FORMAT parquet, COMPRESSION zstd" if out.suffix.lower() in PARQUET_SUFFIXES else "FORMAT csv, HEADER true"
    part = out.with_name(f".{out.name}.{os.getpid()}.part")
    try:
        con.execute(f"COPY (SELECT * FROM v_invalid ORDER BY row_number, \"column\") TO {_quote_text(str(part))} ({fmt})")
        os.replace(part, out)
    except (duckdb.Error, OSError) as e:
        raise BadInput(f"cannot write {out}: {(str(e) or repr(e)).splitlines()[0]}") from None
    finally:
        part.unlink(missing_ok=True)


def validate_file(database: Path, path: Path, code_columns: list[str], date_column: str,
                  out: Path | None = None, memory_limit: str = "1GB") -> ValidationResult:
    """Check every non-empty code cell of ``code_columns`` in the CSV or parquet file ``path`` against the
    ICD-10-CM code set in effect on the row's ``date_column``; write the invalid cells (row_number, column,
    code, date, reason, details) to ``out`` (default :func:`default_out`) and return the counts.
    BadInput for an unreadable file or a missing column."""
    started = time.perf_counter()
    path = Path(path)
    if not path.is_file():
        raise BadInput(f"no such file: {path}")
    out = Path(out) if out else default_out(path)
    memory_bytes(memory_limit)
    spill, con = _spill_folder(), None
    try:
        con = _open(database, memory_limit, spill)
        cols = resolve_typed_columns(con, path, [*code_columns, date_column])
        codes_cols, (date_col, date_type) = list(dict.fromkeys(c for c, _ in cols[:-1])), cols[-1]
        con.execute(cells_view_sql(path, codes_cols, date_col, date_typed=date_type == "DATE"))
        try:
            rows, codes = con.execute(count_sql(path, codes_cols)).fetchone()
        except duckdb.Error as e:
            raise BadInput(f"cannot read {path}: {str(e).splitlines()[0]}") from None
        _explain(con)
        codes -= con.execute(named_statements("history/validate.sql")["blank"]).fetchone()[0]
        by_reason = {r: {"codes": c, "rows": n} for r, c, n in con.execute(named_statements("history/validate.sql")["summary"]).fetchall()}
        invalid_rows = con.execute("SELECT count(DISTINCT row_number) FROM v_invalid").fetchone()[0]
        _write(con, out)
        releases = [{"release": r, "from": str(f), "to": str(t) if t else None} for r, f, t in con.execute(
            "SELECT release, period_from, period_to FROM icd10cm_history_releases ORDER BY seq").fetchall()]
    finally:
        if con is not None:
            con.close()
        shutil.rmtree(spill, ignore_errors=True)
    invalid_codes = sum(v["codes"] for v in by_reason.values())
    return ValidationResult(str(path), rows, int(codes), invalid_rows, invalid_codes, by_reason, str(out),
                            time.perf_counter() - started, releases)
