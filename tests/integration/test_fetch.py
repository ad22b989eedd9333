"""The real downloader against real HTTP on loopback: mirror layouts, the archive path, conditional requests,
content checks and safe extraction (retries: test_fetch_http.py)."""

from __future__ import annotations

import hashlib
import json
import zipfile
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from _shared import CMS, needs_mirror, TABULAR_2026_04

TABULAR_2025_04 = CMS / "icd10cm" / "2025-04" / "icd10cm-tabular-April-2025.xml"
from codeetl.sources import fetch
from faultkit import temporary_files, write_at_url, zip_of as zip_bytes
from codeetl.sources.catalog import load_catalog, parse_dataset
from codeetl.errors import FetchError

pytestmark = needs_mirror


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def icd():
    return load_catalog()["icd10cm"]


def test_http_mirror_of_extracted_files(cms_server, icd, tmp_path):
    got = fetch.fetch_release(icd.release("2026-04"), tmp_path, mirror=cms_server.url)
    tab = got.inputs["tabular"]
    assert tab.read_bytes() == TABULAR_2026_04.read_bytes()
    assert got.members[0].sha256 == sha(TABULAR_2026_04)
    assert len(got.missing) == 1  # the code-descriptions zip is not in the mirror
    manifest = json.loads((tmp_path / "icd10cm" / "2026-04" / "manifest.json").read_text())
    d = manifest["downloads"][0]
    assert d["url"].startswith("https://www.cms.gov/") and d["source"].startswith(cms_server.url)
    assert d["sha256"] == sha(TABULAR_2026_04) and d["bytes"] == TABULAR_2026_04.stat().st_size and d["fetched_at"]


def test_directory_mirror_and_missing_release(icd, tmp_path):
    got = fetch.fetch_release(icd.release("2024"), tmp_path, mirror=str(CMS))
    assert set(got.inputs) == {"codes"}
    (tmp_path / "empty-mirror").mkdir()
    none = fetch.fetch_release(icd.release("2025"), tmp_path, mirror=str(tmp_path / "empty-mirror"))
    assert none.downloads == [] and len(none.missing) == len(icd.release("2025").files)
    assert not (tmp_path / "icd10cm" / "2025").exists()


def build_official_zip(root: Path, url: str, members: dict[str, Path]) -> Path:
    """Lay out a zip at the official URL's path under `root`, as CMS publishes it."""
    target = root / urlsplit(url).path.lstrip("/")
    target.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as z:
        for name, src in members.items():
            z.write(src, name)
    return target


def test_zip_served_at_the_catalog_url_path(serve, icd, tmp_path):
    """The archive path: a zip built from the real files, served where the catalog URL points (a release whose
    zip has no sha256 pin: a built zip cannot match a published one)."""
    rel = icd.release("2025-04")
    site = tmp_path / "site"
    tab_url = rel.files[1].url
    build_official_zip(site, tab_url, {"Table and Index/icd10cm_tabular_2025.xml": TABULAR_2025_04,
                                       "icd10cm_index_2025.xml": TABULAR_2025_04})
    server = serve(site)
    got = fetch.fetch_release(rel, tmp_path / "raw", mirror=server.url)
    assert got.inputs["tabular"].name == "icd10cm_tabular_2025.xml"  # found in a sub-folder, by base name
    assert got.inputs["tabular"].read_bytes() == TABULAR_2025_04.read_bytes()
    assert not list((tmp_path / "raw").rglob("icd10cm_index_2025.xml"))  # only catalog members are extracted
    zip_download = next(d for d in got.downloads if d.url == tab_url)
    assert zip_download.source == server.url + urlsplit(tab_url).path
    assert zip_download.sha256 == sha(site / urlsplit(tab_url).path.lstrip("/"))


def test_unchanged_source_is_not_downloaded_again(serve, icd, tmp_path):
    rel = icd.release("2025-04")
    site = tmp_path / "site"
    build_official_zip(site, rel.files[1].url, {"icd10cm_tabular_2025.xml": TABULAR_2025_04})
    server = serve(site)
    first = fetch.fetch_release(rel, tmp_path / "raw", mirror=server.url)
    assert not first.downloads[0].unchanged
    second = fetch.fetch_release(rel, tmp_path / "raw", mirror=server.url)
    assert second.downloads[0].unchanged
    assert [(m.role, m.sha256) for m in second.members] == [(m.role, m.sha256) for m in first.members]
    # the second GET was conditional (the stdlib server answers 304 to If-Modified-Since)
    zip_gets = [h for p, h in server.requests if p.endswith(".zip") and "code-tables" in p]
    assert "If-Modified-Since" in zip_gets[-1]


