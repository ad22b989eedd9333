"""The source catalog: which publications exist, where they are published, and what is inside them.

Release drift is data, not code. Each downloaded dataset has one ``catalog.toml`` in its folder
``src/codeetl/datasets/<dataset>/``; adding next year's release is a catalog edit (a new ``[[releases]]``
block), never a code change.

Schema of ``datasets/<dataset>/catalog.toml``::

    dataset = "icd10cm"                 # must equal the folder name
    title = "ICD-10-CM"                 # shown on pages and in the `releases` table
    publisher = "CDC NCHS / CMS"

    [[releases]]
    release = "2026-04"                 # release id; the mirror folder name (<dataset>/<release>/)
    label = "FY2026 April 1, 2026 update"
    effective_from = 2026-04-01         # first day the release is in effect
    effective_to = 2026-09-30           # last day (inclusive); omit when open-ended
    uses = { msdrg = "v43" }            # optional: releases of other datasets this one belongs to; each must
                                        # be in the catalog, and the warehouse records it (release_uses)

      [[releases.files]]                # one published download
      url = "https://www.cms.gov/files/zip/....zip"
      archive = "zip"                   # "zip" or "none" (a plain file)
      verified = true                   # an independent public source uses this exact URL (default false)
      note = "..."                      # the evidence for the URL (a test requires one on every download)
      sha256 = "..."                    # optional pin of the official download's bytes (the zip itself)
      bytes = 2_208_022                 # optional pin of its size

        [[releases.files.members]]      # what the parser needs from that download
        role = "tabular"                # the parser's name for the input
        names = ["icd10cm_tabular_2026.xml", "icd10cm-tabular-April-1-2026.xml"]
        required = false                # a release loads when at least one member is found
        sha256 = "..."                  # optional pin of the member's bytes (under any of its names)
        bytes = 9_746_342               # optional pin of the member's size
        max_bytes = 40_000_000          # optional: ceiling of the member's size (default: the dataset's)

Pins. A ``sha256``/``bytes`` on a ``[[releases.files]]`` block is of the official download's bytes (the zip
as the publisher serves it); on a ``[[releases.files.members]]`` block, of that member's bytes. Either may
be given alone; a published digest known only in part is written ``"<first hex digits>…<last hex digits>"``
(at least 16 digits in all). A file that does not match its pin fails the fetch, naming both hashes, and
replaces nothing (:func:`pin_mismatch` is the one rule; ``codeetl.sources.fetch`` applies it to every
download and member, from the official site or a mirror). A mirror of extracted members has no zip to
check: its members are checked by the member pins.

Verified. ``verified = true`` means an independent public source (another project's download code, a saved
CMS/CDC page, a published sha256 pin or a recorded HTTP 200) uses this exact URL; ``note`` says which.
``verified = false`` (the default) means no such evidence was found: the URL follows the publisher's naming
of the neighbouring releases and ``note`` says what is known. ``codeetl releases --unverified`` lists them.

The first spelling in ``names`` is the publisher's own member name in the download; the others are the
names other publishers (CDC for CMS's files) or mirrors give the same file.

The download's local file name (``url_name``) is the URL's last path segment, unquoted; CMS writes some
revision dates with slashes (``...-updated-01/11/2023.zip``), and such a trailing date is kept as
``...-updated-01-11-2023.zip`` so that two downloads of a release never share a name.

``load_catalog()`` reads the catalogs of the dataset folders, or the folder ``CODEETL_CATALOG`` names
(``codeetl refresh --catalog DIR``: one ``<dataset>.toml`` per dataset).

Size ceilings (a zip bomb or a runaway download stops at them, see ``codeetl.sources.fetch``): top-level
``member_max_bytes`` (default for every member: about 4x the largest real file of the dataset;
``DEFAULT_MEMBER_MAX_BYTES`` when absent) and ``download_max_bytes`` (every download, zips included;
``DEFAULT_DOWNLOAD_MAX_BYTES`` when absent); ``max_bytes`` on a ``[[releases.files]]`` or a member block
overrides them for that file.

Member names are matched by base name, case-insensitively, anywhere in the archive (CMS sometimes
nests files in a folder). Every name in ``names`` is an accepted spelling: CMS and CDC publish the
same file under different names, and a mirror keeps whichever it has.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from urllib.parse import unquote, urlsplit

from codeetl.codes import iso_date
from codeetl.errors import CatalogError


DEFAULT_MEMBER_MAX_BYTES = 64_000_000  # 3.5x the largest real member (IPPS Table 6K, 17 MB)
DEFAULT_DOWNLOAD_MAX_BYTES = 512_000_000  # a whole published zip (the MS-DRG manual zip is the largest)
CATALOG_ENV = "CODEETL_CATALOG"
"""Environment variable naming a catalog folder to use instead of the dataset folders' (``--catalog``)."""

