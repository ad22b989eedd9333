"""Downloading the publications named in the catalog, from CMS/CDC or from a mirror.

What a fetch guarantees:

* **Atomic, verified files.** Everything new for a release (downloads, extracted members) is staged in
  ``data/raw/<dataset>/<release>/.incoming/`` and moved into place only when complete and checked (type,
  size, the catalog's pins of the download and of every member); a failed fetch removes the staging
  folder and leaves the previous files and manifest untouched.
* **A manifest** ``data/raw/<dataset>/<release>/manifest.json`` records, per download: url, where the
  bytes actually came from, size, sha256, fetched_at, ETag and Last-Modified, and every member used.
* **Unchanged sources are skipped.** Over HTTP a conditional request (If-None-Match /
  If-Modified-Since) is sent when the manifest has validators; a 304, or a body whose sha256 equals the
  recorded one, keeps the existing file. A mirror directory file with the recorded sha256 is not copied.
* **Retries only where retrying can help**: connection errors (a reset or short body mid-transfer
  included), timeouts, HTTP 429 and 5xx, with exponential backoff (honouring Retry-After), all within one
  time budget per download (:class:`Transport`: ``timeout``, default 60 s, and ``retries``). A 404 or a
  403 is final, and so is a host name that does not resolve; a refused connection is retried once.
* **Bounded size**: a body past the catalog's ceiling for the file is refused (by its Content-Length) or
  stopped; see *Safe extraction* for archives.
* **Content checks.** A zip must be a readable zip; a text/XML/CSV file must not be an HTML page (a
  portal's error or login page served with status 200 is the classic failure).
* **Safe extraction.** Only the members the catalog names are extracted, by base name, from the archive
  or from the zips inside it (CMS ships some downloads as a zip in a zip: the IPPS Tables 6 zip, the MCD
  export), searched up to ``MAX_ZIP_DEPTH`` levels down; a member of an archive wins over a same-named one
  in its inner zips. A name with an absolute path, ``..`` or a drive letter, and a member stored as a
  symbolic link, is never extracted nor opened, at any level; the real (streamed) size of every member read, inner zips included, is capped, so a zip
  bomb stops early. Inner zips are not kept: each is spooled to a temporary file while it is searched
  (unless the catalog names it as a member itself); a damaged one is an error naming both archives.

Mirrors (``--mirror PATH_OR_URL``) serve air-gapped networks and tests. For each catalog download the
mirror is searched, in order, at:

1. ``<mirror>/<dataset>/<release>/<download name>`` — the published archive, in the mirror layout;
2. ``<mirror>/<path of the official URL>`` — a mirror that copies the official site's paths;
3. ``<mirror>/<dataset>/<release>/<member name>`` for every accepted member name — a mirror that keeps
   the extracted files (as ``../shared/cms`` does).

A download that the mirror does not have is reported as missing; the flow then skips that release with a
warning (a mirror need not carry every release), while a download that exists but is broken is an error.
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import json
import os
import shutil
import struct
import tempfile
import time
import zipfile
import zlib
from dataclasses import asdict, dataclass, field
from pathlib import Path, PurePosixPath
from typing import Callable, Iterator
from urllib.parse import quote, unquote, urlsplit

import requests

from codeetl.sources.catalog import Member, Release, SourceFile, pin_mismatch
from codeetl.errors import FetchError
from codeetl.sources.faulthooks import stage
from codeetl.sources import interrupt
from codeetl.sources.provenance import fingerprint, sha256_file, utc_now as _now

CONNECT_TIMEOUT = 10.0  # seconds to establish a connection (at most; less when the budget is nearly spent)
READ_TIMEOUT = 30.0  # seconds without a byte before a response counts as stalled
DEFAULT_TIMEOUT = 60.0  # seconds: a failing download gives up within this (connects, stalls, retry waits)
DEFAULT_RETRIES = 4  # retries after the first attempt, on errors that may pass
MAX_ATTEMPTS = DEFAULT_RETRIES + 1
MIN_RATE = 50_000  # bytes/s: past the timeout, a transfer must have averaged this much to go on
BACKOFF_BASE = 1.0  # seconds; retry n waits BACKOFF_BASE * 2**(n-1), or the server's Retry-After
MAX_BACKOFF = 60.0
CHUNK = 1 << 20
MAX_MEMBER_BYTES = 4 << 30  # absolute ceiling; the catalog gives each member a far smaller one
MAX_RATIO = 100  # a member expanding past this many times its compressed size is refused (real files: < 20)
RATIO_FLOOR = 1 << 20  # ... once it has passed this many bytes (tiny files compress oddly)
MAX_ZIP_DEPTH = 3  # levels of zips inside a download searched for catalog members
USER_AGENT = "codeetl (+https://github.com/codeetl/codeetl)"

Progress = Callable[[str, int, int | None], None]
"""progress(label, bytes_done, bytes_total_or_None)"""
Notify = Callable[[str], None]
"""notify(message): one line for the user, e.g. why a download is waiting"""


class TransientFetchError(FetchError):
    """Retries were exhausted on errors that may pass (connection, timeout, 429, 5xx): worth trying later."""


class NotFound(FetchError):
    """The location answered, and it does not have the file (HTTP 404/410, or no such mirror file)."""


@dataclass
class LocalMember:
    role: str
    name: str
    path: str
    bytes: int
    sha256: str


@dataclass
class Download:
    url: str  # the catalog (official) URL
    source: str  # where the bytes came from (official URL, mirror URL or mirror path)
    path: str  # local file (zip, or the plain file itself)
    bytes: int
    sha256: str
    fetched_at: str
    etag: str | None = None
    last_modified: str | None = None
    unchanged: bool = False  # true when the previous download was kept
    members: list[LocalMember] = field(default_factory=list)


@dataclass
class FetchedRelease:
    dataset: str
    release: str
    downloads: list[Download]
    missing: list[str]  # catalog URLs the source did not have

    @property
    def inputs(self) -> dict[str, Path]:
        """role -> local file, what ``parse_release`` takes."""
        return {m.role: Path(m.path) for d in self.downloads for m in d.members}

    @property
    def members(self) -> list[LocalMember]:
        """Every member of every download."""
        return [m for d in self.downloads for m in d.members]



# ---------------------------------------------------------------------------------------------- utils


def _is_url(location: str) -> bool:
    return location.startswith(("http://", "https://"))


def _join(base: str, *parts: str) -> str:
    if _is_url(base):
        return base.rstrip("/") + "/" + "/".join(quote(p) for p in parts)
    return str(Path(base, *parts).resolve())


def _looks_like_html(head: bytes) -> bool:
    h = head.lstrip()[:512].lower()
    return h.startswith(b"<!doctype html") or h.startswith(b"<html") or b"<html" in h[:256]


def check_content(path: Path, archive: str, label: str) -> None:
    """Raise FetchError unless the file is what the catalog says: a zip, or a non-HTML file."""
    with open(path, "rb") as f:
        head = f.read(1024)
    if not head:
        raise FetchError(f"{label}: the download is empty")
    if archive == "zip":
        if not head.startswith(b"PK") or not zipfile.is_zipfile(path):
            what = "an HTML page" if _looks_like_html(head) else f"bytes starting {head[:16]!r}"
            raise FetchError(f"{label}: expected a zip archive, got {what}")
        # Only the central directory is read here: the members used are checked (CRC, size, ratio) as they
        # are extracted; inflating every member of an unknown archive up front is how zip bombs win.
        try:
            with zipfile.ZipFile(path) as z:
                z.infolist()
        except (*_UNREADABLE, ValueError, OSError) as e:
            raise FetchError(f"{label}: the zip archive is damaged: {_short(e)}") from None
    elif _looks_like_html(head):
        raise FetchError(f"{label}: expected a data file, got an HTML page (an error or login page?)")


# ------------------------------------------------------------------------------------------- transfer


class Transport:
    """Gets one location (URL or local path) into a local file, with retries, a time budget and a size cap.

    Time: a download that keeps failing gives up within ``timeout`` seconds (default 60): every connect
    (``CONNECT_TIMEOUT``), every wait for a byte (``READ_TIMEOUT``) and every wait between attempts is cut to
    what is left of it, and at most ``retries`` retries are made. A transfer that is receiving bytes may run
    longer, but only while it averages ``MIN_RATE`` bytes/s, so a body dripping a byte at a time ends too.
    A host name that does not resolve is not retried at all; a refused connection is retried once.
    """

    def __init__(self, session: requests.Session | None = None, sleep: Callable[[float], None] = time.sleep,
                 progress: Progress | None = None, notify: Notify | None = None,
                 timeout: float | None = None, retries: int | None = None,
                 clock: Callable[[], float] = time.monotonic):
        self.session = session or requests.Session()
        self.session.headers.setdefault("User-Agent", USER_AGENT)
        self.sleep = sleep
        self.progress = progress
        self.notify = notify
        self.timeout = DEFAULT_TIMEOUT if timeout is None else float(timeout)
        self.retries = DEFAULT_RETRIES if retries is None else int(retries)
        self.clock = clock

    def get(self, location: str, dest: Path, label: str, etag: str | None = None,
            last_modified: str | None = None, max_bytes: int = MAX_MEMBER_BYTES) -> tuple[bool, str | None, str | None]:
        """Download `location` to `dest` (atomically). Returns (changed, etag, last_modified).

        changed is False when the server answered 304 Not Modified (dest is then left as it was).
        Raises NotFound for a missing file, TransientFetchError when retries or time ran out on errors that
        may pass, FetchError for anything else that is wrong (including a body larger than `max_bytes`).
        """
        if not _is_url(location):
            src = Path(location)
            if not src.is_file():
                raise NotFound(f"{label}: {location} does not exist")
            if src.stat().st_size > max_bytes:
                raise FetchError(f"{label}: {location} has {src.stat().st_size:,} bytes, more than the "
                                 f"{max_bytes:,} the catalog allows for it")
            self._atomic_copy(src, dest, max_bytes)
            return True, None, None
        headers = {}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        start = self.clock()
        attempts = self.retries + 1
        for attempt in range(1, attempts + 1):
            try:
                return self._attempt(location, dest, label, headers, max_bytes, start)
            except _Transient as e:
                spent = self.clock() - start
                if attempt >= min(attempts, e.max_attempts):
                    raise TransientFetchError(f"{label}: {location}: failed after {attempt} attempts in "
                                              f"{spent:.0f} s: {e}") from None
                backoff = BACKOFF_BASE * 2 ** (attempt - 1)
                wait = min(MAX_BACKOFF, e.retry_after if e.retry_after is not None else backoff)
                if spent + wait >= self.timeout:
                    raise TransientFetchError(
                        f"{label}: {location}: failed after {attempt} attempts in {spent:.0f} s: {e} "
                        f"(the next try, in {wait:.0f} s, would pass the {self.timeout:.0f} s timeout)") from None
                self._say(f"{label}: {e}; retrying in {wait:.0f} s (attempt {attempt + 1} of {attempts}, "
                          f"gives up {self.timeout - spent:.0f} s from now)")
                self.sleep(wait)
        raise AssertionError("unreachable")

    def _too_slow(self, done: int, start: float) -> str | None:
        """Why a transfer that has `done` bytes should stop (None: it may go on): past the timeout, it must
        have averaged MIN_RATE bytes/s since the download started."""
        elapsed = self.clock() - start
        if elapsed > self.timeout and done < MIN_RATE * elapsed:
            return (f"the transfer is too slow: {done:,} bytes in {elapsed:.0f} s (past the {self.timeout:.0f} s "
                    f"timeout a download must average {MIN_RATE:,} bytes/s)")
        return None

    def _say(self, message: str) -> None:
        if self.notify is not None:
            self.notify(message)

    def _attempt(self, location: str, dest: Path, label: str, headers: dict, max_bytes: int,
                 start: float) -> tuple[bool, str | None, str | None]:
        """One request. Raises _Transient for what a retry may fix."""
        left = max(0.5, self.timeout - (self.clock() - start))
        try:
            with self.session.get(location, headers=headers, stream=True,
                                  timeout=(min(CONNECT_TIMEOUT, left), min(READ_TIMEOUT, left))) as r:
                if r.status_code == 304:
                    return False, headers.get("If-None-Match"), headers.get("If-Modified-Since")
                if r.status_code in (404, 410):
                    raise NotFound(f"{label}: {location} answered {r.status_code} {r.reason}")
                if r.status_code == 429 or r.status_code >= 500:
                    raise _Transient(f"{location} answered {r.status_code} {r.reason}",
                                     retry_after=_retry_after(r.headers.get("Retry-After")))
                if r.status_code != 200:
                    raise FetchError(f"{label}: {location} answered {r.status_code} {r.reason}")
                length = r.headers.get("Content-Length", "")
                total = int(length) if length.isdigit() else None
                if r.headers.get("Content-Encoding", "identity").lower() not in ("", "identity"):
                    total = None  # the length is of the encoded body; the cap still applies to the decoded one
                if total is not None and total > max_bytes:
                    raise FetchError(f"{label}: {location} announces {total:,} bytes, more than the "
                                     f"{max_bytes:,} the catalog allows for it; not downloaded")
                body = _body(r, lambda done: self._too_slow(done, start))
                self._atomic_stream(body, dest, label, total, max_bytes)
                return True, r.headers.get("ETag"), r.headers.get("Last-Modified")
        except requests.ConnectionError as e:
            raise _connection_error(location, e) from None
        except requests.Timeout as e:
            raise _Transient(f"no answer from {urlsplit(location).netloc} ({_short(e)})") from None
        except requests.RequestException as e:  # invalid URL, too many redirects, ...: not transient
            raise FetchError(f"{label}: {location}: {_short(e)}") from None

    def _atomic_stream(self, chunks, dest: Path, label: str, total: int | None,
                       max_bytes: int = MAX_MEMBER_BYTES) -> None:
        dest.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent)
        done = 0
        try:
            with os.fdopen(fd, "wb") as f:
                for block in chunks:
                    interrupt.check()  # told to stop: end here (the temporary file goes below), not at the end
                    done += len(block)
                    if done > max_bytes:
                        raise FetchError(f"{label}: more than the {max_bytes:,} bytes the catalog allows for "
                                         "this file; stopped")
                    f.write(block)
                    if done == len(block):
                        stage("fetch")  # a file half-written
                    if self.progress:
                        self.progress(label, done, total)
            if total is not None and done != total:
                raise _Transient(f"connection closed after {done} of {total} bytes")
            os.replace(tmp, dest)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def _atomic_copy(self, src: Path, dest: Path, max_bytes: int = MAX_MEMBER_BYTES) -> None:
        with open(src, "rb") as f:
            self._atomic_stream(iter(lambda: f.read(CHUNK), b""), dest, src.name, src.stat().st_size, max_bytes)


class _Transient(FetchError):
    """An error a retry may fix; max_attempts caps the attempts for kinds that rarely pass (refused)."""

    def __init__(self, message: str, retry_after: float | None = None, max_attempts: int = 1 << 30):
        super().__init__(message)
        self.retry_after = retry_after
        self.max_attempts = max_attempts


def _short(e: BaseException, limit: int = 200) -> str:
    """An exception as one line, cut to `limit` characters (urllib3 nests whole reprs)."""
    text = " ".join(str(e).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _connection_error(location: str, e: requests.ConnectionError) -> Exception:
    """Map a connection error: a name that does not resolve is final (no network or no DNS: retrying
    will not help within a minute), a refused connection is retried once, anything else (reset, closed
    mid-body) is retried like a timeout."""
    from urllib3.exceptions import NameResolutionError, NewConnectionError

    host = urlsplit(location).hostname or location
    reason = e.args[0] if e.args else None
    reason = getattr(reason, "reason", reason)
    if isinstance(reason, NameResolutionError) or "Name or service not known" in str(e) \
            or "nodename nor servname" in str(e) or "Temporary failure in name resolution" in str(e):
        return FetchError(f"cannot resolve the host name {host} (no network, or no DNS?): not retried; "
                          f"for an offline refresh use --mirror")
    if isinstance(reason, NewConnectionError) and "refused" in str(reason).lower():
        return _Transient(f"{host} refused the connection", max_attempts=2)
    return _Transient(f"connection to {host} failed: {_short(e)}")


def _body(r: requests.Response, too_slow: Callable[[int], str | None]) -> Iterator[bytes]:
    """The response body as it arrives (``read1``: whatever one receive gives, not a full chunk), so the
    transfer's pace is checked between receives; a reset or stall mid-body raises _Transient."""
    from urllib3.exceptions import HTTPError as Urllib3Error

    done = 0
    while True:
        try:
            block = r.raw.read1(CHUNK, decode_content=True)
        except (Urllib3Error, OSError, requests.RequestException) as e:
            raise _Transient(f"the transfer broke after {done:,} bytes ({_short(e)})") from None
        if not block:
            return
        done += len(block)
        why = too_slow(done)
        if why:
            raise _Transient(why, max_attempts=0)
        yield block


