"""The Spark engine gives DuckDB's answers: `validate` and `annotate` on claims made from the official code files
(tests/claims_official.py, 240,000 rows, every reason, dates in every loaded release and outside them), each
engine reading the same exported contract files; written rows compared one by one.

One local Spark (local[2]) serves the module (a JVM takes 13-40 s to start); the command-line test starts its
own, as a user's command does. Without Java or PySpark these tests are skipped, saying which is missing.
"""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from _shared import CMS, REPO
from claims_official import write_claims
from codeetl.build import paths
from codeetl.claims.annotate import annotate_file
from codeetl.claims.validate import contract_folder, validate_file

pytestmark = pytest.mark.spark

ROWS = 240_000
REASONS = {"header code", "deleted", "not yet valid", "unknown code", "no release loaded for the date", "unreadable date",
           "missing date"}
TABLE5 = CMS / "ipps" / "fy2026" / "FY2026-Final-Rule-Table-5.txt"
TABLE6I = CMS / "ipps" / "fy2026" / "FY2026-Final-Rule-Table-6I.txt"


@pytest.fixture(scope="module")
def spark():
    """A quiet local[2] SparkSession for the module, or a skip naming what is missing."""
    try:
        import pyspark  # noqa: F401
    except ImportError:
        pytest.skip("the Spark tests need PySpark: uv sync --extra spark (python3 run.py test installs it)")
    from codeetl.spark.session import QuietSession, java_missing

    if java_missing():
        pytest.skip(f"the Spark tests need Java: {java_missing()}")
    session = QuietSession("local[2]")
    yield session.spark
    session.stop()


@pytest.fixture(scope="module")
def contract(built) -> str:
    return str(contract_folder(paths.current_database(built)))


@pytest.fixture(scope="module")
def claims_folder(tmp_path_factory) -> Path:
    """The official-file claims as two CSV files in one folder (row numbers run on across them)."""
    folder = tmp_path_factory.mktemp("claims")
    whole = write_claims(folder.parent / "claims-all.csv", ROWS)
    with whole.open(encoding="utf-8") as f:
        lines = f.readlines()
    half = 1 + ROWS // 2
    (folder / "part-1.csv").write_text("".join(lines[:half]), encoding="utf-8")
    (folder / "part-2.csv").write_text(lines[0] + "".join(lines[half:]), encoding="utf-8")
    return folder


def rows_of(path: Path | str, order: str) -> list[tuple]:
    """Every row of a parquet file or of a Spark output folder, ordered."""
    target = f"{path}/*.parquet" if Path(path).is_dir() else str(path)
    return duckdb.connect().execute(f"SELECT * FROM read_parquet('{target}') ORDER BY {order}").fetchall()


def test_validate_same_rows_and_summary_on_both_engines(spark, contract, claims_folder, tmp_path):
    from codeetl.spark.run import run_validate

    cols = ["dx1", "dx2", "dx3"]
    duck = validate_file(Path(contract), claims_folder, cols, "service_date", out=tmp_path / "duck.parquet")
    spark.conf.set("spark.sql.files.maxPartitionBytes", "1m")  # several splits per file: row numbers across tasks
    try:
        sprk = run_validate(contract, str(claims_folder), cols, "service_date", out=str(tmp_path / "spark.parquet"))
    finally:
        spark.conf.unset("spark.sql.files.maxPartitionBytes")
    assert duck.rows == sprk.rows == ROWS
    assert set(duck.by_reason) == REASONS  # every reason is exercised
    strip = lambda d: {k: v for k, v in d.items() if k not in ("seconds", "out", "file")}
    assert strip(duck.as_dict()) == strip(sprk.as_dict())
    a = rows_of(tmp_path / "duck.parquet", 'row_number, "column"')
    b = rows_of(tmp_path / "spark.parquet", 'row_number, "column"')
    assert len(a) == duck.invalid_codes > 10_000
    assert a == b
    # Spark's part files are globally sorted: read in name order they are the report in file order
    parts = sorted((tmp_path / "spark.parquet").glob("part-*.parquet"))
    in_order = [r for p in parts for r in duckdb.connect().execute(f"SELECT * FROM read_parquet('{p}')").fetchall()]
    assert in_order == a


def test_annotate_same_rows_on_both_engines(spark, contract, claims_folder, tmp_path):
    from codeetl.spark.run import run_annotate

    parquet = tmp_path / "pq"
    parquet.mkdir()
    for i, part in enumerate(sorted(claims_folder.glob("*.csv"))):  # parquet input: row numbers from row_index
        duckdb.connect().execute(f"COPY (SELECT * FROM read_csv('{part}', all_varchar = true)) "
                                 f"TO '{parquet}/claims-{i}.parquet' (FORMAT parquet, ROW_GROUP_SIZE 20000)")
    args = (["dx2", "dx3"], "service_date", "dx1")
    duck = annotate_file(Path(contract), parquet, *args, out=tmp_path / "duck.parquet")
    sprk = run_annotate(contract, str(parquet), *args, out=str(tmp_path / "spark"))
    assert duck.rows == sprk.rows == ROWS and duck.codes == sprk.codes
    a = rows_of(tmp_path / "duck.parquet", "row_number")
    b = rows_of(tmp_path / "spark", "row_number")
    assert [r[0] for r in a] == list(range(1, ROWS + 1))
    assert a == b
    described = duckdb.connect().execute(f"SELECT count(dx1_description), count(dx1_drgs) "
                                         f"FROM '{tmp_path / 'duck.parquet'}'").fetchone()
    assert ROWS * 0.6 < described[0] < ROWS * 0.95  # the codes known on their day described, the others not
    assert ROWS * 0.5 < described[1] < described[0]  # MS-DRG families where a version is in effect


