"""PFS parsers on the real CMS files of releases 2025-D and 2026-B (../shared/cms/pfs).

Every expectation is computed here from an independent read of the file (plain string slicing at the
positions printed in the release PDF, Python's csv module, decimal.Decimal), never with the parser's own
helpers.
"""

from __future__ import annotations

import csv
import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest

from codeetl.sources.catalog import Release, load_catalog
from codeetl.errors import SourceFormatError
from codeetl.datasets import pfs

from _shared import CMS, needs_mirror  # noqa: E402
PFS = CMS / "pfs"
RVU_26B = PFS / "2026-B" / "PPRRVU2026_Apr_nonQPP.txt"
RVU_25D = PFS / "2025-D" / "PPRRVU2025_Oct.txt"
RVU_25D_CSV = PFS / "2025-D" / "PPRRVU2025_Oct.csv"
GPCI_26 = PFS / "2026-B" / "GPCI2026.csv"
GPCI_25 = PFS / "2025-D" / "GPCI2025.csv"
LOCCO_25 = PFS / "2025-D" / "25LOCCO.csv"

pytestmark = needs_mirror


# ---------------------------------------------------------------------------------------------------
# Independent reads
# ---------------------------------------------------------------------------------------------------


def slice_records(path: Path) -> list[tuple[int, dict]]:
    """Data records of a fixed-width RVU file, sliced at the PDF's positions (1-based inclusive)."""
    text = path.read_bytes().decode("cp1252")
    out = []
    for n, line in enumerate(text.split("\n"), 1):
        line = line.rstrip("\r")
        if not line or line.startswith("HDR"):
            continue
        f = lambda a, b: line[a - 1 : b]  # noqa: E731
        pct = lambda a, b: Decimal("0" + f(a, b))  # noqa: E731
        out.append(
            (
                n,
                {
                    "hcpcs": f(1, 5),
                    "modifier": f(6, 7).strip(),
                    "description": f(8, 57).replace("\xa0", " ").strip(),
                    "status": f(58, 58),
                    "not_used_for_medicare": f(59, 59) == "+",
                    "work_rvu": Decimal(f(60, 65)),
                    "nonfacility_pe_rvu": Decimal(f(67, 72)),
                    "nonfacility_na": f(73, 74) == "NA",
                    "facility_pe_rvu": Decimal(f(76, 81)),
                    "facility_na": f(82, 83) == "NA",
                    "mp_rvu": Decimal(f(85, 89)),
                    "nonfacility_total": Decimal(f(91, 96)),
                    "facility_total": Decimal(f(97, 102)),
                    "pctc_indicator": f(103, 103),
                    "global_days": f(104, 106),
                    "preop_pct": pct(107, 109),
                    "intraop_pct": pct(110, 112),
                    "postop_pct": pct(113, 115),
                    "mult_proc": f(116, 116),
                    "bilat_surg": f(117, 117),
                    "asst_surg": f(118, 118),
                    "co_surg": f(119, 119),
                    "team_surg": f(120, 120),
                    "pricing_indicator": f(121, 121).strip() or None,
                    "endo_base": f(128, 132).strip() or None,
                    "conversion_factor": Decimal(f(133, 140)),
                    "phys_supervision": f(142, 143),
                    "calc_flag": f(144, 144),
                    "diag_imaging_family": f(146, 147),
                    "nonfacility_pe_opps": Decimal(f(152, 157)),
                    "facility_pe_opps": Decimal(f(159, 164)),
                    "mp_opps": Decimal(f(166, 171)),
                },
            )
        )
    return out


