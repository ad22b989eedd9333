"""Medicare Physician Fee Schedule (PFS): the national RVU file, the GPCIs and the locality/county crosswalk.

Dataset ``pfs``. One release per quarterly CMS "PFS Relative Value Files" zip (``RVU26B.zip`` = CY2026
April release = release ``2026-B``); see ``catalog/pfs.toml``. The layouts below are those documented in
the release's own README PDF ("National Physician Fee Schedule Relative Value File Calendar Year 2026",
``RVU26B.pdf``; ``RVU25D.pdf`` is identical apart from the pricing indicator noted below), checked against
the files of releases 2026-B and 2025-D.

Copyright: CPT codes and their short descriptors are AMA-copyrighted, dental (D) codes ADA-copyrighted.
The RVU file may be stored and shown with the notice it carries: :func:`file_notices` reads it (with the
years the file states) into table ``pfs_notice``, which the pages print. :data:`CPT_COPYRIGHT_NOTICE` is
RVU26B.pdf's wording, for reference; :func:`read_header_notice` returns one file's HDR text verbatim.

Role ``rvu`` — ``PPRRVU<year>_<Mon>[_nonQPP].txt``, fixed width
    Seven (any number of) header records first: columns 1-3 ``HDR``, 5-50 a line of the copyright
    statement. Then one data record per HCPCS code + modifier, 171 characters (the PDF says "Length of
    record: 200"; the files stop at column 171 and we accept 171-200 with nothing after 171). Columns
    (1-based, inclusive, PIC as in the PDF):

    ===========  =========================  ========  ================================================
    1-5          HCPCS code                 X(5)
    6-7          modifier                   X(2)      blank = global service; 26, TC, 53
    8-57         short descriptor           X(50)     AMA/ADA copyright
    58           status code                X(1)      Attachment A, see ``pfs_status``
    59           (not in the PDF)           X(1)      ``+`` = RVUs shown are "not used for Medicare
                                                      payment" — the CSV names this column
    60-65        work RVU                   999.99
    67-72        non-facility PE RVU        999.99
    73-74        non-facility NA indicator  X(2)      ``NA`` = rarely/never performed in this setting
    76-81        facility PE RVU            999.99
    82-83        facility NA indicator      X(2)
    85-89        malpractice (MP) RVU       99.99
    91-96        total non-facility RVUs    999.99    work + non-facility PE + MP
    97-102       total facility RVUs        999.99    work + facility PE + MP
    103          PC/TC indicator            X(1)
    104-106      global surgery days        XXX       000, 010, 090, MMM, XXX, YYY, ZZZ
    107-109      preoperative percentage    .99
    110-112      intraoperative percentage  .99
    113-115      postoperative percentage   .99
    116          multiple procedure (51)    X(1)
    117          bilateral surgery (50)     X(1)
    118          assistant at surgery       X(1)
    119          co-surgeons (62)           X(1)
    120          team surgery (66)          X(1)
    121          pricing indicator          X(1)      new in CY2026 (1 = QPP indicator applies,
                                                      9 = n/a); filler (blank) in CY2025
    128-132      endoscopic base code       X(5)
    133-140      conversion factor          999.9999
    142-143      physician supervision      X(2)
    144          calculation flag           X(1)
    146-147      diagnostic imaging family  X(2)
    152-157      non-facility PE for OPPS   999.99    OPPS imaging cap (DRA 2005 §5102(b))
    159-164      facility PE for OPPS       999.99
    166-171      MP for OPPS                999.99    the PDF prints this location as "1"
    ===========  =========================  ========  ================================================

    Every other column (66, 75, 84, 90, 122-127, 141, 145, 148-151, 158, 165) is filler and must be
    blank: a shifted layout fails loudly instead of loading shifted numbers.

Role ``rvu_csv`` — the same data as CSV (``PPRRVU2025_Oct.csv``)
    Title rows (9 in 2025-D: title, copyright lines, release date) and then a header that is stacked over
    several rows (``NON-FAC`` / ``PE RVU``; ``CO-`` / ``SURG``), ending with the row whose first cell is
    ``HCPCS``. Columns are found by name, not position: each column's name is the text of its cells from
    the top of the file down to the ``HCPCS`` row, and it must end (word by word) with one of the spellings
    in ``_CSV_COLUMNS`` (the longest match wins). Column sets differ between years; required columns
    missing is an error, unknown extra columns are ignored. Used when a release has no ``.txt`` file; on
    2025-D, where both exist, the tests check both parsers give the same table.

Role ``gpci`` — ``GPCI<year>.csv`` (Addendum E)
    A title row, a blank row, the header row (``Medicare Administrative Contractor (MAC)``, ``State``,
    ``Locality Number``, ``Locality Name``, then the GPCIs: ``2025 PW GPCI (with 1.0 Floor)``,
    ``2025 PE GPCI``, ``2025 MP GPCI``; CY2026 adds ``2026 PW GPCI (without 1.0 Floor)`` before the floored
    one), one row per locality, then footnotes (``*Work GPCI reflects a 1.5 floor in Alaska...``) and
    notes. The MAC is 5 digits and the locality 2 (kept as text with leading zeros). Trailing asterisks of
    a locality name are footnote markers: removed from the name, the footnote goes to ``note``.

Role ``locco`` — ``<yy>LOCCO.csv`` (counties included in each locality)
    Title row, blank row, header ``Medicare Adminstrative Contractor, Locality Number, State, Fee Schedule
    Area, Counties`` [sic], then data rows separated by blank rows. The CSV lost the leading zeros
    (``2102`` for MAC 02102, ``0`` for locality 00): they are restored. The state is printed once per
    state (continuation rows leave it blank) and carried down. An exact duplicate row (2025: Missouri
    "REST OF STATE*" is printed twice) is dropped; two different rows for one MAC + locality are an error.

Exact decimals throughout: every number is parsed from its text into a polars Decimal of the scale the
layout gives (RVUs 2, percentages 2, GPCIs 3, conversion factor 4), after a pattern check that rejects
more decimals than the scale (polars' ``str.to_decimal`` would silently round, and turns bad text into
NULL). No float is involved anywhere; payment arithmetic is in ``sql/views/30_pfs.sql``.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import polars as pl

from codeetl.catalog import Release
from codeetl.errors import FetchError, SourceFormatError
from codeetl.textio import read_text

PARSER_VERSION = "1"
TABLES_SQL = "tables/pfs.sql"

CPT_COPYRIGHT_NOTICE = (
    "CPT codes and descriptions only are copyright 2026 American Medical Association. "
    "All rights reserved. Applicable FARS/DFARS apply."
)
"""The AMA notice as RVU26B.pdf words it; the RVU files' ``HDR`` records carry the same text."""

