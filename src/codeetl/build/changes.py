"""What a build is made of, and what changed since the published one.

A build's **inputs** are every parse it loads (``dataset/release`` -> parse key, which hashes the parser and
every source file), the curated link files, the code that builds (every ``.sql``, ``.py``, ``.csv`` and
``.toml`` of the package except the commands and the Python pages, which do not shape the warehouse; the
page SQL does), the DuckDB
version, the ledger's path and what the catalog says of each loaded release beyond its files (label, effective
dates, the releases it uses: ``calendar``). Their hash is the **build key**, written into the build folder
(``BUILD_KEY``, with the inputs in ``BUILD_INPUTS.json``). A refresh whose build key equals the published
build's has nothing to do: it builds nothing and keeps the current build (:func:`unchanged`).

When something changed, :func:`summarize` says what: releases added and removed, sources and code that
changed, and for each added release the counts of ``sql/changes.sql``.
"""

from __future__ import annotations

import hashlib
import json
from functools import cache
from importlib import resources
from importlib.abc import Traversable
from pathlib import Path

import duckdb

from codeetl.build.named_sql import named_statements
from codeetl.sources.provenance import sha256_file

BUILD_KEY = "BUILD_KEY"
BUILD_INPUTS = "BUILD_INPUTS.json"
NOT_BUILD_CODE = ("cli", "pages", "check", "claims", "sql/claims", "web", "spark", "ops/schedules.toml", "ops/schedules.py", "ops/status.py",
                  "ops/serve.py")
"""Paths in the package (from its top: ``pages`` is ``codeetl/pages/``, not ``codeetl/sql/pages/``, whose macros
the build stores and the code-page export is made of) whose code does not shape a build (editing them does
not rebuild)."""


def build_code_files() -> list[tuple[str, Traversable]]:
    """The package's files that shape a build, as (path from the package's top, file), in a fixed order: every
    ``.py``, ``.sql``, ``.csv`` and ``.toml`` outside :data:`NOT_BUILD_CODE`."""
    out = []
    stack = [(resources.files("codeetl"), "")]
    while stack:
        folder, rel = stack.pop()
        for p in sorted(folder.iterdir(), key=lambda p: p.name):
            if p.name == "__pycache__" or f"{rel}{p.name}" in NOT_BUILD_CODE:
                continue
            if p.is_dir():
                stack.append((p, f"{rel}{p.name}/"))
            elif p.name.endswith((".py", ".sql", ".csv", ".toml")):
                out.append((f"{rel}{p.name}", p))
    return out


@cache
def code_fingerprint() -> str:
    """A hash of :func:`build_code_files` (names and contents); computed once per process."""
    h = hashlib.sha256()
    for name, p in build_code_files():
        h.update(f"\n{name}\n".encode() + p.read_bytes())
    return h.hexdigest()


def build_inputs(parse_dirs: list[Path], link_dirs: list[Path] | None, ledger: Path, catalog: dict | None = None) -> dict:
    """The inputs of a build (see the module's doc) as JSON-ready data. With the `catalog` the build loads from,
    ``calendar`` holds each loaded release's label, effective dates and ``uses`` (:func:`catalog_calendar`)."""
    parses = {}
    for d in parse_dirs:
        meta = json.loads((Path(d) / "meta.json").read_text(encoding="utf-8"))
        parses[f"{meta['dataset']}/{meta['release']}"] = meta["key"]
    links = {}
    for folder in link_dirs or []:
        for f in sorted(Path(folder).glob("*.csv")):
            links[f.name] = sha256_file(f)
    return {"parses": dict(sorted(parses.items())), "links": links, "code": code_fingerprint(),
            "duckdb": duckdb.__version__, "ledger": str(Path(ledger).resolve()),
            "calendar": catalog_calendar(catalog, list(parses)) if catalog is not None else {}}


def catalog_calendar(catalog: dict, keys: list[str]) -> dict:
    """What the catalog says of each release ``dataset/release`` in `keys` beyond its files: label, effective dates
    and the releases it ``uses``. A parse's key holds its files and dataset-specific attributes only, and the
    warehouse's ``releases`` table (and every page's day, what a day resolves to, a derived release's base) reads
    these: an external catalog (``--catalog``) that only moves a date must still rebuild what it changes."""
    out = {}
    for key in sorted(keys):
        ds, rid = key.split("/", 1)
        r = catalog[ds].release(rid)
        out[key] = [r.label, str(r.effective_from), str(r.effective_to) if r.effective_to else None, dict(sorted(r.uses.items()))]
    return out


def dated_parses(inputs: dict) -> dict[str, list]:
    """Each parse of the build's `inputs` with what the catalog says of its release: ``dataset/release`` -> [parse
    key, its ``calendar`` entry or None]. What a part of the build made from some releases is kept by (the code
    pages, the search index), as the releases' dates decide what the part holds as much as their files do."""
    calendar = inputs.get("calendar", {})
    return {k: [v, calendar.get(k)] for k, v in inputs["parses"].items()}


def build_key(inputs: dict) -> str:
    """The build key of `inputs`: a hex SHA-256 of their canonical JSON."""
    return hashlib.sha256(json.dumps(inputs, sort_keys=True).encode()).hexdigest()


def write_inputs(build_dir: Path, inputs: dict) -> None:
    """Record a build's inputs and key in its folder (before its COMPLETE marker)."""
    (build_dir / BUILD_INPUTS).write_text(json.dumps(inputs, indent=2, sort_keys=True), encoding="utf-8")
    (build_dir / BUILD_KEY).write_text(build_key(inputs) + "\n", encoding="utf-8")


