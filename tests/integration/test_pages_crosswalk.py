"""Issue 3 on the CLI: ICD-9 equivalents and the MS-DRG family on the code page, `codeetl drg`, `codeetl icd9`.

Expected values are read from the seed page and from the official files independently (not from the
code under test)."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from typer.testing import CliRunner

from _shared import CMS, flat, needs_mirror, NOT_IN_EFFECT
from codeetl.cli import app

pytestmark = needs_mirror

runner = CliRunner()


DAY = "2026-05-01"  # a fixed day of FY2026 (ICD-10-CM 2026-04, MS-DRG v43, IPPS FY2026 in effect), never today


def run(built, *args):
    """`codeetl <args>` as of DAY unless the args give --as-of."""
    return runner.invoke(app, [*args, *([] if "--as-of" in args else ["--as-of", DAY]), "--data-dir", str(built)])


def run_json(built, *args):
    r = run(built, *args, "--json")
    assert r.exit_code == 0, r.output
    return json.loads(r.stdout)


def table5_row(drg: str) -> list[str]:
    for line in (CMS / "ipps" / "fy2026" / "FY2026-Final-Rule-Table-5.txt").read_bytes().decode("cp1252").splitlines():
        cells = line.split("\t")
        if cells[0] == drg:
            return cells
    raise AssertionError(drg)


@pytest.fixture(scope="module")
def m961(built):
    """The page as of the seed page's date ("Verified May 8, 2026"): ICD-10-CM 2026-04, MS-DRG v43.1 (from April 1,
    2026), PFS 2026-B; not today's, which moves."""
    return run_json(built, "code", "M96.1", "--as-of", "2026-05-08")


def test_icd9_equivalents_of_m96_1(m961):
    icd9 = m961["icd9"]
    assert icd9["equivalents"] == ["722.80", "722.81", "722.82", "722.83"]
    back = icd9["icd10_to_icd9"]["entries"]
    assert [e["target"] for e in back] == ["722.80", "722.81", "722.82", "722.83"]
    assert all(e["approximate"] and not e["combination"] and not e["no_map"] for e in back)
    assert all(any(m.startswith("approximate") for m in e["meaning"]) for e in back)
    fwd = icd9["icd9_to_icd10"]["entries"]
    assert sorted(e["source"] for e in fwd) == ["722.80", "722.81", "722.82", "722.83"]


def test_msdrg_family_of_m96_1(m961):
    ms = m961["ms_drg"]
    assert ms["version"] == "v43.1" and ms["fiscal_year"] == 2026  # FY2026's April point release: Table 5 of FY2026
    [group] = ms["as_principal"]
    assert group["mdc"] == "08" and "Musculoskeletal" in group["mdc_name"]
    drgs = {d["drg"]: d for d in group["drgs"]}
    assert set(drgs) == {"551", "552"}
    for drg in ("551", "552"):
        cells = table5_row(drg)  # weight (10% cap) col 7, GMLOS col 8, AMLOS col 9 of Table 5
        assert Decimal(drgs[drg]["weight"]) == Decimal(cells[7])
        assert Decimal(drgs[drg]["gmlos"]) == Decimal(cells[8]) and Decimal(drgs[drg]["amlos"]) == Decimal(cells[9])
    assert (drgs["551"]["weight"], drgs["551"]["gmlos"], drgs["551"]["amlos"]) == ("1.6761", "4.5", "5.9")
    assert (drgs["552"]["weight"], drgs["552"]["gmlos"], drgs["552"]["amlos"]) == ("0.9613", "2.9", "3.6")
    assert drgs["551"]["title"] == "Medical Back Problems with MCC" and "MCC" in drgs["551"]["applies"]
    assert drgs["552"]["severity"] == "without MCC"
    assert ms["as_secondary"]["level"] is None  # M96.1 is on neither Table 6I nor 6J


def test_combination_on_an_icd10_page(built):
    """A02.1 needs two ICD-9 codes together: 003.1 and 995.91 (scenario 1, choice lists 1 and 2)."""
    p = run_json(built, "code", "A02.1")
    combos = p["icd9"]["icd10_to_icd9"]["combinations"]
    assert combos == [{"scenario": 1, "choice_lists": [["003.1"], ["995.91"]], "reads": "003.1 and 995.91"}]
    assert p["ms_drg"]["as_secondary"]["level"] == "MCC"


