"""Which page function answers which URL, with the URL's parameters checked as the CLI checks its
arguments (length, printable, dates as YYYY-MM-DD). Shared by the HTML pages and the JSON API, so both show
the same page for the same URL."""

from __future__ import annotations

from fastapi import Request

from codeetl.web.app import BadRequest, arg, day_arg


def code_of(snapshot, value: str, query) -> dict:
    """``codeetl code VALUE [--as-of] [--release] --json``."""
    from codeetl.pages.code import code_page

    release, as_of = arg(query.get("release"), "release"), day_arg(query.get("as_of"))
    if release and as_of:
        raise BadRequest("release and as_of cannot be used together: release fixes the date (the release's first day)")
    return code_page(snapshot.connection(), arg(value, "code"), as_of=as_of, release=release)


def drg_of(snapshot, value: str, query) -> dict:
    """``codeetl drg VALUE [--as-of] --json``."""
    from codeetl.pages.drg import drg_page

    return drg_page(snapshot.connection(), arg(value, "MS-DRG"), as_of=day_arg(query.get("as_of")))


def cpt_of(snapshot, value: str, query) -> dict:
    """``codeetl cpt VALUE [--locality] [--as-of] --json``."""
    from codeetl.pages.cpt import cpt_page

    return cpt_page(snapshot.connection(), arg(value, "code"), as_of=day_arg(query.get("as_of")),
                    locality=arg(query.get("locality"), "locality"))


def icd9_of(snapshot, value: str, query) -> dict:
    """``codeetl icd9 VALUE [--as-of] --json``."""
    from codeetl.pages.icd9 import icd9_page

    return icd9_page(snapshot.connection(), arg(value, "ICD-9-CM code"), as_of=day_arg(query.get("as_of")))


PAGES = {"code": code_of, "drg": drg_of, "cpt": cpt_of, "icd9": icd9_of}


def search_of(snapshot, q: str, as_of: str | None, release: str | None, limit: int, marks: bool = False) -> dict:
    """The search page of `q` (see :mod:`codeetl.pages.search`)."""
    from codeetl.pages.search import search_page

    release, day = arg(release, "release"), day_arg(as_of)
    if release and day:
        raise BadRequest("release and as_of cannot be used together: release fixes the date (the release's first day)")
    return search_page(snapshot.connection(), q, as_of=day, release=release, limit=limit, marks=marks)


def status_of_warehouse(request: Request, as_of: str | None, datasets: list[str]) -> dict:
    """``codeetl status [--as-of] [--dataset ...] --json``: unknown datasets refused as the CLI does."""
    from codeetl.ops.status import warehouse_status
    from codeetl.sources.catalog import load_catalog

    known = list(load_catalog())
    for name in datasets:
        if name not in known:
            raise BadRequest(f"unknown dataset {arg(name[:40], 'dataset')!r}; known: {', '.join(sorted(known))}")
    return warehouse_status(request.app.state.warehouse.data_dir, day_arg(as_of), datasets or None)
