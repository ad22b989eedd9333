"""Downloading the publications named in the catalog, from CMS/CDC or from a mirror.

What a fetch guarantees:

* **Atomic files.** A download streams into a temporary file beside its target and is renamed into
  ``data/raw/<dataset>/<release>/`` only when complete and checked; an interrupted fetch leaves the
  previous file untouched.
* **A manifest** ``data/raw/<dataset>/<release>/manifest.json`` records, per download: url, where the
  bytes actually came from, size, sha256, fetched_at, ETag and Last-Modified, and every member used.
* **Unchanged sources are skipped.** Over HTTP a conditional request (If-None-Match /
  If-Modified-Since) is sent when the manifest has validators; a 304, or a body whose sha256 equals the
  recorded one, keeps the existing file. A mirror directory file with the recorded sha256 is not copied.
* **Retries only where retrying can help**: connection errors, timeouts, HTTP 429 and 5xx, with
  exponential backoff (honouring Retry-After). A 404 or a 403 is final. Every request has explicit
  connect/read timeouts.
* **Content checks.** A zip must be a readable zip; a text/XML/CSV file must not be an HTML page (a
  portal's error or login page served with status 200 is the classic failure).
* **Safe extraction.** Only the members the catalog names are extracted, never a name with an absolute
  path or ``..``; each member's real (streamed) size is capped, so a zip bomb stops early.

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

import datetime as dt
import hashlib
import json
import os
import shutil
import tempfile
import time
import zipfile
from dataclasses import asdict, dataclass, field
from pathlib import Path, PurePosixPath
from typing import Callable
from urllib.parse import quote, urlsplit

import requests

from codeetl.catalog import Member, Release, SourceFile
from codeetl.errors import FetchError

CONNECT_TIMEOUT = 15.0  # seconds to establish a connection
READ_TIMEOUT = 120.0  # seconds between bytes
MAX_ATTEMPTS = 5
BACKOFF_BASE = 1.0  # seconds; attempt n waits BACKOFF_BASE * 2**(n-1)
MAX_BACKOFF = 60.0
CHUNK = 1 << 20
MAX_MEMBER_BYTES = 4 << 30  # no single code-set file comes near 4 GiB
USER_AGENT = "codeetl (+https://github.com/codeetl/codeetl)"

Progress = Callable[[str, int, int | None], None]
"""progress(label, bytes_done, bytes_total_or_None)"""


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
        return [m for d in self.downloads for m in d.members]

    @property
    def fingerprint(self) -> str:
        """A hash of every input's role and sha256: equal fingerprints parse to equal tables."""
        h = hashlib.sha256()
        for m in sorted(self.members, key=lambda m: m.role):
            h.update(f"{m.role}={m.sha256}\n".encode())
        return h.hexdigest()


# ---------------------------------------------------------------------------------------------- utils


def sha256_file(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(CHUNK), b""):
            h.update(block)
    return h.hexdigest()


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


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
        try:
            with zipfile.ZipFile(path) as z:
                bad = z.testzip()
        except zipfile.BadZipFile as e:
            raise FetchError(f"{label}: the zip archive is damaged: {e}") from None
        if bad:
            raise FetchError(f"{label}: the zip member {bad!r} is damaged (CRC mismatch)")
    elif _looks_like_html(head):
        raise FetchError(f"{label}: expected a data file, got an HTML page (an error or login page?)")


# ------------------------------------------------------------------------------------------- transfer


