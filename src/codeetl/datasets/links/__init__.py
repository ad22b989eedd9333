"""Curated diagnosis-procedure link files: reading and validating ``data/links/*.csv``.

Besides the MCD articles, the warehouse takes diagnosis -> procedure links from small hand-maintained CSV
files in ``data/links/`` (project files, committed with the code), for example the procedures a published
code page lists for a diagnosis. Each file has exactly these columns, with a header row::

    dx,hcpcs,source,note
    M96.1,63030,"published orthopedic code page, 2026-05-08",page shows $898.15

* ``dx`` — an ICD-10-CM code, dotted or not (``M96.1`` / ``M961``); stored dotted.
* ``hcpcs`` — a CPT/HCPCS code, 5 characters.
* ``source`` — who says so (a publication and its date); required.
* ``note`` — free text; may be empty.

Files are UTF-8. Validation never loads a link it cannot check: :func:`validate_links` returns the valid
rows and a list of :class:`LinkProblem` (file, line, code, why) for the others — a code that is not in the
loaded ICD-10-CM / PFS release, a malformed code, a missing source, a repeated link. The caller (the CLI /
flow) decides whether problems are fatal; :func:`to_curated_link` turns valid rows into
``curated_link`` rows (``tables.sql``; the view ``dx_procedure_link`` adds the MCD pairs). :mod:`codeetl.build.links`
loads them into a warehouse being built.

All functions here are pure: files in, frames and problem lists out; no database, no network.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from codeetl.codes import ICD10_PATTERN, icd10_dotted_expr, icd10_nodot
from codeetl.errors import SourceFormatError

LINK_FILE_COLUMNS = ("dx", "hcpcs", "source", "note")
"""The header of a curated link file (any order)."""

FRAME_COLUMNS = ["file", "line_no", "dx", "hcpcs", "source", "note"]
"""Columns of the frames :func:`read_links_csv` returns and :func:`validate_links` takes."""


_HCPCS_SHAPE = r"^[0-9A-Z]{5}$"


@dataclass(frozen=True)
class LinkProblem:
    """One link that was not loaded: where it is and why."""

    file: str
    line: int
    code: str
    why: str

    def __str__(self) -> str:
        code = f" {self.code}:" if self.code else ""
        return f"{self.file}, line {self.line}:{code} {self.why}"


def read_links_csv(path: str | Path) -> pl.DataFrame:
    """One curated link file as a frame of strings with :data:`FRAME_COLUMNS` (``file`` = file name,
    ``line_no`` = 1-based line). Values are stripped; ``dx`` and ``hcpcs`` upper-cased. A missing or
    unexpected column, or a row with the wrong number of fields, raises :class:`SourceFormatError`."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as e:
        raise SourceFormatError(path, None, "UTF-8 text", str(e)) from None
    reader = csv.reader(io.StringIO(text, newline=""))
    header = [h.strip().lower() for h in next(reader, [])]
    if sorted(header) != sorted(LINK_FILE_COLUMNS):
        raise SourceFormatError(path, 1, "the header " + ",".join(LINK_FILE_COLUMNS), ",".join(header))
    rows: dict[str, list] = {c: [] for c in FRAME_COLUMNS}
    start = reader.line_num + 1
    for cells in reader:
        if any(c.strip() for c in cells):
            if len(cells) != len(header):
                raise SourceFormatError(path, start, f"{len(header)} comma-separated fields ({','.join(header)})", ",".join(cells))
            rec = dict(zip(header, (c.strip() for c in cells)))
            rows["file"].append(path.name)
            rows["line_no"].append(start)
            rows["dx"].append(rec["dx"].upper())
            rows["hcpcs"].append(rec["hcpcs"].upper())
            rows["source"].append(rec["source"])
            rows["note"].append(rec["note"] or None)
        start = reader.line_num + 1
    return pl.DataFrame(rows, schema={c: (pl.Int64 if c == "line_no" else pl.String) for c in FRAME_COLUMNS})


def read_link_files(folder: str | Path) -> pl.DataFrame:
    """Every ``*.csv`` of a folder (default layout: ``data/links``), in file-name order, concatenated."""
    frames = [read_links_csv(p) for p in sorted(Path(folder).glob("*.csv"))]
    if not frames:
        return pl.DataFrame(schema={c: (pl.Int64 if c == "line_no" else pl.String) for c in FRAME_COLUMNS})
    return pl.concat(frames)


