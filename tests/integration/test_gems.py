"""GEMs parser on the real 2018 files (../shared/cms/gems/2018), checked against a plain-Python read.

The independent read splits each line on whitespace and dots codes with its own slicing rules; it never
calls codeetl code. Expected spot facts (M96.1 -> 722.80-722.83, 250.12's combination entry) were read
from the files by eye.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import polars as pl
import pytest

from codeetl.sources.catalog import Release, load_catalog
from codeetl.errors import SourceFormatError
from codeetl.datasets import gems
from codeetl.build.warehouse_sql import insert_frame
from _shared import apply_dataset_sql, needs_mirror

from _shared import CMS  # noqa: E402

pytestmark = needs_mirror
I9GEM = CMS / "gems" / "2018" / "2018_I9gem.txt"
I10GEM = CMS / "gems" / "2018" / "2018_I10gem.txt"

RELEASE = Release("gems", "2018", "2018 GEMs", dt.date(2017, 10, 1), None, ())


@pytest.fixture(scope="module")
def tables():
    return gems.parse_release(RELEASE, {"i9_to_i10": I9GEM, "i10_to_i9": I10GEM})


@pytest.fixture(scope="module")
def fwd(tables):
    return tables["gem_icd9_to_icd10"]


@pytest.fixture(scope="module")
def bwd(tables):
    return tables["gem_icd10_to_icd9"]


# --- independent read -----------------------------------------------------------------------------


def dot9(c: str) -> str:
    if c == "NoDx":
        return c
    head = 4 if c.startswith("E") else 3
    return c if len(c) <= head else c[:head] + "." + c[head:]


def dot10(c: str) -> str:
    if c == "NoDx":
        return c
    return c if len(c) <= 3 else c[:3] + "." + c[3:]


def read_gem(path: Path, source_is_icd9: bool) -> list[tuple]:
    rows = []
    with open(path, encoding="ascii", newline="") as f:
        for n, line in enumerate(f, 1):
            assert line.endswith("\r\n"), f"line {n} is not CRLF"
            src, tgt, flags = line.split()
            src, tgt = src.upper(), (tgt if tgt == "NoDx" else tgt.upper())
            s_dot, t_dot = (dot9, dot10) if source_is_icd9 else (dot10, dot9)
            rows.append(
                (
                    "2018", n, s_dot(src), t_dot(tgt), src, tgt,
                    flags[0] == "1", flags[1] == "1", flags[2] == "1", int(flags[3]), int(flags[4]),
                )
            )
    return rows


def test_columns_and_types(fwd, bwd):
    for t in (fwd, bwd):
        assert t.columns == gems.COLUMNS
        assert t.schema["approximate"] == pl.Boolean and t.schema["scenario"] == pl.Int16
        assert t.schema["line_no"] == pl.Int32


def test_forward_file_equals_independent_read(fwd):
    expected = read_gem(I9GEM, source_is_icd9=True)
    assert len(expected) == 24_860
    assert fwd.rows() == expected


def test_backward_file_equals_independent_read(bwd):
    expected = read_gem(I10GEM, source_is_icd9=False)
    assert len(expected) == 81_593
    assert bwd.rows() == expected


def test_m96_1_backward_targets(bwd):
    rows = bwd.filter(pl.col("source") == "M96.1").sort("line_no")
    assert rows["target"].to_list() == ["722.80", "722.81", "722.82", "722.83"]
    assert rows["approximate"].to_list() == [True] * 4
    assert not rows["combination"].any() and not rows["no_map"].any()
    assert rows["source_nodot"].unique().to_list() == ["M961"]


def test_diabetes_combination_reads_as_and_or(fwd):
    """250.12 (DM type II with ketoacidosis, uncontrolled): scenario 1 = one of list 1 AND list 2."""
    rows = fwd.filter(pl.col("source") == "250.12")
    assert rows["combination"].all() and rows["approximate"].all()
    lists = {
        (r["scenario"], r["choice_list"]): sorted(r["target"])
        for r in rows.group_by("scenario", "choice_list").agg("target").iter_rows(named=True)
    }
    assert lists == {(1, 1): ["E11.10", "E11.69", "E13.10"], (1, 2): ["E11.65"]}
    # 250.10 is not a combination: plain one-to-many approximate alternatives
    plain = fwd.filter(pl.col("source") == "250.10")
    assert plain["target"].to_list() == ["E11.10", "E11.69", "E13.10"]
    assert not plain["combination"].any() and plain["scenario"].to_list() == [0, 0, 0]


def test_several_scenarios_exist(fwd):
    multi = fwd.filter(pl.col("combination")).group_by("source").agg(pl.col("scenario").n_unique().alias("n"))
    assert multi["n"].max() >= 2
    # every combination scenario has at least two choice lists (otherwise it would not be a combination)
    per = fwd.filter(pl.col("combination")).group_by("source", "scenario").agg(pl.col("choice_list").n_unique().alias("k"))
    assert per["k"].min() >= 2


def test_icd9_dotting_e_and_v_codes(fwd, bwd):
    assert "E880.9" in fwd["source"].to_list()
    assert fwd.filter(pl.col("source") == "E880.9")["target"].to_list() == ["W10.8XXA"]
    assert "V45.4" in fwd["source"].to_list()
    assert "E880.9" in bwd["target"].to_list()


def test_lower_case_code_in_2018_backward_file_is_upper_cased(bwd):
    row = bwd.filter(pl.col("line_no") == 73170).row(0, named=True)
    assert (row["source"], row["target"], row["target_nodot"]) == ("T88.53XD", "V58.89", "V5889")


def test_no_map_rows(fwd, bwd):
    for t, n in ((fwd, 422), (bwd, 731)):
        nm = t.filter(pl.col("no_map"))
        assert nm.height == n
        assert set(nm["target"]) == {"NoDx"} and set(nm["target_nodot"]) == {"NoDx"}
    assert fwd.filter(pl.col("source") == "365.70")["target"].to_list() == ["NoDx"]


# --- errors ---------------------------------------------------------------------------------------


def _copy_with(tmp_path: Path, src: Path, line_no: int, new_line: str) -> Path:
    data = src.read_bytes().split(b"\r\n")
    data[line_no - 1] = new_line.encode("ascii")
    out = tmp_path / src.name
    out.write_bytes(b"\r\n".join(data))
    return out


@pytest.mark.parametrize(
    "bad",
    [
        "A0101   0020  1000",  # four flag digits
        "A0101   0020  10000 extra",  # a fourth field
        "A01.01  0020  10000",  # dotted code
        "A0101   0020  12000",  # flag digit 2 not 0/1
    ],
)
def test_malformed_line_names_file_and_line(tmp_path, bad):
    path = _copy_with(tmp_path, I10GEM, 5, bad)
    with pytest.raises(SourceFormatError) as e:
        gems.parse_gem_file(path, "2018", source_is_icd9=False)
    assert e.value.line == 5 and e.value.path == str(path)
    assert "2018_I10gem.txt, line 5" in str(e.value) and bad in str(e.value)


@pytest.mark.parametrize(
    "bad, why",
    [
        ("0020  A0100   11000", "no-map"),  # no-map flag without NoDx
        ("0020  NoDx    10000", "no-map"),  # NoDx without no-map flag
        ("0020  A0100   10010", "combination flag"),  # scenario without combination
        ("0020  A0100   10101", "combination flag"),  # combination without scenario
    ],
)
def test_inconsistent_flags_are_rejected(tmp_path, bad, why):
    path = _copy_with(tmp_path, I9GEM, 4, bad)
    with pytest.raises(SourceFormatError, match=why) as e:
        gems.parse_gem_file(path, "2018", source_is_icd9=True)
    assert e.value.line == 4


def test_blank_lines_are_skipped_but_line_numbers_kept(tmp_path):
    lines = I9GEM.read_bytes().split(b"\r\n")[:5]
    path = tmp_path / "2018_I9gem.txt"
    path.write_bytes(b"\r\n".join(lines[:2] + [b"", b"   "] + lines[2:]) + b"\r\n")
    t = gems.parse_gem_file(path, "2018", source_is_icd9=True)
    assert t["line_no"].to_list() == [1, 2, 5, 6, 7]


# --- catalog and SQL ------------------------------------------------------------------------------


def test_catalog_release_and_roles():
    r = load_catalog()["gems"].release("2018")
    assert r.effective_from == dt.date(2017, 10, 1) and r.effective_to is None
    assert sorted(r.roles) == ["i10_to_i9", "i9_to_i10"]
    names = {n for f in r.files for m in f.members for n in m.names}
    assert {"2018_I9gem.txt", "2018_I10gem.txt"} <= names


def test_gem_tables_load_into_duckdb_with_a_comment_on_every_column(tables):
    con = duckdb.connect()
    apply_dataset_sql(con, "gems")
    for name, frame in tables.items():
        assert insert_frame(con, name, frame) == frame.height
    assert con.execute(
        "SELECT count(*) FROM gem_icd10_to_icd9 WHERE source = 'M96.1' AND target = '722.83' AND approximate"
    ).fetchone() == (1,)
    missing = con.execute(
        "SELECT table_name, column_name FROM duckdb_columns() WHERE table_name LIKE 'gem_%' AND comment IS NULL"
    ).fetchall()
    assert missing == []
    assert con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name LIKE 'gem_%' AND comment IS NOT NULL").fetchone() == (2,)
