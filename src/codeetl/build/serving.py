"""The files a build writes for serving its pages (``codeetl web``) beside its database: the page store
(``pages/``, one SQLite file per ICD-10-CM release) and the search index. Both are made from the finished warehouse and published with it."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import duckdb

from codeetl.build.page_store import PAGE_STORE, write_page_store
from codeetl.build.search_index import SEARCH_INDEX, write_search_index_cached

SERVING_MEMORY_LIMIT = "400MB"
"""DuckDB's memory limit while these files are written: the page store's joins overshoot DuckDB's limit by about
150 MB of the process' own (745 MB peak under 600MB, 525 MB under 350MB, in the same time), which put the
refresh's worker over 1 GB at this step."""


def write_serving_files(con: duckdb.DuckDBPyConnection, build_dir: Path, notify: Callable[[str], None] | None = None,
                        warehouse: Path | None = None, page_keys: dict[str, str] | None = None,
                        inputs: dict | None = None) -> None:
    """Write the page store ``pages/`` (from the build's ``parquet/code_page`` export; a release's store kept in
    the `warehouse` folder's cache under its page file's key in `page_keys` is reused) and ``search.sqlite`` (reused
    from the cache when the build's `inputs` change no ICD-10-CM release) into `build_dir`."""
    limit = con.execute("SELECT current_setting('memory_limit')").fetchone()[0]
    con.execute(f"SET memory_limit = '{SERVING_MEMORY_LIMIT}'")
    try:
        write_page_store(con, build_dir / "parquet" / "code_page", build_dir / PAGE_STORE, notify, warehouse, page_keys)
        write_search_index_cached(con, build_dir / SEARCH_INDEX, warehouse, inputs, notify)
    finally:
        con.execute(f"SET memory_limit = '{limit}'")
