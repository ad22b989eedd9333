"""Shared fixtures: the real mirror, a loopback HTTP server, and a warehouse built once per session."""

from __future__ import annotations

import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from _shared import CMS
from homeguard import pytest_sessionfinish  # noqa: F401  (HOME, PREFECT_HOME: temporary for the session)


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
    with LoopbackServer(CMS) as s:
        yield s


@pytest.fixture(scope="session")
def built(tmp_path_factory, cms_server):
    """A warehouse refreshed from the HTTP mirror without Prefect (pipeline functions), once per session.

    Development shortcut: ``CODEETL_TEST_WAREHOUSE=<data dir>`` uses an already built data folder instead (CI
    never sets it)."""
    import os

    if os.environ.get("CODEETL_TEST_WAREHOUSE"):
        return Path(os.environ["CODEETL_TEST_WAREHOUSE"])
    from codeetl.build import pipeline
    from codeetl.sources.catalog import load_catalog
    from codeetl.build.links import default_link_dirs

    root = tmp_path_factory.mktemp("data")
    catalog = load_catalog()
    for r in pipeline.select_releases(catalog):
        fetched = pipeline.fetch_step(r, root, cms_server.url)
        if fetched.downloads:
            pipeline.parse_release_cached(r, fetched, root / "raw")
    result = pipeline.build_warehouse(pipeline.latest_parses(root / "raw", catalog), catalog, root / "warehouse",
                                      link_dirs=default_link_dirs(root))
    pipeline.publish(result, root / "warehouse")
    return root
