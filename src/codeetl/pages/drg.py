"""MS-DRG: the ``ms_drg`` section of a code page and the ``codeetl drg`` page."""

from __future__ import annotations

import datetime as dt
from typing import Any

import duckdb

from codeetl.errors import CodeEtlError
from codeetl.pages.common import CodeNotFound, MalformedCode, dec as _dec, jsonable as _jsonable, rows as _rows, sources
from codeetl.pages.resolver import pick_release


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
    """The IPPS releases loaded for MS-DRG `version` (Table 5 weights, Tables 6 CC lists), as the warehouse
    recorded them in ``release_uses``."""
    found = con.execute("SELECT dataset, release FROM release_uses WHERE uses_dataset = 'msdrg' AND uses_release = ? "
                        "ORDER BY dataset, release", [version]).fetchall()
    return [(d, r) for d, r in found]


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
