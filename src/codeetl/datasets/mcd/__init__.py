"""Medicare Coverage Database (MCD): billing and coding articles, and the diagnosis-procedure links in them.

Dataset ``mcd``. **Tested on fixtures only**: the MCD exports are not in the offline mirror, so this loader
is written to the documented/observed format of CMS's "Current Articles" download and tested on the small
hand-written fixture in ``tests/fixtures/mcd/`` (synthetic article ids and texts, real code shapes). Run it
on a real download before trusting it; a changed layout fails with :class:`SourceFormatError`.

Source: ``https://downloads.cms.gov/medicare-coverage-database/downloads/exports/current_article.zip``
(MCD > Downloads > "Current Articles"), replaced weekly at the same URL. CMS makes you accept the AMA CPT /
ADA CDT license on the download page: the HCPCS descriptions in it are AMA/ADA-copyrighted. The zip holds
a nested ``current_article_csv.zip`` (role ``export``) with one CSV per table of the MCD's relational
export (UTF-8 or Windows-1252, comma-separated, quoted, a header row, HTML in the paragraph fields). The
tables and columns this loader uses (more exist; extra columns are ignored):

``article.csv`` (role ``article``; optional)
    ``article_id`` (number; the public id is ``A`` + number, also in ``display_id`` when present),
    ``article_version``, ``article_type``, ``title``, ``status``, ``article_eff_date``,
    ``article_end_date``, ``last_updated``.
``article_x_icd10_covered.csv`` (role ``article_x_icd10_covered``; required)
    ``article_id``, ``article_version``, ``icd10_code_id`` (dotted: ``M96.1``), ``icd10_code_version``,
    ``icd10_covered_group`` (group number within the article), ``range``, ``sort_order``,
    ``description``, ``asterisk``, ``last_updated``.
``article_x_hcpc_code.csv`` (role ``article_x_hcpc_code``; required)
    ``article_id``, ``article_version``, ``hcpc_code_id``, ``hcpc_code_version``, ``hcpc_code_group``,
    ``range``, ``last_updated``, ``long_description``, ``short_description``.
``article_x_icd10_covered_group.csv`` / ``article_x_hcpc_code_group.csv`` (optional)
    ``article_id``, ``article_version``, ``icd10_covered_group`` / ``hcpc_code_group``, ``paragraph``
    (HTML: the group's instructions, e.g. "Group 1 Codes: the following ICD-10-CM codes support medical
    necessity for CPT 62321 and 62323 ..."), ``last_updated``.

Dates are accepted as ``YYYY-MM-DD`` (optionally followed by a time) or ``MM/DD/YYYY``.

How groups pair: nothing in the export says which ICD-10 covered group goes with which CPT/HCPCS group.
The group numbers are independent sequences (ICD-10 group 1 is not "for" HCPCS group 1); the pairing is
prose in the group paragraphs (and sometimes "Group 1 and Group 2 codes must be billed together", i.e.
primary + secondary diagnosis). So ``dx_procedure_link`` pairs every covered ICD-10 code with every CPT/
HCPCS code **of the same article version**, and records the groups each came from in ``note``
(``A99001 v3; ICD-10 covered group 1; CPT/HCPCS group 1``); ``mcd_article_code_group`` keeps the
paragraphs, as plain text, for whoever needs the finer rule.
"""

from __future__ import annotations

import csv
import datetime as dt
import html
import io
import re
import sys
import zipfile
import zlib
from pathlib import Path

import polars as pl

from codeetl.sources.catalog import Release
from codeetl.codes import icd10_dotted, looks_like_icd10
from codeetl.sources.textio import decode_cms_text, read_bytes
from codeetl.errors import FetchError, SourceFormatError

PARSER_VERSION = "1"
LINK_SOURCE = "mcd_article"
"""``dx_procedure_link.source`` of the links made from MCD articles."""

MEMBERS = {
    "article": "article.csv",
    "article_x_icd10_covered": "article_x_icd10_covered.csv",
    "article_x_hcpc_code": "article_x_hcpc_code.csv",
    "article_x_icd10_covered_group": "article_x_icd10_covered_group.csv",
    "article_x_hcpc_code_group": "article_x_hcpc_code_group.csv",
}
REQUIRED = ("article_x_icd10_covered", "article_x_hcpc_code")

_NEEDS = {
    "article": ("article_id", "article_version", "title"),
    "article_x_icd10_covered": ("article_id", "article_version", "icd10_code_id", "icd10_covered_group"),
    "article_x_hcpc_code": ("article_id", "article_version", "hcpc_code_id", "hcpc_code_group"),
    "article_x_icd10_covered_group": ("article_id", "article_version", "icd10_covered_group", "paragraph"),
    "article_x_hcpc_code_group": ("article_id", "article_version", "hcpc_code_group", "paragraph"),
}

