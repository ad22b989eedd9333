"""IPPS final-rule tables: Table 5 (MS-DRG weights) and Tables 6I, 6J, 6K (CC/MCC lists and exclusions).

Dataset ``ipps``; release id = fiscal year (``fy2026``). The catalog release carries
``uses = { msdrg = "v43" }``: the grouper version the tables belong to (a release of dataset ``msdrg``,
checked when the catalog loads), stored in every ``version`` column so that these tables join the
Definitions Manual tables of dataset ``msdrg``.

Inputs (catalog roles) and layouts
----------------------------------
``table5`` -- Table 5, "List of MS-DRGs, relative weighting factors and geometric and arithmetic mean
length of stay". Tab-delimited, Windows-1252, CRLF. A quoted two-line title (the line break is inside
the quotes; the title contains cp1252 em dashes), then the header row, then one row per MS-DRG::

    MS-DRG | FY 2026 Final Post-Acute DRG | FY 2026 Final Special Pay DRG | MDC | TYPE | MS-DRG Title |
    Weights - Before Cap | Weights - 10% Cap Applied | Geometric mean LOS | Arithmetic mean LOS
    551    | Yes | No | 08 | MED | MEDICAL BACK PROBLEMS WITH MCC | 1.6761 | 1.6761 | 4.5 | 5.9

Columns are found by header name (the fiscal year in the flag headers is read and must match the
release id). Titles containing commas are quoted. Values: post-acute / special pay ``Yes``/``No`` ->
BOOLEAN; MDC ``PRE`` or 2 digits, blank (981-989, 998, 999) -> NULL; TYPE ``MED``/``SURG``, ``**``
(998, 999) -> NULL; weights with up to 4 decimals and LOS with up to 1 decimal become exact decimals
built from the printed strings (never via float); ``.`` or blank (998, 999) -> NULL. ``weight`` is
"Weights - 10% Cap Applied", the weight used for payment; ``weight_before_cap`` the uncapped one.
A row of empty cells is skipped.

``table6i`` / ``table6j`` -- Complete MCC list / complete CC list. Tab-delimited: title line
(``TABLE 6I - COMPLETE MCC LIST`` / ``TABLE 6J - COMPLETE CC LIST``), header ``Diagnosis Code<TAB>
Description``, one ``<dotted code><TAB><description>`` row per code, then a trailer starting at a
``Notes:`` line (ignored, like blank lines). Used to cross-check Table 6K part 1: the MCCs of 6I and
the CCs of 6J must be exactly the codes 6K part 1 marks MCC and CC, else the parse fails.

``table6k`` -- Complete list of CC exclusions. Fixed width, undotted codes, in parts::

    TABLE 6K - COMPLETE LIST OF CC EXCLUSIONS         (title and prose: preamble, ignored)
    K Part 1: List of CC and Major CC Codes
     I10 Dx  Lev PDX Exclusions   ICD-10-CM Description
     A000    CC  0002:3 codes     Cholera due to Vibrio cholerae 01, biovar cholerae
     D89833  CC  No Excl          Cytokine release syndrome, grade 3
     A5440   CC  0126:1,070 codes Gonococcal infection of musculoskeletal system, unspecified
                                                       (then, after the CC/MCC lines:)
    PDX collection 0002                               (one block per PDX exclusion list)
      A000    Cholera due to Vibrio cholerae 01, biovar cholerae
    K Part 2: Codes that are CC or Major CC only if patient discharged alive
      I462    Cardiac arrest due to underlying cardiac condition
    K Part 3: Secondary Diagnosis CC/MCC Severity Exclusions in Select MS-DRGs
    MDC 01 DRGs 082-084 Traumatic Stupor and Coma >1 Hour
      S061X3A Traumatic cerebral edema with loss of consciousness of 1 hour to 5 hours 59 minutes, ...

Part 1 gives each CC/MCC code its level and the number of its PDX exclusion list with the list's size
(``No Excl``: no list). A secondary diagnosis on the list's code is *not* a CC/MCC when the principal
diagnosis is one of the list's codes. Part 1's printed list sizes are checked against the lists. Part 2
codes (CC/MCC only when the patient is discharged alive) must be Part 1 codes and set
``msdrg_cc.alive_only``. Part 3 lists, per group of MS-DRGs, secondary diagnoses that do not count as
CC/MCC when the case groups to those DRGs; it is kept as ``msdrg_cc_drg_exclusion``. Member lines are
two spaces, the code, spaces, the description (Part 3's columns are not aligned; the parser only
relies on the spaces). Blank lines are skipped; any other line raises
:class:`~codeetl.errors.SourceFormatError` with its line number.

Decisions
---------
* ``exclusion_list`` is an INTEGER (``0002`` -> 2): the number of the "PDX collection"; NULL for
  ``No Excl``.
* Codes are stored dotted (ICD-10-CM display form).
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

import polars as pl

from codeetl.catalog import Release
from codeetl.codes import icd10_dotted_expr
from codeetl.errors import CatalogError, FetchError, SourceFormatError
from codeetl.textio import raise_first as _raise_first, read_lines

PARSER_VERSION = "1"

ENCODING = "cp1252"

# ---------------------------------------------------------------------------------------------------
# Table 5

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


def _fiscal_year_from_release(release_id: str) -> int | None:
    m = re.fullmatch(r"fy(\d{4})", release_id.lower())
    return int(m.group(1)) if m else None


def parse_table5(path: str | Path, version: str, fiscal_year: int | None = None) -> pl.DataFrame:
    """``msdrg_drg_weight`` from Table 5. ``fiscal_year``, when given, must match the header's."""
    path = Path(path)
    lines = read_lines(path, ENCODING)["text"].to_list()
    if not lines or "TABLE 5" not in lines[0].upper():
        raise SourceFormatError(path, 1, "the Table 5 title ('TABLE 5. LIST OF MEDICARE SEVERITY ...')", lines[0] if lines else "")
    try:
        h = next(i for i, t in enumerate(lines) if t.startswith("MS-DRG") and "\t" in t)
    except StopIteration:
        raise SourceFormatError(path, None, "a tab-delimited header row starting with 'MS-DRG'") from None
    header = next(csv.reader([lines[h]], delimiter="\t"))
    names = [_table5_header_key(c) for c in header]
    unknown = [header[i] for i, n in enumerate(names) if n not in _T5_HEADER]
    missing = [k for k in _T5_HEADER if k not in names]
    if unknown or missing or len(set(names)) != len(names):
        raise SourceFormatError(path, h + 1, f"the Table 5 columns {list(_T5_HEADER)} (years as yyyy), once each", lines[h])
    cols = [_T5_HEADER[n] for n in names]
    years = {int(y) for y in re.findall(r"\b((?:19|20)[0-9]{2})\b", lines[h])}
    if len(years) != 1:
        raise SourceFormatError(path, h + 1, "one fiscal year in the Post-Acute/Special Pay headers", lines[h])
    header_fy = years.pop()
    if fiscal_year is not None and header_fy != fiscal_year:
        raise SourceFormatError(path, h + 1, f"the FY {fiscal_year} table (release), not FY {header_fy}", lines[h])

    records: list[dict] = []
    seen: set[str] = set()
    for i in range(h + 1, len(lines)):
        line_no, text = i + 1, lines[i]
        fields = next(csv.reader([text], delimiter="\t", quotechar='"'), [])
        if all(not f.strip() for f in fields):
            continue
        if len(fields) != len(cols):
            raise SourceFormatError(path, line_no, f"{len(cols)} tab-separated fields", text)
        r = dict(zip(cols, (f.strip() for f in fields)))

        def bad(what: str) -> SourceFormatError:
            return SourceFormatError(path, line_no, what, text)

        if not re.fullmatch(r"[0-9]{3}", r["drg"]):
            raise bad("a 3-digit MS-DRG in column MS-DRG")
        if r["drg"] in seen:
            raise bad("each MS-DRG once")
        seen.add(r["drg"])
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