DENTAL_COPYRIGHT_NOTICE = "All dental codes copyright 2025/26 American Dental Association, all rights reserved."
"""The ADA notice for HCPCS codes starting with D, as RVU26B.pdf words it."""

RECORD_LENGTH = 171
"""Characters per data record in the fixed-width RVU file (the PDF's "200" includes unused trailing space)."""

# --------------------------------------------------------------------------------------------------
# Column kinds: how a field is checked and converted. (fixed-width pattern on the raw slice, CSV/shared
# pattern on the stripped text, description for error messages)
# --------------------------------------------------------------------------------------------------

_RVU_STRICT = r"^ *[0-9]{1,3}\.[0-9]{2}$"
_KINDS: dict[str, tuple[str, str, str]] = {
    "hcpcs": (r"^[0-9A-Z]{5}$", r"^[0-9A-Z]{5}$", "a 5-character HCPCS code"),
    "modifier": (r"^(  |[0-9A-Z]{2})$", r"^([0-9A-Z]{2})?$", "a blank or 2-character modifier"),
    "text": (r"", r"", "text"),
    "status": (r"^[A-Z]$", r"^[A-Z]$", "a one-letter status code"),
    "plus": (r"^[ +]$", r"^\+?$", "blank or '+' (not used for Medicare payment)"),
    "rvu": (_RVU_STRICT, r"^[0-9]{1,3}(\.[0-9]{1,2})?$", "an RVU (999.99)"),
    "na": (r"^(  |NA)$", r"^(NA)?$", "blank or NA"),
    "digit": (r"^[0-9]$", r"^[0-9]$", "one digit"),
    "optdigit": (r"^[ 0-9]$", r"^[0-9]?$", "blank or one digit"),
    "global": (r"^[0-9A-Z]{3}$", r"^[0-9A-Z]{3}$", "global days (000, 010, 090, MMM, XXX, YYY, ZZZ)"),
    "pct": (r"^\.[0-9]{2}$", r"^(0|1)?\.[0-9]{1,2}$|^(0|1)$", "a percentage (.99)"),
    "optcode": (r"^( {5}|[0-9A-Z]{5})$", r"^([0-9A-Z]{5})?$", "blank or a 5-character HCPCS code"),
    "cf": (r"^ *[0-9]{1,3}\.[0-9]{4}$", r"^[0-9]{1,3}(\.[0-9]{1,4})?$", "a conversion factor (999.9999)"),
    "code2": (r"^[0-9A-Z]{2}$", r"^[0-9A-Z]{2}$", "a 2-character code"),
}

