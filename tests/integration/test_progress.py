"""Progress of the long stages (issue 20, must-have 5), seen where users see it: the real ``codeetl refresh``
(supervisor, worker, Prefect flow on the session's Prefect server, the loopback HTTP mirror) draws rich progress
bars on a terminal, and every long stage is a Prefect progress artifact of its task run, read back from the
Prefect API."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import threading

import pytest
from _shared import needs_mirror

import faultkit

pytestmark = [needs_mirror, pytest.mark.slow]


def _refresh_on_a_terminal(args: list[str]) -> tuple[int, str, str]:
    """``codeetl <args>`` with stderr on a pseudo-terminal (stdout a pipe, for --json): (exit code, stdout,
    everything written to the terminal)."""
    master, slave = pty.openpty()
    p = faultkit.codeetl_process(args, stdout=subprocess.PIPE, stderr=slave, text=True)
    os.close(slave)
    chunks: list[bytes] = []

    def drain() -> None:
        while True:
            try:
                data = os.read(master, 65536)
            except OSError:  # the terminal's last writer is gone
                return
            if not data:
                return
            chunks.append(data)

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    try:
        stdout, _ = p.communicate(timeout=faultkit.COMMAND_DEADLINE)
    finally:
        p.kill()
        reader.join(timeout=30)
        os.close(master)
    return p.returncode, stdout, b"".join(chunks).decode("utf-8", "replace")


def test_refresh_shows_progress_bars_and_records_progress_artifacts(prefect_api, cms_server, tmp_path):
    code, stdout, terminal = _refresh_on_a_terminal(
        ["refresh", "--mirror", cms_server.url, "--data-dir", str(tmp_path), "--dataset", "icd10cm",
         "--release", "2026", "--json"])
    assert code == 0, terminal[-3000:]
    summary = json.loads(stdout)
    assert summary["ok"] and summary["changed"]
    # the terminal: a bar per long stage, counted in steps (the build has 5), beside the one-line messages
    assert "build: loading" in terminal and "steps" in terminal and "Prefect API server: ready" in terminal
    assert "fetch and parse icd10cm" in terminal and "5/5 steps" in terminal and "━" in terminal
    # Prefect: one progress artifact per long stage, on the run's task runs, finished at 100 % and moved on
    # during the run (updated after it was created)
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId, ArtifactFilterKey

    with get_client(sync_client=True) as client:
        builds = [a for a in client.read_artifacts(artifact_filter=ArtifactFilter(
            key=ArtifactFilterKey(any_=["codeetl-build"]))) if a.description == f"build: {summary['build_id']} complete"]
        assert len(builds) == 1  # this refresh's build: its last step names the build published
        build = builds[0]
        assert build.type == "progress" and float(build.data) == 100.0 and build.updated > build.created
        same_run = client.read_artifacts(artifact_filter=ArtifactFilter(
            flow_run_id=ArtifactFilterFlowRunId(any_=[build.flow_run_id])))
        fetch = [a for a in same_run if a.key == "codeetl-fetch-parse-icd10cm"]
        assert len(fetch) == 1 and fetch[0].type == "progress" and float(fetch[0].data) == 100.0
        assert fetch[0].description == "fetch and parse icd10cm: 1 loaded, 0 skipped"
        # each on its own task run (the server runs without services: task runs themselves are not recorded)
        assert build.task_run_id and fetch[0].task_run_id and build.task_run_id != fetch[0].task_run_id


def test_refresh_off_a_terminal_prints_one_line_per_stage_and_no_bars(prefect_api, cms_server, tmp_path):
    r = faultkit.run_cli(["refresh", "--mirror", cms_server.url, "--data-dir", str(tmp_path), "--dataset", "icd10cm",
                          "--release", "2026"])
    assert r.exit_code == 0, r.stderr[-3000:]
    lines = r.stderr.splitlines()
    for stage in ("build: loading", "build: deriving", "build: quality gates", "build: code pages of ICD-10-CM 2026"):
        assert sum(stage in line for line in lines) == 1, stage
    assert "━" not in r.stderr and "\x1b[" not in r.stderr and "steps" not in r.stderr
