"""The code page at the terminal (``codeetl code``)."""

from __future__ import annotations

from rich.console import Console, Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from itertools import groupby

from codeetl.pages.code import NOTE_LABELS, history_scope
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
    render_category_codes(console, p)
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
    if p.get("day_covered") is False:
        status = Text(f"Unknown on {p['day']}: no ICD-10-CM release loaded covers that day", style="bold yellow")
    elif p["is_billable"]:
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


_FROM = {"change": "{d} ({r})", "first loaded": "{d} or earlier (first loaded release, {r})",
         "after gap": "{d} at the latest (after days no release covers)", "conversion table": "{d} (CDC conversion table)"}
_TO = {"change": "{d} ({r})", "last loaded": "{d} or later (last loaded release, {r})",
       "before gap": "{d} at least (days no release covers follow)", "conversion table": "{d} (CDC conversion table)"}


def history_rows(h: dict) -> list[tuple[str, str, str, str]]:
    """The history spans as (what, from, to, unknown days) texts, each date with what establishes it."""
    rows = []
    for s in h["spans"]:
        kind = "valid code" if s["is_billable"] else "header"
        start = _FROM.get(s["valid_from_source"], "{d}").format(d=s["valid_from"], r=s["first_release"])
        end = "open" if s["valid_to"] is None else _TO.get(s["valid_to_source"], "{d}").format(d=s["valid_to"], r=s["last_release"])
        unknown = ", ".join(f"{u['from']} to {u['to']}" for u in s["unknown_days"])
        rows.append((kind + ("" if s["description"] else " (title unknown)"), start, end, unknown))
    return rows


def render_history(console: Console, p: dict) -> None:
    """Print the code's history: each span of the loaded releases with what dates its edges and the days no loaded
    release covers (unknown, never a change), since when the code is in ICD-10-CM, and the codes that replaced
    it or that it replaced (the CDC conversion table)."""
    h = p.get("history")
    if not h:
        return
    console.print()
    console.rule("History", style="dim")
    console.print(Text(history_scope(p), style="dim"))
    if h["spans"]:
        t = Table(box=None, pad_edge=False)
        for c in ("", "from", "to", "unknown (no release loaded)"):
            t.add_column(c)
        for row in history_rows(h):
            t.add_row(*row)
        console.print(t)
        if h["descriptions"] > 1:
            console.print(Text(f"{h['descriptions'] - 1} title change(s) over the loaded releases", style="dim"))
    since = h.get("in_code_set_since")
    if since:
        console.print(Text(f"In ICD-10-CM since {since['date']} ({since['source']}).", style="dim"))
    for key, verb in (("replaced_by", "Replaced by"), ("replaces", "Replaced")):
        by_date: dict[str, list[str]] = {}
        for r in h[key]:
            by_date.setdefault(r["effective"], []).append(r["code"])
        for day, codes in sorted(by_date.items()):
            console.print(Text(f"{verb} {', '.join(codes)} on {day} (CDC conversion table).", style="dim"))


def code_runs(codes: list[str], left_out: str = "") -> list[str]:
    """Codes in Tabular order with runs of 3 or more siblings of one length written first–last (M96.2–M96.5); a
    run never spans `left_out` (the page's own code, not in the list: M96.0, M96.2–M96.5 for M96.1)."""
    out: list[str] = []
    i = 0
    while i < len(codes):
        j = i
        while (j + 1 < len(codes) and len(codes[j + 1]) == len(codes[i]) and codes[j + 1][:-1] == codes[i][:-1]
               and not codes[j] < left_out < codes[j + 1]):
            j += 1
        out += [f"{codes[i]}–{codes[j]}"] if j - i >= 2 else codes[i:j + 1]
        i = j + 1
    return out


def render_category_codes(console: Console, p: dict) -> None:
    """Print the category's other billable codes (all, or the nearest ones with how many there are)."""
    c = p.get("category_codes")
    if not c or not c["count"]:
        return
    console.print()
    shown = "" if c["complete"] else f"; the {len(c['codes'])} nearest in Tabular order shown"
    console.print(Text(f"Other billable codes in category {c['category']} ({c['count']:,}{shown})", style="bold"))
    console.print("  " + ", ".join(code_runs(c["codes"], p["code"])), highlight=False)


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
