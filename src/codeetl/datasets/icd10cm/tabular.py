"""ICD-10-CM Tabular List XML parser: hierarchy, notes and 7th characters (rules in the package docstring)."""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path

import polars as pl
from lxml import etree

from codeetl.errors import SourceFormatError
from codeetl.sources.textio import check_size, parse_xml

NOTE_TYPES = (
    "inclusionTerm",
    "includes",
    "excludes1",
    "excludes2",
    "codeFirst",
    "useAdditionalCode",
    "codeAlso",
    "notes",
    "sevenChrNote",
)
"""The Tabular's note elements, stored in ``icd10cm_notes`` under their own names."""

TABLE_NOTE_TYPE = "table"
"""``note_type`` of the rows made from a table printed under a code (H54.8's ``visualImpairment``: one row per
line of the table, cells separated by `` | ``)."""

_STRUCTURE = {"name", "desc", "diag", "section", "sectionIndex", "sevenChrDef", "visualImpairment"}
"""Child elements of chapter/section/diag that are not notes. Any other element is an error, so nothing the
Tabular prints is dropped silently."""

# A code reference as the Tabular prints them inside notes: M80, T84.-, M02.0-, S72.001A, Z96-Z97, I69.
_CODE_TOKEN = r"[A-Z][0-9A-Z][0-9A-Z](?:\.[0-9A-Z]{1,4})?(?![0-9A-Za-z])"
_DASH_SUFFIX = r"(?:\.?-(?!\s*[A-Z][0-9A-Z]))?"  # "T84.-", "M02.0-", but not the dash of a range
# The dash between the two ends of a range: "Z96-Z97", "F10.--F19.-", "F10.- -F19.-", and "F11.-F17.-" (the
# first end's ".-" is the range's dash: K85.3, T40 and F98 print ranges so).
_RANGE_DASH = r"(?:\.?-\s*-\s*|\s*-\s*|\.-(?=[A-Z][0-9A-Z]))"
_REF_RE = re.compile(rf"\b({_CODE_TOKEN})(?:{_RANGE_DASH}({_CODE_TOKEN}){_DASH_SUFFIX}|{_DASH_SUFFIX})")
_PAREN_RE = re.compile(r"\(([^()]*)\)")
_RANGE_IN_TITLE = re.compile(r"\s*\(([A-Z][0-9A-Z][0-9A-Z](?:\.[0-9A-Z-]+)?)\s*-\s*([A-Z][0-9A-Z][0-9A-Z](?:\.[0-9A-Z-]+)?)\)\s*$")
_CODE_SHAPE = re.compile(r"^[A-Z][0-9A-Z][0-9A-Z](?:\.[0-9A-Z]{1,4})?$")
_LIMITING_NOTE = re.compile(r"\b(?:do|does)\s+not\s+apply\b|\bapply\s+only\b|\bonly\s+apply\b|\bnot\s+(?:be\s+)?used\s+with\b", re.I)
"""Wording of an instructional note that limits which 7th characters make valid codes (the S06 note: "7th
characters D and S do not apply to ..."). A note in the scope of a ``sevenChrDef`` with this wording must be
encoded in ``seventh_char_rules.csv``, or the parse fails (a new rule must not pass silently)."""


def ascii_title(text: str) -> str:
    """The code-file spelling of a Tabular title: diacritics removed ("Sézary" -> "Sezary")."""
    if text.isascii():
        return text
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")


def _is_code_like(token: str, categories: frozenset[str] | set[str] | None) -> bool:
    """A reference token must look like a code: a letter, then two letters or digits of which at least one is a
    digit (M96, C7A, QA0 — never MSS, HPV, RSV or NOS), and, when the release's categories are known, its
    first three characters must be one of them (G6PD and GH1 look like codes but no category G6P or GH1
    exists)."""
    if not (token[1].isdigit() or token[2].isdigit()):
        return False
    return categories is None or token[:3] in categories


