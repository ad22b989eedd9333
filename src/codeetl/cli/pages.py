"""The page commands: ``codeetl code``, ``drg``, ``icd9`` and ``cpt``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from codeetl.cli.app import AsJson, AsOf, DataDir, _check_arg, _date, _fail, _show, app


@app.command()
def code(
    code: Annotated[str, typer.Argument(help="An ICD-10-CM code, with or without the dot: M96.1, M961, m96.1")],
    as_json: AsJson = False,
    as_of: AsOf = None,
    release: Annotated[Optional[str], typer.Option(help="Use this ICD-10-CM release id instead of --as-of (the other sections use the releases of its first day).")] = None,
    data_dir: DataDir = Path("data"),
) -> None:
    """Show the code page of an ICD-10-CM code."""
    from codeetl.pages.code import code_page

    _check_arg(code, "code")
    _check_arg(release, "--release")
    if release and as_of:
        _fail("--release and --as-of cannot be used together: --release fixes the date (the release's first day)", 2)
    day = _date(as_of)
    _show(data_dir, lambda con: code_page(con, code, as_of=day, release=release), "code", as_json)


@app.command()
def drg(
    number: Annotated[str, typer.Argument(help="An MS-DRG number: 551 (or 0551)")],
    as_json: AsJson = False,
    as_of: AsOf = None,
    data_dir: DataDir = Path("data"),
) -> None:
    """Show an MS-DRG page: title, MDC, type, weights, lengths of stay, family and defining diagnoses."""
    _page("drg", number, "MS-DRG", as_of, data_dir, as_json)


@app.command()
def icd9(
    code: Annotated[str, typer.Argument(help="An ICD-9-CM diagnosis code: 722.83, 25012, V45.4")],
    as_json: AsJson = False,
    as_of: AsOf = None,
    data_dir: DataDir = Path("data"),
) -> None:
    """Show an ICD-9-CM code's ICD-10-CM equivalents (GEMs), with combination scenarios and choice lists."""
    _page("icd9", code, "ICD-9-CM code", as_of, data_dir, as_json)


@app.command()
def cpt(
    code: Annotated[str, typer.Argument(help="A CPT or HCPCS code: 99213, G0438")],
    locality: Annotated[Optional[str], typer.Option(help="Also price in this PFS locality: MAC-locality (01112-05) or part of its name.")] = None,
    as_json: AsJson = False,
    as_of: AsOf = None,
    data_dir: DataDir = Path("data"),
) -> None:
    """Show a procedure's Medicare Physician Fee Schedule page: descriptor, status, RVUs, national and locality amounts."""
    _check_arg(locality, "--locality")
    _page("cpt", code, "code", as_of, data_dir, as_json, locality=locality)


def _page(name: str, value: str, what: str, as_of: str | None, data_dir: Path, as_json: bool, **options) -> None:
    """Show page `name` of `value`: ``codeetl.pages.<name>.<name>_page(con, value, as_of=day, **options)``
    rendered by ``codeetl.cli.render.<name>.render_<name>_page`` (imported when used: pages load duckdb, the
    renderers rich)."""
    import importlib

    _check_arg(value, what)
    day = _date(as_of)
    make = getattr(importlib.import_module(f"codeetl.pages.{name}"), f"{name}_page")
    _show(data_dir, lambda con: make(con, value, as_of=day, **options), name, as_json)
