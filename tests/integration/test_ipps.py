"""IPPS FY2026 Tables 5, 6I, 6J, 6K parser on the real files, against plain-Python reads.

The independent reads use the csv module (Table 5), str.split (6I/6J) and a small line-by-line state
machine (6K); they never call codeetl code. Decimals are compared as Decimal and as printed strings.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal
from pathlib import Path

import duckdb
import polars as pl
import pytest

from codeetl.sources.catalog import Release, load_catalog
from codeetl.errors import CatalogError, FetchError, SourceFormatError
from codeetl.datasets import ipps
from codeetl.build.warehouse_sql import insert_frame
from _shared import apply_dataset_sql, needs_mirror

from _shared import CMS  # noqa: E402

pytestmark = needs_mirror
DIR = CMS / "ipps" / "fy2026"
T5, T6I, T6J, T6K = (DIR / f"FY2026-Final-Rule-Table-{t}.txt" for t in ("5", "6I", "6J", "6K"))

RELEASE = Release("ipps", "fy2026", "FY2026", dt.date(2025, 10, 1), dt.date(2026, 9, 30), (), uses={"msdrg": "v43"})
INPUTS = {"table5": T5, "table6i": T6I, "table6j": T6J, "table6k": T6K}


@pytest.fixture(scope="module")
def tables():
    return ipps.parse_release(RELEASE, INPUTS)


# --- independent reads ----------------------------------------------------------------------------


def read_table5() -> list[list[str]]:
    text = T5.read_bytes().decode("cp1252")
    rows = list(csv.reader(io.StringIO(text, newline=""), delimiter="\t"))
    assert rows[0][0].startswith("TABLE 5") and rows[1][0].startswith("MS-DRG")
    return [r for r in rows[2:] if any(c.strip() for c in r)]


def read_6ij(path: Path) -> dict[str, str]:
    lines = path.read_text(encoding="cp1252").splitlines()
    out = {}
    for t in lines[2:]:
        if not t.strip():
            break
        code, desc = t.split("\t")
        out[code] = desc
    return out


def dot(c: str) -> str:
    return c if len(c) <= 3 else c[:3] + "." + c[3:]


def read_6k():
    cc, lists, alive, part3 = {}, {}, [], []
    part, coll, group = 0, None, None
    for t in T6K.read_text(encoding="cp1252").splitlines():
        if t.startswith("K Part "):
            part = int(t[7])
            continue
        if part == 0 or not t.strip():
            continue
        if part == 1:
            if t.startswith(" I10 Dx"):
                continue
            if t.startswith("PDX collection "):
                coll = int(t.split()[2])
                lists[coll] = []
            elif t.startswith("  "):
                lists[coll].append(dot(t.split()[0]))
            else:
                f = t.split()
                if f[2] == "No":
                    excl, count = None, None
                else:
                    num, cnt = f[2].split(":")
                    excl, count = int(num), int(cnt.replace(",", ""))
                cc[dot(f[0])] = (f[1], excl, count, t[30:].rstrip())  # description: fixed column 31 on
        elif part == 2:
            alive.append(dot(t.split()[0]))
        else:
            if t.startswith("MDC "):
                f = t.split()
                group = (f[1], f[3][:3], f[3][-3:], " ".join(f[4:]))
            else:
                part3.append(("v43",) + group + (dot(t.split()[0]),))
    return cc, lists, alive, part3


@pytest.fixture(scope="module")
def k_read():
    return read_6k()


# --- Table 5 --------------------------------------------------------------------------------------


def test_table5_every_row_equals_independent_read(tables):
    def dec(s):
        return None if s.strip() in ("", ".") else Decimal(s)

    expected = [
        (
            "v43", 2026, r[0], r[1] == "Yes", r[2] == "Yes", r[3].strip() or None,
            None if r[4] == "**" else r[4], r[5], dec(r[6]), dec(r[7]), dec(r[8]), dec(r[9]),
        )
        for r in read_table5()
    ]
    got = tables["msdrg_drg_weight"].rows()
    assert len(expected) == 772
    assert got == expected
    # to the decimal: the stored values print exactly as the file does
    printed = [(r[6], r[7], r[8], r[9]) for r in read_table5() if r[6] != "."]
    stored = [tuple(str(v) for v in row[8:]) for row in got if row[8] is not None]
    assert stored == printed


def test_table5_spot_facts(tables):
    w = {r["drg"]: r for r in tables["msdrg_drg_weight"].iter_rows(named=True)}
    assert (w["551"]["weight"], w["551"]["gmlos"], w["551"]["amlos"]) == (Decimal("1.6761"), Decimal("4.5"), Decimal("5.9"))
    assert (w["552"]["weight"], w["552"]["gmlos"], w["552"]["amlos"]) == (Decimal("0.9613"), Decimal("2.9"), Decimal("3.6"))
    assert w["551"]["post_acute"] is True and w["551"]["special_pay"] is False and w["551"]["mdc"] == "08"
    assert w["010"]["weight_before_cap"] == Decimal("3.0699") and w["010"]["weight"] == Decimal("7.1757")  # cap applied
    assert w["297"]["title"] == "CARDIAC ARREST, UNEXPLAINED WITH CC"  # quoted in the file
    assert w["001"]["mdc"] == "PRE" and w["981"]["mdc"] is None
    assert w["998"]["type"] is None and w["998"]["weight"] is None and w["998"]["amlos"] is None


def test_table5_types(tables):
    s = tables["msdrg_drg_weight"].schema
    assert s["weight"] == pl.Decimal(8, 4) and s["weight_before_cap"] == pl.Decimal(8, 4)
    assert s["gmlos"] == pl.Decimal(5, 1) and s["amlos"] == pl.Decimal(5, 1)
    assert s["post_acute"] == pl.Boolean and s["fiscal_year"] == pl.Int16


# --- Tables 6I / 6J / 6K --------------------------------------------------------------------------


def test_cc_list_equals_independent_reads(tables, k_read):
    cc, _, alive, _ = k_read
    expected = sorted(
        ("v43", dx, level, excl, dx in set(alive), desc) for dx, (level, excl, _count, desc) in cc.items()
    )
    assert sorted(tables["msdrg_cc"].rows()) == expected
    mcc, ccl = read_6ij(T6I), read_6ij(T6J)
    got = dict(tables["msdrg_cc"].select("dx", "level").rows())
    assert {d for d, lv in got.items() if lv == "MCC"} == set(mcc) and len(mcc) == 3354
    assert {d for d, lv in got.items() if lv == "CC"} == set(ccl) and len(ccl) == 15078


def test_every_exclusion_list_member(tables, k_read):
    _, lists, _, _ = k_read
    expected = [("v43", n, pdx) for n, members in lists.items() for pdx in members]
    assert tables["msdrg_cc_exclusion"].rows() == expected
    assert len(lists) == 1994 and len(expected) == 180_403


def test_printed_list_sizes_match(k_read):
    cc, lists, _, _ = k_read
    for dx, (_, excl, count, _) in cc.items():
        if excl is not None:
            assert len(lists[excl]) == count, dx


def test_alive_only_and_part3(tables, k_read):
    _, _, alive, part3 = k_read
    got_alive = tables["msdrg_cc"].filter(pl.col("alive_only"))["dx"].to_list()
    assert sorted(got_alive) == sorted(alive) == sorted(["I46.2", "I46.8", "I46.9", "I49.01", "R09.2", "R57.0", "R57.8", "T79.4XXA"])
    assert tables["msdrg_cc_drg_exclusion"].rows() == part3
    g = tables["msdrg_cc_drg_exclusion"].filter(pl.col("drg_first") == "280")
    assert set(g["drg_last"]) == {"282"} and "I21.01" in g["dx"].to_list()


def test_cc_spot_facts(tables):
    c = {r["dx"]: r for r in tables["msdrg_cc"].iter_rows(named=True)}
    assert (c["A02.1"]["level"], c["A02.1"]["exclusion_list"]) == ("MCC", 5)
    assert (c["A00.0"]["level"], c["A00.0"]["exclusion_list"]) == ("CC", 2)
    assert c["D89.833"]["exclusion_list"] is None  # "No Excl"
    assert c["QA0.0101"]["level"] == "CC"  # FY2026's new QA0 category: letter in 2nd position
    assert "M96.1" not in c


# --- cross-checks and errors ----------------------------------------------------------------------


def copy_edit(tmp_path: Path, src: Path, edit) -> Path:
    lines = src.read_bytes().decode("cp1252").split("\r\n")
    edit(lines)
    out = tmp_path / src.name
    out.write_bytes("\r\n".join(lines).encode("cp1252"))
    return out


def test_cc_missing_from_6j_is_an_error(tmp_path):
    t6j = copy_edit(tmp_path, T6J, lambda ls: ls.pop(2))  # drops A00.0
    with pytest.raises(SourceFormatError, match="listed in Table 6J") as e:
        ipps.parse_release(RELEASE, {**INPUTS, "table6j": t6j})
    assert e.value.path == str(T6K) and e.value.line == 12


def test_6i_code_not_mcc_in_6k_is_an_error(tmp_path):
    t6i = copy_edit(tmp_path, T6I, lambda ls: ls.insert(2, "A00.0\tCholera due to Vibrio cholerae 01, biovar cholerae"))
    with pytest.raises(SourceFormatError, match="marked MCC in Table 6K") as e:
        ipps.parse_release(RELEASE, {**INPUTS, "table6i": t6i})
    assert e.value.path == str(t6i) and e.value.line == 3


def test_6i_and_6j_swapped_is_an_error():
    with pytest.raises(SourceFormatError, match="TABLE 6I"):
        ipps.parse_release(RELEASE, {**INPUTS, "table6i": T6J, "table6j": T6I})


def test_6ij_malformed_line(tmp_path):
    t6j = copy_edit(tmp_path, T6J, lambda ls: ls.__setitem__(9, "A01 .02 Typhoid"))
    with pytest.raises(SourceFormatError) as e:
        ipps.parse_table6ij(t6j, "CC")
    assert e.value.line == 10


@pytest.mark.parametrize(
    "line_no, new, match",
    [
        (12, " A000    CC  0002:4 codes     Cholera due to Vibrio cholerae 01, biovar cholerae", "as many codes"),
        (12, " A000    CC  9999:3 codes     Cholera due to Vibrio cholerae 01, biovar cholerae", "PDX collection' block"),
        (12, " A000    XX  0002:3 codes     Cholera due to Vibrio cholerae 01, biovar cholerae", "documented Table 6K layout"),
        (13, " A000    CC  0002:3 codes     Cholera due to Vibrio cholerae 01, biovar cholerae", "once in part 1"),
        (13, "  A001    member before any PDX collection", "documented Table 6K layout"),
        (202840, "  Z0000   Not a CC code", "part 2 codes to be CC/MCC"),
        (202841, "garbage", "documented Table 6K layout"),
        (18450, "PDX collection 0002", "collection number once"),  # 0003's header renamed: 0002 twice
    ],
)
def test_6k_errors_name_the_line(tmp_path, line_no, new, match):
    t6k = copy_edit(tmp_path, T6K, lambda ls: ls.__setitem__(line_no - 1, new))
    with pytest.raises(SourceFormatError, match=match) as e:
        ipps.parse_table6k(t6k, "v43")
    assert e.value.path == str(t6k)
    assert e.value.line == line_no


@pytest.mark.parametrize(
    "col, value, match",
    [(6, "1.67615", "up to 4 decimals"), (8, "4.55", "up to 1 decimal"), (1, "Y", "Yes or No"), (4, "MEDICAL", "TYPE")],
)
def test_table5_bad_value_names_the_line(tmp_path, col, value, match):
    def edit(ls):
        i = next(i for i, t in enumerate(ls) if t.startswith("551\t"))
        f = ls[i].split("\t")
        f[col] = value
        ls[i] = "\t".join(f)

    t5 = copy_edit(tmp_path, T5, edit)
    with pytest.raises(SourceFormatError, match=match) as e:
        ipps.parse_table5(t5, "v43")
    assert e.value.line == 453 and "Table-5.txt, line 453" in str(e.value)  # the title spans lines 1-2


def test_table5_renamed_column_is_an_error(tmp_path):
    # (split on CRLF: the title's inner line break is a bare LF, so the header is item 1)
    t5 = copy_edit(tmp_path, T5, lambda ls: ls.__setitem__(1, ls[1].replace("Geometric mean LOS", "GMLOS")))
    with pytest.raises(SourceFormatError, match="Table 5 columns") as e:
        ipps.parse_table5(t5, "v43")
    assert e.value.line == 3


def test_table5_fiscal_year_must_match_release():
    with pytest.raises(SourceFormatError, match="FY 2025"):
        ipps.parse_table5(T5, "v42", fiscal_year=2025)


def test_release_needs_its_msdrg_version():
    r = Release("ipps", "fy2026", "x", dt.date(2025, 10, 1), None, ())
    with pytest.raises(CatalogError, match="uses = { msdrg"):
        ipps.parse_release(r, INPUTS)


def test_6ij_without_6k_is_refused():
    with pytest.raises(FetchError, match="6K"):
        ipps.parse_release(RELEASE, {"table5": T5, "table6i": T6I})


# --- catalog and SQL ------------------------------------------------------------------------------


def test_catalog_ipps_releases_use_their_msdrg_version_and_name_the_tables():
    ds = load_catalog()["ipps"]
    fy26, fy25 = ds.release("fy2026"), ds.release("fy2025")
    assert fy26.uses == {"msdrg": "v43"} and fy25.uses == {"msdrg": "v42"}
    assert (fy26.effective_from, fy26.effective_to) == (dt.date(2025, 10, 1), dt.date(2026, 9, 30))
    assert (fy25.effective_from, fy25.effective_to) == (dt.date(2024, 10, 1), dt.date(2025, 9, 30))
    names = {n for f in fy26.files for m in f.members for n in m.names}
    assert {p.name for p in (T5, T6I, T6J, T6K)} <= names
    assert sorted(fy26.roles) == ["table5", "table6i", "table6j", "table6k"]


def test_ipps_tables_load_into_duckdb_with_a_comment_on_every_column(tables):
    con = duckdb.connect()
    apply_dataset_sql(con, "ipps")
    for name, frame in tables.items():
        assert insert_frame(con, name, frame) == frame.height
    assert con.execute("SELECT weight, gmlos, amlos FROM msdrg_drg_weight WHERE drg = '552'").fetchone() == (
        Decimal("0.9613"), Decimal("2.9"), Decimal("3.6"),
    )
    assert con.execute("SELECT typeof(weight), typeof(gmlos) FROM msdrg_drg_weight LIMIT 1").fetchone() == (
        "DECIMAL(8,4)", "DECIMAL(5,1)",
    )
    ours = list(tables)
    assert con.execute("SELECT count(*) FROM duckdb_columns() WHERE table_name IN ? AND comment IS NULL", [ours]).fetchone() == (0,)
    assert con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name IN ? AND comment IS NOT NULL", [ours]).fetchone() == (len(ours),)


def test_catalog_refuses_an_ipps_release_of_an_msdrg_version_it_does_not_have(tmp_path):
    from codeetl.errors import CatalogError as Err

    for name in ("msdrg", "ipps"):
        text = (Path(__file__).resolve().parents[2] / "src/codeetl/datasets" / name / "catalog.toml").read_text()
        (tmp_path / f"{name}.toml").write_text(text.replace('uses = { msdrg = "v43" }', 'uses = { msdrg = "v99" }'))
    with pytest.raises(Err, match="ipps release 'fy2026' uses msdrg release 'v99', which the catalog does not have"):
        load_catalog(tmp_path)