def _retry_after(value: str | None) -> float | None:
    if value and value.strip().isdigit():
        return float(value.strip())
    return None


# ------------------------------------------------------------------------------------------ extraction


def _safe_member_name(name: str) -> bool:
    p = PurePosixPath(name.replace("\\", "/"))
    return not p.is_absolute() and ".." not in p.parts and not (len(name) > 1 and name[1] == ":")


def _is_link(info: zipfile.ZipInfo) -> bool:
    """A member stored as a symbolic link (Unix mode in the high bits of external_attr): never extracted."""
    return (info.external_attr >> 16) & 0o170000 == 0o120000


def _base_name(name: str) -> str:
    return PurePosixPath(name.replace("\\", "/")).name


# Errors zipfile and zlib raise for a member that cannot be read: damaged data, a CRC mismatch, a truncated
# stream, an unsupported compression method (e.g. Deflate64), encryption.
_UNREADABLE = (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError)


_LOCAL_HEADER = struct.Struct("<4s2xH2x4xIIIHH")  # signature, flags, CRC-32, compressed, uncompressed, name, extra


def _check_local_header(z: zipfile.ZipFile, info: zipfile.ZipInfo, what: str) -> None:
    """FetchError unless the member's local header agrees with the central directory (which zipfile reads
    alone): the same CRC-32 and sizes, unless the header defers them to a data descriptor (flag bit 3) or
    to its zip64 field."""
    if not isinstance(z.filename, str):
        return
    with open(z.filename, "rb") as f:
        f.seek(info.header_offset)
        raw = f.read(_LOCAL_HEADER.size)
    if len(raw) < _LOCAL_HEADER.size or raw[:4] != b"PK\x03\x04":
        raise FetchError(f"{what} cannot be read (damaged archive): no local header at offset {info.header_offset}")
    _, flags, crc, csize, usize, _, _ = _LOCAL_HEADER.unpack(raw)
    if flags & 0x08:
        return
    declared = (crc, csize if csize != 0xFFFFFFFF else info.compress_size, usize if usize != 0xFFFFFFFF else info.file_size)
    if declared != (info.CRC, info.compress_size, info.file_size):
        raise FetchError(f"{what} cannot be read (damaged archive): its local header declares CRC-32 {crc:08x}, "
                         f"{declared[2]:,} bytes ({declared[1]:,} compressed), the central directory {info.CRC:08x}, "
                         f"{info.file_size:,} bytes ({info.compress_size:,} compressed)")


