"""One code page: the code_page parquet export's row of X (every code of a release computed at once) equals the
page the SQL computes for X alone, field by field, for a few hundred codes of every loaded ICD-10-CM release;
and `codeetl code X --release R --json` prints that page (which it reads from the export when the day's
releases are the export's: the computed page is then the independent side)."""

from __future__ import annotations

import json

import duckdb
import pytest
from typer.testing import CliRunner

from codeetl.cli import app
from codeetl.pages.code import code_page, code_page_rows
from codeetl.pages.common import page_json
from _shared import needs_mirror

pytestmark = needs_mirror

SAMPLE = 300  # codes per release compared through the Python page function
CLI_SAMPLE = 12  # of which through the whole command (JSON printed and read back)
ALWAYS = ["M96.1", "M96", "M54.5", "T36.0X1A", "S72.001A", "V43.52XA", "A02.1", "E11.65"]


def export_rows(built, release: str, codes: list[str]) -> dict[str, dict]:
    """The export's rows of `codes`, read with DuckDB straight from the parquet file, JSON-ready."""
    path = built / "warehouse" / "parquet" / "code_page" / f"icd10cm_release={release}" / "code_page.parquet"
    con = duckdb.connect()
    cur = con.execute("SELECT * FROM read_parquet(?, hive_partitioning = false) WHERE list_contains(?, code)", [str(path), codes])
    cols = [d[0] for d in cur.description]
    return {r[0]: page_json(dict(zip(cols, r))) for r in cur.fetchall()}


@pytest.fixture(scope="module")
def warehouse(built):
    con = duckdb.connect(str(built / "warehouse" / "codeetl.duckdb"), read_only=True)
    yield con
    con.close()


def sample(con, release: str) -> list[str]:
    """Every n-th code node of the release (headers and valid codes alike) and a few known ones."""
    codes = [r[0] for r in con.execute("SELECT code FROM icd10cm_codes WHERE release = ? ORDER BY code", [release]).fetchall()]
    step = max(1, len(codes) // SAMPLE)
    present = set(codes)
    return sorted(set(codes[::step]) | {c for c in ALWAYS if c in present})


def releases(con) -> list[str]:
    return [r[0] for r in con.execute(
        "SELECT DISTINCT release FROM releases WHERE dataset = 'icd10cm' ORDER BY release").fetchall()]


def test_every_loaded_release_is_exported(built, warehouse):
    for rid in releases(warehouse):
        n = warehouse.execute("SELECT count(*) FROM icd10cm_codes WHERE release = ?", [rid]).fetchone()[0]
        path = built / "warehouse" / "parquet" / "code_page" / f"icd10cm_release={rid}" / "code_page.parquet"
        assert duckdb.connect().execute("SELECT count(*) FROM read_parquet(?, hive_partitioning = false)", [str(path)]).fetchone()[0] == n


def test_pages_of_a_few_codes_equal_export_rows(built, warehouse):
    """The page SQL asked for a few hundred codes (the CLI's path: a list of codes) gives the export's rows
    (computed for every code of the release at once), field by field."""
    assert {"2024", "2026-04"} <= set(releases(warehouse))
    for rid in releases(warehouse):
        codes = sample(warehouse, rid)
        exported = export_rows(built, rid, codes)
        assert set(exported) == set(codes)
        for page in code_page_rows(warehouse, rid, None, codes):
            row = exported[page["code"]]
            diff = [k for k in row if page[k] != row[k]]
            assert not diff, f"{rid} {page['code']}: {diff}"
    page = code_page(warehouse, "M96.1", release="2026-04")  # the CLI's page adds only the provenance
    assert set(page) - set(exported_row(built, "2026-04", "M96.1")) == {"sources", "built_at"}


def exported_row(built, release: str, code: str) -> dict:
    return export_rows(built, release, [code])[code]


def test_command_prints_the_page_computed_for_the_code(built, warehouse):
    """`codeetl code X --release R --json` against the page the SQL computes for the sampled codes (code_page_rows,
    not the export: the command itself may read the exported row, the very row
    test_pages_of_a_few_codes_equal_export_rows checks), field by field."""
    runner = CliRunner()
    for rid in releases(warehouse):
        codes = sample(warehouse, rid)[:: max(1, SAMPLE // CLI_SAMPLE)]
        computed = {p["code"]: p for p in code_page_rows(warehouse, rid, None, codes)}
        assert set(computed) == set(codes)
        for code in codes:
            r = runner.invoke(app, ["code", code, "--release", rid, "--json", "--data-dir", str(built)])
            assert r.exit_code == 0, r.output
            page = json.loads(r.stdout)
            assert {k: page[k] for k in computed[code]} == computed[code], f"{rid} {code}"


def test_a_page_read_from_the_export_equals_the_page_computed_for_its_day(built, warehouse):
    """`codeetl code` reads the exported row when the day picks the releases of the export's day (SQL
    page_is_exported); the page is then the one computed in SQL for that day, day field included. Days: each
    release's first day and its last day (other datasets' releases may have moved in between: then the page is
    computed)."""
    days = set()
    for first, to in warehouse.execute(
            "SELECT effective_from, effective_to FROM release_calendar WHERE dataset = 'icd10cm'").fetchall():
        days |= {first} | ({to} if to else set())
    read_from_export = 0
    for day in sorted(days):
        rid = warehouse.execute("SELECT release FROM release_on('icd10cm', ?::DATE)", [day]).fetchone()
        if not rid:
            continue
        exported = warehouse.execute("SELECT page_is_exported(?, ?::DATE)", [rid[0], day]).fetchone()[0]
        read_from_export += exported
        for code in ["M96.1", "T36.0X1A", "E11.65"]:
            fast = code_page(warehouse, code, as_of=day)
            slow = code_page(warehouse, code, as_of=day, from_export=False)
            assert fast == slow, f"{code} on {day} ({'from the export' if exported else 'computed'})"
            assert fast["day"] == day.isoformat()
    assert read_from_export >= 2  # every release's first day at least