LINK_COLUMNS = ["dx", "hcpcs", "source", "source_id", "source_release", "note"]

_INT = re.compile(r"^[0-9]+$")
_HCPCS = re.compile(r"^[0-9A-Z]{5}$")
_TAG = re.compile(r"<[^>]+>")


# --------------------------------------------------------------------------------------------------
# Reading the CSV tables
# --------------------------------------------------------------------------------------------------




class _Table:
    """One CSV table of the export: its rows as dicts of stripped strings, with their 1-based line."""

    def __init__(self, where: str, raw: bytes, needs: tuple[str, ...]):
        self.where = where
        csv.field_size_limit(min(sys.maxsize, 2**31 - 1))  # paragraphs are long HTML
        reader = csv.reader(io.StringIO(decode_cms_text(raw, where), newline=""))
        try:
            header = [h.strip().lower() for h in next(reader)]
        except StopIteration:
            raise SourceFormatError(where, 1, "a header row", "an empty file") from None
        missing = [n for n in needs if n not in header]
        if missing:
            raise SourceFormatError(where, 1, "columns " + ", ".join(needs), ",".join(header))
        self.rows: list[tuple[int, dict[str, str]]] = []
        start = reader.line_num + 1
        for cells in reader:
            if any(c.strip() for c in cells):
                if len(cells) != len(header):
                    raise SourceFormatError(where, start, f"{len(header)} fields, as in the header", ",".join(cells))
                self.rows.append((start, {h: c.strip() for h, c in zip(header, cells)}))
            start = reader.line_num + 1

    def fail(self, line: int, expected: str, found: str):
        """Raise SourceFormatError for `line` of this table."""
        raise SourceFormatError(self.where, line, expected, found)

    def integer(self, line: int, row: dict, col: str, optional: bool = False) -> int | None:
        """The integer in `col` of `row` (None when empty and `optional`); raises naming the line otherwise."""
        v = row.get(col, "")
        if v == "" and optional:
            return None
        if not _INT.match(v):
            self.fail(line, f"{col}: a whole number", v)
        return int(v)

    def date(self, line: int, row: dict, col: str) -> dt.date | None:
        """The date in `col` of `row` (YYYY-MM-DD or MM/DD/YYYY; None when empty); raises naming the line otherwise."""
        v = row.get(col, "")
        if not v:
            return None
        m = re.match(r"^(\d{4})-(\d{2})-(\d{2})(?:[ T].*)?$", v) or None
        try:
            if m:
                return dt.date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
            m = re.match(r"^(\d{1,2})/(\d{1,2})/(\d{4})(?: .*)?$", v)
            if m:
                return dt.date(int(m.group(3)), int(m.group(1)), int(m.group(2)))
        except ValueError:
            pass
        self.fail(line, f"{col}: a date (YYYY-MM-DD or MM/DD/YYYY)", v)


MAX_MCD_BYTES = 400_000_000  # as the catalog's member_max_bytes for mcd


def _member(zf: zipfile.ZipFile, name: str, where: str | Path) -> bytes:
    """A zip member's bytes, refused before reading when it declares more than MAX_MCD_BYTES (zipfile never
    returns more than the declared size)."""
    size = zf.getinfo(name).file_size
    if size > MAX_MCD_BYTES:
        raise SourceFormatError(f"{where}!/{name}", None, f"a member of at most {MAX_MCD_BYTES:,} bytes", f"{size:,} bytes")
    try:
        return zf.read(name)
    except (zipfile.BadZipFile, zlib.error, EOFError) as e:
        raise SourceFormatError(f"{where}!/{name}", None, "a readable zip member", str(e)) from None


