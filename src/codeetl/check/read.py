"""Reading a published code page: plain text, Markdown or HTML -> logical lines.

Each :class:`Line` keeps the 1-based line number of the source where its text starts, the heading of the
section it is in, and what the layout says about it (a heading, a list item, a table row with its cells and
the table's header). Markup is gone; nothing else is changed. Pure functions over text: no warehouse.

Layouts differ between publishers; what they share is handled here once:

* headings: Markdown ``#`` / setext / a line entirely in bold, HTML ``h1``-``h6``, and in plain text a short
  line standing alone between blank lines;
* label/value pairs split over two lines (``Status`` / ``Billable``, HTML ``dt``/``dd``) become one line
  ``Status: Billable`` at the value's line number;
* table rows keep their cells and the header of their table.

Bounded whatever the input (see :data:`MAX_PAGE_BYTES` and the other limits below): a page larger than a
code page can be is refused with one line before it costs time or memory. HTML is read by libxml2 (lxml's
HTML parser, fed in chunks, the tree pruned as it is read): linear in the input, unclosed tags closed the
way browsers do, nesting capped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

from lxml import etree

from codeetl.errors import SourceFormatError
from codeetl.sources.textio import decode_cms_text


@dataclass(frozen=True)
class Line:
    """One logical line of a page."""

    no: int
    text: str
    section: str = ""
    heading: bool = False
    item: bool = False
    cells: tuple[str, ...] = ()
    header: tuple[str, ...] = ()
    adjacent: bool = False  # no blank line between this line and the one before it in the source
    breaks: tuple[tuple[int, int], ...] = ()  # (offset in text, source line) where a wrapped line continues

    def line_at(self, offset: int) -> int:
        """The source line of the character at `offset` of the text (wrapped lines were joined)."""
        no = self.no
        for at, line in self.breaks:
            if offset >= at:
                no = line
        return no


@dataclass
class Page:
    """A page read into logical lines; `format` is 'text', 'markdown' or 'html'."""

    lines: list[Line]
    format: str
    title: str | None = None
    meta: dict[str, str] = field(default_factory=dict)


class UnreadablePage(ValueError):
    """The input is not a text page (binary, empty, not decodable, or larger than a code page can be)."""


# What a code page can be, at most (the seed page is 9,679 bytes, 122 lines, 85 lines of text). Beyond
# these a page is refused: reading it would cost time and memory for no code page.
MAX_PAGE_BYTES = 20_000_000  # read no further: /dev/zero, a FIFO or a 200 MB file stop here
MAX_SOURCE_LINES = 200_000  # lines of the file (text and Markdown are split into lines)
MAX_TEXT_LINES = 10_000  # logical lines of text the page gives (finding claims costs about 0.5 ms a line)
MAX_TEXT_CHARS = 300_000  # characters of text, markup and spacing left out (finding claims: up to 10 µs each)
MAX_HTML_ELEMENTS = 100_000  # HTML elements (tags), with or without text (a heavy page has a few thousand)
MAX_HTML_DEPTH = 256  # libxml2 stops reading (silently) at 256 open elements: refused instead


def _too_large(where: str, what: str) -> UnreadablePage:
    return UnreadablePage(f"{where}: expected a code page of at most {what} (a code page has a few hundred lines);"
                          " found more")


class _Text:
    """Counts the lines of text a page gives and their characters; UnreadablePage past the limits."""

    def __init__(self, where: str) -> None:
        self.where, self.lines, self.chars = where, 0, 0

    def take(self, line: Line) -> None:
        """Count one more line."""
        self.lines += 1
        self.chars += len(line.text)
        if self.lines > MAX_TEXT_LINES:
            raise _too_large(self.where, f"{MAX_TEXT_LINES:,} lines of text")
        if self.chars > MAX_TEXT_CHARS:
            raise _too_large(self.where, f"{MAX_TEXT_CHARS:,} characters of text")

    def take_all(self, lines: list[Line]) -> None:
        """Count every line of a page read whole."""
        for line in lines:
            self.take(line)


_BULLET_RE = re.compile(r"^\s*(?:[-*+•·▪◦–]|\(?\d{1,2}[.)])\s+")
_DATE_WORDS_RE = re.compile(r"\b(verified|updated|reviewed|published)\b", re.I)


def decode(raw: bytes, where: str) -> str:
    """Bytes of a page as text (UTF-8, else Windows-1252); UnreadablePage for binary, empty or too large
    input (more than :data:`MAX_PAGE_BYTES` or :data:`MAX_SOURCE_LINES`)."""
    if len(raw) > MAX_PAGE_BYTES:
        raise _too_large(where, f"{MAX_PAGE_BYTES:,} bytes")
    if not raw.strip():
        raise UnreadablePage(f"{where}: the page is empty")
    nul = raw.find(b"\x00")
    if nul >= 0:
        line = raw.count(b"\n", 0, nul) + 1
        raise UnreadablePage(f"{where}, line {line}: expected a text page; found binary data (a NUL byte)")
    if raw.count(b"\n") >= MAX_SOURCE_LINES:
        raise _too_large(where, f"{MAX_SOURCE_LINES:,} lines")
    try:  # the rule CMS text files are read by: UTF-8, else Windows-1252, never a mix of the two
        return decode_cms_text(raw, where)
    except SourceFormatError as e:
        raise UnreadablePage(str(e)) from None


def detect_format(text: str, name: str | None = None) -> str:
    """'html', 'markdown' or 'text', from the file name's extension, else from the content."""
    ext = (name or "").lower().rsplit(".", 1)[-1] if name and "." in name else ""
    if ext in ("html", "htm", "xhtml"):
        return "html"
    if ext in ("md", "markdown"):
        return "markdown"
    if ext in ("txt", "text"):
        return "text"
    head = text[:5000]
    if re.search(r"<(?:!doctype html|html|body|p|div|h[1-6]|table|ul|li|dl)\b", head, re.I):
        return "html"
    if re.search(r"^(?:#{1,6} \S|\|.+\|\s*$|\*\*[^*]+\*\*)", head, re.M):
        return "markdown"
    return "text"


