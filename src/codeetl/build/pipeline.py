"""The refresh pipeline as plain functions: fetch → parse (cached by input hash) → build → publish.

The Prefect flow in ``codeetl/ops/flow.py`` calls exactly these functions; so do the tests, without
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
has one, so a refresh of one dataset keeps the others. A build that fails any step or quality gate
(:mod:`codeetl.build.gates`) is deleted and ``current`` keeps pointing at the previous good build.

One refresh runs at a time per data folder (:func:`refresh_lock`); taking the lock also removes what a
killed refresh left half-written (:func:`cleanup_leftovers`) and reports a stale lock.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import hashlib
import json
import os
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import duckdb

from codeetl import datasets
from codeetl.build import gates
from codeetl.sources.catalog import Dataset, Release
from codeetl.errors import CodeEtlError, SourceFormatError, WarehouseError, command
from codeetl.sources.faulthooks import stage
from codeetl.sources.fetch import FetchedRelease, Transport, fetch_release
from codeetl.build.paths import DB_NAME, current_database, default_root  # noqa: F401  (part of the pipeline API)
from codeetl.sources.provenance import fingerprint, utc_now
from codeetl.build.warehouse_sql import insert_parquet, schema_scripts
from codeetl.build.claim_contract import fill_reason_table
from codeetl.build.progress import StageProgress, Steps

COMPLETE = "COMPLETE"  # written last into a build folder: only complete builds are published or kept


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
    frames = _parse(folder.module(), release, fetched)
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
    try:
        frames = _parse_frames(release, fetched)
    except SourceFormatError as e:
        raise _quarantined(e, Path(raw_root).parent, [(release.dataset, release.release)]) from None
    tmp = parsed_root / f".{key}.part"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        tables = _write_parse(frames, tmp)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
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
    try:
        (tmp / "meta.json").write_text(json.dumps(meta, indent=2), encoding="utf-8")
        shutil.rmtree(out, ignore_errors=True)
        os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    _write_current(parsed_root, key)
    return ParsedRelease(release.dataset, release.release, str(out), key, False, tables)


def _parse(module, release: Release, fetched: FetchedRelease) -> dict:
    """module.parse_release, with any unexpected error from reading a source file (a parser's own error
    names file and line already) made a :class:`SourceFormatError` naming the release's files."""
    from codeetl.errors import CodeEtlError, SourceFormatError

    try:
        return module.parse_release(release, fetched.inputs)
    except (CodeEtlError, OSError):
        raise
    except Exception as e:  # noqa: BLE001 - a damaged file can make any library raise anything
        files = ", ".join(sorted({m.name for m in fetched.members}))
        text = " ".join(str(e).split())
        raise SourceFormatError(f"{release.dataset} {release.release} ({files})", None,
                                f"files the {release.dataset} parser can read",
                                f"{e.__class__.__name__}: {text[:200]}") from None


def _write_parse(frames: dict, tmp: Path) -> dict[str, int]:
    """Write each frame as ``tmp/<table>.parquet``; returns table -> rows."""
    tables = {}
    for i, (name, frame) in enumerate(frames.items()):
        frame.write_parquet(tmp / f"{name}.parquet")
        tables[name] = frame.height
        if i == 0:
            stage("parse")  # one table written, the others not yet
    return tables


def _write_current(parsed_root: Path, key: str) -> None:
    """Point CURRENT at a parse, and delete the release's other (older) parses and leftovers but the one
    PREVIOUS names: the parse replaced, kept until a build from the new one is published
    (:mod:`codeetl.build.quarantine`)."""
    current, previous = parsed_root / "CURRENT", parsed_root / "PREVIOUS"
    old = current.read_text(encoding="utf-8").strip() if current.is_file() else None
    if old and old != key and (parsed_root / old).is_dir() and not previous.exists():
        previous.write_text(old, encoding="utf-8")
    keep = {key, previous.read_text(encoding="utf-8").strip() if previous.is_file() else key}
    tmp = parsed_root / "CURRENT.part"
    tmp.write_text(key, encoding="utf-8")
    os.replace(tmp, current)
    for other in parsed_root.iterdir():
        if other.is_dir() and other.name not in keep:
            shutil.rmtree(other, ignore_errors=True)


