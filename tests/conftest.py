"""Shared fixtures: the real mirror, a loopback HTTP server, a Prefect API server, and a warehouse built once per
session by the real ``codeetl refresh``.

Prefect keeps its database and settings under a temporary ``PREFECT_HOME`` of this session (tests/homeguard.py), never the user's
~/.prefect, and no test talks to a Prefect server the user configured (PREFECT_API_URL is dropped): set here,
at import, before any test imports Prefect.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from _shared import CMS, MIRROR_MISSING, _mirror_present
import homeguard  # HOME and PREFECT_HOME temporary for the session, PREFECT_API_URL dropped: at import

for _name in ("PREFECT_API_KEY", "PREFECT_PROFILE", "PREFECT_PROFILES_PATH"):
    os.environ.pop(_name, None)


def pytest_sessionfinish(session, exitstatus):
    """Stop the session's Prefect server (if a test started it), then fail the session if it wrote into the
    user's Prefect home, and remove the session's HOME (homeguard)."""
    import faultkit

    faultkit.stop_prefect_api()
    homeguard.pytest_sessionfinish(session, exitstatus)


def needs_mirror() -> None:
    """Skip the calling test or fixture when the real files are not beside the repository (the reason of
    _shared.needs_mirror)."""
    if not _mirror_present():
        pytest.skip(MIRROR_MISSING)


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args):  # keep pytest output clean
        pass


class LoopbackServer:
    """A real HTTP server on 127.0.0.1 serving a directory, with hooks to script failures."""

    def __init__(self, directory: Path):
        self.directory = directory
        self.requests: list[tuple[str, dict]] = []
        self.fail_next: list[int] = []  # status codes to answer before serving normally
        self.headers: dict[str, str] = {}
        outer = self

        class Handler(QuietHandler):
            def send_head(self):
                outer.requests.append((self.path, dict(self.headers)))
                if outer.fail_next:
                    code = outer.fail_next.pop(0)
                    self.send_response(code)
                    self.send_header("Content-Length", "0")
                    if code == 429:
                        self.send_header("Retry-After", "0")
                    self.end_headers()
                    return None
                return super().send_head()

            def end_headers(self):
                for k, v in outer.headers.items():
                    self.send_header(k, v)
                super().end_headers()

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), partial(Handler, directory=str(directory)))
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def serve():
    """serve(directory) -> a running LoopbackServer; stopped after the test."""
    servers = []

    def start(directory: Path) -> LoopbackServer:
        s = LoopbackServer(directory).__enter__()
        servers.append(s)
        return s

    yield start
    for s in servers:
        s.__exit__()


@pytest.fixture(scope="session")
def cms_server():
    """The real mirror ../shared/cms over HTTP on loopback, for the whole session."""
    needs_mirror()
    with LoopbackServer(CMS) as s:
        yield s


@pytest.fixture(scope="session")
def prefect_api():
    """The session's Prefect API server (:func:`faultkit.prefect_api`), set as this process's PREFECT_API_URL for
    the tests that run the flow in-process."""
    import faultkit
    from codeetl.ops.orchestrator import configure_prefect_env

    configure_prefect_env()
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with temporary_settings({PREFECT_API_URL: faultkit.prefect_api()}):
        yield faultkit.prefect_api()


@pytest.fixture(scope="session")
def built(tmp_path_factory, cms_server):
    """A data folder refreshed from the whole mirror (served over loopback HTTP) by the real
    ``codeetl refresh --json`` (supervisor, worker, Prefect flow), once per session; its summary is kept
    beside it as ``refresh-summary.json``.

    Development shortcut: ``CODEETL_TEST_WAREHOUSE=<data dir>`` uses an already built data folder instead (CI
    never sets it)."""
    if os.environ.get("CODEETL_TEST_WAREHOUSE"):
        return Path(os.environ["CODEETL_TEST_WAREHOUSE"])
    import faultkit

    needs_mirror()
    root = tmp_path_factory.mktemp("data")
    r = faultkit.run_command(["refresh", "--mirror", cms_server.url, "--data-dir", str(root), "--json"])
    assert r.exit_code == 0, r.stderr[-3000:]
    (root / "refresh-summary.json").write_text(r.stdout)
    assert json.loads(r.stdout)["ok"] is True
    return root
