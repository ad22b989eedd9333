"""The real `codeetl refresh` (supervisor, worker, Prefect flow) run again and again on one data folder, from a
mirror of the real PFS 2025-D and 2026-B folders (PFS only, to stay fast): the first refresh says what it added,
counted as the official files count it; the same data again changes nothing and builds nothing; a failed
refresh is recorded; every run is in the ledger; `codeetl status` says whether the release in effect is loaded.

One module fixture runs the refreshes in a fixed sequence and keeps what each said, so the tests read results
and never depend on the order they run in. (What the scheduled refresh of `codeetl serve` does is tested with
a real server elsewhere.)
"""

from __future__ import annotations

import json
import os

import pytest

from _shared import CMS, needs_mirror
from faultkit import query, run_cli
from official import amount, rvu_records

pytestmark = needs_mirror

RVU = {"2025-D": CMS / "pfs" / "2025-D" / "PPRRVU2025_Oct.txt", "2026-B": CMS / "pfs" / "2026-B" / "PPRRVU2026_Apr_nonQPP.txt"}


def refresh(root, mirror, *args: str):
    return run_cli(["refresh", "--mirror", str(mirror), "--dataset", "pfs", "--data-dir", str(root), *args])


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict:
    """A mirror holding exactly the real pfs/2025-D and pfs/2026-B, then in order: a first refresh (--json), the
    same again (--json), the same again (terminal), and one from an empty mirror. Returns the data folder, the
    results, and the builds and current link after the first refresh."""
    tmp = tmp_path_factory.mktemp("again")
    mirror, empty, root = tmp / "mirror", tmp / "empty", tmp / "data"
    (mirror / "pfs").mkdir(parents=True)
    empty.mkdir()
    for rid in RVU:
        os.symlink(CMS / "pfs" / rid, mirror / "pfs" / rid)
    first = refresh(root, mirror, "--json")
    assert first.exit_code == 0, first.output
    after_first = {"builds": sorted(p.name for p in (root / "warehouse" / "builds").iterdir()),
                   "current": os.readlink(root / "warehouse" / "current")}
    again = refresh(root, mirror, "--json")
    terminal = refresh(root, mirror)
    failed = refresh(root, empty)
    return {"root": root, "first": first, "again": again, "terminal": terminal, "failed": failed, **after_first}


def test_first_refresh_says_what_it_added_as_the_official_files_count_it(runs):
    first = json.loads(runs["first"].stdout)
    assert first["changed"] is True and first["status"] == "published"
    assert first["releases_added"] == ["pfs/2025-D", "pfs/2026-B"]
    counts = {r["release"]: r for r in first["changes"]["counts"]["pfs"]}
    assert counts["2025-D"]["from_release"] is None and counts["2025-D"]["counts"] == {}
    b = counts["2026-B"]
    assert b["from_release"] == "2025-D"
    # recounted from the two RVU files (official.rvu_records: the records, by HCPCS and modifier), not the warehouse
    old, new = rvu_records(RVU["2025-D"]), rvu_records(RVU["2026-B"])
    assert b["counts"]["procedures"] == {"added": len(new.keys() - old.keys()), "deleted": len(old.keys() - new.keys())}
    national = lambda rec: (amount(rec, "nonfacility"), amount(rec, "facility"))  # noqa: E731
    changed = sum(1 for k in new.keys() & old.keys() if national(new[k]) != national(old[k]))
    assert b["counts"]["national amounts"] == {"changed": changed}


def test_the_same_data_again_changes_nothing_and_builds_nothing(runs):
    first, again = json.loads(runs["first"].stdout), json.loads(runs["again"].stdout)
    assert runs["again"].exit_code == 0, runs["again"].output
    assert (again["ok"], again["changed"], again["status"]) == (True, False, "unchanged")
    assert again["build_id"] == first["build_id"] and again["releases_added"] == [] and again["changes"] is None
    assert sorted(again["loaded"]) == ["pfs/2025-D (reused parse)", "pfs/2026-B (reused parse)"]
    root = runs["root"]
    assert os.readlink(root / "warehouse" / "current") == runs["current"]
    assert sorted(p.name for p in (root / "warehouse" / "builds").iterdir()) == runs["builds"]
    assert runs["terminal"].exit_code == 0 and "nothing changed" in runs["terminal"].stdout


