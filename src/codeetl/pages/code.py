"""The code page: everything the warehouse knows about one ICD-10-CM code, as a plain dict.

``codeetl code M96.1`` renders it with rich; ``--json`` prints it as is. Every value comes from the
warehouse (and so from the official files); nothing here is typed in.

JSON keys (stable; documented in the README):

``code``, ``code_nodot``, ``description`` (CMS code-file spelling), ``description_tabular``,
``is_billable``, ``kind`` ("valid code" / "header"),
``release`` {``dataset``, ``release``, ``label``, ``effective_from``, ``effective_to``, ``in_effect``},
``hierarchy`` (false when the release was not loaded from the Tabular List) and ``hierarchy_note`` (why not),
``chapter`` {``number``, ``title``, ``first_code``, ``last_code``},
``section`` {``id``, ``title``, ``first_code``, ``last_code``},
``category`` {``code``, ``description``}, ``ancestors`` [{``code``, ``description``}] (category first),
``notes`` [{``type``, ``text``, ``referenced_codes``, ``from`` {``kind``, ``code``, ``title``}, ``inherited``}],
``seventh_characters`` [{``char``, ``meaning``, ``defined_at``}],
``siblings`` / ``children`` [{``code``, ``description``, ``is_billable``}],
``icd9``, ``ms_drg`` (with ``in_effect``), ``procedures`` (with ``pfs_in_effect``) — see their functions,
``sources`` [{``dataset``, ``release``, ``url``, ``fetched_from``, ``sha256``, ``fetched_at``, ``files``
[{``role``, ``name``, ``sha256``}]}], ``built_at``.
"""

from __future__ import annotations
from __future__ import annotations

import datetime as dt
import difflib
from typing import Any

import duckdb

from codeetl.codes import icd10_dotted, icd10_nodot, looks_like_icd10
from codeetl.errors import CodeEtlError
from codeetl.pages.common import (CodeNotFound, MalformedCode, NoReleaseInEffect, built_at, copyright_notice,
                                  jsonable as _jsonable, money as _money, rows as _rows, sources)
from codeetl.pages.drg import _ipps_used, msdrg_section
from codeetl.pages.icd9 import icd9_section
from codeetl.pages.resolver import pick_release

# Notes printed under an ancestor apply to the codes below it (Official Guidelines I.A.12-15, "Instructional
# notes placed at a 3-character category level apply to all codes within that category"), except inclusion
# terms, which list what the one code they are printed under includes.
NOT_INHERITED = {"inclusionTerm"}

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