# (column, first, last, kind); column None = filler that must be blank. Positions 1-based inclusive.
RVU_LAYOUT: list[tuple[str | None, int, int, str]] = [
    ("hcpcs", 1, 5, "hcpcs"),
    ("modifier", 6, 7, "modifier"),
    ("description", 8, 57, "text"),
    ("status", 58, 58, "status"),
    ("not_used_for_medicare", 59, 59, "plus"),
    ("work_rvu", 60, 65, "rvu"),
    (None, 66, 66, ""),
    ("nonfacility_pe_rvu", 67, 72, "rvu"),
    ("nonfacility_na", 73, 74, "na"),
    (None, 75, 75, ""),
    ("facility_pe_rvu", 76, 81, "rvu"),
    ("facility_na", 82, 83, "na"),
    (None, 84, 84, ""),
    ("mp_rvu", 85, 89, "rvu"),
    (None, 90, 90, ""),
    ("nonfacility_total", 91, 96, "rvu"),
    ("facility_total", 97, 102, "rvu"),
    ("pctc_indicator", 103, 103, "digit"),
    ("global_days", 104, 106, "global"),
    ("preop_pct", 107, 109, "pct"),
    ("intraop_pct", 110, 112, "pct"),
    ("postop_pct", 113, 115, "pct"),
    ("mult_proc", 116, 116, "digit"),
    ("bilat_surg", 117, 117, "digit"),
    ("asst_surg", 118, 118, "digit"),
    ("co_surg", 119, 119, "digit"),
    ("team_surg", 120, 120, "digit"),
    ("pricing_indicator", 121, 121, "optdigit"),
    (None, 122, 127, ""),
    ("endo_base", 128, 132, "optcode"),
    ("conversion_factor", 133, 140, "cf"),
    (None, 141, 141, ""),
    ("phys_supervision", 142, 143, "code2"),
    ("calc_flag", 144, 144, "digit"),
    (None, 145, 145, ""),
    ("diag_imaging_family", 146, 147, "code2"),
    (None, 148, 151, ""),
    ("nonfacility_pe_opps", 152, 157, "rvu"),
    (None, 158, 158, ""),
    ("facility_pe_opps", 159, 164, "rvu"),
    (None, 165, 165, ""),
    ("mp_opps", 166, 171, "rvu"),
]

_KIND_OF = {name: kind for name, _, _, kind in RVU_LAYOUT if name}

# Header spellings of the CSV columns (normalised: upper case, single spaces, no space after a hyphen).
_CSV_COLUMNS: dict[str, tuple[str, ...]] = {
    "hcpcs": ("HCPCS",),
    "modifier": ("MOD", "MODIFIER"),
    "description": ("DESCRIPTION",),
    "status": ("STATUS CODE",),
    "not_used_for_medicare": ("NOT USED FOR MEDICARE PAYMENT",),
    "work_rvu": ("WORK RVU",),
    "nonfacility_pe_rvu": ("NON-FAC PE RVU", "NON-FACILITY PE RVU"),
    "nonfacility_na": ("NON-FAC NA INDICATOR", "NON-FACILITY NA INDICATOR"),
    "facility_pe_rvu": ("FACILITY PE RVU",),
    "facility_na": ("FACILITY NA INDICATOR",),
    "mp_rvu": ("MP RVU",),
    "nonfacility_total": ("NON-FACILITY TOTAL", "NON-FAC TOTAL"),
    "facility_total": ("FACILITY TOTAL",),
    "pctc_indicator": ("PCTC IND", "PCTC INDICATOR"),
    "global_days": ("GLOB DAYS", "GLOBAL DAYS"),
    "preop_pct": ("PRE OP",),
    "intraop_pct": ("INTRA OP",),
    "postop_pct": ("POST OP",),
    "mult_proc": ("MULT PROC",),
    "bilat_surg": ("BILAT SURG",),
    "asst_surg": ("ASST SURG",),
    "co_surg": ("CO-SURG", "CO SURG"),
    "team_surg": ("TEAM SURG",),
    "pricing_indicator": ("PRICING INDICATOR", "PRICING IND"),
    "endo_base": ("ENDO BASE",),
    "conversion_factor": ("CONV FACTOR", "CONVERSION FACTOR"),
    "phys_supervision": ("PHYSICIAN SUPERVISION OF DIAGNOSTIC PROCEDURES",),
    "calc_flag": ("CALCULATION FLAG",),
    "diag_imaging_family": ("DIAGNOSTIC IMAGING FAMILY INDICATOR",),
    "nonfacility_pe_opps": ("NON-FACILITY PE USED FOR OPPS PAYMENT AMOUNT",),
    "facility_pe_opps": ("FACILITY PE USED FOR OPPS PAYMENT AMOUNT",),
    "mp_opps": ("MP USED FOR OPPS PAYMENT AMOUNT",),
}
_CSV_OPTIONAL = {"pricing_indicator", "not_used_for_medicare"}

