"""What the warehouse holds: ``codeetl releases`` and ``codeetl dictionary``."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from codeetl.cli.app import DataDir, _connect, _fail, app, err, out


@app.command()
def releases(
    data_dir: DataDir = Path("data"),
    unverified: Annotated[bool, typer.Option("--unverified", help="List the catalog's downloads whose URL no independent public source uses (verified = false), with what is known; needs no warehouse.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON (pages/releases.py, the web's /api/releases): every loaded release, in effect today or not, with each download's url, sha256, source, files and the catalog's `verified` flag (or, with --unverified, the unverified catalog downloads).")] = False,
    wide: Annotated[bool, typer.Option("--wide", help="One row per download with its full sha256, official URL and where it was fetched from (wider than 80 columns).")] = False,
) -> None:
    """List the releases loaded into the warehouse with the sha256 of each download, and what is missing today.

    One row per release, fitting 80 columns (the first 12 characters of each sha256); --wide adds each
    download's full sha256, URL and source. Then, as `codeetl status` says, any release in effect today that is
    not loaded. With --unverified, the catalog's downloads whose URL is unverified instead."""
    if unverified:
        return _unverified(as_json)
    con = _connect(data_dir)
    try:
        if as_json:
            from codeetl.pages.releases import releases_page

            sys.stdout.write(json.dumps(releases_page(con), indent=2, default=str) + "\n")
            return
        out.print(_releases_table(con, wide))
    finally:
        con.close()
    from codeetl.cli.ops import print_behind  # is anything in effect today missing? (as `codeetl status` says)
    from codeetl.ops.status import warehouse_status

    print_behind(warehouse_status(data_dir))


def _releases_table(con, wide: bool) -> "Table":
    """The loaded releases: one row per release, the first 12 characters of each download's sha256 (`wide`: one
    row per download, with its full sha256, official URL and where it was fetched from)."""
    from rich import box
    from rich.table import Table

    per = "download" if wide else "release"
    t = Table(title=f"Releases loaded (one row per {per}; one sha256 per download)", box=box.SIMPLE_HEAD,
              show_edge=False, pad_edge=False, collapse_padding=True)
    for c in ("dataset", "release", "label", "effective", "sha256") + (("url", "fetched from") if wide else ()):
        t.add_column(c, no_wrap=c != "label")
    rows = con.execute(f"""
        SELECT dataset, release, label, effective_from, effective_to, list(sha256 ORDER BY source_url),
               list(source_url ORDER BY source_url), list(fetched_from ORDER BY source_url)
        FROM releases GROUP BY dataset, release, label, effective_from, effective_to{', source_url' if wide else ''}
        ORDER BY dataset, effective_from, release, min(source_url)""").fetchall()
    for ds, rid, label, start, end, hashes, urls, sources in rows:
        cells = [ds, rid, label, f"{start} – {end or ''}"]
        if wide:
            t.add_row(*cells, hashes[0], urls[0], sources[0])
        else:
            t.add_row(*cells, "\n".join(h[:12] for h in hashes))
    return t


def _catalog_files() -> dict[str, dict]:
    """Every catalog download by URL: dataset, release, url, verified, note and its pins (a malformed catalog is
    one error message)."""
    from codeetl.errors import CodeEtlError
    from codeetl.sources.catalog import load_catalog

    try:
        catalog = load_catalog()
    except CodeEtlError as e:
        _fail(str(e))
    return {f.url: {"dataset": ds.dataset, "release": r.release, "url": f.url, "verified": f.verified, "note": f.note,
                    "sha256": f.sha256, "bytes": f.bytes}
            for ds in catalog.values() for r in ds.releases for f in r.files}


def _unverified(as_json: bool) -> None:
    """Print the catalog's unverified downloads: one line each (dataset, release, URL) and its note, unwrapped."""
    rows = [f for f in _catalog_files().values() if not f["verified"]]
    if as_json:
        sys.stdout.write(json.dumps(rows, indent=2) + "\n")
        return
    out.print(f"{len(rows)} catalog downloads are unverified (no independent public source uses the exact URL; "
              "see README, Source catalog):", soft_wrap=True, highlight=False)
    for f in rows:
        out.print(f"{f['dataset']} {f['release']}  {f['url']}", soft_wrap=True, highlight=False, markup=False)
        out.print(f"    {f['note']}", soft_wrap=True, highlight=False, markup=False)


@app.command()
def dictionary(
    data_dir: DataDir = Path("data"),
    update_readme: Annotated[Optional[Path], typer.Option(help="Rewrite the data dictionary section of this README instead of printing.")] = None,
) -> None:
    """Print the data dictionary (every table, view and column with its COMMENT) as Markdown."""
    from codeetl.build.dictionary import markdown, replace_in_readme

    con = _connect(data_dir)
    try:
        md = markdown(con)
    finally:
        con.close()
    if update_readme:
        update_readme.write_text(replace_in_readme(update_readme.read_text(encoding="utf-8"), md), encoding="utf-8")
        err.print(f"updated the data dictionary in {update_readme}")
    else:
        sys.stdout.write(md)
