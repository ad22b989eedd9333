"""The search index: every code of every ICD-10-CM release, searchable by code, title, inclusion terms and
notes, as a SQLite FTS5 file in the build folder (``search.sqlite``, :data:`SEARCH_INDEX`).

Why SQLite FTS5: it is in Python's standard library (nothing to install, offline included), stems English
words (``porter``), folds accents (``remove_diacritics``), indexes prefixes for search-as-you-type, returns
matches in document order (the ids are given in order of title length, so a search reads only its first
matches: milliseconds for words in tens of thousands of titles, where BM25 ranking of all of them took
30-100 ms). The words nearest to a misspelt one are looked up by their deletions (``word_variant``: each
word of the titles with up to two letters deleted, about half a million rows), an exact index look-up
instead of ranking every word that shares a trigram. DuckDB's own
``fts`` extension cannot be installed offline for DuckDB 2.x. The index is written by the build, from the
warehouse it belongs to, and published with it (versioned with the build, like the parquet export).
The statements are ``sql/serving/search.sql``; :mod:`codeetl.pages.search` reads the index.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Callable

import duckdb

from codeetl.build.build_cache import digest, keep, link_or_copy, prune
from codeetl.build.named_sql import named_statements

SEARCH_INDEX = "search.sqlite"
FORMAT = "2"
_BATCH = 20_000
CACHE = "cache/search_index"
"""Under the warehouse folder: search indexes by :func:`search_key`, hard-linked into the builds that use them."""
READS = ("icd10cm_codes", "icd10cm_notes")
"""The tables the index is made from (``sql/serving/search.sql``; a test checks it reads no other): ICD-10-CM's only,
so its content is a function of the ICD-10-CM parses, the build code and DuckDB's version (:func:`search_key`)."""


def search_key(inputs: dict) -> str:
    """The key of the search index a build with `inputs` (:func:`codeetl.build.changes.build_inputs`) writes: a
    refresh that changes no ICD-10-CM release (a PFS quarter, an IPPS year) reuses the published one. The ICD-10-CM
    parses with what the catalog says of those releases (``calendar``: their dates; a release derived from addenda
    takes the release before it as its base, which the dates decide and its parse key does not hold)."""
    from codeetl.build.changes import dated_parses  # the build's: not on the search page's import path

    icd = {k: v for k, v in dated_parses(inputs).items() if k.split("/", 1)[0] == "icd10cm"}
    return digest({"format": FORMAT, "code": inputs["code"], "duckdb": inputs["duckdb"], "icd10cm": icd})


def write_search_index_cached(con: duckdb.DuckDBPyConnection, target: Path, warehouse: Path | None, inputs: dict | None,
                              notify: Callable[[str], None] | None = None) -> None:
    """:func:`write_search_index`, or with the `warehouse` folder and the build's `inputs` the index kept in its cache
    under :func:`search_key` hard-linked into place (and what is written kept there); returns None."""
    kept = Path(warehouse) / CACHE / f"{search_key(inputs)}.sqlite" if warehouse is not None and inputs else None
    if kept is not None and kept.is_file():
        link_or_copy(kept, target)
        if notify:
            notify(f"build: search index {target.name}: no ICD-10-CM release changed, reused")
    else:
        write_search_index(con, target, notify)
        if kept is not None:
            keep(target, kept)
    prune(kept.parent if kept is not None else None, "*.sqlite", {kept} if kept is not None else set())


def write_search_index(con: duckdb.DuckDBPyConnection, target: Path, notify: Callable[[str], None] | None = None) -> int:
    """Write the search index `target` from the warehouse `con` (written beside it, renamed into place when
    complete); returns the number of distinct documents."""
    sql = named_statements("serving/search.sql")
    tmp = target.with_name(f".{target.name}.part")
    tmp.unlink(missing_ok=True)
    con.execute(sql["documents"])
    con.execute(sql["words"])
    db = sqlite3.connect(tmp)
    try:
        db.executescript(sql["schema"])
        docs = _copy(con, db, sql["doc_rows"], "INSERT INTO doc VALUES (?, ?, ?, ?, ?, ?, ?, ?)")
        _copy(con, db, sql["release_rows"], "INSERT INTO release_code VALUES (?, ?, ?)")
        words = _copy(con, db, sql["word_rows"], "INSERT INTO word VALUES (?, ?, ?)")
        _copy(con, db, sql["variant_rows"], "INSERT INTO word_variant VALUES (?, ?)")
        db.executescript(sql["finish"])
        db.execute("INSERT INTO meta VALUES ('format', ?)", [FORMAT])
        db.commit()
    finally:
        db.close()
        con.execute(sql["cleanup"])
    tmp.replace(target)
    if notify:
        notify(f"build: search index {target.name}: {docs:,} documents, {words:,} words")
    return docs


def _copy(con: duckdb.DuckDBPyConnection, db: sqlite3.Connection, query: str, insert: str) -> int:
    """Rows of the DuckDB `query` into SQLite with `insert`, in batches; returns how many."""
    cur = con.execute(query)
    n = 0
    while batch := cur.fetchmany(_BATCH):
        db.executemany(insert, batch)
        n += len(batch)
    return n
