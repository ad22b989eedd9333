"""`codeetl code` as a person and an app use it, on a warehouse built from the real mirror."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from typer.testing import CliRunner

from codeetl.cli import app

runner = CliRunner()


def run(built, *args):
    return runner.invoke(app, [*args, "--data-dir", str(built)])


@pytest.fixture(scope="module")
def m961(built):
    """The page as of a day of the April 2026 update (a fixed day: with no date the page is today's, whose
    release moves as releases are added)."""
    r = run(built, "code", "M96.1", "--json", "--as-of", "2026-05-01")
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
    """QA0.0101 is in the FY2026 code file and not in the FY2024 one (read independently)."""
    from _shared import CMS, CODES_2024

    assert "QA00101" in (CMS / "icd10cm/2026/icd10cm-codes-2026.txt").read_text() and "QA00101" not in CODES_2024.read_text()
    r = run(built, "code", "QA0.0101", "--release", "2026-04")
    assert r.exit_code == 0
    r = run(built, "code", "QA0.0101", "--release", "2024")
    assert r.exit_code == 1 and "QA0.0101 is not an ICD-10-CM code in release 2024" in r.stderr
    assert "it is in release(s)" in r.stderr and "2026-04" in flat(r.stderr)


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


def test_as_of_before_every_loaded_release(built):
    """ICD-10-CM took effect on 2015-10-01: no release can be in effect the day before, and a later one is never used."""
    r = run(built, "code", "M96.1", "--as-of", "2015-09-30")
    assert r.exit_code == 1 and "Traceback" not in r.output
    assert "no icd10cm release loaded was in effect on 2015-09-30; loaded: " in flat(r.stderr)
    assert "2024 (from 2023-10-01)" in flat(r.stderr) and "2026-04 (from 2026-04-01)" in flat(r.stderr)


def day_after_every_release(built, *datasets) -> str | None:
    """The day after the last loaded release of each dataset has ended, from the catalog dates the warehouse
    holds; None when one of them is open-ended."""
    import duckdb

    con = duckdb.connect(str(built / "warehouse" / "codeetl.duckdb"), read_only=True)
    ends = con.execute("SELECT dataset, bool_or(effective_to IS NULL), max(effective_to) FROM release_calendar "
                       "WHERE dataset IN (SELECT unnest(?::VARCHAR[])) GROUP BY ALL", [list(datasets)]).fetchall()
    con.close()
    if len(ends) < len(datasets) or any(open_ for _, open_, _ in ends):
        return None
    return str(max(end for _, _, end in ends) + dt.timedelta(days=1))


def test_release_sets_the_date_of_the_other_sections(built):
    """--release 2026-04: MS-DRG, PFS and sources as of 2026-04-01 (its effective_from), not today."""
    p = json.loads(run(built, "code", "M96.1", "--release", "2026-04", "--json").stdout)
    assert p["release"]["in_effect"] is True
    assert p["ms_drg"]["version"] == "v43" and p["ms_drg"]["in_effect"] is True
    assert p["procedures"]["pfs_release"] == "2026-B" and p["procedures"]["pfs_in_effect"] is True
    # 2024 took effect 2023-10-01: before the MS-DRG versions and PFS releases of the mirror (v42, v43; 2025-D, 2026-B)
    if started_by(built, "msdrg", "2023-10-01") or started_by(built, "pfs", "2023-10-01"):
        pytest.skip("an MS-DRG version or PFS release of 2023 is loaded")
    p = json.loads(run(built, "code", "M96.1", "--release", "2024", "--json").stdout)
    assert p["ms_drg"] is None and p["procedures"]["pfs_release"] is None
    assert all(i["fee"] is None and i["no_fee_reason"] == "no Medicare PFS release loaded was in effect on 2023-10-01"
               for i in p["procedures"]["items"])
    assert {s["dataset"] for s in p["sources"]} == {"icd10cm", "gems", "links"}  # the link file still lists the procedures


def started_by(built, dataset: str, day: str) -> list[str]:
    """Loaded releases of `dataset` that took effect on or before `day` (a plain query of the releases table)."""
    import duckdb

    con = duckdb.connect(str(built / "warehouse" / "codeetl.duckdb"), read_only=True)
    found = con.execute("SELECT DISTINCT release FROM releases WHERE dataset = ? AND effective_from <= ?::DATE",
                        [dataset, day]).fetchall()
    con.close()
    return [r[0] for r in found]


def test_release_and_as_of_together_are_rejected(built):
    r = run(built, "code", "M96.1", "--release", "2026-04", "--as-of", "2026-05-01")
    assert r.exit_code == 2 and "--release" in r.stderr and "--as-of" in r.stderr and "Traceback" not in r.output


def test_sections_say_when_their_release_is_not_in_effect(built):
    """After the last loaded ICD-10-CM, MS-DRG and PFS releases have ended, each section is the latest one before
    the day, flagged; while they are in effect (2026-05-01: 2026-04, v43, 2026-B), none is flagged."""
    day = day_after_every_release(built, "icd10cm", "msdrg", "pfs")
    if day is None:
        pytest.skip("a loaded release is open-ended: no day after every release")
    p = json.loads(run(built, "code", "M96.1", "--as-of", day, "--json").stdout)
    assert p["release"]["in_effect"] is False and p["ms_drg"]["in_effect"] is False
    assert p["procedures"]["pfs_in_effect"] is False
    human = flat(run(built, "code", "M96.1", "--as-of", day).stdout)
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
    assert len(re.findall(r"^\W*ipps\b", r.stdout, re.M)) == 1
    assert len(re.findall(r"^\W*pfs\b", r.stdout, re.M)) >= 2  # at least 2025-D and 2026-B, one row each
    assert "one row per release" in r.stdout
    from codeetl.ops.status import warehouse_status  # and what `codeetl status` says is missing today

    flat = " ".join(r.stdout.split())
    st = warehouse_status(built)
    assert all(" ".join(d["problem"].split()) in flat for d in st["datasets"] if d["problem"])
    assert ("current: every release in effect today is loaded" in flat) == st["ok"]


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
