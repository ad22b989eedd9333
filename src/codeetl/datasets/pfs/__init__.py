"""Medicare Physician Fee Schedule (PFS): the national RVU file, the GPCIs and the locality/county crosswalk.

Dataset ``pfs``. One release per quarterly CMS "PFS Relative Value Files" zip (``RVU26B.zip`` = CY2026
April release = release ``2026-B``); see ``catalog.toml``. The layouts below are those documented in
the release's own README PDF ("National Physician Fee Schedule Relative Value File Calendar Year 2026",
``RVU26B.pdf``; ``RVU25D.pdf`` is identical apart from the pricing indicator noted below), checked against
the files of releases 2026-B and 2025-D.

Copyright: CPT codes and their short descriptors are AMA-copyrighted, dental (D) codes ADA-copyrighted.
The RVU file may be stored and shown with the notice it carries: :func:`file_notices` reads it (with the
years the file states) into table ``pfs_notice``, which the pages print. :data:`CPT_COPYRIGHT_NOTICE` is
RVU26B.pdf's wording, for reference; :func:`read_header_notice` returns one file's HDR text verbatim.

Files and layouts: the RVU file in :mod:`.rvu` (record layout in ``layout.csv``), the GPCI and
locality/county files in :mod:`.localities`. Payment arithmetic and its rounding rule are in ``views.sql``.
No float is involved anywhere.
"""

from __future__ import annotations

import re
from pathlib import Path

import polars as pl

from codeetl.sources.catalog import Release
from codeetl.datasets.pfs.localities import parse_gpci_csv, parse_locco_csv  # noqa: F401  (the package API)
from codeetl.datasets.pfs.rvu import parse_rvu_csv, parse_rvu_fixed
from codeetl.errors import FetchError, SourceFormatError
from codeetl.sources.textio import read_text

PARSER_VERSION = "1"

CPT_COPYRIGHT_NOTICE = (
    "CPT codes and descriptions only are copyright 2026 American Medical Association. "
    "All rights reserved. Applicable FARS/DFARS apply."
)
"""The AMA notice as RVU26B.pdf words it; the RVU files' ``HDR`` records carry the same text."""

DENTAL_COPYRIGHT_NOTICE = "All dental codes copyright 2025/26 American Dental Association, all rights reserved."
"""The ADA notice for HCPCS codes starting with D, as RVU26B.pdf words it."""

_AMA = re.compile(r"COPYRIGHT\s+(\d{4})\s+AMERICAN\s+MEDICAL\s+ASSOCIATION", re.I)
_ADA = re.compile(r"COPYRIGHT\s+(\d{4}(?:/\d{2,4})?)\s+AMERICAN\s+DENTAL\s+ASSOCIATION", re.I)


def file_notices(path: str | Path) -> tuple[str, str | None]:
    """The copyright notices an RVU file carries — in its ``HDR`` records (fixed width) or its title rows
    (CSV) — as ``(cpt_notice, dental_notice)``, with the years the file states (2026 in RVU26B, 2024 in
    RVU25D's CSV). The wording is the PDF's; the years are the file's. A file without the AMA notice is
    an error: CPT descriptors may only be stored and shown with it."""
    head = []
    for line in read_text(path).splitlines()[:15]:
        head.append(line[4:] if line.startswith("HDR") else line)
    text = re.sub(r"[\s,]+", " ", " ".join(head))
    ama = _AMA.search(text)
    if not ama:
        raise SourceFormatError(path, None, "the AMA CPT copyright notice in the HDR records or title rows")
    ada = _ADA.search(text)
    cpt = (f"CPT codes and descriptions only are copyright {ama.group(1)} American Medical Association. "
           "All rights reserved. Applicable FARS/DFARS apply.")
    dental = f"All dental codes copyright {ada.group(1)} American Dental Association, all rights reserved." if ada else None
    return cpt, dental


def read_header_notice(path: str | Path) -> str:
    """The copyright text of a fixed-width RVU file's ``HDR`` records (columns 5-50), joined with spaces.

    Returned as the file has it (upper case, and cut at column 50 mid-word in places, e.g. "ALL RIGH").
    """
    parts = []
    for line in read_text(path).splitlines():
        if not line.startswith("HDR"):
            break
        parts.append(line[4:50].strip())
    return " ".join(re.sub(r"\s+", " ", p) for p in parts if p)


ROLES = ("rvu", "rvu_csv", "gpci", "locco")


def parse_release(release: Release, inputs: dict[str, Path]) -> dict[str, pl.DataFrame]:
    """``pfs_rvu`` (from the fixed-width file when present, else the CSV), ``pfs_gpci``, ``pfs_locality``."""
    rid = release.release
    out: dict[str, pl.DataFrame] = {}
    rvu_path = inputs.get("rvu") or inputs.get("rvu_csv")
    if "rvu" in inputs:
        out["pfs_rvu"] = parse_rvu_fixed(inputs["rvu"], rid)
    elif "rvu_csv" in inputs:
        out["pfs_rvu"] = parse_rvu_csv(inputs["rvu_csv"], rid)
    if rvu_path is not None:
        cpt, dental = file_notices(rvu_path)
        out["pfs_notice"] = pl.DataFrame({"release": [rid], "cpt_notice": [cpt], "dental_notice": [dental]},
                                         schema={"release": pl.String, "cpt_notice": pl.String, "dental_notice": pl.String})
    if "gpci" in inputs:
        out["pfs_gpci"] = parse_gpci_csv(inputs["gpci"], rid)
    if "locco" in inputs:
        out["pfs_locality"] = parse_locco_csv(inputs["locco"], rid)
    if not out:
        raise FetchError(f"pfs {rid}: none of the inputs {list(ROLES)} was found (got {sorted(inputs)})")
    return out
