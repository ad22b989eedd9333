"""Bounds without waiting: the download time budget (fake clock and sleep), size and ratio ceilings, the
catalog's max_bytes, the gates file format, the refresh lock and leftovers, errors as messages."""

from __future__ import annotations

import errno
import os
import zipfile

import pytest
import requests

from codeetl.sources import fetch, textio
from codeetl.build import gates, pipeline
from codeetl.sources.catalog import Member, parse_dataset
from codeetl.errors import CatalogError, FetchError, SourceFormatError, WarehouseError


class FakeClock:
    """time.monotonic and time.sleep for a Transport: sleeping advances the clock, nothing waits."""

    def __init__(self):
        self.now = 0.0
        self.waits: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, s: float) -> None:
        self.waits.append(s)
        self.now += s


class FakeResponse:
    def __init__(self, status: int, headers: dict | None = None):
        self.status_code, self.reason, self.headers = status, "X", headers or {}

    def __enter__(self):
        return self

    def __exit__(self, *a):
        return False


def transport(monkeypatch, answer, **kw):
    """A Transport whose every request gets answer(clock) (a FakeResponse or an exception to raise)."""
    c = FakeClock()

    def fake_get(self, url, **_):
        r = answer(c)
        if isinstance(r, BaseException):
            raise r
        return r

    monkeypatch.setattr(requests.Session, "get", fake_get)
    notes: list[str] = []
    t = fetch.Transport(sleep=c.sleep, clock=c.clock, notify=notes.append, **kw)
    return t, c, notes


def test_503_forever_gives_up_within_the_default_timeout(monkeypatch, tmp_path):
    def answer(c):
        c.now += 0.5  # each request takes half a second
        return FakeResponse(503)

    t, c, notes = transport(monkeypatch, answer)
    with pytest.raises(fetch.TransientFetchError, match="answered 503"):
        t.get("http://host/x", tmp_path / "x", "x")
    assert c.now <= fetch.DEFAULT_TIMEOUT and c.waits == [1.0, 2.0, 4.0, 8.0]
    assert len(notes) == 4 and "retrying in 1 s (attempt 2 of 5" in notes[0]  # says so while it waits
    assert not (tmp_path / "x").exists()


def test_retries_stop_when_the_next_wait_would_pass_the_timeout(monkeypatch, tmp_path):
    t, c, _ = transport(monkeypatch, lambda c: FakeResponse(502), timeout=5, retries=10)
    with pytest.raises(fetch.TransientFetchError, match="would pass the 5 s timeout"):
        t.get("http://host/x", tmp_path / "x", "x")
    assert c.waits == [1.0, 2.0]  # 1 + 2 = 3 s spent; waiting 4 more would pass 5 s


def test_retry_after_beyond_the_budget_is_not_waited_for(monkeypatch, tmp_path):
    t, c, _ = transport(monkeypatch, lambda c: FakeResponse(429, {"Retry-After": "3600"}))
    with pytest.raises(fetch.TransientFetchError, match="in 60 s, would pass the 60 s timeout"):
        t.get("http://host/x", tmp_path / "x", "x")
    assert c.waits == []


def test_retries_option_caps_attempts(monkeypatch, tmp_path):
    t, c, _ = transport(monkeypatch, lambda c: FakeResponse(500), retries=0)
    with pytest.raises(fetch.TransientFetchError, match="failed after 1 attempts"):
        t.get("http://host/x", tmp_path / "x", "x")
    assert c.waits == []


def test_connect_and_stall_timeouts_shrink_to_what_is_left(monkeypatch, tmp_path):
    seen = []

    def fake_get(self, url, **kw):
        seen.append(kw["timeout"])
        raise requests.ReadTimeout("read timed out")

    monkeypatch.setattr(requests.Session, "get", fake_get)
    c = FakeClock()
    t = fetch.Transport(sleep=c.sleep, clock=c.clock, timeout=12)
    with pytest.raises(fetch.TransientFetchError, match="no answer from host"):
        t.get("http://host/x", tmp_path / "x", "x")
    assert seen[0] == (10.0, 12.0) and seen[1] == (10.0, 11.0)  # 1 s of backoff spent


def test_name_resolution_failure_is_final(monkeypatch, tmp_path):
    from urllib3.exceptions import MaxRetryError, NameResolutionError

    err = requests.ConnectionError(MaxRetryError(None, "/x", NameResolutionError("host", None, "Name or service not known")))
    t, c, _ = transport(monkeypatch, lambda c: err)
    with pytest.raises(FetchError, match="cannot resolve the host name host .*not retried"):
        t.get("http://host/x", tmp_path / "x", "x")
    assert c.waits == []


