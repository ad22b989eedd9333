"""ICD-10-CM: the Tabular List XML, the valid-code file and the order file.

Sources (CDC NCHS / CMS, one set per fiscal-year release, see ``catalog/icd10cm.toml``):

``icd10cm_tabular_YYYY.xml`` (role ``tabular``)
    ``ICD10CM.tabular`` > ``chapter`` (``name`` = chapter number, ``desc`` = "Title (A00-B99)", notes,
    ``sectionIndex``) > ``section id="A00-A09"`` (``desc``, notes) > ``diag`` (``name`` = dotted code,
    ``desc``, notes, ``sevenChrNote``/``sevenChrDef``, nested ``diag``). Note elements are
    ``inclusionTerm``, ``includes``, ``excludes1``, ``excludes2``, ``codeFirst``, ``useAdditionalCode``,
    ``codeAlso``, ``notes`` and ``sevenChrNote``, each holding one or more ``note``.

``icd10cm_codes_YYYY.txt`` (role ``codes``)
    One valid (billable) code per line: the code without its dot, left-justified in 8 columns, then
    the long description. (Some years pad to 7 columns + space; we split on the first run of spaces.)

``icd10cm_order_YYYY.txt`` (role ``order``; not in the offline mirror — tested on a fixture written
from CMS's documented layout, ``icd10cm_order_2026.pdf``/"Code descriptions in tabular order")
    Fixed width: columns 1-5 order number (zero-padded), 6 blank, 7-13 code without dot, 14 blank,
    15 "0" header / "1" valid for HIPAA-covered transactions, 16 blank, 17-76 short description
    (60 characters), 77 blank, 78 to end long description.

Valid-code rules applied to the Tabular (as its notes and the Official Guidelines I.A.5/I.B.2 state):

* A ``diag`` with no child ``diag`` is a code. If no ``sevenChrDef`` applies to it, it is a valid
  (billable) code as printed.
* A ``sevenChrDef`` on a node applies to every code below it, the nearest definition winning. A code it
  applies to is not valid by itself: each 7th character makes a valid code. "The 7th character must
  always be the 7th character of the code": a code shorter than six characters (without the dot) is
  first filled with the placeholder ``X`` to six (``S02.0`` → ``S02.0XXA``).
* The description of such a code is the base code's description, a comma and a space, and the 7th
  character's meaning (``S02.0XXA`` "Fracture of vault of skull, initial encounter for closed
  fracture"), which is how CMS writes them in the code file.
* Descriptions: the Tabular prints diacritics (Sézary, Charcôt); CMS's code and order files spell the
  same titles in plain ASCII (Sezary, Charcot). ``description`` is the code-file spelling (the Tabular
  text with diacritics removed — checked against the FY2024 code file, where every one of the 73,980
  codes common to both releases matches except the 51 titles CMS revised in FY2025 and FY2026);
  ``description_tabular`` keeps the Tabular's own spelling.
* Every other ``diag`` (categories, subcategories, the X placeholder levels) is a header: not billable.
"""
from __future__ import annotations

from pathlib import Path

import polars as pl

from codeetl.catalog import Release
from codeetl.errors import SourceFormatError
from codeetl.datasets.icd10cm.flatfiles import codes_from_code_file, codes_from_order, parse_code_file, parse_order_file
from codeetl.datasets.icd10cm.tabular import ascii_title, parse_tabular, referenced_codes  # noqa: F401  (the package API)

PARSER_VERSION = "1"

def parse_release(release: Release, inputs: dict[str, Path]) -> dict[str, pl.DataFrame]:
    """All ICD-10-CM tables of one release from whichever official files were found.

    The Tabular XML is the primary source (hierarchy and notes). The valid-code file, when present, is
    loaded into ``icd10cm_valid_codes`` and must agree with the codes derived from the Tabular: the same
    set of billable codes with the same descriptions — a mismatch is an error, not a warning.
    """
    rid = release.release
    out: dict[str, pl.DataFrame] = {}
    if "tabular" in inputs:
        out.update(parse_tabular(inputs["tabular"], rid))
    if "codes" in inputs:
        out["icd10cm_valid_codes"] = parse_code_file(inputs["codes"], rid)
    if "order" in inputs:
        out["icd10cm_order"] = parse_order_file(inputs["order"], rid)
    if "icd10cm_codes" not in out:
        if "icd10cm_order" in out:
            out["icd10cm_codes"] = codes_from_order(out["icd10cm_order"])
        elif "icd10cm_valid_codes" in out:
            out["icd10cm_codes"] = codes_from_code_file(out["icd10cm_valid_codes"])
    elif "icd10cm_valid_codes" in out:
        check_against_code_file(out["icd10cm_codes"], out["icd10cm_valid_codes"], str(inputs["codes"]))
    return out


def check_against_code_file(codes: pl.DataFrame, valid: pl.DataFrame, path: str) -> None:
    """Raise unless the Tabular's billable codes are exactly the code file's codes, descriptions included."""
    mine = codes.filter("is_billable").select("code", "description")
    theirs = valid.select("code", "description", "line_no")
    missing = theirs.join(mine, on="code", how="anti")
    if missing.height:
        row = missing.row(0, named=True)
        raise SourceFormatError(path, row["line_no"], f"every code in the code file to be a valid code in the Tabular ({missing.height} are not)", row["code"])
    extra = mine.join(theirs, on="code", how="anti")
    if extra.height:
        raise SourceFormatError(path, None, f"every valid code of the Tabular to be in the code file ({extra.height} are not)", ", ".join(extra["code"].head(5).to_list()))
    diff = theirs.join(mine, on="code").filter(pl.col("description") != pl.col("description_right"))
    if diff.height:
        row = diff.row(0, named=True)
        raise SourceFormatError(path, row["line_no"], f"the Tabular's description of {row['code']} ({diff.height} differ)", row["description"])