def referenced_codes(note: str, categories: frozenset[str] | set[str] | None = None) -> list[str]:
    """Code references in a note's parentheses, normalised: "(T84.-)" → T84, "(M02.0-)" → M02.0,
    "(Z96-Z97)" → Z96-Z97 (a range is kept as one reference, also when printed "(F11.-F17.-)" or
    "(F10.--F19.-)"), "(A15.0, A15.5)" → A15.0, A15.5,
    "(I69. with final characters -23)" → I69.

    Only text in parentheses is searched, which is where the Tabular prints its references; words that
    merely look like codes elsewhere in the sentence are not references. A reference must look like a code
    (see :func:`_is_code_like`): acronyms in parentheses — "(MSSA)", "(HPV)", "[G6PD]", "(NOS)" — are not
    references. With ``categories`` (the release's 3-character categories), a reference must also fall in
    a category of the release; the code itself need not exist (the Tabular prints a few references to codes
    it does not have, e.g. "(G31.90)" in FY2026: they are kept, as printed).
    """
    out: list[str] = []
    for group in _PAREN_RE.findall(note):
        for m in _REF_RE.finditer(group):
            first, last = m.group(1), m.group(2)
            if not _is_code_like(first, categories) or (last and not _is_code_like(last, categories)):
                continue
            ref = f"{first}-{last}" if last else first
            if ref not in out:
                out.append(ref)
    return out


@dataclass(frozen=True)
class SeventhCharRule:
    """One instructional note that limits the valid 7th characters below a node (``seventh_char_rules.csv``)."""

    node: str
    sixth_chars: frozenset[str]
    excluded_chars: frozenset[str]
    note_type: str
    note: str

    def excludes(self, padded: str, char: str) -> bool:
        """True when the rule makes ``padded`` (the code without dot, filled to 6 with X) + ``char`` invalid."""
        return padded[5] in self.sixth_chars and char in self.excluded_chars


@cache
def seventh_char_rules() -> tuple[SeventhCharRule, ...]:
    """The rules of ``seventh_char_rules.csv`` (columns node, sixth_chars, excluded_chars, note_type, note;
    character lists space-separated). A rule applies to a release only where that release's Tabular prints
    ``note`` (of ``note_type``) under ``node``."""
    text = resources.files("codeetl.datasets.icd10cm").joinpath("seventh_char_rules.csv").read_text(encoding="utf-8")
    return tuple(
        SeventhCharRule(r["node"], frozenset(r["sixth_chars"].split()), frozenset(r["excluded_chars"].split()),
                        r["note_type"], " ".join(r["note"].split()))
        for r in csv.DictReader(io.StringIO(text))
    )


@dataclass
class _Tabular:
    """Row buffers filled while walking the XML once."""

    path: str
    chapters: list[dict] = field(default_factory=list)
    sections: list[dict] = field(default_factory=list)
    codes: list[dict] = field(default_factory=list)
    notes: list[dict] = field(default_factory=list)
    seventh: list[dict] = field(default_factory=list)
    rules_applied: set[str] = field(default_factory=set)


def _text(el, tag: str, path: str) -> str:
    child = el.find(tag)
    if child is None or child.text is None or not child.text.strip():
        raise SourceFormatError(path, el.sourceline, f"a non-empty <{tag}> in <{el.tag}>")
    return " ".join(child.text.split())


def _norm(el) -> str:
    return " ".join("".join(el.itertext()).split())


def _block_lines(block) -> list[str]:
    """The note lines of one note block, a line the XML split off at a comma joined back.

    The XML sometimes starts a line with the comma of the sentence it continues. When an earlier line of the
    block exists the continuation is joined onto it; when it is the block's first line it continues the
    block's heading ("Code also, if applicable, any associated conditions, such as:"), so the leading comma is
    dropped: the line is stored as "if applicable, any associated conditions, such as:" and reads, after
    the heading a page prints, as the Tabular does."""
    lines: list[str] = []
    for n in block.iterfind("note"):
        text = _norm(n)
        if not text:
            continue
        if text.startswith(","):
            rest = text[1:].strip()
            if lines:
                lines[-1] = f"{lines[-1]}, {rest}"
                continue
            text = rest
        lines.append(text)
    return lines


def _collect_notes(tab: _Tabular, el, node_kind: str, node: str) -> None:
    for child in el:
        if not isinstance(child.tag, str):
            continue
        if child.tag in NOTE_TYPES:
            for seq, text in enumerate(_block_lines(child), 1):
                tab.notes.append({"node_kind": node_kind, "code": node, "note_type": child.tag, "seq": seq, "note": text})
        elif child.tag not in _STRUCTURE:
            raise SourceFormatError(tab.path, child.sourceline, f"a known element in <{el.tag}> (notes: {', '.join(NOTE_TYPES)})",
                                    f"<{child.tag}>")
    vis = el.find("visualImpairment")
    if vis is not None:
        for seq, line in enumerate(_table_lines(vis, tab.path), 1):
            tab.notes.append({"node_kind": node_kind, "code": node, "note_type": TABLE_NOTE_TYPE, "seq": seq, "note": line})


