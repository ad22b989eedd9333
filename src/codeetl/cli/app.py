"""The ``codeetl`` command line: the typer app, its shared options and how errors become messages.

Commands live in the modules of this package, one per area (:mod:`.refresh`, :mod:`.pages`, :mod:`.info`).

Errors that codeetl raises on purpose (bad input, missing warehouse, a broken source file) are printed
as one clear message with a non-zero exit code, never as a traceback.

Nothing here imports rich, Prefect or pydantic until a command uses them: ``codeetl code M96.1 --json``
loads only typer and DuckDB (README "Benchmark": its process against ``python -c "import duckdb"``). The
consoles :data:`out` and :data:`err` are made on first use, and rich with them.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path
from typing import Annotated, Optional

import duckdb
import typer

from codeetl.build import paths
from codeetl.cli import plain_params
from codeetl.codes import iso_date
from codeetl.errors import CodeEtlError, command

plain_params.install()  # typer converts text and path parameters without importing pydantic

app = typer.Typer(
    help="Official US medical code sets (ICD-10-CM, GEMs, MS-DRG, Medicare PFS) as a DuckDB warehouse.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


def _unwrapped(stderr: bool):
    """A console that is not a terminal (a pipe, a file, the journal, cron's mail): nothing printed is wrapped, so
    every line stays one line and a URL or path is never split, and a table is as wide as its contents. Rules
    (section lines) are drawn 80 columns wide."""
    from rich.console import Console

    class Unwrapped(Console):
        COLUMNS = 100_000  # the width rich lays out for: wider than any line codeetl prints
        RULE = 80

        def __init__(self, stderr: bool = False) -> None:
            super().__init__(stderr=stderr, soft_wrap=True, width=self.COLUMNS)

        def rule(self, *args, **kwargs) -> None:
            """A section line, :data:`RULE` columns wide; returns None."""
            self.width = self.RULE
            try:
                super().rule(*args, **kwargs)
            finally:
                self.width = self.COLUMNS

    return Unwrapped(stderr)


def console(stderr: bool = False):
    """The console for stdout (or stderr): rich's own on a terminal (wrapped to its width, colours, progress
    bars), else one that never wraps (:func:`_unwrapped`)."""
    from rich.console import Console

    terminal = Console(stderr=stderr)
    return terminal if terminal.is_terminal else _unwrapped(stderr)


class LazyConsole:
    """Stands for :func:`console` (stdout or stderr) and makes it on first use: importing the CLI does not import
    rich. Every attribute is the real console's."""

    def __init__(self, stderr: bool = False) -> None:
        self._stderr, self._real = stderr, None

    def real(self):
        """The console itself (made now if not yet)."""
        if self._real is None:
            self._real = console(self._stderr)
        return self._real

    def __getattr__(self, name: str):
        return getattr(self.real(), name)

    def __setattr__(self, name: str, value) -> None:
        if name.startswith("_"):
            object.__setattr__(self, name, value)
        else:
            setattr(self.real(), name, value)


def escape(text: str) -> str:
    """`text` with rich markup escaped (rich imported when first needed); returns the escaped text."""
    from rich.markup import escape as rich_escape

    return rich_escape(text)


out = LazyConsole()
err = LazyConsole(stderr=True)

def _settings() -> None:
    """Refuse a bad setting read from the environment (CODEETL_TODAY) with one message, before any command
    (called by the app's one callback, :func:`_options`: typer keeps only the last one registered)."""
    from codeetl import clock

    try:
        clock.today()
    except ValueError as e:
        _fail(str(e), 2)


DataDir = Annotated[Path, typer.Option("--data-dir", envvar="CODEETL_DATA", help="Folder holding raw/ and warehouse/.")]
AsOf = Annotated[Optional[str], typer.Option("--as-of", "--date", help="Use the releases in effect on this date (YYYY-MM-DD); default today.")]
AsJson = Annotated[bool, typer.Option("--json", help="Print the page as JSON (keys documented in the README).")]


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import version

        out.print(f"codeetl {version('codeetl')} (DuckDB {version('duckdb')}, Prefect {version('prefect')}, "
                  f"Python {sys.version.split()[0]})", highlight=False)
        raise typer.Exit()


@app.callback()
def _options(
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True, help="Print codeetl's version (and DuckDB's, Prefect's, Python's) and exit.")] = False,
) -> None:
    _settings()


def _fail(message: str, code: int = 1) -> None:
    err.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


MAX_ARG = 40  # characters: no code, number, date or locality name comes near


def _clip(text: str, limit: int = 60) -> str:
    """User text made safe to echo: at most `limit` characters, non-printable ones escaped."""
    shown = text[:limit].encode("utf-8", "backslashreplace").decode("utf-8", "replace")
    shown = "".join(c if c.isprintable() else repr(c)[1:-1] for c in shown)
    return shown + (f"... ({len(text):,} characters)" if len(text) > limit else "")


def _check_arg(text: str | None, what: str) -> None:
    """Refuse an over-long or binary command-line value with a short message (exit 2) before it is used."""
    if text is None:
        return
    if len(text) > MAX_ARG:
        _fail(f"{what} {_clip(text, 20)!s}: too long ({len(text):,} characters; at most {MAX_ARG})", 2)
    if not text.isprintable():
        _fail(f"{what} {_clip(text, 20)!s}: not printable text", 2)


def _date(text: str | None) -> dt.date | None:
    if text is None:
        return None
    _check_arg(text, "--as-of")
    day = iso_date(text)
    if day is None:
        _fail(f"--as-of {text!r}: expected a date as YYYY-MM-DD (e.g. 2026-04-01)", 2)
    return day


def _connect(data_dir: Path) -> duckdb.DuckDBPyConnection:
    """The published warehouse, read-only, opened by its build's own path (not the ``current`` link), so that
    everything a command reads, the build's parquet export included, is of one build even if a refresh
    publishes another meanwhile."""
    try:
        db = paths.current_database(data_dir)
    except CodeEtlError as e:
        _fail(str(e))
    return duckdb.connect(str(db.resolve()), read_only=True)


def _show(data_dir: Path, make, render, as_json: bool) -> None:
    """Build a page with make(con) and print it (rich, or JSON), mapping errors to messages and exit codes:
    2 for malformed input, 1 for anything not found (with close matches when there are some). `render` is
    ``render(console, page)`` or the name of a page whose renderer ``codeetl.cli.render.<name>.render_<name>_page``
    is imported only when it is used (not for JSON: rich is not imported)."""
    from codeetl.pages.common import MalformedCode

    con = _connect(data_dir)
    try:
        p = make(con)
    except MalformedCode as e:
        _fail(str(e), 2)
    except duckdb.Error as e:  # e.g. a warehouse built by an older codeetl, without a newer table
        _fail(f"the warehouse at {data_dir} cannot answer this ({e.__class__.__name__}: {str(e).splitlines()[0]}); "
              f"it may have been built by an older codeetl: run `{command('refresh')}`")
    except CodeEtlError as e:
        msg, near = str(e), getattr(e, "suggestions", None)
        if near:
            msg += "\nClose matches:\n" + "\n".join(
                f"  {s.get('code') or s.get('hcpcs'):<9} {s['description']}" for s in near)
        _fail(msg)
    finally:  # the page is plain data: the connection and its results are released before anything is printed
        con.close()
    if as_json:
        sys.stdout.write(json.dumps(p, indent=2, default=str) + "\n")
    else:
        if isinstance(render, str):
            import importlib

            render = getattr(importlib.import_module(f"codeetl.cli.render.{render}"), f"render_{render}_page")
        render(out.real(), p)
