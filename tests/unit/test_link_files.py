"""Curated link files: reading and validation on small files (no mirror needed)."""

from __future__ import annotations

import duckdb
import pytest
from codeetl.datasets import links
from codeetl.errors import SourceFormatError
from codeetl.build.warehouse_sql import insert_frame
from _shared import apply_dataset_sql



def test_unknown_and_malformed_codes_are_reported_not_loaded(tmp_path):
    p = tmp_path / "demo.csv"
    p.write_text(
        "dx,hcpcs,source,note\n"
        "M96.1,63030,page A,ok\n"  # 2 valid
        "M54.5,63030,page A,\n"  # 3 unknown dx
        "M961,99999,page A,\n"  # 4 undotted dx is fine; unknown hcpcs
        "961,6303,page A,\n"  # 5 malformed dx and hcpcs
        "M96.1,63047,,\n"  # 6 missing source
        "m96.1,63030,page A,again\n"  # 7 duplicate of line 2 (case and dot insensitive)
        ",63047,page A,\n"  # 8 missing dx
        "M96.1,63047,page B,\n",  # 9 valid
        encoding="utf-8",
    )
    valid, problems = links.validate_links(links.read_links_csv(p), {"M96.1", "M54.50"}, {"63030", "63047"})
    assert [(r["line_no"], r["dx"], r["hcpcs"]) for r in valid.iter_rows(named=True)] == [(2, "M96.1", "63030"), (9, "M96.1", "63047")]
    assert [(q.file, q.line, q.code, q.why) for q in problems] == [
        ("demo.csv", 3, "M54.5", "unknown ICD-10-CM code (not in the loaded ICD-10-CM release)"),
        ("demo.csv", 4, "99999", "unknown CPT/HCPCS code (not in the loaded fee schedule)"),
        ("demo.csv", 5, "961", "not an ICD-10-CM code (expected a letter, two letters or digits and up to four more, e.g. M96.1, QA0.0101)"),
        ("demo.csv", 5, "6303", "not a CPT/HCPCS code (expected 5 letters/digits)"),
        ("demo.csv", 6, "", "missing source"),
        ("demo.csv", 7, "M96.1 63030", "duplicate of line 2"),
        ("demo.csv", 8, "", "missing ICD-10-CM code (dx)"),
    ]
    assert str(problems[0]) == "demo.csv, line 3: M54.5: unknown ICD-10-CM code (not in the loaded ICD-10-CM release)"


def test_bad_files_raise_source_format_error(tmp_path):
    p = tmp_path / "bad_header.csv"
    p.write_text("diagnosis,hcpcs,source,note\nM96.1,63030,x,\n", encoding="utf-8")
    with pytest.raises(SourceFormatError) as exc:
        links.read_links_csv(p)
    assert exc.value.line == 1 and "dx,hcpcs,source,note" in str(exc.value)
    p = tmp_path / "bad_row.csv"
    p.write_text("dx,hcpcs,source,note\nM96.1,63030,x,\nM96.1,63030\n", encoding="utf-8")
    with pytest.raises(SourceFormatError) as exc:
        links.read_links_csv(p)
    assert exc.value.line == 3


def test_folder_reading_and_loading(tmp_path):
    (tmp_path / "b.csv").write_text("hcpcs,dx,note,source\n63030,M96.1,,src\n", encoding="utf-8")
    (tmp_path / "a.csv").write_text("dx,hcpcs,source,note\nM96.1,99213,src,\n", encoding="utf-8")
    frame = links.read_link_files(tmp_path)
    assert frame["file"].to_list() == ["a.csv", "b.csv"] and frame["hcpcs"].to_list() == ["99213", "63030"]
    assert links.read_link_files(tmp_path / "none").height == 0
    valid, problems = links.validate_links(frame, {"M961"}, {"63030", "99213"})
    assert problems == [] and valid["dx"].to_list() == ["M96.1", "M96.1"]
    con = duckdb.connect()
    apply_dataset_sql(con, "mcd")
    apply_dataset_sql(con, "links")
    apply_dataset_sql(con, "links", "views")
    assert insert_frame(con, "curated_link", links.to_curated_link(valid)) == 2
    assert con.execute("SELECT count(*) FROM dx_procedure_link WHERE source_release IS NULL").fetchone() == (2,)


def test_codes_with_a_letter_in_second_place_are_icd10(tmp_path):
    """QA0.0101 (new in FY2026) has a letter in the second position, like the U and Q codes."""
    p = tmp_path / "qa0.csv"
    p.write_text("dx,hcpcs,source,note\nQA0.0101,63030,page A,\nQA00101,63047,page A,\nQ,63030,page A,\n", encoding="utf-8")
    valid, problems = links.validate_links(links.read_links_csv(p), {"QA0.0101"}, {"63030", "63047"})
    assert valid["dx"].to_list() == ["QA0.0101", "QA0.0101"]
    assert [(q.line, q.code) for q in problems] == [(4, "Q")] and problems[0].why.startswith("not an ICD-10-CM code")