def _table_lines(vis, path: str) -> list[str]:
    """H54.8's table of visual impairment categories as text lines, one per ``visCategory``: the category,
    then each ``visRange`` (maximum less than / minimum equal to or better than), cells joined by " | ".
    The first line is the table's heading row."""
    lines = []
    for cat in vis.iterfind("visCategory"):
        def cell(parent, tag: str) -> str:
            """The text of ``parent``'s child ``tag`` ('' when absent)."""
            el = parent.find(tag)
            if el is None:
                return ""
            return _norm(el)

        head = cell(cat, "heading") or cell(cat, "value")
        ranges = []
        for r in cat.iterfind("visRange"):
            parts = [cell(r, "heading"), cell(r, "visMax"), cell(r, "visMin")]
            ranges.append(" / ".join(p for p in parts if p))
        if not head:
            raise SourceFormatError(path, cat.sourceline, "a <heading> or <value> in <visCategory>")
        lines.append(" | ".join([head, *ranges]))
    if not lines:
        raise SourceFormatError(path, vis.sourceline, "at least one <visCategory> in <visualImpairment>")
    return lines


def _seventh_chars(el, path: str) -> list[tuple[str, str, list[str]]] | None:
    """The ``sevenChrDef`` of a node: (char, meaning, notes) per ``extension``. A ``note`` inside the definition
    belongs to the extension it follows (S72's B "initial encounter for open fracture type I or II" is followed
    by "initial encounter for open fracture NOS")."""
    d = el.find("sevenChrDef")
    if d is None:
        return None
    exts: list[tuple[str, str, list[str]]] = []
    for x in d:
        if not isinstance(x.tag, str):
            continue
        if x.tag == "extension":
            ch = x.get("char")
            if not ch or len(ch) != 1 or not (x.text and x.text.strip()):
                raise SourceFormatError(path, x.sourceline, 'an <extension char="?"> with one character and a meaning')
            exts.append((ch, " ".join(x.text.split()), []))
        elif x.tag == "note":
            if not exts:
                raise SourceFormatError(path, x.sourceline, "a <note> in <sevenChrDef> after the <extension> it belongs to")
            if _norm(x):
                exts[-1][2].append(_norm(x))
        else:
            raise SourceFormatError(path, x.sourceline, "<extension> or <note> in <sevenChrDef>", f"<{x.tag}>")
    if not exts:
        raise SourceFormatError(path, d.sourceline, "at least one <extension> in <sevenChrDef>")
    return exts


def _node_rules(tab: _Tabular, el, code: str, in_scope: bool) -> list[SeventhCharRule]:
    """The rules of ``seventh_char_rules.csv`` this node's own notes state; an unencoded limiting note in the
    scope of a 7th-character definition is an error."""
    printed = {(b.tag, _norm(n)): n for b in el if isinstance(b.tag, str) and b.tag in NOTE_TYPES for n in b.iterfind("note")}
    found = []
    for rule in seventh_char_rules():
        if rule.node == code and (rule.note_type, rule.note) in printed:
            found.append(rule)
            tab.rules_applied.add(rule.node)
    if in_scope:
        known = {(r.note_type, r.note) for r in found}
        for (kind, text), n in printed.items():
            if _LIMITING_NOTE.search(text) and (kind, text) not in known:
                raise SourceFormatError(tab.path, n.sourceline,
                                        f"every note limiting 7th characters to be encoded in seventh_char_rules.csv (node {code})", text)
    return found


def _walk_diag(tab: _Tabular, el, parent: str | None, category: str | None, section: str, chapter: int,
               depth: int, seventh: list | None, seventh_from: str | None, rules: tuple[SeventhCharRule, ...]) -> None:
    code = _text(el, "name", tab.path)
    if not _CODE_SHAPE.match(code):
        raise SourceFormatError(tab.path, el.sourceline, "a dotted ICD-10-CM code in <name>", code)
    desc = _text(el, "desc", tab.path)
    category = category or code
    own7 = _seventh_chars(el, tab.path)
    if own7 is not None:
        seventh, seventh_from = own7, code
        for ch, meaning, notes in own7:
            tab.seventh.append({"code": code, "char": ch, "meaning": meaning, "notes": notes})
    rules = rules + tuple(_node_rules(tab, el, code, seventh is not None))
    _collect_notes(tab, el, "code", code)
    children = el.findall("diag")
    is_leaf = not children
    billable = is_leaf and seventh is None
    tab.codes.append(
        {
            "code": code,
            "description": desc,
            "is_billable": billable,
            "parent": parent,
            "category": category,
            "section": section,
            "chapter": chapter,
            "depth": depth,
            "seventh_char": None,
            "seventh_char_from": seventh_from if (is_leaf and seventh is not None) else None,
        }
    )
    if is_leaf and seventh is not None:
        base = code.replace(".", "")
        padded = base.ljust(6, "X")
        for ch, meaning, _ in seventh:
            if any(r.excludes(padded, ch) for r in rules):
                continue
            full = padded + ch
            tab.codes.append(
                {
                    "code": f"{full[:3]}.{full[3:]}",
                    "description": f"{desc}, {meaning}",
                    "is_billable": True,
                    "parent": code,
                    "category": category,
                    "section": section,
                    "chapter": chapter,
                    "depth": depth + 1,
                    "seventh_char": ch,
                    "seventh_char_from": seventh_from,
                }
            )
    for child in children:
        _walk_diag(tab, child, code, category, section, chapter, depth + 1, seventh, seventh_from, rules)


