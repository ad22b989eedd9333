"""The build, and each parse, in a process of its own: :func:`build_in_child` runs
:func:`codeetl.build.pipeline.build_warehouse` and :func:`parse_in_child`
:func:`codeetl.build.pipeline.parse_release_cached`, each in a fresh Python (``python -m codeetl.build.isolate``)
started from scratch (not forked). A child carries only what its step imports (DuckDB and the build code; polars
and one dataset's parser) — not the refresh's Prefect client, its threads or another step's leftovers — and gives
all its memory back when it ends. The refresh's worker so stays at about its Prefect's size while the build runs
beside it (README "Memory").

A child and its caller talk over a pipe (:class:`multiprocessing.connection.Connection`, pickled messages): the
request goes down; progress comes up as it happens — each ``notify`` line and each :mod:`codeetl.build.progress`
step is replayed on the caller's callbacks, so the terminal and Prefect see what an in-process step shows — then
the return value or the error, which the caller raises as its own (same class, same one-line message).

- A stop (SIGTERM, SIGINT) of the caller: its wait is interrupted, the child gets SIGTERM and unwinds (its
  half-written files removed), killed after :data:`GRACE` seconds if it has not ended.
- The caller dies (even by ``kill -9``): the kernel kills the child (``PR_SET_PDEATHSIG``), as if the step had
  run inside it; what it left is removed under the refresh lock, as for any killed refresh.
- The child dies alone (the out-of-memory killer, ``kill -9``): one :class:`WarehouseError` line saying so and
  what to do; its half-written files are removed, and nothing was published.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import shutil
import signal
import subprocess
import sys
import threading
from multiprocessing.connection import Connection
from pathlib import Path

from codeetl.errors import WarehouseError

PARENT_ENV = "CODEETL_BUILD_PARENT"  # the pid the child must die with
GRACE = 3.0  # seconds a stopped build gets to remove its folder before it is killed


class ChildDied(Exception):
    """A child process ended without an answer (killed, crashed): its pid and exit status."""

    def __init__(self, pid: int, code: int):
        super().__init__(pid, code)
        self.pid, self.code = pid, code


def run_in_child(target: str, kwargs: dict, notify=None, progress=None) -> tuple[object, dict]:
    """Call `target` (``"module:function"``) with `kwargs` (pickled) in a fresh process, `notify` and `progress` passed
    on as callbacks when given. Returns (its return value, the process: pid, parent, peak_rss_mib); raises what it
    raised, or :class:`ChildDied`."""
    from codeetl.sources import interrupt

    read, write = os.pipe()
    try:
        child = subprocess.Popen([sys.executable, "-m", "codeetl.build.isolate", str(write), target],
                                 stdin=subprocess.PIPE, pass_fds=(write,),
                                 env={**os.environ, PARENT_ENV: str(os.getpid())})
    finally:
        os.close(write)
    conn = Connection(read)
    try:
        with contextlib.suppress(BrokenPipeError):  # it ended at once: its exit status says how
            child.stdin.write(pickle.dumps({"target": target, "kwargs": kwargs, "notify": notify is not None,
                                            "progress": progress is not None}))
            child.stdin.close()
        reply = _relay(conn, notify, progress)
        code = child.wait()
    finally:
        conn.close()
        _stop(child)
    if isinstance(reply, BaseException):
        raise reply
    if reply is None or code != 0:
        interrupt.check()  # stopped with its caller: the caller's stop, not a death, is what happened
        raise ChildDied(child.pid, code)
    return reply


def build_in_child(parse_dirs, catalog, warehouse_root, link_dirs=None, inputs=None, notify=None, progress=None):
    """:func:`codeetl.build.pipeline.build_warehouse` with the same arguments, run in a child process; returns its
    BuildResult (with ``process``: the child's pid and peak resident memory) or raises its error."""
    from codeetl.build.pipeline import build_warehouse

    if os.name != "posix":  # no inherited pipe ends to pass: the build runs here
        return build_warehouse(parse_dirs, catalog, warehouse_root, link_dirs, inputs, notify, progress)
    builds = Path(warehouse_root) / "builds"
    before = set(os.listdir(builds)) if builds.is_dir() else set()
    request = {"parse_dirs": [str(p) for p in parse_dirs], "catalog": catalog, "warehouse_root": str(warehouse_root),
               "link_dirs": link_dirs, "inputs": inputs}
    try:
        result, process = run_in_child("codeetl.build.pipeline:build_warehouse", request, notify, progress)
    except ChildDied as e:
        _remove_new_builds(builds, before)
        raise WarehouseError(_death_line("build process", e.pid, e.code, "the half-built one was removed")) from None
    result.process = process
    return result


PARSE_SLOTS = threading.BoundedSemaphore(2)
"""Parses running in child processes at once: two, the build machine's cores (each holds a whole release's
frames, about 310 MiB at most; the refresh's peak is the build, which runs after every parse has ended)."""


def parse_in_child(release, fetched, raw_root):
    """:func:`codeetl.build.pipeline.parse_release_cached` with the same arguments, run in a child process (two at
    a time: :data:`PARSE_SLOTS`) so the parser's memory goes back to the system when it ends; a parse already made
    is reused here. Returns the ParsedRelease or raises its error."""
    from codeetl.build import pipeline
    from codeetl.sources import interrupt

    parsed_root = Path(raw_root) / release.dataset / release.release / "parsed"
    key = pipeline.parse_key(release, [(m.role, m.sha256) for m in fetched.members])
    if os.name != "posix" or (parsed_root / key / "meta.json").exists():
        return pipeline.parse_release_cached(release, fetched, raw_root)
    while not PARSE_SLOTS.acquire(timeout=0.2):
        interrupt.check()
    try:
        return run_in_child("codeetl.build.pipeline:parse_release_cached",
                            {"release": release, "fetched": fetched, "raw_root": str(raw_root)})[0]
    except ChildDied as e:
        for part in parsed_root.glob(".*.part"):
            shutil.rmtree(part, ignore_errors=True)
        what = f"parse process of {release.dataset}/{release.release}"
        raise WarehouseError(_death_line(what, e.pid, e.code, "its half-written parse was removed")) from None
    finally:
        PARSE_SLOTS.release()


def _relay(conn: Connection, notify, progress):
    """Pass the child's progress messages on to `notify` and `progress` until it answers; returns the answer
    ((its return value, its process), or the error it raised), None when it ended without one."""
    from codeetl.sources import interrupt

    while True:
        if not conn.poll(0.2):  # a stop seen by another thread (this one may not get the signal) ends the wait too
            interrupt.check()
            continue
        try:
            kind, *body = conn.recv()
        except EOFError:
            return None
        if kind == "notify" and notify:
            notify(*body)
        elif kind == "progress" and progress:
            progress(*body)
        elif kind == "result":
            return body[0]
        elif kind == "error":
            return _rebuilt(*body)


def _stop(child: subprocess.Popen) -> None:
    """End the child if it still runs (its caller was stopped): SIGTERM, SIGKILL after GRACE seconds."""
    if child.poll() is not None:
        return
    child.terminate()
    try:
        child.wait(timeout=GRACE)
    except subprocess.TimeoutExpired:
        child.kill()
        child.wait()


def _remove_new_builds(builds: Path, before: set[str]) -> None:
    """Remove the build folders a dead child left (those not there before it started and not complete)."""
    from codeetl.build.pipeline import COMPLETE

    for name in set(os.listdir(builds)) - before if builds.is_dir() else ():
        if not (builds / name / COMPLETE).exists():
            shutil.rmtree(builds / name, ignore_errors=True)


def _death_line(what: str, pid: int, code: int, tidy: str) -> str:
    """One line: how the child `what` ended without an answer, what became of its files (`tidy`), what to do."""
    sig = -code if code < 0 else code - 128 if code > 128 else 0
    try:
        how = f"was killed by {signal.Signals(sig).name}" if sig else f"exited with status {code}"
    except ValueError:
        how = f"was killed by signal {sig}"
    why = ("the kernel's out-of-memory killer does this (see `dmesg`), as does `kill -9`; if it was memory, give the "
           "refresh more (a cold build needs about 1 GB)" if sig == signal.SIGKILL else
           "if nobody stopped it, this is a crash: please report it with the command line")
    return (f"the {what} (pid {pid}) {how} before it finished: nothing was published, the previous warehouse "
            f"(if any) is unchanged and {tidy}. {why[0].upper()}{why[1:]}; then run the refresh again.")


def _portable(error: BaseException) -> tuple:
    """An error as (class, args, attributes), to rebuild without calling its ``__init__`` (GateFailure's takes the
    gate results, not the message its args hold)."""
    state = (type(error), error.args, dict(vars(error)))
    try:
        pickle.dumps(state)
        return state
    except Exception:  # noqa: BLE001 - an attribute that does not pickle: the message still does
        return (WarehouseError, (f"building the new warehouse failed: {error.__class__.__name__}: {error}",), {})


def _rebuilt(cls: type, args: tuple, attrs: dict) -> BaseException:
    """The error :func:`_portable` took apart."""
    error = cls.__new__(cls)
    error.args = args
    vars(error).update(attrs)
    return error


# --------------------------------------------------------------------------------------------- the child


def _die_with_parent() -> None:
    """Have the kernel kill this process when the build's caller dies (Linux); exit at once if it is gone."""
    import ctypes

    parent = int(os.environ.get(PARENT_ENV, "0"))
    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass
    if parent and os.getppid() != parent:
        os._exit(137)


def main(fd: int) -> None:
    """The child: read the request from stdin, call its target, send progress, then the result (and this process's
    pid and peak memory) or the error, up `fd`. Output on stdout goes to stderr (stdout is not a channel here).
    Exits 0, or 128 + the signal that stopped it."""
    _die_with_parent()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the caller, which stops this process itself
    os.dup2(2, 1)
    conn, lock = Connection(fd), threading.Lock()

    def send(*message) -> None:
        with lock:
            conn.send(message)

    import resource
    from importlib import import_module

    from codeetl.sources.interrupt import Terminated, stop_on_signals

    request = pickle.loads(sys.stdin.buffer.read())
    module, name = request["target"].split(":")
    kwargs = request["kwargs"] | ({"notify": lambda line: send("notify", line)} if request["notify"] else {}) \
        | ({"progress": lambda *step: send("progress", *step)} if request["progress"] else {})
    try:
        with stop_on_signals():
            result = getattr(import_module(module), name)(**kwargs)
    except (Terminated, KeyboardInterrupt) as e:
        os._exit(128 + (signal.SIGINT if isinstance(e, KeyboardInterrupt) else signal.SIGTERM))
    except Exception as e:  # noqa: BLE001 - every error goes back to the caller, which raises it
        send("error", *_portable(e))
    else:
        send("result", (result, {"pid": os.getpid(), "parent": os.getppid(),
                                 "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)}))
    conn.close()
    sys.stdout.flush()
    os._exit(0)  # no teardown of DuckDB's, polars' and the interpreter's objects: the process is done


if __name__ == "__main__":  # python -m codeetl.build.isolate <fd> <target> (the target only for `ps` to show)
    main(int(sys.argv[1]))
