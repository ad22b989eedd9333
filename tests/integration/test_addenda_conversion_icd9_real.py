"""The FY2027 order addenda, the FY2025 conversion table and the ICD-9-CM v32 files of the mirror, each checked
against the figures the files (or ../shared/cms/README.md) publish and an independent plain-Python read."""

from __future__ import annotations

import csv
import datetime as dt
import re

import polars as pl

from _shared import CMS, needs_mirror
from codeetl.sources.catalog import load_catalog
from codeetl.datasets import icd9cm
from codeetl.datasets.icd10cm import addenda, conversion

pytestmark = needs_mirror

ADDENDA_2027 = CMS / "icd10cm" / "2027" / "icd10cm_order_addenda_2027.txt"
CONVERSION_2025 = CMS / "icd10cm" / "2025" / "icd-10-cm-conversion-table-FY2025.csv"
ICD9 = CMS / "icd9cm" / "v32"


def test_fy2027_order_addenda():
    """Trailer: codes 74,719 -> 74,879 (190 additions, 30 deletions, 4 revisions), headers 23,467 -> 23,524
    (63 additions, 6 deletions). Independent: count the lines by their label and column-14 flag."""
    a, t = addenda.parse_order_addenda(ADDENDA_2027, "2027")
    lines = [l for l in ADDENDA_2027.read_text(encoding="ascii").splitlines() if l.split(":")[0] in ("Add", "Delete", "Revise from", "Revise to")]
    independent = {}
    for l in lines:
        key = (l.split(":")[0], l[13])
        independent[key] = independent.get(key, 0) + 1
    assert independent == {("Add", "1"): 190, ("Add", "0"): 63, ("Delete", "1"): 30, ("Delete", "0"): 6,
                           ("Revise from", "1"): 4, ("Revise to", "1"): 4}
    assert a.height == len(lines) == 297
    got = {(action, flag): n for action, flag, n in a.group_by("action", "is_billable").len().rows()}
    assert got == {("add", True): 190, ("add", False): 63, ("delete", True): 30, ("delete", False): 6,
                   ("revise_from", True): 4, ("revise_to", True): 4}
    totals = {r["kind"]: (r["count_before"], r["count_after"], r["additions"], r["deletions"], r["revisions"]) for r in t.iter_rows(named=True)}
    assert totals == {"codes": (74_719, 74_879, 190, 30, 4), "headers": (23_467, 23_524, 63, 6, 0)}
    # codes and titles as the file prints them (independent fixed-column read)
    z2914 = [l for l in lines if l[15:22].strip() == "Z2914"]
    assert [l[84:].strip() for l in z2914] == ["Encounter for prophylactic rabies immune globin", "Encounter for prophylactic rabies immune globulin"]
    assert a.filter(pl.col("code") == "Z29.14").sort("line_no")["description"].to_list() == [l[84:].strip() for l in z2914]
    assert a.filter(pl.col("code") == "D69.1").select("action", "is_billable").rows() == [("delete", True), ("add", False)]


def _independent_conversion() -> list[tuple[str, str, str]]:
    """(previous, new, effective) by another route: split the previous-code cell on its separators."""
    rows = list(csv.reader(CONVERSION_2025.open(newline="", encoding="ascii"), delimiter="\t"))
    start = next(i for i, r in enumerate(rows) if r[:1] == ["Current code assignment"]) + 1
    out = []
    for new, eff, prev in rows[start:]:
        prev = " ".join(prev.split())
        if prev == "None":
            continue
        for part in re.split(r"\s*(?:,|;|&|\band\b|\bAND\b)\s*", prev):
            part = re.sub(r"^(Codes in Categories|Code from categories|a code from)\s+", "", part).rstrip("-").removesuffix(".")
            if part:
                out.append((part, new.strip(), eff.strip()))
    return out


