"""What every page shares: reading rows, the page errors, JSON-ready values, provenance of the sources used."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from codeetl.errors import CodeEtlError


class CodeNotFound(CodeEtlError):
    def __init__(self, message: str, suggestions: list[dict]):
        super().__init__(message)
        self.suggestions = suggestions


class MalformedCode(CodeEtlError):
    pass


class NoReleaseInEffect(CodeEtlError):
    """Every loaded release of a dataset took effect after the day asked for."""


def rows(con, sql: str, params: list | None = None) -> list[dict]:
    """The result of ``sql`` as a list of dicts (column name -> value)."""
    cur = con.execute(sql, params or [])
    cols = [d[0] for d in cur.description]
    return [dict(zip(cols, r)) for r in cur.fetchall()]


def sources(con, used: list[tuple[str, str]]) -> list[dict]:
    """The provenance of each (dataset, release) a page used, in that order: official URL, actual source,
    hashes (one row per download, by URL; its files by role). Two queries, whatever the number used."""
    if not used:
        return []
    keys = [f"{ds}/{rid}" for ds, rid in used]
    downloads: dict[str, list[dict]] = {}
    for r in rows(con, "SELECT dataset, release, label, source_url AS url, fetched_from, sha256, fetched_at FROM releases "
                       "WHERE dataset || '/' || release IN (SELECT unnest(?::VARCHAR[])) ORDER BY source_url", [keys]):
        downloads.setdefault(f"{r['dataset']}/{r['release']}", []).append(r)
    files: dict[tuple, list[dict]] = {}
    for f in rows(con, "SELECT dataset, release, source_url, role, file_name AS name, sha256 FROM source_files "
                       "WHERE dataset || '/' || release IN (SELECT unnest(?::VARCHAR[])) ORDER BY role", [keys]):
        files.setdefault((f.pop("dataset"), f.pop("release"), f.pop("source_url")), []).append(f)
    out = []
    for key in keys:
        for r in downloads.get(key, []):
            out.append(jsonable({**r, "files": files.get((r["dataset"], r["release"], r["url"]), [])}))
    return out


def built_at(con) -> str | None:
    """When the warehouse was built (ISO 8601), from ``releases.loaded_at``."""
    r = con.execute("SELECT max(loaded_at) FROM releases").fetchone()[0]
    return r.isoformat() if r else None


def jsonable(d: dict) -> dict:
    """``d`` with dates and timestamps as ISO strings."""
    return {k: (v.isoformat() if isinstance(v, (dt.date, dt.datetime)) else v) for k, v in d.items()}


def dec(v: Decimal | None) -> str | None:
    """A DECIMAL as an exact JSON string ("1.6761"), or None."""
    return None if v is None else str(v)


def money(v: Decimal | None) -> str | None:
    """An amount as a JSON string with two decimals ("95.19"), or None."""
    return None if v is None else f"{v:.2f}"


def copyright_notice(con, release: str | None, dental: bool = False) -> str | None:
    """The copyright notice the PFS release's RVU file carries (table pfs_notice): the AMA's for CPT
    descriptors, or the ADA's for dental (D) codes."""
    if release is None:
        return None
    row = con.execute("SELECT cpt_notice, dental_notice FROM pfs_notice WHERE release = ?", [release]).fetchone()
    if row is None:
        return None
    return (row[1] or row[0]) if dental else row[0]


def page_json(value):
    """A page value from DuckDB made JSON-ready, recursively: decimals as exact strings ("1.6761", "95.19": a
    DECIMAL(10,2) keeps its two places), dates and timestamps as ISO strings; dicts and lists kept."""
    if isinstance(value, dict):
        return {k: page_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [page_json(v) for v in value]
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return value
