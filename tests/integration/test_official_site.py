"""The online download path without the internet: a fake CMS/CDC site on 127.0.0.1 serves zips built from the
real files of ../shared/cms at the official URL paths, holding the official member names, and the real
``codeetl refresh --mirror http://127.0.0.1:PORT/`` (worker process, Prefect flow) loads every release from
them. The site's layout is written here from the evidence, not read from the catalog: a catalog URL path or
member name that disagrees with it leaves a release unloaded and fails the test.

The built zips are not CMS's bytes, so they cannot match the sha256 pins CMS's zips have: the refresh runs
with ``--catalog`` on a copy of the packaged catalog in which only those zip-level pins are replaced by the
built zips' (the test checks that nothing else differs); member pins stay and are checked. That a zip pin is
enforced, against the packaged catalog, is the second test.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit

import pytest

from _shared import CMS
from codeetl.sources.catalog import load_catalog
from faultkit import query, run_cli, snapshot

CMS_ZIP = "https://www.cms.gov/files/zip/"
ICD = CMS / "icd10cm"
DRG_MANUAL = "https://www.cms.gov/files/zip/{}-ms-drg-definitions-manual-files-{}.zip"
IPPS = CMS / "ipps" / "fy2026"

# (dataset, release, official URL, {member name in the zip: file of ../shared/cms}). URLs: the verdicts of
# ../shared/research/catalog-url-evidence.md (CONFIRMED, or the correction it gives); where it has no evidence
# (marked "catalog's guess") the catalog's own URL, which is all there is to test. Member names: CMS's, as
# ../shared/cms/README.md gives them (icd10cm_codes_2024.txt ...), or as the evidence names them.
OFFICIAL = [
    ("gems", "2018", "https://www.cms.gov/medicare/coding/icd10/downloads/2018-icd-10-cm-general-equivalence-mappings.zip",
     {n: CMS / "gems" / "2018" / n for n in ("2018_I9gem.txt", "2018_I10gem.txt")}),
    ("icd9cm", "v32", "https://www.cms.gov/medicare/coding/icd9providerdiagnosticcodes/downloads/icd-9-cm-v32-master-descriptions.zip",
     {f"CMS32_DESC_{k}.txt": CMS / "icd9cm" / "v32" / f"CMS32_DESC_{k}.txt" for k in ("LONG_DX", "SHORT_DX", "LONG_SG", "SHORT_SG")}),
    ("icd10cm", "2024", CMS_ZIP + "2024-code-descriptions-tabular-order.zip",
     {"icd10cm_codes_2024.txt": ICD / "2024" / "icd10cm-codes-2024.txt"}),
    ("icd10cm", "2025", CMS_ZIP + "2025-code-descriptions-tabular-order.zip",
     {"icd10cm_codes_2025.txt": ICD / "2025" / "icd10cm-codes-2025.txt"}),
    ("icd10cm", "2025", CMS_ZIP + "2025-code-tables-tabular-and-index.zip",
     {"icd10cm_tabular_2025.xml": ICD / "2025" / "icd-10-cm-tabular-2025.xml"}),
    # the mirror's tab-separated export of CDC's workbook, under its own name (CMS's member is an .xlsx)
    ("icd10cm", "2025", CMS_ZIP + "2025-conversion-table.zip",
     {"icd-10-cm-conversion-table-FY2025.csv": ICD / "2025" / "icd-10-cm-conversion-table-FY2025.csv"}),
    ("icd10cm", "2025-04", CMS_ZIP + "2025-code-tables-tabular-and-index-april.zip",  # correction 3
     {"icd10cm_tabular_2025.xml": ICD / "2025-04" / "icd10cm-tabular-April-2025.xml"}),
    ("icd10cm", "2026", CMS_ZIP + "2026-code-descriptions-tabular-order.zip",
     {"icd10cm_codes_2026.txt": ICD / "2026" / "icd10cm-codes-2026.txt"}),
    ("icd10cm", "2026-04", CMS_ZIP + "april-1-2026-code-tables-tabular-index.zip",  # correction 1
     {"Table and Index/icd10cm_tabular_2026.xml": ICD / "2026-04" / "icd10cm-tabular-April-1-2026.xml"}),
    ("icd10cm", "2027", CMS_ZIP + "2027-code-descriptions-tabular-order.zip",
     {"icd10cm_order_addenda_2027.txt": ICD / "2027" / "icd10cm_order_addenda_2027.txt"}),
    ("msdrg", "v43", DRG_MANUAL.format("icd10", "v43"), None),
    ("msdrg", "v42", DRG_MANUAL.format("icd-10", "v42"), None),
    ("msdrg", "v41.1", DRG_MANUAL.format("icd-10", "v411"), None),
    ("msdrg", "v41", DRG_MANUAL.format("icd-10", "v41"), None),  # catalog's guess
    ("msdrg", "v39.1", DRG_MANUAL.format("icd-10", "v391"), None),  # catalog's guess
    ("msdrg", "v38.1", DRG_MANUAL.format("icd-10", "v381"), None),  # catalog's guess
    ("ipps", "fy2026", CMS_ZIP + "fy2026-ipps-fr-table-5.zip",  # member named by a public project
     {"CMS-1833-F Table 5.txt": IPPS / "FY2026-Final-Rule-Table-5.txt"}),
    # catalog's guess; the tables in a zip inside the zip, as CMS ships Tables 6A-6K (FY2025: "CMS-1808-F
    # Tables 6A-6K v420.zip")
    ("ipps", "fy2026", CMS_ZIP + "fy2026-ipps-fr-tables-6a-6k.zip",
     {"CMS-1833-F Tables 6A-6K.zip": {f"CMS-1833-F Table {t}.txt": IPPS / f"FY2026-Final-Rule-Table-{t}.txt"
                                      for t in ("6I", "6J", "6K")}}),
    ("pfs", "2025-D", CMS_ZIP + "rvu25d.zip", {p.name: p for p in sorted((CMS / "pfs" / "2025-D").iterdir())}),
    ("pfs", "2026-B", CMS_ZIP + "rvu26b-updated-05-01-2026.zip",  # correction 8
     {p.name: p for p in sorted((CMS / "pfs" / "2026-B").iterdir())}),
]


def drg_members(release: str) -> dict:
    """The text version's appendices, in the manual zip's folder."""
    return {f"{release}/appendix_{x}.txt": CMS / "msdrg" / release / f"appendix_{x}.txt" for x in "AB"}


def site_path(root: Path, url: str) -> Path:
    """Where `url` is served from under `root`: the official path, unquoted (CMS writes some dates with slashes)."""
    return root / unquote(urlsplit(url).path).lstrip("/")


def write_zip(target: Path, members: dict) -> None:
    """A zip of `members` (name -> file, or name -> dict for a zip inside the zip) at `target`."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as z:
        for name, src in members.items():
            if isinstance(src, dict):
                inner = target.with_name(target.name + ".inner")
                write_zip(inner, src)
                z.write(inner, name)
                inner.unlink()
            else:
                z.write(src, name)