def _quarantined(error: CodeEtlError, root: Path, releases: list[tuple[str, str]], parsed: bool = False):
    """`error` with the quarantine folder(s) of the releases whose new files caused it named in its message
    (the files moved there, the last good ones put back: :func:`codeetl.build.quarantine.quarantine_release`)."""
    from codeetl.build.quarantine import quarantine_release

    folders = [f for ds, rel in releases if (f := quarantine_release(root, ds, rel, str(error), parsed))]
    if folders:
        error.args = (f"{error.args[0] if error.args else error}; the new file(s) are kept for a look in "
                      f"{', '.join(str(f) for f in folders)} and data/raw keeps the last good source",)
    return error


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
            "are gone; refresh them with `" + command("refresh " + " ".join(f"--dataset {n}" for n in names)) + "`"
            + ", or delete " + ", ".join(f"{raw_root}/{s}/parsed" for s in stale) + " to build without them")
    return found


def _fetched_from_manifest(raw_root: Path, release: Release, members: list[tuple[str, str]]) -> FetchedRelease | None:
    """The release's downloads as its manifest records them, if every input is still on disk unchanged."""
    from codeetl.sources.fetch import Download, LocalMember, read_manifest, sha256_file

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
    gates: list[dict] = field(default_factory=list)  # every quality gate's result (codeetl.build.gates)
    inputs: dict = field(default_factory=dict)  # what it was built from (codeetl.build.changes.build_inputs)
    process: dict = field(default_factory=dict)  # built in a child process: its pid, parent, peak_rss_mib (isolate)


def _create_views(con: duckdb.DuckDBPyConnection) -> None:
    """Create every view (the claims contract's among them) and fill the contract's reason table
    (``sql/contract/claims.sql``), which reads them."""
    for _, text in schema_scripts("views"):
        con.execute(text)
    fill_reason_table(con)


def build_warehouse(parse_dirs: list[str | Path], catalog: dict[str, Dataset], warehouse_root: str | Path,
                    link_dirs: list[Path] | None = None, inputs: dict | None = None,
                    notify: Callable[[str], None] | None = None, progress: StageProgress | None = None) -> BuildResult:
    """Build a complete new warehouse from parse directories, in ``warehouse/builds/<id>``.

    Nothing outside that folder is touched (but for creating an empty run ledger when there is none); call
    :func:`publish` to make it current. Every quality gate (:mod:`codeetl.build.gates`) must pass: a failed one
    raises :class:`codeetl.build.gates.GateFailure` naming it, the file and offending rows. On any error the
    half-built folder is removed and the error re-raised. The build records its inputs and build key
    (:mod:`codeetl.build.changes`; `inputs` when the caller computed them already). `notify` receives one line per
    stage (the build's progress); `progress` the :data:`BUILD_STEPS` steps (:mod:`codeetl.build.progress`)."""
    say = Steps("build", BUILD_STEPS, progress, notify)
    from codeetl.build import changes, ledger

    wroot = Path(warehouse_root)
    ledger_file = ledger.ensure_ledger(wroot.parent)
    inputs = inputs or changes.build_inputs([Path(p) for p in parse_dirs], link_dirs, ledger_file, catalog)
    build_id = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
    bdir = wroot / "builds" / build_id
    bdir.mkdir(parents=True)
    db = bdir / DB_NAME
    try:
        con = duckdb.connect(str(db))
        _configure(con, bdir)
        try:
            say.begin(f"build: loading {len(parse_dirs)} parsed releases")
            _load(con, [Path(p) for p in parse_dirs], catalog)
            say.begin("build: deriving histories and changes, curated links, views")
            for _, text in schema_scripts("derive"):  # cross-release derivations, before anything reads the tables
                con.execute(text)
            from codeetl.build.links import load_curated_links  # polars: only when building
            problems = load_curated_links(con, link_dirs or [])
            _create_views(con)
            con.execute(_runs_view(ledger_file))
            stage("build")  # tables loaded, checks and export to come
            say.begin("build: quality gates")
            results = run_checks(con)
            counts = table_counts(con)
            con.execute("CHECKPOINT")  # the loaded tables to disk: the export's memory is the page queries'
            say.begin("build: parquet export and code pages", line=False)
            page_keys = export_all(con, bdir / "parquet", say, wroot, inputs)
            from codeetl.build.serving import write_serving_files  # `codeetl web`'s page store and search index

            say.begin("build: page store and search index")
            write_serving_files(con, bdir, say, wroot, page_keys, inputs)
            con.execute("CHECKPOINT")
        finally:
            con.close()
        shutil.rmtree(bdir / ".tmp", ignore_errors=True)
        changes.write_inputs(bdir, inputs)
        (bdir / COMPLETE).write_text(utc_now(), encoding="utf-8")
        say.finish(f"build: {build_id} complete")
    except duckdb.Error as e:
        shutil.rmtree(bdir, ignore_errors=True)
        raise WarehouseError(f"building the new warehouse failed (the previous one is kept): {e}") from None
    except BaseException:
        shutil.rmtree(bdir, ignore_errors=True)
        raise
    return BuildResult(build_id, str(bdir), str(db), counts, problems, [r.to_dict() for r in results], inputs)


