"""What the warehouse holds: ``codeetl releases`` and ``codeetl dictionary``."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.table import Table

from codeetl.cli.app import DataDir, _connect, _fail, app, err, out


@app.command()
def releases(
    data_dir: DataDir = Path("data"),
    unverified: Annotated[bool, typer.Option("--unverified", help="List the catalog's downloads whose URL no independent public source uses (verified = false), with what is known; needs no warehouse.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON (pages/releases.py, the web's /api/releases): every loaded release, in effect today or not, with each download's url, sha256, source, files and the catalog's `verified` flag (or, with --unverified, the unverified catalog downloads).")] = False,
) -> None:
    """List the releases loaded into the warehouse, with the sha256 of each download and where it came from, and
    whether any release in effect today is missing (as `codeetl status` says); or, with --unverified, the
    catalog's downloads whose URL is unverified."""
    if unverified:
        return _unverified(as_json)
    con = _connect(data_dir)
    if as_json:
        from codeetl.pages.releases import releases_page

        sys.stdout.write(json.dumps(releases_page(con), indent=2, default=str) + "\n")
        return
    t = Table(title="Releases loaded (one row per release; one sha256 per download)")
    for c in ("dataset", "release", "label", "effective", "sha256", "fetched from"):
        t.add_column(c)
    for r in con.execute("""
            SELECT dataset, release, label, effective_from, effective_to,
                   list(sha256 ORDER BY source_url), list(fetched_from ORDER BY source_url)
            FROM releases GROUP BY ALL ORDER BY dataset, effective_from""").fetchall():
        t.add_row(r[0], r[1], r[2], f"{r[3]} – {r[4] or ''}", "\n".join(h[:12] for h in r[5]), "\n".join(r[6]))
    out.print(t)
    from codeetl.cli.ops import print_behind  # is anything in effect today missing? (as `codeetl status` says)
    from codeetl.ops.status import warehouse_status

    print_behind(warehouse_status(data_dir))


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
    md = markdown(con)
    if update_readme:
        update_readme.write_text(replace_in_readme(update_readme.read_text(encoding="utf-8"), md), encoding="utf-8")
        err.print(f"updated the data dictionary in {update_readme}")
    else:
        sys.stdout.write(md)
