"""A hook for the fault tests: mark where a refresh is, and optionally stop there until killed.

``CODEETL_STAGE_FILE=<path>``: every :func:`stage` call appends the stage name (one line) to that file.
``CODEETL_PAUSE_AT=<stage>``: the refresh waits at that stage until it is killed or told to stop (as a long
download would: :mod:`codeetl.sources.interrupt`), so a test can signal it at a known point. Without these
variables :func:`stage` does nothing.
"""

from __future__ import annotations

import os
import time

from codeetl.sources import interrupt

STAGES = ("fetch", "extract", "parse", "build", "publish")


def stage(name: str) -> None:
    """Record that the refresh reached `name`; pause there if asked to. Returns None."""
    path = os.environ.get("CODEETL_STAGE_FILE")
    if not path:
        return
    with open(path, "a", encoding="utf-8") as f:
        f.write(name + "\n")
    if os.environ.get("CODEETL_PAUSE_AT") == name:
        while True:  # until killed, or told to stop
            interrupt.check()
            time.sleep(0.05)
