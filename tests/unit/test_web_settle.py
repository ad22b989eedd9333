"""`codeetl web`'s start-up: the page modules and templates are loaded and the process's objects are set aside
from the garbage collector, so that a full collection (which pauses every request of the process) no longer
walks the tens of thousands of objects that live as long as the process."""

from __future__ import annotations

import asyncio
import gc
import sys

from codeetl.web.app import create_app


def test_start_up_loads_the_pages_and_freezes_what_it_loaded(tmp_path):
    app = create_app(tmp_path)  # no warehouse needed to start

    async def started() -> None:
        """The application's start-up, as uvicorn runs it (its lifespan)."""
        async with app.router.lifespan_context(app):
            frozen = gc.get_freeze_count()
            assert frozen > 10_000  # the framework, DuckDB's module, the pages (about 60,000)
            assert "codeetl.pages.search" in sys.modules and "codeetl.pages.browse" in sys.modules
            assert len(app.state.templates.cache) == len(app.state.templates.list_templates())
            assert len(gc.get_objects(generation=2)) < frozen  # what the collector still walks

    gc.unfreeze()
    try:
        asyncio.run(started())
    finally:
        gc.unfreeze()
