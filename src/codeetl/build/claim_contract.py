"""The claims contract's one computed table: ``claim_icd10cm_reason`` (``sql/contract/claims.sql``).

The reasons ``codeetl validate`` gives for a code that is not billable on a day depend only on the code and the
release of the day. So the build runs the reason statements of ``sql/history/validate.sql`` once, over every
code and prefix the loaded releases know on the first day of every release (``sql/history/validate_export.sql``),
and stores what they say. Every engine then only joins: DuckDB and Spark read the same exported file, and a
change to the reasons is made in validate.sql alone.
"""

from __future__ import annotations

import duckdb

from codeetl.build.named_sql import named_statements

REASON_STATEMENTS = ("periods", "billable", "replacements", "bad", "days", "keys", "below", "reasons")
"""The statements of ``sql/history/validate.sql`` that turn ``v_cells`` into ``v_reasons``, in order."""


def fill_reason_table(con: duckdb.DuckDBPyConnection) -> int:
    """Fill ``claim_icd10cm_reason`` from the history tables (they must be derived, the table created);
    returns its row count. The TEMP tables the statements make are dropped afterwards."""
    validate = named_statements("history/validate.sql")
    export = named_statements("history/validate_export.sql")
    has_repl = con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = 'icd10cm_replacements' "
                           "AND NOT temporary").fetchone()[0]
    con.execute(export["cells"])
    for name in REASON_STATEMENTS:
        con.execute(validate["no_replacements" if name == "replacements" and not has_repl else name])
    con.execute(export["export"])
    temps = [r[0] for r in con.execute("SELECT table_name FROM duckdb_tables() WHERE temporary").fetchall()]
    for t in temps:
        con.execute(f'DROP TABLE "{t}"')
    con.execute(export["cleanup"])
    return con.execute("SELECT count(*) FROM claim_icd10cm_reason").fetchone()[0]