BUILD_STEPS = 5
"""The build's steps as its progress counts them: load, derive, quality gates, parquet export with the code pages
(most of a cold build: it moves on per release), page store and search index."""

BUILD_MEMORY_LIMIT = "600MB"
"""DuckDB's memory limit in the build (it spills sorts, joins and tables beyond it into the build's .tmp). With
the refresh's own memory (Prefect, the parsers' leftovers: :func:`release_freed_memory`) the worker of a cold
``codeetl refresh`` stays under 1 GB: 700MB peaked it at 1,047 MB (VmHWM, 17 releases)."""


def release_freed_memory() -> None:
    """Give the memory the parsers freed back to the system before DuckDB takes its share: glibc keeps freed
    heap in its arenas (one per thread that parsed; Prefect parses the datasets in threads), 150 MB after three
    Tabular parses, on top of the build's peak. No-op where the C library has no ``malloc_trim``."""
    import ctypes
    import ctypes.util
    import gc

    gc.collect()
    try:
        ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def _configure(con: duckdb.DuckDBPyConnection, bdir: Path) -> None:
    """Settings of the build's connection: no progress bar, spill folder inside the build, memory limit."""
    con.execute("SET enable_progress_bar = false")
    con.execute(f"SET temp_directory = '{_sql_path(bdir / '.tmp')}'")
    con.execute(f"SET memory_limit = '{BUILD_MEMORY_LIMIT}'")


def _runs_view(ledger_file: Path) -> str:
    """The ``refresh_runs`` view over the run ledger (``sql/runs.sql``), bound to the ledger's absolute path."""
    from codeetl.build.named_sql import named_statements

    return named_statements("runs.sql")["view"].replace("{ledger}", _sql_path(ledger_file.resolve()))


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
                "INSERT INTO releases (dataset, release, label, effective_from, effective_to, source_url, fetched_from, "
                "sha256, fetched_at, loaded_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [rel.dataset, rel.release, rel.label, rel.effective_from, rel.effective_to, dl["url"], dl["source"],
                 dl["sha256"], dl["fetched_at"], loaded_at],
            )
            for m in dl["members"]:
                con.execute("INSERT INTO source_files VALUES (?, ?, ?, ?, ?, ?, ?)",
                            [rel.dataset, rel.release, m["role"], m["name"], m["bytes"], m["sha256"], dl["url"]])
        for other, rid in rel.uses.items():
            con.execute("INSERT INTO release_uses VALUES (?, ?, ?, ?)", [rel.dataset, rel.release, other, rid])


def run_checks(con: duckdb.DuckDBPyConnection) -> list[gates.GateResult]:
    """Run every quality gate a build must pass before it can be published; returns their results.

    Raises :class:`codeetl.build.gates.GateFailure` (a WarehouseError) naming each failed gate, the source files
    it concerns and offending rows. The gates live in ``datasets/<dataset>/gates.sql`` and ``sql/gates.sql``.
    """
    results = gates.run_gates(con)
    if any(not r.passed for r in results):
        raise gates.GateFailure(results)
    return results


