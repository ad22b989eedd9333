"""The refresh pipeline as plain functions: fetch → parse (cached by input hash) → build → publish.

The Prefect flow in ``codeetl/flows/refresh.py`` calls exactly these functions; so do the tests, without
Prefect. Steps hand each other paths and hashes, never DataFrames.

On-disk layout (``root`` is the project's ``data/`` folder by default)::

    raw/<dataset>/<release>/                 downloads, extracted members, manifest.json
    raw/<dataset>/<release>/parsed/<key>/    one parquet file per table + meta.json (key = hash of the
                                             parser version and every input's sha256)
    raw/<dataset>/<release>/parsed/CURRENT   the key of the release's latest parse
    warehouse/builds/<build-id>/             a complete warehouse: codeetl.duckdb + parquet/<table>/
    warehouse/current -> builds/<build-id>   the published build (a symlink, swapped atomically)
    warehouse/codeetl.duckdb -> current/codeetl.duckdb
    warehouse/parquet -> current/parquet

A build always starts from an empty database and loads the latest parse of every catalog release that
has one, so a refresh of one dataset keeps the others. A build that fails any step or check is deleted
and ``current`` keeps pointing at the previous good build.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import hashlib
import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from codeetl import datasets
from codeetl.catalog import Dataset, Release
from codeetl.errors import WarehouseError
from codeetl.fetch import FetchedRelease, Transport, fetch_release
from codeetl.provenance import fingerprint, utc_now
from codeetl.warehouse_sql import insert_parquet, schema_scripts

DB_NAME = "codeetl.duckdb"
COMPLETE = "COMPLETE"  # written last into a build folder: only complete builds are published or kept


def default_root() -> Path:
    """``$CODEETL_DATA`` if set, else ``./data``."""
    return Path(os.environ.get("CODEETL_DATA", "data"))


# ----------------------------------------------------------------------------------------------- parse


@dataclass
class ParsedRelease:
    dataset: str
    release: str
    directory: str
    key: str
    reused: bool
    tables: dict[str, int]  # table -> rows


def parse_key(release: Release, members: list[tuple[str, str]]) -> str:
    """Cache key of a parse: the dataset's parser fingerprint (its code, DDL and reference data, see
    :meth:`codeetl.datasets.DatasetFolder.fingerprint`) and ``PARSER_VERSION``, the release's catalog
    attributes, and every input's (role, sha256)."""
    folder = datasets.dataset(release.dataset)
    attrs = json.dumps({"uses": release.uses, **release.attrs}, sort_keys=True, default=str)
    h = hashlib.sha256(f"{folder.fingerprint()}:{folder.module().PARSER_VERSION}:{attrs}:{fingerprint(members)}".encode())
    return h.hexdigest()[:20]


def _parse_frames(release: Release, fetched: FetchedRelease) -> dict:
    """Run the dataset's parser; every table it returns must be one its ``tables.sql`` creates."""
    folder = datasets.dataset(release.dataset)
    frames = folder.module().parse_release(release, fetched.inputs)
    foreign = sorted(set(frames) - set(folder.tables()))
    if foreign:
        raise WarehouseError(f"the {release.dataset} parser returned table(s) {', '.join(foreign)} that its "
                             f"datasets/{release.dataset}/tables.sql does not create")
    return frames


def parse_release_cached(release: Release, fetched: FetchedRelease, raw_root: str | Path) -> ParsedRelease:
    """Parse one fetched release into parquet files, unless the same inputs were parsed before.

    The cache key is the parser version plus every input file's sha256, so an unchanged source is
    not parsed again and a changed one always is.
    """
    parsed_root = Path(raw_root) / release.dataset / release.release / "parsed"
    key = parse_key(release, [(m.role, m.sha256) for m in fetched.members])
    out = parsed_root / key
    meta_path = out / "meta.json"
    if meta_path.exists():
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        _write_current(parsed_root, key)
        return ParsedRelease(release.dataset, release.release, str(out), key, True, meta["tables"])
    frames = _parse_frames(release, fetched)
    tmp = parsed_root / f".{key}.part"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    tables = {}
    for name, frame in frames.items():
        frame.write_parquet(tmp / f"{name}.parquet")
        tables[name] = frame.height
    meta = {
        "dataset": release.dataset,
        "release": release.release,
        "key": key,
        "parsed_at": utc_now(),
        "tables": tables,
        "downloads": [
            {"url": d.url, "source": d.source, "sha256": d.sha256, "bytes": d.bytes, "fetched_at": d.fetched_at,
             "members": [{"role": m.role, "name": m.name, "bytes": m.bytes, "sha256": m.sha256} for m in d.members]}
            for d in fetched.downloads
        ],
    }
    (tmp / "meta.json").write_text(json.dumps(meta, indent=2), encoding="utf-8")
    shutil.rmtree(out, ignore_errors=True)
    os.replace(tmp, out)
    _write_current(parsed_root, key)
    return ParsedRelease(release.dataset, release.release, str(out), key, False, tables)