def test_fy2025_conversion_table():
    """The table lists 5,405 new codes since FY2016 (its data rows, counted here with the csv module), 125 of which
    replaced nothing ("None"), and 8 rows are printed twice (O44.20-O44.23, O44.30-O44.33); one row per previous
    code and new code: 5,642 by the independent split below (a count of this test's own read, not a published
    figure). M54.5 -> M54.50, M54.51, M54.59 on 2021-10-01."""
    got = conversion.parse_conversion_table(CONVERSION_2025, "2025")
    rows = list(csv.reader(CONVERSION_2025.open(newline="", encoding="ascii"), delimiter="\t"))
    data = rows[next(i for i, r in enumerate(rows) if r[:1] == ["Current code assignment"]) + 1:]
    assert len(data) == 5_405 and sum(r[2].strip() == "None" for r in data) == 125
    independent = _independent_conversion()
    assert len(data) - len({tuple(c.strip() for c in r) for r in data}) == 8
    assert got.height == len(set(independent)) == 5_642
    assert sorted(zip(got["code"], got["replaced_by"], got["effective_text"])) == sorted(set(independent))
    assert got["replaced_by"].n_unique() == 5_405 - 125 - 8
    m545 = got.filter(pl.col("code") == "M54.5").sort("replaced_by")
    assert m545.select("replaced_by", "effective").rows() == [
        ("M54.50", dt.date(2021, 10, 1)), ("M54.51", dt.date(2021, 10, 1)), ("M54.59", dt.date(2021, 10, 1))]
    # mid-year updates keep their dates: the January 2021 and April 2020/2022/2023 updates. Independent: the new
    # codes (column 1) of the data rows whose date (column 2) is a day, not a fiscal year, by date
    mid_year: dict[str, set[str]] = {}
    for new, eff, prev in data:
        if "/" in eff and " ".join(prev.split()) != "None":
            mid_year.setdefault(eff.strip(), set()).add(new.strip())
    expected = {eff: len(codes) for eff, codes in mid_year.items()}
    assert expected == {"04/01/20": 2, "01/01/21": 6, "04/01/22": 3, "04/01/23": 42}
    assert dict(got.group_by("effective_text").agg(pl.col("replaced_by").n_unique()).filter(pl.col("effective_text").str.contains("/")).iter_rows()) == expected


def test_icd9cm_v32():
    """README: 14,567 diagnosis and 3,882 procedure codes. Independent: count the lines of each file."""
    rel = load_catalog()["icd9cm"].release("v32")
    inputs = {"long_dx": ICD9 / "CMS32_DESC_LONG_DX.txt", "short_dx": ICD9 / "CMS32_DESC_SHORT_DX.txt",
              "long_sg": ICD9 / "CMS32_DESC_LONG_SG.txt", "short_sg": ICD9 / "CMS32_DESC_SHORT_SG.txt"}
    codes = icd9cm.parse_release(rel, inputs)["icd9cm_codes"]
    independent = {}
    for role, path in inputs.items():
        independent[role] = {l.split(" ", 1)[0]: l.split(" ", 1)[1].strip() for l in path.read_text(encoding="latin-1").splitlines() if l.strip()}
    assert len(independent["long_dx"]) == len(independent["short_dx"]) == 14_567
    assert len(independent["long_sg"]) == len(independent["short_sg"]) == 3_882
    assert dict(codes.group_by("kind").len().iter_rows()) == {"diagnosis": 14_567, "procedure": 3_882}
    dx = codes.filter(pl.col("kind") == "diagnosis")
    assert dict(zip(dx["code_nodot"], dx["description"])) == independent["long_dx"]
    assert dict(zip(dx["code_nodot"], dx["short_description"])) == independent["short_dx"]
    by_code = {r["code"]: r for r in codes.iter_rows(named=True)}
    assert by_code["722.83"]["description"] == "Postlaminectomy syndrome, lumbar region"
    assert by_code["V45.4"]["description"] == "Arthrodesis status"
    assert by_code["E880.9"]["description"] == "Accidental fall on or from other stairs or steps"
    assert by_code["81.08"]["kind"] == "procedure"
    assert by_code["386.00"]["description"] == "Ménière's disease, unspecified"  # Latin-1
    assert "250" not in by_code  # category headers are not in the files
