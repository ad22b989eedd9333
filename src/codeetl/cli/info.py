"""What the warehouse holds: ``codeetl releases`` and ``codeetl dictionary``."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.table import Table

from codeetl.cli.app import DataDir, _connect, app, err, out


@app.command()
def releases(data_dir: DataDir = Path("data"),
             as_json: Annotated[bool, typer.Option("--json", help="Print every release with its downloads and files as JSON (pages/releases.py; the web's /api/releases).")] = False) -> None:
    """List the releases loaded into the warehouse, with the sha256 of each download and where it came from, and
    whether any release in effect today is missing (as `codeetl status` says)."""
    con = _connect(data_dir)
    if as_json:
        import json

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
