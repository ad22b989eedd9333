"""Curated link files (data/links/*.csv): reading, validation, and the shipped M96.1 file checked against
the seed page, the real ICD-10-CM code file and the real PFS 2026-B RVU file."""

from __future__ import annotations

from _shared import CMS, CODES_2024 as ICD_2024, REPO as ROOT, needs_mirror
from codeetl.datasets import links
from official import code_file, rvu_records, seed_procedures

pytestmark = needs_mirror
SHIPPED = ROOT / "data" / "links" / "m96.1-orthopedic-code-page.csv"
RVU_26B = CMS / "pfs" / "2026-B" / "PPRRVU2026_Apr_nonQPP.txt"


def real_known_codes() -> tuple[set[str], set[str]]:
    """The valid codes of the FY2024 code file (no dot) and the HCPCS codes of the 2026-B RVU file."""
    return set(code_file(ICD_2024)), {hcpcs for hcpcs, _ in rvu_records(RVU_26B)}


def test_shipped_m96_1_file_lists_the_seed_page_procedures():
    frame = links.read_links_csv(SHIPPED)
    procs = seed_procedures()
    assert len(procs) == 14
    assert frame["hcpcs"].to_list() == procs
    assert set(frame["dx"]) == {"M96.1"}
    assert set(frame["source"]) == {"published orthopedic code page, 2026-05-08"}
    assert frame["line_no"].to_list() == list(range(2, 16))


def test_shipped_file_validates_against_real_code_sets():
    known_dx, known_hcpcs = real_known_codes()
    assert "M961" in known_dx and "63030" in known_hcpcs  # the independent reads work
    valid, problems = links.validate_links(links.read_links_csv(SHIPPED), known_dx, known_hcpcs)
    assert problems == []
    assert valid.height == 14
    table = links.to_curated_link(valid)
    assert table.columns == ["dx", "hcpcs", "source", "source_id", "source_release", "note", "line_no"]
    assert set(table["source_id"]) == {"m96.1-orthopedic-code-page.csv"} and table["source_release"].null_count() == 14
