"""The ICD-9-CM page at the terminal (``codeetl icd9``)."""

from __future__ import annotations

from rich.console import Console
from rich.panel import Panel
from rich.text import Text



def render_icd9_page(console: Console, p: dict) -> None:
    """Print the ICD-9-CM page: forward and backward GEM entries, combinations read out."""
    title = p.get("description") or ("a category: the ICD-9-CM v32 files list its codes, not its own title"
                                     if p.get("codes") else "")
    console.print(Panel(Text.assemble(("ICD-9-CM " + p["code"], "bold cyan"), "  ", (title, "bold"),
                                      f"\nthrough the GEMs ({p['release']})"), expand=False))
    if p.get("codes"):
        console.print(Text(f"Codes in {p['code']} ({len(p['codes'])}):", style="bold"))
        for c in p["codes"]:
            console.print(f"  {c['code']:<8} {c['description']}", highlight=False)
    fwd = p["icd9_to_icd10"]
    if not fwd["entries"] and not p["icd10_to_icd9"]["entries"]:
        return
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
