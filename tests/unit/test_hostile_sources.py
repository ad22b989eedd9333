"""Sources under hostile input (issue 17), in small: forged zip headers refused before anything is replaced,
XML entities refused naming the line, a mix of encodings refused naming the line, strict dates, files
that fail their parse or a gate moved to quarantine with the last good ones put back, and builds never
published removed by the next refresh. The same faults on the real files, through the CLI:
tests/integration/test_hostile_input.py."""

from __future__ import annotations

import io
import json
import struct
import zipfile
import zlib

import pytest

from codeetl.build import pipeline, quarantine
from codeetl.codes import iso_date
from codeetl.errors import FetchError, SourceFormatError
from codeetl.sources import fetch
from codeetl.sources.catalog import Member
from codeetl.sources.textio import decode_cms_text, parse_xml

DATA = b"".join(b"M961    Postlaminectomy kyphosis %06d\r\n" % i for i in range(20_000))
HALF = len(DATA) // 2


def forged(*, cd_size=None, cd_crc=None, local_size=None, local_crc=None) -> bytes:
    """A zip of one deflated member a.txt whose central directory and/or local header say other things."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("a.txt", DATA)
    raw = bytearray(buf.getvalue())
    cd = raw.rfind(b"PK\x01\x02")
    for at, value in ((cd + 16, cd_crc), (cd + 24, cd_size), (14, local_crc), (22, local_size)):
        if value is not None:
            raw[at:at + 4] = struct.pack("<I", value)
    return bytes(raw)


@pytest.mark.parametrize("case,phrase", [
    ("central directory shorter, CRC of that prefix", "its local header declares"),
    ("both headers shorter, CRC of that prefix", "Bad CRC-32"),
    ("central directory longer", "its local header declares"),
    ("both headers longer", f"declares {len(DATA) + 1000:,} bytes but holds {len(DATA):,}"),
    ("local header shorter", "its local header declares"),
])
def test_forged_zip_sizes_are_refused(tmp_path, case, phrase):
    """zipfile trusts the central directory and cuts a member at the size it declares (a shorter size with
    the CRC of the shorter data passes it); every such lie is refused before anything is extracted."""
    crc = zlib.crc32(DATA[:HALF])
    kw = {"central directory shorter, CRC of that prefix": dict(cd_size=HALF, cd_crc=crc),
          "both headers shorter, CRC of that prefix": dict(cd_size=HALF, cd_crc=crc, local_size=HALF, local_crc=crc),
          "central directory longer": dict(cd_size=len(DATA) + 1000),
          "both headers longer": dict(cd_size=len(DATA) + 1000, local_size=len(DATA) + 1000),
          "local header shorter": dict(local_size=HALF)}[case]
    z = tmp_path / "f.zip"
    z.write_bytes(forged(**kw))
    with pytest.raises(FetchError, match="member a.txt") as e:
        fetch.extract_members(z, (Member(role="x", names=("a.txt",)),), tmp_path / "out", "ds rel f.zip")
    assert phrase in str(e.value)
    assert not (tmp_path / "out" / "a.txt").exists()


def test_an_honest_zip_still_extracts(tmp_path):
    z = tmp_path / "f.zip"
    z.write_bytes(forged())
    [m] = fetch.extract_members(z, (Member(role="x", names=("a.txt",)),), tmp_path / "out", "ds rel f.zip")
    assert (tmp_path / "out" / "a.txt").read_bytes() == DATA and m.bytes == len(DATA)


XXE = b'<?xml version="1.0"?>\n<!DOCTYPE r [\n<!ENTITY xxe SYSTEM "file:///etc/passwd">\n]>\n<r>\n<a>leak: &xxe; end</a></r>'
UNDECLARED = b'<?xml version="1.0"?>\n<!DOCTYPE r SYSTEM "http://127.0.0.1:9/r.dtd">\n<r>\n\n<a>leak: &xxe; end</a></r>'
PARAMETER = b'<?xml version="1.0"?>\n<!DOCTYPE r [\n\n<!ENTITY % p SYSTEM "file:///etc/passwd">\n]>\n<r/>'


@pytest.mark.parametrize("doc,line,phrase", [(XXE, 3, "expected XML without entity declarations; found 'a DOCTYPE declaring xxe'"),
                                             (UNDECLARED, 5, "expected text without entity references; found '&xxe;'"),
                                             (PARAMETER, 4, "expected XML without entity declarations")])
def test_xml_entities_are_refused_naming_the_line(tmp_path, doc, line, phrase):
    for source in (doc, tmp_path / "f.xml"):
        (tmp_path / "f.xml").write_bytes(doc)
        with pytest.raises(SourceFormatError) as e:
            parse_xml(source, "f.xml")
        assert str(e.value).startswith(f"f.xml, line {line}: {phrase}")


def test_predefined_and_character_references_are_text():
    root = parse_xml(b'<?xml version="1.0"?>\n<r>a &amp; b &#233; &lt;</r>', "f.xml")
    assert root.text == "a & b \u00e9 <"


def test_a_mix_of_utf8_and_latin1_is_refused_at_its_first_non_utf8_line():
    raw = "M961    caf\u00e9 one\n".encode() + b"M962    plain\n" + "M963    caf\u00e9 two\n".encode("latin-1")
    with pytest.raises(SourceFormatError, match=r"^codes.txt, line 3: expected UTF-8 text throughout \(line 1 is UTF-8: '\u00e9'\)"):
        decode_cms_text(raw, "codes.txt")
    assert decode_cms_text("M961    caf\u00e9\n".encode("cp1252"), "codes.txt") == "M961    caf\u00e9\n"  # one encoding: read
    assert decode_cms_text("M961    caf\u00e9\n".encode(), "codes.txt") == "M961    caf\u00e9\n"


@pytest.mark.parametrize("text,ok", [("2026-04-01", True), ("20260401", False), ("2026-W14-3", False),
                                     ("2026-4-1", False), ("2026-02-30", False), ("2026-04-01T00:00", False),
                                     (" 2026-04-01", False), ("2026-04-01\n", False), ("+2026-04-01", False)])
def test_dates_are_yyyy_mm_dd_only(text, ok):
    assert (iso_date(text) is not None) == ok


# ----------------------------------------------------------------------------------------- quarantine


def fetched_release(root, files: dict[str, bytes], previous: dict[str, bytes] | None = None):
    """raw/ds/rel as a fetch leaves it: `files` and their manifest; with `previous`, the fetch replaced
    those (kept in .previous with their manifest, as fetch.keep_previous does)."""
    rdir = root / "raw" / "ds" / "rel"
    rdir.mkdir(parents=True, exist_ok=True)

    def manifest(content):
        return json.dumps({"dataset": "ds", "release": "rel", "missing": [], "downloads": [
            {"url": f"https://x/{n}", "source": "m", "path": str(rdir / n), "bytes": len(b), "fetched_at": "t",
             "sha256": fetch.hashlib.sha256(b).hexdigest(), "members": [
                 {"role": n, "name": n, "path": str(rdir / n), "bytes": len(b), "sha256": fetch.hashlib.sha256(b).hexdigest()}]}
            for n, b in content.items()]})

    if previous:
        for n, b in previous.items():
            (rdir / n).write_bytes(b)
        (rdir / "manifest.json").write_text(manifest(previous))
    for n, b in files.items():
        staged = rdir / ".incoming" / n
        staged.parent.mkdir(exist_ok=True)
        staged.write_bytes(b)
        fetch.keep_previous(rdir, rdir / n)
        staged.replace(rdir / n)
    (rdir / ".incoming").rmdir()
    (rdir / "manifest.json").write_text(manifest({**(previous or {}), **files}))
    return rdir


def test_a_bad_file_goes_to_quarantine_and_the_last_good_one_comes_back(tmp_path):
    rdir = fetched_release(tmp_path, {"a.txt": b"bad"}, previous={"a.txt": b"good", "b.txt": b"same"})
    good_manifest = (rdir / ".previous" / "manifest.json").read_text()
    folder = quarantine.quarantine_release(tmp_path, "ds", "rel", "a.txt, line 1: expected good")
    assert folder.parent == tmp_path / "quarantine" / "ds" / "rel"
    assert (folder / "a.txt").read_bytes() == b"bad" and not (folder / "b.txt").exists()
    assert "expected good" in (folder / "why.txt").read_text()
    assert (rdir / "a.txt").read_bytes() == b"good" and (rdir / "b.txt").read_bytes() == b"same"
    assert (rdir / "manifest.json").read_text() == good_manifest and not (rdir / ".previous").exists()
    again = fetched_release(tmp_path, {"a.txt": b"bad"}, previous=None)  # fetched again: the same bad file
    assert quarantine.quarantine_release(tmp_path, "ds", "rel", "again") == folder  # kept once
    assert (again / "a.txt").read_bytes() == b"good"


def test_a_release_never_good_leaves_no_manifest(tmp_path):
    fetched_release(tmp_path, {"a.txt": b"bad"})
    folder = quarantine.quarantine_release(tmp_path, "ds", "rel", "why")
    assert (folder / "a.txt").read_bytes() == b"bad"
    assert not (tmp_path / "raw" / "ds" / "rel").exists()  # the next refresh downloads it again


def parses(parsed, *keys: str) -> None:
    """Parses of the release made one after the other, as parse_release_cached records them."""
    for key in keys:
        (parsed / key).mkdir(parents=True)
        pipeline._write_current(parsed, key)


def test_after_a_gate_failure_the_previous_parse_is_current_again(tmp_path):
    rdir = fetched_release(tmp_path, {"a.txt": b"bad"}, previous={"a.txt": b"good"})
    parsed = rdir / "parsed"
    parses(parsed, "good", "bad")
    assert (parsed / "PREVIOUS").read_text() == "good" and (parsed / "good").is_dir()
    quarantine.quarantine_release(tmp_path, "ds", "rel", "gate failed", parsed=True)
    assert (parsed / "CURRENT").read_text() == "good" and not (parsed / "bad").exists()
    assert not (parsed / "PREVIOUS").exists()


def test_a_published_build_confirms_the_new_files(tmp_path):
    rdir = fetched_release(tmp_path, {"a.txt": b"new"}, previous={"a.txt": b"old"})
    parsed = rdir / "parsed"
    parses(parsed, "old", "new")
    quarantine.confirm(tmp_path, {"ds/rel": "new"})
    assert not (rdir / ".previous").exists() and not (parsed / "old").exists() and not (parsed / "PREVIOUS").exists()
    assert (rdir / "a.txt").read_bytes() == b"new" and (parsed / "CURRENT").read_text() == "new"


def test_a_build_never_published_is_removed_by_the_next_refresh(tmp_path):
    builds = tmp_path / "warehouse" / "builds"
    for b in ("20260101T000000000000Z", "20260102T000000000000Z", "20260103T000000000000Z"):
        (builds / b).mkdir(parents=True)
        (builds / b / "COMPLETE").write_text("t")
    (tmp_path / "warehouse" / "current").symlink_to("builds/20260102T000000000000Z")
    with pipeline.refresh_lock(tmp_path) as notes:
        assert notes == ["removed 1 complete build(s) never published left by an interrupted refresh: "
                         "warehouse/builds/20260103T000000000000Z"]
    assert sorted(p.name for p in builds.iterdir()) == ["20260101T000000000000Z", "20260102T000000000000Z"]


def test_a_read_only_data_folder_is_one_message(monkeypatch, tmp_path):
    """What the tmpfs test of test_faults.py shows where mounting is allowed, simulated anywhere: the data
    folder cannot be written (EROFS at the lock file, the refresh's first write): exit 1, one message,
    nothing written."""
    import errno
    import os

    from typer.testing import CliRunner

    from codeetl.cli import app

    data, mirror = tmp_path / "data", tmp_path / "mirror"
    data.mkdir()
    mirror.mkdir()
    real_open = os.open

    def read_only(path, flags, *a, **k):
        if str(path).startswith(str(data)) and flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT):
            raise OSError(errno.EROFS, "Read-only file system", str(path))
        return real_open(path, flags, *a, **k)

    monkeypatch.setattr(os, "open", read_only)
    r = CliRunner().invoke(app, ["refresh", "--data-dir", str(data), "--mirror", str(mirror), "--dataset", "gems"],
                           env={"CODEETL_REFRESH_WORKER": "1"})  # in this process: the lock fails before any flow
    monkeypatch.undo()
    msg = " ".join(r.stderr.split())
    assert r.exit_code == 1 and "[Errno 30] Read-only file system" in msg and "Traceback" not in r.output, r.output
    assert list(data.iterdir()) == []
