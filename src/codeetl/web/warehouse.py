"""The published warehouse as the web server reads it: read-only, one connection per build, one cursor per
thread, and the answers of repeated queries kept.

A build never changes once published, so the answer to a query is a function of its text and parameters:
:class:`MemoConnection` keeps the most recent ones (an LRU of :data:`MEMO_SIZE` entries). The pages call
the same functions as the CLI (:func:`codeetl.pages.code.code_page` ...); what repeats from one page to the
next (which release is in effect on a day, whether its page is the exported one, the provenance of the
sources) is then asked of DuckDB once per build and day instead of on every request. When a refresh
publishes a new build, the next request opens it (:meth:`Warehouse.snapshot`); the old one stays open for
the requests still using it.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from codeetl.build import paths
from codeetl.errors import CodeEtlError

MEMO_SIZE = 4096
NOT_KEPT = ("code_page(", "read_parquet(")
"""Queries whose answers are not kept: a page computed or read for one code (large, and rarely asked again)."""


def _freeze(value):
    """A hashable form of query parameters (lists become tuples, recursively)."""
    if isinstance(value, (list, tuple)):
        return tuple(_freeze(v) for v in value)
    if isinstance(value, dict):
        return tuple(sorted((k, _freeze(v)) for k, v in value.items()))
    return value


class Answer:
    """A query's answer, fetched once: ``description``, ``fetchone``, ``fetchall``, ``fetchmany`` like a
    DuckDB cursor's."""

    def __init__(self, description, rows: list[tuple]):
        self.description = description
        self._rows = rows
        self._at = 0

    def fetchone(self):
        """The next row, or None."""
        if self._at >= len(self._rows):
            return None
        self._at += 1
        return self._rows[self._at - 1]

    def fetchall(self) -> list[tuple]:
        """The remaining rows."""
        rest, self._at = self._rows[self._at:], len(self._rows)
        return rest

    def fetchmany(self, size: int = 1) -> list[tuple]:
        """Up to `size` more rows."""
        part = self._rows[self._at:self._at + size]
        self._at += len(part)
        return part


class MemoConnection:
    """A DuckDB cursor of one thread whose ``execute`` answers from the build's memo when the same query
    with the same parameters was asked before (see the module's doc)."""

    def __init__(self, cursor: duckdb.DuckDBPyConnection, memo: "Memo"):
        self.cursor = cursor
        self.memo = memo

    def execute(self, sql: str, params=None) -> Answer:
        """The answer of `sql` with `params` (from the memo, or asked and kept)."""
        if any(marker in sql for marker in NOT_KEPT):
            cur = self.cursor.execute(sql, params or [])
            return Answer(cur.description, cur.fetchall())
        key = (sql, _freeze(params))
        found = self.memo.get(key)
        if found is None:
            cur = self.cursor.execute(sql, params or [])
            found = (cur.description, cur.fetchall())
            self.memo.put(key, found)
        return Answer(*found)


@dataclass
class Memo:
    """A thread-safe LRU of query answers."""

    size: int = MEMO_SIZE
    items: OrderedDict = field(default_factory=OrderedDict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def get(self, key):
        """The answer kept for `key`, or None."""
        with self.lock:
            found = self.items.get(key)
            if found is not None:
                self.items.move_to_end(key)
            return found

    def put(self, key, value) -> None:
        """Keep `value` for `key`, dropping the least recently used answer beyond :attr:`size`."""
        with self.lock:
            self.items[key] = value
            self.items.move_to_end(key)
            while len(self.items) > self.size:
                self.items.popitem(last=False)


class Snapshot:
    """One published build, open read-only: its database, the memo of its answers, a cursor per thread."""

    def __init__(self, database: Path):
        self.database = database
        self.build_id = database.parent.name
        self.con = duckdb.connect(str(database), read_only=True)
        self.con.execute("SET enable_progress_bar = false")
        self.memo = Memo()
        self._local = threading.local()

    def connection(self) -> MemoConnection:
        """This thread's memoizing connection to the build."""
        mc = getattr(self._local, "mc", None)
        if mc is None:
            mc = self._local.mc = MemoConnection(self.con.cursor(), self.memo)
        return mc

    def raw_cursor(self) -> duckdb.DuckDBPyConnection:
        """A new cursor of its own (for statements that create TEMP tables); the caller closes it."""
        return self.con.cursor()


class Warehouse:
    """The data folder's published warehouse, followed across refreshes."""

    def __init__(self, data_dir: Path):
        self.data_dir = Path(data_dir)
        self._snapshots: list[Snapshot] = []
        self._lock = threading.Lock()

    def snapshot(self) -> Snapshot:
        """The current build (opened when a refresh published a new one since the last request);
        CodeEtlError when the data folder has no warehouse."""
        database = paths.current_database(self.data_dir).resolve()
        with self._lock:
            if self._snapshots and self._snapshots[-1].database == database:
                return self._snapshots[-1]
            if not database.is_file():
                raise CodeEtlError(f"the warehouse at {self.data_dir} is being replaced; try again")
            snap = Snapshot(database)
            self._snapshots = (self._snapshots + [snap])[-2:]  # the previous one serves requests in flight
            return snap
