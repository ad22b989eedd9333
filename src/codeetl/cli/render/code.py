"""The code page at the terminal (``codeetl code``)."""

from __future__ import annotations

from rich.console import Console, Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from itertools import groupby

from codeetl.pages.code import NOTE_LABELS
from codeetl.cli.render.common import code_list as _code_list, not_in_effect as _not_in_effect, usd as _usd


def render_code_page(console: Console, p: dict) -> None:
    """Print the code page `p` (from :func:`codeetl.pages.code.code_page`): head, where the code sits, its
    notes, 7th characters, siblings and children, the ICD-9, MS-DRG and procedure sections, and the sources."""
    render_head(console, p)
    render_history(console, p)
    render_notes(console, p)
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
        via = "" if s["fetched_from"] == s["url"] else f" (via {s['fetched_from']})"
        when = f", fetched {s['fetched_at']}" if s.get("fetched_at") else ""
        console.print(f"[dim]{s['dataset']} {s['release']}: {s['url']}{via}{when}[/]", highlight=False)
        for f in s["files"]:
            console.print(f"[dim]    {f['name']}  sha256 {f['sha256']}[/]", highlight=False)
    console.print(f"[dim]warehouse built {p.get('built_at')}[/]")


def render_head(console: Console, p: dict) -> None:
    """Print the code, its description, status and release, and where it sits (chapter, section, parents)."""
    if p["is_billable"]:
        status = Text("Billable", style="bold green")
    elif p["seventh_characters"]:
        status = Text("Not billable: add a 7th character (see below)", style="bold yellow")
    else:
        status = Text("Header (not billable): choose a code below it", style="bold yellow")
    head = Group(
        Text.assemble((p["code"], "bold cyan"), "  ", (p["description_tabular"] or p["description"], "bold")),
        Text.assemble("Status: ", status, f"   ICD-10-CM release {p['release']['release']} ({p['release']['label']})"),
        *_not_in_effect(p["release"].get("in_effect"), p.get("day"), p["release"]),
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
    where.add_row("Category", f"{p['category']['code']}  {p['category']['description'] or ''}".rstrip())
    for a in p["ancestors"][1:]:
        where.add_row("Parent", f"{a['code']}  {a['description']}")
    console.print(where)
    if p.get("hierarchy_note"):
        console.print(Text(f"Note: {p['hierarchy_note']}.", style="yellow"))


def render_history(console: Console, p: dict) -> None:
    """Print the code's history: since when it is what it is over the loaded releases, its changes, and the codes
    that replaced it or that it replaced (the CDC conversion table)."""
    h = p.get("history")
    if not h:
        return
    parts = []
    if h["spans"]:
        last = h["spans"][-1]
        kind = "valid code" if last["is_billable"] else "header"
        parts.append(f"{kind} in the loaded releases since {last['valid_from']} ({last['first_release']})")
        if h["first_valid_from"] != last["valid_from"]:
            parts.append(f"known since {h['first_valid_from']}")
        changes = ([f"{h['descriptions'] - 1} title change(s)"] if h["descriptions"] > 1 else []) + (
            ["changed between valid code and header"] if h["billable_changes"] else [])
        parts.append(", ".join(changes) if changes else "unchanged over them")
    for key, verb in (("replaced_by", "replaced by"), ("replaces", "replaced")):
        by_date: dict[str, list[str]] = {}
        for r in h[key]:
            by_date.setdefault(r["effective"], []).append(r["code"])
        parts += [f"{verb} {', '.join(codes)} on {day} (CDC conversion table)" for day, codes in sorted(by_date.items())]
    console.print(Text("History: " + "; ".join(parts), style="dim"))


def render_notes(console: Console, p: dict) -> None:
    """Print the instructional notes that apply, grouped by where they are printed and by type."""
    if not p["notes"]:
        return
    console.print()
    console.rule("Instructional notes", style="dim")
    for (kind, node, title, inherited), notes in groupby(
        p["notes"], key=lambda n: (n["from"]["kind"], n["from"]["code"], n["from"]["title"], n["inherited"])
    ):
        if not inherited:
            origin = f"{node} (this code)"
        elif kind == "chapter":
            origin = f"from {title}"
        else:
            label = "section" if kind == "section" else ("category" if len(node) == 3 else "code")
            origin = f"from {label} {node}: {title}"
        console.print(Text(origin, style="italic dim"))
        for ntype, items in groupby(notes, key=lambda n: n["type"]):
            console.print(Text(f"  {NOTE_LABELS.get(ntype, ntype)}:", style="bold"))
            for n in items:
                console.print(f"    • {n['text']}", highlight=False)


def _open(console: Console, section: dict | None, title) -> dict | None:
    """Start a section of the page: a blank line and a rule titled ``title(section)``; returns the section, or
    None (printing nothing) when the page has none."""
    if section:
        console.print()
        console.rule(title(section), style="dim")
    return section


def render_icd9(console: Console, p: dict) -> None:
    """Print the ICD-9-CM section (both GEMs, combinations read out), if any."""
    s = _open(console, p.get("icd9"), lambda s: f"ICD-9-CM equivalents (GEMs {s['release']})")
    if not s:
        return
    described = s.get("equivalents_described") or [{"code": c, "description": None} for c in s["equivalents"]]
    console.print(Text("Equivalents: " + ("" if described else "none (no map)"), style="bold"))
    for e in described:
        console.print(f"  {e['code']:<8} {e['description'] or ''}", highlight=False)
    for key, label, other in (("icd10_to_icd9", f"{p['code']} → ICD-9-CM (backward GEM)", "target"),
                              ("icd9_to_icd10", f"ICD-9-CM → {p['code']} (forward GEM)", "source")):
        part = s[key]
        if not part["entries"]:
            continue
        console.print(Text(label, style="bold"))
        for e in part["entries"]:
            flags = ", ".join(m.split(":")[0] for m in e["meaning"])
            scen = f" [scenario {e['scenario']}, choice list {e['choice_list']}]" if e["combination"] else ""
            console.print(f"  {e[other]:<8} {flags}{scen}", highlight=False)
        for c in part["combinations"]:
            if "reads" in c:
                console.print(f"  combination, scenario {c['scenario']}: {p['code']} = {c['reads']}", highlight=False)
            else:
                for sc in c["scenarios"]:
                    console.print(f"  {c['source']} (scenario {sc['scenario']}) = {sc['reads']}", highlight=False)
    console.print(Text("approximate: not an exact equivalent · combination: one code from each choice list of a "
                       "scenario is needed together (codes in one choice list are alternatives) · no map: no equivalent",
                       style="dim"))


def render_msdrg(console: Console, p: dict) -> None:
    """Print the MS-DRG section (MDCs, DRGs with weights and when each applies, CC/MCC level), if any."""
    s = _open(console, p.get("ms_drg"), lambda s: f"MS-DRG {s['version']} (FY{s['fiscal_year']})")
    if not s:
        return
    for line in _not_in_effect(s.get("in_effect"), p.get("day"), {"dataset": "MS-DRG", "release": s["version"]}):
        console.print(line)
    for g in s["as_principal"]:
        console.print(Text.assemble("MDC ", (g["mdc"] or "—", "bold"), f" {g['mdc_name'] or ''}"))
        t = Table(box=None, pad_edge=False)
        for c in ("DRG", "title", "weight", "GMLOS", "AMLOS", "when"):
            t.add_column(c)
        for d in g["drgs"]:
            t.add_row(d["drg"], d["title"], d["weight"] or "—", d["gmlos"] or "—", d["amlos"] or "—", d["applies"])
        console.print(t)
    if len(s["as_principal"]) > 1:
        console.print(Text(s["as_principal_note"], style="dim"))
    sec = s["as_secondary"]
    console.print(Text.assemble("As a secondary diagnosis: ", (sec["level"] or "non-CC", "bold"), f" — {sec['meaning']}"
                                + (f" (PDX exclusion list {sec['exclusion_list']})" if sec["exclusion_list"] else "")))


def render_procedures(console: Console, p: dict) -> None:
    """Print the related procedures with their national fee (or why none) and the copyright notice, if any."""
    s = p.get("procedures")
    if not s:
        return
    console.print()
    if s["pfs_release"]:
        console.rule(f"Related procedures · Medicare PFS {s['pfs_release']} national amounts", style="dim")
    else:  # no fee schedule for the date: say so once, not on every row
        console.rule("Related procedures", style="dim")
        console.print(Text(f"No fees: {s['items'][0]['no_fee_reason']}.", style="yellow"))
    for line in _not_in_effect(s.get("pfs_in_effect"), p.get("day"), {"dataset": "PFS", "release": s["pfs_release"]}):
        console.print(line)
    t = Table(box=None, pad_edge=False)
    for c in ("code", "descriptor", "status", "fee", "source"):
        t.add_column(c)
    for i in s["items"]:
        if i.get("fee"):
            fee = f"{_usd(i['fee'])} ({i['fee_setting']})"
        else:
            fee = f"no fee: {i.get('no_fee_reason')}" if s["pfs_release"] else "—"
        st = i["status"]["code"] if i.get("status") else "—"
        t.add_row(i["hcpcs"], i.get("description") or "", st, fee, ", ".join(sorted({l["source"] for l in i["links"]})))
    console.print(t)
    if s["copyright"]:
        console.print(Text(s["copyright"], style="dim italic"))


# Sections after siblings/children, in order: callables (console, page) -> None.
EXTRA_SECTIONS: list = [render_icd9, render_msdrg, render_procedures]
