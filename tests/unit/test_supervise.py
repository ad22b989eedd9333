"""The refresh worker's last resort (codeetl.ops.supervise): when its supervisor is killed and the worker cannot
unwind (its main thread stuck where no signal reaches it, as in a long call into C), the watchdog stops it the
hard way: its child processes killed, what it half-wrote removed, its lock removed, exit 143.

Real processes on a temporary folder, no warehouse and no network: a stand-in supervisor starts a worker the
way :func:`codeetl.ops.supervise.run_supervised` does (environment, PR_SET_PDEATHSIG); the worker takes the
refresh lock, half-writes a file, starts a child (as Prefect's temporary server is), then blocks SIGTERM and
SIGINT in its main thread and sleeps. The test kills the stand-in supervisor with SIGKILL.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap

import pytest

from proctree import kill_marked, marked, user_env, wait_for

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the supervisor is Linux only (prctl)")

WORKER = textwrap.dedent("""
    import pathlib, signal, subprocess, sys, time
    from codeetl.build import pipeline
    from codeetl.ops import supervise

    root = pathlib.Path(sys.argv[1])
    with supervise.worker(root), pipeline.refresh_lock(root):
        part = root / "raw" / "gems" / "2018" / ".incoming" / ".2018_I9gem.txt.x.part"
        part.parent.mkdir(parents=True)
        part.write_text("half a download")
        subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
        print("ready", flush=True)
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM, signal.SIGINT})
        time.sleep(600)  # stuck: no signal handler runs in this thread any more
""")

SUPERVISOR = textwrap.dedent("""
    import os, subprocess, sys
    from codeetl.ops import supervise

    env = {**os.environ, supervise.WORKER_ENV: "1", supervise.SUPERVISOR_ENV: str(os.getpid())}
    worker = subprocess.Popen([sys.executable, "-c", sys.argv[1], sys.argv[2]], env=env,
                              preexec_fn=supervise.die_with_parent())
    worker.wait()
""")


def test_a_stuck_worker_whose_supervisor_was_killed_is_stopped_the_hard_way(tmp_path):
    root = tmp_path / "data"
    env, marker = user_env(tmp_path / "home")
    sup = subprocess.Popen([sys.executable, "-c", SUPERVISOR, WORKER, str(root)], env=env, stdout=subprocess.PIPE,
                           text=True)
    try:
        stopped_the_hard_way(sup, root, marker)
    finally:
        kill_marked(marker)


def stopped_the_hard_way(sup: subprocess.Popen, root, marker: str) -> None:
    assert sup.stdout.readline().strip() == "ready"
    # the supervisor, the worker, the worker's child (just forked: on a busy machine it may take a moment to
    # show in /proc with its environment)
    wait_for(lambda: len(marked(marker)) == 3, 30, f"three processes of the test (seen: {marked(marker)})")
    assert (root / ".refresh.lock").exists() and list(root.rglob("*.part"))
    sup.send_signal(signal.SIGKILL)
    assert sup.wait(timeout=30) == -signal.SIGKILL
    wait_for(lambda: not marked(marker), 60, f"the worker and its child gone (left: {marked(marker)})")
    assert not (root / ".refresh.lock").exists()
    assert list(root.rglob("*.part")) == [] and list(root.rglob(".incoming")) == []
