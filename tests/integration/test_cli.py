"""`codeetl code` as a person and an app use it, on a warehouse built from the real mirror."""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest
from typer.testing import CliRunner

from _shared import CMS, flat, needs_mirror, NOT_IN_EFFECT
from codeetl.cli import app

pytestmark = needs_mirror

runner = CliRunner()


def run(built, *args):
    return runner.invoke(app, [*args, "--data-dir", str(built)])


DAY = "2026-05-01"  # a fixed day of the April 2026 update (ICD-10-CM 2026-04, MS-DRG v43, PFS 2026-B in effect)


@pytest.fixture(scope="module")
def m961(built):
    """The page as of a day of the April 2026 update (a fixed day: with no date the page is today's, whose
    release moves as releases are added)."""
    r = run(built, "code", "M96.1", "--json", "--as-of", DAY)
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
    r = run(built, "code", spelling, "--json", "--as-of", DAY)
    assert r.exit_code == 0 and json.loads(r.stdout)["code"] == "M96.1"


def test_human_page(built):
    r = run(built, "code", "M96.1", "--as-of", DAY)
    assert r.exit_code == 0
    for text in ("Postlaminectomy syndrome", "Billable", "Chapter", "Excludes2", "(T84.-)", "M96.0", "Siblings"):
        assert text in r.stdout


def test_unknown_code_suggests_close_matches(built):
    r = run(built, "code", "M96.9", "--as-of", DAY)
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
    r = run(built, "code", bad, "--as-of", DAY)
    assert r.exit_code == 2
    assert "is not an ICD-10-CM code" in r.stderr and "Traceback" not in r.output


def test_bad_as_of(built):
    r = run(built, "code", "M96.1", "--as-of", "yesterday")
    assert r.exit_code == 2 and "YYYY-MM-DD" in r.stderr


def test_as_of_picks_the_release_in_effect(built):
    r = run(built, "code", "M96.1", "--as-of", "2024-01-15", "--json")
    assert json.loads(r.stdout)["release"]["release"] == "2024"


def test_no_warehouse(tmp_path):
    r = runner.invoke(app, ["code", "M96.1", "--as-of", DAY, "--data-dir", str(tmp_path)])
    assert r.exit_code == 1 and "codeetl refresh" in r.stderr and "Traceback" not in r.output


def test_dictionary(built):
    r = run(built, "dictionary")
    assert r.exit_code == 0 and "### `icd10cm_codes` (table)" in r.stdout and "`code_nodot`" in r.stdout


def test_refresh_rejects_unknown_names_without_traceback(tmp_path):
    r = runner.invoke(app, ["refresh", "--dataset", "icd10", "--mirror", str(CMS), "--data-dir", str(tmp_path)])
    assert r.exit_code == 2 and "unknown dataset 'icd10'" in r.stderr and "icd10cm" in r.stderr
    assert "Traceback" not in r.output and not (tmp_path / "warehouse").exists()


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


def loaded_on(dataset: str, day: str):
    """The release of `dataset` a page uses on `day` by the README's rule (the latest loaded release that took
    effect on or before the day), worked out from the catalog's dates and the mirror's folders (a warehouse
    refreshed from the mirror loads exactly the catalog releases it holds); None when there is none."""
    from _shared import CMS
    from codeetl.sources.catalog import load_catalog

    d = dt.date.fromisoformat(day)
    started = [r for r in load_catalog()[dataset].releases if r.effective_from <= d and (CMS / dataset / r.release).is_dir()]
    return max(started, key=lambda r: (r.effective_from, r.release), default=None)


@pytest.mark.parametrize("release, first_day", [("2026-04", "2026-04-01"), ("2024", "2023-10-01")])
def test_release_sets_the_date_of_the_other_sections(built, release, first_day):
    """--release R: MS-DRG, PFS and sources as of R's first day (its catalog effective_from), not today. For
    2026-04 that is v43.1 (the April 1, 2026 point release) and 2026-B; for 2024 (2023-10-01), on today's mirror, v41 and no PFS release (the
    mirror's PFS releases are later): the page then says why each procedure has no fee."""
    p = json.loads(run(built, "code", "M96.1", "--release", release, "--json").stdout)
    assert p["release"]["in_effect"] is True and p["release"]["effective_from"] == first_day
    drg, pfs = loaded_on("msdrg", first_day), loaded_on("pfs", first_day)
    if drg is None:
        assert p["ms_drg"] is None
    else:
        assert (p["ms_drg"]["version"], p["ms_drg"]["in_effect"]) == (drg.release, drg.in_effect(dt.date.fromisoformat(first_day)))
    if pfs is None:
        assert p["procedures"]["pfs_release"] is None
        assert all(i["fee"] is None and i["no_fee_reason"] == f"no Medicare PFS release loaded was in effect on {first_day}"
                   for i in p["procedures"]["items"])
    else:
        assert p["procedures"]["pfs_release"] == pfs.release


def test_release_and_as_of_together_are_rejected(built):
    r = run(built, "code", "M96.1", "--release", "2026-04", "--as-of", "2026-05-01")
    assert r.exit_code == 2 and "--release" in r.stderr and "--as-of" in r.stderr and "Traceback" not in r.output