def test_too_slow_past_the_timeout():
    c = FakeClock()
    t = fetch.Transport(clock=c.clock, timeout=60)
    c.now = 59
    assert t._too_slow(1, 0) is None  # within the timeout anything goes
    c.now = 120
    assert t._too_slow(120 * fetch.MIN_RATE, 0) is None  # averaging the minimum rate: goes on
    assert "too slow" in t._too_slow(120 * fetch.MIN_RATE - 1, 0)


def test_body_over_the_ceiling_is_stopped_and_removed(tmp_path):
    t = fetch.Transport()
    with pytest.raises(FetchError, match="more than the 10 bytes"):
        t._atomic_stream(iter([b"12345", b"67890", b"x"]), tmp_path / "f", "f", None, max_bytes=10)
    assert list(tmp_path.iterdir()) == []


def test_local_mirror_file_over_the_ceiling(tmp_path):
    (tmp_path / "big").write_bytes(b"0" * 100)
    with pytest.raises(FetchError, match="has 100 bytes, more than the 50"):
        fetch.Transport().get(str(tmp_path / "big"), tmp_path / "out", "big", max_bytes=50)


@pytest.mark.parametrize("error", [errno.ENOSPC, errno.EROFS], ids=["full", "read-only"])
def test_full_or_read_only_disk_while_staging_leaves_nothing(monkeypatch, tmp_path, error):
    """The write fails as on a full or a read-only file system (without root, the integration tests cannot
    mount either): the error comes through and nothing is left."""
    real = os.fdopen

    class Full:
        def __init__(self, f):
            self.f = f

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.f.close()

        def write(self, b):
            raise OSError(error, os.strerror(error))

    monkeypatch.setattr(os, "fdopen", lambda fd, *a, **k: Full(real(fd, *a, **k)))
    with pytest.raises(OSError, match=os.strerror(error)):
        fetch.Transport()._atomic_stream(iter([b"abc"]), tmp_path / "f", "f", None)
    monkeypatch.undo()
    assert list(tmp_path.iterdir()) == []


