"""MS-DRG over time: every version in the mirror loads, each day from FY2020 on gets the version in effect, the
changes between consecutive versions, Appendix B against each year's code set, and a version supplied later.

Expected values are read here from the official files with plain Python: Appendix A and B of each version
(``../shared/cms/msdrg/<version>/``), IPPS FY2026 Table 5, the ICD-10-CM code files. Dates of the point
releases are the catalog's (v42.1 2025-04-01 and v43.1 2026-04-01: catalog-url-evidence item 9; v38.1
2021-01-01: CMS's V38.1 announcement; v37.2 inferred, marked unconfirmed in the catalog).
"""

from __future__ import annotations

import json
import re
import shutil

import duckdb
import pytest
from typer.testing import CliRunner

from _shared import CMS, REPO
from codeetl.build import pipeline
from codeetl.cli import app
from codeetl.sources.catalog import load_catalog

runner = CliRunner()
MIRROR_VERSIONS = sorted(p.name for p in (CMS / "msdrg").iterdir() if p.is_dir())


@pytest.fixture(scope="module")
def con(built):
    return duckdb.connect(str(built / "warehouse" / "codeetl.duckdb"), read_only=True)


def appendix_a(version: str) -> dict[str, str]:
    """DRG (columns 1-3) -> title (column 12 on, trailing blanks dropped)."""
    text = (CMS / "msdrg" / version / "appendix_A.txt").read_bytes().decode("cp1252")
    return {line[:3]: line[11:].rstrip() for line in text.splitlines() if re.match(r"^\d{3} ", line)}


def appendix_b_codes(version: str) -> set[str]:
    """The diagnosis codes of Appendix B (column 2-9 of the lines after the column header), undotted."""
    lines = (CMS / "msdrg" / version / "appendix_B.txt").read_bytes().decode("cp1252").splitlines()
    start = next(i for i, t in enumerate(lines) if t.strip().startswith("I10 Dx"))
    return {t[1:9].strip() for t in lines[start + 1:] if t[1:9].strip()}


def code_file(year: int) -> set[str]:
    path = CMS / "icd10cm" / str(year) / f"icd10cm-codes-{year}.txt"
    return {line[:8].strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()}


def test_catalog_lists_every_version_of_the_mirror_with_its_dates():
    cat = {r.release: r for r in load_catalog()["msdrg"].releases}
    assert set(MIRROR_VERSIONS) <= set(cat), set(MIRROR_VERSIONS) - set(cat)
    dates = {v: (str(cat[v].effective_from), str(cat[v].effective_to)) for v in ("v42", "v42.1", "v43", "v43.1", "v38.1")}
    assert dates == {"v42": ("2024-10-01", "2025-03-31"), "v42.1": ("2025-04-01", "2025-09-30"),
                     "v43": ("2025-10-01", "2026-03-31"), "v43.1": ("2026-04-01", "2026-09-30"),
                     "v38.1": ("2021-01-01", "2021-09-30")}
    assert "not confirmed" in cat["v37.2"].notes.replace("inferred, not", "not") and "unconfirmed" in cat["v37.2"].label
    # no two versions in effect on one day
    spans = sorted((r.effective_from, r.effective_to, r.release) for r in cat.values())
    assert all(a[1] < b[0] for a, b in zip(spans, spans[1:]))


def test_every_version_of_the_mirror_is_loaded(con):
    loaded = {r[0] for r in con.execute("SELECT DISTINCT version FROM dx_drg_family").fetchall()}
    assert set(MIRROR_VERSIONS) <= loaded
    for v in MIRROR_VERSIONS:  # each exactly: every DRG of Appendix A, every diagnosis of Appendix B
        drgs = {r[0]: r[1] for r in con.execute("SELECT drg, title FROM msdrg_drg_def WHERE version = ?", [v]).fetchall()}
        assert drgs == appendix_a(v), v
        dx = {r[0].replace(".", "") for r in con.execute("SELECT dx FROM msdrg_dx WHERE version = ?", [v]).fetchall()}
        assert dx == appendix_b_codes(v), v


@pytest.mark.parametrize("day, version", [("2026-05-01", "v43.1"), ("2026-01-15", "v43"), ("2025-06-01", "v42.1"),
                                          ("2021-06-01", "v38.1"), ("2020-09-01", "v37.2")])
def test_drg_page_uses_the_version_in_effect(built, day, version):
    r = runner.invoke(app, ["drg", "551", "--as-of", day, "--json", "--data-dir", str(built)])
    assert r.exit_code == 0, r.output
    p = json.loads(r.stdout)
    assert p["version"] == version and p["release"]["in_effect"] is True
    assert p["title"].upper() == appendix_a(version)["551"].upper()
    assert p["fiscal_year"] == int(re.match(r"v(\d+)", version).group(1)) + 1983


