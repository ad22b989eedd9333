"""``codeetl refresh``: download, parse what changed, build and publish (the Prefect flow).

The command runs the refresh in a worker process that dies with it (:mod:`codeetl.ops.supervise`), takes the
refresh lock before Prefect starts, and turns every failure into one message (and, with ``--json``, a
summary object with every quality gate).
"""

from __future__ import annotations

import json
import os
import re
import sys
import time
from pathlib import Path
from typing import Annotated, Optional

import typer

from codeetl.cli.app import escape, DataDir, _clip, _fail, app, err, out
from codeetl.errors import CodeEtlError


@app.command()
def refresh(
    mirror: Annotated[Optional[str], typer.Option(help="Directory or base URL laid out <dataset>/<release>/<file> (e.g. ../shared/cms) to use instead of the official CMS/CDC URLs.")] = None,
    dataset: Annotated[Optional[list[str]], typer.Option(help="Only this dataset (repeatable).")] = None,
    release: Annotated[Optional[list[str]], typer.Option(help="Only this release id (repeatable).")] = None,
    data_dir: DataDir = Path("data"),
    timeout: Annotated[Optional[float], typer.Option(min=1, help="Seconds a failing download may take, retries and waits included, before the refresh gives up (default 60).")] = None,
    retries: Annotated[Optional[int], typer.Option(min=0, max=20, help="Retries of a download after a connection error, timeout, 429 or 5xx (default 4).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print a summary object (tables, loaded, skipped, gates) as JSON on stdout, also when the refresh fails.")] = False,
    catalog: Annotated[Optional[Path], typer.Option("--catalog", envvar="CODEETL_CATALOG", help="Folder of <dataset>.toml catalogs to use instead of the packaged ones (URLs, member names, pins).")] = None,
) -> None:
    """Download every catalog release (from CMS/CDC, or --mirror), parse what changed and publish a new warehouse.

    Without --mirror the official URLs in the catalog are used. Releases the mirror does not carry
    are skipped with a warning. A failure leaves the previous warehouse untouched.
    """
    from codeetl.build import pipeline
    from codeetl.ops import supervise
    from codeetl.sources.catalog import CATALOG_ENV, load_catalog

    if catalog is not None:  # the worker and the flow's tasks read the same catalog (load_catalog's default)
        os.environ[CATALOG_ENV] = str(catalog.resolve())
    try:  # bad names fail here, before Prefect starts
        pipeline.select_releases(load_catalog(), dataset, release)
    except CodeEtlError as e:
        _fail(str(e), 2)
    if mirror is not None and not mirror.startswith(("http://", "https://")) and not Path(mirror).is_dir():
        _fail(f"--mirror {_clip(mirror)}: no such folder (a mirror is a folder or an http(s):// base URL)", 2)
    try:  # and so does a data folder that cannot be one
        data_dir.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        _fail(f"--data-dir {data_dir}: {e}\nThe previous warehouse (if any) is unchanged.")
    argv = ["refresh", "--data-dir", str(data_dir)] + (["--mirror", mirror] if mirror else [])
    argv += [a for d in dataset or [] for a in ("--dataset", d)] + [a for r in release or [] for a in ("--release", r)]
    argv += (["--timeout", str(timeout)] if timeout else []) + (["--retries", str(retries)] if retries is not None else [])
    code = supervise.run_supervised(argv + (["--json"] if as_json else []), data_dir, report=_worker_died)
    if code is not None:  # the worker did the refresh and said everything (or died: _worker_died said so)
        raise typer.Exit(code)
    try:
        _refresh_here(data_dir, mirror, dataset, release, timeout, retries, as_json)
    except typer.Exit as e:
        code = e.exit_code
    if supervise.is_supervised_worker():  # done: skip the interpreter's teardown (seconds when the machine is busy)
        supervise.exit_now(code or 0)
    raise typer.Exit(code or 0)


