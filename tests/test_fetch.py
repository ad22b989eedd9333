"""The real downloader against real HTTP on loopback: mirror layouts, the archive path, retries,
conditional requests, content checks and safe extraction."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests

from _shared import CMS, TABULAR_2026_04
from codeetl import fetch
from codeetl.catalog import load_catalog, parse_dataset
from codeetl.errors import FetchError


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def icd():
    return load_catalog()["icd10cm"]


def no_sleep_transport(**kw):
    waits = []
    t = fetch.Transport(sleep=waits.append, **kw)
    t.waits = waits
    return t


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
    """The archive path: a zip built from the real files, served where the catalog URL points."""
    rel = icd.release("2026-04")
    site = tmp_path / "site"
    tab_url = rel.files[1].url
    build_official_zip(site, tab_url, {"Table and Index/icd10cm_tabular_2026.xml": TABULAR_2026_04,
                                       "icd10cm_index_2026.xml": TABULAR_2026_04})
    server = serve(site)
    got = fetch.fetch_release(rel, tmp_path / "raw", mirror=server.url)
    assert got.inputs["tabular"].name == "icd10cm_tabular_2026.xml"  # found in a sub-folder, by base name
    assert got.inputs["tabular"].read_bytes() == TABULAR_2026_04.read_bytes()
    assert not list((tmp_path / "raw").rglob("icd10cm_index_2026.xml"))  # only catalog members are extracted
    zip_download = next(d for d in got.downloads if d.url == tab_url)
    assert zip_download.source == server.url + urlsplit(tab_url).path
    assert zip_download.sha256 == sha(site / urlsplit(tab_url).path.lstrip("/"))


def test_unchanged_source_is_not_downloaded_again(serve, icd, tmp_path):
    rel = icd.release("2026-04")
    site = tmp_path / "site"
    build_official_zip(site, rel.files[1].url, {"icd10cm_tabular_2026.xml": TABULAR_2026_04})
    server = serve(site)
    first = fetch.fetch_release(rel, tmp_path / "raw", mirror=server.url)
    assert not first.downloads[0].unchanged
    second = fetch.fetch_release(rel, tmp_path / "raw", mirror=server.url)
    assert second.downloads[0].unchanged
    assert [(m.role, m.sha256) for m in second.members] == [(m.role, m.sha256) for m in first.members]
    # the second GET was conditional (the stdlib server answers 304 to If-Modified-Since)
    zip_gets = [h for p, h in server.requests if p.endswith(".zip") and "code-tables" in p]
    assert "If-Modified-Since" in zip_gets[-1]


def test_retries_on_503_and_429_then_succeeds(serve, tmp_path):
    (tmp_path / "f.txt").write_text("A000    Cholera\n")
    server = serve(tmp_path)
    server.fail_next = [503, 429, 500]
    t = no_sleep_transport()
    changed, _, _ = t.get(server.url + "/f.txt", tmp_path / "out.txt", "test")
    assert changed and (tmp_path / "out.txt").read_text() == "A000    Cholera\n"
    assert t.waits == [1.0, 0.0, 4.0]  # exponential backoff; Retry-After: 0 honoured for the 429
    assert len(server.requests) == 4


def test_404_is_not_retried(serve, tmp_path):
    server = serve(tmp_path)
    t = no_sleep_transport()
    with pytest.raises(fetch.NotFound):
        t.get(server.url + "/nope.zip", tmp_path / "x", "test")
    assert len(server.requests) == 1 and t.waits == []


def test_403_is_an_error_without_retry(serve, tmp_path):
    server = serve(tmp_path)
    server.fail_next = [403]
    t = no_sleep_transport()
    with pytest.raises(FetchError, match="403"):
        t.get(server.url + "/x.zip", tmp_path / "x", "test")
    assert t.waits == []


def test_gives_up_after_max_attempts(serve, tmp_path):
    server = serve(tmp_path)
    server.fail_next = [502] * fetch.MAX_ATTEMPTS
    t = no_sleep_transport()
    with pytest.raises(FetchError, match=f"failed after {fetch.MAX_ATTEMPTS} attempts"):
        t.get(server.url + "/x.zip", tmp_path / "x", "test")
    assert len(t.waits) == fetch.MAX_ATTEMPTS - 1


def test_connection_refused_is_retried(tmp_path):
    import socket
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens there now
    t = no_sleep_transport()
    with pytest.raises(FetchError, match="attempts"):
        t.get(f"http://127.0.0.1:{port}/x.zip", tmp_path / "x", "test")
    assert len(t.waits) == fetch.MAX_ATTEMPTS - 1


def test_html_error_page_is_rejected(serve, tmp_path):
    """A portal's error page served with 200 where a zip should be."""
    catalog = parse_dataset({"dataset": "icd10cm", "releases": [{
        "release": "x", "effective_from": "2026-01-01",
        "files": [{"url": "https://www.cms.gov/files/zip/x.zip", "archive": "zip",
                   "members": [{"role": "tabular", "names": ["t.xml"]}]}]}]}, "test")
    site = tmp_path / "site" / "files" / "zip"
    site.mkdir(parents=True)
    (site / "x.zip").write_text("<!DOCTYPE html><html><body>Page not found</body></html>")
    server = serve(tmp_path / "site")
    # a previous good download is in place: the bad page must not replace it
    good = tmp_path / "raw" / "icd10cm" / "x" / "x.zip"
    good.parent.mkdir(parents=True)
    with zipfile.ZipFile(good, "w") as z:
        z.writestr("t.xml", "<ICD10CM.tabular/>")
    before = good.read_bytes()
    with pytest.raises(FetchError, match="expected a zip archive, got an HTML page"):
        fetch.fetch_release(catalog.releases[0], tmp_path / "raw", mirror=server.url)
    assert good.read_bytes() == before


