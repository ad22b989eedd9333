"""What the terminal pages share: money, warnings about releases not in effect, code lists."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text

NOT_IN_EFFECT = "That release is not in effect on the requested date; it is the latest one loaded before it."


def not_in_effect(in_effect: bool | None) -> list[Text]:
    """The warning line (a list of one Text, or empty) for a page or section whose release is not in effect on the requested date."""
    return [Text(NOT_IN_EFFECT, style="yellow")] if in_effect is False else []


def code_list(title: str, rows: list[dict], highlight: str | None = None) -> Table:
    """A borderless table of codes: code, description, billable/header."""
    t = Table(title=title, title_justify="left", show_header=False, box=None, pad_edge=False)
    t.add_column(style="bold cyan", no_wrap=True)
    t.add_column()
    t.add_column(style="dim", no_wrap=True)
    for r in rows:
        t.add_row(r["code"], r["description"], "billable" if r["is_billable"] else "header")
    return t


def usd(v: str | None) -> str:
    """A decimal string as dollars with thousands separators ("1,065.49" -> "$1,065.49"); "—" for None."""
    if v is None:
        return "—"
    whole, cents = v.split(".")
    return f"${int(whole):,}.{cents}"
