"""`codeetl code` as a person and an app use it, on a warehouse built from the real mirror."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from codeetl.cli import app

runner = CliRunner()


def run(built, *args):
    return runner.invoke(app, [*args, "--data-dir", str(built)])


@pytest.fixture(scope="module")
def m961(built):
    r = run(built, "code", "M96.1", "--json")
    assert r.exit_code == 0, r.output
    return json.loads(r.stdout)


def test_m96_1_page_json(m961):
    p = m961
    assert p["code"] == "M96.1" and p["code_nodot"] == "M961"
    assert p["is_billable"] is True and p["kind"] == "valid code"
    assert p["description"] == "Postlaminectomy syndrome, not elsewhere classified"
    assert p["chapter"]["number"] == 13
    assert p["chapter"]["title"] == "Diseases of the musculoskeletal system and connective tissue"
    assert p["category"] == {"code": "M96", "description": "Intraoperative and postprocedural complications and "
                             "disorders of musculoskeletal system, not elsewhere classified"}
    assert p["release"]["release"] == "2026-04"


def test_m96_1_inherits_m96_excludes2_and_chapter_notes(m961):
    from_m96 = [n for n in m961["notes"] if n["from"]["code"] == "M96" and n["from"]["kind"] == "code"]
    assert all(n["inherited"] for n in from_m96)
    assert [n["referenced_codes"] for n in from_m96 if n["type"] == "excludes2"] == [
        ["M02.0"], ["T84"], ["M80"], ["M97"], ["Z96-Z97"]]
    chapter = [n for n in m961["notes"] if n["from"]["kind"] == "chapter"]
    assert chapter and all(n["from"]["code"] == "13" for n in chapter)
    assert any("(A00-B99)" in n["text"] for n in chapter if n["type"] == "excludes2")


def test_m96_1_siblings(m961):
    sib = [s["code"] for s in m961["siblings"]]
    assert sib == ["M96.0", "M96.2", "M96.3", "M96.4", "M96.5", "M96.6", "M96.8", "M96.A"]
    assert m961["children"] == []
    assert m961["sources"][0]["files"][0]["name"] == "icd10cm-tabular-April-1-2026.xml"


@pytest.mark.parametrize("spelling", ["M961", "m96.1", " M96.1 "])
def test_spellings_are_accepted(built, spelling):
    r = run(built, "code", spelling, "--json")
    assert r.exit_code == 0 and json.loads(r.stdout)["code"] == "M96.1"


def test_human_page(built):
    r = run(built, "code", "M96.1")
    assert r.exit_code == 0
    for text in ("Postlaminectomy syndrome", "Billable", "Chapter", "Excludes2", "(T84.-)", "M96.0", "Siblings"):
        assert text in r.stdout


def test_unknown_code_suggests_close_matches(built):
    r = run(built, "code", "M96.9")
    assert r.exit_code == 1
    assert "M96.9 is not an ICD-10-CM code" in r.stderr and "Close matches" in r.stderr and "M96.1" in r.stderr
    assert "Traceback" not in r.output


def test_code_of_another_release_is_pointed_at(built):
    r = run(built, "code", "QA0.0101")  # new in April 2026
    assert r.exit_code == 0
    r = run(built, "code", "QA0.0101", "--release", "2024")
    assert r.exit_code == 1 and "it is in release(s) 2026-04" in r.stderr


@pytest.mark.parametrize("bad", ["12345", "M96..1", "M9", "M96.12345"])
def test_malformed_input(built, bad):
    r = run(built, "code", bad)
    assert r.exit_code == 2
    assert "is not an ICD-10-CM code" in r.stderr and "Traceback" not in r.output


def test_bad_as_of(built):
    r = run(built, "code", "M96.1", "--as-of", "yesterday")
    assert r.exit_code == 2 and "YYYY-MM-DD" in r.stderr


def test_as_of_picks_the_release_in_effect(built):
    r = run(built, "code", "M96.1", "--as-of", "2024-01-15", "--json")
    assert json.loads(r.stdout)["release"]["release"] == "2024"


def test_no_warehouse(tmp_path):
    r = runner.invoke(app, ["code", "M96.1", "--data-dir", str(tmp_path)])
    assert r.exit_code == 1 and "codeetl refresh" in r.stderr and "Traceback" not in r.output


def test_dictionary(built):
    r = run(built, "dictionary")
    assert r.exit_code == 0 and "### `icd10cm_codes` (table)" in r.stdout and "`code_nodot`" in r.stdout
