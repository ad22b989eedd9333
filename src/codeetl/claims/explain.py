"""One dated ICD-10-CM code checked as ``codeetl validate`` checks each code of a claims file: is it billable
on the day (the ``icd10cm_valid_on`` macro) and, when it is not, the reason and details ``codeetl validate``
writes (``sql/history/validate.sql``, run on a one-row input). Used by the FHIR ``$validate-code`` operation."""

from __future__ import annotations

import datetime as dt

import duckdb

from codeetl.claims.validate import _explain


def explain_code(cursor: duckdb.DuckDBPyConnection, code: str, day: dt.date) -> dict:
    """``{"valid": True / False / None, "reason": ..., "details": ...}`` for `code` on `day`: valid is
    ``icd10cm_valid_on(code, day)`` (None when no loaded release covers the day); reason and details are
    those of ``codeetl validate`` (None when the code is valid). `cursor` must be a cursor of its own: the
    explanation creates TEMP tables in it."""
    valid = cursor.execute("SELECT icd10cm_valid_on(?, ?::DATE)", [code, day]).fetchone()[0]
    if valid:
        return {"valid": True, "reason": None, "details": None}
    cursor.execute("CREATE TEMP TABLE v_cells AS SELECT 1::BIGINT AS row_number, 'code' AS column_name, ?::VARCHAR AS code, "
                   "?::VARCHAR AS raw_date, icd10cm_nodot(?) AS key, ?::DATE AS day", [code, day.isoformat(), code, day])
    _explain(cursor)
    found = cursor.execute("SELECT reason, details FROM v_invalid").fetchone()
    reason, details = found if found else (None, None)
    return {"valid": valid, "reason": reason, "details": details}
