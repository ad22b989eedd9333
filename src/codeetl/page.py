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

import datetime as dt
import difflib
import re
from decimal import Decimal
from typing import Any

import duckdb

from codeetl.codes import icd10_dotted, icd10_nodot, icd9dx_dotted, looks_like_icd10
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


class NoReleaseInEffect(CodeEtlError):
    """Every loaded release of a dataset took effect after the day asked for."""


def _rows(con, sql: str, params: list | None = None) -> list[dict]:
    cur = con.execute(sql, params or [])
    cols = [d[0] for d in cur.description]
    return [dict(zip(cols, r)) for r in cur.fetchall()]


def pick_release(con: duckdb.DuckDBPyConnection, dataset: str, as_of: dt.date | None, table: str,
                 column: str = "release") -> dict:
    """The release of `dataset` for the day `as_of` (default today), among those loaded into `table`
    (whose column `column` holds the release id: ``version`` for the MS-DRG tables).

    That is the release in effect that day; when none is, the latest one that took effect before the
    day, with ``in_effect`` false. A release that takes effect after the day is never used: when every
    loaded release does, NoReleaseInEffect says so (CodeEtlError when none is loaded at all).
    """
    day = as_of or dt.date.today()
    rows = _rows(con, f"""
        SELECT DISTINCT r.dataset, r.release, r.label, r.effective_from, r.effective_to
        FROM releases r WHERE r.dataset = ? AND r.release IN (SELECT DISTINCT t.{column} FROM {table} t)
        ORDER BY r.effective_from DESC""", [dataset])
    if not rows:
        raise CodeEtlError(f"the warehouse has no {dataset} release: run `codeetl refresh`")
    started = [r for r in rows if r["effective_from"] <= day]
    if not started:
        loaded = ", ".join(f"{r['release']} (from {r['effective_from']})" for r in reversed(rows))
        raise NoReleaseInEffect(f"no {dataset} release loaded was in effect on {day}; loaded: {loaded}")
    for r in started:
        if r["effective_to"] is None or day <= r["effective_to"]:
            return r | {"in_effect": True}
    return started[0] | {"in_effect": False}  # none in effect that day: the latest one before it, flagged


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
    page["built_at"] = _built_at(con)
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


def _dec(v: Decimal | None) -> str | None:
    """A DECIMAL as an exact JSON string ("1.6761"), or None."""
    return None if v is None else str(v)


def _money(v: Decimal | None) -> str | None:
    """An amount as a JSON string with two decimals ("95.19"), or None."""
    return None if v is None else f"{v:.2f}"


# ----------------------------------------------------------------------------------------- ICD-9 (GEMs)

GEM_FLAG_WORDS = {
    "approximate": "approximate: the codes are not exact equivalents (a close match, differing in detail)",
    "no_map": "no map: there is no equivalent code",
    "combination": "combination: the source code needs more than one target code together (one from each choice list of the scenario)",
}


def _gem_words(r: dict) -> list[str]:
    words = [GEM_FLAG_WORDS[f] for f in ("no_map", "combination", "approximate") if r[f]]
    return words or ["identical: an exact equivalent"]


def _combination_reading(rows: list[dict], code_key: str) -> list[dict]:
    """Group combination rows by scenario: within a scenario one code from EACH choice list ("and");
    codes in the same choice list are alternatives ("or")."""
    out = []
    for scen in sorted({r["scenario"] for r in rows}):
        lists = {}
        for r in rows:
            if r["scenario"] == scen:
                lists.setdefault(r["choice_list"], []).append(r[code_key])
        parts = [" or ".join(v) if len(v) == 1 else "(" + " or ".join(v) + ")" for _, v in sorted(lists.items())]
        out.append({"scenario": scen, "choice_lists": [v for _, v in sorted(lists.items())], "reads": " and ".join(parts)})
    return out


