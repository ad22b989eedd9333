"""``codeetl serve``: the scheduled refresh on this machine, as Prefect deployments.

One deployment of the refresh flow per dataset (``refresh-<dataset>``, refreshing only that dataset) on its
publication calendar (``schedules.toml``, handed to Prefect as RRULEs: :func:`codeetl.ops.schedules.rrule_of`),
and ``refresh-all`` (every dataset, no schedule: run it by hand with ``prefect deployment run
codeetl-refresh/refresh-all``). Prefect's temporary ("ephemeral") API server cannot run schedules, so serve
needs a real one: the server at ``PREFECT_API_URL`` when that is set, else the one answering at
``http://127.0.0.1:4200/api``, else one it starts itself (``prefect server start``, waited for up to 300 s,
its scheduler told to create runs up to 400 days ahead, stopped when serve stops — also when serve is killed).
Then Prefect's ``serve`` registers the deployments and runs each scheduled run in a process of its own, one at a
time, while :class:`Watch` checks that the server answers, logs no error, and that its scheduler has created
the runs the calendars call for: if not, serve says so and stops with an error instead of idling.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from codeetl.ops.orchestrator import STARTUP_TIMEOUT, OrchestratorError

DEFAULT_PORT = 4200
FLOW_NAME = "codeetl-refresh"
SCHEDULER_HORIZON = "P400D"
"""How far ahead the server serve starts creates scheduled runs (Prefect's default, 100 days, leaves the IPPS,
MS-DRG and ICD-10-CM October deployments without a scheduled run from November to April)."""
SERVER_SETTINGS = {
    "PREFECT_SERVER_SERVICES_SCHEDULER_MAX_SCHEDULED_TIME": SCHEDULER_HORIZON,
    "PREFECT_SERVER_LOGGING_LEVEL": "WARNING",  # its errors reach the log serve watches
}
MIN_RUNS = 3  # Prefect's default (PREFECT_SERVER_SERVICES_SCHEDULER_MIN_RUNS): the next runs it keeps created
WATCH_SECONDS = 10.0  # how often serve checks its server
SCHEDULE_DEADLINE = 120.0  # seconds after the deployments are registered for the scheduler to create their runs
_LOG_ERROR = re.compile(r"\|\s*(ERROR|CRITICAL)\s*\||^(ERROR|CRITICAL):")


@dataclass
class Server:
    """The Prefect API serve uses: its URL, and the process and log when serve started it."""

    api: str
    proc: subprocess.Popen | None = None
    log: Path | None = None


def _answers(url: str, timeout: float = 5) -> bool:
    """True when a Prefect API at `url` answers its health check."""
    try:
        with urllib.request.urlopen(f"{url.rstrip('/')}/health", timeout=timeout) as r:
            return r.status == 200
    except (urllib.error.URLError, OSError, ValueError):
        return False


def ensure_server(log: Path, say: Callable[[str], None], timeout: float = STARTUP_TIMEOUT,
                  port: int = DEFAULT_PORT) -> Server:
    """Make sure a Prefect server answers, and point ``PREFECT_API_URL`` at it (before Prefect is imported):
    the one at ``PREFECT_API_URL``, else the one at 127.0.0.1:`port`, else one started here (see
    :func:`start_server`). Returns the :class:`Server` (with its process when this call started it: the caller
    stops it with :func:`stop_server`)."""
    url = os.environ.get("PREFECT_API_URL")
    api = f"http://127.0.0.1:{port}/api"
    if url:
        if not _answers(url, timeout=30):
            raise OrchestratorError(f"the Prefect server at PREFECT_API_URL={url} does not answer; start it "
                                    "(`uv run prefect server start`) or unset PREFECT_API_URL")
        say(f"using the Prefect server at {url}")
        return Server(url)
    if _answers(api):
        os.environ["PREFECT_API_URL"] = api
        say(f"using the Prefect server already running at {api}")
        return Server(api)
    server = start_server(log, say, timeout, port)
    os.environ["PREFECT_API_URL"] = server.api
    return server


def start_server(log: Path, say: Callable[[str], None], timeout: float, port: int) -> Server:
    """Start ``prefect server start`` on 127.0.0.1:`port` (settings: :data:`SERVER_SETTINGS`, where the user
    set nothing), logging to `log`, and wait until it answers. It runs in a session of its own (Ctrl-C stops
    serve first, which then stops it) and gets SIGTERM from the kernel when serve dies. A stop signal during
    the wait stops it too. Returns the :class:`Server`; OrchestratorError when it does not come up in time."""
    from codeetl.ops.supervise import die_with_parent

    api = f"http://127.0.0.1:{port}/api"
    say(f"starting a Prefect server at {api} (up to {timeout:.0f} s; its log: {log}) ...")
    log.parent.mkdir(parents=True, exist_ok=True)
    env = {**{k: v for k, v in SERVER_SETTINGS.items() if k not in os.environ}, **os.environ}
    with open(log, "ab") as f:
        proc = subprocess.Popen([sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1",
                                 "--port", str(port)], stdout=f, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                env=env, start_new_session=True, preexec_fn=die_with_parent())
    server = Server(api, proc, log)
    started = time.monotonic()
    try:
        while not _answers(api, timeout=2):
            if proc.poll() is not None or time.monotonic() - started > timeout:
                raise OrchestratorError(
                    f"the Prefect server did not start within {timeout:.0f} s ({_exit_text(proc)}; see {log}); start it "
                    f"yourself (`uv run prefect server start --port {port}`) and set PREFECT_API_URL={api}")
            time.sleep(1)
    except BaseException:  # also a SIGTERM/Ctrl-C during the wait: the server goes with serve
        stop_server(server)
        raise
    say(f"the Prefect server is up ({time.monotonic() - started:.0f} s)")
    return server


def _exit_text(proc: subprocess.Popen) -> str:
    code = proc.poll()
    return "still starting" if code is None else f"it exited with status {code}"


def stop_server(server: Server | None) -> None:
    """Stop a server :func:`start_server` started (SIGTERM, then SIGKILL after 20 s); nothing for a server serve
    did not start. Returns None."""
    proc = server.proc if server else None
    if proc is None or proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def deployments(root: Path, mirror: str | None) -> list:
    """The deployments serve runs: ``refresh-<dataset>`` on each dataset's calendar (one RRULE schedule in the
    calendar's timezone), and ``refresh-all`` (no schedule). Returns Prefect ``RunnerDeployment`` objects
    (imports Prefect)."""
    from prefect.deployments.runner import EntrypointType
    from prefect.schedules import RRule

    from codeetl.ops.flow import refresh
    from codeetl.ops.schedules import calendars
    from codeetl.sources.catalog import load_catalog

    base = {"root": str(root.resolve()), "mirror": mirror}
    module = EntrypointType.MODULE_PATH  # the flow runs as codeetl.ops.flow:refresh, wherever codeetl is installed
    out = [refresh.to_deployment(name="refresh-all", parameters={**base, "trigger": "refresh-all"}, tags=["codeetl"],
                                 description="Every dataset of the catalog (no schedule: run it by hand).",
                                 entrypoint_type=module)]
    for ds in load_catalog():
        cal = calendars().get(ds)
        crons = list(cal.cron) if cal else []
        when = f"{', '.join(crons)} ({cal.timezone})" if crons else "by hand only"
        out.append(refresh.to_deployment(
            name=f"refresh-{ds}", tags=["codeetl", ds],
            parameters={**base, "datasets": [ds], "trigger": f"refresh-{ds}"},
            schedules=[RRule(cal.rrule, timezone=cal.timezone)] if crons else [], entrypoint_type=module,
            description=f"Refresh {ds} on its publication calendar (codeetl/ops/schedules.toml): {when}."))
    return out


def next_runs(rrule: str, timezone: str, start: dt.datetime, horizon: dt.timedelta, n: int = MIN_RUNS) -> list[dt.datetime]:
    """The first `n` times at or after `start` and within `horizon` of it at which Prefect's server fires the
    RRULE schedule (its own code computes them: what its scheduler will create)."""
    from prefect.server.schemas.schedules import RRuleSchedule

    return list(RRuleSchedule(rrule=rrule, timezone=timezone)._get_dates_generator(n=n, start=start, end=start + horizon))


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


@dataclass
class Watch:
    """Watches the server while serve runs (a daemon thread, every :data:`WATCH_SECONDS`): that it answers (and,
    when serve started it, that it runs and its log has no ERROR line), and that its scheduler has created
    the next runs of every scheduled deployment (:data:`SCHEDULE_DEADLINE` after they are registered, then
    that each keeps at least one). The first problem is kept in ``error`` and stops serve (a SIGTERM to this
    process, as a service manager would send)."""

    server: Server
    schedules: dict[str, tuple[str, str]]  # deployment name -> (rrule, timezone)
    say: Callable[[str], None]
    error: str | None = None
    _stop: threading.Event = field(default_factory=threading.Event)
    _log_offset: int = 0
    _failed_checks: int = 0
    _scheduled: bool = False
    _misses: int = 0

    def start(self) -> None:
        """Start watching in a daemon thread. Returns None."""
        if self.server.log and self.server.log.exists():
            self._log_offset = self.server.log.stat().st_size  # what the log said before this serve is not ours
        threading.Thread(target=self._run, daemon=True, name="codeetl-serve-watch").start()

    def stop(self) -> None:
        """Stop watching. Returns None."""
        self._stop.set()

    def _run(self) -> None:
        import httpx

        started = time.monotonic()
        while not self._stop.wait(WATCH_SECONDS):
            try:
                problem = self._server_problem() or self._log_problem() or self._schedule_problem(started)
            except httpx.HTTPError:  # busy or going away: the health checks decide when it is down
                problem = None
            except Exception as e:  # noqa: BLE001 - a bug in the watch must not pass silently either
                problem = f"serve could not check its Prefect server ({type(e).__name__}: {e})"
            if problem and not self._stop.is_set():
                self.error = problem
                self.say(f"error: {problem}")
                os.kill(os.getpid(), signal.SIGTERM)  # Prefect's runner stops gracefully; then serve exits 1
                return

    def _server_problem(self) -> str | None:
        """The server exited, or has not answered three checks in a row."""
        proc = self.server.proc
        if proc is not None and proc.poll() is not None:
            return _server_gone(self.server)
        self._failed_checks = 0 if _answers(self.server.api, timeout=10) else self._failed_checks + 1
        if self._failed_checks >= 3:  # a busy machine may delay one answer; three in a row is a dead server
            return f"the Prefect server at {self.server.api} has not answered three health checks in a row"
        return None

    def _log_problem(self) -> str | None:
        """The first ERROR (or CRITICAL) line the server has logged since the last check (serve's own server)."""
        log = self.server.log
        if log is None or not log.exists():
            return None
        with open(log, "rb") as f:
            f.seek(self._log_offset)
            text = f.read()
        self._log_offset += len(text)
        for line in text.decode("utf-8", "replace").splitlines():
            if _LOG_ERROR.search(line):
                return f"the Prefect server logged an error: {line.strip()[:400]} (its log: {log})"
        return None

    def _schedule_problem(self, started: float) -> str | None:
        """A scheduled deployment without the runs its calendar calls for: at first, its next runs within the
        server's horizon (up to :data:`MIN_RUNS`) by :data:`SCHEDULE_DEADLINE`; later, at least one (two checks
        in a row, as the scheduler tops them up every minute)."""
        runs = scheduled_runs(self.server.api)
        late = time.monotonic() - started > SCHEDULE_DEADLINE
        if runs is None:
            return f"serve's deployments were not registered within {SCHEDULE_DEADLINE:.0f} s" if late else None
        horizon = scheduler_horizon(self.server.api)
        start = dt.datetime.now(dt.timezone.utc) + dt.timedelta(minutes=5)  # margins: runs about to start, and
        short = []                                                        # runs the horizon just reached
        for name, (rrule, tz) in self.schedules.items():
            expected = next_runs(rrule, tz, start, horizon - dt.timedelta(days=1))
            have = runs.get(name, [])
            if len(have) < (min(1, len(expected)) if self._scheduled else len(expected)):
                short.append((name, expected, have))
        if not short:
            if not self._scheduled:
                self._scheduled = True
                self._report(runs, horizon)
            self._misses = 0
            return None
        self._misses += 1
        if (self._misses < 2) if self._scheduled else not late:
            return None
        name, expected, have = short[0]
        return (f"Prefect's scheduler has created {len(have)} run(s) of {FLOW_NAME}/{name}, its calendar calls for "
                f"{len(expected)} (next {_when(expected[0])})" + (f"; see the server's log {self.server.log}" if self.server.log else ""))

    def _report(self, runs: dict[str, list[dt.datetime]], horizon: dt.timedelta) -> None:
        """Say, once, the next run of each scheduled deployment (or that it is beyond the server's horizon)."""
        for name, (rrule, tz) in sorted(self.schedules.items()):
            have = sorted(runs.get(name, []))
            if have:
                self.say(f"scheduled {name}: {len(have)} run(s) ahead, next {_when(have[0], tz)}")
            else:
                nxt = next_runs(rrule, tz, dt.datetime.now(dt.timezone.utc), dt.timedelta(days=800), 1)
                self.say(f"scheduled {name}: next {_when(nxt[0]) if nxt else 'never'}, beyond the server's "
                         f"{horizon.days}-day horizon (PREFECT_SERVER_SERVICES_SCHEDULER_MAX_SCHEDULED_TIME): "
                         "Prefect creates that run later")


def _when(t: dt.datetime, tz: str | None = None) -> str:
    """A run time as the operator reads it: 2027-02-01 06:00 EST."""
    if tz:
        from zoneinfo import ZoneInfo

        t = t.astimezone(ZoneInfo(tz))
    return f"{t:%Y-%m-%d %H:%M %Z}".strip()


def _post(api: str, path: str, body: dict) -> list | dict:
    import httpx

    r = httpx.post(f"{api.rstrip('/')}/{path}", json=body, timeout=30)
    r.raise_for_status()
    return r.json()


def scheduled_runs(api: str) -> dict[str, list[dt.datetime]] | None:
    """The SCHEDULED flow runs of serve's deployments at `api`, by deployment name: their expected start times.
    None when the deployments are not registered (yet)."""
    deps = _post(api, "deployments/filter", {"flows": {"name": {"any_": [FLOW_NAME]}}})
    if not deps:
        return None
    names = {d["id"]: d["name"] for d in deps}
    runs = _post(api, "flow_runs/filter", {"deployments": {"id": {"any_": list(names)}},
                                           "flow_runs": {"state": {"type": {"any_": ["SCHEDULED"]}}}, "limit": 200})
    out: dict[str, list[dt.datetime]] = {name: [] for name in names.values()}
    for run in runs:
        out[names[run["deployment_id"]]].append(dt.datetime.fromisoformat(run["expected_start_time"]))
    return out


def scheduler_horizon(api: str) -> dt.timedelta:
    """How far ahead the server at `api` creates scheduled runs (its max_scheduled_time setting; Prefect's
    default of 100 days when it does not say)."""
    import httpx
    from pydantic import TypeAdapter

    try:
        r = httpx.get(f"{api.rstrip('/')}/admin/settings", timeout=30)
        r.raise_for_status()
        return TypeAdapter(dt.timedelta).validate_python(r.json()["server"]["services"]["scheduler"]["max_scheduled_time"])
    except (httpx.HTTPError, KeyError, TypeError, ValueError):
        return dt.timedelta(days=100)


def serve(root: Path, mirror: str | None, run_now: list[str], say: Callable[[str], None], port: int = DEFAULT_PORT,
          announce: Callable[[str], None] | None = None) -> None:
    """Register the deployments and run their schedules until stopped (Prefect's ``serve``, one run at a time),
    starting a Prefect server first when none answers, and watching it (:class:`Watch`). `announce` gets the
    line ``Prefect API: <url>`` once the API answers. Returns when stopped by a signal (SIGTERM, Ctrl-C);
    OrchestratorError when the server or its scheduler failed (serve said so and stopped)."""
    from codeetl.sources.interrupt import stop_on_signals

    with stop_on_signals():  # a stop during the start (up to 300 s): the server serve started goes too
        _sigint_as_sigterm()
        server = ensure_server(root / "prefect-server.log", say, port=port)
        watch, failure = None, None
        try:
            (announce or say)(f"Prefect API: {server.api}")
            from prefect import serve as prefect_serve

            deps = deployments(root, mirror)
            watch = Watch(server, _schedules(deps, say), say)
            watch.start()
            if run_now:
                run_soon(run_now, say)
            prefect_serve(*deps, limit=1, print_starting_message=False)
        except Exception as e:  # noqa: BLE001 - Prefect's client fails this way when the server goes away
            failure = e
        finally:
            if watch:
                watch.stop()
            stop_server(server)
    problem = (watch.error if watch else None) or (_server_gone(server) if failure else None)
    if problem or failure:
        detail = problem or f"Prefect's serve failed ({type(failure).__name__}: {str(failure).splitlines()[0] if str(failure) else ''})"
        raise OrchestratorError(f"{detail}; serve stopped")


def _server_gone(server: Server) -> str | None:
    """Why the server is not there any more (it exited, or does not answer), or None when it answers."""
    proc = server.proc
    if proc is not None and proc.poll() is not None:
        return f"the Prefect server serve started (pid {proc.pid}) exited with status {proc.returncode} (its log: {server.log})"
    return None if _answers(server.api) else f"the Prefect server at {server.api} does not answer"


def _sigint_as_sigterm() -> None:
    """Make Ctrl-C (SIGINT) stop serve as SIGTERM does, once: once Prefect's runner runs, SIGTERM is its graceful
    stop (runs in progress are cancelled and unwind), while a KeyboardInterrupt tears it down and kills them
    with what they half-wrote. Returns None."""
    fired: list[int] = []

    def handler(signum: int, frame) -> None:
        """Pass the first SIGINT on as SIGTERM to this process; ignore later ones."""
        if not fired:
            fired.append(signum)
            os.kill(os.getpid(), signal.SIGTERM)

    if signal.getsignal(signal.SIGINT) is not signal.SIG_IGN:
        signal.signal(signal.SIGINT, handler)


def _schedules(deps: list, say: Callable[[str], None]) -> dict[str, tuple[str, str]]:
    """Say each deployment's schedule (its crons); returns the scheduled ones as name -> (rrule, timezone)."""
    from codeetl.ops.schedules import calendars

    out = {}
    for d in deps:
        cal = calendars().get(d.name.removeprefix("refresh-"))
        if cal and cal.rrule:
            out[d.name] = (cal.rrule, cal.timezone)
        say(f"deployment {FLOW_NAME}/{d.name}: " + (f"{', '.join(cal.cron)} ({cal.timezone})" if d.name in out else "no schedule"))
    return out
