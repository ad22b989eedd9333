"""ICD-9-CM, version 32 (the final one, FY2015): diagnosis and procedure codes with their long and short titles.

Dataset ``icd9cm``; one release, ``v32``. CMS, "ICD-9-CM Diagnosis and Procedure Codes: Abbreviated and Full
Code Titles", version 32 zip, which holds the master descriptions:

========================  ==================  =================================================================
file                      role                content
========================  ==================  =================================================================
``CMS32_DESC_LONG_DX.txt``   ``long_dx``      diagnosis codes (14,567) and their full titles
``CMS32_DESC_SHORT_DX.txt``  ``short_dx``     the same codes and their abbreviated titles
``CMS32_DESC_LONG_SG.txt``   ``long_sg``      procedure ("surgical") codes (3,882) and their full titles
``CMS32_DESC_SHORT_SG.txt``  ``short_sg``     the same codes and their abbreviated titles
========================  ==================  =================================================================

Layout of all four: one code per line, the code without its decimal point, one or more spaces, the title.
Latin-1 (the long diagnosis titles spell Friedländer, Gerstmann-Sträussler, Ménière), LF or CRLF line ends.
Diagnosis codes are 3-5 digits, V + 2-4 digits, or E + 3-4 digits; procedure codes 2-4 digits. Each long
file must list exactly the codes of its short file (the parser checks), and each code once.

Codes are stored dotted as printed in the ICD-9-CM book (``code``) and as in the files (``code_nodot``):
diagnoses after the third character (``72283`` → ``722.83``, ``V454`` → ``V45.4``), E codes after the fourth
(``E8809`` → ``E880.9``); procedures after the second (``8108`` → ``81.08``, ``019`` → ``01.9``). The files list
valid codes only: category headers such as 250 are not in them and are not invented here.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from codeetl.sources.catalog import Release
from codeetl.codes import icd9dx_dotted_expr
from codeetl.errors import SourceFormatError
from codeetl.sources.textio import raise_first, read_lines

PARSER_VERSION = "1"

_LINE = r"^(\S+) +(\S.*?)\s*$"
_SHAPE = {"diagnosis": r"^(?:[0-9]{3,5}|V[0-9]{2,4}|E[0-9]{3,4})$", "procedure": r"^[0-9]{2,4}$"}
_ROLES = {"diagnosis": ("long_dx", "short_dx"), "procedure": ("long_sg", "short_sg")}


def parse_titles(path: str | Path, kind: str) -> pl.DataFrame:
    """One master-description file → ``(line_no, code_nodot, title)``; a line that is not a code of ``kind``
    and a title is an error naming the line."""
    lines = read_lines(path, encoding="latin-1").filter(pl.col("text").str.strip_chars() != "")
    parsed = lines.with_columns(pl.col("text").str.extract_groups(_LINE).alias("m")).unnest("m")
    raise_first(parsed, path, f"an ICD-9-CM {kind} code without its dot, spaces, then its title",
                pl.col("1").is_null() | ~pl.col("1").str.contains(_SHAPE[kind]))
    out = parsed.select("line_no", code_nodot=pl.col("1"), title=pl.col("2"))
    raise_first(out, path, "each code once", pl.col("code_nodot").is_duplicated(), shown="code_nodot")
    return out


def dotted(kind: str, code_nodot: pl.Expr) -> pl.Expr:
    """Dotted display form: diagnoses with :func:`codeetl.codes.icd9dx_dotted_expr`, procedures after two digits."""
    if kind == "diagnosis":
        return icd9dx_dotted_expr(code_nodot)
    return pl.when(code_nodot.str.len_chars() <= 2).then(code_nodot).otherwise(code_nodot.str.slice(0, 2) + "." + code_nodot.str.slice(2))


def parse_kind(long_path: str | Path, short_path: str | Path, kind: str, release: str) -> pl.DataFrame:
    """The long and short files of one kind, joined code for code."""
    long, short = parse_titles(long_path, kind), parse_titles(short_path, kind)
    only_long = long.join(short, on="code_nodot", how="anti")
    raise_first(only_long, short_path, f"every code of {Path(long_path).name} ({only_long.height} missing)", shown="code_nodot")
    only_short = short.join(long, on="code_nodot", how="anti")
    raise_first(only_short, long_path, f"every code of {Path(short_path).name} ({only_short.height} missing)", shown="code_nodot")
    return (long.join(short.select("code_nodot", short_description="title"), on="code_nodot")
            .sort("line_no")
            .select(release=pl.lit(release), code=dotted(kind, pl.col("code_nodot")), code_nodot="code_nodot",
                    kind=pl.lit(kind), description="title", short_description="short_description"))


def parse_release(release: Release, inputs: dict[str, Path]) -> dict[str, pl.DataFrame]:
    """``icd9cm_codes`` from whichever kinds (diagnosis, procedure) have both their files."""
    frames = []
    for kind, (long_role, short_role) in _ROLES.items():
        have = [r for r in (long_role, short_role) if r in inputs]
        if len(have) == 1:
            raise SourceFormatError(inputs[have[0]], None, f"the {kind} titles in both a long and a short file "
                                    f"(roles {long_role}, {short_role}); only {have[0]} was found")
        if have:
            frames.append(parse_kind(inputs[long_role], inputs[short_role], kind, release.release))
    if not frames:
        return {}
    return {"icd9cm_codes": pl.concat(frames)}
