"""The page store: the exported code pages in a SQLite file beside the warehouse, for reads in a millisecond.

A ``code_page`` parquet file is made for analysts: sorted, compressed, one row group per 2,048 codes. Reading
one page from it decodes its whole row group (about 20 MB of nested note text): 20 ms on a quiet machine, far
too slow for a web server answering hundreds of pages a second. The page store holds the same rows,
value by value: every column value of every exported page, written once as JSON (DuckDB's ``to_json``,
decimals as exact strings, as :func:`codeetl.pages.common.page_json` gives them) and shared by every page and
later release that has it (the 1.9 million inherited note entries of a Tabular release come from 14,000 distinct
note lists; most values are equal across releases). A page is its release, its code and one value id per
column, and the columns no two pages share (:data:`INLINE`: the history, as of the page's release) in the page's
own row; reading it is two indexed SQLite lookups. :func:`codeetl.pages.code.code_page` reads it when the
build has one (a test checks every column equals the SQL page). SQLite is Python's own, nothing to install.

One SQLite file per ICD-10-CM release, in the build's folder ``pages/`` (:data:`PAGE_STORE`):
``pages/icd10cm_release=<id>.sqlite`` (:func:`release_file`), written by :func:`write_page_store` from that
release's ``code_page`` export. The releases share one value numbering, in effective-date order: a release's
file holds only the values of its columns that the earlier releases' files lack (a value is found by the MD5
of its column's name and JSON text), and its pages, whose value ids may point into those earlier files (the
file's meta names them; :func:`codeetl.pages.store.stored_page` reads a page from its file and them). All
releases a build writes are grouped together, so each distinct value is turned into JSON once. With the
warehouse folder and the key of each release's page file (:func:`codeetl.build.code_pages.export_code_pages`)
each store is kept in ``cache/page_store`` by a chained key (its page file's key and the chained key of the
store before it) and hard-linked into the builds where it and every earlier store are unchanged: adding the
newest release writes only its store, with only its new values.

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

from codeetl.build.build_cache import digest, keep, link_or_copy, prune
from codeetl.build.named_sql import named_statements, sql_literal as _sql_text
from codeetl.build.warehouse_sql import insert_frame

PAGE_STORE = "pages"
"""The page store's folder in a build: one SQLite file per ICD-10-CM release (:func:`release_file`)."""
CACHE = "cache/page_store"
"""Under the warehouse folder: the stores by the key of their release's page file, hard-linked into builds."""
COMPRESS_FROM = 200
FORMAT = "4"
INLINE = ("history",)
"""Columns stored in the page's own row (``page.own``, one JSON object), not shared as values: a page's history is
its history as of its release, so no two pages have the same one and looking each up among the shared values
only cost time (a third of writing the store)."""
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
    ``icd10cm_release=<id>/code_page.parquet`` per release): one SQLite file per release, in effective-date order,
    each holding the values the earlier ones lack; returns the number of pages. With the `warehouse` folder and
    `keys` (release -> key of its page file), a release's store kept in the cache under its chained key (its page
    file's and those of every earlier release's store) is hard-linked instead of written, and what is written is
    kept there."""
    cache = Path(warehouse) / CACHE if warehouse is not None and keys else None
    target.mkdir(parents=True, exist_ok=True)
    order, key, kept = _in_order(con, Path(export_dir)), "", []
    for rid, _ in order:
        key = digest([FORMAT, keys[rid], key]) if key is not None and rid in (keys or {}) else None
        kept.append(cache / f"{key}.f{FORMAT}.sqlite" if cache is not None and key else None)
    con.execute("CREATE OR REPLACE TEMP TABLE ps_known (h BLOB, r BIGINT, id BIGINT)")  # r = 0: id is the global id
    total, base, chain, run, unread = 0, 0, [], [], []  # base: how many values the stores before hold  # run: the releases to write next, together
    for i, ((rid, page_file), keep_as) in enumerate(zip(order, kept), 1):
        out = target / release_file(rid)
        if keep_as is not None and keep_as.is_file():
            written, added = _write_run(con, run, base, chain, unread, notify, len(order))
            link_or_copy(keep_as, out)
            meta = store_meta(out)
            total, base, run = total + written + int(meta["pages"]), base + added + int(meta["values"]), []
            unread.append(out)
            if notify:
                notify(f"build: page store of ICD-10-CM {rid} ({i} of {len(order)}): unchanged, reused")
        else:
            run.append((i, rid, page_file, out, keep_as))
        chain.append(out.name)
    total += _write_run(con, run, base, chain, unread, notify, len(order))[0]
    con.execute("DROP TABLE ps_known")
    prune(cache, "*.sqlite", {k for k in kept if k is not None})
    return total


def _write_run(con: duckdb.DuckDBPyConnection, run: list[tuple], base: int, chain: list[str], unread: list[Path],
               notify: Callable[[str], None] | None, count: int) -> tuple[int, int]:
    """Write the stores of `run` (consecutive releases: (number, release, page file, store file, cache file or
    None)) together (the files `chain` are the earlier ones and these; the values of the reused ones `unread` are
    read first; they hold `base` values), and keep them in the cache; returns (pages, new values)."""
    if not run:
        return 0, 0
    _read_known(con, unread)
    unread.clear()
    made = _write_releases(con, [(rid, f, out) for _, rid, f, out, _ in run], base, chain[: len(chain) - len(run)])
    for (i, rid, _, out, keep_as), (pages, values) in zip(run, made):
        if keep_as is not None:
            keep(out, keep_as)
        if notify:
            notify(f"build: page store of ICD-10-CM {rid} ({i} of {count}): {pages:,} pages, {values:,} new values")
    return sum(pages for pages, _ in made), sum(values for _, values in made)


def _in_order(con: duckdb.DuckDBPyConnection, export_dir: Path) -> list[tuple[str, Path]]:
    """The (release, page file) pairs of the export in `export_dir`, by the release's first day (the pages'
    ``release.effective_from``, where they have it), then its id."""
    found = []
    for page_file in export_dir.glob("icd10cm_release=*/code_page.parquet"):
        scan = f"read_parquet('{str(page_file).replace(chr(39), chr(39) * 2)}', hive_partitioning = false)"
        types = dict(con.execute(f"SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM {scan})").fetchall())
        first = (con.execute(f"SELECT min(release.effective_from)::VARCHAR FROM {scan}").fetchone()[0]
                 if "effective_from" in types.get("release", "") else None)
        found.append((first or "", page_file.parent.name.split("=", 1)[1], page_file))
    return [(rid, f) for _, rid, f in sorted(found)]


def store_rows(path: Path, sql: str, params: tuple = ()) -> list[tuple]:
    """The rows query `sql` gives on the release store `path` (opened read-only)."""
    db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    try:
        return db.execute(sql, params).fetchall()
    finally:
        db.close()


def store_meta(path: Path) -> dict[str, str]:
    """The meta rows (key -> value) of the release store `path`."""
    return dict(store_rows(path, "SELECT key, value FROM meta"))


def _read_known(con: duckdb.DuckDBPyConnection, stores: list[Path]) -> None:
    """Add the value hashes and global ids of the release stores `stores` to TEMP table ``ps_known``; returns None."""
    import polars as pl  # only when a build writes a store after reused ones

    for path in stores:
        rows = store_rows(path, "SELECT hash, 0 AS r, id + ? FROM value_hash", (int(store_meta(path)["base"]),))
        insert_frame(con, "ps_known", pl.DataFrame(rows, schema={"h": pl.Binary, "r": pl.Int64, "id": pl.Int64}, orient="row"))


def _write_releases(con: duckdb.DuckDBPyConnection, items: list[tuple[str, Path, Path]], base: int,
                    earlier: list[str]) -> list[tuple[int, int]]:
    """Write the stores of `items` (release, its page file, its store file; consecutive in effective-date order)
    from one grouping of their pages' values: each store gets the values first seen in its release that
    ``ps_known`` (the stores `earlier`, holding `base` values) lacks, and its pages. Each file is written beside
    its place under a temporary name and renamed into place when all are complete; returns (pages, new values)
    for each."""
    files = "[" + ", ".join(_sql_text(str(f)) for _, f, _ in items) + "]"
    con.execute(f"CREATE OR REPLACE TEMP VIEW ps_pages AS SELECT *, CAST(list_position({files}, filename) AS BIGINT) AS ps_rank, "
                f"(ps_rank << 32) + file_row_number AS ps_p FROM read_parquet({files}, hive_partitioning = false, "
                "filename = true, file_row_number = true)")
    every = [(n, t) for n, t, *_ in con.execute("DESCRIBE ps_pages").fetchall()
             if n not in ("icd10cm_release", "filename", "file_row_number", "ps_p", "ps_rank")]
    columns = [(n, t) for n, t in every if n not in INLINE]
    inline = [(n, t) for n, t in every if n in INLINE]
    tmps = [out.with_name(f".{out.name}.part") for _, _, out in items]
    dbs = []
    try:
        for tmp in tmps:
            tmp.unlink(missing_ok=True)
            dbs.append(sqlite3.connect(tmp))
            dbs[-1].executescript(named_statements("serving/pages.sql")["schema"])
        made = _write_values(con, dbs, columns)
        bases = [0] + [base + sum(made[:k]) for k in range(len(made))]  # by rank; rank 0: ids already global
        pages = _write_pages(con, dbs, [rid for rid, _, _ in items], len(columns), inline, bases)
        con.execute(f"UPDATE ps_known SET id = id + list_extract({bases}, r + 1), r = 0 WHERE r > 0")
        for k, db in enumerate(dbs):
            db.executemany("INSERT INTO meta VALUES (?, ?)", [
                ("format", FORMAT), ("columns", json.dumps([n for n, _ in every])),
                ("inline", json.dumps([n for n, _ in inline])), ("pages", str(pages[k])),
                ("base", str(bases[k + 1])), ("values", str(made[k])),
                ("earlier", json.dumps(earlier + [out.name for _, _, out in items[:k]]))])
            db.commit()
    finally:
        for db in dbs:
            db.close()
        con.execute("DROP VIEW IF EXISTS ps_pages")
    for tmp, (_, _, out) in zip(tmps, items):
        tmp.replace(out)
    return list(zip(pages, made))


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _write_values(con: duckdb.DuckDBPyConnection, dbs: list[sqlite3.Connection], columns: list[tuple[str, str]]) -> list[int]:
    """The distinct values of every column of ``ps_pages`` (as JSON) that ``ps_known`` lacks, into the ``value``
    and ``value_hash`` tables of the store (`dbs`, by ``ps_rank``) of the first release that has them and into
    ``ps_known``; and each page's (rank, id) of its value of column i into TEMP table ``ps_r<i>`` (page number
    ``p``, ``r``, ``id``). One grouping of each column's values (exact equality of the nested value; NULL is not
    [] ) lists the pages of each; a value is known by the MD5 of its column's name and JSON text (not shared
    across columns: a value is in the store of the first release whose column has it). A new value's id counts in its
    store from 1, column by column, in the order of hashes. Returns how many values each store got."""
    made = [0] * len(dbs)
    for i, (name, typ) in enumerate(columns):
        jt = json_type(typ)
        as_json = f"coalesce(to_json({'v' if jt == typ else f'CAST(v AS {jt})'}), 'null')"
        con.execute(f"CREATE OR REPLACE TEMP TABLE ps_v AS SELECT j, unhex(md5({_sql_text(name)} || chr(0) || j)) AS h, "
                    "list_min(ps) >> 32 AS r, ps FROM "
                    f"(SELECT {as_json} AS j, ps FROM (SELECT {_ident(name)} AS v, list(ps_p) AS ps FROM ps_pages GROUP BY ALL))")
        if con.execute("SELECT count(*) - count(DISTINCT h) FROM ps_v").fetchone()[0]:
            raise AssertionError(f"page store: two values of column {name} have the same JSON text or MD5")
        con.execute(f"CREATE OR REPLACE TEMP TABLE ps_ids AS SELECT h, r, list_extract({made}, r) + row_number() OVER "
                    "(PARTITION BY r ORDER BY h) AS id FROM (SELECT h, r FROM ps_v ANTI JOIN ps_known USING (h))")
        con.execute("INSERT INTO ps_known SELECT h, r, id FROM ps_ids")
        _insert_values(con, dbs, made)
        con.execute(f"CREATE OR REPLACE TEMP TABLE ps_r{i} AS SELECT unnest(v.ps) AS p, k.r, k.id FROM ps_v v JOIN ps_known k USING (h)")
        con.execute("DROP TABLE ps_v; DROP TABLE ps_ids")
    return made


def _insert_values(con: duckdb.DuckDBPyConnection, dbs: list[sqlite3.Connection], made: list[int]) -> None:
    """Write the new values (TEMP table ``ps_ids``: hash, release rank, id; their JSON in ``ps_v``) into the stores
    `dbs` by rank, counting them in `made`, compressed in two threads (zlib lets go of the GIL: both cores);
    returns None."""
    cur = con.execute("SELECT i.id, v.j, i.h, i.r FROM ps_ids i JOIN ps_v v USING (h) ORDER BY i.id")  # B-tree pages full
    with ThreadPoolExecutor(2) as pool:
        while batch := cur.fetchmany(_BATCH):
            halves = pool.map(_encode_all, (batch[: len(batch) // 2], batch[len(batch) // 2:]))
            rows = [row for half in halves for row in half]
            for r in sorted({r for *_, r in batch}):
                dbs[r - 1].executemany("INSERT INTO value VALUES (?, ?, ?)", [row for row, b in zip(rows, batch) if b[3] == r])
                dbs[r - 1].executemany("INSERT INTO value_hash VALUES (?, ?)", [(b[0], b[2]) for b in batch if b[3] == r])
                made[r - 1] += sum(1 for b in batch if b[3] == r)


def _encode_all(rows: list[tuple]) -> list[tuple[int, int, bytes | str]]:
    """The value rows (:func:`_encode`) of rows starting (id, JSON text)."""
    return [_encode(row[0], row[1]) for row in rows]


def _encode(vid: int, text: str) -> tuple[int, int, bytes | str]:
    """A value row: (id, compressed?, body) — zlib at level 1 from :data:`COMPRESS_FROM` bytes on."""
    raw = text.encode("utf-8")
    return (vid, 1, zlib.compress(raw, 1)) if len(raw) >= COMPRESS_FROM else (vid, 0, text)


def _write_pages(con: duckdb.DuckDBPyConnection, dbs: list[sqlite3.Connection], releases: list[str], ncols: int,
                 inline: list[tuple[str, str]], bases: list[int]) -> list[int]:
    """One row per exported page into the store of its release (`dbs` and `releases` by ``ps_rank``): release,
    code, its global value ids of the shared columns in order (``ps_r<i>``, joined by page number; a store's own
    ids are after the values of the stores before it, `bases` by rank) and the JSON object of its `inline` columns
    (name, type), compressed as a value is; returns how many of each."""
    joins = " ".join(f"JOIN ps_r{i} USING (p)" for i in range(ncols))
    ids = " || ',' || ".join(f"(ps_r{i}.id + list_extract({bases}, ps_r{i}.r + 1))" for i in range(ncols))
    own = ("to_json(struct_pack(" + ", ".join(f"{_ident(n)} := CAST(k.{_ident(n)} AS {json_type(t)})" for n, t in inline)
           + "))") if inline else "NULL::VARCHAR"
    con.execute(f"CREATE OR REPLACE TEMP TABLE ps_refs AS SELECT k.p, k.ps_rank, k.code, {ids} AS refs "
                f"FROM (SELECT ps_p AS p, ps_rank, code FROM ps_pages) k {joins} ORDER BY k.p")
    # the own columns beside their page's refs, both in page order: a positional join, which collects its right side
    # (the refs, tens of megabytes) and streams its left (the pages with their hundreds of megabytes of history)
    cur = con.execute(f"SELECT r.ps_rank, r.code, r.refs, CASE WHEN r.p = k.ps_p THEN {own} "
                      "ELSE error('page store: the pages and their value ids are out of line') END "
                      "FROM ps_pages k POSITIONAL JOIN ps_refs r")
    counts = [0] * len(dbs)
    with ThreadPoolExecutor(2) as pool:
        while batch := cur.fetchmany(_BATCH):
            halves = pool.map(_encode_pages, (batch[: len(batch) // 2], batch[len(batch) // 2:]))
            encoded = [row for half in halves for row in half]
            for r in sorted({row[0] for row in batch}):
                rows = [(releases[r - 1], *row[1:]) for row in encoded if row[0] == r]
                dbs[r - 1].executemany("INSERT INTO page VALUES (?, ?, ?, ?, ?)", rows)
                counts[r - 1] += len(rows)
    for i in range(ncols):
        con.execute(f"DROP TABLE ps_r{i}")
    con.execute("DROP TABLE ps_refs")
    return counts


def _encode_pages(rows: list[tuple]) -> list[tuple]:
    """Page rows (rank, code, refs, own JSON or None) with the JSON encoded as a value is (:func:`_encode`): (rank,
    code, refs, compressed?, body or None)."""
    return [(rank, code, refs, *(_encode(0, own)[1:] if own is not None else (0, None))) for rank, code, refs, own in rows]
