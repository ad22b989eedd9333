"""What the terminal pages share: money, warnings about releases not in effect, code lists."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text

from codeetl import clock
from codeetl.errors import command

NOT_IN_EFFECT = "That release is not in effect on the requested date; it is the latest one loaded before it."


DATASET_TITLES = {"icd10cm": "ICD-10-CM", "msdrg": "MS-DRG", "ipps": "IPPS", "pfs": "Medicare PFS", "gems": "GEM"}


def not_in_effect(in_effect: bool | None, day: str | None = None, release: dict | None = None) -> list[Text]:
    """The warning line (a list of one Text, or empty) for a page or section whose release is not in effect on
    its date. When the date is today, it says plainly that the warehouse is behind (no loaded release of the
    dataset is in effect today) and what to run."""
    if in_effect is not False:
        return []
    if day is not None and day == clock.today().isoformat():
        ended = f" ({release['release']} ended {release['effective_to']})" if release and release.get("effective_to") else ""
        name = DATASET_TITLES.get((release or {}).get("dataset", ""), (release or {}).get("dataset", ""))
        return [Text(f"The warehouse is behind: no loaded {name} release is in effect today"
                     f"{ended}; this is the latest one loaded. Run `{command('refresh')}`; `{command('status')}` shows what is due.",
                     style="yellow")]
    return [Text(NOT_IN_EFFECT, style="yellow")]


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
