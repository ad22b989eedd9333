"""`codeetl validate` bounded (issue 17): --memory-limit is the whole process' budget for any mix of valid
and invalid rows, a bad one is exit 2 naming the option, the temporary folder goes on every exit path
(an error, SIGTERM; one left by kill -9 is removed by the next run), the output is never half-written, and
dates are YYYY-MM-DD text or DATE values only. On the tiny history warehouse of history_fixture.py."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

import processkit
from codeetl.claims.validate import OVERHEAD, BadInput, memory_bytes, validate_file
from codeetl.cli import app
from history_fixture import export_claim_contract, make_history

runner = CliRunner()


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("data")
    (root / "warehouse").mkdir()
    con = make_history(root / "warehouse" / "codeetl.duckdb")
    export_claim_contract(con, root / "warehouse" / "parquet")  # validate reads the exported contract files
    con.close()
    return root


@pytest.fixture
def private_tmp(tmp_path, monkeypatch) -> Path:
    """The system temporary folder, for this test alone (so that what validate leaves there is seen)."""
    t = tmp_path / "tmp"
    t.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(t))
    return t


def claims_file(folder: Path, rows: int, invalid_every: int = 1) -> Path:
    """A CSV of `rows` claims made by DuckDB: dx1 invalid (an unknown code) every `invalid_every` rows, else
    A00.0 (billable all along in the fixture), dx2 a header (B20 in R3) in odd rows; dates in R3."""
    path = folder / f"claims-{rows}-{invalid_every}.csv"
    duckdb.connect().execute(f"""COPY (
        SELECT i AS claim,
               CASE WHEN i % {invalid_every} = 0 THEN 'Q' || (10000 + i % 80000)::VARCHAR ELSE 'A00.0' END AS dx1,
               CASE WHEN i % 2 = 1 THEN 'B20' ELSE '' END AS dx2,
               '2025-1' || (i % 3)::VARCHAR || '-0' || (1 + i % 9)::VARCHAR AS service_date
        FROM range({rows}) t(i)) TO '{path}' (HEADER)""")
    return path


def validate_args(data_dir: Path, claims: Path, out: Path, *extra: str) -> list[str]:
    return ["validate", str(claims), "--code-column", "dx1", "--code-column", "dx2", "--date-column", "service_date",
            "--out", str(out), "--data-dir", str(data_dir), *extra]


# ----------------------------------------------------------------------------------------- the option


@pytest.mark.parametrize("text,bytes_", [("1GB", 10**9), ("512MB", 512 * 10**6), ("1.5GB", 1_500_000_000),
                                         ("800MiB", 800 * 2**20), ("2 GiB", 2 * 2**30)])
def test_memory_limit_forms(text, bytes_):
    assert memory_bytes(text) == bytes_


@pytest.mark.parametrize("bad,why", [("1 potato", "expected a size such as 512MB or 2GB"), ("-1GB", "expected a size"),
                                     ("", "expected a size"), ("10MB", "expected at least 450MB"),
                                     ("1e9", "expected a size")])
def test_a_bad_memory_limit_is_exit_2_naming_the_option(tmp_path, private_tmp, bad, why):
    claims = tmp_path / "c.csv"
    claims.write_text("dx1,service_date\nA00.0,2025-01-01\n")
    for data in (tmp_path / "no-warehouse", tmp_path):  # the option is checked before the warehouse
        r = runner.invoke(app, ["validate", str(claims), "--code-column", "dx1", "--date-column", "service_date",
                                "--memory-limit", bad, "--data-dir", str(data)])
        msg = " ".join(r.output.split())
        assert r.exit_code == 2, r.output
        assert f"--memory-limit {bad!r}: {why}" in msg and "Traceback" not in r.output
    assert list(private_tmp.iterdir()) == []  # no temporary folder left behind


def test_an_error_after_the_folder_is_made_leaves_no_folder(data_dir, tmp_path, private_tmp):
    claims = tmp_path / "c.csv"
    claims.write_text("dx1,service_date\nA00.0,2025-01-01\n")
    with pytest.raises(BadInput, match="has no column 'dx9'"):
        validate_file(data_dir / "warehouse" / "codeetl.duckdb", claims, ["dx9"], "service_date")
    assert list(private_tmp.iterdir()) == []


def test_a_folder_left_by_a_killed_run_is_removed_by_the_next(data_dir, tmp_path, private_tmp):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()  # a pid that no longer runs
    left = private_tmp / f"codeetl-validate-{dead.pid}-abc123"
    (left / "spill").mkdir(parents=True)
    mine = private_tmp / f"codeetl-validate-{os.getpid()}-live"  # a running process' folder is kept
    mine.mkdir()
    claims = tmp_path / "c.csv"
    claims.write_text("dx1,service_date\nA00.0,2025-01-01\n")
    validate_file(data_dir / "warehouse" / "codeetl.duckdb", claims, ["dx1"], "service_date")
    assert not left.exists() and mine.exists()


def test_the_output_is_never_half_written(data_dir, tmp_path, private_tmp):
    """The rows are written under a temporary name and renamed: when the rename fails (here the output path
    is a folder), nothing of the output is left."""
    claims = tmp_path / "c.csv"
    claims.write_text("dx1,service_date\nXYZ,2025-01-01\n")
    out = tmp_path / "out" / "invalid.csv"
    out.mkdir(parents=True)
    with pytest.raises(BadInput, match="cannot write"):
        validate_file(data_dir / "warehouse" / "codeetl.duckdb", claims, ["dx1"], "service_date", out=out)
    assert list(out.parent.iterdir()) == [out] and list(out.iterdir()) == [] and list(private_tmp.iterdir()) == []


# ---------------------------------------------------------------------------------------------- dates


def test_dates_are_yyyy_mm_dd_only(data_dir, tmp_path):
    claims = tmp_path / "c.csv"
    claims.write_text("row,dx1,service_date\n1,A00.0,2025-01-01\n2,A00.0,20250101\n3,A00.0,2025-W01-3\n"
                      "4,A00.0,2025-1-1\n5,A00.0,2025-01-01 00:00:00\n6,A00.0, 2025-01-01 \n")
    out = tmp_path / "invalid.csv"
    r = validate_file(data_dir / "warehouse" / "codeetl.duckdb", claims, ["dx1"], "service_date", out=out)
    rows = duckdb.connect().execute(f"SELECT row_number, reason, details FROM read_csv('{out}') ORDER BY 1").fetchall()
    assert [x[0] for x in rows] == [2, 3, 4, 5]  # 1 and 6 (spaces around the date are trimmed) are valid
    assert all(x[1] == "unreadable date" and x[2].startswith("expected a date as YYYY-MM-DD, got '") for x in rows)
    assert r.invalid_rows == 4


def test_a_date_column_of_dates_is_read(data_dir, tmp_path):
    claims = tmp_path / "c.parquet"
    duckdb.connect().execute(f"COPY (SELECT 'A00.0' AS dx1, DATE '2025-01-01' AS service_date) TO '{claims}'")
    r = validate_file(data_dir / "warehouse" / "codeetl.duckdb", claims, ["dx1"], "service_date",
                      out=tmp_path / "o.csv")
    assert r.invalid_codes == 0


def test_as_of_options_are_yyyy_mm_dd_only(tmp_path):
    for bad in ("20260401", "2026-W14-3", "2026-4-1"):
        for args in (["code", "M96.1", "--as-of", bad], ["check", "-", "--as-of", bad], ["status", "--as-of", bad]):
            r = runner.invoke(app, [*args, "--data-dir", str(tmp_path)], input="M96.1\n")
            assert r.exit_code == 2, (args, r.output)
            assert f"--as-of {bad!r}: expected a date as YYYY-MM-DD" in " ".join(r.output.split()), r.output


# ------------------------------------------------------------------------------ processes: memory, SIGTERM


def test_sigterm_removes_the_temporary_folder_and_writes_nothing(data_dir, tmp_path):
    """SIGTERM while DuckDB works: exit 143 with one line, the temporary folder gone, no output written."""
    claims = claims_file(tmp_path, 3_000_000)
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    out = tmp_path / "invalid.csv"
    p = processkit.start(validate_args(data_dir, claims, out), env={**os.environ, "TMPDIR": str(tmp)})
    deadline = time.monotonic() + 120
    while not list(tmp.glob("codeetl-validate-*")) and p.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert list(tmp.glob(f"codeetl-validate-{p.pid}-*")), "the validation never started"
    time.sleep(1)
    p.send_signal(signal.SIGTERM)
    code, _, msg, _ = processkit.finish(p, 120)
    assert code == 143, msg
    assert msg == "error: validate stopped by SIGTERM: its temporary folder was removed and no output written"
    assert list(tmp.iterdir()) == []
    assert list(tmp_path.glob("*invalid*")) == [] and list(tmp_path.glob(".*.part")) == []


def test_the_memory_limit_holds_when_every_row_is_invalid(data_dir, tmp_path):
    """2 million rows, every dx1 unknown and half the dx2 headers (3 million invalid cells): the process
    stays under --memory-limit (before, DuckDB alone was given all of it; the rest came on top)."""
    claims = claims_file(tmp_path, 2_000_000)
    code, _, err, peak_mb = processkit.run(
        validate_args(data_dir, claims, tmp_path / "invalid.csv", "--memory-limit", "450MB", "--json"), 600)
    assert code == 1, err
    assert peak_mb * 2**20 < 450 * 10**6, f"peak {peak_mb:.0f} MiB (DuckDB: all but {OVERHEAD:,} bytes)"
    lines = sum(1 for _ in open(tmp_path / "invalid.csv")) - 1
    assert lines == 3_000_000  # every invalid cell written, streamed
