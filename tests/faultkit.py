"""Fault injection for the fault-matrix tests (tests/integration/test_faults.py).

* :class:`FaultServer`: a real HTTP server on 127.0.0.1 serving a mirror folder, where any path can be
  scripted to misbehave (status codes, a stalled or dripping body, a reset or truncated transfer, an HTML
  page, a redirect loop, an oversized body).
* Altered copies of the real mirror files, and zip archives built byte by byte (zip bombs, slips, links).
* :func:`run_cli` / :func:`run_command`: the real ``codeetl refresh`` (supervisor, worker, Prefect flow) in a
  process of its own, on one Prefect API server shared by the session (:func:`prefect_api`); a fault inside
  the flow is injected below it (this HTTP server, the mirror's files, the file system, the stage hooks of
  ``codeetl.sources.faulthooks``, the catalog's size ceilings through :data:`FAULT_SITE`), never by
  replacing the flow.
* :func:`snapshot` / :func:`leftovers`: what a data folder holds, to assert that a failed refresh changed
  nothing and left nothing half-written.
"""

from __future__ import annotations

import atexit
import dataclasses
import hashlib
import io
import os
import signal
import socket
import struct
import subprocess
import sys
import tempfile
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


# ------------------------------------------------------------------------------------- the real command


@dataclasses.dataclass
class Result:
    """What a ``codeetl`` process did: its exit status and output (the fields of typer's CliRunner result)."""

    exit_code: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


_PREFECT: dict[str, object] = {}
PREFECT_START_DEADLINE = 600  # seconds: against a hang only (10-100 s on a loaded 2-core machine)


