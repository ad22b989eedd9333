"""The parquet export of the warehouse's tables and views, each file kept by what it is made of and reused (hard-
linked) by the next build whose table or view would come out the same.

A table's key is its content: the build code, the DuckDB version, its columns and a hash of its rows (count, sum
and xor of DuckDB's row hashes: order-insensitive, duplicates counted). A view's key is the content keys of the
tables it reads, directly or through other views and macros (found by name in their SQL text), with the same
build code: a view is a pure function of them. A view or macro that reads files or the clock (``read_parquet``,
``current_date``, ...) or the build's time (``loaded_at``, which the tables' keys for views leave out) is never
reused. The files are kept in ``cache/table_export/<key>.parquet`` under the
warehouse folder; a file no build links any more is deleted.
"""

from __future__ import annotations

import re
from pathlib import Path

import duckdb

from codeetl.build.build_cache import digest as _digest, keep, link_or_copy, prune
from codeetl.build.named_sql import sql_literal

CACHE = "cache/table_export"
"""Under the warehouse folder: exported tables and views by key, hard-linked into the builds that use them."""
PARQUET = "(FORMAT parquet, COMPRESSION zstd)"
_IMPURE = re.compile(r"\b(current_date|current_timestamp|now|today|get_current_time|random|uuid|gen_random_uuid|"
                     r"read_parquet|read_csv|read_csv_auto|read_json|read_json_auto|glob|getenv|loaded_at)\b", re.I)
VOLATILE = "loaded_at"
"""The column that differs between any two builds of the same inputs (``releases.loaded_at``, the build's time): left
out of a table's content key for the views that read the table (a view that names it is never reused)."""
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class _Keys:
    """The export keys of the objects of one database (computed once each)."""

    def __init__(self, con: duckdb.DuckDBPyConnection, inputs: dict) -> None:
        self.con = con
        self.base = {"code": inputs["code"], "duckdb": inputs["duckdb"]}
        self.tables = {n for (n,) in con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'main'").fetchall()}
        self.sql = dict(con.execute(
            "SELECT view_name, sql FROM duckdb_views() WHERE NOT internal AND schema_name = 'main'").fetchall())
        for name, text in con.execute("SELECT function_name, string_agg(coalesce(macro_definition, ''), ' ') FROM "
                                      "duckdb_functions() WHERE NOT internal AND function_type IN ('macro', 'table_macro') "
                                      "GROUP BY function_name").fetchall():
            self.sql.setdefault(name, text)
        self.content: dict[tuple[str, bool], str] = {}

    def _reads(self, name: str) -> set[str] | None:
        """The tables view or macro `name` reads, through other views and macros; None if any of them is impure."""
        seen, tables, todo = {name}, set(), [name]
        while todo:
            text = self.sql[todo.pop()]
            if _IMPURE.search(text):
                return None
            for word in {w.lower() for w in _WORD.findall(text)}:
                if word in self.tables:
                    tables.add(word)
                elif word in self.sql and word not in seen:
                    seen.add(word)
                    todo.append(word)
        return tables

    def _table(self, name: str, stable: bool = False) -> str:
        """The content key of table `name` (`stable`: without its :data:`VOLATILE` column)."""
        if (name, stable) not in self.content:
            cols = self.con.execute(f'DESCRIBE "{name}"').fetchall()
            keep = "* EXCLUDE (" + VOLATILE + ")" if stable and VOLATILE in [c[0] for c in cols] else "*"
            found = self.con.execute(f'SELECT count(*), sum(hash(t))::VARCHAR, bit_xor(hash(t)) '
                                     f'FROM (SELECT {keep} FROM "{name}") t').fetchone()
            self.content[(name, stable)] = _digest({**self.base, "table": name, "columns": cols, "rows": found, "stable": stable})
        return self.content[(name, stable)]

    def key(self, name: str) -> str | None:
        """The export key of table or view `name`, or None when it must be exported anew."""
        if name in self.tables:
            return self._table(name)
        reads = self._reads(name) if name in self.sql else None
        if reads is None:
            return None
        cols = self.con.execute(f'DESCRIBE "{name}"').fetchall()
        if VOLATILE in [c[0] for c in cols]:
            return None
        return _digest({**self.base, "view": name, "sql": self.sql[name], "columns": cols,
                        "reads": {t: self._table(t, stable=True) for t in sorted(reads)}})


def export_tables(con: duckdb.DuckDBPyConnection, names: list[str], out: Path, warehouse: Path | None = None,
                  inputs: dict | None = None) -> int:
    """Export each table or view of `names` as ``<out>/<name>/<name>.parquet`` (DuckDB's writer, zstd); with the
    `warehouse` folder and the build's `inputs`, a file kept in its cache under the object's key is hard-linked
    instead, and what is written is kept there. Returns how many files were reused."""
    keys = _Keys(con, inputs) if warehouse is not None and inputs else None
    cache = Path(warehouse) / CACHE if keys is not None else None
    used: set[Path] = set()
    reused = 0
    for n in names:
        (out / n).mkdir(parents=True, exist_ok=True)
        target = out / n / f"{n}.parquet"
        key = keys.key(n) if keys is not None else None
        kept = cache / f"{key}.parquet" if cache is not None and key else None
        if kept is not None:
            used.add(kept)
        if kept is not None and kept.is_file():
            link_or_copy(kept, target)
            reused += 1
            continue
        con.execute(f"COPY (SELECT * FROM \"{n}\") TO {sql_literal(target)} {PARQUET}")
        if kept is not None:
            keep(target, kept)
    prune(cache, "*.parquet", used)
    return reused
