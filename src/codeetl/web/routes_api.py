"""The JSON API (``/api/...``: exactly what ``codeetl <page> --json`` prints) and the FHIR operations."""

from __future__ import annotations

from fastapi import FastAPI, Query, Request
from fastapi.responses import JSONResponse

from codeetl.web import fhir
from codeetl.web.app import BadRequest, answer, arg, day_arg, json_answer
from codeetl.web.pages_of import PAGES, search_of, status_of_warehouse

FHIR_BASE = "/fhir"


def register(app: FastAPI) -> None:
    """Add the API's routes to `app`."""
    for name, make in PAGES.items():
        _page_route(app, name, make)

    @app.get("/api/diff")
    @app.get("/api/diff/{new}")
    @app.get("/api/diff/{old}/{new}")
    def api_diff(request: Request, old: str | None = None, new: str | None = None):
        """What changed between two releases (``codeetl diff OLD NEW --json``)."""
        from codeetl.pages.diff import diff_page

        return answer(request, lambda s: diff_page(s.connection(), arg(old, "release"), arg(new, "release")), json_answer)

    @app.get("/api/releases")
    def api_releases(request: Request, as_of: str | None = None):
        """The releases loaded, with provenance (``codeetl releases --json``)."""
        from codeetl.pages.releases import releases_page

        return answer(request, lambda s: releases_page(s.connection(), day_arg(as_of)), json_answer)

    @app.get("/api/status")
    def api_status(request: Request, as_of: str | None = None, dataset: list[str] = Query(default=[])):
        """Is the warehouse current (``codeetl status --json``)."""
        return answer(request, lambda s: status_of_warehouse(request, as_of, dataset),
                      lambda p: json_answer(p, status=True))

    @app.get("/api/search")
    def api_search(request: Request, q: str = "", as_of: str | None = None, release: str | None = None, limit: int = 20):
        """Search codes, titles, inclusion terms and notes of the ICD-10-CM release of a day."""
        return answer(request, lambda s: search_of(s, q, as_of, release, limit), json_answer)

    _fhir_routes(app)


def _page_route(app: FastAPI, name: str, make) -> None:
    @app.get(f"/api/{name}/{{value}}", name=f"api_{name}")
    def page(request: Request, value: str):
        """What ``codeetl <name> VALUE --json`` prints."""
        return answer(request, lambda s: make(s, value, request.query_params), json_answer)


def _fhir_routes(app: FastAPI) -> None:
    def fhir_json(resource: dict) -> JSONResponse:
        return JSONResponse(resource, media_type=fhir.MEDIA_TYPE)

    @app.get(FHIR_BASE + "/CodeSystem/$lookup")
    def lookup(request: Request, system: str | None = None, code: str | None = None, version: str | None = None,
               date: str | None = None):
        """FHIR R4 ``CodeSystem/$lookup`` for ICD-10-CM (``date``: the release in effect that day)."""
        return answer(request, lambda s: fhir.lookup(s.connection(), system, arg(code, "code"), arg(version, "version"),
                                                     arg(date, "date")), fhir_json)

    @app.get(FHIR_BASE + "/CodeSystem/$validate-code")
    def validate_code(request: Request, url: str | None = None, system: str | None = None, code: str | None = None,
                      version: str | None = None, date: str | None = None, display: str | None = None):
        """FHIR R4 ``CodeSystem/$validate-code`` for ICD-10-CM: is the code billable on ``date``."""
        return answer(request, lambda s: fhir.validate_code(s, url or system, arg(code, "code"), arg(version, "version"),
                                                            arg(date, "date"), arg(display, "display", 300)), fhir_json)

    @app.get(FHIR_BASE + "/metadata")
    def metadata(request: Request):
        """The server's CapabilityStatement: the two operations on CodeSystem."""
        return fhir_json(fhir.capability_statement(str(request.base_url).rstrip("/") + FHIR_BASE))


__all__ = ["register", "BadRequest"]
