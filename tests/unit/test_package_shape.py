"""The shape issue 7 asked for, kept: short documented functions, self-contained dataset folders, SQL
with COMMENTs. These read the source tree, so a change that breaks the shape fails here, not in review."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from codeetl import datasets

SRC = Path(__file__).resolve().parents[2] / "src" / "codeetl"
MAX_FUNCTION_LINES = 60


def _functions():
    for path in sorted(SRC.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                yield path.relative_to(SRC), node


def test_no_function_is_longer_than_60_lines():
    long = [f"{p}:{n.lineno} {n.name} ({n.end_lineno - n.lineno + 1} lines)"
            for p, n in _functions() if n.end_lineno - n.lineno + 1 > MAX_FUNCTION_LINES]
    assert long == []


def test_every_public_function_says_what_it_does():
    bare = [f"{p}:{n.lineno} {n.name}" for p, n in _functions()
            if not n.name.startswith("_") and n.end_lineno - n.lineno > 2 and not ast.get_docstring(n)]
    assert bare == []


@pytest.mark.parametrize("name", sorted(datasets.discover()))
def test_a_dataset_folder_holds_its_parser_tables_and_comments(name):
    folder = SRC / "datasets" / name
    assert (folder / "__init__.py").is_file()
    tables = (folder / "tables.sql").read_text(encoding="utf-8")
    created = re.findall(r"CREATE (?:OR REPLACE )?TABLE (?:IF NOT EXISTS )?(\w+)", tables, re.I)
    assert created, f"{name}/tables.sql creates no table"
    for table in created:
        assert re.search(rf"COMMENT ON TABLE {table}\b", tables, re.I), f"{table} has no COMMENT"


def test_no_dataset_module_outside_the_dataset_folders():
    """Parsers live in their dataset's folder: no top-level parsers/ or sql/tables/ is left behind."""
    assert not (SRC / "parsers").exists()
    assert not (SRC / "sql" / "tables").exists()
    assert not (SRC.parent / "flows").exists()
