"""The ICD-9-CM page (``codeetl icd9``) through the GEMs. The ``icd9`` section of the code page is SQL (``cp_icd9``)."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import duckdb

from codeetl import clock
from codeetl.codes import icd9dx_dotted
from codeetl.errors import CodeEtlError
from codeetl.pages.common import CodeNotFound, MalformedCode, page_json, sources
from codeetl.pages.resolver import resolve


_ICD9_RE = re.compile(r"^(?:\d{3}(?:\.?\d{1,2})?|V\d{2}(?:\.?\d{1,2})?|E\d{3}(?:\.?\d)?)$")

def icd9_page(con: duckdb.DuckDBPyConnection, text: str, as_of: dt.date | None = None) -> dict[str, Any]:
    """An ICD-9-CM diagnosis code through the GEMs: its ICD-10-CM targets (forward GEM), grouped into
    combination scenarios and choice lists, and the ICD-10-CM codes that map back to it (backward GEM).

    JSON keys: ``code``, ``release``, ``description`` (the ICD-9-CM v32 title), ``kind`` (code or category),
    ``codes`` (for a category: its codes with their titles), ``icd9_to_icd10`` {entries, combinations
    [{scenario, choice_lists, reads}]}, ``icd10_to_icd9`` {entries}, ``sources``. Each entry has target/source, the five flags and
    ``meaning`` (the flags in words); the GEM release and the ICD-10-CM release of the descriptions are those of
    `as_of` (default today), by the resolver.
    """
    raw = text.strip().upper()
    if not _ICD9_RE.match(raw):
        raise MalformedCode(f"{text!r} is not an ICD-9-CM diagnosis code: expected e.g. 722.83, 250.12, V45.4, E880.9")
    code = icd9dx_dotted(raw.replace(".", ""))
    day = as_of or clock.today()
    rel = resolve(con, "gems", day)["release"]
    try:
        icd_rel = resolve(con, "icd10cm", day)["release"]
    except CodeEtlError:
        icd_rel = None
    entry = ("{'source': g.source, 'target': g.target, 'approximate': g.approximate, 'no_map': g.no_map, "
             "'combination': g.combination, 'scenario': g.scenario, 'choice_list': g.choice_list, "
             "'meaning': gem_meaning(g.no_map, g.combination, g.approximate), '{side}_description': c.description}")
    fwd = _entries(con, f"SELECT {entry.replace('{side}', 'target')} FROM gem_icd9_to_icd10 g LEFT JOIN icd10cm_codes c "
                        "ON c.release = ? AND c.code = g.target WHERE g.release = ? AND g.source = ? ORDER BY g.line_no",
                   [icd_rel, rel, code])
    back = _entries(con, f"SELECT {entry.replace('{side}', 'source')} FROM gem_icd10_to_icd9 g LEFT JOIN icd10cm_codes c "
                         "ON c.release = ? AND c.code = g.source WHERE g.release = ? AND g.target = ? ORDER BY g.line_no",
                    [icd_rel, rel, code])
    title, below = _icd9_title(con, code, day)
    if not fwd and not back and not below:
        raise CodeNotFound(f"{code} is in neither GEM ({rel}) nor the ICD-9-CM code titles: not an ICD-9-CM diagnosis code", [])
    combos = con.execute("SELECT gem_combinations(?::STRUCT(code VARCHAR, scenario SMALLINT, choice_list SMALLINT)[])",
                         [[{"code": e["target"], "scenario": e["scenario"], "choice_list": e["choice_list"]}
                           for e in fwd if e["combination"]]]).fetchone()[0]
    return {
        "code": code, "release": rel, "description": title, "kind": "code" if title else "category",
        "codes": below if not title else [],
        "icd9_to_icd10": {"entries": fwd, "combinations": page_json(combos)},
        "icd10_to_icd9": {"entries": back},
        "sources": sources(con, [("gems", rel)] + ([("icd9cm", r[0]) for r in con.execute(
            "SELECT DISTINCT release FROM release_calendar WHERE dataset = 'icd9cm'").fetchall()])),
    }


def _icd9_title(con, code: str, day: dt.date) -> tuple[str | None, list[dict]]:
    """The ICD-9-CM title of `code` (v32 diagnosis titles, by the resolver), and, when it is not a code but a
    category or subcategory (250, 250.1), the codes below it with their titles. The v32 files list codes
    only: a category's own title is not in them."""
    try:
        rel = resolve(con, "icd9cm", day)["release"]
    except CodeEtlError:
        return None, []
    rows = con.execute("SELECT code, description FROM icd9cm_codes WHERE release = ? AND kind = 'diagnosis' "
                       "AND (code = ? OR code_nodot LIKE ?) ORDER BY code", [rel, code, code.replace(".", "") + "%"]).fetchall()
    title = next((d for c, d in rows if c == code), None)
    return title, [{"code": c, "description": d} for c, d in rows if c != code]


def _entries(con, sql: str, params: list) -> list[dict]:
    """GEM entries as JSON-ready dicts (the SQL builds each entry, words included: ``gem_meaning``)."""
    return [page_json(r[0]) for r in con.execute(sql, params).fetchall()]
