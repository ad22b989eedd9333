"""What changed between two releases: the ``codeetl diff`` page (ICD-10-CM, with the MS-DRG versions of the
same dates; or two MS-DRG grouper versions).

A release is named by its id (``2026``, ``2026-04``, ``v43``) or by a date (YYYY-MM-DD: the ICD-10-CM
release in effect that day, through :func:`codeetl.pages.resolver.pick_release`). With one release, the page
shows what that release changed from the one before it; with none, what the release in effect today changed.
"""

from __future__ import annotations

import datetime as dt
from functools import partial
from typing import Any

import duckdb

from codeetl import clock
from codeetl.codes import iso_date
from codeetl.errors import CodeEtlError, command
from codeetl.build.named_sql import named_statements
from codeetl.pages.common import jsonable, rows as _rows, sources
from codeetl.pages.resolver import pick_release

CODE_CHANGES = ("added", "deleted", "revised", "became_header", "became_billable", "no_longer_valid")
DRG_CHANGES = ("added", "deleted", "retitled", "restyled", "mdc_changed", "type_changed")
DX_CHANGES = ("added", "deleted", "mdc_changed", "family_changed", "family_retitled")


def _sql(name: str) -> str:
    return named_statements("history/diff.sql")[name]


def _pick(con, loaded: list[dict], key: str, dataset: str, ref: str | None) -> dict:
    """The loaded release named ``ref`` (an id, or a date resolved by pick_release; None = today)."""
    by_id = {r[key]: r for r in loaded}
    if ref in by_id:
        return by_id[ref]
    day = clock.today() if ref is None else iso_date(ref)
    if day is None:
        raise CodeEtlError(f"{ref!r} is neither a loaded {dataset} release nor a date (YYYY-MM-DD); loaded: "
                           + ", ".join(by_id))
    return by_id[pick_release(con, dataset, day)["release"]]


def _resolve_pair(loaded: list[dict], key: str, old: str | None, new: str | None, pick) -> tuple[dict, dict]:
    """(from, to): ``new`` picked (default today), ``old`` picked or else the release before ``new``."""
    if old is not None and new is None:
        old, new = None, old
    to = pick(new)
    if old is not None:
        frm = pick(old)
        if frm[key] == to[key]:
            raise CodeEtlError(f"{old} and {new} are the same release ({to[key]}): nothing to compare")
        return frm, to
    i = [r[key] for r in loaded].index(to[key])
    if old is None and i == 0:
        raise CodeEtlError(f"{to[key]} is the earliest loaded release: nothing to compare it with")
    return loaded[i - 1], to


def _release_info(r: dict) -> dict:
    return jsonable({k: v for k, v in r.items() if k != "seq"})


def icd10cm_changes(con: duckdb.DuckDBPyConnection, a: dict, b: dict) -> dict:
    """The ICD-10-CM changes from release ``a`` to ``b`` (rows of :data:`_sql` icd10cm_changes) grouped as
    ``{"counts": {...}, "codes": {change: [..]}, "headers": {change: [..]}, "notes": {"added": [..],
    "removed": [..]}}``: codes = billable codes (and codes that became headers or billable), headers = header
    rows added, deleted or revised. ``codes["no_longer_valid"]``: valid codes gone from a release loaded from a code
    file only that has valid codes below them (they became headers; the release lists none), never under deleted."""
    codes: dict[str, list] = {c: [] for c in CODE_CHANGES}
    headers: dict[str, list] = {c: [] for c in ("added", "deleted", "revised")}
    notes: dict[str, list] = {"added": [], "removed": []}
    for r in _rows(con, _sql("icd10cm_changes"), [a["release"], b["release"]]):
        kind = r["change"]
        if kind.startswith("note_"):
            notes[kind[5:]].append({"code": r["code"], "note_type": r["note_type"], "note": r["new"] or r["old"]})
        elif kind in ("added", "deleted"):
            item = {"code": r["code"], "description": r["new"] or r["old"]}
            (codes if r["is_billable"] else headers)[kind].append(item)
        elif kind == "no_longer_valid":
            codes[kind].append({"code": r["code"], "description": r["old"]})
        elif kind == "revised" and not r["is_billable"]:
            headers["revised"].append({"code": r["code"], "old": r["old"], "new": r["new"]})
        else:
            codes[kind].append({"code": r["code"], "old": r["old"], "new": r["new"]})
    counts = {"codes": {k: len(v) for k, v in codes.items()}, "headers": {k: len(v) for k, v in headers.items()},
              "notes": {k: len(v) for k, v in notes.items()}}
    return {"counts": counts, "codes": codes, "headers": headers, "notes": notes}


