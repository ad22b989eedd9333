"""``codeetl status``: is the warehouse current? Per dataset, the release in effect today and whether it is
loaded, the newest loaded release, the next expected publication and the last refresh.

Which release applies on a day is decided by the catalog's dates (:meth:`codeetl.sources.catalog.Release.in_effect`)
for releases not loaded, and by the warehouse's resolver ``release_on`` for what the pages use; the
publication calendar is ``schedules.toml``; the last runs come from the run ledger. No Prefect here.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb

from codeetl import clock
from codeetl.build import ledger
from codeetl.ops import schedules
from codeetl.sources.catalog import Dataset, load_catalog
from codeetl.errors import WarehouseError, command
from codeetl.build.paths import current_database


def _release(r) -> dict:
    return {"release": r.release, "label": r.label, "effective_from": r.effective_from, "effective_to": r.effective_to}


def _rows(con, sql: str, params: list) -> list[dict]:
    if con is None:
        return []
    cur = con.execute(sql, params)
    cols = [d[0] for d in cur.description]
    return [dict(zip(cols, r)) for r in cur.fetchall()]


def _last_run(runs: list[dict], dataset: str) -> dict | None:
    """The newest ledger row of a run that refreshed `dataset` (asked for it, or for every dataset)."""
    for r in reversed(runs):
        if not r.get("datasets") or dataset in r["datasets"]:
            return {k: r[k] for k in ("run_id", "started_at", "finished_at", "status", "changed", "releases_added", "error")}
    return None


def _derivation(con, dataset: str, release: str) -> str | None:
    """How the loaded `release` was derived when no file of its own has it whole (``releases.derivation``: FY2027
    ICD-10-CM from its addenda, no Tabular), else None."""
    rows = _rows(con, "SELECT max(derivation) AS derivation FROM releases WHERE dataset = ? AND release = ?",
                 [dataset, release])
    return rows[0]["derivation"] if rows else None


def dataset_status(ds: Dataset, day: dt.date, con, runs: list[dict]) -> dict:
    """The status of one dataset on `day` (see the module's doc); ``ok`` is false when the release in
    effect that day is not loaded (or the catalog has none), and ``problem`` says why."""
    in_effect = next((r for r in ds.releases if r.in_effect(day)), None)
    loaded = _rows(con, "SELECT release, label, effective_from, effective_to FROM release_calendar WHERE dataset = ? "
                        "ORDER BY effective_from DESC, release DESC", [ds.dataset])
    used = _rows(con, "SELECT release, in_effect FROM release_on(?, ?::DATE)", [ds.dataset, day])
    is_loaded = in_effect is not None and any(r["release"] == in_effect.release for r in loaded)
    expected = schedules.expected_in_effect(ds.dataset, day)
    cal = schedules.calendars().get(ds.dataset)
    latest = max(ds.releases, key=lambda r: r.effective_from, default=None)
    final = cal is not None and not cal.publications and latest is not None  # nothing more will be published
    if in_effect is None and final and any(r["release"] == latest.release for r in loaded):
        problem = None  # the final release (ICD-9-CM v32, ended 2015-09-30) is loaded: nothing is due
    elif in_effect is None:
        problem = (f"the catalog has no {ds.title} release in effect on {day}"
                   + (f" (its latest, {latest.release}, ended {latest.effective_to})" if latest and latest.effective_to else "")
                   + (f"; by the calendar the {expected['name']} took effect {expected['effective_from']}: add it to "
                      f"datasets/{ds.dataset}/catalog.toml" if expected else ""))
    elif not is_loaded:
        problem = (f"{ds.dataset} {in_effect.release} ({in_effect.label}) is in effect on {day} but not loaded: "
                   f"run `{command(f'refresh --dataset {ds.dataset}')}`"
                   + (f" (pages use {used[0]['release']}, flagged not in effect)" if used else ""))
    else:
        problem = None
    return {
        "dataset": ds.dataset,
        "title": ds.title,
        "in_effect": {**_release(in_effect), "derivation": _derivation(con, ds.dataset, in_effect.release)
                      if is_loaded else None} if in_effect else None,
        "in_effect_loaded": is_loaded,
        "expected_in_effect": expected,
        "used_by_pages": used[0] if used else None,
        "newest_loaded": loaded[0] if loaded else None,
        "loaded": [r["release"] for r in loaded],
        "next_expected": schedules.next_expected(ds.dataset, day),
        "final": final,
        "last_run": _last_run(runs, ds.dataset),
        "ok": problem is None,
        "problem": problem,
    }


def warehouse_status(root: str | Path, day: dt.date | None = None, datasets: list[str] | None = None) -> dict:
    """The status of the data folder `root` on `day` (default today): ``day``, ``warehouse`` (database,
    build_id, built_at; null when there is none), ``last_run``, ``datasets`` (:func:`dataset_status` of each
    catalog dataset, or of `datasets`) and ``ok`` (every one's release in effect is loaded)."""
    day = day or clock.today()
    catalog = load_catalog()
    try:
        runs = ledger.read_runs(root)
    except WarehouseError:  # damaged: the next refresh moves it aside; status reports no runs meanwhile
        runs = []
    try:
        db = current_database(root)
    except WarehouseError:
        db = None
    con = duckdb.connect(str(db), read_only=True) if db else None
    try:
        items = [dataset_status(ds, day, con, runs) for name, ds in catalog.items() if not datasets or name in datasets]
        built = con.execute("SELECT max(loaded_at) FROM releases").fetchone()[0] if con else None
    finally:
        if con:
            con.close()
    build_id = Path(db).resolve().parent.name if db else None
    return {
        "day": day,
        "warehouse": {"database": str(db), "build_id": build_id, "built_at": built} if db else None,
        "last_run": {k: runs[-1][k] for k in ("run_id", "started_at", "finished_at", "status", "changed", "error")} if runs else None,
        "datasets": items,
        "ok": db is not None and all(d["ok"] for d in items),
    }
