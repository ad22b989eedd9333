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

import re
from pathlib import Path

import polars as pl

from codeetl.sources.catalog import Release
from codeetl.datasets.ipps.table5 import parse_table5
from codeetl.datasets.ipps.table6 import parse_table6ij, parse_table6k  # noqa: F401  (the package API)
from codeetl.errors import CatalogError, FetchError

PARSER_VERSION = "1"


def _fiscal_year_from_release(release_id: str) -> int | None:
    m = re.fullmatch(r"fy(\d{4})", release_id.lower())
    return int(m.group(1)) if m else None


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

