"""``python3 run.py serve`` as an operator starts it: fresh HOME, a free port, the real mirror.

What is checked is what the README promises: the ``Prefect API: <url>`` line; within 90 s of it, at least 3
SCHEDULED runs of every scheduled deployment, each at a time of the README's calendar; no ERROR in the
server's log; ``prefect deployment run codeetl-refresh/refresh-gems`` executed by serve's runner, COMPLETED,
and recorded in ``refresh_runs``; SIGTERM and SIGINT (also during a run, and during the server's start) leave
no process of the tree and no listening port; a dead server or a failing scheduler stops serve with exit 1.
Processes are found by a marker in their environment (tests/proctree.py). Deadlines guard against hangs.
"""

from __future__ import annotations

import datetime as dt
import re
import signal
import subprocess
import sys
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest

import faultkit as fk
from _shared import CMS
from proctree import free_port, kill_marked, listening, marked, run_py, user_env, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.prefect]
NEW_YORK = ZoneInfo("America/New_York")
# The README's table ("Schedules: codeetl serve"): the hour, the months with a run every Monday, the months
# with a run on the 1st. GEMs, ICD-9-CM and refresh-all have no schedule.
CALENDAR = {"refresh-icd10cm": (6, {2, 3, 6, 7, 8}, {4, 10}), "refresh-ipps": (7, {8, 9}, {10}),
            "refresh-msdrg": (7, {8, 9}, {10}), "refresh-pfs": (8, {3, 6, 9, 11, 12}, {1, 4, 7, 10}),
            "refresh-mcd": (5, set(range(1, 13)), set())}


def on_calendar(deployment: str, when: dt.datetime) -> bool:
    """True when `when` is a time the README's table gives for `deployment` (America/New_York)."""
    hour, mondays, firsts = CALENDAR[deployment]
    t = when.astimezone(NEW_YORK)
    return (t.hour, t.minute, t.second) == (hour, 0, 0) and (
        (t.weekday() == 0 and t.month in mondays) or (t.day == 1 and t.month in firsts))


class Serve:
    """A ``python3 run.py serve`` process started for a test, with its data folder, port and log."""

    def __init__(self, tmp_path: Path, *args: str, **env: str):
        self.root, self.port = tmp_path / "data", free_port()
        self.env, self.marker = user_env(tmp_path / "home", **env)
        self.log = tmp_path / "serve.out"
        self.proc = run_py(["serve", "--mirror", str(CMS), "--data-dir", str(self.root), "--port", str(self.port), *args],
                           self.env, self.log)
        self.api = f"http://127.0.0.1:{self.port}/api"

    def stderr(self) -> str:
        return Path(f"{self.log}.err").read_text(errors="replace")

    def wait_for_api(self) -> None:
        """Wait for the ``Prefect API:`` line (the server's start may take minutes on a loaded machine)."""
        def printed() -> bool:
            assert self.proc.poll() is None, f"serve ended ({self.proc.returncode}):\n{self.stderr()[-3000:]}"
            return f"Prefect API: {self.api}" in self.log.read_text().splitlines()
        wait_for(printed, 600, "serve printing 'Prefect API: <url>' on a line of its own")

    def post(self, path: str, body: dict) -> list | dict:
        r = httpx.post(f"{self.api}/{path}", json=body, timeout=60)
        r.raise_for_status()
        return r.json()

    def scheduled(self) -> dict[str, list[dt.datetime]]:
        """The SCHEDULED runs of the codeetl-refresh deployments, by deployment name."""
        deps = {d["id"]: d["name"] for d in self.post("deployments/filter", {"flows": {"name": {"any_": ["codeetl-refresh"]}}})}
        runs = self.post("flow_runs/filter", {"flow_runs": {"state": {"type": {"any_": ["SCHEDULED"]}}}, "limit": 200})
        out: dict[str, list[dt.datetime]] = {}
        for run in runs:
            out.setdefault(deps.get(run["deployment_id"], "?"), []).append(dt.datetime.fromisoformat(run["expected_start_time"]))
        return out

    def assert_stopped_clean(self, code: int) -> None:
        """serve exited with `code` and left no process and no listening port."""
        assert self.proc.wait(timeout=180) == code, self.stderr()[-3000:]
        wait_for(lambda: not marked(self.marker), 30, f"every process of serve gone (left: {marked(self.marker)})")
        assert not listening(self.port)


@pytest.fixture
def start(tmp_path):
    """start(*args, **env) -> a running :class:`Serve`; whatever it left running is killed after the test."""
    started: list[Serve] = []

    def go(*args: str, **env: str) -> Serve:
        started.append(Serve(tmp_path, *args, **env))
        return started[-1]

    yield go
    for s in started:
        kill_marked(s.marker)


