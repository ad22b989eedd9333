"""Fault injection for the fault-matrix tests (tests/integration/test_faults.py).

* :class:`FaultServer`: a real HTTP server on 127.0.0.1 serving a mirror folder, where any path can be
  scripted to misbehave (status codes, a stalled or dripping body, a reset or truncated transfer, an HTML
  page, a redirect loop, an oversized body).
* Altered copies of the real mirror files, and zip archives built byte by byte (zip bombs, slips, links).
* :func:`plain_refresh`: the refresh flow's steps in the flow's order (lock, fetch, parse, build, publish),
  without Prefect, so each fault costs a second, not an ephemeral API server; the CLI runs it in place of
  the flow in :func:`run_cli`. ``python tests/faultkit.py ROOT MIRROR DATASET...`` runs it in a process of
  its own (for kill -9 and memory measurements) and prints a JSON line with its peak memory.
* :func:`snapshot` / :func:`leftovers`: what a data folder holds, to assert that a failed refresh changed
  nothing and left nothing half-written.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import resource
import socket
import struct
import sys
import threading
import time
import zipfile
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Callable
from urllib.parse import urlsplit

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))


# ------------------------------------------------------------------------------------------ HTTP faults

Behaviour = Callable[["_Handler", bytes | None], None]


class FaultServer:
    """Serves `root` over HTTP on loopback; ``script[path]`` is a list of behaviours for that path, used one
    per request (the last one repeats). ``requests`` records every path asked for."""

    def __init__(self, root: Path):
        self.root = Path(root)
        self.script: dict[str, list[Behaviour]] = {}
        self.requests: list[str] = []
        self.stop = threading.Event()
        outer = self

        class Handler(_Handler):
            server_state = outer

        self.httpd = _QuietServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> "FaultServer":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        self.httpd.shutdown()
        self.httpd.server_close()


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request, client_address):  # a client hanging up mid-body is the point here
        pass


class _Handler(BaseHTTPRequestHandler):
    server_state: FaultServer
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):  # keep pytest output clean
        pass

    def do_GET(self):  # noqa: N802 - http.server's naming
        state = self.server_state
        state.requests.append(self.path)
        path = state.root / self.path.lstrip("/")
        data = path.read_bytes() if path.is_file() else None
        steps = state.script.get(self.path)
        if steps:
            step = steps.pop(0) if len(steps) > 1 else steps[0]
            step(self, data)
        elif data is None:
            status(404)(self, None)
        else:
            body(data)(self, None)
        self.close_connection = True


def _head(h: _Handler, code: int, headers: dict[str, str]) -> None:
    h.send_response(code)
    for k, v in headers.items():
        h.send_header(k, v)
    h.send_header("Connection", "close")
    h.end_headers()
    h.wfile.flush()


def status(code: int, **headers: str) -> Behaviour:
    """Answer `code` with an empty body (plus headers, e.g. Retry_After="1")."""
    def run(h, data):
        _head(h, code, {"Content-Length": "0", **{k.replace("_", "-"): v for k, v in headers.items()}})
    return run


def ok() -> Behaviour:
    """Serve the file as it is."""
    def run(h, data):
        body(data)(h, None) if data is not None else status(404)(h, None)
    return run


def body(content: bytes, length: bool = True) -> Behaviour:
    """Answer 200 with `content` (without Content-Length when `length` is false: the body ends at close)."""
    def run(h, data):
        _head(h, 200, {"Content-Length": str(len(content))} if length else {})
        h.wfile.write(content)
    return run


def stall() -> Behaviour:
    """Send the headers of the file, then nothing until the server stops."""
    def run(h, data):
        _head(h, 200, {"Content-Length": str(len(data or b"x" * 100))})
        h.server_state.stop.wait(120)
    return run


def drip(interval: float) -> Behaviour:
    """Send the headers, then one byte every `interval` seconds."""
    def run(h, data):
        data = data or b"x" * 100
        _head(h, 200, {"Content-Length": str(len(data))})
        for i in range(len(data)):
            if h.server_state.stop.wait(interval):
                return
            try:
                h.wfile.write(data[i:i + 1])
                h.wfile.flush()
            except OSError:
                return
    return run


def reset_after(n: int) -> Behaviour:
    """Send the headers and `n` bytes of the file, then reset the connection (RST)."""
    def run(h, data):
        _head(h, 200, {"Content-Length": str(len(data))})
        h.wfile.write(data[:n])
        h.wfile.flush()
        h.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        h.connection.close()
    return run


def truncated(n: int) -> Behaviour:
    """Announce the whole file, send `n` bytes, close cleanly."""
    def run(h, data):
        _head(h, 200, {"Content-Length": str(len(data))})
        h.wfile.write(data[:n])
        h.wfile.flush()
        h.connection.shutdown(socket.SHUT_RDWR)
    return run


def redirect(to: str) -> Behaviour:
    """302 to another path (itself, for a loop)."""
    return status(302, Location=to)


HTML_PAGE = b"<!DOCTYPE html><html><head><title>Service unavailable</title></head><body>Try later</body></html>"

# --------------------------------------------------------------------------------------- altered files


def mirror_with(tmp: Path, files: dict[str, bytes | Path]) -> Path:
    """A mirror folder holding `files` ("<dataset>/<release>/<name>" -> bytes or a real file to copy)."""
    root = tmp / "mirror"
    for rel, content in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(content.read_bytes() if isinstance(content, Path) else content)
    return root


def zip_of(members: dict[str, bytes], compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    """A zip archive holding `members` (name -> bytes)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression) as z:
        for name, data in members.items():
            z.writestr(name, data)
    return buf.getvalue()


