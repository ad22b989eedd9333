"""The fault matrix (README "Failure behaviour"): every fault is injected for real (a loopback HTTP server,
altered copies of the mirror files in temporary folders, real processes killed with SIGKILL, a tmpfs that
is full or read-only), and each test asserts the exit status, the message, that the previous warehouse is
byte-identical and queryable, and that nothing is left behind.

The previous warehouse is a GEMs-only build (small and fast); each fault is a refresh of one dataset by the
real ``codeetl refresh`` (supervisor, worker, Prefect flow, on the session's Prefect server:
``faultkit.run_cli``). Faults are injected below the flow, never by replacing it. Durations are not asserted
(they belong to bench/); deadlines only bound a hang.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

import faultkit as fk
from _shared import CMS, needs_mirror, REPO, TABULAR_2026_04

GEMS = CMS / "gems" / "2018"
I9 = "2018_I9gem.txt"
I9_PATH = f"/gems/2018/{I9}"
GEMS_ZIP = "2018-icd-10-cm-general-equivalence-mappings.zip"
PFS = CMS / "pfs" / "2026-B"
RVU, GPCI = "PPRRVU2026_Apr_nonQPP.txt", "GPCI2026.csv"


# ------------------------------------------------------------------------------------------- fixtures


pytestmark = needs_mirror


@pytest.fixture(scope="session")
def gems_template(tmp_path_factory) -> Path:
    """A data folder with a published GEMs-only warehouse, built once by the real command."""
    root = tmp_path_factory.mktemp("gems-template") / "data"
    r = fk.run_cli(["refresh", "--data-dir", str(root), "--mirror", str(CMS), "--dataset", "gems"])
    assert r.exit_code == 0, r.output
    return root


@pytest.fixture
def prev(gems_template, tmp_path) -> Path:
    """A fresh copy of the GEMs-only data folder: the previous warehouse a failed refresh must keep."""
    root = tmp_path / "data"
    shutil.copytree(gems_template, root, symlinks=True)
    return root


@pytest.fixture
def gems_mirror(tmp_path) -> Path:
    """A mirror folder with the real GEM files, extracted."""
    return fk.mirror_with(tmp_path, {f"gems/2018/{n}": GEMS / n for n in (I9, "2018_I10gem.txt")})


@pytest.fixture
def server(gems_mirror):
    with fk.FaultServer(gems_mirror) as s:
        yield s


def refresh(root: Path, mirror: str, *args: str) -> fk.Result:
    """The real `codeetl refresh --data-dir root --mirror mirror args...`, in a process of its own."""
    return fk.run_cli(["refresh", "--data-dir", str(root), "--mirror", mirror, *args])


def assert_failed_and_kept(r, root: Path, before: dict, *phrases: str, whole: bool = False) -> str:
    """Exit 1, one message (no traceback) holding every phrase, the warehouse (or the whole data folder)
    byte-identical and queryable, nothing half-written left. Returns the message."""
    msg = " ".join(r.stderr.split())
    assert r.exit_code == 1, r.output
    assert "Traceback" not in r.output and "Traceback" not in r.stderr
    for p in phrases:
        assert p in msg, f"{p!r} not in {msg!r}"
    assert "previous warehouse" in msg
    assert fk.snapshot(root, "" if whole else "warehouse") == before
    assert fk.query(root, "SELECT count(*) FROM gem_icd9_to_icd10")[0][0] > 20_000
    assert fk.leftovers(root) == []
    return msg


def kept(root: Path, whole: bool = False) -> dict:
    return fk.snapshot(root, "" if whole else "warehouse")


def published(root: Path) -> dict:
    """The published warehouse alone: the current link, the build it points at, the links through it."""
    wh = root / "warehouse"
    target = os.readlink(wh / "current")
    out = {name: os.readlink(wh / name) for name in ("current", "codeetl.duckdb", "parquet")}
    return {**out, **fk.snapshot(root, f"warehouse/{target}")}


# ---------------------------------------------------------------------------------------- HTTP faults


def test_500_then_200_is_retried_and_published(prev, server):
    before = os.readlink(prev / "warehouse" / "current")
    server.script[I9_PATH] = [fk.status(500), fk.ok()]
    r = refresh(prev, server.url, "--dataset", "gems", "--timeout", "10")
    assert r.exit_code == 0, r.output
    assert "answered 500" in r.stderr and "retrying in 1 s" in r.stderr  # said while waiting
    assert server.requests.count(I9_PATH) == 2
    assert os.readlink(prev / "warehouse" / "current") != before
    assert fk.leftovers(prev) == []


def test_503_forever_gives_up_within_the_timeout(prev, server):
    """10 retries allowed, but waits of 1, 2, 4 s add up to more than the 6 s budget: it stops after at most
    3 requests, however slow the machine, and says why."""
    before = kept(prev, whole=True)
    server.script[I9_PATH] = [fk.status(503)]
    r = refresh(prev, server.url, "--dataset", "gems", "--timeout", "6", "--retries", "10")
    msg = assert_failed_and_kept(r, prev, before, "answered 503", "would pass the 6 s timeout", whole=True)
    assert "retrying in 1 s" in msg
    assert 2 <= server.requests.count(I9_PATH) <= 3


def test_429_with_retry_after_is_honoured(prev, server):
    server.script[I9_PATH] = [fk.status(429, Retry_After="1"), fk.ok()]
    r = refresh(prev, server.url, "--dataset", "gems", "--timeout", "10")
    assert r.exit_code == 0, r.output
    assert "answered 429" in r.stderr and "retrying in 1 s" in r.stderr


def test_429_asking_for_longer_than_the_timeout_gives_up_at_once(prev, server):
    before = kept(prev, whole=True)
    server.script[I9_PATH] = [fk.status(429, Retry_After="3600")]
    r = refresh(prev, server.url, "--dataset", "gems", "--timeout", "5")
    assert_failed_and_kept(r, prev, before, "answered 429", "would pass the 5 s timeout", whole=True)
    assert server.requests.count(I9_PATH) == 1


def test_stalled_body_gives_up_within_the_timeout(prev, server):
    before = kept(prev, whole=True)
    server.script[I9_PATH] = [fk.stall()]
    r = refresh(prev, server.url, "--dataset", "gems", "--timeout", "2")
    assert_failed_and_kept(r, prev, before, "the transfer broke after 0 bytes", "timed out", whole=True)


def test_dripping_body_is_refused_as_too_slow(prev, server):
    before = kept(prev, whole=True)
    server.script[I9_PATH] = [fk.drip(0.2)]
    r = refresh(prev, server.url, "--dataset", "gems", "--timeout", "2")
    assert_failed_and_kept(r, prev, before, "the transfer is too slow", "bytes/s", whole=True)


def test_reset_mid_body_is_retried(prev, server):
    server.script[I9_PATH] = [fk.reset_after(100_000), fk.ok()]
    r = refresh(prev, server.url, "--dataset", "gems", "--timeout", "10")
    assert r.exit_code == 0, r.output
    msg = " ".join(r.stderr.split())
    assert "reset by peer" in msg and "retrying in 1 s" in msg and server.requests.count(I9_PATH) == 2
    assert fk.leftovers(prev) == []


def test_reset_every_time_fails_cleanly(prev, server):
    before = kept(prev, whole=True)
    server.script[I9_PATH] = [fk.reset_after(100_000)]
    r = refresh(prev, server.url, "--dataset", "gems", "--timeout", "4", "--retries", "1")
    assert_failed_and_kept(r, prev, before, "failed after 2 attempts", "reset by peer", whole=True)


def test_truncated_body_is_retried_then_fails_cleanly(prev, server):
    before = kept(prev, whole=True)
    server.script[I9_PATH] = [fk.truncated(1000)]
    r = refresh(prev, server.url, "--dataset", "gems", "--timeout", "4", "--retries", "1")
    assert_failed_and_kept(r, prev, before, "failed after 2 attempts", whole=True)
    assert server.requests.count(I9_PATH) == 2


@pytest.mark.parametrize("announced", [True, False], ids=["content-length", "no-length"])
def test_oversized_body_is_stopped(prev, server, announced):
    before = kept(prev, whole=True)
    server.script[I9_PATH] = [fk.body(b"0" * 9_000_000, length=announced)]
    r = refresh(prev, server.url, "--dataset", "gems")
    phrase = "announces 9,000,000 bytes, more than the 8,000,000" if announced else "more than the 8,000,000 bytes"
    assert_failed_and_kept(r, prev, before, phrase, whole=True)


def test_html_page_with_200_is_refused(prev, server):
    before = kept(prev, whole=True)
    server.script[I9_PATH] = [fk.body(fk.HTML_PAGE)]
    r = refresh(prev, server.url, "--dataset", "gems")
    assert_failed_and_kept(r, prev, before, I9, "got an HTML page", whole=True)


def test_redirect_loop_is_refused_without_retrying(prev, server):
    before = kept(prev, whole=True)
    server.script[I9_PATH] = [fk.redirect(I9_PATH)]
    r = refresh(prev, server.url, "--dataset", "gems")
    assert_failed_and_kept(r, prev, before, "Exceeded 30 redirects", whole=True)


def test_checksum_mismatch_keeps_the_previous_files(prev, tmp_path):
    before = kept(prev, whole=True)
    altered = (GEMS / I9).read_bytes().replace(b"A000", b"A001", 1)
    mirror = fk.mirror_with(tmp_path, {f"gems/2018/{I9}": altered, "gems/2018/2018_I10gem.txt": GEMS / "2018_I10gem.txt"})
    r = refresh(prev, str(mirror), "--dataset", "gems")
    assert_failed_and_kept(r, prev, before, f"member {I9} does not match its catalog pin: it has sha256",
                           "the catalog pins sha256 44f4079c", whole=True)


def test_no_network_fails_fast(prev):
    before = kept(prev, whole=True)
    r = refresh(prev, "http://codeetl-no-such-host.invalid", "--dataset", "gems")
    assert_failed_and_kept(r, prev, before, "cannot resolve the host name codeetl-no-such-host.invalid",
                           "not retried", whole=True)


def test_connection_refused_fails_fast(prev):
    before = kept(prev, whole=True)
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    r = refresh(prev, f"http://127.0.0.1:{port}", "--dataset", "gems")
    assert_failed_and_kept(r, prev, before, "refused the connection", "failed after 2 attempts", whole=True)


def test_missing_mirror_folder_is_an_error_at_once(prev, tmp_path):
    before = kept(prev, whole=True)
    r = refresh(prev, str(tmp_path / "nowhere"), "--dataset", "gems")
    assert r.exit_code == 2 and "no such folder" in r.stderr
    assert kept(prev, whole=True) == before


# ----------------------------------------------------------------------------------------- zip faults


def zip_mirror(tmp_path: Path, archive: bytes) -> Path:
    return fk.mirror_with(tmp_path, {f"gems/2018/{GEMS_ZIP}": archive})


def real_gems_zip() -> bytes:
    return fk.zip_of({n: (GEMS / n).read_bytes() for n in (I9, "2018_I10gem.txt")})


@pytest.mark.parametrize("archive", [
    fk.zip_of({f"../../{I9}": b"0010 A000 00000\n", "2018_I10gem.txt": b"A000 0010 00000\n"}),
    fk.zip_of({f"/abs/{I9}": b"0010 A000 00000\n", "2018_I10gem.txt": b"A000 0010 00000\n"}),
    fk.zip_with_link(I9, "/etc/passwd"),
], ids=["zip-slip", "absolute", "symlink"])
def test_unsafe_members_are_never_extracted(prev, tmp_path, archive):
    before = kept(prev, whole=True)
    r = refresh(prev, str(zip_mirror(tmp_path, archive)), "--dataset", "gems")
    assert_failed_and_kept(r, prev, before, f"the archive has no member named {I9}", whole=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data", "mirror"]  # nothing written beside


@pytest.mark.parametrize("kind", ["bomb", "ratio", "lying-header", "nested"])
def test_zip_bombs_stop_early(prev, tmp_path, kind):
    before = kept(prev, whole=True)
    if kind == "bomb":  # the case: 2 GB, under the 4 GiB absolute cap
        archive, phrase = fk.zip_bomb(I9, 2 << 30), "declares 2147483648 bytes (cap 8000000)"
    elif kind == "ratio":  # under the member's 8 MB ceiling, but 1000:1
        archive, phrase = fk.zip_bomb(I9, 7 << 20), "expands to more than 100 times its compressed size"
    elif kind == "lying-header":  # declares 1 MB, inflates to 2 GB: zipfile stops at the declared size
        archive, phrase = fk.zip_bomb(I9, 2 << 30, declare=1 << 20), "cannot be read (damaged archive)"
    else:
        archive = fk.zip_of({"inner.zip": fk.zip_bomb(I9, 2 << 30)}, zipfile_stored())
        phrase = "member inner.zip!/2018_I9gem.txt declares 2147483648 bytes"
    r = refresh(prev, str(zip_mirror(tmp_path, archive)), "--dataset", "gems")
    assert_failed_and_kept(r, prev, before, phrase, whole=True)


def zipfile_stored() -> int:
    import zipfile

    return zipfile.ZIP_STORED


def test_zip_bomb_under_every_cap_stops_within_1_gb(prev, tmp_path):
    """A 2 GB member with every ceiling raised to 4 GiB (in the command's processes, through the catalog:
    faultkit.FAULT_SITE): the compression-ratio ceiling stops it, with every process of the command under
    1 GB of memory, and nothing is left under data/."""
    before = kept(prev, whole=True)
    mirror = zip_mirror(tmp_path, fk.zip_bomb(I9, 2 << 30))
    r, peak_mb = fk.run_measured(["refresh", "--data-dir", str(prev), "--mirror", str(mirror), "--dataset", "gems"],
                                 fk.command_env(max_bytes=4 << 30))
    assert_failed_and_kept(r, prev, before, "expands to more than 100 times its compressed size", whole=True)
    assert peak_mb < 1024, peak_mb


def test_corrupt_deflate_data_is_a_message(prev, tmp_path):
    before = kept(prev, whole=True)
    archive = fk.corrupt_deflate(real_gems_zip())
    r = refresh(prev, str(zip_mirror(tmp_path, archive)), "--dataset", "gems")
    msg = assert_failed_and_kept(r, prev, before, GEMS_ZIP, "cannot be read (damaged archive)", whole=True)
    assert "zlib.error" not in msg


def test_empty_download(prev, tmp_path):
    before = kept(prev, whole=True)
    mirror = fk.mirror_with(tmp_path, {f"gems/2018/{I9}": b"", "gems/2018/2018_I10gem.txt": GEMS / "2018_I10gem.txt"})
    r = refresh(prev, str(mirror), "--dataset", "gems")
    assert_failed_and_kept(r, prev, before, "the download is empty", whole=True)


# ----------------------------------------------------------------------------------------- XML faults


def tabular_mirror(tmp_path: Path, xml: bytes) -> Path:
    return fk.mirror_with(tmp_path, {f"icd10cm/2026-04/{TABULAR_2026_04.name}": xml})


def test_category_moved_to_another_chapter_fails_its_gate(prev, tmp_path):
    """M96 moved under chapter 1, section A00-A09: the gate names itself, the file and M96.1."""
    from lxml import etree

    before = kept(prev)
    tree = etree.parse(str(TABULAR_2026_04))
    m96 = tree.xpath("//diag[name='M96']")[0]
    a00 = tree.xpath("//chapter[name='1']/section[@id='A00-A09']")[0]
    m96.getparent().remove(m96)
    a00.append(m96)
    mirror = tabular_mirror(tmp_path, etree.tostring(tree, xml_declaration=True, encoding="UTF-8"))
    r = refresh(prev, str(mirror), "--dataset", "icd10cm", "--release", "2026-04", "--json")
    msg = assert_failed_and_kept(r, prev, before, "gate icd10cm.code_in_category_section_chapter",
                                 "file: icd10cm-tabular-April-1-2026.xml (icd10cm 2026-04)", "code=M96",
                                 "section=A00-A09", "chapter=1")
    assert "failed 1 of" in msg
    report = json.loads(r.stdout)
    assert report["ok"] is False
    gates = {g["name"]: g for g in report["gates"]}
    assert not gates["icd10cm.code_in_category_section_chapter"]["passed"]
    assert all(g["passed"] for n, g in gates.items() if n != "icd10cm.code_in_category_section_chapter")
    assert {e["code"] for e in gates["icd10cm.code_in_category_section_chapter"]["examples"]} <= {
        "M96", "M96.0", "M96.1", "M96.2", "M96.3", "M96.4", "M96.5", "M96.6", "M96.8", "M96.81", "M96.810"}


def test_truncated_tabular_fails_the_refresh_naming_file_and_line(prev, tmp_path):
    before = kept(prev)
    xml = TABULAR_2026_04.read_bytes()
    r = refresh(prev, str(tabular_mirror(tmp_path, xml[: len(xml) // 2])),
                   "--dataset", "icd10cm", "--release", "2026-04")
    assert_failed_and_kept(r, prev, before, TABULAR_2026_04.name, "line", "expected well-formed XML")


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE ICD10CM.tabular [
<!ENTITY a "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa">
<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">
<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">
<!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">
<!ENTITY e "&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;">
<!ENTITY f "&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;">
<!ENTITY g "&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;">
]>
<ICD10CM.tabular><chapter><name>1</name><desc>&g;</desc></chapter></ICD10CM.tabular>
"""


