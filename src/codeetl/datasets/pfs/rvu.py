"""The national RVU file (role ``rvu``: fixed width; role ``rvu_csv``: the same data as CSV).

The record layout is stated once, in ``layout.csv`` beside this module (columns, positions, kinds, decimal
scales and the CSV header spellings), as the release's README PDF gives it (``RVU26B.pdf``; ``RVU25D.pdf``
is identical apart from the CY2026 pricing indicator). Both parsers read it, and the tests check that
``tables.sql``'s ``pfs_rvu`` has exactly its columns.

Fixed width (``PPRRVU<year>_<Mon>[_nonQPP].txt``): any number of ``HDR`` records first (columns 5-50: a line
of the copyright statement), then one data record per HCPCS code + modifier, 171 characters (the PDF says
"Length of record: 200"; the files stop at column 171 and anything after it must be blank). Every filler
column must be blank: a shifted layout fails loudly instead of loading shifted numbers.

CSV (``PPRRVU2025_Oct.csv``): title rows (9 in 2025-D), then a header stacked over several rows
(``NON-FAC`` / ``PE RVU``; ``CO-`` / ``SURG``) ending with the row whose first cell is ``HCPCS``. A column's
name is the text of its cells from the top down to that row; it must end (word by word) with one of the
layout's ``csv_names`` (the longest match wins). Required columns missing is an error; unknown extra columns
are ignored. On 2025-D, where both files exist, the tests check both parsers give the same table.

Numbers are parsed from their text into polars Decimals of the layout's scale, after a pattern check that
rejects more decimals than the scale (``str.to_decimal`` would silently round, and turns bad text into NULL).
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path

import polars as pl

from codeetl.errors import SourceFormatError
from codeetl.sources.textio import csv_records, raise_first, read_text

RECORD_LENGTH = 171
"""Characters per data record in the fixed-width RVU file (the PDF's "200" includes unused trailing space)."""

_RVU_STRICT = r"^ *[0-9]{1,3}\.[0-9]{2}$"
KINDS: dict[str, tuple[str, str, str]] = {
    # kind: (fixed-width pattern on the raw slice, CSV pattern on the stripped text, description for errors)
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


@dataclass(frozen=True)
class Field:
    """One field of ``layout.csv``: ``column`` is None for filler."""

    column: str | None
    first: int
    last: int
    kind: str
    scale: int | None
    csv_names: tuple[str, ...]
    csv_optional: bool


@cache
def layout() -> tuple[Field, ...]:
    """The RVU record layout, read from ``layout.csv`` (cached)."""
    text = resources.files(__package__).joinpath("layout.csv").read_text(encoding="utf-8")
    rows = csv.DictReader(io.StringIO("\n".join(ln for ln in text.splitlines() if not ln.startswith("#"))))
    return tuple(
        Field(r["column"] or None, int(r["first"]), int(r["last"]), r["kind"], int(r["scale"]) if r["scale"] else None,
              tuple(n for n in r["csv_names"].split("|") if n), r["csv_optional"] == "1")
        for r in rows
    )


def fields() -> list[Field]:
    """The layout's data fields (filler left out), in record order."""
    return [f for f in layout() if f.column]


def rvu_columns() -> list[str]:
    """The columns of table ``pfs_rvu``, in order: release, every layout field, line_no."""
    return ["release", *(f.column for f in fields()), "line_no"]


def normalise_header(text: str) -> str:
    """A CSV header cell as the layout spells names: upper case, single spaces, no space after a hyphen."""
    text = re.sub(r"\s+", " ", text.replace("\xa0", " ")).strip().upper()
    return re.sub(r"-\s+", "-", text)


def _converted(f: Field) -> pl.Expr:
    """The typed ``pfs_rvu`` column of one checked text field."""
    text = pl.col(f.column).str.strip_chars()
    if f.scale is not None:  # ".11" -> "0.11" for percentages; "1" stays
        text = pl.when(text.str.starts_with(".")).then("0" + text).otherwise(text)
        return text.str.to_decimal(scale=f.scale).cast(pl.Decimal(38, f.scale)).alias(f.column)
    if f.kind == "plus":
        return (text == "+").alias(f.column)
    if f.kind == "na":
        return (text == "NA").alias(f.column)
    if f.kind in ("optdigit", "optcode"):
        return pl.when(text == "").then(None).otherwise(text).alias(f.column)
    if f.kind == "text":
        return pl.col(f.column).str.replace_all("\xa0", " ", literal=True).str.strip_chars()
    return text if f.kind == "modifier" else pl.col(f.column)


def _typed_rvu(raw: pl.DataFrame, path: str | Path, release: str, strict: bool) -> pl.DataFrame:
    """Check every field of a frame of RVU text fields (one column per layout field + ``line_no``) and
    return the typed ``pfs_rvu`` frame. ``strict`` selects the fixed-width patterns."""
    for f in fields():
        pattern = KINDS[f.kind][0 if strict else 1]
        if pattern:
            raise_first(raw, path, f"{f.column.replace('_', ' ')}: {KINDS[f.kind][2]}",
                        ~pl.col(f.column).str.contains(pattern), shown=f.column)
    out = raw.select(pl.lit(release, pl.String).alias("release"), *(_converted(f) for f in fields()),
                     pl.col("line_no").cast(pl.Int32))
    dup = out.filter(~pl.struct("hcpcs", "modifier").is_first_distinct()).sort("line_no")
    if dup.height:
        row = dup.row(0, named=True)
        raise SourceFormatError(path, row["line_no"], "one record per HCPCS code + modifier (this one repeats)",
                                f"{row['hcpcs']} {row['modifier']}".strip())
    return out


def parse_rvu_fixed(path: str | Path, release: str) -> pl.DataFrame:
    """The fixed-width RVU file as ``pfs_rvu`` rows (layout in ``layout.csv``)."""
    frame = (pl.DataFrame({"text": read_text(path).split("\n")}, schema={"text": pl.String})
             .with_row_index("line_no", offset=1).with_columns(pl.col("text").str.strip_suffix("\r")))
    is_hdr = pl.col("text").str.starts_with("HDR")
    data = frame.filter(~is_hdr & (pl.col("text").str.strip_chars() != ""))
    if data.height == 0:
        raise SourceFormatError(path, None, "RVU data records after the HDR records", "no data records")
    raise_first(frame, path, "HDR records only before the first data record",
                is_hdr & (pl.col("line_no") > data["line_no"].min()))
    raise_first(data, path, f"a data record of {RECORD_LENGTH} characters (layout of the release's RVU PDF)",
                (pl.col("text").str.len_chars() < RECORD_LENGTH)
                | (pl.col("text").str.slice(RECORD_LENGTH).str.strip_chars() != ""))
    data = data.with_columns(pl.col("text").str.slice(f.first - 1, f.last - f.first + 1).alias(f.column or f"_filler_{f.first}")
                             for f in layout())
    for f in layout():
        if f.column is None:
            where = f"column {f.first}" if f.first == f.last else f"columns {f.first}-{f.last}"
            col = f"_filler_{f.first}"
            raise_first(data, path, f"blank filler in {where}", pl.col(col).str.strip_chars() != "", shown=col)
    return _typed_rvu(data, path, release, strict=True)


def _match_csv_columns(names: list[str], path: str | Path, line: int) -> dict[str, int]:
    """Map each layout column to its CSV column index, by word-suffix match of the stacked header names."""
    found: dict[str, int] = {}
    for idx, name in enumerate(names):
        words = name.split()
        matches = [(len(s.split()), f.column) for f in fields() for s in f.csv_names
                   if len(s.split()) <= len(words) and words[-len(s.split()):] == s.split()]
        if not matches:
            continue
        column = max(matches)[1]
        if column in found:
            first = next(f for f in fields() if f.column == column).csv_names[0]
            raise SourceFormatError(path, line, f"one column named like {first!r}", f"columns {found[column] + 1} and {idx + 1}")
        found[column] = idx
    missing = [f.csv_names[0] for f in fields() if f.column not in found and not f.csv_optional]
    if missing:
        raise SourceFormatError(path, line, "the RVU columns " + ", ".join(map(repr, missing)), " | ".join(names))
    return found


def parse_rvu_csv(path: str | Path, release: str) -> pl.DataFrame:
    """The CSV RVU file (title rows, stacked header, columns by name) as ``pfs_rvu`` rows."""
    rows = csv_records(path)
    hdr = next((i for i, (_, cells) in enumerate(rows) if cells and cells[0].strip().upper() == "HCPCS"), None)
    if hdr is None:
        raise SourceFormatError(path, None, "a header row whose first cell is HCPCS")
    width = len(rows[hdr][1])
    names = [normalise_header(" ".join(cells[c] for _, cells in rows[: hdr + 1] if c < len(cells) and cells[c].strip()))
             for c in range(width)]
    cols = _match_csv_columns(names, path, rows[hdr][0])
    records = [(ln, cells) for ln, cells in rows[hdr + 1:] if any(c.strip() for c in cells)]
    short = next(((ln, cells) for ln, cells in records if len(cells) < width), None)
    if short:
        raise SourceFormatError(path, short[0], f"{width} comma-separated fields (as in the header row)", ",".join(short[1]))
    data: dict[str, list] = {"line_no": [ln for ln, _ in records]}
    for f in fields():
        idx = cols.get(f.column)
        data[f.column] = [cells[idx].strip() for _, cells in records] if idx is not None else [""] * len(records)
    frame = pl.DataFrame(data, schema={"line_no": pl.Int64, **{f.column: pl.String for f in fields()}})
    return _typed_rvu(frame, path, release, strict=False)
