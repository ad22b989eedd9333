"""The HTML pages: home, code pages (with browsing), DRG, CPT, ICD-9, diff, releases, status, search."""

from __future__ import annotations

from fastapi import FastAPI, Query, Request
from fastapi.responses import RedirectResponse

from codeetl.web.app import answer, arg, day_arg, html_answer
from codeetl.web.pages_of import PAGES, search_of, status_of_warehouse

DIFF_LIMIT = 50  # items shown per list of a diff page (?limit=0: all)


def register(app: FastAPI) -> None:
    """Add the HTML pages' routes to `app`."""
    for name, make in PAGES.items():
        _page_route(app, name, make)

    @app.get("/")
    def home(request: Request):
        """Search, browse, the releases in effect today."""
        from codeetl.pages.browse import chapters_page

        return answer(request, lambda s: chapters_page(s.connection()), lambda p: html_answer(request, "home.html", page=p))

    @app.get("/browse")
    def browse(request: Request, as_of: str | None = None, release: str | None = None):
        """The chapters of the ICD-10-CM release of a day."""
        from codeetl.pages.browse import chapters_page

        return answer(request, lambda s: chapters_page(s.connection(), day_arg(as_of), arg(release, "release")),
                      lambda p: html_answer(request, "browse.html", page=p, query=_query(request)))

    @app.get("/browse/chapter/{number}")
    def chapter(request: Request, number: str, as_of: str | None = None, release: str | None = None):
        """One chapter and its sections."""
        from codeetl.pages.browse import chapter_page

        return answer(request, lambda s: chapter_page(s.connection(), arg(number, "chapter"), day_arg(as_of), arg(release, "release")),
                      lambda p: html_answer(request, "browse.html", page=p, query=_query(request)))

    @app.get("/browse/section/{section}")
    def section(request: Request, section: str, as_of: str | None = None, release: str | None = None):
        """One section, its sub-sections and categories."""
        from codeetl.pages.browse import section_page

        return answer(request, lambda s: section_page(s.connection(), arg(section, "section"), day_arg(as_of), arg(release, "release")),
                      lambda p: html_answer(request, "browse.html", page=p, query=_query(request)))

    _more_pages(app)


def _query(request: Request) -> str:
    """The day or release of the page, to carry into its links (``as_of=...`` or ``release=...``)."""
    for key in ("as_of", "release"):
        value = request.query_params.get(key)
        if value:
            from urllib.parse import urlencode

            return urlencode({key: value})
    return ""


def _page_route(app: FastAPI, name: str, make) -> None:
    @app.get(f"/{name}/{{value}}", name=f"page_{name}")
    def page(request: Request, value: str):
        """The page `name` of `value` (``/code/M96.1``, ``/drg/551`` with its trend across versions)."""
        extra = {}
        if name == "drg":
            from codeetl.pages.trend import drg_trend

            extra["trend"] = lambda p: drg_trend(request.app.state.warehouse.snapshot().connection(), p["drg"])
        return answer(request, lambda s: make(s, value, request.query_params),
                      lambda p: html_answer(request, f"{name}.html", page=p, query=_query(request),
                                            **{k: f(p) for k, f in extra.items()}))


def _more_pages(app: FastAPI) -> None:
    @app.get("/diff")
    @app.get("/diff/{new}")
    @app.get("/diff/{old}/{new}")
    def diff(request: Request, old: str | None = None, new: str | None = None, limit: int = DIFF_LIMIT):
        """What changed between two releases."""
        from codeetl.pages.diff import diff_page

        return answer(request, lambda s: diff_page(s.connection(), arg(old, "release"), arg(new, "release")),
                      lambda p: html_answer(request, "diff.html", page=p, limit=max(0, limit)))

    @app.get("/releases")
    def releases(request: Request, as_of: str | None = None):
        """The releases loaded, with provenance."""
        from codeetl.pages.releases import releases_page

        return answer(request, lambda s: releases_page(s.connection(), day_arg(as_of)),
                      lambda p: html_answer(request, "releases.html", page=p))

    @app.get("/status")
    def status(request: Request, as_of: str | None = None, dataset: list[str] = Query(default=[])):
        """Is the warehouse current."""
        return answer(request, lambda s: status_of_warehouse(request, as_of, dataset),
                      lambda p: html_answer(request, "status.html", page=p))

    @app.get("/search")
    def search(request: Request, q: str = "", as_of: str | None = None, release: str | None = None, limit: int = 25):
        """Search; a query that is exactly one code goes straight to its page."""
        def show(p):
            """The results, or the page of the code searched for."""
            exact = [r for r in p["results"] if r["match"] == "code"]
            if exact:
                return RedirectResponse(f"/code/{exact[0]['code']}" + (f"?{_query(request)}" if _query(request) else ""), 303)
            return html_answer(request, "search.html", page=p, q=p["query"], query=_query(request))

        return answer(request, lambda s: search_of(s, q, as_of, release, limit, marks=True), show)
