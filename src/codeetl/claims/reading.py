"""Claims files as the claim SQL reads them (``claim_source``), on DuckDB; and the input rules both engines share.

CLAIMS may be one file, a folder (its ``*.parquet``/``*.pq`` or ``*.csv`` files, not its subfolders) or a glob,
of parquet or CSV (a header row; the delimiter and quoting sniffed by DuckDB). Several files are read as one
table in the order of their paths, and ``row_number`` counts on across them (1 = the first data row of the
first file). The Spark engine takes the same inputs and also URIs (s3a://, hdfs://, ...).
"""

from __future__ import annotations

import glob as globmod
from dataclasses import dataclass
from pathlib import Path

import duckdb

from codeetl.claims.contract import DATE, DAY, PARQUET_SUFFIXES, ROW, BadInput, date_text, day_value, quote, resolve


@dataclass(frozen=True)
class Inputs:
    """The files of a CLAIMS argument and how to read them."""

    spec: str
    files: list[str]
    fmt: str  # "parquet" or "csv"


def is_uri(spec: str) -> bool:
    """True for a URI with a scheme (s3a://, hdfs://, file://): only Spark reads those."""
    return "://" in spec


def format_of(names: list[str], fmt: str | None = None) -> str:
    """``fmt`` when given (parquet or csv), else parquet when the names end in .parquet/.pq, else csv."""
    if fmt:
        return fmt
    return "parquet" if names and all(n.lower().endswith(PARQUET_SUFFIXES) for n in names) else "csv"


def local_inputs(spec: str | Path, fmt: str | None = None) -> Inputs:
    """The local files of CLAIMS (a file, a folder or a glob), sorted by path. BadInput when there are none."""
    spec = str(spec)
    p = Path(spec)
    if p.is_dir():
        found = sorted(str(f) for f in p.iterdir() if f.is_file() and not f.name.startswith((".", "_"))
                       and f.suffix.lower() in (*PARQUET_SUFFIXES, ".csv"))
        kinds = {format_of([f]) for f in found}
        if len(kinds) > 1 and not fmt:
            raise BadInput(f"{spec} holds both parquet and CSV files: keep one kind, or pass --format")
        found = [f for f in found if format_of([f]) == (fmt or format_of(found))]
    elif any(ch in spec for ch in "*?["):
        found = sorted(f for f in globmod.glob(spec) if Path(f).is_file())
    else:
        found = [spec] if p.is_file() else []
    if not found:
        raise BadInput(f"no such file: {spec}" if not any(ch in spec for ch in "*?[") else f"no file matches {spec}")
    return Inputs(spec, found, format_of(found, fmt))


def _list(files: list[str]) -> str:
    return "[" + ", ".join("'" + f.replace("'", "''") + "'" for f in files) + "]"


def reader_sql(inputs: Inputs, row_numbers: bool = True) -> str:
    """The DuckDB table function reading the inputs: read_parquet (with each file's row numbers, and its name
    when there are several), or
    read_csv with a header row and every column as text (codes keep their exact spelling)."""
    if inputs.fmt == "parquet":
        extra = ", file_row_number = true" if row_numbers else ""
        extra += ", filename = true" if row_numbers and len(inputs.files) > 1 else ""  # a string per row: 0.2 s / 10 M
        return f"read_parquet({_list(inputs.files)}{extra})"
    return f"read_csv({_list(inputs.files)}, header = true, all_varchar = true)"


def columns_and_types(con: duckdb.DuckDBPyConnection, inputs: Inputs) -> dict[str, str]:
    """The input's columns and their types. BadInput when the files cannot be read."""
    try:
        rows = con.execute(f"DESCRIBE SELECT * FROM {reader_sql(inputs, row_numbers=False)}").fetchall()
    except duckdb.Error as e:
        raise BadInput(f"cannot read {inputs.spec}: {str(e).splitlines()[0]}") from None
    return {r[0]: r[1] for r in rows}


def source_view(con: duckdb.DuckDBPyConnection, inputs: Inputs, keep: list[str], date_column: str,
                all_columns: bool = False) -> list[str]:
    """Create TEMP VIEW ``claim_source`` ("__row", "__date", "__day", then the columns ``keep``, or every column of the
    file when ``all_columns``; code columns as text unless ``all_columns``). ``keep`` and ``date_column`` are
    matched to the file's names (:func:`codeetl.claims.contract.resolve`); returns the names kept, resolved."""
    types = columns_and_types(con, inputs)
    names = list(types)
    *kept, date_col = resolve(names, [*keep, date_column], inputs.spec)
    kept = list(dict.fromkeys(kept))
    if {ROW, DATE, DAY} & set(names):
        raise BadInput(f"{inputs.spec} has a column named {ROW}, {DATE} or {DAY}, which codeetl uses itself")
    cols = names if all_columns else kept
    shown = ", ".join(quote(c) if all_columns else f"CAST({quote(c)} AS STRING) AS {quote(c)}" for c in cols)
    con.execute(f"CREATE OR REPLACE TEMP VIEW claim_source AS SELECT {_row_sql(con, inputs)} AS {quote(ROW)}, "
                f"{date_text(date_col, types[date_col])} AS {quote(DATE)}, "
                f"{day_value(date_col, types[date_col])} AS {quote(DAY)}, {shown} FROM {_from_sql(con, inputs)}")
    return kept


def _row_sql(con: duckdb.DuckDBPyConnection, inputs: Inputs) -> str:
    if inputs.fmt == "csv":
        return "row_number() OVER ()"
    return "file_row_number + 1" + (" + o.row_offset" if len(inputs.files) > 1 else "")


def _from_sql(con: duckdb.DuckDBPyConnection, inputs: Inputs) -> str:
    """The FROM of claim_source: the reader, and for several parquet files each file's first row number."""
    if inputs.fmt == "csv" or len(inputs.files) == 1:
        return reader_sql(inputs)
    con.execute(f"""CREATE OR REPLACE TEMP TABLE claim_file_offsets AS
        SELECT file_name AS filename, coalesce(sum(num_rows) OVER (ORDER BY file_name ROWS BETWEEN UNBOUNDED
               PRECEDING AND 1 PRECEDING), 0) AS row_offset
        FROM (SELECT file_name, sum(num_rows) AS num_rows FROM parquet_file_metadata({_list(inputs.files)}) GROUP BY 1)""")
    return f"{reader_sql(inputs)} AS t JOIN claim_file_offsets AS o USING (filename)"


def csv_dialect(inputs: Inputs) -> dict[str, str]:
    """The delimiter, quote and escape DuckDB's sniffer finds in the first CSV file, as Spark's CSV options
    (so both engines split the lines alike); RFC 4180 (comma, double quotes doubled) when it cannot tell."""
    d = {"sep": ",", "quote": '"', "escape": '"'}
    try:
        with duckdb.connect() as con:
            row = con.execute(f"SELECT Delimiter, Quote, Escape FROM sniff_csv({_list(inputs.files[:1])[1:-1]})").fetchone()
    except duckdb.Error:
        return d
    sep, q, esc = row
    if sep:
        d["sep"] = sep
    if q and q != "(empty)":
        d["quote"] = q
    d["escape"] = esc if esc and esc != "(empty)" else d["quote"]
    return d
