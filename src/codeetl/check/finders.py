"""The claim finders: one small function per kind of claim, each recognising it by what it says.

``sentence_claims`` runs the sentence finders (status, chapter, category, siblings, descriptions, notes,
7th characters, ICD-9-CM, MS-DRG) and then the claims a code makes by being named at all (a specific code
named as one to use is claimed to be billable; a category named is claimed to exist).
``line_claims`` runs the finders that need the whole line or its neighbours (procedures and fees,
7th-character tables, counts). Pure functions; no warehouse.
"""

from __future__ import annotations

import re

from codeetl.check.claims import NOTE_RE, Claim, Sentence, note_type, snippet
from codeetl.check.mentions import (
    CUE_WINDOW,
    DRG_NUMBER,
    HCPCS_RE,
    drg_numbers,
    icd9_mentions,
    icd10_mentions,
    money,
)
from codeetl.check.read import Line, Page

# ------------------------------------------------------------------------------------ labels and cells


def label_values(s: Sentence) -> list[tuple[str, str]]:
    """(label, value) pairs a sentence states: 'Status: Billable', a two-cell table row, or each cell of a
    row under its column header."""
    ln = s.ln
    if ln.cells and s.text == ln.text:
        if ln.header and len(ln.header) == len(ln.cells) and not _generic_header(ln.header):
            return [(h, c) for h, c in zip(ln.header, ln.cells) if c]
        if len(ln.cells) == 2:
            return [(ln.cells[0], ln.cells[1])]
        return []
    m = re.match(r"^\s*([A-Za-z][A-Za-z0-9 ?/()'-]{0,30}?)\s*:\s*(.+)$", s.text)
    return [(m.group(1), m.group(2))] if m else []


def _generic_header(header: tuple[str, ...]) -> bool:
    """A 'Field | Value' header: its rows are label/value pairs, not records."""
    return len(header) == 2 and bool(re.match(r"(?i)^(field|item|fact|attribute|property|key|label)$", header[0].strip()))


def row_code(s: Sentence) -> str | None:
    """The ICD-10-CM code a table row is about (a cell that is exactly a code), if any."""
    for c in s.ln.cells:
        ms = icd10_mentions(c.strip(), s.page_code)
        if len(ms) == 1 and ms[0].form == "code" and c.strip() == ms[0].code:
            return ms[0].code
    return None


def _in_note_context(s: Sentence) -> bool:
    return bool(NOTE_RE.search(s.text)) or any(f.startswith("note:") for f in s.flags)


# ---------------------------------------------------------------------------------- billable / header

STATUS_FALSE_RE = re.compile(
    r"\b(non-?billable|not (?:a )?billable|n't (?:a )?billable|no longer (?:a )?(?:billable|valid)|not (?:a )?valid|"
    r"invalid|header|non-?specific|not reportable|unbillable)\b", re.I)
STATUS_TRUE_RE = re.compile(r"\b(billable|valid|specific|reportable)\b", re.I)
STATUS_LABEL_RE = re.compile(r"^(?:(?:code |billing |billable |claim )?status|billable(?: code)?\??|valid(?:ity)?(?: for "
                             r"(?:claims|submission|billing))?\??|hipaa(?: valid)?|code type|type)$", re.I)
STATUS_BADGE_RE = re.compile(r"^(?:billable|non-?billable|not billable|header|valid|billable(?:/specific)? code)\W*$", re.I)


def parse_status(value: str, yes_no: bool = False) -> bool | None:
    """'Billable' -> True, 'Non-billable' / 'Header' -> False, 'Yes'/'No' when `yes_no`; else None."""
    v = value.strip().lower()
    if STATUS_FALSE_RE.search(v):
        return False
    if STATUS_TRUE_RE.search(v):
        return True
    if yes_no and re.match(r"^(yes|y|true|✓|✔)\b", v):
        return True
    if yes_no and re.match(r"^(no|n|false|✗|✘)\b", v):
        return False
    return None


