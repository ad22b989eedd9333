"""icd10cm_history_releases, icd10cm_code_history, icd10cm_changes / icd10cm_diff and icd10cm_valid_on on a
tiny warehouse (tests/unit/history_fixture.py) whose every row is known."""

from __future__ import annotations

import datetime as dt

import pytest

from history_fixture import make_history

D = dt.date


@pytest.fixture(scope="module")
def con():
    return make_history()


def spans(con, code):
    return con.execute("SELECT valid_from, valid_to, is_billable, description, first_release, last_release "
                       "FROM icd10cm_code_history WHERE code = ? ORDER BY valid_from", [code]).fetchall()


def changes(con, frm, to):
    return {(r[0], r[1], r[2]) for r in con.execute(
        "SELECT change, code, is_billable FROM icd10cm_changes WHERE from_release = ? AND to_release = ?", [frm, to]).fetchall()}


def test_releases_in_order_with_their_days(con):
    rows = con.execute("SELECT release, seq, period_from, period_to, has_headers, has_notes, follows_gap "
                       "FROM icd10cm_history_releases ORDER BY seq").fetchall()
    assert rows == [("R1", 1, D(2023, 10, 1), D(2024, 9, 30), False, False, False),
                    ("R2", 2, D(2024, 10, 1), D(2025, 9, 30), True, True, False),
                    ("R3", 3, D(2025, 10, 1), None, True, True, False)]


def test_unchanged_code_is_one_open_span(con):
    assert spans(con, "A00.0") == [(D(2023, 10, 1), None, True, "Cholera due to Vibrio cholerae 01, biovar cholerae", "R1", "R3")]


def test_revised_code_has_two_spans(con):
    assert spans(con, "A00.1") == [(D(2023, 10, 1), D(2025, 9, 30), True, "Cholera eltor", "R1", "R2"),
                                   (D(2025, 10, 1), None, True, "Cholera due to Vibrio cholerae 01, biovar eltor", "R3", "R3")]


def test_deleted_and_became_header(con):
    assert spans(con, "UA1") == [(D(2023, 10, 1), D(2024, 9, 30), True, "Fixture code of R1 only", "R1", "R1")]
    assert [s[:3] for s in spans(con, "UB2")] == [(D(2023, 10, 1), D(2025, 9, 30), True), (D(2025, 10, 1), None, False)]


def test_spans_never_overlap_and_cover_every_listing(con):
    overlaps = con.execute("""SELECT count(*) FROM icd10cm_code_history a JOIN icd10cm_code_history b
        ON a.code = b.code AND a.valid_from < b.valid_from AND coalesce(a.valid_to, DATE '9999-12-31') >= b.valid_from""").fetchone()[0]
    assert overlaps == 0
    uncovered = con.execute("""SELECT count(*) FROM icd10cm_codes c JOIN icd10cm_history_releases r USING (release)
        WHERE NOT EXISTS (SELECT 1 FROM icd10cm_code_history h WHERE h.code = c.code AND h.is_billable = c.is_billable
          AND h.description = c.description AND r.period_from BETWEEN h.valid_from AND coalesce(h.valid_to, DATE '9999-12-31'))""").fetchone()[0]
    assert uncovered == 0


def test_a_gap_between_loaded_releases_is_unknown_not_a_change():
    con = make_history(gap=True)
    assert con.execute("SELECT follows_gap FROM icd10cm_history_releases WHERE release = 'R2'").fetchone()[0] is True
    # A00.0 is the same on both sides of the gap: one span, the gap's days unknown inside it
    assert spans(con, "A00.0") == [(D(2023, 10, 1), None, True, "Cholera due to Vibrio cholerae 01, biovar cholerae", "R1", "R3")]
    got = con.execute("SELECT valid_from_source, valid_to_source, unknown_days FROM icd10cm_code_history WHERE code = 'A00.0'").fetchone()
    assert got == ("first loaded", None, [{"from": D(2024, 4, 1), "to": D(2024, 9, 30)}])
    assert con.execute("SELECT icd10cm_valid_on('A00.0', DATE '2024-06-01')").fetchone()[0] is None
    # UA1 is gone after the gap: its span ends before the gap, with the change somewhere in it
    assert con.execute("SELECT valid_to, valid_to_source FROM icd10cm_code_history WHERE code = 'UA1'").fetchone() == (
        D(2024, 3, 31), "before gap")


def test_changes_code_file_release_to_tabular_release(con):
    # R1 lists no headers: R2's headers (A00, UD1, UE2) are not reported as added
    assert changes(con, "R1", "R2") == {("deleted", "UA1", True)}


def test_changes_between_tabular_releases(con):
    assert changes(con, "R2", "R3") == {
        ("revised", "A00.1", True), ("became_header", "UB2", False), ("added", "UB2.0", True),
        ("added", "UB2.1", True), ("added", "UC3.1", True), ("deleted", "UD1", False),
        ("became_billable", "UE2", True), ("note_added", "A00.0", True), ("note_removed", "A00.1", True)}
    rev = con.execute("SELECT old, new, note_type FROM icd10cm_changes WHERE change = 'revised'").fetchone()
    assert rev == ("Cholera eltor", "Cholera due to Vibrio cholerae 01, biovar eltor", None)
    note = con.execute("SELECT note_type, old, new FROM icd10cm_changes WHERE change = 'note_added'").fetchone()
    assert note == ("excludes1", None, "new note")


def test_only_consecutive_pairs_are_stored_and_diff_gives_any_pair(con):
    pairs = con.execute("SELECT DISTINCT from_release, to_release FROM icd10cm_changes ORDER BY 1").fetchall()
    assert pairs == [("R1", "R2"), ("R2", "R3")]
    # R1 (code file) -> R3: UB2 billable in R1, header in R3 is known; headers A00/UE2... are not compared
    got = {(r[0], r[1]) for r in con.execute("SELECT change, code FROM icd10cm_diff('R1', 'R3')").fetchall()}
    assert got == {("deleted", "UA1"), ("revised", "A00.1"), ("became_header", "UB2"), ("added", "UB2.0"),
                   ("added", "UB2.1"), ("added", "UC3.1"), ("added", "UE2")}


@pytest.mark.parametrize("code, day, expected", [
    ("A00.0", "2023-10-01", True), ("a000", "2025-12-31", True), (" A00.0 ", "2030-01-01", True),
    ("UB2", "2025-09-30", True), ("UB2", "2025-10-01", False),   # became a header
    ("A00", "2025-01-01", False), ("UA1", "2025-01-01", False), ("UC3.1", "2025-01-01", False),
    ("NOPE", "2025-01-01", False),
    ("A00.0", "2023-09-30", None), (None, "2025-01-01", None), ("", "2025-01-01", None), ("A00.0", None, None),
])
def test_valid_on(con, code, day, expected):
    got = con.execute("SELECT icd10cm_valid_on(?, CAST(? AS DATE))", [code, day]).fetchone()[0]
    assert got is expected


def test_valid_on_over_a_table(con):
    con.execute("CREATE TEMP TABLE claims AS SELECT * FROM (VALUES ('A00.0', DATE '2024-01-01'), ('UB2', DATE '2026-01-01'), "
                "('UA1', DATE '2023-12-01'), ('UA1', DATE '2019-01-01')) v(dx, day)")
    got = con.execute("SELECT dx, day, icd10cm_valid_on(dx, day) FROM claims ORDER BY ALL").fetchall()
    assert [g[2] for g in got] == [True, None, True, False]  # A00.0 2024, UA1 2019, UA1 2023, UB2 2026
