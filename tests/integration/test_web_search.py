"""Search's hard queries against the real server (`codeetl web`) and the test warehouse: the ones that were
its slowest (a single letter read as the prefix of every word: the ``s`` of ``toe(s)`` or of a possessive;
typos) give the right answers, and queries at the length limit are answered.

The codes and titles below are those of the ICD-10-CM April 1, 2026 Tabular
(``../shared/cms/icd10cm/2026-04/icd10cm-tabular-April-1-2026.xml``: ``grep -A1 '<name>K50</name>'`` and so on),
the release in effect on 2026-05-08.
"""

from __future__ import annotations

from urllib.parse import quote

from web_server import web  # noqa: F401  (the fixture)

DAY = "2026-05-08"


def search(web, q: str, limit: int = 20) -> dict:
    status, page = web.json(f"/api/search?q={quote(q)}&as_of={DAY}&limit={limit}")
    assert status == 200, page
    assert page["release"]["release"] == "2026-04"
    return page


def test_a_single_letter_is_a_word(web):
    """``toe(s)``: every result has "toe(s)" in its title (Abrasion, left lesser toe(s), subsequent encounter),
    none only a word beginning with s; ``vitamin d``, ``type 2``: the letter or digit still counts."""
    page = search(web, "toe(s) subsequent")
    assert len(page["results"]) == 20 and all("toe(s)" in r["title"] for r in page["results"]), page["results"]
    assert [r["code"] for r in search(web, "vitamin d deficiency")["results"][:2]] == ["E55", "E55.9"]
    assert [r["code"] for r in search(web, "type 2 diabetes")["results"][:2]] == ["E11", "E11.9"]
    assert search(web, "wegener's granulomatosis")["results"][0]["code"] == "M31.3"


def test_a_typo_is_corrected_in_the_query_as_typed(web):
    """``corhn``: two letters swapped at the start, no trigram in common with ``crohn``."""
    page = search(web, "Corhn's disease")
    assert page["corrected"] == "crohn's disease"
    assert (page["results"][0]["code"], page["results"][0]["title"]) == ("K50", "Crohn's disease [regional enteritis]")
    page = search(web, "lacertaion of hnad")
    assert page["corrected"] == "laceration of hand" and page["results"]


def test_queries_at_the_length_limit_are_answered(web):
    """200 characters of unknown long words (each looked up by its deletions), or of single letters."""
    assert search(web, " ".join(["qwertzuiop"] * 18))["results"] == []
    assert search(web, " ".join("bcdefghijklmnopqrstuvwxyz" * 4))["results"] == []
    assert len(search(web, "fracture " * 22, limit=100)["results"]) == 100
    status, page = web.json(f"/api/search?q={quote('x' * 201)}")
    assert status == 400 and "200" in page["error"]
