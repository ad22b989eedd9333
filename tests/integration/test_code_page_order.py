"""The lists on a code page are in the order the source tables give them, for every code of a Tabular release.

The page SQL sorts its lists with `list_sort` over {key, value} pairs rather than ordered aggregates (faster
over the export's hundreds of thousands of groups). These tests read the export and check each list against
the warehouse's base tables queried independently, with a plain ORDER BY: MS-DRGs by number within MDCs in
MDC order, notes by node in reading order and by note number within a node, ancestors from the category
down, children in Tabular order, history spans oldest first, GEM entries in file order."""

from __future__ import annotations

import duckdb
import pytest
from _shared import needs_mirror

pytestmark = needs_mirror

RELEASE = "2026-04"  # a release loaded from its Tabular: every section present


@pytest.fixture(scope="module")
def con(built):
    db = duckdb.connect(str(built / "warehouse" / "codeetl.duckdb"), read_only=True)
    path = built / "warehouse" / "parquet" / "code_page" / f"icd10cm_release={RELEASE}" / "code_page.parquet"
    db.execute(f"CREATE TEMP VIEW page AS SELECT * FROM read_parquet('{path}', hive_partitioning = false)")
    yield db
    db.close()


def mismatches(con, got: str, want: str) -> list:
    """Codes whose list (query `got`: code, list) differs from the list built by query `want` (code, list)."""
    return con.execute(f"SELECT g.code FROM ({got}) g FULL JOIN ({want}) w USING (code) "
                       "WHERE g.lst IS DISTINCT FROM w.lst ORDER BY 1 LIMIT 5").fetchall()


def test_drgs_in_number_order_within_mdcs_in_mdc_order(con):
    version = con.execute("SELECT any_value(ms_drg.version) FROM page").fetchone()[0]
    got = "SELECT code, flatten(list_transform(ms_drg.as_principal, lambda m: list_transform(m.drgs, lambda d: coalesce(m.mdc, '') || ':' || d.drg))) AS lst FROM page WHERE len(ms_drg.as_principal) > 0"
    want = f"""SELECT dx AS code, list(coalesce(mdc, '') || ':' || drg ORDER BY coalesce(mdc, ''), drg) AS lst FROM msdrg_dx_drg
               WHERE version = '{version}' AND dx IN (SELECT code FROM page) GROUP BY dx"""
    assert mismatches(con, got, want) == []


def test_ancestors_from_the_category_down_and_children_in_tabular_order(con):
    got = "SELECT code, list_transform(ancestors, lambda a: a.code) AS lst FROM page WHERE len(ancestors) > 0"
    want = f"""WITH RECURSIVE up(code, ancestor, depth) AS (
                   SELECT code, parent, 1 FROM icd10cm_codes WHERE release = '{RELEASE}' AND parent IS NOT NULL
                   UNION ALL
                   SELECT u.code, c.parent, u.depth + 1 FROM up u JOIN icd10cm_codes c ON c.release = '{RELEASE}' AND c.code = u.ancestor
                   WHERE c.parent IS NOT NULL)
               SELECT code, list(ancestor ORDER BY depth DESC) AS lst FROM up GROUP BY code"""
    assert mismatches(con, got, want) == []
    got = "SELECT code, list_transform(children, lambda c: c.code) AS lst FROM page WHERE len(children) > 0"
    want = f"SELECT parent AS code, list(code ORDER BY seq) AS lst FROM icd10cm_codes WHERE release = '{RELEASE}' AND parent IS NOT NULL GROUP BY parent"
    assert mismatches(con, got, want) == []


def test_notes_in_note_order_within_each_node(con):
    """Within the notes a page takes from one node, the order is the node's note order in the Tabular."""
    got = """SELECT code || '|' || kind || '|' || node AS code, list(note ORDER BY pos) AS lst
              FROM (SELECT p.code, n.note.from.kind AS kind, n.note.from.code AS node, n.note.text AS note, n.pos
                    FROM page p, LATERAL (SELECT unnest(p.notes) AS note, generate_subscripts(p.notes, 1) AS pos) n
                    WHERE p.code IN (SELECT code FROM page ORDER BY hash(code) LIMIT 3000))
              GROUP BY ALL"""
    want = f"""SELECT g.code, list(n.note ORDER BY n.note_no) AS lst
               FROM ({got}) g JOIN icd10cm_notes n ON n.release = '{RELEASE}'
                AND split_part(g.code, '|', 2) = n.node_kind AND split_part(g.code, '|', 3) = n.code
                AND list_contains(g.lst, n.note)
               GROUP BY ALL"""
    assert mismatches(con, got, want) == []


def test_notes_nodes_in_reading_order(con):
    """Chapter, then sections, then ancestors from the category down, then the code itself."""
    rows = con.execute("""SELECT code, list_transform(notes, lambda n: n.from.kind || ' ' || n.from.code) FROM page
                          WHERE len(notes) > 0 ORDER BY hash(code) LIMIT 3000""").fetchall()
    assert rows
    for code, froms in rows:
        nodes = list(dict.fromkeys(froms))  # in first-seen order
        kinds = [n.split(" ", 1)[0] for n in nodes]
        assert kinds == sorted(kinds, key=["chapter", "section", "code"].index), (code, nodes)
        codes = [n.split(" ", 1)[1] for n in nodes if n.startswith("code ")]
        assert codes == sorted(codes, key=len) and all(code.startswith(c) for c in codes), (code, codes)


def test_history_spans_oldest_first_and_gem_entries_in_file_order(con):
    got = "SELECT code, list_transform(history.spans, lambda s: s.valid_from) AS lst FROM page WHERE len(history.spans) > 0"
    # the page's history is as of its release: the spans that begin in a release up to it
    want = f"""SELECT code, list(valid_from ORDER BY valid_from) AS lst FROM icd10cm_code_history
               WHERE code IN (SELECT code FROM page) AND first_release IN (SELECT release FROM icd10cm_history_releases
                   WHERE period_from <= (SELECT period_from FROM icd10cm_history_releases WHERE release = '{RELEASE}'))
               GROUP BY code"""
    assert mismatches(con, got, want) == []
    gem = con.execute("SELECT any_value(icd9.release) FROM page").fetchone()[0]
    got = "SELECT code, list_transform(icd9.icd10_to_icd9.entries, lambda e: e.target) AS lst FROM page WHERE len(icd9.icd10_to_icd9.entries) > 0"
    want = f"""SELECT source AS code, list(target ORDER BY line_no) AS lst FROM gem_icd10_to_icd9
               WHERE release = '{gem}' AND source IN (SELECT code FROM page) GROUP BY source"""
    assert mismatches(con, got, want) == []
