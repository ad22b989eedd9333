"""The test session never writes into the user's home or Prefect's home (tests/homeguard.py, set up by
conftest.py before any test imports Prefect)."""

from __future__ import annotations

import os
import pwd
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path


def test_the_session_and_every_process_it_starts_use_a_temporary_home():
    """Set up by conftest.py alone (this module does not import homeguard for it)."""
    home = Path(os.environ["HOME"])
    assert home != Path(pwd.getpwuid(os.getuid()).pw_dir)  # not the user's home of the password database
    assert home.parent == Path(tempfile.gettempdir()) and home.name.startswith("codeetl-tests-home-")
    # what a process a test starts sees, Prefect's own resolution of its home included
    shown = subprocess.run([sys.executable, "-c", "import os; from prefect.settings import get_current_settings; "
                            "print(os.path.expanduser('~')); print(get_current_settings().home)"],
                           capture_output=True, text=True, timeout=120, check=True).stdout.split()
    assert shown == [str(home), str(home / ".prefect")]
    assert "PREFECT_API_URL" not in os.environ  # no test talks to a server of the user's


def test_a_flow_run_of_the_session_in_a_prefect_database_is_found(tmp_path):
    """The end-of-session check reads a Prefect database the way Prefect 3 writes flow runs."""
    import homeguard

    db = tmp_path / "prefect.db"
    con = sqlite3.connect(db)
    con.execute("CREATE TABLE flow_run (id TEXT, parameters JSON)")
    con.executemany("INSERT INTO flow_run VALUES (?, ?)", [
        ("a", '{"root": "/tmp/pytest-of-x/pytest-7/test_one0/data", "mirror": null}'),
        ("b", '{"root": "/srv/codeetl/data", "mirror": null}')])
    con.commit()
    con.close()
    assert homeguard.runs_naming(db, ["/tmp/pytest-of-x/pytest-7"]) == ["a"]
    assert homeguard.runs_naming(db, ["/tmp/pytest-of-x/pytest-8"]) == []
    assert homeguard.runs_naming(tmp_path / "none.db", ["/tmp"]) == []


def _prefect_db(path: Path, root: str) -> None:
    path.parent.mkdir(parents=True)
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE flow_run (id TEXT, parameters JSON)")
    con.execute("INSERT INTO flow_run VALUES ('r1', ?)", [f'{{"root": "{root}/test_x0/data"}}'])
    con.commit()
    con.close()


def test_a_session_that_wrote_into_the_real_prefect_home_fails(tmp_path):
    """A pytest session with the guard, whose "real" Prefect home (PREFECT_HOME when the session starts) records
    a flow run of the session's temporary folder, exits 1 and says so; without such a run it passes."""
    tests = Path(__file__).resolve().parents[1]
    (tmp_path / "conftest.py").write_text(f"import sys\nsys.path.insert(0, {str(tests)!r})\n"
                                          "from homeguard import pytest_sessionfinish  # noqa: F401\n")
    (tmp_path / "test_x.py").write_text("def test_x(tmp_path):\n    assert tmp_path.is_dir()\n")
    for name, root, code in (("wrote", tmp_path / "base", 1), ("other", "/srv/codeetl", 0)):
        _prefect_db(tmp_path / name / "prefect.db", str(root))
        env = {**os.environ, "PREFECT_HOME": str(tmp_path / name)}
        r = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--basetemp",
                            str(tmp_path / "base"), "test_x.py"], cwd=tmp_path, env=env, capture_output=True,
                           text=True, timeout=120)
        assert r.returncode == code, r.stdout + r.stderr
        assert ("the tests wrote into the user's Prefect home: flow run r1" in r.stdout) == (code == 1)
