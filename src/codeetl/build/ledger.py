"""The run ledger: every refresh of a data folder, in ``data/warehouse/refresh_runs.parquet``.

The file lives outside the build folders, so it survives every build, and every warehouse shows it as the
view ``refresh_runs`` (``sql/runs.sql``). A run appends a ``running`` row when it starts and replaces it with
its outcome when it ends (``published``, ``unchanged`` or ``failed`` with the error); a row still ``running``
when the next run starts belonged to a killed run and becomes ``interrupted``. Writes happen under the
refresh lock and replace the file atomically (write a temporary file, then rename), so a reader never sees a
half-written ledger. DuckDB reads and writes it: no other dependency.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from codeetl.errors import WarehouseError
from codeetl.build.named_sql import named_statements

LEDGER_NAME = "refresh_runs.parquet"
COLUMNS = ("run_id", "started_at", "finished_at", "status", "changed", "releases_added", "error", "build_id",
           "datasets", "trigger", "changes")


def ledger_path(root: str | Path) -> Path:
    """The ledger file of data folder `root`: ``<root>/warehouse/refresh_runs.parquet``."""
    return Path(root) / "warehouse" / LEDGER_NAME


def read_runs(root: str | Path) -> list[dict]:
    """Every run recorded for `root`, oldest first, as dicts (timestamps as aware datetimes); [] when none.
    WarehouseError when the file cannot be read (damaged)."""
    path = ledger_path(root)
    if not path.exists():
        return []
    con = duckdb.connect()
    try:
        cur = con.execute("SELECT * FROM read_parquet(?) ORDER BY started_at, run_id", [str(path)])
        cols = [d[0] for d in cur.description]
        return [dict(zip(cols, r)) for r in cur.fetchall()]
    except duckdb.Error as e:
        raise WarehouseError(f"the run ledger {path} cannot be read ({str(e).splitlines()[0]})") from None
    finally:
        con.close()


def _readable_runs(root: Path) -> list[dict]:
    """The recorded runs; a damaged ledger is moved aside (``refresh_runs.parquet.damaged-<time>``, kept for
    inspection) and a new one started, rather than stopping every refresh from now on."""
    try:
        return read_runs(root)
    except WarehouseError:
        path = ledger_path(root)
        os.replace(path, path.with_name(f"{LEDGER_NAME}.damaged-{_now():%Y%m%dT%H%M%S}"))
        return []


def _write(root: str | Path, runs: list[dict]) -> None:
    """Replace the ledger with `runs`, atomically."""
    path = ledger_path(root)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{LEDGER_NAME}.{os.getpid()}.part")
    con = duckdb.connect()
    try:
        con.execute("SET TimeZone = 'UTC'")
        con.execute(named_statements("runs.sql")["ledger_table"])
        if runs:
            marks = ", ".join("?" for _ in COLUMNS)
            con.executemany(f"INSERT INTO ledger VALUES ({marks})", [[r.get(c) for c in COLUMNS] for r in runs])
        target = str(tmp).replace("'", "''")
        con.execute(f"COPY (SELECT * FROM ledger ORDER BY started_at, run_id) TO '{target}' (FORMAT parquet)")
    finally:
        con.close()
    os.replace(tmp, path)


def ensure_ledger(root: str | Path) -> Path:
    """Create an empty ledger for `root` if there is none (a build's ``refresh_runs`` view needs the file);
    returns its path."""
    path = ledger_path(root)
    if not path.exists():
        _write(root, [])
    return path


@dataclass
class Run:
    """A run being recorded: set ``outcome`` (status, changed, releases_added, build_id, changes) before it
    ends; an exception ending it records ``failed`` with the message."""

    root: Path
    row: dict
    outcome: dict = field(default_factory=dict)


_ACTIVE: dict[str, Run] = {}  # data folder -> the run this process records there (nested use shares it)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


@contextlib.contextmanager
def recording(root: str | Path, datasets: list[str] | None = None, trigger: str = "cli", run_id: str | None = None):
    """Record one run of `root` in the ledger (call it holding the refresh lock). Yields the :class:`Run`;
    when this process records a run of `root` already (the CLI around the flow), yields that one and leaves
    the recording to the outer use. Rows still ``running`` from a killed run become ``interrupted``."""
    root = Path(root)
    key = str(root.resolve())
    if key in _ACTIVE:
        yield _ACTIVE[key]
        return
    started = _now()
    row = {"run_id": run_id or f"{started:%Y%m%dT%H%M%S.%f}-{os.getpid()}", "started_at": started, "status": "running",
           "datasets": list(datasets) if datasets else None, "trigger": trigger}
    runs = [{**r, "status": "interrupted"} if r["status"] == "running" else r for r in _readable_runs(root)]
    _write(root, runs + [row])
    run = _ACTIVE[key] = Run(root, row)
    try:
        yield run
    except BaseException as e:
        _finish(run, {"status": "failed", "changed": False, "error": _one_line(e), "build_id": _current_build(root)})
        raise
    else:
        _finish(run, {"status": "published", "changed": True, **run.outcome})
    finally:
        _ACTIVE.pop(key, None)


def mark_interrupted(root: str | Path) -> None:
    """Mark the runs of `root` still ``running`` ``interrupted`` (their process was killed), at once rather
    than at the next run; call it holding the refresh lock. Returns None."""
    runs = _readable_runs(Path(root))
    if any(r["status"] == "running" for r in runs):
        _write(root, [{**r, "status": "interrupted"} if r["status"] == "running" else r for r in runs])


def _finish(run: Run, outcome: dict) -> None:
    """Replace the run's ``running`` row with its outcome."""
    changes = outcome.get("changes")
    row = {**run.row, **{k: v for k, v in outcome.items() if k in COLUMNS}, "finished_at": _now(),
           "changes": json.dumps(changes, default=str) if changes else None}
    runs = [r for r in read_runs(run.root) if r["run_id"] != run.row["run_id"]]
    _write(run.root, runs + [row])


def _current_build(root: Path) -> str | None:
    """The id of the build `root` publishes (the one a failed run kept), or None."""
    current = root / "warehouse" / "current"
    return os.readlink(current).split("/")[-1] if current.is_symlink() else None


def _one_line(e: BaseException) -> str:
    """An exception as one line of at most 500 characters."""
    text = " ".join(str(e).split()) or e.__class__.__name__
    if e.__class__.__name__ in ("KeyboardInterrupt", "Terminated", "TerminationSignal"):
        text = "interrupted"
    return text[:500]
