"""``codeetl check PAGE``: verify a published code page (or a folder of pages) against the warehouse.

Exit status: 0 when nothing is contradicted, 1 when something is, 2 when nothing could be checked
(unreadable input, bad options, no warehouse). Errors are one line, never a traceback.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
import time
from pathlib import Path
from typing import Annotated, Optional

import typer
out = err = None  # the CLI's consoles, set by codeetl.cli when it registers this command


def _fail(message: str, code: int = 2) -> None:
    from rich.markup import escape

    err.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def _connect(data_dir: Path):
    import duckdb

    from codeetl.build import pipeline
    from codeetl.errors import CodeEtlError

    try:
        db = pipeline.current_database(data_dir)
    except CodeEtlError as e:
        _fail(str(e))
    return duckdb.connect(str(db), read_only=True)


def _as_of(text: str | None) -> dt.date | None:
    if text is None:
        return None
    from codeetl.codes import iso_date

    day = iso_date(text)
    if day is None:
        _fail(f"--as-of {text!r}: expected a date as YYYY-MM-DD (e.g. 2026-04-01)")
    return day


def check(
    page: Annotated[str, typer.Argument(help="A code page (plain text, Markdown or HTML), '-' for standard input, or a folder of pages.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON: the page's claims, one object each (text, kind, verdict, official, source, line).")] = False,
    as_of: Annotated[Optional[str], typer.Option("--as-of", "--date", help="Check as of this date (YYYY-MM-DD) instead of the date the page states.")] = None,
    release: Annotated[Optional[str], typer.Option(help="Check against this ICD-10-CM release (and the other datasets' releases of its first day).")] = None,
    code: Annotated[Optional[str], typer.Option(help="The page's code, when the page does not make it plain.")] = None,
    summary: Annotated[Optional[Path], typer.Option(help="Folder mode: where to write the summary parquet (default <data-dir>/check/<folder>-summary.parquet).")] = None,
    data_dir: Annotated[Path, typer.Option("--data-dir", envvar="CODEETL_DATA", help="Folder holding raw/ and warehouse/.")] = Path("data"),
) -> None:
    """Verify a published code page against the official files, claim by claim, as of the page's date."""
    from codeetl.check.facts import Facts

    if release and as_of:
        _fail("--release and --as-of cannot be used together: --release fixes the date (the release's first day)")
    day = _as_of(as_of)
    if page != "-" and not Path(page).exists():
        _fail(f"{page}: no such file or folder")
    if page != "-" and Path(page).is_dir():
        _check_folder(Facts(_connect(data_dir)), Path(page),
                      summary or data_dir / "check" / f"{Path(page).resolve().name}-summary.parquet",
                      as_json, as_of=day, release=release, code=code)
    text, name, read = _read_one(page)  # before the warehouse: a page that cannot be read says so at once
    _check_one(Facts(_connect(data_dir)), text, name, read, as_json, as_of=day, release=release, code=code)


def _read_one(page: str):
    from codeetl.check.read import UnreadablePage, read_page
    from codeetl.check.run import read_input

    try:
        text, name = read_input(page)
        return text, name, read_page(text, name)
    except UnreadablePage as e:
        _fail(str(e))


def _check_one(facts, text: str, name: str, read, as_json: bool, **kw) -> None:
    from codeetl.check.read import UnreadablePage
    from codeetl.check.report import render, report_json
    from codeetl.check.run import check_text
    from codeetl.errors import CodeEtlError

    try:
        r = check_text(facts, text, name, page=read, **kw)
    except UnreadablePage as e:
        _fail(str(e))
    except CodeEtlError as e:
        _fail(str(e))
    if as_json:
        sys.stdout.write(json.dumps(report_json(r), indent=2, default=str) + "\n")
    else:
        render(out, r)
    raise typer.Exit(1 if r.contradicted else 0)


def _check_folder(facts, folder: Path, parquet: Path, as_json: bool, **kw) -> None:
    from codeetl.check.report import render_summary, report_json, write_summary
    from codeetl.check.run import check_folder, page_files
    from codeetl.errors import CodeEtlError

    if not page_files(folder):
        _fail(f"{folder}: no pages (.txt, .md, .html) in it")
    t = time.perf_counter()
    try:
        reports = check_folder(facts, folder, **kw)
    except CodeEtlError as e:
        _fail(str(e))
    seconds = time.perf_counter() - t
    try:
        write_summary(reports, parquet)
    except OSError as e:
        _fail(f"{parquet}: {e.strerror or e}")
    if as_json:
        sys.stdout.write(json.dumps([report_json(r) for r in reports], indent=2, default=str) + "\n")
    else:
        render_summary(out, reports, seconds)
        err.print(f"summary written to {parquet}")
    if any(r.contradicted for r in reports):
        raise typer.Exit(1)
    raise typer.Exit(2 if any(r.error for r in reports) else 0)
