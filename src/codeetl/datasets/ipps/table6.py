"""IPPS Tables 6I, 6J and 6K: the MCC and CC lists and the CC exclusions (layout in the package docstring)."""

from __future__ import annotations

import re
from pathlib import Path

import polars as pl

from codeetl.codes import icd10_dotted_expr
from codeetl.errors import SourceFormatError
from codeetl.sources.textio import raise_first as _raise_first, read_lines

ENCODING = "cp1252"

_DOTTED_RE = r"[A-Z][0-9A-Z]{2}(?:\.[0-9A-Z]{1,4})?"


def parse_table6ij(path: str | Path, level: str) -> pl.DataFrame:
    """Table 6I (``level='MCC'``) or 6J (``level='CC'``) as (line_no, text, dx, description)."""
    path = Path(path)
    table = {"MCC": "6I", "CC": "6J"}[level]
    lines = read_lines(path, ENCODING)
    first = lines["text"][0] if lines.height else ""
    if not re.match(rf"^\s*TABLE {table}\b.*\b{level} LIST\b", first, re.IGNORECASE):
        raise SourceFormatError(path, 1, f"the title 'TABLE {table} - COMPLETE {level} LIST'", first)
    if lines.height < 2 or not re.fullmatch(r"\s*Diagnosis Code\tDescription\s*", lines["text"][1]):
        raise SourceFormatError(path, 2, "the header 'Diagnosis Code<TAB>Description'", lines["text"][1] if lines.height > 1 else "")
    notes = lines.filter(pl.col("text").str.contains(r"^\s*Notes:"))
    end = notes["line_no"][0] if notes.height else lines.height + 1
    body = lines.filter((pl.col("line_no") > 2) & (pl.col("line_no") < end) & (pl.col("text").str.strip_chars() != ""))
    rows = body.with_columns(
        pl.col("text").str.extract_groups(rf"^(?P<dx>{_DOTTED_RE})\t(?P<description>\S.*?)\s*$").alias("m")
    ).unnest("m")
    _raise_first(rows.filter(pl.col("dx").is_null()), path, "'<dotted ICD-10-CM code><TAB><description>'")
    _raise_first(rows.filter(~pl.col("dx").is_first_distinct()), path, "each code once")
    return rows


# ---------------------------------------------------------------------------------------------------
# Table 6K

_CODE = r"[A-Z][0-9A-Z]{2,6}"
_K_PATTERNS = {
    "part": r"^K Part (?P<part>[0-9]+):",
    "p1_header": r"^\s*I10 Dx\s+Lev\s+PDX Exclusions\s+ICD-10-CM Description\s*$",
    "p1_row": (
        rf"^ (?P<code>{_CODE}) +(?P<level>CC|MCC) +(?:(?P<list>[0-9]{{4,}}):(?P<count>[0-9][0-9,]*) codes?|No Excl)"
        r" +(?P<desc>\S.*?)\s*$"
    ),
    "collection": r"^PDX collection (?P<coll>[0-9]{4,})\s*$",
    "member": rf"^  (?P<member>{_CODE}) +\S",
    "group": r"^MDC (?P<g_mdc>[0-9]{2}) DRGs? (?P<g_first>[0-9]{3})(?:-(?P<g_last>[0-9]{3}))? +(?P<g_title>\S.*?)\s*$",
}


