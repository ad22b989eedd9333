"""Benchmark: two commands against their floors, as whole processes, in one run (issue 20, must-have 4).

    uv run python bench/bench_floors.py [--data-dir data] [--runs 7] [--rows 10000000] [--claims DIR]

* ``codeetl code M96.1 --json`` against ``python -c "import duckdb"`` (the floor of any Python program that opens
  DuckDB); also ``python -c "import duckdb, typer"`` (what the command line library adds) — target ≤ 2.5×;
* ``codeetl validate`` of a 10-million-row parquet claims file (tests/claims_fixture.py: two diagnosis columns,
  dated service days, every 1,000th row planted invalid) against the floor: one Python process that opens the
  warehouse and counts the file's code cells not valid on their day, by a bare DuckDB anti-join with
  ``icd10cm_code_history`` — target ≤ 2×.

The measures alternate (floor, command, floor, command, ...) so that a load that comes and goes hits both alike;
medians of `runs` runs, and the 1-minute load average before and after. bench/bench.py calls :func:`measure`.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent

FLOOR_VALIDATE = """
import sys, duckdb
con = duckdb.connect(sys.argv[1], read_only=True)
con.execute("SET enable_progress_bar = false")
print(con.execute('''
    SELECT count(*) FROM (
        SELECT dx1 AS code, service_date AS day FROM read_parquet($1) WHERE dx1 IS NOT NULL
        UNION ALL
        SELECT dx2, service_date FROM read_parquet($1) WHERE dx2 IS NOT NULL) AS c
    ANTI JOIN icd10cm_code_history AS h
      ON h.code = c.code AND h.is_billable AND c.day BETWEEN h.valid_from AND coalesce(h.valid_to, DATE '9999-12-31')
''', [sys.argv[2]]).fetchone()[0])
"""
"""The validate floor: the file's code cells not valid on their day, counted by one bare anti-join with
``icd10cm_code_history`` on the code as written (the generated file writes every code as CMS does, with its
dot): no normalising, no reasons, no row numbers, no output file. What any program checking these codes
against the warehouse must at least do; it finds the same 10,000 invalid cells (the planted rows)."""


def _load() -> float:
    return round(os.getloadavg()[0], 2)


def _time(cmd: list[str], ok=(0,)) -> tuple[float, str]:
    t = time.perf_counter()
    p = subprocess.run(cmd, capture_output=True, text=True)
    took = time.perf_counter() - t
    if p.returncode not in ok:
        raise SystemExit(f"{' '.join(cmd[:6])} ... failed ({p.returncode}): {p.stderr[-800:]}")
    return took, p.stdout


def alternate(commands: dict[str, list[str]], runs: int, ok=(0,)) -> dict:
    """Run each of `commands` `runs` times, in turn (one of each, then again); returns the median and
    minimum seconds of each, its last output (``stdout``), and the load average before and after."""
    times: dict[str, list[float]] = {k: [] for k in commands}
    last: dict[str, str] = {}
    before = _load()
    for _ in range(runs):
        for name, cmd in commands.items():
            took, last[name] = _time(cmd, ok)
            times[name].append(took)
    return {**{k: {"median": round(statistics.median(v), 3), "min": round(min(v), 3)} for k, v in times.items()},
            "runs": runs, "load": [before, _load()], "stdout": last}


def code_vs_floor(data_dir: Path, runs: int) -> dict:
    """`codeetl code M96.1 --json` against `python -c "import duckdb"`: medians and their ratio."""
    py = sys.executable
    res = alternate({"import_duckdb": [py, "-c", "import duckdb"],
                     "import_duckdb_typer": [py, "-c", "import duckdb, typer"],
                     "code_json": [py, "-m", "codeetl", "code", "M96.1", "--json", "--data-dir", str(data_dir)]}, runs)
    res["ratio"] = round(res["code_json"]["median"] / res["import_duckdb"]["median"], 2)
    if json.loads(res.pop("stdout")["code_json"])["code"] != "M96.1":
        raise SystemExit("codeetl code M96.1 --json did not print the page of M96.1")
    res["typer_s"] = round(res["import_duckdb_typer"]["median"] - res["import_duckdb"]["median"], 3)
    return res


def validate_vs_floor(data_dir: Path, claims: Path, runs: int) -> dict:
    """`codeetl validate` of the parquet claims file against the bare anti-join (:data:`FLOOR_VALIDATE`)."""
    from codeetl.build.paths import current_database

    db = str(current_database(data_dir).resolve())
    py = sys.executable
    out = claims.with_name("invalid-bench.csv")
    res = alternate({"anti_join": [py, "-c", FLOOR_VALIDATE, db, str(claims)],
                     "validate": [py, "-m", "codeetl", "validate", str(claims), "--code-column", "dx1", "--code-column",
                                  "dx2", "--date-column", "service_date", "--out", str(out), "--json",
                                  "--data-dir", str(data_dir)]}, runs, ok=(0, 1))
    res["ratio"] = round(res["validate"]["median"] / res["anti_join"]["median"], 2)
    out = res.pop("stdout")
    found, floor = json.loads(out["validate"])["invalid_codes"], int(out["anti_join"])
    if found != floor:  # both must find the same invalid cells, or the comparison means nothing
        raise SystemExit(f"validate found {found:,} invalid codes, the bare anti-join {floor:,}")
    res["invalid_codes"] = found
    return res


def claims_file(folder: Path, rows: int) -> Path:
    """The parquet claims file of `rows` rows in `folder` (generated unless there already)."""
    parquet = folder / "claims.parquet"
    if not parquet.exists():
        import duckdb

        sys.path.insert(0, str(HERE.parent / "tests"))
        from claims_fixture import generate_claims

        generate_claims(duckdb.connect(), folder, rows)
    return parquet


def measure(data_dir: Path, runs: int = 7, rows: int = 10_000_000, claims_dir: Path | None = None) -> dict:
    """Both ratios against a built data folder, in one run: {"code": ..., "validate": ...}."""
    with tempfile.TemporaryDirectory(prefix="codeetl-bench-floors-") as tmp:
        folder = Path(claims_dir or tmp)
        folder.mkdir(parents=True, exist_ok=True)
        claims = claims_file(folder, rows)
        res = {"code": code_vs_floor(data_dir, runs), "validate": validate_vs_floor(data_dir, claims, runs)}
        res["validate"]["rows"] = rows
    return res


def report(res: dict) -> list[tuple[str, str]]:
    """The Markdown table rows of :func:`measure`'s result."""
    c, v = res["code"], res["validate"]
    return [
        ("`codeetl code M96.1 --json` / `python -c \"import duckdb\"` (process medians; target ≤ 2.5×)",
         f"{c['code_json']['median']:.3f} / {c['import_duckdb']['median']:.3f} s = **{c['ratio']:.2f}×** "
         f"(typer's import {c['typer_s']:.3f} s; {c['runs']} runs, load {c['load'][0]}–{c['load'][1]})"),
        (f"`codeetl validate` of {v['rows']:,} parquet rows / bare DuckDB anti-join (process medians; target ≤ 2×)",
         f"{v['validate']['median']:.2f} / {v['anti_join']['median']:.2f} s = **{v['ratio']:.2f}×** "
         f"({v['runs']} runs, load {v['load'][0]}–{v['load'][1]})"),
    ]


def main() -> None:
    """Measure against --data-dir and print the table; saved to bench/results/floors-<timestamp>.json."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--data-dir", default=os.environ.get("CODEETL_DATA", "data"))
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--claims", help="folder for the generated claims file (kept and reused)")
    a = ap.parse_args()
    res = measure(Path(a.data_dir), a.runs, a.rows, Path(a.claims) if a.claims else None)
    print("| measure | value |\n|---|---|")
    for k, v in report(res):
        print(f"| {k} | {v} |")
    (HERE / "results").mkdir(exist_ok=True)
    (HERE / "results" / f"floors-{time.strftime('%Y%m%dT%H%M%S')}.json").write_text(json.dumps(res, indent=2))


if __name__ == "__main__":
    main()
