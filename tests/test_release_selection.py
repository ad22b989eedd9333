"""`pick_release`: which loaded release a page uses for a date (`--as-of`, default today).

Rule: the latest loaded release that took effect on or before the day — in effect that day, or, when its
effective_to has passed, flagged ``in_effect: False``. A release that takes effect after the day is
never used; when every loaded release does, the error says so.
"""

from __future__ import annotations

import datetime as dt

import duckdb
import pytest

from codeetl.errors import CodeEtlError
from codeetl.pages.resolver import pick_release
from codeetl.warehouse_sql import sql_text

D = dt.date


@pytest.fixture
def con():
    c = duckdb.connect()
    c.execute(sql_text("releases.sql"))
    for rid, start, end in (("A", "2024-01-01", "2024-06-30"), ("B", "2025-01-01", "2025-06-30"),
                            ("C", "2026-01-01", "2026-06-30")):
        c.execute("INSERT INTO releases VALUES ('demo', ?, ?, ?, ?, 'https://x', 'https://x', 'ab', NULL, now())",
                  [rid, f"release {rid}", start, end])
    c.execute("CREATE TABLE demo_rows (release VARCHAR)")
    c.execute("INSERT INTO demo_rows VALUES ('A'), ('B')")  # C is in the catalog but not loaded
    c.execute("CREATE TABLE demo_versions (version VARCHAR)")  # keyed like the msdrg tables
    c.execute("INSERT INTO demo_versions VALUES ('A')")
    yield c
    c.close()


def test_the_release_in_effect(con):
    r = pick_release(con, "demo", D(2024, 3, 1), "demo_rows")
    assert (r["release"], r["in_effect"]) == ("A", True)
    r = pick_release(con, "demo", D(2025, 6, 30), "demo_rows")
    assert (r["release"], r["in_effect"]) == ("B", True)


def test_between_releases_the_latest_one_before_the_day_flagged(con):
    r = pick_release(con, "demo", D(2024, 9, 1), "demo_rows")  # A has ended, B has not started
    assert (r["release"], r["in_effect"]) == ("A", False)
    r = pick_release(con, "demo", D(2026, 3, 1), "demo_rows")  # C is not loaded
    assert (r["release"], r["in_effect"]) == ("B", False)


def test_a_release_that_starts_after_the_day_is_never_used(con):
    with pytest.raises(CodeEtlError) as exc:
        pick_release(con, "demo", D(2023, 12, 31), "demo_rows")
    assert str(exc.value) == ("no demo release loaded was in effect on 2023-12-31; loaded: "
                              "A (from 2024-01-01), B (from 2025-01-01)")


def test_release_column_of_the_table_is_explicit(con):
    """The loaded releases are the table's own column: without it, an unqualified `release` in the
    subquery would bind to the outer releases table and every catalog release would count as loaded."""
    r = pick_release(con, "demo", D(2025, 3, 1), "demo_versions", column="version")
    assert (r["release"], r["in_effect"]) == ("A", False)


def test_an_open_ended_release_in_effect_wins(con):
    con.execute("INSERT INTO releases VALUES ('demo', 'Z', 'open', '2023-06-01', NULL, 'https://x', 'https://x', 'ab', NULL, now())")
    con.execute("INSERT INTO demo_rows VALUES ('Z')")
    r = pick_release(con, "demo", D(2024, 9, 1), "demo_rows")  # A (later start) has ended; Z is in effect
    assert (r["release"], r["in_effect"]) == ("Z", True)


def test_no_release_loaded(con):
    con.execute("DELETE FROM demo_rows")
    with pytest.raises(CodeEtlError, match="the warehouse has no demo release"):
        pick_release(con, "demo", D(2024, 3, 1), "demo_rows")
