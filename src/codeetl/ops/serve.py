"""``codeetl serve``: the scheduled refresh on this machine, as Prefect deployments.

One deployment of the refresh flow per dataset (``refresh-<dataset>``, refreshing only that dataset) on its
publication calendar (``schedules.toml``), and ``refresh-all`` (every dataset, no schedule: run it by hand
with ``prefect deployment run codeetl-refresh/refresh-all``). Prefect's temporary ("ephemeral") API server
cannot run schedules, so serve needs a real one: the server at ``PREFECT_API_URL`` when that is set, else
the one answering at ``http://127.0.0.1:4200/api``, else one it starts itself (``prefect server start``,
waited for up to 300 s, stopped when serve stops). Then Prefect's ``serve`` registers the deployments and
runs each scheduled run in a process of its own, one at a time.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

from codeetl.ops.orchestrator import STARTUP_TIMEOUT, OrchestratorError

DEFAULT_PORT = 4200
FLOW_NAME = "codeetl-refresh"


def _answers(url: str, timeout: float = 5) -> bool:
    """True when a Prefect API at `url` answers its health check."""
    try:
        with urllib.request.urlopen(f"{url.rstrip('/')}/health", timeout=timeout) as r:
            return r.status == 200
    except (urllib.error.URLError, OSError, ValueError):
        return False


def ensure_server(log: Path, say: Callable[[str], None], timeout: float = STARTUP_TIMEOUT,
                  port: int = DEFAULT_PORT) -> subprocess.Popen | None:
    """Make sure a Prefect server answers, and point ``PREFECT_API_URL`` at it (before Prefect is imported):
    the one at ``PREFECT_API_URL``, else the one at 127.0.0.1:`port`, else one started here. Returns the
    server process when this call started one (the caller stops it), else None."""
    url = os.environ.get("PREFECT_API_URL")
    api = f"http://127.0.0.1:{port}/api"
    if url:
        if not _answers(url, timeout=30):
            raise OrchestratorError(f"the Prefect server at PREFECT_API_URL={url} does not answer; start it "
                                    "(`uv run prefect server start`) or unset PREFECT_API_URL")
        say(f"using the Prefect server at {url}")
        return None
    if _answers(api):
        os.environ["PREFECT_API_URL"] = api
        say(f"using the Prefect server already running at {api}")
        return None
    say(f"starting a Prefect server at {api} (up to {timeout:.0f} s; its log: {log}) ...")
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "ab") as f:
        proc = subprocess.Popen([sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1", "--port", str(port)],
                                stdout=f, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True)  # Ctrl-C stops serve first; serve then stops the server
    started = time.monotonic()
    while not _answers(api, timeout=2):
        if proc.poll() is not None or time.monotonic() - started > timeout:
            stop_server(proc)
            raise OrchestratorError(f"the Prefect server did not start within {timeout:.0f} s (see {log}); start it yourself "
                                    f"(`uv run prefect server start --port {port}`) and set PREFECT_API_URL={api}")
        time.sleep(1)
    os.environ["PREFECT_API_URL"] = api
    say(f"the Prefect server is up ({time.monotonic() - started:.0f} s)")
    return proc


def stop_server(proc: subprocess.Popen | None) -> None:
    """Stop a server :func:`ensure_server` started (SIGTERM, then SIGKILL after 20 s). Returns None."""
    if proc is None or proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def deployments(root: Path, mirror: str | None) -> list:
    """The deployments serve runs: ``refresh-<dataset>`` on each dataset's calendar, and ``refresh-all``
    (no schedule). Returns Prefect ``RunnerDeployment`` objects (imports Prefect)."""
    from prefect.deployments.runner import EntrypointType
    from prefect.schedules import Cron

    from codeetl.sources.catalog import load_catalog
    from codeetl.ops.flow import refresh
    from codeetl.ops.schedules import calendars

    base = {"root": str(root.resolve()), "mirror": mirror}
    module = EntrypointType.MODULE_PATH  # the flow runs as codeetl.ops.flow:refresh, wherever codeetl is installed
    out = [refresh.to_deployment(name="refresh-all", parameters={**base, "trigger": "refresh-all"}, tags=["codeetl"],
                                 description="Every dataset of the catalog (no schedule: run it by hand).",
                                 entrypoint_type=module)]
    for ds in load_catalog():
        cal = calendars().get(ds)
        crons = list(cal.cron) if cal else []
        out.append(refresh.to_deployment(
            name=f"refresh-{ds}", tags=["codeetl", ds],
            parameters={**base, "datasets": [ds], "trigger": f"refresh-{ds}"},
            schedules=[Cron(c, timezone=cal.timezone) for c in crons], entrypoint_type=module,
            description=f"Refresh {ds} on its publication calendar (codeetl/ops/schedules.toml): {', '.join(crons) or 'by hand only'}."))
    return out


def run_soon(names: list[str], say: Callable[[str], None], wait: float = 120) -> threading.Thread:
    """In a background thread, once serve has registered them, start one run of each deployment in `names`
    (``refresh-all``, ``refresh-icd10cm``, ...). Returns the thread."""
    def go() -> None:
        """Start one run of each named deployment as soon as serve has registered it (within ``wait`` s)."""
        from prefect.deployments import run_deployment

        end = time.monotonic() + wait
        pending = list(names)
        while pending and time.monotonic() < end:
            try:
                run = run_deployment(f"{FLOW_NAME}/{pending[0]}", timeout=0)
                say(f"started flow run {run.name} of {FLOW_NAME}/{pending.pop(0)}")
            except Exception:  # noqa: BLE001 - not registered yet: try again shortly
                time.sleep(2)
        for name in pending:
            say(f"could not start {FLOW_NAME}/{name} within {wait:.0f} s")

    thread = threading.Thread(target=go, daemon=True, name="codeetl-run-soon")
    thread.start()
    return thread


def serve(root: Path, mirror: str | None, run_now: list[str], say: Callable[[str], None], port: int = DEFAULT_PORT) -> None:
    """Register the deployments and run their schedules until interrupted (Prefect's ``serve``, one run at a
    time), starting a Prefect server first when none answers. Returns when stopped."""
    proc = ensure_server(root / "prefect-server.log", say, port=port)
    try:
        from prefect import serve as prefect_serve

        deps = deployments(root, mirror)
        for d in deps:
            crons = ", ".join(str(getattr(getattr(s, "schedule", s), "cron", s)) for s in d.schedules or []) or "no schedule"
            say(f"deployment {FLOW_NAME}/{d.name}: {crons}")
        if run_now:
            run_soon(run_now, say)
        prefect_serve(*deps, limit=1, print_starting_message=False)
    finally:
        stop_server(proc)
