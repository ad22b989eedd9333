"""The code page: everything the warehouse knows about one ICD-10-CM code, as a plain dict.

The page is computed in SQL, once: the table macro ``code_page(icd_release, day, codes)`` in
``sql/pages/20_code_page.sql``, which the parquet export also writes for every code of every release. This
module resolves the releases (:mod:`codeetl.pages.resolver`), reads one row, turns it into JSON-ready values
(decimals as exact strings, dates as ISO) and adds the provenance of the sources used. ``codeetl code M96.1``
renders it with rich; ``--json`` prints it as is. Nothing here is typed in.

JSON keys (stable; documented in the README):

``code``, ``code_nodot``, ``description`` (CMS code-file spelling), ``description_tabular``,
``is_billable``, ``kind`` ("valid code" / "header"),
``release`` {``dataset``, ``release``, ``label``, ``effective_from``, ``effective_to``, ``in_effect``}, ``day``,
``day_covered`` (false when no loaded ICD-10-CM release is in effect on the day: the page is then release's, the
latest before the day, and the code's state on the day is unknown — the one rule, SQL ``day_covered``),
``hierarchy`` (false when the release was not loaded from the Tabular List) and ``hierarchy_note`` (why not),
``chapter`` {``number``, ``title``, ``first_code``, ``last_code``},
``section`` {``id``, ``title``, ``first_code``, ``last_code``},
``category`` {``code``, ``description``}, ``ancestors`` [{``code``, ``description``}] (category first),
``notes`` [{``type``, ``text``, ``referenced_codes``, ``from`` {``kind``, ``code``, ``title``}, ``inherited``}],
``seventh_characters`` [{``char``, ``meaning``, ``defined_at``}],
``siblings`` / ``children`` [{``code``, ``description``, ``is_billable``}],
``category_codes`` {``category``, ``count`` (the category's other billable codes), ``codes`` [code, ...] (all of
them, or the 50 nearest in Tabular order), ``complete``},
``icd9``, ``ms_drg`` (with ``in_effect``), ``procedures`` (with ``pfs_in_effect``), ``history`` (spans with
``valid_from_source``, ``valid_to_source``, ``unknown_days``; ``in_code_set_since``; ``replaced_by``, ``replaces``),
``sources`` [{``dataset``, ``release``, ``url``, ``fetched_from``, ``sha256``, ``fetched_at``, ``files``
[{``role``, ``name``, ``sha256``}]}], ``built_at``.
"""

from __future__ import annotations

import datetime as dt
import difflib
from pathlib import Path
from typing import Any

import duckdb

from codeetl import clock
from codeetl.codes import icd10_dotted, icd10_nodot, looks_like_icd10
from codeetl.errors import CodeEtlError
from codeetl.pages.common import CodeNotFound, MalformedCode, built_at, page_json, rows as _rows, sources
from codeetl.pages.drg import _ipps_used
from codeetl.pages.resolver import resolve
from codeetl.pages.store import stored_page

NOTE_LABELS = {
    "inclusionTerm": "Inclusion terms",
    "includes": "Includes",
    "excludes1": "Excludes1",
    "excludes2": "Excludes2",
    "codeFirst": "Code first",
    "useAdditionalCode": "Use additional code",
    "codeAlso": "Code also",
    "notes": "Notes",
    "sevenChrNote": "7th character note",
}

def history_scope(page: dict) -> str:
    """The one sentence saying what a page's history covers: the history as of the page's ICD-10-CM release
    (the releases up to it, like every section of the page), and where the later releases' history is. The
    CLI and the web page both print it above the history."""
    code, rid = page["code"], page["release"]["release"]
    return (f"History as of ICD-10-CM release {rid}: the loaded releases up to it (for later ones, "
            f"`codeetl code {code} --release <release>`; all of them: table icd10cm_code_history).")


