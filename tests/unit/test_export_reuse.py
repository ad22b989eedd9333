"""What a build reuses from the warehouse folder's cache: a table's or view's parquet export when what it is made
of is unchanged (codeetl.build.table_export), a release's page store when its page file and the earlier releases' stores are (codeetl.build.page_store).
Reuse is a hard link to the kept file: the same inode."""

from __future__ import annotations

import duckdb

from codeetl.build.page_store import PAGE_STORE, release_file, write_page_store
from codeetl.build.table_export import export_tables
from codeetl.pages.store import stored_page

INPUTS = {"code": "c1", "duckdb": duckdb.__version__}


def _db():
    con = duckdb.connect()
    con.execute("CREATE TABLE a (k INTEGER, v VARCHAR)")
    con.execute("CREATE TABLE b (k INTEGER)")
    con.execute("CREATE TABLE releases (release VARCHAR, loaded_at TIMESTAMPTZ)")
    con.execute("INSERT INTO a VALUES (1, 'x'), (2, 'y')")
    con.execute("INSERT INTO b VALUES (1)")
    con.execute("INSERT INTO releases VALUES ('R1', now())")
    con.execute("CREATE VIEW va AS SELECT k, upper(v) AS v FROM a")
    con.execute("CREATE MACRO from_b() AS TABLE SELECT k FROM b")
    con.execute("CREATE VIEW vb AS SELECT * FROM from_b()")  # reads b through a macro
    con.execute("CREATE VIEW vr AS SELECT release FROM releases")  # loaded_at left out: reusable
    con.execute("CREATE VIEW vt AS SELECT release, loaded_at FROM releases")  # the build's time: never reused
    return con


def _inodes(out, names):
    return {n: (out / n / f"{n}.parquet").stat().st_ino for n in names}


def test_an_export_is_reused_only_while_what_it_reads_is_unchanged(tmp_path):
    names = ["a", "b", "releases", "va", "vb", "vr", "vt"]
    con = _db()
    assert export_tables(con, names, tmp_path / "one", tmp_path, INPUTS) == 0
    first = _inodes(tmp_path / "one", names)
    con.execute("UPDATE releases SET loaded_at = now() + INTERVAL 1 DAY")  # a new build of the same inputs
    assert export_tables(con, names, tmp_path / "two", tmp_path, INPUTS) == 5
    second = _inodes(tmp_path / "two", names)
    assert {n for n in names if first[n] == second[n]} == {"a", "b", "va", "vb", "vr"}
    con.execute("INSERT INTO b VALUES (2)")  # b changed: b and vb exported anew, a and va reused
    assert export_tables(con, names, tmp_path / "three", tmp_path, INPUTS) == 4
    third = _inodes(tmp_path / "three", names)
    assert {n for n in names if second[n] == third[n]} == {"a", "va", "vr", "releases"}
    assert duckdb.connect().execute(f"SELECT list(k ORDER BY k) FROM '{tmp_path / 'three' / 'vb' / 'vb.parquet'}'").fetchone()[0] == [1, 2]
    assert export_tables(con, names, tmp_path / "four", tmp_path, {**INPUTS, "code": "c2"}) == 0  # new build code