def code_page(con: duckdb.DuckDBPyConnection, text: str, as_of: dt.date | None = None,
              release: str | None = None) -> dict[str, Any]:
    """The code page of `text` with the releases of the day `as_of` (default today; see pick_release), or
    with the ICD-10-CM release `release`, whose first day is then the day of the other sections."""
    if release and as_of:
        raise ValueError("give an ICD-10-CM release or an as-of date, not both")
    code = normalise_code(text)
    if release:
        rel = next((r for r in _rows(con, "SELECT DISTINCT dataset, release, label, effective_from, effective_to FROM releases "
                                          "WHERE dataset = 'icd10cm' AND release = ?", [release])), None)
        if rel is None:
            raise CodeEtlError(f"the warehouse has no ICD-10-CM release {release!r}")
        rel |= {"in_effect": True}
        as_of = rel["effective_from"]
    else:
        rel = pick_release(con, "icd10cm", as_of, "icd10cm_codes")
    rid = rel["release"]
    found = _rows(con, "SELECT * FROM icd10cm_codes WHERE release = ? AND code = ?", [rid, code])
    if not found:
        elsewhere = [r[0] for r in con.execute("SELECT DISTINCT release FROM icd10cm_codes WHERE code = ? ORDER BY 1", [code]).fetchall()]
        msg = f"{code} is not an ICD-10-CM code in release {rid} ({rel['label']})"
        if elsewhere:
            msg += f"; it is in release(s) {', '.join(elsewhere)} (use --release or --as-of)"
        raise CodeNotFound(msg, suggest(con, rid, code))
    c = found[0]
    chapter = _rows(con, "SELECT chapter AS number, title, first_code, last_code FROM icd10cm_chapters WHERE release = ? AND chapter = ?",
                    [rid, c["chapter"]])
    section = _rows(con, "SELECT section AS id, title, first_code, last_code FROM icd10cm_sections WHERE release = ? AND section = ?",
                    [rid, c["section"]])
    ancestors = _rows(con, """
        WITH RECURSIVE up(code, parent, description, depth) AS (
            SELECT code, parent, description, depth FROM icd10cm_codes WHERE release = $1 AND code = $2
            UNION ALL
            SELECT p.code, p.parent, p.description, p.depth FROM icd10cm_codes p JOIN up ON p.code = up.parent
            WHERE p.release = $1)
        SELECT code, description FROM up WHERE code <> $2 ORDER BY depth""", [rid, code])
    lineage = [a["code"] for a in ancestors] + [code]
    titles = {a["code"]: a["description"] for a in ancestors} | {code: c["description"]}
    nodes = []  # (kind, node, title, inherited) in the order a reader meets them: chapter, section, ancestors, code
    if chapter:
        nodes.append(("chapter", str(c["chapter"]), f"Chapter {c['chapter']}: {chapter[0]['title']}", True))
    if section:
        nodes.append(("section", section[0]["id"], section[0]["title"], True))
    nodes += [("code", node, titles[node], node != code) for node in lineage]
    notes = _notes(con, rid, nodes)
    seventh = []
    if c["seventh_char_from"]:
        seventh = _rows(con, "SELECT char, meaning, code AS defined_at FROM icd10cm_seventh_chars WHERE release = ? AND code = ? ORDER BY char",
                        [rid, c["seventh_char_from"]])
    siblings = []
    if c["parent"]:
        siblings = _rows(con, "SELECT code, description, is_billable FROM icd10cm_codes WHERE release = ? AND parent = ? AND code <> ? ORDER BY seq",
                         [rid, c["parent"], code])
    children = _rows(con, "SELECT code, description, is_billable FROM icd10cm_codes WHERE release = ? AND parent = ? ORDER BY seq", [rid, code])
    hierarchy_note = _hierarchy_note(con, rid)
    page: dict[str, Any] = {
        "code": c["code"],
        "code_nodot": c["code_nodot"],
        "description": c["description"],
        "description_tabular": c["description_tabular"],
        "is_billable": c["is_billable"],
        "kind": "valid code" if c["is_billable"] else "header",
        "release": _jsonable(rel),
        "hierarchy": hierarchy_note is None,
        "hierarchy_note": hierarchy_note,
        "chapter": chapter[0] if chapter else None,
        "section": section[0] if section else None,
        "category": {"code": c["category"], "description": titles.get(c["category"])},
        "ancestors": ancestors,
        "notes": notes,
        "seventh_characters": seventh,
        "siblings": siblings,
        "children": children,
    }
    used = [("icd10cm", rid)]
    page["icd9"] = icd9_section(con, code)
    if page["icd9"]:
        used.append(("gems", page["icd9"]["release"]))
    page["ms_drg"] = msdrg_section(con, code, as_of)
    if page["ms_drg"]:
        used += [("msdrg", page["ms_drg"]["version"])] + _ipps_used(con, page["ms_drg"]["version"])
    page["procedures"] = procedures_section(con, code, as_of)
    if page["procedures"] and page["procedures"]["pfs_release"]:
        used.append(("pfs", page["procedures"]["pfs_release"]))
    page["sources"] = sources(con, used)
    if page["procedures"]:
        page["sources"] += link_sources(con, page["procedures"])
    page["built_at"] = built_at(con)
    return page


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


def _hierarchy_note(con, rid: str) -> str | None:
    """What a page of ICD-10-CM release `rid` lacks because the release was not loaded from the Tabular List
    XML (chapters, sections, headers, notes, 7th characters); None when it was."""
    if con.execute("SELECT count(*) FROM icd10cm_chapters WHERE release = ?", [rid]).fetchone()[0]:
        return None
    if con.execute("SELECT count(*) FROM icd10cm_codes WHERE release = ? AND parent IS NOT NULL", [rid]).fetchone()[0]:
        return "this release was loaded from the order file without the Tabular List: no chapters, sections or notes"
    return "this release was loaded from the code file only: no hierarchy or notes"