def test_compression_ratio_ceiling(tmp_path):
    z = tmp_path / "r.zip"
    with zipfile.ZipFile(z, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("codes.txt", b"\0" * (3 << 20))  # 3 MB of zeros: about 3 KB compressed
    with pytest.raises(FetchError, match="expands to more than 100 times its compressed size"):
        fetch.extract_members(z, (Member("codes", ("codes.txt",)),), tmp_path / "out", "r.zip")
    assert not (tmp_path / "out").exists() or list((tmp_path / "out").iterdir()) == []


def test_member_ceiling_from_the_catalog(tmp_path):
    z = tmp_path / "m.zip"
    with zipfile.ZipFile(z, "w", zipfile.ZIP_STORED) as zf:
        zf.writestr("codes.txt", b"A000 x\n" * 1000)
    with pytest.raises(FetchError, match="declares 7000 bytes \\(cap 5000\\)"):
        fetch.extract_members(z, (Member("codes", ("codes.txt",), max_bytes=5000),), tmp_path / "out", "m.zip")


def test_corrupt_central_directory_is_a_message(tmp_path):
    z = tmp_path / "c.zip"
    z.write_bytes(b"PK\x03\x04" + b"\0" * 100)
    with pytest.raises(FetchError, match="expected a zip archive|damaged"):
        fetch.check_content(z, "zip", "c.zip")


def test_catalog_max_bytes(tmp_path):
    base = {"dataset": "x", "member_max_bytes": 1000, "releases": [{"release": "r", "effective_from": "2020-01-01",
            "files": [{"url": "https://h/a.zip", "archive": "zip", "members": [
                {"role": "a", "names": ["a.txt"]}, {"role": "b", "names": ["b.txt"], "max_bytes": 50}]}]}]}
    sf = parse_dataset(base, "t").releases[0].files[0]
    assert [m.max_bytes for m in sf.members] == [1000, 50] and sf.max_bytes > 1000
    base["releases"][0]["files"][0]["members"][1]["max_bytes"] = "big"
    with pytest.raises(CatalogError, match="max_bytes must be a positive number of bytes, found 'big'"):
        parse_dataset(base, "t")


def test_textio_refuses_files_far_larger_than_real_ones(tmp_path):
    p = tmp_path / "f.txt"
    p.write_bytes(b"x" * 101)
    with pytest.raises(SourceFormatError, match="expected a file of at most 100 bytes.*found '101 bytes'"):
        textio.read_bytes(p, limit=100)


def test_gate_file_reader_names_a_gate_without_select_and_its_roles(tmp_path):
    text = ("-- gate: x.one\n-- checks: nothing odd\n-- file: codes, icd10cm:tabular\nSELECT 1 WHERE false;\n\n"
            "-- gate: x.two\n-- checks: something\n-- file: none\n")
    with pytest.raises(WarehouseError, match="t.sql, line 6: gate 'x.two' lacks a SELECT"):
        gates.parse_gates(text, "x", "t.sql")
    one = gates.parse_gates(text.split("\n\n")[0], "x", "t.sql")[0]
    assert one.roles == ("x:codes", "icd10cm:tabular") and one.sql == "SELECT 1 WHERE false"


def test_every_packaged_gate_has_a_unique_name_and_a_dataset_prefix():
    names = [g.name for g in gates.load_gates()]
    assert len(names) == len(set(names)) >= 20
    assert {n.split(".")[0] for n in names} == {"warehouse", "icd10cm", "gems", "msdrg", "ipps", "pfs", "mcd"}


def test_a_gate_whose_query_fails_is_a_failed_gate():
    import duckdb

    con = duckdb.connect()
    g = gates.Gate("x.broken", "checks", (), "SELECT * FROM no_such_table", "t.sql")
    r = gates.run_gate(con, g)
    assert not r.passed and "no_such_table" in r.error
    assert "the check itself failed" in gates.failure_message([r])


def test_stale_lock_is_reported_and_leftovers_removed(tmp_path):
    # the pid is only text: a lock is stale when no process holds its flock, whichever process has that pid
    (tmp_path / ".refresh.lock").write_text("pid 999999, started 2026-01-01T00:00:00+00:00\n")
    inc = tmp_path / "raw" / "gems" / "2018" / ".incoming"
    inc.mkdir(parents=True)
    (inc / "x.txt").write_text("half")
    (tmp_path / "raw" / "gems" / "2018" / "parsed" / ".abc.part").mkdir(parents=True)
    build = tmp_path / "warehouse" / "builds" / "20260101T000000000000Z"
    build.mkdir(parents=True)
    with pipeline.refresh_lock(tmp_path) as notes:
        assert "a previous refresh (pid 999999, started 2026-01-01T00:00:00+00:00) was killed" in notes[0]
        assert "removed 3 half-written item(s)" in notes[1]
        assert (tmp_path / ".refresh.lock").read_text().startswith(f"pid {os.getpid()}, started")
    assert not inc.exists() and not build.exists() and not (tmp_path / ".refresh.lock").exists()
    with pipeline.refresh_lock(tmp_path) as notes:
        assert notes == []


def test_lock_is_reentrant_only_when_asked(tmp_path):
    with pipeline.refresh_lock(tmp_path):
        with pipeline.refresh_lock(tmp_path, reentrant=True) as notes:
            assert notes == []
        with pytest.raises(WarehouseError, match=f"another refresh is running .*pid {os.getpid()}"):
            with pipeline.refresh_lock(tmp_path):
                pass


def test_unexpected_parser_error_names_the_files(monkeypatch, tmp_path):
    from codeetl.sources.catalog import load_catalog
    from codeetl.sources.fetch import Download, FetchedRelease, LocalMember

    release = load_catalog()["gems"].release("2018")
    f = tmp_path / "2018_I9gem.txt"
    f.write_text("x")
    m = LocalMember("i9_to_i10", f.name, str(f), 1, "0" * 64)
    fetched = FetchedRelease("gems", "2018", [Download("u", "s", str(f), 1, "0" * 64, "t", members=[m])], [])
    from codeetl import datasets

    module = datasets.dataset("gems").module()
    monkeypatch.setattr(module, "parse_release", lambda r, i: 1 / 0)
    with pytest.raises(SourceFormatError, match=r"gems 2018 \(2018_I9gem.txt\).*ZeroDivisionError"):
        pipeline.parse_release_cached(release, fetched, tmp_path / "raw")


def test_readme_lists_every_gate():
    from _shared import REPO

    readme = (REPO / "README.md").read_text(encoding="utf-8")
    table = readme.split(gates.GATES_START, 1)[1].split(gates.GATES_END, 1)[0].strip()
    assert table == gates.markdown(), ("regenerate the gates table in the README from codeetl.build.gates.markdown() "
                                       "(between the gates:start and gates:end markers)")
