"""No process outlives a refresh: the refresh runs in a worker process that dies with the command.

``codeetl refresh`` (the supervisor) starts the same command again as a worker (``CODEETL_REFRESH_WORKER=1``)
and waits for it. Linux only; elsewhere the refresh runs in-process.

- **SIGTERM or SIGINT to the command** is forwarded to the worker, which stops every thread
  (:mod:`codeetl.sources.interrupt`) and unwinds: temporary downloads, extractions and the half-built
  warehouse are removed, the lock is released, Prefect's temporary API server is stopped. A worker still
  running :data:`GRACE` seconds later is killed, and the supervisor cleans up after it.
- **``kill -9`` of the command**: the worker gets SIGTERM from the kernel (``PR_SET_PDEATHSIG``) and unwinds
  the same way; a watchdog thread that sees the parent gone stops it the hard way :data:`GRACE` seconds later
  (its processes killed, the data folder cleaned, the lock removed).
- **The worker dies** (the out-of-memory killer, a crash): the supervisor says so in one line with what to do,
  removes what it left half-written and exits 1.
- The supervisor is a child subreaper (``PR_SET_CHILD_SUBREAPER``): whatever the worker leaves running is
  reparented to it and killed.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

from codeetl.errors import command
from codeetl.sources.interrupt import STOP, Terminated, stop_on_signals

__all__ = ["GRACE", "Terminated", "WORKER_ENV", "die_with_parent", "exit_now", "is_supervised_worker", "is_worker",
           "run_supervised", "worker"]

WORKER_ENV = "CODEETL_REFRESH_WORKER"
SUPERVISOR_ENV = "CODEETL_REFRESH_SUPERVISOR"  # the supervisor's pid, for the worker's watchdog
GRACE = 5.0  # seconds a stopped worker gets to unwind before it is killed
_PR_SET_PDEATHSIG = 1
_PR_SET_CHILD_SUBREAPER = 36


def _prctl(option: int, value: int) -> bool:
    import ctypes

    try:
        return ctypes.CDLL(None, use_errno=True).prctl(option, value, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def is_worker() -> bool:
    """True in the worker process of a supervised refresh."""
    return os.environ.get(WORKER_ENV) == "1"


def die_with_parent(sig: int = signal.SIGTERM) -> Callable[[], None] | None:
    """A ``preexec_fn`` for :class:`subprocess.Popen` that has the kernel send `sig` to the child when this
    process dies, even by ``kill -9`` (Linux; None elsewhere). Popen from the main thread: the kernel ties it
    to the thread that started the child."""
    if not sys.platform.startswith("linux"):
        return None
    parent = os.getpid()

    def preexec() -> None:
        """In the child, between fork and exec: ask for `sig` when the parent dies."""
        _prctl(_PR_SET_PDEATHSIG, sig)
        if os.getppid() != parent:  # the parent died before the request took effect
            os._exit(128 + sig)

    return preexec


def is_supervised_worker() -> bool:
    """True in a worker started by :func:`run_supervised` (not in a test that sets ``CODEETL_REFRESH_WORKER=1``
    to refresh in its own process)."""
    return is_worker() and os.environ.get(SUPERVISOR_ENV, "").isdigit()


def exit_now(code: int) -> None:
    """End this process with `code` at once: the exit handlers run (Prefect stops its temporary API server
    there) and the output is flushed, but the interpreter's teardown is skipped — seconds of garbage collection
    of Prefect's modules on a busy machine, for a process about to end anyway. Does not return."""
    import atexit

    try:
        atexit._run_exitfuncs()
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                stream.flush()
    finally:
        os._exit(code)


def set_parent_death_signal(sig: int) -> bool:
    """Ask the kernel to send this process `sig` when its parent dies (Linux ``PR_SET_PDEATHSIG``); returns
    False where that is not available."""
    return sys.platform.startswith("linux") and _prctl(_PR_SET_PDEATHSIG, sig)


