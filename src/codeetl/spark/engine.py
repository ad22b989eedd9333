"""``validate`` and ``annotate`` on Apache Spark: the claim SQL every engine runs (``sql/claims/*.sql``, rendered by
:mod:`codeetl.claims.contract`) over the exported contract files, which Spark broadcasts to every executor
(a broadcast hash join on the code with the day checked against the span's dates).

Only the reading differs from DuckDB: Spark numbers the rows of the claims in two passes, because a file is read
in splits by many tasks. The first pass counts each split's rows (and code cells); the second gives each row
its split's first row number plus its position in the split: for parquet the row index Spark reads from the
file, for CSV the row's increasing id within its task. So ``row_number`` is the same as DuckDB's: 1 = the first
data row, counted on over several files in order of their paths.
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlparse

from codeetl.claims.contract import (CONTRACT_TABLES, DATE, DAY, ROW, VALIDATE_TABLES, BadInput,
                                     annotate_sql, contract_file, date_text, day_value, require_contract, quote,
                                     resolve, validate_sql)
from codeetl.claims.reading import Inputs, csv_dialect, format_of, is_uri, local_inputs
from codeetl.errors import CodeEtlError


class SparkJobFailed(CodeEtlError):
    """Spark could not run the job (the first line of Spark's reason; exit code 1)."""


@contextlib.contextmanager
def spark_errors(what: str, bad_input: bool = False):
    """Turn Spark's and Py4J's exceptions into one line (BadInput when ``bad_input``: the input is at fault)."""
    from py4j.protocol import Py4JError
    from pyspark.errors import PySparkException

    try:
        yield
    except (PySparkException, Py4JError) as e:
        text = getattr(e, "getMessage", lambda: None)() if isinstance(e, PySparkException) else None
        first = (text or str(e)).strip().splitlines()[0] if (text or str(e)).strip() else e.__class__.__name__
        if "Exception: " in first:
            first = first.split("Exception: ", 1)[1]
        raise (BadInput if bad_input else SparkJobFailed)(f"{what}: {first[:300]}") from None


def register_contract(spark, folder: str, tables=CONTRACT_TABLES) -> None:
    """A temporary view per contract table, read from ``folder`` (a local path or any URI Spark reads)."""
    require_contract(folder, tables)
    for name in tables:
        with spark_errors(f"cannot read the contract file {contract_file(folder, name)}", bad_input=True):
            spark.read.parquet(contract_file(folder, name)).createOrReplaceTempView(name)


def spark_inputs(spec: str, fmt: str | None = None) -> Inputs:
    """The CLAIMS argument for Spark: local files listed like DuckDB's (:func:`local_inputs`); a URI passed on
    as it is (a file, a folder or a glob), parquet unless it ends in .csv or ``fmt`` says csv."""
    if not is_uri(spec) or spec.startswith("file://"):
        local = local_inputs(urlparse(spec).path if spec.startswith("file://") else spec, fmt)
        return Inputs(local.spec, [str(Path(f).resolve()) for f in local.files], local.fmt)
    name = spec.rstrip("/").rsplit("/", 1)[-1]
    return Inputs(spec, [spec], fmt or ("csv" if name.lower().endswith(".csv") else format_of([name or ".parquet"])))


def _read(spark, inputs: Inputs):
    """The claims as a DataFrame (CSV: a header row, every column as text, the dialect DuckDB sniffs)."""
    with spark_errors(f"cannot read {inputs.spec}", bad_input=True):
        if inputs.fmt == "parquet":
            df = spark.read.parquet(*inputs.files)
        else:
            dialect = csv_dialect(inputs) if not is_uri(inputs.files[0]) else {"sep": ",", "quote": '"', "escape": '"'}
            df = spark.read.options(header="true", mode="PERMISSIVE", **dialect).csv(inputs.files)
        df.schema  # noqa: B018  (reads the footers / header now, inside the error handler)
    return df


def _file_order(inputs: Inputs, paths: list[str]) -> list[str]:
    """Spark's file paths in the order DuckDB reads the same files (the sorted local paths), else by path."""
    def local(p: str) -> str:
        return unquote(urlparse(p).path) if p.startswith("file:") else p

    rank = {f: i for i, f in enumerate(inputs.files)}
    return sorted(paths, key=lambda p: (rank.get(local(p), len(rank)), p))


def numbered(spark, df, inputs: Inputs, code_columns: list[str]):
    """``df`` with column "__row" (the 1-based row number over all files in path order), and the counts
    (rows, non-empty code cells) of the first pass."""
    from pyspark.sql import functions as F

    parquet = inputs.fmt == "parquet"
    split = ["__f"] if parquet else ["__f", "__b"]
    pos = F.col("_metadata.row_index") if parquet else F.monotonically_increasing_id()
    base = df.select("*", F.col("_metadata.file_path").alias("__f"), F.col("_metadata.file_block_start").alias("__b"),
                     pos.alias("__pos"))
    nonempty = F.expr(" + ".join(f"CASE WHEN trim(CAST({quote(c)} AS STRING)) <> '' THEN 1 ELSE 0 END"
                                 for c in code_columns) or "0")
    with spark_errors(f"cannot read {inputs.spec}", bad_input=True):
        parts = base.groupBy(*split).agg(F.count(F.lit(1)).alias("n"), F.min("__pos").alias("first"),
                                         F.sum(nonempty).alias("codes")).collect()
    order = {f: i for i, f in enumerate(_file_order(inputs, sorted({r["__f"] for r in parts})))}
    start, rows = 0, []
    for r in sorted(parts, key=lambda r: (order[r["__f"]], r["__b"] if not parquet else 0)):
        first = 0 if parquet else r["first"]
        rows.append((r["__f"], r["__b"] if not parquet else 0, start + 1 - first))
        start += r["n"]
    offsets = spark.createDataFrame(rows or [("", 0, 0)], "__f string, __b long, __delta long")
    if parquet:
        offsets = offsets.drop("__b")
    out = base.join(F.broadcast(offsets), split).withColumn(ROW, F.col("__pos") + F.col("__delta"))
    return out, start, sum(r["codes"] or 0 for r in parts)


def source_view(spark, inputs: Inputs, keep: list[str], date_column: str, all_columns: bool = False):
    """Create temporary view ``claim_source`` as DuckDB's :func:`codeetl.claims.reading.source_view` does;
    returns (the kept columns resolved, rows, non-empty code cells)."""
    df = _read(spark, inputs)
    names = df.columns
    *kept, date_col = resolve(names, [*keep, date_column], inputs.spec)
    kept = list(dict.fromkeys(kept))
    if {ROW, DATE, DAY} & set(names):
        raise BadInput(f"{inputs.spec} has a column named {ROW}, {DATE} or {DAY}, which codeetl uses itself")
    df2, rows, codes = numbered(spark, df, inputs, kept)
    types = {f.name: f.dataType.simpleString() for f in df.schema.fields}
    cols = names if all_columns else kept
    shown = [quote(c) if all_columns else f"CAST({quote(c)} AS STRING) AS {quote(c)}" for c in cols]
    df2.selectExpr(quote(ROW), f"{date_text(date_col, types[date_col])} AS {quote(DATE)}",
                   f"{day_value(date_col, types[date_col])} AS {quote(DAY)}", *shown) \
        .createOrReplaceTempView("claim_source")
    return kept, rows, codes


@dataclass
class SparkRun:
    """What one Spark job of a command read and wrote."""

    rows: int
    codes: int
    by_reason: dict
    invalid_rows: int
    out: str
    seconds: float
    releases: list


def prepare_out(spark, out: str) -> None:
    """Make room for Spark's output folder ``out``: nothing there, or an earlier Spark output (it has a
    _SUCCESS file) which is replaced. BadInput for anything else (never deletes a folder codeetl did not write)."""
    jvm = spark.sparkContext._jvm
    path = jvm.org.apache.hadoop.fs.Path(out)
    fs = path.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration())
    if not fs.exists(path):
        return
    if fs.isDirectory(path) and fs.exists(jvm.org.apache.hadoop.fs.Path(out.rstrip("/") + "/_SUCCESS")):
        fs.delete(path, True)
        return
    raise BadInput(f"{out} exists and is not an earlier Spark output (no _SUCCESS file): choose another --out")