class _Extraction:
    """One run of `extract_members`: walks an archive and the zips inside it, depth first.

    Each archive's own members are matched first, then, for the roles still unmatched, its inner ``.zip``
    members are opened in archive order, at most `max_depth` levels below the download. So a member of an
    archive always wins over a same-named one inside its inner zips, and the first inner zip that has a
    member wins over later ones. Inner zips are spooled to a hidden temporary file in `out_dir` (a zip
    needs seeking, and seeking in a compressed member re-inflates it from the start) and deleted when
    searched; an inner zip the catalog itself names (MCD's ``current_article_csv.zip``) is extracted as a
    member and searched from that extracted copy.
    """

    def __init__(self, members: tuple[Member, ...], out_dir: Path, label: str, max_bytes: int, max_depth: int):
        self.members = members
        self.out_dir = out_dir
        self.label = label
        self.max_bytes = max_bytes
        self.max_depth = max_depth
        self.found: dict[str, LocalMember] = {}  # role -> extracted member
        self.caps = {m.role: m.max_bytes for m in members if m.max_bytes}  # per-member ceilings

    def pending(self) -> list[Member]:
        """The catalog members not found yet."""
        return [m for m in self.members if m.role not in self.found]

    def walk(self, z: zipfile.ZipFile, chain: tuple[str, ...]) -> None:
        """Extract the pending members found in `z`, then search its inner zips for those still pending.

        chain: the archive names from the download down to `z` (the download's own name first)."""
        infos = [i for i in z.infolist() if not i.is_dir() and _safe_member_name(i.filename) and not _is_link(i)]
        by_base: dict[str, zipfile.ZipInfo] = {}
        for info in infos:
            by_base.setdefault(_base_name(info.filename).lower(), info)
        extracted: dict[str, Path] = {}  # member name -> where this level extracted it
        for m in self.pending():
            info = next((by_base[n.lower()] for n in m.names if n.lower() in by_base), None)
            if info is not None:
                self.found[m.role] = self._extract(z, info, chain, m.role)
                extracted[info.filename] = Path(self.found[m.role].path)
        if len(chain) > self.max_depth:
            return
        for info in infos:
            if not self.pending():
                return
            if info.filename.lower().endswith(".zip"):
                with self._open_inner(z, info, chain, extracted.get(info.filename)) as inner:
                    self.walk(inner, chain + (info.filename,))

    def _where(self, chain: tuple[str, ...], info: zipfile.ZipInfo) -> str:
        """A member's path inside the download, with ``!/`` between nested archives."""
        return "!/".join(chain[1:] + (info.filename,))

    def _copy(self, z: zipfile.ZipFile, info: zipfile.ZipInfo, chain: tuple[str, ...], dst,
              cap: int | None = None) -> tuple[int, str]:
        """Stream one member into the open file `dst`, capped at `cap` bytes (default max_bytes) and at
        MAX_RATIO times its compressed size: a zip bomb stops after a few MB, in well under a second.
        Returns (bytes, sha256)."""
        where = self._where(chain, info)
        cap = self.max_bytes if cap is None else min(cap, self.max_bytes)
        if info.file_size > cap:
            raise FetchError(f"{self.label}: member {where} declares {info.file_size} bytes (cap {cap})")
        ratio_cap = max(RATIO_FLOOR, info.compress_size * MAX_RATIO)
        _check_local_header(z, info, f"{self.label}: member {where}")
        whole = copy.copy(info)
        whole.file_size = cap + 1  # read what the member holds, not what it declares (zipfile stops there)
        h, n = hashlib.sha256(), 0
        try:
            with z.open(whole) as src:
                for block in iter(lambda: src.read(CHUNK), b""):
                    n += len(block)
                    if n > cap:
                        raise FetchError(f"{self.label}: member {where} exceeds {cap} bytes when extracted "
                                         "(its catalog ceiling); stopped")
                    if n > ratio_cap:
                        raise FetchError(f"{self.label}: member {where} expands to more than {MAX_RATIO} times its "
                                         f"compressed size ({info.compress_size:,} bytes): no CMS file does that "
                                         "(a zip bomb?); stopped")
                    h.update(block)
                    dst.write(block)
        except _UNREADABLE as e:
            raise FetchError(f"{self.label}: member {where} cannot be read (damaged archive): {_short(e)}") from None
        if n != info.file_size:  # the CRC matched what was read, but the sizes lie: a damaged or forged archive
            raise FetchError(f"{self.label}: member {where} declares {info.file_size:,} bytes but holds {n:,} "
                             "(damaged archive); the previous files are kept")
        return n, h.hexdigest()

    def _extract(self, z: zipfile.ZipFile, info: zipfile.ZipInfo, chain: tuple[str, ...], role: str) -> LocalMember:
        """Extract one catalog member to ``out_dir/<base name>``, atomically."""
        base = _base_name(info.filename)
        dest = self.out_dir / base
        self.out_dir.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{base}.", suffix=".part", dir=self.out_dir)
        try:
            with os.fdopen(fd, "wb") as f:
                n, digest = self._copy(z, info, chain, f, self.caps.get(role))
            os.replace(tmp, dest)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return LocalMember(role=role, name=base, path=str(dest), bytes=n, sha256=digest)

    @contextlib.contextmanager
    def _open_inner(self, z: zipfile.ZipFile, info: zipfile.ZipInfo, chain: tuple[str, ...],
                    extracted: Path | None) -> Iterator[zipfile.ZipFile]:
        """Open the inner zip `info` of `z`: its extracted copy, or a temporary spool deleted afterwards."""
        spool: Path | None = None
        try:
            if extracted is None:
                self.out_dir.mkdir(parents=True, exist_ok=True)
                fd, name = tempfile.mkstemp(prefix=".inner.", suffix=".zip.part", dir=self.out_dir)
                spool = Path(name)
                with os.fdopen(fd, "wb") as f:
                    self._copy(z, info, chain, f)
            try:
                inner = zipfile.ZipFile(extracted or spool)
            except (zipfile.BadZipFile, EOFError, ValueError, OSError, *_UNREADABLE) as e:
                raise FetchError(f"{self.label}: the inner zip {info.filename!r} in {'!/'.join(chain)} "
                                 f"is damaged: {e}") from None
            with inner:
                yield inner
        finally:
            if spool is not None:
                spool.unlink(missing_ok=True)


