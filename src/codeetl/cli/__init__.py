"""The ``codeetl`` command line (typer + rich): ``codeetl.cli:app``.

Errors that codeetl raises on purpose (bad input, missing warehouse, a broken source file) are printed as one
clear message with a non-zero exit code, never as a traceback. Each module registers its commands on
:data:`app` when imported here.
"""

from codeetl.cli.app import app
from codeetl.cli import annotate, diff, info, ops, pages, refresh, validate  # noqa: F401  (registers the commands)
from codeetl.check.command import check as _check  # issue 11: codeetl check PAGE

app.command(name="check")(_check)

__all__ = ["app"]