def table_counts(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Rows per table of the database."""
    names = [r[0] for r in con.execute("SELECT table_name FROM duckdb_tables() WHERE schema_name = 'main' ORDER BY 1").fetchall()]
    return {n: con.execute(f'SELECT count(*) FROM "{n}"').fetchone()[0] for n in names}


def export_all(con: duckdb.DuckDBPyConnection, out: Path, notify: Callable[[str], None] | None = None,
               warehouse: Path | None = None, inputs: dict | None = None) -> dict[str, str]:
    """Every table and view as ``parquet/<name>/<name>.parquet`` (:func:`codeetl.build.table_export.export_tables`:
    DuckDB's own parquet writer, zstd; a file is reused from the `warehouse` folder's cache when its table or view
    is unchanged), and the
    code page of every loaded ICD-10-CM release (:func:`codeetl.build.code_pages.export_code_pages`, reusing
    unchanged parts from the `warehouse` folder's cache); `notify` gets the progress. Returns the key of each
    release's page file (release -> key; empty without `inputs`)."""
    names = [r[0] for r in con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'main' "
        "UNION ALL SELECT view_name FROM duckdb_views() WHERE NOT internal AND schema_name = 'main' ORDER BY 1"
    ).fetchall()]
    from codeetl.build.table_export import export_tables  # each file reused when its table or view is unchanged

    if "refresh_runs" in names:  # the live ledger, not a copy: warehouse/refresh_runs.parquet, relative to the build
        (out / "refresh_runs").mkdir(parents=True, exist_ok=True)
        (out / "refresh_runs" / "refresh_runs.parquet").symlink_to(Path("../../../..") / "refresh_runs.parquet")
    reused = export_tables(con, [n for n in names if n != "refresh_runs"], out, warehouse, inputs)
    if notify:
        notify(f"build: exported {len(names)} tables and views to parquet" + (f" ({reused} unchanged, reused)" if reused else ""))
    from codeetl.build.code_pages import export_code_pages

    return export_code_pages(con, out / "code_page", notify, warehouse, inputs)


CODE_PAGE_CACHE = "cache/code_page"
"""Under the warehouse folder: code-page files by key (:mod:`codeetl.build.code_pages`), hard-linked into builds."""


def _sql_path(path: Path) -> str:
    """A path as the inside of a SQL string literal."""
    return str(path).replace("'", "''")


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
    stage("publish")  # the build is complete, current not yet swapped
    tmp = wroot / f".current.{build.build_id}"
    tmp.unlink(missing_ok=True)
    tmp.symlink_to(Path("builds") / build.build_id, target_is_directory=True)
    try:
        os.replace(tmp, current)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
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


LOCK_NAME = ".refresh.lock"
_HELD: set[str] = set()  # data folders whose lock this process holds (the lock is re-entrant)


@contextlib.contextmanager
def refresh_lock(root: str | Path, reentrant: bool = False):
    """One refresh at a time per data folder: an exclusive lock on ``<root>/.refresh.lock``.

    The file holds the holder's pid and start time while it runs, and is removed when it ends; the kernel
    drops the lock of a killed process, so a lock file found with content is a killed refresh's stale
    lock, reported as such. Taking the lock also removes what that refresh left half-written
    (:func:`cleanup_leftovers`). With `reentrant`, a lock this process already holds is simply used (the
    CLI takes it before Prefect starts, the flow takes it again). Yields the list of those reports (empty
    in the usual case).
    """
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    key = str(root.resolve())
    if reentrant and key in _HELD:
        yield []
        return
    path = root / LOCK_NAME
    fd = _acquire(path, root)
    try:
        previous = os.pread(fd, 4096, 0).decode("utf-8", "replace").strip()
        notes = [f"a previous refresh ({previous}) was killed before it finished; its lock was stale"] if previous else []
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"pid {os.getpid()}, started {utc_now()}\n".encode(), 0)
        _HELD.add(key)
        notes += cleanup_leftovers(root)
        yield notes
    finally:
        _HELD.discard(key)
        with contextlib.suppress(OSError):
            path.unlink()
        os.close(fd)


def holds_lock(root: str | Path) -> bool:
    """True while this process holds the refresh lock of `root` (:func:`refresh_lock`)."""
    return str(Path(root).resolve()) in _HELD


def _acquire(path: Path, root: Path) -> int:
    """Open and lock the lock file; returns its descriptor. WarehouseError naming the holder if it is held."""
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 4096, 0).decode("utf-8", "replace").strip() or "just starting"
            os.close(fd)
            raise WarehouseError(f"another refresh is running on {root} ({holder}; lock file {path}); "
                                 "wait for it to finish") from None
        try:
            same = os.fstat(fd).st_ino == os.stat(path).st_ino
        except FileNotFoundError:
            same = False
        if same:
            return fd
        os.close(fd)  # the previous holder removed the file while we opened it: lock the new one


