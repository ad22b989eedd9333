"""SQL files made of named statements: each statement starts with a ``-- name: <name>`` line."""

from __future__ import annotations

import re
from functools import cache

from codeetl.build.warehouse_sql import sql_text

_NAME = re.compile(r"^-- name: (\w+)\s*$", re.MULTILINE)


@cache
def named_statements(relpath: str) -> dict[str, str]:
    """The statements of ``src/codeetl/sql/<relpath>`` by name (text from the name line to the next one);
    the file's header before the first name is dropped."""
    text = sql_text(relpath)
    marks = list(_NAME.finditer(text))
    return {m.group(1): text[m.end(): marks[i + 1].start() if i + 1 < len(marks) else len(text)].strip()
            for i, m in enumerate(marks)}


def sql_literal(value) -> str:
    """`value` (a path or text) as a SQL string literal, quotes doubled: for the file names DuckDB's COPY and
    read_parquet take, which cannot be parameters."""
    return "'" + str(value).replace("'", "''") + "'"
