"""Parse cache, warehouse build and the atomic publish, without Prefect."""

from __future__ import annotations

import os

import duckdb
import polars as pl
import pytest


from _shared import build_and_publish, CMS, CODES_2024, needs_mirror
from codeetl.build import pipeline
from codeetl.sources.catalog import load_catalog
from codeetl.errors import SourceFormatError, WarehouseError

pytestmark = needs_mirror


def q(db, sql, params=None):
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


def test_warehouse_tables_and_exports(built):
    db = built / "warehouse" / "codeetl.duckdb"
    assert db.is_symlink() and db.resolve().is_file()
    rows = dict(q(db, "SELECT release, count(*) FROM icd10cm_codes WHERE is_billable GROUP BY 1"))
    # at least these releases (the mirror may hold more), each with CMS's published number of valid codes;
    # 2025-04 and 2026-04 have their October sets (April updates changed notes, not codes), 2027 is derived
    # from 2026-04 and the FY2027 addenda, whose trailer publishes 74,879
    published = {"2024": 74_044, "2025": 74_260, "2025-04": 74_260, "2026": 74_719, "2026-04": 74_719, "2027": 74_879}
    assert {r: rows.get(r) for r in published} == published
    assert q(db, "SELECT description, is_billable, parent, category, section, chapter FROM icd10cm_codes "
                 "WHERE release = '2026-04' AND code = 'M96.1'") == [
        ("Postlaminectomy syndrome, not elsewhere classified", True, "M96", "M96", "M96", 13)]
    # every table and column is documented
    assert q(db, "SELECT count(*) FROM duckdb_columns() WHERE NOT internal AND schema_name = 'main' AND (comment IS NULL OR comment = '')") == [(0,)]
    assert q(db, "SELECT count(*) FROM duckdb_tables() WHERE comment IS NULL") == [(0,)]
    # parquet exports equal the tables
    pq = built / "warehouse" / "parquet" / "icd10cm_codes" / "icd10cm_codes.parquet"
    assert pl.read_parquet(pq).height == q(db, "SELECT count(*) FROM icd10cm_codes")[0][0]
    notes = pl.read_parquet(built / "warehouse" / "parquet" / "icd10cm_notes" / "icd10cm_notes.parquet")
    t84 = notes.filter((pl.col("release") == "2026-04") & (pl.col("code") == "M96") & pl.col("referenced_codes").list.contains("T84"))
    assert t84["note_type"].to_list() == ["excludes2"]


def test_releases_table_records_provenance(built, cms_server):
    rows = q(built / "warehouse" / "codeetl.duckdb",
             "SELECT dataset, release, effective_from::VARCHAR, source_url, fetched_from, sha256 FROM releases "
             "WHERE dataset = 'icd10cm' ORDER BY release")
    assert {("icd10cm", "2024", "2023-10-01"), ("icd10cm", "2026-04", "2026-04-01")} <= {(r[0], r[1], r[2]) for r in rows}
    import hashlib
    [fy2024] = [r for r in rows if r[1] == "2024"]
    assert fy2024[5] == hashlib.sha256(CODES_2024.read_bytes()).hexdigest()
    assert fy2024[3].startswith("https://www.cms.gov/") and fy2024[4].startswith(cms_server.url)


def test_unchanged_source_is_not_parsed_again(tmp_path, monkeypatch):
    catalog = load_catalog()
    rel = catalog["icd10cm"].release("2024")
    fetched = pipeline.fetch_step(rel, tmp_path, str(CMS))
    first = pipeline.parse_release_cached(rel, fetched, tmp_path / "raw")
    assert not first.reused
    from codeetl.datasets import icd10cm

    def boom(*a, **k):
        raise AssertionError("parsed again")

    monkeypatch.setattr(icd10cm, "parse_release", boom)
    again = pipeline.parse_release_cached(rel, pipeline.fetch_step(rel, tmp_path, str(CMS)), tmp_path / "raw")
    assert again.reused and again.key == first.key


def test_failed_build_keeps_the_previous_warehouse(tmp_path, monkeypatch):
    db, first = build_and_publish(tmp_path, CMS)
    before_target = os.readlink(tmp_path / "warehouse" / "current")
    parquet_before = sorted(p.name for p in (tmp_path / "warehouse" / "parquet").iterdir())

    def failing_checks(con):
        raise WarehouseError("injected check failure")

    monkeypatch.setattr(pipeline, "run_checks", failing_checks)
    catalog = load_catalog()
    with pytest.raises(WarehouseError, match="injected"):
        pipeline.build_warehouse(pipeline.latest_parses(tmp_path / "raw", catalog), catalog, tmp_path / "warehouse")
    assert os.readlink(tmp_path / "warehouse" / "current") == before_target
    assert sorted(p.name for p in (tmp_path / "warehouse" / "parquet").iterdir()) == parquet_before
    assert [p.name for p in (tmp_path / "warehouse" / "builds").iterdir()] == [first.build_id]  # half-built one removed
    assert q(db, "SELECT count(*) FROM icd10cm_codes") == [(74_044,)]