def build_site(root: Path) -> dict[str, tuple[str, int]]:
    """Lay out the fake site; returns url -> (sha256, bytes) of each built zip."""
    built = {}
    for _, release, url, members in OFFICIAL:
        target = site_path(root, url)
        write_zip(target, members or drg_members(release))
        data = target.read_bytes()
        built[url] = (hashlib.sha256(data).hexdigest(), len(data))
    return built


def repin(text: str, url: str, sha: str, size: int) -> str:
    """`text` (a catalog.toml) with the zip-level pin of the download `url` replaced, if it has one: only the
    file block's own ``sha256``/``bytes`` lines (two-space indent), never a member's."""
    start = text.find(f'  url = "{url}"\n')
    if start < 0:
        return text
    end = text.find("    [[releases.files.members]]", start)
    block = re.sub(r'(?m)^  sha256 = "[^"]*"$', f'  sha256 = "{sha}"', text[start:end])
    block = re.sub(r"(?m)^  bytes = [0-9_]+$", f"  bytes = {size}", block)
    return text[:start] + block + text[end:]


def catalog_for(built: dict[str, tuple[str, int]], folder: Path) -> Path:
    """A copy of the packaged catalog (one <dataset>.toml each) whose zip pins are the built zips'."""
    from importlib import resources

    folder.mkdir()
    base = resources.files("codeetl").joinpath("datasets")
    for d in base.iterdir():
        if d.joinpath("catalog.toml").is_file():
            text = d.joinpath("catalog.toml").read_text(encoding="utf-8")
            for url, (sha, size) in built.items():
                text = repin(text, url, sha, size)
            (folder / f"{d.name}.toml").write_text(text, encoding="utf-8")
    return folder


def without_zip_pins(catalog: dict, urls) -> dict:
    """The catalog with the zip-level pins of `urls` blanked, to compare the rest."""
    def strip(f):
        return dataclasses.replace(f, sha256=None, bytes=None) if f.url in urls else f
    return {n: dataclasses.replace(ds, releases=tuple(dataclasses.replace(r, files=tuple(strip(f) for f in r.files))
                                                      for r in ds.releases)) for n, ds in catalog.items()}


