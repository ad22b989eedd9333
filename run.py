#!/usr/bin/env python3
"""Run codeetl from a fresh checkout with nothing but Python >= 3.11 and pip.

    python3 run.py refresh --mirror ../shared/cms    # any `codeetl` command: refresh, code M96.1, ...
    python3 run.py test [pytest options]             # the test suite (run in this folder; with PySpark)

Commands run in the folder you start them from: relative paths (a claims file, --out, --mirror, --data-dir)
are yours. The data folder defaults to `data/` beside this file (set CODEETL_DATA or --data-dir for
another); the hints codeetl prints name `python3 run.py` (CODEETL_PROG).

It finds uv (https://docs.astral.sh/uv/) — on PATH, or importable in this Python — or installs it: with
pip into this Python, or, where pip refuses (an "externally managed" system Python), into a private
virtual environment `.tools/` beside this file. Then it brings `.venv` to uv.lock (`uv sync --locked`,
exact, locked versions; what `uv run --locked` does first) and replaces itself with the command in it
(exec): the process you started is the command, so a signal sent to it (Ctrl-C, `kill`, systemd's stop)
reaches the command itself and nothing is left running. Standard library only.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import venv
from pathlib import Path

HERE = Path(__file__).resolve().parent
DATA_ENV = "CODEETL_DATA"  # codeetl's --data-dir, when the option is not given
PROG_ENV = "CODEETL_PROG"  # how the user started codeetl, for the commands its hints name (codeetl.errors.command)
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
    """Run `argv` (a codeetl command, ``test [pytest options]``, or nothing / ``--help``); returns the exit
    status where it does not replace this process with the command."""
    helps = not argv or argv[0] in ("-h", "--help")
    testing = bool(argv) and argv[0] == "test"
    command = ["pytest", *argv[1:]] if testing else ["codeetl", *(["--help"] if helps else argv)]
    uv = find_uv()
    venv = sync(uv, extras(argv))
    if venv is None:
        return 1
    env = command_env(venv, testing)
    executable = venv / ("Scripts" if os.name == "nt" else "bin") / command[0]
    if helps:  # codeetl's commands, then how this script runs them
        code = subprocess.run([str(executable), *command[1:]], env=env).returncode
        print(__doc__)
        return code
    if testing:  # the suite is this checkout's: pytest finds its configuration and tests here
        os.chdir(HERE)
    if os.name != "posix":  # no exec that replaces the process: uv runs the command and passes signals on
        return subprocess.run([*uv, "run", "--locked", *extras(argv), "--project", str(HERE), *command], env=env).returncode
    os.execve(executable, command, env)  # does not return


def extras(argv: list[str]) -> list[str]:
    """The optional dependencies a command needs: PySpark (extra `spark`) for the test suite, whose Spark tests
    compare both engines, and for a command run with `--engine spark`. Other commands do without its 300 MB."""
    spark = bool(argv) and (argv[0] == "test" or "--engine=spark" in argv or any(
        a == "--engine" and b == "spark" for a, b in zip(argv, argv[1:])))
    return ["--extra", "spark"] if spark else []


def command_env(venv: Path, testing: bool) -> dict[str, str]:
    """The command's environment: the project's virtual environment first on PATH, and for codeetl commands
    the default data folder (`data/` here, unless CODEETL_DATA is set) and how the user started it."""
    bin_dir = venv / ("Scripts" if os.name == "nt" else "bin")
    env = {**os.environ, "VIRTUAL_ENV": str(venv), "PATH": os.pathsep.join([str(bin_dir), os.environ.get("PATH", "")])}
    env.pop("PYTHONHOME", None)
    if testing:  # the tests set their own data folders, and expect the hints of `codeetl`
        env.pop(PROG_ENV, None)
    else:
        env.setdefault(DATA_ENV, str(HERE / "data"))
        env[PROG_ENV] = f"python3 {shlex.quote(sys.argv[0])}"
    return env


def sync(uv: list[str], extra_args: list[str] = ()) -> Path | None:
    """Bring the project environment to uv.lock (``uv sync --locked``, as ``uv run --locked`` does; with
    ``extra_args`` such as ``--extra spark``; ``--inexact`` keeps an extra installed before) and return
    its folder (None when uv failed; it said why). Once per lock file the sync also writes the packages'
    bytecode (``--compile-bytecode``): where PYTHONDONTWRITEBYTECODE is set (as on the build machine) Python
    would otherwise compile typer, pydantic, rich and duckdb from source on every command, 0.3 s of a 0.7 s
    `codeetl code` (uv's compile-bytecode setting would redo it on every sync)."""
    venv = Path(os.environ.get("UV_PROJECT_ENVIRONMENT") or HERE / ".venv")
    venv = venv if venv.is_absolute() else HERE / venv
    marker = venv / ".run-py-bytecode"
    try:
        stamp = hash_bytes((HERE / "uv.lock").read_bytes())
        fresh = marker.is_file() and marker.read_text() == stamp
    except OSError:  # no lock file: uv says so below
        stamp, fresh = None, True
    extra = [] if fresh else ["--compile-bytecode"]
    if subprocess.run([*uv, "sync", "--locked", "--inexact", "--quiet", *extra_args, *extra], cwd=HERE).returncode != 0:
        return None
    if not fresh and stamp:
        try:
            marker.write_text(stamp)
        except OSError:  # an unwritable environment: the commands still run, only slower
            pass
    return venv


def hash_bytes(data: bytes) -> str:
    """The sha256 of `data`, hex."""
    import hashlib

    return hashlib.sha256(data).hexdigest()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
