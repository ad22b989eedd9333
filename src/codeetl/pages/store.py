"""Reading the SQLite files a build writes beside its DuckDB database: the page store (``pages/``, one file per
ICD-10-CM release, holding the values the earlier releases' files lack, :mod:`codeetl.build.page_store`) and the search index (``search.sqlite``, :mod:`codeetl.build.search_index`).

Both are read-only and never change once the build is complete, so they are opened ``immutable`` (no
locking) and one connection per file and thread is kept.
"""

from __future__ import annotations

import json
from bisect import bisect_right
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
    store = _release_store(path)
    if store is None:
        return False
    columns, inline, bases, dbs = store
    found = dbs[-1].execute(named_statements("serving/pages.sql")["page"], [release, code]).fetchone()
    if found is None:
        return None
    ids = [int(i) for i in found[0].split(",")]
    own = json.loads(zlib.decompress(found[2]).decode("utf-8") if found[1] else found[2]) if found[2] is not None else {}
    wanted: dict[int, list[int]] = {}  # the file of each id: the last whose values start before it
    for vid in ids:
        wanted.setdefault(bisect_right(bases, vid - 1) - 1, []).append(vid)
    values = {}
    for at, some in wanted.items():
        rows = dbs[at].execute(f"SELECT id + ?, compressed, body FROM value WHERE id IN ({','.join('?' * len(some))})",
                               [bases[at]] + [vid - bases[at] for vid in some])
        values.update((vid, zlib.decompress(body).decode("utf-8") if packed else body) for vid, packed, body in rows)
    shared = iter(ids)
    return {name: own[name] if name in inline else json.loads(values[next(shared)]) for name in columns}


def _release_store(path: Path) -> tuple[list[str], set[str], list[int], list[sqlite3.Connection]] | None:
    """This thread's view of the release store `path`: its page columns, those kept in the page's own row, and of each file of its chain (the
    earlier releases' files, then its own) how many values the files before it hold and a connection; None when
    the file is not of this format (read once per thread and file)."""
    stores = getattr(_local, "stores", None)
    if stores is None:
        stores = _local.stores = {}
    key = str(path)
    if key not in stores:
        meta = dict(readonly(path).execute("SELECT key, value FROM meta").fetchall())
        if meta.get("format") != FORMAT:
            stores[key] = None
        else:
            files = [path.with_name(n) for n in json.loads(meta["earlier"])] + [path]
            dbs = [readonly(f) for f in files]
            bases = [int(db.execute("SELECT value FROM meta WHERE key = 'base'").fetchone()[0]) for db in dbs]
            stores[key] = (json.loads(meta["columns"]), set(json.loads(meta.get("inline", "[]"))), bases, dbs)
    return stores[key]
