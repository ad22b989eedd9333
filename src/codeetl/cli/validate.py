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


@app.command()
def validate(
    file: Annotated[Path, typer.Argument(help="Claims file: CSV with a header row, or parquet (.parquet/.pq).")],
    code_column: Annotated[list[str], typer.Option("--code-column", help="A column holding ICD-10-CM diagnosis codes (dotted or not, any case); repeat for several.")],
    date_column: Annotated[str, typer.Option("--date-column", help="The column holding each row's date of service (DATE or YYYY-MM-DD text).")],
    out_file: Annotated[Optional[Path], typer.Option("--out", help="Where to write the invalid rows: .csv or .parquet (default: <file>.invalid.csv beside the input).")] = None,
    memory_limit: Annotated[str, typer.Option(help="Memory for the whole process (e.g. 512MB, 1GB; at least 450MB): DuckDB gets it less 300 MB and spills the rest to a temporary folder.")] = "1GB",
    as_json: AsJson = False,
    data_dir: DataDir = Path("data"),
) -> None:
    """Check each code against the ICD-10-CM code set in effect on its row's date; write every invalid code
    with the reason (unknown code, header code, not yet valid, deleted, no release loaded for the date,
    missing date, unreadable date). Exit 1 when any is invalid, 2 when the file or a column cannot be read."""
    from codeetl.claims.validate import BadInput, Terminated, memory_bytes, sigterm_stops, validate_file

    try:
        memory_bytes(memory_limit)  # a bad option is exit 2 whatever the warehouse
    except BadInput as e:
        _fail(str(e), 2)
    try:
        db = paths.current_database(data_dir)
    except CodeEtlError as e:
        _fail(str(e))
    try:
        with sigterm_stops():
            result = validate_file(db, file, code_column, date_column, out=out_file, memory_limit=memory_limit)
    except BadInput as e:
        _fail(str(e), 2)
    except Terminated:
        _fail("validate stopped by SIGTERM: its temporary folder was removed and no output written", 143)
    except duckdb.Error as e:
        _fail(f"the warehouse at {data_dir} cannot validate ({e.__class__.__name__}: {str(e).splitlines()[0]}); "
              f"it may have been built by an older codeetl: run `{command('refresh')}`")
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
