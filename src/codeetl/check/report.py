"""Showing verdicts: a rich terminal report grouped by the page's sections, JSON (one object per claim),
and for a folder one summary table of pages × contradictions (terminal and parquet)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from codeetl.check.run import Report
from codeetl.check.verify import CONFIRMED, CONTRADICTED, NOT_CHECKABLE, Verdict

STYLE = {CONFIRMED: "green", CONTRADICTED: "bold red", NOT_CHECKABLE: "yellow"}
MARK = {CONFIRMED: "✓ confirmed", CONTRADICTED: "✗ contradicted", NOT_CHECKABLE: "? not checkable"}


def claim_json(v: Verdict) -> dict[str, Any]:
    """One claim as JSON: text (as found), kind, verdict, official, source, line, and what it is about."""
    c = v.claim
    return {"text": c.text, "kind": c.kind, "verdict": v.verdict, "official": v.official, "source": v.source,
            "line": c.line, "section": c.section, "subject": c.subject, "claimed": c.value, "note": v.note}


def counts(r: Report) -> dict[str, int]:
    """{'claims', 'confirmed', 'contradicted', 'not_checkable'} of a report."""
    n = Counter(v.verdict for v in r.verdicts)
    return {"claims": len(r.verdicts), "confirmed": n[CONFIRMED], "contradicted": n[CONTRADICTED],
            "not_checkable": n[NOT_CHECKABLE]}


def report_json(r: Report) -> dict[str, Any]:
    """The whole report of a page as JSON."""
    info = r.info
    return {
        "page": r.page,
        "code": info.code if info else None,
        "as_of": r.as_of.isoformat() if r.as_of else None,
        "as_of_from": r.as_of_from,
        "stated_date": {"text": info.date_text, "line": info.date_line} if info and info.date else None,
        "releases": r.releases,
        "summary": counts(r),
        "error": r.error,
        "claims": [claim_json(v) for v in r.verdicts],
    }


def _sections(r: Report) -> dict[str, list[Verdict]]:
    out: dict[str, list[Verdict]] = {}
    for v in r.verdicts:
        out.setdefault(v.claim.section or "(top of page)", []).append(v)
    return out


def render(console: Console, r: Report) -> None:
    """The report of one page in the terminal, one table per section of the page."""
    info, n = r.info, counts(r)
    head = Text.assemble(("Checked ", "bold"), (r.page, "bold cyan"), f"  ·  code {info.code if info else '?'}",
                         f"  ·  as of {r.as_of} ({r.as_of_from})")
    console.print(head)
    console.print(Text("releases: " + ", ".join(f"{k} {v or 'none'}" for k, v in r.releases.items()), style="dim"))
    for section, verdicts in _sections(r).items():
        t = Table(title=Text(section, style="bold"), title_justify="left", show_lines=False,
                  expand=console.is_terminal)  # off a terminal: as wide as its contents
        t.add_column("line", justify="right", style="dim", no_wrap=True)
        t.add_column("claim", ratio=3)
        t.add_column("verdict", no_wrap=True)
        t.add_column("official value / why", ratio=4)
        t.add_column("source", ratio=2, style="dim")
        for v in verdicts:
            t.add_row(str(v.claim.line), Text(f"{v.claim.kind}: {v.claim.text}"), Text(MARK[v.verdict], style=STYLE[v.verdict]),
                      Text(" — ".join(x for x in (v.official, v.note) if x)), Text(_source(v.source)))
        console.print(t)
    for v in r.contradicted:  # a recap, one line each
        console.print(Text.assemble(("✗ ", "bold red"), f"line {v.claim.line} ", (v.claim.kind, "bold"), f": {v.claim.text}",
                                    ("  →  ", "dim"), v.official or ""))
    console.print(Text.assemble(f"{n['claims']} claims: ", (f"{n['confirmed']} confirmed", "green"), ", ",
                                (f"{n['contradicted']} contradicted", "bold red"), ", ",
                                (f"{n['not_checkable']} not checkable", "yellow")))


def _source(s: dict | None) -> str:
    if not s:
        return ""
    return " ".join(str(x) for x in (s.get("dataset"), s.get("release"), s.get("file")) if x)


# ---------------------------------------------------------------------------------------- folders


def summary_rows(reports: list[Report]) -> list[dict[str, Any]]:
    """One row per page: counts, the kinds contradicted, and each contradiction (line, kind, text, official)."""
    rows = []
    for r in reports:
        kinds = Counter(v.claim.kind for v in r.contradicted)
        rows.append({
            "page": r.page, "code": r.info.code if r.info else None,
            "as_of": r.as_of, **counts(r),
            "contradicted_kinds": ", ".join(f"{k}×{n}" if n > 1 else k for k, n in sorted(kinds.items())),
            "contradictions": [{"line": v.claim.line, "kind": v.claim.kind, "text": v.claim.text,
                                "official": v.official or ""} for v in r.contradicted],
            "error": r.error,
        })
    return rows


def write_summary(reports: list[Report], path: Path) -> Path:
    """The folder summary as a parquet file at `path` (folders created); returns the path."""
    import polars as pl

    schema = {"page": pl.String, "code": pl.String, "as_of": pl.Date, "claims": pl.Int64, "confirmed": pl.Int64,
              "contradicted": pl.Int64, "not_checkable": pl.Int64, "contradicted_kinds": pl.String,
              "contradictions": pl.List(pl.Struct({"line": pl.Int64, "kind": pl.String, "text": pl.String,
                                                   "official": pl.String})),
              "error": pl.String}
    path.parent.mkdir(parents=True, exist_ok=True)
    pl.DataFrame(summary_rows(reports), schema=schema).write_parquet(path)
    return path


def render_summary(console: Console, reports: list[Report], seconds: float) -> None:
    """The folder summary in the terminal: pages × verdict counts and kinds contradicted."""
    t = Table(title=f"{len(reports)} pages checked in {seconds:.1f} s ({len(reports) / max(seconds, 1e-9):.1f} pages/s)")
    for col, just in (("page", "left"), ("code", "left"), ("as of", "left"), ("claims", "right"), ("✓", "right"),
                      ("✗", "right"), ("?", "right"), ("contradicted", "left")):
        t.add_column(col, justify=just)
    for row in summary_rows(reports):
        bad = row["contradicted"]
        t.add_row(Text(row["page"]), row["code"] or "", str(row["as_of"] or ""), str(row["claims"]), str(row["confirmed"]),
                  Text(str(bad), style="bold red" if bad else ""), str(row["not_checkable"]),
                  Text(row["error"] or row["contradicted_kinds"], style="yellow" if row["error"] else ""))
    console.print(t)
