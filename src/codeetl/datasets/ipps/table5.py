"""IPPS Table 5: MS-DRG relative weights and mean lengths of stay (layout in the package docstring)."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import polars as pl

from codeetl.errors import SourceFormatError
from codeetl.sources.textio import read_lines

ENCODING = "cp1252"

# normalised header (lower case, single spaces, the fiscal year replaced by "yyyy") -> column
_T5_HEADER = {
    "ms-drg": "drg",
    "fy yyyy final post-acute drg": "post_acute",
    "fy yyyy final special pay drg": "special_pay",
    "mdc": "mdc",
    "type": "type",
    "ms-drg title": "title",
    "weights - before cap": "weight_before_cap",
    "weights - 10% cap applied": "weight",
    "geometric mean los": "gmlos",
    "arithmetic mean los": "amlos",
}
# what DECIMAL(8,4) / DECIMAL(5,1) hold exactly: more decimals would be rounded, so they are refused
_WEIGHT_RE = re.compile(r"^(?:[0-9]{1,4}(?:\.[0-9]{1,4})?|\.[0-9]{1,4})$")
_LOS_RE = re.compile(r"^(?:[0-9]{1,4}(?:\.[0-9])?|\.[0-9])$")
_NA = {"", "."}

WEIGHT_DTYPE = pl.Decimal(8, 4)
LOS_DTYPE = pl.Decimal(5, 1)


def _table5_header_key(cell: str) -> str:
    return re.sub(r"\b(19|20)[0-9]{2}\b", "yyyy", " ".join(cell.split()).lower())


def _table5_header(path: Path, lines: list[str], fiscal_year: int | None) -> tuple[int, list[str], int]:
    """(index of the header row, canonical column names, the header's fiscal year), checked."""
    if not lines or "TABLE 5" not in lines[0].upper():
        raise SourceFormatError(path, 1, "the Table 5 title ('TABLE 5. LIST OF MEDICARE SEVERITY ...')", lines[0] if lines else "")
    h = next((i for i, t in enumerate(lines) if t.startswith("MS-DRG") and "\t" in t), None)
    if h is None:
        raise SourceFormatError(path, None, "a tab-delimited header row starting with 'MS-DRG'")
    header = next(csv.reader([lines[h]], delimiter="\t"))
    names = [_table5_header_key(c) for c in header]
    if any(n not in _T5_HEADER for n in names) or any(k not in names for k in _T5_HEADER) or len(set(names)) != len(names):
        raise SourceFormatError(path, h + 1, f"the Table 5 columns {list(_T5_HEADER)} (years as yyyy), once each", lines[h])
    years = {int(y) for y in re.findall(r"\b((?:19|20)[0-9]{2})\b", lines[h])}
    if len(years) != 1:
        raise SourceFormatError(path, h + 1, "one fiscal year in the Post-Acute/Special Pay headers", lines[h])
    header_fy = years.pop()
    if fiscal_year is not None and header_fy != fiscal_year:
        raise SourceFormatError(path, h + 1, f"the FY {fiscal_year} table (release), not FY {header_fy}", lines[h])
    return h, [_T5_HEADER[n] for n in names], header_fy


def _table5_record(r: dict, bad) -> dict:
    """One Table 5 row (column -> stripped text) checked and typed; ``bad(what)`` makes the error."""
    if not re.fullmatch(r"[0-9]{3}", r["drg"]):
        raise bad("a 3-digit MS-DRG in column MS-DRG")
    for flag in ("post_acute", "special_pay"):
        if r[flag] not in ("Yes", "No"):
            raise bad(f"Yes or No in the {flag.replace('_', ' ')} column")
        r[flag] = r[flag] == "Yes"
    if not (r["mdc"] == "" or r["mdc"] == "PRE" or re.fullmatch(r"[0-9]{2}", r["mdc"])):
        raise bad("MDC PRE, 2 digits or blank")
    r["mdc"] = r["mdc"] or None
    if r["type"] not in ("MED", "SURG", "**"):
        raise bad("TYPE MED, SURG or **")
    r["type"] = None if r["type"] == "**" else r["type"]
    if not r["title"]:
        raise bad("an MS-DRG title")
    for c, rx, what in (
        ("weight_before_cap", _WEIGHT_RE, "a weight with up to 4 decimals (or '.')"),
        ("weight", _WEIGHT_RE, "a weight with up to 4 decimals (or '.')"),
        ("gmlos", _LOS_RE, "a length of stay with up to 1 decimal (or '.')"),
        ("amlos", _LOS_RE, "a length of stay with up to 1 decimal (or '.')"),
    ):
        if r[c] in _NA:
            r[c] = None
        elif not rx.match(r[c]):
            raise bad(what)
    return r


def parse_table5(path: str | Path, version: str, fiscal_year: int | None = None) -> pl.DataFrame:
    """``msdrg_drg_weight`` rows from Table 5. ``fiscal_year``, when given, must match the header's."""
    path = Path(path)
    lines = read_lines(path, ENCODING)["text"].to_list()
    h, cols, header_fy = _table5_header(path, lines, fiscal_year)
    records: list[dict] = []
    seen: set[str] = set()
    for i in range(h + 1, len(lines)):
        fields = next(csv.reader([lines[i]], delimiter="\t", quotechar='"'), [])
        if all(not f.strip() for f in fields):
            continue
        if len(fields) != len(cols):
            raise SourceFormatError(path, i + 1, f"{len(cols)} tab-separated fields", lines[i])
        bad = lambda what, n=i + 1, text=lines[i]: SourceFormatError(path, n, what, text)  # noqa: E731
        r = _table5_record(dict(zip(cols, (f.strip() for f in fields))), bad)
        if r["drg"] in seen:
            raise bad("each MS-DRG once")
        seen.add(r["drg"])
        records.append(r)
    if not records:
        raise SourceFormatError(path, None, "at least one MS-DRG row after the header")
    frame = pl.DataFrame(records, schema={c: (pl.Boolean if c in ("post_acute", "special_pay") else pl.String) for c in cols})
    return frame.select(
        pl.lit(version, pl.String).alias("version"),
        pl.lit(header_fy, pl.Int16).alias("fiscal_year"),
        "drg",
        "post_acute",
        "special_pay",
        "mdc",
        "type",
        "title",
        pl.col("weight_before_cap").str.to_decimal(scale=4).cast(WEIGHT_DTYPE),
        pl.col("weight").str.to_decimal(scale=4).cast(WEIGHT_DTYPE),
        pl.col("gmlos").str.to_decimal(scale=1).cast(LOS_DTYPE),
        pl.col("amlos").str.to_decimal(scale=1).cast(LOS_DTYPE),
    )
