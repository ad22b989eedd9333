"""Benchmark: `codeetl check` over a folder of hundreds of code pages — pages per second.

    uv run python bench/bench_check.py --data-dir data [--pages 300]

The folder is made from the four test pages (the seed page and the three fixture pages of other
publishers: plain text, Markdown, HTML), each copied about many different codes (the page's code replaced
by a billable code of the warehouse, so every page needs its own code page, DRG family and notes). It is
checked exactly as `codeetl check FOLDER` does (one warehouse connection, one summary parquet); the
first page pays for the one-time description index. Results print as a Markdown table and are saved to
bench/results/check-<timestamp>.json.
"""

from __future__ import annotations

import argparse
import json
import platform
import tempfile
import time
from pathlib import Path

import duckdb

from codeetl.build import pipeline
from codeetl.check.facts import Facts
from codeetl.check.report import write_summary
from codeetl.check.run import check_folder

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
TEMPLATES = {  # page -> the code it is about
    REPO.parent / "shared" / "seed" / "icd10cm-M96.1-code-page.txt": "M96.1",
    REPO / "tests" / "fixtures" / "check" / "e11.65-coding-desk.md": "E11.65",
    REPO / "tests" / "fixtures" / "check" / "s72.001a-orthoref.html": "S72.001A",
    REPO / "tests" / "fixtures" / "check" / "m54.50-plain.txt": "M54.50",
}


def make_pages(con: duckdb.DuckDBPyConnection, folder: Path, n: int) -> int:
    """Write `n` pages into `folder`: the templates in turn, each about another billable code."""
    codes = [r[0] for r in con.execute(
        "SELECT code FROM icd10cm_codes WHERE release = (SELECT max(release) FROM icd10cm_codes) AND is_billable "
        "ORDER BY hash(code) LIMIT ?", [n]).fetchall()]
    templates = [(p, c, p.read_text(encoding="utf-8")) for p, c in TEMPLATES.items()]
    for i, code in enumerate(codes):
        path, own, text = templates[i % len(templates)]
        page = text if i < len(templates) else text.replace(own, code)
        (folder / f"{i:04d}-{code}{path.suffix}").write_text(page, encoding="utf-8")
    return len(codes)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data-dir", default=str(REPO / "data"))
    ap.add_argument("--pages", type=int, default=300)
    a = ap.parse_args()
    con = duckdb.connect(str(pipeline.current_database(Path(a.data_dir))), read_only=True)
    with tempfile.TemporaryDirectory(prefix="codeetl-bench-check-") as tmp:
        folder = Path(tmp) / "pages"
        folder.mkdir()
        n = make_pages(con, folder, a.pages)
        t = time.perf_counter()
        reports = check_folder(Facts(con), folder)
        checked = time.perf_counter() - t
        t = time.perf_counter()
        write_summary(reports, Path(tmp) / "summary.parquet")
        written = time.perf_counter() - t
    claims = sum(len(r.verdicts) for r in reports)
    results = {
        "machine": {"python": platform.python_version(), "cpus": __import__("os").cpu_count(), "platform": platform.platform()},
        "pages": n, "claims": claims, "check_s": round(checked, 2), "summary_parquet_s": round(written, 3),
        "pages_per_s": round(n / checked, 1), "claims_per_s": round(claims / checked, 1),
        "pages_with_contradictions": sum(1 for r in reports if r.contradicted),
    }
    out = HERE / "results"
    out.mkdir(exist_ok=True)
    (out / f"check-{time.strftime('%Y%m%dT%H%M%S')}.json").write_text(json.dumps(results, indent=2))
    print("| measure | value |\n|---|---|")
    for k in ("pages", "claims", "check_s", "pages_per_s", "claims_per_s", "summary_parquet_s", "pages_with_contradictions"):
        print(f"| {k} | {results[k]} |")


if __name__ == "__main__":
    main()