def _read_tables(inputs: dict[str, Path]) -> dict[str, _Table]:
    """The export's tables, from individual CSV roles or from the ``export`` zip (outer or inner)."""
    tables: dict[str, _Table] = {}
    for role in MEMBERS:
        if role in inputs:
            tables[role] = _Table(str(inputs[role]), read_bytes(inputs[role], MAX_MCD_BYTES), _NEEDS[role])
    if "export" in inputs:
        zpath = Path(inputs["export"])
        try:
            zf = zipfile.ZipFile(zpath)
        except zipfile.BadZipFile:
            raise SourceFormatError(zpath, None, "a zip archive (current_article_csv.zip or current_article.zip)") from None
        with zf:
            names = {Path(n).name.lower(): n for n in zf.namelist()}
            inner = next((n for low, n in names.items() if low.endswith("_csv.zip")), None)
            if inner is not None and "article_x_hcpc_code.csv" not in names:  # the outer download zip
                zf2 = zipfile.ZipFile(io.BytesIO(_member(zf, inner, zpath)))
                where_base = f"{zpath}!/{inner}"
            else:
                zf2, where_base = zf, str(zpath)
            with zf2:
                names2 = {Path(n).name.lower(): n for n in zf2.namelist()}
                for role, member in MEMBERS.items():
                    if role not in tables and member in names2:
                        tables[role] = _Table(f"{where_base}!/{names2[member]}", _member(zf2, names2[member], where_base),
                                              _NEEDS[role])
    missing = [MEMBERS[r] for r in REQUIRED if r not in tables]
    if missing:
        raise FetchError(f"mcd: the export lacks {', '.join(missing)} (inputs: {sorted(inputs)})")
    return tables


def plain_text(fragment: str) -> str:
    """HTML paragraph -> plain text: tags dropped, entities decoded (twice: CMS double-escapes some), spaces
    collapsed."""
    text = html.unescape(html.unescape(_TAG.sub(" ", fragment or "")))
    return " ".join(text.replace("\xa0", " ").split())


# --------------------------------------------------------------------------------------------------
# Tables
# --------------------------------------------------------------------------------------------------


def _articles(t: _Table | None, release: str) -> pl.DataFrame:
    schema = {
        "release": pl.String,
        "article_id": pl.Int64,
        "article_version": pl.Int32,
        "display_id": pl.String,
        "title": pl.String,
        "article_type": pl.String,
        "status": pl.String,
        "effective_date": pl.Date,
        "end_date": pl.Date,
        "last_updated": pl.Date,
    }
    recs = []
    seen: dict[tuple[int, int], int] = {}
    for line, r in t.rows if t else []:
        aid = t.integer(line, r, "article_id")
        version = t.integer(line, r, "article_version")
        if (aid, version) in seen:
            t.fail(line, f"one row per article_id + article_version (article {aid} version {version} is on line {seen[aid, version]})", r["title"])
        seen[aid, version] = line
        display = r.get("display_id") or f"A{aid}"
        if not re.match(r"^[A-Z][0-9]+$", display):
            t.fail(line, "display_id: A followed by the article number", display)
        recs.append(
            {
                "release": release,
                "article_id": aid,
                "article_version": version,
                "display_id": display,
                "title": r["title"],
                "article_type": r.get("article_type") or None,
                "status": r.get("status") or None,
                "effective_date": t.date(line, r, "article_eff_date"),
                "end_date": t.date(line, r, "article_end_date"),
                "last_updated": t.date(line, r, "last_updated"),
            }
        )
    return pl.DataFrame(recs, schema=schema)


def _article_code_rows(t: _Table, release: str, check, columns: dict) -> pl.DataFrame:
    """Rows of an article x code table: release, article id and version, then each of `columns` (name ->
    (dtype, value(line, row))), and the line. ``check(line, row)`` raises for a bad code first."""
    recs = []
    for line, r in t.rows:
        check(line, r)
        recs.append({"release": release, "article_id": t.integer(line, r, "article_id"),
                     "article_version": t.integer(line, r, "article_version"),
                     **{name: value(line, r) for name, (_, value) in columns.items()}, "line_no": line})
    schema = {"release": pl.String, "article_id": pl.Int64, "article_version": pl.Int32,
              **{name: dtype for name, (dtype, _) in columns.items()}, "line_no": pl.Int32}
    return pl.DataFrame(recs, schema=schema)


def _text(col: str):
    """A column's value: the cell's text, or None when it is empty."""
    return lambda line, r: r.get(col) or None


def _covered(t: _Table, release: str) -> pl.DataFrame:
    """``mcd_article_icd10_covered`` rows: each covered ICD-10-CM code (dotted) of an article version."""
    def check(line, r):
        """Raise naming the line unless the row's code is an ICD-10-CM code."""
        if not looks_like_icd10(r["icd10_code_id"].upper()):
            t.fail(line, "icd10_code_id: an ICD-10-CM code (M96.1)", r["icd10_code_id"])

    return _article_code_rows(t, release, check, {
        "icd10_code": (pl.String, lambda line, r: icd10_dotted(r["icd10_code_id"].upper())),
        "covered_group": (pl.Int32, lambda line, r: t.integer(line, r, "icd10_covered_group")),
        "range_flag": (pl.String, _text("range")),
        "sort_order": (pl.Int32, lambda line, r: t.integer(line, r, "sort_order", optional=True)),
        "description": (pl.String, _text("description")),
        "asterisk": (pl.String, _text("asterisk")),
    })


