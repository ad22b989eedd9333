"""run.py installs PySpark (the `spark` extra) for the tests and for a command on the Spark engine only."""

from __future__ import annotations

import importlib.util

from _shared import REPO


def _run_py():
    spec = importlib.util.spec_from_file_location("run_py", REPO / "run.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_spark_extra_only_where_spark_runs():
    extras = _run_py().extras
    assert extras(["test", "-k", "spark"]) == ["--extra", "spark"]
    assert extras(["validate", "c.parquet", "--code-column", "dx", "--engine", "spark"]) == ["--extra", "spark"]
    assert extras(["annotate", "c.parquet", "--engine=spark"]) == ["--extra", "spark"]
    assert extras(["validate", "c.parquet", "--engine", "duckdb"]) == []
    assert extras(["code", "M96.1"]) == []
