"""One dated ICD-10-CM code checked as ``codeetl validate`` checks each code of a claims file: is it billable
on the day (the ``icd10cm_valid_on`` macro) and, when it is not, the reason and details ``codeetl validate``
writes (the claim SQL of ``sql/claims/validate.sql`` over the warehouse's own claim_* tables, run on a one-row
input). Used by the FHIR ``$validate-code`` operation."""

from __future__ import annotations

import datetime as dt

import duckdb

from codeetl.claims.contract import DATE, DAY, ROW, quote, validate_sql
from codeetl.claims.validate import run_claim_sql


def _text(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def explain_code(cursor: duckdb.DuckDBPyConnection, code: str, day: dt.date) -> dict:
    """``{"valid": True / False / None, "reason": ..., "details": ...}`` for `code` on `day`: valid is
    ``icd10cm_valid_on(code, day)`` (None when no loaded release covers the day); reason and details are
    those of ``codeetl validate`` (None when the code is valid). `cursor` must be a cursor of its own: the
    explanation creates TEMP views and tables in it."""
    valid = cursor.execute("SELECT icd10cm_valid_on(?, ?::DATE)", [code, day]).fetchone()[0]
    if valid:
        return {"valid": True, "reason": None, "details": None}
    cursor.execute(f"CREATE OR REPLACE TEMP VIEW claim_source AS SELECT 1::BIGINT AS {quote(ROW)}, "
                   f"{_text(day.isoformat())} AS {quote(DATE)}, DATE {_text(day.isoformat())} AS {quote(DAY)}, "
                   f"{_text(code)} AS code")
    run_claim_sql(cursor, validate_sql(["code"]))
    found = cursor.execute("SELECT reason, details FROM claim_invalid").fetchone()
    reason, details = found if found else (None, None)
    return {"valid": valid, "reason": reason, "details": details}
