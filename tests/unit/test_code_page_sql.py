"""The code page SQL on a tiny warehouse built with the real DDL: which MS-DRG version a page uses (the
resolver, by date), and cc_level's default version (compared by its numeric parts: v43.1 > v43 > v9)."""

from __future__ import annotations

import duckdb

from _shared import apply_schema


def warehouse() -> duckdb.DuckDBPyConnection:
    """ICD-10-CM 2026-04 with M96.1; MS-DRG v9, v43 (October) and its April point release v43.1."""
    c = duckdb.connect()
    apply_schema(c, "tables")
    ins = ("INSERT INTO releases (dataset, release, label, effective_from, effective_to, source_url, fetched_from, "
           "sha256, loaded_at) VALUES (?, ?, 'x', ?, ?, 'u', 'u', 's', now())")
    c.execute(ins, ["icd10cm", "2026-04", "2025-10-01", None])
    for version, start, end in (("v9", "1991-10-01", "1992-09-30"), ("v43", "2025-10-01", "2026-03-31"),
                                ("v43.1", "2026-04-01", "2026-09-30")):
        c.execute(ins, ["msdrg", version, start, end])
    c.execute("INSERT INTO icd10cm_chapters VALUES ('2026-04', 13, 'Musculoskeletal', 'M00', 'M99')")
    c.execute("INSERT INTO icd10cm_codes (release, code, code_nodot, description, is_billable, category, chapter, seq) "
              "VALUES ('2026-04', 'M96.1', 'M961', 'Postlaminectomy syndrome', true, 'M96', 13, 1)")
    for version, level in (("v9", "MCC"), ("v43", "CC"), ("v43.1", "MCC")):
        c.execute("INSERT INTO msdrg_cc VALUES (?, 'A00.0', ?, NULL, false, 'Cholera')", [version, level])
    for version, drg in (("v9", "001"), ("v43", "551"), ("v43", "553"), ("v43.1", "552")):
        c.execute("INSERT INTO msdrg_dx_drg VALUES (?, 'M96.1', '08', ?)", [version, drg])
    apply_schema(c, "views")
    return c


def drgs_on(c, day: str) -> tuple[str, list[str]]:
    ms = c.execute("SELECT ms_drg FROM code_page('2026-04', ?::DATE, ['M96.1'])", [day]).fetchone()[0]
    return ms["version"], [d["drg"] for g in ms["as_principal"] for d in g["drgs"]]


def test_the_page_uses_the_msdrg_version_of_its_day():
    c = warehouse()
    assert drgs_on(c, "2026-01-15") == ("v43", ["551", "553"])
    assert drgs_on(c, "2026-05-01") == ("v43.1", ["552"])


def test_cc_level_defaults_to_the_highest_version_by_its_numbers():
    c = warehouse()
    assert c.execute("SELECT cc_level('M96.1', 'A00.0')").fetchone() == ("MCC",)  # v43.1, not v9 (string order)
    assert c.execute("SELECT cc_level('M96.1', 'A00.0', version := 'v43')").fetchone() == ("CC",)
