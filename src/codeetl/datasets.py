"""Registry of dataset parsers.

Each dataset module exposes::

    PARSER_VERSION: str            # bump when the output of parse_release changes (invalidates the parse cache)
    TABLES_SQL: str                # e.g. "tables/gems.sql": CREATE TABLE + COMMENT ON for its tables
    def parse_release(release: catalog.Release, inputs: dict[str, Path]) -> dict[str, pl.DataFrame]

``inputs`` maps each catalog member role that was found to the local file; ``parse_release`` returns
table name -> frame whose columns match that table's DDL. It is a plain function over files: no Prefect,
no DuckDB, no network.
"""

from __future__ import annotations

import importlib
from types import ModuleType

# dataset name (catalog file) -> module implementing it
REGISTRY: dict[str, str] = {
    "icd10cm": "codeetl.parsers.icd10cm",
    "gems": "codeetl.parsers.gems",
    "msdrg": "codeetl.parsers.msdrg",
    "ipps": "codeetl.parsers.ipps",
    "pfs": "codeetl.parsers.pfs",
    "mcd": "codeetl.parsers.mcd",
}


def dataset_module(dataset: str) -> ModuleType:
    try:
        return importlib.import_module(REGISTRY[dataset])
    except KeyError:
        raise KeyError(f"no parser registered for dataset {dataset!r}") from None