def extract_members(zip_path: Path, members: tuple[Member, ...], out_dir: Path, label: str,
                    max_bytes: int = MAX_MEMBER_BYTES, max_depth: int = MAX_ZIP_DEPTH) -> list[LocalMember]:
    """Extract the catalog's members from a zip into ``out_dir/<base name>``, matching names by base name,
    case-insensitively, in the zip and in the zips inside it (up to `max_depth` levels down).

    Unsafe names are never extracted nor opened, at any level; every member's streamed size (an inner zip's
    as well as a catalog member's) is capped at `max_bytes`; only catalog members are written. A member of
    an archive wins over a same-named one inside its inner zips. Returns the members found, in catalog
    order; raises FetchError when a required member is in none of the archives, or one cannot be read.
    """
    run = _Extraction(members, out_dir, label, max_bytes, max_depth)
    try:
        z = zipfile.ZipFile(zip_path)
    except (*_UNREADABLE, ValueError, OSError) as e:
        raise FetchError(f"{label}: the zip archive {zip_path.name} is damaged: {_short(e)}") from None
    with z:
        try:
            run.walk(z, (zip_path.name,))
        except _UNREADABLE as e:  # a damaged central directory entry met while walking
            raise FetchError(f"{label}: the zip archive {zip_path.name} is damaged: {_short(e)}") from None
    for m in members:
        if m.required and m.role not in run.found:
            raise FetchError(f"{label}: the archive has no member named {' or '.join(m.names)}"
                             f"{' (inner zips searched too)' if max_depth else ''}")
    return [run.found[m.role] for m in members if m.role in run.found]


