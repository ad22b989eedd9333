"""`codeetl web` in a real browser: Playwright drives Debian's Chromium (``/usr/bin/chromium``; `.ci/run`
installs it where it is missing) against a real server process over the session's warehouse.

Numbers pinned here come from the official files or the seed page (a published figure), as each comment
says; none is read from the code under test. A screenshot of each page kind is saved under
``test-artifacts/web/`` (gitignored)."""

from __future__ import annotations

import re

import pytest

from web_server import ARTIFACTS, web  # noqa: F401  (the fixture)

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
DAY = "2026-05-08"  # the seed page's "Verified May 8, 2026"

# The seed page's ten fees (../shared/seed/icd10cm-M96.1-code-page.txt, "Related CPT procedures": the PFS
# 2026-B national amounts it shows: facility for 63030/63047/63056, non-facility for the others).
SEED_FEES = {"63030": "$898.15", "63047": "$1,065.49", "63056": "$1,404.84", "72148": "$191.72", "72158": "$318.31",
             "72100": "$40.42", "97110": "$29.06", "99213": "$95.19", "99214": "$135.61", "99215": "$192.39"}
# ../shared/cms/ipps/fy2026/FY2026-Final-Rule-Table-5.txt lines 453-454 (columns: DRG, ..., weight, weight
# before cap, GMLOS, AMLOS): 551 1.6761 4.5 5.9; 552 0.9613 2.9 3.6. The seed names DRGs 551/552.
DRG_WEIGHTS = {"551": "1.6761", "552": "0.9613"}
# The seed's FAQ 04: M96.1 maps to ICD-9-CM 722.80, 722.81, 722.82, 722.83 (titles: the ICD-9-CM v32 file).
ICD9 = ["722.80", "722.81", "722.82", "722.83"]
# ../shared/cms/icd10cm/2026-04/icd10cm-tabular-April-1-2026.xml lines 118892-118898: M96's Excludes2 (the
# seed cites T84.-, M80 and M97.- of them).
EXCLUDES2 = ["arthropathy following intestinal bypass (M02.0-)",
             "complications of internal orthopedic prosthetic devices, implants and grafts (T84.-)",
             "disorders associated with osteoporosis (M80)",
             "periprosthetic fracture around internal prosthetic joint (M97.-)",
             "presence of functional implants and other devices (Z96-Z97)"]
# ../shared/cms/icd10cm/2026-04/icd10cm-tabular-April-1-2026.xml line 3770: a title with a non-ASCII letter.
NON_ASCII = ("A81.82", "Gerstmann-Sträussler-Scheinker syndrome")


@pytest.fixture(scope="module")
def page():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        tab = browser.new_page(viewport={"width": 1100, "height": 900})
        yield tab
        browser.close()


def shot(page, name: str) -> None:
    """Save a full-page screenshot of what the browser shows."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def test_m96_1_page_shows_the_seed_facts(web, page):
    page.goto(f"{web.url}/code/M96.1?as_of={DAY}")
    shot(page, "code-M96.1")
    assert page.locator("h1").inner_text() == "M96.1 Postlaminectomy syndrome, not elsewhere classified"
    assert "Billable" in page.locator(".status").inner_text()
    for drg, weight in DRG_WEIGHTS.items():
        row = page.locator("#msdrg tr", has=page.locator(f"a.drg:text-is('{drg}')"))
        assert weight in row.inner_text()
    icd9 = page.locator("#icd9").inner_text()
    assert all(c in icd9 for c in ICD9)
    notes = page.locator("#notes").inner_text()
    assert all(n in notes for n in EXCLUDES2)
    for code, fee in SEED_FEES.items():
        row = page.locator("#procedures tr", has=page.locator(f"a.cpt:text-is('{code}')"))
        assert fee in row.locator("td.fee").inner_text(), code
    assert "American Medical Association" in page.locator("#procedures .copyright").inner_text()  # CPT descriptors' notice
    sources = page.locator("#sources").inner_text()
    assert re.search(r"sha256 [0-9a-f]{64}", sources) and "icd10cm-tabular-April-1-2026.xml" in sources
    assert "in effect on 2026-05-08" in page.locator("main").inner_text()
    assert page.locator("svg.timeline g.span").count() >= 1  # the history picture, drawn on the server


def test_a_link_in_a_note_reaches_its_code(web, page):
    page.goto(f"{web.url}/code/M96.1?as_of={DAY}")
    page.locator("#notes a.code", has_text="T84.-").first.click()
    page.wait_for_url(re.compile(r"/code/T84"))
    assert page.locator("h1").inner_text().startswith("T84 ")


def test_search_lists_m96_1_first(web, page):
    page.goto(web.url + "/")
    shot(page, "home")
    page.fill("form.search input[name=q]", "postlaminectomy")
    page.press("form.search input[name=q]", "Enter")
    page.wait_for_url(re.compile(r"/search\?q=postlaminectomy"))
    shot(page, "search")
    first = page.locator("ol.results li").first
    assert first.locator("a.code").inner_text() == "M96.1"
    assert "billable" in first.inner_text()


def test_pages_are_utf8(web, page):
    code, title = NON_ASCII
    response = page.goto(f"{web.url}/code/{code}?as_of={DAY}")
    assert "charset=utf-8" in response.headers["content-type"]
    response.body().decode("utf-8")  # valid UTF-8, or this raises
    assert page.locator("h1").inner_text() == f"{code} {title}"


@pytest.mark.parametrize("name, path, expect", [
    ("drg-551", f"/drg/551?as_of={DAY}", "Medical Back Problems with MCC"),
    ("cpt-99213", f"/cpt/99213?as_of={DAY}&locality=01112-05", "American Medical Association"),
    ("icd9-722.83", f"/icd9/722.83?as_of={DAY}", "M96.1"),
    ("diff-2025-2026", "/diff/2025/2026", "487"),  # FY2026 added 487 codes: CMS's published addenda figure (README)
    ("browse-chapter-13", "/browse/chapter/13", "Diseases of the musculoskeletal system and connective tissue"),
    ("browse-section", f"/browse/section/M91-M94?as_of={DAY}", "Juvenile osteochondrosis of hip and pelvis"),
    ("releases", "/releases", "icd10cm-tabular-April-1-2026.xml"),
    ("status", f"/status?as_of={DAY}", "ICD-10-CM"),
    ("not-found", f"/code/M99.99?as_of={DAY}", "is not an ICD-10-CM code in release 2026-04"),
])
def test_each_page_kind_renders(web, page, name, path, expect):
    page.goto(web.url + path)
    shot(page, name)
    assert expect in page.locator("main").inner_text()
    assert page.locator("form.search input[name=q]").count() == 1  # the search box on every page
    if name not in ("status", "not-found", "releases"):  # every page of facts names its sources (releases: in its table)
        assert re.search(r"sha256 [0-9a-f]{64}", page.locator("#sources").inner_text())


def test_drg_page_draws_its_chart(web, page):
    page.goto(f"{web.url}/drg/551?as_of={DAY}")
    chart = page.locator("svg.drgchart")
    assert chart.count() == 1 and "1.6761" in chart.inner_html()  # Table 5, line 453