def read_page(text: str, name: str | None = None, fmt: str | None = None) -> Page:
    """The page `text` (named `name`, for the format) as logical lines, with sections and label pairs."""
    fmt = fmt or detect_format(text, name)
    where = name or "-"
    if fmt == "html":
        lines, title, meta = _read_html(text, where)
    elif fmt == "markdown":
        lines, title, meta = _join_wrapped(_read_markdown(text)), None, {}
    else:
        lines, title, meta = _join_wrapped(_read_plain(text)), None, {}
    _Text(where).take_all(lines)
    lines = _split_long(_with_sections(_pair_labels(lines)))
    if title is None:
        title = next((ln.text for ln in lines if ln.heading), None)
    return Page(lines=lines, format=fmt, title=title, meta=meta)


# ------------------------------------------------------------------------------------------ plain text


_UNDERLINE_RE = re.compile(r"^\s*(?:=|-|~|\*|_){3,}\s*$")


def _read_plain(text: str) -> list[Line]:
    raw = [("" if _UNDERLINE_RE.match(s) else s) for s in text.splitlines()]
    underlined = {i - 1 for i, s in enumerate(text.splitlines()) if _UNDERLINE_RE.match(s) and i}
    out = []
    for i, s in enumerate(raw):
        t = _clean(s)
        if not t:
            continue
        blank_before = i == 0 or not raw[i - 1].strip()
        blank_after = i + 1 >= len(raw) or not raw[i + 1].strip()
        item = bool(_BULLET_RE.match(s))
        if item:
            t = _BULLET_RE.sub("", s).strip()
        shouted = t.upper() == t and sum(ch.isalpha() for ch in t) >= 4 and len(t.split()) <= 8
        heading = not item and (i in underlined or shouted or blank_before and blank_after) and _looks_like_heading(t)
        out.append(Line(no=i + 1, text=t, heading=heading, item=item, adjacent=not blank_before))
    return out