# -------------------------------------------------------------------------------------------- fetching


def _manifest_path(release_dir: Path) -> Path:
    return release_dir / "manifest.json"


def read_manifest(release_dir: Path) -> dict[str, dict]:
    """The release's manifest as catalog URL -> download record; {} when there is none (or it is damaged)."""
    p = _manifest_path(release_dir)
    if not p.exists():
        return {}
    try:
        return {d["url"]: d for d in json.loads(p.read_text(encoding="utf-8"))["downloads"]}
    except (ValueError, KeyError):
        return {}  # a damaged manifest only costs a re-download


def write_manifest(release_dir: Path, fetched: FetchedRelease) -> None:
    """Write the release's manifest atomically. Returns None."""
    p = _manifest_path(release_dir)
    tmp = p.with_suffix(".json.part")
    tmp.write_text(json.dumps({"dataset": fetched.dataset, "release": fetched.release,
                               "downloads": [asdict(d) for d in fetched.downloads],
                               "missing": fetched.missing}, indent=2), encoding="utf-8")
    os.replace(tmp, p)


def _candidates(sf: SourceFile, release: Release, mirror: str | None) -> list[tuple[str, str]]:
    """(kind, location) pairs to try: kind 'download' (the published file) or 'member:<name>'."""
    if mirror is None:
        return [("download", sf.url)]
    out = [("download", _join(mirror, release.dataset, release.release, sf.url_name))]
    url_path = unquote(urlsplit(sf.url).path).lstrip("/")  # _join quotes each segment again
    if url_path:
        out.append(("download", _join(mirror, *url_path.split("/"))))
    if sf.archive == "zip":
        for m in sf.members:
            for name in m.names:
                out.append((f"member:{m.role}:{name}", _join(mirror, release.dataset, release.release, name)))
    else:
        for name in sf.members[0].names:
            out.append((f"member:{sf.members[0].role}:{name}", _join(mirror, release.dataset, release.release, name)))
    return out


