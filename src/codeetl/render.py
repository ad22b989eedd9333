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


def _usd(v: str | None) -> str:
    if v is None:
        return "—"
    whole, cents = v.split(".")
    return f"${int(whole):,}.{cents}"


def render_cpt_page(console: Console, p: dict) -> None:
    first = p["rows"][0]
    console.print(Panel(Group(
        Text.assemble((p["hcpcs"], "bold cyan"), "  ", (first["description"], "bold")),
        Text(f"Medicare Physician Fee Schedule {p['release']['release']} ({p['release']['label']}), "
             f"conversion factor {first['conversion_factor']}"),
    ), expand=False))
    for r in p["rows"]:
        mod = f" modifier {r['modifier']}" if r["modifier"] else " (global service)"
        st = r["status"]
        console.print(Text.assemble((f"{p['hcpcs']}{mod}", "bold"), f" — status {st['code']}: {st.get('meaning', 'unknown status')}"))
        t = Table(box=None, show_header=True, pad_edge=False)
        for c in ("", "work RVU", "PE RVU", "MP RVU", "total RVU", "national", "note"):
            t.add_column(c)
        rv = r["rvu"]
        t.add_row("non-facility", rv["work"], rv["nonfacility_pe"] + (" (NA)" if rv["nonfacility_na"] else ""), rv["mp"],
                  rv["nonfacility_total"], _usd(r["national"]["nonfacility_amount"]), r["national"]["nonfacility_note"] or "")
        t.add_row("facility", rv["work"], rv["facility_pe"] + (" (NA)" if rv["facility_na"] else ""), rv["mp"],
                  rv["facility_total"], _usd(r["national"]["facility_amount"]), r["national"]["facility_note"] or "")
        console.print(t)
        if "locality" in r:
            lo = r["locality"]
            console.print(f"  {lo['locality']} {lo['locality_name']} ({lo['state']}): non-facility {_usd(lo['nonfacility_amount'])}, "
                          f"facility {_usd(lo['facility_amount'])}", highlight=False)
        console.print(f"  global days {r['global_days']}, PC/TC indicator {r['pctc_indicator']}, policy "
                      + ", ".join(f"{k} {v}" for k, v in r["policy"].items()), style="dim", highlight=False)
    console.print()
    console.print(Text(p["copyright"], style="dim italic"))
