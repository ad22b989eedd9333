"""Checking a page (or a folder of pages): read -> find claims -> verify, as of the page's date.

The day is the one the page states ("Verified May 8, 2026"), unless ``as_of`` or ``release`` (an
ICD-10-CM release, whose first day is then the day) is given; a page that states no date is checked as of
today, and the report says so.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

from codeetl.check.claims import PageInfo, find_claims
from codeetl.check.facts import Facts
from codeetl.check.read import UnreadablePage, decode, read_page
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
        return facts.icd10_release(dt.date.today(), release)["effective_from"], f"--release {release}"
    if as_of:
        return as_of, "--as-of"
    if info.date:
        return info.date, f"page: {info.date_text}"
    return dt.date.today(), "today (the page states no date)"


def _releases(facts: Facts, day: dt.date, release: str | None) -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for name, get in (("icd10cm", lambda: facts.icd10_release(day, release)), ("msdrg", lambda: facts.msdrg(day)),
                      ("pfs", lambda: facts.pfs(day))):
        try:
            out[name] = get()["release"]
        except Exception:  # noqa: BLE001 - a dataset with no release for the day: its claims say why
            out[name] = None
    return out


def check_text(facts: Facts, text: str, name: str = "-", as_of: dt.date | None = None,
               release: str | None = None, code: str | None = None, fmt: str | None = None) -> Report:
    """The report on one page given as text (`name` gives the format by its extension)."""
    page = read_page(text, name, fmt)
    info, claims = find_claims(page, code)
    day, source = _day(info, facts, as_of, release)
    ctx = Context(facts=facts, as_of=day, release=release, page_code=info.code)
    return Report(page=name, info=info, as_of=day, as_of_from=source, verdicts=verify_all(claims, ctx),
                  releases=_releases(facts, day, release))


def check_file(facts: Facts, path: str, **kw) -> Report:
    """The report on a page file ('-' reads standard input); UnreadablePage when it is not a text page."""
    import sys

    if path == "-":
        raw, name = sys.stdin.buffer.read(), "-"
    else:
        p = Path(path)
        try:
            raw = p.read_bytes()
        except OSError as e:
            raise UnreadablePage(f"{path}: {e.strerror or e}") from None
        name = str(p)
    return check_text(facts, decode(raw, name), name, **kw)


def page_files(folder: Path) -> list[Path]:
    """The pages of a folder (and its subfolders), by name: .txt, .md, .html and the like."""
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in PAGE_SUFFIXES)


def check_folder(facts: Facts, folder: Path, **kw) -> list[Report]:
    """One report per page of `folder`; a page that cannot be read gets a report with its error."""
    out = []
    for p in page_files(folder):
        try:
            out.append(check_file(facts, str(p), **kw))
        except UnreadablePage as e:
            out.append(Report(page=str(p), info=None, as_of=None, as_of_from="", error=str(e)))
    return out