def published_inputs(warehouse_root: Path) -> dict | None:
    """The inputs of the published build (``current/BUILD_INPUTS.json``), or None: no build yet, or one made
    before build keys existed."""
    path = Path(warehouse_root) / "current" / BUILD_INPUTS
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def unchanged(warehouse_root: Path, inputs: dict) -> bool:
    """True when the published build was made from exactly these inputs (so a new build would equal it)."""
    current = Path(warehouse_root) / "current"
    try:
        key = (current / BUILD_KEY).read_text(encoding="utf-8").strip()
    except OSError:
        return False
    return key == build_key(inputs) and (current / "COMPLETE").exists()


SUMMARY_MEMORY_LIMIT = "450MB"
"""DuckDB's memory limit for the change counts of :func:`summarize` (it spills beyond it)."""


def summarize(previous: dict | None, new: dict, database: str | Path) -> dict:
    """What the build of `new` inputs (its database at `database`) changes from the build of `previous`:
    ``releases_added``, ``releases_removed``, ``sources_changed`` (releases whose parse changed),
    ``code_changed``, ``links_changed`` and ``counts`` {dataset: [{release, from_release, counts {subject
    {change: n}}}]} for each added release (:func:`release_counts`)."""
    old = (previous or {}).get("parses", {})
    added = [k for k in new["parses"] if k not in old]
    # DuckDB's default limit is 80 % of the machine: uncapped, these counts (every MS-DRG diff of a cold build)
    # took the refresh's worker from 1.0 to 1.15 GB (this connection alone: 890 MB; capped: 510 MB, 2 s slower)
    con = duckdb.connect(str(database), read_only=True, config={"memory_limit": SUMMARY_MEMORY_LIMIT})
    try:
        counts = release_counts(con, added)
    finally:
        con.close()
    return {
        "releases_added": added,
        "releases_removed": [k for k in old if k not in new["parses"]],
        "sources_changed": [k for k, v in new["parses"].items() if k in old and old[k] != v],
        "code_changed": previous is not None and previous.get("code") != new["code"],
        "links_changed": previous is not None and previous.get("links") != new["links"],
        "counts": counts,
    }


def release_counts(con: duckdb.DuckDBPyConnection, added: list[str]) -> dict:
    """For each added release (``dataset/release``), what differs from the loaded release before it: returns
    {dataset: [{release, from_release, counted, counts: {subject: {change: n}}}]} (a release with none before it
    has from_release None; one identical to the one before it, empty counts; counted is false for a dataset
    the counts do not cover, e.g. IPPS)."""
    out: dict[str, dict[str, dict]] = {}
    for key in added:
        ds, rid = key.split("/", 1)
        out.setdefault(ds, {})[rid] = {"release": rid, "from_release": None, "counted": False, "counts": {}}
    for ds, rid, frm, counted in con.execute(named_statements("changes.sql")["previous"], {"added": added}).fetchall():
        out[ds][rid].update(from_release=frm, counted=counted)
    statements = named_statements("changes.sql")
    counts = [row for ds in sorted({k.split("/", 1)[0] for k in added}) if f"counts_{ds}" in statements
              for row in con.execute(statements[f"counts_{ds}"], {"added": added}).fetchall()]
    for ds, rid, frm, subject, change, n in counts:
        entry = out.setdefault(ds, {}).setdefault(rid, {"release": rid, "from_release": None, "counted": True, "counts": {}})
        entry["from_release"] = frm
        entry["counts"].setdefault(subject, {})[change] = n
    return {ds: list(rels.values()) for ds, rels in sorted(out.items())}


def describe(summary: dict) -> list[str]:
    """Lines saying what a refresh changed, for people (the terminal and the Prefect artifact)."""
    if not summary.get("changed", True):
        return ["nothing changed: no source, parser or build code changed since the published build; nothing was built"]
    lines = []
    ch = summary.get("changes") or {}
    if ch.get("releases_added"):
        lines.append("releases added: " + ", ".join(ch["releases_added"]))
    if ch.get("releases_removed"):
        lines.append("releases no longer loaded: " + ", ".join(ch["releases_removed"]))
    if ch.get("sources_changed"):
        lines.append("sources changed: " + ", ".join(ch["sources_changed"]))
    if ch.get("code_changed"):
        lines.append("codeetl's build code changed (the warehouse was rebuilt with it)")
    if ch.get("links_changed"):
        lines.append("curated link files changed")
    for ds, releases in (ch.get("counts") or {}).items():
        for r in releases:
            if not r["from_release"]:
                lines.append(f"{ds} {r['release']}: the first {ds} release loaded (nothing before it to compare with)")
                continue
            if not r.get("counted", True):
                lines.append(f"{ds} {r['release']}: added after {r['from_release']} (what changed is not counted for {ds})")
                continue
            if not r["counts"]:
                lines.append(f"{ds} {r['from_release']} -> {r['release']}: no changes")
                continue
            parts = "; ".join(f"{subject} " + ", ".join(f"{n:,} {change.replace('_', ' ')}" for change, n in changes.items())
                              for subject, changes in r["counts"].items())
            lines.append(f"{ds} {r['from_release']} -> {r['release']}: {parts}")
    return lines or ["a new build was published (first build of this data folder)"]