def _refresh_here(data_dir: Path, mirror, dataset, release, timeout, retries, as_json: bool) -> None:
    """Do the refresh in this process (the worker): lock, record, run the flow, print what it did. Raises
    typer.Exit with the exit status on failure."""
    from codeetl.build import ledger, pipeline
    from codeetl.ops import supervise

    try:  # a second refresh stops at the lock, before Prefect starts; every run that got the lock is recorded
        with supervise.worker(data_dir), pipeline.refresh_lock(data_dir) as notes, \
                ledger.recording(data_dir, dataset, "cli"):
            for note in notes:
                err.print(f"[yellow]warning:[/] {escape(note)}", highlight=False)
            summary = _run_flow(data_dir, mirror, dataset, release, timeout, retries)
            summary["notes"] = notes + summary.get("notes", [])
    except BaseException as e:  # every failure is one message, never a traceback
        _refresh_failed(e, as_json)
    _print_summary(summary, as_json)


def _run_flow(data_dir: Path, mirror, dataset, release, timeout, retries) -> dict:
    """Run the Prefect flow with progress bars and one line per stage on stderr; returns its summary."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from codeetl.build.progress import label
    from codeetl.ops import orchestrator

    # The CLI reports every stage and warning itself: Prefect stays quiet, sends no telemetry, and its
    # API server gets time to start on a busy machine. Before Prefect is imported.
    orchestrator.configure_prefect_env()
    where = f" (catalog: {os.environ['CODEETL_CATALOG']})" if os.environ.get("CODEETL_CATALOG") else ""
    err.print(f"Refreshing into {data_dir}/ from {mirror or 'the official CMS/CDC URLs'}{where} ...", soft_wrap=True)
    started = time.perf_counter()  # the orchestrator's start: importing Prefect, then its API server
    from codeetl.ops import flow as flow_module

    progress = Progress(TextColumn("{task.description}"), BarColumn(), _amount_column(), TimeElapsedColumn(),
                        console=err.real(), transient=False, disable=not err.is_terminal)
    tasks: dict[str, int] = {}

    def on_progress(label: str, done: int, total: int | None) -> None:
        """Show a download's progress bar: ``done`` of ``total`` bytes (None: unknown) under ``label``."""
        if label not in tasks:
            tasks[label] = progress.add_task(label, total=total)
        progress.update(tasks[label], completed=done, total=total)

    def on_stage(stage: str, done: float, total: int, text: str) -> None:
        """Show a long stage's bar (the build, a dataset's fetch and parse): ``done`` of its ``total`` steps, the
        step under way beside it (:mod:`codeetl.build.progress`)."""
        if stage not in tasks:
            tasks[stage] = progress.add_task(stage, total=total, steps=True)
        progress.update(tasks[stage], completed=done, total=total, description=escape(label(stage, text)))

    def notify(message: str) -> None:
        err.print(f"[dim]·[/] {escape(message)}", highlight=False)

    with progress:  # Prefect's API server first (seconds, up to minutes on a busy machine): a pulsing bar
        server = progress.add_task("Prefect API server: starting", total=None, plain=True)
        orchestrator.start_api(notify)
        progress.update(server, total=1, completed=1, description="Prefect API server: ready")
        api = time.perf_counter()
        with flow_module.reporting(on_progress, notify, on_stage):
            summary = flow_module.refresh(root=str(data_dir), mirror=mirror, datasets=dataset, releases=release,
                                          timeout=timeout, retries=retries)
    seconds = summary.setdefault("seconds", {})
    seconds["orchestrator_start"] = round(api - started, 3)
    seconds["flow"] = round(time.perf_counter() - api, 3)
    return summary


def _amount_column():
    """The progress bars' amount column: bytes for a download (rich's DownloadColumn), "3/5 steps" for a stage,
    nothing for a wait (the API server's start)."""
    from rich.progress import DownloadColumn, ProgressColumn
    from rich.text import Text

    class Amount(ProgressColumn):
        def __init__(self) -> None:
            super().__init__()
            self.download = DownloadColumn()

        def render(self, task) -> Text:
            """The amount done of `task`: its steps, or its bytes (nothing for a wait)."""
            if task.fields.get("plain"):
                return Text("")
            if task.fields.get("steps"):
                return Text(f"{int(task.completed)}/{int(task.total or 0)} steps", style="progress.download")
            return self.download.render(task)

    return Amount()


