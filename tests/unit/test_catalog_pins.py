"""The source catalog as data: every download well-formed (https, known hosts, no duplicate, contiguous dates,
evidence noted), the corrections and published pins of ../shared/research/catalog-url-evidence.md carried,
and the one pin rule (:func:`codeetl.sources.catalog.pin_mismatch`) applied by the fetcher to a download and
to a mirror's members, with nothing replaced when a file does not match. No network, no ../shared."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections import Counter
from urllib.parse import urlsplit

import pytest

from codeetl.errors import CatalogError, FetchError
from codeetl.sources import fetch
from codeetl.sources.catalog import SourceFile, load_catalog, parse_dataset, pin_mismatch
from faultkit import run_cli, snapshot, write_at_url, zip_of

HOSTS = {"www.cms.gov", "downloads.cms.gov", "ftp.cdc.gov"}


def files():
    """(dataset, release, file) for every download of the packaged catalog."""
    return [(ds, r, f) for ds in load_catalog().values() for r in ds.releases for f in r.files]


# ------------------------------------------------------------------------------------- catalog sanity


def test_every_url_is_https_on_a_known_host_and_listed_once():
    urls = [f.url for _, _, f in files()]
    assert [u for u in urls if urlsplit(u).scheme != "https"] == []
    assert {urlsplit(u).hostname for u in urls} <= HOSTS
    assert [u for u, n in Counter(urls).items() if n > 1] == []


def test_a_release_has_distinct_download_names_and_roles():
    for _, r, _ in files():
        names = [f.url_name for f in r.files]
        roles = [m.role for f in r.files for m in f.members]
        assert len(set(names)) == len(names), (r.dataset, r.release, names)
        assert len(set(roles)) == len(roles), (r.dataset, r.release, roles)


def test_each_datasets_releases_cover_contiguous_days():
    """Sorted by start, every release begins the day after the one before ends; only the last is open."""
    for ds in load_catalog().values():
        rs = sorted(ds.releases, key=lambda r: r.effective_from)
        for a, b in zip(rs, rs[1:]):
            assert a.effective_to is not None, f"{ds.dataset} {a.release} is open-ended but {b.release} follows"
            assert b.effective_from == a.effective_to + dt.timedelta(days=1), (ds.dataset, a.release, b.release)


def test_every_download_says_what_evidence_there_is():
    """verified = false needs a note saying what is known; verified = true a note naming the evidence."""
    assert [(ds.dataset, r.release, f.url) for ds, r, f in files() if not f.note.strip()] == []


def test_unverified_means_no_pin():
    """A published pin is evidence that the URL served those bytes: a pinned download is verified."""
    assert [f.url for _, _, f in files() if (f.sha256 or f.bytes) and not f.verified] == []


# -------------------------------------------------------------------- the evidence's corrections and pins

EVIDENCE_URLS = {
    # ../shared/research/catalog-url-evidence.md, "Most important corrections" (numbered as there), and the
    # sources named in each file's note
    ("icd10cm", "2026-04"): "https://www.cms.gov/files/zip/april-1-2026-code-tables-tabular-index.zip",  # 1
    ("icd10cm", "2027"): "https://www.cms.gov/files/zip/2027-code-tables-tabular-index.zip",  # 2
    ("icd10cm", "2025-04"): "https://www.cms.gov/files/zip/2025-code-descriptions-tabular-order-april.zip",  # 3
    ("icd10cm", "2023-04"): "https://www.cms.gov/files/zip/2023-code-descriptions-tabular-order-updated-01/11/2023.zip",  # 4
    ("icd10cm", "2023"): "https://ftp.cdc.gov/pub/Health_Statistics/NCHS/Publications/ICD10CM/2023/icd10-Order-CodeFiles2023.zip",  # 4
    ("ipps", "fy2022"): "https://www.cms.gov/files/zip/fy2022-ipps-fr-table-5-fy-2022-ms-drgs-relative-weighting-factors-and-geometric-and-arithmetic-mean.zip",  # 6
    ("ipps", "fy2021"): "https://www.cms.gov/files/zip/fy-2021-ipps-fr-table-5.zip",  # 6
    ("ipps", "fy2020"): "https://www.cms.gov/medicare/medicare-fee-for-service-payment/acuteinpatientpps/downloads/fy2020-fr-table-5.zip",  # 6
    ("pfs", "2024-B"): "https://www.cms.gov/files/zip/rvu24b-updated-03/18/2024.zip",  # 8
    ("pfs", "2024-AR"): "https://www.cms.gov/files/zip/rvu24ar-posted-04/01/2024.zip",  # 8
    ("pfs", "2026-A"): "https://www.cms.gov/files/zip/rvu26a-updated-12-29-2025.zip",  # 8
}
WRONG_URLS = [  # the catalog's former addresses the evidence found nowhere, or found holding other content
    "https://www.cms.gov/files/zip/april-1-2026-code-tables-tabular-and-index.zip",
    "https://www.cms.gov/files/zip/2027-code-tables-tabular-and-index.zip",
    "https://www.cms.gov/files/zip/april-1-2025-code-descriptions-tabular-order.zip",
    "https://www.cms.gov/files/zip/fy2022-ipps-fr-table-5.zip",
    "https://www.cms.gov/files/zip/rvu24b.zip",
    "https://www.cms.gov/files/zip/rvu26a.zip",
]
PUBLISHED_PINS = {
    # catalog-url-evidence.md, "Published sha256 / size pins": (sha256 or None, bytes or None) of the official zip
    "https://www.cms.gov/medicare/coding/icd10/downloads/2018-icd-10-cm-general-equivalence-mappings.zip":
        ("1c5e5f14026ace48437a0d1c485d282fb5d171c357c6ab4f7798fc0a1e3624a2", None),
    "https://www.cms.gov/medicare/coding/icd9providerdiagnosticcodes/downloads/icd-9-cm-v32-master-descriptions.zip":
        ("45a7d05ddcadf124af88375b64cdf068bb1e3f999ce7fdacb91f65f4e6d55f08", None),
    "https://www.cms.gov/files/zip/2026-code-descriptions-tabular-order.zip":
        ("55a9124a27ca78a4a5c41e1101eda064ec2e08d105ff9e78d1fbd1a83298ef11", None),
    "https://www.cms.gov/files/zip/april-1-2026-code-descriptions-tabular-order.zip":
        ("4fd9d8b37f02ab42827c7e7be30595c005b0cc3a6bae7a515e3f4c86b6918688", None),
    "https://www.cms.gov/files/zip/april-1-2026-code-tables-tabular-index.zip":
        ("c623e47143c156d1427fe7cd2bee7ac1ae6994bdd2196b9ec27d4a3219bcfd48", None),
    "https://www.cms.gov/files/zip/2027-code-descriptions-tabular-order.zip":
        ("91c6c9d1117764ce72375a0f3a5493b1725dafbc1ab283b55799076c9e194965", 2_208_022),
    "https://www.cms.gov/files/zip/2027-code-tables-tabular-index.zip":
        ("37baa476323714be16f95c9b2c96812bf6f3623d9f15188866e584dc529b0298", 22_059_093),
    "https://www.cms.gov/files/zip/2027-conversion-table.zip":
        ("9478b8f95e137177e18be3df906c35566674b16313b12740d9e8e3778cb0e67a", 175_330),
    "https://www.cms.gov/files/zip/2021-code-descriptions-tabular-order-updated-12162020.zip":
        ("479be4d5773fb2e8357c5edb8a56bbd48da4d2bca443a7c42527ad102e3b388c", None),
    "https://www.cms.gov/files/zip/2023-code-descriptions-tabular-order-updated-01/11/2023.zip":
        ("cc7158228f6de01aa08650cc3afe446973a879dd78d44f1fec7150d45cfe1e06", 2_387_419),
    "https://www.cms.gov/files/zip/fy2023-ipps-fr-table-5.zip": ("eda9acaa4b90339c…ba0fcb53", 78_312),
    "https://www.cms.gov/files/zip/rvu26a-updated-12-29-2025.zip":
        ("91b9bdd5459bc4c19d4f8203410b29a672db37def2e70f01ef627b8b18fc7482", None),
    "https://www.cms.gov/files/zip/rvu26b-updated-05-01-2026.zip":
        ("7d9a398769fc4da406aa99284f3ab1a56eb609696fcf2f6f166387574edd5728", None),
    "https://www.cms.gov/files/zip/rvu26c-updated-06-30-2026.zip":
        ("d45a158e02694c1539e7f88192c611883e377181eda86dc213359707bcacbacb", None),
    "https://www.cms.gov/files/zip/rvu26d-updated-08-26-2026.zip":
        ("521ff0f4ecbf13b5d99dc1dc04d9f82e5361e55c6b4b6b3033043598bf8406e6", None),
    "https://www.cms.gov/files/zip/rvu24a-updated-04/01/2024.zip": (None, 3_863_555),
    # the CDC FY2023 order zip (the evidence's per-URL table, row 20)
    "https://ftp.cdc.gov/pub/Health_Statistics/NCHS/Publications/ICD10CM/2023/icd10-Order-CodeFiles2023.zip":
        ("a7bfd4511dc154bff96fe0ced5fcd633bd26f997ccd6ae386f5c24595e1789b5", None),
}


def test_the_catalog_carries_the_evidence_corrections():
    by_release = {(ds, r.release): {f.url for f in r.files} for ds, r, _ in
                  ((d.dataset, r, None) for d in load_catalog().values() for r in d.releases)}
    for key, url in EVIDENCE_URLS.items():
        assert url in by_release[key], key
    assert set(WRONG_URLS) & {f.url for _, _, f in files()} == set()


def test_the_catalog_carries_every_published_pin():
    pinned = {f.url: (f.sha256, f.bytes) for _, _, f in files()}
    for url, pin in PUBLISHED_PINS.items():
        assert pinned.get(url) == pin, url


def test_fy2023_october_and_april_come_from_different_files():
    """The updated-01/11/2023 files hold the April 1, 2023 update (same sha256 as CMS's plain 2023 address):
    release 2023 (October 2022) must not use any of CMS's 2023 code-set zips."""
    icd = load_catalog()["icd10cm"]
    october = [f.url for f in icd.release("2023").files if "conversion" not in f.url]
    assert all(urlsplit(u).hostname == "ftp.cdc.gov" for u in october), october
    assert all("updated-01/11/2023" in f.url for f in icd.release("2023-04").files)


def test_fy2027_conversion_members_are_cms_names():
    sf = next(f for f in load_catalog()["icd10cm"].release("2027").files if "conversion" in f.url)
    assert sf.members[0].names[:2] == ("ICD-10-CM-CONVERSION-TABLE-FY2027-October 1 2026 - FINAL-.xlsx",
                                       "508-VERSION-ICD-10-CM-CONVERSION-TABLE-FY2027-October 1 2026 - FINAL-.csv")


# ----------------------------------------------------------------------------------- the catalog format


def dataset(files_, release="r1"):
    return parse_dataset({"dataset": "gems", "releases": [{"release": release, "effective_from": "2017-10-01",
                                                           "files": files_}]}, "test")


def one_file(**kw):
    return {"url": "https://www.cms.gov/files/zip/x.zip", "archive": "zip", "note": "test",
            "members": [{"role": "i9_to_i10", "names": ["2018_I9gem.txt"]}], **kw}


@pytest.mark.parametrize("bad, message", [
    ({"sha256": "ABC"}, "sha256 must be 64 lowercase hex"),
    ({"sha256": "0" * 6 + "…" + "0" * 6}, "at least 16"),
    ({"bytes": -1}, "a bytes must be a positive number"),
    ({"verified": "yes"}, "verified must be true or false"),
    ({"verifed": True}, "unknown key"),
])
def test_a_malformed_pin_or_flag_is_refused(bad, message):
    with pytest.raises(CatalogError, match=message):
        dataset([one_file(**bad)])


def test_verified_defaults_to_false():
    assert dataset([one_file()]).releases[0].files[0].verified is False


def test_url_name_keeps_slash_dates_whole_and_unquotes():
    def name(url):
        return SourceFile(url=url, archive="zip", members=()).url_name
    assert name("https://www.cms.gov/files/zip/2023-code-descriptions-tabular-order-updated-01/11/2023.zip") == \
        "2023-code-descriptions-tabular-order-updated-01-11-2023.zip"
    assert name("https://ftp.cdc.gov/pub/x/2024-Update/icd10cm-Table%20and%20Index-April-2024.zip") == \
        "icd10cm-Table and Index-April-2024.zip"
    assert name("https://www.cms.gov/files/zip/rvu26a-updated-12-29-2025.zip") == "rvu26a-updated-12-29-2025.zip"


def test_pin_mismatch_names_both_hashes_and_sizes():
    a, b = "a" * 64, "b" * 64
    assert pin_mismatch(a, 10, a, 10) is None and pin_mismatch(None, None, a, 1) is None
    assert pin_mismatch(a, None, b, 3) == f"sha256 {b}, the catalog pins sha256 {a}"
    assert pin_mismatch(None, 10, a, 3) == "3 bytes, the catalog pins 10 bytes"
    assert pin_mismatch("a" * 16 + "…" + "b" * 8, None, "a" * 32 + "b" * 32, 1) is None  # a digest published in part
    assert pin_mismatch("a" * 16 + "…" + "c" * 8, None, "a" * 32 + "b" * 32, 1) is not None


def test_a_catalog_folder_is_used_when_named(tmp_path, monkeypatch):
    (tmp_path / "gems.toml").write_text('dataset = "gems"\n[[releases]]\nrelease = "x"\neffective_from = 2017-10-01\n'
                                        'files = []\n')
    monkeypatch.setenv("CODEETL_CATALOG", str(tmp_path))
    assert list(load_catalog()) == ["gems"] and load_catalog()["gems"].releases[0].release == "x"
    monkeypatch.setenv("CODEETL_CATALOG", str(tmp_path / "missing"))
    with pytest.raises(CatalogError, match="does not exist"):
        load_catalog()


# ------------------------------------------------------------------------- the fetcher applies the pins

DATA = b"1000 00000 00000\n"  # a stand-in GEM line: these tests are about bytes, not content


def sha(b: bytes) -> str:
    return hashlib.sha256(b).hexdigest()


def pinned_release(zip_pin=None, zip_bytes=None, member_pin=None, archive="zip"):
    f = {"url": "https://www.cms.gov/files/zip/gem.zip" if archive == "zip" else "https://www.cms.gov/files/gem.txt",
         "archive": archive, "note": "test", "verified": True,
         "members": [{"role": "i9_to_i10", "names": ["2018_I9gem.txt"]}]}
    if zip_pin:
        f["sha256"] = zip_pin
    if zip_bytes:
        f["bytes"] = zip_bytes
    if member_pin:
        f["members"][0]["sha256"] = member_pin
    return dataset([f]).releases[0]


def test_a_download_that_does_not_match_its_pin_fails_and_replaces_nothing(tmp_path):
    good, bad = zip_of({"2018_I9gem.txt": DATA}), zip_of({"2018_I9gem.txt": DATA + b"x"})
    site, raw = tmp_path / "site", tmp_path / "raw"
    write_at_url(site, "https://www.cms.gov/files/zip/gem.zip", good)
    fetch.fetch_release(pinned_release(sha(good), len(good)), raw, mirror=str(site))
    before = snapshot(raw)
    write_at_url(site, "https://www.cms.gov/files/zip/gem.zip", bad)  # the publisher's file changed
    with pytest.raises(FetchError) as e:
        fetch.fetch_release(pinned_release(sha(good), len(good)), raw, mirror=str(site))
    msg = str(e.value)
    assert "\n" not in msg and sha(bad) in msg and sha(good) in msg and "the download" in msg
    assert f"{len(bad):,} bytes, the catalog pins {len(good):,} bytes" in msg
    assert snapshot(raw) == before  # the previous zip, members and manifest are kept


def test_a_pin_added_later_is_checked_against_the_kept_download(tmp_path):
    data = zip_of({"2018_I9gem.txt": DATA})
    site, raw = tmp_path / "site", tmp_path / "raw"
    write_at_url(site, "https://www.cms.gov/files/zip/gem.zip", data)
    fetch.fetch_release(pinned_release(), raw, mirror=str(site))
    with pytest.raises(FetchError, match=f"sha256 {sha(data)}, the catalog pins sha256 {'0' * 64}"):
        fetch.fetch_release(pinned_release("0" * 64), raw, mirror=str(site))


def test_a_mirror_of_extracted_members_is_checked_by_member_pins(tmp_path):
    mirror = tmp_path / "mirror"
    (mirror / "gems" / "r1").mkdir(parents=True)
    (mirror / "gems" / "r1" / "2018_I9gem.txt").write_bytes(DATA)
    got = fetch.fetch_release(pinned_release(zip_pin="f" * 64, member_pin=sha(DATA)), tmp_path / "ok", str(mirror))
    assert got.members[0].sha256 == sha(DATA)  # the zip pin is of the zip: a member mirror has none to check
    with pytest.raises(FetchError) as e:
        fetch.fetch_release(pinned_release(member_pin="0" * 64), tmp_path / "raw", str(mirror))
    assert "member 2018_I9gem.txt" in str(e.value) and sha(DATA) in str(e.value) and "0" * 64 in str(e.value)
    assert not (tmp_path / "raw" / "gems").exists()


def test_a_plain_files_pin_holds_for_a_mirrors_copy(tmp_path):
    mirror = tmp_path / "mirror"
    (mirror / "gems" / "r1").mkdir(parents=True)
    (mirror / "gems" / "r1" / "2018_I9gem.txt").write_bytes(DATA)
    with pytest.raises(FetchError, match=f"the download does not match its catalog pin: it has sha256 {sha(DATA)}"):
        fetch.fetch_release(pinned_release(zip_pin="0" * 64, archive="none"), tmp_path / "raw", str(mirror))


# -------------------------------------------------------------------------------- releases --unverified


def test_releases_unverified_lists_every_unverified_download(tmp_path):
    expected = [f.url for _, _, f in files() if not f.verified]
    assert expected, "the packaged catalog has unverified downloads"
    result = run_cli(["releases", "--unverified", "--data-dir", str(tmp_path)])  # no warehouse needed
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].startswith(f"{len(expected)} catalog downloads are unverified")
    assert [ln.split()[-1] for ln in lines[1::2]] == expected  # one unwrapped line per download, its note below
    doc = json.loads(run_cli(["releases", "--unverified", "--json", "--data-dir", str(tmp_path)]).stdout)
    assert [d["url"] for d in doc] == expected and all(d["verified"] is False and d["note"] for d in doc)
