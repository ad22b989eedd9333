"""The refresh flow: fetch → parse → build → publish, one subflow per dataset.

Run it with ``codeetl refresh`` or ``python -m codeetl.flows.refresh [--mirror ../shared/cms]``.

Prefect is a thin layer here: every task calls one plain function of :mod:`codeetl.pipeline` and hands
the next task paths and hashes, never DataFrames. Retrying is the downloader's job alone, inside one
time budget (``timeout``/``retries``, see :class:`codeetl.fetch.Transport`): Prefect does not retry a
fetch on top of it, so a host that answers 5xx forever fails the refresh within about a minute. Parsing is
cached by content: the parse key hashes the parser (source, table DDL, reference data) and every input
file's sha256, and the parse is stored beside the raw files, so an unchanged source is not parsed again,
even across Prefect database resets.
"""

from __future__ import annotations

import contextlib
import contextvars
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

if __name__ == "__main__":  # run as a script: codeetl's Prefect settings (no telemetry, patient server start)
    from codeetl.orchestrator import configure_prefect_env

    configure_prefect_env(quiet=False)  # before Prefect is imported; keeps its run log, the only report here

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE

from codeetl import pipeline
from codeetl.catalog import load_catalog
from codeetl.datasets.links.build import default_link_dirs
from codeetl.fetch import FetchedRelease, Progress, Transport


@dataclass
class RefreshSummary:
    database: str
    build_id: str
    tables: dict[str, int]
    loaded: list[str] = field(default_factory=list)  # "dataset/release (parsed|reused)"
    skipped: list[str] = field(default_factory=list)  # "dataset/release: why"
    gates: list[dict] = field(default_factory=list)  # every quality gate's result (codeetl.gates)
    notes: list[str] = field(default_factory=list)  # stale lock, leftovers removed


@task(cache_policy=NO_CACHE, task_run_name="fetch {dataset}/{release_id}")
def fetch(dataset: str, release_id: str, root: str, mirror: str | None, timeout: float | None = None,
          retries: int | None = None) -> FetchedRelease:
    release = load_catalog()[dataset].release(release_id)
    transport = Transport(progress=_progress_hook(), notify=lambda m: _notify(m, warning=True),
                          timeout=timeout, retries=retries)
    fetched = pipeline.fetch_step(release, Path(root), mirror, transport)
    if fetched.downloads:
        state = "unchanged" if all(d.unchanged for d in fetched.downloads) else "downloaded"
        _notify(f"fetched {dataset}/{release_id}: {state}, {sum(d.bytes for d in fetched.downloads):,} bytes")
    return fetched


@task(cache_policy=NO_CACHE, task_run_name="parse {dataset}/{release_id}")
def parse(dataset: str, release_id: str, fetched: FetchedRelease, root: str) -> pipeline.ParsedRelease:
    release = load_catalog()[dataset].release(release_id)
    _notify(f"parsing {dataset}/{release_id} ...")
    parsed = pipeline.parse_release_cached(release, fetched, Path(root) / "raw")
    rows = sum(parsed.tables.values())
    _notify(f"{'reused the parse of' if parsed.reused else 'parsed'} {dataset}/{release_id}: {rows:,} rows")
    return parsed


@task(cache_policy=NO_CACHE)
def build(root: str) -> pipeline.BuildResult:
    _notify("building the new warehouse (load, checks, parquet export) ...")
    catalog = load_catalog()
    parses = pipeline.latest_parses(Path(root) / "raw", catalog)
    result = pipeline.build_warehouse(parses, catalog, Path(root) / "warehouse", link_dirs=default_link_dirs(root))
    for line in result.link_problems:
        _notify(f"curated link not loaded: {line}")
    return result


@task(cache_policy=NO_CACHE)
def publish(result: pipeline.BuildResult, root: str) -> str:
    return str(pipeline.publish(result, Path(root) / "warehouse"))


