"""The code page export fits in DuckDB's memory with room to spare: every part and page file of every loaded
ICD-10-CM release is made again from the session's warehouse (built from the whole mirror) under a memory limit
150MB below the build's, and comes out equal to the build's page files.

Before the frame streamed (each code with a copy of its category's list, a hash table of the wide rows, a sort
of them), the frame of FY2027 failed under 450MB in every run and under 600MB in some: CI's out-of-memory."""

from __future__ import annotations

import shutil

import duckdb
import pytest
from _shared import needs_mirror

from codeetl.build.code_pages import export_code_pages
from codeetl.build.pipeline import BUILD_MEMORY_LIMIT

pytestmark = [needs_mirror, pytest.mark.slow]

LIMIT_MB = int(BUILD_MEMORY_LIMIT.removesuffix("MB")) - 150


def test_every_release_s_code_pages_are_made_150mb_under_the_build_limit(built, tmp_path):
    db = tmp_path / "copy.duckdb"
    shutil.copy(built / "warehouse" / "codeetl.duckdb", db)
    con = duckdb.connect(str(db))
    con.execute(f"SET temp_directory = '{tmp_path / 'spill'}'")
    con.execute(f"SET memory_limit = '{LIMIT_MB}MB'")
    export_code_pages(con, tmp_path / "code_page")  # no cache: every part computed here
    releases = [r[0] for r in con.execute(
        "SELECT DISTINCT release FROM releases WHERE dataset = 'icd10cm' ORDER BY release").fetchall()]
    con.close()
    assert {"2025", "2025-04", "2026-04"} <= set(releases)  # full Tabular releases, ~98,000 nodes each
    check = duckdb.connect()
    for rid in releases:
        made = str(tmp_path / "code_page" / f"icd10cm_release={rid}" / "code_page.parquet")
        published = str(built / "warehouse" / "parquet" / "code_page" / f"icd10cm_release={rid}" / "code_page.parquet")
        for a, b in ((made, published), (published, made)):
            differ = check.execute("SELECT count(*) FROM (SELECT * FROM read_parquet(?, hive_partitioning = false) "
                                   "EXCEPT ALL SELECT * FROM read_parquet(?, hive_partitioning = false))", [a, b]).fetchone()[0]
            assert differ == 0, f"{rid}: {differ} rows of {a} not in {b}"