def test_entity_expansion_bomb_is_not_expanded(prev, tmp_path):
    before = kept(prev)
    r = refresh(prev, str(tabular_mirror(tmp_path, BILLION_LAUGHS)),
                   "--dataset", "icd10cm", "--release", "2026-04")
    assert_failed_and_kept(r, prev, before, TABULAR_2026_04.name)


def test_external_entity_and_dtd_are_never_read(prev, tmp_path):
    """An external DTD and a SYSTEM entity pointing at a local file: neither is loaded, and the declared
    entity fails the parse (naming its line), so the file's content appears nowhere. (Resolved, the entity
    would make chapter 1's <desc> 'TOP-SECRET-CONTENTCertain infectious ...' and the refresh publish it.)"""
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-CONTENT")
    xml = TABULAR_2026_04.read_bytes()
    decl_end = xml.index(b"?>") + 2
    doctype = (f'\n<!DOCTYPE ICD10CM.tabular SYSTEM "file://{tmp_path}/missing.dtd" '
               f'[<!ENTITY leak SYSTEM "file://{secret}">]>').encode()
    xml = xml[:decl_end] + doctype + xml[decl_end:]
    xml = xml.replace(b"<desc>Certain infectious and parasitic diseases", b"<desc>&leak;Certain infectious and parasitic diseases", 1)
    before = kept(prev)
    r = refresh(prev, str(tabular_mirror(tmp_path, xml)), "--dataset", "icd10cm", "--release", "2026-04")
    assert_failed_and_kept(r, prev, before, f"{TABULAR_2026_04.name}, line 2: expected XML without entity declarations")
    assert "TOP-SECRET" not in r.output and "missing.dtd" not in r.output


