"""Where the real CMS/CDC files are: ../shared/cms beside the repository (never copied into it)."""

from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
CMS = SHARED / "cms"
SEED = SHARED / "seed" / "icd10cm-M96.1-code-page.txt"
TABULAR_2026_04 = CMS / "icd10cm" / "2026-04" / "icd10cm-tabular-April-1-2026.xml"
CODES_2024 = CMS / "icd10cm" / "2024" / "icd10cm-codes-2024.txt"
