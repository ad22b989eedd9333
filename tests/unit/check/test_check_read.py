"""Reading pages: plain text, Markdown and HTML -> logical lines with source line numbers and sections."""

from __future__ import annotations

from pathlib import Path

import pytest

from codeetl.check.read import UnreadablePage, decode, detect_format, read_page, sentences

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "check"


def by_text(page, start: str):
    return next(ln for ln in page.lines if ln.text.startswith(start))


def test_format_from_extension_then_content():
    assert detect_format("x", "a.HTML") == "html"
    assert detect_format("# T\n", "a.md") == "markdown"
    assert detect_format("<p>x</p>", "a.txt") == "text"  # the extension wins
    assert detect_format("<!doctype html><p>x</p>") == "html"
    assert detect_format("| a | b |\n|---|---|\n") == "markdown"
    assert detect_format("Status\nBillable\n") == "text"


def test_plain_label_value_pairs_become_one_line_at_the_value():
    page = read_page("M96.1\n\nStatus\nBillable\nChapter\n13\n\nSibling codes\n\nText here.\n", "p.txt")
    assert [(ln.no, ln.text) for ln in page.lines][:3] == [(1, "M96.1"), (4, "Status: Billable"), (6, "Chapter: 13")]
    assert by_text(page, "Text").section == "Sibling codes"


def test_plain_headings_alone_shouted_or_underlined():
    text = "TITLE OF PAGE\n=============\nA line that is long enough to be a sentence, not a heading.\nKEY FACTS\nBillable status: Billable\n"
    page = read_page(text, "p.txt")
    heads = [ln.text for ln in page.lines if ln.heading]
    assert heads == ["TITLE OF PAGE", "KEY FACTS"]
    assert by_text(page, "Billable").section == "KEY FACTS"


def test_wrapped_lines_are_joined_and_keep_their_line_numbers():
    text = "Intro\n\nUnder MS-DRG v43 the code groups to DRG 551 (Medical back problems with MCC) and DRG 552 (Medical back\nproblems without MCC). Next sentence.\n63030 $898.15\nA descriptor line for the procedure above it.\n"
    page = read_page(text, "p.txt")
    ln = by_text(page, "Under")
    assert "(Medical back problems without MCC)" in ln.text
    assert ln.line_at(ln.text.index("problems without")) == 4 and ln.line_at(0) == 3
    assert [x.no for x in page.lines if x.text.startswith(("63030", "A descriptor"))] == [5, 6]  # not joined


def test_markdown_tables_keep_cells_and_header():
    page = read_page((FIXTURES / "e11.65-coding-desk.md").read_text(), "e.md")
    row = by_text(page, "638")
    assert row.cells == ("638", "Diabetes with CC", "0.9862") and row.header == ("DRG", "Title", "Relative weight")
    assert row.section == "MS-DRG v43" and row.no == 55
    assert by_text(page, "Billable").cells == ("Billable", "Yes")
    assert not any(ln.text.startswith("---") or ln.text.startswith("|") for ln in page.lines)


def test_markdown_emphasis_links_and_items():
    page = read_page("# T\n\n- **Excludes1:** see [E10](http://x/E10) `code`\n", "a.md")
    item = page.lines[1]
    assert item.item and item.text == "Excludes1: see E10 code"


def test_html_blocks_tables_definition_lists_and_line_numbers():
    src = (FIXTURES / "s72.001a-orthoref.html").read_text()
    page = read_page(src, "s.html")
    assert page.title == "S72.001A ICD-10-CM code | OrthoRef"
    assert by_text(page, "Chapter:").text == "Chapter: 19 – Injury, poisoning and certain other consequences of external causes"
    assert by_text(page, "Chapter:").no == 19  # the dd's line
    d = by_text(page, "D |")
    assert d.cells == ("D", "subsequent encounter for open fracture with routine healing") and d.header == ("Character", "Meaning")
    assert d.no == src.splitlines().index(next(s for s in src.splitlines() if "<td>D</td>" in s)) + 1
    assert by_text(page, "fracture of foot").item and by_text(page, "fracture of foot").section == "Excludes1"
    assert not any("dataLayer" in ln.text or "font-weight" in ln.text for ln in page.lines)  # script and style skipped
    assert page.meta["time"] == "2026-05-01"


def test_sentences_do_not_split_abbreviations_or_decimals():
    s = [t for _, t in sentences("Applying logic from ICD-9-CM (e.g., separate cervical vs. lumbar codes) fails. Use 722.83 here. Done")]
    assert s == ["Applying logic from ICD-9-CM (e.g., separate cervical vs. lumbar codes) fails.", "Use 722.83 here.", "Done"]


@pytest.mark.parametrize("raw,why", [(b"", "empty"), (b"  \n", "empty"), (b"\x89PNG\r\n\x1a\n\x00\x00", "binary")])
def test_unreadable_input(raw, why):
    with pytest.raises(UnreadablePage, match=why):
        decode(raw, "page")


def test_windows_1252_is_read():
    assert decode("Sézary – 5 €".encode("cp1252"), "p") == "Sézary – 5 €"
