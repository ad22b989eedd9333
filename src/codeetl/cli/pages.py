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
    from codeetl.render.code import render_code_page

    _check_arg(code, "code")
    _check_arg(release, "--release")
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
    from codeetl.pages.drg import drg_page
    from codeetl.render.drg import render_drg_page

    _check_arg(number, "MS-DRG")
    day = _date(as_of)
    _show(data_dir, lambda con: drg_page(con, number, as_of=day), render_drg_page, as_json)


@app.command()
def icd9(
    code: Annotated[str, typer.Argument(help="An ICD-9-CM diagnosis code: 722.83, 25012, V45.4")],
    as_json: AsJson = False,
    as_of: AsOf = None,
    data_dir: DataDir = Path("data"),
) -> None:
    """Show an ICD-9-CM code's ICD-10-CM equivalents (GEMs), with combination scenarios and choice lists."""
    from codeetl.pages.icd9 import icd9_page
    from codeetl.render.icd9 import render_icd9_page

    _check_arg(code, "ICD-9-CM code")
    day = _date(as_of)
    _show(data_dir, lambda con: icd9_page(con, code, as_of=day), render_icd9_page, as_json)


@app.command()
def cpt(
    code: Annotated[str, typer.Argument(help="A CPT or HCPCS code: 99213, G0438")],
    locality: Annotated[Optional[str], typer.Option(help="Also price in this PFS locality: MAC-locality (01112-05) or part of its name.")] = None,
    as_json: AsJson = False,
    as_of: AsOf = None,
    data_dir: DataDir = Path("data"),
) -> None:
    """Show a procedure's Medicare Physician Fee Schedule page: descriptor, status, RVUs, national and locality amounts."""
    from codeetl.pages.cpt import cpt_page
    from codeetl.render.cpt import render_cpt_page

    _check_arg(code, "code")
    _check_arg(locality, "--locality")
    day = _date(as_of)
    _show(data_dir, lambda con: cpt_page(con, code, as_of=day, locality=locality), render_cpt_page, as_json)
