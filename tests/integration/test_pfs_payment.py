"""The pfs_payment view on the real 2025-D and 2026-B files, checked to the cent.

Expected amounts are computed here, independently of the view and of the parser: records are sliced from
the RVU file at the PDF's positions, GPCIs read with the csv module, arithmetic done with decimal.Decimal
and ROUND_HALF_UP. That rule is itself checked against CMS's own arithmetic: 2025-D's OPPSCAP_Oct.csv
holds amounts CMS computed per locality.
"""

from __future__ import annotations

import csv
from decimal import Decimal

import duckdb
import pytest

from codeetl.sources.catalog import load_catalog
from codeetl.datasets import pfs
from codeetl.build.warehouse_sql import insert_frame
from _shared import apply_dataset_sql, needs_mirror

from _shared import CMS  # noqa: E402
from official import PAYABLE, amount, gpcis, rvu_records
PFS = CMS / "pfs"
FILES = {
    "2026-B": {"rvu": PFS / "2026-B" / "PPRRVU2026_Apr_nonQPP.txt", "gpci": PFS / "2026-B" / "GPCI2026.csv"},
    "2025-D": {
        "rvu": PFS / "2025-D" / "PPRRVU2025_Oct.txt",
        "gpci": PFS / "2025-D" / "GPCI2025.csv",
        "locco": PFS / "2025-D" / "25LOCCO.csv",
    },
}
OPPSCAP_25D = PFS / "2025-D" / "OPPSCAP_Oct.csv"
pytestmark = needs_mirror


@pytest.fixture(scope="module")
def con():
    cat = load_catalog()["pfs"]
    c = duckdb.connect()
    apply_dataset_sql(c, "pfs")
    for rid, inputs in FILES.items():
        for table, frame in pfs.parse_release(cat.release(rid), inputs).items():
            insert_frame(c, table, frame)
    apply_dataset_sql(c, "pfs", "views")
    yield c
    c.close()


def view_rows(con, release: str, locality: str) -> dict[tuple[str, str], tuple]:
    rows = con.execute(
        "SELECT hcpcs, modifier, nonfacility_amount, nonfacility_note, facility_amount, facility_note "
        "FROM pfs_payment WHERE release = ? AND locality = ?",
        [release, locality],
    ).fetchall()
    return {(r[0], r[1]): r[2:] for r in rows}


# ---------------------------------------------------------------------------------------------------
# National amounts: every row of both releases
# ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("rid", ["2026-B", "2025-D"])
def test_every_national_amount(con, rid):
    recs = rvu_records(FILES[rid]["rvu"])
    got = view_rows(con, rid, "national")
    assert len(got) == len(recs)
    paid = {"nonfacility": 0, "facility": 0}
    for key, rec in recs.items():
        nf, nf_note, fa, fa_note = got[key]
        assert nf == amount(rec, "nonfacility"), key
        assert fa == amount(rec, "facility"), key
        assert (nf is None) <= (nf_note is not None) and (fa is None) <= (fa_note is not None), key
        paid["nonfacility"] += nf is not None
        paid["facility"] += fa is not None
    # Recount of the paid amounts straight from the RVU file (status A, R or T, setting not NA, total RVUs > 0):
    # LC_ALL=C awk '!/^HDR/ && NF { s=substr($0,58,1); if (s ~ /[ART]/) { if (substr($0,73,2) != "NA" &&
    #   substr($0,91,6)+0 > 0) nf++; if (substr($0,82,2) != "NA" && substr($0,97,6)+0 > 0) f++ } } END { print nf, f }'
    # pfs/2026-B/PPRRVU2026_Apr_nonQPP.txt -> 5478 7233; pfs/2025-D/PPRRVU2025_Oct.txt -> 5103 7169
    assert paid == {"2026-B": {"nonfacility": 5478, "facility": 7233}, "2025-D": {"nonfacility": 5103, "facility": 7169}}[rid]


