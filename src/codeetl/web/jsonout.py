"""JSON text as the CLI prints it: ``codeetl <page> --json`` is ``json.dumps(page, indent=2, default=str)``
and a newline; ``codeetl status --json`` writes dates and times as ISO 8601."""

from __future__ import annotations

import datetime as dt
import json


def iso(value) -> str:
    """A date or time as ISO 8601 (anything else as ``str``): ``codeetl status --json``'s encoding."""
    return value.isoformat() if isinstance(value, (dt.date, dt.datetime)) else str(value)


def page_text(page, status: bool = False) -> str:
    """`page` as the CLI prints it with ``--json`` (`status`: as ``codeetl status --json`` does)."""
    return json.dumps(page, indent=2, default=iso if status else str) + "\n"
