"""`codeetl web` as a client sees it, over HTTP against a real server process: the JSON API equals what
the CLI prints, the FHIR operations answer valid R4 resources with dated validity, search ranks and
corrects, bad input gets the CLI's one-line messages (never a traceback), and text is escaped."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import quote

import pytest
from typer.testing import CliRunner

from codeetl.cli import app
from web_server import web  # noqa: F401  (the fixture)

DAYS = ["2025-06-01", "2025-12-01", "2026-05-08"]
KNOWN = ["M96.1", "M96", "G35", "A81.82", "M54.5", "S72.001A", "T36.0X1A", "E11.65"]
SYSTEM = "http://hl7.org/fhir/sid/icd-10-cm"


def cli(built, *args: str) -> tuple[int, str, str]:
    """`codeetl ARGS --data-dir built` in process: (exit code, stdout, stderr)."""
    r = CliRunner().invoke(app, [*args, "--data-dir", str(built)])
    return r.exit_code, r.stdout, r.stderr


def sample_codes(web, n: int = 12) -> list[str]:
    """Every k-th code of ICD-10-CM 2026-04 (through the API's own search of prefixes would be circular:
    read them from the warehouse) and the known ones."""
    import duckdb

    con = duckdb.connect(str(web.data_dir / "warehouse" / "codeetl.duckdb"), read_only=True)
    codes = [r[0] for r in con.execute("SELECT code FROM icd10cm_codes WHERE release = '2026-04' ORDER BY code").fetchall()]
    con.close()
    return KNOWN + codes[:: len(codes) // n][:n]


def test_api_code_is_what_the_cli_prints(web, built):
    """For a sample of codes and days (and a release), /api/code/X is byte for byte `codeetl code X --json`."""
    for code in sample_codes(web):
        for query, args in [(f"as_of={d}", ["--as-of", d]) for d in DAYS] + [("release=2026-04", ["--release", "2026-04"])]:
            rc, out, err = cli(built, "code", code, "--json", *args)
            status, _, body = web.get(f"/api/code/{quote(code)}?{query}")
            if rc != 0:  # not a code on that day: the same message
                assert status == 404, (code, query)
                assert " ".join(json.loads(body)["error"].split()) in " ".join(err.split())
                continue
            assert status == 200, (code, query, body[:300])
            assert body.decode("utf-8") == out, (code, query)


@pytest.mark.parametrize("path, args", [
    ("/api/drg/551?as_of=2026-05-08", ["drg", "551", "--as-of", "2026-05-08"]),
    ("/api/drg/0552?as_of=2025-06-01", ["drg", "0552", "--as-of", "2025-06-01"]),
    ("/api/cpt/99213?as_of=2026-05-08&locality=01112-05", ["cpt", "99213", "--as-of", "2026-05-08", "--locality", "01112-05"]),
    ("/api/cpt/63030?as_of=2025-11-01", ["cpt", "63030", "--as-of", "2025-11-01"]),
    ("/api/icd9/722.83?as_of=2026-05-08", ["icd9", "722.83", "--as-of", "2026-05-08"]),
    ("/api/icd9/250?as_of=2026-05-08", ["icd9", "250", "--as-of", "2026-05-08"]),
    ("/api/diff/2025/2026", ["diff", "2025", "2026"]),
    ("/api/diff/v42/v43", ["diff", "v42", "v43"]),
    ("/api/releases?as_of=2026-05-08", None),
    ("/api/status?as_of=2026-05-08", ["status", "--as-of", "2026-05-08"]),
])
def test_api_pages_are_what_the_cli_prints(web, built, path, args):
    status, _, body = web.get(path)
    assert status == 200, body[:300]
    if args is None:  # `codeetl releases --json` has no --as-of: compare with today's on both sides
        today_status, _, today = web.get("/api/releases")
        rc, out, _ = cli(built, "releases", "--json")
        assert rc == 0 and json.loads(today) == json.loads(out)
        assert json.loads(body)["day"] == "2026-05-08"
        return
    rc, out, _ = cli(built, *args, "--json")
    assert json.loads(body) == json.loads(out)
    assert body.decode("utf-8") == out


def test_fhir_validate_code_is_dated(web):
    """G35 became a header on 2025-10-01 (FY2026 code file: G35 is gone, G35.A ... added): true on
    2025-06-01, false on 2025-12-01 with a message saying it is a header now."""
    from fhir.resources.R4B.parameters import Parameters

    def check(code, date):
        status, _, body = web.get(f"/fhir/CodeSystem/$validate-code?url={SYSTEM}&code={code}&date={date}")
        assert status == 200
        p = Parameters.model_validate_json(body)
        return {x.name: x.valueBoolean if x.name == "result" else x.valueString or x.valueCode or x.valueUri for x in p.parameter}

    before, after = check("G35", "2025-06-01"), check("G35", "2025-12-01")
    assert before["result"] is True and "message" not in before
    assert after["result"] is False and "header" in after["message"] and "2025-12-01" in after["message"]
    assert "became a header" in after["message"]
    assert check("M96.1", "2026-05-08")["display"] == "Postlaminectomy syndrome, not elsewhere classified"
    assert check("M96.1", "2026-05-08")["version"] == "2026-04"
    assert check("G35.A", "2025-06-01")["result"] is False  # not yet valid: added 2025-10-01
    assert "valid from 2025-10-01" in check("G35.A", "2025-06-01")["message"]


def test_fhir_lookup_and_errors_are_valid_r4(web):
    from fhir.resources.R4B.capabilitystatement import CapabilityStatement
    from fhir.resources.R4B.operationoutcome import OperationOutcome
    from fhir.resources.R4B.parameters import Parameters

    status, headers, body = web.get(f"/fhir/CodeSystem/$lookup?system={SYSTEM}&code=M961&date=2026-05-08")
    assert status == 200 and headers["content-type"].startswith("application/fhir+json")
    p = {x.name: x for x in Parameters.model_validate_json(body).parameter}
    assert p["name"].valueString == "ICD-10-CM" and p["version"].valueString == "2026-04"
    assert p["display"].valueString == "Postlaminectomy syndrome, not elsewhere classified"
    for path, want in [("/fhir/CodeSystem/$lookup?system=http://snomed.info/sct&code=1", 400),
                       (f"/fhir/CodeSystem/$lookup?system={SYSTEM}&code=M99.99&date=2026-05-08", 404),
                       (f"/fhir/CodeSystem/$lookup?system={SYSTEM}&code=12345", 400),
                       (f"/fhir/CodeSystem/$validate-code?url={SYSTEM}&code=M96.1&date=2026-02-30", 400),
                       (f"/fhir/CodeSystem/$validate-code?url={SYSTEM}&code=M96.1&date=2026-05-08&version=2026-04", 400),
                       (f"/fhir/CodeSystem/$validate-code?url={SYSTEM}", 400),
                       ("/fhir/CodeSystem/$nope", 404)]:
        status, headers, body = web.get(path)
        assert status == want, (path, body)
        oo = OperationOutcome.model_validate_json(body)
        assert oo.issue[0].severity == "error" and oo.issue[0].diagnostics and "Traceback" not in oo.issue[0].diagnostics
    CapabilityStatement.model_validate_json(web.get("/fhir/metadata")[2])


def test_search(web):
    def codes(q, **kw):
        kw = kw if "release" in kw else {"as_of": "2026-05-08", **kw}
        query = "&".join([f"q={quote(q)}"] + [f"{k}={v}" for k, v in kw.items()])
        status, page = web.json(f"/api/search?{query}")
        assert status == 200
        return page

    first = codes("postlaminectomy")["results"][0]
    assert (first["code"], first["is_billable"], first["match"]) == ("M96.1", True, "text")
    typo = codes("postlaminectmy")
    assert typo["corrected"] == "postlaminectomy" and typo["results"][0]["code"] == "M96.1"
    assert [r["code"] for r in codes("m961")["results"][:1]] == ["M96.1"]
    assert [(r["code"], r["match"]) for r in codes("M96")["results"][:3]] == [("M96", "code"), ("M96.0", "prefix"), ("M96.1", "prefix")]
    assert codes("straussler")["results"][0]["title"] == "Gerstmann-Sträussler-Scheinker syndrome"
    assert codes("sezary disease", release="2026-04")["release"]["release"] == "2026-04"
    assert len(codes("fracture", limit=5)["results"]) == 5


def test_bad_input_gets_the_clis_message_and_no_traceback(web, built):
    rc, _, err = cli(built, "code", "M99.99", "--as-of", "2026-05-08")
    status, page = web.json("/api/code/M99.99?as_of=2026-05-08")
    assert rc == 1 and status == 404 and page["error"].split(";")[0] in " ".join(err.split())
    assert page["suggestions"]
    rc, _, err = cli(built, "code", "12345")
    status, page = web.json("/api/code/12345")
    assert rc == 2 and status == 400 and page["error"] in " ".join(err.split())
    for path, want in [("/code/12345", 400), ("/code/M99.99?as_of=2026-05-08", 404), ("/code/M96.1?as_of=2026-02-30", 400),
                       ("/code/M96.1?as_of=2026-05-08&release=2026-04", 400), ("/code/M96.1?release=1999", 404),
                       ("/drg/5512", 400), ("/drg/999999", 400), ("/cpt/ABC", 400), ("/icd9/XYZ", 400),
                       ("/diff/1999/2026", 404), ("/code/" + "A" * 5000, 400), ("/nope", 404),
                       ("/browse/chapter/99", 404), ("/browse/section/bad", 400), ("/status?dataset=nope", 400),
                       ("/search?q=x&limit=many", 400)]:
        status, headers, body = web.get(path)
        assert status == want, (path, body[:200])
        assert headers["content-type"].startswith("text/html") and b"Traceback" not in body


def test_html_is_escaped(web):
    status, _, body = web.get("/search?q=" + quote("<script>alert(1)</script>"))
    assert status == 200 and b"<script>alert(1)</script>" not in body and b"&lt;script&gt;" in body
    status, _, body = web.get("/code/" + quote("<b>x"))
    assert status == 400 and b"<b>x" not in body and b"&lt;b&gt;x" in body
    status, _, body = web.get("/search?q=" + quote("' OR 1=1 --"))  # the query is a parameter, never SQL text
    assert status == 200


def test_the_build_ships_its_search_index_and_page_store(built):
    """Versioned with the build: both files sit in the published build's folder, next to its database."""
    current = (built / "warehouse" / "codeetl.duckdb").resolve().parent
    assert (current / "search.sqlite").is_file() and (current / "pages" / "icd10cm_release=2025.sqlite").is_file()


