"""How codeetl runs Prefect: its settings, and its API server started explicitly, with a bound.

Without ``PREFECT_API_URL`` Prefect starts a temporary ("ephemeral") API server in a subprocess, and the
first one on a new ``HOME`` also creates Prefect's SQLite database. That takes 10 s on an idle 2-core
machine and 40-100 s on a busy one, past Prefect's default 20 s wait, so codeetl waits longer
(:data:`STARTUP_TIMEOUT`), says that it is waiting, and explains a timeout instead of failing on a
race. Prefect's own banners, logs and telemetry stay out of codeetl's output; every default here
yields to a variable the user set.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, MutableMapping

from codeetl.errors import CodeEtlError

STARTUP_TIMEOUT = 300  # seconds, for PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS

# Always: no telemetry (server heartbeat, SDK events, the first-run notice) and a patient start.
SETTINGS = {
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": str(STARTUP_TIMEOUT),
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",  # the server's telemetry heartbeat (and its tracebacks offline)
    "DO_NOT_TRACK": "1",  # the SDK's events and its "Prefect collects anonymous usage data" notice
}
# For codeetl's own commands, which report every stage and error themselves: Prefect's log would
# repeat failures as tracebacks, and its server's log reaches the same terminal.
QUIET = {
    "PREFECT_LOGGING_LEVEL": "CRITICAL",  # "Starting temporary server ...", flow and task run lines
    "PREFECT_SERVER_LOGGING_LEVEL": "CRITICAL",  # the API server subprocess (uvicorn, services)
    "PREFECT_LOGGING_ROOT_LEVEL": "CRITICAL",  # libraries logging through the root logger (docket)
}


class OrchestratorError(CodeEtlError):
    """Prefect's API could not be reached or started."""


def configure_prefect_env(quiet: bool = True, environ: MutableMapping[str, str] = os.environ) -> None:
    """Set codeetl's Prefect defaults where the user set nothing. Call before Prefect is imported:
    Prefect reads its settings (and sets up logging) at import time."""
    for name, value in (SETTINGS | QUIET if quiet else SETTINGS).items():
        environ.setdefault(name, value)


def start_api(notify: Callable[[str], None] | None = None) -> None:
    """Make sure a Prefect API answers before a flow runs.

    With ``PREFECT_API_URL`` set, check that it answers. Otherwise start Prefect's temporary server
    now (the flow reuses it; Prefect stops it when the process exits) and raise OrchestratorError
    with what to do if it does not come up in time.
    """
    import httpx
    from prefect.settings import (
        PREFECT_API_URL,
        PREFECT_SERVER_EPHEMERAL_ENABLED,
        PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS,
    )

    say = notify or (lambda message: None)
    url = PREFECT_API_URL.value()
    if url:
        try:
            httpx.get(f"{url.rstrip('/')}/health", timeout=30).raise_for_status()
        except httpx.HTTPError as e:
            raise OrchestratorError(f"the Prefect server at PREFECT_API_URL={url} does not answer ({e}); "
                                    "start it (`uv run prefect server start`) or unset PREFECT_API_URL") from None
        return
    if not PREFECT_SERVER_EPHEMERAL_ENABLED.value():
        raise OrchestratorError("Prefect has no API: set PREFECT_API_URL to a running server "
                                "(`uv run prefect server start`), or PREFECT_SERVER_EPHEMERAL_ENABLED=true")
    from prefect.server.api.server import SubprocessASGIServer

    timeout = PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS.value()
    say(f"starting Prefect's temporary API server (up to {timeout} s; a first run also creates Prefect's "
        "database) ...")
    started = time.monotonic()
    try:
        SubprocessASGIServer().start(timeout=timeout)
    except Exception as e:  # Prefect raises RuntimeError on a timeout; anything else is as fatal here
        first = str(e).splitlines()[0] if str(e) else ""
        detail = "" if first.startswith("Timed out") else f" ({type(e).__name__}: {first})"
        raise OrchestratorError(
            f"Prefect's temporary API server did not start within {timeout} s{detail}. The machine may be busy: "
            "run the command again, allow more time (PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS=600), or "
            "keep a server running (`uv run prefect server start`, then PREFECT_API_URL=http://127.0.0.1:4200/api); "
            "PREFECT_SERVER_LOGGING_LEVEL=WARNING shows the server's own log."
        ) from None
    say(f"Prefect's temporary API server is up ({time.monotonic() - started:.0f} s)")