def write_at_url(root: Path, url: str, data: bytes) -> Path:
    """Put `data` where `url`'s path points under `root` (a site a test serves)."""
    target = root / urlsplit(url).path.lstrip("/")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)
    return target


def zip_with_link(name: str, target: str) -> bytes:
    """A zip whose member `name` is a symbolic link to `target` (as `zip --symlinks` stores it)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        info = zipfile.ZipInfo(name)
        info.external_attr = (0o120777 << 16)
        info.create_system = 3
        z.writestr(info, target)
    return buf.getvalue()


def zip_bomb(name: str, size: int, declare: int | None = None) -> bytes:
    """A zip whose one member `name` inflates to `size` zero bytes from about size/1000 compressed bytes,
    built without ever holding the inflated bytes: one fully flushed deflate block of 1 MiB of zeros,
    repeated. `declare` is the size written in the headers (default: the true size)."""
    mib = 1 << 20
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = c.compress(b"\0" * mib) + c.flush(zlib.Z_FULL_FLUSH)
    tail = zlib.compressobj(9, zlib.DEFLATED, -15)
    last = tail.compress(b"\0" * (size % mib)) + tail.flush(zlib.Z_FINISH)
    data = block * (size // mib) + last
    crc, zero = 0, b"\0" * mib
    for _ in range(size // mib):
        crc = zlib.crc32(zero, crc)
    crc = zlib.crc32(b"\0" * (size % mib), crc)
    declared = size if declare is None else declare
    fn = name.encode()
    local = struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, 8, 0, 0, crc, len(data), declared, len(fn), 0) + fn
    central = struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, 8, 0, 0, crc, len(data), declared,
                          len(fn), 0, 0, 0, 0, 0, 0) + fn
    end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, 1, 1, len(central), len(local) + len(data), 0)
    return local + data + central + end


def corrupt_deflate(archive: bytes) -> bytes:
    """The zip with bytes in the middle of its first member's compressed data overwritten."""
    z = zipfile.ZipFile(io.BytesIO(archive))
    info = z.infolist()[0]
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    mid = start + info.compress_size // 2
    out = bytearray(archive)
    out[mid:mid + 64] = b"\xff" * 64
    return bytes(out)


# ------------------------------------------------------------------------------------- refresh driver


def plain_refresh(root: str = "data", mirror: str | None = None, datasets: list[str] | None = None,
                  releases: list[str] | None = None, timeout: float | None = None, retries: int | None = None,
                  notify: Callable[[str], None] | None = None, trigger: str = "cli",
                  link_dirs: list[Path] | None = None) -> dict:
    """The refresh flow's steps without Prefect (same order, same lock, same ledger, same summary keys);
    no curated link files unless `link_dirs` says where."""
    from codeetl.sources import catalog as catalog_module
    from codeetl.build import ledger
    from codeetl.build import pipeline
    from codeetl.sources.fetch import Transport

    if notify is None and "codeetl.ops.flow" in sys.modules:  # the CLI's stage lines, as with the flow
        notify = sys.modules["codeetl.ops.flow"]._REPORTING.get()[1]
    say = notify or (lambda m: None)
    catalog = catalog_module.load_catalog()
    selected = pipeline.select_releases(catalog, datasets, releases)
    loaded, skipped = [], []
    with pipeline.refresh_lock(root, reentrant=True) as notes, ledger.recording(root, datasets, trigger) as run:
        for n in notes:
            say(n)
        transport = Transport(timeout=timeout, retries=retries, notify=say)
        clock = pipeline.Stopwatch()
        for r in selected:
            fetched = pipeline.fetch_step(r, Path(root), mirror, transport)
            if not fetched.downloads:
                skipped.append(f"{r.dataset}/{r.release}: not in the mirror")
                continue
            parsed = pipeline.parse_release_cached(r, fetched, Path(root) / "raw")
            loaded.append(f"{r.dataset}/{r.release} ({'reused parse' if parsed.reused else 'parsed'})")
        if not loaded:
            raise RuntimeError(f"nothing was fetched: no release of the selected datasets was found in the mirror {mirror}")
        clock.lap("fetch_parse")
        outcome = pipeline.build_step(root, catalog, link_dirs=link_dirs, notify=say)
        clock.lap("build")
        pipeline.publish_step(outcome, Path(root) / "warehouse")
        clock.lap("publish")
        summary = pipeline.refresh_summary(outcome, loaded, skipped, notes)
        summary["run_id"], summary["seconds"] = run.row["run_id"], clock.laps
        run.outcome = pipeline.ledger_outcome(summary)
    return summary


