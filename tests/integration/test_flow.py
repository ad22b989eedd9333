"""The Prefect refresh flow called as a function (as `codeetl serve`'s deployments run it) against the loopback
HTTP mirror, on the session's Prefect server (conftest ``prefect_api``)."""

from __future__ import annotations

import duckdb
import pytest
from _shared import needs_mirror

pytestmark = [needs_mirror, pytest.mark.slow, pytest.mark.prefect]


def test_refresh_flow_builds_and_reuses_parses(prefect_api, cms_server, tmp_path):
    from codeetl.ops.flow import refresh

    summary = refresh(root=str(tmp_path), mirror=cms_server.url, datasets=["icd10cm"])
    assert "icd10cm/2026-04 (parsed)" in summary["loaded"]
    # a release is skipped exactly when the mirror has no folder for it
    from _shared import CMS

    skipped = {s.split(":")[0] for s in summary["skipped"]}
    assert skipped and all(not (CMS / s).is_dir() for s in skipped)
    con = duckdb.connect(summary["database"], read_only=True)
    # CMS's published FY2026 total; the April 2026 update added no codes (../shared/cms/README.md)
    assert con.execute("SELECT count(*) FROM icd10cm_codes WHERE release = '2026-04' AND is_billable").fetchone()[0] == 74_719
    con.close()
    assert summary["changed"] is True and "icd10cm/2026-04" in summary["releases_added"]
    again = refresh(root=str(tmp_path), mirror=cms_server.url, datasets=["icd10cm"])
    assert "icd10cm/2026-04 (reused parse)" in again["loaded"]
    assert again["changed"] is False and again["build_id"] == summary["build_id"]  # nothing changed: nothing built
    con = duckdb.connect(again["database"], read_only=True)  # the ledger has both runs, with Prefect's flow run ids
    runs = con.execute("SELECT status, run_id FROM refresh_runs ORDER BY started_at").fetchall()
    con.close()
    assert [r[0] for r in runs] == ["published", "unchanged"] and all(len(r[1]) == 36 for r in runs)
    assert [r[1] for r in runs] == [summary["run_id"], again["run_id"]]
    # what each run did, as the flow run's markdown artifact (README: key codeetl-refresh)
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

    with get_client(sync_client=True) as client:
        arts = client.read_artifacts(artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=["codeetl-refresh"])))
    by_run = {str(a.flow_run_id): a.data for a in arts}
    assert by_run[summary["run_id"]].startswith(f"# codeetl refresh: new build {summary['build_id']}")
    assert "icd10cm/2026-04" in by_run[summary["run_id"]]
    assert by_run[again["run_id"]].startswith("# codeetl refresh: nothing changed")


def test_refresh_flow_failure_keeps_previous_warehouse(prefect_api, tmp_path):
    """A good refresh, then one whose source is broken: the flow fails and the first build stays current."""
    import os
    import shutil

    from codeetl.ops.flow import refresh

    from _shared import CODES_2024
    from codeetl.errors import SourceFormatError

    mirror = tmp_path / "mirror" / "icd10cm" / "2024"
    mirror.mkdir(parents=True)
    shutil.copy(CODES_2024, mirror / CODES_2024.name)
    good = refresh(root=str(tmp_path / "data"), mirror=str(tmp_path / "mirror"), datasets=["icd10cm"])
    current = os.readlink(tmp_path / "data" / "warehouse" / "current")
    (mirror / CODES_2024.name).write_text("A000    Cholera\nnot a code line\n")
    with pytest.raises(SourceFormatError, match="line 2"):
        refresh(root=str(tmp_path / "data"), mirror=str(tmp_path / "mirror"), datasets=["icd10cm"])
    assert os.readlink(tmp_path / "data" / "warehouse" / "current") == current == f"builds/{good['build_id']}"
    con = duckdb.connect(good["database"], read_only=True)
    assert con.execute("SELECT count(*) FROM icd10cm_valid_codes").fetchone()[0] == 74_044
    con.close()
    (tmp_path / "empty").mkdir()
    with pytest.raises(RuntimeError, match="nothing was fetched"):
        refresh(root=str(tmp_path / "data2"), mirror=str(tmp_path / "empty"), datasets=["icd10cm"])
