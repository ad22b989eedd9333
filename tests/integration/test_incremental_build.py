"""A refresh that adds a release to a warehouse that has the others reuses what does not depend on it (the code
page parts and page files kept in ``warehouse/cache``) and gives exactly the warehouse a cold build of the same
releases gives: every table and view, every parquet export and the code pages, compared row for row with
``EXCEPT ALL`` both ways (times of loading and fetching aside).

The real `codeetl refresh`, on a mirror of a few real folders (to stay quick): ICD-10-CM 2024 and 2026 (code
files), 2026-04 (Tabular), PFS 2025-D and 2026-B. One data folder is refreshed cold with all of them; another
first without ICD-10-CM 2026-04 and PFS 2026-B, then with the newest ICD-10-CM release added (as the October
update is), then with the PFS quarter added. A copy of that folder is then refreshed with an external catalog
(``--catalog``) that only moves the first day of ICD-10-CM 2026-04 (no file changes).
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
from importlib import resources
from pathlib import Path

import duckdb
import pytest

from codeetl.build.page_store import store_meta, store_rows

from _shared import CMS, needs_mirror
from faultkit import run_cli

pytestmark = needs_mirror

RELEASES = {"icd10cm": ["2024", "2026", "2026-04"], "pfs": ["2025-D", "2026-B"]}
NEWEST_ICD, NEW_PFS = "2026-04", "2026-B"


def refresh(root: Path, mirror: Path, releases: list[str], catalog: Path | None = None):
    args = ["refresh", "--mirror", str(mirror), "--data-dir", str(root), "--dataset", "icd10cm", "--dataset", "pfs"]
    args += ["--catalog", str(catalog)] if catalog else []
    for rid in releases:
        args += ["--release", rid]
    r = run_cli(args)
    assert r.exit_code == 0, r.output
    return " ".join(r.stderr.split())


@pytest.fixture(scope="module")
def builds(tmp_path_factory) -> dict:
    """The cold data folder, the incremental one, and what each step of the incremental one said."""
    tmp = tmp_path_factory.mktemp("incremental")
    mirror = tmp / "mirror"
    for ds, rids in RELEASES.items():
        (mirror / ds).mkdir(parents=True)
        for rid in rids:
            os.symlink(CMS / ds / rid, mirror / ds / rid)
    everything = [r for rids in RELEASES.values() for r in rids]
    cold, inc = tmp / "cold", tmp / "incremental"
    refresh(cold, mirror, everything)
    first = [r for r in everything if r not in (NEWEST_ICD, NEW_PFS)]
    refresh(inc, mirror, first)
    icd = refresh(inc, mirror, [*first, NEWEST_ICD])
    pfs = refresh(inc, mirror, everything)
    moved, catalog = tmp / "moved", tmp / "catalog"
    shutil.copytree(inc, moved, symlinks=True)
    catalog.mkdir()
    for d in resources.files("codeetl").joinpath("datasets").iterdir():
        if d.joinpath("catalog.toml").is_file():
            (catalog / f"{d.name}.toml").write_text(d.joinpath("catalog.toml").read_text(encoding="utf-8"), encoding="utf-8")
    text = (catalog / "icd10cm.toml").read_text(encoding="utf-8")
    for old, new in (('release = "2026"\nlabel = "FY2026 (October 1, 2025)"\neffective_from = 2025-10-01\neffective_to = 2026-03-31',
                      'release = "2026"\nlabel = "FY2026 (October 1, 2025)"\neffective_from = 2025-10-01\neffective_to = 2026-04-01'),
                     ('release = "2026-04"\nlabel = "FY2026 April 1, 2026 update"\neffective_from = 2026-04-01',
                      'release = "2026-04"\nlabel = "FY2026 April 1, 2026 update"\neffective_from = 2026-04-02')):
        assert text.count(old) == 1
        text = text.replace(old, new)
    (catalog / "icd10cm.toml").write_text(text, encoding="utf-8")
    dates = refresh(moved, mirror, everything, catalog)
    return {"cold": cold, "incremental": inc, "icd": icd, "pfs": pfs, "moved": moved, "dates": dates}


def _columns(con, relation: str) -> str:
    """The columns of `relation` but the times of loading and fetching (they differ between any two builds)."""
    cols = [r[0] for r in con.execute(f"DESCRIBE SELECT * FROM {relation}").fetchall() if not r[0].endswith("_at")]
    return ", ".join(f'"{c}"' for c in cols)


def _differences(con, a: str, b: str) -> tuple[int, int]:
    """Rows of `a` not in `b` and of `b` not in `a`, counted with EXCEPT ALL (duplicates count)."""
    cols = _columns(con, a)
    one = con.execute(f"SELECT count(*) FROM (SELECT {cols} FROM {a} EXCEPT ALL SELECT {cols} FROM {b})").fetchone()[0]
    two = con.execute(f"SELECT count(*) FROM (SELECT {cols} FROM {b} EXCEPT ALL SELECT {cols} FROM {a})").fetchone()[0]
    return one, two


def test_the_added_releases_reused_what_does_not_depend_on_them(builds):
    # the newest ICD-10-CM release: the older releases' pages are reused whole (a page's history is as of its
    # release), and so is their page store
    assert "build: code pages of ICD-10-CM 2024 (1 of 3): unchanged, reused" in builds["icd"]
    assert "build: code pages of ICD-10-CM 2026 (2 of 3): unchanged, reused" in builds["icd"]
    assert "build: code pages of ICD-10-CM 2026-04 (3 of 3) " in builds["icd"] + " "
    assert "build: page store of ICD-10-CM 2024 (1 of 3): unchanged, reused" in builds["icd"]
    assert "build: page store of ICD-10-CM 2026-04 (3 of 3): 9" in builds["icd"]
    # a PFS quarter that the first days of 2024 and 2026 do not pick: their pages are reused whole
    assert "build: code pages of ICD-10-CM 2024 (1 of 3): unchanged, reused" in builds["pfs"]
    assert "build: code pages of ICD-10-CM 2026 (2 of 3): unchanged, reused" in builds["pfs"]


def test_every_table_and_view_equals_the_cold_build(builds):
    con = duckdb.connect()
    con.execute(f"ATTACH '{builds['cold'] / 'warehouse' / 'codeetl.duckdb'}' AS cold (READ_ONLY)")
    con.execute(f"ATTACH '{builds['incremental'] / 'warehouse' / 'codeetl.duckdb'}' AS inc (READ_ONLY)")
    names = [r[0] for r in con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE database_name = 'cold' AND schema_name = 'main' UNION ALL "
        "SELECT view_name FROM duckdb_views() WHERE database_name = 'cold' AND schema_name = 'main' AND NOT internal "
        "ORDER BY 1").fetchall()]
    assert {"icd10cm_codes", "icd10cm_code_history", "pfs_rvu", "releases"} <= set(names)
    rows = {}
    for n in names:
        if n == "refresh_runs":  # the run ledger of each data folder: its own runs
            continue
        rows[n] = con.execute(f'SELECT count(*) FROM cold."{n}"').fetchone()[0]
        assert _differences(con, f'cold."{n}"', f'inc."{n}"') == (0, 0), n
    assert rows["icd10cm_codes"] > 0 and rows["pfs_rvu"] > 0


def test_every_parquet_export_and_code_page_equals_the_cold_build(builds):
    cold, inc = (builds[k] / "warehouse" / "parquet" for k in ("cold", "incremental"))
    files = sorted(p.relative_to(cold) for p in cold.rglob("*.parquet") if "refresh_runs" not in p.parts)
    assert sorted(p.relative_to(inc) for p in inc.rglob("*.parquet") if "refresh_runs" not in p.parts) == files
    pages = [f for f in files if f.parts[0] == "code_page"]
    assert len(pages) == 3
    con = duckdb.connect()
    for f in files:
        a, b = (f"read_parquet('{root / f}', hive_partitioning = false)" for root in (cold, inc))
        assert _differences(con, a, b) == (0, 0), str(f)
    for f in pages:  # and in the same order (sorted by code: readers skip row groups by it)
        a, b = (con.execute(f"SELECT list(code ORDER BY file_row_number) FROM read_parquet('{root / f}', file_row_number = true)")
                .fetchone()[0] for root in (cold, inc))
        assert a == b == sorted(a), str(f)


def _store_values(path: Path) -> dict[int, bytes]:
    """The values a release's page store file holds itself: id -> stored bytes."""
    return dict(store_rows(path, "SELECT id, body FROM value"))