class Transport:
    """Gets one location (URL or local path) into a local file, with retries and validators."""

    def __init__(self, session: requests.Session | None = None, sleep: Callable[[float], None] = time.sleep,
                 progress: Progress | None = None):
        self.session = session or requests.Session()
        self.session.headers.setdefault("User-Agent", USER_AGENT)
        self.sleep = sleep
        self.progress = progress

    def get(self, location: str, dest: Path, label: str, etag: str | None = None,
            last_modified: str | None = None) -> tuple[bool, str | None, str | None]:
        """Download `location` to `dest` (atomically). Returns (changed, etag, last_modified).

        changed is False when the server answered 304 Not Modified (dest is then left as it was).
        Raises NotFound for a missing file, FetchError for anything else that is wrong.
        """
        if not _is_url(location):
            src = Path(location)
            if not src.is_file():
                raise NotFound(f"{label}: {location} does not exist")
            self._atomic_copy(src, dest)
            return True, None, None
        headers = {}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        for attempt in range(1, MAX_ATTEMPTS + 1):
            retry_after: float | None = None
            try:
                with self.session.get(location, headers=headers, stream=True,
                                      timeout=(CONNECT_TIMEOUT, READ_TIMEOUT)) as r:
                    if r.status_code == 304:
                        return False, etag, last_modified
                    if r.status_code in (404, 410):
                        raise NotFound(f"{label}: {location} answered {r.status_code} {r.reason}")
                    if r.status_code == 429 or r.status_code >= 500:
                        retry_after = _retry_after(r.headers.get("Retry-After"))
                        raise _Transient(f"{location} answered {r.status_code} {r.reason}")
                    if r.status_code != 200:
                        raise FetchError(f"{label}: {location} answered {r.status_code} {r.reason}")
                    total = int(r.headers["Content-Length"]) if r.headers.get("Content-Length", "").isdigit() else None
                    self._atomic_stream(r.iter_content(CHUNK), dest, label, total)
                    return True, r.headers.get("ETag"), r.headers.get("Last-Modified")
            except (requests.ConnectionError, requests.Timeout, _Transient) as e:
                if attempt == MAX_ATTEMPTS:
                    raise FetchError(f"{label}: {location} failed after {MAX_ATTEMPTS} attempts: {e}") from None
                wait = min(MAX_BACKOFF, retry_after if retry_after is not None else BACKOFF_BASE * 2 ** (attempt - 1))
                self.sleep(wait)
            except requests.RequestException as e:  # invalid URL, too many redirects, ...: not transient
                raise FetchError(f"{label}: {location}: {e}") from None
        raise AssertionError("unreachable")

    def _atomic_stream(self, chunks, dest: Path, label: str, total: int | None) -> None:
        dest.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent)
        done = 0
        try:
            with os.fdopen(fd, "wb") as f:
                for block in chunks:
                    f.write(block)
                    done += len(block)
                    if self.progress:
                        self.progress(label, done, total)
            if total is not None and done != total:
                raise FetchError(f"{label}: connection closed after {done} of {total} bytes")
            os.replace(tmp, dest)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def _atomic_copy(self, src: Path, dest: Path) -> None:
        with open(src, "rb") as f:
            self._atomic_stream(iter(lambda: f.read(CHUNK), b""), dest, src.name, src.stat().st_size)


class _Transient(Exception):
    pass


def _retry_after(value: str | None) -> float | None:
    if value and value.strip().isdigit():
        return float(value.strip())
    return None


# ------------------------------------------------------------------------------------------ extraction


def _safe_member_name(name: str) -> bool:
    p = PurePosixPath(name.replace("\\", "/"))
    return not p.is_absolute() and ".." not in p.parts and not (len(name) > 1 and name[1] == ":")


def extract_members(zip_path: Path, members: tuple[Member, ...], out_dir: Path, label: str,
                    max_bytes: int = MAX_MEMBER_BYTES) -> list[LocalMember]:
    """Extract the catalog's members from a zip into `out_dir`, matching names by base name,
    case-insensitively. Unsafe names are never extracted; each member's streamed size is capped."""
    found: list[LocalMember] = []
    with zipfile.ZipFile(zip_path) as z:
        by_base: dict[str, zipfile.ZipInfo] = {}
        for info in z.infolist():
            if info.is_dir() or not _safe_member_name(info.filename):
                continue
            by_base.setdefault(PurePosixPath(info.filename.replace("\\", "/")).name.lower(), info)
        for m in members:
            info = next((by_base[n.lower()] for n in m.names if n.lower() in by_base), None)
            if info is None:
                if m.required:
                    raise FetchError(f"{label}: the archive has no member named {' or '.join(m.names)}")
                continue
            if info.file_size > max_bytes:
                raise FetchError(f"{label}: member {info.filename} declares {info.file_size} bytes (cap {max_bytes})")
            base = PurePosixPath(info.filename.replace("\\", "/")).name
            dest = out_dir / base
            dest.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=f".{base}.", suffix=".part", dir=out_dir)
            h, n = hashlib.sha256(), 0
            try:
                with os.fdopen(fd, "wb") as f, z.open(info) as src:
                    for block in iter(lambda: src.read(CHUNK), b""):
                        n += len(block)
                        if n > max_bytes:
                            raise FetchError(f"{label}: member {info.filename} exceeds {max_bytes} bytes when extracted")
                        h.update(block)
                        f.write(block)
                os.replace(tmp, dest)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
            found.append(LocalMember(role=m.role, name=base, path=str(dest), bytes=n, sha256=h.hexdigest()))
    return found


# -------------------------------------------------------------------------------------------- fetching


def _manifest_path(release_dir: Path) -> Path:
    return release_dir / "manifest.json"


def read_manifest(release_dir: Path) -> dict[str, dict]:
    p = _manifest_path(release_dir)
    if not p.exists():
        return {}
    try:
        return {d["url"]: d for d in json.loads(p.read_text(encoding="utf-8"))["downloads"]}
    except (ValueError, KeyError):
        return {}  # a damaged manifest only costs a re-download


