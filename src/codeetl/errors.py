"""Errors that tell the user which file, which record, and what was expected."""

from __future__ import annotations

import os
from pathlib import Path

PROG_ENV = "CODEETL_PROG"
"""How the user starts codeetl, when not as ``codeetl`` (``python3 run.py`` sets it): the commands hints name."""


def command(args: str) -> str:
    """The command line that runs codeetl with `args`, as the user types it: ``codeetl refresh``, or
    ``python3 run.py refresh`` when codeetl was started through run.py. Every hint naming a command uses it."""
    return f"{os.environ.get(PROG_ENV) or 'codeetl'} {args}"


class CodeEtlError(Exception):
    """Base class: every error codeetl raises on purpose (the CLI prints these without a traceback)."""


class SourceFormatError(CodeEtlError):
    """A source file does not have the layout its parser documents.

    The message always names the file, the line (1-based) or record, what was found and what was expected,
    so a changed CMS layout can be diagnosed from the message alone.
    """

    def __init__(self, path: str | Path, line: int | None, expected: str, found: str | None = None):
        self.path = str(path)
        self.line = line
        self.expected = expected
        self.found = found
        where = f"{self.path}, line {line}" if line is not None else self.path
        msg = f"{where}: expected {expected}"
        if found is not None:
            shown = found if len(found) <= 120 else found[:117] + "..."
            msg += f"; found {shown!r}"
        super().__init__(msg)


class FetchError(CodeEtlError):
    """A source could not be downloaded, or what came back is not what the catalog says it is."""


class CatalogError(CodeEtlError):
    """The source catalog is malformed or does not know the dataset/release asked for."""


class WarehouseError(CodeEtlError):
    """The warehouse is missing, or a build failed its checks (the previous warehouse is kept)."""