def test_half_cent_ties_round_up(con):
    """The five national amounts of 2025-D that land exactly on half a cent: CMS rounds half up."""
    ties = con.execute(
        "SELECT hcpcs, nonfacility_amount, facility_amount FROM pfs_payment "
        "WHERE release = '2025-D' AND locality = 'national' AND hcpcs IN ('28200', '33050', '52282') AND modifier = '' ORDER BY 1"
    ).fetchall()
    assert ties == [
        ("28200", Decimal("478.73"), Decimal("323.47")),  # facility 10.00 x 32.3465 = 323.465
        ("33050", None, Decimal("970.40")),  # 30.00 x 32.3465 = 970.395 (non-facility NA)
        ("52282", None, Decimal("323.47")),
    ]


# ---------------------------------------------------------------------------------------------------
# The seed page (published orthopedic code page for M96.1): which release and setting reproduce it
# ---------------------------------------------------------------------------------------------------

SEED = [
    # code, published amount, setting that reproduces it in 2026-B (the other setting is NA for all but E/M)
    ("63030", "898.15", "facility"),
    ("63047", "1065.49", "facility"),
    ("63056", "1404.84", "facility"),
    ("72148", "191.72", "nonfacility"),
    ("72158", "318.31", "nonfacility"),
    ("72100", "40.42", "nonfacility"),
    ("97110", "29.06", "nonfacility"),
    ("99213", "95.19", "nonfacility"),
    ("99214", "135.61", "nonfacility"),
    ("99215", "192.39", "nonfacility"),
]


@pytest.mark.parametrize("code,amount,setting", SEED)
def test_seed_page_amounts(con, code, amount, setting):
    nf, nf_note, fa, fa_note = view_rows(con, "2026-B", "national")[(code, "")]
    got = {"nonfacility": nf, "facility": fa}
    assert got[setting] == Decimal(amount)
    other = "facility" if setting == "nonfacility" else "nonfacility"
    if code.startswith("99"):  # E/M visits are paid in both settings; the page shows the office amount
        assert got[other] is not None and got[other] < got[setting]
    else:  # the page's amount is the only one: the other setting is NA
        assert got[other] is None
        assert (fa_note if other == "facility" else nf_note).startswith("NA: not paid in the")
    # and 2025-D does not reproduce it: the page uses CY2026 April values
    nf25, _, fa25, _ = view_rows(con, "2025-D", "national")[(code, "")]
    assert Decimal(amount) not in (nf25, fa25)


def test_97014_has_no_fee_and_a_reason(con):
    for rid in FILES:
        nf, nf_note, fa, fa_note = view_rows(con, rid, "national")[("97014", "")]
        assert nf is None and fa is None
        assert nf_note == fa_note == "status I: not valid for Medicare purposes"
    # in every locality too
    rows = con.execute("SELECT count(*), count(nonfacility_amount), count(facility_amount) FROM pfs_payment WHERE hcpcs = '97014'").fetchone()
    assert rows == (2 * 110, 0, 0)


def test_other_seed_procedures_have_amounts(con):
    got = view_rows(con, "2026-B", "national")
    recs = rvu_records(FILES["2026-B"]["rvu"])
    for code in ("62323", "64483", "95886"):
        nf, _, fa, _ = got[(code, "")]
        rec = recs[(code, "")]
        assert nf == amount(rec, "nonfacility") and fa == amount(rec, "facility")


def test_notes_explain_every_missing_amount(con):
    notes = dict(
        con.execute(
            "SELECT DISTINCT regexp_replace(nonfacility_note, ':.*', ''), 1 FROM pfs_payment "
            "WHERE release = '2026-B' AND locality = 'national' AND nonfacility_amount IS NULL"
        ).fetchall()
    )
    assert set(notes) == {f"status {s}" for s in "BCEIJMNPX"} | {"NA", "status R"}
    assert con.execute(
        "SELECT count(*) FROM pfs_payment WHERE (nonfacility_amount IS NULL AND nonfacility_note IS NULL) "
        "OR (facility_amount IS NULL AND facility_note IS NULL)"
    ).fetchone() == (0,)
    t = con.execute("SELECT nonfacility_note FROM pfs_payment WHERE release = '2026-B' AND locality = 'national' AND hcpcs = '36591'").fetchone()
    assert t == ("status T: injection: paid only if no other PFS service is billed the same day by the same provider",)