def write_manifest(release_dir: Path, fetched: FetchedRelease) -> None:
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
    url_path = urlsplit(sf.url).path.lstrip("/")
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

    Returns what was found; downloads the source does not have are listed in ``missing``. Raises
    FetchError when something found is broken, or a member's sha256 differs from the catalog's.
    """
    transport = transport or Transport()
    rdir = Path(raw_root) / release.dataset / release.release
    rdir.mkdir(parents=True, exist_ok=True)
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
            want = next((x.sha256 for x in sf.members if x.role == m.role and x.sha256), None)
            if want and want != m.sha256:
                raise FetchError(f"{label}: member {m.name} has sha256 {m.sha256}, the catalog expects {want}")
        downloads.append(d)
    fetched = FetchedRelease(release.dataset, release.release, downloads, missing)
    shutil.rmtree(rdir / ".incoming", ignore_errors=True)
    if downloads:
        write_manifest(rdir, fetched)
    elif not any(rdir.iterdir()):
        rdir.rmdir()  # leave no empty folders for releases the source does not have
    return fetched


def _fetch_one(sf: SourceFile, release: Release, rdir: Path, mirror: str | None, transport: Transport,
               prev: dict | None, label: str) -> Download | None:
    members_found: list[LocalMember] = []
    sources: list[str] = []
    for kind, location in _candidates(sf, release, mirror):
        if kind == "download":
            dest = rdir / sf.url_name
            incoming = rdir / ".incoming" / sf.url_name  # checked here before it may replace `dest`
            prev_ok = prev is not None and prev.get("source") == location and dest.is_file()
            changed, etag, lm = _get(transport, location, incoming, label, prev if prev_ok else None)
            if changed is None:
                continue  # not at this location
            if not changed or (prev_ok and sha256_file(incoming) == prev["sha256"]):
                incoming.unlink(missing_ok=True)
                d = Download(**{k: v for k, v in prev.items() if k != "members"})
                d.members = [LocalMember(**m) for m in prev["members"]]
                d.unchanged = True
                if all(Path(m.path).is_file() and sha256_file(m.path) == m.sha256 for m in d.members):
                    return d
                changed, etag, lm = _get(transport, location, incoming, label, None)  # members damaged: fetch again
            check_content(incoming, sf.archive, label)
            digest = sha256_file(incoming)
            if sf.sha256 and digest != sf.sha256:
                raise FetchError(f"{label}: download has sha256 {digest}, the catalog expects {sf.sha256}")
            os.replace(incoming, dest)
            if sf.archive == "zip":
                members = extract_members(dest, sf.members, rdir / dest.stem, label)
                if not members:
                    raise FetchError(f"{label}: the archive has none of the members {[n for m in sf.members for n in m.names]}")
            else:
                m = sf.members[0]
                members = [LocalMember(role=m.role, name=dest.name, path=str(dest), bytes=dest.stat().st_size, sha256=digest)]
            return Download(url=sf.url, source=location, path=str(dest), bytes=dest.stat().st_size, sha256=digest,
                            fetched_at=_now(), etag=etag, last_modified=lm, members=members)
        # an extracted member kept by the mirror
        _, role, name = kind.split(":", 2)
        if any(m.role == role for m in members_found):
            continue
        dest = rdir / name
        incoming = rdir / ".incoming" / name
        changed, _, _ = _get(transport, location, incoming, label, None)
        if changed is None:
            continue
        check_content(incoming, "none", f"{label} ({name})")
        os.replace(incoming, dest)
        members_found.append(LocalMember(role=role, name=name, path=str(dest), bytes=dest.stat().st_size,
                                         sha256=sha256_file(dest)))
        sources.append(location)
    if not members_found:
        return None
    missing_required = [m.role for m in sf.members if m.required and m.role not in {x.role for x in members_found}]
    if missing_required:
        raise FetchError(f"{label}: the mirror has some members of this download but not the required {missing_required}")
    first = members_found[0]
    unchanged = prev is not None and {(m["role"], m["sha256"]) for m in prev.get("members", [])} == {(m.role, m.sha256) for m in members_found}
    return Download(url=sf.url, source=" ".join(sources), path=first.path, bytes=sum(m.bytes for m in members_found),
                    sha256=first.sha256 if len(members_found) == 1 else _combined(members_found),
                    fetched_at=prev["fetched_at"] if unchanged else _now(), unchanged=unchanged, members=members_found)


def _combined(members: list[LocalMember]) -> str:
    h = hashlib.sha256()
    for m in sorted(members, key=lambda m: m.role):
        h.update(f"{m.role}={m.sha256}\n".encode())
    return h.hexdigest()


def _get(transport: Transport, location: str, dest: Path, label: str, prev: dict | None):
    """Transport.get that returns (None, None, None) for a missing file instead of raising."""
    try:
        return transport.get(location, dest, label,
                             etag=(prev or {}).get("etag"), last_modified=(prev or {}).get("last_modified"))
    except NotFound:
        return None, None, None


def clear_release(raw_root: str | Path, dataset: str, release: str) -> None:
    """Forget a release's downloads (used by `codeetl refresh --force`)."""
    shutil.rmtree(Path(raw_root) / dataset / release, ignore_errors=True)
