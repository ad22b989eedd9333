"""The publication calendars (schedules.toml), the run ledger, the build key and `codeetl status` on small
warehouses written here (no mirror)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import duckdb
import pytest

from codeetl.build import changes
from codeetl.build import ledger
from codeetl.ops import schedules
from codeetl.sources.catalog import parse_dataset
from codeetl.ops.status import dataset_status
from codeetl.build.warehouse_sql import sql_text

D = dt.date
TODAY = D(2026, 11, 30)


# ------------------------------------------------------------------------------------ calendars


def test_fiscal_year():
    assert schedules.fiscal_year(D(2026, 10, 1)) == 2027
    assert schedules.fiscal_year(D(2026, 9, 30)) == 2026


def test_icd10cm_calendar_on_2026_11_30():
    """FY2027 took effect 2026-10-01; the next publication is the April 1 update, in February-March 2027."""
    assert schedules.expected_in_effect("icd10cm", TODAY) == {"name": "FY2027 ICD-10-CM October 1 release",
                                                              "effective_from": D(2026, 10, 1)}
    nxt = schedules.next_expected("icd10cm", TODAY)
    assert nxt["name"] == "FY2027 ICD-10-CM April 1 update"
    assert (nxt["published_from"], nxt["published_to"], nxt["effective_from"]) == (D(2027, 2, 1), D(2027, 3, 31), D(2027, 4, 1))
    assert nxt["in_window"] is False


def test_pfs_january_release_is_expected_now():
    nxt = schedules.next_expected("pfs", TODAY)
    assert nxt["name"] == "PFS January release (A) (2027)"
    assert (nxt["published_from"], nxt["published_to"], nxt["effective_from"]) == (D(2026, 11, 1), D(2026, 12, 31), D(2027, 1, 1))
    assert nxt["in_window"] is True


def test_gems_are_final_and_mcd_weekly():
    assert schedules.next_expected("gems", TODAY) is None
    assert schedules.expected_in_effect("gems", TODAY) is None
    assert schedules.next_expected("mcd", TODAY)["expected"] == "weekly"


def test_every_catalog_dataset_has_a_calendar():
    """(When each schedule fires is checked against the README's calendar by the schedule tests of issue 15.)"""
    from codeetl.sources.catalog import load_catalog

    assert set(load_catalog()) <= set(schedules.calendars())


# ---------------------------------------------------------------------------------------- ledger


def test_ledger_records_published_unchanged_failed_and_interrupted(tmp_path):
    with ledger.recording(tmp_path, None, "cli") as run:
        assert [r["status"] for r in ledger.read_runs(tmp_path)] == ["running"]
        with ledger.recording(tmp_path, ["pfs"], "cli") as inner:  # nested (the flow inside the CLI): one run
            assert inner is run
        run.outcome = {"status": "published", "changed": True, "releases_added": ["pfs/2026-B"], "build_id": "b1",
                       "changes": {"releases_added": ["pfs/2026-B"]}}
    with ledger.recording(tmp_path, ["pfs"], "refresh-pfs") as run:
        run.outcome = {"status": "unchanged", "changed": False, "releases_added": [], "build_id": "b1", "changes": None}
    with pytest.raises(RuntimeError), ledger.recording(tmp_path):
        raise RuntimeError("the mirror\nis gone")
    runs = ledger.read_runs(tmp_path)
    assert [(r["status"], r["changed"]) for r in runs] == [("published", True), ("unchanged", False), ("failed", False)]
    assert runs[0]["releases_added"] == ["pfs/2026-B"] and json.loads(runs[0]["changes"]) == {"releases_added": ["pfs/2026-B"]}
    assert runs[1]["datasets"] == ["pfs"] and runs[1]["trigger"] == "refresh-pfs"
    assert runs[2]["error"] == "the mirror is gone"
    assert all(r["finished_at"] >= r["started_at"] for r in runs)
    # a run killed while running stays "running" until the next run marks it interrupted
    rows = runs + [{**runs[0], "run_id": "killed", "status": "running", "finished_at": None}]
    ledger._write(tmp_path, rows)
    with ledger.recording(tmp_path):
        pass
    after = {r["run_id"]: r["status"] for r in ledger.read_runs(tmp_path)}
    assert after["killed"] == "interrupted" and list(after.values())[-1] == "published" and len(after) == 5
    assert [p.name for p in (tmp_path / "warehouse").iterdir()] == ["refresh_runs.parquet"]  # no temporary left


def test_a_damaged_ledger_is_moved_aside(tmp_path):
    ledger.ledger_path(tmp_path).parent.mkdir(parents=True)
    ledger.ledger_path(tmp_path).write_bytes(b"PAR1 not a parquet file")
    with pytest.raises(Exception, match="cannot be read"):
        ledger.read_runs(tmp_path)
    with ledger.recording(tmp_path):
        pass
    assert [r["status"] for r in ledger.read_runs(tmp_path)] == ["published"]
    assert len(list((tmp_path / "warehouse").glob("refresh_runs.parquet.damaged-*"))) == 1


def test_refresh_runs_view_reads_the_ledger_read_only(tmp_path):
    """The warehouse's refresh_runs view reads the ledger file, also from a read-only connection, and shows
    rows appended after the build."""
    from codeetl.build.pipeline import _runs_view

    path = ledger.ensure_ledger(tmp_path)
    db = tmp_path / "w.duckdb"
    con = duckdb.connect(str(db))
    con.execute(_runs_view(path))
    con.close()
    with ledger.recording(tmp_path, None, "cli"):
        pass
    con = duckdb.connect(str(db), read_only=True)
    assert con.execute("SELECT status, trigger FROM refresh_runs").fetchall() == [("published", "cli")]
    assert con.execute("SELECT count(*) FROM duckdb_columns() WHERE table_name = 'refresh_runs' AND comment IS NULL").fetchone()[0] == 0
    con.close()


# ------------------------------------------------------------------------------------- build key


def _parse_dir(tmp: Path, ds: str, rid: str, key: str) -> Path:
    d = tmp / "raw" / ds / rid / "parsed" / key
    d.mkdir(parents=True)
    (d / "meta.json").write_text(json.dumps({"dataset": ds, "release": rid, "key": key, "tables": {}, "downloads": []}))
    return d


def test_build_key_changes_with_any_input(tmp_path):
    a = _parse_dir(tmp_path, "pfs", "2026-B", "k1")
    links = tmp_path / "links"
    links.mkdir()
    (links / "x.csv").write_text("dx,hcpcs,source,note\n")
    base = changes.build_inputs([a], [links], tmp_path / "refresh_runs.parquet")
    assert changes.build_key(base) == changes.build_key(changes.build_inputs([a], [links], tmp_path / "refresh_runs.parquet"))
    b = _parse_dir(tmp_path, "pfs", "2026-C", "k2")
    assert changes.build_key(changes.build_inputs([a, b], [links], tmp_path / "refresh_runs.parquet")) != changes.build_key(base)
    (links / "x.csv").write_text("dx,hcpcs,source,note\nM96.1,63030,x,\n")
    assert changes.build_key(changes.build_inputs([a], [links], tmp_path / "refresh_runs.parquet")) != changes.build_key(base)
    assert changes.build_key({**base, "code": "other"}) != changes.build_key(base)


def test_describe_says_nothing_changed_or_what():
    assert changes.describe({"changed": False})[0].startswith("nothing changed")
    lines = changes.describe({"changed": True, "changes": {
        "releases_added": ["icd10cm/2027"], "counts": {"icd10cm": [
            {"release": "2027", "from_release": "2026-04", "counts": {"codes": {"added": 190, "deleted": 30, "revised": 4}}}]}}})
    assert lines == ["releases added: icd10cm/2027", "icd10cm 2026-04 -> 2027: codes 190 added, 30 deleted, 4 revised"]
    same = changes.describe({"changed": True, "changes": {"counts": {"icd10cm": [
        {"release": "2026-04", "from_release": "2026", "counts": {}}, {"release": "2024", "from_release": None, "counts": {}}]}}})
    assert same == ["icd10cm 2026 -> 2026-04: no changes",  # not "the first release loaded"
                    "icd10cm 2024: the first icd10cm release loaded (nothing before it to compare with)"]
    ipps = changes.describe({"changed": True, "changes": {"counts": {"ipps": [
        {"release": "fy2027", "from_release": "fy2026", "counted": False, "counts": {}}]}}})
    assert ipps == ["ipps fy2027: added after fy2026 (what changed is not counted for ipps)"]  # not "no changes"


# ------------------------------------------------------------------------------------------ status


CATALOG = {"dataset": "demo", "title": "Demo", "releases": [
    {"release": "A", "effective_from": D(2025, 10, 1), "effective_to": D(2026, 9, 30), "files": []},
    {"release": "B", "effective_from": D(2026, 10, 1), "files": []}]}


def _warehouse(loaded: list[tuple[str, str, str | None]]):
    con = duckdb.connect()
    con.execute(sql_text("releases.sql"))
    con.execute(sql_text("pages/10_resolver.sql"))
    for rid, start, end in loaded:
        con.execute("INSERT INTO releases (dataset, release, label, effective_from, effective_to, source_url, fetched_from, "
                    "sha256, loaded_at) VALUES ('demo', ?, ?, ?, ?, 'https://x', 'https://x', 'ab', now())", [rid, rid, start, end])
    return con


def test_status_behind_when_the_release_in_effect_is_not_loaded():
    ds = parse_dataset(CATALOG, "demo.toml")
    st = dataset_status(ds, TODAY, _warehouse([("A", "2025-10-01", "2026-09-30")]), [])
    assert st["in_effect"]["release"] == "B" and st["in_effect_loaded"] is False and st["ok"] is False
    assert st["used_by_pages"] == {"release": "A", "in_effect": False}  # the resolver's choice, flagged
    assert st["newest_loaded"]["release"] == "A"
    assert "B" in st["problem"] and "codeetl refresh --dataset demo" in st["problem"]


def test_status_current_when_loaded_and_last_run_per_dataset():
    ds = parse_dataset(CATALOG, "demo.toml")
    runs = [{"run_id": "1", "started_at": 1, "finished_at": 2, "status": "published", "changed": True, "releases_added": [],
             "error": None, "datasets": None},
            {"run_id": "2", "started_at": 3, "finished_at": 4, "status": "failed", "changed": False, "releases_added": [],
             "error": "x", "datasets": ["other"]}]
    st = dataset_status(ds, TODAY, _warehouse([("A", "2025-10-01", "2026-09-30"), ("B", "2026-10-01", None)]), runs)
    assert st["ok"] is True and st["problem"] is None and st["in_effect_loaded"] is True
    assert st["last_run"]["run_id"] == "1"  # run 2 refreshed another dataset only


def test_status_without_a_catalog_release_for_the_day():
    ds = parse_dataset({**CATALOG, "releases": CATALOG["releases"][:1]}, "demo.toml")
    st = dataset_status(ds, TODAY, None, [])
    assert st["in_effect"] is None and st["ok"] is False and st["newest_loaded"] is None
    assert "the catalog has no Demo release in effect on 2026-11-30" in st["problem"]


def test_status_of_a_final_dataset_whose_last_release_ended():
    """ICD-9-CM v32 ended 2015-09-30 and its calendar lists no publications: loaded, nothing is due."""
    ds = parse_dataset({"dataset": "icd9cm", "title": "ICD-9-CM", "releases": [
        {"release": "v32", "effective_from": D(2014, 10, 1), "effective_to": D(2015, 9, 30), "files": []}]}, "icd9cm.toml")
    con = _warehouse([("v32", "2014-10-01", "2015-09-30")])
    con.execute("UPDATE releases SET dataset = 'icd9cm'")
    st = dataset_status(ds, TODAY, con, [])
    assert st["final"] is True and st["ok"] is True and st["problem"] is None and st["in_effect"] is None
    missing = dataset_status(ds, TODAY, _warehouse([]), [])
    assert missing["ok"] is False  # final, but not loaded


# ------------------------------------------------------------------------------------------- serve


def test_commands_start_without_prefect():
    """Only refresh and serve import Prefect (1-5 s): loading the CLI, status and the calendars does not."""
    import subprocess
    import sys

    code = ("import sys, codeetl.cli, codeetl.ops.status, codeetl.ops.schedules, codeetl.build.ledger, codeetl.build.changes; "
            "sys.exit('prefect' in sys.modules)")
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0


def test_serve_deploys_each_dataset_on_its_calendar(tmp_path):
    """The deployments codeetl serve registers (built without a server): one per dataset with its calendar (as
    one RRULE in America/New_York) and only that dataset, and refresh-all without a schedule; the flow runs by
    module path. (Every calendar's fire times: test_schedules.py; a real serve: test_serve.py.)"""
    from codeetl.ops.orchestrator import configure_prefect_env

    configure_prefect_env()
    from codeetl.ops.serve import deployments

    deps = {d.name: d for d in deployments(tmp_path, "/mirror")}
    from codeetl.sources.catalog import load_catalog

    assert set(deps) == {"refresh-all"} | {f"refresh-{ds}" for ds in load_catalog()}
    icd = deps["refresh-icd10cm"]
    [sched] = [s.schedule for s in icd.schedules]  # one RRULE (Prefect's server cannot compute crons on 3.11)
    assert sched.timezone == "America/New_York"
    from prefect.server.schemas.schedules import RRuleSchedule

    start = dt.datetime(2026, 12, 6, tzinfo=dt.timezone.utc)  # README: Mondays 06:00 in February-March, ...
    got = list(RRuleSchedule(rrule=sched.rrule, timezone=sched.timezone)._get_dates_generator(n=3, start=start))
    assert got == [dt.datetime.fromisoformat(f"2027-02-{d}T06:00-05:00") for d in ("01", "08", "15")]
    assert icd.parameters == {"root": str(tmp_path.resolve()), "mirror": "/mirror", "datasets": ["icd10cm"],
                              "trigger": "refresh-icd10cm"}
    assert deps["refresh-all"].schedules == [] and deps["refresh-gems"].schedules == []
    assert icd.entrypoint == "codeetl.ops.flow.refresh"


def test_the_page_sql_is_build_code_and_the_python_pages_are_not():
    """The build stores the page macros and exports the code pages with them: editing sql/pages must rebuild
    (and not reuse cached code pages); editing the Python pages or commands must not."""
    names = {name for name, _ in changes.build_code_files()}
    assert {"sql/pages/10_resolver.sql", "sql/pages/20_code_page.sql", "build/pipeline.py"} <= names
    assert not {n for n in names if n.startswith(("pages/", "cli/", "check/", "claims/"))}


def test_build_key_holds_what_the_catalog_says_of_each_loaded_release(tmp_path):
    from dataclasses import replace

    from codeetl.sources.catalog import load_catalog

    catalog = load_catalog()
    a = _parse_dir(tmp_path, "pfs", "2026-B", "k1")
    ledger_file = tmp_path / "refresh_runs.parquet"

    def moved(rid: str) -> dict:
        ds = catalog["pfs"]
        return {**catalog, "pfs": replace(ds, releases=tuple(
            replace(r, effective_from=r.effective_from + dt.timedelta(days=1)) if r.release == rid else r for r in ds.releases))}

    base = changes.build_inputs([a], None, ledger_file, catalog)
    assert base["calendar"]["pfs/2026-B"][1] == str(catalog["pfs"].release("2026-B").effective_from)
    assert changes.build_key(changes.build_inputs([a], None, ledger_file, moved("2026-B"))) != changes.build_key(base)
    # a release the build does not load moves nothing
    assert changes.build_key(changes.build_inputs([a], None, ledger_file, moved("2026-A"))) == changes.build_key(base)