def test_html_instead_of_text_file(tmp_path):
    p = tmp_path / "codes.txt"
    p.write_text("<html><head><title>Sign in</title></head></html>")
    with pytest.raises(FetchError, match="got an HTML page"):
        fetch.check_content(p, "none", "codes.txt")


def test_truncated_download_keeps_the_previous_file(tmp_path):
    dest = tmp_path / "f.txt"
    dest.write_text("previous good file")
    t = fetch.Transport()
    with pytest.raises(FetchError, match="closed after 3 of 10 bytes"):
        t._atomic_stream(iter([b"abc"]), dest, "f.txt", 10)
    assert dest.read_text() == "previous good file"
    assert list(tmp_path.iterdir()) == [dest]  # no .part left behind


def test_zip_path_traversal_is_never_extracted(tmp_path):
    z = tmp_path / "evil.zip"
    with zipfile.ZipFile(z, "w") as zf:
        zf.writestr("../../etc/codes.txt", "A000    x\n")
        zf.writestr("/abs/codes.txt", "A000    x\n")
    member = load_catalog()["icd10cm"].release("2024").files[0].members[0]
    out = tmp_path / "out"
    out.mkdir()
    got = fetch.extract_members(z, (member.__class__("codes", ("codes.txt",), required=False),), out, "evil.zip")
    assert got == [] and list(out.iterdir()) == []
    assert not (tmp_path.parent / "etc").exists()


def test_zip_bomb_is_stopped_by_the_size_cap(tmp_path):
    z = tmp_path / "bomb.zip"
    with zipfile.ZipFile(z, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("codes.txt", b"0" * 5_000_000)
    from codeetl.catalog import Member
    with pytest.raises(FetchError, match="declares 5000000 bytes"):
        fetch.extract_members(z, (Member("codes", ("codes.txt",)),), tmp_path, "bomb.zip", max_bytes=1_000_000)


def test_member_sha256_mismatch_is_an_error(tmp_path):
    catalog = parse_dataset({"dataset": "icd10cm", "releases": [{
        "release": "2024", "effective_from": "2023-10-01",
        "files": [{"url": "https://www.cms.gov/files/zip/x.zip", "archive": "zip",
                   "members": [{"role": "codes", "names": ["icd10cm-codes-2024.txt"], "sha256": "0" * 64}]}]}]}, "test")
    with pytest.raises(FetchError, match="the catalog expects 0000"):
        fetch.fetch_release(catalog.releases[0], tmp_path, mirror=str(CMS))


def test_timeouts_are_explicit(monkeypatch, tmp_path):
    seen = {}

    def fake_get(self, url, **kw):
        seen.update(kw)
        raise requests.Timeout("read timed out")

    monkeypatch.setattr(requests.Session, "get", fake_get)
    t = no_sleep_transport()
    with pytest.raises(FetchError):
        t.get("http://127.0.0.1:9/x", tmp_path / "x", "test")
    assert seen["timeout"] == (fetch.CONNECT_TIMEOUT, fetch.READ_TIMEOUT)


# ------------------------------------------------------------------------------------------ nested zips

IPPS_2026 = CMS / "ipps" / "fy2026"
TABLES_6_URL = "https://www.cms.gov/files/zip/fy2026-ipps-fr-tables-6a-6k.zip"
INNER_6 = "CMS-1833-F Tables 6A-6K.zip"


def zip_bytes(members: dict[str, bytes], compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression) as z:
        for name, data in members.items():
            z.writestr(name, data)
    return buf.getvalue()


def write_at_url(root: Path, url: str, data: bytes) -> Path:
    """Put `data` where `url`'s path points under `root` (a site served by `serve`)."""
    target = root / urlsplit(url).path.lstrip("/")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)
    return target


def tables_6_release(roles: tuple[str, ...] = ("6i", "6j", "6k")):
    """An IPPS release whose Tables 6 download names the mirror's file names, built with parse_dataset."""
    return parse_dataset({"dataset": "ipps", "releases": [{
        "release": "fy2026", "effective_from": "2025-10-01",
        "files": [{"url": TABLES_6_URL, "archive": "zip", "members": [
            {"role": f"table{r}", "names": [f"FY2026-Final-Rule-Table-{r.upper()}.txt"], "required": True}
            for r in roles]}]}]}, "test").releases[0]


