"""Typer's parameter conversion without pydantic for plain text and path parameters.

Typer (0.2x) converts every parameter value with a pydantic ``TypeAdapter`` it builds when the command runs:
``codeetl code M96.1 --json`` paid 0.2 s importing pydantic to turn the text "M96.1" into the text "M96.1"
(``python -X importtime``; README "Benchmark"). :func:`install` makes typer convert ``str`` and ``Path``
parameters (optional or repeated, with no parser of their own) and flags directly, as its own code does for
them: text stays text, a flag's bool stays a bool, a path becomes a ``Path`` checked by typer's own
``coerce_cli_path``. Everything else
(numbers with bounds, choices, dates) still goes through typer's pydantic conversion, as before. Where typer's
internals differ from what this expects, nothing is changed (the commands are only slower); a unit test
watches that ``codeetl code --json`` imports no pydantic.
"""

from __future__ import annotations

import types
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any


def _plain(annotation: Any) -> tuple[type | None, bool]:
    """(str, Path or bool; repeated) when `annotation` is str/Path/bool, Optional of it, or a list of str/Path;
    else (None, False)."""
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin in (typing.Union, types.UnionType):
        rest = [a for a in args if a is not type(None)]
        return _plain(rest[0]) if len(rest) == 1 else (None, False)
    if origin is list and len(args) == 1 and args[0] in (str, Path):
        return args[0], True
    return (annotation, False) if annotation in (str, Path, bool) else (None, False)


def install() -> bool:
    """Route typer's conversion of plain text and path parameters around pydantic; returns whether it could."""
    try:
        from typer import core
        from typer._coercion import RuntimeParam
        from typer._param_types import coerce_cli_path
    except ImportError:
        return False
    original = getattr(core, "build_runtime_param", None)
    if original is None or getattr(original, "plain_params", False):
        return original is not None

    @dataclass(frozen=True)
    class Plain(RuntimeParam):
        descriptor: Any = None

        def _coerce_value(self, value: Any, param: Any, ctx: Any) -> Any:
            kind, repeated = _plain(self.annotation)
            values = list(value) if repeated and isinstance(value, (list, tuple)) else [value]
            if all(isinstance(v, {Path: (str, Path), str: str, bool: bool}[kind]) for v in values):
                done = [coerce_cli_path(Path(v), self.parameter_info, path_type=Path, param=param, ctx=ctx)
                        if kind is Path else v for v in values]
                return done if repeated else done[0]
            return original(self.descriptor)._coerce_value(value, param=param, ctx=ctx)  # anything unusual: typer's

    def build(descriptor):
        """The runtime conversion of one parameter: :class:`Plain` for plain ones, else typer's own."""
        info = descriptor.parameter_info
        if (_plain(descriptor.annotation)[0] is not None and descriptor.file_annotation is None
                and getattr(info, "parser", None) is None and getattr(info, "path_type", None) in (None, Path)):
            return Plain(parameter_info=info, annotation=descriptor.annotation, descriptor=descriptor)
        return original(descriptor)

    build.plain_params = True
    core.build_runtime_param = build
    return True