def _write_current(parsed_root: Path, key: str) -> None:
    """Point CURRENT at a parse, and delete the release's other (older) parses and leftovers."""
    tmp = parsed_root / "CURRENT.part"
    tmp.write_text(key, encoding="utf-8")
    os.replace(tmp, parsed_root / "CURRENT")
    for other in parsed_root.iterdir():
        if other.is_dir() and other.name != key:
            shutil.rmtree(other, ignore_errors=True)


def latest_parses(raw_root: str | Path, catalog: dict[str, Dataset]) -> list[Path]:
    """The latest parse directory of every catalog release that has one.

    A parse made by an older parser (its key no longer matches the current code) is redone from the
    raw files on disk, which the release's manifest lists with their sha256; when those are gone too,
    the error names the dataset to refresh and the folder to delete.
    """
    found, stale = [], []
    for ds in catalog.values():
        for r in ds.releases:
            cur = Path(raw_root) / ds.dataset / r.release / "parsed" / "CURRENT"
            if not cur.exists():
                continue
            d = cur.parent / cur.read_text(encoding="utf-8").strip()
            meta_path = d / "meta.json"
            if not meta_path.exists():
                continue
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
            members = [(m["role"], m["sha256"]) for dl in meta["downloads"] for m in dl["members"]]
            if meta.get("key") == parse_key(r, members):
                found.append(d)
                continue
            fetched = _fetched_from_manifest(Path(raw_root), r, members)
            if fetched is None:
                stale.append(f"{ds.dataset}/{r.release}")
                continue
            found.append(Path(parse_release_cached(r, fetched, raw_root).directory))
    if stale:
        names = sorted({s.split("/")[0] for s in stale})
        raise WarehouseError(
            f"the saved parses of {', '.join(stale)} were made by an older version of codeetl and their raw files "
            "are gone; refresh them with " + " ".join(f"--dataset {n}" for n in names)
            + ", or delete " + ", ".join(f"{raw_root}/{s}/parsed" for s in stale) + " to build without them")
    return found


def _fetched_from_manifest(raw_root: Path, release: Release, members: list[tuple[str, str]]) -> FetchedRelease | None:
    """The release's downloads as its manifest records them, if every input is still on disk unchanged."""
    from codeetl.fetch import Download, LocalMember, read_manifest, sha256_file

    downloads = []
    for d in read_manifest(raw_root / release.dataset / release.release).values():
        dl = Download(**{k: v for k, v in d.items() if k != "members"})
        dl.members = [LocalMember(**m) for m in d["members"]]
        downloads.append(dl)
    fetched = FetchedRelease(release.dataset, release.release, downloads, [])
    on_disk = sorted((m.role, m.sha256) for m in fetched.members
                     if Path(m.path).is_file() and sha256_file(m.path) == m.sha256)
    return fetched if downloads and on_disk == sorted(members) else None


# ----------------------------------------------------------------------------------------------- build


@dataclass
class BuildResult:
    build_id: str
    directory: str
    database: str
    tables: dict[str, int]
    link_problems: list[str] = field(default_factory=list)