def fetch_release(release: Release, raw_root: str | Path, mirror: str | None = None,
                  transport: Transport | None = None) -> FetchedRelease:
    """Fetch every download of one catalog release into ``raw_root/<dataset>/<release>/``.

    Everything new is staged in ``.incoming/`` and checked there (type, size, the catalog's sha256 of the
    download and of each member) before any of it replaces a file of the release; on any error the staging
    folder is removed, the release's files and manifest stay as they were, and a release folder this call
    created is removed again. Returns what was found; downloads the source does not have are listed in
    ``missing``. Raises FetchError when something found is broken.
    """
    transport = transport or Transport()
    rdir = Path(raw_root) / release.dataset / release.release
    created = [p for p in (Path(raw_root), rdir.parent, rdir) if not p.exists()]
    rdir.mkdir(parents=True, exist_ok=True)
    incoming = rdir / ".incoming"
    try:
        fetched = _fetch_staged(release, rdir, mirror, transport)
        _commit(incoming, rdir, fetched.downloads)
        if fetched.downloads:
            write_manifest(rdir, fetched)
    except BaseException:
        shutil.rmtree(incoming, ignore_errors=True)
        _remove_if_empty(reversed(created))
        raise
    shutil.rmtree(incoming, ignore_errors=True)
    if not fetched.downloads:
        _remove_if_empty(reversed(created + [rdir]))  # no empty folders for releases the source lacks
    return fetched


