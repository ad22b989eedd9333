"""A code page's history is the history as of the page's release: the loaded releases up to it, like every other
section of the page (so a release added later changes no page of an older release). The history over every
release stays in icd10cm_code_history and on the latest release's page.

Expected values come from the official files: the FY2027 order addenda (D69.1: "Delete: 1" then "Add: 0", a
billable code that became a header on 2026-10-01), the FY2026 code file and the catalog's release dates.
"""

from __future__ import annotations

import json

import duckdb
from typer.testing import CliRunner

from _shared import CMS, needs_mirror
from codeetl.cli import app
from codeetl.sources.catalog import load_catalog

pytestmark = needs_mirror

runner = CliRunner(env={"COLUMNS": "200"})
CATALOG = {r.release: r for r in load_catalog()["icd10cm"].releases}
ADDENDA = CMS / "icd10cm/2027/icd10cm_order_addenda_2027.txt"


def page(built, code: str, release: str) -> dict:
    r = runner.invoke(app, ["code", code, "--release", release, "--json", "--data-dir", str(built)])
    assert r.exit_code == 0, r.output
    return json.loads(r.stdout)


def test_d69_1_became_a_header_in_2027_and_its_2026_04_page_does_not_know_it(built):
    lines = [line.split()[:3] for line in ADDENDA.read_text(encoding="utf-8").splitlines() if "D691 " in line]
    assert lines == [["Delete:", "1", "D691"], ["Add:", "0", "D691"]]  # billable deleted, header added
    codes_2026 = {line[:8].strip() for line in (CMS / "icd10cm/2026/icd10cm-codes-2026.txt").read_text(encoding="utf-8").splitlines()}
    assert "D691" in codes_2026
    old = page(built, "D69.1", "2026-04")["history"]
    assert all(s["is_billable"] for s in old["spans"])  # as of 2026-04: valid, and nothing later
    last = old["spans"][-1]
    assert (last["last_release"], last["valid_to"], last["valid_to_source"]) == (
        "2026-04", str(CATALOG["2026-04"].effective_to), "last loaded")
    new = page(built, "D69.1", "2027")["history"]
    assert (new["spans"][-1]["is_billable"], new["spans"][-1]["valid_from"]) == (False, str(CATALOG["2027"].effective_from))
    assert [s["valid_from"] for s in new["spans"][:-1]] == [s["valid_from"] for s in old["spans"]]


def test_the_page_says_what_its_history_covers(built):
    text = " ".join(runner.invoke(app, ["code", "D69.1", "--release", "2026-04", "--data-dir", str(built)]).output.split())
    assert "History as of ICD-10-CM release 2026-04: the loaded releases up to it" in text


def test_the_latest_page_has_the_history_of_every_release(built):
    con = duckdb.connect(str(built / "warehouse" / "codeetl.duckdb"), read_only=True)
    latest = con.execute("SELECT release FROM icd10cm_history_releases ORDER BY seq DESC LIMIT 1").fetchone()[0]
    path = built / "warehouse" / "parquet" / "code_page" / f"icd10cm_release={latest}" / "code_page.parquet"
    got = con.execute(f"SELECT count(*) FROM read_parquet('{path}') p, unnest(p.history.spans) s").fetchone()[0]
    want = con.execute(f"SELECT count(*) FROM icd10cm_code_history WHERE code IN (SELECT code FROM read_parquet('{path}'))").fetchone()[0]
    assert got == want > 0