def cleanup_leftovers(root: str | Path) -> list[str]:
    """Remove what a killed refresh left half-written under `root` (call it holding the refresh lock):
    staging folders ``raw/<dataset>/<release>/.incoming``, ``*.part`` files and folders, builds without
    their COMPLETE marker, temporary ``.current.*`` links; and complete builds newer than the published one
    (killed while publishing: never published, never to be). Returns a line per kind removed, or []."""
    root = Path(root)
    found: list[Path] = []
    raw, wh = root / "raw", root / "warehouse"
    if raw.is_dir():
        found += sorted(raw.glob("*/*/.incoming"))
        found += [p for p in sorted(raw.rglob("*.part")) if not any(q in found for q in p.parents)]
    unpublished: list[Path] = []
    if (wh / "builds").is_dir():
        current = os.readlink(wh / "current").split("/")[-1] if (wh / "current").is_symlink() else ""
        found += [b for b in sorted((wh / "builds").iterdir()) if b.is_dir() and not (b / COMPLETE).exists()]
        unpublished = [b for b in sorted((wh / "builds").iterdir())  # complete, but killed while publishing
                       if b.is_dir() and (b / COMPLETE).exists() and b.name > current]
    if wh.is_dir():
        found += sorted(wh.glob(".current.*")) + sorted(wh.glob("cache/*/*.part"))
    for p in found + unpublished:
        if p.is_dir() and not p.is_symlink():
            shutil.rmtree(p, ignore_errors=True)
        else:
            p.unlink(missing_ok=True)
    notes = []
    for items, what in ((found, "half-written item(s)"), (unpublished, "complete build(s) never published")):
        names = [str(p.relative_to(root)) for p in items]
        shown = ", ".join(names[:4]) + (f" and {len(names) - 4} more" if len(names) > 4 else "")
        notes += [f"removed {len(items)} {what} left by an interrupted refresh: {shown}"] if items else []
    return notes


# ------------------------------------------------------------------------------ build only what changed


@dataclass
class BuildOutcome:
    """What the build step did: built a new warehouse (``changed``, ``result``, ``changes``), or found the
    published one made from the same inputs and kept it (``changed`` false, nothing built)."""

    changed: bool
    build_id: str
    database: str
    result: BuildResult | None = None
    changes: dict | None = None  # codeetl.build.changes.summarize: releases added, counts, ...


def build_step(root: str | Path, catalog: dict[str, Dataset], link_dirs: list[Path] | None = None,
               notify: Callable[[str], None] | None = None, progress: StageProgress | None = None) -> BuildOutcome:
    """Build a new warehouse from the latest parse of every release, unless the published build was made
    from exactly the same inputs (:mod:`codeetl.build.changes`): then nothing is built and the current build is
    kept. Returns what it did; a new build also says what changed since the published one. `notify` gets
    the build's progress, one line per stage; `progress` its steps (:func:`build_warehouse`)."""
    from codeetl.build import changes
    from codeetl.build import ledger

    root = Path(root)
    wroot = root / "warehouse"
    parses = latest_parses(root / "raw", catalog)
    inputs = changes.build_inputs(parses, link_dirs, ledger.ensure_ledger(root), catalog)
    if changes.unchanged(wroot, inputs):
        build_id = os.readlink(wroot / "current").split("/")[-1]
        return BuildOutcome(False, build_id, str(wroot / DB_NAME))
    previous = changes.published_inputs(wroot)
    if notify:
        notify(f"building a new warehouse: {_why(changes.published_inputs(wroot), inputs)}")
    release_freed_memory()
    try:
        from codeetl.build.isolate import build_in_child  # build_warehouse, in a fresh process: its memory goes

        result = build_in_child(parses, catalog, wroot, link_dirs=link_dirs, inputs=inputs, notify=notify,
                                progress=progress)
    except gates.GateFailure as e:
        raise _quarantined(e, root, _gate_releases(e, inputs, previous), parsed=True) from None
    try:
        summary = changes.summarize(previous, inputs, result.database)
    except BaseException:
        shutil.rmtree(result.directory, ignore_errors=True)
        raise
    return BuildOutcome(True, result.build_id, result.database, result, summary)


