"""Reading CMS/CDC text files: their encodings, line ends, and errors that name the line."""

from __future__ import annotations

import re
from pathlib import Path

import polars as pl

from codeetl.errors import SourceFormatError


def _reject_utf16(raw: bytes, where: str | Path) -> None:
    """CMS text is never UTF-16 (or UTF-32): say so, rather than failing later on a garbled layout."""
    head = raw[:4096]
    if head.startswith((b"\xff\xfe", b"\xfe\xff")) or b"\x00" in head:
        raise SourceFormatError(where, 1, "8-bit text (UTF-8 or Windows-1252)",
                                "UTF-16 or binary data (NUL bytes or a UTF-16 byte order mark)")


# A well-formed UTF-8 sequence of two to four bytes (RFC 3629): what a single-byte code page almost never
# produces by chance (an upper-case accented letter followed by a symbol), and what UTF-8 text always does.
_UTF8_MULTIBYTE = re.compile(rb"[\xC2-\xDF][\x80-\xBF]|\xE0[\xA0-\xBF][\x80-\xBF]|[\xE1-\xEC\xEE\xEF][\x80-\xBF]{2}"
                             rb"|\xED[\x80-\x9F][\x80-\xBF]|\xF0[\x90-\xBF][\x80-\xBF]{2}|[\xF1-\xF3][\x80-\xBF]{3}"
                             rb"|\xF4[\x80-\x8F][\x80-\xBF]{2}")


def _reject_mixed(raw: bytes, error: UnicodeDecodeError, where: str | Path) -> None:
    """A file that is not UTF-8 throughout but holds UTF-8 characters elsewhere is a mix of two encodings
    (e.g. 'café' in UTF-8 on one line, in Latin-1 on another): no single decoding reads it right, so
    :class:`SourceFormatError` names the first line that is not UTF-8 (rather than 'cafÃ©' published)."""
    m = _UTF8_MULTIBYTE.search(raw)
    if m is None:
        return
    bad_line = raw.count(b"\n", 0, error.start) + 1
    utf8_line = raw.count(b"\n", 0, m.start()) + 1
    raise SourceFormatError(where, bad_line, f"UTF-8 text throughout (line {utf8_line} is UTF-8: "
                            f"{raw[m.start():m.end()].decode('utf-8')!r})", repr(raw[error.start:error.end]))


def decode_cms_text(raw: bytes, where: str | Path) -> str:
    """Bytes of a CMS text/CSV file as text: UTF-8 (a BOM is dropped) when they decode as such, else
    Windows-1252 (CMS writes many files from Windows tools, e.g. 2026-B's RVU file has one 0xA0 byte).
    A byte undefined in Windows-1252, UTF-16/binary data, or a mix (UTF-8 characters on some lines, another
    encoding on others) raises :class:`SourceFormatError` naming the line."""
    _reject_utf16(raw, where)
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        _reject_mixed(raw, e, where)
    try:
        return raw.decode("cp1252")
    except UnicodeDecodeError as e:
        line = raw.count(b"\n", 0, e.start) + 1
        raise SourceFormatError(where, line, "UTF-8 or Windows-1252 text", repr(raw[e.start : e.end])) from None


MAX_READ_BYTES = 128_000_000
"""Parsers read a source file whole only up to this size: 7x the largest real one (IPPS Table 6K, 17 MB).
Downloads are capped lower still by the catalog (``max_bytes``); this is the parsers' own guard, for
files that reach them another way."""


def check_size(path: str | Path, limit: int = MAX_READ_BYTES) -> int:
    """The file's size in bytes; :class:`SourceFormatError` when it is larger than `limit`, before any of
    it is read (a parser reads files whole, so a file far larger than any real one is refused)."""
    size = Path(path).stat().st_size
    if size > limit:
        raise SourceFormatError(path, None, f"a file of at most {limit:,} bytes (the real ones are far smaller)",
                                f"{size:,} bytes")
    return size


def read_bytes(path: str | Path, limit: int = MAX_READ_BYTES) -> bytes:
    """The file's bytes, after :func:`check_size`."""
    check_size(path, limit)
    return Path(path).read_bytes()


