"""The datasets: one folder each, discovered from the tree (no registry to keep).

A dataset is a folder ``src/codeetl/datasets/<name>/`` holding everything about it:

========================  ==========================================================================
``__init__.py``           ``PARSER_VERSION`` and ``parse_release(release, inputs) -> {table: frame}``:
                          a plain function over files (no Prefect, no DuckDB, no network). Other
                          modules of the folder hold the parsers it calls.
``catalog.toml``          its releases: dates, official URLs, member files (see :mod:`codeetl.sources.catalog`).
                          A folder without one is built from project files at build time (``links``).
``tables.sql``            ``CREATE TABLE`` + ``COMMENT ON`` every table and column it writes.
                          Any kind of script may be split: ``tables_history.sql`` runs after
                          ``tables.sql`` (each kind: ``<kind>.sql``, then ``<kind>_*.sql`` by name).
``derive.sql``            optional: statements run once every parse is loaded, before curated links,
                          views and gates: derivations across releases (e.g. a release built from
                          the previous one and its addenda, code histories), into tables that its
                          ``tables.sql`` creates.
``views.sql``             optional: its views and macros, applied after every table is loaded.
``gates.sql``             optional: quality gates checked before a build is published.
``*.csv``                 optional: reference data and layouts its parsers read.
========================  ==========================================================================

A dataset writes only the tables its ``tables.sql`` creates (checked at parse time). When one dataset's
release belongs to another's (an IPPS final rule belongs to one MS-DRG version), its catalog says so with
``uses``, which the catalog checks and the warehouse records (table ``release_uses``).
"""

from __future__ import annotations

import hashlib
import importlib
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources
from importlib.abc import Traversable
from types import ModuleType

PACKAGE = "codeetl.datasets"
SHARED_HELPERS = ("codes.py", "sources/textio.py")
"""Modules of ``codeetl`` every parser uses: part of every dataset's parser fingerprint."""


@dataclass(frozen=True)
class DatasetFolder:
    """One dataset folder and what it holds."""

    name: str

    @property
    def folder(self) -> Traversable:
        """The folder, as an importlib resource."""
        return resources.files(PACKAGE).joinpath(self.name)

    @property
    def has_catalog(self) -> bool:
        """True when the dataset is downloaded (it has a ``catalog.toml``)."""
        return self.folder.joinpath("catalog.toml").is_file()

    def module(self) -> ModuleType:
        """The dataset's package (imported on first use: it imports polars)."""
        return importlib.import_module(f"{PACKAGE}.{self.name}")

    def sql_files(self, kind: str) -> list[str]:
        """Names of the folder's ``<kind>.sql`` and ``<kind>_*.sql`` files (tables, derive, views, gates), in
        the order they run: ``<kind>.sql`` first, then the others by name (``derive_history.sql`` runs after
        ``derive.sql``)."""
        names = [p.name for p in self.folder.iterdir() if p.name == f"{kind}.sql"
                 or (p.name.startswith(f"{kind}_") and p.name.endswith(".sql"))]
        return sorted(names, key=lambda n: (n != f"{kind}.sql", n))

    def sql(self, kind: str) -> str | None:
        """The text of the folder's ``<kind>`` scripts joined in run order, or None when it has none."""
        files = self.sql_files(kind)
        if not files:
            return None
        return "\n".join(self.folder.joinpath(n).read_text(encoding="utf-8") for n in files)

    def tables(self) -> list[str]:
        """The tables its ``tables*.sql`` create, in file order."""
        return re.findall(r"(?im)^\s*CREATE\s+TABLE\s+(\w+)", self.sql("tables") or "")

    def fingerprint(self) -> str:
        """A hash of everything that decides the dataset's parse output: its Python modules, table DDL and
        reference data (``*.py``, ``tables*.sql``, ``*.csv``) and the shared helpers (:data:`SHARED_HELPERS`).
        Editing any of them re-parses the dataset at the next refresh; editing its catalog, views or gates
        does not."""
        h = hashlib.sha256(self.name.encode())
        for f in sorted(self.folder.iterdir(), key=lambda p: p.name):
            if f.name.endswith((".py", ".csv")) or f.name in self.sql_files("tables"):
                h.update(f"\n{f.name}\n".encode() + f.read_bytes())
        base = resources.files("codeetl")
        for helper in SHARED_HELPERS:
            h.update(base.joinpath(*helper.split("/")).read_bytes())
        return h.hexdigest()


@cache
def discover() -> dict[str, DatasetFolder]:
    """Every dataset folder (a package with a ``tables.sql``), by name, sorted."""
    base = resources.files(PACKAGE)
    names = sorted(p.name for p in base.iterdir()
                   if p.is_dir() and p.joinpath("__init__.py").is_file() and p.joinpath("tables.sql").is_file())
    return {n: DatasetFolder(n) for n in names}


def dataset(name: str) -> DatasetFolder:
    """The dataset folder ``name``; KeyError naming the known ones when there is none."""
    try:
        return discover()[name]
    except KeyError:
        raise KeyError(f"no dataset folder {name!r} under src/codeetl/datasets (known: {', '.join(discover())})") from None


def table_owner() -> dict[str, str]:
    """Table name -> the dataset whose ``tables.sql`` creates it."""
    return {t: d.name for d in discover().values() for t in d.tables()}