# ---------------------------------------------------------------------------------------- text faults


def pfs_mirror(tmp_path: Path, rvu: bytes | Path = PFS / RVU, gpci: bytes | Path = PFS / GPCI) -> Path:
    return fk.mirror_with(tmp_path, {f"pfs/2026-B/{RVU}": rvu, f"pfs/2026-B/{GPCI}": gpci})


def test_header_only_gpci_file_fails_the_refresh(prev, tmp_path):
    """The GPCI parser itself refuses a file with no locality row (the files_not_empty gate would too)."""
    before = kept(prev)
    lines = (PFS / GPCI).read_bytes().splitlines(keepends=True)
    header = next(i for i, line in enumerate(lines) if b"Locality Name" in line or b"LOCALITY NAME" in line.upper())
    r = refresh(prev, str(pfs_mirror(tmp_path, gpci=b"".join(lines[: header + 1]))),
                   "--dataset", "pfs", "--release", "2026-B")
    assert_failed_and_kept(r, prev, before, "GPCI2026.csv", "expected at least one locality row after the header")


def test_header_only_appendix_b_fails(prev, tmp_path):
    before = kept(prev)
    b_lines = (CMS / "msdrg" / "v43" / "appendix_B.txt").read_bytes().splitlines(keepends=True)
    header = next(i for i, line in enumerate(b_lines) if line.lstrip().startswith(b"I10 Dx"))
    mirror = fk.mirror_with(tmp_path, {"msdrg/v43/appendix_A.txt": CMS / "msdrg" / "v43" / "appendix_A.txt",
                                       "msdrg/v43/appendix_B.txt": b"".join(b_lines[: header + 1])})
    r = refresh(prev, str(mirror), "--dataset", "msdrg", "--release", "v43")
    assert_failed_and_kept(r, prev, before, "gate msdrg.files_not_empty", "file: appendix_B.txt (msdrg v43)",
                           "role=appendix_b")