def _hcpcs(t: _Table, release: str) -> pl.DataFrame:
    """``mcd_article_hcpcs`` rows: each CPT/HCPCS code of an article version."""
    def check(line, r):
        """Raise naming the line unless the row's code is a CPT/HCPCS code."""
        if not _HCPCS.match(r["hcpc_code_id"].upper()):
            t.fail(line, "hcpc_code_id: a 5-character CPT/HCPCS code", r["hcpc_code_id"])

    return _article_code_rows(t, release, check, {
        "hcpcs": (pl.String, lambda line, r: r["hcpc_code_id"].upper()),
        "hcpcs_group": (pl.Int32, lambda line, r: t.integer(line, r, "hcpc_code_group")),
        "range_flag": (pl.String, _text("range")),
        "short_description": (pl.String, _text("short_description")),
        "long_description": (pl.String, _text("long_description")),
    })


def _groups(tables: dict[str, _Table], release: str) -> pl.DataFrame:
    recs = []
    for role, kind, col in (
        ("article_x_icd10_covered_group", "icd10_covered", "icd10_covered_group"),
        ("article_x_hcpc_code_group", "hcpcs", "hcpc_code_group"),
    ):
        t = tables.get(role)
        for line, r in t.rows if t else []:
            recs.append(
                {
                    "release": release,
                    "article_id": t.integer(line, r, "article_id"),
                    "article_version": t.integer(line, r, "article_version"),
                    "code_kind": kind,
                    "group_no": t.integer(line, r, col),
                    "paragraph": plain_text(r["paragraph"]),
                }
            )
    schema = {
        "release": pl.String,
        "article_id": pl.Int64,
        "article_version": pl.Int32,
        "code_kind": pl.String,
        "group_no": pl.Int32,
        "paragraph": pl.String,
    }
    return pl.DataFrame(recs, schema=schema)


def build_links(covered: pl.DataFrame, hcpcs: pl.DataFrame, articles: pl.DataFrame, release: str) -> pl.DataFrame:
    """``mcd_dx_procedure_link`` rows: each covered ICD-10 code x each CPT/HCPCS code of the same article
    version, one row per (dx, hcpcs, article version) with the groups they came from in ``note``."""
    keys = ["article_id", "article_version"]
    pairs = (
        covered.select(*keys, pl.col("icd10_code").alias("dx"), "covered_group")
        .join(hcpcs.select(*keys, "hcpcs", "hcpcs_group"), on=keys, how="inner")
        .group_by(*keys, "dx", "hcpcs")
        .agg(pl.col("covered_group").unique().sort(), pl.col("hcpcs_group").unique().sort())
    )
    ids = articles.select(*keys, "display_id")
    groups = lambda c: pl.col(c).list.eval(pl.element().cast(pl.String)).list.join(", ")  # noqa: E731
    return (
        pairs.join(ids, on=keys, how="left")
        .with_columns(pl.coalesce("display_id", pl.lit("A") + pl.col("article_id").cast(pl.String)).alias("source_id"))
        .with_columns(
            (
                pl.col("source_id")
                + " v"
                + pl.col("article_version").cast(pl.String)
                + "; ICD-10 covered group "
                + groups("covered_group")
                + "; CPT/HCPCS group "
                + groups("hcpcs_group")
            ).alias("note"),
            pl.lit(LINK_SOURCE).alias("source"),
            pl.lit(release, pl.String).alias("source_release"),
        )
        .sort("source_id", "article_version", "dx", "hcpcs")
        .with_row_index("line_no", offset=1)
        .select(*LINK_COLUMNS, pl.col("line_no").cast(pl.Int32))
    )


def parse_release(release: Release, inputs: dict[str, Path]) -> dict[str, pl.DataFrame]:
    """``mcd_article``, ``mcd_article_icd10_covered``, ``mcd_article_hcpcs``, ``mcd_article_code_group``
    and ``mcd_dx_procedure_link`` (the article pairs)."""
    rid = release.release
    tables = _read_tables(inputs)
    articles = _articles(tables.get("article"), rid)
    covered = _covered(tables["article_x_icd10_covered"], rid)
    hcpcs = _hcpcs(tables["article_x_hcpc_code"], rid)
    return {
        "mcd_article": articles,
        "mcd_article_icd10_covered": covered,
        "mcd_article_hcpcs": hcpcs,
        "mcd_article_code_group": _groups(tables, rid),
        "mcd_dx_procedure_link": build_links(covered, hcpcs, articles, rid),
    }
