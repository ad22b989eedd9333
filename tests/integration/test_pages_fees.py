"""Issue 4 end to end: the complete M96.1 page (procedures and fees from the warehouse), `codeetl cpt`,
and the code_page parquet export for apps. Expected fees are read from the seed page itself."""

from __future__ import annotations

import json
import re

import pytest
from typer.testing import CliRunner

from _shared import CMS, flat, needs_mirror, NOT_IN_EFFECT
from official import amount, gpcis, rvu_records, seed_fees, seed_procedures
from codeetl.cli import app

pytestmark = needs_mirror

runner = CliRunner()


@pytest.fixture(scope="module")
def page(built):
    """The page as of the seed page's date ("Verified May 8, 2026"), whose fees it states."""
    r = runner.invoke(app, ["code", "M96.1", "--json", "--as-of", "2026-05-08", "--data-dir", str(built)])
    assert r.exit_code == 0, r.output
    return json.loads(r.stdout)


def test_seed_fees_come_out_of_the_warehouse(page):
    fees = {code: str(fee) for code, fee in seed_fees().items()}  # the page's JSON: exact decimal strings
    assert len(fees) == 10
    items = {i["hcpcs"]: i for i in page["procedures"]["items"]}
    for code, fee in fees.items():
        assert items[code]["fee"] == fee, code
        assert items[code]["national"]["nonfacility_amount"] == fee or items[code]["national"]["facility_amount"] == fee
    assert page["procedures"]["pfs_release"] == "2026-B"


def test_all_seed_procedures_listed_in_order(page):
    assert [i["hcpcs"] for i in page["procedures"]["items"]] == seed_procedures()
    assert all(i["links"][0]["source"] == "published orthopedic code page, 2026-05-08" for i in page["procedures"]["items"])
    assert "American Medical Association" in page["procedures"]["copyright"]


def test_97014_has_no_fee_and_says_why(page, built):
    item = next(i for i in page["procedures"]["items"] if i["hcpcs"] == "97014")
    assert item["fee"] is None and item["status"]["code"] == "I"
    assert "not valid for Medicare" in item["no_fee_reason"]
    r = runner.invoke(app, ["code", "M96.1", "--as-of", "2026-05-08", "--data-dir", str(built)])
    assert "no fee: status I" in r.stdout


def test_sources_block_lists_every_dataset_used(page):
    used = {(s["dataset"], s["release"]) for s in page["sources"]}
    # MS-DRG v43.1 is in effect from 2026-04-01; its weights and CC lists are IPPS FY2026's
    assert used == {("icd10cm", "2026-04"), ("gems", "2018"), ("msdrg", "v43.1"), ("ipps", "fy2026"), ("pfs", "2026-B"),
                    ("links", "m96.1-orthopedic-code-page.csv")}
    for s in page["sources"]:
        assert len(s["sha256"]) == 64 and s["files"] and all(len(f["sha256"]) == 64 for f in s["files"])
        assert s["url"].startswith("https://") or s["dataset"] == "links"
    import hashlib
    from _shared import REPO
    link_file = REPO / "data" / "links" / "m96.1-orthopedic-code-page.csv"
    [links] = [s for s in page["sources"] if s["dataset"] == "links"]
    assert links["sha256"] == hashlib.sha256(link_file.read_bytes()).hexdigest()


def test_as_of_picks_the_pfs_release_in_effect(built):
    r = runner.invoke(app, ["code", "M96.1", "--json", "--as-of", "2025-11-01", "--data-dir", str(built)])
    p = json.loads(r.stdout)
    assert p["procedures"]["pfs_release"] == "2025-D"  # 2025-10-01 .. 2025-12-31 (catalog)
    assert p["release"]["release"] == "2026" and p["release"]["in_effect"] is True  # FY2026 October 2025 release


def test_cpt_page(built):
    r = runner.invoke(app, ["cpt", "99213", "--json", "--as-of", "2026-05-01", "--data-dir", str(built)])
    assert r.exit_code == 0, r.output
    p = json.loads(r.stdout)
    [row] = p["rows"]
    assert row["national"]["nonfacility_amount"] == str(seed_fees()["99213"])
    assert row["status"]["code"] == "A" and row["status"]["payable"] is True
    assert row["global_days"] == "XXX" and row["conversion_factor"] == "33.4009"
    assert "American Medical Association" in p["copyright"]
    r = runner.invoke(app, ["cpt", "99213", "--locality", "01112-05", "--json", "--as-of", "2026-05-01", "--data-dir", str(built)])
    loc = json.loads(r.stdout)["rows"][0]["locality"]
    # (work x GPCI + PE x GPCI + MP x GPCI) x CF, from the 2026-B RVU and GPCI files (official.amount): $117.58
    rec = rvu_records(CMS / "pfs" / "2026-B" / "PPRRVU2026_Apr_nonQPP.txt")[("99213", "")]
    gpci = gpcis(CMS / "pfs" / "2026-B" / "GPCI2026.csv", 5)["01112-05"]
    assert loc["locality"] == "01112-05" and loc["nonfacility_amount"] == str(amount(rec, "nonfacility", gpci)) == "117.58"