def icd9_section(con: duckdb.DuckDBPyConnection, code: str) -> dict | None:
    """ICD-9-CM equivalents of an ICD-10-CM code from both GEMs (the 2018, final, release)."""
    rel = _rows(con, "SELECT release FROM gem_icd10_to_icd9 UNION SELECT release FROM gem_icd9_to_icd10 ORDER BY 1 DESC LIMIT 1")
    if not rel:
        return None
    rid = rel[0]["release"]
    cols = "source, target, approximate, no_map, combination, scenario, choice_list"
    backward = _rows(con, f"SELECT {cols} FROM gem_icd10_to_icd9 WHERE release = ? AND source = ? ORDER BY line_no", [rid, code])
    forward = _rows(con, f"SELECT {cols} FROM gem_icd9_to_icd10 WHERE release = ? AND target = ? ORDER BY line_no", [rid, code])
    for r in backward + forward:
        r["meaning"] = _gem_words(r)
    backward_combos = _combination_reading([r for r in backward if r["combination"]], "target")
    # For ICD-9 codes that map to this code only together with others, show the whole scenario.
    forward_combos = []
    for src in dict.fromkeys(r["source"] for r in forward if r["combination"]):
        scen = {r["scenario"] for r in forward if r["source"] == src and r["combination"]}
        rows = [r for r in _rows(con, f"SELECT {cols} FROM gem_icd9_to_icd10 WHERE release = ? AND source = ? ORDER BY line_no", [rid, src])
                if r["scenario"] in scen]
        forward_combos.append({"source": src, "scenarios": _combination_reading(rows, "target")})
    equivalents = sorted({r["target"] for r in backward if not r["no_map"]} | {r["source"] for r in forward if not r["no_map"]})
    return {
        "release": rid,
        "equivalents": equivalents,
        "icd10_to_icd9": {"entries": backward, "combinations": backward_combos,
                          "note": "backward GEM (2018_I10gem): this ICD-10-CM code as source"},
        "icd9_to_icd10": {"entries": forward, "combinations": forward_combos,
                          "note": "forward GEM (2018_I9gem): ICD-9-CM codes that map to this code"},
    }


# ---------------------------------------------------------------------------------------------- MS-DRG

SEVERITY_WORDS = {
    "with MCC": "applies when a secondary diagnosis is an MCC",
    "with CC": "applies when a secondary diagnosis is a CC (and none is an MCC)",
    "with CC/MCC": "applies when a secondary diagnosis is a CC or an MCC",
    "without MCC": "applies with a CC or with neither (no secondary diagnosis is an MCC)",
    "without CC/MCC": "applies with neither a CC nor an MCC",
    None: "not split by CC/MCC",
}
LEVEL_WORDS = {
    "MCC": "a major complication or comorbidity (MCC) as a secondary diagnosis, unless the principal diagnosis is on its exclusion list",
    "CC": "a complication or comorbidity (CC) as a secondary diagnosis, unless the principal diagnosis is on its exclusion list",
    None: "neither a CC nor an MCC as a secondary diagnosis",
}


def msdrg_section(con: duckdb.DuckDBPyConnection, code: str, as_of: dt.date | None = None) -> dict | None:
    """The MS-DRGs a diagnosis groups to and its CC/MCC level, in the MS-DRG version of `as_of` (see
    pick_release; ``in_effect`` false when that version has ended); None when no version applies."""
    try:
        rel = pick_release(con, "msdrg", as_of, "msdrg_dx_drg", column="version")
    except CodeEtlError:
        return None
    version = rel["release"]
    fam = _rows(con, "SELECT * FROM dx_drg_family WHERE version = ? AND dx = ? ORDER BY mdc, drg", [version, code])
    groups: dict[str, dict] = {}
    for r in fam:
        g = groups.setdefault(r["mdc"] or "", {"mdc": r["mdc"], "mdc_name": r["mdc_name"], "drgs": []})
        d = _rows(con, "SELECT weight_before_cap, post_acute, special_pay, fiscal_year FROM msdrg_drg WHERE version = ? AND drg = ?",
                  [version, r["drg"]])
        extra = d[0] if d else {}
        g["drgs"].append({
            "drg": r["drg"], "title": r["title"], "type": {"M": "medical", "P": "surgical"}.get(r["type"], r["type"]),
            "family": r["family"], "severity": r["severity"], "applies": SEVERITY_WORDS.get(r["severity"], r["severity"]),
            "weight": _dec(r["weight"]), "weight_before_cap": _dec(extra.get("weight_before_cap")),
            "gmlos": _dec(r["gmlos"]), "amlos": _dec(r["amlos"]),
            "post_acute": extra.get("post_acute"), "special_pay": extra.get("special_pay"),
        })
    cc = _rows(con, "SELECT level, exclusion_list, alive_only FROM msdrg_cc WHERE version = ? AND dx = ?", [version, code])
    level = cc[0] if cc else {"level": None, "exclusion_list": None, "alive_only": False}
    fy = con.execute("SELECT max(fiscal_year) FROM msdrg_drg WHERE version = ?", [version]).fetchone()[0]
    return {
        "version": version,
        "in_effect": rel["in_effect"],
        "fiscal_year": fy,
        "as_principal": list(groups.values()),
        "as_principal_note": "Appendix B lists every MS-DRG whose logic uses the code, as principal or as secondary "
                             "diagnosis: as principal diagnosis the code groups to the DRGs of its own MDC.",
        "as_secondary": {"level": level["level"], "exclusion_list": level["exclusion_list"],
                         "alive_only": level["alive_only"], "meaning": LEVEL_WORDS[level["level"]]
                         + (" — counts only if the patient is discharged alive" if level["alive_only"] else "")},
    }