def _notes(con, rid: str, nodes: list[tuple[str, str, str, bool]]) -> list[dict]:
    """The notes printed under each node, in node order then document order; inherited nodes'
    inclusion terms are left out (they belong to the code they are printed under)."""
    rows = _rows(con, "SELECT node_kind, code, note_type, note, referenced_codes FROM icd10cm_notes WHERE release = ? "
                      "AND code IN (SELECT unnest(?::VARCHAR[])) ORDER BY note_no", [rid, [n for _, n, _, _ in nodes]])
    out = []
    for kind, node, title, inherited in nodes:
        out += [
            {"type": r["note_type"], "text": r["note"], "referenced_codes": list(r["referenced_codes"]),
             "from": {"kind": kind, "code": node, "title": title}, "inherited": inherited}
            for r in rows
            if r["node_kind"] == kind and r["code"] == node and not (inherited and r["note_type"] in NOT_INHERITED)
        ]
    return out


def procedures_section(con: duckdb.DuckDBPyConnection, code: str, as_of: dt.date | None = None) -> dict | None:
    """Procedures linked to a diagnosis (``dx_procedure_link``) with their PFS descriptor, status and
    national amounts from the PFS release of `as_of` (see pick_release: ``pfs_in_effect`` is false when
    that release has ended; without one, every item's ``no_fee_reason`` says why). The fee shown is the
    non-facility amount where payable, otherwise the facility amount; both are kept, and a missing fee
    comes with the reason."""
    links = _rows(con, "SELECT hcpcs, source, source_id, source_release, note FROM dx_procedure_link WHERE dx = ? "
                       "ORDER BY origin, line_no", [code])
    if not links:
        return None
    rel, why_none = None, None
    try:
        rel = pick_release(con, "pfs", as_of, "pfs_rvu")
    except NoReleaseInEffect:
        why_none = f"no Medicare PFS release loaded was in effect on {as_of or dt.date.today()}"
    except CodeEtlError:
        why_none = "no Medicare PFS release is loaded"
    fees = {}
    if rel:
        fees = {f["hcpcs"]: f for f in _rows(con, """
            SELECT r.hcpcs, r.description, r.status, s.meaning AS status_meaning, s.payable, r.global_days,
                   p.nonfacility_amount, p.nonfacility_note, p.facility_amount, p.facility_note
            FROM pfs_rvu r
            LEFT JOIN pfs_status s ON s.status = r.status
            LEFT JOIN pfs_payment p ON p.release = r.release AND p.hcpcs = r.hcpcs AND p.modifier = r.modifier
                 AND p.locality = 'national'
            WHERE r.release = ? AND r.modifier = '' AND r.hcpcs IN (SELECT unnest(?::VARCHAR[]))""",
            [rel["release"], sorted({l["hcpcs"] for l in links})])}
    items: dict[str, dict] = {}
    for link in links:
        item = items.get(link["hcpcs"])
        if item is None:
            item = items[link["hcpcs"]] = {"hcpcs": link["hcpcs"], "links": [], "description": None, "status": None}
            f = fees.get(link["hcpcs"])
            if f:
                national = {"nonfacility_amount": _money(f["nonfacility_amount"]), "nonfacility_note": f["nonfacility_note"],
                            "facility_amount": _money(f["facility_amount"]), "facility_note": f["facility_note"]}
                shown, setting = _shown_fee(national)
                item.update(description=f["description"], global_days=f["global_days"],
                            status={"code": f["status"], "meaning": f["status_meaning"], "payable": f["payable"]},
                            national=national, fee=shown, fee_setting=setting if shown else None,
                            no_fee_reason=None if shown else setting)
            else:
                item.update(national=None, fee=None, fee_setting=None,
                            no_fee_reason=f"not in the Medicare PFS release {rel['release']}" if rel else why_none)
        item["links"].append({k: link[k] for k in ("source", "source_id", "source_release", "note")})
    return {"pfs_release": rel["release"] if rel else None, "pfs_label": rel["label"] if rel else None,
            "pfs_in_effect": rel.get("in_effect") if rel else None, "items": list(items.values()),
            "copyright": copyright_notice(con, rel["release"] if rel else None)}


def _shown_fee(national: dict) -> tuple[str | None, str]:
    if national["nonfacility_amount"] is not None:
        return national["nonfacility_amount"], "non-facility"
    if national["facility_amount"] is not None:
        return national["facility_amount"], "facility"
    return None, national["nonfacility_note"] or national["facility_note"] or "no amount"