@pytest.mark.parametrize("fault", ["short", "non-numeric"])
def test_bad_fixed_width_record_names_file_and_line(prev, tmp_path, fault):
    before = kept(prev)
    lines = (PFS / RVU).read_bytes().split(b"\n")
    i = next(n for n, line in enumerate(lines) if line.startswith(b"99213"))
    lines[i] = lines[i][:40] if fault == "short" else lines[i][:60] + b"ABCD" + lines[i][64:]
    r = refresh(prev, str(pfs_mirror(tmp_path, rvu=b"\n".join(lines))), "--dataset", "pfs", "--release", "2026-B")
    assert_failed_and_kept(r, prev, before, RVU, f"line {i + 1}")


@pytest.mark.parametrize("encoding", ["utf-16", "undefined-byte"])
def test_wrong_encoding_is_a_message(prev, tmp_path, encoding):
    before = kept(prev)
    a = (CMS / "msdrg" / "v43" / "appendix_A.txt").read_bytes()
    bad = a.decode("cp1252").encode("utf-16") if encoding == "utf-16" else a.replace(b"Heart", b"He\x81rt", 1)
    mirror = fk.mirror_with(tmp_path, {"msdrg/v43/appendix_A.txt": bad,
                                       "msdrg/v43/appendix_B.txt": CMS / "msdrg" / "v43" / "appendix_B.txt"})
    r = refresh(prev, str(mirror), "--dataset", "msdrg", "--release", "v43")
    phrases = ["line 1: expected 8-bit text", "UTF-16"] if encoding == "utf-16" else ["line 12: expected cp1252 text", "x81"]
    assert_failed_and_kept(r, prev, before, "appendix_A.txt", *phrases)


