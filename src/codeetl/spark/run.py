"""The Spark engine as the commands call it: a session (started quietly, or spark-submit's), the job, and the
same result objects the DuckDB engine returns (so the CLI prints both alike)."""

from __future__ import annotations

import contextlib
import os
import time

from codeetl.claims.annotate import AnnotationResult
from codeetl.claims.contract import default_out
from codeetl.claims.validate import ValidationResult, loaded_releases
from codeetl.spark.engine import SparkJobFailed, annotate_spark, spark_inputs, validate_spark
from codeetl.spark.session import QuietSession, active_session, configure, require_spark


@contextlib.contextmanager
def session(master: str | None = None, conf: dict[str, str] | None = None):
    """The SparkSession to run in: the one already running in this process, or spark-submit's (its master and
    settings; ``master`` only when given), else a quiet local one (``master``, default local[*]) stopped at the
    end. A failed job's message names the session's log."""
    require_spark()
    running = active_session()
    if running is None and os.environ.get("PYSPARK_GATEWAY_PORT"):  # under spark-submit: its JVM, its conf
        from pyspark.sql import SparkSession

        builder = SparkSession.builder.appName("codeetl")
        running = (builder.master(master) if master else builder).getOrCreate()
    if running is not None:
        configure(running)
        yield running
        return
    quiet = QuietSession(master, conf)
    try:
        yield quiet.spark
    except SparkJobFailed as e:
        quiet.keep_log = True
        raise SparkJobFailed(f"{e} (Spark's log: {quiet.log})") from None
    finally:
        quiet.stop()


def run_validate(contract: str, spec: str, code_columns: list[str], date_column: str, out: str | None = None,
                 master: str | None = None, conf: dict[str, str] | None = None,
                 fmt: str | None = None) -> ValidationResult:
    """``codeetl validate --engine spark``: the invalid cells of CLAIMS ``spec`` (a file, a folder, a glob or a
    URI) written by Spark to ``out`` (a folder; default ``<name>.invalid.parquet`` beside the input) with the
    contract files of ``contract`` (a folder or URI); returns the same ValidationResult as DuckDB's."""
    started = time.perf_counter()
    inputs = spark_inputs(spec, fmt)
    out = str(out) if out else default_out(spec, "invalid", ".parquet")
    with session(master, conf) as spark:
        run = validate_spark(spark, str(contract), inputs, code_columns, date_column, out)
    return ValidationResult(spec, run.rows, int(run.codes), run.invalid_rows,
                            sum(v["codes"] for v in run.by_reason.values()), run.by_reason, out,
                            time.perf_counter() - started, loaded_releases(run.releases))


def run_annotate(contract: str, spec: str, code_columns: list[str], date_column: str, principal: str | None = None,
                 out: str | None = None, master: str | None = None, conf: dict[str, str] | None = None,
                 fmt: str | None = None) -> AnnotationResult:
    """``codeetl annotate --engine spark``: every row of CLAIMS ``spec`` with its annotations, written by Spark
    to the parquet folder ``out`` (default ``<name>.annotated.parquet`` beside the input)."""
    started = time.perf_counter()
    inputs = spark_inputs(spec, fmt)
    out = str(out) if out else default_out(spec, "annotated", ".parquet")
    with session(master, conf) as spark:
        run = annotate_spark(spark, str(contract), inputs, code_columns, date_column, principal, out)
    return AnnotationResult(spec, run.rows, int(run.codes), out, time.perf_counter() - started)