def test_cpt_errors(built):
    r = runner.invoke(app, ["cpt", "9921", "--data-dir", str(built)])
    assert r.exit_code == 2 and "not a CPT/HCPCS code" in r.stderr
    r = runner.invoke(app, ["cpt", "99213", "--locality", "nowhere-at-all", "--as-of", "2026-05-01", "--data-dir", str(built)])
    assert r.exit_code == 1 and "no PFS locality" in r.stderr


def test_cpt_as_of_between_releases(built):
    """Loaded: 2025-D (2025-10-01..2025-12-31) and 2026-B (from 2026-04-01). On 2026-01-15 the page uses
    2025-D, flagged not in effect, never 2026-B, which took effect later."""
    r = runner.invoke(app, ["cpt", "99213", "--json", "--as-of", "2026-01-15", "--data-dir", str(built)])
    assert r.exit_code == 0, r.output
    rel = json.loads(r.stdout)["release"]
    assert (rel["release"], rel["in_effect"]) == ("2025-D", False)
    r = runner.invoke(app, ["cpt", "99213", "--as-of", "2026-01-15", "--data-dir", str(built)])
    assert NOT_IN_EFFECT in flat(r.stdout)
    r = runner.invoke(app, ["cpt", "99213", "--json", "--as-of", "2026-05-01", "--data-dir", str(built)])
    assert json.loads(r.stdout)["release"]["in_effect"] is True
    r = runner.invoke(app, ["cpt", "99213", "--as-of", "2026-05-01", "--data-dir", str(built)])
    assert NOT_IN_EFFECT not in flat(r.stdout)


def test_cpt_as_of_before_every_loaded_release(built):
    """1991-12-31: the day before the Medicare fee schedule (RBRVS) began, so no release can be in effect; the
    message lists the loaded ones (at least the mirror's 2025-D and 2026-B)."""
    r = runner.invoke(app, ["cpt", "99213", "--as-of", "1991-12-31", "--data-dir", str(built)])
    assert r.exit_code == 1 and "Traceback" not in r.output
    msg = flat(r.stderr)
    assert "no pfs release loaded was in effect on 1991-12-31; loaded: " in msg
    assert "2025-D (from 2025-10-01)" in msg and "2026-B (from 2026-04-01)" in msg


def test_procedures_section_says_when_its_release_is_not_in_effect(built):
    r = runner.invoke(app, ["code", "M96.1", "--json", "--as-of", "2026-01-15", "--data-dir", str(built)])
    s = json.loads(r.stdout)["procedures"]
    assert (s["pfs_release"], s["pfs_in_effect"]) == ("2025-D", False)
    r = runner.invoke(app, ["code", "M96.1", "--as-of", "2026-01-15", "--data-dir", str(built)])
    out = flat(r.stdout)
    assert NOT_IN_EFFECT in out[out.index("Related procedures"):]


@pytest.mark.parametrize("pattern", ["%", "_", "\\", "man%tan"])
def test_locality_text_is_matched_literally(built, pattern):
    r = runner.invoke(app, ["cpt", "99213", "--locality", pattern, "--as-of", "2026-05-01", "--data-dir", str(built)])
    assert r.exit_code == 1 and f"no PFS locality {pattern!r}" in r.stderr


def test_locality_by_name(built):
    r = runner.invoke(app, ["cpt", "99213", "--locality", "manhattan", "--json", "--as-of", "2026-05-01", "--data-dir", str(built)])
    assert r.exit_code == 0, r.output
    assert "MANHATTAN" in json.loads(r.stdout)["rows"][0]["locality"]["locality_name"].upper()


def test_malformed_hcpcs_is_malformed_code():
    from codeetl.pages.cpt import normalise_hcpcs
    from codeetl.pages.common import MalformedCode

    with pytest.raises(MalformedCode, match="is not a CPT/HCPCS code"):
        normalise_hcpcs("9921")
    assert normalise_hcpcs(" g0438 ") == "G0438"


def test_copyright_notice_is_the_one_the_release_file_carries(built):
    """2026-B's RVU file states 2026; 2025-D's CSV title rows state 2024 (its .txt says 2026: the page follows
    the file loaded, the fixed-width one)."""
    r = runner.invoke(app, ["cpt", "99213", "--json", "--as-of", "2026-05-01", "--data-dir", str(built)])
    assert "copyright 2026 American Medical Association" in json.loads(r.stdout)["copyright"]
    header = " ".join(l[4:] for l in (CMS / "pfs" / "2025-D" / "PPRRVU2025_Oct.txt").read_text(encoding="cp1252").splitlines()[:3])
    year = re.search(r"COPYRIGHT\s+(\d{4})\s+AMERICAN MEDICAL", " ".join(header.split())).group(1)
    r = runner.invoke(app, ["cpt", "99213", "--json", "--as-of", "2025-11-01", "--data-dir", str(built)])
    assert f"copyright {year} American Medical Association" in json.loads(r.stdout)["copyright"]