def status_claims(s: Sentence) -> list[Claim]:
    """'Status: Billable', a lone 'Billable' badge, 'M54.5 is not billable', a row's 'Billable' cell."""
    out = []
    for label, value in label_values(s):
        if STATUS_LABEL_RE.match(label.strip()):
            v = parse_status(value, yes_no=True)
            inside = [m for m in icd10_mentions(value, s.page_code) if m.form == "code"]
            subject = row_code(s) or (inside[0].code if inside else s.page_code)
            if v is not None:
                out.append(s.claim("billable", f"{label}: {value}", subject, v, extra={"stated": True}))
    if not out and STATUS_BADGE_RE.match(s.text.strip()):
        out.append(s.claim("billable", s.text, s.page_code, parse_status(s.text), extra={"stated": True}))
    for m in s.mentions:
        after = re.match(r"\s+(?:is|remains|isn't|=)\s+(?:(?:not|no longer|a|an|now|still|currently|considered)\s+){0,3}"
                         r"(?:billable|non-?billable|valid|invalid|header|a header|category)\b", s.text[m.end:])
        if m.form != "range" and after:
            phrase = s.text[m.start: m.end + after.end()]
            out.append(s.claim("billable", phrase, m.code, parse_status(phrase[len(m.code):]), extra={"stated": True},
                               pos=m.start))
    return out


SINCE_RE = re.compile(r"\b(?:since|as of|effective|from|on)\s+", re.I)


def since_claims(s: Sentence) -> list[Claim]:
    """'M54.5 is a header, not a billable code, since October 1, 2021': when a code's status changed."""
    from codeetl.check.mentions import parse_date

    out = []
    for m in s.mentions:
        after = s.text[m.end: m.end + 120]
        if m.form == "range" or not re.search(r"header|not (?:a )?billable|non-?billable|replaced|expanded|deleted|"
                                              r"invalid|no longer", after[:60], re.I):
            continue
        k = SINCE_RE.search(after)
        d = parse_date(after[k.end():]) if k else None
        if d and d[1] == 0:
            out.append(s.claim("status_since", s.text[m.start: m.end + k.end() + d[2]], m.code, d[0].isoformat()))
    return out


# ------------------------------------------------------------------------------- chapter and category

CHAPTER_RE = re.compile(r"\bchapter\s*:?\s*(\d{1,2}|[IVXL]{1,5})\b", re.I)
IN_CHAPTER_RE = re.compile(r"\b(?:is|are|sits|falls|belongs|located|found|classified|appears|listed|grouped|lives)\b"
                           r"[^.;]{0,25}\b(?:in|within|under|to)\s+(?:the\s+)?(?:icd-10-cm\s+)?$", re.I)
ROMAN = {"I": 1, "V": 5, "X": 10, "L": 50}


def _roman(text: str) -> int | None:
    if text.isdigit():
        return int(text)
    vals = [ROMAN.get(ch) for ch in text.upper()]
    if None in vals:
        return None
    return sum(-v if i + 1 < len(vals) and v < vals[i + 1] else v for i, v in enumerate(vals))


def chapter_claims(s: Sentence) -> list[Claim]:
    """'Chapter: 13', 'Chapter 4 — Endocrine, nutritional and metabolic diseases', 'M96.1 is in Chapter 13',
    breadcrumbs 'ICD-10-CM › Chapter 13 › M96'. Not 'use a code from Chapter 20' (another chapter)."""
    out = []
    for m in CHAPTER_RE.finditer(s.text):
        before = s.text[max(0, m.start() - CUE_WINDOW): m.start()]
        stated = (not before.strip() or before.rstrip()[-1:] in "›>»/·|:" or IN_CHAPTER_RE.search(before)
                  or any(lab.strip().lower() == "chapter" for lab, _ in label_values(s)))
        number = _roman(m.group(1))
        if not stated or NOTE_RE.search(s.text) or number is None:
            continue
        subject = s.subject_before(m.start())
        out.append(s.claim("chapter", m.group(0), subject, number))
        title = _chapter_title(s.text[m.end():])
        if title:
            out.append(s.claim("chapter_title", title, subject, title, extra={"chapter": number}))
    return out


def _chapter_title(rest: str) -> str | None:
    r = re.sub(r"^\s*[:\-–—.,]?\s*(?:\([A-Z]\d\d\s*[-–]\s*[A-Z]\d[0-9A-Z]\)\s*[:\-–—]?\s*)?", "", rest)
    r = re.split(r"\s*(?:\(|\||›|»|>|·|;|\s[—–-]\s|\.\s|\.$)", r)[0].strip()
    if len(r.split()) >= 2 and r[:1].isupper() and not re.match(r"^(?:of|in|and|the|which)\b", r, re.I):
        return r
    return None


