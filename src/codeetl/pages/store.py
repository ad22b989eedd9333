"""Reading the SQLite files a build writes beside its DuckDB database: the page store (``pages/``, one file per
ICD-10-CM release, :mod:`codeetl.build.page_store`) and the search index (``search.sqlite``, :mod:`codeetl.build.search_index`).

Both are read-only and never change once the build is complete, so they are opened ``immutable`` (no
locking) and one connection per file and thread is kept.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import zlib
from pathlib import Path

import duckdb

from codeetl.build.named_sql import named_statements
from codeetl.build.page_store import FORMAT, PAGE_STORE, release_file

_local = threading.local()


def build_file(con: duckdb.DuckDBPyConnection, name: str, folder: bool = False) -> Path | None:
    """The file `name` (with `folder`: the folder) in the folder of the database `con` is connected to, if it
    exists (None for an in-memory database or a build without it)."""
    db = con.execute("SELECT path FROM duckdb_databases() WHERE database_name = current_database()").fetchone()[0]
    if not db:
        return None
    path = Path(db).parent / name
    return path if (path.is_dir() if folder else path.is_file()) else None


def readonly(path: Path) -> sqlite3.Connection:
    """This thread's read-only connection to the SQLite file `path` (opened once per thread)."""
    cons = getattr(_local, "cons", None)
    if cons is None:
        cons = _local.cons = {}
    key = str(path)
    if key not in cons:
        cons[key] = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro&immutable=1", uri=True, check_same_thread=False)
    return cons[key]


def stored_page(con: duckdb.DuckDBPyConnection, release: str, code: str) -> dict | None | bool:
    """The exported page of `code` in ICD-10-CM release `release` from the build's page store, JSON-ready
    (the ``code_page`` row as :func:`codeetl.pages.common.page_json` makes it); None when the store does not
    have it; False when the build has no page store (of this format)."""
    folder = build_file(con, PAGE_STORE, folder=True)
    if folder is None:
        return False
    path = folder / release_file(release)
    if not path.is_file():
        return None
    db = readonly(path)
    meta = dict(db.execute("SELECT key, value FROM meta").fetchall())
    if meta.get("format") != FORMAT:
        return False
    found = db.execute(named_statements("serving/pages.sql")["page"], [release, code]).fetchone()
    if found is None:
        return None
    ids = [int(i) for i in found[0].split(",")]
    marks = ",".join("?" * len(ids))
    values = {vid: zlib.decompress(body).decode("utf-8") if packed else body
              for vid, packed, body in db.execute(f"SELECT id, compressed, body FROM value WHERE id IN ({marks})", ids)}
    return {name: json.loads(values[vid]) for name, vid in zip(json.loads(meta["columns"]), ids)}
