"""The ICD-10-CM Conversion Table (role ``conversion_table``): for each code created since FY2017 (October 1, 2016), the year it
took effect and the code(s) it replaced.

CDC NCHS publishes it as an Excel workbook (``icd-10-cm-conversion-table-FY2025.xlsx``), one sheet: title rows
(a paragraph: "... Unless otherwise specified the code effective date is October 1 of the year listed."), a
header row ``Current code assignment | Effective | Previous Code(s) Assignment``, then one row per new code::

    M54.50   2021       M54.5
    U07.1    04/01/20   B97.29
    C56.3    2021       C56.1 and C56.2
    H36.811  2023       H35.20-H35.23
    W44.A0XA 2023       Codes in Categories T15-T19
    M04.8    2016       None

**The offline mirror holds a converted copy**: ``icd-10-cm-conversion-table-FY2025.csv`` is a redistributor's
tab-separated export of the workbook (quoted fields, the title paragraph as one quoted cell spanning two
lines, then the header), not a file CDC publishes. Both forms are read: ``.xlsx`` with a small reader of the
workbook's first sheet (shared and inline strings, numbers; an Excel date serial in the Effective column is
read as that date), anything else as the tab-separated export.

Rules (``icd10cm_replacements``): one row per (previous code, new code). "Effective" is a year (the code took
effect October 1 of that year: 2021 → 2021-10-01, so M54.5 → M54.50, M54.51, M54.59 on 2021-10-01) or a
date mm/dd/yy for the mid-year updates (04/01/20, 01/01/21, 04/01/22, 04/01/23). The previous-code cell lists
codes separated by ",", ";", "and", "AND" or "&"; a range (H35.20-H35.23, "Codes in Categories T15-T19")
stays one value with ``is_range``; "I63.-" and "a code from R11-" name the category (I63, R11). "None" (the
code replaced nothing) gives no row. Any other wording is an error naming the line. A row printed twice is
stored once (the FY2025 table prints the eight rows O44.20-O44.23, O44.30-O44.33 twice; the first line is kept).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import zipfile
from pathlib import Path

import polars as pl
from lxml import etree

from codeetl.errors import SourceFormatError
from codeetl.sources.textio import MAX_READ_BYTES, parse_xml, read_text

HEADER = ("Current code assignment", "Effective", "Previous Code(s) Assignment")
_CODE = r"\b[A-Z](?:[0-9][0-9A-Z]|[A-Z][0-9])(?:\.[0-9A-Z]{1,4})?(?![0-9A-Za-z])"
"""A code: a letter, then two letters or digits of which one at least is a digit (never the word AND)."""
_REF = re.compile(rf"({_CODE})(?:\.?-(?!\s*[A-Z]))?(?:\s*-\s*({_CODE}))?")
_CURRENT = re.compile(rf"^{_CODE}$")
_FILLER = re.compile(r"^(?:\s|,|;|&|\band\b|\bAND\b|\bCodes in Categories\b|\bCode from categories\b|\ba code from\b)*$")
_NS = {"m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main"}


def _xlsx_part(z: zipfile.ZipFile, name: str, path: str):
    """A workbook part's root element: its declared size capped before it is read (a zip bomb stops here),
    parsed by :func:`~codeetl.sources.textio.parse_xml` (no entity, DTD or network)."""
    size = z.getinfo(name).file_size
    if size > MAX_READ_BYTES:
        raise SourceFormatError(f"{path}!/{name}", None, f"a part of at most {MAX_READ_BYTES:,} bytes", f"{size:,} bytes")
    with z.open(name) as f:
        data = f.read(MAX_READ_BYTES + 1)
    if len(data) > MAX_READ_BYTES:
        raise SourceFormatError(f"{path}!/{name}", None, f"a part of at most {MAX_READ_BYTES:,} bytes", "more")
    return parse_xml(data, f"{path}!/{name}")


def _xlsx_rows(path: str) -> list[tuple[int, list[str]]]:
    """(row number, cell texts) of the first worksheet of an .xlsx workbook."""
    try:
        with zipfile.ZipFile(path) as z:
            names = z.namelist()
            shared = []
            if "xl/sharedStrings.xml" in names:
                for si in _xlsx_part(z, "xl/sharedStrings.xml", path).iterfind("m:si", _NS):
                    shared.append("".join(t.text or "" for t in si.iter(f"{{{_NS['m']}}}t")))
            sheet = sorted(n for n in names if re.fullmatch(r"xl/worksheets/sheet\d+\.xml", n))[0]
            root = _xlsx_part(z, sheet, path)
    except (zipfile.BadZipFile, IndexError, KeyError, etree.XMLSyntaxError) as e:
        raise SourceFormatError(path, None, "an .xlsx workbook with a worksheet", str(e)) from None
    out = []
    for row in root.iter(f"{{{_NS['m']}}}row"):
        cells: dict[int, str] = {}
        for c in row.iterfind("m:c", _NS):
            ref = c.get("r", "")
            col = 0
            for ch in re.match(r"[A-Z]*", ref).group(0):
                col = col * 26 + ord(ch) - 64
            kind, v = c.get("t"), c.find("m:v", _NS)
            if kind == "s" and v is not None:
                text = shared[int(v.text)]
            elif kind == "inlineStr":
                text = "".join(t.text or "" for t in c.iter(f"{{{_NS['m']}}}t"))
            else:
                text = v.text if v is not None and v.text is not None else ""
            cells[col - 1] = text
        width = max(cells) + 1 if cells else 0
        out.append((int(row.get("r", len(out) + 1)), [cells.get(i, "") for i in range(width)]))
    return out


def _tsv_rows(path: str) -> list[tuple[int, list[str]]]:
    reader = csv.reader(io.StringIO(read_text(path), newline=""), delimiter="\t")
    out, start = [], 1
    for cells in reader:
        out.append((start, cells))
        start = reader.line_num + 1
    return out


def effective_date(text: str, path: str, line: int) -> dt.date:
    """2021 → 2021-10-01; 04/01/23 → 2023-04-01; an Excel date serial (e.g. 45017) → that date."""
    t = text.strip()
    if re.fullmatch(r"\d{4}(?:\.0)?", t):
        return dt.date(int(float(t)), 10, 1)
    m = re.fullmatch(r"(\d{1,2})/(\d{1,2})/(\d{2}|\d{4})", t)
    if m:
        year = int(m.group(3))
        return dt.date(year + 2000 if year < 100 else year, int(m.group(1)), int(m.group(2)))
    if re.fullmatch(r"\d{5}(?:\.0)?", t):
        return dt.date(1899, 12, 30) + dt.timedelta(days=int(float(t)))
    raise SourceFormatError(path, line, "an effective year (2021) or date (04/01/23)", text)


def previous_codes(text: str, path: str, line: int) -> list[tuple[str, bool]]:
    """The previous-code cell as (code or range, is_range) pairs (rules in the module docstring)."""
    t = " ".join(text.split())
    if t == "None":
        return []
    refs = []
    for m in _REF.finditer(t):
        refs.append((f"{m.group(1)}-{m.group(2)}", True) if m.group(2) else (m.group(1), False))
    if not refs or not _FILLER.match(_REF.sub("", t)):
        raise SourceFormatError(path, line, "previous codes: codes or ranges separated by ',', ';', 'and' or '&', or None", text)
    return refs


def _table_rows(path: str) -> list[tuple[int, str, dt.date, str, str]]:
    """(line, new code, effective date, effective text, previous-code cell) of every row after the header."""
    rows = _xlsx_rows(path) if path.lower().endswith(".xlsx") else _tsv_rows(path)
    header_at = next((i for i, (_, cells) in enumerate(rows) if tuple(c.strip() for c in cells[:3]) == HEADER), None)
    if header_at is None:
        raise SourceFormatError(path, None, "a header row " + " | ".join(HEADER))
    out = []
    for line, cells in rows[header_at + 1:]:
        if not any(c.strip() for c in cells):
            continue
        if len(cells) < 3 or not _CURRENT.match(cells[0].strip()):
            raise SourceFormatError(path, line, "a new code, its effective year or date, the previous code(s)", "\t".join(cells))
        out.append((line, cells[0].strip(), effective_date(cells[1], path, line), cells[1].strip(), cells[2]))
    if not out:
        raise SourceFormatError(path, None, "at least one row after the header")
    return out


def parse_conversion_table(path: str | Path, release: str) -> pl.DataFrame:
    """The conversion table → ``icd10cm_replacements`` rows (one per previous code → new code)."""
    return conversion_tables(path, release)["icd10cm_replacements"]


def conversion_tables(path: str | Path, release: str) -> dict[str, pl.DataFrame]:
    """The conversion table → ``icd10cm_replacements`` (one row per previous code → new code) and
    ``icd10cm_new_codes`` (one row per new code, "None" rows included: every code created since the
    table's first year, with the day it took effect; a code printed twice is kept once, first line)."""
    path = str(path)
    rows = _table_rows(path)
    out = []
    for line, new, eff, eff_text, previous in rows:
        for code, is_range in previous_codes(previous, path, line):
            out.append({"release": release, "line_no": line, "code": code, "is_range": is_range, "replaced_by": new,
                        "effective": eff, "effective_text": eff_text, "previous_text": " ".join(previous.split())})
    frame = pl.DataFrame(out, schema={"release": pl.String, "line_no": pl.Int32, "code": pl.String, "is_range": pl.Boolean,
                                      "replaced_by": pl.String, "effective": pl.Date, "effective_text": pl.String,
                                      "previous_text": pl.String})
    new_codes = pl.DataFrame([{"release": release, "line_no": line, "code": new, "effective": eff, "effective_text": eff_text}
                              for line, new, eff, eff_text, _ in rows],
                             schema={"release": pl.String, "line_no": pl.Int32, "code": pl.String, "effective": pl.Date,
                                     "effective_text": pl.String})
    return {"icd10cm_replacements": frame.unique(["code", "replaced_by", "effective"], keep="first", maintain_order=True),
            "icd10cm_new_codes": new_codes.unique(["code"], keep="first", maintain_order=True)}
