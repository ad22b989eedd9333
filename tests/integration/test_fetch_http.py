"""The downloader against synthetic files over real HTTP on loopback: retries, content checks, safe extraction (no mirror needed)."""

from __future__ import annotations

import zipfile
from pathlib import Path
import pytest
import requests
from codeetl.sources import fetch
from faultkit import temporary_files, write_at_url, zip_of as zip_bytes
from codeetl.sources.catalog import load_catalog, parse_dataset
from codeetl.errors import FetchError



def no_sleep_transport(**kw):
    waits = []
    t = fetch.Transport(sleep=waits.append, **kw)
    t.waits = waits
    return t


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


def test_connection_refused_is_retried_once(tmp_path):
    import socket
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens there now
    t = no_sleep_transport()
    with pytest.raises(FetchError, match="refused the connection"):
        t.get(f"http://127.0.0.1:{port}/x.zip", tmp_path / "x", "test")
    assert len(t.waits) == 1  # offline: fail fast (issue 9), one retry for a server restarting


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
    from codeetl.sources.catalog import Member
    with pytest.raises(FetchError, match="declares 5000000 bytes"):
        fetch.extract_members(z, (Member("codes", ("codes.txt",)),), tmp_path, "bomb.zip", max_bytes=1_000_000)


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


def test_inner_zip_named_by_the_catalog_is_kept_and_searched(serve, tmp_path):
    """MCD: role ``export`` is the inner zip itself; its CSVs are extracted as their own roles as well."""
    fixtures = Path(__file__).resolve().parents[1] / "fixtures" / "mcd"
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
    assert temporary_files(tmp_path / "raw") == []


def test_nesting_depth_is_limited(tmp_path):
    from codeetl.sources.catalog import Member
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
    assert temporary_files(tmp_path) == []


def test_path_traversal_inside_an_inner_zip_is_never_extracted(tmp_path):
    from codeetl.sources.catalog import Member
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
    from codeetl.sources.catalog import Member
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
