"""FHIR R4 terminology operations for ICD-10-CM (``http://hl7.org/fhir/sid/icd-10-cm``), answered from the
warehouse: ``CodeSystem/$lookup`` and ``CodeSystem/$validate-code`` (GET, parameters in the query), with
``date`` picking the release in effect that day — or ``version`` a release by its id — and errors as
``OperationOutcome``. The facts are the code page's (:func:`codeetl.pages.code.code_page`) and, for
validity, ``icd10cm_valid_on`` with ``codeetl validate``'s reasons (:func:`codeetl.claims.explain.explain_code`).
"""

from __future__ import annotations

import datetime as dt
import re

from codeetl.claims.explain import explain_code
from codeetl.errors import CodeEtlError
from codeetl.pages.code import code_page, normalise_code

SYSTEM = "http://hl7.org/fhir/sid/icd-10-cm"
NAME = "ICD-10-CM"
MEDIA_TYPE = "application/fhir+json"


class FhirError(Exception):
    """An operation that cannot be answered: HTTP `status`, OperationOutcome issue `code`, one-line message."""

    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status, self.code = status, code


def outcome(code: str, message: str, severity: str = "error") -> dict:
    """An OperationOutcome with one issue."""
    return {"resourceType": "OperationOutcome", "issue": [{"severity": severity, "code": code, "diagnostics": message}]}


def _param(name: str, kind: str, value) -> dict:
    return {"name": name, f"value{kind}": value}


def fhir_date(text: str | None) -> dt.date | None:
    """A FHIR ``date`` or ``dateTime`` parameter (YYYY-MM-DD, optionally with a time) as a day; FhirError 400
    for anything else."""
    if text is None:
        return None
    m = re.fullmatch(r"(\d{4}-\d{2}-\d{2})(T[0-9:.]+(Z|[+-]\d{2}:\d{2})?)?", text.strip())
    try:
        return dt.date.fromisoformat(m.group(1)) if m else dt.date.fromisoformat("x")
    except ValueError:
        raise FhirError(400, "invalid", f"date {text[:40]!r}: expected a FHIR date, YYYY-MM-DD") from None


def _check(system: str | None, code: str | None, version: str | None, day: dt.date | None) -> None:
    if system != SYSTEM:
        raise FhirError(400, "not-supported",
                        f"unknown code system {system!r}: this server answers for {SYSTEM}" if system else
                        f"the code system is missing: give system (or url) {SYSTEM}")
    if not code:
        raise FhirError(400, "required", "the code is missing: give code=...")
    if version and day:
        raise FhirError(400, "invalid", "give version or date, not both: version fixes the date (the release's first day)")


def _page(con, code: str, version: str | None, day: dt.date | None) -> dict:
    """The code page behind an operation; FhirError 400/404 with the CLI's messages."""
    try:
        return code_page(con, code, as_of=None if version else day, release=version)
    except CodeEtlError as e:
        malformed = type(e).__name__ == "MalformedCode"
        raise FhirError(400 if malformed else 404, "invalid" if malformed else "not-found", str(e)) from None


def lookup(con, system: str | None, code: str | None, version: str | None = None, date: str | None = None) -> dict:
    """``$lookup``: a Parameters resource with name, version (the ICD-10-CM release), display (the official
    long description), and properties ``parent``, ``child`` and ``notSelectable`` (true for a header)."""
    day = fhir_date(date)
    _check(system, code, version, day)
    p = _page(con, code, version, day)
    params = [_param("name", "String", NAME), _param("version", "String", p["release"]["release"]),
              _param("display", "String", p["description"])]
    parent = (p.get("ancestors") or [None])[-1] if p.get("ancestors") else None
    props = ([("parent", parent["code"])] if parent and parent.get("code") != p["code"] else []) + \
            [("child", c["code"]) for c in p.get("children") or []]
    params += [{"name": "property", "part": [_param("code", "Code", k), _param("value", "Code", v)]} for k, v in props]
    params.append({"name": "property", "part": [_param("code", "Code", "notSelectable"),
                                                _param("value", "Boolean", not p["is_billable"])]})
    return {"resourceType": "Parameters", "parameter": params}