def test_a_release_page_store_is_reused_by_its_page_file_key(tmp_path):
    """Release stores share one value numbering, in effective-date order (R2 is before R1 here): a store holds
    only the values the earlier ones lack, and is reused only while it and every store before it are unchanged."""
    con = duckdb.connect()
    rows = {"R1": "('A00', 'R1'), ('A01', 'x'), ('A03', 'y')",  # A03: a code of the later release, a value
            "R2": "('A00', 'R2'), ('A01', 'x'), ('A02', 'A03')"}  # of column v of the earlier one
    for rid, first in (("R1", "2025-10-01"), ("R2", "2025-04-01")):
        folder = tmp_path / "parquet" / "code_page" / f"icd10cm_release={rid}"
        folder.mkdir(parents=True)
        con.execute(f"COPY (SELECT code, v, {{'release': '{rid}', 'effective_from': DATE '{first}'}} AS release FROM "
                    f"(VALUES {rows[rid]}) t(code, v)) TO '{folder / 'code_page.parquet'}'")
    lines: list[str] = []
    keys = {"R1": "k1", "R2": "k2"}

    def build(name, build_keys, pages=6):
        assert write_page_store(con, tmp_path / "parquet" / "code_page", tmp_path / name / PAGE_STORE, lines.append,
                                tmp_path, build_keys) == pages
        duckdb.connect(str(tmp_path / name / "codeetl.duckdb")).close()
        return {r: (tmp_path / name / PAGE_STORE / release_file(r)).stat().st_ino for r in keys}

    b1 = build("b1", keys)
    assert lines == ["build: page store of ICD-10-CM R2 (1 of 2): 3 pages, 7 new values",  # 3 codes, 3 v, the release
                     "build: page store of ICD-10-CM R1 (2 of 2): 3 pages, 4 new values"]  # A03, 2 v, the release
    b2 = build("b2", {**keys, "R1": "k3"})  # the later page file changed: only its store is written
    assert lines[2:] == ["build: page store of ICD-10-CM R2 (1 of 2): unchanged, reused",
                         "build: page store of ICD-10-CM R1 (2 of 2): 3 pages, 4 new values"]
    assert b1["R2"] == b2["R2"] and b1["R1"] != b2["R1"]
    b3 = build("b3", {**keys, "R2": "k4"})  # the earlier one changed: both are written
    assert lines[4:] == ["build: page store of ICD-10-CM R2 (1 of 2): 3 pages, 7 new values",
                         "build: page store of ICD-10-CM R1 (2 of 2): 3 pages, 4 new values"]
    assert b3["R2"] != b1["R2"] and b3["R1"] != b1["R1"] and b3["R1"] != b2["R1"]
    for name in ("b1", "b2"):  # each page read back whole, its values from both files
        read = duckdb.connect(str(tmp_path / name / "codeetl.duckdb"), read_only=True)
        for rid in keys:
            assert stored_page(read, rid, "A01")["v"] == "x" and stored_page(read, rid, "A00")["v"] == rid
            assert stored_page(read, rid, "A00")["release"]["release"] == rid
        assert stored_page(read, "R1", "A03")["v"] == "y" and stored_page(read, "R2", "A02")["v"] == "A03"
        read.close()
    (tmp_path / "b3" / PAGE_STORE / release_file("R1")).unlink()  # the earlier release's store needs no later one
    read = duckdb.connect(str(tmp_path / "b3" / "codeetl.duckdb"), read_only=True)
    assert [stored_page(read, "R2", c)["v"] for c in ("A00", "A01", "A02")] == ["R2", "x", "A03"]
    read.close()
    folder = tmp_path / "parquet" / "code_page" / "icd10cm_release=R3"  # a newest release after two reused stores
    folder.mkdir()
    con.execute(f"COPY (SELECT code, v, {{'release': 'R3', 'effective_from': DATE '2026-04-01'}} AS release FROM "
                f"(VALUES ('A00', 'R3'), ('A01', 'x'), ('A02', 'A03')) t(code, v)) TO '{folder / 'code_page.parquet'}'")
    build("b4", {**keys, "R3": "k5"}, pages=9)
    assert lines[6:8] == ["build: page store of ICD-10-CM R2 (1 of 3): unchanged, reused",
                          "build: page store of ICD-10-CM R1 (2 of 3): unchanged, reused"]
    read = duckdb.connect(str(tmp_path / "b4" / "codeetl.duckdb"), read_only=True)
    assert [stored_page(read, "R3", c)["v"] for c in ("A00", "A01", "A02")] == ["R3", "x", "A03"]
    assert [stored_page(read, r, "A00")["v"] for r in ("R1", "R2")] == ["R1", "R2"]


def test_the_search_index_reads_only_the_tables_its_key_follows():
    """search_key follows the ICD-10-CM parses only: the index's SQL must read no table of another dataset (or a view)."""
    import re

    from _shared import apply_schema
    from codeetl.build.search_index import READS
    from codeetl.build.warehouse_sql import sql_text

    con = duckdb.connect()
    apply_schema(con, "tables")
    apply_schema(con, "views")
    objects = {n for (n,) in con.execute("SELECT table_name FROM duckdb_tables() UNION SELECT view_name FROM duckdb_views() "
                                         "WHERE NOT internal UNION SELECT function_name FROM duckdb_functions() WHERE NOT internal "
                                         "AND function_type IN ('macro', 'table_macro')").fetchall()}
    text = re.sub(r"--[^\n]*", "", sql_text("serving/search.sql")).lower()  # the statements, not their comments
    named = {w for w in re.findall(r"[a-z_][a-z0-9_]*", text) if w in objects}
    assert named == set(READS)


