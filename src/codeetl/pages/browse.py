"""Browsing the ICD-10-CM classification (``/browse``): its chapters, a chapter's sections, a section's
categories, in the release of a day (each category then has its code page, with its children).

JSON keys: ``day``, ``release`` {dataset, release, label, effective_from, effective_to, in_effect}, ``note`` (why a
release loaded from a code file only has no chapters), and ``chapters`` [{number, title, first_code,
last_code}] or ``chapter`` {...} with ``sections`` [{id, title, first_code, last_code}] or ``section``
{...} with ``categories`` [{code, description, is_billable}]; ``sources`` (the release's downloads, as on
every page).
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import duckdb

from codeetl.errors import CodeEtlError
from codeetl.pages.common import CodeNotFound, MalformedCode, rows, sources
from codeetl.pages.resolver import pick_release

NO_TABULAR = "this release was loaded from the code file only: it has no chapters or sections"


def release_for(con: duckdb.DuckDBPyConnection, as_of: dt.date | None, release: str | None) -> dict:
    """The ICD-10-CM release named `release`, else the one of `as_of` (default today), as the pages show it."""
    if release:
        found = rows(con, "SELECT effective_from FROM release_calendar WHERE dataset = 'icd10cm' AND release = ?", [release])
        if not found:
            raise CodeEtlError(f"the warehouse has no ICD-10-CM release {release!r}")
        return pick_release(con, "icd10cm", found[0]["effective_from"])
    return pick_release(con, "icd10cm", as_of)


def _day(rel: dict, as_of: dt.date | None, release: str | None) -> str:
    """The day the page is for: the named release's first day, else `as_of` or today."""
    return rel["effective_from"] if release else (as_of or dt.date.today()).isoformat()


def chapters_page(con: duckdb.DuckDBPyConnection, as_of: dt.date | None = None, release: str | None = None) -> dict[str, Any]:
    """The chapters of the release (see the module's doc)."""
    rel = release_for(con, as_of, release)
    found = rows(con, "SELECT chapter AS number, title, first_code, last_code FROM icd10cm_chapters WHERE release = ? "
                      "ORDER BY chapter", [rel["release"]])
    return {"release": rel, "note": None if found else NO_TABULAR, "chapters": found, "day": _day(rel, as_of, release),
            "sources": sources(con, [("icd10cm", rel["release"])])}


def chapter_page(con: duckdb.DuckDBPyConnection, number: str, as_of: dt.date | None = None, release: str | None = None) -> dict[str, Any]:
    """One chapter of the release and its top-level sections."""
    if not re.fullmatch(r"\d{1,2}", number.strip()):
        raise MalformedCode(f"{number!r} is not an ICD-10-CM chapter number: expected 1 to 22")
    rel = release_for(con, as_of, release)
    ch = rows(con, "SELECT chapter AS number, title, first_code, last_code FROM icd10cm_chapters WHERE release = ? AND chapter = ?",
              [rel["release"], int(number)])
    if not ch:
        raise CodeNotFound(f"release {rel['release']} has no chapter {number.strip()}"
                           + (f" ({NO_TABULAR})" if not chapters_page(con, release=rel["release"])["chapters"] else ""), [])
    sections = rows(con, "SELECT section AS id, title, first_code, last_code FROM icd10cm_sections WHERE release = ? "
                         "AND chapter = ? AND parent_section IS NULL ORDER BY first_code, section", [rel["release"], int(number)])
    return {"release": rel, "note": None, "chapter": ch[0], "sections": sections, "day": _day(rel, as_of, release),
            "sources": sources(con, [("icd10cm", rel["release"])])}


def section_page(con: duckdb.DuckDBPyConnection, section: str, as_of: dt.date | None = None, release: str | None = None) -> dict[str, Any]:
    """One section of the release: its sub-sections and its categories (three-character codes)."""
    sid = section.strip().upper()
    if not re.fullmatch(r"[A-Z][0-9][0-9A-Z](-[A-Z][0-9][0-9A-Z])?", sid):
        raise MalformedCode(f"{section!r} is not an ICD-10-CM section: expected a range such as M91-M94")
    rel = release_for(con, as_of, release)
    sec = rows(con, "SELECT section AS id, title, first_code, last_code, chapter, parent_section FROM icd10cm_sections "
                    "WHERE release = ? AND section = ?", [rel["release"], sid])
    if not sec:
        raise CodeNotFound(f"release {rel['release']} has no section {sid}", [])
    subs = rows(con, "SELECT section AS id, title, first_code, last_code FROM icd10cm_sections WHERE release = ? "
                     "AND parent_section = ? ORDER BY first_code, section", [rel["release"], sid])
    cats = rows(con, "SELECT code, coalesce(description_tabular, description) AS description, is_billable FROM icd10cm_codes "
                     "WHERE release = ? AND section = ? AND depth = 1 ORDER BY seq", [rel["release"], sid])
    return {"release": rel, "note": None, "section": sec[0], "sections": subs, "categories": cats, "day": _day(rel, as_of, release),
            "sources": sources(con, [("icd10cm", rel["release"])])}
