"""Hostile source files on the real mirror, through the CLI (issue 17): unresolved XML entities, a code file
mixing two encodings and a zip with forged sizes are refused naming file and line, the previous warehouse
stays, and the file that failed goes to a quarantine folder named in the error while data/raw keeps the last
good source (so the next refresh downloads again). The small cases of each: tests/unit/test_hostile_sources.py;
`check` and `validate` bounded: tests/unit/test_check_bounds.py, tests/unit/test_validate_bounds.py.

The previous warehouse is test_faults.py's GEMs-only build; refreshes run through faultkit.run_cli."""

from __future__ import annotations

import hashlib
import struct
import zipfile
import zlib
from pathlib import Path

import pytest

import faultkit as fk
from _shared import CMS, TABULAR_2026_04
from test_faults import GEMS, I9, assert_failed_and_kept, gems_template, kept, prev, refresh  # noqa: F401

I10 = "2018_I10gem.txt"
CODES_2026 = CMS / "icd10cm" / "2026" / "icd10cm-codes-2026.txt"


def quarantined(msg: str, root: Path, dataset: str, release: str) -> Path:
    """The quarantine folder the message names: data/quarantine/<dataset>/<release>/<time>-<sha>."""
    folders = sorted((root / "quarantine" / dataset / release).iterdir())
    assert len(folders) == 1, folders
    assert f"kept for a look in {folders[0]}" in msg and "data/raw keeps the last good source" in msg, msg
    assert " ".join((folders[0] / "why.txt").read_text().split()) in msg  # the error, for whoever opens the folder
    return folders[0]


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
def unpinned(monkeypatch, tmp_path_factory):
    """The packaged catalog without its sha256 pins (``CODEETL_CATALOG``, which the refresh's process
    inherits): an altered copy of a pinned file must reach the parser here (with its pin, it is refused at
    download and nothing is replaced: test_faults.py)."""
    import re
    from importlib import resources

    folder = tmp_path_factory.mktemp("unpinned-catalog")
    for d in resources.files("codeetl").joinpath("datasets").iterdir():
        if d.joinpath("catalog.toml").is_file():
            text = re.sub(r'(?m)^\s*sha256\s*=\s*"[0-9a-f]{64}"\s*$\n', "", d.joinpath("catalog.toml").read_text("utf-8"))
            (folder / f"{d.name}.toml").write_text(text, "utf-8")
    monkeypatch.setenv("CODEETL_CATALOG", str(folder))
    return folder


# ----------------------------------------------------------------------------------------- XML entities


def test_a_tabular_declaring_an_external_entity_is_refused(monkeypatch, prev, tmp_path, unpinned):
    """The audit's XXE Tabular was published with M96.1's note reading 'leak: &xxe; end'."""
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-CONTENT")
    xml = TABULAR_2026_04.read_bytes()
    decl_end = xml.index(b"?>") + 2
    xml = (xml[:decl_end] + f'\n<!DOCTYPE ICD10CM.tabular [\n<!ENTITY xxe SYSTEM "file://{secret}">\n]>'.encode()
           + xml[decl_end:]).replace(b"<note>", b"<note>leak: &xxe; end ", 1)
    before = kept(prev)
    r = refresh(prev, str(fk.mirror_with(tmp_path, {f"icd10cm/2026-04/{TABULAR_2026_04.name}": xml})),
                   "--dataset", "icd10cm", "--release", "2026-04")
    msg = assert_failed_and_kept(r, prev, before, f"{TABULAR_2026_04.name}, line 3: expected XML without entity "
                                 "declarations; found 'a DOCTYPE declaring xxe'")
    assert "TOP-SECRET" not in r.output + r.stderr
    folder = quarantined(msg, prev, "icd10cm", "2026-04")
    assert sha((folder / TABULAR_2026_04.name).read_bytes()) == sha(xml)
    assert not (prev / "raw" / "icd10cm" / "2026-04").exists()  # never good: nothing kept, downloaded again next time


def test_an_entity_reference_left_in_the_text_is_refused(monkeypatch, prev, tmp_path, unpinned):
    """An external DTD that is never loaded leaves '&xxe;' unresolved in the text: not data."""
    xml = TABULAR_2026_04.read_bytes()
    decl_end = xml.index(b"?>") + 2
    xml = xml[:decl_end] + b'\n<!DOCTYPE ICD10CM.tabular SYSTEM "http://127.0.0.1:9/tabular.dtd">' + xml[decl_end:]
    line = xml[: xml.index(b"<note>")].count(b"\n") + 1
    xml = xml.replace(b"<note>", b"<note>leak: &xxe; end ", 1)
    before = kept(prev)
    r = refresh(prev, str(fk.mirror_with(tmp_path, {f"icd10cm/2026-04/{TABULAR_2026_04.name}": xml})),
                   "--dataset", "icd10cm", "--release", "2026-04")
    msg = assert_failed_and_kept(r, prev, before, f"{TABULAR_2026_04.name}, line {line}: expected text without "
                                 "entity references; found '&xxe;'")
    quarantined(msg, prev, "icd10cm", "2026-04")


# -------------------------------------------------------------------------------------------- encodings


