"""The ``codeetl`` command line (typer + rich): ``codeetl.cli:app``.

Errors that codeetl raises on purpose (bad input, missing warehouse, a broken source file) are printed as one
clear message with a non-zero exit code, never as a traceback. Each module registers its commands on
:data:`app` when imported here.
"""

import inspect
import re

from codeetl.cli.app import app
from codeetl.cli import annotate, diff, info, ops, pages, refresh, validate  # noqa: F401  (registers the commands)
from codeetl.cli import web  # noqa: F401  (codeetl web, issue 18)
from codeetl.check import command as _check_command
from codeetl.check.command import check as _check  # issue 11: codeetl check PAGE
from codeetl.cli.app import err as _err, out as _out

app.command(name="check")(_check)
_check_command.out, _check_command.err = _out, _err  # the CLI's consoles: not wrapped off a terminal


def _short_help(doc: str | None) -> str:
    """A command's line in `codeetl --help`: the first sentence of its docstring on one line, cut before its first
    ':' or ';' when long."""
    first = " ".join(inspect.cleandoc(doc or "").split("\n\n")[0].split())
    sentence = re.split(r"(?<=[.?])\s", first, maxsplit=1)[0]
    return (re.split(r"[:;]\s", sentence, maxsplit=1)[0] if len(sentence) > 72 else sentence).rstrip(".")


_ORDER = ["refresh", "status", "serve", "code", "drg", "icd9", "cpt", "diff", "validate", "check", "releases",
          "dictionary", "web"]  # `codeetl --help` lists them so: building and running it, the pages, the rest


def _name(command) -> str:
    return command.name or command.callback.__name__.replace("_", "-")


def _place(command) -> int:
    name = _name(command)
    return _ORDER.index(name) if name in _ORDER else len(_ORDER)


app.registered_commands.sort(key=_place)
for _command in app.registered_commands:  # every command, whichever module registered it
    _command.short_help = _command.short_help or _short_help(_command.help or _command.callback.__doc__)



def main() -> None:
    """The ``codeetl`` program (``python -m codeetl``, the ``codeetl`` script): :data:`app`, with only the command
    asked for built when one is named (typer otherwise reads every command's signature first: 13 of them, a
    tenth of `codeetl code M96.1 --json`'s own time). ``codeetl`` alone, ``--help`` or an unknown name: the whole
    app. Returns None (exits with the command's status)."""
    import sys

    named = next((a for a in sys.argv[1:] if not a.startswith("-")), None)
    chosen = [c for c in app.registered_commands if named and _name(c) == named]
    if not chosen:
        app()
        return
    every = app.registered_commands
    app.registered_commands = chosen
    try:
        app()
    finally:
        app.registered_commands = every


__all__ = ["app", "main"]
