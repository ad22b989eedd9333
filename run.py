#!/usr/bin/env python3
"""Run codeetl from a fresh checkout with nothing but Python >= 3.11 and pip.

    python3 run.py refresh --mirror ../shared/cms    # any `codeetl` command: refresh, code M96.1, ...
    python3 run.py test [pytest options]             # the test suite (with PySpark: the Spark engine's tests)

It finds uv (https://docs.astral.sh/uv/) — on PATH, or importable in this Python — or installs it: with
pip into this Python, or, where pip refuses (an "externally managed" system Python), into a private
virtual environment `.tools/` beside this file. Then it runs `uv run --locked ...`, which creates
`.venv` from uv.lock (exact, locked versions) and runs the command in it. Standard library only.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

HERE = Path(__file__).resolve().parent
TOOLS = HERE / ".tools"
TOOLS_UV = TOOLS / ("Scripts/uv.exe" if os.name == "nt" else "bin/uv")


def _has_module_uv() -> bool:
    return subprocess.run([sys.executable, "-m", "uv", "--version"], capture_output=True).returncode == 0


def find_uv() -> list[str]:
    """The command that runs uv, installing uv first if there is none."""
    if exe := shutil.which("uv"):
        return [exe]
    if _has_module_uv():
        return [sys.executable, "-m", "uv"]
    if TOOLS_UV.exists():
        return [str(TOOLS_UV)]
    print("run.py: installing uv with pip ...", file=sys.stderr)
    if subprocess.run([sys.executable, "-m", "pip", "install", "-q", "uv"]).returncode == 0 and _has_module_uv():
        return [sys.executable, "-m", "uv"]
    print(f"run.py: pip did not install uv into this Python (see its message above); trying a private "
          f"environment {TOOLS}", file=sys.stderr)
    python = TOOLS / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    try:
        venv.EnvBuilder(with_pip=True, clear=True).create(TOOLS)
        subprocess.run([str(python), "-m", "pip", "install", "-q", "uv"], check=True)
    except (OSError, subprocess.CalledProcessError) as e:
        sys.exit(f"run.py: could not install uv ({e}). Install it yourself (https://docs.astral.sh/uv/, "
                 "e.g. `pipx install uv`), then run `uv run --locked codeetl ...` / `uv run --locked pytest`.")
    return [str(TOOLS_UV)]


def main(argv: list[str]) -> int:
    if not argv or argv[0] in ("-h", "--help"):
        print(__doc__)
        return 0
    command = ["pytest", *argv[1:]] if argv[0] == "test" else ["codeetl", *argv]
    uv = find_uv()
    compile_bytecode_once(uv)
    return subprocess.run([*uv, "run", "--locked", *extras(argv), *command], cwd=HERE).returncode


def extras(argv: list[str]) -> list[str]:
    """The optional dependencies a command needs: PySpark (extra `spark`) for the test suite, whose Spark tests
    compare both engines, and for a command run with `--engine spark`. Other commands do without its 300 MB."""
    spark = argv[0] == "test" or "--engine=spark" in argv or any(
        a == "--engine" and b == "spark" for a, b in zip(argv, argv[1:]))
    return ["--extra", "spark"] if spark else []


def compile_bytecode_once(uv: list[str]) -> None:
    """Create .venv from uv.lock with the packages' bytecode written, once per lock file. Where
    PYTHONDONTWRITEBYTECODE is set (as on the build machine) Python would otherwise compile typer, pydantic,
    rich and duckdb from source on every command: 0.3 s of a 0.7 s `codeetl code`. (uv's compile-bytecode
    setting would redo it on every `uv run`.)"""
    venv_dir = Path(os.environ.get("UV_PROJECT_ENVIRONMENT") or HERE / ".venv")
    marker = (venv_dir if venv_dir.is_absolute() else HERE / venv_dir) / ".run-py-bytecode"
    try:
        stamp = hash_bytes((HERE / "uv.lock").read_bytes())
        if marker.is_file() and marker.read_text() == stamp:
            return
        # --inexact: keep what `uv run --extra spark` installed (PySpark), here as on every `uv run`
        if subprocess.run([*uv, "sync", "--locked", "--inexact", "--compile-bytecode", "--quiet"], cwd=HERE).returncode == 0:
            marker.write_text(stamp)
    except OSError:  # no lock file or an unwritable environment: `uv run` below still works, only slower
        return


def hash_bytes(data: bytes) -> str:
    """The sha256 of `data`, hex."""
    import hashlib

    return hashlib.sha256(data).hexdigest()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
