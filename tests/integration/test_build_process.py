"""The build, and each parse, run in a process of their own (:mod:`codeetl.build.isolate`): the real ``codeetl
refresh`` (supervisor, worker, Prefect flow) starts them from the worker and reports the build's pid and peak memory
in the summary; such a process that dies alone is one line with what to do, the previous warehouse kept and nothing
left behind.

Small builds (GEMs, then one fee schedule) on the session's Prefect server, as in test_faults.py; no durations are
asserted (the build's memory is measured by bench/bench.py).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

import faultkit as fk
from _shared import CMS, needs_mirror
from test_faults import alive, descendants, pfs_zip_mirror, published, wait_for_stage

pytestmark = needs_mirror


@pytest.fixture(scope="module")
def gems(tmp_path_factory) -> tuple[Path, dict]:
    """A data folder with a GEMs-only warehouse built by the real command with --json, and its summary."""
    root = tmp_path_factory.mktemp("build-process") / "data"
    r = fk.run_command(["refresh", "--data-dir", str(root), "--mirror", str(CMS), "--dataset", "gems", "--json"])
    assert r.exit_code == 0, r.output
    return root, json.loads(r.stdout)


def test_the_build_runs_in_a_child_process_whose_peak_memory_is_reported(gems):
    _, summary = gems
    assert summary["status"] == "published"
    process = summary["build_process"]
    assert process["pid"] != process["parent"]  # not the worker that ran the flow
    assert process["peak_rss_mib"] > 0


def _child(worker: int, target: str) -> int:
    """The pid of the worker's child process running `target` (``python -m codeetl.build.isolate <fd> <target>``)."""
    for pid in descendants(worker):
        try:
            parent = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if parent == worker and b"codeetl.build.isolate" in cmdline and target.encode() in cmdline:
            return pid
    raise AssertionError(f"no {target} process below the worker {worker}")


@pytest.mark.parametrize("stage, target, what", [
    ("build", "codeetl.build.pipeline:build_warehouse", "the build process"),
    ("parse", "codeetl.build.pipeline:parse_release_cached", "the parse process of pfs/2025-D"),
])
def test_a_child_process_killed_alone_is_one_line_and_the_previous_warehouse_stays(gems, tmp_path, stage, target,
                                                                                  what):
    root = tmp_path / "data"  # a copy: each case parses and builds as the first to add pfs/2025-D
    shutil.copytree(gems[0], root, symlinks=True)
    before = published(root)
    marks = tmp_path / "stages.txt"
    args = ["refresh", "--data-dir", str(root), "--mirror", str(pfs_zip_mirror(tmp_path)), "--dataset", "pfs"]
    p = fk.codeetl_process(args, fk.command_env(CODEETL_STAGE_FILE=str(marks), CODEETL_PAUSE_AT=stage),
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wait_for_stage(p, marks, stage)  # the child waits there, half its work done
    child = _child(fk.lock_holder(root), target)
    below = descendants(p.pid)
    os.kill(child, signal.SIGKILL)
    _, stderr = p.communicate(timeout=fk.COMMAND_DEADLINE)
    msg = " ".join(stderr.split())
    assert p.returncode == 1, stderr
    assert f"{what} (pid {child}) was killed by SIGKILL before it finished" in msg
    assert "the previous warehouse (if any) is unchanged" in msg and "run the refresh again" in msg
    assert "Traceback" not in stderr
    assert published(root) == before
    assert fk.leftovers(root) == []  # no half-built folder or half-written parse, no lock
    end = time.monotonic() + 30  # a deadline against a hang only
    while any(alive(c) for c in below) and time.monotonic() < end:
        time.sleep(0.1)
    assert not [c for c in below if alive(c)]


@pytest.mark.parametrize("sig, code", [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_a_signal_to_the_command_during_the_build_stops_the_build_process_too(gems, tmp_path, sig, code):
    """SIGTERM or SIGINT to the command while the build process builds: the worker stops it (it removes its half-built
    folder), the command exits 128 + the signal, no process is left, nothing half-written, the warehouse kept."""
    root = tmp_path / "data"
    shutil.copytree(gems[0], root, symlinks=True)
    before = published(root)
    marks = tmp_path / "stages.txt"
    args = ["refresh", "--data-dir", str(root), "--mirror", str(pfs_zip_mirror(tmp_path)), "--dataset", "pfs"]
    p = fk.codeetl_process(args, fk.command_env(CODEETL_STAGE_FILE=str(marks), CODEETL_PAUSE_AT="build"),
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wait_for_stage(p, marks, "build")
    child = _child(fk.lock_holder(root), "codeetl.build.pipeline:build_warehouse")
    below = descendants(p.pid)
    p.send_signal(sig)
    _, stderr = p.communicate(timeout=fk.COMMAND_DEADLINE)
    assert p.returncode == code, stderr
    assert "nothing half-written is left" in " ".join(stderr.split())
    end = time.monotonic() + 30  # a deadline against a hang only
    while any(alive(c) for c in below) and time.monotonic() < end:
        time.sleep(0.1)
    assert child in below and not [c for c in below if alive(c)]
    assert published(root) == before
    assert fk.leftovers(root) == []