CATEGORY_RE = re.compile(r"\b(sub)?category\s*:?\s*([A-Z]\d[0-9A-Z](?:\.[0-9A-Z]{1,3})?)(?![\w.])", re.I)
PARENT_RE = re.compile(r"\b(?:(?i:parent)(?: (?i:code))?|under|codes in)\s*:?\s*([A-Z]\d[0-9A-Z](?:\.[0-9A-Z]{1,3})?)(?![\w.])")


def category_claims(s: Sentence) -> list[Claim]:
    """'M96.1 sits within category M96', 'Category: E11', 'Parent code: E11.6'; in a sibling list, 'codes
    under M96'. (A category named in a note is a note claim instead.)"""
    if _in_note_context(s):
        return []
    out = []
    for m in CATEGORY_RE.finditer(s.text):
        code = m.group(2).upper()
        out.append(s.claim("category", m.group(0), s.subject_before(m.start(), skip=code), code,
                           extra={"sub": bool(m.group(1))}))
    for m in PARENT_RE.finditer(s.text):
        if "siblings" in s.flags or m.group(0).lower().startswith("parent"):
            out.append(s.claim("category", m.group(0), s.page_code, m.group(1), extra={"sub": "." in m.group(1)}))
    return out


def sibling_claims(s: Sentence) -> list[Claim]:
    """Codes listed in a section about the code's siblings (other codes of its category)."""
    if "siblings" not in s.flags:
        return []
    return [s.claim("sibling", snippet(s.text, m.start, m.end, 30), s.page_code, m.code, pos=m.start)
            for m in s.mentions if m.form == "code" and m.code != s.page_code]


# ------------------------------------------------------------------------------------- descriptions

_NOT_DESC_RE = re.compile(r"^(?:e\.g\.|i\.e\.|see\b|code|codes\b|excludes|includes|icd|cpt|hcpcs|drg|ms-drg|\d|\$)", re.I)


def description_claims(s: Sentence) -> list[Claim]:
    """A description next to a code: 'M54.5 (Low back pain)', 'nonspecific low back pain (M54.5)',
    'E11.65 — Type 2 diabetes mellitus with hyperglycemia', a table row's description cell; and, tentatively,
    a sentence that ties a code to words ('that structural deformity gets M96.3')."""
    if _in_note_context(s):
        return []
    out = _table_descriptions(s)
    described = {c.subject for c in out}
    for m in (m for m in s.mentions if m.form != "range" and m.code not in described):
        c = _paren_after(s, m) or _paren_around(s, m) or _dash_after(s, m)
        if c:
            out.append(c)
            described.add(m.code)
    for m in s.mentions:
        if m.form == "code" and m.code != s.page_code and m.code not in described:
            out.append(s.claim("description", s.text, m.code, s.text, extra={"mode": "sentence"}, tentative=True,
                               pos=m.start))
            described.add(m.code)
    return out


def _paren_after(s: Sentence, m) -> Claim | None:
    p = re.match(r"\s*\(([^()]{2,160})\)", s.text[m.end:])
    if not p or _NOT_DESC_RE.match(p.group(1).strip()) or icd10_mentions(p.group(1)):
        return None
    return s.claim("description", s.text[m.start: m.end + p.end()], m.code, p.group(1).strip(),
                   extra={"mode": "exact"}, tentative=True, pos=m.start)


def _paren_around(s: Sentence, m) -> Claim | None:
    before, after = s.text[max(0, m.start - 400): m.start], s.text[m.end: m.end + CUE_WINDOW]  # descriptions are shorter
    if not (before.rstrip().endswith("(") and after.lstrip().startswith(")")):
        return None
    head = before.rstrip()[:-1]
    phrase = re.split(r"[,;:(—–]|\s-\s|\.\s", head)[-1].strip()
    if len(phrase.split()) < 1 or _NOT_DESC_RE.match(phrase) or re.search(r"\b(codes?|category)$", phrase, re.I):
        return None
    return s.claim("description", f"{phrase} ({m.code})", m.code, phrase, extra={"mode": "before"}, tentative=True,
                   pos=m.start)