RVU_COLUMNS = [
    "release",
    "hcpcs",
    "modifier",
    "description",
    "status",
    "not_used_for_medicare",
    "work_rvu",
    "nonfacility_pe_rvu",
    "nonfacility_na",
    "facility_pe_rvu",
    "facility_na",
    "mp_rvu",
    "nonfacility_total",
    "facility_total",
    "pctc_indicator",
    "global_days",
    "preop_pct",
    "intraop_pct",
    "postop_pct",
    "mult_proc",
    "bilat_surg",
    "asst_surg",
    "co_surg",
    "team_surg",
    "pricing_indicator",
    "endo_base",
    "conversion_factor",
    "phys_supervision",
    "calc_flag",
    "diag_imaging_family",
    "nonfacility_pe_opps",
    "facility_pe_opps",
    "mp_opps",
    "line_no",
]
GPCI_COLUMNS = [
    "release",
    "mac",
    "locality",
    "locality_name",
    "state",
    "work_gpci",
    "work_gpci_without_floor",
    "pe_gpci",
    "mp_gpci",
    "note",
    "line_no",
]
LOCALITY_COLUMNS = ["release", "mac", "locality", "state", "fee_schedule_area", "counties", "note", "line_no"]

# --------------------------------------------------------------------------------------------------
# Reading text
# --------------------------------------------------------------------------------------------------


def _csv_rows(path: str | Path) -> list[tuple[int, list[str]]]:
    """``(line_no, cells)`` for every CSV record; ``line_no`` is the 1-based line the record starts on."""
    text = read_text(path)
    reader = csv.reader(io.StringIO(text, newline=""))
    out = []
    start = 1
    for cells in reader:
        out.append((start, cells))
        start = reader.line_num + 1
    return out


def _norm_header(text: str) -> str:
    text = re.sub(r"\s+", " ", text.replace("\xa0", " ")).strip().upper()
    return re.sub(r"-\s+", "-", text)


def _first_bad(frame: pl.DataFrame, bad: pl.Expr, path: str | Path, expected: str, shown: str) -> None:
    rows = frame.filter(bad)
    if rows.height:
        row = rows.row(0, named=True)
        raise SourceFormatError(path, int(row["line_no"]), expected, row[shown])


# --------------------------------------------------------------------------------------------------
# RVU file
# --------------------------------------------------------------------------------------------------


_AMA = re.compile(r"COPYRIGHT\s+(\d{4})\s+AMERICAN\s+MEDICAL\s+ASSOCIATION", re.I)
_ADA = re.compile(r"COPYRIGHT\s+(\d{4}(?:/\d{2,4})?)\s+AMERICAN\s+DENTAL\s+ASSOCIATION", re.I)


def file_notices(path: str | Path) -> tuple[str, str | None]:
    """The copyright notices an RVU file carries — in its ``HDR`` records (fixed width) or its title rows
    (CSV) — as ``(cpt_notice, dental_notice)``, with the years the file states (2026 in RVU26B, 2024 in
    RVU25D's CSV). The wording is the PDF's; the years are the file's. A file without the AMA notice is
    an error: CPT descriptors may only be stored and shown with it."""
    head = []
    for line in read_text(path).splitlines()[:15]:
        head.append(line[4:] if line.startswith("HDR") else line)
    text = re.sub(r"[\s,]+", " ", " ".join(head))
    ama = _AMA.search(text)
    if not ama:
        raise SourceFormatError(path, None, "the AMA CPT copyright notice in the HDR records or title rows")
    ada = _ADA.search(text)
    cpt = (f"CPT codes and descriptions only are copyright {ama.group(1)} American Medical Association. "
           "All rights reserved. Applicable FARS/DFARS apply.")
    dental = f"All dental codes copyright {ada.group(1)} American Dental Association, all rights reserved." if ada else None
    return cpt, dental


