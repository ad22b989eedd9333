"""MS-DRG Definitions Manual (text version): Appendix A (the MS-DRGs) and Appendix B (diagnosis index).

Dataset ``msdrg``; release id = grouper version (``v43`` = FY2026, effective 2025-10-01).

Inputs (catalog roles)
----------------------
``appendix_a``
    ``appendix_A.txt``, "List of MS-DRGs". Windows-1252 text (ASCII in practice), CRLF or LF.
``appendix_b``
    ``appendix_B.txt``, "Diagnosis Code/MDC/MS-DRG Index". Windows-1252, CRLF. The real file has about
    100,000 lines; the parser is vectorised (one regular expression applied by polars to all lines).
    Parsing Appendix B needs Appendix A (ranges are expanded against it).

Appendix A layout
-----------------
A boxed title and a paragraph of prose, then the column header ``DRG MDC MS Description`` and one
line per MS-DRG in fixed columns::

    001     P  Heart Transplant or Implant of Heart Assist System with MCC
    551 08  M  Medical Back Problems with MCC
    998        Principal Diagnosis Invalid as Discharge Diagnosis
    ^^^ ^^  ^  ^-- title (col 12 on), mixed case as printed
    |   |   +-- M = medical, P = surgical ("P" as printed; CMS's letter for surgical), blank for 998/999
    |   +-- MDC, blank for Pre-MDC DRGs (001-019) and DRGs not in one MDC (981-989, 998, 999)
    +-- MS-DRG, 3 digits

Everything before the column header is preamble; after it only DRG lines and blank lines are allowed.

Appendix B layout
-----------------
A boxed title, prose, then the column header `` I10 Dx  MDC DRG(s)      ICD-10-CM Description`` and::

     A021    18  870-872     Salmonella sepsis
             25  974-976
     A360    Pre 011-013     Pharyngeal diphtheria
     Z990    23  951         Dependence on aspirator

Columns: a space; the ICD-10-CM code without dot (left-justified in 8); the MDC (2 digits or ``Pre``);
the MS-DRGs: one ``NNN``, a range ``first-last``, or a comma-separated list of these
(``928-929,934``, ``927,933``: the burn DRGs of MDC 22 in the complete v42/v43 files); the code's description. A line with a blank code column
continues the code above (another MDC/DRG range the code belongs to) and has no description. The
index lists every MS-DRG whose logic uses the code, as principal *or* secondary diagnosis (e.g. A02.1
defines 870-872 as a principal diagnosis and 974-976 as an HIV-related secondary diagnosis).

Decisions
---------
* ``Pre`` is stored as ``PRE``, the spelling of IPPS Table 5, so the two join. In
  ``msdrg_drg_def`` the MDC of Pre-MDC DRGs is NULL, as Appendix A prints it blank.
* Ranges are expanded to every MS-DRG **defined in Appendix A** between the two ends. MS-DRG
  numbers have gaps (deleted DRGs are not reused, e.g. 009, 015, 452-455), so a range may span
  numbers that do not exist; those are skipped. Both ends of a range must be DRGs of Appendix A, and
  when Appendix A gives a DRG an MDC, the Appendix B line must carry that MDC; otherwise the files
  disagree and :class:`~codeetl.errors.SourceFormatError` is raised.
* A (code, MDC, DRG) triple listed twice is stored once.
* Codes are stored dotted (``M96.1``); ``msdrg_dx`` holds each code's description from Appendix B.

MDC names are not in any of these files: ``msdrg_mdc`` is built from ``mdc.csv`` (the
Definitions Manual's list of MDCs), and every MDC used by Appendix A/B must be in it.
"""

from __future__ import annotations

import io
from importlib import resources
from pathlib import Path

import polars as pl

from codeetl.sources.catalog import Release
from codeetl.codes import icd10_dotted_expr
from codeetl.errors import FetchError, SourceFormatError
from codeetl.sources.textio import raise_first as _raise_at, read_lines

PARSER_VERSION = "1"

ENCODING = "cp1252"
MDC_CSV = "mdc.csv"

_A_HEADER = r"^\s*DRG\s+MDC\s+MS\s+Description\s*$"
_A_ROW = r"^(?P<drg>[0-9]{3}) (?P<mdc>[0-9]{2}|  )  (?P<type>[MP ])  (?P<title>\S.*?)\s*$"