# ------------------------------------------------------------------------------------- system faults


def start_paused(root: Path, mirror: Path, stage: str, *datasets: str) -> tuple[subprocess.Popen, int]:
    """The real `codeetl refresh` in a process of its own, paused at `stage` (codeetl.sources.faulthooks);
    returns the command's process and the pid of its worker, which holds the lock and does the work."""
    marks = root.parent / f"stages-{stage}.txt"
    args = ["refresh", "--data-dir", str(root), "--mirror", str(mirror), *[a for d in datasets for a in ("--dataset", d)]]
    p = fk.codeetl_process(args, fk.command_env(CODEETL_STAGE_FILE=str(marks), CODEETL_PAUSE_AT=stage),
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    wait_for_stage(p, marks, stage)
    return p, fk.lock_holder(root)


def wait_for_stage(p: subprocess.Popen, marks: Path, stage: str, limit: float = 600) -> None:
    """Until the refresh has written `stage` to its stage file (`limit`: a deadline against a hang)."""
    end = time.monotonic() + limit
    while time.monotonic() < end:
        if marks.exists() and stage in marks.read_text().split():
            return
        if p.poll() is not None:
            raise AssertionError(f"the refresh ended before {stage}: {p.communicate()}")
        time.sleep(0.05)
    p.kill()
    raise AssertionError(f"the refresh never reached {stage}")


def stop(p: subprocess.Popen, worker: int) -> int:
    """Kill a paused refresh at once, the command and its worker with SIGKILL (as a power cut or `kill -9` of
    both would: neither can clean up; a worker killed alone is reported and cleaned up by its command, see
    test_signals.py), then wait for the command; returns its exit status."""
    for pid in (p.pid, worker):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    try:
        return p.wait(timeout=120)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        p.communicate()


def pfs_zip_mirror(tmp_path: Path) -> Path:
    """The 2025-D zip (its catalog download has no sha256 pin a built zip would have to match)."""
    d = CMS / "pfs" / "2025-D"
    archive = fk.zip_of({n: (d / n).read_bytes() for n in ("PPRRVU2025_Oct.txt", "GPCI2025.csv")})
    return fk.mirror_with(tmp_path, {"pfs/2025-D/rvu25d.zip": archive})


@pytest.mark.parametrize("stage", ["fetch", "extract", "parse", "build", "publish"])
def test_kill_9_of_the_worker_in_each_stage(prev, tmp_path, stage):
    """The refresh is killed with SIGKILL, command and worker at once: nothing unwinds, yet the published
    warehouse is untouched, and the next refresh reports the stale lock, removes what was left half-written
    and publishes."""
    before = published(prev)
    mirror = pfs_zip_mirror(tmp_path)
    p, worker = start_paused(prev, mirror, stage, "pfs")
    assert stop(p, worker) == -signal.SIGKILL
    assert published(prev) == before  # the old warehouse: byte-identical
    assert fk.query(prev, "SELECT count(*) FROM gem_icd9_to_icd10")[0][0] > 20_000
    assert (prev / ".refresh.lock").exists()
    r = refresh(prev, str(mirror), "--dataset", "pfs", "--release", "2025-D")
    assert r.exit_code == 0, r.output
    msg = " ".join(r.stderr.split())
    assert f"a previous refresh (pid {worker}, started" in msg and "was killed before it finished; its lock was stale" in msg
    if stage != "publish":  # at publish nothing is half-written: the build is complete
        assert "half-written item(s) left by an interrupted refresh" in msg
    assert fk.leftovers(prev) == []
    assert fk.query(prev, "SELECT count(*) FROM pfs_rvu WHERE release = '2025-D'")[0][0] > 10_000


def test_two_refreshes_at_once(prev, tmp_path):
    mirror = pfs_zip_mirror(tmp_path)
    p, worker = start_paused(prev, mirror, "parse", "pfs")
    try:
        before = kept(prev)
        r = refresh(prev, str(mirror), "--dataset", "pfs")
        msg = " ".join(r.stderr.split())
        assert r.exit_code == 1 and "another refresh is running" in msg and f"pid {worker}" in msg
        assert kept(prev) == before
    finally:
        stop(p, worker)


def test_reader_holding_the_database_open_during_publish(prev, tmp_path):
    import duckdb

    reader = duckdb.connect(str(prev / "warehouse" / "codeetl.duckdb"), read_only=True)
    try:
        n = reader.execute("SELECT count(*) FROM gem_icd9_to_icd10").fetchone()[0]
        old = os.readlink(prev / "warehouse" / "current")
        for _ in range(2):  # the second publish prunes the build the reader has open
            r = refresh(prev, str(pfs_mirror(tmp_path)), "--dataset", "pfs", "--release", "2026-B")
            assert r.exit_code == 0, r.output
        assert os.readlink(prev / "warehouse" / "current") != old
        assert reader.execute("SELECT count(*) FROM gem_icd9_to_icd10").fetchone()[0] == n
        assert fk.query(prev, "SELECT count(*) FROM pfs_rvu")[0][0] > 10_000
    finally:
        reader.close()


@pytest.fixture
def tmpfs(tmp_path):
    """mount(target, size) -> a tmpfs at target; unmounted after the test. Skips where mounting is not allowed."""
    mounted = []

    def mount(target: Path, size: str) -> Path:
        target.mkdir(parents=True, exist_ok=True)
        p = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(target)], capture_output=True)
        if p.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here ({p.stderr.decode().strip()}); tests/unit simulate both errors "
                        "(test_fetch_bounds: a full disk while staging; test_hostile_sources: a read-only data folder)")
        mounted.append(target)
        return target

    yield mount
    for t in reversed(mounted):
        subprocess.run(["umount", "-l", str(t)], capture_output=True)