def test_sections_say_when_their_release_is_not_in_effect(built, monkeypatch):
    """After the last loaded ICD-10-CM, MS-DRG and PFS releases have ended, each section is the latest one before
    the day, flagged; while they are in effect (2026-05-01: 2026-04, v43, 2026-B), none is flagged. ('Today' is
    set far from both days: a page of today words it otherwise, see the next test.)"""
    day = day_after_every_release(built, "icd10cm", "msdrg", "pfs")
    if day is None:
        pytest.skip("a loaded release is open-ended: no day after every release")
    monkeypatch.setenv("CODEETL_TODAY", "2000-01-01")
    p = json.loads(run(built, "code", "M96.1", "--as-of", day, "--json").stdout)
    assert p["release"]["in_effect"] is False and p["ms_drg"]["in_effect"] is False
    assert p["procedures"]["pfs_in_effect"] is False
    human = flat(run(built, "code", "M96.1", "--as-of", day).stdout)
    assert human.count(NOT_IN_EFFECT) == 3
    p = json.loads(run(built, "code", "M96.1", "--as-of", "2026-05-01", "--json").stdout)
    assert p["release"]["in_effect"] and p["ms_drg"]["in_effect"] and p["procedures"]["pfs_in_effect"]
    assert NOT_IN_EFFECT not in flat(run(built, "code", "M96.1", "--as-of", "2026-05-01").stdout)


def test_a_page_of_today_says_the_warehouse_is_behind(built, monkeypatch):
    """'Today' (CODEETL_TODAY) after the last loaded ICD-10-CM, MS-DRG and PFS releases have ended: the page of
    today, without --as-of, says of each section that the warehouse is behind and what to run."""
    day = day_after_every_release(built, "icd10cm", "msdrg", "pfs")
    if day is None:
        pytest.skip("a loaded release is open-ended: no day after every release")
    monkeypatch.setenv("CODEETL_TODAY", day)
    human = flat(run(built, "code", "M96.1").stdout)
    for name in ("ICD-10-CM", "MS-DRG", "PFS"):
        assert f"The warehouse is behind: no loaded {name} release is in effect today" in human, name
    assert human.count("Run `codeetl refresh`; `codeetl status` shows what is due.") == 3
    assert NOT_IN_EFFECT not in human
    assert json.loads(run(built, "code", "M96.1", "--json").stdout)["day"] == day


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


def in_effect_not_in_mirror(day: dt.date) -> dict[str, str]:
    """{dataset: release} of the catalog releases in effect on `day` (their catalog dates) that have no folder in
    the mirror, so that a warehouse refreshed from the mirror lacks them. Read from the catalog's dates and the
    mirror's folders, not from codeetl's status code."""
    from _shared import CMS
    from codeetl.sources.catalog import load_catalog

    return {name: r.release for name, ds in load_catalog().items() for r in ds.releases
            if r.effective_from <= day and (r.effective_to is None or day <= r.effective_to)
            and not (CMS / name / r.release).is_dir()}


def test_releases_and_status_name_each_release_in_effect_and_not_loaded(built, monkeypatch):
    """'Today' set to 2026-11-30 (CODEETL_TODAY; `releases` has no --as-of). On this mirror that is MS-DRG v44,
    IPPS FY2027, PFS 2026-D and the MCD export; `releases` names each, `status` exits 1 for exactly those."""
    day = dt.date(2026, 11, 30)
    behind = in_effect_not_in_mirror(day)
    assert behind, "the test needs a release in effect and not in the mirror"
    monkeypatch.setenv("CODEETL_TODAY", day.isoformat())
    text = flat(run(built, "releases").stdout)
    for dataset, release in behind.items():
        assert re.search(rf"behind [^.]*? {re.escape(release)} \(.*?\) is in effect on {day} but not loaded: run "
                         rf"`codeetl refresh --dataset {dataset}`", text), (dataset, release)
    assert text.count("but not loaded") == len(behind)
    r = run(built, "status", "--json")  # no --as-of: today, as set
    assert r.exit_code == 1
    st = json.loads(r.stdout)
    assert st["day"] == day.isoformat()
    assert {d["dataset"]: d["in_effect"]["release"] for d in st["datasets"] if not d["ok"]} == behind


@pytest.mark.parametrize("args", [["code", "[/x]"], ["cpt", "99213", "--locality", "[/]", "--as-of", DAY],
                                  ["code", "M96.1", "--release", "[/]"]])
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
    r = runner.invoke(app, ["cpt", "99213", "--as-of", DAY, "--data-dir", str(tmp_path)])
    assert r.exit_code == 1 and "built by an older codeetl" in r.stderr and "Traceback" not in r.output


def test_refresh_into_a_file_is_a_clear_error(tmp_path):
    (tmp_path / "afile").write_text("x")
    r = runner.invoke(app, ["refresh", "--mirror", str(CMS), "--dataset", "gems", "--data-dir", str(tmp_path / "afile")])
    assert r.exit_code == 1 and "Traceback" not in r.output and "unchanged" in r.stderr
