"""``codeetl refresh``: download, parse what changed, build and publish (the Prefect flow)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.markup import escape
from rich.table import Table

from codeetl import pipeline
from codeetl.cli.app import DataDir, _fail, app, err, out
from codeetl.errors import CodeEtlError


@app.command()
def refresh(
    mirror: Annotated[Optional[str], typer.Option(help="Directory or base URL laid out <dataset>/<release>/<file> (e.g. ../shared/cms) to use instead of the official CMS/CDC URLs.")] = None,
    dataset: Annotated[Optional[list[str]], typer.Option(help="Only this dataset (repeatable).")] = None,
    release: Annotated[Optional[list[str]], typer.Option(help="Only this release id (repeatable).")] = None,
    data_dir: DataDir = Path("data"),
) -> None:
    """Download every catalog release (from CMS/CDC, or --mirror), parse what changed and publish a new warehouse.

    Without --mirror the official URLs in the catalog are used. Releases the mirror does not carry
    are skipped with a warning. A failure leaves the previous warehouse untouched.
    """
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    from codeetl.catalog import load_catalog

    try:  # bad names fail here, before Prefect starts
        pipeline.select_releases(load_catalog(), dataset, release)
    except CodeEtlError as e:
        _fail(str(e), 2)
    try:  # and so does a data folder that cannot be one
        data_dir.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        _fail(f"--data-dir {data_dir}: {e}\nThe previous warehouse (if any) is unchanged.")

    # The CLI reports every stage and warning itself; Prefect's own log would repeat failures as tracebacks.
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "CRITICAL")
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")  # no telemetry from air-gapped networks
    from codeetl.flows import refresh as flow_module

    progress = Progress(TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TimeElapsedColumn(),
                        console=err, transient=False, disable=not err.is_terminal)
    tasks: dict[str, int] = {}

    def on_progress(label: str, done: int, total: int | None) -> None:
        if label not in tasks:
            tasks[label] = progress.add_task(label, total=total)
        progress.update(tasks[label], completed=done, total=total)

    notify = lambda message: err.print(f"[dim]·[/] {escape(message)}", highlight=False)  # noqa: E731
    err.print(f"Refreshing into {data_dir}/ from {mirror or 'the official CMS/CDC URLs'} ...")
    try:
        with progress, flow_module.reporting(on_progress, notify):
            summary = flow_module.refresh(root=str(data_dir), mirror=mirror, datasets=dataset, releases=release)
    except CodeEtlError as e:
        _fail(f"{e}\nThe previous warehouse (if any) is unchanged.")
    except RuntimeError as e:
        _fail(str(e))
    except OSError as e:  # unreadable/unwritable data folder, full disk, ...
        _fail(f"{e}\nThe previous warehouse (if any) is unchanged.")
    table = Table(title=f"Published {summary['database']} (build {summary['build_id']})")
    table.add_column("table")
    table.add_column("rows", justify="right")
    for name, rows in summary["tables"].items():
        table.add_row(name, f"{rows:,}")
    out.print(table)
    for line in summary["loaded"]:
        out.print(f"[green]loaded[/] {line}")
    for line in summary["skipped"]:
        out.print(f"[yellow]skipped[/] {line}")
