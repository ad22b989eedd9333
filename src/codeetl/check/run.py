"""Checking a page (or a folder of pages): read -> find claims -> verify, as of the page's date.

The day is the one the page states ("Verified May 8, 2026"), unless ``as_of`` or ``release`` (an
ICD-10-CM release, whose first day is then the day) is given; a page that states no date is checked as of
today, and the report says so.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

from codeetl import clock
from codeetl.check.claims import PageInfo, find_claims
from codeetl.check.facts import CodeEtlError, Facts
from codeetl.check.read import MAX_PAGE_BYTES, Page, UnreadablePage, decode, read_page
from codeetl.check.verify import CONTRADICTED, Context, Verdict, verify_all

PAGE_SUFFIXES = (".txt", ".text", ".md", ".markdown", ".html", ".htm", ".xhtml")


@dataclass
class Report:
    """The verdicts on one page and the day and releases they were checked against."""

    page: str
    info: PageInfo | None
    as_of: dt.date | None
    as_of_from: str
    verdicts: list[Verdict] = field(default_factory=list)
    releases: dict[str, str | None] = field(default_factory=dict)
    error: str | None = None

    @property
    def contradicted(self) -> list[Verdict]:
        """The verdicts that contradict the page."""
        return [v for v in self.verdicts if v.verdict == CONTRADICTED]


def _day(info: PageInfo, facts: Facts, as_of: dt.date | None, release: str | None) -> tuple[dt.date, str]:
    """The day to check against and where it comes from ('--as-of', '--release', 'page', 'today')."""
    if release:
        return facts.icd10_release(clock.today(), release)["effective_from"], f"--release {release}"
    if as_of:
        return as_of, "--as-of"
    if info.date:
        return info.date, f"page: {info.date_text}"
    return clock.today(), "today (the page states no date)"


def _releases(facts: Facts, day: dt.date, release: str | None) -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for name, get in (("icd10cm", lambda: facts.icd10_release(day, release)), ("msdrg", lambda: facts.msdrg(day)),
                      ("pfs", lambda: facts.pfs(day))):
        try:
            out[name] = get()["release"]
        except Exception:  # noqa: BLE001 - a dataset with no release for the day: its claims say why
            out[name] = None
    return out


@dataclass
class Prepared:
    """A page read and its claims found (no warehouse yet), with the day to check it as of."""

    name: str
    info: PageInfo
    claims: list
    day: dt.date
    day_from: str


def prepare(facts: Facts, text: str, name: str = "-", as_of: dt.date | None = None, release: str | None = None,
            code: str | None = None, fmt: str | None = None, page: Page | None = None) -> Prepared:
    """Read a page given as text (`name` gives the format by its extension; `page`: already read) and find
    its claims."""
    page = page or read_page(text, name, fmt)
    info, claims = find_claims(page, code)
    day, source = _day(info, facts, as_of, release)
    return Prepared(name, info, claims, day, source)


def verify_prepared(facts: Facts, p: Prepared, release: str | None = None) -> Report:
    """The report on a prepared page: its claims verified as of its day."""
    ctx = Context(facts=facts, as_of=p.day, release=release, page_code=p.info.code)
    return Report(page=p.name, info=p.info, as_of=p.day, as_of_from=p.day_from, verdicts=verify_all(p.claims, ctx),
                  releases=_releases(facts, p.day, release))


def check_text(facts: Facts, text: str, name: str = "-", as_of: dt.date | None = None,
               release: str | None = None, code: str | None = None, fmt: str | None = None,
               page: Page | None = None) -> Report:
    """The report on one page given as text (`name` gives the format by its extension; `page`: the text
    already read by :func:`~codeetl.check.read.read_page`)."""
    return verify_prepared(facts, prepare(facts, text, name, as_of, release, code, fmt, page), release)


def read_input(path: str) -> tuple[str, str]:
    """(text, name) of a page file, '-' for standard input; UnreadablePage when it is not a text page or is
    larger than MAX_PAGE_BYTES (no more than that is ever read: /dev/zero or an endless pipe stop there)."""
    if path == "-":
        return decode(_read_bounded(sys.stdin.buffer, "-"), "-"), "-"
    try:
        size = Path(path).stat().st_size
        if size > MAX_PAGE_BYTES:  # a regular file says its size: refused unread
            raise UnreadablePage(f"{path}: expected a code page of at most {MAX_PAGE_BYTES:,} bytes; found {size:,} bytes")
        # O_NONBLOCK: a FIFO with no writer opens at once (and reads as empty) instead of waiting for one
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
        with os.fdopen(fd, "rb", buffering=0) as f:
            os.set_blocking(fd, True)
            raw = _read_bounded(f, path)
    except OSError as e:
        raise UnreadablePage(f"{path}: {e.strerror or e}") from None
    return decode(raw, path), path


def _read_bounded(stream, where: str) -> bytes:
    """At most MAX_PAGE_BYTES + 1 bytes of the binary `stream`; UnreadablePage as soon as the first block
    is binary."""
    chunks, size = [], 0
    while size <= MAX_PAGE_BYTES:
        block = stream.read(min(1 << 20, MAX_PAGE_BYTES + 1 - size))
        if not block:
            break
        if not chunks and b"\x00" in block:  # /dev/zero, an image: said at once, not after 20 MB
            decode(block, where)
        chunks.append(block)
        size += len(block)
    return b"".join(chunks)


def check_file(facts: Facts, path: str, **kw) -> Report:
    """The report on a page file ('-' reads standard input); UnreadablePage when it is not a text page."""
    text, name = read_input(path)
    return check_text(facts, text, name, **kw)


def page_files(folder: Path) -> list[Path]:
    """The pages of a folder (and its subfolders), by name: .txt, .md, .html and the like."""
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in PAGE_SUFFIXES)


def check_folder(facts: Facts, folder: Path, as_of: dt.date | None = None, release: str | None = None,
                 code: str | None = None) -> list[Report]:
    """One report per page of `folder`, in name order; a page that cannot be read gets a report with its
    error. Pages are read first, then the code pages of every page's code are read at once per day."""
    prepared: list[Prepared | Report] = []
    for p in page_files(folder):
        try:
            text, name = read_input(str(p))
            prepared.append(prepare(facts, text, name, as_of, release, code))
        except UnreadablePage as e:
            prepared.append(Report(page=str(p), info=None, as_of=None, as_of_from="", error=str(e)))
    _prefetch(facts, [p for p in prepared if isinstance(p, Prepared)], release)
    return [verify_prepared(facts, p, release) if isinstance(p, Prepared) else p for p in prepared]


_ICD10_SHAPE = re.compile(r"^[A-Z][0-9][0-9A-Z](?:\.[0-9A-Z]{1,4})?$")
_PROCEDURE_KINDS = ("fee", "fee_missing", "procedure_descriptor")


def _prefetch(facts: Facts, prepared: list[Prepared], release: str | None) -> None:
    """Read, per day, the code pages of every page's code and the rows every claim will ask about, at once."""
    by_day: dict[dt.date, tuple[set[str], set[str], set[str]]] = {}
    for p in prepared:
        pages, codes, hcpcs = by_day.setdefault(p.day, (set(), set(), set()))
        if p.info.code:
            pages.add(p.info.code)
        for c in p.claims:
            if c.kind in _PROCEDURE_KINDS:
                hcpcs.add(c.subject)
            codes |= {x for x in (c.subject, c.value) if isinstance(x, str) and _ICD10_SHAPE.match(x)}
    for day, (pages, codes, hcpcs) in by_day.items():
        try:
            facts.prefetch_pages(sorted(pages), day, release)
            facts.prefetch(sorted(codes | pages), sorted(hcpcs), day, release)
        except CodeEtlError:
            pass  # no release for the day: each page's claims say so
