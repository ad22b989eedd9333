"""Peak memory of a cold ``codeetl refresh`` of the whole mirror: the figures of the README's "Memory" paragraph.

    uv run python bench/bench_memory.py [--mirror ../shared/cms] [--keep DIR]

Runs ``python -m codeetl refresh --mirror M --json`` on a fresh data folder with a fresh HOME (so Prefect starts its
temporary API server and creates its database, as on a first run), and samples every process of its tree every
0.2 s from /proc: the command (the supervisor), its worker (the Prefect flow), Prefect's API server, the build
process and the parse processes (:mod:`codeetl.build.isolate`). It reports

* the **whole tree's peak**, sampled: the sum of the processes' resident memory (``VmRSS``; pages shared between
  processes, such as Python's and DuckDB's code, counted in each) and of their proportional set sizes (``Pss`` of
  ``smaps_rollup``: shared pages split among the processes sharing them — what the machine pays), each the
  highest sum of one sample, with the progress line the refresh had printed last;
* **each process's own peak** (``VmHWM``, the kernel's high-water mark: exact, not sampled, as last read before
  the process ended).

The machine is shared: memory figures do not depend on the load the way times do, but a sample every 0.2 s
can miss a peak shorter than that (the per-process peaks cannot). Results print as Markdown and are saved to
bench/results/memory-<timestamp>.json.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def _status(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM of `pid` in MiB, and Pss (smaps_rollup) when readable; {} once it is gone."""
    out: dict[str, int] = {}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(("VmRSS:", "VmHWM:")):
                out[line[:5]] = int(line.split()[1]) // 1024
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                out["Pss"] = int(line.split()[1]) // 1024
    except (OSError, ValueError, IndexError):
        pass
    return out