def test_full_data_folder(prev, tmp_path, tmpfs):
    used = sum(p.stat().st_size for p in prev.rglob("*") if p.is_file() and not p.is_symlink())
    disk = tmpfs(tmp_path / "disk", f"{used // 1024 + 3072}k")  # 3 MB free: not enough for the RVU file
    root = disk / "data"
    shutil.copytree(prev, root, symlinks=True)
    before = kept(root, whole=True)
    r = refresh(root, str(pfs_mirror(tmp_path)), "--dataset", "pfs", "--release", "2026-B")
    assert_failed_and_kept(r, root, before, "No space left on device", whole=True)


def test_read_only_data_folder(prev, tmp_path, tmpfs):
    disk = tmpfs(tmp_path / "ro", "64m")
    root = disk / "data"
    shutil.copytree(prev, root, symlinks=True)
    subprocess.run(["mount", "-o", "remount,ro", str(disk)], check=True)
    before = kept(root, whole=True)
    r = refresh(root, str(pfs_mirror(tmp_path)), "--dataset", "pfs", "--release", "2026-B")
    assert_failed_and_kept(r, root, before, "Read-only file system", whole=True)


# ------------------------------------------------------------------------------------------ CLI input


@pytest.mark.parametrize("args", [["code", "M" * 100_000], ["drg", "5" * 100_000], ["cpt", "9" * 100_000],
                                  ["code", "M96.1", "--as-of", "2" * 100_000], ["code", "\udcff\udcfeM96"]],
                         ids=["code", "drg", "cpt", "as-of", "binary"])
