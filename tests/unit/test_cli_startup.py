"""What a page command loads (issue 20: ``codeetl code M96.1 --json`` close to the floor of ``import duckdb``):
no Prefect, pydantic, polars or rich on the page path, and typer's parameters still converted as before
(codeetl.cli.plain_params). The time itself is measured by bench/bench.py, not here."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer
from typer.testing import CliRunner

HEAVY = ("prefect", "pydantic", "pydantic_core", "polars", "rich", "fastapi", "lxml", "requests")

PROBE = """
import json, runpy, sys
sys.argv = ["codeetl", *sys.argv[1:]]
try:
    runpy.run_module("codeetl", run_name="__main__")
except SystemExit:
    pass
sys.stderr.write("\\nMODULES " + json.dumps(sorted({m.split(".")[0] for m in sys.modules})) + "\\n")
"""


def _loaded(args: list[str]) -> set[str]:
    p = subprocess.run([sys.executable, "-c", PROBE, *args], capture_output=True, text=True, timeout=120)
    line = [x for x in p.stderr.splitlines() if x.startswith("MODULES ")][-1]
    return set(json.loads(line.removeprefix("MODULES ")))


def test_the_page_command_loads_no_prefect_pydantic_or_polars(tmp_path):
    # no warehouse here: the command gets as far as opening it (its message is printed with rich: allowed)
    loaded = _loaded(["code", "M96.1", "--json", "--data-dir", str(tmp_path)])
    assert "typer" in loaded and "duckdb" in loaded
    assert loaded & {"prefect", "pydantic", "pydantic_core", "polars", "fastapi", "lxml", "requests"} == set()


def test_importing_the_cli_loads_no_heavy_library():
    code = "import sys, codeetl.cli; print(sorted({m.split('.')[0] for m in sys.modules}))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True).stdout
    assert set(eval(out)) & set(HEAVY) == set()


def test_plain_parameters_are_converted_as_typer_does():
    from codeetl.cli import plain_params

    assert plain_params.install()
    app, seen = typer.Typer(), {}

    @app.command()
    def cmd(name: Annotated[str, typer.Argument()],
            path: Annotated[Path, typer.Option()] = Path("data"),
            col: Annotated[Optional[list[str]], typer.Option("--col")] = None,
            flag: Annotated[bool, typer.Option("--flag")] = False,
            n: Annotated[int, typer.Option(min=1, max=3)] = 1,
            maybe: Annotated[Optional[Path], typer.Option()] = None) -> None:
        seen.update(name=name, path=path, col=col, flag=flag, n=n, maybe=maybe)

    r = CliRunner().invoke(app, ["M96.1", "--path", "x/y", "--col", "a", "--col", "b", "--flag", "--n", "2"])
    assert r.exit_code == 0, r.output
    assert seen == {"name": "M96.1", "path": Path("x/y"), "col": ["a", "b"], "flag": True, "n": 2, "maybe": None}
    assert type(seen["path"]) is not str and isinstance(seen["path"], Path)
    r = CliRunner().invoke(app, ["M96.1"])  # defaults as declared
    assert r.exit_code == 0 and seen["path"] == Path("data") and seen["col"] is None and seen["flag"] is False
    r = CliRunner().invoke(app, ["M96.1", "--n", "9"])  # bounded numbers: typer's own check (pydantic) as before
    assert r.exit_code == 2 and "less than or equal to 3" in r.output


def test_a_bad_today_setting_is_one_message_before_any_command(tmp_path):
    # the app's callback checks it (typer keeps one callback: the check was registered and then replaced)
    import os

    env = {**os.environ, "CODEETL_TODAY": "garbage"}
    p = subprocess.run([sys.executable, "-m", "codeetl", "code", "M96.1", "--json", "--data-dir", str(tmp_path)],
                       capture_output=True, text=True, timeout=120, env=env)
    assert p.returncode == 2 and "Traceback" not in p.stderr
    assert p.stderr.strip() == "error: CODEETL_TODAY='garbage' is not a date (expected YYYY-MM-DD)"
