"""The README stays true: its data dictionary is the warehouse's, its SQL examples give what it says."""

from __future__ import annotations

import re

import duckdb

from _shared import REPO
from codeetl.build.dictionary import END, START, markdown


def test_data_dictionary_in_readme_is_current(built):
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme.split(START, 1)[1].split(END, 1)[0].strip()
    con = duckdb.connect(str(built / "warehouse" / "codeetl.duckdb"), read_only=True)
    assert section == markdown(con).strip(), "run: uv run codeetl dictionary --update-readme README.md"


def test_cc_level_examples_in_readme(built):
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    examples = re.findall(r"SELECT (cc_level\([^)]*\));\s+-- '(\w+)'", readme)
    assert len(examples) >= 3
    con = duckdb.connect(str(built / "warehouse" / "codeetl.duckdb"), read_only=True)
    for expr, expected in examples:
        assert con.execute(f"SELECT {expr}").fetchone()[0] == expected, expr