def _store_pages(path: Path, values: dict[int, bytes]) -> dict[str, tuple]:
    """Each page of a release's page store: code -> its shared column values (stored bytes, in column order, looked up
    in `values` by global id) and its own columns (``page.own``)."""
    return {code: (*(values[int(i)] for i in refs.split(",")), own)
            for code, refs, own in store_rows(path, "SELECT code, refs, own FROM page")}


def test_every_release_page_store_equals_the_cold_build(builds):
    cold, inc = (builds[k] / "warehouse" / "current" / "pages" for k in ("cold", "incremental"))
    names = sorted(p.name for p in cold.glob("*.sqlite"))
    assert names == sorted(p.name for p in inc.glob("*.sqlite")) and len(names) == 3
    held = {root: {name: _store_values(root / name) for name in names} for root in (cold, inc)}
    for name in names:  # each file holds the same values under the same ids (the numbering is the data's)
        assert held[cold][name] == held[inc][name], name
    for name in names:  # a page's values from its own file and the earlier ones it names only
        a, b = (_store_pages(root / name, _chain_values(root / name, held[root])) for root in (cold, inc))
        assert len(a) > 0 and a == b, name


def _chain_values(path: Path, held: dict[str, dict[int, bytes]]) -> dict[int, bytes]:
    """The values a release's store reads (its own and those of the earlier files its meta names), by global id
    (a file's ids follow its meta 'base')."""
    import json

    out: dict[int, bytes] = {}
    for name in [*json.loads(store_meta(path)["earlier"]), path.name]:
        base = int(store_meta(path.with_name(name))["base"])
        out.update((base + vid, body) for vid, body in held[name].items())
    return out


def test_a_catalog_that_only_moves_a_date_rebuilds_what_the_date_changes(builds):
    # no file changed, so no parse did: the build key holds the catalog's dates, and so do the page parts' keys
    assert "icd10cm/2026-04 catalog dates or label changed" in builds["dates"]
    assert "build: code pages of ICD-10-CM 2024 (1 of 3): unchanged, reused" in builds["dates"]
    con = duckdb.connect()
    db = builds["moved"] / "warehouse" / "codeetl.duckdb"
    con.execute(f"ATTACH '{db}' AS w (READ_ONLY)")
    assert con.execute("SELECT DISTINCT effective_from, effective_to FROM w.releases "
                       "WHERE dataset = 'icd10cm' AND release IN ('2026', '2026-04') ORDER BY 1").fetchall() == [
        (dt.date(2025, 10, 1), dt.date(2026, 4, 1)), (dt.date(2026, 4, 2), dt.date(2026, 9, 30))]
    pages = builds["moved"] / "warehouse" / "parquet" / "code_page" / "icd10cm_release=2026-04" / "code_page.parquet"
    assert con.execute(f"SELECT list(DISTINCT day) FROM read_parquet('{pages}')").fetchone()[0] == [dt.date(2026, 4, 2)]