def test_the_search_index_is_reused_while_no_icd10cm_release_changes(tmp_path):
    from _shared import apply_schema
    from codeetl.build.search_index import search_key, write_search_index_cached

    con = duckdb.connect()
    apply_schema(con, "tables")
    con.execute("INSERT INTO icd10cm_codes (release, code, code_nodot, description, is_billable, category, seq) "
                "VALUES ('R1', 'M96.1', 'M961', 'Postlaminectomy syndrome, not elsewhere classified', true, 'M96', 1)")
    inputs = {**INPUTS, "parses": {"icd10cm/R1": "k1", "pfs/2026-A": "p1"}}
    lines = []
    for name, parses in (("one", inputs["parses"]), ("two", {**inputs["parses"], "pfs/2026-B": "p2"}),
                         ("three", {**inputs["parses"], "icd10cm/R2": "k2"})):
        (tmp_path / name).mkdir()
        write_search_index_cached(con, tmp_path / name / "search.sqlite", tmp_path, {**inputs, "parses": parses}, lines.append)
    ino = {n: (tmp_path / n / "search.sqlite").stat().st_ino for n in ("one", "two", "three")}
    assert ino["one"] == ino["two"] != ino["three"]  # a PFS quarter added: the same file; an ICD-10-CM release: a new one
    assert "reused" in lines[1] and "reused" not in lines[0] + lines[2]
    assert search_key(inputs) != search_key({**inputs, "code": "c2"})
    dated = {**inputs, "calendar": {"icd10cm/R1": ["R1", "2025-10-01", None, {}]}}
    (tmp_path / "four").mkdir()  # the same parses, a release's catalog date added: a release derived from addenda
    write_search_index_cached(con, tmp_path / "four" / "search.sqlite", tmp_path, dated, lines.append)  # picks its base by it
    assert (tmp_path / "four" / "search.sqlite").stat().st_ino not in (ino["one"], ino["three"]) and "reused" not in lines[3]


def test_the_msdrg_changes_export_is_kept_while_no_msdrg_release_changes(tmp_path):
    """msdrg_changes (seconds to compute over nine grouper versions) reads the MS-DRG tables and msdrg_versions, not
    releases: a refresh that adds an ICD-10-CM release or a PFS quarter links its kept export; an MS-DRG release
    added writes it anew."""
    from _shared import apply_schema
    from codeetl.build.table_export import _Keys
    from codeetl.datasets import dataset

    con = duckdb.connect()
    apply_schema(con, "tables")
    apply_schema(con, "views")
    derive = dataset("msdrg").sql("derive")  # as a build does, once every release is loaded
    assert {t for t in _Keys(con, INPUTS)._reads("msdrg_changes")} <= {
        "msdrg_versions", "msdrg_drg_def", "msdrg_drg_weight", "msdrg_dx_drg", "msdrg_cc"}
    row = "INSERT INTO releases (dataset, release, label, effective_from, source_url, fetched_from, sha256, loaded_at) " \
          "VALUES (?, ?, ?, ?, 'u', 'f', 's', now())"
    con.execute(row, ["msdrg", "v43", "MS-DRG v43", "2025-10-01"])
    con.execute("INSERT INTO msdrg_drg_def (version, drg, mdc, type, title) VALUES ('v43', '001', 'PRE', 'SURG', 'Heart transplant')")
    con.execute(derive)
    export_tables(con, ["msdrg_changes"], tmp_path / "one", tmp_path, INPUTS)
    con.execute(row, ["icd10cm", "2027", "FY2027", "2026-10-01"])  # another dataset's release: kept
    assert export_tables(con, ["msdrg_changes"], tmp_path / "two", tmp_path, INPUTS) == 1
    con.execute(row, ["msdrg", "v44", "MS-DRG v44", "2026-10-01"])  # an MS-DRG release: written anew
    con.execute("INSERT INTO msdrg_drg_def (version, drg, mdc, type, title) VALUES ('v44', '001', 'PRE', 'SURG', 'Heart transplant or implant')")
    con.execute("DELETE FROM msdrg_versions")
    con.execute(derive)
    assert export_tables(con, ["msdrg_changes"], tmp_path / "three", tmp_path, INPUTS) == 0
    assert duckdb.connect().execute(f"SELECT change, subject FROM '{tmp_path / 'three' / 'msdrg_changes' / 'msdrg_changes.parquet'}'"
                                    ).fetchall() == [("retitled", "001")]
