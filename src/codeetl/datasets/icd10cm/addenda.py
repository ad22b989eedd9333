"""ICD-10-CM addenda: what changed from the previous fiscal year's code set, as CMS publishes it.

``icd10cm_order_addenda_YYYY.txt`` (role ``order_addenda``; in the mirror for FY2027, original CMS bytes, CRLF)
    One line per change, in the order-file layout with the order number replaced by the action:

    ==========  ==================================================================================
    cols 1-12   action, left-justified: ``Add:``, ``Delete:``, ``Revise from:``, ``Revise to:``
    col 14      ``0`` header / ``1`` valid for HIPAA-covered transactions
    cols 16-22  code without its dot, left-justified
    cols 24-83  short description (60 characters)
    cols 85-    long description
    ==========  ==================================================================================

    A code that turns from a valid code into a header is a ``Delete:`` with flag 1 and an ``Add:`` with flag
    0 (FY2027: D691 "Qualitative platelet defects" gets children D6911, D6919). A revised title is a
    ``Revise from:`` line (the old titles) followed by a ``Revise to:`` line (the new ones).

    Then a trailer with the totals, for headers and for codes::

        Headers
          23467 headers in icd10cm_order_2026.txt
          23524 headers in icd10cm_order_2027.txt
             63 additions
              6 deletions
              0 revisions
        of which
              0 revisions to both long and short titles
              0 revisions to long title only
              0 revisions to short title only

        Codes
          74719 codes in icd10cm_order_2026.txt
          ...

    The parser checks the trailer against the lines (additions = ``Add:`` lines with that flag, deletions =
    ``Delete:`` lines, revisions = ``Revise to:`` lines; after = before + additions - deletions).

``icd10cm_codes_addenda_YYYY.txt`` (role ``code_addenda``): the same changes for valid codes only, as the
    valid-code file spells them: the action, the code without its dot and the long description, separated
    by spaces. **Not in the offline mirror**: this layout is the one other projects read the file with (action
    label, code, long title; no header/valid flag, no short title); the parser accepts any run of spaces
    between the three and is tested on a fixture written for this project
    (``tests/fixtures/icd10cm/icd10cm_codes_addenda_2099.txt``), not on a CMS file. A trailer in the
    order addenda's format is accepted too. When a release has both files, the code addenda must list
    exactly the flag-1 lines of the order addenda (same actions, codes and long titles) and only the order
    addenda's rows are stored.
"""

from __future__ import annotations

import re
from pathlib import Path

import polars as pl

from codeetl.codes import icd10_dotted_expr
from codeetl.errors import SourceFormatError
from codeetl.sources.textio import raise_first, read_lines

ACTIONS = {"Add:": "add", "Delete:": "delete", "Revise from:": "revise_from", "Revise to:": "revise_to"}
_ORDER_LINE = re.compile(r"^(Add:|Delete:|Revise from:|Revise to:) *$")
_CODE_ADDENDA_LINE = re.compile(r"^(Add|Delete|Revise from|Revise to):\s+([A-Z][0-9A-Z]{2,6})\s+(\S.*?)\s*$")
_CODE_NODOT = re.compile(r"^[A-Z][0-9A-Z]{2,6}$")
_TOTAL_BEFORE_AFTER = re.compile(r"^\s*(\d+) (headers|codes) in (\S+)\s*$")
_TOTAL_COUNT = re.compile(r"^\s*(\d+) (additions|deletions|revisions)\s*$")
_TOTAL_OF_WHICH = re.compile(r"^\s*(\d+) revisions to (both long and short titles|long title only|short title only)\s*$")

ADDENDA_SCHEMA = {
    "release": pl.String, "source": pl.String, "line_no": pl.Int32, "action": pl.String, "code": pl.String,
    "code_nodot": pl.String, "is_billable": pl.Boolean, "short_description": pl.String, "description": pl.String,
}
TOTALS_KINDS = ("headers", "codes")


