"""Pictures drawn on the server as SVG (no JavaScript): a code's history as a timeline, an MS-DRG's relative
weight and mean lengths of stay across grouper versions. Every figure drawn is also written in the picture
(labels) and in its ``<title>`` tooltips, and the page lists the same facts as text."""

from __future__ import annotations

import datetime as dt
from html import escape

from markupsafe import Markup

BILLABLE, HEADER, AXIS = "#2e7d32", "#b7791f", "#555"


def _day(text: str | None, default: dt.date) -> dt.date:
    return dt.date.fromisoformat(text) if text else default


def history_timeline(history: dict | None, day: str | None, width: int = 720) -> Markup:
    """The spans of a code's history (``page["history"]["spans"]``: valid_from, valid_to, is_billable,
    description, first_release, last_release) as bars on a time axis, green while billable, amber while a
    header, with the page's day marked and the replacements (``replaced_by``/``replaces``) as ticks. Empty
    when there is no history."""
    spans = [s for s in (history or {}).get("spans") or [] if s.get("valid_from")]
    if not spans:
        return Markup("")
    today = _day(day, dt.date.today())
    first = min(_day(s["valid_from"], today) for s in spans)
    last = max([_day(s.get("valid_to"), today) for s in spans] + [today])
    moves = [(r.get("effective"), "replaced by " + r["code"]) for r in history.get("replaced_by") or []] + \
            [(r.get("effective"), "replaces " + r["code"]) for r in history.get("replaces") or []]
    left, right, top, bar = 10, width - 10, 24, 26
    scale = (right - left) / max(1, (last - first).days)

    def x(d: dt.date) -> float:
        return left + (d - first).days * scale

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" role="img" class="timeline" viewBox="0 0 {width} 96" '
             f'width="{width}" height="96"><title>History of the code over the loaded releases</title>']
    for s in spans:
        a, b = _day(s["valid_from"], today), _day(s.get("valid_to"), last)
        kind = "billable" if s.get("is_billable") else "header"
        tip = (f"{s['valid_from']} to {s.get('valid_to') or 'open'}: {kind}, releases {s.get('first_release')}"
               f"–{s.get('last_release')}: {s.get('description') or ''}")
        parts.append(f'<g class="span {kind}"><title>{escape(tip)}</title>'
                     f'<rect x="{x(a):.1f}" y="{top}" width="{max(2.0, x(b) - x(a)):.1f}" height="{bar}" rx="3" '
                     f'fill="{BILLABLE if s.get("is_billable") else HEADER}"/>'
                     f'<text x="{x(a) + 4:.1f}" y="{top + 17}" font-size="11" fill="#fff">{escape(kind)}</text></g>')
    for when, label in moves:
        if when:
            wx = x(_day(when, today))
            parts.append(f'<g class="move"><title>{escape(f"{when}: {label}")}</title><line x1="{wx:.1f}" x2="{wx:.1f}" '
                         f'y1="{top - 8}" y2="{top + bar + 8}" stroke="#c62828" stroke-width="2"/></g>')
    tx = x(today)
    parts.append(f'<line x1="{tx:.1f}" x2="{tx:.1f}" y1="{top - 12}" y2="{top + bar + 12}" stroke="#000" '
                 f'stroke-dasharray="3,2"><title>{escape(str(today))}: the page\'s day</title></line>')
    for year in range(first.year, last.year + 2):
        d = dt.date(year, 10, 1)  # ICD-10-CM's fiscal year starts on October 1
        if first <= d <= last:
            parts.append(f'<text x="{x(d):.1f}" y="{top + bar + 26}" font-size="10" fill="{AXIS}" text-anchor="middle">'
                         f'FY{year + 1}</text><line x1="{x(d):.1f}" x2="{x(d):.1f}" y1="{top + bar}" y2="{top + bar + 14}" '
                         f'stroke="{AXIS}"/>')
    parts.append(f'<text x="{left}" y="14" font-size="11" fill="{AXIS}">{escape(str(first))}</text>'
                 f'<text x="{right}" y="14" font-size="11" fill="{AXIS}" text-anchor="end">{escape(str(last))}</text></svg>')
    return Markup("".join(parts))


def drg_chart(trend: list[dict], width: int = 640) -> Markup:
    """Bars of an MS-DRG's relative weight and of its geometric and arithmetic mean lengths of stay in each
    loaded version (from :func:`codeetl.pages.trend.drg_trend`); a version without Table 5 figures is drawn
    as a gap saying so."""
    if not trend:
        return Markup("")
    panels = [("Relative weight", "weight", "#1565c0"), ("Geometric mean LOS (days)", "gmlos", "#6a1b9a"),
              ("Arithmetic mean LOS (days)", "amlos", "#00838f")]
    pw, height, base = width // 3, 40 + 22 * len(trend), 34
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" role="img" class="drgchart" viewBox="0 0 {width} {height}" '
             f'width="{width}" height="{height}"><title>Relative weight and mean lengths of stay by MS-DRG version</title>']
    for i, (label, key, colour) in enumerate(panels):
        ox = i * pw
        values = [float(t[key]) for t in trend if t.get(key) is not None]
        top = max(values) if values else 1.0
        parts.append(f'<text x="{ox + 4}" y="16" font-size="11" font-weight="bold">{escape(label)}</text>')
        for j, t in enumerate(trend):
            y = base + j * 22
            parts.append(f'<text x="{ox + 4}" y="{y + 12}" font-size="10" fill="{AXIS}">{escape(t["version"])}</text>')
            v = t.get(key)
            if v is None:
                parts.append(f'<text x="{ox + 44}" y="{y + 12}" font-size="10" fill="{AXIS}">not in the loaded IPPS tables</text>')
                continue
            w = (pw - 100) * float(v) / top if top else 0
            parts.append(f'<g><title>{escape(t["version"])}: {escape(label)} {escape(v)}</title>'
                         f'<rect x="{ox + 44}" y="{y + 2}" width="{max(1.0, w):.1f}" height="14" fill="{colour}"/>'
                         f'<text x="{ox + 48 + w:.1f}" y="{y + 13}" font-size="10">{escape(v)}</text></g>')
    parts.append("</svg>")
    return Markup("".join(parts))