# ---------------------------------------------------------------------------------------------------
# Locality amounts
# ---------------------------------------------------------------------------------------------------

LOCALITIES = {
    "2026-B": ("01112-05", "10112-00", "02102-01", "13202-01"),  # San Francisco, Alabama, Alaska, Manhattan
    "2025-D": ("01112-05", "10112-00", "02102-01", "13202-01"),
}


@pytest.mark.parametrize("rid", ["2026-B", "2025-D"])
def test_locality_amounts_every_code(con, rid):
    recs = rvu_records(FILES[rid]["rvu"])
    g = gpcis(FILES[rid]["gpci"], 5 if rid == "2026-B" else 4)  # the "with 1.0 floor" work GPCI column
    for loc in LOCALITIES[rid]:
        got = view_rows(con, rid, loc)
        assert len(got) == len(recs)
        for key, rec in recs.items():
            nf, _, fa, _ = got[key]
            assert nf == amount(rec, "nonfacility", g[loc]), (loc, key)
            assert fa == amount(rec, "facility", g[loc]), (loc, key)


def test_locality_examples(con):
    rows = con.execute(
        "SELECT release, locality, mac, locality_number, locality_name, state, nonfacility_amount, facility_amount "
        "FROM pfs_payment WHERE hcpcs = '99213' AND modifier = '' AND locality IN ('01112-05', '10112-00') ORDER BY 1, 2"
    ).fetchall()
    sf = "SAN FRANCISCO-OAKLAND-BERKELEY (SAN FRANCISCO/SAN MATEO/ALAMEDA/CONTRA COSTA CNTY)"
    assert rows == [
        # 2025-D SF: (work 1.30 x 1.088 + PE 1.35 x 1.419 + MP 0.10 x 0.445) x CF 32.3465 (PPRRVU2025_Oct.txt;
        # GPCI2025.csv, locality 01112-05, work GPCI with the 1.0 floor) = 109.15; facility PE 0.57: 73.35
        ("2025-D", "01112-05", "01112", "05", sf, "CA", Decimal("109.15"), Decimal("73.35")),
        ("2025-D", "10112-00", "10112", "00", "ALABAMA", "AL", Decimal("81.86"), Decimal("59.93")),
        ("2026-B", "01112-05", "01112", "05", sf, "CA", Decimal("117.58"), Decimal("64.37")),
        ("2026-B", "10112-00", "10112", "00", "ALABAMA", "AL", Decimal("87.79"), Decimal("54.77")),
    ]
    counts = con.execute("SELECT release, count(DISTINCT locality) FROM pfs_payment GROUP BY 1 ORDER BY 1").fetchall()
    assert counts == [("2025-D", 110), ("2026-B", 110)]  # 109 localities + national