def run_supervised(argv: list[str], root: Path, report: Callable[[str], None]) -> int | None:
    """Run ``python -m codeetl <argv>`` as the worker (refreshing the data folder `root`) and wait; returns its
    exit status: its own, 128 + the signal when this process was told to stop, 1 when it died (`report` gets
    the one line that says so). Returns None when this process should do the refresh itself: it is the worker
    already, or the platform has no prctl."""
    if is_worker() or not sys.platform.startswith("linux") or not _prctl(_PR_SET_CHILD_SUBREAPER, 1):
        return None
    published = _published(root)
    env = {**os.environ, WORKER_ENV: "1", SUPERVISOR_ENV: str(os.getpid())}
    child = subprocess.Popen([sys.executable, "-m", "codeetl", *argv], env=env, preexec_fn=die_with_parent())
    got: list[int] = []

    def forward(signum: int, frame) -> None:
        """Pass a stop signal on to the worker (once: a second Ctrl-C changes nothing)."""
        if not got:
            got.append(signum)
            _signal(child.pid, signum)

    previous = {s: signal.signal(s, forward) for s in (signal.SIGINT, signal.SIGTERM)  # an ignored one stays so
                if signal.getsignal(s) is not signal.SIG_IGN}
    try:
        code = _wait(child, got)
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
        _reap_orphans()
    if got and code in (-signal.SIGKILL, -got[0]):  # it did not unwind in time, or died of the signal itself
        _clean_after(root)
    if got:
        return 128 + got[0] if code < 0 else code
    if code < 0:
        cleaned = _clean_after(root)
        report(_death_line(child.pid, -code, cleaned, published != _published(root)))
        return 1
    return code


def _published(root: Path) -> str | None:
    """The build `root` publishes now (the target of ``warehouse/current``), or None."""
    try:
        return os.readlink(Path(root) / "warehouse" / "current")
    except OSError:
        return None


def _wait(child: subprocess.Popen, got: list[int]) -> int:
    """Wait for the worker; once a stop signal was forwarded, kill it if it has not ended within GRACE s."""
    stopped_at = None
    while True:
        try:
            return child.wait(timeout=0.2)
        except subprocess.TimeoutExpired:
            pass
        if got and stopped_at is None:
            stopped_at = time.monotonic()
        if stopped_at is not None and time.monotonic() - stopped_at > GRACE:
            _signal(child.pid, signal.SIGKILL)


def _death_line(pid: int, sig: int, cleaned: list[str], published: bool) -> str:
    """One line: how the worker died, what became of the warehouse, what to do."""
    try:
        name = signal.Signals(sig).name
    except ValueError:
        name = f"signal {sig}"
    why = ("the kernel's out-of-memory killer does this (see `dmesg`), as does `kill -9`; if it was memory, give "
           "the refresh more (a cold build needs about 1 GB)" if sig == signal.SIGKILL else
           "this is a crash: please report it with the command line")
    state = (f"it had published its new warehouse (`{command('status')}` shows it)" if published else
             "nothing was published and the previous warehouse (if any) is unchanged")
    tidy = "; its half-written files were removed" if any(n.startswith("removed") for n in cleaned) else ""
    return (f"the refresh worker (pid {pid}) was killed by {name} before it finished: {state}{tidy}. "
            f"{why[0].upper()}{why[1:]}; then run the refresh again.")


def _clean_after(root: Path) -> list[str]:
    """After a worker that did not unwind: take the refresh lock (which removes what it left half-written), mark
    its ledger row interrupted, remove the lock. Returns what the lock reported; [] when another refresh
    holds the lock now (it cleans up itself)."""
    from codeetl.build import ledger, pipeline
    from codeetl.errors import CodeEtlError

    try:
        with pipeline.refresh_lock(root) as notes:
            ledger.mark_interrupted(root)
            return notes
    except (CodeEtlError, OSError):
        return []


