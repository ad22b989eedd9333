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
      sha256 = "..."                    # optional: of the download; a mismatch is an error

        [[releases.files.members]]      # what the parser needs from that download
        role = "tabular"                # the parser's name for the input
        names = ["icd10cm_tabular_2026.xml", "icd10cm-tabular-April-1-2026.xml"]
        required = false                # a release loads when at least one member is found
        sha256 = "..."                  # optional: of the member's bytes
        max_bytes = 40_000_000          # optional: ceiling of the member's size (default: the dataset's)

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
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from codeetl.codes import iso_date
from codeetl.errors import CatalogError


DEFAULT_MEMBER_MAX_BYTES = 64_000_000  # 3.5x the largest real member (IPPS Table 6K, 17 MB)
DEFAULT_DOWNLOAD_MAX_BYTES = 512_000_000  # a whole published zip (the MS-DRG manual zip is the largest)


@dataclass(frozen=True)
class Member:
    role: str
    names: tuple[str, ...]
    required: bool = False
    sha256: str | None = None
    max_bytes: int | None = None  # ceiling of the extracted size; None: the download's


@dataclass(frozen=True)
class SourceFile:
    url: str
    archive: str  # "zip" | "none"
    members: tuple[Member, ...]
    sha256: str | None = None
    max_bytes: int = DEFAULT_DOWNLOAD_MAX_BYTES  # ceiling of the download's size

    @property
    def url_name(self) -> str:
        """The last path segment of the URL (the download's file name)."""
        return self.url.rstrip("/").rsplit("/", 1)[-1]


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


def _size(value, where: str) -> int:
    """A size ceiling in bytes: a positive integer."""
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise CatalogError(f"{where}: a max_bytes must be a positive number of bytes, found {value!r}")
    return value


def _need(table: dict, key: str, where: str):
    if key not in table:
        raise CatalogError(f"{where}: missing key {key!r}")
    return table[key]


def parse_dataset(data: dict, where: str) -> Dataset:
    """Validate one catalog file's parsed TOML and build a :class:`Dataset`."""
    name = _need(data, "dataset", where)
    member_max = _size(data.get("member_max_bytes", DEFAULT_MEMBER_MAX_BYTES), where)
    download_max = _size(data.get("download_max_bytes", DEFAULT_DOWNLOAD_MAX_BYTES), where)
    releases = []
    seen: set[str] = set()
    for i, r in enumerate(data.get("releases", []), 1):
        rw = f"{where} [[releases]] #{i}"
        rid = str(_need(r, "release", rw))
        if rid in seen:
            raise CatalogError(f"{rw}: release {rid!r} listed twice")
        seen.add(rid)
        files = []
        for j, f in enumerate(_need(r, "files", rw), 1):
            fw = f"{rw} files #{j}"
            archive = f.get("archive", "none")
            if archive not in ("zip", "none"):
                raise CatalogError(f"{fw}: archive must be 'zip' or 'none', found {archive!r}")
            members = []
            for k, m in enumerate(_need(f, "members", fw), 1):
                mw = f"{fw} members #{k}"
                names = _need(m, "names", mw)
                if isinstance(names, str):
                    names = [names]
                members.append(
                    Member(
                        role=_need(m, "role", mw),
                        names=tuple(names),
                        required=bool(m.get("required", False)),
                        sha256=m.get("sha256"),
                        max_bytes=_size(m.get("max_bytes", member_max), mw),
                    )
                )
            if archive == "none" and len(members) != 1:
                raise CatalogError(f"{fw}: a plain file (archive = 'none') has exactly one member")
            files.append(SourceFile(url=_need(f, "url", fw), archive=archive, members=tuple(members), sha256=f.get("sha256"),
                                    max_bytes=_size(f.get("max_bytes", download_max), fw)))
        eff_from = _date(_need(r, "effective_from", rw), rw)
        eff_to = _date(r["effective_to"], rw) if "effective_to" in r else None
        if eff_to is not None and eff_to < eff_from:
            raise CatalogError(f"{rw}: effective_to {eff_to} is before effective_from {eff_from}")
        releases.append(
            Release(
                dataset=name,
                release=rid,
                label=r.get("label", rid),
                effective_from=eff_from,
                effective_to=eff_to,
                files=tuple(files),
                notes=r.get("notes", ""),
                uses={str(k): str(v) for k, v in r.get("uses", {}).items()},
                attrs={k: v for k, v in r.items() if k not in _RELEASE_KEYS},
            )
        )
    return Dataset(dataset=name, title=data.get("title", name), publisher=data.get("publisher", ""), releases=tuple(releases))


def load_catalog(folder: str | Path | None = None) -> dict[str, Dataset]:
    """Every dataset of the catalog, by name: the ``catalog.toml`` of each dataset folder (default), or every
    ``<dataset>.toml`` of ``folder``. Each release's ``uses`` must name releases that exist in it."""
    if folder is None:  # the dataset folders' catalogs, read as data (no import of the datasets layer)
        base = resources.files("codeetl").joinpath("datasets")
        items = [(f"datasets/{d.name}/catalog.toml", d.name, d.joinpath("catalog.toml").read_text(encoding="utf-8"))
                 for d in sorted(base.iterdir(), key=lambda d: d.name) if d.joinpath("catalog.toml").is_file()]
    else:
        items = [(p.name, p.stem, p.read_text(encoding="utf-8")) for p in sorted(Path(folder).glob("*.toml"))]
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