def test_formula_and_rounding_match_cms_oppscap_amounts(con):
    """OPPSCAP_Oct.csv: amounts CMS computed per locality for imaging codes whose OPPS-based amount is
    lower. Our capped amounts must equal them, cent for cent; this checks the locality formula and the
    single final half-up rounding against CMS's own arithmetic."""
    with OPPSCAP_25D.open(newline="") as fh:
        cap = [r for r in csv.DictReader(fh) if r["HCPCS"]]
    recs = rvu_records(FILES["2025-D"]["rvu"])
    got = {
        (r[0], r[1], r[2]): (r[3], r[4], r[5], r[6])
        for r in con.execute(
            "SELECT hcpcs, modifier, locality, nonfacility_capped_amount, facility_capped_amount, nonfacility_opps_cap, facility_opps_cap "
            "FROM pfs_payment WHERE release = '2025-D' AND (nonfacility_opps_cap IS NOT NULL OR facility_opps_cap IS NOT NULL)"
        ).fetchall()
    }
    checked = skipped = 0
    for r in cap:
        if recs[(r["HCPCS"], r["MOD"])]["status"] != "A":
            continue  # contractor-priced rows give only the cap itself
        key = (r["HCPCS"], r["MOD"], f"{r['CARRIER']}-{r['LOCALITY']}")
        if key not in got:
            # OPPSCAP also lists 6 southern California localities under MAC 01112; GPCI2025 has them under 01182
            assert r["CARRIER"] == "01112" and r["LOCALITY"] in {"17", "18", "71", "72", "73", "74"}
            skipped += 1
            continue
        nf_capped, fa_capped, nf_cap, fa_cap = got[key]
        rec = recs[(r["HCPCS"], r["MOD"])]
        # OPPSCAP prices a setting even where the RVU file says NA; the view pays nothing there
        if rec["na"]["nonfacility"]:
            assert nf_capped is None
        else:
            assert nf_capped == Decimal(r["NON-FACILTY PRICE"]) == nf_cap, key
            checked += 1
        if rec["na"]["facility"]:
            assert fa_capped is None
        else:
            assert fa_capped == Decimal(r["FACILITY PRICE"]) == fa_cap, key
            checked += 1
    # 58 codes x 109 localities; all 58 (imaging global/TC rows) are NA in the facility setting
    assert checked == 58 * 109 and skipped == 58 * 6
    # codes with OPPS RVUs that OPPSCAP does not list: the cap never binds, capped amount = PFS amount
    listed = {(r["HCPCS"], r["MOD"]) for r in cap}
    binding = con.execute(
        "SELECT hcpcs, modifier FROM pfs_payment WHERE release = '2025-D' AND locality <> 'national' "
        "AND (nonfacility_capped_amount < nonfacility_amount OR facility_capped_amount < facility_amount)"
    ).fetchall()
    assert {tuple(b) for b in binding} <= listed


# ---------------------------------------------------------------------------------------------------
# Schema quality
# ---------------------------------------------------------------------------------------------------


def test_status_table_covers_the_files(con):
    known = dict(con.execute("SELECT status, payable FROM pfs_status").fetchall())
    assert {s for s, p in known.items() if p} == PAYABLE
    for rid in FILES:
        assert {rec["status"] for rec in rvu_records(FILES[rid]["rvu"]).values()} <= set(known)


def test_every_table_and_column_has_a_comment(con):
    missing = con.execute(
        "SELECT table_name, column_name FROM duckdb_columns() WHERE (table_name LIKE 'pfs_%') AND (comment IS NULL OR comment = '')"
    ).fetchall()
    assert missing == []
    tables = con.execute("SELECT table_name, comment FROM duckdb_tables() WHERE table_name LIKE 'pfs_%'").fetchall()
    views = con.execute("SELECT view_name, comment FROM duckdb_views() WHERE view_name LIKE 'pfs_%'").fetchall()
    assert {t for t, _ in tables} == {"pfs_rvu", "pfs_gpci", "pfs_locality", "pfs_notice"}
    assert {v for v, _ in views} == {"pfs_status", "pfs_payment"}
    assert all(c for _, c in tables + views)
    assert pfs.CPT_COPYRIGHT_NOTICE in dict(tables)["pfs_rvu"] and pfs.DENTAL_COPYRIGHT_NOTICE in dict(tables)["pfs_rvu"]
    types = dict(con.execute("SELECT column_name, data_type FROM duckdb_columns() WHERE table_name = 'pfs_payment'").fetchall())
    assert types["nonfacility_amount"] == types["facility_amount"] == "DECIMAL(10,2)"
