"""MCD billing and coding article loader, on the synthetic fixture in tests/fixtures/mcd (the real export
is not in the offline mirror). Expectations are computed from the fixture CSVs with the csv module."""

from __future__ import annotations

import csv
import io
import zipfile
from pathlib import Path

import duckdb
import polars as pl
import pytest

from codeetl.sources.catalog import load_catalog
from codeetl.errors import FetchError, SourceFormatError
from codeetl.datasets import mcd
from codeetl.build.warehouse_sql import insert_frame
from _shared import apply_dataset_sql

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "mcd"
RELEASE = load_catalog()["mcd"].release("current")
CSV_INPUTS = {role: FIX / name for role, name in mcd.MEMBERS.items()}


def rows(name: str) -> list[dict]:
    with (FIX / name).open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def expected_links() -> dict[tuple[str, str, str], str]:
    """(dx, hcpcs, source_id) -> note, from the fixture with plain csv reads."""
    display = {(a["article_id"], a["article_version"]): a["display_id"] for a in rows("article.csv")}
    dx_groups: dict[tuple, set] = {}
    for r in rows("article_x_icd10_covered.csv"):
        dx_groups.setdefault((r["article_id"], r["article_version"], r["icd10_code_id"]), set()).add(int(r["icd10_covered_group"]))
    px_groups: dict[tuple, set] = {}
    for r in rows("article_x_hcpc_code.csv"):
        px_groups.setdefault((r["article_id"], r["article_version"], r["hcpc_code_id"]), set()).add(int(r["hcpc_code_group"]))
    out = {}
    for (a, v, dx), g1 in dx_groups.items():
        for (a2, v2, px), g2 in px_groups.items():
            if (a, v) == (a2, v2):
                sid = display[(a, v)]
                out[(dx, px, sid)] = (
                    f"{sid} v{v}; ICD-10 covered group {', '.join(map(str, sorted(g1)))}; CPT/HCPCS group {', '.join(map(str, sorted(g2)))}"
                )
    return out