def read_header_notice(path: str | Path) -> str:
    """The copyright text of a fixed-width RVU file's ``HDR`` records (columns 5-50), joined with spaces.

    Returned as the file has it (upper case, and cut at column 50 mid-word in places, e.g. "ALL RIGH").
    """
    parts = []
    for line in read_text(path).splitlines():
        if not line.startswith("HDR"):
            break
        parts.append(line[4:50].strip())
    return " ".join(re.sub(r"\s+", " ", p) for p in parts if p)


def _typed_rvu(raw: pl.DataFrame, path: str | Path, release: str, strict: bool) -> pl.DataFrame:
    """Check every field of a frame of RVU text fields (one column per layout field + ``line_no``) and
    convert it to the ``pfs_rvu`` columns. ``strict`` selects the fixed-width patterns."""
    for name, kind in _KIND_OF.items():
        pattern = _KINDS[kind][0 if strict else 1]
        if not pattern:
            continue
        _first_bad(raw, ~pl.col(name).str.contains(pattern), path, f"{name.replace('_', ' ')}: {_KINDS[kind][2]}", name)

    def dec(name: str, scale: int) -> pl.Expr:
        text = pl.col(name).str.strip_chars()
        if _KIND_OF[name] == "pct":  # ".11" -> "0.11"; "1" stays
            text = pl.when(text.str.starts_with(".")).then("0" + text).otherwise(text)
        return text.str.to_decimal(scale=scale).cast(pl.Decimal(38, scale)).alias(name)

    def opt(name: str) -> pl.Expr:
        text = pl.col(name).str.strip_chars()
        return pl.when(text == "").then(None).otherwise(text).alias(name)

    out = raw.select(
        pl.lit(release, pl.String).alias("release"),
        pl.col("hcpcs"),
        pl.col("modifier").str.strip_chars(),
        pl.col("description").str.replace_all("\xa0", " ", literal=True).str.strip_chars(),
        pl.col("status"),
        (pl.col("not_used_for_medicare").str.strip_chars() == "+").alias("not_used_for_medicare"),
        dec("work_rvu", 2),
        dec("nonfacility_pe_rvu", 2),
        (pl.col("nonfacility_na").str.strip_chars() == "NA").alias("nonfacility_na"),
        dec("facility_pe_rvu", 2),
        (pl.col("facility_na").str.strip_chars() == "NA").alias("facility_na"),
        dec("mp_rvu", 2),
        dec("nonfacility_total", 2),
        dec("facility_total", 2),
        pl.col("pctc_indicator"),
        pl.col("global_days"),
        dec("preop_pct", 2),
        dec("intraop_pct", 2),
        dec("postop_pct", 2),
        pl.col("mult_proc"),
        pl.col("bilat_surg"),
        pl.col("asst_surg"),
        pl.col("co_surg"),
        pl.col("team_surg"),
        opt("pricing_indicator"),
        opt("endo_base"),
        dec("conversion_factor", 4),
        pl.col("phys_supervision"),
        pl.col("calc_flag"),
        pl.col("diag_imaging_family"),
        dec("nonfacility_pe_opps", 2),
        dec("facility_pe_opps", 2),
        dec("mp_opps", 2),
        pl.col("line_no").cast(pl.Int32),
    )
    dup = out.filter(~pl.struct("hcpcs", "modifier").is_first_distinct()).sort("line_no")
    if dup.height:
        row = dup.row(0, named=True)
        raise SourceFormatError(path, row["line_no"], "one record per HCPCS code + modifier (this one repeats)", f"{row['hcpcs']} {row['modifier']}".strip())
    return out.select(RVU_COLUMNS)


