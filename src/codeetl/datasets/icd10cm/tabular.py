"""ICD-10-CM Tabular List XML parser: hierarchy, notes and 7th characters (rules in the package docstring)."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl
from lxml import etree

from codeetl.errors import SourceFormatError
from codeetl.textio import check_size

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

# A code reference as the Tabular prints them inside notes: M80, T84.-, M02.0-, S72.001A, Z96-Z97.
_CODE_TOKEN = r"[A-Z][0-9A-Z][0-9A-Z](?:\.[0-9A-Z]{1,4})?"
_DASH_SUFFIX = r"(?:\.?-(?!\s*[A-Z][0-9A-Z]))?"  # "T84.-", "M02.0-", but not the dash of a range
_REF_RE = re.compile(rf"\b({_CODE_TOKEN}){_DASH_SUFFIX}(?:\s*-\s*({_CODE_TOKEN}){_DASH_SUFFIX})?")
_PAREN_RE = re.compile(r"\(([^()]*)\)")
_RANGE_IN_TITLE = re.compile(r"\s*\(([A-Z][0-9A-Z][0-9A-Z](?:\.[0-9A-Z-]+)?)\s*-\s*([A-Z][0-9A-Z][0-9A-Z](?:\.[0-9A-Z-]+)?)\)\s*$")
_CODE_SHAPE = re.compile(r"^[A-Z][0-9A-Z][0-9A-Z](?:\.[0-9A-Z]{1,4})?$")


def ascii_title(text: str) -> str:
    """The code-file spelling of a Tabular title: diacritics removed ("Sézary" -> "Sezary")."""
    if text.isascii():
        return text
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")


def referenced_codes(note: str) -> list[str]:
    """Code references in a note's parentheses, normalised: "(T84.-)" → T84, "(M02.0-)" → M02.0,
    "(Z96-Z97)" → Z96-Z97 (a range is kept as one reference), "(A15.0, A15.5)" → A15.0, A15.5.

    Only text in parentheses is searched, which is where the Tabular prints its references; words that
    merely look like codes elsewhere in the sentence are not references.
    """
    out: list[str] = []
    for group in _PAREN_RE.findall(note):
        for m in _REF_RE.finditer(group):
            first, last = m.group(1), m.group(2)
            ref = f"{first}-{last}" if last else first
            if ref not in out:
                out.append(ref)
    return out


@dataclass
class _Tabular:
    """Row buffers filled while walking the XML once."""

    path: str
    chapters: list[dict] = field(default_factory=list)
    sections: list[dict] = field(default_factory=list)
    codes: list[dict] = field(default_factory=list)
    notes: list[dict] = field(default_factory=list)
    seventh: list[dict] = field(default_factory=list)


def _text(el, tag: str, path: str) -> str:
    child = el.find(tag)
    if child is None or child.text is None or not child.text.strip():
        raise SourceFormatError(path, el.sourceline, f"a non-empty <{tag}> in <{el.tag}>")
    return " ".join(child.text.split())


def _collect_notes(tab: _Tabular, el, node_kind: str, node: str) -> None:
    for child in el:
        if child.tag in NOTE_TYPES:
            for seq, n in enumerate(child.iterfind("note"), 1):
                text = " ".join("".join(n.itertext()).split())
                if not text:
                    continue
                tab.notes.append(
                    {
                        "node_kind": node_kind,
                        "code": node,
                        "note_type": child.tag,
                        "seq": seq,
                        "note": text,
                        "referenced_codes": referenced_codes(text),
                    }
                )


def _seventh_chars(el, path: str) -> list[tuple[str, str]] | None:
    d = el.find("sevenChrDef")
    if d is None:
        return None
    exts = []
    for x in d.iterfind("extension"):
        ch = x.get("char")
        if not ch or len(ch) != 1 or not (x.text and x.text.strip()):
            raise SourceFormatError(path, x.sourceline, 'an <extension char="?"> with one character and a meaning')
        exts.append((ch, " ".join(x.text.split())))
    if not exts:
        raise SourceFormatError(path, d.sourceline, "at least one <extension> in <sevenChrDef>")
    return exts


def _walk_diag(tab: _Tabular, el, parent: str | None, category: str | None, section: str, chapter: int,
               depth: int, seventh: list[tuple[str, str]] | None, seventh_from: str | None) -> None:
    code = _text(el, "name", tab.path)
    if not _CODE_SHAPE.match(code):
        raise SourceFormatError(tab.path, el.sourceline, "a dotted ICD-10-CM code in <name>", code)
    desc = _text(el, "desc", tab.path)
    category = category or code
    own7 = _seventh_chars(el, tab.path)
    if own7 is not None:
        seventh, seventh_from = own7, code
        for ch, meaning in own7:
            tab.seventh.append({"code": code, "char": ch, "meaning": meaning})
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
        for ch, meaning in seventh:
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
        _walk_diag(tab, child, code, category, section, chapter, depth + 1, seventh, seventh_from)


def _split_title(desc: str) -> tuple[str, str | None, str | None]:
    m = _RANGE_IN_TITLE.search(desc)
    if not m:
        return desc, None, None
    return desc[: m.start()].strip(), m.group(1), m.group(2)


MAX_TABULAR_BYTES = 40_000_000  # the tree takes ~25x the file in memory; the real file has 10 MB


def parse_tabular(path: str | Path, release: str) -> dict[str, pl.DataFrame]:
    """Parse a Tabular List XML into frames ``icd10cm_chapters``, ``icd10cm_sections``,
    ``icd10cm_codes``, ``icd10cm_notes`` and ``icd10cm_seventh_chars`` (all with a ``release`` column).

    ``icd10cm_codes`` holds every ``diag`` node (headers and codes) and every code made by a 7th
    character, in Tabular order (``seq``).
    """
    path = str(path)
    check_size(path, MAX_TABULAR_BYTES)
    try:
        root = etree.parse(path, etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=True,
                                                 load_dtd=False)).getroot()
    except etree.XMLSyntaxError as e:
        raise SourceFormatError(path, e.lineno, "well-formed XML", str(e)) from None
    if root.tag != "ICD10CM.tabular":
        raise SourceFormatError(path, root.sourceline, "root element <ICD10CM.tabular>", f"<{root.tag}>")
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
                _walk_diag(tab, d, None, None, sid, chapter, 1, None, None)
    if not tab.codes:
        raise SourceFormatError(path, None, "at least one <diag> code in the Tabular List")

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
    notes = pl.DataFrame(tab.notes, schema={
        "node_kind": pl.String, "code": pl.String, "note_type": pl.String, "seq": pl.Int16,
        "note": pl.String, "referenced_codes": pl.List(pl.String),
    }).with_row_index("note_no", offset=1).with_columns(release=rel, note_no=pl.col("note_no").cast(pl.Int32))
    return {
        "icd10cm_chapters": pl.DataFrame(tab.chapters, schema={"chapter": pl.Int16, "title": pl.String, "first_code": pl.String, "last_code": pl.String}).with_columns(release=rel),
        "icd10cm_sections": pl.DataFrame(tab.sections, schema={"section": pl.String, "chapter": pl.Int16, "title": pl.String, "first_code": pl.String, "last_code": pl.String}).with_columns(release=rel),
        "icd10cm_codes": codes,
        "icd10cm_notes": notes,
        "icd10cm_seventh_chars": pl.DataFrame(tab.seventh, schema={"code": pl.String, "char": pl.String, "meaning": pl.String}).with_columns(release=rel),
    }