def _ipps_used(con, version: str) -> list[tuple[str, str]]:
    """The IPPS release whose tables (Table 5 weights, Table 6 CC lists) belong to MS-DRG `version` — the
    catalog's ``msdrg_version`` of each IPPS release — among those loaded."""
    from codeetl.catalog import load_catalog

    ipps = load_catalog().get("ipps")
    wanted = [r.release for r in (ipps.releases if ipps else ()) if r.attrs.get("msdrg_version") == version]
    loaded = {r[0] for r in con.execute("SELECT DISTINCT release FROM releases WHERE dataset = 'ipps'").fetchall()}
    return [("ipps", rid) for rid in wanted if rid in loaded]


def drg_page(con: duckdb.DuckDBPyConnection, text: str, as_of: dt.date | None = None, examples: int = 10) -> dict[str, Any]:
    """An MS-DRG: title, MDC, type, weights, lengths of stay, its family, and the diagnoses that define it.

    JSON keys: ``drg``, ``version``, ``release`` {dataset, release, label, effective_from, effective_to,
    in_effect}, ``fiscal_year``, ``title``, ``mdc`` {code, name}, ``type``, ``family``,
    ``severity``, ``applies``, ``weight``, ``weight_before_cap``, ``gmlos``, ``amlos``, ``post_acute``,
    ``special_pay``, ``family_drgs`` [{drg, title, severity, weight}], ``diagnoses`` {count, examples
    [{dx, description, mdc}]}, ``sources``. Decimals are strings (exact).
    """
    t = text.strip()
    digits = t.lstrip("0") or t[-1:]  # 0551 -> 551
    if not (t.isascii() and t.isdigit()) or len(digits) > 3:
        raise MalformedCode(f"{text!r} is not an MS-DRG number: expected up to three digits, e.g. 551")
    drg = digits.zfill(3)
    rel = pick_release(con, "msdrg", as_of, "msdrg_drg_def", column="version")
    version = rel["release"]
    rows = _rows(con, "SELECT * FROM msdrg_drg WHERE version = ? AND drg = ?", [version, drg])
    if not rows:
        near = _rows(con, "SELECT drg AS code, title AS description, true AS is_billable FROM msdrg_drg WHERE version = ? "
                          "ORDER BY abs(drg::INTEGER - ?) LIMIT 5", [version, int(drg)])
        raise CodeNotFound(f"MS-DRG {drg} does not exist in version {version}", near)
    d = rows[0]
    mdc = _rows(con, "SELECT name FROM msdrg_mdc WHERE version = ? AND mdc = ?", [version, d["mdc"]])
    fam = _rows(con, "SELECT drg, title, severity, weight FROM msdrg_drg WHERE version = ? AND family = ? AND "
                     "coalesce(mdc, '') = coalesce(?, '') ORDER BY drg", [version, d["family"], d["mdc"]])
    count = con.execute("SELECT count(DISTINCT dx) FROM msdrg_dx_drg WHERE version = ? AND drg = ?", [version, drg]).fetchone()[0]
    ex = _rows(con, "SELECT DISTINCT x.dx, coalesce(c.description, x.dx) AS description, x.mdc FROM msdrg_dx_drg x "
                    "LEFT JOIN msdrg_dx c ON c.version = x.version AND c.dx = x.dx WHERE x.version = ? AND x.drg = ? "
                    "ORDER BY x.dx LIMIT ?", [version, drg, examples])
    return {
        "drg": drg, "version": version, "release": _jsonable(rel), "fiscal_year": d["fiscal_year"],
        "title": d["title"] or d["title_ipps"],
        "mdc": {"code": d["mdc"], "name": mdc[0]["name"] if mdc else None},
        "type": {"M": "medical", "P": "surgical"}.get(d["type"], d["type"]),
        "family": d["family"], "severity": d["severity"], "applies": SEVERITY_WORDS.get(d["severity"], d["severity"]),
        "weight": _dec(d["weight"]), "weight_before_cap": _dec(d["weight_before_cap"]),
        "gmlos": _dec(d["gmlos"]), "amlos": _dec(d["amlos"]), "post_acute": d["post_acute"], "special_pay": d["special_pay"],
        "family_drgs": [{**f, "weight": _dec(f["weight"])} for f in fam],
        "diagnoses": {"count": count, "examples": ex,
                      "note": "diagnoses whose Appendix B entry lists this DRG (as principal or secondary diagnosis)"},
        "sources": sources(con, [("msdrg", version)] + _ipps_used(con, version)),
    }