def read_csv_records(path: Path) -> list[tuple[int, dict]]:
    """Data rows of the RVU CSV; columns by the bottom header row (HCPCS, MOD, ...) and its position."""
    with path.open(encoding="cp1252", newline="") as fh:
        rows = list(csv.reader(fh))
    hdr = next(i for i, r in enumerate(rows) if r and r[0] == "HCPCS")
    assert rows[hdr][:4] == ["HCPCS", "MOD", "DESCRIPTION", "CODE"]
    out = []
    for i, r in enumerate(rows[hdr + 1 :], hdr + 2):
        if not r[0].strip():
            continue
        out.append(
            (
                i,
                {
                    "hcpcs": r[0],
                    "modifier": r[1],
                    "description": r[2].strip(),
                    "status": r[3],
                    "not_used_for_medicare": r[4] == "+",
                    "work_rvu": Decimal(r[5]),
                    "nonfacility_pe_rvu": Decimal(r[6]),
                    "nonfacility_na": r[7] == "NA",
                    "facility_pe_rvu": Decimal(r[8]),
                    "facility_na": r[9] == "NA",
                    "mp_rvu": Decimal(r[10]),
                    "nonfacility_total": Decimal(r[11]),
                    "facility_total": Decimal(r[12]),
                    "global_days": r[14],
                    "conversion_factor": Decimal(r[24]),
                    "mp_opps": Decimal(r[30]),
                },
            )
        )
    return out


def as_dicts(frame) -> dict[tuple[str, str], dict]:
    return {(r["hcpcs"], r["modifier"]): r for r in frame.iter_rows(named=True)}


def release(rid: str) -> Release:
    return load_catalog()["pfs"].release(rid)


# ---------------------------------------------------------------------------------------------------
# RVU file
# ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("path,rid", [(RVU_26B, "2026-B"), (RVU_25D, "2025-D")])
def test_fixed_width_rows_equal_independent_slicing(path, rid):
    frame = pfs.parse_rvu_fixed(path, rid)
    expected = slice_records(path)
    assert frame.height == len(expected) == {"2026-B": 19277, "2025-D": 19090}[rid]
    got = as_dicts(frame)
    for line_no, rec in expected:
        row = got[(rec["hcpcs"], rec["modifier"])]
        assert row["line_no"] == line_no
        assert row["release"] == rid
        for key, value in rec.items():
            assert row[key] == value, (rec["hcpcs"], rec["modifier"], key)


def test_fixed_width_and_csv_parsers_agree_on_2025d():
    fixed = pfs.parse_rvu_fixed(RVU_25D, "2025-D").drop("line_no")
    from_csv = pfs.parse_rvu_csv(RVU_25D_CSV, "2025-D").drop("line_no")
    assert fixed.schema == from_csv.schema
    assert fixed.equals(from_csv)  # every column, every row, in file order


def test_csv_rows_equal_independent_csv_read():
    frame = pfs.parse_rvu_csv(RVU_25D_CSV, "2025-D")
    expected = read_csv_records(RVU_25D_CSV)
    assert frame.height == len(expected) == 19090
    got = as_dicts(frame)
    for line_no, rec in expected:
        row = got[(rec["hcpcs"], rec["modifier"])]
        assert row["line_no"] == line_no
        for key, value in rec.items():
            assert row[key] == value, (rec["hcpcs"], key)


def test_known_records():
    rows = as_dicts(pfs.parse_rvu_fixed(RVU_26B, "2026-B"))
    r = rows[("63030", "")]
    assert (r["work_rvu"], r["facility_total"], r["global_days"]) == (Decimal("11.70"), Decimal("26.89"), "090")
    assert r["nonfacility_na"] and not r["facility_na"]
    assert (r["mult_proc"], r["bilat_surg"], r["asst_surg"], r["co_surg"], r["team_surg"]) == ("2", "1", "2", "2", "0")
    assert (r["preop_pct"], r["intraop_pct"], r["postop_pct"]) == (Decimal("0.11"), Decimal("0.76"), Decimal("0.13"))
    assert r["conversion_factor"] == Decimal("33.4009") and r["pricing_indicator"] == "9"
    e = rows[("97014", "")]
    assert e["status"] == "I" and e["not_used_for_medicare"] and e["facility_na"]
    # the one non-ASCII byte of 2026-B (0xA0, Windows-1252 no-break space) becomes a plain space
    assert rows[("A2044", "")]["description"] == "Biobrane glove, each"
    assert rows[("45378", "53")]["work_rvu"] == Decimal("1.59")  # modifier 53: discontinued colonoscopy
    assert rows[("72148", "TC")]["mp_opps"] == Decimal("0.04")
    # 2025 records have no pricing indicator (column 121 is filler there)
    assert pfs.parse_rvu_fixed(RVU_25D, "2025-D")["pricing_indicator"].null_count() == 19090