def caveats(a: dict, b: dict) -> list[str]:
    """What the comparison cannot see, given how the two releases were loaded."""
    out = []
    bare = [r["release"] for r in (a, b) if not r["has_headers"]]
    if bare:
        out.append(f"{' and '.join(bare)} {'was' if len(bare) == 1 else 'were'} loaded from a code file only "
                   "(billable codes, no headers): headers are not compared; a valid code that is gone and has valid "
                   "codes below it is listed as no longer valid (it became a header), not as deleted; a header that "
                   "became billable shows as added")
    if not (a["has_notes"] and b["has_notes"]):
        out.append("notes are compared only between two releases loaded from the Tabular XML")
    if abs(a["seq"] - b["seq"]) > 1:
        out.append(f"{a['release']} and {b['release']} are not consecutive: the changes of the releases between "
                   "them are included")
    return out


def msdrg_section(con: duckdb.DuckDBPyConnection, a: dict, b: dict) -> dict:
    """The MS-DRG changes between grouper versions ``a`` and ``b`` (rows of msdrg_diff) as
    ``{"from", "to", "counts": {"drg": {...}, "dx": {...}}, "drg": {change: [..]}, "dx": {change: [..]}}``."""
    out: dict[str, Any] = {"from": _release_info(a), "to": _release_info(b),
                           "drg": {c: [] for c in DRG_CHANGES}, "dx": {c: [] for c in DX_CHANGES}}
    for r in _rows(con, _sql("msdrg_changes"), [a["version"], b["version"]]):
        out[r["subject_kind"]][r["change"]].append({"subject": r["subject"], "old": r["old"], "new": r["new"]})
    out["counts"] = {k: {c: len(v) for c, v in out[k].items()} for k in ("drg", "dx")}
    return out


def _msdrg_for(con: duckdb.DuckDBPyConnection, a: dict, b: dict) -> dict | None:
    """The MS-DRG section for the grouper versions in effect on the first days of ICD-10-CM releases a and b
    (None when MS-DRG is not loaded for both days)."""
    versions = _rows(con, _sql("msdrg_versions"))
    try:
        va, vb = (pick_release(con, "msdrg", r["effective_from"]) for r in (a, b))
    except CodeEtlError:
        return None
    if va["release"] == vb["release"]:
        return None
    by_id = {v["version"]: v for v in versions}
    return msdrg_section(con, by_id[va["release"]], by_id[vb["release"]])


def diff_page(con: duckdb.DuckDBPyConnection, old: str | None = None, new: str | None = None) -> dict[str, Any]:
    """What changed from release ``old`` to release ``new`` (ids or dates; see the module docstring).

    ICD-10-CM releases give ``{"dataset": "icd10cm", "from", "to", "consecutive", "counts", "codes",
    "headers", "notes", "caveats", "msdrg", "sources"}`` (``msdrg``: the changes between the MS-DRG versions
    in effect on the two releases' first days, or None); two MS-DRG versions (v42 v43) give ``{"dataset":
    "msdrg", "from", "to", "counts", "drg", "dx", "sources"}``. Lists are complete (JSON); CodeEtlError for a
    name that is no loaded release."""
    versions = _rows(con, _sql("msdrg_versions"))
    named = {old, new} - {None}
    if named and named <= {v["version"] for v in versions}:
        a, b = _resolve_pair(versions, "version", old, new, partial(_pick, con, versions, "version", "msdrg"))
        return {"dataset": "msdrg", **msdrg_section(con, a, b),
                "sources": sources(con, [("msdrg", a["version"]), ("msdrg", b["version"])])}
    loaded = _rows(con, _sql("icd10cm_releases"))
    if not loaded:
        raise CodeEtlError(f"the warehouse has no ICD-10-CM history: run `{command('refresh')}`")
    a, b = _resolve_pair(loaded, "release", old, new, partial(_pick, con, loaded, "release", "icd10cm"))
    ms = _msdrg_for(con, a, b)
    used = [("icd10cm", a["release"]), ("icd10cm", b["release"])]
    used += [("msdrg", ms["from"]["version"]), ("msdrg", ms["to"]["version"])] if ms else []
    return {"dataset": "icd10cm", "from": _release_info(a), "to": _release_info(b),
            "consecutive": abs(a["seq"] - b["seq"]) == 1, **icd10cm_changes(con, a, b),
            "caveats": caveats(a, b), "msdrg": ms, "sources": sources(con, used)}