def _writer(df, out: str):
    """The DataFrame writer for ``out``: CSV with a header for a name ending in .csv, else parquet (zstd)."""
    if out.rstrip("/").lower().endswith(".csv"):
        return lambda: df.write.option("header", "true").csv(out)
    return lambda: df.write.option("compression", "zstd").parquet(out)


def validate_spark(spark, contract: str, inputs: Inputs, code_columns: list[str], date_column: str,
                   out: str) -> SparkRun:
    """``validate`` on Spark: the invalid cells written by Spark to the folder ``out`` (parquet, or CSV when it
    ends in .csv) in file order; returns the counts, by reason as DuckDB gives them."""
    from pyspark import StorageLevel

    started = time.perf_counter()
    register_contract(spark, contract, VALIDATE_TABLES)
    kept, rows, codes = source_view(spark, inputs, code_columns, date_column)
    sql = validate_sql(kept, by_column=inputs.fmt == "parquet")
    spark.sql(sql.written).createOrReplaceTempView("claim_icd10cm_written")
    with spark_errors("the Spark job failed"):
        spark.sql(sql.left_over).createOrReplaceTempView("claim_left_over")
        spark.sql(sql.bad).createOrReplaceTempView("claim_bad")
        invalid = spark.sql(sql.invalid).persist(StorageLevel.MEMORY_AND_DISK)
        invalid.createOrReplaceTempView("claim_invalid")
        prepare_out(spark, out)
        _writer(spark.sql(sql.report), out)()
        by_reason = {r[0]: {"codes": r[1], "rows": r[2]} for r in spark.sql(sql.summary).collect()}
        invalid_rows = spark.sql(sql.invalid_rows).collect()[0][0]
        releases = [tuple(r) for r in spark.sql(
            "SELECT release, valid_from, valid_to FROM claim_icd10cm_period ORDER BY seq").collect()]
        invalid.unpersist()
    return SparkRun(rows, codes, by_reason, invalid_rows, out, time.perf_counter() - started, releases)


def annotate_spark(spark, contract: str, inputs: Inputs, code_columns: list[str], date_column: str,
                   principal: str | None, out: str) -> SparkRun:
    """``annotate`` on Spark: every row with its annotations written by Spark to the parquet folder ``out``
    (one part file per task; ``row_number`` gives the file order); returns the counts."""
    started = time.perf_counter()
    register_contract(spark, contract)
    wanted = [*code_columns, *([principal] if principal else [])]
    kept, rows, codes = source_view(spark, inputs, wanted, date_column, all_columns=True)
    pname = resolve(kept, [principal], inputs.spec)[0] if principal else None
    plan = annotate_sql([c for c in spark.table("claim_source").columns if c not in (ROW, DATE, DAY)], kept, pname)
    if out.rstrip("/").lower().endswith(".csv"):
        raise BadInput(f"{out}: annotate writes parquet (its DRG list column has no CSV form)")
    with spark_errors("the Spark job failed"):
        prepare_out(spark, out)
        _writer(spark.sql(plan.sql), out)()
    return SparkRun(rows, codes, {}, 0, out, time.perf_counter() - started, [])