_PIN = re.compile(r"[0-9a-f]{64}|([0-9a-f]+)(?:…|\.\.\.)([0-9a-f]+)")
_SLASH_DATE = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{2,4})(\.[A-Za-z0-9]+)$")
_FILE_KEYS = {"url", "archive", "members", "sha256", "bytes", "max_bytes", "verified", "note"}
_MEMBER_KEYS = {"role", "names", "required", "sha256", "bytes", "max_bytes"}


def pin_mismatch(pin_sha256: str | None, pin_bytes: int | None, sha256: str, size: int) -> str | None:
    """Why bytes with digest `sha256` and length `size` do not match a catalog pin (both hashes named), or
    None when they do (or there is no pin). A pin written ``"<head>…<tail>"`` matches a digest that starts
    with head and ends with tail."""
    problems = []
    if pin_sha256 is not None:
        m = _PIN.fullmatch(pin_sha256)
        ok = sha256 == pin_sha256 if m and m.group(1) is None else \
            bool(m) and sha256.startswith(m.group(1)) and sha256.endswith(m.group(2))
        if not ok:
            problems.append(f"sha256 {sha256}, the catalog pins sha256 {pin_sha256}")
    if pin_bytes is not None and size != pin_bytes:
        problems.append(f"{size:,} bytes, the catalog pins {pin_bytes:,} bytes")
    return "; ".join(problems) or None


@dataclass(frozen=True)
class Member:
    role: str
    names: tuple[str, ...]
    required: bool = False
    sha256: str | None = None  # pin of the member's bytes
    max_bytes: int | None = None  # ceiling of the extracted size; None: the download's
    bytes: int | None = None  # pin of the member's size


@dataclass(frozen=True)
class SourceFile:
    url: str
    archive: str  # "zip" | "none"
    members: tuple[Member, ...]
    sha256: str | None = None  # pin of the official download's bytes
    max_bytes: int = DEFAULT_DOWNLOAD_MAX_BYTES  # ceiling of the download's size
    bytes: int | None = None  # pin of the official download's size
    verified: bool = False  # an independent public source uses this exact URL
    note: str = ""  # the evidence for the URL

    @property
    def url_name(self) -> str:
        """The download's local file name: the URL's last path segment, unquoted; a trailing date CMS writes
        with slashes (``...-updated-01/11/2023.zip``) is kept whole, as ``...-updated-01-11-2023.zip``."""
        path = _SLASH_DATE.sub(r"\1-\2-\3\4", unquote(urlsplit(self.url).path).rstrip("/"))
        return path.rsplit("/", 1)[-1]


@dataclass(frozen=True)
class Release:
    dataset: str
    release: str
    label: str
    effective_from: dt.date
    effective_to: dt.date | None
    files: tuple[SourceFile, ...]
    notes: str = ""
    uses: dict[str, str] = field(default_factory=dict, hash=False, compare=False)
    """Releases of other datasets this one belongs to: ``{"msdrg": "v43"}`` on an IPPS final rule."""
    attrs: dict = field(default_factory=dict, hash=False, compare=False)
    """Any other keys of the release block (dataset-specific)."""

    def in_effect(self, day: dt.date) -> bool:
        """True when ``day`` lies within the release's effective dates."""
        return self.effective_from <= day and (self.effective_to is None or day <= self.effective_to)

    @property
    def roles(self) -> list[str]:
        """Every member role of the release's downloads."""
        return [m.role for f in self.files for m in f.members]