def test_a_failed_refresh_keeps_the_build_and_says_why(runs):
    first = json.loads(runs["first"].stdout)
    assert runs["failed"].exit_code == 1 and "nothing was fetched" in runs["failed"].stderr
    assert os.readlink(runs["root"] / "warehouse" / "current") == runs["current"] == f"builds/{first['build_id']}"


def test_every_run_is_in_the_ledger(runs):
    """Through the published warehouse's refresh_runs view: the four runs in order, though only the first
    built anything, each under the run id its summary gave."""
    first, again = json.loads(runs["first"].stdout), json.loads(runs["again"].stdout)
    rows = query(runs["root"], "SELECT status, changed, releases_added, build_id, datasets, error, run_id "
                               "FROM refresh_runs ORDER BY started_at")
    assert [r[:2] for r in rows] == [("published", True), ("unchanged", False), ("unchanged", False), ("failed", False)]
    assert rows[0][2] == ["pfs/2025-D", "pfs/2026-B"] and all(r[3] == first["build_id"] for r in rows)
    assert all(r[4] == ["pfs"] for r in rows)
    assert "nothing was fetched" in rows[3][5]
    assert (rows[0][6], rows[1][6]) == (first["run_id"], again["run_id"])


@pytest.mark.parametrize("day, code, in_effect, loaded", [
    ("2026-11-30", 1, "2026-D", False),  # PFS catalog: 2026-D in effect 2026-10-01..2026-12-31; not in this mirror
    ("2026-05-01", 0, "2026-B", True),  # 2026-B in effect 2026-04-01..2026-06-30
])
def test_status_says_whether_the_release_in_effect_is_loaded(runs, day, code, in_effect, loaded):
    r = run_cli(["status", "--data-dir", str(runs["root"]), "--dataset", "pfs", "--json", "--as-of", day])
    assert r.exit_code == code, r.output
    pfs = json.loads(r.stdout)["datasets"][0]
    assert (pfs["in_effect"]["release"], pfs["in_effect_loaded"], pfs["newest_loaded"]["release"]) == (in_effect, loaded, "2026-B")
    assert pfs["last_run"]["status"] == "failed"  # the last run of the fixture's sequence


def test_status_of_an_unknown_dataset_is_a_usage_error(runs):
    assert run_cli(["status", "--data-dir", str(runs["root"]), "--dataset", "nope"]).exit_code == 2


def test_code_pages_reused_when_their_inputs_did_not_change(tmp_path):
    """A new PFS release that no ICD-10-CM release's first day uses leaves the code pages as they were: the next
    build links the previous build's files instead of computing them again."""
    from codeetl.build.pipeline import CODE_PAGE_CACHE

    root = tmp_path / "data"
    base = ["refresh", "--mirror", str(CMS), "--data-dir", str(root), "--dataset", "icd10cm", "--dataset", "pfs",
            "--release", "2024", "--release", "2025-D"]
    r = run_cli(base)
    assert r.exit_code == 0, r.output
    assert "build: code pages of ICD-10-CM 2024 (1 of 1)" in " ".join(r.stderr.split())
    first = root / "warehouse" / "current" / "parquet" / "code_page" / "icd10cm_release=2024" / "code_page.parquet"
    inode = first.stat().st_ino
    r = run_cli([*base, "--release", "2026-B", "--json"])
    assert r.exit_code == 0, r.output
    second = json.loads(r.stdout)
    assert second["changed"] and second["releases_added"] == ["pfs/2026-B"]
    assert "build: code pages of ICD-10-CM 2024 (1 of 1): unchanged, reused" in " ".join(r.stderr.split())
    again = root / "warehouse" / "current" / "parquet" / "code_page" / "icd10cm_release=2024" / "code_page.parquet"
    assert again.stat().st_ino == inode  # the same file, linked
    rows = query(root, f"SELECT count(*) FROM read_parquet('{again}')")[0][0]
    # 74,044: the lines of icd10cm/2024/icd10cm-codes-2024.txt (wc -l), CMS's FY2024 total
    assert rows == query(root, "SELECT count(*) FROM icd10cm_codes WHERE release = '2024'")[0][0] == 74_044
    assert len(list((root / "warehouse" / CODE_PAGE_CACHE).glob("*.parquet"))) == 1