def _dash_after(s: Sentence, m) -> Claim | None:
    """'E11.65 — Type 2 ...' at the start of a line, a label's value or an item of a list ('...; M96.2
    Postradiation kyphosis; M96.3 ...')."""
    lead = s.text[max(0, m.start - CUE_WINDOW): m.start]  # a label before the code is short
    if lead.strip() and not (m.start <= CUE_WINDOW and re.fullmatch(r"\s*[\w ]{1,24}:\s*", lead)) and not re.search(r"[;,]\s*$", lead):
        return None
    p = re.match(r"\s*(?:(?:[—–:|]|\s-\s|-)\s*([A-Za-z][^|]{2,160}?)|\s+([A-Z][a-z][^|;]{2,160}?))\s*"
                 r"(?:$|(?=;|,\s*[A-Z]\d[0-9A-Z]))", s.text[m.end:])
    if not p:
        return None
    desc = (p.group(1) or p.group(2)).rstrip(". ")
    return s.claim("description", s.text[m.start: m.end + p.end()].strip(), m.code, desc,
                   extra={"mode": "exact"}, tentative=not s.ln.heading, pos=m.start)


def _table_descriptions(s: Sentence) -> list[Claim]:
    code = row_code(s)
    if not code or s.text != s.ln.text:
        return []
    cells = [c for c in s.ln.cells if c.strip() and c.strip() != code]
    head = dict(zip(s.ln.cells, s.ln.header)) if s.ln.header else {}
    named = [c for c in cells if re.search(r"(?i)descr|title|name|meaning", head.get(c, ""))]
    wordy = [c for c in cells if len(re.findall(r"[A-Za-z]{2,}", c)) >= 2 and parse_status(c) is None]
    desc = (named or wordy or [None])[0]
    if not desc:
        return []
    return [s.claim("description", f"{code} | {desc}", code, desc, extra={"mode": "exact"})]


# ------------------------------------------------------------------------------------------- notes


def note_claims(s: Sentence) -> list[Claim]:
    """Instructional notes: 'the M96 Excludes2 list: ... (T84.-), ... (M80)', 'Excludes1: type 1 diabetes
    mellitus (E10.-)', or items under an 'Excludes2:' heading. Each referenced code is one claim."""
    kws = [(k.start(), k.end(), note_type(k.group(1))) for k in NOTE_RE.finditer(s.text)]
    carried = next((f[5:] for f in s.flags if f.startswith("note:")), None)
    if not kws and not carried:
        return []
    node = None
    if kws:
        near = [m for m in s.mentions if m.end <= kws[0][0] and kws[0][0] - m.end <= 12]
        node = near[-1].code if near else None
    out = []
    for m in s.mentions:
        if m.code == node:
            continue
        prior = [k for k in kws if k[1] <= m.start]
        kind = prior[-1][2] if prior else (carried or (kws[0][2] if kws else None))
        if kind is None:
            continue
        clause = re.split(r"[,;:]\s+|\s—\s|\band\b", s.text[(prior[-1][1] if prior else 0): m.start])[-1]
        clause = clause.strip().rstrip("(").strip()
        out.append(s.claim("note", f"{clause} ({s.text[m.start:m.end]})" if clause else s.text[m.start:m.end],
                           node or s.page_code, {"type": kind, "code": m.code}, extra={"phrase": clause}, pos=m.start))
    return out


# ---------------------------------------------------------------------------------- 7th characters

SEVENTH = r"(?:7th|seventh)[- ]?(?:character|char\.?|digit)"
SEVENTH_NO_RE = re.compile(r"\b(?:no|without|doesn't|does not|not|never|n't)\b[^.;]{0,40}?" + SEVENTH + r"|"
                           + SEVENTH + r"[^.;]{0,30}?\b(?:not required|not needed|not applicable|n/a|none)\b", re.I)
SEVENTH_YES_RE = re.compile(r"\b(?:requires?|required|needs?|must (?:have|use|add|carry)|takes?)\b[^.;]{0,30}?" + SEVENTH
                            + r"|" + SEVENTH + r"[^.;]{0,25}?\b(?:is |are )?(?:required|mandatory)\b", re.I)
SEVENTH_CHAR_RE = re.compile(SEVENTH + r"\s+[\"'“]?([A-Z0-9])[\"'”]?\s*(?:\(|=|:|–|—|-|means|for|indicates)\s*([a-z][^.;)]{3,120})")