def test_serve_schedules_every_calendar_runs_a_deployment_and_stops_clean_on_sigterm(start):
    s = start()
    s.wait_for_api()

    def three_each() -> dict:
        runs = s.scheduled()
        return runs if all(len(runs.get(name, [])) >= 3 for name in CALENDAR) else {}

    runs = wait_for(three_each, 90, "3 SCHEDULED runs of every scheduled deployment", every=5)
    assert set(runs) == set(CALENDAR)  # and none of refresh-gems, refresh-icd9cm, refresh-all
    assert all(on_calendar(name, t) for name, times in runs.items() for t in times), runs
    log = (s.root / "prefect-server.log").read_text()
    assert not [line for line in log.splitlines() if re.search(r"\bERROR\b", line)], log[-3000:]

    env = {**s.env, "PREFECT_API_URL": s.api}
    started = subprocess.run([sys.executable, "-m", "prefect", "deployment", "run", "codeetl-refresh/refresh-gems"],
                             env=env, capture_output=True, text=True, timeout=300)
    assert started.returncode == 0, started.stdout + started.stderr
    run_id = re.search(r"UUID: ([0-9a-f-]{36})", started.stdout)[1]

    def finished() -> str:
        state = httpx.get(f"{s.api}/flow_runs/{run_id}", timeout=60).json()["state"]["type"]
        return state if state in ("COMPLETED", "FAILED", "CRASHED", "CANCELLED") else ""

    assert wait_for(finished, 900, "the run of refresh-gems finishing", every=3) == "COMPLETED", s.stderr()[-5000:]
    [row] = [r for r in fk.query(s.root, "SELECT run_id, trigger, status, datasets FROM refresh_runs") if r[0] == run_id]
    assert row[1:] == ("refresh-gems", "published", ["gems"])

    s.proc.send_signal(signal.SIGTERM)
    s.assert_stopped_clean(0)


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGINT, 0), (signal.SIGKILL, -signal.SIGKILL)], ids=["SIGINT", "SIGKILL"])
def test_a_signal_to_serve_while_a_run_downloads_stops_the_run_and_everything(start, tmp_path, sig, code):
    """Ctrl-C with a run in progress: Prefect's runner cancels it, the refresh stops its download thread and
    removes what it half-wrote; serve stops its server and exits 0. ``kill -9`` of serve: the kernel signals
    the server and the run's process (PR_SET_PDEATHSIG), which unwind and end the same way."""
    from codeetl.build import ledger

    stages = tmp_path / "stages.txt"
    s = start("--run-now", "gems", CODEETL_STAGE_FILE=str(stages), CODEETL_PAUSE_AT="fetch")
    s.wait_for_api()
    wait_for(lambda: stages.exists() and "fetch" in stages.read_text().split(), 600, "the run reaching its first download")
    assert list(s.root.rglob("*.part"))
    s.proc.send_signal(sig)
    s.assert_stopped_clean(code)
    assert fk.leftovers(s.root) == []
    assert "running" not in [r["status"] for r in ledger.read_runs(s.root)]


def test_serve_exits_1_saying_so_when_its_server_dies(start):
    s = start()
    s.wait_for_api()
    [server] = [pid for pid, cmd in marked(s.marker) if "prefect server start" in cmd]
    subprocess.run(["kill", "-KILL", str(server)], check=True)
    s.assert_stopped_clean(1)
    assert f"the Prefect server serve started (pid {server}) exited" in " ".join(s.stderr().split())


def test_serve_exits_1_saying_so_when_the_scheduler_fails(start):
    """The failure serve used to hide: a deployment with a cron in a named time zone (what serve registered
    before), which Prefect 3.9's scheduler cannot compute on Python < 3.13; its ERROR is in the server's log."""
    s = start()
    s.wait_for_api()
    wait_for(lambda: "scheduled refresh-mcd" in s.stderr(), 300, "serve reporting the scheduled runs")
    flow = httpx.get(f"{s.api}/flows/name/codeetl-refresh", timeout=60).json()
    s.post("deployments/", {"name": "cron-in-new-york", "flow_id": flow["id"],
                            "schedules": [{"schedule": {"cron": "0 6 * * 1", "timezone": "America/New_York"}, "active": True}]})
    s.assert_stopped_clean(1)
    said = " ".join(s.stderr().split())
    assert "error: the Prefect server logged an error" in said and "Error scheduling deployment" in said


def test_sigterm_while_serve_waits_for_its_server_stops_the_server_too(start):
    s = start()
    wait_for(lambda: "starting a Prefect server" in s.stderr(), 300, "serve starting its server")
    wait_for(lambda: any("prefect server start" in cmd for _, cmd in marked(s.marker)), 60, "the server process")
    s.proc.send_signal(signal.SIGTERM)
    s.assert_stopped_clean(0)
    assert "Prefect API:" not in s.log.read_text()
