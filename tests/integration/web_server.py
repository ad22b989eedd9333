"""A real `codeetl web` process over the session's warehouse (fixture ``web``), and a little HTTP client.

The server is started as a user starts it (``python -m codeetl web --data-dir ... --port ...``: the same
entry point as ``python3 run.py web``), on a free loopback port, and stopped (SIGTERM, then SIGKILL) after
the module's tests. Import the fixture into a test module: ``from web_server import web  # noqa: F401``.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

from _shared import REPO

ARTIFACTS = REPO / "test-artifacts" / "web"  # screenshots of the browser tests (gitignored)


@dataclass
class Web:
    """The running server: its base URL and data folder."""

    url: str
    data_dir: Path
    process: subprocess.Popen

    def get(self, path: str, accept: str | None = None) -> tuple[int, dict, bytes]:
        """GET `path`: (status, headers, body) — errors included, never raised."""
        req = urllib.request.Request(self.url + path, headers={"Accept": accept} if accept else {})
        try:
            with urllib.request.urlopen(req, timeout=60) as r:
                return r.status, dict(r.headers), r.read()
        except urllib.error.HTTPError as e:
            return e.code, dict(e.headers), e.read()

    def json(self, path: str) -> tuple[int, object]:
        """GET `path` and parse its JSON body."""
        status, _, body = self.get(path)
        return status, json.loads(body)


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_web(data_dir: Path, log: Path) -> Web:
    """Start `codeetl web` over `data_dir` on a free port, its output to `log`; the server once it answers."""
    port = free_port()
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    with open(log, "wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "codeetl", "web", "--data-dir", str(data_dir), "--port", str(port)],
                                cwd=REPO, stdout=out, stderr=subprocess.STDOUT, env=env)
    server = Web(f"http://127.0.0.1:{port}", Path(data_dir), proc)
    deadline = time.monotonic() + 120
    while True:
        try:
            if server.get("/releases")[0] == 200:
                return server
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"codeetl web did not start: {log.read_text(errors='replace')[-2000:]}")
        time.sleep(0.3)


def stop_web(server: Web, log: Path) -> None:
    """SIGTERM (then SIGKILL after 20 s); the log must hold no traceback."""
    server.process.send_signal(signal.SIGTERM)
    try:
        server.process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait()
    assert b"Traceback" not in log.read_bytes(), log.read_text(errors="replace")[-3000:]


@pytest.fixture(scope="module")
def web(built, tmp_path_factory):
    """`codeetl web` serving the session's warehouse; its output goes to a log shown on failure to start."""
    log = tmp_path_factory.mktemp("web") / "web.log"
    server = start_web(built, log)
    yield server
    stop_web(server, log)
