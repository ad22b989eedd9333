"""What day it is for codeetl: the one place every "default today" reads (pages, ``status``, ``check``, ``diff``).

``CODEETL_TODAY=YYYY-MM-DD`` sets that day; unset, it is the machine's local date. Commands that take
``--as-of`` or ``--release`` never read it. Setting it answers "what would codeetl say on that day" without
changing the machine's clock, and lets the test suite run as of any day (README, "Settings").
"""

from __future__ import annotations

import datetime as dt
import os

ENV = "CODEETL_TODAY"


def today() -> dt.date:
    """``$CODEETL_TODAY`` when set (YYYY-MM-DD), else the local date; ValueError when it is not a date (the CLI
    checks it before any command)."""
    text = os.environ.get(ENV, "").strip()
    if not text:
        return dt.date.today()
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{ENV}={text!r} is not a date (expected YYYY-MM-DD)") from None