def build_warehouse(parse_dirs: list[str | Path], catalog: dict[str, Dataset], warehouse_root: str | Path,
                    link_dirs: list[Path] | None = None) -> BuildResult:
    """Build a complete new warehouse from parse directories, in ``warehouse/builds/<id>``.

    Nothing outside that folder is touched; call :func:`publish` to make it current. On any error the
    half-built folder is removed and the error re-raised.
    """
    wroot = Path(warehouse_root)
    build_id = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
    bdir = wroot / "builds" / build_id
    bdir.mkdir(parents=True)
    db = bdir / DB_NAME
    try:
        con = duckdb.connect(str(db))
        con.execute("SET enable_progress_bar = false")
        try:
            _load(con, [Path(p) for p in parse_dirs], catalog)
            for _, text in schema_scripts("derive"):  # cross-release derivations, before anything reads the tables
                con.execute(text)
            from codeetl.datasets.links.build import load_curated_links  # polars: only when building

            problems = load_curated_links(con, link_dirs or [])
            for _, text in schema_scripts("views"):
                con.execute(text)
            run_checks(con)
            counts = table_counts(con)
            export_all(con, bdir / "parquet")
            con.execute("CHECKPOINT")
        finally:
            con.close()
        (bdir / COMPLETE).write_text(utc_now(), encoding="utf-8")
    except duckdb.Error as e:
        shutil.rmtree(bdir, ignore_errors=True)
        raise WarehouseError(f"building the new warehouse failed (the previous one is kept): {e}") from None
    except BaseException:
        shutil.rmtree(bdir, ignore_errors=True)
        raise
    return BuildResult(build_id, str(bdir), str(db), counts, problems)


def _load(con: duckdb.DuckDBPyConnection, parse_dirs: list[Path], catalog: dict[str, Dataset]) -> None:
    # The whole schema exists in every build (empty tables for datasets not loaded), so views never break.
    for _, text in schema_scripts("tables"):
        con.execute(text)
    loaded_at = dt.datetime.now(dt.timezone.utc)
    for d in parse_dirs:
        meta = json.loads((d / "meta.json").read_text(encoding="utf-8"))
        rel = catalog[meta["dataset"]].release(meta["release"])
        for table in meta["tables"]:
            insert_parquet(con, table, d / f"{table}.parquet")
        for dl in meta["downloads"]:
            con.execute(
                "INSERT INTO releases VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [rel.dataset, rel.release, rel.label, rel.effective_from, rel.effective_to, dl["url"], dl["source"],
                 dl["sha256"], dl["fetched_at"], loaded_at],
            )
            for m in dl["members"]:
                con.execute("INSERT INTO source_files VALUES (?, ?, ?, ?, ?, ?, ?)",
                            [rel.dataset, rel.release, m["role"], m["name"], m["bytes"], m["sha256"], dl["url"]])
        for other, rid in rel.uses.items():
            con.execute("INSERT INTO release_uses VALUES (?, ?, ?, ?)", [rel.dataset, rel.release, other, rid])


def run_checks(con: duckdb.DuckDBPyConnection) -> None:
    """Checks a build must pass before it can be published (each names what failed)."""
    problems = []
    for table, keys in CHECK_UNIQUE.items():
        exists = con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = ?", [table]).fetchone()[0]
        if not exists:
            continue
        cols = ", ".join(keys)
        dup = con.execute(f"SELECT {cols}, count(*) FROM {table} GROUP BY ALL HAVING count(*) > 1 LIMIT 1").fetchone()
        if dup:
            problems.append(f"{table}: duplicate key ({cols}) = {dup[:-1]}")
    orphans = con.execute(
        "SELECT c.release, c.code, c.parent FROM icd10cm_codes c LEFT JOIN icd10cm_codes p "
        "ON p.release = c.release AND p.code = c.parent WHERE c.parent IS NOT NULL AND p.code IS NULL LIMIT 1"
    ).fetchone()
    if orphans:
        problems.append(f"icd10cm_codes: {orphans[1]} (release {orphans[0]}) has parent {orphans[2]}, which is not a code")
    undocumented = con.execute(
        "SELECT table_name || '.' || column_name FROM duckdb_columns() WHERE NOT internal AND schema_name = 'main' "
        "AND (comment IS NULL OR comment = '') LIMIT 5"
    ).fetchall()
    if undocumented:
        problems.append("columns without COMMENT: " + ", ".join(r[0] for r in undocumented))
    if problems:
        raise WarehouseError("the new warehouse failed its checks (the previous one is kept):\n  " + "\n  ".join(problems))


CHECK_UNIQUE = {
    "icd10cm_codes": ("release", "code"),
    "icd10cm_chapters": ("release", "chapter"),
    "icd10cm_sections": ("release", "section"),
}


