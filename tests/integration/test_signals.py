"""Signals to ``python3 run.py refresh`` as a user (or a service manager) sends them, during a real download.

The refresh is the real command (supervisor, worker, Prefect flow with its temporary API server) on the real
GEMs files of ../shared/cms, paused at the first block of the first download (``CODEETL_PAUSE_AT=fetch``: it
waits there as a long download would, until it is stopped or killed). ``run.py`` replaces itself with the
command, so the process the test started is ``codeetl refresh`` itself. After each signal: the exit status,
one message, no process of the tree left (found by a marker in their environment, wherever they were
reparented), nothing half-written (lock, ``.part`` files, staging folders), the previous warehouse as it was.
Deadlines are guards against hangs, not timings.
"""

from __future__ import annotations

import signal
import subprocess
from pathlib import Path

import pytest

import faultkit as fk
from _shared import CMS
from proctree import kill_marked, marked, run_py, user_env, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.prefect]
GEMS = ["--mirror", str(CMS), "--dataset", "gems"]


@pytest.fixture(scope="module")
def home(tmp_path_factory) -> Path:
    """One fresh HOME for the module (Prefect creates its database in it once)."""
    return tmp_path_factory.mktemp("home")


@pytest.fixture
def markers():
    """The markers of the processes a test started: whatever still runs when it ends is killed (after a failure)."""
    started: list[str] = []
    yield started
    for marker in started:
        kill_marked(marker)


@pytest.fixture(scope="module")
def prev(home, tmp_path_factory) -> Path:
    """A data folder with a published warehouse of the GEMs, refreshed by ``python3 run.py refresh``."""
    root = tmp_path_factory.mktemp("prev") / "data"
    env, marker = user_env(home)
    log = root.parent / "refresh.log"
    p = run_py(["refresh", "--data-dir", str(root), *GEMS], env, log)
    assert p.wait(timeout=900) == 0, Path(f"{log}.err").read_text()[-3000:]
    assert marked(marker) == []
    return root


def start_paused(root: Path, home: Path, tmp_path: Path, markers: list[str]) -> tuple[subprocess.Popen, str, Path]:
    """``python3 run.py refresh`` of the GEMs into `root`, waiting at its first download block. Returns the
    process, its marker (also added to `markers`) and its log."""
    stages = tmp_path / "stages.txt"
    env, marker = user_env(home, CODEETL_STAGE_FILE=str(stages), CODEETL_PAUSE_AT="fetch")
    markers.append(marker)
    log = tmp_path / "refresh.log"
    p = run_py(["refresh", "--data-dir", str(root), *GEMS], env, log)

    def paused() -> bool:
        assert p.poll() is None, f"the refresh ended ({p.returncode}) before its first download:\n{stderr(log)}"
        return stages.exists() and "fetch" in stages.read_text().split()

    wait_for(paused, 600, "the refresh reaching its first download")
    assert list(root.rglob("*.part")), "a download is half-written now"
    return p, marker, log


def stderr(log: Path) -> str:
    return Path(f"{log}.err").read_text()


def assert_nothing_left(root: Path, marker: str, before: dict) -> None:
    """No process of the refresh runs (within a generous 20 s; by design GRACE = 5 s plus the kill), nothing
    half-written is left, the published warehouse is as it was."""
    wait_for(lambda: not marked(marker), 20, f"every process of the refresh gone (left: {marked(marker)})")
    assert fk.leftovers(root) == []
    assert fk.snapshot(root, "warehouse") == before


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)], ids=["SIGTERM", "SIGINT"])
def test_a_signal_to_run_py_refresh_stops_everything_during_a_download(prev, home, tmp_path, markers, sig, code):
    before = fk.snapshot(prev, "warehouse")
    p, marker, log = start_paused(prev, home, tmp_path, markers)
    p.send_signal(sig)
    assert p.wait(timeout=120) == code, stderr(log)
    assert "the refresh was interrupted; nothing half-written is left" in stderr(log)
    assert "Traceback" not in stderr(log)
    assert_nothing_left(prev, marker, before)


def test_kill_9_of_the_refresh_command_leaves_no_process_lock_or_part_file(prev, home, tmp_path, markers):
    """The worker gets SIGTERM from the kernel when the command dies (PR_SET_PDEATHSIG), stops its download
    thread, removes the .part file and its lock, stops Prefect's temporary server and ends."""
    before = fk.snapshot(prev, "warehouse")
    p, marker, log = start_paused(prev, home, tmp_path, markers)
    assert len(marked(marker)) >= 3, marked(marker)  # the command, its worker, Prefect's temporary server
    p.kill()
    assert p.wait(timeout=60) == -signal.SIGKILL
    assert_nothing_left(prev, marker, before)


def test_a_worker_killed_by_the_kernel_is_reported_in_one_line(prev, home, tmp_path, markers):
    """As the out-of-memory killer does: SIGKILL to the worker. The command says so in one line with what to do,
    cleans up after it (lock, .part, the ledger row) and exits 1; nothing runs on."""
    from codeetl.build import ledger

    before = fk.snapshot(prev, "warehouse")
    p, marker, log = start_paused(prev, home, tmp_path, markers)
    [worker] = [pid for pid, cmd in marked(marker) if "codeetl refresh" in cmd and pid != p.pid
                and _parent(pid) == p.pid]
    subprocess.run(["kill", "-KILL", str(worker)], check=True)
    assert p.wait(timeout=120) == 1, stderr(log)
    lines = [line for line in stderr(log).splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and f"refresh worker (pid {worker}) was killed by SIGKILL" in " ".join(stderr(log).split())
    assert "run the refresh again" in " ".join(stderr(log).split())
    assert_nothing_left(prev, marker, before)
    assert ledger.read_runs(prev)[-1]["status"] == "interrupted"


def _parent(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
