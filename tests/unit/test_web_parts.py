"""The web's parts without a warehouse: the page store round trip (nested values, decimals, dates, NULLs),
the search index's ranking and typo correction on a few documents, links in note text (escaped), the SVG
history timeline, FHIR dates, and the JSON text the API shares with the CLI."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import duckdb
import pytest

from codeetl.build.page_store import PAGE_STORE, json_type, release_file, write_page_store
from codeetl.build.search_index import write_search_index
from codeetl.pages.common import page_json
from codeetl.pages.search import code_matches, corrections, deletions, edit_distance, fts_query, query_words, text_matches
from codeetl.pages.store import readonly, stored_page
from codeetl.web import fhir
from codeetl.web.html import link_codes
from codeetl.web.jsonout import page_text
from codeetl.web.svg import history_timeline

ROWS = """
SELECT * FROM (VALUES
  ('A00.0', {'dataset': 'icd10cm', 'release': 'R1'}, [{'type': 'excludes1', 'text': 'x (B01)', 'codes': ['B01']}],
   {'weight': 1.6761::DECIMAL(8,4), 'fee': 95.19::DECIMAL(10,2), 'day': DATE '2025-10-01'}, NULL::VARCHAR[], true,
   {'spans': [{'valid_from': DATE '2015-10-01', 'rate': 1.50::DECIMAL(4,2)}], 'note': repeat('long history ', 30)}),
  ('A00.1', {'dataset': 'icd10cm', 'release': 'R1'}, [{'type': 'excludes1', 'text': 'x (B01)', 'codes': ['B01']}],
   NULL, ['é', 'ü'], false, NULL),
  ('B01', {'dataset': 'icd10cm', 'release': 'R1'}, [],
   {'weight': 0.9000::DECIMAL(8,4), 'fee': 0.00::DECIMAL(10,2), 'day': NULL}, [], NULL,
   {'spans': [], 'note': 'short'})
) t(code, release, notes, ms_drg, words, is_billable, history)"""


def test_page_store_gives_back_each_exported_row_as_the_pages_read_it(tmp_path):
    """Every row of the export comes back equal to page_json of the row DuckDB returns (decimals as exact
    strings with their scale, dates ISO, NULLs, nested lists), shared values stored once."""
    folder = tmp_path / "parquet" / "code_page" / "icd10cm_release=R1"
    folder.mkdir(parents=True)
    con = duckdb.connect(str(tmp_path / "codeetl.duckdb"))
    con.execute(f"COPY ({ROWS}) TO '{folder / 'code_page.parquet'}' (FORMAT parquet)")
    assert write_page_store(con, tmp_path / "parquet" / "code_page", tmp_path / PAGE_STORE) == 3
    cur = con.execute(f"SELECT * FROM read_parquet('{folder / 'code_page.parquet'}', hive_partitioning = false)")
    cols = [d[0] for d in cur.description]
    for row in cur.fetchall():
        expected = page_json(dict(zip(cols, row)))
        got = stored_page(con, "R1", expected["code"])
        assert json.dumps(got) == json.dumps(expected)  # same keys, same order, same values
    assert stored_page(con, "R1", "C99") is None
    assert stored_page(con, "R1", "A00.0")["ms_drg"] == {"weight": "1.6761", "fee": "95.19", "day": "2025-10-01"}
    assert stored_page(con, "R1", "A00.0")["history"]["spans"] == [{"valid_from": "2015-10-01", "rate": "1.50"}]
    assert stored_page(con, "R1", "A00.1")["history"] is None  # the page's own column (page.own), not a shared value
    db = readonly(tmp_path / PAGE_STORE / release_file("R1"))
    assert db.execute("SELECT count(*) FROM value").fetchone()[0] < 3 * len(cols)  # the shared notes and release once


def test_a_build_without_page_store_says_so(tmp_path):
    con = duckdb.connect(str(tmp_path / "codeetl.duckdb"))
    assert stored_page(con, "R1", "A00.0") is False
    assert stored_page(duckdb.connect(), "R1", "A00.0") is False


def test_json_type_makes_every_decimal_text():
    assert json_type("STRUCT(w DECIMAL(8,4), l STRUCT(f DECIMAL(10, 2))[])") == "STRUCT(w VARCHAR, l STRUCT(f VARCHAR)[])"


DOCS = [  # release, code, title, billable, notes of the code (type, text, referenced codes)
    ("R1", "M96.1", "Postlaminectomy syndrome, not elsewhere classified", True, []),
    ("R1", "M96.3", "Postlaminectomy kyphosis", True, []),
    ("R1", "M96", "Intraoperative and postprocedural complications", False,
     [("excludes2", "complications of internal orthopedic prosthetic devices (T84.-)", ["T84.-"])]),
    ("R1", "T80", "Complications following infusion", False,
     [("excludes2", "postlaminectomy syndrome NEC (M96.1)", ["M96.1"])]),
    ("R1", "A81.82", "Gerstmann-Sträussler-Scheinker syndrome", True, [("inclusionTerm", "GSS", [])]),
    ("R0", "M54.5", "Low back pain", True, []),
    ("R1", "K50", "Crohn's disease [regional enteritis]", False, []),
    ("R1", "Z89.42", "Acquired absence of toe(s)", False, []),
    ("R1", "S90.41", "Abrasion of toe, sinister", False, []),
]


@pytest.fixture
def index(tmp_path):
    con = duckdb.connect()
    con.execute("CREATE TABLE icd10cm_codes (release VARCHAR, code VARCHAR, code_nodot VARCHAR, description VARCHAR, "
                "description_tabular VARCHAR, is_billable BOOLEAN)")
    con.execute("CREATE TABLE icd10cm_notes (release VARCHAR, node_kind VARCHAR, code VARCHAR, note_type VARCHAR, "
                "seq SMALLINT, note_no INTEGER, note VARCHAR, referenced_codes VARCHAR[])")
    for rel, code, title, billable, notes in DOCS:
        con.execute("INSERT INTO icd10cm_codes VALUES (?, ?, ?, ?, ?, ?)", [rel, code, code.replace(".", ""), title, title, billable])
        for i, (kind, text, refs) in enumerate(notes):
            con.execute("INSERT INTO icd10cm_notes VALUES (?, 'code', ?, ?, 1, ?, ?, ?)", [rel, code, kind, i, text, refs])
    write_search_index(con, tmp_path / "search.sqlite")
    return readonly(tmp_path / "search.sqlite")


def test_code_first_then_prefixes_in_code_order(index):
    assert [(r["code"], r["match"]) for r in code_matches(index, "R1", "m96", 10)] == [
        ("M96", "code"), ("M96.1", "prefix"), ("M96.3", "prefix")]
    assert [r["code"] for r in code_matches(index, "R1", "M961", 10)] == ["M96.1"]
    assert code_matches(index, "R1", "M54", 10) == []  # another release's code
    assert code_matches(index, "R1", "postlaminectomy", 10) == []


def test_text_ranks_the_code_the_tabular_names_first_and_folds_accents(index):
    """BM25 alone ranks the shorter title (M96.3) first; M96.1, which a note elsewhere names with the same
    word, comes first."""
    assert [r["code"] for r in text_matches(index, "R1", ["postlaminectomy"], 10)][:2] == ["M96.1", "M96.3"]
    assert [r["code"] for r in text_matches(index, "R1", ["straussler"], 10)] == ["A81.82"]
    assert [r["code"] for r in text_matches(index, "R1", ["gss"], 10)] == ["A81.82"]  # an inclusion term
    assert [r["code"] for r in text_matches(index, "R1", ["postlam"], 10)][:1] == ["M96.1"]  # a prefix


def test_a_misspelt_word_is_corrected_to_a_known_one(index):
    assert corrections(index, ["postlaminectmy"]) == ["postlaminectomy"]
    assert corrections(index, ["kyphosus"]) == ["kyphosis"]
    assert corrections(index, ["zzzzzz"]) == ["zzzzzz"]


def test_query_words_drop_syntax_and_stop_words():
    assert query_words('fracture OF "femur" AND*') == ["fracture", "femur"]
    assert query_words("of the") == ["of", "the"]
    assert edit_distance("kitten", "sitting") == 3 and edit_distance("ab", "ba") == 1


def test_note_text_is_escaped_and_its_referenced_codes_linked():
    html = str(link_codes("<b>implants</b> (T84.-) and M80 (M97.-)", ["T84.-", "M97.-"]))
    assert "&lt;b&gt;implants&lt;/b&gt;" in html
    assert '<a class="code" href="/code/T84">T84.-</a>' in html and '<a class="code" href="/code/M97">M97.-</a>' in html
    assert "M80" in html and "/code/M80" not in html  # not a referenced code of the note


def test_history_timeline_draws_each_span_with_its_facts():
    history = {"spans": [{"valid_from": "2023-10-01", "valid_to": "2025-09-30", "is_billable": True, "description": "G35 <x>",
                          "first_release": "2024", "last_release": "2025-04"},
                         {"valid_from": "2025-10-01", "valid_to": None, "is_billable": False, "description": "MS",
                          "first_release": "2026", "last_release": "2027"}],
               "replaced_by": [{"code": "G35.A", "effective": "2025-10-01"}], "replaces": []}
    svg = str(history_timeline(history, "2025-12-01"))
    assert svg.count('<g class="span billable">') == 1 and svg.count('<g class="span header">') == 1
    assert "G35 &lt;x&gt;" in svg and "replaced by G35.A" in svg and "FY2026" in svg
    assert str(history_timeline({"spans": []}, None)) == ""


def test_fhir_dates():
    assert fhir.fhir_date("2025-06-01") == dt.date(2025, 6, 1)
    assert fhir.fhir_date("2025-06-01T10:00:00Z") == dt.date(2025, 6, 1)
    for bad in ("2025-13-01", "June 1", "2025-06-01; drop"):
        with pytest.raises(fhir.FhirError):
            fhir.fhir_date(bad)


def test_json_text_is_the_clis():
    page = {"weight": "1.6761", "day": dt.date(2026, 5, 8), "n": Decimal("1.50")}
    assert page_text(page) == json.dumps(page, indent=2, default=str) + "\n"
    assert json.loads(page_text({"at": dt.datetime(2026, 5, 8, 1, 2, 3)}, status=True))["at"] == "2026-05-08T01:02:03"


def test_the_memo_answers_a_repeated_query_once_and_keeps_no_page_rows(tmp_path):
    from codeetl.web.warehouse import Memo, MemoConnection

    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    con.execute("CREATE TABLE t AS SELECT range AS i FROM range(5)")
    calls = []

    class Counting:
        def execute(self, sql, params):
            calls.append(sql)
            return con.execute(sql, params)

    memo = Memo(size=2)
    mc = MemoConnection(Counting(), memo)
    assert mc.execute("SELECT count(*) FROM t WHERE i < ?", [3]).fetchone() == (3,)
    assert mc.execute("SELECT count(*) FROM t WHERE i < ?", [3]).fetchall() == [(3,)]
    assert len(calls) == 1
    assert mc.execute("SELECT count(*) FROM t WHERE i < ?", [4]).fetchone() == (4,) and len(calls) == 2
    mc.execute("SELECT 1 AS x"), mc.execute("SELECT 2 AS x")  # the memo keeps 2: the oldest goes
    assert len(memo.items) == 2
    before = len(memo.items)
    mc.execute("SELECT 'code_page(' AS s")  # a page query: asked, not kept
    assert len(memo.items) == before and mc.execute("SELECT 'code_page(' AS s").description[0][0] == "s"


def test_a_single_letter_is_a_word_not_a_prefix_of_every_word(index):
    """The ``s`` of ``toe(s)``: as a prefix it would match every word beginning with s (``sinister``) and
    read thousands of terms for one query (the slowest searches of bench/bench_web.py's mix)."""
    assert fts_query(index, ["toe", "s"]) == '"toe" AND "s"'
    assert [r["code"] for r in text_matches(index, "R1", ["toe", "s"], 10)] == ["Z89.42"]
    assert fts_query(index, ["postlam"]) == '"postlam"*'  # a longer word the index does not know is a prefix


def test_a_typo_is_corrected_even_when_it_shares_no_trigram_with_the_word(index):
    """``corhn`` (two letters swapped) has no trigram of ``crohn``; its deletions meet the word's."""
    assert corrections(index, ["corhn"]) == ["crohn"]
    assert corrections(index, ["postlaminectmoy"]) == ["postlaminectomy"]  # two edits from eight letters
    assert corrections(index, ["kyphsis"]) == ["kyphosis"]  # one deleted letter
    assert corrections(index, ["kphsis"]) == ["kphsis"]  # two edits below eight letters: kept
    assert deletions("abc", 1) == {"abc", "bc", "ac", "ab"} and len(deletions("abcd", 2)) == 1 + 4 + 6
