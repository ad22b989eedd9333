"""The page store: the exported code pages in a SQLite file beside the warehouse, for reads in a millisecond.

A ``code_page`` parquet file is made for analysts: sorted, compressed, one row group per 2,048 codes. Reading
one page from it decodes its whole row group (about 20 MB of nested note text): 20 ms on a quiet machine, far
too slow for a web server answering hundreds of pages a second. The page store holds the same rows,
value by value: every column value of every exported page, written once as JSON (DuckDB's ``to_json``,
decimals as exact strings, as :func:`codeetl.pages.common.page_json` gives them) and shared by every page and
release that has it (the 1.9 million inherited note entries of a Tabular release come from 14,000 distinct
note lists; most values are equal across releases). A page is its release, its code and one value id per
column; reading it is two indexed SQLite lookups. :func:`codeetl.pages.code.code_page` reads it when the
build has one (a test checks every column equals the SQL page). SQLite is Python's own, nothing to install.

One SQLite file per ICD-10-CM release, in the build's folder ``pages/`` (:data:`PAGE_STORE`):
``pages/icd10cm_release=<id>.sqlite`` (:func:`release_file`), written by :func:`write_page_store` from that
release's ``code_page`` export. Values are shared within a release's file. With the warehouse folder and the
key of each release's page file (:func:`codeetl.build.code_pages.export_code_pages`) each store is kept in
``cache/page_store`` by that key and hard-linked into the builds whose page file is the same: adding a release
writes only the new release's store (and those of the releases whose pages it changes).

Values longer than :data:`COMPRESS_FROM` bytes are stored zlib-compressed (level 1: the store is written
in seconds; compressed note lists are about a fifth of their size).
"""

from __future__ import annotations

import json
import re
import sqlite3
import zlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Callable

import duckdb

from codeetl.build.build_cache import keep, link_or_copy, prune
from codeetl.build.named_sql import named_statements

PAGE_STORE = "pages"
"""The page store's folder in a build: one SQLite file per ICD-10-CM release (:func:`release_file`)."""
CACHE = "cache/page_store"
"""Under the warehouse folder: the stores by the key of their release's page file, hard-linked into builds."""
COMPRESS_FROM = 200
FORMAT = "2"
_BATCH = 20_000


def release_file(release: str) -> str:
    """The name of ICD-10-CM release `release`'s page store in the build's :data:`PAGE_STORE` folder."""
    return f"icd10cm_release={release}.sqlite"


def json_type(duckdb_type: str) -> str:
    """A DuckDB column type with every DECIMAL (at any depth) made VARCHAR, so that ``to_json`` writes a
    decimal as its exact string ("1.6761", "95.19") the way the pages do, never as a JSON number."""
    return re.sub(r"DECIMAL\(\d+,\s*\d+\)", "VARCHAR", duckdb_type)


def write_page_store(con: duckdb.DuckDBPyConnection, export_dir: Path, target: Path,
                     notify: Callable[[str], None] | None = None, warehouse: Path | None = None,
                     keys: dict[str, str] | None = None) -> int:
    """Write the page store folder `target` from the ``code_page`` export in `export_dir` (one
    ``icd10cm_release=<id>/code_page.parquet`` per release): one SQLite file per release; returns the number of
    pages. With the `warehouse` folder and `keys` (release -> key of its page file), a release's store kept in
    the cache under its key is hard-linked instead of written, and what is written is kept there."""
    cache = Path(warehouse) / CACHE if warehouse is not None and keys else None
    target.mkdir(parents=True, exist_ok=True)
    used: set[Path] = set()
    total = 0
    page_files = sorted(Path(export_dir).glob("icd10cm_release=*/code_page.parquet"))
    for i, page_file in enumerate(page_files, 1):
        rid = page_file.parent.name.split("=", 1)[1]
        out = target / release_file(rid)
        key = (keys or {}).get(rid)
        kept = cache / f"{key}.f{FORMAT}.sqlite" if cache is not None and key else None
        if kept is not None:
            used.add(kept)
        if kept is not None and kept.is_file():
            link_or_copy(kept, out)
            pages, how = _stored_pages(out), "unchanged, reused"
        else:
            pages, values = _write_release(con, page_file, rid, out)
            how = f"{pages:,} pages, {values:,} distinct values"
            if kept is not None:
                keep(out, kept)
        total += pages
        if notify:
            notify(f"build: page store of ICD-10-CM {rid} ({i} of {len(page_files)}): {how}")
    prune(cache, "*.sqlite", used)
    return total


def _stored_pages(path: Path) -> int:
    """The number of pages of a release's store (its meta row ``pages``)."""
    db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    try:
        return int(db.execute("SELECT value FROM meta WHERE key = 'pages'").fetchone()[0])
    finally:
        db.close()