@contextlib.contextmanager
def worker(root: Path):
    """Run the refresh of `root` inside this: the first SIGTERM/SIGINT stops every thread and raises in the main
    one (:class:`Terminated` / KeyboardInterrupt), and, in a supervised worker, a watchdog stops the process
    the hard way (:func:`_hard_stop`) :data:`GRACE` seconds after the supervisor dies."""
    with stop_on_signals():
        if is_supervised_worker():
            _start_parent_watch(int(os.environ[SUPERVISOR_ENV]), root)
        yield


def die_with_parent_now(root: Path) -> None:
    """For a refresh of `root` in a process whose parent may die (a run started by serve's runner): the kernel
    sends SIGTERM when the parent dies, even by ``kill -9``, and the watchdog of :func:`worker` ends the
    process GRACE seconds later. Linux only; elsewhere nothing. Returns None."""
    parent = os.getppid()
    if parent > 1 and set_parent_death_signal(signal.SIGTERM):
        _start_parent_watch(parent, root)


def _start_parent_watch(parent: int, root: Path) -> None:
    threading.Thread(target=_watch_parent, args=(parent, root), daemon=True, name="codeetl-parent-watch").start()


def _watch_parent(parent: int, root: Path) -> None:
    """Wait until the supervisor `parent` is gone; then ask the main thread to stop and, GRACE seconds later,
    stop the hard way. Never returns (a daemon thread: it ends with the process)."""
    while os.getppid() == parent:
        time.sleep(0.1)
    if not STOP.is_set():  # the kernel's SIGTERM (PDEATHSIG) usually came first
        STOP.set()
        _signal(os.getpid(), signal.SIGTERM)
    time.sleep(GRACE)
    _hard_stop(root)


def _hard_stop(root: Path) -> None:
    """The parent is gone and this process did not end in time: kill every process below this one; if it still
    holds the refresh lock (it did not unwind), remove what the refresh left half-written and the lock, and
    mark the run interrupted; exit 143 at once (threads still running cannot finish anything). Does not
    return."""
    try:
        below = descendants(os.getpid())
        for pid in below:
            _signal(pid, signal.SIGTERM)
        end = time.monotonic() + 1
        while any(_alive(p) for p in below) and time.monotonic() < end:
            time.sleep(0.05)
        for pid in below:
            _signal(pid, signal.SIGKILL)
        from codeetl.build import ledger, pipeline

        if pipeline.holds_lock(root):  # else it unwound (or never started): the folder is not ours to clean
            pipeline.cleanup_leftovers(root)
            ledger.mark_interrupted(root)
            (Path(root) / pipeline.LOCK_NAME).unlink(missing_ok=True)
    finally:
        os._exit(143)


def _reap_orphans(grace: float = 3.0) -> None:
    """Stop the processes reparented to us (a worker's children it did not stop): SIGTERM, then SIGKILL."""
    pids = _children(os.getpid())
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
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, 0)


def _signal(pid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, sig)


def _processes() -> dict[int, tuple[str, int]]:
    """Every process as pid -> (state, parent pid), from /proc (state ``Z``: a zombie, dead but not reaped)."""
    out = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat", "rb") as f:
                    fields = f.read().decode("ascii", "replace").rsplit(")", 1)[-1].split()
                out[int(entry)] = (fields[0], int(fields[1]))
            except (OSError, IndexError, ValueError):
                continue
    return out


def _children(pid: int) -> list[int]:
    """Pids of `pid`'s children, zombies included (they need reaping)."""
    return [c for c, (_, parent) in _processes().items() if parent == pid]


def descendants(pid: int) -> list[int]:
    """Every living process below `pid` (children first), from /proc."""
    below: dict[int, list[int]] = {}
    for child, (state, parent) in _processes().items():
        if state != "Z":
            below.setdefault(parent, []).append(child)
    out, todo = [], [pid]
    while todo:
        for c in below.get(todo.pop(0), []):
            out.append(c)
            todo.append(c)
    return out


def _alive(pid: int) -> bool:
    """True while `pid` runs (not a zombie)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            return f.read().decode("ascii", "replace").rsplit(")", 1)[-1].split()[0] not in ("Z", "X")
    except (OSError, IndexError):
        return False
