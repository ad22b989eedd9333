"""Independent reads of the official files in ../shared/cms and of the seed page: plain Python (slicing, csv,
decimal), never codeetl's parsers, so a test can compare codeetl's output with what the file says. One reader
per file kind, used by every test that needs it."""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache
from pathlib import Path

from _shared import CMS, SEED

# ------------------------------------------------------------------------------------------ ICD-10-CM


def code_file_path(release: str) -> Path:
    """The CDC valid-code file of an ICD-10-CM release folder (icd10cm/<release>/icd10cm-codes-*.txt)."""
    return next((CMS / "icd10cm" / release).glob("icd10cm-codes-*.txt"))


@lru_cache(maxsize=None)
def code_file(release: str | Path) -> dict[str, str]:
    """The valid (billable) codes of an ICD-10-CM code file (a release id of the mirror, or a path): code without
    its dot (columns 1-7, the record padded to 8) -> long description. The files are ASCII (a byte above 127
    fails here, loudly)."""
    path = release if isinstance(release, Path) else code_file_path(str(release))
    lines = path.read_text(encoding="ascii").splitlines()
    return {line[:8].strip(): line[8:].strip() for line in lines if line.strip()}


def dotted(nodot: str) -> str:
    """M961 -> M96.1 (the code files print no dot; a category of three characters has none)."""
    return nodot if len(nodot) <= 3 else f"{nodot[:3]}.{nodot[3:]}"


# --------------------------------------------------------------------------------- Medicare PFS (RVU)

PAYABLE = {"A", "R", "T"}  # RVU PDF: "Only RVUs associated with status codes of A, R, or T are used for Medicare payment"


def cents(x: Decimal) -> Decimal:
    """Rounded to cents, half up (CMS's rule: see test_pfs_payment, checked against OPPSCAP amounts)."""
    return x.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


@lru_cache(maxsize=None)
def rvu_records(path: Path) -> dict[tuple[str, str], dict]:
    """The records of a fixed-width RVU file by (hcpcs, modifier), sliced at the positions of the RVU PDF."""
    out = {}
    for line in path.read_bytes().decode("cp1252").splitlines():
        if not line.strip() or line.startswith("HDR"):
            continue
        out[(line[0:5], line[5:7].strip())] = {
            "status": line[57],
            "work": Decimal(line[59:65]),
            "pe": {"nonfacility": Decimal(line[66:72]), "facility": Decimal(line[75:81])},
            "na": {"nonfacility": line[72:74] == "NA", "facility": line[81:83] == "NA"},
            "mp": Decimal(line[84:89]),
            "total": {"nonfacility": Decimal(line[90:96]), "facility": Decimal(line[96:102])},
            "cf": Decimal(line[132:140]),
            "opps_pe": {"nonfacility": Decimal(line[151:157]), "facility": Decimal(line[158:164])},
            "opps_mp": Decimal(line[165:171]),
        }
    return out


def gpcis(path: Path, work_col: int) -> dict[str, tuple[Decimal, Decimal, Decimal]]:
    """The GPCIs of a GPCI CSV file by locality ('<MAC>-<locality number>'): (work, PE, MP), read from the column
    `work_col` on (the work GPCI "with 1.0 floor": column 5 in GPCI2026.csv, 4 in GPCI2025.csv)."""
    import csv

    with path.open(encoding="cp1252", newline="") as fh:
        return {f"{r[0]}-{r[2]}": (Decimal(r[work_col]), Decimal(r[work_col + 1]), Decimal(r[work_col + 2]))
                for r in csv.reader(fh) if r and r[0].strip().isdigit()}


def amount(rec: dict, setting: str, gpci: tuple[Decimal, Decimal, Decimal] | None = None) -> Decimal | None:
    """The Medicare amount of an RVU record in `setting` ('nonfacility' or 'facility'): None unless the status
    is payable (A, R, T), the setting is not NA and its total RVUs are not 0; nationally total RVUs x the
    conversion factor, in a locality (work, PE, MP) x its GPCIs x the conversion factor; cents, half up."""
    if rec["status"] not in PAYABLE or rec["na"][setting] or rec["total"][setting] == 0:
        return None
    if gpci is None:
        return cents(rec["total"][setting] * rec["cf"])
    w, p, m = gpci
    return cents((rec["work"] * w + rec["pe"][setting] * p + rec["mp"] * m) * rec["cf"])


def national_amounts(path: Path) -> dict[str, dict]:
    """{hcpcs: {'nonfacility', 'facility', 'status'}} of the global-service records (no modifier) of an RVU file."""
    return {h: {"nonfacility": amount(rec, "nonfacility"), "facility": amount(rec, "facility"), "status": rec["status"]}
            for (h, mod), rec in rvu_records(path).items() if not mod}


# ------------------------------------------------------------------------------------------ seed page
# A third-party editorial page (../shared/seed), not CMS: what it states is checked against the official
# files elsewhere (test_check, test_pfs_payment), never taken as official.


def seed_fees() -> dict[str, Decimal]:
    """The '63030 $898.15' lines of the seed page -> {'63030': Decimal('898.15')}."""
    found = re.findall(r"^(\d{5}) \$([\d,]+\.\d\d)$", SEED.read_text(encoding="utf-8"), re.M)
    return {c: Decimal(a.replace(",", "")) for c, a in found}


def seed_procedures() -> list[str]:
    """The CPT codes the seed page lists under 'Related CPT procedures', in page order (with a fee, or 'View')."""
    text = SEED.read_text(encoding="utf-8")
    block = text.split("Related CPT procedures", 1)[1].split("Common coding pitfalls", 1)[0]
    return re.findall(r"^(\d{5}) (?:\$|View)", block, flags=re.M)