def _classify_6k(path: Path) -> pl.DataFrame:
    """Every line of Table 6K from its ``K Part 1`` header on, classified by the documented layout (one column per
    line kind, the part in ``section``, the PDX collection / part 3 group it falls in); a line that fits no kind
    of its part raises SourceFormatError naming it."""
    path = Path(path)
    raw = read_lines(path, ENCODING)
    first = raw["text"][0] if raw.height else ""
    if not re.match(r"^\s*TABLE 6K\b", first, re.IGNORECASE):
        raise SourceFormatError(path, 1, "the title 'TABLE 6K - COMPLETE LIST OF CC EXCLUSIONS'", first)

    kinds = {k: pl.col("text").str.extract_groups(p).alias(f"_{k}") for k, p in _K_PATTERNS.items()}
    x = raw.with_columns(*kinds.values()).unnest(*(f"_{k}" for k in _K_PATTERNS))
    x = x.with_columns(
        pl.col("text").str.strip_chars().eq("").alias("is_blank"),
        pl.col("text").str.contains(_K_PATTERNS["p1_header"]).alias("is_p1_header"),
        pl.col("coll").is_not_null().alias("is_collection"),
        pl.col("g_first").is_not_null().alias("is_group"),
    )

    parts = x.filter(pl.col("part").is_not_null())
    if parts.height == 0 or parts["part"][0] != "1":
        raise SourceFormatError(path, None, "a 'K Part 1:' section header")
    seq = [int(p) for p in parts["part"]]
    if seq != sorted(set(seq)) or not set(seq) <= {1, 2, 3}:
        raise SourceFormatError(path, int(parts["line_no"][1 if len(seq) > 1 else 0]), "section headers 'K Part 1:', 2, 3 in order, once each", str(seq))

    # Everything before "K Part 1" is the title and prose.
    x = x.filter(pl.col("line_no") >= parts["line_no"][0]).with_columns(
        pl.col("part").is_not_null().alias("is_part"),
        pl.col("part").cast(pl.Int32).forward_fill().alias("section"),
    )
    x = x.with_columns(
        pl.col("coll").forward_fill().over("section").alias("in_coll"),
        pl.col("is_group").cum_sum().over("section").alias("group_no"),
        pl.col("g_mdc", "g_first", "g_last", "g_title").forward_fill().over("section"),
    )

    sec = pl.col("section")
    is_row, is_member = pl.col("code").is_not_null(), pl.col("member").is_not_null()
    allowed = (
        pl.col("is_blank")
        | pl.col("is_part")
        | ((sec == 1) & pl.col("is_p1_header") & pl.col("in_coll").is_null())
        | ((sec == 1) & is_row & pl.col("in_coll").is_null())
        | ((sec == 1) & pl.col("is_collection"))
        | ((sec == 1) & is_member & pl.col("in_coll").is_not_null())
        | ((sec == 2) & is_member)
        | ((sec == 3) & pl.col("is_group"))
        | ((sec == 3) & is_member & (pl.col("group_no") > 0))
    )
    _raise_first(
        x.filter(~allowed),
        path,
        "a line of the documented Table 6K layout: in part 1 the column header, ' CODE    CC|MCC  NNNN:N codes|No Excl"
        "  description' lines, then 'PDX collection NNNN' blocks of '  CODE  description' lines; in part 2"
        " '  CODE  description' lines; in part 3 'MDC NN DRGs NNN-NNN title' headers each followed by"
        " '  CODE  description' lines",
    )

    return x


