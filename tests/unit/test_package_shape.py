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


LAYERS = {"errors": 0, "codes": 0, "clock": 0, "sources": 1, "datasets": 2, "build": 3, "sql": 3, "pages": 4, "claims": 4,
          "check": 5, "ops": 5, "spark": 5, "cli": 6, "web": 6, "__main__": 7}
"""The package's layers, lowest first (README, Architecture): sources -> datasets -> build -> pages -> surfaces.
spark (the Spark engine) sits beside check and ops: the CLI calls it, and it calls nothing above claims."""


def _codeetl_imports(path: Path):
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "codeetl":
            names = [f"codeetl.{a.name}" for a in node.names] if node.module == "codeetl" else [node.module]
            yield from ((node.lineno, n) for n in names)
        elif isinstance(node, ast.Import):
            yield from ((node.lineno, a.name) for a in node.names if a.name.split(".")[0] == "codeetl")


def test_every_top_level_module_belongs_to_a_layer():
    """No flat module outside the layers: a new one is put in its layer's package (or named here)."""
    tops = {p.stem if p.is_file() else p.name for p in SRC.iterdir()
            if (p.suffix == ".py" and p.stem != "__init__") or (p.is_dir() and (p / "__init__.py").is_file())}
    assert tops - set(LAYERS) == set()


def test_a_module_imports_only_its_own_package_and_lower_layers():
    """Imports go down the layers (lazy imports inside functions included), so there is no import cycle
    between packages and the tree shows the architecture: e.g. a page never imports the CLI or the web."""
    wrong = []
    for path in sorted(SRC.rglob("*.py")):
        me = path.relative_to(SRC).parts[0].removesuffix(".py")
        if me == "__init__":
            continue
        for line, name in _codeetl_imports(path):
            other = name.split(".")[1] if "." in name else "__init__"
            if other != me and LAYERS.get(other, 99) >= LAYERS[me]:
                wrong.append(f"{path.relative_to(SRC)}:{line} ({me}) imports {name}")
    assert wrong == []
