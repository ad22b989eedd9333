"""Running codeetl as a user starts it (``python3 run.py …``) and finding what it left running.

Every process a test starts carries ``CODEETL_TEST_MARK=<marker>`` in its environment, and so does everything
it starts in turn (uv, codeetl, its worker, Prefect's servers and flow-run processes inherit it), so
:func:`marked` finds them by walking /proc, wherever they were reparented, without relying on names.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

REPO = Path(__file__).resolve().parents[1]
MARK = "CODEETL_TEST_MARK"
T = TypeVar("T")


def user_env(home: Path, **extra: str) -> tuple[dict[str, str], str]:
    """An environment like a user's on a fresh machine: a fresh HOME (and Prefect's home in it), nothing of the
    test run's Prefect or codeetl settings, and a new marker. Returns (env, marker)."""
    marker = uuid.uuid4().hex
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "CODEETL_"))}
    home.mkdir(parents=True, exist_ok=True)
    env.update(HOME=str(home), PREFECT_HOME=str(home / ".prefect"), **{MARK: marker}, **extra)
    return env, marker


def run_py(args: list[str], env: dict[str, str], log: Path, **popen) -> subprocess.Popen:
    """Start ``python3 run.py <args>`` from the repository, stdout and stderr to `log` (stderr to `log`.err)."""
    out, err = open(log, "wb"), open(log.with_suffix(log.suffix + ".err"), "wb")
    return subprocess.Popen([sys.executable, str(REPO / "run.py"), *args], env=env, cwd=REPO, stdout=out,
                            stderr=err, stdin=subprocess.DEVNULL, **popen)


def marked(marker: str) -> list[tuple[int, str]]:
    """The living processes (not zombies) carrying `marker`: (pid, command line)."""
    found = []
    needle = f"{MARK}={marker}".encode()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/environ", "rb") as f:
                if needle not in f.read().split(b"\0"):
                    continue
            with open(f"/proc/{entry}/stat", "rb") as f:
                if f.read().rsplit(b")", 1)[-1].split()[0] in (b"Z", b"X"):
                    continue
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                found.append((int(entry), f.read().replace(b"\0", b" ").decode("utf-8", "replace").strip()))
        except OSError:
            continue
    return found


def listening(port: int) -> bool:
    """True when a TCP socket listens on `port` (any address), from /proc/net/tcp and tcp6."""
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:
                return True
    return False


def free_port() -> int:
    """A TCP port nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(check: Callable[[], T], limit: float, what: str, every: float = 0.2) -> T:
    """Call `check` until it returns something true, at most `limit` seconds (a guard against hangs, not a
    timing assertion); returns that value, or fails naming `what`."""
    end = time.monotonic() + limit
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > end:
            raise AssertionError(f"not within {limit:.0f} s: {what}")
        time.sleep(every)


def kill_marked(marker: str) -> None:
    """SIGKILL every process still carrying `marker` (a test's cleanup after a failure: nothing it started may
    outlive it)."""
    for pid, _ in marked(marker):
        try:
            os.kill(pid, 9)
        except OSError:
            pass