def parse_rvu_fixed(path: str | Path, release: str) -> pl.DataFrame:
    """Parse the fixed-width RVU file (layout in the module docstring) into ``pfs_rvu`` rows."""
    lines = read_text(path).split("\n")
    frame = (
        pl.DataFrame({"text": lines}, schema={"text": pl.String})
        .with_row_index("line_no", offset=1)
        .with_columns(pl.col("text").str.strip_suffix("\r"))
    )
    header = frame.filter(pl.col("text").str.starts_with("HDR"))
    data = frame.filter(~pl.col("text").str.starts_with("HDR") & (pl.col("text").str.strip_chars() != ""))
    if header.height and data.height and header["line_no"].max() > data["line_no"].min():
        row = header.filter(pl.col("line_no") > data["line_no"].min()).row(0, named=True)
        raise SourceFormatError(path, int(row["line_no"]), "HDR records only before the first data record", row["text"])
    if data.height == 0:
        raise SourceFormatError(path, None, "RVU data records after the HDR records", "no data records")
    _first_bad(
        data,
        (pl.col("text").str.len_chars() < RECORD_LENGTH) | (pl.col("text").str.slice(RECORD_LENGTH).str.strip_chars() != ""),
        path,
        f"a data record of {RECORD_LENGTH} characters (layout of the release's RVU PDF)",
        "text",
    )
    data = data.with_columns(
        pl.col("text").str.slice(first - 1, last - first + 1).alias(name or f"_filler_{first}")
        for name, first, last, _ in RVU_LAYOUT
    )
    for name, first, last, _ in RVU_LAYOUT:
        if name is None:
            col = f"_filler_{first}"
            where = f"column {first}" if first == last else f"columns {first}-{last}"
            _first_bad(data, pl.col(col).str.strip_chars() != "", path, f"blank filler in {where}", col)
    return _typed_rvu(data, path, release, strict=True)


def _match_csv_columns(names: list[str], path: str | Path, line: int) -> dict[str, int]:
    """Map canonical column -> CSV column index, by word-suffix match of the stacked header names."""
    found: dict[str, int] = {}
    for idx, name in enumerate(names):
        words = name.split()
        best: tuple[int, str] | None = None
        for column, spellings in _CSV_COLUMNS.items():
            for spelling in spellings:
                sw = spelling.split()
                if len(sw) <= len(words) and words[-len(sw) :] == sw and (best is None or len(sw) > best[0]):
                    best = (len(sw), column)
        if best is None:
            continue
        column = best[1]
        if column in found:
            raise SourceFormatError(path, line, f"one column named like {_CSV_COLUMNS[column][0]!r}", f"columns {found[column] + 1} and {idx + 1}")
        found[column] = idx
    missing = [c for c in _CSV_COLUMNS if c not in found and c not in _CSV_OPTIONAL]
    if missing:
        raise SourceFormatError(path, line, "the RVU columns " + ", ".join(repr(_CSV_COLUMNS[c][0]) for c in missing), " | ".join(names))
    return found


def parse_rvu_csv(path: str | Path, release: str) -> pl.DataFrame:
    """Parse the CSV RVU file (title rows, stacked header, columns by name) into ``pfs_rvu`` rows."""
    rows = _csv_rows(path)
    hdr = next((i for i, (_, cells) in enumerate(rows) if cells and cells[0].strip().upper() == "HCPCS"), None)
    if hdr is None:
        raise SourceFormatError(path, None, "a header row whose first cell is HCPCS")
    width = len(rows[hdr][1])
    names = [
        _norm_header(" ".join(cells[c] for _, cells in rows[: hdr + 1] if c < len(cells) and cells[c].strip()))
        for c in range(width)
    ]
    cols = _match_csv_columns(names, path, rows[hdr][0])
    records = [(ln, cells) for ln, cells in rows[hdr + 1 :] if any(c.strip() for c in cells)]
    for ln, cells in records:
        if len(cells) < width:
            raise SourceFormatError(path, ln, f"{width} comma-separated fields (as in the header row)", ",".join(cells))
    data: dict[str, list] = {"line_no": [ln for ln, _ in records]}
    for column in _CSV_COLUMNS:
        idx = cols.get(column)
        data[column] = [cells[idx].strip() for _, cells in records] if idx is not None else [""] * len(records)
    frame = pl.DataFrame(data, schema={"line_no": pl.Int64, **{c: pl.String for c in _CSV_COLUMNS}})
    return _typed_rvu(frame, path, release, strict=False)


# --------------------------------------------------------------------------------------------------
# GPCI and locality files
# --------------------------------------------------------------------------------------------------

_MAC_RE = re.compile(r"^[0-9]{4,5}$")
_LOC_RE = re.compile(r"^[0-9]{1,2}$")
_GPCI_RE = r"^[0-9](\.[0-9]{1,3})?$"


def _footnotes(rows: list[tuple[int, list[str]]]) -> dict[str, str]:
    """Footnote marker ('*', '**') -> its text, from rows whose first cell starts with asterisks."""
    notes = {}
    for _, cells in rows:
        m = re.match(r"^(\*+)\s*(.+)$", cells[0].strip()) if cells else None
        if m:
            notes[m.group(1)] = m.group(2).strip()
    return notes


def _split_marker(name: str) -> tuple[str, str]:
    m = re.match(r"^(.*?)\s*(\*+)$", name.strip())
    return (m.group(1), m.group(2)) if m else (name.strip(), "")