def _split_title(desc: str) -> tuple[str, str | None, str | None]:
    m = _RANGE_IN_TITLE.search(desc)
    if not m:
        return desc, None, None
    return desc[: m.start()].strip(), m.group(1), m.group(2)


def parent_sections(sections: list[dict], categories: list[tuple[str, str]]) -> dict[str, str | None]:
    """For each section, the smallest other section of its chapter whose range contains its own
    (V40-V49 → V00-V99 → V00-X58 → None). The Tabular prints some sections that hold no codes of their own
    but head a range of sections (V00-V99, T20-T32, M00-M25, Y62-Y84) with notes for every code below.

    Ranges are compared in Tabular order, not alphabetically: C7A (printed between C75 and C76) is not in
    C76-C80 although "C7A" sorts after "C76". ``categories`` lists (category, section) in Tabular order. A
    section's range is the positions of its own categories; a heading section's, the positions of the
    categories its first_code and last_code name (alphabetical comparison only when one is not a category).
    """
    pos = {c: i for i, (c, _) in enumerate(categories)}
    own: dict[str, list[int]] = {}
    for c, sec in categories:
        own.setdefault(sec, []).append(pos[c])

    def span(s: dict) -> tuple:
        """The (first, last) position in Tabular order of the categories section ``s`` covers."""
        if s["section"] in own:
            return (min(own[s["section"]]), max(own[s["section"]]))
        if s["first_code"] in pos and s["last_code"] in pos:
            return (pos[s["first_code"]], pos[s["last_code"]])
        return (s["first_code"], s["last_code"])

    spans = {s["section"]: span(s) for s in sections}
    out: dict[str, str | None] = {}
    for s in sections:
        a, b = spans[s["section"]]
        best = None
        for o in sections:
            c, d = spans[o["section"]]
            if o["section"] == s["section"] or o["chapter"] != s["chapter"] or type(c) is not type(a):
                continue
            if c <= a and b <= d and (c, d) != (a, b):
                if best is None or (c, -_key(d)) > (spans[best][0], -_key(spans[best][1])):
                    best = o["section"]
        out[s["section"]] = best
    return out


def _key(v) -> int:
    return v if isinstance(v, int) else 0


MAX_TABULAR_BYTES = 40_000_000  # the tree takes ~25x the file in memory; the real file has 10 MB


def parse_tabular(path: str | Path, release: str) -> dict[str, pl.DataFrame]:
    """Parse a Tabular List XML into frames ``icd10cm_chapters``, ``icd10cm_sections``,
    ``icd10cm_codes``, ``icd10cm_notes`` and ``icd10cm_seventh_chars`` (all with a ``release`` column).

    ``icd10cm_codes`` holds every ``diag`` node (headers and codes) and every code made by a 7th
    character, in Tabular order (``seq``), except the 7th-character codes an instructional note rules out
    (``seventh_char_rules.csv``: the S06 note).
    """
    path = str(path)
    tab = _walk_tabular(_read_tabular_root(path), path)
    return _tabular_frames(tab, path, release)


def _read_tabular_root(path: str) -> etree._Element:
    """The ``<ICD10CM.tabular>`` root of a Tabular XML, parsed without entities, network or DTD (a declared
    or unresolved entity fails the parse: :func:`~codeetl.sources.textio.parse_xml`)."""
    check_size(path, MAX_TABULAR_BYTES)
    root = parse_xml(path, path)
    if root.tag != "ICD10CM.tabular":
        raise SourceFormatError(path, root.sourceline, "root element <ICD10CM.tabular>", f"<{root.tag}>")
    return root


