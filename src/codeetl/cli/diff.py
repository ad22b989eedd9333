"""``codeetl diff``: what changed between two releases (ICD-10-CM, or MS-DRG grouper versions)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from codeetl.cli.app import AsJson, DataDir, _show, app


@app.command()
def diff(
    old: Annotated[Optional[str], typer.Argument(help="The earlier release: an id (2025, 2026-04, v42) or a date (YYYY-MM-DD). Alone, it is the later one.")] = None,
    new: Annotated[Optional[str], typer.Argument(help="The later release (id or date); default: the ICD-10-CM release in effect today.")] = None,
    limit: Annotated[int, typer.Option(help="Items shown per list at the terminal (0 = all; --json always has all).")] = 20,
    as_json: AsJson = False,
    data_dir: DataDir = Path("data"),
) -> None:
    """Show what changed between two releases: codes added, deleted, revised, became header / billable (or no
    longer valid, against a release loaded from a code file only), notes added / removed, and the MS-DRG changes
    of the same dates (DRGs added, deleted, retitled, restyled; diagnoses whose MDC or DRG family changed). `codeetl diff 2025 2026`; `codeetl diff 2026` (from the release before it);
    `codeetl diff v42 v43`."""
    from codeetl.pages.diff import diff_page
    from codeetl.cli.render.diff import render_diff_page

    _show(data_dir, lambda con: diff_page(con, old, new), lambda console, p: render_diff_page(console, p, limit), as_json)