def _is_note_row(cells: list[str]) -> bool:
    """Blank rows, and footer rows with text only in the first cell (notes, footnotes, dates)."""
    return all(not c.strip() for c in cells[1:])


def _find_header(rows, path, must: tuple[str, ...], what: str) -> int:
    for i, (_, cells) in enumerate(rows):
        normed = [_norm_header(c) for c in cells]
        if all(any(m in c for c in normed) for m in must):
            return i
    raise SourceFormatError(path, None, f"a header row of the {what} (cells containing {', '.join(must)})")


def parse_gpci_csv(path: str | Path, release: str) -> pl.DataFrame:
    """Parse Addendum E (GPCIs by MAC and locality) into ``pfs_gpci`` rows."""
    rows = _csv_rows(path)
    hdr = _find_header(rows, path, ("LOCALITY NAME", "PE GPCI", "MP GPCI"), "GPCI file")
    names = [_norm_header(c) for c in rows[hdr][1]]
    col: dict[str, int] = {}
    for i, n in enumerate(names):
        if "CONTRACTOR" in n or n == "MAC":
            col["mac"] = i
        elif n == "STATE":
            col["state"] = i
        elif n in ("LOCALITY NUMBER", "LOCALITY"):
            col["locality"] = i
        elif n == "LOCALITY NAME":
            col["locality_name"] = i
        elif ("PW GPCI" in n or "WORK GPCI" in n) and "WITHOUT" in n:
            col["work_gpci_without_floor"] = i
        elif "PW GPCI" in n or "WORK GPCI" in n:
            col["work_gpci"] = i
        elif "PE GPCI" in n:
            col["pe_gpci"] = i
        elif "MP GPCI" in n:
            col["mp_gpci"] = i
    need = ["mac", "state", "locality", "locality_name", "work_gpci", "pe_gpci", "mp_gpci"]
    missing = [c for c in need if c not in col]
    if missing:
        raise SourceFormatError(path, rows[hdr][0], "GPCI columns " + ", ".join(missing), " | ".join(rows[hdr][1]))
    body = rows[hdr + 1 :]
    notes = _footnotes(body)
    out: dict[str, list] = {k: [] for k in GPCI_COLUMNS if k != "release"}
    for ln, cells in body:
        cells = cells + [""] * (len(names) - len(cells))
        if _is_note_row(cells):
            continue
        mac, loc = cells[col["mac"]].strip(), cells[col["locality"]].strip()
        if not (_MAC_RE.match(mac) and _LOC_RE.match(loc)):
            raise SourceFormatError(path, ln, "a locality row: 5-digit MAC, 2-digit locality number, ...", ",".join(cells))
        name, marker = _split_marker(cells[col["locality_name"]])
        out["line_no"].append(ln)
        out["mac"].append(mac.zfill(5))
        out["locality"].append(loc.zfill(2))
        out["locality_name"].append(name)
        out["state"].append(cells[col["state"]].strip())
        out["note"].append(notes.get(marker) if marker else None)
        for g in ("work_gpci", "work_gpci_without_floor", "pe_gpci", "mp_gpci"):
            out[g].append(cells[col[g]].strip() if g in col else None)
    frame = pl.DataFrame(out, schema={k: (pl.Int64 if k == "line_no" else pl.String) for k in out})
    _first_bad(frame, ~pl.col("state").str.contains(r"^[A-Z]{2}$"), path, "a 2-letter state", "state")
    for g in ("work_gpci", "work_gpci_without_floor", "pe_gpci", "mp_gpci"):
        if g in col:
            _first_bad(frame, ~pl.col(g).str.contains(_GPCI_RE), path, f"{g.replace('_', ' ')}: a GPCI (9.999)", g)
    _first_bad(frame, pl.struct("mac", "locality").is_duplicated(), path, "one row per MAC + locality", "locality_name")
    return frame.select(
        pl.lit(release, pl.String).alias("release"),
        "mac",
        "locality",
        "locality_name",
        "state",
        *(pl.col(g).str.to_decimal(scale=3).cast(pl.Decimal(38, 3)) for g in ("work_gpci", "work_gpci_without_floor", "pe_gpci", "mp_gpci")),
        "note",
        pl.col("line_no").cast(pl.Int32),
    )


