"""Benchmark of `codeetl web` on loopback: random-code JSON pages and search, with wrk (Debian's `wrk`).

    uv run python bench/bench_web.py [--data-dir data] [--duration 30] [--connections 16] [--workers 2]

Starts `codeetl web` as a user would (`python -m codeetl web --workers N`) on a free 127.0.0.1 port over the
published warehouse of --data-dir, then runs wrk twice, each for --duration seconds with --connections
concurrent keep-alive connections (after a 5-second warm-up that is not counted):

1. ``/api/code/<code>`` for codes drawn at random (every request another) from every code node of the
   ICD-10-CM release in effect today: the same JSON as `codeetl code <code> --json`;
2. ``/api/search?q=<query>`` for queries drawn at random from 2,000 made from random codes of that release
   and their titles, a tenth of each kind in :data:`QUERY_KINDS`: the code (``M96.1``), without its dot in
   lower case (``m961``), its category (``M96``), a longer prefix (``S72.0``), a word of its title, two
   words in any order, a phrase (two to four words as the title has them), a word's first letters, a
   misspelt word (two letters swapped), and a misspelt word with another word.

Targets (issue 18): >= 200 pages/s with p99 <= 100 ms for the pages; p99 <= 50 ms for search. The results
(requests/s, p50/p90/p99 latency, errors, and the server's CPU time per request, which
other load on the machine changes less than latency) are printed and written to ``bench/results/web-<timestamp>.json``.
Requests go to 127.0.0.1 only; every run is bounded by --duration.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
LUA = r"""
local paths = {}
for line in io.lines("%(list)s") do paths[#paths + 1] = line end
math.randomseed(%(seed)d)
request = function()
  return wrk.format("GET", paths[math.random(#paths)])
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("RESULT {\"requests\": %%d, \"seconds\": %%f, \"non_2xx\": %%d, \"socket_errors\": %%d, "
    .. "\"p50_ms\": %%f, \"p90_ms\": %%f, \"p99_ms\": %%f, \"max_ms\": %%f}\n",
    summary.requests, summary.duration / 1e6, e.status, e.connect + e.read + e.write + e.timeout,
    latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000, latency.max / 1000))
end
"""


def free_port() -> int:
    """A TCP port free on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def sample_paths(data_dir: Path, seed: int) -> tuple[list[str], list[str]]:
    """The page paths (every code node of today's ICD-10-CM release) and 2,000 search paths."""
    import duckdb
    from urllib.parse import quote

    con = duckdb.connect(str(data_dir / "warehouse" / "codeetl.duckdb"), read_only=True)
    rel = con.execute("SELECT release FROM release_on('icd10cm', current_date)").fetchone()[0]
    rows = con.execute("SELECT code, coalesce(description_tabular, description) FROM icd10cm_codes WHERE release = ?", [rel]).fetchall()
    con.close()
    rng = random.Random(seed)
    pages = [f"/api/code/{quote(c)}" for c, _ in rows]
    queries = [search_query(code, title, kind % len(QUERY_KINDS), rng)
               for kind, (code, title) in enumerate(rng.sample(rows, 2000))]
    return pages, [f"/api/search?q={quote(q)}" for q in queries]


QUERY_KINDS = ("code", "code without dot", "category", "code prefix", "word", "two words", "phrase",
               "word prefix", "typo", "typo in two words")
"""What people type into a code search box, each a tenth of the queries, from the codes and titles of the
release (tests of the engine's slow paths included: one-letter words such as the s of toe(s), typos that
need correcting, common words matching tens of thousands of titles)."""


def search_query(code: str, title: str, kind: int, rng: random.Random) -> str:
    """A query of kind ``QUERY_KINDS[kind]`` for the code `code` of title `title`."""
    words = title.lower().replace(",", " ").split()
    long = [w for w in words if len(w) > 3] or [code.lower()]
    name = QUERY_KINDS[kind]
    if name == "code":
        return code  # M96.1
    if name == "code without dot":
        return code.replace(".", "").lower()  # m961
    if name == "category":
        return code[:3]  # M96
    if name == "code prefix":
        return code[:5] if len(code) > 5 else code[:4]  # S72.0, M96.
    if name == "word":
        return rng.choice(long)
    if name == "two words":
        return " ".join(rng.sample(long, min(len(long), 2)))
    if name == "phrase":  # two to four words as the title has them, stop words included
        n = min(len(words), rng.randint(2, 4))
        at = rng.randrange(len(words) - n + 1)
        return " ".join(words[at:at + n])
    if name == "word prefix":  # typing under way: the first three letters or more of a word
        w = rng.choice(long)
        return w[:rng.randint(3, max(3, len(w) - 1))]
    w = rng.choice([w for w in long if len(w) > 5] or long)
    typo = typo_of(w, rng) if len(w) > 5 else w
    others = [o for o in long if o != w]
    return typo if name == "typo" or not others else f"{typo} {rng.choice(others)}"


def typo_of(word: str, rng: random.Random) -> str:
    """`word` with two neighbouring letters swapped (the commonest typing error)."""
    i = rng.randrange(1, len(word) - 2)
    return word[:i] + word[i + 1] + word[i] + word[i + 2:]


def cpu_seconds(root: int) -> float:
    """CPU time (user + system) used so far by process `root` and its descendants (Linux ``/proc``): the
    server's own cost per request, which the machine's other load does not change as much as latency."""
    parents, used = {}, {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        pid = int(stat.parent.name)
        parents[pid], used[pid] = int(fields[1]), (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    tree, grew = {root}, True
    while grew:
        more = {pid for pid, parent in parents.items() if parent in tree} - tree
        tree |= more
        grew = bool(more)
    return sum(used.get(pid, 0.0) for pid in tree)


def run_wrk(url: str, paths: list[str], seconds: int, connections: int, threads: int, seed: int) -> dict:
    """One wrk run over `paths` (drawn at random per request); its summary."""
    with tempfile.TemporaryDirectory() as tmp:
        listed = Path(tmp) / "paths.txt"
        listed.write_text("\n".join(paths) + "\n", encoding="utf-8")
        script = Path(tmp) / "random.lua"
        script.write_text(LUA % {"list": listed, "seed": seed}, encoding="utf-8")
        out = subprocess.run(["wrk", "-t", str(threads), "-c", str(connections), "-d", f"{seconds}s", "--timeout", "10s",
                              "-s", str(script), url], capture_output=True, text=True, timeout=seconds + 60)
    line = next((l for l in out.stdout.splitlines() if l.startswith("RESULT ")), None)
    if line is None:
        sys.exit(f"wrk gave no result:\n{out.stdout}\n{out.stderr}")
    r = json.loads(line[len("RESULT "):])
    r["per_second"] = r["requests"] / r["seconds"]
    return r


def start_server(data_dir: Path, workers: int) -> tuple[subprocess.Popen, str]:
    """`codeetl web` on a free port; (process, base URL) once it answers."""
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "codeetl", "web", "--data-dir", str(data_dir), "--port", str(port),
                             "--workers", str(workers)], cwd=HERE.parent, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url + "/api/releases", timeout=30) as r:
                if r.status == 200:
                    return proc, url
        except OSError:
            time.sleep(0.3)
    proc.kill()
    sys.exit(f"codeetl web did not start: {proc.stderr.read().decode(errors='replace')[-2000:]}")


def targets(results: dict) -> dict:
    """Which of issue 18's targets the runs in `results` meet."""
    met = {}
    if "pages" in results:
        met["pages_per_s>=200"] = results["pages"]["per_second"] >= 200
        met["pages_p99<=100ms"] = results["pages"]["p99_ms"] <= 100
    if "search" in results:
        met["search_p99<=50ms"] = results["search"]["p99_ms"] <= 50
    return met


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data-dir", type=Path, default=Path(os.environ.get("CODEETL_DATA", "data")))
    ap.add_argument("--duration", type=int, default=30)
    ap.add_argument("--connections", type=int, default=16)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--threads", type=int, default=2, help="wrk threads")
    ap.add_argument("--seed", type=int, default=18)
    ap.add_argument("--only", choices=("pages", "search"), help="run one of the two (default: both)")
    a = ap.parse_args()
    if not shutil.which("wrk"):
        sys.exit("wrk is not installed: apt-get install -y wrk")
    pages, searches = sample_paths(a.data_dir, a.seed)
    proc, url = start_server(a.data_dir, a.workers)
    try:
        results = {}
        for name, paths in (("pages", pages), ("search", searches)):
            if a.only and name != a.only:
                continue
            run_wrk(url, paths, 5, a.connections, a.threads, a.seed + 1)  # warm-up, not counted
            cpu = cpu_seconds(proc.pid)
            results[name] = run_wrk(url, paths, a.duration, a.connections, a.threads, a.seed)
            results[name]["server_cpu_ms_per_request"] = (cpu_seconds(proc.pid) - cpu) * 1000 / max(1, results[name]["requests"])
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
    load = os.getloadavg()
    report = {"at": dt.datetime.now().isoformat(timespec="seconds"), "workers": a.workers, "connections": a.connections,
              "duration_s": a.duration, "load_average": load, "distinct_pages": len(pages), "distinct_queries": len(searches),
              **results,
              "targets": targets(results)}
    for name in results:
        r = results[name]
        print(f"{name:7} {r['per_second']:8.1f}/s  p50 {r['p50_ms']:6.1f} ms  p90 {r['p90_ms']:6.1f} ms  p99 {r['p99_ms']:6.1f} ms"
              f"  max {r['max_ms']:7.1f} ms  non-2xx {r['non_2xx']}  socket errors {r['socket_errors']}"
              f"  server CPU {r['server_cpu_ms_per_request']:.2f} ms/request")
    print(f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; targets: {report['targets']}")
    out = HERE / "results" / f"web-{dt.datetime.now():%Y%m%dT%H%M%S}.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
