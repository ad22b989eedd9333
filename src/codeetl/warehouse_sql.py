"""Running the project's SQL files and loading polars frames into DuckDB tables.

SQL lives in ``src/codeetl/sql``:

* ``sql/tables/<dataset>.sql`` — ``CREATE TABLE`` statements with explicit types and a
  ``COMMENT ON TABLE`` / ``COMMENT ON COLUMN`` for every table and column. Run first, for every dataset.
* ``sql/views/<name>.sql`` — views and macros over the tables (``COMMENT ON VIEW`` too). Run after all
  tables are loaded, in file-name order.
"""

from __future__ import annotations

import tempfile
from importlib import resources
from pathlib import Path

from typing import TYPE_CHECKING

import duckdb

if TYPE_CHECKING:  # polars is imported only where frames are written (keeps `codeetl code` start-up fast)
    import polars as pl

SQL_PACKAGE = "codeetl.sql"


def sql_text(relpath: str) -> str:
    """The text of ``src/codeetl/sql/<relpath>`` (e.g. ``tables/icd10cm.sql``)."""
    return resources.files(SQL_PACKAGE).joinpath(relpath).read_text(encoding="utf-8")


def sql_files(folder: str) -> list[str]:
    """Relative paths of the ``.sql`` files in ``sql/<folder>``, sorted by name."""
    base = resources.files(SQL_PACKAGE).joinpath(folder)
    if not base.is_dir():
        return []
    return sorted(f"{folder}/{p.name}" for p in base.iterdir() if p.name.endswith(".sql"))


def apply_sql(con: duckdb.DuckDBPyConnection, relpath: str) -> None:
    """Execute every statement of one SQL file."""
    con.execute(sql_text(relpath))


def insert_parquet(con: duckdb.DuckDBPyConnection, table: str, path: str | Path) -> int:
    """Insert a parquet file into an existing table, matching columns by name. Returns rows inserted.

    Parsed frames travel between pipeline steps as parquet files (paths, not DataFrames), so this is
    the one way data enters the warehouse. It also keeps pyarrow out of the dependencies.
    """
    before = con.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0]
    con.execute(f'INSERT INTO "{table}" BY NAME SELECT * FROM read_parquet(?)', [str(path)])
    return con.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0] - before


def insert_frame(con: duckdb.DuckDBPyConnection, table: str, frame: "pl.DataFrame") -> int:
    """Insert a polars frame into an existing table by column name (via a temporary parquet file)."""
    with tempfile.TemporaryDirectory(prefix="codeetl-") as tmp:
        path = Path(tmp) / f"{table}.parquet"
        frame.write_parquet(path)
        return insert_parquet(con, table, path)
