"""The releases page (``codeetl releases --json``, ``/releases``): every loaded release, whether it is in
effect on a day, and the provenance of each download (official URL, where it was fetched from, sha256, its
files with theirs).

JSON keys: ``day``, ``releases`` [{``dataset``, ``release``, ``label``, ``effective_from``, ``effective_to``,
``in_effect``, ``used_on_day`` (the release the pages use on the day, by the resolver), ``downloads``
[{``url``, ``fetched_from``, ``sha256``, ``fetched_at``, ``verified`` (the catalog's flag: an independent public
source uses the exact URL; null for a URL the catalog no longer lists), ``files`` [{``role``, ``name``,
``sha256``}]}]}],
``built_at``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import duckdb

from codeetl.pages.common import built_at, jsonable, rows, sources
from codeetl.sources.catalog import load_catalog


def releases_page(con: duckdb.DuckDBPyConnection, as_of: dt.date | None = None) -> dict[str, Any]:
    """Every loaded release, by dataset and effective date, with its downloads (see the module's doc)."""
    day = as_of or dt.date.today()
    used = set()
    for (ds,) in con.execute("SELECT DISTINCT dataset FROM release_calendar ORDER BY 1").fetchall():
        used |= {(ds, r[0]) for r in con.execute("SELECT release FROM release_on(?, ?::DATE)", [ds, day]).fetchall()}
    verified = {f.url: f.verified for ds in load_catalog().values() for rel in ds.releases for f in rel.files}
    out = []
    for r in rows(con, "SELECT dataset, release, label, effective_from, effective_to FROM release_calendar "
                       "ORDER BY dataset, effective_from, release"):
        r = jsonable(r)
        r["in_effect"] = r["effective_from"] <= day.isoformat() and (r["effective_to"] is None or day.isoformat() <= r["effective_to"])
        r["used_on_day"] = (r["dataset"], r["release"]) in used
        r["downloads"] = [{**{k: s[k] for k in ("url", "fetched_from", "sha256", "fetched_at")},
                           "verified": verified.get(s["url"]), "files": s["files"]}
                          for s in sources(con, [(r["dataset"], r["release"])])]
        out.append(r)
    return {"day": day.isoformat(), "releases": out, "built_at": built_at(con)}
