"""Rendering pages for people at a terminal (rich). The data comes from :mod:`codeetl.page`."""

from __future__ import annotations

from itertools import groupby

from rich.console import Console, Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from codeetl.page import NOTE_LABELS

NOT_IN_EFFECT = "That release is not in effect on the requested date; it is the latest one loaded before it."


def _not_in_effect(in_effect: bool | None) -> list[Text]:
    """The warning line for a page or section whose release is not in effect on the requested date."""
    return [Text(NOT_IN_EFFECT, style="yellow")] if in_effect is False else []


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
        *_not_in_effect(p["release"].get("in_effect")),
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

    if p["notes"]:
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


def render_icd9(console: Console, p: dict) -> None:
    s = p.get("icd9")
    if not s:
        return
    console.print()
    console.rule(f"ICD-9-CM equivalents (GEMs {s['release']})", style="dim")
    console.print(Text.assemble("Equivalents: ", (", ".join(s["equivalents"]) or "none (no map)", "bold")))
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
    s = p.get("ms_drg")
    if not s:
        return
    console.print()
    console.rule(f"MS-DRG {s['version']} (FY{s['fiscal_year']})", style="dim")
    for line in _not_in_effect(s.get("in_effect")):
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
    s = p.get("procedures")
    if not s:
        return
    console.print()
    if s["pfs_release"]:
        console.rule(f"Related procedures · Medicare PFS {s['pfs_release']} national amounts", style="dim")
    else:  # no fee schedule for the date: say so once, not on every row
        console.rule("Related procedures", style="dim")
        console.print(Text(f"No fees: {s['items'][0]['no_fee_reason']}.", style="yellow"))
    for line in _not_in_effect(s.get("pfs_in_effect")):
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
        *_not_in_effect(p["release"].get("in_effect")),
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
    if p["copyright"]:
        console.print(Text(p["copyright"], style="dim italic"))


def render_drg_page(console: Console, p: dict) -> None:
    mdc = f"{p['mdc']['code']} {p['mdc']['name'] or ''}".rstrip() if p["mdc"]["code"] else "—"
    console.print(Panel(Group(
        Text.assemble(("MS-DRG " + p["drg"], "bold cyan"), "  ", (p["title"], "bold")),
        Text(f"Version {p['version']} (FY{p['fiscal_year']}) · MDC {mdc} · {p['type'] or '—'}"),
        *_not_in_effect(p["release"].get("in_effect")),
    ), expand=False))
    t = Table(show_header=False, box=None)
    t.add_column(style="dim")
    t.add_column()
    if p["weight"] is None:
        t.add_row("Relative weight", "— (not published in Table 5)")
    else:
        t.add_row("Relative weight", f"{p['weight']} (before the 10% cap: {p['weight_before_cap'] or '—'})")
    t.add_row("Geometric mean LOS", f"{p['gmlos']} days" if p["gmlos"] is not None else "— (not published in Table 5)")
    t.add_row("Arithmetic mean LOS", f"{p['amlos']} days" if p["amlos"] is not None else "— (not published in Table 5)")
    t.add_row("Post-acute transfer DRG", "yes" if p["post_acute"] else "no")
    t.add_row("Special pay DRG", "yes" if p["special_pay"] else "no")
    t.add_row("Severity", f"{p['severity'] or '—'}: {p['applies']}")
    console.print(t)
    if len(p["family_drgs"]) > 1:
        console.print(Text(f"Family: {p['family']}", style="bold"))
        for f in p["family_drgs"]:
            console.print(f"  {f['drg']}  {f['title']}  weight {f['weight'] or '—'}", highlight=False)
    dx = p["diagnoses"]
    console.print(Text(f"{dx['count']:,} diagnoses define it ({dx['note']}); for example:", style="bold"))
    for e in dx["examples"]:
        console.print(f"  {e['dx']:<9} {e['description']}", highlight=False)


def render_icd9_page(console: Console, p: dict) -> None:
    console.print(Panel(Text.assemble(("ICD-9-CM " + p["code"], "bold cyan"), f"  through the GEMs ({p['release']})"), expand=False))
    fwd = p["icd9_to_icd10"]
    console.print(Text(f"{p['code']} → ICD-10-CM (forward GEM)", style="bold"))
    for e in fwd["entries"]:
        flags = ", ".join(m.split(":")[0] for m in e["meaning"])
        scen = f" [scenario {e['scenario']}, choice list {e['choice_list']}]" if e["combination"] else ""
        console.print(f"  {e['target']:<9} {e['target_description'] or ''}  ({flags}){scen}", highlight=False)
    for c in fwd["combinations"]:
        console.print(Text(f"  scenario {c['scenario']}: {p['code']} = {c['reads']}", style="bold"))
    if p["icd10_to_icd9"]["entries"]:
        console.print(Text(f"ICD-10-CM → {p['code']} (backward GEM)", style="bold"))
        for e in p["icd10_to_icd9"]["entries"]:
            flags = ", ".join(m.split(":")[0] for m in e["meaning"])
            console.print(f"  {e['source']:<9} {e['source_description'] or ''}  ({flags})", highlight=False)
    console.print(Text("combination: one code from each choice list of a scenario together; codes in one choice list "
                       "are alternatives · approximate: not an exact equivalent", style="dim"))