def normalise_code(text: str) -> str:
    """'m961' / 'M96.1' / ' M96.1 ' -> 'M96.1'; MalformedCode when it cannot be an ICD-10-CM code."""
    raw = text.strip()
    if not looks_like_icd10(raw) or raw.count(".") > 1 or (("." in raw) and raw.index(".") != 3):
        raise MalformedCode(
            f"{text!r} is not an ICD-10-CM code: expected a letter, two letters or digits and up to four more, "
            "with or without the dot (M96.1, M961, S72.001A, QA0.0101)"
        )
    return icd10_dotted(raw)


def suggest(con, release: str, code: str, limit: int = 5) -> list[dict]:
    """Close matches for an unknown code: codes it prefixes, else similar spellings."""
    nodot = icd10_nodot(code)
    rows = _rows(con, "SELECT code, description, is_billable FROM icd10cm_codes WHERE release = ? AND code_nodot LIKE ? "
                      "ORDER BY seq LIMIT ?", [release, nodot + "%", limit])
    if rows:
        return rows
    for n in range(len(nodot) - 1, 2, -1):  # the nearest existing ancestor and its children
        parent = icd10_dotted(nodot[:n])
        rows = _rows(con, "SELECT code, description, is_billable FROM icd10cm_codes WHERE release = ? AND (code = ? OR parent = ?) "
                          "ORDER BY seq LIMIT ?", [release, parent, parent, limit])
        if rows:
            return rows
    same_start = [r[0] for r in con.execute("SELECT code_nodot FROM icd10cm_codes WHERE release = ? AND code_nodot LIKE ?",
                                            [release, nodot[:1] + "%"]).fetchall()]
    close = difflib.get_close_matches(nodot, same_start, n=limit, cutoff=0.6)
    if not close:
        return []
    return _rows(con, "SELECT code, description, is_billable FROM icd10cm_codes WHERE release = ? AND code_nodot IN "
                      "(SELECT unnest(?::VARCHAR[])) ORDER BY seq", [release, close])


def code_page_rows(con: duckdb.DuckDBPyConnection, release: str, day: dt.date | None, codes: list[str] | None) -> list[dict]:
    """Rows of the SQL code page (one per code, JSON-ready) of ICD-10-CM release `release` for `day` (None: the
    release's first day), for `codes` (None: every code node of the release)."""
    cur = con.execute("SELECT * FROM code_page(?::VARCHAR, ?::DATE, ?::VARCHAR[])", [release, day, codes])
    cols = [d[0] for d in cur.description]
    return [page_json(dict(zip(cols, r))) for r in cur.fetchall()]


def exported_page_row(con: duckdb.DuckDBPyConnection, release: str, day: dt.date | None, code: str) -> dict | None:
    """The code page of `code` read from the warehouse's ``code_page`` parquet export of `release`, when the
    page for `day` is the exported one (SQL ``page_is_exported``: same releases, nothing else dated), with
    its ``day`` set; None when it is not, or when the build has no export file (then compute it in SQL). The
    row comes from the build's page store (:mod:`codeetl.pages.store`) when it has one."""
    if not con.execute("SELECT page_is_exported(?::VARCHAR, ?::DATE)", [release, day]).fetchone()[0]:
        return None
    stored = stored_page(con, release, code)  # the same row from the build's page store, in a millisecond
    if stored is not False:
        if stored is not None:
            stored["day"] = con.execute("SELECT page_day(?::VARCHAR, ?::DATE)", [release, day]).fetchone()[0].isoformat()
        return stored
    db = con.execute("SELECT path FROM duckdb_databases() WHERE database_name = current_database()").fetchone()[0]
    path = Path(db or ".").parent / "parquet" / "code_page" / f"icd10cm_release={release}" / "code_page.parquet"
    if not db or not path.is_file():  # an in-memory database, or a build without its export
        return None
    cur = con.execute("SELECT * FROM read_parquet(?, hive_partitioning = false) WHERE code = ?", [str(path), code])
    cols = [d[0] for d in cur.description]
    found = cur.fetchall()
    if not found:
        return None
    row = dict(zip(cols, found[0]))
    row["day"] = con.execute("SELECT page_day(?::VARCHAR, ?::DATE)", [release, day]).fetchone()[0]
    return page_json(row)


