"""Benchmark: a cold refresh from the mirror, stage by stage, its peak memory, and code-page latency.

    uv run python bench/bench.py [--mirror ../shared/cms] [--runs 50]

Stages run through the same pipeline functions the Prefect flow calls (Prefect's own start-up, ~10-30 s
on a small machine, is measured separately as the `codeetl refresh` wall time when --with-cli is given).
Results print as a Markdown table and are saved to bench/results/<timestamp>.json.
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb

from codeetl import pipeline
from codeetl.catalog import load_catalog
from codeetl.datasets.links.build import default_link_dirs
from codeetl.pages.code import code_page

HERE = Path(__file__).resolve().parent


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--mirror", default=str(HERE.parent.parent / "shared" / "cms"))
    ap.add_argument("--runs", type=int, default=50)
    ap.add_argument("--with-cli", action="store_true", help="also time `codeetl refresh` and `codeetl code` as processes")
    a = ap.parse_args()
    results: dict = {"machine": {"python": platform.python_version(), "cpus": __import__("os").cpu_count(),
                                 "platform": platform.platform()}}
    with tempfile.TemporaryDirectory(prefix="codeetl-bench-") as tmp:
        root = Path(tmp)
        catalog = load_catalog()
        stages = {"fetch": 0.0, "parse": 0.0}
        fetched = []
        for r in pipeline.select_releases(catalog):
            t = time.perf_counter()
            f = pipeline.fetch_step(r, root, a.mirror)
            stages["fetch"] += time.perf_counter() - t
            if f.downloads:
                fetched.append((r, f))
        per_dataset: dict[str, float] = {}
        for r, f in fetched:
            t = time.perf_counter()
            pipeline.parse_release_cached(r, f, root / "raw")
            dt_ = time.perf_counter() - t
            stages["parse"] += dt_
            per_dataset[f"parse {r.dataset}/{r.release}"] = round(dt_, 3)
        t = time.perf_counter()
        build = pipeline.build_warehouse(pipeline.latest_parses(root / "raw", catalog), catalog, root / "warehouse",
                                         link_dirs=default_link_dirs(root))
        stages["load (build + checks + parquet export)"] = time.perf_counter() - t
        t = time.perf_counter()
        pipeline.publish(build, root / "warehouse")
        stages["publish"] = time.perf_counter() - t
        t = time.perf_counter()
        for r, f in fetched:
            pipeline.parse_release_cached(r, pipeline.fetch_step(r, root, a.mirror), root / "raw")
        stages["warm re-run of fetch+parse (unchanged sources)"] = time.perf_counter() - t
        results["stages_s"] = {k: round(v, 3) for k, v in stages.items()}
        results["parse_by_release_s"] = per_dataset
        results["peak_rss_mb"] = round(peak_rss_mb(), 1)
        results["tables"] = build.tables
        # the code_page export alone: rebuild the table and write its parquet file, on a copy of the warehouse
        import shutil

        from codeetl.warehouse_sql import apply_sql

        scratch = root / "scratch.duckdb"
        shutil.copy(root / "warehouse" / "codeetl.duckdb", scratch)
        con = duckdb.connect(str(scratch))
        con.execute("SET enable_progress_bar = false")
        con.execute("DROP TABLE code_page")
        t = time.perf_counter()
        apply_sql(con, "views/90_code_page.sql")
        results["code_page_table_s"] = round(time.perf_counter() - t, 2)
        t = time.perf_counter()
        con.execute(f"COPY code_page TO '{root / 'code_page.parquet'}' (FORMAT parquet, COMPRESSION zstd)")
        results["code_page_parquet_s"] = round(time.perf_counter() - t, 2)
        results["code_page_rows"] = con.execute("SELECT count(*) FROM code_page").fetchone()[0]
        results["code_page_parquet_mb"] = round((root / "code_page.parquet").stat().st_size / 1e6, 1)
        con.close()
        con = duckdb.connect(str(root / "warehouse" / "codeetl.duckdb"), read_only=True)
        lat = []
        for _ in range(a.runs):
            t = time.perf_counter()
            code_page(con, "M96.1")
            lat.append((time.perf_counter() - t) * 1000)
        con.close()
        results["code_page_ms"] = {"median": round(statistics.median(lat), 2), "p95": round(sorted(lat)[int(0.95 * len(lat)) - 1], 2)}
        if a.with_cli:
            t = time.perf_counter()
            subprocess.run([sys.executable, "-m", "codeetl", "code", "M96.1", "--json", "--data-dir", str(root)],
                           check=True, capture_output=True)
            results["cli_code_process_s"] = round(time.perf_counter() - t, 3)
            t = time.perf_counter()
            subprocess.run([sys.executable, "-m", "codeetl", "refresh", "--mirror", a.mirror, "--data-dir", str(root / "cli")],
                           check=True, capture_output=True)
            results["cli_cold_refresh_with_prefect_s"] = round(time.perf_counter() - t, 1)
    out = HERE / "results"
    out.mkdir(exist_ok=True)
    (out / f"{time.strftime('%Y%m%dT%H%M%S')}.json").write_text(json.dumps(results, indent=2))
    print("| measure | value |\n|---|---|")
    for k, v in results["stages_s"].items():
        print(f"| {k} | {v:.2f} s |")
    print(f"| peak memory (RSS) | {results['peak_rss_mb']} MB |")
    print(f"| `code_page('M96.1')` median / p95 | {results['code_page_ms']['median']} / {results['code_page_ms']['p95']} ms |")
    print(f"| `code_page` export: build table / write parquet ({results['code_page_rows']:,} rows, "
          f"{results['code_page_parquet_mb']} MB) | {results['code_page_table_s']} s / {results['code_page_parquet_s']} s |")
    for k in ("cli_code_process_s", "cli_cold_refresh_with_prefect_s"):
        if k in results:
            print(f"| {k} | {results[k]} s |")


if __name__ == "__main__":
    main()