def parse_locco_csv(path: str | Path, release: str) -> pl.DataFrame:
    """Parse the locality/county crosswalk (``<yy>LOCCO.csv``) into ``pfs_locality`` rows."""
    rows = _csv_rows(path)
    hdr = _find_header(rows, path, ("LOCALITY NUMBER", "FEE SCHEDULE AREA", "COUNTIES"), "locality/county file")
    names = [_norm_header(c) for c in rows[hdr][1]]
    col: dict[str, int] = {}
    for i, n in enumerate(names):
        if "CONTRACTOR" in n or n == "MAC":
            col["mac"] = i
        elif n.startswith("LOCALITY"):
            col["locality"] = i
        elif n == "STATE":
            col["state"] = i
        elif n == "FEE SCHEDULE AREA":
            col["fee_schedule_area"] = i
        elif n == "COUNTIES":
            col["counties"] = i
    missing = [c for c in ("mac", "locality", "state", "fee_schedule_area", "counties") if c not in col]
    if missing:
        raise SourceFormatError(path, rows[hdr][0], "locality columns " + ", ".join(missing), " | ".join(rows[hdr][1]))
    body = rows[hdr + 1 :]
    notes = _footnotes(body)
    recs: list[dict] = []
    state = None
    seen: dict[tuple[str, str], dict] = {}
    for ln, cells in body:
        cells = cells + [""] * (len(names) - len(cells))
        if _is_note_row(cells):
            continue
        mac, loc = cells[col["mac"]].strip(), cells[col["locality"]].strip()
        if not (_MAC_RE.match(mac) and _LOC_RE.match(loc)):
            raise SourceFormatError(path, ln, "a locality row: MAC number, locality number, state, fee schedule area, counties", ",".join(cells))
        state = cells[col["state"]].strip() or state
        if state is None:
            raise SourceFormatError(path, ln, "a state on the first locality row", ",".join(cells))
        area, marker = _split_marker(re.sub(r"\s+", " ", cells[col["fee_schedule_area"]]))
        rec = {
            "mac": mac.zfill(5),
            "locality": loc.zfill(2),
            "state": state,
            "fee_schedule_area": area,
            "counties": re.sub(r"\s+", " ", cells[col["counties"]]).strip(),
            "note": notes.get(marker) if marker else None,
            "line_no": ln,
        }
        key = (rec["mac"], rec["locality"])
        if key in seen:
            if {k: v for k, v in seen[key].items() if k != "line_no"} == {k: v for k, v in rec.items() if k != "line_no"}:
                continue  # the same row printed twice (2025-D: Missouri REST OF STATE)
            raise SourceFormatError(path, ln, f"one row per MAC + locality (MAC {key[0]} locality {key[1]} is on line {seen[key]['line_no']})", ",".join(cells))
        seen[key] = rec
        recs.append(rec)
    schema = {"mac": pl.String, "locality": pl.String, "state": pl.String, "fee_schedule_area": pl.String, "counties": pl.String, "note": pl.String, "line_no": pl.Int32}
    frame = pl.DataFrame(recs, schema=schema)
    return frame.select(pl.lit(release, pl.String).alias("release"), *LOCALITY_COLUMNS[1:])


# --------------------------------------------------------------------------------------------------
# Release
# --------------------------------------------------------------------------------------------------

ROLES = ("rvu", "rvu_csv", "gpci", "locco")


def parse_release(release: Release, inputs: dict[str, Path]) -> dict[str, pl.DataFrame]:
    """``pfs_rvu`` (from the fixed-width file when present, else the CSV), ``pfs_gpci``, ``pfs_locality``."""
    rid = release.release
    out: dict[str, pl.DataFrame] = {}
    rvu_path = inputs.get("rvu") or inputs.get("rvu_csv")
    if "rvu" in inputs:
        out["pfs_rvu"] = parse_rvu_fixed(inputs["rvu"], rid)
    elif "rvu_csv" in inputs:
        out["pfs_rvu"] = parse_rvu_csv(inputs["rvu_csv"], rid)
    if rvu_path is not None:
        cpt, dental = file_notices(rvu_path)
        out["pfs_notice"] = pl.DataFrame({"release": [rid], "cpt_notice": [cpt], "dental_notice": [dental]},
                                         schema={"release": pl.String, "cpt_notice": pl.String, "dental_notice": pl.String})
    if "gpci" in inputs:
        out["pfs_gpci"] = parse_gpci_csv(inputs["gpci"], rid)
    if "locco" in inputs:
        out["pfs_locality"] = parse_locco_csv(inputs["locco"], rid)
    if not out:
        raise FetchError(f"pfs {rid}: none of the inputs {list(ROLES)} was found (got {sorted(inputs)})")
    return out
