"""Stopping a refresh promptly when it is told to stop (SIGTERM, SIGINT), in every thread.

A signal interrupts only the main thread; the downloads run in worker threads, and the main thread cannot end
before they do (Prefect's task runner waits for them). So a stop sets :data:`STOP` too, and the loops that run
in threads — each block of a download or copy, the fault hooks' pause — call :func:`check`, which raises
:class:`Terminated` there: the thread removes its temporary file and ends at its next block instead of
finishing a long download. :func:`stop_on_signals` installs that for a stretch of code (the flow, the worker).
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Callable, Iterator

STOP = threading.Event()
"""Set when this process was told to stop; long loops in any thread end at their next step."""

_SIGNALS = (signal.SIGTERM, signal.SIGINT)
_DEPTH = [0]  # stop_on_signals scopes open in this process: the outermost one starts with STOP clear


class Terminated(BaseException):
    """The refresh was told to stop (SIGTERM, or a stop request seen by a worker thread)."""


def check() -> None:
    """Raise :class:`Terminated` when a stop was requested; returns None otherwise."""
    if STOP.is_set():
        raise Terminated()


def _raise_for(signum: int, frame) -> None:
    """What a first stop signal does where nothing else was installed: KeyboardInterrupt for SIGINT (as Python
    does), :class:`Terminated` for SIGTERM."""
    raise KeyboardInterrupt() if signum == signal.SIGINT else Terminated()


@contextlib.contextmanager
def stop_on_signals(on_stop: Callable[[int], None] | None = None) -> Iterator[None]:
    """While inside (main thread only; elsewhere a no-op): the first SIGTERM or SIGINT sets :data:`STOP`, calls
    `on_stop(signum)`, then does what the handler installed before did (Prefect's raises its
    TerminationSignal; Python's default raises KeyboardInterrupt; none: :class:`Terminated`). Later ones are
    ignored, so a second Ctrl-C, or the terminal's SIGINT and the supervisor's forwarded one, cannot break
    the cleanup the first one started. A signal this process ignores (SIGINT of a job started with ``&``)
    stays ignored. The previous handlers are restored on the way out."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    if _DEPTH[0] == 0:
        STOP.clear()  # a stop seen by an earlier refresh in this process (tests) is not this one's
    fired: list[int] = []
    previous = {s: signal.getsignal(s) for s in _SIGNALS if signal.getsignal(s) is not signal.SIG_IGN}

    def handler(signum: int, frame) -> None:
        """The first stop signal stops every thread, then goes on as before; later ones are ignored."""
        if fired:
            return
        fired.append(signum)
        STOP.set()
        if on_stop:
            on_stop(signum)
        before = previous[signum]
        (before if callable(before) else _raise_for)(signum, frame)

    for s in previous:
        signal.signal(s, handler)
    _DEPTH[0] += 1
    try:
        yield
    finally:
        _DEPTH[0] -= 1
        for s in previous:
            if signal.getsignal(s) is handler:
                signal.signal(s, previous[s])
