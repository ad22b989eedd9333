"""Views msdrg_drg, dx_drg_family and macro cc_level over the real v43 / FY2026 tables in DuckDB.

The tables are loaded the way the warehouse loads them (apply_sql + insert_frame). Expected values are
read from the files here with plain Python (6K PDX collection 0005, Table 5 rows), or were read by eye.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import duckdb
import pytest

from codeetl.sources.catalog import Release
from codeetl.datasets import ipps, msdrg
from codeetl.build.warehouse_sql import insert_frame
from _shared import apply_dataset_sql, apply_schema, needs_mirror

from _shared import CMS  # noqa: E402

pytestmark = needs_mirror
MSDRG = CMS / "msdrg" / "v43"
IPPS = CMS / "ipps" / "fy2026"


@pytest.fixture(scope="module")
def con():
    c = duckdb.connect()
    frames = msdrg.parse_release(
        Release("msdrg", "v43", "v43", dt.date(2025, 10, 1), dt.date(2026, 9, 30), ()),
        {"appendix_a": MSDRG / "appendix_A.txt", "appendix_b": MSDRG / "appendix_B.txt"},
    )
    frames |= ipps.parse_release(
        Release("ipps", "fy2026", "FY2026", dt.date(2025, 10, 1), dt.date(2026, 9, 30), (), uses={"msdrg": "v43"}),
        {r: IPPS / f"FY2026-Final-Rule-Table-{t}.txt" for r, t in (("table5", "5"), ("table6i", "6I"), ("table6j", "6J"), ("table6k", "6K"))},
    )
    apply_schema(c, "tables")  # every table exists in a build (views_history reads releases)
    for name, frame in frames.items():
        insert_frame(c, name, frame)
    apply_dataset_sql(c, "ipps", "views")
    yield c
    c.close()


def one(con, sql, *params):
    return con.execute(sql, list(params)).fetchone()


def collection_members(number: str) -> list[str]:
    """Codes of 'PDX collection <number>' in Table 6K, read line by line (dotted here)."""
    out, inside = [], False
    for t in (IPPS / "FY2026-Final-Rule-Table-6K.txt").read_text(encoding="cp1252").splitlines():
        if t.startswith("PDX collection "):
            inside = t.split()[2] == number
        elif inside and t.startswith("  "):
            c = t.split()[0]
            out.append(c[:3] + "." + c[3:] if len(c) > 3 else c)
        elif inside and not t.strip():
            break
    return out


# --- msdrg_drg ------------------------------------------------------------------------------------


def test_msdrg_drg_joins_definitions_and_weights(con):
    assert one(con, "SELECT count(*), count(weight) FROM msdrg_drg WHERE version = 'v43'") == (772, 770)
    row = con.execute(
        "SELECT drg, mdc, type, title, title_ipps, weight, weight_before_cap, gmlos, amlos, post_acute, special_pay"
        " FROM msdrg_drg WHERE drg IN ('551', '552') ORDER BY drg"
    ).fetchall()
    assert row == [
        ("551", "08", "M", "Medical Back Problems with MCC", "MEDICAL BACK PROBLEMS WITH MCC",
         Decimal("1.6761"), Decimal("1.6761"), Decimal("4.5"), Decimal("5.9"), True, False),
        ("552", "08", "M", "Medical Back Problems without MCC", "MEDICAL BACK PROBLEMS WITHOUT MCC",
         Decimal("0.9613"), Decimal("0.9613"), Decimal("2.9"), Decimal("3.6"), True, False),
    ]


def test_msdrg_drg_mdc_fallback(con):
    assert one(con, "SELECT mdc FROM msdrg_drg WHERE drg = '001'") == ("PRE",)  # blank in Appendix A, PRE in Table 5
    assert one(con, "SELECT mdc, type FROM msdrg_drg WHERE drg = '981'") == (None, "P")
    assert one(con, "SELECT mdc, type, weight FROM msdrg_drg WHERE drg = '998'") == (None, None, None)


def test_appendix_a_and_table5_agree(con):
    """The two publications print the same DRGs, titles (up to case), MDCs and medical/surgical types."""
    assert one(con, "SELECT count(*) FROM msdrg_drg WHERE title IS NULL OR title_ipps IS NULL") == (0,)
    assert con.execute("SELECT drg FROM msdrg_drg WHERE upper(title) <> upper(title_ipps)").fetchall() == []
    assert con.execute(
        "SELECT d.drg FROM msdrg_drg_def d JOIN msdrg_drg_weight w USING (version, drg)"
        " WHERE coalesce(d.mdc, w.mdc, '') <> coalesce(w.mdc, '')"
        " OR coalesce(d.type, '') <> coalesce(CASE w.type WHEN 'MED' THEN 'M' WHEN 'SURG' THEN 'P' END, '')"
    ).fetchall() == []


@pytest.mark.parametrize(
    "drg, family, severity, alt",
    [
        ("551", "Medical Back Problems", "with MCC", None),
        ("552", "Medical Back Problems", "without MCC", None),
        ("013", "Tracheostomy for Face, Mouth and Neck Diagnoses or Laryngectomy", "without CC/MCC", None),
        ("016", "Autologous Bone Marrow Transplant", "with CC/MCC", None),
        ("059", "Multiple Sclerosis and Cerebellar Ataxia", "with CC", None),
        ("007", "Lung Transplant", None, None),
        ("005", "Liver Transplant", "with MCC", "Intestinal Transplant"),
        ("124", "Other Disorders of the Eye", "with MCC", "Thrombolytic Agent"),
        ("023", "Craniotomy with Major Device Implant or Acute Complex CNS Principal Diagnosis", "with MCC",
         "Antineoplastic Implant or Epilepsy with Neurostimulator"),
        ("275", "Cardiac Defibrillator Implant with Cardiac Catheterization", "with MCC", None),
        ("488", "Knee Procedures without Principal Diagnosis of Infection", "with CC/MCC", None),
    ],
)
def test_severity_from_title(con, drg, family, severity, alt):
    assert one(con, "SELECT family, severity, severity_alt FROM msdrg_drg WHERE drg = ?", drg) == (family, severity, alt)


def test_every_title_with_a_cc_split_gets_a_severity(con):
    values = {r[0] for r in con.execute("SELECT DISTINCT severity FROM msdrg_drg").fetchall()}
    assert values == {None, "with MCC", "with CC", "with CC/MCC", "without MCC", "without CC/MCC"}
    missed = con.execute(
        "SELECT drg, title FROM msdrg_drg WHERE severity IS NULL AND regexp_matches(title, '\\b(CC|MCC)\\b')"
    ).fetchall()
    assert missed == []


# --- dx_drg_family --------------------------------------------------------------------------------


def test_m96_1_family(con):
    rows = con.execute(
        "SELECT dx, dx_description, mdc, mdc_name, drg, title, severity, weight, gmlos, amlos"
        " FROM dx_drg_family WHERE dx = 'M96.1' ORDER BY drg"
    ).fetchall()
    mdc_name = "Diseases and Disorders of the Musculoskeletal System and Connective Tissue"
    desc = "Postlaminectomy syndrome, not elsewhere classified"
    assert rows == [
        ("M96.1", desc, "08", mdc_name, "551", "Medical Back Problems with MCC", "with MCC",
         Decimal("1.6761"), Decimal("4.5"), Decimal("5.9")),
        ("M96.1", desc, "08", mdc_name, "552", "Medical Back Problems without MCC", "without MCC",
         Decimal("0.9613"), Decimal("2.9"), Decimal("3.6")),
    ]


def test_family_pre_mdc_and_secondary_mdc(con):
    rows = con.execute("SELECT mdc, mdc_name, drg FROM dx_drg_family WHERE dx = 'A36.0' ORDER BY mdc DESC, drg").fetchall()
    assert rows[0] == ("PRE", "Pre-MDC", "011")
    assert {r[0] for r in rows} == {"PRE", "03"}
    assert one(con, "SELECT count(*) FROM dx_drg_family WHERE mdc_name IS NULL OR title IS NULL") == (0,)
    assert one(con, "SELECT count(*) FROM dx_drg_family") == one(con, "SELECT count(*) FROM msdrg_dx_drg")


# --- cc_level -------------------------------------------------------------------------------------


def test_cc_level_excluded_pair_from_6k(con):
    """A02.1 (Salmonella sepsis) is an MCC with PDX exclusion list 0005: every pdx on it excludes it."""
    assert one(con, "SELECT level, exclusion_list FROM msdrg_cc WHERE dx = 'A02.1'") == ("MCC", 5)
    members = collection_members("0005")
    assert len(members) == 60 and "A41.9" in members
    got = con.execute("SELECT DISTINCT cc_level(p, 'A02.1') FROM unnest(?::VARCHAR[]) AS t(p)", [members]).fetchall()
    assert got == [("excluded",)]
    assert one(con, "SELECT cc_level('A41.9', 'A02.1')") == ("excluded",)


def test_cc_level_counts_when_not_excluded(con):
    assert "M96.1" not in collection_members("0005")
    assert one(con, "SELECT cc_level('M96.1', 'A02.1')") == ("MCC",)
    assert one(con, "SELECT cc_level('M96.1', 'A00.0')") == ("CC",)
    assert one(con, "SELECT cc_level('M96.1', 'M96.1')") == ("none",)


def test_cc_level_input_forms_and_nulls(con):
    assert one(con, "SELECT cc_level('m961', 'a021')") == ("MCC",)
    assert one(con, "SELECT cc_level(' A41.9 ', 'A021')") == ("excluded",)
    assert one(con, "SELECT cc_level(NULL, 'A02.1'), cc_level('M96.1', NULL)") == (None, None)
    assert one(con, "SELECT cc_level('M96.1', 'A02.1', version := 'v43')") == ("MCC",)
    assert one(con, "SELECT cc_level('M96.1', 'A02.1', version := 'v40')") == (None,)  # not loaded


def test_cc_level_alive_only_and_drg_exclusions(con):
    # I46.2 cardiac arrest: MCC only if discharged alive (6K part 2)
    assert one(con, "SELECT cc_level('M96.1', 'I46.2')") == ("MCC",)
    assert one(con, "SELECT cc_level('M96.1', 'I46.2', discharged_alive := false)") == ("excluded",)
    # I21.01 as secondary diagnosis is no CC/MCC in DRGs 280-282 (6K part 3), but is elsewhere
    assert one(con, "SELECT cc_level('J18.9', 'I21.01')") == ("MCC",)
    assert one(con, "SELECT cc_level('J18.9', 'I21.01', drg := '281'), cc_level('J18.9', 'I21.01', drg := 281)") == ("excluded", "excluded")
    assert one(con, "SELECT cc_level('J18.9', 'I21.01', drg := '193')") == ("MCC",)


def test_cc_level_over_a_column_equals_the_exclusion_join(con):
    """Applied to every CC/MCC code at once, cc_level says 'excluded' exactly for the codes Table 6K excludes
    with principal diagnosis A41.9."""
    n = one(con, "SELECT count(*) FILTER (WHERE cc_level('A41.9', dx) = 'excluded') FROM msdrg_cc")[0]
    assert n == one(
        con,
        "SELECT count(*) FROM msdrg_cc c JOIN msdrg_cc_exclusion e"
        " ON e.version = c.version AND e.exclusion_list = c.exclusion_list AND e.pdx = 'A41.9'",
    )[0]


# --- documentation --------------------------------------------------------------------------------


def test_views_and_macro_are_documented(con):
    views = ("msdrg_drg", "dx_drg_family")
    assert one(con, "SELECT count(*) FROM duckdb_views() WHERE view_name IN ? AND comment IS NOT NULL", list(views)) == (2,)
    assert one(con, "SELECT count(*) FROM duckdb_columns() WHERE table_name IN ? AND comment IS NULL", list(views)) == (0,)
    assert one(con, "SELECT count(*) FROM duckdb_functions() WHERE function_name = 'cc_level' AND comment IS NOT NULL")[0] >= 1