def test_a_point_release_has_the_ipps_values_of_its_fiscal_year(built):
    # FY2026 Table 5, line of DRG 551: weights 1.6761, GMLOS 4.5, AMLOS 5.9 (CMS publishes Table 5 once a year)
    row = next(l.split("\t") for l in (CMS / "ipps/fy2026/FY2026-Final-Rule-Table-5.txt").read_text(encoding="cp1252").splitlines()
               if l.startswith("551\t"))
    r = runner.invoke(app, ["drg", "551", "--as-of", "2026-05-01", "--json", "--data-dir", str(built)])
    p = json.loads(r.stdout)
    assert (p["weight"], p["gmlos"], p["amlos"]) == (row[7].strip(), row[8].strip(), row[9].strip())
    assert {s["dataset"] for s in p["sources"]} >= {"msdrg", "ipps"}
    r = runner.invoke(app, ["code", "M96.1", "--as-of", "2026-05-01", "--json", "--data-dir", str(built)])
    ms = json.loads(r.stdout)["ms_drg"]
    assert ms["version"] == "v43.1" and ms["fiscal_year"] == 2026 and ms["in_effect"] is True
    assert [d["drg"] for g in ms["as_principal"] for d in g["drgs"]] == ["551", "552"]
    assert ms["as_principal"][0]["drgs"][0]["weight"] == row[7].strip()


def test_changes_cover_every_consecutive_pair(con):
    loaded = [r[0] for r in con.execute("SELECT release FROM release_calendar WHERE dataset = 'msdrg' "
                                        "AND release IN (SELECT version FROM msdrg_drg_def) ORDER BY effective_from").fetchall()]
    pairs = set(con.execute("SELECT DISTINCT from_version, to_version FROM msdrg_changes").fetchall())
    changed = {p for p in zip(loaded, loaded[1:]) if appendix_a(p[0]) != appendix_a(p[1])}
    assert changed <= pairs <= set(zip(loaded, loaded[1:]))


def test_a_change_of_capitalisation_or_spacing_is_not_a_retitling(con):
    need = {"v41.1", "v42"}
    a, b = appendix_a("v41.1"), appendix_a("v42")
    key = lambda t: " ".join(t.split()).upper()  # noqa: E731
    retitled = {d for d in a.keys() & b.keys() if key(a[d]) != key(b[d])}
    restyled = {d for d in a.keys() & b.keys() if a[d] != b[d] and key(a[d]) == key(b[d])}
    assert (len(retitled), len(restyled)) == (4, 757)  # v41.1 prints upper case, v42 mixed case
    got = {}
    for change, drg in con.execute("SELECT change, subject FROM msdrg_diff('v41.1', 'v42') WHERE subject_kind = 'drg'").fetchall():
        got.setdefault(change, set()).add(drg)
    assert got["retitled"] == retitled and got["restyled"] == restyled and need
    # a diagnosis whose DRG family is only restyled is not reported: its DRGs are
    assert con.execute("SELECT count(*) FROM msdrg_diff('v41.1', 'v42') WHERE change = 'family_retitled'").fetchone()[0] < 100


@pytest.mark.parametrize("version, year", [("v41", 2024), ("v42", 2025), ("v42.1", 2025), ("v43", 2026), ("v43.1", 2026)])
def test_appendix_b_is_the_year_code_set_outside_external_causes(con, version, year):
    # the files themselves (the 2025-04 update kept the 74,260 codes of October: cms/README.md)
    expected = {c for c in code_file(year) if c[0] not in "VWXY"}
    assert appendix_b_codes(version) == expected
    # and the warehouse's gate says the same for every version whose first day a loaded ICD-10-CM release covers
    gate = _gate_sql("msdrg.appendix_b_is_the_code_set")
    assert con.execute(gate).fetchall() == []


def _gate_sql(name: str) -> str:
    text = (REPO / "src/codeetl/datasets/msdrg/gates.sql").read_text(encoding="utf-8")
    block = text[text.index(f"-- gate: {name}"):]
    block = block[: block.index("\n-- gate:", 1)] if "\n-- gate:" in block[1:] else block
    return "\n".join(line for line in block.splitlines() if not line.startswith("--")).strip().rstrip(";")


def test_a_version_supplied_later_loads_with_no_code_change(tmp_path):
    """v44 is in the catalog, not in the mirror. A copy of v43.1's files under msdrg/v44/ with CMS's member
    names loads exactly like the others: the catalog edit is all a new version needs."""
    mirror = tmp_path / "mirror"
    (mirror / "msdrg" / "v44").mkdir(parents=True)
    for f in ("appendix_A.txt", "appendix_B.txt"):
        shutil.copy(CMS / "msdrg" / "v43.1" / f, mirror / "msdrg" / "v44" / f)
    data = tmp_path / "data"
    # the pipeline's own steps, as `codeetl refresh --mirror <dir> --dataset msdrg --release v44` runs them
    catalog = load_catalog()
    (release,) = pipeline.select_releases(catalog, ["msdrg"], ["v44"])
    fetched = pipeline.fetch_step(release, data, str(mirror))
    assert fetched.downloads, "v44 was not found in the mirror folder"
    pipeline.parse_release_cached(release, fetched, data / "raw")
    result = pipeline.build_warehouse(pipeline.latest_parses(data / "raw", catalog), catalog, data / "warehouse")
    pipeline.publish(result, data / "warehouse")
    con = duckdb.connect(str(data / "warehouse" / "codeetl.duckdb"), read_only=True)
    drgs = dict(con.execute("SELECT drg, title FROM msdrg_drg_def WHERE version = 'v44'").fetchall())
    assert drgs == appendix_a("v43.1")
    dx = {r[0].replace(".", "") for r in con.execute("SELECT dx FROM msdrg_dx WHERE version = 'v44'").fetchall()}
    assert dx == appendix_b_codes("v43.1")
    assert con.execute("SELECT release, effective_from::VARCHAR FROM release_calendar WHERE dataset = 'msdrg'").fetchall() == [
        ("v44", "2026-10-01")]