def _remove_if_empty(dirs) -> None:
    for d in dirs:
        with contextlib.suppress(OSError):
            d.rmdir()


def _fetch_staged(release: Release, rdir: Path, mirror: str | None, transport: Transport) -> FetchedRelease:
    """Every download of the release, new files staged in ``rdir/.incoming`` and verified there."""
    previous = read_manifest(rdir)
    downloads: list[Download] = []
    missing: list[str] = []
    for sf in release.files:
        label = f"{release.dataset} {release.release} {sf.url_name}"
        d = _fetch_one(sf, release, rdir, mirror, transport, previous.get(sf.url), label)
        if d is None:
            missing.append(sf.url)
            continue
        for m in d.members:
            spec = next(x for x in sf.members if x.role == m.role)
            check_pin(label, f"member {m.name}", spec.sha256, spec.bytes, m.sha256, m.bytes)
            if sf.archive == "none":  # a plain file is its own member: the download's pin holds for a mirror's copy
                check_pin(label, "the download", sf.sha256, sf.bytes, m.sha256, m.bytes)
        downloads.append(d)
    fetched = FetchedRelease(release.dataset, release.release, downloads, missing)
    if downloads:
        absent = [m.role for f in release.files for m in f.members if m.required and m.role not in fetched.inputs]
        if absent:
            # Part of the release was found but not a file it cannot do without (e.g. a moved URL):
            # loading the rest would publish a warehouse with holes, so the refresh stops here.
            raise FetchError(f"{release.dataset} {release.release}: required file(s) {', '.join(absent)} not found "
                             f"(missing downloads: {', '.join(missing) or 'none'}); the previous warehouse is kept")
    return fetched


def _commit(incoming: Path, rdir: Path, downloads: list[Download]) -> None:
    """Move the verified files staged in `incoming` to their places in `rdir` (each move atomic), and
    point the downloads' paths there."""
    for d in downloads:
        for obj in (d, *d.members):
            p = Path(obj.path)
            if incoming not in p.parents:
                continue
            final = rdir / p.relative_to(incoming)
            if p.exists():
                final.parent.mkdir(parents=True, exist_ok=True)
                keep_previous(rdir, final)
                os.replace(p, final)
            obj.path = str(final)


PREVIOUS = ".previous"


def keep_previous(rdir: Path, final: Path) -> None:
    """Before `final` is replaced, keep it in ``rdir/.previous`` (with the manifest listing it), unless a
    copy is kept already: the last good source stays until a warehouse built from the new one is published
    (:mod:`codeetl.build.quarantine` puts it back when the new one fails its parse or a gate)."""
    if not final.is_file():
        return
    prev = rdir / PREVIOUS
    backup = prev / final.relative_to(rdir)
    if backup.exists():
        return
    manifest = _manifest_path(rdir)
    if not prev.exists() and manifest.is_file():
        prev.mkdir()
        shutil.copy2(manifest, prev / manifest.name)
    backup.parent.mkdir(parents=True, exist_ok=True)
    os.replace(final, backup)


