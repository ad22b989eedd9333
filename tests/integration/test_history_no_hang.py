"""No query over the history hangs: every view, and the history table macros over every pair of loaded releases,
return their first rows under a LIMIT.

Why: DuckDB 2.0 deadlocks (0 % CPU, for ever) when a LIMIT stops early a query whose join reads a materialized
CTE on both sides, and it materializes a CTE that a query uses twice. ``SELECT * FROM msdrg_diff('v41.1', 'v42')
LIMIT 3`` hung that way on the warehouse of the grown mirror (seven more MS-DRG versions), and so did
``icd10cm_diff(...) LIMIT 3``, while the same queries without LIMIT returned in a second. The macros are now
written so (grouped scans; NOT MATERIALIZED CTEs) — this test makes the defect visible again if one comes back.

The queries run in a child process (a deadlocked DuckDB cannot be interrupted) under one generous deadline;
the test does not time them.
"""

from __future__ import annotations

import json
import subprocess
import sys

import duckdb

DEADLINE_S = 600  # the whole list takes seconds; this only catches a hang

CHILD = r"""
import json, sys, duckdb
con = duckdb.connect(sys.argv[1], read_only=True)
con.execute("SET enable_progress_bar = false")
for q in json.loads(sys.argv[2]):
    print("start " + q, flush=True)
    n = len(con.execute(q).fetchall())
    print("done %d" % n, flush=True)
"""


def history_queries(db) -> list[str]:
    """Every view, and the diff macros over every consecutive pair and the first and last loaded release."""
    con = duckdb.connect(str(db), read_only=True)
    views = [r[0] for r in con.execute("SELECT view_name FROM duckdb_views() WHERE NOT internal AND schema_name = 'main' "
                                       "ORDER BY 1").fetchall()]
    msdrg = [r[0] for r in con.execute("SELECT release FROM release_calendar WHERE dataset = 'msdrg' "
                                       "AND release IN (SELECT version FROM msdrg_drg_def) ORDER BY effective_from").fetchall()]
    icd = [r[0] for r in con.execute("SELECT release FROM icd10cm_history_releases ORDER BY seq").fetchall()]
    con.close()
    queries = [f"SELECT * FROM {v} LIMIT 3" for v in views]
    for macro, releases in (("msdrg_diff", msdrg), ("icd10cm_diff", icd)):
        pairs = list(zip(releases, releases[1:])) + ([(releases[0], releases[-1])] if len(releases) > 2 else [])
        queries += [f"SELECT * FROM {macro}('{a}', '{b}') LIMIT 3" for a, b in pairs]
    queries += [f"SELECT * FROM code_page('{icd[-1]}', NULL, ['M96.1', 'M54.5']) LIMIT 1"]
    return queries


def test_every_history_query_returns_under_a_limit(built):
    db = built / "warehouse" / "codeetl.duckdb"
    queries = history_queries(db)
    assert any("msdrg_diff('v41.1', 'v42')" in q for q in queries) or "v41.1" not in " ".join(queries)
    proc = subprocess.Popen([sys.executable, "-c", CHILD, str(db), json.dumps(queries)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        out, err = proc.communicate(timeout=DEADLINE_S)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        started = [line[6:] for line in out.splitlines() if line.startswith("start ")]
        raise AssertionError(f"no answer within {DEADLINE_S} s; the query running was: {started[-1] if started else '?'}")
    assert proc.returncode == 0, err
    assert out.count("done ") == len(queries)