def seventh_claims(s: Sentence) -> list[Claim]:
    """'has no 7th character', 'requires a 7th character', '7th character A (initial encounter ...)'."""
    out = []
    no = SEVENTH_NO_RE.search(s.text)
    yes = None if no else SEVENTH_YES_RE.search(s.text)
    for m, value in ((no, False), (yes, True)):
        if m:
            out.append(s.claim("seventh_required", m.group(0), s.subject_before(m.start()), value))
    for m in SEVENTH_CHAR_RE.finditer(s.text):
        out.append(s.claim("seventh_character", m.group(0), s.subject_before(m.start()), m.group(1),
                           extra={"meaning": m.group(2).strip()}))
    return out


# ------------------------------------------------------------------------------------------ ICD-9-CM

APPROX_RE = re.compile(r"\b(approximate|approximation|not (?:an )?exact)\b", re.I)
EXACT_RE = re.compile(r"\b(exact (?:match|equivalent)|one-to-one|identical)\b", re.I)


def icd9_claims(s: Sentence) -> list[Claim]:
    """ICD-9-CM equivalents named where the line (or its section) is about ICD-9-CM: codes, ranges
    ('722.80–722.83'), their meanings (in parentheses or a table cell), and whether the mapping is
    approximate."""
    if not ("icd9" in s.flags or re.search(r"icd-?9", s.ln.text, re.I)):
        return []
    ranges, singles = icd9_mentions(s.text)
    out = []
    for lo, hi, a, b in ranges:
        out.append(s.claim("icd9_set", s.text[a:b], s.subject_before(a), [lo, hi], pos=a))
    for code, a, b in singles:
        out.append(s.claim("icd9", snippet(s.text, a, b, 30), s.subject_before(a), code, pos=a))
        p = re.match(r"\s*\(([^()]{2,120})\)", s.text[b:]) or re.match(r"\s*(?:[-–—:]\s*|\s)([A-Z][a-z][^;()|]{2,120}?)\s*(?:[;|]|$)", s.text[b:])
        meaning = p.group(1) if p and not re.match(r"\d", p.group(1)) else _icd9_cell(s, code)
        if meaning:
            out.append(s.claim("icd9_description", s.text[a: b + p.end()] if p else s.text, code, meaning.strip(), pos=a))
    if ranges or singles or re.search(r"crosswalk|\bmaps?\b|mapping|equivalen|\bGEMs?\b", s.text, re.I):
        for rx, value in ((APPROX_RE, True), (EXACT_RE, False)):
            m = rx.search(s.text)
            if m:
                out.append(s.claim("icd9_approximate", snippet(s.text, m.start(), m.end(), 30), s.page_code, value))
    return out


def _icd9_cell(s: Sentence, code: str) -> str | None:
    """The meaning of an ICD-9-CM code in its table row: the wordy cell beside the code's cell."""
    if not s.ln.cells or s.text != s.ln.text or code not in [c.strip() for c in s.ln.cells]:
        return None
    return next((c for c in s.ln.cells if c.strip() != code and len(re.findall(r"[A-Za-z]{3,}", c)) >= 1
                 and not icd9_mentions(c)[1]), None)


# -------------------------------------------------------------------------------------------- MS-DRG

DRG_VERSION_RE = re.compile(r"(?:MS-DRG|DRG|grouper)s?\s*(?:\(\s*)?(?:version\s*|v\.?\s*)(\d{2})(?:\.(\d))?\b"
                            r"|\bversion\s+(\d{2})(?:\.\d)?\s+(?:of\s+)?(?:the\s+)?MS-DRG", re.I)
DRG_LIST_RE = re.compile(rf"\b(?:MS-)?DRGs?\s*(?:#|no\.?|numbers?)?\s*({DRG_NUMBER}(?:\s*(?:/|,|&|-|–|\band\b|\bor\b|\bto\b|"
                         rf"\bthrough\b)\s*(?:(?:MS-)?DRG\s*)?{DRG_NUMBER})*)\b(?!\.\d)", re.I)
WEIGHT_RE = re.compile(r"\b(?:relative weight|weight|RW)\b(?:\s+of\s+(?:MS-)?DRG\s*(\d{3}))?\s*(?:of|is|=|:)?\s*"
                       r"(\d{1,2}\.\d{3,4})\b", re.I)
MDC_RE = re.compile(r"\bMDC\s*:?\s*(\d{1,2})\b")