def _trailer(lines: pl.DataFrame, path: str, release: str) -> pl.DataFrame:
    """The totals block: one row per kind (headers, codes) with before/after counts and file names."""
    rows: dict[str, dict] = {}
    kind = None
    for line_no, text in lines.select("line_no", "text").iter_rows():
        t = text.strip()
        if not t or t == "of which":
            continue
        if t in ("Headers", "Codes"):
            kind = t.lower()
            rows[kind] = {"release": release, "kind": kind, "line_no": int(line_no)}
            continue
        m = _TOTAL_BEFORE_AFTER.match(text)
        if m and kind == m.group(2):
            key = "before" if "count_before" not in rows[kind] else "after"
            rows[kind][f"count_{key}"] = int(m.group(1))
            rows[kind][f"file_{key}"] = m.group(3)
            continue
        m = _TOTAL_COUNT.match(text)
        if m and kind:
            rows[kind][m.group(2)] = int(m.group(1))
            continue
        m = _TOTAL_OF_WHICH.match(text)
        if m and kind:
            col = {"both long and short titles": "revisions_both", "long title only": "revisions_long_only",
                   "short title only": "revisions_short_only"}[m.group(2)]
            rows[kind][col] = int(m.group(1))
            continue
        raise SourceFormatError(path, int(line_no), "a trailer line (Headers/Codes, 'N headers|codes in FILE', "
                                "'N additions|deletions|revisions', 'of which', 'N revisions to ...')", text)
    schema = {"release": pl.String, "kind": pl.String, "count_before": pl.Int32, "count_after": pl.Int32,
              "additions": pl.Int32, "deletions": pl.Int32, "revisions": pl.Int32, "revisions_both": pl.Int32,
              "revisions_long_only": pl.Int32, "revisions_short_only": pl.Int32, "file_before": pl.String,
              "file_after": pl.String, "line_no": pl.Int32}
    for kind, r in rows.items():
        missing = [c for c in ("count_before", "count_after", "additions", "deletions", "revisions") if c not in r]
        if missing:
            raise SourceFormatError(path, r["line_no"], f"the {kind} totals to state {', '.join(missing)}")
    return pl.DataFrame(list(rows.values()), schema=schema)


