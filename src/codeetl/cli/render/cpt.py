"""The CPT/HCPCS page at the terminal (``codeetl cpt``)."""

from __future__ import annotations

from rich.console import Console, Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from codeetl.cli.render.common import not_in_effect as _not_in_effect, usd as _usd


def render_cpt_page(console: Console, p: dict) -> None:
    """Print the CPT/HCPCS page: descriptor, status, RVUs, national (and locality) amounts, copyright."""
    first = p["rows"][0]
    console.print(Panel(Group(
        Text.assemble((p["hcpcs"], "bold cyan"), "  ", (first["description"], "bold")),
        Text(f"Medicare Physician Fee Schedule {p['release']['release']} ({p['release']['label']}), "
             f"conversion factor {first['conversion_factor']}"),
        *_not_in_effect(p["release"].get("in_effect"), p.get("day"), p["release"]),
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
