"""Where the data lives: the data folder and the published warehouse (no heavy imports: every command uses it)."""

from __future__ import annotations

import os
from pathlib import Path

from codeetl.errors import WarehouseError, command

DB_NAME = "codeetl.duckdb"


def default_root() -> Path:
    """``$CODEETL_DATA`` if set, else ``./data``."""
    return Path(os.environ.get("CODEETL_DATA", "data"))


def current_database(root: str | Path | None = None) -> Path:
    """The published warehouse file; WarehouseError when there is none yet."""
    root = Path(root) if root is not None else default_root()
    db = root / "warehouse" / DB_NAME
    if not db.exists():
        raise WarehouseError(f"no warehouse at {db}: run `{command('refresh')}` first "
                             f"(offline: `{command('refresh --mirror ../shared/cms')}`)")
    return db