def drg_claims(s: Sentence) -> list[Claim]:
    """The MS-DRG version ('MS-DRG v43.0'), the DRGs a code groups to ('DRGs 551/552'), their titles
    ('(Medical back problems with/without MCC)', 'DRG 535 – Fractures of hip and pelvis with MCC'), their
    relative weights ('weight 1.6761') and the MDC."""
    if not ("drg" in s.flags or re.search(r"\bDRG", s.text)):
        return []
    out = [s.claim("drg_version", m.group(0), None, m.group(1) or m.group(3)) for m in DRG_VERSION_RE.finditer(s.text)]
    lists = [m for m in DRG_LIST_RE.finditer(s.text) if not re.match(r"\s*\.\d", s.text[m.end():])]
    placed: list[tuple[int, str]] = []
    for m in lists:
        numbers = drg_numbers(re.sub(r"(?i)(?:MS-)?DRG\s*", "", m.group(1)))
        subject = s.subject_before(m.start())
        out += [s.claim("drg", m.group(0), subject, n, pos=m.start()) for n in numbers]
        placed += [(m.start(), n) for n in numbers]
        title = re.match(r"\s*\(([^()]{3,160})\)", s.text[m.end():]) or (
            re.match(r"\s*[–—:-]\s*([A-Z][^;()|]{3,120}?)\s*(?:[;|(]|$|\.\s)", s.text[m.end():]) if len(numbers) == 1 else None)
        if title:
            out += _drg_titles(s, numbers, title.group(1).strip(" ."), s.text[m.start(): m.end() + title.end()])
    out += _bare_drgs(s, lists, placed)
    for w in WEIGHT_RE.finditer(s.text):
        before = [n for at, n in placed if at < w.start()]
        drg = w.group(1) or (before[-1] if before else None)
        if drg:
            out.append(s.claim("drg_weight", w.group(0), drg, w.group(2), pos=w.start(2)))
    for m in MDC_RE.finditer(s.text):
        out.append(s.claim("mdc", m.group(0), s.subject_before(m.start()), f"{int(m.group(1)):02d}"))
    return out + _drg_row(s)


BARE_DRG_RE = re.compile(r"(?<![\w.$,/#-])(\d{3})\s+([A-Z][A-Za-z&/ -]{4,100}?)\s*(?=,\s*\d{3}\b|[;.)]|$)")


def _bare_drgs(s: Sentence, lists: list[re.Match], placed: list[tuple[int, str]]) -> list[Claim]:
    """After 'MS-DRG v43.0):', numbers with their titles: '551 MEDICAL BACK PROBLEMS WITH MCC, 552 ...'."""
    taken = [(m.start(), m.end()) for m in lists]
    out = []
    drg = s.text.find("DRG")
    for m in BARE_DRG_RE.finditer(s.text):
        if any(a <= m.start(1) < b for a, b in taken) or drg < 0 or drg + 3 > m.start():
            continue
        subject = s.subject_before(m.start())
        out += [s.claim("drg", m.group(0), subject, m.group(1), pos=m.start()),
                s.claim("drg_title", m.group(0), m.group(1), m.group(2).strip(), pos=m.start())]
        placed.append((m.start(), m.group(1)))
    return out


def _drg_titles(s: Sentence, numbers: list[str], title: str, text: str) -> list[Claim]:
    """One title per DRG: '(Medical back problems with/without MCC)' for 551/552 reads as two titles."""
    alt = re.search(r"\b(\w+(?:/\w+)+)\b", title)
    if alt and len(alt.group(1).split("/")) == len(numbers) > 1:
        parts = alt.group(1).split("/")
        return [s.claim("drg_title", text, n, title[: alt.start()] + p + title[alt.end():]) for n, p in zip(numbers, parts)]
    if len(numbers) == 1:
        return [s.claim("drg_title", text, numbers[0], title)]
    return [s.claim("drg_title", text, "/".join(numbers), title, extra={"any_of": numbers})]


def _drg_row(s: Sentence) -> list[Claim]:
    """A table row under a DRG header: | 637 | Diabetes with MCC | 1.4367 |."""
    ln = s.ln
    if not ln.cells or s.text != ln.text or not any(re.search(r"(?i)\bdrg\b", h) for h in ln.header):
        return []
    drg = next((c.strip() for c in ln.cells if re.fullmatch(DRG_NUMBER, c.strip())), None)
    if drg is None:
        return []
    out = [s.claim("drg", ln.text, s.page_code, drg)]
    for h, c in zip(ln.header, ln.cells):
        if re.search(r"(?i)title|descr|name", h) and c.strip():
            out.append(s.claim("drg_title", c, drg, c.strip()))
        if re.search(r"(?i)weight", h) and re.fullmatch(r"\d{1,2}\.\d{3,4}", c.strip()):
            out.append(s.claim("drg_weight", f"{h}: {c}", drg, c.strip()))
    return out


