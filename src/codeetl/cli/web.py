"""``codeetl web``: the code pages, search, the JSON API and FHIR operations in a browser (see
:mod:`codeetl.web`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from codeetl.cli.app import DataDir, _fail, app, err

APP = "codeetl.web.server:app_from_env"
DATA_ENV = "CODEETL_WEB_DATA"  # the data folder, for the application factory (each worker process reads it)


@app.command()
def web(
    host: Annotated[str, typer.Option(help="Address to listen on (127.0.0.1: this machine only).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to listen on.")] = 8765,
    workers: Annotated[int, typer.Option(min=1, max=32, help="Server processes (one per core serves the most pages).")] = 1,
    access_log: Annotated[bool, typer.Option("--access-log", help="Log every request to stderr.")] = False,
    data_dir: DataDir = Path("data"),
) -> None:
    """Serve the code pages on the web, read-only over the published warehouse: /code/M96.1, /drg/551,
    /cpt/99213, /icd9/722.83, /diff/2025/2026, /releases, /status, /search?q=...; the same as JSON under /api/
    (what --json prints) and FHIR R4 $lookup / $validate-code for ICD-10-CM under /fhir/."""
    from codeetl.build import paths
    from codeetl.errors import CodeEtlError

    try:
        paths.current_database(data_dir)
    except CodeEtlError as e:
        _fail(str(e))
    import os

    import uvicorn

    os.environ[DATA_ENV] = str(data_dir.resolve())
    err.print(f"serving {data_dir} on http://{host}:{port}/ (Ctrl-C stops)", highlight=False)
    try:  # the application is codeetl.web.server.app_from_env (named, not imported: the web is a sibling surface)
        uvicorn.run(APP, factory=True, host=host, port=port, workers=workers, access_log=access_log,
                    log_level="warning", timeout_graceful_shutdown=5)
    except KeyboardInterrupt:
        pass
