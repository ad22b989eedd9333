"""The code page: everything the warehouse knows about one ICD-10-CM code, as a plain dict.

``codeetl code M96.1`` renders it with rich; ``--json`` prints it as is. Every value comes from the
warehouse (and so from the official files); nothing here is typed in.

JSON keys (stable; documented in the README):

``code``, ``code_nodot``, ``description`` (CMS code-file spelling), ``description_tabular``,
``is_billable``, ``kind`` ("valid code" / "header"),
``release`` {``dataset``, ``release``, ``label``, ``effective_from``, ``effective_to``},
``chapter`` {``number``, ``title``, ``first_code``, ``last_code``},
``section`` {``id``, ``title``, ``first_code``, ``last_code``},
``category`` {``code``, ``description``}, ``ancestors`` [{``code``, ``description``}] (category first),
``notes`` [{``type``, ``text``, ``referenced_codes``, ``from`` {``kind``, ``code``, ``title``}, ``inherited``}],
``seventh_characters`` [{``char``, ``meaning``, ``defined_at``}],
``siblings`` / ``children`` [{``code``, ``description``, ``is_billable``}],
``sources`` [{``dataset``, ``release``, ``url``, ``fetched_from``, ``sha256``, ``fetched_at``, ``files``
[{``role``, ``name``, ``sha256``}]}], ``built_at``.
"""

from __future__ import annotations

import datetime as dt
import difflib
from typing import Any

import duckdb

from codeetl.codes import icd10_dotted, icd10_nodot, looks_like_icd10
from codeetl.errors import CodeEtlError

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


class CodeNotFound(CodeEtlError):
    def __init__(self, message: str, suggestions: list[dict]):
        super().__init__(message)
        self.suggestions = suggestions


class MalformedCode(CodeEtlError):
    pass


def _rows(con, sql: str, params: list | None = None) -> list[dict]:
    cur = con.execute(sql, params or [])
    cols = [d[0] for d in cur.description]
    return [dict(zip(cols, r)) for r in cur.fetchall()]


def pick_release(con: duckdb.DuckDBPyConnection, dataset: str, as_of: dt.date | None, table: str) -> dict:
    """The release of `dataset` in effect on `as_of` (default today) among those loaded into `table`;
    when none is in effect, the latest loaded one."""
    day = as_of or dt.date.today()
    rows = _rows(con, f"""
        SELECT DISTINCT r.dataset, r.release, r.label, r.effective_from, r.effective_to
        FROM releases r WHERE r.dataset = ? AND r.release IN (SELECT DISTINCT release FROM {table})
        ORDER BY r.effective_from DESC""", [dataset])
    if not rows:
        raise CodeEtlError(f"the warehouse has no {dataset} release: run `codeetl refresh`")
    for r in rows:
        if r["effective_from"] <= day and (r["effective_to"] is None or day <= r["effective_to"]):
            return r
    return rows[0]


def normalise_code(text: str) -> str:
    """'m961' / 'M96.1' / ' M96.1 ' -> 'M96.1'; MalformedCode when it cannot be an ICD-10-CM code."""
    raw = text.strip()
    if not looks_like_icd10(raw) or raw.count(".") > 1 or (("." in raw) and raw.index(".") != 3):
        raise MalformedCode(
            f"{text!r} is not an ICD-10-CM code: expected a letter, two characters and up to four more, "
            "with or without the dot (M96.1, M961, S72.001A)"
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
    code = normalise_code(text)
    if release:
        rel = next((r for r in _rows(con, "SELECT DISTINCT dataset, release, label, effective_from, effective_to FROM releases "
                                          "WHERE dataset = 'icd10cm' AND release = ?", [release])), None)
        if rel is None:
            raise CodeEtlError(f"the warehouse has no ICD-10-CM release {release!r}")
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
    notes: list[dict] = []
    if chapter:
        notes += _notes(con, rid, "chapter", str(c["chapter"]), f"Chapter {c['chapter']}: {chapter[0]['title']}", inherited=True)
    if section:
        notes += _notes(con, rid, "section", section[0]["id"], f"{section[0]['title']} ({section[0]['id']})", inherited=True)
    for node in lineage:
        notes += _notes(con, rid, "code", node, titles[node], inherited=node != code)
    seventh = []
    if c["seventh_char_from"]:
        seventh = _rows(con, "SELECT char, meaning, code AS defined_at FROM icd10cm_seventh_chars WHERE release = ? AND code = ? ORDER BY char",
                        [rid, c["seventh_char_from"]])
    siblings = []
    if c["parent"]:
        siblings = _rows(con, "SELECT code, description, is_billable FROM icd10cm_codes WHERE release = ? AND parent = ? AND code <> ? ORDER BY seq",
                         [rid, c["parent"], code])
    children = _rows(con, "SELECT code, description, is_billable FROM icd10cm_codes WHERE release = ? AND parent = ? ORDER BY seq", [rid, code])
    page: dict[str, Any] = {
        "code": c["code"],
        "code_nodot": c["code_nodot"],
        "description": c["description"],
        "description_tabular": c["description_tabular"],
        "is_billable": c["is_billable"],
        "kind": "valid code" if c["is_billable"] else "header",
        "release": _jsonable(rel),
        "chapter": chapter[0] if chapter else None,
        "section": section[0] if section else None,
        "category": {"code": c["category"], "description": titles.get(c["category"])},
        "ancestors": ancestors,
        "notes": notes,
        "seventh_characters": seventh,
        "siblings": siblings,
        "children": children,
    }
    page["sources"] = sources(con, [("icd10cm", rid)])
    page["built_at"] = _built_at(con)
    return page


def _notes(con, rid: str, kind: str, node: str, title: str, inherited: bool) -> list[dict]:
    rows = _rows(con, "SELECT note_type, note, referenced_codes FROM icd10cm_notes WHERE release = ? AND node_kind = ? AND code = ? "
                      "ORDER BY note_no", [rid, kind, node])
    return [
        {"type": r["note_type"], "text": r["note"], "referenced_codes": list(r["referenced_codes"]),
         "from": {"kind": kind, "code": node, "title": title}, "inherited": inherited}
        for r in rows if not (inherited and r["note_type"] in NOT_INHERITED)
    ]


def sources(con, used: list[tuple[str, str]]) -> list[dict]:
    """The provenance of each (dataset, release) a page used: official URL, actual source, hashes."""
    out = []
    for ds, rid in used:
        for r in _rows(con, "SELECT dataset, release, label, source_url AS url, fetched_from, sha256, fetched_at FROM releases "
                            "WHERE dataset = ? AND release = ? ORDER BY source_url", [ds, rid]):
            r["files"] = _rows(con, "SELECT role, file_name AS name, sha256 FROM source_files WHERE dataset = ? AND release = ? "
                                    "AND source_url = ? ORDER BY role", [ds, rid, r["url"]])
            out.append(_jsonable(r))
    return out


def _built_at(con) -> str | None:
    r = con.execute("SELECT max(loaded_at) FROM releases").fetchone()[0]
    return r.isoformat() if r else None


def _jsonable(d: dict) -> dict:
    return {k: (v.isoformat() if isinstance(v, (dt.date, dt.datetime)) else v) for k, v in d.items()}