_ICD9_RE = re.compile(r"^(?:\d{3}(?:\.?\d{1,2})?|V\d{2}(?:\.?\d{1,2})?|E\d{3}(?:\.?\d)?)$")


def icd9_page(con: duckdb.DuckDBPyConnection, text: str) -> dict[str, Any]:
    """An ICD-9-CM diagnosis code through the GEMs: its ICD-10-CM targets (forward GEM), grouped into
    combination scenarios and choice lists, and the ICD-10-CM codes that map back to it (backward GEM).

    JSON keys: ``code``, ``release``, ``icd9_to_icd10`` {entries, combinations [{scenario, choice_lists,
    reads}]}, ``icd10_to_icd9`` {entries}, ``sources``. Each entry has target/source, the five flags and
    ``meaning`` (the flags in words); ICD-10-CM descriptions come from the latest ICD-10-CM release.
    """
    raw = text.strip().upper()
    if not _ICD9_RE.match(raw):
        raise MalformedCode(f"{text!r} is not an ICD-9-CM diagnosis code: expected e.g. 722.83, 250.12, V45.4, E880.9")
    code = icd9dx_dotted(raw.replace(".", ""))
    rel = _rows(con, "SELECT max(release) AS r FROM gem_icd9_to_icd10")[0]["r"]
    if rel is None:
        raise CodeEtlError("the warehouse has no GEMs: run `codeetl refresh`")
    icd = _rows(con, "SELECT release FROM releases WHERE dataset = 'icd10cm' ORDER BY effective_from DESC LIMIT 1")
    icd_rel = icd[0]["release"] if icd else None
    cols = ("g.source, g.target, g.approximate, g.no_map, g.combination, g.scenario, g.choice_list, "
            "c.description AS {}_description")
    fwd = _rows(con, f"SELECT {cols.format('target')} FROM gem_icd9_to_icd10 g LEFT JOIN icd10cm_codes c "
                     "ON c.release = ? AND c.code = g.target WHERE g.release = ? AND g.source = ? ORDER BY g.line_no",
                [icd_rel, rel, code])
    back = _rows(con, f"SELECT {cols.format('source')} FROM gem_icd10_to_icd9 g LEFT JOIN icd10cm_codes c "
                      "ON c.release = ? AND c.code = g.source WHERE g.release = ? AND g.target = ? ORDER BY g.line_no",
                 [icd_rel, rel, code])
    if not fwd and not back:
        raise CodeNotFound(f"{code} is in neither GEM (2018): not an ICD-9-CM diagnosis code", [])
    for r in fwd + back:
        r["meaning"] = _gem_words(r)
    return {
        "code": code, "release": rel,
        "icd9_to_icd10": {"entries": fwd, "combinations": _combination_reading([r for r in fwd if r["combination"]], "target")},
        "icd10_to_icd9": {"entries": back},
        "sources": sources(con, [("gems", rel)]),
    }



# ------------------------------------------------------------------------------------------ procedures


def procedures_section(con: duckdb.DuckDBPyConnection, code: str, as_of: dt.date | None = None) -> dict | None:
    """Procedures linked to a diagnosis (``dx_procedure_link``) with their PFS descriptor, status and
    national amounts from the PFS release of `as_of` (see pick_release: ``pfs_in_effect`` is false when
    that release has ended; without one, every item's ``no_fee_reason`` says why). The fee shown is the
    non-facility amount where payable, otherwise the facility amount; both are kept, and a missing fee
    comes with the reason."""
    links = _rows(con, "SELECT hcpcs, source, source_id, source_release, note FROM dx_procedure_link WHERE dx = ? "
                       "ORDER BY rowid", [code])
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


def copyright_notice(con, release: str | None, dental: bool = False) -> str | None:
    """The copyright notice the PFS release's RVU file carries (table pfs_notice): the AMA's for CPT
    descriptors, or the ADA's for dental (D) codes."""
    if release is None:
        return None
    row = con.execute("SELECT cpt_notice, dental_notice FROM pfs_notice WHERE release = ?", [release]).fetchone()
    if row is None:
        return None
    return (row[1] or row[0]) if dental else row[0]