def _gate_releases(failure: gates.GateFailure, inputs: dict, previous: dict | None) -> list[tuple[str, str]]:
    """The releases a gate failure blames that this build reads in a new parse (the published build did
    not): their new files are what failed."""
    named = {tuple(m.group(1, 2)) for r in failure.results if not r.passed for f in r.files
             if (m := re.search(r"\((\S+) (\S+)\)$", f))}
    old = (previous or {}).get("parses", {})
    return sorted((ds, rel) for ds, rel in named if old.get(f"{ds}/{rel}") != inputs["parses"].get(f"{ds}/{rel}")
                  and f"{ds}/{rel}" in inputs["parses"])


def _why(previous: dict | None, inputs: dict) -> str:
    """Why a build is needed, in a few words."""
    if previous is None:
        return "no build with a build key yet"
    reasons = [f"{k} new" for k in inputs["parses"] if k not in previous.get("parses", {})]
    reasons += [f"{k} changed" for k, v in inputs["parses"].items() if previous.get("parses", {}).get(k) not in (None, v)]
    reasons += [f"{k} no longer loaded" for k in previous.get("parses", {}) if k not in inputs["parses"]]
    reasons += [f"{k} catalog dates or label changed" for k, v in inputs.get("calendar", {}).items()
                if previous.get("calendar", {}).get(k) not in (None, v)]
    reasons += [what for key, what in (("code", "build code changed"), ("links", "curated links changed"),
                                       ("duckdb", "DuckDB version changed"), ("ledger", "data folder moved"))
                if previous.get(key) != inputs[key]]
    return ", ".join(reasons[:6]) + (f" and {len(reasons) - 6} more" if len(reasons) > 6 else "") or "inputs changed"


def publish_step(outcome: BuildOutcome, warehouse_root: str | Path) -> str:
    """Publish the outcome's new build (:func:`publish`); with nothing built, the current database stays.
    Returns the published database's path."""
    from codeetl.build import changes
    from codeetl.build.quarantine import confirm

    published = outcome.database if outcome.result is None else str(publish(outcome.result, warehouse_root))
    confirm(Path(warehouse_root).parent, (changes.published_inputs(Path(warehouse_root)) or {}).get("parses", {}))
    return published


def refresh_summary(outcome: BuildOutcome, loaded: list[str], skipped: list[str], notes: list[str]) -> dict:
    """The summary of a refresh (the flow's return value, ``codeetl refresh --json``): ``changed``, ``status``
    (published / unchanged), ``database``, ``build_id``, ``releases_added``, ``changes``, ``tables``,
    ``loaded``, ``skipped``, ``gates``, ``build_process`` (the build's process: pid, parent, peak_rss_mib),
    ``notes``."""
    result = outcome.result
    return {
        "changed": outcome.changed,
        "status": "published" if outcome.changed else "unchanged",
        "database": outcome.database,
        "build_id": outcome.build_id,
        "releases_added": (outcome.changes or {}).get("releases_added", []),
        "changes": outcome.changes,
        "tables": result.tables if result else {},
        "loaded": loaded,
        "skipped": skipped + [f"curated link {p}" for p in (result.link_problems if result else [])],
        "gates": result.gates if result else [],
        "build_process": result.process if result else {},
        "notes": notes,
    }


class Stopwatch:
    """Wall-clock seconds of consecutive steps: ``lap(name)`` records the time since the previous lap."""

    def __init__(self) -> None:
        import time

        self._now = time.perf_counter
        self._last = self._now()
        self.laps: dict[str, float] = {}

    def lap(self, name: str) -> float:
        """Record and return the seconds since the previous lap (or the start) as step `name`."""
        now = self._now()
        self.laps[name] = round(now - self._last, 3)
        self._last = now
        return self.laps[name]


def ledger_outcome(summary: dict) -> dict:
    """The ledger fields of a finished refresh's summary (:mod:`codeetl.build.ledger`)."""
    return {"status": summary["status"], "changed": summary["changed"], "releases_added": summary["releases_added"],
            "build_id": summary["build_id"], "changes": summary["changes"]}


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
    """Fetch one release into ``root/raw`` (see :func:`codeetl.sources.fetch.fetch_release`); returns what was found."""
    return fetch_release(release, root / "raw", mirror=mirror, transport=transport)