def test_a_code_file_mixing_utf8_and_latin1_is_refused(monkeypatch, prev, tmp_path, unpinned):
    """'café' in UTF-8 on one line and in Latin-1 on another: no single decoding reads both right, so the
    file is refused at its first non-UTF-8 line (it was published as 'cafÃ©', exit 0)."""
    lines = CODES_2026.read_bytes().split(b"\n")
    lines[9] = lines[9].rstrip(b"\r") + " (café)".encode() + b"\r"  # line 10: UTF-8
    lines[99] = lines[99].rstrip(b"\r") + " (café)".encode("latin-1") + b"\r"  # line 100: Latin-1
    before = kept(prev)
    mirror = fk.mirror_with(tmp_path, {f"icd10cm/2026/{CODES_2026.name}": b"\n".join(lines)})
    r = refresh(prev, str(mirror), "--dataset", "icd10cm", "--release", "2026")
    msg = assert_failed_and_kept(r, prev, before, f"{CODES_2026.name}, line 100: expected UTF-8 text throughout "
                                 "(line 10 is UTF-8: 'é')")
    quarantined(msg, prev, "icd10cm", "2026")


# ---------------------------------------------------------------------------------------- forged zips


def test_a_zip_with_forged_sizes_replaces_nothing(monkeypatch, prev, tmp_path):
    """The central directory says the GEM file is half its length, with the CRC of that half: zipfile would
    hand back the first half as if it were the file. Refused at download; data/ is untouched."""
    data = (GEMS / I9).read_bytes()
    archive = bytearray(fk.zip_of({I9: data, I10: (GEMS / I10).read_bytes()}))
    cd = archive.index(b"PK\x01\x02")  # the first central directory entry: I9
    archive[cd + 16:cd + 20] = struct.pack("<I", zlib.crc32(data[: len(data) // 2]))
    archive[cd + 24:cd + 28] = struct.pack("<I", len(data) // 2)
    assert len(zipfile.ZipFile(__import__("io").BytesIO(bytes(archive))).read(I9)) == len(data) // 2  # zipfile is fooled
    before = kept(prev, whole=True)
    mirror = fk.mirror_with(tmp_path, {"gems/2018/2018-icd-10-cm-general-equivalence-mappings.zip": bytes(archive)})
    r = refresh(prev, str(mirror), "--dataset", "gems")
    assert_failed_and_kept(r, prev, before, f"member {I9} cannot be read (damaged archive): its local header declares",
                           whole=True)


# ---------------------------------------------------------------------------- raw files follow the data


def test_a_file_that_fails_its_parse_is_quarantined_and_downloaded_again(monkeypatch, prev, tmp_path, unpinned):
    """The GEM file gets a byte that is not ASCII: the parse fails, the file goes to quarantine, raw/ keeps
    the previous (published) file and manifest byte for byte; the next refresh fetches the file again (the
    same bad one: the same error and quarantine folder), and once the source is right again the refresh
    succeeds, reusing the parse of the good file (it was never replaced)."""
    raw_before = fk.snapshot(prev, "raw/gems")
    bad = (GEMS / I9).read_bytes().replace(b"0010 ", b"0010\xff", 1)
    mirror = fk.mirror_with(tmp_path, {f"gems/2018/{I9}": bad, f"gems/2018/{I10}": GEMS / I10})
    before = kept(prev)
    for _ in range(2):
        r = refresh(prev, str(mirror), "--dataset", "gems")
        msg = assert_failed_and_kept(r, prev, before, f"{I9}, line 1: expected ascii text")
        folder = quarantined(msg, prev, "gems", "2018")
        assert sha((folder / I9).read_bytes()) == sha(bad)
        assert fk.snapshot(prev, "raw/gems") == raw_before  # the last good source, its manifest included
    good = fk.mirror_with(tmp_path / "fixed", {f"gems/2018/{I9}": GEMS / I9, f"gems/2018/{I10}": GEMS / I10})
    r = refresh(prev, str(good), "--dataset", "gems")
    assert r.exit_code == 0 and "loaded gems/2018 (reused parse)" in " ".join(r.stdout.split()), r.output
    assert fk.leftovers(prev) == [] and sha((prev / "raw" / "gems" / "2018" / I9).read_bytes()) == sha((GEMS / I9).read_bytes())
    assert not (prev / "raw" / "gems" / "2018" / ".previous").exists()


def test_a_file_that_fails_a_gate_is_quarantined_and_its_parse_dropped(monkeypatch, prev, tmp_path, unpinned):
    """A header-only Appendix B parses, then fails msdrg.files_not_empty: the files go to quarantine with
    their parse, so a later refresh of another dataset builds without them instead of failing again."""
    b_lines = (CMS / "msdrg" / "v43" / "appendix_B.txt").read_bytes().splitlines(keepends=True)
    header = next(i for i, line in enumerate(b_lines) if line.lstrip().startswith(b"I10 Dx"))
    mirror = fk.mirror_with(tmp_path, {"msdrg/v43/appendix_A.txt": CMS / "msdrg" / "v43" / "appendix_A.txt",
                                       "msdrg/v43/appendix_B.txt": b"".join(b_lines[: header + 1])})
    before = kept(prev)
    r = refresh(prev, str(mirror), "--dataset", "msdrg", "--release", "v43")
    msg = assert_failed_and_kept(r, prev, before, "gate msdrg.files_not_empty", "file: appendix_B.txt (msdrg v43)")
    folder = quarantined(msg, prev, "msdrg", "v43")
    assert (folder / "appendix_B.txt").read_bytes() == b"".join(b_lines[: header + 1])
    assert not (prev / "raw" / "msdrg" / "v43").exists()
    r = refresh(prev, str(CMS), "--dataset", "gems")
    assert r.exit_code == 0 and "loaded gems/2018 (reused parse)" in " ".join(r.stdout.split()), r.output
    assert fk.query(prev, "SELECT count(*) FROM msdrg_drg_def")[0][0] == 0
