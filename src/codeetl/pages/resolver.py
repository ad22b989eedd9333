"""The release resolver: which release of each dataset a page uses for a day (the one place this is decided)."""

from __future__ import annotations

import datetime as dt

import duckdb

from codeetl.errors import CodeEtlError
from codeetl.pages.common import NoReleaseInEffect, rows as _rows


def pick_release(con: duckdb.DuckDBPyConnection, dataset: str, as_of: dt.date | None, table: str,
                 column: str = "release") -> dict:
    """The release of `dataset` for the day `as_of` (default today), among those loaded into `table`
    (whose column `column` holds the release id: ``version`` for the MS-DRG tables).

    That is the release in effect that day; when none is, the latest one that took effect before the
    day, with ``in_effect`` false. A release that takes effect after the day is never used: when every
    loaded release does, NoReleaseInEffect says so (CodeEtlError when none is loaded at all).
    """
    day = as_of or dt.date.today()
    rows = _rows(con, f"""
        SELECT DISTINCT r.dataset, r.release, r.label, r.effective_from, r.effective_to
        FROM releases r WHERE r.dataset = ? AND r.release IN (SELECT DISTINCT t.{column} FROM {table} t)
        ORDER BY r.effective_from DESC""", [dataset])
    if not rows:
        raise CodeEtlError(f"the warehouse has no {dataset} release: run `codeetl refresh`")
    started = [r for r in rows if r["effective_from"] <= day]
    if not started:
        loaded = ", ".join(f"{r['release']} (from {r['effective_from']})" for r in reversed(rows))
        raise NoReleaseInEffect(f"no {dataset} release loaded was in effect on {day}; loaded: {loaded}")
    for r in started:
        if r["effective_to"] is None or day <= r["effective_to"]:
            return r | {"in_effect": True}
    return started[0] | {"in_effect": False}  # none in effect that day: the latest one before it, flagged
