"""ICD-10-CM flat files: the valid-code file and the order file (layouts in the package docstring)."""

from __future__ import annotations

import re
from pathlib import Path

import polars as pl

from codeetl.codes import icd10_dotted_expr
from codeetl.errors import SourceFormatError
from codeetl.sources.textio import read_text

from codeetl.datasets.icd10cm.tabular import _CODE_SHAPE

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
        """The longest shorter code of the file that prefixes `c`, or None."""
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