def _walk_tabular(root: etree._Element, path: str) -> _Tabular:
    """Collect the chapters, sections, notes and codes of a Tabular root, in document order."""
    tab = _Tabular(path)
    for ch_el in root.iterfind("chapter"):
        name = _text(ch_el, "name", path)
        if not name.isdigit():
            raise SourceFormatError(path, ch_el.sourceline, "a chapter number in <chapter><name>", name)
        chapter = int(name)
        title, first, last = _split_title(_text(ch_el, "desc", path))
        tab.chapters.append({"chapter": chapter, "title": title, "first_code": first, "last_code": last})
        _collect_notes(tab, ch_el, "chapter", str(chapter))
        for sec_el in ch_el.iterfind("section"):
            sid = sec_el.get("id")
            if not sid:
                raise SourceFormatError(path, sec_el.sourceline, 'a <section id="...">')
            stitle, sfirst, slast = _split_title(_text(sec_el, "desc", path))
            if sfirst is None:  # single-category sections print "(M96)"
                m = re.search(r"\s*\(([A-Z][0-9A-Z][0-9A-Z])\)\s*$", stitle)
                if m:
                    stitle, sfirst, slast = stitle[: m.start()].strip(), m.group(1), m.group(1)
            tab.sections.append(
                {"section": sid, "chapter": chapter, "title": stitle,
                 "first_code": sfirst or sid.split("-")[0], "last_code": slast or sid.split("-")[-1]}
            )
            _collect_notes(tab, sec_el, "section", sid)
            for d in sec_el.iterfind("diag"):
                _walk_diag(tab, d, None, None, sid, chapter, 1, None, None, ())
    if not tab.codes:
        raise SourceFormatError(path, None, "at least one <diag> code in the Tabular List")
    return tab


def _tabular_frames(tab: _Tabular, path: str, release: str) -> dict[str, pl.DataFrame]:
    """The frames of a walked Tabular: codes numbered in order (titles also in ASCII), notes with the
    categories they reference, sections with their parent section."""
    rel = pl.lit(release)
    codes = (
        pl.DataFrame(tab.codes, schema={
            "code": pl.String, "description": pl.String, "is_billable": pl.Boolean, "parent": pl.String,
            "category": pl.String, "section": pl.String, "chapter": pl.Int16, "depth": pl.Int16,
            "seventh_char": pl.String, "seventh_char_from": pl.String,
        })
        .with_row_index("seq", offset=1)
        .with_columns(release=rel, code_nodot=pl.col("code").str.replace(".", "", literal=True),
                      seq=pl.col("seq").cast(pl.Int32),
                      description=pl.col("description").map_elements(ascii_title, return_dtype=pl.String),
                      description_tabular=pl.col("description"))
    )
    dupes = codes.filter(pl.col("code").is_duplicated())
    if dupes.height:
        raise SourceFormatError(path, None, "each code once in the Tabular List", f"duplicates: {dupes['code'].unique().to_list()[:5]}")
    categories = frozenset(codes.filter(pl.col("depth") == 1)["code"])
    for n in tab.notes:
        n["referenced_codes"] = [] if n["note_type"] == TABLE_NOTE_TYPE else referenced_codes(n["note"], categories)
    notes = pl.DataFrame(tab.notes, schema={
        "node_kind": pl.String, "code": pl.String, "note_type": pl.String, "seq": pl.Int16,
        "note": pl.String, "referenced_codes": pl.List(pl.String),
    }).with_row_index("note_no", offset=1).with_columns(release=rel, note_no=pl.col("note_no").cast(pl.Int32))
    cats = codes.filter(pl.col("depth") == 1).sort("seq")
    parents = parent_sections(tab.sections, list(zip(cats["code"], cats["section"])))
    sections = [{**s, "parent_section": parents[s["section"]]} for s in tab.sections]
    return {
        "icd10cm_chapters": pl.DataFrame(tab.chapters, schema={"chapter": pl.Int16, "title": pl.String, "first_code": pl.String, "last_code": pl.String}).with_columns(release=rel),
        "icd10cm_sections": pl.DataFrame(sections, schema={"section": pl.String, "chapter": pl.Int16, "title": pl.String, "first_code": pl.String,
                                                           "last_code": pl.String, "parent_section": pl.String}).with_columns(release=rel),
        "icd10cm_codes": codes,
        "icd10cm_notes": notes,
        "icd10cm_seventh_chars": pl.DataFrame(tab.seventh, schema={"code": pl.String, "char": pl.String, "meaning": pl.String,
                                                                    "notes": pl.List(pl.String)}).with_columns(release=rel),
    }
