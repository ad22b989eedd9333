"""Running codeetl unattended: ``codeetl status`` (is the warehouse current?) and ``codeetl serve`` (the
scheduled refresh as Prefect deployments on this machine)."""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from codeetl.cli.app import escape, AsOf, DataDir, _clip, _date, _fail, app, err, out
from codeetl.errors import command


@app.command()
def status(
    data_dir: DataDir = Path("data"),
    dataset: Annotated[Optional[list[str]], typer.Option(help="Only this dataset (repeatable).")] = None,
    as_of: AsOf = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the status as JSON (keys in the README).")] = False,
    wide: Annotated[bool, typer.Option("--wide", help="Name the expected publications and give the last runs to the second (wider than 80 columns).")] = False,
) -> None:
    """Is the warehouse current? Per dataset: the release in effect today and whether it is loaded, the newest
    loaded release, the next expected publication, the last refresh.

    Exits 0 when the release in effect is loaded for every dataset (checked), 1 when one is not (or there is
    no warehouse): a monitor can alert on it.
    """
    from codeetl.sources.catalog import load_catalog
    from codeetl.ops.status import warehouse_status

    known = list(load_catalog())
    for name in dataset or []:
        if name not in known:
            _fail(f"unknown dataset {_clip(name)!r}; known: {', '.join(sorted(known))}", 2)
    st = warehouse_status(data_dir, _date(as_of), dataset)
    if as_json:
        sys.stdout.write(json.dumps(st, indent=2, default=_iso) + "\n")
    else:
        _render_status(st, wide)
    raise typer.Exit(0 if st["ok"] else 1)


def _iso(v):
    return v.isoformat() if isinstance(v, (dt.date, dt.datetime)) else str(v)


def _months(first: dt.date, last: dt.date) -> str:
    """A publication window in words: Feb-Mar 2027, Aug 2027, Nov-Dec 2026."""
    if (first.year, first.month) == (last.year, last.month):
        return f"{first:%b %Y}"
    return f"{first:%b}-{last:%b %Y}" if first.year == last.year else f"{first:%b %Y}-{last:%b %Y}"


def _render_status(st: dict, wide: bool = False) -> None:
    """The status as a table that fits 80 columns (``wide``: the expected publications by name, the last runs to
    the second), a line per derived release in effect and one per problem."""
    from rich import box
    from rich.table import Table

    wh = st["warehouse"]
    out.print(f"Warehouse on {st['day']}: " + (f"build {wh['build_id']}, built {_iso(wh['built_at'])[:19 if wide else 16]}" if wh else
                                                f"[red]none[/] (run `{escape(command('refresh'))}`)"))
    t = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, collapse_padding=True)
    for c in ("dataset", "in effect", "loaded", "newest", "next expected", "last run"):
        t.add_column(c, no_wrap=True)
    for d in st["datasets"]:
        t.add_row(d["dataset"], escape(_in_effect(d)),
                  "[green]yes[/]" if d["in_effect_loaded"] else "-" if d["ok"] else "[red]no[/]",
                  d["newest_loaded"]["release"] if d["newest_loaded"] else "-", escape(_next(d["next_expected"], wide)),
                  f"{d['last_run']['status']} {_iso(d['last_run']['started_at'])[:19 if wide else 10]}" if d["last_run"] else "-")
    out.print(t)
    for d in st["datasets"]:
        derivation = (d["in_effect"] or {}).get("derivation")
        if derivation:
            out.print(f"[yellow]derived[/] {escape(d['dataset'])} {escape(d['in_effect']['release'])}: {escape(derivation)}",
                      highlight=False)
    print_behind(st)


def _in_effect(d: dict) -> str:
    """The release in effect, in a few words: its id (derived or not), the final one, or the one the calendar
    expects that the catalog lacks."""
    exp, eff = d["expected_in_effect"], d["in_effect"]
    if eff:
        return eff["release"] + (" (derived)" if eff.get("derivation") else "")
    if d["final"] and d["ok"]:
        return f"none ({d['newest_loaded']['release']} final)"
    return "not in catalog" if exp else "-"


def _next(nxt: dict | None, wide: bool) -> str:
    """The next expected publication: its months (`wide`: its name too), or weekly."""
    if not nxt:
        return "-"
    if nxt.get("expected") == "weekly":
        return f"{nxt['name']}: weekly" if wide else "weekly"
    months = _months(nxt["published_from"], nxt["published_to"])
    return f"{nxt['name']}, {months}" if wide else months


def print_behind(st: dict) -> None:
    """One line per dataset whose release in effect today is not loaded, or that everything is current."""
    for d in st["datasets"]:
        if d["problem"]:
            out.print(f"[red]behind[/] {escape(d['problem'])}", highlight=False)
    if st["ok"]:
        out.print("[green]current[/]: every release in effect today is loaded")


@app.command()
def serve(
    data_dir: DataDir = Path("data"),
    mirror: Annotated[Optional[str], typer.Option(help="Directory or base URL to refresh from instead of the official URLs (as for refresh).")] = None,
    run_now: Annotated[Optional[list[str]], typer.Option(help="Also start one run of this deployment right away (all, or a dataset; repeatable).")] = None,
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port of the local Prefect server to use or start when PREFECT_API_URL is not set.")] = 4200,
) -> None:
    """Run the scheduled refresh on this machine: one Prefect deployment per dataset on its publication calendar
    (and refresh-all, by hand), served until stopped (Ctrl-C, SIGTERM: exit 0). Starts a Prefect server when
    none answers, and stops it again. Prints `Prefect API: <url>` on a line of its own (for PREFECT_API_URL).
    Exits 1, saying why, when the server dies or logs an error, or its scheduler does not create the runs.

    List them with `prefect deployment ls` (schedules: `prefect deployment ls -o json`, or
    `prefect deployment schedule ls codeetl-refresh/refresh-icd10cm`), their runs with `prefect flow-run ls`.
    """
    from codeetl.ops import orchestrator

    if mirror is not None and not mirror.startswith(("http://", "https://")) and not Path(mirror).is_dir():
        _fail(f"--mirror {_clip(mirror)}: no such folder (a mirror is a folder or an http(s):// base URL)", 2)
    names = list(run_now or [])
    orchestrator.configure_prefect_env(quiet=False)  # serve shows Prefect's own log of each run
    from codeetl.errors import CodeEtlError
    from codeetl.ops.serve import serve as run_serve
    from codeetl.sources.interrupt import Terminated

    def say(message: str) -> None:
        err.print(f"[dim]·[/] {escape(message)}", highlight=False)

    def announce(line: str) -> None:
        sys.stdout.write(line + "\n")  # plain, on a line of its own: scripts read it
        sys.stdout.flush()

    data_dir.mkdir(parents=True, exist_ok=True)
    try:
        run_serve(data_dir, str(Path(mirror).resolve()) if mirror and Path(mirror).is_dir() else mirror,
                  [f"refresh-{n}" for n in names], say, port=port, announce=announce)
    except CodeEtlError as e:
        _fail(str(e))
    except (KeyboardInterrupt, Terminated):
        pass
    err.print("stopped")