def read_text(path: str | Path) -> str:
    """A CMS text file as text (see :func:`decode_cms_text`), after :func:`check_size`."""
    return decode_cms_text(read_bytes(path), path)


def read_lines(path: str | Path, encoding: str = "ascii") -> pl.DataFrame:
    """The file as a frame ``(line_no: UInt32 1-based, text: str)``; CR of CRLF removed.

    A byte that is not valid in ``encoding`` raises :class:`SourceFormatError` naming its line; a file
    larger than ``MAX_READ_BYTES`` is refused before it is read.
    """
    raw = read_bytes(path)
    _reject_utf16(raw, path)
    try:
        text = raw.decode(encoding)
    except UnicodeDecodeError as e:
        line = raw.count(b"\n", 0, e.start) + 1
        raise SourceFormatError(path, line, f"{encoding} text", repr(raw[e.start : e.end])) from None
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return pl.DataFrame({"text": lines}, schema={"text": pl.String}).with_row_index("line_no", offset=1).with_columns(
        pl.col("text").str.strip_suffix("\r")
    )


def parse_xml(source: str | Path | bytes, where: str | Path):
    """The root element of an XML file (a path) or document (bytes), parsed with no entity resolved, no DTD
    loaded and no network. :class:`SourceFormatError` naming the line for malformed XML, for a DOCTYPE that
    declares entities (``<!ENTITY xxe SYSTEM "file:///...">``: the official files declare none) and for an
    entity reference left in the text (``&xxe;``: not data, so never published)."""
    from lxml import etree

    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=True)
    try:
        if isinstance(source, bytes):
            root = etree.fromstring(source, parser)
        else:
            root = etree.parse(str(source), parser).getroot()
    except etree.XMLSyntaxError as e:
        raise SourceFormatError(where, e.lineno, "well-formed XML", str(e)) from None
    dtd = root.getroottree().docinfo.internalDTD
    declared = [e.name for e in dtd.iterentities()] if dtd is not None else []
    if declared:
        raise SourceFormatError(where, _first_line_with(source, b"<!ENTITY"), "XML without entity declarations",
                                "a DOCTYPE declaring " + ", ".join(declared[:5]))
    ref = next(root.iter(etree.Entity), None)
    if ref is not None:
        raise SourceFormatError(where, ref.sourceline, "text without entity references", ref.text)
    return root


def _first_line_with(source: str | Path | bytes, needle: bytes) -> int | None:
    """The 1-based line of the first `needle` in a file or document (read in blocks), None if absent."""
    if isinstance(source, bytes):
        at = source.find(needle)
        return source.count(b"\n", 0, at) + 1 if at >= 0 else None
    lines, tail = 0, b""
    with open(source, "rb") as f:
        while block := f.read(1 << 20):
            block = tail + block
            at = block.find(needle)
            if at >= 0:
                return lines + block.count(b"\n", 0, at) + 1
            keep = len(needle) - 1
            lines += block.count(b"\n", 0, len(block) - keep)
            tail = block[len(block) - keep:]
    return None


def raise_first(frame: pl.DataFrame, path: str | Path, expected: str, where: pl.Expr | None = None,
                shown: str = "text") -> None:
    """Raise :class:`SourceFormatError` for the first row (lowest ``line_no``) of ``frame`` — or of the rows
    matching ``where`` — naming its line, what was ``expected`` and the row's ``shown`` column; return None
    when there is no such row. The one way parsers report a bad row of a frame."""
    rows = frame if where is None else frame.filter(where)
    if rows.height:
        row = rows.sort("line_no").row(0, named=True)
        raise SourceFormatError(path, int(row["line_no"]), expected, None if row[shown] is None else str(row[shown]))


def csv_records(path: str | Path) -> list[tuple[int, list[str]]]:
    """``(line_no, cells)`` for every record of a CMS CSV file (text decoded by :func:`read_text`);
    ``line_no`` is the 1-based line the record starts on (a quoted cell may span lines)."""
    import csv
    import io

    reader = csv.reader(io.StringIO(read_text(path), newline=""))
    out, start = [], 1
    for cells in reader:
        out.append((start, cells))
        start = reader.line_num + 1
    return out