def validate_code(snapshot, url: str | None, code: str | None, version: str | None = None, date: str | None = None,
                  display: str | None = None) -> dict:
    """``$validate-code``: a Parameters resource with ``result`` (is the code billable on the day: what
    ``icd10cm_valid_on`` says), and ``message`` when it is not (``codeetl validate``'s reason, and when it
    became a header, since when), ``display``, ``version``, ``code``, ``system``."""
    day = fhir_date(date)
    _check(url, code, version, day)
    con = snapshot.connection()
    try:
        text = normalise_code(code)
    except CodeEtlError as e:
        raise FhirError(400, "invalid", str(e)) from None
    if version:
        found = con.execute("SELECT effective_from FROM release_calendar WHERE dataset = 'icd10cm' AND release = ?", [version]).fetchone()
        if not found:
            raise FhirError(404, "not-found", f"the warehouse has no ICD-10-CM release {version!r}")
        day = found[0]
    day = day or dt.date.today()
    cursor = snapshot.raw_cursor()
    try:
        checked = explain_code(cursor, text, day)
    finally:
        cursor.close()
    page, history = _pages(con, text, day)
    params = [_param("result", "Boolean", bool(checked["valid"]))]
    message = _message(text, day, checked, page, display, history)
    if message:
        params.append(_param("message", "String", message))
    if page:
        params += [_param("display", "String", page["description"]), _param("version", "String", page["release"]["release"])]
    params += [_param("code", "Code", text), _param("system", "Uri", SYSTEM)]
    if display and page and not _same(display, page["description"]) and checked["valid"]:
        params[0] = _param("result", "Boolean", False)
    return {"resourceType": "Parameters", "parameter": params}


def _pages(con, code: str, day: dt.date) -> tuple[dict | None, dict | None]:
    """The code page of the day (None when the day's release lacks the code) and the code's history (the
    same on every page of the code: from today's page when the day's has none)."""
    page = None
    for as_of in (day, None):
        try:
            found = code_page(con, code, as_of=as_of)
        except CodeEtlError:
            continue
        page = page or (found if as_of == day else None)
        return page, found.get("history")
    return None, None


def _same(a: str, b: str) -> bool:
    return " ".join(a.split()).casefold() == " ".join(b.split()).casefold()


def _message(code: str, day: dt.date, checked: dict, page: dict | None, display: str | None,
             history: dict | None) -> str | None:
    """Why a code is not valid on the day (None when it is): ``codeetl validate``'s reason and details, and
    from the code's history when it became a header."""
    if checked["valid"]:
        if display and page and not _same(display, page["description"]):
            return f"the display {display!r} is not the display of {code}: {page['description']!r}"
        return None
    msg = f"{code} is not valid on {day}: {checked['reason'] or 'not billable'}" + (f" ({checked['details']})" if checked["details"] else "")
    spans = (history or {}).get("spans") or []
    before = [sp for sp in spans if sp.get("is_billable") and sp.get("valid_to") and sp["valid_to"] < day.isoformat()]
    if checked["reason"] == "header code" and before:
        last = before[-1]
        msg += f"; it became a header after {last['valid_to']}: a billable code until then (last in release {last.get('last_release')})"
    return msg


def capability_statement(base: str) -> dict:
    """The CapabilityStatement of this server (``/fhir/metadata``): FHIR 4.0.1, JSON, the two operations."""
    ops = [{"name": n, "definition": f"http://hl7.org/fhir/OperationDefinition/CodeSystem-{n}"} for n in ("lookup", "validate-code")]
    return {"resourceType": "CapabilityStatement", "status": "active", "date": dt.date.today().isoformat(),
            "kind": "instance", "software": {"name": "codeetl"}, "implementation": {"description": "codeetl web", "url": base},
            "fhirVersion": "4.0.1", "format": ["json"],
            "rest": [{"mode": "server", "resource": [{"type": "CodeSystem", "operation": ops}]}]}
