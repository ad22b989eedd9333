"""The ``codeetl`` command line (typer + rich).

Errors that codeetl raises on purpose (bad input, missing warehouse, a broken source file) are printed
as one clear message with a non-zero exit code, never as a traceback.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
from pathlib import Path
from typing import Annotated, Optional

import duckdb
import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from codeetl import pipeline
from codeetl.errors import CodeEtlError

app = typer.Typer(
    help="Official US medical code sets (ICD-10-CM, GEMs, MS-DRG, Medicare PFS) as a DuckDB warehouse.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
out = Console()
err = Console(stderr=True)

DataDir = Annotated[Path, typer.Option("--data-dir", envvar="CODEETL_DATA", help="Folder holding raw/ and warehouse/.")]
AsOf = Annotated[Optional[str], typer.Option("--as-of", help="Use the releases in effect on this date (YYYY-MM-DD); default today.")]
AsJson = Annotated[bool, typer.Option("--json", help="Print the page as JSON (keys documented in the README).")]


def _fail(message: str, code: int = 1) -> None:
    err.print(f"[bold red]error:[/] {escape(message)}", highlight=False)
    raise typer.Exit(code)


def _date(text: str | None) -> dt.date | None:
    if text is None:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        _fail(f"--as-of {text!r}: expected a date as YYYY-MM-DD", 2)


def _connect(data_dir: Path) -> duckdb.DuckDBPyConnection:
    try:
        db = pipeline.current_database(data_dir)
    except CodeEtlError as e:
        _fail(str(e))
    return duckdb.connect(str(db), read_only=True)


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
    from flows import refresh as flow_module

    progress = Progress(TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TimeElapsedColumn(),
                        console=err, transient=False, disable=not err.is_terminal)
    tasks: dict[str, int] = {}

    def on_progress(label: str, done: int, total: int | None) -> None:
        if label not in tasks:
            tasks[label] = progress.add_task(label, total=total)
        progress.update(tasks[label], completed=done, total=total)

    flow_module.set_progress(on_progress, lambda message: err.print(f"[dim]·[/] {escape(message)}", highlight=False))
    err.print(f"Refreshing into {data_dir}/ from {mirror or 'the official CMS/CDC URLs'} ...")
    try:
        with progress:
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


def _show(data_dir: Path, make, render, as_json: bool) -> None:
    """Build a page with make(con) and print it (rich, or JSON), mapping errors to messages and exit codes:
    2 for malformed input, 1 for anything not found (with close matches when there are some)."""
    from codeetl.page import MalformedCode

    con = _connect(data_dir)
    try:
        p = make(con)
    except MalformedCode as e:
        _fail(str(e), 2)
    except duckdb.Error as e:  # e.g. a warehouse built by an older codeetl, without a newer table
        _fail(f"the warehouse at {data_dir} cannot answer this ({e.__class__.__name__}: {str(e).splitlines()[0]}); "
              "it may have been built by an older codeetl: run `codeetl refresh`")
    except CodeEtlError as e:
        msg, near = str(e), getattr(e, "suggestions", None)
        if near:
            msg += "\nClose matches:\n" + "\n".join(
                f"  {s.get('code') or s.get('hcpcs'):<9} {s['description']}" for s in near)
        _fail(msg)
    if as_json:
        sys.stdout.write(json.dumps(p, indent=2, default=str) + "\n")
    else:
        render(out, p)


@app.command()
def code(
    code: Annotated[str, typer.Argument(help="An ICD-10-CM code, with or without the dot: M96.1, M961, m96.1")],
    as_json: AsJson = False,
    as_of: AsOf = None,
    release: Annotated[Optional[str], typer.Option(help="Use this ICD-10-CM release id instead of --as-of (the other sections use the releases of its first day).")] = None,
    data_dir: DataDir = Path("data"),
) -> None:
    """Show the code page of an ICD-10-CM code."""
    from codeetl.page import code_page
    from codeetl.render import render_code_page

    if release and as_of:
        _fail("--release and --as-of cannot be used together: --release fixes the date (the release's first day)", 2)
    day = _date(as_of)
    _show(data_dir, lambda con: code_page(con, code, as_of=day, release=release), render_code_page, as_json)


@app.command()
def drg(
    number: Annotated[str, typer.Argument(help="An MS-DRG number: 551 (or 0551)")],
    as_json: AsJson = False,
    as_of: AsOf = None,
    data_dir: DataDir = Path("data"),
) -> None:
    """Show an MS-DRG page: title, MDC, type, weights, lengths of stay, family and defining diagnoses."""
    from codeetl.page import drg_page
    from codeetl.render import render_drg_page

    day = _date(as_of)
    _show(data_dir, lambda con: drg_page(con, number, as_of=day), render_drg_page, as_json)


@app.command()
def icd9(
    code: Annotated[str, typer.Argument(help="An ICD-9-CM diagnosis code: 722.83, 25012, V45.4")],
    as_json: AsJson = False,
    data_dir: DataDir = Path("data"),
) -> None:
    """Show an ICD-9-CM code's ICD-10-CM equivalents (GEMs), with combination scenarios and choice lists."""
    from codeetl.page import icd9_page
    from codeetl.render import render_icd9_page

    _show(data_dir, lambda con: icd9_page(con, code), render_icd9_page, as_json)


