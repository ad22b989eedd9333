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

``icd10cm_order_addenda_YYYY.txt`` / ``icd10cm_codes_addenda_YYYY.txt`` (roles ``order_addenda``,
``code_addenda``): the changes from the previous fiscal year (layouts in :mod:`.addenda`), into
``icd10cm_addenda`` and ``icd10cm_addenda_totals``. A release that has addenda but no Tabular, code or
order file of its own (FY2027 in the mirror) is built from the previous loaded release and its addenda by
``derive.sql`` (flagged in ``releases.derived_from`` / ``releases.derivation``).

``icd-10-cm-conversion-table-FY2025.xlsx`` (role ``conversion_table``; the mirror holds a tab-separated
export, see :mod:`.conversion`) → ``icd10cm_replacements`` and ``icd10cm_new_codes``.

Valid-code rules applied to the Tabular (as its notes and the Official Guidelines I.A.5/I.B.2 state):

* A ``diag`` with no child ``diag`` is a code. If no ``sevenChrDef`` applies to it, it is a valid
  (billable) code as printed.
* A ``sevenChrDef`` on a node applies to every code below it, the nearest definition winning. A code it
  applies to is not valid by itself: each 7th character makes a valid code. "The 7th character must
  always be the 7th character of the code": a code shorter than six characters (without the dot) is
  first filled with the placeholder ``X`` to six (``S02.0`` → ``S02.0XXA``).
* Except where an instructional note of the Tabular rules a 7th character out. These rules are data,
  ``seventh_char_rules.csv`` (node, 6th characters, excluded 7th characters, the note's type and text); a
  rule applies to a release only where its Tabular prints that note under that node, and a note in the
  scope of a ``sevenChrDef`` that limits 7th characters ("do not apply", "apply only", ...) but is not in
  the file fails the parse. One exists (checked in the FY2025, FY2025 April and FY2026 April XMLs): S06,
  "7th characters D and S do not apply to codes in category S06 with 6th character 7 - death due to brain
  injury prior to regaining consciousness, or 8 - death due to other cause prior to regaining
  consciousness." (76 codes such as S06.1X7D, S06.1X8S that the code files do not have).
* The description of such a code is the base code's description, a comma and a space, and the 7th
  character's meaning (``S02.0XXA`` "Fracture of vault of skull, initial encounter for closed
  fracture"), which is how CMS writes them in the code file.
* Descriptions: the Tabular prints diacritics (Sézary, Charcôt); CMS's code and order files spell the
  same titles in plain ASCII (Sezary, Charcot). ``description`` is the code-file spelling (the Tabular
  text with diacritics removed); ``description_tabular`` keeps the Tabular's own spelling.
* Every other ``diag`` (categories, subcategories, the X placeholder levels) is a header: not billable.

Where a release has a Tabular and a code or order file, the parse refuses unless they agree: the code file
code for code and description for description; the order file the same for valid codes, and code for code
with the same header/valid flag for every node.
"""
from __future__ import annotations

from pathlib import Path

import polars as pl

from codeetl.sources.catalog import Release
from codeetl.errors import SourceFormatError
from codeetl.datasets.icd10cm.flatfiles import codes_from_code_file, codes_from_order, parse_code_file, parse_order_file
from codeetl.datasets.icd10cm.tabular import ascii_title, parse_tabular, referenced_codes  # noqa: F401  (the package API)
from codeetl.datasets.icd10cm.addenda import check_code_addenda, parse_code_addenda, parse_order_addenda
from codeetl.datasets.icd10cm.conversion import conversion_tables

PARSER_VERSION = "2"  # 2: icd10cm_new_codes from the conversion table; note ranges written F11.-F17.-


def parse_release(release: Release, inputs: dict[str, Path]) -> dict[str, pl.DataFrame]:
    """All ICD-10-CM tables of one release from whichever official files were found.

    The Tabular XML is the primary source (hierarchy and notes). The valid-code file and the order file,
    when present, are loaded into ``icd10cm_valid_codes`` / ``icd10cm_order`` and must agree with the codes
    derived from the Tabular — a mismatch is an error, not a warning. The addenda and the conversion table
    are loaded as they are; a release with only addenda gets its codes in ``derive.sql``.
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
    else:
        if "icd10cm_valid_codes" in out:
            check_against_code_file(out["icd10cm_codes"], out["icd10cm_valid_codes"], str(inputs["codes"]))
        if "icd10cm_order" in out:
            check_against_order_file(out["icd10cm_codes"], out["icd10cm_order"], str(inputs["order"]))
    if "icd10cm_order" in out and "icd10cm_valid_codes" in out and "tabular" not in inputs:
        check_against_code_file(out["icd10cm_codes"], out["icd10cm_valid_codes"], str(inputs["codes"]))
    addenda, totals = [], []
    if "order_addenda" in inputs:
        a, t = parse_order_addenda(inputs["order_addenda"], rid)
        addenda.append(a)
        totals.append(t)
    if "code_addenda" in inputs:
        a, t = parse_code_addenda(inputs["code_addenda"], rid)
        if addenda:
            check_code_addenda(addenda[0], a, str(inputs["code_addenda"]))
        else:
            addenda.append(a)
            totals.append(t)
    if addenda:
        out["icd10cm_addenda"] = addenda[0]
        out["icd10cm_addenda_totals"] = totals[0]
    if "conversion_table" in inputs:
        out.update(conversion_tables(inputs["conversion_table"], rid))
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


def check_against_order_file(codes: pl.DataFrame, order: pl.DataFrame, path: str) -> None:
    """Raise unless the Tabular and the order file hold the same nodes with the same header/valid flag, and the
    same long descriptions for valid codes (the order file's line is named by its order number)."""
    mine = codes.select("code", "is_billable", "description")
    theirs = order.select("code", "is_billable", "description", "order_number")
    missing = theirs.join(mine, on=["code", "is_billable"], how="anti")
    if missing.height:
        row = missing.sort("order_number").row(0, named=True)
        kind = "valid code" if row["is_billable"] else "header"
        raise SourceFormatError(path, None, f"every line of the order file to be a {kind} of the Tabular ({missing.height} are not; "
                                f"first: order number {row['order_number']})", row["code"])
    extra = mine.join(theirs, on=["code", "is_billable"], how="anti")
    if extra.height:
        raise SourceFormatError(path, None, f"every node of the Tabular in the order file with the same header/valid flag ({extra.height} are not)",
                                ", ".join(extra["code"].head(5).to_list()))
    diff = theirs.filter("is_billable").join(mine, on="code").filter(pl.col("description") != pl.col("description_right"))
    if diff.height:
        row = diff.sort("order_number").row(0, named=True)
        raise SourceFormatError(path, None, f"the Tabular's description of {row['code']} (order number {row['order_number']}; "
                                f"{diff.height} differ)", row["description"])
