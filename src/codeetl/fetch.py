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
* **Safe extraction.** Only the members the catalog names are extracted, by base name, from the archive
  or from the zips inside it (CMS ships some downloads as a zip in a zip: the IPPS Tables 6 zip, the MCD
  export), searched up to ``MAX_ZIP_DEPTH`` levels down; a member of an archive wins over a same-named one
  in its inner zips. A name with an absolute path, ``..`` or a drive letter is never extracted nor opened,
  at any level; the real (streamed) size of every member read, inner zips included, is capped, so a zip
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
import hashlib
import json
import os
import shutil
import tempfile
import time
import zipfile
import zlib
from dataclasses import asdict, dataclass, field
from pathlib import Path, PurePosixPath
from typing import Callable, Iterator
from urllib.parse import quote, urlsplit

import requests

from codeetl.catalog import Member, Release, SourceFile
from codeetl.errors import FetchError
from codeetl.provenance import fingerprint, sha256_file, utc_now as _now

CONNECT_TIMEOUT = 15.0  # seconds to establish a connection
READ_TIMEOUT = 120.0  # seconds between bytes
MAX_ATTEMPTS = 5
BACKOFF_BASE = 1.0  # seconds; attempt n waits BACKOFF_BASE * 2**(n-1)
MAX_BACKOFF = 60.0
CHUNK = 1 << 20
MAX_MEMBER_BYTES = 4 << 30  # no single code-set file comes near 4 GiB
MAX_ZIP_DEPTH = 3  # levels of zips inside a download searched for catalog members
USER_AGENT = "codeetl (+https://github.com/codeetl/codeetl)"

Progress = Callable[[str, int, int | None], None]
"""progress(label, bytes_done, bytes_total_or_None)"""


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
                    raise TransientFetchError(f"{label}: {location} failed after {MAX_ATTEMPTS} attempts: {e}") from None
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


def _base_name(name: str) -> str:
    return PurePosixPath(name.replace("\\", "/")).name


# Errors zipfile and zlib raise for a member that cannot be read: damaged data, a CRC mismatch, a truncated
# stream, an unsupported compression method (e.g. Deflate64), encryption.
_UNREADABLE = (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError)


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

    def pending(self) -> list[Member]:
        return [m for m in self.members if m.role not in self.found]

    def walk(self, z: zipfile.ZipFile, chain: tuple[str, ...]) -> None:
        """Extract the pending members found in `z`, then search its inner zips for those still pending.

        chain: the archive names from the download down to `z` (the download's own name first)."""
        infos = [i for i in z.infolist() if not i.is_dir() and _safe_member_name(i.filename)]
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

    def _copy(self, z: zipfile.ZipFile, info: zipfile.ZipInfo, chain: tuple[str, ...], dst) -> tuple[int, str]:
        """Stream one member into the open file `dst`, capped at max_bytes. Returns (bytes, sha256)."""
        where = self._where(chain, info)
        if info.file_size > self.max_bytes:
            raise FetchError(f"{self.label}: member {where} declares {info.file_size} bytes (cap {self.max_bytes})")
        h, n = hashlib.sha256(), 0
        try:
            with z.open(info) as src:
                for block in iter(lambda: src.read(CHUNK), b""):
                    n += len(block)
                    if n > self.max_bytes:
                        raise FetchError(f"{self.label}: member {where} exceeds {self.max_bytes} bytes when extracted")
                    h.update(block)
                    dst.write(block)
        except _UNREADABLE as e:
            raise FetchError(f"{self.label}: member {where} cannot be read: {e}") from None
        return n, h.hexdigest()

    def _extract(self, z: zipfile.ZipFile, info: zipfile.ZipInfo, chain: tuple[str, ...], role: str) -> LocalMember:
        """Extract one catalog member to ``out_dir/<base name>``, atomically."""
        base = _base_name(info.filename)
        dest = self.out_dir / base
        self.out_dir.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{base}.", suffix=".part", dir=self.out_dir)
        try:
            with os.fdopen(fd, "wb") as f:
                n, digest = self._copy(z, info, chain, f)
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
            except (zipfile.BadZipFile, EOFError, ValueError, OSError) as e:
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
    with zipfile.ZipFile(zip_path) as z:
        run.walk(z, (zip_path.name,))
    for m in members:
        if m.required and m.role not in run.found:
            raise FetchError(f"{label}: the archive has no member named {' or '.join(m.names)}"
                             f"{' (inner zips searched too)' if max_depth else ''}")
    return [run.found[m.role] for m in members if m.role in run.found]


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
        absent = [m.role for f in release.files for m in f.members if m.required and m.role not in fetched.inputs]
        if absent:
            # Part of the release was found but not a file it cannot do without (e.g. a moved URL):
            # loading the rest would publish a warehouse with holes, so the refresh stops here.
            raise FetchError(f"{release.dataset} {release.release}: required file(s) {', '.join(absent)} not found "
                             f"(missing downloads: {', '.join(missing) or 'none'}); the previous warehouse is kept")
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
                    sha256=first.sha256 if len(members_found) == 1 else fingerprint((m.role, m.sha256) for m in members_found),
                    fetched_at=prev["fetched_at"] if unchanged else _now(), unchanged=unchanged, members=members_found)


def _get(transport: Transport, location: str, dest: Path, label: str, prev: dict | None):
    """Transport.get that returns (None, None, None) for a missing file instead of raising."""
    try:
        return transport.get(location, dest, label,
                             etag=(prev or {}).get("etag"), last_modified=(prev or {}).get("last_modified"))
    except NotFound:
        return None, None, None
