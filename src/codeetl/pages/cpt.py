"""The CPT/HCPCS page (``codeetl cpt 99213``): descriptor, status, RVUs and Medicare PFS amounts.

Every figure comes from the warehouse (``pfs_rvu``, ``pfs_payment``, ``pfs_status``, ``pfs_gpci``).

JSON keys: ``hcpcs``, ``release`` {dataset, release, label, effective_from, effective_to, in_effect},
``copyright`` (the AMA/ADA notice the RVU file carries), ``rows`` — one per modifier line of the RVU file
(global service first): ``modifier``, ``description``, ``status`` {code, meaning, payable, description},
``global_days``, ``pctc_indicator``, ``policy`` {mult_proc, bilat_surg, asst_surg, co_surg, team_surg},
``rvu`` {work, nonfacility_pe, facility_pe, mp, nonfacility_total, facility_total, nonfacility_na,
facility_na}, ``conversion_factor``, ``national`` {nonfacility_amount, nonfacility_note, facility_amount,
facility_note}, and with ``--locality`` ``locality`` {locality, locality_name, state, the same four keys}.
Amounts are strings with two decimals (exact; JSON numbers would invite float rounding), or null with a
note saying why.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import duckdb

from codeetl import clock
from codeetl.errors import CodeEtlError
from codeetl.pages.common import MalformedCode, copyright_notice, dec as _dec, jsonable as _jsonable, money as _money, rows as _rows, sources
from codeetl.pages.resolver import pick_release

_HCPCS_RE = re.compile(r"^[0-9A-Z][0-9]{3}[0-9A-Z]$")


class UnknownProcedure(CodeEtlError):
    def __init__(self, message: str, suggestions: list[dict]):
        super().__init__(message)
        self.suggestions = suggestions


def normalise_hcpcs(text: str) -> str:
    """' g0438 ' -> 'G0438'; MalformedCode when it cannot be a CPT/HCPCS code."""
    code = text.strip().upper()
    if not _HCPCS_RE.match(code):
        raise MalformedCode(f"{text!r} is not a CPT/HCPCS code: expected five characters, e.g. 99213, G0438, 0001U")
    return code


def resolve_locality(con, release: str, text: str) -> dict:
    """'01112-05', '0111205' or a unique part of a locality name ('manhattan') -> the pfs_gpci row."""
    t = text.strip()
    m = re.match(r"^(\d{5})-?(\d{2})$", t)
    if m:
        rows = _rows(con, "SELECT mac, locality, locality_name, state FROM pfs_gpci WHERE release = ? AND mac = ? AND locality = ?",
                     [release, m.group(1), m.group(2)])
    else:
        literal = re.sub(r"([\\%_])", r"\\\1", t.lower())  # the user's text, not a LIKE pattern
        rows = _rows(con, "SELECT mac, locality, locality_name, state FROM pfs_gpci WHERE release = ? AND "
                          "lower(locality_name) LIKE ? ESCAPE '\\' ORDER BY mac, locality", [release, f"%{literal}%"])
    if len(rows) == 1:
        return rows[0]
    if not rows:
        raise CodeEtlError(f"no PFS locality {text!r} in release {release}: give MAC-locality (e.g. 01112-05) or part of a locality name")
    listed = "; ".join(f"{r['mac']}-{r['locality']} {r['locality_name']} ({r['state']})" for r in rows[:8])
    raise CodeEtlError(f"{text!r} matches {len(rows)} localities: {listed}")


def cpt_page(con: duckdb.DuckDBPyConnection, text: str, as_of: dt.date | None = None,
             locality: str | None = None) -> dict[str, Any]:
    """The CPT/HCPCS page of `text` in the PFS release of `as_of` (default today; JSON keys in the module docstring), with the amounts of `locality` when given."""

    code = normalise_hcpcs(text)
    rel = pick_release(con, "pfs", as_of)
    rid = rel["release"]
    rvus = _rows(con, "SELECT * FROM pfs_rvu WHERE release = ? AND hcpcs = ? ORDER BY modifier <> '', modifier", [rid, code])
    if not rvus:
        other = [r[0] for r in con.execute("SELECT DISTINCT release FROM pfs_rvu WHERE hcpcs = ? ORDER BY 1", [code]).fetchall()]
        msg = f"{code} is not in the Medicare PFS release {rid} ({rel['label']})"
        if other:
            msg += f"; it is in {', '.join(other)} (use --as-of)"
        near = _rows(con, "SELECT DISTINCT hcpcs, description FROM pfs_rvu WHERE release = ? AND modifier = '' AND hcpcs LIKE ? "
                          "ORDER BY hcpcs LIMIT 5", [rid, code[:4] + "%"])
        raise UnknownProcedure(msg, near)
    loc = resolve_locality(con, rid, locality) if locality else None
    status = {r["status"]: r for r in _rows(con, "SELECT * FROM pfs_status")}
    out_rows = []
    for r in rvus:
        pay = _rows(con, "SELECT * FROM pfs_payment WHERE release = ? AND hcpcs = ? AND modifier = ? AND locality = 'national'",
                    [rid, code, r["modifier"]])[0]
        row = {
            "modifier": r["modifier"],
            "description": r["description"],
            "status": {"code": r["status"], **{k: v for k, v in status.get(r["status"], {}).items() if k != "status"}},
            "global_days": r["global_days"],
            "pctc_indicator": r["pctc_indicator"],
            "policy": {k: r[k] for k in ("mult_proc", "bilat_surg", "asst_surg", "co_surg", "team_surg")},
            "rvu": {
                "work": _dec(r["work_rvu"]), "nonfacility_pe": _dec(r["nonfacility_pe_rvu"]), "facility_pe": _dec(r["facility_pe_rvu"]),
                "mp": _dec(r["mp_rvu"]), "nonfacility_total": _dec(r["nonfacility_total"]), "facility_total": _dec(r["facility_total"]),
                "nonfacility_na": r["nonfacility_na"], "facility_na": r["facility_na"],
            },
            "conversion_factor": _dec(r["conversion_factor"]),
            "national": _amounts(pay),
        }
        if loc:
            lp = _rows(con, "SELECT * FROM pfs_payment WHERE release = ? AND hcpcs = ? AND modifier = ? AND mac = ? AND locality_number = ?",
                       [rid, code, r["modifier"], loc["mac"], loc["locality"]])
            if lp:
                row["locality"] = {"locality": lp[0]["locality"], "locality_name": lp[0]["locality_name"],
                                   "state": lp[0]["state"], **_amounts(lp[0])}
        out_rows.append(row)
    notice = copyright_notice(con, rid, dental=code.startswith("D"))
    return {"hcpcs": code, "release": _jsonable(rel), "day": (as_of or clock.today()).isoformat(), "copyright": notice, "rows": out_rows,
            "sources": sources(con, [("pfs", rid)])}


def _amounts(p: dict) -> dict:
    return {"nonfacility_amount": _money(p["nonfacility_amount"]), "nonfacility_note": p["nonfacility_note"],
            "facility_amount": _money(p["facility_amount"]), "facility_note": p["facility_note"]}