def _write_release(con: duckdb.DuckDBPyConnection, page_file: Path, rid: str, target: Path) -> tuple[int, int]:
    """Write the store of one release's page file `page_file` to `target` (beside it under a temporary name,
    renamed into place when complete); returns (pages, distinct values)."""
    tmp = target.with_name(f".{target.name}.part")
    tmp.unlink(missing_ok=True)
    listed = "'" + str(page_file).replace("'", "''") + "'"
    con.execute(f"CREATE OR REPLACE TEMP VIEW ps_pages AS SELECT *, {_sql_text(rid)} AS icd10cm_release, "
                f"file_row_number AS ps_p FROM read_parquet({listed}, hive_partitioning = false, file_row_number = true)")
    columns = [(n, t) for n, t, *_ in con.execute("DESCRIBE ps_pages").fetchall()
               if n not in ("icd10cm_release", "file_row_number", "ps_p")]
    db = sqlite3.connect(tmp)
    try:
        db.executescript(named_statements("serving/pages.sql")["schema"])
        offset = 0
        with ThreadPoolExecutor(2) as pool:
            for i, (name, typ) in enumerate(columns):
                offset += _write_values(con, db, i, name, typ, offset, pool)
        pages = _write_pages(con, db, len(columns))
        db.executemany("INSERT INTO meta VALUES (?, ?)", [("format", FORMAT), ("columns", json.dumps([n for n, _ in columns])),
                                                          ("pages", str(pages))])
        db.commit()
    finally:
        db.close()
        con.execute("DROP VIEW IF EXISTS ps_pages")
    tmp.replace(target)
    return pages, offset


def _sql_text(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _write_values(con: duckdb.DuckDBPyConnection, db: sqlite3.Connection, i: int, name: str, typ: str, offset: int,
                  pool: ThreadPoolExecutor) -> int:
    """The distinct values of column `name` (with ids from `offset` + 1) into the store's ``value`` table, as JSON,
    and each page's id of its value into TEMP table ``ps_r<i>`` (page number ``p``, ``id``): one grouping of the
    column's values (exact equality of the nested value; NULL is not [] ), which lists the pages of each; returns
    how many values."""
    jt = json_type(typ)
    as_json = f"coalesce(to_json({'v' if jt == typ else f'CAST(v AS {jt})'}), 'null')"
    con.execute(f"CREATE OR REPLACE TEMP TABLE ps_v{i} AS SELECT v, ps, {offset} + row_number() OVER () AS id "
                f"FROM (SELECT {_ident(name)} AS v, list(ps_p) AS ps FROM ps_pages GROUP BY ALL)")
    con.execute(f"CREATE OR REPLACE TEMP TABLE ps_r{i} AS SELECT unnest(ps) AS p, id FROM ps_v{i}")
    cur = con.execute(f"SELECT id, {as_json} FROM ps_v{i}")
    n = 0
    while batch := cur.fetchmany(_BATCH):  # compressed in two threads (zlib lets go of the GIL): both cores
        halves = pool.map(_encode_all, (batch[: len(batch) // 2], batch[len(batch) // 2:]))
        db.executemany("INSERT INTO value VALUES (?, ?, ?)", [row for half in halves for row in half])
        n += len(batch)
    con.execute(f"DROP TABLE ps_v{i}")
    return n


def _encode_all(rows: list[tuple[int, str]]) -> list[tuple[int, int, bytes | str]]:
    """The value rows (:func:`_encode`) of (id, JSON text) pairs."""
    return [_encode(vid, text) for vid, text in rows]


def _encode(vid: int, text: str) -> tuple[int, int, bytes | str]:
    """A value row: (id, compressed?, body) — zlib at level 1 from :data:`COMPRESS_FROM` bytes on."""
    raw = text.encode("utf-8")
    return (vid, 1, zlib.compress(raw, 1)) if len(raw) >= COMPRESS_FROM else (vid, 0, text)


def _write_pages(con: duckdb.DuckDBPyConnection, db: sqlite3.Connection, ncols: int) -> int:
    """One row per exported page: release, code and its value ids in column order (``ps_r<i>``, joined by page
    number); returns how many."""
    joins = " ".join(f"JOIN ps_r{i} USING (p)" for i in range(ncols))
    ids = " || ',' || ".join(f"ps_r{i}.id" for i in range(ncols))
    cur = con.execute(f"SELECT k.icd10cm_release, k.code, {ids} FROM (SELECT ps_p AS p, icd10cm_release, code FROM ps_pages) k {joins}")
    n = 0
    while batch := cur.fetchmany(_BATCH):
        db.executemany("INSERT INTO page VALUES (?, ?, ?)", batch)
        n += len(batch)
    for i in range(ncols):
        con.execute(f"DROP TABLE ps_r{i}")
    return n