# ------------------------------------------------------------------------------- codes named at all

_NOT_ASSIGNED_RE = re.compile(r"\b(?:header|subcategory|category|deleted|replaced|expanded|retired|invalid|"
                              r"no longer|was (?:split|expanded|replaced))\b", re.I)


def implicit_code_claims(s: Sentence, made: list[Claim]) -> list[Claim]:
    """A specific code named as one to use ('consider M51.16', 'add G89.29') is claimed to be billable; a
    category named ('T84.- codes', 'the T84 category') is claimed to exist. Not for notes, ranges, the
    page's own code (its validity is one claim) or codes whose status the sentence states."""
    if _in_note_context(s) or "icd9" in s.flags and not re.search(r"icd-?10", s.text, re.I):
        return []
    stated = {c.subject for c in made if c.kind in ("billable", "category")} | {
        c.value for c in made if c.kind == "category"}
    out, seen = [], set()
    for m in s.mentions:
        if m.form == "range" or m.code in (s.page_code, *stated) or m.code in seen:
            continue
        seen.add(m.code)
        around = s.text[max(0, m.start - 25): m.end + 25]
        if m.form == "code" and not _NOT_ASSIGNED_RE.search(around):
            out.append(s.claim("billable", snippet(s.text, m.start, m.end), m.code, True, extra={"stated": False}, pos=m.start))
        elif m.form == "category":
            out.append(s.claim("existence", snippet(s.text, m.start, m.end), m.code, "category", pos=m.start))
    return out


SENTENCE_FINDERS = [status_claims, since_claims, chapter_claims, category_claims, sibling_claims, description_claims, note_claims,
                    seventh_claims, icd9_claims, drg_claims]


def sentence_claims(s: Sentence) -> list[Claim]:
    """Every claim of one sentence."""
    out: list[Claim] = []
    for finder in SENTENCE_FINDERS:
        out += finder(s)
    return out + implicit_code_claims(s, out)


# ------------------------------------------------------------------------------ procedures and fees

NO_FEE_RE = re.compile(r"view (?:procedure )?details|\bn/?a\b|no (?:national )?fee|not payable|not covered|no payment|"
                       r"(?:contractor|carrier)[- ]priced|\bbundled\b|\$\s*[–—-]|—\s*$", re.I)
PROC_WORD_RE = re.compile(r"\b(cpt|hcpcs|procedure)\b", re.I)
COUNT_RE = re.compile(r"^(?:related|linked|common)?\s*(?:cpt|procedures?|hcpcs)(?: codes?)?\s*:\s*(\d+)\s*$", re.I)


def fee_sections(page: Page) -> set[str]:
    """Sections in which some procedure is shown with a fee (a listing without one there is a claim)."""
    return {ln.section for ln in page.lines if money(ln.text) and HCPCS_RE.search(ln.text)}


def _hcpcs_in(ln: Line, flags: frozenset[str]) -> list[re.Match]:
    if "icd9" in flags and "procedures" not in flags:
        return []
    found = list(HCPCS_RE.finditer(ln.text))
    if not found:
        return []
    head = " ".join(ln.header)
    if money(ln.text) or "procedures" in flags or PROC_WORD_RE.search(ln.text) or PROC_WORD_RE.search(head):
        return found
    return []


def _setting(text: str) -> str | None:
    """'non-facility' or 'facility' when `text` names the setting (office, hospital ...), else None."""
    t = text.lower()
    if re.search(r"non-?\s?facility|office|in-office|physician office", t):
        return "non-facility"
    if re.search(r"\bfacility|hospital|\basc\b|inpatient", t):
        return "facility"
    return None


def _setting_near(text: str, start: int, end: int) -> str | None:
    """The setting named right after an amount ('$57.45 (facility)'), else right before it ('Facility: $57.45')."""
    after = re.split(r"\$", text[end: end + 25])[0]
    return _setting(after) or _setting(re.split(r"\$[\d,.]+", text[max(0, start - 25): start])[-1])


