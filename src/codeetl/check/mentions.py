"""Spotting codes, amounts and dates in a sentence of a page: what a reader recognises by its shape.

ICD-10-CM codes (``M96.1``, ``S72.001A``, ``T84.-``, ``O24.4-``, ``M80`` where the words around it say it
is a code, ranges ``Z96-Z97``), ICD-9-CM codes (``722.83``, ranges ``722.80–722.83``), CPT/HCPCS codes,
dollar amounts, MS-DRG numbers, and the page's own date. Pure functions; no warehouse.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from decimal import Decimal

_ICD10 = r"[A-Z][0-9][0-9A-Z](?:\.[0-9A-Z]{1,4})?"
RANGE_RE = re.compile(rf"(?<![\w.$/])({_ICD10})(?:[-–]|\s[-–]\s)({_ICD10})(?![\w])")
CODE_RE = re.compile(r"(?<![\w.$@#-])([A-Z][0-9][0-9A-Z])(\.[0-9A-Z]{1,4})?(\.-|-(?![\w]))?(?![\w]|\.\d)")
CODE_WORDS_BEFORE_RE = re.compile(
    r"\b(?:categor(?:y|ies)|codes?|coded|block|subcategory|excludes ?[12]|includes|use|assign|report|consider|"
    r"see|icd-10(?:-cm)?|diagnosis|dx)\b[^.;:]{0,12}$", re.I)
CODE_WORDS_AFTER_RE = re.compile(r"^\s*(?:categor(?:y|ies)|codes?)\b", re.I)
NOT_ICD10_BEFORE_RE = re.compile(r"(?:DRG|grouper|version|ICD-9(?:-CM)?(?: codes?)?)\s*$", re.I)

ICD9_RE = re.compile(r"(?<![\w.$,/])(\d{3}\.\d{1,2}|V\d{2}(?:\.\d{1,2})?|E\d{3}(?:\.\d)?)(?![\w]|\.\d)")
ICD9_RANGE_RE = re.compile(
    r"(?<![\w.$,])(\d{3}\.\d{1,2}|V\d{2}\.\d{1,2})\s*(?:[-–—]|\bto\b|\bthrough\b)\s*(\d{3}\.\d{1,2}|V\d{2}\.\d{1,2})(?![\w]|\.\d)")
HCPCS_RE = re.compile(r"(?<![\w$.,/-])(\d{4}[0-9A-Z]|[A-V]\d{4})(?![\w]|[.,]\d)")
MONEY_RE = re.compile(r"\$\s?(\d{1,3}(?:,\d{3})+|\d+)(\.\d{2})?(?!\d)")
DRG_NUMBER = r"\d{3}"
# The words before a code that say what it is are read within this many characters of it (the longest cue,
# 'subcategory' plus 12 characters, fits): a sentence naming thousands of codes stays linear to read.
CUE_WINDOW = 64


@dataclass(frozen=True)
class Mention:
    """An ICD-10-CM code in a sentence: ``form`` is 'code', 'category' (``T84.-``, ``O24.4-`` or a
    3-character code) or 'range' (``code`` then holds 'A00-B99')."""

    code: str
    start: int
    end: int
    form: str


def icd10_mentions(text: str, page_code: str | None = None) -> list[Mention]:
    """The ICD-10-CM codes and ranges in `text`, in order. A 3-character code without a dot counts only
    where the text says it is one (``(M80)``, ``category M96``, ``T84 codes``, a range, the page's own code),
    so spinal levels (T12), vitamins (B12) and versions (MS-DRG V43) are not taken for codes."""
    out: list[Mention] = []
    taken: list[tuple[int, int]] = []
    for m in RANGE_RE.finditer(text):
        if m.group(1) >= m.group(2):
            continue
        out.append(Mention(f"{m.group(1)}-{m.group(2)}", m.start(), m.end(), "range"))
        taken.append((m.start(), m.end()))
    k = 0  # taken spans are in order, so are the codes: one pass over both
    for m in CODE_RE.finditer(text):
        while k < len(taken) and taken[k][1] <= m.start():
            k += 1
        if k < len(taken) and taken[k][0] <= m.start() or NOT_ICD10_BEFORE_RE.search(_before(text, m.start())):
            continue
        head, tail, dash = m.group(1), m.group(2) or "", m.group(3) or ""
        code = head + tail
        if dash:
            out.append(Mention(code, m.start(), m.end(), "category"))
        elif tail:
            out.append(Mention(code, m.start(), m.end(), "code"))
        elif _says_code(text, m.start(), m.end(), head, page_code):
            out.append(Mention(code, m.start(), m.end(), "category"))
    return sorted(out, key=lambda x: x.start)


def _says_code(text: str, start: int, end: int, head: str, page_code: str | None) -> bool:
    """Whether the words around a 3-character token say it is an ICD-10-CM code (category)."""
    if page_code and (head == page_code or page_code.startswith(head + ".")):
        return True
    if not head[1:].isdigit():  # M1A, O9A: only with a dash, in a range or in parentheses
        return _alone_in_parentheses(text, start, end)
    return (_alone_in_parentheses(text, start, end) or bool(CODE_WORDS_BEFORE_RE.search(_before(text, start)))
            or bool(CODE_WORDS_AFTER_RE.match(text[end: end + CUE_WINDOW]))
            or len(text) <= CUE_WINDOW and text.strip() == head)


def _before(text: str, start: int) -> str:
    """The CUE_WINDOW characters before `start`."""
    return text[max(0, start - CUE_WINDOW): start]


def _alone_in_parentheses(text: str, start: int, end: int) -> bool:
    return (_before(text, start).rstrip().endswith("(")
            and text[end: end + CUE_WINDOW].lstrip()[:1] in (")", ",", ";"))


def icd9_mentions(text: str) -> tuple[list[tuple[str, str, int, int]], list[tuple[str, int, int]]]:
    """ICD-9-CM codes in `text`: (ranges [(low, high, start, end)], single codes [(code, start, end)])."""
    ranges = [(m.group(1), m.group(2), m.start(), m.end()) for m in ICD9_RANGE_RE.finditer(text)]
    singles = [(m.group(1), m.start(), m.end()) for m in ICD9_RE.finditer(text)
               if not any(a <= m.start() < b for _, _, a, b in ranges)]
    return ranges, singles


def icd9_range(low: str, high: str) -> list[str]:
    """Every code a range such as 722.80–722.83 spans, by counting after the dot: ['722.80', '722.81',
    '722.82', '722.83']; [] when the two ends have different heads or shapes (then it cannot be counted)."""
    head, _, lo = low.partition(".")
    head_hi, _, hi = high.partition(".")
    if head != head_hi or len(lo) != len(hi) or not (lo.isdigit() and hi.isdigit()) or int(lo) > int(hi):
        return []
    return [f"{head}.{n:0{len(lo)}d}" for n in range(int(lo), int(hi) + 1)]


def money(text: str) -> list[tuple[Decimal, int, int]]:
    """Dollar amounts in `text`: [(Decimal('1065.49'), start, end)]."""
    return [(Decimal(m.group(1).replace(",", "") + (m.group(2) or "")), m.start(), m.end()) for m in MONEY_RE.finditer(text)]


def drg_numbers(spec: str) -> list[str]:
    """'551/552' -> ['551', '552']; '637-639' -> ['637', '638', '639']; '551, 552 and 553' -> three."""
    out: list[str] = []
    for part in re.split(r"\s*(?:/|,|&|\band\b|\bor\b)\s*", spec):
        m = re.fullmatch(r"(\d{3})\s*(?:[-–]|\bto\b|\bthrough\b)\s*(\d{3})", part.strip())
        if m and int(m.group(1)) <= int(m.group(2)) <= int(m.group(1)) + 20:
            out += [f"{n:03d}" for n in range(int(m.group(1)), int(m.group(2)) + 1)]
        elif re.fullmatch(r"\d{3}", part.strip()):
            out.append(part.strip())
    return out


# ---------------------------------------------------------------------------------------------- dates

_MONTHS = {m: i + 1 for i, m in enumerate(
    "january february march april may june july august september october november december".split())}
_MONTH_RE = r"(jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sept?(?:ember)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)"
DATE_PATTERNS = [
    re.compile(_MONTH_RE + r"\.?\s+(\d{1,2})(?:st|nd|rd|th)?,?\s+(\d{4})", re.I),
    re.compile(r"(\d{1,2})\s+" + _MONTH_RE + r"\.?,?\s+(\d{4})", re.I),
    re.compile(r"(\d{4})-(\d{2})-(\d{2})"),
    re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})"),
]
DATE_KEYS = ["verified", "reviewed", "updated", "as of", "effective", "published", "date"]
_KEY_RE = re.compile(r"\b(last verified|verified|last reviewed|reviewed|last updated|updated|current as of|as of|"
                     r"effective|published|date)\b\W{0,3}(?:on\s+)?", re.I)


def _month(name: str) -> int:
    return next(v for k, v in _MONTHS.items() if k.startswith(name.lower()[:3]))


def parse_date(text: str) -> tuple[dt.date, int, int] | None:
    """The first date in `text` in a common spelling (May 8, 2026 / 8 May 2026 / 2026-05-08 / 05/08/2026),
    with its span; None when there is none or it is not a real day."""
    found = []
    for i, pat in enumerate(DATE_PATTERNS):
        m = pat.search(text)
        if not m:
            continue
        g = m.groups()
        try:
            if i == 0:
                d = dt.date(int(g[2]), _month(g[0]), int(g[1]))
            elif i == 1:
                d = dt.date(int(g[2]), _month(g[1]), int(g[0]))
            elif i == 2:
                d = dt.date(int(g[0]), int(g[1]), int(g[2]))
            else:
                d = dt.date(int(g[2]), int(g[0]), int(g[1]))
        except ValueError:
            continue
        found.append((m.start(), d, m.end()))
    if not found:
        return None
    start, d, end = min(found)
    return d, start, end


def stated_date(text: str) -> tuple[int, dt.date, str] | None:
    """The date a line says the page is as of ('Verified May 8, 2026'): (rank of its key word, lower is
    stronger; the date; the words as found), or None when the line states none."""
    for m in _KEY_RE.finditer(text):
        rest = text[m.end(): m.end() + 40]
        found = parse_date(rest)
        if found and found[1] <= 3:
            key = m.group(1).lower().replace("last ", "").replace("current ", "")
            rank = DATE_KEYS.index(key) if key in DATE_KEYS else len(DATE_KEYS)
            return rank, found[0], text[m.start(): m.end() + found[2]].strip()
    return None