def test_member_sha256_mismatch_is_an_error(tmp_path):
    catalog = parse_dataset({"dataset": "icd10cm", "releases": [{
        "release": "2024", "effective_from": "2023-10-01",
        "files": [{"url": "https://www.cms.gov/files/zip/x.zip", "archive": "zip",
                   "members": [{"role": "codes", "names": ["icd10cm-codes-2024.txt"], "sha256": "0" * 64}]}]}]}, "test")
    with pytest.raises(FetchError, match="the catalog pins sha256 0000"):
        fetch.fetch_release(catalog.releases[0], tmp_path, mirror=str(CMS))


# ------------------------------------------------------------------------------------------ nested zips

IPPS_2026 = CMS / "ipps" / "fy2026"
TABLES_6_URL = "https://www.cms.gov/files/zip/fy2026-ipps-fr-tables-6a-6k.zip"
INNER_6 = "CMS-1833-F Tables 6A-6K.zip"


def tables_6_release(roles: tuple[str, ...] = ("6i", "6j", "6k")):
    """An IPPS release whose Tables 6 download names the mirror's file names, built with parse_dataset."""
    return parse_dataset({"dataset": "ipps", "releases": [{
        "release": "fy2026", "effective_from": "2025-10-01",
        "files": [{"url": TABLES_6_URL, "archive": "zip", "members": [
            {"role": f"table{r}", "names": [f"FY2026-Final-Rule-Table-{r.upper()}.txt"], "required": True}
            for r in roles]}]}]}, "test").releases[0]


def test_member_inside_an_inner_zip_is_extracted(serve, tmp_path):
    """outer.zip > "CMS-1833-F Tables 6A-6K.zip" > the tables, as CMS ships Tables 6A-6K."""
    t6i, t6j, t6k = (IPPS_2026 / f"FY2026-Final-Rule-Table-{x}.txt" for x in ("6I", "6J", "6K"))
    inner = zip_bytes({"Tables/" + t6j.name: t6j.read_bytes(), t6k.name: t6k.read_bytes(),
                       t6i.name: b"an inner copy that must lose to the outer one\n"})
    site = tmp_path / "site"
    write_at_url(site, TABLES_6_URL, zip_bytes({INNER_6: inner, t6i.name: t6i.read_bytes(),
                                                "CMS-1833-F Table 6A.txt": b"not in the catalog\n"}))
    server = serve(site)
    got = fetch.fetch_release(tables_6_release(), tmp_path / "raw", mirror=server.url)
    assert got.missing == []
    assert got.inputs["table6k"].read_bytes() == t6k.read_bytes()  # only inside the inner zip
    assert got.inputs["table6j"].read_bytes() == t6j.read_bytes()  # inside a folder of the inner zip
    assert got.inputs["table6i"].read_bytes() == t6i.read_bytes()  # the outer member wins
    assert {m.role: m.sha256 for m in got.members} == {"table6i": sha(t6i), "table6j": sha(t6j), "table6k": sha(t6k)}
    out = got.inputs["table6k"].parent
    assert sorted(p.name for p in out.iterdir()) == sorted([t6i.name, t6j.name, t6k.name])  # no inner zip kept
    assert temporary_files(tmp_path / "raw") == []
    manifest = json.loads((tmp_path / "raw" / "ipps" / "fy2026" / "manifest.json").read_text())
    assert {m["name"] for m in manifest["downloads"][0]["members"]} == {t6i.name, t6j.name, t6k.name}


def test_damaged_inner_zip_names_both_archives(serve, tmp_path):
    t6k = IPPS_2026 / "FY2026-Final-Rule-Table-6K.txt"
    good_inner = zip_bytes({t6k.name: t6k.read_bytes()})
    site = tmp_path / "site"
    # the outer zip is sound (its CRCs match), the inner one is cut short: no central directory
    write_at_url(site, TABLES_6_URL, zip_bytes({INNER_6: good_inner[: len(good_inner) // 2]}))
    server = serve(site)
    with pytest.raises(FetchError) as e:
        fetch.fetch_release(tables_6_release(("6k",)), tmp_path / "raw", mirror=server.url)
    msg = str(e.value)
    assert "fy2026-ipps-fr-tables-6a-6k.zip" in msg and INNER_6 in msg and "damaged" in msg
    assert temporary_files(tmp_path / "raw") == []
