"""General Equivalence Mappings (GEMs), diagnosis: ICD-9-CM <-> ICD-10-CM.

Dataset ``gems``; the 2018 release is the last one CMS published (the GEMs are frozen).

Inputs (catalog roles)
----------------------
``i9_to_i10``
    ``2018_I9gem.txt``: forward map, ICD-9-CM source -> ICD-10-CM target.
``i10_to_i9``
    ``2018_I10gem.txt``: backward map, ICD-10-CM source -> ICD-9-CM target.

File layout (both files)
------------------------
Plain ASCII, CRLF line ends (LF accepted), no header, one mapping entry per line::

    0010  A000    00000          <- I9 file: source padded to 6, target padded to 8, 5 flag digits
    M961    72280 10000          <- I10 file: source padded to 8, target padded to 6, 5 flag digits
    36570 NoDx    11000          <- no-map entry: the target is the literal ``NoDx``

Codes carry no decimal point. The parser splits each line on runs of spaces (three fields) rather than
on columns, and requires each field to have its documented shape: ICD-9-CM diagnosis codes are 3-5
digits, ``V`` + 2-4 digits or ``E`` + 3-4 digits; ICD-10-CM codes are a letter and 2-6 more
alphanumerics (not "a letter and a digit": FY2026 added category QA0). Letters are accepted in either case and stored upper-case: one line of the 2018
backward file (line 73170, ``T8853XD v5889 10000``) prints its ICD-9 target in lower case. The five
flag digits are, in order:

1. approximate (0/1): the target is not an exact equivalent;
2. no map (0/1): the source has no target; the target column then reads ``NoDx``;
3. combination (0/1): the source needs *more than one* target code to be expressed;
4. scenario (0-9): for combination entries, which of the alternative complete translations this row
   belongs to (0 for non-combination entries);
5. choice list (0-9): for combination entries, which slot of that scenario the target fills
   (0 for non-combination entries).

How to read a combination entry: for one source, each scenario is one complete translation; within a
scenario pick one target from *each* choice list (choice lists are "and"), and any one target of a
choice list (rows sharing source, scenario and choice_list are "or"). ICD-9 250.12 (diabetes with
ketoacidosis, type II, uncontrolled) maps in scenario 1 to {E11.10 or E11.69 or E13.10} (choice
list 1) **and** E11.65 (choice list 2).

The parser also checks the flags agree with each other: ``no_map`` is set exactly when the target is
``NoDx``; non-combination rows have scenario and choice list 0; combination rows have both >= 1.
Blank lines are skipped; every other line must fit, or :class:`~codeetl.errors.SourceFormatError`
names the file and line.

Output
------
Tables ``gem_icd9_to_icd10`` and ``gem_icd10_to_icd9`` (DDL in ``tables.sql``): codes in
dotted display form (ICD-9 dotting on the ICD-9 side: ``E880.9``, ``V45.4``, ``722.83``; ICD-10 dotting
on the ICD-10 side: ``M96.1``), the undotted forms in ``*_nodot``, the file's line number in
``line_no`` (file order is meaningful to readers of the raw file), and the flags as booleans/smallints.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from codeetl.sources.catalog import Release
from codeetl.codes import icd9dx_dotted_expr, icd10_dotted_expr
from codeetl.errors import FetchError
from codeetl.sources.textio import raise_first, read_lines

PARSER_VERSION = "1"

NO_DX = "NoDx"

# Letters are matched case-insensitively and upper-cased: line 73170 of 2018_I10gem.txt reads
# "T8853XD v5889 10000" (the only lower-case code in either 2018 file).
_ICD9_RE = r"(?:[0-9]{3,5}|[Vv][0-9]{2,4}|[Ee][0-9]{3,4})"
_ICD10_RE = r"(?:[A-Za-z][0-9A-Za-z]{2,6})"
_FLAGS_RE = r"(?P<approximate>[01])(?P<no_map>[01])(?P<combination>[01])(?P<scenario>[0-9])(?P<choice_list>[0-9])"

# role -> (table, source pattern, target pattern, source is ICD-9?)
_ROLES: dict[str, tuple[str, str, str, bool]] = {
    "i9_to_i10": ("gem_icd9_to_icd10", _ICD9_RE, _ICD10_RE, True),
    "i10_to_i9": ("gem_icd10_to_icd9", _ICD10_RE, _ICD9_RE, False),
}

COLUMNS = [
    "release",
    "line_no",
    "source",
    "target",
    "source_nodot",
    "target_nodot",
    "approximate",
    "no_map",
    "combination",
    "scenario",
    "choice_list",
]


def _first_bad(df: pl.DataFrame, mask: pl.Expr, path: Path, expected: str) -> None:
    raise_first(df, path, expected, mask)


def parse_gem_file(path: str | Path, release: str, source_is_icd9: bool) -> pl.DataFrame:
    """Parse one GEM file (``source_is_icd9`` True for ``*_I9gem.txt``) into the table's columns."""
    path = Path(path)
    src_re, tgt_re = (_ICD9_RE, _ICD10_RE) if source_is_icd9 else (_ICD10_RE, _ICD9_RE)
    pattern = rf"^(?P<source_nodot>{src_re}) +(?P<target_nodot>{tgt_re}|{NO_DX}) +{_FLAGS_RE} *$"
    layout = (
        f"'<{'ICD-9-CM' if source_is_icd9 else 'ICD-10-CM'} source> <{'ICD-10-CM' if source_is_icd9 else 'ICD-9-CM'}"
        " target or NoDx> <5 flag digits>' (codes without dots)"
    )

    lines = read_lines(path).filter(pl.col("text").str.strip_chars() != "")
    parsed = lines.with_columns(pl.col("text").str.extract_groups(pattern).alias("m")).unnest("m")
    _first_bad(parsed, pl.col("source_nodot").is_null(), path, layout)

    flag_cols = ["approximate", "no_map", "combination", "scenario", "choice_list"]
    parsed = parsed.with_columns(
        pl.col(flag_cols).cast(pl.Int16),
        pl.col("source_nodot").str.to_uppercase(),
        pl.when(pl.col("target_nodot") == NO_DX).then(pl.col("target_nodot")).otherwise(pl.col("target_nodot").str.to_uppercase()),
    )
    is_nodx = pl.col("target_nodot") == NO_DX
    _first_bad(parsed, (pl.col("no_map") == 1) != is_nodx, path, "the no-map flag (2nd flag digit) set exactly when the target is NoDx")
    _first_bad(
        parsed,
        (pl.col("combination") == 0) & ((pl.col("scenario") != 0) | (pl.col("choice_list") != 0)),
        path,
        "scenario and choice list 0 when the combination flag (3rd digit) is 0",
    )
    _first_bad(
        parsed,
        (pl.col("combination") == 1) & ((pl.col("scenario") == 0) | (pl.col("choice_list") == 0)),
        path,
        "scenario and choice list >= 1 when the combination flag (3rd digit) is 1",
    )

    icd9, icd10 = icd9dx_dotted_expr, icd10_dotted_expr
    src_dot = icd9 if source_is_icd9 else icd10
    tgt_dot = icd10 if source_is_icd9 else icd9
    return parsed.select(
        pl.lit(release, pl.String).alias("release"),
        pl.col("line_no").cast(pl.Int32),
        src_dot("source_nodot").alias("source"),
        pl.when(is_nodx).then(pl.lit(NO_DX)).otherwise(tgt_dot("target_nodot")).alias("target"),
        "source_nodot",
        "target_nodot",
        pl.col("approximate").cast(pl.Boolean),
        pl.col("no_map").cast(pl.Boolean),
        pl.col("combination").cast(pl.Boolean),
        "scenario",
        "choice_list",
    )


def parse_release(release: Release, inputs: dict[str, Path]) -> dict[str, pl.DataFrame]:
    """Tables ``gem_icd9_to_icd10`` / ``gem_icd10_to_icd9`` for the roles present in ``inputs``."""
    out: dict[str, pl.DataFrame] = {}
    for role, (table, _src, _tgt, source_is_icd9) in _ROLES.items():
        if role in inputs:
            out[table] = parse_gem_file(inputs[role], release.release, source_is_icd9)
    if not out:
        raise FetchError(f"gems {release.release}: none of the inputs {sorted(_ROLES)} was found (got {sorted(inputs)})")
    return out
