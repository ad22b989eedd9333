"""The build's stages, timed, for a cold build and for adding one release (issue 20 item 1): each build in a process
of its own through bench/pipeline_only.py, its progress lines timestamped.

    uv run python bench/stages.py [--mirror ../shared/cms] [--out /tmp/stages]

Builds: the cold one (everything in the mirror), one without the newest ICD-10-CM release and without PFS 2026-B,
then the newest ICD-10-CM release added, then PFS 2026-B added (a warehouse that has all the others each time).
Prints, per build, the seconds of each stage (load, derive, gates and table export, code pages, page store and
search index), the build's wall time and peak RSS, and the 1-minute load average at its end: ratios, one run, one spell.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
CHILD = """
import json, sys, time
sys.path.insert(0, {bench!r})
from pipeline_only import refresh
lines = []
t0 = time.perf_counter()
s = refresh({root!r}, {mirror!r}, releases={releases!r}, link_dirs=[__import__("pathlib").Path({links!r})],
            notify=lambda m: lines.append((round(time.perf_counter() - t0, 3), m)))
peak = [int(l.split()[1]) // 1024 for l in open("/proc/self/status") if l.startswith("VmHWM:")]
print(json.dumps({{"seconds": s["seconds"], "lines": lines, "peak_mb": peak[0]}}))
"""
STAGES = [("load", "build: loading"), ("derive", "build: deriving"), ("gates + table export", "build: quality gates"),
          ("code pages", "build: exported"), ("page store + search", "build: page store")]
"""Each stage and the progress line that starts it (the gates' end has no line of its own; the last ends with the
build)."""


def run(root: Path, mirror: str, releases: list[str] | None) -> dict:
    """One refresh in a fresh process; returns its laps, stage seconds and peak RSS."""
    code = CHILD.format(bench=str(HERE), root=str(root), mirror=mirror, releases=releases,
                        links=str(HERE.parent / "data" / "links"))
    out = json.loads(subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout.splitlines()[-1])
    starts = {}
    for t, line in out["lines"]:
        for name, prefix in STAGES:
            if line.startswith(prefix) and name not in starts:
                starts[name] = t
    starts["end"] = out["seconds"]["fetch_parse"] + out["seconds"]["build"]  # laps from the refresh's start
    names = [n for n, _ in STAGES if n in starts] + ["end"]
    stages = {a: round(starts[b] - starts[a], 1) for a, b in zip(names, names[1:])}
    return {"build": out["seconds"]["build"], "fetch_parse": out["seconds"]["fetch_parse"], "stages": stages,
            "peak_mb": out["peak_mb"], "load": round(os.getloadavg()[0], 1)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--mirror", default=str(HERE.parent.parent / "shared" / "cms"))
    ap.add_argument("--out", help="folder for the data folders (default: a temporary one, removed)")
    a = ap.parse_args()
    mirror = str(Path(a.mirror).resolve())
    from codeetl.sources.catalog import load_catalog

    catalog = load_catalog()
    icd = [r.release for r in sorted(catalog["icd10cm"].releases, key=lambda r: r.effective_from)
           if (Path(mirror) / "icd10cm" / r.release).is_dir()]
    every = [r.release for ds in catalog.values() for r in ds.releases]
    if a.out:
        Path(a.out).mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="codeetl-stages-", dir=a.out) as tmp:
        res = {"cold": run(Path(tmp) / "cold", mirror, None)}
        print("cold", json.dumps(res["cold"]), flush=True)
        steps = [("without", [r for r in every if r not in (icd[-1], "2026-B")]),
                 (f"add ICD-10-CM {icd[-1]}", [r for r in every if r != "2026-B"]), ("add PFS 2026-B", every)]
        for name, releases in steps:
            res[name] = run(Path(tmp) / "incremental", mirror, releases)
            print(name, json.dumps(res[name]), flush=True)
    cold = res["cold"]["build"]
    for name in (f"add ICD-10-CM {icd[-1]}", "add PFS 2026-B"):
        print(f"{name}: build {res[name]['build']:.1f} s = {res[name]['build'] / cold:.2f} of the cold build ({cold:.1f} s)")


if __name__ == "__main__":
    main()
