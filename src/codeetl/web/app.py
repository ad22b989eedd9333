"""The web application (FastAPI): HTML pages, the JSON API and the FHIR operations, over one data folder.

Every route takes the page dict from :mod:`codeetl.pages` — the one the CLI prints — and renders it: a
template for ``/code/M96.1``, the CLI's JSON text for ``/api/code/M96.1``. Errors are pages (or JSON, or an
OperationOutcome) with the CLI's one-line messages: 400 for malformed input, 404 for anything not found, 503
without a warehouse; never a traceback. Handlers are plain functions: Starlette runs them in its thread
pool, and DuckDB and SQLite release the GIL while they work. Search too: its work is bounded (well under
a millisecond for most queries, a few for any: :mod:`codeetl.pages.search`), and running it on the event
loop instead saved a quarter of its CPU time but lengthened its tail when the machine was busy (p99 43 ms in
the pool, 57 ms on the loop: medians of five runs each of bench/bench_web.py at load 11-15). At start-up
each process settles (:func:`settle`), so that garbage collection does not pause it for long.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import importlib
import logging
import sys
from pathlib import Path
from typing import Callable

import duckdb
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.staticfiles import StaticFiles

from codeetl.errors import CodeEtlError
from codeetl.web import fhir
from codeetl.web.html import environment
from codeetl.web.jsonout import page_text
from codeetl.web.warehouse import Warehouse

MAX_ARG = 40  # characters, as the CLI: no code, number, date or locality name comes near
THREADS = 6
"""Threads per server process running the handlers (Starlette's default is 40). The work is DuckDB and
SQLite reads of about a millisecond on a 2-core machine: a few threads keep each one's SQLite page cache and
DuckDB cursor warm and contend less for the GIL (measured: bench/bench_web.py)."""
log = logging.getLogger("codeetl.web")
BUILD_HEADER = "X-Codeetl-Build"  # the id of the published build a page was read from


class BadRequest(CodeEtlError):
    """Malformed input in the URL (HTTP 400)."""


def arg(text: str | None, what: str, limit: int = MAX_ARG) -> str | None:
    """A value from the URL, refused (BadRequest) when over-long or not printable, as the CLI refuses it."""
    if text is None or text == "":
        return None
    if len(text) > limit:
        raise BadRequest(f"{what} {text[:20]!r}...: too long ({len(text):,} characters; at most {limit})")
    if not text.isprintable():
        raise BadRequest(f"{what} {text[:20]!r}: not printable text")
    return text


def day_arg(text: str | None, what: str = "as_of") -> dt.date | None:
    """A date from the URL (YYYY-MM-DD), or None; BadRequest otherwise."""
    text = arg(text, what)
    if text is None:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise BadRequest(f"{what} {text!r}: expected a date as YYYY-MM-DD") from None


def status_of(e: Exception) -> int:
    """The HTTP status of an error the pages raise: 400 malformed input, 503 no warehouse, 500 a DuckDB
    failure, 404 anything else not found."""
    name = type(e).__name__
    if isinstance(e, BadRequest) or name == "MalformedCode" or isinstance(e, ValueError):
        return 400
    if name in ("WarehouseError", "NoSearchIndex"):
        return 503
    if isinstance(e, duckdb.Error):
        return 500
    return 404


def message_of(e: Exception, data_dir: Path) -> str:
    """The one-line message of an error, as the CLI words it."""
    if isinstance(e, duckdb.Error):
        return (f"the warehouse at {data_dir} cannot answer this ({e.__class__.__name__}: {str(e).splitlines()[0]}); "
                "it may have been built by an older codeetl: run `codeetl refresh`")
    return str(e)


def create_app(data_dir: Path) -> FastAPI:
    """The application over the published warehouse of `data_dir` (read-only)."""
    app = FastAPI(title="codeetl", summary="Official US medical code sets: pages, search, JSON and FHIR API",
                  docs_url="/api/docs", redoc_url=None, openapi_url="/api/openapi.json", lifespan=_lifespan)
    app.state.warehouse = Warehouse(Path(data_dir))
    app.state.templates = environment()
    app.mount("/static", StaticFiles(directory=Path(__file__).with_name("static")), name="static")
    for module in ("codeetl.web.routes_pages", "codeetl.web.routes_api"):
        importlib.import_module(module).register(app)
    _errors(app)
    return app


@contextlib.asynccontextmanager
async def _lifespan(app: FastAPI):
    """At start-up: the handlers' thread pool sized to :data:`THREADS`; the process settled (:func:`settle`)."""
    import anyio.to_thread

    anyio.to_thread.current_default_thread_limiter().total_tokens = THREADS
    settle(app)
    yield


def settle(app: FastAPI) -> int:
    """Load what the pages use (the page modules, the compiled templates), then set everything in memory
    aside from the garbage collector (``gc.freeze``); returns how many objects that is.

    A full collection walks every object the process holds — some 70,000 once the framework, DuckDB and
    the pages are loaded: 40-220 ms on the busy development machine, during which the process answers
    nothing, about ten times a worker in a run of bench/bench_web.py, among its slowest answers. Frozen, the
    start-up's objects (which live as long as the process) are not walked again: a full collection then
    walks a few thousand, about a millisecond."""
    import gc
    import pkgutil

    import codeetl.pages

    for module in pkgutil.iter_modules(codeetl.pages.__path__):
        importlib.import_module(f"codeetl.pages.{module.name}")
    for name in app.state.templates.list_templates():
        app.state.templates.get_template(name)
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()


def _errors(app: FastAPI) -> None:
    """Unknown URLs and unexpected failures as pages (JSON under /api, OperationOutcome under /fhir)."""

    @app.exception_handler(StarletteHTTPException)
    def http_error(request: Request, e: StarletteHTTPException):
        """No such route (404) or method (405)."""
        return error_response(request, e.status_code, "no such page" if e.status_code == 404 else str(e.detail))

    @app.exception_handler(RequestValidationError)
    def bad_parameter(request: Request, e: RequestValidationError):
        """A query parameter of the wrong type (``limit=many``): 400 with one line."""
        first = e.errors()[0] if e.errors() else {}
        where = ".".join(str(x) for x in first.get("loc", ())[1:]) or "parameter"
        return error_response(request, 400, f"{where}: {first.get('msg', 'invalid value')}")

    @app.exception_handler(Exception)
    def crashed(request: Request, e: Exception):
        """Anything unexpected: logged with its traceback, answered with one line (500)."""
        log.error("%s %s failed", request.method, request.url.path, exc_info=e)
        return error_response(request, 500, f"internal error ({type(e).__name__}); the server's log has the details")


def error_response(request: Request, status: int, message: str, suggestions: list | None = None) -> Response:
    """An error as the route's kind of answer: OperationOutcome (/fhir), JSON (/api), or an HTML page."""
    path = request.url.path
    if path.startswith("/fhir"):
        code = {400: "invalid", 404: "not-found", 503: "transient"}.get(status, "exception")
        return JSONResponse(fhir.outcome(code, message), status, media_type=fhir.MEDIA_TYPE)
    if path.startswith("/api"):
        return JSONResponse({"error": message, "status": status, "suggestions": suggestions or []}, status)
    html = request.app.state.templates.get_template("error.html").render(
        status=status, message=message, suggestions=suggestions or [], q="")
    return HTMLResponse(html, status)


def answer(request: Request, make: Callable, render: Callable[[object], Response]) -> Response:
    """Run ``make(snapshot)`` and ``render(page)``, turning the pages' errors into error answers; the answer
    names the build it comes from (header :data:`BUILD_HEADER`)."""
    wh: Warehouse = request.app.state.warehouse
    try:
        snapshot = wh.snapshot()
        page = make(snapshot)
    except fhir.FhirError as e:
        return JSONResponse(fhir.outcome(e.code, str(e)), e.status, media_type=fhir.MEDIA_TYPE)
    except (CodeEtlError, duckdb.Error, ValueError) as e:
        return error_response(request, status_of(e), message_of(e, wh.data_dir), getattr(e, "suggestions", None))
    response = render(page)
    response.headers[BUILD_HEADER] = snapshot.build_id
    return response


def json_answer(page, status: bool = False) -> Response:
    """The CLI's ``--json`` text of a page."""
    return Response(page_text(page, status), media_type="application/json")


def html_answer(request: Request, template: str, **context) -> Response:
    """A page rendered with its template (the search box filled with ``q`` when there is one)."""
    context.setdefault("q", "")
    return HTMLResponse(request.app.state.templates.get_template(template).render(request=request, **context))


def main_log() -> None:
    """Errors of the application to stderr, one line each with the traceback (not to the client)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    log.addHandler(handler)
    log.setLevel(logging.INFO)