def test_header_notice_matches_module_constant():
    notice = pfs.read_header_notice(RVU_26B)
    assert notice.startswith("CPT CODES AND DESCRIPTIONS ONLY ARE COPYRIGHT 2026 AMERICAN MEDICAL ASSOCIATION.")
    assert "APPLICABLE FARS/DFARS APPLY." in notice
    # the module constant is the PDF's wording of the same statement
    flat = lambda s: " ".join(s.upper().replace(".", " ").split())  # noqa: E731
    assert flat(pfs.CPT_COPYRIGHT_NOTICE) in flat(notice)


@pytest.mark.parametrize("path,rid", [(RVU_26B, "2026-B"), (RVU_25D, "2025-D")])
def test_totals_are_component_sums(path, rid):
    """CMS data fact the payment view relies on: total RVUs = work + PE + MP, in every record."""
    for _, r in slice_records(path):
        assert r["nonfacility_total"] == r["work_rvu"] + r["nonfacility_pe_rvu"] + r["mp_rvu"]
        assert r["facility_total"] == r["work_rvu"] + r["facility_pe_rvu"] + r["mp_rvu"]


# ---------------------------------------------------------------------------------------------------
# Malformed input: SourceFormatError names the file and the 1-based line
# ---------------------------------------------------------------------------------------------------


def _copy_lines(src: Path, dst: Path, n: int, edit=None) -> Path:
    lines = src.read_bytes().decode("cp1252").split("\n")[:n]
    if edit:
        edit(lines)
    dst.write_text("\n".join(lines) + "\n", encoding="cp1252")
    return dst


def _expect_error(fn, path: Path, line: int | None, words: str):
    with pytest.raises(SourceFormatError) as exc:
        fn(path, "2026-B")
    err = exc.value
    assert err.path == str(path) and err.line == line
    assert words in str(err)
    assert str(path) in str(err) and (line is None or f"line {line}" in str(err))


def test_malformed_fixed_width_records(tmp_path):
    def shift(lines):  # one character inserted in the descriptor: every later column moves right
        lines[9] = lines[9][:20] + "x" + lines[9][20:170]

    _expect_error(pfs.parse_rvu_fixed, _copy_lines(RVU_26B, tmp_path / "shift.txt", 20, shift), 10, "blank filler in column 66; found '0'")

    def letters(lines):
        lines[11] = lines[11][:59] + "  1.3O" + lines[11][65:]

    _expect_error(pfs.parse_rvu_fixed, _copy_lines(RVU_26B, tmp_path / "o.txt", 20, letters), 12, "an RVU (999.99)")

    def short(lines):
        lines[14] = lines[14][:150]

    _expect_error(pfs.parse_rvu_fixed, _copy_lines(RVU_26B, tmp_path / "short.txt", 20, short), 15, "171 characters")

    def filler(lines):
        lines[8] = lines[8][:123] + "Z" + lines[8][124:]

    _expect_error(pfs.parse_rvu_fixed, _copy_lines(RVU_26B, tmp_path / "fill.txt", 20, filler), 9, "blank filler in columns 122-127")

    def dup(lines):
        lines.append(lines[10])

    _expect_error(pfs.parse_rvu_fixed, _copy_lines(RVU_26B, tmp_path / "dup.txt", 20, dup), 21, "one record per HCPCS code + modifier")

    def extra_decimal(lines):  # 133-140 must be 999.9999; ' 33.40091' would be silently rounded by to_decimal
        lines[7] = lines[7][:132] + "33.40091" + lines[7][140:]

    _expect_error(pfs.parse_rvu_fixed, _copy_lines(RVU_26B, tmp_path / "cf.txt", 20, extra_decimal), 8, "conversion factor")


