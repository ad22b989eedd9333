"""The MS-DRG page at the terminal (``codeetl drg``)."""

from __future__ import annotations

from rich.console import Console, Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from codeetl.cli.render.common import not_in_effect as _not_in_effect


def render_drg_page(console: Console, p: dict) -> None:
    """Print the MS-DRG page: title, MDC, weights, lengths of stay, family, defining diagnoses."""
    mdc = f"{p['mdc']['code']} {p['mdc']['name'] or ''}".rstrip() if p["mdc"]["code"] else "—"
    console.print(Panel(Group(
        Text.assemble(("MS-DRG " + p["drg"], "bold cyan"), "  ", (p["title"], "bold")),
        Text(f"Version {p['version']} (FY{p['fiscal_year']}) · MDC {mdc} · {p['type'] or '—'}"),
        *_not_in_effect(p["release"].get("in_effect"), p.get("day"), p["release"]),
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
