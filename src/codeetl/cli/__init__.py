"""The ``codeetl`` command line (typer + rich): ``codeetl.cli:app``.

Errors that codeetl raises on purpose (bad input, missing warehouse, a broken source file) are printed as one
clear message with a non-zero exit code, never as a traceback. Each module registers its commands on
:data:`app` when imported here.
"""

from codeetl.cli.app import app
from codeetl.cli import diff, info, ops, pages, refresh, validate  # noqa: F401  (registers the commands)
from codeetl.cli import web  # noqa: F401  (codeetl web, issue 18)
from codeetl.check import command as _check_command
from codeetl.check.command import check as _check  # issue 11: codeetl check PAGE
from codeetl.cli.app import err as _err, out as _out

app.command(name="check")(_check)
_check_command.out, _check_command.err = _out, _err  # the CLI's consoles: not wrapped off a terminal

__all__ = ["app"]
