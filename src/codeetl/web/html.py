"""The HTML side: the Jinja2 environment (templates in ``web/templates``, autoescaped) and the filters the
templates use to show the page dicts — links wherever a code is named, money, dates."""

from __future__ import annotations

import re
from html import escape
from pathlib import Path
from urllib.parse import quote

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup

from codeetl.pages.code import NOTE_LABELS, history_scope
from codeetl.pages.search import HIT
from codeetl.web import svg

TEMPLATES = Path(__file__).with_name("templates")
DATASET_TITLES = {"icd10cm": "ICD-10-CM", "msdrg": "MS-DRG", "ipps": "IPPS", "pfs": "Medicare PFS", "gems": "GEMs",
                  "icd9cm": "ICD-9-CM", "links": "curated links", "mcd": "Medicare Coverage Database"}
_CODE_IN_TEXT = re.compile(r"\b([A-Z][0-9][0-9A-Z](?:\.[0-9A-Z]{1,4})?)(\.?-)?")


def code_url(code: str, query: str = "") -> str:
    """The page of an ICD-10-CM code (``/code/M96.1``), with `query` (e.g. ``as_of=2025-06-01``)."""
    return f"/code/{quote(code)}" + (f"?{query}" if query else "")


def link_codes(text: str | None, codes: list[str] | None = None, query: str = "") -> Markup:
    """`text` escaped, with each code it names linked to its page: the codes in `codes` (a note's
    ``referenced_codes``; ``T84.-`` links to T84), or every code-shaped word when `codes` is None."""
    if not text:
        return Markup("")
    wanted = None if codes is None else {c.rstrip("-").rstrip(".") for c in codes}
    out, at = [], 0
    for m in _CODE_IN_TEXT.finditer(text):
        code = m.group(1)
        if wanted is not None and code not in wanted:
            continue
        out.append(escape(text[at:m.start()]))
        out.append(f'<a class="code" href="{escape(code_url(code, query))}">{escape(m.group(0))}</a>')
        at = m.end()
    out.append(escape(text[at:]))
    return Markup("".join(out))


def usd(value: str | None) -> str:
    """A decimal string as dollars ("1065.49" -> "$1,065.49"); "—" for None."""
    if value is None:
        return "—"
    whole, _, cents = value.partition(".")
    return f"${int(whole):,}" + (f".{cents}" if cents else "")


def marked(text: str | None) -> Markup:
    """A search snippet escaped, the matched words in ``<mark>``."""
    if not text:
        return Markup("")
    return Markup(escape(text).replace(HIT[0], "<mark>").replace(HIT[1], "</mark>"))


KNOWN_KEYS = frozenset("""code code_nodot description description_tabular is_billable kind release day hierarchy
hierarchy_note chapter section category ancestors notes seventh_characters siblings children icd9 ms_drg procedures
history sources built_at""".split())
"""The code page keys the code template shows in their own sections; any other key is shown generically."""


def groupby_origin(notes: list[dict]) -> list[tuple[str, list[dict]]]:
    """Notes grouped by where they are printed, in order, as (heading, notes): "M96.1 (this code)", "from
    category M96: ...", "from Chapter 13: ..." (the CLI's headings)."""
    out: list[tuple[str, list[dict]]] = []
    last = None
    for n in notes:
        f = n["from"]
        key = (f["kind"], f["code"], f["title"], n["inherited"])
        if key != last:
            if not n["inherited"]:
                heading = f"{f['code']} (this code)"
            elif f["kind"] == "chapter":
                heading = f"from {f['title']}"
            else:
                label = "section" if f["kind"] == "section" else ("category" if len(f["code"]) == 3 else "code")
                heading = f"from {label} {f['code']}: {f['title']}"
            out.append((heading, []))
            last = key
        out[-1][1].append(n)
    return out


def environment() -> Environment:
    """The templates' environment: autoescaping on, the filters above and the SVG pictures as globals."""
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]),
                      trim_blocks=True, lstrip_blocks=True)
    env.filters.update(groupby_origin=groupby_origin, link_codes=link_codes, usd=usd, marked=marked, code_url=code_url, quote=lambda v: quote(str(v), safe=""))
    env.globals.update(known_keys=KNOWN_KEYS, note_labels=NOTE_LABELS, history_scope=history_scope, dataset_titles=DATASET_TITLES, history_timeline=svg.history_timeline,
                       drg_chart=svg.drg_chart)
    return env