def _fetch_one(sf: SourceFile, release: Release, rdir: Path, mirror: str | None, transport: Transport,
               prev: dict | None, label: str) -> Download | None:
    """One catalog download, from the first location that has it; new files are left in ``.incoming``."""
    members_found: list[LocalMember] = []
    sources: list[str] = []
    incoming = rdir / ".incoming"
    for kind, location in _candidates(sf, release, mirror):
        if kind == "download":
            got = _fetch_download(sf, rdir, location, transport, prev, label)
            if got is None:
                continue  # not at this location
            return got
        # an extracted member kept by the mirror
        _, role, name = kind.split(":", 2)
        if any(m.role == role for m in members_found):
            continue
        member = next(m for m in sf.members if m.role == role)
        staged = incoming / name
        changed, _, _ = _get(transport, location, staged, label, None, member.max_bytes or sf.max_bytes)
        if changed is None:
            continue
        check_content(staged, "none", f"{label} ({name})")
        members_found.append(LocalMember(role=role, name=name, path=str(staged), bytes=staged.stat().st_size,
                                         sha256=sha256_file(staged)))
        sources.append(location)
    if not members_found:
        return None
    missing_required = [m.role for m in sf.members if m.required and m.role not in {x.role for x in members_found}]
    if missing_required:
        raise FetchError(f"{label}: the mirror has some members of this download but not the required {missing_required}")
    first = members_found[0]
    unchanged = prev is not None and {(m["role"], m["sha256"]) for m in prev.get("members", [])} == {(m.role, m.sha256) for m in members_found}
    return Download(url=sf.url, source=" ".join(sources), path=first.path, bytes=sum(m.bytes for m in members_found),
                    sha256=first.sha256 if len(members_found) == 1 else fingerprint((m.role, m.sha256) for m in members_found),
                    fetched_at=prev["fetched_at"] if unchanged else _now(), unchanged=unchanged, members=members_found)


def _fetch_download(sf: SourceFile, rdir: Path, location: str, transport: Transport, prev: dict | None,
                    label: str) -> Download | None:
    """The published file at `location` (None when it is not there), staged and checked in ``.incoming``;
    the previous download when the source says it is unchanged and its members are intact."""
    dest = rdir / sf.url_name
    incoming = rdir / ".incoming"
    staged = incoming / sf.url_name
    prev_ok = prev is not None and prev.get("source") == location and dest.is_file()
    changed, etag, lm = _get(transport, location, staged, label, prev if prev_ok else None, sf.max_bytes)
    if changed is None:
        return None
    if not changed or (prev_ok and sha256_file(staged) == prev["sha256"]):
        staged.unlink(missing_ok=True)
        d = Download(**{k: v for k, v in prev.items() if k != "members"})
        d.members = [LocalMember(**m) for m in prev["members"]]
        d.unchanged = True
        if all(Path(m.path).is_file() and sha256_file(m.path) == m.sha256 for m in d.members):
            check_pin(label, "the download", sf.sha256, sf.bytes, d.sha256, d.bytes)
            return d
        changed, etag, lm = _get(transport, location, staged, label, None, sf.max_bytes)  # members damaged: again
    check_content(staged, sf.archive, label)
    digest = sha256_file(staged)
    if sf.archive == "zip":
        stage("extract")
        members = extract_members(staged, sf.members, incoming / Path(sf.url_name).stem, label, max_bytes=sf.max_bytes)
        if not members:
            raise FetchError(f"{label}: the archive has none of the members {[n for m in sf.members for n in m.names]}")
    else:
        m = sf.members[0]
        members = [LocalMember(role=m.role, name=sf.url_name, path=str(staged), bytes=staged.stat().st_size,
                               sha256=digest)]
    # after extraction (staged, under the zip defenses): a damaged or hostile archive says what is wrong with it,
    # a sound one that is not the pinned file is refused here; either way nothing outside .incoming is touched
    check_pin(label, "the download", sf.sha256, sf.bytes, digest, staged.stat().st_size)
    return Download(url=sf.url, source=location, path=str(staged), bytes=staged.stat().st_size, sha256=digest,
                    fetched_at=_now(), etag=etag, last_modified=lm, members=members)


def check_pin(label: str, what: str, pin_sha256: str | None, pin_bytes: int | None, sha256: str, size: int) -> None:
    """Raise FetchError (one line: both hashes, both sizes) unless `what` (the official download, or a member,
    from the official site or a mirror) matches its catalog pin; the caller's staging keeps the previous files.
    Returns None."""
    why = pin_mismatch(pin_sha256, pin_bytes, sha256, size)
    if why:
        raise FetchError(f"{label}: {what} does not match its catalog pin: it has {why}; nothing was replaced "
                         "(if the publisher revised the file, check it, then update the pin)")


def _get(transport: Transport, location: str, dest: Path, label: str, prev: dict | None,
         max_bytes: int = MAX_MEMBER_BYTES):
    """Transport.get that returns (None, None, None) for a missing file instead of raising."""
    try:
        return transport.get(location, dest, label, etag=(prev or {}).get("etag"),
                             last_modified=(prev or {}).get("last_modified"), max_bytes=max_bytes)
    except NotFound:
        return None, None, None
