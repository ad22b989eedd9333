"""Benchmark of the refresh and of reading a code page: the figures of the README's "Benchmark".

    uv run python bench/bench.py [--mirror ../shared/cms] [--runs 5] [--no-prefect]

Each measure runs in a fresh process, on a fresh data folder under a temporary directory:

* cold refresh through the pipeline functions, no Prefect (bench/pipeline_only.py: fetch + parse, build, publish; peak memory of
  its largest process — the build's, which includes DuckDB's — and of it and its build process together, sampled);
* the same refresh again: nothing changed (no-op);
* the refresh through Prefect (`codeetl refresh --json`, a fresh HOME so Prefect's database is new): the
  orchestrator's start, the flow, and the flow's stages, and the peak memory of its whole process tree (the
  command, its worker, Prefect's API server, the build process; sampled every 0.2 s) and of its largest process
  (bench/bench_memory.py measures this alone, with each process's peak); Prefect's own overhead = the flow's wall time less
  its stages (fetch + parse, build, publish) in the same run, cold and no-op (the stages themselves run as
  Prefect tasks, and take what they take without Prefect: compare with the runs without it);
* a refresh that adds one PFS release to a warehouse without it (the code pages are reused), and one that adds
  the newest ICD-10-CM release (as the October update does) to a warehouse of all the others, each as a share
  of the cold build in the same run;
* builds of the first 2, 4 and 6 ICD-10-CM releases alone (seconds, peak memory, cost per release);
* `codeetl code M96.1 --json` as a process, and reading one code from the code_page parquet with polars;
* two commands against their floors (bench/bench_floors.py, on the cold build): `codeetl code M96.1 --json`
  against `python -c "import duckdb"` (target ≤ 2.5×) and `codeetl validate` of 10 million parquet rows against a
  bare DuckDB anti-join of the same file (target ≤ 2×), alternating runs, medians (`--runs`).

The load average is recorded with each figure: the build machine is shared. Results print as Markdown and
are saved to bench/results/<timestamp>.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
PLAIN = """
import json, resource, sys, time
sys.path.insert(0, {bench!r})
from pipeline_only import refresh
t = time.perf_counter()
s = refresh({root!r}, {mirror!r}, releases={releases!r}, link_dirs=[__import__("pathlib").Path({links!r})])
peak = [int(l.split()[1]) // 1024 for l in open("/proc/self/status") if l.startswith("VmHWM:")]  # this process's own
own = peak[0] if peak else round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
build = s.get("build_process", {{}}).get("peak_rss_mib", 0)  # the build's process (codeetl.build.isolate)
print(json.dumps({{"wall": round(time.perf_counter() - t, 3), "seconds": s["seconds"], "changed": s["changed"],
                  "maxrss_mb": max(own, build), "own_peak_mb": own, "build_process_peak_mb": build}}))
"""


def load() -> float:
    """The 1-minute load average."""
    return round(os.getloadavg()[0], 2)


def python(code: str) -> dict:
    """Run `code` in a fresh interpreter of this environment; returns the JSON it prints last, with
    ``tree_peak_mb``: the peak of the summed resident memory of it and its build process (sampled)."""
    out, tree_mb, _ = run_with_tree_peak([sys.executable, "-c", code], dict(os.environ))
    if out.returncode != 0:
        raise SystemExit(f"bench process failed: {out.stderr[-1500:]}")
    return {**json.loads(out.stdout.strip().splitlines()[-1]), "tree_peak_mb": tree_mb}


def plain(root: Path, mirror: str, releases: list[str] | None = None) -> dict:
    """A refresh through the pipeline functions (no Prefect) in a process of its own (of `releases` only)."""
    code = PLAIN.format(bench=str(HERE), root=str(root), mirror=mirror, releases=releases,
                        links=str(HERE.parent / "data" / "links"))
    return {**python(code), "load": load()}


def run_with_tree_peak(cmd: list[str], env: dict) -> tuple[subprocess.CompletedProcess, int, int]:
    """Run `cmd`, sampling the resident memory of its whole process tree (the command, its worker, Prefect's
    API server, the build process) every 0.2 s (:func:`bench_memory.run_sampled`): (result, peak sum MiB,
    peak of the largest process MiB: its VmHWM)."""
    from bench_memory import run_sampled

    out, peaks = run_sampled(cmd, env)
    return out, peaks["tree_rss_peak_mib"], peaks["largest_process_peak_mib"]


def with_prefect(root: Path, mirror: str, home: Path) -> dict:
    """`codeetl refresh --json` as a process with HOME=`home`: wall time, the summary's seconds, and the peak
    memory of its process tree (sum, and its largest process: the worker that builds)."""
    home.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "HOME": str(home)}
    env.pop("PREFECT_API_URL", None)
    t = time.perf_counter()
    out, tree_mb, largest_mb = run_with_tree_peak(
        [sys.executable, "-m", "codeetl", "refresh", "--mirror", mirror, "--data-dir", str(root), "--json"], env)
    wall = time.perf_counter() - t
    if out.returncode != 0:
        raise SystemExit(f"codeetl refresh failed: {out.stdout[-500:]} {out.stderr[-500:]}")
    s = json.loads(out.stdout)
    return {"wall": round(wall, 3), "seconds": s["seconds"], "changed": s["changed"], "load": load(),
            "tree_peak_mb": tree_mb, "largest_process_peak_mb": largest_mb}


def code_process(root: Path, runs: int) -> dict:
    """`codeetl code M96.1 --json` as a process, `runs` times: median and max seconds."""
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        subprocess.run([sys.executable, "-m", "codeetl", "code", "M96.1", "--json", "--data-dir", str(root)],
                       check=True, capture_output=True)
        times.append(time.perf_counter() - t)
    return {"median": round(statistics.median(times), 3), "max": round(max(times), 3), "load": load()}


def parquet_read(root: Path, runs: int) -> dict:
    """Reading one code from the newest release's code_page parquet with polars (in a fresh process):
    median ms over `runs` reads, and the file's row groups."""
    code = f"""
import json, time, statistics, glob
import polars as pl
files = sorted(glob.glob({str(root / 'warehouse' / 'parquet' / 'code_page' / '*' / 'code_page.parquet')!r}))
path = files[-1]
times = []
for _ in range({runs}):
    t = time.perf_counter()
    df = pl.scan_parquet(path).filter(pl.col("code") == "M96.1").collect()
    times.append((time.perf_counter() - t) * 1000)
assert df.height == 1
print(json.dumps({{"file": path.split("/")[-2], "median_ms": round(statistics.median(times), 1),
                  "first_ms": round(times[0], 1)}}))
"""
    return {**python(code), "load": load()}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--mirror", default=str(HERE.parent.parent / "shared" / "cms"))
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--no-prefect", action="store_true", help="skip the refreshes through Prefect")
    ap.add_argument("--claims", help="folder for bench_floors' 10-million-row claims file (kept and reused)")
    a = ap.parse_args()
    mirror = str(Path(a.mirror).resolve())
    res: dict = {"machine": {"python": platform.python_version(), "cpus": os.cpu_count(), "platform": platform.platform()},
                 "started": time.strftime("%Y-%m-%dT%H:%M:%S")}
    with tempfile.TemporaryDirectory(prefix="codeetl-bench-") as tmp:
        tmp = Path(tmp)
        def measure(name, fn, *args):
            res[name] = fn(*args)
            print(name, json.dumps(res[name]), file=sys.stderr, flush=True)

        measure("plain_cold", plain, tmp / "plain", mirror)
        measure("plain_noop", plain, tmp / "plain", mirror)
        measure("code_process_s", code_process, tmp / "plain", a.runs)
        from bench_floors import measure as floors

        measure("floors", floors, tmp / "plain", max(a.runs, 5), 10_000_000, Path(a.claims) if a.claims else None)
        from codeetl.sources.catalog import load_catalog  # a new PFS release on a warehouse without it: code pages reused

        catalog = load_catalog()
        before = [r.release for ds in catalog.values() for r in ds.releases if r.release != "2026-B"]
        measure("plain_before_pfs", plain, tmp / "changed", mirror, before)
        measure("plain_new_pfs", plain, tmp / "changed", mirror)
        icd = [r.release for r in sorted(catalog["icd10cm"].releases, key=lambda r: r.effective_from)
               if (Path(mirror) / "icd10cm" / r.release).is_dir()]
        res["newest_icd10cm"] = icd[-1]  # the October update: the newest ICD-10-CM release added to the others
        before = [r.release for ds in catalog.values() for r in ds.releases if r.release != icd[-1]]
        measure("plain_before_icd", plain, tmp / "changed_icd", mirror, before)
        measure("plain_new_icd", plain, tmp / "changed_icd", mirror)
        for n in (2, 4, 6):  # cost per ICD-10-CM release: the first n releases alone
            if n <= len(icd):
                measure(f"plain_icd_{n}", plain, tmp / f"icd{n}", mirror, icd[:n])
        measure("code_page_parquet", parquet_read, tmp / "plain", 20)
        if not a.no_prefect:
            measure("prefect_cold", with_prefect, tmp / "prefect", mirror, tmp / "home")
            measure("prefect_noop", with_prefect, tmp / "prefect", mirror, tmp / "home")
            for kind in ("cold", "noop"):  # the flow's wall time less its own stages (same run: no load noise)
                p = res[f"prefect_{kind}"]["seconds"]
                res[f"prefect_overhead_{kind}_s"] = round(p["flow"] - p["fetch_parse"] - p["build"] - p["publish"], 3)
    out = HERE / "results"
    out.mkdir(exist_ok=True)
    (out / f"{time.strftime('%Y%m%dT%H%M%S')}.json").write_text(json.dumps(res, indent=2))
    report(res)


def report(res: dict) -> None:
    """Print the results as a Markdown table."""
    rows = []
    c, n = res["plain_cold"], res["plain_noop"]
    rows.append(("cold refresh, no Prefect: fetch + parse / build / publish",
                 f"{c['seconds']['fetch_parse']:.2f} / {c['seconds']['build']:.2f} / {c['seconds']['publish']:.2f} s "
                 f"(process {c['wall']:.1f} s, load {c['load']})"))
    rows.append(("peak memory of the cold refresh (RSS): its largest process / the refresh and its build process "
                 "together (sampled)", f"{c['maxrss_mb']} / {c.get('tree_peak_mb', '?')} MB"))
    rows.append(("unchanged refresh, no Prefect", f"{sum(n['seconds'].values()):.2f} s (process {n['wall']:.1f} s; "
                 f"{sum(n['seconds'].values()) / sum(c['seconds'].values()):.1%} of the cold one)"))
    for kind in ("cold", "noop"):
        if f"prefect_{kind}" in res:
            p = res[f"prefect_{kind}"]
            rows.append((f"`codeetl refresh` {kind}: orchestrator start / flow / whole process",
                         f"{p['seconds']['orchestrator_start']:.1f} / {p['seconds']['flow']:.1f} / {p['wall']:.1f} s (load {p['load']})"))
            rows.append((f"`codeetl refresh` {kind}: peak memory of its process tree (sampled) / of its largest process",
                         f"{p['tree_peak_mb']} / {p['largest_process_peak_mb']} MB"))
            rows.append((f"Prefect's own overhead, {kind} (flow - its stages)", f"{res[f'prefect_overhead_{kind}_s']:.2f} s "
                         f"({res[f'prefect_overhead_{kind}_s'] / p['seconds']['flow']:.0%} of the flow)"))
    if "plain_new_pfs" in res:
        p = res["plain_new_pfs"]["seconds"]
        rows.append(("refresh adding one PFS release (2026-B): fetch + parse / build (code pages reused)",
                     f"{p['fetch_parse']:.2f} / {p['build']:.2f} s ({p['build'] / c['seconds']['build']:.0%} of the cold build)"))
    if "plain_new_icd" in res:
        p = res["plain_new_icd"]["seconds"]
        rows.append((f"refresh adding the newest ICD-10-CM release ({res['newest_icd10cm']}): fetch + parse / build",
                     f"{p['fetch_parse']:.2f} / {p['build']:.2f} s ({p['build'] / c['seconds']['build']:.0%} of the cold build; "
                     f"peak {res['plain_new_icd']['maxrss_mb']} MB)"))
    rows += icd_scaling(res)
    cp = res["code_process_s"]
    rows.append(("`codeetl code M96.1 --json` as a process, median / max", f"{cp['median']:.2f} / {cp['max']:.2f} s (load {cp['load']})"))
    pq = res["code_page_parquet"]
    rows.append((f"one code from `code_page` parquet ({pq['file']}) with polars, median / first",
                 f"{pq['median_ms']} / {pq['first_ms']} ms"))
    if "floors" in res:
        from bench_floors import report as floor_rows

        rows += floor_rows(res["floors"])
    print("| measure | value |\n|---|---|")
    for k, v in rows:
        print(f"| {k} | {v} |")


def icd_scaling(res: dict) -> list[tuple[str, str]]:
    """Rows of the 2/4/6 ICD-10-CM release builds: build seconds, peak memory, and the cost per release (the
    difference between the largest and the smallest build over the releases between them)."""
    runs = {n: res[f"plain_icd_{n}"] for n in (2, 4, 6) if f"plain_icd_{n}" in res}
    rows = [(f"build of the first {n} ICD-10-CM releases alone", f"{r['seconds']['build']:.2f} s, peak {r['maxrss_mb']} MB "
             f"({r['seconds']['build'] / n:.2f} s per release; load {r['load']})") for n, r in runs.items()]
    if len(runs) >= 2:
        lo, hi = min(runs), max(runs)
        per = (runs[hi]["seconds"]["build"] - runs[lo]["seconds"]["build"]) / (hi - lo)
        rows.append((f"cost of one more ICD-10-CM release ({lo} to {hi} releases)", f"{per:.2f} s of build"))
    return rows


if __name__ == "__main__":
    main()
