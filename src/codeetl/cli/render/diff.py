"""The diff page at the terminal (``codeetl diff``): counts, then the first ``limit`` items of each list."""

from __future__ import annotations

from rich.console import Console
from rich.panel import Panel
from rich.table import Table
from rich.text import Text


CODE_TITLES = {"no_longer_valid": "codes no longer valid (headers not listed in this release)"}
"""List titles that differ from "codes <change>"."""


def _items(console: Console, title: str, items: list[dict], limit: int, line) -> None:
    """A titled list, cut to ``limit`` items (0 = all) with a note of how many were left out."""
    if not items:
        return
    console.print(Text(f"{title} ({len(items):,})", style="bold"))
    shown = items if limit <= 0 else items[:limit]
    for it in shown:
        console.print("  " + line(it), highlight=False, markup=False)
    if len(shown) < len(items):
        console.print(Text(f"  ... {len(items) - len(shown):,} more (--limit 0 or --json for all)", style="dim"))


def _counts_table(title: str, groups: dict[str, dict[str, int]]) -> Table:
    t = Table(title=title, show_header=True)
    t.add_column("")
    t.add_column("change")
    t.add_column("count", justify="right")
    for group, counts in groups.items():
        for change, n in counts.items():
            if n:
                t.add_row(group, change.replace("_", " "), f"{n:,}")
    return t


def _old_new(it: dict) -> str:
    return f"{it.get('code') or it.get('subject'):<9} {it['old'] or ''}  →  {it['new'] or ''}"


def _one(it: dict) -> str:
    return f"{it.get('code') or it.get('subject'):<9} {it.get('description') or it.get('new') or it.get('old') or ''}"


def render_msdrg(console: Console, m: dict, limit: int) -> None:
    """The MS-DRG part: counts, then DRG and diagnosis lists."""
    console.print(_counts_table(f"MS-DRG {m['from']['version']} → {m['to']['version']}", m["counts"]))
    for change, items in m["drg"].items():
        _items(console, f"DRGs {change.replace('_', ' ')}", items, limit, _old_new if change != "added" and change != "deleted" else _one)
    for change, items in m["dx"].items():
        _items(console, f"diagnoses {change.replace('_', ' ')}", items, limit, _old_new)


def render_diff_page(console: Console, p: dict, limit: int = 20) -> None:
    """Print a diff page (:func:`codeetl.pages.diff.diff_page`)."""
    if p["dataset"] == "msdrg":
        render_msdrg(console, p, limit)
        return
    a, b = p["from"], p["to"]
    console.print(Panel(Text.assemble(("ICD-10-CM ", "bold cyan"), (f"{a['release']} → {b['release']}", "bold cyan"),
                                      f"  {a['label']} → {b['label']}"), expand=False))
    console.print(_counts_table("changes", p["counts"]))
    for c in p["caveats"]:  # before the lists: they say how to read them
        console.print(Text("note: " + c, style="dim"))
    for change, items in p["codes"].items():
        line = _one if change in ("added", "deleted", "no_longer_valid") else _old_new
        title = CODE_TITLES.get(change, f"codes {change.replace('_', ' ')}")
        _items(console, title, items, limit, line)
    for change, items in p["headers"].items():
        _items(console, f"headers {change}", items, limit, _one if change != "revised" else _old_new)
    for change, items in p["notes"].items():
        _items(console, f"notes {change}", items, limit, lambda it: f"{it['code']:<9} {it['note_type']}: {it['note']}")
    if p.get("msdrg"):
        render_msdrg(console, p["msdrg"], limit)