def line_claims(page: Page, i: int, flags: frozenset[str], code: str | None, with_fees: set[str]) -> list[Claim]:
    """Claims that need the whole line or the next one: procedures (fees, missing fees, descriptors),
    7th-character tables and counts."""
    ln = page.lines[i]
    out = []
    m = COUNT_RE.match(ln.text)
    if m:
        out.append(Claim("procedure_count", ln.text, ln.no, ln.section, code, int(m.group(1))))
    hcpcs = _hcpcs_in(ln, flags)
    if hcpcs:
        out += _fee_claims(ln, hcpcs, ln.section in with_fees)
        out += _descriptor_claims(page, i, hcpcs, flags)
    if "seventh" in flags:
        out += _seventh_rows(ln, code)
    return out


def _fee_claims(ln: Line, hcpcs: list[re.Match], section_has_fees: bool) -> list[Claim]:
    out = []
    amounts = money(ln.text)
    for k, h in enumerate(hcpcs):
        end = hcpcs[k + 1].start() if k + 1 < len(hcpcs) else len(ln.text)
        mine = [a for a in amounts if h.end() <= a[1] < end] or ([a for a in amounts if a[1] < h.start()]
                                                                 if len(hcpcs) == 1 else [])
        for amount, a, b in mine:
            header = _cell_header(ln, a)
            setting = _setting(header) if header else _setting_near(ln.text, a, b)
            out.append(Claim("fee", ln.text[min(h.start(), a): max(h.end(), b)] if len(hcpcs) > 1 else ln.text,
                             ln.no, ln.section, h.group(1), str(amount), extra={"setting": setting}))
        if not mine and (NO_FEE_RE.search(ln.text[h.end(): end]) or section_has_fees):
            out.append(Claim("fee_missing", _cut(ln.text), ln.no, ln.section, h.group(1), None))
    return out


def _cut(text: str) -> str:
    return text if len(text) <= 160 else text[:159] + "…"


def _cell_header(ln: Line, pos: int) -> str | None:
    """The column header of the table cell at character `pos` of a row's text."""
    if not ln.cells or not ln.header:
        return None
    at = 0
    for k, c in enumerate(ln.cells):
        at += len(c) + 3
        if pos < at:
            return ln.header[k] if k < len(ln.header) else None
    return None


def _descriptor_claims(page: Page, i: int, hcpcs: list[re.Match], flags: frozenset[str]) -> list[Claim]:
    """The words a page gives for a procedure: in its row, after it on the line, or on the next line."""
    ln = page.lines[i]
    if len(hcpcs) != 1:
        return []
    h = hcpcs[0].group(1)
    if ln.cells:
        cells = [c for c in ln.cells if c.strip() != h and not money(c) and len(re.findall(r"[A-Za-z]{3,}", c)) >= 2]
        return [Claim("procedure_descriptor", _cut(cells[0]), ln.no, ln.section, h, cells[0])] if cells else []
    rest = NO_FEE_RE.sub(" ", re.sub(r"\$\s?[\d,]+(?:\.\d\d)?|\b" + h + r"\b", " ", ln.text))
    rest = re.sub(r"^[\s:—–|·-]+|\b(?:CPT|HCPCS)\b", "", rest).strip()
    if len(re.findall(r"[A-Za-z]{3,}", rest)) >= 2:
        return [Claim("procedure_descriptor", _cut(rest), ln.no, ln.section, h, rest)]
    nxt = page.lines[i + 1] if i + 1 < len(page.lines) else None
    if (nxt and not nxt.heading and nxt.section == ln.section and not _hcpcs_in(nxt, flags)
            and len(nxt.text.split()) >= 4 and not nxt.cells):
        return [Claim("procedure_descriptor", _cut(nxt.text), nxt.no, nxt.section, h, nxt.text)]
    return []


def _seventh_rows(ln: Line, code: str | None) -> list[Claim]:
    """In a section about 7th characters: 'A – initial encounter for closed fracture', or a row | A | ... |."""
    if ln.cells and len(ln.cells) >= 2 and re.fullmatch(r"[A-Z0-9]", ln.cells[0].strip()):
        char, meaning = ln.cells[0].strip(), ln.cells[1].strip()
    else:
        m = re.match(r"^[\"'“]?([A-Z0-9])[\"'”]?\s*(?:[-–—:=|]|\s-\s)\s*([a-z].{3,120})$", ln.text, re.I)
        if not m:
            return []
        char, meaning = m.group(1), m.group(2)
    return [Claim("seventh_character", _cut(ln.text), ln.no, ln.section, code, char, extra={"meaning": meaning})]
