"""The release resolver, from Python: which loaded release of a dataset a page uses for a day.

The rule itself is SQL, in one place (``release_on`` in ``sql/pages/10_resolver.sql``): the release in effect
on the day; when none is, the latest one that took effect before it, flagged ``in_effect`` false; never one
that takes effect after the day. Every page, section and export goes through it.
"""

from __future__ import annotations

import datetime as dt

import duckdb

from codeetl import clock
from codeetl.errors import CodeEtlError, command
from codeetl.pages.common import NoReleaseInEffect, jsonable, rows


def resolve(con: duckdb.DuckDBPyConnection, dataset: str, day: dt.date | None = None) -> dict:
    """The release of `dataset` for `day` (default today): ``dataset, release, label, effective_from,
    effective_to, in_effect``. NoReleaseInEffect when every loaded release takes effect after the day;
    CodeEtlError when none is loaded."""
    day = day or clock.today()
    found = rows(con, "SELECT * FROM release_on(?, ?::DATE)", [dataset, day])
    if found:
        return found[0]
    loaded = rows(con, "SELECT release, effective_from FROM release_calendar WHERE dataset = ? ORDER BY effective_from", [dataset])
    if not loaded:
        raise CodeEtlError(f"the warehouse has no {dataset} release: run `{command('refresh')}`")
    listed = ", ".join(f"{r['release']} (from {r['effective_from']})" for r in loaded)
    raise NoReleaseInEffect(f"no {dataset} release loaded was in effect on {day}; loaded: {listed}")


def pick_release(con: duckdb.DuckDBPyConnection, dataset: str, as_of: dt.date | None) -> dict:
    """:func:`resolve` with dates as ISO strings (for pages)."""
    return jsonable(resolve(con, dataset, as_of))
