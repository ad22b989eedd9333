"""``codeetl validate``: check the dated ICD-10-CM codes of a claims file (CSV or parquet)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Optional

import duckdb
import typer

from codeetl.build import paths
from codeetl.cli.app import AsJson, DataDir, _fail, app, out
from codeetl.errors import CodeEtlError, command


RATE_FROM_ROWS = 100_000
"""The summary gives a rows-per-second rate only for files with more rows than this."""


CodeColumns = Annotated[list[str], typer.Option("--code-column", help="A column holding ICD-10-CM diagnosis codes (dotted or not, any case); repeat for several.")]
DateColumn = Annotated[str, typer.Option("--date-column", help="The column holding each row's date of service (DATE or YYYY-MM-DD text).")]
MemoryLimit = Annotated[str, typer.Option("--memory-limit", help="Memory for the whole process (e.g. 512MB, 1GB; at least 450MB): DuckDB gets it less 300 MB and spills the rest to a temporary folder.")]
Engine = Annotated[str, typer.Option("--engine", help="duckdb (one machine; the default) or spark (PySpark: "
                                      "`--master`, a cluster). Both run the same SQL over the same contract files.")]
Master = Annotated[Optional[str], typer.Option("--master", help="Spark master for --engine spark: local[*] (the "
                                               "default), local[2], yarn, spark://host:7077, k8s://...; under "
                                               "spark-submit, spark-submit's.")]
Intervals = Annotated[Optional[str], typer.Option("--intervals", help="Folder (or URI, with --engine spark) holding "
                                                  "the exported contract files claim_*/claim_*.parquet; default: the "
                                                  "warehouse's parquet export.")]
Conf = Annotated[Optional[list[str]], typer.Option("--conf", help="A Spark setting KEY=VALUE (repeatable), e.g. "
                                                   "spark.driver.memory=4g.")]
Format = Annotated[Optional[str], typer.Option("--format", help="csv or parquet, when the name of CLAIMS does not say "
                                               "(a folder or URI without an extension).")]
Claims = Annotated[str, typer.Argument(help="Claims: a CSV file with a header row or a parquet file (.parquet/.pq), a "
                                       "folder of them or a glob; with --engine spark also any URI Spark reads "
                                       "(s3a://, hdfs://).")]


def engine_args(engine: str, master: str | None, conf: list[str] | None, fmt: str | None) -> dict[str, str]:
    """Check the engine options together (exit 2 with one line when they do not fit); returns the Spark
    settings of --conf as a dict."""
    if engine not in ("duckdb", "spark"):
        _fail(f"--engine {engine!r}: expected duckdb or spark", 2)
    if engine == "duckdb" and (master or conf):
        _fail("--master and --conf are options of --engine spark", 2)
    if fmt not in (None, "csv", "parquet"):
        _fail(f"--format {fmt!r}: expected csv or parquet", 2)
    pairs = {}
    for item in conf or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            _fail(f"--conf {item!r}: expected KEY=VALUE", 2)
        pairs[key.strip()] = value
    return pairs


def contract_of(intervals: str | None, data_dir: Path) -> str:
    """Where the contract files are: --intervals, else the current warehouse's parquet export."""
    if intervals:
        return intervals
    from codeetl.claims.validate import contract_folder

    try:
        return str(contract_folder(paths.current_database(data_dir)))
    except CodeEtlError as e:
        _fail(str(e))


def run_engine(call) -> object:
    """Run an engine call, turning its errors into one line: bad input exits 2, Spark's or the warehouse's
    trouble 1."""
    from codeetl.claims.contract import BadInput

    try:
        return call()
    except BadInput as e:
        _fail(str(e), 2)
    except CodeEtlError as e:
        _fail(str(e))
    except duckdb.Error as e:
        _fail(f"the contract files cannot be read ({e.__class__.__name__}: {str(e).splitlines()[0]}); "
              f"they may have been written by an older codeetl: run `{command('refresh')}`")


def check_memory(memory_limit: str) -> None:
    """Exit 2 with one line naming --memory-limit when it is not a size of at least 450MB: checked before
    anything else, whatever the warehouse."""
    from codeetl.claims.validate import BadInput, memory_bytes

    try:
        memory_bytes(memory_limit)
    except BadInput as e:
        _fail(str(e), 2)


def on_duckdb(name: str, call) -> object:
    """Run a DuckDB engine call (:func:`run_engine`) so that SIGTERM stops it like Ctrl-C: its temporary folder
    and any partial output removed, then exit 143 with one line."""
    from codeetl.claims.validate import Terminated, sigterm_stops

    try:
        with sigterm_stops():
            return run_engine(call)
    except Terminated:
        _fail(f"{name} stopped by SIGTERM: its temporary folder was removed and no output written", 143)


@app.command()
def validate(
    file: Claims,
    code_column: CodeColumns,
    date_column: DateColumn,
    out_file: Annotated[Optional[str], typer.Option("--out", help="Where to write the invalid rows: .csv or .parquet (default: <file>.invalid.csv beside the input; with --engine spark a folder, default <file>.invalid.parquet).")] = None,
    memory_limit: MemoryLimit = "1GB",
    engine: Engine = "duckdb",
    master: Master = None,
    intervals: Intervals = None,
    conf: Conf = None,
    fmt: Format = None,
    as_json: AsJson = False,
    data_dir: DataDir = Path("data"),
) -> None:
    """Check each code against the ICD-10-CM code set in effect on its row's date; write every invalid code
    with the reason (unknown code, header code, not yet valid, deleted, no release loaded for the date,
    missing date, unreadable date). Exit 1 when any is invalid, 2 when the file, a column or an option cannot
    be used."""
    check_memory(memory_limit)
    spark_conf = engine_args(engine, master, conf, fmt)
    contract = contract_of(intervals, data_dir)
    if engine == "spark":
        from codeetl.spark.run import run_validate

        result = run_engine(lambda: run_validate(contract, file, code_column, date_column, out_file, master,
                                                 spark_conf, fmt))
    else:
        from codeetl.claims.validate import validate_file

        result = on_duckdb("validate", lambda: validate_file(Path(contract), file, code_column, date_column,
                                                             out=Path(out_file) if out_file else None,
                                                             memory_limit=memory_limit, fmt=fmt))
    if as_json:
        sys.stdout.write(json.dumps(result.as_dict(), indent=2) + "\n")
    else:
        _render(result)
    raise typer.Exit(1 if result.invalid_codes else 0)


def _render(r) -> None:
    """The summary at the terminal."""
    # a rate says something only when reading the file outweighs starting up: above RATE_FROM_ROWS rows
    rate = f" ({r.rows / r.seconds:,.0f} rows/s)" if r.rows > RATE_FROM_ROWS and r.seconds else ""
    out.print(f"{r.file}: {r.rows:,} rows, {r.codes:,} codes checked in {r.seconds:.1f} s{rate}", highlight=False)
    if not r.invalid_codes:
        out.print("[green]every code is valid on its date[/]")
        return
    from rich.table import Table

    t = Table(title=f"{r.invalid_codes:,} invalid codes in {r.invalid_rows:,} rows")
    for c in ("reason", "codes", "rows"):
        t.add_column(c, justify="left" if c == "reason" else "right")
    for reason, n in r.by_reason.items():
        t.add_row(reason, f"{n['codes']:,}", f"{n['rows']:,}")
    out.print(t)
    out.print(f"invalid rows written to {r.out}", highlight=False)