def test_a_newly_published_build_is_served_without_a_restart(built, tmp_path):
    """Publish = one rename of the `current` link (as the refresh does it): the running server's next page
    comes from the new build, and says so (X-Codeetl-Build). The builds are hard links of the test build."""
    import os

    from web_server import start_web, stop_web

    source = (built / "warehouse" / "codeetl.duckdb").resolve().parent
    wh = tmp_path / "data" / "warehouse"

    def make_build(build_id: str) -> None:
        folder = wh / "builds" / build_id
        folder.mkdir(parents=True)
        (folder / "pages").mkdir()
        for name in ("codeetl.duckdb", "search.sqlite", "COMPLETE", *(f"pages/{p.name}" for p in (source / "pages").iterdir())):
            try:
                os.link(source / name, folder / name)
            except OSError as e:  # another file system: hard links impossible here
                pytest.skip(f"cannot hard-link the test build: {e}")
        tmp = wh / f".current.{build_id}"
        tmp.symlink_to(Path("builds") / build_id, target_is_directory=True)
        os.replace(tmp, wh / "current")

    make_build("20260101T000000000000Z")
    (wh / "codeetl.duckdb").symlink_to(Path("current") / "codeetl.duckdb")
    server = start_web(tmp_path / "data", tmp_path / "web.log")
    try:
        status, headers, body = server.get("/api/code/M96.1?as_of=2026-05-08")
        assert status == 200 and headers["x-codeetl-build"] == "20260101T000000000000Z"
        make_build("20260102T000000000000Z")
        status, headers, second = server.get("/api/code/M96.1?as_of=2026-05-08")
        assert status == 200 and headers["x-codeetl-build"] == "20260102T000000000000Z" and second == body
        assert server.json("/api/search?q=postlaminectomy&as_of=2026-05-08")[1]["results"][0]["code"] == "M96.1"
    finally:
        stop_web(server, tmp_path / "web.log")