@app.command()
def cpt(
    code: Annotated[str, typer.Argument(help="A CPT or HCPCS code: 99213, G0438")],
    locality: Annotated[Optional[str], typer.Option(help="Also price in this PFS locality: MAC-locality (01112-05) or part of its name.")] = None,
    as_json: AsJson = False,
    as_of: AsOf = None,
    data_dir: DataDir = Path("data"),
) -> None:
    """Show a procedure's Medicare Physician Fee Schedule page: descriptor, status, RVUs, national and locality amounts."""
    from codeetl.cpt_page import cpt_page
    from codeetl.render import render_cpt_page

    day = _date(as_of)
    _show(data_dir, lambda con: cpt_page(con, code, as_of=day, locality=locality), render_cpt_page, as_json)


@app.command()
def releases(data_dir: DataDir = Path("data")) -> None:
    """List the releases loaded into the warehouse, with the sha256 of each download and where it came from."""
    con = _connect(data_dir)
    t = Table(title="Releases loaded (one row per release; one sha256 per download)")
    for c in ("dataset", "release", "label", "effective", "sha256", "fetched from"):
        t.add_column(c)
    for r in con.execute("""
            SELECT dataset, release, label, effective_from, effective_to,
                   list(sha256 ORDER BY source_url), list(fetched_from ORDER BY source_url)
            FROM releases GROUP BY ALL ORDER BY dataset, effective_from""").fetchall():
        t.add_row(r[0], r[1], r[2], f"{r[3]} – {r[4] or ''}", "\n".join(h[:12] for h in r[5]), "\n".join(r[6]))
    out.print(t)


@app.command()
def dictionary(
    data_dir: DataDir = Path("data"),
    update_readme: Annotated[Optional[Path], typer.Option(help="Rewrite the data dictionary section of this README instead of printing.")] = None,
) -> None:
    """Print the data dictionary (every table, view and column with its COMMENT) as Markdown."""
    from codeetl.dictionary import markdown, replace_in_readme

    con = _connect(data_dir)
    md = markdown(con)
    if update_readme:
        update_readme.write_text(replace_in_readme(update_readme.read_text(encoding="utf-8"), md), encoding="utf-8")
        err.print(f"updated the data dictionary in {update_readme}")
    else:
        sys.stdout.write(md)


from codeetl.check.command import check as _check  # noqa: E402  (issue 11: codeetl check PAGE)

app.command(name="check")(_check)


def main() -> None:  # pragma: no cover
    app()
