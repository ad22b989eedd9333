"""MS-DRG Appendix A/B parser on small text fixtures: range expansion and the errors that name the line."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
import polars as pl
import pytest
from codeetl.sources.catalog import load_catalog
from codeetl.errors import SourceFormatError
from codeetl.datasets import msdrg

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "msdrg"
APPX_A = FIX / "appendix_A.txt"
APPX_B_HEAD = FIX / "appendix_B_head.txt"


def text_lines(path: Path) -> list[str]:
    return path.read_bytes().decode("cp1252").replace("\r\n", "\n").split("\n")


def appendix_b_with(tmp_path: Path, body: list[str]) -> Path:
    head = text_lines(APPX_B_HEAD)[:9]
    path = tmp_path / "appendix_B.txt"
    path.write_bytes(("\r\n".join(head + body) + "\r\n").encode("cp1252"))
    return path


def parse_b(path: Path) -> pl.DataFrame:
    defs = msdrg.parse_appendix_a(APPX_A, "v43")
    return msdrg.parse_appendix_b(path, "v43", defs)["msdrg_dx_drg"]


def test_range_spanning_missing_numbers_expands_to_existing_drgs_only(tmp_path):
    # 450-456: 452-455 were deleted (not in Appendix A v43), so the range means 450, 451, 456
    path = appendix_b_with(tmp_path, [" M4800   08  450-456     Spinal stenosis, site unspecified"])
    assert parse_b(path)["drg"].to_list() == ["450", "451", "456"]


def test_range_end_not_in_appendix_a_is_an_error(tmp_path):
    path = appendix_b_with(tmp_path, [" M4800   08  452-456     Spinal stenosis, site unspecified"])
    with pytest.raises(SourceFormatError, match="first DRG is listed in Appendix A") as e:
        parse_b(path)
    assert e.value.line == 10


def test_mdc_disagreeing_with_appendix_a_is_an_error(tmp_path):
    path = appendix_b_with(tmp_path, [" M961    06  551-552     Postlaminectomy syndrome"])
    with pytest.raises(SourceFormatError, match="MDC that Appendix A gives") as e:
        parse_b(path)
    assert e.value.line == 10


def test_drg_lists_with_commas(tmp_path):
    """The complete v42/v43 files list MDC 22 burn DRGs as '928-929,934' and '927,933'."""
    path = appendix_b_with(tmp_path, [" T2030XA 22  927,933     Burn of third degree of head, face, and neck, unspecified site, initial encounter",
                                      " J705    22  928-929,934 Respiratory conditions due to smoke inhalation"])
    assert [(r[1], r[3]) for r in parse_b(path).rows()] == [("T20.30XA", "927"), ("T20.30XA", "933"), ("J70.5", "928"),
                                                          ("J70.5", "929"), ("J70.5", "934")]


def test_seven_character_code_fits_the_columns(tmp_path):
    path = appendix_b_with(tmp_path, [" S72001A 08  521-522     Fracture of unspecified part of neck of right femur", "         21  913-914     "])
    t = parse_b(path)
    assert t.rows() == [("v43", "S72.001A", "08", "521"), ("v43", "S72.001A", "08", "522"),
                        ("v43", "S72.001A", "21", "913"), ("v43", "S72.001A", "21", "914")]


@pytest.mark.parametrize(
    "body, bad_line, match",
    [
        ([" A000    06  371-373     Cholera", " A001    6   371-373     Cholera"], 11, "index line"),
        ([" A000    06  371+373     Cholera"], 10, "index line"),
        (["         25  974-976     "], 10, "first index line"),
        ([" A000    06  371-373     "], 10, "description"),
        ([" A000    06  371-373     Cholera", "         25  974-976     stray text"], 11, "continuation"),
        ([" A000    06  371-373     Cholera", " A000    06  371-373     Cholera again"], 11, "one entry"),
        ([" A000    06  373-371     Cholera"], 10, "first <= last"),
        ([" A000    26  371-373     Cholera"], 10, "MDC listed"),
    ],
)
def test_appendix_b_malformed_lines(tmp_path, body, bad_line, match):
    path = appendix_b_with(tmp_path, body)
    with pytest.raises(SourceFormatError, match=match) as e:
        parse_b(path)
    assert e.value.line == bad_line and e.value.path == str(path)
    assert f"appendix_B.txt, line {bad_line}" in str(e.value)


def test_missing_header_is_an_error(tmp_path):
    path = tmp_path / "appendix_A.txt"
    path.write_text("no header here\n001     P  Heart\n", encoding="cp1252")
    with pytest.raises(SourceFormatError, match="column header"):
        msdrg.parse_appendix_a(path, "v43")


def test_catalog_msdrg_v42_v43_dates_and_appendix_roles():
    ds = load_catalog()["msdrg"]
    v43, v42 = ds.release("v43"), ds.release("v42")
    # FY2026 and FY2025; a version ends with its fiscal year, or the day before a mid-year update (v42.1, v43.1)
    for r, start, fy_end in ((v43, dt.date(2025, 10, 1), dt.date(2026, 9, 30)), (v42, dt.date(2024, 10, 1), dt.date(2025, 9, 30))):
        updates = [u.effective_from for u in ds.releases if u.release.startswith(r.release + ".")]
        assert (r.effective_from, r.effective_to) == (start, min(updates, default=fy_end + dt.timedelta(days=1)) - dt.timedelta(days=1))
    for r in (v43, v42):
        assert sorted(r.roles) == ["appendix_a", "appendix_b"]
        names = {n for f in r.files for m in f.members for n in m.names}
        assert {"appendix_A.txt", "appendix_B.txt"} <= names
