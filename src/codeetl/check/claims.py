"""Finding the checkable claims of a page, by what they say.

Each finder is a small function that recognises one kind of claim in a sentence (or a line, or a table
row): a code's status, description, chapter, category, siblings, instructional notes, 7th characters,
ICD-9-CM equivalents, MS-DRGs, fees. A claim is attributed to the code it is said of: the nearest code
before it in the same sentence, else the page's own code. Questions are not claims; editorial prose is a
claim only where it names a code, a number or a relation the warehouse holds.

Pure functions over a :class:`~codeetl.check.read.Page`; no warehouse. Whether a claim is right is
decided in :mod:`codeetl.check.verify`.
"""

from __future__ import annotations

import bisect
import datetime as dt
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from codeetl.check.mentions import Mention, icd10_mentions, stated_date
from codeetl.check.read import Line, Page, sentences


@dataclass
class Claim:
    """One thing a page states. `kind` says what (see KINDS), `subject` about which code, `value` what
    the page says; `tentative` claims may turn out, against the warehouse, to be no claim at all."""

    kind: str
    text: str
    line: int
    section: str
    subject: str | None
    value: Any = None
    extra: dict = field(default_factory=dict)
    tentative: bool = False


KINDS = {
    "validity": "the page's code is a code on the page's date",
    "billable": "a code is billable (valid for claims), or is a header",
    "status_since": "since when a code is a header (or was replaced)",
    "existence": "a code or category exists",
    "description": "a code's description",
    "chapter": "the chapter number of a code",
    "chapter_title": "the chapter's title",
    "category": "the category (or subcategory) a code belongs to",
    "sibling": "a code listed as a sibling of the page's code",
    "note": "an instructional note (Excludes1/2, Includes, Code first, Use additional code, Code also)",
    "seventh_required": "whether a code needs a 7th character",
    "seventh_character": "a 7th character and its meaning",
    "icd9": "an ICD-9-CM code equivalent to the code (GEMs)",
    "icd9_set": "the ICD-9-CM equivalents as a range",
    "icd9_description": "an ICD-9-CM code's meaning",
    "icd9_approximate": "whether the ICD-9-CM equivalence is approximate",
    "drg_version": "the MS-DRG version",
    "drg": "an MS-DRG the code groups to",
    "drg_title": "an MS-DRG's title",
    "drg_weight": "an MS-DRG's relative weight",
    "mdc": "the Major Diagnostic Category",
    "fee": "a CPT/HCPCS national Medicare fee",
    "fee_missing": "a procedure listed without a fee",
    "procedure_descriptor": "a procedure's descriptor",
    "procedure_count": "the number of related procedures",
}


@dataclass
class PageInfo:
    """What a page says about itself: its code and its date (each with the line it is on)."""

    code: str | None
    code_line: int | None
    date: dt.date | None
    date_text: str | None
    date_line: int | None
    title: str | None


@dataclass
class Sentence:
    """A sentence of a line, with the ICD-10-CM codes in it and the line's context."""

    text: str
    ln: Line
    flags: frozenset[str]
    mentions: list[Mention]
    page_code: str | None
    start: int = 0  # where the sentence starts in the line's text

    def claim(self, kind: str, text: str, subject: str | None, value: Any = None, **kw) -> Claim:
        """A claim read from this sentence, at the source line of `pos` (a position in the sentence: where
        the claimed value is), else of the claim's words."""
        at = kw.pop("pos", None)
        if at is None:
            at = max(self.text.find(text.strip()[:40]), 0)
        line = self.ln.line_at(self.start + at)
        return Claim(kind=kind, text=_short(text), line=line, section=self.ln.section, subject=subject,
                     value=value, extra=kw.pop("extra", {}), tentative=kw.pop("tentative", False))

    def subject_before(self, pos: int, skip: str | None = None) -> str | None:
        """The code a statement at `pos` is about: the nearest specific code before it, else the page's code."""
        k = bisect.bisect_right(self.mentions, pos, key=lambda m: m.end)  # mentions are in order, none overlap
        while k > 0:
            k -= 1
            m = self.mentions[k]
            if m.form != "range" and m.code != skip:
                return m.code
        return self.page_code


def _short(text: str, width: int = 160) -> str:
    t = text.strip()
    return t if len(t) <= width else t[: width - 1].rstrip() + "…"


def snippet(text: str, start: int, end: int, width: int = 50) -> str:
    """The words around text[start:end], at most `width` characters either side, cut at spaces."""
    a = max(0, start - width)
    b = min(len(text), end + width)
    if a > 0:
        a = text.find(" ", a) + 1 or a
    if b < len(text):
        b = text.rfind(" ", end, b) if text.rfind(" ", end, b) > end else b
    return text[a:b].strip(" ,;—–-")


# --------------------------------------------------------------------------------------- page itself


