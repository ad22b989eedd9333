"""Finding claims by what they say, on the seed page and on pages of other publishers (no warehouse)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from _shared import needs_mirror, SEED
from codeetl.check.claims import find_claims
from codeetl.check.read import read_page

pytestmark = needs_mirror

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "check"


def claims_of(text: str, name: str):
    return find_claims(read_page(text, name))


@pytest.fixture(scope="module")
def seed():
    return claims_of(SEED.read_text(encoding="utf-8"), SEED.name)


def at(claims, kind, line=None):
    return [c for c in claims if c.kind == kind and (line is None or c.line == line)]


def test_seed_page_code_and_date(seed):
    info, _ = seed
    assert (info.code, info.code_line, info.date, info.date_line) == ("M96.1", 3, dt.date(2026, 5, 8), 7)


def test_seed_status_chapter_and_seventh(seed):
    _, claims = seed
    assert [(c.subject, c.value) for c in at(claims, "billable", 10)] == [("M96.1", True)]
    assert [(c.subject, c.value) for c in at(claims, "chapter")] == [("M96.1", 13)]
    assert at(claims, "chapter")[0].line == 12
    assert [(c.line, c.value) for c in at(claims, "seventh_required")] == [(105, False)]


def test_seed_fees_and_procedures_without_fee(seed):
    _, claims = seed
    lines = SEED.read_text(encoding="utf-8").splitlines()
    fees = {c.subject: (c.value, c.line) for c in at(claims, "fee")}
    assert len(fees) == 10
    for code, (amount, line) in fees.items():  # each as the page prints it, at its own line
        assert lines[line - 1].startswith(code) and f"{float(amount):,.2f}" in lines[line - 1]
    assert [c.subject for c in at(claims, "fee_missing")] == ["97014", "62323", "64483", "95886"]
    desc = at(claims, "procedure_descriptor")
    assert len(desc) == 10 and all(lines[c.line - 2].startswith(c.subject) for c in desc)  # the line below the fee


def test_seed_notes_attributed_to_m96(seed):
    _, claims = seed
    notes = at(claims, "note", 84)
    assert [(c.subject, c.value["type"], c.value["code"]) for c in notes] == [
        ("M96", "excludes2", "T84"), ("M96", "excludes2", "M80"), ("M96", "excludes2", "M97")]


def test_seed_icd9_and_drg(seed):
    _, claims = seed
    assert [c.value for c in at(claims, "icd9_set", 80)] == [["722.80", "722.83"]]
    assert [c.value for c in at(claims, "icd9", 101)] == ["722.80", "722.81", "722.82", "722.83"]
    assert [(c.subject, c.value) for c in at(claims, "icd9_description", 101)][-1] == ("722.83", "lumbar")
    assert [c.value for c in at(claims, "drg", 84)] == ["551", "552"]
    assert [(c.subject, c.value) for c in at(claims, "drg_title", 84)] == [
        ("551", "Medical back problems with MCC"), ("552", "Medical back problems without MCC")]
    assert [c.value for c in at(claims, "drg_version")] == ["43", "43"]


def test_seed_codes_named_as_ones_to_use(seed):
    _, claims = seed
    named = {(c.line, c.subject) for c in at(claims, "billable") if not c.extra["stated"]}
    assert {(73, "M54.5"), (111, "M54.5"), (27, "M51.16"), (27, "M51.26"), (97, "M96.0")} <= named
    assert not any(c.subject in ("M96.1", "T84", "M80", "M97") for c in at(claims, "billable") if not c.extra["stated"])
    assert [(c.subject, c.value) for c in at(claims, "description", 73)] == [("M54.5", "Low back pain")]


def test_claim_on_a_line_about_another_code_is_about_that_code(seed):
    _, claims = seed
    kyphosis = at(claims, "description", 70)
    assert [c.subject for c in kyphosis] == ["M96.3"] and kyphosis[0].tentative
    assert [(c.subject, c.value) for c in at(claims, "category", 82)] == [("M96.1", "M96")]


def test_questions_and_editorial_prose_are_not_claims(seed):
    _, claims = seed
    assert not [c for c in claims if c.line in (94, 96, 98, 100, 102, 104, 106)]  # the FAQ questions
    assert not [c for c in claims if c.line in (5, 25, 26, 29, 30, 119, 121)]  # prose naming no code or number


def test_markdown_page_of_another_publisher():
    info, claims = claims_of((FIXTURES / "e11.65-coding-desk.md").read_text(), "e11.65.md")
    assert (info.code, info.date) == ("E11.65", dt.date(2026, 4, 15))
    assert [(c.line, c.value) for c in at(claims, "chapter")] == [(9, 4)]
    assert [(c.line, c.value) for c in at(claims, "drg_weight")] == [(54, "1.4367"), (55, "0.9862"), (56, "0.6212")]
    assert {(c.subject, c.value, c.extra["setting"]) for c in at(claims, "fee", 62)} == {
        ("99214", "135.61", "non-facility"), ("99214", "84.50", "facility")}
    assert [(c.line, c.value["code"]) for c in at(claims, "note") if c.value["type"] == "excludes1"] == [
        (27, "E10"), (28, "O24.4"), (29, "E08"), (30, "E16.2")]
    assert [(c.line, c.value["code"]) for c in at(claims, "note") if c.value["type"] == "useAdditionalCode"] == [
        (22, "Z79.4"), (22, "Z79.84"), (23, "Z79.85")]  # a wrapped paragraph: each code at its own line
    assert [c.value for c in at(claims, "sibling")] == ["E11.69", "E11.641", "E13.65"]
    assert [(c.subject, c.value) for c in at(claims, "icd9_description", 46)][0][0] == "250.01"


def test_html_page_of_another_publisher():
    info, claims = claims_of((FIXTURES / "s72.001a-orthoref.html").read_text(), "s72.html")
    assert (info.code, info.date) == ("S72.001A", dt.date(2026, 5, 1))
    assert [(c.line, c.value) for c in at(claims, "seventh_character")] == [(27, "A"), (28, "B"), (29, "D"), (30, "S")]
    assert [(c.line, c.value) for c in at(claims, "seventh_required")] == [(21, True)]
    assert [(c.line, c.value["type"], c.value["code"]) for c in at(claims, "note")] == [
        (36, "excludes1", "S78"), (37, "excludes1", "S92"), (41, "excludes2", "S82"), (42, "excludes2", "M97.0")]
    assert [(c.line, c.value) for c in at(claims, "drg")] == [(50, "535"), (51, "536"), (52, "533")]
    assert [(c.subject, c.value) for c in at(claims, "fee")] == [("27236", "1089.87"), ("27244", "1206.52"), ("73502", "48.77")]


def test_plain_page_of_another_publisher():
    info, claims = claims_of((FIXTURES / "m54.50-plain.txt").read_text(), "m54.50.txt")
    assert (info.code, info.date) == ("M54.50", dt.date(2025, 11, 20))
    assert [(c.subject, c.value) for c in at(claims, "status_since")] == [("M54.5", "2021-10-01")]
    assert [(c.subject, c.value) for c in at(claims, "billable", 9)] == [("M54.5", False)]
    assert [(c.line, c.subject, c.value) for c in at(claims, "drg_title")] == [
        (20, "551", "Medical back problems with MCC"), (20, "552", "Medical back problems without MCC")]
    assert [(c.line, c.subject, c.value) for c in at(claims, "drg_weight")] == [(21, "551", "1.6761"), (21, "552", "0.9316")]
    assert [(c.line, c.value) for c in at(claims, "description", 14)] == [(14, "Lumbago with sciatica")]


def test_fee_settings_named_beside_each_amount():
    text = "# M96.1\n\nVerified May 8, 2026\n\n## Fees\n\n- CPT 99213: $95.19 (non-facility) / $57.45 (facility)\n- 63030 Facility: $898.15\n"
    _, claims = claims_of(text, "p.md")
    assert [(c.subject, c.value, c.extra["setting"]) for c in at(claims, "fee")] == [
        ("99213", "95.19", "non-facility"), ("99213", "57.45", "facility"), ("63030", "898.15", "facility")]


def test_page_code_can_be_given():
    info, claims = find_claims(read_page("Notes on low back pain.\n\nSee M54.50 and M54.59.\n", "p.txt"), "M54.59")
    assert info.code == "M54.59" and info.date is None
    assert [c.subject for c in at(claims, "billable")] == ["M54.50"]  # the page's own code is one validity claim