@dataclass(frozen=True)
class Dataset:
    dataset: str
    title: str
    publisher: str
    releases: tuple[Release, ...] = field(default_factory=tuple)

    def release(self, release_id: str) -> Release:
        """The release `release_id` of this dataset; CatalogError naming the known ones when there is none."""
        for r in self.releases:
            if r.release == release_id:
                return r
        known = ", ".join(r.release for r in self.releases)
        raise CatalogError(f"dataset {self.dataset!r} has no release {release_id!r} (known: {known})")


_RELEASE_KEYS = {"release", "label", "effective_from", "effective_to", "files", "notes", "uses"}


def _date(value, where: str) -> dt.date:
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    day = iso_date(value) if isinstance(value, str) else None
    if day is None:
        raise CatalogError(f"{where}: expected a date as YYYY-MM-DD, found {value!r}")
    return day


def _size(value, where: str, key: str = "max_bytes") -> int:
    """A size in bytes (a ceiling, or a pin with key "bytes"): a positive integer."""
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise CatalogError(f"{where}: a {key} must be a positive number of bytes, found {value!r}")
    return value


def _need(table: dict, key: str, where: str):
    if key not in table:
        raise CatalogError(f"{where}: missing key {key!r}")
    return table[key]


def _pin(table: dict, where: str) -> tuple[str | None, int | None]:
    """The (sha256, bytes) pin of a file or member block: a lowercase hex digest (or ``head…tail``, at least
    16 digits) and a positive size."""
    sha = table.get("sha256")
    if sha is not None:
        m = _PIN.fullmatch(sha) if isinstance(sha, str) else None
        if m is None or (m.group(1) is not None and len(m.group(1)) + len(m.group(2)) < 16):
            raise CatalogError(f"{where}: sha256 must be 64 lowercase hex digits (or '<head>…<tail>' with at "
                               f"least 16), found {sha!r}")
    size = table.get("bytes")
    if size is not None:
        size = _size(size, where, "bytes")
    return sha, size


def _keys(table: dict, allowed: set[str], where: str) -> None:
    unknown = sorted(set(table) - allowed)
    if unknown:
        raise CatalogError(f"{where}: unknown key(s) {', '.join(unknown)} (allowed: {', '.join(sorted(allowed))})")


def _member(m: dict, member_max: int, where: str) -> Member:
    _keys(m, _MEMBER_KEYS, where)
    names = _need(m, "names", where)
    if isinstance(names, str):
        names = [names]
    sha, size = _pin(m, where)
    return Member(role=_need(m, "role", where), names=tuple(names), required=bool(m.get("required", False)),
                  sha256=sha, max_bytes=_size(m.get("max_bytes", member_max), where), bytes=size)


def _file(f: dict, member_max: int, download_max: int, where: str) -> SourceFile:
    _keys(f, _FILE_KEYS, where)
    archive = f.get("archive", "none")
    if archive not in ("zip", "none"):
        raise CatalogError(f"{where}: archive must be 'zip' or 'none', found {archive!r}")
    members = [_member(m, member_max, f"{where} members #{k}") for k, m in enumerate(_need(f, "members", where), 1)]
    if archive == "none" and len(members) != 1:
        raise CatalogError(f"{where}: a plain file (archive = 'none') has exactly one member")
    verified = f.get("verified", False)
    if not isinstance(verified, bool):
        raise CatalogError(f"{where}: verified must be true or false, found {verified!r}")
    sha, size = _pin(f, where)
    return SourceFile(url=_need(f, "url", where), archive=archive, members=tuple(members), sha256=sha,
                      max_bytes=_size(f.get("max_bytes", download_max), where), bytes=size, verified=verified,
                      note=str(f.get("note", "")))


