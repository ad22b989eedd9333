"""The refresh flow: fetch → parse (one task per dataset, the datasets concurrently) → build → publish, or
nothing when nothing changed.

Run it with ``codeetl refresh`` or ``python -m codeetl.ops.flow [--mirror ../shared/cms]``.

Prefect is a thin layer here: every task calls one plain function of :mod:`codeetl.build.pipeline` and hands
the next task paths and hashes, never DataFrames. Retrying is the downloader's job alone, inside one
time budget (``timeout``/``retries``, see :class:`codeetl.sources.fetch.Transport`): Prefect does not retry a
fetch on top of it, so a host that answers 5xx forever fails the refresh within about a minute. Parsing is
cached by content: the parse key hashes the parser (source, table DDL, reference data) and every input
file's sha256, and the parse is stored beside the raw files, so an unchanged source is not parsed again,
even across Prefect database resets.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import sys
import traceback
from pathlib import Path
from typing import Callable

if __name__ == "__main__":  # run as a script: codeetl's Prefect settings (no telemetry, patient server start)
    from codeetl.ops.orchestrator import configure_prefect_env

    configure_prefect_env(quiet=False)  # before Prefect is imported; keeps its run log, the only report here

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.futures import wait
from prefect.task_runners import ThreadPoolTaskRunner

from codeetl.build import changes, isolate, pipeline
from codeetl.build import ledger
from codeetl.sources import interrupt
from codeetl.sources.catalog import load_catalog
from codeetl.build.links import default_link_dirs
from codeetl.build.progress import StageProgress, Steps, label
from codeetl.sources.fetch import FetchedRelease, Progress, Transport


def _fetch(dataset: str, release_id: str, root: str, mirror: str | None, transport: Transport) -> FetchedRelease:
    """Fetch one release (:func:`codeetl.build.pipeline.fetch_step`); returns what was found."""
    release = load_catalog()[dataset].release(release_id)
    fetched = pipeline.fetch_step(release, Path(root), mirror, transport)
    if fetched.downloads:
        state = "unchanged" if all(d.unchanged for d in fetched.downloads) else "downloaded"
        _notify(f"fetched {dataset}/{release_id}: {state}, {sum(d.bytes for d in fetched.downloads):,} bytes")
    return fetched


def _parse(dataset: str, release_id: str, fetched: FetchedRelease, root: str) -> pipeline.ParsedRelease:
    """Parse one fetched release in a process of its own, or reuse its parse
    (:func:`codeetl.build.isolate.parse_in_child`)."""
    release = load_catalog()[dataset].release(release_id)
    parsed = isolate.parse_in_child(release, fetched, Path(root) / "raw")  # its memory goes when it ends
    rows = sum(parsed.tables.values())
    _notify(f"{'reused the parse of' if parsed.reused else 'parsed'} {dataset}/{release_id}: {rows:,} rows")
    return parsed


def _let_go(fn):
    """`fn`, whose errors keep no local variable of the frames they came through (:func:`_drop_frames`)."""
    @functools.wraps(fn)
    def run(*args, **kwargs):
        """Call `fn`; returns what it returns."""
        try:
            return fn(*args, **kwargs)
        except BaseException as e:
            _drop_frames(e)
            raise
    return run


def _drop_frames(error: BaseException) -> None:
    """Clear the local variables of the finished frames `error` (and each error it carries) passed through.
    Prefect keeps a failed run's error, and so its traceback, until the process ends: a DuckDB connection in
    one of those frames (the build's, when a quality gate fails) would outlive the interpreter's modules, and
    the binding would print ``nanobind: leaked …`` lines at exit. Returns None."""
    todo, seen = [error], set()
    while todo:
        e = todo.pop()
        if e is None or id(e) in seen:
            continue
        seen.add(id(e))
        traceback.clear_frames(e.__traceback__)
        todo += [e.__cause__, e.__context__]


@task(cache_policy=NO_CACHE, task_run_name="fetch and parse {dataset}")
@_let_go
def fetch_and_parse(dataset: str, release_ids: list[str], root: str, mirror: str | None,
                    timeout: float | None = None, retries: int | None = None) -> dict:
    """Fetch and parse the selected releases of one dataset, in order (one task per dataset: the datasets run
    concurrently); returns ``{"loaded": [...], "skipped": [...]}`` lines."""
    transport = Transport(progress=_progress_hook(), notify=lambda m: _notify(m, warning=True),
                          timeout=timeout, retries=retries)
    loaded, skipped = [], []
    why = "not in the mirror" if mirror else "not published at the catalog URL"
    steps = Steps(f"fetch and parse {dataset}", len(release_ids), _stage_progress(f"codeetl-fetch-parse-{dataset}"))
    for rid in release_ids:
        steps.begin(f"{dataset}/{rid}")
        fetched = _fetch(dataset, rid, root, mirror, transport)
        if not fetched.downloads:
            skipped.append(rid)
            continue
        if fetched.missing:
            _notify(f"{dataset}/{rid}: {len(fetched.missing)} optional download(s) not found, loading the rest: "
                    f"{', '.join(fetched.missing)}", warning=True)
        parsed = _parse(dataset, rid, fetched, root)
        loaded.append(f"{dataset}/{rid} ({'reused parse' if parsed.reused else 'parsed'})")
    steps.finish(f"{len(loaded)} loaded, {len(skipped)} skipped")
    if skipped:  # one line for the dataset, not one per release (as the summary lists them)
        _notify(f"skipped {dataset}: {', '.join(skipped)} ({why})", warning=True)
    return {"loaded": loaded, "skipped": [f"{dataset}/{rid}: {why}" for rid in skipped]}


@task(cache_policy=NO_CACHE)
@_let_go
def build(root: str) -> pipeline.BuildOutcome:
    """Build a new warehouse, or keep the published one when nothing changed (:func:`codeetl.build.pipeline.build_step`)."""
    outcome = pipeline.build_step(root, load_catalog(), link_dirs=default_link_dirs(root), notify=_notify,
                                  progress=_stage_progress("codeetl-build"))
    if not outcome.changed:
        _notify(f"nothing changed since build {outcome.build_id}: nothing to build, it stays current")
    for line in outcome.result.link_problems if outcome.result else []:
        _notify(f"curated link not loaded: {line}")
    return outcome


@task(cache_policy=NO_CACHE)
@_let_go
def publish(outcome: pipeline.BuildOutcome, root: str) -> str:
    """Publish the new build, if any (:func:`codeetl.build.pipeline.publish_step`); returns the database path."""
    return pipeline.publish_step(outcome, Path(root) / "warehouse")


def _every_dataset(selected: list, root: str, mirror: str | None, timeout: float | None,
                   retries: int | None) -> tuple[list[str], list[str]]:
    """Fetch and parse every selected release: one task per dataset, submitted together (Prefect's thread
    pool: downloads overlap); returns the loaded and skipped lines in catalog order."""
    by_dataset: dict[str, list[str]] = {}
    for r in selected:
        by_dataset.setdefault(r.dataset, []).append(r.release)
    futures = [fetch_and_parse.submit(ds, rids, root, mirror, timeout, retries) for ds, rids in by_dataset.items()]
    wait(futures)  # all of them, also when one fails: none may still write once the flow lets go of the lock
    loaded, skipped = [], []
    for future in futures:  # the first failure, in catalog order, ends the refresh
        out = future.result()
        loaded += out["loaded"]
        skipped += out["skipped"]
    return loaded, skipped


@flow(name="codeetl-refresh", task_runner=ThreadPoolTaskRunner(max_workers=4))
@_let_go
def refresh(root: str = "data", mirror: str | None = None, datasets: list[str] | None = None,
            releases: list[str] | None = None, timeout: float | None = None, retries: int | None = None,
            trigger: str = "cli") -> dict:
    """Refresh the warehouse: every catalog release (or the selected ones), then one atomic publish, or
    nothing at all when no source and no build code changed. Returns the summary
    (:func:`codeetl.build.pipeline.refresh_summary`).

    A failure anywhere raises before `publish`, so the previous warehouse stays current. `timeout` and
    `retries` bound each download (defaults: :data:`codeetl.sources.fetch.DEFAULT_TIMEOUT`, ``DEFAULT_RETRIES``).
    Every run is recorded in the ledger (``refresh_runs``), `trigger` saying what started it; the run's
    summary is also a markdown artifact of the flow run.
    """
    selected = pipeline.select_releases(load_catalog(), datasets, releases)
    _die_with_the_runner(root)
    # A stop (SIGTERM: Prefect's runner cancelling the run, or the CLI's worker told to stop) also ends the
    # download threads, which Prefect waits for before the flow can unwind.
    with interrupt.stop_on_signals(), pipeline.refresh_lock(root, reentrant=True) as notes, \
            ledger.recording(root, datasets, trigger, run_id=_flow_run_id()) as run:
        for note in notes:
            _notify(note, warning=True)
        clock = pipeline.Stopwatch()
        loaded, skipped = _every_dataset(selected, root, mirror, timeout, retries)
        clock.lap("fetch_parse")
        if not loaded:
            raise RuntimeError("nothing was fetched: no release of the selected datasets was found "
                               + (f"in the mirror {mirror}" if mirror else "at the catalog URLs"))
        outcome = build(root)
        clock.lap("build")
        publish(outcome, root)
        clock.lap("publish")
        summary = pipeline.refresh_summary(outcome, loaded, skipped, notes)
        summary["run_id"], summary["seconds"] = run.row["run_id"], clock.laps
        run.outcome = pipeline.ledger_outcome(summary)
    _artifact(summary)
    if summary["changed"]:
        return summary
    from prefect.states import Completed  # shown as "Unchanged" by `prefect flow-run ls` and the UI

    return Completed(name="Unchanged", message="nothing changed: nothing was built", data=summary)


def _die_with_the_runner(root: str) -> None:
    """In a run of a deployment (a process of its own, started by ``codeetl serve``'s runner): when serve dies,
    even by ``kill -9``, the refresh unwinds and the process ends (:func:`codeetl.ops.supervise.die_with_parent_now`)
    instead of running on alone. Returns None."""
    import threading

    from prefect.context import FlowRunContext

    from codeetl.ops.supervise import die_with_parent_now

    run = getattr(FlowRunContext.get(), "flow_run", None)
    if getattr(run, "deployment_id", None) and threading.current_thread() is threading.main_thread():
        die_with_parent_now(Path(root))


def _flow_run_id() -> str | None:
    """The id of the Prefect flow run we are in (None outside one)."""
    from prefect.runtime import flow_run

    return str(flow_run.id) if flow_run.id else None


def _artifact(summary: dict) -> None:
    """Attach what the run did to the flow run, as a markdown artifact (key ``codeetl-refresh``)."""
    from prefect.artifacts import create_markdown_artifact

    lines = [f"# codeetl refresh: {'new build ' + summary['build_id'] if summary['changed'] else 'nothing changed'}", ""]
    lines += [f"- {line}" for line in changes.describe(summary)]
    lines += ["", f"Database: `{summary['database']}`", "", "Releases checked: " + ", ".join(summary["loaded"])]
    if summary["skipped"]:
        lines += ["", "Skipped: " + "; ".join(summary["skipped"])]
    create_markdown_artifact(markdown="\n".join(lines), key="codeetl-refresh",
                             description="What this refresh changed (codeetl)")


Notify = Callable[[str], None]
_REPORTING: contextvars.ContextVar[tuple[Progress | None, Notify | None, StageProgress | None]] = \
    contextvars.ContextVar("codeetl_reporting", default=(None, None, None))


@contextlib.contextmanager
def reporting(progress: Progress | None = None, notify: Notify | None = None, stages: StageProgress | None = None):
    """Run the flow inside this to receive download progress (``progress(label, done, total)``), one line per
    stage (``notify(message)``) and the steps of the long stages (``stages(stage, done, total, text)``:
    :mod:`codeetl.build.progress`), as the CLI does; without it the flow reports through Prefect's logger only
    (the steps are Prefect progress artifacts either way: :func:`_stage_progress`)."""
    token = _REPORTING.set((progress, notify, stages))
    try:
        yield
    finally:
        _REPORTING.reset(token)


def _progress_hook() -> Progress | None:
    return _REPORTING.get()[0]


def _stage_progress(key: str) -> StageProgress:
    """A long stage's progress as a Prefect progress artifact of the task run it is called in (`key`, e.g.
    ``codeetl-build``: the percentage of its steps done, and the step under way as its description), and to the
    caller's ``stages`` hook (:func:`reporting`). An artifact that cannot be written is a warning, not a failure."""
    from prefect.artifacts import create_progress_artifact, update_progress_artifact

    hook, artifact = _REPORTING.get()[2], {}

    def report(stage: str, done: float, total: int, text: str) -> None:
        """Pass the step on to the hook and record it in the artifact; returns None."""
        if hook is not None:
            hook(stage, done, total, text)
        percent, description = round(100 * done / total, 1), label(stage, text)
        try:
            if "id" not in artifact:
                artifact["id"] = create_progress_artifact(percent, key=key, description=description)
            else:
                update_progress_artifact(artifact["id"], percent, description=description)
        except Exception as e:  # noqa: BLE001 (the refresh goes on: progress is for watching it)
            if not artifact.get("warned"):
                artifact["warned"] = True
                _notify(f"progress of {stage} not recorded in Prefect ({e.__class__.__name__}: {e})", warning=True)

    return report


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
