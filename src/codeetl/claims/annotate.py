"""Annotating the dated codes of a claims file (``codeetl annotate``) on DuckDB: every row kept, in file order,
with per code cell the description, billable flag, category and chapter of the release of the row's day, the
MS-DRG MDC and families (with weights) of a principal diagnosis and the CC/MCC level of the others.

The SQL is ``sql/claims/annotate.sql``, the same text the Spark engine runs (:mod:`codeetl.claims.contract`),
over the exported contract files.
"""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from codeetl.claims.contract import CONTRACT_TABLES, DATE, DAY, ROW, BadInput, annotate_sql, default_out, resolve, validate_sql
from codeetl.claims.reading import local_inputs, source_view
from codeetl.claims.validate import _write, contract_folder, memory_bytes, open_engine, spill_folder


@dataclass
class AnnotationResult:
    """What an annotation read and where it wrote the annotated rows."""

    file: str
    rows: int
    codes: int
    out: str
    seconds: float = 0.0

    def as_dict(self) -> dict:
        """The result as JSON-ready data (the keys of ``codeetl annotate --json``)."""
        return {"file": self.file, "rows": self.rows, "codes": self.codes, "out": self.out,
                "seconds": round(self.seconds, 3)}


def annotate_file(warehouse: Path, path: str | Path, code_columns: list[str], date_column: str,
                  principal: str | None = None, out: Path | None = None, memory_limit: str = "1GB",
                  fmt: str | None = None) -> AnnotationResult:
    """Write every row of the CSV or parquet claims ``path`` (a file, a folder or a glob) with its annotations
    to the parquet file ``out`` (default ``<name>.annotated.parquet`` beside the input), using the contract files
    of ``warehouse``; ``principal`` names the principal-diagnosis column (annotated with MS-DRG families; the
    code columns then get CC/MCC levels). BadInput for an unreadable file, a missing or clashing column."""
    started = time.perf_counter()
    memory_bytes(memory_limit)
    inputs = local_inputs(path, fmt)
    out = Path(out) if out else Path(default_out(str(path), "annotated", ".parquet"))
    if out.suffix.lower() == ".csv":
        raise BadInput(f"{out}: annotate writes parquet (its DRG list column has no CSV form)")
    spill = spill_folder("codeetl-annotate-")
    try:
        con = open_engine(contract_folder(warehouse), CONTRACT_TABLES, memory_limit, spill)
        try:
            kept = source_view(con, inputs, [*code_columns, *([principal] if principal else [])], date_column,
                               all_columns=True)
            pname = resolve(kept, [principal], inputs.spec)[0] if principal else None
            columns = [r[0] for r in con.execute("DESCRIBE claim_source").fetchall() if r[0] not in (ROW, DATE, DAY)]
            plan = annotate_sql(columns, kept, pname)
            rows, codes = con.execute(validate_sql(kept).counts).fetchone()
            _write(con, f"{plan.sql}\nORDER BY row_number", out)
        finally:
            con.close()
    finally:
        shutil.rmtree(spill, ignore_errors=True)
    return AnnotationResult(str(path), rows, int(codes), str(out), time.perf_counter() - started)