def _looks_like_heading(t: str) -> bool:
    """A short line standing alone: a few words, no sentence punctuation at its end, no amount, no date line."""
    words = t.split()
    return (0 < len(words) <= (10 if t.upper() == t else 6) and len(t) <= 70 and t[-1] not in ".?!:;," and "$" not in t
            and not _DATE_WORDS_RE.search(t) and not t[0].isdigit())


def _clean(s: str) -> str:
    return re.sub(r"\s+", " ", s.replace("\u00a0", " ")).strip()


# ------------------------------------------------------------------------------------------- Markdown

_MD_HEADING_RE = re.compile(r"^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
_MD_TABLE_SEP_RE = re.compile(r"^\s*\|?\s*:?-{2,}:?\s*(\|\s*:?-{2,}:?\s*)*\|?\s*$")


def _md_inline(s: str) -> str:
    """Markdown inline markup removed: links and images keep their text, emphasis and code marks go."""
    # Each pattern stops at the next opening mark, so a line of unclosed marks ('[a](' or '*a ' a million
    # times) is read in one pass instead of one pass per mark.
    s = re.sub(r"!\[([^\[\]]*)\]\([^()]*\)", r"\1", s)
    s = re.sub(r"\[([^\[\]]+)\]\([^()]*\)", r"\1", s)
    s = re.sub(r"<[^<>]+>", " ", s)
    s = re.sub(r"(\*\*|__)(.+?)\1", r"\2", s)
    s = re.sub(r"(?<![\w*])\*(?!\s)([^*]+?)(?<!\s)\*(?![\w*])", r"\1", s)
    s = re.sub(r"(?<![\w*])_(?!\s)([^_]+?)(?<!\s)_(?![\w*])", r"\1", s)
    return _clean(s.replace("`", "").replace("\\|", "|"))


def _read_markdown(text: str) -> list[Line]:
    raw = text.splitlines()
    out: list[Line] = []
    header: tuple[str, ...] = ()
    for i, s in enumerate(raw):
        if not s.strip() or _MD_TABLE_SEP_RE.match(s) and "-" in s:
            if _MD_TABLE_SEP_RE.match(s) and out and out[-1].cells:  # the row above is the table's header
                header = out[-1].cells
                out[-1] = replace(out[-1], heading=False, header=())
            if not s.strip():
                header = ()
            continue
        adjacent = i > 0 and bool(raw[i - 1].strip())
        if re.match(r"^\s*(=+|-+)\s*$", s) and out and adjacent:  # setext underline
            out[-1] = replace(out[-1], heading=True)
            continue
        out.append(_md_line(i + 1, s, header, adjacent))
    return out


def _md_line(no: int, s: str, header: tuple[str, ...], adjacent: bool) -> Line:
    m = _MD_HEADING_RE.match(s)
    if m:
        return Line(no=no, text=_md_inline(m.group(2)), heading=True)
    if s.strip().startswith("|"):
        cells = tuple(_md_inline(c) for c in re.split(r"(?<!\\)\|", s.strip().strip("|")))
        return Line(no=no, text=" | ".join(cells), cells=cells, header=header, adjacent=adjacent)
    item = bool(_BULLET_RE.match(s))
    body = _BULLET_RE.sub("", s) if item else s
    bold_line = re.fullmatch(r"\s*(\*\*|__)([^*_]+)\1\s*", body)
    t = _md_inline(body)
    heading = bool(bold_line) and not item and _looks_like_heading(t.rstrip(":")) and not adjacent
    return Line(no=no, text=t, heading=heading, item=item, adjacent=adjacent)


# ----------------------------------------------------------------------------------------------- HTML

_BLOCKS = {"p", "div", "li", "dt", "dd", "h1", "h2", "h3", "h4", "h5", "h6", "tr", "br", "section", "article",
           "header", "footer", "table", "ul", "ol", "dl", "blockquote", "pre", "title", "caption", "figcaption",
           "main", "nav", "aside", "thead", "tbody", "summary", "details", "hr"}
_SKIP = {"script", "style", "noscript", "template", "svg"}
_VOID = {"br", "hr", "img", "meta", "link", "input", "wbr", "source", "col", "area", "base", "embed", "param", "track"}


class _HtmlLines:
    """Collects the text of block elements as lines, each with the source line where its text starts.

    Driven by :func:`_read_html` with the parser's events in document order: ``handle_starttag``,
    ``handle_data`` (with the line the text starts on), ``handle_endtag``. It keeps the page's limits on
    text (:data:`MAX_TEXT_LINES`, :data:`MAX_TEXT_CHARS`)."""

    def __init__(self, where: str) -> None:
        self.where = where
        self.lines: list[Line] = []
        self.buf: list[str] = []
        self.buf_line = 0
        self.stack: list[str] = []
        self.items = 0  # open <li> elements
        self.skip = 0
        self.row: list[str] | None = None
        self.row_is_header = True
        self.row_line = 0
        self.cell: list[str] | None = None
        self.header: tuple[str, ...] = ()
        self.title: str | None = None
        self.meta: dict[str, str] = {}
        self.kind = ""  # the block the text in buf belongs to
        self.prev_kind = ""  # the block of the last line emitted
        self.text = _Text(where)  # stop reading as soon as the page is too large

    def handle_starttag(self, tag: str, attrs: dict[str, str], line: int) -> None:
        """A block starts a new line; a table row and its cells are collected; meta dates are kept."""
        a = attrs
        if tag in _SKIP:
            self.skip += 1
            return
        if tag == "meta" and a.get("content") and (a.get("name") or a.get("property")):
            self.meta[(a.get("name") or a.get("property")).lower()] = a["content"]
        if tag == "time" and a.get("datetime"):
            self.meta.setdefault("time", a["datetime"])
        if tag in ("td", "th"):
            self.cell = []
            self.row_is_header &= tag == "th"
            return
        if tag == "tr":
            self._flush()
            self.row, self.row_is_header, self.row_line = [], True, line
            return
        if tag == "table":
            self.header = ()
        if tag in _BLOCKS:
            self._flush()
            self.kind = tag
        if tag not in _VOID:
            self.stack.append(tag)
            self.items += tag == "li"

    def handle_endtag(self, tag: str) -> None:
        """A block, cell or row ends."""
        if tag in _SKIP:
            self.skip = max(0, self.skip - 1)
            return
        if tag in ("td", "th") and self.cell is not None and self.row is not None:
            self.row.append(_clean(" ".join(self.cell)))
            self.cell = None
            return
        if tag == "tr" and self.row is not None:
            self._emit_row()
            return
        if tag in _BLOCKS:
            self._flush()
        if tag in self.stack:  # the parser closes what it opened: the stack is at most MAX_HTML_DEPTH deep
            while self.stack:
                top = self.stack.pop()
                self.items -= top == "li"
                if top == tag:
                    break

    def handle_data(self, data: str, line: int) -> None:
        """Text, starting on source line `line`."""
        if self.skip:
            return
        if self.cell is not None:
            self.cell.append(data)
            return
        if data.strip() and not self.buf:
            self.buf_line = line + data[: len(data) - len(data.lstrip())].count("\n")
        self.buf.append(data)

    def _emit_row(self):
        cells = tuple(self.row or ())
        self.row = None
        if not any(cells):
            return
        if self.row_is_header and not self.header:
            self.header = cells
            return
        self._add(Line(no=self.row_line, text=" | ".join(cells), cells=cells, header=self.header))

    def _add(self, line: Line) -> None:
        self.text.take(line)
        self.lines.append(line)

    def _flush(self):
        t = _clean(" ".join(self.buf))
        self.buf = []
        if not t:
            return
        kind = next((k for k in reversed(self.stack) if k in _BLOCKS), self.kind)
        if kind == "title":
            self.title = t
        heading = kind in ("h1", "h2", "h3", "h4", "h5", "h6")
        item = self.items > 0
        if kind == "dd" and self.prev_kind == "dt" and self.lines:  # <dt>Status</dt><dd>Billable</dd>
            t = f"{self.lines.pop().text.rstrip(':')}: {t}"
        self.prev_kind = kind
        self._add(Line(no=self.buf_line, text=t, heading=heading, item=item, adjacent=True))


_HTML_CHUNK = 1 << 16


def _read_html(text: str, where: str = "-") -> tuple[list[Line], str | None, dict[str, str]]:
    """The page's lines, title and meta dates. libxml2 reads the page in chunks; each event hands the text
    before it (the element's text, or the tail of the node before) to :class:`_HtmlLines`, and nodes are
    dropped once read, so memory stays with the open elements."""
    p = _HtmlLines(where)
    parser = etree.HTMLPullParser(events=("start", "end", "comment", "pi"), no_network=True, remove_pis=False)
    state = _HtmlCursor()
    for at in range(0, len(text), _HTML_CHUNK):
        parser.feed(text[at: at + _HTML_CHUNK])
        state.take(parser.read_events(), p)
    parser.close()
    state.take(parser.read_events(), p)
    if p.stack or state.depth:  # libxml2 stopped reading (past its nesting limit) without an error
        raise UnreadablePage(f"{where}, line {state.line}: expected HTML nested at most {MAX_HTML_DEPTH - 1} elements"
                             " deep; found deeper nesting (the rest of the page cannot be read)")
    p._flush()
    return p.lines, p.title, p.meta


class _HtmlCursor:
    """Where the reader is in the parser's events: the node whose text or tail comes next, the source line
    reached, how deep and how many elements."""

    def __init__(self) -> None:
        self.pending: tuple[etree._Element, str] | None = None
        self.line = 1
        self.depth = 0
        self.elements = 0

    def take(self, events, p: _HtmlLines) -> None:
        """Hand each event, and the text before it, to `p`."""
        for event, el in events:
            self._text_before(p)
            if event == "start":
                self._start(el, p)
            elif event == "end":
                self.depth -= 1
                p.handle_endtag(el.tag)
                self.pending = (el, "tail")
            else:  # a comment or processing instruction: only its tail is text
                self.line = el.sourceline or self.line
                self.pending = (el, "tail")

    def _start(self, el, p: _HtmlLines) -> None:
        self.depth += 1
        self.elements += 1
        self.line = el.sourceline or self.line
        if self.depth >= MAX_HTML_DEPTH:
            raise UnreadablePage(f"{p.where}, line {self.line}: expected HTML nested at most {MAX_HTML_DEPTH - 1}"
                                 " elements deep; found deeper nesting")
        if self.elements > MAX_HTML_ELEMENTS:
            raise _too_large(p.where, f"{MAX_HTML_ELEMENTS:,} HTML elements")
        p.handle_starttag(el.tag.lower() if isinstance(el.tag, str) else "", dict(el.attrib), self.line)
        self.pending = (el, "text")

    def _text_before(self, p: _HtmlLines) -> None:
        """The text between the last event and this one; a node whose tail has been read is dropped."""
        if self.pending is None:
            return
        node, attr = self.pending
        text = getattr(node, attr)
        if text:
            p.handle_data(text, self.line)
            self.line += text.count("\n")
        if attr == "tail" and (parent := node.getparent()) is not None:
            parent.remove(node)
        self.pending = None


# ---------------------------------------------------------------------------------- shared post-passes

_OWN_RECORD_RE = re.compile(r"^(?:[$\d]|[A-Z]\d[0-9A-Z](?:\.[0-9A-Z]{1,4})?\s)")


def _join_wrapped(lines: list[Line]) -> list[Line]:
    """Lines a writer wrapped mid-sentence joined again ('... DRG 552 (Medical back' + 'problems without
    MCC).'), keeping where each part starts. A line that ends a sentence, a short line, a heading, a list
    item or a table row is never continued, nor is a line that starts its own record (a code, an amount)."""
    out: list[Line] = []
    for ln in lines:
        prev = out[-1] if out else None
        if (prev is not None and ln.adjacent and not (ln.heading or ln.item or ln.cells or prev.heading or prev.cells)
                and len(prev.text) >= 40 and prev.text[-1] not in ".!?:;" and not _OWN_RECORD_RE.match(ln.text)):
            out[-1] = replace(prev, text=f"{prev.text} {ln.text}",
                              breaks=prev.breaks + ((len(prev.text) + 1, ln.no),))
            continue
        out.append(ln)
    return out


def _is_label(ln: Line) -> bool:
    t = ln.text
    return (not ln.heading and not ln.item and not ln.cells and len(t.split()) <= 3 and len(t) <= 24
            and not any(c.isdigit() for c in t) and t[-1] not in ".?!;,")


def _is_value(ln: Line) -> bool:
    t = ln.text
    return not ln.heading and not ln.cells and len(t.split()) <= 8 and len(t) <= 80 and ":" not in t


def _pair_labels(lines: list[Line]) -> list[Line]:
    """'Status' followed directly by 'Billable' -> one line 'Status: Billable' at the value's line."""
    out: list[Line] = []
    i = 0
    while i < len(lines):
        ln = lines[i]
        nxt = lines[i + 1] if i + 1 < len(lines) else None
        if nxt is not None and nxt.adjacent and _is_label(ln) and _is_value(nxt):
            out.append(replace(nxt, text=f"{ln.text.rstrip(':')}: {nxt.text}", item=False))
            i += 2
            continue
        out.append(ln)
        i += 1
    return out


MAX_LINE_CHARS = 2_000  # a longer line of text is read in pieces of at most this, cut after a sentence or a word


def _split_long(lines: list[Line]) -> list[Line]:
    """Lines longer than MAX_LINE_CHARS cut into pieces, each at the source line where it starts: finding
    claims in a line costs more than linear time in its length (codes are read with the words around
    them), so a page written as one enormous line stays fast to check."""
    out = []
    for ln in lines:
        while len(ln.text) > MAX_LINE_CHARS:
            window = ln.text[:MAX_LINE_CHARS]
            ends = [m.end() for m in re.finditer(r"[.;!?]\s+", window)]
            cut = ends[-1] if ends else (window.rfind(" ") + 1 or MAX_LINE_CHARS)
            head, rest = ln.text[:cut].rstrip(), ln.text[cut:]
            out.append(replace(ln, text=head, cells=(), header=(), breaks=tuple(b for b in ln.breaks if b[0] < cut)))
            ln = replace(ln, no=ln.line_at(cut), text=rest, adjacent=True, cells=(), header=(),
                         breaks=tuple((at - cut, no) for at, no in ln.breaks if at > cut))
        out.append(ln)
    return out


def _with_sections(lines: list[Line]) -> list[Line]:
    section = ""
    out = []
    for ln in lines:
        if ln.heading:
            section = ln.text
        out.append(replace(ln, section=section))
    return out


def sentences(text: str) -> list[tuple[int, str]]:
    """`text` split into sentences: [(offset, sentence)]. A full stop ends a sentence only before a space
    and a capital, digit or quote, and never after 'e.g.', 'i.e.', 'vs.', 'No.' or a single letter."""
    out, start = [], 0
    for m in re.finditer(r"[.!?]\s+(?=[A-Z0-9\"“(])", text):
        before = text[max(0, m.start() - 5): m.start() + 1].lower()
        if re.search(r"(?:\be\.g\.|\bi\.e\.|\bvs\.|\bno\.|\betc\.|\b[a-z]\.)$", before):
            continue
        out.append((start, text[start: m.start() + 1]))
        start = m.end()
    if start < len(text):
        out.append((start, text[start:]))
    return out