def test_over_long_or_binary_input_gets_a_short_message(prev, args):
    r = fk.run_cli([*args, "--data-dir", str(prev)])
    assert r.exit_code == 2 and "Traceback" not in r.output
    assert len(r.stderr) < 300, r.stderr
    assert "too long" in r.stderr or "not printable" in r.stderr


# ---------------------------------------------------------------------------- the real command, killed


def descendants(pid: int) -> set[int]:
    """Every process below `pid` (from /proc)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            children.setdefault(ppid, []).append(int(entry))
    out, todo = set(), [pid]
    while todo:
        for c in children.get(todo.pop(), []):
            out.add(c)
            todo.append(c)
    return out


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.slow
@pytest.mark.prefect
def test_kill_9_of_the_real_command_leaves_no_process_and_nothing_half_written(prev, tmp_path):
    """`codeetl refresh` (Prefect, ephemeral API server) killed with SIGKILL while it builds: its worker
    unwinds (build folder removed, lock released), Prefect's server stops, no process outlives it."""
    before = kept(prev)
    marks = tmp_path / "stages.txt"
    env = {**os.environ, "CODEETL_STAGE_FILE": str(marks), "CODEETL_PAUSE_AT": "build",
           "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "180"}  # a loaded CI machine starts it slowly
    env.pop("CODEETL_REFRESH_WORKER", None)
    log = tmp_path / "refresh.log"
    with open(log, "wb") as out:
        p = subprocess.Popen([sys.executable, "-m", "codeetl", "refresh", "--data-dir", str(prev), "--mirror",
                              str(pfs_mirror(tmp_path)), "--dataset", "pfs", "--release", "2026-B"],
                             env=env, stdout=out, stderr=subprocess.STDOUT, cwd=REPO)
    try:
        wait_for_stage(p, marks, "build", limit=240)
    except AssertionError as e:
        raise AssertionError(f"{e}\n{log.read_text()[-3000:]}") from None
    below = descendants(p.pid)
    assert below, "the refresh runs in a worker process"
    p.send_signal(signal.SIGKILL)
    p.wait(timeout=30)
    end = time.monotonic() + 60
    while any(alive(c) for c in below) and time.monotonic() < end:
        time.sleep(0.2)
    assert not [c for c in below if alive(c)], "a child process outlived the refresh"
    assert kept(prev) == before
    assert fk.leftovers(prev) == []  # the worker removed its half-built warehouse and its lock
    assert fk.query(prev, "SELECT count(*) FROM gem_icd9_to_icd10")[0][0] > 20_000
