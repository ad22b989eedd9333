"""The GPCI file (role ``gpci``, Addendum E) and the locality/county crosswalk (role ``locco``).

``GPCI<year>.csv``: a title row, a blank row, the header row (``Medicare Administrative Contractor (MAC)``,
``State``, ``Locality Number``, ``Locality Name``, then the GPCIs: ``2025 PW GPCI (with 1.0 Floor)``,
``2025 PE GPCI``, ``2025 MP GPCI``; CY2026 adds ``2026 PW GPCI (without 1.0 Floor)`` before the floored one),
one row per locality, then footnotes (``*Work GPCI reflects a 1.5 floor in Alaska...``) and notes. The MAC is
5 digits and the locality 2 (kept as text with leading zeros). Trailing asterisks of a locality name are
footnote markers: removed from the name, the footnote goes to ``note``.

``<yy>LOCCO.csv``: title row, blank row, header ``Medicare Adminstrative Contractor, Locality Number, State,
Fee Schedule Area, Counties`` [sic], then data rows separated by blank rows. The CSV lost the leading zeros
(``2102`` for MAC 02102, ``0`` for locality 00): they are restored. The state is printed once per state
(continuation rows leave it blank) and carried down. An exact duplicate row (2025: Missouri "REST OF
STATE*" is printed twice) is dropped; two different rows for one MAC + locality are an error.

GPCIs are exact decimals of scale 3.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Callable

import polars as pl

from codeetl.datasets.pfs.rvu import normalise_header
from codeetl.errors import SourceFormatError
from codeetl.sources.textio import csv_records, raise_first

_MAC_RE = re.compile(r"^[0-9]{4,5}$")
_LOC_RE = re.compile(r"^[0-9]{1,2}$")
_GPCI_RE = r"^[0-9](\.[0-9]{1,3})?$"
GPCIS = ("work_gpci", "work_gpci_without_floor", "pe_gpci", "mp_gpci")

Rule = tuple[str, Callable[[str], bool]]
_GPCI_RULES: list[Rule] = [
    ("mac", lambda n: "CONTRACTOR" in n or n == "MAC"),
    ("state", lambda n: n == "STATE"),
    ("locality", lambda n: n in ("LOCALITY NUMBER", "LOCALITY")),
    ("locality_name", lambda n: n == "LOCALITY NAME"),
    ("work_gpci_without_floor", lambda n: ("PW GPCI" in n or "WORK GPCI" in n) and "WITHOUT" in n),
    ("work_gpci", lambda n: "PW GPCI" in n or "WORK GPCI" in n),
    ("pe_gpci", lambda n: "PE GPCI" in n),
    ("mp_gpci", lambda n: "MP GPCI" in n),
]
_LOCCO_RULES: list[Rule] = [
    ("mac", lambda n: "CONTRACTOR" in n or n == "MAC"),
    ("locality", lambda n: n.startswith("LOCALITY")),
    ("state", lambda n: n == "STATE"),
    ("fee_schedule_area", lambda n: n == "FEE SCHEDULE AREA"),
    ("counties", lambda n: n == "COUNTIES"),
]


def _footnotes(rows: list[tuple[int, list[str]]]) -> dict[str, str]:
    """Footnote marker ('*', '**') -> its text, from rows whose first cell starts with asterisks."""
    notes = {}
    for _, cells in rows:
        m = re.match(r"^(\*+)\s*(.+)$", cells[0].strip()) if cells else None
        if m:
            notes[m.group(1)] = m.group(2).strip()
    return notes


def _split_marker(name: str) -> tuple[str, str]:
    m = re.match(r"^(.*?)\s*(\*+)$", name.strip())
    return (m.group(1), m.group(2)) if m else (name.strip(), "")


def _table(path: str | Path, must: tuple[str, ...], what: str, rules: list[Rule], need: list[str]):
    """Find the header row and map columns by ``rules`` (first matching rule wins). Returns (column index
    by name, data rows after the header that are not blank or footer rows, footnotes by marker)."""
    rows = csv_records(path)
    hdr = next((i for i, (_, cells) in enumerate(rows)
                if all(any(m in normalise_header(c) for c in cells) for m in must)), None)
    if hdr is None:
        raise SourceFormatError(path, None, f"a header row of the {what} (cells containing {', '.join(must)})")
    col: dict[str, int] = {}
    for i, n in enumerate(normalise_header(c) for c in rows[hdr][1]):
        name = next((k for k, rule in rules if rule(n)), None)
        if name:
            col[name] = i
    missing = [c for c in need if c not in col]
    if missing:
        raise SourceFormatError(path, rows[hdr][0], f"{what} columns " + ", ".join(missing), " | ".join(rows[hdr][1]))
    width = len(rows[hdr][1])
    body = [(ln, cells + [""] * (width - len(cells))) for ln, cells in rows[hdr + 1:]]
    data = [(ln, cells) for ln, cells in body if any(c.strip() for c in cells[1:])]  # blank and footer rows out
    for ln, cells in data:
        if not (_MAC_RE.match(cells[col["mac"]].strip()) and _LOC_RE.match(cells[col["locality"]].strip())):
            raise SourceFormatError(path, ln, f"a locality row of the {what}: MAC number, locality number, ...", ",".join(cells))
    return col, data, _footnotes(body)


def parse_gpci_csv(path: str | Path, release: str) -> pl.DataFrame:
    """Addendum E (GPCIs by MAC and locality) as ``pfs_gpci`` rows."""
    need = ["mac", "state", "locality", "locality_name", "work_gpci", "pe_gpci", "mp_gpci"]
    col, data, notes = _table(path, ("LOCALITY NAME", "PE GPCI", "MP GPCI"), "GPCI file", _GPCI_RULES, need)
    recs = []
    for ln, cells in data:
        name, marker = _split_marker(cells[col["locality_name"]])
        recs.append({"mac": cells[col["mac"]].strip().zfill(5), "locality": cells[col["locality"]].strip().zfill(2),
                     "locality_name": name, "state": cells[col["state"]].strip(),
                     **{g: cells[col[g]].strip() if g in col else None for g in GPCIS},
                     "note": notes.get(marker) if marker else None, "line_no": ln})
    schema = {k: pl.String for k in ("mac", "locality", "locality_name", "state", *GPCIS, "note")} | {"line_no": pl.Int64}
    frame = pl.DataFrame(recs, schema=schema)
    if frame.height == 0:
        raise SourceFormatError(path, None, "at least one locality row after the header", "none")
    raise_first(frame, path, "a 2-letter state", ~pl.col("state").str.contains(r"^[A-Z]{2}$"), shown="state")
    for g in GPCIS:
        if g in col:
            raise_first(frame, path, f"{g.replace('_', ' ')}: a GPCI (9.999)", ~pl.col(g).str.contains(_GPCI_RE), shown=g)
    raise_first(frame, path, "one row per MAC + locality", pl.struct("mac", "locality").is_duplicated(), shown="locality_name")
    return frame.select(
        pl.lit(release, pl.String).alias("release"), "mac", "locality", "locality_name", "state",
        *(pl.col(g).str.to_decimal(scale=3).cast(pl.Decimal(38, 3)) for g in GPCIS),
        "note", pl.col("line_no").cast(pl.Int32),
    )


def parse_locco_csv(path: str | Path, release: str) -> pl.DataFrame:
    """The locality/county crosswalk (``<yy>LOCCO.csv``) as ``pfs_locality`` rows."""
    need = ["mac", "locality", "state", "fee_schedule_area", "counties"]
    col, data, notes = _table(path, ("LOCALITY NUMBER", "FEE SCHEDULE AREA", "COUNTIES"), "locality/county file",
                              _LOCCO_RULES, need)
    recs: dict[tuple[str, str], dict] = {}
    state = None
    for ln, cells in data:
        state = cells[col["state"]].strip() or state
        if state is None:
            raise SourceFormatError(path, ln, "a state on the first locality row", ",".join(cells))
        area, marker = _split_marker(re.sub(r"\s+", " ", cells[col["fee_schedule_area"]]))
        rec = {"mac": cells[col["mac"]].strip().zfill(5), "locality": cells[col["locality"]].strip().zfill(2),
               "state": state, "fee_schedule_area": area, "counties": re.sub(r"\s+", " ", cells[col["counties"]]).strip(),
               "note": notes.get(marker) if marker else None, "line_no": ln}
        seen = recs.get((rec["mac"], rec["locality"]))
        if seen is not None and {**seen, "line_no": ln} != rec:
            raise SourceFormatError(path, ln, f"one row per MAC + locality (MAC {rec['mac']} locality {rec['locality']} "
                                              f"is on line {seen['line_no']})", ",".join(cells))
        recs.setdefault((rec["mac"], rec["locality"]), rec)  # the same row printed twice (2025-D: Missouri) is kept once
    schema = {k: pl.String for k in ("mac", "locality", "state", "fee_schedule_area", "counties", "note")} | {"line_no": pl.Int32}
    frame = pl.DataFrame(list(recs.values()), schema=schema)
    return frame.select(pl.lit(release, pl.String).alias("release"), *schema)