def test_bad_source_fails_before_publish(tmp_path):
    """A broken source file: the whole refresh stops with an error naming file and line, and the
    previously published warehouse stays current with its data."""
    db, first = build_and_publish(tmp_path, CMS)
    mirror = tmp_path / "mirror" / "icd10cm" / "2024"
    mirror.mkdir(parents=True)
    lines = CODES_2024.read_text().splitlines()
    lines[99] = "this is not a code line"
    (mirror / "icd10cm-codes-2024.txt").write_text("\n".join(lines) + "\n")
    with pytest.raises(SourceFormatError, match=r"icd10cm-codes-2024\.txt, line 100: expected a code"):
        build_and_publish(tmp_path, tmp_path / "mirror")
    assert os.readlink(tmp_path / "warehouse" / "current") == f"builds/{first.build_id}"
    assert q(db, "SELECT count(*) FROM icd10cm_codes") == [(74_044,)]


def test_partly_found_release_with_a_required_file_missing_fails(tmp_path):
    """ipps fy2026 with Table 5 gone (a moved URL): the refresh fails instead of publishing a warehouse
    without MS-DRG weights."""
    mirror = tmp_path / "mirror" / "ipps" / "fy2026"
    mirror.mkdir(parents=True)
    for f in (CMS / "ipps" / "fy2026").iterdir():
        if "Table-5" not in f.name:
            (mirror / f.name).write_bytes(f.read_bytes())
    rel = load_catalog()["ipps"].release("fy2026")
    from codeetl.errors import FetchError
    with pytest.raises(FetchError, match=r"required file\(s\) table5 not found"):
        pipeline.fetch_step(rel, tmp_path, str(tmp_path / "mirror"))


def test_changed_source_is_parsed_again_and_old_parse_removed(tmp_path):
    rel = load_catalog()["icd10cm"].release("2024")
    mirror = tmp_path / "mirror" / "icd10cm" / "2024"
    mirror.mkdir(parents=True)
    lines = CODES_2024.read_text().splitlines()
    (mirror / "icd10cm-codes-2024.txt").write_text("\n".join(lines) + "\n")
    first = pipeline.parse_release_cached(rel, pipeline.fetch_step(rel, tmp_path, str(tmp_path / "mirror")), tmp_path / "raw")
    (mirror / "icd10cm-codes-2024.txt").write_text("\n".join(lines[:-1]) + "\n")  # one code fewer
    second = pipeline.parse_release_cached(rel, pipeline.fetch_step(rel, tmp_path, str(tmp_path / "mirror")), tmp_path / "raw")
    assert not second.reused and second.key != first.key
    assert second.tables["icd10cm_valid_codes"] == first.tables["icd10cm_valid_codes"] - 1
    parsed = tmp_path / "raw" / "icd10cm" / "2024" / "parsed"  # the old parse stays until a build from the new one is published
    assert sorted(p.name for p in parsed.iterdir()) == sorted(["CURRENT", "PREVIOUS", first.key, second.key])
    from codeetl.build.quarantine import confirm

    confirm(tmp_path, {"icd10cm/2024": second.key})
    assert sorted(p.name for p in parsed.iterdir()) == sorted(["CURRENT", second.key])


def test_parse_by_an_older_parser_is_redone_from_the_raw_files(tmp_path, monkeypatch):
    """A newer codeetl re-parses saved releases from their raw files; when those are gone, the error says
    which dataset to refresh and which folder to delete."""
    build_and_publish(tmp_path, CMS)
    parsed = tmp_path / "raw" / "icd10cm" / "2024" / "parsed"
    old_key = (parsed / "CURRENT").read_text()
    from codeetl.datasets import DatasetFolder

    monkeypatch.setattr(DatasetFolder, "fingerprint", lambda self: "a newer parser")
    [d] = pipeline.latest_parses(tmp_path / "raw", load_catalog())
    assert d.name != old_key and (parsed / "CURRENT").read_text() == d.name
    monkeypatch.setattr(DatasetFolder, "fingerprint", lambda self: "newer still")
    (tmp_path / "raw" / "icd10cm" / "2024" / "icd10cm-codes-2024.txt").unlink()
    with pytest.raises(WarehouseError, match=r"refresh them with `codeetl refresh --dataset icd10cm`, or delete .*icd10cm/2024/parsed"):
        pipeline.latest_parses(tmp_path / "raw", load_catalog())


def test_build_reports_its_steps_through_a_plain_callback(tmp_path):
    """The build's progress without Prefect: every step in order, ending at 5 of 5 (issue 20, must-have 5)."""
    catalog = load_catalog()
    rel = catalog["icd10cm"].release("2024")
    pipeline.parse_release_cached(rel, pipeline.fetch_step(rel, tmp_path, str(CMS)), tmp_path / "raw")
    events = []
    result = pipeline.build_warehouse(pipeline.latest_parses(tmp_path / "raw", catalog), catalog,
                                      tmp_path / "warehouse", progress=lambda *e: events.append(e))
    assert [e[1] for e in events] == sorted(e[1] for e in events) and {e[2] for e in events} == {pipeline.BUILD_STEPS}
    texts = [e[3] for e in events]
    assert texts[0].startswith("build: loading") and texts[-1] == f"build: {result.build_id} complete"
    assert "build: quality gates" in texts and "build: code pages of ICD-10-CM 2024 (1 of 1)" in texts
    assert events[-1][1] == pipeline.BUILD_STEPS and all(e[1] < pipeline.BUILD_STEPS for e in events[:-1])