def zip_bytes(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    return buf.getvalue()


@pytest.fixture()
def export_zips(tmp_path):
    """The fixture packed as CMS ships it: current_article.zip > current_article_csv.zip > CSVs."""
    inner = zip_bytes({p.name: p.read_bytes() for p in FIX.glob("*.csv")})
    inner_path = tmp_path / "current_article_csv.zip"
    inner_path.write_bytes(inner)
    outer_path = tmp_path / "current_article.zip"
    outer_path.write_bytes(zip_bytes({"current_article_csv.zip": inner, "readme.txt": b"license text"}))
    return inner_path, outer_path


def test_tables_from_the_csv_files():
    out = mcd.parse_release(RELEASE, CSV_INPUTS)
    assert set(out) == {"mcd_article", "mcd_article_icd10_covered", "mcd_article_hcpcs", "mcd_article_code_group", "mcd_dx_procedure_link"}
    art = out["mcd_article"]
    assert art.height == len(rows("article.csv")) == 3
    assert art.filter(pl.col("article_id") == 99001).row(0, named=True)["display_id"] == "A99001"
    assert str(art.filter(pl.col("article_id") == 99002)["effective_date"][0]) == "2026-01-01"
    cov = out["mcd_article_icd10_covered"]
    assert cov.height == len(rows("article_x_icd10_covered.csv")) == 12
    assert sorted(set(cov["icd10_code"])) == sorted({r["icd10_code_id"] for r in rows("article_x_icd10_covered.csv")})
    assert cov.filter(pl.col("icd10_code") == "M54.16")["asterisk"].to_list() == [None, "*"]
    hc = out["mcd_article_hcpcs"]
    assert hc.height == 8 and hc["line_no"].to_list() == list(range(2, 10))
    groups = out["mcd_article_code_group"]
    assert groups.height == 6
    para = groups.filter((pl.col("article_id") == 99001) & (pl.col("code_kind") == "icd10_covered"))["paragraph"][0]
    assert para == "Group 1 Paragraph: The following ICD-10-CM codes support medical necessity for CPT codes 62321, 62323, 64483 and 64484 \u2013 fixture text."
    assert "&" not in "".join(groups["paragraph"]) and "<" not in "".join(groups["paragraph"])


def test_links_pair_codes_within_each_article_version():
    links = mcd.parse_release(RELEASE, CSV_INPUTS)["mcd_dx_procedure_link"]
    assert links.columns == ["dx", "hcpcs", "source", "source_id", "source_release", "note", "line_no"]
    got = {(r["dx"], r["hcpcs"], r["source_id"]): r["note"] for r in links.iter_rows(named=True)}
    assert got == expected_links()
    assert links.height == 7 * 4 + 4 * 4  # A99001: 7 dx x 4 codes; A99002: 4 distinct dx x 4 codes; A99003: none
    assert set(links["source"]) == {"mcd_article"} and set(links["source_release"]) == {"current"}
    # a diagnosis listed in two ICD-10 groups is one link, naming both groups
    assert got[("M51.16", "63048", "A99002")] == "A99002 v7; ICD-10 covered group 1, 2; CPT/HCPCS group 2"
    assert ("M96.1", "62323", "A99001") in got and ("M96.1", "63030", "A99002") in got


@pytest.mark.parametrize("which", ["inner", "outer"])
def test_export_zip_gives_the_same_tables(export_zips, which):
    inner, outer = export_zips
    from_zip = mcd.parse_release(RELEASE, {"export": inner if which == "inner" else outer})
    from_csv = mcd.parse_release(RELEASE, CSV_INPUTS)
    for table, frame in from_csv.items():
        assert from_zip[table].equals(frame), table


def test_missing_required_table(tmp_path):
    with pytest.raises(FetchError, match="article_x_hcpc_code.csv"):
        mcd.parse_release(RELEASE, {"article_x_icd10_covered": CSV_INPUTS["article_x_icd10_covered"]})
    z = tmp_path / "empty.zip"
    z.write_bytes(zip_bytes({"readme.txt": b"x"}))
    with pytest.raises(FetchError):
        mcd.parse_release(RELEASE, {"export": z})


def _edited(tmp_path: Path, name: str, line: int, new: str) -> Path:
    lines = (FIX / name).read_text(encoding="utf-8").splitlines()
    lines[line - 1] = new
    p = tmp_path / name
    p.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return p


def test_malformed_rows_name_file_and_line(tmp_path, export_zips):
    bad = _edited(tmp_path, "article_x_icd10_covered.csv", 4, "99001,3,M5X.1.6,1,1,,3,bad code,,2025-11-13")
    with pytest.raises(SourceFormatError) as exc:
        mcd.parse_release(RELEASE, {**CSV_INPUTS, "article_x_icd10_covered": bad})
    assert (exc.value.path, exc.value.line) == (str(bad), 4) and "an ICD-10-CM code" in str(exc.value)

    bad = _edited(tmp_path, "article_x_hcpc_code.csv", 3, "99001,3,6232,1,1,,2025-11-13,x,y")
    with pytest.raises(SourceFormatError) as exc:
        mcd.parse_release(RELEASE, {**CSV_INPUTS, "article_x_hcpc_code": bad})
    assert exc.value.line == 3 and "5-character CPT/HCPCS code" in str(exc.value)

    bad = _edited(tmp_path, "article_x_hcpc_code.csv", 5, "99001,3,64484,1,one,,2025-11-13,x,y")
    with pytest.raises(SourceFormatError) as exc:
        mcd.parse_release(RELEASE, {**CSV_INPUTS, "article_x_hcpc_code": bad})
    assert exc.value.line == 5 and "hcpc_code_group: a whole number" in str(exc.value)

    bad = _edited(tmp_path, "article_x_hcpc_code.csv", 1, "article_id,article_version,code,hcpc_code_version,hcpc_code_group,range,last_updated,long_description,short_description")
    with pytest.raises(SourceFormatError) as exc:
        mcd.parse_release(RELEASE, {**CSV_INPUTS, "article_x_hcpc_code": bad})
    assert exc.value.line == 1 and "hcpc_code_id" in str(exc.value)

    bad = _edited(tmp_path, "article.csv", 3, "99002,7,1,Too few fields")
    with pytest.raises(SourceFormatError) as exc:
        mcd.parse_release(RELEASE, {**CSV_INPUTS, "article": bad})
    assert exc.value.line == 3 and "10 fields" in str(exc.value)

    bad = _edited(tmp_path, "article.csv", 2, '99001,3,1,"Title",2025-11-13,2025-13-45,,A,2025-11-13,A99001')
    with pytest.raises(SourceFormatError) as exc:
        mcd.parse_release(RELEASE, {**CSV_INPUTS, "article": bad})
    assert exc.value.line == 2 and "article_eff_date: a date" in str(exc.value)

    # inside the zip, the error names the archive member
    inner, _ = export_zips
    files = {p.name: p.read_bytes() for p in FIX.glob("*.csv")}
    files["article_x_icd10_covered.csv"] = (tmp_path / "article_x_icd10_covered.csv").read_bytes()
    z = tmp_path / "bad_csv.zip"
    z.write_bytes(zip_bytes(files))
    with pytest.raises(SourceFormatError) as exc:
        mcd.parse_release(RELEASE, {"export": z})
    assert exc.value.path == f"{z}!/article_x_icd10_covered.csv" and exc.value.line == 4


def test_dates_and_windows_1252(tmp_path):
    text = (FIX / "article.csv").read_text(encoding="utf-8").splitlines()
    text[1] = '99001,3,1,"Billing and Coding: Epidural Steroid Injections \u2013 Pain (fixture)",11/13/2025,11/23/2025,,A,11/13/2025,A99001'
    p = tmp_path / "article.csv"
    p.write_bytes(("\r\n".join(text) + "\r\n").encode("cp1252"))  # 0x96 en dash: not UTF-8
    art = mcd.parse_release(RELEASE, {**CSV_INPUTS, "article": p})["mcd_article"]
    row = art.filter(pl.col("article_id") == 99001).row(0, named=True)
    assert row["title"] == "Billing and Coding: Epidural Steroid Injections \u2013 Pain (fixture)"
    assert str(row["effective_date"]) == "2025-11-23" and str(row["last_updated"]) == "2025-11-13"


def test_without_article_table_ids_are_made_from_numbers():
    inputs = {k: v for k, v in CSV_INPUTS.items() if k != "article"}
    links = mcd.parse_release(RELEASE, inputs)["mcd_dx_procedure_link"]
    assert set(links["source_id"]) == {"A99001", "A99002"}


def test_loads_into_the_warehouse_tables():
    con = duckdb.connect()
    apply_dataset_sql(con, "mcd")
    apply_dataset_sql(con, "links")
    for table, frame in mcd.parse_release(RELEASE, CSV_INPUTS).items():
        assert insert_frame(con, table, frame) == frame.height
    apply_dataset_sql(con, "links", "views")
    got = con.execute(
        "SELECT hcpcs, source_id FROM dx_procedure_link WHERE dx = 'M96.1' ORDER BY source_id, hcpcs"
    ).fetchall()
    assert got == [("62321", "A99001"), ("62323", "A99001"), ("64483", "A99001"), ("64484", "A99001"),
                   ("63030", "A99002"), ("63047", "A99002"), ("63048", "A99002"), ("63056", "A99002")]
    missing = con.execute(
        "SELECT table_name, column_name FROM duckdb_columns() WHERE (table_name LIKE 'mcd_%' OR table_name = 'dx_procedure_link') AND (comment IS NULL OR comment = '')"
    ).fetchall()
    assert missing == []
    assert all(c for (c,) in con.execute("SELECT comment FROM duckdb_tables()").fetchall())
