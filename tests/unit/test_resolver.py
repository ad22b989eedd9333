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
from codeetl.build.warehouse_sql import sql_text

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


# ------------------------------------------------------- page_is_exported: may `codeetl code` read the export?


@pytest.fixture
def calendar():
    """ICD-10-CM X for a fiscal year; PFS P1 for its first quarter and P2 for the second (the rest not loaded)."""
    c = duckdb.connect()
    c.execute(sql_text("releases.sql"))
    c.execute(sql_text("pages/10_resolver.sql"))
    for ds, rid, start, end in (("icd10cm", "X", "2025-10-01", "2026-09-30"), ("pfs", "P1", "2025-10-01", "2025-12-31"),
                                ("pfs", "P2", "2026-01-01", "2026-03-31")):
        c.execute("INSERT INTO releases (dataset, release, label, effective_from, effective_to, source_url, fetched_from, "
                  "sha256, loaded_at) VALUES (?, ?, ?, ?, ?, 'https://x', 'https://x', 'ab', now())", [ds, rid, rid, start, end])
    yield c
    c.close()


@pytest.mark.parametrize("day, exported", [
    (None, True),                # --release: the export's own day
    (D(2025, 11, 15), True),     # same ICD-10-CM and PFS releases, both in effect
    (D(2026, 2, 1), False),      # another PFS release
    (D(2026, 5, 1), False),      # P2 still used, but no longer in effect: the page says so for this day
])
def test_page_is_exported_only_when_the_day_picks_the_exports_releases(calendar, day, exported):
    assert calendar.execute("SELECT page_is_exported('X', ?::DATE)", [day]).fetchone()[0] is exported


def test_the_code_page_sql_takes_releases_only_from_page_releases():
    """Every section reads other datasets' releases through page_releases, which page_is_exported compares."""
    from importlib import resources

    text = resources.files("codeetl").joinpath("sql/pages/20_code_page.sql").read_text(encoding="utf-8")
    assert "release_on(" not in text and "page_releases(icd, day)" in text