def test_malformed_csv(tmp_path):
    lines = RVU_25D_CSV.read_bytes().decode("cp1252").split("\r\n")
    bad = tmp_path / "bad.csv"
    rows = lines[:30]
    rows[15] = rows[15].replace(",0.00,", ",0.0x,", 1)
    bad.write_text("\r\n".join(rows), encoding="cp1252")
    with pytest.raises(SourceFormatError) as exc:
        pfs.parse_rvu_csv(bad, "2025-D")
    assert exc.value.line == 16 and "an RVU" in str(exc.value)

    missing = tmp_path / "missing.csv"
    rows = lines[:30]
    rows[8] = rows[8].replace(",GLOB,", ",GLOBE,")  # the stacked name becomes GLOBE DAYS: no longer known
    missing.write_text("\r\n".join(rows), encoding="cp1252")
    with pytest.raises(SourceFormatError) as exc:
        pfs.parse_rvu_csv(missing, "2025-D")
    assert exc.value.line == 10 and "GLOB DAYS" in str(exc.value)


def test_malformed_gpci_and_locco(tmp_path):
    g = GPCI_25.read_bytes().decode("cp1252").split("\r\n")
    g[5] = g[5].replace("0.975", "O.975")  # line 6: ARIZONA
    bad = tmp_path / "gpci.csv"
    bad.write_text("\r\n".join(g), encoding="cp1252")
    with pytest.raises(SourceFormatError) as exc:
        pfs.parse_gpci_csv(bad, "2025-D")
    assert exc.value.line == 6 and "pe gpci: a GPCI" in str(exc.value)

    lc = LOCCO_25.read_bytes().decode("cp1252").split("\r\n")
    lc[7] = "2102,1,ALASKA ,ANCHORAGE,ANCHORAGE"  # line 8: a second, different row for 02102-01 (line 7)
    bad = tmp_path / "locco.csv"
    bad.write_text("\r\n".join(lc), encoding="cp1252")
    with pytest.raises(SourceFormatError) as exc:
        pfs.parse_locco_csv(bad, "2025-D")
    assert exc.value.line == 8 and "one row per MAC + locality (MAC 02102 locality 01 is on line 7)" in str(exc.value)


# ---------------------------------------------------------------------------------------------------
# GPCI and locality crosswalk
# ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("path,rid,floor_col", [(GPCI_26, "2026-B", 5), (GPCI_25, "2025-D", 4)])
def test_gpci_equals_independent_read(path, rid, floor_col):
    frame = pfs.parse_gpci_csv(path, rid)
    with path.open(encoding="cp1252", newline="") as fh:
        rows = [r for r in csv.reader(fh) if r and r[0].strip().isdigit()]
    assert frame.height == len(rows) == 109
    got = {(r["mac"], r["locality"]): r for r in frame.iter_rows(named=True)}
    for r in rows:
        row = got[(r[0], r[2])]
        assert row["state"] == r[1]
        assert row["locality_name"] == r[3].rstrip("*")
        assert row["work_gpci"] == Decimal(r[floor_col])
        assert row["pe_gpci"] == Decimal(r[floor_col + 1]) and row["mp_gpci"] == Decimal(r[floor_col + 2])
        assert row["work_gpci_without_floor"] == (Decimal(r[4]) if rid == "2026-B" else None)
    ak = got[("02102", "01")]
    assert ak["locality_name"] == "ALASKA" and ak["work_gpci"] == Decimal("1.500")
    assert ak["note"] == "Work GPCI reflects a 1.5 floor in Alaska established by the MIPPA."
    assert got[("03602", "21")]["note"] == "PE GPCI reflects a 1.0 floor for frontier states established by the ACA."


