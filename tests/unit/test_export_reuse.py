"""What a build reuses from the warehouse folder's cache: a table's or view's parquet export when what it is made
of is unchanged (codeetl.build.table_export), a release's page store when its page file is (codeetl.build.page_store).
Reuse is a hard link to the kept file: the same inode."""

from __future__ import annotations

import duckdb

from codeetl.build.page_store import PAGE_STORE, release_file, write_page_store
from codeetl.build.table_export import export_tables

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
    con = duckdb.connect()
    for rid in ("R1", "R2"):
        folder = tmp_path / "parquet" / "code_page" / f"icd10cm_release={rid}"
        folder.mkdir(parents=True)
        con.execute(f"COPY (SELECT * FROM (VALUES ('A00', '{rid}'), ('A01', 'x')) t(code, v)) TO '{folder / 'code_page.parquet'}'")
    lines: list[str] = []
    keys = {"R1": "k1", "R2": "k2"}
    assert write_page_store(con, tmp_path / "parquet" / "code_page", tmp_path / "b1" / PAGE_STORE, lines.append, tmp_path, keys) == 4
    assert write_page_store(con, tmp_path / "parquet" / "code_page", tmp_path / "b2" / PAGE_STORE, lines.append, tmp_path,
                            {**keys, "R2": "k3"}) == 4
    assert lines[2:] == ["build: page store of ICD-10-CM R1 (1 of 2): unchanged, reused",
                         "build: page store of ICD-10-CM R2 (2 of 2): 2 pages, 4 distinct values"]
    ino = {b: {r: (tmp_path / b / PAGE_STORE / release_file(r)).stat().st_ino for r in keys} for b in ("b1", "b2")}
    assert ino["b1"]["R1"] == ino["b2"]["R1"] and ino["b1"]["R2"] != ino["b2"]["R2"]