def run_cli(args: list[str], monkeypatch=None):
    """``codeetl <args>`` in this process (typer's CliRunner), the refresh flow replaced by
    :func:`plain_refresh`; returns the typer Result (exit_code, stdout, stderr)."""
    import signal

    from typer.testing import CliRunner

    from codeetl.cli import app

    if args and args[0] == "refresh":
        import codeetl.ops.flow as flow_module
        from codeetl.ops import orchestrator

        monkeypatch.setattr(flow_module, "refresh", plain_refresh)
        monkeypatch.setattr(orchestrator, "start_api", lambda notify=None: None)  # no Prefect server needed
    previous = signal.getsignal(signal.SIGTERM)
    try:
        return CliRunner().invoke(app, args, env={"CODEETL_REFRESH_WORKER": "1"})  # no worker process
    finally:
        signal.signal(signal.SIGTERM, previous)


# ------------------------------------------------------------------------------------------ snapshots


LEDGER = "warehouse/refresh_runs.parquet"
"""The run ledger: a failed refresh records itself there, so snapshots leave it out."""


def snapshot(root: Path, under: str = "") -> dict[str, str]:
    """Every file, folder and link under root/under: relative path -> sha256, "dir" or "-> target" (but the
    run ledger, which every refresh that took the lock appends to, failed ones included)."""
    out: dict[str, str] = {}
    base = Path(root) / under
    if not base.exists():
        return out
    for p in sorted(base.rglob("*")):
        rel = str(p.relative_to(root))
        if rel == LEDGER:
            continue
        if p.is_symlink():
            out[rel] = "-> " + os.readlink(p)
        elif p.is_dir():
            out[rel] = "dir"
        else:
            out[rel] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


def leftovers(root: Path) -> list[str]:
    """What a finished refresh must not leave: staging folders, .part files, incomplete builds, temporary
    links, the lock file."""
    root = Path(root)
    bad = []
    for p in root.rglob("*"):
        rel = str(p.relative_to(root))
        if p.name == ".incoming" or p.name.endswith(".part") or p.name.startswith(".current."):
            bad.append(rel)
        elif p.parent.name == "builds" and p.is_dir() and not (p / "COMPLETE").exists():
            bad.append(rel + " (incomplete build)")
    if (root / ".refresh.lock").exists():
        bad.append(".refresh.lock")
    return sorted(bad)


def query(root: Path, sql: str):
    """Run `sql` on the published warehouse of `root`, read-only; returns the rows."""
    import duckdb

    con = duckdb.connect(str(Path(root) / "warehouse" / "codeetl.duckdb"), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def raise_caps(limit: int) -> None:
    """Set every catalog size ceiling (members and downloads) to `limit`, in this process."""
    import dataclasses

    from codeetl.sources import catalog

    original = catalog.load_catalog

    def load(folder=None):
        out = {}
        for name, ds in original(folder).items():
            releases = tuple(dataclasses.replace(r, files=tuple(
                dataclasses.replace(f, max_bytes=limit, members=tuple(dataclasses.replace(m, max_bytes=limit) for m in f.members))
                for f in r.files)) for r in ds.releases)
            out[name] = dataclasses.replace(ds, releases=releases)
        return out

    catalog.load_catalog = load


def peak_rss_mb() -> float:
    """This process's peak resident memory, MB: VmHWM of /proc/self/status (its own, since exec), else
    ru_maxrss (which on Linux keeps the peak of the forking parent across exec: a large test process
    would be counted)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main(argv: list[str]) -> int:
    """``faultkit.py ROOT MIRROR [--timeout S] DATASET...``: plain_refresh in this process; prints one JSON
    line (ok, error, maxrss_mb, seconds) and exits 0 or 1."""
    root, mirror, rest = argv[0], argv[1], argv[2:]
    timeout = None
    if rest[:1] == ["--timeout"]:
        timeout, rest = float(rest[1]), rest[2:]
    if rest[:1] == ["--cap"]:
        raise_caps(int(rest[1]))
        rest = rest[2:]
    start = time.monotonic()
    result = {"ok": True, "error": None}
    try:
        plain_refresh(root, mirror, rest or None, timeout=timeout, retries=1)
    except Exception as e:  # noqa: BLE001 - reported, not raised: the test reads it
        result = {"ok": False, "error": f"{e.__class__.__name__}: {e}"}
    result["maxrss_mb"] = peak_rss_mb()
    result["seconds"] = round(time.monotonic() - start, 2)
    print(json.dumps(result))
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.path.insert(0, str(HERE.parent))
    sys.exit(main(sys.argv[1:]))