def table5_weight(drg: str) -> str:
    """The FY2026 relative weight of an MS-DRG, 10% cap applied, as Table 5 prints it (column 8)."""
    with TABLE5.open(encoding="cp1252") as f:
        for row in csv.reader(f, delimiter="\t"):
            if row and row[0].strip() == drg:
                return row[7].strip()
    raise AssertionError(f"DRG {drg} not in {TABLE5}")


def first_mcc() -> str:
    """The first code of the FY2026 MCC list (Table 6I), dotted as printed."""
    with TABLE6I.open(encoding="cp1252") as f:
        return next(line.split("\t")[0].strip() for line in f if line[:1].isalpha() and "." in line.split("\t")[0])


def test_m961_gets_drg_551_552_with_table5_weights(spark, contract, tmp_path):
    """A claim with principal diagnosis M96.1 on 2026-05-08: MS-DRG v43 (FY2026), MDC 08, Medical Back Problems,
    551 with MCC / 552 without MCC with the weights of Table 5 (../shared/cms/ipps/fy2026, column "Weights - 10%
    Cap Applied": 1.6761 and 0.9613); a secondary diagnosis from Table 6I is an MCC."""
    from decimal import Decimal

    from codeetl.spark.run import run_annotate

    mcc = first_mcc()
    src = tmp_path / "claim.csv"
    src.write_text(f"claim,pdx,sdx,day\n1,M96.1,{mcc},2026-05-08\n", encoding="utf-8")
    want = [{"mdc": "08", "drg": "551", "severity": "with MCC", "weight": Decimal(table5_weight("551"))},
            {"mdc": "08", "drg": "552", "severity": "without MCC", "weight": Decimal(table5_weight("552"))}]
    annotate_file(Path(contract), src, ["sdx"], "day", "pdx", out=tmp_path / "duck.parquet")
    run_annotate(contract, str(src), ["sdx"], "day", "pdx", out=str(tmp_path / "spark"))
    for out in (tmp_path / "duck.parquet", tmp_path / "spark"):
        con = duckdb.connect()
        target = f"{out}/*.parquet" if out.is_dir() else out
        row = con.execute(f"SELECT msdrg_version, pdx_mdc, pdx_drgs, pdx_drg_family, sdx_cc_level, icd10cm_release, "
                          f"pdx_billable FROM read_parquet('{target}')").fetchone()
        version, mdc, drgs, family, level, release, billable = row
        assert version.startswith("v43") and mdc == "08" and release == "2026-04" and billable is True
        assert drgs == want, out
        assert family == f"08 Medical Back Problems: 551 with MCC ({want[0]['weight']}), 552 without MCC ({want[1]['weight']})"
        assert level == "MCC"


def _cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "codeetl", *args], capture_output=True, text=True, cwd=REPO,
                          env=env, timeout=900)


def test_command_line_spark_prints_and_writes_what_duckdb_does(spark, built, claims_folder, tmp_path):
    """`codeetl validate claims.parquet --code-column dx --date-column service_date --engine spark`, as a user
    runs it (its own process and JVM): the same summary and the same invalid rows as the default engine."""
    src = tmp_path / "claims.parquet"
    duckdb.connect().execute(
        f"COPY (SELECT claim_id, dx1 AS dx, TRY_CAST(trim(service_date) AS DATE) AS service_date "
        f"FROM read_csv('{claims_folder}/part-1.csv', all_varchar = true) LIMIT 20000) TO '{src}' (FORMAT parquet)")
    common = [str(src), "--code-column", "dx", "--date-column", "service_date", "--data-dir", str(built), "--json"]
    d = _cli("validate", *common, "--out", str(tmp_path / "duck.parquet"))
    s = _cli("validate", *common, "--engine", "spark", "--master", "local[2]", "--out", str(tmp_path / "spark"))
    assert d.returncode == s.returncode == 1, (d.stderr, s.stderr)
    assert s.stderr == ""  # nothing from the JVM on the terminal
    import json

    dj, sj = json.loads(d.stdout), json.loads(s.stdout)
    for k in ("rows", "codes", "invalid_rows", "invalid_codes", "by_reason", "releases"):
        assert dj[k] == sj[k], k
    assert rows_of(tmp_path / "duck.parquet", 'row_number, "column"') == rows_of(tmp_path / "spark", 'row_number, "column"')


def test_without_java_the_command_says_what_to_install(tmp_path):
    pytest.importorskip("pyspark")
    src = tmp_path / "c.csv"
    src.write_text("dx,d\nM96.1,2026-05-08\n", encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k != "JAVA_HOME"} | {"PATH": str(tmp_path), "COLUMNS": "300"}
    r = _cli("validate", str(src), "--code-column", "dx", "--date-column", "d", "--engine", "spark",
             "--intervals", str(tmp_path), env=env)
    assert r.returncode == 1
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "Java 17" in lines[0] and "openjdk-17" in lines[0], r.stderr
    assert "Traceback" not in r.stderr + r.stdout
