"""The data dictionary, generated from the warehouse's own COMMENTs (one source of truth)."""

from __future__ import annotations

import duckdb


def markdown(con: duckdb.DuckDBPyConnection) -> str:
    """Every table and view with its comment, then its columns (name, type, comment), as Markdown."""
    objects = con.execute(
        "SELECT table_name, 'table', comment FROM duckdb_tables() WHERE schema_name = 'main' "
        "UNION ALL SELECT view_name, 'view', comment FROM duckdb_views() WHERE NOT internal AND schema_name = 'main' "
        "ORDER BY 1"
    ).fetchall()
    lines = []
    for name, kind, comment in objects:
        lines += [f"### `{name}` ({kind})", "", (comment or "").strip(), "", "| column | type | meaning |", "|---|---|---|"]
        for col, typ, ccomment in con.execute(
            "SELECT column_name, data_type, comment FROM duckdb_columns() WHERE table_name = ? AND schema_name = 'main' "
            "ORDER BY column_index", [name]
        ).fetchall():
            meaning = (ccomment or "").replace("|", "\\|")
            lines.append(f"| `{col}` | {typ} | {meaning} |")
        lines.append("")
    macros = con.execute(
        "SELECT DISTINCT function_name, comment FROM duckdb_functions() WHERE function_type IN ('macro', 'table_macro') "
        "AND NOT internal ORDER BY 1"
    ).fetchall()
    if macros:
        lines += ["### Macros", ""]
        lines += [f"- `{n}`: {(c or '').strip()}" for n, c in macros]
        lines.append("")
    return "\n".join(lines)


START, END = "<!-- dictionary:start -->", "<!-- dictionary:end -->"


def replace_in_readme(readme_text: str, dictionary_md: str) -> str:
    """The README with the text between the dictionary markers replaced by `dictionary_md`."""
    head, rest = readme_text.split(START, 1)
    _, tail = rest.split(END, 1)
    return f"{head}{START}\n{dictionary_md.rstrip()}\n{END}{tail}"