def leftovers(root: Path) -> list[Path]:
    """Temporary files (spooled inner zips, .part files) left anywhere under `root`."""
    return [p for p in root.rglob("*") if p.is_file() and (p.name.startswith(".") or p.suffix == ".part")]


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
    assert leftovers(tmp_path / "raw") == []
    manifest = json.loads((tmp_path / "raw" / "ipps" / "fy2026" / "manifest.json").read_text())
    assert {m["name"] for m in manifest["downloads"][0]["members"]} == {t6i.name, t6j.name, t6k.name}


def test_inner_zip_named_by_the_catalog_is_kept_and_searched(serve, tmp_path):
    """MCD: role ``export`` is the inner zip itself; its CSVs are extracted as their own roles as well."""
    fixtures = Path(__file__).parent / "fixtures" / "mcd"
    csvs = {p.name: p.read_bytes() for p in fixtures.glob("*.csv")}
    inner = zip_bytes(csvs)
    release = load_catalog()["mcd"].release("current")
    site = tmp_path / "site"
    write_at_url(site, release.files[0].url, zip_bytes({"current_article_csv.zip": inner, "readme.txt": b"license"}))
    got = fetch.fetch_release(release, tmp_path / "raw", mirror=serve(site).url)
    assert got.inputs["export"].name == "current_article_csv.zip"
    assert got.inputs["export"].read_bytes() == inner
    for m in release.files[0].members[1:]:
        assert got.inputs[m.role].read_bytes() == csvs[m.names[0]]
    assert leftovers(tmp_path / "raw") == []


def test_nesting_depth_is_limited(tmp_path):
    from codeetl.catalog import Member
    data = b"A000    Cholera\n"
    z = zip_bytes({"codes.txt": data})
    for level in range(4):  # codes.txt is 4 zips below the download
        z = zip_bytes({f"level{level}.zip": z})
    path = tmp_path / "deep.zip"
    path.write_bytes(z)
    member = (Member("codes", ("codes.txt",), required=True),)
    with pytest.raises(FetchError, match="no member named codes.txt"):
        fetch.extract_members(path, member, tmp_path / "out3", "deep.zip", max_depth=3)
    got = fetch.extract_members(path, member, tmp_path / "out4", "deep.zip", max_depth=4)
    assert Path(got[0].path).read_bytes() == data
    assert leftovers(tmp_path) == []


def test_path_traversal_inside_an_inner_zip_is_never_extracted(tmp_path):
    from codeetl.catalog import Member
    evil = {"../../etc/codes.txt": b"A000    x\n", "/abs/codes.txt": b"A000    x\n", "C:/win/codes.txt": b"A000    x\n",
            "..\\..\\codes.txt": b"A000    x\n"}
    outer = tmp_path / "evil.zip"
    outer.write_bytes(zip_bytes({
        "inner.zip": zip_bytes(evil),
        "dir/deeper.zip": zip_bytes({"inner2.zip": zip_bytes(evil)}),
        "../unsafe.zip": zip_bytes({"codes.txt": b"A000    x\n"}),  # an unsafe inner zip is not even opened
    }))
    out = tmp_path / "a" / "b" / "out"
    out.mkdir(parents=True)
    got = fetch.extract_members(outer, (Member("codes", ("codes.txt",)),), out, "evil.zip")
    assert got == []
    assert list(out.iterdir()) == []
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == [outer]  # nothing written anywhere
    assert not (tmp_path.parent / "etc").exists()


@pytest.mark.parametrize("where", ["member of the inner zip", "inner zip itself"])
def test_size_cap_applies_inside_inner_zips(tmp_path, where):
    from codeetl.catalog import Member
    bomb = zip_bytes({"codes.txt": b"0" * 5_000_000})  # about 5 KB, inflating to 5 MB
    if where == "inner zip itself":
        inner = zip_bytes({"codes.txt": b"A000    x\n", "padding.bin": b"0" * 5_000_000}, zipfile.ZIP_STORED)
        expected = r"member inner\.zip declares \d+ bytes \(cap 1000000\)"
    else:
        inner = bomb
        expected = r"member inner\.zip!/codes\.txt declares 5000000 bytes \(cap 1000000\)"
    outer = tmp_path / "bomb.zip"
    outer.write_bytes(zip_bytes({"inner.zip": inner}))
    out = tmp_path / "out"
    with pytest.raises(FetchError, match=expected):
        fetch.extract_members(outer, (Member("codes", ("codes.txt",)),), out, "bomb.zip", max_bytes=1_000_000)
    assert not out.exists() or list(out.iterdir()) == []  # no partial file, no spooled inner zip


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
    assert leftovers(tmp_path / "raw") == []