def _release(r: dict, name: str, member_max: int, download_max: int, where: str) -> Release:
    rid = str(_need(r, "release", where))
    files = [_file(f, member_max, download_max, f"{where} files #{j}") for j, f in enumerate(_need(r, "files", where), 1)]
    eff_from = _date(_need(r, "effective_from", where), where)
    eff_to = _date(r["effective_to"], where) if "effective_to" in r else None
    if eff_to is not None and eff_to < eff_from:
        raise CatalogError(f"{where}: effective_to {eff_to} is before effective_from {eff_from}")
    return Release(dataset=name, release=rid, label=r.get("label", rid), effective_from=eff_from,
                   effective_to=eff_to, files=tuple(files), notes=r.get("notes", ""),
                   uses={str(k): str(v) for k, v in r.get("uses", {}).items()},
                   attrs={k: v for k, v in r.items() if k not in _RELEASE_KEYS})


def parse_dataset(data: dict, where: str) -> Dataset:
    """Validate one catalog file's parsed TOML and build a :class:`Dataset`."""
    name = _need(data, "dataset", where)
    member_max = _size(data.get("member_max_bytes", DEFAULT_MEMBER_MAX_BYTES), where)
    download_max = _size(data.get("download_max_bytes", DEFAULT_DOWNLOAD_MAX_BYTES), where)
    releases = []
    for i, r in enumerate(data.get("releases", []), 1):
        rel = _release(r, name, member_max, download_max, f"{where} [[releases]] #{i}")
        if any(x.release == rel.release for x in releases):
            raise CatalogError(f"{where} [[releases]] #{i}: release {rel.release!r} listed twice")
        releases.append(rel)
    return Dataset(dataset=name, title=data.get("title", name), publisher=data.get("publisher", ""), releases=tuple(releases))


def load_catalog(folder: str | Path | None = None) -> dict[str, Dataset]:
    """Every dataset of the catalog, by name: the ``catalog.toml`` of each dataset folder (default), or every
    ``<dataset>.toml`` of ``folder`` (default: the folder ``$CODEETL_CATALOG`` names, when set). Each
    release's ``uses`` must name releases that exist in it."""
    folder = folder or os.environ.get(CATALOG_ENV) or None
    if folder is not None and not Path(folder).is_dir():
        raise CatalogError(f"catalog folder {folder} does not exist (it holds one <dataset>.toml per dataset)")
    if folder is None:  # the dataset folders' catalogs, read as data (no import of the datasets layer)
        base = resources.files("codeetl").joinpath("datasets")
        items = [(f"datasets/{d.name}/catalog.toml", d.name, d.joinpath("catalog.toml").read_text(encoding="utf-8"))
                 for d in sorted(base.iterdir(), key=lambda d: d.name) if d.joinpath("catalog.toml").is_file()]
    else:
        items = [(p.name, p.stem, p.read_text(encoding="utf-8")) for p in sorted(Path(folder).glob("*.toml"))]
        if not items:
            raise CatalogError(f"catalog folder {folder} has no <dataset>.toml file")
    out: dict[str, Dataset] = {}
    for where, name, text in items:
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as e:
            raise CatalogError(f"{where}: not valid TOML: {e}") from None
        ds = parse_dataset(data, where)
        if ds.dataset != name:
            raise CatalogError(f"{where}: dataset = {ds.dataset!r} does not match its name {name!r}")
        out[ds.dataset] = ds
    _check_uses(out)
    return out


def _check_uses(catalog: dict[str, Dataset]) -> None:
    """Every ``uses`` of every release names a dataset and release of the catalog."""
    for ds in catalog.values():
        for r in ds.releases:
            for other, rid in r.uses.items():
                if other not in catalog or rid not in {x.release for x in catalog[other].releases}:
                    raise CatalogError(f"{ds.dataset} release {r.release!r} uses {other} release {rid!r}, "
                                       f"which the catalog does not have")
