"""Loading the curated link files into a warehouse being built (the one step of dataset ``links``)."""

from __future__ import annotations

from pathlib import Path

import duckdb
import polars as pl

from codeetl.datasets import links
from codeetl.sources.provenance import sha256_file
from codeetl.build.warehouse_sql import insert_frame

REPO_LINKS = Path(__file__).resolve().parents[3] / "data" / "links"
"""The shipped link sets: ``data/links`` of the repository."""


def default_link_dirs(root: str | Path) -> list[Path]:
    """Curated link folders: ``<data dir>/links`` and the repository's ``data/links`` (the shipped sets)."""
    out: list[Path] = []
    for d in (Path(root) / "links", REPO_LINKS):
        if d.is_dir() and all(d.resolve() != o.resolve() for o in out):
            out.append(d)
    return out


def load_curated_links(con: duckdb.DuckDBPyConnection, folders: list[Path]) -> list[str]:
    """Load the curated link CSVs into ``curated_link``; rows with unknown codes go to ``link_problems``.

    Codes are validated against this build: billable ICD-10-CM codes of any loaded release, and the CPT/HCPCS
    codes of any loaded PFS release. A file in an earlier folder shadows a same-named one in a later folder.
    Returns the problems as readable lines (file:line: code: why).
    """
    files: list[Path] = []
    for d in folders:
        files += [p for p in sorted(Path(d).glob("*.csv")) if p.name not in {f.name for f in files}]
    frames = [f for f in (links.read_links_csv(p) for p in files) if f.height]
    if not frames:
        return []
    frame = pl.concat(frames)
    known_dx = {r[0] for r in con.execute("SELECT DISTINCT code FROM icd10cm_codes WHERE is_billable").fetchall()}
    known_hcpcs = {r[0] for r in con.execute("SELECT DISTINCT hcpcs FROM pfs_rvu").fetchall()}
    valid, problems = links.validate_links(frame, known_dx, known_hcpcs)
    if valid.height:
        insert_frame(con, "curated_link", links.to_curated_link(valid))
    for p in problems:
        con.execute("INSERT INTO link_problems VALUES (?, ?, ?, ?)", [p.file, p.line, p.code, p.why])
    for path in files:
        loaded = valid.filter(pl.col("file") == path.name).height
        rejected = frame.filter(pl.col("file") == path.name).height - loaded
        con.execute("INSERT INTO link_files VALUES (?, ?, ?, ?, ?, ?)",
                    [path.name, str(path.resolve()), path.stat().st_size, sha256_file(path), loaded, rejected])
    return [f"{p.file}:{p.line}: {p.code}: {p.why}" for p in problems]