def test_diabetes_icd9_combination_page(built):
    """250.12 (diabetes with ketoacidosis, type II, uncontrolled): the I9 GEM lines 25012 E1110/E1169/E1310
    (flags 10111) and E1165 (10112) read as one scenario with two choice lists."""
    lines = [l.split() for l in (CMS / "gems" / "2018" / "2018_I9gem.txt").read_text().splitlines() if l.startswith("25012 ")]
    list1 = [f"{t[:3]}.{t[3:]}" for _, t, f in lines if f[3:] == "11"]
    list2 = [f"{t[:3]}.{t[3:]}" for _, t, f in lines if f[3:] == "12"]
    p = run_json(built, "icd9", "250.12")
    assert p["code"] == "250.12"
    assert p["icd9_to_icd10"]["combinations"] == [{"scenario": 1, "choice_lists": [list1, list2],
                                                   "reads": f"({' or '.join(list1)}) and {list2[0]}"}]
    assert list2 == ["E11.65"]
    e1165 = run_json(built, "code", "E11.65")
    fwd = {c["source"]: c["scenarios"] for c in e1165["icd9"]["icd9_to_icd10"]["combinations"]}
    assert fwd["250.12"][0]["choice_lists"] == [list1, list2]


def test_drg_page(built):
    p = run_json(built, "drg", "551")
    assert p["title"] == "Medical Back Problems with MCC" and p["mdc"]["code"] == "08" and p["type"] == "medical"
    assert (p["weight"], p["weight_before_cap"], p["gmlos"], p["amlos"]) == ("1.6761", "1.6761", "4.5", "5.9")
    assert [f["drg"] for f in p["family_drgs"]] == ["551", "552"]
    # independent count from Appendix B: codes whose DRG ranges include 551
    import re
    count, code = set(), None
    for line in (CMS / "msdrg" / "v43" / "appendix_B.txt").read_bytes().decode("cp1252").splitlines():
        m = re.match(r"^ (\S+)?\s+(\w{2,3})\s+(\d{3})(?:-(\d{3}))?", line)
        if not m or not line.startswith(" ") or "Dx" in line:
            continue
        code = m.group(1) or code
        lo, hi = int(m.group(3)), int(m.group(4) or m.group(3))
        if lo <= 551 <= hi:
            count.add(code)
    assert p["diagnoses"]["count"] == len(count) > 0 and "M961" in count
    dotted = sorted(c if len(c) <= 3 else f"{c[:3]}.{c[3:]}" for c in count)
    assert [e["dx"] for e in p["diagnoses"]["examples"]] == dotted[:10]  # the first ten, by code


def test_drg_errors(built):
    r = run(built, "drg", "453")
    assert r.exit_code == 1 and "does not exist" in r.stderr and "451" in r.stderr
    r = run(built, "drg", "five")
    assert r.exit_code == 2


def test_human_sections(built):
    r = run(built, "code", "M96.1")
    for text in ("ICD-9-CM equivalents", "722.83", "MS-DRG v43", "551", "Medical Back Problems", "1.6761"):
        assert text in r.stdout


@pytest.mark.parametrize("spelling", ["0551", "00551", " 551 "])
def test_drg_with_leading_zeros(built, spelling):
    assert run_json(built, "drg", spelling)["drg"] == "551"


@pytest.mark.parametrize("bad", ["1000", "5.5", "", "５５１"])
def test_drg_malformed(built, bad):
    r = run(built, "drg", bad)
    assert r.exit_code == 2 and "is not an MS-DRG number" in r.stderr and "Traceback" not in r.output


def test_drg_without_weights(built):
    """998 and 999 are in Table 5 with '.' for weight and lengths of stay, and have no MDC or type."""
    assert table5_row("999")[6:9] == [".", ".", "."]
    p = run_json(built, "drg", "999")
    assert (p["weight"], p["weight_before_cap"], p["gmlos"], p["amlos"], p["type"]) == (None, None, None, None, None)
    r = run(built, "drg", "999")
    assert r.exit_code == 0
    assert "None" not in r.stdout
    assert "not published in Table 5" in flat(r.stdout)


def test_drg_page_release_and_in_effect(built):
    p = run_json(built, "drg", "551", "--as-of", "2026-01-15")
    assert p["version"] == "v43"
    assert p["release"] == {"dataset": "msdrg", "release": "v43", "label": "MS-DRG v43 (FY2026)", "effective_from": "2025-10-01",
                            "effective_to": "2026-03-31", "in_effect": True}  # v43.1 follows on 2026-04-01
    assert {(s["dataset"], s["release"]) for s in p["sources"]} == {("msdrg", "v43"), ("ipps", "fy2026")}
    assert NOT_IN_EFFECT not in flat(run(built, "drg", "551", "--as-of", "2026-01-15").stdout)
    p = run_json(built, "drg", "551", "--as-of", "2025-01-15")  # FY2025: v42, from the v42 appendices
    assert p["release"]["release"] == "v42" and p["release"]["in_effect"] is True
    # the MS-DRG program began on 2007-10-01 (v25): no version can be in effect the day before
    r = run(built, "drg", "551", "--as-of", "2007-09-30")
    assert r.exit_code == 1 and "Traceback" not in r.output
    assert "no msdrg release loaded was in effect on 2007-09-30; loaded: " in flat(r.stderr) and "v43 (from 2025-10-01)" in flat(r.stderr)