def page_info(page: Page, code: str | None = None) -> PageInfo:
    """The page's code (`code`, else the first code in a heading or the title, else the code it names most)
    and the date it states ('Verified May 8, 2026'; the strongest key word wins: verified, reviewed,
    updated, as of, effective, published)."""
    found_code, code_line = code, None
    heads = [ln for ln in page.lines if ln.heading]
    for form in ("code", "category"):  # a 3-character code (I10, D71) heads its page too
        for ln in heads:
            ms = [m for m in icd10_mentions(ln.text) if m.form == form]
            if ms and found_code is None:
                found_code, code_line = ms[0].code, ln.no
    if found_code is None:
        count = Counter(m.code for ln in page.lines for m in icd10_mentions(ln.text) if m.form == "code")
        found_code = count.most_common(1)[0][0] if count else None
    if found_code and code_line is None:
        code_line = next((ln.no for ln in page.lines if found_code in ln.text), None)
    best = None
    for ln in page.lines:
        sd = stated_date(ln.text)
        if sd and (best is None or sd[0] < best[0]):
            best = (sd[0], sd[1], sd[2], ln.no)
    if best is None:
        meta = next((v for k, v in page.meta.items() if "modified" in k or k in ("date", "time")), None)
        if meta and re.match(r"\d{4}-\d{2}-\d{2}", meta):
            best = (9, dt.date.fromisoformat(meta[:10]), meta, None)
    return PageInfo(code=found_code, code_line=code_line, date=best[1] if best else None,
                    date_text=best[2] if best else None, date_line=best[3] if best else None, title=page.title)


# ------------------------------------------------------------------------------------------- context

SECTION_FLAGS = [
    ("procedures", re.compile(r"\b(cpt|hcpcs|procedures?|fees?|payments?|reimbursement|rvus?|pricing)\b", re.I)),
    ("icd9", re.compile(r"icd-?9|crosswalk|\bgems?\b|legacy|equivalen", re.I)),
    ("drg", re.compile(r"\bdrgs?\b|ms-drg|grouping|grouper", re.I)),
    ("siblings", re.compile(r"sibling|other codes in|codes in (?:this|the same)|same (?:sub)?category", re.I)),
    ("seventh", re.compile(r"7th|seventh", re.I)),
]
NOTE_RE = re.compile(
    r"\b(excludes\s?-?\s?(?:1|one|2|two)|type [12] excludes|Includes\b|inclusion terms?|code first|"
    r"use additional(?: code)?|code also)(?=\W|$)", re.I)
NOTE_TYPES = [("excludes\\s?-?\\s?(?:1|one)|type 1", "excludes1"), ("excludes\\s?-?\\s?(?:2|two)|type 2", "excludes2"),
              ("includes", "includes"), ("inclusion", "inclusionTerm"), ("code first", "codeFirst"),
              ("use additional", "useAdditionalCode"), ("code also", "codeAlso")]


def note_type(keyword: str) -> str:
    """'Excludes2' / 'excludes 2' -> 'excludes2'; 'Use additional code' -> 'useAdditionalCode'."""
    k = keyword.lower()
    return next(t for pat, t in NOTE_TYPES if re.match(pat, k))


def line_flags(ln: Line, carried_note: str | None) -> frozenset[str]:
    """What the section heading and table header say the line is about ('procedures', 'icd9', 'drg',
    'siblings', 'seventh', 'note:<type>')."""
    where = " ".join([ln.section, *ln.header])
    flags = {name for name, rx in SECTION_FLAGS if rx.search(where)}
    m = NOTE_RE.search(ln.section)
    if m:
        flags.add("note:" + note_type(m.group(1)))
    elif carried_note:
        flags.add("note:" + carried_note)
    return frozenset(flags)


def _note_heading(ln: Line) -> str | None:
    """The note type of a line that only names one ('Excludes2:'), which the list below it belongs to."""
    m = re.fullmatch(r"\s*(" + NOTE_RE.pattern + r")\s*(?:notes?)?\s*:?\s*", ln.text, re.I)
    return note_type(m.group(2)) if m else None


def find_claims(page: Page, code: str | None = None) -> tuple[PageInfo, list[Claim]]:
    """Every checkable claim of `page` (about `code`, default the page's own code), in page order."""
    from codeetl.check import finders

    info = page_info(page, code)
    claims: list[Claim] = []
    if info.code:
        claims.append(Claim("validity", info.code, info.code_line or 1, _section_of(page, info.code_line),
                            info.code, info.date.isoformat() if info.date else None))
    carried: str | None = None
    with_fees = finders.fee_sections(page)
    for i, ln in enumerate(page.lines):
        head = _note_heading(ln)
        if head:
            carried = head
            continue
        if carried and not (ln.item or ln.cells or ln.adjacent) or ln.heading:
            carried = None
        flags = line_flags(ln, carried)
        claims += finders.line_claims(page, i, flags, info.code, with_fees)
        for start, text in [(0, _row_text(ln))] if ln.cells else sentences(ln.text):
            if text.rstrip().endswith("?"):
                continue
            s = Sentence(text, ln, flags, icd10_mentions(text, info.code), info.code, start)
            claims += finders.sentence_claims(s)
    return info, _dedupe(claims)


def _row_text(ln: Line) -> str:
    """A table row as a sentence: a two-column row of a 'Field | Value' table reads 'Field: Value'."""
    generic = not ln.header or re.match(r"(?i)^(field|item|fact|attribute|property|key|label)$", ln.header[0].strip())
    if len(ln.cells) == 2 and generic:
        return f"{ln.cells[0]}: {ln.cells[1]}"
    return ln.text


def _section_of(page: Page, line: int | None) -> str:
    return next((ln.section for ln in page.lines if ln.no == line), "")


def _dedupe(claims: list[Claim]) -> list[Claim]:
    seen, out = set(), []
    for c in claims:
        key = (c.kind, c.line, c.subject, repr(c.value))
        if key not in seen:
            seen.add(key)
            out.append(c)
    return out
