"""The application as uvicorn starts it (``codeetl web`` names :func:`app_from_env` as its factory, so that
each worker process builds its own application and connections)."""

from __future__ import annotations

import os
from pathlib import Path

from codeetl.web.app import create_app, main_log

DATA_ENV = "CODEETL_WEB_DATA"


def app_from_env():
    """The application for the data folder in ``$CODEETL_WEB_DATA``."""
    main_log()
    return create_app(Path(os.environ[DATA_ENV]))
