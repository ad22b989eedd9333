"""ICD-9-CM through the GEMs: the ``icd9`` section of a code page and the ``codeetl icd9`` page."""

from __future__ import annotations

import re
from typing import Any

import duckdb

from codeetl.codes import icd9dx_dotted
from codeetl.errors import CodeEtlError
from codeetl.pages.common import CodeNotFound, MalformedCode, rows as _rows, sources


_ICD9_RE = re.compile(r"^(?:\d{3}(?:\.?\d{1,2})?|V\d{2}(?:\.?\d{1,2})?|E\d{3}(?:\.?\d)?)$")

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
