"""The MS-DRG page (``codeetl drg``). The ``ms_drg`` section of the code page is SQL (``cp_msdrg``)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import duckdb

from codeetl import clock
from codeetl.pages.common import CodeNotFound, MalformedCode, dec as _dec, jsonable as _jsonable, rows as _rows, sources
from codeetl.pages.resolver import pick_release


def _ipps_used(con, version: str) -> list[tuple[str, str]]:
    """The IPPS releases loaded for MS-DRG `version` (Table 5 weights, Tables 6 CC lists), as the warehouse
    recorded them in ``release_uses``; a point release (v43.1) uses those of its fiscal year (v43's)."""
    found = con.execute("SELECT dataset, release FROM release_uses WHERE uses_dataset = 'msdrg' "
                        "AND uses_release = msdrg_ipps_version(?) ORDER BY dataset, release", [version]).fetchall()
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
    rel = pick_release(con, "msdrg", as_of)
    version = rel["release"]
    rows = _rows(con, "SELECT *, severity_words(severity) AS applies FROM msdrg_drg WHERE version = ? AND drg = ?", [version, drg])
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
        "drg": drg, "version": version, "release": _jsonable(rel), "day": (as_of or clock.today()).isoformat(),
        "fiscal_year": d["fiscal_year"],
        "title": d["title"] or d["title_ipps"],
        "mdc": {"code": d["mdc"], "name": mdc[0]["name"] if mdc else None},
        "type": {"M": "medical", "P": "surgical"}.get(d["type"], d["type"]),
        "family": d["family"], "severity": d["severity"], "applies": d["applies"],
        "weight": _dec(d["weight"]), "weight_before_cap": _dec(d["weight_before_cap"]),
        "gmlos": _dec(d["gmlos"]), "amlos": _dec(d["amlos"]), "post_acute": d["post_acute"], "special_pay": d["special_pay"],
        "family_drgs": [{**f, "weight": _dec(f["weight"])} for f in fam],
        "diagnoses": {"count": count, "examples": ex,
                      "note": "diagnoses whose Appendix B entry lists this DRG (as principal or secondary diagnosis)"},
        "sources": sources(con, [("msdrg", version)] + _ipps_used(con, version)),
    }