# ---------------------------------------------------------------------------------------------------
# Tables 6I and 6J

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


def parse_table6k(
    path: str | Path, version: str, cc_lists: dict[str, str | Path] | None = None
) -> dict[str, pl.DataFrame]:
    """``msdrg_cc``, ``msdrg_cc_exclusion`` and ``msdrg_cc_drg_exclusion`` from Table 6K.

    ``cc_lists`` maps ``'MCC'`` to Table 6I and/or ``'CC'`` to Table 6J; each given list must hold
    exactly the part 1 codes of that level, else :class:`SourceFormatError` names the first code
    missing (in the file that lacks it).
    """
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

    # Part 1 CC/MCC lines
    p1 = x.filter(is_row)
    _raise_first(p1.filter(~pl.col("code").is_first_distinct()), path, "each CC/MCC code once in part 1")
    p1 = p1.with_columns(
        pl.col("list").cast(pl.Int32).alias("exclusion_list"),
        pl.col("count").str.replace_all(",", "").cast(pl.Int32).alias("count"),
    )

    # PDX collections
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

    # Part 2: alive only
    alive = x.filter((sec == 2) & is_member)
    _raise_first(alive.filter(~pl.col("member").is_first_distinct()), path, "each code once in part 2")
    _raise_first(
        alive.join(p1.select(pl.col("code").alias("member")), on="member", how="anti"),
        path,
        "part 2 codes to be CC/MCC codes of part 1",
    )

    # Part 3: DRG-specific secondary-diagnosis exclusions
    p3 = x.filter((sec == 3) & is_member)
    _raise_first(
        p3.filter(~pl.struct("group_no", "member").is_first_distinct()),
        path,
        "each code once per MS-DRG group in part 3",
    )

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


def parse_release(release: Release, inputs: dict[str, Path]) -> dict[str, pl.DataFrame]:
    """``msdrg_drg_weight`` (from ``table5``) and the CC tables (from ``table6k``, checked against 6I/6J)."""
    version = release.uses.get("msdrg")
    if not version:
        raise CatalogError(f"ipps release {release.release!r}: missing uses = {{ msdrg = \"v43\" }} (its MS-DRG version)")
    out: dict[str, pl.DataFrame] = {}
    if "table5" in inputs:
        out["msdrg_drg_weight"] = parse_table5(inputs["table5"], version, _fiscal_year_from_release(release.release))
    if "table6k" in inputs:
        lists = {level: inputs[role] for role, level in (("table6i", "MCC"), ("table6j", "CC")) if role in inputs}
        out.update(parse_table6k(inputs["table6k"], version, lists))
    elif "table6i" in inputs or "table6j" in inputs:
        raise FetchError(f"ipps {release.release}: Tables 6I/6J were found but not Table 6K (role 'table6k'), which msdrg_cc needs")
    if not out:
        raise FetchError(f"ipps {release.release}: none of the inputs table5, table6k was found (got {sorted(inputs)})")
    return out

