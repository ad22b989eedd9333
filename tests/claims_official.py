"""A claims file made from the official ICD-10-CM code files in ../shared/cms (never from the warehouse), with
every reason `codeetl validate` gives and dates in every loaded release, for the engine-equality tests
(tests/integration/test_spark_engine.py) and bench/bench_spark.py.

The codes come from the FY2024, FY2025 and FY2026 valid-code files (icd10cm-codes-YYYY.txt: the code without
its dot, padded to 8 columns, then the description). Each row draws one scenario (seeded, so the file is the
same on every run):

- valid: a code of the file of the row's fiscal year, on a day of that year (dotted, undotted, lower case);
- not yet valid: a code of the FY2026 file absent from the FY2024 file, on a FY2024 day;
- deleted: a code of the FY2024 file absent from the FY2026 file, on a FY2026 day;
- header: the category (3 characters) of a billable code where the category is not itself billable;
- unknown: letters and digits that are no code;
- no release: a valid FY2024 code on a day of the gap 2024-04-01 to 2024-09-30 (the mirror has no 2024-04
  release) or before FY2024;
- unreadable / missing date: an impossible day, a day in another notation, an empty cell.

dx2 is empty in about half of the rows, else another code of the row's year; dx3 is mostly empty.
"""

from __future__ import annotations

import csv
import datetime as dt
import random
from pathlib import Path

from _shared import CMS

CODE_FILES = {2024: CMS / "icd10cm" / "2024" / "icd10cm-codes-2024.txt",
              2025: CMS / "icd10cm" / "2025" / "icd10cm-codes-2025.txt",
              2026: CMS / "icd10cm" / "2026" / "icd10cm-codes-2026.txt"}

DAYS = {  # fiscal year -> days spread over the releases the mirror holds
    2024: [dt.date(2023, 10, 1), dt.date(2023, 12, 31), dt.date(2024, 3, 31)],
    2025: [dt.date(2024, 10, 1), dt.date(2025, 2, 14), dt.date(2025, 4, 1), dt.date(2025, 9, 30)],
    2026: [dt.date(2025, 10, 1), dt.date(2026, 1, 20), dt.date(2026, 4, 1), dt.date(2026, 5, 8), dt.date(2026, 9, 30)],
}
NO_RELEASE_DAYS = [dt.date(2024, 6, 1), dt.date(2024, 9, 30), dt.date(2022, 1, 15)]
BAD_DATES = ["2025-02-30", "20250101", "2025-1-5", "01/05/2025", "0000-01-01", ""]
SCENARIOS = [("valid", 70), ("not yet valid", 6), ("deleted", 6), ("header", 6), ("unknown", 4), ("no release", 4),
             ("bad date", 4)]


def read_codes(path: Path) -> list[str]:
    """The codes of an official code file, without dots, in file order."""
    with path.open(encoding="latin-1") as f:
        return [line[:8].strip() for line in f if line.strip()]


def dotted(code: str) -> str:
    """M961 -> M96.1 (a category stays as it is)."""
    return code if len(code) <= 3 else f"{code[:3]}.{code[3:]}"


def _spell(rng: random.Random, code: str) -> str:
    r = rng.random()
    return dotted(code) if r < 0.6 else code if r < 0.8 else f" {dotted(code).lower()} "


def _pools() -> dict:
    codes = {fy: read_codes(p) for fy, p in CODE_FILES.items()}
    sets = {fy: set(c) for fy, c in codes.items()}
    billable = set().union(*sets.values())
    headers = sorted({c[:3] for c in billable} - billable)
    return {"codes": codes, "new": sorted(sets[2026] - sets[2024]), "gone": sorted(sets[2024] - sets[2026]),
            "headers": headers}


def _row(rng: random.Random, pools: dict, kind: str) -> tuple[str, str, str, str]:
    fy = rng.choice(list(DAYS))
    day = rng.choice(DAYS[fy]).isoformat()
    other = lambda: _spell(rng, rng.choice(pools["codes"][fy])) if rng.random() < 0.5 else ""
    if kind == "valid":
        return _spell(rng, rng.choice(pools["codes"][fy])), other(), "", day
    if kind == "not yet valid":
        return dotted(rng.choice(pools["new"])), "", "", rng.choice(DAYS[2024]).isoformat()
    if kind == "deleted":
        return dotted(rng.choice(pools["gone"])), other(), "", rng.choice(DAYS[2026]).isoformat()
    if kind == "header":
        return rng.choice(pools["headers"]), other(), _spell(rng, rng.choice(pools["codes"][fy])), day
    if kind == "unknown":
        return "".join(rng.choice("QWXYZ0123456789") for _ in range(rng.randint(3, 7))), other(), "", day
    if kind == "no release":
        return dotted(rng.choice(pools["codes"][2024])), "", "", rng.choice(NO_RELEASE_DAYS).isoformat()
    return _spell(rng, rng.choice(pools["codes"][fy])), other(), "", rng.choice(BAD_DATES)


def write_claims(path: Path, rows: int, seed: int = 19) -> Path:
    """Write a claims CSV (claim_id, dx1, dx2, dx3, service_date; a header row) of ``rows`` rows; returns it."""
    rng = random.Random(seed)
    pools = _pools()
    kinds = [k for k, w in SCENARIOS for _ in range(w)]
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["claim_id", "dx1", "dx2", "dx3", "service_date"])
        for i in range(rows):
            w.writerow([i + 1, *_row(rng, pools, rng.choice(kinds))])
    return path