def _link_checks(dx_known: pl.Series, hcpcs_known: pl.Series) -> list[tuple[pl.Expr, pl.Expr, str | pl.Expr]]:
    """The checks of a link row, in report order: (is a problem, code shown, why)."""
    return [
        # (is a problem, code shown, why)
        (pl.col("dx") == "", pl.lit(""), "missing ICD-10-CM code (dx)"),
        (
            (pl.col("dx") != "") & ~pl.col("_dx_nodot").str.contains(ICD10_PATTERN),
            pl.col("dx"),
            "not an ICD-10-CM code (expected a letter, two letters or digits and up to four more, e.g. M96.1, QA0.0101)",
        ),
        (
            pl.col("_dx_nodot").str.contains(ICD10_PATTERN) & ~pl.col("_dx_nodot").is_in(dx_known.implode()),
            pl.col("dx"),
            "unknown ICD-10-CM code (not in the loaded ICD-10-CM release)",
        ),
        (pl.col("hcpcs") == "", pl.lit(""), "missing CPT/HCPCS code (hcpcs)"),
        ((pl.col("hcpcs") != "") & ~pl.col("hcpcs").str.contains(_HCPCS_SHAPE), pl.col("hcpcs"), "not a CPT/HCPCS code (expected 5 letters/digits)"),
        (
            pl.col("hcpcs").str.contains(_HCPCS_SHAPE) & ~pl.col("hcpcs").is_in(hcpcs_known.implode()),
            pl.col("hcpcs"),
            "unknown CPT/HCPCS code (not in the loaded fee schedule)",
        ),
        (pl.col("source") == "", pl.lit(""), "missing source"),
        (
            ~pl.col("_first"),
            pl.col("dx") + " " + pl.col("hcpcs"),
            pl.format("duplicate of line {}", pl.col("_first_line")),
        ),
    ]


def validate_links(frame: pl.DataFrame, known_dx: set[str], known_hcpcs: set[str]) -> tuple[pl.DataFrame, list[LinkProblem]]:
    """Split curated links into the loadable ones and the problems.

    ``known_dx``: the ICD-10-CM codes a link may use (dotted or not; pass only billable codes to reject
    headers such as M96). ``known_hcpcs``: the CPT/HCPCS codes (e.g. the PFS release's ``pfs_rvu.hcpcs``).
    A row is valid when its dx and hcpcs have the right shape and are known, it has a source, and it does
    not repeat an earlier row of the same file (same dx, hcpcs and source). Every failed check of a row is
    reported; a row with any problem is not in the valid frame.

    Returns ``(valid, problems)``: ``valid`` has :data:`FRAME_COLUMNS` with ``dx`` dotted; ``problems``
    is ordered by file and line.
    """
    dx_known = pl.Series([icd10_nodot(c) for c in known_dx], dtype=pl.String)
    hcpcs_known = pl.Series([c.strip().upper() for c in known_hcpcs], dtype=pl.String)
    dx = pl.col("dx").str.replace_all(".", "", literal=True)
    checked = frame.with_row_index("_row").with_columns(
        dx.alias("_dx_nodot"),
        pl.struct("file", dx, "hcpcs", "source").is_first_distinct().alias("_first"),
        pl.col("line_no").first().over("file", dx, "hcpcs", "source").alias("_first_line"),
    )
    checks = _link_checks(dx_known, hcpcs_known)
    found = pl.concat(
        [
            checked.filter(bad).select(
                "_row",
                "file",
                "line_no",
                pl.lit(i).alias("_check"),
                code.alias("code"),
                (why if isinstance(why, pl.Expr) else pl.lit(why)).alias("why"),
            )
            for i, (bad, code, why) in enumerate(checks)
        ]
    ).sort("file", "line_no", "_check")
    problems = [LinkProblem(r["file"], r["line_no"], r["code"], r["why"]) for r in found.iter_rows(named=True)]
    valid = (
        checked.filter(~pl.col("_row").is_in(found["_row"].implode()))
        .with_columns(icd10_dotted_expr(pl.col("_dx_nodot")).alias("dx"))
        .select(FRAME_COLUMNS)
    )
    return valid, problems


def to_curated_link(valid: pl.DataFrame) -> pl.DataFrame:
    """Valid curated links as ``curated_link`` rows: ``source_id`` = file name, no source release."""
    return valid.select(
        "dx",
        "hcpcs",
        "source",
        pl.col("file").alias("source_id"),
        pl.lit(None, pl.String).alias("source_release"),
        "note",
        pl.col("line_no").cast(pl.Int32),
    )