@flow(name="refresh-dataset", flow_run_name="refresh {dataset}")
def refresh_dataset(dataset: str, release_ids: list[str], root: str, mirror: str | None,
                    timeout: float | None = None, retries: int | None = None) -> dict:
    """Fetch and parse the selected releases of one dataset."""
    loaded, skipped = [], []
    for rid in release_ids:
        fetched = fetch(dataset, rid, root, mirror, timeout, retries)
        if not fetched.downloads:
            why = "not in the mirror" if mirror else "not published at the catalog URL"
            _notify(f"skipped {dataset}/{rid}: {why} ({', '.join(fetched.missing)})", warning=True)
            skipped.append(f"{dataset}/{rid}: {why}")
            continue
        if fetched.missing:
            _notify(f"{dataset}/{rid}: {len(fetched.missing)} optional download(s) not found, loading the rest: "
                    f"{', '.join(fetched.missing)}", warning=True)
        parsed = parse(dataset, rid, fetched, root)
        loaded.append(f"{dataset}/{rid} ({'reused parse' if parsed.reused else 'parsed'})")
    return {"loaded": loaded, "skipped": skipped}


@flow(name="codeetl-refresh")
def refresh(root: str = "data", mirror: str | None = None, datasets: list[str] | None = None,
            releases: list[str] | None = None, timeout: float | None = None, retries: int | None = None) -> dict:
    """Refresh the warehouse: every catalog release (or the selected ones), then one atomic publish.

    A failure anywhere raises before `publish`, so the previous warehouse stays current. `timeout` and
    `retries` bound each download (defaults: :data:`codeetl.fetch.DEFAULT_TIMEOUT`, ``DEFAULT_RETRIES``).
    """
    catalog = load_catalog()
    selected = pipeline.select_releases(catalog, datasets, releases)
    by_dataset: dict[str, list[str]] = {}
    for r in selected:
        by_dataset.setdefault(r.dataset, []).append(r.release)
    summary = RefreshSummary(database="", build_id="", tables={})
    with pipeline.refresh_lock(root, reentrant=True) as notes:
        for note in notes:
            _notify(note, warning=True)
        summary.notes += notes
        for ds, rids in by_dataset.items():
            out = refresh_dataset(ds, rids, root, mirror, timeout, retries)
            summary.loaded += out["loaded"]
            summary.skipped += out["skipped"]
        if not summary.loaded:
            raise RuntimeError("nothing was fetched: no release of the selected datasets was found "
                               + (f"in the mirror {mirror}" if mirror else "at the catalog URLs"))
        result = build(root)
        summary.database = publish(result, root)
    summary.build_id, summary.tables, summary.gates = result.build_id, result.tables, result.gates
    summary.skipped += [f"curated link {p}" for p in result.link_problems]
    return asdict(summary)


Notify = Callable[[str], None]
_REPORTING: contextvars.ContextVar[tuple[Progress | None, Notify | None]] = contextvars.ContextVar(
    "codeetl_reporting", default=(None, None))


@contextlib.contextmanager
def reporting(progress: Progress | None = None, notify: Notify | None = None):
    """Run the flow inside this to receive download progress (``progress(label, done, total)``) and one line per
    stage (``notify(message)``), as the CLI does; without it the flow reports through Prefect's logger only."""
    token = _REPORTING.set((progress, notify))
    try:
        yield
    finally:
        _REPORTING.reset(token)


def _progress_hook() -> Progress | None:
    return _REPORTING.get()[0]


def _notify(message: str, warning: bool = False) -> None:
    notify = _REPORTING.get()[1]
    if notify is not None:
        notify(("warning: " if warning else "") + message)
    elif warning:
        get_run_logger().warning(message)
    else:
        get_run_logger().info(message)


if __name__ == "__main__":
    import argparse

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mirror", help="directory or base URL laid out <dataset>/<release>/<file>")
    ap.add_argument("--data-dir", default="data")
    ap.add_argument("--dataset", action="append")
    ap.add_argument("--release", action="append")
    ap.add_argument("--timeout", type=float, help="seconds a failing download may take (default 60)")
    ap.add_argument("--retries", type=int, help="retries of a download (default 4)")
    a = ap.parse_args()
    print(refresh(root=a.data_dir, mirror=a.mirror, datasets=a.dataset, releases=a.release,
                  timeout=a.timeout, retries=a.retries))
    sys.exit(0)