def isolated_env(tmp_path: Path) -> dict:
    """The environment of a user's shell, with HOME and Prefect's home in `tmp_path` (nothing written to ~)."""
    (tmp_path / "home" / ".prefect").mkdir(parents=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CODEETL_", "PREFECT_"))}
    env.update(HOME=str(tmp_path / "home"), PREFECT_HOME=str(tmp_path / "home" / ".prefect"),
               PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS="300")
    return env


@pytest.mark.slow
@pytest.mark.prefect
def test_refresh_from_a_fake_official_site_loads_every_release(serve, tmp_path):
    site = tmp_path / "site"
    built = build_site(site)
    server = serve(site)
    copy = catalog_for(built, tmp_path / "catalog")
    assert without_zip_pins(load_catalog(copy), built) == without_zip_pins(load_catalog(), built)
    data = tmp_path / "data"
    p = subprocess.run([sys.executable, "-m", "codeetl", "refresh", "--mirror", server.url + "/", "--catalog", str(copy),
                        "--data-dir", str(data), "--json"], env=isolated_env(tmp_path), cwd=tmp_path,
                       capture_output=True, text=True, timeout=1500)
    assert p.returncode == 0, p.stderr[-4000:]
    summary = json.loads(p.stdout)
    loaded = {line.split()[0] for line in summary["loaded"]}
    assert {f"{ds}/{rid}" for ds, rid, _, _ in OFFICIAL} <= loaded, summary["skipped"]
    for ds, rid, url, members in OFFICIAL:  # each from its official path, with the members the site put there
        manifest = json.loads((data / "raw" / ds / rid / "manifest.json").read_text())
        d = next(d for d in manifest["downloads"] if d["url"] == url)
        assert d["source"] == server.url + quote(unquote(urlsplit(url).path)), (ds, rid, d["source"])
        assert d["sha256"] == built[url][0]
        names = {Path(n).name for n in (members or drg_members(rid))}
        names |= {Path(n).name for m in (members or {}).values() if isinstance(m, dict) for n in m}
        assert {m["name"] for m in d["members"]} <= names and d["members"], (ds, rid)
    # what the official files say, recounted from the loaded tables: FY2026 has 74,719 valid codes
    # (../shared/cms/README.md, icd10cm/2026: `wc -l icd10cm-codes-2026.txt`); ICD-9-CM v32 14,567 diagnoses and
    # 3,882 procedures (README, icd9cm/v32: `wc -l CMS32_DESC_LONG_DX.txt CMS32_DESC_LONG_SG.txt`)
    assert query(data, "SELECT count(*) FROM icd10cm_valid_codes WHERE release = '2026'") == [(74_719,)]
    assert query(data, "SELECT count(*) FILTER (kind = 'diagnosis'), count(*) FILTER (kind = 'procedure') "
                       "FROM icd9cm_codes") == [(14_567, 3_882)]


def test_a_zip_that_does_not_match_its_published_pin_fails_and_replaces_nothing(serve, tmp_path, monkeypatch):
    """The packaged catalog pins CMS's GEM zip (sha256 published by other projects): a zip with the same members
    but other bytes is refused, naming both hashes, and the GEM files fetched before stay as they were."""
    data = tmp_path / "data"
    first = run_cli(["refresh", "--mirror", str(CMS), "--dataset", "gems", "--data-dir", str(data)], monkeypatch)
    assert first.exit_code == 0, first.output  # the member mirror: the GEM files' member pins match
    before = snapshot(data, "raw")
    site = tmp_path / "site"
    [(url, members)] = [(u, m) for ds, _, u, m in OFFICIAL if ds == "gems"]
    write_zip(site_path(site, url), members)
    built = hashlib.sha256(site_path(site, url).read_bytes()).hexdigest()
    pin = load_catalog()["gems"].release("2018").files[0].sha256
    server = serve(site)
    result = run_cli(["refresh", "--mirror", server.url + "/", "--dataset", "gems", "--data-dir", str(data)], monkeypatch)
    assert result.exit_code == 1
    err = " ".join(result.stderr.split())  # the message is one line; a console may wrap it (issue 15, item 5)
    assert f"it has sha256 {built}, the catalog pins sha256 {pin}" in err and "Traceback" not in result.output
    assert snapshot(data, "raw") == before


def test_releases_json_carries_the_catalog_verified_flag(built):
    doc = json.loads(run_cli(["releases", "--json", "--data-dir", str(built)]).stdout)
    flags = {(r["dataset"], r["release"], d["url"]): d["verified"] for r in doc["releases"] for d in r["downloads"]}
    catalog = {(ds.dataset, r.release, f.url): f.verified for ds in load_catalog().values() for r in ds.releases
               for f in r.files}
    assert flags and all(flags[k] is catalog[k] for k in flags)
    assert flags[("ipps", "fy2026", CMS_ZIP + "fy2026-ipps-fr-tables-6a-6k.zip")] is False  # no evidence for it
    assert flags[("gems", "2018", OFFICIAL[0][2])] is True
