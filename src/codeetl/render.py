"""Rendering pages for people at a terminal (rich). The data comes from :mod:`codeetl.page`."""

from __future__ import annotations

from itertools import groupby

from rich.console import Console, Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from codeetl.page import NOTE_LABELS


def _code_list(title: str, rows: list[dict], highlight: str | None = None) -> Table:
    t = Table(title=title, title_justify="left", show_header=False, box=None, pad_edge=False)
    t.add_column(style="bold cyan", no_wrap=True)
    t.add_column()
    t.add_column(style="dim", no_wrap=True)
    for r in rows:
        t.add_row(r["code"], r["description"], "billable" if r["is_billable"] else "header")
    return t


def render_code_page(console: Console, p: dict) -> None:
    if p["is_billable"]:
        status = Text("Billable", style="bold green")
    elif p["seventh_characters"]:
        status = Text("Not billable: add a 7th character (see below)", style="bold yellow")
    else:
        status = Text("Header (not billable): choose a code below it", style="bold yellow")
    head = Group(
        Text.assemble((p["code"], "bold cyan"), "  ", (p["description_tabular"] or p["description"], "bold")),
        Text.assemble("Status: ", status, f"   ICD-10-CM release {p['release']['release']} ({p['release']['label']})"),
    )
    console.print(Panel(head, expand=False))
    where = Table(show_header=False, box=None)
    where.add_column(style="dim")
    where.add_column()
    if p["chapter"]:
        c = p["chapter"]
        where.add_row("Chapter", f"{c['number']}  {c['title']} ({c['first_code']}-{c['last_code']})")
    if p["section"]:
        s = p["section"]
        where.add_row("Section", f"{s['id']}  {s['title']}")
    where.add_row("Category", f"{p['category']['code']}  {p['category']['description'] or ''}")
    for a in p["ancestors"][1:]:
        where.add_row("Parent", f"{a['code']}  {a['description']}")
    console.print(where)

    if p["notes"]:
        console.print()
        console.rule("Instructional notes", style="dim")
        for (kind, node, title, inherited), notes in groupby(
            p["notes"], key=lambda n: (n["from"]["kind"], n["from"]["code"], n["from"]["title"], n["inherited"])
        ):
            origin = f"from {title}" if inherited else "this code"
            console.print(Text(origin, style="italic dim"))
            for ntype, items in groupby(notes, key=lambda n: n["type"]):
                console.print(Text(f"  {NOTE_LABELS.get(ntype, ntype)}:", style="bold"))
                for n in items:
                    console.print(f"    • {n['text']}", highlight=False)
    if p["seventh_characters"]:
        console.print()
        t = Table(title=f"7th characters (defined at {p['seventh_characters'][0]['defined_at']})", title_justify="left")
        t.add_column("char")
        t.add_column("meaning")
        for s in p["seventh_characters"]:
            t.add_row(s["char"], s["meaning"])
        console.print(t)
    for key, label in (("siblings", "Siblings"), ("children", "Children")):
        if p[key]:
            console.print()
            console.print(_code_list(label, p[key]))
    for extra in EXTRA_SECTIONS:
        extra(console, p)
    console.print()
    console.rule("Sources", style="dim")
    for s in p["sources"]:
        files = ", ".join(f"{f['name']} sha256 {f['sha256'][:12]}…" for f in s["files"])
        via = "" if s["fetched_from"] == s["url"] else f" (via {s['fetched_from']})"
        console.print(f"[dim]{s['dataset']} {s['release']}: {s['url']}{via} — {files}[/]", highlight=False)
    console.print(f"[dim]warehouse built {p.get('built_at')}[/]")


# Later datasets (GEMs, MS-DRG, fees) add renderers here: callables (console, page) -> None.
EXTRA_SECTIONS: list = []