def _tree(pid: int) -> dict[int, str]:
    """`pid` and every process below it: pid -> its role (command, worker, Prefect API server, build process)."""
    kids: dict[int, list[int]] = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                ppid = int(Path(f"/proc/{d}/stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            kids.setdefault(ppid, []).append(int(d))
    out, todo = {pid: "command"}, [pid]
    while todo:
        q = todo.pop()
        for c in kids.get(q, []):
            out[c] = _role(c, out[q])
            todo.append(c)
    return out


def _role(pid: int, parent_role: str) -> str:
    """What process `pid` is, from its command line and its parent's role."""
    try:
        args = Path(f"/proc/{pid}/cmdline").read_bytes().decode("utf-8", "replace").split("\0")
    except OSError:
        return "gone"
    line = " ".join(args)
    if "codeetl.build.isolate" in line:
        return "build process" if "build_warehouse" in line else "parse process"
    if "uvicorn" in line or "prefect" in line:
        return "Prefect API server"
    if parent_role == "command" and "codeetl" in line:
        return "worker"
    return Path(args[0]).name or "process"


def run_sampled(cmd: list[str], env: dict, interval: float = 0.2) -> tuple[subprocess.CompletedProcess, dict]:
    """Run `cmd`, sampling its process tree every `interval` s; returns (result, peaks): ``tree_rss_peak_mib``,
    ``tree_pss_peak_mib``, ``at_peak`` (each process's RSS in the sample of the RSS peak, and the last line of
    stderr before it), ``processes`` (each process's role and VmHWM), ``largest_process_peak_mib``."""
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    lines: list[str] = []
    peaks: dict = {"tree_rss_peak_mib": 0, "tree_pss_peak_mib": 0, "at_peak": {}, "processes": {}}

    def read_stderr() -> None:
        for line in p.stderr:
            lines.append(line.rstrip())

    def sample() -> None:
        while p.poll() is None:
            row = {pid: (role, _status(pid)) for pid, role in _tree(p.pid).items()}
            row = {pid: (role, s) for pid, (role, s) in row.items() if s}
            rss, pss = sum(s.get("VmRSS", 0) for _, s in row.values()), sum(s.get("Pss", 0) for _, s in row.values())
            if rss > peaks["tree_rss_peak_mib"]:
                peaks.update(tree_rss_peak_mib=rss, at_peak={
                    "rss_mib": {f"{role} {pid}": s.get("VmRSS", 0) for pid, (role, s) in row.items()},
                    "last_line": lines[-1] if lines else ""})
            peaks["tree_pss_peak_mib"] = max(peaks["tree_pss_peak_mib"], pss)
            for pid, (role, s) in row.items():
                peaks["processes"][str(pid)] = {"role": role, "peak_rss_mib": s.get("VmHWM", 0)}
            time.sleep(interval)

    threads = [threading.Thread(target=f, daemon=True) for f in (read_stderr, sample)]
    for t in threads:
        t.start()
    out = p.stdout.read()
    p.wait()
    for t in threads:
        t.join()
    peaks["largest_process_peak_mib"] = max((q["peak_rss_mib"] for q in peaks["processes"].values()), default=0)
    return subprocess.CompletedProcess(cmd, p.returncode, out, "\n".join(lines)), peaks


def cold_refresh(mirror: str, root: Path, home: Path) -> dict:
    """A cold `codeetl refresh --json` of `mirror` into `root` with HOME=`home` (both new): its peaks
    (:func:`run_sampled`), wall seconds and the summary's ``build_process``."""
    home.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "HOME": str(home)}
    for name in ("PREFECT_API_URL", "PREFECT_HOME", "CODEETL_REFRESH_WORKER"):
        env.pop(name, None)
    t = time.perf_counter()
    out, peaks = run_sampled([sys.executable, "-m", "codeetl", "refresh", "--mirror", mirror, "--data-dir", str(root),
                              "--json"], env)
    if out.returncode != 0:
        raise SystemExit(f"codeetl refresh failed ({out.returncode}): {out.stderr[-1500:]}")
    summary = json.loads(out.stdout)
    return {**peaks, "wall": round(time.perf_counter() - t, 1), "load": round(os.getloadavg()[0], 2),
            "build_process": summary.get("build_process", {}), "seconds": summary.get("seconds", {})}


def report(res: dict) -> None:
    """Print the figures as a Markdown table."""
    rows = [("whole process tree, sum of RSS (sampled every 0.2 s)", f"**{res['tree_rss_peak_mib']:,} MiB**"),
            ("whole process tree, sum of PSS (shared pages split; sampled)", f"**{res['tree_pss_peak_mib']:,} MiB**"),
            ("at the RSS peak", "; ".join(f"{k} {v:,}" for k, v in res["at_peak"]["rss_mib"].items())
             + f" MiB, after \"{res['at_peak']['last_line']}\"")]
    for pid, q in sorted(res["processes"].items(), key=lambda kv: -kv[1]["peak_rss_mib"]):
        if q["role"] != "parse process":
            rows.append((f"{q['role']} (pid {pid}), its own peak (VmHWM)", f"{q['peak_rss_mib']:,} MiB"))
    parses = [q["peak_rss_mib"] for q in res["processes"].values() if q["role"] == "parse process"]
    if parses:
        rows.append((f"parse processes ({len(parses)}, one at a time), the largest one's peak", f"{max(parses):,} MiB"))
    rows.append(("whole refresh", f"{res['wall']:.0f} s (load {res['load']})"))
    print("| cold `codeetl refresh` of the mirror | peak |\n|---|---|")
    for k, v in rows:
        print(f"| {k} | {v} |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mirror", default=str(HERE.parent.parent / "shared" / "cms"))
    ap.add_argument("--keep", help="build into this (new) folder and keep it, instead of a temporary one")
    a = ap.parse_args()
    started = time.strftime("%Y-%m-%dT%H:%M:%S")
    with tempfile.TemporaryDirectory(prefix="codeetl-bench-memory-") as tmp:
        root = Path(a.keep) if a.keep else Path(tmp) / "data"
        res = {**cold_refresh(str(Path(a.mirror).resolve()), root, Path(tmp) / "home"), "started": started}
    out = HERE / "results"
    out.mkdir(exist_ok=True)
    (out / f"memory-{time.strftime('%Y%m%dT%H%M%S')}.json").write_text(json.dumps(res, indent=2))
    report(res)


if __name__ == "__main__":
    main()