def _split_trailer(lines: pl.DataFrame, is_record: pl.Expr) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Records (every line up to the last record line) and the trailer (what follows it)."""
    last = lines.filter(is_record)["line_no"].max()
    if last is None:
        return lines.head(0), lines
    return lines.filter(pl.col("line_no") <= last), lines.filter(pl.col("line_no") > last)


def _check_totals(addenda: pl.DataFrame, totals: pl.DataFrame, path: str) -> None:
    """The trailer must agree with the lines: additions, deletions, revisions per flag; after = before + adds - dels."""
    for r in totals.iter_rows(named=True):
        flag = r["kind"] == "codes"
        mine = addenda.filter(pl.col("is_billable") == flag)
        counted = {"additions": mine.filter(pl.col("action") == "add").height,
                   "deletions": mine.filter(pl.col("action") == "delete").height,
                   "revisions": mine.filter(pl.col("action") == "revise_to").height}
        for k, n in counted.items():
            if r[k] != n:
                raise SourceFormatError(path, r["line_no"], f"the trailer's {r['kind']} {k} ({r[k]}) to equal the "
                                        f"number of such lines ({n})")
        if r["count_after"] != r["count_before"] + r["additions"] - r["deletions"]:
            raise SourceFormatError(path, r["line_no"], f"{r['kind']} after = before + additions - deletions",
                                    f"{r['count_before']} + {r['additions']} - {r['deletions']} != {r['count_after']}")


def _check_revisions(addenda: pl.DataFrame, path: str) -> None:
    """Every ``Revise to:`` follows a ``Revise from:`` of the same code."""
    rows = addenda.sort("line_no").to_dicts()
    for i, r in enumerate(rows):
        if r["action"] == "revise_to" and (i == 0 or rows[i - 1]["action"] != "revise_from" or rows[i - 1]["code_nodot"] != r["code_nodot"]):
            raise SourceFormatError(path, r["line_no"], "a 'Revise to:' line right after the 'Revise from:' line of the same code", r["code_nodot"])


def parse_order_addenda(path: str | Path, release: str) -> tuple[pl.DataFrame, pl.DataFrame]:
    """``icd10cm_order_addenda_YYYY.txt`` → (``icd10cm_addenda`` rows, ``icd10cm_addenda_totals`` rows)."""
    path = str(path)
    lines = read_lines(path).filter(pl.col("text").str.strip_chars() != "")
    is_record = pl.col("text").str.contains(r"^(Add|Delete|Revise from|Revise to):")
    records, trailer = _split_trailer(lines, is_record)
    raise_first(records, path, "an addenda line (Add:, Delete:, Revise from:, Revise to:)", ~is_record)
    parsed = records.with_columns(
        label=pl.col("text").str.slice(0, 12), flag=pl.col("text").str.slice(13, 1), code_nodot=pl.col("text").str.slice(15, 7).str.strip_chars(),
        short=pl.col("text").str.slice(23, 60).str.strip_chars(), long=pl.col("text").str.slice(84).str.strip_chars(),
    )
    raise_first(parsed, path, "action (cols 1-12), flag 0/1 (col 14), code (16-22), short (24-83) and long (85-) titles",
                ~pl.col("label").str.contains(_ORDER_LINE.pattern) | ~pl.col("flag").is_in(["0", "1"])
                | ~pl.col("code_nodot").str.contains(_CODE_NODOT.pattern) | (pl.col("text").str.slice(12, 1) != " ")
                | (pl.col("text").str.slice(14, 1) != " ") | (pl.col("text").str.slice(22, 1) != " ")
                | (pl.col("short") == "") | (pl.col("long") == ""))
    addenda = parsed.select(
        release=pl.lit(release), source=pl.lit("order_addenda"), line_no=pl.col("line_no").cast(pl.Int32),
        action=pl.col("label").str.strip_chars().replace_strict(ACTIONS), code=icd10_dotted_expr("code_nodot"),
        code_nodot="code_nodot", is_billable=pl.col("flag") == "1", short_description="short", description="long",
    )
    _check_revisions(addenda, path)
    totals = _trailer(trailer, path, release)
    if not totals.height:
        raise SourceFormatError(path, None, "a trailer with the Headers and Codes totals after the addenda lines")
    _check_totals(addenda, totals, path)
    return addenda, totals


def parse_code_addenda(path: str | Path, release: str) -> tuple[pl.DataFrame, pl.DataFrame]:
    """``icd10cm_codes_addenda_YYYY.txt`` (layout in the module docstring: documented, not seen offline) →
    (``icd10cm_addenda`` rows with ``is_billable`` true and no short description, totals if it has a trailer)."""
    path = str(path)
    lines = read_lines(path).filter(pl.col("text").str.strip_chars() != "")
    is_record = pl.col("text").str.contains(r"^(Add|Delete|Revise from|Revise to):")
    records, trailer = _split_trailer(lines, is_record)
    raise_first(records, path, "an addenda line: Add:, Delete:, Revise from: or Revise to:, the code without dot, the long title",
                ~pl.col("text").str.contains(_CODE_ADDENDA_LINE.pattern))
    parsed = records.with_columns(pl.col("text").str.extract_groups(_CODE_ADDENDA_LINE.pattern).alias("m")).unnest("m")
    addenda = parsed.select(
        release=pl.lit(release), source=pl.lit("code_addenda"), line_no=pl.col("line_no").cast(pl.Int32),
        action=(pl.col("1") + ":").replace_strict(ACTIONS), code=icd10_dotted_expr(pl.col("2")), code_nodot=pl.col("2"),
        is_billable=pl.lit(True), short_description=pl.lit(None, pl.String), description=pl.col("3"),
    )
    _check_revisions(addenda, path)
    totals = _trailer(trailer, path, release)
    _check_totals(addenda, totals.filter(pl.col("kind") == "codes"), path)
    return addenda, totals


def check_code_addenda(order: pl.DataFrame, codes: pl.DataFrame, path: str) -> None:
    """The code addenda must be exactly the flag-1 lines of the order addenda (action, code, long title)."""
    key = ["action", "code_nodot", "description"]
    mine = order.filter("is_billable").select(key)
    theirs = codes.select([*key, "line_no"])
    extra = theirs.join(mine, on=key, how="anti")
    if extra.height:
        r = extra.sort("line_no").row(0, named=True)
        raise SourceFormatError(path, r["line_no"], "every line of the code addenda to be a flag-1 line of the order addenda",
                                f"{r['action']} {r['code_nodot']} {r['description']}")
    missing = mine.join(theirs, on=key, how="anti")
    if missing.height:
        r = missing.row(0, named=True)
        raise SourceFormatError(path, None, f"every flag-1 line of the order addenda in the code addenda ({missing.height} missing)",
                                f"{r['action']} {r['code_nodot']} {r['description']}")
