"""Display forms of diagnosis codes, and the one form of a date codeetl reads from people (YYYY-MM-DD).

CMS files carry codes without the decimal point (M961, 72283, E8809); people, the Tabular List and
the IPPS tables print them dotted (M96.1, 722.83, E880.9). The warehouse stores the dotted display
form in `code`-like columns and, where useful, the undotted form in `*_nodot` columns.
"""

from __future__ import annotations

import datetime as dt
import re

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # polars only for the *_expr helpers (keeps CLI start-up fast)
    import polars as pl

ICD10_PATTERN = r"^[A-Z][0-9A-Z][0-9A-Z](?:\.?[0-9A-Z]{1,4})?$"
"""The shape of an ICD-10-CM code, dotted or not: a letter, two letters or digits (M96, QA0, U07), then up to
four more letters or digits. A plain regular expression, usable by :mod:`re` and by polars alike."""

_ICD10_RE = re.compile(ICD10_PATTERN)

ISO_DATE_PATTERN = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
"""A date as people give it to codeetl (options, date columns, catalogs): YYYY-MM-DD and nothing else, so
that 20260401 or 2026-W14-3 (which Python's ``date.fromisoformat`` also takes) are refused."""

_ISO_DATE_RE = re.compile(ISO_DATE_PATTERN)


def iso_date(text: str) -> dt.date | None:
    """'2026-04-01' -> date(2026, 4, 1); None for any other form (20260401, 2026-W14-3, 2026-4-1) or an
    impossible day (2026-02-30)."""
    if not _ISO_DATE_RE.match(text) or text.endswith("\n"):
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        return None


def icd10_nodot(code: str) -> str:
    """'m96.1' -> 'M961'. Whitespace is stripped and letters upper-cased."""
    return code.strip().upper().replace(".", "")


def icd10_dotted(code: str) -> str:
    """'M961' -> 'M96.1', 'S72001A' -> 'S72.001A', 'M96' -> 'M96' (a dot after the category)."""
    c = icd10_nodot(code)
    return c if len(c) <= 3 else f"{c[:3]}.{c[3:]}"


def looks_like_icd10(code: str) -> bool:
    """True when `code` has the shape of an ICD-10-CM code (:data:`ICD10_PATTERN`: a letter, two letters or
    digits, then up to 4 more; the dot optional). Whitespace and case do not matter."""
    return bool(_ICD10_RE.match(code.strip().upper()))


def icd9dx_dotted(code: str) -> str:
    """ICD-9-CM diagnosis codes: '72283' -> '722.83', 'E8809' -> 'E880.9', 'V454' -> 'V45.4'.

    E codes have four characters before the dot, numeric and V codes three. 'NoDx' is kept as is.
    """
    c = code.strip().upper()
    if c == "NODX":
        return "NoDx"
    head = 4 if c.startswith("E") else 3
    return c if len(c) <= head else f"{c[:head]}.{c[head:]}"


def icd10_dotted_expr(col: str | pl.Expr) -> pl.Expr:
    """Polars expression form of :func:`icd10_dotted` (input already upper-case, no dot)."""
    import polars as pl

    e = pl.col(col) if isinstance(col, str) else col
    return pl.when(e.str.len_chars() <= 3).then(e).otherwise(e.str.slice(0, 3) + "." + e.str.slice(3))


def icd9dx_dotted_expr(col: str | pl.Expr) -> pl.Expr:
    """Polars expression form of :func:`icd9dx_dotted`."""
    import polars as pl

    e = pl.col(col) if isinstance(col, str) else col
    head = pl.when(e.str.starts_with("E")).then(4).otherwise(3)
    return (
        pl.when(e.str.to_uppercase() == "NODX")
        .then(pl.lit("NoDx"))
        .when(e.str.len_chars() <= head)
        .then(e)
        .otherwise(e.str.slice(0, head) + "." + e.str.slice(head))
    )