_B_HEADER = r"^\s*I10 Dx\s+MDC\s+DRG\(s\)\s+ICD-10-CM Description\s*$"
_B_ROW = (
    r"^ (?P<code>[A-Z][0-9A-Z]{2,6})? +(?P<mdc>Pre|[0-9]{2}) +"
    r"(?P<drgs>[0-9]{3}(?:-[0-9]{3})?(?:,[0-9]{3}(?:-[0-9]{3})?)*)(?: +(?P<desc>\S.*?))?\s*$"
)


def _body(lines: pl.DataFrame, header_re: str, path: Path, header_desc: str) -> pl.DataFrame:
    """The lines after the (first) column header, without blank lines and repeated headers."""
    hits = lines.filter(pl.col("text").str.contains(header_re))
    if hits.height == 0:
        raise SourceFormatError(path, None, f"a column header line {header_desc!r}")
    start = hits["line_no"][0]
    return lines.filter(
        (pl.col("line_no") > start)
        & (pl.col("text").str.strip_chars() != "")
        & ~pl.col("text").str.contains(header_re)
    )


def mdc_names() -> pl.DataFrame:
    """The packaged MDC list ``(mdc, name)`` from ``mdc.csv`` beside this module."""
    data = resources.files(__package__).joinpath(MDC_CSV).read_bytes()
    return pl.read_csv(io.BytesIO(data), comment_prefix="#", schema={"mdc": pl.String, "name": pl.String})


def parse_appendix_a(path: str | Path, version: str, known_mdcs: pl.DataFrame | None = None) -> pl.DataFrame:
    """``msdrg_drg_def``: (version, drg, mdc, type, title), one row per MS-DRG, file order.

    ``known_mdcs`` (default: the packaged list) are the MDCs a DRG line may name.
    """
    path = Path(path)
    body = _body(read_lines(path, ENCODING), _A_HEADER, path, "DRG MDC MS Description")
    rows = body.with_columns(pl.col("text").str.extract_groups(_A_ROW).alias("m")).unnest("m")
    _raise_at(
        rows.filter(pl.col("drg").is_null()),
        path,
        "an MS-DRG line: 3-digit DRG, MDC (2 digits or blank), M/P (or blank) and title in fixed columns",
    )
    _raise_at(rows.filter(~pl.col("drg").is_first_distinct()), path, "each MS-DRG listed once")
    rows = rows.with_columns(
        pl.when(pl.col(c).str.strip_chars() == "").then(None).otherwise(pl.col(c)).alias(c) for c in ("mdc", "type")
    )
    _check_mdcs(rows, mdc_names() if known_mdcs is None else known_mdcs, path)
    return rows.select(pl.lit(version, pl.String).alias("version"), "drg", "mdc", "type", "title")


def _appendix_b_lines(path: Path) -> pl.DataFrame:
    """Appendix B data lines parsed into (line_no, text, code, mdc, first, last, desc); code filled down."""
    body = _body(read_lines(path, ENCODING), _B_HEADER, path, "I10 Dx  MDC DRG(s)      ICD-10-CM Description")
    rows = body.with_columns(pl.col("text").str.extract_groups(_B_ROW).alias("m")).unnest("m")
    _raise_at(
        rows.filter(pl.col("mdc").is_null()),
        path,
        "an index line: ICD-10-CM code without dot (or blank on a continuation line), MDC (2 digits or Pre),"
        " MS-DRGs (NNN, a range NNN-NNN, or a comma-separated list of these: 928-929,934), description",
    )
    has_code = pl.col("code").is_not_null()
    has_desc = pl.col("desc").is_not_null()
    _raise_at(rows.head(1).filter(~has_code), path, "the first index line to start with a diagnosis code")
    _raise_at(rows.filter(has_code & ~has_desc), path, "a description after the MS-DRG column on a code line")
    _raise_at(rows.filter(~has_code & has_desc), path, "nothing after the MS-DRG column on a continuation line")
    _raise_at(rows.filter(has_code & ~pl.col("code").is_first_distinct()), path, "each diagnosis code to start one entry only")
    rows = (
        rows.with_columns(
            pl.col("code").forward_fill().alias("code_filled"),
            pl.col("mdc").str.to_uppercase(),  # Pre -> PRE
            pl.col("drgs").str.split(","),
        )
        .explode("drgs")  # "928-929,934": one row per item of the list
        .with_columns(pl.col("drgs").str.extract_groups(r"^(?P<first>[0-9]{3})(?:-(?P<last>[0-9]{3}))?$").alias("r"))
        .unnest("r")
        .with_columns(pl.col("first").cast(pl.Int32), pl.coalesce("last", "first").cast(pl.Int32).alias("last"))
    )
    _raise_at(rows.filter(pl.col("last") < pl.col("first")), path, "a DRG range first-last with first <= last")
    return rows


