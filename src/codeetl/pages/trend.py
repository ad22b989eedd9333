"""An MS-DRG across the loaded grouper versions (``/drg/551``'s chart): its title, relative weight and mean
lengths of stay in each version (from ``msdrg_drg``: Table 5 of each version's IPPS final rule)."""

from __future__ import annotations

import duckdb

from codeetl.pages.common import dec, rows


def drg_trend(con: duckdb.DuckDBPyConnection, drg: str) -> list[dict]:
    """One entry per loaded MS-DRG version that has `drg` (three digits), oldest first: ``version``,
    ``fiscal_year``, ``title``, ``weight``, ``gmlos``, ``amlos`` (decimals as exact strings, None when Table 5
    publishes none)."""
    found = rows(con, "SELECT d.version, d.fiscal_year, coalesce(d.title, d.title_ipps) AS title, d.weight, d.gmlos, d.amlos "
                      "FROM msdrg_drg d JOIN release_calendar c ON c.dataset = 'msdrg' AND c.release = d.version "
                      "WHERE d.drg = ? ORDER BY c.effective_from", [drg])
    return [{**r, "weight": dec(r["weight"]), "gmlos": dec(r["gmlos"]), "amlos": dec(r["amlos"])} for r in found]
