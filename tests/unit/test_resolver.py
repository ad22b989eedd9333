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
    """Releases A and B of a dataset `demo` loaded (C exists in the catalog but is not loaded, so it has no row)."""
    c = duckdb.connect()
    c.execute(sql_text("releases.sql"))
    c.execute(sql_text("pages/10_resolver.sql"))
    for rid, start, end in (("A", "2024-01-01", "2024-06-30"), ("B", "2025-01-01", "2025-06-30")):
        c.execute("INSERT INTO releases (dataset, release, label, effective_from, effective_to, source_url, fetched_from, "
                  "sha256, loaded_at) VALUES ('demo', ?, ?, ?, ?, 'https://x', 'https://x', 'ab', now())",
                  [rid, f"release {rid}", start, end])
    yield c
    c.close()


def test_the_release_in_effect(con):
    r = pick_release(con, "demo", D(2024, 3, 1))
    assert (r["release"], r["in_effect"]) == ("A", True)
    r = pick_release(con, "demo", D(2025, 6, 30))
    assert (r["release"], r["in_effect"]) == ("B", True)


def test_between_releases_the_latest_one_before_the_day_flagged(con):
    r = pick_release(con, "demo", D(2024, 9, 1))  # A has ended, B has not started
    assert (r["release"], r["in_effect"]) == ("A", False)
    r = pick_release(con, "demo", D(2026, 3, 1))  # C is not loaded
    assert (r["release"], r["in_effect"]) == ("B", False)


def test_a_release_that_starts_after_the_day_is_never_used(con):
    with pytest.raises(CodeEtlError) as exc:
        pick_release(con, "demo", D(2023, 12, 31))
    assert str(exc.value) == ("no demo release loaded was in effect on 2023-12-31; loaded: "
                              "A (from 2024-01-01), B (from 2025-01-01)")


def test_a_release_with_two_downloads_counts_once(con):
    con.execute("INSERT INTO releases (dataset, release, label, effective_from, effective_to, source_url, fetched_from, "
                "sha256, loaded_at) VALUES ('demo', 'A', 'release A', '2024-01-01', '2024-06-30', 'https://y', 'https://y', 'cd', now())")
    assert con.execute("SELECT count(*) FROM release_on('demo', DATE '2024-03-01')").fetchone() == (1,)


def test_an_open_ended_release_in_effect_wins(con):
    con.execute("INSERT INTO releases (dataset, release, label, effective_from, effective_to, source_url, fetched_from, "
                "sha256, loaded_at) VALUES ('demo', 'Z', 'open', '2023-06-01', NULL, 'https://x', 'https://x', 'ab', now())")
    r = pick_release(con, "demo", D(2024, 9, 1))  # A (later start) has ended; Z is in effect
    assert (r["release"], r["in_effect"]) == ("Z", True)


def test_no_release_loaded(con):
    with pytest.raises(CodeEtlError, match="the warehouse has no other release"):
        pick_release(con, "other", D(2024, 3, 1))