def code_page(con: duckdb.DuckDBPyConnection, text: str, as_of: dt.date | None = None,
              release: str | None = None, from_export: bool = True) -> dict[str, Any]:
    """The code page of `text` with the releases of the day `as_of` (default today; see the resolver), or with
    the ICD-10-CM release `release`, whose first day is then the day of the other sections.

    The page is the ``code_page`` SQL macro's row. When the day's page is the exported one (and
    `from_export`), that row is read from the build's parquet export instead of computed again: the same
    row, in milliseconds instead of a quarter of a second."""
    if release and as_of:
        raise ValueError("give an ICD-10-CM release or an as-of date, not both")
    code = normalise_code(text)
    if release:
        if not con.execute("SELECT 1 FROM release_calendar WHERE dataset = 'icd10cm' AND release = ?", [release]).fetchone():
            raise CodeEtlError(f"the warehouse has no ICD-10-CM release {release!r}")
        rid, day = release, None
    else:
        day = as_of or clock.today()
        rid = resolve(con, "icd10cm", day)["release"]
    exported = exported_page_row(con, rid, day, code) if from_export else None
    found = [exported] if exported else code_page_rows(con, rid, day, [code])
    if not found:
        raise _not_found(con, rid, code)
    page = found[0]
    used = [("icd10cm", rid)]
    if page["icd9"]:
        used.append(("gems", page["icd9"]["release"]))
    if page["ms_drg"]:
        used += [("msdrg", page["ms_drg"]["version"])] + _ipps_used(con, page["ms_drg"]["version"])
    if page["procedures"] and page["procedures"]["pfs_release"]:
        used.append(("pfs", page["procedures"]["pfs_release"]))
    page["sources"] = sources(con, used) + (link_sources(con, page["procedures"]) if page["procedures"] else [])
    page["built_at"] = built_at(con)
    return page


def _not_found(con, rid: str, code: str) -> CodeNotFound:
    """The error for a code release `rid` lacks: the releases that have it, and close matches."""
    label = con.execute("SELECT label FROM release_calendar WHERE dataset = 'icd10cm' AND release = ?", [rid]).fetchone()[0]
    elsewhere = [r[0] for r in con.execute("SELECT DISTINCT release FROM icd10cm_codes WHERE code = ? ORDER BY 1", [code]).fetchall()]
    msg = f"{code} is not an ICD-10-CM code in release {rid} ({label})"
    headers = con.execute("SELECT count(*) FILTER (WHERE NOT is_billable) FROM icd10cm_codes WHERE release = ?", [rid]).fetchone()[0]
    if not headers and con.execute("SELECT count(*) FROM icd10cm_codes WHERE code = ? AND NOT is_billable", [code]).fetchone()[0]:
        msg = (f"{code} is a header, and release {rid} ({label}) was loaded from its code file, which lists "
               "valid (billable) codes only")
    if elsewhere:
        msg += f"; it is in release(s) {', '.join(elsewhere)} (use --release or --as-of)"
    return CodeNotFound(msg, suggest(con, rid, code))


def link_sources(con, procedures: dict) -> list[dict]:
    """Provenance of the procedure links: each curated link file used (with its sha256), and the MCD
    release of article links."""
    out = []
    curated = sorted({l["source_id"] for i in procedures["items"] for l in i["links"] if l["source"] != "mcd_article"})
    for f in _rows(con, "SELECT file, path, sha256, bytes FROM link_files WHERE file IN (SELECT unnest(?::VARCHAR[])) "
                        "ORDER BY file", [curated]):
        out.append({"dataset": "links", "release": f["file"], "label": "curated link set", "url": f["path"],
                    "fetched_from": f["path"], "sha256": f["sha256"], "fetched_at": None,
                    "files": [{"role": "links", "name": f["file"], "sha256": f["sha256"]}]})
    mcd = sorted({l["source_release"] for i in procedures["items"] for l in i["links"]
                  if l["source"] == "mcd_article" and l["source_release"]})
    return out + (sources(con, [("mcd", r) for r in mcd]) if mcd else [])
