"""The refresh's steps without Prefect, for bench/bench.py alone: the "no Prefect" figures of the README's
Benchmark, which show what Prefect adds to a refresh. Not a second way to refresh: ``codeetl refresh`` runs
the Prefect flow (codeetl/ops/flow.py), and the tests run that command, never this.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable


def refresh(root: str = "data", mirror: str | None = None, datasets: list[str] | None = None,
            releases: list[str] | None = None, timeout: float | None = None, retries: int | None = None,
            notify: Callable[[str], None] | None = None, trigger: str = "cli",
            link_dirs: list[Path] | None = None) -> dict:
    """The refresh's steps without Prefect (lock, fetch, parse, build, publish, in the flow's order); returns
    the summary. No curated link files unless `link_dirs` says where."""
    from codeetl.sources import catalog as catalog_module
    from codeetl.build import ledger
    from codeetl.build import isolate, pipeline
    from codeetl.sources.fetch import Transport

    say = notify or (lambda m: None)
    catalog = catalog_module.load_catalog()
    selected = pipeline.select_releases(catalog, datasets, releases)
    loaded, skipped = [], []
    with pipeline.refresh_lock(root, reentrant=True) as notes, ledger.recording(root, datasets, trigger) as run:
        for n in notes:
            say(n)
        transport = Transport(timeout=timeout, retries=retries, notify=say)
        clock = pipeline.Stopwatch()
        for r in selected:
            fetched = pipeline.fetch_step(r, Path(root), mirror, transport)
            if not fetched.downloads:
                skipped.append(f"{r.dataset}/{r.release}: not in the mirror")
                continue
            parsed = isolate.parse_in_child(r, fetched, Path(root) / "raw")
            loaded.append(f"{r.dataset}/{r.release} ({'reused parse' if parsed.reused else 'parsed'})")
        if not loaded:
            raise RuntimeError(f"nothing was fetched: no release of the selected datasets was found in the mirror {mirror}")
        clock.lap("fetch_parse")
        outcome = pipeline.build_step(root, catalog, link_dirs=link_dirs, notify=say)
        clock.lap("build")
        pipeline.publish_step(outcome, Path(root) / "warehouse")
        clock.lap("publish")
        summary = pipeline.refresh_summary(outcome, loaded, skipped, notes)
        summary["run_id"], summary["seconds"] = run.row["run_id"], clock.laps
        run.outcome = pipeline.ledger_outcome(summary)
    return summary
