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


def test_refresh_rejects_unknown_names_without_traceback(tmp_path):
    r = runner.invoke(app, ["refresh", "--dataset", "icd10", "--mirror", "../shared/cms", "--data-dir", str(tmp_path)])
    assert r.exit_code == 2 and "unknown dataset 'icd10'" in r.stderr and "icd10cm" in r.stderr
    assert "Traceback" not in r.output and not (tmp_path / "warehouse").exists()


NOT_IN_EFFECT = "That release is not in effect on the requested date; it is the latest one loaded before it."


def flat(text: str) -> str:
    """Terminal output as one line: rich wraps long lines (inside panels too) at the console width."""
    return " ".join(text.replace("│", " ").split())


def test_as_of_never_uses_a_release_that_took_effect_later(built):
    """On 2025-01-01 the loaded ICD-10-CM releases are 2024 (ended 2024-03-31) and 2026-04 (not yet in
    effect): the page uses 2024, flagged, and QA0.0101 (new in April 2026) is not a code there."""
    r = run(built, "code", "QA0.0101", "--as-of", "2025-01-01")
    assert r.exit_code == 1 and "Traceback" not in r.output
    assert "QA0.0101 is not an ICD-10-CM code in release 2024" in r.stderr
    p = json.loads(run(built, "code", "M96.1", "--as-of", "2025-01-01", "--json").stdout)
    assert p["release"]["release"] == "2024" and p["release"]["in_effect"] is False
    human = flat(run(built, "code", "M96.1", "--as-of", "2025-01-01").stdout)
    assert NOT_IN_EFFECT in human


def test_as_of_before_every_loaded_release(built):
    r = run(built, "code", "M96.1", "--as-of", "2020-01-01")
    assert r.exit_code == 1 and "Traceback" not in r.output
    assert "no icd10cm release loaded was in effect on 2020-01-01; loaded: 2024 (from 2023-10-01), 2026-04 (from 2026-04-01)" in flat(r.stderr)


def test_release_sets_the_date_of_the_other_sections(built):
    """--release 2026-04: MS-DRG, PFS and sources as of 2026-04-01 (its effective_from), not today."""
    p = json.loads(run(built, "code", "M96.1", "--release", "2026-04", "--json").stdout)
    assert p["release"]["in_effect"] is True
    assert p["ms_drg"]["version"] == "v43" and p["ms_drg"]["in_effect"] is True
    assert p["procedures"]["pfs_release"] == "2026-B" and p["procedures"]["pfs_in_effect"] is True
    # 2024 took effect 2023-10-01, before any loaded MS-DRG version or PFS release
    p = json.loads(run(built, "code", "M96.1", "--release", "2024", "--json").stdout)
    assert p["ms_drg"] is None and p["procedures"]["pfs_release"] is None
    assert all(i["fee"] is None and i["no_fee_reason"] == "no Medicare PFS release loaded was in effect on 2023-10-01"
               for i in p["procedures"]["items"])
    assert {s["dataset"] for s in p["sources"]} == {"icd10cm", "gems", "links"}  # the link file still lists the procedures


def test_release_and_as_of_together_are_rejected(built):
    r = run(built, "code", "M96.1", "--release", "2026-04", "--as-of", "2026-05-01")
    assert r.exit_code == 2 and "--release" in r.stderr and "--as-of" in r.stderr and "Traceback" not in r.output


def test_sections_say_when_their_release_is_not_in_effect(built):
    """2026-11-01: ICD-10-CM 2026-04, MS-DRG v43 and PFS 2026-B have all ended (FY2027 / 2026-D not loaded)."""
    p = json.loads(run(built, "code", "M96.1", "--as-of", "2026-11-01", "--json").stdout)
    assert p["release"]["in_effect"] is False and p["ms_drg"]["in_effect"] is False
    assert p["procedures"]["pfs_in_effect"] is False
    human = flat(run(built, "code", "M96.1", "--as-of", "2026-11-01").stdout)
    assert human.count(NOT_IN_EFFECT) == 3
    p = json.loads(run(built, "code", "M96.1", "--as-of", "2026-05-01", "--json").stdout)
    assert p["release"]["in_effect"] and p["ms_drg"]["in_effect"] and p["procedures"]["pfs_in_effect"]
    assert NOT_IN_EFFECT not in flat(run(built, "code", "M96.1", "--as-of", "2026-05-01").stdout)


def test_release_loaded_from_the_code_file_only_says_so(built):
    """ICD-10-CM 2024 comes from the code file alone (no Tabular XML in the mirror): no chapter, section,
    headers or notes, so the category has no title. The page says why."""
    p = json.loads(run(built, "code", "M96.1", "--release", "2024", "--json").stdout)
    assert p["hierarchy"] is False and "code file only" in p["hierarchy_note"]
    assert p["chapter"] is None and p["category"] == {"code": "M96", "description": None} and p["notes"] == []
    human = flat(run(built, "code", "M96.1", "--release", "2024").stdout)
    assert "this release was loaded from the code file only: no hierarchy or notes" in human
    p = json.loads(run(built, "code", "M96.1", "--release", "2026-04", "--json").stdout)
    assert p["hierarchy"] is True and p["hierarchy_note"] is None


def test_releases_lists_one_row_per_release(built):
    import re

    r = run(built, "releases")
    assert r.exit_code == 0
    # IPPS FY2026 comes as two downloads (Table 5, Tables 6): still one row, with both sha256s
    assert len(re.findall(r"^\W+ipps\b", r.stdout, re.M)) == 1
    assert len(re.findall(r"^\W+pfs\b", r.stdout, re.M)) == 2
    assert "one row per release" in r.stdout


@pytest.mark.parametrize("args", [["code", "[/x]"], ["cpt", "99213", "--locality", "[/]"], ["code", "M96.1", "--release", "[/]"]])
def test_markup_in_user_input_is_shown_not_interpreted(built, args):
    r = run(built, *args)
    assert r.exit_code in (1, 2) and "Traceback" not in r.output and "[/" in r.stderr


def test_warehouse_from_an_older_codeetl_gets_advice(built, tmp_path):
    import shutil

    import duckdb

    shutil.copytree(built / "warehouse", tmp_path / "warehouse", symlinks=True)
    con = duckdb.connect(str(tmp_path / "warehouse" / "codeetl.duckdb"))
    con.execute("DROP TABLE pfs_notice")
    con.close()
    r = runner.invoke(app, ["cpt", "99213", "--data-dir", str(tmp_path)])
    assert r.exit_code == 1 and "built by an older codeetl" in r.stderr and "Traceback" not in r.output


def test_refresh_into_a_file_is_a_clear_error(tmp_path):
    (tmp_path / "afile").write_text("x")
    r = runner.invoke(app, ["refresh", "--mirror", "../shared/cms", "--dataset", "gems", "--data-dir", str(tmp_path / "afile")])
    assert r.exit_code == 1 and "Traceback" not in r.output and "unchanged" in r.stderr
