"""The test session never writes into the user's home or Prefect's (`~/.prefect`).

Imported by conftest.py, so before any test module imports Prefect: for the whole session, HOME and PREFECT_HOME
point into a temporary folder, and PREFECT_API_URL is unset (no test talks to a server of the user's). Every
process a test starts inherits that, unless it builds its environment from scratch (``proctree.user_env`` sets
a fresh HOME of its own).

At the end of the session :func:`pytest_sessionfinish` fails the run when the user's Prefect database records a
flow run of this session (one whose parameters name the session's temporary folders), or when a Prefect home
appeared where there was none. It does not compare modification times: other programs on the machine may use
the real Prefect home meanwhile.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import tempfile
from pathlib import Path

REAL_HOME = Path.home()
REAL_PREFECT_HOME = Path(os.environ.get("PREFECT_HOME") or REAL_HOME / ".prefect").expanduser()
SESSION_HOME = Path(tempfile.mkdtemp(prefix="codeetl-tests-home-"))
_HAD_PREFECT_HOME = REAL_PREFECT_HOME.exists()

os.environ["HOME"] = str(SESSION_HOME)
os.environ["PREFECT_HOME"] = str(SESSION_HOME / ".prefect")
os.environ.pop("PREFECT_API_URL", None)


def runs_naming(database: Path, needles: list[str]) -> list[str]:
    """The ids of the flow runs in the Prefect database `database` whose parameters contain one of `needles`
    (read-only; [] when there is no such database or it has no flow_run table)."""
    if not database.is_file():
        return []
    try:
        con = sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=5)
    except sqlite3.Error:
        return []
    try:
        return [r[0] for n in needles for r in con.execute(
            "SELECT id FROM flow_run WHERE CAST(parameters AS TEXT) LIKE ?", [f"%{n}%"])]
    except sqlite3.Error:
        return []
    finally:
        con.close()


def intrusions(basetemp: Path | None) -> list[str]:
    """What this session left in the user's Prefect home: a home created where there was none, flow runs of its
    temporary folders. [] when nothing."""
    found = []
    if not _HAD_PREFECT_HOME and REAL_PREFECT_HOME.exists():
        found.append(f"{REAL_PREFECT_HOME} was created")
    needles = [str(SESSION_HOME)] + ([str(basetemp)] if basetemp else [])
    found += [f"flow run {i} in {REAL_PREFECT_HOME / 'prefect.db'}"
              for i in runs_naming(REAL_PREFECT_HOME / "prefect.db", needles)]
    return found


def pytest_sessionfinish(session, exitstatus):
    """Fail the session when it wrote into the user's Prefect home; remove the session's HOME."""
    factory = getattr(session.config, "_tmp_path_factory", None)
    basetemp = factory.getbasetemp() if factory is not None and factory._basetemp is not None else None
    found = intrusions(basetemp)
    if found:
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write_line("the tests wrote into the user's Prefect home: " + "; ".join(found), red=True)
        session.exitstatus = 1
    shutil.rmtree(SESSION_HOME, ignore_errors=True)