def _worker_died(line: str) -> None:
    """The supervisor's one line when the worker died (killed by the kernel, crashed)."""
    err.print(f"[bold red]error:[/] {escape(line)}", highlight=False)


def _refresh_failed(e: BaseException, as_json: bool) -> None:
    """Report a failed refresh as one message (and the gates as JSON with --json); exits non-zero."""
    from codeetl.build.gates import GateFailure
    from codeetl.ops.supervise import Terminated

    if isinstance(e, typer.Exit):
        raise e
    kept = "\nThe previous warehouse (if any) is unchanged."
    if isinstance(e, (KeyboardInterrupt, Terminated)) or type(e).__name__ == "TerminationSignal":  # Prefect's SIGTERM
        code, msg = 130 if isinstance(e, KeyboardInterrupt) else 143, "the refresh was interrupted; nothing half-written is left." + kept
    elif isinstance(e, CodeEtlError):
        code, msg = 1, f"{e}{kept}"
    elif isinstance(e, RuntimeError) and "nothing was fetched" in str(e):
        code, msg = 1, str(e)
    elif isinstance(e, OSError):  # unreadable/unwritable data folder, full disk, ...
        code, msg = 1, f"{e}{kept}"
    else:
        code, msg = 1, f"unexpected error ({e.__class__.__name__}: {_clip(str(e), 300)}){kept}"
    if as_json:
        gates = [r.to_dict() for r in e.results] if isinstance(e, GateFailure) else []
        sys.stdout.write(json.dumps({"ok": False, "error": msg.strip(), "gates": gates}, indent=2, default=str) + "\n")
    _fail(msg, code)


def _print_skipped(skipped: list[str]) -> None:
    """The skipped releases ('pfs/2024-A: not in the mirror'), one line per dataset and reason, in catalog order
    ("skipped pfs: 2024-A, 2024-B, ... (not in the mirror)"); ``--json`` keeps one entry per release."""
    grouped: dict[tuple[str, str], list[str]] = {}
    for line in skipped:
        release = re.fullmatch(r"([^/\s:]+)/(\S+): (.*)", line)
        if release:
            grouped.setdefault((release[1], release[3]), []).append(release[2])
        else:  # anything else skipped (a curated link line) as it is
            out.print(f"[yellow]skipped[/] {escape(line)}")
    for (ds, why), rids in grouped.items():
        out.print(f"[yellow]skipped[/] {escape(ds)}: {escape(', '.join(rids))} ({escape(why)})")


def _print_summary(summary: dict, as_json: bool) -> None:
    """What the refresh did: nothing changed (one line), or the published build's row counts, gates, loaded and
    skipped releases and what changed (or the JSON summary)."""
    from rich.table import Table

    from codeetl.build.changes import describe

    if as_json:
        sys.stdout.write(json.dumps({"ok": True, **summary}, indent=2, default=str) + "\n")
        return
    if not summary["changed"]:
        out.print(f"[green]nothing changed[/]: build {summary['build_id']} stays current ({summary['database']}); "
                  f"{len(summary['loaded'])} releases checked, nothing downloaded, parsed or built")
        _print_skipped(summary["skipped"])
        return
    # a line of its own, not the table's title: a title is wrapped to the table's width, splitting the path
    out.print(f"Published {summary['database']} (build {summary['build_id']})", soft_wrap=True, highlight=False)
    table = Table()
    table.add_column("table")
    table.add_column("rows", justify="right")
    for name, rows in summary["tables"].items():
        table.add_row(name, f"{rows:,}")
    out.print(table)
    passed = sum(1 for g in summary.get("gates", []) if g["passed"])
    out.print(f"[green]quality gates[/] {passed} of {len(summary.get('gates', []))} passed")
    for line in summary["loaded"]:
        out.print(f"[green]loaded[/] {line}")
    _print_skipped(summary["skipped"])
    for line in describe(summary):
        out.print(f"[bold]changed[/] {escape(line)}")