def prefect_api() -> str:
    """The URL of the Prefect API server every refresh of this test process uses, started at the first call:
    ``prefect server start`` without its services and UI (a refresh run from the command line needs neither),
    its database under ``$PREFECT_HOME`` (conftest points it at a temporary folder, never ~/.prefect). One
    server for the session, so a refresh costs its own work, not a temporary server's start; stopped when
    the process ends (:func:`stop_prefect_api`)."""
    if "url" in _PREFECT:
        return str(_PREFECT["url"])
    home = Path(os.environ.get("PREFECT_HOME") or tempfile.mkdtemp(prefix="codeetl-test-prefect-"))
    home.mkdir(parents=True, exist_ok=True)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}/api"
    env = {**os.environ, "PREFECT_HOME": str(home), "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "DO_NOT_TRACK": "1"}
    log = home / "server.log"
    with open(log, "ab") as f:
        proc = subprocess.Popen([sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1", "--port",
                                 str(port), "--no-services", "--no-ui"], env=env, stdout=f, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)
    _PREFECT.update(proc=proc, home=str(home))
    atexit.register(stop_prefect_api)
    end = time.monotonic() + PREFECT_START_DEADLINE
    while not _answers(url):
        if proc.poll() is not None or time.monotonic() > end:
            stop_prefect_api()
            raise RuntimeError(f"the tests' Prefect server did not start: {log.read_text()[-2000:]}")
        time.sleep(0.5)
    _PREFECT["url"] = url
    return url


def _answers(url: str) -> bool:
    import urllib.request

    try:
        with urllib.request.urlopen(f"{url}/health", timeout=5) as r:
            return r.status == 200
    except OSError:
        return False


def stop_prefect_api() -> None:
    """Stop the server :func:`prefect_api` started, if any (SIGTERM to its process group, then SIGKILL)."""
    proc = _PREFECT.pop("proc", None)
    _PREFECT.pop("url", None)
    _PREFECT.pop("home", None)
    if proc is None or proc.poll() is not None:
        return
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


FAULT_SITE = HERE / "faultsite"
"""A folder put first on PYTHONPATH by :func:`command_env` when a test raises the catalog's size ceilings: its
sitecustomize.py applies :func:`raise_caps` in every Python process of the command (supervisor and worker)."""


def command_env(max_bytes: int | None = None, **extra: str) -> dict[str, str]:
    """The environment of a ``codeetl`` process started by a test: this process's, the shared Prefect API
    (:func:`prefect_api`) and its PREFECT_HOME unless one is set, no worker marker, plus `extra`; with
    `max_bytes`, every catalog size ceiling raised to it in that process (:data:`FAULT_SITE`)."""
    url = prefect_api()
    env = {"PREFECT_HOME": str(_PREFECT["home"]), **os.environ, "PREFECT_API_URL": url, **extra}
    env.pop("CODEETL_REFRESH_WORKER", None)
    if max_bytes is not None:
        env["CODEETL_TEST_MAX_BYTES"] = str(max_bytes)
        env["PYTHONPATH"] = os.pathsep.join([str(FAULT_SITE), *filter(None, [env.get("PYTHONPATH")])])
    return env


def codeetl_process(args: list[str], env: dict[str, str] | None = None, **popen) -> subprocess.Popen:
    """``codeetl <args>`` started as a user starts it (``python -m codeetl``, the same program as the
    ``codeetl`` script: a refresh is the supervisor, which runs the flow in a worker process)."""
    return subprocess.Popen([sys.executable, "-m", "codeetl", *args], env=env or command_env(), **popen)


COMMAND_DEADLINE = 900  # seconds: against a hang only


def run_command(args: list[str], env: dict[str, str] | None = None) -> Result:
    """``codeetl <args>`` in a process of its own (:func:`codeetl_process`), waited for; returns its Result."""
    p = codeetl_process(args, env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        stdout, stderr = p.communicate(timeout=COMMAND_DEADLINE)
    except subprocess.TimeoutExpired:
        p.kill()
        stdout, stderr = p.communicate()
        raise AssertionError(f"codeetl {' '.join(args)} did not end within {COMMAND_DEADLINE} s: {stderr[-2000:]}")
    return Result(p.returncode, stdout, stderr)


def run_cli(args: list[str], monkeypatch=None) -> Result:
    """``codeetl <args>``: a refresh as the real command in a process of its own (supervisor, worker, the
    Prefect flow, on the session's Prefect server: :func:`run_command`), any other command in this process
    (typer's CliRunner). Returns exit_code, stdout, stderr and output. `monkeypatch` is not used (a fault in a
    refresh is injected below the flow: the HTTP server, the mirror's files, the file system)."""
    if args and args[0] == "refresh":
        return run_command(args)
    import signal as signals

    from typer.testing import CliRunner

    from codeetl.cli import app

    previous = signals.getsignal(signals.SIGTERM)
    try:
        r = CliRunner().invoke(app, args)
        return Result(r.exit_code, r.stdout, r.stderr)
    finally:
        signals.signal(signals.SIGTERM, previous)


def run_measured(args: list[str], env: dict[str, str] | None = None) -> tuple[Result, float]:
    """:func:`run_command` under a small parent process that reports the peak resident memory of its
    descendants (the supervisor and the worker, waited for: ``RUSAGE_CHILDREN``); returns (Result, MB)."""
    with tempfile.NamedTemporaryFile("r", suffix=".peak") as peak:
        code = ("import resource, subprocess, sys; rc = subprocess.call(sys.argv[2:]); "
                "open(sys.argv[1], 'w').write(str(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)); sys.exit(rc)")
        p = subprocess.run([sys.executable, "-c", code, peak.name, sys.executable, "-m", "codeetl", *args],
                           env=env or command_env(), capture_output=True, text=True, timeout=COMMAND_DEADLINE)
        return Result(p.returncode, p.stdout, p.stderr), int(Path(peak.name).read_text()) / 1024


def lock_holder(root: Path) -> int:
    """The pid in a data folder's refresh lock file ("pid N, started ..."): the worker doing the refresh."""
    import re

    return int(re.match(r"pid (\d+)", (Path(root) / ".refresh.lock").read_text()).group(1))


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


def temporary_files(root: Path) -> list[Path]:
    """Temporary files a download or an extraction must not leave under `root` (a release's raw folder, not a data
    folder: see :func:`leftovers`): hidden files (spooled inner zips) and .part files."""
    return [p for p in Path(root).rglob("*") if p.is_file() and (p.name.startswith(".") or p.suffix == ".part")]


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
