"""A scheduled refresh on the real mirror (PFS only, to stay fast; no Prefect): the second refresh of the same
data says nothing changed and builds nothing; the run ledger survives builds; what changed is counted;
`codeetl status` says whether the release in effect is loaded."""

from __future__ import annotations

import json
import os

import pytest

from _shared import CMS
from faultkit import plain_refresh, query, run_cli

pytestmark = pytest.mark.skipif(not CMS.is_dir(), reason="needs ../shared/cms")


@pytest.fixture(scope="module")
def refreshed(tmp_path_factory):
    root = tmp_path_factory.mktemp("sched")
    first = plain_refresh(str(root), str(CMS), ["pfs"])
    return root, first


def test_first_refresh_says_what_it_added(refreshed):
    root, first = refreshed
    assert first["changed"] is True and first["status"] == "published"
    assert first["releases_added"] == ["pfs/2025-D", "pfs/2026-B"]
    counts = {r["release"]: r for r in first["changes"]["counts"]["pfs"]}
    assert counts["2025-D"]["from_release"] is None and counts["2025-D"]["counts"] == {}
    b = counts["2026-B"]
    assert b["from_release"] == "2025-D"
    # the same counts, computed here from the loaded RVU files without the SQL under test
    old = {(h, m) for h, m in query(root, "SELECT hcpcs, modifier FROM pfs_rvu WHERE release = '2025-D'")}
    new = {(h, m) for h, m in query(root, "SELECT hcpcs, modifier FROM pfs_rvu WHERE release = '2026-B'")}
    assert b["counts"]["procedures"] == {"added": len(new - old), "deleted": len(old - new)}
    fees = {}
    for rel, h, m, nf, f in query(root, "SELECT release, hcpcs, modifier, nonfacility_amount, facility_amount FROM pfs_payment "
                                        "WHERE locality = 'national'"):
        fees.setdefault(rel, {})[(h, m)] = (nf, f)
    changed = sum(1 for k, v in fees["2026-B"].items() if k in fees["2025-D"] and fees["2025-D"][k] != v)
    assert b["counts"]["national amounts"] == {"changed": changed}


def test_second_refresh_changes_nothing_and_builds_nothing(refreshed):
    root, first = refreshed
    builds = sorted(p.name for p in (root / "warehouse" / "builds").iterdir())
    current = os.readlink(root / "warehouse" / "current")
    again = plain_refresh(str(root), str(CMS), ["pfs"])
    assert again["changed"] is False and again["status"] == "unchanged"
    assert again["build_id"] == first["build_id"] and again["releases_added"] == [] and again["changes"] is None
    assert all(line.endswith("(reused parse)") for line in again["loaded"])
    assert os.readlink(root / "warehouse" / "current") == current
    assert sorted(p.name for p in (root / "warehouse" / "builds").iterdir()) == builds
    assert again["seconds"]["build"] < first["seconds"]["build"]
    # the ledger, in SQL through the published warehouse: both runs, though only the first built anything
    rows = query(root, "SELECT status, changed, releases_added, build_id, datasets FROM refresh_runs ORDER BY started_at")
    assert [r[:2] for r in rows[-2:]] == [("published", True), ("unchanged", False)]
    assert rows[-2][2] == ["pfs/2025-D", "pfs/2026-B"] and rows[-1][3] == first["build_id"] and rows[-1][4] == ["pfs"]


def test_cli_refresh_json_and_terminal_say_nothing_changed(refreshed, monkeypatch):
    root, first = refreshed
    r = run_cli(["refresh", "--mirror", str(CMS), "--dataset", "pfs", "--data-dir", str(root), "--json"], monkeypatch)
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert (out["ok"], out["changed"], out["status"], out["build_id"]) == (True, False, "unchanged", first["build_id"])
    r = run_cli(["refresh", "--mirror", str(CMS), "--dataset", "pfs", "--data-dir", str(root)], monkeypatch)
    assert r.exit_code == 0 and "nothing changed" in r.stdout


def test_a_failed_refresh_is_in_the_ledger(refreshed, monkeypatch, tmp_path):
    root, first = refreshed
    (tmp_path / "empty").mkdir()
    r = run_cli(["refresh", "--mirror", str(tmp_path / "empty"), "--dataset", "pfs", "--data-dir", str(root)], monkeypatch)
    assert r.exit_code == 1
    last = query(root, "SELECT status, changed, error, build_id FROM refresh_runs ORDER BY started_at DESC LIMIT 1")[0]
    assert last[:2] == ("failed", False) and "nothing was fetched" in last[2] and last[3] == first["build_id"]


def test_status_json_and_exit_code(refreshed, monkeypatch):
    root, _ = refreshed
    r = run_cli(["status", "--data-dir", str(root), "--dataset", "pfs", "--json", "--as-of", "2026-11-30"], monkeypatch)
    assert r.exit_code == 1  # 2026-D is in effect and not in the mirror
    pfs = json.loads(r.stdout)["datasets"][0]
    assert (pfs["in_effect"]["release"], pfs["in_effect_loaded"], pfs["newest_loaded"]["release"]) == ("2026-D", False, "2026-B")
    assert pfs["last_run"]["status"] in ("unchanged", "failed", "published")
    r = run_cli(["status", "--data-dir", str(root), "--dataset", "pfs", "--json", "--as-of", "2026-05-01"], monkeypatch)
    assert r.exit_code == 0 and json.loads(r.stdout)["datasets"][0]["in_effect_loaded"] is True
    r = run_cli(["status", "--data-dir", str(root), "--dataset", "nope"], monkeypatch)
    assert r.exit_code == 2


def test_code_pages_reused_when_their_inputs_did_not_change(tmp_path):
    """A new PFS release that no ICD-10-CM release's first day uses leaves the code pages as they were: the next
    build links the previous build's files instead of computing them again."""
    from codeetl.build.pipeline import CODE_PAGE_CACHE

    root = tmp_path / "data"
    lines = []
    plain_refresh(str(root), str(CMS), ["icd10cm", "pfs"], ["2024", "2025-D"], notify=lines.append)
    first = root / "warehouse" / "current" / "parquet" / "code_page" / "icd10cm_release=2024" / "code_page.parquet"
    inode = first.stat().st_ino
    assert any(line.endswith("(1 of 1)") for line in lines)
    lines.clear()
    second = plain_refresh(str(root), str(CMS), ["icd10cm", "pfs"], ["2024", "2025-D", "2026-B"], notify=lines.append)
    assert second["changed"] and second["releases_added"] == ["pfs/2026-B"]
    assert "build: code pages of ICD-10-CM 2024 (1 of 1): unchanged, reused" in lines
    again = root / "warehouse" / "current" / "parquet" / "code_page" / "icd10cm_release=2024" / "code_page.parquet"
    assert again.stat().st_ino == inode  # the same file, linked
    rows = query(root, f"SELECT count(*) FROM read_parquet('{again}')")[0][0]
    assert rows == query(root, "SELECT count(*) FROM icd10cm_codes WHERE release = '2024'")[0][0] == 74_044
    assert len(list((root / "warehouse" / CODE_PAGE_CACHE).glob("*.parquet"))) == 1
