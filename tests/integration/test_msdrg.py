"""MS-DRG v43 Definitions Manual parser (Appendix A, Appendix B) on the real text files.

Expected values come from a plain-Python read of the files written here (fixed columns by slicing,
ranges expanded against the DRG numbers read from Appendix A), never from the code under test.
The mirror's Appendix B is complete (90,588 lines); how fast it parses is measured by bench/, not here.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import polars as pl
import pytest

from codeetl.sources.catalog import Release
from codeetl.errors import FetchError, SourceFormatError
from codeetl.datasets import msdrg
from codeetl.build.warehouse_sql import insert_frame
from _shared import apply_dataset_sql, needs_mirror

from _shared import CMS  # noqa: E402

pytestmark = needs_mirror
APPX_A = CMS / "msdrg" / "v43" / "appendix_A.txt"
APPX_B = CMS / "msdrg" / "v43" / "appendix_B.txt"

RELEASE = Release("msdrg", "v43", "MS-DRG v43", dt.date(2025, 10, 1), dt.date(2026, 9, 30), ())


@pytest.fixture(scope="module")
def tables():
    return msdrg.parse_release(RELEASE, {"appendix_a": APPX_A, "appendix_b": APPX_B})


# --- independent reads ----------------------------------------------------------------------------


def text_lines(path: Path) -> list[str]:
    return path.read_bytes().decode("cp1252").replace("\r\n", "\n").split("\n")


def read_appendix_a(path: Path = APPX_A) -> list[tuple]:
    lines = text_lines(path)
    start = next(i for i, t in enumerate(lines) if t.split() == ["DRG", "MDC", "MS", "Description"])
    out = []
    for t in lines[start + 1 :]:
        if not t.strip():
            continue
        drg, mdc, typ, title = t[0:3], t[4:6].strip() or None, t[8].strip() or None, t[11:].strip()
        out.append(("v43", drg, mdc, typ, title))
    return out


def read_appendix_b(path: Path, drgs: set[int]) -> tuple[list[tuple], list[tuple]]:
    """(dx, mdc, drg) rows and (dx, description) rows, by slicing the fixed columns."""
    lines = text_lines(path)
    start = next(i for i, t in enumerate(lines) if t.strip().startswith("I10 Dx"))
    pairs, seen, descs, code = [], set(), [], None
    for t in lines[start + 1 :]:
        if not t.strip():
            continue
        if t[1:9].strip():
            code = t[1:9].strip()
            descs.append(("v43", code[:3] + "." + code[3:] if len(code) > 3 else code, t[25:].strip()))
        mdc = t[9:12].strip().upper()
        dotted = code[:3] + "." + code[3:] if len(code) > 3 else code
        for rng in t[13:25].strip().split(","):  # "928-929,934": a list of DRGs and ranges
            first, _, last = rng.partition("-")
            for n in range(int(first), int(last or first) + 1):
                row = ("v43", dotted, mdc, f"{n:03d}")
                if n in drgs and row not in seen:
                    seen.add(row)
                    pairs.append(row)
    return pairs, descs


# --- Appendix A -----------------------------------------------------------------------------------


def test_appendix_a_equals_independent_read(tables):
    expected = read_appendix_a()
    assert len(expected) == 772
    assert tables["msdrg_drg_def"].rows() == expected


def test_appendix_a_spot_facts(tables):
    d = {r[1]: r for r in tables["msdrg_drg_def"].rows()}
    assert d["551"] == ("v43", "551", "08", "M", "Medical Back Problems with MCC")
    assert d["552"] == ("v43", "552", "08", "M", "Medical Back Problems without MCC")
    assert d["001"][2] is None and d["001"][3] == "P"  # Pre-MDC: MDC printed blank
    assert d["998"][2:4] == (None, None)
    assert d["488"][4].endswith("with CC/MCC")  # trailing blank of the printed line dropped
    assert "009" not in d and "452" not in d  # numbering has gaps


# --- Appendix B -----------------------------------------------------------------------------------


def test_appendix_b_equals_independent_read(tables):
    drgs = {int(r[1]) for r in read_appendix_a()}
    pairs, descs = read_appendix_b(APPX_B, drgs)
    assert tables["msdrg_dx_drg"].rows() == pairs
    assert tables["msdrg_dx"].rows() == descs
    # The complete Appendix B indexes every FY2026 code except the external causes V00-Y99 (cms/README.md):
    # the FY2026 code file, read on its own, says which codes those are.
    fy2026 = {line[:8].strip() for line in (CMS / "icd10cm/2026/icd10cm-codes-2026.txt").read_text().splitlines()}
    assert {d.replace(".", "") for _, d, _ in descs} == {c for c in fy2026 if c[0] not in "VWXY"}


def test_m96_1_defines_551_552(tables):
    rows = tables["msdrg_dx_drg"].filter(pl.col("dx") == "M96.1").rows()
    assert rows == [("v43", "M96.1", "08", "551"), ("v43", "M96.1", "08", "552")]


def test_continuation_lines_and_pre(tables):
    t = tables["msdrg_dx_drg"]
    a021 = t.filter(pl.col("dx") == "A02.1").select("mdc", "drg").rows()
    assert a021 == [("18", "870"), ("18", "871"), ("18", "872"), ("25", "974"), ("25", "975"), ("25", "976")]
    a360 = t.filter(pl.col("dx") == "A36.0").select("mdc", "drg").rows()
    assert a360 == [("PRE", "011"), ("PRE", "012"), ("PRE", "013"), ("03", "154"), ("03", "155"), ("03", "156")]
    assert set(t["mdc"]) >= {"PRE", "08", "25"} and "Pre" not in set(t["mdc"])
    assert t.filter(pl.col("dx") == "A34")["drg"].to_list() == ["769", "776"]  # single DRGs, no range
    assert t.filter(pl.col("dx") == "Z99.89")["drg"].to_list() == ["951"]


def test_mdc_table(tables):
    m = dict(tables["msdrg_mdc"].select("mdc", "name").rows())
    assert len(m) == 26 and m["PRE"] == "Pre-MDC"
    assert m["08"] == "Diseases and Disorders of the Musculoskeletal System and Connective Tissue"
    assert set(tables["msdrg_dx_drg"]["mdc"]) <= set(m)
    assert set(tables["msdrg_drg_def"]["mdc"].drop_nulls()) <= set(m)


# --- errors ---------------------------------------------------------------------------------------


def test_appendix_a_malformed_line(tmp_path):
    lines = text_lines(APPX_A)
    lines[100] = "10O 01  M  Not a number"
    path = tmp_path / "appendix_A.txt"
    path.write_text("\n".join(lines), encoding="cp1252")
    with pytest.raises(SourceFormatError) as e:
        msdrg.parse_appendix_a(path, "v43")
    assert e.value.line == 101 and "appendix_A.txt, line 101" in str(e.value)


def test_appendix_b_without_appendix_a_is_refused():
    with pytest.raises(FetchError):
        msdrg.parse_release(RELEASE, {"appendix_b": APPX_B})


def test_crlf_and_lf_both_accepted(tmp_path):
    # the mirror's appendix_A.txt has LF line ends, appendix_B.txt CRLF: both forms parse the same
    crlf = tmp_path / "appendix_A.txt"
    crlf.write_bytes(APPX_A.read_bytes().replace(b"\n", b"\r\n"))
    assert msdrg.parse_appendix_a(crlf, "v43").equals(msdrg.parse_appendix_a(APPX_A, "v43"))


# --- catalog and SQL ------------------------------------------------------------------------------


def test_msdrg_tables_load_into_duckdb_with_a_comment_on_every_column(tables):
    con = duckdb.connect()
    apply_dataset_sql(con, "msdrg")
    for name, frame in tables.items():
        assert insert_frame(con, name, frame) == frame.height
    assert con.execute("SELECT title FROM msdrg_drg_def WHERE drg = '551'").fetchone() == ("Medical Back Problems with MCC",)
    ours = ("msdrg_drg_def", "msdrg_mdc", "msdrg_dx_drg", "msdrg_dx")
    assert con.execute(
        "SELECT count(*) FROM duckdb_columns() WHERE table_name IN ? AND comment IS NULL", [list(ours)]
    ).fetchone() == (0,)
    assert con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE table_name IN ? AND comment IS NOT NULL", [list(ours)]
    ).fetchone() == (4,)