def _part1(x: pl.DataFrame, path: Path) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(part 1 CC/MCC lines, PDX collection members), each list checked against the size part 1 prints."""
    sec, is_row, is_member = pl.col("section"), pl.col("code").is_not_null(), pl.col("member").is_not_null()
    p1 = x.filter(is_row)
    _raise_first(p1.filter(~pl.col("code").is_first_distinct()), path, "each CC/MCC code once in part 1")
    p1 = p1.with_columns(
        pl.col("list").cast(pl.Int32).alias("exclusion_list"),
        pl.col("count").str.replace_all(",", "").cast(pl.Int32).alias("count"),
    )

    colls = x.filter(pl.col("is_collection"))
    _raise_first(colls.filter(~pl.col("coll").is_first_distinct()), path, "each PDX collection number once")
    members = x.filter((sec == 1) & is_member).select(
        "line_no", "text", pl.col("in_coll").cast(pl.Int32).alias("exclusion_list"), "member"
    )
    _raise_first(
        members.filter(~pl.struct("exclusion_list", "member").is_first_distinct()),
        path,
        "each code once per PDX collection",
    )
    sizes = members.group_by("exclusion_list").agg(pl.len().cast(pl.Int32).alias("n"))
    size_check = p1.filter(pl.col("exclusion_list").is_not_null()).join(sizes, on="exclusion_list", how="left")
    _raise_first(
        size_check.filter(pl.col("n").is_null()),
        path,
        "a 'PDX collection' block for the exclusion list named on this line",
    )
    _raise_first(
        size_check.filter(pl.col("n") != pl.col("count")),
        path,
        "as many codes in the PDX collection as this line says",
    )

    return p1, members


def _parts23(x: pl.DataFrame, p1: pl.DataFrame, path: Path) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(part 2 alive-only codes, part 3 DRG-group members), checked."""
    sec, is_member = pl.col("section"), pl.col("member").is_not_null()
    alive = x.filter((sec == 2) & is_member)
    _raise_first(alive.filter(~pl.col("member").is_first_distinct()), path, "each code once in part 2")
    _raise_first(
        alive.join(p1.select(pl.col("code").alias("member")), on="member", how="anti"),
        path,
        "part 2 codes to be CC/MCC codes of part 1",
    )

    p3 = x.filter((sec == 3) & is_member)
    _raise_first(
        p3.filter(~pl.struct("group_no", "member").is_first_distinct()),
        path,
        "each code once per MS-DRG group in part 3",
    )

    return alive, p3


def parse_table6k(
    path: str | Path, version: str, cc_lists: dict[str, str | Path] | None = None
) -> dict[str, pl.DataFrame]:
    """``msdrg_cc``, ``msdrg_cc_exclusion`` and ``msdrg_cc_drg_exclusion`` from Table 6K.

    ``cc_lists`` maps ``'MCC'`` to Table 6I and/or ``'CC'`` to Table 6J; each given list must hold
    exactly the part 1 codes of that level, else :class:`SourceFormatError` names the first code
    missing (in the file that lacks it).
    """
    path = Path(path)
    x = _classify_6k(path)
    p1, members = _part1(x, path)
    alive, p3 = _parts23(x, p1, path)
    p1 = p1.with_columns(icd10_dotted_expr("code").alias("dx"))
    for level, list_path in (cc_lists or {}).items():
        _check_cc_list(p1, path, level, Path(list_path))

    cc = p1.select(
        pl.lit(version, pl.String).alias("version"),
        "dx",
        "level",
        "exclusion_list",
        pl.col("code").is_in(alive["member"].implode()).alias("alive_only"),
        pl.col("desc").alias("description"),
    )
    exclusion = members.select(
        pl.lit(version, pl.String).alias("version"),
        "exclusion_list",
        icd10_dotted_expr("member").alias("pdx"),
    )
    drg_exclusion = p3.select(
        pl.lit(version, pl.String).alias("version"),
        pl.col("g_mdc").alias("mdc"),
        pl.col("g_first").alias("drg_first"),
        pl.coalesce("g_last", "g_first").alias("drg_last"),
        pl.col("g_title").alias("drg_group"),
        icd10_dotted_expr("member").alias("dx"),
    )
    return {"msdrg_cc": cc, "msdrg_cc_exclusion": exclusion, "msdrg_cc_drg_exclusion": drg_exclusion}


def _check_cc_list(p1: pl.DataFrame, path_6k: Path, level: str, list_path: Path) -> None:
    """Table 6I (level MCC) or 6J (level CC) must list exactly the part 1 codes of that level."""
    table = {"MCC": "6I", "CC": "6J"}[level]
    rows = parse_table6ij(list_path, level)
    k = p1.filter(pl.col("level") == level)
    _raise_first(
        rows.join(k.select("dx"), on="dx", how="anti"),
        list_path,
        f"every {level} of Table {table} to be marked {level} in Table 6K part 1 ({path_6k.name})",
    )
    _raise_first(
        k.join(rows.select("dx"), on="dx", how="anti"),
        path_6k,
        f"every {level} of Table 6K part 1 to be listed in Table {table} ({list_path.name})",
    )
