"""Running the project's SQL and loading parquet files and polars frames into DuckDB tables.

SQL lives in ``.sql`` files: each dataset's ``tables.sql``, ``views.sql`` and ``gates.sql`` in its folder
(:mod:`codeetl.datasets`), the shared provenance tables in ``sql/releases.sql``, and the code page in
``sql/pages/``. :func:`schema_scripts` lists them in the order a build applies them.
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
    """The text of ``src/codeetl/sql/<relpath>`` (e.g. ``releases.sql``)."""
    return resources.files(SQL_PACKAGE).joinpath(relpath).read_text(encoding="utf-8")


def sql_files(folder: str) -> list[str]:
    """Relative paths of the ``.sql`` files in ``sql/<folder>``, sorted by name."""
    base = resources.files(SQL_PACKAGE).joinpath(folder)
    if not base.is_dir():
        return []
    return sorted(f"{folder}/{p.name}" for p in base.iterdir() if p.name.endswith(".sql"))


def schema_scripts(kind: str) -> list[tuple[str, str]]:
    """``(where, sql text)`` of every script of one kind, in the order a build applies them:
    ``tables`` — ``sql/releases.sql`` then each dataset's ``tables.sql``; ``derive`` and ``gates`` — each
    dataset's; ``views`` — each dataset's ``views.sql`` then ``sql/pages/*.sql`` (pages read every dataset) and
    ``sql/contract/*.sql`` (the claims contract).
    Datasets in name order."""
    from codeetl.datasets import discover

    own = [(f"datasets/{d.name}/{kind}.sql", d.sql(kind)) for d in discover().values() if d.sql(kind)]
    if kind == "tables":
        return [("sql/releases.sql", sql_text("releases.sql")), *own]
    if kind == "views":
        return own + [(f"sql/{p}", sql_text(p)) for p in [*sql_files("pages"), *sql_files("contract")]]
    return own


def insert_parquet(con: duckdb.DuckDBPyConnection, table: str, path: str | Path) -> int:
    """Insert a parquet file into an existing table, matching columns by name. Returns rows inserted.

    Parsed frames travel between pipeline steps as parquet files (paths, not DataFrames), so this is
    the one way data enters the warehouse. It also keeps pyarrow out of the dependencies.
    """
    before = con.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0]
    con.execute(f'INSERT INTO "{table}" BY NAME SELECT * FROM read_parquet(?)', [str(path)])
    return con.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0] - before


def insert_frame(con: duckdb.DuckDBPyConnection, table: str, frame: "pl.DataFrame") -> int:
    """Insert a polars frame into an existing table by column name (via a temporary parquet file).
    Returns rows inserted."""
    with tempfile.TemporaryDirectory(prefix="codeetl-") as tmp:
        path = Path(tmp) / f"{table}.parquet"
        frame.write_parquet(path)
        return insert_parquet(con, table, path)
