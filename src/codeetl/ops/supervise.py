"""No process outlives a refresh: the refresh runs in a worker process that dies with the command.

``codeetl refresh`` (the supervisor) starts the same command again as a worker
(``CODEETL_REFRESH_WORKER=1``) and waits for it. The worker asks the kernel for SIGTERM when its parent
dies (``PR_SET_PDEATHSIG``), and turns SIGTERM into an ordinary exception, so a ``kill -9`` of the command
still unwinds the worker: temporary downloads, extractions and the half-built warehouse are removed, the
lock is released and Prefect's ephemeral API server (a grandchild process) is stopped. The supervisor is a
child subreaper (``PR_SET_CHILD_SUBREAPER``): whatever the worker leaves running when it ends is
reparented to it and killed. Linux only; elsewhere the refresh runs in-process as before.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

WORKER_ENV = "CODEETL_REFRESH_WORKER"
_PR_SET_PDEATHSIG = 1
_PR_SET_CHILD_SUBREAPER = 36


class Terminated(BaseException):
    """The worker was told to stop (SIGTERM: the supervisor died, or someone asked)."""


def _prctl(option: int, value: int) -> bool:
    import ctypes

    try:
        return ctypes.CDLL(None, use_errno=True).prctl(option, value, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def is_worker() -> bool:
    """True in the worker process of a supervised refresh."""
    return os.environ.get(WORKER_ENV) == "1"


def run_supervised(argv: list[str]) -> int | None:
    """Run ``python -m codeetl <argv>`` as the worker and wait; returns its exit status (128 + signal
    when a signal ended it). Returns None when this process should do the refresh itself: it is the
    worker already, or the platform has no prctl."""
    if is_worker() or not sys.platform.startswith("linux"):
        return None
    if not _prctl(_PR_SET_CHILD_SUBREAPER, 1):
        return None
    parent = os.getpid()

    def die_with_parent() -> None:
        """In the child, between fork and exec: ask the kernel for SIGTERM when the parent dies (Linux prctl)."""
        _prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
        if os.getppid() != parent:  # the parent died before the request took effect
            os._exit(143)

    env = {**os.environ, WORKER_ENV: "1"}
    child = subprocess.Popen([sys.executable, "-m", "codeetl", *argv], env=env, preexec_fn=die_with_parent)
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the worker, which cleans up
    try:
        """In the child before exec: ask the kernel to send SIGTERM when the parent dies (Linux prctl)."""
        code = child.wait()
    finally:
        signal.signal(signal.SIGINT, previous)
        _reap_orphans()
    return 128 - code if code < 0 else code


def _reap_orphans(grace: float = 5.0) -> None:
    """Stop the processes reparented to us (a worker's children it did not stop): SIGTERM, then SIGKILL."""
    pids = _children()
    for pid in pids:
        _signal(pid, signal.SIGTERM)
    end = time.monotonic() + grace
    while pids and time.monotonic() < end:
        for pid in list(pids):
            try:
                done, _ = os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                done = pid
            if done:
                pids.remove(pid)
        time.sleep(0.05)
    for pid in pids:
        _signal(pid, signal.SIGKILL)
        try:
            os.waitpid(pid, 0)
        except ChildProcessError:
            pass


def _signal(pid: int, sig: int) -> None:
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass


def _children() -> list[int]:
    """Pids of this process's children, from /proc."""
    me, out = os.getpid(), []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                stat = f.read().decode("ascii", "replace")
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[-1].split()
        if len(fields) > 1 and fields[1] == str(me):
            out.append(int(entry))
    return out


def raise_on_sigterm() -> None:
    """Make SIGTERM raise :class:`Terminated` in the main thread, so cleanup code runs. Returns None."""
    def handler(signum, frame):
        """Turn SIGTERM into Terminated, so the refresh unwinds and cleans up."""
        raise Terminated()

    signal.signal(signal.SIGTERM, handler)