def table_counts(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    names = [r[0] for r in con.execute("SELECT table_name FROM duckdb_tables() WHERE schema_name = 'main' ORDER BY 1").fetchall()]
    return {n: con.execute(f'SELECT count(*) FROM "{n}"').fetchone()[0] for n in names}


def export_all(con: duckdb.DuckDBPyConnection, out: Path) -> None:
    """Every table and view as ``parquet/<name>/<name>.parquet`` (DuckDB's own parquet writer, zstd)."""
    names = [r[0] for r in con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'main' "
        "UNION ALL SELECT view_name FROM duckdb_views() WHERE NOT internal AND schema_name = 'main' ORDER BY 1"
    ).fetchall()]
    for n in names:
        (out / n).mkdir(parents=True, exist_ok=True)
        target = str(out / n / f"{n}.parquet").replace("'", "''")
        con.execute(f"COPY (SELECT * FROM \"{n}\") TO '{target}' (FORMAT parquet, COMPRESSION zstd)")


# --------------------------------------------------------------------------------------------- publish


def publish(build: BuildResult, warehouse_root: str | Path) -> Path:
    """Make a build current with one atomic rename of the ``current`` symlink; prune old builds.

    Only a complete build (one that wrote its COMPLETE marker) can be published, and never one older
    than the build already current (two refreshes finishing out of order).
    """
    wroot = Path(warehouse_root)
    current = wroot / "current"
    previous = os.readlink(current).split("/")[-1] if current.is_symlink() else None
    if previous and previous > build.build_id:
        raise WarehouseError(f"build {build.build_id} is older than the current build {previous}; not publishing it")
    if not (wroot / "builds" / build.build_id / COMPLETE).exists():
        raise WarehouseError(f"build {build.build_id} is not complete; not publishing it")
    tmp = wroot / f".current.{build.build_id}"
    tmp.unlink(missing_ok=True)
    tmp.symlink_to(Path("builds") / build.build_id, target_is_directory=True)
    os.replace(tmp, current)
    for name in (DB_NAME, "parquet"):
        link = wroot / name
        if not link.is_symlink():
            if link.exists():
                raise WarehouseError(f"{link} exists and is not a link into current/: move it away")
            link.symlink_to(Path("current") / name)
    _prune(wroot, keep={build.build_id, previous})
    return wroot / DB_NAME


def _prune(wroot: Path, keep: set[str | None]) -> None:
    """Keep the published build and the one before it (the fallback); delete older complete builds and
    incomplete leftovers of killed builds (never a build still being written: those are newer)."""
    newest = max(k for k in keep if k)
    for b in (wroot / "builds").iterdir():
        if b.name in keep or not b.is_dir():
            continue
        if b.name < newest:
            shutil.rmtree(b, ignore_errors=True)


@contextlib.contextmanager
def refresh_lock(root: str | Path):
    """One refresh at a time per data folder (an exclusive lock on ``<root>/.refresh.lock``)."""
    Path(root).mkdir(parents=True, exist_ok=True)
    with open(Path(root) / ".refresh.lock", "w") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise WarehouseError(f"another refresh is running on {root} (lock {root}/.refresh.lock)") from None
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def current_database(root: str | Path | None = None) -> Path:
    """The published warehouse file; WarehouseError when there is none yet."""
    root = Path(root) if root is not None else default_root()
    db = root / "warehouse" / DB_NAME
    if not db.exists():
        raise WarehouseError(f"no warehouse at {db}: run `codeetl refresh` first (offline: `codeetl refresh --mirror ../shared/cms`)")
    return db


# ----------------------------------------------------------------------------------- the whole refresh


def select_releases(catalog: dict[str, Dataset], dataset_names: list[str] | None = None,
                    release_ids: list[str] | None = None) -> list[Release]:
    """The catalog releases to refresh; unknown dataset or release names are an error listing the known ones."""
    from codeetl.errors import CatalogError

    known = list(catalog)
    for name in dataset_names or []:
        if name not in known:
            raise CatalogError(f"unknown dataset {name!r}; known: {', '.join(sorted(known))}")
    out = [r for ds in catalog.values() if ds.dataset in known and (not dataset_names or ds.dataset in dataset_names)
           for r in ds.releases]
    for rid in release_ids or []:
        if rid not in {r.release for r in out}:
            raise CatalogError(f"unknown release {rid!r}; known: {', '.join(sorted({r.release for r in out}))}")
    return [r for r in out if not release_ids or r.release in release_ids]


def fetch_step(release: Release, root: Path, mirror: str | None, transport: Transport | None = None) -> FetchedRelease:
    return fetch_release(release, root / "raw", mirror=mirror, transport=transport)