def parse_appendix_b(
    path: str | Path, version: str, drg_def: pl.DataFrame, known_mdcs: pl.DataFrame | None = None
) -> dict[str, pl.DataFrame]:
    """``msdrg_dx_drg`` and ``msdrg_dx`` from Appendix B; ``drg_def`` is the parsed Appendix A."""
    path = Path(path)
    rows = _appendix_b_lines(path)
    _check_mdcs(rows, mdc_names() if known_mdcs is None else known_mdcs, path)
    defs = drg_def.select(pl.col("drg").cast(pl.Int32).alias("drg_num"), pl.col("mdc").alias("def_mdc"))

    for end in ("first", "last"):
        missing = rows.join(defs, left_on=end, right_on="drg_num", how="anti").sort("line_no")
        _raise_at(missing, path, f"a DRG range whose {end} DRG is listed in Appendix A")

    pairs = (
        rows.select("line_no", "text", "code_filled", "mdc", pl.int_ranges("first", pl.col("last") + 1, dtype=pl.Int32).alias("drg_num"))
        .explode("drg_num")
        .join(defs, on="drg_num", how="inner")  # numbers with no MS-DRG (gaps in the numbering) drop out here
        .sort("line_no", "drg_num")
    )
    _raise_at(
        pairs.filter(pl.col("def_mdc").is_not_null() & (pl.col("def_mdc") != pl.col("mdc"))),
        path,
        "the MDC that Appendix A gives each DRG of the range",
    )
    dx_drg = pairs.select(
        pl.lit(version, pl.String).alias("version"),
        icd10_dotted_expr("code_filled").alias("dx"),
        "mdc",
        pl.col("drg_num").cast(pl.String).str.zfill(3).alias("drg"),
    ).unique(maintain_order=True)
    dx = rows.filter(pl.col("code").is_not_null()).unique("line_no", maintain_order=True).select(
        pl.lit(version, pl.String).alias("version"),
        icd10_dotted_expr("code").alias("dx"),
        pl.col("desc").alias("description"),
    )
    return {"msdrg_dx_drg": dx_drg, "msdrg_dx": dx}


def _check_mdcs(lines: pl.DataFrame, known: pl.DataFrame, path: Path) -> None:
    """Every non-null ``mdc`` of ``lines`` (line_no, text, mdc) must be one of the packaged MDCs."""
    _raise_at(
        lines.filter(pl.col("mdc").is_not_null()).join(known.select("mdc"), on="mdc", how="anti").sort("line_no"),
        path,
        f"an MDC listed in codeetl/datasets/msdrg/{MDC_CSV}",
    )


def parse_release(release: Release, inputs: dict[str, Path]) -> dict[str, pl.DataFrame]:
    """Tables ``msdrg_drg_def``, ``msdrg_mdc`` and (with Appendix B) ``msdrg_dx_drg``, ``msdrg_dx``."""
    version = release.release
    if "appendix_a" not in inputs:
        raise FetchError(f"msdrg {version}: Appendix A (role 'appendix_a') was not found; every table needs it")
    known = mdc_names()
    out = {"msdrg_drg_def": parse_appendix_a(inputs["appendix_a"], version, known)}
    out["msdrg_mdc"] = known.select(pl.lit(version, pl.String).alias("version"), "mdc", "name")
    if "appendix_b" in inputs:
        out.update(parse_appendix_b(inputs["appendix_b"], version, out["msdrg_drg_def"], known))
    return out
