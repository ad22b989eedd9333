"""The files a build writes for serving its pages (``codeetl web``) beside its database: the page store and
the search index. Both are made from the finished warehouse and published with it."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import duckdb

from codeetl.build.page_store import PAGE_STORE, write_page_store
from codeetl.build.search_index import SEARCH_INDEX, write_search_index


def write_serving_files(con: duckdb.DuckDBPyConnection, build_dir: Path, notify: Callable[[str], None] | None = None) -> None:
    """Write ``pages.sqlite`` (from the build's ``parquet/code_page`` export) and ``search.sqlite`` into
    `build_dir`."""
    write_page_store(con, build_dir / "parquet" / "code_page", build_dir / PAGE_STORE, notify)
    write_search_index(con, build_dir / SEARCH_INDEX, notify)
