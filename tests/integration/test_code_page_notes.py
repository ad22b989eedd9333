"""Notes a code page must carry, each checked against the Tabular XML read independently (ElementTree):
the notes of range sections that hold no codes of their own (V00-V99, T20-T32) reach the codes below them,
and a 7th-character code shows the inclusion terms of the code it extends."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from functools import cache

import pytest
from typer.testing import CliRunner

from _shared import needs_mirror, TABULAR_2026_04
from codeetl.cli import app

pytestmark = needs_mirror


@cache
def tabular() -> ET.Element:
    return ET.parse(TABULAR_2026_04).getroot()


def section_notes(section_id: str) -> list[tuple[str, str]]:
    """(note type, text) printed under a section of the XML."""
    sec = next(s for s in tabular().iter("section") if s.get("id") == section_id)
    return [(child.tag, " ".join("".join(n.itertext()).split())) for child in sec if child.tag not in ("desc", "diag")
            for n in child.iter("note")]


def code_notes(code: str, tag: str) -> list[str]:
    diag = next(d for d in tabular().iter("diag") if d.findtext("name") == code)
    return [" ".join("".join(n.itertext()).split()) for el in diag.findall(tag) for n in el.iter("note")]


def page(built, code: str) -> dict:
    r = CliRunner().invoke(app, ["code", code, "--release", "2026-04", "--json", "--data-dir", str(built)])
    assert r.exit_code == 0, r.output
    return json.loads(r.stdout)


@pytest.mark.parametrize("code, section", [("V43.52XA", "V00-V99"), ("T21.11XA", "T20-T32")])
def test_range_section_notes_reach_the_codes_below(built, code, section):
    expected = section_notes(section)
    assert expected  # the XML prints notes there
    got = [(n["type"], n["text"]) for n in page(built, code)["notes"] if n["from"]["code"] == section]
    assert got == expected
    if section == "V00-V99":
        assert ("useAdditionalCode", "Airbag injury (W22.1)") in got


def test_seventh_character_code_shows_the_inclusion_terms_of_the_code_it_extends(built):
    terms = code_notes("T36.0X1", "inclusionTerm")
    assert "Poisoning by penicillins NOS" in terms
    p = page(built, "T36.0X1A")
    got = [n["text"] for n in p["notes"] if n["from"]["code"] == "T36.0X1" and n["type"] == "inclusionTerm"]
    assert got == terms
    # an ancestor's inclusion terms are not inherited (they belong to the code they are printed under)
    assert not [n for n in p["notes"] if n["from"]["code"] == "T36.0" and n["type"] == "inclusionTerm"]