def test_locality_crosswalk():
    frame = pfs.parse_locco_csv(LOCCO_25, "2025-D")
    rows = {(r["mac"], r["locality"]): r for r in frame.iter_rows(named=True)}
    # the CSV lost leading zeros (2102, 1); every key is the GPCI file's key
    gpci = pfs.parse_gpci_csv(GPCI_25, "2025-D")
    assert set(rows) == set(zip(gpci["mac"], gpci["locality"]))
    assert frame.height == 109  # the Missouri REST OF STATE row printed twice is loaded once
    assert rows[("02102", "01")]["state"] == "ALASKA"
    sf = rows[("01112", "05")]
    assert sf["state"] == "CALIFORNIA"  # carried down from the LA row above it
    assert sf["counties"] == "SAN FRANCISCO/ALAMEDA/CONTRA COSTA/SAN MATEO"
    mo = rows[("05302", "99")]
    assert (mo["fee_schedule_area"], mo["note"]) == ("REST OF STATE", "Payment locality is serviced by two carriers.")
    assert rows[("12202", "01")]["counties"].startswith("DISTRICT OF COLUMBIA; ALEXANDRIA CITY")


# ---------------------------------------------------------------------------------------------------
# parse_release and catalog
# ---------------------------------------------------------------------------------------------------


def test_parse_release_prefers_fixed_width(tmp_path):
    rel = release("2025-D")
    out = pfs.parse_release(rel, {"rvu": RVU_25D, "rvu_csv": RVU_25D_CSV, "gpci": GPCI_25, "locco": LOCCO_25})
    assert set(out) == {"pfs_rvu", "pfs_gpci", "pfs_locality", "pfs_notice"}
    assert out["pfs_rvu"]["line_no"].min() == 8  # first record after 7 HDR lines: the .txt was used
    only_csv = pfs.parse_release(rel, {"rvu_csv": RVU_25D_CSV})
    assert only_csv["pfs_rvu"]["line_no"].min() == 11
    b = pfs.parse_release(release("2026-B"), {"rvu": RVU_26B, "gpci": GPCI_26})
    assert b["pfs_rvu"].height == 19277 and set(b["pfs_rvu"]["release"]) == {"2026-B"}


def test_catalog_names_the_mirror_files_and_quarters():
    cat = load_catalog()["pfs"]
    ids = [r.release for r in cat.releases]
    # RVU24AR: in effect from March 9, 2024, when the Consolidated Appropriations Act, 2024 changed the
    # conversion factor (CMS's RVU24AR release; ../shared/research/catalog-url-evidence.md, correction 8)
    assert set(ids) >= {f"{y}-{q}" for y in (2024, 2025, 2026) for q in "ABCD"} | {"2024-AR", "2027-A"}  # at least these
    assert [r.effective_from for r in cat.releases] == sorted(r.effective_from for r in cat.releases)  # in date order
    for r in cat.releases:
        year, q = int(r.release[:4]), r.release[5:]
        start = dt.date(2024, 3, 9) if q == "AR" else dt.date(year, {"A": 1, "B": 4, "C": 7, "D": 10}[q], 1)
        assert r.effective_from == start and r.in_effect(start) and not r.in_effect(start - dt.timedelta(days=1))
        assert r.files[0].url_name.startswith(f"rvu{year % 100}{q.lower()}")  # RVU<yy><q>, with CMS's suffixes
    for rid in ("2026-B", "2025-D"):
        names = {n.lower(): m.role for f in cat.release(rid).files for m in f.members for n in m.names}
        for p in (PFS / rid).iterdir():
            loaded = p.suffix in (".txt", ".csv") and p.name.startswith("PPRRVU") or (p.suffix == ".csv" and p.name.startswith(("GPCI", "25LOCCO")))
            if loaded:
                assert p.name.lower() in names, p.name
