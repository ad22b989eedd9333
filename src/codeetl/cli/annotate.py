"""``codeetl annotate``: every row of a claims file with what the code sets say about its codes on its date."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from codeetl.cli.app import AsJson, DataDir, app, out
from codeetl.cli.validate import (Claims, CodeColumns, Conf, DateColumn, Engine, Format, Intervals, Master, MemoryLimit,
                                  check_memory, contract_of, engine_args, on_duckdb, run_engine)


@app.command()
def annotate(
    file: Claims,
    code_column: CodeColumns,
    date_column: DateColumn,
    principal_column: Annotated[Optional[str], typer.Option("--principal-column", help="The principal diagnosis column: annotated with its MS-DRG MDC and families (DRGs and weights); the code columns then also get their CC/MCC level as secondary diagnoses and whether this principal excludes it.")] = None,
    out_file: Annotated[Optional[str], typer.Option("--out", help="Where to write the annotated rows, parquet (default: <file>.annotated.parquet beside the input; with --engine spark a folder).")] = None,
    memory_limit: MemoryLimit = "1GB",
    engine: Engine = "duckdb",
    master: Master = None,
    intervals: Intervals = None,
    conf: Conf = None,
    fmt: Format = None,
    as_json: AsJson = False,
    data_dir: DataDir = Path("data"),
) -> None:
    """Write every row of the claims with, per code cell, the description and billable flag of the ICD-10-CM
    release in effect on the row's date, its category and chapter; for the principal diagnosis the MS-DRG MDC
    and families with relative weights of the version in effect; for the others their CC/MCC level. Rows keep
    their columns and order (row_number first). Exit 2 when the file, a column or an option cannot be used."""
    check_memory(memory_limit)
    spark_conf = engine_args(engine, master, conf, fmt)
    contract = contract_of(intervals, data_dir)
    if engine == "spark":
        from codeetl.spark.run import run_annotate

        result = run_engine(lambda: run_annotate(contract, file, code_column, date_column, principal_column,
                                                 out_file, master, spark_conf, fmt))
    else:
        from codeetl.claims.annotate import annotate_file

        result = on_duckdb("annotate", lambda: annotate_file(Path(contract), file, code_column, date_column,
                                                             principal_column, Path(out_file) if out_file else None,
                                                             memory_limit, fmt))
    if as_json:
        sys.stdout.write(json.dumps(result.as_dict(), indent=2) + "\n")
        return
    rate = f" ({result.rows / result.seconds:,.0f} rows/s)" if result.seconds and result.rows > 100_000 else ""
    out.print(f"{result.file}: {result.rows:,} rows, {result.codes:,} codes annotated in {result.seconds:.1f} s{rate}",
              highlight=False)
    out.print(f"annotated rows written to {result.out}", highlight=False)
