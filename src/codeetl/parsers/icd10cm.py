"""ICD-10-CM: the Tabular List XML, the valid-code file and the order file.

Sources (CDC NCHS / CMS, one set per fiscal-year release, see ``catalog/icd10cm.toml``):

``icd10cm_tabular_YYYY.xml`` (role ``tabular``)
    ``ICD10CM.tabular`` > ``chapter`` (``name`` = chapter number, ``desc`` = "Title (A00-B99)", notes,
    ``sectionIndex``) > ``section id="A00-A09"`` (``desc``, notes) > ``diag`` (``name`` = dotted code,
    ``desc``, notes, ``sevenChrNote``/``sevenChrDef``, nested ``diag``). Note elements are
    ``inclusionTerm``, ``includes``, ``excludes1``, ``excludes2``, ``codeFirst``, ``useAdditionalCode``,
    ``codeAlso``, ``notes`` and ``sevenChrNote``, each holding one or more ``note``.

``icd10cm_codes_YYYY.txt`` (role ``codes``)
    One valid (billable) code per line: the code without its dot, left-justified in 8 columns, then
    the long description. (Some years pad to 7 columns + space; we split on the first run of spaces.)

``icd10cm_order_YYYY.txt`` (role ``order``; not in the offline mirror — tested on a fixture written
from CMS's documented layout, ``icd10cm_order_2026.pdf``/"Code descriptions in tabular order")
    Fixed width: columns 1-5 order number (zero-padded), 6 blank, 7-13 code without dot, 14 blank,
    15 "0" header / "1" valid for HIPAA-covered transactions, 16 blank, 17-76 short description
    (60 characters), 77 blank, 78 to end long description.

Valid-code rules applied to the Tabular (as its notes and the Official Guidelines I.A.5/I.B.2 state):

* A ``diag`` with no child ``diag`` is a code. If no ``sevenChrDef`` applies to it, it is a valid
  (billable) code as printed.
* A ``sevenChrDef`` on a node applies to every code below it, the nearest definition winning. A code it
  applies to is not valid by itself: each 7th character makes a valid code. "The 7th character must
  always be the 7th character of the code": a code shorter than six characters (without the dot) is
  first filled with the placeholder ``X`` to six (``S02.0`` → ``S02.0XXA``).
* The description of such a code is the base code's description, a comma and a space, and the 7th
  character's meaning (``S02.0XXA`` "Fracture of vault of skull, initial encounter for closed
  fracture"), which is how CMS writes them in the code file.
* Descriptions: the Tabular prints diacritics (Sézary, Charcôt); CMS's code and order files spell the
  same titles in plain ASCII (Sezary, Charcot). ``description`` is the code-file spelling (the Tabular
  text with diacritics removed — checked against the FY2024 code file, where every one of the 73,980
  codes common to both releases matches except the 51 titles CMS revised in FY2025 and FY2026);
  ``description_tabular`` keeps the Tabular's own spelling.
* Every other ``diag`` (categories, subcategories, the X placeholder levels) is a header: not billable.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl
from lxml import etree

from codeetl.catalog import Release
from codeetl.codes import icd10_dotted_expr
from codeetl.errors import SourceFormatError
from codeetl.textio import check_size, read_text

PARSER_VERSION = "1"
TABLES_SQL = "tables/icd10cm.sql"

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


_CODE_LINE = re.compile(r"^([A-Z][0-9A-Z][0-9A-Z][0-9A-Z]{0,4}) +(\S.*)$")


def parse_code_file(path: str | Path, release: str) -> pl.DataFrame:
    """Parse ``icd10cm_codes_YYYY.txt`` into ``icd10cm_valid_codes(release, code, code_nodot, description)``.

    Every line must be a code then its description; anything else is an error naming the line.
    """
    path = str(path)
    text = read_text(path)
    frame = pl.DataFrame({"line": text.splitlines()}).with_row_index("line_no", offset=1)
    frame = frame.filter(pl.col("line").str.strip_chars() != "")
    parsed = frame.with_columns(pl.col("line").str.strip_chars_end().str.extract_groups(_CODE_LINE.pattern).alias("m")).unnest("m")
    bad = parsed.filter(pl.col("1").is_null())
    if bad.height:
        row = bad.row(0, named=True)
        raise SourceFormatError(path, row["line_no"], "a code (no dot) padded with spaces, then its description", row["line"])
    out = parsed.select(
        release=pl.lit(release),
        code=icd10_dotted_expr(pl.col("1")),
        code_nodot=pl.col("1"),
        description=pl.col("2"),
        line_no=pl.col("line_no").cast(pl.Int32),
    )
    dupes = out.filter(pl.col("code_nodot").is_duplicated())
    if dupes.height:
        row = dupes.row(0, named=True)
        raise SourceFormatError(path, row["line_no"], "each code once", row["code_nodot"])
    return out


def parse_order_file(path: str | Path, release: str) -> pl.DataFrame:
    """Parse ``icd10cm_order_YYYY.txt`` (fixed width, layout in the module docstring) into
    ``icd10cm_order(release, order_number, code, code_nodot, is_billable, short_description, description)``.
    """
    path = str(path)
    text = read_text(path)
    rows = []
    for i, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        line = line.rstrip()
        order, code, flag = line[0:5], line[6:13].strip(), line[14:15]
        if len(line) < 18 or not order.isdigit() or line[5] != " " or flag not in ("0", "1") or not _CODE_SHAPE.match(code[:3] + ("." + code[3:] if len(code) > 3 else "")):
            raise SourceFormatError(
                path, i,
                "order number (cols 1-5), code (7-13), header/valid flag 0/1 (15), short (17-76) and long (78-) descriptions",
                line,
            )
        rows.append((int(order), code, flag == "1", line[16:76].strip(), line[77:].strip() if len(line) > 77 else line[16:76].strip()))
    frame = pl.DataFrame(rows, schema={"order_number": pl.Int32, "code_nodot": pl.String, "is_billable": pl.Boolean,
                                       "short_description": pl.String, "description": pl.String}, orient="row")
    return frame.with_columns(release=pl.lit(release), code=icd10_dotted_expr("code_nodot"))


def codes_from_order(order: pl.DataFrame) -> pl.DataFrame:
    """``icd10cm_codes`` rows from an order file alone (a release without a Tabular XML): hierarchy by
    prefix — the parent is the longest shorter code in the file that prefixes the code. Section and
    chapter are unknown without the Tabular and stay NULL."""
    codes = order.sort("order_number")
    known = set(codes["code_nodot"].to_list())

    def parent_of(c: str) -> str | None:
        for n in range(len(c) - 1, 2, -1):
            if c[:n] in known:
                return c[:n]
        return None

    return codes.select(
        "release", "code", "code_nodot", "description", "is_billable",
        parent=icd10_dotted_expr(pl.col("code_nodot").map_elements(parent_of, return_dtype=pl.String)),
        category=pl.col("code_nodot").str.slice(0, 3),
        seq=pl.col("order_number"),
    )


def codes_from_code_file(valid: pl.DataFrame) -> pl.DataFrame:
    """``icd10cm_codes`` rows from the valid-code file alone (only billable codes are known; category is
    the first three characters; parent, section and chapter need the Tabular and stay NULL)."""
    return valid.select(
        "release", "code", "code_nodot", "description",
        is_billable=pl.lit(True),
        category=pl.col("code_nodot").str.slice(0, 3),
        seq=pl.col("line_no"),
    )


def parse_release(release: Release, inputs: dict[str, Path]) -> dict[str, pl.DataFrame]:
    """All ICD-10-CM tables of one release from whichever official files were found.

    The Tabular XML is the primary source (hierarchy and notes). The valid-code file, when present, is
    loaded into ``icd10cm_valid_codes`` and must agree with the codes derived from the Tabular: the same
    set of billable codes with the same descriptions — a mismatch is an error, not a warning.
    """
    rid = release.release
    out: dict[str, pl.DataFrame] = {}
    if "tabular" in inputs:
        out.update(parse_tabular(inputs["tabular"], rid))
    if "codes" in inputs:
        out["icd10cm_valid_codes"] = parse_code_file(inputs["codes"], rid)
    if "order" in inputs:
        out["icd10cm_order"] = parse_order_file(inputs["order"], rid)
    if "icd10cm_codes" not in out:
        if "icd10cm_order" in out:
            out["icd10cm_codes"] = codes_from_order(out["icd10cm_order"])
        elif "icd10cm_valid_codes" in out:
            out["icd10cm_codes"] = codes_from_code_file(out["icd10cm_valid_codes"])
    elif "icd10cm_valid_codes" in out:
        check_against_code_file(out["icd10cm_codes"], out["icd10cm_valid_codes"], str(inputs["codes"]))
    return out


def check_against_code_file(codes: pl.DataFrame, valid: pl.DataFrame, path: str) -> None:
    """Raise unless the Tabular's billable codes are exactly the code file's codes, descriptions included."""
    mine = codes.filter("is_billable").select("code", "description")
    theirs = valid.select("code", "description", "line_no")
    missing = theirs.join(mine, on="code", how="anti")
    if missing.height:
        row = missing.row(0, named=True)
        raise SourceFormatError(path, row["line_no"], f"every code in the code file to be a valid code in the Tabular ({missing.height} are not)", row["code"])
    extra = mine.join(theirs, on="code", how="anti")
    if extra.height:
        raise SourceFormatError(path, None, f"every valid code of the Tabular to be in the code file ({extra.height} are not)", ", ".join(extra["code"].head(5).to_list()))
    diff = theirs.join(mine, on="code").filter(pl.col("description") != pl.col("description_right"))
    if diff.height:
        row = diff.row(0, named=True)
        raise SourceFormatError(path, row["line_no"], f"the Tabular's description of {row['code']} ({diff.height} differ)", row["description"])
